// Instance documents under REST: locations in a document (`ports/fp/peer`), the generic operations
// (GET/POST/PUT/PATCH/DELETE at a location) with polycubed's semantics, and the checks of names and ids
// taken from URL segments. Every operation works on a copy (pool entries shared, never changed in place:
// see copyForChange); the caller validates the result whole. Keyed lists merge through a map of their
// keys, so the work grows with the body and the list, not with their product.
import { LbdsrError } from '../core/errors.js';
import { DEFAULT_SESSION_SETTINGS } from '../core/model.js';
import type { StoredInstance } from './config.js';
import { LIST_KEYS } from './schema.js';

/** A JSON object of a document. */
type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A deep copy of a JSON value (objects, arrays, primitives: what documents hold). Written out rather
 * than structuredClone, which costs several times more on an instance of 4,096 backends, copied on
 * every change.
 */
export function clone<T>(v: T): T {
  return copyJson(v) as T;
}

function copyJson(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyJson(v[i]);
    return out;
  }
  const out: Obj = {};
  // for-in over own keys: no array of keys per object (a document of 4,096 backends has 4,096)
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const c = copyJson((v as Obj)[k]);
    // an own key '__proto__' (JSON.parse makes one) stays a key, as structuredClone keeps it
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}

/**
 * The copy of an instance document an operation works on: a deep copy, except that the entries of every
 * `pool` (the instance's and its services') are shared with `doc` (the lists themselves are copied). No
 * operation changes an entry in place (merges and replacements make new objects, and validation changes
 * no field of a pool entry), so a change of one backend copies no other 4,095.
 */
function copyForChange(v: unknown, key = ''): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return key === 'pool' ? v.slice() : v.map((e) => copyForChange(e));
  const out: Obj = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const c = copyForChange((v as Obj)[k], k);
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}

/** A step into a document: a property, or a list entry by key. */
export type Step = string | { field: string; key: string | number };
export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type EntryStep = Exclude<Step, string>;

function describe(loc: Step[]): string {
  return loc.map((s) => (typeof s === 'string' ? s : String(s.key))).join(' ') || 'instance';
}

function entryIndex(list: unknown[], step: EntryStep): number {
  return list.findIndex((e) => isObject(e) && e[step.field] === step.key);
}

function kindOf(loc: Step[]): string {
  const listName = loc[loc.length - 2];
  if (listName === 'pool') return 'backend';
  return listName === 'ports' ? 'port' : listName === 'services' ? 'service' : 'entry';
}

function notFound(loc: Step[]): LbdsrError {
  const last = loc[loc.length - 1];
  if (last !== undefined && typeof last !== 'string') {
    return new LbdsrError('LBDSR_NOT_FOUND', `${kindOf(loc)} '${last.key}' does not exist`);
  }
  return new LbdsrError('LBDSR_NOT_FOUND', `${describe(loc)} does not exist`);
}

function exists(loc: Step[]): LbdsrError {
  const last = loc[loc.length - 1];
  if (last !== undefined && typeof last !== 'string') {
    return new LbdsrError('LBDSR_EXISTS', `${kindOf(loc)} '${last.key}' already exists`);
  }
  return new LbdsrError('LBDSR_EXISTS', `${describe(loc)} already exists`);
}

/**
 * Reads the value at `loc`; missing list entries give LBDSR_NOT_FOUND. `own`: the caller will change
 * the document (one from copyForChange) at `loc`, so the list entries on the way, which may be shared
 * pool entries, are replaced by copies first.
 */
export function getAt(doc: unknown, loc: Step[], own = false): unknown {
  let cur = doc;
  for (let i = 0; i < loc.length; i++) {
    const step = loc[i];
    if (step === undefined) break;
    if (typeof step === 'string') {
      cur = isObject(cur) ? cur[step] : undefined;
    } else {
      const list = Array.isArray(cur) ? cur : [];
      const idx = entryIndex(list, step);
      if (idx < 0) throw notFound(loc.slice(0, i + 1));
      if (own) list[idx] = clone(list[idx]);
      cur = list[idx];
    }
  }
  return cur;
}

