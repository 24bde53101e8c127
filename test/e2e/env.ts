// Shared by the e2e test files: whether this run may build namespaces (testkit/root.ts: skip with the
// reason printed, fail under CI=true), the data-plane types to run, the check of a client's result, and
// lbdsrctl and the daemon's log around a test, and the seed's setup on a plane type.
import assert from 'node:assert/strict';
import type { Topology } from '../../testkit/bridge.js';
import type { Daemon } from '../../testkit/daemon.js';
import { rootSkip } from '../../testkit/root.js';
import { repointPool, seedCommandsFor } from '../../testkit/seed.js';
import type { ClientResult } from '../../testkit/traffic.js';

/** The data-plane types the e2e suites run for: LBDSR_E2E_TYPES (default "USERSPACE,XDP_SKB"). */
export const E2E_TYPES = (process.env.LBDSR_E2E_TYPES ?? 'USERSPACE,XDP_SKB')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter(Boolean);

/** Asserts that no request of the clients' results failed. */
export function noFailures(...rs: ClientResult[]): void {
  for (const r of rs)
    assert.equal(r.failures, 0, `failures: ${JSON.stringify(r.errors)} counts ${JSON.stringify(r.counts)}`);
}

export function skipReason(): string | undefined {
  return rootSkip('e2e tests (network namespaces)');
}

/** Runs `fn`; a failure's message gets the last lines of the daemon's log. */
export async function withDaemonLog(d: Daemon | undefined, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- lbdsrd log (last lines) ---\n${d?.logTail(25) ?? ''}`;
    throw e;
  }
}

/** `lbdsrctl lbdsr lb1 LINE` in the daemon's namespace: its stdout; a failure throws with the log. */
export async function lb1Ctl(d: Daemon, line: string): Promise<string> {
  const r = await d.shell(`lbdsrctl lbdsr lb1 ${line}`);
  if (r.code !== 0) throw new Error(`lbdsrctl lbdsr lb1 ${line}: ${r.stderr}${r.stdout}\n${d.logTail()}`);
  return r.stdout;
}

/** The seed's commands for `topo`, the plane `type` (a type not available fails), the pool repointed. */
export async function seedOn(d: Daemon, topo: Topology, type: string): Promise<void> {
  for (const cmd of seedCommandsFor(topo)) {
    const r = await d.shell(cmd);
    if (r.code !== 0) throw new Error(`seed command failed: ${cmd}\n${r.stderr}${r.stdout}`);
  }
  const r = await d.ctl('lbdsr', 'lb1', 'set', `type=${type}`);
  if (r.code !== 0) throw new Error(`plane ${type} is not available: ${r.stderr.trim()}\n${d.logTail()}`);
  for (const cmd of repointPool(topo)) await lb1Ctl(d, cmd.replace(/^lbdsrctl lbdsr lb1 /, ''));
}
