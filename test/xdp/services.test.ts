// Several services in the compiled XDP program (BPF_PROG_TEST_RUN), configured as the daemon does it
// (the control state plans each configuration, the plane's map mirror writes the plan): different VIPs side by side, one VIP
// split by protocol and port (the most specific service wins, NO_SERVICE when none matches), ARP for
// every VIP, a session that names another service's slot re-balanced, services removed (their VIP
// entries and Maglev tables go), a restarted daemon adopting what it finds, and the BACKEND port's
// program passing ARP and frames to the probe MAC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, probeMacOf } from '../../src/core/addr.js';
import {
  CNT_BACKEND_PASS,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  DROP_BACKEND_PORT,
  DROP_DST_MAC,
  DROP_NO_SERVICE,
  DROP_NOT_VIP,
  MAX_SERVICES,
} from '../../src/core/constants.js';
import type { ServiceConfig } from '../../src/core/model.js';
import { countLiveSessions } from '../../src/dataplane/xdp/session-counts.js';
import { TestRunner, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../../src/kernel/libbpf.js';
import { arpRequestFrame, icmpEchoFrame, tcpFrame, udpFrame } from '../../src/packet/build.js';
import { FE, MirrorRig, servicesConfig } from '../lib/mirror-rig.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

const FE2 = 'aa:bb:cc:dd:ee:02';
const CLIENT = '52:54:00:00:00:09';
const SYN = 0x02;
const B = (n: number) => `02:00:00:00:00:0${n}`;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** A service with one backend (`b` 1..9 names its MAC); protocol and port optional. */
function svc(name: string, vip: string, b: number, o: Partial<ServiceConfig> = {}, id = 1): ServiceConfig {
  return { name, vip, backend: { pool: [{ id, mac: B(b) }] }, ...o };
}

const config = (services: ServiceConfig[], probe_ip?: string) =>
  servicesConfig('svc', services, 4096, probe_ip ? { probe_ip } : {});

class Rig extends MirrorRig {
  readonly fe: TestRunner;
  readonly be: TestRunner;

  constructor() {
    super(4096);
    this.fe = new TestRunner(this.ld.progFd);
    this.be = new TestRunner(this.ld.backendProgFd, 4096);
  }

  /** Kernel slot of backend `id` of service `name`. */
  slot(name: string, id: number): number {
    return this.mirror.slotOf(id, this.control.indexOf(name)!);
  }

  counters(): Float64Array {
    return this.maps.readCounters();
  }

  /** Runs a frame on the FRONTEND program: the action, the output's Ethernet destination, the counters' moves. */
  run(frame: Uint8Array, runner = this.fe): { act: number; dst: string; moved: Map<number, number> } {
    const before = this.counters();
    runner.input.set(frame);
    const act = runner.run(frame.length);
    const after = this.counters();
    const moved = new Map<number, number>();
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) moved.set(i, after[i]! - before[i]!);
    return { act, dst: hex(runner.output.subarray(0, 6)), moved };
  }

  /** The backend MAC a frame is sent to, or `drop:<reason>`. */
  dest(frame: Uint8Array): string {
    const r = this.run(frame);
    if (r.act === XDP_REDIRECT) return r.dst;
    if (r.act === XDP_DROP) return `drop:${[...r.moved.keys()].find((k) => k > 0 && k < 17)}`;
    return `act:${r.act}`;
  }
}

const tcpTo = (vip: string, dport: number, sport = 40000, src = '192.0.2.7') =>
  tcpFrame({ ethDst: FE, ethSrc: CLIENT, src, dst: vip }, { sport, dport, flags: SYN });
const udpTo = (vip: string, dport: number) =>
  udpFrame({ ethDst: FE, ethSrc: CLIENT, src: '192.0.2.7', dst: vip }, { sport: 5353, dport });
const pingTo = (vip: string) =>
  icmpEchoFrame({ ethDst: FE, ethSrc: CLIENT, src: '192.0.2.7', dst: vip }, { type: 8, id: 1, seq: 1 });

test('two VIPs side by side: each VIP reaches its own pool, ARP is answered for both', { skip }, () => {
  const r = new Rig();
  try {
    r.configure(config([svc('a', '10.0.0.100', 1), svc('b', '10.0.0.101', 2, { mac: FE2 })]));
    assert.equal(r.dest(tcpTo('10.0.0.100', 80)), B(1));
    const to101 = tcpFrame(
      { ethDst: FE2, ethSrc: CLIENT, src: '192.0.2.7', dst: '10.0.0.101' },
      { sport: 1, dport: 80, flags: SYN },
    );
    assert.equal(r.dest(to101), B(2), 'the second VIP, to its own MAC');
    assert.equal(
      r.dest(tcpTo('10.0.0.101', 80)),
      `drop:${DROP_DST_MAC}`,
      'the second VIP under the first MAC',
    );
    assert.equal(r.dest(tcpTo('10.0.0.102', 80)), `drop:${DROP_NOT_VIP}`);
    for (const [vip, mac] of [
      ['10.0.0.100', FE],
      ['10.0.0.101', FE2],
    ] as const) {
      const a = r.run(arpRequestFrame({ senderMac: CLIENT, senderIp: '10.0.0.1', targetIp: vip }));
      assert.equal(a.act, XDP_TX, `ARP for ${vip} answered`);
      assert.equal(hex(r.fe.output.subarray(22, 28)), mac, `ARP for ${vip} gives its frontend MAC`);
    }
  } finally {
    r.close();
  }
});

