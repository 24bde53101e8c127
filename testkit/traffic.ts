// Host-side traffic helpers: start the backend servers and run the clients of agent.ts inside the
// topology's namespaces, returning their parsed results.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClientResult } from './agent.js';
import type { Topology } from './bridge.js';
import { run } from './exec.js';

export type { ClientResult } from './agent.js';

export const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));
export const UDP_PORT = 7000;

export interface Servers {
  procs: ChildProcess[];
  stop(): void;
}

/**
 * Starts an HTTP server (0.0.0.0:80) and a UDP echo server (VIP:7000) on every backend; with `vip6`
 * also HTTP on [::]:80 and UDP echo on [vip6]:7000 (IPv6 on in the backends: testkit/ipv6.ts).
 */
export async function startServers(topo: Topology, timeoutMs = 10_000, vip6?: string): Promise<Servers> {
  const procs: ChildProcess[] = [];
  const stop = () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  };
  try {
    await Promise.all(
      topo.backends.map(
        (b) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn(
              'ip',
              [
                'netns',
                'exec',
                b.ns,
                process.execPath,
                AGENT,
                'serve',
                '--name',
                b.name,
                '--vip',
                topo.vip,
                '--udp-port',
                String(UDP_PORT),
                ...(vip6 ? ['--vip6', vip6] : []),
              ],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            );
            procs.push(p);
            let err = '';
            p.stderr!.setEncoding('utf8').on('data', (d: string) => {
              err += d;
            });
            const t = setTimeout(
              () => reject(new Error(`server on ${b.name} not ready in ${timeoutMs} ms: ${err}`)),
              timeoutMs,
            );
            createInterface({ input: p.stdout! }).on('line', (l) => {
              if (l.trim() === 'READY') {
                clearTimeout(t);
                resolve();
              }
            });
            p.on('exit', (code) => {
              clearTimeout(t);
              reject(new Error(`server on ${b.name} exited (${code}): ${err}`));
            });
          }),
      ),
    );
  } catch (e) {
    stop();
    throw e;
  }
  return { procs, stop };
}

/**
 * The agent's HTTP server (answering `name`) on `httpPort` and its UDP echo on `udpIp:udpPort`, in
 * namespace `ns`; resolves once it listens. The caller kills it.
 */
export function serveIn(
  ns: string,
  name: string,
  o: { httpPort: number; udpIp: string; udpPort: number },
): Promise<ChildProcess> {
  const args = ['netns', 'exec', ns, process.execPath, AGENT, 'serve', '--name', name];
  args.push('--http-port', String(o.httpPort), '--vip', o.udpIp, '--udp-port', String(o.udpPort));
  const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    createInterface({ input: p.stdout! }).on('line', (l) => {
      if (l.trim() === 'READY') resolve(p);
    });
    p.on('exit', (code) => reject(new Error(`server ${name} exited (${code}): ${err}`)));
  });
}

export type ClientKind = 'http' | 'download' | 'keepalive' | 'udp-one' | 'udp-many';

function agentArgs(nsName: string, kind: ClientKind, opts: Record<string, string | number>): string[] {
  const args = ['netns', 'exec', nsName, process.execPath, AGENT, kind];
  for (const [k, v] of Object.entries(opts)) args.push(`--${k}`, String(v));
  return args;
}

function parseResult(stdout: string): ClientResult | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const j = JSON.parse(line) as { result?: ClientResult };
      if (j.result) return j.result;
    } catch {}
  }
  return undefined;
}

/** Runs one client to completion inside `nsName`. Killed after `deadline-ms` + 10 s. */
export async function client(
  nsName: string,
  kind: ClientKind,
  opts: Record<string, string | number> = {},
): Promise<ClientResult> {
  const deadline = Number(opts['deadline-ms'] ?? 60_000);
  const r = await run('ip', agentArgs(nsName, kind, { ...opts, 'deadline-ms': deadline }), {
    timeoutMs: deadline + 10_000,
  });
  const res = parseResult(r.stdout);
  if (r.code !== 0 || !res)
    throw new Error(`${kind} client in ${nsName} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return res;
}

export interface Streaming {
  /** Resolves with the final result. */
  done: Promise<ClientResult>;
  kill(): void;
}

/** Runs a client with progress lines delivered to `onProgress` while it runs. */
export function clientStreaming(
  nsName: string,
  kind: ClientKind,
  opts: Record<string, string | number>,
  onProgress: (r: ClientResult) => void,
): Streaming {
  const deadline = Number(opts['deadline-ms'] ?? 60_000);
  const p = spawn('ip', agentArgs(nsName, kind, { 'progress-ms': 200, ...opts, 'deadline-ms': deadline }), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => p.kill('SIGKILL'), deadline + 10_000);
  let stderr = '';
  p.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let final: ClientResult | undefined;
  createInterface({ input: p.stdout! }).on('line', (line) => {
    try {
      const j = JSON.parse(line) as { progress?: ClientResult; result?: ClientResult };
      if (j.progress) onProgress(j.progress);
      if (j.result) {
        final = j.result;
        onProgress(j.result);
      }
    } catch {}
  });
  const done = new Promise<ClientResult>((resolve, reject) => {
    p.on('close', (code) => {
      clearTimeout(killer);
      if (final) resolve(final);
      else reject(new Error(`${kind} client in ${nsName} failed (exit ${code}): ${stderr.trim()}`));
    });
  });
  // A caller that kills the client after a failed assertion does not await `done`: not an unhandled rejection.
  done.catch(() => {});
  return { done, kill: () => p.kill('SIGKILL') };
}

export interface PingResult {
  sent: number;
  received: number;
}

/** `ping -c count` (`ping -6` for an IPv6 address) to the VIP from a client namespace. */
export async function ping(nsName: string, target: string, count = 5): Promise<PingResult> {
  const family = target.includes(':') ? ['-6'] : [];
  const r = await run(
    'ip',
    ['netns', 'exec', nsName, 'ping', ...family, '-n', '-c', String(count), '-i', '0.2', '-W', '2', target],
    {
      timeoutMs: count * 2000 + 5000,
    },
  );
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping from ${nsName} produced no summary: ${r.stdout}${r.stderr}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

/** Names of the backends that answered, sorted. */
export function reached(r: ClientResult): string[] {
  return Object.keys(r.counts).sort();
}

/** Adds up per-backend counts of several results. */
export function mergeCounts(...rs: ClientResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}
