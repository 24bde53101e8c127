// The per-frame view of the services: VIP -> its group (frontend MAC, and its services by protocol and
// port), and the service match of docs/semantics.md ("Services"): VIP+protocol+port, then VIP+protocol,
// then VIP alone. Rebuilt by the control state on commit; read per frame without allocating: the VIPs
// sit in an open-addressing table of int32 (a Map keyed by a uint32 above 2^30 would box the number on
// every lookup), ports in a Map keyed by small integers. Pure: no I/O.
import { MAX_SERVICES, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../core/constants.js';
import type { ServiceEntry } from './plan.js';

/** What the match needs of a service (the control state's ServiceState). */
export interface VipMember extends ServiceEntry {
  table: Uint32Array;
}

export interface VipGroup<S extends VipMember> {
  vip: number;
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

function protoSlot(proto: number): number {
  return proto === PROTO_TCP ? 0 : proto === PROTO_UDP ? 1 : proto === PROTO_ICMP ? 2 : -1;
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
        g = { vip: s.vip, mac: s.mac, any: null, byProto: [null, null, null], ports: new Map() };
        byVip.set(s.vip, g);
        this.insert(s.vip | 0, this.groups.push(g));
      }
      if (s.proto === 0) g.any = s;
      else if (s.port === 0) g.byProto[protoSlot(s.proto)] = s;
      else g.ports.set((s.proto << 16) | s.port, s);
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
