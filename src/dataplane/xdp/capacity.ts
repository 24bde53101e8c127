// A new session capacity in the XDP plane: the sessions of the old map that fit go into the new one,
// the most recently used first (by last_seen_ns), as the pipeline's Balancer keeps them (its LRU
// order). Counters live in other maps and are untouched. Called by XdpPlane.resize, once per session
// map: lbdsr_sessions and lbdsr_sessions6 (the capacity bounds each family's table).
import { SIZEOF_FLOW_KEY, SIZEOF_SESSION } from '../../core/constants.js';
import { mapForEach, mapUpdateBatch } from '../../kernel/libbpf.js';
import { STRUCT_LAYOUTS } from './shared-structs.js';

/** Offset of last_seen_ns (u64, host order) in struct lbdsr_session: from the BTF-checked layout table. */
const SESSION_LAST_SEEN = STRUCT_LAYOUTS.session.fields.last_seen_ns.offset;
const BATCH = 4096;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies the `capacity` most recently used sessions of map `fromFd` into map `toFd`; returns how many.
 * `keySize`: the maps' key (struct lbdsr_flow_key, or lbdsr_flow_key6 for the IPv6 maps).
 */
export function copyRecentSessions(
  fromFd: number,
  toFd: number,
  capacity: number,
  keySize = SIZEOF_FLOW_KEY,
): number {
  const keyChunks: Uint8Array[] = [];
  const valueChunks: Uint8Array[] = [];
  let total = 0;
  mapForEach(fromFd, keySize, SIZEOF_SESSION, BATCH, (keys, values, n) => {
    keyChunks.push(keys.slice(0, n * keySize));
    valueChunks.push(values.slice(0, n * SIZEOF_SESSION));
    total += n;
    return undefined;
  });
  const keys = concat(keyChunks, total * keySize);
  const values = concat(valueChunks, total * SIZEOF_SESSION);
  // Written oldest first, so that the new map's LRU order is the recency order too and an early
  // eviction by the kernel's LRU (per-CPU free lists) takes the oldest kept.
  const dv = new DataView(values.buffer);
  const seen = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    seen[i] = Number(dv.getBigUint64(i * SIZEOF_SESSION + SESSION_LAST_SEEN, HOST_LE));
  }
  const order = Uint32Array.from({ length: total }, (_, i) => i).sort((a, b) => seen[a]! - seen[b]!);
  const n = Math.min(total, capacity);
  const keptKeys = new Uint8Array(n * keySize);
  const keptValues = new Uint8Array(n * SIZEOF_SESSION);
  for (let j = 0; j < n; j++) {
    const i = order[total - n + j]!;
    keptKeys.set(keys.subarray(i * keySize, (i + 1) * keySize), j * keySize);
    keptValues.set(values.subarray(i * SIZEOF_SESSION, (i + 1) * SIZEOF_SESSION), j * SIZEOF_SESSION);
  }
  writeAll(toFd, keptKeys, keptValues, n, keySize);
  return n;
}

function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function writeAll(fd: number, keys: Uint8Array, values: Uint8Array, n: number, keySize: number): void {
  for (let i = 0; i < n; i += BATCH) {
    const m = Math.min(BATCH, n - i);
    mapUpdateBatch(
      fd,
      // copies, not views: what koffi hands the kernel is the start of the buffer
      keys.slice(i * keySize, (i + m) * keySize),
      values.slice(i * SIZEOF_SESSION, (i + m) * SIZEOF_SESSION),
      m,
      keySize,
      SIZEOF_SESSION,
    );
  }
}
