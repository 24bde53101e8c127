// VIP announcements in the daemon, without root (docs/api.md, "VIP announcements"): a daemon whose
// interfaces and data plane take every plan without a kernel (the ports resolve to interfaces this
// test names; what the plane forwards is the daemon's own control state), and whose health prober is
// driven by the test the way the real one reports (a verdict after `fall` failed probes). What a user
// sees: GET .../vips and GET /polycube/v1/vips, `lbdsrctl lbdsr NAME vips show`, the announce file
// (content, mode), the command's environment, the event log, lbdsr_vip_reachable; a failing command is
// retried and logged; a graceful close withdraws everything. The real prober, planes and lbdsrd under
// SIGTERM are in test/e2e/announce-vips.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { PlaneType, ResolvedPorts } from '../../src/core/model.js';
import { type AppOptions, buildApp } from '../../src/daemon/app.js';
import { newInstance } from '../../src/daemon/document.js';
import { zeroStats } from '../../src/daemon/planes.js';
import type { ProberFactory } from '../../src/daemon/runtime/probing.js';
import type { DataPlane } from '../../src/dataplane/types.js';
import type { ProberEvents } from '../../src/health/types.js';
import type { NetDev } from '../../src/kernel/netdev.js';
import type { Plan } from '../../src/pipeline/plan.js';
import { run } from '../../testkit/exec.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { freePort, LBDSRCTL, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const VIP = '10.0.0.100';

/** A plane that takes every plan (the daemon's control state says what it forwards). */
class TakingPlane implements DataPlane {
  plans = 0;
  constructor(readonly kind: PlaneType) {}
  async apply(_plan: Plan, _ports: ResolvedPorts): Promise<void> {
    this.plans++;
  }
  async stats() {
    return zeroStats(newInstance('x'));
  }
  async sessions() {
    return [];
  }
  async close(): Promise<void> {}
}

/** The interfaces of this test's world: `vfe0` and `vbe0` exist while `present` holds them. */
const present = new Set(['vfe0', 'vbe0']);
function netdev(name: string): NetDev | undefined {
  if (!present.has(name)) return undefined;
  const i = name === 'vfe0' ? 1 : 2;
  return { name, ifindex: 100 + i, mac: `02:00:00:00:0f:0${i}`, up: true };
}

/** The health prober's events of each instance, as the real prober would report them. */
const probers = new Map<string, ProberEvents>();
const prober: ProberFactory = (opts) => {
  probers.set(opts.ifname, opts.events);
  return { update() {}, async close() {} };
};

/** A hook script: appends its environment's LBDSR_* to `log`; fails while `failFile` holds a number > 0. */
function hookScript(dir: string): { command: string; log: string; failFile: string } {
  const script = join(dir, 'hook.cjs');
  const log = join(dir, 'hook.log');
  const failFile = join(dir, 'fail');
  writeFileSync(
    script,
    `const fs = require('node:fs');
let fail = 0;
try { fail = Number(fs.readFileSync(${JSON.stringify(failFile)}, 'utf8')); } catch {}
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ vips: process.env.LBDSR_VIPS, file: process.env.LBDSR_ANNOUNCE_FILE, fail }) + '\\n');
if (fail > 0) { fs.writeFileSync(${JSON.stringify(failFile)}, String(fail - 1)); console.error('router said no'); process.exit(3); }
`,
  );
  return { command: `${process.execPath} ${script}`, log, failFile };
}

interface HookRun {
  vips: string;
  file: string;
  fail: number;
}
const runs = (log: string): HookRun[] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as HookRun)
    : [];

interface VipAnswer {
  vip: string;
  reachable: boolean;
  reason?: string;
  since: string;
  services: { name: string; serving: number }[];
}

