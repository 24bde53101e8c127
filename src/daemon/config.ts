// Instance documents: body checks against the schemas, the generic REST operations on a document
// (GET/POST/PUT/PATCH/DELETE at a location) and the whole-document validation (shape, names, ports,
// peers, uuids, defaults, warnings) that runs before any change is applied. A change is computed on a
// copy, validated whole, planned by the control state (which refuses what the pipeline cannot hold:
// src/pipeline/desired.ts), and only then committed.
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { isGroupMac, normalizeMac, parseMac } from '../core/addr.js';
import { LbdsrError } from '../core/errors.js';
import {
  type Algorithm,
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type LogLevel,
  type PlaneType,
  type PortConfig,
  type PortType,
  type SessionSettings,
} from '../core/model.js';
import { enumValues, InstanceSchema, LIST_KEYS, propertiesOf } from './schema.js';

export interface StoredPort extends PortConfig {
  uuid: string;
}
/** An instance as the daemon keeps and persists it (ports carry their uuid). */
export interface StoredInstance extends InstanceConfig {
  ports: StoredPort[];
}

// biome-ignore lint/suspicious/noExplicitAny: JSON documents
type Json = any;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/**
 * Brings a request body in line with its schema before checking it: enum values are matched
 * case-insensitively, read-only fields (status, uuid, plane) are dropped.
 */
