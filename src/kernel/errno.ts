// Linux error numbers by name, for code that compares errors (`e.errno === ERRNO.EOPNOTSUPP`). Pure
// constants with no koffi import, so that any layer can name an errno without loading a library;
// test/unit/kernel-layout.test.ts checks each value against the platform's table that koffi exposes.

/** errno values of Linux (asm-generic, shared by x86-64 and arm64). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  ENETDOWN: 100,
  ENOBUFS: 105,
  /** Kernel-internal "operation not supported" that the bpf(2) syscall leaks to user space. */
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof ERRNO;

/** The name of an errno value (`errno 95` -> 'EOPNOTSUPP'), or undefined when the table lacks it. */
export function errnoName(errno: number): ErrnoName | undefined {
  for (const [name, v] of Object.entries(ERRNO)) if (v === errno) return name as ErrnoName;
  return undefined;
}
