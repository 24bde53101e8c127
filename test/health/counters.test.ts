// The pure bookkeeping of the health prober: rise/fall counters, ARP resolution with silence, ARP
// flux with its expiry, the defaults of a resolved check, and the frames it builds and parses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { ArpTable, FluxWatch, SILENT_AFTER } from '../../src/health/arp-watch.js';
import { arpRequest, parseFrame, tcpSegmentFrame, udpDatagramFrame } from '../../src/health/frames.js';
import { RiseFall } from '../../src/health/rise-fall.js';
import { resolveCheck } from '../../src/health/types.js';
import { inetChecksum, TCP_SYN } from '../../src/packet/build.js';

describe('rise/fall', () => {
  it('is UNKNOWN until rise good or fall bad probes in a row; the other kind restarts the count', () => {
    const c = new RiseFall();
    assert.equal(c.record(true, 2, 3), undefined);
    assert.equal(c.health, 'UNKNOWN');
    assert.equal(c.record(true, 2, 3), 'UP');
    assert.equal(c.record(false, 2, 3), undefined);
    assert.equal(c.record(false, 2, 3), undefined);
    assert.equal(c.record(true, 2, 3), undefined, 'a good probe resets the bad count');
    assert.equal(c.record(false, 2, 3), undefined);
    assert.equal(c.record(false, 2, 3), undefined);
    assert.equal(c.record(false, 2, 3), 'DOWN');
    assert.equal(c.record(false, 2, 3), undefined, 'reported once');
    assert.equal(c.record(true, 2, 3), undefined);
    assert.equal(c.record(true, 2, 3), 'UP');
  });
});

