// lbdsrctl benchmark: wall-clock time of one command (a read `lbdsr show`, a write `backend pool add`)
// against a real lbdsrd on loopback, and of `node -e 0` (the floor every command pays: the runtime's own
// start-up), measured interleaved in the same rounds so that machine load skews all three alike.
// Target (issue 8): a command costs at most 1.8x `node -e 0`. Also one command that sets a pool of 4,096
// backends from a body on stdin, against 4,096 one-backend commands. Needs no root.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon } from '../testkit/daemon.js';
import { REPO } from '../testkit/paths.js';
import { median } from '../testkit/timing.js';
import { type Section, standalone } from './report.js';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? (process.env.LBDSR_BENCH_QUICK === '1' ? 5 : 20));
const TARGET_RATIO = 1.8;
const BULK = 4096;
const LBDSRCTL = join(REPO, 'bin/lbdsrctl');

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

/** Medians in ms of `node -e 0`, a read and a write over ROUNDS interleaved rounds; one bulk write of a pool. */
export async function measure(): Promise<{ node: number; read: number; write: number; bulk: number }> {
  const d = new Daemon({ logLevel: 'warn' });
  try {
    await d.start();
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
    await d.dispose();
  }
}

export async function run(r: Section = standalone('cli')): Promise<void> {
  const load = () => (loadavg()[0] ?? 0).toFixed(1);
  r.say(
    `  (medians of ${ROUNDS} interleaved rounds, wall-clock; node ${process.version}; load average ${load()})`,
  );
  const m = await measure();
  r.figure('read', { value: m.read, unit: 'ms', baseline: m.node, baseline_unit: 'ms (node -e 0)' });
  r.figure('write', { value: m.write, unit: 'ms', baseline: m.node, baseline_unit: 'ms (node -e 0)' });
  r.figure('bulk_4096', {
    value: m.bulk,
    unit: 'ms',
    baseline: BULK * m.write,
    baseline_unit: 'ms (4,096 one-backend commands)',
  });
  const row = (name: string, value: string, note = '') =>
    r.say(`  ${name.padEnd(52)} ${value.padStart(12)}  ${note}`);
  row('baseline: node -e 0', `${m.node.toFixed(0)} ms`);
  row(
    'lbdsrctl lbdsr show (read)',
    `${m.read.toFixed(0)} ms`,
    `${(m.read / m.node).toFixed(2)}x node -e 0; target <= ${TARGET_RATIO}x`,
  );
  row(
    'lbdsrctl ... backend pool add ID mac=M (write)',
    `${m.write.toFixed(0)} ms`,
    `${(m.write / m.node).toFixed(2)}x node -e 0; target <= ${TARGET_RATIO}x`,
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
  r.say(`  (load average after: ${load()}; other processes on the machine skew every figure)`);
}

if (process.argv[1]?.endsWith('/bench/cli.js')) await run();
