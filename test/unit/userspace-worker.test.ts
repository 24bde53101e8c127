// The USERSPACE worker's logic without root: UserspaceWorker (src/dataplane/userspace/runner.ts) on an
// in-memory WorkerIo whose interfaces the test creates, re-creates and removes, and whose "ring" feeds
// frames through the real Balancer. The AF_PACKET side (rings.ts) is covered by test/userspace and
// test/e2e, as root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACT_TX_BACKEND, ACT_TX_FRONTEND, verdictAction } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type StatsSnapshot } from '../../src/core/model.js';
import type {
  Channel,
  FrontendSocket,
  InterfaceState,
  PortSocket,
  WorkerIo,
} from '../../src/dataplane/userspace/io.js';
import type { Envelope, PlaneHealth, Reply, Request } from '../../src/dataplane/userspace/protocol.js';
import { UserspaceWorker } from '../../src/dataplane/userspace/runner.js';
import type { Balancer } from '../../src/pipeline/balancer.js';
import { ControlState } from '../../src/pipeline/control.js';

const FE_MAC = '02:00:00:00:00:0f';
const BE_MAC = '02:00:00:00:00:0b';
const VIP_MAC = 'aa:bb:cc:dd:ee:ff';

const config: InstanceConfig = {
  name: 'lb1',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: { vip: '10.0.0.100', mac: VIP_MAC },
  backend: {
    pool: [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, mac: '02:00:00:00:00:02' },
    ],
  },
  sessions: DEFAULT_SESSION_SETTINGS,
};

