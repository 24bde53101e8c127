// The end-to-end suite of issue 4: real clients and servers in network namespaces, a bridge, lbdsrd in the
// balancer's namespace, driven by lbdsrctl. Written once, run for each data-plane type in
// LBDSR_E2E_TYPES (default "USERSPACE,XDP_SKB"). A type whose plane is not available fails; it never passes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionEntry, StatsSnapshot } from '../../src/core/model.js';
import {
  addBalancerPort,
  buildTopology,
  prepareNativeXdp,
  removeBalancerPort,
  type Topology,
  teardown,
} from '../../testkit/bridge.js';
import { Daemon, type InstanceView } from '../../testkit/daemon.js';
import { must } from '../../testkit/exec.js';
import { ifStats, neighbourMac } from '../../testkit/netns.js';
import { REPO } from '../../testkit/paths.js';
import { repointPool, SEED_COMMANDS, seedCommandsFor } from '../../testkit/seed.js';
import { sleep, waitFor } from '../../testkit/timing.js';
import {
  type ClientResult,
  client,
  clientStreaming,
  mergeCounts,
  ping,
  reached,
  type Servers,
  startServers,
} from '../../testkit/traffic.js';
import { E2E_TYPES, noFailures, skipReason, withDaemonLog } from './env.js';

const skip = skipReason();
const TYPES = E2E_TYPES;
const ALL = ['b1', 'b2', 'b3'];
const T = { timeout: 120_000 };

