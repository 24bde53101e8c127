// What the balancer's counters and session tables say, as the API's objects (core/model.ts): the stats
// snapshot (global counters, sessions, per-backend counters) and the list of live sessions of both
// families. Read by the control plane between batches, never on the per-frame path (these allocate).
// Also the idle timeout of a protocol, shared with the per-frame session check (balancer.ts).
import { formatIpv4, formatIpv6 } from '../core/addr.js';
import {
  CNT_ARP_REPLY,
  CNT_BACKEND_PASS,
  CNT_FRAG_HIT,
  CNT_FRAG_MISS,
  CNT_FRONTEND_PASS,
  CNT_ND_REPLY,
  CNT_SESSION_EXPIRED,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  CNT_SESSION_UNRECORDED,
  DROP_MAX,
  DROP_REASON_NAMES,
  PROTO_TCP,
  PROTO_UDP,
} from '../core/constants.js';
import type { BackendStats, SessionEntry, StatsSnapshot } from '../core/model.js';
import { rxByPort, txByPort } from '../core/port-counts.js';
import type { ControlState } from './control.js';
import type { TimeoutsMs } from './plan.js';
import { KEY_WORDS_V6, type SessionTable } from './session-table.js';

/** Per-backend-slot counters (Balancer.backendCounters, by slot * BS_WIDTH): packets, bytes, sessions created. */
export const BS_PACKETS = 0;
export const BS_BYTES = 1;
export const BS_SESSIONS = 2;
export const BS_WIDTH = 3;

const PROTO_NAMES: Record<number, SessionEntry['proto']> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPV6' };

/** The idle timeout of a protocol, in ms (ICMPv6 uses ICMP's). */
export function timeoutFor(t: TimeoutsMs, proto: number): number {
  return proto === PROTO_TCP ? t.tcp : proto === PROTO_UDP ? t.udp : t.icmp;
}

/** Per-backend counters with their service's name, by service index then ascending id. */
export function backendRows(control: ControlState, bc: Float64Array): StatsSnapshot['backends'] {
  const rows: { index: number; stats: BackendStats }[] = [];
  const names = control.serviceNames;
  control.slots.forEach((s, slot) => {
    if (s === null) return;
    const o = slot * BS_WIDTH;
    const stats: BackendStats = {
      id: s.id,
      service: names[s.service] ?? `#${s.service}`,
      packets: bc[o + BS_PACKETS]!,
      bytes: bc[o + BS_BYTES]!,
      sessions: bc[o + BS_SESSIONS]!,
    };
    rows.push({ index: s.service, stats });
  });
  rows.sort((a, b) => a.index - b.index || a.stats.id - b.stats.id);
  return rows.map((r) => r.stats);
}

/** Entries of `tables` not idled out at `nowMs`. */
export function activeSessions(tables: SessionTable[], nowMs: number, t: TimeoutsMs): number {
  let active = 0;
  for (const st of tables) {
    st.forEachEntry((e) => {
      if (nowMs - st.lastSeenAt(e) <= timeoutFor(t, st.keyWordAt(e, st.words - 1))) active++;
    });
  }
  return active;
}

/** The stats snapshot of global counters `c`, transmitted frames `tx` ([frontend, backend]) and `tables`. */
export function statsSnapshot(
  c: Float64Array,
  tx: Float64Array,
  tables: SessionTable[],
  active: number,
  backends: StatsSnapshot['backends'],
): StatsSnapshot {
  let evicted = 0;
  for (const st of tables) evicted += st.evictions;
  return countersSnapshot(c, tx[0]!, tx[1]!, { evicted, active }, backends);
}

/**
 * The stats snapshot of global counters `c` (indexes of core/constants.ts, as both planes count them),
 * with what the counters do not hold: frames transmitted by port, the sessions evicted and active.
 * The USERSPACE pipeline counts those itself (statsSnapshot); the XDP plane derives them
 * (src/dataplane/xdp/stats.ts).
 */
export function countersSnapshot(
  c: Float64Array,
  txFrontend: number,
  txBackend: number,
  sessions: { evicted: number; active: number },
  backends: StatsSnapshot['backends'],
): StatsSnapshot {
  const drops: Record<string, number> = {};
  for (let r = 1; r < DROP_MAX; r++) drops[DROP_REASON_NAMES[r]!] = c[r]!;
  return {
    rx: rxByPort(c),
    tx: txByPort(c, txFrontend, txBackend),
    arpReplies: c[CNT_ARP_REPLY]!,
    ndReplies: c[CNT_ND_REPLY]!,
    backendPass: c[CNT_BACKEND_PASS]!,
    frontendPass: c[CNT_FRONTEND_PASS]!,
    drops,
    sessions: {
      hit: c[CNT_SESSION_HIT]!,
      miss: c[CNT_SESSION_MISS]!,
      expired: c[CNT_SESSION_EXPIRED]!,
      stale: c[CNT_SESSION_STALE]!,
      unrecorded: c[CNT_SESSION_UNRECORDED]!,
      evicted: sessions.evicted,
      active: sessions.active,
    },
    fragments: { hit: c[CNT_FRAG_HIT]!, miss: c[CNT_FRAG_MISS]! },
    backends,
  };
}

/**
 * Live sessions of `tables` (IPv4 and IPv6), most recently used first (idle-expired entries are left
 * out), at most `limit`; IPv6 addresses as RFC 5952 text, ICMPv6 as 'ICMPV6'.
 */
export function sessionRows(
  tables: SessionTable[],
  limit: number,
  nowMs: number,
  t: TimeoutsMs,
): SessionEntry[] {
  const out: SessionEntry[] = [];
  for (const st of tables) {
    const v6 = st.words === KEY_WORDS_V6;
    const addr = new Uint8Array(16);
    const text = (e: number, at: number): string => {
      if (!v6) return formatIpv4(st.keyWordAt(e, at));
      for (let i = 0; i < 4; i++) {
        const w = st.keyWordAt(e, at + i);
        addr.set([w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff], i * 4);
      }
      return formatIpv6(addr);
    };
    let n = 0;
    st.forEachEntry((e) => {
      const proto = st.keyWordAt(e, st.words - 1);
      const last = st.lastSeenAt(e);
      if (n >= limit || nowMs - last > timeoutFor(t, proto)) return;
      n++;
      const ports = st.keyWordAt(e, st.words - 2);
      out.push({
        src: text(e, 0),
        dst: text(e, v6 ? 4 : 1),
        sport: ports >>> 16,
        dport: ports & 0xffff,
        proto: PROTO_NAMES[proto] ?? 'TCP',
        backend: st.backendIdAt(e),
        idleMs: Math.max(0, nowMs - last),
      });
    });
  }
  // both lists are by recency: merged, the most recent first, at most `limit`
  return out.sort((a, b) => a.idleMs - b.idleMs).slice(0, limit);
}
