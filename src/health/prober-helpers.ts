// Small pure helpers of the health prober (prober.ts): its event handlers guarded against throwing,
// backend addresses as keys of either family, Ethernet destination checks, grouping of targets, and
// whether a target's probe stayed the same across an update.
import { formatIpv6, looksIpv6, parseIpv4, parseIpv6 } from '../core/addr.js';
import type { Addr } from './frames.js';
import type { ProberEvents, ProberLog, ProbeTarget } from './types.js';

/**
 * The daemon's handlers, each call caught and logged: a failing handler must not cut a tick short
 * (the frames and probes after it would wait, or be lost).
 */
export function guarded(e: ProberEvents, log: ProberLog): ProberEvents {
  const safe =
    <A extends unknown[]>(name: string, f: (...a: A) => void) =>
    (...a: A): void => {
      try {
        f(...a);
      } catch (err) {
        log(
          'error',
          `health prober: the ${name} handler failed: ${err instanceof Error ? err.message : err}`,
        );
      }
    };
  const probe = e.probe;
  return {
    mac: safe('mac', (k, m, at) => e.mac(k, m, at)),
    macSilent: safe('macSilent', (k, since) => e.macSilent(k, since)),
    health: safe('health', (k, h, r, at) => e.health(k, h, r, at)),
    ...(probe
      ? { probe: safe('probe', (k: string, ok: boolean, ms: number) => probe.call(e, k, ok, ms)) }
      : {}),
    arpFlux: safe('arpFlux', (vip, macs) => e.arpFlux(vip, macs)),
  };
}

/** The key of a backend address: IPv4 host order, or IPv6 RFC 5952 text. */
export function addrOf(text: string): Addr {
  return looksIpv6(text) ? formatIpv6(parseIpv6(text)) : parseIpv4(text);
}

/** Whether the Ethernet destination of `b` is `mac`. */
export function sameMac(b: Uint8Array, mac: Uint8Array | undefined): boolean {
  if (!mac) return false;
  for (let i = 0; i < 6; i++) if (b[i] !== mac[i]) return false;
  return true;
}

export function groupBy<T, K>(items: Iterable<T>, keyOf: (t: T) => K | undefined): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const t of items) {
    const k = keyOf(t);
    if (k === undefined) continue;
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

/** Whether a target's probe is the same after an update (then its counters carry over). */
export function sameProbe(a: ProbeTarget, b: ProbeTarget): boolean {
  if (a.vip !== b.vip || a.ip !== b.ip || a.mac !== b.mac) return false;
  const x = a.check;
  const y = b.check;
  if (!x || !y) return x === y;
  return (
    x.type === y.type &&
    x.port === y.port &&
    x.path === y.path &&
    x.expect === y.expect &&
    x.body === y.body &&
    x.payload === y.payload
  );
}
