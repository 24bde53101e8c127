// IPv6 frame builders for tests, vectors, benchmarks and the explain request: the IPv6 header,
// extension headers (hop-by-hop, routing, destination options, fragment) chained in order, TCP/UDP/
// ICMPv6 with their checksums over the IPv6 pseudo-header (RFC 8200 8.1), ICMPv6 echo and errors
// quoting a packet, and Neighbor Discovery (RFC 4861): solicitations, advertisements and the
// unsolicited advertisement the planes announce an IPv6 VIP with (docs/semantics.md "IPv6", 6b).
// The sibling of build.ts (whose Ethernet, TCP and UDP helpers it reuses); each builder returns a
// fresh Uint8Array and every field a malformed-input test may want to break can be overridden.

import { multicastMacOf, parseIpv6, parseMac, solicitedNodeOf } from '../core/addr.js';
import { LbdsrError } from '../core/errors.js';
import {
  ethernet,
  inetChecksum,
  type MacInput,
  put16,
  put32,
  type TcpOptions,
  tcp,
  type UdpOptions,
  udp,
} from './build.js';

export const ETH_P_IPV6 = 0x86dd;
export const IPV6_HLEN = 40;

export const NH_HOPOPTS = 0;
export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DSTOPTS = 60;

export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

/** Neighbor Advertisement flags byte: Router, Solicited, Override (RFC 4861 4.4). */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;

export const ALL_NODES_MAC = '33:33:00:00:00:01';
export const ALL_NODES = 'ff02::1';

export type Ipv6Input = string | Uint8Array;

/** The 16 bytes of an address given as text or bytes (bytes are copied). */
export function ip6(a: Ipv6Input): Uint8Array {
  if (typeof a === 'string') return parseIpv6(a);
  if (a.length !== 16)
    throw new LbdsrError('LBDSR_BAD_IPV6', `an IPv6 address has 16 bytes, got ${a.length}`);
  return a.slice();
}

function mac6(m: MacInput): Uint8Array {
  return typeof m === 'string' ? parseMac(m) : m;
}

/** The 32-bit one's-complement sum of the IPv6 pseudo-header (src, dst, 32-bit length, next header). */
function pseudoSum6(src: Uint8Array, dst: Uint8Array, nh: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  return sum + (len >>> 16) + (len & 0xffff) + nh;
}

/**
 * The upper-layer checksum of `segment` (its checksum field as given: zero it first) over the IPv6
 * pseudo-header of `src`, `dst`, the segment's length and next header `nh` (RFC 8200 8.1).
 */
export function l4Checksum6(src: Ipv6Input, dst: Ipv6Input, nh: number, segment: Uint8Array): number {
  return inetChecksum(segment, 0, segment.length, pseudoSum6(ip6(src), ip6(dst), nh, segment.length));
}

/** The ICMPv6 checksum of `payload` (the whole ICMPv6 message, checksum field as given: zero it first). */
export function icmpv6Checksum(src: Ipv6Input, dst: Ipv6Input, payload: Uint8Array): number {
  return l4Checksum6(src, dst, NH_ICMPV6, payload);
}

// ---------------------------------------------------------------------------------------------
// IPv6 header and extension headers

export interface Ipv6Options {
  src: Ipv6Input;
  dst: Ipv6Input;
  /** Next header of the fixed header (the first extension header's kind, or the transport). */
  nextHeader: number;
  /** Everything after the fixed header (extension headers and transport). */
  payload?: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Overrides for malformed headers. */
  version?: number;
  payloadLength?: number;
}

/** The 40-byte IPv6 header followed by `payload`. */
export function ipv6(o: Ipv6Options): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(IPV6_HLEN + payload.length);
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  put32(out, 0, (((o.version ?? 6) & 0xf) << 28) | ((tc & 0xff) << 20) | (fl & 0xfffff));
  put16(out, 4, o.payloadLength ?? payload.length);
  out[6] = o.nextHeader;
  out[7] = o.hopLimit ?? 64;
  out.set(ip6(o.src), 8);
  out.set(ip6(o.dst), 24);
  out.set(payload, IPV6_HLEN);
  return out;
}

