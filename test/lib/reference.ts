// A straightforward reference of docs/semantics.md's backend choice (jhash2 + weighted Maglev), of which
// misses are recorded (isTcpNonSyn), of the service a key matches, of what a backend's state, weight
// and health make of it, and of the early rules of a FRONTEND frame under the frontend modes (flags,
// host_pass, one-arm), written from the document and independently of src/core/maglev.ts and
// src/pipeline (IPv6: test/lib/reference6.ts, called from here). The corpus generator uses it to
// compute expected backends; test/unit/maglev.test.ts checks it against the C oracle
// (test/vectors/tools/known-values.c) and the product's Maglev against it.
import { jhash2 } from '../../src/core/jhash.js';
import type { BackendConfig, BackendObservation, HealthCheckConfig } from '../../src/core/model.js';
import { type FlowKey6, hashWords6, hex, referenceFrontend6 } from './reference6.js';

export const M = 65537;
const OFFSET_SEED = 0x4d41474c;
const SKIP_SEED = 0x45563031;

const one = new Uint32Array(1);
function hashId(id: number, seed: number): number {
  one[0] = id;
  return jhash2(one, 0, 1, seed);
}

/**
 * The Maglev table as backend ids (-1 when no backend has a weight), M entries. `weights[i]` (0..100,
 * default 100) is the weight of `ids[i]`: each round, in ascending id order, a backend adds its weight to
 * its credit and, once the credit reaches 100, takes 100 off and claims the next free entry of its
 * permutation (docs/semantics.md, "Maglev table"). Weight 0: no entry.
 */
export function referenceMaglev(ids: readonly number[], size = M, weights?: readonly number[]): Float64Array {
  const weightOf = new Map<number, number>();
  ids.forEach((id, i) => {
    weightOf.set(id, weights?.[i] ?? 100);
  });
  const sorted = [...weightOf.keys()].filter((id) => weightOf.get(id)! > 0).sort((a, b) => a - b);
  const table = new Float64Array(size).fill(-1);
  const n = sorted.length;
  if (n === 0) return table;
  const offset = sorted.map((id) => hashId(id, OFFSET_SEED) % size);
  const skip = sorted.map((id) => (hashId(id, SKIP_SEED) % (size - 1)) + 1);
  const w = sorted.map((id) => weightOf.get(id)!);
  const credit = new Array<number>(n).fill(0);
  const next = new Array<number>(n).fill(0);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      credit[i]! += w[i]!;
      if (credit[i]! < 100) continue;
      credit[i]! -= 100;
      let c = (offset[i]! + next[i]! * skip[i]!) % size;
      while (table[c] !== -1) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % size;
      }
      table[c] = sorted[i]!;
      next[i]!++;
      if (++filled === size) return table;
    }
  }
}

/**
 * docs/semantics.md, "Session floods": whether an Ethernet frame is an IPv4 TCP segment without the
 * SYN flag, or any IPv4 TCP fragment (one whose miss is not recorded unless the instance records
 * those). Read from the bytes, independently of src/packet.
 */
export function isTcpNonSyn(frame: Uint8Array): boolean {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return false;
  if (((frame[20]! << 8) | frame[21]!) & 0x3fff) return true; // a TCP fragment: never a SYN
  const l4 = 14 + (frame[14]! & 0x0f) * 4;
  return frame.length > l4 + 13 && (frame[l4 + 13]! & 0x02) === 0;
}

export interface FlowKey {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
}

/** A key of either family (an IPv6 key has `family: 6` and 16-byte addresses). */
export type AnyFlowKey = FlowKey | FlowKey6;

export function isKey6(k: AnyFlowKey): k is FlowKey6 {
  return 'family' in k && k.family === 6;
}

const words = new Uint32Array(10);
/** The hash of docs/semantics.md rule 11 (and "IPv6") for an algorithm ('HASH_SESSION' | 'HASH_SRC_IP'). */
export function flowHash(key: AnyFlowKey, algorithm: string): number {
  if (isKey6(key)) {
    const w = hashWords6(key, algorithm);
    words.set(w);
    return jhash2(words, 0, w.length, 0);
  }
  words[0] = key.src;
  if (algorithm === 'HASH_SRC_IP') return jhash2(words, 0, 1, 0);
  words[1] = key.dst;
  words[2] = ((key.sport << 16) | key.dport) >>> 0;
  words[3] = key.proto;
  return jhash2(words, 0, 4, 0);
}

