// A Plan: what one configuration change does to the control state of an instance, computed by
// ControlState.plan (control.ts) without changing anything, then handed to the data planes: the
// pipeline commits it (Balancer.applyPlan), the XDP mirror writes exactly these changes into the BPF
// maps (src/dataplane/xdp/mirror.ts). Plain data and typed arrays, so that it crosses postMessage to
// the USERSPACE worker as it is, and can be looked at without being applied (summarizePlan).
import { SLOT_NONE } from '../core/constants.js';

export interface TimeoutsMs {
  tcp: number;
  udp: number;
  icmp: number;
}

export interface SlotChange {
  slot: number;
  /**
   * 'assigned': backend `id` of service `service` now holds the slot (it joined its pool); 'freed': it
   * left it; 'changed': the same backend keeps the slot with a new `mac` or `live`. A slot freed and
   * assigned again in one plan appears twice, freed first.
   */
  kind: 'assigned' | 'freed' | 'changed';
  id: number;
  /** Index of the backend's service (ServiceEntry.index). */
  service: number;
  /** All zero while the backend's MAC is unknown. */
  mac: Uint8Array;
  /** Its sessions stay valid (docs/semantics.md, "Backends"); false for 'freed'. */
  live: boolean;
  /** `live` before the plan (false for 'assigned'): a slot going true -> false moves its sessions. */
  wasLive: boolean;
}

/** Maglev entries whose backend changed, in ascending index order (parallel arrays). */
export interface MaglevChanges {
  index: Uint32Array;
  /** The new slot at each index (SLOT_NONE: no backend). */
  slot: Uint32Array;
  /** The backend id in that slot (meaningless where slot is SLOT_NONE). */
  id: Uint32Array;
  /** The slot before the change (SLOT_NONE: none) and its backend id then. */
  prevSlot: Uint32Array;
  prevId: Uint32Array;
}

/** The per-service entry both planes keep (docs/semantics.md, "Services"). */
export interface ServiceEntry {
  /** 0..MAX_SERVICES-1, stable while the service exists: its Maglev table and the slots' `service`. */
  index: number;
  /** For the daemon (stats per service); the data planes ignore it. */
  name: string;
  /** IPv4 VIP as a host-order number of the dotted quad; 0: none (an IPv6-only service). */
  vip: number;
  /**
   * IPv6 VIP, 16 bytes as on the wire; absent or null: none. A service may have both (dual stack):
   * one pool, one Maglev table, reached by either VIP (docs/semantics.md, "IPv6").
   */
  vip6?: Uint8Array | null;
  /** 0 (any), 6, 17 or 1. */
  proto: number;
  /** 0 (any) or the TCP/UDP destination port. */
  port: number;
  /** Frontend MAC: the same for every service of a VIP. */
  mac: Uint8Array;
  algorithm: number;
  /** Serving members (backends in the Maglev table). */
  backends: number;
}

export interface ServicePlan extends ServiceEntry {
  /**
   * 'added': a new service (its table starts all SLOT_NONE); 'changed': its entry or table changed.
   * A service whose VIP, protocol or port changes is removed and added again (it may keep its index).
   */
  kind: 'added' | 'changed';
  /** The entry's fields (MAC, algorithm, backend count) differ from before (always for 'added'). */
  entryChanged: boolean;
  maglev: MaglevChanges;
}

export interface RemovedService {
  index: number;
  name: string;
  vip: number;
  vip6?: Uint8Array | null;
  proto: number;
  port: number;
}

export interface InstanceSettings {
  backendPortMac: Uint8Array | null;
  /** Forwarding is possible: the backend port's MAC is known. */
  ready: boolean;
  timeoutsMs: TimeoutsMs;
  /** A TCP miss that is not a SYN records a session (else: Maglev, counted `unrecorded`). */
  recordNonSyn: boolean;
  /** probeMacOf(probe_ip): BACKEND port frames to it are passed (rule 1); null without probe_ip. */
  probeMac: Uint8Array | null;
  /**
   * CFG_NO_ARP | CFG_HOST_PASS | CFG_ONE_ARM (src/core/constants.ts; docs/semantics.md, "Frontend
   * modes"): from the instance's mode, host_pass and standby, and whether its two ports are one interface.
   */
  flags: number;
}

