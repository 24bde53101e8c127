// The health prober's IPv6 frames without a network (src/health/frames6.ts, inflight.ts): the Neighbor
// Solicitation it resolves a backend with (from the probe MAC's link-local address to the target's
// solicited-node group, with the source link-layer option, checksum valid), the advertisement it
// defends its link-local address with, what it reads off advertisements (only valid ones: hop limit
// 255), and probes of an IPv6 VIP: only answers from the VIP to the link-local address and the
// probe's own port count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpv6, linkLocalOf, parseIpv6 } from '../../src/core/addr.js';
import { type Addressing, type Parsed, parseFrame } from '../../src/health/frames.js';
import { ndAdvertise, ndSolicit } from '../../src/health/frames6.js';
import { InFlightProbes } from '../../src/health/inflight.js';
import type { Verdict } from '../../src/health/tcp-probe.js';
import type { ResolvedCheck } from '../../src/health/types.js';
import { TCP_ACK, TCP_RST, TCP_SYN, toHex } from '../../src/packet/build.js';
import { icmp6EchoFrame, icmp6ErrorFrame, naFrame, nsFrame } from '../../src/packet/build6.js';

const PROBE_MAC = Uint8Array.of(0x02, 0xdb, 10, 0, 0, 250);
const LL = linkLocalOf(PROBE_MAC);
const LL_TEXT = formatIpv6(LL);
const BACKEND = 'fd00::21';
const VIP6 = 'fd00::100';
const SERVER_MAC = '02:00:00:00:00:21';

