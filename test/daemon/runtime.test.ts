// The daemon's runtime of the backends without a data plane (src/daemon/runtime): a DRAINING backend
// with no live session is drained at once (DISABLED, or deleted with on_drained DELETE), as an
// ordinary persisted change logged in the event log; `state=ACTIVE` before that cancels; BackendStatus
// says what is live about a backend. The drain of a backend with sessions and its deadline, with real
// planes, are in test/e2e/drain.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { promtool } from '../lib/promtool.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

/**
 * A daemon (no plane, drain watcher ticked by the test) with instance lb1 serving `pool`. Its runtime's
 * clock runs 5 s ahead, past the second a drain waits after `state_since` before it believes a count.
 */
async function start(
  tag: string,
  pool: object[],
): Promise<{ app: FastifyInstance; tmp: ReturnType<typeof tempDir> }> {
  const tmp = tempDir(tag);
  const app = await buildApp({
    stateDir: tmp.dir,
    logLevel: 'silent',
    watchMs: 0,
    runtime: { tickMs: 0, now: () => Date.now() + 5000 },
  });
  const put = await app.inject({
    method: 'PUT',
    url: `${BASE}/lb1/`,
    payload: { frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' }, backend: { pool } },
  });
  assert.ok(put.statusCode < 300, put.body);
  return { app, tmp };
}

describe('runtime: drain and status without a plane', () => {
  let app: FastifyInstance;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    ({ app, tmp } = await start('runtime', [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, mac: '02:00:00:00:00:02' },
      { id: 3, mac: '02:00:00:00:00:03', on_drained: 'DELETE' },
    ]));
  });

  after(async () => {
    await app?.close();
    tmp?.cleanup();
  });

  const pool = async () => {
    const r = await app.inject({ url: `${BASE}/lb1/backend/pool/` });
    assert.equal(r.statusCode, 200, r.body);
    return JSON.parse(r.body) as { id: number; state?: string; state_since?: string }[];
  };
  const patch = async (id: number, body: object) => {
    const r = await app.inject({ method: 'PATCH', url: `${BASE}/lb1/backend/pool/${id}/`, payload: body });
    assert.ok(r.statusCode < 300, r.body);
  };

  it('a backend without a health check is UP, its MAC from the configuration, serving', () => {
    const st = app.runtime.status('lb1', 'default', 1);
    assert.deepEqual(st, {
      health: 'UP',
      mac_source: 'CONFIG',
      mac_in_use: '02:00:00:00:00:01',
      sessions: 0,
      serving: true,
    });
  });

  it('state=ACTIVE cancels a drain that has not finished', async () => {
    await patch(1, { state: 'DRAINING' });
    assert.equal(app.runtime.status('lb1', 'default', 1).serving, false, 'DRAINING takes no new flows');
    await patch(1, { state: 'ACTIVE' });
    await app.runtime.tick();
    assert.equal((await pool()).find((b) => b.id === 1)?.state ?? 'ACTIVE', 'ACTIVE');
  });

  it('a DRAINING backend with no live session becomes DISABLED, persisted and logged', async () => {
    await patch(2, { state: 'DRAINING' });
    await app.runtime.tick();
    const b2 = (await pool()).find((b) => b.id === 2);
    assert.equal(b2?.state, 'DISABLED');
    assert.ok(b2?.state_since && Date.now() - Date.parse(b2.state_since) < 60_000, 'state_since is now');
    const saved = JSON.parse(readFileSync(join(tmp.dir, 'config.json'), 'utf8'));
    const inFile = saved.instances[0].backend.pool.find((b: { id: number }) => b.id === 2);
    assert.equal(inFile.state, 'DISABLED');
    const events = JSON.parse((await app.inject({ url: `${BASE}/lb1/events/` })).body) as {
      type: string;
      message: string;
    }[];
    assert.ok(
      events.some((e) => e.type === 'drained' && /backend 2 .*0 live sessions.*DISABLED/.test(e.message)),
      JSON.stringify(events),
    );
  });

  it('on_drained=DELETE removes the drained backend from its pool', async () => {
    await patch(3, { state: 'DRAINING' });
    await app.runtime.tick();
    assert.deepEqual(
      (await pool()).map((b) => b.id),
      [1, 2],
    );
  });
});

describe('runtime: per-backend metrics', () => {
  it('state, weight, up and live sessions per backend, promtool-clean', async (t) => {
    const { app, tmp } = await start('runtime-metrics', [
      { id: 1, mac: '02:00:00:00:00:01', weight: 30 },
      { id: 2, mac: '02:00:00:00:00:02', state: 'DISABLED' },
    ]);
    t.after(async () => {
      await app.close();
      tmp.cleanup();
    });
    const text = (await app.inject({ url: '/metrics' })).body;
    const b = (id: number, more = '') => `lb="lb1",service="default",backend="${id}"${more}`;
    const want: Record<string, number> = {
      [`lbdsr_backend_up{${b(1)}}`]: 1,
      [`lbdsr_backend_up{${b(2)}}`]: 0,
      [`lbdsr_backend_weight{${b(1)}}`]: 30,
      [`lbdsr_backend_weight{${b(2)}}`]: 100,
      [`lbdsr_backend_state{${b(2, ',state="DISABLED"')}}`]: 1,
      [`lbdsr_backend_state{${b(2, ',state="ACTIVE"')}}`]: 0,
      [`lbdsr_backend_health{${b(1, ',health="UP"')}}`]: 1,
      [`lbdsr_backend_health{${b(1, ',health="DOWN"')}}`]: 0,
      [`lbdsr_backend_sessions{${b(1)}}`]: 0,
    };
    for (const [series, v] of Object.entries(want)) {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.equal(line === undefined ? undefined : Number(line.slice(series.length + 1)), v, series);
    }
    const check = promtool(['check', 'metrics'], text);
    if (check.code === -1) t.diagnostic(`promtool check metrics skipped: ${check.out}`);
    else assert.equal(check.code, 0, check.out);
  });
});
