// BPF map operations on map fds (element updates, lookups, batches) and bpf_map_info, through
// libbpf's low-level API. Keys and values are raw bytes: the layouts live with the maps' users
// (src/dataplane/xdp/maps.ts), checked against the object's BTF by test/unit/btf-layout.test.ts.
import koffi from 'koffi';
import { BpfError, check, load } from './bpfcore.js';
import { type CType, kernelStruct } from './ctypes.js';
import { ERRNO } from './errno.js';

export const BPF_ANY = 0;

/** struct bpf_map_batch_opts (libbpf). */
const BATCH_OPTS = koffi.struct({ sz: 'size_t', elem_flags: 'uint64_t', flags: 'uint64_t' });

function batchOpts(): Buffer {
  const b = Buffer.alloc(koffi.sizeof(BATCH_OPTS));
  koffi.encode(b, BATCH_OPTS, { sz: b.length, elem_flags: 0, flags: 0 });
  return b;
}

/** The kernel or the map type has no batch operations: callers fall back to one element at a time. */
function batchUnsupported(rc: number): boolean {
  return rc === -ERRNO.EINVAL || rc === -ERRNO.EOPNOTSUPP || rc === -ERRNO.ENOTSUPP;
}

export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = BPF_ANY): void {
  check('map update', load().update(fd, key, value, flags));
}

/** Fills `value`; returns false when the key is absent. */
export function mapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean {
  const rc = load().lookup(fd, key, value) as number;
  if (rc === -ERRNO.ENOENT) return false;
  check('map lookup', rc);
  return true;
}

/** Returns false when the key was absent. */
export function mapDelete(fd: number, key: Uint8Array): boolean {
  const rc = load().del(fd, key) as number;
  if (rc === -ERRNO.ENOENT) return false;
  check('map delete', rc);
  return true;
}

/** Writes the key after `key` (the first key when `key` is null) into `next`; false at the end. */
export function mapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
  const rc = load().next_key(fd, key, next) as number;
  if (rc === -ERRNO.ENOENT) return false;
  check('map get_next_key', rc);
  return true;
}

type ChunkVisitor = (keys: Uint8Array, values: Uint8Array, n: number) => boolean | undefined;

/**
 * Batch lookup: calls `each(keys, values, n)` with up to `chunk` entries at a time until the map is
 * exhausted or `each` returns false. Falls back to get_next_key when the kernel or map type has no
 * batch operations.
 */
export function mapForEach(
  fd: number,
  keySize: number,
  valueSize: number,
  chunk: number,
  each: ChunkVisitor,
): void {
  const walk = new BatchWalk(fd, keySize, valueSize, chunk);
  while (walk.next(each));
}

/**
 * mapForEach that gives the event loop back between chunks (`pause`, by default setImmediate): a walk
 * of a million sessions takes the better part of a second, which the daemon's requests must not wait
 * for. Entries may change between chunks, as they may between the batches of any walk.
 */
