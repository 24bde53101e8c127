// A three-namespace topology for the USERSPACE plane: client ns --veth-- balancer ns --veth-- backend ns.
// Names are unique per process; destroy() removes everything and is safe to call more than once.
import { execFileSync } from 'node:child_process';

export interface Topo {
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
  recreateBackend(mac: string): void;
  destroy(): void;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

export function nsExec(ns: string, ...cmd: string[]): string {
  return ip('netns', 'exec', ns, ...cmd);
}

export function skipUnlessRoot(what: string): string | false {
  if (process.getuid?.() === 0) return false;
  const reason = `${what} needs root (network namespaces, AF_PACKET)`;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}`);
  console.log(`# skipping: ${reason}`);
  return reason;
}

function quiet(ns: string): void {
  // No IPv6 chatter (router solicitations, DAD, MLD): the counters must see only the test's frames.
  nsExec(
    ns,
    'sysctl',
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  );
}

export function makeTopo(tag: string): Topo {
  const p = `${tag}${process.pid % 100000}`;
  const t: Topo = {
    lb: `${p}lb`,
    cl: `${p}cl`,
    bk: `${p}bk`,
    fe: 'lbfe0',
    clIf: 'cl0',
    be: 'lbbe0',
    bkIf: 'bk0',
    beMac: '02:be:00:00:00:01',
    recreateFrontend() {
      try {
        ip('-n', t.lb, 'link', 'del', t.fe);
      } catch {
        // already gone
      }
      ip('link', 'add', t.fe, 'netns', t.lb, 'type', 'veth', 'peer', 'name', t.clIf, 'netns', t.cl);
      ip('-n', t.lb, 'link', 'set', t.fe, 'up');
      ip('-n', t.cl, 'link', 'set', t.clIf, 'up');
    },
    /** (Re)creates the backend veth pair, the balancer's end with `mac`. */
    recreateBackend(mac: string) {
      try {
        ip('-n', t.lb, 'link', 'del', t.be);
      } catch {
        // already gone
      }
      ip(
        'link',
        'add',
        t.be,
        'netns',
        t.lb,
        'address',
        mac,
        'type',
        'veth',
        'peer',
        'name',
        t.bkIf,
        'netns',
        t.bk,
      );
      ip('-n', t.lb, 'link', 'set', t.be, 'up');
      ip('-n', t.bk, 'link', 'set', t.bkIf, 'up');
    },
    destroy() {
      for (const ns of [t.lb, t.cl, t.bk]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // not there
        }
      }
    },
  };
  try {
    for (const ns of [t.lb, t.cl, t.bk]) {
      ip('netns', 'add', ns);
      quiet(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    t.recreateFrontend();
    t.recreateBackend(t.beMac);
  } catch (e) {
    t.destroy();
    throw e;
  }
  return t;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
