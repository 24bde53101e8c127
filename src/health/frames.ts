// The frames of the health prober (docs/health.md), pure: building the ARP requests and replies, TCP
// segments, UDP datagrams and ICMP echo requests it sends on the BACKEND port (through the builders of
// src/packet/build.ts, padded to the Ethernet minimum; over IPv6 through build6.ts when the addressing
// is IPv6), and parsing what comes back into a small summary. Only untagged Ethernet II frames are
// parsed (the BACKEND port carries no VLANs to the prober): ARP and IPv4 here, IPv6 and Neighbor
// Discovery in frames6.ts; anything else parses to undefined. No I/O here.
import { formatMac } from '../core/addr.js';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  arpReplyFrame,
  arpRequestFrame,
  ICMP_ECHO_REQUEST,
  icmpEchoFrame,
  padTo,
  tcpFrame,
  udpFrame,
} from '../packet/build.js';
import {
  ARP_OP,
  ARP_SHA,
  ARP_SPA,
  ARP_TPA,
  ETH_HLEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IP_DST,
  IP_FRAG,
  IP_MF,
  IP_OFFSET_MASK,
  IP_PROTO,
  IP_SRC,
  IP_TOT_LEN,
  readU16,
  readU32,
} from '../packet/fields.js';
import {
  type Addr,
  type Addressing,
  icmp6EchoRequestFrame,
  isV6,
  parseIpv6Frame,
  parseTransport,
  tcp6SegmentFrame,
  tcpFields,
  udp6DatagramFrame,
} from './frames6.js';

export { type Addr, type Addressing, addrKey } from './frames6.js';

function frameAddr(a: Addressing) {
  return { ethDst: a.dstMac, ethSrc: a.srcMac, src: a.src as number, dst: a.dst as number };
}

/** An ARP request `who-has target tell senderIp`, broadcast. */
export function arpRequest(senderMac: Uint8Array, senderIp: number, target: number): Uint8Array {
  return arpRequestFrame({ senderMac, senderIp, targetIp: target });
}

/** The ARP reply `ip is-at mac` to the asker. */
export function arpReply(mac: Uint8Array, ip: number, toMac: Uint8Array, toIp: number): Uint8Array {
  return arpReplyFrame({ senderMac: mac, senderIp: ip, targetMac: toMac, targetIp: toIp });
}

export interface TcpSegment {
  flags: number;
  seq: number;
  ack: number;
  payload?: Uint8Array;
  /** MSS option (SYN only). */
  mss?: number;
}

/** A TCP segment from `a.src:sport` to `a.dst:dport` with its checksum; window 65535, no scaling. */
export function tcpSegmentFrame(a: Addressing, sport: number, dport: number, s: TcpSegment): Uint8Array {
  if (isV6(a)) return tcp6SegmentFrame(a, sport, dport, s);
  return padTo(tcpFrame(frameAddr(a), tcpFields(sport, dport, s), { df: true }), 60);
}

export function udpDatagramFrame(
  a: Addressing,
  sport: number,
  dport: number,
  payload: Uint8Array,
): Uint8Array {
  if (isV6(a)) return udp6DatagramFrame(a, sport, dport, payload);
  return padTo(udpFrame(frameAddr(a), { sport, dport, payload }), 60);
}

export function icmpEchoRequestFrame(a: Addressing, id: number, seq: number): Uint8Array {
  const payload = new TextEncoder().encode('lbdsr health probe');
  if (isV6(a)) return icmp6EchoRequestFrame(a, id, seq, payload);
  return padTo(icmpEchoFrame(frameAddr(a), { type: ICMP_ECHO_REQUEST, id, seq, payload }), 60);
}

/**
 * What the prober reads off a received frame. Addresses (`src`, `dst`, `innerDst`) are addrKey()s:
 * IPv4 host-order numbers, or IPv6 RFC 5952 text.
 */
