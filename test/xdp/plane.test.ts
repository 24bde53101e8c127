// The XDP plane as the daemon drives it, in namespaces: attach, ARP and forwarding through the kernel,
// stats and sessions from the maps, configuration changes without reloading, forwarding while no
// daemon runs, adoption by a new plane (from the pins, and from the running program when the pins are
// gone), and a full cleanup on close.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import type { ResolvedPorts } from '../../src/core/model.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT, unpin } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import {
  BpfObject,
  closeFd,
  objPin,
  progFdById,
  progInfo,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_SKB_MODE,
  xdpAttach,
  xdpQueryId,
} from '../../src/kernel/libbpf.js';
import { must } from '../../testkit/exec.js';
import { sendUdp, UdpSink } from '../../testkit/udp.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab, labConfig } from './netns.js';

const skip = xdpSkipReason();

const config = labConfig;

test('XDP_SKB plane: forwards, reports, survives the daemon, is adopted and cleans up', {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `t${process.pid}`;
  const dir = `${BPFFS_ROOT}/lbdsr/${name}`;
  const sink = new UdpSink(lab.server, lab.vip);
  let plane: XdpPlane | undefined;
  try {
    await sink.start();
    const cfg = config(lab, name, [{ id: 7, mac: lab.serverMac }]);
    plane = new XdpPlane(name, 'XDP_SKB');
    const p1 = plane;
    await inNetns(lab.lb, () => drive(p1).apply(cfg, lab.ports));
    const fe = lab.ports.frontend!.ifindex;
    const progId = inNetns(lab.lb, () => xdpQueryId(fe, XDP_FLAGS_SKB_MODE));
    assert.ok(progId > 0, 'the program runs on the frontend port in generic mode');
    assert.ok(
      existsSync(`${dir}/prog_frontend`) && existsSync(`${dir}/map_sessions`),
      'program and maps are pinned',
    );

    await sendUdp(lab.client, lab.vip, 20);
    assert.equal(await sink.waitFor(20), 20, 'every datagram reached the server through the balancer');
    const neigh = await must('ip', ['-n', lab.client, 'neigh', 'show', lab.vip]);
    assert.match(neigh, /aa:bb:cc:dd:ee:01/, 'the client learnt the VIP from the ARP reply');

    let st = await plane.stats();
    assert.equal(st.backends.find((b) => b.id === 7)?.packets, 20);
    assert.equal(st.sessions.miss, 1);
    assert.equal(st.sessions.hit, 19);
    assert.ok(st.arpReplies >= 1);
    assert.equal(st.tx.backend, 20);
    assert.equal(st.sessions.active, 1);
    const sess = await plane.sessions(10);
    assert.deepEqual(
      sess.map((s) => ({ ...s, idleMs: 0 })),
      [{ src: lab.clientIp, dst: lab.vip, sport: 40000, dport: 7777, proto: 'UDP', backend: 7, idleMs: 0 }],
    );

    // Configuration changes are map writes: same program afterwards.
    const cfg2 = config(lab, name, [
      { id: 7, mac: lab.serverMac },
      { id: 8, mac: '02:77:00:00:00:02' },
    ]);
    await inNetns(lab.lb, () => drive(p1).apply(cfg2, lab.ports));
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(fe, 0)),
      progId,
      'not reloaded by a pool change',
    );
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(25), 25, 'the existing session stays on its backend');

    // The daemon goes away: the kernel keeps forwarding.
    await plane.close({ keep: true });
    plane = undefined;
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(30), 30, 'forwarding continues without a daemon');

    // A new daemon adopts the pinned program: counters and sessions continue.
    const p2 = new XdpPlane(name, 'XDP_SKB');
    plane = p2;
    await inNetns(lab.lb, () => drive(p2).apply(cfg2, lab.ports));
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(fe, 0)),
      progId,
      'adopted, not replaced',
    );
    st = await p2.stats();
    assert.equal(st.backends.find((b) => b.id === 7)?.packets, 30);
    assert.equal((await p2.sessions(10))[0]?.backend, 7);

    // Pins lost (a private bpffs that went away with its mount namespace): adopted from the port.
    await p2.close({ keep: true });
    rmSync(dir, { recursive: true, force: true });
    const p3 = new XdpPlane(name, 'XDP_SKB');
    plane = p3;
    await inNetns(lab.lb, () => drive(p3).apply(cfg2, lab.ports));
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(fe, 0)),
      progId,
      'adopted from the running program',
    );
    assert.equal((await p3.stats()).backends.find((b) => b.id === 7)?.packets, 30);
    assert.ok(existsSync(`${dir}/prog_frontend`), 're-pinned');

    // Capacity change: a new session map, sessions carried over, still the same backend.
    await inNetns(lab.lb, () =>
      drive(p3).apply({ ...cfg2, sessions: { ...cfg2.sessions, capacity: 8192 } }, lab.ports),
    );
    assert.equal((await p3.sessions(10))[0]?.backend, 7, 'sessions survive a capacity change');
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(35), 35);
    assert.equal((await p3.stats()).sessions.hit, 34, 'the carried-over session is hit (19 + 5 + 5 + 5)');

    // Delete: detached and unpinned.
    await inNetns(lab.lb, () => p3.close());
    plane = undefined;
    assert.equal(
      inNetns(lab.lb, () => xdpQueryId(fe, 0)),
      0,
      'detached',
    );
    assert.equal(existsSync(dir), false, 'unpinned');
    await sendUdp(lab.client, lab.vip, 3);
    assert.equal(await sink.waitFor(38, 500), 35, 'nothing is forwarded any more');
  } finally {
    sink.stop();
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
    await lab.destroy();
  }
});

