// The product's jhash2 and Maglev print, line for line, what the C oracle (test/vectors/tools/
// known-values.c) printed into the committed known-values.out. CI rebuilds the C program and checks
// that its output still equals that file (scripts/check-known-values.sh).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REPO } from '../../testkit/paths.js';
import { knownValues } from '../vectors/tools/known-values.js';

test('the TypeScript jhash2 and Maglev print exactly the C oracle output', () => {
  const oracle = readFileSync(`${REPO}test/vectors/tools/known-values.out`, 'utf8');
  assert.equal(oracle.trim().split('\n').length, 19, 'the committed oracle output is there');
  assert.equal(knownValues(), oracle);
});
