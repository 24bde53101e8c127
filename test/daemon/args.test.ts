// lbdsrd's command line: both flag spellings, the defaults, and clear errors for what it does not take.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LbdsrError } from '../../src/core/errors.js';
import { parseDaemonArgs } from '../../src/daemon/main.js';

test('lbdsrd flags: defaults, --flag value and --flag=value', () => {
  assert.deepEqual(parseDaemonArgs([]), {
    host: '127.0.0.1',
    port: 9000,
    stateDir: '/var/lib/lbdsr',
    logLevel: 'info',
  });
  assert.deepEqual(
    parseDaemonArgs([
      '--listen',
      '[::1]:8080',
      '--state-dir=/tmp/s',
      '--log-level',
      'DEBUG',
      '--token-file=/t',
    ]),
    { host: '::1', port: 8080, stateDir: '/tmp/s', logLevel: 'debug', tokenFile: '/t' },
  );
});

test('lbdsrd flags: unknown options, missing values and bad values are refused with a code', () => {
  const fails = (argv: string[], code: string, mentions: RegExp) =>
    assert.throws(
      () => parseDaemonArgs(argv),
      (e: unknown) => e instanceof LbdsrError && e.code === code && mentions.test(e.message),
    );
  fails(['--bogus'], 'LBDSR_UNKNOWN_KEY', /--bogus[\s\S]*usage: lbdsrd/);
  fails(['--listen'], 'LBDSR_UNKNOWN_KEY', /--listen/);
  fails(['extra'], 'LBDSR_UNKNOWN_KEY', /extra/);
  fails(['--listen', '1.2.3.4:99999'], 'LBDSR_BAD_VALUE', /HOST:PORT/);
  fails(['--listen', '1.2.3.4'], 'LBDSR_BAD_VALUE', /HOST:PORT/);
  fails(['--log-level', 'loud'], 'LBDSR_BAD_VALUE', /trace, debug/);
});
