// Live sessions per backend slot of an XDP instance (DataPlane.sessionCounts): one batch walk of the
// kernel's session maps, IPv4 and IPv6 (maps.ts forEachAnySession, the reader `sessions show` uses), counting the
// entries that have not idled out and whose slot is live and still holds the backend they were
// recorded for, as the program judges a session valid when a frame arrives. The daemon asks for this
// every few seconds at most (drain, `pool show`, dry runs): a walk of a million entries takes a while,
// so it gives the event loop back between chunks.
import { SLOT_NONE } from '../../core/constants.js';
import type { TimeoutsMs } from '../../pipeline/plan.js';
import type { Loaded } from './lifecycle.js';
import { timeoutOf, toNs } from './readout.js';

export async function countLiveSessions(
  l: Loaded | null,
  timeouts: TimeoutsMs,
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  if (!l) return counts;
  const owner = new Map<number, number>();
  for (const b of l.maps.readBackends()) if (b.live) owner.set(b.slot, b.id);
  const now = process.hrtime.bigint();
  const t = toNs(timeouts);
  await l.maps.forEachAnySession((s) => {
    if (now - s.lastSeenNs > timeoutOf(t, s.proto) || owner.get(s.slot) !== s.backendId) return;
    // Sessions name kernel slots; the daemon counts by the control state's (they differ after adoption).
    const slot = l.mirror.controlSlotOf(s.slot);
    if (slot !== SLOT_NONE) counts.set(slot, (counts.get(slot) ?? 0) + 1);
  });
  return counts;
}
