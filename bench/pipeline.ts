// Pipeline benchmark: decisions per second of Balancer.process on one core (this process is single
// threaded) for a session hit, a miss (a new flow every frame), a flood past capacity (every miss
// evicts), and hits spread at random over 1,000,000 live sessions, each for IPv4 and IPv6 frames of
// one dual-stack service (IPv6 beside IPv4 in the same run: the cost per frame of IPv6, goal <= 1.3x
// IPv4's); Maglev table build time for 10, 100, 1000 and 4096 backends; session lookups under a hash
// flood (bench/hash-flood.ts). Baselines measured in the same run: a JavaScript Map lookup of the
// same keys (number keys, and string keys built per lookup as a naive implementation would).
// Frames are built before timing; the timed loops allocate nothing: each iteration only writes the
// varying key bytes into one frame buffer (as a NIC would fill a ring slot) and restores the
// destination MAC that the previous decision rewrote. A quick run (--quick) keeps the keys with one
// round and 20,000 live sessions instead of 1,000,000.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ACT_TX_BACKEND, PORT_FRONTEND, verdictAction } from '../src/core/constants.js';
import { buildMaglev } from '../src/core/maglev.js';
import type { InstanceConfig } from '../src/core/model.js';
import { TCP_SYN, tcpFrame } from '../src/packet/build.js';
import { tcp6Frame } from '../src/packet/build6.js';
import { Balancer } from '../src/pipeline/balancer.js';
import { median } from '../testkit/timing.js';
import { measureHashFlood } from './hash-flood.js';
import { type Section, standalone } from './report.js';

const VIP = '10.0.0.100';
const VIP6 = 'fd00::100';
const FE_MAC = 'aa:bb:cc:dd:ee:ff';
const CLIENT_MAC = '52:54:00:00:00:01';
const FE = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
const QUICK = process.env.LBDSR_BENCH_QUICK === '1';
const LIVE = QUICK ? 20_000 : 1_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
/** Scales the iteration counts of a quick run. */
const SCALE = QUICK ? 0.02 : 1;
const SRC_BASE = 0x0b000000; // 11.0.0.0 (IPv6: 2001:db8::b00:0): flow i comes from base + i

function config(backends: number): InstanceConfig {
  const pool = [];
  for (let i = 1; i <= backends; i++) {
    pool.push({
      id: i,
      mac: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
    });
  }
  return {
    name: 'bench',
    loglevel: 'OFF',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { vip: VIP, vip6: VIP6, mac: FE_MAC },
    backend: { pool },
    sessions: { capacity: LIVE, timeouts: { tcp: 600, udp: 60, icmp: 30 } },
  };
}

function balancer(capacity = LIVE): Balancer {
  const b = new Balancer({ capacity });
  b.configure(config(10), '02:00:00:00:be:01');
  return b;
}

/**
 * An address family of the benchmark's flows: its frame (a SYN: a miss records its session, see
 * docs/semantics.md) and where the client address's last 4 bytes sit (flow i comes from base + i).
 * Both families reach the same dual-stack service (one pool, one Maglev table), so their figures differ
 * only by what the family costs.
 */
interface Family {
  label: string;
  /** The frame in a 2048-byte buffer (the pipeline's contract: room for the longest output). */
  frame: Uint8Array;
  len: number;
  srcOff: number;
}

/** A family of its frame in a 2048-byte buffer. */
function family(label: string, f: Uint8Array, srcOff: number): Family {
  const frame = new Uint8Array(2048);
  frame.set(f);
  return { label, frame, len: f.length, srcOff };
}

const ETH = { ethDst: FE_MAC, ethSrc: CLIENT_MAC };
const SYN = { sport: 40000, dport: 80, flags: TCP_SYN };
const V4 = family('IPv4', tcpFrame({ ...ETH, src: '11.0.0.0', dst: VIP }, SYN), 14 + 12);
// 2001:db8::b00:0 + i: the last word of the source address varies, as the IPv4 flows' one word.
const V6 = family('IPv6', tcp6Frame({ ...ETH, src: '2001:db8::b00:0', dst: VIP6 }, SYN), 14 + 8 + 12);

