// The test-vector corpus (test/vectors/*.json): its format, a loader, a step iterator that any data
// plane can drive, a runner for the TypeScript Balancer and a checker that compares one step's
// observed result with the expectation. The XDP plane's tests reuse everything here. A frame is
// handed to a plane in a buffer of at least 2048 bytes (an ND reply makes it longer: 86 bytes from a
// 78-byte solicitation), and the output compared is the plane's output length.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ACT_DROP,
  ACT_TX_BACKEND,
  ACTION_NAMES,
  DROP_REASON_NAMES,
  PORT_BACKEND,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import {
  type Algorithm,
  type BackendConfig,
  type BackendObservation,
  DEFAULT_SESSION_SETTINGS,
  type FrontendMode,
  type HealthCheckConfig,
  type InstanceConfig,
  type Observations,
  type ServiceConfig,
  type SessionSettings,
  type StatsSnapshot,
} from '../../src/core/model.js';
import { fromHex, toHex } from '../../src/packet/build.js';
import type { InstancePorts } from '../../src/pipeline/desired.js';
import { referencePortCounts } from './reference.js';

export type VectorAction = 'DROP' | 'TX_FRONTEND' | 'TX_BACKEND' | 'PASS';
/** Which session counter a step moves: exactly one of them, or none. */
export type SessionEffect = 'HIT' | 'MISS' | 'EXPIRED' | 'STALE' | 'UNRECORDED' | 'NONE';

/** What the daemon observed of backends, by `service/id` ('default/2'): MAC by ARP, health. */
export type VectorObservations = Record<string, BackendObservation>;

export interface VectorConfig {
  frontend: { vip?: string; vip6?: string; mac?: string };
  algorithm?: Algorithm;
  backend: { pool: BackendConfig[]; healthcheck?: HealthCheckConfig };
  /** The services besides `default` (docs/semantics.md, "Services"). */
  services?: ServiceConfig[];
  probe_ip?: string;
  observe?: VectorObservations;
  sessions?: {
    capacity?: number;
    timeouts?: Partial<SessionSettings['timeouts']>;
    record_non_syn?: boolean;
  };
  /** The frontend modes (docs/semantics.md, "Frontend modes"); absent: L2, active, no host_pass. */
  mode?: FrontendMode;
  standby?: boolean;
  host_pass?: boolean;
}

export interface VectorExpect {
  action: VectorAction;
  /**
   * Drop reason name (DROP_REASON_NAMES); required when action is DROP. On a PASS: the rule whose drop
   * host_pass turned into a pass (counted FRONTEND_PASS); absent on a PASS of rule 1 / 1a (BACKEND_PASS).
   */
  reason?: string;
  /** Exact output bytes (hex) when transmitted. */
  frame?: string;
  /** Backend id a TX_BACKEND frame must reach. */
  backend?: number;
  /** The backend must equal that of the given earlier step. */
  sameBackendAs?: number;
  /** The backend must not be this id. */
  notBackend?: number;
  /** The session counter this step moves (checked when the plane reports counters). */
  session?: SessionEffect;
  /** The fragment-table counter this step moves (docs/semantics.md, "Fragments"); absent = none. */
  frag?: 'HIT' | 'MISS';
}

export interface VectorReconfigure {
  algorithm?: Algorithm;
  frontend?: { vip?: string; vip6?: string; mac?: string };
  /** Replaces the whole pool. */
  pool?: BackendConfig[];
  addBackends?: BackendConfig[];
  removeBackends?: number[];
  /** null: the backend port MAC becomes unknown. */
  backendPortMac?: string | null;
  sessions?: { timeouts?: Partial<SessionSettings['timeouts']>; record_non_syn?: boolean };
  /** Replace the services, the default pool's health check (null: none), the observations. */
  services?: ServiceConfig[];
  healthcheck?: HealthCheckConfig | null;
  observe?: VectorObservations;
  /** The frontend modes from this step on; the FRONTEND interface's MAC (null: unknown). */
  mode?: FrontendMode;
  standby?: boolean;
  host_pass?: boolean;
  frontendPortMac?: string | null;
}

