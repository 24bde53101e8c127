// IPv6 sessions in the XDP plane (root): lbdsr_sessions6 is read beside lbdsr_sessions everywhere the
// plane reports sessions: the listing (both families by recency, IPv6 addresses as text, ICMPv6 as
// 'ICMPV6'), the active count of stats(), the live sessions per backend (sessionCounts), and a new
// capacity, which keeps the most recent sessions of each family's table. ND replies are counted in
// stats() as frames sent on the FRONTEND port. The daemon's memory check costs both session maps as
// the kernel charges them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '../../src/core/addr.js';
import { CNT_ARP_REPLY, CNT_MAX, CNT_ND_REPLY, CNT_RX_PACKETS } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { xdpSessionBytes } from '../../src/daemon/limits.js';
import { MAP_KEYS, type MapFds, XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { mapUpdate, objGet, possibleCpus } from '../../src/kernel/libbpf.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

function openPinned(name: string): XdpMaps {
  const fds = {} as MapFds;
  for (const k of MAP_KEYS) fds[k] = objGet(`/sys/fs/bpf/lbdsr/${name}/map_${k}`);
  return new XdpMaps(fds);
}

function config(name: string, capacity: number): InstanceConfig {
  return {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', vip6: 'fd00::100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: [{ id: 4, mac: '02:00:00:00:00:04' }] },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity },
  };
}

/** Client address i (IPv6: 2001:db8::i). */
function client6(i: number): Uint8Array {
  const a = parseIpv6('2001:db8::');
  new DataView(a.buffer).setUint32(12, i);
  return a;
}

