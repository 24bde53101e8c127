// The IPv6 VIPs' solicited-node multicast MACs (33:33:ff + the VIP's last 3 bytes) on the FRONTEND
// interface's multicast list, so that a real NIC lets Neighbor Solicitations for the VIPs in: added
// in L2 mode for each IPv6 VIP (a service's `vip` or `vip6`, the frontend's `vip6`), read back from
// /proc/net/dev_mcast and with `ip maddr show`; removed when the VIP goes, in ROUTED mode (no NS is
// answered) and with the instance; kept when the daemon stops with its program kept.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { InstanceConfig, ServiceConfig } from '../../src/core/model.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { maddrRead } from '../../src/kernel/maddr.js';
import { ipSync } from '../../testkit/exec.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab, labConfig } from './netns.js';

const skip = xdpSkipReason();

/** fd00::1:2:3 -> 33:33:ff:02:00:03; fd00::a:bc:de -> 33:33:ff:bc:00:de (the last 3 bytes). */
const VIP6 = 'fd00::1:2:3';
const MC6 = '33:33:ff:02:00:03';
const SVC6 = 'fd00::77:ab:cd';
const MC_SVC6 = '33:33:ff:ab:00:cd';

/** The global (SIOCADDMULTI) entries of `fe` as /proc/net/dev_mcast shows them in the balancer's namespace. */
function globalMacs(lab: Lab): string[] {
  const fe = lab.ports.frontend!;
  return inNetns(lab.lb, () => maddrRead(fe.ifindex))
    .filter((e) => e.global && e.mac.startsWith('33:33:ff:'))
    .map((e) => e.mac)
    .sort();
}

/** `ip maddr show dev fe`: the link-layer entries. */
function ipMaddr(lab: Lab): string {
  return ipSync('-n', lab.lb, 'maddr', 'show', 'dev', 'fe');
}

function config(
  lab: Lab,
  name: string,
  services: ServiceConfig[],
  o: Partial<InstanceConfig> = {},
): InstanceConfig {
  const base = labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]);
  return { ...base, frontend: { ...base.frontend, vip6: VIP6 }, services, ...o };
}

const web6: ServiceConfig = {
  name: 'web6',
  vip: SVC6,
  protocol: 'TCP',
  port: 80,
  backend: { pool: [{ id: 1, mac: '02:77:00:00:00:01' }] },
};

test("XDP_SKB: the IPv6 VIPs' solicited-node MACs are on the frontend multicast list in L2 mode, and only then", {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `mc${process.pid}`;
  let plane: XdpPlane | undefined = new XdpPlane(name, 'XDP_SKB');
  const apply = (p: XdpPlane, cfg: InstanceConfig) => inNetns(lab.lb, () => drive(p).apply(cfg, lab.ports));
  try {
    assert.deepEqual(globalMacs(lab), [], 'none before');
    const p1 = plane;
    await apply(p1, config(lab, name, [web6]));
    assert.deepEqual(globalMacs(lab), [MC6, MC_SVC6].sort(), 'the frontend vip6 and the IPv6 service VIP');
    assert.match(ipMaddr(lab), new RegExp(`link\\s+${MC6}`), '`ip maddr show` lists it');
    assert.deepEqual(p1.multicastFilter(), [MC6, MC_SVC6].sort());

    // The service goes: its MAC goes, the frontend's stays.
    await apply(p1, config(lab, name, []));
    assert.deepEqual(globalMacs(lab), [MC6]);

    // ROUTED: the program answers no NS, so none is joined.
    await apply(p1, config(lab, name, [web6], { mode: 'ROUTED' }));
    assert.deepEqual(globalMacs(lab), [], 'ROUTED joins none');
    await apply(p1, config(lab, name, [web6]));
    assert.deepEqual(globalMacs(lab), [MC6, MC_SVC6].sort(), 'back in L2');

    // The daemon stops keeping its program: the entries stay; a new daemon adopts them.
    await p1.close({ keep: true });
    plane = undefined;
    assert.deepEqual(globalMacs(lab), [MC6, MC_SVC6].sort(), 'kept while no daemon runs');
    const p2 = new XdpPlane(name, 'XDP_SKB');
    plane = p2;
    await apply(p2, config(lab, name, [web6]));
    assert.deepEqual(p2.multicastFilter(), [MC6, MC_SVC6].sort());

    // The instance goes: everything it added goes.
    await inNetns(lab.lb, () => p2.close());
    plane = undefined;
    assert.deepEqual(globalMacs(lab), [], 'removed with the instance');
  } finally {
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
    await lab.destroy();
  }
});
