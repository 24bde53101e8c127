// Issue 9 item 8, capacity against memory: a session capacity whose table the host cannot hold is
// refused with what it would take and what there is (507 LBDSR_NO_MEMORY); at most 64 instances; a
// change that would make the state file larger than its bound is refused (507 LBDSR_STATE_TOO_LARGE),
// and a state file over the bound is not read at start.
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import {
  type Limits,
  MAX_INSTANCES,
  MAX_STATE_BYTES,
  userspaceSessionBytes,
  xdpSessionBytes,
} from '../../src/daemon/limits.js';
import { memoryBudget, parseMeminfo } from '../../src/kernel/meminfo.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const MiB = 2 ** 20;

async function withApp(limits: Partial<Limits>, fn: (app: FastifyInstance, dir: string) => Promise<void>) {
  const state = tempDir('limits');
  const app = await buildApp({
    stateDir: state.dir,
    logLevel: 'silent',
    watchMs: 0,
    netdev: () => undefined,
    limits,
  });
  try {
    await fn(app, state.dir);
  } finally {
    await app.close();
    state.cleanup();
  }
}

const call = async (
  app: FastifyInstance,
  method: 'POST' | 'PATCH' | 'GET',
  path: string,
  payload?: unknown,
) => {
  const r = await app.inject({
    method,
    url: `${BASE}${path}`,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return {
    status: r.statusCode,
    body: JSON.parse(r.body) as { code?: string; message?: string } & Record<string, unknown>,
  };
};

describe('capacity against memory', () => {
  test('a capacity whose session table does not fit in the memory left is refused, saying how much', async () => {
    const memory = () => ({ bytes: 512 * MiB, source: 'memory cgroup /test' });
    await withApp({ memory }, async (app, dir) => {
      // the default capacity (1,000,000: about 200 MiB in either plane) fits
      assert.equal((await call(app, 'POST', '/lb1/')).status, 201);
      const file = readFileSync(join(dir, 'config.json'), 'utf8');
      for (const [body, plane] of [
        [{ sessions: { capacity: 10_000_000 } }, /XDP session map/],
        [{ type: 'USERSPACE', sessions: { capacity: 10_000_000 } }, /USERSPACE session table/],
      ] as const) {
        const r = await call(app, 'PATCH', '/lb1/', body);
        assert.equal(r.status, 507, JSON.stringify(r.body));
        assert.equal(r.body.code, 'LBDSR_NO_MEMORY');
        assert.match(r.body.message ?? '', /capacity 10000000 of lb1 needs about [\d.]+ [MG]iB/);
        assert.match(r.body.message ?? '', plane);
        assert.match(r.body.message ?? '', /this host has 512 MiB \(memory cgroup \/test\)/);
      }
      const r = await call(app, 'POST', '/lb2/', { sessions: { capacity: 100_000_000 } });
      assert.equal(r.status, 507);
      assert.equal(
        readFileSync(join(dir, 'config.json'), 'utf8'),
        file,
        'a refused capacity changed config.json',
      );
      assert.equal(
        ((await call(app, 'GET', '/lb1/')).body.sessions as { capacity: number }).capacity,
        1_000_000,
      );
      // lowering a capacity is never refused
      assert.equal((await call(app, 'PATCH', '/lb1/sessions/', { capacity: 1000 })).status, 200);
    });
  });

  test('the costs follow the layouts; the host budget is read from the kernel', async () => {
    // 100 M sessions: about 23 GB of locked kernel memory in XDP, both families' maps (IPv4 alone: about 10 GB)
    assert.ok(xdpSessionBytes(100_000_000) > 22e9 && xdpSessionBytes(100_000_000) < 23.5e9);
    // 1 M sessions in USERSPACE: both families' tables (IPv4 64 MB, IPv6 96 MB, buckets 8 MB each) and
    // the IPv6 table's last doubling (54 MB): about 221 MiB (test/daemon/limits-userspace.test.ts)
    assert.ok(userspaceSessionBytes(1_000_000) > 230e6 && userspaceSessionBytes(1_000_000) < 232e6);
    const total = parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).get('MemTotal') ?? 0;
    const budget = memoryBudget(true);
    assert.ok(budget.bytes > 0 && budget.bytes <= total, JSON.stringify(budget));
    // the real budget decides: the largest capacity the schema takes is refused exactly when it does not fit
    await withApp({}, async (app) => {
      const r = await call(app, 'POST', '/big/', { type: 'XDP_SKB', sessions: { capacity: 100_000_000 } });
      const fits = xdpSessionBytes(100_000_000) <= memoryBudget(true).bytes;
      assert.equal(r.status === 507, !fits, JSON.stringify(r.body));
      if (!fits) assert.equal(r.body.code, 'LBDSR_NO_MEMORY');
    });
  });

  test(`at most ${MAX_INSTANCES} instances`, async () => {
    await withApp({}, async (app) => {
      for (let i = 0; i < MAX_INSTANCES; i++) {
        const r = await call(app, 'POST', `/lb${i}/`, { sessions: { capacity: 1000 } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      const r = await call(app, 'POST', '/one-more/', { sessions: { capacity: 1000 } });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'LBDSR_TOO_MANY');
      assert.match(r.body.message ?? '', /at most 64 instances/);
      // changing one that exists is still fine
      assert.equal((await call(app, 'PATCH', '/lb0/', { algorithm: 'HASH_SRC_IP' })).status, 200);
    });
  });

  test('a change that would make the state file larger than its bound is refused', async () => {
    await withApp({ stateBytes: 4096 }, async (app, dir) => {
      assert.equal((await call(app, 'POST', '/lb1/')).status, 201);
      let id = 1;
      let r = await call(app, 'POST', '/lb1/backend/pool/', { id, mac: '02:00:00:00:00:01' });
      while (r.status === 201 && id < 200) {
        id++;
        r = await call(app, 'POST', '/lb1/backend/pool/', { id, mac: '02:00:00:00:00:01' });
      }
      assert.equal(r.status, 507, JSON.stringify(r.body));
      assert.equal(r.body.code, 'LBDSR_STATE_TOO_LARGE');
      assert.match(r.body.message ?? '', /would take \d+ bytes, over the 4096/);
      const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      assert.equal(saved.instances[0].backend.pool.length, id - 1, 'the refused change reached config.json');
      const pool = (await call(app, 'GET', '/lb1/backend/pool/')).body as unknown as unknown[];
      assert.equal(pool.length, id - 1, 'the refused change stayed in force');
    });
  });

  test('a state file over the bound is not read at start', async () => {
    const state = tempDir('limits-start');
    try {
      const path = join(state.dir, 'config.json');
      writeFileSync(path, JSON.stringify({ version: 1, instances: [] }));
      truncateSync(path, MAX_STATE_BYTES + 1); // sparse: no 64 MiB written
      await assert.rejects(
        buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 }),
        (e: Error & { code?: string }) =>
          e.code === 'LBDSR_STATE_TOO_LARGE' &&
          /config\.json is 67108865 bytes, over the 67108864/.test(e.message),
      );
    } finally {
      state.cleanup();
    }
  });
});
