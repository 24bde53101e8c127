// The frontend modes (docs/semantics.md, "Frontend modes") on the TypeScript pipeline, as a user of a
// plane sees them: which frames are balanced, answered, passed to the host or dropped, what the stats
// count, what explain says, and which flags a configuration and its ports give (checkConfig).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACT_PASS,
  ACTION_NAMES,
  CFG_HOST_PASS,
  CFG_NO_ARP,
  CFG_ONE_ARM,
  CNT_BACKEND_PASS,
  CNT_FRONTEND_PASS,
  DROP_REASON_NAMES,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import {
  arp,
  arpRequestFrame,
  ETH_P_ARP,
  ethernet,
  ipv4Frame,
  padTo,
  TCP_SYN,
  tcpFrame,
  toHex,
  udpFrame,
} from '../../src/packet/build.js';
import { udp6Frame } from '../../src/packet/build6.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { checkConfig, type InstancePorts, instancePorts } from '../../src/pipeline/desired.js';
import { describe as describeTrace, explainFrame, traceOf } from '../../src/pipeline/explain.js';
import {
  BP_MAC,
  CLIENT_MAC,
  FE_MAC,
  IF_MAC,
  NODE_IP,
  PROBE_IP,
  PROBE_MAC,
  VIP,
} from '../lib/modes-fixture.js';

function config(extra: Partial<InstanceConfig> = {}): InstanceConfig {
  return {
    name: 'lb1',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: VIP, mac: FE_MAC },
    backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    sessions: DEFAULT_SESSION_SETTINGS,
    ...extra,
  };
}

function balancer(extra: Partial<InstanceConfig> = {}, ports: InstancePorts | string = BP_MAC): Balancer {
  const b = new Balancer();
  b.configure(config(extra), ports);
  return b;
}

/** The verdict as text ('PASS/NOT_VIP', 'DROP/DST_MAC', 'TX_BACKEND'), what counters moved, the output. */
function run(b: Balancer, frame: Uint8Array) {
  const before = [...b.counters];
  const txBefore = [...b.tx];
  const f = frame.slice();
  const v = b.process(f, f.length, PORT_FRONTEND, 1000);
  const moved: Record<string, number> = {};
  b.counters.forEach((x, i) => {
    if (x !== before[i]) moved[i] = x - before[i]!;
  });
  const a = ACTION_NAMES[verdictAction(v)]!;
  const r = verdictReason(v);
  return {
    verdict: r === 0 ? a : `${a}/${DROP_REASON_NAMES[r]}`,
    frontendPass: moved[CNT_FRONTEND_PASS] ?? 0,
    backendPass: moved[CNT_BACKEND_PASS] ?? 0,
    drops: DROP_REASON_NAMES.filter((_n, i) => i > 0 && moved[i] !== undefined),
    tx: [b.tx[0]! - txBefore[0]!, b.tx[1]! - txBefore[1]!],
    out: f,
  };
}

const tcp = (ethDst: string, dst = VIP) =>
  tcpFrame(
    { ethDst, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst },
    { sport: 40000, dport: 80, flags: TCP_SYN },
  );
const arpFor = (target: string, ethDst?: string) =>
  arpRequestFrame({
    senderMac: CLIENT_MAC,
    senderIp: '10.0.0.11',
    targetIp: target,
    ...(ethDst ? { ethDst } : {}),
  });
/** An IPv6 frame not for a VIP (the host's own IPv6) and a frame of another EtherType (LLDP). */
const ipv6 = () =>
  udp6Frame({ ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: 'fd00::11', dst: 'fd00::1' }, { sport: 1, dport: 2 });
const lldp = () =>
  padTo(ethernet({ dst: FE_MAC, src: CLIENT_MAC, type: 0x88cc, payload: new Uint8Array(40) }));
const vlan = () =>
  ethernet({ dst: FE_MAC, src: CLIENT_MAC, type: 0x0800, vlans: [{ tci: 5 }], payload: new Uint8Array(40) });

test('host_pass: VLAN, unanswered ARP, other EtherTypes and IPv4 not to a VIP go to the host, counted FRONTEND_PASS and not as drops', () => {
  const b = balancer({ host_pass: true });
  const arpReply = padTo(
    ethernet({
      dst: FE_MAC,
      src: CLIENT_MAC,
      type: ETH_P_ARP,
      payload: arp({ op: 2, senderMac: CLIENT_MAC, senderIp: '10.0.0.11', targetIp: NODE_IP }),
    }),
  );
  const cases: [string, Uint8Array, string][] = [
    ['VLAN', vlan(), 'PASS/VLAN'],
    ['ARP not a request', arpReply, 'PASS/ARP'],
    ['ARP for the host', arpFor(NODE_IP), 'PASS/ARP'],
    ['ARP to another MAC', arpFor(VIP, '02:00:00:00:00:99'), 'PASS/ARP'],
    ['LLDP', lldp(), 'PASS/ETHERTYPE'],
    ['IPv6 to the host', ipv6(), 'PASS/NOT_VIP'],
    ['IPv4 to the host', tcp(FE_MAC, NODE_IP), 'PASS/NOT_VIP'],
  ];
  for (const [what, frame, want] of cases) {
    const r = run(b, frame);
    assert.equal(r.verdict, want, what);
    assert.equal(r.frontendPass, 1, what);
    assert.deepEqual(r.drops, [], what);
    assert.deepEqual(r.tx, [0, 0], what);
    assert.equal(toHex(r.out), toHex(frame), `${what}: passed as it came`);
  }
  assert.equal(b.stats().drops.NOT_VIP, 0);
});

