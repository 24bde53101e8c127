// Shared by the e2e suites of issue 10's runtime (health, drain, weights, plan): the topology of
// testkit/bridge.ts with its servers, lbdsrd in the balancer's namespace configured by lbdsrctl the way
// a user would (the seed's commands, the pool pointed at the real backends, a plane type, probe_ip), and
// what those tests read back: `backend pool show -json` (configuration plus BackendStatus per backend),
// the event log, HTTP clients counted per backend. Run for each type of LBDSR_E2E_TYPES.
import assert from 'node:assert/strict';
import type { BackendConfig, BackendStatus, StatsSnapshot } from '../../src/core/model.js';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { Daemon } from '../../testkit/daemon.js';
import { must } from '../../testkit/exec.js';
import { repointPool, seedCommandsFor } from '../../testkit/seed.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { type ClientResult, client, type Servers, startServers } from '../../testkit/traffic.js';

export const TYPES = (process.env.LBDSR_E2E_TYPES ?? 'USERSPACE,XDP_SKB')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter(Boolean);

/** The source address of health probes: on the backend segment, owned by no host. */
export const PROBE_IP = '10.0.0.250';

export type PoolEntry = BackendConfig & BackendStatus;

export class Bed {
  servers: Servers | undefined;
  readonly byName = new Map<string, Servers>();

  private constructor(
    readonly topo: Topology,
    readonly d: Daemon,
  ) {}

  /** Topology, servers, lbdsrd (with `args`) with lb1 on `type` serving b1..b3 by MAC, probe_ip set. */
  static async up(type: string, args: string[] = []): Promise<Bed> {
    const topo = await buildTopology();
    const d = new Daemon({ ns: topo.lbNs, args });
    const bed = new Bed(topo, d);
    try {
      bed.servers = await startServers(topo);
      await d.start();
      for (const cmd of [...seedCommandsFor(topo), ...repointPool(topo)]) await bed.sh(cmd);
      await bed.ctl('lbdsr', 'lb1', 'set', `type=${type}`);
      await bed.ctl('lbdsr', 'lb1', 'set', `probe_ip=${PROBE_IP}`);
    } catch (e) {
      await bed.down();
      throw e;
    }
    return bed;
  }

  async down(): Promise<void> {
    this.servers?.stop();
    for (const s of this.byName.values()) s.stop();
    await this.d.dispose().catch(() => {});
    await teardown(this.topo);
  }

  /** A command line as a user types it; throws with the CLI's message and the daemon's log. */
  async sh(line: string): Promise<string> {
    const r = await this.d.shell(line);
    if (r.code !== 0) throw new Error(`${line} failed: ${r.stderr}${r.stdout}\n${this.d.logTail()}`);
    return r.stdout;
  }

  ctl(...args: string[]): Promise<string> {
    return this.sh(`lbdsrctl ${args.map((a) => `'${a}'`).join(' ')}`);
  }

  backend(id: number) {
    const b = this.topo.backends.find((x) => x.id === id);
    assert.ok(b, `backend ${id}`);
    return b;
  }

  /** `backend pool show -json`: each backend's configuration and status. */
  async pool(): Promise<PoolEntry[]> {
    return JSON.parse(await this.ctl('lbdsr', 'lb1', 'backend', 'pool', 'show', '-json')) as PoolEntry[];
  }

  async entry(id: number): Promise<PoolEntry | undefined> {
    return (await this.pool()).find((b) => b.id === id);
  }

  /** Waits until backend `id`'s entry satisfies `cond` (bounded); returns it. */
  async waitEntry(id: number, what: string, cond: (e: PoolEntry) => boolean, timeoutMs = 20_000) {
    let last: PoolEntry | undefined;
    await mustWaitFor(
      `backend ${id}: ${what} (last: ${JSON.stringify(last)})\n${this.d.logTail(15)}`,
      async () => {
        last = await this.entry(id);
        return last !== undefined && cond(last);
      },
      { timeoutMs, intervalMs: 200 },
    ).catch((e: Error) => {
      e.message = e.message.replace('(last: undefined)', `(last: ${JSON.stringify(last)})`);
      throw e;
    });
    return last as PoolEntry;
  }

  async events(): Promise<{ type: string; message: string; origin: string }[]> {
    return JSON.parse(await this.ctl('lbdsr', 'lb1', 'events', 'show', '-json'));
  }

  /** GET /metrics of the daemon (from inside its namespace). */
  async metrics(): Promise<string> {
    const js = `fetch('${this.d.url}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    return must('ip', ['netns', 'exec', this.topo.lbNs, process.execPath, '-e', js]);
  }

  /** The backend ids in service `svc`'s Maglev table as the running plane holds it (`GET .../maglev`). */
  async tableIds(svc = 'default'): Promise<number[]> {
    const path = `/polycube/v1/lbdsr/lb1/services/${svc}/maglev`;
    const js = `fetch('${this.d.url}${path}').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const view = JSON.parse(await must('ip', ['netns', 'exec', this.topo.lbNs, process.execPath, '-e', js]));
    return (view as { backends: { id: number }[] }).backends.map((b) => b.id).sort((a, b) => a - b);
  }

  /**
   * Waits until the running plane's table of `svc` holds backend `id` (`inTable`) or not. A verdict that
   * `pool show` reports is observed first and planned right after; traffic sent in between still meets
   * the table before it, so a test that asserts on traffic waits for the plane.
   */
  async waitTable(id: number, inTable: boolean, svc = 'default'): Promise<void> {
    let last: number[] = [];
    await mustWaitFor(
      `backend ${id} ${inTable ? 'in' : 'out of'} the plane's table`,
      async () => {
        last = await this.tableIds(svc);
        return last.includes(id) === inTable;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    ).catch((e: Error) => {
      e.message += ` (table: ${JSON.stringify(last)})\n${this.d.logTail(15)}`;
      throw e;
    });
  }

  async stats(): Promise<StatsSnapshot> {
    return JSON.parse(await this.ctl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;
  }

  /** `count` new HTTP connections to the VIP from client c1. */
  http(count: number, extra: Record<string, number | string> = {}): Promise<ClientResult> {
    const ns = this.topo.clients[0]?.ns ?? '';
    return client(ns, 'http', { count, concurrency: 6, 'timeout-ms': 3000, 'deadline-ms': 60_000, ...extra });
  }

  /** Kills the server process of backend `name` (b1..b3). */
  killServer(name: string): void {
    const i = this.topo.backends.findIndex((b) => b.name === name);
    const p = this.byName.get(name)?.procs[0] ?? this.servers?.procs[i];
    p?.kill('SIGKILL');
  }

  /** Starts the server of backend `name` again. */
  async startServer(name: string): Promise<void> {
    const b = this.topo.backends.filter((x) => x.name === name);
    this.byName.set(name, await startServers({ ...this.topo, backends: b }));
  }
}

/** The value of one series of a scrape (`name{a="b",...}`), undefined when absent. */
export function seriesValue(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export function noFailures(r: ClientResult, what: string): void {
  assert.equal(
    r.failures,
    0,
    `${what}: failures ${JSON.stringify(r.errors)} counts ${JSON.stringify(r.counts)}`,
  );
}
