// The Prometheus metrics of lbdsrd (GET /metrics, docs/metrics.md): a prom-client registry whose
// collect callbacks turn one readout of every instance (readings.ts: counters without a session-table
// walk, active sessions from a bounded-age walk) into counters and gauges labelled by instance, port,
// reason, service and backend id (bounded sets; nothing per flow). The change and plane-event counters
// are kept here, fed by the daemon's hooks. The lbdsr instance is the `lb` label: `instance` (and `job`)
// belong to Prometheus, which sets them on every scraped series (a target's own `instance` would be
// renamed `exported_instance`). The daemon's own process metrics come from
// collectDefaultMetrics. Per backend of every service: whether it takes new flows, its health, state
// (state-set gauges: one series per value, 1 for the current one), weight and live sessions, and the
// health checks' results and latency, fed by the runtime's prober hook. Per service (services.ts):
// its backends, those serving, live sessions, and running sums of what its backends were sent
// (totals.ts, updated once per scrape). Per port (ports.ts): frames and bytes received, passed and sent.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { DROP_REASON_NAMES } from '../core/constants.js';
import {
  BACKEND_STATES,
  type BackendConfig,
  type BackendStats,
  type BackendStatus,
  type Health,
} from '../core/model.js';
import { type Labels, readCounter, readGauge } from './families.js';
import { portMetrics } from './ports.js';
import type { InstanceReading, Readings } from './readings.js';
import { DEFAULT_SERVICE, poolsOf, serviceMetrics } from './services.js';

export { DEFAULT_SERVICE };

import { SentTotals } from './totals.js';

const HEALTHS: readonly Health[] = ['UP', 'DOWN', 'UNKNOWN'];

/** Outcome of a configuration change: applied, refused (4xx: bad request, conflict), failed (5xx). */
export type ChangeOutcome = 'applied' | 'refused' | 'failed';
export const CHANGE_OUTCOMES: readonly ChangeOutcome[] = ['applied', 'refused', 'failed'];

type Readout = readonly InstanceReading[];

