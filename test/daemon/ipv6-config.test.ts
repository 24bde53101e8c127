// IPv6 in the REST API (issue 13; docs/api.md, "IPv6") through fastify's inject(): a VIP written as IPv6,
// the `vip6` of a dual-stack service and of the frontend, backends by IPv6 address; what GET shows (RFC
// 5952 text whatever the spelling given), what is saved and restored, what the data plane is handed
// (the plan's vip6 bytes), and every bad input refused with its code, changing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { formatIpv6 } from '../../src/core/addr.js';
import { appWithPlanes, RecordingPlane, restCaller, tempDir } from './helpers.js';

describe('lbdsrd REST API: IPv6 VIPs, dual-stack services, IPv6 backends', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  const made: RecordingPlane[] = [];
  const { call, ok, rejects, configFile } = restCaller(
    () => app,
    () => state.dir,
  );
  const start = () =>
    appWithPlanes(state.dir, async (kind) => {
      const p = new RecordingPlane(kind);
      made.push(p);
      return p;
    });
  const lastPlan = () => made.at(-1)!.applied.at(-1)!;

  before(async () => {
    state = tempDir('ipv6-config');
    app = await start();
    await ok('POST', '/lb1/', {
      ports: [
        { name: 'fp', type: 'FRONTEND', peer: 'fake0' },
        { name: 'bp', type: 'BACKEND', peer: 'fake1' },
      ],
      frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
      backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    });
  });
  after(async () => {
    await app?.close();
    state.cleanup();
  });

  test('an IPv6-only service: its VIP shown in RFC 5952 text, handed to the plane as vip6 bytes', async () => {
    await ok('POST', '/lb1/services/web6/', {
      vip: 'FD00:0000:0:0::0100',
      protocol: 'TCP',
      port: 80,
      backend: { pool: [{ id: 21, ip: 'fd00:0:0:0:0:0:0:21', mac: '02:00:00:00:00:21' }] },
    });
    const svc = await ok('GET', '/lb1/services/web6/');
    assert.equal(svc.vip, 'fd00::100');
    assert.equal(svc.vip6, undefined);
    assert.equal(svc.backend.pool[0].ip, 'fd00::21');
    assert.equal(await ok('GET', '/lb1/services/web6/vip/'), 'fd00::100');
    const saved = JSON.parse(configFile());
    const stored = saved.instances?.[0]?.services?.[0] ?? saved[0]?.services?.[0];
    assert.equal(stored?.vip, 'fd00::100', `config.json: ${configFile()}`);
    const entry = lastPlan().services.find((s) => s.name === 'web6');
    assert.ok(entry, 'the plane got the service');
    assert.equal(entry.vip, 0, 'no IPv4 VIP');
    assert.equal(formatIpv6(entry.vip6!), 'fd00::100');
  });

  test('a dual-stack service: vip (IPv4) and vip6, set, shown, unset', async () => {
    await ok('POST', '/lb1/services/dual/', {
      vip: '10.0.0.7',
      vip6: 'FD00::7',
      backend: { pool: [{ id: 7, mac: '02:00:00:00:00:07' }] },
    });
    let svc = await ok('GET', '/lb1/services/dual/');
    assert.equal(svc.vip, '10.0.0.7');
    assert.equal(svc.vip6, 'fd00::7');
    assert.equal(await ok('GET', '/lb1/services/dual/vip6/'), 'fd00::7');
    let entry = lastPlan().services.find((s) => s.name === 'dual')!;
    assert.equal(entry.vip, 0x0a000007);
    assert.equal(formatIpv6(entry.vip6!), 'fd00::7');
    await ok('PUT', '/lb1/services/dual/vip6/', JSON.stringify('fd00:0::8'));
    assert.equal((await ok('GET', '/lb1/services/dual/')).vip6, 'fd00::8');
    await ok('DELETE', '/lb1/services/dual/vip6/');
    svc = await ok('GET', '/lb1/services/dual/');
    assert.equal(svc.vip6, undefined);
    entry = lastPlan().services.find((s) => s.name === 'dual')!;
    assert.ok(!entry.vip6, 'the plane no longer has the IPv6 VIP');
  });

  test('the frontend: vip6 beside the IPv4 vip, seen as service default, announced by both', async () => {
    await ok('PATCH', '/lb1/frontend/', { vip6: 'fd00:0:0:0::1' });
    assert.deepEqual(await ok('GET', '/lb1/frontend/'), {
      vip: '10.0.0.100',
      vip6: 'fd00::1',
      mac: 'aa:bb:cc:dd:ee:ff',
    });
    const def = await ok('GET', '/lb1/services/default/');
    assert.equal(def.vip6, 'fd00::1');
    await ok('PATCH', '/lb1/services/default/', { vip6: 'fd00::2' });
    assert.equal(await ok('GET', '/lb1/frontend/vip6/'), 'fd00::2');
    const entry = lastPlan().services.find((s) => s.name === 'default')!;
    assert.equal(formatIpv6(entry.vip6!), 'fd00::2');
    // the frontend's VIP may itself be IPv6 (an IPv6-only default service)
    await ok('PUT', '/lb1/frontend/', { vip: 'fd00::3', mac: 'aa:bb:cc:dd:ee:ff' });
    assert.deepEqual(await ok('GET', '/lb1/frontend/'), { vip: 'fd00::3', mac: 'aa:bb:cc:dd:ee:ff' });
    await ok('PUT', '/lb1/frontend/', { vip: '10.0.0.100', vip6: 'fd00::2', mac: 'aa:bb:cc:dd:ee:ff' });
  });

  test('bad IPv6 text, non-unicast VIPs, misplaced vip6 and clashes are refused with their codes', async () => {
    // a new service x: [its fields, status, code, what the message names]
    const cases: Array<[object, number, string, RegExp?]> = [
      [{ vip: 'fd00::zz' }, 400, 'LBDSR_BAD_IPV6', /fd00::zz/],
      [{ vip: '1::2::3' }, 400, 'LBDSR_BAD_IPV6'],
      [{ vip: 'fd00::1%eth0' }, 400, 'LBDSR_BAD_IPV6'],
      [{ vip: 'fd00::/64' }, 400, 'LBDSR_BAD_IPV6'],
      ...['::', '::1', 'ff02::1', 'fe80::1', '::ffff:10.0.0.1'].map((vip): [object, number, string] => [
        { vip },
        400,
        'LBDSR_BAD_VIP',
      ]),
      [{ vip: '10.0.0.9', vip6: '10.0.0.8' }, 400, 'LBDSR_BAD_IPV6', /vip6/],
      [{ vip: '10.0.0.9', vip6: 'fd00::g' }, 400, 'LBDSR_BAD_IPV6'],
      [{ vip: '10.0.0.9', vip6: 'ff02::1' }, 400, 'LBDSR_BAD_VIP'],
      [{ vip: 'fd00::9', vip6: 'fd00::a' }, 400, 'LBDSR_BAD_VALUE', /dual-stack/],
      // the same (VIP, protocol, port) twice, whichever way the address is written
      [{ vip: 'fd00:0::100', protocol: 'TCP', port: 80 }, 409, 'LBDSR_EXISTS'],
      // a dual-stack service's vip6 is a VIP like any other: it clashes with the IPv6-only service
      [{ vip: '10.0.0.9', vip6: 'fd00::100', protocol: 'TCP', port: 80 }, 409, 'LBDSR_EXISTS'],
      [{ vip: 'fd00::100', protocol: 'UDP', mac: '02:00:00:00:00:99' }, 400, 'LBDSR_BAD_MAC'],
    ];
    for (const [fields, status, code, mentions] of cases) {
      await rejects('POST', '/lb1/services/x/', { backend: { pool: [] }, ...fields }, status, code, mentions);
    }
    await rejects(
      'PATCH',
      '/lb1/services/web6/',
      { vip6: 'fd00::a' },
      400,
      'LBDSR_BAD_VALUE',
      /IPv6 already/,
    );
    await rejects('PUT', '/lb1/frontend/', { vip6: 'fd00::a' }, 400, 'LBDSR_BAD_VALUE', /not set/);
  });

  test('backends by IPv6 address: normalised, and bad ones refused', async () => {
    await ok('POST', '/lb1/services/web6/backend/pool/22/', { ip: 'FD00::0022' });
    const b = await ok('GET', '/lb1/services/web6/backend/pool/22/');
    assert.equal(b.ip, 'fd00::22');
    await ok('POST', '/lb1/services/web6/backend/pool/23/', { ip: 'fe80::23' });
    for (const ip of ['fd00::zz', '::', '::1', 'ff02::1', '::ffff:10.0.0.1', 'fd00::1/128']) {
      await rejects('POST', '/lb1/services/web6/backend/pool/24/', { ip }, 400, 'LBDSR_BAD_IPV6');
    }
    await rejects('POST', '/lb1/services/web6/backend/pool/24/', { ip: '300.1.1.1' }, 400, 'LBDSR_BAD_IPV4');
    // probe_ip stays IPv4: it gives the probe MAC, whose link-local address probes IPv6
    await rejects('PUT', '/lb1/probe_ip/', JSON.stringify('fd00::99'), 400, 'LBDSR_BAD_IPV4');
  });

  test('explain takes IPv6 addresses (the plane decides; this one has no explain), refuses non-addresses', async () => {
    const flow = { src: 'fd00::11', dst: 'fd00::100', proto: 'TCP', sport: 4000, dport: 80 };
    const r = await call('POST', '/lb1/explain/', flow);
    assert.equal(r.body.code, 'LBDSR_NOT_AVAILABLE', JSON.stringify(r.body));
    const ns = await call('POST', '/lb1/explain/', { who_has: 'fd00::100' });
    assert.equal(ns.body.code, 'LBDSR_NOT_AVAILABLE', JSON.stringify(ns.body));
    const bad = await call('POST', '/lb1/explain/', { ...flow, src: 'fd00-11' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'LBDSR_BAD_VALUE');
  });

  test('sessions of IPv6 flows are listed as the plane gives them (ICMPV6 included)', async () => {
    const v6 = { src: 'fd00::11', dst: 'fd00::100', sport: 0, dport: 0, proto: 'ICMPV6' as const };
    made.at(-1)!.sessions = async () => [{ ...v6, backend: 21, idleMs: 7 }];
    const r = await ok('GET', '/lb1/sessions/');
    assert.deepEqual(r.entries, [{ ...v6, backend: 21, idleMs: 7 }]);
  });

  test('IPv6 addresses survive a restart as they were shown', async () => {
    const before = await ok('GET', '/lb1/');
    await app.close();
    app = await start();
    const afterRestart = await ok('GET', '/lb1/');
    assert.deepEqual(afterRestart.services, before.services);
    assert.equal(afterRestart.frontend.vip6, 'fd00::2');
    assert.equal(afterRestart.services.find((s: { name: string }) => s.name === 'web6').vip, 'fd00::100');
  });
});