/** TCP SYN 10.0.0.11:sport -> 10.0.0.100:80 sent to `dstMac`. */
function syn(sport: number, dstMac = VIP_MAC): Uint8Array {
  const hex =
    `${dstMac.replaceAll(':', '')}0200000000aa0800` +
    '450000280001000040060000 0a00000b0a000064'.replace(' ', '') +
    `${sport.toString(16).padStart(4, '0')}00500000000000000000500220000000 0000`.replace(' ', '');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

class MemSocket implements FrontendSocket {
  closed = false;
  /** A frontend socket opened for one-arm: it also sends the balanced frames. */
  oneArm = false;
  readonly joined = new Set<string>();
  drops = 0;
  constructor(
    readonly ifindex: number,
    readonly role: 'frontend' | 'backend',
  ) {}
  join(mac: string): void {
    this.joined.add(mac);
  }
  leave(mac: string): void {
    this.joined.delete(mac);
  }
  takeStats(): { drops: number; freezes: number } {
    const r = { drops: this.drops, freezes: 0 };
    this.drops = 0;
    return r;
  }
  close(): void {
    assert.equal(this.closed, false, 'a socket is closed once');
    this.closed = true;
  }
}

/** Interfaces, sockets and a frame queue in memory. */
class MemoryIo implements WorkerIo {
  readonly ifaces = new Map<string, InterfaceState>();
  readonly sockets: MemSocket[] = [];
  /** An interface whose socket cannot be opened, with the error. */
  readonly refuse = new Map<string, string>();
  readonly rx: Uint8Array[] = [];
  readonly toBackend: Uint8Array[] = [];
  readonly toFrontend: Uint8Array[] = [];
  txFailures = 0;
  waits = 0;
  closed = false;
  private nextIndex = 10;

  up(name: string, mac: string): InterfaceState {
    const s = { ifindex: this.nextIndex++, mac, up: true };
    this.ifaces.set(name, s);
    return s;
  }
  open(role: 'frontend' | 'backend', ifindex: number, label: string | undefined): MemSocket {
    const why = label === undefined ? undefined : this.refuse.get(label);
    if (why) throw new Error(why);
    const s = new MemSocket(ifindex, role);
    this.sockets.push(s);
    return s;
  }
  live(role: 'frontend' | 'backend'): MemSocket | undefined {
    return this.sockets.find((s) => s.role === role && !s.closed);
  }
  probe(ifname: string): InterfaceState | undefined {
    const s = this.ifaces.get(ifname);
    return s && { ...s };
  }
  openFrontend(ifindex: number, label: string | undefined, oneArm: boolean): FrontendSocket {
    const s = this.open('frontend', ifindex, label);
    s.oneArm = oneArm;
    return s;
  }
  /** Backend ports that stood on the one-arm frontend socket. */
  shared = 0;
  shareFrontend(ifindex: number): PortSocket {
    const fe = this.live('frontend');
    if (fe?.ifindex !== ifindex || !fe.oneArm) throw new Error('no one-arm frontend socket');
    this.shared++;
    return { ifindex, close: () => {} };
  }
  openBackend(ifindex: number, label: string | undefined): PortSocket {
    return this.open('backend', ifindex, label);
  }
  /** The backend "TX ring" is full: sends to the backend fail. */
  txFull = false;
  /** As rings.ts: a decision is committed once its frame is sent, and undone when it cannot be. */
  receive(b: Balancer, nowMs: number): number {
    const n = this.rx.length;
    for (const f of this.rx.splice(0)) {
      const a = verdictAction(b.decide(f, f.length, 0, nowMs));
      const out = a === ACT_TX_BACKEND ? this.toBackend : a === ACT_TX_FRONTEND ? this.toFrontend : undefined;
      if (out === undefined) continue;
      const txSocket =
        this.live('backend') ?? (this.live('frontend')?.oneArm ? this.live('frontend') : undefined);
      if (out === this.toBackend && (this.txFull || !txSocket)) {
        b.transmitFailed();
        this.txFailures++;
      } else {
        out.push(f);
        b.commit();
      }
    }
    return n;
  }
  flush(): boolean {
    return true;
  }
  wait(): boolean {
    this.waits++;
    return false;
  }
  nap(): void {}
  cpuMs(): number {
    return 1;
  }
  close(): void {
    this.closed = true;
  }
}

/** Requests queued by the test, replies and log lines collected. */
class Queue implements Channel {
  readonly inbox: Envelope[] = [];
  readonly replies: Reply[] = [];
  private id = 1;
  send(req: Request): number {
    this.inbox.push({ id: this.id, req });
    return this.id++;
  }
  receive(): Envelope | undefined {
    return this.inbox.shift();
  }
  post(reply: Reply): void {
    this.replies.push(reply);
  }
  logs(level: string): string[] {
    return this.replies.flatMap((r) => ('log' in r && r.log === level ? [r.msg] : []));
  }
  answer(id: number): Reply {
    const r = this.replies.find((x) => x.id === id);
    assert.ok(r, `no reply to request ${id}`);
    return r;
  }
}

function setup() {
  const io = new MemoryIo();
  const ch = new Queue();
  const w = new UserspaceWorker(io, ch);
  /** Sends one request and returns its reply. */
  const call = (req: Request): Reply => {
    const id = ch.send(req);
    w.drainRequests();
    return ch.answer(id);
  };
  /** The daemon's side: plans against the state the worker holds, committed when the worker took them. */
  const control = new ControlState();
  const plan = (cfg = config) => control.plan(cfg, undefined);
  const apply = (
    cfg = config,
    frontendIf: string | undefined = 'fe0',
    backendIf: string | undefined = 'be0',
  ) => {
    const p = plan(cfg);
    const r = call({ op: 'apply', plan: p, frontendIf, backendIf });
    if (!('log' in r) && r.ok) control.commit(p);
    return r;
  };
  return { io, ch, w, call, apply, plan, control };
}

/**
 * A worker with both interfaces up and the apply request queued; `perPass(n)` runs before the n-th pass
 * over the frontend (1-based) decides the frames queued then. run() the worker after.
 */
function running(perPass: (pass: number, ctx: ReturnType<typeof setup>) => void) {
  const ctx = setup();
  const { io, ch, plan } = ctx;
  io.up('fe0', FE_MAC);
  io.up('be0', BE_MAC);
  ch.send({ op: 'apply', plan: plan(), frontendIf: 'fe0', backendIf: 'be0' });
  const realReceive = io.receive.bind(io);
  let passes = 0;
  io.receive = (b, now) => {
    perPass(++passes, ctx);
    return realReceive(b, now);
  };
  return ctx;
}

test('apply attaches both ports to their interfaces and health reports them', () => {
  const { io, call, apply } = setup();
  const fe = io.up('fe0', FE_MAC);
  const be = io.up('be0', BE_MAC);
  assert.deepEqual(apply(), { id: 1, ok: true, body: null });
  const h = (call({ op: 'health' }) as { body: PlaneHealth }).body;
  assert.deepEqual(h.frontend, {
    ifname: 'fe0',
    up: true,
    attached: true,
    ifindex: fe.ifindex,
    opens: 1,
    lastError: undefined,
  });
  assert.deepEqual(h.backend, {
    ifname: 'be0',
    up: true,
    attached: true,
    ifindex: be.ifindex,
    opens: 1,
    lastError: undefined,
  });
  assert.equal(h.errors, 0);
  // Applying again keeps the sockets.
  apply();
  assert.equal(io.sockets.length, 2);
});

test('a missing interface is followed: attached when it appears, re-opened when re-created, detached when gone', () => {
  const { io, ch, w, apply } = setup();
  io.up('fe0', FE_MAC);
  assert.equal((apply() as { ok: boolean }).ok, true, 'a missing backend interface is not an error');
  assert.equal(w.be.status.attached, false);
  const first = io.up('be0', BE_MAC);
  w.checkPorts();
  assert.equal(io.live('backend')?.ifindex, first.ifindex);
  io.up('be0', BE_MAC); // deleted and created again: a new ifindex
  w.checkPorts();
  assert.equal(w.be.status.opens, 2);
  assert.equal(io.sockets.filter((s) => s.role === 'backend' && s.closed).length, 1);
  assert.ok(ch.logs('warn').some((m) => m.includes('be0 was re-created')));
  io.ifaces.delete('be0');
  w.checkPorts();
  assert.equal(io.live('backend'), undefined);
  assert.deepEqual(w.be.status, {
    ifname: 'be0',
    up: false,
    attached: false,
    ifindex: 0,
    opens: 2,
    lastError: undefined,
  });
  assert.ok(ch.logs('warn').some((m) => m.includes('be0 disappeared')));
});

test('an interface that exists but cannot be opened fails the apply with LBDSR_NOT_AVAILABLE', () => {
  const { io, apply, w } = setup();
  io.up('fe0', FE_MAC);
  io.up('be0', BE_MAC);
  io.refuse.set('be0', 'Operation not permitted');
  const r = apply();
  assert.ok(!('log' in r) && !r.ok, 'the apply failed');
  assert.equal(r.code, 'LBDSR_NOT_AVAILABLE');
  assert.match(r.error, /cannot attach to be0: Operation not permitted/);
  // Once it can be opened, the next check attaches it and clears the error.
  io.refuse.clear();
  w.checkPorts();
  assert.equal(w.be.status.attached, true);
  assert.equal(w.be.status.lastError, undefined);
});

test('a port without a peer is closed; a plan for another state is refused and changes nothing', () => {
  const { io, call, apply, plan } = setup();
  io.up('fe0', FE_MAC);
  io.up('be0', BE_MAC);
  apply();
  // A plan computed from a state the worker does not hold (here: from nothing, but not full).
  const other = new ControlState();
  other.apply({ ...config, backend: { pool: [] } }, undefined);
  other.apply(config, undefined);
  const stale = other.plan(
    { ...config, backend: { pool: [{ id: 9, mac: '02:00:00:00:00:09' }] } },
    undefined,
  );
  const r = call({ op: 'apply', plan: stale, frontendIf: 'fe0', backendIf: 'be0' });
  assert.ok(!('log' in r) && !r.ok && r.code === 'LBDSR_INTERNAL', 'the plan is refused');
  const stats = (call({ op: 'stats' }) as { body: StatsSnapshot }).body;
  assert.deepEqual(
    stats.backends.map((b) => b.id),
    [1, 2],
    'the earlier pool is still configured',
  );
  call({ op: 'apply', plan: plan(), frontendIf: 'fe0', backendIf: undefined });
  assert.equal(io.live('backend'), undefined);
  assert.ok(io.live('frontend'));
});

test('the frontend joins the service MACs the interface does not own, and again after a re-open', () => {
  const { io, w, apply } = setup();
  io.up('fe0', FE_MAC);
  io.up('be0', BE_MAC);
  apply();
  assert.deepEqual([...(io.live('frontend')?.joined ?? [])], [VIP_MAC]);
  // The service takes the interface's own MAC: nothing to join, the old one is left.
  apply({ ...config, frontend: { ...config.frontend, mac: FE_MAC } });
  assert.deepEqual([...(io.live('frontend')?.joined ?? [])], []);
  apply();
  io.up('fe0', FE_MAC);
  w.checkPorts();
  assert.deepEqual([...(io.live('frontend')?.joined ?? [])], [VIP_MAC], 'joined on the new socket');
  // The interface takes the service MAC as its own: the membership is left.
  io.ifaces.set('fe0', { ...(io.ifaces.get('fe0') as InterfaceState), mac: VIP_MAC });
  w.checkPorts();
  assert.deepEqual([...(io.live('frontend')?.joined ?? [])], []);
  assert.deepEqual(w.fe.memberships, []);
});

test('frames are rewritten with the backend interface MAC, followed when it changes', () => {
  const { io, w } = running((passes, { io, ch, w }) => {
    if (passes === 1) io.rx.push(syn(40000));
    if (passes === 2) {
      // The backend interface gets a new MAC; the worker sees it at its next look at the interfaces.
      io.ifaces.set('be0', { ...(io.ifaces.get('be0') as InterfaceState), mac: '02:00:00:00:00:bb' });
      w.checkPorts();
      io.rx.push(syn(40001));
    }
    if (passes === 3) ch.send({ op: 'stop' });
  });
  w.run();
  const src = (f: Uint8Array | undefined) => Buffer.from(f?.subarray(6, 12) ?? []).toString('hex');
  assert.equal(io.toBackend.length, 2);
  assert.equal(src(io.toBackend[0]), BE_MAC.replaceAll(':', ''));
  assert.equal(src(io.toBackend[1]), '0200000000bb');
});

test('run(): answers requests between batches, decides frames, stops on request and frees everything', () => {
  const { io, ch, w, plan } = setup();
  io.up('fe0', FE_MAC);
  io.up('be0', BE_MAC);
  const applyId = ch.send({ op: 'apply', plan: plan(), frontendIf: 'fe0', backendIf: 'be0' });
  // Frames arrive while the loop runs; the stop request comes after the loop saw them.
  const realReceive = io.receive.bind(io);
  let passes = 0;
  let statsId = -1;
  io.receive = (b, now) => {
    if (passes++ === 0) io.rx.push(syn(1000), syn(1001), syn(1002, FE_MAC));
    else if (statsId < 0) {
      statsId = ch.send({ op: 'stats' });
      ch.send({ op: 'sessions', limit: 10 });
      ch.send({ op: 'stop' });
    }
    return realReceive(b, now);
  };
  w.run();
  assert.equal(w.stopped, true);
  assert.deepEqual(ch.answer(applyId), { id: applyId, ok: true, body: null });
  const stats = (ch.answer(statsId) as { body: StatsSnapshot }).body;
  assert.equal(stats.rx.packets, 3);
  assert.equal(stats.tx.backend, 2);
  assert.equal(stats.drops.DST_MAC, 1, 'the frame to the interface MAC is not for a service');
  const sessions = ch.answer(statsId + 1) as { body: unknown[] };
  assert.equal(sessions.body.length, 2);
  assert.equal(io.toBackend.length, 2);
  assert.ok(
    io.sockets.every((s) => s.closed),
    'both sockets closed',
  );
  assert.equal(io.closed, true);
  assert.deepEqual(ch.logs('info').at(-1), 'stopped');
});

test('a frame the backend port cannot take (TX ring full) is a TX_FAILED drop that records nothing', () => {
  let statsId = -1;
  const { io, ch, w } = running((passes, { io, ch }) => {
    if (passes === 1) io.rx.push(syn(2000)); // established while the ring has room
    if (passes === 2) {
      io.txFull = true;
      io.rx.push(syn(2001), syn(2000)); // a new flow and the established one
    }
    if (passes === 3) {
      statsId = ch.send({ op: 'stats' });
      ch.send({ op: 'sessions', limit: 10 });
      ch.send({ op: 'stop' });
    }
  });
  w.run();
  const stats = (ch.answer(statsId) as { body: StatsSnapshot }).body;
  const sessions = (ch.answer(statsId + 1) as { body: { sport: number }[] }).body;
  assert.deepEqual(
    sessions.map((s) => s.sport),
    [2000],
    'the failed new flow recorded no session',
  );
  assert.equal(stats.drops.TX_FAILED, 2);
  assert.deepEqual(
    { hit: stats.sessions.hit, miss: stats.sessions.miss },
    { hit: 0, miss: 1 },
    'only the sent frame moved a session counter',
  );
  assert.equal(stats.tx.backend, 1);
  const sent = stats.backends.reduce((a, b) => a + b.packets, 0);
  const created = stats.backends.reduce((a, b) => a + b.sessions, 0);
  assert.deepEqual({ sent, created }, { sent: 1, created: 1 }, 'backend counters count the sent frame only');
  assert.equal(io.txFailures, 2);
});

/** A worker with both interfaces up, the apply queued and committed on the daemon's side. */
function applied() {
  const ctx = setup();
  ctx.io.up('fe0', FE_MAC);
  ctx.io.up('be0', BE_MAC);
  const p = ctx.plan();
  ctx.ch.send({ op: 'apply', plan: p, frontendIf: 'fe0', backendIf: 'be0' });
  ctx.control.commit(p);
  return ctx;
}

test('sessionCounts: live sessions per backend slot, idle-expired ones left out', () => {
  const { io, ch, w, control } = applied();
  const realReceive = io.receive.bind(io);
  let passes = 0;
  let countsId = -1;
  io.receive = (b, now) => {
    passes++;
    if (passes === 1) {
      // Three flows last seen 700 s ago (the TCP idle timeout is 600 s): recorded, no longer live.
      for (let port = 4000; port < 4003; port++) io.rx.push(syn(port));
      realReceive(b, now - 700_000);
      for (let port = 3000; port < 3010; port++) io.rx.push(syn(port));
    } else if (countsId < 0) {
      countsId = ch.send({ op: 'sessionCounts' });
      ch.send({ op: 'stop' });
    }
    return realReceive(b, now);
  };
  w.run();
  assert.equal(io.toBackend.length, 13);
  const counts = (ch.answer(countsId) as { body: Map<number, number> }).body;
  assert.ok(counts instanceof Map, 'a Map from slot to count');
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    10,
    `the 10 recent flows, not the 3 idle ones: ${JSON.stringify([...counts])}`,
  );
  const slots = new Set(control.slots.flatMap((s, i) => (s === null ? [] : [i])));
  for (const slot of counts.keys()) assert.ok(slots.has(slot), `slot ${slot} holds a backend`);
  assert.equal(counts.size, 2, 'both backends took flows');
});

