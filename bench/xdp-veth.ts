// The veth to veth forwarding part of the XDP benchmark (bench/xdp.ts runs it; LBDSR_BENCH_XDP=veth
// runs it alone): frames per second forwarded by lbdsr, the ceiling and an nftables netdev rule, with
// BPF_PROG_TEST_RUN live frames as the generator; by lbdsr on a full table when every frame is a new
// flow (gen_flows_xdp: SYNs, then ACKs); and by lbdsr for IPv6 frames of the same dual-stack service
// (the hit, empty and with 1,000,000 sessions held in each family's map, and new IPv6 flows), all
// interleaved, so that each IPv6 rate stands beside its IPv4 rate of the same run.
//
// gen ns [g0] --veth-- [fe] lb ns [be] --veth-- [s0] sink ns
// The generator is BPF_PROG_TEST_RUN with live frames in the gen namespace: bench.bpf.o's gen_xdp
// redirects its frame out of g0, the frame arrives on fe where the forwarder under test runs (lbdsr
// natively, the ceiling natively, or an nftables netdev ingress rule), is rewritten and sent into be,
// and sink_xdp on s0 counts and drops it. Delivered frames / wall time = the rate. Everything runs on
// the generator's core (veth NAPI runs in the softirq the generator raises), so the figure is per core
// and includes the generator's and the sink's share, the same for every forwarder. Frames come back
// to the generator's page pool as they left the sink, so the configuration makes the rewrite the
// identity (backend MAC = frontend MAC, backend port MAC = the generator's MAC).
import { XdpMaps } from '../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../src/dataplane/xdp/mirror.js';
import { bpfObjectPath, CEILING_OBJECT, loadLbdsr } from '../src/dataplane/xdp/object.js';
import { inNetns } from '../src/kernel/ifinfo.js';
import {
  BPF_F_TEST_XDP_LIVE_FRAMES,
  BpfObject,
  mapLookup,
  mapUpdate,
  possibleCpus,
  TestRunner,
  XDP_FLAGS_DRV_MODE,
  xdpAttach,
  xdpDetach,
} from '../src/kernel/libbpf.js';
import { TCP_ACK } from '../src/packet/build.js';
import { ControlState } from '../src/pipeline/control.js';
import { must } from '../testkit/exec.js';
import { Line } from '../testkit/line.js';
import { median } from '../testkit/timing.js';
import type { Section } from './report.js';
import {
  benchConfig,
  CLIENT_MAC,
  ceilingFlow,
  configureCeiling,
  FE_MAC,
  fillSessions4,
  floodState,
  TABLE,
  u32le,
  V4_FLOWS,
  V6_FLOWS,
  VIP,
} from './xdp-flows.js';

const VETH_FRAMES = 2_000_000;

interface Lab {
  line: Line;
  gen: string;
  lb: string;
  sink: string;
  fe: number;
  be: number;
  g0: number;
  s0: number;
}

function buildLab(): Lab {
  const line = Line.build({
    tag: 'xb',
    fe: 'fe',
    be: 'be',
    left: { role: 'g', ifname: 'g0', mac: CLIENT_MAC },
    right: { role: 's', ifname: 's0' },
  });
  try {
    return {
      line,
      gen: line.left,
      lb: line.lb,
      sink: line.right,
      fe: line.ifindex(line.lb, 'fe'),
      be: line.ifindex(line.lb, 'be'),
      g0: line.ifindex(line.left, 'g0'),
      s0: line.ifindex(line.right, 's0'),
    };
  } catch (e) {
    line.destroy();
    throw e;
  }
}

/**
 * An lbdsr program on its own maps, configured for the identity rewrite, devmap -> `be`; `fill` filler
 * sessions in the IPv4 map, and as many in the IPv6 map when `fill6`.
 */
function lbdsrForwarder(lab: Lab, fill: number, fill6 = false): { progFd: number; close: () => void } {
  const ld = loadLbdsr({ capacity: TABLE });
  const mirror = new XdpMirror(new XdpMaps(ld.fds));
  const control = new ControlState();
  const plan = control.apply(benchConfig(), CLIENT_MAC);
  inNetns(lab.lb, () => mirror.apply(plan, lab.be));
  if (fill > 0) fillSessions4(ld.fds.sessions, mirror.slotOf(1), fill);
  if (fill > 0 && fill6) V6_FLOWS.fill(ld.fds, mirror.slotOf(1), fill);
  return { progFd: ld.progFd, close: () => ld.obj.close() };
}

const VETH_ROUNDS = 5;

/** The same forwarding by nftables: match, hash the flow onto a backend MAC (a 3-backend map, all the
 * frontend MAC for the identity rewrite), rewrite, forward. */
