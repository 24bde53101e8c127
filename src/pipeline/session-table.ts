// Bounded session table in typed arrays: chained hash buckets plus an intrusive doubly linked LRU list.
// Each entry is one record (array of structs: 64 bytes for IPv4 keys of 4 words, 96 for IPv6 keys of 10
// words) so a lookup touches one or two cache lines for the entry instead of one per field. Lookups, inserts and evictions allocate nothing; storage grows by doubling up
// to `capacity` (a small instance does not pay for a million entries) and never beyond it: a flood of new
// flows evicts the least recently used entry instead of growing. A new capacity is a new table holding the
// most recently used entries that fit (withCapacity). The bucket hash is keyed by a secret drawn at random
// per table (or derived from a seed, for deterministic tests), so spoofed flows cannot be crafted to pile
// into one bucket; where an entry lives never changes what a lookup finds.

const NIL = -1;
const INITIAL = 1024;

// Record layout, in 32-bit words after the key's `words` words (4: IPv4 [src, dst, ports, proto]; 10:
// IPv6 [src0..3, dst0..3, ports, proto]); the last-seen time is a float64 after them.
const W_BACKEND = 0;
const W_SLOT = 1;
const W_CHAIN = 2;
const W_PREV = 3;
const W_NEXT = 4;
const W_HASH = 5;
/** The float64 last-seen time at words 6..7 after the key. */
const W_LAST = 6;
/** Key lengths in words: an IPv4 flow, an IPv6 flow (or fragment identity). */
export const KEY_WORDS_V4 = 4;
export const KEY_WORDS_V6 = 10;

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

/**
 * mix() for 10-word (IPv6) keys: two lanes of mix()'s rounds, one over the source address and the
 * ports, one over the destination address and the protocol, each keyed by the secret in every round,
 * then joined and avalanched as in mix(). Every key word enters; the two dependency chains of 5
 * multiplications run side by side instead of one chain of 10 (the hash is on the per-frame path).
 */
function mix10(k: Uint32Array, s: Uint32Array): number {
  const s0 = s[0]!;
  const s1 = s[1]!;
  const s2 = s[2]!;
  const s3 = s[3]!;
  let a = Math.imul(k[0]! ^ s0, 0x85ebca6b);
  let b = Math.imul(k[4]! ^ s2, 0xc2b2ae35);
  a = Math.imul(a ^ (a >>> 15) ^ k[1]! ^ s1, 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 15) ^ k[5]! ^ s3, 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13) ^ k[2]! ^ s2, 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 13) ^ k[6]! ^ s0, 0x27d4eb2f);
  a = Math.imul(a ^ (a >>> 16) ^ k[3]! ^ s3, 0x27d4eb2f);
  b = Math.imul(b ^ (b >>> 16) ^ k[7]! ^ s1, 0xc2b2ae35);
  a = Math.imul(a ^ (a >>> 15) ^ k[8]! ^ s0, 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 15) ^ k[9]! ^ s2, 0x85ebca6b);
  let h = Math.imul(a ^ (a >>> 13) ^ b ^ (b >>> 16) ^ s1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
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
  /** Key length in words: KEY_WORDS_V4 (default) or KEY_WORDS_V6. */
  words?: number;
}

function bucketCount(n: number): number {
  let b = 16;
  while (b < n * 2) b <<= 1;
  return b;
}

export class SessionTable {
  readonly capacity: number;
  /** Key length in words (KEY_WORDS_V4 or KEY_WORDS_V6). */
  readonly words: number;
  /** Record length in words (a multiple of 2: the float64 time stays aligned). */
  private readonly stride: number;
  /** Offsets, precomputed: the record in float64s, the time in it; backend and slot words. */
  private readonly f64Stride: number;
  private readonly f64Last: number;
  private readonly oBackend: number;
  private readonly oSlot: number;
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
    const words = options.words ?? KEY_WORDS_V4;
    if (words !== KEY_WORDS_V4 && words !== KEY_WORDS_V6) {
      throw new RangeError(`session key length must be 4 or 10 words, got ${words}`);
    }
    this.capacity = capacity;
    this.words = words;
    this.stride = words === KEY_WORDS_V4 ? 16 : 24;
    this.f64Stride = this.stride >> 1;
    this.f64Last = (words + W_LAST) >> 1;
    this.oBackend = words + W_BACKEND;
    this.oSlot = words + W_SLOT;
    this.scratch = new Uint32Array(words);
    this.seed = options.seed;
    this.key =
      key ??
      (options.seed === undefined
        ? globalThis.crypto.getRandomValues(new Uint32Array(4))
        : keyFromSeed(options.seed));
    this.limit = Math.min(capacity, INITIAL);
    const buf = new ArrayBuffer(this.limit * this.stride * 4);
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

  /**
   * The bucket hash of the key of the last findKey (below 2^30: never boxed), for an insertKey of the
   * same key that follows it (a miss then its insert hash the key once).
   */
  lastHash = 0;

  /** Scratch key for the number-argument convenience forms and for withCapacity. */
  private readonly scratch: Uint32Array;