/** One extension header of a chain; its next-header byte is filled in by `extChain`. */
export type ExtHeader =
  | {
      /** Hop-by-hop options (0), routing (43) or destination options (60). */
      kind: typeof NH_HOPOPTS | typeof NH_ROUTING | typeof NH_DSTOPTS;
      /** Total length in bytes, a multiple of 8, at least 8 (default 8). */
      len?: number;
      /** Overrides the Hdr Ext Len byte (length in 8-byte units minus 1), e.g. to claim more than is there. */
      hdrExtLen?: number;
    }
  | {
      kind: typeof NH_FRAGMENT;
      /** Fragment offset in 8-byte units. */
      offset?: number;
      /** More-fragments flag. */
      m?: boolean;
      /** 32-bit identification. */
      id?: number;
    };

/** The bytes of one extension header whose next header is `next`. */
export function extHeader(h: ExtHeader, next: number): Uint8Array {
  if (h.kind === NH_FRAGMENT) {
    const out = new Uint8Array(8);
    out[0] = next;
    put16(out, 2, (((h.offset ?? 0) & 0x1fff) << 3) | (h.m ? 1 : 0));
    put32(out, 4, (h.id ?? 0x12345678) >>> 0);
    return out;
  }
  const len = h.len ?? 8;
  if (len < 8 || len % 8 !== 0 || len > 2048) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `an extension header is 8..2048 bytes in steps of 8, got ${len}`);
  }
  const out = new Uint8Array(len);
  out[0] = next;
  out[1] = h.hdrExtLen ?? len / 8 - 1;
  if (h.kind === NH_ROUTING) {
    // Routing type 253 (RFC 4727 experiment) with Segments Left 0: every node ignores it and the
    // destination stays the final one (the transport checksum uses it as is).
    out[2] = 253;
    out[3] = 0;
  } else {
    // Options: a PadN option (type 1) over the rest of the header (RFC 8200 4.2).
    out[2] = 1;
    out[3] = len - 4;
  }
  return out;
}

/** The chain `headers` ending in `proto`: the fixed header's next header and the bytes. */
export function extChain(headers: readonly ExtHeader[], proto: number): { first: number; bytes: Uint8Array } {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < headers.length; i++) {
    const next = i + 1 < headers.length ? headers[i + 1]!.kind : proto;
    parts.push(extHeader(headers[i]!, next));
  }
  const n = parts.reduce((s, p) => s + p.length, 0);
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { first: headers.length > 0 ? headers[0]!.kind : proto, bytes };
}

// ---------------------------------------------------------------------------------------------
// Packets (IPv6 header + chain + transport)

export interface Addr6 {
  src: Ipv6Input;
  dst: Ipv6Input;
}

/** What a packet builder may add or break besides the transport: the chain and the fixed header's fields. */
export interface Ipv6Extra extends Partial<Omit<Ipv6Options, 'src' | 'dst' | 'payload' | 'nextHeader'>> {
  /** Extension headers between the fixed header and the transport, in order. */
  exts?: readonly ExtHeader[];
  /** Overrides the fixed header's next header (the chain's first kind otherwise). */
  nextHeader?: number;
  /** Cut the packet to this many bytes after building (payload length left as built unless given). */
  truncateTo?: number;
}

/** An IPv6 packet carrying `l4` (already checksummed) as protocol `proto` behind `extra.exts`. */
export function ipv6Packet(a: Addr6, proto: number, l4: Uint8Array, extra: Ipv6Extra = {}): Uint8Array {
  const { exts, nextHeader, truncateTo, ...hdr } = extra;
  const chain = extChain(exts ?? [], proto);
  const payload = new Uint8Array(chain.bytes.length + l4.length);
  payload.set(chain.bytes, 0);
  payload.set(l4, chain.bytes.length);
  const p = ipv6({ ...hdr, src: a.src, dst: a.dst, nextHeader: nextHeader ?? chain.first, payload });
  return truncateTo === undefined ? p : p.slice(0, truncateTo);
}

/** A TCP segment with its IPv6 checksum. */
export function tcp6(a: Addr6, t: Omit<TcpOptions, 'pseudo'>): Uint8Array {
  const seg = tcp(t);
  put16(seg, 16, l4Checksum6(a.src, a.dst, NH_TCP, seg));
  return seg;
}

/** A UDP datagram with its IPv6 checksum (mandatory in IPv6; 0 is sent as 0xffff). */
export function udp6(a: Addr6, u: Omit<UdpOptions, 'pseudo'>): Uint8Array {
  const seg = udp(u);
  const c = l4Checksum6(a.src, a.dst, NH_UDP, seg);
  put16(seg, 6, c === 0 ? 0xffff : c);
  return seg;
}

