// The USERSPACE plane on real veth interfaces in namespaces: frames injected on the client side come
// out rewritten on the backend side, ARP is answered, dropped frames stay dropped, counters follow, and a
// re-created interface is picked up again.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { InstanceConfig } from '../../src/core/model.js';
import { UserspacePlane } from '../../src/dataplane/userspace/plane.js';
import type { RawSocket } from '../../src/kernel/afpacket.js';
import {
  ARP_OP_REQUEST,
  arp,
  ETH_P_ARP,
  ETH_P_IPV4,
  ethernet,
  ipv4,
  padTo,
  udp,
} from '../../src/packet/build.js';
import { NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, naFrame, nsFrame } from '../../src/packet/build6.js';
import { FrameGenerator } from '../../testkit/afgen.js';
import { ipSync as ip, nsExec } from '../../testkit/exec.js';
import { makeTopo, type Topo } from '../../testkit/line.js';
import { rawIn } from '../../testkit/raw.js';
import { rootSkip } from '../../testkit/root.js';
import { sleep, waitFor } from '../../testkit/timing.js';
import { drive } from '../lib/drive.js';

const skip = rootSkip('the USERSPACE plane test (network namespaces, AF_PACKET)');

const VIP = '10.0.0.100';
const VIP6 = 'fd00::100';
const FE_MAC = '02:fe:00:00:00:01';
const CLIENT_MAC = '02:c1:00:00:00:01';
const BACKENDS = [
  { id: 1, mac: '02:b0:00:00:00:01' },
  { id: 2, mac: '02:b0:00:00:00:02' },
  { id: 3, mac: '02:b0:00:00:00:03' },
];

function config(t: Topo): InstanceConfig {
  return {
    name: 'ut',
    type: 'USERSPACE',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [
      { name: 'fp', type: 'FRONTEND', peer: t.fe },
      { name: 'bp', type: 'BACKEND', peer: t.be },
    ],
    frontend: { vip: VIP, vip6: VIP6, mac: FE_MAC },
    backend: { pool: BACKENDS },
    sessions: { capacity: 65536, timeouts: { tcp: 600, udp: 60, icmp: 30 } },
  };
}

function macOf(b: Uint8Array, off: number): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function udpFrame(sport: number, opts: { dst?: string; dstMac?: string; marker: number }): Uint8Array {
  const payload = new Uint8Array(32);
  new DataView(payload.buffer).setUint32(0, opts.marker);
  const dst = opts.dst ?? VIP;
  const seg = udp({ sport, dport: 5000, payload, pseudo: { src: '10.0.0.1', dst } });
  return padTo(
    ethernet({
      dst: opts.dstMac ?? FE_MAC,
      src: CLIENT_MAC,
      type: ETH_P_IPV4,
      payload: ipv4({ src: '10.0.0.1', dst, proto: 17, payload: seg }),
    }),
  );
}

function markerOf(f: Uint8Array): number {
  if (f.length < 14 + 20 + 8 + 4 || f[12] !== 0x08 || f[13] !== 0x00) return -1;
  return new DataView(f.buffer, f.byteOffset).getUint32(14 + 20 + 8);
}

/** Frames received on `s` within `ms` (bounded) that satisfy `pred`. */
async function collect(s: RawSocket, ms: number, pred: (f: Uint8Array) => boolean, want = Infinity) {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  const end = Date.now() + ms;
  while (Date.now() < end && out.length < want) {
    for (let i = 0; i < 1000; i++) {
      const f = s.recvNow(buf);
      if (!f) break;
      if (pred(f)) out.push(f);
    }
    await sleep(5);
  }
  return out;
}

/** Frames the kernel received on `dev` in `ns`. */
function rxPackets(ns: string, dev: string): number {
  const [link] = JSON.parse(ip('-n', ns, '-s', '-j', 'link', 'show', 'dev', dev)) as {
    stats64: { rx: { packets: number } };
  }[];
  if (!link) throw new Error(`${dev} not found in ${ns}`);
  return link.stats64.rx.packets;
}

