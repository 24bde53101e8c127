// Differential fuzzing: generated frames (valid, mutated, truncated, on either port, with the clock
// jumping past idle timeouts and the configuration changing now and then) go through the TypeScript
// Balancer and the compiled XDP program from identical state; fragment sequences (first and later fragments
// of one IP id, reordered, expiring) exercise the fragment table; a third of the frames are IPv6
// (solicitations valid and not, extension-header chains, fragments, ICMPv6 errors, malformed headers)
// to a dual-stack default service and an IPv6-only one. Verdict, output bytes, chosen backend
// and counter movements must agree for every frame, and the session tables after every batch.
// The seed is fixed (FIXED_SEED) so that every run, CI included, checks the same frames;
// LBDSR_FUZZ_SEED=N replays seed N and LBDSR_FUZZ_SEED=random explores a new one.
// A disagreement fails the test and is kept: its seed in a fuzz-seeds.json and, when the frame
// disagrees on its own from a fresh state, as a corpus vector, in a temporary directory named in the
// failure; with LBDSR_FUZZ_KEEP=1 (never under CI=true) into the tree instead: test/xdp/fuzz-seeds.json
// (replayed first on every run) and test/vectors/.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ACTION_NAMES,
  DROP_REASON_NAMES,
  PORT_BACKEND,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import type { InstanceConfig, ServiceConfig, SessionSettings } from '../../src/core/model.js';
import {
  arp,
  ethernet,
  icmpEcho,
  icmpError,
  ipv4,
  ipv4Frame,
  quote,
  tcp,
  toHex,
  udp,
} from '../../src/packet/build.js';
import {
  type ExtHeader,
  icmp6,
  icmp6Echo,
  ipv6Frame,
  ipv6Packet,
  nsFrame,
  tcp6,
  udp6,
} from '../../src/packet/build6.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import type { InstancePorts } from '../../src/pipeline/desired.js';
import type { Vector } from '../lib/vectors.js';
import { xdpSkipReason } from './env.js';
import { type ComparableSession, pipelineSessions, XdpBalancer } from './harness.js';

const skip = xdpSkipReason();
const FRAMES = Number(process.env.LBDSR_FUZZ_FRAMES ?? 100_000);
const SEEDS_FILE = fileURLToPath(new URL('../../../test/xdp/fuzz-seeds.json', import.meta.url));
const VECTOR_DIR = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
const FIXED_SEED = 20261129;
const KEEP_IN_TREE = process.env.LBDSR_FUZZ_KEEP === '1' && process.env.CI !== 'true';

function fuzzSeed(): number {
  const v = process.env.LBDSR_FUZZ_SEED;
  if (v === 'random') return Math.floor(Math.random() * 1_000_000_007);
  return v === undefined || v === '' ? FIXED_SEED : Number(v);
}

let keepDir: string | undefined;
/** Where a disagreement is kept: the tree with LBDSR_FUZZ_KEEP=1, else a temporary directory. */
function keepPaths(): { seeds: string; vectors: string } {
  if (KEEP_IN_TREE) return { seeds: SEEDS_FILE, vectors: VECTOR_DIR };
  keepDir ??= mkdtempSync(join(tmpdir(), 'lbdsr-fuzz-'));
  return { seeds: join(keepDir, 'fuzz-seeds.json'), vectors: `${keepDir}/` };
}

/** mulberry32: small, fast, seeded. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  mac(): string {
    return Array.from({ length: 6 }, () => this.int(256).toString(16).padStart(2, '0')).join(':');
  }
}

const VIP = '10.0.0.100';
const VIP2 = '10.0.0.101';
const VIP6 = 'fd00::100';
const VIP6B = 'fd00::200';
const FE_MACS = ['aa:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:01'];
const PROBE_IP = '10.0.0.250';
const PROBE_MAC = '02:db:0a:00:00:fa';
const CLIENT_MAC = '52:54:00:00:00:01';
const SETTINGS: SessionSettings = { capacity: 200_000, timeouts: { tcp: 6, udp: 3, icmp: 2 } };

interface FuzzState {
  config: InstanceConfig;
  /** The ports' MACs and one-arm (checkConfig's InstancePorts). */
  ports: InstancePorts;
}

