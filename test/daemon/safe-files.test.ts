// Safe state files (issue 9, item 14): the state directory must not be writable by group or others and
// must belong to the daemon's user; one daemon per state directory is an flock(LOCK_EX|LOCK_NB) held for
// the daemon's life on lbdsrd.lock (a stale lock file of a dead daemon does not block; of two daemons
// starting together exactly one wins); a state file naming one instance twice is refused at start with
// the path and the name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Daemon } from '../../testkit/daemon.js';
import { needRoot, startDaemon, tempDir } from './helpers.js';

/** Starting a daemon on `state` fails with a message matching `why` (a daemon that starts is stopped). */
async function refused(state: string, why: RegExp): Promise<void> {
  const d = new Daemon({ stateDir: state, logLevel: 'warn' });
  try {
    await assert.rejects(d.start(), why);
  } finally {
    await d.dispose();
  }
}

/** Runs `body` on a fresh 0700 state directory, removed afterwards. */
async function withStateDir(tag: string, body: (state: string) => Promise<void>): Promise<void> {
  const tmp = tempDir(tag);
  try {
    const state = join(tmp.dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    await body(state);
  } finally {
    tmp.cleanup();
  }
}

/** The pid of a process that has exited (a stale lock's owner). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

test('a state directory writable by group or others is refused, naming the path and the mode', () =>
  withStateDir('statedir', async (state) => {
    chmodSync(state, 0o777);
    await refused(state, new RegExp(`${state} has mode 0777, writable by group or others`));
    chmodSync(state, 0o720);
    await refused(state, /mode 0720/);
    chmodSync(state, 0o750);
    const d = await startDaemon(state);
    await d.dispose();
  }));

test('a state directory owned by another user is refused', { skip: needRoot() }, () =>
  withStateDir('stateowner', async (state) => {
    chownSync(state, 65534, 65534);
    await refused(state, new RegExp(`${state} is owned by uid 65534`));
  }),
);

test('the lock is an flock held for the daemon life; a stale lock file does not block', () =>
  withStateDir('flock', async (state) => {
    writeFileSync(join(state, 'lbdsrd.lock'), `${deadPid()} 1\n`, { mode: 0o600 });
    const d = await startDaemon(state);
    try {
      // flock(1) respects the lock: another process cannot take it while the daemon runs
      const held = spawnSync('flock', ['-n', join(state, 'lbdsrd.lock'), 'true']);
      assert.equal(held.status, 1, 'flock -n on lbdsrd.lock must fail while the daemon runs');
      await refused(state, /another lbdsrd \(pid \d+\) is running/);
    } finally {
      await d.dispose();
    }
    const free = spawnSync('flock', ['-n', join(state, 'lbdsrd.lock'), 'true']);
    assert.equal(free.status, 0, 'the lock is released when the daemon stops');
  }));

test('two daemons starting together on a stale lock: exactly one wins', async () => {
  const tmp = tempDir('race');
  try {
    for (let round = 0; round < 3; round++) {
      const state = join(tmp.dir, `state${round}`);
      mkdirSync(state, { mode: 0o700 });
      writeFileSync(join(state, 'lbdsrd.lock'), `${deadPid()} 1\n`, { mode: 0o600 });
      const ds = [
        new Daemon({ stateDir: state, logLevel: 'warn' }),
        new Daemon({ stateDir: state, logLevel: 'warn' }),
      ];
      try {
        const results = await Promise.allSettled(ds.map((d) => d.start()));
        const won = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(won, 1, `round ${round}: ${won} daemons started on one state directory`);
      } finally {
        await Promise.all(ds.map((d) => d.dispose()));
      }
    }
  } finally {
    tmp.cleanup();
  }
});

test('a state file that names one instance twice is refused at start with the path and the name', () =>
  withStateDir('dupname', async (state) => {
    const one = { name: 'lb1', ports: [], frontend: {}, backend: { pool: [] } };
    const path = join(state, 'config.json');
    writeFileSync(path, JSON.stringify({ version: 1, instances: [one, { ...one }] }), { mode: 0o600 });
    await refused(state, new RegExp(`${path} names instance 'lb1' more than once`));
  }));
