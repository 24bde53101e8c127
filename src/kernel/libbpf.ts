// libbpf.so.1 through koffi: opening and loading BPF objects, map and program file descriptors,
// map operations, BPF_PROG_TEST_RUN, XDP links and bpffs pins. Only this module (and the other
// src/kernel/bpf*.ts files) call into libbpf; everything above works with plain fds.
import koffi from 'koffi';
import { LbdsrError } from '../core/errors.js';

type Fn = (...args: unknown[]) => unknown;

interface Api {
  open_mem: Fn;
  open_file: Fn;
  obj_close: Fn;
  obj_load: Fn;
  find_map: Fn;
  find_prog: Fn;
  map_set_max_entries: Fn;
  map_fd: Fn;
  prog_fd: Fn;
  update: Fn;
  lookup: Fn;
  del: Fn;
  next_key: Fn;
  lookup_batch: Fn;
  update_batch: Fn;
  test_run: Fn;
  link_create: Fn;
  link_detach: Fn;
  link_update: Fn;
  obj_pin: Fn;
  obj_get: Fn;
  obj_info: Fn;
  xdp_attach: Fn;
  xdp_detach: Fn;
  xdp_query_id: Fn;
  strerror: Fn;
  close: Fn;
  set_print: Fn;
  num_cpus: Fn;
  reuse_fd: Fn;
  prog_by_id: Fn;
  map_by_id: Fn;
  fcntl: Fn;
}

let api: Api | undefined;
let loadError: Error | undefined;

function load(): Api {
  if (api) return api;
  if (loadError) throw loadError;
  try {
    const lib = koffi.load('libbpf.so.1');
    const libc = koffi.load('libc.so.6');
    koffi.opaque('bpf_object');
    koffi.opaque('bpf_map');
    koffi.opaque('bpf_program');
    api = {
      open_mem: lib.func('bpf_object *bpf_object__open_mem(const void *buf, size_t sz, const void *opts)'),
      open_file: lib.func('bpf_object *bpf_object__open_file(const char *path, const void *opts)'),
      obj_close: lib.func('void bpf_object__close(bpf_object *obj)'),
      obj_load: lib.func('int bpf_object__load(bpf_object *obj)'),
      find_map: lib.func('bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
      find_prog: lib.func('bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)'),
      map_set_max_entries: lib.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t n)'),
      map_fd: lib.func('int bpf_map__fd(bpf_map *map)'),
      prog_fd: lib.func('int bpf_program__fd(bpf_program *prog)'),
      update: lib.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
      lookup: lib.func('int bpf_map_lookup_elem(int fd, const void *key, _Inout_ void *value)'),
      del: lib.func('int bpf_map_delete_elem(int fd, const void *key)'),
      next_key: lib.func('int bpf_map_get_next_key(int fd, const void *key, _Inout_ void *next)'),
      lookup_batch: lib.func(
        'int bpf_map_lookup_batch(int fd, void *in_batch, _Inout_ void *out_batch, _Inout_ void *keys, _Inout_ void *values, _Inout_ uint32_t *count, const void *opts)',
      ),
      update_batch: lib.func(
        'int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)',
      ),
      test_run: lib.func('int bpf_prog_test_run_opts(int fd, void *opts)'),
      link_create: lib.func('int bpf_link_create(int prog_fd, int target_fd, int type, const void *opts)'),
      link_detach: lib.func('int bpf_link_detach(int link_fd)'),
      link_update: lib.func('int bpf_link_update(int link_fd, int new_prog_fd, const void *opts)'),
      obj_pin: lib.func('int bpf_obj_pin(int fd, const char *path)'),
      obj_get: lib.func('int bpf_obj_get(const char *path)'),
      obj_info: lib.func('int bpf_obj_get_info_by_fd(int fd, _Inout_ void *info, _Inout_ uint32_t *len)'),
      xdp_attach: lib.func('int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const void *opts)'),
      xdp_detach: lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, const void *opts)'),
      xdp_query_id: lib.func('int bpf_xdp_query_id(int ifindex, int flags, _Out_ uint32_t *id)'),
      strerror: lib.func('int libbpf_strerror(int err, _Out_ char *buf, size_t size)'),
      close: libc.func('int close(int fd)'),
      fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
      set_print: lib.func('void *libbpf_set_print(void *fn)'),
      num_cpus: lib.func('int libbpf_num_possible_cpus(void)'),
      reuse_fd: lib.func('int bpf_map__reuse_fd(bpf_map *map, int fd)'),
      prog_by_id: lib.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
      map_by_id: lib.func('int bpf_map_get_fd_by_id(uint32_t id)'),
    };
    return api;
  } catch (e) {
    loadError = new LbdsrError(
      'LBDSR_NOT_AVAILABLE',
      `libbpf.so.1 could not be loaded: ${(e as Error).message}`,
    );
    throw loadError;
  }
}

