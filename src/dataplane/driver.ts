// A data plane together with the control state it holds. Every desired configuration becomes a Plan
// against that state (where a bad config is refused, before the plane sees anything), goes to the
// plane, and is committed once the plane took it. A plane that failed half-way is brought back by a
// full plan of the committed state (restore). The daemon's PlaneManager drives its planes through
// this (with the daemon's observations of the backends), and so do tests and benches that run a plane
// on its own.
import type { InstanceConfig, Observations, ResolvedPorts } from '../core/model.js';
import { ControlState } from '../pipeline/control.js';
import { instancePorts } from '../pipeline/desired.js';
import type { Plan } from '../pipeline/plan.js';
import type { DataPlane, PortPeers } from './types.js';

/** The peer interface names of the ports of `config`, by role. */
export function peersOf(config: InstanceConfig): PortPeers {
  const peers: PortPeers = {};
  for (const p of config.ports) {
    if (!p.peer) continue;
    if (p.type === 'FRONTEND') peers.frontend = p.peer;
    else peers.backend = p.peer;
  }
  return peers;
}

export class PlaneDriver {
  /** What the plane holds, as far as it confirmed. */
  readonly control = new ControlState();

  constructor(readonly plane: DataPlane) {}

  /**
   * The plan that brings the plane to `config`, with what the daemon observed of its backends (health,
   * ARP MACs: `observe`); throws an LbdsrError on a bad config.
   */
  plan(config: InstanceConfig, ports: ResolvedPorts, observe?: Observations): Plan {
    return this.control.plan(config, instancePorts(ports), observe);
  }

  /** Hands `plan` (from plan()) to the plane and commits it when the plane took it. */
  async send(plan: Plan, config: InstanceConfig, ports: ResolvedPorts): Promise<void> {
    await this.plane.apply(plan, ports, peersOf(config));
    this.control.commit(plan);
  }

  /** plan() then send(); returns the plan. */
  async apply(config: InstanceConfig, ports: ResolvedPorts, observe?: Observations): Promise<Plan> {
    const plan = this.plan(config, ports, observe);
    await this.send(plan, config, ports);
    return plan;
  }

  /** Brings the plane back to the committed state, whatever part of a failed plan it applied. */
  restore(config: InstanceConfig, ports: ResolvedPorts): Promise<void> {
    return this.plane.apply(this.control.fullPlan(), ports, peersOf(config));
  }
}