export function normalizeBody(schema: TSchema, value: Json): Json {
  const values = enumValues(schema);
  if (values && typeof value === 'string') {
    const hit = values.find((v) => v === value.toUpperCase());
    return hit ?? value;
  }
  if (schema.anyOf && !values) {
    const member = (schema.anyOf as TSchema[]).find((s) => (s.type === 'array') === Array.isArray(value));
    return member ? normalizeBody(member, value) : value;
  }
  if (schema.type === 'array' && Array.isArray(value)) {
    return value.map((v) => normalizeBody(schema.items as TSchema, v));
  }
  const props = propertiesOf(schema);
  if (props && isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // own properties only: a key like '__proto__' is an unknown key, not Object.prototype's
      const p = Object.hasOwn(props, k) ? props[k] : undefined;
      if (p?.readOnly) continue;
      // defined, not assigned: `out['__proto__'] = v` would set the prototype and hide the key from checks
      Object.defineProperty(out, k, {
        value: p ? normalizeBody(p, v) : v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function fieldName(path: string, where: string): string {
  const parts = path.split('/').filter((p) => p !== '' && !/^\d+$/.test(p));
  return parts.length ? parts.join('.') : where;
}

/** Throws an LbdsrError naming the first problem of `value` against `schema`. */
export function checkBody(schema: TSchema, value: Json, where: string): void {
  if (value === undefined) throw new LbdsrError('LBDSR_BAD_BODY', `${where}: a body is required`);
  if (schema.anyOf && !enumValues(schema)) {
    const member = (schema.anyOf as TSchema[]).find((s) => (s.type === 'array') === Array.isArray(value));
    if (member) {
      checkBody(member, value, where);
      return;
    }
  }
  const err = Value.Errors(schema, value).First();
  if (!err) return;
  const field = fieldName(err.path, where);
  const last = field.split('.').pop()!;
  if (err.type === ValueErrorType.ObjectAdditionalProperties) {
    const parentPath = err.path.slice(0, err.path.lastIndexOf('/'));
    const props = findProps(schema, parentPath, value);
    const valid = props ? Object.keys(props).join(', ') : '';
    throw new LbdsrError(
      'LBDSR_UNKNOWN_KEY',
      `unknown key '${last}' in ${where}${valid ? ` (valid keys: ${valid})` : ''}`,
    );
  }
  const sub = err.schema;
  const shown = typeof err.value === 'string' ? `'${err.value}'` : JSON.stringify(err.value);
  const allowed = enumValues(sub);
  if (allowed?.includes('XDP_SKB') && typeof err.value === 'string' && err.value.toUpperCase() === 'TC') {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      "type TC is Polycube's traffic-control data plane; here XDP_SKB (generic XDP) does that job: use type=XDP_SKB",
    );
  }
  if (allowed) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${shown} is not a valid ${field}: expected one of ${allowed.join(', ')}`,
    );
  }
  if (last === 'id') {
    throw new LbdsrError('LBDSR_BAD_ID', `backend id ${shown} is not a uint32 (0..4294967295)`);
  }
  throw new LbdsrError('LBDSR_BAD_VALUE', `${field}: ${shown} is not valid (${err.message.toLowerCase()})`);
}

function findProps(schema: TSchema, pointer: string, value: Json): Record<string, TSchema> | undefined {
  let s: TSchema | undefined = schema;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (!s) return undefined;
    if (s.anyOf) s = (s.anyOf as TSchema[]).find((m) => m.type === 'array' || m.type === 'object');
    if (s?.type === 'array') s = s.items as TSchema;
    else if (s?.type === 'object') s = (s.properties as Record<string, TSchema>)[part];
  }
  if (s?.anyOf) s = (s.anyOf as TSchema[]).find((m) => (m.type === 'array') === Array.isArray(value));
  if (s?.type === 'array') s = s.items as TSchema;
  return s ? propertiesOf(s) : undefined;
}

// ---- locations and generic operations ----

/** A step into a document: a property, or a list entry by key. */
export type Step = string | { field: string; key: string | number };
export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function describe(loc: Step[]): string {
  return loc.map((s) => (typeof s === 'string' ? s : String(s.key))).join(' ') || 'instance';
}

function entryIndex(list: Json[], step: { field: string; key: string | number }): number {
  return list.findIndex((e) => isObject(e) && e[step.field] === step.key);
}

/** Reads the value at `loc`; missing list entries give LBDSR_NOT_FOUND. */
export function getAt(doc: Json, loc: Step[], what = 'resource'): Json {
  let cur = doc;
  for (let i = 0; i < loc.length; i++) {
    const step = loc[i]!;
    if (typeof step === 'string') {
      cur = isObject(cur) ? cur[step] : undefined;
    } else {
      const list = Array.isArray(cur) ? cur : [];
      const idx = entryIndex(list, step);
      if (idx < 0) throw notFound(loc.slice(0, i + 1), what);
      cur = list[idx];
    }
  }
  return cur;
}

function notFound(loc: Step[], _what: string): LbdsrError {
  const last = loc[loc.length - 1]!;
  const listName = loc[loc.length - 2];
  if (typeof last !== 'string') {
    const kind = listName === 'pool' ? 'backend' : listName === 'ports' ? 'port' : 'entry';
    return new LbdsrError('LBDSR_NOT_FOUND', `${kind} '${last.key}' does not exist`);
  }
  return new LbdsrError('LBDSR_NOT_FOUND', `${describe(loc)} does not exist`);
}

/** Default content of a container (used by PUT/DELETE on it). */
function defaultsFor(field: string): Json {
  if (field === 'frontend') return {};
  if (field === 'backend') return { pool: [] };
  if (field === 'sessions') return clone(DEFAULT_SESSION_SETTINGS);
  if (field === 'ports' || field === 'pool') return [];
  return undefined;
}

function mergeInto(target: Json, patch: Json, field: string): Json {
  const keyField = LIST_KEYS[field];
  if (keyField && Array.isArray(target) && Array.isArray(patch)) {
    const out = target.slice();
    for (const e of patch) {
      const idx = isObject(e) ? out.findIndex((t) => isObject(t) && t[keyField] === e[keyField]) : -1;
      if (idx >= 0) out[idx] = mergeInto(out[idx], e, '');
      else out.push(e);
    }
    return out;
  }
  if (isObject(target) && isObject(patch)) {
    const out: Record<string, unknown> = { ...target };
    for (const [k, v] of Object.entries(patch)) out[k] = mergeInto(target[k], v, k);
    return out;
  }
  return patch;
}

function withKey(body: Json, step: { field: string; key: string | number }): Json {
  if (!isObject(body)) throw new LbdsrError('LBDSR_BAD_BODY', `the body of ${step.key} must be an object`);
  if (body[step.field] !== undefined && body[step.field] !== step.key) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${step.field} '${body[step.field]}' in the body does not match '${step.key}' in the path`,
    );
  }
  return { ...body, [step.field]: step.key };
}

function requireKeys(entries: Json[], field: string, listName: string): void {
  for (const e of entries) {
    if (!isObject(e) || e[field] === undefined) {
      throw new LbdsrError('LBDSR_BAD_VALUE', `every entry of ${listName} needs a '${field}'`);
    }
  }
}

/**
 * Applies one REST operation at `loc` (relative to the instance) to a copy of `doc` and returns it.
 * `field` is the name of the last step's property (for defaults and list keys), `optional` whether a
 * leaf may be unset.
 */
export function applyOp(doc: Json, loc: Step[], method: Method, body: Json, optional = false): Json {
  const root = clone(doc);
  if (loc.length === 0)
    throw new LbdsrError('LBDSR_INTERNAL', 'instance-level operations are handled by the store');
  const parentLoc = loc.slice(0, -1);
  const parent = getAt(root, parentLoc);
  const last = loc[loc.length - 1]!;
  if (typeof last !== 'string') {
    const list: Json[] = Array.isArray(parent) ? parent : [];
    const idx = entryIndex(list, last);
    if (method === 'DELETE' || method === 'PATCH') {
      if (idx < 0) throw notFound(loc, 'entry');
      if (method === 'DELETE') list.splice(idx, 1);
      else list[idx] = mergeInto(list[idx], withKey(body, last), '');
    } else if (method === 'POST') {
      if (idx >= 0) throw exists(loc);
      list.push(withKey(body, last));
    } else if (idx >= 0) list[idx] = withKey(body, last);
    else list.push(withKey(body, last));
    return root;
  }
  if (!isObject(parent)) throw notFound(parentLoc, 'resource');
  const keyField = LIST_KEYS[last];
  if (keyField) {
    const current: Json[] = Array.isArray(parent[last]) ? parent[last] : [];
    if (method === 'DELETE') parent[last] = [];
    else {
      const entries = Array.isArray(body) ? body : [body];
      requireKeys(entries, keyField, last);
      if (method === 'POST') {
        for (const e of entries) {
          if (current.some((c) => isObject(c) && c[keyField] === e[keyField])) {
            throw exists([...loc, { field: keyField, key: e[keyField] }]);
          }
        }
        parent[last] = [...current, ...entries];
      } else if (method === 'PUT') parent[last] = entries;
      else parent[last] = mergeInto(current, entries, last);
    }
    return root;
  }
  const defaults = defaultsFor(last);
  if (method === 'DELETE') {
    if (defaults !== undefined) parent[last] = defaults;
    else if (optional) delete parent[last];
    else
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `${describe(loc)} cannot be deleted; set another value instead`,
      );
  } else if (method === 'PATCH' && isObject(parent[last])) parent[last] = mergeInto(parent[last], body, last);
  else if (defaults !== undefined && isObject(body)) parent[last] = mergeInto(defaults, body, last);
  else parent[last] = body;
  return root;
}

