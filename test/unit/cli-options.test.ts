// Option parsing of lbdsrctl (src/cli/options.ts) and lbdsrd (parseDaemonArgs in src/daemon/main.ts), both
// on node:util parseArgs: options anywhere among the grammar's words, polycubectl's single-dash -json and
// -yaml, and one clear message for each kind of bad input.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../src/cli/grammar.js';
import { DEFAULT_URL, parseOptions } from '../../src/cli/options.js';
import { LbdsrError } from '../../src/core/errors.js';
import { parseDaemonArgs } from '../../src/daemon/main.js';

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

test('lbdsrctl: options come anywhere and leave the words in order', () => {
  const o = parseOptions(['lbdsr', 'lb1', 'show', '-json', '--url', 'http://10.1.1.1:9000/'], {});
  assert.deepEqual(o.words, ['lbdsr', 'lb1', 'show']);
  assert.equal(o.format, 'json');
  assert.equal(o.url, 'http://10.1.1.1:9000');
  assert.equal(parseOptions(['--yaml', 'lbdsr', 'show'], {}).format, 'yaml');
  assert.equal(parseOptions(['lbdsr', 'show', '-yaml'], {}).format, 'yaml');
  assert.equal(parseOptions(['--url=http://h:1', 'lbdsr'], {}).url, 'http://h:1');
  const params = parseOptions(['lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=01:01:01:01:01:01'], {});
  assert.deepEqual(params.words, ['lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=01:01:01:01:01:01']);
  assert.equal(params.format, 'human');
});

test('lbdsrctl: -plan (or --plan) anywhere makes a change a dry run and leaves the words', () => {
  const o = parseOptions(['lbdsr', 'lb1', 'backend', 'pool', 'del', '2', '-plan'], {});
  assert.equal(o.plan, true);
  assert.deepEqual(o.words, ['lbdsr', 'lb1', 'backend', 'pool', 'del', '2']);
  assert.equal(parseOptions(['--plan', 'lbdsr', 'lb1', 'set', 'algorithm=HASH_SRC_IP'], {}).plan, true);
  assert.equal(parseOptions(['lbdsr', 'lb1', 'set', 'algorithm=HASH_SRC_IP'], {}).plan, false);
  assert.throws(() => parseOptions(['lbdsr', '--plan=yes'], {}), usage(/takes no value/));
});

test('lbdsrctl: help by -h, --help or the word help', () => {
  for (const a of ['-h', '--help', 'help']) assert.equal(parseOptions(['lbdsr', a], {}).help, true, a);
  assert.equal(parseOptions(['lbdsr', 'show'], {}).help, false);
});

test('lbdsrctl: the environment gives the defaults, flags win', () => {
  assert.equal(parseOptions([], {}).url, DEFAULT_URL);
  assert.equal(parseOptions([], { LBDSR_URL: 'http://e:2' }).url, 'http://e:2');
  assert.equal(parseOptions(['--url', 'http://f:3'], { LBDSR_URL: 'http://e:2' }).url, 'http://f:3');
  assert.equal(parseOptions([], { LBDSR_TOKEN: 's3cret' }).token, 's3cret');
  const dir = mkdtempSync(join(tmpdir(), 'lbdsr-opts-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    assert.equal(parseOptions(['--token-file', file], { LBDSR_TOKEN: 'env' }).token, 'from-file');
    assert.equal(parseOptions([], { LBDSR_TOKEN_FILE: file }).token, 'from-file');
    assert.throws(() => parseOptions(['--token-file', join(dir, 'none')], {}), usage(/token file.*ENOENT/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lbdsrctl: bad options are usage errors that name the option', () => {
  assert.throws(() => parseOptions(['lbdsr', 'show', '--bogus'], {}), usage(/^unknown option '--bogus'$/));
  assert.throws(() => parseOptions(['lbdsr', '-bogus'], {}), usage(/^unknown option '-bogus'$/));
  assert.throws(() => parseOptions(['lbdsr', 'pool', 'add', '-1'], {}), usage(/^unknown option '-1'$/));
  assert.throws(() => parseOptions(['lbdsr', 'show', '--url'], {}), usage(/^--url needs a value$/));
  assert.throws(() => parseOptions(['--json=yes'], {}), usage(/^--json takes no value$/));
  assert.throws(
    () => parseOptions(['--url', 'localhost:9000'], {}),
    usage(/'localhost:9000' is not an http/),
  );
  assert.throws(() => parseOptions([], { LBDSR_URL: 'nonsense' }), usage(/'nonsense'.*LBDSR_URL/));
});

const bad = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof LbdsrError && e.code === code && re.test(e.message);

test('lbdsrd: defaults, both spellings of a value, IPv6 listen addresses', () => {
  assert.deepEqual(parseDaemonArgs([]), {
    host: '127.0.0.1',
    port: 9000,
    stateDir: '/var/lib/lbdsr',
    logLevel: 'info',
  });
  assert.deepEqual(
    parseDaemonArgs([
      '--listen=[::1]:9100',
      '--state-dir',
      '/tmp/s',
      '--log-level',
      'WARN',
      '--token-file=/t',
    ]),
    { host: '::1', port: 9100, stateDir: '/tmp/s', logLevel: 'warn', tokenFile: '/t' },
  );
});

test('lbdsrd: bad flags name what was wrong (with the usage for an unknown one)', () => {
  assert.throws(
    () => parseDaemonArgs(['--bogus']),
    bad('LBDSR_UNKNOWN_KEY', /^unknown option '--bogus'\nusage: lbdsrd/),
  );
  assert.throws(() => parseDaemonArgs(['stray']), bad('LBDSR_UNKNOWN_KEY', /^unknown option 'stray'/));
  assert.throws(
    () => parseDaemonArgs(['--state-dir']),
    bad('LBDSR_BAD_VALUE', /^--state-dir needs a value$/),
  );
  assert.throws(
    () => parseDaemonArgs(['--listen', '1.2.3.4']),
    bad('LBDSR_BAD_VALUE', /'1\.2\.3\.4' is not HOST:PORT/),
  );
  assert.throws(() => parseDaemonArgs(['--listen', 'h:70000']), bad('LBDSR_BAD_VALUE', /not HOST:PORT/));
  assert.throws(
    () => parseDaemonArgs(['--log-level', 'loud']),
    bad('LBDSR_BAD_VALUE', /must be one of trace/),
  );
  for (const v of ['-21', '20', 'high', '1.5', ''])
    assert.throws(() => parseDaemonArgs([`--nice=${v}`]), bad('LBDSR_BAD_VALUE', /--nice .* -20\.\.19/), v);
});

test('lbdsrd: --nice takes a priority, negative ones too', () => {
  assert.equal(parseDaemonArgs(['--nice', '-10']).nice, -10);
  assert.equal(parseDaemonArgs(['--nice=19']).nice, 19);
  assert.equal(parseDaemonArgs([]).nice, undefined);
});
