// The contract between the daemon and a data plane (USERSPACE in userspace/, XDP in xdp/): what the
// daemon calls after a configuration change, and what it reads back.
import type { PlaneType, ResolvedPorts, SessionEntry, StatsSnapshot } from '../core/model.js';
import type { Plan } from '../pipeline/plan.js';

/** Peer interface names of the ports by role, whether the interfaces exist or not. */
export interface PortPeers {
  frontend?: string;
  backend?: string;
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
  /** Stops the plane. `keep` leaves kernel objects in place for a restarted daemon (XDP). */
  close(opts?: { keep?: boolean }): Promise<void>;
}
