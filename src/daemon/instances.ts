// The instances of the daemon and the one road a change takes: computed on a copy of the instance,
// validated whole, applied to the data plane, persisted, and only then committed; a failed save rolls
// the data plane back. Changes (and the interface watch) run one at a time through `serial`, and so do
// the refreshes that re-plan an instance when what the daemon observed of its backends changed.
import { randomUUID } from 'node:crypto';
import { LbdsrError } from '../core/errors.js';
import type { FrontendMode } from '../core/model.js';
import type { NetDev } from '../kernel/netdev.js';
import { type StoredInstance, validateInstance } from './config.js';
import { clone } from './document.js';
import type { IdleCollector } from './idle-gc.js';
import { checkLimits, DEFAULT_LIMITS, type Limits } from './limits.js';
import {
  type ChangeTiming,
  type Logger,
  type PlaneManager,
  type PlanPreview,
  resolvePorts,
} from './planes.js';
import { saveState } from './store.js';

/** An instance as GET shows it: the stored configuration plus what is live (plane, port status). */
export interface InstanceView {
  name: string;
  type: string;
  plane: string;
  /** RUNNING, FAILED (the plane's worker died; it is being restarted) or NONE without a plane. */
  planeStatus: string;
  /** Why the plane FAILED. */
  planeReason?: string;
  loglevel: string;
  algorithm: string;
  mode: FrontendMode;
  /** Only when set: its default follows the mode (docs/api.md). */
  host_pass?: boolean;
  standby: boolean;
  ports: Array<{ name: string; type: string; peer?: string; status: 'UP' | 'DOWN'; uuid: string }>;
  frontend: StoredInstance['frontend'];
  backend: StoredInstance['backend'];
  services?: StoredInstance['services'];
  probe_ip?: string;
  sessions: StoredInstance['sessions'];
}

/** `dryRun`: the change stops after planning (nothing changes) and its preview is put in `result`. */
export interface ChangeOptions {
  dryRun?: { result?: PlanPreview };
}

export class Instances {
  private readonly map = new Map<string, StoredInstance>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Instances whose refresh is queued and has not started yet (a burst of observations re-plans once). */
  private readonly refreshing = new Set<string>();
  /** Told of every committed change (undefined: the instance was deleted) and of every adoption. */
  onChange: (name: string, config: StoredInstance | undefined) => void = () => {};
  /** What the host can hold (limits.ts). */
  limits: Limits = DEFAULT_LIMITS;
  /** Collects the young generation when the queue has drained (idle-gc.ts); none: V8's own timing. */
  collector: IdleCollector | undefined;

  constructor(
    private readonly stateDir: string,
    readonly planes: PlaneManager,
    readonly netdev: (name: string) => NetDev | undefined,
    private readonly log: Logger,
  ) {}

  /** Runs `fn` after every change queued before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    const settled: Promise<unknown> = run.then(
      () => this.drained(settled),
      () => this.drained(settled),
    );
    this.queue = settled;
    return run;
  }

  /** A queued run ended: when nothing was queued after it, the daemon is idle. */
  private drained(settled: Promise<unknown>): void {
    if (this.queue === settled) this.collector?.idle();
  }

  /** Resolves when every queued change has finished. */
  idle(): Promise<unknown> {
    return this.queue;
  }

