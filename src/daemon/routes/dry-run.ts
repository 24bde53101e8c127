// Dry runs: `?dry_run=true` on any write under /lbdsr/ (lbdsrctl's `-plan`). The change takes the
// ordinary road (document operation, whole validation, the plan against what the data plane holds)
// and stops there: nothing changes, and the answer says what the change would move: Maglev entries,
// services, and per backend the entries it gains and loses and its live sessions that would be
// re-balanced (those of a backend whose slot is freed or whose sessions stop being valid).
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { summarizePlan } from '../../pipeline/plan.js';
import type { StoredInstance } from '../config.js';
import type { Instances } from '../instances.js';
import type { PlanPreview } from '../planes.js';
import { CHANGED, changed, nameOf, sendJson, timedChange } from './context.js';

/** The query of every write: `dry_run=true` plans the change without making it. */
export const DRY_RUN_QUERY = Type.Object({
  dry_run: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false')], {
      description: 'true: nothing changes; the answer says what the change would move',
    }),
  ),
});

export const DryRunSchema = Type.Object(
  {
    dry_run: Type.Literal(true),
    changes: Type.Object({
      maglev_entries: Type.Integer({ description: 'Maglev entries whose backend would change' }),
      services: Type.Object({ added: Type.Integer(), changed: Type.Integer(), removed: Type.Integer() }),
      backends: Type.Array(
        Type.Object({
          service: Type.String(),
          id: Type.Integer(),
          maglev_gained: Type.Integer(),
          maglev_lost: Type.Integer(),
          sessions_moving: Type.Integer({ description: 'its live sessions that would be re-balanced' }),
        }),
      ),
    }),
    warnings: Type.Array(Type.String()),
  },
  { description: 'what the change would do (dry_run=true): nothing changed' },
);

/** Answers of a write: the change's warnings (201 for a creation), or a dry run's plan. */
export const WRITE_ANSWERS = {
  ...CHANGED,
  200: Type.Unsafe({ anyOf: [CHANGED[200], DryRunSchema] }),
};

export type DryRunAnswer = (typeof DryRunSchema)['static'];

/** The answer of a dry run from its preview. */
export function dryRunAnswer(preview: PlanPreview | undefined, warnings: string[]): DryRunAnswer {
  const empty = { maglev_entries: 0, services: { added: 0, changed: 0, removed: 0 }, backends: [] };
  if (!preview) return { dry_run: true, changes: empty, warnings };
  const { plan, sessions } = preview;
  const summary = summarizePlan(plan);
  type Row = DryRunAnswer['changes']['backends'][number];
  // by service index, then id
  const rows = new Map<string, { index: number; row: Row }>();
  const row = (service: string, index: number, id: number) => {
    const key = `${index}/${id}`;
    let r = rows.get(key);
    if (!r) {
      r = { index, row: { service, id, maglev_gained: 0, maglev_lost: 0, sessions_moving: 0 } };
      rows.set(key, r);
    }
    return r.row;
  };
  for (const b of summary.backends) {
    const r = row(b.service, b.index, b.id);
    r.maglev_gained += b.gained;
    r.maglev_lost += b.lost;
  }
  // the slots freed or no longer live: their live sessions are re-balanced
  for (const m of summary.moved) row(m.service, m.index, m.id).sessions_moving += sessions.get(m.slot) ?? 0;
  const backends = [...rows.values()]
    .sort((a, b) => a.index - b.index || a.row.id - b.row.id)
    .map((r) => r.row);
  return {
    dry_run: true,
    changes: { maglev_entries: summary.maglevEntries, services: summary.services, backends },
    warnings,
  };
}

/** Whether a request asks for a dry run. */
export function isDryRun(req: FastifyRequest): boolean {
  return (req.query as { dry_run?: string } | undefined)?.dry_run === 'true';
}

/**
 * Runs a write on instance `name(req)`: the change (answered with its warnings) or, with
 * `?dry_run=true`, its dry run (answered with what it would move).
 */
export async function runChange(
  instances: Instances,
  req: FastifyRequest,
  reply: FastifyReply,
  method: string,
  compute: (old: StoredInstance | undefined) => unknown,
  name = nameOf(req),
): Promise<FastifyReply> {
  if (isDryRun(req)) {
    const dryRun: { result?: PlanPreview } = {};
    const warnings = await instances.change(name, compute, {}, { dryRun });
    return sendJson(reply.status(200), dryRunAnswer(dryRun.result, warnings));
  }
  const warnings = await timedChange(reply, (timing) => instances.change(name, compute, timing));
  return changed(reply, method, warnings);
}
