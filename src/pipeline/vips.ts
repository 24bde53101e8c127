// The per-frame view of the services: VIP -> its group (frontend MAC, and its services by protocol and
// port), and the service match of docs/semantics.md ("Services"): VIP+protocol+port, then VIP+protocol,
// then VIP alone. Rebuilt by the control state on commit; read per frame without allocating: the VIPs
// sit in an open-addressing table of int32 (a Map keyed by a uint32 above 2^30 would box the number on
// every lookup), ports in a Map keyed by small integers. The IPv6 VIPs (a service's `vip` when IPv6, or
// its `vip6`) have a table of their own (Vip6Table: 16-byte keys as four int32 words, the same groups and
// match; a service with protocol ICMP matches ICMPv6 keys there). Pure: no I/O.
import { MAX_SERVICES, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../core/constants.js';
import { vip6Key } from './desired.js';
import type { ServiceEntry } from './plan.js';

/** What the match needs of a service (the control state's ServiceState). */
export interface VipMember extends ServiceEntry {
  table: Uint32Array;
}

export interface VipGroup<S extends VipMember> {
  /** The IPv4 VIP (0 in an IPv6 group). */
  vip: number;
  /** The IPv6 VIP (16 bytes) of an IPv6 group, null in an IPv4 one. */
  vip6: Uint8Array | null;
  /** The frontend MAC of the VIP's services (one per VIP). */
  mac: Uint8Array;
  /** The service without protocol, if any. */
  any: S | null;
  /** By protocol without port: [TCP, UDP, ICMP]. */
  byProto: (S | null)[];
  /** Services with a port, by proto << 16 | port. */
  ports: Map<number, S>;
}

/** Slots of the open-addressing table: a power of two, at least four times MAX_SERVICES. */
const CAPACITY = 1024;
const MASK = CAPACITY - 1;

/** ICMP (1) on an IPv4 VIP and ICMPv6 (58) on an IPv6 one share the ICMP service slot. */
function protoSlot(proto: number): number {
  return proto === PROTO_TCP
    ? 0
    : proto === PROTO_UDP
      ? 1
      : proto === PROTO_ICMP || proto === PROTO_ICMPV6
        ? 2
        : -1;
}

function newGroup<S extends VipMember>(vip: number, vip6: Uint8Array | null, mac: Uint8Array): VipGroup<S> {
  return { vip, vip6, mac, any: null, byProto: [null, null, null], ports: new Map() };
}

function addMember<S extends VipMember>(g: VipGroup<S>, s: S): void {
  if (s.proto === 0) g.any = s;
  else if (s.port === 0) g.byProto[protoSlot(s.proto)] = s;
  else g.ports.set((s.proto << 16) | s.port, s);
}

function hashOf(ip: number): number {
  return Math.imul(ip, 0x9e3779b1) >>> 22;
}

export class VipTable<S extends VipMember> {
  /** VIP as int32 per table position; the group index + 1 there (0: empty). */
  private readonly keys = new Int32Array(CAPACITY);
  private readonly at = new Int32Array(CAPACITY);
  groups: VipGroup<S>[] = [];

  /** Rebuilds the table from the services in the data plane. */
  rebuild(services: Iterable<S>): void {
    this.at.fill(0);
    this.groups = [];
    const byVip = new Map<number, VipGroup<S>>();
    for (const s of services) {
      if (s.vip === 0) continue; // IPv6 only
      let g = byVip.get(s.vip);
      if (g === undefined) {
        g = newGroup<S>(s.vip, null, s.mac);
        byVip.set(s.vip, g);
        this.insert(s.vip | 0, this.groups.push(g));
      }
      addMember(g, s);
    }
    if (this.groups.length > MAX_SERVICES) throw new Error('more VIPs than services');
  }

  private insert(ip: number, n: number): void {
    let i = hashOf(ip);
    while (this.at[i] !== 0) i = (i + 1) & MASK;
    this.keys[i] = ip;
    this.at[i] = n;
  }

  /** The group of the VIP in the 4 bytes of `frame` at `off`, or undefined. */
  groupAt(frame: Uint8Array, off: number): VipGroup<S> | undefined {
    const ip = (frame[off]! << 24) | (frame[off + 1]! << 16) | (frame[off + 2]! << 8) | frame[off + 3]!;
    let i = hashOf(ip);
    for (;;) {
      const n = this.at[i]!;
      if (n === 0) return undefined;
      if (this.keys[i] === ip) return this.groups[n - 1];
      i = (i + 1) & MASK;
    }
  }

  /** The most specific service of `g` for a key's protocol and destination port (0: none). */
  static match<S extends VipMember>(g: VipGroup<S>, proto: number, dport: number): S | null {
    if (dport !== 0 && g.ports.size !== 0) {
      const s = g.ports.get((proto << 16) | dport);
      if (s !== undefined) return s;
    }
    const p = protoSlot(proto);
    const s = p < 0 ? null : g.byProto[p]!;
    return s !== null ? s : g.any;
  }
}

/** Reads 4 bytes at `o` as an int32 (never boxed). */
function word(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/**
 * Table position of an IPv6 VIP's four words: two multiplications (the VIPs are configuration, not
 * traffic: a lookup for any address walks at most the cluster the configured VIPs make).
 */
function hash6(w0: number, w1: number, w2: number, w3: number): number {
  const h = Math.imul(w3 ^ Math.imul(w0 ^ w1 ^ w2, 0x85ebca6b), 0x9e3779b1);
  return (h ^ (h >>> 15)) & MASK;
}

/** The IPv6 VIPs: 16-byte keys (four int32 words per table position), the same groups and match. */
export class Vip6Table<S extends VipMember> {
  private readonly keys = new Int32Array(CAPACITY * 4);
  private readonly at = new Int32Array(CAPACITY);
  groups: VipGroup<S>[] = [];

  /** Rebuilds the table from the IPv6 VIPs (`vip6`) of the services in the data plane. */
  rebuild(services: Iterable<S>): void {
    this.at.fill(0);
    this.groups = [];
    const byVip = new Map<string, VipGroup<S>>();
    for (const s of services) {
      const v6 = s.vip6;
      if (v6 === null || v6 === undefined) continue;
      const id = vip6Key(v6);
      let g = byVip.get(id);
      if (g === undefined) {
        g = newGroup<S>(0, v6, s.mac);
        byVip.set(id, g);
        this.insert(v6, this.groups.push(g));
      }
      addMember(g, s);
    }
    if (this.groups.length > MAX_SERVICES) throw new Error('more VIPs than services');
  }

  private insert(v6: Uint8Array, n: number): void {
    const w0 = word(v6, 0);
    const w1 = word(v6, 4);
    const w2 = word(v6, 8);
    const w3 = word(v6, 12);
    let i = hash6(w0, w1, w2, w3);
    while (this.at[i] !== 0) i = (i + 1) & MASK;
    const k = this.keys;
    k[i * 4] = w0;
    k[i * 4 + 1] = w1;
    k[i * 4 + 2] = w2;
    k[i * 4 + 3] = w3;
    this.at[i] = n;
  }

  /** The group of the IPv6 VIP in the 16 bytes of `frame` at `off`, or undefined. */
  groupAt(frame: Uint8Array, off: number): VipGroup<S> | undefined {
    return this.find(word(frame, off), word(frame, off + 4), word(frame, off + 8), word(frame, off + 12));
  }

  /**
   * The group of the IPv6 VIP in the words `k[at..at+4)` (a flow key's destination, already loaded from
   * the frame: the address is read once per frame), or undefined.
   */
  groupOf(k: Uint32Array, at: number): VipGroup<S> | undefined {
    return this.find(k[at]! | 0, k[at + 1]! | 0, k[at + 2]! | 0, k[at + 3]! | 0);
  }

  private find(w0: number, w1: number, w2: number, w3: number): VipGroup<S> | undefined {
    const k = this.keys;
    let i = hash6(w0, w1, w2, w3);
    for (;;) {
      const n = this.at[i]!;
      if (n === 0) return undefined;
      const o = i << 2;
      if (k[o] === w0 && k[o + 1] === w1 && k[o + 2] === w2 && k[o + 3] === w3) return this.groups[n - 1];
      i = (i + 1) & MASK;
    }
  }
}