/**
 * Backend id Maglev picks for a key, or undefined for an empty pool. `weights[i]` is the weight of
 * `pool[i]` (default 100 each). Caches tables by pool and weights.
 */
const cache = new Map<string, Float64Array>();
export function referencePick(
  pool: readonly number[],
  algorithm: string,
  key: AnyFlowKey,
  weights?: readonly number[],
): number | undefined {
  const k = pool
    .map((id, i) => [id, weights?.[i] ?? 100] as const)
    .sort((a, b) => a[0] - b[0])
    .join(';');
  let t = cache.get(k);
  if (!t) {
    t = referenceMaglev(pool, M, weights);
    cache.set(k, t);
  }
  const id = t[flowHash(key, algorithm) % M]!;
  return id === -1 ? undefined : id;
}

// -------------------------------------------------------------------------------------------------
// Fragments (docs/semantics.md, "Fragments"): the ports of a datagram learned from its first fragment,
// written from the document with its constants, independently of src/pipeline/fragments.ts.

export const REF_FRAG_TIMEOUT_MS = 2000;
export const REF_FRAG_CAPACITY = 8192;

/** What a fragment's lookup did: HIT / MISS for a later TCP/UDP fragment, NONE otherwise. */
export type FragEffect = 'HIT' | 'MISS' | 'NONE';

export interface FragDecision {
  key: FlowKey;
  effect: FragEffect;
  /** For a TCP/UDP first fragment with its ports: the entry it writes once balanced. */
  learn?: { id: string; sport: number; dport: number };
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** The fragment table as the document states it: insertion order is write order, oldest evicted first. */
export class ReferenceFragments {
  private readonly entries = new Map<string, { sport: number; dport: number; firstSeen: number }>();

  constructor(
    readonly capacity = REF_FRAG_CAPACITY,
    readonly timeoutMs = REF_FRAG_TIMEOUT_MS,
  ) {}

  /**
   * The key of an Ethernet + IPv4 frame that is a fragment (MF or offset), or undefined when the frame
   * is not one. Reads the frame's bytes directly (no product parser).
   */
  decide(frame: Uint8Array, nowMs: number): FragDecision | undefined {
    const ip = 14;
    const frag = u16(frame, ip + 6);
    const mf = (frag & 0x2000) !== 0;
    const offset = frag & 0x1fff;
    if (!mf && offset === 0) return undefined;
    const ihl = (frame[ip]! & 0x0f) * 4;
    const l4len = u16(frame, ip + 2) - ihl;
    const proto = frame[ip + 9]!;
    const src = u32(frame, ip + 12);
    const dst = u32(frame, ip + 16);
    const key: FlowKey = { src, dst, sport: 0, dport: 0, proto };
    if (proto !== 6 && proto !== 17) return { key, effect: 'NONE' };
    const id = `${src}/${dst}/${proto}/${u16(frame, ip + 4)}`;
    if (offset === 0) {
      if (l4len < 4) return { key, effect: 'NONE' };
      const sport = u16(frame, ip + ihl);
      const dport = u16(frame, ip + ihl + 2);
      return { key: { ...key, sport, dport }, effect: 'NONE', learn: { id, sport, dport } };
    }
    const e = this.entries.get(id);
    if (e && nowMs - e.firstSeen <= this.timeoutMs) {
      return { key: { ...key, sport: e.sport, dport: e.dport }, effect: 'HIT' };
    }
    return { key, effect: 'MISS' };
  }

