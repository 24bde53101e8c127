// The data planes of the instances: created when an instance has a port with a live peer, replaced when
// the kind changes, given every new configuration, rolled back when they refuse one.
import { DROP_REASON_NAMES } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import type {
  InstanceConfig,
  PlaneType,
  ResolvedPort,
  ResolvedPorts,
  SessionEntry,
  StatsSnapshot,
} from '../core/model.js';
import type { DataPlane } from '../dataplane/types.js';
import type { NetDev } from '../kernel/netdev.js';

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
    rx: { packets: 0, bytes: 0 },
    tx: { frontend: 0, backend: 0 },
    arpReplies: 0,
    drops: Object.fromEntries(DROP_REASON_NAMES.slice(1).map((n) => [n, 0])),
    sessions: { hit: 0, miss: 0, expired: 0, stale: 0, evicted: 0, active: 0 },
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

interface Running {
  plane: DataPlane;
  config: InstanceConfig;
  ports: ResolvedPorts;
}

export class PlaneManager {
  private readonly running = new Map<string, Running>();

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
    return this.running.get(name)?.plane.kind;
  }

  ports(name: string): ResolvedPorts | undefined {
    return this.running.get(name)?.ports;
  }

  /**
   * Brings the plane of `config.name` in line with `config`. On failure the previous plane and its
   * configuration are restored (as far as possible) and the error is thrown.
   */
  async reconcile(config: InstanceConfig, ports: ResolvedPorts, typeChanged: boolean): Promise<void> {
    const name = config.name;
    const cur = this.running.get(name);
    if (!hasPorts(ports)) {
      if (config.type && typeChanged) await this.probe(config.type, name);
      if (cur) await this.stop(name, false);
      return;
    }
    // automatic: keep the running kind while the interfaces stay the same, detect otherwise
    const want =
      config.type ?? (cur && samePorts(cur.ports, ports) ? cur.plane.kind : await this.factory.detect(ports));
    if (cur && cur.plane.kind === want) {
      try {
        await this.bounded(cur.plane.apply(config, ports), 'applying the change');
        this.running.set(name, { plane: cur.plane, config, ports });
      } catch (e) {
        if ((e as { timedOut?: boolean }).timedOut) {
          this.log.error({ instance: name, err: message(e) }, 'data plane hung; dropping it');
          this.running.delete(name);
          await this.bounded(cur.plane.close(), 'closing').catch(() => {});
          throw failed(want, e);
        }
        this.log.error({ instance: name, err: message(e) }, 'data plane refused the change; rolling back');
        try {
          await this.bounded(cur.plane.apply(cur.config, cur.ports), 'rolling back');
        } catch (e2) {
          this.log.error({ instance: name, err: message(e2) }, 'rollback of the data plane failed');
        }
        throw failed(want, e);
      }
      return;
    }
    let next: DataPlane;
    try {
      next = await this.factory.create(want, name);
    } catch (e) {
      throw unavailable(want, e);
    }
    if (cur) await this.stop(name, false);
    try {
      await this.bounded(next.apply(config, ports), 'attaching');
    } catch (e) {
      await this.bounded(next.close(), 'closing').catch(() => {});
      if (cur) await this.restore(cur, name);
      throw failed(want, e);
    }
    this.running.set(name, { plane: next, config, ports });
    this.log.info({ instance: name, plane: want }, 'data plane attached');
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
      const again = await this.factory.create(prev.plane.kind, name);
      await this.bounded(again.apply(prev.config, prev.ports), 'restoring');
      this.running.set(name, { plane: again, config: prev.config, ports: prev.ports });
    } catch (e) {
      this.log.error({ instance: name, err: message(e) }, 'could not restore the previous data plane');
    }
  }

  async stop(name: string, keep: boolean): Promise<void> {
    const cur = this.running.get(name);
    if (!cur) return;
    this.running.delete(name);
    try {
      await cur.plane.close({ keep });
      this.log.info({ instance: name, plane: cur.plane.kind, keep }, 'data plane closed');
    } catch (e) {
      this.log.error({ instance: name, err: message(e) }, 'closing the data plane failed');
    }
  }

  async stopAll(keep: boolean): Promise<void> {
    for (const name of [...this.running.keys()]) await this.stop(name, keep);
  }

  async stats(config: InstanceConfig): Promise<StatsSnapshot> {
    const cur = this.running.get(config.name);
    return cur ? cur.plane.stats() : zeroStats(config);
  }

  async sessions(name: string, limit: number): Promise<SessionEntry[]> {
    const cur = this.running.get(name);
    return cur ? cur.plane.sessions(limit) : [];
  }
}
