// Configuration changes under traffic (issue 8, item 9), shared by bench/churn.ts and test/e2e/churn.test.ts.
//
// A scenario: the namespace topology of topology.ts with a real lbdsrd in the balancer's namespace, one
// instance on the balancer's veths, a pool of N backends configured in ONE request, then one backend removed
// and re-added K times through REST (one request at a time) while a bounded frame stream crosses the balancer.
// Frames are counted on interfaces: sent by the generator, received on `be` (the switch-side peer of the
// balancer's backend port, taken out of the bridge so the generated backend MACs are not flooded), plus the
// plane's own drop counters. The daemon answers a change only after the plane applied it (src/daemon/app.ts
// `change`: validate, await PlaneManager.reconcile -> plane.apply, persist, then reply), so the time from
// sending a request to its answer bounds the time until the change is live in the data plane. A few
// untimed cycles run first (WARMUP_CYCLES), so the figures are the daemon's steady state, not its JIT warm-up.
//
// Two child programs of this file run inside namespaces (the daemon listens on the balancer namespace's
// loopback, which this process cannot reach; Node cannot setns):
//   node churn.js drive          in the balancer ns: a REST client (fetch, as lbdsrctl) reading one JSON
//                                job a line on stdin and answering one JSON line with timings;
//   node churn.js gen IFINDEX    in a client ns: an AF_PACKET TX-ring generator of UDP frames to the VIP,
//                                one flow per ring slot, paced at a fixed rate, bounded in count and time.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  PacketSocket,
  RingArena,
  TP_STATUS_AVAILABLE,
  TP_STATUS_SEND_REQUEST,
  TP2_LEN,
  TP2_TX_DATA,
} from '../../src/kernel/afpacket.js';
import * as libc from '../../src/kernel/libc.js';
import { ETH_P_IPV4, ethernet, ipv4, padTo, udp } from '../../src/packet/build.js';
import { Daemon } from './daemon.js';
import { must, sleep } from './exec.js';
import { buildTopology, ifStats, prepareNativeXdp, type Topology, teardown } from './topology.js';

const SELF = fileURLToPath(import.meta.url);
const INSTANCE_PATH = '/polycube/v1/lbdsr/lb1/';
const POOL_PATH = `${INSTANCE_PATH}backend/pool/`;
const poolPath = (instance: string) => `/polycube/v1/lbdsr/${instance}/backend/pool/`;

export type ChurnPlane = 'USERSPACE' | 'XDP_SKB' | 'XDP_DRV';

export interface PoolEntry {
  id: number;
  mac: string;
}

/** `n` backends with generated unicast, locally administered MACs 02:cb:00:ii:ii:ii (id i = 1..n). */
export function generatedPool(n: number): PoolEntry[] {
  const hex = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return { id: i, mac: `02:cb:00:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}` };
  });
}

// ---- the REST driver (child, balancer namespace) ---------------------------------------------------

type Job =
  | { op: 'request'; method: string; path: string; body?: unknown }
  | { op: 'churn'; instance: string; targets: PoolEntry[]; cycles: number };

interface Answer {
  status: number;
  ms: number;
  body: unknown;
}

async function timedRequest(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(60_000) };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  const ms = performance.now() - t0;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, ms, body: parsed };
}

async function drive(base: string): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    const job = JSON.parse(line) as Job;
    let out: unknown;
    try {
      if (job.op === 'request') {
        out = await timedRequest(base, job.method, job.path, job.body);
      } else {
        const ms: number[] = [];
        const statuses: number[] = [];
        for (let c = 0; c < job.cycles; c++) {
          const target = job.targets[c % job.targets.length];
          if (!target) throw new Error('churn needs at least one target');
          const path = `${poolPath(job.instance)}${target.id}/`;
          const del = await timedRequest(base, 'DELETE', path);
          const add = await timedRequest(base, 'POST', path, { mac: target.mac });
          ms.push(del.ms, add.ms);
          statuses.push(del.status, add.status);
          if (del.status >= 300 || add.status >= 300) {
            out = { ms, statuses, error: JSON.stringify(del.status >= 300 ? del.body : add.body) };
            break;
          }
        }
        out ??= { ms, statuses };
      }
    } catch (e) {
      out = { error: (e as Error).message };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

/** A line-oriented child process: one JSON line in, one JSON line out. */
class LineChild {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(ns: string, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, SELF, ...args], { stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next output line, parsed; throws after `timeoutMs` or when the child ended. */
  async next<T>(timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<IteratorResult<string>>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: undefined }), timeoutMs);
    });
    const r = await Promise.race([this.lines.next(), limit]).finally(() => clearTimeout(timer));
    if (r.done) throw new Error(`${SELF} ${this.what()}: no answer within ${timeoutMs} ms: ${this.stderr}`);
    return JSON.parse(r.value) as T;
  }

  private what(): string {
    return String(this.child.spawnargs.slice(5).join(' '));
  }

  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export interface ChurnRun {
  /** Per request (DELETE, POST, DELETE, ...), request sent to answer read, ms. */
  ms: number[];
  statuses: number[];
  error?: string;
}

