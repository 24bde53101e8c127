// The one launcher of a real lbdsrd for tests, benchmarks and the demo: in the root namespace on a free
// loopback port (control-plane tests), or inside a network namespace (the demo and the e2e suite: the
// daemon must see the ports' peer interfaces, which live there). Readiness, stop and kill are bounded;
// the daemon's log and temporary state directory are removed on every exit path.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type RunResult, run } from './exec.js';
import { BIN, LBDSRCTL, LBDSRD } from './paths.js';
import { sleep, waitFor } from './timing.js';

/** Listen address of a daemon inside a namespace (each namespace has its own loopback). */
export const NS_LISTEN = '127.0.0.1:9000';

/** Process groups and temporary directories of live daemons, killed and removed on exit. */
const groups = new Set<number>();
const workDirs = new Set<string>();
process.on('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface DaemonOptions {
  /** Network namespace to run in; the root namespace when absent. */
  ns?: string;
  /** Created (and removed by `dispose`) when not given. */
  stateDir?: string;
  /** host:port; NS_LISTEN inside a namespace, a free loopback port otherwise. */
  listen?: string;
  logLevel?: string;
  /** More lbdsrd arguments. */
  args?: string[];
}

export class Daemon {
  readonly ns: string | undefined;
  readonly stateDir: string;
  readonly logFile: string;
  private listenAt: string;
  private readonly workDir: string;
  private readonly logLevel: string;
  private readonly args: string[];
  private proc: ChildProcess | undefined;

  constructor(opts: DaemonOptions = {}) {
    this.ns = opts.ns;
    this.workDir = mkdtempSync(join(tmpdir(), 'lbdsr-daemon-'));
    workDirs.add(this.workDir);
    this.stateDir = opts.stateDir ?? join(this.workDir, 'state');
    this.listenAt = opts.listen ?? (opts.ns ? NS_LISTEN : '');
    this.logLevel = opts.logLevel ?? 'info';
    this.args = opts.args ?? [];
    this.logFile = join(this.workDir, 'lbdsrd.log');
  }

  get listen(): string {
    return this.listenAt;
  }

  get url(): string {
    return `http://${this.listenAt}`;
  }

  get port(): number {
    return Number(this.listenAt.split(':').pop());
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Environment for lbdsrctl: the daemon's URL and bin/ first on PATH (so `lbdsrctl` resolves). */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, LBDSR_URL: this.url, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}` };
  }

