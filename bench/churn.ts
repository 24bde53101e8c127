// Configuration changes under traffic (issue 8, item 9), for each data plane (USERSPACE, XDP_SKB, and
// XDP_DRV when the veth peers can carry native XDP): a real lbdsrd in a namespace topology, a pool of 4,096
// backends put in one request, then backends removed and re-added K times through REST, one request at a
// time, while a UDP frame stream at a fixed rate crosses the balancer. Reports the median and p99 of the
// time from a request's arrival to the change being live in the plane (the daemon's Server-Timing header)
// and of the round trip from sending it to reading its answer (after config.json is on disk),
// beside the same sequence on a pool of 4 backends in the same run, and the frames sent, received behind
// the backend port (interface counters), dropped by the plane and lost; then where the time goes (the same
// sequence without a plane, with config.json on tmpfs and on disk) and the round trip of a PUT of a whole
// pool of 4,096 new backends (issue 9 item 11). The scenario is testkit/churn.ts.
//
// Run alone: `node dist/bench/churn.js` (root). BENCH_CHURN_K (cycles, default 100 = 200 requests; 20 with
// LBDSR_BENCH_QUICK=1), BENCH_CHURN_RATE (frames/s, default 100000), BENCH_CHURN_PLANES (default
// USERSPACE,XDP_SKB,XDP_DRV), BENCH_CHURN_NICE (lbdsrd's --nice; default none: the daemon's priority is
// the bench's own). `run(section)` takes the reporter of `npm run bench` (say/figure/skipped,
// figures under stable snake_case keys); without one it prints to stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CHURN_NICE,
  type ChurnOutcome,
  type ChurnPlane,
  type ChurnRun,
  type ChurnSetup,
  churnUnderTraffic,
  churnWithoutPlane,
  disposeChurn,
  setupChurn,
  WARMUP_CYCLES,
} from '../testkit/churn.js';
import { REPO } from '../testkit/paths.js';
import { loadAverageText } from './host.js';

const POOL = 4096;
const BASELINE_POOL = 4;
const GOAL_P99_MS = 10;
/** PUTs of a whole pool timed in the breakdown, and the goal for their round trip (issue 9, item 11). */
const PUTS = 20;
const PUT_GOAL_MS = 100;
const RATE = Number(process.env.BENCH_CHURN_RATE ?? 100_000);
const PLANES = (process.env.BENCH_CHURN_PLANES ?? 'USERSPACE,XDP_SKB,XDP_DRV')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter((s): s is ChurnPlane => s === 'USERSPACE' || s === 'XDP_SKB' || s === 'XDP_DRV');

/** What a section of `npm run bench` receives (the shape of bench/report.ts's Section). */
export interface Out {
  quick?: boolean;
  say(line?: string): void;
  figure(
    name: string,
    f: { value: number; unit: string; baseline?: number; baseline_unit?: string; note?: string },
  ): void;
  skipped(reason: string): void;
}

const stdoutOut: Out = {
  say: (line = '') => console.log(line),
  figure: () => {},
  skipped: (reason) => console.log(`  skipped: ${reason}`),
};

/** The q-quantile by the nearest-rank method (p99 of 200 samples is the 198th smallest). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

interface Spread {
  /** Round trip: request sent to answer read. */
  median: number;
  p99: number;
  /** Request arrival to the change live in the data plane (the daemon's Server-Timing `live`). */
  liveMedian: number;
  liveP99: number;
}

/** The values of one Server-Timing metric over a run (requests whose answer had it). */
function metric(r: ChurnRun, name: string): number[] {
  return r.timings.map((t) => t[name]).filter((v): v is number => v !== undefined && Number.isFinite(v));
}

function spread(r: ChurnRun): Spread {
  const live = metric(r, 'live');
  return {
    median: quantile(r.ms, 0.5),
    p99: quantile(r.ms, 0.99),
    liveMedian: quantile(live, 0.5),
    liveP99: quantile(live, 0.99),
  };
}

/**
 * Where the time of a change goes, from outside the daemon (so it stays true whatever the code looks
 * like): the same sequence on an instance without ports (no data plane), with the state directory on
 * tmpfs (no disk flush) and on disk; the difference to the run with a plane is the plane's apply.
 */
