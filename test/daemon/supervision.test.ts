// The daemon supervises its data planes: a plane that reports FAILED is shown so (show and stats, with
// the reason and its restarts) and its failures reach the daemon's log; an uncaught exception ends the
// daemon (exit 70, logged) while the XDP plane keeps forwarding, and the next start adopts that plane.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PlaneType, StatsSnapshot } from '../../src/core/model.js';
import type { DataPlane, PlaneLog, PlaneStatus } from '../../src/dataplane/types.js';
import { UserspacePlane } from '../../src/dataplane/userspace/plane.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { XDP_FLAGS_SKB_MODE, xdpQueryId } from '../../src/kernel/libbpf.js';
import { Daemon } from '../../testkit/daemon.js';
import { sendUdp, UdpSink } from '../../testkit/udp.js';
import { xdpSkipReason } from '../xdp/env.js';
import { buildLab } from '../xdp/netns.js';
import { appWithPlanes, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

/** A plane whose worker "dies" on cue: it reports through the log it was given, as UserspacePlane does. */
class FailingPlane implements DataPlane {
  readonly kind: PlaneType = 'USERSPACE';
  log: PlaneLog = () => {};
  state: PlaneStatus = { status: 'RUNNING', restarts: 0 };
  async apply(): Promise<void> {}
  async stats(): Promise<StatsSnapshot> {
    // The counters of a plane without a worker: all zero.
    const s = await new UserspacePlane('x').stats();
    return { ...s, plane: { kind: this.kind, ...this.state, rxRingDrops: 3 } };
  }
  async sessions() {
    return [];
  }
  async close(): Promise<void> {}
  status(): PlaneStatus {
    return this.state;
  }
  setLog(log: PlaneLog): void {
    this.log = log;
  }
  die(reason: string): void {
    this.state = { status: 'FAILED', reason, restarts: this.state.restarts };
    this.log('error', `FAILED: ${reason}`);
  }
  restarted(): void {
    this.state = { status: 'RUNNING', restarts: this.state.restarts + 1 };
  }
}

describe('a supervised plane seen through the daemon', () => {
  test('FAILED with the reason in show and stats, the failure in the log, restarts counted', async () => {
    const state = tempDir('supervision');
    const plane = new FailingPlane();
    const app = await appWithPlanes(state.dir, async () => plane);
    const lines: string[] = [];
    // The daemon's logger (pino): its lines, as JSON.
    const stream = app.log as unknown as { error: (o: object, m?: string) => void };
    const error = stream.error.bind(app.log);
    stream.error = (o: object, m?: string) => {
      lines.push(JSON.stringify({ ...o, msg: m }));
      error(o, m);
    };
    try {
      const put = await app.inject({
        method: 'PUT',
        url: `${BASE}/lb1/`,
        payload: { ports: [{ name: 'f', type: 'FRONTEND', peer: 'fake0' }], frontend: { vip: '10.0.0.1' } },
      });
      assert.ok(put.statusCode < 300, put.body);
      const show = async () => JSON.parse((await app.inject({ url: `${BASE}/lb1/` })).body);
      const stats = async () => JSON.parse((await app.inject({ url: `${BASE}/lb1/stats/` })).body);
      assert.equal((await show()).planeStatus, 'RUNNING');
      plane.die('the worker exited (code 1)');
      const failed = await show();
      assert.equal(failed.plane, 'USERSPACE');
      assert.equal(failed.planeStatus, 'FAILED');
      assert.equal(failed.planeReason, 'the worker exited (code 1)');
      const st = await stats();
      assert.deepEqual(st.plane, {
        kind: 'USERSPACE',
        status: 'FAILED',
        reason: 'the worker exited (code 1)',
        restarts: 0,
        rxRingDrops: 3,
      });
      assert.ok(
        lines.some((l) => l.includes('"instance":"lb1"') && l.includes('FAILED: the worker exited')),
        `logged through the daemon's logger: ${lines.join('\n')}`,
      );
      plane.restarted();
      assert.equal((await show()).planeStatus, 'RUNNING');
      assert.equal((await show()).planeReason, undefined);
      assert.equal((await stats()).plane.restarts, 1);
    } finally {
      await app.close();
      state.cleanup();
    }
  });
});

const xdpSkip = xdpSkipReason();

describe('an uncaught exception in the daemon', { skip: xdpSkip, timeout: 120_000 }, () => {
  test('exits non-zero with the error logged; XDP keeps forwarding and the next start adopts it', async () => {
    const lab = await buildLab();
    const name = `sv${process.pid}`;
    const sink = new UdpSink(lab.server, lab.vip);
    process.env.LBDSR_TEST_HOOKS = '1';
    const d = new Daemon({ ns: lab.lb, logLevel: 'info' });
    try {
      await sink.start();
      await d.start();
      await d.mustCtl('lbdsr', 'add', name, 'type=XDP_SKB');
      await d.mustCtl('lbdsr', name, 'frontend', 'set', `vip=${lab.vip}`, 'mac=aa:bb:cc:dd:ee:01');
      await d.mustCtl('lbdsr', name, 'backend', 'pool', 'add', '7', `mac=${lab.serverMac}`);
      await d.mustCtl('lbdsr', name, 'ports', 'add', 'f', 'type=FRONTEND', 'peer=fe');
      await d.mustCtl('lbdsr', name, 'ports', 'add', 'b', 'type=BACKEND', 'peer=be');
      assert.equal((await d.showJson(name)).plane, 'XDP_SKB');
      const fe = lab.ports.frontend!.ifindex;
      const progId = inNetns(lab.lb, () => xdpQueryId(fe, XDP_FLAGS_SKB_MODE));
      assert.ok(progId > 0);
      await sendUdp(lab.client, lab.vip, 10);
      assert.equal(await sink.waitFor(10), 10, 'forwarded while the daemon runs');

      const code = await d.kill('SIGUSR2');
      assert.equal(code, 70, `exit status after the uncaught exception; log:\n${d.logTail()}`);
      assert.match(
        d.log(),
        /uncaught exception: exiting.*test hook: uncaught exception on SIGUSR2|test hook: uncaught exception on SIGUSR2.*uncaught exception: exiting/,
      );

      await sendUdp(lab.client, lab.vip, 10);
      assert.equal(await sink.waitFor(20), 20, 'forwarding continues without a daemon');

      await d.start();
      assert.equal((await d.showJson(name)).plane, 'XDP_SKB');
      assert.equal(
        inNetns(lab.lb, () => xdpQueryId(fe, 0)),
        progId,
        'adopted, not replaced',
      );
      const stats = JSON.parse(await d.mustCtl('lbdsr', name, 'stats', 'show', '-json'));
      assert.equal(
        stats.backends.find((b: { id: number }) => b.id === 7)?.packets,
        20,
        'counters carried over',
      );
      await d.mustCtl('lbdsr', 'del', name);
    } finally {
      delete process.env.LBDSR_TEST_HOOKS;
      await d.dispose();
      await sink.stop();
      await lab.destroy();
    }
  });
});
