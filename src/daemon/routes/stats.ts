// GET of the counters of an instance's data plane (zeros while it has none). Read-only.
import { Type } from '@sinclair/typebox';
import type { StatsSnapshot } from '../../core/model.js';
import { API_PREFIX, SERVICE } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/stats/`;

export function statsRoutes({ app, instances }: RouteContext): void {
  app.get(URL, {
    schema: {
      summary: 'counters of the data plane (read-only)',
      params: paramsOf(URL),
      response: { 200: asIs<StatsSnapshot>(), ...ERRORS },
    },
    config: { where: 'stats', shows: Type.Object({}, { additionalProperties: true }) },
    handler: async (req) => instances.planes.stats(instances.need(nameOf(req))),
  });
}
