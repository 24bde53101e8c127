// POST .../frontend/announce: gratuitous ARP for the instance's IPv4 VIP, unsolicited Neighbor
// Advertisements for its IPv6 VIP (`vip` written as IPv6, or the dual-stack `vip6`), from the frontend
// MAC on its frontend port, now (src/dataplane/announce.ts), e.g. after a switch or a client lost track
// of the VIP. An
// action: nothing is configured nor saved. The planes also announce by themselves when the VIP or the
// MAC changes and when they attach. An instance that answers no ARP for its VIPs (mode ROUTED, or
// standby: CFG_NO_ARP) refuses it: a standby node must not pull the clients to itself.
import { Type } from '@sinclair/typebox';
import { checkVip, checkVip6, looksIpv6, normalizeMac } from '../../core/addr.js';
import { CFG_NO_ARP } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import { ANNOUNCE_COUNT, ANNOUNCE_INTERVAL_MS, Announcement } from '../../dataplane/announce.js';
import { frontendFlags } from '../../pipeline/desired.js';
import { ANNOUNCE_NODE, API_PREFIX, SERVICE } from '../schema.js';
import { ERRORS, nameOf, paramsOf, prepareBody, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/frontend/announce/`;

export const AnnouncedSchema = Type.Object(
  {
    vip: Type.String({ description: 'the frontend VIP (IPv4: gratuitous ARP; IPv6: unsolicited NA)' }),
    vip6: Type.Optional(Type.String({ description: 'the dual-stack IPv6 VIP, announced by unsolicited NA' })),
    mac: Type.String(),
    interface: Type.String({ description: 'the frontend port’s interface it leaves from' }),
    count: Type.Integer(),
    intervalMs: Type.Integer({ description: 'between two frames; the first leaves at once' }),
  },
  { description: 'the announcement under way' },
);

export function announceRoutes({ app, instances }: RouteContext): void {
  app.post(URL, {
    schema: {
      summary: ANNOUNCE_NODE.description,
      params: paramsOf(URL),
      body: ANNOUNCE_NODE.schema,
      response: { 200: AnnouncedSchema, ...ERRORS },
    },
    config: { where: 'frontend announce' },
    preValidation: prepareBody(ANNOUNCE_NODE.schema, {}),
    handler: async (req) => {
      const name = nameOf(req);
      const cfg = instances.need(name);
      const { vip, vip6, mac } = cfg.frontend;
      if (vip === undefined || mac === undefined) {
        throw new LbdsrError(
          'LBDSR_NOT_AVAILABLE',
          `instance ${name} has no VIP and frontend MAC to announce`,
        );
      }
      if (frontendFlags(cfg) & CFG_NO_ARP) {
        throw new LbdsrError(
          'LBDSR_NOT_AVAILABLE',
          `instance ${name} answers no ARP for its VIPs (mode ROUTED or standby): nothing to announce`,
        );
      }
      const fe = instances.planes.ports(name)?.frontend;
      if (!fe) {
        throw new LbdsrError(
          'LBDSR_NOT_AVAILABLE',
          `instance ${name} has no data plane on a frontend interface to announce from`,
        );
      }
      const count = (req.body as { count?: number }).count ?? ANNOUNCE_COUNT;
      const norm = normalizeMac(mac);
      const vips = [looksIpv6(vip) ? checkVip6(vip) : checkVip(vip), ...(vip6 ? [checkVip6(vip6)] : [])];
      const all: Announcement[] = [];
      try {
        for (const v of vips) all.push(new Announcement(fe.ifname, v, norm, count, ANNOUNCE_INTERVAL_MS));
        for (const a of all) a.start();
      } catch (e) {
        for (const a of all) a.cancel();
        throw e;
      }
      return {
        vip,
        ...(vip6 ? { vip6 } : {}),
        mac: norm,
        interface: fe.ifname,
        count,
        intervalMs: ANNOUNCE_INTERVAL_MS,
      };
    },
  });
}
