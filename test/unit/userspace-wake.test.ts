// The channel between the USERSPACE plane and its worker (src/dataplane/userspace/protocol.ts): a
// request posted while the worker naps between batches ends the nap (the plane's wake cell), and one
// posted while it waits in poll() on an idle ring ends that wait (the plane's wake eventfd), so a plan
// is read at once; with nothing posted, a nap sleeps its time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { DEFAULT_RINGS, postRequest, workerChannel } from '../../src/dataplane/userspace/protocol.js';
import { AfPacketIo } from '../../src/dataplane/userspace/rings.js';
import * as libc from '../../src/kernel/libc.js';

function ends() {
  const { port1, port2 } = new MessageChannel();
  const wake = new Int32Array(new SharedArrayBuffer(4));
  return { plane: port1, wake, worker: workerChannel(port2, wake.buffer as SharedArrayBuffer), port2 };
}

test('a request posted after the queue was found empty ends the nap, and is then read', () => {
  const { plane, wake, worker, port2 } = ends();
  try {
    assert.equal(worker.receive(), undefined);
    postRequest(plane, wake, -1, { id: 7, req: { op: 'health' } });
    // a nap of a minute: it ends at once, since the cell changed after the empty receive()
    assert.notEqual(worker.wait?.(60_000), 'timed-out');
    assert.deepEqual(worker.receive(), { id: 7, req: { op: 'health' } });
  } finally {
    plane.close();
    port2.close();
  }
});

test('with nothing posted since the last receive(), a nap sleeps its time', () => {
  const { plane, wake, worker, port2 } = ends();
  try {
    postRequest(plane, wake, -1, { id: 1, req: { op: 'health' } });
    assert.deepEqual(worker.receive(), { id: 1, req: { op: 'health' } });
    assert.equal(worker.receive(), undefined);
    assert.equal(worker.wait?.(1), 'timed-out');
  } finally {
    plane.close();
    port2.close();
  }
});

test('without a wake cell the channel has no wait(): the worker naps unwoken', () => {
  const { port1, port2 } = new MessageChannel();
  try {
    assert.equal(workerChannel(port2).wait, undefined);
  } finally {
    port1.close();
    port2.close();
  }
});

/** Whether `fd` is readable now (poll() with no timeout). */
function readable(fd: number): boolean {
  const pfd = new Uint8Array(libc.POLLFD_SIZE);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(libc.POLLFD_FD, fd, true);
  dv.setInt16(libc.POLLFD_EVENTS, libc.POLLIN, true);
  return libc.poll(pfd, 1, 0) === 1;
}

test("a request posted while the ring is idle ends the worker's poll(), and the wake-up is used up", () => {
  const { plane, wake, worker, port2 } = ends();
  const fd = libc.eventfd();
  const io = new AfPacketIo(DEFAULT_RINGS, fd);
  try {
    assert.equal(worker.receive(), undefined);
    postRequest(plane, wake, fd, { id: 3, req: { op: 'health' } });
    assert.equal(readable(fd), true);
    // a wait of a minute on an idle ring (no socket yet): it ends at once, and reads the wake-up
    const t0 = performance.now();
    assert.equal(io.wait(60_000), false, 'no device error');
    assert.ok(performance.now() - t0 < 30_000, 'woken, not timed out');
    assert.equal(readable(fd), false, 'the eventfd was drained');
    assert.deepEqual(worker.receive(), { id: 3, req: { op: 'health' } });
  } finally {
    io.close();
    libc.close(fd);
    plane.close();
    port2.close();
  }
});
