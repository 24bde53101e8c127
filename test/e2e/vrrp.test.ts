// Issue 12's test 2, the L2 active/standby pair: two balancer nodes on one segment (testkit/l2pair.ts),
// each one-arm (FRONTEND and BACKEND on its one interface) with host_pass, so that keepalived's VRRP
// adverts (IP protocol 112 to 224.0.0.18) reach the host, and each with the same configuration except its
// frontend MAC (so the failover shows in the clients' neighbour tables). keepalived (Debian's) decides
// which node is active: its notify scripts run `lbdsrctl lbdsr lb1 set standby=false` on MASTER and
// `standby=true` on BACKUP, FAULT and STOP (testkit/keepalived.ts). The standby node answers no ARP for
// the VIP but still balances what reaches it; the node going active sends gratuitous ARP, and a client's
// neighbour entry for the VIP moves to its MAC within a second. 200 long-lived TCP connections (one line
// each every 100 ms, testkit/longlived.ts) to the DSR echo servers: at least 99% survive a failover
// (keepalived stopped on the master) and a failback (started again: it preempts); both nodes compute
// the same Maglev table, so a flow that moves to the other node reaches the same server. Then the
// master's link goes down (a vanished master: what is lost is measured, and nothing is reset) and up
// (the failback loses nothing). Run for each type of LBDSR_E2E_TYPES.
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
import { type EchoServers, formatReport, LongLived, startEchoServers } from '../../testkit/longlived.js';
import { neighbourMac } from '../../testkit/netns.js';
import { LBDSRCTL } from '../../testkit/paths.js';
import { waitFor } from '../../testkit/timing.js';
import { E2E_TYPES, skipReason } from './env.js';

const skip = skipReason();
const CONNECTIONS = 200;
/** The frontend MAC of each node (the only difference between their configurations). */
const FRONTEND_MACS = ['02:00:5e:aa:00:01', '02:00:5e:aa:00:02'] as const;
const PRIORITIES = [150, 100] as const;
const NEW_PER_SECOND = 20;
/** VRRP advert interval, s: a vanished master is replaced after ~3.5 of them. */
const ADVERT_INT = 0.1;
const LINK_DOWN = 'failover: n1 link down';
const LINK_UP = 'failback: n1 link up';

