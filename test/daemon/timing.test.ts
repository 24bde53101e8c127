// The Server-Timing header of a change (docs/api.md): every successful change says how long it waited,
// was planned, applied by the data plane and persisted, and when it was live (the plane had applied
// it), measured from the request's arrival; the change is live before config.json has it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { PlaneType, ResolvedPorts, StatsSnapshot } from '../../src/core/model.js';
import type { DataPlane } from '../../src/dataplane/types.js';
import type { Plan } from '../../src/pipeline/plan.js';
import { parseServerTiming } from '../../testkit/churn-agents.js';
import { appWithPlanes, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
/** How long the plane below takes to apply a plan, ms. */
const APPLY_MS = 30;

/** A plane that takes APPLY_MS to apply a plan and notes what config.json held meanwhile. */
class SlowPlane implements DataPlane {
  readonly seenOnDisk: string[] = [];
  constructor(
    readonly kind: PlaneType,
    private readonly stateDir: string,
  ) {}
  async apply(_plan: Plan, _ports: ResolvedPorts): Promise<void> {
    await new Promise((r) => setTimeout(r, APPLY_MS));
    let text = '';
    try {
      text = readFileSync(join(this.stateDir, 'config.json'), 'utf8');
    } catch {}
    this.seenOnDisk.push(text);
  }
  async stats(): Promise<StatsSnapshot> {
    throw new Error('not read here');
  }
  async sessions() {
    return [];
  }
  async close() {}
}

describe('Server-Timing of a change', () => {
  test('names each step; live counts from arrival to the plane having applied it, before persisting', async () => {
    const state = tempDir('timing');
    const planes: SlowPlane[] = [];
    const app = await appWithPlanes(state.dir, async (kind) => {
      const p = new SlowPlane(kind, state.dir);
      planes.push(p);
      return p;
    });
    try {
      // fake0 (helpers.ts) exists for this daemon: the instance gets a plane
      const created = await app.inject({
        method: 'POST',
        url: `${BASE}/lb1/`,
        payload: { ports: [{ name: 'fp', type: 'FRONTEND', peer: 'fake0' }] },
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(planes.length, 1);
      const r = await app.inject({
        method: 'POST',
        url: `${BASE}/lb1/backend/pool/7/`,
        payload: { mac: '02:00:00:00:00:07' },
      });
      assert.equal(r.statusCode, 201, r.body);
      const header = String(r.headers['server-timing']);
      const t = parseServerTiming(header);
      assert.deepEqual(Object.keys(t), ['request', 'plan', 'plane', 'persist', 'live'], header);
      for (const [k, v] of Object.entries(t)) assert.ok(Number.isFinite(v) && v >= 0, `${k} in ${header}`);
      // the plane's apply is inside `plane`, and `live` covers everything up to it but not the persist
      assert.ok((t.plane ?? 0) >= APPLY_MS - 1, header);
      assert.ok((t.live ?? 0) >= (t.request ?? 0) + (t.plan ?? 0) + (t.plane ?? 0) - 0.05, header);
      // live before persisted: while the plane applied the change, config.json did not have it yet
      const seen = planes[0]?.seenOnDisk.at(-1) ?? '';
      assert.ok(!seen.includes('02:00:00:00:00:07'), 'the change was on disk before it was live');
      assert.ok(readFileSync(join(state.dir, 'config.json'), 'utf8').includes('02:00:00:00:00:07'));

      // reads and refused changes carry none
      const read = await app.inject({ method: 'GET', url: `${BASE}/lb1/backend/pool/` });
      assert.equal(read.headers['server-timing'], undefined);
      const refused = await app.inject({
        method: 'POST',
        url: `${BASE}/lb1/backend/pool/7/`,
        payload: { mac: '02:00:00:00:00:07' },
      });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.headers['server-timing'], undefined);

      // every kind of change has it, deleting the instance too
      const gone = await app.inject({ method: 'DELETE', url: `${BASE}/lb1/` });
      assert.equal(gone.statusCode, 200);
      assert.ok(parseServerTiming(String(gone.headers['server-timing'])).live !== undefined);
    } finally {
      await app.close();
      state.cleanup();
    }
  });
});
