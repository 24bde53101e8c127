// What the daemon exposes about itself, in one place: the metrics registry (registry.ts), the rate
// sampler (rates.ts) and the event log (events.ts), all reading the daemon through one DaemonView
// (readings.ts) and fed by its hooks (answered configuration changes, plane events). src/daemon/app.ts
// builds one Observer and its routes (routes/metrics.ts, routes/events.ts) use it. No I/O of its own.
import { EventLog } from './events.js';
import { RateSampler } from './rates.js';
import type { DaemonView } from './readings.js';
import { Readings } from './readings.js';
import { type ChangeOutcome, LbdsrMetrics } from './registry.js';

/** A configuration change the API answered. */
export interface ApiChange {
  /** The instance it addressed; undefined for the list of instances. */
  instance: string | undefined;
  method: string;
  /** The resource below the instance (`ports/fp`), '' for the instance itself. */
  resource: string;
  remote: string;
  status: number;
  /** Whether the instance exists after the change (a refused creation names no instance). */
  exists: boolean;
}

/** A plane event (src/daemon/planes.ts PlaneEvent). */
export interface PlaneNews {
  instance: string;
  plane: string;
  event: string;
  message?: string;
}

export interface ObserverOptions {
  /** A full walk of the session table at most this often, per instance (default 10 s). */
  walkEveryMs?: number;
  /** Events kept per instance (default 1,000). */
  eventsPerInstance?: number;
  /** Period of the rate sampler in ms; 0: no timer (tests call sample()). Default 1000. */
  sampleMs?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

function outcomeOf(status: number): ChangeOutcome {
  return status < 400 ? 'applied' : status < 500 ? 'refused' : 'failed';
}

export class Observer {
  readonly events: EventLog;
  readonly metrics: LbdsrMetrics;
  readonly rates: RateSampler;

  constructor(view: DaemonView, opts: ObserverOptions = {}) {
    const now = opts.now ?? Date.now;
    const readings = new Readings(view, opts.walkEveryMs, now);
    this.events = new EventLog(opts.eventsPerInstance, now);
    this.metrics = new LbdsrMetrics(readings);
    this.rates = new RateSampler(() => readings.counters(), now, opts.onError);
    const period = opts.sampleMs ?? 1000;
    if (period > 0) this.rates.start(period);
  }

  /** Counts an answered change; an applied one goes to the event log (a deletion clears the log). */
  apiChange(c: ApiChange): void {
    const name = c.instance;
    if (name === undefined) return;
    const outcome = outcomeOf(c.status);
    // a deleted instance, or a refused creation (whose plane may have failed): its log and series go,
    // so that names that come and go do not make them grow
    if (!c.exists) {
      this.events.forget(name);
      this.metrics.forget(name);
      return;
    }
    this.metrics.changed(name, outcome);
    if (outcome !== 'applied') return;
    const what = c.resource === '' ? 'instance' : c.resource;
    this.events.record(name, {
      origin: 'api',
      type: 'config',
      message: `${c.method} ${what}`,
      method: c.method,
      resource: c.resource,
      remote: c.remote,
      status: c.status,
    });
  }

  planeEvent(e: PlaneNews): void {
    this.metrics.planeEvent(e.instance, e.event);
    const message = `${e.plane} data plane ${e.event}${e.message ? `: ${e.message}` : ''}`;
    this.events.record(e.instance, { origin: 'plane', type: e.event, message, plane: e.plane });
  }

  close(): void {
    this.rates.stop();
  }
}