/** A pool of some of `ids` (MACs by id and `tag`, now and then a random one). */
function randomPool(r: Rng, ids: number[], tag: number): ServiceConfig['backend'] {
  const pick = ids.filter(() => r.chance(0.6));
  return { pool: pick.map((id) => ({ id, mac: r.chance(0.9) ? `02:00:00:00:0${tag}:0${id}` : r.mac() })) };
}

/**
 * Services besides `default` (issue 10): a TCP port service and a UDP service on the default VIP, and a
 * second VIP whose service may be restricted to TCP, so that the service match and NO_SERVICE are reached.
 */
function randomServices(r: Rng, mac: string): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  if (r.chance(0.5))
    out.push({ name: 'web', vip: VIP, protocol: 'TCP', port: 80, backend: randomPool(r, [1, 2, 3], 1) });
  if (r.chance(0.4))
    out.push({
      name: 'dns',
      vip: VIP,
      protocol: 'UDP',
      ...(r.chance(0.5) ? { port: 53 } : {}),
      backend: randomPool(r, [4, 5], 2),
    });
  if (r.chance(0.5)) {
    const tcpOnly = r.chance(0.5);
    out.push({
      name: 'second',
      vip: VIP2,
      ...(tcpOnly ? { protocol: 'TCP' as const } : {}),
      mac: r.chance(0.5) ? mac : FE_MACS[1]!,
      algorithm: r.chance(0.5) ? 'HASH_SESSION' : 'HASH_SRC_IP',
      backend: randomPool(r, [1, 2, 3, 4], 3),
    });
  }
  if (r.chance(0.5)) {
    out.push({
      name: 'v6only',
      vip: VIP6B,
      ...(r.chance(0.5) ? { protocol: 'TCP' as const, port: 80 } : {}),
      mac: r.chance(0.5) ? mac : FE_MACS[1]!,
      algorithm: r.chance(0.5) ? 'HASH_SESSION' : 'HASH_SRC_IP',
      backend: randomPool(r, [1, 2, 5, 6], 4),
    });
  }
  return out;
}

/**
 * The frontend modes (docs/semantics.md, "Frontend modes"): mostly L2 as before; ROUTED (whose VIP MAC
 * is the FRONTEND interface's: one of the MACs the frames use, the configured one or the other, or
 * unknown), standby, host_pass set either way, and one-arm (one interface: the backend port's MAC is
 * the frontend interface's).
 */
function randomModes(r: Rng): { modes: Partial<InstanceConfig>; ports: InstancePorts } {
  const modes: Partial<InstanceConfig> = {};
  if (r.chance(0.25)) modes.mode = 'ROUTED';
  else if (r.chance(0.1)) modes.mode = 'L2';
  if (r.chance(0.2)) modes.standby = r.chance(0.8);
  if (r.chance(0.4)) modes.host_pass = r.chance(0.7);
  const frontendMac = r.chance(0.9) ? (r.chance(0.6) ? FE_MACS[0]! : FE_MACS[1]!) : undefined;
  const oneArm = r.chance(0.25);
  const backendMac = oneArm ? frontendMac : r.chance(0.9) ? '02:00:00:00:be:01' : undefined;
  return {
    modes,
    ports: {
      ...(backendMac === undefined ? {} : { backendMac }),
      ...(frontendMac === undefined ? {} : { frontendMac }),
      oneArm,
    },
  };
}

