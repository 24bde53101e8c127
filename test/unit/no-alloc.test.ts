// The hot path allocates nothing per packet: after warm-up, deciding hundreds of thousands of frames of
// every kind in the corpus (ARP replies, every drop reason, hits, misses with LRU evictions, ICMP errors,
// fragments; and under the frontend modes: host_pass, no ARP, one-arm) must not trigger a single garbage
// collection. Any per-frame allocation, even 16 bytes,
// fills V8's young generation within these many frames and shows up as a scavenge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../src/pipeline/balancer.js';
import { corpus, gcsWhileDeciding } from '../lib/no-alloc.js';

test('deciding frames of every kind allocates nothing (no GC during 600,000 decisions)', async () => {
  const { frames, config, portMac } = corpus();
  const b = new Balancer({ capacity: 1024 });
  b.configure(config, portMac);
  const gcs = await gcsWhileDeciding(b, frames);
  const st = b.stats();
  assert.ok(st.sessions.evicted > 0, 'the flood evicted sessions');
  assert.ok(st.arpReplies > 0 && st.tx.backend > 0, 'frames of every kind were decided');
  assert.ok(st.backendPass! > 0 && st.drops.NO_SERVICE! > 0, 'PASS and NO_SERVICE too');
  assert.equal(gcs, 0, `${gcs} garbage collections while deciding 600,000 frames`);
});

test('under the frontend modes (host_pass, no ARP, one-arm) deciding allocates nothing either', async () => {
  const { frames, config, portMac } = corpus();
  const b = new Balancer({ capacity: 1024 });
  b.configure(
    { ...config, host_pass: true, standby: true },
    { backendMac: portMac, frontendMac: portMac, oneArm: true },
  );
  const gcs = await gcsWhileDeciding(b, frames);
  const st = b.stats();
  assert.ok(st.frontendPass! > 0 && st.tx.backend > 0 && st.arpReplies === 0, 'host_pass, one-arm, no ARP');
  assert.ok(st.backendPass! > 0, 'one-arm passes frames to the probe MAC');
  assert.equal(gcs, 0, `${gcs} garbage collections while deciding 600,000 frames`);
});
