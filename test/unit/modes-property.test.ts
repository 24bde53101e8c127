// Property tests (fast-check) of the frontend modes (docs/semantics.md, "Frontend modes"):
// - under any mode, standby, host_pass, one-arm and probe_ip, every FRONTEND frame gets what the
//   reference of rules 1a to 8 says (test/lib/reference.ts), a passed frame is left as it came, and every
//   frame has exactly one outcome in the counters;
// - host_pass changes nothing but the fate of the frames rules 3, 4, 5 and 7 drop: those become a PASS
//   naming the rule, every other frame gets the same verdict and the same bytes as without it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4 } from '../../src/core/addr.js';
import {
  ACT_DROP,
  ACT_PASS,
  ACT_TX_BACKEND,
  ACTION_NAMES,
  DROP_REASON_NAMES,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type FrontendMode, type InstanceConfig } from '../../src/core/model.js';
import {
  arp,
  ethernet,
  fromHex,
  icmpEchoFrame,
  ipv4Frame,
  TCP_SYN,
  tcpFrame,
  udpFrame,
} from '../../src/packet/build.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import type { InstancePorts } from '../../src/pipeline/desired.js';
import {
  BP_MAC,
  CLIENT_MAC,
  FE_MAC,
  IF_MAC,
  NODE_IP,
  PROBE_IP,
  PROBE_MAC,
  VIP,
  VIP2,
  WEB_MAC,
  webService,
} from '../lib/modes-fixture.js';
import { type RefFrontend, referenceFrontend, referenceModes } from '../lib/reference.js';
import { loadVectors } from '../lib/vectors.js';

const MACS = [FE_MAC, WEB_MAC, IF_MAC, BP_MAC, PROBE_MAC, 'ff:ff:ff:ff:ff:ff', '52:54:00:00:00:99'];
const ADDRS = [VIP, VIP2, NODE_IP, PROBE_IP, '10.0.0.101'];
const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);

interface Setting {
  mode?: FrontendMode;
  standby?: boolean;
  host_pass?: boolean;
  probe: boolean;
  oneArm: boolean;
  /** The FRONTEND interface's MAC is known. */
  ifMac: boolean;
}

const setting: fc.Arbitrary<Setting> = fc.record(
  {
    mode: fc.constantFrom<FrontendMode>('L2', 'ROUTED'),
    standby: fc.boolean(),
    host_pass: fc.boolean(),
    probe: fc.boolean(),
    oneArm: fc.boolean(),
    ifMac: fc.boolean(),
  },
  { requiredKeys: ['probe', 'oneArm', 'ifMac'] },
);

function config(s: Setting): InstanceConfig {
  return {
    name: 'modes',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: VIP, mac: FE_MAC },
    backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    services: [webService(2)],
    ...(s.probe ? { probe_ip: PROBE_IP } : {}),
    sessions: DEFAULT_SESSION_SETTINGS,
    ...(s.mode === undefined ? {} : { mode: s.mode }),
    ...(s.standby === undefined ? {} : { standby: s.standby }),
    ...(s.host_pass === undefined ? {} : { host_pass: s.host_pass }),
  };
}

function ports(s: Setting): InstancePorts {
  const frontendMac = s.ifMac ? IF_MAC : undefined;
  const backendMac = s.oneArm ? frontendMac : BP_MAC;
  return {
    ...(frontendMac === undefined ? {} : { frontendMac }),
    ...(backendMac === undefined ? {} : { backendMac }),
    oneArm: s.oneArm,
  };
}

/** The VIPs in the data plane and their MACs, as the document says (not as the control state holds). */
function vipsOf(s: Setting): Map<number, string> {
  if (s.mode === 'ROUTED') {
    return s.ifMac
      ? new Map([
          [parseIpv4(VIP), IF_MAC],
          [parseIpv4(VIP2), IF_MAC],
        ])
      : new Map();
  }
  return new Map([
    [parseIpv4(VIP), FE_MAC],
    [parseIpv4(VIP2), WEB_MAC],
  ]);
}

function balancer(s: Setting): Balancer {
  const b = new Balancer({ capacity: 4096 });
  b.configure(config(s), ports(s));
  return b;
}

const corpus = loadVectors()
  .flatMap((v) => v.steps.filter((s) => s.port === 'FRONTEND').map((s) => fromHex(s.frame)))
  .filter((f) => f.length >= 14);

