// The XDP plane with several services, in namespaces as the daemon drives it: a UDP port service beside
// the VIP's default service sends its flows to its own pool through the kernel; moving its port hands
// them back to `default`; a restarted daemon adopts the services (same program, sessions and counters
// continue); and the BACKEND port's program lets ARP through to the kernel (a host on the backend
// segment resolves the balancer's address there) while counting it as passed.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { InstanceConfig, ServiceConfig } from '../../src/core/model.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { xdpQueryId } from '../../src/kernel/libbpf.js';
import { must } from '../../testkit/exec.js';
import { waitFor } from '../../testkit/timing.js';
import { sendUdp, UdpSink } from '../../testkit/udp.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab, labConfig } from './netns.js';

const skip = xdpSkipReason();
/** A MAC no host has: frames balanced to it reach nobody. */
const NOBODY = '02:77:00:00:00:99';
const LB_BE_IP = '10.77.0.5';

function config(lab: Lab, name: string, udpPort: number): InstanceConfig {
  const udp: ServiceConfig = {
    name: 'udp',
    vip: lab.vip,
    protocol: 'UDP',
    port: udpPort,
    backend: { pool: [{ id: 7, mac: lab.serverMac }] },
  };
  return { ...labConfig(lab, name, [{ id: 7, mac: NOBODY }]), services: [udp], probe_ip: '10.77.0.250' };
}

test('XDP_SKB plane with services: port service through the kernel, adoption, ARP passed on the BACKEND port', {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `v${process.pid}`;
  const sink = new UdpSink(lab.server, lab.vip);
  let plane: XdpPlane | undefined;
  try {
    await sink.start();
    const p1 = new XdpPlane(name, 'XDP_SKB');
    plane = p1;
    await inNetns(lab.lb, () => drive(p1).apply(config(lab, name, 7777), lab.ports));
    await sendUdp(lab.client, lab.vip, 10);
    assert.equal(await sink.waitFor(10), 10, 'UDP 7777 reaches the server through the udp service');
    let st = await p1.stats();
    assert.equal(st.backends.find((b) => b.service === 'udp' && b.id === 7)?.packets, 10);
    assert.equal(st.backends.find((b) => b.service === 'default' && b.id === 7)?.packets, 0);

    // The service moves to another port: UDP 7777 now matches `default`, whose backend is nobody.
    await inNetns(lab.lb, () => drive(p1).apply(config(lab, name, 7778), lab.ports));
    await sendUdp(lab.client, lab.vip, 5, 40001);
    assert.ok(
      await waitFor(
        async () => (await p1.stats()).backends.find((b) => b.service === 'default')?.packets === 5,
      ),
      'UDP 7777 went to the default service',
    );
    assert.equal(sink.count, 10, 'nothing more reached the server');
    await inNetns(lab.lb, () => drive(p1).apply(config(lab, name, 7777), lab.ports));

    // The daemon restarts: the new plane adopts the services and their sessions.
    const fe = lab.ports.frontend!.ifindex;
    const progId = inNetns(lab.lb, () => xdpQueryId(fe, 0));
    await p1.close({ keep: true });
    const p2 = new XdpPlane(name, 'XDP_SKB');
    plane = p2;
    await inNetns(lab.lb, () => drive(p2).apply(config(lab, name, 7777), lab.ports));
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(fe, 0)),
      progId,
      'adopted, not replaced',
    );
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(15), 15, 'the udp service forwards after the restart');
    st = await p2.stats();
    assert.equal(st.backends.find((b) => b.service === 'udp')?.packets, 15, 'its counters continue');
    assert.ok(st.sessions.hit >= 14, 'the session recorded before the restart is hit');

    // ARP on the BACKEND port goes to the kernel: the server resolves the balancer's address there.
    await must('ip', ['-n', lab.lb, 'addr', 'add', `${LB_BE_IP}/24`, 'dev', 'be']);
    const passedBefore = st.backendPass ?? 0;
    await must('ip', ['netns', 'exec', lab.server, 'ping', '-c', '1', '-W', '1', LB_BE_IP]).catch(() => {});
    const neigh = await must('ip', ['-n', lab.server, 'neigh', 'show', LB_BE_IP]);
    assert.match(neigh, new RegExp(lab.ports.backend!.mac), 'the server learnt the balancer by ARP');
    assert.ok(((await p2.stats()).backendPass ?? 0) > passedBefore, 'counted as passed');
  } finally {
    sink.stop();
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
    await lab.destroy();
  }
});