  /** Starts lbdsrd and waits (at most `timeoutMs`) until it answers. */
  async start(timeoutMs = 15_000): Promise<void> {
    if (this.listenAt === '') this.listenAt = `127.0.0.1:${await freePort()}`;
    const log = openSync(this.logFile, 'a');
    const daemon = [process.execPath, LBDSRD, '--listen', this.listenAt, '--state-dir', this.stateDir];
    daemon.push('--log-level', this.logLevel, ...this.args);
    const [cmd, ...args] = this.ns ? ['ip', 'netns', 'exec', this.ns, ...daemon] : daemon;
    // Own process group: kill(-pid) reaches anything it spawned.
    const p = spawn(cmd ?? 'ip', args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.proc = p;
    const pid = p.pid;
    if (pid !== undefined) groups.add(pid);
    p.once('exit', () => {
      if (pid !== undefined) groups.delete(pid);
    });
    let exited: number | string | null | undefined;
    p.on('exit', (code, sig) => {
      exited = code ?? sig;
    });
    const up = await waitFor(
      async () => {
        if (exited !== undefined)
          throw new Error(`lbdsrd exited (${exited}) during start:\n${this.logTail()}`);
        return this.answers();
      },
      { timeoutMs, intervalMs: 50 },
    );
    if (!up) {
      await this.kill('SIGKILL');
      throw new Error(`lbdsrd did not answer within ${timeoutMs} ms:\n${this.logTail()}`);
    }
  }

  /** Whether the daemon answers its list of instances (HTTP from here, or lbdsrctl inside the namespace). */
  private async answers(): Promise<boolean> {
    if (this.ns) return (await this.ctl('lbdsr', 'show')).code === 0;
    try {
      const r = await fetch(`${this.url}/polycube/v1/lbdsr/`, { signal: AbortSignal.timeout(1000) });
      return r.ok;
    } catch {
      return false;
    }
  }

  /**
   * Sends `signal` to the daemon's process group and waits (bounded, then SIGKILL) until it is gone;
   * returns the exit code (null when killed by a signal or not running).
   */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    const p = this.proc;
    if (!p?.pid) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    const gone = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-(p.pid ?? 0), sig);
      } catch {}
    };
    group(signal);
    const t = sleep(timeoutMs).then(() => 'timeout' as const);
    let code = await Promise.race([gone, t]);
    if (code === 'timeout') {
      group('SIGKILL');
      code = await Promise.race([gone, sleep(2000).then(() => null)]);
    }
    this.proc = undefined;
    return code;
  }

  /** SIGTERM and wait; the exit code. */
  stop(): Promise<number | null> {
    return this.kill('SIGTERM');
  }

  /** SIGKILL (a crash) and wait. */
  async kill9(): Promise<void> {
    await this.kill('SIGKILL');
  }

  /** Stops the daemon and removes its temporary directory (state included when it was created here). */
  async dispose(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.workDir, { recursive: true, force: true });
    workDirs.delete(this.workDir);
  }

  /** `lbdsrctl ARGS...` (inside the daemon's namespace when it has one). */
  ctl(...args: string[]): Promise<RunResult> {
    const ctl = [process.execPath, LBDSRCTL, ...args];
    const [cmd, ...rest] = this.ns ? ['ip', 'netns', 'exec', this.ns, ...ctl] : ctl;
    return run(cmd ?? 'ip', rest, { env: this.env() });
  }

  /** Like `ctl`, throws with the CLI's message when it fails; returns stdout. */
  async mustCtl(...args: string[]): Promise<string> {
    const r = await this.ctl(...args);
    if (r.code !== 0)
      throw new Error(`lbdsrctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A command line run by `sh -c` (in the daemon's namespace), exactly as a user would type it. */
  shell(commandLine: string): Promise<RunResult> {
    const sh = ['sh', '-c', commandLine];
    const [cmd, ...rest] = this.ns ? ['ip', 'netns', 'exec', this.ns, ...sh] : sh;
    return run(cmd ?? 'sh', rest, { env: this.env() });
  }

  /** `lbdsrctl lbdsr NAME show -json`, parsed. */
  async showJson(name = 'lb1'): Promise<InstanceView> {
    const out = await this.mustCtl('lbdsr', name, 'show', '-json');
    return JSON.parse(out) as InstanceView;
  }

  /** The daemon's log so far (stdout and stderr). */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 30): string {
    return this.log().trim().split('\n').slice(-lines).join('\n') || '(no log)';
  }
}

/** Starts a daemon in the root namespace on `port` (a free one when absent) with `stateDir`. */
export async function startDaemon(stateDir: string, port?: number, args: string[] = []): Promise<Daemon> {
  const d = new Daemon({
    stateDir,
    logLevel: 'warn',
    args,
    ...(port === undefined ? {} : { listen: `127.0.0.1:${port}` }),
  });
  try {
    await d.start();
  } catch (e) {
    await d.dispose();
    throw e;
  }
  return d;
}

/** The parts of `lbdsr NAME show -json` the suite and the demo read. */
export interface InstanceView {
  name?: string;
  type?: string;
  plane?: string;
  algorithm?: string;
  ports?: Array<{ name: string; type?: string; peer?: string; status?: string }>;
  frontend?: { vip?: string; mac?: string };
  backend?: { pool?: Array<{ id: number; mac: string }> };
}
