// The frontend modes of the XDP plane in namespaces, driven as the daemon drives it (XDP_SKB on veth):
// - host_pass: the balancer node keeps its own address on the FRONTEND interface (its ARP answered by
//   its own kernel, a ping to it answered) while the VIP is balanced; without host_pass that ARP drops;
// - ROUTED: the client routes the VIP through the balancer's own address; frames to the interface's MAC
//   are balanced, no ARP for the VIP is answered, frames to the configured frontend MAC drop DST_MAC,
//   and the interface's own MAC is not put on its unicast list;
// - one-arm: FRONTEND and BACKEND are one interface on the clients' and servers' segment (a bridge):
//   only lbdsr_xdp runs on it, balanced frames come back out of it to the server (XDP_TX), a ping to the
//   VIP gets its answer straight from the server (DSR), and forwarding survives the daemon and a new
//   plane adopting it, until close() detaches it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { InstanceConfig, ResolvedPort } from '../../src/core/model.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { closeFd, progFdById, progInfo, XDP_FLAGS_SKB_MODE, xdpQueryId } from '../../src/kernel/libbpf.js';
import { ipSync, must, run } from '../../testkit/exec.js';
import { ifStats, neighbourMac } from '../../testkit/netns.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { sendUdp, UdpSink } from '../../testkit/udp.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab, labConfig } from './netns.js';

const skip = xdpSkipReason();
/** The balancer node's own address on its FRONTEND interface. */
const HOST_IP = '10.77.0.2';
const CONFIGURED_MAC = 'aa:bb:cc:dd:ee:01';

function linkOf(ns: string, ifname: string): ResolvedPort {
  const j = JSON.parse(ipSync('-n', ns, '-j', 'link', 'show', 'dev', ifname)) as {
    ifindex: number;
    address: string;
  }[];
  return { name: ifname, ifname, ifindex: j[0]!.ifindex, mac: j[0]!.address };
}

/** One ping from the client answered (retried: the first may wait for ARP). */
async function pings(lab: Lab, ip: string): Promise<void> {
  await mustWaitFor(
    `the client's ping to ${ip} is answered`,
    async () => (await run('ip', ['netns', 'exec', lab.client, 'ping', '-c', '1', '-W', '1', ip])).code === 0,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

/** The client's neighbour state for `ip` (e.g. REACHABLE, FAILED, INCOMPLETE), '' when none. */
async function neighState(lab: Lab, ip: string): Promise<string> {
  const out = await must('ip', ['-n', lab.client, '-j', 'neigh', 'show', ip]);
  const e = (JSON.parse(out || '[]') as { state?: string[] }[])[0];
  return e?.state?.join(',') ?? '';
}

function programName(ns: string, ifindex: number): string | undefined {
  return inNetns(ns, () => {
    const id = xdpQueryId(ifindex, 0);
    if (id === 0) return undefined;
    const fd = progFdById(id);
    try {
      return progInfo(fd).name;
    } finally {
      closeFd(fd);
    }
  });
}

/** Runs `body` with a lab, a plane and a UDP sink on the server, and removes everything after. */
async function withPlane(
  tag: string,
  body: (lab: Lab, name: string, sink: UdpSink, planes: XdpPlane[]) => Promise<void>,
): Promise<void> {
  const lab = await buildLab();
  const name = `${tag}${process.pid}`;
  const sink = new UdpSink(lab.server, lab.vip);
  const planes: XdpPlane[] = [];
  try {
    await sink.start();
    await body(lab, name, sink, planes);
  } finally {
    sink.stop();
    for (const p of planes) await inNetns(lab.lb, () => p.close()).catch(() => {});
    rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
    await lab.destroy();
  }
}

test('host_pass (L2): the node answers ARP and ping on its own FRONTEND address while the VIP is balanced', {
  skip,
  timeout: 120_000,
}, async () => {
  await withPlane('hp', async (lab, name, sink, planes) => {
    await must('ip', ['-n', lab.lb, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'fe']);
    const plane = new XdpPlane(name, 'XDP_SKB');
    planes.push(plane);
    const cfg: InstanceConfig = { ...labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]), host_pass: true };
    await inNetns(lab.lb, () => drive(plane).apply(cfg, lab.ports));

    await pings(lab, HOST_IP);
    assert.equal(
      await neighbourMac(lab.client, HOST_IP),
      lab.ports.frontend!.mac,
      "the node's own ARP answer",
    );
    await sendUdp(lab.client, lab.vip, 20);
    assert.equal(await sink.waitFor(20), 20, 'the VIP is balanced meanwhile');
    assert.equal(await neighbourMac(lab.client, lab.vip), CONFIGURED_MAC, 'the VIP answered by the program');
    const st = await plane.stats();
    assert.equal(st.drops.ARP ?? 0, 0, 'no ARP was dropped');
    assert.equal(st.drops.NOT_VIP ?? 0, 0, 'the ping was not dropped');

    // Without host_pass the node's own ARP is dropped by the program: the client cannot reach it.
    await inNetns(lab.lb, () => drive(plane).apply({ ...cfg, host_pass: false }, lab.ports));
    await must('ip', ['-n', lab.client, 'neigh', 'flush', 'dev', 'eth0']);
    const r = await run('ip', ['netns', 'exec', lab.client, 'ping', '-c', '2', '-W', '1', HOST_IP]);
    assert.notEqual(r.code, 0, 'no answer without host_pass');
    assert.ok(((await plane.stats()).drops.ARP ?? 0) >= 1, 'its ARP request dropped as ARP');
  });
});

