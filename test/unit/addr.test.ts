// Address parsing and formatting (src/core/addr.ts): accepted forms, clear errors with stable codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  checkVip,
  formatIpv4,
  formatMac,
  isGroupMac,
  isZeroMac,
  normalizeMac,
  parseIpv4,
  parseMac,
} from '../../src/core/addr.js';

test('MACs parse with colons or dashes, any case, and format lower-case', () => {
  assert.deepEqual([...parseMac('aa:bb:cc:dd:ee:ff')], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
  assert.deepEqual([...parseMac('01-01-01-01-01-01')], [1, 1, 1, 1, 1, 1]);
  assert.equal(normalizeMac(' AA:BB:CC:DD:EE:0F '), 'aa:bb:cc:dd:ee:0f');
  assert.equal(formatMac(Uint8Array.from([9, 8, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]), 1), '08:aa:bb:cc:dd:ee');
});

test('malformed MACs are refused with LBDSR_BAD_MAC and a message naming the input', () => {
  for (const bad of [
    'aa:bb:cc:dd:ee',
    'aa:bb:cc:dd:ee:ff:00',
    'aa:bb-cc:dd:ee:ff',
    'gg:bb:cc:dd:ee:ff',
    'aabbccddeeff',
    '',
    'a:b:c:d:e:f',
  ]) {
    assert.throws(
      () => parseMac(bad),
      (e: Error & { code?: string }) => e.code === 'LBDSR_BAD_MAC' && e.message.includes(bad),
    );
  }
  assert.throws(() => parseMac(42 as unknown as string), { code: 'LBDSR_BAD_MAC' });
});

test('group and zero MACs are recognised (the seed pool uses 01:01:01:01:01:01)', () => {
  assert.equal(isGroupMac(parseMac('01:01:01:01:01:01')), true);
  assert.equal(isGroupMac(parseMac('02:02:02:02:02:02')), false);
  assert.equal(isZeroMac(parseMac('00:00:00:00:00:00')), true);
  assert.equal(isZeroMac(parseMac('00:00:00:00:00:01')), false);
});

test('IPv4 parses to host-order numbers and formats back', () => {
  assert.equal(parseIpv4('10.0.0.100'), 0x0a000064);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(formatIpv4(0xc0a80001), '192.168.0.1');
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => parseIpv4(formatIpv4(v)) === v));
});

test('malformed IPv4 is refused with LBDSR_BAD_IPV4', () => {
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    'a.b.c.d',
    '',
    '1..2.3',
    '1.2.3.4/24',
  ]) {
    assert.throws(() => parseIpv4(bad), { code: 'LBDSR_BAD_IPV4' }, bad);
  }
  assert.throws(() => parseIpv4(undefined as unknown as string), { code: 'LBDSR_BAD_IPV4' });
});

test('a VIP must be a unicast host address', () => {
  assert.equal(checkVip('10.0.0.100'), 0x0a000064);
  assert.equal(checkVip('223.255.255.254'), 0xdffffffe);
  for (const bad of [
    '0.0.0.0',
    '0.1.2.3',
    '127.0.0.1',
    '224.0.0.1',
    '239.1.1.1',
    '240.0.0.1',
    '255.255.255.255',
  ]) {
    assert.throws(() => checkVip(bad), { code: 'LBDSR_BAD_VIP' }, bad);
  }
  assert.throws(() => checkVip('300.1.1.1'), { code: 'LBDSR_BAD_IPV4' });
});
