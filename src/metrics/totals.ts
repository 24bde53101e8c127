// Running sums of the per-backend counters, per service and per instance (lbdsr_service_sent_*_total,
// lbdsr_port_sent_bytes_total): kept by the metrics from one scrape to the next, so that they only go
// up. A plain sum of the backends' counters would go down when a backend is removed (or its plane
// starts again from zero), which Prometheus's rate() reads as a reset of the whole service. Each
// scrape adds, per backend, what its counter gained since the last scrape (all of it when the counter
// is below its last value: it started again from zero). What a removed backend was sent after the last
// scrape before its removal is not seen. O(backends) per scrape; no walk of anything. Pure.
import type { BackendStats } from '../core/model.js';

/** The three counters of a backend that are summed. */
export interface Sent {
  frames: number;
  bytes: number;
  sessions: number;
}

const zero = (): Sent => ({ frames: 0, bytes: 0, sessions: 0 });

/** The gain of a counter from `last` to `cur` (a counter below its last value started again at 0). */
function gain(last: number, cur: number): number {
  return cur >= last ? cur - last : cur;
}

interface InstanceTotals {
  /** The last value of each backend's counters by `${service}/${id}` (kept after its removal). */
  last: Map<string, Sent>;
  /** Sums by service. */
  services: Map<string, Sent>;
  /** Sum over every service, removed ones included (the backend port's). */
  all: Sent;
}

export class SentTotals {
  private readonly instances = new Map<string, InstanceTotals>();

  /**
   * Adds what the backends of `instance` gained since the last update. `services`: the service names
   * configured now (the sums and last values of others go); a backend without a service is
   * `defaultService`'s.
   */
  update(
    instance: string,
    backends: readonly BackendStats[],
    services: ReadonlySet<string>,
    defaultService: string,
  ): void {
    let t = this.instances.get(instance);
    if (!t) {
      t = { last: new Map(), services: new Map(), all: zero() };
      this.instances.set(instance, t);
    }
    for (const b of backends) {
      const service = b.service ?? defaultService;
      const key = `${service}/${b.id}`;
      const last = t.last.get(key) ?? zero();
      let sum = t.services.get(service);
      if (!sum) {
        sum = zero();
        t.services.set(service, sum);
      }
      const g = {
        frames: gain(last.frames, b.packets),
        bytes: gain(last.bytes, b.bytes),
        sessions: gain(last.sessions, b.sessions),
      };
      for (const into of [sum, t.all]) {
        into.frames += g.frames;
        into.bytes += g.bytes;
        into.sessions += g.sessions;
      }
      t.last.set(key, { frames: b.packets, bytes: b.bytes, sessions: b.sessions });
    }
    for (const s of t.services.keys()) if (!services.has(s)) t.services.delete(s);
    for (const key of t.last.keys())
      if (!services.has(key.slice(0, key.lastIndexOf('/')))) t.last.delete(key);
  }

  /** The sums of a service of `instance` (zeros when nothing was sent to it yet). */
  service(instance: string, service: string): Sent {
    return this.instances.get(instance)?.services.get(service) ?? zero();
  }

  /** The sum over every service of `instance`, removed ones included: what its backend port sent. */
  instance(instance: string): Sent {
    return this.instances.get(instance)?.all ?? zero();
  }

  /** Only these instances are kept. */
  keep(names: ReadonlySet<string>): void {
    for (const n of this.instances.keys()) if (!names.has(n)) this.instances.delete(n);
  }
}
