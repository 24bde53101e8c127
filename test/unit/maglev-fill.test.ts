// The fill of src/core/maglev.ts takes shortcuts (the tail of a table found through the inverse of
// each member's skip instead of probing, a radix sort of the pool's order): the table must
// stay exactly the plain algorithm's (test/lib/reference.ts, written from docs/semantics.md) for pools
// as large as an instance holds, in every order the control state may hand them over, weighted or
// not, and for other prime table sizes, where the tail is most of the table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAGLEV_SIZE, MAX_BACKENDS, SLOT_NONE } from '../../src/core/constants.js';
import { buildMaglevOf, inverseMod } from '../../src/core/maglev.js';
import { referenceMaglev } from '../lib/reference.js';
import { rng } from '../lib/rng.js';

/** The product's table for `ids` (ids[i] in slot i, weights[i]) as backend ids, -1 where empty. */
function productIds(ids: number[], size: number, weights?: number[]): number[] {
  const t = buildMaglevOf(
    ids,
    ids.map((_, i) => i),
    new Uint32Array(size),
    weights,
  );
  return Array.from(t, (s) => (s === SLOT_NONE ? -1 : ids[s]!));
}

function uniqueIds(n: number, next: () => number): number[] {
  const set = new Set<number>();
  while (set.size < n) set.add(next());
  return [...set];
}

/** The orders a pool reaches the fill in: ascending, one backend re-added last, reversed, shuffled. */
function orders(ids: number[], next: () => number): Array<[string, number[]]> {
  const asc = [...ids].sort((a, b) => a - b);
  const readded = [...asc.slice(0, 7), ...asc.slice(8), asc[7]!];
  const shuffled = [...asc];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return [
    ['ascending', asc],
    ['one re-added last', readded],
    ['reversed', [...asc].reverse()],
    ['shuffled', shuffled],
  ];
}

test('pools of up to 4,096 backends: the table equals the plain algorithm in any order', () => {
  const next = rng(0x5eed);
  for (const n of [MAX_BACKENDS, 1000, 300]) {
    const ids = uniqueIds(n, next);
    const ref = [...referenceMaglev(ids)];
    for (const [how, order] of orders(ids, next)) {
      assert.deepEqual(productIds(order, MAGLEV_SIZE), ref, `${n} backends, ${how}`);
    }
  }
});

test('weighted pools of up to 4,096 backends: the table equals the plain algorithm in any order', () => {
  const next = rng(0xfeed);
  for (const n of [MAX_BACKENDS, 500]) {
    const ids = uniqueIds(n, next);
    const weightOf = new Map(ids.map((id) => [id, next() % 101]));
    const ref = [
      ...referenceMaglev(
        ids,
        MAGLEV_SIZE,
        ids.map((id) => weightOf.get(id)!),
      ),
    ];
    for (const [how, order] of orders(ids, next)) {
      const weights = order.map((id) => weightOf.get(id)!);
      assert.deepEqual(productIds(order, MAGLEV_SIZE, weights), ref, `${n} weighted backends, ${how}`);
    }
  }
});

test('other prime table sizes (the tail is most of a small table): the plain algorithm, weighted or not', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(2, 3, 5, 7, 13, 31, 257, 1009, 4099),
      fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 60 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 0xffffffff }),
      (size, ids, weighted, seed) => {
        const next = rng(seed);
        const weights = weighted ? ids.map(() => next() % 101) : undefined;
        assert.deepEqual(productIds(ids, size, weights), [...referenceMaglev(ids, size, weights)]);
      },
    ),
    { numRuns: 200 },
  );
});

test('inverseMod: a * inverseMod(a) is 1 modulo the table size', () => {
  for (const m of [2, 3, 13, 65537]) {
    for (let a = 1; a < Math.min(m, 3000); a++) {
      const inv = inverseMod(a, m);
      assert.ok(inv > 0 && inv < m, `${a} mod ${m}`);
      assert.equal((a * inv) % m, 1, `${a} * ${inv} mod ${m}`);
    }
  }
});
