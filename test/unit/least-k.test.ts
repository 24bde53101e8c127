// LeastK keeps the k smallest keys of a stream (the XDP sessions listing: the least idle sessions of
// the kernel table). Checked against sorting the whole stream, on random streams with ties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeastK } from '../../src/dataplane/xdp/least-k.js';
import { rng } from '../lib/rng.js';

const num = (a: number, b: number) => a - b;

test('keeps the k smallest keys of a stream, smallest first, whatever the order of arrival', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const n = r() % 300;
    const k = r() % 40;
    const keys = Array.from({ length: n }, () => r() % 100); // many ties
    const top = new LeastK<number, number>(k, num);
    for (const [i, key] of keys.entries()) top.offer(key, i);
    const got = top.sorted();
    const want = [...keys].sort(num).slice(0, k);
    assert.deepEqual(
      got.map((e) => e.key),
      want,
      `seed ${seed}`,
    );
    // Every kept value is the index of an entry that had that key.
    for (const e of got) assert.equal(keys[e.value], e.key);
    assert.equal(top.size, Math.min(k, n));
  }
});

test('admits() says whether offer() would keep the entry, so callers build only kept entries', () => {
  const top = new LeastK<bigint, string>(2, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(top.admits(50n), true);
  top.offer(50n, 'a');
  top.offer(10n, 'b');
  assert.equal(top.admits(60n), false, 'full, and larger than every kept key');
  assert.equal(top.admits(50n), false, 'a tie with the largest kept key does not replace it');
  assert.equal(top.admits(20n), true);
  top.offer(60n, 'c');
  top.offer(20n, 'd');
  assert.deepEqual(
    top.sorted().map((e) => e.value),
    ['b', 'd'],
  );
});

test('a limit of zero (or less) keeps nothing', () => {
  for (const limit of [0, -3]) {
    const top = new LeastK<number, number>(limit, num);
    top.offer(1, 1);
    assert.equal(top.admits(0), false);
    assert.deepEqual(top.sorted(), []);
  }
});
