// The document checks of what issue 10 added to an instance (called by config.ts validateInstance):
// its services besides `default`, the pools (backends by MAC and/or IP, weight, state and the time it
// last changed, drain settings) and their health checks, and the probe address the checks need. Shape
// and ranges are the schema's (schema.ts); this room checks what spans fields: a backend needs a MAC
// or an IP, a service's port needs TCP or UDP, a probe's timeout is below its interval, a health check
// needs `probe_ip`. What the data planes can hold (VIPs, MACs shared by a VIP, duplicate services) is
// checked by the pipeline when the change is planned (src/pipeline/desired.ts).
import { isGroupMac, normalizeMac, parseMac } from '../core/addr.js';
import { MAX_BACKENDS } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import type {
  Algorithm,
  BackendConfig,
  BackendState,
  HealthCheckConfig,
  PoolConfig,
  ServiceConfig,
  ServiceProtocol,
} from '../core/model.js';
import { canonicalVips, checkBackendIp } from './addresses.js';

/** A backend after the schema check: every field may be absent. */
export type BackendDoc = Partial<BackendConfig>;
export interface PoolDoc {
  pool?: BackendDoc[];
  healthcheck?: Partial<HealthCheckConfig>;
}
export interface ServiceDoc {
  name?: string;
  vip?: string;
  vip6?: string;
  protocol?: ServiceProtocol;
  port?: number;
  mac?: string;
  algorithm?: Algorithm;
  backend?: PoolDoc;
}

/** Defaults of a health check (model.ts HealthCheckConfig). */
const HC_DEFAULTS = { interval: 2, timeout: 1 };

/** What checking a pool needs beyond the pool itself. */
export interface PoolContext {
  /** `backend` of the instance, or `services web backend`: for messages. */
  where: string;
  /** The service's port (undefined: any), the default port of its health checks. */
  servicePort?: number;
  /** The pool before the change (undefined: a new instance or service). */
  old?: PoolConfig;
  /** The instance's probe address, which a health check needs. */
  probeIp?: string;
  /** Warnings of the change. */
  warnings: string[];
  /** The time a state change is stamped with (ISO 8601). */
  now: string;
}

/** The keys of a stored backend, in their order. */
const ENTRY_KEYS = [
  'id',
  'mac',
  'ip',
  'weight',
  'state',
  'state_since',
  'deadline',
  'on_drained',
  'healthcheck',
] as const;
const ENTRY_RANK = new Map<string, number>(ENTRY_KEYS.map((k, i) => [k, i]));

/** Whether the keys of `e` are stored keys in their stored order (a stored entry taken as it is). */
function inStoredOrder(e: object): boolean {
  let last = -1;
  for (const k in e) {
    const r = ENTRY_RANK.get(k);
    if (r === undefined || r <= last) return false;
    last = r;
  }
  return true;
}

const stateOf = (b: { state?: BackendState } | undefined) => b?.state ?? 'ACTIVE';

/**
 * Checks a pool and returns it as it is stored: MACs normalised, IPs canonical, `state_since` set to
 * `ctx.now` where the state changed (a given one is ignored; a backend that never had a state has none).
 */
export function validatePool(doc: PoolDoc | undefined, ctx: PoolContext): PoolConfig {
  const out: PoolConfig = { pool: [] };
  if (doc?.healthcheck !== undefined) {
    out.healthcheck = checkHealth(
      doc.healthcheck,
      `${ctx.where} healthcheck`,
      ctx,
      true,
    ) as HealthCheckConfig;
  }
  const oldPool = ctx.old?.pool;
  let oldById: Map<number, BackendConfig> | undefined;
  // a stamp is needed where an entry has a state, or the old pool had one (a PUT may drop it)
  const oldStates = oldPool?.some((b) => b.state !== undefined || b.state_since !== undefined) ?? false;
  // the MACs before the change, looked at only for group MACs (rare)
  let oldMacs: Map<number, string | undefined> | undefined;
  const checkEntryHealth = (e: BackendDoc) => {
    if (e.healthcheck !== undefined) {
      const merged = { ...out.healthcheck, ...e.healthcheck };
      checkHealth(merged, `${ctx.where} pool ${e.id} healthcheck`, ctx, false);
    } else if (out.healthcheck) checkProbeIp(out.healthcheck, `${ctx.where} healthcheck`, ctx);
  };
  const entries = doc?.pool ?? [];
  // where the entries of the pool before the change are expected (see below)
  let cursor = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as BackendDoc;
    // an entry of the pool before the change, met in its order (entries removed before it skipped, one
    // at a time: a removal shifts the rest), is stored as it is; its health check is checked again
    // (the pool's, or probe_ip, may have changed)
    const at =
      oldPool === undefined
        ? -1
        : oldPool[cursor] === e
          ? cursor
          : oldPool[cursor + 1] === e
            ? cursor + 1
            : -1;
    if (at >= 0) {
      cursor = at + 1;
      checkEntryHealth(e);
      out.pool.push(e as BackendConfig);
      continue;
    }
    if (e.id === undefined) throw new LbdsrError('LBDSR_BAD_ID', 'every backend needs an id (a uint32)');
    if (e.mac === undefined && e.ip === undefined) {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `${ctx.where} pool ${e.id} needs a mac or an ip (its MAC is then found by ARP or Neighbor Discovery)`,
      );
    }
    const mac = e.mac === undefined ? undefined : normalizeMac(e.mac);
    if (mac !== undefined && Number.parseInt(mac.charAt(1), 16) & 1) {
      oldMacs ??= new Map(oldPool?.map((q) => [q.id, q.mac]));
      if (oldMacs.get(e.id) !== mac && isGroupMac(parseMac(mac))) {
        ctx.warnings.push(
          `backend ${e.id}: MAC ${mac} has the group (multicast) bit set; accepted as the seed does, but frames to it reach every station of the segment`,
        );
      }
    }
    const ip = e.ip === undefined ? undefined : checkBackendIp(e.ip, `backend ${e.id}: ip`);
    let since = e.state_since;
    if (oldPool === undefined) {
      if (since === undefined && e.state !== undefined) since = ctx.now;
    } else if (e.state !== undefined || e.state_since !== undefined || oldStates) {
      oldById ??= new Map(oldPool.map((b) => [b.id, b]));
      const o = oldById.get(e.id);
      if (o !== e) {
        const changed = o ? stateOf(o) !== stateOf(e) : e.state !== undefined;
        since = changed ? ctx.now : o?.state_since;
      }
    }
    checkEntryHealth(e);
    const same = mac === e.mac && ip === e.ip && since === e.state_since && inStoredOrder(e);
    out.pool.push(same ? (e as BackendConfig) : storedEntry(e, mac, ip, since));
  }
  return out;
}

