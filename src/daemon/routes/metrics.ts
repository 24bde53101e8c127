// GET /metrics: the Prometheus text exposition of src/metrics (docs/metrics.md), read at scrape time.
// Outside the REST API's resource tree (and /openapi.json), behind the same bearer token.
import type { Observer } from '../../metrics/observe.js';
import type { RouteContext } from './context.js';

export function metricsRoutes({ app }: RouteContext, observer: Observer): void {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const text = await observer.metrics.scrape();
    return reply.type(observer.metrics.contentType).send(text);
  });
}
