// The probes in flight, without a network: which answers count for which probe (all the backends of
// a service answer from the same VIP, so only the prober's own port, echo id and sequence decide),
// what a timeout and a port-unreachable give, and that a target going away ends its probe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { type Addressing, type Parsed, parseFrame } from '../../src/health/frames.js';
import { InFlightProbes } from '../../src/health/inflight.js';
import type { Verdict } from '../../src/health/tcp-probe.js';
import type { ResolvedCheck } from '../../src/health/types.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../src/packet/build.js';

const PROBE = parseIpv4('10.0.0.250');
const VIP = parseIpv4('10.0.0.100');
const a: Addressing = {
  dstMac: Uint8Array.of(2, 0, 0, 0, 0, 0x21),
  srcMac: Uint8Array.of(2, 0xdb, 10, 0, 0, 250),
  src: PROBE,
  dst: VIP,
};
const base = { intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, path: '/', expect: 200 };
const tcpCheck: ResolvedCheck = { type: 'TCP', port: 80, ...base };
const udpCheck: ResolvedCheck = { type: 'UDP', port: 53, ...base };
const icmpCheck: ResolvedCheck = { type: 'ICMP', port: 0, ...base };

function setup() {
  const verdicts: { key: string; v: Verdict; ms: number }[] = [];
  const probes = new InFlightProbes((key, v, ms) => verdicts.push({ key, v, ms }));
  return { probes, verdicts };
}

function sent(frame: Uint8Array | undefined) {
  const p = parseFrame(frame!);
  assert.ok(p);
  return p;
}

describe('probes in flight', () => {
  it('TCP: only the SYN-ACK to its own port from VIP:port counts; it is answered with RST', () => {
    const { probes, verdicts } = setup();
    const syn = sent(probes.start('web/1', tcpCheck, a, '10.0.0.100', 0)[0]);
    assert.equal(syn.kind, 'tcp');
    if (syn.kind !== 'tcp') return;
    assert.equal(syn.flags, TCP_SYN);
    assert.ok(syn.sport >= 32768 && syn.sport <= 60999);
    const answer = (over: Partial<Extract<Parsed, { kind: 'tcp' }>>): Parsed => ({
      kind: 'tcp',
      srcMac: '02:00:00:00:00:21',
      src: VIP,
      dst: PROBE,
      sport: 80,
      dport: syn.sport,
      seq: 9,
      ack: (syn.seq + 1) >>> 0,
      flags: TCP_SYN | TCP_ACK,
      payload: new Uint8Array(0),
      ...over,
    });
    assert.deepEqual(probes.receive(answer({ dport: syn.sport + 1 }), 1), [], 'another port');
    assert.deepEqual(probes.receive(answer({ sport: 81 }), 1), [], 'another service port');
    assert.deepEqual(probes.receive(answer({ src: parseIpv4('10.0.0.21') }), 1), [], 'not from the VIP');
    assert.deepEqual(probes.receive(answer({ dst: parseIpv4('10.0.0.2') }), 1), [], 'not to probe_ip');
    assert.equal(verdicts.length, 0);
    const rst = probes.receive(answer({}), 3);
    const r = sent(rst[0]);
    assert.ok(r.kind === 'tcp' && r.flags === TCP_RST, 'the SYN-ACK is answered with RST');
    assert.deepEqual(verdicts, [{ key: 'web/1', v: { ok: true, reason: 'SYN-ACK' }, ms: 3 }]);
    assert.equal(probes.busy('web/1'), false);
  });

  it('each probe gets its own port; a refused one and a silent one are judged bad', () => {
    const { probes, verdicts } = setup();
    const s1 = sent(probes.start('web/1', tcpCheck, a, 'h', 0)[0]);
    const s2 = sent(probes.start('web/2', tcpCheck, a, 'h', 0)[0]);
    assert.ok(s1.kind === 'tcp' && s2.kind === 'tcp' && s1.sport !== s2.sport);
    if (s1.kind !== 'tcp') return;
    probes.receive(
      {
        kind: 'tcp',
        srcMac: '',
        src: VIP,
        dst: PROBE,
        sport: 80,
        dport: s1.sport,
        seq: 0,
        ack: (s1.seq + 1) >>> 0,
        flags: TCP_RST | TCP_ACK,
        payload: new Uint8Array(0),
      },
      2,
    );
    assert.deepEqual(probes.expire(499), []);
    probes.expire(500);
    assert.deepEqual(
      verdicts.map((v) => [v.key, v.v.ok, v.v.reason]),
      [
        ['web/1', false, 'connection refused'],
        ['web/2', false, 'no answer within 500 ms'],
      ],
    );
    assert.equal(probes.size, 0);
  });

  it('UDP: an answer to its port from the check port is good (from any address); port unreachable is bad', () => {
    const { probes, verdicts } = setup();
    const d = sent(probes.start('dns/1', { ...udpCheck, body: 'pong' }, a, 'h', 0)[0]);
    assert.equal(d.kind, 'udp');
    if (d.kind !== 'udp') return;
    const reply = (payload: string): Parsed => ({
      kind: 'udp',
      srcMac: '',
      src: parseIpv4('10.0.0.21'),
      dst: PROBE,
      sport: 53,
      dport: d.sport,
      payload: new TextEncoder().encode(payload),
    });
    probes.receive(reply('nope'), 1);
    assert.deepEqual(verdicts[0]?.v, { ok: false, reason: "UDP answer lacks 'pong'" });
    const e = sent(probes.start('dns/1', udpCheck, a, 'h', 10)[0]);
    if (e.kind !== 'udp') return;
    probes.receive(
      {
        kind: 'unreachable',
        srcMac: '',
        code: 3,
        port: true,
        innerProto: 17,
        innerDst: VIP,
        innerSport: e.sport,
        innerDport: 53,
      },
      11,
    );
    assert.deepEqual(verdicts[1]?.v, { ok: false, reason: 'port unreachable' });
  });

  it('ICMP: only an echo reply from the VIP with its id and sequence counts', () => {
    const { probes, verdicts } = setup();
    assert.equal(probes.start('icmp/1', icmpCheck, a, 'h', 0).length, 1, 'an echo request');
    const reply = (over: object): Parsed => ({
      kind: 'echo-reply',
      srcMac: '',
      src: VIP,
      dst: PROBE,
      id: probes.echoId,
      seq: 1,
      ...over,
    });
    probes.receive(reply({ id: (probes.echoId + 1) & 0xffff }), 1);
    probes.receive(reply({ seq: 2 }), 1);
    probes.receive(reply({ src: parseIpv4('10.0.0.21') }), 1);
    assert.equal(verdicts.length, 0);
    probes.receive(reply({}), 4);
    assert.deepEqual(verdicts, [{ key: 'icmp/1', v: { ok: true, reason: 'echo reply' }, ms: 4 }]);
  });

  it('a target that goes away ends its probe without a verdict', () => {
    const { probes, verdicts } = setup();
    probes.start('web/1', tcpCheck, a, 'h', 0);
    probes.start('icmp/1', icmpCheck, a, 'h', 0);
    probes.abort('web/1');
    assert.equal(probes.busy('web/1'), false);
    assert.equal(probes.abortAll().length, 0);
    probes.expire(10_000);
    assert.deepEqual(verdicts, []);
  });
});
