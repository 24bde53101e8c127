// Weighted Maglev (docs/semantics.md, "Maglev table"): a backend's share of the table follows its weight,
// all weights 100 give the unweighted table, and changing one weight moves little more than the share
// that changed. Checked over every entry of the table (every hash value) and against the reference
// written from the document (test/lib/reference.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAGLEV_SIZE, SLOT_NONE } from '../../src/core/constants.js';
import { buildMaglev, buildMaglevOf } from '../../src/core/maglev.js';
import { referenceMaglev } from '../lib/reference.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const weight = fc.integer({ min: 1, max: 100 });
const poolArb = fc.uniqueArray(u32, { minLength: 2, maxLength: 64 });

function weighted(ids: number[], weights: number[]): Uint32Array {
  return buildMaglev(ids.map((id, slot) => ({ id, slot, weight: weights[slot]! })));
}

function slotCounts(table: Uint32Array, n: number): Float64Array {
  const c = new Float64Array(n);
  for (let i = 0; i < table.length; i++) c[table[i]!]!++;
  return c;
}

test('all weights 100 give exactly the unweighted table', () => {
  const ids = [100, 7, 4000000000, 42, 9];
  const plain = buildMaglev(ids.map((id, slot) => ({ id, slot })));
  assert.deepEqual(weighted(ids, [100, 100, 100, 100, 100]), plain);
});

test('weights: each share is within 5% of its weight (plus one entry)', () => {
  fc.assert(
    fc.property(
      poolArb.chain((ids) =>
        fc.tuple(fc.constant(ids), fc.array(weight, { minLength: ids.length, maxLength: ids.length })),
      ),
      ([ids, ws]) => {
        const t = weighted(ids, ws);
        const c = slotCounts(t, ids.length);
        const total = ws.reduce((a, b) => a + b, 0);
        for (let s = 0; s < ids.length; s++) {
          const want = (MAGLEV_SIZE * ws[s]!) / total;
          assert.ok(
            Math.abs(c[s]! - want) <= 0.05 * want + 1,
            `backend ${ids[s]} weight ${ws[s]}/${total}: ${c[s]} entries, want ${want.toFixed(1)}`,
          );
        }
      },
    ),
    { numRuns: 8 },
  );
});

test('a backend of weight 0 gets no entry; the others share the table', () => {
  const t = weighted([1, 2, 3], [100, 0, 50]);
  const c = slotCounts(t, 3);
  assert.equal(c[1], 0);
  assert.equal(c[0]! + c[2]!, MAGLEV_SIZE);
  assert.ok(Math.abs(c[0]! / c[2]! - 2) < 0.01, `${c[0]} vs ${c[2]}`);
  // all weights 0: an empty table
  assert.ok(weighted([1, 2], [0, 0]).every((s) => s === SLOT_NONE));
});

test('changing one weight moves at most the share that changed plus 2% of the entries', () => {
  fc.assert(
    fc.property(
      poolArb.chain((ids) =>
        fc.tuple(
          fc.constant(ids),
          fc.array(weight, { minLength: ids.length, maxLength: ids.length }),
          fc.nat(ids.length - 1),
          weight,
        ),
      ),
      ([ids, ws, which, w2]) => {
        const before = weighted(ids, ws);
        const ws2 = ws.map((w, i) => (i === which ? w2 : w));
        const after = weighted(ids, ws2);
        const t1 = ws.reduce((a, b) => a + b, 0);
        const t2 = ws2.reduce((a, b) => a + b, 0);
        const shareChange = Math.abs(ws[which]! / t1 - w2 / t2);
        let moved = 0;
        for (let i = 0; i < MAGLEV_SIZE; i++) if (before[i] !== after[i]) moved++;
        const bound = shareChange + 0.02;
        assert.ok(
          moved / MAGLEV_SIZE <= bound,
          `${ids.length} backends, weight ${ws[which]} -> ${w2}: ${((100 * moved) / MAGLEV_SIZE).toFixed(2)}% moved > ${(100 * bound).toFixed(2)}%`,
        );
      },
    ),
    { numRuns: 12 },
  );
});

test('the weighted table equals the reference, whatever the input order', () => {
  fc.assert(
    fc.property(
      fc
        .uniqueArray(u32, { minLength: 1, maxLength: 20 })
        .chain((ids) =>
          fc.tuple(
            fc.constant(ids),
            fc.array(fc.integer({ min: 0, max: 100 }), { minLength: ids.length, maxLength: ids.length }),
          ),
        ),
      ([ids, ws]) => {
        const ref = referenceMaglev(ids, MAGLEV_SIZE, ws);
        const asIds = (t: Uint32Array, order: number[]) =>
          Array.from(t, (s) => (s === SLOT_NONE ? -1 : order[s]!));
        assert.deepEqual(asIds(weighted(ids, ws), ids), [...ref]);
        const rev = [...ids].reverse();
        const revW = [...ws].reverse();
        const t = buildMaglevOf(
          rev,
          rev.map((_, i) => i),
          new Uint32Array(MAGLEV_SIZE),
          revW,
        );
        assert.deepEqual(asIds(t, rev), [...ref]);
      },
    ),
    { numRuns: 10 },
  );
});