function storedEntry(e: BackendDoc, mac?: string, ip?: string, since?: string): BackendConfig {
  const b: BackendConfig = { id: e.id ?? 0 };
  if (mac !== undefined) b.mac = mac;
  if (ip !== undefined) b.ip = ip;
  if (e.weight !== undefined) b.weight = e.weight;
  if (e.state !== undefined) b.state = e.state;
  if (since !== undefined) b.state_since = since;
  if (e.deadline !== undefined) b.deadline = e.deadline;
  if (e.on_drained !== undefined) b.on_drained = e.on_drained;
  if (e.healthcheck !== undefined) b.healthcheck = e.healthcheck;
  return b;
}

/**
 * Checks a health check (`full`: a pool's, which needs its type; else a backend's override merged over
 * its pool's) and returns it. Ranges are the schema's; here: timeout below interval, a port where the
 * service has none, and the probe address.
 */
function checkHealth(
  hc: Partial<HealthCheckConfig>,
  where: string,
  ctx: PoolContext,
  full: boolean,
): Partial<HealthCheckConfig> {
  if (full && hc.type === undefined) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `${where} needs a type: NONE, TCP, HTTP, UDP or ICMP`);
  }
  const interval = hc.interval ?? HC_DEFAULTS.interval;
  const timeout = hc.timeout ?? HC_DEFAULTS.timeout;
  if (timeout >= interval) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${where}: timeout ${timeout} s must be less than interval ${interval} s`,
    );
  }
  const type = hc.type ?? 'NONE';
  if ((type === 'TCP' || type === 'UDP' || type === 'HTTP') && hc.port === undefined && !ctx.servicePort) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${where}: a ${type} check needs a port (the service has none): set port=N`,
    );
  }
  checkProbeIp(hc, where, ctx);
  return hc;
}

function checkProbeIp(hc: Partial<HealthCheckConfig>, where: string, ctx: PoolContext): void {
  if ((hc.type ?? 'NONE') !== 'NONE' && ctx.probeIp === undefined) {
    throw new LbdsrError(
      'LBDSR_NO_PROBE_IP',
      `${where}: a ${hc.type} health check needs the instance's probe_ip (an unused address of the backend segment, the source of the probes): set probe_ip=A.B.C.D first`,
    );
  }
}

/** What validateServices needs beyond the services. */
export interface ServicesContext {
  old?: ServiceConfig[];
  probeIp?: string;
  warnings: string[];
  now: string;
}

/** Checks the services besides `default`; returns them as they are stored. */
export function validateServices(docs: ServiceDoc[], ctx: ServicesContext): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  const names = new Set<string>();
  for (const s of docs) {
    const name = s.name;
    if (!name) throw new LbdsrError('LBDSR_BAD_VALUE', 'every service needs a name');
    if (name === 'default') {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        "service 'default' is the instance's frontend and backend: it is not listed in services",
      );
    }
    if (names.has(name)) throw new LbdsrError('LBDSR_EXISTS', `service '${name}' already exists`);
    names.add(name);
    if (s.vip === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `service ${name} needs a vip`);
    if (s.port !== undefined && s.protocol !== 'TCP' && s.protocol !== 'UDP') {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `service ${name}: a port needs protocol TCP or UDP (got ${s.protocol ?? 'any'})`,
      );
    }
    const vips = canonicalVips(s.vip, s.vip6, `service ${name}`);
    const svc: ServiceConfig = { name, vip: vips.vip ?? '', backend: { pool: [] } };
    if (vips.vip6 !== undefined) svc.vip6 = vips.vip6;
    if (s.protocol !== undefined) svc.protocol = s.protocol;
    if (s.port !== undefined) svc.port = s.port;
    if (s.mac !== undefined) svc.mac = normalizeMac(s.mac);
    if (s.algorithm !== undefined) svc.algorithm = s.algorithm;
    const old = ctx.old?.find((o) => o.name === name)?.backend;
    svc.backend = validatePool(s.backend, {
      where: `services ${name} backend`,
      ...(s.port !== undefined ? { servicePort: s.port } : {}),
      ...(old ? { old } : {}),
      ...(ctx.probeIp !== undefined ? { probeIp: ctx.probeIp } : {}),
      warnings: ctx.warnings,
      now: ctx.now,
    });
    out.push(svc);
  }
  return out;
}

/** The backends of every service share the MAX_BACKENDS slots of the data planes. */
export function checkBackendCount(pools: PoolConfig[]): void {
  let n = 0;
  for (const p of pools) n += p.pool.length;
  if (n > MAX_BACKENDS) {
    throw new LbdsrError(
      'LBDSR_TOO_MANY',
      `an instance holds at most ${MAX_BACKENDS} backends over all its services (got ${n})`,
    );
  }
}
