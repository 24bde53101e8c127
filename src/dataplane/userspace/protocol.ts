// Messages between UserspacePlane (daemon thread) and its worker.
import type { SessionEntry, StatsSnapshot } from '../../core/model.js';
import type { Plan } from '../../pipeline/plan.js';

export interface RingSettings {
  /** Frontend RX ring (TPACKET_V3): blocks of rxBlockSize bytes (power of two, >= 64 KiB). */
  rxBlocks: number;
  rxBlockSize: number;
  /** A partly filled block is handed over this long after its first frame. */
  retireMs: number;
  /** Frames of the backend TX ring (power of two). */
  txFrames: number;
  /** Bytes per TX ring frame (power of two, >= 2048): the largest frame forwarded is this minus 42. */
  frameSize: number;
}

export const DEFAULT_RINGS: RingSettings = {
  rxBlocks: 128,
  rxBlockSize: 1 << 16,
  retireMs: 1,
  txFrames: 2048,
  frameSize: 2048,
};

export interface WorkerInit {
  instance: string;
  /** Network namespace (/run/netns/NAME) the worker enters before opening anything. */
  netns?: string;
  rings: RingSettings;
  /** Pin the worker thread to this CPU. */
  cpu?: number;
  /** Nice value of the worker thread (negative: favoured by the scheduler; needs root). */
  nice?: number;
}

export interface PortStatus {
  /** Linux interface the port follows, undefined when the port has no peer. */
  ifname?: string;
  /** The interface exists and is up with carrier. */
  up: boolean;
  /** The worker holds an open socket on it. */
  attached: boolean;
  ifindex: number;
  /** Times the socket was (re)opened. */
  opens: number;
  lastError?: string;
}

export interface PlaneHealth {
  frontend: PortStatus;
  backend: PortStatus;
  /** Frames the kernel dropped because the frontend RX ring was full. */
  rxRingDrops: number;
  /** Times the kernel found every RX block still held by the worker (the ring was full). */
  rxRingFreezes: number;
  /** Frames not sent because a TX ring was full or the port was down (counted as TX_FAILED drops too). */
  txFailures: number;
  /** Worker loop iterations that hit an unexpected exception (should stay 0). */
  errors: number;
  /** CPU time (user + system, ms) the worker thread used so far, kernel work it does in syscalls included. */
  cpuMs: number;
  /**
   * Longest gap between two passes over the RX ring while traffic was flowing, since the previous
   * health() (the thread was descheduled, or a pass took that long).
   */
  maxStallMs: number;
}

export type Request =
  | { op: 'apply'; plan: Plan; frontendIf?: string; backendIf?: string }
  | { op: 'stats'; walk?: boolean }
  | { op: 'sessions'; limit: number }
  | { op: 'health' }
  | { op: 'stop' };

export type ReplyBody = StatsSnapshot | SessionEntry[] | PlaneHealth | null;

export interface Envelope {
  id: number;
  req: Request;
}

export type Reply =
  | { id: number; ok: true; body: ReplyBody }
  | { id: number; ok: false; error: string; code?: string }
  | { id: -1; log: 'info' | 'warn' | 'error'; msg: string };
