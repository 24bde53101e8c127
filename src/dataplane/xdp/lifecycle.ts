// The lifetime of one instance's XDP objects (the two programs and their maps): adopting what a
// previous daemon left (pinned under /sys/fs/bpf/lbdsr/<instance>/, or only attached to the ports when
// that bpffs went away with its mount namespace), the maps of an older release carried over where
// their layouts allow (upgrade.ts), else loading bpf/lbdsr.bpf.o afresh; pinning; an upgrade swap
// when the committed object changed; releasing everything. See docs/xdp.md.
import { existsSync } from 'node:fs';
import type { ResolvedPorts } from '../../core/model.js';
import { pinDir, unpin, unpinAll } from '../../kernel/bpffs.js';
import {
  closeFd,
  dupFd,
  mapFdById,
  mapInfo,
  objGet,
  objPin,
  progInfo,
  progTag,
} from '../../kernel/libbpf.js';
import { attachedProgram, type PortRole, ROLES, type XdpAttachments } from './attach.js';
import {
  BACKEND_PROGRAM_NAME,
  MAP_KEYS,
  MAP_NAMES,
  type MapFds,
  type MapKey,
  PROGRAM_NAME,
  XdpMaps,
} from './maps.js';
import { XdpMirror } from './mirror.js';
import { loadLbdsr } from './object.js';
import { currentLayout, type UpgradedMaps, upgradeMaps } from './upgrade.js';

export const pinProg = (role: PortRole) => `prog_${role}`;
export const pinMap = (k: MapKey) => `map_${k}`;

/** The kernel objects of an instance, held by fds this process owns. */
export interface Loaded {
  /** Program fds by the port they run on (-1: not known yet). */
  progs: Record<PortRole, number>;
  fds: MapFds;
  maps: XdpMaps;
  mirror: XdpMirror;
  capacity: number;
  /** Adopted from an older release: what is left to carry once this release's programs run (upgrade.ts). */
  afterSwap?: () => void;
}

/** The pin directory of the instance when it exists (bpffs mounted, a name bpffs can hold, pins made). */
export function existingPinDir(instance: string): string | undefined {
  try {
    const dir = pinDir(instance, false);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** (Re)pins a program or map under `name` in `dir`. */
export function repin(dir: string, name: string, fd: number): void {
  const path = `${dir}/${name}`;
  unpin(path);
  objPin(fd, path);
}

/** Opens, adopts and pins the XDP objects of one instance; attachments go through `ports`. */
export class XdpLifecycle {
  readonly instance: string;
  private readonly ports: XdpAttachments;

  constructor(instance: string, ports: XdpAttachments) {
    this.instance = instance;
    this.ports = ports;
  }

  /**
   * The program and maps of the instance: the pinned ones, else the lbdsr program already running on
   * one of the ports (a previous daemon's, whose bpffs went away with its mount namespace), else a
   * freshly loaded program with a session map of `capacity`. Pins are (re)made whenever bpffs can be
   * used. An adopted session map keeps its capacity (the caller resizes it).
   */
  open(capacity: number, ports: ResolvedPorts): Loaded {
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
    if (dir) {
      for (const r of ROLES) repin(dir, pinProg(r), l.progs[r]);
      for (const k of MAP_KEYS) repin(dir, pinMap(k), l.fds[k]);
    }
    return l;
  }

  /** Swaps the program of a port (atomic on the interface) and re-pins it. */
  replaceProgram(l: Loaded, role: PortRole, newProgFd: number): void {
    this.ports.swap(role, l.progs[role], newProgFd);
    closeFd(l.progs[role]);
    l.progs[role] = newProgFd;
    const dir = existingPinDir(this.instance);
    if (dir) repin(dir, pinProg(role), newProgFd);
  }

  /**
   * Closes this process's fds. `keep`: the pins stay (with the attachments, they keep everything
   * alive for a restarted daemon); otherwise the pins are removed and the kernel frees what is detached.
   */
  release(l: Loaded, keep: boolean): void {
    if (!keep) {
      const dir = existingPinDir(this.instance);
      if (dir) unpinAll(dir);
    }
    for (const r of ROLES) closeFd(l.progs[r]);
    l.maps.close();
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

  /**
   * The maps `fds` as this release's: all of its layout, or an older release's that upgrade.ts can
   * carry over (the maps whose layouts are unchanged kept, sessions first of all); otherwise null
   * (closing what it was given) and the caller starts afresh.
   */
  private adoptFds(progs: Record<PortRole, number>, fds: Partial<MapFds>): Loaded | null {
    for (const r of ROLES) if (progs[r] >= 0) this.ports.own(progs[r]);
    const current = MAP_KEYS.every((k) => fds[k] !== undefined && currentLayout(k, fds[k]));
    let up: UpgradedMaps | null;
    try {
      up = current ? { fds: fds as MapFds, afterSwap: () => {} } : upgradeMaps(fds);
    } catch (e) {
      this.closeAll(progs, fds);
      throw e;
    }
    if (!up) {
      // A partial set, or a layout change of unknown kind: start afresh.
      this.closeAll(progs, fds);
      return null;
    }
    const all = up.fds;
    const maps = new XdpMaps(all);
    const mirror = new XdpMirror(maps);
    mirror.adopt();
    const l: Loaded = { progs, fds: all, maps, mirror, capacity: mapInfo(all.sessions).maxEntries };
    if (!current) l.afterSwap = up.afterSwap;
    return l;
  }

  private closeAll(progs: Record<PortRole, number>, fds: Partial<MapFds>): void {
    for (const r of ROLES) closeFd(progs[r]);
    for (const fd of Object.values(fds)) closeFd(fd);
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
}
