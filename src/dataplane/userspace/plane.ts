// The USERSPACE data plane: the TypeScript pipeline on AF_PACKET rings, in a worker thread per instance
// so that the daemon's event loop stays free while frames flow, and supervised: a worker that dies is
// logged, the plane shows FAILED with the reason, and a new worker is started (with backoff) from the
// state the old one held. Gratuitous ARP for new VIPs and MACs leaves through a socket of its own
// (../announce.ts). See docs/dataplanes.md (USERSPACE).
import { writeFileSync } from 'node:fs';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { DROP_REASON_NAMES } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { ResolvedPorts, SessionEntry, StatsSnapshot } from '../../core/model.js';
import { inNetns } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import { ControlState } from '../../pipeline/control.js';
import type { ExplainTrace } from '../../pipeline/explain.js';
import type { Plan } from '../../pipeline/plan.js';
import { ServiceAnnouncer } from '../announce.js';
import type { DataPlane, PlaneLog, PlaneStatus, PortPeers, StatsOptions } from '../types.js';
import {
  DEFAULT_RINGS,
  type PlaneHealth,
  postRequest,
  type Reply,
  type ReplyBody,
  type Request,
  type RingSettings,
  type WorkerInit,
} from './protocol.js';

export interface UserspacePlaneOptions {
  /** Run the worker inside this network namespace (/run/netns/NAME); default: the daemon's own. */
  netns?: string;
  rings?: Partial<RingSettings>;
  /** Pin the worker thread to this CPU (benchmarks, dedicated cores). */
  cpu?: number;
  /** Nice value of the worker thread, e.g. -10 to keep frames flowing when other work competes. */
  nice?: number;
  /** Where the worker's log lines and the plane's failures go (default: stderr for warnings and errors). */
  log?: PlaneLog;
  /** How long a request to the worker may take before it fails. */
  timeoutMs?: number;
  /** The first delay before a dead worker is restarted (default 100 ms; it doubles up to 10 s). */
  restartMs?: number;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** A dead worker is restarted after RESTART_MIN_MS, doubling per failed or short-lived worker up to MAX. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before it died is restarted after RESTART_MIN_MS again. */
const RESTART_RESET_MS = 30_000;

const EMPTY_STATS = (): StatsSnapshot => ({
  rx: { packets: 0, bytes: 0 },
  tx: { frontend: 0, backend: 0 },
  arpReplies: 0,
  ndReplies: 0,
  drops: Object.fromEntries(DROP_REASON_NAMES.slice(1).map((n) => [n, 0])),
  sessions: { hit: 0, miss: 0, expired: 0, stale: 0, unrecorded: 0, evicted: 0, active: 0 },
  fragments: { hit: 0, miss: 0 },
  backends: [],
});

export class UserspacePlane implements DataPlane {
  readonly kind = 'USERSPACE' as const;
  readonly instance: string;
  private readonly opts: UserspacePlaneOptions;
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  /** The current worker's wake cell (protocol.ts, WorkerInit.wake). */
  private wake = new Int32Array(new SharedArrayBuffer(4));
  /** The current worker's wake eventfd (WorkerInit.wakeFd); -1 once it exited and the fd was closed. */
  private wakeFd = -1;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (b: ReplyBody) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited: Promise<void> | null = null;
  private closed = false;
  /** The control state the worker holds (to start a replacement worker from). */
  private readonly held = new ControlState();
  private readonly announcer = new ServiceAnnouncer();
  /** The interfaces of the last apply (for a replacement worker). */
  private peers: { frontendIf?: string; backendIf?: string } = {};
  private log: PlaneLog;
  private state: PlaneStatus = { status: 'RUNNING', restarts: 0 };
  /** Why the current worker is dying (its uncaught exception), reported when it exits. */
  private dying: string | undefined;
  private startedAt = 0;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(instance: string, opts: UserspacePlaneOptions = {}) {
    this.instance = instance;
    this.opts = opts;
    this.log = opts.log ?? defaultLog(instance);
    this.backoffMs = opts.restartMs ?? RESTART_MIN_MS;
  }

  setLog(log: PlaneLog): void {
    this.log = log;
  }

  status(): PlaneStatus {
    return { ...this.state };
  }

