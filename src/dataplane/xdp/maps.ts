// Typed access to the maps of one loaded lbdsr XDP program: map names and layouts, codecs for their
// entries that read and write only through the struct tables of shared-structs.ts (checked against
// the object's BTF), and the reads the plane needs (per-CPU counters summed, the session table
// scanned in batches). The service maps (VIPs, port services, service entries, Maglev tables) have
// their own module, service-maps.ts, reached as `XdpMaps.svc`.

import { CNT_MAX, FRAG_CAPACITY, MAX_BACKENDS, MAX_SERVICES } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import {
  closeFd,
  mapDelete,
  mapForEach,
  mapForEachYielding,
  mapLookup,
  mapLookupArrayPrefix,
  mapUpdate,
  possibleCpus,
} from '../../kernel/libbpf.js';
import { XdpServiceMaps } from './service-maps.js';
import { getBytes, getNum, getU64, LE, STRUCT_LAYOUTS, setBytes, setNum, setU64 } from './shared-structs.js';

export { type FieldLayout, STRUCT_LAYOUTS, type StructLayout } from './shared-structs.js';

/** Map names in the object (bpf/maps.h) and, without the prefix, the names of their pins. */
export const MAP_NAMES = {
  vips: 'lbdsr_vips',
  ports: 'lbdsr_ports',
  vips6: 'lbdsr_vips6',
  ports6: 'lbdsr_ports6',
  services: 'lbdsr_services',
  maglev: 'lbdsr_maglev',
  backends: 'lbdsr_backends',
  config: 'lbdsr_config',
  sessions: 'lbdsr_sessions',
  frags: 'lbdsr_frags',
  sessions6: 'lbdsr_sessions6',
  frags6: 'lbdsr_frags6',
  counters: 'lbdsr_counters',
  bstats: 'lbdsr_bstats',
  devmap: 'lbdsr_devmap',
} as const;
export type MapKey = keyof typeof MAP_NAMES;
export const MAP_KEYS = Object.keys(MAP_NAMES) as MapKey[];
export type MapFds = Record<MapKey, number>;

const FK = STRUCT_LAYOUTS.flowKey.fields;
const FK6 = STRUCT_LAYOUTS.flowKey6.fields;
const SE = STRUCT_LAYOUTS.session.fields;
const BE = STRUCT_LAYOUTS.backend.fields;
const BS = STRUCT_LAYOUTS.backendStats.fields;
const CF = STRUCT_LAYOUTS.config.fields;

const SIZEOF_FLOW_KEY = STRUCT_LAYOUTS.flowKey.size;
const SIZEOF_FLOW_KEY6 = STRUCT_LAYOUTS.flowKey6.size;
const SIZEOF_SESSION = STRUCT_LAYOUTS.session.size;
const SIZEOF_BACKEND = STRUCT_LAYOUTS.backend.size;
const SIZEOF_BACKEND_STATS = STRUCT_LAYOUTS.backendStats.size;
const SIZEOF_CONFIG = STRUCT_LAYOUTS.config.size;

/** Layout every pinned map must have to be adopted (a program upgrade that changed it starts afresh). */
export const MAP_LAYOUT: Record<MapKey, { key: number; value: number; max?: number }> = {
  vips: { key: 4, value: STRUCT_LAYOUTS.vip.size, max: MAX_SERVICES },
  ports: { key: STRUCT_LAYOUTS.portKey.size, value: 4, max: MAX_SERVICES },
  vips6: { key: 16, value: STRUCT_LAYOUTS.vip.size, max: MAX_SERVICES },
  ports6: { key: STRUCT_LAYOUTS.portKey6.size, value: 4, max: MAX_SERVICES },
  services: { key: 4, value: STRUCT_LAYOUTS.service.size, max: MAX_SERVICES },
  /** The outer map: a value is an inner map (4 bytes: an fd when written, an id when read). */
  maglev: { key: 4, value: 4, max: MAX_SERVICES },
  backends: { key: 4, value: SIZEOF_BACKEND, max: MAX_BACKENDS },
  config: { key: 4, value: SIZEOF_CONFIG, max: 1 },
  sessions: { key: SIZEOF_FLOW_KEY, value: SIZEOF_SESSION },
  frags: { key: STRUCT_LAYOUTS.fragKey.size, value: STRUCT_LAYOUTS.frag.size, max: FRAG_CAPACITY },
  sessions6: { key: STRUCT_LAYOUTS.flowKey6.size, value: SIZEOF_SESSION },
  frags6: { key: STRUCT_LAYOUTS.fragKey6.size, value: STRUCT_LAYOUTS.frag.size, max: FRAG_CAPACITY },
  counters: { key: 4, value: STRUCT_LAYOUTS.counters.size, max: 1 },
  bstats: { key: 4, value: SIZEOF_BACKEND_STATS, max: MAX_BACKENDS },
  devmap: { key: 4, value: 4, max: 1 },
};