/**
 * Time of one round in ms: CPU time of this process (user + system) when TIMING=cpu (the default: other
 * processes on a shared machine then steal less of the figure), wall-clock time when TIMING=wall.
 */
const CPU_TIMING = (process.env.TIMING ?? 'cpu') !== 'wall';
function clock(): number {
  if (!CPU_TIMING) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `body(n)` ROUNDS times after one warm-up; returns the median operations per second. */
function rate(n: number, body: (n: number) => number): number {
  let sink = body(Math.min(n, 100_000));
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = clock();
    sink += body(n);
    const dt = clock() - t0;
    rates.push((n / dt) * 1000);
  }
  if (sink === -1) console.log('');
  return median(rates);
}

function setSrc(fam: Family, src: number): void {
  const f = fam.frame;
  const o = fam.srcOff;
  f[o] = src >>> 24;
  f[o + 1] = (src >>> 16) & 0xff;
  f[o + 2] = (src >>> 8) & 0xff;
  f[o + 3] = src & 0xff;
}

function restoreDst(f: Uint8Array): void {
  f[0] = FE[0]!;
  f[1] = FE[1]!;
  f[2] = FE[2]!;
  f[3] = FE[3]!;
  f[4] = FE[4]!;
  f[5] = FE[5]!;
}

function fmt(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}

/** Decisions per second of one family. */
export interface DecisionRates {
  hit: number;
  miss: number;
  flood: number;
  random1M: number;
}

export interface PipelineBenchResult extends DecisionRates {
  /** The same decisions on IPv6 frames (the same dual-stack service), measured in the same run. */
  v6: DecisionRates;
  mapNumber: number;
  mapString: number;
  maglevMs: Record<number, number>;
}

const NOW = 1000;

/** Session hit: one flow. */
function measureHit(fam: Family): number {
  const f = fam.frame;
  const len = fam.len;
  setSrc(fam, SRC_BASE);
  const bh = balancer();
  const hit = rate(5_000_000 * SCALE, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      ok += bh.process(f, len, PORT_FRONTEND, NOW);
    }
    return ok;
  });
  restoreDst(f);
  if (verdictAction(bh.process(f, len, PORT_FRONTEND, NOW)) !== ACT_TX_BACKEND) {
    throw new Error(`benchmark ${fam.label} frame is not balanced`);
  }
  return hit;
}

/** Miss: a new flow every frame, into an empty table that can hold them all. */
function measureMiss(fam: Family): number {
  const f = fam.frame;
  const len = fam.len;
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const bm = balancer(LIVE);
    const t0 = clock();
    for (let i = 0; i < LIVE; i++) {
      restoreDst(f);
      setSrc(fam, SRC_BASE + i);
      bm.process(f, len, PORT_FRONTEND, NOW);
    }
    rates.push((LIVE / (clock() - t0)) * 1000);
    const active = bm.stats().sessions.active;
    if (active !== LIVE) throw new Error(`expected ${LIVE} ${fam.label} sessions, got ${active}`);
  }
  return median(rates);
}

/** 1M live sessions, then: random hits in `order`, and a flood of new flows past capacity (each evicts). */
function measureLive(fam: Family, order: Uint32Array): { random1M: number; flood: number } {
  const f = fam.frame;
  const len = fam.len;
  const bl = balancer(LIVE);
  for (let i = 0; i < LIVE; i++) {
    restoreDst(f);
    setSrc(fam, SRC_BASE + i);
    bl.process(f, len, PORT_FRONTEND, NOW);
  }
  const N = order.length;
  const hitsBefore = bl.stats().sessions.hit;
  const random1M = rate(N, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      setSrc(fam, SRC_BASE + order[i]!);
      ok += bl.process(f, len, PORT_FRONTEND, NOW);
    }
    return ok;
  });
  if (bl.stats().sessions.hit - hitsBefore < N * ROUNDS) {
    throw new Error(`${fam.label} random lookups did not all hit`);
  }
  let next = SRC_BASE + LIVE;
  const flood = rate(1_000_000 * SCALE, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      setSrc(fam, next++);
      ok += bl.process(f, len, PORT_FRONTEND, NOW);
    }
    return ok;
  });
  if (bl.stats().sessions.active > LIVE) throw new Error(`${fam.label} session table grew past capacity`);
  return { random1M, flood };
}

