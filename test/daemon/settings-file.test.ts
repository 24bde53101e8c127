// One settings file for lbdsrd and lbdsrctl, with real processes: a daemon started with nothing but
// `--config FILE` listens, keeps its state and requires the token where the file says, and lbdsrctl
// given the same file (--config or LBDSR_CONFIG) finds it and is let in; without the file it is not.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mustWaitFor } from '../../testkit/timing.js';
import { type CliResult, freePort, LBDSRCTL, LBDSRD, tempDir } from './helpers.js';

/** The environment of the processes: nothing that would tell them the daemon's address or token. */
function cleanEnv(more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...more };
  for (const k of ['LBDSR_URL', 'LBDSR_TOKEN', 'LBDSR_TOKEN_FILE']) delete env[k];
  if (!('LBDSR_CONFIG' in more)) env.LBDSR_CONFIG = '';
  return env;
}

function lbdsrctl(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [LBDSRCTL, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('one settings file for lbdsrd and lbdsrctl', () => {
  const tmp = tempDir('settings');
  const conf = join(tmp.dir, 'lbdsr.conf');
  const stateDir = join(tmp.dir, 'state');
  let daemon: ChildProcess | undefined;
  let port = 0;
  let log = '';

  before(async () => {
    port = await freePort();
    const tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(
      conf,
      `# lbdsr settings (test)\nlisten = 127.0.0.1:${port}\nstate-dir = ${stateDir}\n` +
        `token-file = ${tokenFile}\nlog-level = warn\n`,
      { mode: 0o644 },
    );
    const d = spawn(process.execPath, [LBDSRD, '--config', conf], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: cleanEnv(),
    });
    daemon = d;
    d.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    await mustWaitFor(
      `lbdsrd --config answering on port ${port}`,
      () => {
        if (d.exitCode !== null) throw new Error(`lbdsrd exited (${d.exitCode}): ${log}`);
        return !/not reachable/.test(lbdsrctl(['--config', conf, 'lbdsr', 'show']).stderr);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  });

  after(async () => {
    const d = daemon;
    if (d && d.exitCode === null) {
      const gone = new Promise((res) => d.once('exit', res));
      d.kill('SIGTERM');
      await gone;
    }
    tmp.cleanup();
  });

  test('lbdsrctl --config finds the daemon and its token', () => {
    const r = lbdsrctl(['--config', conf, 'lbdsr', 'add', 'lb1']);
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8')) as {
      instances: Array<{ name: string }>;
    };
    assert.deepEqual(
      saved.instances.map((i) => i.name),
      ['lb1'],
      'the daemon keeps its state where the file says',
    );
  });

  test('LBDSR_CONFIG names the same file', () => {
    const r = lbdsrctl(['lbdsr', 'show'], { LBDSR_CONFIG: conf });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lb1/);
  });

  test('without the file the daemon, which took its token from it, refuses', () => {
    const r = lbdsrctl(['--url', `http://127.0.0.1:${port}`, 'lbdsr', 'show']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LBDSR_UNAUTHORIZED/);
  });

  test('a flag wins over the file', () => {
    const r = lbdsrctl(['--config', conf, '--url', 'http://127.0.0.1:1', 'lbdsr', 'show']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not reachable at http:\/\/127\.0\.0\.1:1 /);
  });
});
