// The seam between the USERSPACE worker's logic (runner.ts: requests, ports, memberships, health) and
// the kernel: interfaces, AF_PACKET sockets and rings, the frame path that runs over them, and the
// channel to the daemon thread. rings.ts implements WorkerIo on AF_PACKET; the unit tests implement it
// in memory, so that the logic is tested without root. Calls cross it per batch, never per frame.
import type { Balancer } from '../../pipeline/balancer.js';
import type { Envelope, Reply } from './protocol.js';

/** What the worker needs to know about a Linux interface of its namespace. */
export interface InterfaceState {
  ifindex: number;
  mac: string;
  /** Administratively up with the carrier present. */
  up: boolean;
}

/** An open socket on a port's interface. close() frees it (and its ring). */
export interface PortSocket {
  readonly ifindex: number;
  close(): void;
}

/** The frontend's socket: it also receives frames sent to the MACs it joined. */
export interface FrontendSocket extends PortSocket {
  /** Receives frames sent to `mac` (PACKET_MR_UNICAST): a frontend MAC the interface does not own. */
  join(mac: string): void;
  leave(mac: string): void;
  /** Frames the kernel dropped (ring full) and ring freezes since the previous call. */
  takeStats(): { drops: number; freezes: number };
}

export interface WorkerIo {
  /** The interface named `ifname` now, undefined when it does not exist. */
  probe(ifname: string): InterfaceState | undefined;
  /**
   * Opens the frontend socket (receives frames); `label` names the port in errors. `oneArm`: the
   * backend port is the same interface, and balanced frames leave through this socket too.
   */
  openFrontend(ifindex: number, label: string | undefined, oneArm: boolean): FrontendSocket;
  /** Opens the backend socket (transmits frames). */
  openBackend(ifindex: number, label: string | undefined): PortSocket;
  /**
   * One-arm: the backend port on the frontend socket opened with `oneArm` on `ifindex` (no second
   * socket on the interface). Throws when that socket is not open. Its close() leaves the socket open.
   */
  shareFrontend(ifindex: number, label: string | undefined): PortSocket;
  /**
   * Decides the frames waiting on the frontend with `balancer` (at most a pass's worth) and sends the
   * transmitted ones out of the port the verdict names (one-arm: both out of the frontend socket); a
   * PASS sends nothing (the kernel has its own copy). Returns how many frames were decided.
   */
  receive(balancer: Balancer, nowMs: number): number;
  /** Hands queued frames to the kernel. False when the backend interface went away (check it now). */
  flush(): boolean;
  /** Frames that could not be sent (ring full, port down) so far. */
  readonly txFailures: number;
  /** Waits up to `ms` for frames on the frontend. True when its device reported an error (down, gone). */
  wait(ms: number): boolean;
  /** Sleeps `ms` (a fraction of a millisecond) without giving up the thread to anything else. */
  nap(ms: number): void;
  /** CPU time this thread used so far (ms). */
  cpuMs(): number;
  /** Frees everything still open. */
  close(): void;
}

/** The worker's end of the channel to UserspacePlane: requests in, replies and log lines out. */
export interface Channel {
  /** The next request, without waiting; undefined when none is queued. */
  receive(): Envelope | undefined;
  post(reply: Reply): void;
  /**
   * Sleeps up to `ms`, woken at once when a request is posted after the last receive() found none
   * (the plane's wake cell, protocol.ts). Absent: the worker naps unwoken (WorkerIo.nap).
   */
  wait?(ms: number): 'ok' | 'not-equal' | 'timed-out';
}
