// Whole-instance validation: the document checks (shape, names, ports, peers, uuids, defaults, warnings)
// that run on every instance document before a change is planned (after the route's schema check, and on
// the configuration restored at start). What the pipeline cannot hold is refused when the control state
// plans the change (src/pipeline/desired.ts). The REST operations that compute such documents are
// in document.ts, the schema rules in validation.ts.
import { normalizeMac } from '../core/addr.js';
import { LbdsrError } from '../core/errors.js';
import {
  type Algorithm,
  DEFAULT_SESSION_SETTINGS,
  type FrontendMode,
  type InstanceConfig,
  type LogLevel,
  type PlaneType,
  type PortConfig,
  type PortType,
  type SessionSettings,
} from '../core/model.js';
import { canonicalVips, checkHostIp } from './addresses.js';
import {
  checkBackendCount,
  type PoolDoc,
  type ServiceDoc,
  validatePool,
  validateServices,
} from './pool-config.js';
import { InstanceSchema, LIMITS } from './schema.js';
import { checkBody, normalizeAndCheck, normalizeBody } from './validation.js';

export interface StoredPort extends PortConfig {
  uuid: string;
}
/** An instance as the daemon keeps and persists it (ports carry their uuid). */
export interface StoredInstance extends InstanceConfig {
  ports: StoredPort[];
}

export interface ValidateContext {
  /** The instance before the change (peers it already had are not looked up again). */
  old?: StoredInstance;
  /** The other instances (peers may not be shared). */
  others: StoredInstance[];
  /** Whether a Linux interface exists. */
  interfaceExists: (name: string) => boolean;
  newUuid: () => string;
  /** The document is the caller's own copy: it is normalised in place instead of copied first. */
  owned?: boolean;
}

/** normalizeBody then checkBody: on a copy, the caller's document stays as it is. */
function checkOwnCopy(input: unknown, where: (d: unknown) => string): unknown {
  const doc = normalizeBody(InstanceSchema, input);
  checkBody(InstanceSchema, doc, where(doc));
  return doc;
}

const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** An instance document after the schema check: every field may still be absent. */
interface InstanceDoc {
  name?: string;
  type?: PlaneType | 'AUTO';
  loglevel?: LogLevel;
  algorithm?: Algorithm;
  mode?: FrontendMode;
  host_pass?: boolean;
  standby?: boolean;
  ports?: { name?: string; type?: PortType; peer?: string }[];
  frontend?: { vip?: string; vip6?: string; mac?: string };
  backend?: PoolDoc;
  services?: ServiceDoc[];
  probe_ip?: string;
  sessions?: {
    capacity?: number;
    timeouts?: Partial<SessionSettings['timeouts']>;
    record_non_syn?: boolean;
  };
}

/**
 * Checks and normalises a whole instance document: its shape (schema), names, ports and their peers,
 * uuids; fills defaults and collects warnings. What the pipeline can hold (VIP, MACs, the pool) is
 * checked by the control state when the daemon plans the change (src/pipeline/desired.ts).
 */
export function validateInstance(
  input: unknown,
  ctx: ValidateContext,
): { config: StoredInstance; warnings: string[] } {
  const where = (d: unknown) => `instance ${(d as InstanceDoc | undefined)?.name ?? ''}`.trim();
  const doc = (
    ctx.owned
      ? withStoredEntriesAside(input, () => normalizeAndCheck(InstanceSchema, input, where))
      : checkOwnCopy(input, where)
  ) as InstanceDoc;
  const name = doc.name ?? '';
  const cfg: StoredInstance = {
    name,
    loglevel: doc.loglevel ?? 'INFO',
    algorithm: doc.algorithm ?? 'HASH_SESSION',
    mode: doc.mode ?? 'L2',
    standby: doc.standby === true,
    ports: validatePorts(name, doc.ports ?? [], ctx),
    frontend: {},
    backend: { pool: [] },
    sessions: {
      capacity: doc.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity,
      timeouts: { ...DEFAULT_SESSION_SETTINGS.timeouts, ...(doc.sessions?.timeouts ?? {}) },
      record_non_syn: doc.sessions?.record_non_syn === true,
    },
  };
  if (doc.type && doc.type !== 'AUTO') cfg.type = doc.type;
  // host_pass only when given: its default follows the mode (true in ROUTED)
  if (doc.host_pass !== undefined) cfg.host_pass = doc.host_pass;
  Object.assign(cfg.frontend, canonicalVips(doc.frontend?.vip, doc.frontend?.vip6, 'frontend'));
  if (doc.frontend?.mac !== undefined) cfg.frontend.mac = normalizeMac(doc.frontend.mac);
  const warnings: string[] = [];
  const now = new Date().toISOString();
  const probeIp = doc.probe_ip === undefined ? undefined : checkHostIp(doc.probe_ip, 'probe_ip');
  if (probeIp !== undefined) cfg.probe_ip = probeIp;
  const common = { ...(probeIp !== undefined ? { probeIp } : {}), warnings, now };
  cfg.backend = validatePool(doc.backend, {
    where: 'backend',
    ...(ctx.old ? { old: ctx.old.backend } : {}),
    ...common,
  });
  if (doc.services?.length) {
    cfg.services = validateServices(doc.services, {
      ...(ctx.old?.services ? { old: ctx.old.services } : {}),
      ...common,
    });
  }
  checkBackendCount([cfg.backend, ...(cfg.services ?? []).map((s) => s.backend)]);
  for (const pool of [cfg.backend.pool, ...(cfg.services ?? []).map((s) => s.backend.pool)]) {
    for (const e of pool) stored.add(e);
  }
  return { config: cfg, warnings };
}

