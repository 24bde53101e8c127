// Configuration changes under traffic (issue 8, item 9), for each data plane (USERSPACE, XDP_SKB, and
// XDP_DRV when the veth peers can carry native XDP): a real lbdsrd in a namespace topology, a pool of 4,096
// backends put in one request, then one backend removed and re-added K times through REST, one request at
// a time, while a UDP frame stream at a fixed rate crosses the balancer. Reports the median and p99 of the
// time from sending a request to reading its answer (lbdsrd answers after the plane applied the change),
// beside the same sequence on a pool of 4 backends in the same run, and the frames sent, received behind
// the backend port (interface counters), dropped by the plane and lost. The scenario is scripts/lib/churn.ts.
//
// Run alone: `node dist/bench/churn.js` (root). BENCH_CHURN_K (cycles, default 100 = 200 requests),
// BENCH_CHURN_RATE (frames/s, default 100000) and BENCH_CHURN_PLANES (default USERSPACE,XDP_SKB,XDP_DRV).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ChurnOutcome,
  type ChurnPlane,
  type ChurnRun,
  type ChurnSetup,
  churnUnderTraffic,
  churnWithoutPlane,
  disposeChurn,
  setupChurn,
  WARMUP_CYCLES,
} from '../scripts/lib/churn.js';
import { REPO } from '../scripts/lib/daemon.js';

const CYCLES = Number(process.env.BENCH_CHURN_K ?? 100);
const RATE = Number(process.env.BENCH_CHURN_RATE ?? 100_000);
const POOL = 4096;
const BASELINE_POOL = 4;
const GOAL_P99_MS = 10;
const PLANES = (process.env.BENCH_CHURN_PLANES ?? 'USERSPACE,XDP_SKB,XDP_DRV')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter((s): s is ChurnPlane => s === 'USERSPACE' || s === 'XDP_SKB' || s === 'XDP_DRV');

/** The q-quantile by the nearest-rank method (p99 of 200 samples is the 198th smallest). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

function stat(r: ChurnRun): { median: number; p99: number } {
  return { median: quantile(r.ms, 0.5), p99: quantile(r.ms, 0.99) };
}

/**
 * Where the time of a change goes, from outside the daemon (so it stays true whatever the code looks
 * like): the same sequence on an instance without ports (no data plane), with the state directory on
 * tmpfs (no disk flush) and on disk; the difference to the run with a plane is the plane's apply.
 */
async function breakdown(s: ChurnSetup, withPlane: { median: number; p99: number }): Promise<void> {
  const cycles = Math.min(CYCLES, 50);
  const shm = mkdtempSync('/dev/shm/lbdsr-churn-');
  let tmpfs: { median: number; p99: number };
  let disk: { median: number; p99: number };
  try {
    tmpfs = stat(await churnWithoutPlane(s, POOL, cycles, { listen: '127.0.0.1:9001', stateDir: shm }));
    disk = stat(await churnWithoutPlane(s, POOL, cycles, { listen: '127.0.0.1:9001' }));
  } finally {
    rmSync(shm, { recursive: true, force: true });
  }
  const row = (what: string, v: { median: number; p99: number }) =>
    console.log(`      ${what.padEnd(62)} median ${ms(v.median)}, p99 ${ms(v.p99)}`);
  console.log(
    `    where the time goes with ${POOL} backends (${cycles} cycles, no traffic for the first two rows):`,
  );
  row('REST, validation, config.json on tmpfs (no plane, no disk flush)', tmpfs);
  row('REST, validation, config.json on disk with fsync (no plane)', disk);
  row(`the same with the ${s.plane} plane applying the change (run above)`, withPlane);
  console.log(
    `      => persisting (fsync) ~${ms(disk.median - tmpfs.median)}, the plane's apply ~${ms(withPlane.median - disk.median)} of the median`,
  );
}

function line(label: string, o: ChurnOutcome): { median: number; p99: number } {
  const median = quantile(o.run.ms, 0.5);
  const p99 = quantile(o.run.ms, 0.99);
  const bad = o.run.statuses.filter((s) => s >= 300).length;
  console.log(
    `    ${label.padEnd(13)} median ${ms(median)}, p99 ${ms(p99)}, max ${ms(Math.max(...o.run.ms))} over ${o.run.ms.length} requests` +
      `${bad ? `, ${bad} NOT 2xx (${o.run.error ?? ''})` : ''}; pool put in one request: ${ms(o.configureMs)}; ` +
      `${o.churned.ids.length} busiest backends churned in turn (${o.churned.sessions} sessions before, ${o.churned.repicked} re-picked during the churn); final pool ${o.finalPool}`,
  );
  const st = o.stream;
  const drops = Object.entries(st.drops).map(([k, v]) => `${k} ${v}`);
  console.log(
    `      stream ${(st.rate / 1000).toFixed(0)} k frames/s for ${(st.elapsedMs / 1000).toFixed(1)} s: sent ${st.sent}, ` +
      `at the balancer ${st.arrived}, out of its backend port ${st.left} (${st.leftDropped} tx drops), behind the backend port ${st.received}, plane drops ${drops.length ? drops.join(', ') : '0'}, lost ${st.lost}`,
  );
  return { median, p99 };
}

async function plane(kind: ChurnPlane, explain: boolean): Promise<boolean> {
  let s: Awaited<ReturnType<typeof setupChurn>>;
  try {
    s = await setupChurn(kind, BASELINE_POOL, join(REPO, 'bpf/pass.bpf.o'));
  } catch (e) {
    console.log(`  ${kind}: skipped, the plane could not be set up: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
  try {
    console.log(`  ${kind}:`);
    const base = line(`${BASELINE_POOL} backends`, await churnUnderTraffic(s, BASELINE_POOL, CYCLES, RATE));
    const full = line(`${POOL} backends`, await churnUnderTraffic(s, POOL, CYCLES, RATE));
    console.log(
      `    ratio ${POOL} / ${BASELINE_POOL} backends: median ${(full.median / base.median).toFixed(2)}x, p99 ${(full.p99 / base.p99).toFixed(2)}x; ` +
        `goal p99 <= ${GOAL_P99_MS} ms with ${POOL}: ${full.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}`,
    );
    if (explain) await breakdown(s, full);
    return true;
  } finally {
    await disposeChurn(s);
  }
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('  skipped: needs root (network namespaces, veth, XDP, a daemon in a namespace)');
    return;
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`  load average before: ${load}`);
  console.log(
    `  measured: the time from sending one REST request (DELETE, then POST back, of one backend; fetch, as lbdsrctl) to reading its answer;\n` +
      '  lbdsrd answers after the plane applied the change (validate, plane apply, persist config.json, reply), so this bounds the time\n' +
      `  until the change is live. ${CYCLES} remove/add cycles per pool after ${WARMUP_CYCLES} untimed ones; frames counted on the veth interfaces.`,
  );
  let explained = false;
  for (const kind of PLANES) explained = (await plane(kind, !explained)) || explained;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) await run();
