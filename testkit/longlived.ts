// The long-lived connection kit (issue 12's tests 1 and 2), host side: echo servers on the backends, a
// client namespace holding N TCP connections to VIP:port that each send a short line every 100 ms and
// check each echo, and optionally a second client opening new connections at a fixed rate. The test
// marks its phases (`mark('stop node 2')`); at the end `stop()` returns per-phase failures (long-lived
// connections lost, new connections failed) and the failed connections with the server each one was on.
// A connection fails on a reset, a close, no echo within 2 s, or an echo from another server (a
// connection moved to another server is reset by it, so that shows as a reset first). The namespace side
// is testkit/longlived-agent.ts, run through agent.ts; failures carry the wall-clock time they happened,
// which this process shares, so a failure counts in the phase it happened in even when reported later.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ConnectionState, LongLivedProgress, NewConnection } from './longlived-agent.js';
import { mustWaitFor } from './timing.js';
import { AGENT } from './traffic.js';

export type { ConnectionState, LongLivedProgress, NewConnection } from './longlived-agent.js';

export const ECHO_PORT = 9100;

/** Children of live kits, killed if this process exits without stopping them. */
const children = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function agent(ns: string, cmd: string, opts: Record<string, string | number>) {
  const args = ['netns', 'exec', ns, process.execPath, AGENT, cmd];
  for (const [k, v] of Object.entries(opts)) args.push(`--${k}`, String(v));
  const p = spawn('ip', args, { stdio: 'pipe' });
  children.add(p);
  p.on('exit', () => children.delete(p));
  p.stdin.on('error', () => {});
  let stderr = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return { p, stderr: () => stderr };
}

// ---- echo servers ------------------------------------------------------------------------------------

export interface EchoServers {
  /** Kills the echo server named `name` (SIGKILL: its connections are reset or closed by its kernel). */
  kill(name: string): void;
  stop(): void;
}

/** Starts an echo server (0.0.0.0:port, answering with its name) in each namespace; waits until ready. */
export async function startEchoServers(
  servers: ReadonlyArray<{ name: string; ns: string }>,
  port = ECHO_PORT,
  timeoutMs = 10_000,
): Promise<EchoServers> {
  const procs = new Map<string, ChildProcessWithoutNullStreams>();
  const stop = () => {
    for (const p of procs.values()) if (p.exitCode === null) p.kill('SIGKILL');
  };
  try {
    await Promise.all(
      servers.map(({ name, ns }) => {
        const { p, stderr } = agent(ns, 'echo-serve', { name, port });
        procs.set(name, p);
        return new Promise<void>((resolve, reject) => {
          const t = setTimeout(
            () => reject(new Error(`echo server ${name} not ready: ${stderr()}`)),
            timeoutMs,
          );
          createInterface({ input: p.stdout }).on('line', (l) => {
            if (l.trim() !== 'READY') return;
            clearTimeout(t);
            resolve();
          });
          p.on('exit', (code) => {
            clearTimeout(t);
            reject(new Error(`echo server ${name} exited (${code}): ${stderr()}`));
          });
        });
      }),
    );
  } catch (e) {
    stop();
    throw e;
  }
  return { kill: (name) => procs.get(name)?.kill('SIGKILL'), stop };
}

// ---- the clients ------------------------------------------------------------------------------------

export interface LongLivedOptions {
  /** The client namespace. */
  ns: string;
  /** Where the connections go (round robin), e.g. [VIP]. */
  hosts: string[];
  port?: number;
  /** Long-lived connections (default 200). */
  connections?: number;
  /** Connections being opened at once (default 16). */
  concurrency?: number;
  /** One line per connection every intervalMs (default 100). */
  intervalMs?: number;
  /** No echo for this long fails a connection (default 2000). */
  timeoutMs?: number;
  /** New connections per second during the run (default 0: none). */
  newPerSecond?: number;
  /** Where the new connections go (default: hosts). */
  newHosts?: string[];
  /** Bound on the whole run (default 10 min). */
  maxMs?: number;
}

