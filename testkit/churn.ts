// Configuration changes under traffic (issue 8, item 9), shared by bench/churn.ts and test/e2e/churn.test.ts.
//
// A scenario: the namespace topology of topology.ts with a real lbdsrd in the balancer's namespace, one
// instance on the balancer's veths, a pool of N backends configured in ONE request, then backends removed
// and re-added K times through REST (one request at a time) while a bounded frame stream crosses the balancer.
// Frames are counted on interfaces: sent by the generator, received on `be` (the switch-side peer of the
// balancer's backend port, taken out of the bridge so the generated backend MACs are not flooded), plus the
// plane's own drop counters. The daemon answers a change only after the plane applied it and config.json
// is on disk (src/daemon/instances.ts `change`: validate and plan, plane.apply, persist, then reply); the
// answer's Server-Timing header says when, from the request's arrival, the change was live in the plane
// (`live`, kept per request in ChurnRun.timings) beside the round trip the driver measures. A few
// untimed cycles run first (WARMUP_CYCLES), so the figures are the daemon's steady state, not its JIT warm-up.
// The REST client (churn-agents.ts) and the frame generator (afgen.ts) run as child programs in namespaces.

import { FrameGenerator, RING_FRAMES } from './afgen.js';
import { buildTopology, prepareNativeXdp, type Topology, teardown } from './bridge.js';
import { type ChurnRun, Driver, type PoolEntry, WARMUP_CYCLES } from './churn-agents.js';
import { Daemon } from './daemon.js';
import { must } from './exec.js';
import { ifStats } from './netns.js';
import { sleep } from './timing.js';

export { type ChurnRun, type PoolEntry, WARMUP_CYCLES };

const INSTANCE_PATH = '/polycube/v1/lbdsr/lb1/';
const POOL_PATH = `${INSTANCE_PATH}backend/pool/`;

export type ChurnPlane = 'USERSPACE' | 'XDP_SKB' | 'XDP_DRV';

/** lbdsrd's priority in the scenario: BENCH_CHURN_NICE (lbdsrd --nice), else the default (inherited). */
export const CHURN_NICE = process.env.BENCH_CHURN_NICE;

function daemonArgs(): string[] {
  return CHURN_NICE === undefined || CHURN_NICE === '' ? [] : ['--nice', CHURN_NICE];
}

/** `n` backends with generated unicast, locally administered MACs 02:cb:00:ii:ii:ii (id i = 1..n). */
export function generatedPool(n: number): PoolEntry[] {
  const hex = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return { id: i, mac: `02:cb:00:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}` };
  });
}

export interface ChurnSetup {
  topo: Topology;
  daemon: Daemon;
  driver: Driver;
  plane: ChurnPlane;
}

/**
 * Builds the topology, starts lbdsrd, creates instance lb1 of type `plane` on the balancer's veths with a
 * pool of `backends` and prepares the switch side for counting (`be` out of the bridge, a static bridge
 * entry for the frontend MAC so client frames are not flooded). Cleans up after itself on failure.
 */
export async function setupChurn(
  plane: ChurnPlane,
  backends: number,
  passObject: string,
): Promise<ChurnSetup> {
  const topo = await buildTopology();
  let daemon: Daemon | undefined;
  let driver: Driver | undefined;
  try {
    const sw = topo.switchNs;
    await must('ip', ['-n', sw, 'link', 'set', 'be', 'nomaster']);
    await must('bridge', ['-n', sw, 'fdb', 'add', topo.frontendMac, 'dev', 'fe', 'master', 'static']);
    if (plane === 'XDP_DRV') await prepareNativeXdp(topo, passObject);
    daemon = new Daemon({ ns: topo.lbNs, logLevel: 'warn', args: daemonArgs() });
    await daemon.start();
    driver = new Driver(topo.lbNs, daemon.url);
    await driver.must('POST', INSTANCE_PATH, {
      type: plane,
      ports: [
        { name: 'frontend-port', type: 'FRONTEND', peer: topo.frontendIf },
        { name: 'backend-port', type: 'BACKEND', peer: topo.backendIf },
      ],
      frontend: { vip: topo.vip, mac: topo.frontendMac },
      backend: { pool: generatedPool(backends) },
      sessions: { capacity: 65536 },
    });
    return { topo, daemon, driver, plane };
  } catch (e) {
    driver?.close();
    if (e instanceof Error && daemon) e.message += `\n--- lbdsrd log ---\n${daemon.logTail(20)}`;
    await daemon?.dispose().catch(() => {});
    await teardown(topo);
    throw e;
  }
}