export async function mapForEachYielding(
  fd: number,
  keySize: number,
  valueSize: number,
  chunk: number,
  each: ChunkVisitor,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<void> {
  const walk = new BatchWalk(fd, keySize, valueSize, chunk);
  while (walk.next(each)) await pause();
}

/** One batch walk of a map: next() visits the next chunk, and says whether there is more. */
class BatchWalk {
  private readonly keys: Buffer;
  private readonly values: Buffer;
  private readonly inBatch: Buffer;
  private readonly outBatch: Buffer;
  private readonly count = new Uint32Array(1);
  private readonly opts = batchOpts();
  private first = true;

  constructor(
    private readonly fd: number,
    private readonly keySize: number,
    private readonly valueSize: number,
    private readonly chunk: number,
  ) {
    this.keys = Buffer.alloc(keySize * chunk);
    this.values = Buffer.alloc(valueSize * chunk);
    this.inBatch = Buffer.alloc(Math.max(8, keySize));
    this.outBatch = Buffer.alloc(Math.max(8, keySize));
  }

  next(each: ChunkVisitor): boolean {
    this.count[0] = this.chunk;
    const { fd, keys, values, inBatch, outBatch } = this;
    const r = lookupBatch(fd, this.first ? null : inBatch, outBatch, keys, values, this.count, this.opts);
    if (r === 'unsupported') {
      forEachByNextKey(fd, this.keySize, this.valueSize, each);
      return false;
    }
    const n = this.count[0] ?? 0;
    if (n > 0 && each(keys, values, n) === false) return false;
    if (r === 'end') return false;
    outBatch.copy(inBatch);
    this.first = false;
    return true;
  }
}

/**
 * One batch lookup of keys 0..n-1 of an array map (keys and values laid out back to back in the
 * buffers, which hold at least n of each): returns how many entries the kernel filled, or -1 when the
 * kernel or the map type has no batch operations (the caller then looks the keys up one by one).
 */
export function mapLookupArrayPrefix(fd: number, n: number, keys: Uint8Array, values: Uint8Array): number {
  if (n === 0) return 0;
  const count = new Uint32Array([n]);
  const r = lookupBatch(fd, null, Buffer.alloc(8), keys, values, count, batchOpts());
  return r === 'unsupported' ? -1 : (count[0] ?? 0);
}

/**
 * One BPF_MAP_LOOKUP_BATCH of up to count[0] entries after `inBatch` (null: from the map's start)
 * into `keys` and `values`; count[0] is then the entries read. 'end': the map has no more after these;
 * 'unsupported': a first batch that the kernel or the map type refuses (the caller falls back to one
 * element at a time). Any other error throws.
 */
function lookupBatch(
  fd: number,
  inBatch: Uint8Array | null,
  outBatch: Uint8Array,
  keys: Uint8Array,
  values: Uint8Array,
  count: Uint32Array,
  opts: Buffer,
): 'more' | 'end' | 'unsupported' {
  const rc = load().lookup_batch(fd, inBatch, outBatch, keys, values, count, opts) as number;
  if (rc >= 0) return 'more';
  if (rc === -ERRNO.ENOENT) return 'end';
  if (inBatch === null && batchUnsupported(rc)) return 'unsupported';
  throw new BpfError('map lookup_batch', rc);
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
  const rc = load().update_batch(fd, keys, values, count, batchOpts()) as number;
  if (rc === 0) return;
  if (batchUnsupported(rc)) {
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

/** BPF_OBJ_NAME_LEN: object names in the info structs. */
export const BPF_OBJ_NAME_LEN = 16;

/** struct bpf_map_info (linux/bpf.h). */
const BPF_MAP_INFO = kernelStruct(
  'bpf_map_info',
  {
    type: 'uint32_t',
    id: 'uint32_t',
    key_size: 'uint32_t',
    value_size: 'uint32_t',
    max_entries: 'uint32_t',
    map_flags: 'uint32_t',
    name: koffi.array('char', BPF_OBJ_NAME_LEN, 'String'),
    ifindex: 'uint32_t',
    btf_vmlinux_value_type_id: 'uint32_t',
    netns_dev: 'uint64_t',
    netns_ino: 'uint64_t',
    btf_id: 'uint32_t',
    btf_key_type_id: 'uint32_t',
    btf_value_type_id: 'uint32_t',
    /** Padding before kernel 6.x named it; lbdsr does not read it. */
    btf_vmlinux_id: 'uint32_t',
    map_extra: 'uint64_t',
  },
  { extensible: true },
);

/** bpf_map_info fields lbdsr reads. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name: string;
}

interface RawMapInfo {
  type: number;
  id: number;
  key_size: number;
  value_size: number;
  max_entries: number;
  name: string;
}

/** Fills a zeroed buffer of `type` through BPF_OBJ_GET_INFO_BY_FD and decodes it. */
export function objInfo<T>(fd: number, type: CType, what: string, init?: object): T {
  const info = Buffer.alloc(koffi.sizeof(type));
  if (init) koffi.encode(info, type, init);
  const len = new Uint32Array([info.length]);
  check(what, load().obj_info(fd, info, len));
  return koffi.decode(info, type) as T;
}

export function mapInfo(fd: number): MapInfo {
  const i = objInfo<RawMapInfo>(fd, BPF_MAP_INFO, 'map info');
  return {
    type: i.type,
    id: i.id,
    keySize: i.key_size,
    valueSize: i.value_size,
    maxEntries: i.max_entries,
    name: i.name,
  };
}

export function mapFdById(id: number): number {
  return check(`opening map id ${id}`, load().map_by_id(id));
}

/** enum bpf_map_type values lbdsr creates from user space. */
export const BPF_MAP_TYPE_ARRAY = 2;

/**
 * A new map without BTF (e.g. an inner map of a map-in-map, put into its outer map by fd). Returns
 * its fd; the map lives while an fd, a pin or an outer map refers to it.
 */
export function mapCreate(
  type: number,
  name: string,
  keySize: number,
  valueSize: number,
  maxEntries: number,
): number {
  return check(`creating map ${name}`, load().map_create(type, name, keySize, valueSize, maxEntries, null));
}
