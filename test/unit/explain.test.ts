// Explain one flow (src/pipeline/explain.ts) on a Balancer: every rule path says what the reference
// model of docs/semantics.md says (test/lib/reference.ts: service match, Maglev pick), the backend
// explained is the one the real frame then reaches, and explaining changes no counter and no session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import {
  describe as describeTrace,
  type ExplainRequest,
  type ExplainResult,
  explainFrame,
  traceOf,
} from '../../src/pipeline/explain.js';
import { explainConfig, PORT_MAC, VIP, VIP2 } from '../lib/explain-fixture.js';
import { flowHash, M, referenceMatch, referencePick } from '../lib/reference.js';

const config = explainConfig;

const refServices = [
  { name: 'default', vip: parseIpv4(VIP), proto: 0, port: 0, pool: [1, 2, 3], algorithm: 'HASH_SESSION' },
  { name: 'dns', vip: parseIpv4(VIP), proto: 17, port: 53, pool: [7, 8], algorithm: 'HASH_SRC_IP' },
  { name: 'web2', vip: parseIpv4(VIP2), proto: 6, port: 443, pool: [], algorithm: 'HASH_SESSION' },
];

function balancer(portMac: string | null = PORT_MAC): Balancer {
  const b = new Balancer();
  b.configure(config, portMac ?? undefined);
  return b;
}

function explain(b: Balancer, r: ExplainRequest, nowMs = 1000): ExplainResult {
  const { frame, port } = explainFrame(r, b.control);
  return describeTrace(traceOf(b, frame, port, nowMs), frame, port, b.control, 'USERSPACE');
}

/** Sends the frame of `r` for real; the backend id it reached (undefined: not to a backend). */
function send(b: Balancer, r: ExplainRequest, nowMs = 1000): number | undefined {
  const { frame, port } = explainFrame(r, b.control);
  b.lastBackendId = -1;
  b.process(frame, frame.length, port, nowMs);
  return b.lastBackendId === -1 ? undefined : b.lastBackendId;
}

/** Everything a user can read of the balancer: stats, sessions, fragment table. */
function observable(b: Balancer, nowMs: number): string {
  return JSON.stringify({
    stats: b.stats(nowMs),
    sessions: b.sessions(1000, nowMs),
    counters: [...b.counters],
    frags: b.fragments,
  });
}

const flow = (sport: number, extra: Partial<ExplainRequest> = {}): ExplainRequest => ({
  src: '10.0.0.11',
  dst: VIP,
  proto: 'TCP',
  sport,
  dport: 80,
  ...extra,
});

test('a new flow: Maglev entry and hash of the reference, the backend the real frame then reaches', () => {
  const b = balancer();
  for (let sport = 40000; sport < 40040; sport++) {
    const r = flow(sport, { flags: 'SYN' });
    const before = observable(b, 1000);
    const x = explain(b, r);
    assert.equal(observable(b, 1000), before, 'explain changed something');
    const key = { src: parseIpv4('10.0.0.11'), dst: parseIpv4(VIP), sport, dport: 80, proto: 6 };
    const svc = referenceMatch(refServices, key)!;
    assert.equal(x.service?.name, svc.name);
    assert.equal(x.verdict, 'TX_BACKEND');
    assert.equal(x.rule, '11');
    assert.deepEqual(x.session, { verdict: 'MISS' });
    assert.deepEqual(x.maglev, {
      hash: flowHash(key, svc.algorithm),
      index: flowHash(key, svc.algorithm) % M,
    });
    const id = referencePick(svc.pool, svc.algorithm, key);
    assert.equal(x.backend?.id, id);
    assert.equal(x.backend?.mac, `02:00:00:00:00:0${id}`);
    assert.equal(x.backend?.service, 'default');
    assert.equal(send(b, r), id, 'the real frame went elsewhere');
  }
});

test('an established flow: session hit with its age and backend; a non-SYN miss is not recorded', () => {
  const b = balancer();
  const id = send(b, flow(40000, { flags: 'SYN' }), 1000);
  const x = explain(b, flow(40000), 4500);
  assert.equal(x.session?.verdict, 'HIT');
  assert.equal(x.session?.age_ms, 3500);
  assert.equal(x.session?.backend, id);
  assert.equal(x.maglev, undefined, 'a hit consults no Maglev entry');
  assert.equal(x.backend?.id, id);
  assert.match(x.why, /session hit/);
  const y = explain(b, flow(40001), 4500);
  assert.equal(y.session?.verdict, 'UNRECORDED');
  const expired = explain(b, flow(40000), 1000 + 600_001);
  assert.equal(expired.session?.verdict, 'EXPIRED');
  assert.equal(b.stats(4500).sessions.active, 1);
});

