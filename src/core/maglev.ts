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
  const pos = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const word = new Uint32Array(1);
  for (let i = 0; i < n; i++) {
    word[0] = sorted[i]!.id >>> 0;
    pos[i] = jhash2(word, 0, 1, MAGLEV_OFFSET_SEED) % m;
    skip[i] = (jhash2(word, 0, 1, MAGLEV_SKIP_SEED) % (m - 1)) + 1;
  }
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = pos[i]!;
      while (table[c] !== SLOT_NONE) {
        c += skip[i]!;
        if (c >= m) c -= m;
      }
      table[c] = sorted[i]!.slot;
      c += skip[i]!;
      if (c >= m) c -= m;
      pos[i] = c;
      if (++filled === m) return table;
    }
  }
}
