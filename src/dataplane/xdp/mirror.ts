// Writes Plans (src/pipeline/plan.ts) into the maps of a loaded XDP program: exactly the plan's
// changes (a pool change writes the Maglev entries that moved, not whole tables; a service change
// rewrites only the entries of the VIPs it touches), whole tables only for a new service or a full
// plan (a new or adopted program, or a plane brought back after a failure). The kernel's backend
// slots are assigned here, independently of the control state's: a restarted daemon adopts the slots
// it finds in the backends map, so sessions recorded before the restart (which name a slot and an id)
// stay valid. The service maps themselves are service-maps.ts. A service's VIPs are its IPv4 `vip`
// (0: none) and its IPv6 `vip6` (null: none): each VIP's entries go to the map of its family, so an
// IPv6-only service writes nothing into lbdsr_vips, a dual-stack one writes both.
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { Plan, ServicePlan, SlotChange } from '../../pipeline/plan.js';
import type { XdpMaps } from './maps.js';
import {
  type KernelPort,
  type KernelService,
  type KernelVip,
  portEntriesOf,
  portKeyString,
  type VipAddr,
  vipEntryOf,
  vipKeyString,
  vipsOf,
} from './service-maps.js';

interface KSlot {
  id: number;
  service: number;
  mac: Uint8Array;
  live: boolean;
}

/** A backend's identity across services: ids are per pool. */
const bkey = (service: number, id: number) => service * 0x1_0000_0000 + id;

