// Neighbor Discovery for IPv6 VIPs in the pipeline (docs/semantics.md, "IPv6", rule 6b): the checks of
// a Neighbor Solicitation (RFC 4861 7.1.1, the ICMPv6 checksum of RFC 4443 2.3) and the Neighbor
// Advertisement written in place over it, 86 bytes (the frame's buffer has room: callers give at least
// NA_FRAME_LEN bytes). answerSolicitation is rule 6b whole: the checks, the target looked up among the
// IPv6 VIPs, the answer written. Pure and allocation-free; bpf/nd.h is the same in the XDP program.
import {
  CFG_NO_ARP,
  DROP_ND,
  DROP_TX_FAILED,
  NA_FRAME_LEN,
  ND_MAX_LEN,
  PROTO_ICMPV6,
} from '../core/constants.js';
import {
  copyMac,
  ETH_DST,
  ETH_HLEN,
  ETH_SRC,
  IP6_DST,
  IP6_HLEN,
  IP6_HOP_LIMIT,
  IP6_NEXT,
  IP6_PLEN,
  IP6_SRC,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_REDIRECT,
  ND_ROUTER_SOLICIT,
  readU16,
  writeMac,
  writeU16,
} from '../packet/fields.js';
import type { Vip6Table, VipMember } from './vips.js';

const L3 = ETH_HLEN;
const ICMP = L3 + IP6_HLEN;
/** The target address of a solicitation or an advertisement (ICMPv6 bytes 8..23). */
export const ND_TARGET = ICMP + 8;
/** Length of an NS/NA without options, and of the NA we send (with its 8-byte TLLA option). */
const NS_MIN_LEN = 24;
const NA_LEN = 32;
/** Flags byte of an NA: Solicited | Override. */
const NA_SOLICITED_OVERRIDE = 0x60;
const OPT_TARGET_LLA = 2;

/**
 * One's-complement sum (folded to 16 bits, not complemented) of the ICMPv6 pseudo-header of the IPv6
 * header at `l3` (source, destination, 32-bit length `plen`, next header 58) and `plen` payload bytes.
 */
