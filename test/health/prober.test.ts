// The health prober against real servers in network namespaces (testkit/bridge.ts's topology, no
// balancer daemon): the balancer namespace's `lbbe` plays the BACKEND port, the backends hold the VIP
// on lo with arp_ignore=1/arp_announce=2. Checks go UP against a healthy server, DOWN after `fall`
// bad probes when its process is killed or its VIP removed, UP again after `rise`; ARP resolves a
// backend given by IP, reports a MAC change and silence, and reports a backend answering ARP for the
// VIP (flux). Every wait is bounded; the namespaces and processes go away afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BackendProber } from '../../src/health/prober.js';
import type { ProbeTarget, ResolvedCheck } from '../../src/health/types.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { type Backend, buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { newPrefix } from '../../testkit/netns.js';
import { rootSkip } from '../../testkit/root.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { HTTP_PORT, Recorder, TestServer, UDP_PORT } from './servers.js';

const skip = rootSkip('health prober tests (network namespaces)');
const PROBE_IP = '10.0.0.250';

function check(type: ResolvedCheck['type'], more: Partial<ResolvedCheck> = {}): ResolvedCheck {
  return {
    type,
    port: type === 'UDP' ? UDP_PORT : HTTP_PORT,
    intervalMs: 250,
    timeoutMs: 200,
    rise: 2,
    fall: 2,
    path: '/',
    expect: 200,
    ...more,
  };
}

describe('health prober (namespaces)', { skip }, () => {
  let topo: Topology;
  let prober: BackendProber;
  const ev = new Recorder();
  const servers: TestServer[] = [];
  let b1: Backend;

  before(async () => {
    topo = await buildTopology(newPrefix('h'));
    b1 = topo.backends[0]!;
    for (const b of topo.backends) servers.push(new TestServer(b.ns, b.name));
    for (const s of servers) await s.start();
    prober = inNetns(
      topo.lbNs,
      () => new BackendProber({ ifname: topo.backendIf, probeIp: PROBE_IP, events: ev }),
    );
  });

  after(async () => {
    await prober?.close();
    for (const s of servers) await s.kill();
    if (topo) await teardown(topo);
  });

  it('resolves a backend given by IP to its MAC by ARP', async () => {
    prober.update([{ key: 'web/1', vip: topo.vip, ip: b1.ip }]);
    await mustWaitFor('MAC of b1', () => ev.macs.some((m) => m.key === 'web/1' && m.mac === b1.mac));
  });

  it('TCP: UP against a listening server, DOWN after fall when it dies, UP after rise when it is back', async () => {
    const key = 'web/1';
    const target: ProbeTarget = { key, vip: topo.vip, ip: b1.ip, check: check('TCP') };
    const from = ev.healths.length;
    prober.update([target]);
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
});
