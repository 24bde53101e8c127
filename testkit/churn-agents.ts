// The two child programs of the churn scenario (scripts/lib/churn.ts) and their handles on the host side.
// They run inside namespaces because the daemon listens on the balancer namespace's loopback, which the
// host process cannot reach (Node cannot setns), and the frames must leave from a client's interface:
//   node churn-agents.js drive URL      in the balancer ns: a REST client (fetch, as lbdsrctl) reading one
//                                       JSON job a line on stdin and answering one JSON line with timings;
//   node churn-agents.js gen IFINDEX    in a client ns: an AF_PACKET TX-ring generator of UDP frames to the
//                                       VIP, one flow per ring slot, paced at a fixed rate, bounded in count
//                                       and time, stopped on request; it reports the frames the kernel took.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  PacketSocket,
  RingArena,
  TP_STATUS_AVAILABLE,
  TP_STATUS_SEND_REQUEST,
  TP2_LEN,
  TP2_TX_DATA,
} from '../src/kernel/afpacket.js';
import * as libc from '../src/kernel/libc.js';
import { ETH_P_IPV4, ethernet, ipv4, padTo, udp } from '../src/packet/build.js';
import { must } from './exec.js';

const SELF = fileURLToPath(import.meta.url);
const poolPath = (instance: string) => `/polycube/v1/lbdsr/${instance}/backend/pool/`;

export interface PoolEntry {
  id: number;
  mac: string;
}

/** Distinct flows of a stream: one per TX ring slot (source ports 1024..9215). */
export const STREAM_FLOWS = 8192;

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

/** A line-oriented child process: one JSON line in, one JSON line out. */
class LineChild {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(ns: string, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, SELF, ...args], { stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
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
    if (r.done) throw new Error(`${SELF} ${this.what()}: no answer within ${timeoutMs} ms: ${this.stderr}`);
    return JSON.parse(r.value) as T;
  }

  private what(): string {
    return String(this.child.spawnargs.slice(5).join(' '));
  }

  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
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
    this.child = new LineChild(ns, ['drive', url]);
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

// ---- the frame generator (child, client namespace) --------------------------------------------------

export interface StreamSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  vip: string;
  /** Frames per second. */
  rate: number;
  /** At most this many frames. */
  maxFrames: number;
  /** At most this long, ms. */
  maxMs: number;
}

const RING_FRAMES = STREAM_FLOWS;
const SLOT = 128;

async function generate(ifindex: number, spec: StreamSpec): Promise<void> {
  const tx = { frames: RING_FRAMES, frameSize: SLOT, blockSize: 4096 };
  const bytes = PacketSocket.mapBytes({ tx });
  const arena = new RingArena(bytes);
  const off = arena.carve(bytes);
  const sock = PacketSocket.open(
    { ifindex, receive: false, tx, qdiscBypass: true, label: 'churn generator' },
    arena.addr(off),
  );
  for (let i = 0; i < RING_FRAMES; i++) {
    const seg = udp({
      sport: 1024 + i,
      dport: 7000,
      payload: new Uint8Array(18),
      pseudo: { src: spec.srcIp, dst: spec.vip },
    });
    const payload = ipv4({ src: spec.srcIp, dst: spec.vip, proto: 17, payload: seg });
    const f = padTo(ethernet({ dst: spec.dstMac, src: spec.srcMac, type: ETH_P_IPV4, payload }));
    arena.u8.set(f, off + i * SLOT + TP2_TX_DATA);
    arena.dv.setUint32(off + i * SLOT + TP2_LEN, f.length, true);
  }
  let stop = false;
  const input = createInterface({ input: process.stdin });
  const started = new Promise<void>((resolve) => {
    input.on('line', (l) => {
      if (l.trim() === 'start') resolve();
      if (l.trim() === 'stop') stop = true;
    });
    input.on('close', () => {
      stop = true;
      resolve();
    });
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await started;
  const i32 = arena.i32;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let idx = 0;
  let sent = 0;
  const t0 = performance.now();
  let lastYield = t0;
  for (let now = t0; !stop && sent < spec.maxFrames && now - t0 < spec.maxMs; now = performance.now()) {
    const due = Math.min(spec.maxFrames, Math.floor(((now - t0) * spec.rate) / 1000));
    let queued = 0;
    while (sent < due && queued < 256) {
      const s = (off + idx * SLOT) >> 2;
      if (Atomics.load(i32, s) !== TP_STATUS_AVAILABLE) break; // ring full: retried on the next turn
      Atomics.store(i32, s, TP_STATUS_SEND_REQUEST);
      idx = (idx + 1) % RING_FRAMES;
      sent++;
      queued++;
    }
    if (queued > 0) libc.kick(sock.fd, libc.MSG_DONTWAIT);
    else Atomics.wait(nap, 0, 0, 0.2);
    if (now - lastYield > 5) {
      await new Promise((r) => setImmediate(r)); // lets a `stop` line in
      lastYield = now;
    }
  }
  const elapsedMs = performance.now() - t0;
  // Wait (bounded) until the kernel took every queued slot, so `sent` frames really left.
  const until = Date.now() + 5000;
  for (let k = 0; k < RING_FRAMES && Date.now() < until; ) {
    if (Atomics.load(i32, (off + k * SLOT) >> 2) === TP_STATUS_AVAILABLE) k++;
    else {
      libc.kick(sock.fd, libc.MSG_DONTWAIT);
      Atomics.wait(nap, 0, 0, 1);
    }
  }
  sock.close();
  arena.free();
  process.stdout.write(`${JSON.stringify({ sent, elapsedMs })}\n`);
}

/** A running frame stream; `stop()` ends it early and resolves with what was sent. */
export class FrameStream {
  private readonly child: LineChild;
  private readonly spec: StreamSpec;

  private constructor(child: LineChild, spec: StreamSpec) {
    this.child = child;
    this.spec = spec;
  }

  /** Starts the generator on `ifname` in `ns` and waits until its ring is ready (it does not send yet). */
  static async open(ns: string, ifname: string, spec: StreamSpec): Promise<FrameStream> {
    const ifindex = Number(
      (await must('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/ifindex`])).trim(),
    );
    const child = new LineChild(ns, ['gen', String(ifindex), JSON.stringify(spec)]);
    try {
      await child.next<{ ready: boolean }>(15_000);
    } catch (e) {
      child.close();
      throw e;
    }
    return new FrameStream(child, spec);
  }

  start(): void {
    this.child.send('start');
  }

  /** Ends the stream (if still running) and returns the count of frames the kernel took. */
  async stop(): Promise<{ sent: number; elapsedMs: number }> {
    this.child.send('stop');
    try {
      return await this.child.next<{ sent: number; elapsedMs: number }>(this.spec.maxMs + 15_000);
    } finally {
      this.child.close();
    }
  }

  close(): void {
    this.child.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv[2] === 'drive') await drive(process.argv[3] ?? 'http://127.0.0.1:9000');
  else if (process.argv[2] === 'gen')
    await generate(Number(process.argv[3]), JSON.parse(process.argv[4] ?? '{}') as StreamSpec);
}