/** True when libbpf.so.1 can be loaded (the XDP planes need it). */
export function libbpfAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** libbpf's text for a negative error code. */
export function bpfStrerror(err: number): string {
  const buf = Buffer.alloc(256);
  load().strerror(err, buf, buf.length);
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/** A failed libbpf call: `errno` is the positive error number. */
export class BpfError extends LbdsrError {
  readonly errno: number;
  constructor(what: string, err: number) {
    const e = Math.abs(err);
    super('LBDSR_INTERNAL', `${what}: ${bpfStrerror(-e)} (errno ${e})`);
    this.errno = e;
  }
}

/** libbpf returns -errno (1.0 semantics); pointer-returning calls give null and set errno. */
function check(what: string, rc: unknown): number {
  const n = rc as number;
  if (n < 0) throw new BpfError(what, n);
  return n;
}

export const ENOENT = 2;
export const EEXIST = 17;

/** Silences libbpf's own stderr logging (the daemon reports errors itself). */
export function quietLibbpf(): void {
  load().set_print(null);
}

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

  /** Frees libbpf's object and closes its fds (pinned objects and links survive). */
  close(): void {
    if (this.handle) load().obj_close(this.handle);
    this.handle = null;
  }
}

/** Number of possible CPUs: per-CPU map values hold one slot per possible CPU. */
export function possibleCpus(): number {
  return check('counting possible CPUs', load().num_cpus());
}

const F_DUPFD_CLOEXEC = 1030;

/** A second fd (close-on-exec) for the same kernel object. */
export function dupFd(fd: number): number {
  const n = load().fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0) as number;
  if (n < 0) throw new BpfError(`duplicating fd ${fd}`, koffi.errno());
  return n;
}

export function closeFd(fd: number): void {
  if (fd >= 0) load().close(fd);
}

// ---- map operations on fds ----

export const BPF_ANY = 0;

export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = BPF_ANY): void {
  check('map update', load().update(fd, key, value, flags));
}

/** Fills `value`; returns false when the key is absent. */
export function mapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean {
  const rc = load().lookup(fd, key, value) as number;
  if (rc === -ENOENT) return false;
  check('map lookup', rc);
  return true;
}

/** Returns false when the key was absent. */
export function mapDelete(fd: number, key: Uint8Array): boolean {
  const rc = load().del(fd, key) as number;
  if (rc === -ENOENT) return false;
  check('map delete', rc);
  return true;
}

/** Writes the key after `key` (the first key when `key` is null) into `next`; false at the end. */
export function mapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
  const rc = load().next_key(fd, key, next) as number;
  if (rc === -ENOENT) return false;
  check('map get_next_key', rc);
  return true;
}

/**
 * Batch lookup: calls `each(keys, values, n)` with up to `chunk` entries at a time until the map is
 * exhausted. Falls back to get_next_key when the kernel or map type has no batch operations.
 */
export function mapForEach(
  fd: number,
  keySize: number,
  valueSize: number,
  chunk: number,
  each: (keys: Uint8Array, values: Uint8Array, n: number) => boolean | undefined,
): void {
  const keys = Buffer.alloc(keySize * chunk);
  const values = Buffer.alloc(valueSize * chunk);
  const inBatch = Buffer.alloc(Math.max(8, keySize));
  const outBatch = Buffer.alloc(Math.max(8, keySize));
  const count = new Uint32Array(1);
  const opts = Buffer.alloc(24); // struct bpf_map_batch_opts { size_t sz; u64 elem_flags; u64 flags; }
  opts.writeBigUInt64LE(24n, 0);
  let first = true;
  for (;;) {
    count[0] = chunk;
    const rc = load().lookup_batch(fd, first ? null : inBatch, outBatch, keys, values, count, opts) as number;
    const n = count[0]!;
    if (rc < 0 && rc !== -ENOENT) {
      if (first && (rc === -22 || rc === -95 || rc === -524)) {
        forEachByNextKey(fd, keySize, valueSize, each);
        return;
      }
      throw new BpfError('map lookup_batch', rc);
    }
    if (n > 0 && each(keys, values, n) === false) return;
    if (rc === -ENOENT) return;
    outBatch.copy(inBatch);
    first = false;
  }
}

