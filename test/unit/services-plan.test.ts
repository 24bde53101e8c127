// The control state with several services, backend states, weights and observations (docs/semantics.md,
// "Services" and "Backends"): what a plan gives each service and each slot, what a dry run is told
// (summarizePlan), and the configurations it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAGLEV_SIZE, SLOT_NONE } from '../../src/core/constants.js';
import {
  type BackendConfig,
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type Observations,
  type ServiceConfig,
} from '../../src/core/model.js';
import { ControlState } from '../../src/pipeline/control.js';
import { summarizePlan } from '../../src/pipeline/plan.js';

const PORT_MAC = '02:00:00:00:00:fe';
const mac = (i: number) =>
  `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const backends = (ids: number[], over: Partial<BackendConfig> = {}): BackendConfig[] =>
  ids.map((id) => ({ id, mac: mac(id), ...over }));

function config(services: ServiceConfig[] = [], over: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    name: 'lb1',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
    backend: { pool: backends([1, 2, 3]) },
    services,
    sessions: DEFAULT_SESSION_SETTINGS,
    ...over,
  };
}

const web = (pool: BackendConfig[], over: Partial<ServiceConfig> = {}): ServiceConfig => ({
  name: 'web',
  vip: '10.0.0.101',
  protocol: 'TCP',
  port: 80,
  backend: { pool },
  ...over,
});

/** Entries per backend id in a service's table. */
function shares(c: ControlState, index: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of c.services.get(index)!.table) {
    const id = s === SLOT_NONE ? -1 : c.slots[s]!.id;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

test('two services: each its own index, table and backends; the slots carry the service', () => {
  const c = new ControlState();
  const plan = c.apply(config([web(backends([1, 7]))]), PORT_MAC);
  assert.deepEqual(plan.serviceNames, ['default', 'web']);
  assert.deepEqual(
    plan.services.map((s) => [s.index, s.name, s.proto, s.port, s.backends]),
    [
      [0, 'default', 0, 0, 3],
      [1, 'web', 6, 80, 2],
    ],
  );
  // backend 1 exists in both pools: two slots
  assert.notEqual(c.slotOf(1, 0), c.slotOf(1, 1));
  assert.equal(c.slots[c.slotOf(1, 1)]!.service, 1);
  assert.deepEqual([...shares(c, 1).keys()].sort(), [1, 7]);
  assert.equal(c.services.get(1)!.mac.join(), c.services.get(0)!.mac.join(), "the instance's MAC by default");
});

test("a change of one backend in one service leaves the other service's table alone", () => {
  const c = new ControlState();
  const many = Array.from({ length: 2000 }, (_, i) => i + 1);
  c.apply(config([web(backends([1, 7]))], { backend: { pool: backends(many) } }), PORT_MAC);
  const plan = c.plan(config([web(backends([1, 7, 8]))], { backend: { pool: backends(many) } }), PORT_MAC);
  assert.deepEqual(
    plan.services.map((s) => s.name),
    ['web'],
  );
  assert.deepEqual(
    plan.slots.map((s) => [s.kind, s.service, s.id]),
    [['assigned', 1, 8]],
  );
});

test('same VIP, different ports: accepted; same VIP, protocol and port, or another MAC: refused', () => {
  const c = new ControlState();
  const same = [web(backends([1])), web(backends([2]), { name: 'alt', port: 8080 })];
  const p = c.plan(config(same), PORT_MAC);
  assert.equal(p.services.length, 3);
  const bad: [string, InstanceConfig, RegExp][] = [
    ['LBDSR_EXISTS', config([web([]), web([], { name: 'dup' })]), /same VIP, protocol and port/],
    ['LBDSR_EXISTS', config([web([]), web([], { name: 'web' })]), /service 'web' already exists/],
    [
      'LBDSR_BAD_MAC',
      config([web([]), web([], { name: 'm', port: 81, mac: '02:00:00:00:00:01' })]),
      /share their VIP/,
    ],
    ['LBDSR_BAD_MAC', config([web([], { vip: '10.0.0.100', mac: '02:00:00:00:00:01' })]), /share their VIP/],
    ['LBDSR_BAD_VALUE', config([web([], { protocol: 'ICMP' })]), /port needs protocol TCP or UDP/],
    ['LBDSR_BAD_VALUE', config([web([], { port: 70000 })]), /port 70000/],
    ['LBDSR_BAD_VALUE', config([web([{ id: 1 }])]), /backend 1 of service web needs a mac or an ip/],
    ['LBDSR_BAD_VALUE', config([web([{ id: 1, ip: '10.0.0.1', weight: 101 }])]), /weight 101/],
    ['LBDSR_BAD_IPV4', config([web([{ id: 1, ip: '10.0.0' }])]), /10\.0\.0/],
    [
      'LBDSR_TOO_MANY',
      config(Array.from({ length: 256 }, (_, i) => web([], { name: `s${i}`, port: i + 1 }))),
      /at most 256 services/,
    ],
    [
      'LBDSR_TOO_MANY',
      config([web(backends(Array.from({ length: 4094 }, (_, i) => i + 1)))]),
      /at most 4096 backends \(got 4097\)/,
    ],
  ];
  for (const [code, cfg, msg] of bad)
    assert.throws(() => c.plan(cfg, PORT_MAC), { code, message: msg }, code);
  // 255 services with default is the most
  c.plan(config(Array.from({ length: 255 }, (_, i) => web([], { name: `s${i}`, port: i + 1 }))), PORT_MAC);
});

test('backend states, weight 0 and health: who serves (table) and who stays live (sessions)', () => {
  const c = new ControlState();
  const pool = (over: Record<number, Partial<BackendConfig>>) =>
    [1, 2, 3, 4].map((id) => ({ id, mac: mac(id), ...over[id] }));
  c.apply(config([], { backend: { pool: pool({}), healthcheck: { type: 'TCP', port: 80 } } }), PORT_MAC);
  assert.deepEqual([...shares(c, 0).keys()].sort(), [1, 2, 3, 4], 'UNKNOWN health serves');
  const live = (id: number) => c.slots[c.slotOf(id)]!.live;

  const drain = c.plan(
    config([], { backend: { pool: pool({ 2: { state: 'DRAINING' }, 3: { weight: 0 } }) } }),
    PORT_MAC,
  );
  assert.deepEqual(drain.slots, [], 'DRAINING and weight 0 keep their slots live');
  c.commit(drain);
  assert.deepEqual([...shares(c, 0).keys()].sort(), [1, 4]);
  assert.ok(live(2) && live(3));
  const s = summarizePlan(drain);
  assert.deepEqual(s.moved, [], 'no session moves');
  assert.equal(s.backends.find((b) => b.id === 2)!.gained, 0);
  assert.ok(s.backends.find((b) => b.id === 2)!.lost > 0);
  assert.equal(s.backends.find((b) => b.id === 2)!.service, 'default');

  const disable = c.plan(config([], { backend: { pool: pool({ 2: { state: 'DISABLED' } }) } }), PORT_MAC);
  assert.deepEqual(
    disable.slots.map((x) => [x.kind, x.id, x.live, x.wasLive]),
    [['changed', 2, false, true]],
  );
  assert.deepEqual(
    summarizePlan(disable).moved.map((m) => [m.service, m.id]),
    [['default', 2]],
    'DISABLED moves its sessions',
  );
  c.commit(disable);

  const down: Observations = (_svc, id) => (id === 4 ? { health: 'DOWN' } : { health: 'UP' });
  const hc = { type: 'TCP' as const, port: 80 };
  const stay = c.plan(config([], { backend: { pool: pool({}), healthcheck: hc } }), PORT_MAC, down);
  c.commit(stay);
  assert.deepEqual([...shares(c, 0).keys()].sort(), [1, 2, 3], 'DOWN leaves the table');
  assert.ok(live(4), 'DOWN keeps its sessions by default');
  const move = c.plan(
    config([], { backend: { pool: pool({}), healthcheck: { ...hc, on_down: 'MOVE' } } }),
    PORT_MAC,
    down,
  );
  assert.deepEqual(
    move.slots.map((x) => [x.kind, x.id, x.live]),
    [['changed', 4, false]],
  );
  c.commit(move);
  // without a health check an observed DOWN does not count
  c.apply(config([], { backend: { pool: pool({}) } }), PORT_MAC, down);
  assert.deepEqual([...shares(c, 0).keys()].sort(), [1, 2, 3, 4]);
  assert.ok(live(4));
});

test('a backend by IP: no MAC, no entries; the observed MAC makes it serve; a configured MAC wins', () => {
  const c = new ControlState();
  const pool = [...backends([1]), { id: 2, ip: '10.0.0.22' }];
  c.apply(config([], { backend: { pool } }), PORT_MAC);
  const slot = c.slotOf(2);
  assert.deepEqual([...c.slots[slot]!.mac], [0, 0, 0, 0, 0, 0]);
  assert.equal(c.slots[slot]!.live, false);
  assert.deepEqual([...shares(c, 0).keys()], [1]);
  const seen: Observations = (svc, id) =>
    svc === 'default' && id === 2 ? { mac: '02:00:00:00:00:22', health: 'UNKNOWN' } : undefined;
  const p = c.plan(config([], { backend: { pool } }), PORT_MAC, seen);
  assert.deepEqual(
    p.slots.map((x) => [x.kind, x.id, [...x.mac].join(), x.live]),
    [['changed', 2, '2,0,0,0,0,34', true]],
  );
  c.commit(p);
  assert.deepEqual([...shares(c, 0).keys()].sort(), [1, 2]);
  c.apply(
    config([], { backend: { pool: [...backends([1]), { id: 2, ip: '10.0.0.22', mac: mac(2) }] } }),
    PORT_MAC,
    seen,
  );
  assert.deepEqual([...c.slots[slot]!.mac], [2, 0, 0, 0, 0, 2]);
});

test('weights: a backend of weight 50 gets half the entries of one of 100', () => {
  const c = new ControlState();
  c.apply(
    config([], { backend: { pool: [...backends([1]), { id: 2, mac: mac(2), weight: 50 }] } }),
    PORT_MAC,
  );
  const sh = shares(c, 0);
  assert.equal(sh.get(1)! + sh.get(2)!, MAGLEV_SIZE);
  assert.ok(Math.abs(sh.get(1)! / sh.get(2)! - 2) < 0.01, `${sh.get(1)} / ${sh.get(2)}`);
});

test('a service whose port changes is removed and added again under its index; a removed one frees its slots', () => {
  const c = new ControlState();
  c.apply(config([web(backends([5]))]), PORT_MAC);
  const slot = c.slotOf(5, 1);
  const moved = c.plan(config([web(backends([5]), { port: 8080 })]), PORT_MAC);
  assert.deepEqual(
    moved.removedServices.map((r) => [r.index, r.name, r.port]),
    [[1, 'web', 80]],
  );
  assert.deepEqual(
    moved.services.map((s) => [s.kind, s.index, s.port]),
    [['added', 1, 8080]],
  );
  assert.deepEqual(moved.slots, [], 'its backends keep their slots');
  c.commit(moved);
  // removing web and adding api in the same plan: api does not take web's index
  const swap = c.plan(config([web(backends([5]), { name: 'api' })]), PORT_MAC);
  assert.deepEqual(swap.serviceNames, ['default', null, 'api']);
  assert.deepEqual(
    swap.slots.map((x) => [x.kind, x.service, x.id, x.slot === slot]),
    [
      ['freed', 1, 5, true],
      ['assigned', 2, 5, true],
    ],
  );
  const sum = summarizePlan(swap);
  assert.deepEqual(
    sum.moved.map((m) => [m.service, m.id]),
    [['web', 5]],
  );
});

test('probe_ip gives the settings the probe MAC (02:db + the address)', () => {
  const c = new ControlState();
  const p = c.apply(config([], { probe_ip: '10.0.0.250' }), PORT_MAC);
  assert.deepEqual([...p.settings.probeMac!], [0x02, 0xdb, 10, 0, 0, 250]);
  assert.equal(c.plan(config([], { probe_ip: '10.0.0.250' }), PORT_MAC).settingsChanged, false);
  assert.equal(c.plan(config([]), PORT_MAC).settingsChanged, true);
});

test('a full plan of several services brings a fresh state to the same slots and tables', () => {
  const a = new ControlState();
  a.apply(config([web(backends([1, 7])), web(backends([2]), { name: 'alt', port: 8080 })]), PORT_MAC);
  const b = new ControlState();
  b.commit(structuredClone(a.fullPlan()));
  assert.deepEqual(b.slots, a.slots);
  assert.deepEqual([...b.services.keys()], [...a.services.keys()]);
  for (const [i, s] of a.services) assert.deepEqual(b.services.get(i)!.table, s.table);
  assert.deepEqual(b.serviceNames, a.serviceNames);
});

test('with all 256 indexes held, a service replacing another in one plan takes its index: everything of the old one goes', () => {
  const c = new ControlState();
  const many = (last: string) =>
    Array.from({ length: 255 }, (_, i) =>
      web(i === 254 ? backends([9]) : [], { name: i === 254 ? last : `s${i}`, port: i + 1 }),
    );
  c.apply(config(many('old')), PORT_MAC);
  const slot = c.slotOf(9, 255);
  const p = c.plan(config(many('new')), PORT_MAC);
  assert.deepEqual(
    p.removedServices.map((r) => [r.index, r.name]),
    [[255, 'old']],
  );
  assert.deepEqual(
    p.services.map((s) => [s.kind, s.index, s.name]),
    [['added', 255, 'new']],
  );
  assert.deepEqual(
    p.slots.map((x) => [x.kind, x.service, x.id, x.slot === slot]),
    [
      ['freed', 255, 9, true],
      ['assigned', 255, 9, true],
    ],
  );
  c.commit(p);
  assert.equal(c.serviceNames[255], 'new');
  // after its own full plan is committed, the same configuration plans no change
  c.commit(c.fullPlan());
  assert.deepEqual(c.plan(config(many('new')), PORT_MAC).services, []);
});
