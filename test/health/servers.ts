// Helpers of the health suite: a server process in a backend's namespace (HTTP on [::]:80, both
// families, with `/health` answering "healthy" and anything else 404, a UDP echo on [::]:7000, both
// families, answering a link-local sender through eth0) that a test kills
// and starts again, and a recorder of the prober's events with bounded waits on them.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BackendProber } from '../../src/health/prober.js';
import type { ProberEvents, ResolvedCheck } from '../../src/health/types.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import type { Topology } from '../../testkit/bridge.js';
import { mustWaitFor } from '../../testkit/timing.js';

export const HTTP_PORT = 80;
export const UDP_PORT = 7000;
export const PROBE_IP = '10.0.0.250';

/** A check of the servers above, quick to judge (250 ms interval, 200 ms timeout, rise and fall 2). */
export function check(type: ResolvedCheck['type'], more: Partial<ResolvedCheck> = {}): ResolvedCheck {
  return {
    type,
    port: type === 'UDP' ? UDP_PORT : HTTP_PORT,
    intervalMs: 250,
    timeoutMs: 200,
    rise: 2,
    fall: 2,
    path: '/',
    expect: 200,
    ...more,
  };
}

/** A prober on the topology's BACKEND port, in the balancer's namespace, with short ARP/ND timers. */
export function startProber(topo: Topology, events: ProberEvents): BackendProber {
  return inNetns(
    topo.lbNs,
    () =>
      new BackendProber({
        ifname: topo.backendIf,
        probeIp: PROBE_IP,
        events,
        arpRefreshMs: 400,
        arpRetryMs: 200,
      }),
  );
}

const SCRIPT = `
const http = require('http');
const dgram = require('dgram');
const name = process.env.SERVER_NAME;
const h = http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(200, {'content-type': 'text/plain'}); res.end('healthy ' + name); }
  else { res.writeHead(404); res.end('no'); }
});
const u = dgram.createSocket('udp6');
const scoped = (a) => (a.startsWith('fe80') && !a.includes('%') ? a + '%eth0' : a);
u.on('message', (m, r) => u.send('pong ' + name + ' ' + m, r.port, scoped(r.address)));
let n = 0;
const ready = () => { if (++n === 2) process.stdout.write('READY\\n'); };
h.listen(${HTTP_PORT}, '::', ready);
u.bind(${UDP_PORT}, '::', ready);
setTimeout(() => process.exit(0), 600000).unref();
`;

/** A server process in namespace `ns`; `start` waits (bounded) for it to listen. */
export class TestServer {
  private child: ChildProcess | undefined;

  constructor(
    readonly ns: string,
    readonly name: string,
  ) {}

  async start(timeoutMs = 10_000): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', this.ns, process.execPath, '-e', SCRIPT], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SERVER_NAME: this.name },
    });
    this.child = p;
    let err = '';
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: not ready: ${err}`)), timeoutMs);
      createInterface({ input: p.stdout! }).on('line', (l) => {
        if (l.trim() === 'READY') {
          clearTimeout(t);
          resolve();
        }
      });
      p.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${this.name}: exited (${code}): ${err}`));
      });
    });
  }

  /** Kills the process and waits until it is gone (its sockets closed). */
  async kill(): Promise<void> {
    const p = this.child;
    this.child = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await gone;
  }
}

export interface HealthEvent {
  key: string;
  health: 'UP' | 'DOWN';
  reason: string;
}

/** Records every event of a prober. */
export class Recorder implements ProberEvents {
  readonly macs: { key: string; mac: string }[] = [];
  readonly silent: { key: string; since: Date }[] = [];
  readonly healths: HealthEvent[] = [];
  readonly probes: { key: string; ok: boolean; latencyMs: number }[] = [];
  readonly flux: { vip: string; macs: string[] }[] = [];

  mac(key: string, mac: string): void {
    this.macs.push({ key, mac });
  }
  macSilent(key: string, since: Date): void {
    this.silent.push({ key, since });
  }
  health(key: string, health: 'UP' | 'DOWN', reason: string): void {
    this.healths.push({ key, health, reason });
  }
  probe(key: string, ok: boolean, latencyMs: number): void {
    this.probes.push({ key, ok, latencyMs });
  }
  arpFlux(vip: string, macs: string[]): void {
    this.flux.push({ vip, macs });
  }

  /** The last health reported for `key`. */
  last(key: string): HealthEvent | undefined {
    return this.healths.filter((h) => h.key === key).at(-1);
  }

  /** Waits until the last health of `key` is `health` (reported after index `from` of healths). */
  async waitHealth(key: string, health: 'UP' | 'DOWN', from = 0, timeoutMs = 10_000): Promise<HealthEvent> {
    const found = () =>
      this.healths
        .slice(from)
        .filter((h) => h.key === key)
        .at(-1);
    await mustWaitFor(
      `${key} ${health} (events: ${JSON.stringify(this.healths.slice(from))})`,
      () => found()?.health === health,
      { timeoutMs },
    );
    return found()!;
  }
}
