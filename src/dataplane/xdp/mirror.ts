// Writes Plans (src/pipeline/plan.ts) into the maps of a loaded XDP program: exactly the plan's
// changes (a pool change writes the Maglev entries that moved, not whole tables), whole tables only
// for a full plan (a new or adopted program, or a plane brought back after a failure). The kernel's
// backend slots are assigned here, independently of the control state's: a restarted daemon adopts
// the slots it finds in the backends map, so sessions recorded before the restart (which name a slot
// and an id) stay valid.
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { Plan, ServicePlan, SlotChange } from '../../pipeline/plan.js';
import type { KernelService, XdpMaps } from './maps.js';

interface KSlot {
  id: number;
  mac: Uint8Array;
}

function macEq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function serviceEq(a: KernelService, b: KernelService): boolean {
  return (
    a.vip === b.vip &&
    macEq(a.mac, b.mac) &&
    a.algorithm === b.algorithm &&
    a.index === b.index &&
    a.backends === b.backends
  );
}

export interface MirrorWrites {
  backends: number;
  maglevEntries: number;
  services: number;
  config: boolean;
}

export class XdpMirror {
  private readonly kslots: (KSlot | null)[] = new Array(MAX_BACKENDS).fill(null);
  private readonly kslotOf = new Map<number, number>();
  /** Kernel slot of each control-state slot (SLOT_NONE: empty). */
  private readonly ctlToK = new Uint32Array(MAX_BACKENDS).fill(SLOT_NONE);
  /** Last owner id written to each slot (its counters belong to that id), -1 when never used. */
  private readonly statsOwner = new Float64Array(MAX_BACKENDS).fill(-1);
  /** Last table written per service block, in kernel slots; absent = unknown (write it whole). */
  private readonly tables = new Map<number, Uint32Array>();
  private readonly services = new Map<number, KernelService>();
  /** The VIP table is written at the first plan whatever was adopted (it is derived). */
  private vipTableWritten = false;
  private configWritten = false;
  private lastBackendIfindex = -1;
  private lastDevmap = -1;
  /** Generation of the control state the maps hold (see Plan.base). */
  private generation = -1;

  constructor(private readonly maps: XdpMaps) {}

  /** Takes over the slots and services a previous daemon left in the maps. */
  adopt(): void {
    for (const b of this.maps.readBackends()) {
      this.kslots[b.slot] = { id: b.id, mac: b.mac };
      this.kslotOf.set(b.id, b.slot);
      this.statsOwner[b.slot] = b.id;
    }
    for (const s of this.maps.readServices()) this.services.set(s.vip, s);
  }

  /** Kernel slot of a backend id, SLOT_NONE when it is not in the pool. */
  slotOf(id: number): number {
    return this.kslotOf.get(id) ?? SLOT_NONE;
  }

  idOfSlot(slot: number): number | undefined {
    return this.kslots[slot]?.id;
  }

  /**
   * Writes `plan`. Order keeps the program consistent at every instant: new backends before the
   * tables that name them, tables before the service entries, removed backends marked dead last.
   * `devmapIfindex` (default: the backend port) is where balanced frames go; the tests point it
   * elsewhere.
   */
  apply(plan: Plan, backendIfindex: number, devmapIfindex = backendIfindex): MirrorWrites {
    if (!plan.full && plan.base !== this.generation) {
      throw new LbdsrError(
        'LBDSR_INTERNAL',
        `the XDP maps hold state ${this.generation}; a plan from state ${plan.base} cannot be written`,
      );
    }
    const w: MirrorWrites = { backends: 0, maglevEntries: 0, services: 0, config: false };
    if (plan.full) this.tables.clear();
    const removed = plan.full ? this.freeAllBut(plan.slots) : [];
    const reused = new Set<number>();
    for (const c of plan.slots) {
      if (c.kind === 'freed') {
        const r = this.free(c.id);
        if (r) removed.push(r);
        this.ctlToK[c.slot] = SLOT_NONE;
      } else if (this.writeSlot(c, reused)) w.backends++;
    }
    for (const s of plan.services) w.maglevEntries += this.writeTable(s);
    w.services = this.writeServices(plan);
    // Backends that left the pool (and whose slot was not taken again): dead, their sessions turn stale.
    for (const r of removed) {
      if (reused.has(r.slot)) continue;
      this.maps.writeBackend(r.slot, r.id, r.mac, false);
      w.backends++;
    }
    w.config = this.writeConfig(plan, backendIfindex);
    if (devmapIfindex !== this.lastDevmap) {
      this.maps.writeDevmap(devmapIfindex);
      this.lastDevmap = devmapIfindex;
    }
    this.generation = plan.next;
    return w;
  }

  /** Full plan: every kernel slot whose id the plan does not name is freed. */
  private freeAllBut(slots: SlotChange[]): { slot: number; id: number; mac: Uint8Array }[] {
    const wanted = new Set(slots.filter((c) => c.kind !== 'freed').map((c) => c.id));
    const out: { slot: number; id: number; mac: Uint8Array }[] = [];
    for (const id of [...this.kslotOf.keys()]) {
      if (wanted.has(id)) continue;
      const r = this.free(id);
      if (r) out.push(r);
    }
    this.ctlToK.fill(SLOT_NONE);
    return out;
  }

