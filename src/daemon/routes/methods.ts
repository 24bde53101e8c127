// The 405 answers: a path the API has, asked with a method it does not take (DELETE of the read-only
// `plane`, POST of `frontend`, a browser's OPTIONS preflight), answers 405 LBDSR_METHOD_NOT_ALLOWED
// with an Allow header listing the methods it takes, instead of fastify's 404. The methods of each
// URL are recorded as the routes are added; `answerOtherMethods` then adds the 405 routes (hidden from
// /openapi.json). A preflight gets no CORS header, so a browser never sends the request it asked about.
import { LbdsrError } from '../../core/errors.js';
import { API_PREFIX } from '../schema.js';
import type { Api } from './context.js';

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The routes that answer 405 (`METHOD url`), by app: /openapi.json's test leaves them out. */
const answering405 = new WeakMap<object, Set<string>>();

export function notAllowedRoutes(app: object): ReadonlySet<string> {
  return answering405.get(app) ?? new Set();
}

export interface MethodTracker {
  /** Adds, for every URL, a 405 route for the methods it does not take. Call after the last route. */
  answerOtherMethods(): void;
}

/** Starts recording the methods of every route added from now on. */
export function trackMethods(app: Api): MethodTracker {
  const byUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = byUrl.get(route.url) ?? new Set<string>();
    byUrl.set(route.url, set);
    for (const m of methods) set.add(m);
    if (set.has('GET')) set.add('HEAD'); // fastify answers HEAD for every GET
  });
  return {
    answerOtherMethods() {
      const added = new Set<string>();
      answering405.set(app, added);
      const urls = [...byUrl.entries()].filter(([url]) => url.startsWith(API_PREFIX));
      for (const [url, methods] of urls) {
        const allow = ORDER.filter((m) => methods.has(m)).join(', ');
        const missing = ORDER.filter((m) => !methods.has(m));
        if (missing.length === 0) continue;
        for (const m of missing) added.add(`${m} ${url}`);
        app.route({
          method: missing,
          url,
          schema: { hide: true },
          exposeHeadRoute: false,
          handler: async (req, reply) => {
            reply.header('allow', allow);
            throw new LbdsrError(
              'LBDSR_METHOD_NOT_ALLOWED',
              `${req.method} is not a method of ${req.url} (allowed: ${allow})`,
            );
          },
        });
      }
    },
  };
}
