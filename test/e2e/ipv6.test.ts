// Issue 13's namespace suite: IPv6 through the balancer, for each data-plane type in LBDSR_E2E_TYPES
// (default "USERSPACE,XDP_SKB"). The switched topology of testkit/bridge.ts with IPv6 on the clients and
// backends (testkit/ipv6.ts: addresses `nodad`, the IPv6 VIPs on the backends' lo), lbdsrd in the
// balancer's namespace (whose own kernel keeps IPv6 off: whatever answers there is the balancer),
// configured by lbdsrctl as a user would:
//   web6  vip=fd00::100             pool b1..b3 by MAC: Neighbor Discovery of the VIP, HTTP, UDP and
//                                   `ping -6` with DSR replies, and the Packet Too Big path below;
//   nd6   vip=fd00::101             one backend given by its IPv6 address only (found by ND, probe_ip);
//   dual  vip=10.0.0.103 vip6=fd00::103   one pool (b1, b3) reached by either address.
// Packet Too Big: a far client behind a router whose link towards it has MTU 1280 downloads a large
// reply; the router answers the server's 1500-byte segments with an ICMPv6 Packet Too Big to the VIP,
// which the balancer must hand to the server holding the connection: that server's route cache learns
// MTU 1280 (`ip -6 route get`), the others' do not, and the transfer completes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionEntry, StatsSnapshot } from '../../src/core/model.js';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { Daemon } from '../../testkit/daemon.js';
import { must } from '../../testkit/exec.js';
import {
  addAddr6,
  addIpv6,
  addRouter6,
  FAR_CLIENT6,
  FAR_MTU,
  ip6Of,
  type Router6,
  routeGet6,
  routeMtu6,
  VIP6,
} from '../../testkit/ipv6.js';
import { ifStats, neighbourMac } from '../../testkit/netns.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { client, mergeCounts, ping, reached, type Servers, startServers } from '../../testkit/traffic.js';
import { E2E_TYPES, lb1Ctl, noFailures, seedOn, skipReason, withDaemonLog } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };
/** The service whose one backend is given by IPv6 address only. */
const ND_VIP6 = 'fd00::101';
/** The dual-stack service's two VIPs. */
const DUAL_VIP = '10.0.0.103';
const DUAL_VIP6 = 'fd00::103';
/** The source of health probes and of the prober's solicitations (its probe MAC). */
const PROBE_IP = '10.0.0.250';
const ALL = ['b1', 'b2', 'b3'];

interface PoolEntry {
  id: number;
  ip?: string;
  mac?: string;
  mac_in_use?: string;
  mac_source?: string;
}

const url6 = (vip6: string, path = '/') => `http://[${vip6}]${path}`;

// The control: the topology of the suite without a balancer. The servers answer over IPv6 and the far
// path teaches a server the smaller MTU on its own, but nobody answers for the VIP (the servers hold it on
// lo, where Linux answers no solicitation arriving on eth0): whatever reaches the VIP below is the balancer.
describe('the IPv6 topology without a balancer (testkit/ipv6.ts)', { skip }, () => {
  let topo: Topology | undefined;
  let router: Router6 | undefined;
  let servers: Servers | undefined;

  before(async () => {
    topo = await buildTopology();
    await addIpv6(topo);
    router = await addRouter6(topo);
    servers = await startServers(topo, 10_000, VIP6);
  }, T);

  after(async () => {
    servers?.stop();
    if (topo) await teardown(topo);
  }, T);

  it('a client reaches a server by its own IPv6 address (HTTP on [::]:80)', T, async () => {
    const r = await client(topo!.clients[0]!.ns, 'http', { url: url6(ip6Of('b2')), count: 3 });
    noFailures(r);
    assert.deepEqual(reached(r), ['b2']);
  });

  it('no host answers for the VIP: it is unreachable and unresolved', T, async () => {
    const c1 = topo!.clients[0]!.ns;
    const p = await ping(c1, VIP6, 2);
    assert.equal(p.received, 0, JSON.stringify(p));
    assert.equal(await neighbourMac(c1, VIP6), undefined, 'no neighbour entry with an address');
  });

  it('a large reply over the MTU-1280 leg teaches the sending server the path MTU', T, async () => {
    const b1 = topo!.backends[0]!;
    assert.equal(await routeMtu6(b1.ns, FAR_CLIENT6), undefined);
    const r = await client(router!.farClient, 'download', { url: url6(ip6Of('b1'), '/big/300000') });
    noFailures(r);
    assert.deepEqual(r.counts, { b1: 1 });
    assert.equal(await routeMtu6(b1.ns, FAR_CLIENT6), FAR_MTU, await routeGet6(b1.ns, FAR_CLIENT6));
  });
});