const NFT_RULES = `table netdev lbbench {
  chain ingress {
    type filter hook ingress device "fe" priority 0; policy accept;
    ether daddr ${FE_MAC} ip daddr ${VIP} ether saddr set ${CLIENT_MAC} ether daddr set jhash ip saddr . ip daddr . tcp sport . tcp dport mod 3 map { 0 : ${FE_MAC}, 1 : ${FE_MAC}, 2 : ${FE_MAC} } fwd to "be"
  }
}
`;

export async function vethForwarding(r: Section): Promise<void> {
  const lab = buildLab();
  const helpers = BpfObject.openFile(bpfObjectPath('bench.bpf.o'));
  const ceilObj = BpfObject.openFile(bpfObjectPath(CEILING_OBJECT));
  const closers: (() => void)[] = [() => helpers.close(), () => ceilObj.close()];
  try {
    helpers.load();
    ceilObj.load();
    const gen = new TestRunner(helpers.programFd('gen_xdp'), 4096);
    const frame = V4_FLOWS.flowFrame(0);
    gen.input.set(frame);
    // The IPv6 hit: the same generator with the IPv6 frame of flow 0 (one session, in the IPv6 map).
    const gen6 = new TestRunner(helpers.programFd('gen_xdp'), 4096);
    const frame6 = V6_FLOWS.flowFrame(0);
    gen6.input.set(frame6);
    // Every frame a new flow (a new client address, flood_state.next++): SYNs, and ACKs (the flood).
    const genSyns = new TestRunner(helpers.programFd('gen_flows_xdp'), 4096);
    genSyns.input.set(frame);
    const genAcks = new TestRunner(helpers.programFd('gen_flows_xdp'), 4096);
    genAcks.input.set(V4_FLOWS.flowFrame(0, TCP_ACK));
    const genSyns6 = new TestRunner(helpers.programFd('gen_flows_xdp'), 4096);
    genSyns6.input.set(frame6);
    const state = floodState(0x0f000000, 1); // 15.0.0.0/8: no other flow
    const countFd = helpers.mapFd('sink_count');
    const zero = new Uint8Array(4);
    mapUpdate(helpers.mapFd('flood_state'), zero, state);
    const u32 = u32le;
    // devmap entries are resolved in the caller's namespace.
    inNetns(lab.gen, () => mapUpdate(helpers.mapFd('gen_devmap'), zero, u32(lab.g0)));
    inNetns(lab.sink, () => xdpAttach(lab.s0, helpers.programFd('sink_xdp'), XDP_FLAGS_DRV_MODE));
    const cpus = possibleCpus();
    const countBuf = new Uint8Array(8 * cpus);
    const delivered = (): number => {
      mapLookup(countFd, zero, countBuf);
      const dv = new DataView(countBuf.buffer);
      let n = 0;
      for (let c = 0; c < cpus; c++) n += Number(dv.getBigUint64(c * 8, true));
      return n;
    };

    const empty = lbdsrForwarder(lab, 0);
    closers.push(empty.close);
    const full = lbdsrForwarder(lab, TABLE - 1, true);
    closers.push(full.close);
    const flooded = lbdsrForwarder(lab, TABLE - 1, true);
    closers.push(flooded.close);
    configureCeiling(ceilObj);
    inNetns(lab.lb, () => mapUpdate(ceilObj.mapFd('ceil_devmap'), zero, u32(lab.be)));
    ceilingFlow(ceilObj.mapFd('ceil_flows'), 0);
    // nftables netdev ingress sees the frames whenever no XDP program takes them first; GRO on fe
    // lets the veth accept the generator's frames without an XDP program (NAPI).
    await must('ip', ['netns', 'exec', lab.lb, 'ethtool', '-K', 'fe', 'gro', 'on']);
    await must('ip', ['netns', 'exec', lab.lb, 'nft', '-f', '-'], { input: NFT_RULES });

    const forwarders: { name: string; prog: number; gen?: TestRunner; len?: number }[] = [
      { name: 'lbdsr XDP_DRV, session hit    ', prog: empty.progFd },
      { name: 'lbdsr, 1,000,000 sessions held', prog: full.progFd },
      { name: 'ceiling (bare XDP program)    ', prog: ceilObj.programFd('ceiling_xdp') },
      { name: 'nftables netdev ingress + fwd ', prog: -1 },
      { name: 'every frame a new flow, SYN   ', prog: flooded.progFd, gen: genSyns },
      { name: 'every frame a new flow, ACK   ', prog: flooded.progFd, gen: genAcks },
      { name: 'lbdsr XDP_DRV, IPv6 hit       ', prog: empty.progFd, gen: gen6, len: frame6.length },
      { name: 'lbdsr, 1,000,000 IPv6 sessions', prog: full.progFd, gen: gen6, len: frame6.length },
      { name: 'new IPv6 flow each frame, SYN ', prog: flooded.progFd, gen: genSyns6, len: frame6.length },
    ];
    const rates = forwarders.map(() => [] as number[]);
    // Rounds interleave the forwarders so that drifting load on the machine hits them all alike.
    for (let round = 0; round < VETH_ROUNDS; round++) {
      forwarders.forEach((f, i) => {
        if (f.prog >= 0) inNetns(lab.lb, () => xdpAttach(lab.fe, f.prog, XDP_FLAGS_DRV_MODE));
        try {
          const before = delivered();
          const t0 = process.hrtime.bigint();
          const g = f.gen ?? gen;
          const len = f.len ?? frame.length;
          inNetns(lab.gen, () => g.run(len, VETH_FRAMES, 0, BPF_F_TEST_XDP_LIVE_FRAMES, 64));
          const ns = Number(process.hrtime.bigint() - t0);
          rates[i]!.push(((delivered() - before) * 1e9) / ns);
        } finally {
          if (f.prog >= 0) inNetns(lab.lb, () => xdpDetach(lab.fe, XDP_FLAGS_DRV_MODE));
        }
      });
    }
    const med = rates.map(median);
    r.say(
      `  veth to veth forwarding, one core, generator BPF_PROG_TEST_RUN live frames ` +
        `(median of ${VETH_ROUNDS} interleaved runs of ${VETH_FRAMES.toLocaleString('en')} frames; min-max):`,
    );
    forwarders.forEach((f, i) => {
      const lo = Math.min(...rates[i]!) / 1e6;
      const hi = Math.max(...rates[i]!) / 1e6;
      r.say(
        `  ${f.name}   ${(med[i]! / 1e6).toFixed(2).padStart(6)} Mfps  (${lo.toFixed(2)}-${hi.toFixed(2)})`,
      );
    });
    r.say(
      `  ratio lbdsr / ceiling ${(med[0]! / med[2]!).toFixed(2)}x (goal >= 0.9x), lbdsr / nftables ` +
        `${(med[0]! / med[3]!).toFixed(2)}x (goal >= 4x); IPv6 / IPv4 session hit ` +
        `${(med[6]! / med[0]!).toFixed(2)}x, 1,000,000 sessions ${(med[7]! / med[1]!).toFixed(2)}x, new flows ` +
        `(SYN) ${(med[8]! / med[4]!).toFixed(2)}x ` +
        `(the IPv6 cost per frame is the inverse: goal <= 1.3x)`,
    );
    const fps = (i: number, note: string, baseline?: number, baselineUnit?: string) => ({
      value: med[i] ?? Number.NaN,
      unit: 'frames/s',
      ...(baseline === undefined ? {} : { baseline, baseline_unit: baselineUnit }),
      note,
    });
    r.figure('veth_lbdsr', fps(0, 'lbdsr XDP_DRV, session hit', med[2], 'frames/s (ceiling)'));
    r.figure(
      'veth_lbdsr_full',
      fps(1, 'lbdsr XDP_DRV, 1,000,000 sessions held', med[2], 'frames/s (ceiling)'),
    );
    r.figure('veth_ceiling', fps(2, 'ceiling (bare XDP program)'));
    r.figure('veth_nftables', fps(3, 'nftables netdev ingress + fwd'));
    r.figure(
      'veth_lbdsr_new_flows',
      fps(
        4,
        'lbdsr XDP_DRV, table full, every frame a new flow (SYNs: recorded, each evicts)',
        med[1],
        'frames/s (1,000,000 sessions held, hits)',
      ),
    );
    r.figure(
      'veth_lbdsr_new_flows_ack',
      fps(
        5,
        'lbdsr XDP_DRV, table full, every frame a new flow (ACKs: not recorded)',
        med[1],
        'frames/s (1,000,000 sessions held, hits)',
      ),
    );
    r.figure(
      'veth_lbdsr_v6',
      fps(6, 'lbdsr XDP_DRV, IPv6 session hit', med[0], 'frames/s (IPv4 session hit, same run)'),
    );
    r.figure(
      'veth_lbdsr_full_v6',
      fps(
        7,
        'lbdsr XDP_DRV, IPv6 session hit, 1,000,000 sessions held in each family',
        med[1],
        'frames/s (IPv4, 1,000,000 sessions held, same run)',
      ),
    );
    r.figure(
      'veth_lbdsr_new_flows_v6',
      fps(
        8,
        'lbdsr XDP_DRV, tables full, every frame a new IPv6 flow (SYNs: recorded, each evicts)',
        med[4],
        'frames/s (IPv4 new flows, SYNs, same run)',
      ),
    );
    r.figure('veth_lbdsr_vs_nftables', {
      value: med[0] ?? Number.NaN,
      unit: 'frames/s',
      baseline: med[3] ?? Number.NaN,
      baseline_unit: 'frames/s (nftables)',
      note: 'goal >= 4x',
    });
  } finally {
    for (const c of closers) c();
    lab.line.destroy();
  }
}
