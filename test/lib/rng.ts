// A small deterministic generator for tests (xorshift32): the same seed gives the same numbers, so a
// failure can be replayed.

/** uint32 values from `seed` (0 counts as 1). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
