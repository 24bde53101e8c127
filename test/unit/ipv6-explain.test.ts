// Explain of IPv6 frames (src/pipeline/explain.ts): a Neighbor Solicitation for the VIP is answered by
// rule 6b with the whole 86-byte advertisement (longer than the 78-byte solicitation), an IPv6 flow's
// session is found in the IPv6 table, and the service shows its IPv6 VIP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PORT_FRONTEND } from '../../src/core/constants.js';
import type { InstanceConfig } from '../../src/core/model.js';
import { toHex } from '../../src/packet/build.js';
import { NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, naFrame, nsFrame, tcp6Frame } from '../../src/packet/build6.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { describe, traceOf } from '../../src/pipeline/explain.js';

const FE_MAC = '02:fe:00:00:00:01';
const CLIENT_MAC = '02:c1:00:00:00:01';
const VIP6 = 'fd00::100';

function balancer(): Balancer {
  const b = new Balancer({ capacity: 64 });
  const config: InstanceConfig = {
    name: 'x6',
    type: 'USERSPACE',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    sessions: { capacity: 64, timeouts: { tcp: 600, udp: 60, icmp: 30 } },
    frontend: { vip: '10.0.0.100', vip6: VIP6, mac: FE_MAC },
    backend: { pool: [{ id: 7, mac: '02:b0:00:00:00:07' }] },
  };
  b.configure(config, '02:bb:00:00:00:01');
  return b;
}

test('explain answers a solicitation for the IPv6 VIP with the 86-byte advertisement (rule 6b)', () => {
  const b = balancer();
  const ns = nsFrame({ srcMac: CLIENT_MAC, src: 'fe80::c1', target: VIP6, sllao: false });
  const t = traceOf(b, ns, PORT_FRONTEND, 1000);
  const r = describe(t, ns, PORT_FRONTEND, b.control, 'USERSPACE');
  assert.equal(r.verdict, 'TX_FRONTEND');
  assert.equal(r.rule, '6b');
  const na = naFrame({
    srcMac: FE_MAC,
    dstMac: CLIENT_MAC,
    src: VIP6,
    dst: 'fe80::c1',
    target: VIP6,
    flags: NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
    tllaoMac: FE_MAC,
  });
  assert.equal(r.output, toHex(na));
  assert.equal(b.stats().ndReplies, 0, 'explain records nothing');
});

test('explain finds an IPv6 flow’s session and names the service by its IPv6 VIP', () => {
  const b = balancer();
  const a = { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: '2001:db8::1', dst: VIP6 };
  const syn = tcp6Frame(a, { sport: 40000, dport: 80, flags: 0x02 });
  const buf = new Uint8Array(2048);
  buf.set(syn);
  b.process(buf, syn.length, PORT_FRONTEND, 1000);
  const ack = tcp6Frame(a, { sport: 40000, dport: 80, flags: 0x10 });
  const r = describe(traceOf(b, ack, PORT_FRONTEND, 1500), ack, PORT_FRONTEND, b.control, 'USERSPACE');
  assert.equal(r.verdict, 'TX_BACKEND');
  assert.equal(r.session?.verdict, 'HIT');
  assert.equal(r.session?.age_ms, 500);
  assert.equal(r.backend?.id, 7);
  assert.equal(r.service?.vip, VIP6);
  assert.deepEqual(
    b.sessions(10, 1500).map((s) => [s.src, s.dst, s.sport, s.dport, s.proto, s.backend]),
    [['2001:db8::1', VIP6, 40000, 80, 'TCP', 7]],
  );
});
