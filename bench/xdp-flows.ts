// The flows and the configuration of the XDP benchmark (bench/xdp.ts, bench/xdp-veth.ts): the bench's
// instance (one dual-stack service: frontend vip + vip6, whose backend MAC is the frontend MAC, so a
// balanced frame comes out as it went in), the ceiling's configuration and flow entry, and one
// description per address family so that every IPv6 row is measured exactly as its IPv4 row in the
// same run: the frame of flow `i` (client address and port vary), the in-place rewrite to flow `i` (no
// allocation: the single runs of the misses write it before each run), the request the plane answers
// itself (ARP request, Neighbor Solicitation) and the filling of the family's session map with flows
// that are never measured.
import { SIZEOF_FLOW_KEY, SIZEOF_FLOW_KEY6, SIZEOF_SESSION } from '../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../src/core/model.js';
import type { MapFds } from '../src/dataplane/xdp/maps.js';
import { type BpfObject, mapUpdate, mapUpdateBatch } from '../src/kernel/libbpf.js';
import { arpRequestFrame, TCP_SYN, tcpFrame } from '../src/packet/build.js';
import { nsFrame, tcp6Frame } from '../src/packet/build6.js';

export const VIP = '10.0.0.100';
export const VIP6 = 'fd00::100';
export const FE_MAC = 'aa:bb:cc:dd:ee:ff';
export const CLIENT_MAC = '52:54:00:00:00:01';

export interface Flows {
  label: 'IPv4' | 'IPv6';
  /** A TCP frame of flow `i`; a SYN by default: its miss records a session. */
  flowFrame(i: number, flags?: number): Uint8Array;
  /** Writes flow `i`'s varying fields (last word of the client address, client port) into a flow frame. */
  setFlow(buf: Uint8Array, i: number): void;
  /** What the plane answers itself on the FRONTEND port (XDP_TX): ARP request / Neighbor Solicitation. */
  request(): Uint8Array;
  /** Fills the family's session map with `n` flows that are never measured (the last word 12.0.0.0 + i). */
  fill(fds: MapFds, slot: number, n: number): void;
}

/** Flow i: client address word 11.0.0.0 + (i >> 8) (IPv4: the address; IPv6: 2001:db8::<that word>). */
const clientWord = (i: number): number => 0x0b000000 + (i >>> 8);
const clientPort = (i: number): number => 1024 + (i & 0xff);

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 255;
  b[off + 2] = (v >>> 8) & 255;
  b[off + 3] = v & 255;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v & 255;
}

/**
 * Writes `n` session entries built by `key(buf, off, i)` in batches (backend 1 in `slot`, last seen now).
 * `also` receives each batch's keys (the IPv4 fill gives the ceiling's flow table the same keys).
 */
function fillMap(
  fd: number,
  keySize: number,
  slot: number,
  n: number,
  key: (kv: DataView, off: number, i: number) => void,
  also?: (keys: Uint8Array, m: number, done: number) => void,
): void {
  const chunk = 100_000;
  const keys = new Uint8Array(chunk * keySize);
  const sess = new Uint8Array(chunk * SIZEOF_SESSION);
  const kv = new DataView(keys.buffer);
  const sv = new DataView(sess.buffer);
  const now = process.hrtime.bigint();
  for (let done = 0; done < n; done += chunk) {
    const m = Math.min(chunk, n - done);
    for (let j = 0; j < m; j++) {
      key(kv, j * keySize, done + j);
      sv.setUint32(j * SIZEOF_SESSION, 1, true);
      sv.setUint32(j * SIZEOF_SESSION + 4, slot, true);
      sv.setBigUint64(j * SIZEOF_SESSION + 8, now, true);
    }
    mapUpdateBatch(fd, keys, sess, m, keySize, SIZEOF_SESSION);
    also?.(keys, m, done);
  }
}

/** IPv4 session key of filler flow `i` (12.0.0.0/8: never a measured flow); the ceiling's key too. */
export function fillKey4(kv: DataView, off: number, i: number): void {
  kv.setUint32(off, 0x0c000000 + i, false);
  kv.setUint32(off + 4, 0x0a000064, false);
  kv.setUint16(off + 8, 1024 + (i & 0xffff), true);
  kv.setUint16(off + 10, 80, true);
  kv.setUint8(off + 12, 6);
}

