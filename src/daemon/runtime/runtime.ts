// What is live about the backends of every instance, beyond their configuration (contract "Runtime"):
// the observations (ARP MAC, health) that re-plan an instance when they change, without changing its
// stored configuration (Instances.refresh); the live sessions per backend, read from the plane at most
// every SESSIONS_MAX_AGE_MS; BackendStatus for `pool show`; the drain watcher (drain.ts); and the glue
// to the health prober (probing.ts). Health, MAC and drain changes go to the event log.
import type { BackendConfig, BackendStatus, Observations } from '../../core/model.js';
import type { EventInput } from '../../metrics/events.js';
import type { StoredInstance } from '../config.js';
import type { Instances } from '../instances.js';
import type { Logger } from '../planes.js';
import { checkOf, healthOf, isServing, macOf, servicesOf } from './backends.js';
import { type Drained, DrainWatcher } from './drain.js';
import { backendKey, ObservationStore } from './observations.js';
import { type ProberFactory, Probing, realProber } from './probing.js';
import { proberEvents, type ReportSink } from './reports.js';

/** Live session counts of an instance are read from its plane at most this often (ms). */
export const SESSIONS_MAX_AGE_MS = 2000;

export interface RuntimeOptions {
  /** Period of the drain watcher and prober check (ms); 0: no timer (tests call tick()). Default 1000. */
  tickMs?: number;
  now?: () => number;
  /** Health probers (default: src/health's BackendProber on the BACKEND interface). */
  prober?: ProberFactory;
}

interface Counted {
  at: number;
  counts: Map<string, number>;
}

export class Runtime {
  readonly observed = new ObservationStore();
  private readonly counted = new Map<string, Counted>();
  private readonly reading = new Map<string, Promise<Counted>>();
  private readonly drain: DrainWatcher;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private ticking: Promise<void> | undefined;
  private readonly probing: Probing;
  /** Pools (stored configurations are replaced, never changed in place) indexed by backend id. */
  private readonly poolIndex = new WeakMap<BackendConfig[], Map<number, BackendConfig>>();
  /** Told after the re-plan that follows a health or MAC change of an instance (announcements). */
  onObserved: (instance: string) => void = () => {};
  /** Told of every finished health probe (metrics). */
  onProbe: (instance: string, key: string, ok: boolean, latencyMs: number) => void = () => {};

  constructor(
    private readonly instances: Instances,
    private readonly log: Logger,
    private readonly record: (instance: string, e: EventInput) => void,
    opts: RuntimeOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.drain = new DrainWatcher({
      instances: () => instances.all(),
      sessions: (name, since) => this.sessionsSince(name, since),
      change: (name, compute) => instances.change(name, compute),
      now: this.now,
    });
    const sink: ReportSink = {
      observed: this.observed,
      config: (name) => this.configOf(name),
      event: (name, e, level) => this.event(name, e, level),
      refresh: (name) =>
        void instances
          .refresh(name)
          .catch((e) =>
            log.warn({ instance: name, err: String(e) }, 're-planning after a health change failed'),
          )
          .finally(() => this.onObserved(name)),
      probe: (name, key, ok, ms) => this.onProbe(name, key, ok, ms),
    };
    this.probing = new Probing(opts.prober ?? realProber, (name) => proberEvents(name, sink), log);
    const period = opts.tickMs ?? 1000;
    if (period > 0) {
      this.timer = setInterval(() => void this.tick(), period);
      this.timer.unref();
    }
  }

  private configOf(name: string): StoredInstance | undefined {
    return this.instances.has(name) ? this.instances.need(name) : undefined;
  }

  /** The BACKEND interface of `config` when it exists (where its prober listens). */
  private backendIf(config: StoredInstance): string | undefined {
    const peer = config.ports.find((p) => p.type === 'BACKEND')?.peer;
    return peer !== undefined && this.instances.netdev(peer) ? peer : undefined;
  }

  /** The observations of `instance`, as ControlState.plan reads them. */
  observe(instance: string): Observations {
    return this.observed.observations(instance);
  }

  /** Logs `e` in the instance's event log and the daemon's log. */
  event(instance: string, e: EventInput, level: 'info' | 'warn' = 'info'): void {
    this.log[level]({ instance }, e.message);
    this.record(instance, e);
  }

  /** Live sessions per `${service}/${id}`, read from the plane when the last read is older than maxAgeMs. */
  async sessions(instance: string, maxAgeMs = SESSIONS_MAX_AGE_MS): Promise<Map<string, number>> {
    return (await this.sessionsSince(instance, this.now() - maxAgeMs)).counts;
  }

