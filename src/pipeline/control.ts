// The control state of one instance: backend slots shared by its services ({id, service, mac, live}),
// the services in the data plane with their Maglev tables, and instance-wide settings. A change goes in
// two steps: plan(config, ports, observe) checks the configuration (the one semantic check after
// the daemon's schema check, desired.ts) and computes a Plan (plan.ts) without changing anything;
// commit(plan) makes it current. The daemon plans, hands the plan to the data plane and commits once the
// plane took it; the pipeline's Balancer commits the same plan to its own copy. Only a service whose
// serving members (ids, slots, weights) changed gets a new table. Pure: no I/O.
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type Observations } from '../core/model.js';
import { checkConfig, type InstancePorts } from './desired.js';
import { type Members, nextServices } from './next-services.js';
import { type NextSlots, nextSlots, slotKey } from './next-slots.js';
import {
  isStructural,
  type Plan,
  type ServiceEntry,
  type ServicePlan,
  type SlotChange,
  type TimeoutsMs,
} from './plan.js';
import { tableChanges } from './table-changes.js';
import { Vip6Table, VipTable } from './vips.js';

export type { TimeoutsMs } from './plan.js';

export interface BackendSlot {
  id: number;
  /** Index of the backend's service. */
  service: number;
  /** All zero while unknown. */
  mac: Uint8Array;
  live: boolean;
}

export interface ServiceState extends ServiceEntry {
  table: Uint32Array;
}

/**
 * The ports of plan(): InstancePorts (desired.ts), or for short the backend port's MAC alone (undefined
 * while unknown): two interfaces, the frontend one's MAC unknown.
 */
export type PortsArg = InstancePorts | string | undefined;

function portsOf(p: PortsArg): InstancePorts {
  if (typeof p === 'object') return p;
  return p === undefined ? { oneArm: false } : { backendMac: p, oneArm: false };
}