function randomConfig(r: Rng): FuzzState {
  const ids = r.chance(0.1) ? [] : [1, 2, 3, 4, 5, 6, 7, 8].filter(() => r.chance(0.5));
  const vip = r.chance(0.97) ? VIP : undefined;
  const mac = r.chance(0.8) ? FE_MACS[0]! : FE_MACS[1]!;
  const { modes, ports } = randomModes(r);
  return {
    ports,
    config: {
      ...modes,
      name: 'fuzz',
      loglevel: 'INFO',
      algorithm: r.chance(0.7) ? 'HASH_SESSION' : 'HASH_SRC_IP',
      ports: [],
      frontend: { ...(vip ? { vip } : {}), ...(vip && r.chance(0.7) ? { vip6: VIP6 } : {}), mac },
      backend: { pool: ids.map((id) => ({ id, mac: r.chance(0.9) ? `02:00:00:00:00:0${id}` : r.mac() })) },
      services: randomServices(r, mac),
      ...(r.chance(0.7) ? { probe_ip: PROBE_IP } : {}),
      sessions: {
        capacity: SETTINGS.capacity,
        timeouts: r.chance(0.8)
          ? SETTINGS.timeouts
          : { tcp: 1 + r.int(5), udp: 1 + r.int(5), icmp: 1 + r.int(5) },
        record_non_syn: r.chance(0.3),
      },
    },
  };
}

const CLIENTS = Array.from({ length: 40 }, (_, i) => `10.0.${1 + (i % 3)}.${10 + i}`);

type Addressing = Parameters<typeof ipv4Frame>[0];

/** A TCP/UDP datagram being sent in fragments (docs/semantics.md, "Fragments"). */
interface Datagram {
  a: Addressing;
  proto: number;
  id: number;
  l4: Uint8Array;
}

/**
 * Fragment sequences: a first fragment of a new datagram (few ids, so they are reused), or a later
 * fragment of a recent datagram (in order, reordered after the last, or before its first one).
 */
function fragmentFrame(r: Rng, a: Addressing, flights: Datagram[]): Uint8Array {
  if (flights.length === 0 || r.chance(0.35)) {
    const proto = r.chance(0.5) ? 6 : 17;
    const sport = 40000 + r.int(12);
    const dport = r.pick([80, 443, 53]);
    const payload = new Uint8Array(16 + r.int(40));
    const l4 =
      proto === 6
        ? tcp({ sport, dport, flags: r.pick([2, 16, 24]), payload })
        : udp({ sport, dport, payload });
    const d: Datagram = { a, proto, id: r.int(48), l4 };
    flights.push(d);
    if (flights.length > 16) flights.shift();
    if (r.chance(0.8))
      return ipv4Frame(a, proto, l4.slice(0, r.pick([8, 16, 8, 0, 2])), { id: d.id, mf: true });
  }
  const d = flights[flights.length - 1 - r.int(Math.min(4, flights.length))]!; // mostly recent ones
  const off = 1 + r.int(3);
  return ipv4Frame(d.a, d.proto, d.l4.slice(off * 8, off * 8 + 8 + r.int(8)), {
    id: d.id,
    fragOffset: off,
    mf: r.chance(0.6),
  });
}

const CLIENTS6 = Array.from({ length: 24 }, (_, i) => `2001:db8:${1 + (i % 3)}::${(10 + i).toString(16)}`);
const CLIENT_LL = 'fe80::5054:ff:fe00:1';

/** A random extension-header chain: mostly none or short, now and then the most (8) or one too many. */
function randomExts(r: Rng): ExtHeader[] {
  if (r.chance(0.7)) return [];
  const n = r.chance(0.1) ? 8 + r.int(2) : 1 + r.int(3);
  return Array.from({ length: n }, () => {
    const kind = r.pick([0, 43, 60, 60, 44] as const);
    if (kind === 44)
      return { kind, id: r.int(8), offset: r.chance(0.8) ? 0 : 1 + r.int(4), m: r.chance(0.3) };
    return { kind, len: 8 * (1 + r.int(3)), ...(r.chance(0.05) ? { hdrExtLen: r.int(256) } : {}) };
  });
}

/** A TCP/UDP datagram over IPv6 being sent in fragments (32-bit ids, few of them). */
interface Datagram6 {
  a: Frame6;
  proto: number;
  id: number;
  l4: Uint8Array;
}

type Frame6 = Parameters<typeof ipv6Frame>[0];

