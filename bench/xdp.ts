// XDP data plane benchmark.
//
// 1. Cost per frame under BPF_PROG_TEST_RUN of bpf/lbdsr.bpf.o (session hit, miss, ARP reply) beside the
//    ceiling (bpf/ceiling.bpf.o: parse, VIP check, one hash lookup, MAC rewrite, redirect), with the
//    session table empty and holding 1,000,000 entries. BPF_PROG_TEST_RUN runs a frame `repeat` times
//    on the same buffer, so a repeated frame must come out as it went in: the benchmark configures the
//    backend MAC as the frontend MAC and the backend port MAC as the client's, which makes the rewrite
//    of a hit the identity. A miss (which creates the session) and an ARP reply (which turns the request
//    into a reply) change what the next repetition sees, so they are timed as single kernel-timed runs
//    on fresh frames, minus the cost of a single run of a bare XDP_PASS program (the timer's own
//    overhead). Medians of several runs.
//    Then, on the full table, hits and misses timed alike (Rig.floodCosts): bench.bpf.o's flood_xdp sets
//    the client address (the same each repetition, or a new one) and tail-calls lbdsr_xdp, repeated:
//    the one-flow hit, a hit on a session not in cache (sessions recorded by the miss runs, visited in a
//    scattered order, and in the order recorded), the ACK of a new flow (not recorded) and the SYN of a
//    new flow (recorded, evicting one), their ratios in the same run (issue 9 item 7), and the memory
//    floor (bench.bpf.o's chase_xdp: one read of a line in no cache, each waiting for the last); last, the
//    hit with 256 services (issue 10: the VIP also has a TCP port service, which the frame matches).
//    IPv6 beside IPv4 (issue 13): the VIP's service is dual-stack (frontend vip + vip6), and the hit,
//    the miss and the answered request (a Neighbor Solicitation, answered by an Advertisement) are
//    measured for IPv6 frames alike, at each table state right after IPv4's (the full table holds
//    1,000,000 sessions in each family's map); the figures' ratios are the cost of IPv6 (goal <= 1.3x).
//    The flows of both families are in bench/xdp-flows.ts.
// 2. Frames per second forwarded veth to veth: bench/xdp-veth.ts.
//
// Run alone: `node dist/bench/xdp.js` (root); LBDSR_BENCH_XDP=veth runs only the forwarding part,
// LBDSR_BENCH_XDP=test_run only the BPF_PROG_TEST_RUN part, LBDSR_BENCH_XDP=stats only the stats read (xdp-stats.ts).
import { pathToFileURL } from 'node:url';
import { MAX_SERVICES } from '../src/core/constants.js';
import type { ServiceConfig } from '../src/core/model.js';
import { XdpMaps } from '../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../src/dataplane/xdp/mirror.js';
import { bpfObjectPath, CEILING_OBJECT, loadLbdsr } from '../src/dataplane/xdp/object.js';
import {
  BpfObject,
  libbpfAvailable,
  mapUpdate,
  TestRunner,
  XDP_PASS,
  XDP_REDIRECT,
  XDP_TX,
} from '../src/kernel/libbpf.js';
import { TCP_ACK } from '../src/packet/build.js';
import { ControlState } from '../src/pipeline/control.js';
import { isRoot } from '../testkit/root.js';
import { median } from '../testkit/timing.js';
import { type Section, standalone } from './report.js';
import {
  benchConfig,
  CLIENT_MAC,
  ceilingFlow,
  configureCeiling,
  FE_MAC,
  type Flows,
  fillSessions4,
  floodState,
  TABLE,
  u32le,
  V4_FLOWS,
  V6_FLOWS,
  VIP,
} from './xdp-flows.js';
import { statsRead } from './xdp-stats.js';
import { vethForwarding } from './xdp-veth.js';

