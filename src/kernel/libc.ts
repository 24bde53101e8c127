// libc through koffi, loaded once for the whole process: the calls the user-space data plane needs,
// and the few the BPF side uses (close, fcntl, mount; src/kernel/libbpf.ts and bpffs.ts import them
// from here), and flock for the daemon's state-directory lock (src/daemon/store.ts). Kernel structs passed to these calls are declared as koffi struct types (pollfd, rusage),
// errno values come by name from errno.ts. Every wrapper that can fail throws a SysError carrying
// errno and strerror(); the hot-path calls (poll, kick) return the raw result so that a busy loop
// never allocates.
import koffi from 'koffi';
import { kernelStruct } from './ctypes.js';
import { ERRNO } from './errno.js';

const libc = koffi.load('libc.so.6');

/** struct pollfd (poll(2)). */
const POLLFD = kernelStruct('pollfd', { fd: 'int', events: 'short', revents: 'short' });
/** Bytes per struct pollfd and the offsets of its fields, for preallocated pollfd arrays. */
export const POLLFD_SIZE = koffi.sizeof(POLLFD);
export const POLLFD_FD = koffi.offsetof(POLLFD, 'fd');
export const POLLFD_EVENTS = koffi.offsetof(POLLFD, 'events');
export const POLLFD_REVENTS = koffi.offsetof(POLLFD, 'revents');

const TIMEVAL = koffi.struct({ tv_sec: 'long', tv_usec: 'long' });
/** struct rusage (getrusage(2)). */
const RUSAGE = kernelStruct('rusage', {
  ru_utime: TIMEVAL,
  ru_stime: TIMEVAL,
  ru_maxrss: 'long',
  ru_ixrss: 'long',
  ru_idrss: 'long',
  ru_isrss: 'long',
  ru_minflt: 'long',
  ru_majflt: 'long',
  ru_nswap: 'long',
  ru_inblock: 'long',
  ru_oublock: 'long',
  ru_msgsnd: 'long',
  ru_msgrcv: 'long',
  ru_nsignals: 'long',
  ru_nvcsw: 'long',
  ru_nivcsw: 'long',
});
interface Timeval {
  tv_sec: number;
  tv_usec: number;
}

const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const uint8_t *val, uint32_t len)'),
  getsockopt: libc.func(
    'int getsockopt(int fd, int level, int name, _Inout_ uint8_t *val, _Inout_ uint32_t *len)',
  ),
  close: libc.func('int close(int fd)'),
  mmapAny: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  mmapAt: libc.func('mmap', 'void *', ['uintptr_t', 'size_t', 'int', 'int', 'int', 'int64_t']),
  munmap: libc.func('int munmap(uintptr_t addr, size_t len)'),
  poll: libc.func('int poll(_Inout_ uint8_t *fds, uint64_t n, int timeout)'),
  sendto: libc.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)'),
  strerror: libc.func('const char *strerror(int errnum)'),
  fcntlInt: libc.func('int fcntl(int fd, int cmd, ...)'),
  flock: libc.func('int flock(int fd, int op)'),
  eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
  write: libc.func('intptr_t write(int fd, const uint8_t *buf, size_t n)'),
  read: libc.func('intptr_t read(int fd, _Out_ uint8_t *buf, size_t n)'),
  mount: libc.func(
    'int mount(const char *src, const char *target, const char *type, unsigned long flags, const char *data)',
  ),
};

export const EAGAIN = ERRNO.EAGAIN;
export const EINTR = ERRNO.EINTR;
export const ENOBUFS = ERRNO.ENOBUFS;
export const ENETDOWN = ERRNO.ENETDOWN;
export const ENXIO = ERRNO.ENXIO;
export const ENODEV = ERRNO.ENODEV;

export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const F_DUPFD_CLOEXEC = 1030;

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_LOCKED = 0x2000;

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export const MSG_DONTWAIT = 0x40;

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * flock(2) on an open file descriptor; false when LOCK_NB was asked and another open file holds the lock
 * (EWOULDBLOCK), a SysError for anything else.
 */
export function flock(fd: number, op: number, what?: string): boolean {
  for (;;) {
    if ((c.flock(fd, op) as number) === 0) return true;
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    if (errno === EAGAIN) return false;
    throw new SysError('flock', errno, what);
  }
}

/** A failed system call: `errno` and the libc message. */
export class SysError extends Error {
  readonly errno: number;
  readonly call: string;
  constructor(call: string, errno: number, what?: string) {
    super(`${call}${what ? ` (${what})` : ''}: ${strerror(errno)} (errno ${errno})`);
    this.name = 'SysError';
    this.errno = errno;
    this.call = call;
  }
}