export interface VectorStep {
  comment: string;
  port: 'FRONTEND' | 'BACKEND';
  /** Clock of this step in ms; absent = the previous step's (the first step defaults to 1000). */
  nowMs?: number;
  frame: string;
  expect: VectorExpect;
  reconfigure?: VectorReconfigure;
}

export interface VectorSession {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  backend: number;
}

export interface Vector {
  name: string;
  description: string;
  /** e.g. 'time' (uses nowMs jumps), 'lru' (depends on exact LRU capacity eviction). */
  tags?: string[];
  config: VectorConfig;
  /** null: the backend port MAC is not known (instance not ready). */
  backendPortMac: string | null;
  /** The FRONTEND interface's MAC (mode ROUTED reads it); absent or null: unknown. */
  frontendPortMac?: string | null;
  /** FRONTEND and BACKEND are one interface (CFG_ONE_ARM); every frame then arrives on FRONTEND. */
  oneArm?: boolean;
  steps: VectorStep[];
  /** Sessions that must exist after the last step (a subset of the table). */
  sessionsAfter?: VectorSession[];
}

export const VECTOR_DIR = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
export const DEFAULT_NOW_MS = 1000;

export function loadVectors(dir = VECTOR_DIR): Vector[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const v = JSON.parse(readFileSync(dir + f, 'utf8')) as Vector;
      if (!v.name || !Array.isArray(v.steps)) throw new Error(`${f}: not a test vector`);
      return v;
    });
}

export function sessionSettings(c: VectorConfig): SessionSettings {
  return {
    capacity: c.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity,
    timeouts: { ...DEFAULT_SESSION_SETTINGS.timeouts, ...c.sessions?.timeouts },
    record_non_syn: c.sessions?.record_non_syn === true,
  };
}

/** The full InstanceConfig a vector's config stands for. */
export function instanceConfig(c: VectorConfig, name = 'vec'): InstanceConfig {
  return {
    name,
    type: 'USERSPACE',
    loglevel: 'INFO',
    algorithm: c.algorithm ?? 'HASH_SESSION',
    ports: [
      { name: 'fe', type: 'FRONTEND' },
      { name: 'be', type: 'BACKEND' },
    ],
    frontend: { ...c.frontend },
    backend: structuredClone(c.backend),
    ...(c.services ? { services: structuredClone(c.services) } : {}),
    ...(c.probe_ip ? { probe_ip: c.probe_ip } : {}),
    sessions: sessionSettings(c),
    ...modesOf(c),
  };
}

/** The frontend-mode fields of a vector's config, as an InstanceConfig holds them. */
function modesOf(c: VectorConfig): Pick<VectorConfig, 'mode' | 'standby' | 'host_pass'> {
  return {
    ...(c.mode === undefined ? {} : { mode: c.mode }),
    ...(c.standby === undefined ? {} : { standby: c.standby }),
    ...(c.host_pass === undefined ? {} : { host_pass: c.host_pass }),
  };
}

/** What a plane is told of a vector's ports: the two MACs and one-arm. */
function portsOf(v: Vector, backendMac: string | null, frontendMac: string | null): InstancePorts {
  return {
    ...(backendMac === null ? {} : { backendMac }),
    ...(frontendMac === null ? {} : { frontendMac }),
    oneArm: v.oneArm === true,
  };
}

/** The Observations a vector's config stands for (undefined: none). */
export function observationsOf(c: VectorConfig): Observations | undefined {
  const o = c.observe;
  if (o === undefined) return undefined;
  return (service, id) => o[`${service}/${id}`];
}

