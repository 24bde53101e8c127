// The channel between the USERSPACE plane and its worker (src/dataplane/userspace/protocol.ts): a
// request posted while the worker naps between batches ends the nap (the plane's wake cell), so a
// plan is read at once; with nothing posted, a nap sleeps its time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { postRequest, workerChannel } from '../../src/dataplane/userspace/protocol.js';

function ends() {
  const { port1, port2 } = new MessageChannel();
  const wake = new Int32Array(new SharedArrayBuffer(4));
  return { plane: port1, wake, worker: workerChannel(port2, wake.buffer as SharedArrayBuffer), port2 };
}

test('a request posted after the queue was found empty ends the nap, and is then read', () => {
  const { plane, wake, worker, port2 } = ends();
  try {
    assert.equal(worker.receive(), undefined);
    postRequest(plane, wake, { id: 7, req: { op: 'health' } });
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
    postRequest(plane, wake, { id: 1, req: { op: 'health' } });
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