  /** The counts of a read made at or after `since` (ms since the epoch): the cached one or a new one. */
  private sessionsSince(instance: string, since: number): Promise<Counted> {
    const c = this.counted.get(instance);
    if (c && c.at >= since) return Promise.resolve(c);
    let p = this.reading.get(instance);
    if (!p) {
      const at = this.now();
      p = this.instances.planes
        .backendSessions(instance)
        .then((counts) => {
          const r = { at, counts };
          if (this.instances.has(instance)) this.counted.set(instance, r);
          return r;
        })
        .finally(() => this.reading.delete(instance));
      this.reading.set(instance, p);
    }
    // a read that started before `since` cannot answer for it: read again after it
    return p.then((r) => (r.at >= since ? r : this.sessionsSince(instance, since)));
  }

  /** Backend by id of a pool (`pool show` asks for each backend of a pool of up to 4,096). */
  private byId(pool: BackendConfig[]): Map<number, BackendConfig> {
    let m = this.poolIndex.get(pool);
    if (!m) {
      m = new Map(pool.map((b) => [b.id, b]));
      this.poolIndex.set(pool, m);
    }
    return m;
  }

  /** What is live about backend `id` of `service` (cached sessions; see sessions() for fresh ones). */
  status(instance: string, service: string, id: number): BackendStatus {
    const config = this.instances.all().find((i) => i.name === instance);
    const svc = config && servicesOf(config).find((s) => s.name === service);
    const b = svc && this.byId(svc.backend.pool).get(id);
    const o = this.observed.get(instance, service, id);
    const counted = this.counted.get(instance);
    // the next show gets a fresh count (a read is made at most every SESSIONS_MAX_AGE_MS)
    if (!counted || this.now() - counted.at > SESSIONS_MAX_AGE_MS)
      void this.sessions(instance).catch((e) =>
        this.log.warn({ instance, err: String(e) }, 'reading live sessions failed'),
      );
    const sessions = counted?.counts.get(backendKey(service, id)) ?? 0;
    if (!svc || !b) return { health: 'UNKNOWN', mac_source: 'NONE', sessions, serving: false };
    const check = checkOf(svc.backend, b);
    const health = healthOf(check, o);
    const mac = macOf(b, o);
    const st: BackendStatus = {
      health,
      mac_source: mac.source,
      sessions,
      serving: isServing(b, mac.mac, health),
    };
    if (check && o?.healthSince !== undefined) st.health_since = o.healthSince;
    if (check && o?.healthReason !== undefined) st.health_reason = o.healthReason;
    if (mac.mac !== undefined) st.mac_in_use = mac.mac;
    if (o?.macSeen !== undefined) st.mac_seen = o.macSeen;
    if (o?.arpFlux) st.arp_flux = true;
    return st;
  }

  /** The status of every backend of `instance` by `${service}/${id}`, sessions at most 2 s old. */
  async statuses(instance: string): Promise<Map<string, BackendStatus>> {
    const out = new Map<string, BackendStatus>();
    const config = this.configOf(instance);
    if (!config) return out;
    await this.sessions(instance);
    for (const svc of servicesOf(config))
      for (const b of svc.backend.pool)
        out.set(backendKey(svc.name, b.id), this.status(instance, svc.name, b.id));
    return out;
  }

  /**
   * After every change of `instance` (undefined: deleted): its prober follows, what was observed of
   * removed backends goes, and so does the health of a backend that no longer has a check.
   */
  changed(instance: string, config: StoredInstance | undefined): void {
    if (!config) {
      this.observed.forget(instance);
      this.counted.delete(instance);
      this.probing.sync(instance, undefined, undefined);
      return;
    }
    this.probing.sync(instance, config, this.backendIf(config));
    // what was seen of removed backends goes; a backend whose check was removed starts UNKNOWN again
    const keep = new Set<string>();
    for (const svc of servicesOf(config))
      for (const b of svc.backend.pool) {
        const key = backendKey(svc.name, b.id);
        keep.add(key);
        if (!checkOf(svc.backend, b)) this.observed.forgetHealth(instance, key);
      }
    this.observed.prune(instance, keep);
  }

  /** One pass of the drain watcher and of the probers' interfaces (the timer's; tests call it). */
  tick(): Promise<void> {
    if (!this.ticking) {
      for (const c of this.instances.all()) this.probing.sync(c.name, c, this.backendIf(c), true);
      this.ticking = this.drain
        .tick()
        .then((drained) => {
          for (const d of drained) this.drained(d);
        })
        .catch((e) => this.log.warn({ err: String(e) }, 'the drain watcher failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }
    return this.ticking;
  }

  private drained(d: Drained): void {
    this.event(d.instance, {
      origin: 'health',
      type: 'drained',
      message: `backend ${d.id} of service ${d.service} drained (${d.reason}): ${d.outcome}`,
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.probing.close();
  }
}
