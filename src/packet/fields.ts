// Offsets and allocation-free readers/writers over a frame held in a Uint8Array. The pipeline's hot path
// uses only these; every caller checks bounds before reading (see docs/semantics.md for the checks).

export const ETH_HLEN = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;

/** ARP (Ethernet/IPv4) field offsets, relative to the start of the ARP header. */
export const ARP_LEN = 28;
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OP = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/** IPv4 field offsets relative to the IP header. */
export const IP_MIN_HLEN = 20;
export const IP_VER_IHL = 0;
export const IP_TOT_LEN = 2;
export const IP_ID = 4;
export const IP_FRAG = 6;
export const IP_TTL = 8;
export const IP_PROTO = 9;
export const IP_CSUM = 10;
export const IP_SRC = 12;
export const IP_DST = 16;
export const IP_MF = 0x2000;
export const IP_OFFSET_MASK = 0x1fff;

/** IPv6 field offsets relative to the IPv6 header (fixed part: 40 bytes). */
export const IP6_HLEN = 40;
export const IP6_PLEN = 4;
export const IP6_NEXT = 6;
export const IP6_HOP_LIMIT = 7;
export const IP6_SRC = 8;
export const IP6_DST = 24;
/** Extension headers walked (docs/semantics.md, "IPv6", rule 9'). */
export const IP6_EXT_HOP = 0;
export const IP6_EXT_ROUTING = 43;
export const IP6_EXT_FRAGMENT = 44;
export const IP6_EXT_DSTOPTS = 60;

/** ICMPv6 types: the errors balanced to their flow's backend, echo, and Neighbor Discovery. */
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAMETER_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

export const TCP_MIN_HLEN = 20;
/** Offset of the TCP flags byte in the TCP header, and the SYN bit. */
export const TCP_FLAGS = 13;
export const TCP_FLAG_SYN = 0x02;
export const UDP_HLEN = 8;
export const ICMP_HLEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

export function readU16(f: Uint8Array, o: number): number {
  return (f[o]! << 8) | f[o + 1]!;
}

export function readU32(f: Uint8Array, o: number): number {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
}

/**
 * Stores the big-endian word at `o` of `f` into `out[at]`: readU32 for the per-frame path. A uint32
 * above 2^30 returned by a function V8 did not inline is boxed (a heap number: an allocation); stored
 * into a typed array by the function that computes it, it never is.
 */
export function loadU32(f: Uint8Array, o: number, out: Uint32Array, at: number): void {
  out[at] = (f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!;
}

/** True when the big-endian word at `o` of `f` equals `k[at]` (compared unboxed: see loadU32). */
export function u32Is(f: Uint8Array, o: number, k: Uint32Array, at: number): boolean {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) === (k[at]! | 0);
}

export function writeU16(f: Uint8Array, o: number, v: number): void {
  f[o] = (v >>> 8) & 0xff;
  f[o + 1] = v & 0xff;
}

export function writeU32(f: Uint8Array, o: number, v: number): void {
  f[o] = (v >>> 24) & 0xff;
  f[o + 1] = (v >>> 16) & 0xff;
  f[o + 2] = (v >>> 8) & 0xff;
  f[o + 3] = v & 0xff;
}

/** Copies 6 bytes of `mac` (from offset `mo`) into `f` at `o`. */
export function writeMac(f: Uint8Array, o: number, mac: Uint8Array, mo = 0): void {
  f[o] = mac[mo]!;
  f[o + 1] = mac[mo + 1]!;
  f[o + 2] = mac[mo + 2]!;
  f[o + 3] = mac[mo + 3]!;
  f[o + 4] = mac[mo + 4]!;
  f[o + 5] = mac[mo + 5]!;
}

/** Copies 6 bytes inside one frame (the ranges must not overlap). */
export function copyMac(f: Uint8Array, to: number, from: number): void {
  f[to] = f[from]!;
  f[to + 1] = f[from + 1]!;
  f[to + 2] = f[from + 2]!;
  f[to + 3] = f[from + 3]!;
  f[to + 4] = f[from + 4]!;
  f[to + 5] = f[from + 5]!;
}

export function macEquals(f: Uint8Array, o: number, mac: Uint8Array): boolean {
  return (
    f[o] === mac[0] &&
    f[o + 1] === mac[1] &&
    f[o + 2] === mac[2] &&
    f[o + 3] === mac[3] &&
    f[o + 4] === mac[4] &&
    f[o + 5] === mac[5]
  );
}

export function isBroadcastMac(f: Uint8Array, o: number): boolean {
  return (f[o]! & f[o + 1]! & f[o + 2]! & f[o + 3]! & f[o + 4]! & f[o + 5]!) === 0xff;
}
