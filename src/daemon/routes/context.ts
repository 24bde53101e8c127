// What every route module shares: the typed fastify instance (TypeBox type provider), the instance
// store they act on, the schemas of path parameters and of answers, and the body preparation run
// before fastify validates a body.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { LbdsrError } from '../../core/errors.js';
import type { BackendStatus } from '../../core/model.js';
import { whereOf } from '../http.js';
import type { Instances } from '../instances.js';
import type { ChangeTiming } from '../planes.js';
import {
  ErrorSchema,
  INSTANCE_NODE,
  PORTS_NODE,
  type ResourceNode,
  SERVICES_NODE,
  WarningsSchema,
} from '../schema.js';
import { canonicalEnum } from '../validation.js';

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What the daemon observes of its backends (src/daemon/runtime): `backend pool show` adds it. */
export interface BackendStatusSource {
  status(instance: string, service: string, id: number): BackendStatus | undefined;
}

export interface RouteContext {
  app: Api;
  instances: Instances;
  /** The runtime (health, ARP, sessions); without it `pool show` computes the static status. */
  runtime?: BackendStatusSource;
}

const key = (node: ResourceNode): TSchema => {
  if (!node.key) throw new LbdsrError('LBDSR_INTERNAL', `${node.segment} is not a list`);
  return node.key.schema;
};

/** Schemas of the path parameters, by name (the URL segments are strings; ids are checked as text). */
export const PARAMS: Record<string, TSchema> = {
  name: { ...key(INSTANCE_NODE), description: 'instance name' },
  port: { ...key(PORTS_NODE), description: 'port name' },
  service: { ...key(SERVICES_NODE), description: "service name ('default': frontend and backend)" },
  id: Type.String({ pattern: '^\\d{1,10}$', description: 'backend id: an opaque uint32 (0..4294967295)' }),
};

const paramSchemas = new Map<string, TSchema>();

/**
 * The parameters object of a route URL (`/:name/ports/:port/`); one object per set of parameters, so
 * that ajv compiles each once (it caches by schema object).
 */
export function paramsOf(url: string): TSchema {
  const names = [...url.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '');
  const id = names.join('/');
  let schema = paramSchemas.get(id);
  if (!schema) {
    const props: Record<string, TSchema> = {};
    for (const n of names) props[n] = PARAMS[n] ?? Type.String();
    schema = Type.Object(props);
    paramSchemas.set(id, schema);
  }
  return schema;
}

/**
 * A 200 answer serialised as it is (no fast-json-stringify schema: a document of 4,096 backends goes
 * out by JSON.stringify), typed for the handler; /openapi.json shows the route's `shows` schema.
 */
export function asIs<T>() {
  return Type.Unsafe<T>({});
}

/** Shared answer schemas, added to fastify by id (registerOpenApi) and listed once in /openapi.json. */
export const SHARED_SCHEMAS = { LbdsrError: ErrorSchema, LbdsrChange: WarningsSchema };
const shared = <T extends keyof typeof SHARED_SCHEMAS>(id: T) =>
  Type.Unsafe<Static<(typeof SHARED_SCHEMAS)[T]>>({ $ref: `${id}#` });

const error = shared('LbdsrError');
/** Error answers every route can give. */
export const ERRORS = {
  400: error,
  401: error,
  403: error,
  404: error,
  409: error,
  413: error,
  415: error,
  421: error,
  500: error,
  507: error,
};
/** Answers of a change: the warnings, 201 for a creation. */
export const CHANGED = { 200: shared('LbdsrChange'), 201: shared('LbdsrChange'), ...ERRORS };

/** The instance name of a request (validated by the route's params schema). */
export function nameOf(req: FastifyRequest): string {
  return (req.params as { name: string }).name;
}

/**
 * preValidation of a body: an absent body is refused (`absent` undefined) or replaced by `absent`; a
 * body that is a single enum value (`PUT .../algorithm` with "hash_src_ip") is made canonical, as the
 * `x-lenient` keyword does for values inside objects.
 */
export function prepareBody(schema: TSchema, absent?: unknown) {
  return async (req: FastifyRequest): Promise<void> => {
    if (req.body === undefined) {
      if (absent === undefined) throw new LbdsrError('LBDSR_BAD_BODY', `${whereOf(req)}: a body is required`);
      req.body = structuredClone(absent);
    } else req.body = canonicalEnum(schema, req.body);
  };
}

const ms = (v: number) => Math.max(0, v).toFixed(2);

/**
 * The Server-Timing header of a change (docs/api.md): `request` (parsing, schema check, waiting for the
 * changes queued before), `plan` (validation and planning), `plane` (the data plane applying the plan),
 * `persist` (config.json written and flushed), and `live`: from the request's arrival (`arrival`, a
 * performance.now() instant) to the change being live in the data plane.
 */
export function serverTiming(t: ChangeTiming, arrival: number): string {
  const { start = arrival, planned = start, live = planned } = t;
  const persisted = t.persisted ?? live;
  // a change persists after the plane applied it; deleting an instance persists, then stops the plane
  const planeFirst = live <= persisted;
  const parts = [
    `request;dur=${ms(start - arrival)}`,
    `plan;dur=${ms(planned - start)}`,
    `plane;dur=${ms(planeFirst ? live - planned : live - persisted)}`,
    `persist;dur=${ms(planeFirst ? persisted - live : persisted - planned)}`,
    `live;dur=${ms(live - arrival)}`,
  ];
  return parts.join(', ');
}

/** Runs a change, giving it a timing to fill, and puts its Server-Timing header on the answer. */
export async function timedChange(
  reply: FastifyReply,
  run: (timing: ChangeTiming) => Promise<string[]>,
): Promise<string[]> {
  const timing: ChangeTiming = {};
  const warnings = await run(timing);
  // elapsedTime counts from the start of fastify's handling of the request (before onRequest)
  reply.header('server-timing', serverTiming(timing, performance.now() - reply.elapsedTime));
  return warnings;
}

export function changed(reply: FastifyReply, method: string, warnings: string[]) {
  return reply.status(method === 'POST' ? 201 : 200).send({ warnings });
}

/** Sends any JSON value, strings and null included, as JSON. */
export function sendJson(reply: FastifyReply, v: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(v === undefined ? null : v));
}
