// Shared by the e2e test files: whether this run may build namespaces (testkit/root.ts: skip with the
// reason printed, fail under CI=true), the data-plane types to run, and the check of a client's result.
import assert from 'node:assert/strict';
import { rootSkip } from '../../testkit/root.js';
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
