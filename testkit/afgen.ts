// The one paced frame generator of the testkit, for the USERSPACE benchmark, the USERSPACE plane's flood
// test and the churn scenario's frame stream: a separate process in a namespace (optionally pinned to a
// CPU) with an AF_PACKET socket whose TX ring is filled once with 60-byte UDP frames of `flows` flows to
// the VIP; sending is only flipping ring statuses and one sendto() per burst, so it costs little next to
// what it measures (no pktgen module here, and a C tool would need a compiler step).
//
// A run sends at a fixed rate until it has sent `maxFrames`, `maxMs` have passed, or it is asked to stop,
// whichever comes first; then it waits (bounded) until the kernel took every queued frame, so the count
// it reports is exactly what left. Protocol (lines): the child writes {"ready":true} once its ring is
// filled; the parent writes one JSON GenRun per run, and `stop` to end the current run early; the child
// answers one JSON GenResult per run. The child is this file: `node dist/testkit/afgen.js IFINDEX FRAMES`.
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
  VNET_HDR_LEN,
  VNET_HDR_LEN_FIELD,
} from '../src/kernel/afpacket.js';
import * as libc from '../src/kernel/libc.js';
import { ETH_P_IPV4, ethernet, ipv4, padTo, udp } from '../src/packet/build.js';
import { LineChild, must } from './exec.js';

/** Slots of the TX ring: at most this many distinct flows. */
export const RING_FRAMES = 8192;
const SLOT = 128;

/** What the generated frames carry. */
export interface GenFrames {
  vip: string;
  /** Destination MAC (the balancer's frontend MAC). */
  dstMac: string;
  srcMac: string;
  srcIp: string;
  /** Distinct flows (source ports 1024..1024+flows-1, at most RING_FRAMES), sent round robin. */
  flows: number;
  /** UDP destination port (default 5000). */
  dport?: number;
}

export const DEFAULT_FRAMES: GenFrames = {
  vip: '10.0.0.100',
  dstMac: '02:fe:00:00:00:01',
  srcMac: '02:c1:00:00:00:01',
  srcIp: '10.0.0.1',
  flows: 256,
};

/** One run: `rate` frames/s, at most `maxFrames` frames and `maxMs` ms (or until `stop`). */
export interface GenRun {
  rate: number;
  maxFrames: number;
  maxMs: number;
}

export interface GenResult {
  /** Frames the kernel took from the ring. */
  sent: number;
  /** ms from the first frame queued to the end of sending. */
  elapsed: number;
  /** Bursts that found the ring full. */
  full: number;
}

function frameFor(f: GenFrames, flow: number): Uint8Array {
  const seg = udp({
    sport: 1024 + flow,
    dport: f.dport ?? 5000,
    payload: new Uint8Array(18),
    pseudo: { src: f.srcIp, dst: f.vip },
  });
  const payload = ipv4({ src: f.srcIp, dst: f.vip, proto: 17, payload: seg });
  return padTo(ethernet({ dst: f.dstMac, src: f.srcMac, type: ETH_P_IPV4, payload }));
}

/** The child's TX ring, filled once with the frames of every flow. */
class TxRing {
  private readonly arena: RingArena;
  private readonly off: number;
  private readonly sock: PacketSocket;
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));
  private idx = 0;

  constructor(ifindex: number, f: GenFrames) {
    if (f.flows < 1 || f.flows > RING_FRAMES) throw new Error(`flows must be 1..${RING_FRAMES}`);
    const tx = { frames: RING_FRAMES, frameSize: SLOT, blockSize: 4096 };
    const bytes = PacketSocket.mapBytes({ tx });
    this.arena = new RingArena(bytes);
    this.off = this.arena.carve(bytes);
    // With a vnet header whose hdr_len is the whole frame, the kernel copies each frame into the socket
    // buffer instead of attaching the ring page (which veth would copy again into a fresh page).
    this.sock = PacketSocket.open(
      { ifindex, receive: false, tx, vnetHdr: true, qdiscBypass: true, label: 'generator' },
      this.arena.addr(this.off),
    );
    for (let i = 0; i < RING_FRAMES; i++) {
      const fr = frameFor(f, i % f.flows);
      const at = this.off + i * SLOT + TP2_TX_DATA;
      this.arena.dv.setUint16(at + VNET_HDR_LEN_FIELD, fr.length, true);
      this.arena.u8.set(fr, at + VNET_HDR_LEN);
      this.arena.dv.setUint32(this.off + i * SLOT + TP2_LEN, VNET_HDR_LEN + fr.length, true);
    }
  }

  private status(slot: number): number {
    return Atomics.load(this.arena.i32, (this.off + slot * SLOT) >> 2);
  }

  /** Sends one run paced at its rate; `stopped()` is checked between bursts. */
  async run(r: GenRun, stopped: () => boolean): Promise<GenResult> {
    const i32 = this.arena.i32;
    let sent = 0;
    let full = 0;
    const t0 = performance.now();
    let lastYield = t0;
    for (let now = t0; !stopped() && sent < r.maxFrames && now - t0 < r.maxMs; now = performance.now()) {
      const due = Math.min(r.maxFrames, Math.floor(((now - t0) * r.rate) / 1000));
      let queued = 0;
      while (sent < due && queued < 256) {
        if (this.status(this.idx) !== TP_STATUS_AVAILABLE) {
          full++; // ring full: retried on the next turn
          break;
        }
        Atomics.store(i32, (this.off + this.idx * SLOT) >> 2, TP_STATUS_SEND_REQUEST);
        this.idx = (this.idx + 1) % RING_FRAMES;
        sent++;
        queued++;
      }
      if (queued > 0) libc.kick(this.sock.fd, libc.MSG_DONTWAIT);
      else Atomics.wait(this.nap, 0, 0, 0.2);
      if (now - lastYield > 5) {
        await new Promise((res) => setImmediate(res)); // lets a `stop` line in
        lastYield = now;
      }
    }
    const elapsed = performance.now() - t0;
    this.drain();
    return { sent, elapsed, full };
  }

  /** Waits (bounded) until the kernel took every queued slot, so the frames counted really left. */
  private drain(): void {
    const until = Date.now() + 5000;
    for (let k = 0; k < RING_FRAMES && Date.now() < until; ) {
      if (this.status(k) === TP_STATUS_AVAILABLE) k++;
      else {
        libc.kick(this.sock.fd, libc.MSG_DONTWAIT);
        Atomics.wait(this.nap, 0, 0, 1);
      }
    }
  }

  close(): void {
    this.sock.close();
    this.arena.free();
  }
}

