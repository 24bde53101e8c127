// lbdsrctl's output into a pipe that its reader closes early (`lbdsrctl ... show -yaml | head`): the
// command ends quietly instead of printing an EPIPE stack trace. The output is made larger than a pipe's
// buffer (4,096 backends, set in one command from a JSON body on stdin) so that the write must fail.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ctl, type Daemon, sh, startDaemon, tempDir } from './helpers.js';

describe('lbdsrctl into a closed pipe', () => {
  const state = tempDir('cli-pipe');
  let d: Daemon;
  before(async () => {
    d = await startDaemon(state.dir);
  });
  after(async () => {
    await d?.stop();
    state.cleanup();
  });

  test('a large -yaml show piped into head -c 1 prints no error', () => {
    assert.equal(ctl(d.url, ['lbdsr', 'add', 'lb1']).code, 0);
    const pool = Array.from({ length: 4096 }, (_, i) => ({
      id: i + 1,
      mac: `02:00:00:00:${(((i + 1) >> 8) & 0xff).toString(16).padStart(2, '0')}:${((i + 1) & 0xff).toString(16).padStart(2, '0')}`,
    }));
    const set = ctl(d.url, ['lbdsr', 'lb1', 'backend', 'set'], JSON.stringify({ pool }));
    assert.equal(set.code, 0, set.stderr);
    const body = join(state.dir, 'out.yaml');
    const full = sh(d.url, `lbdsrctl lbdsr lb1 show -yaml > "${body}"`);
    assert.equal(full.code, 0, full.stderr);
    assert.ok(statSync(body).size > 1 << 16, 'the output is larger than a pipe buffer');
    const r = sh(d.url, 'set -o pipefail; lbdsrctl lbdsr lb1 show -yaml | head -c 1');
    assert.equal(r.stdout, 'n');
    assert.equal(r.stderr, '', 'no EPIPE trace');
    assert.equal(r.code, 0);
  });
});
