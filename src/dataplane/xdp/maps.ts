// Typed access to the maps of one loaded lbdsr XDP program: struct codecs for the layouts of
// bpf/lbdsr_shared.h (sizes from src/core/constants.ts) and the reads the plane needs (per-CPU
// counters summed, the session table scanned in batches).
import {
  CNT_MAX,
  MAGLEV_SIZE,
  MAX_BACKENDS,
  MAX_SERVICES,
  SIZEOF_BACKEND,
  SIZEOF_BACKEND_STATS,
  SIZEOF_CONFIG,
  SIZEOF_FLOW_KEY,
  SIZEOF_SERVICE,
  SIZEOF_SESSION,
} from '../../core/constants.js';
import {
  closeFd,
  mapDelete,
  mapForEach,
  mapLookup,
  mapUpdate,
  mapUpdateBatch,
  possibleCpus,
} from '../../kernel/libbpf.js';

/** Map names in the object (bpf/maps.h) and, without the prefix, the names of their pins. */
export const MAP_NAMES = {
  vips: 'lbdsr_vips',
  services: 'lbdsr_services',
  maglev: 'lbdsr_maglev',
  backends: 'lbdsr_backends',
  config: 'lbdsr_config',
  sessions: 'lbdsr_sessions',
  counters: 'lbdsr_counters',
  bstats: 'lbdsr_bstats',
  devmap: 'lbdsr_devmap',
} as const;
export type MapKey = keyof typeof MAP_NAMES;
export const MAP_KEYS = Object.keys(MAP_NAMES) as MapKey[];
export type MapFds = Record<MapKey, number>;

/** struct lbdsr_vip_table (bpf/maps.h): test_clock_ns, vip[MAX_SERVICES], svc[MAX_SERVICES]. */
const VT_VIPS = 8;
const VT_SVCS = VT_VIPS + MAX_SERVICES * 4;
export const SIZEOF_VIP_TABLE = VT_SVCS + MAX_SERVICES * SIZEOF_SERVICE;

/** Layout every pinned map must have to be adopted (a program upgrade that changed it starts afresh). */
export const MAP_LAYOUT: Record<MapKey, { key: number; value: number; max?: number }> = {
  vips: { key: 4, value: SIZEOF_VIP_TABLE, max: 1 },
  services: { key: 4, value: SIZEOF_SERVICE, max: MAX_SERVICES },
  maglev: { key: 4, value: 4, max: MAX_SERVICES * MAGLEV_SIZE },
  backends: { key: 4, value: SIZEOF_BACKEND, max: MAX_BACKENDS },
  config: { key: 4, value: SIZEOF_CONFIG, max: 1 },
  sessions: { key: SIZEOF_FLOW_KEY, value: SIZEOF_SESSION },
  counters: { key: 4, value: CNT_MAX * 8, max: 1 },
  bstats: { key: 4, value: SIZEOF_BACKEND_STATS, max: MAX_BACKENDS },
  devmap: { key: 4, value: 4, max: 1 },
};

export const PROGRAM_NAME = 'lbdsr_xdp';
/** The BACKEND port's program (counts and drops every frame). */
export const BACKEND_PROGRAM_NAME = 'lbdsr_backend';

/** Per-CPU values are rounded up to 8 bytes per CPU. */
function round8(n: number): number {
  return (n + 7) & ~7;
}

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface KernelSession {
  /** Addresses as host-order numbers of the dotted quad. */
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  backendId: number;
  slot: number;
  lastSeenNs: bigint;
}

export interface KernelBackend {
  slot: number;
  id: number;
  mac: Uint8Array;
  live: boolean;
}

export interface KernelService {
  /** VIP, host order. */
  vip: number;
  mac: Uint8Array;
  algorithm: number;
  index: number;
  backends: number;
}

export interface KernelConfig {
  backendPortMac: Uint8Array;
  ready: boolean;
  backendIfindex: number;
  timeoutsNs: { tcp: bigint; udp: bigint; icmp: bigint };
}

export class XdpMaps {
  readonly ncpu: number;
  private readonly u32key = new Uint8Array(4);
  private readonly u32view = new DataView(this.u32key.buffer);
  private readonly counterBuf: Uint8Array;
  private readonly bstatsBuf: Uint8Array;

  constructor(readonly fds: MapFds) {
    this.ncpu = possibleCpus();
    this.counterBuf = new Uint8Array(round8(CNT_MAX * 8) * this.ncpu);
    this.bstatsBuf = new Uint8Array(round8(SIZEOF_BACKEND_STATS) * this.ncpu);
  }

  close(): void {
    for (const k of MAP_KEYS) closeFd(this.fds[k]);
  }

  private key32(n: number): Uint8Array {
    this.u32view.setUint32(0, n, LE);
    return this.u32key;
  }

  // ---- backends ----