const REPEAT = 1_000_000;
const RUNS = 5;
const SINGLES = 50_000;
/** Flows per scattered cold-hit run (a power of two; RUNS ranges of them fit in the table). */
const COLD = 1 << 17;
/** chase_mem's 64-byte lines: 128 MiB, more than the session table's ~100 MB and than any cache here. */
const CHASE_LINES = 1 << 21;
/** The one-flow hits of both families (Rig.hits): more, shorter alternating runs than RUNS x REPEAT, so
 * that a burst of the shared machine's load weighs on one run of many and the median stays put. */
const HIT_ROUNDS = 21;
const HIT_REPEAT = 250_000;
/** Median over RUNS of the kernel's average ns per repetition. */
function repeated(r: TestRunner, len: number, expect: number): number {
  const out: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const act = r.run(len, REPEAT);
    if (act !== expect) throw new Error(`benchmark frame gave XDP action ${act}, expected ${expect}`);
    out.push(r.durationNs);
  }
  return median(out);
}

/** Median over RUNS of the mean kernel-timed duration of `n` single runs prepared by `prep(i)`. */
function singles(
  r: TestRunner,
  len: number,
  n: number,
  prep: (i: number) => void,
  expect: number,
  base = 0,
): number {
  const out: number[] = [];
  let next = base;
  for (let k = 0; k < RUNS; k++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      prep(next++);
      const act = r.run(len, 1);
      if (act !== expect) throw new Error(`benchmark frame gave XDP action ${act}, expected ${expect}`);
      sum += r.durationNs;
    }
    out.push(sum / n);
  }
  return median(out);
}

/** What lbdsr costs for one family's frames (ns/frame). */
interface Costs {
  miss: number;
  /** The ARP reply (IPv4) or the Neighbor Advertisement (IPv6). */
  reply: number;
  hitSingle: number;
}

/** Rig.floodCosts: ns/frame of one family, timed alike through the flood wrapper on the full table. */
interface FloodCosts {
  hit: number;
  /** Hits on recorded sessions in a scattered order; coldHitSeq: in the order they were recorded. */
  coldHit: number;
  coldHitSeq: number;
  miss: number;
  unrecorded: number;
}

interface CeilingCosts {
  ceiling: number;
  ceilingSingle: number;
}

class Rig {
  readonly ld = loadLbdsr({ capacity: TABLE });
  readonly maps = new XdpMaps(this.ld.fds);
  readonly mirror = new XdpMirror(this.maps);
  readonly control = new ControlState();
  readonly lb = new TestRunner(this.ld.progFd);
  readonly lb6 = new TestRunner(this.ld.progFd);
  readonly ceilObj = BpfObject.openFile(bpfObjectPath(CEILING_OBJECT));
  readonly ceil: TestRunner;
  readonly passObj = BpfObject.openFile(bpfObjectPath('pass.bpf.o'));
  readonly pass: TestRunner;
  readonly flowsFd: number;
  /** bench.bpf.o's flood_xdp: sets the client address, then tail-calls lbdsr_xdp. */
  readonly helpers = BpfObject.openFile(bpfObjectPath('bench.bpf.o'));
  readonly flood: TestRunner;
  /** bench.bpf.o's chase_xdp over CHASE_LINES lines: the memory floor. */
  readonly chase: TestRunner;

  constructor() {
    this.mirror.apply(this.control.apply(benchConfig(), CLIENT_MAC), 0, 1);
    this.ceilObj.load();
    this.passObj.load();
    this.ceil = new TestRunner(this.ceilObj.programFd('ceiling_xdp'));
    this.pass = new TestRunner(this.passObj.programFd('pass_xdp'));
    this.flowsFd = this.ceilObj.mapFd('ceil_flows');
    this.helpers.setMaxEntries('chase_mem', CHASE_LINES);
    this.helpers.load();
    this.flood = new TestRunner(this.helpers.programFd('flood_xdp'));
    this.chase = new TestRunner(this.helpers.programFd('chase_xdp'));
    mapUpdate(this.helpers.mapFd('flood_progs'), new Uint8Array(4), u32le(this.ld.progFd));
    configureCeiling(this.ceilObj);
    const dev = new Uint8Array(4);
    dev[0] = 1; // loopback
    mapUpdate(this.ceilObj.mapFd('ceil_devmap'), new Uint8Array(4), dev);
  }

