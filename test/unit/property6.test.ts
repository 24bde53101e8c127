// Property tests (fast-check) of the pipeline on IPv6 frames (docs/semantics.md, "IPv6"), against the
// reference written from the document (test/lib/reference6.ts):
// - structured random IPv6 frames (valid and broken fields mixed: versions, payload lengths, chains of
//   extension headers, fragments, ND messages, ICMPv6 errors) get the verdict the reference gives for
//   rules 6'..9', drops leave the frame as it was, and the deep rules are reached;
// - a Neighbor Solicitation for the VIP, with random valid fields, is answered with exactly the
//   reference's 86-byte advertisement, and any single byte changed in its checked part is not;
// - the pipeline reads the key the builder wrote behind a random extension-header chain (TCP, UDP,
//   ICMPv6 echo, and ICMPv6 errors quoting the reversed flow): backend = the reference Maglev's choice;
// - the fragments of an IPv6 datagram (32-bit identification), reordered, reach the flow's backend once
//   its first fragment was balanced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  ACT_DROP,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  DROP_REASON_NAMES,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import type { InstanceConfig } from '../../src/core/model.js';
import { toHex } from '../../src/packet/build.js';
import {
  type ExtHeader,
  ICMP6_PACKET_TOO_BIG,
  icmp6,
  icmp6Echo,
  icmp6ErrorFrame,
  ipv6Frame,
  ipv6Packet,
  nsFrame,
  quote6,
  tcp6,
  udp6,
} from '../../src/packet/build6.js';
import type { Balancer } from '../../src/pipeline/balancer.js';
import {
  CLIENT_MAC,
  FE_MAC,
  fragmentsOf,
  POOL_IDS,
  propertyBalancer,
  RUNS,
  shuffle,
  VIP6,
} from '../lib/property-fixture.js';
import { referencePick } from '../lib/reference.js';
import {
  type FlowKey6,
  ReferenceFragments6,
  referenceDecide6,
  referenceFrontend6,
} from '../lib/reference6.js';

const balancer = (algorithm: InstanceConfig['algorithm'] = 'HASH_SESSION') =>
  propertyBalancer(algorithm, 10_000, true);

/** Runs `input` in a 2048-byte buffer; returns the verdict and the output (outLen bytes). */
function run(b: Balancer, input: Uint8Array): { v: number; out: Uint8Array; after: Uint8Array } {
  const buf = new Uint8Array(2048).fill(0xee);
  buf.set(input);
  const v = b.process(buf, input.length, PORT_FRONTEND, 1000);
  const outLen = (b as unknown as { outLen?: number }).outLen ?? input.length;
  return { v, out: buf.slice(0, verdictAction(v) === ACT_DROP ? input.length : outLen), after: buf };
}

/** Whether verdict `v` is the reference outcome `want` (a drop reason, 'NA' or 'TX'). */
function matches(v: number, want: string): boolean {
  if (want === 'NA') return verdictAction(v) === ACT_TX_FRONTEND;
  if (want === 'TX') return verdictAction(v) === ACT_TX_BACKEND;
  return verdictAction(v) === ACT_DROP && DROP_REASON_NAMES[verdictReason(v)] === want;
}

const vips6 = new Map([['fd000000000000000000000000000100', FE_MAC]]);
const name = (v: number) =>
  verdictAction(v) === ACT_DROP ? (DROP_REASON_NAMES[verdictReason(v)] ?? '?') : `ACT${verdictAction(v)}`;

