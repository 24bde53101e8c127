// The USERSPACE data plane: the TypeScript pipeline on AF_PACKET rings, in a worker thread per instance
// so that the daemon's event loop stays free while frames flow. See docs/dataplanes.md (USERSPACE).
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { DROP_REASON_NAMES } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { ResolvedPorts, SessionEntry, StatsSnapshot } from '../../core/model.js';
import { ControlState } from '../../pipeline/control.js';
import type { Plan } from '../../pipeline/plan.js';
import type { DataPlane, PortPeers } from '../types.js';
import {
  DEFAULT_RINGS,
  type Envelope,
  type PlaneHealth,
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
  /** Where the worker's log lines go (default: stderr for warnings and errors). */
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** How long a request to the worker may take before it fails. */
  timeoutMs?: number;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

const EMPTY_STATS = (): StatsSnapshot => ({
  rx: { packets: 0, bytes: 0 },
  tx: { frontend: 0, backend: 0 },
  arpReplies: 0,
  drops: Object.fromEntries(DROP_REASON_NAMES.slice(1).map((n) => [n, 0])),
  sessions: { hit: 0, miss: 0, expired: 0, stale: 0, evicted: 0, active: 0 },
  backends: [],
});

export class UserspacePlane implements DataPlane {
  readonly kind = 'USERSPACE' as const;
  readonly instance: string;
  private readonly opts: UserspacePlaneOptions;
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (b: ReplyBody) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited: Promise<void> | null = null;
  private closed = false;
  /** The control state the worker holds (to start a replacement worker from). */
  private readonly held = new ControlState();

  constructor(instance: string, opts: UserspacePlaneOptions = {}) {
    this.instance = instance;
    this.opts = opts;
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
    const init: WorkerInit = { instance: this.instance, rings };
    if (this.opts.netns) init.netns = this.opts.netns;
    if (this.opts.cpu !== undefined) init.cpu = this.opts.cpu;
    if (this.opts.nice !== undefined) init.nice = this.opts.nice;
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { init, port: port2 },
      transferList: [port2],
      name: `lbdsr-${this.instance}`,
    });
    this.worker = worker;
    this.port = port1;
    port1.on('message', (r: Reply) => this.onReply(r));
    const log = this.opts.log ?? defaultLog(this.instance);
    worker.on('error', (e) => {
      log('error', `worker of ${this.instance} failed: ${e.stack ?? e.message}`);
      this.failAll(e);
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', () => {
        this.failAll(new Error(`the worker of ${this.instance} stopped`));
        this.worker = null;
        this.port?.close();
        this.port = null;
        resolve();
      });
    });
  }

  private onReply(r: Reply): void {
    if ('log' in r) {
      (this.opts.log ?? defaultLog(this.instance))(r.log, r.msg);
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
      const env: Envelope = { id, req };
      port.postMessage(env);
    });
  }

  async apply(plan: Plan, ports: ResolvedPorts, peers: PortPeers = {}): Promise<void> {
    if (this.closed) throw new LbdsrError('LBDSR_NOT_AVAILABLE', `instance ${this.instance}: plane closed`);
    // The ports follow their peer interface by name; the daemon's resolution is a fallback.
    const to = (p: Plan): Request => ({
      op: 'apply',
      plan: p,
      frontendIf: peers.frontend ?? ports.frontend?.ifname,
      backendIf: peers.backend ?? ports.backend?.ifname,
    });
    if (!this.worker) {
      this.start();
      // A worker started again (the previous one stopped) holds nothing: first the state it missed.
      if (!plan.full) await this.request(to(this.held.fullPlan()));
    }
    await this.request(to(plan));
    this.held.commit(plan);
  }

  async stats(): Promise<StatsSnapshot> {
    if (!this.worker) return EMPTY_STATS();
    return ((await this.request({ op: 'stats' })) as StatsSnapshot | null) ?? EMPTY_STATS();
  }

  async sessions(limit: number): Promise<SessionEntry[]> {
    if (!this.worker) return [];
    return (await this.request({ op: 'sessions', limit })) as SessionEntry[];
  }

  /** Port attachment, ring drops and TX failures as the worker sees them. */
  async health(): Promise<PlaneHealth | null> {
    if (!this.worker) return null;
    return (await this.request({ op: 'health' })) as PlaneHealth;
  }

  async close(_opts?: { keep?: boolean }): Promise<void> {
    this.closed = true;
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

function defaultLog(instance: string): (level: 'info' | 'warn' | 'error', msg: string) => void {
  return (level, msg) => {
    if (level !== 'info') process.stderr.write(`lbdsr[${instance}] ${level}: ${msg}\n`);
  };
}
