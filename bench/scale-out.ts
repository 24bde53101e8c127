// Forwarding rate of N balancer nodes behind the ECMP router (issue 12), in the namespace fabric of the
// ECMP test (testkit/fabric.ts): the testkit's frame generator (testkit/afgen.ts, pinned to CPU 0) sends
// 60-byte UDP frames of 256 flows from the client namespace to the router's MAC; the router spreads them
// over the nodes that announce the VIP (BGP by BIRD, L4 hash); each node (lbdsrd, XDP_SKB, ROUTED,
// one-arm) balances them to the three servers; delivered frames are the servers' interface counters.
// The rate doubles until more than 1% is lost, then bisects; the figure is the median of three
// confirmation runs at the highest passing rate. Baseline, same run: the router alone, its route to the
// VIP pointed straight at one server (no node in the path).
//
// On one machine every hop shares the same cores: veth hands a frame to its peer in the sender's softirq,
// so the router's forwarding, every node's XDP and the servers' receive would all run on the generator's
// CPU; RPS on the router's client-side interface moves that whole chain to the last CPU, leaving CPU 0 to
// the generator. Every node then still runs on that one core: the figures show what one machine can
// say about N nodes (the shared core or the generator saturates, not a node); the CPU shares are printed
// beside them. Run alone:
// `node dist/bench/scale-out.js` (root, bird2).
import { spawnSync } from 'node:child_process';

import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { FrameGenerator } from '../testkit/afgen.js';
import { writeVips } from '../testkit/bgp.js';
import { must } from '../testkit/exec.js';
import { CLIENT_IP, Fabric, serverIp, VIP } from '../testkit/fabric.js';
import { ifStats, macOf } from '../testkit/netns.js';
import { isRoot } from '../testkit/root.js';
import { median, mustWaitFor, sleep } from '../testkit/timing.js';
import { cpuTimes, loadAverageText } from './host.js';
import { type Section, standalone } from './report.js';

const TYPE = 'XDP_SKB';
const NODES = 3;
const FLOWS = 256;
const MAX_LOSS = 0.01;

interface Trial {
  rate: number;
  sent: number;
  delivered: number;
  elapsed: number;
  loss: number;
  fps: number;
  /** Busy share of each CPU during the run (softirq included). */
  busy: number[];
}

interface Result {
  rate: number;
  /** Frames per second the generator managed to send (below `rate` when it is the bound). */
  sentFps: number;
  fps: number;
  loss: number;
  genBound: boolean;
  busy: number[];
}

class Rig {
  constructor(
    readonly f: Fabric,
    readonly gen: FrameGenerator,
    readonly trialMs: number,
  ) {}

  private async delivered(): Promise<number> {
    let n = 0;
    for (const s of this.f.servers) n += (await ifStats(s.ns, 'eth0')).rx;
    return n;
  }

  async trial(rate: number): Promise<Trial> {
    const d0 = await this.delivered();
    const c0 = cpuTimes();
    const g = await this.gen.send(rate, this.trialMs);
    await sleep(50); // frames still in the veths' queues
    const c1 = cpuTimes();
    const delivered = (await this.delivered()) - d0;
    return {
      rate,
      sent: g.sent,
      delivered,
      elapsed: g.elapsed,
      loss: g.sent > 0 ? Math.max(0, 1 - delivered / g.sent) : 1,
      fps: (delivered * 1000) / g.elapsed,
      busy: c1.map((c, i) => (c.busy - (c0[i]?.busy ?? 0)) / (c.total - (c0[i]?.total ?? 0) || 1)),
    };
  }

  /** Doubles from 50 k frames/s until a run loses more than 1%, bisects, confirms with three runs. */
  async search(budgetMs: number): Promise<Result> {
    const deadline = Date.now() + budgetMs;
    let lo = 0;
    let hi = 0;
    let rate = 50_000;
    let genBound = false;
    while (Date.now() < deadline) {
      const t = await this.trial(rate);
      const ok = t.loss < MAX_LOSS;
      if (ok) lo = rate;
      else hi = rate;
      // the generator could not offer the rate: more cannot be measured
      if (ok && (t.sent * 1000) / t.elapsed < 0.9 * rate) {
        genBound = true;
        break;
      }
      if (hi === 0) rate *= 2;
      else if (hi - lo <= Math.max(10_000, 0.05 * hi)) break;
      else rate = lo === 0 ? Math.floor(hi / 2) : Math.floor((lo + hi) / 2);
      if (rate < 10_000) break;
    }
    let at = Math.max(lo, 10_000);
    let confirm: Trial[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      confirm = [await this.trial(at), await this.trial(at), await this.trial(at)];
      if (median(confirm.map((c) => c.loss)) < MAX_LOSS || at <= 10_000) break;
      at = Math.floor(at * 0.8);
    }
    return {
      rate: at,
      sentFps: median(confirm.map((c) => (c.sent * 1000) / c.elapsed)),
      fps: median(confirm.map((c) => c.fps)),
      loss: median(confirm.map((c) => c.loss)),
      genBound,
      busy: (confirm[0]?.busy ?? []).map((_, i) => median(confirm.map((c) => c.busy[i] ?? 0))),
    };
  }
}

