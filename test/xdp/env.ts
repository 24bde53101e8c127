// Whether the XDP tests can run here: they load BPF programs (root, libbpf.so.1). Without them the
// tests skip with the reason printed; under CI=true they fail instead (testkit/root.ts).
import { libbpfMissing, rootSkip } from '../../testkit/root.js';

export function xdpSkipReason(): string | undefined {
  return rootSkip('XDP tests (loading BPF programs)', () => libbpfMissing('XDP tests'));
}
