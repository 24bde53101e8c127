// What the XDP plane reports, read from the kernel maps: the statistics (counters, per-backend
// counters, live sessions) and the sessions listing, most recently used first. Idle expiry is judged
// here with the instance's timeouts, as the program itself judges it when a frame arrives. Both
// session maps count: lbdsr_sessions (IPv4) and lbdsr_sessions6 (IPv6 flows, listed with their
// addresses as formatIpv6 text and ICMPv6 as 'ICMPV6').
import { formatIpv4, formatIpv6 } from '../../core/addr.js';
import { CNT_MAX, CNT_SESSION_MISS, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../../core/constants.js';
import type { BackendStats, SessionEntry, StatsSnapshot } from '../../core/model.js';
import type { TimeoutsMs } from '../../pipeline/control.js';
import { LeastK } from './least-k.js';
import type { Loaded } from './lifecycle.js';
import type { XdpMaps } from './maps.js';
import type { XdpMirror } from './mirror.js';
import { snapshot } from './stats.js';

interface TimeoutsNs {
  tcp: bigint;
  udp: bigint;
  icmp: bigint;
}

export function toNs(t: TimeoutsMs): TimeoutsNs {
  return {
    tcp: BigInt(t.tcp) * 1_000_000n,
    udp: BigInt(t.udp) * 1_000_000n,
    icmp: BigInt(t.icmp) * 1_000_000n,
  };
}

/** A session's idle timeout (ICMPv6 uses the ICMP one). */
export function timeoutOf(t: TimeoutsNs, proto: number): bigint {
  return proto === PROTO_TCP ? t.tcp : proto === PROTO_UDP ? t.udp : t.icmp;
}

const NO_TRAFFIC = { packets: 0, bytes: 0, sessions: 0 } as const;

/** Per-backend counters with their service's name, by service index then id (as the pipeline gives them). */
export function backendRows(mirror: XdpMirror, maps: XdpMaps): BackendStats[] {
  const live = mirror.liveSlots().sort((a, b) => a.service - b.service || a.id - b.id);
  let top = 0;
  for (const s of live) top = Math.max(top, s.slot + 1);
  // every live slot is below `top`, so each has its row
  const stats = maps.readBackendStatsUpTo(top);
  return live.map((s) => ({
    id: s.id,
    service: mirror.serviceName(s.service) ?? `#${s.service}`,
    ...(stats[s.slot] ?? NO_TRAFFIC),
  }));
}

/**
 * The statistics of a loaded instance (all zero before anything was loaded). `walk` false: counters
 * only, active and evicted sessions are not judged (zero).
 */
export async function readStats(l: Loaded | null, timeouts: TimeoutsMs, walk = true): Promise<StatsSnapshot> {
  if (!l) return snapshot(new Float64Array(CNT_MAX), [], 0);
  const backends = backendRows(l.mirror, l.maps);
  if (!walk) {
    const counters = l.maps.readCounters();
    return snapshot(counters, backends, 0, counters[CNT_SESSION_MISS] ?? 0);
  }
  let active = 0;
  let present = 0;
  const now = process.hrtime.bigint();
  const t = toNs(timeouts);
  // A million sessions take the better part of a second: the walk gives the event loop back between chunks.
  await l.maps.forEachAnySession((s) => {
    present++;
    if (now - s.lastSeenNs <= timeoutOf(t, s.proto)) active++;
  });
  return snapshot(l.maps.readCounters(), backends, active, present);
}

const byIdle = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

const PROTO_NAMES: Record<number, SessionEntry['proto']> = {
  [PROTO_TCP]: 'TCP',
  [PROTO_UDP]: 'UDP',
  [PROTO_ICMPV6]: 'ICMPV6',
};

/** A session kept for the listing (addresses as text). */
type Kept = Omit<SessionEntry, 'idleMs'>;

/**
 * Up to `limit` live (not idle-expired) sessions of both kernel tables, most recently used first.
 */
export async function readSessions(
  l: Loaded | null,
  timeouts: TimeoutsMs,
  limit: number,
): Promise<SessionEntry[]> {
  if (!l || limit <= 0) return [];
  const now = process.hrtime.bigint();
  const t = toNs(timeouts);
  // The readers reuse one object: only the entries that are kept become objects.
  const kept = new LeastK<bigint, Kept>(limit, byIdle);
  const entry = (
    src: string,
    dst: string,
    s: { sport: number; dport: number; proto: number; backendId: number },
  ): Kept => ({
    src,
    dst,
    sport: s.sport,
    dport: s.dport,
    proto: PROTO_NAMES[s.proto] ?? 'ICMP',
    backend: s.backendId,
  });
  await l.maps.forEachSession((s) => {
    const idle = now - s.lastSeenNs;
    if (idle <= timeoutOf(t, s.proto) && kept.admits(idle))
      kept.offer(idle, entry(formatIpv4(s.src), formatIpv4(s.dst), s));
  }, l.maps.yieldingWalk);
  await l.maps.forEachSession6((s) => {
    const idle = now - s.lastSeenNs;
    if (idle <= timeoutOf(t, s.proto) && kept.admits(idle))
      kept.offer(idle, entry(formatIpv6(s.src), formatIpv6(s.dst), s));
  }, l.maps.yieldingWalk);
  return kept.sorted().map(({ key: idle, value }) => ({
    ...value,
    idleMs: idle < 0n ? 0 : Number(idle / 1_000_000n),
  }));
}
