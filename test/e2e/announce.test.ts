// Issue 9 item 2, end to end: lbdsrd in the balancer's namespace announces the VIP by gratuitous ARP.
// A client whose neighbour table holds the old frontend MAC for the VIP (learnt by ARP, then STALE as
// an idle entry becomes) moves to the new MAC within one second of the change, without sending
// anything; the same after `lbdsrctl lbdsr NAME frontend announce`, and when a restarted daemon's plane
// attaches. Run for USERSPACE and XDP_SKB.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { Daemon } from '../../testkit/daemon.js';
import { must, run } from '../../testkit/exec.js';
import { fdbSelf, ifStats, neighbourMac } from '../../testkit/netns.js';
import { mustWaitFor, waitFor } from '../../testkit/timing.js';
import { buildLab, type Lab } from '../xdp/netns.js';
import { skipReason } from './env.js';

const skip = skipReason();
const OLD = 'aa:bb:cc:dd:ee:0a';
const NEW = 'aa:bb:cc:dd:ee:0b';

/** Puts the old MAC back in the client's table as a STALE entry (as an idle learnt entry is). */
async function forget(lab: Lab): Promise<void> {
  await must('ip', [
    '-n',
    lab.client,
    'neigh',
    'replace',
    lab.vip,
    'lladdr',
    OLD,
    'dev',
    'eth0',
    'nud',
    'stale',
  ]);
  assert.equal(await neighbourMac(lab.client, lab.vip), OLD);
}

/** Milliseconds from `t0` until the client's entry for the VIP holds `mac` (fails after 3 s). */
async function movedTo(lab: Lab, mac: string, t0: number): Promise<number> {
  await mustWaitFor(
    `the client's entry for ${lab.vip} moves to ${mac}`,
    async () => (await neighbourMac(lab.client, lab.vip)) === mac,
    {
      timeoutMs: 3000,
      intervalMs: 10,
    },
  );
  return performance.now() - t0;
}

for (const type of ['USERSPACE', 'XDP_SKB']) {
  test(`${type}: gratuitous ARP moves a client to the new frontend MAC within a second, without it sending anything`, {
    skip,
    timeout: 120_000,
  }, async (t) => {
    const lab = await buildLab();
    const name = `an${process.pid}`;
    const d = new Daemon({ ns: lab.lb, logLevel: 'warn' });
    try {
      await d.start();
      const body = JSON.stringify({
        type,
        ports: [
          { name: 'fp', type: 'FRONTEND', peer: 'fe' },
          { name: 'bp', type: 'BACKEND', peer: 'be' },
        ],
        frontend: { vip: lab.vip, mac: OLD },
        backend: { pool: [{ id: 1, mac: lab.serverMac }] },
      });
      const r = await d.shell(`echo '${body}' | lbdsrctl lbdsr add ${name}`);
      assert.equal(r.code, 0, r.stderr);

      // The client learns OLD by ARP (the plane answers it), then the entry is left alone.
      await run('ip', ['netns', 'exec', lab.client, 'ping', '-c', '1', '-W', '1', lab.vip]);
      assert.ok(
        await waitFor(async () => (await neighbourMac(lab.client, lab.vip)) === OLD),
        'the client resolved the VIP to the old MAC',
      );
      const tx = (await ifStats(lab.client, 'eth0')).tx;

      // The frontend MAC changes (REST, from inside the namespace): the client follows at once.
      const t0 = performance.now();
      const patch = await d.shell(
        `curl -sf -X PATCH -H 'content-type: application/json' -d '{"mac":"${NEW}"}' http://${d.listen}/polycube/v1/lbdsr/${name}/frontend/`,
      );
      assert.equal(patch.code, 0, patch.stderr);
      const ms = await movedTo(lab, NEW, t0);
      t.diagnostic(`moved ${ms.toFixed(0)} ms after the PATCH was sent`);
      assert.ok(ms < 1000, `moved ${ms.toFixed(0)} ms after the request (goal: within a second)`);
      assert.equal((await ifStats(lab.client, 'eth0')).tx, tx, 'the client sent nothing');

      // On demand: the client forgot; `frontend announce` tells it again.
      await forget(lab);
      const t1 = performance.now();
      await d.mustCtl('lbdsr', name, 'frontend', 'announce', 'count=2');
      const ms1 = await movedTo(lab, NEW, t1);
      assert.ok(ms1 < 1500, `moved ${ms1.toFixed(0)} ms after lbdsrctl started`);
      const answer = await d.shell(
        `curl -sf -X POST -H 'content-type: application/json' -d '{}' http://${d.listen}/polycube/v1/lbdsr/${name}/frontend/announce/`,
      );
      assert.deepEqual(JSON.parse(answer.stdout), {
        vip: lab.vip,
        mac: NEW,
        interface: 'fe',
        count: 3,
        intervalMs: 1000,
      });
      const bad = await d.ctl('lbdsr', name, 'frontend', 'announce', 'count=11');
      assert.notEqual(bad.code, 0, 'count is bounded');

      // A restarted daemon's plane attaches and announces.
      assert.equal(await d.stop(), 0);
      await forget(lab);
      const t2 = performance.now();
      await d.start();
      const ms2 = await movedTo(lab, NEW, t2);
      assert.ok(ms2 < 15_000);
      assert.equal((await ifStats(lab.client, 'eth0')).tx, tx, 'the client still sent nothing');
      // The frontend MAC is on fe's unicast list (XDP: by rtnetlink, kept across the restart;
      // USERSPACE: its socket's membership), and leaves it with the instance.
      assert.ok((await fdbSelf(lab.lb, 'fe')).includes(NEW), 'the frontend MAC is on the unicast list');
      await d.mustCtl('lbdsr', 'del', name);
      assert.ok(
        await waitFor(async () => !(await fdbSelf(lab.lb, 'fe')).includes(NEW)),
        'removed from the unicast list with the instance',
      );
    } finally {
      await d.dispose();
      rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
      await lab.destroy();
    }
  });
}