function fragment6Frame(r: Rng, a: Frame6, flights: Datagram6[]): Uint8Array {
  if (flights.length === 0 || r.chance(0.35)) {
    const proto = r.pick([6, 17, 17, 58]);
    const sport = 40000 + r.int(12);
    const dport = r.pick([80, 443, 53]);
    const payload = new Uint8Array(16 + r.int(40));
    const l4 =
      proto === 6
        ? tcp6(a, { sport, dport, flags: r.pick([2, 16]), payload })
        : proto === 17
          ? udp6(a, { sport, dport, payload })
          : icmp6Echo(a, { payload });
    const d: Datagram6 = { a, proto, id: r.chance(0.8) ? r.int(24) : 0x10000 + r.int(4), l4 };
    flights.push(d);
    if (flights.length > 16) flights.shift();
    if (r.chance(0.8))
      return ipv6Frame(a, proto, l4.slice(0, r.pick([8, 16, 8, 0, 2])), {
        exts: [{ kind: 44, m: true, id: d.id }],
      });
  }
  const d = flights[flights.length - 1 - r.int(Math.min(4, flights.length))]!;
  const off = 1 + r.int(3);
  return ipv6Frame(d.a, d.proto, d.l4.slice(off * 8, off * 8 + 8 + r.int(8)), {
    exts: [{ kind: 44, offset: off, m: r.chance(0.6), id: d.id }],
  });
}

/** A Neighbor Solicitation, mostly one that is answered, otherwise broken in one of its checks. */
function solicitation(r: Rng, ethDst: string): Uint8Array {
  const target = r.chance(0.8) ? (r.chance(0.7) ? VIP6 : VIP6B) : 'fd00::300';
  const unicast = r.chance(0.3);
  return nsFrame({
    srcMac: CLIENT_MAC,
    src: r.chance(0.05) ? '::' : r.chance(0.7) ? CLIENT_LL : r.pick(CLIENTS6),
    target,
    ...(unicast ? { dst: target, dstMac: ethDst } : r.chance(0.1) ? { dstMac: ethDst } : {}),
    ...(r.chance(0.05) ? { dst: 'ff02::1' } : {}),
    hopLimit: r.chance(0.95) ? 255 : 64,
    sllao: r.chance(0.8),
    ...(r.chance(0.05) ? { code: 1 } : {}),
    ...(r.chance(0.05) ? { checksum: r.int(65536) } : {}),
    ...(r.chance(0.1) ? { moreOptions: new Uint8Array(r.pick([4, 8, 16, 104])) } : {}),
  });
}

/** An ICMPv6 error quoting a packet from (mostly) an IPv6 VIP to the client. */
function icmp6ErrorOf(r: Rng, a: Frame6): Uint8Array {
  const from = r.chance(0.9) ? a.dst : 'fd00::7';
  const q = { src: from, dst: a.src };
  const iproto = r.pick([6, 17, 58, 50]);
  const l4 =
    iproto === 58
      ? icmp6Echo(q, { type: r.pick([128, 129, 1]) })
      : iproto === 6
        ? tcp6(q, { sport: r.pick([80, 443, 53]), dport: 40000 + r.int(12) })
        : udp6(q, { sport: r.pick([80, 53]), dport: 40000 + r.int(12) });
  const inner = ipv6Packet(q, iproto, l4, { exts: randomExts(r) });
  const cut = inner.slice(0, r.chance(0.8) ? inner.length : r.int(inner.length));
  const type = r.pick([1, 2, 3, 4, 5]);
  return icmp6(a, { type, code: r.int(3), word: type === 2 ? 1280 : 0, body: cut });
}

