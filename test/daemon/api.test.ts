// REST API of lbdsrd through fastify's inject(): resources, polycubed semantics, every validation case of
// the control-plane issue, and "a failed request changes nothing".
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { ROOT, restCaller, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const XDP_BUILT = existsSync(join(ROOT, 'dist/src/dataplane/xdp/plane.js'));

describe('lbdsrd REST API', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;

  const { call, rejects, configFile } = restCaller(
    () => app,
    () => state.dir,
  );

  before(async () => {
    state = tempDir('api');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
    assert.equal((await call('POST', '/lb1/')).status, 201);
    assert.equal((await call('POST', '/lb1/ports/fp/', { type: 'FRONTEND' })).status, 201);
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('creating, reading and listing instances', async () => {
    const r = await call('GET', '/lb1/');
    assert.equal(r.status, 200);
    assert.equal(r.body.name, 'lb1');
    assert.equal(r.body.algorithm, 'HASH_SESSION');
    assert.equal(r.body.type, 'AUTO');
    assert.equal(r.body.plane, 'NONE');
    assert.deepEqual(r.body.backend, { pool: [] });
    assert.equal(r.body.ports[0].status, 'DOWN');
    assert.match(r.body.ports[0].uuid, /^[0-9a-f-]{36}$/);
    assert.equal((await call('GET', '/lb1/ports/fp/status/')).body, 'DOWN');
    assert.equal((await call('GET', '/lb1/ports/fp/uuid/')).body, r.body.ports[0].uuid);
    assert.equal((await call('GET', '/lb1/plane/')).body, 'NONE');
    assert.equal((await call('PUT', '/lb1/ports/fp/status/', '"UP"')).status, 405, 'read-only');
    assert.equal((await call('POST', '/', { name: 'lb2', algorithm: 'hash_src_ip' })).status, 201);
    const list = (await call('GET', '/')).body;
    assert.deepEqual(
      list.map((i: { name: string }) => i.name),
      ['lb1', 'lb2'],
    );
    assert.equal(list[1].algorithm, 'HASH_SRC_IP');
    assert.equal((await call('GET', '/lb1')).status, 200, 'trailing slash is optional');
    await rejects('POST', '/lb2/', {}, 409, 'LBDSR_EXISTS', /lb2/);
    assert.equal((await call('DELETE', '/lb2/')).status, 200);
    await rejects('GET', '/lb2/', undefined, 404, 'LBDSR_NOT_FOUND', /lb2/);
    await rejects('DELETE', '/lb2/', undefined, 404, 'LBDSR_NOT_FOUND');
  });

  test('sub-resources: frontend, pool entries, leaves, PUT replaces and PATCH updates', async () => {
    assert.equal((await call('PATCH', '/lb1/frontend/', { vip: '10.0.0.100' })).status, 200);
    assert.equal((await call('PATCH', '/lb1/frontend/', { mac: 'AA-BB-CC-DD-EE-FF' })).status, 200);
    assert.deepEqual((await call('GET', '/lb1/frontend/')).body, {
      vip: '10.0.0.100',
      mac: 'aa:bb:cc:dd:ee:ff',
    });
    assert.equal((await call('GET', '/lb1/frontend/vip/')).body, '10.0.0.100');
    assert.equal((await call('PUT', '/lb1/frontend/mac/', '"aa:bb:cc:dd:ee:01"')).status, 200);
    assert.equal((await call('GET', '/lb1/frontend/mac/')).body, 'aa:bb:cc:dd:ee:01');
    assert.equal((await call('POST', '/lb1/backend/pool/1/', { mac: '00:00:00:00:00:01' })).status, 201);
    assert.equal(
      (await call('POST', '/lb1/backend/pool/', [{ id: 2, mac: '00:00:00:00:00:02' }])).status,
      201,
    );
    // the configuration, then its status: without a health check UP, the configured MAC in use
    assert.deepEqual((await call('GET', '/lb1/backend/pool/2/')).body, {
      id: 2,
      mac: '00:00:00:00:00:02',
      health: 'UP',
      mac_in_use: '00:00:00:00:00:02',
      mac_source: 'CONFIG',
      sessions: 0,
      serving: true,
    });
    assert.equal((await call('PATCH', '/lb1/backend/pool/2/', { mac: '00:00:00:00:00:22' })).status, 200);
    assert.equal((await call('GET', '/lb1/backend/pool/2/mac/')).body, '00:00:00:00:00:22');
    // PUT on the pool replaces the whole list
    assert.equal(
      (await call('PUT', '/lb1/backend/pool/', [{ id: 9, mac: '00:00:00:00:00:09' }])).status,
      200,
    );
    assert.deepEqual((await call('GET', '/lb1/backend/')).body.pool, [{ id: 9, mac: '00:00:00:00:00:09' }]);
    assert.equal((await call('DELETE', '/lb1/backend/pool/9/')).status, 200);
    await rejects('DELETE', '/lb1/backend/pool/9/', undefined, 404, 'LBDSR_NOT_FOUND', /9/);
    // PUT on the frontend replaces it: the VIP goes
    assert.equal((await call('PUT', '/lb1/frontend/', { mac: 'aa:bb:cc:dd:ee:ff' })).status, 200);
    assert.deepEqual((await call('GET', '/lb1/frontend/')).body, { mac: 'aa:bb:cc:dd:ee:ff' });
    assert.equal((await call('PATCH', '/lb1/', { frontend: { vip: '10.0.0.100' } })).status, 200);
    assert.deepEqual((await call('GET', '/lb1/frontend/')).body, {
      vip: '10.0.0.100',
      mac: 'aa:bb:cc:dd:ee:ff',
    });
    // leaves
    assert.equal((await call('PUT', '/lb1/loglevel/', '"debug"')).status, 200);
    assert.equal((await call('GET', '/lb1/loglevel/')).body, 'DEBUG');
    await rejects('DELETE', '/lb1/algorithm/', undefined, 400, 'LBDSR_BAD_VALUE', /cannot be deleted/);
  });

  test('algorithm is case-insensitive and changeable', async () => {
    assert.equal((await call('PATCH', '/lb1/', { algorithm: 'hash_src_ip' })).status, 200);
    assert.equal((await call('GET', '/lb1/algorithm/')).body, 'HASH_SRC_IP');
    assert.equal((await call('PATCH', '/lb1/algorithm/', '"Hash_Session"')).status, 200);
    assert.equal((await call('GET', '/lb1/algorithm/')).body, 'HASH_SESSION');
    await rejects(
      'PATCH',
      '/lb1/',
      { algorithm: 'ROUND_ROBIN' },
      400,
      'LBDSR_BAD_VALUE',
      /HASH_SESSION, HASH_SRC_IP/,
    );
  });

  test('session settings and read-only sessions and stats without a data plane', async () => {
    assert.equal((await call('PATCH', '/lb1/sessions/', { timeouts: { udp: 30 } })).status, 200);
    const s = (await call('GET', '/lb1/sessions/')).body;
    assert.deepEqual(s.timeouts, { tcp: 600, udp: 30, icmp: 30 });
    assert.deepEqual(s.entries, []);
    const st = (await call('GET', '/lb1/stats/')).body;
    assert.equal(st.rx.packets, 0);
    assert.equal(st.drops.NOT_VIP, 0);
    assert.equal((await call('PATCH', '/lb1/stats/', {})).status, 405, 'stats are read-only');
    await rejects('GET', '/lb1/sessions/?limit=x', undefined, 400, 'LBDSR_BAD_VALUE');
  });

  test('sessions.record_non_syn: false by default, settable, a boolean', async () => {
    assert.equal((await call('GET', '/lb1/sessions/')).body.record_non_syn, false);
    assert.equal((await call('PATCH', '/lb1/sessions/', { record_non_syn: true })).status, 200);
    assert.equal((await call('GET', '/lb1/sessions/')).body.record_non_syn, true);
    assert.equal((await call('GET', '/lb1/stats/')).body.sessions.unrecorded, 0);
    await rejects('PATCH', '/lb1/sessions/', { record_non_syn: 'yes' }, 400, 'LBDSR_BAD_VALUE');
    assert.equal((await call('PATCH', '/lb1/sessions/', { record_non_syn: false })).status, 200);
  });

  test('type: TC points at XDP_SKB; XDP kinds answer NOT_AVAILABLE until the XDP plane exists; DELETE means automatic', async () => {
    await rejects('PATCH', '/lb1/', { type: 'TC' }, 400, 'LBDSR_BAD_VALUE', /XDP_SKB/);
    await rejects('PATCH', '/lb1/', { type: 'FAST' }, 400, 'LBDSR_BAD_VALUE', /XDP_DRV/);
    if (!XDP_BUILT) {
      await rejects(
        'PATCH',
        '/lb1/',
        { type: 'XDP_DRV' },
        409,
        'LBDSR_NOT_AVAILABLE',
        /XDP_DRV.*not available/,
      );
      await rejects('PUT', '/lb1/type/', '"XDP_SKB"', 409, 'LBDSR_NOT_AVAILABLE', /XDP_SKB/);
    } else {
      // the XDP plane is built: the kind is accepted, or refused cleanly when this kernel cannot load it
      const r = await call('PATCH', '/lb1/', { type: 'XDP_SKB' });
      if (r.status !== 200) {
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.code, 'LBDSR_NOT_AVAILABLE');
      } else assert.equal((await call('GET', '/lb1/type/')).body, 'XDP_SKB');
    }
    assert.equal((await call('PATCH', '/lb1/', { type: 'userspace' })).status, 200);
    assert.equal((await call('GET', '/lb1/type/')).body, 'USERSPACE');
    assert.equal((await call('DELETE', '/lb1/type/')).status, 200);
    assert.equal((await call('GET', '/lb1/type/')).body, 'AUTO');
  });

  test('leniency kept from the hand-written checks: enum case, the TC hint, read-only fields of any type', async () => {
    assert.equal((await call('PUT', '/lb1/ports/fp/type/', '"frontend"')).status, 200);
    assert.equal((await call('GET', '/lb1/ports/fp/type/')).body, 'FRONTEND');
    await rejects('PUT', '/lb1/type/', '"tc"', 400, 'LBDSR_BAD_VALUE', /use type=XDP_SKB/);
    await rejects(
      'POST',
      '/lb1/ports/',
      [{ name: 'p8', type: 'Middle' }],
      400,
      'LBDSR_BAD_VALUE',
      /'Middle'.*FRONTEND, BACKEND/,
    );
    const shown = (await call('GET', '/lb1/ports/fp/')).body;
    assert.equal(
      (await call('PATCH', '/lb1/ports/fp/', { status: 5, uuid: null })).status,
      200,
      'read-only: ignored',
    );
    assert.deepEqual((await call('GET', '/lb1/ports/fp/')).body, shown);
    await rejects('PUT', '/lb1/algorithm/', '', 400, 'LBDSR_BAD_BODY', /lb1 algorithm: a body is required/);
  });

  test('validation: malformed MAC', async () => {
    await rejects(
      'PATCH',
      '/lb1/frontend/',
      { mac: 'aa:bb:cc:dd:ee' },
      400,
      'LBDSR_BAD_MAC',
      /aa:bb:cc:dd:ee/,
    );
    await rejects('POST', '/lb1/backend/pool/5/', { mac: 'zz:00:00:00:00:01' }, 400, 'LBDSR_BAD_MAC');
    await rejects('PATCH', '/lb1/frontend/', { mac: '01:00:5e:00:00:01' }, 400, 'LBDSR_BAD_MAC', /unicast/);
  });

  test('validation: malformed IPv4 and a VIP that is not unicast', async () => {
    await rejects('PATCH', '/lb1/frontend/', { vip: '10.0.0' }, 400, 'LBDSR_BAD_IPV4', /10\.0\.0/);
    await rejects('PATCH', '/lb1/frontend/', { vip: '10.0.0.256' }, 400, 'LBDSR_BAD_IPV4');
    for (const vip of ['224.0.0.1', '127.0.0.1', '0.0.0.0', '255.255.255.255']) {
      await rejects('PATCH', '/lb1/frontend/', { vip }, 400, 'LBDSR_BAD_VIP', /unicast/);
    }
  });

  test('validation: unknown port type and a second FRONTEND or BACKEND port', async () => {
    await rejects('POST', '/lb1/ports/p9/', { type: 'MIDDLE' }, 400, 'LBDSR_BAD_VALUE', /FRONTEND, BACKEND/);
    await rejects('POST', '/lb1/ports/p9/', { type: 'FRONTEND' }, 409, 'LBDSR_CONFLICT', /FRONTEND/);
    assert.equal((await call('POST', '/lb1/ports/bp/', { type: 'backend' })).status, 201);
    await rejects('POST', '/lb1/ports/bp2/', { type: 'BACKEND' }, 409, 'LBDSR_CONFLICT', /BACKEND/);
    await rejects('POST', '/lb1/ports/bp/', { type: 'BACKEND' }, 409, 'LBDSR_EXISTS', /bp/);
    await rejects('POST', '/lb1/ports/p9/', {}, 400, 'LBDSR_BAD_VALUE', /needs a type/);
  });

  test('validation: a pool id that is not a uint32', async () => {
    await rejects('POST', '/lb1/backend/pool/4294967296/', { mac: '00:00:00:00:00:01' }, 400, 'LBDSR_BAD_ID');
    await rejects('POST', '/lb1/backend/pool/abc/', { mac: '00:00:00:00:00:01' }, 400, 'LBDSR_BAD_ID', /abc/);
    await rejects('POST', '/lb1/backend/pool/', { id: -1, mac: '00:00:00:00:00:01' }, 400, 'LBDSR_BAD_ID');
    await rejects('POST', '/lb1/backend/pool/', { id: 1.5, mac: '00:00:00:00:00:01' }, 400, 'LBDSR_BAD_ID');
    assert.equal(
      (await call('POST', '/lb1/backend/pool/4294967295/', { mac: '00:00:00:00:00:01' })).status,
      201,
    );
    assert.equal((await call('DELETE', '/lb1/backend/pool/4294967295/')).status, 200);
  });

  test('validation: a duplicate pool id', async () => {
    assert.equal((await call('POST', '/lb1/backend/pool/10/', { mac: '00:00:00:00:00:10' })).status, 201);
    await rejects('POST', '/lb1/backend/pool/10/', { mac: '00:00:00:00:00:11' }, 409, 'LBDSR_EXISTS', /10/);
    await rejects('POST', '/lb1/backend/pool/', [{ id: 10, mac: '00:00:00:00:00:11' }], 409, 'LBDSR_EXISTS');
    await rejects(
      'PUT',
      '/lb1/backend/pool/',
      [
        { id: 3, mac: '00:00:00:00:00:03' },
        { id: 3, mac: '00:00:00:00:00:04' },
      ],
      409,
      'LBDSR_EXISTS',
    );
  });

  test('validation: a peer interface that does not exist is named', async () => {
    const name = `nope${process.pid % 100000}`;
    await rejects(
      'PATCH',
      '/lb1/ports/fp/',
      { peer: name },
      400,
      'LBDSR_NO_SUCH_INTERFACE',
      new RegExp(name),
    );
    await rejects(
      'PUT',
      '/lb1/ports/fp/peer/',
      JSON.stringify(name),
      400,
      'LBDSR_NO_SUCH_INTERFACE',
      new RegExp(name),
    );
    await rejects('PATCH', '/lb1/ports/fp/', { peer: 'bad/name' }, 400, 'LBDSR_NO_SUCH_INTERFACE');
  });

  test('validation: unknown keys are named', async () => {
    await rejects('PATCH', '/lb1/', { colour: 'red' }, 400, 'LBDSR_UNKNOWN_KEY', /colour/);
    await rejects(
      'PATCH',
      '/lb1/frontend/',
      { vip: '10.0.0.1', port: 80 },
      400,
      'LBDSR_UNKNOWN_KEY',
      /'port'.*vip, vip6, mac/,
    );
    await rejects(
      'POST',
      '/lb1/backend/pool/',
      [{ id: 4, mac: '00:00:00:00:00:04', colour: 2 }],
      400,
      'LBDSR_UNKNOWN_KEY',
      /colour.*weight/,
    );
    await rejects('POST', '/lb1/ports/p7/', { type: 'BACKEND', speed: 1 }, 400, 'LBDSR_UNKNOWN_KEY', /speed/);
    const r = await call('GET', '/lb1/nonsense/');
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 'LBDSR_NOT_FOUND');
  });

  test('validation: a body that is not valid JSON or YAML', async () => {
    const before = (await call('GET', '/lb1/')).body;
    let r = await call('PATCH', '/lb1/', '{"algorithm": ', 'application/json');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'LBDSR_BAD_BODY');
    r = await call('PATCH', '/lb1/', 'algorithm: [unclosed', 'application/yaml');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'LBDSR_BAD_BODY');
    r = await call('PATCH', '/lb1/', 'algorithm: hash_src_ip\n', 'application/yaml');
    assert.equal(r.status, 200, 'a YAML body is accepted');
    assert.equal((await call('GET', '/lb1/algorithm/')).body, 'HASH_SRC_IP');
    assert.equal((await call('PATCH', '/lb1/', { algorithm: before.algorithm })).status, 200);
    r = await call('PATCH', '/lb1/', '[1, 2]');
    assert.equal(r.status, 400);
  });

  test('group-bit backend MACs are accepted with a warning, as the seed does', async () => {
    const r = await call('POST', '/lb1/backend/pool/101/', { mac: '01:01:01:01:01:01' });
    assert.equal(r.status, 201);
    assert.equal(r.body.warnings.length, 1);
    assert.match(r.body.warnings[0], /01:01:01:01:01:01.*group/);
    const again = await call('PATCH', '/lb1/', { algorithm: 'HASH_SESSION' });
    assert.deepEqual(again.body.warnings, [], 'an unrelated change does not warn again');
    assert.equal((await call('DELETE', '/lb1/backend/pool/101/')).status, 200);
    await rejects(
      'POST',
      '/lb1/backend/pool/102/',
      { mac: '00:00:00:00:00:00' },
      400,
      'LBDSR_BAD_MAC',
      /zero/,
    );
  });

  test('bad instance names and name mismatches', async () => {
    await rejects('POST', '/', { algorithm: 'HASH_SESSION' }, 400, 'LBDSR_BAD_VALUE', /name/);
    await rejects('POST', '/bad name!/', {}, 400, 'LBDSR_BAD_VALUE');
    await rejects('PUT', '/lb1/', { name: 'other' }, 400, 'LBDSR_BAD_VALUE', /other/);
    await rejects('PATCH', '/lb1/backend/pool/10/', { id: 11 }, 400, 'LBDSR_BAD_VALUE', /11/);
  });

  test('PUT on an instance replaces it whole; read-only fields in bodies are ignored', async () => {
    const shown = (await call('GET', '/lb1/')).body;
    assert.equal((await call('PUT', '/lb3/', shown.name ? { ...shown, name: 'lb3' } : shown)).status, 200);
    const lb3 = (await call('GET', '/lb3/')).body;
    const noUuid = (i: { ports: Array<{ uuid?: string }> }) => ({
      ...i,
      ports: i.ports.map((p) => ({ ...p, uuid: 'x' })),
    });
    assert.deepEqual(
      noUuid({ ...lb3, name: 'lb1' }),
      noUuid(shown),
      'a shown instance re-creates an equal one',
    );
    assert.notEqual(lb3.ports[0].uuid, shown.ports[0].uuid, 'uuids are read-only: new ports get new ones');
    assert.equal((await call('PUT', '/lb3/', { algorithm: 'HASH_SRC_IP' })).status, 200);
    const replaced = (await call('GET', '/lb3/')).body;
    assert.deepEqual(replaced.ports, []);
    assert.deepEqual(replaced.frontend, {});
    assert.equal(replaced.algorithm, 'HASH_SRC_IP');
    assert.equal((await call('DELETE', '/lb3/')).status, 200);
  });

  test('/openapi.json documents the resources with the same schemas', async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = JSON.parse(r.body);
    assert.equal(doc.openapi, '3.1.0', 'JSON Schema const/anyOf need OpenAPI 3.1');
    for (const p of [
      '/',
      '/{name}/',
      '/{name}/ports/{port}/peer/',
      '/{name}/backend/pool/{id}/',
      '/{name}/stats/',
    ]) {
      assert.ok(doc.paths[`${BASE}${p}`], `missing ${p}`);
    }
    const pool = doc.paths[`${BASE}/{name}/backend/pool/{id}/`];
    assert.deepEqual(Object.keys(pool).sort(), ['delete', 'get', 'patch', 'post', 'put']);
    const schema = pool.post.requestBody.content['application/json'].schema;
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.id.maximum, 4294967295);
    assert.deepEqual(Object.keys(doc.paths[`${BASE}/{name}/stats/`]), ['get']);
  });

  test('the configuration file follows every change', async () => {
    const saved = JSON.parse(configFile());
    const live = (await call('GET', '/lb1/')).body;
    const lb1 = saved.instances.find((i: { name: string }) => i.name === 'lb1');
    assert.deepEqual(lb1.backend, live.backend);
    assert.deepEqual(lb1.frontend, live.frontend);
    assert.equal(lb1.ports.length, live.ports.length);
  });
});

