// The control state's Plan: computed without changing the state, listing only what changes (the Maglev
// entries that moved, not whole tables), committed to the same tables a from-scratch build gives, the
// one place a bad configuration is refused; and the pipeline applying it (sessions and counters kept
// across a capacity change, the most recent sessions first).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAGLEV_SIZE, SLOT_NONE } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { ControlState } from '../../src/pipeline/control.js';
import { summarizePlan } from '../../src/pipeline/plan.js';

const mac = (i: number) =>
  `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

function config(ids: number[], over: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    name: 'lb1',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: ids.map((id) => ({ id, mac: mac(id) })) },
    sessions: DEFAULT_SESSION_SETTINGS,
    ...over,
  };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const VIP = 0x0a000064;
const PORT_MAC = '02:00:00:00:00:fe';

/** The service's table as backend ids (-1: none), which is what a frame sees. */
function idTable(c: ControlState): Int32Array {
  const svc = c.services.get(0)!;
  return Int32Array.from(svc.table, (s) => (s === SLOT_NONE ? -1 : c.slots[s]!.id));
}

/** Everything observable of a state, for "unchanged" checks. */
function snapshot(c: ControlState) {
  return {
    generation: c.generation,
    slots: c.slots.map((s) => (s ? `${s.service}/${s.id}@${[...s.mac].join(':')}/${s.live}` : null)),
    services: [...c.services.values()].map((s) => ({ ...s, mac: [...s.mac], table: [...s.table] })),
    settings: [c.backendPortMac && [...c.backendPortMac], c.ready, c.timeoutsMs, c.capacity],
  };
}

test('adding one backend among 1,000 plans only the Maglev entries that move to it', () => {
  const c = new ControlState();
  c.apply(config(range(1, 1000)), PORT_MAC);
  const before = idTable(c);
  const plan = c.plan(config(range(1, 1001)), PORT_MAC);
  assert.equal(plan.full, false);
  assert.deepEqual(
    plan.slots.map((s) => [s.kind, s.id]),
    [['assigned', 1001]],
  );
  const m = plan.services[0]!.maglev;
  // Maglev moves about 1/N of the table to the newcomer, plus a little between the others.
  const bound = MAGLEV_SIZE * (1 / 1000 + 0.02);
  assert.ok(m.index.length > 0 && m.index.length < bound, `${m.index.length} entries`);
  const s = summarizePlan(plan);
  assert.equal(s.maglevEntries, m.index.length);
  const gained = s.backends.reduce((n, b) => n + b.gained, 0);
  assert.equal(gained, m.index.length, 'every listed entry names its new backend');
  assert.equal(
    s.backends.reduce((n, b) => n + b.lost, 0),
    gained,
    'and its old one',
  );
  const newcomer = s.backends.find((b) => b.id === 1001)!;
  assert.equal(newcomer.lost, 0);

  c.commit(plan);
  const scratch = new ControlState();
  scratch.apply(config(range(1, 1001)), PORT_MAC);
  assert.deepEqual(idTable(c), idTable(scratch), 'the same table as a from-scratch build');
  let moved = 0;
  const after = idTable(c);
  for (let i = 0; i < MAGLEV_SIZE; i++) if (before[i] !== after[i]) moved++;
  assert.equal(moved, m.index.length, 'the plan lists exactly the entries that changed');
  assert.equal(
    after.filter((id) => id === 1001).length,
    newcomer.gained,
    'the newcomer holds the entries it gained',
  );
});

test('removing a backend and adding another in one plan names the entries of a slot given to another id', () => {
  const c = new ControlState();
  c.apply(config(range(1, 50)), PORT_MAC);
  const slotOf5 = c.slotOf(5);
  const plan = c.plan(config([...range(1, 4), ...range(6, 45), 77]), PORT_MAC);
  assert.deepEqual(
    plan.slots.map((s) => [s.kind, s.id, s.slot]),
    [
      ['freed', 5, slotOf5],
      ['assigned', 77, slotOf5],
    ],
  );
  const s = summarizePlan(plan);
  const of = (id: number) => s.backends.find((b) => b.id === id);
  assert.equal(of(5)!.gained, 0);
  assert.ok(of(5)!.lost > 0, 'backend 5 loses its entries');
  assert.ok(of(77)!.gained > 0, 'backend 77 gains entries, some of them at the same slot number');
  c.commit(plan);
  const scratch = new ControlState();
  scratch.apply(config([...range(1, 4), ...range(6, 45), 77]), PORT_MAC);
  assert.deepEqual(idTable(c), idTable(scratch));
});

test('plan() changes nothing; commit() does', () => {
  const c = new ControlState();
  c.apply(config(range(1, 10)), PORT_MAC);
  const before = snapshot(c);
  const plan = c.plan(
    config(range(3, 20), {
      algorithm: 'HASH_SRC_IP',
      sessions: { capacity: 77, timeouts: { tcp: 1, udp: 2, icmp: 3 } },
    }),
    '02:00:00:00:00:fd',
  );
  assert.deepEqual(snapshot(c), before);
  assert.ok(plan.settingsChanged && plan.capacityChanged);
  assert.equal(plan.services[0]!.entryChanged, true);
  c.commit(plan);
  assert.notDeepEqual(snapshot(c), before);
  assert.equal(c.capacity, 77);
  assert.deepEqual(c.timeoutsMs, { tcp: 1000, udp: 2000, icmp: 3000 });
  assert.equal(c.generation, plan.next);
});

test('a bad configuration throws its LbdsrError code and leaves the state as it was', () => {
  const c = new ControlState();
  c.apply(config(range(1, 10)), PORT_MAC);
  const before = snapshot(c);
  const bad: [string, InstanceConfig, RegExp][] = [
    ['LBDSR_EXISTS', config([1, 2, 2]), /backend '2' already exists/],
    ['LBDSR_BAD_MAC', config([1], { frontend: { vip: '10.0.0.100', mac: '01:00:5e:00:00:01' } }), /unicast/],
    ['LBDSR_BAD_VIP', config([1], { frontend: { vip: '127.0.0.1', mac: 'aa:bb:cc:dd:ee:ff' } }), /unicast/],
    ['LBDSR_BAD_IPV4', config([1], { frontend: { vip: '10.0.0', mac: 'aa:bb:cc:dd:ee:ff' } }), /10\.0\.0/],
    ['LBDSR_TOO_MANY', config(range(1, 4097)), /at most 4096 backends \(got 4097\)/],
    ['LBDSR_BAD_ID', config([-1]), /not a uint32/],
    [
      'LBDSR_BAD_MAC',
      { ...config([]), backend: { pool: [{ id: 3, mac: '00:00:00:00:00:00' }] } },
      /backend 3: MAC .* is zero/,
    ],
    ['LBDSR_BAD_MAC', { ...config([]), backend: { pool: [{ id: 3, mac: 'zz' }] } }, /zz/],
    ['LBDSR_BAD_VALUE', config([1], { sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 0 } }), /capacity/],
  ];
  for (const [code, cfg, msg] of bad) {
    assert.throws(() => c.plan(cfg, PORT_MAC), { code, message: msg }, code);
    assert.throws(() => c.apply(cfg, PORT_MAC), { code }, code);
    assert.deepEqual(snapshot(c), before, `${code}: state unchanged`);
  }
  assert.throws(() => c.plan(config([1]), 'nope'), { code: 'LBDSR_BAD_MAC' });
});

test('a plan applies to the state it was computed from; a full plan to any', () => {
  const a = new ControlState();
  a.apply(config(range(1, 5)), PORT_MAC);
  const b = new ControlState();
  b.apply(config(range(1, 5)), PORT_MAC);
  const plan = a.plan(config(range(1, 6)), PORT_MAC);
  b.apply(config(range(1, 7)), PORT_MAC);
  assert.throws(() => b.commit(plan), { code: 'LBDSR_INTERNAL' });

  // A full plan of `a` brings a state that drifted (or a new one) to the same tables and slots.
  for (const target of [b, new ControlState()]) {
    target.commit(structuredClone(a.fullPlan()));
    assert.deepEqual(snapshot(target), snapshot(a));
  }
  // and later plans of `a` apply to it
  const next = a.plan(config(range(2, 8)), PORT_MAC);
  a.commit(next);
  b.commit(structuredClone(next));
  assert.deepEqual(snapshot(b), snapshot(a));
});

test('a plan from an empty state is full; no VIP removes the service; settings alone change no generation', () => {
  const c = new ControlState();
  const first = c.plan(config(range(1, 3)), undefined);
  assert.equal(first.full, true);
  assert.equal(first.services[0]!.kind, 'added');
  c.commit(first);
  assert.equal(c.ready, false);
  const mac = c.plan(config(range(1, 3)), PORT_MAC);
  assert.equal(mac.next, mac.base, 'settings only');
  assert.equal(mac.settingsChanged, true);
  c.commit(mac);
  assert.equal(c.ready, true);
  const noVip = c.plan(config(range(1, 3), { frontend: {} }), PORT_MAC);
  assert.deepEqual(noVip.removedServices, [
    { index: 0, name: 'default', vip: VIP, vip6: null, proto: 0, port: 0 },
  ]);
  c.commit(noVip);
  assert.equal(c.services.size, 0);
  assert.equal(summarizePlan(c.plan(config(range(1, 3), { frontend: {} }), PORT_MAC)).maglevEntries, 0);
});

// TCP SYN 10.0.0.11:sport -> 10.0.0.100:80 addressed to the frontend MAC.
function syn(sport: number): Uint8Array {
  const hex =
    'aabbccddeeff0200000000aa0800' +
    '450000280001000040060000' +
    '0a00000b0a000064' +
    `${sport.toString(16).padStart(4, '0')}0050000000000000000050022000` +
    '00000000';
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

test('the pipeline applies a plan (as the USERSPACE worker gets it): a smaller capacity keeps the most recent sessions and every counter', () => {
  const control = new ControlState();
  const b = new Balancer();
  const send = (cfg: InstanceConfig) => {
    const plan = control.plan(cfg, PORT_MAC);
    b.applyPlan(structuredClone(plan)); // what crosses postMessage
    control.commit(plan);
  };
  send(config(range(1, 4)));
  for (let p = 3000; p < 3200; p++) {
    const f = syn(p);
    b.process(f, f.length, 0, p);
  }
  const before = b.stats(3200);
  assert.equal(before.sessions.active, 200);
  send(config(range(1, 4), { sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 50 } }));
  assert.equal(b.sessionTable.capacity, 50);
  assert.deepEqual(
    b.sessions(1000, 3200).map((s) => s.sport),
    range(3150, 50).reverse(),
    'the 50 most recent, most recent first',
  );
  const after = b.stats(3200);
  assert.deepEqual(
    { ...after, sessions: { ...after.sessions, active: 0 } },
    { ...before, sessions: { ...before.sessions, active: 0 } },
    'every counter kept',
  );
  // and a pool change keeps the other backends' counters
  send(config(range(1, 5), { sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 50 } }));
  const again = b.stats(3200);
  assert.deepEqual(again.backends.slice(0, 4), before.backends);
  assert.deepEqual(again.backends[4], { id: 5, service: 'default', packets: 0, bytes: 0, sessions: 0 });
});
