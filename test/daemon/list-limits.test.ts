// Bounded work per request (issue 9, item 11): every list of a document carries its limit in the
// schema, so a body over it is refused by the route's validation before any work is done, with a 400
// that names the limit; the keyed-list merges are linear, so a body at the limit is cheap. The test of
// "quickly" is that the API answers another request meanwhile and the whole suite finishes (its timeout
// is a hang guard, far above what the refusal costs: the quadratic merge took 48 s for 95,000 entries).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const MAX_POOL = 4096;
const MAX_PORTS = 8;

function pool(n: number, from = 1): { id: number; mac: string }[] {
  const hex = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
  return Array.from({ length: n }, (_, k) => {
    const i = k + from;
    return { id: i, mac: `02:cb:${hex(i >> 24)}:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}` };
  });
}

describe('bounded work per request', { timeout: 120_000 }, () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await app.inject({
      method: method as 'GET',
      url: `${BASE}${path}`,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };

  before(async () => {
    state = tempDir('limits');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
    const r = await call('POST', '/lb1/', { frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('a 95,000-entry pool is a 400 naming the limit, and the API answers another request meanwhile', async () => {
    const huge = pool(95_000);
    const before = (await call('GET', '/lb1/')).body;
    const cases: [string, string, unknown, RegExp][] = [
      ['PUT', '/lb1/', { backend: { pool: huge } }, /backend\.pool: at most 4096 entries \(got 95000\)/],
      ['POST', '/lb2/', { backend: { pool: huge } }, /backend\.pool: at most 4096 entries \(got 95000\)/],
      ['PATCH', '/lb1/', { backend: { pool: huge } }, /backend\.pool: at most 4096 entries \(got 95000\)/],
      ['PUT', '/lb1/backend/', { pool: huge }, /pool: at most 4096 entries \(got 95000\)/],
      ['POST', '/lb1/backend/pool/', huge, /lb1 backend\/pool: at most 4096 entries \(got 95000\)/],
      ['PUT', '/lb1/backend/pool/', huge, /lb1 backend\/pool: at most 4096 entries \(got 95000\)/],
      ['PATCH', '/lb1/backend/pool/', huge, /lb1 backend\/pool: at most 4096 entries \(got 95000\)/],
    ];
    for (const [method, path, body, message] of cases) {
      const [big, other] = await Promise.all([call(method, path, body), call('GET', '/lb1/frontend/')]);
      assert.equal(big.status, 400, `${method} ${path}: ${JSON.stringify(big.body)}`);
      assert.equal(big.body.code, 'LBDSR_TOO_MANY', big.body.message);
      assert.match(big.body.message, message);
      assert.equal(other.status, 200, JSON.stringify(other.body));
      assert.deepEqual(other.body, { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' });
    }
    assert.deepEqual((await call('GET', '/lb1/')).body, before, 'a refused body changed the instance');
    assert.equal((await call('GET', '/lb2/')).status, 404);
  });

  test('a pool grows to its limit one entry at a time and no further', async () => {
    assert.equal((await call('PUT', '/lb1/backend/pool/', pool(MAX_POOL - 1))).status, 200);
    assert.equal(
      (await call('POST', `/lb1/backend/pool/${MAX_POOL}/`, { mac: '02:00:00:00:10:00' })).status,
      201,
    );
    const over = await call('POST', '/lb1/backend/pool/99999/', { mac: '02:00:00:00:99:99' });
    assert.equal(over.status, 400, JSON.stringify(over.body));
    assert.equal(over.body.code, 'LBDSR_TOO_MANY');
    assert.match(over.body.message, /at most 4096 entries \(got 4097\)/);
    assert.equal((await call('GET', '/lb1/backend/pool/')).body.length, MAX_POOL);
  });

  test('a full pool merged entry by entry (PATCH) and added to (POST) keeps every entry once', async () => {
    assert.equal((await call('PUT', '/lb1/backend/pool/', pool(MAX_POOL))).status, 200);
    // every entry gets a new MAC through the keyed merge
    const renumbered = pool(MAX_POOL).map((e) => ({ id: e.id, mac: e.mac.replace(/^02:cb/, '02:cc') }));
    const patched = await call('PATCH', '/lb1/backend/pool/', renumbered);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    // the configuration (a GET of the pool adds each backend's status)
    const shown = (await call('GET', '/lb1/backend/')).body.pool as { id: number; mac: string }[];
    assert.deepEqual(shown, renumbered);
    // a refused change of one entry leaves it as it was (entries are shared between versions of the
    // document, never changed in place), a valid one changes that entry only
    const before = (await call('GET', '/lb1/')).body;
    for (const bad of ['zz', '00:00:00:00:00:00']) {
      assert.equal((await call('PUT', '/lb1/backend/pool/7/mac/', bad)).status, 400, bad);
      assert.deepEqual((await call('GET', '/lb1/')).body, before, `refused MAC ${bad} changed the instance`);
    }
    assert.equal((await call('PUT', '/lb1/backend/pool/7/mac/', '02:dd:00:00:00:07')).status, 200);
    const after = (await call('GET', '/lb1/backend/')).body.pool as { id: number; mac: string }[];
    assert.deepEqual(after[6], { id: 7, mac: '02:dd:00:00:00:07' });
    assert.deepEqual(
      after.filter((e) => e.id !== 7),
      renumbered.filter((e) => e.id !== 7),
    );
    // a POST of entries that exist names the first one
    const dup = await call('POST', '/lb1/backend/pool/', [...pool(2, MAX_POOL + 1), ...pool(1, 7)]);
    assert.equal(dup.status, 409, JSON.stringify(dup.body));
    assert.match(dup.body.message, /backend '7' already exists/);
    // a PATCH naming an entry twice: the later wins, as before
    assert.equal((await call('PUT', '/lb1/backend/pool/', pool(2))).status, 200);
    const twice = await call('PATCH', '/lb1/backend/pool/', [
      { id: 2, mac: '02:00:00:00:00:aa' },
      { id: 2, mac: '02:00:00:00:00:bb' },
    ]);
    assert.equal(twice.status, 200, JSON.stringify(twice.body));
    assert.deepEqual((await call('GET', '/lb1/backend/')).body.pool[1], { id: 2, mac: '02:00:00:00:00:bb' });
  });

  test(`ports are limited to ${MAX_PORTS} entries in a body; the role check still names a third port`, async () => {
    const ports = Array.from({ length: MAX_PORTS + 1 }, (_, i) => ({ name: `p${i}`, type: 'FRONTEND' }));
    const r = await call('PUT', '/lb1/ports/', ports);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'LBDSR_TOO_MANY');
    assert.match(r.body.message, /lb1 ports: at most 8 entries \(got 9\)/);
    const three = await call('PUT', '/lb1/ports/', ports.slice(0, 3));
    assert.equal(three.status, 409, JSON.stringify(three.body));
    assert.equal(three.body.code, 'LBDSR_CONFLICT');
  });

  test('/openapi.json shows the limits', async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.ok(r.body.includes('"maxItems":4096'), 'no pool limit in /openapi.json');
    assert.ok(r.body.includes('"maxItems":8'), 'no ports limit in /openapi.json');
  });
});
