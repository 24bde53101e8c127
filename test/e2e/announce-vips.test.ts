// VIP announcements end to end (issue 12, "Health drives announcements"; docs/api.md, "VIP
// announcements"), in namespaces with a real plane, a real health prober and a real lbdsrd run with
// --announce-file and --announce-command: the server of the VIP's only backend killed -> the file loses
// the VIP (and the command runs with it gone) within the health check's detection time; the server back
// -> the VIP returns. SIGTERM withdraws everything before the daemon exits; kill -9 leaves the file as
// it was (the XDP plane keeps forwarding without its daemon). Standby withdraws; back to active, the VIP
// is announced and gratuitous ARP moves a client's neighbour entry within a second. And gratuitous ARP
// follows CFG_NO_ARP in the plane's announcer itself: none while standby, every VIP at once when the
// instance becomes active. Run for each type of LBDSR_E2E_TYPES.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { ServiceAnnouncer } from '../../src/dataplane/announce.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { ControlState } from '../../src/pipeline/control.js';
import { must } from '../../testkit/exec.js';
import { ifStats, neighbourMac } from '../../testkit/netns.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { tempDir } from '../daemon/helpers.js';
import { buildLab, labConfig } from '../xdp/netns.js';
import { Bed, TYPES } from './backends-env.js';
import { skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 180_000 };
/** interval 1 s, fall 2: a dead server is DOWN within ~2 s plus the probe's timeout. */
const CHECK = ['type=TCP', 'port=80', 'interval=1', 'timeout=0.5', 'rise=2', 'fall=2'];
const DETECT_MS = 1000 * 2 + 500 + 2000;
const OTHER_MAC = '02:00:00:00:00:aa';

/** Makes `ns`'s eth0 hold OTHER_MAC for `ip`, STALE (as after a failover away from this node). */
function staleNeighbour(ns: string, ip: string): Promise<string> {
  return must('ip', ['-n', ns, 'neigh', 'replace', ip, 'lladdr', OTHER_MAC, 'dev', 'eth0', 'nud', 'stale']);
}

interface Vip {
  vip: string;
  reachable: boolean;
  reason?: string;
  services: { name: string; serving: number }[];
}

