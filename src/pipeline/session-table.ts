// Bounded session table in typed arrays: chained hash buckets plus an intrusive doubly linked LRU list.
// Lookups, inserts and evictions allocate nothing; storage grows by doubling up to `capacity` (so a small
// instance does not pay for a million entries), and never beyond it: a flood of new flows evicts the least
// recently used entry instead of growing.

const NIL = -1;
const INITIAL = 1024;

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

function mix(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

export class SessionTable {
  readonly capacity: number;
  private size = 0;
  private allocated = 0;
  private keys: Uint32Array;
  private backendIds: Uint32Array;
  private slots: Uint32Array;
  private lastSeen: Float64Array;
  private hashes: Uint32Array;
  private chain: Int32Array;
  private prev: Int32Array;
  private next: Int32Array;
  private buckets: Int32Array;
  private mask: number;
  private head = NIL;
  private tail = NIL;
  private freeHead = NIL;
  /** Entries pushed out by LRU eviction since creation. */
  evictions = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`session capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    const n = Math.min(capacity, INITIAL);
    this.keys = new Uint32Array(n * 4);
    this.backendIds = new Uint32Array(n);
    this.slots = new Uint32Array(n);
    this.lastSeen = new Float64Array(n);
    this.hashes = new Uint32Array(n);
    this.chain = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    const nb = bucketCount(n);
    this.buckets = new Int32Array(nb).fill(NIL);
    this.mask = nb - 1;
  }

  get count(): number {
    return this.size;
  }

  /** Index of the entry for the key, or -1. Does not touch recency. */
  find(src: number, dst: number, ports: number, proto: number): number {
    const h = mix(src, dst, ports, proto);
    const k = this.keys;
    for (let e = this.buckets[h & this.mask]!; e !== NIL; e = this.chain[e]!) {
      const o = e << 2;
      if (k[o] === src && k[o + 1] === dst && k[o + 2] === ports && k[o + 3] === proto) return e;
    }
    return NIL;
  }

  backendIdAt(e: number): number {
    return this.backendIds[e]!;
  }
  slotAt(e: number): number {
    return this.slots[e]!;
  }
  lastSeenAt(e: number): number {
    return this.lastSeen[e]!;
  }

  /** Marks the entry used now: refreshes its time and moves it to the front of the LRU list. */
  touch(e: number, nowMs: number): void {
    this.lastSeen[e] = nowMs;
    this.moveToFront(e);
  }

  /** Overwrites the target of an existing entry (re-balance after expiry or backend removal). */
  retarget(e: number, backendId: number, slot: number, nowMs: number): void {
    this.backendIds[e] = backendId;
    this.slots[e] = slot;
    this.touch(e, nowMs);
  }

  /** Inserts a key known to be absent; evicts the least recently used entry when full. */
  insert(
    src: number,
    dst: number,
    ports: number,
    proto: number,
    backendId: number,
    slot: number,
    nowMs: number,
  ): number {
    let e: number;
    if (this.freeHead !== NIL) {
      e = this.freeHead;
      this.freeHead = this.chain[e]!;
    } else if (this.allocated < this.keys.length >>> 2) {
      e = this.allocated++;
    } else if (this.allocated < this.capacity) {
      this.grow();
      e = this.allocated++;
    } else {
      e = this.tail;
      this.unlinkBucket(e);
      this.unlinkLru(e);
      this.size--;
      this.evictions++;
    }
    const o = e << 2;
    this.keys[o] = src;
    this.keys[o + 1] = dst;
    this.keys[o + 2] = ports;
    this.keys[o + 3] = proto;
    const h = mix(src, dst, ports, proto);
    this.hashes[e] = h;
    const b = h & this.mask;
    this.chain[e] = this.buckets[b]!;
    this.buckets[b] = e;
    this.backendIds[e] = backendId;
    this.slots[e] = slot;
    this.lastSeen[e] = nowMs;
    this.prev[e] = NIL;
    this.next[e] = this.head;
    if (this.head !== NIL) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
    this.size++;
    return e;
  }

  /** Removes one entry by index. */
  remove(e: number): void {
    this.unlinkBucket(e);
    this.unlinkLru(e);
    this.chain[e] = this.freeHead;
    this.freeHead = e;
    this.size--;
  }

  clear(): void {
    this.buckets.fill(NIL);
    this.head = this.tail = this.freeHead = NIL;
    this.size = 0;
    this.allocated = 0;
  }

  /** Visits entries from the most to the least recently used; stops after `limit`. */
  forEach(visit: SessionVisitor, limit = Number.POSITIVE_INFINITY): void {
    let n = 0;
    for (let e = this.head; e !== NIL && n < limit; e = this.next[e]!, n++) {
      const o = e << 2;
      const ports = this.keys[o + 2]!;
      visit(
        this.keys[o]!,
        this.keys[o + 1]!,
        ports >>> 16,
        ports & 0xffff,
        this.keys[o + 3]!,
        this.backendIds[e]!,
        this.slots[e]!,
        this.lastSeen[e]!,
      );
    }
  }

  private moveToFront(e: number): void {
    if (this.head === e) return;
    this.unlinkLru(e);
    this.prev[e] = NIL;
    this.next[e] = this.head;
    if (this.head !== NIL) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
  }

  private unlinkLru(e: number): void {
    const p = this.prev[e]!;
    const n = this.next[e]!;
    if (p !== NIL) this.next[p] = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else this.tail = p;
  }

  private unlinkBucket(e: number): void {
    const b = this.hashes[e]! & this.mask;
    let cur = this.buckets[b]!;
    if (cur === e) {
      this.buckets[b] = this.chain[e]!;
      return;
    }
    while (cur !== NIL) {
      const nx = this.chain[cur]!;
      if (nx === e) {
        this.chain[cur] = this.chain[e]!;
        return;
      }
      cur = nx;
    }
  }

  private grow(): void {
    const old = this.keys.length >>> 2;
    const n = Math.min(this.capacity, old * 2);
    const keys = new Uint32Array(n * 4);
    keys.set(this.keys);
    this.keys = keys;
    this.backendIds = extend(this.backendIds, new Uint32Array(n));
    this.slots = extend(this.slots, new Uint32Array(n));
    this.lastSeen = extend(this.lastSeen, new Float64Array(n));
    this.hashes = extend(this.hashes, new Uint32Array(n));
    this.chain = extend(this.chain, new Int32Array(n));
    this.prev = extend(this.prev, new Int32Array(n));
    this.next = extend(this.next, new Int32Array(n));
    const nb = bucketCount(n);
    if (nb - 1 !== this.mask) {
      this.buckets = new Int32Array(nb).fill(NIL);
      this.mask = nb - 1;
      // Re-chain every live entry (walk the LRU list: free entries are not in it).
      for (let e = this.head; e !== NIL; e = this.next[e]!) {
        const b = this.hashes[e]! & this.mask;
        this.chain[e] = this.buckets[b]!;
        this.buckets[b] = e;
      }
    }
  }
}

function bucketCount(n: number): number {
  let b = 16;
  while (b < n * 2) b <<= 1;
  return b;
}

function extend<T extends Uint32Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
