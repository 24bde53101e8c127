// Bounded session table in typed arrays: chained hash buckets plus an intrusive doubly linked LRU list.
// Each entry is one 64-byte record (array of structs) so a lookup touches one cache line for the entry
// instead of one per field. Lookups, inserts and evictions allocate nothing; storage grows by doubling up
// to `capacity` (a small instance does not pay for a million entries) and never beyond it: a flood of new
// flows evicts the least recently used entry instead of growing. A new capacity is a new table holding the
// most recently used entries that fit (withCapacity). The bucket hash is keyed by a secret drawn at random
// per table (or derived from a seed, for deterministic tests), so spoofed flows cannot be crafted to pile
// into one bucket; where an entry lives never changes what a lookup finds.

const NIL = -1;
const INITIAL = 1024;

// Record layout, in 32-bit words.
const STRIDE = 16;
const W_SRC = 0;
const W_DST = 1;
const W_PORTS = 2;
const W_PROTO = 3;
const W_BACKEND = 4;
const W_SLOT = 5;
const W_CHAIN = 6;
const W_PREV = 7;
const W_NEXT = 8;
const W_HASH = 9;
/** lastSeen is a float64 at word 10..11, i.e. f64 index e * 8 + 5. */
const F64_LAST = 5;

export type SessionVisitor = (
  src: number,
  dst: number,
  sport: number,
  dport: number,
  proto: number,
  backendId: number,
  slot: number,
  lastSeenMs: number,
) => void;

/**
 * Bucket hash of the key words k[0..3] under the table's secret key s[0..3]; kept below 2^30 so it is never
 * boxed. The key enters every round and a final avalanche follows, so without the key the bucket of a flow
 * cannot be computed (a fixed hash could be inverted: crafted flows all landed in one bucket and made each
 * lookup walk a chain thousands long). Not a cryptographic MAC, but a per-table secret the traffic never sees.
 */
