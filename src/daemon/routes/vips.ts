// GET .../lbdsr/:name/vips/ (`lbdsrctl lbdsr NAME vips show`) and GET /polycube/v1/vips/ (every
// instance): which VIPs this node can serve now, evaluated at the request (src/daemon/runtime/
// announce-runtime.ts). Read-only. The daemon-wide list sits beside /lbdsr, not under it, where it
// would shadow an instance named `vips`.
import type { Announcer } from '../runtime/announce-runtime.js';
import { API_PREFIX, SERVICE } from '../schema.js';
import { AllVipsSchema, VipListSchema } from '../vips-schema.js';
import { ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/vips/`;
const ALL_URL = `${API_PREFIX}/vips/`;

export function vipRoutes({ app, instances }: RouteContext, announcer: Announcer): void {
  app.get(URL, {
    schema: {
      summary: 'the VIPs of an instance and whether this node announces them (read-only)',
      params: paramsOf(URL),
      response: { 200: VipListSchema, ...ERRORS },
    },
    config: { where: 'vips' },
    handler: async (req) => {
      const name = nameOf(req);
      instances.need(name);
      return announcer.vips(name);
    },
  });
  app.get(ALL_URL, {
    schema: {
      summary: 'the VIPs of every instance and whether this node announces them (read-only)',
      response: { 200: AllVipsSchema, ...ERRORS },
    },
    handler: async () =>
      announcer.all().flatMap(({ instance, vips }) => vips.map((v) => ({ instance, ...v }))),
  });
}
