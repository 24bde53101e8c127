// The USERSPACE worker's rehearsal (src/dataplane/userspace/rehearsal.ts) without root: it opens no
// socket, the rings' place in the arena is scratch memory while it runs. Checked: the frames go the
// real path (decided and queued in TX slots, none failing over to the scratch path), the io is left
// as it was, what is not rehearsed is said, and the plan's services get one hidden class whatever
// their values, without which the rehearsed code would be thrown away at the first real frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { DEFAULT_RINGS } from '../../src/dataplane/userspace/protocol.js';
import { rehearse } from '../../src/dataplane/userspace/rehearsal.js';
import { AfPacketIo } from '../../src/dataplane/userspace/rings.js';
import { udpFrame } from '../../src/packet/build.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { ControlState } from '../../src/pipeline/control.js';

const PORTS = { backendMac: '02:00:00:00:00:0b', frontendMac: '02:00:00:00:00:0f', oneArm: false };

function config(vip: string, services = true): InstanceConfig {
  return {
    name: 'lb1',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    ...(services ? { frontend: { vip, mac: 'aa:bb:cc:dd:ee:ff' } } : {}),
    backend: { pool: [1, 2, 3, 4].map((id) => ({ id, mac: `02:00:00:00:01:0${id}` })) },
    sessions: DEFAULT_SESSION_SETTINGS,
  } as InstanceConfig;
}

const planOf = (c: InstanceConfig) => new ControlState().plan(c, PORTS);

test('a rehearsal decides its frames on the real frame path and leaves the io as it was', () => {
  const io = new AfPacketIo(DEFAULT_RINGS);
  try {
    const b = new Balancer({ capacity: 65536 });
    b.applyPlan(planOf(config('10.0.0.100')));
    const frames = Array.from({ length: 3000 }, (_, i) =>
      udpFrame(
        { ethDst: 'aa:bb:cc:dd:ee:ff', ethSrc: '02:00:00:00:c1:01', src: '10.0.0.1', dst: '10.0.0.100' },
        { sport: 1024 + i, dport: 53, payload: new Uint8Array(18) },
      ),
    );
    // a pass takes at most what both rings hold (2,048 TX slots by default)
    const n = io.rehearse(b, frames, 0, 1000);
    assert.equal(n, DEFAULT_RINGS.txFrames);
    assert.equal(io.rehearse(b, frames, n, 1001), DEFAULT_RINGS.txFrames, 'the TX slots were given back');
    const st = b.stats();
    assert.equal(st.tx.backend, 2 * DEFAULT_RINGS.txFrames, 'every frame balanced and queued in a TX slot');
    assert.equal(st.sessions.miss, 3000, 'every flow recorded once');
    assert.equal(io.txFailures, 0);
    io.endRehearsal();
    assert.equal(io.rehearse(b, frames, 0, 1002) > 0, true, 'a new rehearsal maps its scratch rings again');
    io.endRehearsal();
  } finally {
    io.close();
  }
});

test('rehearse() runs until the path settles, on more than one scratch Balancer', () => {
  const io = new AfPacketIo(DEFAULT_RINGS);
  try {
    const r = rehearse(io, planOf(config('192.168.1.10')));
    assert.ok(r, 'rehearsed');
    // unless it ran into its time limit (3 s: a very loaded machine)
    const capped = r.ms >= 3000;
    assert.ok(capped || (r.passes >= 24 && r.frames >= 24 * 2048), `${r.passes} passes, ${r.frames} frames`);
    assert.ok(capped || r.rounds >= 2, 'a second scratch Balancer');
    assert.equal(io.txFailures, 0);
  } finally {
    io.close();
  }
});

test('nothing is rehearsed on a V3 ring or without a TCP/UDP service', () => {
  const v3 = new AfPacketIo({ ...DEFAULT_RINGS, rxMode: 'blocks' });
  try {
    assert.equal(rehearse(v3, planOf(config('10.0.0.100'))), undefined);
  } finally {
    v3.close();
  }
  const io = new AfPacketIo(DEFAULT_RINGS);
  try {
    assert.equal(rehearse(io, planOf(config('10.0.0.100', false))), undefined);
  } finally {
    io.close();
  }
});

test("the plan's services have one hidden class whatever their VIP (the rehearsed code fits the real one)", () => {
  v8.setFlagsFromString('--allow-natives-syntax');
  const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const first = (vip: string) => {
    const b = new Balancer({ capacity: 1024 });
    // a plan as the worker receives it: through the structured clone of postMessage
    b.applyPlan(structuredClone(planOf(config(vip))));
    const svc = b.control.services.values().next().value;
    assert.ok(svc);
    return svc;
  };
  // 10.0.0.100 is a small integer to V8, 192.168.1.10 (above 2^30) a heap number
  assert.ok(sameMap(first('10.0.0.100'), first('10.0.0.100')), 'two Balancers, one plan');
  assert.ok(sameMap(first('10.0.0.100'), first('192.168.1.10')), 'VIPs below and above 2^30');
});