function exists(loc: Step[]): LbdsrError {
  const last = loc[loc.length - 1]!;
  if (typeof last !== 'string') {
    const listName = loc[loc.length - 2];
    const kind = listName === 'pool' ? 'backend' : listName === 'ports' ? 'port' : 'entry';
    return new LbdsrError('LBDSR_EXISTS', `${kind} '${last.key}' already exists`);
  }
  return new LbdsrError('LBDSR_EXISTS', `${describe(loc)} already exists`);
}

// ---- whole-instance validation ----

export function newInstance(name: string): StoredInstance {
  return {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: {},
    backend: { pool: [] },
    sessions: clone(DEFAULT_SESSION_SETTINGS),
  };
}

/** Builds an instance document from a create/replace body: defaults, then the body. */
export function instanceFromBody(name: string, body: Json): Json {
  const b = isObject(body) ? body : {};
  if (b.name !== undefined && b.name !== name) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `name '${b.name}' in the body does not match '${name}' in the path`,
    );
  }
  return mergeInto(newInstance(name), { ...b, name }, '');
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

/** An instance document after the schema check: every field may still be absent. */
interface InstanceDoc {
  name?: string;
  type?: PlaneType | 'AUTO';
  loglevel?: LogLevel;
  algorithm?: Algorithm;
  ports?: { name?: string; type?: PortType; peer?: string }[];
  frontend?: { vip?: string; mac?: string };
  backend?: { pool?: { id?: number; mac?: string }[] };
  sessions?: { capacity?: number; timeouts?: Partial<SessionSettings['timeouts']> };
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
  const doc = normalizeBody(InstanceSchema, input) as InstanceDoc;
  checkBody(InstanceSchema, doc, `instance ${doc?.name ?? ''}`.trim());
  const name = doc.name ?? '';
  const cfg: StoredInstance = {
    name,
    loglevel: doc.loglevel ?? 'INFO',
    algorithm: doc.algorithm ?? 'HASH_SESSION',
    ports: validatePorts(name, doc.ports ?? [], ctx),
    frontend: {},
    backend: { pool: [] },
    sessions: {
      capacity: doc.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity,
      timeouts: { ...DEFAULT_SESSION_SETTINGS.timeouts, ...(doc.sessions?.timeouts ?? {}) },
    },
  };
  if (doc.type && doc.type !== 'AUTO') cfg.type = doc.type;
  if (doc.frontend?.vip !== undefined) cfg.frontend.vip = doc.frontend.vip.trim();
  if (doc.frontend?.mac !== undefined) cfg.frontend.mac = normalizeMac(doc.frontend.mac);
  const warnings: string[] = [];
  const oldMacs = new Map(ctx.old?.backend.pool.map((q) => [q.id, q.mac]));
  for (const e of doc.backend?.pool ?? []) {
    if (e.id === undefined) throw new LbdsrError('LBDSR_BAD_ID', 'every backend needs an id (a uint32)');
    if (e.mac === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `backend ${e.id} needs a mac`);
    const mac = normalizeMac(e.mac);
    if (isGroupMac(parseMac(mac)) && oldMacs.get(e.id) !== mac) {
      warnings.push(
        `backend ${e.id}: MAC ${mac} has the group (multicast) bit set; accepted as the seed does, but frames to it reach every station of the segment`,
      );
    }
    cfg.backend.pool.push({ id: e.id, mac });
  }
  return { config: cfg, warnings };
}

