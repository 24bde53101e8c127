// Issue 12, tests 1 ("ECMP scale-out") and 3 ("Health drives announcements"), in namespaces: a router
// spreads a client's flows over N balancer nodes by ECMP (L4 hash); each node runs lbdsrd (mode ROUTED,
// one-arm, host_pass: its BGP session shares the NIC with the plane) and BIRD, which announces the VIP
// only while lbdsrd says it is reachable (--announce-command, testkit/bgp.ts); three DSR servers answer
// through the router. testkit/fabric.ts draws the topology, docs/scale-out.md explains it.
// Phases of test 1: all three nodes; node 2 stopped (SIGTERM: withdrawn); node 2 back; a fourth node;
// lbdsrd killed -9 on node 1 (nothing withdrawn, XDP keeps forwarding); node 1's daemon restarted.
//
// One plane type is enough here: what is tested is the routing around the nodes (announcements,
// withdrawals, a flow moved to another node reaching the same server), which the planes share through
// the daemon and the pipeline's semantics (the modes are tested per plane in test/e2e/modes.test.ts).
// XDP_SKB is that type: like a production node, its program stays attached when the daemon stops
// gracefully (docs/xdp.md), runs on veth without native-XDP preparation, and forwards at a rate that
// leaves the 2 cores to the 200 connections, the router and BIRD.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CHECK, Fabric, nodeIp, VIP } from '../../testkit/fabric.js';
import {
  type EchoServers,
  formatReport,
  LongLived,
  type LongLivedReport,
  startEchoServers,
} from '../../testkit/longlived.js';
import { skipFor } from '../../testkit/root.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { skipReason } from './env.js';

/** Without BIRD the test skips saying why (and fails under CI=true, like a missing privilege). */
const birdMissing = () =>
  skipFor(spawnSync('bird', ['--version']).status === 0 ? undefined : 'the ECMP test needs bird2 (BIRD 2)');
const skip = skipReason() ?? birdMissing();
const TYPE = 'XDP_SKB';
const T = { timeout: 300_000 };
/** Long-lived connections (each sends a line every 100 ms) and new connections per second. */
const CONNECTIONS = 200;
const NEW_PER_SECOND = 20;
/** A node becomes a next hop after start: plane attached, rise x interval of the health check, BGP. */
const JOIN_MS = 30_000;
/** A node that loses its VIP leaves the route within fall x interval + timeout + 1 s, with margin. */
const LEAVE_MS = 10_000;

/**
 * Waits until the router's route to the VIP has exactly the next hops of `nodes`; returns how long
 * that took.
 */
