// GET /openapi.json: the OpenAPI 3.1 document @fastify/swagger builds from the route schemas (paths,
// parameters, bodies, the change and error answers); what a GET shows is taken from the route's
// `shows` (documentation only: answers are serialised as they are).
import swagger from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { type Api, SHARED_SCHEMAS } from './context.js';

/** Registers the generator; call before the routes are added (it collects them as they come). */
export async function registerOpenApi(app: Api): Promise<void> {
  for (const [id, schema] of Object.entries(SHARED_SCHEMAS)) app.addSchema({ ...schema, $id: id });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'lbdsr',
        version: '0.1.0',
        description: 'DSR load balancer control plane (polycubed-style paths)',
      },
    },
    convertConstToEnum: false,
    // shared schemas keep their ids as names under components.schemas
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const shows = route.config?.shows;
      if (!shows || !schema) return { schema, url };
      const response = { ...(schema.response as Record<string, unknown>), 200: shows };
      return { schema: { ...schema, response } as FastifySchema, url };
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
