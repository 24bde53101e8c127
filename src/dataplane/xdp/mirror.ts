// Mirrors a ControlState (src/pipeline/control.ts) into the maps of a loaded XDP program, writing
// only what changed. The kernel's backend slots are assigned here, independently of the
// ControlState's: a restarted daemon adopts the slots it finds in the backends map, so sessions
// recorded before the restart (which name a slot and an id) stay valid.
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { ControlState } from '../../pipeline/control.js';
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
  /** Last owner id written to each slot (its counters belong to that id), -1 when never used. */
  private readonly statsOwner = new Float64Array(MAX_BACKENDS).fill(-1);
  /** Last table written per service block, in kernel slots; absent = unknown (write it whole). */
  private readonly tables = new Map<number, Uint32Array>();
  private readonly services = new Map<number, KernelService>();
  private lastConfig = '';
  /** The VIP table is written at the first sync whatever was adopted (it is derived). */
  private vipTableWritten = false;
  private lastDevmap = -1;

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
   * Writes the difference between what the maps hold and `control`. Order keeps the program
   * consistent at every instant: new backends before the tables that name them, tables before the
   * service entries, removed backends marked dead last. `devmapIfindex` (default: the backend
   * port) is where balanced frames go; the tests point it elsewhere.
   */
  sync(control: ControlState, backendIfindex: number, devmapIfindex = backendIfindex): MirrorWrites {
    const w: MirrorWrites = { backends: 0, maglevEntries: 0, services: 0, config: false };
    const wanted = new Set<number>();
    for (const s of control.slots) if (s) wanted.add(s.id);

    // 1. Slots: those of removed backends are freed first, then new backends take the control
    // plane's slot when it is free here (always, unless slots were adopted), else the lowest free
    // one. A slot's counters restart when it gets another owner than its last one (as the pipeline's).
    const removed: { slot: number; id: number; mac: Uint8Array }[] = [];
    for (const [id, slot] of [...this.kslotOf]) {
      if (wanted.has(id)) continue;
      removed.push({ slot, id, mac: this.kslots[slot]!.mac });
      this.kslots[slot] = null;
      this.kslotOf.delete(id);
      this.statsOwner[slot] = -1;
    }
    const reused = new Set<number>();
    control.slots.forEach((b, ctlSlot) => {
      if (!b) return;
      let slot = this.kslotOf.get(b.id);
      if (slot === undefined) {
        slot = this.kslots[ctlSlot] === null ? ctlSlot : this.kslots.indexOf(null);
        if (slot < 0) throw new LbdsrError('LBDSR_TOO_MANY', `no free backend slot for backend ${b.id}`);
        this.kslotOf.set(b.id, slot);
        reused.add(slot);
      } else if (macEq(this.kslots[slot]!.mac, b.mac)) {
        return;
      }
      this.kslots[slot] = { id: b.id, mac: b.mac };
      if (this.statsOwner[slot] !== b.id) {
        this.maps.resetBackendStats(slot);
        this.statsOwner[slot] = b.id;
      }
      this.maps.writeBackend(slot, b.id, b.mac, true);
      w.backends++;
    });

    // 2. Services: tables (translated to kernel slots) first, then the entry.
    const translated = new Uint32Array(MAGLEV_SIZE);
    const changed: KernelService[] = [];
    for (const svc of control.services.values()) {
      for (let i = 0; i < MAGLEV_SIZE; i++) {
        const cs = svc.table[i]!;
        const b = cs === SLOT_NONE ? null : control.slots[cs];
        translated[i] = b ? (this.kslotOf.get(b.id) ?? SLOT_NONE) : SLOT_NONE;
      }
      const prev = this.tables.get(svc.index) ?? null;
      w.maglevEntries += this.maps.writeMaglev(svc.index, translated, prev);
      if (prev) prev.set(translated);
      else this.tables.set(svc.index, translated.slice());
      const entry: KernelService = {
        vip: svc.vip,
        mac: svc.mac,
        algorithm: svc.algorithm,
        index: svc.index,
        backends: svc.backends,
      };
      const old = this.services.get(svc.vip);
      if (!old || !serviceEq(old, entry)) changed.push(entry);
    }
    const removedVips = [...this.services.keys()].filter((vip) => !control.services.has(vip));
    if (changed.length > 0 || removedVips.length > 0 || !this.vipTableWritten) {
      // The program's table first (one write), then the per-VIP entries.
      for (const vip of removedVips) this.services.delete(vip);
      for (const e of changed) this.services.set(e.vip, e);
      this.maps.writeVipTable(this.services.values());
      this.vipTableWritten = true;
      for (const e of changed) this.maps.writeService(e);
      for (const vip of removedVips) this.maps.deleteService(vip);
      w.services += changed.length + removedVips.length;
    }

    // 3. Backends that left the pool (and whose slot was not taken again): dead, their sessions
    // turn stale.
    for (const r of removed) {
      if (reused.has(r.slot)) continue;
      this.maps.writeBackend(r.slot, r.id, r.mac, false);
      w.backends++;
    }

    // 4. Instance settings and the backend port.
    const cfg = {
      backendPortMac: control.backendPortMac ?? new Uint8Array(6),
      ready: control.ready,
      backendIfindex,
      timeoutsNs: {
        tcp: BigInt(control.timeoutsMs.tcp) * 1_000_000n,
        udp: BigInt(control.timeoutsMs.udp) * 1_000_000n,
        icmp: BigInt(control.timeoutsMs.icmp) * 1_000_000n,
      },
    };
    const sig = JSON.stringify({
      ...cfg,
      backendPortMac: [...cfg.backendPortMac],
      timeoutsNs: control.timeoutsMs,
    });
    if (sig !== this.lastConfig) {
      this.maps.writeConfig(cfg);
      this.lastConfig = sig;
      w.config = true;
    }
    if (devmapIfindex !== this.lastDevmap) {
      this.maps.writeDevmap(devmapIfindex);
      this.lastDevmap = devmapIfindex;
    }
    return w;
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
