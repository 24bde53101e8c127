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
import type { InstanceConfig, ServiceConfig } from '../../src/core/model.js';
import { fromHex } from '../../src/packet/build.js';
import {
  icmp6EchoFrame,
  icmp6ErrorFrame,
  ipv6Packet,
  NH_DSTOPTS,
  NH_FRAGMENT,
  NH_HOPOPTS,
  NH_TCP,
  nsFrame,
  quote6,
  tcp6,
  tcp6Frame,
  udp6Frame,
} from '../../src/packet/build6.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { instanceConfig, loadVectors } from '../lib/vectors.js';

/** `fixed`: decided as it is every round (a solicitation whose source changed would fail its checksum). */
type CorpusFrame = { bytes: Uint8Array; port: number; fixed?: boolean };

/**
 * Decides the corpus frames on `b` round after round (warm-up first), varying the source address so
 * that misses, inserts and evictions happen on every round; returns the garbage collections seen while
 * deciding 600,000 frames after the warm-up.
 */
async function gcsWhileDeciding(b: Balancer, frames: readonly CorpusFrame[]): Promise<number> {
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
function corpus(): { frames: CorpusFrame[]; config: InstanceConfig; portMac: string } {
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

/** IPv6 frames for a dual-stack default service (VIP6): hits and misses, NS, chains, fragments, errors. */
function ipv6Frames(mac: string): CorpusFrame[] {
  const VIP6 = 'fd00::100';
  const a = { ethDst: mac, ethSrc: '02:00:00:00:0c:01', src: '2001:db8:0:1::1', dst: VIP6 };
  const fe = PORT_FRONTEND;
  const syn = { sport: 40000, dport: 80, flags: 0x02 };
  const reply = ipv6Packet(
    { src: VIP6, dst: a.src },
    NH_TCP,
    tcp6({ src: VIP6, dst: a.src }, { sport: 80, dport: 40000 }),
  );
  return [
    { bytes: tcp6Frame(a, syn), port: fe },
    { bytes: tcp6Frame(a, { sport: 40000, dport: 80, flags: 0x10 }), port: fe },
    { bytes: udp6Frame(a, { sport: 5353, dport: 53 }), port: fe },
    { bytes: icmp6EchoFrame(a), port: fe },
    { bytes: tcp6Frame(a, syn, { exts: [{ kind: NH_HOPOPTS }, { kind: NH_DSTOPTS, len: 16 }] }), port: fe },
    {
      bytes: udp6Frame(a, { sport: 1, dport: 2 }, { exts: [{ kind: NH_FRAGMENT, m: true, id: 0x80000001 }] }),
      port: fe,
    },
    {
      bytes: udp6Frame(
        a,
        { sport: 1, dport: 2 },
        { exts: [{ kind: NH_FRAGMENT, offset: 8, id: 0x80000001 }] },
      ),
      port: fe,
    },
    { bytes: icmp6ErrorFrame(a, { type: 2, inner: quote6(reply) }), port: fe },
    { bytes: nsFrame({ srcMac: a.ethSrc, src: 'fe80::1', target: VIP6 }), port: fe, fixed: true },
    { bytes: nsFrame({ srcMac: a.ethSrc, src: 'fe80::1', target: 'fd00::999' }), port: fe, fixed: true },
    { bytes: udp6Frame({ ...a, dst: 'fd00::1' }, { sport: 1, dport: 2 }), port: fe },
  ];
}

// IPv6 frames go through more helpers than IPv4's (the extension walk, 16-byte addresses), so V8's
// inlining budget for decide() runs out sooner: every 32-bit word read from the frame is stored into the
// key by the helper that reads it (loadU32), never returned, so that a word above 2^30 is never boxed
// whether or not the helper was inlined.
test('IPv6 frames (hits, misses, NS answered, chains, fragments, ICMPv6 errors) allocate nothing', async () => {
  const { frames, config, portMac } = corpus();
  const mac = config.frontend.mac!;
  const v6 = ipv6Frames(mac);
  const b = new Balancer({ capacity: 1024 });
  b.configure({ ...config, frontend: { ...config.frontend, vip6: 'fd00::100' } }, portMac);
  const gcs = await gcsWhileDeciding(b, [...frames, ...v6]);
  const st = b.stats();
  assert.ok(st.ndReplies! > 0, 'solicitations were answered');
  assert.ok(st.sessions.evicted > 0 && st.fragments.hit > 0, 'IPv6 sessions evicted, fragments followed');
  assert.ok(b.sessionTable6.count > 0, 'IPv6 sessions recorded');
  assert.equal(gcs, 0, `${gcs} garbage collections while deciding 600,000 frames`);
});