function applyReconfigure(c: VectorConfig, r: VectorReconfigure): VectorConfig {
  let pool = r.pool ? r.pool.map((b) => ({ ...b })) : c.backend.pool.map((b) => ({ ...b }));
  if (r.removeBackends) pool = pool.filter((b) => !r.removeBackends!.includes(b.id));
  if (r.addBackends) pool.push(...r.addBackends.map((b) => ({ ...b })));
  const healthcheck = r.healthcheck === undefined ? c.backend.healthcheck : (r.healthcheck ?? undefined);
  const services = r.services ?? c.services;
  const observe = r.observe ?? c.observe;
  return {
    frontend: { ...c.frontend, ...r.frontend },
    algorithm: r.algorithm ?? c.algorithm ?? 'HASH_SESSION',
    backend: { pool, ...(healthcheck ? { healthcheck } : {}) },
    ...(services ? { services } : {}),
    ...(c.probe_ip ? { probe_ip: c.probe_ip } : {}),
    ...(observe ? { observe } : {}),
    ...modesOf({
      ...c,
      ...(r.mode === undefined ? {} : { mode: r.mode }),
      ...(r.standby === undefined ? {} : { standby: r.standby }),
      ...(r.host_pass === undefined ? {} : { host_pass: r.host_pass }),
    }),
    sessions: {
      ...c.sessions,
      timeouts: { ...c.sessions?.timeouts, ...r.sessions?.timeouts },
      ...(r.sessions?.record_non_syn === undefined ? {} : { record_non_syn: r.sessions.record_non_syn }),
    },
  };
}

export interface PlannedStep {
  index: number;
  comment: string;
  /** PORT_FRONTEND or PORT_BACKEND. */
  port: number;
  nowMs: number;
  inputFrame: Uint8Array;
  expected: VectorExpect;
  /** Set when the configuration changes before this step: apply it first (with its observations). */
  reconfigure?: { config: InstanceConfig; ports: InstancePorts; observe?: Observations };
}

/** The ports a vector starts with. */
export function vectorPorts(v: Vector): InstancePorts {
  return portsOf(v, v.backendPortMac, v.frontendPortMac ?? null);
}

/** The steps of a vector as a plane drives them: the config in effect, the clock and the input frame. */
export function* vectorSteps(v: Vector): Generator<PlannedStep> {
  let cfg = v.config;
  let portMac = v.backendPortMac;
  let fePortMac = v.frontendPortMac ?? null;
  let now = DEFAULT_NOW_MS;
  for (let i = 0; i < v.steps.length; i++) {
    const s = v.steps[i]!;
    let reconfigure: PlannedStep['reconfigure'];
    if (s.reconfigure) {
      cfg = applyReconfigure(cfg, s.reconfigure);
      if (s.reconfigure.backendPortMac !== undefined) portMac = s.reconfigure.backendPortMac;
      if (s.reconfigure.frontendPortMac !== undefined) fePortMac = s.reconfigure.frontendPortMac;
      const observe = observationsOf(cfg);
      reconfigure = {
        config: instanceConfig(cfg, v.name),
        ports: portsOf(v, portMac, fePortMac),
        ...(observe ? { observe } : {}),
      };
    }
    now = s.nowMs ?? now;
    yield {
      index: i,
      comment: s.comment,
      port: s.port === 'BACKEND' ? PORT_BACKEND : PORT_FRONTEND,
      nowMs: now,
      inputFrame: fromHex(s.frame),
      expected: s.expect,
      ...(reconfigure ? { reconfigure } : {}),
    };
  }
}

/** Counter movements of one step (deltas), as far as a plane can report them. */
export interface StepCounters {
  rxPackets: number;
  rxBytes: number;
  /** Drop counters that moved, by reason name. */
  drops: Record<string, number>;
  arpReplies: number;
  /** Neighbor Advertisements sent for an IPv6 VIP (rule 6b). */
  ndReplies: number;
  /** Frames passed to the kernel by rule 1 (BACKEND port) or 1a (one-arm, to the probe MAC). */
  backendPass: number;
  /** FRONTEND frames passed to the host by host_pass (docs/semantics.md, "Frontend modes"). */
  frontendPass: number;
  /** Frames and bytes per port (docs/semantics.md, "State of one instance"). */
  rxBackendPackets: number;
  rxBackendBytes: number;
  txFrontendBytes: number;
  txBackendBytes: number;
  hit: number;
  miss: number;
  expired: number;
  stale: number;
  unrecorded: number;
  fragHit: number;
  fragMiss: number;
  /** Per backend id that moved: packets, bytes, sessions. */
  backends: Record<number, { packets: number; bytes: number; sessions: number }>;
}

