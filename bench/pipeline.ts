// Pipeline benchmark: decisions per second of Balancer.process on one core (this process is single
// threaded) for a session hit, a miss (a new flow every frame), a flood past capacity (every miss
// evicts), and hits spread at random over 1,000,000 live sessions; Maglev table build time for 10,
// 100, 1000 and 4096 backends; session lookups under a hash flood (bench/hash-flood.ts). Baselines measured in the same run: a JavaScript Map lookup of the
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
import { tcpFrame } from '../src/packet/build.js';
import { Balancer } from '../src/pipeline/balancer.js';
import { median } from '../testkit/timing.js';
import { measureHashFlood } from './hash-flood.js';
import { type Section, standalone } from './report.js';

const VIP = '10.0.0.100';
const FE_MAC = 'aa:bb:cc:dd:ee:ff';
const FE = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
const QUICK = process.env.LBDSR_BENCH_QUICK === '1';
const LIVE = QUICK ? 20_000 : 1_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
/** Scales the iteration counts of a quick run. */
const SCALE = QUICK ? 0.02 : 1;
const SRC_BASE = 0x0b000000; // 11.0.0.0: flow i comes from 11.0.0.0 + i

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
    frontend: { vip: VIP, mac: FE_MAC },
    backend: { pool },
    sessions: { capacity: LIVE, timeouts: { tcp: 600, udp: 60, icmp: 30 } },
  };
}

function balancer(capacity = LIVE): Balancer {
  const b = new Balancer({ capacity });
  b.configure(config(10), '02:00:00:00:be:01');
  return b;
}

function frame(): Uint8Array {
  return tcpFrame(
    { ethDst: FE_MAC, ethSrc: '52:54:00:00:00:01', src: '11.0.0.0', dst: VIP },
    { sport: 40000, dport: 80, flags: 0x02 }, // SYN: a miss records its session (docs/semantics.md)
  );
}

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

const SRC_OFF = 14 + 12;

function setSrc(f: Uint8Array, src: number): void {
  f[SRC_OFF] = src >>> 24;
  f[SRC_OFF + 1] = (src >>> 16) & 0xff;
  f[SRC_OFF + 2] = (src >>> 8) & 0xff;
  f[SRC_OFF + 3] = src & 0xff;
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

export interface PipelineBenchResult {
  hit: number;
  miss: number;
  flood: number;
  random1M: number;
  mapNumber: number;
  mapString: number;
  maglevMs: Record<number, number>;
}

export async function measure(): Promise<PipelineBenchResult> {
  const f = frame();
  const len = f.length;
  const now = 1000;

  // Session hit: one flow.
  const bh = balancer();
  const hit = rate(5_000_000 * SCALE, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      ok += bh.process(f, len, PORT_FRONTEND, now);
    }
    return ok;
  });
  restoreDst(f);
  if (verdictAction(bh.process(f, len, PORT_FRONTEND, now)) !== ACT_TX_BACKEND) {
    throw new Error('benchmark frame is not balanced');
  }

  // Miss: a new flow every frame, into an empty table that can hold them all.
  let miss = 0;
  {
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const bm = balancer(LIVE);
      const t0 = clock();
      for (let i = 0; i < LIVE; i++) {
        restoreDst(f);
        setSrc(f, SRC_BASE + i);
        bm.process(f, len, PORT_FRONTEND, now);
      }
      rates.push((LIVE / (clock() - t0)) * 1000);
      if (bm.sessionTable.count !== LIVE)
        throw new Error(`expected ${LIVE} sessions, got ${bm.sessionTable.count}`);
    }
    miss = median(rates);
  }

  // 1M live sessions, then: random hits, and a flood of new flows past capacity (each evicts).
  const bl = balancer(LIVE);
  for (let i = 0; i < LIVE; i++) {
    restoreDst(f);
    setSrc(f, SRC_BASE + i);
    bl.process(f, len, PORT_FRONTEND, now);
  }
  const N = 2_000_000 * SCALE;
  const order = new Uint32Array(N);
  let x = 0x12345678;
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    order[i] = (x >>> 0) % LIVE;
  }
  const hitsBefore = bl.stats().sessions.hit;
  const random1M = rate(N, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      setSrc(f, SRC_BASE + order[i]!);
      ok += bl.process(f, len, PORT_FRONTEND, now);
    }
    return ok;
  });
  if (bl.stats().sessions.hit - hitsBefore < N * ROUNDS) throw new Error('random lookups did not all hit');

  let next = SRC_BASE + LIVE;
  const flood = rate(1_000_000 * SCALE, (n) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      restoreDst(f);
      setSrc(f, next++);
      ok += bl.process(f, len, PORT_FRONTEND, now);
    }
    return ok;
  });
  if (bl.sessionTable.count > LIVE) throw new Error('session table grew past capacity');

  // Baselines: a Map of the same 1M keys, looked up in the same random order.
  const mNum = new Map<number, number>();
  const mStr = new Map<string, number>();
  for (let i = 0; i < LIVE; i++) {
    mNum.set(SRC_BASE + i, i & 7);
    mStr.set(`${SRC_BASE + i}:11.0.0.100:40000:80:6`, i & 7);
  }
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

  // Maglev table build.
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
  return { hit, miss, flood, random1M, mapNumber, mapString, maglevMs };
}

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
  row('decide: session hit, one flow', fmt(m.hit), `target >= 5 M/s; ${vsMap(m.hit)}`);
  row(
    'decide: hits at random over 1,000,000 sessions',
    fmt(m.random1M),
    `target >= 1.5 M/s; ${vsMap(m.random1M)}`,
  );
  row('decide: miss, new flow each frame (table filling)', fmt(m.miss), vsMap(m.miss));
  row('decide: miss at capacity, each evicts the LRU entry', fmt(m.flood), vsMap(m.flood));
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
  // Every decision figure against the Map<number> lookup of the same keys (the baseline of the run).
  const decisions = (value: number, note: string) => ({
    value,
    unit: 'decisions/s',
    baseline: m.mapNumber,
    baseline_unit: 'Map<number> gets/s',
    note,
  });
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
  r.figure('hit_one_flow', decisions(m.hit, 'session hit, one flow'));
  r.figure('hit_random_live', decisions(m.random1M, `hits at random over ${LIVE} sessions`));
  r.figure('miss_filling', decisions(m.miss, 'a new flow each frame, table filling'));
  r.figure('miss_at_capacity', decisions(m.flood, 'a new flow each frame, each evicts the LRU entry'));
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

if (process.argv[1]?.endsWith('/bench/pipeline.js')) await run();