/** What the reference says of a FRONTEND IPv6 frame under this config: a drop reason, or 'NA'/'TX'. */
function referenceOutcome(f: Uint8Array): string {
  const early = referenceFrontend6(f, false, vips6);
  if (early.kind === 'DROP') return early.reason;
  if (early.kind === 'HOSTPASSABLE') return early.reason;
  if (early.kind === 'ND_REPLY') return 'NA';
  const d = referenceDecide6(f, new ReferenceFragments6(), 1000);
  return 'drop' in d ? d.drop : 'TX';
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const ext: fc.Arbitrary<ExtHeader> = fc.oneof(
  fc.record({
    kind: fc.constantFrom(0 as const, 43 as const, 60 as const),
    len: fc.constantFrom(8, 8, 16, 24, 64),
  }),
  fc.record({
    kind: fc.constant(0 as const),
    hdrExtLen: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant(44 as const),
    offset: fc.constantFrom(0, 0, 1, 100),
    m: fc.boolean(),
    id: fc.integer({ min: 0, max: 0xffffffff }),
  }),
);
/** Mostly no chain or a short one (so that the transport is reached), now and then 8 to 10 headers. */
const chain = fc.oneof(
  { arbitrary: fc.constant([]), weight: 3 },
  { arbitrary: fc.array(ext, { maxLength: 3 }), weight: 2 },
  { arbitrary: fc.array(ext, { minLength: 8, maxLength: 10 }), weight: 1 },
);

/** IPv6 frames with fields drawn from valid and broken values, to reach every rule of 6'..9'. */
const structured6 = fc
  .record({
    ethDst: fc.constantFrom(FE_MAC, FE_MAC, FE_MAC, '33:33:ff:00:01:00', 'ff:ff:ff:ff:ff:ff'),
    toVip: fc.constantFrom(true, true, true, false),
    src: fc.constantFrom('2001:db8::1', '2001:db8::2:3', 'fe80::1', '::'),
    kind: fc.constantFrom('tcp', 'udp', 'echo', 'error', 'nd', 'other'),
    exts: chain,
    sport: u16,
    dport: u16,
    quotedExts: chain,
    quotedProto: fc.constantFrom(6, 17, 58, 50),
    quoteLen: fc.integer({ min: 0, max: 120 }),
    type: fc.constantFrom(1, 2, 3, 4, 128, 129, 133, 135, 136, 143),
    version: fc.constantFrom(6, 6, 6, 6, 6, 4),
    plenDelta: fc.constantFrom(0, 0, 0, 0, -3, 1),
    cut: fc.option(fc.integer({ min: 14, max: 140 }), { freq: 6 }),
  })
  .map((r) => {
    const a = { ethDst: r.ethDst, ethSrc: CLIENT_MAC, src: r.src, dst: r.toVip ? VIP6 : 'fd00::101' };
    let f: Uint8Array;
    if (r.kind === 'nd')
      f = nsFrame({ srcMac: CLIENT_MAC, src: r.src, target: r.toVip ? VIP6 : 'fd00::101' });
    else if (r.kind === 'tcp')
      f = ipv6Frame(a, 6, tcp6(a, { sport: r.sport, dport: r.dport }), { exts: r.exts });
    else if (r.kind === 'udp')
      f = ipv6Frame(a, 17, udp6(a, { sport: r.sport, dport: r.dport }), { exts: r.exts });
    else if (r.kind === 'echo') f = ipv6Frame(a, 58, icmp6(a, { type: r.type }), { exts: r.exts });
    else if (r.kind === 'error') {
      const q = { src: VIP6, dst: r.src };
      const l4 =
        r.quotedProto === 58 ? icmp6Echo(q, { type: r.type }) : tcp6(q, { sport: r.dport, dport: r.sport });
      const inner = ipv6Packet(q, r.quotedProto, l4, { exts: r.quotedExts }).slice(0, 40 + r.quoteLen);
      f = icmp6ErrorFrame(a, { type: r.type, inner }, { exts: r.exts });
    } else f = ipv6Frame(a, 50, new Uint8Array(16), { exts: r.exts });
    f[14] = (r.version << 4) | (f[14]! & 0x0f);
    const plen = ((f[18]! << 8) | f[19]!) + r.plenDelta;
    f[18] = (plen >>> 8) & 0xff;
    f[19] = plen & 0xff;
    return r.cut === null ? f : f.slice(0, r.cut);
  });

test("structured random IPv6 frames get the reference verdict of rules 6'..9'", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(structured6, (f) => {
      const b = balancer();
      const want = referenceOutcome(f);
      const { v, out, after } = run(b, f);
      seen.add(want);
      assert.ok(matches(v, want), `${toHex(f)}: ${name(v)}, the reference says ${want}`);
      if (verdictAction(v) === ACT_DROP) {
        assert.deepEqual(out, f, 'a dropped frame is left as it was');
        assert.ok(
          after.subarray(f.length).every((x) => x === 0xee),
          'nothing written past the frame',
        );
      }
    }),
    { numRuns: RUNS * 4 },
  );
  for (const must of [
    'IP_MALFORMED',
    'ND',
    'NOT_VIP',
    'DST_MAC',
    'IPV6_EXT',
    'PROTO',
    'L4_TRUNCATED',
    'ICMP_INNER',
    'ICMP_TYPE',
    'NA',
    'TX',
  ]) {
    assert.ok(seen.has(must), `no frame reached ${must} (saw ${[...seen].sort().join(', ')})`);
  }
});

test('a solicitation for the VIP is answered with the reference advertisement; a changed checked byte is not', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('fe80::5054:ff:fe00:1', '2001:db8::7', 'fe80::1:2:3:4'),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(0, 8, 16, 96),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 1, max: 255 }),
      (src, unicast, sllao, extra, at, flip) => {
        const ns = nsFrame({
          srcMac: CLIENT_MAC,
          src,
          target: VIP6,
          ...(unicast ? { dst: VIP6, dstMac: FE_MAC } : {}),
          sllao,
          moreOptions: new Uint8Array(extra).fill(0).map((_, i) => (i === 0 ? 14 : i === 1 ? extra / 8 : 0)),
        });
        const r = referenceFrontend6(ns, false, vips6);
        assert.equal(r.kind, 'ND_REPLY');
        const { v, out } = run(balancer(), ns);
        assert.equal(verdictAction(v), ACT_TX_FRONTEND);
        assert.equal(toHex(out), toHex((r as { out: Uint8Array }).out));
        // A byte of the hop limit, code, checksum, target, payload length, next header or type changed: no
        // longer a valid solicitation for the VIP.
        const pos = [21, 55, 56, 57, ...Array.from({ length: 16 }, (_, i) => 62 + i), 18, 19, 20, 54][at]!;
        const bad = ns.slice();
        bad[pos] = bad[pos]! ^ flip;
        const want = referenceOutcome(bad);
        assert.notEqual(want, 'NA');
        const { v: v2 } = run(balancer(), bad);
        assert.ok(matches(v2, want), `${name(v2)}, the reference says ${want}`);
      },
    ),
    { numRuns: RUNS / 4 },
  );
});

