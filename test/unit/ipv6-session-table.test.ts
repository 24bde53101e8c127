// The IPv6 variant of the session table (10-word keys: src0..3, dst0..3, ports, proto) and of the fragment
// table (src0..3, dst0..3, 32-bit identification, proto): every word is part of the key, eviction is LRU,
// a capacity change keeps the most recent entries (docs/semantics.md, "IPv6": tables of their own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FragmentTable } from '../../src/pipeline/fragments.js';
import { KEY_WORDS_V6, SessionTable } from '../../src/pipeline/session-table.js';

function key6(n: number, last = 0): Uint32Array {
  // fd00::n -> fd00::100, TCP port 40000 -> 80; `last` varies one word at a time
  return Uint32Array.from([
    0xfd000000,
    0,
    0,
    n,
    0xfd000000,
    0,
    0,
    0x100,
    ((40000 << 16) | 80) >>> 0,
    6 + last,
  ]);
}

function sources(t: SessionTable): number[] {
  const out: number[] = [];
  t.forEachEntry((e) => out.push(t.keyWordAt(e, 3)));
  return out;
}

test('an IPv6 key is found by all its ten words and no fewer', () => {
  const t = new SessionTable(16, { words: KEY_WORDS_V6, seed: 1 });
  const k = key6(0x21);
  const e = t.insertKey(k, 0xfffffffe, 7, 1000);
  assert.equal(t.findKey(key6(0x21)), e);
  assert.equal(t.backendIdAt(e), 0xfffffffe);
  assert.equal(t.slotAt(e), 7);
  assert.equal(t.lastSeenAt(e), 1000);
  for (let w = 0; w < KEY_WORDS_V6; w++) {
    const other = key6(0x21);
    other[w] = other[w]! ^ 1;
    assert.equal(t.findKey(other), -1, `word ${w} is part of the key`);
  }
  assert.throws(() => t.find(1, 2, 3, 6), RangeError, 'number keys are IPv4 keys');
  assert.throws(() => new SessionTable(4, { words: 5 }), RangeError);
});

test('a full IPv6 table evicts the least recently used; a smaller capacity keeps the most recent', () => {
  const t = new SessionTable(3, { words: KEY_WORDS_V6 });
  for (let n = 1; n <= 3; n++) t.insertKey(key6(n), n, n, n);
  t.touch(t.findKey(key6(1)), 10);
  t.insertKey(key6(4), 4, 4, 11);
  assert.equal(t.evictions, 1);
  assert.equal(t.findKey(key6(2)), -1, 'the least recently used went');
  assert.deepEqual(sources(t), [4, 1, 3]);
  const small = t.withCapacity(2);
  assert.deepEqual(sources(small), [4, 1]);
  assert.equal(small.words, KEY_WORDS_V6);
  assert.equal(small.evictions, 1, 'a resize is not an eviction');
  assert.equal(small.lastSeenAt(small.findKey(key6(1))), 10);
});

test('an IPv6 table grows past its first allocation and keeps every entry', () => {
  const t = new SessionTable(5000, { words: KEY_WORDS_V6 });
  for (let n = 0; n < 5000; n++) t.insertKey(key6(n), n, n & 4095, n);
  assert.equal(t.count, 5000);
  for (let n = 0; n < 5000; n += 97) assert.equal(t.backendIdAt(t.findKey(key6(n))), n);
  assert.equal(t.evictions, 0);
});

test('the IPv6 fragment table keys on the 32-bit identification', () => {
  const f = new FragmentTable(8, 2000, KEY_WORDS_V6);
  const set = (id: number) => {
    f.key.set([0xfd000000, 0, 0, 1, 0xfd000000, 0, 0, 0x100, id, 17]);
  };
  const out = new Uint32Array(1);
  const ports = Uint32Array.of(((5000 << 16) | 53) >>> 0);
  set(0x80000001);
  f.learnFrom(ports, 0, 100);
  set(0x00000001);
  assert.equal(f.lookupInto(out, 0, 200), false, 'ids differing above 16 bits are other datagrams');
  set(0x80000001);
  assert.equal(f.lookupInto(out, 0, 2100), true);
  assert.equal(out[0], ports[0]);
  assert.equal(f.lookupInto(out, 0, 2101), false, 'older than the timeout');
});