function forEachByNextKey(
  fd: number,
  keySize: number,
  valueSize: number,
  each: (keys: Uint8Array, values: Uint8Array, n: number) => boolean | undefined,
): void {
  let prev: Uint8Array | null = null;
  const key = Buffer.alloc(keySize);
  const value = Buffer.alloc(valueSize);
  for (;;) {
    if (!mapNextKey(fd, prev, key)) return;
    prev = Buffer.from(key);
    if (!mapLookup(fd, key, value)) continue;
    if (each(key, value, 1) === false) return;
  }
}

/** Batch update of `n` entries laid out back to back; one syscall (falls back to single updates). */
export function mapUpdateBatch(
  fd: number,
  keys: Uint8Array,
  values: Uint8Array,
  n: number,
  keySize: number,
  valueSize: number,
): void {
  if (n === 0) return;
  const count = new Uint32Array([n]);
  const opts = Buffer.alloc(24);
  opts.writeBigUInt64LE(24n, 0);
  const rc = load().update_batch(fd, keys, values, count, opts) as number;
  if (rc === 0) return;
  if (rc === -22 || rc === -95 || rc === -524) {
    for (let i = 0; i < n; i++) {
      mapUpdate(
        fd,
        keys.subarray(i * keySize, (i + 1) * keySize),
        values.subarray(i * valueSize, (i + 1) * valueSize),
      );
    }
    return;
  }
  throw new BpfError('map update_batch', rc);
}

// ---- object info ----

/** bpf_map_info fields lbdsr reads. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name: string;
}

export function mapInfo(fd: number): MapInfo {
  const info = Buffer.alloc(88);
  const len = new Uint32Array([info.length]);
  check('map info', load().obj_info(fd, info, len));
  const end = info.indexOf(0, 24);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    name: info.toString('utf8', 24, end < 0 || end > 40 ? 40 : end),
  };
}

/** The id of a program fd (bpf_prog_info.id). */
export function progId(fd: number): number {
  const info = Buffer.alloc(232);
  const len = new Uint32Array([info.length]);
  check('program info', load().obj_info(fd, info, len));
  return info.readUInt32LE(4);
}

/** A program's fd from its id (e.g. the one an interface runs). */
export function progFdById(id: number): number {
  return check(`opening program id ${id}`, load().prog_by_id(id));
}

export function mapFdById(id: number): number {
  return check(`opening map id ${id}`, load().map_by_id(id));
}

/** bpf_prog_info: id, name and the ids of the maps the program uses. */
export function progInfo(fd: number): { id: number; name: string; tag: string; mapIds: number[] } {
  const maxMaps = 64;
  const idsPtr = koffi.alloc('uint32_t', maxMaps);
  const info = Buffer.alloc(232);
  info.writeUInt32LE(maxMaps, 52); // nr_map_ids
  info.writeBigUInt64LE(BigInt(koffi.address(idsPtr)), 56); // map_ids
  const len = new Uint32Array([info.length]);
  try {
    check('program info', load().obj_info(fd, info, len));
    const n = Math.min(info.readUInt32LE(52), maxMaps);
    const ids = new Uint32Array(koffi.view(idsPtr, maxMaps * 4));
    const end = info.indexOf(0, 64);
    return {
      id: info.readUInt32LE(4),
      tag: info.toString('hex', 8, 16),
      name: info.toString('utf8', 64, end < 0 || end > 80 ? 80 : end),
      mapIds: [...ids.subarray(0, n)],
    };
  } finally {
    koffi.free(idsPtr);
  }
}

/** The tag of a program fd (hash of its instructions, map references masked), as hex. */
export function progTag(fd: number): string {
  const info = Buffer.alloc(232);
  const len = new Uint32Array([info.length]);
  check('program info', load().obj_info(fd, info, len));
  return info.toString('hex', 8, 16);
}

/** bpf_link_info: id, prog_id and, for XDP links, the ifindex. */
export function linkInfo(fd: number): { id: number; progId: number; ifindex: number } {
  const info = Buffer.alloc(64);
  const len = new Uint32Array([info.length]);
  check('link info', load().obj_info(fd, info, len));
  return { id: info.readUInt32LE(4), progId: info.readUInt32LE(8), ifindex: info.readUInt32LE(16) };
}

// ---- pins ----

export function objPin(fd: number, path: string): void {
  check(`pinning ${path}`, load().obj_pin(fd, path));
}

