// lbdsrd --nice N: the daemon's threads get the priority; the session's autogroup (where the kernel
// groups a session's processes) gets it only when lbdsrd leads its session (a systemd service, a
// detached start), never the session of the terminal it was started from.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, startDaemon } from '../../testkit/daemon.js';
import { LBDSRD } from '../../testkit/paths.js';
import { mustWaitFor } from '../../testkit/timing.js';

const AUTOGROUP = existsSync('/proc/self/autogroup');
const skip = AUTOGROUP ? false : 'this kernel has no autogroup (/proc/self/autogroup)';

/** The nice value of an autogroup line, "/autogroup-123 nice 0". */
const groupNice = (pid: number | 'self') =>
  Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
/** A thread's nice value: /proc/PID/stat field 19 (the 17th after comm). */
const threadNice = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]);
};

test('lbdsrd --nice in the caller session: its threads get the priority, the caller session does not', {
  skip,
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lbdsr-nice-'));
  const before = groupNice('self');
  const port = await freePort();
  const p = spawn(
    process.execPath,
    [LBDSRD, '--listen', `127.0.0.1:${port}`, '--state-dir', dir, '--nice', '7'],
    {
      stdio: 'ignore',
    },
  );
  try {
    await mustWaitFor(
      'lbdsrd answers',
      async () => (await fetch(`http://127.0.0.1:${port}/polycube/v1/lbdsr/`).catch(() => null))?.ok === true,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    assert.equal(threadNice(p.pid!), 7);
    assert.equal(groupNice('self'), before, "the caller's session keeps its autogroup priority");
    assert.equal(groupNice(p.pid!), before);
  } finally {
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lbdsrd --nice leading its own session: the autogroup gets the priority too', {
  skip,
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lbdsr-nice-'));
  const d = await startDaemon(join(dir, 'state'), undefined, ['--nice', '6']);
  try {
    assert.equal(threadNice(d.pid!), 6);
    assert.equal(groupNice(d.pid!), 6);
  } finally {
    await d.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
