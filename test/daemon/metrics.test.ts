// What lbdsrd shows of itself, through the API and lbdsrctl: GET /metrics (the Prometheus text, checked
// by promtool, behind the token; every counter of a plane's readout under its metric; session-table
// walks bounded), the rates of `stats show`, the event log (`events show`); and the committed alert
// rules and example scrape configuration, checked and unit-tested by promtool. A plane that reports
// chosen counters stands in for the real planes here (real frames: test/e2e/metrics.test.ts, as root).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DROP_REASON_NAMES } from '../../src/core/constants.js';
import type { PlaneType, StatsSnapshot } from '../../src/core/model.js';
import { buildApp } from '../../src/daemon/app.js';
import { newInstance } from '../../src/daemon/document.js';
import { zeroStats } from '../../src/daemon/planes.js';
import type { DataPlane, StatsOptions } from '../../src/dataplane/types.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { promtool, promtoolSkip } from '../lib/promtool.js';
import { appWithPlanes, ctl, ROOT, startDaemon, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const PROM = join(ROOT, 'deploy/prometheus');

const noPromtool = promtoolSkip();

/** The value of one series of a scrape (`name{a="b",...}`), undefined when absent. */
function value(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A plane that reports the counters the test sets, and records how it was read. */
class CountersPlane implements DataPlane {
  readonly reads: boolean[] = [];
  stats0: StatsSnapshot;
  active = 0;
  constructor(readonly kind: PlaneType) {
    this.stats0 = zeroStats(newInstance('x'));
  }
  async apply(): Promise<void> {}
  async stats(opts: StatsOptions = {}): Promise<StatsSnapshot> {
    const walk = opts.walk !== false;
    this.reads.push(walk);
    const s = structuredClone(this.stats0);
    s.sessions.active = walk ? this.active : 0;
    return s;
  }
  async sessions() {
    return [];
  }
  async close(): Promise<void> {}
}

describe('GET /metrics', () => {
  test('every counter of the readout under its metric, labels bounded, promtool-clean', async (t) => {
    const state = tempDir('metrics');
    const planes: CountersPlane[] = [];
    const app = await appWithPlanes(state.dir, async (kind) => {
      if (kind === 'XDP_DRV') throw new Error('no XDP here');
      const p = new CountersPlane(kind);
      planes.push(p);
      return p;
    });
    t.after(async () => {
      await app.close();
      state.cleanup();
    });
    const call = async (method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: object) =>
      (await app.inject({ method, url: `${BASE}${path}`, payload: body })).statusCode;
    const scrape = async () => {
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      return r.body;
    };
    assert.equal(await call('POST', '/', { name: 'lb1', sessions: { capacity: 5000 } }), 201);
    assert.equal(await call('POST', '/lb1/ports/', [{ name: 'fp', type: 'FRONTEND', peer: 'fake0' }]), 201);
    assert.equal(await call('POST', '/lb1/backend/pool/7/', { mac: '02:00:00:00:00:07' }), 201);
    assert.equal(await call('POST', '/lb1/backend/pool/7/', { mac: '02:00:00:00:00:07' }), 409);
    assert.equal(await call('PATCH', '/lb1/', { type: 'XDP_DRV' }), 409, 'the XDP plane fails');
    assert.equal(await call('POST', '/nope/ports/', [{ name: 'x', type: 'FRONTEND' }]), 404);
    const web = {
      name: 'web',
      vip: '10.0.0.101',
      protocol: 'TCP',
      port: 80,
      backend: {
        pool: [
          { id: 1, mac: '02:00:00:00:01:01' },
          { id: 2, mac: '02:00:00:00:01:02', state: 'DISABLED' },
        ],
      },
    };
    assert.equal(await call('POST', '/lb1/services/', web), 201);
    const p = planes[0]!;
    Object.assign(p.stats0, {
      rx: {
        packets: 1000,
        bytes: 64_000,
        frontend: { packets: 955, bytes: 61_300 },
        backend: { packets: 45, bytes: 2_700 },
      },
      tx: { frontend: 3, backend: 1050, frontendBytes: 180, backendBytes: 67_200 },
      arpReplies: 3,
      ndReplies: 4,
      backendPass: 5,
      frontendPass: 9,
      backends: [
        { id: 7, packets: 900, bytes: 57_600, sessions: 12 },
        { id: 1, service: 'web', packets: 100, bytes: 6_400, sessions: 3 },
        { id: 2, service: 'web', packets: 50, bytes: 3_200, sessions: 2 },
      ],
      plane: { kind: 'USERSPACE', status: 'RUNNING', restarts: 0, rxRingDrops: 8 },
    });
    Object.assign(p.stats0.drops, { BACKEND_PORT: 40, NOT_VIP: 57, ND: 6, IPV6_EXT: 2 });
    Object.assign(p.stats0.sessions, { hit: 888, miss: 12, expired: 2, stale: 1, evicted: 4, unrecorded: 5 });
    Object.assign(p.stats0.fragments, { hit: 6, miss: 7 });
    p.active = 11;

    const text = await scrape();
    const lb = 'lb="lb1"';
    const want: Record<string, number> = {
      [`lbdsr_plane_info{${lb},plane="USERSPACE"}`]: 1,
      [`lbdsr_port_received_frames_total{${lb},port="frontend"}`]: 955,
      [`lbdsr_port_received_frames_total{${lb},port="backend"}`]: 45,
      [`lbdsr_port_passed_frames_total{${lb},port="backend"}`]: 5,
      [`lbdsr_port_passed_frames_total{${lb},port="frontend"}`]: 9,
      [`lbdsr_port_received_bytes_total{${lb},port="frontend"}`]: 61_300,
      [`lbdsr_port_received_bytes_total{${lb},port="backend"}`]: 2_700,
      [`lbdsr_port_sent_bytes_total{${lb},port="frontend"}`]: 180,
      [`lbdsr_plane_rx_ring_dropped_frames_total{${lb}}`]: 8,
      [`lbdsr_received_bytes_total{${lb}}`]: 64_000,
      [`lbdsr_port_sent_frames_total{${lb},port="frontend"}`]: 3,
      [`lbdsr_port_sent_frames_total{${lb},port="backend"}`]: 1050,
      [`lbdsr_port_sent_bytes_total{${lb},port="backend"}`]: 67_200,
      [`lbdsr_service_backends{${lb},service="default"}`]: 1,
      [`lbdsr_service_backends{${lb},service="web"}`]: 2,
      [`lbdsr_service_backends_serving{${lb},service="default"}`]: 1,
      [`lbdsr_service_backends_serving{${lb},service="web"}`]: 1,
      [`lbdsr_service_sent_frames_total{${lb},service="default"}`]: 900,
      [`lbdsr_service_sent_frames_total{${lb},service="web"}`]: 150,
      [`lbdsr_service_sent_bytes_total{${lb},service="web"}`]: 9_600,
      [`lbdsr_service_sessions_created_total{${lb},service="web"}`]: 5,
      [`lbdsr_service_sessions{${lb},service="web"}`]: 0,
      [`lbdsr_backend_up{${lb},service="web",backend="2"}`]: 0,
      [`lbdsr_arp_replies_total{${lb}}`]: 3,
      [`lbdsr_nd_replies_total{${lb}}`]: 4,
      [`lbdsr_dropped_frames_total{${lb},reason="ND"}`]: 6,
      [`lbdsr_dropped_frames_total{${lb},reason="IPV6_EXT"}`]: 2,
      [`lbdsr_dropped_frames_total{${lb},reason="NOT_VIP"}`]: 57,
      [`lbdsr_dropped_frames_total{${lb},reason="NO_BACKEND"}`]: 0,
      [`lbdsr_session_hits_total{${lb}}`]: 888,
      [`lbdsr_session_misses_total{${lb}}`]: 12,
      [`lbdsr_session_expired_total{${lb}}`]: 2,
      [`lbdsr_session_stale_total{${lb}}`]: 1,
      [`lbdsr_session_evicted_total{${lb}}`]: 4,
      [`lbdsr_session_unrecorded_total{${lb}}`]: 5,
      [`lbdsr_fragment_lookups_total{${lb},result="hit"}`]: 6,
      [`lbdsr_fragment_lookups_total{${lb},result="miss"}`]: 7,
      [`lbdsr_sessions_active{${lb}}`]: 11,
      [`lbdsr_sessions_capacity{${lb}}`]: 5000,
      [`lbdsr_backend_up{${lb},service="default",backend="7"}`]: 1,
      [`lbdsr_backend_sent_frames_total{${lb},service="default",backend="7"}`]: 900,
      [`lbdsr_backend_sent_bytes_total{${lb},service="default",backend="7"}`]: 57_600,
      [`lbdsr_backend_sessions_created_total{${lb},service="default",backend="7"}`]: 12,
      [`lbdsr_config_changes_total{${lb},outcome="applied"}`]: 4,
      [`lbdsr_config_changes_total{${lb},outcome="refused"}`]: 2,
      [`lbdsr_config_changes_total{${lb},outcome="failed"}`]: 0,
      [`lbdsr_plane_failures_total{${lb}}`]: 1,
      [`lbdsr_plane_restarts_total{${lb}}`]: 0,
    };
    for (const [series, v] of Object.entries(want)) assert.equal(value(text, series), v, series);
    assert.equal(
      text.split('\n').filter((l) => l.startsWith('lbdsr_dropped_frames_total{')).length,
      DROP_REASON_NAMES.length - 1,
      'one series per drop reason',
    );
    assert.ok(!text.includes('nope'), 'a request for an instance that does not exist adds no series');
    assert.match(text, /^process_cpu_seconds_total \d/m, 'the daemon process metrics');
    assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
    const check = promtool(['check', 'metrics'], text);
    if (check.code === -1) t.diagnostic(`promtool check metrics skipped: ${check.out}`);
    else assert.equal(check.code, 0, check.out);

    // counters are read on every scrape, the session table walked once per period (10 s)
    p.active = 99;
    const walksBefore = p.reads.filter((w) => w).length;
    p.stats0.rx.packets = 1001;
    p.stats0.rx.frontend!.packets = 956;
    const again = await scrape();
    assert.equal(value(again, `lbdsr_port_received_frames_total{${lb},port="frontend"}`), 956);
    assert.equal(value(again, `lbdsr_sessions_active{${lb}}`), 11, 'the last walk still stands');
    assert.equal(p.reads.filter((w) => w).length, walksBefore, 'no walk on this scrape');

    // a plane that reads no frame of the backend port (USERSPACE) reports no rx there: no series,
    // rather than a 0 that would say nothing arrived
    delete p.stats0.rx.backend;
    const noBackendRx = await scrape();
    assert.equal(value(noBackendRx, `lbdsr_port_received_frames_total{${lb},port="backend"}`), undefined);
    assert.equal(value(noBackendRx, `lbdsr_port_received_bytes_total{${lb},port="backend"}`), undefined);
    assert.equal(value(noBackendRx, `lbdsr_port_received_bytes_total{${lb},port="frontend"}`), 61_300);

    // a service's sums keep what its removed backends were sent (a counter does not go down), and
    // count a backend's counter that starts again from zero (a new plane) from there; the backend
    // port's sent bytes of a plane that does not count them (an older one) are their running sum
    assert.equal(await call('DELETE', '/lb1/services/web/backend/pool/2/'), 200);
    p.stats0.tx = { frontend: 3, backend: 1050 };
    p.stats0.backends = [
      { id: 7, packets: 10, bytes: 640, sessions: 1 },
      { id: 1, service: 'web', packets: 120, bytes: 7_680, sessions: 4 },
    ];
    const later = await scrape();
    assert.equal(value(later, `lbdsr_service_sent_frames_total{${lb},service="web"}`), 170);
    assert.equal(value(later, `lbdsr_service_sent_bytes_total{${lb},service="web"}`), 10_880);
    assert.equal(value(later, `lbdsr_service_sessions_created_total{${lb},service="web"}`), 6);
    assert.equal(value(later, `lbdsr_service_sent_frames_total{${lb},service="default"}`), 910);
    assert.equal(value(later, `lbdsr_port_sent_bytes_total{${lb},port="backend"}`), 67_200 + 1_280 + 640);
    assert.equal(value(later, `lbdsr_service_backends{${lb},service="web"}`), 1);
    // a removed service's series go
    assert.equal(await call('DELETE', '/lb1/services/web/'), 200);
    assert.ok(!(await scrape()).includes('service="web"'));

    // a deleted instance leaves no series
    assert.equal(await call('DELETE', '/lb1/'), 200);
    assert.ok(!(await scrape()).includes('lb="lb1"'));
  });

  test('needs the bearer token when the daemon has one', async (t) => {
    const state = tempDir('metrics-token');
    const app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0, token: 's3cret' });
    t.after(async () => {
      await app.close();
      state.cleanup();
    });
    const without = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(without.statusCode, 401);
    assert.equal(JSON.parse(without.body).code, 'LBDSR_UNAUTHORIZED');
    const wrong = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer x' },
    });
    assert.equal(wrong.statusCode, 401);
    const ok = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer s3cret' },
    });
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /^# TYPE lbdsr_config_changes_total counter$/m);
  });
});

