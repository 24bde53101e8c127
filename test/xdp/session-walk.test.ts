// The daemon's walks of the XDP session maps (stats with active sessions, the sessions listing, live
// sessions per backend) give the event loop back between chunks: a million sessions take the better
// part of a second to read, which requests arriving meanwhile must not wait for. A plane closed during
// a walk ends it with an error instead of reading fds that may name other objects by then (root).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIZEOF_FLOW_KEY, SIZEOF_SESSION } from '../../src/core/constants.js';
import { XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../../src/dataplane/xdp/mirror.js';
import { loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { readSessions, readStats } from '../../src/dataplane/xdp/readout.js';
import { mapUpdateBatch } from '../../src/kernel/libbpf.js';
import { dupCloexecRaw } from '../../src/kernel/libc.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();
const SESSIONS = 50_000;
const TIMEOUTS = { tcp: 1e12, udp: 1e12, icmp: 1e12 };

function withFilledMaps(fn: (l: { maps: XdpMaps; mirror: XdpMirror }) => Promise<void>): Promise<void> {
  const ld = loadLbdsr({ capacity: 65_536 });
  const maps = new XdpMaps(ld.fds);
  const keys = new Uint8Array(SESSIONS * SIZEOF_FLOW_KEY);
  const kv = new DataView(keys.buffer);
  for (let i = 0; i < SESSIONS; i++) {
    kv.setUint32(i * SIZEOF_FLOW_KEY, 0x0b000000 + i); // src, then dst, ports and protocol
    kv.setUint32(i * SIZEOF_FLOW_KEY + 4, 0x0a000064);
    keys[i * SIZEOF_FLOW_KEY + 12] = 17;
  }
  mapUpdateBatch(
    ld.fds.sessions,
    keys,
    new Uint8Array(SESSIONS * SIZEOF_SESSION),
    SESSIONS,
    SIZEOF_FLOW_KEY,
    SIZEOF_SESSION,
  );
  return fn({ maps, mirror: new XdpMirror(maps) }).finally(() => ld.obj.close());
}

test('a walk of the session maps lets other work run between its chunks, and counts every session', {
  skip,
}, async () => {
  await withFilledMaps(async (l) => {
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const stats = await readStats(l as never, TIMEOUTS, true);
    const listed = await readSessions(l as never, TIMEOUTS, 10);
    done = true;
    assert.equal(stats.sessions.active, SESSIONS);
    assert.equal(listed.length, 10);
    // 50,000 sessions are 13 chunks of 4,096: the event loop turned between them.
    assert.ok(turns >= 10, `the event loop turned ${turns} times during the walks`);
  });
});

test('a plane closed during a walk ends the walk with LBDSR_NOT_AVAILABLE', { skip }, async () => {
  await withFilledMaps(async (l) => {
    // A plane of its own over duplicates of the maps' fds: closing it leaves the object's fds alone.
    const fds = Object.fromEntries(Object.entries(l.maps.fds).map(([k, fd]) => [k, dupCloexecRaw(fd)]));
    const maps = new XdpMaps(fds as typeof l.maps.fds);
    const walk = readStats({ maps, mirror: new XdpMirror(maps) } as never, TIMEOUTS, true);
    maps.close();
    await assert.rejects(walk, (e: Error & { code?: string }) => e.code === 'LBDSR_NOT_AVAILABLE');
  });
});