export interface StepResult {
  action: string;
  reason?: string;
  /** Output bytes (hex) when transmitted (as many as the plane transmits). */
  frame?: string;
  backend?: number;
  /** Bytes after the longer of `len` and the output in the buffer handed to the plane must be left untouched. */
  touchedBeyondLen?: boolean;
  counters?: StepCounters;
}

/** The part of the Balancer (src/pipeline/balancer.ts) the runner drives. */
export interface BalancerLike {
  configure(config: InstanceConfig, ports: InstancePorts, observe?: Observations): void;
  process(frame: Uint8Array, len: number, port: number, nowMs: number): number;
  readonly lastBackendId: number;
  /** The length of the frame to transmit after process (an ND reply: 86); absent: `len`. */
  readonly outLen?: number;
  stats(): StatsSnapshot;
}

const GUARD = 0xee;
/** Every frame is handed over in a buffer this long (or longer), guard-filled past the frame. */
export const VECTOR_BUFFER_BYTES = 2048;

function countersDelta(before: StatsSnapshot, after: StatsSnapshot): StepCounters {
  const drops: Record<string, number> = {};
  for (const k of Object.keys(after.drops)) {
    const d = (after.drops[k] ?? 0) - (before.drops[k] ?? 0);
    if (d !== 0) drops[k] = d;
  }
  const backends: StepCounters['backends'] = {};
  for (const b of after.backends) {
    const o = before.backends.find((x) => x.id === b.id) ?? { packets: 0, bytes: 0, sessions: 0 };
    const d = { packets: b.packets - o.packets, bytes: b.bytes - o.bytes, sessions: b.sessions - o.sessions };
    if (d.packets || d.bytes || d.sessions) backends[b.id] = d;
  }
  return {
    rxPackets: after.rx.packets - before.rx.packets,
    rxBytes: after.rx.bytes - before.rx.bytes,
    drops,
    arpReplies: after.arpReplies - before.arpReplies,
    ndReplies: (after.ndReplies ?? 0) - (before.ndReplies ?? 0),
    backendPass: (after.backendPass ?? 0) - (before.backendPass ?? 0),
    frontendPass: (after.frontendPass ?? 0) - (before.frontendPass ?? 0),
    rxBackendPackets: (after.rx.backend?.packets ?? 0) - (before.rx.backend?.packets ?? 0),
    rxBackendBytes: (after.rx.backend?.bytes ?? 0) - (before.rx.backend?.bytes ?? 0),
    txFrontendBytes: (after.tx.frontendBytes ?? 0) - (before.tx.frontendBytes ?? 0),
    txBackendBytes: (after.tx.backendBytes ?? 0) - (before.tx.backendBytes ?? 0),
    hit: after.sessions.hit - before.sessions.hit,
    miss: after.sessions.miss - before.sessions.miss,
    expired: after.sessions.expired - before.sessions.expired,
    stale: after.sessions.stale - before.sessions.stale,
    unrecorded: after.sessions.unrecorded - before.sessions.unrecorded,
    fragHit: after.fragments.hit - before.fragments.hit,
    fragMiss: after.fragments.miss - before.fragments.miss,
    backends,
  };
}

/**
 * Runs a vector through a fresh Balancer made by `make(settings)` and returns one result per step.
 * Each frame is copied into a buffer of at least 2048 bytes whose tail is a guard pattern, so writes
 * past the output (the longer of `len` and the Balancer's `outLen`) are detected.
 */