/** The fd of a pinned object, or -1 when nothing is pinned at `path`. */
export function objGet(path: string): number {
  const rc = load().obj_get(path) as number;
  if (rc === -ENOENT) return -1;
  return check(`opening pinned ${path}`, rc);
}

// ---- XDP attachment ----

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;
const BPF_XDP = 37; // enum bpf_attach_type

/** Attaches through a BPF link (kernel >= 5.9): the returned link fd holds the attachment. */
export function xdpLinkCreate(progFd: number, ifindex: number, flags: number): number {
  const opts = Buffer.alloc(16); // struct bpf_link_create_opts { size_t sz; __u32 flags; ... }
  opts.writeBigUInt64LE(16n, 0);
  opts.writeUInt32LE(flags, 8);
  return check(`attaching XDP to ifindex ${ifindex}`, load().link_create(progFd, ifindex, BPF_XDP, opts));
}

/** Replaces the program of an existing link atomically. */
export function linkUpdate(linkFd: number, progFd: number): void {
  check('updating XDP link', load().link_update(linkFd, progFd, null));
}

export function linkDetach(linkFd: number): void {
  check('detaching XDP link', load().link_detach(linkFd));
}

/** Netlink attachment (no link object): used for the helper program on veth peers. */
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

// ---- BPF_PROG_TEST_RUN ----

export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

const OPTS_SIZE = 80; // sizeof(struct bpf_test_run_opts) in libbpf 1.x

/**
 * Runs a program on frames with BPF_PROG_TEST_RUN. Frames are written into stable native memory
 * (`input`), the program's output appears in `output`; nothing is allocated per run.
 */
export class TestRunner {
  readonly input: Uint8Array;
  readonly output: Uint8Array;
  private readonly opts: DataView;
  private readonly optsPtr: unknown;
  private readonly ctx: DataView;
  /** Output length of the last run. */
  outLen = 0;
  /** Average ns per repetition of the last run. */
  durationNs = 0;

  constructor(
    private readonly progFd: number,
    capacity = 16384,
  ) {
    load();
    const inPtr = koffi.alloc('uint8_t', capacity);
    const outPtr = koffi.alloc('uint8_t', capacity);
    const ctxPtr = koffi.alloc('uint8_t', 24);
    this.optsPtr = koffi.alloc('uint8_t', OPTS_SIZE);
    this.input = new Uint8Array(koffi.view(inPtr, capacity));
    this.output = new Uint8Array(koffi.view(outPtr, capacity));
    this.ctx = new DataView(koffi.view(ctxPtr, 24));
    this.opts = new DataView(koffi.view(this.optsPtr, OPTS_SIZE));
    const o = this.opts;
    o.setBigUint64(0, BigInt(OPTS_SIZE), true);
    o.setBigUint64(8, BigInt(koffi.address(inPtr)), true);
    o.setBigUint64(16, BigInt(koffi.address(outPtr)), true);
    this.ctxAddr = BigInt(koffi.address(ctxPtr));
    this.capacity = capacity;
  }

  private readonly capacity: number;
  private readonly ctxAddr: bigint;

  /**
   * Runs the program once (or `repeat` times) on input[0,len). `ingressIfindex` sets
   * xdp_md.ingress_ifindex (0: loopback, the kernel's default). Returns the XDP action.
   */
  run(len: number, repeat = 1, ingressIfindex = 0, flags = 0, batchSize = 0): number {
    const o = this.opts;
    o.setUint32(24, len, true); // data_size_in
    o.setUint32(28, this.capacity, true); // data_size_out
    if (ingressIfindex) {
      // struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }
      for (let i = 0; i < 24; i += 4) this.ctx.setUint32(i, 0, true);
      this.ctx.setUint32(4, len, true);
      this.ctx.setUint32(12, ingressIfindex, true);
      o.setUint32(48, 24, true); // ctx_size_in
    } else {
      o.setUint32(48, 0, true);
    }
    o.setBigUint64(32, ingressIfindex ? this.ctxAddr : 0n, true); // ctx_in
    o.setUint32(52, 0, true); // ctx_size_out
    o.setUint32(56, 0, true); // retval
    o.setInt32(60, repeat, true);
    o.setUint32(68, flags, true);
    o.setUint32(76, batchSize, true);
    const rc = load().test_run(this.progFd, this.optsPtr) as number;
    if (rc < 0) throw new BpfError('BPF_PROG_TEST_RUN', rc);
    this.outLen = o.getUint32(28, true);
    this.durationNs = o.getUint32(64, true);
    return o.getUint32(56, true);
  }
}
