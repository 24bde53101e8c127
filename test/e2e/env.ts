// Shared by the e2e test files: whether this run may build namespaces.
import { isRoot } from '../../scripts/lib/exec.js';

/**
 * undefined when the suite can run; otherwise the reason to skip. Under CI=true the suite never skips:
 * the reason is thrown instead, so a CI runner without root fails loudly.
 */
export function skipReason(): string | undefined {
  if (isRoot()) return undefined;
  const reason = 'e2e tests need root (network namespaces); run as root';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`skipping: ${reason}`);
  return reason;
}