/** A random order of the live sessions (xorshift, fixed seed: the same keys every run). */
function randomOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    order[i] = (x >>> 0) % LIVE;
  }
  return order;
}

/** Maglev table build time (ms) for 10 to 4096 backends. */
function measureMaglev(): Record<number, number> {
  const maglevMs: Record<number, number> = {};
  const table = new Uint32Array(65537);
  for (const n of [10, 100, 1000, 4096]) {
    const members = Array.from({ length: n }, (_, i) => ({ id: (i * 2654435761) >>> 0, slot: i }));
    const times: number[] = [];
    for (let r = 0; r < Math.max(3, ROUNDS); r++) {
      const t0 = clock();
      buildMaglev(members, table);
      times.push(clock() - t0);
    }
    maglevMs[n] = median(times);
  }
  return maglevMs;
}

export async function measure(): Promise<PipelineBenchResult> {
  // Each measurement runs for IPv4 then IPv6 before the next one, so that drifting load on the
  // machine touches both families of a row alike.
  const hit = measureHit(V4);
  const hit6 = measureHit(V6);
  const miss = measureMiss(V4);
  const miss6 = measureMiss(V6);
  const order = randomOrder(2_000_000 * SCALE);
  const live = measureLive(V4, order);
  const live6 = measureLive(V6, order);

  // Baselines: a Map of the same 1M keys, looked up in the same random order.
  const mNum = new Map<number, number>();
  const mStr = new Map<string, number>();
  for (let i = 0; i < LIVE; i++) {
    mNum.set(SRC_BASE + i, i & 7);
    mStr.set(`${SRC_BASE + i}:11.0.0.100:40000:80:6`, i & 7);
  }
  const N = order.length;
  const mapNumber = rate(N, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += mNum.get(SRC_BASE + order[i]!)!;
    return s;
  });
  const mapString = rate(N / 4, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += mStr.get(`${SRC_BASE + order[i]!}:11.0.0.100:40000:80:6`)!;
    return s;
  });
  return {
    hit,
    miss,
    ...live,
    v6: { hit: hit6, miss: miss6, ...live6 },
    mapNumber,
    mapString,
    maglevMs: measureMaglev(),
  };
}

/** The decision rows: figure key, field of DecisionRates, human label, target of the IPv4 row. */
const ROWS: { key: string; field: keyof DecisionRates; label: string; target: string }[] = [
  { key: 'hit_one_flow', field: 'hit', label: 'decide: session hit, one flow', target: 'target >= 5 M/s; ' },
  {
    key: 'hit_random_live',
    field: 'random1M',
    label: `decide: hits at random over ${LIVE.toLocaleString('en')} sessions`,
    target: 'target >= 1.5 M/s; ',
  },
  {
    key: 'miss_filling',
    field: 'miss',
    label: 'decide: miss, new flow each frame (table filling)',
    target: '',
  },
  {
    key: 'miss_at_capacity',
    field: 'flood',
    label: 'decide: miss at capacity, each evicts the LRU entry',
    target: '',
  },
];

