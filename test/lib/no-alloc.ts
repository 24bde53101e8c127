// The no-alloc tests' harness (test/unit/no-alloc*.test.ts): the corpus frames and a loop deciding them
// round after round while counting garbage collections. Any per-frame allocation, even 16 bytes, fills
// V8's young generation within the frames measured and shows up as a scavenge.
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PORT_BACKEND, PORT_FRONTEND } from '../../src/core/constants.js';
import type { InstanceConfig, ServiceConfig } from '../../src/core/model.js';
import { fromHex } from '../../src/packet/build.js';
import type { Balancer } from '../../src/pipeline/balancer.js';
import { instanceConfig, loadVectors } from './vectors.js';

// A small inlining budget (V8's default is 920 bytes of bytecode per optimised function): whether a
// helper is inlined into decide() depends on how hot each path is, so a helper that returns a uint32
// above 2^30 (boxed when not inlined) allocates in one run and not in the next. With little inlining,
// such a helper allocates on every run and the test sees it. Set before anything is optimised.
v8.setFlagsFromString('--max-inlined-bytecode-size-cumulative=100');

/** `fixed`: decided as it is every round (a solicitation whose source changed would fail its checksum). */
export type CorpusFrame = { bytes: Uint8Array; port: number; fixed?: boolean };

/**
 * Decides the corpus frames on `b` round after round (warm-up first), varying the source address so
 * that misses, inserts and evictions happen on every round; returns the garbage collections seen while
 * deciding 600,000 frames after the warm-up.
 */
export async function gcsWhileDeciding(b: Balancer, frames: readonly CorpusFrame[]): Promise<number> {
  const buf = new Uint8Array(2048);
  const run = (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        buf.set(f.bytes);
        // byte 29: the IPv4 source's last byte, a middle byte of the IPv6 source
        if (f.bytes.length >= 34 && f.fixed !== true) buf[29] = (buf[29]! + r) & 0xff;
        b.process(buf, f.bytes.length, f.port, 5000 + r);
      }
    }
  };
  run(1500); // warm-up: let the JIT optimise every path first (interpreted code boxes numbers)
  // Start from an empty young generation, so that a GC V8 had already scheduled (an idle-time task) does
  // not land inside the measured window.
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  run(Math.ceil(600_000 / frames.length));
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return gcs;
}

/**
 * The corpus frames of the vectors of a ready instance with a VIP, and the services vector's instance
 * (several VIPs, port services) with a probe MAC (BACKEND port PASS) and the VIP table filled up to 256
 * services, so that the service match runs over a full table.
 */
export function corpus(): { frames: CorpusFrame[]; config: InstanceConfig; portMac: string } {
  const vectors = loadVectors().filter(
    (v) => v.backendPortMac !== null && v.config.frontend.vip !== undefined,
  );
  const frames: CorpusFrame[] = [];
  for (const v of vectors) {
    for (const s of v.steps)
      frames.push({ bytes: fromHex(s.frame), port: s.port === 'BACKEND' ? PORT_BACKEND : PORT_FRONTEND });
  }
  assert.ok(frames.length > 100, `only ${frames.length} corpus frames`);
  const v0 = vectors.find((v) => v.name === 'services')!;
  const cfg = instanceConfig(v0.config);
  const filler: ServiceConfig[] = Array.from({ length: 256 - 1 - (cfg.services?.length ?? 0) }, (_, i) => ({
    name: `filler${i}`,
    vip: `172.16.${i >> 8}.${(i & 255) + 1}`,
    protocol: 'TCP',
    port: 1 + (i % 3),
    backend: { pool: [{ id: 1000 + i, mac: '02:00:00:00:77:77' }] },
  }));
  // Capacity 1024: the session table never grows (growth allocates by design) and the flood keeps
  // evicting, so the eviction path is measured too.
  const config = {
    ...cfg,
    services: [...(cfg.services ?? []), ...filler],
    probe_ip: '10.0.1.250',
    sessions: { ...cfg.sessions, capacity: 1024 },
  };
  return { frames, config, portMac: v0.backendPortMac! };
}
