// LeastK: the k entries with the smallest keys out of a stream of any length, in O(k) memory (a
// bounded max-heap). The XDP sessions listing uses it to pick the least idle of up to millions of
// kernel entries, so that only the entries kept ever become objects: ask admits() before building one.

/** Keeps the `limit` entries with the smallest keys (by `cmp`, negative: a before b) seen so far. */
export class LeastK<K, V> {
  readonly limit: number;
  private readonly cmp: (a: K, b: K) => number;
  /** A max-heap on key: heap[0] holds the largest kept key, the first to go. */
  private readonly heap: { key: K; value: V }[] = [];

  constructor(limit: number, cmp: (a: K, b: K) => number) {
    this.limit = Math.max(0, Math.floor(limit));
    this.cmp = cmp;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Whether an entry with `key` would be kept now (room left, or smaller than the largest kept). */
  admits(key: K): boolean {
    if (this.heap.length < this.limit) return true;
    const top = this.heap[0];
    return top !== undefined && this.cmp(key, top.key) < 0;
  }

  /** Adds the entry when admits(key), evicting the largest kept one when full; otherwise nothing. */
  offer(key: K, value: V): void {
    if (!this.admits(key)) return;
    const h = this.heap;
    if (h.length < this.limit) {
      h.push({ key, value });
      this.up(h.length - 1);
    } else {
      h[0] = { key, value };
      this.down(0);
    }
  }

  /** The kept entries, smallest key first. */
  sorted(): { key: K; value: V }[] {
    return [...this.heap].sort((a, b) => this.cmp(a.key, b.key));
  }

  /** Whether heap[i] must sit above heap[j] (its key is larger). */
  private above(i: number, j: number): boolean {
    const a = this.heap[i];
    const b = this.heap[j];
    return a !== undefined && b !== undefined && this.cmp(a.key, b.key) > 0;
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const x = h[i];
    const y = h[j];
    if (x === undefined || y === undefined) return;
    h[i] = y;
    h[j] = x;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    for (;;) {
      const a = 2 * i + 1;
      const b = a + 1;
      let m = i;
      if (a < this.heap.length && this.above(a, m)) m = a;
      if (b < this.heap.length && this.above(b, m)) m = b;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
