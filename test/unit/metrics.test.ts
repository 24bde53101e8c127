// The parts of src/metrics without a daemon: the rate sampler over a fake clock (rates from counters,
// the 1 s and 60 s windows, a counter that restarts), the bounded event log, and the readings' cache
// of session-table walks (at most one walk per period, whatever the scrape rate).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type PlaneType,
  type StatsSnapshot,
} from '../../src/core/model.js';
import { zeroStats } from '../../src/daemon/planes.js';
import { EventLog } from '../../src/metrics/events.js';
import { RateSampler } from '../../src/metrics/rates.js';
import { type InstanceReading, Readings } from '../../src/metrics/readings.js';
import { mustWaitFor } from '../../testkit/timing.js';

const config = (name = 'lb1'): InstanceConfig => ({
  name,
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: {},
  backend: {
    pool: [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, mac: '02:00:00:00:00:02' },
    ],
  },
  sessions: DEFAULT_SESSION_SETTINGS,
});

/**
 * Counters: `rx` frames of 100 bytes in (of which `bp` on the backend port, dropped), `fwd` forwarded,
 * split 3:1 over 1 and 2, `arp` ARP replies of 60 bytes.
 */
function counters(rx: number, fwd: number, bp = 0, arp = 0): StatsSnapshot {
  const s = zeroStats(config());
  s.rx = {
    packets: rx,
    bytes: rx * 100,
    frontend: { packets: rx - bp, bytes: (rx - bp) * 100 },
    backend: { packets: bp, bytes: bp * 100 },
  };
  s.drops.BACKEND_PORT = bp;
  s.tx = { frontend: arp, backend: fwd, frontendBytes: arp * 60, backendBytes: fwd * 100 };
  s.arpReplies = arp;
  s.backends = [
    { id: 1, packets: (fwd * 3) / 4, bytes: ((fwd * 3) / 4) * 100, sessions: 1 },
    { id: 2, packets: fwd / 4, bytes: (fwd / 4) * 100, sessions: 1 },
  ];
  return s;
}

/** The 1 s rates of an instance on `plane` sampled at(1), then at(`n`) `ms` later. */
async function ratesBetween(plane: PlaneType, at: (n: number) => StatsSnapshot, n = 2, ms = 1000) {
  let now = 0;
  let stats = at(1);
  const s = new RateSampler(
    async () => [{ name: 'lb1', plane, config: config(), stats: structuredClone(stats) }],
    () => now,
  );
  await s.sample();
  now += ms;
  stats = at(n);
  await s.sample();
  return s.rates('lb1').last1s;
}

