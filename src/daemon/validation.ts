// Request validation. fastify validates every request part against its route schema (schema.ts) with
// the validator compiler below: one ajv instance with the options below (no type coercion, nothing
// removed or defaulted silently, the `x-lenient` input keyword), each schema compiled on first use
// (without `x-lenient` where it has nothing to do, so a pool of 4,096 entries calls no keyword per entry).
// This room also maps ajv's errors to the {code, message} errors of the API and checks whole documents
// (a restored configuration, an instance after a change) with the same rules and the same messages.
import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { LbdsrError } from '../core/errors.js';
import { enumValues, LENIENT, propertiesOf } from './schema.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Matches a string against an enum-like schema case-insensitively: the canonical value, or `v` itself. */
export function canonicalEnum(schema: TSchema, v: unknown): unknown {
  const values = enumValues(schema);
  if (!values || typeof v !== 'string') return v;
  return values.find((x) => x === v.toUpperCase()) ?? v;
}

/**
 * The `x-lenient` keyword of object schemas, run before their properties are checked: enum values are
 * matched case-insensitively (`hash_src_ip` is HASH_SRC_IP) and read-only fields (status, uuid, plane,
 * which GET shows) are dropped, so that a shown document can be sent back.
 */
function lenient(_on: boolean, data: unknown, parent?: { properties?: Record<string, TSchema> }): boolean {
  const props = parent?.properties;
  if (props) lenientWith(actingProperties(props), data);
  return true;
}

/** `lenient` with the properties it acts on (actingProperties). */
function lenientWith(acting: Map<string, TSchema>, data: unknown): void {
  if (!isObject(data)) return;
  // for-in (deleting the current key is safe): no array of keys per object
  for (const k in data) {
    // own properties only: a key like '__proto__' is an unknown key, not Object.prototype's
    const p = acting.get(k);
    if (!p || !Object.hasOwn(data, k)) continue;
    if (p.readOnly) delete data[k];
    else data[k] = canonicalEnum(p, data[k]);
  }
}

const actingByProps = new WeakMap<Record<string, TSchema>, Map<string, TSchema>>();

/** The properties `lenient` acts on (read-only or enum-like), by name: most keys of an entry are neither. */
function actingProperties(props: Record<string, TSchema>): Map<string, TSchema> {
  let m = actingByProps.get(props);
  if (!m) {
    m = new Map(Object.entries(props).filter(([, p]) => p.readOnly || enumValues(p)));
    actingByProps.set(props, m);
  }
  return m;
}

/** ajv options of route validation and `checkDocument`. */
const AJV_OPTIONS: Options = {
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
  // errors carry the failing schema and value: messages name the allowed values and the valid keys
  verbose: true,
  // the schemas are built by TypeBox in code (and every route is exercised by the tests): checking
  // them against the meta-schema at each start would cost more than compiling them
  validateSchema: false,
  // the entries of a list are a function of their own (see compiledForm)
  inlineRefs: false,
};

/**
 * The `x-lenient` of a list's entries, run once on the list (see compiledForm): ajv's call of a keyword
 * costs more than what `lenient` does for an entry (a context object and the entry's path, per call),
 * which on a pool of 4,096 backends was most of the schema check. Its value: the id of the entries'
 * schema (entryProps).
 */
const LENIENT_ITEMS = 'x-lenient-items';
/** The properties of the entry schemas whose `x-lenient` acts, by their id (entryRef). */
const entryProps = new Map<string, Record<string, TSchema>>();

/** Adds the `x-lenient` keyword (and its form for the entries of a list) to an ajv instance. */
function lenientPlugin(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: LENIENT_ITEMS,
    schemaType: 'string',
    modifying: true,
    errors: false,
    validate: (id: string, data: unknown) => {
      const props = entryProps.get(id);
      if (!props || !Array.isArray(data)) return true;
      const acting = actingProperties(props);
      for (const e of data) lenientWith(acting, e);
      return true;
    },
  });
  return ajv.addKeyword({
    keyword: LENIENT,
    schemaType: 'boolean',
    modifying: true,
    errors: false,
    validate: (on: boolean, data: unknown, parent?: { properties?: Record<string, TSchema> }) =>
      lenient(on, data, parent),
  });
}