export async function disposeChurn(s: ChurnSetup): Promise<void> {
  s.driver.close();
  await s.daemon.dispose().catch(() => {});
  await teardown(s.topo);
}

interface Stats {
  drops: Record<string, number>;
  sessions: { active: number; stale: number };
  backends: Array<{ id: number; packets: number; sessions: number }>;
  plane?: { rxRingDrops?: number; restarts?: number };
}

async function stats(driver: Driver): Promise<Stats> {
  return (await driver.must('GET', `${INSTANCE_PATH}stats/`)).body as Stats;
}

export interface ChurnOutcome {
  /** Pool size during the churn. */
  backends: number;
  /** The one request that configured the pool (PUT of the whole pool), ms. */
  configureMs: number;
  /**
   * The backends removed and re-added in turn (those holding the most sessions, so that every removal
   * moves flows), the sessions they held before the churn, and the sessions re-picked during it (a
   * frame of a flow whose backend was removed: its session turned stale and got a new backend).
   */
  churned: { ids: number[]; sessions: number; repicked: number };
  run: ChurnRun;
  /** The pool size read back after the churn. */
  finalPool: number;
  stream: {
    rate: number;
    sent: number;
    elapsedMs: number;
    /** Frames counted on the balancer's frontend veth (rx). */
    arrived: number;
    /** Frames the balancer's backend veth transmitted (tx) and dropped on transmit (tx_dropped). */
    left: number;
    leftDropped: number;
    /** Frames the kernel dropped because the plane's RX ring was full (USERSPACE; counted in `lost`). */
    ringDrops: number;
    /** Times the plane's worker was restarted during the run (USERSPACE). */
    restarts: number;
    /** Frames counted behind the backend port (`be` rx). */
    received: number;
    /** Drops the plane counted during the stream, by reason (non-zero ones). */
    drops: Record<string, number>;
    /** sent - received - plane drops. */
    lost: number;
  };
}