test('a session whose backend left is STALE and re-balanced; its ICMP error follows the session', () => {
  const b = balancer();
  const r = flow(40000, { flags: 'SYN' });
  const id = send(b, r)!;
  const icmp: ExplainRequest = {
    ...flow(40000),
    proto: 'ICMP',
    type: 3,
    code: 4,
    inner: 'TCP',
    from: '192.0.2.1',
  };
  const e = explain(b, icmp);
  assert.equal(e.verdict, 'TX_BACKEND');
  assert.equal(e.session?.verdict, 'HIT');
  assert.equal(e.backend?.id, id);
  assert.equal(e.service?.name, 'default');
  b.configure({ ...config, backend: { pool: config.backend.pool.filter((p) => p.id !== id) } }, PORT_MAC);
  const x = explain(b, r);
  assert.equal(x.session?.verdict, 'STALE');
  assert.equal(x.session?.backend, id);
  assert.notEqual(x.backend?.id, id);
  assert.equal(send(b, r), x.backend?.id);
});

test('the service match: a port service with its own algorithm, NO_SERVICE, NO_BACKEND, ICMP echo', () => {
  const b = balancer();
  const dns: ExplainRequest = { src: '10.0.0.12', dst: VIP, proto: 'UDP', sport: 5353, dport: 53 };
  const x = explain(b, dns);
  assert.equal(x.service?.name, 'dns');
  assert.equal(x.service?.algorithm, 'HASH_SRC_IP');
  const key = { src: parseIpv4('10.0.0.12'), dst: parseIpv4(VIP), sport: 5353, dport: 53, proto: 17 };
  assert.equal(x.maglev?.hash, flowHash(key, 'HASH_SRC_IP'));
  assert.equal(x.backend?.id, referencePick([7, 8], 'HASH_SRC_IP', key));
  assert.equal(send(b, dns), x.backend?.id);

  const none = explain(b, { src: '10.0.0.12', dst: VIP2, proto: 'TCP', sport: 1, dport: 80 });
  assert.deepEqual([none.verdict, none.drop, none.rule], ['DROP', 'NO_SERVICE', '9a']);
  const empty = explain(b, { src: '10.0.0.12', dst: VIP2, proto: 'TCP', sport: 1, dport: 443, flags: 'SYN' });
  assert.deepEqual([empty.drop, empty.rule, empty.service?.name], ['NO_BACKEND', '11', 'web2']);
  assert.ok(empty.maglev !== undefined, 'the empty entry is named');
  const echo = explain(b, { src: '10.0.0.12', dst: VIP, proto: 'ICMP' });
  assert.equal(echo.service?.name, 'default');
  assert.equal(echo.verdict, 'TX_BACKEND');
});

test('drops before the key: NOT_VIP, DST_MAC, ICMP_TYPE, NOT_READY, BACKEND port', () => {
  const b = balancer();
  const before = observable(b, 1000);
  const cases: [ExplainRequest, string, string][] = [
    [flow(1, { dst: '10.9.9.9' }), 'NOT_VIP', '7'],
    [flow(1, { mac: '02:11:22:33:44:55' }), 'DST_MAC', '8'],
    [{ ...flow(1), proto: 'ICMP', type: 5 }, 'ICMP_TYPE', '9'],
    [flow(1, { port: 'BACKEND' }), 'BACKEND_PORT', '1'],
  ];
  for (const [r, drop, rule] of cases) {
    const x = explain(b, r);
    assert.deepEqual([x.verdict, x.drop, x.rule], ['DROP', drop, rule], JSON.stringify(r));
  }
  assert.equal(observable(b, 1000), before);
  const notReady = explain(balancer(null), flow(1));
  assert.deepEqual([notReady.drop, notReady.rule, notReady.service?.name], ['NOT_READY', '10', 'default']);
});

test('ARP: a request for a VIP is answered (rule 4); on the BACKEND port it is passed (rule 1)', () => {
  const b = balancer();
  const before = observable(b, 1000);
  const x = explain(b, { who_has: VIP, src: '10.0.0.11' });
  assert.deepEqual([x.verdict, x.rule], ['TX_FRONTEND', '4']);
  assert.equal(x.output?.slice(12, 24), 'aabbccddeeff', 'the reply comes from the frontend MAC');
  const other = explain(b, { who_has: '10.0.0.5' });
  assert.deepEqual([other.drop, other.rule], ['ARP', '4']);
  const pass = explain(b, { who_has: '10.0.1.250', port: 'BACKEND' });
  assert.deepEqual([pass.verdict, pass.rule], ['PASS', '1']);
  assert.equal(observable(b, 1000), before, 'explain counted an ARP reply or a pass');
  // the real ARP request is then answered the same way
  const { frame, port } = explainFrame({ who_has: VIP, src: '10.0.0.11' }, b.control);
  b.process(frame, frame.length, port, 1000);
  assert.equal(Buffer.from(frame).toString('hex'), x.output);
  assert.equal(b.stats().arpReplies, 1);
  assert.equal(port, PORT_FRONTEND);
});

test('a request missing a field is refused with LBDSR_BAD_VALUE', () => {
  const b = balancer();
  assert.throws(() => explain(b, { src: '10.0.0.1', dst: VIP, proto: 'TCP' }), { code: 'LBDSR_BAD_VALUE' });
  assert.throws(() => explain(b, flow(1, { flags: 'SYN,BOGUS' })), { code: 'LBDSR_BAD_VALUE' });
  assert.throws(() => explain(b, { arp: true, src: '10.0.0.1' }), /who_has/);
});
