// Frame and byte rates of `stats show`: a sampler that reads every instance's counters once a second
// (counters only, never a walk of the session table: readings.ts) into a ring of per-second samples,
// and the rates over the last 1 s and 60 s computed from two samples of that ring. A counter that went
// back (a new data plane starts from zero) counts from zero. Backends are rows by service and id (two
// services may both have a backend 1). The timer is unref'd and stopped on close.
import type { BackendStats, StatsSnapshot } from '../core/model.js';
import { portFigures } from './ports.js';
import type { InstanceReading } from './readings.js';

/** Counters of one instance at one instant; NaN: not counted by the plane (ports.ts). */
interface Sample {
  t: number;
  rxFrontend: number;
  rxFrontendBytes: number;
  rxBackend: number;
  rxBackendBytes: number;
  txFrontend: number;
  txFrontendBytes: number;
  txBackend: number;
  txBackendBytes: number;
  /** Backends by service then id, ascending: services (the snapshot's own strings), ids, frames,
   * bytes (typed arrays: 61 samples of 4,096 backends stay a few MB). */
  services: string[];
  ids: Float64Array;
  frames: Float64Array;
  bytes: Float64Array;
}

export interface PortRate {
  /** Absent where the plane reads no frame of the port (USERSPACE's backend port). */
  rxFramesPerSec?: number;
  rxBytesPerSec?: number;
  txFramesPerSec: number;
  txBytesPerSec: number;
}

export interface RateWindow {
  /** Seconds actually covered (less than the window while the daemon has not run that long). */
  seconds: number;
  ports: { frontend: PortRate; backend: PortRate };
  backends: Array<{ service: string; id: number; framesPerSec: number; bytesPerSec: number }>;
}

export interface Rates {
  last1s: RateWindow;
  last60s: RateWindow;
}

/** The service of a backend without one (the instance's own pool). */
const DEFAULT_SERVICE = 'default';

/** Order of backends: by service, then id. */
function compare(sa: string, ia: number, sb: string, ib: number): number {
  return sa < sb ? -1 : sa > sb ? 1 : ia - ib;
}

function sampleOf(t: number, s: StatsSnapshot): Sample {
  const p = portFigures(s);
  const svc = (b: BackendStats) => b.service ?? DEFAULT_SERVICE;
  const ascending = s.backends.every((b, i) => {
    const p = s.backends[i - 1];
    return p === undefined || compare(svc(p), p.id, svc(b), b.id) < 0;
  });
  const backends = ascending
    ? s.backends
    : [...s.backends].sort((a, b) => compare(svc(a), a.id, svc(b), b.id));
  return {
    t,
    rxFrontend: p.rx.frontend.packets,
    rxFrontendBytes: p.rx.frontend.bytes,
    rxBackend: p.rx.backend?.packets ?? Number.NaN,
    rxBackendBytes: p.rx.backend?.bytes ?? Number.NaN,
    txFrontend: p.tx.frontend.packets,
    txFrontendBytes: p.tx.frontend.bytes ?? Number.NaN,
    txBackend: p.tx.backend.packets,
    txBackendBytes: p.tx.backend.bytes ?? Number.NaN,
    services: backends.map(svc),
    ids: Float64Array.from(backends, (b) => b.id),
    frames: Float64Array.from(backends, (b) => b.packets),
    bytes: Float64Array.from(backends, (b) => b.bytes),
  };
}