describe('the event log', () => {
  test('configuration changes with method, resource and address; plane attach, failure, close', async (t) => {
    const state = tempDir('events');
    const app = await appWithPlanes(state.dir, async (kind) => {
      if (kind === 'XDP_SKB') throw new Error('no XDP here');
      return new CountersPlane(kind);
    });
    t.after(async () => {
      await app.close();
      state.cleanup();
    });
    const call = async (method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: object) =>
      (await app.inject({ method, url: `${BASE}${path}`, payload: body, remoteAddress: '10.9.8.7' }))
        .statusCode;
    const events = async (name = 'lb1', query = '') => {
      const r = await app.inject({ method: 'GET', url: `${BASE}/${name}/events/${query}` });
      return { status: r.statusCode, body: JSON.parse(r.body) };
    };
    assert.equal(await call('POST', '/', { name: 'lb1' }), 201);
    assert.equal(await call('POST', '/lb1/ports/fp/', { type: 'FRONTEND', peer: 'fake0' }), 201);
    assert.equal(await call('PATCH', '/lb1/', { type: 'XDP_SKB' }), 409, 'refused: not a state change');
    assert.equal(await call('DELETE', '/lb1/ports/fp/peer/'), 200);
    const { status, body } = await events();
    assert.equal(status, 200);
    const shown = (body as Array<Record<string, unknown>>).map((e) => {
      const { seq: _s, time, ...rest } = e;
      assert.ok(!Number.isNaN(Date.parse(String(time))), `time ${time}`);
      return rest;
    });
    const api = (method: string, resource: string, status: number) => ({
      origin: 'api',
      type: 'config',
      message: `${method} ${resource || 'instance'}`,
      method,
      resource,
      remote: '10.9.8.7',
      status,
    });
    assert.deepEqual(shown, [
      api('POST', '', 201),
      { origin: 'plane', type: 'attached', message: 'USERSPACE data plane attached', plane: 'USERSPACE' },
      api('POST', 'ports/fp', 201),
      {
        origin: 'plane',
        type: 'failed',
        message: 'XDP_SKB data plane failed: no XDP here',
        plane: 'XDP_SKB',
      },
      { origin: 'plane', type: 'closed', message: 'USERSPACE data plane closed', plane: 'USERSPACE' },
      api('DELETE', 'ports/fp/peer', 200),
    ]);
    const seqs = (body as Array<{ seq: number }>).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'oldest first',
    );
    assert.deepEqual(
      (await events('lb1', '?limit=1')).body.map((e: { message: string }) => e.message),
      ['DELETE ports/fp/peer'],
    );
    assert.equal((await events('nope')).status, 404);
    // deleted and created again (without the trailing slash, which fastify accepts): the log starts anew
    assert.equal(await call('DELETE', '/lb1/'), 200);
    assert.equal(await call('POST', '', { name: 'lb1' }), 201);
    assert.deepEqual(
      (await events()).body.map((e: { message: string }) => e.message),
      ['POST instance'],
    );
  });
});