export const PROGRAM_NAME = 'lbdsr_xdp';
/** The BACKEND port's program (passes ARP and frames to the probe MAC, drops every other frame). */
export const BACKEND_PROGRAM_NAME = 'lbdsr_backend';

/** Per-CPU values are rounded up to 8 bytes per CPU. */
function round8(n: number): number {
  return (n + 7) & ~7;
}

const dataView = (u8: Uint8Array) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);

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

/** An IPv6 session (lbdsr_sessions6): addresses as their 16 bytes on the wire. */
export interface KernelSession6 extends Omit<KernelSession, 'src' | 'dst'> {
  src: Uint8Array;
  dst: Uint8Array;
}

export interface KernelBackend {
  slot: number;
  id: number;
  /** Index of the service whose pool holds the backend. */
  service: number;
  mac: Uint8Array;
  live: boolean;
}

export interface KernelConfig {
  backendPortMac: Uint8Array;
  ready: boolean;
  /** A TCP miss that is not a SYN records a session (docs/semantics.md, "Session floods"). */
  recordNonSyn: boolean;
  /** CFG_* (docs/semantics.md, "Frontend modes"). */
  flags: number;
  backendIfindex: number;
  /** BACKEND port: frames to this MAC are passed to the kernel (null: no probe address). */
  probeMac: Uint8Array | null;
  timeoutsNs: { tcp: bigint; udp: bigint; icmp: bigint };
}

/** How a session walk reads its map: mapForEach (void) or mapForEachYielding (a promise). */
type Walk<R> = (
  fd: number,
  keySize: number,
  valueSize: number,
  chunk: number,
  each: (keys: Uint8Array, values: Uint8Array, n: number) => boolean | undefined,
) => R;
const syncWalk: Walk<void> = mapForEach;

export class XdpMaps {
  readonly ncpu: number;
  readonly svc: XdpServiceMaps;
  /** Replaces the kernel's clock when non-zero (tests only): kept across config writes. */
  private testClockNs = 0n;
  private readonly u32key = new Uint8Array(4);
  private readonly u32view = new DataView(this.u32key.buffer);
  private readonly counterBuf: Uint8Array;
  private readonly bstatsBuf: Uint8Array;
  /** close() was called: a yielding walk stops at its next chunk. */
  private closed = false;
  /** readBackendStatsUpTo's buffers, grown to the highest slot read. */
  private bstatsAll = new Uint8Array(0);
  private bstatsKeys = new Uint8Array(0);

  constructor(readonly fds: MapFds) {
    this.ncpu = possibleCpus();
    this.svc = new XdpServiceMaps(fds);
    this.counterBuf = new Uint8Array(round8(STRUCT_LAYOUTS.counters.size) * this.ncpu);
    this.bstatsBuf = new Uint8Array(round8(SIZEOF_BACKEND_STATS) * this.ncpu);
  }

  close(): void {
    this.closed = true;
    this.svc.close();
    for (const k of MAP_KEYS) closeFd(this.fds[k]);
  }

  private key32(n: number): Uint8Array {
    this.u32view.setUint32(0, n, LE);
    return this.u32key;
  }