/** Makes nodes 1..n announce the VIP (and the others not); waits until the router has n next hops. */
async function announce(f: Fabric, n: number): Promise<void> {
  for (const [i, node] of f.nodes) {
    writeVips(node.vipsFile, i <= n ? [VIP] : []);
    await node.bird.ctl('configure');
  }
  await mustWaitFor(`${n} next hops`, async () => (await f.nextHops()).length === n, { timeoutMs: 30_000 });
}

function line(r: Result): string {
  const cpu = r.busy.map((b, i) => `cpu${i} ${(b * 100).toFixed(0)}%`).join(', ');
  return `${(r.fps / 1e6).toFixed(3)} M frames/s delivered (asked ${r.rate}, sent ${(r.sentFps / 1e6).toFixed(3)} M/s, loss ${(r.loss * 100).toFixed(2)}%${r.genBound ? ', generator-bound' : ''}; ${cpu})`;
}

export async function run(r: Section = standalone('scale-out')): Promise<void> {
  if (!isRoot()) return r.skipped('needs root (network namespaces, XDP)');
  if (spawnSync('bird', ['--version']).status !== 0) return r.skipped('bird2 is not installed');
  const trialMs = r.quick ? 300 : 500;
  const budgetMs = r.quick ? 5_000 : 12_000;
  const load = loadAverageText();
  r.say(`  load average before: ${load} (${cpus().length} cores shared by every namespace of the fabric)`);
  r.say(
    `  60-byte UDP frames, ${FLOWS} flows, ${trialMs} ms per run, pass = loss < 1%; ${TYPE} nodes, one-arm`,
  );
  const f = await Fabric.build({ nodes: NODES });
  let gen: FrameGenerator | undefined;
  try {
    for (const i of f.nodes.keys()) {
      await f.startDaemon(i, false);
      await f.configure(i, TYPE, null);
    }
    const frames = {
      vip: VIP,
      dstMac: await macOf(f.routerNs, 'cli'),
      srcMac: f.client.mac,
      srcIp: CLIENT_IP,
      flows: FLOWS,
    };
    // The router's receive (and so the whole chain after it: veth hands frames on in the same softirq)
    // steered to the last CPU by RPS, away from the generator's CPU 0.
    const last = cpus().length - 1;
    if (last > 0) {
      const rps = `/sys/class/net/cli/queues/rx-0/rps_cpus`;
      await must('ip', [
        'netns',
        'exec',
        f.routerNs,
        'sh',
        '-c',
        `echo ${(1 << last).toString(16)} > ${rps}`,
      ]);
    }
    gen = await FrameGenerator.open(f.client.ns, 'eth0', { cpu: 0, frames });
    const rig = new Rig(f, gen, trialMs);

    await must('ip', ['-n', f.routerNs, 'route', 'replace', `${VIP}/32`, 'via', serverIp(1)]);
    const base = await rig.search(budgetMs);
    await must('ip', ['-n', f.routerNs, 'route', 'del', `${VIP}/32`, 'via', serverIp(1)]);
    r.say(`  router alone (route to one server): ${line(base)}`);
    r.figure('router_alone', { value: base.fps, unit: 'frames/s', note: line(base) });
    for (let n = 1; n <= NODES; n++) {
      await announce(f, n);
      const res = await rig.search(budgetMs);
      r.say(`  ${n} node${n > 1 ? 's' : ' '} behind the router:       ${line(res)}`);
      r.figure(`nodes_${n}`, {
        value: res.fps,
        unit: 'frames/s',
        baseline: base.fps,
        baseline_unit: 'frames/s (router alone)',
        note: line(res),
      });
    }
  } finally {
    gen?.close();
    await f.teardown();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) await run();