test('the pipeline reads the IPv6 key the builder wrote behind any chain: backend = reference Maglev choice', () => {
  const walkable = fc
    .array(
      fc.oneof(
        fc.record({
          kind: fc.constantFrom(0 as const, 43 as const, 60 as const),
          len: fc.constantFrom(8, 16, 40),
        }),
        fc.record({ kind: fc.constant(44 as const), id: fc.integer({ min: 0, max: 0xffffffff }) }),
      ),
      { maxLength: 8 },
    )
    .filter((c) => c.filter((h) => h.kind === 44).length <= 1);
  fc.assert(
    fc.property(
      fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .filter((s) => s[0] !== 0xff && !s.every((x) => x === 0)),
      u16,
      u16,
      fc.constantFrom(6, 17, 58),
      walkable,
      fc.constantFrom<InstanceConfig['algorithm']>('HASH_SESSION', 'HASH_SRC_IP'),
      fc.boolean(),
      (src, sport, dport, proto, exts, alg, asError) => {
        const b = balancer(alg);
        const a = { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src, dst: VIP6 };
        let f: Uint8Array;
        if (asError) {
          const q = { src: VIP6, dst: src };
          const l4 =
            proto === 6
              ? tcp6(q, { sport: dport, dport: sport })
              : proto === 17
                ? udp6(q, { sport: dport, dport: sport })
                : icmp6Echo(q, { type: 129 });
          const inner = quote6(ipv6Packet(q, proto, l4, { exts }));
          f = icmp6ErrorFrame({ ...a, src: '2001:db8:ffff::1' }, { type: ICMP6_PACKET_TOO_BIG, inner });
        } else if (proto === 6) f = ipv6Frame(a, 6, tcp6(a, { sport, dport }), { exts });
        else if (proto === 17) f = ipv6Frame(a, 17, udp6(a, { sport, dport }), { exts });
        else f = ipv6Frame(a, 58, icmp6Echo(a), { exts });
        const { v } = run(b, f);
        assert.equal(name(v), `ACT${ACT_TX_BACKEND}`);
        const ports = proto === 58 ? [0, 0] : [sport, dport];
        const k: FlowKey6 = {
          family: 6,
          src,
          dst: Uint8Array.from(Buffer.from('fd000000000000000000000000000100', 'hex')),
          sport: ports[0]!,
          dport: ports[1]!,
          proto,
        };
        assert.equal(b.lastBackendId, referencePick(POOL_IDS, alg, k));
      },
    ),
    { numRuns: RUNS / 4 },
  );
});

test("IPv6 fragments: once its first fragment is balanced, every fragment reaches its flow's backend", () => {
  fc.assert(
    fc.property(
      fc.constantFrom('2001:db8::1', '2001:db8:1::99', 'fd12::3'),
      u16,
      u16,
      fc.constantFrom(6, 17),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 16, max: 2000 }),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom<InstanceConfig['algorithm']>('HASH_SESSION', 'HASH_SRC_IP'),
      fc.infiniteStream(fc.nat()),
      (src, sport, dport, proto, id, size, unit, alg, rnd) => {
        const b = balancer(alg);
        const a = { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src, dst: VIP6 };
        const l4 =
          proto === 6
            ? tcp6(a, { sport, dport, payload: new Uint8Array(size) })
            : udp6(a, { sport, dport, payload: new Uint8Array(size) });
        const frags = fragmentsOf(l4, unit, (piece, offset, m) =>
          ipv6Frame(a, proto, piece, { exts: [{ kind: 44, offset, m, id }] }),
        );
        fc.pre(frags.length >= 2);
        const later = shuffle(frags.slice(1), rnd);
        const k: FlowKey6 = {
          family: 6,
          src: Uint8Array.from(frags[0]!.subarray(22, 38)),
          dst: Uint8Array.from(frags[0]!.subarray(38, 54)),
          sport,
          dport,
          proto,
        };
        const flow = referencePick(POOL_IDS, alg, k);
        for (const f of [frags[0]!, ...later]) {
          assert.equal(verdictAction(run(b, f).v), ACT_TX_BACKEND);
          assert.equal(b.lastBackendId, flow, "the flow's backend");
        }
        assert.deepEqual(b.stats().fragments, { hit: later.length, miss: 0 });
      },
    ),
    { numRuns: RUNS / 8 },
  );
});