test('XDP_DRV plane on veth ports: forwards once the peers are prepared with an XDP program', {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `d${process.pid}`;
  const sink = new UdpSink(lab.server, lab.vip);
  const plane = new XdpPlane(name, 'XDP_DRV');
  try {
    await sink.start();
    // Native XDP_TX (ARP replies) and redirects into a veth need the receiving peer's NAPI: an XDP
    // program on the peer provides it (see docs/xdp.md about GRO).
    const pass = new URL('../../../bpf/pass.bpf.o', import.meta.url).pathname;
    for (const ns of [lab.client, lab.server]) {
      await must('ip', ['-n', ns, 'link', 'set', 'dev', 'eth0', 'xdpdrv', 'obj', pass, 'sec', 'xdp']);
    }
    // A veth leaves checksums to "hardware" (CHECKSUM_PARTIAL); native XDP turns the frame into raw
    // bytes and the server would see a bad UDP checksum. A real NIC fills it in on transmit.
    await must('ip', ['netns', 'exec', lab.client, 'ethtool', '-K', 'eth0', 'tx', 'off']);
    const cfg = { ...config(lab, name, [{ id: 7, mac: lab.serverMac }]), type: 'XDP_DRV' as const };
    await inNetns(lab.lb, () => drive(plane).apply(cfg, lab.ports));
    const fe = lab.ports.frontend!.ifindex;
    assert.ok(inNetns(lab.lb, () => xdpQueryId(fe, XDP_FLAGS_DRV_MODE)) > 0, 'attached in native mode');
    await sendUdp(lab.client, lab.vip, 20);
    assert.equal(await sink.waitFor(20), 20, 'every datagram reached the server');
    const st = await plane.stats();
    assert.equal(st.backends.find((b) => b.id === 7)?.packets, 20);
    assert.ok(st.arpReplies >= 1);
  } finally {
    sink.stop();
    await inNetns(lab.lb, () => plane.close()).catch(() => {});
    await lab.destroy();
  }
});

