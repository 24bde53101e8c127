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
  const sorted = [...members].sort((a, b) => a.id - b.id);
  // Typed arrays for everything the fill loop touches, and occupancy in its own byte array: the loop
  // then reads no object and no uint32 above 2^31 (SLOT_NONE), which keeps it on small integers.
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  const slots = new Uint32Array(n);
  const word = new Uint32Array(1);
  for (let i = 0; i < n; i++) {
    const member = sorted[i]!;
    word[0] = member.id >>> 0;
    pos[i] = jhash2(word, 0, 1, MAGLEV_OFFSET_SEED) % m;
    skip[i] = (jhash2(word, 0, 1, MAGLEV_SKIP_SEED) % (m - 1)) + 1;
    slots[i] = member.slot;
  }
  const taken = new Uint8Array(m);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = pos[i]!;
      const k = skip[i]!;
      while (taken[c] !== 0) {
        c += k;
        if (c >= m) c -= m;
      }
      taken[c] = 1;
      table[c] = slots[i]!;
      c += k;
      if (c >= m) c -= m;
      pos[i] = c;
      if (++filled === m) return table;
    }
  }
}