test('host_pass: truncated and malformed frames, and frames for a VIP, still drop', () => {
  const b = balancer({ host_pass: true });
  const short = ipv4Frame(
    { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst: VIP },
    6,
    new Uint8Array(20),
  ).slice(0, 30);
  assert.equal(run(b, new Uint8Array(13)).verdict, 'DROP/TRUNCATED');
  assert.equal(run(b, short).verdict, 'DROP/IP_MALFORMED');
  const r = run(b, tcp('02:00:00:00:00:99'));
  assert.equal(r.verdict, 'DROP/DST_MAC');
  assert.equal(r.frontendPass, 0);
  assert.deepEqual(r.drops, ['DST_MAC']);
  assert.equal(
    run(
      b,
      udpFrame({ ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst: VIP }, { sport: 1, dport: 2 }),
    ).verdict,
    'TX_BACKEND',
  );
});

test('without host_pass (L2 default) the same frames drop as before', () => {
  const b = balancer();
  assert.equal(run(b, vlan()).verdict, 'DROP/VLAN');
  assert.equal(run(b, lldp()).verdict, 'DROP/ETHERTYPE');
  assert.equal(run(b, ipv6()).verdict, 'DROP/NOT_VIP');
  assert.equal(run(b, tcp(FE_MAC, NODE_IP)).verdict, 'DROP/NOT_VIP');
  assert.equal(run(b, arpFor(NODE_IP)).verdict, 'DROP/ARP');
  assert.equal(b.counters[CNT_FRONTEND_PASS], 0);
});

test('standby answers no ARP for a VIP and still balances the frames that arrive', () => {
  const b = balancer({ standby: true });
  const a = run(b, arpFor(VIP));
  assert.equal(a.verdict, 'DROP/ARP');
  assert.deepEqual(a.tx, [0, 0]);
  assert.equal(b.stats().arpReplies, 0);
  const t = run(b, tcp(FE_MAC));
  assert.equal(t.verdict, 'TX_BACKEND');
  assert.equal(toHex(t.out.subarray(0, 12)), '02000000000102000000be01');
  // back to active: ARP is answered again
  b.configure(config({ standby: false }), BP_MAC);
  assert.equal(run(b, arpFor(VIP)).verdict, 'TX_FRONTEND');
  // standby with host_pass: the unanswered request goes to the host
  b.configure(config({ standby: true, host_pass: true }), BP_MAC);
  assert.equal(run(b, arpFor(VIP)).verdict, 'PASS/ARP');
});

test('ROUTED: a VIP is reached at the FRONTEND interface MAC, not the configured one; no ARP answered; host_pass by default', () => {
  const ports = { backendMac: BP_MAC, frontendMac: IF_MAC, oneArm: false };
  const b = balancer({ mode: 'ROUTED' }, ports);
  const t = run(b, tcp(IF_MAC));
  assert.equal(t.verdict, 'TX_BACKEND');
  assert.equal(run(b, tcp(FE_MAC)).verdict, 'DROP/DST_MAC');
  assert.equal(run(b, arpFor(VIP)).verdict, 'PASS/ARP');
  assert.equal(run(b, arpFor(VIP, IF_MAC)).verdict, 'PASS/ARP');
  assert.equal(run(b, tcp(IF_MAC, NODE_IP)).verdict, 'PASS/NOT_VIP');
  assert.equal(b.stats().arpReplies, 0);
  // host_pass off: the same ARP request drops
  b.configure(config({ mode: 'ROUTED', host_pass: false }), ports);
  assert.equal(run(b, arpFor(VIP)).verdict, 'DROP/ARP');
  assert.equal(run(b, tcp(IF_MAC, NODE_IP)).verdict, 'DROP/NOT_VIP');
  // without the interface's MAC no service is in the data plane
  b.configure(config({ mode: 'ROUTED' }), { backendMac: BP_MAC, oneArm: false });
  assert.equal(run(b, tcp(IF_MAC)).verdict, 'PASS/NOT_VIP');
  assert.equal(run(b, tcp(FE_MAC)).verdict, 'PASS/NOT_VIP');
});