async function breakdown(out: Out, s: ChurnSetup, cycles: number, withPlane: Spread): Promise<void> {
  const shm = mkdtempSync('/dev/shm/lbdsr-churn-');
  let tmpfs: Spread;
  let disk: Spread;
  let putMs: number[];
  try {
    const t = await churnWithoutPlane(s, POOL, cycles, { listen: '127.0.0.1:9001', stateDir: shm });
    tmpfs = spread(t.run);
    const d = await churnWithoutPlane(s, POOL, cycles, { listen: '127.0.0.1:9001', puts: PUTS });
    disk = spread(d.run);
    putMs = d.putMs;
  } finally {
    rmSync(shm, { recursive: true, force: true });
  }
  const row = (what: string, v: Spread) =>
    out.say(`      ${what.padEnd(66)} median ${ms(v.median)}, p99 ${ms(v.p99)}`);
  out.say(
    `    where the time goes with ${POOL} backends (${cycles} cycles, no traffic in the first two rows):`,
  );
  row('REST, validation, config.json on tmpfs (no plane, no disk flush)', tmpfs);
  row('REST, validation, config.json on disk with fsync (no plane)', disk);
  row(`the same with the ${s.plane} plane applying the change (above, under traffic)`, withPlane);
  out.say(
    `      => persisting (fsync) ~${ms(disk.median - tmpfs.median)}, the plane's apply ~${ms(withPlane.median - disk.median)} of the median`,
  );
  const putMedian = quantile(putMs, 0.5);
  const putP99 = quantile(putMs, 0.99);
  out.say(
    `    PUT of a whole pool of ${POOL} backends, each replacing every backend (no plane, config.json on disk): ` +
      `median ${ms(putMedian)}, p99 ${ms(putP99)} over ${putMs.length} requests; goal < ${PUT_GOAL_MS} ms: ${putP99 < PUT_GOAL_MS ? 'met' : 'NOT met'}`,
  );
  out.figure('pool_put_without_plane_median_ms', {
    value: putMedian,
    unit: 'ms',
    note: `round trip of a PUT of ${POOL} new backends (issue 9 item 11), no data plane; goal < ${PUT_GOAL_MS} ms`,
  });
  out.figure('pool_put_without_plane_p99_ms', { value: putP99, unit: 'ms' });
  const note = `${POOL} backends, no data plane`;
  out.figure('change_without_plane_tmpfs_median_ms', { value: tmpfs.median, unit: 'ms', note });
  out.figure('change_without_plane_tmpfs_p99_ms', { value: tmpfs.p99, unit: 'ms', note });
  out.figure('change_without_plane_disk_median_ms', { value: disk.median, unit: 'ms', note });
  out.figure('change_without_plane_disk_p99_ms', { value: disk.p99, unit: 'ms', note });
}

function report(out: Out, label: string, o: ChurnOutcome): Spread {
  const sp = spread(o.run);
  const bad = o.run.statuses.filter((st) => st >= 300).length;
  out.say(
    `    ${label.padEnd(13)} request to live: median ${ms(sp.liveMedian)}, p99 ${ms(sp.liveP99)}; round trip to the answer: median ${ms(sp.median)}, p99 ${ms(sp.p99)}, max ${ms(Math.max(...o.run.ms))} over ${o.run.ms.length} requests` +
      `${bad ? `, ${bad} NOT 2xx (${o.run.error ?? ''})` : ''}; pool put in one request: ${ms(o.configureMs)}; ` +
      `${o.churned.ids.length} busiest backends churned in turn (${o.churned.sessions} sessions before, ${o.churned.repicked} re-picked during the churn); final pool ${o.finalPool}`,
  );
  const steps = ['request', 'plan', 'plane', 'persist'].map(
    (m) => `${m} ${ms(quantile(metric(o.run, m), 0.5))} / ${ms(quantile(metric(o.run, m), 0.99))}`,
  );
  out.say(`      in lbdsrd (Server-Timing, median / p99): ${steps.join(', ')}`);
  const st = o.stream;
  const drops = Object.entries(st.drops).map(([k, v]) => `${k} ${v}`);
  out.say(
    `      stream ${(st.rate / 1000).toFixed(0)} k frames/s for ${(st.elapsedMs / 1000).toFixed(1)} s: sent ${st.sent}, ` +
      `at the balancer ${st.arrived}, out of its backend port ${st.left} (${st.leftDropped} tx drops), behind the backend port ${st.received}, ` +
      `plane drops ${drops.length ? drops.join(', ') : '0'}, lost ${st.lost} (of which RX ring full: ${st.ringDrops}; plane restarts ${st.restarts})`,
  );
  return sp;
}