export function strerror(errno: number): string {
  return c.strerror(errno) as string;
}

/** errno of the last koffi call of this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

function check(call: string, r: number, what?: string): number {
  if (r < 0) throw new SysError(call, koffi.errno(), what);
  return r;
}

export function socket(domain: number, type: number, protocol: number): number {
  return check('socket', c.socket(domain, type, protocol) as number);
}

export function bind(fd: number, addr: Uint8Array, what?: string): void {
  check('bind', c.bind(fd, addr, addr.length) as number, what);
}

export function setsockopt(fd: number, level: number, name: number, val: Uint8Array, what?: string): void {
  check('setsockopt', c.setsockopt(fd, level, name, val, val.length) as number, what);
}

export function setsockoptInt(fd: number, level: number, name: number, value: number, what?: string): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  setsockopt(fd, level, name, b, what);
}

/** Reads an option into `val`; returns the length the kernel wrote. */
export function getsockopt(fd: number, level: number, name: number, val: Uint8Array, what?: string): number {
  const len = [val.length];
  check('getsockopt', c.getsockopt(fd, level, name, val, len) as number, what);
  return len[0] as number;
}

export function close(fd: number): void {
  if (fd >= 0) c.close(fd);
}

/** fcntl(fd, F_DUPFD_CLOEXEC, 0): a second close-on-exec fd for the same file; -errno on failure. */
export function dupCloexecRaw(fd: number): number {
  const n = c.fcntlInt(fd, F_DUPFD_CLOEXEC, 'int', 0) as number;
  return n < 0 ? -koffi.errno() : n;
}

/** mount(2); returns 0 or -errno (callers decide whether a failure matters). */
export function mountRaw(src: string, target: string, type: string, flags: number, data: string): number {
  const rc = c.mount(src, target, type, flags, data) as number;
  return rc < 0 ? -koffi.errno() : rc;
}

/** A pointer returned by mmap (opaque koffi pointer) with its address. */
export interface Mapping {
  ptr: unknown;
  addr: number;
  len: number;
}

const MAP_FAILED = 0xffffffffffffffffn;

function mapped(call: string, ptr: unknown, len: number, what?: string): Mapping {
  const a = ptr === null ? MAP_FAILED : koffi.address(ptr);
  if (a === MAP_FAILED) throw new SysError(call, koffi.errno(), what);
  return { ptr, addr: Number(a), len };
}