/** Default content of a container (used by PUT/DELETE on it). */
function defaultsFor(field: string): unknown {
  if (field === 'frontend') return {};
  if (field === 'backend') return { pool: [] };
  if (field === 'sessions') return clone(DEFAULT_SESSION_SETTINGS);
  if (field === 'ports' || field === 'pool' || field === 'services') return [];
  return undefined;
}

/**
 * The index of the first entry of `list` with each key: a keyed merge looks entries up in it, so that
 * merging n entries into m costs n + m, not n * m (a 95,000-entry body took 48 s that way).
 */
function indexByKey(list: readonly unknown[], keyField: string): Map<unknown, number> {
  const index = new Map<unknown, number>();
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (isObject(e) && !index.has(e[keyField])) index.set(e[keyField], i);
  }
  return index;
}

/** Merges `patch` into `target`: objects key by key, keyed lists entry by entry, anything else replaced. */
function mergeInto(target: unknown, patch: unknown, field: string): unknown {
  const keyField = LIST_KEYS[field];
  if (keyField && Array.isArray(target) && Array.isArray(patch)) {
    const out = target.slice();
    const index = indexByKey(out, keyField);
    for (const e of patch) {
      const idx = isObject(e) ? index.get(e[keyField]) : undefined;
      if (idx !== undefined) out[idx] = mergeInto(out[idx], e, '');
      else {
        // an entry the body names twice is merged into its first occurrence, as into an existing one
        if (isObject(e) && !index.has(e[keyField])) index.set(e[keyField], out.length);
        out.push(e);
      }
    }
    return out;
  }
  if (isObject(target) && isObject(patch)) {
    const out: Obj = { ...target };
    for (const [k, v] of Object.entries(patch)) out[k] = mergeInto(target[k], v, k);
    return out;
  }
  return patch;
}

