// StatsSnapshot (src/core/model.ts) from the XDP program's counters: the global per-CPU counters
// summed (fragment-table hits and misses, frames and bytes per port included), per-backend counters by
// slot, and the session table's size.
import {
  CNT_ARP_REPLY,
  CNT_BACKEND_PASS,
  CNT_FRAG_HIT,
  CNT_FRAG_MISS,
  CNT_FRONTEND_PASS,
  CNT_ND_REPLY,
  CNT_RX_PACKETS,
  CNT_SESSION_EXPIRED,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  CNT_SESSION_UNRECORDED,
  DROP_MAX,
  DROP_REASON_NAMES,
} from '../../core/constants.js';
import type { BackendStats, StatsSnapshot } from '../../core/model.js';
import { rxByPort, txByPort } from '../../core/port-counts.js';

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
  const drops: Record<string, number> = {};
  let dropped = 0;
  for (let r = 1; r < DROP_MAX; r++) {
    drops[DROP_REASON_NAMES[r]!] = counters[r]!;
    dropped += counters[r]!;
  }
  const rx = counters[CNT_RX_PACKETS]!;
  const arp = counters[CNT_ARP_REPLY]!;
  const nd = counters[CNT_ND_REPLY]!;
  const miss = counters[CNT_SESSION_MISS]!;
  const passed = counters[CNT_BACKEND_PASS]! + counters[CNT_FRONTEND_PASS]!;
  return {
    rx: rxByPort(counters),
    tx: txByPort(counters, arp + nd, Math.max(0, rx - dropped - arp - nd - passed)),
    arpReplies: arp,
    ndReplies: nd,
    backendPass: counters[CNT_BACKEND_PASS]!,
    frontendPass: counters[CNT_FRONTEND_PASS]!,
    drops,
    sessions: {
      hit: counters[CNT_SESSION_HIT]!,
      miss,
      expired: counters[CNT_SESSION_EXPIRED]!,
      stale: counters[CNT_SESSION_STALE]!,
      unrecorded: counters[CNT_SESSION_UNRECORDED]!,
      evicted: Math.max(0, miss - present),
      active,
    },
    fragments: { hit: counters[CNT_FRAG_HIT]!, miss: counters[CNT_FRAG_MISS]! },
    backends,
  };
}