test('one VIP split by protocol and port: VIP+protocol+port, then VIP+protocol, then VIP', { skip }, () => {
  const r = new Rig();
  const VIP = '10.0.0.100';
  const web = svc('web', VIP, 1, { protocol: 'TCP', port: 80 });
  const alt = svc('alt', VIP, 2, { protocol: 'TCP', port: 8080 });
  const dns = svc('dns', VIP, 3, { protocol: 'UDP' });
  const rest = svc('rest', VIP, 4);
  try {
    r.configure(config([web, alt, dns, rest]));
    assert.equal(r.dest(tcpTo(VIP, 80)), B(1), 'TCP 80: its port service');
    assert.equal(r.dest(tcpTo(VIP, 8080)), B(2), 'TCP 8080: the other pool');
    assert.equal(r.dest(tcpTo(VIP, 443)), B(4), 'TCP 443: no TCP service without port, so the VIP service');
    assert.equal(r.dest(udpTo(VIP, 53)), B(3), 'UDP: the UDP service');
    assert.equal(r.dest(udpTo(VIP, 80)), B(3), 'UDP 80: port services are per protocol');
    assert.equal(r.dest(pingTo(VIP)), B(4), 'ICMP: the VIP service');

    // Without the VIP-wide service, what no service matches drops NO_SERVICE.
    const restIndex = r.control.indexOf('rest')!;
    r.configure(config([web, alt, dns]));
    assert.equal(r.dest(tcpTo(VIP, 443)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.dest(pingTo(VIP)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.dest(tcpTo(VIP, 80)), B(1), 'the port services stay');
    assert.equal(r.dest(udpTo(VIP, 53)), B(3));
    assert.equal(
      r.maps.svc.tableFd(restIndex),
      undefined,
      'the removed service has no Maglev table any more',
    );
    const arp = r.run(arpRequestFrame({ senderMac: CLIENT, senderIp: '10.0.0.1', targetIp: VIP }));
    assert.equal(arp.act, XDP_TX, 'ARP is answered for a VIP with port services only');

    // A port moves: the old port no longer matches, the new one does.
    r.configure(config([{ ...web, port: 81 }, alt, dns]));
    assert.equal(r.dest(tcpTo(VIP, 80)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.dest(tcpTo(VIP, 81, 40001)), B(1));

    // Removing every service of the VIP removes the VIP.
    r.configure(config([]));
    assert.equal(r.dest(tcpTo(VIP, 8080)), `drop:${DROP_NOT_VIP}`);
    assert.deepEqual(r.maps.svc.readVips(), []);
    assert.deepEqual(r.maps.svc.readPorts(), []);
    assert.deepEqual(r.maps.svc.readServices(), []);
  } finally {
    r.close();
  }
});

test('a session that names a slot of another service is stale and re-balanced in its own service', {
  skip,
}, () => {
  const r = new Rig();
  try {
    // Both backends have id 1: only the service tells them apart.
    r.configure(config([svc('a', '10.0.0.100', 1), svc('b', '10.0.0.101', 2)]));
    r.maps.writeSession({
      src: parseIpv4('192.0.2.7'),
      dst: parseIpv4('10.0.0.100'),
      sport: 40000,
      dport: 80,
      proto: 6,
      backendId: 1,
      slot: r.slot('b', 1),
      lastSeenNs: 0n,
    });
    r.maps.setTestClock(1_000_000n);
    const res = r.run(tcpTo('10.0.0.100', 80));
    assert.equal(res.act, XDP_REDIRECT);
    assert.equal(res.dst, B(1), 'sent to its own service backend');
    assert.equal(res.moved.get(CNT_SESSION_STALE), 1, 'counted stale');
    const slots: number[] = [];
    r.maps.forEachSession((s) => {
      if (s.dport === 80) slots.push(s.slot);
    });
    assert.deepEqual(slots, [r.slot('a', 1)], 'the session now names its own service slot');
  } finally {
    r.close();
  }
});

test('256 services: every one reaches its own backend through its own Maglev table', {
  skip,
  timeout: 120_000,
}, () => {
  const r = new Rig();
  try {
    // `default` and 255 others.
    const services: ServiceConfig[] = [];
    for (let i = 0; i < MAX_SERVICES - 1; i++) {
      services.push({
        name: `s${i}`,
        vip: `10.1.${i >> 4}.${(i & 15) + 1}`,
        protocol: 'TCP',
        port: 80 + (i & 3),
        backend: { pool: [{ id: 7, mac: `02:00:00:00:01:${hex(Uint8Array.of(i))}` }] },
      });
    }
    const c = config(services);
    r.configure({ ...c, frontend: { vip: '10.2.0.1', mac: FE }, backend: { pool: [{ id: 7, mac: B(9) }] } });
    assert.equal(r.maps.svc.readServices().length, MAX_SERVICES);
    assert.equal(r.dest(tcpTo('10.2.0.1', 80)), B(9), 'default');
    for (const s of services) assert.equal(r.dest(tcpTo(s.vip, s.port!)), s.backend.pool[0]!.mac, s.name);
    assert.equal(r.dest(tcpTo(services[5]!.vip, 9999)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.counters()[CNT_SESSION_MISS], MAX_SERVICES);
    for (let i = 0; i < MAX_SERVICES; i++) assert.notEqual(r.maps.svc.tableFd(i), undefined, `table ${i}`);
  } finally {
    r.close();
  }
});

test('a restarted daemon adopts the services: nothing rewritten but the tables, sessions stay', {
  skip,
}, () => {
  const r = new Rig();
  try {
    const c = config([
      svc('web', '10.0.0.100', 1, { protocol: 'TCP', port: 80 }),
      svc('rest', '10.0.0.100', 2, {}, 2),
    ]);
    r.configure(c);
    assert.equal(r.dest(tcpTo('10.0.0.100', 80)), B(1));
    // A new mirror on the same maps, as a restarted daemon builds it, then the daemon's full plan.
    r.restart();
    const w = r.configure(c);
    assert.equal(w.backends, 0, 'the adopted slots are kept as they are');
    assert.equal(w.services, 0, 'the adopted service, VIP and port entries are kept as they are');
    const again = r.run(tcpTo('10.0.0.100', 80));
    assert.equal(again.dst, B(1));
    assert.equal(again.moved.get(CNT_SESSION_HIT), 1, 'the session recorded before the restart is hit');
    assert.equal(r.dest(tcpTo('10.0.0.100', 22)), B(2));
  } finally {
    r.close();
  }
});

test('the BACKEND port passes ARP and frames to the probe MAC to the kernel, drops the rest', {
  skip,
}, () => {
  const r = new Rig();
  try {
    const probe = hex(probeMacOf(parseIpv4('10.0.0.250')));
    r.configure(config([svc('a', '10.0.0.100', 1)]));
    const answer = tcpFrame(
      { ethDst: probe, ethSrc: B(1), src: '10.0.0.100', dst: '10.0.0.250' },
      { sport: 80, dport: 33000, flags: 0x12 },
    );
    const before = r.run(answer, r.be);
    assert.equal(before.act, XDP_DROP, 'without a probe address, a frame to that MAC is dropped');
    assert.equal(before.moved.get(DROP_BACKEND_PORT), 1);

    r.configure(config([svc('a', '10.0.0.100', 1)], '10.0.0.250'));
    const probeAnswer = r.run(answer, r.be);
    assert.equal(probeAnswer.act, XDP_PASS, 'the probe answer goes to the kernel');
    assert.equal(probeAnswer.moved.get(CNT_BACKEND_PASS), 1);
    assert.equal(probeAnswer.moved.get(DROP_BACKEND_PORT), undefined);
    const arp = r.run(
      arpRequestFrame({ senderMac: B(1), senderIp: '10.0.0.21', targetIp: '10.0.0.250' }),
      r.be,
    );
    assert.equal(arp.act, XDP_PASS, 'ARP goes to the kernel');
    assert.equal(arp.moved.get(CNT_BACKEND_PASS), 1);
    const other = r.run(tcpTo('10.0.0.100', 80), r.be);
    assert.equal(other.act, XDP_DROP, 'anything else on the BACKEND port is dropped');
    assert.equal(other.moved.get(DROP_BACKEND_PORT), 1);
  } finally {
    r.close();
  }
});

test('sessionCounts names the control state slots when adoption kept other kernel slots', {
  skip,
}, async () => {
  const r = new Rig();
  try {
    const a = { id: 1, mac: B(1) };
    const b = { id: 2, mac: B(2) };
    const withPool = (pool: { id: number; mac: string }[]) =>
      config([{ name: 'web', vip: '10.0.0.100', backend: { pool } }]);
    r.configure(withPool([a, b]));
    r.configure(withPool([b]));
    assert.equal(r.dest(tcpTo('10.0.0.100', 80)), B(2));
    const kernelSlot = r.slot('web', 2);
    // The restarted daemon's control state gives backend 2 the lowest slot; the kernel keeps its own.
    r.restart();
    r.configure(withPool([b]));
    const controlSlot = r.control.slotOf(2, r.control.indexOf('web')!);
    assert.notEqual(controlSlot, kernelSlot, 'the two slots differ (the case under test)');
    r.maps.setTestClock(0n);
    const loaded = {
      progs: { frontend: r.ld.progFd, backend: r.ld.backendProgFd },
      fds: r.ld.fds,
      maps: r.maps,
      mirror: r.mirror,
      capacity: 4096,
    };
    // The session was recorded at the test clock (BPF_PROG_TEST_RUN); judge it with long timeouts.
    const counts = await countLiveSessions(loaded, { tcp: 1e12, udp: 1e12, icmp: 1e12 });
    assert.deepEqual([...counts], [[controlSlot, 1]]);
  } finally {
    r.close();
  }
});
