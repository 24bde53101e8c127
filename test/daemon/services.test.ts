// REST API of issue 10 through fastify's inject(): services (`default` = frontend + backend), backends
// by IP, weights, states and the time they changed, health checks and probe_ip, the status `pool show`
// adds, dry runs (`?dry_run=true` changes nothing), and a state file of the version before loading.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { restCaller, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

describe('lbdsrd REST API: services, backends, health checks, dry runs', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;

  const { call, ok, rejects, configFile } = restCaller(
    () => app,
    () => state.dir,
  );

  before(async () => {
    state = tempDir('services');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
    await ok('POST', '/lb1/', {
      frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
      backend: { pool: [{ id: 1, mac: '00:00:00:00:00:01' }] },
    });
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('services: default is the frontend and backend; others are added, shown, changed and deleted', async () => {
    const list = await ok('GET', '/lb1/services/');
    assert.deepEqual(
      list.map((s: { name: string }) => s.name),
      ['default'],
    );
    assert.equal(list[0].vip, '10.0.0.100');
    assert.equal(list[0].mac, 'aa:bb:cc:dd:ee:ff');
    assert.equal(list[0].algorithm, 'HASH_SESSION');
    assert.deepEqual(
      list[0].backend.pool.map((b: { id: number }) => b.id),
      [1],
    );
    // the default service's pool is the instance's backend
    await ok('POST', '/lb1/services/default/backend/pool/2/', { mac: '00:00:00:00:00:02' });
    assert.deepEqual(
      (await ok('GET', '/lb1/backend/')).pool.map((b: { id: number }) => b.id),
      [1, 2],
    );
    await ok('PATCH', '/lb1/services/default/', { vip: '10.0.0.99' });
    assert.equal((await ok('GET', '/lb1/frontend/')).vip, '10.0.0.99');
    await ok('PATCH', '/lb1/services/default/', { vip: '10.0.0.100' });
    await rejects('DELETE', '/lb1/services/default/', undefined, 400, 'LBDSR_BAD_VALUE', /cannot be deleted/);
    await rejects('PATCH', '/lb1/services/default/', { port: 80, protocol: 'TCP' }, 400, 'LBDSR_BAD_VALUE');

    await ok('POST', '/lb1/services/web/', { vip: '10.0.0.101', protocol: 'tcp', port: 80 });
    await ok('POST', '/lb1/services/web/backend/pool/1/', { ip: '10.0.0.21' });
    const web = await ok('GET', '/lb1/services/web/');
    assert.equal(web.protocol, 'TCP');
    assert.equal(web.port, 80);
    assert.equal(web.backend.pool[0].ip, '10.0.0.21');
    assert.deepEqual(
      (await ok('GET', '/lb1/services/')).map((s: { name: string }) => s.name),
      ['default', 'web'],
    );
    // the instance shows the other services; the state file holds them
    assert.deepEqual(
      (await ok('GET', '/lb1/')).services.map((s: { name: string }) => s.name),
      ['web'],
    );
    const saved = JSON.parse(configFile()).instances[0];
    assert.equal(saved.services[0].vip, '10.0.0.101');
    await ok('PUT', '/lb1/services/web/port/', 8080);
    assert.equal(await ok('GET', '/lb1/services/web/port/'), 8080);

    await rejects(
      'POST',
      '/lb1/services/dns/',
      { vip: '10.0.0.102', port: 53 },
      400,
      'LBDSR_BAD_VALUE',
      /TCP or UDP/,
    );
    await rejects('POST', '/lb1/services/dns/', { protocol: 'UDP' }, 400, 'LBDSR_BAD_VALUE', /needs a vip/);
    await rejects('POST', '/lb1/services/web/', { vip: '10.0.0.103' }, 409, 'LBDSR_EXISTS', /web/);
    await rejects(
      'POST',
      '/lb1/services/x/',
      { vip: '10.0.0.1', protocol: 'SCTP' },
      400,
      'LBDSR_BAD_VALUE',
      /TCP, UDP, ICMP/,
    );
    await rejects('PATCH', '/lb1/', { services: [{ name: 'a/b', vip: '10.0.0.1' }] }, 400, 'LBDSR_BAD_VALUE');
    await rejects(
      'PUT',
      '/lb1/',
      { services: [{ name: 'default', vip: '10.0.0.1' }] },
      400,
      'LBDSR_BAD_VALUE',
      /default/,
    );
    // what the data planes cannot hold is refused when the change is planned
    await ok('POST', '/lb1/services/web2/', { vip: '10.0.0.101', protocol: 'TCP', port: 443 });
    await rejects(
      'POST',
      '/lb1/services/dup/',
      { vip: '10.0.0.101', protocol: 'TCP', port: 443 },
      409,
      'LBDSR_EXISTS',
      /same VIP/,
    );
    await rejects(
      'POST',
      '/lb1/services/othermac/',
      { vip: '10.0.0.101', protocol: 'UDP', mac: '02:00:00:00:00:09' },
      400,
      'LBDSR_BAD_MAC',
      /share their VIP but not their frontend MAC/,
    );
    await ok('DELETE', '/lb1/services/web2/');
    const many = Array.from({ length: 256 }, (_, i) => ({ name: `s${i}`, vip: `10.1.${i >> 8}.${i & 255}` }));
    await rejects('PATCH', '/lb1/', { services: many }, 400, 'LBDSR_TOO_MANY', /255/);

    await ok('DELETE', '/lb1/services/web/');
    assert.equal((await call('GET', '/lb1/services/web/')).status, 404);
    assert.equal((await ok('GET', '/lb1/')).services, undefined);
  });

  test('backends: by IP, weight, state with the time it changed, and the status pool show adds', async () => {
    await ok('POST', '/lb1/backend/pool/3/', { ip: '10.0.0.23', weight: 50 });
    const b3 = await ok('GET', '/lb1/backend/pool/3/');
    assert.equal(b3.ip, '10.0.0.23');
    assert.equal(b3.weight, 50);
    // no MAC until ARP finds one: no new flows
    assert.equal(b3.mac_source, 'NONE');
    assert.equal(b3.mac_in_use, undefined);
    assert.equal(b3.serving, false);
    assert.equal(b3.health, 'UP');
    assert.equal(b3.state_since, undefined);

    await rejects('POST', '/lb1/backend/pool/4/', {}, 400, 'LBDSR_BAD_VALUE', /needs a mac or an ip/);
    await rejects('POST', '/lb1/backend/pool/4/', { ip: '224.0.0.1' }, 400, 'LBDSR_BAD_IPV4', /unicast/);
    await rejects('POST', '/lb1/backend/pool/4/', { ip: '10.0.0' }, 400, 'LBDSR_BAD_IPV4');
    await rejects('PATCH', '/lb1/backend/pool/3/', { weight: 101 }, 400, 'LBDSR_BAD_VALUE', /weight/);
    await rejects('PATCH', '/lb1/backend/pool/3/', { weight: 2.5 }, 400, 'LBDSR_BAD_VALUE', /weight/);
    await rejects('PATCH', '/lb1/backend/pool/3/', { state: 'GONE' }, 400, 'LBDSR_BAD_VALUE', /DRAINING/);
    await rejects('PATCH', '/lb1/backend/pool/3/', { deadline: 0 }, 400, 'LBDSR_BAD_VALUE', /deadline/);
    await rejects('PATCH', '/lb1/backend/pool/3/', { on_drained: 'KEEP' }, 400, 'LBDSR_BAD_VALUE');

    const t0 = Date.now();
    await ok('PATCH', '/lb1/backend/pool/1/', { state: 'draining', deadline: 30, on_drained: 'DELETE' });
    const b1 = await ok('GET', '/lb1/backend/pool/1/');
    assert.equal(b1.state, 'DRAINING');
    assert.equal(b1.deadline, 30);
    assert.equal(b1.serving, false);
    const since = Date.parse(b1.state_since);
    assert.ok(since >= t0 - 1000 && since <= Date.now() + 1000, b1.state_since);
    // a change that keeps the state keeps the time; a given state_since is not taken
    await ok('PATCH', '/lb1/backend/pool/1/', { weight: 10, state_since: '2000-01-01T00:00:00.000Z' });
    assert.equal((await ok('GET', '/lb1/backend/pool/1/')).state_since, b1.state_since);
    await ok('PATCH', '/lb1/backend/pool/1/', { state: 'ACTIVE' });
    const back = await ok('GET', '/lb1/backend/pool/1/');
    assert.equal(back.state, 'ACTIVE');
    assert.ok(Date.parse(back.state_since) >= since);
    assert.equal(back.serving, true);
    // weight 0 takes no new flows
    await ok('PATCH', '/lb1/backend/pool/1/', { weight: 0 });
    assert.equal((await ok('GET', '/lb1/backend/pool/1/')).serving, false);
    // a shown pool can be sent back: the status fields are read-only
    const pool = await ok('GET', '/lb1/backend/pool/');
    await ok('PUT', '/lb1/backend/pool/', pool);
    assert.deepEqual(await ok('GET', '/lb1/backend/pool/'), pool);
    await ok('DELETE', '/lb1/backend/pool/3/');
    await ok('PATCH', '/lb1/backend/pool/1/', { weight: 100 });
  });

  test('health checks: need probe_ip, check their numbers, override per backend', async () => {
    await rejects(
      'PATCH',
      '/lb1/backend/healthcheck/',
      { type: 'TCP', port: 80 },
      400,
      'LBDSR_NO_PROBE_IP',
      /probe_ip/,
    );
    await rejects('PATCH', '/lb1/', { probe_ip: '10.0.0' }, 400, 'LBDSR_BAD_IPV4');
    await rejects('PATCH', '/lb1/', { probe_ip: '255.255.255.255' }, 400, 'LBDSR_BAD_IPV4');
    await ok('PATCH', '/lb1/', { probe_ip: '10.0.0.250' });
    assert.equal((await ok('GET', '/lb1/')).probe_ip, '10.0.0.250');
    assert.equal(await ok('GET', '/lb1/probe_ip/'), '10.0.0.250');

    const hc = '/lb1/backend/healthcheck/';
    await rejects('PATCH', hc, { type: 'TCP' }, 400, 'LBDSR_BAD_VALUE', /needs a port/);
    await rejects(
      'PATCH',
      hc,
      { type: 'TCP', port: 80, interval: 2, timeout: 2 },
      400,
      'LBDSR_BAD_VALUE',
      /less than interval/,
    );
    await rejects('PATCH', hc, { type: 'TCP', port: 80, interval: 0.5 }, 400, 'LBDSR_BAD_VALUE', /interval/);
    await rejects('PATCH', hc, { type: 'TCP', port: 80, interval: 3601 }, 400, 'LBDSR_BAD_VALUE', /interval/);
    await rejects('PATCH', hc, { type: 'TCP', port: 80, timeout: 0.05 }, 400, 'LBDSR_BAD_VALUE', /timeout/);
    await rejects('PATCH', hc, { type: 'TCP', port: 80, rise: 0 }, 400, 'LBDSR_BAD_VALUE', /rise/);
    await rejects('PATCH', hc, { type: 'TCP', port: 80, fall: 101 }, 400, 'LBDSR_BAD_VALUE', /fall/);
    await rejects('PATCH', hc, { type: 'HTTP', port: 80, expect: 600 }, 400, 'LBDSR_BAD_VALUE', /expect/);
    await rejects('PATCH', hc, { type: 'HTTP', port: 80, path: 'health' }, 400, 'LBDSR_BAD_VALUE', /path/);
    await rejects('PATCH', hc, { type: 'SMTP' }, 400, 'LBDSR_BAD_VALUE', /NONE, TCP, HTTP, UDP, ICMP/);
    await rejects('PATCH', hc, { port: 80 }, 400, 'LBDSR_BAD_VALUE', /needs a type/);

    await ok('PATCH', hc, { type: 'tcp', port: 80, interval: 2, timeout: 1, rise: 2, fall: 3 });
    await ok('PATCH', hc, { type: 'HTTP', path: '/health', expect: 200, on_down: 'move' });
    assert.deepEqual(await ok('GET', hc), {
      type: 'HTTP',
      port: 80,
      interval: 2,
      timeout: 1,
      rise: 2,
      fall: 3,
      path: '/health',
      expect: 200,
      on_down: 'MOVE',
    });
    // checked and not yet seen: UNKNOWN, served like UP
    const b1 = await ok('GET', '/lb1/backend/pool/1/');
    assert.equal(b1.health, 'UNKNOWN');
    assert.equal(b1.serving, true);
    // per backend: its fields win, the pool's timeout against its interval
    await rejects(
      'PATCH',
      '/lb1/backend/pool/1/healthcheck/',
      { interval: 1 },
      400,
      'LBDSR_BAD_VALUE',
      /less than interval/,
    );
    await ok('PATCH', '/lb1/backend/pool/1/healthcheck/', { type: 'NONE' });
    assert.equal((await ok('GET', '/lb1/backend/pool/1/')).health, 'UP');
    assert.equal((await ok('GET', '/lb1/backend/pool/2/')).health, 'UNKNOWN');
    // probe_ip cannot go while a check needs it
    await rejects('DELETE', '/lb1/probe_ip/', undefined, 400, 'LBDSR_NO_PROBE_IP');
    // a service with a port gives its checks their port
    await ok('POST', '/lb1/services/web/', {
      vip: '10.0.0.101',
      protocol: 'TCP',
      port: 80,
      backend: { pool: [{ id: 1, mac: '00:00:00:00:00:21' }], healthcheck: { type: 'TCP' } },
    });
    assert.equal((await ok('GET', '/lb1/services/web/backend/pool/1/')).health, 'UNKNOWN');
    await ok('DELETE', '/lb1/services/web/');
    await ok('PATCH', hc, { type: 'NONE' });
    await ok('DELETE', '/lb1/backend/pool/1/healthcheck/');
    await ok('DELETE', '/lb1/probe_ip/');
    assert.equal((await ok('GET', '/lb1/')).probe_ip, undefined);
  });

  test('dry runs: the answer says what would move, and nothing changes', async () => {
    const before = await ok('GET', '/lb1/');
    const file = configFile();
    const r = await call('DELETE', '/lb1/backend/pool/2/?dry_run=true');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.dry_run, true);
    const { changes } = r.body;
    assert.deepEqual(changes.services, { added: 0, changed: 1, removed: 0 });
    // backend 2 held about half of the 65,537 entries; they go to backend 1
    const b2 = changes.backends.find((b: { id: number }) => b.id === 2);
    const b1 = changes.backends.find((b: { id: number }) => b.id === 1);
    assert.ok(b2.maglev_lost > 25_000 && b2.maglev_lost < 40_000, JSON.stringify(b2));
    assert.equal(b1.maglev_gained, b2.maglev_lost);
    assert.equal(changes.maglev_entries, b2.maglev_lost);
    assert.equal(b2.sessions_moving, 0);
    assert.deepEqual(await ok('GET', '/lb1/'), before);
    assert.equal(configFile(), file);
    // every write takes it: a new service, an instance's deletion
    const add = await call('POST', '/lb1/services/web/?dry_run=true', {
      vip: '10.0.0.101',
      backend: { pool: [{ id: 7, mac: '00:00:00:00:00:07' }] },
    });
    assert.equal(add.status, 200);
    assert.equal(add.body.changes.services.added, 1);
    assert.equal((await call('GET', '/lb1/services/web/')).status, 404);
    const del = await call('DELETE', '/lb1/?dry_run=true');
    assert.equal(del.status, 200);
    // the default service goes (its table with it): its backends' sessions would move
    assert.deepEqual(del.body.changes.services, { added: 0, changed: 0, removed: 1 });
    assert.deepEqual(
      del.body.changes.backends.map((b: { service: string; id: number }) => `${b.service}/${b.id}`),
      ['default/1', 'default/2'],
    );
    assert.deepEqual(await ok('GET', '/lb1/'), before);
    // a bad change fails as it would for real
    const bad = await call('PATCH', '/lb1/backend/pool/2/?dry_run=true', { weight: 500 });
    assert.equal(bad.status, 400);
    assert.equal((await call('PATCH', '/lb1/?dry_run=maybe', {})).status, 400);
    assert.equal(configFile(), file);
  });
});