function validFrame6(r: Rng, flights: Datagram6[], ethDst: string): Uint8Array {
  const a: Frame6 = {
    ethDst,
    ethSrc: CLIENT_MAC,
    src: r.pick(CLIENTS6),
    dst: r.chance(0.85) ? VIP6 : r.chance(0.7) ? VIP6B : 'fd00::300',
  };
  const sport = 40000 + r.int(12);
  const dport = r.pick([80, 443, 53]);
  const k = r.int(100);
  if (k < 15) return solicitation(r, ethDst);
  if (k < 18) {
    const type = r.pick([133, 134, 136, 137]);
    return ipv6Frame(a, 58, icmp6(a, { type, body: new Uint8Array(8 * r.int(4)) }), { hopLimit: 255 });
  }
  if (k < 26) return fragment6Frame(r, a, flights);
  const extra = { exts: randomExts(r) };
  if (k < 50) return ipv6Frame(a, 6, tcp6(a, { sport, dport, flags: r.pick([2, 16, 24, 17]) }), extra);
  if (k < 64) return ipv6Frame(a, 17, udp6(a, { sport, dport, payload: new Uint8Array(r.int(40)) }), extra);
  if (k < 72) return ipv6Frame(a, 58, icmp6Echo(a, { type: r.pick([128, 129, 128, 143]) }), extra);
  if (k < 86) return ipv6Frame(a, 58, icmp6ErrorOf(r, a), extra);
  if (k < 90) return ipv6Frame(a, r.pick([50, 51, 59, 47, 4]), new Uint8Array(r.int(24)), extra);
  if (k < 95) {
    const f = ipv6Frame(a, 6, tcp6(a, { sport, dport }), extra);
    if (r.chance(0.5)) f[14] = (r.int(16) << 4) | (f[14]! & 0x0f);
    else f[19] = (f[19]! + 1 + r.int(40)) & 0xff;
    return f;
  }
  return ethernet({
    dst: ethDst,
    src: CLIENT_MAC,
    type: 0x86dd,
    payload: Uint8Array.from({ length: 40 + r.int(60) }, () => r.int(256)),
  });
}

function validFrame(r: Rng, flights: Datagram[], flights6: Datagram6[]): Uint8Array {
  const a = {
    ethDst: r.chance(0.9) ? FE_MACS[0]! : r.chance(0.6) ? FE_MACS[1]! : r.chance(0.5) ? PROBE_MAC : r.mac(),
    ethSrc: CLIENT_MAC,
    src: r.pick(CLIENTS),
    dst: r.chance(0.85) ? VIP : r.chance(0.7) ? VIP2 : '10.0.0.102',
  };
  if (r.chance(0.33)) return validFrame6(r, flights6, a.ethDst);
  if (r.chance(0.08)) return fragmentFrame(r, a, flights);
  const sport = 40000 + r.int(12);
  const dport = r.pick([80, 443, 53]);
  const ipExtra: Parameters<typeof ipv4Frame>[3] = {};
  if (r.chance(0.05)) ipExtra.options = new Uint8Array(4 * (1 + r.int(10))).fill(1);
  if (r.chance(0.06)) {
    if (r.chance(0.5)) ipExtra.mf = true;
    if (r.chance(0.6)) ipExtra.fragOffset = 1 + r.int(100);
  }
  const k = r.int(100);
  if (k < 10) {
    const f = ethernet({
      dst: r.chance(0.8) ? 'ff:ff:ff:ff:ff:ff' : r.chance(0.5) ? FE_MACS[0]! : r.mac(),
      src: CLIENT_MAC,
      type: 0x0806,
      payload: arp({
        op: r.chance(0.9) ? 1 : 2,
        senderMac: CLIENT_MAC,
        senderIp: r.pick(CLIENTS),
        targetIp: r.chance(0.75) ? VIP : r.chance(0.5) ? VIP2 : '10.0.0.1',
      }),
      padding: r.chance(0.7) ? 18 : 0,
    });
    return f;
  }
  if (k < 40)
    return ipv4Frame(
      a,
      6,
      tcp({ sport, dport, flags: r.pick([2, 16, 24, 17]) }),
      ipExtra,
      r.chance(0.1) ? 6 : 0,
    );
  if (k < 60) return ipv4Frame(a, 17, udp({ sport, dport, payload: new Uint8Array(r.int(40)) }), ipExtra);
  if (k < 70)
    return ipv4Frame(
      a,
      1,
      icmpEcho({ type: r.pick([8, 0, 8, 13]), payload: new Uint8Array(r.int(16)) }),
      ipExtra,
    );
  if (k < 85) {
    const iproto = r.pick([6, 17, 1, 47]);
    const l4 =
      iproto === 1
        ? icmpEcho({ type: r.pick([0, 8, 3]) })
        : iproto === 6
          ? tcp({ sport: dport, dport: sport })
          : udp({ sport: dport, dport: sport });
    const inner = ipv4({
      src: r.chance(0.9) ? VIP : '10.0.0.7',
      dst: a.src,
      proto: iproto,
      payload: l4,
      mf: r.chance(0.05),
      ...(r.chance(0.05) ? { options: new Uint8Array(8) } : {}),
    });
    return ipv4Frame(
      a,
      1,
      icmpError({
        type: r.pick([3, 11, 12, 5]),
        code: r.int(5),
        inner: quote(inner, r.pick([8, 8, 4, 0, 20])),
      }),
      ipExtra,
    );
  }
  if (k < 90) return ipv4Frame(a, r.pick([47, 50, 132, 0]), new Uint8Array(20 + r.int(20)), ipExtra);
  if (k < 95) {
    return ethernet({
      dst: a.ethDst,
      src: CLIENT_MAC,
      type: r.pick([0x86dd, 0x8100, 0x88a8, 0x0842]), // an all-zero IPv6 header: IP_MALFORMED
      payload: new Uint8Array(46),
    });
  }
  return Uint8Array.from({ length: 14 + r.int(80) }, () => r.int(256));
}