test('ROUTED: frames to the interface MAC are balanced, no ARP for the VIP, the configured MAC drops DST_MAC', {
  skip,
  timeout: 120_000,
}, async () => {
  await withPlane('ro', async (lab, name, sink, planes) => {
    await must('ip', ['-n', lab.lb, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'fe']);
    const plane = new XdpPlane(name, 'XDP_SKB');
    planes.push(plane);
    const cfg: InstanceConfig = { ...labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]), mode: 'ROUTED' };
    await inNetns(lab.lb, () => drive(plane).apply(cfg, lab.ports));
    assert.deepEqual(plane.unicastFilter().macs, [], "the interface's own MAC is not added to its list");

    // The client's router: the VIP via the balancer node's own address (host_pass answers its ARP).
    await must('ip', ['-n', lab.client, 'route', 'add', `${lab.vip}/32`, 'via', HOST_IP]);
    await sendUdp(lab.client, lab.vip, 20);
    assert.equal(await sink.waitFor(20), 20, 'frames to the interface MAC reach the server');
    assert.equal(await neighbourMac(lab.client, HOST_IP), lab.ports.frontend!.mac);
    await pings(lab, HOST_IP);
    let st = await plane.stats();
    assert.equal(st.backends.find((b) => b.id === 7)?.packets, 20, 'balanced to the server');
    assert.equal(st.arpReplies, 0);

    // On the link, the client asks for the VIP itself: nobody answers (the program passes the request to
    // the node, which does not hold the VIP).
    await must('ip', ['-n', lab.client, 'route', 'del', `${lab.vip}/32`]);
    await sendUdp(lab.client, lab.vip, 3, 40001);
    await mustWaitFor(
      'the client gives up resolving the VIP',
      async () => /FAILED/.test(await neighState(lab, lab.vip)),
      {
        timeoutMs: 20_000,
        intervalMs: 200,
      },
    );
    assert.equal(await neighbourMac(lab.client, lab.vip), undefined, 'no ARP answer for the VIP');
    assert.equal((await plane.stats()).arpReplies, 0);

    // Frames to the configured frontend MAC (not used in ROUTED) drop DST_MAC.
    await must('ip', [
      '-n',
      lab.client,
      'neigh',
      'replace',
      lab.vip,
      'lladdr',
      CONFIGURED_MAC,
      'dev',
      'eth0',
    ]);
    const reached = sink.count;
    await sendUdp(lab.client, lab.vip, 5, 40002);
    await mustWaitFor('5 DST_MAC drops', async () => ((await plane.stats()).drops.DST_MAC ?? 0) >= 5);
    st = await plane.stats();
    assert.equal(st.drops.DST_MAC, 5);
    assert.equal(sink.count, reached, 'none of them reached the server');
  });
});

