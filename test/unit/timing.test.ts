// The testkit's timing helpers: order statistics as the benchmarks report them, and bounded waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, mustWaitFor, percentile, waitFor } from '../../testkit/timing.js';

test('median and percentiles interpolate between the closest ranks, whatever the input order', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const xs = Array.from({ length: 101 }, (_, i) => 100 - i);
  assert.equal(percentile(xs, 0), 0);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([10, 20], 75), 17.5);
  assert.deepEqual(xs.slice(0, 2), [100, 99], 'the input is not reordered');
});

test('waitFor returns true as soon as the condition holds, false when the bound passes', async () => {
  let n = 0;
  assert.equal(await waitFor(() => ++n >= 3, { intervalMs: 1 }), true);
  assert.equal(n, 3);
  const t0 = Date.now();
  assert.equal(await waitFor(async () => false, { timeoutMs: 50, intervalMs: 5 }), false);
  assert.ok(Date.now() - t0 >= 50);
  await assert.rejects(
    mustWaitFor('never', () => false, { timeoutMs: 10 }),
    /timed out after 10 ms: never/,
  );
});