/** `ports/0/type` -> `ports.type`; the route's own name when the body itself is at fault. */
function fieldName(instancePath: string, where: string): string {
  const parts = instancePath.split('/').filter((p) => p !== '' && !/^\d+$/.test(p));
  return parts.length ? parts.join('.') : where;
}

/**
 * The error to report among ajv's: the outermost one, except that for a body that may be one entry or a
 * list of entries the branch of the body's own shape is reported.
 */
function primary(errors: ErrorObject[]): ErrorObject | undefined {
  const last = errors[errors.length - 1];
  if (last?.keyword !== 'anyOf' || enumValues(last.parentSchema as TSchema)) return last;
  const branches = (last.parentSchema as TSchema).anyOf as TSchema[];
  const idx = branches.findIndex((s) => (s.type === 'array') === Array.isArray(last.data));
  // errors of the other branches are left out (those of a referenced entry schema have its own path)
  const other = (e: ErrorObject) =>
    branches.some((_, j) => j !== idx && e.schemaPath.startsWith(`${last.schemaPath}/${j}/`));
  const inner = errors.filter((e) => e !== last && !other(e));
  return inner.length ? primary(inner) : last;
}

/** A value as messages quote it: strings in single quotes, anything else as JSON. */
export function shown(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

/** Maps ajv's errors for a body to one LbdsrError; `where` names the resource (`lb1 frontend`). */
export function bodyError(errors: ErrorObject[], where: string): LbdsrError {
  const err = primary(errors);
  if (!err) return new LbdsrError('LBDSR_BAD_BODY', `${where}: the body is not valid`);
  const field = fieldName(err.instancePath, where);
  const last = field.split('.').pop();
  if (err.keyword === 'additionalProperties') {
    const key = String((err.params as { additionalProperty: string }).additionalProperty);
    const valid = Object.keys(propertiesOf(err.parentSchema as TSchema) ?? {}).join(', ');
    return new LbdsrError(
      'LBDSR_UNKNOWN_KEY',
      `unknown key '${key}' in ${where}${valid ? ` (valid keys: ${valid})` : ''}`,
    );
  }
  if (err.keyword === 'maxItems') {
    // the count, not the list: a body over the limit may hold 95,000 entries
    const limit = (err.params as { limit: number }).limit;
    const got = Array.isArray(err.data) ? err.data.length : '?';
    return new LbdsrError('LBDSR_TOO_MANY', `${field}: at most ${limit} entries (got ${got})`);
  }
  const allowed = enumValues(err.parentSchema as TSchema);
  if (allowed?.includes('XDP_SKB') && typeof err.data === 'string' && err.data.toUpperCase() === 'TC') {
    return new LbdsrError(
      'LBDSR_BAD_VALUE',
      "type TC is Polycube's traffic-control data plane; here XDP_SKB (generic XDP) does that job: use type=XDP_SKB",
    );
  }
  if (allowed) {
    return new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${shown(err.data)} is not a valid ${field}: expected one of ${allowed.join(', ')}`,
    );
  }
  if (last === 'id') {
    return new LbdsrError('LBDSR_BAD_ID', `backend id ${shown(err.data)} is not a uint32 (0..4294967295)`);
  }
  return new LbdsrError('LBDSR_BAD_VALUE', `${field}: ${shown(err.data)} is not valid (${err.message})`);
}

const ajv = lenientPlugin(new Ajv(AJV_OPTIONS));
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Whether the `x-lenient` keyword has something to do on an object schema: a read-only or enum property. */
function lenientActs(schema: TSchema): boolean {
  return Object.values(propertiesOf(schema) ?? {}).some((p) => p.readOnly || enumValues(p));
}

/**
 * `schema` as ajv compiles it: without the `x-lenient` keyword where it has nothing to do (the frontend),
 * and with the keyword of a list's entries moved to the list (LENIENT_ITEMS), so that validating a pool
 * of 4,096 backends calls no keyword function per entry. Untyped keywords run before `items` and
 * `properties` (ajv's first rule group), so entries are normalised before they are checked.
 */
function compiledForm(schema: TSchema): TSchema {
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = { ...schema };
  if (out[LENIENT] && !lenientActs(schema)) delete out[LENIENT];
  const props = propertiesOf(schema);
  if (props) {
    out.properties = Object.fromEntries(Object.entries(props).map(([k, p]) => [k, compiledForm(p)]));
  }
  if (schema.items) {
    const items = schema.items as TSchema;
    if (propertiesOf(items)) {
      const id = entryRef(items);
      out.items = { $ref: id };
      if (entryProps.has(id)) out[LENIENT_ITEMS] = id;
    } else out.items = compiledForm(items);
  }
  if (Array.isArray(schema.anyOf)) out.anyOf = (schema.anyOf as TSchema[]).map(compiledForm);
  return out as TSchema;
}

const entryIds = new WeakMap<TSchema, string>();
let entries = 0;

/**
 * The id under which the entry schema of a list is added to ajv, compiled as a function of its own: a
 * pool's entries inlined twice (the instance's and the services') made the validating function too
 * large for V8 to optimise, and the loop over 4,096 backends several times slower.
 */
function entryRef(items: TSchema): string {
  let id = entryIds.get(items);
  if (id === undefined) {
    id = `lbdsr-entry-${entries++}`;
    entryIds.set(items, id);
    const form = compiledForm(items) as Record<string, unknown>;
    if (form[LENIENT]) {
      delete form[LENIENT];
      entryProps.set(id, propertiesOf(items) ?? {});
    }
    ajv.addSchema(form, id);
  }
  return id;
}

function validator(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(compiledForm(schema));
    compiled.set(schema, v);
  }
  return v;
}

/**
 * fastify's validator compiler (`setValidatorCompiler`). A schema is compiled when a request first
 * needs it, not when the route is added: starting the daemon does not compile ~60 routes' schemas.
 * Errors go back to fastify as ajv's error list (the error handler maps them with `bodyError`).
 */
export function lazyValidator({ schema }: { schema: unknown }) {
  let validate: ValidateFunction | undefined;
  return (data: unknown) => {
    validate ??= validator(schema as TSchema);
    return validate(data) ? { value: data } : { error: validate.errors ?? [] };
  };
}

/**
 * A normalised copy of a whole document (enum values canonical, read-only fields dropped), as a route's
 * validation leaves a body; `checkBody` then checks it. For documents that did not come through a route:
 * the configuration restored at start, an instance after a change.
 */
export function normalizeBody<T extends TSchema>(schema: T, value: unknown): Static<T> {
  const copy = structuredClone(value);
  // the x-lenient keyword normalises while ajv walks the copy; the errors are checkBody's to report
  validator(schema)(copy);
  return copy as Static<T>;
}

/**
 * normalizeBody and checkBody in one walk of `value` itself (no copy: the caller owns it): normalises
 * it in place and throws the error a request would get; `where` names it (given the normalised value).
 * The one walk is enough: normalising runs before the properties of an object are checked, so a second
 * walk would stop at the same first error.
 */
export function normalizeAndCheck<T extends TSchema>(
  schema: T,
  value: unknown,
  where: (v: Static<T>) => string,
): Static<T> {
  const doc = value as Static<T>;
  if (value === undefined) throw new LbdsrError('LBDSR_BAD_BODY', `${where(doc)}: a body is required`);
  const validate = validator(schema);
  if (!validate(value)) throw bodyError(validate.errors ?? [], where(doc));
  return doc;
}

/** Throws the error a request would get when `value` does not match `schema`; `where` names it. */
export function checkBody(schema: TSchema, value: unknown, where: string): void {
  if (value === undefined) throw new LbdsrError('LBDSR_BAD_BODY', `${where}: a body is required`);
  const validate = validator(schema);
  if (!validate(value)) throw bodyError(validate.errors ?? [], where);
}
