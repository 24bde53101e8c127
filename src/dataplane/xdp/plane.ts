// The XDP data plane of one instance: bpf/lbdsr.bpf.o loaded once, attached to the FRONTEND port
// (and the BACKEND port, whose frames it drops) through BPF links, everything pinned under
// /sys/fs/bpf/lbdsr/<instance>/ so that forwarding continues while the daemon is stopped and a
// restarted daemon adopts it. Configuration changes are map writes (src/dataplane/xdp/mirror.ts);
// only a new session capacity replaces the program (atomically, sessions copied). See docs/xdp.md.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { formatIpv4 } from '../../core/addr.js';
import { CNT_MAX, PROTO_TCP, PROTO_UDP, SIZEOF_FLOW_KEY, SIZEOF_SESSION } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type {
  InstanceConfig,
  PlaneType,
  ResolvedPort,
  ResolvedPorts,
  SessionEntry,
  StatsSnapshot,
} from '../../core/model.js';
import { pinDir, unpin, unpinAll } from '../../kernel/bpffs.js';
import { ERRNO } from '../../kernel/errno.js';
import {
  BpfError,
  closeFd,
  dupFd,
  libbpfAvailable,
  mapFdById,
  mapForEach,
  mapInfo,
  mapUpdateBatch,
  objGet,
  objPin,
  progFdById,
  progId,
  progInfo,
  progTag,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_SKB_MODE,
  xdpAttach,
  xdpDetach,
  xdpQueryId,
} from '../../kernel/libbpf.js';
import { ControlState } from '../../pipeline/control.js';
import type { DataPlane } from '../types.js';
import {
  BACKEND_PROGRAM_NAME,
  type KernelSession,
  MAP_KEYS,
  MAP_LAYOUT,
  MAP_NAMES,
  type MapFds,
  type MapKey,
  PROGRAM_NAME,
  XdpMaps,
} from './maps.js';
import { XdpMirror } from './mirror.js';
import { loadLbdsr } from './object.js';
import { snapshot } from './stats.js';

export type XdpKind = 'XDP_DRV' | 'XDP_SKB';
type PortRole = 'frontend' | 'backend';

const pinProg = (role: PortRole) => `prog_${role}`;
const ROLES: readonly PortRole[] = ['frontend', 'backend'];
const pinMap = (k: MapKey) => `map_${k}`;

interface Loaded {
  /** Program fds by the port they run on (-1: not known yet). */
  progs: Record<PortRole, number>;
  fds: MapFds;
  maps: XdpMaps;
  mirror: XdpMirror;
  capacity: number;
}