  private hashOf(k: Uint32Array): number {
    return this.words === KEY_WORDS_V4 ? mix(k, this.key) : mix10(k, this.key);
  }

  /** True when the key words of the record at `o` equal k[0..words). */
  private sameKey(o: number, k: Uint32Array): boolean {
    const u = this.u32;
    if (this.words === KEY_WORDS_V4) {
      return u[o] === k[0] && u[o + 1] === k[1] && u[o + 2] === k[2] && u[o + 3] === k[3];
    }
    for (let i = 0; i < KEY_WORDS_V6; i++) if (u[o + i] !== k[i]) return false;
    return true;
  }

  /**
   * Index of the entry for the key `k[0..words)` (IPv4: src, dst, sport << 16 | dport, proto; IPv6: the
   * 4 words of src, of dst, then ports and proto), or -1. Does not touch recency. Keys travel in a
   * Uint32Array so that no uint32 above 2^30 is boxed (allocated) on the per-frame path.
   */
  findKey(k: Uint32Array): number {
    const sz = this.stride;
    const chain = this.words + W_CHAIN;
    const h = this.hashOf(k);
    this.lastHash = h;
    for (let e = this.buckets[h & this.mask]!; e !== NIL; e = this.i32[e * sz + chain]!) {
      if (this.sameKey(e * sz, k)) return e;
    }
    return NIL;
  }

  /** findKey with an IPv4 key as numbers (control plane and tests). */
  find(src: number, dst: number, portsWord: number, proto: number): number {
    this.setScratch(src, dst, portsWord, proto);
    return this.findKey(this.scratch);
  }

