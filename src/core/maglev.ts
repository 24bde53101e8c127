// Maglev consistent hashing (Eisenbud et al., NSDI 2016), computed in user space only: the data planes
// read the finished table. Deterministic: the same set of backend ids gives the same table anywhere.
import { MAGLEV_SIZE, SLOT_NONE } from './constants.js';
import { jhash2 } from './jhash.js';

export const MAGLEV_OFFSET_SEED = 0x4d41474c;
export const MAGLEV_SKIP_SEED = 0x45563031;

export interface MaglevMember {
  id: number;
  /** Value stored in the table for this member (the backend's slot). */
  slot: number;
}

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
  members.forEach((m, i) => {
    ids[i] = m.id;
    slots[i] = m.slot;
  });
  return buildMaglevOf(ids, slots, table);
}

/** Scratch of the fill, grown to the largest pool seen: a build allocates nothing else. */
let scratch = { pos: new Int32Array(0), step: new Int32Array(0), slot: new Int32Array(0) };
let takenScratch = new Uint8Array(0);

/**
 * buildMaglev for members given as parallel arrays (ids[i] holds slots[i]), in any order: what the
 * control state builds a table from without making an object per backend.
 */
export function buildMaglevOf(
  ids: ArrayLike<number>,
  slots: ArrayLike<number>,
  table: Uint32Array = new Uint32Array(MAGLEV_SIZE),
): Uint32Array {
  const m = table.length;
  table.fill(SLOT_NONE);
  const n = ids.length;
  if (n === 0) return table;
  if (scratch.pos.length < n) {
    scratch = { pos: new Int32Array(n), step: new Int32Array(n), slot: new Int32Array(n) };
  }
  const { pos, step, slot } = scratch;
  // Typed arrays for everything the fill loop touches, occupancy in its own byte array (64 KiB, where
  // the table is 256 KiB) and the table written through an int32 view: the loop then reads no object
  // and no uint32 above 2^31 (SLOT_NONE), which keeps it on small integers. The skip is kept minus m,
  // so that stepping wraps without a branch: c + skip - m is negative exactly when c + skip < m.
  const order = ascendingOrder(ids);
  for (let i = 0; i < n; i++) {
    const j = order === null ? i : order[i]!;
    const p = permutation(ids[j]!, m);
    pos[i] = Math.floor(p / m);
    step[i] = (p % m) + 1 - m;
    slot[i] = slots[j]!;
  }
  if (takenScratch.length !== m) takenScratch = new Uint8Array(m);
  else takenScratch.fill(0);
  fill(n, pos, step, slot, takenScratch, new Int32Array(table.buffer, table.byteOffset, m));
  return table;
}

/**
 * null when `ids` ascend already, else the indices of `ids` in ascending id order. Pools are kept in
 * the order they were given (a backend added back comes last): sorted as numbers id * n + index in a
 * Float64Array (exact below 2^53), a native sort with no comparator call.
 */
function ascendingOrder(ids: ArrayLike<number>): ArrayLike<number> | null {
  const n = ids.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ids[i - 1]! <= ids[i]!;
  if (sorted) return null;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ids[i]! * n + i;
  keys.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = keys[i]! % n;
  return order;
}

/** The fill loop of Maglev: each member in turn takes the next free entry of its permutation. */
function fill(
  n: number,
  pos: Int32Array,
  step: Int32Array,
  slots: Int32Array,
  taken: Uint8Array,
  out: Int32Array,
): void {
  const m = out.length;
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = pos[i]!;
      const k = step[i]!;
      while (taken[c] !== 0) {
        c += k;
        c += (c >> 31) & m;
      }
      taken[c] = 1;
      out[c] = slots[i]!;
      c += k;
      c += (c >> 31) & m;
      pos[i] = c;
      if (++filled === m) return;
    }
  }
}
