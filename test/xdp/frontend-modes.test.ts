// The frontend modes in the XDP program (docs/semantics.md, "Frontend modes"), frame by frame through
// BPF_PROG_TEST_RUN (root): what the program returns (the XDP action a NIC would act on), the bytes
// that leave and the counters that move, for CFG_HOST_PASS (frames not for a VIP go to the host's
// stack, XDP_PASS, counted FRONTEND_PASS, IPv6 and its Neighbor Discovery included; frames for a VIP
// never do), CFG_NO_ARP (no ARP reply for a
// VIP, frames still balanced) and CFG_ONE_ARM (frames to the probe MAC passed as BACKEND_PASS,
// balanced frames sent back out of the one interface by XDP_TX, whatever the devmap holds); and what
// lbdsr_explain answers for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeMacOf } from '../../src/core/addr.js';
import {
  ACT_PASS,
  ACT_TX_BACKEND,
  CNT_ARP_REPLY,
  CNT_BACKEND_PASS,
  CNT_FRONTEND_PASS,
  CNT_MAX,
  CNT_SESSION_MISS,
  DROP_ARP,
  DROP_DST_MAC,
  DROP_ETHERTYPE,
  DROP_IP_MALFORMED,
  DROP_ND,
  DROP_NO_SERVICE,
  DROP_NOT_VIP,
  DROP_VLAN,
  PORT_FRONTEND,
} from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { XdpExplainer } from '../../src/dataplane/xdp/explain.js';
import { XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../../src/kernel/libbpf.js';
import {
  arpReplyFrame,
  arpRequestFrame,
  ethernet,
  tcpFrame,
  toHex,
  withMacs,
} from '../../src/packet/build.js';
import { nsFrame, tcp6Frame } from '../../src/packet/build6.js';
import { xdpSkipReason } from './env.js';
import { XdpBalancer } from './harness.js';

const skip = xdpSkipReason();
const VIP = '10.0.0.100';
const VIP2 = '10.0.0.200';
const VIP_MAC = 'aa:bb:cc:dd:ee:ff';
const HOST_IP = '10.0.0.5';
const CLIENT_MAC = '02:00:00:00:00:aa';
const BACKEND_MAC = '02:00:00:00:00:07';
const PORT_MAC = '02:00:00:00:00:0b';
const PROBE_IP = '10.0.0.250';
const PROBE_MAC = probeMacOf(0x0a0000fa);
/** The FRONTEND interface's own MAC (every VIP's in mode ROUTED). */
const FE_MAC = '02:00:00:00:00:0f';

function config(extra: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    name: 'modes',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: VIP, mac: VIP_MAC },
    backend: { pool: [{ id: 7, mac: BACKEND_MAC }] },
    services: [
      { name: 'web', vip: VIP2, protocol: 'TCP', port: 80, backend: { pool: [{ id: 8, mac: BACKEND_MAC }] } },
    ],
    probe_ip: PROBE_IP,
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 4096 },
    ...extra,
  };
}

const syn = (dst = VIP, ethDst = VIP_MAC, sport = 40000) =>
  tcpFrame({ ethDst, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst }, { sport, dport: 80, flags: 0x02 });