  /** insertKey with an IPv4 key as numbers (control plane and tests). */
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
    if (this.words !== KEY_WORDS_V4) throw new RangeError('a numbers key is an IPv4 key');
    const k = this.scratch;
    k[0] = src;
    k[1] = dst;
    k[2] = ports;
    k[3] = proto;
  }

  private at(e: number, w: number): number {
    return e * this.stride + this.words + w;
  }
  /** The float64 index of entry `e`'s last-seen time. */
  private lastIdx(e: number): number {
    return e * this.f64Stride + this.f64Last;
  }

  /** True when entry `e` points at backend `id`. */
  backendIs(e: number, id: number): boolean {
    return this.u32[e * this.stride + this.oBackend] === id;
  }

  backendIdAt(e: number): number {
    return this.u32[e * this.stride + this.oBackend]!;
  }
  /** Copies entry `e`'s backend word into `out[at]` (a fragment's ports: see retargetFrom). */
  backendIdInto(e: number, out: Uint32Array, at: number): void {
    out[at] = this.u32[e * this.stride + this.oBackend]!;
  }
  slotAt(e: number): number {
    return this.u32[e * this.stride + this.oSlot]!;
  }
  lastSeenAt(e: number): number {
    return this.f64[this.lastIdx(e)]!;
  }
  /** Word `i` of entry `e`'s key. */
  keyWordAt(e: number, i: number): number {
    return this.u32[e * this.stride + i]!;
  }

  /** Marks the entry used now: refreshes its time and moves it to the front of the LRU list. */
  touch(e: number, nowMs: number): void {
    this.f64[this.lastIdx(e)] = nowMs;
    if (this.head !== e) {
      this.unlinkLru(e);
      this.pushFront(e);
    }
  }

  /** Overwrites the target of an existing entry (re-balance after expiry or backend removal). */
  retarget(e: number, backendId: number, slot: number, nowMs: number): void {
    this.u32[this.at(e, W_BACKEND)] = backendId;
    this.u32[this.at(e, W_SLOT)] = slot;
    this.touch(e, nowMs);
  }

  /**
   * retarget() with the backend word taken from `src[at]`: a word above 2^30 (a fragment's ports) is
   * copied between typed arrays, never passed as a number (boxed when the call is not inlined).
   */
  retargetFrom(e: number, src: Uint32Array, at: number, slot: number, nowMs: number): void {
    this.u32[this.at(e, W_BACKEND)] = src[at]!;
    this.u32[this.at(e, W_SLOT)] = slot;
    this.touch(e, nowMs);
  }

  /**
   * Inserts the key `k[0..words)`, known to be absent; evicts the least recently used entry when full.
   * `hash`: the key's bucket hash when the caller has it (lastHash after a findKey of `k`).
   */
  insertKey(k: Uint32Array, backendId: number, slot: number, nowMs: number, hash = this.hashOf(k)): number {
    const e = this.place(k, slot, nowMs, hash);
    this.u32[this.at(e, W_BACKEND)] = backendId;
    return e;
  }

  /** insertKey() with the backend word taken from `src[at]` (see retargetFrom). */
  insertKeyFrom(k: Uint32Array, src: Uint32Array, at: number, slot: number, nowMs: number): number {
    const e = this.place(k, slot, nowMs, this.hashOf(k));
    this.u32[this.at(e, W_BACKEND)] = src[at]!;
    return e;
  }

  /** Takes a free (or the evicted) entry for the key `k` of hash `h`, links it first; returns it. */
  private place(k: Uint32Array, slot: number, nowMs: number, h: number): number {
    let e: number;
    if (this.freeHead !== NIL) {
      e = this.freeHead;
      this.freeHead = this.i32[this.at(e, W_CHAIN)]!;
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
    const o = e * this.stride;
    for (let i = 0; i < this.words; i++) u[o + i] = k[i]!;
    u[this.at(e, W_SLOT)] = slot;
    u[this.at(e, W_HASH)] = h;
    const b = h & this.mask;
    this.i32[this.at(e, W_CHAIN)] = this.buckets[b]!;
    this.buckets[b] = e;
    this.f64[this.lastIdx(e)] = nowMs;
    this.pushFront(e);
    this.size++;
    return e;
  }

  /** Removes one entry by index. */
  remove(e: number): void {
    this.unlinkBucket(e);
    this.unlinkLru(e);
    this.i32[this.at(e, W_CHAIN)] = this.freeHead;
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
    const next = new SessionTable(capacity, { seed: this.seed, words: this.words }, this.key);
    const entries: number[] = [];
    this.forEachEntry((e) => entries.push(e), Math.min(this.size, capacity));
    const k = this.scratch;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      for (let w = 0; w < this.words; w++) k[w] = this.keyWordAt(e, w);
      next.insertKey(k, this.backendIdAt(e), this.slotAt(e), this.lastSeenAt(e));
    }
    next.evictions = this.evictions;
    return next;
  }

  /** Visits entry indexes from the most to the least recently used; stops after `limit`. */
  forEachEntry(visit: (e: number) => void, limit = Number.POSITIVE_INFINITY): void {
    let n = 0;
    for (let e = this.head; e !== NIL && n < limit; e = this.i32[this.at(e, W_NEXT)]!, n++) visit(e);
  }

  /** Visits IPv4 entries from the most to the least recently used; stops after `limit`. */
  forEach(visit: SessionVisitor, limit = Number.POSITIVE_INFINITY): void {
    if (this.words !== KEY_WORDS_V4) throw new RangeError('forEach visits IPv4 keys: use forEachEntry');
    const u = this.u32;
    this.forEachEntry((e) => {
      const o = e * this.stride;
      const ports = u[o + 2]!;
      visit(
        u[o]!,
        u[o + 1]!,
        ports >>> 16,
        ports & 0xffff,
        u[o + 3]!,
        this.backendIdAt(e),
        this.slotAt(e),
        this.lastSeenAt(e),
      );
    }, limit);
  }

  private pushFront(e: number): void {
    const l = this.i32;
    l[this.at(e, W_PREV)] = NIL;
    l[this.at(e, W_NEXT)] = this.head;
    if (this.head !== NIL) l[this.at(this.head, W_PREV)] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
  }

  private unlinkLru(e: number): void {
    const l = this.i32;
    const p = l[this.at(e, W_PREV)]!;
    const n = l[this.at(e, W_NEXT)]!;
    if (p !== NIL) l[this.at(p, W_NEXT)] = n;
    else this.head = n;
    if (n !== NIL) l[this.at(n, W_PREV)] = p;
    else this.tail = p;
  }

  private unlinkBucket(e: number): void {
    const l = this.i32;
    const b = this.u32[this.at(e, W_HASH)]! & this.mask;
    let cur = this.buckets[b]!;
    if (cur === e) {
      this.buckets[b] = l[this.at(e, W_CHAIN)]!;
      return;
    }
    while (cur !== NIL) {
      const nx = l[this.at(cur, W_CHAIN)]!;
      if (nx === e) {
        l[this.at(cur, W_CHAIN)] = l[this.at(e, W_CHAIN)]!;
        return;
      }
      cur = nx;
    }
  }

  /** Bucket of an IPv4 key in this table (a diagnostic for tests, not for the frame path). */
  bucketOf(src: number, dst: number, portsWord: number, proto: number): number {
    this.setScratch(src, dst, portsWord, proto);
    return mix(this.scratch, this.key) & this.mask;
  }

  /** Length of the longest bucket chain (a diagnostic for tests and benches, not for the frame path). */
  longestChain(): number {
    let longest = 0;
    for (let b = 0; b <= this.mask; b++) {
      let n = 0;
      for (let e = this.buckets[b]!; e !== NIL; e = this.i32[this.at(e, W_CHAIN)]!) n++;
      if (n > longest) longest = n;
    }
    return longest;
  }

  private grow(): void {
    this.limit = Math.min(this.capacity, this.limit * 2);
    const buf = new ArrayBuffer(this.limit * this.stride * 4);
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
      for (let e = this.head; e !== NIL; e = this.i32[this.at(e, W_NEXT)]!) {
        const b = this.u32[this.at(e, W_HASH)]! & this.mask;
        this.i32[this.at(e, W_CHAIN)] = this.buckets[b]!;
        this.buckets[b] = e;
      }
    }
  }
}
