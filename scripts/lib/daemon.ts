// Runs lbdsrd inside the balancer namespace and lbdsrctl against it (the daemon must see the ports' peer
// interfaces, which live in that namespace; the CLI reaches it on the namespace's loopback).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunResult, run, sleep } from './exec.js';

/** Repository root (this file runs from dist/scripts/lib/). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(REPO, 'bin');
export const LISTEN = '127.0.0.1:9000';

/** Temporary directories of live daemons, removed on exit whatever the exit path. */
const workDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

export interface DaemonOptions {
  ns: string;
  /** Created (and removed by `dispose`) when not given. */
  stateDir?: string;
  listen?: string;
  logLevel?: string;
}

export class Daemon {
  readonly ns: string;
  readonly stateDir: string;
  readonly listen: string;
  readonly logFile: string;
  private readonly workDir: string;
  private readonly logLevel: string;
  private proc: ChildProcess | undefined;

  constructor(opts: DaemonOptions) {
    this.ns = opts.ns;
    this.workDir = mkdtempSync(join(tmpdir(), 'lbdsr-e2e-'));
    workDirs.add(this.workDir);
    this.stateDir = opts.stateDir ?? join(this.workDir, 'state');
    this.listen = opts.listen ?? LISTEN;
    this.logLevel = opts.logLevel ?? 'info';
    this.logFile = join(this.workDir, 'lbdsrd.log');
  }

  get url(): string {
    return `http://${this.listen}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Environment for lbdsrctl: the daemon's URL and bin/ first on PATH (so `lbdsrctl` resolves). */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, LBDSR_URL: this.url, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}` };
  }

  /** Starts lbdsrd and waits (at most `timeoutMs`) until `lbdsrctl lbdsr show` answers. */
  async start(timeoutMs = 15_000): Promise<void> {
    const exe = join(BIN, 'lbdsrd');
    if (!existsSync(exe)) throw new Error(`${exe} does not exist yet (the daemon of issue 3)`);
    const log = openSync(this.logFile, 'a');
    const args = ['netns', 'exec', this.ns, exe, '--listen', this.listen, '--state-dir', this.stateDir];
    args.push('--log-level', this.logLevel);
    // Own process group: `ip netns exec` execs the daemon, and kill(-pid) reaches anything it spawned.
    const p = spawn('ip', args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.proc = p;
    let exited: number | string | null | undefined;
    p.on('exit', (code, sig) => {
      exited = code ?? sig;
    });
    const until = Date.now() + timeoutMs;
    let last: RunResult | undefined;
    while (Date.now() < until) {
      if (exited !== undefined) throw new Error(`lbdsrd exited (${exited}) during start:\n${this.logTail()}`);
      last = await this.ctl('lbdsr', 'show');
      if (last.code === 0) return;
      await sleep(150);
    }
    await this.kill('SIGKILL');
    throw new Error(`lbdsrd did not answer within ${timeoutMs} ms: ${last?.stderr}\n${this.logTail()}`);
  }

  /** Sends `signal` to the daemon's process group and waits (bounded) until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    try {
      process.kill(-p.pid, signal);
    } catch {}
    const t = sleep(timeoutMs).then(() => 'timeout' as const);
    if ((await Promise.race([gone, t])) === 'timeout') {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {}
      await Promise.race([gone, sleep(2000)]);
    }
    this.proc = undefined;
  }

  /** Stops the daemon and removes its temporary directory (state included). */
  async dispose(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.workDir, { recursive: true, force: true });
    workDirs.delete(this.workDir);
  }

  /** `lbdsrctl ARGS...` inside the balancer namespace. */
  ctl(...args: string[]): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.ns, join(BIN, 'lbdsrctl'), ...args], { env: this.env() });
  }

  /** Like `ctl`, throws with the CLI's message when it fails; returns stdout. */
  async mustCtl(...args: string[]): Promise<string> {
    const r = await this.ctl(...args);
    if (r.code !== 0)
      throw new Error(`lbdsrctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A command line run by `sh -c` in the balancer namespace, exactly as a user would type it. */
  shell(commandLine: string): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.ns, 'sh', '-c', commandLine], { env: this.env() });
  }

  /** `lbdsrctl lbdsr NAME show -json`, parsed. */
  async showJson(name = 'lb1'): Promise<InstanceView> {
    const out = await this.mustCtl('lbdsr', name, 'show', '-json');
    return JSON.parse(out) as InstanceView;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
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