export function runVector(v: Vector, make: (settings: SessionSettings) => BalancerLike): StepResult[] {
  const b = make(sessionSettings(v.config));
  b.configure(instanceConfig(v.config, v.name), vectorPorts(v), observationsOf(v.config));
  const results: StepResult[] = [];
  for (const s of vectorSteps(v)) {
    if (s.reconfigure) b.configure(s.reconfigure.config, s.reconfigure.ports, s.reconfigure.observe);
    const len = s.inputFrame.length;
    const buf = new Uint8Array(Math.max(VECTOR_BUFFER_BYTES, len + 16)).fill(GUARD);
    buf.set(s.inputFrame);
    const before = b.stats();
    const verdict = b.process(buf, len, s.port, s.nowMs);
    const after = b.stats();
    const action = ACTION_NAMES[verdictAction(verdict)] ?? `ACTION_${verdictAction(verdict)}`;
    const r: StepResult = { action, counters: countersDelta(before, after) };
    if (verdictAction(verdict) === ACT_DROP) {
      r.reason = DROP_REASON_NAMES[verdictReason(verdict)] ?? `REASON_${verdictReason(verdict)}`;
    }
    const outLen = verdictAction(verdict) === ACT_DROP ? len : (b.outLen ?? len);
    if (verdictAction(verdict) !== ACT_DROP) r.frame = toHex(buf, 0, outLen);
    if (verdictAction(verdict) === ACT_TX_BACKEND) r.backend = b.lastBackendId;
    r.touchedBeyondLen = buf.subarray(Math.max(len, outLen)).some((x) => x !== GUARD);
    results.push(r);
  }
  return results;
}

const SESSION_FIELDS = ['hit', 'miss', 'expired', 'stale', 'unrecorded'] as const;
const PORT_FIELDS = ['rxBackendPackets', 'rxBackendBytes', 'txFrontendBytes', 'txBackendBytes'] as const;

