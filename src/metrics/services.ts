// The per-service metrics of lbdsrd (label `service`: `default`, the instance's own frontend and pool,
// and the instance's services): its backends, those that take new flows, their live sessions (from the
// runtime's status, no walk of its own), and what was sent to them, from the running sums of
// totals.ts (monotonic though backends come and go). Bounded: at most 256 services per instance.
import type { Registry } from 'prom-client';
import type { BackendConfig, BackendStatus } from '../core/model.js';
import { type Labels, readCounter, readGauge } from './families.js';
import type { InstanceReading } from './readings.js';
import type { Sent, SentTotals } from './totals.js';

/** The service of the instance's own frontend and backend. */
export const DEFAULT_SERVICE = 'default';

/** The services of an instance with their pools, `default` first. */
export function poolsOf(i: InstanceReading): { name: string; pool: BackendConfig[] }[] {
  const pools = [{ name: DEFAULT_SERVICE, pool: i.config.backend.pool }];
  for (const s of i.config.services ?? []) pools.push({ name: s.name, pool: s.backend.pool });
  return pools;
}

/** The per-service families, read from the readout `each` walks and the running sums `totals`. */
export function serviceMetrics(
  r: Registry[],
  each: (fn: (i: InstanceReading) => void) => void,
  totals: SentTotals,
): void {
  const labels = ['lb', 'service'];
  type Value = (i: InstanceReading, service: string, pool: BackendConfig[]) => number;
  const perService = (value: Value) => (set: (l: Labels, v: number) => void) =>
    each((i) => {
      for (const p of poolsOf(i)) set({ lb: i.name, service: p.name }, value(i, p.name, p.pool));
    });
  const count = (
    i: InstanceReading,
    service: string,
    pool: BackendConfig[],
    of: (s: BackendStatus | undefined) => number,
  ) => {
    let n = 0;
    for (const b of pool) n += of(i.backends?.get(`${service}/${b.id}`));
    return n;
  };
  readGauge(
    r,
    'lbdsr_service_backends',
    'Backends in the pool of a service.',
    labels,
    perService((_i, _s, pool) => pool.length),
  );
  readGauge(
    r,
    'lbdsr_service_backends_serving',
    'Backends of a service that take new flows (see lbdsr_backend_up).',
    labels,
    perService((i, s, pool) => count(i, s, pool, (st) => (st === undefined || st.serving ? 1 : 0))),
  );
  readGauge(
    r,
    'lbdsr_service_sessions',
    'Live sessions on the backends of a service (from a walk of the session table at most a few seconds old).',
    labels,
    perService((i, s, pool) => count(i, s, pool, (st) => st?.sessions ?? 0)),
  );
  const sent = (field: keyof Sent) => perService((i, s) => totals.service(i.name, s)[field]);
  readCounter(
    r,
    'lbdsr_service_sent_frames_total',
    'Frames sent to the backends of a service.',
    labels,
    sent('frames'),
  );
  readCounter(
    r,
    'lbdsr_service_sent_bytes_total',
    'Bytes sent to the backends of a service.',
    labels,
    sent('bytes'),
  );
  readCounter(
    r,
    'lbdsr_service_sessions_created_total',
    'Sessions created towards the backends of a service.',
    labels,
    sent('sessions'),
  );
}