function dropDelta(a: Stats, b: Stats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.drops)) {
    const d = v - (a.drops[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Interface statistics (sysfs names) of `ifname` inside `ns`. */
async function counters(ns: string, ifname: string, names: string[]): Promise<number[]> {
  const files = names.map((n) => `/sys/class/net/${ifname}/statistics/${n}`);
  const out = await must('ip', ['netns', 'exec', ns, 'cat', ...files]);
  return out.trim().split(/\s+/).map(Number);
}

/** Waits (bounded) until `read` stops changing for a few polls or reaches `target`. */
async function settled(read: () => Promise<number>, target: number, timeoutMs = 5000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = await read();
  let still = 0;
  while (last < target && still < 6 && Date.now() < until) {
    await sleep(50);
    const v = await read();
    still = v === last ? still + 1 : 0;
    last = v;
  }
  return last;
}

/**
 * Puts a pool of `backends` in one request, then runs a frame stream at `rate` frames/s while backends
 * (the busiest ones, in turn) are removed and re-added `cycles` times; counts frames once the counters
 * settle.
 */
export async function churnUnderTraffic(
  s: ChurnSetup,
  backends: number,
  cycles: number,
  rate: number,
): Promise<ChurnOutcome> {
  const { topo, driver } = s;
  const pool = generatedPool(backends);
  const configureMs = (await driver.must('PUT', POOL_PATH, pool)).ms;
  const c1 = topo.clients[0];
  if (!c1) throw new Error('the topology has no client');
  // One flow per ring slot (source ports 1024..9215).
  const frames = { srcMac: c1.mac, dstMac: topo.frontendMac, srcIp: c1.ip, vip: topo.vip };
  const stream = await FrameGenerator.open(c1.ns, 'eth0', {
    frames: { ...frames, flows: RING_FRAMES, dport: 7000 },
  });
  try {
    const rx = async () => (await ifStats(topo.switchNs, 'be')).rx;
    const fe = async () => (await ifStats(topo.lbNs, topo.frontendIf)).rx;
    const be = () => counters(topo.lbNs, topo.backendIf, ['tx_packets', 'tx_dropped']);
    const [rx0, fe0, be0, st0] = [await rx(), await fe(), await be(), await stats(driver)];
    stream.start({ rate, maxFrames: rate * 120, maxMs: 120_000 });
    // Let every flow start a session, then churn the backends that hold the most of them.
    await waitForSessions(driver, Math.min(RING_FRAMES, rate), 10_000);
    const busiest = [...(await stats(driver)).backends]
      .sort((a, b) => b.sessions - a.sessions)
      .slice(0, Math.max(1, Math.min(cycles + WARMUP_CYCLES, backends - 1)));
    const macOf = new Map(pool.map((b) => [b.id, b.mac]));
    const all = busiest.map((b) => ({ id: b.id, mac: macOf.get(b.id) ?? '' }));
    // The warm-up takes the least busy of them, so the timed cycles still find their flows in place.
    const targets = all.length > WARMUP_CYCLES ? all.slice(0, all.length - WARMUP_CYCLES) : all;
    await driver.warmUp(all.length > WARMUP_CYCLES ? all.slice(-WARMUP_CYCLES) : all);
    const before = await stats(driver);
    const run = await driver.churn(targets, cycles);
    const sent = await stream.stop();
    const received = (await settled(rx, rx0 + sent.sent)) - rx0;
    const arrived = (await settled(fe, fe0 + sent.sent)) - fe0;
    const be1 = await be();
    const st1 = await stats(driver);
    const drops = dropDelta(st0, st1);
    const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
    const finalPool = ((await driver.must('GET', POOL_PATH)).body as PoolEntry[]).length;
    return {
      backends,
      configureMs,
      churned: {
        ids: targets.map((t) => t.id),
        sessions: busiest.slice(0, targets.length).reduce((a, b) => a + b.sessions, 0),
        repicked: st1.sessions.stale - before.sessions.stale,
      },
      run,
      finalPool,
      stream: {
        rate,
        sent: sent.sent,
        elapsedMs: sent.elapsed,
        arrived,
        left: (be1[0] ?? 0) - (be0[0] ?? 0),
        leftDropped: (be1[1] ?? 0) - (be0[1] ?? 0),
        ringDrops: (st1.plane?.rxRingDrops ?? 0) - (st0.plane?.rxRingDrops ?? 0),
        restarts: (st1.plane?.restarts ?? 0) - (st0.plane?.restarts ?? 0),
        received,
        drops,
        lost: sent.sent - received - dropped,
      },
    };
  } finally {
    stream.close();
  }
}

/** Round trips (ms) of PUTs of a whole pool of `backends`, each replacing every backend of the last. */
async function putWholePools(driver: Driver, instance: string, backends: number, times: number) {
  const pools = [generatedPool(backends), generatedPool(2 * backends).slice(backends)];
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    out.push((await driver.must('PUT', `/polycube/v1/lbdsr/${instance}/backend/pool/`, pools[i % 2])).ms);
  }
  return out;
}

/**
 * The same remove/re-add sequence on an instance without ports (so without a data plane): what REST,
 * validation and persisting cost alone. With `stateDir` on tmpfs, persisting costs no disk flush either.
 * Then `puts` PUTs of the whole pool, each replacing every backend (issue 9 item 11: bounded work per
 * request), timed apart. A second lbdsrd (on `listen`) runs in the balancer namespace for it and is
 * stopped afterwards.
 */
export async function churnWithoutPlane(
  s: ChurnSetup,
  backends: number,
  cycles: number,
  opts: { listen: string; stateDir?: string; puts?: number },
): Promise<{ run: ChurnRun; putMs: number[] }> {
  const { puts = 0, ...listen } = opts;
  const daemon = new Daemon({ ns: s.topo.lbNs, logLevel: 'warn', args: daemonArgs(), ...listen });
  let driver: Driver | undefined;
  try {
    await daemon.start();
    driver = new Driver(s.topo.lbNs, daemon.url);
    const pool = generatedPool(backends);
    await driver.must('POST', '/polycube/v1/lbdsr/rest/', { backend: { pool } });
    const first = pool[0] ?? { id: 1, mac: '02:cb:00:00:00:01' };
    await driver.warmUp([first], 'rest');
    const run = await driver.churn([first], cycles, 'rest');
    return { run, putMs: await putWholePools(driver, 'rest', backends, puts) };
  } finally {
    driver?.close();
    await daemon.dispose();
  }
}

/** Waits (bounded) until the plane holds `want` sessions (every flow of the stream seen once). */
async function waitForSessions(driver: Driver, want: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await stats(driver)).sessions.active >= want) return;
    await sleep(50);
  }
}