export interface Plan {
  /**
   * The plan describes the whole state: a consumer forgets what it holds (slots and services not in
   * the plan are gone) and takes this instead. Plans from an empty state and ControlState.fullPlan()
   * are full; they are how a new plane starts and how a plane that failed half-way is brought back.
   */
  full: boolean;
  /** Generation of the state the plan was computed from, and the one committing it gives. */
  base: number;
  next: number;
  slots: SlotChange[];
  /** Consumers remove `removedServices` first, then add or change `services`. */
  services: ServicePlan[];
  removedServices: RemovedService[];
  /** Every configured service's name by index (absolute, like the settings; null: no service). */
  serviceNames: (string | null)[];
  /** Absolute values, whether they changed or not (`settingsChanged`). */
  settings: InstanceSettings;
  settingsChanged: boolean;
  /** Session capacity: absolute, like the settings. */
  capacity: number;
  capacityChanged: boolean;
}

/** What a plan does to one backend's share of the Maglev tables. */
export interface BackendSummary {
  /** Its service's name and index. */
  service: string;
  index: number;
  id: number;
  gained: number;
  lost: number;
}

export interface PlanSummary {
  full: boolean;
  slots: { assigned: number; freed: number; changed: number };
  services: { added: number; changed: number; removed: number };
  maglevEntries: number;
  /** Maglev entries each backend gains and loses, by service index then id. */
  backends: BackendSummary[];
  /**
   * Slots whose sessions will be re-balanced: freed, or `live` going true -> false (their live
   * sessions, from the plane's sessionCounts, are the sessions that move).
   */
  moved: { slot: number; service: string; index: number; id: number }[];
  settingsChanged: boolean;
  capacityChanged: boolean;
}

/** What a plan would do, in numbers: for dry runs and logs. */
export function summarizePlan(plan: Plan): PlanSummary {
  const slots = { assigned: 0, freed: 0, changed: 0 };
  const names = plan.serviceNames;
  const nameOf = (index: number) =>
    names[index] ?? plan.removedServices.find((r) => r.index === index)?.name ?? `#${index}`;
  const moved: PlanSummary['moved'] = [];
  for (const c of plan.slots) {
    if (c.kind === 'assigned') slots.assigned++;
    else if (c.kind === 'freed') slots.freed++;
    else slots.changed++;
    if (c.kind !== 'assigned' && c.wasLive && !c.live) {
      moved.push({ slot: c.slot, service: nameOf(c.service), index: c.service, id: c.id });
    }
  }
  const byKey = new Map<number, BackendSummary>();
  const entry = (index: number, id: number) => {
    const key = index * 0x100000000 + id;
    let e = byKey.get(key);
    if (!e) {
      e = { service: nameOf(index), index, id, gained: 0, lost: 0 };
      byKey.set(key, e);
    }
    return e;
  };
  let maglevEntries = 0;
  for (const s of plan.services) {
    const m = s.maglev;
    maglevEntries += m.index.length;
    for (let i = 0; i < m.index.length; i++) {
      if (m.slot[i] !== SLOT_NONE) entry(s.index, m.id[i]!).gained++;
      if (m.prevSlot[i] !== SLOT_NONE) entry(s.index, m.prevId[i]!).lost++;
    }
  }
  return {
    full: plan.full,
    slots,
    services: {
      added: plan.services.filter((s) => s.kind === 'added').length,
      changed: plan.services.filter((s) => s.kind === 'changed').length,
      removed: plan.removedServices.length,
    },
    maglevEntries,
    backends: [...byKey.values()].sort((a, b) => a.index - b.index || a.id - b.id),
    moved,
    settingsChanged: plan.settingsChanged,
    capacityChanged: plan.capacityChanged,
  };
}

/** Whether a plan changes slots or services (settings and capacity are absolute and idempotent). */
export function isStructural(plan: Pick<Plan, 'slots' | 'services' | 'removedServices'>): boolean {
  return plan.slots.length > 0 || plan.services.length > 0 || plan.removedServices.length > 0;
}