  close(): void {
    this.ld.obj.close();
    this.ceilObj.close();
    this.passObj.close();
    this.helpers.close();
  }

  /**
   * A hit and a miss timed alike: flood_xdp + lbdsr_xdp repeated REPEAT times, the same flow each time
   * (after its first frame: hits) or a new flow each time (SYNs: each miss records a session, and
   * evicts one when the table is full). The wrapper's own cost is in both.
   */
  floodCosts(base: number, f: Flows): FloodCosts {
    const frame = f.flowFrame(0);
    const len = frame.length;
    const state = (next: number, vary: number, base = 0, mask = 0) =>
      mapUpdate(this.helpers.mapFd('flood_state'), new Uint8Array(4), floodState(next, vary, base, mask));
    this.flood.input.set(frame);
    state(base, 0);
    if (this.flood.run(len) !== XDP_REDIRECT) throw new Error('the flood wrapper does not reach lbdsr');
    const hit = repeated(this.flood, len, XDP_REDIRECT);
    state(base + 1, 1);
    const miss = repeated(this.flood, len, XDP_REDIRECT);
    // Hits on sessions recorded by the miss runs, a different one each frame: what a hit costs when its
    // session is not in the CPU's caches. In the order they were recorded (the last REPEAT / 2 flows),
    // neighbouring sessions sit in neighbouring entries (the LRU hands its entries out in order), so the
    // next one is often on a page the TLB holds and a line the prefetcher fetched: scattered over the
    // recorded flows (a different range of COLD flows each run), each hit finds its entry where a
    // session of a real table would be, anywhere.
    const end = base + 1 + RUNS * REPEAT;
    const cold: number[] = [];
    const coldSeq: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      state(0, 1, end - (k + 1) * COLD, COLD - 1);
      if (this.flood.run(len, COLD) !== XDP_REDIRECT) throw new Error('a cold hit was not balanced');
      cold.push(this.flood.durationNs);
      state(end - REPEAT / 2, 1);
      if (this.flood.run(len, REPEAT / 2) !== XDP_REDIRECT) throw new Error('a cold hit was not balanced');
      coldSeq.push(this.flood.durationNs);
    }
    const coldHit = median(cold);
    const coldHitSeq = median(coldSeq);
    // ACKs of new flows (a spoofed ACK flood): Maglev, not recorded (sessions.record_non_syn off).
    this.flood.input.set(f.flowFrame(0, TCP_ACK));
    state(base + 1 + RUNS * REPEAT, 1);
    const unrecorded = repeated(this.flood, len, XDP_REDIRECT);
    return { hit, coldHit, coldHitSeq, miss, unrecorded };
  }

  /**
   * The memory floor: chase_xdp repeated, each run reading one 64-byte line of 128 MiB at an index that
   * depends on the previous read (so no two reads overlap); `inCache`: the same over 64 KiB of lines.
   */
  memoryFloor(): { floor: number; inCache: number } {
    const frame = V4_FLOWS.flowFrame(0);
    this.chase.input.set(frame);
    const at = (mask: number) => {
      const st = new Uint8Array(24);
      new DataView(st.buffer).setUint32(16, mask, true);
      mapUpdate(this.helpers.mapFd('chase_state'), new Uint8Array(4), st);
      return repeated(this.chase, frame.length, XDP_PASS);
    };
    return { floor: at(CHASE_LINES - 1), inCache: at(1023) };
  }

  /**
   * The session hit with 256 services (issue 10): the measured flow's VIP also has a TCP port-80
   * service (so the frame takes the port lookup, the longest match) and 254 other services on other VIPs.
   */
  hitWithServices(): number {
    const services: ServiceConfig[] = [
      { name: 'web', vip: VIP, protocol: 'TCP', port: 80, backend: { pool: [{ id: 1, mac: FE_MAC }] } },
    ];
    for (let i = 0; services.length < MAX_SERVICES - 1; i++) {
      const vip = `10.9.${i >> 8}.${i & 255}`;
      services.push({
        name: `s${i}`,
        vip,
        protocol: 'TCP',
        port: 80,
        backend: { pool: [{ id: 1, mac: FE_MAC }] },
      });
    }
    this.mirror.apply(this.control.apply({ ...benchConfig(), services }, CLIENT_MAC), 0, 1);
    const frame = V4_FLOWS.flowFrame(0);
    this.lb.input.set(frame);
    if (this.lb.run(frame.length) !== XDP_REDIRECT) throw new Error('the benchmark flow is not balanced');
    return repeated(this.lb, frame.length, XDP_REDIRECT);
  }

  /** Fills both session maps (and the ceiling's flow table) with `n` flows other than the measured ones. */
  fill(n: number): void {
    const slot = this.mirror.slotOf(1);
    fillSessions4(this.ld.fds.sessions, slot, n, this.flowsFd);
    V6_FLOWS.fill(this.ld.fds, slot, n);
  }

  /** A bare XDP_PASS single run: the kernel timer's own cost, subtracted from single-run figures. */
  overhead(): number {
    this.pass.input.set(V4_FLOWS.flowFrame(0));
    return singles(this.pass, V4_FLOWS.flowFrame(0).length, SINGLES, () => {}, XDP_PASS);
  }

  /** lbdsr's hit (repeated, and single runs), miss (flows missBase..) and reply for `f`'s frames. */
  measure(missBase: number, f: Flows, overhead: number): Costs {
    const hitFrame = f.flowFrame(0);
    const len = hitFrame.length;
    this.lb.input.set(hitFrame);
    if (this.lb.run(len) !== XDP_REDIRECT) throw new Error(`the benchmark ${f.label} flow is not balanced`);
    const hitSingle = singles(this.lb, len, SINGLES, () => {}, XDP_REDIRECT) - overhead;

    const miss =
      singles(this.lb, len, SINGLES, (i) => f.setFlow(this.lb.input, i), XDP_REDIRECT, missBase) - overhead;

    const req = f.request();
    const reply = singles(this.lb, req.length, SINGLES, () => this.lb.input.set(req), XDP_TX) - overhead;
    return { miss, reply, hitSingle };
  }

  /**
   * The session hit of flow 0 of each family, repeated: HIT_ROUNDS rounds each running IPv4 then IPv6
   * (one runner per family), so that drifting load on the machine weighs on both figures alike.
   */
  hits(): { v4: number; v6: number } {
    const fams = [V4_FLOWS, V6_FLOWS].map((f, i) => {
      const t = i === 0 ? this.lb : this.lb6;
      const frame = f.flowFrame(0);
      t.input.set(frame);
      if (t.run(frame.length) !== XDP_REDIRECT)
        throw new Error(`the benchmark ${f.label} flow is not balanced`);
      return { t, len: frame.length, ns: [] as number[] };
    });
    for (let k = 0; k < HIT_ROUNDS; k++) {
      for (const f of fams) {
        if (f.t.run(f.len, HIT_REPEAT) !== XDP_REDIRECT) throw new Error('a session hit was not balanced');
        f.ns.push(f.t.durationNs);
      }
    }
    return { v4: median(fams[0]!.ns), v6: median(fams[1]!.ns) };
  }

  /** The ceiling (IPv4 only: it parses IPv4) on the IPv4 hit frame. */
  ceilingCosts(overhead: number): CeilingCosts {
    const hitFrame = V4_FLOWS.flowFrame(0);
    const len = hitFrame.length;
    ceilingFlow(this.flowsFd, 0);
    this.ceil.input.set(hitFrame);
    const ceiling = repeated(this.ceil, len, XDP_REDIRECT);
    const ceilingSingle = singles(this.ceil, len, SINGLES, () => {}, XDP_REDIRECT) - overhead;
    return { ceiling, ceilingSingle };
  }
}