describe('lbdsrd restore and authentication', () => {
  test('a new app on the same state directory restores every instance', async () => {
    const state = tempDir('restore');
    try {
      let app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
      const body = {
        name: 'lb1',
        algorithm: 'HASH_SRC_IP',
        ports: [{ name: 'fp', type: 'FRONTEND' }],
        frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
        backend: { pool: [{ id: 7, mac: '00:00:00:00:00:07' }] },
      };
      await app.inject({ method: 'POST', url: `${BASE}/`, payload: body });
      await app.inject({ method: 'POST', url: `${BASE}/lb2/` });
      const before = JSON.parse((await app.inject({ method: 'GET', url: `${BASE}/` })).body);
      await app.close();
      app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
      const after = JSON.parse((await app.inject({ method: 'GET', url: `${BASE}/` })).body);
      assert.deepEqual(after, before);
      assert.equal(after.length, 2);
      await app.close();
    } finally {
      state.cleanup();
    }
  });

  test('with a token every request needs the bearer token', async () => {
    const state = tempDir('token');
    const app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0, token: 's3cret' });
    try {
      let r = await app.inject({ method: 'GET', url: `${BASE}/` });
      assert.equal(r.statusCode, 401);
      assert.equal(JSON.parse(r.body).code, 'LBDSR_UNAUTHORIZED');
      r = await app.inject({
        method: 'POST',
        url: `${BASE}/lb1/`,
        headers: { authorization: 'Bearer wrong!' },
      });
      assert.equal(r.statusCode, 401);
      r = await app.inject({
        method: 'POST',
        url: `${BASE}/lb1/`,
        headers: { authorization: 'Bearer s3cret' },
      });
      assert.equal(r.statusCode, 201);
    } finally {
      await app.close();
      state.cleanup();
    }
  });
});
