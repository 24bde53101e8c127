// The IPv6 frames of the health prober (docs/health.md), pure: the Neighbor Solicitations that resolve
// backends given by an IPv6 address, the Neighbor Advertisement that answers a solicitation for the
// prober's own link-local address (fe80:: + modified EUI-64 of the probe MAC), the TCP/UDP/ICMPv6 echo
// probes of a service whose only VIP is IPv6 (through src/packet/build6.ts), and the parsing of what
// comes back (untagged Ethernet II, the fixed header followed directly by TCP, UDP or ICMPv6: servers
// answer probes without extension headers; anything else parses to undefined). Also Addressing, the
// source and destination of a probe of either family, and the TCP/UDP parse both families share.
// No I/O here.
import { formatIpv6, formatMac, linkLocalOf } from '../core/addr.js';
import {
  ALL_NODES,
  ALL_NODES_MAC,
  icmp6EchoFrame,
  NA_FLAG_OVERRIDE,
  NA_FLAG_SOLICITED,
  naFrame,
  nsFrame,
  tcp6Frame,
  udp6Frame,
} from '../packet/build6.js';
import { readU16, readU32 } from '../packet/fields.js';
import type { Parsed, TcpSegment } from './frames.js';

/** An address of either family: IPv4 (host order) or IPv6 (16 bytes). */
export type Addr = number | string;

/** Where the prober's frames come from and go to (`src` and `dst` of one family). */
export interface Addressing {
  /** Ethernet destination (the backend's MAC) and source (the probe MAC). */
  dstMac: Uint8Array;
  srcMac: Uint8Array;
  /** Source (probe_ip, or the probe MAC's link-local address) and destination (the VIP). */
  src: number | Uint8Array;
  dst: number | Uint8Array;
}

/** How an address is compared with a parsed one: host-order number (IPv4) or RFC 5952 text (IPv6). */
export function addrKey(a: number | Uint8Array): Addr {
  return typeof a === 'number' ? a : formatIpv6(a);
}

export function isV6(a: Addressing): a is Addressing & { src: Uint8Array; dst: Uint8Array } {
  return typeof a.src !== 'number';
}

type Addressing6 = Addressing & { src: Uint8Array; dst: Uint8Array };

function frameAddr6(a: Addressing6) {
  return { ethDst: a.dstMac, ethSrc: a.srcMac, src: a.src, dst: a.dst };
}

/** The TCP header fields of a prober's segment: window 65535, no scaling, MSS option on a SYN. */
export function tcpFields(sport: number, dport: number, s: TcpSegment) {
  const options = s.mss === undefined ? undefined : Uint8Array.of(2, 4, (s.mss >>> 8) & 0xff, s.mss & 0xff);
  return {
    sport,
    dport,
    seq: s.seq >>> 0,
    ack: s.ack >>> 0,
    flags: s.flags,
    window: 65535,
    ...(s.payload ? { payload: s.payload } : {}),
    ...(options ? { options } : {}),
  };
}

export function tcp6SegmentFrame(a: Addressing6, sport: number, dport: number, s: TcpSegment): Uint8Array {
  return tcp6Frame(frameAddr6(a), tcpFields(sport, dport, s), { hopLimit: 64 });
}

export function udp6DatagramFrame(
  a: Addressing6,
  sport: number,
  dport: number,
  payload: Uint8Array,
): Uint8Array {
  return udp6Frame(frameAddr6(a), { sport, dport, payload });
}

export function icmp6EchoRequestFrame(
  a: Addressing6,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  return icmp6EchoFrame(frameAddr6(a), { type: 128, id, seq, payload });
}

/**
 * The solicitation asking for `target`'s link-layer address: from the probe MAC and its link-local
 * address, to the target's solicited-node multicast group, with the source link-layer option (so the
 * advertisement comes back to the probe MAC).
 */
export function ndSolicit(probeMac: Uint8Array, target: Uint8Array): Uint8Array {
  return nsFrame({ srcMac: probeMac, src: linkLocalOf(probeMac), target });
}

/**
 * The advertisement answering a solicitation for the probe MAC's link-local address (RFC 4861 7.2.4):
 * Solicited and Override, the target link-layer option = the probe MAC; to the solicitation's source,
 * or to all nodes (Override only) when that is `::` (duplicate address detection).
 */
