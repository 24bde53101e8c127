// The contract between the daemon and a data plane (USERSPACE in userspace/, XDP in xdp/): what the
// daemon calls after a configuration change, and what it reads back.
import type { InstanceConfig, PlaneType, ResolvedPorts, SessionEntry, StatsSnapshot } from '../core/model.js';

/**
 * A running data plane of one instance. The daemon owns the configuration and calls `apply` after every
 * successful change; the plane brings itself in line without dropping established sessions (except a
 * removed backend's).
 */
export interface DataPlane {
  readonly kind: PlaneType;
  apply(config: InstanceConfig, ports: ResolvedPorts): Promise<void>;
  stats(): Promise<StatsSnapshot>;
  sessions(limit: number): Promise<SessionEntry[]>;
  /** Stops the plane. `keep` leaves kernel objects in place for a restarted daemon (XDP). */
  close(opts?: { keep?: boolean }): Promise<void>;
}
