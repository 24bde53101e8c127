// A new session capacity in the XDP plane (root): the most recently used sessions that fit are kept
// (by last-seen time), every counter is kept. The same rule as the pipeline's (test/unit/plan.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CNT_MAX, CNT_RX_PACKETS } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { MAP_KEYS, type MapFds, XdpMaps } from '../../src/dataplane/xdp/maps.js';
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

test('shrinking the session capacity keeps the most recently used sessions and every counter', {
  skip,
  timeout: 60_000,
}, async () => {
  const name = `c${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  const config: InstanceConfig = {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: [{ id: 4, mac: '02:00:00:00:00:04' }] },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 65_536 },
  };
  const total = 3000;
  const capacity = 1024;
  try {
    await drive(plane).apply(config, {});
    const maps = openPinned(name);
    const now = process.hrtime.bigint();
    // Session i was last seen i ms ago: 0 is the most recent. Written in a shuffled order, so that the
    // map's own order says nothing about recency.
    const order = Array.from({ length: total }, (_, i) => (i * 7919) % total);
    for (const i of order) {
      maps.writeSession({
        src: 0x0b000000 + i,
        dst: 0x0a000064,
        sport: 1000 + i,
        dport: 53,
        proto: 17,
        backendId: 4,
        slot: 0,
        lastSeenNs: now - BigInt(i) * 1_000_000n,
      });
    }
    // Non-zero global counters (per-CPU values, CPU 0 only).
    const counters = new Uint8Array(CNT_MAX * 8 * possibleCpus());
    const cdv = new DataView(counters.buffer);
    for (let c = 0; c < CNT_MAX; c++) cdv.setBigUint64(c * 8, BigInt(1000 + c), true);
    mapUpdate(maps.fds.counters, new Uint8Array(4), counters);
    maps.close();

    const before = await plane.stats();
    assert.equal(before.sessions.active, total);
    assert.equal(before.rx.packets, 1000 + CNT_RX_PACKETS, 'the written counters are read back');

    await drive(plane).apply({ ...config, sessions: { ...config.sessions, capacity } }, {});

    const kept = (await plane.sessions(total)).map((s) => s.sport - 1000);
    assert.ok(kept.length <= capacity, `at most the capacity is kept (${kept.length})`);
    assert.ok(kept.length >= capacity / 2, `most of the capacity is used (${kept.length})`);
    assert.ok(
      kept.every((i) => i < capacity),
      `only the ${capacity} most recent survive (oldest kept: ${Math.max(...kept)} ms)`,
    );
    for (let i = 0; i < 100; i++) assert.ok(kept.includes(i), `the session seen ${i} ms ago survives`);

    const after = await plane.stats();
    assert.deepEqual(
      { ...after, sessions: { ...after.sessions, active: 0 } },
      { ...before, sessions: { ...before.sessions, active: 0 } },
      'every counter is kept',
    );
    assert.equal(after.sessions.active, kept.length);
  } finally {
    await plane.close();
  }
});
