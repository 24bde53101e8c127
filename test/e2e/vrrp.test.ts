// Issue 12's test 2, the L2 active/standby pair: two balancer nodes on one segment (testkit/l2pair.ts),
// each one-arm (FRONTEND and BACKEND on its one interface) with host_pass, so that keepalived's VRRP
// adverts (IP protocol 112 to 224.0.0.18) reach the host, and each with the same configuration except its
// frontend MAC (so the failover shows in the clients' neighbour tables). keepalived (Debian's) decides
// which node is active: its notify scripts run `lbdsrctl lbdsr lb1 set standby=false` on MASTER and
// `standby=true` on BACKUP, FAULT and STOP (testkit/keepalived.ts). The standby node answers no ARP for
// the VIP but still balances what reaches it; the node going active sends gratuitous ARP, and a client's
// neighbour entry for the VIP moves to its MAC within a second. 200 long-lived TCP connections (one line
// each every 100 ms, testkit/longlived.ts) to the DSR echo servers: at least 99% survive a failover
// (keepalived stopped on the master) and a failback (started again: it preempts), and a failover and
// failback by the master's link going down and up; both nodes compute the same Maglev table, so a flow
// that moves to the other node reaches the same server. Run for each type of LBDSR_E2E_TYPES.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatsSnapshot } from '../../src/core/model.js';
import { teardown } from '../../testkit/bridge.js';
import { Daemon, NS_LISTEN } from '../../testkit/daemon.js';
import { Keepalived } from '../../testkit/keepalived.js';
import { buildPair, type Pair, type PairNode, setLink } from '../../testkit/l2pair.js';
import {
  type EchoServers,
  formatReport,
  LongLived,
  type LongLivedReport,
  startEchoServers,
} from '../../testkit/longlived.js';
import { neighbourMac } from '../../testkit/netns.js';
import { LBDSRCTL } from '../../testkit/paths.js';
import { waitFor } from '../../testkit/timing.js';
import { E2E_TYPES, skipReason } from './env.js';

const skip = skipReason();
const CONNECTIONS = 200;
/** The frontend MAC of each node (the only difference between their configurations). */
const FRONTEND_MACS = ['02:00:5e:aa:00:01', '02:00:5e:aa:00:02'] as const;
const PRIORITIES = [150, 100] as const;

/** The instance document of one node (`lbdsrctl apply -f`): one-arm, L2, host_pass, standby at first. */
function clusterFile(pair: Pair, type: string, frontendMac: string): string {
  const iface = pair.nodes[0].iface;
  const instance = {
    name: 'lb1',
    type,
    mode: 'L2',
    host_pass: true,
    standby: true,
    ports: [
      { name: 'frontend-port', type: 'FRONTEND', peer: iface },
      { name: 'backend-port', type: 'BACKEND', peer: iface },
    ],
    frontend: { vip: pair.topo.vip, mac: frontendMac },
    backend: { pool: pair.topo.backends.map((b) => ({ id: b.id, mac: b.mac })) },
  };
  return JSON.stringify({ instances: [instance] }, null, 2);
}

function keepalivedFor(n: PairNode, i: number): Keepalived {
  const ctl = `${process.execPath} ${LBDSRCTL} lbdsr lb1 set`;
  return new Keepalived({
    ns: n.ns,
    name: n.name,
    iface: n.iface,
    virtualRouterId: 51,
    priority: PRIORITIES[i] ?? 100,
    advertInt: 0.2,
    env: { LBDSR_URL: `http://${NS_LISTEN}`, LBDSR_CONFIG: '' },
    notify: {
      MASTER: `${ctl} standby=false`,
      BACKUP: `${ctl} standby=true`,
      FAULT: `${ctl} standby=true`,
      STOP: `${ctl} standby=true`,
    },
  });
}