const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class LbdsrMetrics {
  readonly registry = new Registry();
  private readout: Readout = [];
  /** Per instance, its backends' counters by id (one lookup per backend, not a search). */
  private byId = new Map<string, Map<string, BackendStats>>();
  /** Running sums of the backends' counters per service (monotonic as backends come and go). */
  private readonly totals = new SentTotals();
  private readonly changes: Counter<'lb' | 'outcome'>;
  private readonly planeRestarts: Counter<'lb'>;
  private readonly planeFailures: Counter<'lb'>;
  private readonly checks: Counter<'lb' | 'service' | 'backend' | 'result'>;
  private readonly checkSeconds: Histogram<'lb' | 'service'>;
  /** The health-check series of each instance (label sets by their JSON), removed with it. */
  private readonly checked = new Map<
    string,
    Map<string, { service: string; backend?: string; result?: string }>
  >();

  constructor(private readonly readings: Readings) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // gauges named like counters (promtool's lint refuses them); the handles and requests they count
    // say little about a balancer
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name);
    this.changes = new Counter({
      name: 'lbdsr_config_changes_total',
      help: 'Configuration changes of an instance through the API, by outcome (applied, refused, failed).',
      labelNames: ['lb', 'outcome'],
      registers: r,
    });
    this.planeRestarts = new Counter({
      name: 'lbdsr_plane_restarts_total',
      help: 'Restarts of the data plane of an instance by the daemon (USERSPACE worker supervision).',
      labelNames: ['lb'],
      registers: r,
    });
    this.planeFailures = new Counter({
      name: 'lbdsr_plane_failures_total',
      help: 'Data plane failures of an instance: a plane that could not attach, refused or hung on a change.',
      labelNames: ['lb'],
      registers: r,
    });
    this.checks = new Counter({
      name: 'lbdsr_health_checks_total',
      help: 'Health-check probes of a backend, by result (ok, failed).',
      labelNames: ['lb', 'service', 'backend', 'result'],
      registers: r,
    });
    this.checkSeconds = new Histogram({
      name: 'lbdsr_health_check_duration_seconds',
      help: 'Time a health-check probe took to succeed or fail (a timeout counts its full time).',
      labelNames: ['lb', 'service'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.planeMetrics(r);
    portMetrics(
      r,
      (fn) => this.each(fn),
      (lb) => this.totals.instance(lb).bytes,
    );
    this.sessionMetrics(r);
    this.backendMetrics(r);
    serviceMetrics(r, (fn) => this.each(fn), this.totals);
  }

  /** Reads every instance once; then the registry's collect callbacks use that readout. */
  async scrape(): Promise<string> {
    this.readout = await this.readings.full();
    this.byId = new Map(
      this.readout.map((i) => [
        i.name,
        new Map(i.stats.backends.map((b) => [`${b.service ?? DEFAULT_SERVICE}/${b.id}`, b])),
      ]),
    );
    for (const i of this.readout) {
      this.ensureInstance(i.name);
      const services = new Set(poolsOf(i).map((p) => p.name));
      this.totals.update(i.name, i.stats.backends, services, DEFAULT_SERVICE);
    }
    this.totals.keep(new Set(this.readout.map((i) => i.name)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Series that start at zero for every instance (an alert on rate() sees the first increase). */
  private ensureInstance(instance: string): void {
    for (const outcome of CHANGE_OUTCOMES) this.changes.inc({ lb: instance, outcome }, 0);
    this.planeRestarts.inc({ lb: instance }, 0);
    this.planeFailures.inc({ lb: instance }, 0);
  }

  /** A configuration change of an existing instance was answered. */
  changed(instance: string, outcome: ChangeOutcome): void {
    this.changes.inc({ lb: instance, outcome });
  }

  /** Hook of the plane manager's events: failures, and restarts once supervision reports them. */
  planeEvent(instance: string, event: string): void {
    if (event === 'restarted') this.planeRestarts.inc({ lb: instance });
    else if (event === 'failed') this.planeFailures.inc({ lb: instance });
  }

  /** A health-check probe of backend `key` (`${service}/${id}`) finished. */
  probe(instance: string, key: string, ok: boolean, latencyMs: number): void {
    const i = key.lastIndexOf('/');
    const service = key.slice(0, i);
    const result = ok ? 'ok' : 'failed';
    this.checks.inc({ lb: instance, service, backend: key.slice(i + 1), result });
    this.checkSeconds.observe({ lb: instance, service }, latencyMs / 1000);
    let seen = this.checked.get(instance);
    if (!seen) {
      seen = new Map();
      this.checked.set(instance, seen);
    }
    const series = { service, backend: key.slice(i + 1), result };
    seen.set(JSON.stringify(series), series);
    seen.set(service, { service });
  }

  /** The series of a deleted instance go (label sets stay bounded as instances come and go). */
  forget(instance: string): void {
    for (const outcome of CHANGE_OUTCOMES) this.changes.remove({ lb: instance, outcome });
    this.planeRestarts.remove({ lb: instance });
    this.planeFailures.remove({ lb: instance });
    for (const l of this.checked.get(instance)?.values() ?? []) {
      if (l.result === undefined) this.checkSeconds.remove({ lb: instance, service: l.service });
      else this.checks.remove({ lb: instance, ...l });
    }
    this.checked.delete(instance);
  }

  private each(fn: (i: InstanceReading) => void): void {
    for (const i of this.readout) fn(i);
  }

  private planeMetrics(r: Registry[]): void {
    readGauge(
      r,
      'lbdsr_plane_info',
      'The data plane in use by an instance (NONE without ports).',
      ['lb', 'plane'],
      (set) => this.each((i) => set({ lb: i.name, plane: i.plane ?? 'NONE' }, 1)),
    );
    readCounter(
      r,
      'lbdsr_plane_rx_ring_dropped_frames_total',
      "Frames the kernel dropped because the USERSPACE plane's RX ring was full (USERSPACE only).",
      ['lb'],
      (set) =>
        this.each((i) => {
          const drops = i.stats.plane?.rxRingDrops;
          if (drops !== undefined) set({ lb: i.name }, drops);
        }),
    );
    readCounter(
      r,
      'lbdsr_received_bytes_total',
      'Bytes received on both ports of the instance (per port: lbdsr_port_received_bytes_total).',
      ['lb'],
      (set) => this.each((i) => set({ lb: i.name }, i.stats.rx.bytes)),
    );
    readCounter(r, 'lbdsr_arp_replies_total', 'ARP requests for the VIP answered.', ['lb'], (set) =>
      this.each((i) => set({ lb: i.name }, i.stats.arpReplies)),
    );
    readCounter(
      r,
      'lbdsr_nd_replies_total',
      'Neighbor Solicitations for an IPv6 VIP answered with a Neighbor Advertisement.',
      ['lb'],
      (set) => this.each((i) => set({ lb: i.name }, i.stats.ndReplies ?? 0)),
    );
    readCounter(
      r,
      'lbdsr_dropped_frames_total',
      'Frames dropped, by reason (docs/semantics.md).',
      ['lb', 'reason'],
      (set) =>
        this.each((i) => {
          for (const reason of DROP_REASON_NAMES.slice(1))
            set({ lb: i.name, reason }, i.stats.drops[reason] ?? 0);
        }),
    );
  }

  private sessionMetrics(r: Registry[]): void {
    const counters = [
      ['hits', 'hit', 'Frames that found their session.'],
      ['misses', 'miss', 'Frames that found no session (a new session was created).'],
      ['expired', 'expired', 'Sessions found idle beyond their timeout (replaced).'],
      ['stale', 'stale', 'Sessions found pointing to a removed or replaced backend (re-balanced).'],
      [
        'unrecorded',
        'unrecorded',
        'TCP misses that were not SYNs, forwarded by Maglev without a session (record_non_syn off).',
      ],
      [
        'evicted',
        'evicted',
        'Sessions evicted because the table was full (as of the last walk of the table).',
      ],
    ] as const;
    for (const [metric, field, help] of counters) {
      readCounter(r, `lbdsr_session_${metric}_total`, help, ['lb'], (set) =>
        this.each((i) => set({ lb: i.name }, i.stats.sessions[field])),
      );
    }
    readCounter(
      r,
      'lbdsr_fragment_lookups_total',
      "Later TCP/UDP fragments that found their first fragment's ports (hit) or not (miss).",
      ['lb', 'result'],
      (set) =>
        this.each((i) => {
          set({ lb: i.name, result: 'hit' }, i.stats.fragments.hit);
          set({ lb: i.name, result: 'miss' }, i.stats.fragments.miss);
        }),
    );
    readGauge(
      r,
      'lbdsr_sessions_active',
      'Sessions not idle beyond their timeout (as of the last walk of the table, at most 10 s old by default).',
      ['lb'],
      (set) => this.each((i) => set({ lb: i.name }, i.stats.sessions.active)),
    );
    readGauge(r, 'lbdsr_sessions_capacity', 'Maximum entries of the session table.', ['lb'], (set) =>
      this.each((i) => set({ lb: i.name }, i.config.sessions.capacity)),
    );
  }

  private backendMetrics(r: Registry[]): void {
    const labels = ['lb', 'service', 'backend'];
    type Each = (
      i: InstanceReading,
      service: string,
      b: BackendConfig,
      st: BackendStatus | undefined,
    ) => void;
    const forEach = (fn: Each) =>
      this.each((i) => {
        for (const p of poolsOf(i))
          for (const b of p.pool) fn(i, p.name, b, i.backends?.get(`${p.name}/${b.id}`));
      });
    const perBackend =
      (value: (i: InstanceReading, service: string, b: BackendConfig, st?: BackendStatus) => number) =>
      (set: (l: Labels, v: number) => void) =>
        forEach((i, service, b, st) => set({ lb: i.name, service, backend: b.id }, value(i, service, b, st)));
    const stat = (i: InstanceReading, service: string, id: number) =>
      this.byId.get(i.name)?.get(`${service}/${id}`);
    readGauge(
      r,
      'lbdsr_backend_up',
      'A backend takes new flows (1): its MAC is known, it is ACTIVE with a weight above 0 and not DOWN.',
      labels,
      perBackend((_i, _s, _b, st) => (st === undefined || st.serving ? 1 : 0)),
    );
    readGauge(
      r,
      'lbdsr_backend_health',
      'Health of a backend: 1 for its current value (UP, DOWN, UNKNOWN before the first verdict), 0 for the others.',
      [...labels, 'health'],
      (set) =>
        forEach((i, service, b, st) => {
          for (const h of HEALTHS)
            set({ lb: i.name, service, backend: b.id, health: h }, (st?.health ?? 'UP') === h ? 1 : 0);
        }),
    );
    readGauge(
      r,
      'lbdsr_backend_state',
      'Configured state of a backend: 1 for its current value (ACTIVE, DRAINING, DISABLED), 0 for the others.',
      [...labels, 'state'],
      (set) =>
        forEach((i, service, b) => {
          for (const state of BACKEND_STATES)
            set({ lb: i.name, service, backend: b.id, state }, (b.state ?? 'ACTIVE') === state ? 1 : 0);
        }),
    );
    readGauge(
      r,
      'lbdsr_backend_weight',
      "A backend's weight (0..100): its share of the Maglev table relative to the others of its service.",
      labels,
      perBackend((_i, _s, b) => b.weight ?? 100),
    );
    readGauge(
      r,
      'lbdsr_backend_sessions',
      'Live sessions on a backend (from a walk of the session table at most a few seconds old).',
      labels,
      perBackend((_i, _s, _b, st) => st?.sessions ?? 0),
    );
    readCounter(
      r,
      'lbdsr_backend_sent_frames_total',
      'Frames sent to a backend.',
      labels,
      perBackend((i, s, b) => stat(i, s, b.id)?.packets ?? 0),
    );
    readCounter(
      r,
      'lbdsr_backend_sent_bytes_total',
      'Bytes sent to a backend.',
      labels,
      perBackend((i, s, b) => stat(i, s, b.id)?.bytes ?? 0),
    );
    readCounter(
      r,
      'lbdsr_backend_sessions_created_total',
      'Sessions created towards a backend.',
      labels,
      perBackend((i, s, b) => stat(i, s, b.id)?.sessions ?? 0),
    );
  }
}
