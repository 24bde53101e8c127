// IPv6 frames in the pipeline (docs/semantics.md, "IPv6", rules 8'..9'): the flow key of an IPv6 frame
// for a VIP (ipv6FlowKey: the bounded walk of the extension headers to the transport header, the
// addresses, the ports, ICMPv6 echo and errors), the flow key of an ICMPv6 error from the packet it
// quotes, and the loading of 16-byte addresses into the 10-word IPv6 key. The balancer (balancer.ts)
// checks the header and the VIP, then composes these. Pure and allocation-free: results go into arrays
// the caller owns (an Int32Array for the walk, the key's Uint32Array), never into new objects.
// bpf/ipv6.h is the same walk in the XDP program.
import {
  DROP_ICMP_INNER,
  DROP_ICMP_TYPE,
  DROP_IPV6_EXT,
  DROP_PROTO,
  IPV6_MAX_EXT,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
} from '../core/constants.js';
import {
  ICMP_HLEN,
  ICMP6_DEST_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_PARAMETER_PROBLEM,
  IP6_DST,
  IP6_EXT_DSTOPTS,
  IP6_EXT_FRAGMENT,
  IP6_EXT_HOP,
  IP6_EXT_ROUTING,
  IP6_HLEN,
  IP6_NEXT,
  IP6_SRC,
  loadU32,
  readU16,
  u32Is,
} from '../packet/fields.js';
import { FLOW_FRAGMENT, FLOW_ICMP, FLOW_ICMP_ERROR, FLOW_KEYED, transportKey } from './ipv4.js';

/** The walk's results, by index in its out array. */
/** The protocol found (the next header that ended the walk). */
export const WK_PROTO = 0;
/** Offset of the transport header (of what follows the fragment header, for a later fragment). */
export const WK_L4 = 1;
/** FRAG_NONE, FRAG_FIRST (offset 0, M set) or FRAG_LATER (offset != 0). */
export const WK_FRAG = 2;
/** Offset of the fragment header's 32-bit identification (meaningful for a fragment). */
export const WK_ID = 3;
export const WK_WIDTH = 4;

export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
export const FRAG_LATER = 2;

/** Key words of an IPv6 flow: src0..3, dst0..3, ports (sport << 16 | dport), proto. */
export const K6_SRC = 0;
export const K6_DST = 4;
export const K6_PORTS = 8;
export const K6_PROTO = 9;
/** The key array's word after the key and the Maglev hash: 1 for a TCP segment that is not a SYN. */
export const K6_NOT_SYN = 11;

function isExtension(nh: number): boolean {
  return nh === IP6_EXT_HOP || nh === IP6_EXT_ROUTING || nh === IP6_EXT_DSTOPTS || nh === IP6_EXT_FRAGMENT;
}

/**
 * Walks the extension headers from `off` with next header `nh`, bounded by `end` and by IPV6_MAX_EXT
 * headers; false when the chain is too long, cut short by `end`, or holds a second fragment header. A
 * later fragment ends the walk at its fragment header; so does a first fragment when `stopAtFragment`
 * (a quoted packet: docs/semantics.md, rule 9', ICMPv6 errors). An atomic fragment (offset 0, M clear)
 * is not a fragment: the walk goes on.
 */
export function walkExtensions(
  f: Uint8Array,
  off: number,
  nh: number,
  end: number,
  stopAtFragment: boolean,
  out: Int32Array,
): boolean {
  let n = 0;
  let frag = FRAG_NONE;
  let id = -1;
  while (isExtension(nh)) {
    if (++n > IPV6_MAX_EXT || off + 8 > end) return false;
    if (nh === IP6_EXT_FRAGMENT) {
      if (id >= 0) return false;
      const offM = readU16(f, off + 2);
      nh = f[off]!;
      id = off + 4;
      off += 8;
      if (offM >>> 3 !== 0) {
        frag = FRAG_LATER;
        break;
      }
      if ((offM & 1) !== 0) {
        frag = FRAG_FIRST;
        if (stopAtFragment) break;
      }
    } else {
      const hl = (f[off + 1]! + 1) << 3;
      if (off + hl > end) return false;
      nh = f[off]!;
      off += hl;
    }
  }
  out[WK_PROTO] = nh;
  out[WK_L4] = off;
  out[WK_FRAG] = frag;
  out[WK_ID] = id;
  return true;
}

/** Copies the 16-byte address at `off` of `f` into `k[at..at+4)` as big-endian words. */
export function loadAddress(f: Uint8Array, off: number, k: Uint32Array, at: number): void {
  loadU32(f, off, k, at);
  loadU32(f, off + 4, k, at + 1);
  loadU32(f, off + 8, k, at + 2);
  loadU32(f, off + 12, k, at + 3);
}

