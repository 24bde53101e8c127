// The glue between the daemon and the health prober (src/health): one BackendProber per instance on
// its BACKEND port, while the instance has something to watch (a backend given by IP, or a health
// check). Its targets come from every service's pool (VIP, IP, MAC, the check resolved: the pool's
// overridden by the backend's, port defaulting to the service's), replaced after every change and
// checked every tick (the BACKEND interface may come, go or be renamed). What the prober reports goes
// to the runtime (runtime.ts), which keeps the observations and re-plans.
import type { InstanceConfig } from '../../core/model.js';
import { BackendProber } from '../../health/prober.js';
import {
  type ProberEvents,
  type ProberLog,
  type ProberLogLevel,
  type ProbeTarget,
  resolveCheck,
} from '../../health/types.js';
import type { Logger } from '../planes.js';
import { servicesOf } from './backends.js';
import { backendKey } from './observations.js';

/** What the daemon needs of a prober (BackendProber; tests may give their own factory). */
export interface Prober {
  update(targets: ProbeTarget[]): void;
  close(): Promise<void>;
}

export type ProberFactory = (opts: {
  ifname: string;
  probeIp?: string;
  events: ProberEvents;
  log: ProberLog;
}) => Prober;

export const realProber: ProberFactory = (opts) => new BackendProber(opts);

/**
 * The targets of `config`: every backend with an IP to resolve (ARP or ND) or a health check to run,
 * probing the service's `vip` (a dual-stack service's IPv4 one; an IPv6-only service's IPv6 one).
 */
export function targetsOf(config: InstanceConfig): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const svc of servicesOf(config)) {
    if (svc.vip === undefined) continue;
    for (const b of svc.backend.pool) {
      const check = resolveCheck(svc.backend.healthcheck, b.healthcheck, svc.port);
      if (b.ip === undefined && !check) continue;
      const t: ProbeTarget = { key: backendKey(svc.name, b.id), vip: svc.vip };
      if (b.ip !== undefined) t.ip = b.ip;
      if (b.mac !== undefined) t.mac = b.mac;
      if (check) t.check = check;
      out.push(t);
    }
  }
  return out;
}

interface Running {
  ifname: string;
  probeIp: string | undefined;
  prober: Prober;
  /** The targets last given (JSON), so that an unchanged set is not handed over again. */
  sig: string;
}

export class Probing {
  private readonly running = new Map<string, Running>();
  /** Why a prober could not start, per instance (logged once per reason). */
  private readonly failed = new Map<string, string>();

  constructor(
    private readonly factory: ProberFactory,
    private readonly events: (instance: string) => ProberEvents,
    private readonly log: Logger,
  ) {}

  /**
   * Brings the prober of `config.name` in line: none without targets or without a BACKEND interface
   * (`ifname` undefined), a new one when the interface or probe_ip changed, new targets otherwise
   * (`follow`: the periodic look, after which a running prober on the same interface keeps its targets).
   */
  sync(name: string, config: InstanceConfig | undefined, ifname: string | undefined, follow = false): void {
    const cur = this.running.get(name);
    const probeIp = config?.probe_ip;
    // the periodic look (`follow`) only follows the interface: the targets change with the config
    if (follow && cur && cur.ifname === ifname && cur.probeIp === probeIp) return;
    const targets = config ? targetsOf(config) : [];
    if (targets.length === 0 || ifname === undefined) {
      if (cur) this.stop(name);
      return;
    }
    if (cur && (cur.ifname !== ifname || cur.probeIp !== probeIp)) this.stop(name);
    let r = this.running.get(name);
    if (!r) {
      const started = this.start(name, ifname, probeIp);
      if (!started) return;
      r = started;
    }
    const sig = JSON.stringify(targets);
    if (sig !== r.sig) {
      r.prober.update(targets);
      r.sig = sig;
    }
  }

  private start(name: string, ifname: string, probeIp: string | undefined): Running | undefined {
    const opts = {
      ifname,
      events: this.events(name),
      log: (level: ProberLogLevel, msg: string) => {
        if (level !== 'debug') this.log[level]({ instance: name }, msg);
      },
      ...(probeIp !== undefined ? { probeIp } : {}),
    };
    try {
      const prober = this.factory(opts);
      this.failed.delete(name);
      const r: Running = { ifname, probeIp, prober, sig: '' };
      this.running.set(name, r);
      this.log.info({ instance: name, ifname }, 'health prober started');
      return r;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (this.failed.get(name) !== why)
        this.log.error({ instance: name, ifname, err: why }, 'health prober could not start');
      this.failed.set(name, why);
      return undefined;
    }
  }

  private stop(name: string): void {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    void r.prober.close().catch(() => {});
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.prober.close().catch(() => {})));
  }
}