/** Reserves `len` bytes of address space (no access, no memory committed). */
export function reserve(len: number): Mapping {
  const p = c.mmapAny(null, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return mapped('mmap', p, len, 'reserve');
}

/** Maps `fd` (a packet socket's rings) read/write, shared, at exactly `addr` (inside a reservation). */
export function mmapFixed(addr: number, len: number, fd: number, what?: string): Mapping {
  const flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED : MAP_SHARED | MAP_FIXED;
  const p = c.mmapAt(addr, len, PROT_READ | PROT_WRITE, flags, fd, 0);
  const m = mapped('mmap', p, len, what);
  if (m.addr !== addr) throw new Error(`mmap placed the mapping at ${m.addr}, not ${addr}`);
  return m;
}

/** Puts a range back to reserved, inaccessible address space (drops what was mapped there). */
export function unmapToReserved(addr: number, len: number): void {
  const p = c.mmapAt(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  mapped('mmap', p, len, 'release');
}

export function munmap(addr: number, len: number): void {
  check('munmap', c.munmap(addr, len) as number);
}

/** An ArrayBuffer over mapped memory (no copy). Valid until the mapping goes away. */
export function view(m: Mapping): ArrayBuffer {
  return koffi.view(m.ptr, m.len);
}

/**
 * poll(2) on a preallocated `struct pollfd[]` (POLLFD_SIZE bytes each, fields at POLLFD_*). Returns
 * the raw result (-1 on error, see lastErrno()); allocates nothing.
 */
export function poll(fds: Uint8Array, n: number, timeoutMs: number): number {
  return c.poll(fds, n, timeoutMs) as number;
}

/** EFD_NONBLOCK | EFD_CLOEXEC (the O_ flags' values). */
const EFD_FLAGS = 0o4000 | 0o2000000;
const ONE = new BigUint64Array([1n]);
const ONE_BYTES = new Uint8Array(ONE.buffer);
const DRAINED = new Uint8Array(8);

/**
 * A non-blocking eventfd: a wake-up that another thread can give to a thread blocked in poll() on it
 * (the USERSPACE plane's worker polls its socket and this). Throws when the kernel refuses one.
 */
export function eventfd(): number {
  return check('eventfd', c.eventfd(0, EFD_FLAGS) as number);
}

/** Makes `fd` (an eventfd) readable: adds one to its count. Raw result (8, or -1 on error). */
export function eventfdSignal(fd: number): number {
  return c.write(fd, ONE_BYTES, 8) as number;
}

/** Reads an eventfd's count back to zero (not readable any more); nothing happens when it was zero. */
export function eventfdDrain(fd: number): void {
  c.read(fd, DRAINED, 8);
}

/** sendto(fd, NULL, 0, flags, NULL, 0): makes the kernel transmit what the TX ring holds. Raw result. */
export function kick(fd: number, flags: number): number {
  return c.sendto(fd, null, 0, flags, null, 0) as number;
}

const c2 = {
  ioctl: libc.func('int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)'),
  open: libc.func('int open(const char *path, int flags, int mode)'),
  setns: libc.func('int setns(int fd, int nstype)'),
};

export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;

export function ioctl(fd: number, req: number, arg: Uint8Array, what?: string): number {
  return check('ioctl', c2.ioctl(fd, req, arg) as number, what);
}

/** ioctl returning -errno instead of throwing (for probes where absence is an answer). */
export function ioctlRaw(fd: number, req: number, arg: Uint8Array): number {
  const r = c2.ioctl(fd, req, arg) as number;
  return r < 0 ? -koffi.errno() : r;
}

export function open(path: string, flags: number): number {
  return check('open', c2.open(path, flags, 0) as number, path);
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, what?: string): void {
  check('setns', c2.setns(fd, nstype) as number, what);
}

const c3 = {
  send: libc.func('intptr_t send(int fd, const uint8_t *buf, size_t len, int flags)'),
  recv: libc.func('intptr_t recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
};

export function send(fd: number, buf: Uint8Array, len: number, what?: string): number {
  return check('send', c3.send(fd, buf, len, 0) as number, what);
}

/** Non-blocking send of `buf[0..len)`; returns the result or -errno (never throws, allocates nothing). */
export function sendNow(fd: number, buf: Uint8Array, len: number): number {
  const r = c3.send(fd, buf, len, MSG_DONTWAIT) as number;
  return r < 0 ? -koffi.errno() : r;
}

/** Non-blocking recv into `buf`; returns the length, or -1 when nothing is queued. */
export function recvNow(fd: number, buf: Uint8Array): number {
  const r = c3.recv(fd, buf, buf.length, MSG_DONTWAIT) as number;
  if (r < 0) {
    const e = koffi.errno();
    if (e === EAGAIN || e === EINTR) return -1;
    throw new SysError('recv', e);
  }
  return r;
}

/** glibc's cpu_set_t: CPU_SETSIZE (1024) bits. */
const CPU_SET_BYTES = 1024 / 8;
const RUSAGE_THREAD = 1;
const PRIO_PROCESS = 0;

const c4 = {
  setaffinity: libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)'),
  getrusage: libc.func('getrusage', 'int', ['int', koffi.out(koffi.pointer(RUSAGE))]),
};

/** Pins the calling thread to one CPU. */
export function pinThread(cpu: number): void {
  const mask = new Uint8Array(CPU_SET_BYTES);
  mask[cpu >> 3] = 1 << (cpu & 7);
  check('sched_setaffinity', c4.setaffinity(0, mask.length, mask) as number, `cpu ${cpu}`);
}

/** CPU time (user + system, ms) the calling thread has used (getrusage RUSAGE_THREAD). */
export function threadCpuMs(): number {
  const ru: { ru_utime?: Timeval; ru_stime?: Timeval } = {};
  check('getrusage', c4.getrusage(RUSAGE_THREAD, ru) as number);
  const ms = (t: Timeval | undefined) => (t ? t.tv_sec * 1000 + t.tv_usec / 1000 : 0);
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

const c6 = {
  vasprintf: libc.func('int vasprintf(_Out_ void **strp, void *fmt, void *ap)'),
  free: libc.func('void free(void *p)'),
};

/**
 * Formats a C `format` + `va_list` pair (e.g. what a C library hands its log callback) with
 * vasprintf(3): the va_list is consumed once, whatever the length of the result.
 */
export function formatVaList(fmt: unknown, ap: unknown): string {
  const out: unknown[] = [null];
  if ((c6.vasprintf(out, fmt, ap) as number) < 0 || !out[0]) return '';
  try {
    return koffi.decode(out[0], 'char', -1) as string;
  } finally {
    c6.free(out[0]);
  }
}

const c5 = {
  setpriority: libc.func('int setpriority(int which, uint32_t who, int prio)'),
};

/** Sets the nice value of the calling thread (Linux: the priority is per thread). */
export function niceThread(nice: number): void {
  check('setpriority', c5.setpriority(PRIO_PROCESS, 0, nice) as number, `nice ${nice}`);
}