export interface Icmp6Options {
  type: number;
  code?: number;
  /** The 4 bytes after type, code and checksum (echo: id and seq; PTB: MTU; parameter problem: pointer). */
  word?: number;
  /** Everything after the 8-byte header. */
  body?: Uint8Array;
  /** Checksum: computed unless given. */
  checksum?: number;
}

/** An ICMPv6 message with its checksum over the pseudo-header of `a`. */
export function icmp6(a: Addr6, o: Icmp6Options): Uint8Array {
  const body = o.body ?? new Uint8Array(0);
  const out = new Uint8Array(8 + body.length);
  out[0] = o.type;
  out[1] = o.code ?? 0;
  put32(out, 4, (o.word ?? 0) >>> 0);
  out.set(body, 8);
  put16(out, 2, o.checksum ?? icmpv6Checksum(a.src, a.dst, out));
  return out;
}

export interface Icmp6EchoOptions {
  /** 128 (request, default) or 129 (reply). */
  type?: number;
  code?: number;
  id?: number;
  seq?: number;
  payload?: Uint8Array;
}

export function icmp6Echo(a: Addr6, e: Icmp6EchoOptions = {}): Uint8Array {
  const word = (((e.id ?? 0x4242) & 0xffff) << 16) | ((e.seq ?? 1) & 0xffff);
  return icmp6(a, { type: e.type ?? ICMP6_ECHO_REQUEST, code: e.code ?? 0, word, body: e.payload });
}

export interface Icmp6ErrorOptions {
  /** 1 destination unreachable, 2 packet too big, 3 time exceeded, 4 parameter problem. */
  type: number;
  code?: number;
  /** Packet Too Big: the MTU (default 1280). */
  mtu?: number;
  /** Parameter problem: the pointer. */
  pointer?: number;
  /** The quoted packet (an IPv6 header, its chain and as much of the rest as fits). */
  inner: Uint8Array;
}

export function icmp6Error(a: Addr6, e: Icmp6ErrorOptions): Uint8Array {
  const word =
    e.type === ICMP6_PACKET_TOO_BIG ? (e.mtu ?? 1280) : e.type === ICMP6_PARAM_PROBLEM ? (e.pointer ?? 0) : 0;
  return icmp6(a, { type: e.type, code: e.code ?? 0, word, body: e.inner });
}

/** What an ICMPv6 error quotes: the first `bytes` of `packet` (RFC 4443: as much as fits in 1280). */
export function quote6(packet: Uint8Array, bytes = 1232): Uint8Array {
  return packet.slice(0, Math.min(packet.length, bytes));
}

// ---------------------------------------------------------------------------------------------
// Whole frames

export interface Frame6Addressing extends Addr6 {
  ethDst: MacInput;
  ethSrc: MacInput;
}

/** Ethernet + IPv6 (+ chain) + the given transport bytes; `padding` zero bytes after the packet. */
export function ipv6Frame(
  a: Frame6Addressing,
  proto: number,
  l4: Uint8Array,
  extra: Ipv6Extra = {},
  padding = 0,
): Uint8Array {
  return ethernet({
    dst: a.ethDst,
    src: a.ethSrc,
    type: ETH_P_IPV6,
    payload: ipv6Packet(a, proto, l4, extra),
    padding,
  });
}

export function tcp6Frame(
  a: Frame6Addressing,
  t: Omit<TcpOptions, 'pseudo'>,
  extra: Ipv6Extra = {},
): Uint8Array {
  return ipv6Frame(a, NH_TCP, tcp6(a, t), extra);
}

export function udp6Frame(
  a: Frame6Addressing,
  u: Omit<UdpOptions, 'pseudo'>,
  extra: Ipv6Extra = {},
): Uint8Array {
  return ipv6Frame(a, NH_UDP, udp6(a, u), extra);
}

export function icmp6EchoFrame(
  a: Frame6Addressing,
  e: Icmp6EchoOptions = {},
  extra: Ipv6Extra = {},
): Uint8Array {
  return ipv6Frame(a, NH_ICMPV6, icmp6Echo(a, e), extra);
}

export function icmp6ErrorFrame(
  a: Frame6Addressing,
  e: Icmp6ErrorOptions,
  extra: Ipv6Extra = {},
): Uint8Array {
  return ipv6Frame(a, NH_ICMPV6, icmp6Error(a, e), extra);
}