export function ndAdvertise(probeMac: Uint8Array, toMac: string, to: Uint8Array): Uint8Array {
  const self = linkLocalOf(probeMac);
  const dad = to.every((b) => b === 0);
  return naFrame({
    srcMac: probeMac,
    dstMac: dad ? ALL_NODES_MAC : toMac,
    src: self,
    dst: dad ? ALL_NODES : to,
    target: self,
    flags: dad ? NA_FLAG_OVERRIDE : NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
    tllaoMac: probeMac,
  });
}

/**
 * The TCP segment or UDP datagram (`proto` 6 or 17) at `l4` up to `end`, of either family (`who`: the
 * frame's source MAC and the packet's addresses); undefined when truncated.
 */
export function parseTransport(
  f: Uint8Array,
  proto: number,
  l4: number,
  end: number,
  who: { srcMac: string; src: Addr; dst: Addr },
): Parsed | undefined {
  if (proto === 6) {
    if (end - l4 < 20) return undefined;
    const off = (f[l4 + 12]! >> 4) * 4;
    if (off < 20 || l4 + off > end) return undefined;
    return {
      kind: 'tcp',
      ...who,
      sport: readU16(f, l4),
      dport: readU16(f, l4 + 2),
      seq: readU32(f, l4 + 4) >>> 0,
      ack: readU32(f, l4 + 8) >>> 0,
      flags: f[l4 + 13]!,
      payload: f.slice(l4 + off, end),
    };
  }
  if (end - l4 < 8) return undefined;
  const ulen = Math.min(readU16(f, l4 + 4), end - l4);
  return {
    kind: 'udp',
    ...who,
    sport: readU16(f, l4),
    dport: readU16(f, l4 + 2),
    payload: f.slice(l4 + 8, l4 + Math.max(8, ulen)),
  };
}

/** The IPv6 packet at 14 in [0, len): TCP, UDP, ICMPv6 echo reply and errors, NS and NA. */
export function parseIpv6Frame(f: Uint8Array, len: number, srcMac: string): Parsed | undefined {
  const ip = 14;
  if (len < ip + 40 || f[ip]! >> 4 !== 6) return undefined;
  const l4 = ip + 40;
  const end = l4 + readU16(f, ip + 4);
  if (end > len) return undefined;
  const nh = f[ip + 6]!;
  const src = formatIpv6(f, ip + 8);
  const dst = formatIpv6(f, ip + 24);
  if (nh === 6 || nh === 17) return parseTransport(f, nh, l4, end, { srcMac, src, dst });
  if (nh === 58 && end - l4 >= 8) return parseIcmp6(f, l4, end, srcMac, src, dst);
  return undefined;
}

function parseIcmp6(
  f: Uint8Array,
  l4: number,
  end: number,
  srcMac: string,
  src: string,
  dst: string,
): Parsed | undefined {
  const type = f[l4]!;
  const code = f[l4 + 1]!;
  if (type === 129)
    return { kind: 'echo-reply', srcMac, src, dst, id: readU16(f, l4 + 4), seq: readU16(f, l4 + 6) };
  if (type === 135 || type === 136) return parseNd(f, l4, end, srcMac, src);
  if (type !== 1) return undefined;
  const inner = l4 + 8;
  if (end - inner < 44 || f[inner]! >> 4 !== 6) return undefined;
  return {
    kind: 'unreachable',
    srcMac,
    code,
    port: code === 4,
    innerProto: f[inner + 6]!,
    innerDst: formatIpv6(f, inner + 24),
    innerSport: readU16(f, inner + 40),
    innerDport: readU16(f, inner + 42),
  };
}

/**
 * A solicitation or advertisement as RFC 4861 7.1 validates it: hop limit 255 (it was not routed),
 * code 0, 24 bytes at least; then its target and the link-layer option of its kind (1 in an NS, 2 in
 * an NA), if present. The kernel of the BACKEND namespace checked nothing for us: the frame is raw.
 */
function parseNd(f: Uint8Array, l4: number, end: number, srcMac: string, src: string): Parsed | undefined {
  const type = f[l4]!;
  if (f[14 + 7] !== 255 || f[l4 + 1] !== 0 || end - l4 < 24) return undefined;
  const want = type === 135 ? 1 : 2;
  let lladdr: string | undefined;
  for (let o = l4 + 24; o + 8 <= end; ) {
    const n = f[o + 1]! * 8;
    if (n === 0 || o + n > end) return undefined;
    if (f[o] === want && n === 8) lladdr = formatMac(f, o + 2);
    o += n;
  }
  const target = formatIpv6(f, l4 + 8);
  return lladdr === undefined
    ? { kind: 'nd', type, srcMac, src, target }
    : { kind: 'nd', type, srcMac, src, target, lladdr };
}
