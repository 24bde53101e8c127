// A straightforward reference of docs/semantics.md's backend choice (jhash2 + Maglev) and of which
// misses are recorded (isTcpNonSyn), written from the document and independently of src/core/maglev.ts. The corpus generator uses it to
// compute expected backends; test/unit/maglev.test.ts checks it against the C oracle
// (test/vectors/tools/known-values.c) and the product's Maglev against it.
import { jhash2 } from '../../src/core/jhash.js';

export const M = 65537;
const OFFSET_SEED = 0x4d41474c;
const SKIP_SEED = 0x45563031;

const one = new Uint32Array(1);
function hashId(id: number, seed: number): number {
  one[0] = id;
  return jhash2(one, 0, 1, seed);
}

/** The Maglev table as backend ids (-1 when the pool is empty), M entries. */
export function referenceMaglev(ids: readonly number[], size = M): Float64Array {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const table = new Float64Array(size).fill(-1);
  const n = sorted.length;
  if (n === 0) return table;
  const offset = sorted.map((id) => hashId(id, OFFSET_SEED) % size);
  const skip = sorted.map((id) => (hashId(id, SKIP_SEED) % (size - 1)) + 1);
  const next = new Array<number>(n).fill(0);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = (offset[i]! + next[i]! * skip[i]!) % size;
      while (table[c] !== -1) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % size;
      }
      table[c] = sorted[i]!;
      next[i]!++;
      if (++filled === size) return table;
    }
  }
}

/**
 * docs/semantics.md, "Session floods": whether an Ethernet frame is an unfragmented IPv4 TCP segment
 * without the SYN flag (one whose miss is not recorded unless the instance records those). Read from
 * the bytes, independently of src/packet.
 */
export function isTcpNonSyn(frame: Uint8Array): boolean {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return false;
  if (((frame[20]! << 8) | frame[21]!) & 0x3fff) return false;
  const l4 = 14 + (frame[14]! & 0x0f) * 4;
  return frame.length > l4 + 13 && (frame[l4 + 13]! & 0x02) === 0;
}

export interface FlowKey {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
}

const words = new Uint32Array(4);
/** The hash of docs/semantics.md rule 11 for an algorithm ('HASH_SESSION' | 'HASH_SRC_IP'). */
export function flowHash(key: FlowKey, algorithm: string): number {
  words[0] = key.src;
  if (algorithm === 'HASH_SRC_IP') return jhash2(words, 0, 1, 0);
  words[1] = key.dst;
  words[2] = ((key.sport << 16) | key.dport) >>> 0;
  words[3] = key.proto;
  return jhash2(words, 0, 4, 0);
}

/** Backend id Maglev picks for a key, or undefined for an empty pool. Caches tables by pool. */
const cache = new Map<string, Float64Array>();
export function referencePick(pool: readonly number[], algorithm: string, key: FlowKey): number | undefined {
  const k = [...pool].sort((a, b) => a - b).join(',');
  let t = cache.get(k);
  if (!t) {
    t = referenceMaglev(pool);
    cache.set(k, t);
  }
  const id = t[flowHash(key, algorithm) % M]!;
  return id === -1 ? undefined : id;
}
