// IPv6 on the BACKEND port, against real servers in network namespaces (testkit/bridge.ts's topology,
// no balancer daemon; the servers also get fd00::2N/64 on eth0 and the IPv6 VIP fd00::100 on lo):
// the prober resolves a backend given by its IPv6 address by Neighbor Discovery, answers the servers'
// solicitations for its link-local address (so their neighbour entry for it becomes REACHABLE), and
// probes an IPv6 VIP over IPv6 (TCP, HTTP, UDP, ICMPv6 echo): UP against a healthy server, DOWN when
// it dies. A backend address that stops answering is reported silent. Then the unsolicited Neighbor
// Advertisement of an IPv6 VIP (src/dataplane/announce.ts) moves a client's neighbour entry for the
// VIP to the announced MAC. Every wait is bounded; the namespaces and processes go away afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv6 } from '../../src/core/addr.js';
import { newInstance } from '../../src/daemon/document.js';
import { Announcement, ServiceAnnouncer } from '../../src/dataplane/announce.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { ControlState } from '../../src/pipeline/control.js';
import type { Backend } from '../../testkit/bridge.js';
import { must, run } from '../../testkit/exec.js';
import { sysctl } from '../../testkit/netns.js';
import { rootSkip } from '../../testkit/root.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { proberLab } from '../lib/prober-lab.js';
import { check } from './servers.js';

const skip = rootSkip('IPv6 health prober tests (network namespaces)');
/** The link-local address of the probe MAC 02:db:0a:00:00:fa. */
const PROBE_LL = 'fe80::db:aff:fe00:fa';
const VIP6 = 'fd00::100';
const addr6 = (b: Backend) => `fd00::2${b.name.slice(1)}`;

/**
 * IPv6 in a host's namespace (testkit's namespaces start with it off): on, no duplicate address
 * detection, no router solicitations.
 */
async function enableIpv6(ns: string): Promise<void> {
  const set: Record<string, number> = {};
  for (const i of ['all', 'default', 'lo', 'eth0']) {
    set[`net.ipv6.conf.${i}.accept_dad`] = 0;
    set[`net.ipv6.conf.${i}.router_solicitations`] = 0;
    set[`net.ipv6.conf.${i}.disable_ipv6`] = 0;
  }
  await sysctl(ns, set);
}

/** The neighbour entry of `ns` for `ip` on eth0: its MAC and state, or undefined. */
async function neighbour(ns: string, ip: string): Promise<{ mac: string; state: string } | undefined> {
  const r = await run('ip', ['-n', ns, '-6', 'neigh', 'show', ip, 'dev', 'eth0']);
  const m = /lladdr (\S+).* (\S+)\s*$/.exec(r.stdout.trim());
  return m ? { mac: m[1]!, state: m[2]! } : undefined;
}

