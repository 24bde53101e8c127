// The settings file lbdsrd and lbdsrctl share (src/cli/settings-format.ts, src/daemon/settings-file.ts,
// src/cli/settings.ts): its format, where it is found, flags winning over it, and what each program takes
// from it. The real processes reading one file: test/daemon/settings-file.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseOptions } from '../../src/cli/options.js';
import { clientUrl, parseSettings, SettingsError } from '../../src/cli/settings-format.js';
import { LbdsrError } from '../../src/core/errors.js';
import { parseDaemonArgs } from '../../src/daemon/main.js';
import { withSettingsFile } from '../../src/daemon/settings-file.js';

const dir = mkdtempSync(join(tmpdir(), 'lbdsr-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string, mode = 0o644): string {
  const p = join(dir, `lbdsr-${n++}.conf`);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

const code = (c: string, re: RegExp) => (e: unknown) =>
  e instanceof SettingsError && e.code === c && re.test(e.message);

test('the format: key = value, comments, quotes; every mistake named with its line', () => {
  const s = parseSettings('# lbdsr\n\nlisten = 0.0.0.0:9443\n  state-dir="/var/lib/x y"\n', 'f');
  assert.deepEqual(s, { listen: '0.0.0.0:9443', 'state-dir': '/var/lib/x y' });
  assert.throws(() => parseSettings('listen 1.2.3.4:1', 'f'), code('LBDSR_BAD_VALUE', /^f:1: .*key = value/));
  assert.throws(
    () => parseSettings('\nlisen = a:1', 'f'),
    code('LBDSR_UNKNOWN_KEY', /^f:2: unknown key 'lisen'/),
  );
  assert.throws(
    () => parseSettings('url = a\nurl = b', 'f'),
    code('LBDSR_BAD_VALUE', /f:2: 'url' is set twice/),
  );
  assert.throws(() => parseSettings('url =', 'f'), code('LBDSR_BAD_VALUE', /has no value/));
});

test('a client reaches a wildcard listen address through the loopback', () => {
  assert.equal(clientUrl('0.0.0.0:9000', false, 'f'), 'http://127.0.0.1:9000');
  assert.equal(clientUrl('[::]:9000', true, 'f'), 'https://[::1]:9000');
  assert.equal(clientUrl('10.1.2.3:80', false, 'f'), 'http://10.1.2.3:80');
  assert.equal(clientUrl('[fe80::1]:80', false, 'f'), 'http://[fe80::1]:80');
  assert.throws(() => clientUrl('nope', false, 'f'), /listen 'nope' is not HOST:PORT/);
});

test('lbdsrd: the file gives the flags, the command line wins', () => {
  const f = file('listen = 127.0.0.2:9100\nstate-dir = /tmp/s\nlog-level = warn\nurl = http://x:1\n');
  const a = parseDaemonArgs(withSettingsFile(['--config', f], {}));
  assert.deepEqual([a.host, a.port, a.stateDir, a.logLevel], ['127.0.0.2', 9100, '/tmp/s', 'warn']);
  const b = parseDaemonArgs(withSettingsFile([`--config=${f}`, '--listen', '127.0.0.3:1'], {}));
  assert.deepEqual([b.host, b.port, b.stateDir], ['127.0.0.3', 1, '/tmp/s']);
  const c = parseDaemonArgs(withSettingsFile(['--log-level', 'error'], { LBDSR_CONFIG: f }));
  assert.deepEqual([c.port, c.logLevel], [9100, 'error']);
  // LBDSR_CONFIG empty: no file at all, the defaults
  assert.equal(parseDaemonArgs(withSettingsFile([], { LBDSR_CONFIG: '' })).port, 9000);
  // a bad value in the file is refused as the flag would be
  const unknown = file('lisen = 127.0.0.1:1\n');
  assert.throws(
    () => withSettingsFile(['--config', unknown], {}),
    (e) => e instanceof LbdsrError && e.code === 'LBDSR_UNKNOWN_KEY' && e.cause instanceof SettingsError,
  );
  const bad = file('listen = nowhere\n');
  assert.throws(() => parseDaemonArgs(withSettingsFile(['--config', bad], {})), /--listen 'nowhere'/);
});

test('lbdsrd: a named file must exist and must not be writable by group or others', () => {
  assert.throws(
    () => withSettingsFile(['--config', join(dir, 'absent.conf')], {}),
    /cannot read the settings file/,
  );
  assert.throws(() => withSettingsFile([], { LBDSR_CONFIG: join(dir, 'absent.conf') }), /cannot read/);
  const open = file('listen = 127.0.0.1:1\n', 0o666);
  assert.throws(() => withSettingsFile(['--config', open], {}), /mode 0666, writable by group or others/);
  assert.throws(() => withSettingsFile(['--config'], {}), /--config needs a value/);
});

test('lbdsrctl: URL and token from the file, below flags and the environment', () => {
  const token = file('t0k\n', 0o600);
  const f = file(`listen = 0.0.0.0:9443\ntoken-file = ${token}\nstate-dir = /ignored\n`);
  const o = parseOptions(['--config', f, 'lbdsr', 'show'], {});
  assert.deepEqual([o.url, o.token, o.words], ['http://127.0.0.1:9443', 't0k', ['lbdsr', 'show']]);
  assert.equal(parseOptions([], { LBDSR_CONFIG: f }).url, 'http://127.0.0.1:9443');
  assert.equal(parseOptions([], { LBDSR_CONFIG: f, LBDSR_URL: 'http://e:2' }).url, 'http://e:2');
  assert.equal(parseOptions(['--url', 'http://f:3'], { LBDSR_CONFIG: f }).url, 'http://f:3');
  assert.equal(parseOptions([], { LBDSR_CONFIG: f, LBDSR_TOKEN: 'env' }).token, 'env');
  const tls = file('listen = 10.0.0.1:9443\ntls-cert = /etc/lbdsr/cert.pem\ntls-key = /k\n');
  assert.equal(parseOptions([], { LBDSR_CONFIG: tls }).url, 'https://10.0.0.1:9443');
  const named = file('listen = 0.0.0.0:9443\nurl = https://lb1.example:9443\n');
  assert.equal(parseOptions([], { LBDSR_CONFIG: named }).url, 'https://lb1.example:9443');
  assert.throws(() => parseOptions(['--config', join(dir, 'absent.conf')], {}), /cannot read the settings/);
});
