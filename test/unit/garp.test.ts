// The gratuitous ARP the planes announce a VIP with (src/packet/build.ts garpFrame, sent by
// src/dataplane/announce.ts): a broadcast ARP request, sender IP = target IP = VIP, sender MAC = the
// frontend MAC (also the Ethernet source), target MAC zero, padded to the Ethernet minimum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { garpFrame, toHex } from '../../src/packet/build.js';

test('garpFrame is an RFC 5227 announcement of the VIP at the frontend MAC', () => {
  const f = garpFrame('aa:bb:cc:dd:ee:ff', '10.0.0.100');
  assert.equal(f.length, 60);
  assert.equal(
    toHex(f, 0, 42),
    'ffffffffffff' + // broadcast
      'aabbccddeeff' + // Ethernet source: the frontend MAC (switches learn the port)
      '0806' + // ARP
      '0001' +
      '0800' +
      '06' +
      '04' + // Ethernet / IPv4
      '0001' + // request
      'aabbccddeeff' +
      '0a000064' + // sender: frontend MAC, VIP
      '000000000000' +
      '0a000064', // target: zero MAC, the VIP again
  );
  assert.ok(
    f.subarray(42).every((b) => b === 0),
    'zero padding',
  );
  assert.deepEqual(
    garpFrame(new Uint8Array([2, 0, 0, 0, 0, 1]), parseIpv4('10.0.0.1')).subarray(6, 12),
    new Uint8Array([2, 0, 0, 0, 0, 1]),
  );
});
