// The service maps of one loaded lbdsr XDP program (bpf/maps.h, bpf/service.h): the VIP entries (one
// hash lookup per frame gives the frontend MAC and the service per protocol), the services with a
// port, the service entries by index, and the Maglev tables: one inner ARRAY map of MAGLEV_SIZE slots
// per service, created here when a service first needs it and held by the ARRAY_OF_MAPS lbdsr_maglev
// at the service's index (so memory follows the services in use, and a restarted daemon finds the
// tables through the pinned outer map). Entries are read and written through shared-structs.ts.
// IPv6 VIPs have maps of their own (lbdsr_vips6, lbdsr_ports6: 16-byte keys, the same values); a VIP
// is a number (IPv4, host order) or 16 bytes (IPv6, as on the wire), and the writers pick the map by it.
import {
  MAGLEV_SIZE,
  MAX_SERVICES,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  SVC_NONE,
  VIP_PORTS_TCP,
  VIP_PORTS_UDP,
} from '../../core/constants.js';
import {
  BPF_MAP_TYPE_ARRAY,
  closeFd,
  mapCreate,
  mapDelete,
  mapFdById,
  mapForEach,
  mapLookup,
  mapUpdate,
  mapUpdateBatch,
} from '../../kernel/libbpf.js';
import { getBytes, getNum, LE, STRUCT_LAYOUTS, setBytes, setNum } from './shared-structs.js';

const SV = STRUCT_LAYOUTS.service;
const VE = STRUCT_LAYOUTS.vip;
const PK = STRUCT_LAYOUTS.portKey;
const PK6 = STRUCT_LAYOUTS.portKey6;
const dataView = (u8: Uint8Array) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);

/** A VIP: IPv4 as a host-order number, IPv6 as its 16 bytes (as on the wire). */
export type VipAddr = number | Uint8Array;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A VIP as a Map key: the IPv4 number in decimal, an IPv6 address as 32 hex digits (never equal). */
export const vipKeyString = (vip: VipAddr): string => (typeof vip === 'number' ? `${vip}` : hex(vip));

/** The VIPs of a service: its IPv4 VIP (0: none) and its IPv6 VIP (null: none). */
export function vipsOf(s: { vip: number; vip6: Uint8Array | null }): VipAddr[] {
  const out: VipAddr[] = [];
  if (s.vip !== 0) out.push(s.vip);
  if (s.vip6) out.push(s.vip6);
  return out;
}

/**
 * A service entry as the program holds it (VIP host order, 0: none; vip6 16 bytes, null: none;
 * proto 0 and port 0: any).
 */
export interface KernelService {
  index: number;
  vip: number;
  vip6: Uint8Array | null;
  proto: number;
  port: number;
  mac: Uint8Array;
  algorithm: number;
  backends: number;
}

/** A VIP's entry: its MAC, the service per protocol without a port match, the protocols with port services. */
export interface KernelVip {
  vip: VipAddr;
  mac: Uint8Array;
  portProtos: number;
  tcp: number;
  udp: number;
  icmp: number;
}

/** A service with a port, as keyed in lbdsr_ports (lbdsr_ports6 for an IPv6 VIP). */
export interface KernelPort {
  vip: VipAddr;
  port: number;
  proto: number;
  index: number;
}

/**
 * The VIP entry of the services sharing one VIP (docs/semantics.md, service match): per protocol the
 * service with that protocol and no port, else the one with neither; port services go to the port map.
 */
export function vipEntryOf(vip: VipAddr, services: readonly KernelService[]): KernelVip {
  const exact = (proto: number) => services.find((s) => s.proto === proto && s.port === 0)?.index;
  const any = services.find((s) => s.proto === 0 && s.port === 0)?.index ?? SVC_NONE;
  let portProtos = 0;
  for (const s of services) {
    if (s.port !== 0 && s.proto === PROTO_TCP) portProtos |= VIP_PORTS_TCP;
    if (s.port !== 0 && s.proto === PROTO_UDP) portProtos |= VIP_PORTS_UDP;
  }
  return {
    vip,
    mac: services[0]?.mac ?? new Uint8Array(6),
    portProtos,
    tcp: exact(PROTO_TCP) ?? any,
    udp: exact(PROTO_UDP) ?? any,
    icmp: exact(PROTO_ICMP) ?? any,
  };
}

/** The port-map entries of the services sharing one VIP `vip` (one of theirs). */
export function portEntriesOf(vip: VipAddr, services: readonly KernelService[]): KernelPort[] {
  return services
    .filter((s) => s.port !== 0)
    .map((s) => ({ vip, port: s.port, proto: s.proto, index: s.index }));
}

export const portKeyString = (p: { vip: VipAddr; port: number; proto: number }) =>
  `${vipKeyString(p.vip)}/${p.proto}/${p.port}`;

