// BIRD 2 (Debian bird2) for the ECMP tests and benchmark: one `bird` per namespace, run in the
// foreground by this process (so that it is stopped with the test, and testkit/netns.ts kills it with its
// namespace on every other exit path), its configuration and control socket in a temporary directory
// (removed on every exit path too).
//
// Two roles: the ROUTER accepts BGP from any node of the fabric subnet (BIRD's dynamic sessions,
// `neighbor range`) and installs every equal path to a VIP as one multipath kernel route (`merge paths`);
// a NODE has one session to the router and originates its announced VIPs from a static protocol kept in
// an include file. `node dist/testkit/bgp.js announce SOCKET FILE` rewrites that file from LBDSR_VIPS
// (what lbdsrd's --announce-command sets) and runs `birdc configure`: the routing daemon follows lbdsrd.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from './exec.js';
import { sleep, waitFor } from './timing.js';

/** This file, compiled: what a node's lbdsrd runs as its announce command. */
export const BGP_JS = fileURLToPath(import.meta.url);

/** Directories of live BIRDs (and of the fabric's files), removed if this process exits without stop. */
const dirs = new Set<string>();
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory removed on exit unless `releaseDir` removed it first. */
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `lbdsr-${tag}-`));
  dirs.add(d);
  return d;
}

export function releaseDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

export const ROUTER_AS = 65000;
export const NODE_AS = 65001;

export interface RouterBgp {
  routerId: string;
  /** The fabric subnet the nodes' sessions come from, e.g. 10.0.0.0/24. */
  nodesFrom: string;
}

export interface NodeBgp {
  routerId: string;
  /** The router's address (the one BGP neighbour). */
  neighbor: string;
  /** The include file holding the static protocol of the announced VIPs. */
  vipsFile: string;
}

/**
 * The router: BGP from every node (passive, dynamic), all routes imported; the kernel protocol merges
 * equal paths into one ECMP route (the kernel hashes flows over its next hops).
 */
export function routerConfig(c: RouterBgp): string {
  return `router id ${c.routerId};
protocol device {}
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
protocol bgp nodes {
  local ${c.routerId} as ${ROUTER_AS};
  neighbor range ${c.nodesFrom} as ${NODE_AS};
  dynamic name "node";
  hold time 9;
  keepalive time 3;
  ipv4 { import all; export none; };
}
`;
}

/** A balancer node: one session to the router, exporting only the VIPs of the `vips` static protocol. */
export function nodeConfig(c: NodeBgp): string {
  return `router id ${c.routerId};
protocol device {}
include "${c.vipsFile}";
protocol bgp uplink {
  local ${c.routerId} as ${NODE_AS};
  neighbor ${c.neighbor} as ${ROUTER_AS};
  connect retry time 1;
  hold time 9;
  keepalive time 3;
  ipv4 { import none; export where proto = "vips"; next hop self; };
}
`;
}

/** The static protocol announcing `vips` (A.B.C.D or A.B.C.D/32); none: the protocol has no route. */
export function vipsProtocol(vips: readonly string[]): string {
  const routes = vips.map((v) => `  route ${v.includes('/') ? v : `${v}/32`} blackhole;\n`).join('');
  return `protocol static vips {\n  ipv4;\n${routes}}\n`;
}

/** Writes the VIPs' include file atomically (BIRD must never read half a file). */
export function writeVips(file: string, vips: readonly string[]): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, vipsProtocol(vips));
  renameSync(tmp, file);
}

/** `birdc -s SOCKET ARGS...`; throws with BIRD's answer when it fails (birdc exits 1 on an error reply). */
export function birdc(socket: string, ...args: string[]): Promise<string> {
  return must('birdc', ['-s', socket, ...args], { timeoutMs: 10_000 });
}

/** One BIRD daemon inside a namespace. */
export class Bird {
  readonly dir: string;
  readonly socket: string;
  readonly configFile: string;
  private proc: ChildProcess | undefined;
  private stderr = '';

  constructor(
    readonly ns: string,
    readonly name: string,
  ) {
    this.dir = tempDir(`bird-${name}`);
    this.socket = join(this.dir, 'bird.ctl');
    this.configFile = join(this.dir, 'bird.conf');
  }

  /** A file in this daemon's directory (e.g. a node's VIPs include file). */
  file(name: string): string {
    return join(this.dir, name);
  }

  /** Starts `bird -f` with `config` and waits (bounded) until its control socket answers. */
  async start(config: string, timeoutMs = 10_000): Promise<void> {
    writeFileSync(this.configFile, config);
    const argv = ['netns', 'exec', this.ns, 'bird', '-f', '-c', this.configFile, '-s', this.socket];
    const p = spawn('ip', [...argv, '-P', join(this.dir, 'bird.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = p;
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    const up = await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`bird (${this.name}) exited ${p.exitCode}: ${this.stderr}`);
        return (await run('birdc', ['-s', this.socket, 'show', 'status'])).code === 0;
      },
      { timeoutMs, intervalMs: 50 },
    );
    if (!up) throw new Error(`bird (${this.name}) did not answer within ${timeoutMs} ms: ${this.stderr}`);
  }

  ctl(...args: string[]): Promise<string> {
    return birdc(this.socket, ...args);
  }

  /** Names of the BGP sessions in state Established. */
  async established(): Promise<string[]> {
    const out = await this.ctl('show', 'protocols');
    return out
      .split('\n')
      .filter((l) => /\sBGP\s/.test(l) && /Established/.test(l))
      .map((l) => l.split(/\s+/)[0] ?? '');
  }

  /** SIGTERM, bounded wait (then SIGKILL); the directory is removed. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    this.proc = undefined;
    releaseDir(this.dir);
  }
}

/** The announce command: the VIPs of LBDSR_VIPS into FILE, then `birdc -s SOCKET configure`. */
async function announce(socket: string, file: string): Promise<void> {
  const vips = (process.env.LBDSR_VIPS ?? '').split(/\s+/).filter(Boolean);
  writeVips(file, vips);
  await birdc(socket, 'configure');
}

if (process.argv[1] === BGP_JS && process.argv[2] === 'announce') {
  const [socket, file] = process.argv.slice(3);
  if (!socket || !file) {
    console.error('usage: bgp.js announce SOCKET FILE (the VIPs from LBDSR_VIPS)');
    process.exit(2);
  }
  announce(socket, file).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