/** Index of backend `id` of `service` in the sample `x`, or -1. */
function indexOf(x: Sample, service: string, id: number): number {
  let lo = 0;
  let hi = x.ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compare(x.services[mid]!, x.ids[mid]!, service, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Growth of a counter; a counter that went back restarted from zero, and so did one the older sample
 * lacks (NaN: its plane did not count it).
 */
const grown = (now: number, then: number) => (now >= then ? now - then : now);

function rateBetween(a: Sample, b: Sample): RateWindow {
  const seconds = (b.t - a.t) / 1000;
  const per = (now: number, then: number) => (seconds > 0 ? grown(now, then) / seconds : 0);
  const backends: RateWindow['backends'] = [];
  /** The backend port's sent bytes of a plane that does not count them: the sum over its backends. */
  let txBytes = 0;
  b.ids.forEach((id, i) => {
    const service = b.services[i]!;
    const j = indexOf(a, service, id);
    const bytesPerSec = per(b.bytes[i]!, j < 0 ? 0 : a.bytes[j]!);
    txBytes += bytesPerSec;
    const framesPerSec = per(b.frames[i]!, j < 0 ? 0 : a.frames[j]!);
    backends.push({ service, id, framesPerSec, bytesPerSec });
  });
  // a figure the plane does not count has no rate
  const rx = (frames: number, framesThen: number, bytes: number, bytesThen: number) =>
    Number.isNaN(frames)
      ? {}
      : { rxFramesPerSec: per(frames, framesThen), rxBytesPerSec: per(bytes, bytesThen) };
  return {
    seconds,
    ports: {
      frontend: {
        ...rx(b.rxFrontend, a.rxFrontend, b.rxFrontendBytes, a.rxFrontendBytes),
        txFramesPerSec: per(b.txFrontend, a.txFrontend),
        txBytesPerSec: Number.isNaN(b.txFrontendBytes) ? 0 : per(b.txFrontendBytes, a.txFrontendBytes),
      },
      backend: {
        ...rx(b.rxBackend, a.rxBackend, b.rxBackendBytes, a.rxBackendBytes),
        txFramesPerSec: per(b.txBackend, a.txBackend),
        txBytesPerSec: Number.isNaN(b.txBackendBytes) ? txBytes : per(b.txBackendBytes, a.txBackendBytes),
      },
    },
    backends,
  };
}

export const RATE_WINDOWS_S = [1, 60] as const;

export class RateSampler {
  /** Per instance, samples oldest first, at most one more than the longest window in seconds. */
  private readonly rings = new Map<string, Sample[]>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** The last read failed: the next failure is not reported again (no log line every second). */
  private failing = false;
  private readonly keep = Math.max(...RATE_WINDOWS_S) + 1;

  constructor(
    private readonly read: () => Promise<InstanceReading[]>,
    private readonly now: () => number = Date.now,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  /** Samples every `periodMs` (1 s) until stop(); the timer keeps no process alive. */
  start(periodMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a slow read is not stacked up
    this.busy = true;
    try {
      await this.sample();
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.onError(e);
      this.failing = true;
    } finally {
      this.busy = false;
    }
  }

  /** Reads every instance once and adds a sample; forgets instances that are gone. */
  async sample(): Promise<void> {
    const readings = await this.read();
    const t = this.now();
    const seen = new Set<string>();
    for (const r of readings) {
      seen.add(r.name);
      let ring = this.rings.get(r.name);
      if (!ring) {
        ring = [];
        this.rings.set(r.name, ring);
      }
      ring.push(sampleOf(t, r.stats));
      if (ring.length > this.keep) ring.shift();
    }
    for (const name of this.rings.keys()) if (!seen.has(name)) this.rings.delete(name);
  }

  /** The rates of an instance over the last 1 s and 60 s (zero rates over 0 s before two samples). */
  rates(name: string): Rates {
    const ring = this.rings.get(name) ?? [];
    const last = ring[ring.length - 1];
    const window = (s: number): RateWindow => {
      if (!last) return rateBetween(EMPTY, EMPTY);
      // the newest sample at least `s` seconds older than the last, else the oldest there is
      let base = ring[0] ?? last;
      for (const x of ring) if (last.t - x.t >= s * 1000 - 50) base = x;
      return rateBetween(base, last);
    };
    return { last1s: window(1), last60s: window(60) };
  }
}

const EMPTY: Sample = {
  t: 0,
  rxFrontend: 0,
  rxFrontendBytes: 0,
  rxBackend: 0,
  rxBackendBytes: 0,
  txFrontend: 0,
  txFrontendBytes: 0,
  txBackend: 0,
  txBackendBytes: 0,
  services: [],
  ids: new Float64Array(0),
  frames: new Float64Array(0),
  bytes: new Float64Array(0),
};
