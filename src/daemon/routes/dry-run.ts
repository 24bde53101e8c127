// Dry runs: `?dry_run=true` on any write under /lbdsr/ (lbdsrctl's `-plan`). The change takes the
// ordinary road (document operation, whole validation, the plan against what the data plane holds)
// and stops there: nothing changes, and the answer says what the change would move: Maglev entries,
// services, and per backend the entries it gains and loses and its live sessions that would be
// re-balanced (those of a backend whose slot is freed).
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
  const moving = new Map<number, number>();
  for (const c of plan.slots) {
    if (c.kind === 'freed') moving.set(c.id, (moving.get(c.id) ?? 0) + (sessions.get(c.slot) ?? 0));
  }
  const ids = new Set([...summary.backends.map((b) => b.id), ...moving.keys()]);
  const byId = new Map(summary.backends.map((b) => [b.id, b]));
  const backends = [...ids]
    .sort((a, b) => a - b)
    .map((id) => ({
      service: 'default',
      id,
      maglev_gained: byId.get(id)?.gained ?? 0,
      maglev_lost: byId.get(id)?.lost ?? 0,
      sessions_moving: moving.get(id) ?? 0,
    }));
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
