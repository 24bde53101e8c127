// What the daemon refuses to take on because the host cannot hold it: a session capacity whose table
// needs more memory than the host has left (the XDP session map is preallocated, locked kernel memory;
// the USERSPACE table grows to it), more instances than MAX_INSTANCES, and a state file over
// MAX_STATE_BYTES (store.ts refuses to write one, and to start from one). The costs are computed from
// the layouts: bpf/maps.h's LRU hashes (IPv4: 16-byte keys; IPv6: 40-byte keys; 16-byte values),
// src/pipeline/session-table.ts's tables (IPv4 and IPv6, 64- and 96-byte entries).
import { LbdsrError } from '../core/errors.js';
import { type MemoryBudget, memoryBudget } from '../kernel/meminfo.js';
import type { StoredInstance } from './config.js';

export const MAX_INSTANCES = 64;
/** 64 MiB: every one of the 64 instances with a full pool of 4,096 backends takes about a third of it. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

export interface Limits {
  instances: number;
  stateBytes: number;
  /** The memory the host can still give (kernel/meminfo.ts); `forXdp` for BPF maps. */
  memory: (forXdp: boolean) => MemoryBudget;
}

export const DEFAULT_LIMITS: Limits = {
  instances: MAX_INSTANCES,
  stateBytes: MAX_STATE_BYTES,
  memory: memoryBudget,
};

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Bytes of the XDP session maps of `capacity` entries, lbdsr_sessions and lbdsr_sessions6 (each
 * family's table has the capacity): per element the kernel's htab_elem (48 bytes: node, LRU node,
 * hash) plus the key (16 bytes; IPv6 40) and the 16-byte value, all preallocated; plus per map a
 * bucket (16 bytes) per entry rounded up to a power of two. (What the kernel reports as the maps'
 * memlock: test/xdp/sessions6.test.ts.)
 */
export function xdpSessionBytes(capacity: number): number {
  return capacity * (48 + 16 + 16 + (48 + 40 + 16)) + 2 * pow2(capacity) * 16;
}

/** The pipeline's session tables (src/pipeline/session-table.ts): bytes an entry, IPv4 and IPv6. */
const ENTRY_V4 = 64;
const ENTRY_V6 = 96;
/** A table's storage starts at this many entries (or its capacity) and doubles up to its capacity. */
const TABLE_INITIAL = 1024;

/**
 * Bytes a table holds at `limit` entries: the records, and 4 bytes a bucket (twice the entries rounded
 * up to a power of two, at least 16).
 */
const tableBytes = (limit: number, entry: number) =>
  limit === 0 ? 0 : limit * entry + Math.max(16, pow2(2 * limit)) * 4;

/** The storage of a table of `capacity` just before its last doubling (0: it never grows). */
function beforeLastDoubling(capacity: number): number {
  if (capacity <= TABLE_INITIAL) return 0;
  let limit = TABLE_INITIAL;
  while (limit * 2 < capacity) limit *= 2;
  return limit;
}

/**
 * Bytes of the USERSPACE session tables grown to `capacity`: the pipeline keeps one per family, each
 * of the capacity (IPv4 entries 64 bytes, IPv6 96), with 4 bytes a bucket; and while the IPv6 table
 * (the larger) makes its last doubling it also holds the storage it copies from. (What the tables
 * really allocate: test/daemon/limits-userspace.test.ts.)
 */
export function userspaceSessionBytes(capacity: number): number {
  return (
    tableBytes(capacity, ENTRY_V4) +
    tableBytes(capacity, ENTRY_V6) +
    tableBytes(beforeLastDoubling(capacity), ENTRY_V6)
  );
}

const gib = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(b / 2 ** 20)} MiB`;

/**
 * Refuses a change the host cannot hold: a new instance beyond `limits.instances`, or a session
 * capacity (new, or raised) whose table would not fit in the memory left. An automatic plane type
 * is costed as the dearer of the two planes (it may be either).
 */
export function checkLimits(
  config: StoredInstance,
  old: StoredInstance | undefined,
  count: number,
  limits: Limits,
): void {
  if (!old && count >= limits.instances) {
    throw new LbdsrError('LBDSR_TOO_MANY', `at most ${limits.instances} instances; ${count} exist`);
  }
  const capacity = config.sessions.capacity;
  if (old && capacity <= old.sessions.capacity && config.type === old.type) return;
  const xdp = config.type === 'XDP_DRV' || config.type === 'XDP_SKB';
  const userspace = config.type === 'USERSPACE';
  const costs: Array<[number, string, boolean]> = [];
  if (!userspace) costs.push([xdpSessionBytes(capacity), 'an XDP session map (locked kernel memory)', true]);
  if (!xdp) costs.push([userspaceSessionBytes(capacity), 'the USERSPACE session tables', false]);
  for (const [need, what, forXdp] of costs) {
    const have = limits.memory(forXdp);
    if (need > have.bytes) {
      throw new LbdsrError(
        'LBDSR_NO_MEMORY',
        `session capacity ${capacity} of ${config.name} needs about ${gib(need)} for ${what}; ` +
          `this host has ${gib(have.bytes)} (${have.source}): lower sessions.capacity`,
      );
    }
  }
}
