// A paced frame generator for the USERSPACE benchmark and the USERSPACE plane's flood test: a separate
// process in a namespace (optionally pinned to a CPU) with an AF_PACKET socket whose TX ring is filled
// once with 60-byte UDP frames of `flows` flows to the VIP; sending is only flipping ring statuses and
// one sendto() per burst, so it costs little next to what it measures (no pktgen module here, and a C
// tool would need a compiler step).
//
// Protocol: the parent writes one JSON line {"rate": frames/s, "ms": duration} per run on stdin; the
// generator answers one JSON line {"sent", "elapsed", "full"} on stdout when the run is over.
// The child is this file: `node dist/testkit/afgen.js IFINDEX FRAMES_JSON`.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
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
import { nsExec } from './exec.js';
import { sleep } from './timing.js';

/** What the generated frames carry. */
export interface GenFrames {
  vip: string;
  /** Destination MAC (the balancer's frontend MAC). */
  dstMac: string;
  srcMac: string;
  srcIp: string;
  /** Distinct flows (source ports 1024..1024+flows-1), sent round robin. */
  flows: number;
}

export const DEFAULT_FRAMES: GenFrames = {
  vip: '10.0.0.100',
  dstMac: '02:fe:00:00:00:01',
  srcMac: '02:c1:00:00:00:01',
  srcIp: '10.0.0.1',
  flows: 256,
};

export interface GenResult {
  sent: number;
  elapsed: number;
  /** Bursts that found the ring full. */
  full: number;
}

function frameFor(f: GenFrames, flow: number): Uint8Array {
  const seg = udp({
    sport: 1024 + flow,
    dport: 5000,
    payload: new Uint8Array(18),
    pseudo: { src: f.srcIp, dst: f.vip },
  });
  return padTo(
    ethernet({
      dst: f.dstMac,
      src: f.srcMac,
      type: ETH_P_IPV4,
      payload: ipv4({ src: f.srcIp, dst: f.vip, proto: 17, payload: seg }),
    }),
  );
}

/** The child: serves runs from stdin until it closes. */
async function generator(ifindex: number, f: GenFrames): Promise<void> {
  const frames = 8192;
  const fs = 128;
  const tx = { frames, frameSize: fs, blockSize: 4096 };
  const arena = new RingArena(PacketSocket.mapBytes({ tx }));
  const off = arena.carve(PacketSocket.mapBytes({ tx }));
  const sock = PacketSocket.open(
    { ifindex, receive: false, tx, qdiscBypass: true, label: 'generator' },
    arena.addr(off),
  );
  for (let i = 0; i < frames; i++) {
    const fr = frameFor(f, i % f.flows);
    arena.u8.set(fr, off + i * fs + TP2_TX_DATA);
    arena.dv.setUint32(off + i * fs + TP2_LEN, fr.length, true);
  }
  const i32 = arena.i32;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let idx = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    const { rate, ms } = JSON.parse(line) as { rate: number; ms: number };
    const total = Math.floor((rate * ms) / 1000);
    let sent = 0;
    let full = 0;
    const t0 = performance.now();
    let now = t0;
    while (sent < total && now - t0 < ms * 2) {
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
      let queued = 0;
      while (sent < due && queued < 256) {
        const s = (off + idx * fs) >> 2;
        if (Atomics.load(i32, s) !== TP_STATUS_AVAILABLE) {
          full++;
          break;
        }
        Atomics.store(i32, s, TP_STATUS_SEND_REQUEST);
        idx = (idx + 1) % frames;
        sent++;
        queued++;
      }
      if (queued > 0) libc.kick(sock.fd, libc.MSG_DONTWAIT);
      else Atomics.wait(sleeper, 0, 0, 0.2);
      now = performance.now();
    }
    const elapsed = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ sent, elapsed, full } satisfies GenResult)}\n`);
  }
  sock.close();
  arena.free();
}

/** The parent's handle on a generator process sending out of `ifname` in namespace `ns`. */
export class FrameGenerator {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor(ns: string, ifname: string, opts: { cpu?: number; frames?: GenFrames } = {}) {
    const self = fileURLToPath(import.meta.url);
    const ifindex = nsExec(ns, 'cat', `/sys/class/net/${ifname}/ifindex`).trim();
    const pin = opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)];
    const frames = JSON.stringify(opts.frames ?? DEFAULT_FRAMES);
    this.child = spawn('ip', ['netns', 'exec', ns, ...pin, process.execPath, self, ifindex, frames], {
      stdio: 'pipe',
    });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(`generator: ${d}`));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Sends at `rate` frames/s for `ms`; resolves when the run is over (bounded). */
  async send(rate: number, ms: number): Promise<GenResult> {
    this.child.stdin.write(`${JSON.stringify({ rate, ms })}\n`);
    const r = await Promise.race([
      this.lines.next(),
      sleep(ms * 3 + 5000).then(() => ({ done: true, value: undefined })),
    ]);
    if (r.done || typeof r.value !== 'string') throw new Error('the generator did not answer');
    return JSON.parse(r.value) as GenResult;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill('SIGKILL');
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  await generator(Number(process.argv[2]), JSON.parse(process.argv[3] ?? 'null') ?? DEFAULT_FRAMES);
}
