// The data planes of the instances: created when an instance has a port with a live peer, replaced when
// the kind changes, given every new configuration as a Plan against the control state the plane holds
// (src/dataplane/driver.ts), brought back to that state when they refuse one. Planning is where a bad
// configuration is refused, also for an instance that has no plane. A supervised plane (USERSPACE) logs
// its failures and restarts here, and its status (RUNNING, FAILED) is shown with the instance.
import { DROP_REASON_NAMES } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import type {
  InstanceConfig,
  Observations,
  PlaneType,
  ResolvedPort,
  ResolvedPorts,
  SessionEntry,
  StatsSnapshot,
} from '../core/model.js';
import { rxByPort, txByPort } from '../core/port-counts.js';
import { PlaneDriver } from '../dataplane/driver.js';
import type { DataPlane, PlaneStatus, StatsOptions } from '../dataplane/types.js';
import type { NetDev } from '../kernel/netdev.js';
import { ControlState } from '../pipeline/control.js';
import { checkConfig, instancePorts } from '../pipeline/desired.js';
import { describe, type ExplainRequest, type ExplainResult, explainFrame } from '../pipeline/explain.js';
import { explainFrame6, isIpv6Request } from '../pipeline/explain6.js';
import type { Plan } from '../pipeline/plan.js';

