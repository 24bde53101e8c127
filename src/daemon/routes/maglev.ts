// GET /lbdsr/{name}/services/{svc}/maglev: a service's Maglev table as the running plane holds it, as
// digests that nodes can compare (docs/scale-out.md): every node given the same configuration must
// forward each flow to the same backend. The XDP plane's table is read from the kernel's map
// (dataplane/xdp/maglev-read.ts), so what is compared is what forwards; the USERSPACE worker is given
// its tables by the daemon, so its table is the one the plane last confirmed (the driver's control
// state). `sha256` digests the entries as backend ids (comparable across nodes); `sha256_slots` as
// backend slots (these depend on a node's history of changes, so they may differ where ids agree).
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { MAGLEV_SIZE, SLOT_NONE } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import type { MaglevTable } from '../../dataplane/types.js';
import { API_PREFIX, SERVICE } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, type RouteContext } from './context.js';

const URL = `${API_PREFIX}/${SERVICE}/:name/services/:service/maglev`;

export const MaglevSchema = Type.Object(
  {
    service: Type.String(),
    index: Type.Integer({ description: 'the service index in the data plane' }),
    plane: Type.String({ description: 'USERSPACE or XDP: whose table this is' }),
    size: Type.Integer({ description: `entries of the table (${MAGLEV_SIZE})` }),
    empty: Type.Integer({ description: 'entries without a backend' }),
    backends: Type.Array(Type.Object({ id: Type.Integer(), entries: Type.Integer() }), {
      description: 'the backends in the table (the serving ones), by id',
    }),
    sha256: Type.String({ description: 'of the entries as backend ids (u32 LE; 0xffffffff: none)' }),
    sha256_slots: Type.String({ description: 'of the entries as backend slots (u32 LE)' }),
    entries: Type.Optional(
      Type.Array(Type.Union([Type.Integer(), Type.Null()]), {
        description: '?entries=true: the backend id of every entry (null: none)',
      }),
    ),
  },
  { description: "a service's Maglev table as the running plane holds it" },
);
type MaglevView = (typeof MaglevSchema)['static'];

/** The digests and shares of a table (`entries`: with the ids of every entry). */
export function maglevView(
  service: string,
  index: number,
  plane: string,
  t: MaglevTable,
  entries: boolean,
): MaglevView {
  const n = t.slots.length;
  const ids = new Uint32Array(n);
  const counts = new Map<number, number>();
  let empty = 0;
  for (let i = 0; i < n; i++) {
    const id = t.ids[i] ?? null;
    if (id === null) {
      ids[i] = SLOT_NONE;
      empty++;
    } else {
      ids[i] = id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  // the digests are of little-endian u32, whatever the host's byte order
  const le = (a: Uint32Array) => {
    const b = Buffer.alloc(a.length * 4);
    for (let i = 0; i < a.length; i++) b.writeUInt32LE(a[i]!, i * 4);
    return b;
  };
  const sha = (a: Uint32Array) => createHash('sha256').update(le(a)).digest('hex');
  return {
    service,
    index,
    plane,
    size: n,
    empty,
    backends: [...counts].sort((a, b) => a[0] - b[0]).map(([id, e]) => ({ id, entries: e })),
    sha256: sha(ids),
    sha256_slots: sha(t.slots),
    ...(entries ? { entries: t.ids } : {}),
  };
}

export function maglevRoutes({ app, instances }: RouteContext): void {
  app.get(URL, {
    schema: {
      summary: "a service's Maglev table as the running plane holds it (digests; ?entries=true: entries)",
      params: paramsOf(URL),
      querystring: Type.Object({
        entries: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
      }),
      response: { 200: asIs<MaglevView>(), ...ERRORS },
    },
    config: { where: 'services', shows: MaglevSchema },
    handler: async (req) => {
      const name = nameOf(req);
      instances.need(name);
      const service = (req.params as { service: string }).service;
      const driver = instances.planes.driver(name);
      if (!driver) {
        throw new LbdsrError(
          'LBDSR_NOT_FOUND',
          `instance ${name} has no running data plane (its ports are missing)`,
        );
      }
      const c = driver.control;
      const index = c.indexOf(service);
      const held = index === undefined ? undefined : c.services.get(index);
      if (index === undefined || !held) {
        throw new LbdsrError(
          'LBDSR_NOT_FOUND',
          `service ${service} of ${name} has no Maglev table in the data plane`,
        );
      }
      let table = (await driver.plane.maglevTable?.(index)) ?? null;
      if (!table && !driver.plane.maglevTable) {
        const slots = held.table;
        table = { slots, ids: Array.from(slots, (s) => (s === SLOT_NONE ? null : (c.slots[s]?.id ?? null))) };
      }
      if (!table)
        throw new LbdsrError('LBDSR_NOT_FOUND', `the data plane holds no Maglev table for ${service}`);
      return maglevView(service, index, driver.plane.kind, table, req.query.entries === 'true');
    },
  });
}
