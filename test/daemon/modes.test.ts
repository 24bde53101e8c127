// The frontend modes through the daemon (docs/api.md "Frontend modes", docs/semantics.md): `mode`
// (L2 | ROUTED), `host_pass` and `standby` on an instance, by REST and by lbdsrctl (set, show, bad
// values, kept across a restart, `apply -f` and its plan); the ports: FRONTEND and BACKEND on one
// interface (one-arm) and `lo` refused; and what the daemon hands its data plane for each: the CFG_*
// flags, and in ROUTED the FRONTEND interface's own MAC as every VIP's frontend MAC. The planes here
// record what they are given (helpers.ts); the real planes are driven by test/e2e/modes.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatMac } from '../../src/core/addr.js';
import { CFG_HOST_PASS, CFG_NO_ARP, CFG_ONE_ARM } from '../../src/core/constants.js';
import type { NetDev } from '../../src/kernel/netdev.js';
import type { Daemon } from '../../testkit/daemon.js';
import { mustWaitFor } from '../../testkit/timing.js';
import {
  appWithPlanes,
  cliCaller,
  fakeNetDev,
  RecordingPlane,
  restCaller,
  startDaemon,
  tempDir,
} from './helpers.js';

describe('frontend modes by REST, and what the data plane is given', () => {
  let state: ReturnType<typeof tempDir>;
  let app: Awaited<ReturnType<typeof appWithPlanes>>;
  const made: RecordingPlane[] = [];
  /** fake0's MAC changes when a test says so (a NIC whose address was changed). */
  const macs = new Map<string, string>();
  const netdev = (name: string): NetDev | undefined => {
    const d = fakeNetDev(name);
    const mac = macs.get(name);
    return d && mac ? { ...d, mac } : d;
  };
  const { ok, rejects } = restCaller(
    () => app,
    () => state.dir,
  );
  const last = () => made.at(-1)!.applied.at(-1)!;

  before(async () => {
    state = tempDir('modes');
    app = await appWithPlanes(
      state.dir,
      async (kind) => {
        const p = new RecordingPlane(kind);
        made.push(p);
        return p;
      },
      { netdev, watchMs: 50 },
    );
    await ok('POST', '/lb1/', {
      frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
      backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    });
  });
  after(async () => {
    await app?.close();
    state.cleanup();
  });

  test('an instance shows mode L2 and standby false until told otherwise, host_pass once set', async () => {
    const lb = await ok('GET', '/lb1/');
    assert.equal(lb.mode, 'L2');
    assert.equal(lb.host_pass, undefined, "unset: the mode's default");
    assert.equal(lb.standby, false);
    assert.equal(await ok('GET', '/lb1/mode/'), 'L2');
  });

  test('mode, host_pass and standby are set, shown, defaulted and refused when bad', async () => {
    await ok('PATCH', '/lb1/', { mode: 'routed' });
    let lb = await ok('GET', '/lb1/');
    assert.equal(lb.mode, 'ROUTED', "the daemon's spelling: capitals");
    await ok('PUT', '/lb1/host_pass/', false);
    assert.equal((await ok('GET', '/lb1/')).host_pass, false);
    assert.equal(await ok('GET', '/lb1/host_pass/'), false);
    await ok('DELETE', '/lb1/host_pass/');
    assert.equal((await ok('GET', '/lb1/')).host_pass, undefined, "DELETE goes back to the mode's default");
    await ok('PUT', '/lb1/standby/', true);
    lb = await ok('GET', '/lb1/');
    assert.equal(lb.standby, true);
    assert.equal(await ok('GET', '/lb1/standby/'), true);

    await rejects('PATCH', '/lb1/', { mode: 'L3' }, 400, 'LBDSR_BAD_VALUE', /L3.*L2, ROUTED/);
    await rejects('PUT', '/lb1/host_pass/', '"yes"', 400, 'LBDSR_BAD_VALUE', /boolean/);
    await rejects('PATCH', '/lb1/', { standby: 1 }, 400, 'LBDSR_BAD_VALUE', /standby/);
    await ok('PATCH', '/lb1/', { mode: 'L2', standby: false });
    lb = await ok('GET', '/lb1/');
    assert.deepEqual([lb.mode, lb.host_pass, lb.standby], ['L2', undefined, false]);
  });

  test('a peer `lo` is refused, saying why; FRONTEND and BACKEND may share one interface', async () => {
    await rejects(
      'POST',
      '/lb1/ports/fp/',
      { type: 'FRONTEND', peer: 'lo' },
      400,
      'LBDSR_BAD_VALUE',
      /loopback.*API/,
    );
    await ok('POST', '/lb1/ports/', [
      { name: 'fp', type: 'FRONTEND', peer: 'fake1' },
      { name: 'bp', type: 'BACKEND', peer: 'fake1' },
    ]);
    const lb = await ok('GET', '/lb1/');
    assert.deepEqual(
      lb.ports.map((p: { peer: string }) => p.peer),
      ['fake1', 'fake1'],
    );
    await ok('POST', '/lb2/', {});
    await rejects(
      'POST',
      '/lb2/ports/x/',
      { type: 'FRONTEND', peer: 'fake1' },
      409,
      'LBDSR_CONFLICT',
      /already the peer of port 'fp' of instance lb1/,
    );
    await ok('DELETE', '/lb2/');
  });
  test('one interface for both ports: the plane gets CFG_ONE_ARM and that interface for both', async () => {
    const plane = made.at(-1)!;
    assert.deepEqual(plane.peers.at(-1), { frontend: 'fake1', backend: 'fake1' });
    const ports = plane.ports.at(-1)!;
    assert.equal(ports.frontend?.ifindex, ports.backend?.ifindex);
    assert.equal(last().settings.flags, CFG_ONE_ARM);
    assert.equal(formatMac(last().settings.backendPortMac!), '02:fa:4e:00:00:01');
    // two interfaces: no longer one-arm
    await ok('PATCH', '/lb1/ports/bp/', { peer: 'fake2' });
    assert.equal(last().settings.flags, 0);
  });

  test('ROUTED: every VIP takes the FRONTEND interface MAC, no ARP, host_pass; and follows a new MAC', async () => {
    await ok('POST', '/lb1/services/web/', { vip: '10.0.0.101', protocol: 'TCP', port: 80 });
    await ok('PATCH', '/lb1/', { mode: 'ROUTED' });
    const p = last();
    assert.equal(p.settings.flags, CFG_NO_ARP | CFG_HOST_PASS);
    const serviceMacs = () => {
      const byName = new Map<string, string>();
      for (const m of made.at(-1)!.applied) for (const s of m.services) byName.set(s.name, formatMac(s.mac));
      return [...byName.values()];
    };
    assert.deepEqual(serviceMacs(), ['02:fa:4e:00:00:01', '02:fa:4e:00:00:01']);
    // the configured MAC is kept (shown), not used
    assert.equal((await ok('GET', '/lb1/frontend/')).mac, 'aa:bb:cc:dd:ee:ff');
    // the interface's MAC changes: the interface watch gives the plane the new one
    macs.set('fake1', '02:fa:4e:00:01:01');
    await mustWaitFor('the new frontend MAC in the plane', async () =>
      serviceMacs().every((m) => m === '02:fa:4e:00:01:01'),
    );
    macs.delete('fake1');
    await ok('PATCH', '/lb1/', { standby: true, host_pass: false });
    assert.equal(last().settings.flags, CFG_NO_ARP);
    await ok('PATCH', '/lb1/', { mode: 'L2' });
    assert.equal(last().settings.flags, CFG_NO_ARP, 'standby: still no ARP');
    await ok('PATCH', '/lb1/', { standby: false });
    assert.equal(last().settings.flags, 0);
    await mustWaitFor('the configured MAC back in L2', async () =>
      serviceMacs().every((m) => m === 'aa:bb:cc:dd:ee:ff'),
    );
  });
});