/** Fills the IPv4 session map (and, when given, the ceiling's flow table) with `n` filler flows. */
export function fillSessions4(sessionsFd: number, slot: number, n: number, flowsFd?: number): void {
  const targets = new Uint8Array(100_000 * 8);
  for (let j = 0; j < 100_000; j++) targets.set([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff], j * 8);
  fillMap(sessionsFd, SIZEOF_FLOW_KEY, slot, n, fillKey4, (keys, m, done) => {
    if (flowsFd !== undefined)
      mapUpdateBatch(flowsFd, keys, targets, Math.min(m, 999_999 - done), SIZEOF_FLOW_KEY, 8);
  });
}

const VIP6_BYTES = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0]);

/** IPv6 session key (struct lbdsr_flow_key6) of filler flow `i`: 2001:db8::c00:0 + i -> the IPv6 VIP. */
function fillKey6(kv: DataView, off: number, i: number): void {
  const b = new Uint8Array(kv.buffer, kv.byteOffset + off, SIZEOF_FLOW_KEY6);
  b.fill(0);
  b[0] = 0x20;
  b[1] = 0x01;
  b[2] = 0x0d;
  b[3] = 0xb8;
  put32(b, 12, 0x0c000000 + i);
  b.set(VIP6_BYTES, 16);
  kv.setUint16(off + 32, 1024 + (i & 0xffff), true);
  kv.setUint16(off + 34, 80, true);
  b[36] = 6;
}

export const V4_FLOWS: Flows = {
  label: 'IPv4',
  flowFrame: (i, flags = TCP_SYN) =>
    tcpFrame(
      { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: clientWord(i), dst: VIP },
      { sport: clientPort(i), dport: 80, flags },
    ),
  setFlow(buf, i) {
    put32(buf, 26, clientWord(i));
    put16(buf, 34, clientPort(i));
  },
  request: () => arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: VIP }),
  fill: (fds, slot, n) => fillSessions4(fds.sessions, slot, n),
};

export const V6_FLOWS: Flows = {
  label: 'IPv6',
  flowFrame(i, flags = TCP_SYN) {
    const f = tcp6Frame(
      { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: '2001:db8::', dst: VIP6 },
      { sport: clientPort(i), dport: 80, flags },
    );
    this.setFlow(f, i);
    return f;
  },
  setFlow(buf, i) {
    put32(buf, 34, clientWord(i)); // the source address's last word (bytes 22..37)
    put16(buf, 54, clientPort(i));
  },
  request: () => nsFrame({ srcMac: CLIENT_MAC, src: '2001:db8::1', target: VIP6 }),
  fill: (fds, slot, n) => fillMap(fds.sessions6, SIZEOF_FLOW_KEY6, slot, n, fillKey6),
};

/** Sessions of each family's map in the full-table figures (and the maps' capacity). */
export const TABLE = 1_000_000;

/** The bench's instance: one dual-stack service; the backend MAC is the frontend MAC. */
export function benchConfig(): InstanceConfig {
  return {
    name: 'bench',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: VIP, vip6: VIP6, mac: FE_MAC },
    // The backend MAC is the frontend MAC: a balanced frame comes out as it went in.
    backend: { pool: [{ id: 1, mac: FE_MAC }] },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: TABLE },
  };
}

/** The ceiling's entry for flow `i` (target MAC = the frontend MAC: the rewrite is the identity). */
export function ceilingFlow(flowsFd: number, i: number): void {
  const k = new Uint8Array(16);
  const kv = new DataView(k.buffer);
  kv.setUint32(0, 0x0b000000 + (i >>> 8), false);
  kv.setUint32(4, 0x0a000064, false);
  kv.setUint16(8, 1024 + (i & 0xff), true);
  kv.setUint16(10, 80, true);
  k[12] = 6;
  mapUpdate(flowsFd, k, Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0]));
}

/** bench.bpf.c's struct flood_state: the next client address (or rank, with `mask`), its step, and
 * the scattered order's base and mask (0: addresses in order). */
export function floodState(next: number, vary: number, base = 0, mask = 0): Uint8Array {
  const v = new Uint8Array(16);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, next, true);
  dv.setUint32(4, vary, true);
  dv.setUint32(8, base, true);
  dv.setUint32(12, mask, true);
  return v;
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** VIP and source MAC (the client's: the rewrite is the identity). */
export function configureCeiling(obj: BpfObject): void {
  const cfg = new Uint8Array(12);
  cfg.set([10, 0, 0, 100], 0);
  cfg.set([0x52, 0x54, 0, 0, 0, 1], 4);
  mapUpdate(obj.mapFd('ceil_config'), new Uint8Array(4), cfg);
}
