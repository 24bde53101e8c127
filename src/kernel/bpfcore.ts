// libbpf.so.1 bound through koffi, once per thread and only on first use (a USERSPACE-only daemon
// never loads it): the function table the other src/kernel/bpf*.ts modules call, libbpf's error
// convention turned into BpfError, and libbpf's own log messages routed to a hook (libbpf_set_print)
// instead of straight to stderr.
import { isMainThread } from 'node:worker_threads';
import koffi from 'koffi';
import { LbdsrError } from '../core/errors.js';
import { formatVaList } from './libc.js';

type Fn = (...args: unknown[]) => unknown;

const SIGNATURES = {
  open_mem: 'bpf_object *bpf_object__open_mem(const void *buf, size_t sz, const void *opts)',
  open_file: 'bpf_object *bpf_object__open_file(const char *path, const void *opts)',
  obj_close: 'void bpf_object__close(bpf_object *obj)',
  obj_load: 'int bpf_object__load(bpf_object *obj)',
  find_map: 'bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)',
  find_prog: 'bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)',
  map_set_max_entries: 'int bpf_map__set_max_entries(bpf_map *map, uint32_t n)',
  map_fd: 'int bpf_map__fd(bpf_map *map)',
  prog_fd: 'int bpf_program__fd(bpf_program *prog)',
  reuse_fd: 'int bpf_map__reuse_fd(bpf_map *map, int fd)',
  update: 'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
  lookup: 'int bpf_map_lookup_elem(int fd, const void *key, _Inout_ void *value)',
  del: 'int bpf_map_delete_elem(int fd, const void *key)',
  next_key: 'int bpf_map_get_next_key(int fd, const void *key, _Inout_ void *next)',
  lookup_batch:
    'int bpf_map_lookup_batch(int fd, void *in_batch, _Inout_ void *out_batch, _Inout_ void *keys, _Inout_ void *values, _Inout_ uint32_t *count, const void *opts)',
  update_batch:
    'int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)',
  test_run: 'int bpf_prog_test_run_opts(int fd, void *opts)',
  obj_pin: 'int bpf_obj_pin(int fd, const char *path)',
  obj_get: 'int bpf_obj_get(const char *path)',
  obj_info: 'int bpf_obj_get_info_by_fd(int fd, _Inout_ void *info, _Inout_ uint32_t *len)',
  prog_by_id: 'int bpf_prog_get_fd_by_id(uint32_t id)',
  map_by_id: 'int bpf_map_get_fd_by_id(uint32_t id)',
  map_create:
    'int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const void *opts)',
  xdp_attach: 'int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const void *opts)',
  xdp_detach: 'int bpf_xdp_detach(int ifindex, uint32_t flags, const void *opts)',
  xdp_query_id: 'int bpf_xdp_query_id(int ifindex, int flags, _Out_ uint32_t *id)',
  strerror: 'int libbpf_strerror(int err, _Out_ char *buf, size_t size)',
  num_cpus: 'int libbpf_num_possible_cpus(void)',
  set_print: 'void *libbpf_set_print(lbdsr_libbpf_print_fn *fn)',
  btf_parse: 'btf *btf__parse(const char *path, void *btf_ext)',
  btf_free: 'void btf__free(btf *btf)',
  btf_find: 'int btf__find_by_name_kind(const btf *btf, const char *name, uint32_t kind)',
  btf_type: 'const void *btf__type_by_id(const btf *btf, uint32_t id)',
  btf_name: 'const char *btf__name_by_offset(const btf *btf, uint32_t offset)',
  btf_resolve_size: 'int64_t btf__resolve_size(const btf *btf, uint32_t id)',
  btf_resolve_type: 'int btf__resolve_type(const btf *btf, uint32_t id)',
} as const;

export type Api = Record<keyof typeof SIGNATURES, Fn>;

let api: Api | undefined;
let loadError: Error | undefined;

/** The libbpf function table; throws LBDSR_NOT_AVAILABLE when libbpf.so.1 cannot be loaded. */
export function load(): Api {
  if (api) return api;
  if (loadError) throw loadError;
  try {
    const lib = koffi.load('libbpf.so.1');
    for (const t of ['bpf_object', 'bpf_map', 'bpf_program', 'btf']) koffi.opaque(t);
    koffi.proto('int lbdsr_libbpf_print_fn(int level, void *fmt, void *args)');
    const table: Partial<Api> = {};
    for (const [k, sig] of Object.entries(SIGNATURES)) table[k as keyof Api] = lib.func(sig);
    api = table as Api;
  } catch (e) {
    loadError = new LbdsrError(
      'LBDSR_NOT_AVAILABLE',
      `libbpf.so.1 could not be loaded: ${(e as Error).message}`,
      { cause: e },
    );
    throw loadError;
  }
  try {
    installPrint(api);
  } catch {
    // without the callback libbpf keeps printing to stderr itself: not a reason to refuse XDP
  }
  return api;
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

/** A failed libbpf call: `errno` is the positive error number (compare with ERRNO.*). */
export class BpfError extends LbdsrError {
  readonly errno: number;
  constructor(what: string, err: number) {
    const e = Math.abs(err);
    super('LBDSR_INTERNAL', `${what}: ${bpfStrerror(-e)} (errno ${e})`);
    this.errno = e;
  }
}

/** libbpf returns -errno (1.0 semantics); pointer-returning calls give null and set errno. */
export function check(what: string, rc: unknown): number {
  const n = rc as number;
  if (n < 0) throw new BpfError(what, n);
  return n;
}

// ---- libbpf's log ----

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
/** Receives every message libbpf prints (one line or several, without the trailing newline). */
export type LibbpfLogger = (level: LibbpfLogLevel, message: string) => void;

/** enum libbpf_print_level. */
const LEVELS: readonly LibbpfLogLevel[] = ['warn', 'info', 'debug'];

/** What libbpf itself would print: warnings and information on stderr (debug never reaches it). */
export const defaultLibbpfLogger: LibbpfLogger = (_level, message) => {
  process.stderr.write(`lbdsr: ${message}\n`);
};

let logger: LibbpfLogger = defaultLibbpfLogger;
/** Debug messages (~85 per object opened) are dropped before formatting unless asked for. */
let wantDebug = false;
/** Kept referenced for as long as libbpf may call it. */
let printCallback: unknown;

/**
 * Routes libbpf's messages to `fn` (the daemon passes its logger); null restores the default.
 * Debug messages reach `fn` only with `{ debug: true }`.
 */
export function setLibbpfLogger(fn: LibbpfLogger | null, opts?: { debug?: boolean }): void {
  logger = fn ?? defaultLibbpfLogger;
  wantDebug = fn !== null && opts?.debug === true;
}

/**
 * Installs the print callback. libbpf calls it synchronously from inside the call that logs, on the
 * thread that made the call; koffi callbacks belong to the thread that registered them, so only the
 * main thread (where the XDP plane runs) installs one. Elsewhere libbpf keeps printing to stderr.
 */
function installPrint(a: Api): void {
  if (!isMainThread) return;
  printCallback = koffi.register(onPrint, koffi.pointer('lbdsr_libbpf_print_fn'));
  a.set_print(printCallback);
}

function onPrint(level: number, fmt: unknown, args: unknown): number {
  const name = LEVELS[level] ?? 'debug';
  if (name === 'debug' && !wantDebug) return 0;
  try {
    const text = formatVaList(fmt, args).replace(/\n+$/, '');
    logger(name, text);
  } catch {
    // a logger that throws must not unwind through libbpf's C frames
  }
  return 0;
}
