// The TypeScript codecs and the compiled object agree on every map: key and value sizes and capacity
// as the kernel reports them for bpf/lbdsr.bpf.o (built from lbdsr_shared.h and bpf/maps.h), and the
// programs the plane attaches exist under their names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAP_KEYS, MAP_LAYOUT, MAP_NAMES } from '../../src/dataplane/xdp/maps.js';
import { loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { mapInfo, progInfo } from '../../src/kernel/libbpf.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

test('every map of the compiled program has the layout the TypeScript side writes', { skip }, () => {
  const ld = loadLbdsr({ capacity: 1234 });
  try {
    for (const k of MAP_KEYS) {
      const info = mapInfo(ld.fds[k]);
      const want = MAP_LAYOUT[k];
      assert.equal(info.name, MAP_NAMES[k]);
      assert.equal(info.keySize, want.key, `${k}: key size`);
      assert.equal(info.valueSize, want.value, `${k}: value size`);
      assert.equal(info.maxEntries, want.max ?? 1234, `${k}: max_entries`);
    }
    assert.equal(mapInfo(ld.fds.sessions).maxEntries, 1234, 'the session capacity is set before load');
    assert.equal(progInfo(ld.progFd).name, 'lbdsr_xdp');
    assert.equal(progInfo(ld.backendProgFd).name, 'lbdsr_backend');
  } finally {
    ld.obj.close();
  }
});
