// Bob Jenkins' lookup3 as the Linux kernel implements it (include/linux/jhash.h), bit-exact.
// Only jhash2 (u32 words) is needed: the XDP program hashes the same words.

export const JHASH_INITVAL = 0xdeadbeef;

/**
 * x rotated left by k bits, as an int32 (not `>>> 0`: a uint32 above 2^30 returned from a call V8 did not
 * inline is boxed); every caller folds the result into uint32 arithmetic ending in `>>> 0`, which gives
 * the same bits for either sign.
 */
function rol32(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const RESULT = new Uint32Array(1);

/**
 * jhash2(k, length, initval): hashes `length` u32 words of `k` starting at `off`.
 * Allocation-free; all arithmetic is kept in uint32 with `>>> 0`.
 */
export function jhash2(k: Uint32Array, off: number, length: number, initval: number): number {
  jhash2Into(k, off, length, initval, RESULT, 0);
  return RESULT[0]!;
}

/**
 * The same hash, written to `out[outIdx]` instead of returned. The per-frame path uses this form: a
 * uint32 above 2^30 returned from a call V8 did not inline is boxed into a heap number, i.e. allocated.
 */
export function jhash2Into(
  k: Uint32Array,
  off: number,
  length: number,
  initval: number,
  out: Uint32Array,
  outIdx: number,
): void {
  let a = (JHASH_INITVAL + (length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = off;
  let n = length;
  while (n > 3) {
    a = (a + k[i]!) >>> 0;
    b = (b + k[i + 1]!) >>> 0;
    c = (c + k[i + 2]!) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0;
    a = (a ^ rol32(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rol32(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rol32(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rol32(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rol32(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rol32(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    n -= 3;
    i += 3;
  }
  if (n === 0) {
    out[outIdx] = c;
    return;
  }
  // The tail: up to 3 remaining words, then __jhash_final.
  if (n === 3) c = (c + k[i + 2]!) >>> 0;
  if (n >= 2) b = (b + k[i + 1]!) >>> 0;
  a = (a + k[i]!) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 24)) >>> 0;
  out[outIdx] = c;
}
