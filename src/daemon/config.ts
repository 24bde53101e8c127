// Whole-instance validation: the check that runs on every instance document before a change is
// applied (after the route's schema check, and on the configuration restored at start). The REST
// operations that compute such documents are in document.ts, the schema rules in validation.ts.
import { checkVip, isGroupMac, isZeroMac, normalizeMac, parseMac } from '../core/addr.js';
import { MAX_BACKENDS } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type PortConfig } from '../core/model.js';
import { InstanceSchema } from './schema.js';
import { checkBody, normalizeBody } from './validation.js';

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
}

const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Validates a whole instance document; returns the normalised instance and warnings. */
export function validateInstance(
  input: unknown,
  ctx: ValidateContext,
): { config: StoredInstance; warnings: string[] } {
  const doc = normalizeBody(InstanceSchema, input);
  checkBody(InstanceSchema, doc, `instance ${doc?.name ?? ''}`.trim());
  const warnings: string[] = [];
  const name = doc.name ?? '';
  const cfg: StoredInstance = {
    name,
    loglevel: doc.loglevel ?? 'INFO',
    algorithm: doc.algorithm ?? 'HASH_SESSION',
    ports: [],
    frontend: {},
    backend: { pool: [] },
    sessions: {
      capacity: doc.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity,
      timeouts: { ...DEFAULT_SESSION_SETTINGS.timeouts, ...(doc.sessions?.timeouts ?? {}) },
    },
  };
  if (doc.type && doc.type !== 'AUTO') cfg.type = doc.type;

  const roles = new Map<string, string>();
  const peers = new Map<string, string>();
  for (const p of doc.ports ?? []) {
    if (!p.name) throw new LbdsrError('LBDSR_BAD_VALUE', 'every port needs a name');
    if (cfg.ports.some((q) => q.name === p.name))
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
      if (!IFNAME_RE.test(peer)) {
        throw new LbdsrError(
          'LBDSR_NO_SUCH_INTERFACE',
          `peer '${peer}' of port '${p.name}' is not a valid interface name`,
        );
      }
      const known = oldPort?.peer === peer;
      if (!known && !ctx.interfaceExists(peer)) {
        throw new LbdsrError(
          'LBDSR_NO_SUCH_INTERFACE',
          `interface '${peer}' (peer of port '${p.name}') does not exist`,
        );
      }
      const twice = peers.get(peer);
      if (twice) {
        throw new LbdsrError('LBDSR_CONFLICT', `interface '${peer}' is already the peer of port '${twice}'`);
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
      peers.set(peer, p.name);
      port.peer = peer;
    }
    cfg.ports.push(port);
  }

  if (doc.frontend?.vip !== undefined) {
    checkVip(doc.frontend.vip);
    cfg.frontend.vip = doc.frontend.vip.trim();
  }
  if (doc.frontend?.mac !== undefined) {
    const b = parseMac(doc.frontend.mac);
    if (isGroupMac(b) || isZeroMac(b)) {
      throw new LbdsrError(
        'LBDSR_BAD_MAC',
        `frontend MAC ${doc.frontend.mac} must be a unicast address (group bit clear, not zero)`,
      );
    }
    cfg.frontend.mac = normalizeMac(doc.frontend.mac);
  }

  const pool = doc.backend?.pool ?? [];
  if (pool.length > MAX_BACKENDS) {
    throw new LbdsrError(
      'LBDSR_TOO_MANY',
      `a pool holds at most ${MAX_BACKENDS} backends (got ${pool.length})`,
    );
  }
  for (const e of pool) {
    if (e.id === undefined) throw new LbdsrError('LBDSR_BAD_ID', 'every backend needs an id (a uint32)');
    if (cfg.backend.pool.some((q) => q.id === e.id))
      throw new LbdsrError('LBDSR_EXISTS', `backend '${e.id}' already exists`);
    if (e.mac === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `backend ${e.id} needs a mac`);
    const b = parseMac(e.mac);
    if (isZeroMac(b)) throw new LbdsrError('LBDSR_BAD_MAC', `backend ${e.id}: MAC ${e.mac} is zero`);
    const mac = normalizeMac(e.mac);
    const before = ctx.old?.backend.pool.find((q) => q.id === e.id);
    if (isGroupMac(b) && before?.mac !== mac) {
      warnings.push(
        `backend ${e.id}: MAC ${mac} has the group (multicast) bit set; accepted as the seed does, but frames to it reach every station of the segment`,
      );
    }
    cfg.backend.pool.push({ id: e.id, mac });
  }
  return { config: cfg, warnings };
}