function mix(k: Uint32Array, s: Uint32Array): number {
  let h = Math.imul(k[0]! ^ s[0]!, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ k[1]! ^ s[1]!, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ k[2]! ^ s[2]!, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ k[3]! ^ s[3]!, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ s[0]!, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/** The four key words derived from a 32-bit seed (splitmix32), for deterministic tables. */
function keyFromSeed(seed: number): Uint32Array {
  const key = new Uint32Array(4);
  let x = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    key[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return key;
}

export interface SessionTableOptions {
  /**
   * Seed of the bucket hash's key, for deterministic tests and corpora. Without it the key is drawn at
   * random (globalThis.crypto) per table. Which bucket holds an entry never changes a decision.
   */
  seed?: number;
}

function bucketCount(n: number): number {
  let b = 16;
  while (b < n * 2) b <<= 1;
  return b;
}

export class SessionTable {
  readonly capacity: number;
  private size = 0;
  private allocated = 0;
  private limit: number;
  private u32: Uint32Array;
  private i32: Int32Array;
  private f64: Float64Array;
  private buckets: Int32Array;
  private mask: number;
  private head = NIL;
  private tail = NIL;
  private freeHead = NIL;
  /** Entries pushed out by LRU eviction since creation. */
  evictions = 0;

  /** The seed given at construction, or undefined when the key was drawn at random. */
  readonly seed: number | undefined;
  /** Secret key of the bucket hash (4 words). */
  private readonly key: Uint32Array;

  /** `key` is for withCapacity: the resized table keeps the hash key of the table it replaces. */
  constructor(capacity: number, options: SessionTableOptions = {}, key?: Uint32Array) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`session capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.seed = options.seed;
    this.key =
      key ??
      (options.seed === undefined
        ? globalThis.crypto.getRandomValues(new Uint32Array(4))
        : keyFromSeed(options.seed));
    this.limit = Math.min(capacity, INITIAL);
    const buf = new ArrayBuffer(this.limit * STRIDE * 4);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    const nb = bucketCount(this.limit);
    this.buckets = new Int32Array(nb).fill(NIL);
    this.mask = nb - 1;
  }

  get count(): number {
    return this.size;
  }

  /** Scratch key for the number-argument convenience forms. */
  private readonly scratch = new Uint32Array(4);

  /**
   * Index of the entry for the key `k[0..3]` = (src, dst, sport << 16 | dport, proto), or -1. Does not
   * touch recency. Keys travel in a Uint32Array so that no uint32 above 2^30 is boxed (allocated) on the
   * per-frame path.
   */
  findKey(k: Uint32Array): number {
    const u = this.u32;
    const src = k[0]!;
    const dst = k[1]!;
    const ports = k[2]!;
    const proto = k[3]!;
    for (
      let e = this.buckets[mix(k, this.key) & this.mask]!;
      e !== NIL;
      e = this.i32[e * STRIDE + W_CHAIN]!
    ) {
      const o = e * STRIDE;
      if (
        u[o + W_SRC] === src &&
        u[o + W_DST] === dst &&
        u[o + W_PORTS] === ports &&
        u[o + W_PROTO] === proto
      ) {
        return e;
      }
    }
    return NIL;
  }

  /** findKey with the key as numbers (control plane and tests). */
  find(src: number, dst: number, portsWord: number, proto: number): number {
    this.setScratch(src, dst, portsWord, proto);
    return this.findKey(this.scratch);
  }

  /** insertKey with the key as numbers (control plane and tests). */
  insert(
    src: number,
    dst: number,
    portsWord: number,
    proto: number,
    backendId: number,
    slot: number,
    nowMs: number,
  ): number {
    this.setScratch(src, dst, portsWord, proto);
    return this.insertKey(this.scratch, backendId, slot, nowMs);
  }

  private setScratch(src: number, dst: number, ports: number, proto: number): void {
    const k = this.scratch;
    k[0] = src;
    k[1] = dst;
    k[2] = ports;
    k[3] = proto;
  }

  /** True when entry `e` points at backend `id`. */
  backendIs(e: number, id: number): boolean {
    return this.u32[e * STRIDE + W_BACKEND] === id;
  }

  backendIdAt(e: number): number {
    return this.u32[e * STRIDE + W_BACKEND]!;
  }
  slotAt(e: number): number {
    return this.u32[e * STRIDE + W_SLOT]!;
  }
  lastSeenAt(e: number): number {
    return this.f64[e * 8 + F64_LAST]!;
  }

  /** Marks the entry used now: refreshes its time and moves it to the front of the LRU list. */
  touch(e: number, nowMs: number): void {
    this.f64[e * 8 + F64_LAST] = nowMs;
    if (this.head !== e) {
      this.unlinkLru(e);
      this.pushFront(e);
    }
  }

  /** Overwrites the target of an existing entry (re-balance after expiry or backend removal). */
  retarget(e: number, backendId: number, slot: number, nowMs: number): void {
    this.u32[e * STRIDE + W_BACKEND] = backendId;
    this.u32[e * STRIDE + W_SLOT] = slot;
    this.touch(e, nowMs);
  }

  /** Inserts the key `k[0..3]`, known to be absent; evicts the least recently used entry when full. */
  insertKey(k: Uint32Array, backendId: number, slot: number, nowMs: number): number {
    let e: number;
    if (this.freeHead !== NIL) {
      e = this.freeHead;
      this.freeHead = this.i32[e * STRIDE + W_CHAIN]!;
    } else if (this.allocated < this.limit) {
      e = this.allocated++;
    } else if (this.limit < this.capacity) {
      this.grow();
      e = this.allocated++;
    } else {
      e = this.tail;
      this.unlinkBucket(e);
      this.unlinkLru(e);
      this.size--;
      this.evictions++;
    }
    const u = this.u32;
    const o = e * STRIDE;
    u[o + W_SRC] = k[0]!;
    u[o + W_DST] = k[1]!;
    u[o + W_PORTS] = k[2]!;
    u[o + W_PROTO] = k[3]!;
    u[o + W_BACKEND] = backendId;
    u[o + W_SLOT] = slot;
    const h = mix(k, this.key);
    u[o + W_HASH] = h;
    const b = h & this.mask;
    this.i32[o + W_CHAIN] = this.buckets[b]!;
    this.buckets[b] = e;
    this.f64[e * 8 + F64_LAST] = nowMs;
    this.pushFront(e);
    this.size++;
    return e;
  }

  /** Removes one entry by index. */
  remove(e: number): void {
    this.unlinkBucket(e);
    this.unlinkLru(e);
    this.i32[e * STRIDE + W_CHAIN] = this.freeHead;
    this.freeHead = e;
    this.size--;
  }

  clear(): void {
    this.buckets.fill(NIL);
    this.head = NIL;
    this.tail = NIL;
    this.freeHead = NIL;
    this.size = 0;
    this.allocated = 0;
  }

  /**
   * A table of another capacity holding the most recently used entries that fit, in their recency
   * order; the eviction count carries over (a resize is not an eviction).
   */
  withCapacity(capacity: number): SessionTable {
    const next = new SessionTable(capacity, { seed: this.seed }, this.key);
    const rows: number[][] = [];
    this.forEach(
      (src, dst, sport, dport, proto, id, slot, last) => {
        rows.push([src, dst, ((sport << 16) | dport) >>> 0, proto, id, slot, last]);
      },
      Math.min(this.size, capacity),
    );
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      next.insert(r[0]!, r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!);
    }
    next.evictions = this.evictions;
    return next;
  }

  /** Visits entries from the most to the least recently used; stops after `limit`. */
  forEach(visit: SessionVisitor, limit = Number.POSITIVE_INFINITY): void {
    const u = this.u32;
    let n = 0;
    for (let e = this.head; e !== NIL && n < limit; e = this.i32[e * STRIDE + W_NEXT]!, n++) {
      const o = e * STRIDE;
      const ports = u[o + W_PORTS]!;
      visit(
        u[o + W_SRC]!,
        u[o + W_DST]!,
        ports >>> 16,
        ports & 0xffff,
        u[o + W_PROTO]!,
        u[o + W_BACKEND]!,
        u[o + W_SLOT]!,
        this.f64[e * 8 + F64_LAST]!,
      );
    }
  }

  private pushFront(e: number): void {
    const l = this.i32;
    l[e * STRIDE + W_PREV] = NIL;
    l[e * STRIDE + W_NEXT] = this.head;
    if (this.head !== NIL) l[this.head * STRIDE + W_PREV] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
  }

  private unlinkLru(e: number): void {
    const l = this.i32;
    const p = l[e * STRIDE + W_PREV]!;
    const n = l[e * STRIDE + W_NEXT]!;
    if (p !== NIL) l[p * STRIDE + W_NEXT] = n;
    else this.head = n;
    if (n !== NIL) l[n * STRIDE + W_PREV] = p;
    else this.tail = p;
  }

  private unlinkBucket(e: number): void {
    const l = this.i32;
    const b = this.u32[e * STRIDE + W_HASH]! & this.mask;
    let cur = this.buckets[b]!;
    if (cur === e) {
      this.buckets[b] = l[e * STRIDE + W_CHAIN]!;
      return;
    }
    while (cur !== NIL) {
      const nx = l[cur * STRIDE + W_CHAIN]!;
      if (nx === e) {
        l[cur * STRIDE + W_CHAIN] = l[e * STRIDE + W_CHAIN]!;
        return;
      }
      cur = nx;
    }
  }

  /** Bucket of a key in this table (a diagnostic for tests, not for the frame path). */
  bucketOf(src: number, dst: number, portsWord: number, proto: number): number {
    this.setScratch(src, dst, portsWord, proto);
    return mix(this.scratch, this.key) & this.mask;
  }

  /** Length of the longest bucket chain (a diagnostic for tests and benches, not for the frame path). */
  longestChain(): number {
    let longest = 0;
    for (let b = 0; b <= this.mask; b++) {
      let n = 0;
      for (let e = this.buckets[b]!; e !== NIL; e = this.i32[e * STRIDE + W_CHAIN]!) n++;
      if (n > longest) longest = n;
    }
    return longest;
  }

  private grow(): void {
    this.limit = Math.min(this.capacity, this.limit * 2);
    const buf = new ArrayBuffer(this.limit * STRIDE * 4);
    const u32 = new Uint32Array(buf);
    u32.set(this.u32);
    this.u32 = u32;
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    const nb = bucketCount(this.limit);
    if (nb - 1 !== this.mask) {
      this.buckets = new Int32Array(nb).fill(NIL);
      this.mask = nb - 1;
      // Re-chain every live entry (walk the LRU list: free entries are not in it).
      for (let e = this.head; e !== NIL; e = this.i32[e * STRIDE + W_NEXT]!) {
        const b = this.u32[e * STRIDE + W_HASH]! & this.mask;
        this.i32[e * STRIDE + W_CHAIN] = this.buckets[b]!;
        this.buckets[b] = e;
      }
    }
  }
}
