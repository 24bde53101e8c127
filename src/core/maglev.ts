// Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted, computed in user space only: the
// data planes read the finished table. Deterministic: the same backend ids and weights give the same
// table anywhere. A weight (1..100) is the member's rate of taking entries: each round it gains its
// weight in credit and takes an entry per 100 (docs/semantics.md, "Maglev table"); all weights 100 are
// the unweighted algorithm, entry for entry.
import { MAGLEV_SIZE, SLOT_NONE } from './constants.js';
import { jhash2 } from './jhash.js';

export const MAGLEV_OFFSET_SEED = 0x4d41474c;
export const MAGLEV_SKIP_SEED = 0x45563031;

export interface MaglevMember {
  id: number;
  /** Value stored in the table for this member (the backend's slot). */
  slot: number;
  /** 0..100 (default 100): share of the table relative to the others; 0 takes no entry. */
  weight?: number;
}

/** The weight of a member that takes one entry every round (the unweighted algorithm). */
export const MAGLEV_FULL_WEIGHT = 100;

const word = new Uint32Array(1);

/**
 * offset * m + skip - 1 of `id` for a table of `m` entries (exact in a double for any table size).
 * Computed on every build: two jhash2 of one word cost about what a Map lookup of a cached value does.
 */
function permutation(id: number, m: number): number {
  word[0] = id >>> 0;
  const offset = jhash2(word, 0, 1, MAGLEV_OFFSET_SEED) % m;
  const skip = (jhash2(word, 0, 1, MAGLEV_SKIP_SEED) % (m - 1)) + 1;
  return offset * m + skip - 1;
}

/**
 * Fills `table` (length = a prime M) with member slots; SLOT_NONE everywhere when there are no members.
 * Members are taken in ascending id order whatever order they are given in.
 */
export function buildMaglev(
  members: readonly MaglevMember[],
  table: Uint32Array = new Uint32Array(MAGLEV_SIZE),
): Uint32Array {
  const ids = new Float64Array(members.length);
  const slots = new Float64Array(members.length);
  const weights = new Float64Array(members.length);
  members.forEach((m, i) => {
    ids[i] = m.id;
    slots[i] = m.slot;
    weights[i] = m.weight ?? MAGLEV_FULL_WEIGHT;
  });
  return buildMaglevOf(ids, slots, table, weights);
}

/** Scratch of the fill, grown to the largest pool seen: a build allocates nothing else. */
let scratch = {
  pos: new Int32Array(0),
  step: new Int32Array(0),
  slot: new Int32Array(0),
  weight: new Int32Array(0),
  credit: new Int32Array(0),
  inverse: new Int32Array(0),
};
/** Occupancy of the table being filled, one bit per entry (8 KiB for 65,537: it stays in L1). */
let takenBits = new Int32Array(0);
/** Scratch of ascendingOrder: the order being sorted and its next pass (grown like the fill's), digit counts. */
let orderA = new Uint32Array(0);
let orderB = new Uint32Array(0);
const RADIX_BITS = 11;
const RADIX_MASK = (1 << RADIX_BITS) - 1;
const radixCount = new Int32Array(RADIX_MASK + 2);

/**
 * buildMaglev for members given as parallel arrays (ids[i] holds slots[i] with weights[i], default 100
 * each), in any order: what the control state builds a table from without making an object per
 * backend. Members of weight 0 take no entry.
 */
