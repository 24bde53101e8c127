// The REST API of lbdsrd. Routes are generated from the resource tree in schema.ts; every change is
// computed on a copy of the instance, validated whole, applied to the data plane, persisted, and only
// then committed. Changes run one at a time.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { type TSchema, Type } from '@sinclair/typebox';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { parse as parseYaml } from 'yaml';
import { type ErrorCode, LbdsrError } from '../core/errors.js';
import type { PlaneType } from '../core/model.js';
import { createDataPlane, detectPlane } from '../dataplane/factory.js';
import { getNetDev, type NetDev } from '../kernel/netdev.js';
import {
  applyOp,
  checkBody,
  checkName,
  clone,
  getAt,
  instanceFromBody,
  type Method,
  normalizeBody,
  parsePoolId,
  type Step,
  type StoredInstance,
  validateInstance,
} from './config.js';
import { type PlaneFactory, PlaneManager, resolvePorts, samePorts } from './planes.js';
import { API_PREFIX, INSTANCE_NODE, InstanceSchema, type ResourceNode, SERVICE } from './schema.js';
import { loadState, saveState } from './store.js';

export interface AppOptions {
  stateDir: string;
  /** pino level; 'silent' for tests. */
  logLevel?: string;
  /** Bearer token required on every request when set. */
  token?: string;
  /** Data-plane factory (defaults to src/dataplane/factory.ts). */
  planes?: PlaneFactory;
  /** Interface lookup (defaults to sysfs). */
  netdev?: (name: string) => NetDev | undefined;
  /** Period of the interface watch in ms (0 = off). Default 2000. */
  watchMs?: number;
  /** Time a data plane gets to apply a change before the request fails. Default 20000. */
  planeTimeoutMs?: number;
}

const STATUS: Record<ErrorCode, number> = {
  LBDSR_BAD_MAC: 400,
  LBDSR_BAD_IPV4: 400,
  LBDSR_BAD_VIP: 400,
  LBDSR_BAD_ID: 400,
  LBDSR_BAD_VALUE: 400,
  LBDSR_BAD_BODY: 400,
  LBDSR_UNKNOWN_KEY: 400,
  LBDSR_NO_SUCH_INTERFACE: 400,
  LBDSR_TOO_MANY: 400,
  LBDSR_NOT_FOUND: 404,
  LBDSR_EXISTS: 409,
  LBDSR_CONFLICT: 409,
  LBDSR_NOT_AVAILABLE: 409,
  LBDSR_UNAUTHORIZED: 401,
  LBDSR_INTERNAL: 500,
};

// biome-ignore lint/suspicious/noExplicitAny: JSON documents
type Json = any;

/** One generated route: its URL, the node, and how to build the location from the parameters. */
interface RouteSpec {
  url: string;
  node: ResourceNode;
  /** Steps below the instance; params are filled from the request. */
  steps: Array<string | { field: string; param: string; numeric: boolean }>;
  /** The route addresses a list entry (vs the list itself). */
  entry: boolean;
  methods: Array<'GET' | Method>;
}

function collectRoutes(): RouteSpec[] {
  const out: RouteSpec[] = [];
  const base = `${API_PREFIX}/${SERVICE}/:name/`;
  const walk = (node: ResourceNode, url: string, steps: RouteSpec['steps']) => {
    if (node.kind === 'list') {
      const key = node.key!;
      out.push({ url, node, steps, entry: false, methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] });
      const numeric = key.schema.type === 'integer';
      const entrySteps = [...steps, { field: key.field, param: key.param, numeric }];
      const entryUrl = `${url}:${key.param}/`;
      out.push({
        url: entryUrl,
        node,
        steps: entrySteps,
        entry: true,
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      });
      for (const c of node.children ?? []) walk(c, `${entryUrl}${c.segment}/`, [...entrySteps, c.segment]);
      return;
    }
    const methods: RouteSpec['methods'] = node.readOnly ? ['GET'] : ['GET', 'PUT', 'PATCH', 'DELETE'];
    out.push({ url, node, steps, entry: false, methods });
    for (const c of node.children ?? []) walk(c, `${url}${c.segment}/`, [...steps, c.segment]);
  };
  for (const c of INSTANCE_NODE.children ?? []) walk(c, `${base}${c.segment}/`, [c.segment]);
  return out;
}

function bodySchema(spec: RouteSpec, method: Method): TSchema {
  const n = spec.node;
  if (n.kind === 'list' && !spec.entry) {
    return method === 'POST' ? Type.Union([n.schema, Type.Array(n.schema)]) : Type.Array(n.schema);
  }
  return n.schema;
}