function mutate(r: Rng, f: Uint8Array): Uint8Array {
  const out = f.slice();
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const at = r.chance(0.7) ? 14 + r.int(Math.max(1, Math.min(out.length, 70) - 14)) : r.int(out.length);
    if (at >= out.length) continue;
    out[at] = r.chance(0.5) ? r.int(256) : out[at]! ^ (1 << r.int(8));
  }
  return out;
}

function generate(r: Rng, flights: Datagram[], flights6: Datagram6[]): { frame: Uint8Array; port: number } {
  let f = validFrame(r, flights, flights6);
  if (r.chance(0.25)) f = mutate(r, f);
  if (r.chance(0.1)) f = f.slice(0, 14 + r.int(f.length - 13));
  return { frame: f, port: r.chance(0.03) ? PORT_BACKEND : PORT_FRONTEND };
}

function describe(v: number, frame: Uint8Array, len: number, backend: number): string {
  const act = ACTION_NAMES[verdictAction(v)] ?? `ACT${verdictAction(v)}`;
  const reason = verdictAction(v) === 0 ? `/${DROP_REASON_NAMES[verdictReason(v)] ?? verdictReason(v)}` : '';
  const be = verdictAction(v) === 2 ? ` backend ${backend}` : '';
  return `${act}${reason}${be} ${verdictAction(v) === 0 ? '' : toHex(frame, 0, len)}`;
}

/** The length a plane transmits after process (an ND reply: 86); `len` where the plane has no outLen. */
function outLenOf(b: object, len: number): number {
  const o = (b as { outLen?: unknown }).outLen;
  return typeof o === 'number' ? o : len;
}

const sessionText = (list: ComparableSession[]) =>
  list.map((s) => `${s.key}=${s.backend}@${s.lastSeenMs}`).sort();

/** Both families' sessions of each plane, as text. */
function tsSessions(b: Balancer): string[] {
  return sessionText(pipelineSessions(b));
}

function xdpSessions(x: XdpBalancer): string[] {
  return sessionText(x.sessionList());
}