export interface PhaseReport {
  label: string;
  startedAt: number;
  /** Long-lived connections that failed during the phase. */
  failures: number;
  newSucceeded: number;
  newFailed: number;
}

export interface FailedConnection extends ConnectionState {
  failed: string;
  failedAt: number;
  phase: string;
}

export interface LongLivedReport {
  connections: number;
  /** Connections that never failed. */
  survived: number;
  echoes: number;
  phases: PhaseReport[];
  failed: FailedConnection[];
  /** Connections per server (by the name the echoes carried), failed ones included. */
  byServer: Record<string, number>;
  newSucceeded: number;
  newFailed: number;
  /** The first few distinct reasons new connections failed, with counts. */
  newErrors: Record<string, number>;
}

interface Line {
  progress?: LongLivedProgress;
  opened?: LongLivedProgress;
  fail?: ConnectionState;
  new?: NewConnection;
  result?: { connections: ConnectionState[] } & LongLivedProgress;
}

export class LongLived {
  private readonly marks: Array<{ label: string; at: number }> = [{ label: 'start', at: Date.now() }];
  private readonly news: NewConnection[] = [];
  private last: LongLivedProgress = { t: 0, open: 0, failed: 0, echoes: 0 };
  private opened = false;
  private result: Line['result'];
  private readonly main: ReturnType<typeof agent>;
  private readonly short: ReturnType<typeof agent> | undefined;
  private readonly mainDone: Promise<void>;
  private readonly shortDone: Promise<void>;

  private constructor(private readonly opts: LongLivedOptions) {
    const port = opts.port ?? ECHO_PORT;
    const timeoutMs = opts.timeoutMs ?? 2000;
    const deadline = opts.maxMs ?? 600_000;
    this.main = agent(opts.ns, 'longlived', {
      hosts: opts.hosts.join(','),
      port,
      count: this.count,
      concurrency: opts.concurrency ?? 16,
      'interval-ms': opts.intervalMs ?? 100,
      'timeout-ms': timeoutMs,
      'progress-ms': 1000,
      'deadline-ms': deadline,
    });
    this.mainDone = this.read(this.main.p);
    const rate = opts.newPerSecond ?? 0;
    this.short =
      rate > 0
        ? agent(opts.ns, 'shortconns', {
            hosts: (opts.newHosts ?? opts.hosts).join(','),
            port,
            rate,
            'timeout-ms': timeoutMs,
            'deadline-ms': deadline,
          })
        : undefined;
    this.shortDone = this.short ? this.read(this.short.p) : Promise.resolve();
  }

  private get count(): number {
    return this.opts.connections ?? 200;
  }

  private read(p: ChildProcessWithoutNullStreams): Promise<void> {
    createInterface({ input: p.stdout }).on('line', (l) => {
      let j: Line;
      try {
        j = JSON.parse(l) as Line;
      } catch {
        return;
      }
      if (j.progress) this.last = j.progress;
      if (j.opened) {
        this.last = j.opened;
        this.opened = true;
      }
      if (j.new) this.news.push(j.new);
      if (j.result && 'connections' in j.result) this.result = j.result;
    });
    return new Promise((resolve) => p.on('close', () => resolve()));
  }

  /** Starts the clients and waits (bounded) until every long-lived connection was tried. */
  static async start(opts: LongLivedOptions): Promise<LongLived> {
    const ll = new LongLived(opts);
    try {
      await mustWaitFor(
        `${ll.count} long-lived connections opened (${JSON.stringify(ll.last)}; ${ll.main.stderr()})`,
        () => ll.opened || ll.main.p.exitCode !== null,
        { timeoutMs: 30_000 + ll.count * 50, intervalMs: 50 },
      );
      if (!ll.opened) throw new Error(`long-lived client exited: ${ll.main.stderr()}`);
    } catch (e) {
      ll.kill();
      throw e;
    }
    return ll;
  }