export function macEq(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ControlState {
  readonly slots: (BackendSlot | null)[] = new Array(MAX_BACKENDS).fill(null);
  /** Services in the data plane, by index. */
  readonly services = new Map<number, ServiceState>();
  /** Every configured service's name by index (null: free index). */
  serviceNames: (string | null)[] = [];
  backendPortMac: Uint8Array | null = null;
  probeMac: Uint8Array | null = null;
  ready = false;
  timeoutsMs: TimeoutsMs = {
    tcp: DEFAULT_SESSION_SETTINGS.timeouts.tcp * 1000,
    udp: DEFAULT_SESSION_SETTINGS.timeouts.udp * 1000,
    icmp: DEFAULT_SESSION_SETTINGS.timeouts.icmp * 1000,
  };
  capacity = DEFAULT_SESSION_SETTINGS.capacity;
  /** A TCP miss that is not a SYN records a session (docs/semantics.md, "Session floods"). */
  recordNonSyn = DEFAULT_SESSION_SETTINGS.record_non_syn === true;
  /** CFG_* flags of the frontend mode (docs/semantics.md, "Frontend modes"). */
  flags = 0;
  /** Counts commits that changed slots or services; a plan applies to the generation it was computed from. */
  generation = 0;
  /** The VIPs and their services, for the per-frame match (vips.ts). */
  readonly vips = new VipTable<ServiceState>();
  /** The IPv6 VIPs and their services (a service's IPv6 `vip` or its `vip6`), rebuilt with `vips`. */
  readonly vips6 = new Vip6Table<ServiceState>();
  /** slotKey(service index, id) -> slot. */
  private readonly keyToSlot = new Map<number, number>();
  /**
   * The serving members each service's table was built from, by index (absent: unknown, e.g. after a
   * plan computed elsewhere was committed: the next plan rebuilds that table). Plans of this state
   * leave theirs here until committed.
   */
  private members = new Map<number, Members>();
  private readonly pendingMembers = new WeakMap<Plan, Map<number, Members>>();

  /** The slot of backend `id` of service index `service` (default: 0), or SLOT_NONE. */
  slotOf(id: number, service = 0): number {
    return this.keyToSlot.get(slotKey(service, id)) ?? SLOT_NONE;
  }

  /** The index of a configured service, or undefined. */
  indexOf(name: string): number | undefined {
    const i = this.serviceNames.indexOf(name);
    return i < 0 ? undefined : i;
  }

  /** Nothing was ever committed that holds a slot or a service. */
  private get pristine(): boolean {
    return this.generation === 0 && this.keyToSlot.size === 0 && this.services.size === 0;
  }

  /**
   * Checks `config` (with what the daemon observed of its backends) and computes what committing it
   * changes; this state is left as it is. A bad config throws an LbdsrError.
   */
  plan(config: InstanceConfig, ports: PortsArg, observe?: Observations): Plan {
    // asked for every backend, service after service: the index of the last service is kept
    let lastService: string | undefined;
    let lastIndex: number | undefined;
    const d = checkConfig(
      config,
      portsOf(ports),
      (service, id) => {
        if (service !== lastService) {
          lastService = service;
          lastIndex = this.indexOf(service);
        }
        if (lastIndex === undefined) return undefined;
        const slot = this.keyToSlot.get(slotKey(lastIndex, id));
        return slot === undefined ? undefined : this.slots[slot]?.mac;
      },
      observe,
    );
    const next: NextSlots = nextSlots(d, this.serviceNames, this.slots, this.keyToSlot);
    const { services, removed, members } = nextServices(d, next, this.services, this.members, this.idAt);
    const s = d.settings;
    const t = this.timeoutsMs;
    const settingsChanged =
      !macEq(this.backendPortMac, s.backendPortMac) ||
      !macEq(this.probeMac, s.probeMac) ||
      this.ready !== s.ready ||
      t.tcp !== s.timeoutsMs.tcp ||
      t.udp !== s.timeoutsMs.udp ||
      t.icmp !== s.timeoutsMs.icmp ||
      this.recordNonSyn !== s.recordNonSyn ||
      this.flags !== s.flags;
    const structural = isStructural({ slots: next.changes, services, removedServices: removed });
    const plan: Plan = {
      full: this.pristine,
      base: this.generation,
      next: structural ? this.generation + 1 : this.generation,
      slots: next.changes,
      services,
      removedServices: removed,
      serviceNames: next.names,
      settings: s,
      settingsChanged,
      capacity: d.capacity,
      capacityChanged: d.capacity !== this.capacity,
    };
    this.pendingMembers.set(plan, members);
    return plan;
  }

  /** plan() then commit(): for callers that own the only copy of the state (tests, benches). */
  apply(config: InstanceConfig, ports: PortsArg, observe?: Observations): Plan {
    const p = this.plan(config, ports, observe);
    this.commit(p);
    return p;
  }

  /** A full plan of this state as it is: brings a plane in an unknown state back in line with it. */
  fullPlan(): Plan {
    const slots: SlotChange[] = [];
    this.slots.forEach((b, slot) => {
      if (b) slots.push({ slot, kind: 'assigned', ...b, wasLive: false });
    });
    const none = new Set<number>();
    const services: ServicePlan[] = [...this.services.values()].map((svc) => ({
      ...entryOf(svc),
      kind: 'added',
      entryChanged: true,
      maglev: tableChanges(null, svc.table, none, this.idAt, this.idAt),
    }));
    const plan: Plan = {
      full: true,
      base: this.generation,
      next: this.generation,
      slots,
      services,
      removedServices: [],
      serviceNames: [...this.serviceNames],
      settings: this.settings(),
      settingsChanged: true,
      capacity: this.capacity,
      capacityChanged: true,
    };
    this.pendingMembers.set(plan, new Map(this.members));
    return plan;
  }

  /**
   * A plan that only sets the backend port's MAC (null: unknown, not ready). The USERSPACE worker
   * watches the backend interface itself and follows its MAC between the daemon's plans.
   */
  planBackendPortMac(mac: Uint8Array | null): Plan {
    return {
      full: false,
      base: this.generation,
      next: this.generation,
      slots: [],
      services: [],
      removedServices: [],
      serviceNames: [...this.serviceNames],
      settings: { ...this.settings(), backendPortMac: mac, ready: mac !== null },
      settingsChanged: !macEq(this.backendPortMac, mac),
      capacity: this.capacity,
      capacityChanged: false,
    };
  }

  /** Makes `plan` current. It must have been computed from this state (or be full). */
  commit(plan: Plan): void {
    if (!plan.full && plan.base !== this.generation) {
      throw new LbdsrError(
        'LBDSR_INTERNAL',
        `a plan computed from state ${plan.base} cannot be applied to state ${this.generation}`,
      );
    }
    if (plan.full) {
      this.slots.fill(null);
      this.keyToSlot.clear();
      this.services.clear();
      this.members.clear();
    }
    for (const c of plan.slots) {
      if (c.kind === 'freed') {
        this.slots[c.slot] = null;
        this.keyToSlot.delete(slotKey(c.service, c.id));
      } else {
        this.slots[c.slot] = { id: c.id, service: c.service, mac: c.mac, live: c.live };
        this.keyToSlot.set(slotKey(c.service, c.id), c.slot);
      }
    }
    const mine = this.pendingMembers.get(plan);
    for (const r of plan.removedServices) {
      this.services.delete(r.index);
      this.members.delete(r.index);
    }
    for (const p of plan.services) {
      this.commitService(p);
      const m = mine?.get(p.index);
      if (m === undefined) this.members.delete(p.index);
      else this.members.set(p.index, m);
    }
    this.serviceNames = [...plan.serviceNames];
    this.vips.rebuild(this.services.values());
    this.vips6.rebuild(this.services.values());
    const s = plan.settings;
    this.backendPortMac = s.backendPortMac;
    this.probeMac = s.probeMac;
    this.ready = s.ready;
    this.timeoutsMs = { ...s.timeoutsMs };
    this.recordNonSyn = s.recordNonSyn;
    this.flags = s.flags;
    this.capacity = plan.capacity;
    this.generation = plan.next;
  }

  private settings(): Plan['settings'] {
    return {
      backendPortMac: this.backendPortMac,
      ready: this.ready,
      timeoutsMs: { ...this.timeoutsMs },
      recordNonSyn: this.recordNonSyn,
      probeMac: this.probeMac,
      flags: this.flags,
    };
  }

  private commitService(p: ServicePlan): void {
    let svc = this.services.get(p.index);
    if (p.kind === 'added' || !svc) {
      // one object literal with every field (not a spread): the same hidden class for every service
      // of every Balancer, so the frame path optimised on one (the USERSPACE worker's rehearsal) is
      // not thrown away at the first frame of another
      const e = entryOf(p);
      svc = {
        index: e.index,
        name: e.name,
        vip: e.vip,
        vip6: e.vip6,
        proto: e.proto,
        port: e.port,
        mac: e.mac,
        algorithm: e.algorithm,
        backends: e.backends,
        table: new Uint32Array(MAGLEV_SIZE).fill(SLOT_NONE),
      };
      this.services.set(p.index, svc);
    } else Object.assign(svc, entryOf(p));
    const { index, slot } = p.maglev;
    for (let i = 0; i < index.length; i++) svc.table[index[i]!] = slot[i]!;
  }

  /** The backend id holding a slot now. */
  private readonly idAt = (slot: number): number | undefined => this.slots[slot]?.id;
}

export function entryOf(e: ServiceEntry): ServiceEntry {
  return {
    index: e.index,
    name: e.name,
    vip: e.vip,
    vip6: e.vip6 ?? null,
    proto: e.proto,
    port: e.port,
    mac: e.mac,
    algorithm: e.algorithm,
    backends: e.backends,
  };
}