for (const type of E2E_TYPES) {
  describe(`IPv6 end to end, type=${type}`, { skip }, () => {
    let topo: Topology | undefined;
    let router: Router6 | undefined;
    let servers: Servers | undefined;
    let d: Daemon | undefined;
    const c1 = () => topo!.clients[0]!.ns;
    const c2 = () => topo!.clients[1]!.ns;
    const http = (ns: string, url: string, count: number) =>
      client(ns, 'http', { url, count, concurrency: 6, 'timeout-ms': 3000, 'deadline-ms': 60_000 });
    const ctl = (line: string) => lb1Ctl(d!, line);
    const stats = async () => JSON.parse(await ctl('stats show -json')) as StatsSnapshot;
    const withLog = (fn: () => Promise<void>) => withDaemonLog(d, fn);

    before(async () => {
      topo = await buildTopology();
      await addIpv6(topo);
      for (const b of topo.backends) {
        for (const v of [ND_VIP6, DUAL_VIP6]) await addAddr6(b.ns, `${v}/128`, 'lo');
        await must('ip', ['-n', b.ns, 'addr', 'add', `${DUAL_VIP}/32`, 'dev', 'lo']);
      }
      router = await addRouter6(topo);
      servers = await startServers(topo, 10_000, VIP6);
      d = new Daemon({ ns: topo.lbNs });
      await d.start();
      await seedOn(d, topo, type);
      await ctl(`set probe_ip=${PROBE_IP}`);
      await ctl(`services add web6 vip=${VIP6}`);
      for (const b of topo.backends) await ctl(`services web6 backend pool add ${b.id} mac=${b.mac}`);
    }, T);

    after(async () => {
      servers?.stop();
      await d?.dispose().catch(() => {});
      if (topo) await teardown(topo);
    }, T);

    it('services show lists the IPv6 VIP as given', T, () =>
      withLog(async () => {
        assert.match(await ctl('services show'), /\nweb6\s+fd00::100\s/);
      }),
    );

    it('Neighbor Discovery: the clients find every IPv6 VIP at the frontend MAC', T, () =>
      withLog(async () => {
        const st0 = await stats();
        for (const c of topo!.clients) {
          await ping(c.ns, VIP6, 1);
          assert.equal(
            await neighbourMac(c.ns, VIP6),
            topo!.frontendMac,
            `${c.name}: neighbour entry of ${VIP6}`,
          );
        }
        const st1 = await stats();
        assert.ok(
          (st1.ndReplies ?? 0) >= (st0.ndReplies ?? 0) + 2,
          `ND replies counted: ${st0.ndReplies} -> ${st1.ndReplies}`,
        );
      }),
    );

    it('ping -6 to the VIP gets every reply', T, () =>
      withLog(async () => {
        const p = await ping(c1(), VIP6, 5);
        assert.equal(p.received, p.sent, JSON.stringify(p));
      }),
    );

    it('HTTP over IPv6: new connections from each client reach all three backends, none fail', T, () =>
      withLog(async () => {
        const [a, b] = await Promise.all([http(c1(), url6(VIP6), 60), http(c2(), url6(VIP6), 60)]);
        noFailures(a, b);
        assert.deepEqual(Object.keys(mergeCounts(a, b)).sort(), ALL, JSON.stringify(mergeCounts(a, b)));
      }),
    );

    it('UDP over IPv6: one socket stays on one backend, many sockets spread over all three', T, () =>
      withLog(async () => {
        const one = await client(c1(), 'udp-one', { host: VIP6, count: 30, 'deadline-ms': 20_000 });
        noFailures(one);
        assert.equal(reached(one).length, 1, JSON.stringify(one.counts));
        const many = await client(c2(), 'udp-many', { host: VIP6, count: 60, 'deadline-ms': 20_000 });
        noFailures(many);
        assert.deepEqual(reached(many), ALL, JSON.stringify(many.counts));
      }),
    );

    it('DSR over IPv6: the frontend receives the flows and transmits only ND answers', T, (t) =>
      withLog(async () => {
        const lb = topo!.lbNs;
        const fe0 = await ifStats(lb, topo!.frontendIf);
        const st0 = await stats();
        const [a, b] = await Promise.all([http(c1(), url6(VIP6), 80), http(c2(), url6(VIP6), 80)]);
        noFailures(a, b);
        const fe1 = await ifStats(lb, topo!.frontendIf);
        const st1 = await stats();
        const rx = fe1.rx - fe0.rx;
        const tx = fe1.tx - fe0.tx;
        const msg = `frontend rx ${rx} tx ${tx}`;
        t.diagnostic(`${type} IPv6 DSR: ${msg}`);
        assert.ok(rx >= 400, msg);
        assert.ok(tx <= Math.max(10, rx * 0.02), `replies do not cross the balancer: ${msg}`);
        assert.ok(st1.tx.backend - st0.tx.backend >= rx * 0.8, `balanced to the backends: ${msg}`);
        const sj = JSON.parse(await ctl('sessions show -json')) as { entries?: SessionEntry[] };
        const v6 = (sj.entries ?? []).filter((e) => e.dst === VIP6);
        assert.ok(v6.length > 0, `IPv6 sessions listed: ${JSON.stringify(sj.entries?.slice(0, 5))}`);
        const clients6 = topo!.clients.map((c) => ip6Of(c.name));
        for (const e of v6) {
          assert.ok(clients6.includes(e.src), `session from a client: ${JSON.stringify(e)}`);
          assert.ok([1, 2, 3].includes(e.backend), `session on a backend: ${JSON.stringify(e)}`);
        }
        assert.ok(
          v6.some((e) => e.proto === 'TCP' && e.dport === 80),
          'TCP sessions to port 80 listed',
        );
      }),
    );

    it('a backend added by IPv6 address only is found by Neighbor Discovery and takes the traffic', T, () =>
      withLog(async () => {
        const b2 = topo!.backends[1]!;
        await ctl(`services add nd6 vip=${ND_VIP6}`);
        try {
          await ctl(`services nd6 backend pool add 1 ip=${ip6Of(b2.name)}`);
          let last: PoolEntry | undefined;
          await mustWaitFor(
            'backend 1 of nd6 resolved by ND',
            async () => {
              const pool = JSON.parse(await ctl('services nd6 backend pool show -json')) as PoolEntry[];
              last = pool.find((e) => e.id === 1);
              return last?.mac_source === 'ND';
            },
            { timeoutMs: 20_000, intervalMs: 200 },
          ).catch((e: Error) => {
            e.message += ` last: ${JSON.stringify(last)}`;
            throw e;
          });
          assert.equal(last?.mac_in_use, b2.mac, JSON.stringify(last));
          assert.equal(last?.mac, undefined, 'the configuration keeps no MAC');
          const r = await http(c1(), url6(ND_VIP6), 30);
          noFailures(r);
          assert.deepEqual(reached(r), ['b2'], JSON.stringify(r.counts));
        } finally {
          await d!.ctl('lbdsr', 'lb1', 'services', 'del', 'nd6'); // the next tests start without it
        }
      }),
    );

    it('a dual-stack service: one pool reached by its IPv4 and its IPv6 VIP', T, () =>
      withLog(async () => {
        await ctl(`services add dual vip=${DUAL_VIP} vip6=${DUAL_VIP6}`);
        for (const b of [topo!.backends[0]!, topo!.backends[2]!])
          await ctl(`services dual backend pool add ${b.id} mac=${b.mac}`);
        const shown = await ctl('services show');
        assert.match(shown, /\ndual\s+10\.0\.0\.103\b/);
        assert.ok(shown.includes(DUAL_VIP6), `the dual-stack service shows its vip6:\n${shown}`);
        const [v4, v6] = await Promise.all([
          http(c1(), `http://${DUAL_VIP}/`, 40),
          http(c2(), url6(DUAL_VIP6), 40),
        ]);
        noFailures(v4, v6);
        assert.deepEqual(reached(v4), ['b1', 'b3'], JSON.stringify(v4.counts));
        assert.deepEqual(reached(v6), ['b1', 'b3'], JSON.stringify(v6.counts));
        assert.equal(await neighbourMac(c1(), DUAL_VIP), topo!.frontendMac, 'ARP for the IPv4 VIP');
        assert.equal(await neighbourMac(c2(), DUAL_VIP6), topo!.frontendMac, 'ND for the IPv6 VIP');
      }),
    );

    it(
      'Packet Too Big from a router reaches the server holding the connection; the transfer completes',
      T,
      (t) =>
        withLog(async () => {
          const fc = router!.farClient;
          for (const b of topo!.backends)
            assert.equal(
              await routeMtu6(b.ns, FAR_CLIENT6, VIP6),
              undefined,
              `${b.name} starts without a path MTU`,
            );
          const bytes = 300_000;
          const r = await client(fc, 'download', {
            url: url6(VIP6, `/big/${bytes}`),
            count: 1,
            'timeout-ms': 10_000,
            'deadline-ms': 30_000,
          });
          noFailures(r);
          const [served] = reached(r);
          assert.ok(served && r.done === 1, JSON.stringify(r));
          const routes: string[] = [];
          for (const b of topo!.backends) {
            const mtu = await routeMtu6(b.ns, FAR_CLIENT6, VIP6);
            routes.push(`${b.name}: ${await routeGet6(b.ns, FAR_CLIENT6, VIP6)}`);
            if (b.name === served)
              assert.equal(mtu, FAR_MTU, `the serving ${b.name} learned the MTU:\n${routes.join('\n')}`);
            else
              assert.equal(
                mtu,
                undefined,
                `${b.name} did not serve, got no Packet Too Big:\n${routes.join('\n')}`,
              );
          }
          t.diagnostic(`${type} PTB: ${served} served ${bytes} bytes; ${routes.join(' | ')}`);
          const st = await stats();
          assert.equal(
            st.drops.ICMP_INNER ?? 0,
            0,
            `no ICMPv6 error was refused: ${JSON.stringify(st.drops)}`,
          );
        }),
    );
  });
}
