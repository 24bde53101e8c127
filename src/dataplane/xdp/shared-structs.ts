// The structs the XDP program shares with the TypeScript side (bpf/lbdsr_shared.h, bpf/maps.h) as
// data: one table per struct, field name as in C -> byte offset and size. maps.ts reads and writes map
// entries only through these tables and the field codecs below (which take each field's width from
// the table); test/unit/btf-layout.test.ts compares every entry with the BTF of the committed
// bpf/lbdsr.bpf.o, by field name, so a table that drifts from the C structs fails a test.
import {
  CNT_MAX,
  SIZEOF_BACKEND,
  SIZEOF_BACKEND_STATS,
  SIZEOF_CONFIG,
  SIZEOF_FLOW_KEY,
  SIZEOF_FLOW_KEY6,
  SIZEOF_FRAG,
  SIZEOF_FRAG_KEY,
  SIZEOF_FRAG_KEY6,
  SIZEOF_PORT_KEY6,
  SIZEOF_SERVICE,
  SIZEOF_SESSION,
} from '../../core/constants.js';

/** Map values are in host byte order. */
export const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Where a field of a shared struct lives: byte offset and size (arrays: all their bytes). */
export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
}

/** A struct shared with the XDP program: its C name, its size and the fields the TypeScript side uses. */
export interface StructLayout {
  readonly struct: string;
  readonly size: number;
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

const at = (offset: number, size: number): FieldLayout => ({ offset, size });

/**
 * Every struct the TypeScript side reads or writes in a map, field names as in C. The codecs below
 * take offsets and widths from here only; the BTF test compares each entry with the object.
 */
export const STRUCT_LAYOUTS = {
  flowKey: {
    struct: 'lbdsr_flow_key',
    size: SIZEOF_FLOW_KEY,
    fields: { src: at(0, 4), dst: at(4, 4), sport: at(8, 2), dport: at(10, 2), proto: at(12, 1) },
  },
  flowKey6: {
    struct: 'lbdsr_flow_key6',
    size: SIZEOF_FLOW_KEY6,
    fields: { src: at(0, 16), dst: at(16, 16), sport: at(32, 2), dport: at(34, 2), proto: at(36, 1) },
  },
  session: {
    struct: 'lbdsr_session',
    size: SIZEOF_SESSION,
    fields: { backend_id: at(0, 4), slot: at(4, 4), last_seen_ns: at(8, 8) },
  },
  fragKey: {
    struct: 'lbdsr_frag_key',
    size: SIZEOF_FRAG_KEY,
    fields: { src: at(0, 4), dst: at(4, 4), id: at(8, 2), proto: at(10, 1) },
  },
  fragKey6: {
    struct: 'lbdsr_frag_key6',
    size: SIZEOF_FRAG_KEY6,
    fields: { src: at(0, 16), dst: at(16, 16), id: at(32, 4), proto: at(36, 1) },
  },
  frag: {
    struct: 'lbdsr_frag',
    size: SIZEOF_FRAG,
    fields: { first_seen_ns: at(0, 8), sport: at(8, 2), dport: at(10, 2) },
  },
  backend: {
    struct: 'lbdsr_backend',
    size: SIZEOF_BACKEND,
    fields: { mac: at(0, 6), live: at(6, 1), held: at(7, 1), id: at(8, 4), service: at(12, 4) },
  },
  backendStats: {
    struct: 'lbdsr_backend_stats',
    size: SIZEOF_BACKEND_STATS,
    fields: { packets: at(0, 8), bytes: at(8, 8), sessions: at(16, 8) },
  },
  service: {
    struct: 'lbdsr_service',
    size: SIZEOF_SERVICE,
    fields: {
      vip: at(0, 4),
      port: at(4, 2),
      proto: at(6, 1),
      algorithm: at(7, 1),
      mac: at(8, 6),
      backends: at(16, 4),
      vip6: at(20, 16),
    },
  },
  vip: {
    struct: 'lbdsr_vip',
    size: 16,
    fields: {
      mac: at(0, 6),
      port_protos: at(6, 1),
      svc_tcp: at(8, 2),
      svc_udp: at(10, 2),
      svc_icmp: at(12, 2),
    },
  },
  portKey: {
    struct: 'lbdsr_port_key',
    size: 8,
    fields: { vip: at(0, 4), port: at(4, 2), proto: at(6, 1) },
  },
  portKey6: {
    struct: 'lbdsr_port_key6',
    size: SIZEOF_PORT_KEY6,
    fields: { vip: at(0, 16), port: at(16, 2), proto: at(18, 1) },
  },
  config: {
    struct: 'lbdsr_config',
    size: SIZEOF_CONFIG,
    fields: {
      backend_port_mac: at(0, 6),
      ready: at(6, 1),
      record_non_syn: at(7, 1),
      backend_ifindex: at(8, 4),
      probe_mac: at(12, 6),
      probe_set: at(18, 1),
      flags: at(19, 1),
      timeout_tcp_ns: at(24, 8),
      timeout_udp_ns: at(32, 8),
      timeout_icmp_ns: at(40, 8),
      test_clock_ns: at(48, 8),
    },
  },
  counters: { struct: 'lbdsr_counters', size: CNT_MAX * 8, fields: { v: at(0, CNT_MAX * 8) } },
  /** The trace of lbdsr_explain (bpf/explain.h; src/dataplane/xdp/explain.ts). */
  explain: {
    struct: 'lbdsr_explain',
    size: 56,
    fields: {
      port: at(0, 4),
      reason: at(4, 4),
      action: at(8, 4),
      service: at(12, 4),
      session: at(16, 4),
      entry: at(20, 4),
      session_id: at(24, 4),
      session_slot: at(28, 4),
      hash: at(32, 4),
      index: at(36, 4),
      slot: at(40, 4),
      backend_id: at(44, 4),
      age_ns: at(48, 8),
    },
  },
} as const satisfies Record<string, StructLayout>;

// Field codecs: the width comes from the layout table, so code and table cannot disagree on it.
// `be`: the field holds network byte order (addresses).
export function setNum(dv: DataView, base: number, f: FieldLayout, v: number, be = false): void {
  const o = base + f.offset;
  if (f.size === 1) dv.setUint8(o, v);
  else if (f.size === 2) dv.setUint16(o, v, !be && LE);
  else if (f.size === 4) dv.setUint32(o, v, !be && LE);
  else if (f.size === 8) dv.setBigUint64(o, BigInt(v), LE);
  else throw new RangeError(`no number codec for a ${f.size}-byte field`);
}

export function getNum(dv: DataView, base: number, f: FieldLayout, be = false): number {
  const o = base + f.offset;
  if (f.size === 1) return dv.getUint8(o);
  if (f.size === 2) return dv.getUint16(o, !be && LE);
  if (f.size === 4) return dv.getUint32(o, !be && LE);
  if (f.size === 8) return Number(dv.getBigUint64(o, LE));
  throw new RangeError(`no number codec for a ${f.size}-byte field`);
}

export function setU64(dv: DataView, base: number, f: FieldLayout, v: bigint): void {
  if (f.size !== 8) throw new RangeError(`a ${f.size}-byte field cannot hold a u64`);
  dv.setBigUint64(base + f.offset, v, LE);
}

export function getU64(dv: DataView, base: number, f: FieldLayout): bigint {
  if (f.size !== 8) throw new RangeError(`a ${f.size}-byte field cannot hold a u64`);
  return dv.getBigUint64(base + f.offset, LE);
}

export function setBytes(u8: Uint8Array, base: number, f: FieldLayout, bytes: Uint8Array): void {
  if (bytes.length > f.size) throw new RangeError(`${bytes.length} bytes do not fit a ${f.size}-byte field`);
  u8.set(bytes, base + f.offset);
}

export function getBytes(u8: Uint8Array, base: number, f: FieldLayout): Uint8Array {
  return u8.slice(base + f.offset, base + f.offset + f.size);
}
