// GET of the session table: its settings (from the configuration) and the active sessions the data
// plane holds (`?limit=N`, default 100). Changes to the settings go through resources.ts.
import { Type } from '@sinclair/typebox';
import { LbdsrError } from '../../core/errors.js';
import type { SessionEntry, SessionSettings } from '../../core/model.js';
import { API_PREFIX, SERVICE, SessionsSchema } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

type SessionsView = SessionSettings & { entries: SessionEntry[] };

const URL = `${API_PREFIX}/${SERVICE}/:name/sessions/`;
const MAX_LIMIT = 1_000_000;

const SessionEntrySchema = Type.Object({
  src: Type.String({ description: 'client address (IPv4, or IPv6 in RFC 5952 text)' }),
  dst: Type.String({ description: 'VIP (IPv4 or IPv6)' }),
  sport: Type.Integer(),
  dport: Type.Integer(),
  proto: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('ICMP'), Type.Literal('ICMPV6')]),
  backend: Type.Integer({ description: 'backend id' }),
  idleMs: Type.Integer({ description: 'milliseconds since the last packet of the flow' }),
});

export function sessionRoutes({ app, instances }: RouteContext): void {
  app.get(URL, {
    schema: {
      summary: 'session settings and the active sessions',
      params: paramsOf(URL),
      querystring: Type.Object({
        limit: Type.Optional(
          Type.String({
            pattern: '^\\d{1,7}$',
            description: `sessions listed, 0..${MAX_LIMIT} (default 100)`,
          }),
        ),
      }),
      response: { 200: asIs<SessionsView>(), ...ERRORS },
    },
    config: {
      where: 'sessions',
      shows: Type.Composite([SessionsSchema, Type.Object({ entries: Type.Array(SessionEntrySchema) })], {
        description: 'the settings and the active sessions',
      }),
    },
    handler: async (req) => {
      const name = nameOf(req);
      const cfg = instances.need(name);
      const text = req.query.limit;
      const limit = text === undefined ? 100 : Number(text);
      if (limit > MAX_LIMIT)
        throw new LbdsrError('LBDSR_BAD_VALUE', `limit '${text}' is not an integer 0..${MAX_LIMIT}`);
      return { ...cfg.sessions, entries: await instances.planes.sessions(name, limit) };
    },
  });
}
