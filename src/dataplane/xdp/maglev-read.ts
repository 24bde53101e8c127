// A service's Maglev table as the XDP program forwards with it (DataPlane.maglevTable): the inner
// table of lbdsr_maglev at the service's index, read in one batch from the kernel (not the mirror's
// copy), with each entry's kernel slot resolved to the backend id that slot holds in lbdsr_backends.
// What `GET .../services/{svc}/maglev` digests, so that nodes compare what actually forwards.
import { SLOT_NONE } from '../../core/constants.js';
import type { MaglevTable } from '../types.js';
import type { Loaded } from './lifecycle.js';

/** The table at service `index` (null: no plane loaded or no table there). */
export function readMaglevTable(l: Loaded | null, index: number): MaglevTable | null {
  if (!l) return null;
  const slots = l.maps.svc.readTable(index);
  if (!slots) return null;
  const idOf = new Map<number, number>();
  for (const b of l.maps.readBackends()) idOf.set(b.slot, b.id);
  const ids = new Array<number | null>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    ids[i] = s === SLOT_NONE ? null : (idOf.get(s) ?? null);
  }
  return { slots, ids };
}