test('sessionCounts: the sessions of a backend made DISABLED (its slot no longer live) are nobody’s', () => {
  const { io, ch, w, plan, control } = applied();
  const disabled = structuredClone(config);
  const b1 = disabled.backend.pool[0];
  if (b1) b1.state = 'DISABLED';
  const realReceive = io.receive.bind(io);
  let passes = 0;
  const ids: number[] = [];
  io.receive = (b, now) => {
    passes++;
    if (passes === 1) for (let port = 5000; port < 5010; port++) io.rx.push(syn(port));
    if (passes === 2) {
      ids.push(ch.send({ op: 'sessionCounts' }));
      const p2 = plan(disabled);
      ch.send({ op: 'apply', plan: p2, frontendIf: 'fe0', backendIf: 'be0' });
      control.commit(p2);
      ids.push(ch.send({ op: 'sessionCounts' }));
      ch.send({ op: 'stop' });
    }
    return realReceive(b, now);
  };
  w.run();
  const count = (id: number | undefined) =>
    [...(ch.answer(id ?? -1) as { body: Map<number, number> }).body.values()].reduce((a, b) => a + b, 0);
  const slot1 = control.slotOf(1);
  const before = (ch.answer(ids[0] ?? -1) as { body: Map<number, number> }).body.get(slot1) ?? 0;
  assert.ok(before > 0, 'backend 1 had sessions');
  assert.equal(count(ids[0]), 10);
  assert.equal(count(ids[1]), 10 - before, "backend 1's sessions are no longer live");
});

