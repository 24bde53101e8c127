// The one root check of the testkit. Suites and benchmark sections that need root (network namespaces,
// AF_PACKET, BPF) ask `rootSkip`: without root they skip with the reason printed, except under CI=true,
// where a missing privilege is a failure (a CI runner that silently skips proves nothing).
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * undefined when `what` can run here; otherwise prints and returns the reason to skip (node:test's
 * `{ skip }` takes it as is). `more` adds a check run only as root (e.g. "libbpf.so.1 is missing").
 * Under CI=true it throws instead of skipping.
 */
export function rootSkip(what: string, more?: () => string | undefined): string | undefined {
  const reason = isRoot() ? more?.() : `${what} needs root`;
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}
