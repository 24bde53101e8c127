// Issue 9 item 1: the XDP planes put the frontend MAC on the frontend interface's unicast list (what
// `bridge fdb add MAC dev IF self permanent` does), read back with iproute2 (`bridge fdb show`) and
// through the plane; the entry follows a MAC change, survives a daemon restart without being removed
// and added again (watched with `bridge monitor fdb`), and goes with the port and the instance. Where the
// driver refuses (a macvlan in bridge mode), promiscuous mode stands in and is undone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type ResolvedPorts } from '../../src/core/model.js';
import type { XdpKind } from '../../src/dataplane/xdp/attach.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { withRtnl } from '../../src/kernel/netlink.js';
import { uclistRead } from '../../src/kernel/rtnl-neigh.js';
import { ipSync, must } from '../../testkit/exec.js';
import { fdbSelf } from '../../testkit/netns.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab } from './netns.js';

const skip = xdpSkipReason();
const MAC1 = 'aa:bb:cc:dd:ee:01';
const MAC2 = 'aa:bb:cc:dd:ee:02';

function config(lab: Lab, name: string, kind: XdpKind, mac: string, frontendPeer = 'fe'): InstanceConfig {
  return {
    name,
    type: kind,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [
      { name: 'frontend', type: 'FRONTEND', peer: frontendPeer },
      { name: 'backend', type: 'BACKEND', peer: 'be' },
    ],
    frontend: { vip: lab.vip, mac },
    backend: { pool: [{ id: 7, mac: lab.serverMac }] },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 1024 },
  };
}

/** The same list through lbdsr's own netlink client. */
function uclist(lab: Lab, ifindex: number): string[] {
  return inNetns(lab.lb, () => withRtnl((nl) => uclistRead(nl, ifindex)));
}

function promiscuous(lab: Lab, ifname: string): boolean {
  const j = JSON.parse(ipSync('-n', lab.lb, '-j', 'link', 'show', 'dev', ifname)) as { flags: string[] }[];
  return j[0]?.flags.includes('PROMISC') ?? false;
}

