// The REST client of the churn scenario (testkit/churn.ts) and its handle on the host side. It runs inside
// the balancer's namespace because the daemon listens on that namespace's loopback, which the host process
// cannot reach (Node cannot setns):
//   node churn-agents.js drive URL      a REST client (fetch, as lbdsrctl) reading one JSON job a line on
//                                       stdin and answering one JSON line with timings.
// The scenario's frame stream is the testkit's one generator, afgen.ts.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineChild } from './exec.js';

const SELF = fileURLToPath(import.meta.url);
const poolPath = (instance: string) => `/polycube/v1/lbdsr/${instance}/backend/pool/`;

export interface PoolEntry {
  id: number;
  mac: string;
}

// ---- the REST driver (child, balancer namespace) ---------------------------------------------------

type Job =
  | { op: 'request'; method: string; path: string; body?: unknown }
  | { op: 'churn'; instance: string; targets: PoolEntry[]; cycles: number };

interface Answer {
  status: number;
  ms: number;
  /** The metrics of the answer's Server-Timing header (`live`: request arrival to change live), ms. */
  timing: Record<string, number>;
  body: unknown;
}

/** The durations of a Server-Timing header (`plan;dur=1.2, live;dur=3.4`) by metric name. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const [metric, ...params] = part.trim().split(';');
    const dur = params.find((p) => p.trim().startsWith('dur='));
    if (metric && dur !== undefined) out[metric] = Number(dur.trim().slice(4));
  }
  return out;
}

async function timedRequest(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(60_000) };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  const ms = performance.now() - t0;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return {
    status: res.status,
    ms,
    timing: parseServerTiming(res.headers.get('server-timing')),
    body: parsed,
  };
}

async function drive(base: string): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    const job = JSON.parse(line) as Job;
    let out: unknown;
    try {
      if (job.op === 'request') {
        out = await timedRequest(base, job.method, job.path, job.body);
      } else {
        const ms: number[] = [];
        const timings: Record<string, number>[] = [];
        const statuses: number[] = [];
        for (let c = 0; c < job.cycles; c++) {
          const target = job.targets[c % job.targets.length];
          if (!target) throw new Error('churn needs at least one target');
          const path = `${poolPath(job.instance)}${target.id}/`;
          const del = await timedRequest(base, 'DELETE', path);
          const add = await timedRequest(base, 'POST', path, { mac: target.mac });
          ms.push(del.ms, add.ms);
          timings.push(del.timing, add.timing);
          statuses.push(del.status, add.status);
          if (del.status >= 300 || add.status >= 300) {
            out = { ms, timings, statuses, error: JSON.stringify(del.status >= 300 ? del.body : add.body) };
            break;
          }
        }
        out ??= { ms, timings, statuses };
      }
    } catch (e) {
      out = { error: (e as Error).message };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

export interface ChurnRun {
  /** Per request (DELETE, POST, DELETE, ...), request sent to answer read, ms. */
  ms: number[];
  /**
   * Per request, the metrics of the answer's Server-Timing header (docs/api.md), ms: `live` is the
   * daemon's own figure from the request's arrival to the change being live in the data plane.
   */
  timings: Record<string, number>[];
  statuses: number[];
  error?: string;
}

/** Untimed remove/re-add cycles run first: the daemon's code paths for this pool size get compiled. */
export const WARMUP_CYCLES = 3;

/** The REST client inside the balancer namespace. */
export class Driver {
  private readonly child: LineChild;

  constructor(ns: string, url: string) {
    this.child = new LineChild(ns, [process.execPath, SELF, 'drive', url]);
  }

  async request(method: string, path: string, body?: unknown): Promise<Answer> {
    this.child.send(JSON.stringify({ op: 'request', method, path, body }));
    const a = await this.child.next<Answer & { error?: string }>(90_000);
    if (a.error) throw new Error(`${method} ${path}: ${a.error}`);
    return a;
  }

  /** Like `request`, throws unless the answer is 2xx. */
  async must(method: string, path: string, body?: unknown): Promise<Answer> {
    const a = await this.request(method, path, body);
    if (a.status >= 300) throw new Error(`${method} ${path} -> ${a.status}: ${JSON.stringify(a.body)}`);
    return a;
  }

  /**
   * `cycles` times: DELETE a backend, then POST it back with its MAC, one request at a time; cycle c
   * churns `targets[c % targets.length]`.
   */
  async churn(targets: PoolEntry[], cycles: number, instance = 'lb1'): Promise<ChurnRun> {
    this.child.send(JSON.stringify({ op: 'churn', instance, targets, cycles }));
    return this.child.next<ChurnRun>(cycles * 2 * 30_000 + 10_000);
  }

  /** `churn` for WARMUP_CYCLES, untimed; throws unless every answer is 2xx. */
  async warmUp(targets: PoolEntry[], instance = 'lb1'): Promise<void> {
    const r = await this.churn(targets, WARMUP_CYCLES, instance);
    if (r.error || r.statuses.some((st) => st >= 300)) throw new Error(`warm-up failed: ${r.error}`);
  }

  close(): void {
    this.child.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv[2] === 'drive') await drive(process.argv[3] ?? 'http://127.0.0.1:9000');
}