test('upgrade: a restarted daemon swaps a different pinned program for the shipped one, keeping the maps', {
  skip,
  timeout: 60_000,
}, async () => {
  const lab = await buildLab();
  const name = `u${process.pid}`;
  const dir = `${BPFFS_ROOT}/lbdsr/${name}`;
  const cfg = config(lab, name, [{ id: 7, mac: lab.serverMac }]);
  const sink = new UdpSink(lab.server, lab.vip);
  let plane: XdpPlane | undefined;
  const old = BpfObject.openFile(new URL('../../../bpf/pass.bpf.o', import.meta.url).pathname);
  try {
    await sink.start();
    const p1 = new XdpPlane(name, 'XDP_SKB');
    plane = p1;
    await inNetns(lab.lb, () => drive(p1).apply(cfg, lab.ports));
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(5), 5);
    await p1.close({ keep: true });
    plane = undefined;
    // "The previous version" runs on the frontend port and is pinned as the instance's program.
    old.load();
    const oldFd = old.programFd('pass_xdp');
    const fe = lab.ports.frontend!.ifindex;
    inNetns(lab.lb, () => xdpAttach(fe, oldFd, XDP_FLAGS_SKB_MODE));
    unpin(`${dir}/prog_frontend`);
    objPin(oldFd, `${dir}/prog_frontend`);
    const oldId = inNetns(lab.lb, () => xdpQueryId(fe, 0));

    const p2 = new XdpPlane(name, 'XDP_SKB');
    plane = p2;
    await inNetns(lab.lb, () => drive(p2).apply(cfg, lab.ports));
    const nowId = inNetns(lab.lb, () => xdpQueryId(fe, 0));
    assert.notEqual(nowId, oldId, 'the shipped program replaced the old one');
    const fd = progFdById(nowId);
    try {
      assert.equal(progInfo(fd).name, 'lbdsr_xdp');
    } finally {
      closeFd(fd);
    }
    assert.equal((await p2.sessions(10))[0]?.backend, 7, 'the session table was kept');
    await sendUdp(lab.client, lab.vip, 5);
    assert.equal(await sink.waitFor(10), 10);
    assert.equal((await p2.stats()).sessions.hit, 9, 'the old session is hit after the swap');
  } finally {
    sink.stop();
    old.close();
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
    await lab.destroy();
  }
});

/** xdpSupport as the daemon runs it: inside the balancer's namespace (with its own sysfs). */
async function autoChoice(lab: Lab, ports: ResolvedPorts): Promise<string> {
  const mod = new URL('../../src/dataplane/xdp/support.js', import.meta.url).href;
  const script = `const { xdpSupport } = await import(${JSON.stringify(mod)}); console.log(await xdpSupport(${JSON.stringify(ports)}));`;
  const out = await must('ip', [
    'netns',
    'exec',
    lab.lb,
    process.execPath,
    '--input-type=module',
    '-e',
    script,
  ]);
  return out.trim();
}

test('automatic choice: generic XDP for veth ports whose peers cannot be seen, native when they are prepared', {
  skip,
  timeout: 60_000,
}, async () => {
  const lab = await buildLab();
  try {
    // The lab's veth peers are in other namespaces: native transmission into them cannot be verified.
    assert.equal(await autoChoice(lab, lab.ports), 'XDP_SKB');
    // Two veth pairs inside the balancer's namespace, each peer with an XDP program: native.
    const pass = new URL('../../../bpf/pass.bpf.o', import.meta.url).pathname;
    for (const [a, b] of [
      ['xf', 'xfp'],
      ['xb', 'xbp'],
    ] as const) {
      await must('ip', ['-n', lab.lb, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await must('ip', ['-n', lab.lb, 'link', 'set', a, 'up']);
      await must('ip', ['-n', lab.lb, 'link', 'set', b, 'up']);
    }
    const j = JSON.parse(await must('ip', ['-n', lab.lb, '-j', 'link', 'show'])) as {
      ifname: string;
      ifindex: number;
      address: string;
    }[];
    const port = (n: string) => {
      const d = j.find((x) => x.ifname === n)!;
      return { name: n, ifname: n, ifindex: d.ifindex, mac: d.address };
    };
    const ports = { frontend: port('xf'), backend: port('xb') };
    assert.equal(await autoChoice(lab, ports), 'XDP_SKB', 'peers without XDP program');
    for (const b of ['xfp', 'xbp']) {
      await must('ip', ['-n', lab.lb, 'link', 'set', 'dev', b, 'xdpgeneric', 'obj', pass, 'sec', 'xdp']);
    }
    assert.equal(await autoChoice(lab, ports), 'XDP_SKB', 'a generic program does not prepare a peer');
    for (const b of ['xfp', 'xbp']) {
      await must('ip', ['-n', lab.lb, 'link', 'set', 'dev', b, 'xdpgeneric', 'off']);
      await must('ip', ['-n', lab.lb, 'link', 'set', 'dev', b, 'xdpdrv', 'obj', pass, 'sec', 'xdp']);
    }
    assert.equal(await autoChoice(lab, ports), 'XDP_DRV', 'peers prepared');
  } finally {
    await lab.destroy();
  }
});
