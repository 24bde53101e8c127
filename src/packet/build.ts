// Frame builders for tests, vectors and benchmarks: Ethernet II, ARP, IPv4 (options, fragments),
// TCP, UDP and ICMP (echo, and errors quoting an inner IPv4 header); and the gratuitous ARP the
// planes announce a VIP with (src/dataplane/announce.ts). Each builder returns a fresh Uint8Array;
// nothing here runs per packet on the data path, so allocation is fine. Every field a
// malformed-input test may want to break can be overridden.

import { parseIpv4, parseMac } from '../core/addr.js';
import { LbdsrError } from '../core/errors.js';

export const ETH_HLEN = 14;
export const ETH_P_IPV4 = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;
export const ICMP_FRAG_NEEDED = 4; // code of ICMP_DEST_UNREACH

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export type MacInput = string | Uint8Array;
export type Ipv4Input = string | number;

function mac(m: MacInput): Uint8Array {
  if (typeof m === 'string') return parseMac(m);
  if (m.length !== 6) throw new LbdsrError('LBDSR_BAD_MAC', `a MAC address has 6 bytes, got ${m.length}`);
  return m;
}

function ip(a: Ipv4Input): number {
  return typeof a === 'number' ? a >>> 0 : parseIpv4(a);
}

/** Lower-case hex of bytes [off, off+len) with no separators. */
export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/** Parses hex (whitespace, ':' and '-' ignored) into bytes; throws LBDSR_BAD_VALUE when malformed. */
export function fromHex(text: string): Uint8Array {
  const s = text.replace(/[\s:-]/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `not an even-length hex string: '${text.slice(0, 40)}'`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes `v` big-endian at `off` (16 bits). */
export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

/** Writes `v` big-endian at `off` (32 bits). */
export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** Internet checksum (RFC 1071) of bytes [off, off+len), with an optional initial 32-bit sum. */
export function inetChecksum(b: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** IPv4 header checksum of the header at `off` (IHL read from the header, checksum field taken as 0). */
export function ipv4HeaderChecksum(b: Uint8Array, off = 0): number {
  const hlen = (b[off]! & 0x0f) * 4;
  const saved = (b[off + 10]! << 8) | b[off + 11]!;
  b[off + 10] = 0;
  b[off + 11] = 0;
  const c = inetChecksum(b, off, hlen);
  put16(b, off + 10, saved);
  return c;
}

function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

// ---------------------------------------------------------------------------------------------
// Ethernet

export interface EthernetOptions {
  dst: MacInput;
  src: MacInput;
  /** EtherType of the payload (after any VLAN tags). */
  type: number;
  payload?: Uint8Array;
  /** 802.1Q/802.1ad tags, outermost first: each {tpid (default 0x8100), tci}. */
  vlans?: { tpid?: number; tci: number }[];
  /** Zero bytes appended after the payload (e.g. to reach the 60-byte minimum). */
  padding?: number;
}

export function ethernet(o: EthernetOptions): Uint8Array {
  const tags = o.vlans ?? [];
  const payload = o.payload ?? new Uint8Array(0);
  const hlen = ETH_HLEN + 4 * tags.length;
  const out = new Uint8Array(hlen + payload.length + (o.padding ?? 0));
  out.set(mac(o.dst), 0);
  out.set(mac(o.src), 6);
  let p = 12;
  for (const t of tags) {
    put16(out, p, t.tpid ?? ETH_P_8021Q);
    put16(out, p + 2, t.tci);
    p += 4;
  }
  put16(out, p, o.type);
  out.set(payload, hlen);
  return out;
}

/** Pads a frame with zero bytes up to `min` bytes (60 = Ethernet minimum without FCS). */
export function padTo(frame: Uint8Array, min = 60): Uint8Array {
  if (frame.length >= min) return frame;
  const out = new Uint8Array(min);
  out.set(frame);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ARP (Ethernet/IPv4, 28 bytes)

export interface ArpOptions {
  op: number;
  senderMac: MacInput;
  senderIp: Ipv4Input;
  targetMac?: MacInput;
  targetIp: Ipv4Input;
  htype?: number;
  ptype?: number;
  hlen?: number;
  plen?: number;
}

export function arp(o: ArpOptions): Uint8Array {
  const out = new Uint8Array(28);
  put16(out, 0, o.htype ?? 1);
  put16(out, 2, o.ptype ?? ETH_P_IPV4);
  out[4] = o.hlen ?? 6;
  out[5] = o.plen ?? 4;
  put16(out, 6, o.op);
  out.set(mac(o.senderMac), 8);
  put32(out, 14, ip(o.senderIp));
  out.set(mac(o.targetMac ?? '00:00:00:00:00:00'), 18);
  put32(out, 24, ip(o.targetIp));
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPv4

export interface Ipv4Options {
  src: Ipv4Input;
  dst: Ipv4Input;
  proto: number;
  payload?: Uint8Array;
  tos?: number;
  id?: number;
  ttl?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  /** IP options (padded with zeros to a multiple of 4 bytes). */
  options?: Uint8Array;
  /** Overrides for malformed headers. */
  version?: number;
  ihl?: number;
  totalLength?: number;
  /** Header checksum: computed unless given. */
  checksum?: number;
}

export function ipv4(o: Ipv4Options): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const optLen = Math.ceil(opts.length / 4) * 4;
  const hlen = 20 + optLen;
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(hlen + payload.length);
  out[0] = ((o.version ?? 4) << 4) | ((o.ihl ?? hlen / 4) & 0x0f);
  out[1] = o.tos ?? 0;
  put16(out, 2, o.totalLength ?? out.length);
  put16(out, 4, o.id ?? 0x1234);
  put16(out, 6, (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) & 0x1fff));
  out[8] = o.ttl ?? 64;
  out[9] = o.proto;
  put32(out, 12, ip(o.src));
  put32(out, 16, ip(o.dst));
  out.set(opts, 20);
  out.set(payload, hlen);
  put16(out, 10, o.checksum ?? ipv4HeaderChecksum(out, 0));
  return out;
}

/** The checksum of a TCP/UDP segment with the IPv4 pseudo-header. */
export function l4Checksum(src: Ipv4Input, dst: Ipv4Input, proto: number, segment: Uint8Array): number {
  return inetChecksum(segment, 0, segment.length, pseudoSum(ip(src), ip(dst), proto, segment.length));
}

// ---------------------------------------------------------------------------------------------
// TCP / UDP

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  payload?: Uint8Array;
  /** TCP options (padded to a multiple of 4). */
  options?: Uint8Array;
  /** When given, the checksum is computed over this pseudo-header; otherwise left 0. */
  pseudo?: { src: Ipv4Input; dst: Ipv4Input };
}

export function tcp(o: TcpOptions): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const hlen = 20 + Math.ceil(opts.length / 4) * 4;
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(hlen + payload.length);
  put16(out, 0, o.sport);
  put16(out, 2, o.dport);
  put32(out, 4, o.seq ?? 1);
  put32(out, 8, o.ack ?? 0);
  out[12] = (hlen / 4) << 4;
  out[13] = o.flags ?? TCP_SYN;
  put16(out, 14, o.window ?? 64240);
  out.set(opts, 20);
  out.set(payload, hlen);
  if (o.pseudo) put16(out, 16, l4Checksum(o.pseudo.src, o.pseudo.dst, 6, out));
  return out;
}

export interface UdpOptions {
  sport: number;
  dport: number;
  payload?: Uint8Array;
  /** Overrides the UDP length field. */
  length?: number;
  pseudo?: { src: Ipv4Input; dst: Ipv4Input };
}

export function udp(o: UdpOptions): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(8 + payload.length);
  put16(out, 0, o.sport);
  put16(out, 2, o.dport);
  put16(out, 4, o.length ?? out.length);
  out.set(payload, 8);
  if (o.pseudo) {
    const c = l4Checksum(o.pseudo.src, o.pseudo.dst, 17, out);
    put16(out, 6, c === 0 ? 0xffff : c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ICMP

export interface IcmpEchoOptions {
  /** 8 (request) or 0 (reply); any type may be given to build other 8-byte-header messages. */
  type: number;
  code?: number;
  id?: number;
  seq?: number;
  payload?: Uint8Array;
}

export function icmpEcho(o: IcmpEchoOptions): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const out = new Uint8Array(8 + payload.length);
  out[0] = o.type;
  out[1] = o.code ?? 0;
  put16(out, 4, o.id ?? 0x4242);
  put16(out, 6, o.seq ?? 1);
  out.set(payload, 8);
  put16(out, 2, inetChecksum(out, 0, out.length));
  return out;
}

export interface IcmpErrorOptions {
  /** 3 destination unreachable, 11 time exceeded, 12 parameter problem. */
  type: number;
  code?: number;
  /** Next-hop MTU for fragmentation-needed (type 3 code 4). */
  mtu?: number;
  /** Pointer for parameter problem. */
  pointer?: number;
  /** The quoted packet: an IPv4 header and (usually) the first 8 bytes of its payload. */
  inner: Uint8Array;
}

export function icmpError(o: IcmpErrorOptions): Uint8Array {
  const out = new Uint8Array(8 + o.inner.length);
  out[0] = o.type;
  out[1] = o.code ?? 0;
  if (o.mtu !== undefined) put16(out, 6, o.mtu);
  if (o.pointer !== undefined) out[4] = o.pointer;
  out.set(o.inner, 8);
  put16(out, 2, inetChecksum(out, 0, out.length));
  return out;
}

/** What an ICMP error quotes: the IPv4 header plus the first `l4Bytes` (default 8) of its payload. */
export function quote(packet: Uint8Array, l4Bytes = 8): Uint8Array {
  const hlen = (packet[0]! & 0x0f) * 4;
  return packet.slice(0, Math.min(packet.length, hlen + l4Bytes));
}

// ---------------------------------------------------------------------------------------------
// Whole frames

export interface FrameAddressing {
  ethDst: MacInput;
  ethSrc: MacInput;
  src: Ipv4Input;
  dst: Ipv4Input;
}

/** Ethernet + IPv4 + given L4 bytes; `ip` tweaks the IPv4 header (options, fragments, overrides). */
export function ipv4Frame(
  a: FrameAddressing,
  proto: number,
  l4: Uint8Array,
  ipExtra: Partial<Ipv4Options> = {},
  padding = 0,
): Uint8Array {
  return ethernet({
    dst: a.ethDst,
    src: a.ethSrc,
    type: ETH_P_IPV4,
    payload: ipv4({ src: a.src, dst: a.dst, proto, payload: l4, ...ipExtra }),
    padding,
  });
}

export function tcpFrame(
  a: FrameAddressing,
  t: Omit<TcpOptions, 'pseudo'>,
  ipExtra: Partial<Ipv4Options> = {},
): Uint8Array {
  return ipv4Frame(a, 6, tcp({ ...t, pseudo: { src: a.src, dst: a.dst } }), ipExtra);
}

export function udpFrame(
  a: FrameAddressing,
  u: Omit<UdpOptions, 'pseudo'>,
  ipExtra: Partial<Ipv4Options> = {},
): Uint8Array {
  return ipv4Frame(a, 17, udp({ ...u, pseudo: { src: a.src, dst: a.dst } }), ipExtra);
}

export function icmpEchoFrame(
  a: FrameAddressing,
  e: IcmpEchoOptions,
  ipExtra: Partial<Ipv4Options> = {},
): Uint8Array {
  return ipv4Frame(a, 1, icmpEcho(e), ipExtra);
}

export function icmpErrorFrame(
  a: FrameAddressing,
  e: IcmpErrorOptions,
  ipExtra: Partial<Ipv4Options> = {},
): Uint8Array {
  return ipv4Frame(a, 1, icmpError(e), ipExtra);
}

/** An ARP request frame (broadcast unless `ethDst` is given), padded to 60 bytes. */
export function arpRequestFrame(o: {
  senderMac: MacInput;
  senderIp: Ipv4Input;
  targetIp: Ipv4Input;
  ethDst?: MacInput;
  padding?: boolean;
}): Uint8Array {
  const f = ethernet({
    dst: o.ethDst ?? BROADCAST_MAC,
    src: o.senderMac,
    type: ETH_P_ARP,
    payload: arp({ op: ARP_OP_REQUEST, senderMac: o.senderMac, senderIp: o.senderIp, targetIp: o.targetIp }),
  });
  return o.padding === false ? f : padTo(f, 60);
}

/**
 * A gratuitous ARP (an RFC 5227 "ARP announcement"): a broadcast request whose sender and target IP
 * are both `ip`, sender MAC `mac` (also the Ethernet source, so switches learn the port), target MAC
 * zero, padded to 60 bytes. Linux neighbours take it as gratuitous (sender IP = target IP) and move an
 * existing entry to `mac` at once, whatever its lock time; they create no entry from it.
 */
export function garpFrame(mac: MacInput, ip: Ipv4Input): Uint8Array {
  return arpRequestFrame({ senderMac: mac, senderIp: ip, targetIp: ip });
}

/** An ARP reply frame from `senderMac/senderIp` to `targetMac/targetIp`. */
export function arpReplyFrame(o: {
  senderMac: MacInput;
  senderIp: Ipv4Input;
  targetMac: MacInput;
  targetIp: Ipv4Input;
}): Uint8Array {
  return padTo(
    ethernet({
      dst: o.targetMac,
      src: o.senderMac,
      type: ETH_P_ARP,
      payload: arp({
        op: ARP_OP_REPLY,
        senderMac: o.senderMac,
        senderIp: o.senderIp,
        targetMac: o.targetMac,
        targetIp: o.targetIp,
      }),
    }),
    60,
  );
}

/** Copy of `frame` with the Ethernet destination and source replaced (how a balanced frame leaves). */
export function withMacs(frame: Uint8Array, dst: MacInput, src: MacInput): Uint8Array {
  const out = frame.slice();
  out.set(mac(dst), 0);
  out.set(mac(src), 6);
  return out;
}
