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

/**
 * The offset and skip of each backend id, kept across builds: a change of one backend in a pool of
 * 4,096 does not hash the other 4,095 again. Bounded: cleared when it holds four pools' worth of ids.
 */
const permutations = new Map<number, number>();
const PERMUTATIONS_MAX = 4 * 4096;
const word = new Uint32Array(1);

/** offset * m + skip - 1 of `id` for a table of `m` entries (exact in a double for any table size). */
function permutation(id: number, m: number): number {
  const key = m === MAGLEV_SIZE ? id : -1;
  const known = key >= 0 ? permutations.get(key) : undefined;
  if (known !== undefined) return known;
  word[0] = id >>> 0;
  const offset = jhash2(word, 0, 1, MAGLEV_OFFSET_SEED) % m;
  const skip = (jhash2(word, 0, 1, MAGLEV_SKIP_SEED) % (m - 1)) + 1;
  const packed = offset * m + skip - 1;
  if (key >= 0) {
    if (permutations.size >= PERMUTATIONS_MAX) permutations.clear();
    permutations.set(key, packed);
  }
  return packed;
}

function ascending(members: readonly MaglevMember[]): readonly MaglevMember[] {
  for (let i = 1; i < members.length; i++) {
    if (members[i - 1]!.id > members[i]!.id) return [...members].sort((a, b) => a.id - b.id);
  }
  return members;
}

/**
 * Fills `table` (length = a prime M) with member slots; SLOT_NONE everywhere when there are no members.
 * Members are taken in ascending id order whatever order they are given in.
 */
export function buildMaglev(
  members: readonly MaglevMember[],
  table: Uint32Array = new Uint32Array(MAGLEV_SIZE),
): Uint32Array {
  const m = table.length;
  table.fill(SLOT_NONE);
  const n = members.length;
  if (n === 0) return table;
  const sorted = ascending(members);
  // Typed arrays for everything the fill loop touches, occupancy in its own byte array (64 KiB, where
  // the table is 256 KiB) and the table written through an int32 view: the loop then reads no object
  // and no uint32 above 2^31 (SLOT_NONE), which keeps it on small integers. The skip is kept minus m,
  // so that stepping wraps without a branch: c + skip - m is negative exactly when c + skip < m.
  const pos = new Int32Array(n);
  const step = new Int32Array(n);
  const slots = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const member = sorted[i]!;
    const p = permutation(member.id, m);
    pos[i] = Math.floor(p / m);
    step[i] = (p % m) + 1 - m;
    slots[i] = member.slot;
  }
  fill(pos, step, slots, new Int32Array(table.buffer, table.byteOffset, m));
  return table;
}

/** The fill loop of Maglev: each member in turn takes the next free entry of its permutation. */
function fill(pos: Int32Array, step: Int32Array, slots: Int32Array, out: Int32Array): void {
  const m = out.length;
  const n = pos.length;
  const taken = new Uint8Array(m);
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