/** The one's-complement sum of an ICMPv6 message with its pseudo-header (0xffff when valid). */
function icmp6Sum(f: Uint8Array): number {
  const plen = (f[18]! << 8) | f[19]!;
  let sum = plen + 58;
  for (let i = 22; i < 54; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
  for (let i = 54; i < 54 + plen; i += 2) sum += (f[i]! << 8) | (i + 1 < 54 + plen ? f[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('Neighbor Discovery frames of the prober', () => {
  it('solicits a backend from the link-local address of the probe MAC, to its solicited-node group', () => {
    const f = ndSolicit(PROBE_MAC, parseIpv6(BACKEND));
    assert.equal(f.length, 86);
    assert.equal(toHex(f, 0, 14), '3333ff000021' + '02db0a0000fa' + '86dd');
    assert.equal(LL_TEXT, 'fe80::db:aff:fe00:fa');
    assert.equal(formatIpv6(f, 22), LL_TEXT);
    assert.equal(formatIpv6(f, 38), 'ff02::1:ff00:21');
    assert.equal(f[21], 255, 'hop limit');
    assert.equal(f[54], 135);
    assert.equal(formatIpv6(f, 62), BACKEND, 'target');
    assert.equal(toHex(f, 78, 8), '0101' + '02db0a0000fa', 'source link-layer option: the probe MAC');
    assert.equal(icmp6Sum(f), 0xffff, 'checksum');
  });

  it('advertises its link-local address when solicited: S|O, to the asker; to all nodes for DAD', () => {
    const asker = parseIpv6('fd00::21');
    const f = ndAdvertise(PROBE_MAC, SERVER_MAC, asker);
    assert.equal(f.length, 86);
    assert.equal(toHex(f, 0, 12), '020000000021' + '02db0a0000fa');
    assert.equal(formatIpv6(f, 22), LL_TEXT);
    assert.equal(formatIpv6(f, 38), 'fd00::21');
    assert.equal(f[54], 136);
    assert.equal(f[58], 0x60, 'solicited and override');
    assert.equal(formatIpv6(f, 62), LL_TEXT, 'target');
    assert.equal(toHex(f, 78, 8), '0201' + '02db0a0000fa', 'target link-layer option: the probe MAC');
    assert.equal(icmp6Sum(f), 0xffff);
    const dad = ndAdvertise(PROBE_MAC, SERVER_MAC, new Uint8Array(16));
    assert.equal(toHex(dad, 0, 6), '333300000001');
    assert.equal(formatIpv6(dad, 38), 'ff02::1');
    assert.equal(dad[58], 0x20, 'override only');
  });

  it('reads the target and its link-layer address off advertisements and solicitations', () => {
    const na = naFrame({
      srcMac: SERVER_MAC,
      dstMac: PROBE_MAC,
      src: BACKEND,
      dst: LL,
      target: BACKEND,
      flags: 0x60,
      tllaoMac: '02:00:00:00:00:99',
    });
    assert.deepEqual(parseFrame(na), {
      kind: 'nd',
      type: 136,
      srcMac: SERVER_MAC,
      src: BACKEND,
      target: BACKEND,
      lladdr: '02:00:00:00:00:99',
    });
    const ns = nsFrame({ srcMac: SERVER_MAC, src: BACKEND, target: LL });
    assert.deepEqual(parseFrame(ns), {
      kind: 'nd',
      type: 135,
      srcMac: SERVER_MAC,
      src: BACKEND,
      target: LL_TEXT,
      lladdr: SERVER_MAC,
    });
    // A routed (hop limit below 255) message is not Neighbor Discovery (RFC 4861 7.1.2).
    const routed = nsFrame({ srcMac: SERVER_MAC, src: BACKEND, target: LL, hopLimit: 254 });
    assert.equal(parseFrame(routed), undefined);
    const noOption = nsFrame({ srcMac: SERVER_MAC, src: BACKEND, target: LL, sllao: false });
    assert.equal((parseFrame(noOption) as { lladdr?: string }).lladdr, undefined);
  });
});

describe('probes of an IPv6 VIP in flight', () => {
  const a: Addressing = {
    dstMac: Uint8Array.of(2, 0, 0, 0, 0, 0x21),
    srcMac: PROBE_MAC,
    src: LL,
    dst: parseIpv6(VIP6),
  };
  const base = { intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, path: '/', expect: 200 };
  const setup = () => {
    const verdicts: Verdict[] = [];
    return { probes: new InFlightProbes((_k, v) => verdicts.push(v)), verdicts };
  };

  it('TCP: a SYN over IPv6 from the link-local address; only the SYN-ACK from the VIP to it counts', () => {
    const { probes, verdicts } = setup();
    const check: ResolvedCheck = { type: 'TCP', port: 80, ...base };
    const syn = parseFrame(probes.start('web6/1', check, a, `[${VIP6}]`, 0)[0]!);
    assert.ok(syn?.kind === 'tcp');
    assert.equal(syn.src, LL_TEXT);
    assert.equal(syn.dst, VIP6);
    assert.equal(syn.flags, TCP_SYN);
    const answer = (over: Partial<Extract<Parsed, { kind: 'tcp' }>>): Parsed => ({
      kind: 'tcp',
      srcMac: SERVER_MAC,
      src: VIP6,
      dst: LL_TEXT,
      sport: 80,
      dport: syn.sport,
      seq: 7,
      ack: (syn.seq + 1) >>> 0,
      flags: TCP_SYN | TCP_ACK,
      payload: new Uint8Array(0),
      ...over,
    });
    assert.deepEqual(probes.receive(answer({ src: 'fd00::101' }), 1), [], 'another VIP');
    assert.deepEqual(probes.receive(answer({ dst: 'fe80::1' }), 1), [], 'another address');
    const rst = probes.receive(answer({}), 2);
    assert.equal(rst.length, 1);
    const r = parseFrame(rst[0]!);
    assert.ok(r?.kind === 'tcp' && r.flags === TCP_RST && r.dst === VIP6);
    assert.deepEqual(verdicts, [{ ok: true, reason: 'SYN-ACK' }]);
  });

  it('HTTP: the Host header names the IPv6 VIP in brackets', () => {
    const { probes } = setup();
    const check: ResolvedCheck = { type: 'HTTP', port: 8080, ...base };
    const syn = parseFrame(probes.start('web6/1', check, a, `[${VIP6}]`, 0)[0]!);
    assert.ok(syn?.kind === 'tcp');
    const sends = probes.receive(
      {
        kind: 'tcp',
        srcMac: SERVER_MAC,
        src: VIP6,
        dst: LL_TEXT,
        sport: 8080,
        dport: syn.sport,
        seq: 7,
        ack: (syn.seq + 1) >>> 0,
        flags: TCP_SYN | TCP_ACK,
        payload: new Uint8Array(0),
      },
      1,
    );
    const get = parseFrame(sends[0]!);
    assert.ok(get?.kind === 'tcp');
    assert.match(Buffer.from(get.payload).toString(), /\r\nHost: \[fd00::100\]:8080\r\n/);
  });

  it('ICMP: an ICMPv6 echo request; the echo reply from the VIP judges it good', () => {
    const { probes, verdicts } = setup();
    const check: ResolvedCheck = { type: 'ICMP', port: 0, ...base };
    const req = probes.start('ping6/1', check, a, VIP6, 0)[0]!;
    assert.equal(req[20], 58);
    assert.equal(req[54], 128);
    assert.equal(icmp6Sum(req), 0xffff);
    const id = (req[58]! << 8) | req[59]!;
    const seq = (req[60]! << 8) | req[61]!;
    const reply = icmp6EchoFrame(
      { ethSrc: SERVER_MAC, ethDst: PROBE_MAC, src: VIP6, dst: LL },
      { type: 129, id, seq },
    );
    probes.receive(parseFrame(reply)!, 3);
    assert.deepEqual(verdicts, [{ ok: true, reason: 'echo reply' }]);
  });

  it('UDP: ICMPv6 port unreachable (type 1 code 4) quoting the probe judges it bad', () => {
    const { probes, verdicts } = setup();
    const check: ResolvedCheck = { type: 'UDP', port: 53, ...base };
    const dgram = probes.start('dns6/1', check, a, VIP6, 0)[0]!;
    const sport = (dgram[54]! << 8) | dgram[55]!;
    const sent = parseFrame(dgram);
    assert.ok(sent?.kind === 'udp' && sent.dport === 53 && sent.src === LL_TEXT);
    const err = icmp6ErrorFrame(
      { ethSrc: SERVER_MAC, ethDst: PROBE_MAC, src: VIP6, dst: LL },
      { type: 1, code: 4, inner: dgram.subarray(14) },
    );
    probes.receive(parseFrame(err)!, 4);
    assert.deepEqual(verdicts, [{ ok: false, reason: 'port unreachable' }]);
    assert.ok(sport >= 32768);
  });
});
