// How the daemon drives data planes: created when a port has a live peer, given every change, replaced
// when the type changes, rolled back when it refuses a change, closed (with keep on shutdown). A plane
// that records its calls and refuses on demand stands in for the real planes here, because no real plane
// can be made to fail on cue; the real USERSPACE plane is driven by cli.test.ts (seed list) and below
// (interfaces that come and go, as root).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatMac } from '../../src/core/addr.js';
import type { Plan } from '../../src/pipeline/plan.js';
import { Daemon } from '../../testkit/daemon.js';
import { addNamespace, cleanup, newPrefix, track } from '../../testkit/netns.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { appWithPlanes, ip, needRoot, RecordingPlane, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

/** Whether a plan gives backend `id` a slot. */
const assigns = (p: Plan, id: number) => p.slots.some((s) => s.kind === 'assigned' && s.id === id);
const slotsOf = (p: Plan) => p.slots.map((s) => ({ kind: s.kind, id: s.id, mac: formatMac(s.mac) }));

describe('data planes driven by the daemon', () => {
  test('create, apply every change, roll back a refused change, replace on type change, close', async () => {
    const state = tempDir('planes');
    const made: RecordingPlane[] = [];
    const app = await appWithPlanes(state.dir, async (kind) => {
      if (kind === 'XDP_DRV') throw Object.assign(new Error('no module'), { code: 'ERR_MODULE_NOT_FOUND' });
      const p = new RecordingPlane(kind, (p) => assigns(p, 13));
      made.push(p);
      return p;
    });
    const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => {
      const r = await app.inject({ method, url: `${BASE}${path}`, payload: body as object });
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
    };
    try {
      await call('POST', '/lb1/', { ports: [{ name: 'fp', type: 'FRONTEND' }] });
      assert.equal(made.length, 0, 'no plane without a peer');
      assert.equal((await call('GET', '/lb1/stats/')).body.rx.packets, 0, 'zeros without a plane');
      // fake0 (helpers.ts): the recording plane attaches nothing to it
      assert.equal((await call('PATCH', '/lb1/ports/fp/', { peer: 'fake0' })).status, 200);
      assert.equal(made.length, 1);
      assert.equal((await call('GET', '/lb1/')).body.plane, 'USERSPACE');
      assert.equal(made[0]!.applied.length, 1);
      assert.equal((await call('POST', '/lb1/backend/pool/1/', { mac: '00:00:00:00:00:01' })).status, 201);
      assert.deepEqual(slotsOf(made[0]!.applied.at(-1)!), [
        { kind: 'assigned', id: 1, mac: '00:00:00:00:00:01' },
      ]);
      assert.equal((await call('GET', '/lb1/stats/')).body.rx.packets, 42, 'stats come from the plane');
      assert.equal((await call('GET', '/lb1/sessions/?limit=5')).body.entries.length, 1);

      const before = (await call('GET', '/lb1/')).body;
      const file = readFileSync(join(state.dir, 'config.json'), 'utf8');
      const applies = made[0]!.applied.length;
      const refused = await call('POST', '/lb1/backend/pool/13/', { mac: '00:00:00:00:00:0d' });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'LBDSR_NOT_AVAILABLE');
      assert.match(refused.body.message, /refused on purpose/);
      assert.deepEqual((await call('GET', '/lb1/')).body, before, 'config unchanged');
      assert.equal(readFileSync(join(state.dir, 'config.json'), 'utf8'), file, 'config.json unchanged');
      assert.equal(made[0]!.applied.length, applies + 1, 'the plane was given the old state back');
      const back = made[0]!.applied.at(-1)!;
      assert.ok(back.full, 'as a full plan');
      assert.deepEqual(slotsOf(back), [{ kind: 'assigned', id: 1, mac: '00:00:00:00:00:01' }]);

      const unavailable = await call('PATCH', '/lb1/', { type: 'XDP_DRV' });
      assert.equal(unavailable.status, 409);
      assert.equal(unavailable.body.code, 'LBDSR_NOT_AVAILABLE');
      assert.match(unavailable.body.message, /XDP_DRV.*not available/);
      assert.equal(made[0]!.closed.length, 0, 'the running plane stays');
      assert.equal((await call('GET', '/lb1/')).body.type, 'AUTO');

      assert.equal((await call('PATCH', '/lb1/', { type: 'XDP_SKB' })).status, 200);
      assert.equal(made.length, 2, 'a new plane for the new type');
      assert.deepEqual(made[0]!.closed, [{ keep: false }], 'the old one detached');
      assert.equal((await call('GET', '/lb1/')).body.plane, 'XDP_SKB');

      assert.equal((await call('DELETE', '/lb1/ports/fp/peer/')).status, 200);
      assert.deepEqual(made[1]!.closed, [{ keep: false }], 'no peer, no plane');
      assert.equal((await call('PATCH', '/lb1/ports/fp/', { peer: 'fake0' })).status, 200);
      assert.equal(made.length, 3);
      await call('POST', '/lb2/', { ports: [{ name: 'x', type: 'BACKEND' }] });
      const shared = await call('PATCH', '/lb2/ports/x/', { peer: 'fake0' });
      assert.equal(shared.status, 409, 'one interface, one instance');
      assert.equal(shared.body.code, 'LBDSR_CONFLICT');
    } finally {
      await app.close();
      state.cleanup();
    }
    assert.deepEqual(made[2]!.closed, [{ keep: true }], 'shutdown keeps kernel objects');
  });
});

