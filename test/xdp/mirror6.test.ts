// IPv6 VIPs in the XDP maps, written as the daemon writes them (the control state plans, the plane's
// map mirror writes): an IPv6-only service has its VIP entry and port service in lbdsr_vips6 /
// lbdsr_ports6 and nothing in lbdsr_vips; a dual-stack service has an entry in both families and its
// IPv6 VIP in its service entry; removing a service or its IPv6 VIP deletes the IPv6 keys; a restarted
// daemon adopts the IPv6 entries without rewriting them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../../src/core/addr.js';
import { PROTO_TCP, SVC_NONE, VIP_PORTS_TCP } from '../../src/core/constants.js';
import type { ServiceConfig } from '../../src/core/model.js';
import type { VipAddr } from '../../src/dataplane/xdp/service-maps.js';
import { mapForEach } from '../../src/kernel/libbpf.js';
import { MirrorRig, servicesConfig } from '../lib/mirror-rig.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

const svc = (name: string, vip: string, o: Partial<ServiceConfig> = {}): ServiceConfig => ({
  name,
  vip,
  backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
  ...o,
});

const config = (services: ServiceConfig[]) => servicesConfig('v6', services, 1024);

const text = (v: VipAddr) => (typeof v === 'number' ? formatIpv4(v) : formatIpv6(v));

/** The keys of a map, as the kernel holds them (raw bytes, hex). */
function rawKeys(fd: number, keySize: number, valueSize: number): string[] {
  const out: string[] = [];
  mapForEach(fd, keySize, valueSize, 256, (keys, _values, n) => {
    for (let i = 0; i < n; i++)
      out.push(Buffer.from(keys.subarray(i * keySize, (i + 1) * keySize)).toString('hex'));
    return undefined;
  });
  return out.sort();
}

class Rig extends MirrorRig {
  constructor() {
    super(1024);
  }

  /** The VIP entries as `address -> tcp/udp/icmp service names` (null: none). */
  vips(): Record<string, string> {
    const name = (i: number) => (i === SVC_NONE ? '-' : (this.mirror.serviceName(i) ?? `#${i}`));
    const out: Record<string, string> = {};
    for (const v of this.maps.svc.readVips())
      out[text(v.vip)] = `${name(v.tcp)}/${name(v.udp)}/${name(v.icmp)}${v.portProtos ? ' +ports' : ''}`;
    return out;
  }

  ports(): string[] {
    return this.maps.svc
      .readPorts()
      .map((p) => `${text(p.vip)} ${p.proto}/${p.port} -> ${this.mirror.serviceName(p.index)}`)
      .sort();
  }
}

test('an IPv6-only service: its VIP entry and port service go to the IPv6 maps, nothing to lbdsr_vips', {
  skip,
}, () => {
  const r = new Rig();
  try {
    r.configure(config([svc('web6', 'fd00::100', { protocol: 'TCP', port: 80 }), svc('v4', '10.0.0.1')]));
    assert.deepEqual(r.vips(), { '10.0.0.1': 'v4/v4/v4', 'fd00::100': '-/-/- +ports' });
    assert.deepEqual(r.ports(), ['fd00::100 6/80 -> web6']);
    assert.deepEqual(rawKeys(r.ld.fds.vips, 4, 12), [Buffer.from([10, 0, 0, 1]).toString('hex')]);
    assert.deepEqual(rawKeys(r.ld.fds.vips6, 16, 12), [Buffer.from(parseIpv6('fd00::100')).toString('hex')]);
    assert.deepEqual(rawKeys(r.ld.fds.ports, 8, 4), [], 'no IPv4 port service');
    const web6 = r.maps.svc.readServices().find((s) => r.mirror.serviceName(s.index) === 'web6');
    assert.ok(web6, 'the IPv6-only service has its entry');
    assert.equal(web6.vip, 0, 'its IPv4 VIP is 0');
    assert.equal(formatIpv6(web6.vip6!), 'fd00::100');
    assert.equal(web6.proto, PROTO_TCP);
    assert.equal(web6.port, 80);
    const entry = r.maps.svc.readVips().find((v) => typeof v.vip !== 'number');
    assert.equal(entry?.portProtos, VIP_PORTS_TCP);
    assert.deepEqual([...entry!.mac], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01], 'the frontend MAC');
  } finally {
    r.close();
  }
});