describe('lbdsrd state file of the version before services', () => {
  test('loads: no services, every backend with a MAC; shown and listed as before', async () => {
    const state = tempDir('oldstate');
    try {
      mkdirSync(state.dir, { recursive: true });
      const old = {
        name: 'lb1',
        loglevel: 'INFO',
        algorithm: 'HASH_SRC_IP',
        ports: [{ name: 'fp', type: 'FRONTEND', uuid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' }],
        frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
        backend: {
          pool: [
            { id: 1, mac: '00:00:00:00:00:01' },
            { id: 2, mac: '00:00:00:00:00:02' },
          ],
        },
        sessions: { capacity: 1000, timeouts: { tcp: 600, udp: 60, icmp: 30 }, record_non_syn: false },
      };
      writeFileSync(join(state.dir, 'config.json'), JSON.stringify({ version: 1, instances: [old] }), {
        mode: 0o600,
      });
      const app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
      try {
        const get = async (p: string) =>
          JSON.parse((await app.inject({ method: 'GET', url: `${BASE}${p}` })).body);
        const lb1 = await get('/lb1/');
        assert.deepEqual(lb1.backend, old.backend);
        assert.deepEqual(lb1.frontend, old.frontend);
        assert.equal(lb1.algorithm, 'HASH_SRC_IP');
        assert.equal(lb1.services, undefined);
        const services = await get('/lb1/services/');
        assert.deepEqual(services, [
          {
            name: 'default',
            vip: '10.0.0.100',
            mac: 'aa:bb:cc:dd:ee:ff',
            algorithm: 'HASH_SRC_IP',
            backend: old.backend,
          },
        ]);
        // a change keeps the file in the old shape where nothing new is used
        const r = await app.inject({
          method: 'POST',
          url: `${BASE}/lb1/backend/pool/3/`,
          payload: { mac: '00:00:00:00:00:03' },
        });
        assert.equal(r.statusCode, 201, r.body);
        const saved = JSON.parse(readFileSync(join(state.dir, 'config.json'), 'utf8')).instances[0];
        assert.deepEqual(saved.backend.pool[2], { id: 3, mac: '00:00:00:00:00:03' });
        assert.equal(saved.services, undefined);
      } finally {
        await app.close();
      }
    } finally {
      state.cleanup();
    }
  });
});
