// The USERSPACE memory check (src/daemon/limits.ts userspaceSessionBytes) against what the pipeline's
// session tables really allocate: the Balancer keeps one table per family, each of the capacity, and
// their typed arrays are measured (process.memoryUsage().arrayBuffers after a full collection) when
// full and just before their last doubling, when a table holds the old storage and the new at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { userspaceSessionBytes } from '../../src/daemon/limits.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { KEY_WORDS_V4, KEY_WORDS_V6, SessionTable } from '../../src/pipeline/session-table.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const arrayBuffers = () => {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
};

/** Bytes a table of `capacity` with `words`-word keys allocates to hold `count` distinct flows. */
function held(capacity: number, words: number, count: number): number {
  const before = arrayBuffers();
  const table = new SessionTable(capacity, { words, seed: 7 });
  const k = new Uint32Array(words);
  for (let i = 0; i < count; i++) {
    k[0] = i;
    k[1] = Math.imul(i, 0x9e3779b9) >>> 0;
    table.insertKey(k, 1, 0, 0);
  }
  const bytes = arrayBuffers() - before;
  assert.equal(table.count, count);
  return bytes;
}

/**
 * What a full table allocates, and what it holds just before the doubling that makes it full (the
 * most flows it holds with less than the full storage: a table grows by whole steps as flows arrive,
 * so the storage is a step function of the count; 0 when it never grows).
 */
function growth(capacity: number, words: number): { full: number; beforeLast: number } {
  const full = held(capacity, words, capacity);
  let lo = 0;
  let hi = capacity;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (held(capacity, words, mid) < full) lo = mid;
    else hi = mid;
  }
  return { full, beforeLast: lo === 0 ? 0 : held(capacity, words, lo) };
}

test('the USERSPACE cost covers both session tables of the pipeline as they really grow', () => {
  for (const capacity of [1000, 1024, 1025, 1500, 5000, 50_000]) {
    // The pipeline's tables: one per family, each of the capacity.
    const b = new Balancer({ capacity });
    assert.deepEqual(
      [b.sessionTable.capacity, b.sessionTable.words, b.sessionTable6.capacity, b.sessionTable6.words],
      [capacity, KEY_WORDS_V4, capacity, KEY_WORDS_V6],
    );
    const v4 = growth(capacity, KEY_WORDS_V4);
    const v6 = growth(capacity, KEY_WORDS_V6);
    // At most one table grows at a time (one thread): both full, plus the larger old storage.
    const peak = v4.full + v6.full + Math.max(v4.beforeLast, v6.beforeLast);
    const ours = userspaceSessionBytes(capacity);
    const detail = `capacity ${capacity}: IPv4 ${JSON.stringify(v4)}, IPv6 ${JSON.stringify(v6)}, ours ${ours}`;
    assert.ok(ours >= peak, `the check counts less than the tables take: ${detail}`);
    assert.ok((ours - peak) / peak < 0.01, `the check counts much more than the tables take: ${detail}`);
  }
});