export function buildMaglevOf(
  ids: ArrayLike<number>,
  slots: ArrayLike<number>,
  table: Uint32Array = new Uint32Array(MAGLEV_SIZE),
  weights?: ArrayLike<number>,
): Uint32Array {
  const m = table.length;
  table.fill(SLOT_NONE);
  const all = ids.length;
  if (scratch.pos.length < all) {
    scratch = {
      pos: new Int32Array(all),
      step: new Int32Array(all),
      slot: new Int32Array(all),
      weight: new Int32Array(all),
      credit: new Int32Array(all),
      inverse: new Int32Array(all),
    };
  }
  const { pos, step, slot, weight } = scratch;
  // Typed arrays for everything the fill loop touches, occupancy in its own bit array (8 KiB, where
  // the table is 256 KiB: the probes, ~11 per entry, stay in L1) and the table written through an int32 view: the loop then reads no object
  // and no uint32 above 2^31 (SLOT_NONE), which keeps it on small integers. The skip is kept minus m,
  // so that stepping wraps without a branch: c + skip - m is negative exactly when c + skip < m.
  const order = ascendingOrder(ids);
  let n = 0;
  let unweighted = true;
  for (let i = 0; i < all; i++) {
    const j = order === null ? i : order[i]!;
    const w = weights === undefined ? MAGLEV_FULL_WEIGHT : weights[j]!;
    if (w <= 0) continue;
    const p = permutation(ids[j]!, m);
    pos[n] = Math.floor(p / m);
    step[n] = (p % m) + 1 - m;
    slot[n] = slots[j]!;
    weight[n] = Math.min(w, MAGLEV_FULL_WEIGHT);
    if (weight[n] !== MAGLEV_FULL_WEIGHT) unweighted = false;
    n++;
  }
  if (n === 0) return table;
  scratch.inverse.fill(0, 0, n);
  const words = (m + 31) >>> 5;
  if (takenBits.length !== words) takenBits = new Int32Array(words);
  else takenBits.fill(0);
  const out = new Int32Array(table.buffer, table.byteOffset, m);
  if (unweighted) fillUnweighted(n, scratch, takenBits, out);
  else fill(n, scratch, takenBits, out);
  return table;
}

/**
 * null when `ids` ascend already, else the indices of `ids` in ascending id order (equal ids keep their
 * order). Pools are kept in the order they were given (a backend added back comes last): a stable
 * radix sort of the indices by the uint32 ids, three passes of 11 bits, ~30 us for 4,096 where a
 * native sort of id * n + index keys took ~400 us.
 */
function ascendingOrder(ids: ArrayLike<number>): ArrayLike<number> | null {
  const n = ids.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ids[i - 1]! <= ids[i]!;
  if (sorted) return null;
  if (orderA.length < n) {
    orderA = new Uint32Array(n);
    orderB = new Uint32Array(n);
  }
  let src = orderA;
  let dst = orderB;
  for (let i = 0; i < n; i++) src[i] = i;
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    radixCount.fill(0);
    for (let i = 0; i < n; i++) radixCount[((ids[src[i]!]! >>> shift) & RADIX_MASK) + 1]!++;
    for (let d = 1; d <= RADIX_MASK; d++) radixCount[d]! += radixCount[d - 1]!;
    for (let i = 0; i < n; i++) {
      const j = src[i]!;
      dst[radixCount[(ids[j]! >>> shift) & RADIX_MASK]!++] = j;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** The members of a fill, in id order (parallel arrays: the scratch above). */
interface Fill {
  pos: Int32Array;
  step: Int32Array;
  slot: Int32Array;
  weight: Int32Array;
  credit: Int32Array;
  /** The inverse of each member's skip modulo m, 0 until the tail needs it. */
  inverse: Int32Array;
}

/**
 * The last ~sqrt(m) entries of a table (tailFree) are not found by probing. With few entries left, a take
 * probes about m / free taken entries, and the last few hundred takes do a third of all the fill's
 * probes; there, a member computes for each free entry how many steps of its permutation away it is
 * (one multiplication by the inverse of its skip) and takes the nearest: the entry probing would reach
 * first, so the table is the same. ~m / free probes against ~free products cross near sqrt(m); measured
 * with 4,096 members: 1.90 -> 1.63 ms a build (128..384 free entries alike, 768 slower).
 */
function tailFree(m: number): number {
  return Math.min(m, Math.ceil(Math.sqrt(m)));
}

/** The free entries of the table during the tail (unordered: removal swaps in the last one). */
let freeList = new Int32Array(0);

/**
 * The fill loop of Maglev, weighted: each round, in id order, every member gains its weight in credit and, while it
 * holds 100 or more, spends 100 on the next free entry of its permutation. The heaviest member (the
 * round's pace) takes at most one entry a round; a member of weight w takes w/100 as many entries.
 * With every weight 100 each member takes one entry a round: the NSDI 2016 fill.
 */
function fill(n: number, f: Fill, taken: Int32Array, out: Int32Array): void {
  const m = out.length;
  const { weight, credit } = f;
  credit.fill(0, 0, n);
  const tail = m - tailFree(m);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const cr = credit[i]! + weight[i]!;
      if (cr < MAGLEV_FULL_WEIGHT) {
        credit[i] = cr;
        continue;
      }
      credit[i] = cr - MAGLEV_FULL_WEIGHT;
      if (filled < tail) take(i, f.pos, f.step, f.slot, taken, out);
      else takeNearestFree(i, f, m - filled, taken, out);
      if (++filled === m) return;
    }
  }
}