/** Any ICMPv6 message in a frame (router solicitations, redirects, MLD, odd types). */
export function icmp6Frame(a: Frame6Addressing, o: Icmp6Options, extra: Ipv6Extra = {}): Uint8Array {
  return ipv6Frame(a, NH_ICMPV6, icmp6(a, o), extra);
}

// ---------------------------------------------------------------------------------------------
// Neighbor Discovery

/** A link-layer address option (RFC 4861 4.6.1): type 1 source, 2 target; 8 bytes. */
export function lladdrOption(type: number, mac: MacInput): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = type;
  out[1] = 1;
  out.set(mac6(mac), 2);
  return out;
}

export interface NsOptions {
  srcMac: MacInput;
  /** Ethernet destination; default the multicast MAC of the IPv6 destination. */
  dstMac?: MacInput;
  /** IPv6 source ('::' for duplicate address detection). */
  src: Ipv6Input;
  /** The address whose link-layer address is asked for. */
  target: Ipv6Input;
  /** IPv6 destination; default the target's solicited-node multicast address. */
  dst?: Ipv6Input;
  /** Default 255 (anything else is invalid: RFC 4861 7.1.1). */
  hopLimit?: number;
  /** Include the source link-layer address option (srcMac); default true. */
  sllao?: boolean;
  /** Overrides for malformed messages. */
  code?: number;
  checksum?: number;
  /** Options appended after the SLLAO (raw bytes). */
  moreOptions?: Uint8Array;
  extra?: Ipv6Extra;
}

/** A Neighbor Solicitation frame: 86 bytes with the SLLAO, 78 without. */
export function nsFrame(o: NsOptions): Uint8Array {
  const target = ip6(o.target);
  const dst = o.dst === undefined ? solicitedNodeOf(target) : ip6(o.dst);
  const opts = o.sllao === false ? new Uint8Array(0) : lladdrOption(1, o.srcMac);
  const more = o.moreOptions ?? new Uint8Array(0);
  const body = new Uint8Array(16 + opts.length + more.length);
  body.set(target, 0);
  body.set(opts, 16);
  body.set(more, 16 + opts.length);
  const a = { src: o.src, dst };
  const msg = icmp6(a, { type: ND_NEIGHBOR_SOLICIT, code: o.code ?? 0, body, checksum: o.checksum });
  return ipv6Frame({ ...a, ethSrc: o.srcMac, ethDst: o.dstMac ?? multicastMacOf(dst) }, NH_ICMPV6, msg, {
    hopLimit: o.hopLimit ?? 255,
    ...o.extra,
  });
}

export interface NaOptions {
  srcMac: MacInput;
  dstMac: MacInput;
  src: Ipv6Input;
  dst: Ipv6Input;
  target: Ipv6Input;
  /** Flags byte: NA_FLAG_* (0x60 solicited + override). */
  flags: number;
  /** The target link-layer address option's MAC; omitted: no option (78 bytes). */
  tllaoMac?: MacInput;
  hopLimit?: number;
}

/** A Neighbor Advertisement frame: 86 bytes with the TLLA option. */
export function naFrame(o: NaOptions): Uint8Array {
  const target = ip6(o.target);
  const opt = o.tllaoMac === undefined ? new Uint8Array(0) : lladdrOption(2, o.tllaoMac);
  const body = new Uint8Array(16 + opt.length);
  body.set(target, 0);
  body.set(opt, 16);
  const a = { src: o.src, dst: o.dst };
  const msg = icmp6(a, { type: ND_NEIGHBOR_ADVERT, word: ((o.flags & 0xff) << 24) >>> 0, body });
  return ipv6Frame({ ...a, ethSrc: o.srcMac, ethDst: o.dstMac }, NH_ICMPV6, msg, {
    hopLimit: o.hopLimit ?? 255,
  });
}

/**
 * The unsolicited Neighbor Advertisement an IPv6 VIP is announced with (docs/semantics.md 6b): 86
 * bytes from `mac` to all nodes (33:33:00:00:00:01, ff02::1), source and target the VIP, Override
 * only (0x20), the target link-layer address option `mac`, hop limit 255.
 */
export function unsolicitedNaFrame(mac: MacInput, vip6: Ipv6Input): Uint8Array {
  return naFrame({
    srcMac: mac,
    dstMac: ALL_NODES_MAC,
    src: vip6,
    dst: ALL_NODES,
    target: vip6,
    flags: NA_FLAG_OVERRIDE,
    tllaoMac: mac,
  });
}
