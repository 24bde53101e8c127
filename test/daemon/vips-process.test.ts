// lbdsrd's announcement hooks as a process (no root, no instance): the settings-file keys
// `announce-file` and `announce-command` work like the flags (the file is written empty at start, the
// command run with an empty LBDSR_VIPS), SIGTERM runs the command again before the daemon exits (the
// withdrawal), and a daemon that cannot write its announce file does not start. The hooks with
// reachable VIPs are in vips.test.ts (in-process) and test/e2e/announce-vips.test.ts (real planes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mustWaitFor } from '../../testkit/timing.js';
import { LBDSRD, startDaemon, tempDir } from './helpers.js';

test('announce-file and announce-command from the settings file; SIGTERM withdraws', async (t) => {
  const tmp = tempDir('vips-process');
  t.after(() => tmp.cleanup());
  const file = join(tmp.dir, 'vips');
  const log = join(tmp.dir, 'hook.log');
  const hook = join(tmp.dir, 'hook.cjs');
  writeFileSync(
    hook,
    `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify([process.env.LBDSR_VIPS, process.env.LBDSR_ANNOUNCE_FILE]) + '\\n');\n`,
  );
  const conf = join(tmp.dir, 'lbdsr.conf');
  writeFileSync(conf, `announce-file = ${file}\nannounce-command = "${process.execPath} ${hook}"\n`);
  chmodSync(conf, 0o600);
  const runs = () => readFileSync(log, 'utf8').trim().split('\n');
  const d = await startDaemon(join(tmp.dir, 'state'), undefined, ['--config', conf]);
  try {
    assert.equal(readFileSync(file, 'utf8'), '');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    await mustWaitFor('the command ran at start', async () => {
      try {
        return runs().length === 1;
      } catch {
        return false;
      }
    });
    assert.deepEqual(JSON.parse(runs()[0] ?? ''), ['', file]);
    assert.equal(await d.stop(), 0);
    assert.deepEqual(
      runs().map((l) => JSON.parse(l)),
      [
        ['', file],
        ['', file],
      ],
    );
  } finally {
    await d.dispose();
  }
});

test('a daemon that cannot write its announce file does not start, and says why', () => {
  const tmp = tempDir('vips-nofile');
  try {
    const file = join(tmp.dir, 'no', 'such', 'dir', 'vips');
    const r = spawnSync(
      process.execPath,
      [LBDSRD, '--listen', '127.0.0.1:0', '--state-dir', join(tmp.dir, 'state'), '--announce-file', file],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LBDSR_CONFIG: '' } },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^lbdsrd: cannot write the announce file .*\/no\/such\/dir\/vips: ENOENT/);
    const empty = spawnSync(process.execPath, [LBDSRD, '--announce-command', ' '], { encoding: 'utf8' });
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /--announce-command is empty/);
  } finally {
    tmp.cleanup();
  }
});
