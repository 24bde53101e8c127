// The entry of the worker thread of one USERSPACE instance (started by plane.ts): it reads workerData,
// enters the instance's network namespace and CPU placement, then runs a UserspaceWorker (runner.ts)
// on AF_PACKET rings (rings.ts) until the plane asks it to stop (or, for a test, dies on request). The
// first plan, before the worker applies it (and opens its sockets), is rehearsed (rehearsal.ts), so
// that a stream meeting a fresh worker finds its frame path optimised.
import { existsSync, rmSync } from 'node:fs';
import { type MessagePort, workerData } from 'node:worker_threads';
import { enterNetns } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import type { Channel } from './io.js';
import { type WorkerInit, workerChannel } from './protocol.js';
import { rehearse } from './rehearsal.js';
import { AfPacketIo } from './rings.js';
import { UserspaceWorker } from './runner.js';

const { init, port } = workerData as { init: WorkerInit; port: MessagePort };

const channel = workerChannel(port, init.wake);

/** The channel, rehearsing `io`'s frame path with the first plan before the worker sees it. */
function rehearsing(io: AfPacketIo): Channel {
  let first = true;
  return {
    ...channel,
    receive: () => {
      const env = channel.receive();
      if (first && env?.req.op === 'apply') {
        first = false;
        const r = rehearse(io, env.req.plan);
        const msg = r
          ? `frame path rehearsed: ${r.frames} frames in ${r.passes} passes on ${r.rounds} scratch balancers, ${r.ms.toFixed(0)} ms ` +
            `(µs a frame: ${r.firstUs.toFixed(2)} at first, ${r.againUs.toFixed(2)} on the last new one, ` +
            `${r.lastUs.toFixed(2)} at the end)`
          : 'frame path not rehearsed: a V3 ring, or no TCP or UDP service in the first plan';
        channel.post({ id: -1, log: 'info', msg });
      }
      return env;
    },
  };
}

try {
  // Enter the namespace first: every socket (the interface prober's included) belongs to the namespace
  // its creating thread was in.
  if (init.netns) enterNetns(init.netns);
  if (init.cpu !== undefined) libc.pinThread(init.cpu);
  if (init.nice !== undefined) libc.niceThread(init.nice);
  const crashFile = init.crashFile;
  const crashRequested = crashFile
    ? () => {
        if (!existsSync(crashFile)) return false;
        rmSync(crashFile, { force: true });
        return true;
      }
    : undefined;
  const io = new AfPacketIo(init.rings, init.wakeFd);
  new UserspaceWorker(io, rehearsing(io), crashRequested).run();
} finally {
  port.close();
}
