// The demo's and the e2e suite's topology: a switched network in namespaces, built with `ip`:
//
//            client c1 (10.0.0.11)   client c2 (10.0.0.12)
//                         \             /
//   backends b1..b3 ---- bridge br0 (namespace <prefix>sw) ---- lbfe / lbbe (balancer namespace <prefix>lb)
//   (10.0.0.21-23, VIP 10.0.0.100 on lo, arp_ignore=1, arp_announce=2)
//
// Every interface is created directly inside its namespace (never in the root namespace), so deleting the
// namespaces removes everything; names and removal on every exit path come from testkit/netns.ts.
import { must } from './exec.js';
import { addNamespace, cleanup, macOf, newPrefix, sysctl, track } from './netns.js';

export const VIP = '10.0.0.100';
export const FRONTEND_MAC = 'aa:bb:cc:dd:ee:ff';
export const SUBNET_PREFIX = 24;
/** Interface names inside the balancer namespace (what `ports ... set peer=` names). */
export const LB_FRONTEND_IF = 'lbfe';
export const LB_BACKEND_IF = 'lbbe';

export interface Host {
  /** Short role name: c1, c2, b1, b2, b3. */
  name: string;
  ns: string;
  ip: string;
  /** MAC of the host's eth0 (read back after creation). */
  mac: string;
}

export interface Backend extends Host {
  /** Pool id used in `backend pool add ID`. */
  id: number;
}

export interface Topology {
  prefix: string;
  switchNs: string;
  lbNs: string;
  clients: Host[];
  backends: Backend[];
  frontendIf: string;
  backendIf: string;
  vip: string;
  frontendMac: string;
}

async function ns(name: string, ...args: string[]): Promise<string> {
  return must('ip', ['-n', name, ...args]);
}

/** Builds the topology. On any failure everything created so far is removed before the error is thrown. */
export async function buildTopology(prefix = newPrefix()): Promise<Topology> {
  track(prefix);
  const topo: Topology = {
    prefix,
    switchNs: `${prefix}sw`,
    lbNs: `${prefix}lb`,
    clients: [
      { name: 'c1', ns: `${prefix}c1`, ip: '10.0.0.11', mac: '' },
      { name: 'c2', ns: `${prefix}c2`, ip: '10.0.0.12', mac: '' },
    ],
    backends: [1, 2, 3].map((i) => ({
      id: i,
      name: `b${i}`,
      ns: `${prefix}b${i}`,
      ip: `10.0.0.${20 + i}`,
      mac: '',
    })),
    frontendIf: LB_FRONTEND_IF,
    backendIf: LB_BACKEND_IF,
    vip: VIP,
    frontendMac: FRONTEND_MAC,
  };
  try {
    const hosts: Host[] = [...topo.clients, ...topo.backends];
    const all = [topo.switchNs, topo.lbNs, ...hosts.map((h) => h.ns)];
    for (const n of all) await addNamespace(n);
    const sw = topo.switchNs;
    await ns(sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0');
    await ns(sw, 'link', 'set', 'br0', 'up');
    for (const h of hosts) {
      await ns(h.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', h.name, 'netns', sw);
      await plug(sw, h.name);
      await ns(h.ns, 'addr', 'add', `${h.ip}/${SUBNET_PREFIX}`, 'dev', 'eth0');
      await ns(h.ns, 'link', 'set', 'eth0', 'up');
      h.mac = await macOf(h.ns, 'eth0');
    }
    for (const b of topo.backends) {
      // Exactly the seed's backend setup: VIP on lo (/32), all.arp_ignore=1, all.arp_announce=2.
      await ns(b.ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
      await sysctl(b.ns, { 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 });
    }
    await addBalancerPort(topo, 'frontend');
    await addBalancerPort(topo, 'backend');
    return topo;
  } catch (err) {
    await teardown(topo).catch(() => {});
    throw err;
  }
}

/** Puts a switch-side veth into the bridge and brings it up. */
async function plug(switchNs: string, swPort: string): Promise<void> {
  await ns(switchNs, 'link', 'set', swPort, 'master', 'br0');
  await ns(switchNs, 'link', 'set', swPort, 'up');
}

/** Creates one of the balancer's veths and plugs its peer (`fe` or `be`) into the bridge. */
export async function addBalancerPort(topo: Topology, which: 'frontend' | 'backend'): Promise<void> {
  const lbIf = which === 'frontend' ? topo.frontendIf : topo.backendIf;
  const swPort = which === 'frontend' ? 'fe' : 'be';
  await ns(topo.lbNs, 'link', 'add', lbIf, 'type', 'veth', 'peer', 'name', swPort, 'netns', topo.switchNs);
  await plug(topo.switchNs, swPort);
  await ns(topo.lbNs, 'link', 'set', lbIf, 'up');
}

/** Deletes one of the balancer's veths (its bridge-side peer goes with it). */
export async function removeBalancerPort(topo: Topology, which: 'frontend' | 'backend'): Promise<void> {
  await ns(topo.lbNs, 'link', 'del', which === 'frontend' ? topo.frontendIf : topo.backendIf);
}

export async function teardown(topo: Topology): Promise<void> {
  await cleanup(topo.prefix);
}

/**
 * Prepares the topology for native XDP (XDP_DRV) on the balancer's veths: an XDP_PASS program on the
 * switch-side peers gives them the NAPI that frames sent by XDP_TX / redirect into a veth need, and the
 * clients compute checksums in software (native XDP hands on raw bytes, a CHECKSUM_PARTIAL frame would
 * reach the backend with a bad checksum; a real NIC would fill it in on transmit). `passObject` is the
 * compiled bpf/pass.bpf.o.
 */
export async function prepareNativeXdp(
  topo: Topology,
  passObject: string,
  swPorts: readonly string[] = ['fe', 'be'],
): Promise<void> {
  for (const swPort of swPorts) {
    await ns(topo.switchNs, 'link', 'set', 'dev', swPort, 'xdpdrv', 'obj', passObject, 'sec', 'xdp');
  }
  for (const c of topo.clients)
    await must('ip', ['netns', 'exec', c.ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
}