describe('lbdsrctl: mode, host_pass, standby', () => {
  let state: ReturnType<typeof tempDir>;
  let d: Daemon;
  const { ok, fails } = cliCaller(() => d.url);
  const lb = (...args: string[]) => ['lbdsr', 'lb1', ...args];

  before(async () => {
    state = tempDir('cli-modes');
    d = await startDaemon(join(state.dir, 'state'));
    ok('lbdsr', 'add', 'lb1');
  });
  after(async () => {
    await d?.stop();
    state.cleanup();
  });

  test('set, show (text and -json), bad values, and a restart keeps them', async () => {
    assert.match(ok(...lb('show')), /\nmode:\s+L2\nstandby:\s+false\n/);
    ok(...lb('set', 'mode=ROUTED', 'host_pass=true'));
    ok(...lb('set', 'standby=true'));
    assert.match(ok(...lb('show')), /\nmode:\s+ROUTED\nhost_pass:\s+true\nstandby:\s+true\n/);
    assert.equal(ok(...lb('mode', 'show')).trim(), 'ROUTED');
    const json = JSON.parse(ok(...lb('show', '-json')));
    assert.deepEqual([json.mode, json.host_pass, json.standby], ['ROUTED', true, true]);
    fails(
      1,
      /'L3' is not a valid mode: expected one of L2, ROUTED \(LBDSR_BAD_VALUE\)/,
      ...lb('set', 'mode=L3'),
    );
    fails(
      1,
      /host_pass: 'maybe' is not valid \(must be boolean\) \(LBDSR_BAD_VALUE\)/,
      ...lb('set', 'host_pass=maybe'),
    );
    fails(
      1,
      /peer 'lo'.*loopback.*\(LBDSR_BAD_VALUE\)/,
      ...lb('ports', 'add', 'fp', 'type=FRONTEND', 'peer=lo'),
    );

    await d.stop();
    await d.start();
    const again = JSON.parse(ok(...lb('show', '-json')));
    assert.deepEqual([again.mode, again.host_pass, again.standby], ['ROUTED', true, true]);
    ok(...lb('set', 'standby=false'));
    assert.equal(JSON.parse(ok(...lb('show', '-json'))).standby, false);
  });

  test('apply -f takes them: a plan, the change, then unchanged', () => {
    const file = join(state.dir, 'modes.yaml');
    const write = (mode: string, extra = '') =>
      writeFileSync(file, `instances:\n  - name: lb2\n    mode: ${mode}\n${extra}`);
    write('routed', '    standby: true\n');
    const apply = (...args: string[]) => ok('apply', '-f', file, ...args);
    assert.match(apply('-plan'), /lb2: would be created/);
    assert.match(apply(), /lb2: created/);
    let lb2 = JSON.parse(ok('lbdsr', 'lb2', 'show', '-json'));
    assert.deepEqual([lb2.mode, lb2.host_pass, lb2.standby], ['ROUTED', undefined, true]);
    assert.match(apply(), /lb2: unchanged/);
    write('L2');
    assert.match(apply('-plan'), /lb2: would be changed/);
    assert.match(apply(), /lb2: changed/);
    lb2 = JSON.parse(ok('lbdsr', 'lb2', 'show', '-json'));
    assert.deepEqual([lb2.mode, lb2.host_pass, lb2.standby], ['L2', undefined, false]);
    assert.match(apply(), /lb2: unchanged/);
  });
});