/** The child: serves runs from stdin until it closes. */
async function generator(ifindex: number, f: GenFrames): Promise<void> {
  const ring = new TxRing(ifindex, f);
  type Queued = GenRun & { stopped?: boolean };
  const runs: Queued[] = [];
  let last: Queued | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  const input = createInterface({ input: process.stdin });
  input.on('line', (l) => {
    const t = l.trim();
    if (t === 'stop') {
      if (last) last.stopped = true;
    } else if (t !== '') {
      last = JSON.parse(t) as Queued;
      runs.push(last);
    }
    wake?.();
  });
  input.on('close', () => {
    closed = true;
    if (last) last.stopped = true;
    wake?.();
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for (;;) {
    const r = runs.shift();
    if (r) {
      const result = await ring.run(r, () => r.stopped === true);
      process.stdout.write(`${JSON.stringify(result satisfies GenResult)}\n`);
    } else if (closed) break;
    else await new Promise<void>((res) => (wake = res));
  }
  ring.close();
}

/** The parent's handle on a generator process sending out of an interface in a namespace. */
export class FrameGenerator {
  private running: GenRun | undefined;

  private constructor(private readonly child: LineChild) {}

  /**
   * Starts the generator on `ifname` in `ns` (pinned to `cpu`, at nice `nice` when given) and waits
   * until its ring is filled (it does not send yet).
   */
  static async open(
    ns: string,
    ifname: string,
    opts: { cpu?: number; nice?: number; frames?: GenFrames } = {},
  ): Promise<FrameGenerator> {
    const ifindex = (
      await must('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/ifindex`])
    ).trim();
    const pin = [
      ...(opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)]),
      ...(opts.nice === undefined ? [] : ['nice', '-n', String(opts.nice)]),
    ];
    const self = fileURLToPath(import.meta.url);
    const frames = JSON.stringify(opts.frames ?? DEFAULT_FRAMES);
    const child = new LineChild(ns, [...pin, process.execPath, self, ifindex, frames]);
    try {
      await child.next<{ ready: boolean }>(15_000);
    } catch (e) {
      child.close();
      throw e;
    }
    return new FrameGenerator(child);
  }

  /** Starts a run; `stop()` ends it early (or waits for its end) and returns what was sent. */
  start(run: GenRun): void {
    this.running = run;
    this.child.send(JSON.stringify(run));
  }

  /** Ends the current run (if still running) and returns its result. */
  async stop(): Promise<GenResult> {
    const r = this.running;
    if (!r) throw new Error('the generator is not running');
    this.running = undefined;
    this.child.send('stop');
    return this.child.next<GenResult>(r.maxMs + 15_000);
  }

  /** Sends `rate * ms / 1000` frames at `rate` frames/s (bounded to 2 `ms`); resolves when they left. */
  async send(rate: number, ms: number): Promise<GenResult> {
    const run = { rate, maxFrames: Math.floor((rate * ms) / 1000), maxMs: ms * 2 };
    this.child.send(JSON.stringify(run));
    return this.child.next<GenResult>(run.maxMs + 15_000);
  }

  close(): void {
    this.child.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  await generator(Number(process.argv[2]), JSON.parse(process.argv[3] ?? 'null') ?? DEFAULT_FRAMES);
}
