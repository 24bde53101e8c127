// Live sessions per backend slot of an XDP instance (DataPlane.sessionCounts): one batch walk of the
// kernel's session map (maps.ts forEachSession, the reader `sessions show` uses), counting the
// entries that have not idled out and whose slot is live and still holds the backend they were
// recorded for, as the program judges a session valid when a frame arrives. The daemon asks for this
// every few seconds at most (drain, `pool show`, dry runs): a walk of a million entries takes a while.
import { PROTO_TCP, PROTO_UDP, SLOT_NONE } from '../../core/constants.js';
import type { TimeoutsMs } from '../../pipeline/plan.js';
import type { Loaded } from './lifecycle.js';

export function countLiveSessions(l: Loaded | null, timeouts: TimeoutsMs): Map<number, number> {
  const counts = new Map<number, number>();
  if (!l) return counts;
  const owner = new Map<number, number>();
  for (const b of l.maps.readBackends()) if (b.live) owner.set(b.slot, b.id);
  const now = process.hrtime.bigint();
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;
  const t = { tcp: ns(timeouts.tcp), udp: ns(timeouts.udp), icmp: ns(timeouts.icmp) };
  l.maps.forEachSession((s) => {
    const timeout = s.proto === PROTO_TCP ? t.tcp : s.proto === PROTO_UDP ? t.udp : t.icmp;
    if (now - s.lastSeenNs > timeout || owner.get(s.slot) !== s.backendId) return;
    // Sessions name kernel slots; the daemon counts by the control state's (they differ after adoption).
    const slot = l.mirror.controlSlotOf(s.slot);
    if (slot !== SLOT_NONE) counts.set(slot, (counts.get(slot) ?? 0) + 1);
  });
  return counts;
}
