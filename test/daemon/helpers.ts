// Helpers for the control-plane tests: temp state directories, lbdsrctl runs (synchronous, for exact
// exit codes and output). The daemon launcher, free ports and the root check are the testkit's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_SESSION_SETTINGS,
  type PlaneType,
  type ResolvedPorts,
  type SessionEntry,
} from '../../src/core/model.js';
import { buildApp } from '../../src/daemon/app.js';
import { zeroStats } from '../../src/daemon/planes.js';
import type { DataPlane, PortPeers } from '../../src/dataplane/types.js';
import { getNetDev, type NetDev } from '../../src/kernel/netdev.js';
import type { Plan } from '../../src/pipeline/plan.js';
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
 * Interfaces that only the daemons of appWithPlanes see (its planes stand in for the real ones and
 * attach nothing): `fake0`, `fake1`, ... with MAC 02:fa:4e:00:00:0N. `lo` cannot stand in: the daemon
 * refuses it as a peer.
 */
export function fakeNetDev(name: string): NetDev | undefined {
  const m = /^fake(\d)$/.exec(name);
  if (!m) return getNetDev(name);
  const n = Number(m[1]);
  return { name, ifindex: 9000 + n, mac: `02:fa:4e:00:00:0${n}`, up: true };
}

/**
 * A daemon app (inject only, no interface watch) whose data planes come from `create`: the tests that
 * check what the daemon hands its planes. The automatic choice answers USERSPACE; interfaces are
 * fakeNetDev's unless `netdev` is given.
 */
export function appWithPlanes(
  stateDir: string,
  create: (kind: PlaneType) => Promise<DataPlane>,
  opts: { planeTimeoutMs?: number; netdev?: (name: string) => NetDev | undefined; watchMs?: number } = {},
): Promise<FastifyInstance> {
  return buildApp({
    stateDir,
    logLevel: 'silent',
    watchMs: 0,
    netdev: fakeNetDev,
    ...opts,
    planes: { create, detect: async () => 'USERSPACE' },
  });
}

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Requests under /polycube/v1/lbdsr through inject() on the app `app()` gives, whose state is in
 * `stateDir`: `call` answers status and parsed body; `ok` asserts that a request succeeds; `rejects` asserts that a request fails with
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
  /** The request succeeds (200 or 201): its body. */
  const ok = async (method: RestMethod, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return { call, ok, rejects, configFile };
}

/**
 * A data plane that records what the daemon hands it (plans, ports, peers) and refuses the plans
 * `refuse` picks: it stands in for the real planes where a test checks the daemon's side, since no real
 * plane can be made to fail on cue. Its stats show rx.packets 42 and one session.
 */
export class RecordingPlane implements DataPlane {
  applied: Plan[] = [];
  /** The ports and peers of each apply, in order. */
  ports: ResolvedPorts[] = [];
  peers: PortPeers[] = [];
  closed: Array<{ keep?: boolean } | undefined> = [];
  constructor(
    readonly kind: PlaneType,
    private readonly refuse: (p: Plan) => boolean = () => false,
  ) {}
  async apply(plan: Plan, ports: ResolvedPorts, peers: PortPeers = {}): Promise<void> {
    if (this.refuse(plan)) throw new Error('refused on purpose');
    this.applied.push(structuredClone(plan));
    this.ports.push(structuredClone(ports));
    this.peers.push({ ...peers });
  }
  async stats() {
    const s = zeroStats({
      name: 'x',
      loglevel: 'INFO',
      algorithm: 'HASH_SESSION',
      ports: [],
      frontend: {},
      backend: { pool: [] },
      sessions: DEFAULT_SESSION_SETTINGS,
    });
    s.rx.packets = 42;
    return s;
  }
  async sessions(): Promise<SessionEntry[]> {
    return [
      {
        src: '10.0.0.1',
        dst: '10.0.0.100',
        sport: 1,
        dport: 80,
        proto: 'TCP' as const,
        backend: 1,
        idleMs: 5,
      },
    ];
  }
  async close(opts?: { keep?: boolean }) {
    this.closed.push(opts);
  }
}

/**
 * lbdsrctl against the daemon at `url()`: `ok` runs a command that must succeed (its stdout), `fails`
 * one that must exit with `code` and say `mentions` on stderr.
 */
export function cliCaller(url: () => string) {
  const ok = (...args: string[]) => {
    const r = ctl(url(), args);
    assert.equal(r.code, 0, `lbdsrctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = (code: number, mentions: RegExp, ...args: string[]) => {
    const r = ctl(url(), args);
    assert.equal(r.code, code, `lbdsrctl ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, mentions);
  };
  return { ok, fails };
}
