// Maglev (src/core/maglev.ts) against the C oracle (test/vectors/tools/known-values.c, values pasted
// here) and against the reference written from docs/semantics.md (test/lib/reference.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAGLEV_SIZE, SLOT_NONE } from '../../src/core/constants.js';
import { buildMaglev } from '../../src/core/maglev.js';
import { M, referenceMaglev } from '../lib/reference.js';

/** The product's table for `ids` (slot i = ids[i] in the given order), as backend ids. */
function productIds(ids: number[]): number[] {
  const t = buildMaglev(ids.map((id, slot) => ({ id, slot })));
  return Array.from(t, (s) => (s === SLOT_NONE ? -1 : ids[s]!));
}

function counts(table: ArrayLike<number>): Map<number, number> {
  const c = new Map<number, number>();
  for (let i = 0; i < table.length; i++) c.set(table[i]!, (c.get(table[i]!) ?? 0) + 1);
  return c;
}

test('reference Maglev matches the C oracle', () => {
  assert.equal(M, MAGLEV_SIZE);
  const t = referenceMaglev([1, 2, 3]);
  assert.deepEqual(
    [...t.subarray(0, 24)],
    [2, 2, 3, 3, 3, 1, 1, 3, 1, 1, 1, 3, 2, 3, 2, 3, 2, 1, 2, 1, 2, 1, 2, 1],
  );
  assert.deepEqual([t[100], t[1000], t[30000], t[65536]], [2, 2, 2, 2]);
  assert.deepEqual([...counts(t).entries()].sort(), [
    [1, 21846],
    [2, 21846],
    [3, 21845],
  ]);
  const t5 = referenceMaglev([100, 7, 4000000000, 42, 9]);
  assert.deepEqual([...t5.subarray(0, 12)], [9, 4000000000, 100, 42, 9, 9, 100, 4000000000, 7, 9, 9, 100]);
  const c5 = counts(t5);
  assert.deepEqual(
    [7, 9, 42, 100, 4000000000].map((id) => c5.get(id)),
    [13108, 13108, 13107, 13107, 13107],
  );
});

test('the product table equals the C oracle and the reference', () => {
  const p = productIds([3, 1, 2]);
  assert.deepEqual(p.slice(0, 24), [2, 2, 3, 3, 3, 1, 1, 3, 1, 1, 1, 3, 2, 3, 2, 3, 2, 1, 2, 1, 2, 1, 2, 1]);
  assert.deepEqual(p, [...referenceMaglev([1, 2, 3])]);
  assert.deepEqual(productIds([100, 7, 4000000000, 42, 9]), [
    ...referenceMaglev([7, 9, 42, 100, 4000000000]),
  ]);
});

test('any pool of uint32 ids: same table as the reference, whatever the input order', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
      (ids) => {
        const ref = [...referenceMaglev(ids)];
        assert.deepEqual(productIds(ids), ref);
        assert.deepEqual(productIds([...ids].reverse()), ref);
      },
    ),
    { numRuns: 25 },
  );
});

test('entries are shared evenly: counts differ by at most one, for 1 to 4096 backends', () => {
  for (const n of [1, 2, 7, 100, 1000, 4096]) {
    const ids = Array.from({ length: n }, (_, i) => (i * 2654435761 + 17) >>> 0);
    const t = buildMaglev(ids.map((id, slot) => ({ id, slot })));
    const c = counts(t);
    assert.equal(c.size, n, `every one of ${n} backends has entries`);
    assert.ok(!c.has(SLOT_NONE), 'no empty entry');
    const v = [...c.values()];
    assert.ok(Math.max(...v) - Math.min(...v) <= 1, `${n} backends: ${Math.min(...v)}..${Math.max(...v)}`);
  }
});

test('an empty pool gives an all-empty table; a given table buffer is reused and refilled', () => {
  const buf = new Uint32Array(MAGLEV_SIZE).fill(7);
  const t = buildMaglev([], buf);
  assert.equal(t, buf);
  assert.ok(t.every((s) => s === SLOT_NONE));
  buildMaglev([{ id: 5, slot: 9 }], buf);
  assert.ok(buf.every((s) => s === 9));
});

test('removing one of 10 backends moves only the entries it owned plus a few', () => {
  const ids = Array.from({ length: 10 }, (_, i) => i + 1);
  const before = productIds(ids);
  const after = productIds(ids.filter((id) => id !== 4));
  let moved = 0;
  for (let i = 0; i < M; i++) if (before[i] !== 4 && before[i] !== after[i]) moved++;
  assert.ok(after.every((id) => id !== 4));
  // Maglev is not perfectly minimal: a few entries of other backends move too (NSDI 2016, §3.4).
  assert.ok(moved / M < 0.02, `${((100 * moved) / M).toFixed(2)}% of other entries moved`);
});
