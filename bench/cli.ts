// lbdsrctl benchmark: wall-clock time of one command (a read `lbdsr show`, a write `backend pool add`)
// against a real lbdsrd on loopback, and of `node -e 0` (the floor every command pays: the runtime's own
// start-up), measured interleaved in the same rounds so that machine load skews all three alike.
// Target (issue 8): a command costs at most 1.8x `node -e 0`. Also one command that sets a pool of 4,096
// backends from a body on stdin, against 4,096 one-backend commands. Needs no root.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 20);
const TARGET_RATIO = 1.8;
const BULK = 4096;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LBDSRD = join(ROOT, 'bin/lbdsrd');
const LBDSRCTL = join(ROOT, 'bin/lbdsrctl');

export interface CliFigure {
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Milliseconds from spawning `node ARGS` to its exit; throws when it fails. */
function timed(args: string[], env: NodeJS.ProcessEnv, input?: string): number {
  const t0 = performance.now();
  const stdin = input === undefined ? 'ignore' : 'pipe';
  const r = spawnSync(process.execPath, args, {
    env,
    input,
    stdio: [stdin, 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

interface Loopback {
  url: string;
  stop(): Promise<void>;
}

/** lbdsrd on a free loopback port with a temporary state directory, answering before this returns. */
async function startDaemon(): Promise<Loopback> {
  const stateDir = mkdtempSync(join(tmpdir(), 'lbdsr-bench-cli-'));
  const url = `http://127.0.0.1:${await freePort()}`;
  const listen = url.slice('http://'.length);
  const proc: ChildProcess = spawn(process.execPath, [LBDSRD, '--listen', listen, '--state-dir', stateDir], {
    stdio: 'ignore',
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await gone;
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = spawnSync(process.execPath, [LBDSRCTL, '--url', url, 'lbdsr', 'show'], { stdio: 'ignore' });
    if (r.status === 0) return { url, stop };
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`lbdsrd did not answer on ${url} within 15 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Medians in ms of `node -e 0`, a read and a write over ROUNDS interleaved rounds; one bulk write of a pool. */
export async function measure(): Promise<{ node: number; read: number; write: number; bulk: number }> {
  const d = await startDaemon();
  try {
    const env = { ...process.env, LBDSR_URL: d.url };
    const ctl = (...words: string[]) => [LBDSRCTL, ...words];
    timed(ctl('lbdsr', 'add', 'bench'), env);
    const mac = (i: number) =>
      `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const write = (i: number) => ctl('lbdsr', 'bench', 'backend', 'pool', 'add', String(i), `mac=${mac(i)}`);
    const read = ctl('lbdsr', 'show');
    // warm-up: file cache, the daemon's first requests
    timed(['-e', '0'], env);
    timed(read, env);
    timed(write(0), env);
    const t = { node: [] as number[], read: [] as number[], write: [] as number[] };
    for (let i = 1; i <= ROUNDS; i++) {
      t.node.push(timed(['-e', '0'], env));
      t.read.push(timed(read, env));
      t.write.push(timed(write(i), env));
    }
    // a whole pool in one command: 4,096 backends as a JSON body on stdin
    const pool = Array.from({ length: BULK }, (_, i) => ({ id: i + 1, mac: mac(i + 1) }));
    timed(ctl('lbdsr', 'add', 'bulk'), env);
    const bulk = timed(ctl('lbdsr', 'bulk', 'backend', 'set'), env, JSON.stringify({ pool }));
    return { node: median(t.node), read: median(t.read), write: median(t.write), bulk };
  } finally {
    await d.stop();
  }
}

export async function run(): Promise<Record<string, CliFigure>> {
  const load = () => (loadavg()[0] ?? 0).toFixed(1);
  console.log(
    `  (medians of ${ROUNDS} interleaved rounds, wall-clock; node ${process.version}; load average ${load()})`,
  );
  const m = await measure();
  const figure = (value: number): CliFigure => ({
    value,
    unit: 'ms',
    baseline: m.node,
    ratio: value / m.node,
  });
  const figures = {
    read: figure(m.read),
    write: figure(m.write),
    bulk_4096: { value: m.bulk, unit: 'ms', baseline: BULK * m.write, ratio: m.bulk / (BULK * m.write) },
  };
  const row = (name: string, value: string, note = '') =>
    console.log(`  ${name.padEnd(52)} ${value.padStart(12)}  ${note}`);
  row('baseline: node -e 0', `${m.node.toFixed(0)} ms`);
  row(
    'lbdsrctl lbdsr show (read)',
    `${m.read.toFixed(0)} ms`,
    `${figures.read.ratio.toFixed(2)}x node -e 0; target <= ${TARGET_RATIO}x`,
  );
  row(
    'lbdsrctl ... backend pool add ID mac=M (write)',
    `${m.write.toFixed(0)} ms`,
    `${figures.write.ratio.toFixed(2)}x node -e 0; target <= ${TARGET_RATIO}x`,
  );
  row(
    '4,096 backends in one command (set < pool.json)',
    `${m.bulk.toFixed(0)} ms`,
    '(one run; mostly the daemon applying the change)',
  );
  row(
    '4,096 backends, one write command each',
    `${((BULK * m.write) / 1000).toFixed(0)} s`,
    '(a script calling lbdsrctl per backend)',
  );
  console.log(`  (load average after: ${load()}; other processes on the machine skew every figure)`);
  return figures;
}

if (process.argv[1]?.endsWith('/bench/cli.js')) await run();