function vipKey(vip: VipAddr): Uint8Array {
  if (typeof vip !== 'number') return Uint8Array.from(vip);
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, vip, false);
  return k;
}

function portKey(p: { vip: VipAddr; port: number; proto: number }): Uint8Array {
  const L = typeof p.vip === 'number' ? PK : PK6;
  const k = new Uint8Array(L.size);
  const dv = dataView(k);
  if (typeof p.vip === 'number') setNum(dv, 0, PK.fields.vip, p.vip, true);
  else setBytes(k, 0, PK6.fields.vip, p.vip);
  setNum(dv, 0, L.fields.port, p.port);
  setNum(dv, 0, L.fields.proto, p.proto);
  return k;
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

export function macEq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function u32(n: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, n, LE);
  return k;
}

/** Every entry of a small map, decoded by `decode(keys, values, i)` (undefined: left out). */
function collect<T>(
  fd: number,
  keySize: number,
  valueSize: number,
  decode: (
    k: { u8: Uint8Array; dv: DataView; o: number },
    v: { u8: Uint8Array; dv: DataView; o: number },
  ) => T | undefined,
): T[] {
  const out: T[] = [];
  mapForEach(fd, keySize, valueSize, MAX_SERVICES, (keys, values, n) => {
    const k = { u8: keys, dv: dataView(keys), o: 0 };
    const v = { u8: values, dv: dataView(values), o: 0 };
    for (let i = 0; i < n; i++) {
      k.o = i * keySize;
      v.o = i * valueSize;
      const e = decode(k, v);
      if (e !== undefined) out.push(e);
    }
    return undefined;
  });
  return out;
}

export interface ServiceMapFds {
  vips: number;
  ports: number;
  vips6: number;
  ports6: number;
  services: number;
  maglev: number;
}

export class XdpServiceMaps {
  /** Inner Maglev map fds this process holds, by service index. */
  private readonly tables = new Map<number, number>();

  constructor(private readonly fds: ServiceMapFds) {}

  close(): void {
    for (const fd of this.tables.values()) closeFd(fd);
    this.tables.clear();
  }

  // ---- service entries ----

  writeService(s: KernelService): void {
    const v = new Uint8Array(SV.size);
    const dv = dataView(v);
    setNum(dv, 0, SV.fields.vip, s.vip, true);
    setNum(dv, 0, SV.fields.port, s.port);
    setNum(dv, 0, SV.fields.proto, s.proto);
    setNum(dv, 0, SV.fields.algorithm, s.algorithm);
    setBytes(v, 0, SV.fields.mac, s.mac);
    setNum(dv, 0, SV.fields.backends, s.backends);
    if (s.vip6) setBytes(v, 0, SV.fields.vip6, s.vip6);
    mapUpdate(this.fds.services, u32(s.index), v);
  }

  /** Empties an index (no VIP of either family: no service). */
  clearService(index: number): void {
    mapUpdate(this.fds.services, u32(index), new Uint8Array(SV.size));
  }

  /** Every index that holds a service. */
  readServices(): KernelService[] {
    const f = SV.fields;
    return collect(this.fds.services, 4, SV.size, (k, v) => {
      const vip = getNum(v.dv, v.o, f.vip, true);
      const vip6 = getBytes(v.u8, v.o, f.vip6);
      if (vip === 0 && isZero(vip6)) return undefined;
      return {
        index: k.dv.getUint32(k.o, LE),
        vip,
        vip6: isZero(vip6) ? null : vip6,
        port: getNum(v.dv, v.o, f.port),
        proto: getNum(v.dv, v.o, f.proto),
        algorithm: getNum(v.dv, v.o, f.algorithm),
        mac: getBytes(v.u8, v.o, f.mac),
        backends: getNum(v.dv, v.o, f.backends),
      };
    });
  }

  // ---- VIP entries and port services ----

  writeVip(e: KernelVip): void {
    const v = new Uint8Array(VE.size);
    const dv = dataView(v);
    setBytes(v, 0, VE.fields.mac, e.mac);
    setNum(dv, 0, VE.fields.port_protos, e.portProtos);
    setNum(dv, 0, VE.fields.svc_tcp, e.tcp);
    setNum(dv, 0, VE.fields.svc_udp, e.udp);
    setNum(dv, 0, VE.fields.svc_icmp, e.icmp);
    mapUpdate(this.vipsFd(e.vip), vipKey(e.vip), v);
  }

  deleteVip(vip: VipAddr): void {
    mapDelete(this.vipsFd(vip), vipKey(vip));
  }

  private vipsFd(vip: VipAddr): number {
    return typeof vip === 'number' ? this.fds.vips : this.fds.vips6;
  }

