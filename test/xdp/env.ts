// Whether the XDP tests can run here: they load BPF programs (root, libbpf.so.1). Without them the
// tests skip with the reason printed; under CI=true they fail instead.
import { libbpfAvailable } from '../../src/kernel/libbpf.js';

export function xdpSkipReason(): string | undefined {
  let reason: string | undefined;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    reason = 'XDP tests need root (loading BPF programs)';
  else if (!libbpfAvailable()) reason = 'XDP tests need libbpf.so.1';
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}