/** Untimed remove/re-add cycles run first: the daemon's code paths for this pool size get compiled. */
export const WARMUP_CYCLES = 3;

/** The REST client inside the balancer namespace. */
export class Driver {
  private readonly child: LineChild;

  constructor(ns: string, url: string) {
    this.child = new LineChild(ns, ['drive', url]);
  }

  async request(method: string, path: string, body?: unknown): Promise<Answer> {
    this.child.send(JSON.stringify({ op: 'request', method, path, body }));
    const a = await this.child.next<Answer & { error?: string }>(90_000);
    if (a.error) throw new Error(`${method} ${path}: ${a.error}`);
    return a;
  }

  /** Like `request`, throws unless the answer is 2xx. */
  async must(method: string, path: string, body?: unknown): Promise<Answer> {
    const a = await this.request(method, path, body);
    if (a.status >= 300) throw new Error(`${method} ${path} -> ${a.status}: ${JSON.stringify(a.body)}`);
    return a;
  }

  /**
   * `cycles` times: DELETE a backend, then POST it back with its MAC, one request at a time; cycle c
   * churns `targets[c % targets.length]`.
   */
  async churn(targets: PoolEntry[], cycles: number, instance = 'lb1'): Promise<ChurnRun> {
    this.child.send(JSON.stringify({ op: 'churn', instance, targets, cycles }));
    return this.child.next<ChurnRun>(cycles * 2 * 30_000 + 10_000);
  }

  /** `churn` for WARMUP_CYCLES, untimed; throws unless every answer is 2xx. */
  async warmUp(targets: PoolEntry[], instance = 'lb1'): Promise<void> {
    const r = await this.churn(targets, WARMUP_CYCLES, instance);
    if (r.error || r.statuses.some((st) => st >= 300)) throw new Error(`warm-up failed: ${r.error}`);
  }

  close(): void {
    this.child.close();
  }
}

// ---- the frame generator (child, client namespace) --------------------------------------------------

export interface StreamSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  vip: string;
  /** Frames per second. */
  rate: number;
  /** At most this many frames. */
  maxFrames: number;
  /** At most this long, ms. */
  maxMs: number;
}

const RING_FRAMES = 8192; // one UDP flow per slot: source ports 1024..9215
const SLOT = 128;

