// The frame builders are what every vector and benchmark is made of: their bytes are checked here
// against hand-written frames and against an independent one's-complement sum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arpReplyFrame,
  arpRequestFrame,
  ETH_P_8021AD,
  ETH_P_IPV4,
  ethernet,
  fromHex,
  icmpEcho,
  icmpError,
  ipv4,
  ipv4HeaderChecksum,
  l4Checksum,
  padTo,
  quote,
  TCP_ACK,
  TCP_SYN,
  tcp,
  tcpFrame,
  toHex,
  udp,
  udpFrame,
  withMacs,
} from '../../src/packet/build.js';

/** One's-complement sum of 16-bit words (odd byte padded); a correct checksum makes it 0xffff. */
function onesSum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) + (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudo(src: string, dst: string, proto: number, len: number): Uint8Array {
  const b = Buffer.alloc(12);
  src.split('.').forEach((o, i) => {
    b[i] = Number(o);
  });
  dst.split('.').forEach((o, i) => {
    b[4 + i] = Number(o);
  });
  b[9] = proto;
  b.writeUInt16BE(len, 10);
  return b;
}

test('hex helpers round-trip and reject malformed input with a stable code', () => {
  const b = Uint8Array.from([0, 1, 0xab, 0xff]);
  assert.equal(toHex(b), '0001abff');
  assert.equal(toHex(b, 1, 2), '01ab');
  assert.deepEqual(fromHex('00 01:AB-ff'), b);
  assert.deepEqual(fromHex(''), new Uint8Array(0));
  assert.throws(() => fromHex('abc'), { code: 'LBDSR_BAD_VALUE' });
  assert.throws(() => fromHex('zz'), { code: 'LBDSR_BAD_VALUE' });
});

test('IPv4 header: the textbook example gives checksum 0xb861', () => {
  // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 (RFC 1071 style example, 0x73 = 115 bytes)
  const h = ipv4({
    src: '192.168.0.1',
    dst: '192.168.0.199',
    proto: 17,
    id: 0,
    df: true,
    ttl: 64,
    payload: new Uint8Array(115 - 20),
  });
  assert.equal(toHex(h, 0, 20), '4500007300004000' + '4011b861' + 'c0a80001c0a800c7');
  assert.equal(ipv4HeaderChecksum(h), 0xb861);
});

test('IPv4 options, fragments and overrides land in the right bits', () => {
  const h = ipv4({
    src: '10.0.0.1',
    dst: '10.0.0.100',
    proto: 6,
    options: Uint8Array.from([1, 1, 7]),
    mf: true,
    fragOffset: 0x1abc,
    tos: 0x10,
    payload: Uint8Array.from([9, 9]),
  });
  assert.equal(h[0], 0x46, 'IHL 6 after options padded to 4 bytes');
  assert.equal(h.length, 26);
  assert.equal((h[2]! << 8) | h[3]!, 26);
  assert.equal(((h[6]! << 8) | h[7]!) & 0x1fff, 0x1abc);
  assert.ok(h[6]! & 0x20, 'MF');
  assert.equal(h[1], 0x10);
  assert.deepEqual([...h.subarray(20, 24)], [1, 1, 7, 0]);
  assert.equal(onesSum(h.subarray(0, 24)), 0xffff, 'header checksum valid');
  const bad = ipv4({
    src: '1.2.3.4',
    dst: '5.6.7.8',
    proto: 6,
    version: 6,
    ihl: 3,
    totalLength: 7,
    checksum: 0xbeef,
  });
  assert.equal(bad[0], 0x63);
  assert.equal((bad[2]! << 8) | bad[3]!, 7);
  assert.equal((bad[10]! << 8) | bad[11]!, 0xbeef);
});

test('TCP, UDP and ICMP checksums verify with the pseudo-header', () => {
  const src = '10.0.0.1';
  const dst = '10.0.0.100';
  const t = tcp({
    sport: 40000,
    dport: 80,
    flags: TCP_SYN | TCP_ACK,
    payload: Uint8Array.from([1, 2, 3]),
    pseudo: { src, dst },
  });
  assert.equal(onesSum(pseudo(src, dst, 6, t.length), t), 0xffff);
  assert.equal(t[12], 0x50);
  assert.equal(t[13], 0x12);
  assert.equal(l4Checksum(src, dst, 6, t), 0, 'checksum over a segment that holds its checksum is 0');
  const u = udp({ sport: 53, dport: 5353, payload: Uint8Array.from([7, 7, 7]), pseudo: { src, dst } });
  assert.equal(onesSum(pseudo(src, dst, 17, u.length), u), 0xffff);
  assert.equal((u[4]! << 8) | u[5]!, 11);
  const e = icmpEcho({ type: 8, id: 1, seq: 2, payload: Uint8Array.from([1, 2, 3, 4, 5]) });
  assert.equal(onesSum(e), 0xffff);
  const inner = ipv4({ src: dst, dst: src, proto: 6, payload: t });
  const err = icmpError({ type: 3, code: 4, mtu: 1400, inner: quote(inner) });
  assert.equal(err.length, 8 + 28);
  assert.equal((err[6]! << 8) | err[7]!, 1400);
  assert.equal(onesSum(err), 0xffff);
  assert.equal(quote(inner, 100).length, inner.length);
});

test('ARP request and reply frames are byte-exact', () => {
  const req = arpRequestFrame({
    senderMac: '52:54:00:00:00:01',
    senderIp: '10.0.0.1',
    targetIp: '10.0.0.100',
  });
  assert.equal(
    toHex(req),
    `ffffffffffff5254000000010806000108000604000152540000000${'1'}0a000001000000000000${'0a000064'}${'00'.repeat(18)}`,
  );
  const rep = arpReplyFrame({
    senderMac: 'aa:bb:cc:dd:ee:ff',
    senderIp: '10.0.0.100',
    targetMac: '52:54:00:00:00:01',
    targetIp: '10.0.0.1',
  });
  assert.equal(
    toHex(rep, 0, 42),
    '525400000001aabbccddeeff08060001080006040002aabbccddeeff0a0000645254000000010a000001',
  );
  assert.equal(rep.length, 60);
  assert.equal(
    arpRequestFrame({ senderMac: '52:54:00:00:00:01', senderIp: 1, targetIp: 2, padding: false }).length,
    42,
  );
});

test('Ethernet with VLAN tags, padding and MAC rewrite', () => {
  const f = ethernet({
    dst: 'aa:bb:cc:dd:ee:ff',
    src: '52:54:00:00:00:01',
    type: ETH_P_IPV4,
    vlans: [{ tpid: ETH_P_8021AD, tci: 100 }, { tci: 10 }],
    payload: Uint8Array.from([0x45]),
    padding: 3,
  });
  assert.equal(toHex(f), 'aabbccddeeff525400000001' + '88a80064' + '8100000a' + '0800' + '45000000');
  assert.equal(padTo(f).length, 60);
  assert.equal(padTo(new Uint8Array(70)).length, 70);
  const t = tcpFrame(
    { ethDst: 'aa:bb:cc:dd:ee:ff', ethSrc: '52:54:00:00:00:01', src: '10.0.0.1', dst: '10.0.0.100' },
    { sport: 1, dport: 2 },
  );
  const w = withMacs(t, '01:01:01:01:01:01', '02:00:00:00:be:01');
  assert.equal(toHex(w, 0, 12), '01010101010102000000be01');
  assert.equal(toHex(w, 12), toHex(t, 12));
  assert.notEqual(w, t, 'a copy, the input is untouched');
  assert.equal(toHex(t, 0, 6), 'aabbccddeeff');
  const u = udpFrame(
    { ethDst: 'aa:bb:cc:dd:ee:ff', ethSrc: '52:54:00:00:00:01', src: '10.0.0.1', dst: '10.0.0.100' },
    { sport: 1, dport: 2 },
  );
  assert.equal(u.length, 14 + 20 + 8);
});

test('builders reject bad addresses with the address error codes', () => {
  assert.throws(() => ethernet({ dst: 'aa:bb', src: '52:54:00:00:00:01', type: 0x0800 }), {
    code: 'LBDSR_BAD_MAC',
  });
  assert.throws(() => ethernet({ dst: new Uint8Array(5), src: '52:54:00:00:00:01', type: 0x0800 }), {
    code: 'LBDSR_BAD_MAC',
  });
  assert.throws(() => ipv4({ src: '10.0.0.256', dst: '10.0.0.1', proto: 6 }), { code: 'LBDSR_BAD_IPV4' });
});