  private free(id: number): { slot: number; id: number; mac: Uint8Array } | undefined {
    const slot = this.kslotOf.get(id);
    if (slot === undefined) return undefined;
    const r = { slot, id, mac: this.kslots[slot]!.mac };
    this.kslots[slot] = null;
    this.kslotOf.delete(id);
    this.statsOwner[slot] = -1;
    return r;
  }

  /**
   * A backend that joined (or kept its place with a new MAC): the control plane's slot when it is free
   * here (always, unless slots were adopted), else the lowest free one. A slot's counters restart when
   * it gets another owner than its last one (as the pipeline's). True when the entry was written.
   */
  private writeSlot(c: SlotChange, reused: Set<number>): boolean {
    let slot = this.kslotOf.get(c.id);
    if (slot === undefined) {
      slot = this.kslots[c.slot] === null ? c.slot : this.kslots.indexOf(null);
      if (slot < 0) throw new LbdsrError('LBDSR_TOO_MANY', `no free backend slot for backend ${c.id}`);
      this.kslotOf.set(c.id, slot);
      reused.add(slot);
    } else if (macEq(this.kslots[slot]!.mac, c.mac)) {
      this.ctlToK[c.slot] = slot;
      return false;
    }
    this.ctlToK[c.slot] = slot;
    this.kslots[slot] = { id: c.id, mac: c.mac };
    if (this.statsOwner[slot] !== c.id) {
      this.maps.resetBackendStats(slot);
      this.statsOwner[slot] = c.id;
    }
    this.maps.writeBackend(slot, c.id, c.mac, true);
    return true;
  }

  /** The plan's Maglev changes in kernel slots: only the moved entries when the block is known. */
  private writeTable(s: ServicePlan): number {
    const m = s.maglev;
    const known = this.tables.get(s.index);
    const k = (ctl: number) => (ctl === SLOT_NONE ? SLOT_NONE : this.ctlToK[ctl]!);
    if (known && s.kind === 'changed') {
      const values = new Uint32Array(m.index.length);
      for (let i = 0; i < values.length; i++) {
        values[i] = k(m.slot[i]!);
        known[m.index[i]!] = values[i]!;
      }
      return this.maps.writeMaglevEntries(s.index, m.index, values);
    }
    // A new service (its table starts all SLOT_NONE) or a block whose content is unknown.
    const table = new Uint32Array(MAGLEV_SIZE).fill(SLOT_NONE);
    for (let i = 0; i < m.index.length; i++) table[m.index[i]!] = k(m.slot[i]!);
    const n = this.maps.writeMaglev(s.index, table, known ?? null);
    this.tables.set(s.index, table);
    return n;
  }

  /** The program's VIP table first (one write), then the per-VIP entries. */
  private writeServices(plan: Plan): number {
    const changed: KernelService[] = [];
    for (const s of plan.services) {
      const e: KernelService = {
        vip: s.vip,
        mac: s.mac,
        algorithm: s.algorithm,
        index: s.index,
        backends: s.backends,
      };
      const old = this.services.get(s.vip);
      if (!old || !serviceEq(old, e)) changed.push(e);
    }
    const named = new Set(plan.services.map((s) => s.vip));
    const removedVips = plan.full
      ? [...this.services.keys()].filter((vip) => !named.has(vip))
      : plan.removedServices.map((r) => r.vip).filter((vip) => this.services.has(vip));
    if (changed.length === 0 && removedVips.length === 0 && this.vipTableWritten) return 0;
    for (const vip of removedVips) this.services.delete(vip);
    for (const e of changed) this.services.set(e.vip, e);
    this.maps.writeVipTable(this.services.values());
    this.vipTableWritten = true;
    for (const e of changed) this.maps.writeService(e);
    for (const vip of removedVips) this.maps.deleteService(vip);
    return changed.length + removedVips.length;
  }

  /** Instance settings and the backend port, when they changed. */
  private writeConfig(plan: Plan, backendIfindex: number): boolean {
    const s = plan.settings;
    const again = plan.full || plan.settingsChanged || !this.configWritten;
    if (!again && backendIfindex === this.lastBackendIfindex) return false;
    const ns = (ms: number) => BigInt(ms) * 1_000_000n;
    this.maps.writeConfig({
      backendPortMac: s.backendPortMac ?? new Uint8Array(6),
      ready: s.ready,
      recordNonSyn: s.recordNonSyn,
      backendIfindex,
      timeoutsNs: { tcp: ns(s.timeoutsMs.tcp), udp: ns(s.timeoutsMs.udp), icmp: ns(s.timeoutsMs.icmp) },
    });
    this.configWritten = true;
    this.lastBackendIfindex = backendIfindex;
    return true;
  }

  /** The services as written (e.g. to rewrite the VIP table with a test clock). */
  serviceEntries(): KernelService[] {
    return [...this.services.values()];
  }

  /** Kernel slots and the ids in them. */
  liveSlots(): { slot: number; id: number }[] {
    return [...this.kslotOf].map(([id, slot]) => ({ id, slot }));
  }
}