  /** The last progress line (open, failed, echoes, t). */
  progress(): LongLivedProgress {
    return this.last;
  }

  /** Starts a new phase: failures from now on count in `label`. */
  mark(label: string): void {
    this.marks.push({ label, at: Date.now() });
  }

  /** Waits (bounded) until every open connection has had about `n` more echoes (traffic flows). */
  async flowing(n = 5, timeoutMs = 30_000): Promise<void> {
    const from = this.last.echoes;
    const want = from + n * Math.max(1, this.last.open);
    await mustWaitFor(
      `${want - from} echoes (${JSON.stringify(this.last)})`,
      () => this.last.echoes >= want,
      {
        timeoutMs,
        intervalMs: 100,
      },
    );
  }

  private phaseOf(at: number): string {
    let label = this.marks[0]?.label ?? 'start';
    for (const m of this.marks) if (m.at <= at) label = m.label;
    return label;
  }

  /** Stops the clients and returns the report. */
  async stop(): Promise<LongLivedReport> {
    for (const c of [this.main, this.short]) c?.p.stdin.end('stop\n');
    const bounded = (p: Promise<void>) => Promise.race([p, new Promise((r) => setTimeout(r, 15_000))]);
    await Promise.all([bounded(this.mainDone), bounded(this.shortDone)]);
    this.kill();
    const result = this.result;
    if (!result) throw new Error(`the long-lived client gave no result: ${this.main.stderr()}`);
    return this.report(result.connections, result.echoes);
  }

  private report(conns: ConnectionState[], echoes: number): LongLivedReport {
    const phases = this.marks.map((m) => ({
      label: m.label,
      startedAt: m.at,
      failures: 0,
      newSucceeded: 0,
      newFailed: 0,
    }));
    const phase = (at: number) => phases.find((p) => p.label === this.phaseOf(at));
    const failed: FailedConnection[] = [];
    const byServer: Record<string, number> = {};
    for (const c of conns) {
      const s = c.server ?? '(none)';
      byServer[s] = (byServer[s] ?? 0) + 1;
      if (c.failed === undefined) continue;
      const at = c.failedAt ?? 0;
      failed.push({ ...c, failed: c.failed, failedAt: at, phase: this.phaseOf(at) });
      const p = phase(at);
      if (p) p.failures++;
    }
    const newErrors: Record<string, number> = {};
    for (const n of this.news) {
      const p = phase(n.t);
      if (n.ok) {
        if (p) p.newSucceeded++;
        continue;
      }
      if (p) p.newFailed++;
      const why = n.reason ?? '?';
      if (newErrors[why] !== undefined || Object.keys(newErrors).length < 8)
        newErrors[why] = (newErrors[why] ?? 0) + 1;
    }
    return {
      connections: conns.length,
      survived: conns.length - failed.length,
      echoes,
      phases,
      failed,
      byServer,
      newSucceeded: this.news.filter((n) => n.ok).length,
      newFailed: this.news.filter((n) => !n.ok).length,
      newErrors,
    };
  }

  /** Kills the clients (after stop, or on an error path). */
  kill(): void {
    for (const c of [this.main, this.short]) if (c && c.p.exitCode === null) c.p.kill('SIGKILL');
  }
}

/** One line per phase: failures and new connections, for a test's diagnostics and a benchmark's output. */
export function formatReport(r: LongLivedReport): string {
  const lines = r.phases.map(
    (p) => `  ${p.label}: ${p.failures} lost, new ${p.newSucceeded} ok / ${p.newFailed} failed`,
  );
  const reasons: Record<string, number> = {};
  for (const f of r.failed) reasons[f.failed] = (reasons[f.failed] ?? 0) + 1;
  return [
    `${r.survived}/${r.connections} long-lived connections survived, ${r.echoes} echoes, by server ${JSON.stringify(r.byServer)}`,
    ...lines,
    `  failed: ${JSON.stringify(reasons)}; new failed: ${JSON.stringify(r.newErrors)}`,
  ].join('\n');
}