function modeFlag(kind: XdpKind): number {
  return kind === 'XDP_DRV' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

function attachError(e: unknown, port: ResolvedPort, kind: XdpKind): Error {
  if (!(e instanceof BpfError)) return e as Error;
  if (e.errno === ERRNO.EOPNOTSUPP || e.errno === ERRNO.EINVAL) {
    return new LbdsrError(
      'LBDSR_NOT_AVAILABLE',
      `${port.ifname} does not support ${kind === 'XDP_DRV' ? 'native XDP (XDP_DRV); use type=XDP_SKB' : 'XDP'}: ${e.message}`,
    );
  }
  if (e.errno === ERRNO.EBUSY || e.errno === ERRNO.EEXIST) {
    return new LbdsrError(
      'LBDSR_CONFLICT',
      `${port.ifname} already runs another XDP program (or one in the other mode): ${e.message}`,
    );
  }
  return e;
}

export class XdpPlane implements DataPlane {
  readonly kind: XdpKind;
  readonly instance: string;
  private loaded: Loaded | null = null;
  private readonly control = new ControlState();
  /** Ids of programs that are this instance's (adopted ones, maybe of an older version). */
  private readonly ownIds = new Set<number>();
  /** Interfaces the program is attached to, by port role. */
  private readonly attached: Partial<Record<PortRole, number>> = {};
  private closed = false;

  constructor(instance: string, kind: XdpKind) {
    this.instance = instance;
    this.kind = kind;
  }

  /** The pin directory when it exists (bpffs mounted, a name bpffs can hold, pins made). */
  private get dir(): string | undefined {
    try {
      const dir = pinDir(this.instance, false);
      return existsSync(dir) ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  async apply(config: InstanceConfig, ports: ResolvedPorts): Promise<void> {
    if (this.closed) throw new LbdsrError('LBDSR_INTERNAL', `the XDP plane of ${this.instance} is closed`);
    // Checks the whole config before anything in the kernel changes (ControlState throws and keeps
    // its state on a bad config): run it on a scratch copy first.
    new ControlState().apply(config, ports.backend?.mac);
    if (!libbpfAvailable()) throw new LbdsrError('LBDSR_NOT_AVAILABLE', 'libbpf.so.1 is not installed');
    const capacity = config.sessions.capacity;
    if (!this.loaded) this.loaded = this.openOrAdopt(capacity, ports);
    else if (this.loaded.capacity !== capacity) this.resize(capacity);
    const l = this.loaded;

    this.control.apply(config, ports.backend?.mac);
    const fe = ports.frontend;
    const be = ports.backend && ports.backend.ifindex !== fe?.ifindex ? ports.backend : undefined;
    l.mirror.sync(this.control, be?.ifindex ?? 0, ports.backend?.ifindex ?? 0);
    this.attach('frontend', fe);
    this.attach('backend', be);
  }

  /**
   * The program and maps of the instance: the pinned ones, else the lbdsr program already running on
   * one of the ports (a previous daemon's, whose bpffs went away with its mount namespace), else a
   * freshly loaded program. Pins are (re)made whenever bpffs can be used.
   */
  private openOrAdopt(capacity: number, ports: ResolvedPorts): Loaded {
    let dir: string | undefined;
    try {
      dir = pinDir(this.instance, true);
    } catch {
      dir = undefined; // no bpffs: the attachment itself keeps the program alive
    }
    let l = (dir && this.adoptPinned(dir)) || this.adoptAttached(ports);
    if (l) {
      this.upgradeProgram(l);
    } else {
      const ld = loadLbdsr({ capacity });
      try {
        const progs = { frontend: dupFd(ld.progFd), backend: dupFd(ld.backendProgFd) };
        const fds = {} as MapFds;
        for (const k of MAP_KEYS) fds[k] = dupFd(ld.fds[k]);
        const maps = new XdpMaps(fds);
        l = { progs, fds, maps, mirror: new XdpMirror(maps), capacity };
      } finally {
        ld.obj.close();
      }
    }
    this.loaded = l;
    if (dir) this.pinAll(dir);
    if (l.capacity !== capacity) this.resize(capacity);
    return l;
  }

  private pinAll(dir: string): void {
    const l = this.loaded!;
    const want: [string, number][] = [
      ...ROLES.map((r) => [pinProg(r), l.progs[r]] as [string, number]),
      ...MAP_KEYS.map((k) => [pinMap(k), l.fds[k]] as [string, number]),
    ];
    for (const [name, fd] of want) {
      const path = `${dir}/${name}`;
      unpin(path);
      objPin(fd, path);
    }
  }

  /** The pinned program and maps when they are all there with the expected layouts. */
  private adoptPinned(dir: string): Loaded | null {
    const progs = {
      frontend: objGet(`${dir}/${pinProg('frontend')}`),
      backend: objGet(`${dir}/${pinProg('backend')}`),
    };
    if (progs.frontend < 0) {
      closeFd(progs.backend);
      return null;
    }
    const fds: Partial<MapFds> = {};
    for (const k of MAP_KEYS) {
      const fd = objGet(`${dir}/${pinMap(k)}`);
      if (fd >= 0) fds[k] = fd;
    }
    return this.adoptFds(progs, fds);
  }

  /** The lbdsr programs running on the ports and the maps the frontend one uses. */
  private adoptAttached(ports: ResolvedPorts): Loaded | null {
    const progs = {
      frontend: attachedProgram(ports.frontend, PROGRAM_NAME),
      backend: attachedProgram(ports.backend, BACKEND_PROGRAM_NAME),
    };
    if (progs.frontend < 0) {
      closeFd(progs.backend);
      return null;
    }
    const byName = new Map<string, MapKey>(MAP_KEYS.map((k) => [MAP_NAMES[k], k]));
    const fds: Partial<MapFds> = {};
    for (const mid of progInfo(progs.frontend).mapIds) {
      const fd = mapFdById(mid);
      const k = byName.get(mapInfo(fd).name);
      if (k && fds[k] === undefined) fds[k] = fd;
      else closeFd(fd);
    }
    return this.adoptFds(progs, fds);
  }

  private adoptFds(progs: Record<PortRole, number>, fds: Partial<MapFds>): Loaded | null {
    for (const r of ROLES) if (progs[r] >= 0) this.ownIds.add(progId(progs[r]));
    const ok = MAP_KEYS.every((k) => {
      const fd = fds[k];
      if (fd === undefined) return false;
      const info = mapInfo(fd);
      const want = MAP_LAYOUT[k];
      return (
        info.keySize === want.key &&
        info.valueSize === want.value &&
        (!want.max || info.maxEntries === want.max)
      );
    });
    if (!ok) {
      // A partial or incompatible set (an upgrade changed a layout): start afresh.
      for (const r of ROLES) closeFd(progs[r]);
      for (const k of MAP_KEYS) if (fds[k] !== undefined) closeFd(fds[k]!);
      return null;
    }
    const all = fds as MapFds;
    const maps = new XdpMaps(all);
    const mirror = new XdpMirror(maps);
    mirror.adopt();
    return { progs, fds: all, maps, mirror, capacity: mapInfo(all.sessions).maxEntries };
  }

  /**
   * After an lbdsr upgrade the committed object may differ from the running program: load it on the
   * same maps and swap it in atomically. Same code (same tag): keep what runs.
   */
  private upgradeProgram(l: Loaded): void {
    const ld = loadLbdsr({ capacity: l.capacity, reuse: l.fds });
    try {
      const fresh = { frontend: ld.progFd, backend: ld.backendProgFd };
      for (const r of ROLES) {
        if (l.progs[r] < 0) l.progs[r] = dupFd(fresh[r]);
        else if (progTag(fresh[r]) !== progTag(l.progs[r])) this.replaceProgram(l, r, dupFd(fresh[r]));
      }
    } finally {
      ld.obj.close();
    }
  }

  /** Swaps the program of a port (atomic on the interface) and re-pins it. */
  private replaceProgram(l: Loaded, role: PortRole, newProgFd: number): void {
    const oldId = progId(l.progs[role]);
    const ifindex = this.attached[role];
    if (ifindex !== undefined && xdpQueryId(ifindex, 0) === oldId)
      xdpAttach(ifindex, newProgFd, modeFlag(this.kind));
    closeFd(l.progs[role]);
    l.progs[role] = newProgFd;
    const dir = this.dir;
    if (dir) {
      unpin(`${dir}/${pinProg(role)}`);
      objPin(newProgFd, `${dir}/${pinProg(role)}`);
    }
  }

  /** A new session capacity: a new session map (sessions copied) and a program using it. */
  private resize(capacity: number): void {
    const l = this.loaded!;
    const reuse: Partial<MapFds> = { ...l.fds };
    delete reuse.sessions;
    const ld = loadLbdsr({ capacity, reuse });
    try {
      const newSessions = ld.fds.sessions;
      let copied = 0;
      mapForEach(l.fds.sessions, SIZEOF_FLOW_KEY, SIZEOF_SESSION, 4096, (keys, values, n) => {
        const take = Math.min(n, capacity - copied);
        if (take > 0) mapUpdateBatch(newSessions, keys, values, take, SIZEOF_FLOW_KEY, SIZEOF_SESSION);
        copied += take;
        return copied < capacity;
      });
      const sfd = dupFd(newSessions);
      this.replaceProgram(l, 'frontend', dupFd(ld.progFd));
      closeFd(l.fds.sessions);
      l.fds.sessions = sfd;
      l.capacity = capacity;
      const dir = this.dir;
      if (dir) {
        unpin(`${dir}/${pinMap('sessions')}`);
        objPin(sfd, `${dir}/${pinMap('sessions')}`);
      }
    } finally {
      ld.obj.close();
    }
  }

  /**
   * Makes the program run on `port` for `role` (and nowhere else for that role). Attachment is by
   * netlink, not a BPF link: it lasts until detached, whatever happens to the daemon and to the
   * bpffs of its mount namespace (`ip netns exec` gives each run a private one).
   */
  private attach(role: PortRole, port: ResolvedPort | undefined): void {
    const l = this.loaded!;
    const mode = modeFlag(this.kind);
    const cur = this.attached[role];
    if (cur !== undefined && cur !== port?.ifindex) this.detach(role);
    if (!port) return;
    const myId = progId(l.progs[role]);
    if (xdpQueryId(port.ifindex, mode) === myId) {
      this.attached[role] = port.ifindex;
      return;
    }
    // Ours in the other mode (the type changed): remove it first, the kernel allows one mode.
    const other = mode === XDP_FLAGS_DRV_MODE ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    if (xdpQueryId(port.ifindex, other) === myId) xdpDetach(port.ifindex, other);
    const existing = xdpQueryId(port.ifindex, 0);
    if (existing !== 0 && !this.ownIds.has(existing) && !this.isLbdsr(existing)) {
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `${port.ifname} already runs another XDP program (id ${existing})`,
      );
    }
    try {
      xdpAttach(port.ifindex, l.progs[role], mode);
    } catch (e) {
      throw attachError(e, port, this.kind);
    }
    this.attached[role] = port.ifindex;
  }

  private isLbdsr(id: number): boolean {
    try {
      const fd = progFdById(id);
      try {
        const name = progInfo(fd).name;
        return name === PROGRAM_NAME || name === BACKEND_PROGRAM_NAME;
      } finally {
        closeFd(fd);
      }
    } catch {
      return false;
    }
  }

  private detach(role: PortRole): void {
    const ifindex = this.attached[role];
    delete this.attached[role];
    if (ifindex === undefined || !this.loaded) return;
    const myId = progId(this.loaded.progs[role]);
    for (const mode of [XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE]) {
      try {
        if (xdpQueryId(ifindex, mode) === myId) xdpDetach(ifindex, mode);
      } catch {
        // the interface is gone, and the attachment with it
      }
    }
  }

  async stats(): Promise<StatsSnapshot> {
    const l = this.loaded;
    if (!l) return snapshot(new Float64Array(CNT_MAX), [], 0);
    const backends = l.mirror.liveSlots().map((s) => ({ id: s.id, ...l.maps.readBackendStats(s.slot) }));
    let active = 0;
    let present = 0;
    const now = process.hrtime.bigint();
    const t = this.timeoutsNs();
    l.maps.forEachSession((s) => {
      present++;
      if (now - s.lastSeenNs <= timeoutOf(t, s.proto)) active++;
    });
    return snapshot(l.maps.readCounters(), backends, active, present);
  }

  private timeoutsNs(): { tcp: bigint; udp: bigint; icmp: bigint } {
    const t = this.control.timeoutsMs;
    return {
      tcp: BigInt(t.tcp) * 1_000_000n,
      udp: BigInt(t.udp) * 1_000_000n,
      icmp: BigInt(t.icmp) * 1_000_000n,
    };
  }

  /** Live (not idle-expired) sessions of the kernel table, most recently used first. */
  async sessions(limit: number): Promise<SessionEntry[]> {
    const l = this.loaded;
    if (!l || limit <= 0) return [];
    const now = process.hrtime.bigint();
    const t = this.timeoutsNs();
    // The `limit` least idle of up to millions of entries: a bounded max-heap on idle time, so only
    // the kept entries become objects.
    const heap: { idle: bigint; s: KernelSession }[] = [];
    const less = (i: number, j: number) => heap[i]!.idle > heap[j]!.idle;
    const swap = (i: number, j: number) => {
      const x = heap[i]!;
      heap[i] = heap[j]!;
      heap[j] = x;
    };
    const down = (i: number) => {
      for (;;) {
        const a = 2 * i + 1;
        const b = a + 1;
        let m = i;
        if (a < heap.length && less(a, m)) m = a;
        if (b < heap.length && less(b, m)) m = b;
        if (m === i) return;
        swap(i, m);
        i = m;
      }
    };
    l.maps.forEachSession((s) => {
      const idle = now - s.lastSeenNs;
      if (idle > timeoutOf(t, s.proto)) return;
      if (heap.length < limit) {
        heap.push({ idle, s: { ...s } });
        for (let i = heap.length - 1; i > 0; ) {
          const p = (i - 1) >> 1;
          if (!less(i, p)) break;
          swap(i, p);
          i = p;
        }
      } else if (idle < heap[0]!.idle) {
        heap[0] = { idle, s: { ...s } };
        down(0);
      }
    });
    heap.sort((a, b) => (a.idle < b.idle ? -1 : a.idle > b.idle ? 1 : 0));
    return heap.map(({ idle, s }) => ({
      src: formatIpv4(s.src),
      dst: formatIpv4(s.dst),
      sport: s.sport,
      dport: s.dport,
      proto: s.proto === PROTO_TCP ? 'TCP' : s.proto === PROTO_UDP ? 'UDP' : 'ICMP',
      backend: s.backendId,
      idleMs: idle < 0n ? 0 : Number(idle / 1_000_000n),
    }));
  }

  /**
   * `keep`: the program stays attached and pinned (a restarted daemon adopts it). Otherwise the
   * program is detached from the ports and the pins removed: the kernel frees everything.
   */
  async close(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A plane that never applied anything owns nothing (the daemon also creates planes only to
    // probe that a kind can be created): it must not touch what another daemon left.
    if (!this.loaded) return;
    if (!opts.keep) {
      this.detach('frontend');
      this.detach('backend');
      const dir = this.dir;
      if (dir) unpinAll(dir);
    }
    const l = this.loaded;
    if (l) {
      for (const r of ROLES) closeFd(l.progs[r]);
      l.maps.close();
    }
    this.loaded = null;
  }
}

/** An fd of the program named `name` running on the port, -1 when there is none. */
function attachedProgram(port: ResolvedPort | undefined, name: string): number {
  if (!port) return -1;
  let id = 0;
  try {
    id = xdpQueryId(port.ifindex, 0);
  } catch {
    return -1;
  }
  if (id === 0) return -1;
  const fd = progFdById(id);
  if (progInfo(fd).name === name) return fd;
  closeFd(fd);
  return -1;
}

function timeoutOf(t: { tcp: bigint; udp: bigint; icmp: bigint }, proto: number): bigint {
  return proto === PROTO_TCP ? t.tcp : proto === PROTO_UDP ? t.udp : t.icmp;
}

// ---- the automatic choice ----

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** For a veth-like device (a peer, no bus device): the peer's ifindex when it is in this namespace. */
function vethPeer(ifname: string): { paired: boolean; peer?: number } {
  const base = `/sys/class/net/${ifname}`;
  const ifindex = readSys(`${base}/ifindex`);
  const iflink = readSys(`${base}/iflink`);
  if (!ifindex || !iflink || ifindex === iflink || existsSync(`${base}/device`)) return { paired: false };
  for (const other of readdirSync('/sys/class/net')) {
    if (
      readSys(`/sys/class/net/${other}/ifindex`) === iflink &&
      readSys(`/sys/class/net/${other}/iflink`) === ifindex
    ) {
      return { paired: true, peer: Number(iflink) };
    }
  }
  return { paired: true };
}

/**
 * Drivers with native XDP (ndo_bpf and ndo_xdp_xmit) in Linux 6.x. Probing by attaching a program
 * would be simpler, but on many NICs attaching XDP resets the rings: a traffic blip on a port that
 * may already carry traffic.
 */
const NATIVE_XDP_DRIVERS = new Set([
  'veth',
  'virtio_net',
  'tun',
  'ixgbe',
  'ixgbevf',
  'i40e',
  'ice',
  'igb',
  'igc',
  'mlx4_core',
  'mlx5_core',
  'bnxt_en',
  'nfp',
  'ena',
  'qede',
  'thunder_nicvf',
  'mvneta',
  'mvpp2',
  'stmmac',
  'fec',
  'sfc',
  'cpsw',
  'netsec',
  'dpaa2_eth',
  'enetc',
  'hv_netvsc',
  'xen-netfront',
  'atlantic',
  'lan966x-switch',
  'nfp_netvf',
]);

function driverOf(ifname: string): string | undefined {
  if (vethPeer(ifname).paired) return 'veth';
  try {
    return readlinkSync(`/sys/class/net/${ifname}/device/driver`).split('/').pop();
  } catch {
    return undefined;
  }
}

/** Whether the interface runs XDP in its driver: a program runs there natively, or the driver can. */
function nativeXdp(port: ResolvedPort): boolean {
  try {
    if (xdpQueryId(port.ifindex, XDP_FLAGS_DRV_MODE) > 0) return true;
  } catch {
    return false;
  }
  const d = driverOf(port.ifname);
  return d !== undefined && NATIVE_XDP_DRIVERS.has(d);
}

/**
 * Frames sent into a veth in native mode (XDP_TX back out of the frontend, XDP_REDIRECT into the
 * backend port) are only accepted when the peer's NAPI is on: an XDP program on the peer, or GRO.
 * Only a peer in this namespace can be checked (for an XDP program).
 */
function receiverReady(port: ResolvedPort): boolean {
  const v = vethPeer(port.ifname);
  if (!v.paired) return true;
  if (v.peer === undefined) return false;
  try {
    // Only a program in the driver turns the peer's NAPI on; a generic (skb) one does not.
    return xdpQueryId(v.peer, XDP_FLAGS_DRV_MODE) > 0;
  } catch {
    return false;
  }
}

/**
 * The automatic plane: XDP_DRV when both ports' drivers run XDP natively (known drivers, nothing is
 * attached to find out) and can receive what is sent into them natively, XDP_SKB (generic XDP, works on any interface) otherwise, USERSPACE
 * when XDP cannot be used at all (not root, no libbpf, no bpffs).
 */
export async function xdpSupport(ports: ResolvedPorts): Promise<PlaneType> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'USERSPACE';
  if (!libbpfAvailable()) return 'USERSPACE';
  const list = [ports.frontend, ports.backend].filter((p): p is ResolvedPort => p !== undefined);
  if (list.length === 0) return 'XDP_SKB';
  for (const p of list) if (!nativeXdp(p) || !receiverReady(p)) return 'XDP_SKB';
  return 'XDP_DRV';
}
