// The addresses of an instance document as the daemon stores them (docs/api.md, "IPv6"): a VIP is IPv4 or
// IPv6 text, `vip6` an IPv6 VIP that makes an IPv4 service dual-stack, a backend's `ip` IPv4 or IPv6.
// IPv6 text is stored and shown in its RFC 5952 form (formatIpv6), whatever way it was written, so that
// GET shows one spelling and a re-applied document compares equal. Bad IPv6 text is LBDSR_BAD_IPV6 here;
// whether a VIP may be a VIP (unicast, one MAC per VIP, distinct services) is the pipeline's check when
// the change is planned (src/pipeline/desired.ts), as for IPv4.
import { formatIpv4, formatIpv6, looksIpv6, parseIpv4, parseIpv6 } from '../core/addr.js';
import { LbdsrError } from '../core/errors.js';

/** IPv6 text in its RFC 5952 form; LBDSR_BAD_IPV6 (naming `what`) when it is not IPv6 text. */
export function canonicalIpv6(text: string, what: string): string {
  return formatIpv6(parseIpv6Of(text, what));
}

/**
 * A service's (or the frontend's) VIPs as stored: `vip` trimmed (IPv6 normalised), `vip6` normalised. A
 * `vip6` must be IPv6 text and needs an IPv4 `vip` beside it (an IPv6-only service writes its VIP as
 * `vip`): LBDSR_BAD_IPV6, LBDSR_BAD_VALUE.
 */
export function canonicalVips(
  vip: string | undefined,
  vip6: string | undefined,
  where: string,
): { vip?: string; vip6?: string } {
  const out: { vip?: string; vip6?: string } = {};
  if (vip !== undefined) {
    const t = vip.trim();
    out.vip = looksIpv6(t) ? canonicalIpv6(t, `${where} vip`) : t;
  }
  if (vip6 === undefined) return out;
  if (!looksIpv6(vip6)) {
    throw new LbdsrError(
      'LBDSR_BAD_IPV6',
      `${where} vip6 '${vip6}' is not an IPv6 address (vip6 is the IPv6 VIP of a dual-stack service)`,
    );
  }
  const v6 = canonicalIpv6(vip6, `${where} vip6`);
  if (out.vip === undefined || looksIpv6(out.vip)) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${where}: vip6 ${v6} makes an IPv4 service dual-stack, but its vip is ${out.vip === undefined ? 'not set' : `${out.vip}, IPv6 already`} (an IPv6-only service writes its VIP as vip)`,
    );
  }
  out.vip6 = v6;
  return out;
}

/**
 * A backend's `ip` in its canonical text: a unicast IPv4 host address (LBDSR_BAD_IPV4), or an IPv6
 * address that is not unspecified, loopback, multicast or IPv4-mapped (LBDSR_BAD_IPV6): its MAC is
 * found by ARP or by Neighbor Discovery on the BACKEND port.
 */
export function checkBackendIp(text: string, what: string): string {
  if (!looksIpv6(text)) return checkHostIp(text, what);
  const b = parseIpv6Of(text, what);
  const zeroUpTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const bad =
    (zeroUpTo(15) && (b[15] === 0 || b[15] === 1)) ||
    b[0] === 0xff ||
    (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff);
  if (bad) {
    throw new LbdsrError(
      'LBDSR_BAD_IPV6',
      `${what} ${text} is not a unicast host address (unspecified, loopback, multicast and IPv4-mapped are not; write an IPv4 server as IPv4)`,
    );
  }
  return formatIpv6(b);
}

/** parseIpv6 with `what` named in its LBDSR_BAD_IPV6. */
function parseIpv6Of(text: string, what: string): Uint8Array {
  try {
    return parseIpv6(text);
  } catch (e) {
    if (e instanceof LbdsrError)
      throw new LbdsrError('LBDSR_BAD_IPV6', `${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A unicast IPv4 host address in its canonical text; `what` names it in the error. */
export function checkHostIp(text: string, what: string): string {
  const v = parseIpv4(text);
  const a = v >>> 24;
  if (a === 0 || a === 127 || a >= 224) {
    throw new LbdsrError('LBDSR_BAD_IPV4', `${what} ${text} is not a unicast host address`);
  }
  return formatIpv4(v);
}
