// Property-based fuzzing of lbdsrctl's pure grammar (no daemon): any list of words either parses into a
// request or a help request, or is refused with a UsageError; nothing else is thrown, and what comes out
// is usable (paths decode, bodies serialise, help renders, completion answers). One test runs bin/lbdsrctl
// on a stdin body that cannot be sent (it fails before contacting any daemon).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  candidates,
  helpText,
  type Parsed,
  paramList,
  paramsToBody,
  parseWords,
  UsageError,
} from '../../src/cli/grammar.js';
import { INSTANCE_NODE, type ResourceNode } from '../../src/daemon/schema.js';
import { ctl } from './helpers.js';

function segments(n: ResourceNode, out = new Set<string>()): Set<string> {
  out.add(n.segment);
  for (const c of n.children ?? []) segments(c, out);
  return out;
}

const KEYWORDS = ['lbdsr', 'add', 'del', 'show', 'set', '?', ...segments(INSTANCE_NODE)];
const PARAM_KEYS = [
  ...new Set([
    ...paramList(INSTANCE_NODE.schema).map((p) => p.key),
    'type',
    'peer',
    'vip',
    'mac',
    'id',
    'name',
    'limit',
    'sessions.timeouts.tcp',
    '__proto__',
    '__proto__.polluted',
    'constructor.prototype.polluted',
    'a..b',
    '.',
    '',
  ]),
];
const VALUES = [
  'FRONTEND',
  'hash_src_ip',
  '10.0.0.1',
  'aa:bb:cc:dd:ee:ff',
  '1',
  '-1',
  '1.5',
  '',
  '"q"',
  "'",
  '?',
];

const param: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...PARAM_KEYS), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 12 })))
  .map(([k, v]) => `${k}=${v}`);