function macEq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function vip6Eq(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** VIPs by their Map key (vipKeyString). */
type VipSet = Map<string, VipAddr>;

function addVips(set: VipSet, s: KernelService): void {
  for (const v of vipsOf(s)) set.set(vipKeyString(v), v);
}

function serviceEq(a: KernelService, b: KernelService): boolean {
  return (
    a.vip === b.vip &&
    vip6Eq(a.vip6, b.vip6) &&
    a.proto === b.proto &&
    a.port === b.port &&
    macEq(a.mac, b.mac) &&
    a.algorithm === b.algorithm &&
    a.backends === b.backends
  );
}

function vipEq(a: KernelVip, b: KernelVip): boolean {
  return (
    macEq(a.mac, b.mac) &&
    a.portProtos === b.portProtos &&
    a.tcp === b.tcp &&
    a.udp === b.udp &&
    a.icmp === b.icmp
  );
}

export interface MirrorWrites {
  backends: number;
  maglevEntries: number;
  /** Service, VIP and port-service entries written or removed. */
  services: number;
  config: boolean;
}

interface Freed {
  slot: number;
  b: KSlot;
}

export class XdpMirror {
  private readonly kslots: (KSlot | null)[] = new Array(MAX_BACKENDS).fill(null);
  private readonly kslotOf = new Map<number, number>();
  /** Kernel slot of each control-state slot (SLOT_NONE: empty), and back. */
  private readonly ctlToK = new Uint32Array(MAX_BACKENDS).fill(SLOT_NONE);
  private readonly kToCtl = new Uint32Array(MAX_BACKENDS).fill(SLOT_NONE);
  /** Last owner (bkey) written to each slot (its counters belong to it), -1 when never used. */
  private readonly statsOwner = new Float64Array(MAX_BACKENDS).fill(-1);
  /** Last table written per service index, in kernel slots; absent = unknown (write it whole). */
  private readonly tables = new Map<number, Uint32Array>();
  /** Service entries, VIP entries and port services as the maps hold them. */
  private readonly services = new Map<number, KernelService>();
  private readonly names = new Map<number, string>();
  /** VIP entries by vipKeyString, port services by portKeyString (both families). */
  private readonly vips = new Map<string, KernelVip>();
  private readonly ports = new Map<string, KernelPort>();
  private configWritten = false;
  private lastBackendIfindex = -1;
  private lastDevmap = -1;
  /** Generation of the control state the maps hold (see Plan.base). */
  private generation = -1;

  constructor(private readonly maps: XdpMaps) {}

  /** Takes over the slots, services, VIP entries and port services a previous daemon left in the maps. */
  adopt(): void {
    for (const b of this.maps.readBackends()) {
      this.kslots[b.slot] = { id: b.id, service: b.service, mac: b.mac, live: b.live };
      this.kslotOf.set(bkey(b.service, b.id), b.slot);
      this.statsOwner[b.slot] = bkey(b.service, b.id);
    }
    for (const s of this.maps.svc.readServices()) this.services.set(s.index, s);
    for (const v of this.maps.svc.readVips()) this.vips.set(vipKeyString(v.vip), v);
    for (const p of this.maps.svc.readPorts()) this.ports.set(portKeyString(p), p);
  }

  /** Kernel slot of backend `id` of service `service`, SLOT_NONE when it is not in the pool. */
  slotOf(id: number, service = 0): number {
    return this.kslotOf.get(bkey(service, id)) ?? SLOT_NONE;
  }

  /** The control state's slot of a kernel slot (sessions name kernel slots), SLOT_NONE when none. */
  controlSlotOf(kslot: number): number {
    return this.kToCtl[kslot] ?? SLOT_NONE;
  }

  /**
   * Writes `plan`. Order keeps the program consistent at every instant: removed services leave their
   * VIPs first; new and changed backends before the tables that name them; a table before its service
   * entry, the service entry before the VIP entry that names it; backends that lose `live` and
   * removed backends last.
   * `devmapIfindex` (default: the backend port) is where balanced frames go; the tests point it elsewhere.
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
    w.services += this.removeServices(plan);
    const removed = plan.full ? this.freeAllBut(plan.slots) : [];
    const reused = new Set<number>();
    const later: SlotChange[] = [];
    for (const c of plan.slots) {
      if (c.kind === 'freed') {
        const r = this.free(bkey(c.service, c.id));
        if (r) removed.push(r);
        this.unmapCtl(c.slot);
      } else if (!c.live) later.push(c);
      else if (this.writeSlot(c, reused)) w.backends++;
    }
    const touched: VipSet = new Map();
    for (const s of plan.services) {
      w.maglevEntries += this.writeTable(s);
      w.services += this.writeService(s, touched);
    }
    w.services += this.syncVips(touched);
    for (const c of later) if (this.writeSlot(c, reused)) w.backends++;
    // Backends that left the pool (and whose slot was not taken again): their sessions turn stale.
    for (const r of removed) {
      if (reused.has(r.slot)) continue;
      this.maps.writeBackend(r.slot, r.b, false);
      w.backends++;
    }
    plan.serviceNames.forEach((name, i) => {
      if (name === null) this.names.delete(i);
      else this.names.set(i, name);
    });
    w.config = this.writeConfig(plan, backendIfindex);
    if (devmapIfindex !== this.lastDevmap) {
      this.maps.writeDevmap(devmapIfindex);
      this.lastDevmap = devmapIfindex;
    }
    this.generation = plan.next;
    return w;
  }

  /**
   * Removed services (every service a full plan does not name): their VIPs' entries are rewritten
   * without them, then their entries and tables go. A service removed and added again in the same
   * plan gets a fresh table.
   */
  private removeServices(plan: Plan): number {
    const named = new Set(plan.services.map((s) => s.index));
    const gone = plan.full
      ? [...this.services.keys()].filter((i) => !named.has(i))
      : plan.removedServices.map((r) => r.index);
    const vips: VipSet = new Map();
    for (const i of gone) {
      const old = this.services.get(i);
      if (old) addVips(vips, old);
      this.services.delete(i);
    }
    // A full plan also clears VIP entries no service held here names (left by a previous daemon).
    if (plan.full) for (const [key, e] of this.vips) vips.set(key, e.vip);
    let n = this.syncVips(vips);
    for (const i of gone) {
      this.maps.svc.clearService(i);
      this.maps.svc.dropTable(i);
      this.tables.delete(i);
      this.names.delete(i);
      n++;
    }
    return n;
  }

  /** Full plan: every kernel slot whose backend the plan does not name is freed. */
  private freeAllBut(slots: readonly SlotChange[]): Freed[] {
    const wanted = new Set(slots.filter((c) => c.kind !== 'freed').map((c) => bkey(c.service, c.id)));
    const out: Freed[] = [];
    for (const key of [...this.kslotOf.keys()]) {
      if (wanted.has(key)) continue;
      const r = this.free(key);
      if (r) out.push(r);
    }
    this.ctlToK.fill(SLOT_NONE);
    this.kToCtl.fill(SLOT_NONE);
    return out;
  }

  private free(key: number): Freed | undefined {
    const slot = this.kslotOf.get(key);
    if (slot === undefined) return undefined;
    const r = { slot, b: this.kslots[slot]! };
    this.kslots[slot] = null;
    this.kslotOf.delete(key);
    this.statsOwner[slot] = -1;
    return r;
  }

  private unmapCtl(ctl: number): void {
    const k = this.ctlToK[ctl]!;
    if (k !== SLOT_NONE && this.kToCtl[k] === ctl) this.kToCtl[k] = SLOT_NONE;
    this.ctlToK[ctl] = SLOT_NONE;
  }

  /**
   * A backend that joined (or kept its place with a new MAC or liveness): the control plane's slot
   * when it is free here (always, unless slots were adopted), else the lowest free one. A slot's
   * counters restart when it gets another owner than its last one (as the pipeline's). True when the
   * entry was written.
   */
  private writeSlot(c: SlotChange, reused: Set<number>): boolean {
    const { service, live } = c;
    const key = bkey(service, c.id);
    let slot = this.kslotOf.get(key);
    if (slot === undefined) {
      slot = this.kslots[c.slot] === null ? c.slot : this.kslots.indexOf(null);
      if (slot < 0) throw new LbdsrError('LBDSR_TOO_MANY', `no free backend slot for backend ${c.id}`);
      this.kslotOf.set(key, slot);
      reused.add(slot);
    } else {
      const k = this.kslots[slot]!;
      if (macEq(k.mac, c.mac) && k.live === live) {
        this.ctlToK[c.slot] = slot;
        this.kToCtl[slot] = c.slot;
        return false;
      }
    }
    this.ctlToK[c.slot] = slot;
    this.kToCtl[slot] = c.slot;
    const b = { id: c.id, service, mac: c.mac, live };
    this.kslots[slot] = b;
    if (this.statsOwner[slot] !== key) {
      this.maps.resetBackendStats(slot);
      this.statsOwner[slot] = key;
    }
    this.maps.writeBackend(slot, b);
    return true;
  }

  /** The plan's Maglev changes in kernel slots: only the moved entries when the table is known. */
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
      return this.maps.svc.writeTable(s.index, m.index, values);
    }
    // A new service (its table starts all SLOT_NONE) or a table whose content is unknown: whole.
    const table = new Uint32Array(MAGLEV_SIZE).fill(SLOT_NONE);
    for (let i = 0; i < m.index.length; i++) table[m.index[i]!] = k(m.slot[i]!);
    this.maps.svc.ensureTable(s.index);
    const keys = new Uint32Array(MAGLEV_SIZE);
    for (let i = 0; i < MAGLEV_SIZE; i++) keys[i] = i;
    const n = this.maps.svc.writeTable(s.index, keys, table);
    this.tables.set(s.index, table);
    return n;
  }

  /** The service's entry when it changed; its VIP (and a VIP it left) are noted in `touched`. */
  private writeService(s: ServicePlan, touched: VipSet): number {
    const e: KernelService = {
      index: s.index,
      vip: s.vip,
      vip6: s.vip6 ? Uint8Array.from(s.vip6) : null,
      proto: s.proto,
      port: s.port,
      mac: s.mac,
      algorithm: s.algorithm,
      backends: s.backends,
    };
    const old = this.services.get(s.index);
    if (old && serviceEq(old, e)) return 0;
    if (old) addVips(touched, old);
    addVips(touched, e);
    this.maps.svc.writeService(e);
    this.services.set(s.index, e);
    return 1;
  }

  /**
   * Rewrites the VIP entries and port services of `vips` from the services held: new entries first,
   * then the ones no service needs any more are removed. Returns how many entries were written or removed.
   */
  private syncVips(vips: VipSet): number {
    if (vips.size === 0) return 0;
    const byVip = new Map<string, KernelService[]>();
    for (const s of this.services.values()) {
      for (const v of vipsOf(s)) {
        const key = vipKeyString(v);
        if (!vips.has(key)) continue;
        const list = byVip.get(key);
        if (list) list.push(s);
        else byVip.set(key, [s]);
      }
    }
    let n = 0;
    const wantPorts = new Map<string, KernelPort>();
    for (const [key, list] of byVip) {
      for (const p of portEntriesOf(vips.get(key)!, list)) wantPorts.set(portKeyString(p), p);
    }
    for (const [key, p] of wantPorts) {
      const old = this.ports.get(key);
      if (old && old.index === p.index) continue;
      this.maps.svc.writePort(p);
      this.ports.set(key, p);
      n++;
    }
    for (const [key, list] of byVip) {
      const e = vipEntryOf(vips.get(key)!, list);
      const old = this.vips.get(key);
      if (old && vipEq(old, e)) continue;
      this.maps.svc.writeVip(e);
      this.vips.set(key, e);
      n++;
    }
    for (const [key, p] of [...this.ports]) {
      if (!vips.has(vipKeyString(p.vip)) || wantPorts.has(key)) continue;
      this.maps.svc.deletePort(p);
      this.ports.delete(key);
      n++;
    }
    for (const [key, vip] of vips) {
      if (byVip.has(key) || !this.vips.has(key)) continue;
      this.maps.svc.deleteVip(vip);
      this.vips.delete(key);
      n++;
    }
    return n;
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
      flags: s.flags,
      backendIfindex,
      probeMac: s.probeMac,
      timeoutsNs: { tcp: ns(s.timeoutsMs.tcp), udp: ns(s.timeoutsMs.udp), icmp: ns(s.timeoutsMs.icmp) },
    });
    this.configWritten = true;
    this.lastBackendIfindex = backendIfindex;
    return true;
  }

  /** The services as written, with their names when a plan gave them. */
  serviceEntries(): (KernelService & { name?: string })[] {
    return [...this.services.values()].map((s) => ({ ...s, name: this.names.get(s.index) }));
  }

  /** The IPv6 VIPs of the services as written (one per VIP). */
  vips6(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const e of this.vips.values()) if (typeof e.vip !== 'number') out.push(e.vip);
    return out;
  }

  /** Kernel slots held by a backend: the backend's id and service index. */
  liveSlots(): { slot: number; id: number; service: number }[] {
    const out: { slot: number; id: number; service: number }[] = [];
    for (const slot of this.kslotOf.values()) {
      const b = this.kslots[slot]!;
      out.push({ slot, id: b.id, service: b.service });
    }
    return out;
  }

  /** The name of the service at `index` (from the plans; undefined before one named it). */
  serviceName(index: number): string | undefined {
    return this.names.get(index);
  }
}