export async function run(r: Section = standalone('pipeline')): Promise<void> {
  const load = () => loadavg()[0]?.toFixed(1);
  const row = (name: string, value: string, note = '') =>
    r.say(`  ${name.padEnd(52)} ${value.padStart(12)}  ${note}`);
  r.say(
    `  (medians of ${ROUNDS} rounds, one core, ${CPU_TIMING ? 'CPU' : 'wall-clock'} time; node ${process.version}; load average ${load()})`,
  );
  const m = await measure();
  const vsMap = (x: number) =>
    `${(x / m.mapNumber).toFixed(2)}x Map<number>, ${(x / m.mapString).toFixed(1)}x Map<string>`;
  row(
    'baseline: Map<number> random get, 1M keys',
    fmt(m.mapNumber),
    `${(1e9 / m.mapNumber).toFixed(0)} ns/lookup`,
  );
  row(
    'baseline: Map<string> random get (key built), 1M keys',
    fmt(m.mapString),
    `${(1e9 / m.mapString).toFixed(0)} ns/lookup`,
  );
  for (const d of ROWS) {
    const v4 = m[d.field];
    const v6 = m.v6[d.field];
    row(d.label, fmt(v4), `${d.target}${vsMap(v4)}`);
    row(
      '  the same, IPv6 frames',
      fmt(v6),
      `IPv6 costs ${(v4 / v6).toFixed(2)}x IPv4 per frame (goal <= 1.3x)`,
    );
  }
  for (const [n, ms] of Object.entries(m.maglevMs)) {
    row(`Maglev table build (65537 entries), ${n} backends`, `${ms.toFixed(2)} ms`);
  }
  const flood = measureHashFlood(QUICK ? 1000 : 4000, QUICK ? 20 : 200);
  row(
    'session lookup, flows crafted against old fixed hash',
    fmt(flood.crafted),
    `longest chain ${flood.longestChain}; ordinary flows ${fmt(flood.random)}`,
  );
  r.say(`  (load average after: ${load()}; other processes on the machine skew every figure)`);
  r.figure('map_number_get', {
    value: m.mapNumber,
    unit: 'gets/s',
    note: 'baseline: Map<number>, random keys',
  });
  r.figure('map_string_get', {
    value: m.mapString,
    unit: 'gets/s',
    note: 'baseline: Map<string>, key built',
  });
  for (const d of ROWS) figures(r, m, d);
  r.figure('lookup_hash_flood', {
    value: flood.crafted,
    unit: 'lookups/s',
    baseline: flood.random,
    baseline_unit: 'lookups/s of as many ordinary flows',
    note: `flows crafted into one bucket of the old fixed hash; longest chain ${flood.longestChain}`,
  });
  for (const [n, ms] of Object.entries(m.maglevMs)) {
    r.figure(`maglev_build_${n}`, { value: ms, unit: 'ms', note: `65537 entries, ${n} backends` });
  }
}

/**
 * The figures of one decision row: IPv4's and IPv6's decisions/s, each against the Map<number> lookup
 * of the run, and `<key>_v6_cost`: IPv6's ns per frame against IPv4's (ratio = the IPv6 cost, goal <= 1.3).
 */
function figures(r: Section, m: PipelineBenchResult, d: (typeof ROWS)[number]): void {
  const note = d.label.replace(/^decide: /, '');
  const decisions = (value: number, family: string) => ({
    value,
    unit: 'decisions/s',
    baseline: m.mapNumber,
    baseline_unit: 'Map<number> gets/s',
    note: `${note}${family}`,
  });
  r.figure(d.key, decisions(m[d.field], ''));
  r.figure(`${d.key}_v6`, decisions(m.v6[d.field], ', IPv6 frames'));
  r.figure(`${d.key}_v6_cost`, {
    value: 1e9 / m.v6[d.field],
    unit: 'ns/frame',
    baseline: 1e9 / m[d.field],
    baseline_unit: 'ns/frame (IPv4, same service, same run)',
    note: `${note}: IPv6 frame cost vs IPv4; goal <= 1.3x`,
  });
}

if (process.argv[1]?.endsWith('/bench/pipeline.js')) await run();