/** The frames that are not for a VIP (rules 3, 4, 5, 7) and those that are or that must still drop. */
const NOT_FOR_A_VIP: [string, Uint8Array, number][] = [
  [
    'a VLAN-tagged frame',
    ethernet({ dst: VIP_MAC, src: CLIENT_MAC, type: 0x0800, vlans: [{ tci: 5 }], padding: 46 }),
    DROP_VLAN,
  ],
  [
    'ARP for the host address',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: HOST_IP }),
    DROP_ARP,
  ],
  [
    'ARP for the VIP to another MAC',
    arpRequestFrame({
      senderMac: CLIENT_MAC,
      senderIp: '10.0.0.11',
      targetIp: VIP,
      ethDst: '02:00:00:00:00:0c',
    }),
    DROP_ARP,
  ],
  [
    'an ARP reply to the host',
    arpReplyFrame({
      senderMac: CLIENT_MAC,
      senderIp: '10.0.0.11',
      targetMac: '02:00:00:00:00:0c',
      targetIp: HOST_IP,
    }),
    DROP_ARP,
  ],
  [
    'LLDP',
    ethernet({ dst: '01:80:c2:00:00:0e', src: CLIENT_MAC, type: 0x88cc, padding: 46 }),
    DROP_ETHERTYPE,
  ],
  [
    'IPv6 to the host address',
    tcp6Frame(
      { ethDst: '02:00:00:00:00:0c', ethSrc: CLIENT_MAC, src: 'fd00::11', dst: 'fd00::5' },
      { sport: 1, dport: 22, flags: 2 },
    ),
    DROP_NOT_VIP,
  ],
  [
    'IPv6 Neighbor Discovery for the host',
    nsFrame({ srcMac: CLIENT_MAC, src: 'fd00::11', target: 'fd00::5' }),
    DROP_ND,
  ],
  ['IPv4 to the host address', syn(HOST_IP, '02:00:00:00:00:0c'), DROP_NOT_VIP],
];
const NEVER_PASSED: [string, Uint8Array, number][] = [
  ['IPv4 for the VIP to another MAC', syn(VIP, '02:00:00:00:00:0c'), DROP_DST_MAC],
  [
    'malformed IPv4',
    ethernet({ dst: VIP_MAC, src: CLIENT_MAC, type: 0x0800, padding: 30 }),
    DROP_IP_MALFORMED,
  ],
  [
    'malformed IPv6 (version 0)',
    ethernet({ dst: '33:33:00:00:00:01', src: CLIENT_MAC, type: 0x86dd, padding: 60 }),
    DROP_IP_MALFORMED,
  ],
  [
    'a VIP port without a service',
    tcpFrame(
      { ethDst: VIP_MAC, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst: VIP2 },
      { sport: 1, dport: 81, flags: 2 },
    ),
    DROP_NO_SERVICE,
  ],
];

interface Run {
  act: number;
  out: string;
  moved: Map<number, number>;
}

/** Runs one frame through lbdsr_xdp: the XDP action, the bytes out, the counters that moved. */
function run(xdp: XdpBalancer, frame: Uint8Array): Run {
  const before = xdp.maps.readCounters();
  xdp.runner.input.set(frame);
  const act = xdp.runner.run(frame.length);
  const after = xdp.maps.readCounters();
  const moved = new Map<number, number>();
  for (let i = 0; i < CNT_MAX; i++) if (after[i] !== before[i]) moved.set(i, after[i]! - before[i]!);
  return { act, out: toHex(xdp.runner.output, 0, xdp.runner.outLen), moved };
}

/** The ports as the daemon resolves them: two interfaces, or one (one-arm: CFG_ONE_ARM). */
const TWO_ARMS = { backendMac: PORT_MAC, frontendMac: FE_MAC, oneArm: false };
const ONE_ARM = { backendMac: FE_MAC, frontendMac: FE_MAC, oneArm: true };

function withRig(fn: (xdp: XdpBalancer) => void): void {
  const xdp = new XdpBalancer({ ...DEFAULT_SESSION_SETTINGS, capacity: 4096 });
  try {
    xdp.setClock(1000);
    fn(xdp);
  } finally {
    xdp.close();
  }
}

