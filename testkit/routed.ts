// What the frontend-mode tests add to the switched topology of bridge.ts: a router in front of it for
// mode ROUTED, and an ARP probe (arping without the package) for standby.
//
//   far client fc (10.1.0.2) ---- router rt (10.1.0.1 | 10.0.0.1) ---- bridge br0 ---- balancer lbfe
//                                 route VIP/32 via the balancer's own     (10.0.0.5: its own address on
//                                 address (10.0.0.5)                       the NIC it shares with the VIP)
//
// The backends reach the far client through the router (their DSR replies go there, not through the
// balancer). The router and the far client are namespaces of the topology's prefix: its teardown
// removes them.
import { arpRequestFrame } from '../src/packet/build.js';
import type { Topology } from './bridge.js';
import { must } from './exec.js';
import { addNamespace, sysctl } from './netns.js';
import { rawIn } from './raw.js';
import { sleep } from './timing.js';

export const ROUTER_IP = '10.0.0.1';
export const FAR_NET = '10.1.0.0/24';
export const FAR_CLIENT_IP = '10.1.0.2';
/** The balancer host's own address on its FRONTEND interface (the router's next hop for the VIP). */
export const BALANCER_IP = '10.0.0.5';

export interface Router {
  ns: string;
  /** The client behind the router. */
  farClient: string;
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await must('ip', ['-n', ns, ...args]);
}

/**
 * Adds the router and the far client, gives the balancer's FRONTEND interface its own address
 * (BALANCER_IP) and routes the VIP to it; the backends and the balancer reach FAR_NET via the router.
 */
export async function addRouter(topo: Topology): Promise<Router> {
  const r: Router = { ns: `${topo.prefix}rt`, farClient: `${topo.prefix}fc` };
  for (const n of [r.ns, r.farClient]) await addNamespace(n);
  await ip(r.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'rt', 'netns', topo.switchNs);
  await ip(topo.switchNs, 'link', 'set', 'rt', 'master', 'br0');
  await ip(topo.switchNs, 'link', 'set', 'rt', 'up');
  await ip(r.ns, 'addr', 'add', `${ROUTER_IP}/24`, 'dev', 'eth0');
  await ip(r.ns, 'link', 'set', 'eth0', 'up');
  await ip(r.ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', r.farClient);
  await ip(r.ns, 'addr', 'add', '10.1.0.1/24', 'dev', 'eth1');
  await ip(r.ns, 'link', 'set', 'eth1', 'up');
  await ip(r.farClient, 'addr', 'add', `${FAR_CLIENT_IP}/24`, 'dev', 'eth0');
  await ip(r.farClient, 'link', 'set', 'eth0', 'up');
  await ip(r.farClient, 'route', 'add', 'default', 'via', '10.1.0.1');
  await sysctl(r.ns, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0 });
  await ip(r.ns, 'route', 'add', `${topo.vip}/32`, 'via', BALANCER_IP);
  // the balancer's BACKEND interface is on the same segment: only the FRONTEND one may answer ARP for
  // the host's address (else the router may learn the BACKEND MAC: ARP flux)
  await sysctl(topo.lbNs, { 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 });
  await ip(topo.lbNs, 'addr', 'add', `${BALANCER_IP}/24`, 'dev', topo.frontendIf);
  await ip(topo.lbNs, 'route', 'add', FAR_NET, 'via', ROUTER_IP);
  for (const b of topo.backends) await ip(b.ns, 'route', 'add', FAR_NET, 'via', ROUTER_IP);
  return r;
}

/**
 * Sends one broadcast ARP request for `targetIp` from `ifname` in `ns` (as `arping -c 1` would) and
 * returns the sender MACs of the replies heard within `ms`.
 */
export async function arping(
  ns: string,
  ifname: string,
  from: { mac: string; ip: string },
  targetIp: string,
  ms = 1000,
): Promise<string[]> {
  const sock = rawIn(ns, ifname, true);
  const target = targetIp.split('.').map(Number);
  const macs: string[] = [];
  try {
    sock.send(arpRequestFrame({ senderMac: from.mac, senderIp: from.ip, targetIp }));
    const buf = new Uint8Array(2048);
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (let f = sock.recvNow(buf); f; f = sock.recvNow(buf)) {
        const reply = f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 2;
        if (reply && target.every((x, i) => f[28 + i] === x)) {
          macs.push(Array.from(f.subarray(22, 28), (x) => x.toString(16).padStart(2, '0')).join(':'));
        }
      }
      await sleep(20);
    }
  } finally {
    sock.close();
  }
  return macs;
}
