// libbpf.so.1 for the XDP data plane: opening and loading BPF objects, fds of their maps and
// programs, bpffs pins and netlink XDP attachment. The rest of the libbpf surface lives in
// bpfcore.ts (loading libbpf, errors, its log), bpfmap.ts (map operations, map info), bpfprog.ts
// (program info, BPF_PROG_TEST_RUN) and btf.ts (reading an object's BTF); this module re-exports
// the first three so that callers import one module. Only src/kernel/ calls into libbpf;
// everything above works with plain fds.
import koffi from 'koffi';
import { LbdsrError } from '../core/errors.js';
import { BpfError, check, load } from './bpfcore.js';
import { ERRNO } from './errno.js';
import { close, dupCloexecRaw } from './libc.js';

export {
  BpfError,
  bpfStrerror,
  defaultLibbpfLogger,
  type LibbpfLogger,
  type LibbpfLogLevel,
  libbpfAvailable,
  setLibbpfLogger,
} from './bpfcore.js';
export {
  BPF_ANY,
  BPF_MAP_TYPE_ARRAY,
  type MapInfo,
  mapCreate,
  mapDelete,
  mapFdById,
  mapForEach,
  mapForEachYielding,
  mapInfo,
  mapLookup,
  mapLookupArrayPrefix,
  mapNextKey,
  mapUpdate,
  mapUpdateBatch,
} from './bpfmap.js';
export {
  BPF_F_TEST_XDP_LIVE_FRAMES,
  progFdById,
  progId,
  progInfo,
  progTag,
  TestRunner,
  XDP_ABORTED,
  XDP_DROP,
  XDP_PASS,
  XDP_REDIRECT,
  XDP_TX,
} from './bpfprog.js';

/** An opened (not yet loaded) object: its maps can be resized before load. */
export class BpfObject {
  private handle: unknown;

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  static openFile(path: string): BpfObject {
    const h = load().open_file(path, null);
    if (!h) throw new BpfError(`opening BPF object ${path}`, koffi.errno());
    return new BpfObject(h);
  }

  static openMem(bytes: Uint8Array): BpfObject {
    const h = load().open_mem(bytes, bytes.length, null);
    if (!h) throw new BpfError('opening BPF object from memory', koffi.errno());
    return new BpfObject(h);
  }

  private get obj(): unknown {
    if (!this.handle) throw new LbdsrError('LBDSR_INTERNAL', 'BPF object already closed');
    return this.handle;
  }

  private map(name: string): unknown {
    const m = load().find_map(this.obj, name);
    if (!m) throw new LbdsrError('LBDSR_INTERNAL', `BPF object has no map '${name}'`);
    return m;
  }

  /** Makes the object use an existing map (e.g. a pinned one) instead of creating it at load. */
  reuseMap(mapName: string, fd: number): void {
    check(`reusing map ${mapName}`, load().reuse_fd(this.map(mapName), fd));
  }

  setMaxEntries(mapName: string, n: number): void {
    check(`setting max_entries of ${mapName}`, load().map_set_max_entries(this.map(mapName), n));
  }

  /** Loads programs and creates maps in the kernel (verifier errors surface as BpfError). */
  load(): void {
    check('loading BPF object', load().obj_load(this.obj));
  }

  mapFd(name: string): number {
    return check(`fd of map ${name}`, load().map_fd(this.map(name)));
  }

  programFd(name: string): number {
    const p = load().find_prog(this.obj, name);
    if (!p) throw new LbdsrError('LBDSR_INTERNAL', `BPF object has no program '${name}'`);
    return check(`fd of program ${name}`, load().prog_fd(p));
  }

  /** Frees libbpf's object and closes its fds (pinned objects and attached programs survive). */
  close(): void {
    if (this.handle) load().obj_close(this.handle);
    this.handle = null;
  }
}

/** Number of possible CPUs: per-CPU map values hold one slot per possible CPU. */
export function possibleCpus(): number {
  return check('counting possible CPUs', load().num_cpus());
}

/** A second fd (close-on-exec) for the same kernel object. */
export function dupFd(fd: number): number {
  const n = dupCloexecRaw(fd);
  if (n < 0) throw new BpfError(`duplicating fd ${fd}`, n);
  return n;
}

export function closeFd(fd: number): void {
  close(fd);
}

// ---- pins ----

export function objPin(fd: number, path: string): void {
  check(`pinning ${path}`, load().obj_pin(fd, path));
}

/** The fd of a pinned object, or -1 when nothing is pinned at `path`. */
export function objGet(path: string): number {
  const rc = load().obj_get(path) as number;
  if (rc === -ERRNO.ENOENT) return -1;
  return check(`opening pinned ${path}`, rc);
}

// ---- XDP attachment ----

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;

/** Netlink attachment (no BPF link object): the attachment lasts until detached or replaced. */
export function xdpAttach(ifindex: number, progFd: number, flags: number): void {
  check(`attaching XDP to ifindex ${ifindex}`, load().xdp_attach(ifindex, progFd, flags, null));
}

export function xdpDetach(ifindex: number, flags: number): void {
  check(`detaching XDP from ifindex ${ifindex}`, load().xdp_detach(ifindex, flags, null));
}

/** The id of the program attached in `flags` mode (0 = any), 0 when none. */
export function xdpQueryId(ifindex: number, flags: number): number {
  const id = [0];
  check(`querying XDP on ifindex ${ifindex}`, load().xdp_query_id(ifindex, flags, id));
  return id[0]!;
}