describe('USERSPACE plane on veth', { skip, timeout: 60_000 }, () => {
  let t: Topo;
  let plane: UserspacePlane;
  let client: RawSocket;
  let backend: RawSocket;
  const logs: string[] = [];

  before(async () => {
    t = makeTopo('ut');
    plane = new UserspacePlane('ut', { netns: t.lb, log: (l, m) => logs.push(`${l}: ${m}`) });
    await drive(plane).apply(config(t), {});
    client = rawIn(t.cl, t.clIf, true);
    backend = rawIn(t.bk, t.bkIf, true);
  });

  after(async () => {
    try {
      client?.close();
      backend?.close();
      await plane?.close();
    } finally {
      t?.destroy();
    }
  });

  it('attaches both ports', async () => {
    const h = await plane.health();
    assert.ok(h);
    assert.equal(h.frontend.attached, true, JSON.stringify(h));
    assert.equal(h.backend.attached, true, JSON.stringify(h));
    assert.equal(h.frontend.up, true);
  });

  it('forwards a VIP frame to a backend with the backend MAC and the backend port MAC', async () => {
    const sent = udpFrame(40000, { marker: 0x1001 });
    client.send(sent);
    const got = await collect(backend, 2000, (f) => markerOf(f) === 0x1001, 1);
    assert.equal(got.length, 1, `no frame on the backend side; logs: ${logs.join(' | ')}`);
    const f = got[0]!;
    assert.ok(
      BACKENDS.some((b) => b.mac === macOf(f, 0)),
      `dst ${macOf(f, 0)}`,
    );
    assert.equal(macOf(f, 6), t.beMac);
    assert.deepEqual(f.subarray(12), sent.subarray(12), 'only the MACs change');
  });

  it('keeps a flow on one backend and spreads many flows over all backends', async () => {
    for (let i = 0; i < 5; i++) client.send(udpFrame(40001, { marker: 0x2000 + i }));
    const same = await collect(backend, 2000, (f) => (markerOf(f) & 0xfff0) === 0x2000, 5);
    assert.equal(same.length, 5);
    assert.equal(new Set(same.map((f) => macOf(f, 0))).size, 1);
    for (let i = 0; i < 60; i++) client.send(udpFrame(41000 + i, { marker: 0x3000 + i }));
    const many = await collect(backend, 3000, (f) => (markerOf(f) & 0xff00) === 0x3000, 60);
    assert.equal(many.length, 60);
    assert.equal(new Set(many.map((f) => macOf(f, 0))).size, 3);
  });

  it('answers ARP for the VIP with the frontend MAC', async () => {
    const req = padTo(
      ethernet({
        dst: 'ff:ff:ff:ff:ff:ff',
        src: CLIENT_MAC,
        type: ETH_P_ARP,
        payload: arp({ op: ARP_OP_REQUEST, senderMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: VIP }),
      }),
    );
    client.send(req);
    const got = await collect(client, 2000, (f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2, 1);
    assert.equal(got.length, 1, 'no ARP reply');
    const r = got[0]!;
    assert.equal(macOf(r, 0), CLIENT_MAC);
    assert.equal(macOf(r, 6), FE_MAC);
    assert.equal(macOf(r, 22), FE_MAC, 'sender hardware address');
    assert.deepEqual(Array.from(r.subarray(28, 32)), [10, 0, 0, 100], 'sender IP = VIP');
  });

  it('drops frames for another IP, another MAC or with a VLAN tag, and counts them', async () => {
    const before = await plane.stats();
    client.send(udpFrame(42000, { dst: '10.0.0.99', marker: 0x4001 }));
    client.send(udpFrame(42001, { dstMac: '02:99:00:00:00:99', marker: 0x4002 }));
    const got = await collect(backend, 500, (f) => (markerOf(f) & 0xff00) === 0x4000);
    assert.equal(got.length, 0);
    // An 802.1Q-tagged frame: the kernel moves the tag into the ring header, the plane puts it back,
    // and the pipeline drops it as VLAN (with the tag counted in the bytes).
    const tagged = udpFrame(42002, { marker: 0x4003 });
    client.send(
      ethernet({
        dst: FE_MAC,
        src: CLIENT_MAC,
        type: ETH_P_IPV4,
        vlans: [{ tci: 7 }],
        payload: tagged.subarray(14),
      }),
    );
    assert.equal((await collect(backend, 500, (f) => (markerOf(f) & 0xff00) === 0x4000)).length, 0);
    const after = await plane.stats();
    assert.equal(after.drops.NOT_VIP! - before.drops.NOT_VIP!, 1);
    assert.equal(after.drops.DST_MAC! - before.drops.DST_MAC!, 1);
    assert.equal(after.drops.VLAN! - before.drops.VLAN!, 1);
    assert.equal(after.rx.packets - before.rx.packets, 3);
    assert.equal(after.rx.bytes - before.rx.bytes, tagged.length * 2 + tagged.length + 4);
  });

  it('reports counters and sessions', async () => {
    const s = await plane.stats();
    // 1 + 5 + 60 forwarded frames, 1 ARP reply.
    assert.equal(s.tx.backend, 66);
    assert.equal(s.tx.frontend, 1);
    assert.equal(s.arpReplies, 1);
    assert.equal(
      s.backends.reduce((a, b) => a + b.packets, 0),
      66,
    );
    assert.equal(s.sessions.miss, 62);
    const sessions = await plane.sessions(1000);
    assert.equal(sessions.length, 62);
    assert.ok(sessions.some((e) => e.sport === 40001 && e.dst === VIP && e.proto === 'UDP'));
  });

  it('picks the frontend interface up again after it was deleted and re-created', async () => {
    client.close();
    t.recreateFrontend();
    client = rawIn(t.cl, t.clIf, true);
    await waitFor(async () => ((await plane.health())?.frontend.opens ?? 0) >= 2);
    const h = await plane.health();
    assert.equal(h?.frontend.opens, 2, JSON.stringify(h));
    assert.equal(h?.frontend.attached, true);
    client.send(udpFrame(40000, { marker: 0x5001 }));
    const got = await collect(backend, 2000, (f) => markerOf(f) === 0x5001, 1);
    assert.equal(got.length, 1, `no traffic after re-creation; logs: ${logs.join(' | ')}`);
  });

  it('applies a config change at once and keeps sessions', async () => {
    const before = await plane.stats();
    const c = config(t);
    c.backend.pool = [...BACKENDS, { id: 4, mac: '02:b0:00:00:00:04' }];
    await drive(plane).apply(c, {});
    client.send(udpFrame(40001, { marker: 0x6001 }));
    const got = await collect(backend, 2000, (f) => markerOf(f) === 0x6001, 1);
    assert.equal(got.length, 1);
    const after = await plane.stats();
    assert.equal(after.sessions.hit - before.sessions.hit, 1, 'the existing session was used');
    assert.equal(after.backends.length, 4);
    await assert.rejects(drive(plane).apply({ ...c, frontend: { vip: 'nope', mac: FE_MAC } }, {}), /./);
    client.send(udpFrame(40001, { marker: 0x6002 }));
    assert.equal((await collect(backend, 2000, (f) => markerOf(f) === 0x6002, 1)).length, 1);
  });

  it('port status follows the interface going down and up', async () => {
    ip('-n', t.lb, 'link', 'set', t.be, 'down');
    assert.equal(await waitFor(async () => (await plane.health())?.backend.up === false), true);
    ip('-n', t.lb, 'link', 'set', t.be, 'up');
    assert.equal(await waitFor(async () => (await plane.health())?.backend.up === true), true);
    client.send(udpFrame(40000, { marker: 0x7001 }));
    assert.equal((await collect(backend, 2000, (f) => markerOf(f) === 0x7001, 1)).length, 1);
  });

  it('a re-created backend interface with a new MAC is re-attached and its MAC becomes the source MAC', async () => {
    backend.close();
    const newMac = '02:be:00:00:00:02';
    t.recreateBackend(newMac);
    backend = rawIn(t.bk, t.bkIf, true);
    assert.equal(await waitFor(async () => (await plane.health())?.backend.opens === 2), true);
    client.send(udpFrame(40000, { marker: 0x8001 }));
    const got = await collect(backend, 2000, (f) => markerOf(f) === 0x8001, 1);
    assert.equal(got.length, 1);
    assert.equal(macOf(got[0]!, 6), newMac);
  });

  it('keeps the caller responsive under a flood, and accounts for every frame', async () => {
    const gen = await FrameGenerator.open(t.cl, t.clIf);
    try {
      const feRx = () => rxPackets(t.lb, t.fe);
      const s0 = await plane.stats();
      const h0 = (await plane.health())!;
      const a0 = feRx();
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const done = gen.send(200_000, 600);
      let slowest = 0;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await plane.stats();
        slowest = Math.max(slowest, performance.now() - t0);
        await sleep(80);
      }
      const { sent } = await done;
      delay.disable();
      // The rings drain after the generator stops: wait (bounded) until every arrived frame is accounted.
      const accounted = async () => {
        const s = await plane.stats();
        const h = (await plane.health())!;
        return s.rx.packets - s0.rx.packets + (h.rxRingDrops - h0.rxRingDrops);
      };
      await waitFor(async () => (await accounted()) === feRx() - a0);
      const s1 = await plane.stats();
      const h1 = (await plane.health())!;
      const arrived = feRx() - a0;
      assert.ok(sent >= 100_000, `sent ${sent}`);
      // Every frame that reached the interface was either decided by the pipeline or dropped by a full ring.
      assert.equal(s1.rx.packets - s0.rx.packets + (h1.rxRingDrops - h0.rxRingDrops), arrived);
      assert.ok(s1.tx.backend - s0.tx.backend > 0);
      assert.ok(slowest < 1000, `stats() took ${slowest.toFixed(0)} ms under load`);
      assert.ok(delay.max / 1e6 < 200, `event loop delay up to ${(delay.max / 1e6).toFixed(0)} ms`);
      assert.equal(h1.errors, 0);
    } finally {
      gen.close();
    }
  });

  it('does not read frames arriving on the backend port', async () => {
    const before = await plane.stats();
    const beRx = () => rxPackets(t.lb, t.be);
    const be0 = beRx();
    const toLb = rawIn(t.bk, t.bkIf, false);
    try {
      toLb.send(udpFrame(43000, { marker: 0x9001 }));
    } finally {
      toLb.close();
    }
    // The frame reached the backend port; then a frontend frame goes through: the worker polled its
    // rings after the backend frame arrived, and counted only the frontend one.
    assert.equal(await waitFor(() => beRx() > be0), true, 'the frame reached the backend port');
    // The capture socket may still be full of the flood's frames: drain it first, or the frame that is
    // forwarded at once would find no room in it.
    const buf = new Uint8Array(65536);
    while (backend.recvNow(buf)) {}
    client.send(udpFrame(40000, { marker: 0x9002 }));
    assert.equal((await collect(backend, 2000, (f) => markerOf(f) === 0x9002, 1)).length, 1);
    await waitFor(async () => (await plane.stats()).rx.packets > before.rx.packets);
    const after = await plane.stats();
    assert.equal(after.rx.packets, before.rx.packets + 1);
  });

  it('answers a Neighbor Solicitation for the IPv6 VIP with the whole 86-byte advertisement', async () => {
    const before = await plane.stats();
    // 78 bytes without the source link-layer option: the answer written over it is longer
    const ns = nsFrame({ srcMac: CLIENT_MAC, src: 'fe80::c1', target: VIP6, sllao: false });
    assert.equal(ns.length, 78);
    client.send(ns);
    const isNa = (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[54] === 136;
    const got = await collect(client, 2000, isNa, 1);
    assert.equal(got.length, 1, 'no Neighbor Advertisement');
    const want = naFrame({
      srcMac: FE_MAC,
      dstMac: CLIENT_MAC,
      src: VIP6,
      dst: 'fe80::c1',
      target: VIP6,
      flags: NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
      tllaoMac: FE_MAC,
    });
    assert.equal(Buffer.from(got[0]!).toString('hex'), Buffer.from(want).toString('hex'));
    await waitFor(async () => ((await plane.stats()).ndReplies ?? 0) > (before.ndReplies ?? 0));
    const after = await plane.stats();
    assert.equal((after.ndReplies ?? 0) - (before.ndReplies ?? 0), 1);
    assert.equal(after.tx.frontendBytes! - before.tx.frontendBytes!, 86);
  });
});

describe('USERSPACE plane lifecycle', { skip, timeout: 60_000 }, () => {
  it('waits for interfaces that do not exist yet, and close() leaves no packet socket behind', async () => {
    const t = makeTopo('uu');
    const plane = new UserspacePlane('uu', { netns: t.lb, log: () => {} });
    try {
      const c = config(t);
      c.ports = [
        { name: 'fp', type: 'FRONTEND', peer: 'later0' },
        { name: 'bp', type: 'BACKEND', peer: t.be },
      ];
      await drive(plane).apply(c, {});
      let h = await plane.health();
      assert.equal(h?.frontend.attached, false);
      assert.equal(h?.backend.attached, true);
      ip('-n', t.lb, 'link', 'add', 'later0', 'type', 'veth', 'peer', 'name', 'later1');
      ip('-n', t.lb, 'link', 'set', 'later1', 'up');
      ip('-n', t.lb, 'link', 'set', 'later0', 'up');
      assert.equal(await waitFor(async () => (await plane.health())?.frontend.attached === true), true);
      h = await plane.health();
      assert.equal(h?.frontend.opens, 1);
      const sockets = () => nsExec(t.lb, 'cat', '/proc/net/packet').trim().split('\n').length - 1;
      assert.equal(sockets(), 2, 'a frontend and a backend socket');
      await plane.close();
      assert.equal(sockets(), 0, 'every packet socket closed');
      await assert.rejects(drive(plane).apply(c, {}), /closed/);
    } finally {
      await plane.close();
      t.destroy();
    }
  });
});

for (const rxMode of ['frames', 'blocks'] as const) {
  describe(`USERSPACE plane one-arm (both ports on one interface, ${rxMode} ring)`, {
    skip,
    timeout: 60_000,
  }, () => {
    it('balances back out of the interface it came in on, answers ARP there, and counts both', async () => {
      const t = makeTopo(rxMode === 'frames' ? 'u1' : 'u3');
      const plane = new UserspacePlane('oa', { netns: t.lb, log: () => {}, rings: { rxMode } });
      let client: RawSocket | undefined;
      try {
        const cfg = config(t);
        cfg.ports = [
          { name: 'fp', type: 'FRONTEND', peer: t.fe },
          { name: 'bp', type: 'BACKEND', peer: t.fe },
        ];
        const [link] = JSON.parse(ip('-n', t.lb, '-j', 'link', 'show', 'dev', t.fe)) as { address: string }[];
        const feIfMac = link?.address;
        await drive(plane).apply(cfg, {});
        assert.equal(
          await waitFor(async () => (await plane.health())?.backend.attached === true),
          true,
          'the backend port attached to the one interface',
        );
        const h = await plane.health();
        assert.equal(h?.backend.ifindex, h?.frontend.ifindex);
        client = rawIn(t.cl, t.clIf, true);
        for (let i = 0; i < 20; i++) client.send(udpFrame(43000 + i, { marker: 0x8000 + i }));
        const back = await collect(client, 3000, (f) => (markerOf(f) & 0xff00) === 0x8000, 20);
        assert.equal(back.length, 20, 'every frame balanced back out of the one interface');
        for (const f of back) {
          assert.ok(
            BACKENDS.some((b) => b.mac === macOf(f, 0)),
            `dst ${macOf(f, 0)}`,
          );
          assert.equal(macOf(f, 6), feIfMac, "the interface's MAC as the source");
        }
        client.send(
          padTo(
            ethernet({
              dst: 'ff:ff:ff:ff:ff:ff',
              src: CLIENT_MAC,
              type: ETH_P_ARP,
              payload: arp({
                op: ARP_OP_REQUEST,
                senderMac: CLIENT_MAC,
                senderIp: '10.0.0.1',
                targetIp: VIP,
              }),
            }),
          ),
        );
        const reply = await collect(client, 2000, (f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2, 1);
        assert.equal(reply.length, 1, 'the ARP reply leaves through the one interface too');
        assert.equal(macOf(reply[0]!, 6), FE_MAC);
        const st = await plane.stats();
        assert.equal(st.tx.backend, 20);
        assert.equal(st.tx.frontend, 1);
        assert.equal(st.arpReplies, 1);
        assert.equal(st.drops.TX_FAILED, 0);
      } finally {
        client?.close();
        await plane.close();
        t.destroy();
      }
    });
  });
}

describe('USERSPACE plane latency at low rates', { skip, timeout: 60_000 }, () => {
  it('hands a single frame on at once, whatever the V3 retire timer says', async () => {
    // A block ring hands a frame over when its block is full or its retire timer fires: with the timer
    // at 10 s, a lone frame would wait 10 s. The frontend ring must hand each frame over by itself.
    const t = makeTopo('ul');
    const plane = new UserspacePlane('ul', { netns: t.lb, log: () => {}, rings: { retireMs: 10_000 } });
    let client: RawSocket | undefined;
    let backend: RawSocket | undefined;
    try {
      await drive(plane).apply(config(t), {});
      assert.equal(await waitFor(async () => (await plane.health())?.frontend.attached === true), true);
      client = rawIn(t.cl, t.clIf, false);
      backend = rawIn(t.bk, t.bkIf, true);
      for (let i = 0; i < 3; i++) {
        client.send(udpFrame(41000 + i, { marker: 0x7000 + i }));
        const got = await collect(backend, 1000, (f) => markerOf(f) === 0x7000 + i, 1);
        assert.equal(got.length, 1, `frame ${i} did not arrive within 1 s of being sent`);
      }
    } finally {
      client?.close();
      backend?.close();
      await plane.close();
      t.destroy();
    }
  });
});

describe('USERSPACE plane supervision', { skip, timeout: 60_000 }, () => {
  it('a worker that dies is logged, shows FAILED with the reason, is restarted and counted', async () => {
    const crashFile = join(tmpdir(), `lbdsr-crash-${process.pid}`);
    process.env.LBDSR_TEST_CRASH_FILE = crashFile;
    const t = makeTopo('us');
    const logs: string[] = [];
    // The first restart waits 1.5 s, so that the FAILED state can be seen before it ends.
    const plane = new UserspacePlane('us', {
      netns: t.lb,
      log: (l, m) => logs.push(`${l}: ${m}`),
      restartMs: 1500,
    });
    let client: RawSocket | undefined;
    let backend: RawSocket | undefined;
    const forwards = async (marker: number) => {
      client!.send(udpFrame(42000, { marker }));
      return (await collect(backend!, 1000, (f) => markerOf(f) === marker, 1)).length === 1;
    };
    try {
      await drive(plane).apply(config(t), {});
      client = rawIn(t.cl, t.clIf, false);
      backend = rawIn(t.bk, t.bkIf, true);
      assert.equal(await waitFor(() => forwards(0x8000)), true, 'forwards before the crash');
      assert.deepEqual(plane.status(), { status: 'RUNNING', restarts: 0 });
      plane.crashForTest();
      assert.equal(await waitFor(async () => plane.status().status === 'FAILED', { intervalMs: 20 }), true);
      assert.match(plane.status().reason ?? '', /asked to crash/);
      const failed = await plane.stats();
      assert.equal(failed.plane?.status, 'FAILED');
      assert.match(failed.plane?.reason ?? '', /asked to crash/);
      assert.ok(
        logs.some((l) => /^error: .*FAILED: .*asked to crash/.test(l)),
        `the failure is logged: ${logs.join(' | ')}`,
      );
      assert.equal(
        await waitFor(async () => plane.status().status === 'RUNNING', { timeoutMs: 10_000 }),
        true,
      );
      assert.deepEqual(plane.status(), { status: 'RUNNING', restarts: 1 });
      assert.equal(await waitFor(() => forwards(0x8001)), true, 'forwards after the restart');
      const s = await plane.stats();
      assert.equal(s.plane?.restarts, 1);
      assert.equal(s.plane?.status, 'RUNNING');
      assert.equal(s.plane?.rxRingDrops, 0);
      assert.ok(s.sessions.active >= 1, 'the restarted worker decides frames again');
    } finally {
      delete process.env.LBDSR_TEST_CRASH_FILE;
      client?.close();
      backend?.close();
      await plane.close();
      t.destroy();
    }
  });
});
