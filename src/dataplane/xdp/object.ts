// The compiled XDP objects shipped in bpf/ and loading them: one description of the object (its
// file, program and map names) and a loader that can resize the session map and reuse maps.
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../../kernel/libbpf.js';
import { BACKEND_PROGRAM_NAME, MAP_KEYS, MAP_NAMES, type MapFds, PROGRAM_NAME } from './maps.js';

/** Path of a committed object under bpf/ (dist/src/dataplane/xdp -> repository root). */
export function bpfObjectPath(file: string): string {
  return fileURLToPath(new URL(`../../../../bpf/${file}`, import.meta.url));
}

export const LBDSR_OBJECT = 'lbdsr.bpf.o';
export const CEILING_OBJECT = 'ceiling.bpf.o';

export interface LoadedLbdsr {
  obj: BpfObject;
  /** The FRONTEND port's program. */
  progFd: number;
  /** The BACKEND port's program. */
  backendProgFd: number;
  /** Map fds owned by `obj` (valid until obj.close()). */
  fds: MapFds;
}

export interface LoadOptions {
  /** Session map capacity (max_entries of the LRU hash). */
  capacity: number;
  /** Existing maps to use instead of creating new ones (e.g. a pinned session table). */
  reuse?: Partial<MapFds>;
}

/** Opens bpf/lbdsr.bpf.o, sizes the session map and loads it into the kernel. */
export function loadLbdsr(opts: LoadOptions): LoadedLbdsr {
  const obj = BpfObject.openFile(bpfObjectPath(LBDSR_OBJECT));
  try {
    obj.setMaxEntries(MAP_NAMES.sessions, opts.capacity);
    // IPv6 flows: a table of their own, of the same capacity (docs/semantics.md, "IPv6").
    obj.setMaxEntries(MAP_NAMES.sessions6, opts.capacity);
    for (const k of MAP_KEYS) {
      const fd = opts.reuse?.[k];
      if (fd !== undefined) obj.reuseMap(MAP_NAMES[k], fd);
    }
    obj.load();
    const fds = {} as MapFds;
    for (const k of MAP_KEYS) fds[k] = obj.mapFd(MAP_NAMES[k]);
    return {
      obj,
      progFd: obj.programFd(PROGRAM_NAME),
      backendProgFd: obj.programFd(BACKEND_PROGRAM_NAME),
      fds,
    };
  } catch (e) {
    obj.close();
    throw e;
  }
}