/** Compares the result of step `i` with its expectation; returns the differences (empty = pass). */
export function checkStep(v: Vector, i: number, r: StepResult, earlier: readonly StepResult[]): string[] {
  const step = v.steps[i]!;
  const e = step.expect;
  const errs: string[] = [];
  const where = `${v.name} step ${i} (${step.comment})`;
  if (r.action !== e.action)
    errs.push(
      `${where}: action ${r.action}${r.reason ? `/${r.reason}` : ''}, expected ${e.action}${e.reason ? `/${e.reason}` : ''}`,
    );
  if (e.action === 'DROP' && r.action === 'DROP' && e.reason !== undefined && r.reason !== e.reason) {
    errs.push(`${where}: drop reason ${r.reason}, expected ${e.reason}`);
  }
  if (e.frame !== undefined && r.action === e.action && r.frame !== e.frame) {
    errs.push(`${where}: output frame\n  got      ${r.frame}\n  expected ${e.frame}`);
  }
  if (e.backend !== undefined && r.backend !== e.backend)
    errs.push(`${where}: backend ${r.backend}, expected ${e.backend}`);
  if (e.sameBackendAs !== undefined) {
    const other = earlier[e.sameBackendAs]?.backend;
    if (r.backend === undefined || r.backend !== other) {
      errs.push(`${where}: backend ${r.backend}, expected the same as step ${e.sameBackendAs} (${other})`);
    }
  }
  if (e.notBackend !== undefined && r.backend === e.notBackend)
    errs.push(`${where}: backend must not be ${e.notBackend}`);
  if (r.touchedBeyondLen) errs.push(`${where}: bytes after the frame length were written`);
  const c = r.counters;
  if (c) {
    const len = step.frame.length / 2;
    if (c.rxPackets !== 1 || c.rxBytes !== len)
      errs.push(`${where}: rx +${c.rxPackets} pkts +${c.rxBytes} bytes, expected +1/+${len}`);
    const dropKeys = Object.keys(c.drops);
    const wantDrops = r.action === 'DROP' && r.reason ? [r.reason] : [];
    if (dropKeys.length !== wantDrops.length || (wantDrops[0] && c.drops[wantDrops[0]] !== 1)) {
      errs.push(
        `${where}: drop counters moved ${JSON.stringify(c.drops)}, expected ${JSON.stringify(wantDrops)} +1`,
      );
    }
    // A TX_FRONTEND is an ARP reply, or a Neighbor Advertisement for an IPv6 solicitation.
    const nd = step.frame.slice(24, 28) === '86dd';
    const wantArp = r.action === 'TX_FRONTEND' && !nd ? 1 : 0;
    const wantNd = r.action === 'TX_FRONTEND' && nd ? 1 : 0;
    if (c.arpReplies !== wantArp) errs.push(`${where}: ARP replies +${c.arpReplies}, expected +${wantArp}`);
    if (c.ndReplies !== wantNd) errs.push(`${where}: ND replies +${c.ndReplies}, expected +${wantNd}`);
    // A PASS is rule 1 / 1a's (BACKEND_PASS) or, when the vector names the rule it spared, host_pass's.
    const hostPass = r.action === 'PASS' && e.reason !== undefined;
    const wantPass = r.action === 'PASS' && !hostPass ? 1 : 0;
    if (c.backendPass !== wantPass)
      errs.push(`${where}: backendPass +${c.backendPass}, expected +${wantPass}`);
    if (c.frontendPass !== (hostPass ? 1 : 0))
      errs.push(`${where}: frontendPass +${c.frontendPass}, expected +${hostPass ? 1 : 0}`);
    const outLen = e.frame === undefined ? len : e.frame.length / 2;
    const ports = referencePortCounts(step.port, r.action, len, outLen);
    for (const f of PORT_FIELDS) {
      if (c[f] !== ports[f]) errs.push(`${where}: ${f} +${c[f]}, expected +${ports[f]}`);
    }
    if (e.session !== undefined) {
      for (const f of SESSION_FIELDS) {
        const want = e.session.toLowerCase() === f ? 1 : 0;
        if (c[f] !== want) errs.push(`${where}: session ${f} +${c[f]}, expected +${want} (${e.session})`);
      }
    }
    const fragWant = { fragHit: e.frag === 'HIT' ? 1 : 0, fragMiss: e.frag === 'MISS' ? 1 : 0 };
    for (const f of ['fragHit', 'fragMiss'] as const) {
      if (c[f] !== fragWant[f])
        errs.push(`${where}: ${f} +${c[f]}, expected +${fragWant[f]} (${e.frag ?? 'none'})`);
    }
    const moved = Object.keys(c.backends).map(Number);
    if (r.action === 'TX_BACKEND' && r.backend !== undefined) {
      const d = c.backends[r.backend];
      if (d?.packets !== 1 || d.bytes !== len)
        errs.push(
          `${where}: backend ${r.backend} counters ${JSON.stringify(d)}, expected +1 packet +${len} bytes`,
        );
      const wantSessions = e.session === 'MISS' || e.session === 'EXPIRED' || e.session === 'STALE' ? 1 : 0;
      if (e.session !== undefined && (d?.sessions ?? 0) !== wantSessions) {
        errs.push(`${where}: backend ${r.backend} sessions +${d?.sessions ?? 0}, expected +${wantSessions}`);
      }
      if (moved.some((id) => id !== r.backend))
        errs.push(`${where}: other backends' counters moved: ${JSON.stringify(c.backends)}`);
    } else if (moved.length > 0) {
      errs.push(`${where}: backend counters moved on a ${r.action}: ${JSON.stringify(c.backends)}`);
    }
  }
  return errs;
}

/** Compares the sessions a plane holds with `sessionsAfter` (every listed one must exist as given). */
export function checkSessions(v: Vector, held: readonly VectorSession[]): string[] {
  const errs: string[] = [];
  for (const want of v.sessionsAfter ?? []) {
    const got = held.find(
      (s) =>
        s.src === want.src &&
        s.dst === want.dst &&
        s.sport === want.sport &&
        s.dport === want.dport &&
        s.proto === want.proto,
    );
    if (!got) errs.push(`${v.name}: session ${JSON.stringify(want)} missing`);
    else if (got.backend !== want.backend)
      errs.push(`${v.name}: session ${JSON.stringify(want)} has backend ${got.backend}`);
  }
  return errs;
}

/** Checks every step of a vector; returns all differences. */
export function checkVector(v: Vector, results: readonly StepResult[]): string[] {
  const errs: string[] = [];
  if (results.length !== v.steps.length)
    errs.push(`${v.name}: ${results.length} results for ${v.steps.length} steps`);
  for (let i = 0; i < results.length; i++) errs.push(...checkStep(v, i, results[i]!, results.slice(0, i)));
  return errs;
}
