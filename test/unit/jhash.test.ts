// jhash2 must be bit-exact with the kernel's (the XDP program hashes the same words). The expected
// values were printed once by test/vectors/tools/known-values.c, a C build of the kernel's
// include/linux/jhash.h algorithm compiled with gcc; they are hard-coded here on purpose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { JHASH_INITVAL, jhash2 } from '../../src/core/jhash.js';

function h(words: number[], initval: number): number {
  return jhash2(Uint32Array.from(words), 0, words.length, initval);
}

test('jhash2 matches values computed by the C build of the kernel algorithm', () => {
  assert.equal(JHASH_INITVAL, 0xdeadbeef);
  assert.equal(h([], 0), 0xdeadbeef);
  assert.equal(h([parseIpv4('10.0.0.1')], 0), 0x3483bc84);
  assert.equal(h([0], 0), 0x049396b8);
  assert.equal(h([0], 1), 0xd9a91087);
  const tcp = [parseIpv4('10.0.0.1'), parseIpv4('10.0.0.100'), ((12345 << 16) | 80) >>> 0, 6];
  assert.equal(h(tcp, 0), 0x2b3c70e8);
  assert.equal(h([1, 2, 3], 0), 0xa46158f5);
  assert.equal(h([1, 2, 3, 4, 5, 6], 0), 0xe3e36b25);
  assert.equal(h([0xffffffff, 0x80000000, 0x7fffffff, 0, 1, 0xdeadbeef, 0x12345678], 0x01020304), 0x4f54f7e1);
});

test('jhash2 reads `length` words from `off` and nothing else', () => {
  const buf = Uint32Array.from([99, 99, parseIpv4('10.0.0.1'), 77]);
  assert.equal(jhash2(buf, 2, 1, 0), 0x3483bc84);
});

test('Maglev permutation seeds (jhash2 of the id with the Maglev initvals) match the C oracle', () => {
  const M = 65537;
  const cases: [number, number, number][] = [
    [0, 49599, 9429],
    [1, 28844, 39113],
    [2, 41806, 35536],
    [3, 60863, 13023],
    [0xffffffff, 21715, 35806],
  ];
  for (const [id, offset, skip] of cases) {
    assert.equal(h([id], 0x4d41474c) % M, offset, `offset of ${id}`);
    assert.equal((h([id], 0x45563031) % (M - 1)) + 1, skip, `skip of ${id}`);
  }
});

test('jhash2 always returns a uint32', () => {
  for (let i = 0; i < 1000; i++) {
    const v = h([i * 2654435761, i], i);
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});
