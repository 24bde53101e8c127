// The hot path allocates nothing per IPv6 frame either: balanced to a backend (hits, misses, extension
// chains, fragments, ICMPv6 errors) or answered (NS), mixed with the IPv4 corpus of no-alloc.test.ts.
// A file of its own, so in a process of its own: run after the IPv4 tests, decide() would be optimised
// from their feedback first, and an allocation that a fresh process shows could go unseen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import { udpFrame } from '../../src/packet/build.js';
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
import { type CorpusFrame, corpus, gcsWhileDeciding } from '../lib/no-alloc.js';

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
    // a source port above 0x4000: the ports word the fragment table learns and hands back is above 2^30
    {
      bytes: udp6Frame(
        a,
        { sport: 40000, dport: 53 },
        { exts: [{ kind: NH_FRAGMENT, m: true, id: 0x80000001 }] },
      ),
      port: fe,
    },
    {
      bytes: udp6Frame(
        a,
        { sport: 40000, dport: 53 },
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

// The fragment tables hand a ports word (sport << 16 | dport) from the frame to the table and back: with a
// source port above 0x4000 it is above 2^30, boxed if it ever travels as an argument or a return value
// of a call V8 did not inline. Fragments alone (every frame learns or looks up), so that even 16 bytes a
// frame would fill the young generation.
test('fragments whose ports word is above 2^30 (both families) allocate nothing', async () => {
  const { config, portMac } = corpus();
  const mac = config.frontend.mac!;
  const fe = PORT_FRONTEND;
  const vip = config.frontend.vip!;
  const a4 = { ethDst: mac, ethSrc: '02:00:00:00:0c:01', src: '192.0.2.1', dst: vip };
  const a6 = { ethDst: mac, ethSrc: '02:00:00:00:0c:01', src: '2001:db8:0:1::1', dst: 'fd00::100' };
  const u = { sport: 40000, dport: 53 };
  const frag6 = (ext: { m?: boolean; offset?: number }) =>
    udp6Frame(a6, u, { exts: [{ kind: NH_FRAGMENT, id: 0x80000001, ...ext }] });
  const frames: CorpusFrame[] = [
    { bytes: udpFrame(a4, u, { id: 0x4242, mf: true }), port: fe },
    { bytes: udpFrame(a4, u, { id: 0x4242, fragOffset: 8 }), port: fe },
    { bytes: frag6({ m: true }), port: fe },
    { bytes: frag6({ offset: 8 }), port: fe },
  ];
  const b = new Balancer({ capacity: 1024 });
  b.configure({ ...config, frontend: { ...config.frontend, vip6: 'fd00::100' } }, portMac);
  const gcs = await gcsWhileDeciding(b, frames);
  const st = b.stats();
  assert.ok(st.fragments.hit > 0 && st.fragments.miss === 0, 'every later fragment found its ports');
  assert.equal(gcs, 0, `${gcs} garbage collections while deciding 600,000 fragments`);
});