/** The configuration part of `show -json` that must survive a restart. */
function configOf(v: InstanceView): unknown {
  return {
    type: v.type,
    algorithm: v.algorithm?.toUpperCase(),
    ports: (v.ports ?? [])
      .map((p) => ({ name: p.name, type: p.type, peer: p.peer }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    frontend: v.frontend,
    pool: (v.backend?.pool ?? [])
      .map((b) => ({ id: b.id, mac: b.mac.toLowerCase() }))
      .sort((a, b) => a.id - b.id),
  };
}

describe('the seed command list', () => {
  it('SEED_COMMANDS is the seed README list with polycubectl replaced by lbdsrctl', () => {
    // test/fixtures/polycube-commands.txt: the `polycubectl lbdsr` lines of the seed's README
    // (polycube-lbdsr-README.md, "Use the load balancer"), verbatim and in order.
    const listed = readFileSync(join(REPO, 'test/fixtures/polycube-commands.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('polycubectl lbdsr'))
      .map((l) => l.trim().replace(/^polycubectl/, 'lbdsrctl'));
    assert.equal(listed.length, 10);
    assert.deepEqual(listed, SEED_COMMANDS);
  });
});

for (const type of TYPES) {
  describe(`lbdsr end to end, type=${type}`, { skip }, () => {
    let topo: Topology | undefined;
    let servers: Servers | undefined;
    let d: Daemon | undefined;
    let seedView: InstanceView | undefined;
    const c1 = () => topo!.clients[0]!.ns;
    const c2 = () => topo!.clients[1]!.ns;
    const http = (ns: string, count: number, extra: Record<string, number | string> = {}) =>
      client(ns, 'http', { count, concurrency: 6, 'timeout-ms': 3000, 'deadline-ms': 60_000, ...extra });
    const statsJson = async () =>
      JSON.parse(await d!.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;
    const withLog = (fn: () => Promise<void>) => withDaemonLog(d, fn);

    before(async () => {
      topo = await buildTopology();
      servers = await startServers(topo);
      d = new Daemon({ ns: topo.lbNs });
      await d.start();
      for (const cmd of seedCommandsFor(topo)) {
        const r = await d.shell(cmd);
        if (r.code !== 0)
          throw new Error(`seed command failed: ${cmd}\n${r.stderr}${r.stdout}\n${d.logTail()}`);
      }
      seedView = await d.showJson();
      if (type === 'XDP_DRV') await prepareNativeXdp(topo, join(REPO, 'bpf/pass.bpf.o'));
      const r = await d.ctl('lbdsr', 'lb1', 'set', `type=${type}`);
      if (r.code !== 0) throw new Error(`plane ${type} is not available: ${r.stderr.trim()}\n${d.logTail()}`);
      for (const cmd of repointPool(topo)) {
        const rr = await d.shell(cmd);
        if (rr.code !== 0) throw new Error(`${cmd} failed: ${rr.stderr}`);
      }
    }, T);

    after(async () => {
      servers?.stop();
      await d?.dispose().catch(() => {});
      if (topo) await teardown(topo);
    }, T);

    it('the seed command list, verbatim through lbdsrctl, gives the seed configuration', () => {
      assert.ok(seedView);
      assert.deepEqual(configOf({ ...seedView, type: undefined }), {
        type: undefined,
        algorithm: 'HASH_SESSION',
        ports: [
          { name: 'backend-port', type: 'BACKEND', peer: topo!.backendIf },
          { name: 'frontend-port', type: 'FRONTEND', peer: topo!.frontendIf },
        ],
        frontend: { mac: 'aa:bb:cc:dd:ee:ff', vip: '10.0.0.100' },
        pool: [
          { id: 1, mac: '01:01:01:01:01:01' },
          { id: 2, mac: '02:02:02:02:02:02' },
          { id: 3, mac: '03:03:03:03:03:03' },
        ],
      });
    });

    it(`the instance runs the ${type} plane`, async () => {
      const v = await d!.showJson();
      assert.equal(v.type, type);
      if (v.plane !== undefined) assert.equal(v.plane, type);
    });

    it('ARP: the clients learn the VIP at the frontend MAC', T, () =>
      withLog(async () => {
        for (const c of topo!.clients) {
          await ping(c.ns, topo!.vip, 1);
          assert.equal(
            await neighbourMac(c.ns, topo!.vip),
            topo!.frontendMac,
            `neighbour entry in ${c.name}`,
          );
        }
      }),
    );

    it('ICMP: ping to the VIP gets replies', T, () =>
      withLog(async () => {
        for (const c of topo!.clients)
          assert.deepEqual(await ping(c.ns, topo!.vip, 5), { sent: 5, received: 5 });
      }),
    );

    it('HTTP: new connections from each client reach all three backends, none fail', T, () =>
      withLog(async () => {
        const [a, b] = await Promise.all([http(c1(), 90), http(c2(), 90)]);
        noFailures(a, b);
        assert.deepEqual(reached(a), ALL, `c1 ${JSON.stringify(a.counts)}`);
        assert.deepEqual(reached(b), ALL, `c2 ${JSON.stringify(b.counts)}`);
        for (const [name, n] of Object.entries(mergeCounts(a, b)))
          assert.ok(n >= 15, `${name} got only ${n} of 180`);
      }),
    );

    it('HTTP keep-alive: one connection with many requests stays on one backend', T, () =>
      withLog(async () => {
        const r = await client(c1(), 'keepalive', { count: 100, 'timeout-ms': 3000 });
        noFailures(r);
        assert.equal(r.done, 100);
        assert.equal(r.sockets, 1, 'one TCP connection carried every request');
        assert.equal(reached(r).length, 1, JSON.stringify(r.counts));
      }),
    );

    it('UDP: one client socket always reaches the same backend', T, () =>
      withLog(async () => {
        for (const ns of [c1(), c2()]) {
          const r = await client(ns, 'udp-one', { count: 50 });
          noFailures(r);
          assert.equal(reached(r).length, 1, JSON.stringify(r.counts));
          assert.equal(r.done, 50);
        }
      }),
    );

    it('UDP: fragmented datagrams (4000 bytes) of a socket reach the backend of its small ones', T, () =>
      withLog(async () => {
        const before = (await statsJson()).fragments;
        // Eight sockets: under the old rule (fragments keyed without ports) at least one of them would
        // reach a second backend unless all eight 3-tuple picks fell on their 5-tuple pick ((1/3)^8).
        for (const ns of [c1(), c2(), c1(), c2(), c1(), c2(), c1(), c2()]) {
          const r = await client(ns, 'udp-one', { count: 10, 'big-bytes': 4000 });
          noFailures(r);
          assert.equal(r.done, 10);
          assert.equal(reached(r).length, 1, JSON.stringify(r.counts));
        }
        const after = (await statsJson()).fragments;
        // 40 fragmented datagrams of 3 fragments each: 2 later fragments each found their first one.
        assert.ok(after.hit - before.hit >= 80, `fragment hits ${before.hit} -> ${after.hit}`);
      }),
    );

    it('UDP: many sockets spread over all three backends', T, () =>
      withLog(async () => {
        const [a, b] = await Promise.all([
          client(c1(), 'udp-many', { count: 60 }),
          client(c2(), 'udp-many', { count: 60 }),
        ]);
        noFailures(a, b);
        assert.deepEqual(Object.keys(mergeCounts(a, b)).sort(), ALL, JSON.stringify(mergeCounts(a, b)));
      }),
    );

    it('DSR: the frontend interface receives hundreds of frames and transmits almost nothing', T, (t) =>
      withLog(async () => {
        const lb = topo!.lbNs;
        const fe0 = await ifStats(lb, topo!.frontendIf);
        const be0 = await ifStats(lb, topo!.backendIf);
        const st0 = await statsJson();
        const [a, b] = await Promise.all([http(c1(), 100), http(c2(), 100)]);
        noFailures(a, b);
        const fe1 = await ifStats(lb, topo!.frontendIf);
        const be1 = await ifStats(lb, topo!.backendIf);
        const st1 = await statsJson();
        const rx = fe1.rx - fe0.rx;
        const tx = fe1.tx - fe0.tx;
        const beTx = be1.tx - be0.tx;
        const msg = `frontend rx ${rx} tx ${tx}; backend port tx ${beTx}`;
        t.diagnostic(`${type} DSR: ${msg}`);
        assert.ok(rx >= 500, msg);
        assert.ok(tx <= Math.max(10, rx * 0.02), msg);
        assert.ok(beTx >= rx * 0.9, `balanced frames leave through the backend port: ${msg}`);
        // The daemon's counters (stats show -json) agree with the interfaces'.
        const stTx = st1.tx.backend - st0.tx.backend;
        assert.ok(Math.abs(stTx - beTx) <= Math.max(5, beTx * 0.02), `stats tx.backend ${stTx} vs ${msg}`);
        for (const id of [1, 2, 3]) {
          const p0 = st0.backends.find((x) => x.id === id)?.packets ?? 0;
          const p1 = st1.backends.find((x) => x.id === id)?.packets ?? 0;
          assert.ok(p1 - p0 > 0, `backend ${id} counted packets: ${JSON.stringify(st1.backends)}`);
        }
        const human = await d!.ctl('lbdsr', 'lb1', 'stats', 'show');
        assert.equal(human.code, 0, human.stderr);
        assert.ok(human.stdout.trim().length > 0);
        const sessions = await d!.ctl('lbdsr', 'lb1', 'sessions', 'show');
        assert.equal(sessions.code, 0, sessions.stderr);
        // The session table (the CLI shows up to 100) lists the clients' flows to the VIP.
        const sj = JSON.parse(await d!.mustCtl('lbdsr', 'lb1', 'sessions', 'show', '-json')) as {
          entries?: SessionEntry[];
        };
        const entries = sj.entries ?? [];
        assert.ok(entries.length >= 50, `${entries.length} sessions listed after 200 connections`);
        const clientIps = topo!.clients.map((c) => c.ip);
        for (const e of entries) {
          assert.ok(
            clientIps.includes(e.src) && e.dst === topo!.vip,
            `unexpected session ${JSON.stringify(e)}`,
          );
          assert.ok([1, 2, 3].includes(e.backend), `session on backend ${e.backend}`);
        }
        assert.ok(
          entries.some((e) => e.proto === 'TCP' && e.dport === 80),
          'TCP sessions to port 80 listed',
        );
      }),
    );

    it('set algorithm=HASH_SRC_IP: every new connection of one client reaches one backend', T, () =>
      withLog(async () => {
        // Source addresses that never talked to the VIP: no earlier session (a reused source port would
        // otherwise hit one, which correctly keeps its backend) decides where a connection goes.
        const fresh = [
          { ns: c1(), ip: '10.0.0.31' },
          { ns: c2(), ip: '10.0.0.32' },
        ];
        for (const f of fresh) await must('ip', ['-n', f.ns, 'addr', 'add', `${f.ip}/24`, 'dev', 'eth0']);
        await d!.mustCtl('lbdsr', 'lb1', 'set', 'algorithm=HASH_SRC_IP');
        try {
          for (const f of fresh) {
            const r = await http(f.ns, 40, { 'local-address': f.ip });
            noFailures(r);
            assert.equal(reached(r).length, 1, `${f.ip}: ${JSON.stringify(r.counts)}`);
          }
        } finally {
          await d!.mustCtl('lbdsr', 'lb1', 'set', 'algorithm=HASH_SESSION');
        }
        const r = await http(c1(), 60);
        noFailures(r);
        assert.deepEqual(reached(r), ALL, `back to HASH_SESSION: ${JSON.stringify(r.counts)}`);
      }),
    );

    it('backend pool del at runtime: no new connection reaches that backend, nothing fails', T, () =>
      withLog(async () => {
        // A keep-alive connection runs across the deletion; the deleted backend is one it does not use.
        let kaCounts: Record<string, number> = {};
        const ka = clientStreaming(
          c2(),
          'keepalive',
          { count: 1000, 'interval-ms': 20, 'duration-ms': 5000, 'timeout-ms': 2000, 'deadline-ms': 20_000 },
          (p) => {
            kaCounts = p.counts;
          },
        );
        try {
          await waitFor(() => Object.keys(kaCounts).length > 0, { timeoutMs: 5000 });
          const kaBackend = Object.keys(kaCounts)[0];
          assert.ok(kaBackend, 'the keep-alive connection got answers');
          const victim = topo!.backends.find((b) => b.name !== kaBackend)!;
          await d!.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'del', String(victim.id));
          const [a, b] = await Promise.all([http(c1(), 90), http(c2(), 90)]);
          noFailures(a, b);
          const left = ALL.filter((n) => n !== victim.name);
          assert.deepEqual(Object.keys(mergeCounts(a, b)).sort(), left, JSON.stringify(mergeCounts(a, b)));
          const u = await client(c1(), 'udp-many', { count: 60 });
          noFailures(u);
          assert.ok(!(victim.name in u.counts), JSON.stringify(u.counts));
          const k = await ka.done;
          noFailures(k);
          assert.equal(k.sockets, 1);
          assert.deepEqual(
            reached(k),
            [kaBackend],
            'the established keep-alive connection stayed where it was',
          );
          // Back in the pool: it gets new connections again.
          await d!.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'add', String(victim.id), `mac=${victim.mac}`);
          const r = await http(c1(), 90);
          noFailures(r);
          assert.deepEqual(reached(r), ALL, JSON.stringify(r.counts));
        } finally {
          ka.kill();
        }
      }),
    );

    it(
      'daemon killed (-9) and started again on the same state dir: configuration restored, traffic flows',
      T,
      () =>
        withLog(async () => {
          const beforeView = configOf(await d!.showJson());
          await d!.kill('SIGKILL');
          await d!.start();
          assert.deepEqual(configOf(await d!.showJson()), beforeView);
          const [a, b] = await Promise.all([http(c1(), 90), http(c2(), 90)]);
          noFailures(a, b);
          assert.deepEqual(Object.keys(mergeCounts(a, b)).sort(), ALL, JSON.stringify(mergeCounts(a, b)));
        }),
    );
    it(
      'port status follows the interface; a frontend interface deleted and created again is picked up',
      T,
      () =>
        withLog(async () => {
          const status = async () =>
            (await d!.showJson()).ports?.find((p) => p.name === 'frontend-port')?.status ?? 'none';
          const waitStatus = async (want: string) => {
            let got = '';
            for (let i = 0; i < 50; i++) {
              got = await status();
              if (got === want) return;
              await sleep(200);
            }
            assert.fail(`frontend-port status ${got}, expected ${want}`);
          };
          const lb = topo!.lbNs;
          await waitStatus('UP');
          await must('ip', ['-n', lb, 'link', 'set', topo!.frontendIf, 'down']);
          await waitStatus('DOWN');
          await must('ip', ['-n', lb, 'link', 'set', topo!.frontendIf, 'up']);
          await waitStatus('UP');
          await removeBalancerPort(topo!, 'frontend');
          await waitStatus('DOWN');
          await addBalancerPort(topo!, 'frontend');
          if (type === 'XDP_DRV') await prepareNativeXdp(topo!, join(REPO, 'bpf/pass.bpf.o'), ['fe']);
          await waitStatus('UP');
          // Traffic flows again through the new interface, without a restart (bounded retries while
          // the plane re-attaches).
          let r: ClientResult | undefined;
          for (let i = 0; i < 10; i++) {
            r = await http(c1(), 30, { 'timeout-ms': 1500 });
            if (r.failures === 0) break;
            await sleep(500);
          }
          noFailures(r!);
          assert.deepEqual(reached(r!), ALL, JSON.stringify(r!.counts));
        }),
    );

    if (type.startsWith('XDP')) {
      it(
        'hitless restart: a keep-alive connection keeps working across kill -9 of the daemon and its restart',
        T,
        () =>
          withLog(async () => {
            let seen = 0;
            const run = clientStreaming(
              c1(),
              'keepalive',
              {
                count: 1000,
                'interval-ms': 40,
                'duration-ms': 8000,
                'timeout-ms': 2000,
                'deadline-ms': 30_000,
              },
              (p) => {
                seen = p.done;
              },
            );
            try {
              await waitFor(() => seen > 0, { timeoutMs: 5000 });
              assert.ok(seen > 0, 'the keep-alive client got answers before the kill');
              await d!.kill('SIGKILL');
              const atKill = seen;
              await waitFor(() => seen > atKill, { timeoutMs: 5000 });
              assert.ok(
                seen > atKill,
                `requests were answered while the daemon was down (${atKill} -> ${seen})`,
              );
              await d!.start();
              const r = await run.done;
              noFailures(r);
              assert.equal(r.sockets, 1);
              assert.equal(reached(r).length, 1, JSON.stringify(r.counts));
              assert.ok(r.done >= 100, `only ${r.done} requests in 8 s`);
            } finally {
              run.kill();
            }
          }),
      );
    }
  });
}