function bearerOk(header: string | undefined, token: string): boolean {
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 4 * 1024 * 1024,
    // malformed URL encoding or an over-long path segment: a {code, message} error like every other
    frameworkErrors: (err, _req, reply) => {
      (reply as unknown as FastifyReply)
        .status(400)
        .send({ code: 'LBDSR_BAD_VALUE', message: `bad request path: ${err.message}` });
    },
  });
  const log = app.log;
  const netdev = opts.netdev ?? getNetDev;
  const factory: PlaneFactory = opts.planes ?? {
    create: (kind: PlaneType, instance: string) => createDataPlane(kind, instance),
    detect: detectPlane,
  };
  const planes = new PlaneManager(factory, log, opts.planeTimeoutMs);
  const instances = new Map<string, StoredInstance>();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  const persist = () => saveState(opts.stateDir, { version: 1, instances: [...instances.values()] });

  /**
   * Computes the new document of instance `name` from the old one (undefined = absent), validates it,
   * applies it to the plane, persists and commits. `compute` returning null deletes the instance.
   */
  const change = (name: string, compute: (old: StoredInstance | undefined) => Json | null) =>
    serial(async () => {
      const old = instances.get(name);
      const doc = compute(clone(old));
      if (doc === null) {
        if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
        instances.delete(name);
        try {
          persist();
        } catch (e) {
          instances.set(name, old);
          throw new LbdsrError('LBDSR_INTERNAL', `could not save the configuration: ${(e as Error).message}`);
        }
        await planes.stop(name, false);
        log.info({ instance: name }, 'instance deleted');
        return [];
      }
      const others = [...instances.values()].filter((i) => i.name !== name);
      const { config, warnings } = validateInstance(doc, {
        old,
        others,
        interfaceExists: (n) => netdev(n) !== undefined,
        newUuid: randomUUID,
      });
      for (const w of warnings) log.warn({ instance: name }, w);
      const ports = resolvePorts(config, netdev);
      await planes.reconcile(config, ports, config.type !== old?.type);
      instances.set(name, config);
      try {
        persist();
      } catch (e) {
        if (old) instances.set(name, old);
        else instances.delete(name);
        if (old) await planes.reconcile(old, resolvePorts(old, netdev), true).catch(() => {});
        else await planes.stop(name, false);
        throw new LbdsrError('LBDSR_INTERNAL', `could not save the configuration: ${(e as Error).message}`);
      }
      return warnings;
    });

  const view = (cfg: StoredInstance): Json => {
    const v: Json = clone(cfg);
    const ports = v.ports.map((p: StoredInstance['ports'][number]) => ({
      name: p.name,
      type: p.type,
      ...(p.peer !== undefined ? { peer: p.peer } : {}),
      status: p.peer && netdev(p.peer)?.up ? 'UP' : 'DOWN',
      uuid: p.uuid,
    }));
    return {
      name: v.name,
      type: cfg.type ?? 'AUTO',
      plane: planes.kind(cfg.name) ?? 'NONE',
      loglevel: v.loglevel,
      algorithm: v.algorithm,
      ports,
      frontend: v.frontend,
      backend: v.backend,
      sessions: v.sessions,
    };
  };

  const need = (name: string): StoredInstance => {
    const i = instances.get(name);
    if (!i) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
    return i;
  };

  const checkedBody = (schema: TSchema, body: Json, where: string): Json => {
    const b = normalizeBody(schema, body);
    checkBody(schema, b, where);
    return b;
  };

  // ---- restore ----
  const state = loadState(opts.stateDir);
  for (const stored of state.instances) {
    const { config } = validateInstance(stored, {
      old: stored,
      others: [...instances.values()],
      interfaceExists: () => true,
      newUuid: randomUUID,
    });
    instances.set(config.name, config);
    try {
      await planes.reconcile(config, resolvePorts(config, netdev), false);
    } catch (e) {
      log.error(
        { instance: config.name, err: (e as Error).message },
        'could not attach the data plane on restore',
      );
    }
  }
  if (state.instances.length) log.info({ instances: [...instances.keys()] }, 'configuration restored');

  // ---- interface watch: re-attach when peers appear, disappear or change ----
  const tried = new Map<string, string>();
  const watch = () =>
    serial(async () => {
      for (const cfg of instances.values()) {
        const ports = resolvePorts(cfg, netdev);
        const have = planes.ports(cfg.name) ?? {};
        if (samePorts(ports, have)) continue;
        const sig = JSON.stringify(ports);
        if (tried.get(cfg.name) === sig) continue;
        try {
          await planes.reconcile(cfg, ports, false);
          tried.delete(cfg.name);
          log.info({ instance: cfg.name, ports }, 'interfaces changed; data plane updated');
        } catch (e) {
          // not retried until the interfaces change again
          tried.set(cfg.name, sig);
          log.error(
            { instance: cfg.name, err: (e as Error).message },
            'interfaces changed; data plane update failed',
          );
        }
      }
    });
  const watchMs = opts.watchMs ?? 2000;
  const timer = watchMs > 0 ? setInterval(() => void watch().catch(() => {}), watchMs) : undefined;
  timer?.unref();

  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await queue;
    await planes.stopAll(true);
  });

  // ---- plumbing ----
  app.removeContentTypeParser('application/json');
  app.removeContentTypeParser('text/plain');
  const parseText =
    (kind: 'json' | 'yaml') =>
    (_req: FastifyRequest, text: string, done: (e: Error | null, v?: unknown) => void) => {
      if (text.trim() === '') return done(null, undefined);
      let value: unknown;
      try {
        // YAML goes through JSON: aliases can build a circular document (`x: &a [*a]`) nothing else handles
        // (logLevel error: YAML warnings would print client text on stderr, outside the log)
        const doc = kind === 'json' ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' });
        value = kind === 'json' || doc === undefined ? doc : JSON.parse(JSON.stringify(doc));
      } catch (e) {
        return done(
          new LbdsrError(
            'LBDSR_BAD_BODY',
            `the body is not valid ${kind.toUpperCase()}: ${(e as Error).message.split('\n')[0]}`,
          ),
        );
      }
      done(null, value);
    };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseText('json'));
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    parseText('yaml'),
  );

  if (opts.token) {
    const token = opts.token;
    app.addHook('onRequest', async (req) => {
      if (!bearerOk(req.headers.authorization, token)) {
        throw new LbdsrError('LBDSR_UNAUTHORIZED', 'missing or wrong bearer token');
      }
    });
  }

  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET')
      log.info({ method: req.method, url: req.url, status: reply.statusCode }, 'request');
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof LbdsrError) {
      if (err.code === 'LBDSR_INTERNAL') log.error({ url: req.url, err: err.message }, 'internal error');
      return reply.status(STATUS[err.code]).send({ code: err.code, message: err.message });
    }
    if (
      err.code?.startsWith('FST_ERR_CTP') ||
      err.statusCode === 400 ||
      err.statusCode === 415 ||
      err.statusCode === 413
    ) {
      return reply.status(400).send({ code: 'LBDSR_BAD_BODY', message: `bad request body: ${err.message}` });
    }
    log.error({ url: req.url, err: err.message, stack: err.stack }, 'internal error');
    return reply.status(500).send({ code: 'LBDSR_INTERNAL', message: err.message });
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ code: 'LBDSR_NOT_FOUND', message: `no such resource: ${req.method} ${req.url}` });
  });

  // ---- routes ----
  const root = `${API_PREFIX}/${SERVICE}/`;
  const reply201 = (reply: FastifyReply, warnings: string[]) => reply.status(201).send({ warnings });

  app.get(root, async () => [...instances.values()].map(view));
  app.post(root, async (req, reply) => {
    const body = checkedBody(InstanceSchema, req.body, 'instance');
    if (!body?.name) throw new LbdsrError('LBDSR_BAD_VALUE', 'the body needs the name of the instance');
    const name = checkName(body.name, 'instance name');
    const warnings = await change(name, (old) => {
      if (old) throw new LbdsrError('LBDSR_EXISTS', `instance ${name} already exists`);
      return instanceFromBody(name, body);
    });
    return reply201(reply, warnings);
  });

  const inst = `${root}:name/`;
  const nameOf = (req: FastifyRequest) => checkName((req.params as { name: string }).name, 'instance name');
  app.get(inst, async (req) => view(need(nameOf(req))));
  app.post(inst, async (req, reply) => {
    const name = nameOf(req);
    const body = req.body === undefined ? {} : checkedBody(InstanceSchema, req.body, `instance ${name}`);
    const warnings = await change(name, (old) => {
      if (old) throw new LbdsrError('LBDSR_EXISTS', `instance ${name} already exists`);
      return instanceFromBody(name, body);
    });
    return reply201(reply, warnings);
  });
  app.put(inst, async (req) => {
    const name = nameOf(req);
    const body = checkedBody(InstanceSchema, req.body ?? {}, `instance ${name}`);
    return { warnings: await change(name, () => instanceFromBody(name, body)) };
  });
  app.patch(inst, async (req) => {
    const name = nameOf(req);
    const body = checkedBody(InstanceSchema, req.body, `instance ${name}`);
    return {
      warnings: await change(name, (old) => {
        if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
        if (body.name !== undefined && body.name !== name) {
          throw new LbdsrError('LBDSR_BAD_VALUE', `name '${body.name}' in the body does not match '${name}'`);
        }
        return applyOpAll(old, body);
      }),
    };
  });
  app.delete(inst, async (req) => {
    const name = nameOf(req);
    return { warnings: await change(name, () => null) };
  });

  const specs = collectRoutes();
  for (const spec of specs) {
    const locOf = (req: FastifyRequest): Step[] => {
      const params = req.params as Record<string, string>;
      return spec.steps.map((s) => {
        if (typeof s === 'string') return s;
        const raw = params[s.param]!;
        return { field: s.field, key: s.numeric ? parsePoolId(raw) : checkName(raw, `${s.field}`) };
      });
    };
    const where = (req: FastifyRequest) =>
      `${nameOf(req)} ${spec.url.split(':name/')[1]!.replace(/\/$/, '')}`;
    for (const method of spec.methods) {
      if (method === 'GET') {
        app.get(spec.url, async (req, reply) => {
          const name = nameOf(req);
          const cfg = need(name);
          const seg = spec.steps[0];
          if (seg === 'stats') return planes.stats(cfg);
          if (seg === 'sessions' && spec.steps.length === 1) {
            const q = req.query as { limit?: string };
            const limit = q.limit === undefined ? 100 : Number(q.limit);
            if (!Number.isInteger(limit) || limit < 0 || limit > 1_000_000) {
              throw new LbdsrError('LBDSR_BAD_VALUE', `limit '${q.limit}' is not an integer 0..1000000`);
            }
            return { ...cfg.sessions, entries: await planes.sessions(name, limit) };
          }
          const v = getAt(view(cfg), locOf(req));
          return json(reply, v === undefined ? null : v);
        });
        continue;
      }
      app.route({
        method,
        url: spec.url,
        handler: async (req, reply) => {
          const name = nameOf(req);
          const loc = locOf(req);
          const body =
            method === 'DELETE' ? undefined : checkedBody(bodySchema(spec, method), req.body, where(req));
          const warnings = await change(name, (old) => {
            if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
            return applyOp(old, loc, method, body, spec.node.optional === true);
          });
          return method === 'POST' ? reply201(reply, warnings) : { warnings };
        },
      });
    }
  }

  app.get('/openapi.json', async () => openapi(specs));
  return app;
}

