// The IPv6 frame builders (src/packet/build6.ts) feed the IPv6 vectors, the fuzz mix, the benches and the
// announcer: their bytes are checked here against frames written out by hand from RFC 8200 / 4443 / 4861,
// and every checksum against an independent one's-complement sum over the pseudo-header.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, TCP_SYN, toHex } from '../../src/packet/build.js';
import {
  extChain,
  ICMP6_PACKET_TOO_BIG,
  icmp6EchoFrame,
  icmp6ErrorFrame,
  ipv6Packet,
  NH_DSTOPTS,
  NH_FRAGMENT,
  NH_HOPOPTS,
  NH_ROUTING,
  NH_TCP,
  naFrame,
  nsFrame,
  quote6,
  tcp6,
  tcp6Frame,
  udp6Frame,
  unsolicitedNaFrame,
} from '../../src/packet/build6.js';

/** One's-complement sum of 16-bit words (odd byte padded); a correct checksum makes it 0xffff. */
function onesSum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) + (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The pseudo-header of the IPv6 packet at frame offset 14 for the transport at `l4` (RFC 8200 8.1). */
function pseudo6(frame: Uint8Array, l4: number, nh: number): Uint8Array {
  const len = 54 + ((frame[18]! << 8) | frame[19]!) - l4;
  const b = Buffer.alloc(40);
  b.set(frame.subarray(22, 54), 0);
  b.writeUInt32BE(len, 32);
  b[39] = nh;
  return b;
}

const A = { ethDst: '02:00:00:00:00:aa', ethSrc: '02:00:00:00:00:01', src: '2001:db8::1', dst: 'fd00::100' };

test('a TCP SYN over IPv6 has the fixed header of RFC 8200 and a valid checksum', () => {
  const f = tcp6Frame(A, { sport: 43210, dport: 80, flags: TCP_SYN });
  assert.equal(f.length, 14 + 40 + 20);
  assert.equal(
    toHex(f, 0, 54),
    '02000000' +
      '00aa020000000001' +
      '86dd' +
      '60000000' +
      '0014' +
      '06' +
      '40' +
      '20010db8000000000000000000000001' +
      'fd000000000000000000000000000100',
  );
  assert.equal(onesSum(pseudo6(f, 54, 6), f.subarray(54)), 0xffff);
});

test('UDP and ICMPv6 echo carry valid checksums; UDP is never sent with checksum 0', () => {
  const u = udp6Frame(A, { sport: 5000, dport: 53, payload: Uint8Array.of(1, 2, 3) });
  assert.equal(onesSum(pseudo6(u, 54, 17), u.subarray(54)), 0xffff);
  assert.notEqual((u[60]! << 8) | u[61]!, 0);
  const e = icmp6EchoFrame(A, { id: 7, seq: 9 });
  assert.equal(toHex(e, 54, 8).slice(0, 2), '80');
  assert.equal(toHex(e, 58, 4), '00070009');
  assert.equal(onesSum(pseudo6(e, 54, 58), e.subarray(54)), 0xffff);
});

test('extension headers chain their next-header bytes in order and pad options with PadN', () => {
  const c = extChain(
    [
      { kind: NH_HOPOPTS },
      { kind: NH_ROUTING, len: 16 },
      { kind: NH_FRAGMENT, m: true, id: 0xabcdef01 },
      { kind: NH_DSTOPTS },
    ],
    NH_TCP,
  );
  assert.equal(c.first, 0);
  assert.equal(
    toHex(c.bytes),
    '2b00010400000000' + // hop-by-hop: next 43, len 0, PadN(4)
      '2c01fd0000000000' + // routing: next 44, len 1 (16 bytes), type 253, segments left 0
      '0000000000000000' +
      '3c000001abcdef01' + // fragment: next 60, offset 0, M, id
      '0600010400000000', // destination options: next TCP
  );
  const f = tcp6Frame(A, { sport: 1, dport: 80 }, { exts: [{ kind: NH_FRAGMENT, offset: 185, id: 5 }] });
  assert.equal(f[20], NH_FRAGMENT);
  assert.equal(toHex(f, 54, 8), '060005c800000005');
  assert.equal((f[18]! << 8) | f[19]!, 8 + 20);
});

test('overrides break what a malformed-input vector needs broken', () => {
  const f = tcp6Frame(A, { sport: 1, dport: 80 }, { version: 4, payloadLength: 200, hopLimit: 1 });
  assert.equal(f[14]! >> 4, 4);
  assert.equal((f[18]! << 8) | f[19]!, 200);
  assert.equal(f[21], 1);
  const cut = tcp6Frame(A, { sport: 1, dport: 80 }, { exts: [{ kind: NH_HOPOPTS, hdrExtLen: 9 }] });
  assert.equal(cut[55], 9);
  const short = tcp6Frame(A, { sport: 1, dport: 80 }, { truncateTo: 50 });
  assert.equal(short.length, 64);
});

test('a Neighbor Solicitation for a VIP: solicited-node destination, 33:33:ff MAC, SLLAO, valid checksum', () => {
  const f = nsFrame({ srcMac: '02:00:00:00:00:01', src: 'fe80::1', target: 'fd00::100' });
  assert.equal(f.length, 86);
  assert.equal(toHex(f, 0, 6), '3333ff000100');
  assert.equal(f[21], 255);
  assert.equal(toHex(f, 38, 16), 'ff0200000000000000000001ff000100');
  assert.equal(toHex(f, 54, 2), '8700');
  assert.equal(toHex(f, 62, 16), 'fd000000000000000000000000000100');
  assert.equal(toHex(f, 78), '0101020000000001');
  assert.equal(onesSum(pseudo6(f, 54, 58), f.subarray(54)), 0xffff);
  const dad = nsFrame({ srcMac: '02:00:00:00:00:01', src: '::', target: 'fd00::100', sllao: false });
  assert.equal(dad.length, 78);
  assert.equal(onesSum(pseudo6(dad, 54, 58), dad.subarray(54)), 0xffff);
});

test('a Neighbor Advertisement is the 86 bytes of docs/semantics.md 6b, written out by hand', () => {
  const f = naFrame({
    srcMac: 'aa:bb:cc:dd:ee:ff',
    dstMac: '02:00:00:00:00:01',
    src: 'fd00::100',
    dst: 'fe80::1',
    target: 'fd00::100',
    flags: 0x60,
    tllaoMac: 'aa:bb:cc:dd:ee:ff',
  });
  const sum = toHex(f, 56, 2);
  const want = fromHex(
    '020000000001aabbccddeeff86dd' +
      '6000000000203aff' +
      'fd000000000000000000000000000100' +
      'fe800000000000000000000000000001' +
      `8800${sum}60000000` +
      'fd000000000000000000000000000100' +
      '0201aabbccddeeff',
  );
  assert.deepEqual(f, want);
  assert.equal(onesSum(pseudo6(f, 54, 58), f.subarray(54)), 0xffff);
  const u = unsolicitedNaFrame('aa:bb:cc:dd:ee:ff', 'fd00::100');
  assert.equal(u.length, 86);
  assert.equal(toHex(u, 0, 6), '333300000001');
  assert.equal(toHex(u, 38, 16), 'ff020000000000000000000000000001');
  assert.equal(u[58], 0x20);
  assert.equal(onesSum(pseudo6(u, 54, 58), u.subarray(54)), 0xffff);
});

test('a Packet Too Big quotes the VIP->client packet with the MTU in its second word', () => {
  const inner = ipv6Packet(
    { src: 'fd00::100', dst: '2001:db8::1' },
    NH_TCP,
    tcp6(
      { src: 'fd00::100', dst: '2001:db8::1' },
      { sport: 80, dport: 43210, payload: new Uint8Array(2000) },
    ),
  );
  const q = quote6(inner);
  assert.equal(q.length, 1232);
  const f = icmp6ErrorFrame(
    { ...A, src: '2001:db8:ffff::1' },
    { type: ICMP6_PACKET_TOO_BIG, mtu: 1400, inner: q },
  );
  assert.equal(f.length, 14 + 40 + 8 + 1232);
  assert.equal(toHex(f, 54, 1), '02');
  assert.equal(toHex(f, 58, 4), '00000578');
  assert.deepEqual(f.subarray(62), q);
  assert.equal(onesSum(pseudo6(f, 54, 58), f.subarray(54)), 0xffff);
});