/** True when the 16-byte address at `off` of `f` equals `k[at..at+4)`. */
export function addressIs(f: Uint8Array, off: number, k: Uint32Array, at: number): boolean {
  return (
    u32Is(f, off, k, at) &&
    u32Is(f, off + 4, k, at + 1) &&
    u32Is(f, off + 8, k, at + 2) &&
    u32Is(f, off + 12, k, at + 3)
  );
}

/**
 * Sets the key of the flow an ICMPv6 error quotes (the quoted IPv6 header at `inner`, quoted bytes up
 * to `end`): `k` holds the outer destination (the VIP) in its dst words on entry; on success src is the
 * quoted destination, the ports reversed, the protocol the quoted one. Returns 0 or DROP_ICMP_INNER.
 * `w` is scratch for the quoted walk.
 */
export function icmp6ErrorKey(
  f: Uint8Array,
  inner: number,
  end: number,
  k: Uint32Array,
  w: Int32Array,
): number {
  if (inner + IP6_HLEN > end || f[inner]! >>> 4 !== 6) return DROP_ICMP_INNER;
  // The quoted packet went from the VIP to the client.
  if (!addressIs(f, inner + IP6_SRC, k, K6_DST)) return DROP_ICMP_INNER;
  if (!walkExtensions(f, inner + IP6_HLEN, f[inner + IP6_NEXT]!, end, true, w)) return DROP_ICMP_INNER;
  const proto = w[WK_PROTO]!;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_ICMPV6) return DROP_ICMP_INNER;
  loadAddress(f, inner + IP6_DST, k, K6_SRC);
  k[K6_PROTO] = proto;
  k[K6_PORTS] = 0;
  if (w[WK_FRAG] !== FRAG_NONE) return 0;
  const l4 = w[WK_L4]!;
  if (l4 + 8 > end) return DROP_ICMP_INNER;
  if (proto === PROTO_ICMPV6) {
    const type = f[l4]!;
    return type === ICMP6_ECHO_REQUEST || type === ICMP6_ECHO_REPLY ? 0 : DROP_ICMP_INNER;
  }
  // VIP:sport -> client:dport quoted; the flow is client:dport -> VIP:sport.
  k[K6_PORTS] = (readU16(f, l4 + 2) << 16) | readU16(f, l4);
  return 0;
}

/**
 * Rules 8'..9' for an IPv6 frame to a VIP (next header `nh` after the fixed header, payload ending at
 * `end`; its addresses already in `k` by loadAddress): walks the extension headers into `w` and sets
 * the rest of the flow key `k` (ports, proto; and k[K6_NOT_SYN]). Returns FLOW_KEYED, FLOW_ICMP_ERROR (the key is the quoted flow's), FLOW_FRAGMENT (the
 * ports word is left to fragmentKey6), or a drop reason.
 */
export function ipv6FlowKey(
  f: Uint8Array,
  l3: number,
  nh: number,
  end: number,
  k: Uint32Array,
  w: Int32Array,
): number {
  // the common case, no extension header: the transport header follows the fixed one
  let proto = nh;
  let l4 = l3 + IP6_HLEN;
  let frag = FRAG_NONE;
  if (isExtension(nh)) {
    if (!walkExtensions(f, l4, nh, end, false, w)) return DROP_IPV6_EXT;
    proto = w[WK_PROTO]!;
    l4 = w[WK_L4]!;
    frag = w[WK_FRAG]!;
  }
  if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_ICMPV6) return DROP_PROTO;
  k[K6_PROTO] = proto;
  k[K6_PORTS] = 0;
  k[K6_NOT_SYN] = 0;
  const l4len = end - l4;
  if (frag !== FRAG_NONE) {
    // a TCP fragment is never taken for a SYN (docs/semantics.md, "Session floods")
    if (proto === PROTO_TCP) k[K6_NOT_SYN] = 1;
    return FLOW_FRAGMENT;
  }
  const t = transportKey(f, l4, l4len, proto, k, K6_PORTS, K6_NOT_SYN);
  return t !== FLOW_ICMP ? t : icmp6Key(f, l4, end, k, w);
}

/**
 * ipv6FlowKey's ICMPv6 part (the header at `l4`), apart so that the TCP/UDP path stays small (V8 inlines
 * by bytecode size): echo keys {src, dst, 0, 58}; an error the flow it quotes (FLOW_ICMP_ERROR).
 */
function icmp6Key(f: Uint8Array, l4: number, end: number, k: Uint32Array, w: Int32Array): number {
  const type = f[l4]!;
  if (type === ICMP6_ECHO_REQUEST || type === ICMP6_ECHO_REPLY) return FLOW_KEYED;
  if (type >= ICMP6_DEST_UNREACH && type <= ICMP6_PARAMETER_PROBLEM) {
    const reason = icmp6ErrorKey(f, l4 + ICMP_HLEN, end, k, w);
    return reason !== 0 ? reason : FLOW_ICMP_ERROR;
  }
  return DROP_ICMP_TYPE;
}
