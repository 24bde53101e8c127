// sessionCounts() of the XDP plane: the kernel's session map walked once, live sessions counted per
// backend slot; idle-expired entries, entries recorded for another backend than the slot holds now,
// and entries of a slot that is not live (a DISABLED backend's) are nobody's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { MAP_KEYS, XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { objGet } from '../../src/kernel/libbpf.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

test('sessionCounts() counts the live sessions of each backend slot in the kernel table', {
  skip,
}, async () => {
  const name = `sc${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  const config: InstanceConfig = {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: {
      pool: [
        { id: 4, mac: '02:00:00:00:00:04' },
        { id: 7, mac: '02:00:00:00:00:07' },
        { id: 8, mac: '02:00:00:00:00:08', state: 'DISABLED' },
      ],
    },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 10_000 },
  };
  try {
    assert.deepEqual([...(await plane.sessionCounts())], [], 'nothing loaded: no sessions');
    const driver = drive(plane);
    await driver.apply(config, {});
    const slotOf = (id: number) => driver.control.slots.findIndex((s) => s?.id === id);
    const s4 = slotOf(4);
    const s7 = slotOf(7);
    const s8 = slotOf(8);
    assert.ok(s4 >= 0 && s7 >= 0 && s8 >= 0, 'a DISABLED backend holds its slot');
    const fds = {} as ConstructorParameters<typeof XdpMaps>[0];
    for (const k of MAP_KEYS) fds[k] = objGet(`/sys/fs/bpf/lbdsr/${name}/map_${k}`);
    const maps = new XdpMaps(fds);
    const now = process.hrtime.bigint();
    let n = 0;
    const write = (backendId: number, slot: number, idleS: number, proto = 17) =>
      maps.writeSession({
        src: 0x0b000000 + n++,
        dst: 0x0a000064,
        sport: 1000,
        dport: 53,
        proto,
        backendId,
        slot,
        lastSeenNs: now - BigInt(idleS) * 1_000_000_000n,
      });
    for (let i = 0; i < 5; i++) write(4, s4, 1); // live
    for (let i = 0; i < 3; i++) write(7, s7, 30); // live (UDP idles out after 60 s)
    write(7, s7, 100, 6); // TCP, 100 s idle: live (600 s)
    write(4, s4, 61); // UDP, idle out
    write(9, s4, 1); // recorded for backend 9, which no longer holds the slot: stale
    write(4, 4000, 1); // a slot that holds nothing
    write(8, s8, 1); // a DISABLED backend's slot is not live: its sessions move
    maps.close();
    const counts = await plane.sessionCounts();
    assert.deepEqual(
      [...counts].sort((a, b) => a[0] - b[0]),
      [
        [s4, 5],
        [s7, 4],
      ].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)),
    );
  } finally {
    await plane.close();
  }
});