/** The frame alone from a fresh state: when the planes disagree on it, it becomes a corpus vector. */
function keepAsVector(seed: number, index: number, st: FuzzState, frame: Uint8Array, port: number): void {
  const ts = new Balancer(SETTINGS);
  const xdp = new XdpBalancer(SETTINGS);
  try {
    ts.configure(st.config, st.ports);
    xdp.configure(st.config, st.ports);
    const a = frame.slice();
    const b = frame.slice();
    const va = ts.process(a, a.length, port, 1000);
    const vb = xdp.process(b, b.length, port, 1000);
    if (va === vb && toHex(a) === toHex(b)) return;
    const act = ACTION_NAMES[verdictAction(va)] as 'DROP' | 'TX_FRONTEND' | 'TX_BACKEND' | 'PASS';
    const v: Vector = {
      name: `fuzz-${seed}-${index}`,
      description: `Found by test/xdp/fuzz.test.ts (seed ${seed}, frame ${index}): the XDP program disagreed with the pipeline`,
      config: {
        frontend: st.config.frontend,
        ...(st.config.services?.length ? { services: st.config.services } : {}),
        ...(st.config.probe_ip ? { probe_ip: st.config.probe_ip } : {}),
        algorithm: st.config.algorithm,
        backend: st.config.backend,
        sessions: { timeouts: st.config.sessions.timeouts },
        ...(st.config.mode ? { mode: st.config.mode } : {}),
        ...(st.config.standby === undefined ? {} : { standby: st.config.standby }),
        ...(st.config.host_pass === undefined ? {} : { host_pass: st.config.host_pass }),
      },
      backendPortMac: st.ports.backendMac ?? null,
      frontendPortMac: st.ports.frontendMac ?? null,
      oneArm: st.ports.oneArm,
      steps: [
        {
          comment: 'the frame the planes disagreed on',
          port: port === PORT_BACKEND ? 'BACKEND' : 'FRONTEND',
          frame: toHex(frame),
          expect: {
            action: act,
            // a drop's reason, or the rule a host_pass PASS spared (docs/semantics.md, "Frontend modes")
            ...(verdictReason(va) === 0 ? {} : { reason: DROP_REASON_NAMES[verdictReason(va)]! }),
            ...(act === 'DROP' ? {} : { frame: toHex(a) }),
            ...(act === 'TX_BACKEND' ? { backend: ts.lastBackendId } : {}),
          },
        },
      ],
    };
    writeFileSync(`${keepPaths().vectors}fuzz-${seed}-${index}.json`, `${JSON.stringify(v, null, 1)}\n`);
  } finally {
    xdp.close();
  }
}

function recordSeed(seed: number, frames: number): void {
  const file = keepPaths().seeds;
  const seeds = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { seed: number; frames: number }[])
    : [];
  if (!seeds.some((s) => s.seed === seed)) seeds.push({ seed, frames });
  writeFileSync(file, `${JSON.stringify(seeds, null, 1)}\n`);
  console.log(`# disagreement kept in ${file}`);
}

/** Verdicts seen in the last run (what the generator covers), by name. */
const tally = new Map<string, number>();
/** Fragment-table lookups counted by the pipeline in the last run (at its last checkpoint). */
const fragments = { hit: 0, miss: 0 };

