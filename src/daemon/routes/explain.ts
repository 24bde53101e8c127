// POST /lbdsr/{name}/explain: what the instance's running data plane does with one frame (a flow, an
// ICMP echo or error, an ARP request), and why: the rule of docs/semantics.md that decided, the service
// matched, the session (with its age) or the Maglev entry, the backend and its MAC, or the drop reason.
// The plane decides the frame itself without recording anything (src/pipeline/explain.ts; XDP: its own
// program); nothing is configured, counted nor saved.
import { Type } from '@sinclair/typebox';
import type { ExplainRequest } from '../../pipeline/explain.js';
import { EXPLAIN_NODE, ExplainRequestSchema } from '../explain-schema.js';
import { API_PREFIX, SERVICE } from '../schema.js';
import { ERRORS, nameOf, paramsOf, prepareBody, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/explain/`;

const Name = Type.String();
const ExplainResultSchema = Type.Object(
  {
    plane: Type.String({ description: 'the plane that answered: XDP_DRV, XDP_SKB or USERSPACE' }),
    port: Type.String({ description: 'FRONTEND or BACKEND' }),
    frame: Type.String({ description: 'the frame explained, hex' }),
    verdict: Type.String({ description: 'TX_BACKEND, TX_FRONTEND, PASS or DROP' }),
    drop: Type.Optional(Type.String({ description: 'the drop reason' })),
    rule: Type.String({ description: 'the rule of docs/semantics.md that decided (9a: service match)' }),
    why: Type.String(),
    service: Type.Optional(
      Type.Object({
        index: Type.Integer(),
        name: Name,
        vip: Type.String(),
        proto: Type.String(),
        port: Type.Integer(),
        algorithm: Type.String(),
      }),
    ),
    session: Type.Optional(
      Type.Object({
        verdict: Type.String({ description: 'HIT, MISS, UNRECORDED, EXPIRED or STALE' }),
        age_ms: Type.Optional(Type.Integer({ description: 'since the session’s last packet' })),
        backend: Type.Optional(Type.Integer({ description: 'the session’s backend id' })),
        slot: Type.Optional(Type.Integer()),
      }),
    ),
    maglev: Type.Optional(Type.Object({ hash: Type.Integer(), index: Type.Integer() })),
    backend: Type.Optional(
      Type.Object({ service: Name, id: Type.Integer(), slot: Type.Integer(), mac: Type.String() }),
    ),
    output: Type.Optional(Type.String({ description: 'the frame as it would leave, hex' })),
  },
  { description: 'what the data plane does with the frame' },
);

export function explainRoutes({ app, instances }: RouteContext): void {
  app.post(URL, {
    schema: {
      summary: EXPLAIN_NODE.description,
      params: paramsOf(URL),
      body: ExplainRequestSchema,
      response: { 200: ExplainResultSchema, ...ERRORS },
    },
    config: { where: 'explain' },
    preValidation: prepareBody(ExplainRequestSchema),
    handler: async (req) => {
      const name = nameOf(req);
      instances.need(name);
      return instances.planes.explain(name, req.body as ExplainRequest);
    },
  });
}
