// StatsSnapshot (src/core/model.ts) from the XDP program's counters: the global per-CPU counters
// summed (fragment-table hits and misses, frames and bytes per port included), per-backend counters by
// slot, and the session table's size.
import {
  CNT_ARP_REPLY,
  CNT_BACKEND_PASS,
  CNT_FRONTEND_PASS,
  CNT_ND_REPLY,
  CNT_RX_PACKETS,
  CNT_SESSION_MISS,
  DROP_MAX,
} from '../../core/constants.js';
import type { BackendStats, StatsSnapshot } from '../../core/model.js';
import { countersSnapshot } from '../../pipeline/snapshot.js';

/**
 * Every frame is dropped, answered (ARP, or a Neighbor Advertisement for an IPv6 VIP: both leave by
 * the FRONTEND port), passed to the kernel (either port) or sent to a backend, so frames sent to
 * backends are rx - drops - ARP and ND replies - passed; this stays exact when a slot's counters are reset for a new backend.
 * `evicted` is not counted by the kernel's LRU map; entries are only ever removed by eviction (expiry
 * and re-balancing overwrite in place), so it is the sessions created minus the entries present.
 * `active` counts the present entries that have not idled out. `backends` come in their order (the
 * pipeline's: by service index, then id: backendRows in readout.ts).
 */
export function snapshot(
  counters: Float64Array,
  backends: BackendStats[],
  active: number,
  present = active,
): StatsSnapshot {
  let dropped = 0;
  for (let r = 1; r < DROP_MAX; r++) dropped += counters[r]!;
  const rx = counters[CNT_RX_PACKETS]!;
  const replies = counters[CNT_ARP_REPLY]! + counters[CNT_ND_REPLY]!;
  const passed = counters[CNT_BACKEND_PASS]! + counters[CNT_FRONTEND_PASS]!;
  const evicted = Math.max(0, counters[CNT_SESSION_MISS]! - present);
  const toBackends = Math.max(0, rx - dropped - replies - passed);
  return countersSnapshot(counters, replies, toBackends, { evicted, active }, backends);
}
