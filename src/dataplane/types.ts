// The contract between the daemon and a data plane (USERSPACE in userspace/, XDP in xdp/): what the
// daemon calls after a configuration change, what it reads back, and how a supervised plane reports
// that it failed and came back.
import type { PlaneType, ResolvedPorts, SessionEntry, StatsSnapshot } from '../core/model.js';
import type { ExplainTrace } from '../pipeline/explain.js';
import type { Plan } from '../pipeline/plan.js';

/** Peer interface names of the ports by role, whether the interfaces exist or not. */
export interface PortPeers {
  frontend?: string;
  backend?: string;
}

/** A supervised plane's log line; `event` marks the lines that change its status (the daemon's event log). */
export type PlaneLog = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  event?: 'failed' | 'restarted',
) => void;

/**
 * A service's Maglev table as a plane holds it: per entry the backend slot (SLOT_NONE: empty) and the
 * id of the backend holding that slot (null: empty). Slots depend on a node's history; ids do not.
 */
export interface MaglevTable {
  slots: Uint32Array;
  ids: (number | null)[];
}

/** Whether a plane is working: FAILED while its worker is dead (until the restart succeeds). */
export interface PlaneStatus {
  status: 'RUNNING' | 'FAILED';
  /** Why it failed (the last failure while FAILED). */
  reason?: string;
  /** Times the plane's worker was restarted after it died. */
  restarts: number;
}

/**
 * How stats() reads. `walk: false` reads the counters only, without walking the session table (the
 * metrics and the rate sampler read often); `sessions.active` and `sessions.evicted` are then not
 * judged (USERSPACE gives its table's entry count, XDP zero). Default: walk.
 */
export interface StatsOptions {
  walk?: boolean;
}

/**
 * A running data plane of one instance. The daemon owns the configuration and its control state, and
 * hands every change to `apply` as a Plan computed from that state (a full plan for a new plane, or to
 * bring back one that failed half-way); the plane applies exactly that, without dropping established
 * sessions (except a removed backend's). `ports` are the interfaces the daemon resolved; `peers`
 * names them even when they do not exist yet (USERSPACE follows them by name).
 */
export interface DataPlane {
  readonly kind: PlaneType;
  apply(plan: Plan, ports: ResolvedPorts, peers?: PortPeers): Promise<void>;
  stats(opts?: StatsOptions): Promise<StatsSnapshot>;
  sessions(limit: number): Promise<SessionEntry[]>;
  /**
   * Live sessions per backend slot (sessions whose idle timeout has not passed), by walking the
   * session table: costly, so the daemon asks every few seconds at most (drain, `pool show`, dry runs),
   * never per scrape. Slots without a session are absent.
   */
  sessionCounts?(): Promise<Map<number, number>>;
  /**
   * What the running plane does with `frame` arriving on `port` (PORT_*), decided by the plane itself
   * without recording anything: no counter, no session, no fragment entry (src/pipeline/explain.ts).
   */
  explain?(frame: Uint8Array, port: number): Promise<ExplainTrace>;
  /** The Maglev table of service index `service` read from the plane itself (XDP: the kernel's map). */
  maglevTable?(service: number): Promise<MaglevTable | null>;
  /** Stops the plane. `keep` leaves kernel objects in place for a restarted daemon (XDP). */
  close(opts?: { keep?: boolean }): Promise<void>;
  /** A supervised plane (USERSPACE): whether it works now; planes without it are always RUNNING. */
  status?(): PlaneStatus;
  /** Where a supervised plane reports failures and restarts (the daemon's logger). */
  setLog?(log: PlaneLog): void;
}