describe('rate sampler', () => {
  test('rates over the last 1 s and 60 s come from the counters, per port and per backend', async () => {
    let now = 1_000_000;
    let current = counters(0, 0);
    const read = async (): Promise<InstanceReading[]> => [
      { name: 'lb1', plane: 'USERSPACE', config: config(), stats: structuredClone(current) },
    ];
    const s = new RateSampler(read, () => now);
    assert.equal(s.rates('lb1').last1s.seconds, 0, 'no samples: no time covered');
    await s.sample();
    assert.equal(s.rates('lb1').last1s.ports.frontend.rxFramesPerSec, 0, 'one sample: no rate yet');
    // 60 s of 1,000 frames/s in (10 on the backend port), 800/s forwarded, 5 ARP replies/s
    for (let i = 1; i <= 60; i++) {
      now += 1000;
      current = counters(i * 1000, i * 800, i * 10, i * 5);
      await s.sample();
    }
    // the last second: 4,000 frames/s
    now += 1000;
    current = counters(60_000 + 4000, 48_000 + 3200, 600 + 10, 300 + 5);
    await s.sample();
    const r = s.rates('lb1');
    assert.equal(r.last1s.seconds, 1);
    assert.deepEqual(r.last1s.ports, {
      frontend: { rxFramesPerSec: 3990, rxBytesPerSec: 399_000, txFramesPerSec: 5, txBytesPerSec: 300 },
      backend: { rxFramesPerSec: 10, rxBytesPerSec: 1000, txFramesPerSec: 3200, txBytesPerSec: 320_000 },
    });
    assert.deepEqual(r.last1s.backends, [
      { service: 'default', id: 1, framesPerSec: 2400, bytesPerSec: 240_000 },
      { service: 'default', id: 2, framesPerSec: 800, bytesPerSec: 80_000 },
    ]);
    assert.equal(r.last60s.seconds, 60);
    // from t=1 s (990 in on the frontend) to t=61 s (63,390 in): 62,400 frames of 100 bytes in 60 s
    assert.equal(r.last60s.ports.frontend.rxBytesPerSec, (62_400 * 100) / 60);
    assert.equal(r.last60s.ports.backend.rxBytesPerSec, (600 * 100) / 60);
    assert.equal(r.last60s.ports.backend.txFramesPerSec, (51_200 - 800) / 60);
  });

  test('a counter that went back (a new plane) counts from zero; a deleted instance is forgotten', async () => {
    let now = 0;
    let list: InstanceReading[] = [];
    const s = new RateSampler(
      async () => structuredClone(list),
      () => now,
    );
    // snapshots of an older plane, without the per-port figures: all of rx is the frontend's, the
    // backend port's sent bytes are what its backends were sent
    const legacy = (rx: number): StatsSnapshot => {
      const c = counters(rx, 0);
      c.rx = { packets: rx, bytes: rx * 100 };
      c.tx = { frontend: 0, backend: 0 };
      return c;
    };
    const at = (rx: number) => [{ name: 'lb1', plane: undefined, config: config(), stats: legacy(rx) }];
    list = at(5000);
    await s.sample();
    now += 1000;
    list = at(300); // the plane was replaced: its counters start again
    await s.sample();
    assert.equal(s.rates('lb1').last1s.ports.frontend.rxFramesPerSec, 300);
    // backends listed in any order; one added since the last sample counts from zero
    const withBackends = at(400);
    withBackends[0]!.stats.backends = [
      { id: 9, packets: 50, bytes: 5000, sessions: 1 },
      { id: 2, packets: 10, bytes: 1000, sessions: 1 },
      { id: 1, packets: 20, bytes: 2000, sessions: 1 },
    ];
    list = withBackends;
    now += 2000;
    await s.sample();
    assert.deepEqual(s.rates('lb1').last1s.backends, [
      { service: 'default', id: 1, framesPerSec: 10, bytesPerSec: 1000 },
      { service: 'default', id: 2, framesPerSec: 5, bytesPerSec: 500 },
      { service: 'default', id: 9, framesPerSec: 25, bytesPerSec: 2500 },
    ]);
    assert.equal(s.rates('lb1').last1s.ports.backend.txBytesPerSec, 4000);
    list = [];
    now += 1000;
    await s.sample();
    assert.equal(s.rates('lb1').last1s.seconds, 0, 'the deleted instance has no samples left');
  });

  test('backends of two services with the same id are two rows; frames passed on the backend port are its', async () => {
    const at = (n: number) => {
      const c = counters(n * 100, 0, n * 10);
      c.drops.BACKEND_PORT = n * 4;
      c.backendPass = n * 6;
      c.backends = [
        { id: 1, service: 'web', packets: n * 3, bytes: n * 300, sessions: 1 },
        { id: 1, packets: n * 2, bytes: n * 200, sessions: 1 },
        { id: 2, service: 'api', packets: n, bytes: n * 100, sessions: 1 },
      ];
      return c;
    };
    const r = await ratesBetween('XDP_SKB', at);
    assert.deepEqual(r.backends, [
      { service: 'api', id: 2, framesPerSec: 1, bytesPerSec: 100 },
      { service: 'default', id: 1, framesPerSec: 2, bytesPerSec: 200 },
      { service: 'web', id: 1, framesPerSec: 3, bytesPerSec: 300 },
    ]);
    assert.equal(r.ports.backend.rxFramesPerSec, 10, 'dropped (4/s) and passed to the host (6/s)');
    assert.equal(r.ports.frontend.rxFramesPerSec, 90);
  });

  test('a plane that reads no frame of the backend port (USERSPACE) has no rx rates there', async () => {
    const at = (n: number) => {
      const c = counters(n * 100, n * 80, 0, n);
      delete c.rx.backend;
      return c;
    };
    assert.deepEqual((await ratesBetween('USERSPACE', at, 3, 2000)).ports, {
      frontend: { rxFramesPerSec: 100, rxBytesPerSec: 10_000, txFramesPerSec: 1, txBytesPerSec: 60 },
      backend: { txFramesPerSec: 80, txBytesPerSec: 8000 },
    });
    // then XDP takes over (a new plane, its counters from zero): the backend port's rx counts from zero
    const xdpAt = (n: number) => (n === 1 ? at(1000) : counters(n * 100, 0, n * 10));
    const r = await ratesBetween('XDP_SKB', xdpAt, 4, 2000);
    assert.deepEqual(r.ports.backend, {
      rxFramesPerSec: 20,
      rxBytesPerSec: 2000,
      txFramesPerSec: 0,
      txBytesPerSec: 0,
    });
  });

  test('the timer ticks until stop(); a failing read is reported once until it works again', async () => {
    let reads = 0;
    const errors: unknown[] = [];
    const s = new RateSampler(
      async () => {
        reads++;
        if (reads <= 3) throw new Error(`read ${reads} failed`);
        return [];
      },
      Date.now,
      (e) => errors.push(e),
    );
    s.start(5);
    await mustWaitFor('five ticks', async () => reads >= 5, { timeoutMs: 10_000, intervalMs: 5 });
    s.stop();
    const after = reads;
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['read 1 failed'],
    );
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(reads, after, 'no tick after stop()');
  });
});