test('one-arm: frames to the probe MAC go to the kernel (BACKEND_PASS), ARP is answered, balanced frames count as BACKEND tx', () => {
  const ports = { backendMac: IF_MAC, frontendMac: IF_MAC, oneArm: true };
  const b = balancer({ probe_ip: PROBE_IP, host_pass: true }, ports);
  const probeAnswer = tcpFrame(
    { ethDst: PROBE_MAC, ethSrc: '02:00:00:00:00:01', src: VIP, dst: PROBE_IP },
    { sport: 80, dport: 33000, flags: 0x12 },
  );
  const p = run(b, probeAnswer);
  assert.equal(p.verdict, 'PASS');
  assert.equal(p.backendPass, 1);
  assert.equal(p.frontendPass, 0);
  const arpToProbe = padTo(
    ethernet({
      dst: PROBE_MAC,
      src: '02:00:00:00:00:01',
      type: ETH_P_ARP,
      payload: arp({ op: 2, senderMac: '02:00:00:00:00:01', senderIp: '10.0.1.1', targetIp: PROBE_IP }),
    }),
  );
  assert.equal(run(b, arpToProbe).verdict, 'PASS');
  const a = run(b, arpFor(VIP));
  assert.equal(a.verdict, 'TX_FRONTEND');
  assert.deepEqual(a.tx, [1, 0]);
  const t = run(b, tcp(FE_MAC));
  assert.equal(t.verdict, 'TX_BACKEND');
  assert.deepEqual(t.tx, [0, 1]);
  assert.equal(toHex(t.out.subarray(0, 12)), `020000000001${IF_MAC.replaceAll(':', '')}`);
  // the same frame to the probe MAC without one-arm is a FRONTEND frame like any other
  const two = balancer({ probe_ip: PROBE_IP }, BP_MAC);
  assert.equal(run(two, probeAnswer).verdict, 'DROP/NOT_VIP');
});

test('the flags come from mode, standby, host_pass and the ports; a change of them is a settings change', () => {
  const flags = (extra: Partial<InstanceConfig>, oneArm = false) =>
    checkConfig(config(extra), { backendMac: BP_MAC, frontendMac: IF_MAC, oneArm }).settings.flags;
  assert.equal(flags({}), 0);
  assert.equal(flags({ host_pass: true }), CFG_HOST_PASS);
  assert.equal(flags({ standby: true }), CFG_NO_ARP);
  assert.equal(flags({ mode: 'ROUTED' }), CFG_NO_ARP | CFG_HOST_PASS);
  assert.equal(flags({ mode: 'ROUTED', host_pass: false }), CFG_NO_ARP);
  assert.equal(flags({}, true), CFG_ONE_ARM);
  assert.equal(flags({ mode: 'ROUTED', standby: true }, true), CFG_NO_ARP | CFG_HOST_PASS | CFG_ONE_ARM);
  const b = balancer();
  assert.equal(b.control.plan(config({ standby: true }), BP_MAC).settingsChanged, true);
  assert.equal(b.control.plan(config(), { backendMac: BP_MAC, oneArm: true }).settingsChanged, true);
  assert.equal(b.control.plan(config(), BP_MAC).settingsChanged, false);
});

test('instancePorts: the resolved ports give their MACs, and one-arm when both are one interface', () => {
  const fe = { name: 'fe', ifname: 'eth0', ifindex: 2, mac: IF_MAC };
  assert.deepEqual(instancePorts({ frontend: fe, backend: { ...fe, name: 'be' } }), {
    frontendMac: IF_MAC,
    backendMac: IF_MAC,
    oneArm: true,
  });
  assert.deepEqual(
    instancePorts({ frontend: fe, backend: { name: 'be', ifname: 'eth1', ifindex: 3, mac: BP_MAC } }),
    {
      frontendMac: IF_MAC,
      backendMac: BP_MAC,
      oneArm: false,
    },
  );
  assert.deepEqual(instancePorts({}), { oneArm: false });
});

test('explain names the rule that passed a frame to the host, and one-arm probe passes', () => {
  const b = balancer(
    { host_pass: true, standby: true, probe_ip: PROBE_IP },
    { backendMac: BP_MAC, oneArm: true },
  );
  const ex = (r: Parameters<typeof explainFrame>[0]) => {
    const { frame, port } = explainFrame(r, b.control);
    return describeTrace(traceOf(b, frame, port, 1000), frame, port, b.control, 'USERSPACE');
  };
  const notVip = ex({ src: '10.0.0.11', dst: NODE_IP, proto: 'TCP', sport: 1, dport: 2 });
  assert.equal(notVip.verdict, 'PASS');
  assert.equal(notVip.rule, '7');
  assert.match(notVip.why, /host/);
  const a = ex({ arp: true, who_has: VIP });
  assert.equal(a.verdict, 'PASS');
  assert.equal(a.rule, '4');
  assert.match(a.why, /not answered/);
  const probe = ex({ src: VIP, dst: PROBE_IP, proto: 'TCP', sport: 80, dport: 3, mac: PROBE_MAC });
  assert.equal(probe.verdict, 'PASS');
  assert.equal(probe.rule, '1a');
  assert.equal(
    verdictAction(
      traceOf(b, explainFrame({ arp: true, who_has: VIP }, b.control).frame, PORT_FRONTEND, 1000).verdict,
    ),
    ACT_PASS,
  );
  b.configure(config({ standby: true }), BP_MAC);
  const dropped = ex({ arp: true, who_has: VIP });
  assert.equal(dropped.drop, 'ARP');
  assert.match(dropped.why, /not answered/);
  // nothing recorded by explaining
  assert.equal(b.counters[CNT_FRONTEND_PASS], 0);
});
