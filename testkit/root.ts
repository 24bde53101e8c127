// The skip helpers of the testkit: the one root check and the one libbpf check. Suites and benchmark
// sections that need root (network namespaces, AF_PACKET, BPF) ask `rootSkip`; those that only read BPF
// objects through libbpf ask `libbpfSkip`. Without what they need they skip with the reason printed,
// except under CI=true, where a missing privilege or library is a failure (a CI runner that silently
// skips proves nothing).
import { libbpfAvailable } from '../src/kernel/bpfcore.js';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * The common end of every skip helper: undefined passes through; a reason is printed and returned
 * (node:test's `{ skip }` takes it as is), or thrown under CI=true.
 */
export function skipFor(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}

/**
 * undefined when `what` can run here; otherwise the reason to skip (see skipFor). `more` adds a check
 * run only as root (e.g. `() => libbpfMissing('XDP tests')`).
 */
export function rootSkip(what: string, more?: () => string | undefined): string | undefined {
  return skipFor(isRoot() ? more?.() : `${what} needs root`);
}

/** Why `what` cannot run (libbpf.so.1 cannot be loaded), or undefined; prints and throws nothing. */
export function libbpfMissing(what: string): string | undefined {
  return libbpfAvailable() ? undefined : `${what} need libbpf.so.1`;
}

/** For tests that read BPF objects through libbpf without root: the reason to skip (see skipFor). */
export function libbpfSkip(what: string): string | undefined {
  return skipFor(libbpfMissing(what));
}
