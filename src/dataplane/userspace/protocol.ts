// Messages between UserspacePlane (daemon thread) and its worker, and the two ends of their channel:
// a MessagePort for the messages, a shared wake cell that ends the worker's nap when a request is
// posted, and an eventfd that ends its poll() on an idle ring (a plan is then answered at once, not
// after the nap or the poll's timeout).
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { SessionEntry, StatsSnapshot } from '../../core/model.js';
import * as libc from '../../kernel/libc.js';
import type { ExplainTrace } from '../../pipeline/explain.js';
import type { Plan } from '../../pipeline/plan.js';
import type { Channel } from './io.js';

/**
 * The frontend RX ring: `frames` (TPACKET_V2, the default) hands every frame over as soon as the kernel
 * wrote it and wakes poll() per frame, so a lone frame waits for nothing; `blocks` (TPACKET_V3) packs
 * frames densely into blocks but hands a block over only when it is full or its retire timer fires
 * (a lone frame waits up to retireMs, ~1.7 ms median measured with 1 ms).
 */
export type RxRingMode = 'frames' | 'blocks';

export interface RingSettings {
  rxMode: RxRingMode;
  /** `frames`: slots of the RX ring (power of two), each frameSize bytes. */
  rxFrames: number;
  /** `blocks`: the RX ring is rxBlocks blocks of rxBlockSize bytes (power of two, >= 64 KiB). */
  rxBlocks: number;
  rxBlockSize: number;
  /** `blocks`: a partly filled block is handed over this long after its first frame. */
  retireMs: number;
  /** Frames of the backend TX ring (power of two). */
  txFrames: number;
  /**
   * Bytes per TX ring frame and per `frames` RX slot (power of two, >= 2048): the largest frame
   * forwarded is this minus 76 (the RX slot's header, address and vnet header).
   */
  frameSize: number;
}

export const DEFAULT_RINGS: RingSettings = {
  rxMode: 'frames',
  // 32 MiB: ~16 ms of minimum-size frames at 1 Mfps, for the worker to be descheduled without loss.
  rxFrames: 16384,
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
  /**
   * The wake cell (one Int32): the plane adds one and notifies it after posting a request, so that a
   * worker napping between batches answers at once instead of after its nap.
   */
  wake?: SharedArrayBuffer;
  /**
   * The wake eventfd (the plane's, closed by it after the worker exited): signalled with the cell, and
   * polled by the worker beside its socket, so that a request ends a wait on an idle ring at once.
   */
  wakeFd?: number;
  /** Test hook (LBDSR_TEST_CRASH_FILE): the worker throws when this file appears (checked every second). */
  crashFile?: string;
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
  /** Live sessions per backend slot (types.ts DataPlane.sessionCounts). */
  | { op: 'sessionCounts' }
  | { op: 'health' }
  | { op: 'explain'; frame: Uint8Array; port: number }
  | { op: 'stop' };

export type ReplyBody =
  | StatsSnapshot
  | SessionEntry[]
  | PlaneHealth
  | Map<number, number>
  | ExplainTrace
  | null;

export interface Envelope {
  id: number;
  req: Request;
}

export type Reply =
  | { id: number; ok: true; body: ReplyBody }
  | { id: number; ok: false; error: string; code?: string }
  | { id: -1; log: 'info' | 'warn' | 'error'; msg: string };

/**
 * The plane's end: posts a request, then wakes the worker if it naps (WorkerInit.wake) or waits in
 * poll() (WorkerInit.wakeFd; -1: none).
 */
export function postRequest(port: MessagePort, wake: Int32Array, wakeFd: number, env: Envelope): void {
  port.postMessage(env);
  Atomics.add(wake, 0, 1);
  Atomics.notify(wake, 0);
  if (wakeFd >= 0) libc.eventfdSignal(wakeFd);
}

/**
 * The worker's end: requests read without waiting, replies posted, and naps (wait) that a request
 * posted after the last receive() ends at once; wait() says whether it was woken ('ok',
 * 'not-equal') or slept its time ('timed-out'). Without a wake cell there is no wait(): the worker
 * naps unwoken.
 */
export function workerChannel(port: MessagePort, wakeBuffer?: SharedArrayBuffer): Channel {
  const post = (reply: Reply) => port.postMessage(reply);
  if (!wakeBuffer)
    return { receive: () => receiveMessageOnPort(port)?.message as Envelope | undefined, post };
  const wake = new Int32Array(wakeBuffer);
  /** The cell's value when the queue was last looked at: a nap ends once it differs. */
  let seen = 0;
  return {
    receive: () => {
      // read before the queue: a request posted after this read has changed the cell too
      seen = Atomics.load(wake, 0);
      return receiveMessageOnPort(port)?.message as Envelope | undefined;
    },
    post,
    wait: (ms) => Atomics.wait(wake, 0, seen, ms),
  };
}
