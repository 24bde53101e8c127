// The compiled XDP program driven like the TypeScript Balancer: configuration through the XDP
// plane's own map mirror, frames through BPF_PROG_TEST_RUN, the verdict read from the XDP action
// and the counters (XDP_TX is TX_FRONTEND for an ARP reply or a Neighbor Advertisement, TX_BACKEND for a
// balanced frame in one-arm; an advertisement may be longer or shorter than its solicitation: `outLen`).
// Tests run the same frames through both and compare.

import { formatIpv6 } from '../../src/core/addr.js';
import {
  ACT_DROP,
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  CNT_ARP_REPLY,
  CNT_FRONTEND_PASS,
  CNT_ND_REPLY,
  DROP_MAX,
  PORT_BACKEND,
  SIZEOF_FLOW_KEY6,
  SIZEOF_SESSION,
} from '../../src/core/constants.js';
import type { InstanceConfig, Observations, SessionSettings, StatsSnapshot } from '../../src/core/model.js';
import { XdpExplainer } from '../../src/dataplane/xdp/explain.js';
import { XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../../src/dataplane/xdp/mirror.js';
import { type LoadedLbdsr, loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { backendRows } from '../../src/dataplane/xdp/readout.js';
import { snapshot } from '../../src/dataplane/xdp/stats.js';
import { mapForEach, TestRunner, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../../src/kernel/libbpf.js';
import type { Balancer } from '../../src/pipeline/balancer.js';
import { ControlState, type PortsArg } from '../../src/pipeline/control.js';

/** The program's clock in a test is BASE_NS + nowMs * 1e6 (never 0, which means the real clock). */
export const BASE_NS = 1_000_000_000_000n;
/** Loopback: the devmap target in tests (BPF_PROG_TEST_RUN does not transmit). */
const LO = 1;
/** Verdict action for an XDP_ABORTED or unknown return (never equal to a pipeline verdict). */
export const ACT_ABORTED = 0xff;

export interface ComparableSession {
  key: string;
  backend: number;
  lastSeenMs: number;
}

export class XdpBalancer {
  readonly control = new ControlState();
  readonly loaded: LoadedLbdsr;
  readonly maps: XdpMaps;
  readonly mirror: XdpMirror;
  readonly runner: TestRunner;
  /** The BACKEND port's program. */
  readonly backendRunner: TestRunner;
  lastBackendId = 0;
  /** The length of the frame the last process() transmitted (an ND reply is 86 bytes whatever came in). */
  outLen = 0;
  /** lbdsr_explain on these maps, loaded when a host_pass PASS needs its rule (passReason). */
  private explainer: XdpExplainer | null = null;
  private readonly capacity: number;
  private readonly before = new Float64Array(64);
  private readonly after = new Float64Array(64);

  constructor(settings: SessionSettings) {
    this.loaded = loadLbdsr({ capacity: settings.capacity });
    this.maps = new XdpMaps(this.loaded.fds); // fds owned by the object: closed by close();
    this.mirror = new XdpMirror(this.maps);
    this.runner = new TestRunner(this.loaded.progFd);
    this.backendRunner = new TestRunner(this.loaded.backendProgFd, 4096);
    this.capacity = settings.capacity;
    const t = settings.timeouts;
    this.control.timeoutsMs = { tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000 };
  }

  close(): void {
    this.explainer?.close();
    this.loaded.obj.close();
  }

  /** `ports`: the backend port's MAC, or the ports as the daemon resolves them (ROUTED, one-arm). */
  configure(config: InstanceConfig, ports: PortsArg, observe?: Observations): void {
    this.mirror.apply(this.control.apply(config, ports, observe), 0, LO);
  }

  /**
   * The rule a host_pass PASS was passed by: XDP_PASS carries no reason, the kernel's explain of the
   * same frame (a pass changes no state) names it (docs/semantics.md, "Frontend modes").
   */
  private passReason(frame: Uint8Array, len: number, port: number): number {
    this.explainer ??= new XdpExplainer({ ...this.loaded.fds }, this.capacity);
    return this.explainer.explain(frame.subarray(0, len), port).verdict;
  }

  setClock(nowMs: number): void {
    this.maps.setTestClock(BASE_NS + BigInt(Math.round(nowMs * 1e6)));
  }

  /**
   * Runs one frame; `frame[0,outLen)` is overwritten with the program's output when transmitted (`frame`
   * must have room for an 86-byte Neighbor Advertisement).
   */
  process(frame: Uint8Array, len: number, port: number, nowMs: number): number {
    this.setClock(nowMs);
    // Each port has its program, as the plane attaches them.
    const runner = port === PORT_BACKEND ? this.backendRunner : this.runner;
    this.outLen = len;
    this.maps.readCounters(this.before);
    const slots = this.mirror.liveSlots();
    const packetsBefore = slots.map((s) => this.maps.readBackendStats(s.slot).packets);
    runner.input.set(frame.subarray(0, len));
    const act = runner.run(len);
    this.maps.readCounters(this.after);
    if (act === XDP_DROP) {
      for (let r = 1; r < DROP_MAX; r++) if (this.after[r] !== this.before[r]) return ACT_DROP | (r << 8);
      return ACT_ABORTED;
    }
    if (act === XDP_PASS) {
      return this.after[CNT_FRONTEND_PASS] !== this.before[CNT_FRONTEND_PASS]
        ? this.passReason(frame, len, port)
        : ACT_PASS;
    }
    if (act !== XDP_TX && act !== XDP_REDIRECT) return ACT_ABORTED;
    // Only a Neighbor Advertisement changes the frame's length.
    const ndReply = act === XDP_TX && this.after[CNT_ND_REPLY] !== this.before[CNT_ND_REPLY];
    if (runner.outLen !== len && !ndReply) return ACT_ABORTED;
    if (runner.outLen > frame.length) return ACT_ABORTED;
    frame.set(runner.output.subarray(0, runner.outLen));
    this.outLen = runner.outLen;
    // XDP_TX is an ARP or ND reply, or in one-arm (CFG_ONE_ARM) also a balanced frame: the counts tell.
    if (ndReply || (act === XDP_TX && this.after[CNT_ARP_REPLY] !== this.before[CNT_ARP_REPLY]))
      return ACT_TX_FRONTEND;
    this.lastBackendId = -1;
    for (let i = 0; i < slots.length; i++) {
      if (this.maps.readBackendStats(slots[i]!.slot).packets !== packetsBefore[i])
        this.lastBackendId = slots[i]!.id;
    }
    return ACT_TX_BACKEND;
  }

  stats(): StatsSnapshot {
    const c = this.maps.readCounters();
    const backends = backendRows(this.mirror, this.maps);
    let active = 0;
    this.maps.forEachSession(() => {
      active++;
    });
    this.forEachSession6(() => {
      active++;
    });
    return snapshot(c, backends, active);
  }

  /** The session table as comparable entries (clock translated back to the test's ms). */
  sessionList(): ComparableSession[] {
    const out: ComparableSession[] = [];
    this.maps.forEachSession((s) => {
      out.push({
        key: sessionKey(s.src, s.dst, s.sport, s.dport, s.proto),
        backend: s.backendId,
        lastSeenMs: Number(s.lastSeenNs - BASE_NS) / 1e6,
      });
    });
    this.forEachSession6((key, backend, lastSeenNs) => {
      out.push({ key, backend, lastSeenMs: Number(lastSeenNs - BASE_NS) / 1e6 });
    });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The IPv6 sessions (lbdsr_sessions6, struct lbdsr_flow_key6 as bpf/lbdsr_shared.h lays it out). */
  private forEachSession6(visit: (key: string, backend: number, lastSeenNs: bigint) => void): void {
    mapForEach(this.loaded.fds.sessions6, SIZEOF_FLOW_KEY6, SIZEOF_SESSION, 4096, (keys, values, n) => {
      const kv = new DataView(keys.buffer, keys.byteOffset, keys.byteLength);
      const vv = new DataView(values.buffer, values.byteOffset, values.byteLength);
      for (let i = 0; i < n; i++) {
        const k = i * SIZEOF_FLOW_KEY6;
        const o = i * SIZEOF_SESSION;
        const key = sessionKey(
          keys.subarray(k, k + 16),
          keys.subarray(k + 16, k + 32),
          kv.getUint16(k + 32, true),
          kv.getUint16(k + 34, true),
          keys[k + 36]!,
        );
        visit(key, vv.getUint32(o, true), vv.getBigUint64(o + 8, true));
      }
      return undefined;
    });
  }
}

/** A session's key as text: IPv4 addresses as numbers, IPv6 ones (16 bytes) as formatIpv6 text. */
export function sessionKey(
  src: number | Uint8Array,
  dst: number | Uint8Array,
  sport: number,
  dport: number,
  proto: number,
): string {
  const a = (x: number | Uint8Array) => (typeof x === 'number' ? `${x >>> 0}` : `[${formatIpv6(x)}]`);
  return `${a(src)}:${sport}>${a(dst)}:${dport}/${proto}`;
}

/** The TypeScript pipeline's sessions of both families, keyed as sessionList() keys the kernel's. */
export function pipelineSessions(b: Balancer): ComparableSession[] {
  const out: ComparableSession[] = [];
  b.sessionTable.forEach((src, dst, sport, dport, proto, backendId, _slot, last) => {
    out.push({ key: sessionKey(src, dst, sport, dport, proto), backend: backendId, lastSeenMs: last });
  });
  // The IPv6 table (10-word keys: src, dst as 4 big-endian words each, ports, proto).
  const t6 = b.sessionTable6;
  t6.forEachEntry((e) => {
    const addr = (at: number) => {
      const a = new Uint8Array(16);
      for (let i = 0; i < 4; i++) new DataView(a.buffer).setUint32(4 * i, t6.keyWordAt(e, at + i));
      return a;
    };
    const ports = t6.keyWordAt(e, 8);
    out.push({
      key: sessionKey(addr(0), addr(4), ports >>> 16, ports & 0xffff, t6.keyWordAt(e, 9)),
      backend: t6.backendIdAt(e),
      lastSeenMs: t6.lastSeenAt(e),
    });
  });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
