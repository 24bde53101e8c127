// The hot path allocates nothing per packet: after warm-up, deciding hundreds of thousands of frames of
// every kind in the corpus (ARP replies, every drop reason, hits, misses with LRU evictions, ICMP errors,
// fragments; and under the frontend modes: host_pass, no ARP, one-arm) must not trigger a single garbage
// collection. Any per-frame allocation, even 16 bytes,
// fills V8's young generation within these many frames and shows up as a scavenge.
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PORT_BACKEND, PORT_FRONTEND } from '../../src/core/constants.js';
import type { ServiceConfig } from '../../src/core/model.js';
import { fromHex } from '../../src/packet/build.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { instanceConfig, loadVectors } from '../lib/vectors.js';

test('deciding frames of every kind allocates nothing (no GC during 600,000 decisions)', async () => {
  const vectors = loadVectors().filter(
    (v) => v.backendPortMac !== null && v.config.frontend.vip !== undefined,
  );
  const frames: { bytes: Uint8Array; port: number }[] = [];
  for (const v of vectors) {
    for (const s of v.steps)
      frames.push({ bytes: fromHex(s.frame), port: s.port === 'BACKEND' ? PORT_BACKEND : PORT_FRONTEND });
  }
  assert.ok(frames.length > 100, `only ${frames.length} corpus frames`);
  // The services vector's instance (several VIPs, port services), with a probe MAC (BACKEND port PASS)
  // and the VIP table filled up to 256 services, so that the service match runs over a full table.
  const v0 = vectors.find((v) => v.name === 'services')!;
  const cfg = instanceConfig(v0.config);
  const filler: ServiceConfig[] = Array.from({ length: 256 - 1 - (cfg.services?.length ?? 0) }, (_, i) => ({
    name: `filler${i}`,
    vip: `172.16.${i >> 8}.${(i & 255) + 1}`,
    protocol: 'TCP',
    port: 1 + (i % 3),
    backend: { pool: [{ id: 1000 + i, mac: '02:00:00:00:77:77' }] },
  }));
  // Capacity 1024: the session table never grows (growth allocates by design) and the flood below keeps
  // evicting, so the eviction path is measured too.
  const full = {
    ...cfg,
    services: [...(cfg.services ?? []), ...filler],
    probe_ip: '10.0.1.250',
    sessions: { ...cfg.sessions, capacity: 1024 },
  };
  const b = new Balancer({ capacity: 1024 });
  b.configure(full, v0.backendPortMac!);
  // The same frames under the frontend modes: host_pass's PASS, no ARP, one-arm's probe-MAC pass.
  const modes = new Balancer({ capacity: 1024 });
  modes.configure(
    { ...full, host_pass: true, standby: true },
    { backendMac: v0.backendPortMac!, frontendMac: v0.backendPortMac!, oneArm: true },
  );
  const buf = new Uint8Array(2048);
  const run = (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      const x = (r & 1) === 0 ? b : modes;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        buf.set(f.bytes);
        // Vary the source address so that misses, inserts and evictions happen on every round.
        if (f.bytes.length >= 34) buf[29] = (buf[29]! + r) & 0xff;
        x.process(buf, f.bytes.length, f.port, 5000 + r);
      }
    }
  };
  run(1500); // warm-up: let the JIT optimise every path first (interpreted code boxes numbers)
  // Start from an empty young generation, so that a GC V8 had already scheduled (an idle-time task) does
  // not land inside the measured window.
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const rounds = Math.ceil(600_000 / frames.length);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  run(rounds);
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const st = b.stats();
  assert.ok(st.sessions.evicted > 0, 'the flood evicted sessions');
  assert.ok(st.arpReplies > 0 && st.tx.backend > 0, 'frames of every kind were decided');
  assert.ok(st.backendPass! > 0 && st.drops.NO_SERVICE! > 0, 'PASS and NO_SERVICE too');
  const ms = modes.stats();
  assert.ok(ms.frontendPass! > 0 && ms.tx.backend > 0 && ms.arpReplies === 0, 'host_pass, one-arm, no ARP');
  assert.equal(gcs, 0, `${gcs} garbage collections while deciding ${rounds * frames.length} frames`);
});
