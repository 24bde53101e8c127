// IPv6 on the testkit's topologies (issue 13's namespace suite and the demo's dual-stack service). The
// namespaces of netns.ts start with IPv6 off (no router solicitations or MLD in the counters); this turns
// it on where a test wants it, without duplicate address detection (`accept_dad=0`, addresses added
// `nodad`: usable at once, no tentative state to wait for) and without router advertisements:
//
//   clients c1, c2: fd00::11, fd00::12/64       backends b1..b3: fd00::21-23/64, VIP6 fd00::100/128 on lo
//   bridge br0: multicast snooping off (a solicitation for the VIP reaches the balancer, which sends no MLD)
//   balancer namespace: IPv6 stays OFF (its kernel must not answer or learn anything on the ports)
//
// `addRouter6` puts a router between a far client and the bridge with a smaller MTU towards the client:
// the path of the Packet Too Big test (the router answers a server's too-large reply with an ICMPv6
// error to the VIP, which the balancer brings back to that server).
//
//   far client fc (fd01::2, MTU 1500) ---- router rt (fd01::1, MTU 1280 | fd00::1) ---- bridge br0
import type { Topology } from './bridge.js';
import { must } from './exec.js';
import { addNamespace, sysctl } from './netns.js';

/** The IPv6 VIP of the suite and of the demo's dual-stack service. */
export const VIP6 = 'fd00::100';
export const SUBNET6 = 'fd00::/64';
export const SUBNET6_PREFIX = 64;
/** The router's address on the bridge, and the far side. */
export const ROUTER6 = 'fd00::1';
export const FAR_NET6 = 'fd01::/64';
export const FAR_ROUTER6 = 'fd01::1';
export const FAR_CLIENT6 = 'fd01::2';
/** The MTU of the router's link towards the far client (the IPv6 minimum). */
export const FAR_MTU = 1280;

/** The IPv6 address of a topology host by its role name (c1, c2, b1..b3). */
export function ip6Of(name: string): string {
  const m = /^([cb])(\d)$/.exec(name);
  if (!m) throw new Error(`no IPv6 address for host ${name}`);
  return `fd00::${m[1] === 'c' ? 10 + Number(m[2]) : 20 + Number(m[2])}`;
}

/**
 * Turns IPv6 on in a namespace for `ifnames` (and lo): no duplicate address detection, no router
 * advertisements or solicitations; `forwarding` makes it a router.
 */
export async function enableIpv6(ns: string, ifnames: readonly string[], forwarding = false): Promise<void> {
  const per: Record<string, number> = {};
  for (const i of ['all', 'default', 'lo', ...ifnames]) {
    per[`net.ipv6.conf.${i}.accept_dad`] = 0;
    per[`net.ipv6.conf.${i}.accept_ra`] = 0;
    per[`net.ipv6.conf.${i}.router_solicitations`] = 0;
  }
  await sysctl(ns, per);
  const on: Record<string, number> = {};
  for (const i of ['all', 'default', 'lo', ...ifnames]) on[`net.ipv6.conf.${i}.disable_ipv6`] = 0;
  if (forwarding) on['net.ipv6.conf.all.forwarding'] = 1;
  await sysctl(ns, on);
}

/** `ip -6 addr add ADDR dev DEV nodad` in a namespace. */
export async function addAddr6(ns: string, cidr: string, dev: string): Promise<void> {
  await must('ip', ['-n', ns, '-6', 'addr', 'add', cidr, 'dev', dev, 'nodad']);
}

/**
 * IPv6 on the switched topology of bridge.ts: addresses on the clients and backends (ip6Of), `vip6` on
 * every backend's lo (none when null), multicast snooping off on the bridge. The balancer's namespace
 * keeps IPv6 off.
 */
export async function addIpv6(topo: Topology, vip6: string | null = VIP6): Promise<void> {
  await must('ip', ['-n', topo.switchNs, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
  for (const h of [...topo.clients, ...topo.backends]) {
    await enableIpv6(h.ns, ['eth0']);
    await addAddr6(h.ns, `${ip6Of(h.name)}/${SUBNET6_PREFIX}`, 'eth0');
  }
  if (vip6 !== null) for (const b of topo.backends) await addAddr6(b.ns, `${vip6}/128`, 'lo');
}

export interface Router6 {
  ns: string;
  /** The client behind the router. */
  farClient: string;
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await must('ip', ['-n', ns, ...args]);
}

/**
 * Adds the router rt and the far client fc (namespaces of the topology's prefix: its teardown removes
 * them). The router's link towards fc has MTU `mtu` (fc's own end keeps 1500, so fc's SYN offers an
 * MSS the path cannot carry); the backends reach FAR_NET6 through the router (DSR replies go there),
 * the router reaches the VIP on the bridge (on-link: it finds it by Neighbor Discovery, i.e. at the
 * balancer's frontend MAC). Call after addIpv6.
 */
export async function addRouter6(topo: Topology, mtu = FAR_MTU): Promise<Router6> {
  const r: Router6 = { ns: `${topo.prefix}rt6`, farClient: `${topo.prefix}fc6` };
  for (const n of [r.ns, r.farClient]) await addNamespace(n);
  await ip(r.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'rt6', 'netns', topo.switchNs);
  await ip(topo.switchNs, 'link', 'set', 'rt6', 'master', 'br0');
  await ip(topo.switchNs, 'link', 'set', 'rt6', 'up');
  await ip(r.ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', r.farClient);
  await ip(r.ns, 'link', 'set', 'eth1', 'mtu', String(mtu));
  await enableIpv6(r.ns, ['eth0', 'eth1'], true);
  await enableIpv6(r.farClient, ['eth0']);
  await addAddr6(r.ns, `${ROUTER6}/${SUBNET6_PREFIX}`, 'eth0');
  await addAddr6(r.ns, `${FAR_ROUTER6}/64`, 'eth1');
  await addAddr6(r.farClient, `${FAR_CLIENT6}/64`, 'eth0');
  for (const [n, dev] of [
    [r.ns, 'eth0'],
    [r.ns, 'eth1'],
    [r.farClient, 'eth0'],
  ] as const)
    await ip(n, 'link', 'set', dev, 'up');
  await ip(r.farClient, '-6', 'route', 'add', 'default', 'via', FAR_ROUTER6);
  for (const b of topo.backends) await ip(b.ns, '-6', 'route', 'add', FAR_NET6, 'via', ROUTER6);
  return r;
}

/**
 * The path MTU a namespace's route cache holds for `dst` (`ip -6 route get DST [from SRC]`: its `mtu`
 * once a Packet Too Big taught it), undefined when it holds none.
 */
export async function routeMtu6(ns: string, dst: string, from?: string): Promise<number | undefined> {
  const args = ['-n', ns, '-6', 'route', 'get', dst, ...(from ? ['from', from] : [])];
  const out = await must('ip', args);
  const m = /\bmtu (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/** `ip -6 route get ...` as text (for messages). */
export async function routeGet6(ns: string, dst: string, from?: string): Promise<string> {
  return (await must('ip', ['-n', ns, '-6', 'route', 'get', dst, ...(from ? ['from', from] : [])])).trim();
}
