// The frames of IPv6 explain requests (src/pipeline/explain6.ts): what a user names (an IPv6 flow, an
// ICMPv6 echo or error, a who_has for an IPv6 VIP) is the frame the data plane is asked about: read
// back field by field (Ethernet destination = the IPv6 VIP's frontend MAC, the addresses, ports and
// flags, the quoted flow of a Packet Too Big, a Neighbor Solicitation a kernel would send), and a
// request mixing the families is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv6, formatMac, linkLocalOf, parseMac } from '../../src/core/addr.js';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import { LbdsrError } from '../../src/core/errors.js';
import { ControlState } from '../../src/pipeline/control.js';
import { explainFrame6, isIpv6Request } from '../../src/pipeline/explain6.js';
import { explainConfig, PORT_MAC } from '../lib/explain-fixture.js';

const VIP6 = 'fd00::100';
const V6_MAC = '02:00:00:00:66:66';

function control(): ControlState {
  const c = new ControlState();
  const config = structuredClone(explainConfig);
  config.services = [
    ...(config.services ?? []),
    { name: 'web6', vip: VIP6, protocol: 'TCP', port: 80, mac: V6_MAC, backend: { pool: [] } },
    { name: 'dual', vip: '10.0.0.50', vip6: 'fd00::50', backend: { pool: [] } },
  ];
  c.apply(config, PORT_MAC);
  return c;
}

const u16 = (f: Uint8Array, o: number) => (f[o]! << 8) | f[o + 1]!;
const mac = (f: Uint8Array, o: number) => formatMac(f.subarray(o, o + 6));
const addr = (f: Uint8Array, o: number) => formatIpv6(f, o);

test('requests naming IPv6 are IPv6 requests; IPv4 ones are not', () => {
  assert.equal(isIpv6Request({ dst: VIP6 }), true);
  assert.equal(isIpv6Request({ who_has: VIP6 }), true);
  assert.equal(isIpv6Request({ dst: '10.0.0.100' }), false);
  assert.equal(isIpv6Request({ arp: true, who_has: '10.0.0.100' }), false);
});

test('a TCP flow to an IPv6 VIP: to its frontend MAC, the addresses, ports and flags named', () => {
  const c = control();
  const { frame, port } = explainFrame6(
    { src: 'fd00::11', dst: 'FD00::100', proto: 'TCP', sport: 4000, dport: 80, flags: 'SYN' },
    c,
  );
  assert.equal(port, PORT_FRONTEND);
  assert.equal(mac(frame, 0), V6_MAC);
  assert.equal(u16(frame, 12), 0x86dd);
  assert.equal(frame[20], 6, 'next header TCP');
  assert.equal(addr(frame, 22), 'fd00::11');
  assert.equal(addr(frame, 38), VIP6);
  assert.equal(u16(frame, 54), 4000);
  assert.equal(u16(frame, 56), 80);
  assert.equal(frame[54 + 13], 0x02, 'SYN only');
  // a dual-stack service's vip6 finds its MAC too (the instance's frontend MAC)
  const dual = explainFrame6({ src: 'fd00::11', dst: 'fd00::50', proto: 'UDP', sport: 1, dport: 53 }, c);
  assert.equal(mac(dual.frame, 0), 'aa:bb:cc:dd:ee:ff');
  assert.equal(dual.frame[20], 17);
});

test('ICMP on IPv6 is ICMPv6: echo request by default, a Packet Too Big quotes the VIP’s answer', () => {
  const c = control();
  const echo = explainFrame6({ src: 'fd00::11', dst: VIP6, proto: 'ICMP' }, c).frame;
  assert.equal(echo[20], 58);
  assert.equal(echo[54], 128, 'echo request');
  const ptb = explainFrame6(
    { src: 'fd00::11', dst: VIP6, proto: 'ICMP', type: 2, sport: 4000, dport: 80, from: 'fd00:1::1' },
    c,
  ).frame;
  assert.equal(ptb[54], 2, 'Packet Too Big');
  assert.equal(addr(ptb, 22), 'fd00:1::1', 'sent by the router');
  assert.equal(addr(ptb, 38), VIP6);
  const inner = 54 + 8;
  assert.equal(addr(ptb, inner + 8), VIP6, 'the quoted packet is the VIP’s answer');
  assert.equal(addr(ptb, inner + 24), 'fd00::11');
  assert.equal(ptb[inner + 6], 6, 'of the TCP flow');
  assert.equal(u16(ptb, inner + 40), 80);
  assert.equal(u16(ptb, inner + 42), 4000);
});

test('who_has an IPv6 address: a Neighbor Solicitation as a kernel sends it', () => {
  const ns = explainFrame6({ who_has: VIP6, src_mac: '02:00:00:00:00:0a' }, control()).frame;
  assert.equal(ns.length, 86);
  assert.equal(mac(ns, 0), '33:33:ff:00:01:00');
  assert.equal(ns[21], 255, 'hop limit 255');
  assert.equal(addr(ns, 22), formatIpv6(linkLocalOf(parseMac('02:00:00:00:00:0a'))));
  assert.equal(addr(ns, 38), 'ff02::1:ff00:100', 'solicited-node multicast');
  assert.equal(ns[54], 135);
  assert.equal(addr(ns, 62), VIP6, 'target');
});

test('a request mixing IPv4 and IPv6 is refused, naming the field', () => {
  assert.throws(
    () => explainFrame6({ src: '10.0.0.11', dst: VIP6, proto: 'UDP', sport: 1, dport: 2 }, control()),
    (e: unknown) => e instanceof LbdsrError && e.code === 'LBDSR_BAD_VALUE' && /src/.test(e.message),
  );
  assert.throws(
    () => explainFrame6({ dst: 'fd00::zz', src: 'fd00::1', proto: 'TCP' }, control()),
    (e: unknown) => e instanceof LbdsrError && e.code === 'LBDSR_BAD_IPV6',
  );
});
