// GET /openapi.json: the OpenAPI 3.1 document @fastify/swagger builds from the route schemas (paths,
// parameters, bodies, the change and error answers); what a GET shows is taken from the route's
// `shows` (documentation only: answers are serialised as they are).
import swagger from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import type { Api } from './context.js';

/** Registers the generator; call before the routes are added (it collects them as they come). */
export async function registerOpenApi(app: Api): Promise<void> {
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
    transform: ({ schema, url, route }) => {
      const shows = route.config?.shows;
      if (!shows || !schema) return { schema, url };
      const response = { ...(schema.response as Record<string, unknown>), 200: shows };
      return { schema: { ...schema, response } as FastifySchema, url };
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
