// IPv4 frames in the pipeline (docs/semantics.md, rules 8..9): the flow key of an IPv4 frame for a VIP
// (TCP, UDP, ICMP echo) and of an ICMP error (the flow of the packet it quotes), and the answers of the
// flow-key functions of both families (FLOW_*, shared with ipv6.ts). The balancer (balancer.ts) checks
// the header and the VIP, then composes these. Pure and allocation-free: the key goes into the caller's
// Uint32Array, never into new objects (a uint32 above 2^30 in a field or a return value would be boxed).
import {
  DROP_ICMP_INNER,
  DROP_ICMP_TYPE,
  DROP_L4_TRUNCATED,
  DROP_PROTO,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
} from '../core/constants.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HLEN,
  ICMP_PARAMETER_PROBLEM,
  ICMP_TIME_EXCEEDED,
  IP_DST,
  IP_FRAG,
  IP_MF,
  IP_MIN_HLEN,
  IP_OFFSET_MASK,
  IP_PROTO,
  IP_SRC,
  loadU32,
  readU16,
  TCP_FLAG_SYN,
  TCP_FLAGS,
  TCP_MIN_HLEN,
  UDP_HLEN,
  u32Is,
} from '../packet/fields.js';

/**
 * Answers of ipv4FlowKey / ipv6FlowKey besides a drop reason (DROP_*, all > 0): the key is the frame's
 * flow; the key is the flow an ICMP error quotes; the frame is a fragment whose ports word is the
 * fragment table's to set (fragments.ts).
 */
export const FLOW_KEYED = 0;
export const FLOW_ICMP_ERROR = -1;
export const FLOW_FRAGMENT = -2;
/** transportKey's answer for an ICMP or ICMPv6 header of at least ICMP_HLEN bytes: the caller's to key. */
export const FLOW_ICMP = -3;

/** Key words of an IPv4 flow: src, dst, ports (sport << 16 | dport), proto; after the Maglev hash, not-a-SYN. */
export const K4_SRC = 0;
export const K4_DST = 1;
export const K4_PORTS = 2;
export const K4_PROTO = 3;
export const K4_NOT_SYN = 5;

/**
 * Rules 8..9 for a well-formed IPv4 packet at `l3` (header length `ihl`, total length `totLen`) to a
 * VIP: sets the flow key `k` (and k[K4_NOT_SYN]). Returns FLOW_KEYED, FLOW_ICMP_ERROR, FLOW_FRAGMENT or
 * a drop reason.
 */
export function ipv4FlowKey(f: Uint8Array, l3: number, ihl: number, totLen: number, k: Uint32Array): number {
  const proto = f[l3 + IP_PROTO]!;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_ICMP) return DROP_PROTO;
  loadU32(f, l3 + IP_SRC, k, K4_SRC);
  loadU32(f, l3 + IP_DST, k, K4_DST);
  k[K4_PROTO] = proto;
  k[K4_NOT_SYN] = 0;
  const l4 = l3 + ihl;
  const l4len = totLen - ihl;
  if ((readU16(f, l3 + IP_FRAG) & (IP_MF | IP_OFFSET_MASK)) !== 0) {
    // a TCP fragment is never taken for a SYN (docs/semantics.md, "Session floods")
    if (proto === PROTO_TCP) k[K4_NOT_SYN] = 1;
    return FLOW_FRAGMENT;
  }
  const t = transportKey(f, l4, l4len, proto, k, K4_PORTS, K4_NOT_SYN);
  return t !== FLOW_ICMP ? t : icmpKey(f, l4, l4len, k);
}

/**
 * ipv4FlowKey's ICMP part (the header at `l4`, `l4len` bytes), apart so that the TCP/UDP path stays
 * small (V8 inlines by bytecode size): echo keys {src, dst, 0, 1}; an error the flow it quotes.
 */
function icmpKey(f: Uint8Array, l4: number, l4len: number, k: Uint32Array): number {
  const type = f[l4]!;
  if (type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) {
    k[K4_PORTS] = 0;
    return FLOW_KEYED;
  }
  if (type === ICMP_DEST_UNREACH || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM) {
    const reason = icmpErrorKey(f, l4 + ICMP_HLEN, l4len - ICMP_HLEN, k);
    return reason !== 0 ? reason : FLOW_ICMP_ERROR;
  }
  return DROP_ICMP_TYPE;
}

/**
 * The transport part of a flow key of either family (payload at `l4`, `l4len` bytes): TCP and UDP set
 * the ports word k[portsAt] (a TCP segment that is not a SYN also k[notSynAt] = 1) and answer
 * FLOW_KEYED; ICMP and ICMPv6 answer FLOW_ICMP; a header cut short, DROP_L4_TRUNCATED.
 */
export function transportKey(
  f: Uint8Array,
  l4: number,
  l4len: number,
  proto: number,
  k: Uint32Array,
  portsAt: number,
  notSynAt: number,
): number {
  if (proto === PROTO_TCP) {
    if (l4len < TCP_MIN_HLEN) return DROP_L4_TRUNCATED;
    loadU32(f, l4, k, portsAt);
    if ((f[l4 + TCP_FLAGS]! & TCP_FLAG_SYN) === 0) k[notSynAt] = 1;
    return FLOW_KEYED;
  }
  if (proto === PROTO_UDP) {
    if (l4len < UDP_HLEN) return DROP_L4_TRUNCATED;
    loadU32(f, l4, k, portsAt);
    return FLOW_KEYED;
  }
  return l4len < ICMP_HLEN ? DROP_L4_TRUNCATED : FLOW_ICMP;
}

/**
 * Sets `k` to the key of the flow an ICMP error quotes (the quoted header at `inner`, `avail` bytes of
 * it); `k` holds the outer destination (the VIP) on entry. Returns 0 or DROP_ICMP_INNER.
 */
export function icmpErrorKey(f: Uint8Array, inner: number, avail: number, k: Uint32Array): number {
  if (avail < IP_MIN_HLEN) return DROP_ICMP_INNER;
  const verIhl = f[inner]!;
  const ihl = (verIhl & 0x0f) << 2;
  if (verIhl >>> 4 !== 4 || ihl < IP_MIN_HLEN || ihl + 8 > avail) return DROP_ICMP_INNER;
  // The inner source must be the VIP, i.e. the outer destination.
  if (!u32Is(f, inner + IP_SRC, k, K4_DST)) return DROP_ICMP_INNER;
  const iproto = f[inner + IP_PROTO]!;
  if (iproto !== PROTO_TCP && iproto !== PROTO_UDP && iproto !== PROTO_ICMP) return DROP_ICMP_INNER;
  loadU32(f, inner + IP_DST, k, K4_SRC);
  k[K4_PROTO] = iproto;
  if ((readU16(f, inner + IP_FRAG) & (IP_MF | IP_OFFSET_MASK)) !== 0) {
    k[K4_PORTS] = 0;
  } else if (iproto === PROTO_ICMP) {
    const itype = f[inner + ihl]!;
    if (itype !== ICMP_ECHO_REPLY && itype !== ICMP_ECHO_REQUEST) return DROP_ICMP_INNER;
    k[K4_PORTS] = 0;
  } else {
    // The inner packet went VIP:sport -> client:dport; the flow's key is client:dport -> VIP:sport.
    k[K4_PORTS] = (readU16(f, inner + ihl + 2) << 16) | readU16(f, inner + ihl);
  }
  return 0;
}