test('sessions(), stats() and sessionCounts() read the IPv6 session table beside the IPv4 one', {
  skip,
}, async () => {
  const name = `s6${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  try {
    await drive(plane).apply(config(name, 4096), {});
    const maps = openPinned(name);
    const slot = maps.readBackends().find((b) => b.id === 4)!.slot;
    const now = process.hrtime.bigint();
    const ms = (n: number) => BigInt(n) * 1_000_000n;
    // Interleaved by recency: v6 TCP 0 ms ago, v4 UDP 1 ms, v6 ICMPv6 2 ms, v4 TCP 3 ms; one v6
    // session idle past the UDP timeout, one naming a slot its backend does not hold.
    const vip6 = parseIpv6('fd00::100');
    maps.writeSession6({
      src: client6(1),
      dst: vip6,
      sport: 40000,
      dport: 80,
      proto: 6,
      backendId: 4,
      slot,
      lastSeenNs: now,
    });
    maps.writeSession({
      src: parseIpv4('192.0.2.1'),
      dst: parseIpv4('10.0.0.100'),
      sport: 5353,
      dport: 53,
      proto: 17,
      backendId: 4,
      slot,
      lastSeenNs: now - ms(1),
    });
    maps.writeSession6({
      src: client6(2),
      dst: vip6,
      sport: 0,
      dport: 0,
      proto: 58,
      backendId: 4,
      slot,
      lastSeenNs: now - ms(2),
    });
    maps.writeSession({
      src: parseIpv4('192.0.2.2'),
      dst: parseIpv4('10.0.0.100'),
      sport: 40001,
      dport: 80,
      proto: 6,
      backendId: 4,
      slot,
      lastSeenNs: now - ms(3),
    });
    maps.writeSession6({
      src: client6(3),
      dst: vip6,
      sport: 1,
      dport: 53,
      proto: 17,
      backendId: 4,
      slot,
      lastSeenNs: now - ms(3_600_000),
    });
    maps.writeSession6({
      src: client6(4),
      dst: vip6,
      sport: 2,
      dport: 80,
      proto: 6,
      backendId: 9,
      slot,
      lastSeenNs: now - ms(4),
    });
    maps.close();

    const got = await plane.sessions(4);
    assert.deepEqual(
      got.map((s) => `${s.proto} ${s.src}:${s.sport} > ${s.dst}:${s.dport} b${s.backend}`),
      [
        'TCP 2001:db8::1:40000 > fd00::100:80 b4',
        'UDP 192.0.2.1:5353 > 10.0.0.100:53 b4',
        'ICMPV6 2001:db8::2:0 > fd00::100:0 b4',
        'TCP 192.0.2.2:40001 > 10.0.0.100:80 b4',
      ],
      'both families, the most recent first',
    );
    const all = await plane.sessions(100);
    assert.equal(all.length, 5, 'the idle IPv6 session is left out');
    const st = await plane.stats();
    assert.equal(st.sessions.active, 5, 'active counts the live sessions of both tables');
    const counts = await plane.sessionCounts();
    assert.deepEqual([...counts], [[slot, 4]], 'the live sessions of backend 4, both families');
  } finally {
    await plane.close();
  }
});

test('a new capacity keeps the most recent sessions of each family; ND replies count as FRONTEND frames', {
  skip,
  timeout: 60_000,
}, async () => {
  const name = `c6${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  const total = 2000;
  const capacity = 512;
  try {
    await drive(plane).apply(config(name, 16_384), {});
    const maps = openPinned(name);
    const now = process.hrtime.bigint();
    const order = Array.from({ length: total }, (_, i) => (i * 7919) % total);
    for (const i of order) {
      const common = {
        dport: 53,
        proto: 17,
        backendId: 4,
        slot: 0,
        lastSeenNs: now - BigInt(i) * 1_000_000n,
      };
      maps.writeSession({ src: 0x0b000000 + i, dst: 0x0a000064, sport: 1000 + i, ...common });
      maps.writeSession6({ src: client6(i), dst: parseIpv6('fd00::100'), sport: 1000 + i, ...common });
    }
    const counters = new Uint8Array(CNT_MAX * 8 * possibleCpus());
    const cdv = new DataView(counters.buffer);
    const put = (c: number, v: number) => cdv.setBigUint64(c * 8, BigInt(v), true);
    put(CNT_RX_PACKETS, 100);
    put(CNT_ARP_REPLY, 3);
    put(CNT_ND_REPLY, 5);
    mapUpdate(maps.fds.counters, new Uint8Array(4), counters);
    maps.close();

    const before = await plane.stats();
    assert.equal(before.ndReplies, 5);
    assert.equal(before.arpReplies, 3);
    assert.equal(before.tx.frontend, 8, 'ARP and ND replies both leave by the FRONTEND port');
    assert.equal(before.tx.backend, 100 - 8, 'the rest of the frames went to backends');
    assert.equal(before.sessions.active, 2 * total);

    await drive(plane).apply(config(name, capacity), {});
    const kept = await plane.sessions(2 * total);
    for (const fam of ['.', ':']) {
      const ages = kept.filter((s) => s.src.includes(fam)).map((s) => s.sport - 1000);
      const label = fam === '.' ? 'IPv4' : 'IPv6';
      assert.ok(ages.length <= capacity, `${label}: at most the capacity is kept (${ages.length})`);
      assert.ok(ages.length >= capacity / 2, `${label}: most of the capacity is used (${ages.length})`);
      assert.ok(
        ages.every((i) => i < capacity),
        `${label}: only the ${capacity} most recent survive`,
      );
      for (let i = 0; i < 50; i++)
        assert.ok(ages.includes(i), `${label}: the session seen ${i} ms ago survives`);
    }
    const after = await plane.stats();
    assert.equal(after.ndReplies, 5, 'counters are kept');
    assert.equal(after.sessions.active, kept.length);
  } finally {
    await plane.close();
  }
});

test('the memory check costs both session maps as the kernel charges them (fdinfo memlock)', { skip }, () => {
  for (const capacity of [100_000, 1_000_000]) {
    const ld = loadLbdsr({ capacity });
    try {
      const memlock = (fd: number) =>
        Number(/memlock:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? Number.NaN);
      const kernel = memlock(ld.fds.sessions) + memlock(ld.fds.sessions6);
      const ours = xdpSessionBytes(capacity);
      assert.ok(
        Math.abs(kernel - ours) / kernel < 0.01,
        `capacity ${capacity}: kernel ${kernel}, ours ${ours}`,
      );
    } finally {
      ld.obj.close();
    }
  }
});
