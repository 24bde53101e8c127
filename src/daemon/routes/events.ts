// The event log of an instance (GET .../:name/events/, `lbdsrctl lbdsr NAME events show`): its state
// changes with time and origin, oldest first (src/metrics/events.ts). Also the hook that tells the
// observer about every answered configuration change (method, resource, remote address, status).
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LbdsrEvent } from '../../metrics/events.js';
import type { Observer } from '../../metrics/observe.js';
import { API_PREFIX, EventSchema, SERVICE } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/events/`;
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PREFIX = `${API_PREFIX}/${SERVICE}`;

/** The instance a change addressed: the path's, or the body's name when an instance is created. */
function instanceOf(req: FastifyRequest): string | undefined {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  if (params.name !== undefined) return params.name;
  const body = req.body as { name?: unknown } | undefined;
  return typeof body?.name === 'string' ? body.name : undefined;
}

/** The resource below the instance with the route's parameters filled in (`ports/fp`), '' for it. */
function resourceOf(req: FastifyRequest): string {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const template = req.routeOptions.config.where ?? '';
  return template.replace(/:(\w+)/g, (_, p: string) => params[p] ?? '');
}

export function eventRoutes({ app, instances }: RouteContext, observer: Observer): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    // routeOptions.url is the route's template (undefined when no route matched)
    if (!CHANGES.has(req.method) || !req.routeOptions.url?.startsWith(PREFIX)) return;
    const instance = instanceOf(req);
    const exists = instance !== undefined && instances.all().some((i) => i.name === instance);
    observer.apiChange({
      instance,
      method: req.method,
      resource: resourceOf(req),
      remote: req.ip,
      status: reply.statusCode,
      exists,
    });
  });
  app.get(URL, {
    schema: {
      summary: 'the event log of an instance: state changes, oldest first (read-only)',
      params: paramsOf(URL),
      querystring: Type.Object({
        limit: Type.Optional(
          Type.String({ pattern: '^\\d{1,7}$', description: 'the most recent events only (default all)' }),
        ),
      }),
      response: { 200: asIs<LbdsrEvent[]>(), ...ERRORS },
    },
    config: { where: 'events', shows: Type.Array(EventSchema) },
    handler: async (req) => {
      const name = nameOf(req);
      instances.need(name);
      const text = req.query.limit;
      return observer.events.list(name, text === undefined ? undefined : Number(text));
    },
  });
}