test('host_pass: frames not for a VIP go to the host (XDP_PASS, FRONTEND_PASS); frames for a VIP are never passed', {
  skip,
}, () => {
  withRig((xdp) => {
    for (const hostPass of [false, true]) {
      xdp.configure(config({ host_pass: hostPass }), PORT_MAC);
      for (const [what, frame, reason] of NOT_FOR_A_VIP) {
        const r = run(xdp, frame);
        const verdict = xdp.process(frame.slice(), frame.length, PORT_FRONTEND, 1000);
        if (hostPass) {
          assert.equal(verdict, ACT_PASS | (reason << 8), `${what}: PASS naming its rule (explain)`);
          assert.equal(r.act, XDP_PASS, `${what}: passed to the host`);
          assert.equal(r.out, toHex(frame), `${what}: unchanged`);
          assert.equal(r.moved.get(CNT_FRONTEND_PASS), 1, `${what}: counted FRONTEND_PASS`);
          assert.equal(r.moved.get(reason), undefined, `${what}: not counted as a drop`);
        } else {
          assert.equal(r.act, XDP_DROP, `${what}: dropped without host_pass`);
          assert.equal(r.moved.get(reason), 1, `${what}: counted as its drop`);
          assert.equal(r.moved.get(CNT_FRONTEND_PASS), undefined);
        }
      }
      for (const [what, frame, reason] of NEVER_PASSED) {
        const r = run(xdp, frame);
        assert.equal(r.act, XDP_DROP, `${what}: dropped (host_pass ${hostPass})`);
        assert.equal(r.moved.get(reason), 1, `${what}: counted as its drop`);
      }
      // The VIP is still answered and balanced.
      const arp = run(xdp, arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: VIP }));
      assert.equal(arp.act, XDP_TX, 'ARP for the VIP answered');
      assert.equal(arp.moved.get(CNT_ARP_REPLY), 1);
      const fwd = run(xdp, syn(VIP, VIP_MAC, hostPass ? 40001 : 40002));
      assert.equal(fwd.act, XDP_REDIRECT, 'a frame for the VIP is balanced');
      assert.equal(
        fwd.out,
        toHex(withMacs(syn(VIP, VIP_MAC, hostPass ? 40001 : 40002), BACKEND_MAC, PORT_MAC)),
      );
    }
  });
});

test('NO_ARP (standby, ROUTED): no ARP reply for a VIP, with host_pass the host gets it; frames are still balanced', {
  skip,
}, () => {
  withRig((xdp) => {
    const request = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: VIP });
    xdp.configure(config({ standby: true }), PORT_MAC);
    let r = run(xdp, request);
    assert.equal(r.act, XDP_DROP, 'standby: the ARP request for the VIP is not answered');
    assert.equal(r.moved.get(DROP_ARP), 1);
    assert.equal(r.moved.get(CNT_ARP_REPLY), undefined);
    r = run(xdp, syn());
    assert.equal(r.act, XDP_REDIRECT, 'standby: a frame that arrives is still balanced');

    xdp.configure(config({ standby: true, host_pass: true }), PORT_MAC);
    r = run(xdp, request);
    assert.equal(r.act, XDP_PASS, 'standby with host_pass: the request goes to the host');
    assert.equal(r.out, toHex(request), 'not rewritten into a reply');
    assert.equal(r.moved.get(CNT_FRONTEND_PASS), 1);

    // ROUTED: NO_ARP and HOST_PASS by default; frames to the interface's own MAC are balanced, those
    // to the configured frontend MAC are not.
    xdp.configure(config({ mode: 'ROUTED' }), TWO_ARMS);
    r = run(xdp, request);
    assert.equal(r.act, XDP_PASS, 'ROUTED: ARP for the VIP goes to the host');
    r = run(xdp, syn(VIP, FE_MAC, 40003));
    assert.equal(r.act, XDP_REDIRECT, 'ROUTED: a frame to the interface MAC is balanced');
    assert.equal(r.out, toHex(withMacs(syn(VIP, FE_MAC, 40003), BACKEND_MAC, PORT_MAC)));
    r = run(xdp, syn(VIP, VIP_MAC, 40004));
    assert.equal(r.act, XDP_DROP, 'ROUTED: the configured frontend MAC is not used');
    assert.equal(r.moved.get(DROP_DST_MAC), 1);
    xdp.configure(config({ mode: 'ROUTED' }), { backendMac: PORT_MAC, oneArm: false });
    r = run(xdp, syn(VIP, FE_MAC, 40005));
    assert.equal(r.moved.get(CNT_FRONTEND_PASS), 1, 'ROUTED without the interface MAC: no VIP, passed');
    xdp.configure(config({ mode: 'ROUTED', host_pass: false }), TWO_ARMS);
    r = run(xdp, request);
    assert.equal(r.act, XDP_DROP, 'ROUTED without host_pass: dropped');
    assert.equal(r.moved.get(DROP_ARP), 1);
  });
});

