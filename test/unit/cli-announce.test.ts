// `lbdsrctl lbdsr NAME frontend announce [count=N]`: an action node of the resource tree becomes a POST
// of its k=v parameters (integers coerced by the schema), with `?` help and completion of its parameters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidates, helpText, paramsToBody, parseWords } from '../../src/cli/grammar.js';

test('frontend announce is a POST of its parameters', () => {
  const p = parseWords(['lbdsr', 'lb1', 'frontend', 'announce', 'count=2']);
  assert.equal(p.kind, 'request');
  if (p.kind !== 'request') return;
  assert.equal(p.method, 'POST');
  assert.equal(p.path, '/lbdsr/lb1/frontend/announce/');
  assert.deepEqual(paramsToBody(p.params, p.schema), { count: 2 });
  const bare = parseWords(['lbdsr', 'lb1', 'frontend', 'announce']);
  assert.ok(bare.kind === 'request' && bare.method === 'POST' && bare.params.length === 0);
  assert.throws(() => parseWords(['lbdsr', 'lb1', 'frontend', 'announce', 'now']), /not key=value/);
});

test('frontend announce has help and completion', () => {
  const h = parseWords(['lbdsr', 'lb1', 'frontend', 'announce', '?']);
  assert.equal(h.kind, 'help');
  if (h.kind !== 'help') return;
  assert.match(helpText(h), /count=<integer>/);
  assert.ok(candidates(['lbdsr', 'lb1', 'frontend']).words.includes('announce'));
  assert.deepEqual(candidates(['lbdsr', 'lb1', 'frontend', 'announce']).words, ['count=']);
});
