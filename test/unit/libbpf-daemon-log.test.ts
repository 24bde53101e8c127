// lbdsrd routes libbpf's messages into its pino log (src/daemon/libbpf-log.ts), at the matching level,
// once a plane that uses libbpf is created or probed for, and not for a USERSPACE plane. The planes
// here open BPF objects through the real libbpf (no root needed: opening parses in user space).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { pino } from 'pino';
import type { PlaneType } from '../../src/core/model.js';
import { withLibbpfLog } from '../../src/daemon/libbpf-log.js';
import type { PlaneFactory } from '../../src/daemon/planes.js';
import { bpfObjectPath, LBDSR_OBJECT } from '../../src/dataplane/xdp/object.js';
import { BpfError, BpfObject, setLibbpfLogger } from '../../src/kernel/libbpf.js';
import { libbpfSkip } from '../../testkit/root.js';

const skip = libbpfSkip('the daemon libbpf log tests');

after(() => setLibbpfLogger(null));

/** A pino logger at `level` whose lines are collected, parsed. */
function capturedLog(level: string) {
  const lines: { level: number; src?: string; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

/** A factory whose planes open a BPF object (malformed for `create`, the real one for `detect`). */
const opening: PlaneFactory = {
  create: async (_kind: PlaneType) => {
    BpfObject.openMem(new Uint8Array(64).fill(7));
    throw new Error('not reached');
  },
  detect: async () => {
    BpfObject.openFile(bpfObjectPath(LBDSR_OBJECT)).close();
    return 'XDP_SKB';
  },
};

const PINO_WARN = 40;
const PINO_DEBUG = 20;

test('libbpf warnings land in the daemon log at warn once an XDP plane is created', { skip }, async () => {
  setLibbpfLogger(null);
  const { log, lines } = capturedLog('info');
  const planes = withLibbpfLog(opening, log);
  // A USERSPACE plane does not route libbpf's log (nor load the bindings for it).
  await assert.rejects(planes.create('USERSPACE', 'lb1'), BpfError);
  assert.equal(lines.length, 0, JSON.stringify(lines));
  await assert.rejects(planes.create('XDP_SKB', 'lb1'), BpfError);
  const elf = lines.filter((l) => /libbpf: elf: .* is not a proper ELF object/.test(l.msg));
  assert.equal(elf.length, 1, JSON.stringify(lines));
  assert.equal(elf[0]?.level, PINO_WARN);
  assert.equal(elf[0]?.src, 'libbpf');
  assert.ok(
    lines.every((l) => l.level !== PINO_DEBUG),
    'no debug messages at level info',
  );
});

test('at log level debug, libbpf debug messages land at debug (the XDP probe routes too)', {
  skip,
}, async () => {
  setLibbpfLogger(null);
  const { log, lines } = capturedLog('debug');
  assert.equal(await withLibbpfLog(opening, log).detect({}), 'XDP_SKB');
  const debug = lines.filter((l) => l.level === PINO_DEBUG && l.src === 'libbpf');
  assert.ok(
    debug.some((l) => /map 'lbdsr_sessions'/.test(l.msg)),
    JSON.stringify(debug.slice(0, 10)),
  );
});