  /** What a balanced first fragment writes (a drop writes nothing). */
  learn(l: NonNullable<FragDecision['learn']>, nowMs: number): void {
    this.entries.delete(l.id);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(l.id, { sport: l.sport, dport: l.dport, firstSeen: nowMs });
  }
}

// -------------------------------------------------------------------------------------------------
// Services and backends (docs/semantics.md, "Services" and "Backends"), from the document.

export interface RefService {
  name: string;
  /** 0 = no IPv4 VIP (an IPv6-only service). */
  vip: number;
  /** The IPv6 VIP (32 hex digits), if any. */
  vip6?: string;
  /** 0 = any. */
  proto: number;
  /** 0 = any. */
  port: number;
}

/**
 * The service of VIP `key.dst` a key matches: protocol and port, else protocol without port, else
 * neither; undefined for none. On an IPv6 VIP a service of protocol ICMP (1) matches ICMPv6 (58).
 */
export function referenceMatch<S extends RefService>(services: readonly S[], key: AnyFlowKey): S | undefined {
  const v6 = isKey6(key);
  const of = v6
    ? services.filter((s) => s.vip6 !== undefined && s.vip6 === hex(key.dst))
    : services.filter((s) => s.vip !== 0 && s.vip === key.dst);
  const proto = v6 && key.proto === 58 ? 1 : key.proto;
  return (
    of.find((s) => s.proto === proto && s.port !== 0 && s.port === key.dport) ??
    of.find((s) => s.proto === proto && s.port === 0) ??
    of.find((s) => s.proto === 0 && s.port === 0)
  );
}

export interface RefBackend {
  /** The MAC in use: configured, else observed; undefined while unknown. */
  mac?: string;
  /** In the Maglev table. */
  serving: boolean;
  /** Its sessions stay valid. */
  live: boolean;
  weight: number;
}

/** What a backend's configuration and observation make of it. */
export function referenceBackend(
  b: BackendConfig,
  poolCheck: HealthCheckConfig | undefined,
  seen: BackendObservation | undefined,
): RefBackend {
  const mac = b.mac ?? seen?.mac;
  const checked = (b.healthcheck?.type ?? poolCheck?.type ?? 'NONE') !== 'NONE';
  const health = checked ? (seen?.health ?? 'UNKNOWN') : 'UP';
  const move = (b.healthcheck?.on_down ?? poolCheck?.on_down) === 'MOVE';
  const state = b.state ?? 'ACTIVE';
  const weight = b.weight ?? 100;
  return {
    ...(mac === undefined ? {} : { mac }),
    weight,
    serving: mac !== undefined && state === 'ACTIVE' && weight > 0 && health !== 'DOWN',
    live: mac !== undefined && state !== 'DISABLED' && !(health === 'DOWN' && move),
  };
}

// -------------------------------------------------------------------------------------------------
// Frontend modes (docs/semantics.md, "Frontend modes", and rules 1a to 8 of a FRONTEND frame), from the
// document: which flags a configuration gives, and what the early rules make of a frame under them.
// Reads the frame's bytes directly (no product parser).

/** The three flags as the document states them. */
export interface RefModes {
  noArp: boolean;
  hostPass: boolean;
  oneArm: boolean;
}

/** mode ROUTED or standby: no ARP; host_pass defaults to true with ROUTED; one-arm comes from the ports. */
export function referenceModes(
  c: { mode?: string; standby?: boolean; host_pass?: boolean },
  oneArm: boolean,
): RefModes {
  const routed = c.mode === 'ROUTED';
  return { noArp: routed || c.standby === true, hostPass: c.host_pass ?? routed, oneArm };
}

/** What rules 1a..8 decide for a FRONTEND frame; `IPV4`: a frame for a VIP at its MAC (rule 9 on). */
export type RefFrontend =
  | { kind: 'PASS'; counter: 'BACKEND_PASS' }
  | { kind: 'PASS'; counter: 'FRONTEND_PASS'; reason: string }
  | { kind: 'DROP'; reason: string }
  | { kind: 'ARP_REPLY' }
  | { kind: 'ND_REPLY'; out: Uint8Array }
  | { kind: 'IPV4' }
  | { kind: 'IPV6' };

const macText = (b: Uint8Array, o: number) =>
  Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

/**
 * Rules 1a to 8 (and 6'..8' for IPv6) for a FRONTEND frame. `vips`: each VIP in the data plane
 * (host-order number) with its frontend MAC (lower-case text; in ROUTED the FRONTEND interface's);
 * `vips6` the same for IPv6 VIPs (32 hex digits). `probeMac`: the instance's, if any.
 */
export function referenceFrontend(
  frame: Uint8Array,
  modes: RefModes,
  vips: ReadonlyMap<number, string>,
  probeMac?: string,
  vips6: ReadonlyMap<string, string> = new Map(),
): RefFrontend {
  const len = frame.length;
  const dst = len >= 6 ? macText(frame, 0) : '';
  if (modes.oneArm && len >= 14 && probeMac !== undefined && dst === probeMac) {
    return { kind: 'PASS', counter: 'BACKEND_PASS' };
  }
  // Rules 3, 4, 5, 6b and 7 go to the host with host_pass; every other drop stays one.
  const notForVip = (reason: string): RefFrontend =>
    modes.hostPass ? { kind: 'PASS', counter: 'FRONTEND_PASS', reason } : { kind: 'DROP', reason };
  if (len < 14) return { kind: 'DROP', reason: 'TRUNCATED' };
  const type = u16(frame, 12);
  if (type === 0x8100 || type === 0x88a8) return notForVip('VLAN');
  if (type === 0x0806) {
    if (len < 42) return notForVip('ARP');
    const request =
      u16(frame, 14) === 1 &&
      u16(frame, 16) === 0x0800 &&
      frame[18] === 6 &&
      frame[19] === 4 &&
      u16(frame, 20) === 1;
    const mac = vips.get(u32(frame, 38));
    if (!request || mac === undefined) return notForVip('ARP');
    if (dst !== 'ff:ff:ff:ff:ff:ff' && dst !== mac) return notForVip('ARP');
    if (modes.noArp) return notForVip('ARP');
    return { kind: 'ARP_REPLY' };
  }
  if (type === 0x86dd) {
    const r = referenceFrontend6(frame, modes.noArp, vips6);
    return r.kind === 'HOSTPASSABLE' ? notForVip(r.reason) : r;
  }
  if (type !== 0x0800) return notForVip('ETHERTYPE');
  if (len < 34) return { kind: 'DROP', reason: 'IP_MALFORMED' };
  const ihl = (frame[14]! & 0x0f) * 4;
  const total = u16(frame, 16);
  if (frame[14]! >> 4 !== 4 || ihl < 20 || 14 + ihl > len || total < ihl || 14 + total > len) {
    return { kind: 'DROP', reason: 'IP_MALFORMED' };
  }
  const mac = vips.get(u32(frame, 30));
  if (mac === undefined) return notForVip('NOT_VIP');
  if (dst !== mac) return { kind: 'DROP', reason: 'DST_MAC' };
  return { kind: 'IPV4' };
}

// Frames and bytes per port (docs/semantics.md, "State of one instance" and the counting lines of the
// preamble, rule 4 and rule 12), from the document.

/** What one frame adds to the per-port counters (besides RX_PACKETS/RX_BYTES, which every frame adds). */
export interface RefPortCounts {
  rxBackendPackets: number;
  rxBackendBytes: number;
  txFrontendBytes: number;
  txBackendBytes: number;
}

/**
 * A frame of `len` bytes that arrived on `port` and got `action` (a sent frame: its transmit was taken):
 * the BACKEND port's frames count apart whatever their fate; an ARP reply sent adds its bytes to the
 * FRONTEND port's tx (an ND reply its `outLen`, 86), a balanced frame sent to the BACKEND port's.
 */
export function referencePortCounts(
  port: 'FRONTEND' | 'BACKEND',
  action: string,
  len: number,
  outLen = len,
): RefPortCounts {
  const backend = port === 'BACKEND';
  return {
    rxBackendPackets: backend ? 1 : 0,
    rxBackendBytes: backend ? len : 0,
    txFrontendBytes: action === 'TX_FRONTEND' ? outLen : 0,
    txBackendBytes: action === 'TX_BACKEND' ? len : 0,
  };
}