  writeBackend(slot: number, id: number, mac: Uint8Array, live: boolean): void {
    const v = new Uint8Array(SIZEOF_BACKEND);
    v.set(mac, 0);
    v[6] = live ? 1 : 0;
    new DataView(v.buffer).setUint32(8, id, LE);
    mapUpdate(this.fds.backends, this.key32(slot), v);
  }

  /** Every slot whose entry is live. */
  readBackends(): KernelBackend[] {
    const out: KernelBackend[] = [];
    mapForEach(this.fds.backends, 4, SIZEOF_BACKEND, MAX_BACKENDS, (keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset, keys.byteLength);
      const vv = new DataView(values.buffer, values.byteOffset, values.byteLength);
      for (let i = 0; i < n; i++) {
        const o = i * SIZEOF_BACKEND;
        if (values[o + 6] !== 1) continue;
        out.push({
          slot: kv.getUint32(i * 4, LE),
          id: vv.getUint32(o + 8, LE),
          mac: values.slice(o, o + 6),
          live: true,
        });
      }
      return undefined;
    });
    return out;
  }

  /** Zeroes a slot's per-CPU counters (the slot was given to another backend). */
  resetBackendStats(slot: number): void {
    this.bstatsBuf.fill(0);
    mapUpdate(this.fds.bstats, this.key32(slot), this.bstatsBuf);
  }

  /** packets, bytes, sessions of a slot, summed over CPUs. */
  readBackendStats(slot: number): { packets: number; bytes: number; sessions: number } {
    const r = { packets: 0, bytes: 0, sessions: 0 };
    if (!mapLookup(this.fds.bstats, this.key32(slot), this.bstatsBuf)) return r;
    const dv = new DataView(this.bstatsBuf.buffer, this.bstatsBuf.byteOffset);
    const stride = round8(SIZEOF_BACKEND_STATS);
    for (let c = 0; c < this.ncpu; c++) {
      r.packets += Number(dv.getBigUint64(c * stride, LE));
      r.bytes += Number(dv.getBigUint64(c * stride + 8, LE));
      r.sessions += Number(dv.getBigUint64(c * stride + 16, LE));
    }
    return r;
  }

  // ---- services and Maglev ----

  writeService(s: KernelService): void {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, s.vip, false);
    const v = new Uint8Array(SIZEOF_SERVICE);
    v.set(s.mac, 0);
    v[6] = s.algorithm;
    v[7] = s.index;
    new DataView(v.buffer).setUint32(8, s.backends, LE);
    mapUpdate(this.fds.services, key, v);
  }

  /**
   * Writes the table the program reads per frame: each service at its index, VIP 0 = empty.
   * `testClockNs` replaces the kernel's clock when non-zero (tests only).
   */
  writeVipTable(services: Iterable<KernelService>, testClockNs = 0n): void {
    const v = new Uint8Array(SIZEOF_VIP_TABLE);
    const dv = new DataView(v.buffer);
    dv.setBigUint64(0, testClockNs, LE);
    for (const s of services) {
      if (s.index >= MAX_SERVICES) continue;
      dv.setUint32(VT_VIPS + s.index * 4, s.vip, false);
      const o = VT_SVCS + s.index * SIZEOF_SERVICE;
      v.set(s.mac, o);
      v[o + 6] = s.algorithm;
      v[o + 7] = s.index;
      dv.setUint32(o + 8, s.backends, LE);
    }
    mapUpdate(this.fds.vips, this.key32(0), v);
  }

  deleteService(vip: number): void {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, vip, false);
    mapDelete(this.fds.services, key);
  }

  readServices(): KernelService[] {
    const out: KernelService[] = [];
    mapForEach(this.fds.services, 4, SIZEOF_SERVICE, 16, (keys, values, n) => {
      for (let i = 0; i < n; i++) {
        const o = i * SIZEOF_SERVICE;
        const vv = new DataView(values.buffer, values.byteOffset + o, SIZEOF_SERVICE);
        out.push({
          vip: new DataView(keys.buffer, keys.byteOffset + i * 4, 4).getUint32(0, false),
          mac: values.slice(o, o + 6),
          algorithm: values[o + 6]!,
          index: values[o + 7]!,
          backends: vv.getUint32(8, LE),
        });
      }
      return undefined;
    });
    return out;
  }

  /**
   * Writes the entries of service block `index` where `table` differs from `previous` (all of them
   * when `previous` is null), in one batch.
   */
  writeMaglev(index: number, table: Uint32Array, previous: Uint32Array | null): number {
    const base = index * MAGLEV_SIZE;
    let n = 0;
    for (let i = 0; i < MAGLEV_SIZE; i++) if (previous === null || previous[i] !== table[i]) n++;
    if (n === 0) return 0;
    const keys = new Uint32Array(n);
    const values = new Uint32Array(n);
    let j = 0;
    for (let i = 0; i < MAGLEV_SIZE; i++) {
      if (previous === null || previous[i] !== table[i]) {
        keys[j] = base + i;
        values[j++] = table[i]!;
      }
    }
    mapUpdateBatch(this.fds.maglev, new Uint8Array(keys.buffer), new Uint8Array(values.buffer), n, 4, 4);
    return n;
  }

  // ---- instance config and the backend port ----

  writeConfig(c: KernelConfig): void {
    const v = new Uint8Array(SIZEOF_CONFIG);
    const dv = new DataView(v.buffer);
    v.set(c.backendPortMac, 0);
    v[6] = c.ready ? 1 : 0;
    dv.setUint32(8, c.backendIfindex, LE);
    dv.setBigUint64(16, c.timeoutsNs.tcp, LE);
    dv.setBigUint64(24, c.timeoutsNs.udp, LE);
    dv.setBigUint64(32, c.timeoutsNs.icmp, LE);
    mapUpdate(this.fds.config, this.key32(0), v);
  }

  readConfig(): KernelConfig {
    const v = new Uint8Array(SIZEOF_CONFIG);
    mapLookup(this.fds.config, this.key32(0), v);
    const dv = new DataView(v.buffer);
    return {
      backendPortMac: v.slice(0, 6),
      ready: v[6] === 1,
      backendIfindex: dv.getUint32(8, LE),
      timeoutsNs: {
        tcp: dv.getBigUint64(16, LE),
        udp: dv.getBigUint64(24, LE),
        icmp: dv.getBigUint64(32, LE),
      },
    };
  }

  /** Points devmap key 0 at the backend port (0 removes it: balanced frames are then dropped). */
  writeDevmap(ifindex: number): void {
    if (ifindex === 0) {
      mapDelete(this.fds.devmap, this.key32(0));
      return;
    }
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, ifindex, LE);
    mapUpdate(this.fds.devmap, this.key32(0), v);
  }

  // ---- counters and sessions ----

  /** Global counters summed over CPUs, indexed like the shared header. */
  readCounters(out = new Float64Array(CNT_MAX)): Float64Array {
    out.fill(0);
    if (!mapLookup(this.fds.counters, this.key32(0), this.counterBuf)) return out;
    const dv = new DataView(this.counterBuf.buffer, this.counterBuf.byteOffset);
    const stride = round8(CNT_MAX * 8);
    for (let c = 0; c < this.ncpu; c++) {
      for (let i = 0; i < CNT_MAX; i++) out[i] = out[i]! + Number(dv.getBigUint64(c * stride + i * 8, LE));
    }
    return out;
  }

  /** Visits every session of the kernel table (batch reads; entries may change meanwhile). */
  forEachSession(visit: (s: KernelSession) => void): void {
    const s: KernelSession = {
      src: 0,
      dst: 0,
      sport: 0,
      dport: 0,
      proto: 0,
      backendId: 0,
      slot: 0,
      lastSeenNs: 0n,
    };
    mapForEach(this.fds.sessions, SIZEOF_FLOW_KEY, SIZEOF_SESSION, 4096, (keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset, keys.byteLength);
      const vv = new DataView(values.buffer, values.byteOffset, values.byteLength);
      for (let i = 0; i < n; i++) {
        const k = i * SIZEOF_FLOW_KEY;
        const o = i * SIZEOF_SESSION;
        s.src = kv.getUint32(k, false);
        s.dst = kv.getUint32(k + 4, false);
        s.sport = kv.getUint16(k + 8, LE);
        s.dport = kv.getUint16(k + 10, LE);
        s.proto = keys[k + 12]!;
        s.backendId = vv.getUint32(o, LE);
        s.slot = vv.getUint32(o + 4, LE);
        s.lastSeenNs = vv.getBigUint64(o + 8, LE);
        visit(s);
      }
      return undefined;
    });
  }

  /** Writes one session (tests and restoring a table). */
  writeSession(s: KernelSession): void {
    const k = new Uint8Array(SIZEOF_FLOW_KEY);
    const kv = new DataView(k.buffer);
    kv.setUint32(0, s.src, false);
    kv.setUint32(4, s.dst, false);
    kv.setUint16(8, s.sport, LE);
    kv.setUint16(10, s.dport, LE);
    k[12] = s.proto;
    const v = new Uint8Array(SIZEOF_SESSION);
    const vv = new DataView(v.buffer);
    vv.setUint32(0, s.backendId, LE);
    vv.setUint32(4, s.slot, LE);
    vv.setBigUint64(8, s.lastSeenNs, LE);
    mapUpdate(this.fds.sessions, k, v);
  }

  /** Writes `values[i]` at entry `index[i]` of service block `block`, in one batch; returns how many. */
  writeMaglevEntries(block: number, index: Uint32Array, values: Uint32Array): number {
    const n = index.length;
    if (n === 0) return 0;
    const base = block * MAGLEV_SIZE;
    const keys = new Uint32Array(n);
    for (let i = 0; i < n; i++) keys[i] = base + index[i]!;
    const vals = new Uint8Array(values.buffer, values.byteOffset, n * 4);
    mapUpdateBatch(this.fds.maglev, new Uint8Array(keys.buffer), vals, n, 4, 4);
    return n;
  }
}