  private start(): void {
    const rings: RingSettings = { ...DEFAULT_RINGS, ...this.opts.rings };
    if (
      (rings.rxMode !== 'frames' && rings.rxMode !== 'blocks') ||
      !isPow2(rings.rxFrames) ||
      rings.rxFrames < 2 ||
      !isPow2(rings.rxBlockSize) ||
      rings.rxBlockSize < 65536 ||
      !Number.isInteger(rings.rxBlocks) ||
      rings.rxBlocks < 2 ||
      !isPow2(rings.txFrames) ||
      !isPow2(rings.frameSize) ||
      rings.frameSize < 2048
    ) {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `ring sizes must be powers of two (frame >= 2048): ${JSON.stringify(rings)}`,
      );
    }
    this.wake = new Int32Array(new SharedArrayBuffer(4));
    const wakeFd = libc.eventfd();
    this.wakeFd = wakeFd;
    const init: WorkerInit = {
      instance: this.instance,
      rings,
      wake: this.wake.buffer as SharedArrayBuffer,
      wakeFd,
    };
    if (this.opts.netns) init.netns = this.opts.netns;
    if (this.opts.cpu !== undefined) init.cpu = this.opts.cpu;
    if (this.opts.nice !== undefined) init.nice = this.opts.nice;
    if (process.env.LBDSR_TEST_CRASH_FILE) init.crashFile = process.env.LBDSR_TEST_CRASH_FILE;
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { init, port: port2 },
        transferList: [port2],
        name: `lbdsr-${this.instance}`,
      });
    } catch (e) {
      this.wakeFd = -1;
      libc.close(wakeFd);
      throw e;
    }
    this.worker = worker;
    this.port = port1;
    this.startedAt = performance.now();
    this.dying = undefined;
    port1.on('message', (r: Reply) => this.onReply(r));
    worker.on('error', (e) => {
      this.dying = e.message;
      this.log('error', `worker of ${this.instance} failed: ${e.stack ?? e.message}`);
      this.failAll(e);
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        // no request is signalled on the fd number once it is closed (it may name another file then)
        if (this.wakeFd === wakeFd) this.wakeFd = -1;
        libc.close(wakeFd);
        this.failAll(new Error(`the worker of ${this.instance} stopped`));
        this.worker = null;
        this.port?.close();
        this.port = null;
        if (!this.closed) this.died(this.dying ?? `the worker exited (code ${code})`);
        resolve();
      });
    });
  }

  /** The worker died without being asked to stop: FAILED until a new one holds the state again. */
  private died(reason: string): void {
    this.state = { status: 'FAILED', reason, restarts: this.state.restarts };
    if (performance.now() - this.startedAt >= RESTART_RESET_MS)
      this.backoffMs = this.opts.restartMs ?? RESTART_MIN_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(RESTART_MAX_MS, this.backoffMs * 2);
    this.log(
      'error',
      `the data plane of ${this.instance} FAILED: ${reason}; restarting it in ${delay} ms`,
      'failed',
    );
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart();
    }, delay);
    this.restartTimer.unref();
  }

  /** Starts a new worker with the state the dead one held. */
  private async restart(): Promise<void> {
    if (this.closed || this.worker) return;
    try {
      await this.revive(true);
      this.recovered();
      this.log(
        'warn',
        `the data plane of ${this.instance} was restarted (restart ${this.state.restarts})`,
        'restarted',
      );
    } catch (e) {
      this.log('error', `restarting the data plane of ${this.instance} failed: ${(e as Error).message}`);
      // A worker that started but refused its state is stopped: its exit schedules the next attempt.
      const w = this.worker as Worker | null; // revive() may have started one
      this.dying = `restart failed: ${(e as Error).message}`;
      if (w) await w.terminate();
      else if (!this.closed) this.died(`restart failed: ${(e as Error).message}`);
    }
  }

  /** Starts a worker; `withState`: gives it the committed state first (a new worker holds nothing). */
  private async revive(withState: boolean): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.start();
    if (withState) await this.request({ op: 'apply', plan: this.held.fullPlan(), ...this.peers });
  }

  /** A new worker holds the state: a FAILED plane runs again, and that counts as a restart. */
  private recovered(): void {
    if (this.state.status === 'FAILED') this.state = { status: 'RUNNING', restarts: this.state.restarts + 1 };
  }

  /** Test hook: makes the worker throw (honoured only when the test set LBDSR_TEST_CRASH_FILE). */
  crashForTest(): void {
    const f = process.env.LBDSR_TEST_CRASH_FILE;
    if (f) writeFileSync(f, '');
  }

  private onReply(r: Reply): void {
    if ('log' in r) {
      this.log(r.log, r.msg);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) p.resolve(r.body);
    else if (r.code) p.reject(new LbdsrError(r.code as LbdsrError['code'], r.error));
    else p.reject(new LbdsrError('LBDSR_INTERNAL', r.error));
  }

  private failAll(e: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new LbdsrError('LBDSR_INTERNAL', e.message));
      this.pending.delete(id);
    }
  }

  private request(req: Request): Promise<ReplyBody> {
    const port = this.port;
    if (!port)
      return Promise.reject(
        new LbdsrError('LBDSR_NOT_AVAILABLE', `instance ${this.instance}: plane not running`),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new LbdsrError('LBDSR_INTERNAL', `instance ${this.instance}: the worker did not answer ${req.op}`),
        );
      }, this.opts.timeoutMs ?? 10_000);
      this.pending.set(id, { resolve, reject, timer });
      // a worker napping between batches reads it at once (protocol.ts, WorkerInit.wake)
      postRequest(port, this.wake, this.wakeFd, { id, req });
    });
  }

  async apply(plan: Plan, ports: ResolvedPorts, peers: PortPeers = {}): Promise<void> {
    if (this.closed) throw new LbdsrError('LBDSR_NOT_AVAILABLE', `instance ${this.instance}: plane closed`);
    // The ports follow their peer interface by name; the daemon's resolution is a fallback.
    const ifs = {
      frontendIf: peers.frontend ?? ports.frontend?.ifname,
      backendIf: peers.backend ?? ports.backend?.ifname,
    };
    // Gratuitous ARP (../announce.ts): its socket opens now, in the namespace of the worker's ports.
    this.announcer.track(plan);
    const feIf = ifs.frontendIf;
    const ns = this.opts.netns;
    const garp = ns ? inNetns(ns, () => this.announcer.prepare(feIf)) : this.announcer.prepare(feIf);
    try {
      if (!this.worker) {
        this.peers = ifs;
        // A worker started again (the previous one died) holds nothing: first the state it missed.
        await this.revive(!plan.full);
      }
      await this.request({ op: 'apply', plan, ...ifs });
    } catch (e) {
      for (const a of garp) a.cancel();
      throw e;
    }
    this.peers = ifs;
    this.held.commit(plan);
    this.recovered();
    this.announcer.start(garp);
  }

  /** The counters, with the plane's status, restarts and RX ring drops (zeros while it has no worker). */
  async stats(opts: StatsOptions = {}): Promise<StatsSnapshot> {
    let s = EMPTY_STATS();
    let rxRingDrops = 0;
    if (this.worker) {
      const req = { op: 'stats' as const, walk: opts.walk !== false };
      const [st, h] = await Promise.all([this.request(req), this.health()]);
      s = (st as StatsSnapshot | null) ?? s;
      rxRingDrops = h?.rxRingDrops ?? 0;
    }
    // it reads no frame of the BACKEND port (the kernel has them): no rx to report there (docs/metrics.md)
    const { backend: _notRead, ...rx } = s.rx;
    return { ...s, rx, plane: { kind: this.kind, ...this.status(), rxRingDrops } };
  }

  async sessions(limit: number): Promise<SessionEntry[]> {
    if (!this.worker) return [];
    return (await this.request({ op: 'sessions', limit })) as SessionEntry[];
  }

  /** Live sessions per backend slot, counted by the worker in its own table (empty while it has none). */
  async sessionCounts(): Promise<Map<number, number>> {
    if (!this.worker) return new Map();
    return (await this.request({ op: 'sessionCounts' })) as Map<number, number>;
  }

  /** The worker's own Balancer decides the frame without recording it (Balancer.explain). */
  async explain(frame: Uint8Array, port: number): Promise<ExplainTrace> {
    if (!this.worker)
      throw new LbdsrError('LBDSR_NOT_AVAILABLE', 'the USERSPACE plane has no worker running');
    return (await this.request({ op: 'explain', frame, port })) as ExplainTrace;
  }

  /** Port attachment, ring drops and TX failures as the worker sees them. */
  async health(): Promise<PlaneHealth | null> {
    if (!this.worker) return null;
    return (await this.request({ op: 'health' })) as PlaneHealth;
  }

  async close(_opts?: { keep?: boolean }): Promise<void> {
    this.closed = true;
    this.announcer.cancel();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.request({ op: 'stop' });
    } catch {
      // Fall through to terminate.
    }
    const exited = this.exited;
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }
}

function defaultLog(instance: string): PlaneLog {
  return (level, msg) => {
    if (level !== 'info') process.stderr.write(`lbdsr[${instance}] ${level}: ${msg}\n`);
  };
}
