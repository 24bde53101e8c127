// What the metrics and the rate sampler read from the daemon: per instance, the configuration figures
// they need and the data plane's counters. Counters are read without walking the session table (a
// plane's stats({walk: false})); the active and evicted sessions, which only a walk of the table
// gives, are cached per instance and refreshed by a full read at most once per `walkEveryMs`
// (default 10 s), whatever the scrape rate; the backends' status (health, live sessions) comes from
// the daemon's runtime, which bounds its own reads. Pure of I/O itself: the reads are given by the daemon.
import type { BackendStatus, InstanceConfig, PlaneType, StatsSnapshot } from '../core/model.js';

/** How the daemon is read (src/daemon/app.ts adapts its instances and planes to this). */
export interface DaemonView {
  /** The instances, in their order. */
  instances(): InstanceConfig[];
  /** The data plane in use by an instance, undefined without one. */
  plane(name: string): PlaneType | undefined;
  /** The counters of an instance (zeros without a plane); `walk` false: counters only. */
  stats(config: InstanceConfig, walk: boolean): Promise<StatsSnapshot>;
  /** What is live about each backend (`${service}/${id}`): health, serving, live sessions (src/daemon/runtime). */
  backends?(name: string): Promise<Map<string, BackendStatus>>;
}

export interface InstanceReading {
  name: string;
  plane: PlaneType | undefined;
  config: InstanceConfig;
  stats: StatsSnapshot;
  /** full() only: the backends' status by `${service}/${id}` (when the daemon gives it). */
  backends?: Map<string, BackendStatus>;
}

interface WalkCache {
  at: number;
  plane: PlaneType | undefined;
  active: number;
  evicted: number;
}

export const DEFAULT_WALK_EVERY_MS = 10_000;

export class Readings {
  private readonly walks = new Map<string, WalkCache>();

  constructor(
    private readonly view: DaemonView,
    readonly walkEveryMs = DEFAULT_WALK_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counters only, every instance (the rate sampler). */
  counters(): Promise<InstanceReading[]> {
    return Promise.all(this.view.instances().map((config) => this.read(config, false)));
  }

  /** Counters, and active/evicted sessions from a walk no older than walkEveryMs (the metrics). */
  async full(): Promise<InstanceReading[]> {
    const configs = this.view.instances();
    const names = new Set(configs.map((c) => c.name));
    for (const n of this.walks.keys()) if (!names.has(n)) this.walks.delete(n);
    return Promise.all(configs.map((config) => this.readCached(config)));
  }

  private async read(config: InstanceConfig, walk: boolean): Promise<InstanceReading> {
    const plane = this.view.plane(config.name);
    const stats = await this.view.stats(config, walk);
    return { name: config.name, plane, config, stats };
  }

  private async readCached(config: InstanceConfig): Promise<InstanceReading> {
    const r = await this.readWalked(config);
    if (this.view.backends) r.backends = await this.view.backends(config.name);
    return r;
  }

  private async readWalked(config: InstanceConfig): Promise<InstanceReading> {
    const t = this.now();
    const cached = this.walks.get(config.name);
    const plane = this.view.plane(config.name);
    const fresh = cached && cached.plane === plane && t - cached.at < this.walkEveryMs;
    const r = await this.read(config, !fresh);
    if (fresh) {
      r.stats.sessions.active = cached.active;
      r.stats.sessions.evicted = cached.evicted;
    } else {
      const { active, evicted } = r.stats.sessions;
      this.walks.set(config.name, { at: t, plane: r.plane, active, evicted });
    }
    return r;
  }
}
