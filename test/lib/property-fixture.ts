// What the pipeline's property tests share (test/unit/property.test.ts, property6.test.ts): the
// instance they balance for (a VIP, an IPv6 VIP when asked, three backends), the run count, and a
// datagram's fragments: split in pieces of a random size, the ones after the first reordered.
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { Balancer } from '../../src/pipeline/balancer.js';

export const VIP = '10.0.0.100';
export const VIP6 = 'fd00::100';
export const FE_MAC = 'aa:bb:cc:dd:ee:ff';
export const BP_MAC = '02:00:00:00:be:01';
export const CLIENT_MAC = '52:54:00:00:00:01';
export const POOL = [
  { id: 1, mac: '01:01:01:01:01:01' },
  { id: 2, mac: '02:02:02:02:02:02' },
  { id: 3, mac: '03:03:03:03:03:03' },
];
export const POOL_IDS = POOL.map((b) => b.id);
export const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);

type Algorithm = InstanceConfig['algorithm'];

/** The instance: VIP (and VIP6 when `dualStack`) at FE_MAC with POOL. */
export function propertyConfig(algorithm: Algorithm = 'HASH_SESSION', capacity = 10_000, dualStack = false) {
  const config: InstanceConfig = {
    name: dualStack ? 'prop6' : 'prop',
    loglevel: 'INFO',
    algorithm,
    ports: [],
    frontend: dualStack ? { vip: VIP, vip6: VIP6, mac: FE_MAC } : { vip: VIP, mac: FE_MAC },
    backend: { pool: POOL },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity },
  };
  return config;
}

/** A balancer configured with propertyConfig (the backend port's MAC BP_MAC). */
export function propertyBalancer(
  algorithm: Algorithm = 'HASH_SESSION',
  capacity = 10_000,
  dualStack = false,
) {
  const b = new Balancer({ capacity });
  b.configure(propertyConfig(algorithm, capacity, dualStack), BP_MAC);
  return b;
}

/**
 * The fragments of the transport datagram `l4` in pieces of `unit` * 8 bytes (the first carries the
 * transport header), each made a frame by `frame(piece, offset in 8-byte units, more follow)`.
 */
export function fragmentsOf(
  l4: Uint8Array,
  unit: number,
  frame: (piece: Uint8Array, offset8: number, more: boolean) => Uint8Array,
): Uint8Array[] {
  const step = unit * 8;
  const out: Uint8Array[] = [];
  for (let off = 0; off < l4.length; off += step)
    out.push(frame(l4.slice(off, off + step), off / 8, off + step < l4.length));
  return out;
}

/** `xs` shuffled in place (Fisher-Yates) by the random stream `rnd`; returns `xs`. */
export function shuffle<T>(xs: T[], rnd: Iterable<number>): T[] {
  const it = rnd[Symbol.iterator]();
  for (let i = xs.length - 1; i > 0; i--) {
    const j = (it.next().value as number) % (i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