  /** The VIP entries of both families: IPv4 first, then IPv6. */
  readVips(): KernelVip[] {
    const f = VE.fields;
    const entry = (vip: VipAddr, v: { u8: Uint8Array; dv: DataView; o: number }): KernelVip => ({
      vip,
      mac: getBytes(v.u8, v.o, f.mac),
      portProtos: getNum(v.dv, v.o, f.port_protos),
      tcp: getNum(v.dv, v.o, f.svc_tcp),
      udp: getNum(v.dv, v.o, f.svc_udp),
      icmp: getNum(v.dv, v.o, f.svc_icmp),
    });
    return [
      ...collect(this.fds.vips, 4, VE.size, (k, v) => entry(k.dv.getUint32(k.o, false), v)),
      ...collect(this.fds.vips6, 16, VE.size, (k, v) => entry(k.u8.slice(k.o, k.o + 16), v)),
    ];
  }

  writePort(p: KernelPort): void {
    mapUpdate(this.portsFd(p.vip), portKey(p), u32(p.index));
  }

  deletePort(p: { vip: VipAddr; port: number; proto: number }): void {
    mapDelete(this.portsFd(p.vip), portKey(p));
  }

  private portsFd(vip: VipAddr): number {
    return typeof vip === 'number' ? this.fds.ports : this.fds.ports6;
  }

  /** The port services of both families: IPv4 first, then IPv6. */
  readPorts(): KernelPort[] {
    const f = PK.fields;
    const f6 = PK6.fields;
    return [
      ...collect(this.fds.ports, PK.size, 4, (k, v) => ({
        vip: getNum(k.dv, k.o, f.vip, true) as VipAddr,
        port: getNum(k.dv, k.o, f.port),
        proto: getNum(k.dv, k.o, f.proto),
        index: v.dv.getUint32(v.o, LE),
      })),
      ...collect(this.fds.ports6, PK6.size, 4, (k, v) => ({
        vip: getBytes(k.u8, k.o, f6.vip) as VipAddr,
        port: getNum(k.dv, k.o, f6.port),
        proto: getNum(k.dv, k.o, f6.proto),
        index: v.dv.getUint32(v.o, LE),
      })),
    ];
  }

  // ---- Maglev tables ----

  /** The fd of the table at `index` (held by the outer map, e.g. left by a previous daemon), if any. */
  tableFd(index: number): number | undefined {
    const known = this.tables.get(index);
    if (known !== undefined) return known;
    const id = new Uint8Array(4);
    if (!mapLookup(this.fds.maglev, u32(index), id)) return undefined;
    const fd = mapFdById(new DataView(id.buffer).getUint32(0, LE));
    this.tables.set(index, fd);
    return fd;
  }

  /**
   * The table at `index`, created (all zero: the caller writes every entry before a VIP entry names
   * the service) when there is none. True when it was created.
   */
  ensureTable(index: number): boolean {
    if (this.tableFd(index) !== undefined) return false;
    const fd = mapCreate(BPF_MAP_TYPE_ARRAY, `lbdsr_mglv_${index}`, 4, 4, MAGLEV_SIZE);
    try {
      mapUpdate(this.fds.maglev, u32(index), u32(fd));
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    this.tables.set(index, fd);
    return true;
  }

  /** Removes the table at `index` (the kernel frees it once no program run uses it). */
  dropTable(index: number): void {
    mapDelete(this.fds.maglev, u32(index));
    const fd = this.tables.get(index);
    if (fd !== undefined) closeFd(fd);
    this.tables.delete(index);
  }

  /** Writes `values[i]` at entry `keys[i]` of the table at `index`, in one batch; returns how many. */
  writeTable(index: number, keys: Uint32Array, values: Uint32Array): number {
    const n = keys.length;
    if (n === 0) return 0;
    const fd = this.tableFd(index);
    if (fd === undefined) throw new RangeError(`no Maglev table at service index ${index}`);
    mapUpdateBatch(
      fd,
      new Uint8Array(keys.buffer, keys.byteOffset, n * 4),
      new Uint8Array(values.buffer, values.byteOffset, n * 4),
      n,
      4,
      4,
    );
    return n;
  }

  /** The whole table at `index` (null: none), in one batch read. */
  readTable(index: number): Uint32Array | null {
    const fd = this.tableFd(index);
    if (fd === undefined) return null;
    const out = new Uint32Array(MAGLEV_SIZE);
    mapForEach(fd, 4, 4, 8192, (keys, values, n) => {
      const kv = dataView(keys);
      const vv = dataView(values);
      for (let i = 0; i < n; i++) out[kv.getUint32(i * 4, LE)] = vv.getUint32(i * 4, LE);
      return undefined;
    });
    return out;
  }
}
