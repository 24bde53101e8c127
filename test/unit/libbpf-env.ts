// Whether the tests that read BPF objects through libbpf (no root needed) can run here: without
// libbpf.so.1 they skip with the reason printed; under CI=true they fail instead.
import { libbpfAvailable } from '../../src/kernel/libbpf.js';

export function libbpfSkipReason(what: string): string | undefined {
  if (libbpfAvailable()) return undefined;
  const reason = `${what} need libbpf.so.1`;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}
