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
   * 'assigned': backend `id` now holds the slot (it joined the pool); 'freed': backend `id` left it;
   * 'mac': backend `id` keeps the slot with a new MAC. A slot freed and assigned again in one plan
   * appears twice, freed first.
   */
  kind: 'assigned' | 'freed' | 'mac';
  id: number;
  mac: Uint8Array;
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

/** The per-VIP entry both planes keep (the XDP services map holds the same fields). */
export interface ServiceEntry {
  /** VIP as a host-order number of the dotted quad. */
  vip: number;
  /** Which Maglev block of the XDP maglev array this service uses. */
  index: number;
  mac: Uint8Array;
  algorithm: number;
  backends: number;
}

export interface ServicePlan extends ServiceEntry {
  /** 'added': a new service (its table starts all SLOT_NONE); 'changed': its entry or table changed. */
  kind: 'added' | 'changed';
  /** The entry's fields (MAC, algorithm, backend count) differ from before (always for 'added'). */
  entryChanged: boolean;
  maglev: MaglevChanges;
}

export interface InstanceSettings {
  backendPortMac: Uint8Array | null;
  /** Forwarding is possible: the backend port's MAC is known. */
  ready: boolean;
  timeoutsMs: TimeoutsMs;
  /** A TCP miss that is not a SYN records a session (else: Maglev, counted `unrecorded`). */
  recordNonSyn: boolean;
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
  services: ServicePlan[];
  removedServices: { vip: number; index: number }[];
  /** Absolute values, whether they changed or not (`settingsChanged`). */
  settings: InstanceSettings;
  settingsChanged: boolean;
  /** Session capacity: absolute, like the settings. */
  capacity: number;
  capacityChanged: boolean;
}

export interface PlanSummary {
  full: boolean;
  slots: { assigned: number; freed: number; macChanged: number };
  services: { added: number; changed: number; removed: number };
  maglevEntries: number;
  /** Maglev entries each backend id gains and loses, over every service, in ascending id order. */
  backends: { id: number; gained: number; lost: number }[];
  settingsChanged: boolean;
  capacityChanged: boolean;
}

/** What a plan would do, in numbers: for dry runs and logs. */
export function summarizePlan(plan: Plan): PlanSummary {
  const slots = { assigned: 0, freed: 0, macChanged: 0 };
  for (const c of plan.slots) {
    if (c.kind === 'assigned') slots.assigned++;
    else if (c.kind === 'freed') slots.freed++;
    else slots.macChanged++;
  }
  const byId = new Map<number, { id: number; gained: number; lost: number }>();
  const entry = (id: number) => {
    let e = byId.get(id);
    if (!e) {
      e = { id, gained: 0, lost: 0 };
      byId.set(id, e);
    }
    return e;
  };
  let maglevEntries = 0;
  for (const s of plan.services) {
    const m = s.maglev;
    maglevEntries += m.index.length;
    for (let i = 0; i < m.index.length; i++) {
      if (m.slot[i] !== SLOT_NONE) entry(m.id[i]!).gained++;
      if (m.prevSlot[i] !== SLOT_NONE) entry(m.prevId[i]!).lost++;
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
    backends: [...byId.values()].sort((a, b) => a.id - b.id),
    settingsChanged: plan.settingsChanged,
    capacityChanged: plan.capacityChanged,
  };
}

/** Whether a plan changes slots or services (settings and capacity are absolute and idempotent). */
export function isStructural(plan: Pick<Plan, 'slots' | 'services' | 'removedServices'>): boolean {
  return plan.slots.length > 0 || plan.services.length > 0 || plan.removedServices.length > 0;
}