/** PATCH on a whole instance: merge every given field through the generic operations. */
/** Sends any JSON value, strings and null included, as JSON. */
function json(reply: FastifyReply, v: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(v));
}

function applyOpAll(old: StoredInstance, body: Json): Json {
  let doc: Json = old;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'name') continue;
    doc = applyOp(doc, [k], 'PATCH', v, k === 'type');
  }
  return doc;
}

function openapi(specs: RouteSpec[]): Json {
  const paths: Json = {};
  const param = (name: string, schema: TSchema) => ({ name, in: 'path', required: true, schema });
  const errors = {
    '400': { description: 'bad request: {code, message}' },
    '404': { description: 'not found: {code, message}' },
    '409': { description: 'conflict: {code, message}' },
  };
  const op = (summary: string, params: Json[], body?: TSchema) => ({
    summary,
    parameters: params,
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
    responses: { '200': { description: 'ok' }, ...errors },
  });
  const nameParam = param('name', INSTANCE_NODE.key!.schema);
  const root = `${API_PREFIX}/${SERVICE}/`;
  paths[root] = {
    get: op('list instances', []),
    post: op('create an instance', [], InstanceSchema),
  };
  paths[`${root}{name}/`] = {
    get: op('read an instance', [nameParam]),
    post: op('create an instance', [nameParam], InstanceSchema),
    put: op('replace an instance', [nameParam], InstanceSchema),
    patch: op('update an instance', [nameParam], InstanceSchema),
    delete: op('delete an instance', [nameParam]),
  };
  for (const spec of specs) {
    const params = [nameParam];
    for (const s of spec.steps) {
      if (typeof s !== 'string') {
        const keyNode = spec.node.key ? spec.node : undefined;
        params.push(param(s.param, s.numeric ? (keyNode?.key?.schema ?? Type.Integer()) : Type.String()));
      }
    }
    const path = spec.url.replace(/:([a-z]+)/g, '{$1}');
    const entry: Json = {};
    for (const m of spec.methods) {
      const summary = `${m} ${spec.node.description}`;
      entry[m.toLowerCase()] = op(
        summary,
        params,
        m === 'GET' || m === 'DELETE' ? undefined : bodySchema(spec, m),
      );
    }
    paths[path] = entry;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'lbdsr',
      version: '0.1.0',
      description: 'DSR load balancer control plane (polycubed-style paths)',
    },
    paths,
  };
}
