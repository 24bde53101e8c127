// The IPv6 half of the reference model (docs/semantics.md, "IPv6"), written from the document and
// independently of src/pipeline and src/packet: rules 6', 6b (with the Neighbor Advertisement built
// here byte by byte and its checksum summed here), 7' and 8' for a FRONTEND frame, the extension-header
// walk of 9' with the key it gives (fragments through a reference IPv6 fragment table, ICMPv6 errors
// through the quoted packet), the 10-word / 4-word hash input, and the BACKEND port's ND pass of rule 1.
// test/lib/reference.ts calls into it for EtherType 0x86dd; the corpus generator checks every IPv6
// scenario's claim against it.
import { REF_FRAG_CAPACITY, REF_FRAG_TIMEOUT_MS } from './reference.js';

/** A flow key with 16-byte addresses (as on the wire). */
export interface FlowKey6 {
  family: 6;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  proto: number;
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
/** Lower-case hex of bytes [o, o+n). */
export const hex = (b: Uint8Array, o = 0, n = b.length - o) =>
  Array.from(b.subarray(o, o + n), (x) => x.toString(16).padStart(2, '0')).join('');
const macText = (b: Uint8Array, o: number) =>
  Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

/** The 4 big-endian words of the 16 address bytes at `o`. */
export function addrWords(b: Uint8Array, o = 0): number[] {
  return [u32(b, o), u32(b, o + 4), u32(b, o + 8), u32(b, o + 12)];
}

/** docs/semantics.md "Hashing of IPv6 keys": the jhash2 input words of a key under an algorithm. */
export function hashWords6(k: FlowKey6, algorithm: string): number[] {
  if (algorithm === 'HASH_SRC_IP') return addrWords(k.src);
  return [...addrWords(k.src), ...addrWords(k.dst), ((k.sport << 16) | k.dport) >>> 0, k.proto];
}

/** RFC 4443 2.3: the 16-bit one's-complement sum of the pseudo-header and `n` ICMPv6 bytes at `o`. */
function icmp6Sum(f: Uint8Array, src: number, dst: number, o: number, n: number): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) s += u16(f, src + i) + u16(f, dst + i);
  s += (n >>> 16) + (n & 0xffff) + 58;
  for (let i = 0; i < n; i += 2) s += (f[o + i]! << 8) | (i + 1 < n ? f[o + i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The Neighbor Advertisement of rule 6b answering solicitation `ns` for its target with `mac`: 86 bytes
 * written field by field from the document.
 */
export function referenceNa(ns: Uint8Array, mac: string): Uint8Array {
  const m = mac.split(':').map((x) => Number.parseInt(x, 16));
  const out = new Uint8Array(86);
  out.set(ns.subarray(6, 12), 0);
  out.set(m, 6);
  out.set([0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255], 12);
  out.set(ns.subarray(62, 78), 22); // source = the target (the VIP)
  out.set(ns.subarray(22, 38), 38); // destination = the solicitation's source
  out.set([136, 0, 0, 0, 0x60, 0, 0, 0], 54);
  out.set(ns.subarray(62, 78), 62);
  out.set([2, 1, ...m], 78);
  const c = ~icmp6Sum(out, 22, 38, 54, 32) & 0xffff;
  out[56] = c >>> 8;
  out[57] = c & 0xff;
  return out;
}

export type Ref6Frontend =
  | { kind: 'DROP'; reason: string }
  | { kind: 'HOSTPASSABLE'; reason: 'ND' | 'NOT_VIP' }
  | { kind: 'ND_REPLY'; out: Uint8Array }
  | { kind: 'IPV6' };

/**
 * Rules 6', 6b, 7', 8' for an IPv6 FRONTEND frame. `vips6`: the IPv6 VIPs in the data plane (32 hex
 * digits) with their frontend MACs (lower-case text). HOSTPASSABLE: a drop host_pass turns into a pass.
 */
export function referenceFrontend6(
  f: Uint8Array,
  noArp: boolean,
  vips6: ReadonlyMap<string, string>,
): Ref6Frontend {
  const len = f.length;
  if (len < 54 || f[14]! >> 4 !== 6 || 54 + u16(f, 18) > len) return { kind: 'DROP', reason: 'IP_MALFORMED' };
  const plen = u16(f, 18);
  const ethDst = macText(f, 0);
  if (f[20] === 58 && plen >= 1 && f[54]! >= 133 && f[54]! <= 137) {
    const nd = { kind: 'HOSTPASSABLE', reason: 'ND' } as const;
    if (f[54] !== 135) return nd;
    if (f[21] !== 255 || f[55] !== 0 || plen < 24 || plen > 128 || plen % 8 !== 0) return nd;
    if (icmp6Sum(f, 22, 38, 54, plen) !== 0xffff) return nd;
    if (f.subarray(22, 38).every((x) => x === 0)) return nd;
    const target = hex(f, 62, 16);
    const mac = vips6.get(target);
    if (mac === undefined) return nd;
    const dst = hex(f, 38, 16);
    if (dst !== target && dst !== `ff0200000000000000000001ff${target.slice(26)}`) return nd;
    if (ethDst !== mac && ethDst !== `33:33:${macText(f, 48).slice(6)}`) return nd;
    if (noArp) return nd;
    return { kind: 'ND_REPLY', out: referenceNa(f, mac) };
  }
  const mac = vips6.get(hex(f, 38, 16));
  if (mac === undefined) return { kind: 'HOSTPASSABLE', reason: 'NOT_VIP' };
  if (ethDst !== mac) return { kind: 'DROP', reason: 'DST_MAC' };
  return { kind: 'IPV6' };
}

/** Rule 1's IPv6 part: a BACKEND port frame that is an ND message (passed like ARP). */
export function isBackendNd(f: Uint8Array): boolean {
  return f.length >= 55 && u16(f, 12) === 0x86dd && f[20] === 58 && f[54]! >= 133 && f[54]! <= 137;
}

interface Walk {
  nh: number;
  off: number;
  /** Set for a fragment (offset != 0 or M): its offset, M and identification. */
  frag?: { offset: number; m: boolean; id: number };
}

/**
 * The walk of 9' from `off` with next header `nh`, bounded by `end`; undefined when the chain is too
 * long or cut. `quoted`: the walk of an ICMPv6 error's quoted packet, which stops at any fragment header.
 */
export function walk6(f: Uint8Array, off: number, nh: number, end: number, quoted = false): Walk | undefined {
  let count = 0;
  let sawFrag = false;
  let frag: Walk['frag'];
  while (nh === 0 || nh === 43 || nh === 60 || nh === 44) {
    if (++count > 8 || off + 8 > end) return undefined;
    if (nh === 44) {
      if (sawFrag) return undefined;
      sawFrag = true;
      const offset = u16(f, off + 2) >> 3;
      const m = (f[off + 3]! & 1) === 1;
      if (offset !== 0 || m) frag = { offset, m, id: u32(f, off + 4) };
      nh = f[off]!;
      off += 8;
      // A later fragment has no transport header; a quoted packet's walk stops at any fragment.
      if (frag && (frag.offset !== 0 || quoted)) return { nh, off, frag };
      continue;
    }
    const hl = (f[off + 1]! + 1) * 8;
    if (off + hl > end) return undefined;
    nh = f[off]!;
    off += hl;
  }
  return frag ? { nh, off, frag } : { nh, off };
}

/** What 9' makes of an IPv6 frame that passed rules 6'..8'. */
export type Ref6Decision =
  | { drop: string }
  | {
      key: FlowKey6;
      /** An ICMPv6 error: read-only. */
      readOnly: boolean;
      /** A TCP segment without SYN, or any TCP fragment ("Session floods"). */
      tcpNonSyn: boolean;
      /** A later TCP/UDP fragment's table lookup (HIT/MISS); NONE otherwise. */
      frag: 'HIT' | 'MISS' | 'NONE';
      /** A TCP/UDP first fragment with its ports: what it writes into the table once balanced. */
      learn?: { id: string; sport: number; dport: number };
    };

const isL4 = (p: number) => p === 6 || p === 17 || p === 58;

/** The IPv6 fragment table as the document states it (write order = eviction order). */
export class ReferenceFragments6 {
  private readonly entries = new Map<string, { sport: number; dport: number; firstSeen: number }>();
  constructor(
    readonly capacity = REF_FRAG_CAPACITY,
    readonly timeoutMs = REF_FRAG_TIMEOUT_MS,
  ) {}

  lookup(id: string, nowMs: number): { sport: number; dport: number } | undefined {
    const e = this.entries.get(id);
    return e && nowMs - e.firstSeen <= this.timeoutMs ? e : undefined;
  }

  learn(l: { id: string; sport: number; dport: number }, nowMs: number): void {
    this.entries.delete(l.id);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(l.id, { sport: l.sport, dport: l.dport, firstSeen: nowMs });
  }
}

/** Rule 9' (and the key of an ICMPv6 error) for a frame that passed rules 6'..8'. */
export function referenceDecide6(f: Uint8Array, frags: ReferenceFragments6, nowMs: number): Ref6Decision {
  const end = 54 + u16(f, 18);
  const w = walk6(f, 54, f[20]!, end);
  if (!w) return { drop: 'IPV6_EXT' };
  const proto = w.nh;
  if (!isL4(proto)) return { drop: 'PROTO' };
  const src = f.slice(22, 38);
  const dst = f.slice(38, 54);
  const l4 = w.off;
  const l4len = end - l4;
  const key: FlowKey6 = { family: 6, src, dst, sport: 0, dport: 0, proto };
  const base = { readOnly: false, tcpNonSyn: proto === 6 && w.frag !== undefined, frag: 'NONE' as const };
  if (w.frag) {
    if (proto === 58) return { ...base, key };
    const id = `${hex(src)}/${hex(dst)}/${proto}/${w.frag.id}`;
    if (w.frag.offset === 0) {
      if (l4len < 4) return { ...base, key };
      const ports = { sport: u16(f, l4), dport: u16(f, l4 + 2) };
      return { ...base, key: { ...key, ...ports }, learn: { id, ...ports } };
    }
    const e = frags.lookup(id, nowMs);
    if (e) return { ...base, key: { ...key, sport: e.sport, dport: e.dport }, frag: 'HIT' };
    return { ...base, key, frag: 'MISS' };
  }
  if (proto === 6 || proto === 17) {
    if (l4len < (proto === 6 ? 20 : 8)) return { drop: 'L4_TRUNCATED' };
    const k = { ...key, sport: u16(f, l4), dport: u16(f, l4 + 2) };
    return { ...base, key: k, tcpNonSyn: proto === 6 && (f[l4 + 13]! & 0x02) === 0 };
  }
  if (l4len < 8) return { drop: 'L4_TRUNCATED' };
  const type = f[l4]!;
  if (type === 128 || type === 129) return { ...base, key };
  if (type < 1 || type > 4) return { drop: 'ICMP_TYPE' };
  const inner = quotedKey6(f, l4 + 8, end);
  return 'drop' in inner ? inner : { ...base, key: inner, readOnly: true };
}

/** The key of the flow an ICMPv6 error quotes (its IPv6 header at `q`), reversed; or ICMP_INNER. */
function quotedKey6(f: Uint8Array, q: number, end: number): FlowKey6 | { drop: string } {
  const bad = { drop: 'ICMP_INNER' };
  if (q + 40 > end || f[q]! >> 4 !== 6) return bad;
  if (hex(f, q + 8, 16) !== hex(f, 38, 16)) return bad;
  const w = walk6(f, q + 40, f[q + 6]!, end, true);
  if (!w) return bad;
  const key: FlowKey6 = {
    family: 6,
    src: f.slice(q + 24, q + 40),
    dst: f.slice(q + 8, q + 24),
    sport: 0,
    dport: 0,
    proto: w.nh,
  };
  if (!isL4(w.nh)) return bad;
  if (w.frag) return key;
  if (end - w.off < 8) return bad;
  if (w.nh === 58) return f[w.off] === 128 || f[w.off] === 129 ? key : bad;
  return { ...key, sport: u16(f, w.off + 2), dport: u16(f, w.off) };
}
