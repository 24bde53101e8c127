// Three namespaces in a line, the shape of every data-plane test and benchmark:
//
//   <prefix>LEFT [leftIf] --veth-- [fe] <prefix>lb [be] --veth-- [rightIf] <prefix>RIGHT
//
// The balancer namespace holds the two ports (fe, be); the ends are a client or traffic generator and a
// backend or sink. Every interface is created inside its namespace (never in the root namespace), so
// removing the namespaces removes everything; the prefix is registered with testkit/netns.ts, which
// removes it on every exit path. Setup is synchronous: it runs before anything else in a test.
import { ipSync, nsExec } from './exec.js';
import { cleanupSync, newPrefix, track } from './netns.js';

export interface LineEnd {
  /** Namespace name suffix (after the prefix), e.g. `cl`. */
  role: string;
  /** The end's interface name. */
  ifname: string;
  /** MAC for the end's interface (the kernel picks one when absent). */
  mac?: string;
  /** Addresses with prefix length for the end's interface, e.g. `10.77.0.1/24`. */
  addrs?: string[];
  /** Addresses put on lo (a DSR backend's VIP), with prefix length. */
  loAddrs?: string[];
  /** sysctls set in the end's namespace (e.g. arp_ignore for a DSR backend). */
  sysctls?: Record<string, string | number>;
}

export interface LineSpec {
  /** Short tag in the namespace names (which suite built it). */
  tag: string;
  /** Interface names of the balancer's two ports. */
  fe: string;
  be: string;
  /** MAC of the balancer's backend port (the kernel picks one when absent). */
  beMac?: string;
  left: LineEnd;
  right: LineEnd;
}

export class Line {
  readonly prefix: string;
  /** Namespace names. */
  readonly lb: string;
  readonly left: string;
  readonly right: string;

  private constructor(readonly spec: LineSpec) {
    this.prefix = newPrefix(spec.tag);
    this.lb = `${this.prefix}lb`;
    this.left = `${this.prefix}${spec.left.role}`;
    this.right = `${this.prefix}${spec.right.role}`;
  }

  /** Builds the line; on any failure everything created so far is removed before the error is thrown. */
  static build(spec: LineSpec): Line {
    const l = new Line(spec);
    track(l.prefix);
    try {
      for (const ns of [l.lb, l.left, l.right]) {
        ipSync('netns', 'add', ns);
        // No IPv6 chatter (router solicitations, DAD, MLD): the counters see only the test's frames.
        nsExec(
          ns,
          'sysctl',
          '-q',
          '-w',
          'net.ipv6.conf.all.disable_ipv6=1',
          'net.ipv6.conf.default.disable_ipv6=1',
        );
        ipSync('-n', ns, 'link', 'set', 'lo', 'up');
      }
      l.relinkLeft();
      l.relinkRight(spec.beMac);
      for (const [ns, end] of [
        [l.left, spec.left],
        [l.right, spec.right],
      ] as const) {
        for (const a of end.addrs ?? []) ipSync('-n', ns, 'addr', 'add', a, 'dev', end.ifname);
        for (const a of end.loAddrs ?? []) ipSync('-n', ns, 'addr', 'add', a, 'dev', 'lo');
        const kv = Object.entries(end.sysctls ?? {}).map(([k, v]) => `${k}=${v}`);
        if (kv.length > 0) nsExec(ns, 'sysctl', '-q', '-w', ...kv);
      }
    } catch (e) {
      l.destroy();
      throw e;
    }
    return l;
  }

  /** (Re)creates the frontend veth pair, same names (the end's addresses are not restored). */
  relinkLeft(): void {
    this.pair(this.spec.fe, undefined, this.left, this.spec.left);
  }

  /** (Re)creates the backend veth pair, same names, the balancer's end with `beMac` when given. */
  relinkRight(beMac?: string): void {
    this.pair(this.spec.be, beMac, this.right, this.spec.right);
  }

  private pair(lbIf: string, lbMac: string | undefined, ns: string, end: LineEnd): void {
    try {
      ipSync('-n', this.lb, 'link', 'del', lbIf);
    } catch {
      // not there (first build)
    }
    const addr = lbMac ? ['address', lbMac] : [];
    ipSync(
      '-n',
      this.lb,
      'link',
      'add',
      lbIf,
      ...addr,
      'type',
      'veth',
      'peer',
      'name',
      end.ifname,
      'netns',
      ns,
    );
    if (end.mac) ipSync('-n', ns, 'link', 'set', end.ifname, 'address', end.mac);
    ipSync('-n', this.lb, 'link', 'set', lbIf, 'up');
    ipSync('-n', ns, 'link', 'set', end.ifname, 'up');
  }

  /** The ifindex of `ifname` in namespace `ns` (synchronous). */
  ifindex(ns: string, ifname: string): number {
    return Number(nsExec(ns, 'cat', `/sys/class/net/${ifname}/ifindex`).trim());
  }

  /** A kernel packet counter of an interface (`ip -s link`): rx or tx packets. */
  packets(ns: string, ifname: string, dir: 'rx' | 'tx'): number {
    const j = JSON.parse(ipSync('-n', ns, '-s', '-j', 'link', 'show', 'dev', ifname)) as {
      stats64?: Record<string, { packets: number }>;
    }[];
    const n = j[0]?.stats64?.[dir]?.packets;
    if (n === undefined) throw new Error(`no ${dir} counter for ${ifname} in ${ns}`);
    return n;
  }

  /** Removes the three namespaces (and what runs inside); safe to call more than once. */
  destroy(): void {
    cleanupSync(this.prefix);
  }
}

/**
 * The USERSPACE suites' and benchmark's line: client ns [cl0] --veth-- [lbfe0] balancer [lbbe0]
 * --veth-- [bk0] backend ns, the balancer's backend port with MAC 02:be:00:00:00:01.
 */
export interface Topo {
  line: Line;
  /** Namespaces. */
  lb: string;
  cl: string;
  bk: string;
  /** Interfaces: fe (lb side) <-> cl (client side); be (lb side) <-> bk (backend side). */
  fe: string;
  clIf: string;
  be: string;
  bkIf: string;
  beMac: string;
  /** Re-creates the frontend veth pair (both ends, same names). */
  recreateFrontend(): void;
  /** Re-creates the backend veth pair, the balancer's end with `mac`. */
  recreateBackend(mac: string): void;
  destroy(): void;
}

export function makeTopo(tag: string): Topo {
  const spec = {
    tag,
    fe: 'lbfe0',
    be: 'lbbe0',
    beMac: '02:be:00:00:00:01',
    left: { role: 'cl', ifname: 'cl0' },
    right: { role: 'bk', ifname: 'bk0' },
  };
  const line = Line.build(spec);
  return {
    line,
    lb: line.lb,
    cl: line.left,
    bk: line.right,
    fe: spec.fe,
    clIf: spec.left.ifname,
    be: spec.be,
    bkIf: spec.right.ifname,
    beMac: spec.beMac,
    recreateFrontend: () => line.relinkLeft(),
    recreateBackend: (mac) => line.relinkRight(mac),
    destroy: () => line.destroy(),
  };
}