export type Parsed =
  | { kind: 'arp'; op: number; srcMac: string; sha: string; spa: number; tpa: number }
  /** IPv6 Neighbor Discovery: a solicitation (135) or advertisement (136) for `target` (text). */
  | {
      kind: 'nd';
      type: number;
      srcMac: string;
      src: string;
      target: string;
      /** The link-layer address option's MAC (source for NS, target for NA), if any. */
      lladdr?: string;
    }
  | {
      kind: 'tcp';
      srcMac: string;
      src: Addr;
      dst: Addr;
      sport: number;
      dport: number;
      seq: number;
      ack: number;
      flags: number;
      payload: Uint8Array;
    }
  | {
      kind: 'udp';
      srcMac: string;
      src: Addr;
      dst: Addr;
      sport: number;
      dport: number;
      payload: Uint8Array;
    }
  | { kind: 'echo-reply'; srcMac: string; src: Addr; dst: Addr; id: number; seq: number }
  /** ICMP destination unreachable quoting a datagram the prober sent (`inner*`: the quoted header). */
  | {
      kind: 'unreachable';
      srcMac: string;
      code: number;
      /** The code says "port unreachable" (ICMP 3, ICMPv6 4). */
      port: boolean;
      innerProto: number;
      innerDst: Addr;
      innerSport: number;
      innerDport: number;
    };

/** Parses frame bytes [0, len) of `f`; undefined when it is nothing the prober reads. */
export function parseFrame(f: Uint8Array, len = f.length): Parsed | undefined {
  if (len < ETH_HLEN) return undefined;
  const type = readU16(f, 12);
  const srcMac = formatMac(f, 6);
  if (type === ETHERTYPE_ARP) {
    const a = ETH_HLEN;
    if (len < a + 28 || readU16(f, a) !== 1 || readU16(f, a + 2) !== ETHERTYPE_IPV4) return undefined;
    if (f[a + 4] !== 6 || f[a + 5] !== 4) return undefined;
    const op = readU16(f, a + ARP_OP);
    if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return undefined;
    return {
      kind: 'arp',
      op,
      srcMac,
      sha: formatMac(f, a + ARP_SHA),
      spa: readU32(f, a + ARP_SPA) >>> 0,
      tpa: readU32(f, a + ARP_TPA) >>> 0,
    };
  }
  if (type === 0x86dd) return parseIpv6Frame(f, len, srcMac);
  if (type !== ETHERTYPE_IPV4) return undefined;
  return parseIpPacket(f, len, srcMac);
}

function parseIpPacket(f: Uint8Array, len: number, srcMac: string): Parsed | undefined {
  const ip = ETH_HLEN;
  if (len < ip + 20 || f[ip]! >> 4 !== 4) return undefined;
  const ihl = (f[ip]! & 0x0f) * 4;
  const total = readU16(f, ip + IP_TOT_LEN);
  if (ihl < 20 || total < ihl || ip + total > len) return undefined;
  // Fragments carry no (or a partial) L4 header: the prober's answers are never fragmented.
  if ((readU16(f, ip + IP_FRAG) & (IP_MF | IP_OFFSET_MASK)) !== 0) return undefined;
  const proto = f[ip + IP_PROTO]!;
  const src = readU32(f, ip + IP_SRC) >>> 0;
  const dst = readU32(f, ip + IP_DST) >>> 0;
  const l4 = ip + ihl;
  const end = ip + total;
  if (proto === 6 || proto === 17) return parseTransport(f, proto, l4, end, { srcMac, src, dst });
  if (proto === 1 && end - l4 >= 8) return parseIcmp(f, l4, end, srcMac, src, dst);
  return undefined;
}

function parseIcmp(
  f: Uint8Array,
  l4: number,
  end: number,
  srcMac: string,
  src: number,
  dst: number,
): Parsed | undefined {
  const type = f[l4]!;
  if (type === 0)
    return { kind: 'echo-reply', srcMac, src, dst, id: readU16(f, l4 + 4), seq: readU16(f, l4 + 6) };
  if (type !== 3) return undefined;
  const inner = l4 + 8;
  if (end - inner < 20) return undefined;
  const ihl = (f[inner]! & 0x0f) * 4;
  if (ihl < 20 || end - inner < ihl + 4) return undefined;
  return {
    kind: 'unreachable',
    srcMac,
    code: f[l4 + 1]!,
    port: f[l4 + 1] === 3,
    innerProto: f[inner + IP_PROTO]!,
    innerDst: readU32(f, inner + IP_DST) >>> 0,
    innerSport: readU16(f, inner + ihl),
    innerDport: readU16(f, inner + ihl + 2),
  };
}
