// Hash flooding of the session table (issue 9, item 6): the flow keys an attacker would craft against the
// table's old fixed bucket hash (by walking that hash backwards, it was invertible), and the lookup rate of
// a table holding such a flood against one holding as many ordinary flows. With the table's hash keyed by
// a random secret the two rates are alike; with the old hash every crafted lookup walked one long chain.
// The unit test of the table (test/unit/session-hash-flood.test.ts) uses the same crafting.
import { performance } from 'node:perf_hooks';
import { SessionTable } from '../src/pipeline/session-table.js';

/** Multiplicative inverse of an odd constant modulo 2^32 (Newton's iteration). */
function inverse(c: number): number {
  let x = c;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(c, x));
  return x >>> 0;
}

/** Inverse of h ^= h >>> s on 32 bits. */
function unshift(v: number, s: number): number {
  let h = v >>> 0;
  for (let i = 0; i < 32; i += s) h = (v ^ (h >>> s)) >>> 0;
  return h;
}

/** The session table's bucket hash before it was keyed (kept here to craft the flood against). */
export function oldMix(k0: number, k1: number, k2: number, k3: number): number {
  let h = Math.imul(k0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ k1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ k2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ k3, 0x27d4eb2f);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * `n` distinct ports words that all fall into bucket 0 of a table with bucket mask `mask` under the old
 * hash, for the flow (src, dst, *, proto): choose the hash values, then invert the hash to the ports word.
 */
export function craftOldHashFlood(
  src: number,
  dst: number,
  proto: number,
  n: number,
  mask: number,
): number[] {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  const before = (h ^ (h >>> 13)) >>> 0;
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const h3 = unshift((i * (mask + 1)) & 0x3fffffff, 15);
    const h2 = unshift((Math.imul(h3, inverse(0x27d4eb2f)) ^ proto) >>> 0, 16);
    out.push((Math.imul(h2, inverse(0x85ebca6b)) ^ before) >>> 0);
  }
  return out;
}

export interface HashFloodResult {
  /** Lookups per second over a table holding the crafted flood. */
  crafted: number;
  /** Lookups per second over a table holding as many ordinary flows. */
  random: number;
  /** Longest bucket chain of the table holding the flood. */
  longestChain: number;
}

function lookupRate(t: SessionTable, src: number, dst: number, ports: Uint32Array, rounds: number): number {
  const t0 = performance.now();
  let found = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ports.length; i++) if (t.find(src, dst, ports[i]!, 6) !== -1) found++;
  }
  const ms = performance.now() - t0;
  if (found !== ports.length * rounds) throw new Error('a flooded flow was not found');
  return (found / ms) * 1000;
}

/** `n` flows crafted against the old hash, then the same number of ordinary flows. */
export function measureHashFlood(n = 4000, rounds = 200): HashFloodResult {
  const SRC = 0x0b000001;
  const VIP = 0x0a000064;
  const crafted = new SessionTable(n);
  const keys = Uint32Array.from(craftOldHashFlood(SRC, VIP, 6, n, 2 * 4096 - 1));
  for (const p of keys) crafted.insert(SRC, VIP, p, 6, 1, 0, 0);
  const plain = new SessionTable(n);
  const ordinary = Uint32Array.from({ length: n }, (_, i) => (((40000 + i) << 16) | 80) >>> 0);
  for (const p of ordinary) plain.insert(SRC, VIP, p, 6, 1, 0, 0);
  return {
    crafted: lookupRate(crafted, SRC, VIP, keys, rounds),
    random: lookupRate(plain, SRC, VIP, ordinary, rounds),
    longestChain: crafted.longestChain(),
  };
}
