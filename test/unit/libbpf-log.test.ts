// libbpf's own messages reach the hook the daemon can set (libbpf_set_print through a koffi
// callback, formatted from the C va_list), instead of going straight to stderr. Needs libbpf.so.1,
// not root: opening an object parses it in user space.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bpfObjectPath, LBDSR_OBJECT } from '../../src/dataplane/xdp/object.js';
import { BpfError, BpfObject, type LibbpfLogLevel, setLibbpfLogger } from '../../src/kernel/libbpf.js';
import { libbpfSkip } from '../../testkit/root.js';

const skip = libbpfSkip('the libbpf log tests');

function capture(fn: () => void, debug = false): [LibbpfLogLevel, string][] {
  const got: [LibbpfLogLevel, string][] = [];
  setLibbpfLogger((level, message) => got.push([level, message]), { debug });
  try {
    fn();
  } finally {
    setLibbpfLogger(null);
  }
  return got;
}

test('a malformed object: the error is thrown and libbpf explains it through the hook', { skip }, () => {
  const got = capture(() => {
    assert.throws(() => BpfObject.openMem(new Uint8Array(64).fill(7)), BpfError);
  });
  const warnings = got.filter(([level]) => level === 'warn').map(([, m]) => m);
  assert.ok(
    warnings.some((m) => /libbpf: elf: .* is not a proper ELF object/.test(m)),
    JSON.stringify(got),
  );
  assert.ok(
    got.every(([, m]) => !m.endsWith('\n')),
    'messages come without their trailing newline',
  );
});

test('the C format arguments of libbpf messages (%s, %d) are formatted into the text', { skip }, () => {
  const got = capture(() => BpfObject.openFile(bpfObjectPath(LBDSR_OBJECT)).close(), true);
  const debug = got.filter(([level]) => level === 'debug').map(([, m]) => m);
  // e.g. "libbpf: map 'lbdsr_sessions': at sec_idx 5, offset 160." (a %s and two %d)
  assert.ok(
    debug.some((m) => /map 'lbdsr_sessions'.*\d/.test(m)),
    JSON.stringify(debug.slice(0, 20)),
  );
});

test('debug messages reach the hook only when asked for', { skip }, () => {
  const open = () => BpfObject.openFile(bpfObjectPath(LBDSR_OBJECT)).close();
  assert.deepEqual(
    capture(open).filter(([level]) => level === 'debug'),
    [],
  );
  assert.ok(capture(open, true).some(([level]) => level === 'debug'));
});