export interface PlaneFactory {
  create(kind: PlaneType, instance: string): Promise<DataPlane>;
  detect(ports: ResolvedPorts): Promise<PlaneType>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Resolves the ports that have a peer to their interfaces; missing interfaces are left out. */
export function resolvePorts(
  config: InstanceConfig,
  netdev: (name: string) => NetDev | undefined,
): ResolvedPorts {
  const out: ResolvedPorts = {};
  for (const p of config.ports) {
    if (!p.peer) continue;
    const dev = netdev(p.peer);
    if (!dev) continue;
    const r: ResolvedPort = { name: p.name, ifname: dev.name, ifindex: dev.ifindex, mac: dev.mac };
    if (p.type === 'FRONTEND') out.frontend = r;
    else out.backend = r;
  }
  return out;
}

export function samePorts(a: ResolvedPorts, b: ResolvedPorts): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function hasPorts(r: ResolvedPorts): boolean {
  return r.frontend !== undefined || r.backend !== undefined;
}

export function zeroStats(config: InstanceConfig): StatsSnapshot {
  return {
    rx: rxByPort([]),
    tx: txByPort([], 0, 0),
    arpReplies: 0,
    ndReplies: 0,
    drops: Object.fromEntries(DROP_REASON_NAMES.slice(1).map((n) => [n, 0])),
    sessions: { hit: 0, miss: 0, expired: 0, stale: 0, unrecorded: 0, evicted: 0, active: 0 },
    fragments: { hit: 0, miss: 0 },
    backends: config.backend.pool.map((b) => ({ id: b.id, packets: 0, bytes: 0, sessions: 0 })),
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function unavailable(kind: PlaneType, e: unknown): LbdsrError {
  if (e instanceof LbdsrError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND') {
    return new LbdsrError('LBDSR_NOT_AVAILABLE', `the ${kind} data plane is not available yet in this build`);
  }
  return new LbdsrError('LBDSR_NOT_AVAILABLE', `the ${kind} data plane could not be loaded: ${message(e)}`);
}

function failed(kind: PlaneType, e: unknown): LbdsrError {
  if (e instanceof LbdsrError) return e;
  return new LbdsrError('LBDSR_NOT_AVAILABLE', `the ${kind} data plane refused the change: ${message(e)}`);
}

/**
 * Where the time of one change goes, filled in as it runs (performance.now() instants and ms), for the
 * Server-Timing header of its answer (routes/context.ts).
 */
export interface ChangeTiming {
  /** The change reached the daemon's change road (after the request was parsed and schema-checked). */
  start?: number;
  /** The configuration was validated and the plan computed. */
  planned?: number;
  /** The data plane had applied the plan: the change is live (no plane: the plan was checked). */
  live?: number;
  /** config.json was on disk. */
  persisted?: number;
}

/** What happened to a plane, for the event log and the metrics (src/metrics/events.ts). */
export interface PlaneEvent {
  instance: string;
  plane: PlaneType;
  event: 'attached' | 'closed' | 'failed' | 'restarted';
  message?: string;
}

/** A dry run (routes/dry-run.ts): the plan of a change and the live sessions per slot, nothing applied. */
export interface PlanPreview {
  plan: Plan;
  sessions: Map<number, number>;
}

interface Running {
  /** The plane and the control state it holds. */
  driver: PlaneDriver;
  config: InstanceConfig;
  ports: ResolvedPorts;
}

export class PlaneManager {
  private readonly running = new Map<string, Running>();
  /** Told of every attach, close and failure of a plane (and, with supervision, its restarts). */
  onEvent: (e: PlaneEvent) => void = () => {};
  /** What the daemon observed of the backends of an instance (src/daemon/runtime), for every plan. */
  observe: (name: string) => Observations | undefined = () => undefined;

  constructor(
    private readonly factory: PlaneFactory,
    private readonly log: Logger,
    /** A plane operation that takes longer fails the request (the plane is then dropped). */
    private readonly timeoutMs = 20_000,
  ) {}

  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            Object.assign(new Error(`${what} did not finish within ${this.timeoutMs} ms`), {
              timedOut: true,
            }),
          ),
        this.timeoutMs,
      );
    });
    return Promise.race([p, limit]).finally(() => clearTimeout(timer));
  }

  kind(name: string): PlaneType | undefined {
    return this.running.get(name)?.driver.plane.kind;
  }

  /** Whether the plane of `name` works (undefined without a plane). */
  status(name: string): PlaneStatus | undefined {
    const plane = this.running.get(name)?.driver.plane;
    if (!plane) return undefined;
    return plane.status?.() ?? { status: 'RUNNING', restarts: 0 };
  }

  /** A new plane of `name` reports its failures and restarts through the daemon's logger. */
  private supervise(plane: DataPlane, name: string): DataPlane {
    plane.setLog?.((level, msg, event) => {
      this.log[level]({ instance: name, plane: plane.kind }, msg);
      if (event) this.onEvent({ instance: name, plane: plane.kind, event, message: msg });
    });
    return plane;
  }

  /** The plane of `name` with the control state it holds (routes/maglev.ts reads its tables). */
  driver(name: string): PlaneDriver | undefined {
    return this.running.get(name)?.driver;
  }

  ports(name: string): ResolvedPorts | undefined {
    return this.running.get(name)?.ports;
  }

  /**
   * Brings the plane of `config.name` in line with `config`. A bad config throws before anything
   * changes. On failure the previous plane and its state are restored (as far as possible) and the
   * error is thrown.
   */
  async reconcile(
    config: InstanceConfig,
    ports: ResolvedPorts,
    typeChanged: boolean,
    timing: ChangeTiming = {},
  ): Promise<void> {
    const name = config.name;
    const cur = this.running.get(name);
    // The one semantic check of the configuration, also when there is no plane to give it to: an
    // instance without ports only checks it (no throw-away control state and full plan of 65,537
    // Maglev entries per change); a new plane gets the full plan of an empty state.
    const observe = this.observe(name);
    const plan = cur
      ? cur.driver.plan(config, ports, observe)
      : hasPorts(ports)
        ? new ControlState().plan(config, instancePorts(ports), observe)
        : undefined;
    if (plan === undefined) checkConfig(config, instancePorts(ports), undefined, observe);
    timing.planned = performance.now();
    if (!hasPorts(ports) || plan === undefined) {
      if (config.type && typeChanged) await this.probe(config.type, name);
      if (cur) await this.stop(name, false);
      return;
    }
    // automatic: keep the running kind while the interfaces stay the same, detect otherwise
    const kind = cur?.driver.plane.kind;
    const want =
      config.type ?? (cur && samePorts(cur.ports, ports) ? kind! : await this.factory.detect(ports));
    if (cur && kind === want) {
      await this.change(cur, plan, config, ports);
      return;
    }
    let next: DataPlane;
    try {
      next = this.supervise(await this.factory.create(want, name), name);
    } catch (e) {
      this.onEvent({ instance: name, plane: want, event: 'failed', message: message(e) });
      throw unavailable(want, e);
    }
    if (cur) await this.stop(name, false);
    const driver = new PlaneDriver(next);
    try {
      // a new plane starts from an empty state: it gets a full plan
      const first = cur ? driver.plan(config, ports, observe) : plan;
      await this.bounded(driver.send(first, config, ports), 'attaching');
    } catch (e) {
      await this.bounded(next.close(), 'closing').catch(() => {});
      if (cur) await this.restore(cur, name);
      this.onEvent({ instance: name, plane: want, event: 'failed', message: message(e) });
      throw failed(want, e);
    }
    this.running.set(name, { driver, config, ports });
    this.log.info({ instance: name, plane: want }, 'data plane attached');
    this.onEvent({ instance: name, plane: want, event: 'attached' });
  }

  /**
   * A dry run: the plan of `config` against what the plane holds (without a plane: against `old`) and
   * the plane's live sessions per slot (none without a plane). Nothing changes.
   */
  async preview(config: InstanceConfig, ports: ResolvedPorts, old?: InstanceConfig): Promise<PlanPreview> {
    const cur = this.running.get(config.name);
    const observe = this.observe(config.name);
    if (cur) {
      const plan = cur.driver.plan(config, ports, observe);
      return { plan, sessions: (await cur.driver.plane.sessionCounts?.()) ?? new Map() };
    }
    const base = new ControlState();
    if (old) base.apply(old, instancePorts(ports), observe);
    return { plan: base.plan(config, instancePorts(ports), observe), sessions: new Map() };
  }

  /** Hands a plan to a running plane of the right kind; brings it back to its state when it fails. */
  private async change(
    cur: Running,
    plan: Plan,
    config: InstanceConfig,
    ports: ResolvedPorts,
  ): Promise<void> {
    const name = config.name;
    const { driver } = cur;
    try {
      await this.bounded(driver.send(plan, config, ports), 'applying the change');
      this.running.set(name, { driver, config, ports });
    } catch (e) {
      this.onEvent({ instance: name, plane: driver.plane.kind, event: 'failed', message: message(e) });
      if ((e as { timedOut?: boolean }).timedOut) {
        this.log.error({ instance: name, err: message(e) }, 'data plane hung; dropping it');
        this.running.delete(name);
        await this.bounded(driver.plane.close(), 'closing').catch(() => {});
        throw failed(driver.plane.kind, e);
      }
      this.log.error({ instance: name, err: message(e) }, 'data plane refused the change; rolling back');
      try {
        await this.bounded(driver.restore(cur.config, cur.ports), 'rolling back');
      } catch (e2) {
        this.log.error({ instance: name, err: message(e2) }, 'rollback of the data plane failed');
      }
      throw failed(driver.plane.kind, e);
    }
  }

  private async probe(kind: PlaneType, name: string): Promise<void> {
    let p: DataPlane;
    try {
      p = await this.factory.create(kind, name);
    } catch (e) {
      throw unavailable(kind, e);
    }
    await p.close().catch(() => {});
  }

  private async restore(prev: Running, name: string): Promise<void> {
    try {
      const plane = await this.factory.create(prev.driver.plane.kind, name);
      const driver = new PlaneDriver(this.supervise(plane, name));
      await this.bounded(driver.apply(prev.config, prev.ports, this.observe(name)), 'restoring');
      this.running.set(name, { driver, config: prev.config, ports: prev.ports });
    } catch (e) {
      this.log.error({ instance: name, err: message(e) }, 'could not restore the previous data plane');
    }
  }

  async stop(name: string, keep: boolean): Promise<void> {
    const cur = this.running.get(name);
    if (!cur) return;
    this.running.delete(name);
    try {
      await cur.driver.plane.close({ keep });
      this.log.info({ instance: name, plane: cur.driver.plane.kind, keep }, 'data plane closed');
      this.onEvent({ instance: name, plane: cur.driver.plane.kind, event: 'closed' });
    } catch (e) {
      this.log.error({ instance: name, err: message(e) }, 'closing the data plane failed');
    }
  }

  async stopAll(keep: boolean): Promise<void> {
    for (const name of [...this.running.keys()]) await this.stop(name, keep);
  }

  async stats(config: InstanceConfig, opts?: StatsOptions): Promise<StatsSnapshot> {
    const cur = this.running.get(config.name);
    if (!cur) return zeroStats(config);
    const { plane } = cur.driver;
    const s = await plane.stats(opts);
    return {
      ...s,
      plane: s.plane ?? {
        kind: plane.kind,
        ...(this.status(config.name) ?? { status: 'RUNNING', restarts: 0 }),
      },
    };
  }

  /**
   * Live sessions per backend (`${service}/${id}`) of the plane of `name`, from one walk of its
   * session table (empty without a plane). Costly: the runtime caches it (src/daemon/runtime).
   */
  async backendSessions(name: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const cur = this.running.get(name);
    if (!cur?.driver.plane.sessionCounts) return out;
    const bySlot = await cur.driver.plane.sessionCounts();
    const { control } = cur.driver;
    for (const [slot, n] of bySlot) {
      const owner = control.slots[slot];
      const service = owner && control.serviceNames[owner.service];
      if (owner && service) out.set(`${service}/${owner.id}`, n);
    }
    return out;
  }

  /** What the plane of `name` does with the frame of `req`, decided by the plane without effect. */
  async explain(name: string, req: ExplainRequest): Promise<ExplainResult> {
    const cur = this.running.get(name);
    const plane = cur?.driver.plane;
    if (!cur || !plane?.explain)
      throw new LbdsrError(
        'LBDSR_NOT_AVAILABLE',
        `instance ${name} has no running data plane to explain with`,
      );
    const build = isIpv6Request(req) ? explainFrame6 : explainFrame;
    const { frame, port } = build(req, cur.driver.control);
    return describe(await plane.explain(frame, port), frame, port, cur.driver.control, plane.kind);
  }

  async sessions(name: string, limit: number): Promise<SessionEntry[]> {
    const cur = this.running.get(name);
    return cur ? cur.driver.plane.sessions(limit) : [];
  }
}
