// Helpers for the control-plane tests: temp state directories, lbdsrctl runs (synchronous, for exact
// exit codes and output). The daemon launcher, free ports and the root check are the testkit's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Requests under /polycube/v1/lbdsr through inject() on the app `app()` gives, whose state is in
 * `stateDir`: `call` answers status and parsed body; `rejects` asserts that a request fails with
 * `status`/`code` (and a message matching `mentions`) and changes neither the API state nor config.json.
 */
export function restCaller(app: () => FastifyInstance, stateDir: () => string) {
  const call = async (method: RestMethod, path: string, body?: unknown, contentType?: string) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = contentType ?? 'application/json';
    const r = await app().inject({ method, url: `/polycube/v1/lbdsr${path}`, payload, headers });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };
  const configFile = () => readFileSync(join(stateDir(), 'config.json'), 'utf8');
  const rejects = async (
    method: RestMethod,
    path: string,
    body: unknown,
    status: number,
    code: string,
    mentions?: RegExp,
  ) => {
    const before = (await call('GET', '/')).body;
    const file = existsSync(join(stateDir(), 'config.json')) ? configFile() : '';
    const r = await call(method, path, body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, code, r.body.message);
    assert.equal(typeof r.body.message, 'string');
    if (mentions) assert.match(r.body.message, mentions);
    assert.deepEqual((await call('GET', '/')).body, before, 'the failed request changed the state');
    if (file) assert.equal(configFile(), file, 'the failed request changed config.json');
    return r.body;
  };
  return { call, rejects, configFile };
}
