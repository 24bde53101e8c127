// Helpers for the control-plane tests: temp state directories, lbdsrctl runs (synchronous, for exact
// exit codes and output). The daemon launcher, free ports and the root check are the testkit's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { PlaneType } from '../../src/core/model.js';
import { buildApp } from '../../src/daemon/app.js';
import type { DataPlane } from '../../src/dataplane/types.js';
import { ipSync } from '../../testkit/exec.js';
import { BIN, LBDSRCTL, REPO } from '../../testkit/paths.js';
import { rootSkip } from '../../testkit/root.js';

export { type Daemon, freePort, startDaemon } from '../../testkit/daemon.js';
export { LBDSRCTL, LBDSRD } from '../../testkit/paths.js';

/** The repository root. */
export const ROOT = resolve(REPO);

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lbdsr-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
    env: { ...process.env, LBDSR_URL: url, PATH: `${BIN}:${process.env.PATH}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Skip reason for root-only tests, or undefined; under CI=true a missing root is a failure, not a skip. */
export function needRoot(): string | undefined {
  return rootSkip('this test (veth interfaces)');
}

/** `ip ARGS` synchronously; throws with ip's message on failure. */
export function ip(args: string[]): void {
  ipSync(...args);
}

/**
 * A daemon app (inject only, no interface watch) whose data planes come from `create`: the tests that
 * check what the daemon hands its planes. The automatic choice answers USERSPACE.
 */
export function appWithPlanes(
  stateDir: string,
  create: (kind: PlaneType) => Promise<DataPlane>,
  opts: { planeTimeoutMs?: number } = {},
): Promise<FastifyInstance> {
  return buildApp({
    stateDir,
    logLevel: 'silent',
    watchMs: 0,
    ...opts,
    planes: { create, detect: async () => 'USERSPACE' },
  });
}