test('a dual-stack service: one entry per family, its IPv6 VIP in its service entry; ICMP serves ICMPv6', {
  skip,
}, () => {
  const r = new Rig();
  try {
    r.configure(
      config([
        svc('dual', '10.0.0.100', { vip6: 'fd00::200' }),
        svc('ping6', 'fd00::300', { protocol: 'ICMP' }),
      ]),
    );
    assert.deepEqual(r.vips(), {
      '10.0.0.100': 'dual/dual/dual',
      'fd00::200': 'dual/dual/dual',
      'fd00::300': '-/-/ping6',
    });
    const dual = r.maps.svc.readServices().find((s) => r.mirror.serviceName(s.index) === 'dual')!;
    assert.equal(dual.vip, parseIpv4('10.0.0.100'));
    assert.equal(formatIpv6(dual.vip6!), 'fd00::200');

    // The IPv6 VIP moves: the old key goes, the new one comes, the IPv4 VIP stays.
    r.configure(
      config([
        svc('dual', '10.0.0.100', { vip6: 'fd00::201' }),
        svc('ping6', 'fd00::300', { protocol: 'ICMP' }),
      ]),
    );
    assert.deepEqual(Object.keys(r.vips()).sort(), ['10.0.0.100', 'fd00::201', 'fd00::300']);
    // Dual stack no more: only the IPv4 entry is left of it.
    r.configure(config([svc('dual', '10.0.0.100'), svc('ping6', 'fd00::300', { protocol: 'ICMP' })]));
    assert.deepEqual(Object.keys(r.vips()).sort(), ['10.0.0.100', 'fd00::300']);
    const again = r.maps.svc.readServices().find((s) => r.mirror.serviceName(s.index) === 'dual')!;
    assert.equal(again.vip6, null, 'the service entry has no IPv6 VIP any more');
  } finally {
    r.close();
  }
});

test('removing IPv6 services deletes their IPv6 keys; a port service moves between VIPs of one family', {
  skip,
}, () => {
  const r = new Rig();
  try {
    const web = svc('web', 'fd00::100', { protocol: 'TCP', port: 80 });
    const alt = svc('alt', 'fd00::100', { protocol: 'TCP', port: 8080 });
    r.configure(config([web, alt]));
    assert.deepEqual(r.ports(), ['fd00::100 6/80 -> web', 'fd00::100 6/8080 -> alt']);
    r.configure(config([web]));
    assert.deepEqual(r.ports(), ['fd00::100 6/80 -> web']);
    r.configure(config([{ ...web, vip: 'fd00::101' }]));
    assert.deepEqual(r.ports(), ['fd00::101 6/80 -> web']);
    assert.deepEqual(Object.keys(r.vips()), ['fd00::101']);
    r.configure(config([]));
    assert.deepEqual(r.maps.svc.readVips(), []);
    assert.deepEqual(r.maps.svc.readPorts(), []);
    assert.deepEqual(r.maps.svc.readServices(), []);
    assert.deepEqual(rawKeys(r.ld.fds.vips6, 16, 12), []);
    assert.deepEqual(rawKeys(r.ld.fds.ports6, 20, 4), []);
  } finally {
    r.close();
  }
});

test('a restarted daemon adopts the IPv6 entries: nothing rewritten, and a full plan clears the stale ones', {
  skip,
}, () => {
  const r = new Rig();
  try {
    const c = config([
      svc('web6', 'fd00::100', { protocol: 'TCP', port: 80 }),
      svc('dual', '10.0.0.100', { vip6: 'fd00::200' }),
    ]);
    r.configure(c);
    const before = r.vips();
    r.restart();
    const w = r.configure(c);
    assert.equal(w.services, 0, 'the adopted service, VIP and port entries of both families are kept');
    assert.deepEqual(r.vips(), before);

    // Another restart with a configuration without web6: its IPv6 keys go.
    r.restart();
    r.configure(config([svc('dual', '10.0.0.100', { vip6: 'fd00::200' })]));
    assert.deepEqual(Object.keys(r.vips()).sort(), ['10.0.0.100', 'fd00::200']);
    assert.deepEqual(r.ports(), []);
  } finally {
    r.close();
  }
});