/** FRONTEND frames aimed at the early rules: every MAC and address of the setting, any EtherType. */
const frame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .record({
      dst: fc.constantFrom(...MACS),
      to: fc.constantFrom(...ADDRS),
      kind: fc.constantFrom('tcp', 'udp', 'icmp', 'gre', 'arp', 'arp-reply', 'vlan', 'ipv6', 'lldp'),
      cut: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 5 }),
    })
    .map(({ dst, to, kind, cut }) => {
      const a = { ethDst: dst, ethSrc: CLIENT_MAC, src: '10.0.0.11', dst: to };
      const f =
        kind === 'tcp'
          ? tcpFrame(a, { sport: 40000, dport: to === VIP2 ? 443 : 80, flags: TCP_SYN })
          : kind === 'udp'
            ? udpFrame(a, { sport: 5000, dport: 53 })
            : kind === 'icmp'
              ? icmpEchoFrame(a, { type: 8, id: 1 })
              : kind === 'gre'
                ? ipv4Frame(a, 47, new Uint8Array(8))
                : kind.startsWith('arp')
                  ? ethernet({
                      dst,
                      src: CLIENT_MAC,
                      type: 0x0806,
                      payload: arp({
                        op: kind === 'arp' ? 1 : 2,
                        senderMac: CLIENT_MAC,
                        senderIp: '10.0.0.11',
                        targetIp: to,
                      }),
                      padding: 18,
                    })
                  : ethernet({
                      dst,
                      src: CLIENT_MAC,
                      type: kind === 'vlan' ? 0x0800 : kind === 'ipv6' ? 0x86dd : 0x88cc,
                      ...(kind === 'vlan' ? { vlans: [{ tci: 5 }] } : {}),
                      payload: new Uint8Array(46),
                    });
      return cut === null ? f : f.slice(0, cut);
    }),
  fc
    .tuple(
      fc.integer({ min: 0, max: corpus.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
    )
    .map(([i, edits]) => {
      const f = corpus[i]!.slice();
      for (const [at, x] of edits) f[at % f.length] = x;
      return f;
    }),
  fc.uint8Array({ maxLength: 80 }),
);

/** The verdict the reference's outcome stands for, as text; `later` for a frame rules 9 on decide. */
function refVerdict(r: RefFrontend): string {
  if (r.kind === 'PASS') return r.counter === 'BACKEND_PASS' ? 'PASS' : `PASS/${r.reason}`;
  if (r.kind === 'DROP') return `DROP/${r.reason}`;
  return r.kind === 'ARP_REPLY' ? 'TX_FRONTEND' : 'later';
}

const EARLY = new Set(['TRUNCATED', 'VLAN', 'ARP', 'ETHERTYPE', 'IP_MALFORMED', 'NOT_VIP', 'DST_MAC']);

function verdictText(v: number): string {
  const r = verdictReason(v);
  return r === 0
    ? ACTION_NAMES[verdictAction(v)]!
    : `${ACTION_NAMES[verdictAction(v)]}/${DROP_REASON_NAMES[r]}`;
}

test('under any frontend mode every frame meets the reference of rules 1a-8, and has exactly one outcome', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(setting, fc.array(frame, { minLength: 1, maxLength: 12 }), (s, frames) => {
      const b = balancer(s);
      const modes = referenceModes(config(s), s.oneArm);
      for (const input of frames) {
        const f = input.slice();
        const v = b.process(f, f.length, PORT_FRONTEND, 1000);
        const want = refVerdict(referenceFrontend(input, modes, vipsOf(s), s.probe ? PROBE_MAC : undefined));
        const got = verdictText(v);
        seen.add(want === 'later' ? 'later' : got);
        if (want === 'later') {
          // rules 9 on: a balanced frame, or a drop of a later rule (never passed)
          assert.ok(
            verdictAction(v) === ACT_TX_BACKEND ||
              (verdictAction(v) === ACT_DROP && !EARLY.has(DROP_REASON_NAMES[verdictReason(v)]!)),
            `${got} for a frame the reference sends on to rule 9`,
          );
        } else {
          assert.equal(got, want, `setting ${JSON.stringify(s)}`);
        }
        if (verdictAction(v) === ACT_PASS || verdictAction(v) === ACT_DROP) assert.deepEqual(f, input);
      }
      const st = b.stats();
      const drops = Object.values(st.drops).reduce((a, x) => a + x, 0);
      assert.equal(
        drops +
          st.arpReplies +
          (st.ndReplies ?? 0) +
          st.tx.backend +
          (st.backendPass ?? 0) +
          (st.frontendPass ?? 0),
        st.rx.packets,
        'every frame has exactly one outcome',
      );
    }),
    { numRuns: RUNS },
  );
  for (const must of [
    'PASS',
    'PASS/ARP',
    'PASS/NOT_VIP',
    'PASS/VLAN',
    'PASS/ETHERTYPE',
    'DROP/ARP',
    'TX_FRONTEND',
  ]) {
    assert.ok(seen.has(must), `no frame reached ${must} (saw ${[...seen].sort().join(', ')})`);
  }
});

test('host_pass turns the drops of rules 3, 4, 5 and 7 into a PASS naming the rule and changes nothing else', () => {
  const SPARED = new Set(['VLAN', 'ARP', 'ETHERTYPE', 'ND', 'NOT_VIP']);
  fc.assert(
    fc.property(setting, fc.array(frame, { minLength: 1, maxLength: 12 }), (s, frames) => {
      const with_ = balancer({ ...s, host_pass: true });
      const without = balancer({ ...s, host_pass: false });
      for (const input of frames) {
        const a = input.slice();
        const b = input.slice();
        const va = with_.process(a, a.length, PORT_FRONTEND, 1000);
        const vb = without.process(b, b.length, PORT_FRONTEND, 1000);
        const spared = verdictAction(vb) === ACT_DROP && SPARED.has(DROP_REASON_NAMES[verdictReason(vb)]!);
        if (spared) {
          assert.equal(verdictAction(va), ACT_PASS);
          assert.equal(verdictReason(va), verdictReason(vb));
        } else {
          assert.equal(verdictText(va), verdictText(vb));
        }
        assert.deepEqual(a, b, 'the same bytes');
      }
    }),
    { numRuns: RUNS },
  );
});