test('one-arm: one socket on the one interface carries both ports; two interfaces again, a socket each', () => {
  const { io, ch, w, plan, control } = setup();
  io.up('eth0', FE_MAC);
  const p = plan();
  ch.send({ op: 'apply', plan: p, frontendIf: 'eth0', backendIf: 'eth0' });
  control.commit(p);
  let passes = 0;
  const realReceive = io.receive.bind(io);
  io.receive = (b, now) => {
    if (++passes === 1) io.rx.push(syn(5000), syn(5001));
    if (passes === 2) ch.send({ op: 'stop' });
    return realReceive(b, now);
  };
  w.run();
  assert.deepEqual(
    io.sockets.map((s) => [s.role, s.oneArm]),
    [['frontend', true]],
    'one socket, opened for one-arm; no backend socket on the same interface',
  );
  assert.equal(io.shared, 1);
  assert.equal(io.toBackend.length, 2, 'balanced through the one socket');
  const src = (f: Uint8Array | undefined) => Buffer.from(f?.subarray(6, 12) ?? []).toString('hex');
  assert.equal(src(io.toBackend[0]), FE_MAC.replaceAll(':', ''), "the interface's MAC as the source");

  // a worker that keeps running: both ports attached to the one interface, which is then re-created;
  // then two interfaces again
  const next = setup();
  const eth = next.io.up('eth0', FE_MAC);
  next.apply(config, 'eth0', 'eth0');
  const health = () => (next.call({ op: 'health' }) as { body: PlaneHealth }).body;
  assert.deepEqual(
    [health().frontend.ifindex, health().backend.ifindex, health().backend.attached],
    [eth.ifindex, eth.ifindex, true],
  );
  const again = next.io.up('eth0', FE_MAC);
  next.w.checkPorts();
  assert.deepEqual(
    next.io.sockets.map((s) => [s.role, s.oneArm, s.closed]),
    [
      ['frontend', true, true],
      ['frontend', true, false],
    ],
  );
  assert.equal(next.w.be.status.ifindex, again.ifindex, 'the backend port stands on the new socket');
  assert.equal(next.io.shared, 2);
  next.io.up('be0', BE_MAC);
  assert.equal((next.apply(config, 'eth0', 'be0') as { ok: boolean }).ok, true);
  assert.deepEqual(
    next.io.sockets.filter((s) => !s.closed).map((s) => [s.role, s.oneArm]),
    [
      ['frontend', false],
      ['backend', false],
    ],
    'the one-arm socket closed; a receive-only frontend socket and a backend socket',
  );
  assert.equal(health().backend.ifname, 'be0');
});
