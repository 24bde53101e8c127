// Helpers for the control-plane tests: temp state directories, free ports, a real lbdsrd, lbdsrctl runs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/daemon). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const LBDSRD = join(ROOT, 'bin/lbdsrd');
export const LBDSRCTL = join(ROOT, 'bin/lbdsrctl');

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lbdsr-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

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

export interface Daemon {
  proc: ChildProcess;
  url: string;
  port: number;
  stderr: () => string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((res) => proc.once('exit', (code) => res(code)));
}

/** Starts bin/lbdsrd and waits (bounded) until it answers. */
export async function startDaemon(stateDir: string, port?: number, extra: string[] = []): Promise<Daemon> {
  const p = port ?? (await freePort());
  const proc = spawn(
    process.execPath,
    [LBDSRD, '--listen', `127.0.0.1:${p}`, '--state-dir', stateDir, '--log-level', 'warn', ...extra],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.on('data', (c) => {
    err += c;
  });
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`lbdsrd exited with ${proc.exitCode}: ${err}`);
    try {
      const r = await fetch(`${url}/polycube/v1/lbdsr/`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`lbdsrd did not answer within 15 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    url,
    port: p,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited(proc);
      clearTimeout(t);
      return code;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited(proc);
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/lbdsrctl synchronously; `input` becomes stdin (otherwise stdin is /dev/null). */
export function ctl(
  url: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
): CliResult {
  const r = spawnSync(process.execPath, [LBDSRCTL, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, LBDSR_URL: url, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell command line (the seed's commands verbatim), with lbdsrctl on PATH. */
export function sh(url: string, line: string): CliResult {
  const r = spawnSync('bash', ['-c', line], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LBDSR_URL: url, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const isRoot = process.getuid?.() === 0;

/** Skip reason for root-only tests, or undefined; under CI=true a missing root is a failure, not a skip. */
export function needRoot(): string | undefined {
  if (isRoot) return undefined;
  if (process.env.CI === 'true') throw new Error('this test needs root and CI=true forbids skipping');
  return 'needs root to create veth interfaces';
}

export function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}
