// Process helpers of the testkit (used by test/, bench/ and the demo): run a program to completion,
// async or sync, and talk to a line-oriented child in a namespace (one JSON line in, one JSON line out),
// always bounded by a timeout; nothing here waits forever.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** Runs a program to completion (killed after `timeoutMs`, default 20 s) and returns its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[timed out after ${timeoutMs} ms]`;
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like `run`, but throws a readable error when the program fails. */
export async function must(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return r.stdout;
}

/** Synchronous variant for exit handlers (which cannot wait for promises). */
export function runSync(cmd: string, args: readonly string[], timeoutMs = 10_000): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * `ip ARGS...` run synchronously; returns stdout, throws (with ip's message) on failure. For setup code
 * that must not interleave with anything else (and for exit paths, which cannot wait for promises).
 */
export function ipSync(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** A command inside a network namespace, synchronously (see ipSync). */
export function nsExec(ns: string, ...cmd: string[]): string {
  return ipSync('netns', 'exec', ns, ...cmd);
}

/**
 * A child program inside network namespace `ns` (`ip netns exec NS ARGV...`) that reads lines on stdin
 * and answers JSON lines on stdout; its stderr is kept for error messages.
 */
export class LineChild {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(
    ns: string,
    private readonly argv: readonly string[],
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.child.stdin.on('error', () => {});
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The next output line, parsed; throws after `timeoutMs` or when the child ended. */
  async next<T>(timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<IteratorResult<string>>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: undefined }), timeoutMs);
    });
    const r = await Promise.race([this.lines.next(), limit]).finally(() => clearTimeout(timer));
    if (r.done)
      throw new Error(`${this.argv.slice(1).join(' ')}: no answer within ${timeoutMs} ms: ${this.stderr}`);
    return JSON.parse(r.value) as T;
  }

  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