describe('IPv6 on the BACKEND port (namespaces)', { skip }, () => {
  const lab = proberLab('n', async (topo) => {
    // The bridge floods multicast (no MLD snooping: the prober joins its group without an MLD report).
    await must('ip', ['-n', topo.switchNs, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    for (const h of [...topo.clients, ...topo.backends]) await enableIpv6(h.ns);
    for (const b of topo.backends) {
      await must('ip', ['-n', b.ns, 'addr', 'add', `${addr6(b)}/64`, 'dev', 'eth0', 'nodad']);
      await must('ip', ['-n', b.ns, 'addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad']);
    }
  });
  const { ev, servers } = lab;

  it('resolves a backend given by its IPv6 address to its MAC by Neighbor Discovery', async () => {
    lab.prober.update([{ key: 'web6/1', vip: VIP6, ip: addr6(lab.b1) }]);
    await mustWaitFor('MAC of b1 by ND', () =>
      ev.macs.some((m) => m.key === 'web6/1' && m.mac === lab.b1.mac),
    );
  });

  it("answers a server's solicitation for its link-local address with the probe MAC", async () => {
    // Forgotten, then asked for again by the server: only a solicited advertisement makes it REACHABLE.
    await mustWaitFor(
      `b1's neighbour entry for ${PROBE_LL} REACHABLE at the probe MAC`,
      async () => {
        await run('ip', ['-n', lab.b1.ns, '-6', 'neigh', 'flush', 'dev', 'eth0']);
        await run('ip', ['netns', 'exec', lab.b1.ns, 'ping', '-6', '-c', '1', '-W', '1', `${PROBE_LL}%eth0`]);
        const n = await neighbour(lab.b1.ns, PROBE_LL);
        return n?.mac === '02:db:0a:00:00:fa' && n.state === 'REACHABLE';
      },
      { timeoutMs: 15_000 },
    );
  });

  it('TCP over IPv6 to the IPv6 VIP: UP against a listening server, DOWN when it dies, UP again', async () => {
    const key = 'web6/2';
    const from = ev.healths.length;
    lab.prober.update([{ key, vip: VIP6, ip: addr6(lab.b2), check: check('TCP') }]);
    const u = await ev.waitHealth(key, 'UP', from);
    assert.match(u.reason, /SYN-ACK/);
    assert.ok(
      ev.macs.some((m) => m.key === key && m.mac === lab.b2.mac),
      'resolved by ND first',
    );
    const down = ev.healths.length;
    await servers[1]!.kill();
    const d = await ev.waitHealth(key, 'DOWN', down);
    assert.match(d.reason, /connection refused/);
    const up = ev.healths.length;
    await servers[1]!.start();
    await ev.waitHealth(key, 'UP', up);
  });

  it('HTTP, UDP and ICMPv6 echo checks of the IPv6 VIP go UP', async () => {
    const from = ev.healths.length;
    lab.prober.update([
      {
        key: 'http6/1',
        vip: VIP6,
        mac: lab.b1.mac,
        check: check('HTTP', { path: '/health', body: 'healthy b1' }),
      },
      {
        key: 'udp6/2',
        vip: VIP6,
        mac: lab.b2.mac,
        check: check('UDP', { payload: 'ping', body: 'pong b2' }),
      },
      { key: 'icmp6/3', vip: VIP6, ip: addr6(lab.b3), check: check('ICMP') },
    ]);
    const h = await ev.waitHealth('http6/1', 'UP', from);
    assert.match(h.reason, /HTTP status 200, body holds 'healthy b1'/);
    const u = await ev.waitHealth('udp6/2', 'UP', from);
    assert.match(u.reason, /UDP answer/);
    const i = await ev.waitHealth('icmp6/3', 'UP', from);
    assert.match(i.reason, /echo reply/);
  });

  it('an ICMPv6 check goes DOWN when the server drops the VIP', async () => {
    const from = ev.healths.length;
    await must('ip', ['-n', lab.b3.ns, 'addr', 'del', `${VIP6}/128`, 'dev', 'lo']);
    try {
      const d = await ev.waitHealth('icmp6/3', 'DOWN', from);
      assert.match(d.reason, /no answer/);
    } finally {
      await must('ip', ['-n', lab.b3.ns, 'addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad']);
    }
  });

  it('reports a backend address silent once it stops answering Neighbor Discovery', async () => {
    const key = 'web6/3';
    lab.prober.update([{ key, vip: VIP6, ip: addr6(lab.b3) }]);
    await mustWaitFor('MAC of b3', () => ev.macs.some((m) => m.key === key && m.mac === lab.b3.mac));
    await must('ip', ['-n', lab.b3.ns, 'addr', 'del', `${addr6(lab.b3)}/64`, 'dev', 'eth0']);
    await mustWaitFor('b3 silent', () => ev.silent.some((s) => s.key === key), { timeoutMs: 10_000 });
  });

  it("an IPv6 VIP's unsolicited advertisement moves a client's neighbour entry to the frontend MAC", async () => {
    const c1 = lab.topo.clients[0]!;
    await must('ip', ['-n', c1.ns, 'addr', 'add', 'fd00::11/64', 'dev', 'eth0', 'nodad']);
    const stale = (ip: string) =>
      must('ip', [
        '-n',
        c1.ns,
        'neigh',
        'replace',
        ip,
        'lladdr',
        'aa:bb:cc:dd:ee:0a',
        'dev',
        'eth0',
        'nud',
        'stale',
      ]);
    await stale(VIP6);
    // one Announcement on its own, as `frontend announce` makes it
    const a = inNetns(
      lab.topo.lbNs,
      () => new Announcement(lab.topo.frontendIf, parseIpv6(VIP6), 'aa:bb:cc:dd:ee:0b', 1),
    );
    a.start();
    await mustWaitFor(
      'c1 learns the announced MAC',
      async () => (await neighbour(c1.ns, VIP6))?.mac === 'aa:bb:cc:dd:ee:0b',
    );
    // the planes' announcer: a plan with an IPv6-only service and a dual-stack one
    for (const ip of [VIP6, '10.0.0.7', 'fd00::7']) await stale(ip);
    const control = new ControlState();
    const plan = control.plan(
      {
        ...newInstance('lb1'),
        frontend: { vip: VIP6, mac: 'aa:bb:cc:dd:ee:0c' },
        backend: { pool: [{ id: 1, mac: lab.b1.mac }] },
        services: [
          { name: 'dual', vip: '10.0.0.7', vip6: 'fd00::7', mac: 'aa:bb:cc:dd:ee:0d', backend: { pool: [] } },
        ],
      },
      '02:00:00:00:00:fe',
    );
    const announcer = new ServiceAnnouncer();
    announcer.track(plan);
    // the frontend MACs the XDP plane puts in the interface's unicast filter: the IPv6-only service's too
    assert.deepEqual(announcer.macs().sort(), ['aa:bb:cc:dd:ee:0c', 'aa:bb:cc:dd:ee:0d']);
    const list = inNetns(lab.topo.lbNs, () => announcer.prepare(lab.topo.frontendIf));
    assert.deepEqual(
      list.map((x) => x.key).sort(),
      [
        `${lab.topo.frontendIf}/10.0.0.7`,
        `${lab.topo.frontendIf}/fd00::100`,
        `${lab.topo.frontendIf}/fd00::7`,
      ].sort(),
    );
    announcer.start(list);
    try {
      await mustWaitFor('c1 learns every VIP of the plan', async () => {
        const v6 = await neighbour(c1.ns, VIP6);
        const d6 = await neighbour(c1.ns, 'fd00::7');
        const d4 = await must('ip', ['-n', c1.ns, 'neigh', 'show', '10.0.0.7', 'dev', 'eth0']);
        return (
          v6?.mac === 'aa:bb:cc:dd:ee:0c' &&
          d6?.mac === 'aa:bb:cc:dd:ee:0d' &&
          d4.includes('aa:bb:cc:dd:ee:0d')
        );
      });
      // the same plan again announces nothing new
      announcer.track(plan);
      assert.deepEqual(
        inNetns(lab.topo.lbNs, () => announcer.prepare(lab.topo.frontendIf)),
        [],
      );
    } finally {
      announcer.cancel();
    }
  });
});
