// IPv6 VIPs in the VIP announcements (src/daemon/runtime/announce.ts, announce-hooks.ts): an IPv6 VIP
// (a service's `vip` written as IPv6, or the `vip6` of a dual-stack service) is reachable or withdrawn
// by the same rule as an IPv4 one, shown in RFC 5952 form, sorted after the IPv4 VIPs, and published
// as `ADDR/128` (IPv4 stays `A.B.C.D/32`). Also where a backend's MAC came from: `ND` for one given by
// an IPv6 address (src/daemon/runtime/backends.ts).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import type { InstanceConfig } from '../../src/core/model.js';
import { newInstance } from '../../src/daemon/document.js';
import { type PlaneView, reachability, VipTracker } from '../../src/daemon/runtime/announce.js';
import { AnnounceHooks, announceText } from '../../src/daemon/runtime/announce-hooks.js';
import { macOf } from '../../src/daemon/runtime/backends.js';
import { ObservationStore } from '../../src/daemon/runtime/observations.js';
import { targetsOf } from '../../src/daemon/runtime/probing.js';
import { proberEvents } from '../../src/daemon/runtime/reports.js';
import { mustWaitFor } from '../../testkit/timing.js';

const V4 = '10.0.0.100';

function config(): InstanceConfig {
  return {
    ...newInstance('lb1'),
    frontend: { vip: V4, mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    services: [
      // written in upper case with zeros: shown as formatIpv6 does
      { name: 'web6', vip: 'FD00:0:0::0100', backend: { pool: [{ id: 1, mac: '02:00:00:00:01:01' }] } },
      {
        name: 'dual',
        vip: '10.0.0.7',
        vip6: 'fd00::7',
        backend: { pool: [{ id: 1, ip: 'fd00::21' }], healthcheck: { type: 'TCP', port: 80 } },
      },
    ],
  };
}

const plane = (v4: string[], v6: string[]): PlaneView => ({
  forwarding: true,
  vips: new Set(v4.map(parseIpv4)),
  vips6: new Set(v6),
});

describe('IPv6 VIP announcements', () => {
  it('lists IPv6 VIPs (normalized) after the IPv4 ones, each by the rule of its services', () => {
    const out = reachability(config(), plane([V4, '10.0.0.7'], ['fd00::100', 'fd00::7']), () => undefined);
    assert.deepEqual(
      out.map((v) => [v.vip, v.reachable, v.reason, v.services.map((s) => `${s.name}:${s.serving}`).join()]),
      [
        ['10.0.0.7', false, 'NO_SERVING_BACKEND', 'dual:0'],
        [V4, true, undefined, 'default:1'],
        ['fd00::7', false, 'NO_SERVING_BACKEND', 'dual:0'],
        ['fd00::100', true, undefined, 'web6:1'],
      ],
    );
  });

  it('a dual-stack service serves both of its VIPs once its backend is resolved by ND and UP', () => {
    const obs = (s: string) =>
      s === 'dual' ? { health: 'UP' as const, mac: '02:00:00:00:00:21' } : undefined;
    const out = reachability(config(), plane([V4, '10.0.0.7'], ['fd00::100', 'fd00::7']), obs);
    assert.deepEqual(
      out.filter((v) => v.reachable).map((v) => v.vip),
      ['10.0.0.7', V4, 'fd00::7', 'fd00::100'],
    );
  });

  it('an IPv6 VIP the plane does not hold is NO_PLANE, whatever its IPv4 twin', () => {
    const out = reachability(config(), plane([V4, '10.0.0.7'], ['fd00::7']), () => undefined);
    assert.equal(out.find((v) => v.vip === 'fd00::100')?.reason, 'NO_PLANE');
    const old = reachability(config(), { forwarding: true, vips: new Set([parseIpv4(V4)]) }, () => undefined);
    assert.equal(old.find((v) => v.vip === 'fd00::100')?.reason, 'NO_PLANE');
  });

  it('the reachable set sorts IPv4 first, then IPv6 by address', () => {
    const t = new VipTracker(() => 0);
    const up = (vip: string) => ({ vip, reachable: true, services: [] });
    t.update('lb1', [up('fd00::10'), up('10.0.0.2'), up('fd00::9')]);
    t.update('lb2', [up('2001:db8::1'), up('10.0.0.1')]);
    assert.deepEqual(t.reachable(), ['10.0.0.1', '10.0.0.2', '2001:db8::1', 'fd00::9', 'fd00::10']);
  });

  it('the announce file and LBDSR_VIPS say ADDR/128 for IPv6 and A.B.C.D/32 for IPv4', async (t) => {
    assert.equal(announceText(['10.0.0.1', 'fd00::100']), '10.0.0.1/32\nfd00::100/128\n');
    const dir = join(tmpdir(), `nd-vips-${process.pid}`);
    const file = join(dir, 'vips');
    const out = join(dir, 'env');
    const script = join(dir, 'hook.cjs');
    const { mkdirSync, rmSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      script,
      `require('node:fs').writeFileSync(${JSON.stringify(out)}, process.env.LBDSR_VIPS);`,
    );
    const hooks = new AnnounceHooks(
      { file, command: `${process.execPath} ${script}` },
      { failed: (m) => assert.fail(m), recovered: () => {} },
    );
    t.after(() => hooks.close());
    hooks.publish(['10.0.0.1', 'fd00::100']);
    await mustWaitFor('the command ran', () => existsSync(out));
    assert.equal(readFileSync(out, 'utf8'), '10.0.0.1/32 fd00::100/128');
    assert.equal(readFileSync(file, 'utf8'), '10.0.0.1/32\nfd00::100/128\n');
  });
});

describe('mac_source of a backend', () => {
  it('is ND for a MAC resolved for an IPv6 address, ARP for IPv4, CONFIG when given', () => {
    const seen = { health: 'UP' as const, mac: '02:00:00:00:00:21' };
    assert.deepEqual(macOf({ id: 1, ip: 'fd00::21' }, seen), { mac: seen.mac, source: 'ND' });
    assert.deepEqual(macOf({ id: 1, ip: '10.0.0.21' }, seen), { mac: seen.mac, source: 'ARP' });
    assert.deepEqual(macOf({ id: 1, ip: 'fd00::21' }, undefined), { source: 'NONE' });
    assert.deepEqual(macOf({ id: 1, ip: 'fd00::21', mac: '02:00:00:00:00:99' }, seen), {
      mac: '02:00:00:00:00:99',
      source: 'CONFIG',
    });
  });
});

describe('probe targets of IPv6 services', () => {
  it('an IPv6-only service is probed on its IPv6 VIP, a dual-stack one on its IPv4 VIP', () => {
    const targets = targetsOf(config());
    assert.deepEqual(
      targets.map((t) => [t.key, t.vip, t.ip]),
      [['dual/1', '10.0.0.7', 'fd00::21']],
    );
    const v6only = config();
    v6only.services![0]!.backend = { pool: [{ id: 2, ip: 'fd00::22' }], healthcheck: { type: 'ICMP' } };
    assert.deepEqual(
      targetsOf(v6only).map((t) => [t.key, t.vip, t.ip, t.check?.type]),
      [
        ['web6/2', 'FD00:0:0::0100', 'fd00::22', 'ICMP'],
        ['dual/1', '10.0.0.7', 'fd00::21', 'TCP'],
      ],
    );
  });
});

describe('the event log of a MAC found for an IPv6 backend', () => {
  it('says Neighbor Discovery resolved it (ARP for IPv4), and re-plans', () => {
    const events: string[] = [];
    let refreshed = 0;
    const c = config();
    c.backend.pool.push({ id: 2, ip: '10.0.0.22' });
    const ev = proberEvents('lb1', {
      observed: new ObservationStore(),
      config: () => c,
      event: (_i, e) => events.push(e.message),
      refresh: () => refreshed++,
      probe: () => {},
    });
    ev.mac('dual/1', '02:00:00:00:00:21', new Date());
    ev.mac('default/2', '02:00:00:00:00:22', new Date());
    ev.macSilent('dual/1', new Date(0));
    assert.deepEqual(events, [
      'backend 1 of service dual: Neighbor Discovery resolved its MAC to 02:00:00:00:00:21',
      'backend 2 of service default: ARP resolved its MAC to 02:00:00:00:00:22',
      'backend 1 of service dual: no Neighbor Discovery answer since 1970-01-01T00:00:00.000Z (its last MAC is kept)',
    ]);
    assert.equal(refreshed, 2);
  });
});
