// The Prometheus metrics of lbdsrd (GET /metrics, docs/metrics.md): a prom-client registry whose
// collect callbacks turn one readout of every instance (readings.ts: counters without a session-table
// walk, active sessions from a bounded-age walk) into counters and gauges labelled by instance, port,
// reason, service and backend id (bounded sets; nothing per flow). The change and plane-event counters
// are kept here, fed by the daemon's hooks. The lbdsr instance is the `lb` label: `instance` (and `job`)
// belong to Prometheus, which sets them on every scraped series (a target's own `instance` would be
// renamed `exported_instance`). The daemon's own process metrics come from
// collectDefaultMetrics. Per-backend health, weight and state arrive with issue 10: today every
// configured backend is up (lbdsr_backend_up 1) and no weight or state is exported.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DROP_REASON_NAMES } from '../core/constants.js';
import type { BackendStats } from '../core/model.js';
import type { InstanceReading, Readings } from './readings.js';

/** Every instance has one service until issue 10 adds more. */
export const DEFAULT_SERVICE = 'default';

/** Outcome of a configuration change: applied, refused (4xx: bad request, conflict), failed (5xx). */
export type ChangeOutcome = 'applied' | 'refused' | 'failed';
export const CHANGE_OUTCOMES: readonly ChangeOutcome[] = ['applied', 'refused', 'failed'];

type Readout = readonly InstanceReading[];

const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type Labels = Record<string, string | number>;
/** Fills a metric from the readout: `set` once per label set. */
type Fill = (set: (labels: Labels, v: number) => void) => void;

/** A metric whose values are all set from the readout at scrape time (gone label sets go with it). */
function readout(
  kind: 'counter' | 'gauge',
  registers: Registry[],
  name: string,
  help: string,
  labelNames: string[],
  fill: Fill,
): void {
  const common = { name, help, labelNames, registers };
  if (kind === 'counter') {
    new Counter({
      ...common,
      collect() {
        this.reset();
        fill((labels, v) => this.inc(labels, Math.max(0, v)));
      },
    });
  } else {
    new Gauge({
      ...common,
      collect() {
        this.reset();
        fill((labels, v) => this.set(labels, v));
      },
    });
  }
}
const readCounter = (r: Registry[], name: string, help: string, labels: string[], fill: Fill) =>
  readout('counter', r, name, help, labels, fill);
const readGauge = (r: Registry[], name: string, help: string, labels: string[], fill: Fill) =>
  readout('gauge', r, name, help, labels, fill);

export class LbdsrMetrics {
  readonly registry = new Registry();
  private readout: Readout = [];
  /** Per instance, its backends' counters by id (one lookup per backend, not a search). */
  private byId = new Map<string, Map<number, BackendStats>>();
  private readonly changes: Counter<'lb' | 'outcome'>;
  private readonly planeRestarts: Counter<'lb'>;
  private readonly planeFailures: Counter<'lb'>;

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
    this.portMetrics(r);
    this.sessionMetrics(r);
    this.backendMetrics(r);
  }

  /** Reads every instance once; then the registry's collect callbacks use that readout. */
  async scrape(): Promise<string> {
    this.readout = await this.readings.full();
    this.byId = new Map(this.readout.map((i) => [i.name, new Map(i.stats.backends.map((b) => [b.id, b]))]));
    for (const i of this.readout) this.ensureInstance(i.name);
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

  /** The series of a deleted instance go (label sets stay bounded as instances come and go). */
  forget(instance: string): void {
    for (const outcome of CHANGE_OUTCOMES) this.changes.remove({ lb: instance, outcome });
    this.planeRestarts.remove({ lb: instance });
    this.planeFailures.remove({ lb: instance });
  }

  private each(fn: (i: InstanceReading) => void): void {
    for (const i of this.readout) fn(i);
  }

  private portMetrics(r: Registry[]): void {
    readGauge(
      r,
      'lbdsr_plane_info',
      'The data plane in use by an instance (NONE without ports).',
      ['lb', 'plane'],
      (set) => this.each((i) => set({ lb: i.name, plane: i.plane ?? 'NONE' }, 1)),
    );
    readCounter(
      r,
      'lbdsr_port_received_frames_total',
      'Frames received on a port of the instance.',
      ['lb', 'port'],
      (set) =>
        this.each((i) => {
          const backend = i.stats.drops.BACKEND_PORT ?? 0;
          set({ lb: i.name, port: 'frontend' }, i.stats.rx.packets - backend);
          set({ lb: i.name, port: 'backend' }, backend);
        }),
    );
    readCounter(
      r,
      'lbdsr_received_bytes_total',
      'Bytes received on both ports of the instance.',
      ['lb'],
      (set) => this.each((i) => set({ lb: i.name }, i.stats.rx.bytes)),
    );
    readCounter(
      r,
      'lbdsr_port_sent_frames_total',
      'Frames sent out of a port (frontend: ARP replies; backend: balanced frames).',
      ['lb', 'port'],
      (set) =>
        this.each((i) => {
          set({ lb: i.name, port: 'frontend' }, i.stats.tx.frontend);
          set({ lb: i.name, port: 'backend' }, i.stats.tx.backend);
        }),
    );
    readCounter(r, 'lbdsr_arp_replies_total', 'ARP requests for the VIP answered.', ['lb'], (set) =>
      this.each((i) => set({ lb: i.name }, i.stats.arpReplies)),
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
    const perBackend =
      (fill: (i: InstanceReading, id: number, set: (v: number) => void) => void) =>
      (set: (l: Labels, v: number) => void) =>
        this.each((i) => {
          for (const b of i.config.backend.pool)
            fill(i, b.id, (v) => set({ lb: i.name, service: DEFAULT_SERVICE, backend: b.id }, v));
        });
    const stat = (i: InstanceReading, id: number) => this.byId.get(i.name)?.get(id);
    readGauge(
      r,
      'lbdsr_backend_up',
      'A backend takes new sessions (1; health checks come with issue 10).',
      labels,
      perBackend((_i, _id, set) => set(1)),
    );
    readCounter(
      r,
      'lbdsr_backend_sent_frames_total',
      'Frames sent to a backend.',
      labels,
      perBackend((i, id, set) => set(stat(i, id)?.packets ?? 0)),
    );
    readCounter(
      r,
      'lbdsr_backend_sent_bytes_total',
      'Bytes sent to a backend.',
      labels,
      perBackend((i, id, set) => set(stat(i, id)?.bytes ?? 0)),
    );
    readCounter(
      r,
      'lbdsr_backend_sessions_created_total',
      'Sessions created towards a backend.',
      labels,
      perBackend((i, id, set) => set(stat(i, id)?.sessions ?? 0)),
    );
  }
}
