// The health prober against real servers in network namespaces (testkit/bridge.ts's topology, no
// balancer daemon): the balancer namespace's `lbbe` plays the BACKEND port, the backends hold the VIP
// on lo with arp_ignore=1/arp_announce=2. Checks go UP against a healthy server, DOWN after `fall`
// bad probes when its process is killed or its VIP removed, UP again after `rise`; ARP resolves a
// backend given by IP, reports a MAC change and silence, and reports a backend answering ARP for the
// VIP (flux). Every wait is bounded; the namespaces and processes go away afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackendProber } from '../../src/health/prober.js';
import type { ProbeTarget } from '../../src/health/types.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { addBalancerPort, removeBalancerPort } from '../../testkit/bridge.js';
import { must, run } from '../../testkit/exec.js';
import { neighbourMac } from '../../testkit/netns.js';
import { rootSkip } from '../../testkit/root.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { proberLab } from '../lib/prober-lab.js';
import { check, HTTP_PORT, PROBE_IP, Recorder } from './servers.js';

const skip = rootSkip('health prober tests (network namespaces)');
const LB_IP = '10.0.0.2/24';

describe('health prober (namespaces)', { skip }, () => {
  const lab = proberLab('h', async (topo) => {
    // The BACKEND port has an address of its own in the servers' subnet, as usual (not probe_ip).
    await must('ip', ['-n', topo.lbNs, 'addr', 'add', LB_IP, 'dev', topo.backendIf]);
  });
  const { ev, servers } = lab;

  it('resolves a backend given by IP to its MAC by ARP', async () => {
    lab.prober.update([{ key: 'web/1', vip: lab.topo.vip, ip: lab.b1.ip }]);
    await mustWaitFor('MAC of b1', () => ev.macs.some((m) => m.key === 'web/1' && m.mac === lab.b1.mac));
  });

  it('TCP: UP against a listening server, DOWN after fall when it dies, UP after rise when it is back', async () => {
    const key = 'web/1';
    const target: ProbeTarget = { key, vip: lab.topo.vip, ip: lab.b1.ip, check: check('TCP') };
    const from = ev.healths.length;
    lab.prober.update([target]);
    await ev.waitHealth(key, 'UP', from);
    const down = ev.healths.length;
    await servers[0]!.kill();
    const d = await ev.waitHealth(key, 'DOWN', down);
    assert.match(d.reason, /^2 probes failed: connection refused/);
    const up = ev.healths.length;
    await servers[0]!.start();
    const u = await ev.waitHealth(key, 'UP', up);
    assert.match(u.reason, /^2 probes succeeded: SYN-ACK/);
    assert.ok(ev.probes.some((p) => p.key === key && p.ok && p.latencyMs >= 0));
  });

  it('HTTP: UP when the status and body match, DOWN on another status or a missing body substring', async () => {
    const good: ProbeTarget = {
      key: 'web/2',
      vip: lab.topo.vip,
      mac: lab.b2.mac,
      check: check('HTTP', { path: '/health', body: 'healthy b2' }),
    };
    const from = ev.healths.length;
    lab.prober.update([good]);
    const u = await ev.waitHealth('web/2', 'UP', from);
    assert.match(u.reason, /HTTP status 200, body holds 'healthy b2'/);
    // The balancer namespace's kernel (with an address in the subnet) never took the SYN-ACKs for its
    // own: it sent no RST.
    // The server answered the probe MAC, which the prober gave for probe_ip (02:db + its four bytes).
    assert.equal(await neighbourMac(lab.b2.ns, PROBE_IP), '02:db:0a:00:00:fa');
    const snmp = await must('ip', ['netns', 'exec', lab.topo.lbNs, 'cat', '/proc/net/snmp']);
    const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
    const at = names!.split(/\s+/).indexOf('OutRsts');
    assert.equal(values!.split(/\s+/)[at], '0');

    const d1 = ev.healths.length;
    lab.prober.update([{ ...good, check: check('HTTP', { path: '/health', body: 'healthy b9' }) }]);
    assert.match((await ev.waitHealth('web/2', 'DOWN', d1)).reason, /body lacks 'healthy b9'/);
    const d2 = ev.healths.length;
    lab.prober.update([{ ...good, check: check('HTTP', { path: '/missing' }) }]);
    assert.match((await ev.waitHealth('web/2', 'DOWN', d2)).reason, /HTTP status 404, expected 200/);
    const d3 = ev.healths.length;
    lab.prober.update([{ ...good, check: check('HTTP', { path: '/missing', expect: 404 }) }]);
    await ev.waitHealth('web/2', 'UP', d3);
  });

  it('HTTP: a server that dies goes DOWN after fall, its neighbour on the same VIP stays UP; back after rise', async () => {
    const c = check('HTTP', { path: '/health' });
    const from = ev.healths.length;
    lab.prober.update([
      { key: 'web/1', vip: lab.topo.vip, ip: lab.b1.ip, check: c },
      { key: 'web/2', vip: lab.topo.vip, ip: lab.b2.ip, check: c },
    ]);
    await ev.waitHealth('web/1', 'UP', from);
    await ev.waitHealth('web/2', 'UP', from);
    const down = ev.healths.length;
    await servers[1]!.kill();
    await ev.waitHealth('web/2', 'DOWN', down);
    const up = ev.healths.length;
    await servers[1]!.start();
    await ev.waitHealth('web/2', 'UP', up);
    // All along, web/1 answered from the same VIP and was never judged anything but UP.
    assert.deepEqual(
      ev.healths
        .slice(from)
        .filter((h) => h.key === 'web/1')
        .map((h) => h.health),
      ['UP'],
    );
  });

  it('UDP: UP on an answer (holding the substring), DOWN on port unreachable, UP again', async () => {
    const key = 'dns/1';
    const from = ev.healths.length;
    const c = check('UDP', { payload: 'ping', body: 'pong b1 ping' });
    lab.prober.update([{ key, vip: lab.topo.vip, ip: lab.b1.ip, check: c }]);
    assert.match((await ev.waitHealth(key, 'UP', from)).reason, /UDP answer/);
    const down = ev.healths.length;
    await servers[0]!.kill();
    assert.match((await ev.waitHealth(key, 'DOWN', down)).reason, /port unreachable/);
    const up = ev.healths.length;
    await servers[0]!.start();
    await ev.waitHealth(key, 'UP', up);
  });

  it('ICMP: UP on echo replies from the VIP', async () => {
    const from = ev.healths.length;
    lab.prober.update([{ key: 'icmp/3', vip: lab.topo.vip, ip: lab.b3.ip, check: check('ICMP') }]);
    assert.match((await ev.waitHealth('icmp/3', 'UP', from)).reason, /echo reply/);
  });

  it('a server that lost the VIP on lo goes DOWN (TCP and ICMP) while its own address still answers', async () => {
    const targets: ProbeTarget[] = [
      { key: 'web/2', vip: lab.topo.vip, ip: lab.b2.ip, check: check('TCP') },
      { key: 'icmp/2', vip: lab.topo.vip, ip: lab.b2.ip, check: check('ICMP') },
    ];
    const from = ev.healths.length;
    lab.prober.update(targets);
    await ev.waitHealth('web/2', 'UP', from);
    await ev.waitHealth('icmp/2', 'UP', from);
    const down = ev.healths.length;
    await must('ip', ['-n', lab.b2.ns, 'addr', 'del', `${lab.topo.vip}/32`, 'dev', 'lo']);
    try {
      assert.match((await ev.waitHealth('web/2', 'DOWN', down)).reason, /no answer within 200 ms/);
      await ev.waitHealth('icmp/2', 'DOWN', down);
      // A plain connect from the balancer's namespace to the server's own address still succeeds.
      const script = `require('net').connect(${HTTP_PORT}, '${lab.b2.ip}').on('connect', () => process.exit(0)).on('error', () => process.exit(1));`;
      const r = await run('ip', ['netns', 'exec', lab.topo.lbNs, process.execPath, '-e', script]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(ev.last('web/2')?.health, 'DOWN');
    } finally {
      await must('ip', ['-n', lab.b2.ns, 'addr', 'add', `${lab.topo.vip}/32`, 'dev', 'lo']);
    }
    const up = ev.healths.length;
    await ev.waitHealth('web/2', 'UP', up);
  });

  it('ARP: a new MAC of a backend is reported, and silence (MAC kept) after 3 refreshes', async () => {
    const key = 'web/3';
    lab.prober.update([{ key, vip: lab.topo.vip, ip: lab.b3.ip }]);
    await mustWaitFor('MAC of b3', () => ev.macs.some((m) => m.key === key && m.mac === lab.b3.mac));
    const moved = '02:00:00:00:33:33';
    await must('ip', ['-n', lab.b3.ns, 'link', 'set', 'eth0', 'address', moved]);
    try {
      await mustWaitFor('new MAC of b3', () => ev.macs.some((m) => m.key === key && m.mac === moved));
      const before = ev.silent.length;
      await must('ip', ['-n', lab.b3.ns, 'link', 'set', 'eth0', 'down']);
      await mustWaitFor('b3 silent', () => ev.silent.slice(before).some((s) => s.key === key));
      await must('ip', ['-n', lab.b3.ns, 'link', 'set', 'eth0', 'up']);
      // The first answer after silence is reported again.
      const n = ev.macs.length;
      await mustWaitFor('b3 back', () => ev.macs.slice(n).some((m) => m.key === key && m.mac === moved));
    } finally {
      await must('ip', ['-n', lab.b3.ns, 'link', 'set', 'eth0', 'address', lab.b3.mac]);
      await run('ip', ['-n', lab.b3.ns, 'link', 'set', 'eth0', 'up']);
    }
  });

  it('ARP flux: a backend answering ARP for the VIP (VIP on eth0, arp_ignore=0) is reported', async () => {
    lab.prober.update([
      { key: 'web/1', vip: lab.topo.vip, ip: lab.b1.ip },
      { key: 'web/3', vip: lab.topo.vip, ip: lab.b3.ip },
    ]);
    await mustWaitFor('MACs of lab.b1, b3', () => ev.macs.filter((m) => m.mac === lab.b3.mac).length > 0);
    assert.equal(ev.flux.length, 0, 'no flux before');
    await must('ip', ['-n', lab.b3.ns, 'addr', 'add', `${lab.topo.vip}/32`, 'dev', 'eth0']);
    await must('ip', ['netns', 'exec', lab.b3.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=0']);
    try {
      await mustWaitFor('flux of b3', () =>
        ev.flux.some((f) => f.vip === lab.topo.vip && f.macs.includes(lab.b3.mac)),
      );
      assert.ok(!ev.flux.some((f) => f.macs.includes(lab.b1.mac)), JSON.stringify(ev.flux));
    } finally {
      await must('ip', ['netns', 'exec', lab.b3.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
      await must('ip', ['-n', lab.b3.ns, 'addr', 'del', `${lab.topo.vip}/32`, 'dev', 'eth0']);
    }
    // Once it stops answering (3 rounds), the flux is reported gone.
    const lastFlux = () => ev.flux[ev.flux.length - 1];
    await mustWaitFor('flux gone', () => lastFlux()?.macs.length === 0, { timeoutMs: 10_000 });

    // With the VIP on lo only, arp_ignore=0 alone is enough for the server to answer for it.
    const n = ev.flux.length;
    await must('ip', ['netns', 'exec', lab.b3.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=0']);
    try {
      await mustWaitFor('flux of b3 (VIP on lo)', () =>
        ev.flux.slice(n).some((f) => f.macs.includes(lab.b3.mac)),
      );
    } finally {
      await must('ip', ['netns', 'exec', lab.b3.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
    }
  });

  it('the BACKEND interface deleted and created again: DOWN while it is gone, UP once it is back', async () => {
    const key = 'web/1';
    const from = ev.healths.length;
    lab.prober.update([{ key, vip: lab.topo.vip, ip: lab.b1.ip, check: check('TCP') }]);
    await ev.waitHealth(key, 'UP', from);
    const down = ev.healths.length;
    await removeBalancerPort(lab.topo, 'backend');
    await ev.waitHealth(key, 'DOWN', down);
    const up = ev.healths.length;
    await addBalancerPort(lab.topo, 'backend');
    await ev.waitHealth(key, 'UP', up);

    // The same while the prober has nothing to watch (and reads nothing): it notices when targets come.
    lab.prober.update([]);
    await removeBalancerPort(lab.topo, 'backend');
    await addBalancerPort(lab.topo, 'backend');
    const again = ev.healths.length;
    lab.prober.update([{ key: 'web/2', vip: lab.topo.vip, ip: lab.b2.ip, check: check('TCP') }]);
    await ev.waitHealth('web/2', 'UP', again);
  });

  it('without probe_ip: ARP still resolves (asking from 0.0.0.0), a health check is not run', async () => {
    const ev2 = new Recorder();
    const logs: string[] = [];
    const p2 = inNetns(lab.topo.lbNs, () => {
      return new BackendProber({ ifname: lab.topo.backendIf, events: ev2, log: (_l, m) => logs.push(m) });
    });
    try {
      p2.update([{ key: 'web/1', vip: lab.topo.vip, ip: lab.b1.ip, check: check('TCP') }]);
      await mustWaitFor('MAC of b1', () => ev2.macs.some((m) => m.key === 'web/1' && m.mac === lab.b1.mac));
      assert.ok(
        logs.some((m) => /needs probe_ip/.test(m)),
        JSON.stringify(logs),
      );
      assert.deepEqual(ev2.probes, []);
      assert.deepEqual(ev2.healths, []);
    } finally {
      await p2.close();
    }
  });

  it('a handler of the daemon that throws is logged and the prober goes on probing', async () => {
    class Throwing extends Recorder {
      override mac(key: string, mac: string): void {
        super.mac(key, mac);
        throw new Error('mac handler bug');
      }
      override health(key: string, health: 'UP' | 'DOWN', reason: string): void {
        super.health(key, health, reason);
        throw new Error('health handler bug');
      }
    }
    const ev3 = new Throwing();
    const logs: string[] = [];
    const p3 = inNetns(lab.topo.lbNs, () => {
      return new BackendProber({
        ifname: lab.topo.backendIf,
        probeIp: '10.0.0.251',
        events: ev3,
        log: (_l, m) => logs.push(m),
      });
    });
    try {
      p3.update([{ key: 'web/1', vip: lab.topo.vip, ip: lab.b1.ip, check: check('TCP') }]);
      await ev3.waitHealth('web/1', 'UP');
      const n = ev3.probes.length;
      await mustWaitFor('more probes', () => ev3.probes.length >= n + 3);
      assert.ok(
        logs.some((m) => /the health handler failed: health handler bug/.test(m)),
        JSON.stringify(logs),
      );
      assert.ok(
        logs.some((m) => /the mac handler failed/.test(m)),
        JSON.stringify(logs),
      );
    } finally {
      await p3.close();
    }
  });
});