function f1(x: number): string {
  return x.toFixed(1).padStart(8);
}

async function testRunCosts(r: Section): Promise<void> {
  const rig = new Rig();
  try {
    // IPv4 then IPv6 at each table state: the IPv6 rows beside IPv4's, in the same run.
    let overhead = rig.overhead();
    let hits = rig.hits();
    const empty = { ...rig.measure(1, V4_FLOWS, overhead), ...rig.ceilingCosts(overhead), hit: hits.v4 };
    const empty6 = { ...rig.measure(1, V6_FLOWS, overhead), hit: hits.v6 };
    rig.fill(TABLE);
    overhead = rig.overhead();
    hits = rig.hits();
    const full = {
      ...rig.measure(1 + RUNS * SINGLES, V4_FLOWS, overhead),
      ...rig.ceilingCosts(overhead),
      hit: hits.v4,
    };
    const full6 = { ...rig.measure(1 + RUNS * SINGLES, V6_FLOWS, overhead), hit: hits.v6 };
    // 14.0.0.0/8: neither a filled (12/8) nor a measured (11/8) flow.
    const flood = rig.floodCosts(0x0e000000, V4_FLOWS);
    const flood6 = rig.floodCosts(0x0e000000, V6_FLOWS);
    const mem = rig.memoryFloor();
    const services = rig.hitWithServices();
    r.say(
      `  BPF_PROG_TEST_RUN, ns per frame (median of ${RUNS} runs; hits: ${HIT_ROUNDS} alternating runs of ` +
        `${HIT_REPEAT.toLocaleString('en')} repetitions, ceiling: repeat ${REPEAT.toLocaleString('en')}, ` +
        `misses and ARP: ${SINGLES.toLocaleString('en')} single runs minus a bare XDP_PASS run)`,
    );
    r.say(`                                  empty table  1,000,000 sessions (of each family)`);
    r.say(`  lbdsr session hit               ${f1(empty.hit)}     ${f1(full.hit)}`);
    r.say(`  ceiling (one hash lookup)       ${f1(empty.ceiling)}     ${f1(full.ceiling)}`);
    r.say(
      `  ratio lbdsr / ceiling           ${(empty.hit / empty.ceiling).toFixed(2).padStart(8)}x    ${(full.hit / full.ceiling).toFixed(2).padStart(8)}x   (goal <= 1.3x)`,
    );
    r.say(
      `  lbdsr session miss (new flow)   ${f1(empty.miss)}     ${f1(full.miss)}   (table full: each miss evicts)`,
    );
    r.say(`  lbdsr ARP reply                 ${f1(empty.reply)}     ${f1(full.reply)}`);
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2).padStart(8)}x`;
    r.say(`  IPv6 (the same dual-stack service):`);
    r.say(`  lbdsr session hit, IPv6         ${f1(empty6.hit)}     ${f1(full6.hit)}`);
    r.say(
      `  ratio IPv6 / IPv4 hit           ${ratio(empty6.hit, empty.hit)}    ${ratio(full6.hit, full.hit)}   (goal <= 1.3x)`,
    );
    r.say(`  lbdsr session miss, IPv6        ${f1(empty6.miss)}     ${f1(full6.miss)}`);
    r.say(
      `  ratio IPv6 / IPv4 miss          ${ratio(empty6.miss, empty.miss)}    ${ratio(full6.miss, full.miss)}   (goal <= 1.3x)`,
    );
    r.say(
      `  lbdsr ND reply (NS -> NA)       ${f1(empty6.reply)}     ${f1(full6.reply)}   (${ratio(empty6.reply, empty.reply).trim()} the ARP reply, empty)`,
    );
    r.say(
      `  lbdsr session hit, 256 services (a TCP port service of the VIP)  ${f1(services)}   (table full)`,
    );
    r.say(
      `  the same run, timed alike (repeat ${REPEAT.toLocaleString('en')} through a tail call, table full):`,
    );
    r.say(
      `  hit ${flood.hit.toFixed(1)} ns, SYN miss (a new flow each frame, each evicts) ${flood.miss.toFixed(1)} ns: ` +
        `${(flood.miss / flood.hit).toFixed(2)}x (goal <= 4x the hit)`,
    );
    r.say(
      `  ACK miss (a new flow each frame: not recorded, the ACK flood) ${flood.unrecorded.toFixed(1)} ns: ` +
        `${(flood.unrecorded / flood.hit).toFixed(2)}x the hit`,
    );
    r.say(
      `  hit on a session not in cache (a different one each frame, scattered) ${flood.coldHit.toFixed(1)} ns: ` +
        `SYN miss ${(flood.miss / flood.coldHit).toFixed(2)}x, ACK miss ${(flood.unrecorded / flood.coldHit).toFixed(2)}x ` +
        `that (in the order recorded: ${flood.coldHitSeq.toFixed(1)} ns)`,
    );
    r.say(
      `  memory floor (one read of a line in no cache, 128 MiB, chase_xdp) ${mem.floor.toFixed(1)} ns ` +
        `(${(mem.floor / flood.hit).toFixed(2)}x the hit; in cache ${mem.inCache.toFixed(1)} ns): SYN miss ` +
        `${(flood.miss / mem.floor).toFixed(2)}x, ACK miss ${(flood.unrecorded / mem.floor).toFixed(2)}x the floor; ` +
        `4x the hit is ${(4 * flood.hit) >= mem.floor ? 'above' : 'below'} the floor`,
    );
    r.say(
      `  IPv6, timed alike: hit ${flood6.hit.toFixed(1)} ns (${ratio(flood6.hit, flood.hit).trim()} IPv4's), ` +
        `SYN miss ${flood6.miss.toFixed(1)} ns (${ratio(flood6.miss, flood.miss).trim()}), ACK miss ` +
        `${flood6.unrecorded.toFixed(1)} ns (${ratio(flood6.unrecorded, flood.unrecorded).trim()}), hit not in cache ` +
        `${flood6.coldHit.toFixed(1)} ns (${ratio(flood6.coldHit, flood.coldHit).trim()}) (goal <= 1.3x)`,
    );
    r.say(
      `  single-run check: hit ${empty.hitSingle.toFixed(1)} / ceiling ${empty.ceilingSingle.toFixed(1)} ns (empty), ` +
        `${full.hitSingle.toFixed(1)} / ${full.ceilingSingle.toFixed(1)} ns (full); IPv6 hit ` +
        `${empty6.hitSingle.toFixed(1)} / ${full6.hitSingle.toFixed(1)} ns`,
    );
    const ns = (value: number, note: string, baseline?: number) => ({
      value,
      unit: 'ns/frame',
      ...(baseline === undefined ? {} : { baseline, baseline_unit: 'ns/frame (ceiling)' }),
      note,
    });
    r.figure('test_run_hit', ns(empty.hit, 'session hit, empty table', empty.ceiling));
    r.figure('test_run_hit_full', ns(full.hit, 'session hit, 1,000,000 sessions', full.ceiling));
    r.figure('test_run_ceiling', ns(empty.ceiling, 'ceiling program, empty table'));
    r.figure('test_run_miss', ns(empty.miss, 'session miss, empty table'));
    r.figure('test_run_miss_full', ns(full.miss, 'session miss, table full (each miss evicts)'));
    r.figure('test_run_arp', ns(empty.reply, 'ARP reply'));
    // IPv6 beside IPv4: each against the IPv4 figure of the same table state and run (ratio = the cost
    // of IPv6; the goal <= 1.3x).
    const v6 = (value: number, baseline: number, note: string) => ({
      value,
      unit: 'ns/frame',
      baseline,
      baseline_unit: 'ns/frame (IPv4, same service, same run)',
      note,
    });
    r.figure('test_run_hit_v6', v6(empty6.hit, empty.hit, 'IPv6 session hit, empty table; goal <= 1.3x'));
    r.figure(
      'test_run_hit_full_v6',
      v6(full6.hit, full.hit, 'IPv6 session hit, 1,000,000 IPv6 sessions; goal <= 1.3x'),
    );
    r.figure('test_run_miss_v6', v6(empty6.miss, empty.miss, 'IPv6 session miss, empty table; goal <= 1.3x'));
    r.figure(
      'test_run_miss_full_v6',
      v6(full6.miss, full.miss, 'IPv6 session miss, table full (each miss evicts); goal <= 1.3x'),
    );
    const flood6Figure = (k: keyof FloodCosts, note: string) =>
      r.figure(
        `test_run_flood_${k === 'coldHit' ? 'cold_hit' : k}_full_v6`,
        v6(flood6[k], flood[k], `table full, timed alike: ${note}; goal <= 1.3x`),
      );
    flood6Figure('hit', 'IPv6 session hit, one flow');
    flood6Figure('miss', 'every frame a new IPv6 flow (SYNs: each miss records and evicts)');
    flood6Figure('unrecorded', 'every frame a new IPv6 flow (ACKs: Maglev, not recorded)');
    flood6Figure('coldHit', 'IPv6 hits on sessions not in cache, a different one each frame');
    r.figure('test_run_nd', {
      ...v6(empty6.reply, empty.reply, 'Neighbor Solicitation answered (NA, 86 bytes)'),
      baseline_unit: 'ns/frame (ARP reply, same run)',
    });
    r.figure(
      'test_run_hit_256_services',
      ns(services, 'session hit, 256 services, the frame matching a port service; table full', full.ceiling),
    );
    r.figure('test_run_flood_miss_full', {
      value: flood.miss,
      unit: 'ns/frame',
      baseline: flood.hit,
      baseline_unit: 'ns/frame (session hit, same method and run)',
      note: 'table full, every frame a new flow (SYNs: each miss records and evicts); goal <= 4x the hit',
    });
    r.figure('test_run_flood_cold_hit_full', {
      value: flood.coldHit,
      unit: 'ns/frame',
      baseline: flood.hit,
      baseline_unit: 'ns/frame (session hit, one flow)',
      note: 'table full, hits on sessions not in cache, a different one each frame in a scattered order',
    });
    r.figure('test_run_flood_cold_hit_seq_full', {
      value: flood.coldHitSeq,
      unit: 'ns/frame',
      baseline: flood.hit,
      baseline_unit: 'ns/frame (session hit, one flow)',
      note: 'the same in the order the sessions were recorded (neighbouring entries: TLB and prefetch help)',
    });
    r.figure('test_run_memory_floor', {
      value: mem.floor,
      unit: 'ns/frame',
      baseline: flood.hit,
      baseline_unit: 'ns/frame (session hit, one flow, same run)',
      note:
        'one dependent read of a random 64-byte line of 128 MiB (chase_xdp): the least a miss on a table ' +
        `larger than the caches waits for; the SYN miss is ${(flood.miss / mem.floor).toFixed(2)}x it`,
    });
    r.figure('test_run_flood_unrecorded_full', {
      value: flood.unrecorded,
      unit: 'ns/frame',
      baseline: flood.hit,
      baseline_unit: 'ns/frame (session hit, same method and run)',
      note: 'table full, every frame a new flow (ACKs: Maglev, not recorded); goal <= 4x the hit',
    });
  } finally {
    rig.close();
  }
}

export async function run(r: Section = standalone('xdp')): Promise<void> {
  if (!isRoot()) {
    r.skipped('needs root (loading BPF programs, namespaces)');
    return;
  }
  if (!libbpfAvailable()) {
    r.skipped('libbpf.so.1 is not installed');
    return;
  }
  const only = process.env.LBDSR_BENCH_XDP;
  if (only !== 'veth' && only !== 'stats') await testRunCosts(r);
  if (only === undefined || only === 'stats') statsRead(r);
  if (only !== 'test_run' && only !== 'stats') await vethForwarding(r);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