describe('a data plane that hangs', () => {
  test('the request fails after the timeout, the config stays, later requests are served', async () => {
    const state = tempDir('hang');
    const made: RecordingPlane[] = [];
    const app = await appWithPlanes(
      state.dir,
      async (kind) => {
        const p = new RecordingPlane(kind, () => false);
        const apply = p.apply.bind(p);
        p.apply = (plan, ports) => (assigns(plan, 99) ? new Promise<void>(() => {}) : apply(plan, ports));
        made.push(p);
        return p;
      },
      { planeTimeoutMs: 300 },
    );
    const call = async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => {
      const r = await app.inject({ method, url: `${BASE}${path}`, payload: body as object });
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
    };
    try {
      await call('POST', '/lb1/', { ports: [{ name: 'fp', type: 'FRONTEND', peer: 'fake0' }] });
      assert.equal(made.length, 1);
      const t0 = Date.now();
      const hung = await call('POST', '/lb1/backend/pool/99/', { mac: '00:00:00:00:00:63' });
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(hung.status, 409);
      assert.equal(hung.body.code, 'LBDSR_NOT_AVAILABLE');
      assert.match(hung.body.message, /did not finish within 300 ms/);
      const after = (await call('GET', '/lb1/')).body;
      assert.deepEqual(after.backend.pool, [], 'config unchanged');
      assert.equal(after.plane, 'NONE', 'the hung plane was dropped');
      assert.deepEqual(made[0]!.closed, [undefined]);
      assert.equal(
        (await call('PATCH', '/lb1/', { algorithm: 'HASH_SRC_IP' })).status,
        200,
        'the daemon still serves',
      );
      assert.equal((await call('GET', '/lb1/')).body.plane, 'USERSPACE', 'a fresh plane took over');
    } finally {
      await app.close();
      state.cleanup();
    }
  });
});

describe('interfaces that come and go (real USERSPACE plane, as root)', () => {
  test('a peer that disappears and comes back is re-attached without a restart', async (t) => {
    const why = needRoot();
    if (why) return t.skip(why);
    // Named and tracked by the testkit: removed (with the daemon inside) on every exit path.
    const prefix = newPrefix('watch');
    track(prefix);
    const ns = `${prefix}lb`;
    const d = new Daemon({ ns, logLevel: 'warn' });
    const ctl = async (line: string) => {
      const r = await d.shell(`env -u LBDSR_URL PATH="$PATH" ${line}`);
      assert.equal(r.code, 0, `${line}: ${r.stderr}`);
      return r.stdout;
    };
    const show = async () => JSON.parse((await ctl('lbdsrctl lbdsr lb1 show -json')) || '{}');
    const until = (what: string, ok: () => Promise<boolean>) => mustWaitFor(what, ok, { timeoutMs: 15_000 });
    try {
      await addNamespace(ns);
      const pair = () => {
        ip(['-n', ns, 'link', 'add', 'wa', 'type', 'veth', 'peer', 'name', 'wb']);
        ip(['-n', ns, 'link', 'set', 'wa', 'up']);
        ip(['-n', ns, 'link', 'set', 'wb', 'up']);
      };
      pair();
      await d.start();
      for (const line of [
        'lbdsrctl lbdsr add lb1 type=USERSPACE',
        'lbdsrctl lbdsr lb1 ports add f type=FRONTEND peer=wa',
        'lbdsrctl lbdsr lb1 ports add b type=BACKEND peer=wb',
      ]) {
        await ctl(line);
      }
      assert.equal((await show()).plane, 'USERSPACE');
      ip(['-n', ns, 'link', 'del', 'wa']);
      await until('the plane to go', async () => (await show()).plane === 'NONE');
      assert.deepEqual(
        (await show()).ports.map((p: { status: string }) => p.status),
        ['DOWN', 'DOWN'],
      );
      pair();
      await until('the plane to come back', async () => (await show()).plane === 'USERSPACE');
      assert.deepEqual(
        (await show()).ports.map((p: { status: string }) => p.status),
        ['UP', 'UP'],
      );
    } finally {
      await d.dispose();
      await cleanup(prefix);
    }
  });
});