describe('VIP announcements', () => {
  let app: FastifyInstance;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let hook: ReturnType<typeof hookScript>;
  let cleanHooks = () => {};

  const build = (extra: Partial<AppOptions> = {}) =>
    buildApp({
      stateDir: tmp.dir,
      logLevel: 'silent',
      watchMs: 0,
      netdev,
      planes: { create: async (kind) => new TakingPlane(kind), detect: async () => 'USERSPACE' },
      runtime: { tickMs: 0, prober },
      announce: { file, command: hook.command, retryMs: 300, tickMs: 200 },
      ...extra,
    });

  before(async () => {
    tmp = tempDir('vips');
    const hooks = tempDir('vips-hooks');
    cleanHooks = hooks.cleanup;
    file = join(hooks.dir, 'vips.txt');
    hook = hookScript(hooks.dir);
    app = await build();
  });

  after(async () => {
    await app?.close();
    tmp?.cleanup();
    cleanHooks();
  });

  const call = async (method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE', path: string, body?: object) => {
    const r = await app.inject({ method, url: path, ...(body ? { payload: body } : {}) });
    assert.ok(r.statusCode < 300, `${method} ${path}: ${r.statusCode} ${r.body}`);
    return r.body ? JSON.parse(r.body) : undefined;
  };
  const vips = async (name = 'lb1'): Promise<VipAnswer[]> => call('GET', `${BASE}/${name}/vips/`);
  const fileText = () => readFileSync(file, 'utf8');
  const waitFile = (text: string, what: string) =>
    mustWaitFor(
      `${what}: the announce file holds ${JSON.stringify(text)} (has ${JSON.stringify(fileText())})`,
      () => fileText() === text,
      {
        timeoutMs: 5000,
      },
    );
  const health = (key: string, h: 'UP' | 'DOWN') =>
    probers.get('vbe0')?.health(key, h, h === 'DOWN' ? 'connect: refused (2 in a row)' : 'ok', new Date());

  it('at start the file exists, empty, mode 0644, and the command ran with no VIP', async () => {
    assert.equal(fileText(), '');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    await mustWaitFor('the command ran once', () => runs(hook.log).length === 1);
    assert.deepEqual(runs(hook.log)[0], { vips: '', file, fail: 0 });
  });

  it('a VIP with a plane and a serving backend is reachable: REST, file, command, event, metric', async () => {
    await call('PUT', `${BASE}/lb1/`, {
      ports: [
        { name: 'fp', type: 'FRONTEND', peer: 'vfe0' },
        { name: 'bp', type: 'BACKEND', peer: 'vbe0' },
      ],
      frontend: { vip: VIP, mac: 'aa:bb:cc:dd:ee:ff' },
      probe_ip: '10.0.0.250',
      backend: {
        pool: [{ id: 1, mac: '02:00:00:00:00:01' }],
        healthcheck: { type: 'TCP', port: 80, interval: 2, fall: 2 },
      },
    });
    await waitFile(`${VIP}/32\n`, 'announced');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    const [v, ...rest] = await vips();
    assert.deepEqual(rest, []);
    assert.equal(v?.vip, VIP);
    assert.equal(v?.reachable, true);
    assert.equal(v?.reason, undefined);
    assert.deepEqual(v?.services, [{ name: 'default', serving: 1 }]);
    assert.ok(Date.now() - Date.parse(v?.since ?? '') < 10_000, v?.since);
    const all = await call('GET', '/polycube/v1/vips/');
    assert.deepEqual(all, [{ instance: 'lb1', ...v }]);
    await mustWaitFor('the command ran with the VIP', () => runs(hook.log).at(-1)?.vips === `${VIP}/32`);
    assert.equal(runs(hook.log).at(-1)?.file, file);
    const events = await call('GET', `${BASE}/lb1/events/`);
    assert.ok(
      events.some(
        (e: { origin: string; message: string }) =>
          e.origin === 'announce' && e.message.includes(`${VIP} is reachable`),
      ),
      JSON.stringify(events),
    );
    const m = (await app.inject({ url: '/metrics' })).body;
    assert.match(m, new RegExp(`^lbdsr_vip_reachable\\{lb="lb1",vip="${VIP}"\\} 1$`, 'm'));
  });

  it('its only backend going DOWN by its health check withdraws the VIP within a second; UP announces it again', async () => {
    const t0 = Date.now();
    health('default/1', 'DOWN');
    await waitFile('', 'withdrawn');
    assert.ok(Date.now() - t0 < 1000, `withdrawn after ${Date.now() - t0} ms`);
    const [v] = await vips();
    assert.equal(v?.reachable, false);
    assert.equal(v?.reason, 'NO_SERVING_BACKEND');
    assert.deepEqual(v?.services, [{ name: 'default', serving: 0 }]);
    await mustWaitFor('the command ran with no VIP', () => runs(hook.log).at(-1)?.vips === '');
    const events = await call('GET', `${BASE}/lb1/events/`);
    assert.ok(
      events.some((e: { message: string }) => e.message === `VIP ${VIP} is withdrawn: NO_SERVING_BACKEND`),
      JSON.stringify(events),
    );
    const m = (await app.inject({ url: '/metrics' })).body;
    assert.match(m, new RegExp(`^lbdsr_vip_reachable\\{lb="lb1",vip="${VIP}"\\} 0$`, 'm'));
    health('default/1', 'UP');
    await waitFile(`${VIP}/32\n`, 'announced again');
  });

  it('a second service on the VIP with a serving backend keeps it; a VIP of its own is announced beside it', async () => {
    await call('POST', `${BASE}/lb1/services/`, [
      {
        name: 'web',
        vip: VIP,
        protocol: 'TCP',
        port: 8080,
        backend: { pool: [{ id: 1, mac: '02:00:00:00:00:02' }] },
      },
      {
        name: 'dns',
        vip: '10.0.0.9',
        protocol: 'UDP',
        port: 53,
        backend: { pool: [{ id: 1, mac: '02:00:00:00:00:03' }] },
      },
    ]);
    await waitFile(`10.0.0.9/32\n${VIP}/32\n`, 'both VIPs, sorted by address');
    health('default/1', 'DOWN');
    const list = await vips();
    assert.deepEqual(
      list.map((v) => [v.vip, v.reachable, v.services]),
      [
        ['10.0.0.9', true, [{ name: 'dns', serving: 1 }]],
        [
          VIP,
          true,
          [
            { name: 'default', serving: 0 },
            { name: 'web', serving: 1 },
          ],
        ],
      ],
    );
    assert.equal(fileText(), `10.0.0.9/32\n${VIP}/32\n`);
    await call('DELETE', `${BASE}/lb1/services/web/`);
    await waitFile('10.0.0.9/32\n', 'web gone: the VIP has no serving backend');
    health('default/1', 'UP');
    await call('DELETE', `${BASE}/lb1/services/dns/`);
    await waitFile(`${VIP}/32\n`, 'back to one VIP');
  });

  it('the plane gone (its interface disappeared) withdraws with NO_PLANE; `vips show` says so', async () => {
    present.delete('vbe0');
    try {
      // the interface watch is off here: a change re-resolves the ports, as the watch would
      await call('PATCH', `${BASE}/lb1/`, { loglevel: 'DEBUG' });
      await waitFile('', 'withdrawn');
      const [v] = await vips();
      assert.equal(v?.reason, 'NO_PLANE');
    } finally {
      present.add('vbe0');
    }
    await call('PATCH', `${BASE}/lb1/`, { loglevel: 'INFO' });
    await waitFile(`${VIP}/32\n`, 'plane back');
  });

  it('standby withdraws with STANDBY (and refuses a manual gratuitous ARP); active announces again', async () => {
    await call('PATCH', `${BASE}/lb1/`, { standby: true });
    await waitFile('', 'standby: withdrawn');
    const [v] = await vips();
    assert.equal(v?.reason, 'STANDBY');
    assert.deepEqual(v?.services, [{ name: 'default', serving: 1 }], 'its backends still serve');
    const garp = await app.inject({ method: 'POST', url: `${BASE}/lb1/frontend/announce/`, payload: {} });
    assert.equal(garp.statusCode, 409, garp.body);
    assert.match(garp.json().message, /answers no ARP/);
    await call('PATCH', `${BASE}/lb1/`, { standby: false });
    await waitFile(`${VIP}/32\n`, 'active: announced');
  });

  it('ROUTED: reachable on the frontend interface MAC; its frontend interface gone: NO_PLANE', async () => {
    await call('PATCH', `${BASE}/lb1/`, { mode: 'ROUTED' });
    await waitFile(`${VIP}/32\n`, 'ROUTED keeps the VIP');
    assert.equal((await vips())[0]?.reachable, true);
    present.delete('vfe0');
    try {
      await call('PATCH', `${BASE}/lb1/`, { loglevel: 'DEBUG' });
      await waitFile('', 'no frontend interface: withdrawn');
      assert.equal((await vips())[0]?.reason, 'NO_PLANE');
    } finally {
      present.add('vfe0');
    }
    await call('PATCH', `${BASE}/lb1/`, { mode: 'L2', loglevel: 'INFO' });
    await waitFile(`${VIP}/32\n`, 'L2 again');
  });

  it('a failing command is logged as an event and retried until it succeeds', async () => {
    await mustWaitFor('the last run announced the VIP', () => runs(hook.log).at(-1)?.vips === `${VIP}/32`);
    writeFileSync(hook.failFile, '2');
    const before = runs(hook.log).length;
    health('default/1', 'DOWN');
    await waitFile('', 'withdrawn (the file does not wait for the command)');
    await mustWaitFor(
      'two failed runs, then one that succeeds with the set of that moment',
      () => {
        const r = runs(hook.log).slice(before);
        return r.length >= 3 && r[2]?.fail === 0;
      },
      { timeoutMs: 10_000 },
    );
    const r = runs(hook.log).slice(before);
    assert.deepEqual(
      r.map((x) => [x.vips, x.fail]),
      [
        ['', 2],
        ['', 1],
        ['', 0],
      ],
    );
    type Event = { origin: string; type: string; message: string };
    let events: Event[] = [];
    await mustWaitFor('the recovery is logged', async () => {
      events = await call('GET', `${BASE}/lb1/events/`);
      return events.some((e) => e.type === 'announced');
    });
    const failed = events.filter((e) => e.type === 'announce_failed');
    assert.equal(failed.length, 2, JSON.stringify(events));
    assert.match(failed[0]?.message ?? '', /announce command: .* exited with 3: router said no/);
    health('default/1', 'UP');
    await waitFile(`${VIP}/32\n`, 'announced again');
  });

  it('lbdsrctl lbdsr lb1 vips show: a table, and -json', async () => {
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    const url = `http://127.0.0.1:${port}`;
    // lbdsrctl runs beside this process's daemon: asynchronously
    const ctl = (args: string[]) =>
      run(process.execPath, [LBDSRCTL, ...args], { env: { ...process.env, LBDSR_URL: url } });
    const table = await ctl(['lbdsr', 'lb1', 'vips', 'show']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^VIP\s+REACHABLE\s+REASON\s+SINCE\s+SERVICES$/);
    assert.match(
      lines[1] ?? '',
      new RegExp(`^${VIP.replaceAll('.', '\\.')}\\s+yes\\s+-\\s+\\S+Z\\s+default:1$`),
    );
    const json = await ctl(['lbdsr', 'lb1', 'vips', 'show', '-json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), await vips());
    const nope = await ctl(['lbdsr', 'nope', 'vips', 'show']);
    assert.notEqual(nope.code, 0);
  });

  it('/openapi.json lists both routes with their answers', async () => {
    const doc = await call('GET', '/openapi.json');
    const one = doc.paths['/polycube/v1/lbdsr/{name}/vips/']?.get;
    const all = doc.paths['/polycube/v1/vips/']?.get;
    assert.ok(one && all, Object.keys(doc.paths).join(' '));
    const schema = one.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.items.properties).sort(), [
      'reachable',
      'reason',
      'services',
      'since',
      'vip',
    ]);
  });

  it('a graceful close withdraws every VIP: the file emptied and the command run before it ends', async () => {
    assert.equal(fileText(), `${VIP}/32\n`);
    const before = runs(hook.log).length;
    await app.close();
    assert.equal(fileText(), '');
    const r = runs(hook.log).slice(before);
    assert.deepEqual(r.at(-1), { vips: '', file, fail: 0 });
  });
});