/** Runs `frames` generated frames from `seed`; returns the first disagreement, or undefined. */
function runSeed(seed: number, frames: number): string | undefined {
  const r = new Rng(seed);
  let st = randomConfig(r);
  const ts = new Balancer(SETTINGS);
  const xdp = new XdpBalancer(SETTINGS);
  try {
    ts.configure(st.config, st.ports);
    xdp.configure(st.config, st.ports);
    let now = 1000;
    const a = new Uint8Array(2048);
    const b = new Uint8Array(2048);
    const flights: Datagram[] = [];
    const flights6: Datagram6[] = [];
    for (let i = 0; i < frames; i++) {
      if (r.chance(1 / 1500)) {
        st = randomConfig(r);
        ts.configure(st.config, st.ports);
        xdp.configure(st.config, st.ports);
      }
      now += r.chance(0.002) ? 1000 * (1 + r.int(8)) : r.int(30);
      const { frame, port } = generate(r, flights, flights6);
      const len = frame.length;
      a.set(frame);
      b.set(frame);
      const va = ts.process(a, len, port, now);
      const vb = xdp.process(b, len, port, now);
      // A drop by its reason; a PASS of host_pass by the rule it spared (docs/semantics.md, "Frontend modes").
      const name =
        verdictAction(va) === 0 || verdictReason(va) !== 0
          ? `${ACTION_NAMES[verdictAction(va)]}/${DROP_REASON_NAMES[verdictReason(va)]}`
          : ACTION_NAMES[verdictAction(va)]!;
      tally.set(name, (tally.get(name) ?? 0) + 1);
      // An ND reply is longer than its solicitation: each plane's output length (outLen).
      const da = describe(va, a, outLenOf(ts, len), ts.lastBackendId);
      const db = describe(vb, b, outLenOf(xdp, len), xdp.lastBackendId);
      if (da !== db) {
        recordSeed(seed, frames);
        keepAsVector(seed, i, st, frame, port);
        return `seed ${seed} frame ${i} (${toHex(frame)} on port ${port}, now ${now}):\n  pipeline ${da}\n  xdp      ${db}`;
      }
      if (i % 5000 === 4999 || i === frames - 1) {
        const sa = ts.stats();
        fragments.hit = sa.fragments.hit;
        fragments.miss = sa.fragments.miss;
        const sb = xdp.stats();
        const pick = (s: typeof sa) => ({
          rx: s.rx,
          tx: s.tx,
          arp: s.arpReplies,
          nd: s.ndReplies ?? 0,
          pass: s.backendPass,
          frontendPass: s.frontendPass,
          drops: s.drops,
          hit: s.sessions.hit,
          miss: s.sessions.miss,
          expired: s.sessions.expired,
          stale: s.sessions.stale,
          fragments: s.fragments,
          backends: s.backends,
        });
        try {
          assert.deepEqual(pick(sb), pick(sa));
          assert.deepEqual(xdpSessions(xdp), tsSessions(ts));
        } catch (e) {
          recordSeed(seed, frames);
          return `seed ${seed} after frame ${i}: counters or sessions differ: ${(e as Error).message.slice(0, 2000)}`;
        }
      }
    }
    return undefined;
  } finally {
    xdp.close();
  }
}

test('recorded fuzz seeds still agree', { skip }, () => {
  const seeds = existsSync(SEEDS_FILE)
    ? (JSON.parse(readFileSync(SEEDS_FILE, 'utf8')) as { seed: number; frames: number }[])
    : [];
  for (const s of seeds) assert.equal(runSeed(s.seed, s.frames), undefined);
});

test(`differential fuzz: ${FRAMES} generated frames, XDP == TypeScript`, { skip, timeout: 600_000 }, () => {
  const seed = fuzzSeed();
  console.log(`# fuzz seed ${seed} (LBDSR_FUZZ_SEED=${seed} replays it)`);
  tally.clear();
  fragments.hit = 0;
  fragments.miss = 0;
  const problem = runSeed(seed, FRAMES);
  console.log(`# verdicts: ${JSON.stringify(Object.fromEntries([...tally].sort((x, y) => y[1] - x[1])))}`);
  assert.equal(problem, undefined, problem);
  // Every rule of the semantics is exercised.
  for (const r of DROP_REASON_NAMES.slice(1)) {
    if (r === 'TX_FAILED' || r === 'TRUNCATED') continue; // XDP-only; frames < 14 bytes cannot be test-run
    if (FRAMES >= 100_000) assert.ok((tally.get(`DROP/${r}`) ?? 0) > 0, `no frame was dropped for ${r}`);
  }
  // host_pass is exercised on each rule it changes
  for (const r of ['VLAN', 'ARP', 'ETHERTYPE', 'NOT_VIP']) {
    if (FRAMES >= 100_000)
      assert.ok((tally.get(`PASS/${r}`) ?? 0) > 0, `no frame was passed by host_pass for ${r}`);
  }
  console.log(`# fragment lookups: ${JSON.stringify(fragments)}`);
  if (FRAMES >= 100_000)
    assert.ok(fragments.hit > 0 && fragments.miss > 0, 'later fragments both found and missed their first');
});
