// Health checks that test the DSR path, end to end in namespaces, for each plane type: a TCP check to
// the VIP addressed to each backend's MAC. A killed server is taken out within interval x fall (plus a
// probe's timeout and the re-plan) and no new connection fails after that; it comes back after `rise`
// good probes once restarted. A server whose VIP was removed from `lo` is detected, although its own
// address still answers. A backend given by IP only is resolved by ARP and reaches traffic. A backend
// that answers ARP for the VIP (arp_ignore off) is reported as ARP flux. /metrics follows health.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { must } from '../../testkit/exec.js';
import { reached } from '../../testkit/traffic.js';
import { Bed, noFailures, seriesValue, TYPES } from './backends-env.js';
import { skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };
/** interval 1 s, fall 2: a dead server is DOWN within ~2 s plus the probe's timeout. */
const CHECK = ['type=TCP', 'port=80', 'interval=1', 'timeout=0.5', 'rise=2', 'fall=2'];
const DETECT_MS = 1000 * 2 + 500 + 2000;

for (const type of TYPES) {
  describe(`health checks end to end, type=${type}`, { skip }, () => {
    let bed: Bed;

    before(async () => {
      bed = await Bed.up(type);
      await bed.ctl('lbdsr', 'lb1', 'backend', 'healthcheck', 'set', ...CHECK);
    }, T);

    after(async () => {
      await bed?.down();
    });

    it('every backend becomes UP after rise good probes, and serves', T, async () => {
      for (const id of [1, 2, 3]) await bed.waitEntry(id, 'UP', (e) => e.health === 'UP' && e.serving);
      for (const id of [1, 2, 3]) await bed.waitTable(id, true);
      const r = await bed.http(90);
      noFailures(r, 'all UP');
      assert.deepEqual(reached(r), ['b1', 'b2', 'b3']);
    });

    it(
      'a killed server is taken out within interval x fall, no new connection fails after, and comes back',
      T,
      async () => {
        bed.killServer('b2');
        const t0 = Date.now();
        const down = await bed.waitEntry(2, 'DOWN', (e) => e.health === 'DOWN', DETECT_MS + 5000);
        const took = Date.now() - t0;
        assert.ok(took <= DETECT_MS + 1000, `detected after ${took} ms`);
        assert.equal(down.serving, false);
        assert.ok(down.health_reason && down.health_since, JSON.stringify(down));
        await bed.waitTable(2, false);
        const r = await bed.http(90);
        noFailures(r, 'after detection');
        assert.deepEqual(reached(r), ['b1', 'b3']);
        const m = await bed.metrics();
        const b2 = 'lb="lb1",service="default",backend="2"';
        assert.equal(seriesValue(m, `lbdsr_backend_health{${b2},health="DOWN"}`), 1);
        assert.equal(seriesValue(m, `lbdsr_backend_up{${b2}}`), 0);
        assert.ok((seriesValue(m, `lbdsr_health_checks_total{${b2},result="failed"}`) ?? 0) >= 2, m);
        assert.ok((seriesValue(m, `lbdsr_health_checks_total{${b2},result="ok"}`) ?? 0) >= 2, m);
        const events = await bed.events();
        assert.ok(
          events.some((e) => e.type === 'health' && /backend 2 .* DOWN/.test(e.message)),
          JSON.stringify(events),
        );
        await bed.startServer('b2');
        await bed.waitEntry(2, 'UP again', (e) => e.health === 'UP' && e.serving);
        await bed.waitTable(2, true);
        const back = await bed.http(90);
        noFailures(back, 'after it came back');
        assert.ok(reached(back).includes('b2'), JSON.stringify(back.counts));
      },
    );

    it('a server whose VIP was removed from lo is DOWN while its own address still answers', T, async () => {
      const b3 = bed.backend(3);
      await must('ip', ['-n', b3.ns, 'addr', 'del', `${bed.topo.vip}/32`, 'dev', 'lo']);
      try {
        await bed.waitEntry(3, 'DOWN', (e) => e.health === 'DOWN', DETECT_MS + 5000);
        await bed.waitTable(3, false);
        const direct = await bed.http(3, { url: `http://${b3.ip}/` });
        noFailures(direct, "the server's own address");
        assert.deepEqual(reached(direct), ['b3']);
        const r = await bed.http(60);
        noFailures(r, 'without b3');
        assert.deepEqual(reached(r), ['b1', 'b2']);
      } finally {
        await must('ip', ['-n', b3.ns, 'addr', 'add', `${bed.topo.vip}/32`, 'dev', 'lo']);
      }
      await bed.waitEntry(3, 'UP again', (e) => e.health === 'UP');
      await bed.waitTable(3, true);
    });

    it('a backend given by IP only is resolved by ARP and reaches traffic', T, async () => {
      const b1 = bed.backend(1);
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'del', '1');
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'add', '1', `ip=${b1.ip}`);
      const e = await bed.waitEntry(1, 'resolved and UP', (x) => x.mac_source === 'ARP' && x.health === 'UP');
      await bed.waitTable(1, true);
      assert.equal(e.mac_in_use, b1.mac);
      assert.equal(e.mac, undefined, 'the configuration keeps no MAC');
      const r = await bed.http(90);
      noFailures(r, 'with b1 by IP');
      assert.ok(reached(r).includes('b1'), JSON.stringify(r.counts));
    });

    it('a backend that answers ARP for the VIP is reported as ARP flux', T, async () => {
      const b2 = bed.backend(2);
      await must('ip', ['netns', 'exec', b2.ns, 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=0']);
      await must('ip', ['netns', 'exec', b2.ns, 'sysctl', '-qw', 'net.ipv4.conf.eth0.arp_ignore=0']);
      try {
        await bed.waitEntry(2, 'arp_flux', (e) => e.arp_flux === true, 30_000);
        const events = await bed.events();
        assert.ok(
          events.some((e) => e.type === 'arp_flux' && e.message.includes('backend 2')),
          JSON.stringify(events),
        );
      } finally {
        await must('ip', ['netns', 'exec', b2.ns, 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
      }
    });
  });
}
