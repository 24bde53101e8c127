// The ECMP topology of issue 12 (docs/scale-out.md), in namespaces, for test/e2e/ecmp.test.ts and
// bench/scale-out.ts:
//
//    client c1 (10.1.0.11) ---- router r (10.1.0.1 | 10.0.0.1, BIRD: BGP from every node, ECMP, L4 hash)
//                                  |
//                       fabric bridge br0 (namespace <prefix>sw)
//          /            |            |                  \            \           \
//   node n1 (.11)  node n2 (.12)  node n3 (.13) [n4 .14]  server s1 (.21)  s2 (.22)  s3 (.23)
//   lbdsrd + BIRD on eth0: ROUTED, one-arm, host_pass     VIP on lo, arp_ignore=1, default via the router
//
// A client's frame for the VIP goes to the router, which picks a node by its hash of the 5-tuple
// (fib_multipath_hash_policy=1) among the nodes that announce the VIP by BGP; the node balances it out of
// the same interface to a server's MAC (one-arm); the server answers the client through the router (DSR:
// never through a node). A node's BGP session, ARP and health probes share its one NIC with the plane
// (host_pass). Every interface is created inside its namespace; testkit/netns.ts removes them, and what
// runs inside them (BIRD, lbdsrd), on every exit path.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatsSnapshot } from '../src/core/model.js';
import { BGP_JS, Bird, nodeConfig, releaseDir, routerConfig, tempDir, writeVips } from './bgp.js';
import { Daemon } from './daemon.js';
import { must } from './exec.js';
import { addNamespace, cleanup, macOf, newPrefix, sysctl, track } from './netns.js';

export const VIP = '10.200.0.100';
export const FABRIC_NET = '10.0.0.0/24';
export const ROUTER_FABRIC_IP = '10.0.0.1';
export const ROUTER_CLIENT_IP = '10.1.0.1';
export const CLIENT_IP = '10.1.0.11';
/** The one interface of a node (FRONTEND and BACKEND port: one-arm) and of a server. */
export const NODE_IF = 'eth0';

export interface FabricHost {
  /** n1.., s1.., c1. */
  name: string;
  ns: string;
  ip: string;
  mac: string;
}

export interface Server extends FabricHost {
  /** Pool id of the server on every node. */
  id: number;
}

export interface Node extends FabricHost {
  index: number;
  /** Source of the node's health probes: an address of the fabric no host owns (docs/health.md). */
  probeIp: string;
  bird: Bird;
  /** BIRD's include file of the VIPs this node announces. */
  vipsFile: string;
  daemon?: Daemon;
}

export const nodeIp = (i: number) => `10.0.0.${10 + i}`;
export const nodeProbeIp = (i: number) => `10.0.0.${200 + i}`;
export const serverIp = (i: number) => `10.0.0.${20 + i}`;

async function ip(nsName: string, ...args: string[]): Promise<string> {
  return must('ip', ['-n', nsName, ...args]);
}

/** The health check every node runs unless told otherwise. */
export interface Check {
  type: 'TCP';
  port: number;
  interval: number;
  timeout: number;
  rise: number;
  fall: number;
}

/** TCP to the echo servers' port (testkit/longlived.ts, 9100): DOWN within ~2.5 s of a failure. */
export const DEFAULT_CHECK: Check = { type: 'TCP', port: 9100, interval: 1, timeout: 0.5, rise: 2, fall: 2 };

export class Fabric {
  readonly switchNs: string;
  readonly routerNs: string;
  readonly client: FabricHost;
  readonly servers: Server[];
  readonly nodes = new Map<number, Node>();
  readonly router: Bird;
  private readonly dir: string;

  private constructor(
    readonly prefix: string,
    servers: number,
  ) {
    this.switchNs = `${prefix}sw`;
    this.routerNs = `${prefix}r`;
    this.client = { name: 'c1', ns: `${prefix}c1`, ip: CLIENT_IP, mac: '' };
    this.servers = Array.from({ length: servers }, (_, k) => ({
      id: k + 1,
      name: `s${k + 1}`,
      ns: `${prefix}s${k + 1}`,
      ip: serverIp(k + 1),
      mac: '',
    }));
    this.router = new Bird(this.routerNs, 'router');
    this.dir = tempDir('fabric');
  }