interface Change {
  label: string;
  act: () => Promise<void>;
  /** The node that becomes master, and its frontend MAC. */
  active: Keepalived;
  mac: string;
  /** The node that steps down, and the state it goes to. */
  standby: Keepalived;
  standbyState: 'BACKUP' | 'FAULT' | 'STOP';
}

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
    advertInt: ADVERT_INT,
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

    /** Waits until the client's entry for the VIP holds `mac`; the ms it took from `from`. */
    const movedTo = async (mac: string, from: number) => {
      const p = pair!;
      const ns = p.topo.clients[0]!.ns;
      const ok = await waitFor(async () => (await neighbourMac(ns, p.topo.vip)) === mac, {
        timeoutMs: 5000,
        intervalMs: 10,
      });
      const now = (await neighbourMac(ns, p.topo.vip)) ?? '(none)';
      assert.ok(ok, `the client's neighbour entry for the VIP is ${now}, not ${mac}`);
      return Date.now() - from;
    };
    const stats = async (d: Daemon) =>
      JSON.parse(await d.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;

    /**
     * Runs `changes` under 200 long-lived connections and 20 new ones a second, each change a phase:
     * its act, then the new master's standby=false, the client's entry moving to its MAC, the old
     * master's standby=true and traffic flowing again. Returns the report and the timings.
     */
    const underLoad = async (changes: Change[]) => {
      const p = pair!;
      const ll = await LongLived.start({
        ns: p.topo.clients[0]!.ns,
        hosts: [p.topo.vip],
        connections: CONNECTIONS,
        newPerSecond: NEW_PER_SECOND,
      });
      const moves: Record<string, number> = {};
      const outages: Record<string, number> = {};
      const timings = () =>
        `neighbour moves, ms after the new master's standby=false: ${JSON.stringify(moves)}; after the change: ${JSON.stringify(outages)}`;
      const logs = () => vrrp.map((k) => `--- ${k.opts.name} ---\n${k.logTail(8)}`).join('\n');
      try {
        await ll.flowing(5);
        for (const c of changes) {
          ll.mark(c.label);
          const t = Date.now();
          await c.act();
          const applied = await c.active.waitApplied('MASTER', t);
          const moved = await movedTo(c.mac, applied.at);
          moves[c.label] = moved;
          outages[c.label] = moved + applied.at - t;
          await c.standby.waitApplied(c.standbyState, t);
          await ll.flowing(10);
        }
        ll.mark('end');
      } catch (e) {
        const r = await ll.stop();
        console.log(`# ${`${formatReport(r)}\n${timings()}\n${logs()}`.split('\n').join('\n# ')}`);
        throw e;
      }
      const report = await ll.stop();
      const why = `${formatReport(report)}\n${timings()}`;
      console.log(`# ${why.split('\n').join('\n# ')}`);
      assert.equal(report.connections, CONNECTIONS, why);
      assert.ok(Object.keys(report.byServer).length >= 2, why);
      for (const [label, ms] of Object.entries(moves)) assert.ok(ms <= 1000, `${label}: ${ms} ms\n${why}`);
      return { report, why };
    };

    it('keeps >= 99% of 200 long-lived connections through a failover and a failback', async () => {
      const [k1, k2] = vrrp as [Keepalived, Keepalived];
      const [mac1, mac2] = FRONTEND_MACS;
      const t0 = Date.now();
      await k1.start();
      await k2.start();
      await k1.waitApplied('MASTER', t0);
      await k2.waitApplied('BACKUP', t0);
      const before2 = await stats(daemons[1]!);
      const { report, why } = await underLoad([
        {
          label: 'failover: keepalived stopped on n1',
          act: () => k1.stop(),
          active: k2,
          mac: mac2,
          standby: k1,
          standbyState: 'STOP',
        },
        {
          label: 'failback: keepalived started on n1',
          act: () => k1.start(),
          active: k1,
          mac: mac1,
          standby: k2,
          standbyState: 'BACKUP',
        },
      ]);
      // n2 carried the connections while active, flows it had never seen (Maglev: n1's table).
      const after2 = await stats(daemons[1]!);
      assert.ok(after2.tx.backend - before2.tx.backend >= CONNECTIONS * 5, JSON.stringify(after2.tx));
      // The old master steps down cleanly and keeps balancing what still comes to its MAC: nothing is
      // lost, long-lived or new.
      assert.ok(report.survived >= CONNECTIONS * 0.99, why);
      for (const ph of report.phases) {
        assert.ok(ph.failures <= CONNECTIONS * 0.01, `phase "${ph.label}": ${ph.failures} lost\n${why}`);
        assert.equal(ph.newFailed, 0, `phase "${ph.label}"\n${why}`);
        if (ph.label !== 'end') assert.ok(ph.newSucceeded > 0, `phase "${ph.label}"\n${why}`);
      }
    });

    it('a master whose link goes down is replaced; the failback when it comes up loses nothing', async () => {
      const [k1, k2] = vrrp as [Keepalived, Keepalived];
      const [mac1, mac2] = FRONTEND_MACS;
      const n1 = pair!.nodes[0];
      const { report, why } = await underLoad([
        {
          label: LINK_DOWN,
          act: () => setLink(n1, false),
          active: k2,
          mac: mac2,
          standby: k1,
          standbyState: 'FAULT',
        },
        {
          label: LINK_UP,
          act: () => setLink(n1, true),
          active: k1,
          mac: mac1,
          standby: k2,
          standbyState: 'BACKUP',
        },
      ]);
      // Frames sent to n1's MAC are lost from the link's loss until n2 is elected (~3.5 adverts) and its
      // standby=false (lbdsrctl) sends gratuitous ARP: about a second here, which TCP retransmits across
      // (its retransmissions come 0.2, 0.6, 1.4, 3 s after a loss). Connections whose next retransmission
      // comes after the kit's 2 s count as failed; none may fail otherwise (a reset: another server).
      const down = report.phases.find((x) => x.label === LINK_DOWN);
      for (const f of report.failed) assert.equal(f.failed, 'timeout', `${JSON.stringify(f)}\n${why}`);
      assert.ok((down?.newSucceeded ?? 0) > 0, why);
      // The failback: n2 keeps balancing until the clients follow n1's gratuitous ARP.
      const up = report.phases.find((x) => x.label === LINK_UP);
      assert.ok((up?.failures ?? 1) <= CONNECTIONS * 0.01, why);
      assert.equal(up?.newFailed, 0, why);
      assert.ok((up?.newSucceeded ?? 0) > 0, why);
    });
  });
}