async function plane(out: Out, kind: ChurnPlane, cycles: number, explain: boolean): Promise<boolean> {
  let s: ChurnSetup;
  try {
    s = await setupChurn(kind, BASELINE_POOL, join(REPO, 'bpf/pass.bpf.o'));
  } catch (e) {
    out.say(`  ${kind}: skipped, the plane could not be set up: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
  try {
    out.say(`  ${kind}:`);
    const small = await churnUnderTraffic(s, BASELINE_POOL, cycles, RATE);
    const base = report(out, `${BASELINE_POOL} backends`, small);
    const large = await churnUnderTraffic(s, POOL, cycles, RATE);
    const full = report(out, `${POOL} backends`, large);
    out.say(
      `    ratio ${POOL} / ${BASELINE_POOL} backends: request to live p99 ${(full.liveP99 / base.liveP99).toFixed(2)}x, round trip p99 ${(full.p99 / base.p99).toFixed(2)}x; ` +
        `goal request to live p99 <= ${GOAL_P99_MS} ms with ${POOL}: ${full.liveP99 <= GOAL_P99_MS ? 'met' : 'NOT met'}`,
    );
    const key = kind.toLowerCase();
    const vs = { unit: 'ms', baseline_unit: 'ms' };
    const versus = `${POOL} vs ${BASELINE_POOL} backends`;
    out.figure(`${key}_change_live_median_ms`, { value: full.liveMedian, baseline: base.liveMedian, ...vs });
    out.figure(`${key}_change_live_p99_ms`, {
      value: full.liveP99,
      baseline: base.liveP99,
      ...vs,
      note: `request arrival to the change live in the plane (Server-Timing live), ${versus}; goal <= ${GOAL_P99_MS} ms`,
    });
    out.figure(`${key}_change_median_ms`, { value: full.median, baseline: base.median, ...vs });
    out.figure(`${key}_change_p99_ms`, {
      value: full.p99,
      baseline: base.p99,
      ...vs,
      note: `request sent to answer read (after the plane applied it and config.json is on disk), ${versus}`,
    });
    out.figure(`${key}_pool_put_ms`, { value: large.configureMs, baseline: small.configureMs, ...vs });
    out.figure(`${key}_stream_lost_frames`, {
      value: small.stream.lost + large.stream.lost,
      unit: 'frames',
      note: `of ${small.stream.sent + large.stream.sent} sent at ${RATE} frames/s through the changes`,
    });
    if (explain) await breakdown(out, s, Math.min(cycles, 50), full);
    return true;
  } finally {
    await disposeChurn(s);
  }
}

export async function run(out: Out = stdoutOut): Promise<void> {
  if (process.getuid?.() !== 0) {
    out.skipped('needs root (network namespaces, veth, XDP, a daemon in a namespace)');
    return;
  }
  const quick = out.quick ?? process.env.LBDSR_BENCH_QUICK === '1';
  const cycles = Number(process.env.BENCH_CHURN_K ?? (quick ? 20 : 100));
  const load = loadAverageText();
  out.say(`  load average before: ${load}`);
  if (CHURN_NICE) out.say(`  lbdsrd runs with --nice ${CHURN_NICE} (BENCH_CHURN_NICE)`);
  out.say(
    '  measured, per REST request (DELETE, then POST back, of one backend; fetch, as lbdsrctl): request to live, its own\n' +
      '  figure from the arrival of the request to the plane having applied the change (the `live` metric of its Server-Timing header),\n' +
      '  and the round trip from sending the request to reading the answer, which comes after config.json is on disk.\n' +
      `  ${cycles} remove/add cycles per pool after ${WARMUP_CYCLES} untimed ones; frames counted on the veth interfaces.`,
  );
  let explained = false;
  for (const kind of PLANES) explained = (await plane(out, kind, cycles, !explained)) || explained;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) await run();
