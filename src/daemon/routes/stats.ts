// GET of the counters of an instance's data plane (zeros while it has none), with their rates over the
// last 1 s and 60 s from the daemon's sampler (src/metrics/rates.ts) when it runs one. Read-only.
import type { StatsSnapshot } from '../../core/model.js';
import type { Rates } from '../../metrics/rates.js';
import { API_PREFIX, SERVICE, StatsSchema } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/stats/`;

export function statsRoutes({ app, instances }: RouteContext, rates?: (name: string) => Rates): void {
  app.get(URL, {
    schema: {
      summary: 'counters of the data plane and their rates (read-only)',
      params: paramsOf(URL),
      response: { 200: asIs<StatsSnapshot & { rates?: Rates }>(), ...ERRORS },
    },
    config: { where: 'stats', shows: StatsSchema },
    handler: async (req) => {
      const cfg = instances.need(nameOf(req));
      const stats = await instances.planes.stats(cfg);
      return rates ? { ...stats, rates: rates(cfg.name) } : stats;
    },
  });
}