async function hopsAre(f: Fabric, nodes: number[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const want = nodes.map(nodeIp).sort();
  let last: string[] = [];
  await mustWaitFor(
    `router next hops for ${VIP}: want ${JSON.stringify(want)}`,
    async () => {
      last = await f.nextHops();
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { timeoutMs, intervalMs: 50 },
  ).catch((e: Error) => {
    e.message += ` (last ${JSON.stringify(last)})`;
    throw e;
  });
  return Date.now() - t0;
}

/** At most 1% of the long-lived connections failed in each phase, and no new connection failed. */
function survivedEachPhase(r: LongLivedReport): void {
  const text = formatReport(r);
  assert.equal(r.connections, CONNECTIONS, text);
  for (const p of r.phases) {
    assert.ok(p.failures <= CONNECTIONS * 0.01, `phase ${p.label}: ${p.failures} lost\n${text}`);
    assert.equal(p.newFailed, 0, `phase ${p.label}: new connections failed\n${text}`);
    assert.ok(p.newSucceeded > 0, `phase ${p.label}: no new connection\n${text}`);
  }
}

describe(`ECMP scale-out behind a BGP router, type=${TYPE}`, { skip }, () => {
  let f: Fabric;
  let echo: EchoServers | undefined;
  let ll: LongLived | undefined;

  before(async () => {
    f = await Fabric.build({ nodes: 3 });
    echo = await startEchoServers(f.servers);
    for (const i of [1, 2, 3]) {
      await f.startDaemon(i);
      await f.configure(i, TYPE);
    }
    await hopsAre(f, [1, 2, 3], JOIN_MS);
  }, T);

  after(async () => {
    ll?.kill();
    echo?.stop();
    await f?.teardown();
  });

  it(
    `${CONNECTIONS} long-lived connections survive a node stopped, brought back, a fourth added and a daemon killed -9`,
    T,
    async (t) => {
      ll = await LongLived.start({
        ns: f.client.ns,
        hosts: [VIP],
        connections: CONNECTIONS,
        newPerSecond: NEW_PER_SECOND,
      });
      await ll.flowing(5);
      const before = await Promise.all([1, 2, 3].map((i) => f.balanced(i)));

      ll.mark('stop node 2');
      const d2 = f.node(2).daemon;
      assert.ok(d2);
      const stopAt = Date.now();
      assert.equal(await d2.stop(), 0, d2.logTail());
      await hopsAre(f, [1, 3], LEAVE_MS);
      t.diagnostic(`node 2 left the route ${Date.now() - stopAt} ms after SIGTERM`);
      await ll.flowing(10);

      ll.mark('node 2 back');
      await f.startDaemon(2);
      t.diagnostic(
        `node 2 back in the route ${await hopsAre(f, [1, 2, 3], JOIN_MS)} ms after its daemon answered`,
      );
      await ll.flowing(10);

      ll.mark('add node 4');
      await f.addNode(4);
      await f.startDaemon(4);
      await f.configure(4, TYPE);
      t.diagnostic(
        `node 4 in the route ${await hopsAre(f, [1, 2, 3, 4], JOIN_MS)} ms after it was configured`,
      );
      const n4 = await f.balanced(4);
      await ll.flowing(10);
      // every node carried traffic: ECMP spread the flows (node 4 too, once it joined)
      const after = await Promise.all([1, 2, 3].map((i) => f.balanced(i)));
      for (const [k, b] of before.entries())
        assert.ok((after[k] ?? 0) > b, `node ${k + 1}: ${b} -> ${after[k]}`);
      assert.ok((await f.balanced(4)) > n4, 'node 4 balanced nothing after it joined');

      // kill -9: no withdrawal (the route keeps its 4 next hops) and the XDP program keeps forwarding;
      // the restarted daemon adopts it (docs/scale-out.md, "kill -9")
      ll.mark('kill -9 node 1');
      const d1 = f.node(1).daemon;
      assert.ok(d1);
      await d1.kill9();
      await ll.flowing(10);
      await hopsAre(f, [1, 2, 3, 4], 0);
      ll.mark('node 1 restarted');
      await d1.start();
      await ll.flowing(10);
      await hopsAre(f, [1, 2, 3, 4], 0);
      const report = await ll.stop();
      ll = undefined;
      for (const l of formatReport(report).split('\n')) t.diagnostic(l);
      survivedEachPhase(report);
      // the flows moved by ECMP stayed on their servers: every server kept connections
      assert.equal(Object.keys(report.byServer).sort().join(','), 's1,s2,s3', formatReport(report));
    },
  );

  it(
    'all backends DOWN on one node only: that node withdraws, traffic flows through the others',
    T,
    async (t) => {
      await f.configure(1, TYPE, { ...DEFAULT_CHECK, port: 9999 }); // nothing listens there
      const took = await hopsAre(f, [2, 3, 4], LEAVE_MS);
      t.diagnostic(`node 1 left the route ${took} ms after its health check was changed`);
      const d1 = f.node(1).daemon;
      assert.ok(d1);
      const vips = JSON.parse(await d1.mustCtl('lbdsr', 'lb1', 'vips', 'show', '-json')) as {
        vip: string;
        reachable: boolean;
        reason?: string;
      }[];
      assert.deepEqual(
        vips.map(({ vip, reachable, reason }) => ({ vip, reachable, reason })),
        [{ vip: VIP, reachable: false, reason: 'NO_SERVING_BACKEND' }],
      );
      const pool = JSON.parse(await d1.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'show', '-json')) as {
        health?: string;
      }[];
      assert.deepEqual(
        pool.map((b) => b.health),
        ['DOWN', 'DOWN', 'DOWN'],
      );
      const n1 = await f.balanced(1);
      ll = await LongLived.start({
        ns: f.client.ns,
        hosts: [VIP],
        connections: 50,
        newPerSecond: NEW_PER_SECOND,
      });
      await ll.flowing(10);
      const report = await ll.stop();
      ll = undefined;
      for (const l of formatReport(report).split('\n')) t.diagnostic(l);
      assert.equal(report.survived, 50, formatReport(report));
      assert.equal(report.newFailed, 0, formatReport(report));
      assert.ok(report.newSucceeded > 0, formatReport(report));
      assert.equal(await f.balanced(1), n1, 'the withdrawn node still balanced frames');

      await f.configure(1, TYPE); // the check back on the echo port: UP, reachable, announced again
      await hopsAre(f, [1, 2, 3, 4], JOIN_MS);
    },
  );
});