function withKey(body: unknown, step: EntryStep): Obj {
  if (!isObject(body)) throw new LbdsrError('LBDSR_BAD_BODY', `the body of ${step.key} must be an object`);
  const given = body[step.field];
  if (given !== undefined && given !== step.key) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${step.field} '${String(given)}' in the body does not match '${step.key}' in the path`,
    );
  }
  return { ...body, [step.field]: step.key };
}

function keyedEntries(body: unknown, field: string, listName: string): Obj[] {
  const entries = Array.isArray(body) ? body : [body];
  return entries.map((e) => {
    if (!isObject(e) || e[field] === undefined) {
      throw new LbdsrError('LBDSR_BAD_VALUE', `every entry of ${listName} needs a '${field}'`);
    }
    return e;
  });
}

/** An operation on one entry of a keyed list (`pool/7`). */
function entryOp(list: unknown[], loc: Step[], last: EntryStep, method: Method, body: unknown): void {
  const idx = entryIndex(list, last);
  if (method === 'DELETE' || method === 'PATCH') {
    if (idx < 0) throw notFound(loc);
    if (method === 'DELETE') list.splice(idx, 1);
    else list[idx] = mergeInto(list[idx], withKey(body, last), '');
  } else if (method === 'POST') {
    if (idx >= 0) throw exists(loc);
    list.push(withKey(body, last));
  } else if (idx >= 0) list[idx] = withKey(body, last);
  else list.push(withKey(body, last));
}

/** An operation on a keyed list as a whole (`pool`). */
function listOp(parent: Obj, loc: Step[], last: string, keyField: string, method: Method, body: unknown) {
  const current = Array.isArray(parent[last]) ? (parent[last] as unknown[]) : [];
  if (method === 'DELETE') {
    parent[last] = [];
    return;
  }
  const entries = keyedEntries(body, keyField, last);
  if (method === 'POST') {
    const index = indexByKey(current, keyField);
    for (const e of entries) {
      if (index.has(e[keyField])) {
        throw exists([...loc, { field: keyField, key: e[keyField] as string | number }]);
      }
    }
    parent[last] = [...current, ...entries];
  } else if (method === 'PUT') parent[last] = entries;
  else parent[last] = mergeInto(current, entries, last);
}

/**
 * Applies one REST operation at `loc` (relative to the instance) to a copy of `doc` and returns it.
 * `optional`: the leaf at `loc` may be unset by DELETE.
 */
export function applyOp(doc: unknown, loc: Step[], method: Method, body: unknown, optional = false): unknown {
  const root = copyForChange(doc);
  const last = loc[loc.length - 1];
  if (last === undefined) {
    throw new LbdsrError('LBDSR_INTERNAL', 'instance-level operations are handled by the instance routes');
  }
  const parentLoc = loc.slice(0, -1);
  const parent = getAt(root, parentLoc, true);
  if (typeof last !== 'string') {
    entryOp(Array.isArray(parent) ? parent : [], loc, last, method, body);
    return root;
  }
  if (!isObject(parent)) throw notFound(parentLoc);
  const keyField = LIST_KEYS[last];
  if (keyField) {
    listOp(parent, loc, last, keyField, method, body);
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

/** The name of the service made of an instance's `frontend`, `algorithm` and `backend`. */
export const DEFAULT_SERVICE = 'default';

/** The `default` service of an instance document: its frontend, algorithm and backend. */
function defaultService(doc: Obj): Obj {
  const fe = isObject(doc.frontend) ? doc.frontend : {};
  const out: Obj = { name: DEFAULT_SERVICE };
  if (fe.vip !== undefined) out.vip = fe.vip;
  if (fe.vip6 !== undefined) out.vip6 = fe.vip6;
  if (fe.mac !== undefined) out.mac = fe.mac;
  if (doc.algorithm !== undefined) out.algorithm = doc.algorithm;
  out.backend = doc.backend ?? { pool: [] };
  return out;
}

/**
 * The document with its `services` listing `default` first (built from frontend, algorithm and
 * backend): what GET and the operations under `services/` see. Nothing is copied.
 */
export function withDefaultService(doc: unknown): unknown {
  if (!isObject(doc)) return doc;
  const others = Array.isArray(doc.services) ? doc.services : [];
  return { ...doc, services: [defaultService(doc), ...others] };
}

/** The stored form of a document from withDefaultService: `default` back into frontend and backend. */
function withoutDefaultService(expanded: unknown): unknown {
  if (!isObject(expanded)) return expanded;
  const list = Array.isArray(expanded.services) ? expanded.services : [];
  const def = list.find((e) => isObject(e) && e.name === DEFAULT_SERVICE);
  const out: Obj = { ...expanded, services: list.filter((e) => e !== def) };
  // a list replaced or emptied without `default` leaves frontend and backend as they were
  if (!isObject(def)) return out;
  if (def.protocol !== undefined || def.port !== undefined) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      'service default takes every frame of its VIP: it has no protocol or port (add another service for those)',
    );
  }
  const frontend: Obj = {};
  if (def.vip !== undefined) frontend.vip = def.vip;
  if (def.vip6 !== undefined) frontend.vip6 = def.vip6;
  if (def.mac !== undefined) frontend.mac = def.mac;
  out.frontend = frontend;
  if (def.algorithm !== undefined) out.algorithm = def.algorithm;
  out.backend = def.backend ?? { pool: [] };
  return out;
}

/**
 * applyOp at a location under `services/`, where `default` is the instance's frontend and backend: it
 * may be changed like any service, not deleted.
 */
export function applyServiceOp(
  doc: unknown,
  loc: Step[],
  method: Method,
  body: unknown,
  optional = false,
): unknown {
  const entry = loc[1];
  if (method === 'DELETE' && loc.length === 2 && typeof entry === 'object' && entry.key === DEFAULT_SERVICE) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      'service default (the frontend and backend of the instance) cannot be deleted; delete its vip or pool instead',
    );
  }
  return withoutDefaultService(applyOp(withDefaultService(doc), loc, method, body, optional));
}

/** PATCH on a whole instance: every given field merged through the generic operations. */
export function patchInstance(old: StoredInstance, body: Obj): unknown {
  let doc: unknown = old;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'name') continue;
    const op = k === 'services' ? applyServiceOp : applyOp;
    doc = op(doc, [k], 'PATCH', v, k === 'type' || k === 'probe_ip');
  }
  // a new document in every case: the caller may normalise it in place
  return doc === old ? clone(old) : doc;
}

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
export function instanceFromBody(name: string, body: unknown): unknown {
  const b = isObject(body) ? body : {};
  if (b.name !== undefined && b.name !== name) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `name '${String(b.name)}' in the body does not match '${name}' in the path`,
    );
  }
  return mergeInto(newInstance(name), { ...b, name }, '');
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