  // ---- backends ----

  /** A slot held by backend `id` of service `service` (`held` false: the slot is free, never live). */
  writeBackend(
    slot: number,
    b: { id: number; service: number; mac: Uint8Array; live: boolean },
    held = true,
  ): void {
    const v = new Uint8Array(SIZEOF_BACKEND);
    const dv = dataView(v);
    setBytes(v, 0, BE.mac, b.mac);
    setNum(dv, 0, BE.live, held && b.live ? 1 : 0);
    setNum(dv, 0, BE.held, held ? 1 : 0);
    setNum(dv, 0, BE.id, b.id);
    setNum(dv, 0, BE.service, b.service);
    mapUpdate(this.fds.backends, this.key32(slot), v);
  }

  /** Every slot a backend holds (live or not). */
  readBackends(): KernelBackend[] {
    const out: KernelBackend[] = [];
    mapForEach(this.fds.backends, 4, SIZEOF_BACKEND, MAX_BACKENDS, (keys, values, n) => {
      const kv = dataView(keys);
      const vv = dataView(values);
      for (let i = 0; i < n; i++) {
        const o = i * SIZEOF_BACKEND;
        if (getNum(vv, o, BE.held) !== 1) continue;
        out.push({
          slot: kv.getUint32(i * 4, LE),
          id: getNum(vv, o, BE.id),
          service: getNum(vv, o, BE.service),
          mac: getBytes(values, o, BE.mac),
          live: getNum(vv, o, BE.live) === 1,
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
    if (!mapLookup(this.fds.bstats, this.key32(slot), this.bstatsBuf))
      return { packets: 0, bytes: 0, sessions: 0 };
    return this.sumBackendStats(this.bstatsBuf, 0);
  }

  /**
   * The counters of slots 0..n-1 (for every slot below `n`: index = slot), read in one batch lookup.
   * The daemon reads every live slot once a second (metrics, status page): one lookup per slot held
   * its event loop for milliseconds with thousands of backends, in front of any request that came
   * in meanwhile. Falls back to one lookup per slot where the kernel has no batch lookup for arrays.
   */
  readBackendStatsUpTo(n: number): { packets: number; bytes: number; sessions: number }[] {
    const perSlot = this.bstatsBuf.length;
    if (this.bstatsAll.length < n * perSlot) {
      this.bstatsAll = new Uint8Array(n * perSlot);
      this.bstatsKeys = new Uint8Array(n * 4);
    }
    const got = mapLookupArrayPrefix(this.fds.bstats, n, this.bstatsKeys, this.bstatsAll);
    const out: { packets: number; bytes: number; sessions: number }[] = [];
    for (let slot = 0; slot < n; slot++) {
      out.push(
        slot < got ? this.sumBackendStats(this.bstatsAll, slot * perSlot) : this.readBackendStats(slot),
      );
    }
    return out;
  }

  private sumBackendStats(buf: Uint8Array, at: number): { packets: number; bytes: number; sessions: number } {
    const r = { packets: 0, bytes: 0, sessions: 0 };
    const dv = dataView(buf);
    const stride = round8(SIZEOF_BACKEND_STATS);
    for (let c = 0; c < this.ncpu; c++) {
      r.packets += getNum(dv, at + c * stride, BS.packets);
      r.bytes += getNum(dv, at + c * stride, BS.bytes);
      r.sessions += getNum(dv, at + c * stride, BS.sessions);
    }
    return r;
  }

  // ---- instance config and the backend port ----

  writeConfig(c: KernelConfig): void {
    const v = new Uint8Array(SIZEOF_CONFIG);
    const dv = dataView(v);
    setBytes(v, 0, CF.backend_port_mac, c.backendPortMac);
    setNum(dv, 0, CF.ready, c.ready ? 1 : 0);
    setNum(dv, 0, CF.record_non_syn, c.recordNonSyn ? 1 : 0);
    setNum(dv, 0, CF.backend_ifindex, c.backendIfindex);
    setNum(dv, 0, CF.flags, c.flags);
    if (c.probeMac) {
      setBytes(v, 0, CF.probe_mac, c.probeMac);
      setNum(dv, 0, CF.probe_set, 1);
    }
    setU64(dv, 0, CF.test_clock_ns, this.testClockNs);
    setU64(dv, 0, CF.timeout_tcp_ns, c.timeoutsNs.tcp);
    setU64(dv, 0, CF.timeout_udp_ns, c.timeoutsNs.udp);
    setU64(dv, 0, CF.timeout_icmp_ns, c.timeoutsNs.icmp);
    mapUpdate(this.fds.config, this.key32(0), v);
  }

  readConfig(): KernelConfig {
    const v = new Uint8Array(SIZEOF_CONFIG);
    mapLookup(this.fds.config, this.key32(0), v);
    const dv = dataView(v);
    return {
      backendPortMac: getBytes(v, 0, CF.backend_port_mac),
      ready: getNum(dv, 0, CF.ready) === 1,
      recordNonSyn: getNum(dv, 0, CF.record_non_syn) === 1,
      backendIfindex: getNum(dv, 0, CF.backend_ifindex),
      flags: getNum(dv, 0, CF.flags),
      probeMac: getNum(dv, 0, CF.probe_set) === 1 ? getBytes(v, 0, CF.probe_mac) : null,
      timeoutsNs: {
        tcp: getU64(dv, 0, CF.timeout_tcp_ns),
        udp: getU64(dv, 0, CF.timeout_udp_ns),
        icmp: getU64(dv, 0, CF.timeout_icmp_ns),
      },
    };
  }

  /** Tests: the program's clock (0: the kernel's), written into the config entry at once. */
  setTestClock(ns: bigint): void {
    this.testClockNs = ns;
    const v = new Uint8Array(SIZEOF_CONFIG);
    mapLookup(this.fds.config, this.key32(0), v);
    setU64(dataView(v), 0, CF.test_clock_ns, ns);
    mapUpdate(this.fds.config, this.key32(0), v);
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
    const dv = dataView(this.counterBuf);
    const { size, fields } = STRUCT_LAYOUTS.counters;
    const stride = round8(size);
    for (let c = 0; c < this.ncpu; c++) {
      const base = c * stride + fields.v.offset;
      for (let i = 0; i < CNT_MAX; i++) out[i] = (out[i] ?? 0) + Number(dv.getBigUint64(base + i * 8, LE));
    }
    return out;
  }

  /**
   * Visits every session of the IPv4 table (batch reads; entries may change meanwhile; `s` is reused).
   * `walk`: mapForEach (at once), or mapForEachYielding (the daemon's reads: the event loop is given
   * back between chunks, and the returned promise ends the walk).
   */
  forEachSession<R extends void | Promise<void>>(
    visit: (s: KernelSession) => void,
    walk: Walk<R> = syncWalk as Walk<R>,
  ): R {
    const s: KernelSession = { src: 0, dst: 0, ...emptyFlow() };
    return this.scanSessions(this.fds.sessions, SIZEOF_FLOW_KEY, s, walk, (kv, k) => {
      s.src = getNum(kv, k, FK.src, true);
      s.dst = getNum(kv, k, FK.dst, true);
      s.sport = getNum(kv, k, FK.sport);
      s.dport = getNum(kv, k, FK.dport);
      s.proto = getNum(kv, k, FK.proto);
      visit(s);
    });
  }

  /**
   * Visits every session of the IPv6 table (lbdsr_sessions6), as forEachSession; `s` and its address
   * arrays are reused: copy what is kept.
   */
  forEachSession6<R extends void | Promise<void>>(
    visit: (s: KernelSession6) => void,
    walk: Walk<R> = syncWalk as Walk<R>,
  ): R {
    const s: KernelSession6 = { src: new Uint8Array(16), dst: new Uint8Array(16), ...emptyFlow() };
    return this.scanSessions(this.fds.sessions6, SIZEOF_FLOW_KEY6, s, walk, (kv, k, keys) => {
      s.src.set(keys.subarray(k + FK6.src.offset, k + FK6.src.offset + 16));
      s.dst.set(keys.subarray(k + FK6.dst.offset, k + FK6.dst.offset + 16));
      s.sport = getNum(kv, k, FK6.sport);
      s.dport = getNum(kv, k, FK6.dport);
      s.proto = getNum(kv, k, FK6.proto);
      visit(s);
    });
  }

  /**
   * The sessions of both families: the fields every session has (the key's addresses left out). The
   * daemon's walk: it gives the event loop back between chunks (see forEachSession).
   */
  async forEachAnySession(visit: (s: Omit<KernelSession, 'src' | 'dst'>) => void): Promise<void> {
    await this.forEachSession(visit, this.yieldingWalk);
    await this.forEachSession6(visit, this.yieldingWalk);
  }

  /**
   * mapForEachYielding on this instance's maps: after each pause, a plane closed meanwhile ends the
   * walk with an error (its fds are closed, and their numbers may already name other objects).
   */
  readonly yieldingWalk: Walk<Promise<void>> = (fd, keySize, valueSize, chunk, each) =>
    mapForEachYielding(fd, keySize, valueSize, chunk, each, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.closed)
        throw new LbdsrError('LBDSR_NOT_AVAILABLE', 'the data plane was closed while its sessions were read');
    });

  /** Batch-reads a session map: the value into `s`, then `key(view, offset, bytes)` for the key. */
  private scanSessions<R>(
    fd: number,
    keySize: number,
    s: { backendId: number; slot: number; lastSeenNs: bigint },
    walk: Walk<R>,
    key: (kv: DataView, k: number, keys: Uint8Array) => void,
  ): R {
    return walk(fd, keySize, SIZEOF_SESSION, 4096, (keys, values, n) => {
      const kv = dataView(keys);
      const vv = dataView(values);
      for (let i = 0; i < n; i++) {
        const o = i * SIZEOF_SESSION;
        s.backendId = getNum(vv, o, SE.backend_id);
        s.slot = getNum(vv, o, SE.slot);
        s.lastSeenNs = getU64(vv, o, SE.last_seen_ns);
        key(kv, i * keySize, keys);
      }
      return undefined;
    });
  }

  /** Writes one session (tests and restoring a table). */
  writeSession(s: KernelSession): void {
    const k = new Uint8Array(SIZEOF_FLOW_KEY);
    const kv = dataView(k);
    setNum(kv, 0, FK.src, s.src, true);
    setNum(kv, 0, FK.dst, s.dst, true);
    setNum(kv, 0, FK.sport, s.sport);
    setNum(kv, 0, FK.dport, s.dport);
    setNum(kv, 0, FK.proto, s.proto);
    mapUpdate(this.fds.sessions, k, sessionValue(s));
  }

  /** Writes one IPv6 session (tests). */
  writeSession6(s: KernelSession6): void {
    const k = new Uint8Array(SIZEOF_FLOW_KEY6);
    const kv = dataView(k);
    setBytes(k, 0, FK6.src, s.src);
    setBytes(k, 0, FK6.dst, s.dst);
    setNum(kv, 0, FK6.sport, s.sport);
    setNum(kv, 0, FK6.dport, s.dport);
    setNum(kv, 0, FK6.proto, s.proto);
    mapUpdate(this.fds.sessions6, k, sessionValue(s));
  }
}

/** The fields of a session other than its addresses, zero (the readers fill one object in place). */
const emptyFlow = () => ({ sport: 0, dport: 0, proto: 0, backendId: 0, slot: 0, lastSeenNs: 0n });

function sessionValue(s: { backendId: number; slot: number; lastSeenNs: bigint }): Uint8Array {
  const v = new Uint8Array(SIZEOF_SESSION);
  const vv = dataView(v);
  setNum(vv, 0, SE.backend_id, s.backendId);
  setNum(vv, 0, SE.slot, s.slot);
  setU64(vv, 0, SE.last_seen_ns, s.lastSeenNs);
  return v;
}
