// The entry of the worker thread of one USERSPACE instance (started by plane.ts): it reads workerData,
// enters the instance's network namespace and CPU placement, then runs a UserspaceWorker (runner.ts)
// on AF_PACKET rings (rings.ts) until the plane asks it to stop (or, for a test, dies on request).
import { existsSync, rmSync } from 'node:fs';
import { type MessagePort, workerData } from 'node:worker_threads';
import { enterNetns } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import { type WorkerInit, workerChannel } from './protocol.js';
import { AfPacketIo } from './rings.js';
import { UserspaceWorker } from './runner.js';

const { init, port } = workerData as { init: WorkerInit; port: MessagePort };

const channel = workerChannel(port, init.wake);

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
  new UserspaceWorker(new AfPacketIo(init.rings), channel, crashRequested).run();
} finally {
  port.close();
}