test('one-arm: balanced frames leave by XDP_TX (no devmap), probe-MAC frames pass as BACKEND_PASS, ARP replies as before', {
  skip,
}, () => {
  withRig((xdp) => {
    xdp.configure(config(), PORT_MAC);
    // Without one-arm a frame to the probe MAC arriving on the FRONTEND port is not for a VIP.
    const toProbe = tcpFrame(
      { ethDst: PROBE_MAC, ethSrc: BACKEND_MAC, src: VIP, dst: PROBE_IP },
      { sport: 80, dport: 33000, flags: 0x12 },
    );
    let r = run(xdp, toProbe);
    assert.equal(r.act, XDP_DROP);
    assert.equal(r.moved.get(DROP_NOT_VIP), 1);

    xdp.configure(config(), ONE_ARM);
    xdp.maps.writeDevmap(0); // one-arm needs no devmap: balanced frames leave where they came in
    const frame = syn();
    r = run(xdp, frame);
    assert.equal(r.act, XDP_TX, 'balanced back out of the same interface');
    assert.equal(r.out, toHex(withMacs(frame, BACKEND_MAC, FE_MAC)), 'to the backend MAC, from the port MAC');
    assert.equal(r.moved.get(CNT_SESSION_MISS), 1, 'the session is recorded');
    assert.deepEqual(
      xdp.sessionList().map((s) => s.backend),
      [7],
      'to the backend of the matched service',
    );
    assert.equal(
      xdp.process(syn(), syn().length, PORT_FRONTEND, 1000),
      ACT_TX_BACKEND,
      'the harness reads it as TX_BACKEND',
    );

    r = run(xdp, toProbe);
    assert.equal(r.act, XDP_PASS, 'a probe answer goes to the kernel (the prober)');
    assert.equal(r.moved.get(CNT_BACKEND_PASS), 1, 'counted BACKEND_PASS');
    const arpToProber = withMacs(
      arpRequestFrame({ senderMac: BACKEND_MAC, senderIp: '10.0.0.21', targetIp: PROBE_IP }),
      PROBE_MAC,
      BACKEND_MAC,
    );
    r = run(xdp, arpToProber);
    assert.equal(r.act, XDP_PASS, 'an ARP frame to the probe MAC too');
    assert.equal(r.moved.get(CNT_BACKEND_PASS), 1);

    const arp = run(xdp, arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: VIP }));
    assert.equal(arp.act, XDP_TX, 'the ARP reply leaves as before');
    assert.equal(arp.moved.get(CNT_ARP_REPLY), 1);
  });
});

test('lbdsr_explain: PASS for host-passed and probe-MAC frames, TX_BACKEND for a one-arm balanced frame', {
  skip,
}, () => {
  withRig((xdp) => {
    xdp.configure(config({ mode: 'ROUTED' }), TWO_ARMS);
    const explainer = new XdpExplainer({ ...xdp.loaded.fds }, 4096);
    try {
      const arp = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: VIP });
      assert.equal(
        explainer.explain(arp, PORT_FRONTEND).verdict,
        ACT_PASS | (DROP_ARP << 8),
        'ROUTED: ARP for the VIP passes, by rule 4',
      );
      assert.equal(
        explainer.explain(syn(HOST_IP), PORT_FRONTEND).verdict,
        ACT_PASS | (DROP_NOT_VIP << 8),
        'not for a VIP: passes, by rule 7',
      );
      assert.equal(
        explainer.explain(syn(VIP, VIP_MAC), PORT_FRONTEND).verdict,
        DROP_DST_MAC << 8,
        'for the VIP at the configured MAC: dropped',
      );
      xdp.configure(config(), ONE_ARM);
      const t = explainer.explain(syn(), PORT_FRONTEND);
      assert.equal(t.verdict, ACT_TX_BACKEND);
      assert.equal(toHex(t.output), toHex(withMacs(syn(), BACKEND_MAC, FE_MAC)));
      const probe = withMacs(syn(HOST_IP), PROBE_MAC, BACKEND_MAC);
      assert.equal(
        explainer.explain(probe, PORT_FRONTEND).verdict,
        ACT_PASS,
        'one-arm: the probe MAC passes (rule 1a, reason 0)',
      );
      assert.equal(xdp.maps.readCounters()[CNT_BACKEND_PASS], 0, 'explain counts nothing');
    } finally {
      explainer.close();
    }
  });
});
