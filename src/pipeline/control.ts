// The control state of one instance: backend slots, services keyed by VIP with their Maglev tables, and
// instance-wide settings. A change goes in two steps: plan(config) checks the configuration (the one
// semantic check after the daemon's schema check, desired.ts) and computes a Plan (plan.ts) without
// changing anything; commit(plan) makes it current. The daemon plans, hands the plan to the data plane
// and commits once the plane took it; the pipeline's Balancer commits the same plan to its own copy.
// Pure: no I/O.
import { MAGLEV_SIZE, MAX_BACKENDS, MAX_SERVICES, SLOT_NONE } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { buildMaglevOf } from '../core/maglev.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../core/model.js';
import { checkConfig, type Desired } from './desired.js';
import {
  isStructural,
  type MaglevChanges,
  type Plan,
  type ServiceEntry,
  type ServicePlan,
  type SlotChange,
  type TimeoutsMs,
} from './plan.js';

export type { TimeoutsMs } from './plan.js';

export interface BackendSlot {
  id: number;
  mac: Uint8Array;
}

export interface ServiceState extends ServiceEntry {
  table: Uint32Array;
}

function macEq(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The slot assignment a plan leads to. */
interface NextSlots {
  changes: SlotChange[];
  /** The backend id holding a slot after the plan (undefined: none). */
  idAt: (slot: number) => number | undefined;
  /** The members of the pool after the plan: backend ids[i] holds slots[i]. */
  members: () => { ids: Float64Array; slots: Float64Array };
  /** Slots that changed owner within this plan (freed and assigned again). */
  reused: Set<number>;
  poolChanged: boolean;
}

/**
 * The entries where `next` differs from `prev` (null: all SLOT_NONE), plus those whose slot got another
 * backend (`reused`).
 */
function tableChanges(
  prev: Uint32Array | null,
  next: Uint32Array,
  reused: ReadonlySet<number>,
  idBefore: (slot: number) => number | undefined,
  idAfter: (slot: number) => number | undefined,
): MaglevChanges {
  // Two passes over the typed arrays (count, then fill): a pool change moves a few entries of 65,537,
  // and the scan must not allocate per entry. The tables are read as int32 (SLOT_NONE is -1 then), so
  // the loop stays on small integers; slot numbers are below MAX_BACKENDS, so a byte array answers
  // "was this slot reused" without a Set lookup per entry.
  const reusedSlot = scratch.reused;
  reusedSlot.fill(0);
  for (const r of reused) reusedSlot[r] = 1;
  const none = new Int32Array(0);
  const p32 = prev === null ? none : new Int32Array(prev.buffer, prev.byteOffset, prev.length);
  const n32 = new Int32Array(next.buffer, next.byteOffset, next.length);
  const moved = scratch.moved;
  let count = 0;
  for (let i = 0; i < MAGLEV_SIZE; i++) {
    const p = prev === null ? -1 : p32[i]!;
    const n = n32[i]!;
    const d = p !== n || (n !== -1 && reusedSlot[n] === 1) ? 1 : 0;
    moved[i] = d;
    count += d;
  }
  const m: MaglevChanges = {
    index: new Uint32Array(count),
    slot: new Uint32Array(count),
    id: new Uint32Array(count),
    prevSlot: new Uint32Array(count),
    prevId: new Uint32Array(count),
  };
  for (let i = 0, j = 0; j < count; i++) {
    if (moved[i] === 0) continue;
    const p = prev === null ? SLOT_NONE : prev[i]!;
    const n = next[i]!;
    m.index[j] = i;
    m.slot[j] = n;
    m.id[j] = n === SLOT_NONE ? 0 : (idAfter(n) ?? 0);
    m.prevSlot[j] = p;
    m.prevId[j] = p === SLOT_NONE ? 0 : (idBefore(p) ?? 0);
    j++;
  }
  return m;
}

/**
 * Scratch arrays of planning (plans are computed one at a time, synchronously): a change of one backend
 * then allocates no table of 65,537 entries, which would cost a garbage collection every few changes.
 */
const scratch = {
  reused: new Uint8Array(MAX_BACKENDS),
  moved: new Uint8Array(MAGLEV_SIZE),
  table: new Uint32Array(0),
};

function scratchTable(): Uint32Array {
  if (scratch.table.length === 0) scratch.table = new Uint32Array(MAGLEV_SIZE);
  return scratch.table;
}

export class ControlState {
  readonly slots: (BackendSlot | null)[] = new Array(MAX_BACKENDS).fill(null);
  readonly services = new Map<number, ServiceState>();
  backendPortMac: Uint8Array | null = null;
  ready = false;
  timeoutsMs: TimeoutsMs = {
    tcp: DEFAULT_SESSION_SETTINGS.timeouts.tcp * 1000,
    udp: DEFAULT_SESSION_SETTINGS.timeouts.udp * 1000,
    icmp: DEFAULT_SESSION_SETTINGS.timeouts.icmp * 1000,
  };
  capacity = DEFAULT_SESSION_SETTINGS.capacity;
  /** A TCP miss that is not a SYN records a session (docs/semantics.md, "Session floods"). */
  recordNonSyn = DEFAULT_SESSION_SETTINGS.record_non_syn === true;
  /** Counts commits that changed slots or services; a plan applies to the generation it was computed from. */
  generation = 0;
  private readonly idToSlot = new Map<number, number>();
  /** The VIPs in a typed array, for the per-frame lookup (see serviceAt). */
  private readonly vipWords = new Uint32Array(MAX_SERVICES);
  private vipServices: ServiceState[] = [];

  slotOf(id: number): number {
    return this.idToSlot.get(id) ?? SLOT_NONE;
  }

  /** Nothing was ever committed that holds a slot or a service. */
  private get pristine(): boolean {
    return this.generation === 0 && this.idToSlot.size === 0 && this.services.size === 0;
  }

  /**
   * Checks `config` and computes what committing it changes; this state is left as it is. A bad
   * config throws an LbdsrError.
   */
  plan(config: InstanceConfig, backendPortMac: string | undefined): Plan {
    const d = checkConfig(config, backendPortMac, (id) => {
      const slot = this.idToSlot.get(id);
      return slot === undefined ? undefined : (this.slots[slot]?.mac ?? undefined);
    });
    const next = this.nextSlots(d);
    const { services, removed } = this.nextServices(d, next);
    const s = d.settings;
    const t = this.timeoutsMs;
    const settingsChanged =
      !macEq(this.backendPortMac, s.backendPortMac) ||
      this.ready !== s.ready ||
      t.tcp !== s.timeoutsMs.tcp ||
      t.udp !== s.timeoutsMs.udp ||
      t.icmp !== s.timeoutsMs.icmp ||
      this.recordNonSyn !== s.recordNonSyn;
    const structural = isStructural({ slots: next.changes, services, removedServices: removed });
    return {
      full: this.pristine,
      base: this.generation,
      next: structural ? this.generation + 1 : this.generation,
      slots: next.changes,
      services,
      removedServices: removed,
      settings: s,
      settingsChanged,
      capacity: d.capacity,
      capacityChanged: d.capacity !== this.capacity,
    };
  }

  /** plan() then commit(): for callers that own the only copy of the state (tests, benches). */
  apply(config: InstanceConfig, backendPortMac: string | undefined): Plan {
    const p = this.plan(config, backendPortMac);
    this.commit(p);
    return p;
  }

  /** A full plan of this state as it is: brings a plane in an unknown state back in line with it. */
  fullPlan(): Plan {
    const slots: SlotChange[] = [];
    this.slots.forEach((b, slot) => {
      if (b) slots.push({ slot, kind: 'assigned', id: b.id, mac: b.mac });
    });
    const none = new Set<number>();
    const services: ServicePlan[] = [...this.services.values()].map((svc) => ({
      vip: svc.vip,
      index: svc.index,
      mac: svc.mac,
      algorithm: svc.algorithm,
      backends: svc.backends,
      kind: 'added',
      entryChanged: true,
      maglev: tableChanges(null, svc.table, none, this.idAt, this.idAt),
    }));
    return {
      full: true,
      base: this.generation,
      next: this.generation,
      slots,
      services,
      removedServices: [],
      settings: this.settings(),
      settingsChanged: true,
      capacity: this.capacity,
      capacityChanged: true,
    };
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
      this.idToSlot.clear();
      this.services.clear();
    }
    for (const c of plan.slots) {
      if (c.kind === 'freed') {
        this.slots[c.slot] = null;
        this.idToSlot.delete(c.id);
      } else {
        this.slots[c.slot] = { id: c.id, mac: c.mac };
        this.idToSlot.set(c.id, c.slot);
      }
    }
    for (const r of plan.removedServices) this.services.delete(r.vip);
    for (const p of plan.services) this.commitService(p);
    this.vipServices = [...this.services.values()];
    this.vipServices.forEach((svc, i) => {
      this.vipWords[i] = svc.vip;
    });
    const s = plan.settings;
    this.backendPortMac = s.backendPortMac;
    this.ready = s.ready;
    this.timeoutsMs = { ...s.timeoutsMs };
    this.recordNonSyn = s.recordNonSyn;
    this.capacity = plan.capacity;
    this.generation = plan.next;
  }

  /**
   * The service whose VIP is the 4 bytes of `frame` at `off`, or undefined. Reads the address itself so
   * that no uint32 crosses a call boundary on the per-frame path (a Map keyed by a number above 2^30
   * would box, i.e. allocate, on every lookup).
   */
  serviceAt(frame: Uint8Array, off: number): ServiceState | undefined {
    const ip =
      ((frame[off]! << 24) | (frame[off + 1]! << 16) | (frame[off + 2]! << 8) | frame[off + 3]!) >>> 0;
    const n = this.vipServices.length;
    for (let i = 0; i < n; i++) if (this.vipWords[i] === ip) return this.vipServices[i];
    return undefined;
  }

  private settings(): Plan['settings'] {
    return {
      backendPortMac: this.backendPortMac,
      ready: this.ready,
      timeoutsMs: { ...this.timeoutsMs },
      recordNonSyn: this.recordNonSyn,
    };
  }

  private commitService(p: ServicePlan): void {
    let svc = this.services.get(p.vip);
    if (p.kind === 'added' || !svc) {
      svc = { ...entryOf(p), table: new Uint32Array(MAGLEV_SIZE).fill(SLOT_NONE) };
      this.services.set(p.vip, svc);
    } else Object.assign(svc, entryOf(p));
    const { index, slot } = p.maglev;
    for (let i = 0; i < index.length; i++) svc.table[index[i]!] = slot[i]!;
  }

  /** The backend id holding a slot now. */
  private readonly idAt = (slot: number): number | undefined => this.slots[slot]?.id;

  /**
   * Slots of removed backends are freed first, then new backends take the lowest free slot. The
   * assignment after the plan is kept as the changes over the current one (not a copy of 4,096 slots).
   */
  private nextSlots(d: Desired): NextSlots {
    const changes: SlotChange[] = [];
    const freed = new Set<number>();
    const reused = new Set<number>();
    // forEach, not for-of over entries: no [key, value] array per backend (4,096 per plan)
    this.idToSlot.forEach((slot, id) => {
      if (d.pool.has(id)) return;
      changes.push({ slot, kind: 'freed', id, mac: this.slots[slot]!.mac });
      freed.add(slot);
    });
    let poolChanged = changes.length > 0;
    /** New backends and the slots they take. */
    const assigned = new Map<number, number>();
    const owner = new Map<number, number>();
    // new backends fill free slots in ascending order: each search starts after the last slot taken
    let from = 0;
    d.pool.forEach((mac, id) => {
      const slot = this.idToSlot.get(id);
      if (slot === undefined) {
        while (from < MAX_BACKENDS && this.slots[from] !== null && !freed.has(from)) from++;
        // checkConfig refuses more than MAX_BACKENDS: a slot is always free here
        if (from >= MAX_BACKENDS) throw new LbdsrError('LBDSR_INTERNAL', 'no free backend slot');
        const free = from++;
        assigned.set(id, free);
        owner.set(free, id);
        changes.push({ slot: free, kind: 'assigned', id, mac });
        if (freed.has(free)) reused.add(free);
        poolChanged = true;
      } else if (!macEq(this.slots[slot]!.mac, mac)) {
        changes.push({ slot, kind: 'mac', id, mac });
      }
    });
    const idAt = (slot: number) => owner.get(slot) ?? (freed.has(slot) ? undefined : this.idAt(slot));
    const members = () => {
      const ids = new Float64Array(d.pool.size);
      const slots = new Float64Array(d.pool.size);
      let i = 0;
      d.pool.forEach((_, id) => {
        ids[i] = id;
        slots[i++] = this.idToSlot.get(id) ?? assigned.get(id)!;
      });
      return { ids, slots };
    };
    return { changes, idAt, members, reused, poolChanged };
  }

  private nextServices(
    d: Desired,
    next: NextSlots,
  ): { services: ServicePlan[]; removed: { vip: number; index: number }[] } {
    const want = d.service;
    const removed = [...this.services.values()]
      .filter((s) => s.vip !== want?.vip)
      .map((s) => ({ vip: s.vip, index: s.index }));
    if (!want) return { services: [], removed };
    const old = this.services.get(want.vip);
    const members = old && !next.poolChanged ? null : next.members();
    // the table is only compared with the current one: the plan carries the entries that changed
    const table = members ? buildMaglevOf(members.ids, members.slots, scratchTable()) : null;
    const entry: ServiceEntry = {
      vip: want.vip,
      index: old ? old.index : this.freeServiceIndex(removed.map((r) => r.index)),
      mac: want.mac,
      algorithm: want.algorithm,
      backends: members ? members.ids.length : (old?.backends ?? 0),
    };
    const maglev = tableChanges(
      old ? old.table : null,
      table ?? old!.table,
      next.reused,
      this.idAt,
      next.idAt,
    );
    const entryChanged =
      !old ||
      !macEq(old.mac, entry.mac) ||
      old.algorithm !== entry.algorithm ||
      old.backends !== entry.backends;
    if (old && !entryChanged && maglev.index.length === 0) return { services: [], removed };
    return { services: [{ ...entry, kind: old ? 'changed' : 'added', entryChanged, maglev }], removed };
  }

  private freeServiceIndex(released: number[]): number {
    if (this.services.size - released.length >= MAX_SERVICES) {
      throw new LbdsrError('LBDSR_TOO_MANY', `at most ${MAX_SERVICES} VIPs per instance`);
    }
    const used = new Set([...this.services.values()].map((s) => s.index));
    for (const i of released) used.delete(i);
    for (let i = 0; i < MAX_SERVICES; i++) if (!used.has(i)) return i;
    throw new LbdsrError('LBDSR_TOO_MANY', `at most ${MAX_SERVICES} VIPs per instance`);
  }
}

function entryOf(e: ServiceEntry): ServiceEntry {
  return { vip: e.vip, index: e.index, mac: e.mac, algorithm: e.algorithm, backends: e.backends };
}