/** `bridge monitor fdb` in the balancer's namespace, with markers to know what it has seen so far. */
class FdbMonitor {
  private out = '';
  private readonly child;
  private marks = 0;
  constructor(private readonly lab: Lab) {
    this.child = spawn('bridge', ['-n', lab.lb, 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
  }
  /** Adds a marker entry on the backend port and waits until the monitor printed it: everything before is in. */
  async mark(): Promise<string> {
    const mac = `02:00:00:00:99:${(++this.marks).toString(16).padStart(2, '0')}`;
    // The monitor may not listen yet when the first marker goes in: added again until it is seen.
    await mustWaitFor(
      `bridge monitor shows ${mac}`,
      async () => {
        await must('bridge', ['-n', this.lab.lb, 'fdb', 'del', mac, 'dev', 'be', 'self']).catch(() => {});
        await must('bridge', ['-n', this.lab.lb, 'fdb', 'add', mac, 'dev', 'be', 'self', 'permanent']);
        return this.out.includes(mac);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    return mac;
  }
  /** What the monitor printed between two markers. */
  between(a: string, b: string): string {
    return this.out.slice(this.out.indexOf(a), this.out.indexOf(b));
  }
  stop(): void {
    this.child.kill();
  }
}

for (const kind of ['XDP_SKB', 'XDP_DRV'] as const) {
  test(`${kind}: the frontend MAC is on the frontend interface's unicast list, kept across a restart, removed with the MAC, the port and the instance`, {
    skip,
    timeout: 120_000,
  }, async () => {
    const lab = await buildLab();
    const name = `u${kind === 'XDP_DRV' ? 'd' : 's'}${process.pid}`;
    const fe = lab.ports.frontend!;
    let plane: XdpPlane | undefined = new XdpPlane(name, kind);
    let monitor: FdbMonitor | undefined;
    const apply = (p: XdpPlane, cfg: InstanceConfig, ports: ResolvedPorts = lab.ports) =>
      inNetns(lab.lb, () => drive(p).apply(cfg, ports));
    try {
      const p1 = plane;
      await apply(p1, config(lab, name, kind, MAC1));
      assert.ok(
        (await fdbSelf(lab.lb, 'fe')).includes(MAC1),
        '`bridge fdb show dev fe` lists the frontend MAC',
      );
      assert.ok(uclist(lab, fe.ifindex).includes(MAC1), 'so does lbdsr reading the list back');
      assert.deepEqual(p1.unicastFilter(), { ifname: 'fe', macs: [MAC1], promisc: false });

      await apply(p1, config(lab, name, kind, MAC2));
      let list = await fdbSelf(lab.lb, 'fe');
      assert.ok(list.includes(MAC2) && !list.includes(MAC1), `the new MAC replaces the old one: ${list}`);

      // The daemon stops (keeping the plane) and a new one adopts it: the entry stays, untouched.
      await p1.close({ keep: true });
      plane = undefined;
      assert.ok((await fdbSelf(lab.lb, 'fe')).includes(MAC2), 'kept while no daemon runs');
      monitor = new FdbMonitor(lab);
      const before = await monitor.mark();
      const p2 = new XdpPlane(name, kind);
      plane = p2;
      await apply(p2, config(lab, name, kind, MAC2));
      const after = await monitor.mark();
      assert.doesNotMatch(
        monitor.between(before, after),
        new RegExp(MAC2),
        'adopted: not removed, not re-added',
      );
      assert.deepEqual(p2.unicastFilter().macs, [MAC2], 'the new plane holds the adopted entry');

      // The frontend port goes (the backend port stays): the entry goes.
      const noFrontend = config(lab, name, kind, MAC2);
      noFrontend.ports = noFrontend.ports.filter((p) => p.type !== 'FRONTEND');
      await apply(p2, noFrontend, { backend: lab.ports.backend! });
      assert.ok(!(await fdbSelf(lab.lb, 'fe')).includes(MAC2), 'removed with the port');

      // Back, then the instance goes.
      await apply(p2, config(lab, name, kind, MAC2));
      assert.ok((await fdbSelf(lab.lb, 'fe')).includes(MAC2), 'back with the port');
      await inNetns(lab.lb, () => p2.close());
      plane = undefined;
      list = await fdbSelf(lab.lb, 'fe');
      assert.ok(!list.includes(MAC2) && !list.includes(MAC1), `removed with the instance: ${list}`);
    } finally {
      monitor?.stop();
      if (plane) {
        const p = plane;
        await inNetns(lab.lb, () => p.close()).catch(() => {});
      }
      rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
      await lab.destroy();
    }
  });
}

test('XDP_SKB on an interface whose driver refuses the MAC (macvlan): promiscuous mode stands in, and is undone', {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `um${process.pid}`;
  let plane: XdpPlane | undefined = new XdpPlane(name, 'XDP_SKB');
  try {
    await must('ip', ['-n', lab.lb, 'link', 'add', 'mv0', 'link', 'fe', 'type', 'macvlan', 'mode', 'bridge']);
    await must('ip', ['-n', lab.lb, 'link', 'set', 'mv0', 'up']);
    const j = JSON.parse(ipSync('-n', lab.lb, '-j', 'link', 'show', 'dev', 'mv0')) as {
      ifindex: number;
      address: string;
    }[];
    const mv = { name: 'frontend', ifname: 'mv0', ifindex: j[0]!.ifindex, mac: j[0]!.address };
    const ports = { frontend: mv, backend: lab.ports.backend! };
    assert.equal(promiscuous(lab, 'mv0'), false);
    const p = plane;
    await inNetns(lab.lb, () => drive(p).apply(config(lab, name, 'XDP_SKB', MAC1, 'mv0'), ports));
    assert.equal(promiscuous(lab, 'mv0'), true, 'the macvlan refuses the MAC: promiscuous instead');
    const st = p.unicastFilter();
    assert.equal(st.promisc, true);
    assert.deepEqual(st.macs, []);
    assert.match(st.refused ?? '', /not supported/i);
    await inNetns(lab.lb, () => p.close());
    plane = undefined;
    assert.equal(promiscuous(lab, 'mv0'), false, 'promiscuous mode is undone with the instance');
  } finally {
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
    await lab.destroy();
  }
});
