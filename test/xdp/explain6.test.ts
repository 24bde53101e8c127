// The XDP plane's explain (the kernel's lbdsr_explain on the instance's own maps) of IPv6 frames, as
// `lbdsrctl ... explain` shows them: a Neighbor Solicitation for the IPv6 VIP is answered with the
// 86-byte advertisement (TX_FRONTEND), a TCP SYN to it goes to the backend Maglev picks, a flow with
// a session in lbdsr_sessions6 is explained as that session's hit, and a frame for no VIP is NOT_VIP.
// Nothing is recorded: the session table and the counters stay as they were.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { parseIpv6 } from '../../src/core/addr.js';
import { ACT_TX_BACKEND, ACT_TX_FRONTEND, DROP_NOT_VIP, PORT_FRONTEND } from '../../src/core/constants.js';
import type { InstanceConfig } from '../../src/core/model.js';
import { MAP_KEYS, type MapFds, XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { objGet } from '../../src/kernel/libbpf.js';
import { NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, naFrame, nsFrame, tcp6Frame } from '../../src/packet/build6.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, labConfig } from './netns.js';

const skip = xdpSkipReason();

const FE = 'aa:bb:cc:dd:ee:01';
const CLIENT_MAC = '52:54:00:00:00:09';
const VIP6 = 'fd00::100';
const CLIENT = '2001:db8::7';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('XDP plane explain of IPv6 frames: NS answered, a SYN balanced, a recorded IPv6 session hit, NOT_VIP', {
  skip,
}, async () => {
  const lab = await buildLab();
  const name = `e6${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  const base = labConfig(lab, name, [
    { id: 4, mac: '02:00:00:00:00:04' },
    { id: 5, mac: '02:00:00:00:00:05' },
  ]);
  const config: InstanceConfig = { ...base, frontend: { vip6: VIP6, mac: FE } };
  try {
    await inNetns(lab.lb, () => drive(plane).apply(config, lab.ports));
    const ns = nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6 });
    const t = await plane.explain(ns, PORT_FRONTEND);
    assert.equal(t.verdict, ACT_TX_FRONTEND, 'the solicitation is answered');
    const na = naFrame({
      srcMac: FE,
      dstMac: CLIENT_MAC,
      src: VIP6,
      dst: CLIENT,
      target: VIP6,
      flags: NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
      tllaoMac: FE,
    });
    assert.equal(hex(t.output), hex(na), 'the advertisement, byte for byte');

    const syn = (sport: number) =>
      tcp6Frame(
        { ethDst: FE, ethSrc: CLIENT_MAC, src: CLIENT, dst: VIP6 },
        { sport, dport: 80, flags: 0x02 },
      );
    const miss = await plane.explain(syn(40000), PORT_FRONTEND);
    assert.equal(miss.verdict, ACT_TX_BACKEND);
    assert.equal(miss.entry, 0, 'no session: Maglev');
    assert.ok(miss.backendId === 4 || miss.backendId === 5, `backend ${miss.backendId}`);
    assert.equal(hex(miss.output.subarray(0, 6)), `02000000000${miss.backendId}`, 'to that backend');

    // A session of this flow in lbdsr_sessions6 naming the other backend: explain follows it.
    const other = miss.backendId === 4 ? 5 : 4;
    const fds = {} as MapFds;
    for (const k of MAP_KEYS) fds[k] = objGet(`/sys/fs/bpf/lbdsr/${name}/map_${k}`);
    const maps = new XdpMaps(fds);
    const slot = maps.readBackends().find((b) => b.id === other)!.slot;
    maps.writeSession6({
      src: parseIpv6(CLIENT),
      dst: parseIpv6(VIP6),
      sport: 40000,
      dport: 80,
      proto: 6,
      backendId: other,
      slot,
      lastSeenNs: process.hrtime.bigint(),
    });
    maps.close();
    const hit = await plane.explain(syn(40000), PORT_FRONTEND);
    assert.equal(hit.entry, 1, 'the IPv6 session is found');
    assert.equal(hit.sessionId, other);
    assert.equal(hit.backendId, other);
    assert.equal(hex(hit.output.subarray(0, 6)), `02000000000${other}`);

    const notVip = tcp6Frame(
      { ethDst: FE, ethSrc: CLIENT_MAC, src: CLIENT, dst: 'fd00::101' },
      { sport: 1, dport: 80, flags: 0x02 },
    );
    assert.equal((await plane.explain(notVip, PORT_FRONTEND)).verdict, DROP_NOT_VIP << 8);

    // (The lab's own hosts may send a router solicitation meanwhile: frames are not counted here.)
    const st = await plane.stats();
    assert.equal(st.ndReplies, 0, 'explain counts no advertisement');
    assert.equal(st.sessions.miss, 0, 'nor a session miss');
    assert.equal((await plane.sessions(10)).length, 1, 'and records no session (only the one written)');
  } finally {
    await inNetns(lab.lb, () => plane.close());
    rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
    await lab.destroy();
  }
});