/**
 * fill() when every member has weight 100 (the usual pool): each member takes one entry a round, with no
 * credit to keep. The same entries in the same order as fill() gives for these members.
 */
function fillUnweighted(n: number, f: Fill, taken: Int32Array, out: Int32Array): void {
  const m = out.length;
  const { pos, step, slot } = f;
  const tail = m - tailFree(m);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      if (filled < tail) take(i, pos, step, slot, taken, out);
      else takeNearestFree(i, f, m - filled, taken, out);
      if (++filled === m) return;
    }
  }
}

/** Member i takes the next free entry of its permutation (bit c of `taken`: a shift by c uses its low 5 bits). */
function take(
  i: number,
  pos: Int32Array,
  step: Int32Array,
  slots: Int32Array,
  taken: Int32Array,
  out: Int32Array,
): void {
  const m = out.length;
  let c = pos[i]!;
  const k = step[i]!;
  while (((taken[c >> 5]! >>> c) & 1) !== 0) {
    c += k;
    c += (c >> 31) & m;
  }
  taken[c >> 5]! |= 1 << c;
  out[c] = slots[i]!;
  c += k;
  c += (c >> 31) & m;
  pos[i] = c;
}

/**
 * take() in the tail: `free` entries are left. The first of them member i's permutation reaches from
 * its position c is the one with the fewest steps (e - c) / skip modulo m; the free list is made from
 * the occupancy bits when the tail starts and kept after.
 */
function takeNearestFree(i: number, f: Fill, free: number, taken: Int32Array, out: Int32Array): void {
  const m = out.length;
  if (free === tailFree(m)) collectFree(taken, m, free);
  const list = freeList;
  const c = f.pos[i]!;
  const skip = f.step[i]! + m;
  let inv = f.inverse[i]!;
  if (inv === 0) {
    inv = inverseMod(skip, m);
    f.inverse[i] = inv;
  }
  let best = 0;
  let bestSteps = m;
  for (let j = 0; j < free; j++) {
    let d = list[j]! - c;
    d += (d >> 31) & m;
    // d * inv < m * m: exact in a double, and so is the quotient's floor
    const x = d * inv;
    const steps = x - Math.floor(x / m) * m;
    if (steps < bestSteps) {
      bestSteps = steps;
      best = j;
    }
  }
  const e = list[best]!;
  list[best] = list[free - 1]!;
  out[e] = f.slot[i]!;
  let next = e + skip - m;
  next += (next >> 31) & m;
  f.pos[i] = next;
}

/** The free entries (bit clear in `taken`) into freeList[0..free). */
function collectFree(taken: Int32Array, m: number, free: number): void {
  if (freeList.length < free) freeList = new Int32Array(free);
  let k = 0;
  for (let c = 0; c < m; c++) if (((taken[c >> 5]! >>> c) & 1) === 0) freeList[k++] = c;
}

/** a^-1 modulo the prime m (0 < a < m), by the extended Euclidean algorithm. */
export function inverseMod(a: number, m: number): number {
  let t = 0;
  let nt = 1;
  let r = m;
  let nr = a;
  while (nr !== 0) {
    const q = Math.floor(r / nr);
    const t2 = t - q * nt;
    t = nt;
    nt = t2;
    const r2 = r - q * nr;
    r = nr;
    nr = r2;
  }
  return t < 0 ? t + m : t;
}
