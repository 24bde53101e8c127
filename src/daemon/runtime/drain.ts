// The drain watcher: a DRAINING backend (no new flows, its sessions stay) becomes DISABLED, or leaves
// its pool with `on_drained: DELETE`, when its live sessions reach zero or `deadline` seconds after
// `state_since`. The change is an ordinary one (validated, applied, persisted: Instances.change) and is
// logged in the event log. A count of zero is only believed when it was taken SETTLE_MS after the
// backend started draining (a count from before could miss the flows that arrived until the plane took
// the change).
import { LbdsrError } from '../../core/errors.js';
import type { BackendConfig, InstanceConfig } from '../../core/model.js';
import type { StoredInstance } from '../config.js';
import { clone } from '../document.js';
import { servicesOf } from './backends.js';
import { backendKey } from './observations.js';

/** A count of live sessions taken this long after `state_since` at least can end a drain. */
const SETTLE_MS = 1000;

export interface Drained {
  instance: string;
  service: string;
  id: number;
  /** DISABLED or DELETED, and why ("0 live sessions", "deadline of 30 s passed"). */
  outcome: 'DISABLED' | 'DELETED';
  reason: string;
}

export interface DrainDeps {
  instances: () => InstanceConfig[];
  /** Live sessions per `${service}/${id}` counted no earlier than `since` (ms since the epoch). */
  sessions: (instance: string, since: number) => Promise<{ at: number; counts: Map<string, number> }>;
  /** Runs an ordinary change of the instance (Instances.change). */
  change: (instance: string, compute: (old: StoredInstance | undefined) => unknown) => Promise<unknown>;
  now: () => number;
}

interface Due {
  service: string;
  b: BackendConfig;
  reason: string;
}

/** When backend `b` started draining (ms): its state_since, else when the watcher first saw it. */
function sinceOf(b: BackendConfig, firstSeen: number): number {
  const t = b.state_since === undefined ? Number.NaN : Date.parse(b.state_since);
  return Number.isNaN(t) ? firstSeen : t;
}

export class DrainWatcher {
  /** When the watcher first saw a backend DRAINING without a state_since (`instance/service/id`). */
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly deps: DrainDeps) {}

  /** Looks at every DRAINING backend once; returns what it drained. */
  async tick(): Promise<Drained[]> {
    const out: Drained[] = [];
    const seen = new Set<string>();
    for (const config of this.deps.instances()) {
      const due = await this.dueOf(config, seen);
      for (const d of due) {
        const r = await this.finish(config.name, d);
        if (r) out.push(r);
      }
    }
    for (const k of this.firstSeen.keys()) if (!seen.has(k)) this.firstSeen.delete(k);
    return out;
  }

  private async dueOf(config: InstanceConfig, seen: Set<string>): Promise<Due[]> {
    const due: Due[] = [];
    const now = this.deps.now();
    for (const svc of servicesOf(config)) {
      for (const b of svc.backend.pool) {
        if (b.state !== 'DRAINING') continue;
        const k = `${config.name}/${backendKey(svc.name, b.id)}`;
        seen.add(k);
        if (!this.firstSeen.has(k)) this.firstSeen.set(k, now);
        const since = sinceOf(b, this.firstSeen.get(k) ?? now);
        if (b.deadline !== undefined && now >= since + b.deadline * 1000) {
          due.push({ service: svc.name, b, reason: `deadline of ${b.deadline} s passed` });
          continue;
        }
        if (now < since + SETTLE_MS) continue;
        const { at, counts } = await this.deps.sessions(config.name, since + SETTLE_MS);
        if (at >= since + SETTLE_MS && (counts.get(backendKey(svc.name, b.id)) ?? 0) === 0)
          due.push({ service: svc.name, b, reason: '0 live sessions' });
      }
    }
    return due;
  }

  /** The change that ends a drain; nothing when the backend stopped draining meanwhile. */
  private async finish(instance: string, d: Due): Promise<Drained | undefined> {
    const outcome = d.b.on_drained === 'DELETE' ? 'DELETED' : 'DISABLED';
    const stamp = new Date(this.deps.now()).toISOString();
    try {
      await this.deps.change(instance, (old) => {
        if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${instance} is gone`);
        const doc = clone(old);
        const pool = poolOf(doc, d.service);
        const i = pool?.findIndex((b) => b.id === d.b.id) ?? -1;
        const b = pool?.[i];
        if (!pool || !b || b.state !== 'DRAINING' || b.state_since !== d.b.state_since)
          throw new LbdsrError('LBDSR_CONFLICT', 'the backend is no longer draining');
        if (outcome === 'DELETED') pool.splice(i, 1);
        else {
          b.state = 'DISABLED';
          b.state_since = stamp;
        }
        return doc;
      });
    } catch (e) {
      if (e instanceof LbdsrError && (e.code === 'LBDSR_CONFLICT' || e.code === 'LBDSR_NOT_FOUND')) return;
      throw e;
    }
    return { instance, service: d.service, id: d.b.id, outcome, reason: d.reason };
  }
}

function poolOf(doc: StoredInstance, service: string): BackendConfig[] | undefined {
  if (service === 'default') return doc.backend.pool;
  return doc.services?.find((s) => s.name === service)?.backend.pool;
}
