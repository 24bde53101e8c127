// The end-to-end suite of issue 10's services: real clients and HTTP servers in network namespaces
// (testkit/bridge.ts), lbdsrd in the balancer's namespace driven by lbdsrctl, for each data-plane type
// in LBDSR_E2E_TYPES (default "USERSPACE,XDP_SKB"). Two services side by side (the seed's `default` on
// 10.0.0.100 and `web` on 10.0.0.101, with different pools), and one VIP (10.0.0.102) whose TCP ports
// 80 and 8080 are two services going to different pools. A type whose plane is not available fails.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { Daemon } from '../../testkit/daemon.js';
import { must } from '../../testkit/exec.js';
import { neighbourMac } from '../../testkit/netns.js';
import { repointPool, seedCommandsFor } from '../../testkit/seed.js';
import { client, ping, reached, type Servers, serveIn, startServers } from '../../testkit/traffic.js';
import { E2E_TYPES, lb1Ctl, noFailures, skipReason, withDaemonLog } from './env.js';

const skip = skipReason();
const TYPES = E2E_TYPES;
const T = { timeout: 120_000 };
/** The second VIP (service `web`) and the VIP of the two port services. */
const WEB_VIP = '10.0.0.101';
const PORTS_VIP = '10.0.0.102';

for (const type of TYPES) {
  describe(`services end to end, type=${type}`, { skip }, () => {
    let topo: Topology | undefined;
    let servers: Servers | undefined;
    const extra: ChildProcess[] = [];
    let d: Daemon | undefined;
    const c1 = () => topo!.clients[0]!.ns;
    const http = (url: string, count: number) =>
      client(c1(), 'http', { url, count, concurrency: 6, 'timeout-ms': 3000, 'deadline-ms': 60_000 });
    const ctl = (line: string) => lb1Ctl(d!, line);
    const withLog = (fn: () => Promise<void>) => withDaemonLog(d, fn);

    before(async () => {
      topo = await buildTopology();
      const [b1, b2, b3] = topo.backends;
      // every backend holds the other VIPs on lo too (arp_ignore/arp_announce are set for all)
      for (const b of topo.backends) {
        for (const vip of [WEB_VIP, PORTS_VIP])
          await must('ip', ['-n', b.ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo']);
      }
      servers = await startServers(topo);
      // port 8080 is served by b2 alone (and port 80 of the port VIP is b1's ordinary server)
      extra.push(await serveIn(b2!.ns, 'b2-8080', { httpPort: 8080, udpIp: topo.vip, udpPort: 7008 }));
      d = new Daemon({ ns: topo.lbNs });
      await d.start();
      for (const cmd of seedCommandsFor(topo)) {
        const r = await d.shell(cmd);
        if (r.code !== 0) throw new Error(`seed command failed: ${cmd}\n${r.stderr}${r.stdout}`);
      }
      const r = await d.ctl('lbdsr', 'lb1', 'set', `type=${type}`);
      if (r.code !== 0) throw new Error(`plane ${type} is not available: ${r.stderr.trim()}\n${d.logTail()}`);
      for (const cmd of repointPool(topo)) await d.shell(cmd);
      await ctl(`services add web vip=${WEB_VIP}`);
      await ctl(`services web backend pool add 3 mac=${b3!.mac}`);
      await ctl(`services add p80 vip=${PORTS_VIP} protocol=TCP port=80`);
      await ctl(`services p80 backend pool add 1 mac=${b1!.mac}`);
      await ctl(`services add p8080 vip=${PORTS_VIP} protocol=TCP port=8080`);
      await ctl(`services p8080 backend pool add 2 mac=${b2!.mac}`);
    }, T);

    after(async () => {
      for (const p of extra) if (p.exitCode === null) p.kill('SIGKILL');
      servers?.stop();
      await d?.dispose().catch(() => {});
      if (topo) await teardown(topo);
    }, T);

    it('services show lists default and the three services', T, async () => {
      const out = await ctl('services show');
      assert.match(out, /\ndefault\s+10\.0\.0\.100\s+any\s+any\s/);
      assert.match(out, /\nweb\s+10\.0\.0\.101\s+any\s+any\s/);
      assert.match(out, /\np80\s+10\.0\.0\.102\s+TCP\s+80\s/);
      assert.match(out, /\np8080\s+10\.0\.0\.102\s+TCP\s+8080\s/);
    });

    it('ARP: the client learns every VIP at the frontend MAC', T, () =>
      withLog(async () => {
        for (const vip of [topo!.vip, WEB_VIP, PORTS_VIP]) {
          await ping(c1(), vip, 1);
          assert.equal(await neighbourMac(c1(), vip), topo!.frontendMac, `neighbour entry of ${vip}`);
        }
      }),
    );

    it('two VIPs side by side: default reaches its three backends, web only its own', T, () =>
      withLog(async () => {
        const [all, web] = await Promise.all([
          http(`http://${topo!.vip}/`, 60),
          http(`http://${WEB_VIP}/`, 30),
        ]);
        noFailures(all, web);
        assert.deepEqual(reached(all), ['b1', 'b2', 'b3'], JSON.stringify(all.counts));
        assert.deepEqual(reached(web), ['b3'], JSON.stringify(web.counts));
      }),
    );

    it('one VIP, ports 80 and 8080: each port goes to its own pool', T, () =>
      withLog(async () => {
        const [p80, p8080] = await Promise.all([
          http(`http://${PORTS_VIP}/`, 30),
          http(`http://${PORTS_VIP}:8080/`, 30),
        ]);
        noFailures(p80, p8080);
        assert.deepEqual(reached(p80), ['b1'], JSON.stringify(p80.counts));
        assert.deepEqual(reached(p8080), ['b2-8080'], JSON.stringify(p8080.counts));
      }),
    );

    it('a service deleted stops taking its VIP; the others go on', T, () =>
      withLog(async () => {
        await ctl('services del web');
        const r = await http(`http://${WEB_VIP}/`, 3);
        assert.equal(r.done, 0, JSON.stringify(r));
        const all = await http(`http://${topo!.vip}/`, 30);
        noFailures(all);
        assert.deepEqual(reached(all), ['b1', 'b2', 'b3']);
      }),
    );
  });
}
