// What `backend pool show` adds to each backend's configuration: its BackendStatus (model.ts) from the
// daemon's runtime (health, the MAC in use and its source, live sessions, whether it takes new flows).
// Without a runtime the static part is computed the way the runtime does it: the configured MAC
// (mac_source CONFIG, or NONE for a backend given by IP only, until ARP finds it), health UP without a
// health check and UNKNOWN with one, serving per docs/semantics.md, and no sessions counted.
import type { BackendConfig, BackendStatus, HealthCheckConfig } from '../../core/model.js';
import type { StoredInstance } from '../config.js';
import { DEFAULT_SERVICE, isObject, type Step } from '../document.js';
import type { RouteContext } from './context.js';

/** The status of a backend known from its configuration alone. */
export function staticStatus(b: BackendConfig, pool?: HealthCheckConfig): BackendStatus {
  const checked = (b.healthcheck?.type ?? pool?.type ?? 'NONE') !== 'NONE';
  const health = checked ? 'UNKNOWN' : 'UP';
  const serving = b.mac !== undefined && (b.state ?? 'ACTIVE') === 'ACTIVE' && (b.weight ?? 100) > 0;
  return {
    health,
    ...(b.mac !== undefined ? { mac_in_use: b.mac } : {}),
    mac_source: b.mac !== undefined ? 'CONFIG' : 'NONE',
    sessions: 0,
    serving,
  };
}

/**
 * `shown` (a pool at `loc`, or one of its entries) with each backend's status after its configuration.
 * `loc` is `backend/pool[/id]` or `services/S/backend/pool[/id]`.
 */
export function withStatus(ctx: RouteContext, cfg: StoredInstance, loc: Step[], shown: unknown): unknown {
  const svcStep = loc[0] === 'services' ? loc[1] : undefined;
  const service = typeof svcStep === 'object' ? String(svcStep.key) : DEFAULT_SERVICE;
  const pool =
    service === DEFAULT_SERVICE ? cfg.backend : cfg.services?.find((s) => s.name === service)?.backend;
  const one = (e: unknown) => {
    if (!isObject(e)) return e;
    const b = e as unknown as BackendConfig;
    const st = ctx.runtime?.status(cfg.name, service, b.id) ?? staticStatus(b, pool?.healthcheck);
    return { ...e, ...st };
  };
  return Array.isArray(shown) ? shown.map(one) : one(shown);
}
