// Several services in the compiled XDP program (BPF_PROG_TEST_RUN), configured through the plane's own
// map mirror with plans in the shape of issue 10's contract: different VIPs side by side, one VIP
// split by protocol and port (the most specific service wins, NO_SERVICE when none matches), ARP for
// every VIP, a session that names another service's slot re-balanced, services removed (their VIP
// entries and Maglev tables go), a restarted daemon adopting what it finds, and the BACKEND port's
// program passing ARP and frames to the probe MAC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseMac, probeMacOf } from '../../src/core/addr.js';
import {
  CNT_BACKEND_PASS,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  DROP_BACKEND_PORT,
  DROP_NO_SERVICE,
  DROP_NOT_VIP,
  MAGLEV_SIZE,
  MAX_SERVICES,
  SLOT_NONE,
} from '../../src/core/constants.js';
import { XdpMaps } from '../../src/dataplane/xdp/maps.js';
import {
  type MirrorPlan,
  type MirrorService,
  type MirrorSlotChange,
  XdpMirror,
} from '../../src/dataplane/xdp/mirror.js';
import { type LoadedLbdsr, loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { TestRunner, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../../src/kernel/libbpf.js';
import { arpRequestFrame, icmpEchoFrame, tcpFrame, udpFrame } from '../../src/packet/build.js';
import { xdpSkipReason } from './env.js';

const skip = xdpSkipReason();

const FE = 'aa:bb:cc:dd:ee:01';
const FE2 = 'aa:bb:cc:dd:ee:02';
const CLIENT = '52:54:00:00:00:09';
const BE_PORT = '02:00:00:00:00:fe';
const SYN = 0x02;

interface SvcSpec {
  index: number;
  vip: string;
  proto?: number;
  port?: number;
  mac?: string;
  /** One backend per service: every Maglev entry is its slot. */
  backend: { slot: number; id: number; mac: string };
}

function slotOf(s: SvcSpec): MirrorSlotChange {
  return {
    slot: s.backend.slot,
    kind: 'assigned',
    id: s.backend.id,
    service: s.index,
    mac: parseMac(s.backend.mac),
    live: true,
  };
}

function serviceOf(s: SvcSpec, kind: 'added' | 'changed' = 'added'): MirrorService {
  const index = new Uint32Array(MAGLEV_SIZE).map((_, i) => i);
  const slot = new Uint32Array(MAGLEV_SIZE).fill(s.backend.slot);
  const id = new Uint32Array(MAGLEV_SIZE).fill(s.backend.id);
  return {
    index: s.index,
    name: `svc${s.index}`,
    vip: parseIpv4(s.vip),
    proto: s.proto ?? 0,
    port: s.port ?? 0,
    mac: parseMac(s.mac ?? FE),
    algorithm: 0,
    backends: 1,
    kind,
    maglev: {
      index,
      slot,
      id,
      prevSlot: new Uint32Array(MAGLEV_SIZE).fill(SLOT_NONE),
      prevId: new Uint32Array(MAGLEV_SIZE),
    },
  };
}

function plan(base: number, p: Partial<MirrorPlan>, probeIp?: string): MirrorPlan {
  return {
    full: false,
    base,
    next: base + 1,
    slots: [],
    services: [],
    removedServices: [],
    settings: {
      backendPortMac: parseMac(BE_PORT),
      ready: true,
      timeoutsMs: { tcp: 600_000, udp: 60_000, icmp: 30_000 },
      recordNonSyn: false,
      probeMac: probeIp ? probeMacOf(parseIpv4(probeIp)) : null,
    },
    settingsChanged: false,
    ...p,
  };
}

function fullPlan(specs: SvcSpec[], probeIp?: string): MirrorPlan {
  return plan(
    -1,
    { full: true, next: 0, slots: specs.map(slotOf), services: specs.map((s) => serviceOf(s)) },
    probeIp,
  );
}

class Rig {
  readonly ld: LoadedLbdsr;
  readonly maps: XdpMaps;
  mirror: XdpMirror;
  readonly fe: TestRunner;
  readonly be: TestRunner;

  constructor() {
    this.ld = loadLbdsr({ capacity: 4096 });
    this.maps = new XdpMaps(this.ld.fds);
    this.mirror = new XdpMirror(this.maps);
    this.fe = new TestRunner(this.ld.progFd);
    this.be = new TestRunner(this.ld.backendProgFd, 4096);
  }

  apply(p: MirrorPlan): void {
    this.mirror.apply(p, 0, 1);
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
    const out = runner.output.subarray(0, 6);
    return { act, dst: [...out].map((b) => b.toString(16).padStart(2, '0')).join(':'), moved };
  }

  /** The backend MAC a frame is sent to, or `drop:<reason>`. */
  dest(frame: Uint8Array): string {
    const r = this.run(frame);
    if (r.act === XDP_REDIRECT) return r.dst;
    if (r.act === XDP_DROP) return `drop:${[...r.moved.keys()].find((k) => k > 0 && k < 17)}`;
    return `act:${r.act}`;
  }

  close(): void {
    this.ld.obj.close();
  }
}

const tcpTo = (vip: string, dport: number, sport = 40000, src = '192.0.2.7') =>
  tcpFrame({ ethDst: FE, ethSrc: CLIENT, src, dst: vip }, { sport, dport, flags: SYN });
const udpTo = (vip: string, dport: number) =>
  udpFrame({ ethDst: FE, ethSrc: CLIENT, src: '192.0.2.7', dst: vip }, { sport: 5353, dport });
const pingTo = (vip: string) =>
  icmpEchoFrame({ ethDst: FE, ethSrc: CLIENT, src: '192.0.2.7', dst: vip }, { type: 8, id: 1, seq: 1 });

const B = (n: number) => `02:00:00:00:00:0${n}`;

test('two VIPs side by side: each VIP reaches its own pool, ARP is answered for both', { skip }, () => {
  const r = new Rig();
  try {
    r.apply(
      fullPlan([
        { index: 0, vip: '10.0.0.100', backend: { slot: 0, id: 1, mac: B(1) } },
        { index: 1, vip: '10.0.0.101', mac: FE2, backend: { slot: 1, id: 1, mac: B(2) } },
      ]),
    );
    assert.equal(r.dest(tcpTo('10.0.0.100', 80)), B(1));
    const to101 = tcpFrame(
      { ethDst: FE2, ethSrc: CLIENT, src: '192.0.2.7', dst: '10.0.0.101' },
      { sport: 1, dport: 80, flags: SYN },
    );
    assert.equal(r.dest(to101), B(2), 'the second VIP, to its own MAC');
    assert.equal(r.dest(tcpTo('10.0.0.101', 80)), `drop:6`, 'the second VIP under the first MAC: DST_MAC');
    assert.equal(r.dest(tcpTo('10.0.0.102', 80)), `drop:${DROP_NOT_VIP}`);
    for (const [vip, mac] of [
      ['10.0.0.100', FE],
      ['10.0.0.101', FE2],
    ] as const) {
      const a = r.run(arpRequestFrame({ senderMac: CLIENT, senderIp: '10.0.0.1', targetIp: vip }));
      assert.equal(a.act, XDP_TX, `ARP for ${vip} answered`);
      assert.equal(
        [...r.fe.output.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
        mac,
        `ARP for ${vip} gives its frontend MAC`,
      );
    }
  } finally {
    r.close();
  }
});

test('one VIP split by protocol and port: VIP+protocol+port, then VIP+protocol, then VIP', { skip }, () => {
  const r = new Rig();
  const VIP = '10.0.0.100';
  try {
    r.apply(
      fullPlan([
        { index: 0, vip: VIP, proto: 6, port: 80, backend: { slot: 0, id: 1, mac: B(1) } },
        { index: 1, vip: VIP, proto: 6, port: 8080, backend: { slot: 1, id: 1, mac: B(2) } },
        { index: 2, vip: VIP, proto: 17, backend: { slot: 2, id: 1, mac: B(3) } },
        { index: 3, vip: VIP, backend: { slot: 3, id: 1, mac: B(4) } },
      ]),
    );
    assert.equal(r.dest(tcpTo(VIP, 80)), B(1), 'TCP 80: its port service');
    assert.equal(r.dest(tcpTo(VIP, 8080)), B(2), 'TCP 8080: the other pool');
    assert.equal(r.dest(tcpTo(VIP, 443)), B(4), 'TCP 443: no TCP service without port, so the VIP service');
    assert.equal(r.dest(udpTo(VIP, 53)), B(3), 'UDP: the UDP service');
    assert.equal(r.dest(udpTo(VIP, 80)), B(3), 'UDP 80: port services are per protocol');
    assert.equal(r.dest(pingTo(VIP)), B(4), 'ICMP: the VIP service');

    // Without the VIP-wide service, what no service matches drops NO_SERVICE.
    r.apply(plan(0, { removedServices: [{ index: 3, vip: parseIpv4(VIP) }] }));
    assert.equal(r.dest(tcpTo(VIP, 443)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.dest(pingTo(VIP)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.dest(tcpTo(VIP, 80)), B(1), 'the port services stay');
    assert.equal(r.dest(udpTo(VIP, 53)), B(3));
    assert.equal(r.maps.svc.tableFd(3), undefined, 'the removed service has no Maglev table any more');
    const arp = r.run(arpRequestFrame({ senderMac: CLIENT, senderIp: '10.0.0.1', targetIp: VIP }));
    assert.equal(arp.act, XDP_TX, 'ARP is answered for a VIP with port services only');

    // Removing every service of the VIP removes the VIP.
    r.apply(
      plan(1, {
        removedServices: [0, 1, 2].map((index) => ({ index, vip: parseIpv4(VIP) })),
        slots: [0, 1, 2].map((i) => ({ slot: i, kind: 'freed', id: 1, service: i, mac: parseMac(B(i + 1)) })),
      }),
    );
    assert.equal(r.dest(tcpTo(VIP, 80)), `drop:${DROP_NOT_VIP}`);
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
    r.apply(
      fullPlan([
        { index: 0, vip: '10.0.0.100', backend: { slot: 0, id: 1, mac: B(1) } },
        { index: 1, vip: '10.0.0.101', backend: { slot: 1, id: 1, mac: B(2) } },
      ]),
    );
    // Both backends have id 1: only the service tells them apart.
    r.maps.writeSession({
      src: parseIpv4('192.0.2.7'),
      dst: parseIpv4('10.0.0.100'),
      sport: 40000,
      dport: 80,
      proto: 6,
      backendId: 1,
      slot: r.mirror.slotOf(1, 1),
      lastSeenNs: 0n,
    });
    r.maps.setTestClock(1_000_000n);
    const res = r.run(tcpTo('10.0.0.100', 80));
    assert.equal(res.act, XDP_REDIRECT);
    assert.equal(res.dst, B(1), 'sent to its own service backend');
    assert.equal(res.moved.get(CNT_SESSION_STALE), 1, 'counted stale');
    let found = 0;
    r.maps.forEachSession((s) => {
      if (s.dport === 80) {
        found++;
        assert.equal(s.slot, r.mirror.slotOf(1, 0), 'the session now names its own service slot');
      }
    });
    assert.equal(found, 1);
  } finally {
    r.close();
  }
});

test('256 services: every one reaches its own backend, each with its own Maglev table', {
  skip,
  timeout: 120_000,
}, () => {
  const r = new Rig();
  try {
    const specs: SvcSpec[] = [];
    for (let i = 0; i < MAX_SERVICES; i++) {
      specs.push({
        index: i,
        vip: `10.1.${i >> 4}.${(i & 15) + 1}`,
        proto: 6,
        port: 80 + (i & 3),
        backend: {
          slot: i,
          id: 7,
          mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        },
      });
    }
    r.apply(fullPlan(specs));
    for (const s of specs) assert.equal(r.dest(tcpTo(s.vip, s.port!)), s.backend.mac, `service ${s.index}`);
    assert.equal(r.dest(tcpTo(specs[5]!.vip, 9999)), `drop:${DROP_NO_SERVICE}`);
    assert.equal(r.counters()[CNT_SESSION_MISS], MAX_SERVICES);
  } finally {
    r.close();
  }
});

test('a restarted daemon adopts the services: no rewrite of what is already there, sessions stay', {
  skip,
}, () => {
  const r = new Rig();
  try {
    const specs: SvcSpec[] = [
      { index: 0, vip: '10.0.0.100', proto: 6, port: 80, backend: { slot: 0, id: 1, mac: B(1) } },
      { index: 4, vip: '10.0.0.100', backend: { slot: 1, id: 2, mac: B(2) } },
    ];
    r.apply(fullPlan(specs));
    assert.equal(r.dest(tcpTo('10.0.0.100', 80)), B(1));
    // A new mirror on the same maps, as a restarted daemon builds it, then the daemon's full plan.
    r.mirror = new XdpMirror(r.maps);
    r.mirror.adopt();
    const w = r.mirror.apply(fullPlan(specs), 0, 1);
    assert.equal(w.backends, 0, 'the adopted slots are kept as they are');
    assert.equal(w.services, 0, 'the adopted service, VIP and port entries are kept as they are');
    const again = r.run(tcpTo('10.0.0.100', 80));
    assert.equal(again.dst, B(1));
    assert.equal(
      again.moved.get(CNT_SESSION_MISS),
      undefined,
      'the session recorded before the restart is hit',
    );
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
    const probe = probeMacOf(parseIpv4('10.0.0.250'));
    const probeText = [...probe].map((b) => b.toString(16).padStart(2, '0')).join(':');
    r.apply(fullPlan([{ index: 0, vip: '10.0.0.100', backend: { slot: 0, id: 1, mac: B(1) } }]));
    const answer = tcpFrame(
      { ethDst: probeText, ethSrc: B(1), src: '10.0.0.100', dst: '10.0.0.250' },
      { sport: 80, dport: 33000, flags: 0x12 },
    );
    const before = r.run(answer, r.be);
    assert.equal(before.act, XDP_DROP, 'without a probe address, a frame to that MAC is dropped');
    assert.equal(before.moved.get(DROP_BACKEND_PORT), 1);

    r.apply(plan(0, { settingsChanged: true }, '10.0.0.250'));
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
