// Routes of everything below an instance that is configuration: ports, frontend, backend and its pool,
// the leaves (type, loglevel, algorithm, peer, mac, ...) and the session settings. They are generated
// from the resource tree of schema.ts, one route per node and method, with polycubed's semantics
// (document.ts). Sessions and stats read the data plane: their GETs are in sessions.ts and stats.ts.
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { LbdsrError } from '../../core/errors.js';
import {
  applyOp,
  applyServiceOp,
  getAt,
  type Method,
  parsePoolId,
  type Step,
  withDefaultService,
} from '../document.js';
import { API_PREFIX, INSTANCE_NODE, POOL_NODE, type ResourceNode, SERVICE } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, prepareBody, type RouteContext, sendJson } from './context.js';
import { DRY_RUN_QUERY, runChange, WRITE_ANSWERS } from './dry-run.js';
import { withStatus } from './pool-status.js';

/** One generated route: its URL, the node, and how to build the location from the parameters. */
interface RouteSpec {
  url: string;
  /** The URL below the instance (`ports/:port/peer`), for messages. */
  where: string;
  node: ResourceNode;
  /** Steps below the instance; params are filled from the request. */
  steps: Array<string | { field: string; param: string; numeric: boolean }>;
  /** The route addresses a list entry (vs the list itself). */
  entry: boolean;
  methods: Array<'GET' | Method>;
}

const ALL: RouteSpec['methods'] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** GETs that read the data plane, not the configuration. */
const LIVE = new Set(['sessions', 'stats', 'events', 'vips']);

function collectRoutes(): RouteSpec[] {
  const out: RouteSpec[] = [];
  const base = `${API_PREFIX}/${SERVICE}/:name/`;
  const add = (spec: Omit<RouteSpec, 'where'>) =>
    out.push({ ...spec, where: spec.url.slice(base.length).replace(/\/$/, '') });
  const walk = (node: ResourceNode, url: string, steps: RouteSpec['steps']) => {
    if (node.kind === 'action') return; // its own route (announce.ts)
    if (node.kind === 'list' && node.key) {
      const key = node.key;
      add({ url, node, steps, entry: false, methods: ALL });
      const numeric = key.schema.type === 'integer';
      const entrySteps = [...steps, { field: key.field, param: key.param, numeric }];
      const entryUrl = `${url}:${key.param}/`;
      add({ url: entryUrl, node, steps: entrySteps, entry: true, methods: ALL });
      for (const c of node.children ?? []) walk(c, `${entryUrl}${c.segment}/`, [...entrySteps, c.segment]);
      return;
    }
    const methods: RouteSpec['methods'] = node.readOnly ? ['GET'] : ['GET', 'PUT', 'PATCH', 'DELETE'];
    add({ url, node, steps, entry: false, methods });
    for (const c of node.children ?? []) walk(c, `${url}${c.segment}/`, [...steps, c.segment]);
  };
  for (const c of INSTANCE_NODE.children ?? []) walk(c, `${base}${c.segment}/`, [c.segment]);
  return out;
}

/** The body of a whole list: one or more entries (POST), the list (PUT, PATCH); one object per list. */
const listBodies = new Map<ResourceNode, { many: TSchema; oneOrMany: TSchema }>();
function listBody(n: ResourceNode) {
  let b = listBodies.get(n);
  if (!b) {
    const many = Type.Array(n.schema, n.maxItems === undefined ? {} : { maxItems: n.maxItems });
    b = { many, oneOrMany: Type.Union([n.schema, many]) };
    listBodies.set(n, b);
  }
  return b;
}

function bodySchema(spec: RouteSpec, method: Method): TSchema {
  const n = spec.node;
  if (n.kind === 'list' && !spec.entry) return method === 'POST' ? listBody(n).oneOrMany : listBody(n).many;
  return n.schema;
}

/** What a GET of the route shows. */
function shownSchema(spec: RouteSpec): TSchema {
  return spec.node.kind === 'list' && !spec.entry ? listBody(spec.node).many : spec.node.schema;
}

function locationOf(spec: RouteSpec, req: FastifyRequest): Step[] {
  const params = req.params as Record<string, string>;
  return spec.steps.map((s) => {
    if (typeof s === 'string') return s;
    const raw = params[s.param] ?? '';
    return { field: s.field, key: s.numeric ? parsePoolId(raw) : raw };
  });
}

function summary(method: string, spec: RouteSpec): string {
  return `${method} ${spec.entry ? 'one of the ' : ''}${spec.node.description}`;
}

/** Under `services/`, `default` is the instance's frontend and backend (document.ts). */
const underServices = (loc: Step[]) => loc[0] === 'services';

export function resourceRoutes(ctx: RouteContext): void {
  const { app, instances } = ctx;
  for (const spec of collectRoutes()) {
    const params = paramsOf(spec.url);
    const config = { where: spec.where };
    for (const method of spec.methods) {
      if (method === 'GET') {
        if (spec.steps.length === 1 && LIVE.has(spec.node.segment)) continue;
        app.get(spec.url, {
          schema: { summary: summary(method, spec), params, response: { 200: asIs<unknown>(), ...ERRORS } },
          config: { ...config, shows: shownSchema(spec) },
          handler: async (req, reply) => {
            const cfg = instances.need(nameOf(req));
            const loc = locationOf(spec, req);
            const view = instances.view(cfg);
            const shown = getAt(underServices(loc) ? withDefaultService(view) : view, loc);
            return sendJson(reply, spec.node === POOL_NODE ? withStatus(ctx, cfg, loc, shown) : shown);
          },
        });
        continue;
      }
      const body = method === 'DELETE' ? undefined : bodySchema(spec, method);
      app.route({
        method,
        url: spec.url,
        schema: {
          summary: summary(method, spec),
          params,
          querystring: DRY_RUN_QUERY,
          ...(body ? { body } : {}),
          response: WRITE_ANSWERS,
        },
        config,
        ...(body ? { preValidation: prepareBody(body) } : {}),
        handler: async (req, reply) => {
          const name = nameOf(req);
          const loc = locationOf(spec, req);
          const op = underServices(loc) ? applyServiceOp : applyOp;
          return runChange(instances, req, reply, method, (old) => {
            if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
            return op(old, loc, method, req.body, spec.node.optional === true);
          });
        },
      });
    }
  }
}