for (const type of E2E_TYPES) {
  describe(`L2 active/standby pair under keepalived VRRP, type=${type}`, { skip, timeout: 300_000 }, () => {
    let pair: Pair | undefined;
    let echo: EchoServers | undefined;
    const daemons: Daemon[] = [];
    const vrrp: Keepalived[] = [];
    let dir = '';

    before(async () => {
      pair = await buildPair();
      echo = await startEchoServers(pair.topo.backends);
      dir = mkdtempSync(join(tmpdir(), 'lbdsr-vrrp-'));
      for (const [i, n] of pair.nodes.entries()) {
        const d = new Daemon({ ns: n.ns, logLevel: 'warn' });
        daemons.push(d);
        await d.start();
        const file = join(dir, `${n.name}.json`);
        writeFileSync(file, clusterFile(pair, type, FRONTEND_MACS[i] ?? ''));
        const r = await d.ctl('apply', '-f', file);
        if (r.code !== 0) throw new Error(`apply on ${n.name}: ${r.stderr}${r.stdout}\n${d.logTail()}`);
        vrrp.push(keepalivedFor(n, i));
      }
    });

    after(async () => {
      for (const k of vrrp) await k.dispose().catch(() => {});
      for (const d of daemons) await d.dispose().catch(() => {});
      echo?.stop();
      if (pair) await teardown(pair.topo);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('keeps >= 99% of 200 long-lived connections through failovers and failbacks', async () => {
      const p = pair!;
      const [k1, k2] = vrrp as [Keepalived, Keepalived];
      const d2 = daemons[1]!;
      const client = p.topo.clients[0]!;
      const [mac1, mac2] = FRONTEND_MACS;
      const t0 = Date.now();
      await k1.start();
      await k2.start();
      await k1.waitApplied('MASTER', t0);
      await k2.waitApplied('BACKUP', t0);

      /** Waits until the client's entry for the VIP holds `mac`; the ms it took from `from`. */
      const movedTo = async (mac: string, from: number) => {
        const ok = await waitFor(async () => (await neighbourMac(client.ns, p.topo.vip)) === mac, {
          timeoutMs: 5000,
          intervalMs: 10,
        });
        const now = (await neighbourMac(client.ns, p.topo.vip)) ?? '(none)';
        assert.ok(ok, `the client's neighbour entry for the VIP is ${now}, not ${mac}`);
        return Date.now() - from;
      };
      const stats = async (d: Daemon) =>
        JSON.parse(await d.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;

      const ll = await LongLived.start({
        ns: client.ns,
        hosts: [p.topo.vip],
        connections: CONNECTIONS,
        newPerSecond: 20,
      });
      let report: LongLivedReport | undefined;
      const moves: Record<string, number> = {};
      try {
        // Only the active node answered the clients' ARP.
        assert.equal(await neighbourMac(client.ns, p.topo.vip), mac1);
        await ll.flowing(5);

        const switchTo = async (
          label: string,
          act: () => Promise<void>,
          active: Keepalived,
          mac: string,
          standby: Keepalived,
          standbyState: 'BACKUP' | 'FAULT' | 'STOP',
        ) => {
          ll.mark(label);
          const t = Date.now();
          await act();
          const applied = await active.waitApplied('MASTER', t);
          moves[label] = await movedTo(mac, applied.at);
          await standby.waitApplied(standbyState, t);
          await ll.flowing(10);
        };
        const before2 = await stats(d2);
        await switchTo('failover: keepalived stopped on n1', () => k1.stop(), k2, mac2, k1, 'STOP');
        const after2 = await stats(d2);
        // n2 carried the connections it had never seen (Maglev, the same table as n1's).
        assert.ok(after2.tx.backend - before2.tx.backend >= CONNECTIONS * 5, JSON.stringify(after2.tx));
        await switchTo('failback: keepalived started on n1', () => k1.start(), k1, mac1, k2, 'BACKUP');
        const [n1] = p.nodes;
        await switchTo('failover: n1 link down', () => setLink(n1, false), k2, mac2, k1, 'FAULT');
        await switchTo('failback: n1 link up', () => setLink(n1, true), k1, mac1, k2, 'BACKUP');
        ll.mark('end');
      } finally {
        report = await ll.stop();
      }
      const why = `${formatReport(report)}\nneighbour moves (ms after the new master's standby=false): ${JSON.stringify(moves)}\n--- n1 ---\n${k1.logTail(8)}\n--- n2 ---\n${k2.logTail(8)}`;
      console.log(`# ${why.split('\n').join('\n# ')}`);
      assert.equal(report.connections, CONNECTIONS, why);
      for (const ph of report.phases) {
        assert.ok(ph.failures <= CONNECTIONS * 0.01, `phase "${ph.label}": ${ph.failures} lost\n${why}`);
      }
      assert.ok(report.survived >= CONNECTIONS * 0.99, why);
      assert.ok(report.newFailed <= (report.newSucceeded + report.newFailed) * 0.01, why);
      assert.ok(Object.keys(report.byServer).length >= 2, why);
      for (const [label, ms] of Object.entries(moves)) assert.ok(ms <= 1000, `${label}: ${ms} ms\n${why}`);
    });
  });
}
