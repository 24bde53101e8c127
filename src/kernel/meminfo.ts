// How much memory this host can still give the daemon: MemAvailable of /proc/meminfo, lowered by the
// limit of the daemon's memory cgroup (v2 memory.max, v1 memory.limit_in_bytes, less what it uses)
// and, on kernels before 5.11 (which charged BPF maps to RLIMIT_MEMLOCK instead of the cgroup), by the
// locked-memory limit. Read on demand (a capacity change), never on a hot path.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

export interface MemoryBudget {
  /** Bytes available. */
  bytes: number;
  /** Which limit gives `bytes`, for messages: `MemAvailable`, `memory cgroup /x`, `RLIMIT_MEMLOCK`. */
  source: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A byte count of a cgroup file; undefined when absent or unlimited ("max", or v1's near-2^63). */
function limitOf(text: string | undefined): number | undefined {
  const v = text?.trim();
  if (v === undefined || v === '' || v === 'max') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n < 2 ** 60 ? n : undefined;
}

/** `kB` lines of /proc/meminfo by name, in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+):\s+(\d+)(?: kB)?$/gm)) out.set(m[1] ?? '', Number(m[2]) * 1024);
  return out;
}

/** Room left in the daemon's memory cgroup (v2, then v1), or undefined when it has no limit. */
function cgroupRoom(): MemoryBudget | undefined {
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    const [dir, max, cur] =
      controllers === ''
        ? [`/sys/fs/cgroup${path}`, 'memory.max', 'memory.current']
        : controllers?.split(',').includes('memory')
          ? [`/sys/fs/cgroup/memory${path}`, 'memory.limit_in_bytes', 'memory.usage_in_bytes']
          : [];
    if (!dir || !max || !cur) continue;
    const limit = limitOf(read(`${dir}/${max}`));
    if (limit === undefined) continue;
    const used = limitOf(read(`${dir}/${cur}`)) ?? 0;
    return { bytes: Math.max(0, limit - used), source: `memory cgroup ${path}` };
  }
  return undefined;
}

/** RLIMIT_MEMLOCK where the kernel still charges BPF maps to it (before 5.11), or undefined. */
function memlockRoom(): MemoryBudget | undefined {
  const [major = 0, minor = 0] = release()
    .split('.')
    .map((x) => Number.parseInt(x, 10));
  if (major > 5 || (major === 5 && minor >= 11)) return undefined;
  const m = /^Max locked memory\s+(\d+|unlimited)/m.exec(read('/proc/self/limits') ?? '');
  if (!m || m[1] === 'unlimited') return undefined;
  return { bytes: Number(m[1]), source: 'RLIMIT_MEMLOCK' };
}

/** The memory this host can still give; see the header. `forXdp`: BPF maps (memlock on old kernels). */
export function memoryBudget(forXdp: boolean): MemoryBudget {
  const info = parseMeminfo(read('/proc/meminfo') ?? '');
  let best: MemoryBudget = {
    bytes: info.get('MemAvailable') ?? info.get('MemFree') ?? 0,
    source: 'MemAvailable',
  };
  for (const b of [cgroupRoom(), forXdp ? memlockRoom() : undefined]) if (b && b.bytes < best.bytes) best = b;
  return best;
}
