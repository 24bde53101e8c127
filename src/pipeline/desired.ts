// The semantic check of an instance configuration: what the pipeline can hold (a unicast VIP and
// frontend MAC, at most MAX_BACKENDS backends with distinct uint32 ids and non-zero MACs, a positive
// session capacity). The daemon checks a document's shape against its schema first; this is the one
// check after that, run by ControlState.plan before anything changes. Pure: no I/O.
import { checkVip, isGroupMac, isZeroMac, macTextIs, parseMac } from '../core/addr.js';
import { ALG_HASH_SESSION, ALG_HASH_SRC_IP, MAX_BACKENDS } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../core/model.js';
import type { InstanceSettings } from './plan.js';

/** A configuration parsed into what the control state holds. */
export interface Desired {
  /** Backend id to MAC, in the order of the configuration (slots are assigned in this order). */
  pool: Map<number, Uint8Array>;
  /** The service, when both the VIP and the frontend MAC are set. */
  service?: { vip: number; mac: Uint8Array; algorithm: number };
  settings: InstanceSettings;
  capacity: number;
}

/** The MAC a backend id holds now (the control state's), to be reused when the text says the same. */
export type KnownMac = (id: number) => Uint8Array | undefined;

function checkPool(config: InstanceConfig, known?: KnownMac): Map<number, Uint8Array> {
  const list = config.backend?.pool ?? [];
  if (list.length > MAX_BACKENDS) {
    throw new LbdsrError(
      'LBDSR_TOO_MANY',
      `a pool holds at most ${MAX_BACKENDS} backends (got ${list.length})`,
    );
  }
  const pool = new Map<number, Uint8Array>();
  for (const b of list) {
    if (!Number.isInteger(b.id) || b.id < 0 || b.id > 0xffffffff) {
      throw new LbdsrError('LBDSR_BAD_ID', `backend id ${b.id} is not a uint32 (0..4294967295)`);
    }
    if (pool.has(b.id)) throw new LbdsrError('LBDSR_EXISTS', `backend '${b.id}' already exists`);
    // (backends by IP without a MAC come with the services issue: refused until then)
    if (b.mac === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `backend ${b.id} needs a mac`);
    // a backend whose MAC did not change keeps its bytes (checked when they were parsed)
    const before = known?.(b.id);
    if (before !== undefined && macTextIs(b.mac, before)) {
      pool.set(b.id, before);
      continue;
    }
    const mac = parseMac(b.mac);
    if (isZeroMac(mac)) throw new LbdsrError('LBDSR_BAD_MAC', `backend ${b.id}: MAC ${b.mac} is zero`);
    pool.set(b.id, mac);
  }
  return pool;
}

/**
 * Parses and checks `config` (and the backend port's MAC, undefined while unknown); throws an
 * LbdsrError naming the first problem. `known` gives the MACs held now, reused where unchanged.
 */
export function checkConfig(
  config: InstanceConfig,
  backendPortMac: string | undefined,
  known?: KnownMac,
): Desired {
  const fe = config.frontend ?? {};
  const vip = fe.vip === undefined ? undefined : checkVip(fe.vip);
  let feMac: Uint8Array | undefined;
  if (fe.mac !== undefined) {
    feMac = parseMac(fe.mac);
    if (isGroupMac(feMac) || isZeroMac(feMac)) {
      throw new LbdsrError(
        'LBDSR_BAD_MAC',
        `frontend MAC ${fe.mac} must be a unicast address (group bit clear, not zero)`,
      );
    }
  }
  const pool = checkPool(config, known);
  const capacity = config.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `session capacity must be a positive integer, got ${capacity}`);
  }
  const t = config.sessions?.timeouts ?? DEFAULT_SESSION_SETTINGS.timeouts;
  const portMac = backendPortMac === undefined ? null : parseMac(backendPortMac);
  const d: Desired = {
    pool,
    settings: {
      backendPortMac: portMac,
      ready: portMac !== null,
      timeoutsMs: { tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000 },
      recordNonSyn: config.sessions?.record_non_syn === true,
    },
    capacity,
  };
  if (vip !== undefined && feMac !== undefined) {
    const algorithm = config.algorithm === 'HASH_SRC_IP' ? ALG_HASH_SRC_IP : ALG_HASH_SESSION;
    d.service = { vip, mac: feMac, algorithm };
  }
  return d;
}