/**
 * The lab made one-arm: in the balancer's namespace a bridge joins the client's and the server's links
 * and the balancer's one interface `arm` (a veth whose peer is on the bridge).
 */
async function oneArm(lab: Lab): Promise<ResolvedPort> {
  const ip = (...a: string[]) => must('ip', ['-n', lab.lb, ...a]);
  await ip('link', 'add', 'br0', 'type', 'bridge');
  await ip('link', 'add', 'arm', 'type', 'veth', 'peer', 'name', 'armp');
  for (const i of ['fe', 'be', 'armp']) await ip('link', 'set', i, 'master', 'br0');
  for (const i of ['br0', 'arm', 'armp']) await ip('link', 'set', i, 'up');
  return linkOf(lab.lb, 'arm');
}

test('one-arm: only lbdsr_xdp on the one interface, balanced frames leave it again (XDP_TX) to the server; restarts stay hitless', {
  skip,
  timeout: 120_000,
}, async () => {
  await withPlane('oa', async (lab, name, sink, planes) => {
    const arm = await oneArm(lab);
    const ports = { frontend: { ...arm, name: 'frontend' }, backend: { ...arm, name: 'backend' } };
    const cfg: InstanceConfig = {
      ...labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]),
      ports: [
        { name: 'frontend', type: 'FRONTEND', peer: 'arm' },
        { name: 'backend', type: 'BACKEND', peer: 'arm' },
      ],
    };
    const p1 = new XdpPlane(name, 'XDP_SKB');
    planes.push(p1);
    await inNetns(lab.lb, () => drive(p1).apply(cfg, ports));
    assert.equal(programName(lab.lb, arm.ifindex), 'lbdsr_xdp', 'the FRONTEND program runs on the interface');
    for (const i of ['fe', 'be']) assert.equal(programName(lab.lb, linkOf(lab.lb, i).ifindex), undefined);
    const progId = inNetns(lab.lb, () => xdpQueryId(arm.ifindex, XDP_FLAGS_SKB_MODE));

    const before = await ifStats(lab.lb, 'arm');
    await sendUdp(lab.client, lab.vip, 20);
    assert.equal(await sink.waitFor(20), 20, 'every datagram reached the server through the one interface');
    const after = await ifStats(lab.lb, 'arm');
    assert.ok(
      after.tx - before.tx >= 20,
      `the balanced frames left by the interface they came in on (${after.tx - before.tx})`,
    );
    assert.equal(
      await neighbourMac(lab.client, lab.vip),
      CONFIGURED_MAC,
      'ARP answered on the one interface',
    );
    let st = await p1.stats();
    assert.equal(st.tx.backend, 20, 'counted as sent on the BACKEND port');
    assert.equal(st.drops.TX_FAILED ?? 0, 0);

    // The daemon stops (keeping the plane): forwarding goes on; a new plane adopts it without a swap.
    await inNetns(lab.lb, () => p1.close({ keep: true }));
    planes.length = 0;
    await sendUdp(lab.client, lab.vip, 10, 40001);
    assert.equal(await sink.waitFor(30), 30, 'forwarding while no daemon runs');
    const p2 = new XdpPlane(name, 'XDP_SKB');
    planes.push(p2);
    await inNetns(lab.lb, () => drive(p2).apply(cfg, ports));
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(arm.ifindex, XDP_FLAGS_SKB_MODE)),
      progId,
      'the same program',
    );
    await sendUdp(lab.client, lab.vip, 10, 40002);
    assert.equal(await sink.waitFor(40), 40, 'forwarding after the adoption');
    st = await p2.stats();
    assert.equal(st.tx.backend, 40, 'the counters carried over');
    // DSR: the server answers the client's ping to the VIP itself, on the segment.
    await pings(lab, lab.vip);

    await inNetns(lab.lb, () => p2.close());
    planes.length = 0;
    assert.equal(programName(lab.lb, arm.ifindex), undefined, 'close() detaches it');
  });
});
