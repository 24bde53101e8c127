// The bounded LRU session table (src/pipeline/session-table.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SessionTable } from '../../src/pipeline/session-table.js';

type Row = [number, number, number, number, number, number, number, number];
function rows(t: SessionTable, limit?: number): Row[] {
  const out: Row[] = [];
  t.forEach((...r) => {
    out.push(r);
  }, limit);
  return out;
}

test('insert, find, touch, retarget and remove', () => {
  const P = ((40000 << 16) | 80) >>> 0; // ports word as the pipeline passes it: uint32
  const t = new SessionTable(10);
  assert.equal(t.find(1, 2, 3, 6), -1);
  const e = t.insert(1, 2, P, 6, 77, 3, 1000);
  assert.equal(t.find(1, 2, P, 6), e);
  assert.equal(t.find(1, 2, P, 17), -1, 'protocol is part of the key');
  assert.equal(t.find(1, 3, P, 6), -1);
  assert.equal(t.backendIdAt(e), 77);
  assert.equal(t.slotAt(e), 3);
  assert.equal(t.lastSeenAt(e), 1000);
  t.touch(e, 2500);
  assert.equal(t.lastSeenAt(e), 2500);
  t.retarget(e, 0xffffffff, 4095, 3000);
  assert.equal(t.backendIdAt(e), 0xffffffff);
  assert.equal(t.slotAt(e), 4095);
  assert.deepEqual(rows(t), [[1, 2, 40000, 80, 6, 0xffffffff, 4095, 3000]]);
  assert.equal(t.count, 1);
  t.remove(e);
  assert.equal(t.count, 0);
  assert.equal(t.find(1, 2, P, 6), -1);
  const e2 = t.insert(5, 6, 7, 1, 1, 0, 1);
  assert.equal(e2, e, 'a removed entry is reused');
  t.clear();
  assert.equal(t.count, 0);
  assert.deepEqual(rows(t), []);
});

test('full table evicts the least recently used entry and counts it', () => {
  const t = new SessionTable(3);
  t.insert(1, 0, 0, 6, 1, 0, 1);
  t.insert(2, 0, 0, 6, 1, 0, 2);
  t.insert(3, 0, 0, 6, 1, 0, 3);
  t.touch(t.find(1, 0, 0, 6), 4); // 1 is now the most recent; 2 the least
  t.insert(4, 0, 0, 6, 1, 0, 5);
  assert.equal(t.evictions, 1);
  assert.equal(t.count, 3);
  assert.equal(t.find(2, 0, 0, 6), -1, '2 evicted');
  assert.deepEqual(
    rows(t).map((r) => r[0]),
    [4, 1, 3],
    'forEach walks from most to least recently used',
  );
  assert.deepEqual(
    rows(t, 2).map((r) => r[0]),
    [4, 1],
  );
});

test('storage grows past the initial size and keeps every entry findable', () => {
  const t = new SessionTable(50_000);
  for (let i = 0; i < 20_000; i++) t.insert(i, 7, i & 0xffff, 17, i, i % 4096, i);
  assert.equal(t.count, 20_000);
  for (let i = 0; i < 20_000; i += 997) {
    const e = t.find(i, 7, i & 0xffff, 17);
    assert.ok(e >= 0, `entry ${i}`);
    assert.equal(t.backendIdAt(e), i);
  }
  assert.equal(t.evictions, 0);
});

test('capacity must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new SessionTable(bad), RangeError);
});

test('behaves like a model LRU map under random operations', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.tuple(fc.constantFrom('ins', 'touch', 'rm'), fc.integer({ min: 0, max: 12 })), {
        maxLength: 200,
      }),
      (cap, ops) => {
        const t = new SessionTable(cap);
        const model = new Map<number, number>(); // key -> backend, in LRU order (oldest first)
        let evicted = 0;
        let clock = 0;
        for (const [op, k] of ops) {
          clock++;
          const e = t.find(k, 1, 2, 6);
          assert.equal(e >= 0, model.has(k));
          if (op === 'ins' && e < 0) {
            if (model.size >= cap) {
              model.delete(model.keys().next().value!);
              evicted++;
            }
            t.insert(k, 1, 2, 6, clock, 0, clock);
            model.set(k, clock);
          } else if (op === 'touch' && e >= 0) {
            t.touch(e, clock);
            const v = model.get(k)!;
            model.delete(k);
            model.set(k, v);
          } else if (op === 'rm' && e >= 0) {
            t.remove(e);
            model.delete(k);
          }
          assert.ok(t.count <= cap);
        }
        assert.equal(t.count, model.size);
        assert.equal(t.evictions, evicted);
        assert.deepEqual(
          rows(t).map((r) => [r[0], r[5]]),
          [...model.entries()].reverse(),
        );
      },
    ),
    { numRuns: 300 },
  );
});
