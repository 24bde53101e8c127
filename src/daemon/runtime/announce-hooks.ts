// Where the set of reachable VIPs goes (docs/api.md, "VIP announcements"): `--announce-file` is written
// atomically (a temporary file in the same directory, mode 0644, flushed, then renamed over it) with one
// `A.B.C.D/32` (IPv4) or `ADDR/128` (IPv6) per line, sorted (IPv4 first), empty when none; `--announce-command` is run after each change (argv
// split on spaces, no shell) with LBDSR_VIPS and LBDSR_ANNOUNCE_FILE in its environment, one run at a
// time, killed after 10 s. A failed write or run is reported (the daemon's log and event log) and tried
// again after 5 s, with the set of that moment, until it succeeds; a change while a run is under way is
// published when it ends. withdrawAll() publishes the empty set and waits for it (graceful shutdown).
import { spawn } from 'node:child_process';
import { looksIpv6 } from '../../core/addr.js';
import { LbdsrError } from '../../core/errors.js';
import { replaceFile } from '../atomic-file.js';

export interface AnnounceHookOptions {
  file?: string;
  command?: string;
  /** A run of the command taking longer is killed (and failed). Default 10 s. */
  timeoutMs?: number;
  /** A failed write or run is tried again after this long. Default 5 s. */
  retryMs?: number;
}

export const ANNOUNCE_TIMEOUT_MS = 10_000;
export const ANNOUNCE_RETRY_MS = 5_000;

/** What the hooks report: a failure (to log and record) and a success after failures. */
export interface AnnounceReport {
  failed(message: string): void;
  recovered(message: string): void;
}

/** A VIP as a host prefix: `A.B.C.D/32`, `ADDR/128`. */
export function hostPrefix(vip: string): string {
  return `${vip}/${looksIpv6(vip) ? 128 : 32}`;
}

/** The text of the announce file for `vips` (sorted already). */
export function announceText(vips: readonly string[]): string {
  return vips.map((v) => `${hostPrefix(v)}\n`).join('');
}

/** Writes `text` to `path` atomically, mode 0644 whatever the umask (src/daemon/atomic-file.ts). */
export function writeAtomic(path: string, text: string): void {
  replaceFile(path, Buffer.from(text), 0o644);
}

/** The argv of `--announce-command` (split on spaces; empty words dropped). */
export function commandArgv(command: string): string[] {
  return command.split(' ').filter((w) => w !== '');
}

/** Runs `argv` with `env` added; resolves with undefined on exit 0, else with what went wrong. */
function runOnce(
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<string | undefined> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.resolve('the command is empty');
  return new Promise((resolve) => {
    let timedOut = false;
    let out = '';
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.on('data', (c: Buffer) => {
      if (out.length < 2000) out += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.once('error', (e) => {
      clearTimeout(timer);
      resolve(`${cmd}: ${e.message}`);
    });
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      const tail = out.trim().split('\n').slice(-3).join(' | ');
      if (timedOut) resolve(`${cmd} did not finish within ${timeoutMs} ms (killed)`);
      else if (code === 0) resolve(undefined);
      else
        resolve(
          `${cmd} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `: ${tail}` : ''}`,
        );
    });
  });
}

/** The file and the command, fed with every new set of reachable VIPs. */
export class AnnounceHooks {
  private readonly argv: string[] | undefined;
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  /** The set to publish (the latest), and the one published last with success (undefined: none yet). */
  private wanted: string[] = [];
  private done: string | undefined;
  private running: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;

  constructor(
    private readonly opts: AnnounceHookOptions,
    private readonly report: AnnounceReport,
  ) {
    this.argv = opts.command === undefined ? undefined : commandArgv(opts.command);
    this.timeoutMs = opts.timeoutMs ?? ANNOUNCE_TIMEOUT_MS;
    this.retryMs = opts.retryMs ?? ANNOUNCE_RETRY_MS;
  }

  get enabled(): boolean {
    return this.opts.file !== undefined || this.argv !== undefined;
  }

  /**
   * Writes the file now (throws when it cannot: the daemon's start reports it) and runs the command in
   * the background: the first publication, at start.
   */
  start(vips: string[]): void {
    this.wanted = vips;
    const { file } = this.opts;
    if (file !== undefined) {
      try {
        writeAtomic(file, announceText(vips));
      } catch (e) {
        throw new LbdsrError(
          'LBDSR_BAD_VALUE',
          `cannot write the announce file ${file}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    this.kick(true);
  }

  /** A new set of reachable VIPs (sorted): published unless it is the one published last. */
  publish(vips: string[]): void {
    this.wanted = vips;
    this.kick(false);
  }

  private kick(force: boolean): void {
    if (this.closed || !this.enabled) return;
    if (!force && this.done === this.wanted.join(' ')) return;
    if (this.running) return; // the run under way publishes the latest set when it ends
    if (this.retry) return; // a failure waits for its retry, which takes the latest set
    this.running = this.cycle().finally(() => {
      this.running = undefined;
    });
  }

  /** Publishes the wanted set until what was published is the latest (or a failure waits to retry). */
  private async cycle(): Promise<void> {
    for (;;) {
      const vips = this.wanted;
      const key = vips.join(' ');
      const err = await this.once(vips);
      if (err !== undefined) {
        this.failing = true;
        this.report.failed(err);
        if (!this.closed) {
          this.retry = setTimeout(() => {
            this.retry = undefined;
            this.kick(true);
          }, this.retryMs);
          this.retry.unref();
        }
        return;
      }
      this.done = key;
      if (this.failing) {
        this.failing = false;
        this.report.recovered(`announced ${key === '' ? 'no VIP' : key}`);
      }
      if (this.closed || this.wanted.join(' ') === key) return;
    }
  }

  /** Writes the file and runs the command for `vips`; what went wrong, or undefined. */
  private async once(vips: string[]): Promise<string | undefined> {
    const { file } = this.opts;
    if (file !== undefined) {
      try {
        writeAtomic(file, announceText(vips));
      } catch (e) {
        return `writing the announce file ${file}: ${(e as Error).message}`;
      }
    }
    if (!this.argv) return undefined;
    const env = {
      LBDSR_VIPS: vips.map(hostPrefix).join(' '),
      LBDSR_ANNOUNCE_FILE: file ?? '',
    };
    const err = await runOnce(this.argv, env, this.timeoutMs);
    return err === undefined ? undefined : `announce command: ${err}`;
  }

  /** Withdraws every VIP (empty file, the command run) and waits for it; no retry after that. */
  async withdrawAll(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.running;
    if (!this.enabled) return;
    const err = await this.once([]);
    if (err !== undefined) this.report.failed(err);
  }

  /** Stops retrying (nothing is withdrawn). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
  }
}
