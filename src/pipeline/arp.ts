// ARP for IPv4 VIPs in the pipeline (docs/semantics.md, rule 4): a request for a VIP, broadcast or to the
// VIP's frontend MAC, is answered in place from that MAC (unless the frontend mode answers no ARP). The
// balancer (balancer.ts) counts and transmits. Pure and allocation-free.
import { CFG_NO_ARP, DROP_ARP } from '../core/constants.js';
import {
  ARP_HLEN,
  ARP_HTYPE,
  ARP_LEN,
  ARP_OP,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ARP_PLEN,
  ARP_PTYPE,
  ARP_SHA,
  ARP_SPA,
  ARP_THA,
  ARP_TPA,
  copyMac,
  ETH_DST,
  ETH_HLEN,
  ETH_SRC,
  ETHERTYPE_IPV4,
  isBroadcastMac,
  macEquals,
  readU16,
  writeMac,
  writeU16,
} from '../packet/fields.js';
import type { VipMember, VipTable } from './vips.js';

/**
 * Rule 4 for the ARP frame of `len` bytes in `f`: a request for one of `vips` (with CFG_NO_ARP in
 * `flags`, none) is rewritten in place into its reply and 0 returned; else DROP_ARP (the caller drops or
 * passes it as not for a VIP).
 */
export function answerArp<S extends VipMember>(
  f: Uint8Array,
  len: number,
  vips: VipTable<S>,
  flags: number,
): number {
  const a = ETH_HLEN;
  if (
    len < a + ARP_LEN ||
    readU16(f, a + ARP_HTYPE) !== 1 ||
    readU16(f, a + ARP_PTYPE) !== ETHERTYPE_IPV4 ||
    f[a + ARP_HLEN] !== 6 ||
    f[a + ARP_PLEN] !== 4 ||
    readU16(f, a + ARP_OP) !== ARP_OP_REQUEST
  ) {
    return DROP_ARP;
  }
  const svc = vips.groupAt(f, a + ARP_TPA);
  if (svc === undefined) return DROP_ARP;
  if (!isBroadcastMac(f, ETH_DST) && !macEquals(f, ETH_DST, svc.mac)) return DROP_ARP;
  // ROUTED or standby: no ARP for a VIP is answered
  if ((flags & CFG_NO_ARP) !== 0) return DROP_ARP;
  // Reply in place.
  const t0 = f[a + ARP_TPA]!;
  const t1 = f[a + ARP_TPA + 1]!;
  const t2 = f[a + ARP_TPA + 2]!;
  const t3 = f[a + ARP_TPA + 3]!;
  copyMac(f, ETH_DST, ETH_SRC);
  writeMac(f, ETH_SRC, svc.mac);
  writeU16(f, a + ARP_OP, ARP_OP_REPLY);
  copyMac(f, a + ARP_THA, a + ARP_SHA);
  f[a + ARP_TPA] = f[a + ARP_SPA]!;
  f[a + ARP_TPA + 1] = f[a + ARP_SPA + 1]!;
  f[a + ARP_TPA + 2] = f[a + ARP_SPA + 2]!;
  f[a + ARP_TPA + 3] = f[a + ARP_SPA + 3]!;
  writeMac(f, a + ARP_SHA, svc.mac);
  // Sender IP = the VIP, which is what the request asked for: the saved target address bytes.
  f[a + ARP_SPA] = t0;
  f[a + ARP_SPA + 1] = t1;
  f[a + ARP_SPA + 2] = t2;
  f[a + ARP_SPA + 3] = t3;
  return 0;
}
