// The control state of one instance: backend slots, services keyed by VIP with their Maglev tables, and
// instance-wide settings. Both data planes are driven from it: the TypeScript pipeline reads it directly,
// the XDP plane mirrors the returned diff into BPF maps. Pure: no I/O.
import { formatMac, parseIpv4, parseMac } from '../core/addr.js';
import {
  ALG_HASH_SESSION,
  ALG_HASH_SRC_IP,
  MAGLEV_SIZE,
  MAX_BACKENDS,
  MAX_SERVICES,
  SLOT_NONE,
} from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { buildMaglev } from '../core/maglev.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../core/model.js';

export interface BackendSlot {
  id: number;
  mac: Uint8Array;
  live: boolean;
}

export interface ServiceState {
  /** VIP as a host-order number of the dotted quad. */
  vip: number;
  /** Which Maglev block of the XDP maglev array this service uses. */
  index: number;
  mac: Uint8Array;
  algorithm: number;
  table: Uint32Array;
  backends: number;
}

export interface ControlDiff {
  /** Slots whose content changed (assigned, freed or MAC changed). */
  slots: number[];
  /** VIPs whose service entry or Maglev table changed. */
  services: number[];
  removedServices: number[];
  /** Instance-wide settings changed (backend port MAC, timeouts). */
  config: boolean;
}

export interface TimeoutsMs {
  tcp: number;
  udp: number;
  icmp: number;
}

function macEq(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
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
  private readonly idToSlot = new Map<number, number>();
  /** The VIPs in a typed array, for the per-frame lookup (see serviceAt). */
  private readonly vipWords = new Uint32Array(MAX_SERVICES);
  private vipServices: ServiceState[] = [];

  slotOf(id: number): number {
    return this.idToSlot.get(id) ?? SLOT_NONE;
  }

  /**
   * Brings the state in line with `config`. Everything is parsed and checked before anything changes,
   * so a bad config throws an LbdsrError and leaves the state as it was.
   */
  apply(config: InstanceConfig, backendPortMac: string | undefined): ControlDiff {
    // 1. Parse and check.
    const portMac = backendPortMac === undefined ? null : parseMac(backendPortMac);
    const vip = config.frontend.vip === undefined ? undefined : parseIpv4(config.frontend.vip);
    const feMac = config.frontend.mac === undefined ? undefined : parseMac(config.frontend.mac);
    const algorithm = config.algorithm === 'HASH_SRC_IP' ? ALG_HASH_SRC_IP : ALG_HASH_SESSION;
    const pool = new Map<number, Uint8Array>();
    for (const b of config.backend.pool) {
      if (!Number.isInteger(b.id) || b.id < 0 || b.id > 0xffffffff) {
        throw new LbdsrError('LBDSR_BAD_ID', `backend id ${b.id} is not a uint32`);
      }
      if (pool.has(b.id))
        throw new LbdsrError('LBDSR_EXISTS', `backend id ${b.id} appears twice in the pool`);
      pool.set(b.id, parseMac(b.mac));
    }
    if (pool.size > MAX_BACKENDS) {
      throw new LbdsrError(
        'LBDSR_TOO_MANY',
        `the pool holds ${pool.size} backends; at most ${MAX_BACKENDS} are allowed`,
      );
    }
    const t = config.sessions?.timeouts ?? DEFAULT_SESSION_SETTINGS.timeouts;
    const timeouts: TimeoutsMs = { tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000 };

    // 2. Apply.
    const diff: ControlDiff = { slots: [], services: [], removedServices: [], config: false };
    let poolChanged = false;
    for (const [id, slot] of this.idToSlot) {
      if (!pool.has(id)) {
        this.slots[slot] = null;
        this.idToSlot.delete(id);
        diff.slots.push(slot);
        poolChanged = true;
      }
    }
    for (const [id, mac] of pool) {
      const slot = this.idToSlot.get(id);
      if (slot === undefined) {
        const free = this.slots.indexOf(null);
        this.slots[free] = { id, mac, live: true };
        this.idToSlot.set(id, free);
        diff.slots.push(free);
        poolChanged = true;
      } else if (!macEq(this.slots[slot]!.mac, mac)) {
        this.slots[slot]!.mac = mac;
        diff.slots.push(slot);
      }
    }

    const wanted = vip !== undefined && feMac !== undefined ? vip : undefined;
    for (const old of [...this.services.keys()]) {
      if (old !== wanted) {
        this.services.delete(old);
        diff.removedServices.push(old);
      }
    }
    if (wanted !== undefined) {
      let svc = this.services.get(wanted);
      if (svc === undefined) {
        if (this.services.size >= MAX_SERVICES) {
          throw new LbdsrError('LBDSR_TOO_MANY', `at most ${MAX_SERVICES} VIPs per instance`);
        }
        svc = {
          vip: wanted,
          index: this.freeServiceIndex(),
          mac: feMac!,
          algorithm,
          table: new Uint32Array(MAGLEV_SIZE),
          backends: 0,
        };
        this.services.set(wanted, svc);
        this.fillTable(svc);
        diff.services.push(wanted);
      } else {
        let changed = false;
        if (!macEq(svc.mac, feMac!)) {
          svc.mac = feMac!;
          changed = true;
        }
        if (svc.algorithm !== algorithm) {
          svc.algorithm = algorithm;
          changed = true;
        }
        if (poolChanged) {
          this.fillTable(svc);
          changed = true;
        }
        if (changed) diff.services.push(wanted);
      }
    }

    this.vipServices = [...this.services.values()];
    this.vipServices.forEach((svc, i) => {
      this.vipWords[i] = svc.vip;
    });

    if (!macEq(this.backendPortMac, portMac)) {
      this.backendPortMac = portMac;
      diff.config = true;
    }
    this.ready = portMac !== null;
    if (
      timeouts.tcp !== this.timeoutsMs.tcp ||
      timeouts.udp !== this.timeoutsMs.udp ||
      timeouts.icmp !== this.timeoutsMs.icmp
    ) {
      this.timeoutsMs = timeouts;
      diff.config = true;
    }
    return diff;
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

  /** Backend ids in slot order, for reporting. */
  backendIds(): number[] {
    return [...this.idToSlot.keys()];
  }

  describe(): { backendPortMac: string | null; services: { vip: number; mac: string; backends: number }[] } {
    return {
      backendPortMac: this.backendPortMac ? formatMac(this.backendPortMac) : null,
      services: [...this.services.values()].map((s) => ({
        vip: s.vip,
        mac: formatMac(s.mac),
        backends: s.backends,
      })),
    };
  }

  private freeServiceIndex(): number {
    const used = new Set([...this.services.values()].map((s) => s.index));
    for (let i = 0; i < MAX_SERVICES; i++) if (!used.has(i)) return i;
    throw new LbdsrError('LBDSR_TOO_MANY', `at most ${MAX_SERVICES} VIPs per instance`);
  }

  private fillTable(svc: ServiceState): void {
    const members = [...this.idToSlot].map(([id, slot]) => ({ id, slot }));
    buildMaglev(members, svc.table);
    svc.backends = members.length;
  }
}
