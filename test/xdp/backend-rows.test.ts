// The per-backend rows of the XDP plane's statistics (readout.ts backendRows) come from one batch lookup
// of the slots' counters: they must be what a lookup of each slot gives, for every live slot, with
// frames counted in many slots and slots freed in the middle of the range (root).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS } from '../../src/core/model.js';
import { backendRows } from '../../src/dataplane/xdp/readout.js';
import { udpFrame } from '../../src/packet/build.js';
import { instanceConfig } from '../lib/vectors.js';
import { xdpSkipReason } from './env.js';
import { XdpBalancer } from './harness.js';

const skip = xdpSkipReason();
const VIP = '10.0.0.100';
const FE_MAC = 'aa:bb:cc:dd:ee:ff';
const PORT_MAC = '02:00:00:00:00:fe';
const hex = (n: number) => n.toString(16).padStart(2, '0');

function poolOf(ids: number[]) {
  return ids.map((id) => ({ id, mac: `02:00:00:00:${hex(id >> 8)}:${hex(id & 255)}` }));
}

test('per-backend stats read in one batch equal a lookup per slot, for every live slot', { skip }, () => {
  const xdp = new XdpBalancer({ ...DEFAULT_SESSION_SETTINGS, capacity: 65_536 });
  try {
    xdp.setClock(1000);
    const ids = Array.from({ length: 600 }, (_, i) => i + 1);
    xdp.configure(
      instanceConfig({ frontend: { vip: VIP, mac: FE_MAC }, backend: { pool: poolOf(ids) } }),
      PORT_MAC,
    );
    for (let i = 0; i < 3000; i++) {
      const frame = udpFrame(
        { ethSrc: '02:aa:00:00:00:01', ethDst: FE_MAC, src: `11.0.${i >> 8}.${i & 255}`, dst: VIP },
        { sport: 1000 + (i % 50), dport: 53, payload: new Uint8Array(i % 7) },
      );
      xdp.process(frame, frame.length, PORT_FRONTEND, 1000);
    }
    // Free every third backend: the live slots are no longer one dense range.
    const kept = ids.filter((id) => id % 3 !== 0);
    xdp.configure(
      instanceConfig({ frontend: { vip: VIP, mac: FE_MAC }, backend: { pool: poolOf(kept) } }),
      PORT_MAC,
    );
    const rows = backendRows(xdp.mirror, xdp.maps);
    assert.deepEqual(
      rows.map((r) => r.id),
      kept,
    );
    let packets = 0;
    const bySlot = new Map(xdp.mirror.liveSlots().map((s) => [s.id, s.slot]));
    for (const r of rows) {
      const one = xdp.maps.readBackendStats(bySlot.get(r.id)!);
      assert.deepEqual({ packets: r.packets, bytes: r.bytes, sessions: r.sessions }, one, `backend ${r.id}`);
      packets += r.packets;
    }
    assert.ok(packets > 1000, `frames were counted in the kept backends' slots (${packets})`);
  } finally {
    xdp.close();
  }
});
