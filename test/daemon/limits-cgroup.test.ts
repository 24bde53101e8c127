// Issue 9 item 8 on the real path: lbdsrd runs in a memory cgroup of 600 MiB (made here, v1 or v2, as
// root) and refuses a session capacity whose table would not fit in it, naming the cgroup; a capacity
// that fits goes through. The budget is what src/kernel/meminfo.ts reads from the kernel, nothing
// injected.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mustWaitFor } from '../../testkit/timing.js';
import { freePort, LBDSRD, needRoot, tempDir } from './helpers.js';

const LIMIT = 600 * 2 ** 20;

/** A new memory cgroup limited to LIMIT: its directory, the path /proc/PID/cgroup shows, and its procs file. */
function makeCgroup(name: string): { dir: string; path: string; procs: string } | undefined {
  if (existsSync('/sys/fs/cgroup/memory/tasks')) {
    const dir = `/sys/fs/cgroup/memory/${name}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(LIMIT));
    return { dir, path: `/${name}`, procs: join(dir, 'cgroup.procs') };
  }
  const controllers = existsSync('/sys/fs/cgroup/cgroup.subtree_control')
    ? readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8')
    : '';
  if (!controllers.split(/\s+/).includes('memory')) return undefined;
  const dir = `/sys/fs/cgroup/${name}`;
  mkdirSync(dir);
  writeFileSync(join(dir, 'memory.max'), String(LIMIT));
  return { dir, path: `/${name}`, procs: join(dir, 'cgroup.procs') };
}

test('lbdsrd in a 600 MiB memory cgroup refuses a capacity that does not fit there', async (t) => {
  const why = needRoot();
  if (why) return t.skip(why);
  const cg = makeCgroup(`lbdsr-limits-${process.pid}`);
  assert.ok(cg, 'no memory cgroup controller to make a cgroup with');
  const state = tempDir('limits-cg');
  let proc: ChildProcess | undefined;
  try {
    const port = await freePort();
    const args = [
      LBDSRD,
      '--listen',
      `127.0.0.1:${port}`,
      '--state-dir',
      join(state.dir, 's'),
      '--log-level',
      'warn',
    ];
    // the shell joins the cgroup, then becomes the daemon
    proc = spawn('sh', ['-c', `echo $$ > ${cg.procs} && exec "$0" "$@"`, process.execPath, ...args], {
      stdio: 'ignore',
    });
    const url = `http://127.0.0.1:${port}/polycube/v1/lbdsr`;
    const post = async (name: string, body: unknown) => {
      const r = await fetch(`${url}/${name}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as { code?: string; message?: string } };
    };
    await mustWaitFor(
      'lbdsrd answers',
      () =>
        fetch(`${url}/`).then(
          (r) => r.ok,
          () => false,
        ),
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    const big = await post('big', { type: 'USERSPACE', sessions: { capacity: 10_000_000 } });
    assert.equal(big.status, 507, JSON.stringify(big.body));
    assert.equal(big.body.code, 'LBDSR_NO_MEMORY');
    assert.match(
      big.body.message ?? '',
      new RegExp(`needs about .* this host has \\d+ MiB \\(memory cgroup ${cg.path}\\)`),
    );
    const small = await post('small', { type: 'USERSPACE', sessions: { capacity: 100_000 } });
    assert.equal(small.status, 201, JSON.stringify(small.body));
  } finally {
    if (proc && proc.exitCode === null) {
      const gone = new Promise((res) => proc?.once('exit', res));
      proc.kill('SIGTERM');
      await gone;
    }
    state.cleanup();
    await mustWaitFor('the cgroup is empty and removed', () => {
      try {
        rmdirSync(cg.dir);
        return true;
      } catch {
        return false;
      }
    });
  }
});
