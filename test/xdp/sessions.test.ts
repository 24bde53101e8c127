// sessions() of the XDP plane on a large kernel table: the least idle first, bounded by `limit`, idle
// entries left out; stats() counts the live ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { MAP_KEYS, XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { objGet } from '../../src/kernel/libbpf.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

test('sessions(limit) returns the most recently used live sessions of a 100,000-entry table', {
  skip,
}, async () => {
  const name = `s${process.pid}`;
  const plane = new XdpPlane(name, 'XDP_SKB');
  const config: InstanceConfig = {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: [{ id: 4, mac: '02:00:00:00:00:04' }] },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 200_000 },
  };
  try {
    // No ports: the program is loaded and pinned but attached nowhere.
    await drive(plane).apply(config, {});
    const fds = {} as ConstructorParameters<typeof XdpMaps>[0];
    for (const k of MAP_KEYS) {
      fds[k] = objGet(`/sys/fs/bpf/lbdsr/${name}/map_${k}`);
    }
    const maps = new XdpMaps(fds);
    const now = process.hrtime.bigint();
    for (let i = 0; i < 100_000; i++) {
      // Entry i was last seen i ms ago; UDP times out after 60 s, so entries >= 60,000 are idle.
      maps.writeSession({
        src: 0x0b000000 + i,
        dst: 0x0a000064,
        sport: 1000 + (i % 1000),
        dport: 53,
        proto: 17,
        backendId: 4,
        slot: 0,
        lastSeenNs: now - BigInt(i) * 1_000_000n,
      });
    }
    maps.close();
    const got = await plane.sessions(5);
    // Everything between `now` and here (writing 100,000 entries takes ~0.6 s quiet, longer under load).
    const elapsedMs = Number((process.hrtime.bigint() - now) / 1_000_000n);
    assert.deepEqual(
      got.map((s) => s.src),
      ['11.0.0.0', '11.0.0.1', '11.0.0.2', '11.0.0.3', '11.0.0.4'],
    );
    assert.ok(got.every((s) => s.proto === 'UDP' && s.backend === 4 && s.dport === 53));
    // Idle times come from last_seen: read at one instant, entry i is exactly i ms older than entry 0 ...
    const first = got[0]?.idleMs ?? Number.NaN;
    assert.deepEqual(
      got.map((s) => s.idleMs - first),
      [0, 1, 2, 3, 4],
    );
    // ... and entry 4 is idle for 4 ms plus at most the time that has passed since `now`, whatever the load.
    const idle4 = got[4]?.idleMs ?? Number.NaN;
    assert.ok(idle4 >= 4 && idle4 <= 4 + elapsedMs + 1, `idle ${idle4} ms, elapsed ${elapsedMs} ms`);
    const st = await plane.stats();
    // Entries idle for up to 60 s at the instant stats() judged them: 60,000 minus the time that has
    // passed since `now` (seconds on a loaded machine), and the kernel's LRU map may evict a little
    // before its capacity (free nodes sit in per-CPU lists).
    const sinceMs = Number((process.hrtime.bigint() - now) / 1_000_000n);
    assert.ok(
      st.sessions.active >= 59_000 - sinceMs && st.sessions.active <= 60_001,
      `active ${st.sessions.active}, ${sinceMs} ms after the table was written`,
    );
  } finally {
    await plane.close();
  }
});