  all(): StoredInstance[] {
    return [...this.map.values()];
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  need(name: string): StoredInstance {
    const i = this.map.get(name);
    if (!i) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
    return i;
  }

  /** Takes a validated configuration as it is (restore at start: nothing to persist). */
  adopt(config: StoredInstance): void {
    this.map.set(config.name, config);
    this.onChange(config.name, config);
  }

  /**
   * Re-plans instance `name` with what the daemon observed now (health, ARP MACs: src/daemon/runtime)
   * without changing its stored configuration: nothing is persisted. Serialized with the changes; a
   * refresh queued while another one waits is the same refresh.
   */
  refresh(name: string): Promise<void> {
    if (this.refreshing.has(name)) return this.queue.then(() => {});
    this.refreshing.add(name);
    return this.serial(async () => {
      this.refreshing.delete(name);
      const config = this.map.get(name);
      if (!config) return;
      await this.planes.reconcile(config, resolvePorts(config, this.netdev), false);
    });
  }

  view(cfg: StoredInstance): InstanceView {
    const v = clone(cfg);
    const st = this.planes.status(cfg.name);
    return {
      name: v.name,
      type: cfg.type ?? 'AUTO',
      plane: this.planes.kind(cfg.name) ?? 'NONE',
      planeStatus: st?.status ?? 'NONE',
      ...(st?.reason !== undefined ? { planeReason: st.reason } : {}),
      loglevel: v.loglevel,
      algorithm: v.algorithm,
      mode: v.mode ?? 'L2',
      ...(v.host_pass !== undefined ? { host_pass: v.host_pass } : {}),
      standby: v.standby ?? false,
      ports: v.ports.map((p) => ({
        name: p.name,
        type: p.type,
        ...(p.peer !== undefined ? { peer: p.peer } : {}),
        status: p.peer && this.netdev(p.peer)?.up ? 'UP' : 'DOWN',
        uuid: p.uuid,
      })),
      frontend: v.frontend,
      backend: v.backend,
      ...(v.services ? { services: v.services } : {}),
      ...(v.probe_ip !== undefined ? { probe_ip: v.probe_ip } : {}),
      sessions: v.sessions,
    };
  }

  private persist(): void {
    try {
      saveState(this.stateDir, { version: 1, instances: this.all() }, this.limits.stateBytes);
    } catch (e) {
      if (e instanceof LbdsrError) throw e; // a full disk keeps its own code (507)
      throw new LbdsrError('LBDSR_INTERNAL', 'could not save the configuration', { cause: e });
    }
  }

  /**
   * Computes the new document of instance `name` from the old one (undefined = absent), validates it,
   * applies it to the data plane, persists and commits; returns the warnings. `compute` returns a new
   * document and leaves `old` as it is (the operations of document.ts work on copies; an instance of
   * 4,096 backends is not copied once more); null deletes the instance.
   */
  change(
    name: string,
    compute: (old: StoredInstance | undefined) => unknown,
    timing: ChangeTiming = {},
    opts: ChangeOptions = {},
  ): Promise<string[]> {
    return this.serial(async () => {
      timing.start = performance.now();
      this.collector?.changeStarted();
      try {
        return await this.changeNow(name, compute, timing, opts);
      } finally {
        this.collector?.changeEnded();
      }
    });
  }

  private async changeNow(
    name: string,
    compute: (old: StoredInstance | undefined) => unknown,
    timing: ChangeTiming,
    opts: ChangeOptions,
  ): Promise<string[]> {
    const old = this.map.get(name);
    const doc = compute(old);
    if (doc === null) return this.remove(name, old, timing);
    const { config, warnings } = validateInstance(doc, {
      old,
      others: this.all().filter((i) => i.name !== name),
      interfaceExists: (n) => this.netdev(n) !== undefined,
      newUuid: randomUUID,
      // compute gave a new document (see above): it is normalised in place, not copied once more
      owned: true,
    });
    checkLimits(config, old, this.map.size, this.limits);
    for (const w of warnings) this.log.warn({ instance: name }, w);
    const ports = resolvePorts(config, this.netdev);
    if (opts.dryRun) {
      opts.dryRun.result = await this.planes.preview(config, ports, old);
      return warnings;
    }
    await this.planes.reconcile(config, ports, config.type !== old?.type, timing);
    timing.live = performance.now();
    this.map.set(name, config);
    try {
      this.persist();
    } catch (e) {
      await this.rollback(name, old);
      throw e;
    }
    timing.persisted = performance.now();
    this.onChange(name, config);
    return warnings;
  }

  private async remove(
    name: string,
    old: StoredInstance | undefined,
    timing: ChangeTiming,
  ): Promise<string[]> {
    if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
    timing.planned = performance.now();
    this.map.delete(name);
    try {
      this.persist();
    } catch (e) {
      this.map.set(name, old);
      throw e;
    }
    timing.persisted = performance.now();
    await this.planes.stop(name, false);
    timing.live = performance.now();
    this.onChange(name, undefined);
    this.log.info({ instance: name }, 'instance deleted');
    return [];
  }

  /** Puts the instance and its data plane back as they were before a change that could not be saved. */
  private async rollback(name: string, old: StoredInstance | undefined): Promise<void> {
    if (old) {
      this.map.set(name, old);
      await this.planes.reconcile(old, resolvePorts(old, this.netdev), true).catch(() => {});
    } else {
      this.map.delete(name);
      await this.planes.stop(name, false);
    }
  }
}
