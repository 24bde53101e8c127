// The daemon's young-generation collections between changes (src/daemon/idle-gc.ts): once the change
// queue has drained and the answer has gone, it collects when what is left of the young generation
// would not hold the next change (twice the most a change was seen to allocate, 1 MiB at least).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GcFunction, IdleCollector } from '../../src/daemon/idle-gc.js';

const MiB = 1 << 20;
const turn = () => new Promise<void>((r) => setImmediate(r));

/** A collector over a young generation the test sets, and the collections it asked for. */
function fake(space: { used: number; free: number }) {
  const calls: Parameters<GcFunction>[0][] = [];
  const c = new IdleCollector(
    (o) => {
      calls.push(o);
      space.free += space.used;
      space.used = 0;
    },
    () => ({ ...space }),
  );
  return { c, calls, space };
}

test('collects the young generation only when the next change might not fit, once per idle turn', async () => {
  const { c, calls, space } = fake({ used: 0, free: 8 * MiB });
  c.changeStarted();
  space.used += 1.5 * MiB;
  space.free -= 1.5 * MiB;
  c.changeEnded();
  c.idle();
  await turn();
  assert.equal(calls.length, 0, '6.5 MiB free holds twice a change of 1.5 MiB');
  c.changeStarted();
  space.used += 3 * MiB;
  space.free -= 3 * MiB;
  c.changeEnded();
  c.idle();
  c.idle(); // a second idle before the first check is the same check
  await turn();
  assert.deepEqual(calls, [{ type: 'minor' }], '3.5 MiB free does not hold twice a change of 3 MiB');
  assert.equal(c.collections, 1);
  c.idle();
  await turn();
  assert.equal(calls.length, 1, 'after the collection the room is back');
});

test('a change during which V8 collected teaches nothing; a closed collector does nothing', async () => {
  const { c, calls, space } = fake({ used: 4 * MiB, free: 0.5 * MiB });
  c.changeStarted();
  space.used = MiB; // V8 collected meanwhile
  c.changeEnded();
  c.close();
  c.idle();
  await turn();
  assert.equal(calls.length, 0);
});

test('without a gc function the collector stands aside', async () => {
  const c = new IdleCollector(null);
  assert.equal(c.available, false);
  c.changeStarted();
  c.changeEnded();
  c.idle();
  await turn();
  assert.equal(c.collections, 0);
});

test("V8's own gc is reachable at run time in this Node, and a minor collection runs", async () => {
  // V8's gc, with a young generation that says it is full
  const c = new IdleCollector(undefined, () => ({ used: 4 * MiB, free: 0 }));
  assert.equal(c.available, true);
  c.idle();
  await turn();
  assert.equal(c.collections, 1);
  c.close();
});