describe('lbdsrctl: events show, stats show with rates', () => {
  test('a real daemon shows its event log and the rates of its counters', async (t) => {
    const state = tempDir('events-cli');
    const d = await startDaemon(state.dir);
    t.after(async () => {
      await d.stop();
      state.cleanup();
    });
    const ok = (args: string[]) => {
      const r = ctl(d.url, args);
      assert.equal(r.code, 0, `lbdsrctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    ok(['lbdsr', 'add', 'lb1']);
    ok(['lbdsr', 'lb1', 'backend', 'pool', 'add', '2', 'mac=02:02:02:02:02:02']);
    const table = ok(['lbdsr', 'lb1', 'events', 'show']).trimEnd().split('\n');
    assert.match(
      table[0] ?? '',
      /^SEQ\s+TIME\s+ORIGIN\s+TYPE\s+MESSAGE\s+METHOD\s+RESOURCE\s+REMOTE\s+STATUS$/,
    );
    assert.match(table[1] ?? '', /^1\s+\S+Z\s+api\s+config\s+POST instance\s+POST\s+127\.0\.0\.1\s+201$/);
    assert.match(
      table[2] ?? '',
      /^2\s+\S+Z\s+api\s+config\s+POST backend\/pool\/2\s+POST\s+backend\/pool\/2\s/,
    );
    const json = JSON.parse(ok(['lbdsr', 'lb1', 'events', 'show', '-json']));
    assert.equal(json.length, 2);
    // the sampler has run once a second since the start: the rates cover a second or more
    await mustWaitFor('the rates to cover a second', async () => {
      const s = JSON.parse(ok(['lbdsr', 'lb1', 'stats', 'show', '-json']));
      return s.rates.last1s.seconds >= 0.9;
    });
    const stats = ok(['lbdsr', 'lb1', 'stats', 'show']);
    assert.match(
      stats,
      /^rates:\n {2}last1s:\n {4}seconds: +[\d.]+\n {4}ports:\n {6}frontend:\n {8}rxFramesPerSec: +0\n/m,
    );
    assert.match(stats, /^ {2}last60s:$/m);
    // frames and bytes per port, and the rates of both
    assert.match(
      stats,
      /^rx:\n(?: {2}\w+: +\d+\n)+ {2}frontend:\n {4}packets: +0\n {4}bytes: +0\n {2}backend:\n/m,
    );
    assert.match(stats, /^tx:\n(?: {2}\w+: +\d+\n)* {2}frontendBytes: +0\n {2}backendBytes: +0$/m);
    assert.match(stats, /^ {6}backend:\n(?: {8}\w+: +[\d.]+\n)* {8}txBytesPerSec: +0$/m);
  });
});

describe('the committed Prometheus files', { skip: noPromtool }, () => {
  test('the alert rules are valid and fire on what they should (promtool test rules)', () => {
    const check = promtool(['check', 'rules', join(PROM, 'lbdsr-alerts.yml')]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: 3 rules found/);
    const tests = promtool(['test', 'rules', join(PROM, 'lbdsr-alerts.test.yml')]);
    assert.equal(tests.code, 0, tests.out);
  });

  test('the example scrape configuration is valid (promtool check config)', () => {
    const state = tempDir('prom');
    try {
      // the example names /etc/lbdsr/token: point it to a token that exists here
      const token = join(state.dir, 'token');
      writeFileSync(token, 's3cret\n');
      const cfg = readFileSync(join(PROM, 'prometheus.yml'), 'utf8');
      assert.ok(cfg.includes('/etc/lbdsr/token'));
      writeFileSync(join(state.dir, 'prometheus.yml'), cfg.replace('/etc/lbdsr/token', token));
      copyFileSync(join(PROM, 'lbdsr-alerts.yml'), join(state.dir, 'lbdsr-alerts.yml'));
      const check = promtool(['check', 'config', join(state.dir, 'prometheus.yml')]);
      assert.equal(check.code, 0, check.out);
    } finally {
      state.cleanup();
    }
  });
});
