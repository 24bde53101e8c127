// What `GET /polycube/v1/lbdsr/{name}/vips` and `GET /polycube/v1/vips` answer (routes/vips.ts; docs/api.md,
// "VIP announcements"): each VIP of an instance, whether this node can serve it now and since when, and
// its services with their serving backends; and its node in the resource tree (read-only, so the CLI's
// `lbdsr NAME vips show` GETs it). Apart from schema.ts, which lists the node among the instance's
// children, like explain-schema.ts.
import { Type } from '@sinclair/typebox';
import type { ResourceNode } from './schema.js';

export const VipStateSchema = Type.Object(
  {
    vip: Type.String({ description: 'the VIP: IPv4, or IPv6 in RFC 5952 text' }),
    reachable: Type.Boolean({
      description: 'this node can serve it now (announced): plane forwarding, not standby, a serving backend',
    }),
    reason: Type.Optional(
      Type.Union([Type.Literal('NO_PLANE'), Type.Literal('STANDBY'), Type.Literal('NO_SERVING_BACKEND')], {
        description: 'why it is withdrawn (absent while reachable)',
      }),
    ),
    since: Type.String({ description: 'ISO 8601: since when reachable (and reason) are what they are' }),
    services: Type.Array(
      Type.Object({
        name: Type.String({ description: "service name ('default': the instance's frontend)" }),
        serving: Type.Integer({ description: 'its backends that take new flows' }),
      }),
    ),
  },
  { description: 'a VIP of the instance and whether it is announced' },
);

export const VipListSchema = Type.Array(VipStateSchema, {
  description: 'the VIPs of the instance, in address order (read-only)',
});

export const AllVipsSchema = Type.Array(
  Type.Composite([Type.Object({ instance: Type.String({ description: 'instance name' }) }), VipStateSchema]),
  { description: 'the VIPs of every instance (read-only)' },
);

export const VIPS_NODE: ResourceNode = {
  segment: 'vips',
  kind: 'container',
  description: 'VIPs and whether this node announces them: reachable, or withdrawn and why (read-only)',
  schema: VipListSchema,
  readOnly: true,
};
