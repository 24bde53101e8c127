// lbdsrctl as a process, against a real lbdsrd on loopback.
// - Its import graph stays light: a command's cost is mostly start-up, so the CLI must not load the
//   daemon's libraries (fastify, pino, TypeBox, koffi) nor, unless a command needs it, yaml. Each command
//   runs under a module-resolution hook (node:module register) that records every module Node resolves;
//   the test asserts on that list, not on time (time is measured by bench/cli.ts).
// - Its output into a pipe that the reader closes early (`show -yaml | head`) ends quietly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ctl, type Daemon, LBDSRCTL, ROOT, sh, startDaemon, tempDir } from './helpers.js';

// Runs in Node's hooks thread: passes every resolved URL to the main thread.
const HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}`;

// Preloaded with --import: registers the hooks and, at exit, writes what was resolved to LBDSR_MODULES_OUT.
const PRELOAD = `
import { register } from 'node:module';
import { writeFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
port1.unref();
register('data:text/javascript,${encodeURIComponent(HOOKS)}', { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => {
  const seen = [];
  for (let m; (m = receiveMessageOnPort(port1)); ) seen.push(m.message);
  writeFileSync(process.env.LBDSR_MODULES_OUT, seen.join('\\n'));
});`;

const HEAVY = ['fastify', 'pino', '@sinclair/typebox', 'koffi'];

interface Loaded {
  code: number | null;
  stderr: string;
  modules: string[];
}

describe('lbdsrctl as a process', () => {
  const state = tempDir('cli-process');
  let d: Daemon;
  before(async () => {
    d = await startDaemon(state.dir);
  });
  after(async () => {
    await d?.stop();
    state.cleanup();
  });

  function load(args: string[], input?: string): Loaded {
    const out = join(state.dir, 'modules.txt');
    const r = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(PRELOAD)}`, LBDSRCTL, ...args],
      {
        input,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: { ...process.env, LBDSR_URL: d.url, LBDSR_MODULES_OUT: out },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    return { code: r.status, stderr: r.stderr, modules: readFileSync(out, 'utf8').split('\n') };
  }

  const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  const packages = (l: Loaded) => [...new Set(l.modules.map(packageOf).filter((p) => p !== undefined))];
  /** Files of this project that were loaded, relative to the repository. */
  const ownFiles = (l: Loaded) =>
    l.modules.filter((u) => u.startsWith(`file://${ROOT}/`)).map((u) => u.slice(`file://${ROOT}/`.length));

  test('a read, a write, a -json read and help load no package and nothing outside src/cli', () => {
    const commands = [
      ['lbdsr', 'show'],
      ['lbdsr', 'add', 'lb1'],
      ['lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=02:00:00:00:00:01'],
      ['lbdsr', 'lb1', 'show', '-json'],
      ['lbdsr', 'lb1', 'set', '?'],
    ];
    for (const args of commands) {
      const l = load(args);
      assert.equal(l.code, 0, `lbdsrctl ${args.join(' ')}: ${l.stderr}`);
      assert.deepEqual(packages(l), [], `lbdsrctl ${args.join(' ')} loaded packages`);
      for (const f of ownFiles(l)) {
        assert.ok(
          f === 'bin/lbdsrctl' || f.startsWith('dist/src/cli/'),
          `lbdsrctl ${args.join(' ')} loaded ${f}`,
        );
      }
      assert.ok(ownFiles(l).includes('dist/src/cli/tree.js'), 'the hook saw the CLI load its own modules');
    }
  });

  test('yaml only where YAML is read or written, and never a daemon library', () => {
    const shown = load(['lbdsr', 'lb1', 'show', '-yaml']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(packages(shown), ['yaml']);
    const fromStdin = load(['lbdsr', 'add', 'lb2'], 'algorithm: HASH_SRC_IP\n');
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.deepEqual(packages(fromStdin), ['yaml']);
    for (const l of [shown, fromStdin]) for (const h of HEAVY) assert.ok(!packages(l).includes(h), h);
  });

  test('a -yaml show larger than a pipe buffer, piped into head -c 1, ends without an error', () => {
    assert.equal(ctl(d.url, ['lbdsr', 'add', 'big']).code, 0);
    const mac = (i: number) =>
      `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const pool = Array.from({ length: 4096 }, (_, i) => ({ id: i + 1, mac: mac(i + 1) }));
    // 4,096 backends in one command: a JSON body on stdin
    const set = ctl(d.url, ['lbdsr', 'big', 'backend', 'set'], JSON.stringify({ pool }));
    assert.equal(set.code, 0, set.stderr);
    const file = join(state.dir, 'big.yaml');
    const full = sh(d.url, `lbdsrctl lbdsr big show -yaml > "${file}"`);
    assert.equal(full.code, 0, full.stderr);
    assert.ok(statSync(file).size > 1 << 16, 'the output is larger than a pipe buffer');
    const r = sh(d.url, 'set -o pipefail; lbdsrctl lbdsr big show -yaml | head -c 1');
    assert.equal(r.stdout, 'n');
    assert.equal(r.stderr, '', 'no EPIPE trace');
    assert.equal(r.code, 0);
  });
});
