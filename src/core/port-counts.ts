// Frames and bytes per port from a plane's global counters (CNT_*, the same array layout in the
// pipeline and the XDP program): docs/semantics.md, "State of one instance". Shared so that both planes'
// snapshots split the ports alike. Pure.
import {
  CNT_RX_BACKEND_BYTES,
  CNT_RX_BACKEND_PACKETS,
  CNT_RX_BYTES,
  CNT_RX_PACKETS,
  CNT_TX_BACKEND_BYTES,
  CNT_TX_FRONTEND_BYTES,
} from './constants.js';
import type { StatsSnapshot } from './model.js';

/** Every frame received, and per port: the BACKEND port's counted apart, the FRONTEND's the rest. */
export function rxByPort(c: ArrayLike<number>): StatsSnapshot['rx'] {
  const packets = c[CNT_RX_PACKETS] ?? 0;
  const bytes = c[CNT_RX_BYTES] ?? 0;
  const backend = { packets: c[CNT_RX_BACKEND_PACKETS] ?? 0, bytes: c[CNT_RX_BACKEND_BYTES] ?? 0 };
  return {
    packets,
    bytes,
    frontend: { packets: Math.max(0, packets - backend.packets), bytes: Math.max(0, bytes - backend.bytes) },
    backend,
  };
}

/** Frames sent per port (counted by the caller: the planes count them differently) with their bytes. */
export function txByPort(c: ArrayLike<number>, frontend: number, backend: number): StatsSnapshot['tx'] {
  return {
    frontend,
    backend,
    frontendBytes: c[CNT_TX_FRONTEND_BYTES] ?? 0,
    backendBytes: c[CNT_TX_BACKEND_BYTES] ?? 0,
  };
}
