// The rule of docs/api.md "VIP announcements" on its own (src/daemon/runtime/announce.ts): which VIPs
// of an instance are reachable, the reason of each one withdrawn (NO_PLANE before STANDBY before
// NO_SERVING_BACKEND), serving backends counted per service as `pool show` counts them, and `since`
// kept while the verdict stays. The daemon around it is in vips.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import type { InstanceConfig } from '../../src/core/model.js';
import { newInstance } from '../../src/daemon/document.js';
import { type PlaneView, reachability, VipTracker } from '../../src/daemon/runtime/announce.js';
import type { Observed } from '../../src/daemon/runtime/observations.js';

const VIP = '10.0.0.100';

function config(extra: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    ...newInstance('lb1'),
    frontend: { vip: VIP, mac: 'aa:bb:cc:dd:ee:ff' },
    backend: {
      pool: [
        { id: 1, mac: '02:00:00:00:00:01' },
        { id: 2, ip: '10.0.0.22' },
        { id: 3, mac: '02:00:00:00:00:03', state: 'DRAINING' },
        { id: 4, mac: '02:00:00:00:00:04', weight: 0 },
      ],
      healthcheck: { type: 'TCP', port: 80 },
    },
    ...extra,
  };
}

const forwarding = (...vips: string[]): PlaneView => ({
  forwarding: true,
  vips: new Set(vips.map(parseIpv4)),
});
const none = () => undefined;

describe('VIP reachability', () => {
  it('counts serving backends as pool show does: MAC known, ACTIVE, weight > 0, not DOWN', () => {
    const obs = new Map<string, Observed>([
      ['default/1', { health: 'UNKNOWN' }],
      ['default/2', { health: 'UP', mac: '02:00:00:00:00:02' }],
    ]);
    const [v] = reachability(config(), forwarding(VIP), (s, id) => obs.get(`${s}/${id}`));
    assert.deepEqual(v, { vip: VIP, reachable: true, services: [{ name: 'default', serving: 2 }] });
    obs.set('default/1', { health: 'DOWN' });
    obs.set('default/2', { health: 'DOWN', mac: '02:00:00:00:00:02' });
    const [w] = reachability(config(), forwarding(VIP), (s, id) => obs.get(`${s}/${id}`));
    assert.deepEqual(w, {
      vip: VIP,
      reachable: false,
      reason: 'NO_SERVING_BACKEND',
      services: [{ name: 'default', serving: 0 }],
    });
  });

  it('standby withdraws with STANDBY although everything serves; no plane says NO_PLANE first', () => {
    const [s] = reachability(config({ standby: true }), forwarding(VIP), none);
    assert.equal(s?.reachable, false);
    assert.equal(s?.reason, 'STANDBY');
    assert.equal(
      reachability(config({ standby: true }), { forwarding: false, vips: new Set() }, none)[0]?.reason,
      'NO_PLANE',
    );
    assert.equal(reachability(config({ standby: false }), forwarding(VIP), none)[0]?.reachable, true);
  });

  it('a VIP that the plane holds no service of (ROUTED without the interface MAC, say) is NO_PLANE', () => {
    const [v] = reachability(config({ mode: 'ROUTED' }), forwarding(), none);
    assert.equal(v?.reason, 'NO_PLANE');
  });

  it('groups services by VIP, in address order; one serving service keeps its VIP', () => {
    const c = config({
      services: [
        {
          name: 'web',
          vip: VIP,
          protocol: 'TCP',
          port: 80,
          backend: { pool: [{ id: 1, mac: '02:00:00:00:01:01' }] },
        },
        { name: 'low', vip: '9.9.9.9', backend: { pool: [] } },
        { name: 'high', vip: '200.0.0.1', backend: { pool: [{ id: 1, mac: '02:00:00:00:02:01' }] } },
      ],
    });
    const obs = (s: string) => (s === 'default' ? ({ health: 'DOWN' } as Observed) : undefined);
    const out = reachability(c, forwarding(VIP, '9.9.9.9', '200.0.0.1'), obs);
    assert.deepEqual(
      out.map((v) => [
        v.vip,
        v.reachable,
        v.reason,
        v.services.map((s) => `${s.name}:${s.serving}`).join(' '),
      ]),
      [
        ['9.9.9.9', false, 'NO_SERVING_BACKEND', 'low:0'],
        [VIP, true, undefined, 'default:0 web:1'],
        ['200.0.0.1', true, undefined, 'high:1'],
      ],
    );
  });

  it('since moves only when the verdict changes; the reachable set is the union, sorted, once each', () => {
    let now = Date.parse('2026-11-30T00:00:00Z');
    const t = new VipTracker(() => now);
    const up = { vip: VIP, reachable: true, services: [] };
    assert.equal(t.update('lb1', [up]).length, 1);
    now += 5000;
    assert.deepEqual(t.update('lb1', [{ ...up, services: [{ name: 'default', serving: 3 }] }]), []);
    assert.equal(t.list('lb1')[0]?.since, '2026-11-30T00:00:00.000Z');
    const changes = t.update('lb1', [{ vip: VIP, reachable: false, reason: 'STANDBY', services: [] }]);
    assert.equal(changes[0]?.before?.reachable, true);
    assert.equal(t.list('lb1')[0]?.since, '2026-11-30T00:00:05.000Z');
    t.update('lb2', [up, { vip: '10.0.0.20', reachable: true, services: [] }]);
    t.update('lb3', [up]);
    assert.deepEqual(t.reachable(), ['10.0.0.20', VIP]);
    t.forget('lb2');
    assert.deepEqual(t.reachable(), [VIP]);
  });
});