export function icmp6Sum(f: Uint8Array, l3: number, plen: number): number {
  let sum = (plen >>> 16) + (plen & 0xffff) + PROTO_ICMPV6;
  for (let o = l3 + IP6_SRC; o < l3 + IP6_HLEN; o += 2) sum += readU16(f, o);
  const end = l3 + IP6_HLEN + plen;
  let o = l3 + IP6_HLEN;
  for (; o + 1 < end; o += 2) sum += readU16(f, o);
  if (o < end) sum += f[o]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 4861 7.1.1 checks of a solicitation of payload length `plen` (rule 6b's second item). */
export function validSolicitation(f: Uint8Array, plen: number): boolean {
  return (
    f[L3 + IP6_HOP_LIMIT] === 255 &&
    f[ICMP + 1] === 0 &&
    plen >= NS_MIN_LEN &&
    plen <= ND_MAX_LEN &&
    (plen & 7) === 0 &&
    icmp6Sum(f, L3, plen) === 0xffff
  );
}

/** True when the 16 bytes at `off` are all zero (the unspecified address `::`). */
export function isUnspecified(f: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (f[off + i] !== 0) return false;
  return true;
}

/** The destination is the target itself or the target's solicited-node multicast address. */
export function toTargetOrItsGroup(f: Uint8Array): boolean {
  const d = L3 + IP6_DST;
  let same = true;
  for (let i = 0; i < 16; i++) {
    if (f[d + i] !== f[ND_TARGET + i]) {
      same = false;
      break;
    }
  }
  if (same) return true;
  // ff02::1:ffXX:XXXX
  if (f[d] !== 0xff || f[d + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (f[d + i] !== 0) return false;
  return (
    f[d + 11] === 0x01 &&
    f[d + 12] === 0xff &&
    f[d + 13] === f[ND_TARGET + 13] &&
    f[d + 14] === f[ND_TARGET + 14] &&
    f[d + 15] === f[ND_TARGET + 15]
  );
}

/** The Ethernet destination is `mac` or 33:33 followed by the last 4 bytes of the IPv6 destination. */
export function toMacOrGroupMac(f: Uint8Array, mac: Uint8Array): boolean {
  let same = true;
  for (let i = 0; i < 6; i++) {
    if (f[ETH_DST + i] !== mac[i]) {
      same = false;
      break;
    }
  }
  if (same) return true;
  const d = L3 + IP6_DST + 12;
  return (
    f[ETH_DST] === 0x33 &&
    f[ETH_DST + 1] === 0x33 &&
    f[ETH_DST + 2] === f[d] &&
    f[ETH_DST + 3] === f[d + 1] &&
    f[ETH_DST + 4] === f[d + 2] &&
    f[ETH_DST + 5] === f[d + 3]
  );
}

/**
 * Rewrites the solicitation in `f` into the Neighbor Advertisement of rule 6b, from `mac` (the VIP's
 * frontend MAC), for its target; `f` must hold NA_FRAME_LEN bytes. Returns NA_FRAME_LEN.
 */
export function writeAdvertisement(f: Uint8Array, mac: Uint8Array): number {
  copyMac(f, ETH_DST, ETH_SRC);
  writeMac(f, ETH_SRC, mac);
  f[L3] = 0x60;
  f[L3 + 1] = 0;
  f[L3 + 2] = 0;
  f[L3 + 3] = 0;
  writeU16(f, L3 + IP6_PLEN, NA_LEN);
  f[L3 + IP6_NEXT] = PROTO_ICMPV6;
  f[L3 + IP6_HOP_LIMIT] = 255;
  // destination = the solicitation's source, then source = the target (the VIP)
  for (let i = 0; i < 16; i++) f[L3 + IP6_DST + i] = f[L3 + IP6_SRC + i]!;
  for (let i = 0; i < 16; i++) f[L3 + IP6_SRC + i] = f[ND_TARGET + i]!;
  f[ICMP] = ND_NEIGHBOR_ADVERT;
  f[ICMP + 1] = 0;
  f[ICMP + 2] = 0;
  f[ICMP + 3] = 0;
  f[ICMP + 4] = NA_SOLICITED_OVERRIDE;
  f[ICMP + 5] = 0;
  f[ICMP + 6] = 0;
  f[ICMP + 7] = 0;
  // the target stays at ND_TARGET; then the target link-layer address option
  f[ND_TARGET + 16] = OPT_TARGET_LLA;
  f[ND_TARGET + 17] = 1;
  writeMac(f, ND_TARGET + 18, mac);
  writeU16(f, ICMP + 2, ~icmp6Sum(f, L3, NA_LEN) & 0xffff);
  return NA_FRAME_LEN;
}

/** True for the ICMPv6 type of a Neighbor Discovery message (router solicitation .. redirect). */
export function isNdType(type: number): boolean {
  return type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT;
}

/**
 * Rule 6b for the ND message of payload length `plen` in `f`: a valid Neighbor Solicitation for one of
 * `vips` (with CFG_NO_ARP in `flags`, none) is rewritten in place into the Neighbor Advertisement
 * (NA_FRAME_LEN bytes: `f` must hold them) and 0 returned; else DROP_ND (not answered: the caller drops
 * or passes it as not for a VIP), or DROP_TX_FAILED when `f` is too short for the answer.
 */
export function answerSolicitation<S extends VipMember>(
  f: Uint8Array,
  plen: number,
  vips: Vip6Table<S>,
  flags: number,
): number {
  if (f[ICMP] !== ND_NEIGHBOR_SOLICIT || !validSolicitation(f, plen)) return DROP_ND;
  if (isUnspecified(f, L3 + IP6_SRC)) return DROP_ND;
  const vip = vips.groupAt(f, ND_TARGET);
  if (vip === undefined || !toTargetOrItsGroup(f) || !toMacOrGroupMac(f, vip.mac)) return DROP_ND;
  if ((flags & CFG_NO_ARP) !== 0) return DROP_ND;
  // The caller's buffer must hold the longer answer (Balancer.outLen); one that cannot is not sent.
  if (f.length < NA_FRAME_LEN) return DROP_TX_FAILED;
  writeAdvertisement(f, vip.mac);
  return 0;
}