const word: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYWORDS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('lb1', 'lb2', 'fp', 'bp', '1', '4294967296', '-1', '"lb1"', "'x'"),
  },
  { weight: 3, arbitrary: param },
  fc.constantFrom('', ' ', '=', '=v', 'k=', '"', "''", 'limit=5', 'limit=abc', '-json', '%', '%zz', '/'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

/** Real command shapes of the grammar (the seed's and the issue's), to be given k=v parameters. */
const COMMANDS: string[][] = [
  ['lbdsr', 'add', 'lb1'],
  ['lbdsr', 'lb1', 'set'],
  ['lbdsr', 'lb1', 'ports', 'add', 'fp'],
  ['lbdsr', 'lb1', 'ports', 'fp', 'set'],
  ['lbdsr', 'lb1', 'ports', 'fp', 'peer', 'set'],
  ['lbdsr', 'lb1', 'frontend', 'set'],
  ['lbdsr', 'lb1', 'frontend', 'vip', 'set'],
  ['lbdsr', 'lb1', 'backend', 'set'],
  ['lbdsr', 'lb1', 'backend', 'pool', 'add', '1'],
  ['lbdsr', 'lb1', 'backend', 'pool', '1', 'set'],
  ['lbdsr', 'lb1', 'sessions', 'set'],
  ['lbdsr', 'lb1', 'sessions', 'show'],
  ['lbdsr', 'lb1', 'algorithm', 'set'],
  ['lbdsr', 'lb1', 'stats', 'show'],
];
const commandShaped: fc.Arbitrary<string[]> = fc
  .record({
    cmd: fc.constantFrom(...COMMANDS),
    params: fc.array(param, { maxLength: 4 }),
    edits: fc.array(fc.tuple(fc.nat(), word, fc.boolean()), { maxLength: 2 }),
  })
  .map(({ cmd, params, edits }) => {
    const w = [...cmd, ...params];
    // replace or insert a word here and there
    for (const [i, x, insert] of edits) w.splice(i % (w.length + 1), insert ? 0 : 1, x);
    return w;
  });

/** Word lists: free-form, or starting like a real command so that the walk gets deep into the tree. */
const words: fc.Arbitrary<string[]> = fc.oneof(
  fc.array(word, { maxLength: 10 }),
  fc.array(word, { maxLength: 9 }).map((w) => ['lbdsr', ...w]),
  fc.array(word, { maxLength: 8 }).map((w) => ['lbdsr', 'lb1', ...w]),
  { weight: 3, arbitrary: commandShaped },
);

/** Whether Object.prototype got a 'polluted' property (removed again, so that shrinking stays honest). */
function polluted(): boolean {
  if (!Object.hasOwn(Object.prototype, 'polluted')) return false;
  delete (Object.prototype as Record<string, unknown>).polluted;
  return true;
}

/** Deeper runs on demand: LBDSR_FUZZ_SCALE=20 runs twenty times as many cases. */
const SCALE = Math.max(1, Number(process.env.LBDSR_FUZZ_SCALE) || 1);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Checks what a successful parse gives; throws on anything unusable. */
function checkParsed(p: Parsed): void {
  if (p.kind === 'help') {
    assert.ok(['node', 'add', 'set'].includes(p.context));
    const text = helpText(p, ['lb1']);
    assert.ok(typeof text === 'string' && text.trim().length > 0, 'help text is empty');
    return;
  }
  assert.equal(p.kind, 'request');
  assert.ok(METHODS.includes(p.method), p.method);
  assert.match(p.path, /^\/lbdsr\//);
  const [pathname, query] = p.path.split('?');
  for (const seg of pathname!.split('/')) decodeURIComponent(seg); // throws URIError if malformed
  if (query !== undefined) assert.match(query, /^limit=\d{1,7}$/);
  for (const k of p.params) assert.ok(k.indexOf('=') > 0, `param '${k}' is not key=value`);
  if (p.params.length) {
    const body = paramsToBody(p.params, p.schema);
    assert.equal(typeof JSON.stringify(body), 'string');
  }
}

/** Runs the grammar on `w`; returns 'usage' or the parse, and fails on any other outcome. */
function run(w: string[]): 'usage' | Parsed {
  let p: Parsed;
  try {
    p = parseWords(w);
  } catch (e) {
    assert.ok(e instanceof UsageError, `${JSON.stringify(w)} threw ${(e as Error)?.stack ?? e}`);
    assert.ok(e.message.trim().length > 0, 'empty usage message');
    return 'usage';
  }
  checkParsed(p);
  const c = candidates(w);
  assert.ok(Array.isArray(c.words) && c.words.every((s) => typeof s === 'string'));
  return p;
}

describe('CLI grammar fuzz', () => {
  test('regressions found by the fuzzer', () => {
    // a dotted key starting with __proto__ used to walk into Object.prototype and pollute it; it is now
    // an ordinary (unknown) key of the body, which the daemon refuses with LBDSR_UNKNOWN_KEY
    const body = paramsToBody(['__proto__.polluted=yes', 'algorithm=hash_src_ip'], INSTANCE_NODE.schema);
    assert.ok(!polluted(), 'Object.prototype was polluted');
    assert.equal(JSON.stringify(body), '{"__proto__":{"polluted":"yes"},"algorithm":"hash_src_ip"}');
    const flat = paramsToBody(['__proto__=x'], INSTANCE_NODE.schema);
    assert.equal(Object.getPrototypeOf(flat), Object.prototype);
    assert.equal(JSON.stringify(flat), '{"__proto__":"x"}');
  });

  test('regressions: help after set on a leaf or on a container without parameters', () => {
    // these used to throw a TypeError from the help table (no rows): lbdsrctl printed
    // "Cannot read properties of undefined (reading 'map')"
    const leaf = run(['lbdsr', 'lb1', 'frontend', 'vip', 'set', '?']);
    assert.ok(leaf !== 'usage' && leaf.kind === 'help');
    assert.match(helpText(leaf), /value: <string>/);
    const alg = run(['lbdsr', 'lb1', 'algorithm', 'set', '?']);
    assert.ok(alg !== 'usage' && alg.kind === 'help');
    assert.match(helpText(alg), /HASH_SESSION\|HASH_SRC_IP/);
    const backend = run(['lbdsr', 'lb1', 'backend', 'set', '?']);
    assert.ok(backend !== 'usage' && backend.kind === 'help');
    // its only list (pool) is left out; the health check's fields are its parameters
    assert.match(helpText(backend), /healthcheck\.type=<NONE\|TCP\|HTTP\|UDP\|ICMP>/);
    assert.doesNotMatch(helpText(backend), /pool=/);
    // and completion after `set` on a leaf offers its values
    assert.deepEqual(candidates(['lbdsr', 'lb1', 'algorithm', 'set']).words, ['HASH_SESSION', 'HASH_SRC_IP']);
  });

  test('random word lists: a parse or a UsageError, never anything else', () => {
    const started = Date.now();
    const outcomes = { usage: 0, request: 0, help: 0 };
    fc.assert(
      fc.property(words, (w) => {
        const r = run(w);
        outcomes[r === 'usage' ? 'usage' : r.kind]++;
        assert.ok(!polluted(), `${JSON.stringify(w)} polluted Object.prototype`);
      }),
      {
        numRuns: 20_000 * SCALE,
        interruptAfterTimeLimit: 15_000 * SCALE,
        markInterruptAsFailure: false,
        includeErrorInReport: true,
      },
    );
    console.log(`# CLI fuzz: ${JSON.stringify(outcomes)} in ${Date.now() - started} ms`);
    assert.ok(outcomes.request > 100 && outcomes.help > 100, JSON.stringify(outcomes));
  });
});

describe('lbdsrctl: a body on stdin that cannot be sent', () => {
  test('a YAML alias containing itself is a usage error on one line, not "daemon not reachable"', () => {
    // the body is refused before any request: the URL points at a loopback port nobody serves
    for (const [args, input] of [
      [['lbdsr', 'add', 'lb9'], 'x: &a [*a]\n'],
      [['lbdsr', 'lb1', 'set'], '&a [*a]\n'],
    ] as Array<[string[], string]>) {
      const r = ctl('http://127.0.0.1:9', args, input);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^lbdsrctl: the body on stdin is not valid YAML or JSON: .*circular/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
