// Shared by the e2e test files: whether this run may build namespaces (testkit/root.ts: skip with the
// reason printed, fail under CI=true).
import { rootSkip } from '../../testkit/root.js';

export function skipReason(): string | undefined {
  return rootSkip('e2e tests (network namespaces)');
}
