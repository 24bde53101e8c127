// The libc/AF_PACKET bindings report failures with errno and the libc message, and leave nothing open.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PacketSocket, RingArena } from '../../src/kernel/afpacket.js';
import { IfProber } from '../../src/kernel/ifinfo.js';
import { SysError } from '../../src/kernel/libc.js';
import { rootSkip } from '../../testkit/root.js';

const skip = rootSkip('the AF_PACKET binding test');

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('AF_PACKET bindings', { skip }, () => {
  it('a socket on a missing interface fails with ENODEV and its message, and closes its fd', () => {
    const tx = { frames: 64, frameSize: 2048, blockSize: 65536 };
    const arena = new RingArena(PacketSocket.mapBytes({ tx }));
    try {
      const before = openFds();
      assert.throws(
        () => PacketSocket.open({ ifindex: 999_999, receive: false, tx, label: 'nope' }, arena.addr(0)),
        (e: unknown) =>
          e instanceof SysError && e.errno === 19 && /bind \(nope\): No such device/.test(e.message),
      );
      assert.equal(openFds(), before);
    } finally {
      arena.free();
    }
  });

  it('rejects a ring geometry the kernel would refuse, and closes its fd', () => {
    const arena = new RingArena(1 << 20);
    try {
      const before = openFds();
      assert.throws(
        () =>
          PacketSocket.open(
            { ifindex: 1, receive: false, tx: { frames: 3, frameSize: 2048, blockSize: 65536 } },
            arena.addr(0),
          ),
        /frame count must fill whole blocks/,
      );
      assert.equal(openFds(), before);
    } finally {
      arena.free();
    }
  });

  it('looks interfaces up in the thread namespace', () => {
    const p = new IfProber();
    try {
      const lo = p.get('lo');
      assert.ok(lo);
      assert.equal(lo.ifindex, 1);
      assert.equal(lo.mac, '00:00:00:00:00:00');
      assert.equal(p.get('no-such-if0'), undefined);
      assert.equal(p.get('x'.repeat(20)), undefined);
    } finally {
      p.close();
    }
  });
});