describe('ARP table', () => {
  const ip = parseIpv4('10.0.0.21');

  it('asks at once, retries fast until resolved, then refreshes; reports first MAC and changes', () => {
    const t = new ArpTable(10_000, 1000);
    t.setAddresses([ip]);
    assert.deepEqual(t.due(0).ask, [ip]);
    assert.deepEqual(t.due(500).ask, []);
    assert.deepEqual(t.due(1000).ask, [ip], 'retry while unresolved');
    assert.deepEqual(t.answer(ip, 'aa:aa:aa:aa:aa:01', 1001), { mac: 'aa:aa:aa:aa:aa:01', report: true });
    assert.deepEqual(t.answer(ip, 'aa:aa:aa:aa:aa:01', 1002), { mac: 'aa:aa:aa:aa:aa:01', report: false });
    assert.deepEqual(t.due(2000).ask, []);
    assert.deepEqual(t.due(2000 + 10_000).ask, [ip]);
    assert.equal(t.answer(ip, 'aa:aa:aa:aa:aa:02', 12_001)?.report, true, 'a change');
    assert.equal(t.answer(parseIpv4('10.0.0.99'), 'aa:aa:aa:aa:aa:03', 1), undefined, 'not watched');
  });

  it(`reports silence once after ${SILENT_AFTER} refreshes without an answer, keeps the MAC, reports the return`, () => {
    const t = new ArpTable(100, 100);
    t.setAddresses([ip]);
    t.due(0);
    t.answer(ip, 'aa:aa:aa:aa:aa:01', 0);
    const silent: number[] = [];
    for (let now = 100; now <= 800; now += 100) silent.push(t.due(now).silent.length);
    assert.deepEqual(silent, [0, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(t.mac(ip), 'aa:aa:aa:aa:aa:01');
    assert.equal(t.answer(ip, 'aa:aa:aa:aa:aa:01', 801)?.report, true);
  });

  it('forgets dropped addresses', () => {
    const t = new ArpTable(100, 100);
    t.setAddresses([ip]);
    t.answer(ip, 'aa:aa:aa:aa:aa:01', 0);
    t.setAddresses([]);
    assert.equal(t.mac(ip), undefined);
    assert.deepEqual(t.due(1000).ask, []);
  });
});

describe('ARP flux', () => {
  const vip = parseIpv4('10.0.0.100');
  it('reports each new answering MAC with the whole set, and the set shrinking after silent rounds', () => {
    const f = new FluxWatch(100);
    f.setVips([vip]);
    assert.deepEqual(f.due(0).ask, [vip]);
    assert.deepEqual(f.answer(vip, 'bb:00:00:00:00:02'), ['bb:00:00:00:00:02']);
    assert.equal(f.answer(vip, 'bb:00:00:00:00:02'), undefined);
    assert.deepEqual(f.answer(vip, 'bb:00:00:00:00:01'), ['bb:00:00:00:00:01', 'bb:00:00:00:00:02']);
    const changes = [];
    for (let now = 100; now <= 600; now += 100) {
      if (now === 200) f.answer(vip, 'bb:00:00:00:00:01');
      changes.push(...f.due(now).changed);
    }
    assert.deepEqual(changes, [
      { vip, macs: ['bb:00:00:00:00:01'] },
      { vip, macs: [] },
    ]);
  });
});

describe('resolveCheck', () => {
  it('fills the defaults, lets the backend override field by field, and takes the service port', () => {
    assert.deepEqual(resolveCheck({ type: 'TCP' }, undefined, 80), {
      type: 'TCP',
      port: 80,
      intervalMs: 2000,
      timeoutMs: 1000,
      rise: 2,
      fall: 3,
      path: '/',
      expect: 200,
    });
    const r = resolveCheck(
      { type: 'HTTP', port: 8080, path: '/h', body: 'ok' },
      { interval: 5, timeout: 0.5 },
    );
    assert.equal(r?.intervalMs, 5000);
    assert.equal(r?.timeoutMs, 500);
    assert.equal(r?.port, 8080);
    assert.equal(r?.body, 'ok');
    assert.equal(resolveCheck({ type: 'TCP' }, { type: 'NONE' }, 80), undefined);
    assert.equal(resolveCheck(undefined, undefined, 80), undefined);
    assert.equal(resolveCheck({ type: 'UDP' }, undefined, undefined), undefined, 'no port at all');
    assert.equal(resolveCheck({ type: 'ICMP' }, undefined, undefined)?.port, 0);
  });
});

describe('prober frames', () => {
  const a = {
    dstMac: Uint8Array.of(2, 0, 0, 0, 0, 0x21),
    srcMac: Uint8Array.of(2, 0xdb, 10, 0, 0, 250),
    src: parseIpv4('10.0.0.250'),
    dst: parseIpv4('10.0.0.100'),
  };

  it('builds a TCP SYN with a valid checksum that parses back', () => {
    const f = tcpSegmentFrame(a, 40000, 80, { flags: TCP_SYN, seq: 7, ack: 0, mss: 1460 });
    assert.equal(inetChecksum(f, 14, 20), 0, 'IPv4 header checksum');
    const p = parseFrame(f);
    assert.equal(p?.kind, 'tcp');
    if (p?.kind !== 'tcp') return;
    assert.deepEqual([p.src, p.dst, p.sport, p.dport, p.seq, p.flags], [a.src, a.dst, 40000, 80, 7, TCP_SYN]);
    assert.equal(p.srcMac, '02:db:0a:00:00:fa');
  });

  it('builds a UDP datagram and an ARP request that parse back; ignores other frames', () => {
    const u = parseFrame(udpDatagramFrame(a, 40001, 53, new TextEncoder().encode('hi')));
    assert.equal(u?.kind === 'udp' && new TextDecoder().decode(u.payload), 'hi');
    const r = parseFrame(arpRequest(a.srcMac, a.src, parseIpv4('10.0.0.21')));
    assert.deepEqual(r, {
      kind: 'arp',
      op: 1,
      srcMac: '02:db:0a:00:00:fa',
      sha: '02:db:0a:00:00:fa',
      spa: a.src,
      tpa: parseIpv4('10.0.0.21'),
    });
    assert.equal(parseFrame(new Uint8Array(10)), undefined);
    assert.equal(parseFrame(new Uint8Array(60)), undefined);
  });
});