describe('event log', () => {
  test('keeps the last N events per instance, oldest first, with time and order', () => {
    let now = Date.UTC(2026, 0, 1);
    const log = new EventLog(3, () => now);
    for (let i = 1; i <= 5; i++) {
      now += 1000;
      log.record('lb1', { origin: 'api', type: 'config', message: `change ${i}` });
    }
    log.record('lb2', { origin: 'plane', type: 'attached', message: 'up', plane: 'USERSPACE' });
    const got = log.list('lb1');
    assert.deepEqual(
      got.map((e) => [e.seq, e.message, e.time]),
      [
        [3, 'change 3', '2026-01-01T00:00:03.000Z'],
        [4, 'change 4', '2026-01-01T00:00:04.000Z'],
        [5, 'change 5', '2026-01-01T00:00:05.000Z'],
      ],
    );
    assert.deepEqual(
      log.list('lb1', 1).map((e) => e.message),
      ['change 5'],
    );
    assert.equal(log.list('lb2')[0]?.seq, 6);
    log.forget('lb1');
    assert.deepEqual(log.list('lb1'), []);
    assert.throws(() => new EventLog(0), RangeError);
  });
});

describe('readings', () => {
  test('counters on every read, the session table walked at most once per period', async () => {
    let now = 0;
    const walks: boolean[] = [];
    let active = 7;
    const view = {
      instances: () => [config()],
      plane: () => 'XDP_SKB' as const,
      stats: async (c: InstanceConfig, walk: boolean) => {
        walks.push(walk);
        const s = zeroStats(c);
        s.rx.packets = walks.length;
        s.sessions.active = walk ? active : 0;
        return s;
      },
    };
    const r = new Readings(view, 10_000, () => now);
    const first = await r.full();
    assert.equal(first[0]?.stats.sessions.active, 7);
    active = 9;
    now = 9_999;
    const second = await r.full();
    assert.equal(second[0]?.stats.rx.packets, 2, 'counters are read each time');
    assert.equal(second[0]?.stats.sessions.active, 7, 'active sessions from the last walk');
    now = 10_000;
    assert.equal((await r.full())[0]?.stats.sessions.active, 9, 'a walk once the period is over');
    await r.counters();
    assert.deepEqual(walks, [true, false, true, false]);
  });
});
