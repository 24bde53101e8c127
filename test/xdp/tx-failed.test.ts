// A balanced frame the BACKEND port cannot take (issue 9 item 4, docs/semantics.md "A failed transmit"):
// in XDP an empty devmap entry. The frame is dropped as TX_FAILED and leaves no other trace: no session
// recorded or refreshed, no session counter, no backend counter. Run through BPF_PROG_TEST_RUN (root).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACT_DROP, ACT_TX_BACKEND, DROP_TX_FAILED } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { tcpFrame } from '../../src/packet/build.js';
import { xdpSkipReason } from './env.js';
import { XdpBalancer } from './harness.js';

const skip = xdpSkipReason();
const VIP_MAC = 'aa:bb:cc:dd:ee:ff';

const config: InstanceConfig = {
  name: 'txf',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: { vip: '10.0.0.100', mac: VIP_MAC },
  backend: { pool: [{ id: 7, mac: '02:00:00:00:00:07' }] },
  sessions: DEFAULT_SESSION_SETTINGS,
};

function syn(sport: number, flags = 0x02): Uint8Array {
  return tcpFrame(
    { ethDst: VIP_MAC, ethSrc: '02:00:00:00:00:aa', src: '10.0.0.11', dst: '10.0.0.100' },
    { sport, dport: 80, flags },
  );
}

test('XDP: an empty devmap entry drops a balanced frame as TX_FAILED and records nothing', { skip }, () => {
  const xdp = new XdpBalancer(DEFAULT_SESSION_SETTINGS);
  try {
    xdp.configure(config, '02:00:00:00:00:0b');
    // A session established while the port was there.
    let f = syn(40000);
    assert.equal(xdp.process(f, f.length, 0, 1000), ACT_TX_BACKEND);
    const established = xdp.sessionList();
    assert.equal(established.length, 1);

    xdp.maps.writeDevmap(0);
    const before = xdp.stats();
    // A new flow: dropped, no session, no miss, no backend counter.
    f = syn(40001);
    assert.equal(xdp.process(f, f.length, 0, 2000), ACT_DROP | (DROP_TX_FAILED << 8));
    // The established flow: dropped, its session not refreshed, no hit.
    f = syn(40000, 0x10);
    assert.equal(xdp.process(f, f.length, 0, 3000), ACT_DROP | (DROP_TX_FAILED << 8));
    const after = xdp.stats();
    assert.deepEqual(xdp.sessionList(), established, 'no session recorded or refreshed');
    assert.deepEqual(after.sessions, before.sessions, 'no session counter moved');
    assert.deepEqual(after.backends, before.backends, 'no backend counter moved');
    assert.deepEqual(after.tx, before.tx);
    assert.equal(after.drops.TX_FAILED, 2);
    assert.equal(after.rx.packets, before.rx.packets + 2);

    // The port is back: the next frame of the new flow records its session as a first frame would.
    xdp.maps.writeDevmap(1);
    f = syn(40001);
    assert.equal(xdp.process(f, f.length, 0, 4000), ACT_TX_BACKEND);
    const back = xdp.stats();
    assert.equal(back.sessions.miss, before.sessions.miss + 1);
    assert.equal(xdp.sessionList().length, 2);
  } finally {
    xdp.close();
  }
});