for (const type of TYPES) {
  describe(`VIP announcements follow health, type=${type}`, { skip }, () => {
    let bed: Bed;
    let tmp: ReturnType<typeof tempDir>;
    let file: string;
    let log: string;
    let vipLine: string;

    before(async () => {
      tmp = tempDir('announce-e2e');
      file = join(tmp.dir, 'vips');
      log = join(tmp.dir, 'hook.log');
      const hook = join(tmp.dir, 'hook.cjs');
      writeFileSync(
        hook,
        `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.env.LBDSR_VIPS) + '\\n');\n`,
      );
      bed = await Bed.up(type, [
        '--announce-file',
        file,
        '--announce-command',
        `${process.execPath} ${hook}`,
      ]);
      vipLine = `${bed.topo.vip}/32\n`;
      // the VIP's only backend is b1
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'del', '2');
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'del', '3');
      await bed.ctl('lbdsr', 'lb1', 'backend', 'healthcheck', 'set', ...CHECK);
    }, T);

    after(async () => {
      await bed?.down();
      tmp?.cleanup();
    });

    const text = () => (existsSync(file) ? readFileSync(file, 'utf8') : '(absent)');
    const lastRun = () => readFileSync(log, 'utf8').trim().split('\n').at(-1);
    const vips = async (): Promise<Vip[]> =>
      JSON.parse(await bed.ctl('lbdsr', 'lb1', 'vips', 'show', '-json'));
    const waitText = (want: string, what: string, timeoutMs = 10_000) =>
      mustWaitFor(
        `${what}: the file holds ${JSON.stringify(want)} (has ${JSON.stringify(text())})\n${bed.d.logTail(10)}`,
        () => text() === want,
        {
          timeoutMs,
          intervalMs: 50,
        },
      );

    it('the VIP is announced while its backend serves', T, async () => {
      await bed.waitEntry(1, 'UP', (e) => e.health === 'UP' && e.serving);
      await waitText(vipLine, 'announced');
      await mustWaitFor('the command ran with the VIP', () => lastRun() === JSON.stringify(vipLine.trim()));
      const [v] = await vips();
      assert.deepEqual(
        { vip: v?.vip, reachable: v?.reachable, services: v?.services },
        { vip: bed.topo.vip, reachable: true, services: [{ name: 'default', serving: 1 }] },
      );
    });

    it('its server killed: withdrawn within the detection time; back: announced again', T, async (t) => {
      bed.killServer('b1');
      const t0 = Date.now();
      await waitText('', 'withdrawn', DETECT_MS + 5000);
      const took = Date.now() - t0;
      t.diagnostic(`withdrawn ${took} ms after the server was killed (check: interval 1 s, fall 2)`);
      assert.ok(took <= DETECT_MS + 1000, `withdrawn after ${took} ms`);
      await mustWaitFor('the command ran with no VIP', () => lastRun() === '""');
      const [v] = await vips();
      assert.equal(v?.reachable, false);
      assert.equal(v?.reason, 'NO_SERVING_BACKEND');
      const events = await bed.events();
      assert.ok(
        events.some((e) => e.origin === 'announce' && e.message.includes('withdrawn: NO_SERVING_BACKEND')),
        JSON.stringify(events),
      );
      await bed.startServer('b1');
      await waitText(vipLine, 'announced again', 20_000);
      await mustWaitFor('the command ran with the VIP', () => lastRun() === JSON.stringify(vipLine.trim()));
    });

    it(
      'standby withdraws; back to active announces the VIP and moves a client to this node within a second',
      T,
      async (t) => {
        await bed.ctl('lbdsr', 'lb1', 'set', 'standby=true');
        await waitText('', 'standby: withdrawn');
        assert.equal((await vips())[0]?.reason, 'STANDBY');
        const c1 = bed.topo.clients[0];
        assert.ok(c1);
        await staleNeighbour(c1.ns, bed.topo.vip);
        const t0 = performance.now();
        await bed.ctl('lbdsr', 'lb1', 'set', 'standby=false');
        await mustWaitFor(
          `c1's entry for the VIP moves to ${bed.topo.frontendMac}`,
          async () => (await neighbourMac(c1.ns, bed.topo.vip)) === bed.topo.frontendMac,
          { timeoutMs: 3000, intervalMs: 10 },
        );
        const ms = performance.now() - t0;
        t.diagnostic(`c1 moved ${ms.toFixed(0)} ms after lbdsrctl set standby=false started`);
        assert.ok(ms < 1500, `moved ${ms.toFixed(0)} ms after lbdsrctl started`);
        await waitText(vipLine, 'active: announced');
      },
    );

    it(
      'SIGTERM withdraws before the daemon exits; a restart announces again; kill -9 leaves the file',
      T,
      async () => {
        assert.equal(await bed.d.stop(), 0);
        assert.equal(text(), '', 'withdrawn by the graceful stop');
        assert.equal(lastRun(), '""', 'the command ran with no VIP before the daemon exited');
        await bed.d.start();
        await waitText(vipLine, 'announced after the restart', 20_000);
        await bed.d.kill9();
        assert.equal(text(), vipLine, 'kill -9: the file stays as it was');
        await bed.d.start();
      },
    );
  });
}

test('gratuitous ARP follows CFG_NO_ARP: none while standby, every VIP at once on becoming active', {
  skip,
  timeout: 60_000,
}, async () => {
  const lab = await buildLab();
  const announcer = new ServiceAnnouncer();
  try {
    const config = labConfig(lab, 'garp', [{ id: 1, mac: lab.serverMac }]);
    const mac = config.frontend.mac ?? '';
    const state = new ControlState();
    const take = (standby: boolean) => {
      const plan = state.plan({ ...config, standby }, lab.ports.backend?.mac);
      state.commit(plan);
      announcer.track(plan);
      const list = inNetns(lab.lb, () => announcer.prepare('fe'));
      announcer.start(list);
      return list.length;
    };
    // the client holds another MAC for the VIP
    await staleNeighbour(lab.client, lab.vip);
    const tx = (await ifStats(lab.lb, 'fe')).tx;
    assert.equal(take(true), 0, 'standby: nothing announced');
    assert.equal((await ifStats(lab.lb, 'fe')).tx, tx, 'no frame left fe');
    assert.equal(await neighbourMac(lab.client, lab.vip), OTHER_MAC);
    const t0 = performance.now();
    assert.equal(take(false), 1, 'active: the VIP is announced');
    await mustWaitFor(
      `the client's entry for ${lab.vip} moves to ${mac}`,
      async () => (await neighbourMac(lab.client, lab.vip)) === mac,
      {
        timeoutMs: 3000,
        intervalMs: 10,
      },
    );
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `moved ${ms.toFixed(0)} ms after becoming active`);
    assert.equal(take(true), 0, 'standby again: nothing announced');
    assert.equal(take(false), 1, 'active again: announced again');
  } finally {
    announcer.cancel();
    await lab.destroy();
  }
});