/**
 * The pool entries of the documents validateInstance gave: checked against the schema already, and
 * never changed in place (document.ts shares them between a document and its next version; every
 * operation makes new entries). A change of one backend among 4,096 checks the one entry against
 * the schema, not 4,096 (the checks across fields, validatePool, still see every entry).
 */
const stored = new WeakSet<object>();

/**
 * Runs `check` (the schema check of the caller's own document `doc`) with the entries stored before
 * taken out of every pool that holds any, then puts them back: the schema then checks only what is
 * new. A pool longer than the schema allows is checked whole (its length is the error).
 */
function withStoredEntriesAside<T>(doc: unknown, check: () => T): T {
  const aside: Array<{ owner: { pool?: unknown[] }; pool: unknown[] }> = [];
  const d = doc as InstanceDoc | undefined;
  const owners = [d?.backend, ...(Array.isArray(d?.services) ? d.services.map((s) => s?.backend) : [])];
  for (const owner of owners) {
    const pool = owner?.pool;
    if (!Array.isArray(pool) || pool.length > LIMITS.pool) continue;
    if (!pool.some((e) => typeof e === 'object' && e !== null && stored.has(e))) continue;
    aside.push({ owner: owner as { pool?: unknown[] }, pool });
    (owner as { pool?: unknown[] }).pool = pool.filter(
      (e) => typeof e !== 'object' || e === null || !stored.has(e),
    );
  }
  try {
    return check();
  } finally {
    for (const a of aside) a.owner.pool = a.pool;
  }
}

/**
 * One FRONTEND and one BACKEND port at most, names unique, peers existing and not another instance's
 * (the two ports of one instance may share one: one-arm).
 */
function validatePorts(
  name: string,
  ports: NonNullable<InstanceDoc['ports']>,
  ctx: ValidateContext,
): StoredPort[] {
  const out: StoredPort[] = [];
  const roles = new Map<string, string>();
  for (const p of ports) {
    if (!p.name) throw new LbdsrError('LBDSR_BAD_VALUE', 'every port needs a name');
    if (out.some((q) => q.name === p.name))
      throw new LbdsrError('LBDSR_EXISTS', `port '${p.name}' already exists`);
    if (!p.type) {
      throw new LbdsrError('LBDSR_BAD_VALUE', `port '${p.name}' needs a type (FRONTEND or BACKEND)`);
    }
    const other = roles.get(p.type);
    if (other) {
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `instance ${name} already has a ${p.type} port ('${other}'); an instance has one FRONTEND and one BACKEND port`,
      );
    }
    roles.set(p.type, p.name);
    const oldPort = ctx.old?.ports.find((q) => q.name === p.name);
    const port: StoredPort = {
      name: p.name,
      type: p.type,
      uuid: typeof oldPort?.uuid === 'string' ? oldPort.uuid : ctx.newUuid(),
    };
    if (p.peer !== undefined && p.peer !== '') {
      const peer = String(p.peer);
      // the FRONTEND and BACKEND ports may share one interface (one-arm: docs/semantics.md)
      checkPeer(peer, p.name, oldPort?.peer === peer, ctx);
      port.peer = peer;
    }
    out.push(port);
  }
  return out;
}

/**
 * A peer is a valid interface name other than `lo`, exists (unless the port already had it) and is no
 * other instance's.
 */
function checkPeer(peer: string, port: string, known: boolean, ctx: ValidateContext): void {
  if (!IFNAME_RE.test(peer)) {
    throw new LbdsrError(
      'LBDSR_NO_SUCH_INTERFACE',
      `peer '${peer}' of port '${port}' is not a valid interface name`,
    );
  }
  // a plane on the loopback would take the host's own loopback traffic, the daemon's API included
  // (a state saved before this rule keeps its peer: `known`)
  if (peer === 'lo' && !known) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `peer 'lo' of port '${port}' is refused: a data plane on the loopback interface would take the host's loopback traffic, this daemon's own API included`,
    );
  }
  if (!known && !ctx.interfaceExists(peer)) {
    throw new LbdsrError(
      'LBDSR_NO_SUCH_INTERFACE',
      `interface '${peer}' (peer of port '${port}') does not exist`,
    );
  }
  for (const o of ctx.others) {
    const used = o.ports.find((q) => q.peer === peer);
    if (used) {
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `interface '${peer}' is already the peer of port '${used.name}' of instance ${o.name}`,
      );
    }
  }
}
