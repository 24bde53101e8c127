// The frontend modes end to end (docs/semantics.md, "Frontend modes"), for each data-plane type in
// LBDSR_E2E_TYPES (default "USERSPACE,XDP_SKB"): real clients and servers in namespaces (testkit/bridge.ts,
// with a router in front: testkit/routed.ts), lbdsrd in the balancer's namespace driven by lbdsrctl.
// - standby: the VIP's ARP is not answered, frames that still come to its MAC are balanced, and
//   `set standby=false` answers again;
// - ROUTED with host_pass: a router sends the VIP to the balancer host's own address on the NIC it
//   shares with the balancer; HTTP, UDP and ping through the VIP (DSR replies through the router), and
//   the host itself answers ping and TCP on its own address over that NIC;
// - one-arm L2: FRONTEND and BACKEND on one interface; HTTP, UDP and ping through the VIP.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { Daemon } from '../../testkit/daemon.js';
import { must } from '../../testkit/exec.js';
import { macOf } from '../../testkit/netns.js';
import { addRouter, arping, BALANCER_IP, type Router } from '../../testkit/routed.js';
import {
  client,
  ping,
  reached,
  type Servers,
  serveIn,
  startServers,
  UDP_PORT,
} from '../../testkit/traffic.js';
import { E2E_TYPES, lb1Ctl, noFailures, skipReason, withDaemonLog } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };

for (const type of E2E_TYPES) {
  describe(`frontend modes end to end, type=${type}`, { skip }, () => {
    let topo: Topology | undefined;
    let router: Router | undefined;
    let servers: Servers | undefined;
    let host: ChildProcess | undefined;
    let d: Daemon | undefined;
    const c1 = () => topo!.clients[0]!;
    const ctl = (line: string) => lb1Ctl(d!, line);
    const withLog = (fn: () => Promise<void>) => withDaemonLog(d, fn);
    /** HTTP, UDP and ping through the VIP from `ns`: every request answered, by all three servers. */
    const throughVip = async (ns: string) => {
      const vip = topo!.vip;
      const opts = { 'timeout-ms': 3000, 'deadline-ms': 60_000 };
      const [web, udp] = await Promise.all([
        client(ns, 'http', { url: `http://${vip}/`, count: 60, concurrency: 6, ...opts }),
        client(ns, 'udp-many', { host: vip, port: UDP_PORT, count: 60, ...opts }),
      ]);
      noFailures(web, udp);
      assert.deepEqual(reached(web), ['b1', 'b2', 'b3'], JSON.stringify(web.counts));
      assert.deepEqual(reached(udp), ['b1', 'b2', 'b3'], JSON.stringify(udp.counts));
      const p = await ping(ns, vip, 5);
      assert.equal(p.received, p.sent, `ping ${vip} from ${ns}: ${JSON.stringify(p)}`);
    };

    before(async () => {
      topo = await buildTopology();
      servers = await startServers(topo);
      router = await addRouter(topo);
      host = await serveIn(topo.lbNs, 'lbhost', { httpPort: 8081, udpIp: BALANCER_IP, udpPort: 7009 });
      d = new Daemon({ ns: topo.lbNs });
      await d.start();
      await d.mustCtl('lbdsr', 'add', 'lb1', `type=${type}`);
      await ctl(`ports add fp type=FRONTEND peer=${topo.frontendIf}`);
      await ctl(`ports add bp type=BACKEND peer=${topo.backendIf}`);
      await ctl(`frontend set mac=${topo.frontendMac} vip=${topo.vip}`);
      for (const b of topo.backends) await ctl(`backend pool add ${b.id} mac=${b.mac}`);
      assert.equal(JSON.parse(await ctl('show -json')).plane, type);
    }, T);

    after(async () => {
      if (host?.exitCode === null) host.kill('SIGKILL');
      servers?.stop();
      await d?.dispose().catch(() => {});
      if (topo) await teardown(topo);
    }, T);

    it('standby: no ARP reply for the VIP, frames to its MAC still balanced; active again answers', T, () =>
      withLog(async () => {
        const c = c1();
        const ask = () => arping(c.ns, 'eth0', { mac: c.mac, ip: c.ip }, topo!.vip);
        assert.deepEqual(await ask(), [topo!.frontendMac], 'active: the VIP answered at its MAC');
        await ctl('set standby=true');
        assert.deepEqual(await ask(), [], 'standby: no ARP reply');
        // a client that still holds the MAC (learnt before a failover) is served
        await must('ip', [
          '-n',
          c.ns,
          'neigh',
          'replace',
          topo!.vip,
          'lladdr',
          topo!.frontendMac,
          'dev',
          'eth0',
        ]);
        await throughVip(c.ns);
        await ctl('set standby=false');
        assert.deepEqual(await ask(), [topo!.frontendMac], 'active again');
        await must('ip', ['-n', c.ns, 'neigh', 'del', topo!.vip, 'dev', 'eth0']);
      }),
    );

    it(
      'ROUTED with host_pass: the VIP through a router to the host address; the host keeps its own traffic',
      T,
      () =>
        withLog(async () => {
          await ctl('set mode=ROUTED');
          try {
            const drops = async () => JSON.parse(await ctl('stats show -json')).drops;
            const before = await drops();
            const show = JSON.parse(await ctl('show -json'));
            assert.deepEqual(
              [show.mode, show.host_pass],
              ['ROUTED', undefined],
              'host_pass: the default, true',
            );
            const fc = router!.farClient;
            // the VIP is not answered by ARP on the segment: the router reaches it through the host address
            const c = c1();
            assert.deepEqual(await arping(c.ns, 'eth0', { mac: c.mac, ip: c.ip }, topo!.vip), []);
            await throughVip(fc);
            // the router's next hop for the VIP is the FRONTEND interface's own MAC
            const lbfe = await macOf(topo!.lbNs, topo!.frontendIf);
            const neigh = await must('ip', ['-n', router!.ns, '-j', 'neigh', 'show', BALANCER_IP]);
            assert.equal((JSON.parse(neigh) as { lladdr?: string }[])[0]?.lladdr, lbfe);
            // the balancer host on the same NIC: its ARP, ping and a TCP connection to its own address
            const p = await ping(fc, BALANCER_IP, 5);
            assert.equal(p.received, p.sent, `ping ${BALANCER_IP}: ${JSON.stringify(p)}`);
            const own = await client(fc, 'http', {
              url: `http://${BALANCER_IP}:8081/`,
              count: 10,
              'timeout-ms': 3000,
              'deadline-ms': 30_000,
            });
            noFailures(own);
            assert.deepEqual(own.counts, { lbhost: 10 });
            // passed to the host, not dropped: its ARP, its ping and TCP (not to a VIP)
            const now = await drops();
            assert.deepEqual([now.ARP - before.ARP, now.NOT_VIP - before.NOT_VIP], [0, 0]);
          } finally {
            await ctl('set mode=L2');
          }
        }),
    );

    it('one-arm L2: FRONTEND and BACKEND on one interface; HTTP, UDP and ping through the VIP', T, () =>
      withLog(async () => {
        await ctl(`ports bp set peer=${topo!.frontendIf}`);
        const before = JSON.parse(await ctl('stats show -json'));
        await throughVip(c1().ns);
        const after = JSON.parse(await ctl('stats show -json'));
        assert.ok(after.tx.backend - before.tx.backend >= 120, 'balanced frames counted on the BACKEND port');
        assert.equal(after.drops.TX_FAILED, 0);
      }),
    );
  });
}