  /** Builds the fabric with `nodes` nodes (BIRD running, no lbdsrd yet); on failure removes it all. */
  static async build(opts: { nodes: number; servers?: number; prefix?: string }): Promise<Fabric> {
    const prefix = opts.prefix ?? newPrefix('ec');
    track(prefix);
    const f = new Fabric(prefix, opts.servers ?? 3);
    try {
      await f.buildBase();
      for (let i = 1; i <= opts.nodes; i++) await f.addNode(i);
    } catch (e) {
      await f.teardown().catch(() => {});
      throw e;
    }
    return f;
  }

  private async buildBase(): Promise<void> {
    for (const n of [this.switchNs, this.routerNs, this.client.ns]) await addNamespace(n);
    await ip(this.switchNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0');
    await ip(this.switchNs, 'link', 'set', 'br0', 'up');
    // router <-> client: a point-to-point veth; router <-> fabric: a bridge port
    const r = this.routerNs;
    await ip(r, 'link', 'add', 'cli', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client.ns);
    await ip(r, 'addr', 'add', `${ROUTER_CLIENT_IP}/24`, 'dev', 'cli');
    await ip(r, 'link', 'set', 'cli', 'up');
    await this.plug(r, 'fab', 'r', `${ROUTER_FABRIC_IP}/24`);
    await sysctl(r, {
      'net.ipv4.ip_forward': 1,
      // the L4 hash: flows of one client spread over the next hops by their ports
      'net.ipv4.fib_multipath_hash_policy': 1,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
    });
    const c = this.client;
    await ip(c.ns, 'addr', 'add', `${c.ip}/24`, 'dev', 'eth0');
    await ip(c.ns, 'link', 'set', 'eth0', 'up');
    await ip(c.ns, 'route', 'add', 'default', 'via', ROUTER_CLIENT_IP);
    c.mac = await macOf(c.ns, 'eth0');
    for (const s of this.servers) {
      await addNamespace(s.ns);
      await this.plug(s.ns, 'eth0', s.name, `${s.ip}/24`);
      // DSR: the VIP on lo, never answered by ARP; replies leave through the router
      await ip(s.ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
      await sysctl(s.ns, { 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 });
      await ip(s.ns, 'route', 'add', 'default', 'via', ROUTER_FABRIC_IP);
      s.mac = await macOf(s.ns, 'eth0');
    }
    await this.router.start(routerConfig({ routerId: ROUTER_FABRIC_IP, nodesFrom: FABRIC_NET }));
  }

  /** A veth `inner` in `nsName` (with `cidr`, up) whose peer `swPort` is a port of the fabric bridge. */
  private async plug(nsName: string, inner: string, swPort: string, cidr: string): Promise<void> {
    await ip(nsName, 'link', 'add', inner, 'type', 'veth', 'peer', 'name', swPort, 'netns', this.switchNs);
    await ip(this.switchNs, 'link', 'set', swPort, 'master', 'br0');
    await ip(this.switchNs, 'link', 'set', swPort, 'up');
    await ip(nsName, 'addr', 'add', cidr, 'dev', inner);
    await ip(nsName, 'link', 'set', inner, 'up');
  }

  /** Adds node `i` (namespace, its interface on the fabric, BIRD announcing nothing yet). */
  async addNode(i: number): Promise<Node> {
    const name = `n${i}`;
    const nsName = `${this.prefix}${name}`;
    await addNamespace(nsName);
    await this.plug(nsName, NODE_IF, name, `${nodeIp(i)}/24`);
    const bird = new Bird(nsName, name);
    const vipsFile = bird.file('vips.conf');
    writeVips(vipsFile, []);
    const node: Node = {
      index: i,
      name,
      ns: nsName,
      ip: nodeIp(i),
      mac: await macOf(nsName, NODE_IF),
      probeIp: nodeProbeIp(i),
      bird,
      vipsFile,
    };
    this.nodes.set(i, node);
    await bird.start(nodeConfig({ routerId: node.ip, neighbor: ROUTER_FABRIC_IP, vipsFile }));
    return node;
  }

  node(i: number): Node {
    const n = this.nodes.get(i);
    if (!n) throw new Error(`no node ${i}`);
    return n;
  }

  /**
   * The announce command a node's lbdsrd runs (argv split on spaces: no path here holds one): the
   * reachable VIPs into BIRD's include file, then `birdc configure`.
   */
  announceCommand(n: Node): string {
    return [process.execPath, BGP_JS, 'announce', n.bird.socket, n.vipsFile].join(' ');
  }

  /**
   * Starts (or restarts, keeping its state) lbdsrd on node `i`, its announce command driving BIRD
   * (`announce: false`: BIRD is left to the caller, e.g. the benchmark choosing how many nodes announce).
   */
  async startDaemon(i: number, announce = true): Promise<Daemon> {
    const n = this.node(i);
    n.daemon ??= new Daemon({
      ns: n.ns,
      logLevel: 'warn',
      args: announce ? ['--announce-command', this.announceCommand(n)] : [],
    });
    await n.daemon.start();
    return n.daemon;
  }

  /** The cluster file every node is given (`lbdsrctl apply -f`), with node `i`'s probe address. */
  clusterFile(i: number, type: string, check: Check | null = DEFAULT_CHECK): string {
    const hc = Object.entries(check ?? { type: 'NONE' })
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    const pool = this.servers
      .map((s) => `        - { id: ${s.id}, mac: "${s.mac}", ip: ${s.ip} }`)
      .join('\n');
    const text = `instances:
  - name: lb1
    type: ${type}
    mode: ROUTED
    host_pass: true
    probe_ip: ${nodeProbeIp(i)}
    ports:
      - { name: fe, type: FRONTEND, peer: ${NODE_IF} }
      - { name: be, type: BACKEND, peer: ${NODE_IF} }
    frontend:
      vip: ${VIP}
    backend:
      healthcheck: { ${hc} }
      pool:
${pool}
`;
    const file = join(this.dir, `cluster-n${i}.yaml`);
    writeFileSync(file, text);
    return file;
  }

  /** Applies the cluster file to node `i`'s daemon (lbdsrctl inside the node's namespace). */
  async configure(i: number, type: string, check: Check | null = DEFAULT_CHECK): Promise<void> {
    const d = this.node(i).daemon;
    if (!d) throw new Error(`node ${i} has no daemon`);
    await d.mustCtl('apply', '-f', this.clusterFile(i, type, check));
  }

  /** Frames node `i`'s plane balanced so far (`stats show`: tx.backend; one-arm counts them there). */
  async balanced(i: number): Promise<number> {
    const d = this.node(i).daemon;
    if (!d) throw new Error(`node ${i} has no daemon`);
    const s = JSON.parse(await d.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;
    return s.tx.backend;
  }

  /** The router's next hops for the VIP (`ip -j route show VIP` in its namespace), sorted. */
  async nextHops(): Promise<string[]> {
    const out = await ip(this.routerNs, '-j', 'route', 'show', `${VIP}/32`);
    const routes = JSON.parse(out || '[]') as { gateway?: string; nexthops?: { gateway?: string }[] }[];
    const hops = routes.flatMap((r) => (r.nexthops ?? [r]).map((h) => h.gateway ?? ''));
    return hops.filter(Boolean).sort();
  }

  /** Stops every daemon and BIRD, removes the namespaces and the temporary files. */
  async teardown(): Promise<void> {
    for (const n of this.nodes.values()) await n.daemon?.dispose().catch(() => {});
    for (const n of this.nodes.values()) await n.bird.stop().catch(() => {});
    await this.router.stop().catch(() => {});
    await cleanup(this.prefix);
    releaseDir(this.dir);
  }
}
