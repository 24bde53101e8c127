// Explain in the kernel (bpf/explain.h, src/dataplane/xdp/explain.ts): lbdsr_explain, loaded with the
// maps the mirror writes as the daemon does, gives for every kind of frame the same answer as the
// TypeScript model (the pipeline's Balancer configured alike) and moves no counter, no session and
// no fragment entry; after a real frame it finds the session lbdsr_xdp recorded; and a session
// written only into the kernel's map shows in its answer (the model knows nothing of it), so the
// answer comes from the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS } from '../../src/core/model.js';
import { XdpExplainer } from '../../src/dataplane/xdp/explain.js';
import { XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../../src/dataplane/xdp/mirror.js';
import { loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { TestRunner, XDP_REDIRECT } from '../../src/kernel/libbpf.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { ControlState } from '../../src/pipeline/control.js';
import {
  describe as describeTrace,
  type ExplainRequest,
  type ExplainResult,
  explainFrame,
  traceOf,
} from '../../src/pipeline/explain.js';
import { PORT_MAC as BE_PORT, explainConfig, VIP, VIP2 } from '../lib/explain-fixture.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();
const config = { ...explainConfig, sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 4096 } };

const client = '10.0.0.11';
const tcp = (sport: number, flags = 'SYN'): ExplainRequest => ({
  src: client,
  dst: VIP,
  proto: 'TCP',
  sport,
  dport: 80,
  flags,
});

/** Every rule path the model and the kernel must agree on. */
const REQUESTS: ExplainRequest[] = [
  ...Array.from({ length: 24 }, (_, i) => tcp(40000 + i)),
  tcp(41000, 'ACK'),
  { src: client, dst: VIP, proto: 'UDP', sport: 5353, dport: 53 },
  { src: client, dst: VIP, proto: 'UDP', sport: 5353, dport: 54 },
  { src: client, dst: VIP, proto: 'ICMP' },
  { src: client, dst: VIP, proto: 'ICMP', type: 3, code: 4, sport: 40000, dport: 80, from: '192.0.2.1' },
  { src: client, dst: VIP, proto: 'ICMP', type: 5 },
  { src: client, dst: VIP2, proto: 'TCP', sport: 1, dport: 443, flags: 'SYN' },
  { src: client, dst: VIP2, proto: 'TCP', sport: 1, dport: 80 },
  { src: client, dst: '10.9.9.9', proto: 'TCP', sport: 1, dport: 80 },
  { ...tcp(1), mac: '02:11:22:33:44:55' },
  { who_has: VIP, src: client },
  { who_has: '10.0.0.5' },
  { who_has: '10.0.1.250', port: 'BACKEND' },
  { ...tcp(1), port: 'BACKEND' },
];

/** The parts of an answer both planes must agree on. */
function decision(r: ExplainResult) {
  const { plane: _p, session, ...rest } = r;
  return { ...rest, session: session && { ...session, age_ms: undefined } };
}

class Rig {
  readonly ld = loadLbdsr({ capacity: 4096 });
  readonly maps = new XdpMaps(this.ld.fds);
  readonly control = new ControlState();
  readonly model = new Balancer({ capacity: 4096 });
  readonly fe = new TestRunner(this.ld.progFd);
  readonly explainer: XdpExplainer;

  constructor() {
    // the daemon's road: the control state plans, the mirror writes the plan (devmap: lo)
    new XdpMirror(this.maps).apply(this.control.apply(config, BE_PORT), 0, 1);
    this.model.configure(config, BE_PORT);
    this.explainer = new XdpExplainer({ ...this.ld.fds }, 4096);
  }

  kernel(r: ExplainRequest): ExplainResult {
    const { frame, port } = explainFrame(r, this.control);
    return describeTrace(this.explainer.explain(frame, port), frame, port, this.control, 'XDP_SKB');
  }

  modelSays(r: ExplainRequest, nowMs = 0): ExplainResult {
    const { frame, port } = explainFrame(r, this.model.control);
    return describeTrace(
      traceOf(this.model, frame, port, nowMs),
      frame,
      port,
      this.model.control,
      'USERSPACE',
    );
  }

  /** Counters, backend counters, sessions and fragment entries: what explaining must not move. */
  state(): string {
    const sessions: unknown[] = [];
    this.maps.forEachSession((s) => sessions.push({ ...s, lastSeenNs: String(s.lastSeenNs) }));
    const bstats = [0, 1, 2, 3].map((s) => this.maps.readBackendStats(s));
    return JSON.stringify({ c: [...this.maps.readCounters()], bstats, sessions });
  }

  close(): void {
    this.explainer.close();
    this.ld.obj.close();
  }
}

test('the kernel explains every rule path as the model does, and records nothing', { skip }, () => {
  const r = new Rig();
  try {
    const before = r.state();
    for (const req of REQUESTS) {
      const k = r.kernel(req);
      assert.equal(k.plane, 'XDP_SKB');
      assert.deepEqual(decision(k), decision(r.modelSays(req)), JSON.stringify(req));
    }
    assert.equal(r.state(), before, 'explaining moved a counter or a session');
    const names = new Set(
      REQUESTS.map((q) => r.kernel(q)).map((k) => `${k.verdict} ${k.drop ?? ''} ${k.rule}`),
    );
    for (const want of [
      'TX_BACKEND  11',
      'TX_FRONTEND  4',
      'PASS  1',
      'DROP NOT_VIP 7',
      'DROP NO_SERVICE 9a',
    ])
      assert.ok(names.has(want), `no ${want} among ${[...names].join(', ')}`);
  } finally {
    r.close();
  }
});

test('after a real frame the kernel explains its session; a session only in the kernel shows', {
  skip,
}, () => {
  const r = new Rig();
  try {
    // the real program records the flow's session; explain then finds it, on the backend it chose
    const first = r.kernel(tcp(40000));
    assert.equal(first.session?.verdict, 'MISS');
    const { frame } = explainFrame(tcp(40000), r.control);
    r.fe.input.set(frame);
    assert.equal(r.fe.run(frame.length), XDP_REDIRECT);
    const hit = r.kernel(tcp(40000, 'ACK'));
    assert.equal(hit.session?.verdict, 'HIT');
    assert.equal(hit.session?.backend, first.backend?.id);
    assert.equal(hit.backend?.mac, first.backend?.mac);
    assert.equal(hit.maglev, undefined);

    // a session the model does not have: written into the kernel's map only, to another backend
    const pick = r.kernel(tcp(50000, 'ACK'));
    const other = [1, 2, 3].find((id) => id !== pick.backend?.id)!;
    const slot = r.control.slotOf(other);
    const ageNs = 1_500_000_000n;
    const t0 = process.hrtime.bigint();
    r.maps.writeSession({
      src: parseIpv4(client),
      dst: parseIpv4(VIP),
      sport: 50000,
      dport: 80,
      proto: 6,
      backendId: other,
      slot,
      lastSeenNs: t0 - ageNs,
    });
    const before = r.state();
    const k = r.kernel(tcp(50000, 'ACK'));
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(r.state(), before);
    assert.equal(k.session?.verdict, 'HIT', JSON.stringify(k));
    assert.equal(k.backend?.id, other);
    assert.equal(k.backend?.mac, `02:00:00:00:00:0${other}`);
    const age = k.session?.age_ms ?? -1;
    // the kernel's coarse clock lags by at most a tick (<= 10 ms)
    assert.ok(age >= 1490 && age <= 1500 + elapsedMs + 1, `age ${age} ms`);
    assert.equal(
      r.modelSays(tcp(50000, 'ACK')).session?.verdict,
      'UNRECORDED',
      'the model has no such session',
    );
    assert.equal(PORT_FRONTEND, 0);
  } finally {
    r.close();
  }
});
