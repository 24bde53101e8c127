// POST .../frontend/announce refuses what it cannot do, without root: an instance without a VIP and
// frontend MAC, or without a data plane on a frontend interface, answers 409 LBDSR_NOT_AVAILABLE; a
// count outside 1..10 answers 400; an unknown instance 404; another method 405. (test/e2e/announce.test.ts
// sends for real.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/daemon/app.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

test('frontend announce answers what stands in its way', async () => {
  const state = tempDir('announce');
  const app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
  const post = (name: string, body?: unknown) =>
    app.inject({
      method: 'POST',
      url: `${BASE}/${name}/frontend/announce/`,
      ...(body === undefined ? {} : { payload: body as object }),
    });
  try {
    assert.equal((await post('nosuch')).statusCode, 404);
    assert.equal((await app.inject({ method: 'POST', url: `${BASE}/lb1/` })).statusCode, 201);
    let r = await post('lb1');
    assert.equal(r.statusCode, 409);
    assert.equal(r.json().code, 'LBDSR_NOT_AVAILABLE');
    assert.match(r.json().message, /no VIP and frontend MAC/);
    r = await app.inject({
      method: 'PATCH',
      url: `${BASE}/lb1/frontend/`,
      payload: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    });
    assert.equal(r.statusCode, 200, r.body);
    r = await post('lb1', { count: 2 });
    assert.equal(r.statusCode, 409);
    assert.match(r.json().message, /no data plane on a frontend interface/);
    for (const count of [0, 11, 'x']) {
      r = await post('lb1', { count });
      assert.equal(r.statusCode, 400, `count ${count}`);
    }
    assert.equal((await post('lb1', { other: 1 })).statusCode, 400);
    // An action takes POST only.
    const get = await app.inject({ method: 'GET', url: `${BASE}/lb1/frontend/announce/` });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, 'POST');
  } finally {
    await app.close();
    state.cleanup();
  }
});
