// The L2 active/standby pair's topology (issue 12's test 2, test/e2e/vrrp.test.ts): the switched network
// of testkit/bridge.ts (clients c1, c2; DSR backends b1..b3 with the VIP on lo) and two balancer nodes,
// each with ONE interface on the bridge (one-arm: FRONTEND and BACKEND are both `lbfe`) and an address
// of its own, which keepalived's VRRP adverts and the host's own traffic use (host_pass):
//
//   c1 (10.0.0.11)  c2 (10.0.0.12)  b1..b3 (10.0.0.21-23, VIP on lo)
//          \             |            /
//               bridge br0 (<prefix>sw)
//             fe /                  \ fe2
//   node n1 (<prefix>lb): lbfe 10.0.0.2     node n2 (<prefix>lb2): lbfe 10.0.0.3
//
// Everything lives in namespaces of one prefix (testkit/netns.ts removes them on every exit path).
import {
  buildTopology,
  LB_FRONTEND_IF,
  removeBalancerPort,
  SUBNET_PREFIX,
  type Topology,
  teardown,
} from './bridge.js';
import { must } from './exec.js';
import { addNamespace, macOf } from './netns.js';

export interface PairNode {
  name: string;
  ns: string;
  /** The node's one interface (both ports' peer). */
  iface: string;
  /** The node's own address on it. */
  ip: string;
  /** The interface's MAC. */
  mac: string;
  /** The switch-side peer of `iface` in the bridge namespace. */
  swPort: string;
}

export interface Pair {
  topo: Topology;
  nodes: [PairNode, PairNode];
}

async function node(topo: Topology, name: string, ns: string, swPort: string, ip: string): Promise<PairNode> {
  const iface = LB_FRONTEND_IF;
  if (ns !== topo.lbNs) {
    await addNamespace(ns);
    await must('ip', [
      '-n',
      ns,
      'link',
      'add',
      iface,
      'type',
      'veth',
      'peer',
      'name',
      swPort,
      'netns',
      topo.switchNs,
    ]);
    await must('ip', ['-n', topo.switchNs, 'link', 'set', swPort, 'master', 'br0']);
    await must('ip', ['-n', topo.switchNs, 'link', 'set', swPort, 'up']);
    await must('ip', ['-n', ns, 'link', 'set', iface, 'up']);
  }
  await must('ip', ['-n', ns, 'addr', 'add', `${ip}/${SUBNET_PREFIX}`, 'dev', iface]);
  return { name, ns, iface, ip, mac: await macOf(ns, iface), swPort };
}

/** Builds the pair's topology; on any failure everything created so far is removed. */
export async function buildPair(): Promise<Pair> {
  const topo = await buildTopology();
  try {
    // The balancer namespace of bridge.ts becomes node 1, with its frontend veth as its one interface.
    await removeBalancerPort(topo, 'backend');
    const n1 = await node(topo, 'n1', topo.lbNs, 'fe', '10.0.0.2');
    const n2 = await node(topo, 'n2', `${topo.prefix}lb2`, 'fe2', '10.0.0.3');
    return { topo, nodes: [n1, n2] };
  } catch (e) {
    await teardown(topo).catch(() => {});
    throw e;
  }
}

/** Takes a node's link down or up (its end of the veth: the bridge sees the carrier go). */
export async function setLink(n: PairNode, up: boolean): Promise<void> {
  await must('ip', ['-n', n.ns, 'link', 'set', n.iface, up ? 'up' : 'down']);
}
