// The product's jhash2 and Maglev print, line for line, what the C oracle (test/vectors/tools/
// known-values.c) printed into the committed known-values.out. CI rebuilds the C program and checks
// that its output still equals that file (scripts/check-known-values.sh).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REPO } from '../../testkit/paths.js';
import { flowHash, referencePick } from '../lib/reference.js';
import { key6 } from '../vectors/generate.js';
import { knownValues } from '../vectors/tools/known-values.js';

test('the TypeScript jhash2 and Maglev print exactly the C oracle output', () => {
  const oracle = readFileSync(`${REPO}test/vectors/tools/known-values.out`, 'utf8');
  assert.equal(oracle.trim().split('\n').length, 22, 'the committed oracle output is there');
  assert.equal(knownValues(), oracle);
});

test('the reference model hashes an IPv6 key as the C oracle does (10 words, 4 for HASH_SRC_IP)', () => {
  const oracle = readFileSync(`${REPO}test/vectors/tools/known-values.out`, 'utf8');
  const line = (prefix: string) => oracle.split('\n').find((l) => l.startsWith(prefix)) ?? '';
  const k = key6('2001:db8::1', 12345, 80, 6, 'fd00::100');
  const session = /hash=(0x[0-9a-f]+) idx=\d+ backend=(\d+)/.exec(line('flow6 tcp'));
  const src = /hash=(0x[0-9a-f]+) idx=\d+ backend=(\d+)/.exec(line('srcip6 '));
  assert.ok(session && src, 'the oracle prints the IPv6 lines');
  assert.equal(flowHash(k, 'HASH_SESSION'), Number(session[1]));
  assert.equal(flowHash(k, 'HASH_SRC_IP'), Number(src[1]));
  assert.equal(referencePick([1, 2, 3], 'HASH_SESSION', k), Number(session[2]));
  assert.equal(referencePick([1, 2, 3], 'HASH_SRC_IP', k), Number(src[2]));
});