/** One FRONTEND and one BACKEND port at most, names unique, peers existing and not shared. */
function validatePorts(
  name: string,
  ports: NonNullable<InstanceDoc['ports']>,
  ctx: ValidateContext,
): StoredPort[] {
  const out: StoredPort[] = [];
  const roles = new Map<string, string>();
  const peers = new Map<string, string>();
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
      checkPeer(peer, p.name, oldPort?.peer === peer, ctx);
      const twice = peers.get(peer);
      if (twice) {
        throw new LbdsrError('LBDSR_CONFLICT', `interface '${peer}' is already the peer of port '${twice}'`);
      }
      peers.set(peer, p.name);
      port.peer = peer;
    }
    out.push(port);
  }
  return out;
}

/** A peer is a valid interface name, exists (unless the port already had it) and is no other instance's. */
function checkPeer(peer: string, port: string, known: boolean, ctx: ValidateContext): void {
  if (!IFNAME_RE.test(peer)) {
    throw new LbdsrError(
      'LBDSR_NO_SUCH_INTERFACE',
      `peer '${peer}' of port '${port}' is not a valid interface name`,
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

/** Parses a pool id from a URL segment. */
export function parsePoolId(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    throw new LbdsrError('LBDSR_BAD_ID', `backend id '${text}' is not a uint32 (0..4294967295)`);
  }
  return Number(text);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export function checkName(text: string, what: string): string {
  if (!NAME_RE.test(text)) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${what} '${text}' is not valid (letters, digits, _ . -, up to 64)`,
    );
  }
  return text;
}