async function generate(ifindex: number, spec: StreamSpec): Promise<void> {
  const tx = { frames: RING_FRAMES, frameSize: SLOT, blockSize: 4096 };
  const bytes = PacketSocket.mapBytes({ tx });
  const arena = new RingArena(bytes);
  const off = arena.carve(bytes);
  const sock = PacketSocket.open(
    { ifindex, receive: false, tx, qdiscBypass: true, label: 'churn generator' },
    arena.addr(off),
  );
  for (let i = 0; i < RING_FRAMES; i++) {
    const seg = udp({
      sport: 1024 + i,
      dport: 7000,
      payload: new Uint8Array(18),
      pseudo: { src: spec.srcIp, dst: spec.vip },
    });
    const payload = ipv4({ src: spec.srcIp, dst: spec.vip, proto: 17, payload: seg });
    const f = padTo(ethernet({ dst: spec.dstMac, src: spec.srcMac, type: ETH_P_IPV4, payload }));
    arena.u8.set(f, off + i * SLOT + TP2_TX_DATA);
    arena.dv.setUint32(off + i * SLOT + TP2_LEN, f.length, true);
  }
  let stop = false;
  const input = createInterface({ input: process.stdin });
  const started = new Promise<void>((resolve) => {
    input.on('line', (l) => {
      if (l.trim() === 'start') resolve();
      if (l.trim() === 'stop') stop = true;
    });
    input.on('close', () => {
      stop = true;
      resolve();
    });
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await started;
  const i32 = arena.i32;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let idx = 0;
  let sent = 0;
  const t0 = performance.now();
  let lastYield = t0;
  for (let now = t0; !stop && sent < spec.maxFrames && now - t0 < spec.maxMs; now = performance.now()) {
    const due = Math.min(spec.maxFrames, Math.floor(((now - t0) * spec.rate) / 1000));
    let queued = 0;
    while (sent < due && queued < 256) {
      const s = (off + idx * SLOT) >> 2;
      if (Atomics.load(i32, s) !== TP_STATUS_AVAILABLE) break; // ring full: retried on the next turn
      Atomics.store(i32, s, TP_STATUS_SEND_REQUEST);
      idx = (idx + 1) % RING_FRAMES;
      sent++;
      queued++;
    }
    if (queued > 0) libc.kick(sock.fd, libc.MSG_DONTWAIT);
    else Atomics.wait(nap, 0, 0, 0.2);
    if (now - lastYield > 5) {
      await new Promise((r) => setImmediate(r)); // lets a `stop` line in
      lastYield = now;
    }
  }
  const elapsedMs = performance.now() - t0;
  // Wait (bounded) until the kernel took every queued slot, so `sent` frames really left.
  const until = Date.now() + 5000;
  for (let k = 0; k < RING_FRAMES && Date.now() < until; ) {
    if (Atomics.load(i32, (off + k * SLOT) >> 2) === TP_STATUS_AVAILABLE) k++;
    else {
      libc.kick(sock.fd, libc.MSG_DONTWAIT);
      Atomics.wait(nap, 0, 0, 1);
    }
  }
  sock.close();
  arena.free();
  process.stdout.write(`${JSON.stringify({ sent, elapsedMs })}\n`);
}

/** A running frame stream; `stop()` ends it early and resolves with what was sent. */
export class FrameStream {
  private readonly child: LineChild;
  private readonly spec: StreamSpec;

  private constructor(child: LineChild, spec: StreamSpec) {
    this.child = child;
    this.spec = spec;
  }

  /** Starts the generator on `ifname` in `ns` and waits until its ring is ready (it does not send yet). */
  static async open(ns: string, ifname: string, spec: StreamSpec): Promise<FrameStream> {
    const ifindex = Number(
      (await must('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/ifindex`])).trim(),
    );
    const child = new LineChild(ns, ['gen', String(ifindex), JSON.stringify(spec)]);
    try {
      await child.next<{ ready: boolean }>(15_000);
    } catch (e) {
      child.close();
      throw e;
    }
    return new FrameStream(child, spec);
  }

  start(): void {
    this.child.send('start');
  }

  /** Ends the stream (if still running) and returns the count of frames the kernel took. */
  async stop(): Promise<{ sent: number; elapsedMs: number }> {
    this.child.send('stop');
    try {
      return await this.child.next<{ sent: number; elapsedMs: number }>(this.spec.maxMs + 15_000);
    } finally {
      this.child.close();
    }
  }

  close(): void {
    this.child.close();
  }
}

// ---- the scenario (host side) ------------------------------------------------------------------------

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
    daemon = new Daemon({ ns: topo.lbNs, logLevel: 'warn' });
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
  const stream = await FrameStream.open(c1.ns, 'eth0', {
    srcMac: c1.mac,
    dstMac: topo.frontendMac,
    srcIp: c1.ip,
    vip: topo.vip,
    rate,
    maxFrames: rate * 120,
    maxMs: 120_000,
  });
  try {
    const rx = async () => (await ifStats(topo.switchNs, 'be')).rx;
    const fe = async () => (await ifStats(topo.lbNs, topo.frontendIf)).rx;
    const be = () => counters(topo.lbNs, topo.backendIf, ['tx_packets', 'tx_dropped']);
    const [rx0, fe0, be0, st0] = [await rx(), await fe(), await be(), await stats(driver)];
    stream.start();
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
        elapsedMs: sent.elapsedMs,
        arrived,
        left: (be1[0] ?? 0) - (be0[0] ?? 0),
        leftDropped: (be1[1] ?? 0) - (be0[1] ?? 0),
        received,
        drops,
        lost: sent.sent - received - dropped,
      },
    };
  } finally {
    stream.close();
  }
}

/**
 * The same remove/re-add sequence on an instance without ports (so without a data plane): what REST,
 * validation and persisting cost alone. With `stateDir` on tmpfs, persisting costs no disk flush either.
 * A second lbdsrd (on `listen`) runs in the balancer namespace for it and is stopped afterwards.
 */
export async function churnWithoutPlane(
  s: ChurnSetup,
  backends: number,
  cycles: number,
  opts: { listen: string; stateDir?: string },
): Promise<ChurnRun> {
  const daemon = new Daemon({ ns: s.topo.lbNs, logLevel: 'warn', ...opts });
  let driver: Driver | undefined;
  try {
    await daemon.start();
    driver = new Driver(s.topo.lbNs, daemon.url);
    const pool = generatedPool(backends);
    await driver.must('POST', '/polycube/v1/lbdsr/rest/', { backend: { pool } });
    const first = pool[0] ?? { id: 1, mac: '02:cb:00:00:00:01' };
    await driver.warmUp([first], 'rest');
    return await driver.churn([first], cycles, 'rest');
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

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv[2] === 'drive') await drive(process.argv[3] ?? 'http://127.0.0.1:9000');
  else if (process.argv[2] === 'gen')
    await generate(Number(process.argv[3]), JSON.parse(process.argv[4] ?? '{}') as StreamSpec);
}
