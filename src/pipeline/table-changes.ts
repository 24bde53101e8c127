// The Maglev entries a plan changes in one service's table: the entries whose slot differs, plus those
// whose slot was given to another backend within the plan. A scan of two typed arrays that allocates
// nothing per entry, with scratch buffers shared by every plan (plans are computed one at a time,
// synchronously). Pure: no I/O.
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../core/constants.js';
import type { MaglevChanges } from './plan.js';

/**
 * Scratch arrays of planning: a change of one backend then allocates no table of 65,537 entries,
 * which would cost a garbage collection every few changes.
 */
const scratch = {
  reused: new Uint8Array(MAX_BACKENDS),
  moved: new Uint8Array(MAGLEV_SIZE),
  table: new Uint32Array(0),
};

/** A table buffer to build into; valid until the next call (its changes are taken before that). */
export function scratchTable(): Uint32Array {
  if (scratch.table.length === 0) scratch.table = new Uint32Array(MAGLEV_SIZE);
  return scratch.table;
}

export const NO_CHANGES: MaglevChanges = Object.freeze({
  index: new Uint32Array(0),
  slot: new Uint32Array(0),
  id: new Uint32Array(0),
  prevSlot: new Uint32Array(0),
  prevId: new Uint32Array(0),
});

/**
 * The entries where `next` differs from `prev` (null: all SLOT_NONE), plus those whose slot got another
 * backend (`reused`).
 */
export function tableChanges(
  prev: Uint32Array | null,
  next: Uint32Array,
  reused: ReadonlySet<number>,
  idBefore: (slot: number) => number | undefined,
  idAfter: (slot: number) => number | undefined,
): MaglevChanges {
  // Two passes over the typed arrays (count, then fill): a pool change moves a few entries of 65,537,
  // and the scan must not allocate per entry. The tables are read as int32 (SLOT_NONE is -1 then), so
  // the loop stays on small integers; slot numbers are below MAX_BACKENDS, so a byte array answers
  // "was this slot reused" without a Set lookup per entry.
  const reusedSlot = scratch.reused;
  reusedSlot.fill(0);
  for (const r of reused) reusedSlot[r] = 1;
  const none = new Int32Array(0);
  const p32 = prev === null ? none : new Int32Array(prev.buffer, prev.byteOffset, prev.length);
  const n32 = new Int32Array(next.buffer, next.byteOffset, next.length);
  const moved = scratch.moved;
  let count = 0;
  for (let i = 0; i < MAGLEV_SIZE; i++) {
    const p = prev === null ? -1 : p32[i]!;
    const n = n32[i]!;
    const d = p !== n || (n !== -1 && reusedSlot[n] === 1) ? 1 : 0;
    moved[i] = d;
    count += d;
  }
  const m: MaglevChanges = {
    index: new Uint32Array(count),
    slot: new Uint32Array(count),
    id: new Uint32Array(count),
    prevSlot: new Uint32Array(count),
    prevId: new Uint32Array(count),
  };
  for (let i = 0, j = 0; j < count; i++) {
    if (moved[i] === 0) continue;
    const p = prev === null ? SLOT_NONE : prev[i]!;
    const n = next[i]!;
    m.index[j] = i;
    m.slot[j] = n;
    m.id[j] = n === SLOT_NONE ? 0 : (idAfter(n) ?? 0);
    m.prevSlot[j] = p;
    m.prevId[j] = p === SLOT_NONE ? 0 : (idBefore(p) ?? 0);
    j++;
  }
  return m;
}
