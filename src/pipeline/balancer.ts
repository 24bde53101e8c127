// The balancer's per-frame decision: docs/semantics.md written as code, composed here from its parts:
// rules 1..5 (ports, Ethernet, VLAN, EtherType), the VIP match of each family, then rules 9a..12 (the
// service, the session, Maglev, the rewrite) and the commit of a sent frame's counters and session.
// IPv4 and IPv6 frames share everything from the service match on; each family has its own session and
// fragment tables and flow key (4 words / 10 words), and the decision reads the current family's through
// `k`, `kw` and `st`. The parts: the flow keys in ipv4.ts and ipv6.ts (extension headers, ICMP errors),
// the fragment tables in fragments.ts, ARP in arp.ts, Neighbor Discovery in nd.ts, the stats and session
// lists in snapshot.ts. Pure and allocation-free on the per-frame path; the XDP program (bpf/) implements
// the same rules and is checked against this file.
import {
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  ALG_HASH_SRC_IP,
  CFG_HOST_PASS,
  CFG_ONE_ARM,
  CNT_ARP_REPLY,
  CNT_BACKEND_PASS,
  CNT_FRONTEND_PASS,
  CNT_MAX,
  CNT_ND_REPLY,
  CNT_RX_BACKEND_BYTES,
  CNT_RX_BACKEND_PACKETS,
  CNT_RX_BYTES,
  CNT_RX_PACKETS,
  CNT_SESSION_EXPIRED,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  CNT_SESSION_UNRECORDED,
  CNT_TX_BACKEND_BYTES,
  CNT_TX_FRONTEND_BYTES,
  DROP_BACKEND_PORT,
  DROP_DST_MAC,
  DROP_ETHERTYPE,
  DROP_IP_MALFORMED,
  DROP_NO_BACKEND,
  DROP_NO_SERVICE,
  DROP_NONE,
  DROP_NOT_READY,
  DROP_NOT_VIP,
  DROP_TRUNCATED,
  DROP_TX_FAILED,
  DROP_VLAN,
  MAGLEV_SIZE,
  MAX_BACKENDS,
  NA_FRAME_LEN,
  PORT_BACKEND,
  PROTO_ICMPV6,
  SLOT_NONE,
} from '../core/constants.js';
import { jhash2Into } from '../core/jhash.js';
import {
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type Observations,
  type SessionEntry,
  type SessionSettings,
  type StatsSnapshot,
} from '../core/model.js';
import {
  ETH_DST,
  ETH_HLEN,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  IP_DST,
  IP_MIN_HLEN,
  IP_TOT_LEN,
  IP6_DST,
  IP6_HLEN,
  IP6_NEXT,
  IP6_PLEN,
  IP6_SRC,
  macEquals,
  readU16,
} from '../packet/fields.js';
import { answerArp } from './arp.js';
import { ControlState, type PortsArg, type ServiceState } from './control.js';
import { FRAG_LEARN, FragmentTable, fragmentKey4, fragmentKey6 } from './fragments.js';
import { FLOW_FRAGMENT, FLOW_ICMP_ERROR, ipv4FlowKey } from './ipv4.js';
import { ipv6FlowKey, K6_DST, K6_SRC, loadAddress, WK_WIDTH } from './ipv6.js';
import { answerSolicitation, isNdType } from './nd.js';
import type { Plan } from './plan.js';
import { KEY_WORDS_V4, KEY_WORDS_V6, SessionTable } from './session-table.js';
import {
  activeSessions,
  BS_BYTES,
  BS_PACKETS,
  BS_SESSIONS,
  BS_WIDTH,
  backendRows,
  sessionRows,
  statsSnapshot,
  timeoutFor,
} from './snapshot.js';
import { type VipGroup, VipTable } from './vips.js';

/** ipv4()/ipv6()'s answer when the frame has a flow key and decide() goes on with rule 9a. */
const KEYED = -1;

/** The decision awaiting commit(), in an Int32Array (small integers: never boxed); its time apart. */
const P_KIND = 0;
const P_OUTCOME = 1;
const P_ENTRY = 2;
const P_SLOT = 3;
const P_LEN = 4;
/** What the fragment table does on commit: FRAG_LEARN, CNT_FRAG_HIT/_MISS (counted), or 0. */
const P_FRAG = 5;
/** The key's bucket hash in the session table (SessionTable.lastHash), for the insert of a miss. */
const P_HASH = 6;
/** Kinds of pending decision: none (a drop, or committed), an ARP reply, a frame to a backend, an NA. */
const PEND_NONE = 0;
const PEND_ARP = 1;
const PEND_BACKEND = 2;
const PEND_ND = 3;

/**
 * What decide() found on its way, in `Balancer.trace` (a Float64Array: the hash is a uint32), for
 * explain (explain.ts). Written only where the value is computed, so the per-frame path pays a few
 * stores and no reset: explain() resets the record before its decision, and reads it only then.
 * T_SERVICE: matched service index; T_ENTRY: session entry found (-1 none); T_SESSION: its verdict
 * (a CNT_SESSION_* counter index: HIT, EXPIRED, STALE, or MISS/UNRECORDED without an entry);
 * T_HASH / T_INDEX: Maglev hash and entry index (-1 when Maglev was not consulted); T_SLOT: the slot
 * chosen (SLOT_NONE: the Maglev entry is empty).
 */
export const T_SERVICE = 0;
export const T_ENTRY = 1;
export const T_SESSION = 2;
export const T_HASH = 3;
export const T_INDEX = 4;
export const T_SLOT = 5;
export const T_WIDTH = 6;

/**
 * Rule 12's rewrite: the Ethernet destination becomes `dst` (the backend's MAC), the source `src` (the
 * BACKEND port's). One function for both (rather than writeMac twice): the per-frame path's functions
 * are kept small, since V8 inlines within a budget of bytecode.
 */
function rewriteMacs(f: Uint8Array, dst: Uint8Array, src: Uint8Array): void {
  f[0] = dst[0]!;
  f[1] = dst[1]!;
  f[2] = dst[2]!;
  f[3] = dst[3]!;
  f[4] = dst[4]!;
  f[5] = dst[5]!;
  f[6] = src[0]!;
  f[7] = src[1]!;
  f[8] = src[2]!;
  f[9] = src[3]!;
  f[10] = src[4]!;
  f[11] = src[5]!;
}

export class Balancer {
  readonly control = new ControlState();
  sessionTable: SessionTable;
  /** The IPv6 flows' sessions (10-word keys), bounded by the same capacity. */
  sessionTable6: SessionTable;
  /** Ports of TCP/UDP datagrams learned from their first fragments (docs/semantics.md, "Fragments"). */
  readonly fragments = new FragmentTable();
  /** The same for IPv6 datagrams ({src, dst, 32-bit identification, proto}). */
  readonly fragments6 = new FragmentTable(undefined, undefined, KEY_WORDS_V6);
  /**
   * Length of the frame to transmit after decide()/process(): `len`, except for a Neighbor
   * Advertisement answering a solicitation (NA_FRAME_LEN: the frame's buffer must hold that many).
   */
  outLen = 0;
  /** Global counters (CNT_*); explain() points this at a scratch copy for one decision. */
  counters = new Float64Array(CNT_MAX);
  private readonly explainCounters = new Float64Array(CNT_MAX);
  /** What the last decision found (T_* indexes), meaningful after explain() only. */
  readonly trace = new Float64Array(T_WIDTH);
  /** Indexed by slot * 3: packets, bytes, sessions. Reset when a slot is given to a new backend. */
  readonly backendCounters = new Float64Array(MAX_BACKENDS * BS_WIDTH);
  /** Transmitted frames by port: [frontend, backend]. */
  readonly tx = new Float64Array(2);
  /** Backend id of the last TX_BACKEND verdict. */
  lastBackendId = 0;

  /**
   * Flow key of the frame being decided, reused for every frame: [src, dst, sport << 16 | dport, proto],
   * then scratch for the hash. A typed array, not fields or arguments: V8 boxes (allocates) a uint32 above
   * 2^30 stored in a field or passed to a call it did not inline; a typed array holds it unboxed.
   */
  private readonly key = new Uint32Array(8);
  /** The IPv6 flow key: [src0..3, dst0..3, sport << 16 | dport, proto], then hash and not-a-SYN. */
  private readonly key6 = new Uint32Array(KEY_WORDS_V6 + 2);
  /**
   * The key of the frame's family (key or key6), its length in words (ports at kw - 2, proto at kw - 1,
   * the Maglev hash at kw, 1 at kw + 1 for a TCP segment that is not a SYN) and its session table.
   */
  private k = this.key;
  private kw = KEY_WORDS_V4;
  private st: SessionTable;
  /** Left by ipv4()/ipv6() for rules 9a..12: the VIP's group, whether the frame is an ICMP error. */
  private group: VipGroup<ServiceState> | undefined = undefined;
  private icmpError = false;
  /** The extension-header walk's results (ipv6.ts WK_*). */
  private readonly walk = new Int32Array(WK_WIDTH);
  /** The decision of the last decide() until commit() or transmitFailed() (P_* indexes). */
  private readonly pending = new Int32Array(7);
  private pendingNowMs = 0;

  constructor(settings: Partial<SessionSettings> = {}) {
    this.sessionTable = new SessionTable(settings.capacity ?? DEFAULT_SESSION_SETTINGS.capacity);
    this.sessionTable6 = new SessionTable(this.sessionTable.capacity, { words: KEY_WORDS_V6 });
    this.st = this.sessionTable;
    this.control.capacity = this.sessionTable.capacity;
    if (settings.timeouts) {
      const t = settings.timeouts;
      this.control.timeoutsMs = { tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000 };
    }
  }

  /**
   * Checks `config`, then applies it (see applyPlan); returns the plan. A bad config throws and
   * changes nothing.
   */
  configure(config: InstanceConfig, ports: PortsArg, observe?: Observations): Plan {
    const plan = this.control.plan(config, ports, observe);
    this.applyPlan(plan);
    return plan;
  }

  /**
   * Commits a plan of the control state: sessions survive (a removed backend's are re-balanced lazily),
   * every counter is kept except those of a slot given to another backend, and a new capacity keeps
   * the most recently used sessions that fit.
   */
  applyPlan(plan: Plan): void {
    this.control.commit(plan);
    if (plan.capacity !== this.sessionTable.capacity) {
      this.sessionTable = this.sessionTable.withCapacity(plan.capacity);
      this.sessionTable6 = this.sessionTable6.withCapacity(plan.capacity);
    }
    const owners = this.slotOwner;
    const check = (slot: number) => {
      const s = this.control.slots[slot];
      // A backend is its service's index and its id (ids are per pool).
      const id = s ? s.service * 0x1_0000_0000 + s.id : -1;
      // A slot handed to a different backend starts its counters from zero.
      if (owners[slot] !== id) {
        this.backendCounters.fill(0, slot * BS_WIDTH, slot * BS_WIDTH + BS_WIDTH);
        owners[slot] = id;
      }
    };
    if (plan.full) for (let slot = 0; slot < MAX_BACKENDS; slot++) check(slot);
    else for (const c of plan.slots) check(c.slot);
  }
  private readonly slotOwner = new Float64Array(MAX_BACKENDS).fill(-1);

  /**
   * Decides one frame and records the decision at once (decide + commit): for callers whose transmit
   * cannot fail. On a transmit verdict `frame[0..len)` has been rewritten in place.
   * Returns `action | reason << 8` (see verdictAction / verdictReason).
   */
  process(frame: Uint8Array, len: number, port: number, nowMs: number): number {
    const v = this.decide(frame, len, port, nowMs);
    if (this.pending[P_KIND] !== PEND_NONE) this.commit();
    return v;
  }

  /**
   * Decides one frame like process() but records nothing of a transmit verdict yet (rx and drop counters
   * move at once): the caller sends the frame, then calls commit() (session recorded or refreshed,
   * session, backend and tx counters) or, when the port could not take it, transmitFailed(). A
   * failed transmit thus leaves no trace but its drop counter (docs/semantics.md, "A failed transmit").
   * The next decide() forgets a decision neither committed nor failed.
   */
  decide(frame: Uint8Array, len: number, port: number, nowMs: number): number {
    this.pending[P_KIND] = PEND_NONE;
    this.outLen = len;
    const c = this.counters;
    c[CNT_RX_PACKETS]!++;
    c[CNT_RX_BYTES] = c[CNT_RX_BYTES]! + len;
    if (port === PORT_BACKEND) {
      c[CNT_RX_BACKEND_PACKETS]!++;
      c[CNT_RX_BACKEND_BYTES] = c[CNT_RX_BACKEND_BYTES]! + len;
      return this.backendPort(frame, len);
    }
    if ((this.control.flags & CFG_ONE_ARM) !== 0 && this.toProbeMac(frame, len)) {
      c[CNT_BACKEND_PASS]!++;
      return ACT_PASS;
    }
    if (len < ETH_HLEN || len > frame.length) return this.drop(DROP_TRUNCATED);
    const ethType = readU16(frame, ETH_TYPE);
    if (ethType === ETHERTYPE_VLAN || ethType === ETHERTYPE_QINQ) return this.notForVip(DROP_VLAN);
    if (ethType === ETHERTYPE_ARP) return this.arp(frame, len);
    const keyed =
      ethType === ETHERTYPE_IPV4
        ? this.ipv4(frame, len, nowMs)
        : ethType === ETHERTYPE_IPV6
          ? this.ipv6(frame, len, nowMs)
          : this.notForVip(DROP_ETHERTYPE);
    if (keyed !== KEYED) return keyed;

    // Rules 9a..12, the same for both families: the key is in `k` (kw words), its VIP's group in `group`.
    // the most specific service of the VIP for the key's protocol and destination port
    const svc = VipTable.match(this.group!, this.k[this.kw - 1]!, this.k[this.kw - 2]! & 0xffff);
    if (svc === null) return this.drop(DROP_NO_SERVICE);
    this.trace[T_SERVICE] = svc.index;
    if (!this.control.ready) return this.drop(DROP_NOT_READY);
    const slot = this.icmpError ? this.peekBackend(svc, nowMs) : this.chooseBackend(svc, nowMs);
    this.trace[T_SLOT] = slot;
    if (slot === SLOT_NONE) return this.drop(DROP_NO_BACKEND);

    const backend = this.control.slots[slot]!;
    rewriteMacs(frame, backend.mac, this.control.backendPortMac!);
    const p = this.pending;
    p[P_KIND] = PEND_BACKEND;
    p[P_SLOT] = slot;
    p[P_LEN] = len;
    this.pendingNowMs = nowMs;
    return ACT_TX_BACKEND;
  }

  /**
   * Rules 6..9 (IPv4): a drop or pass verdict, or KEYED with the flow key in `key`, its VIP's group in
   * `group`, `icmpError` and the fragment table's part in pending[P_FRAG] (decide() goes on with 9a).
   */
  private ipv4(frame: Uint8Array, len: number, nowMs: number): number {
    const l3 = ETH_HLEN;
    if (len < l3 + IP_MIN_HLEN) return this.drop(DROP_IP_MALFORMED);
    const verIhl = frame[l3]!;
    const ihl = (verIhl & 0x0f) << 2;
    if (verIhl >>> 4 !== 4 || ihl < IP_MIN_HLEN || l3 + ihl > len) return this.drop(DROP_IP_MALFORMED);
    const totLen = readU16(frame, l3 + IP_TOT_LEN);
    if (totLen < ihl || l3 + totLen > len) return this.drop(DROP_IP_MALFORMED);

    const vip = this.control.vips.groupAt(frame, l3 + IP_DST);
    if (vip === undefined) return this.notForVip(DROP_NOT_VIP);
    if (!macEquals(frame, ETH_DST, vip.mac)) return this.drop(DROP_DST_MAC);
    const k = this.key;
    this.k = k;
    this.kw = KEY_WORDS_V4;
    this.st = this.sessionTable;
    const flow = ipv4FlowKey(frame, l3, ihl, totLen, k);
    if (flow > 0) return this.drop(flow);
    const frag =
      flow === FLOW_FRAGMENT ? fragmentKey4(frame, l3, l3 + ihl, totLen - ihl, k, this.fragments, nowMs) : 0;
    return this.keyed(vip, flow === FLOW_ICMP_ERROR, frag);
  }

  /** What ipv4()/ipv6() leave for rules 9a..12 (see decide()). */
  private keyed(vip: VipGroup<ServiceState>, icmpError: boolean, frag: number): number {
    this.group = vip;
    this.icmpError = icmpError;
    this.pending[P_FRAG] = frag;
    return KEYED;
  }

  /**
   * Decides one frame as decide() would and records nothing: no counter (rx included: they go to a
   * scratch array), no session, no fragment entry (those move on commit only, which never comes). What
   * it found is left in `trace`; `frame` is rewritten in place as for a transmit. Must not come between a
   * decide() and its commit() (the worker asks between batches).
   */
  explain(frame: Uint8Array, len: number, port: number, nowMs: number): number {
    this.trace.fill(-1);
    const real = this.counters;
    this.counters = this.explainCounters;
    try {
      return this.decide(frame, len, port, nowMs);
    } finally {
      this.counters = real;
      this.pending[P_KIND] = PEND_NONE;
    }
  }

  /** Records the decision of the last decide(): its frame was sent. */
  commit(): void {
    const p = this.pending;
    const kind = p[P_KIND];
    p[P_KIND] = PEND_NONE;
    if (kind === PEND_ARP || kind === PEND_ND) {
      this.counters[kind === PEND_ARP ? CNT_ARP_REPLY : CNT_ND_REPLY]!++;
      this.tx[0]!++;
      this.counters[CNT_TX_FRONTEND_BYTES] = this.counters[CNT_TX_FRONTEND_BYTES]! + p[P_LEN]!;
      return;
    }
    if (kind !== PEND_BACKEND) return;
    const slot = p[P_SLOT]!;
    const nowMs = this.pendingNowMs;
    const outcome = p[P_OUTCOME]!;
    const backend = this.control.slots[slot]!;
    const bc = this.backendCounters;
    const o = slot * BS_WIDTH;
    if (outcome === CNT_SESSION_HIT) this.st.touch(p[P_ENTRY]!, nowMs);
    else if (outcome !== 0 && outcome !== CNT_SESSION_UNRECORDED)
      this.record(p[P_ENTRY]!, backend.id, slot, nowMs);
    if (outcome !== 0) this.counters[outcome]!++;
    // The fragment table moves only for a frame that left (a drop, a failed transmit change nothing).
    const frag = p[P_FRAG]!;
    if (frag === FRAG_LEARN) {
      const table = this.kw === KEY_WORDS_V4 ? this.fragments : this.fragments6;
      table.learnFrom(this.k, this.kw - 2, nowMs);
    } else if (frag !== 0) this.counters[frag]!++;
    bc[o + BS_PACKETS]!++;
    bc[o + BS_BYTES] = bc[o + BS_BYTES]! + p[P_LEN]!;
    this.tx[1]!++;
    this.counters[CNT_TX_BACKEND_BYTES] = this.counters[CNT_TX_BACKEND_BYTES]! + p[P_LEN]!;
    this.lastBackendId = backend.id;
  }

  /** Records a new or re-balanced session (entry `e`, or a new one when -1) towards `slot`. */
  private record(e: number, id: number, slot: number, nowMs: number): void {
    const st = this.st;
    if (e >= 0) st.retarget(e, id, slot, nowMs);
    else st.insertKey(this.k, id, slot, nowMs, this.pending[P_HASH]!);
    this.backendCounters[slot * BS_WIDTH + BS_SESSIONS]!++;
  }

  /**
   * The frame of the last decide() could not be sent (its port is closed, its TX ring full): the
   * decision is dropped, counted as TX_FAILED, and nothing else of it remains.
   */
  transmitFailed(): number {
    if (this.pending[P_KIND] === PEND_NONE) return DROP_NONE;
    this.pending[P_KIND] = PEND_NONE;
    return this.drop(DROP_TX_FAILED);
  }

  /**
   * Rule 1: on the BACKEND port an ARP frame, or one addressed to the instance's probe MAC, is left to
   * the kernel (the health prober and the ARP resolver read them there); everything else drops.
   */
  private backendPort(frame: Uint8Array, len: number): number {
    if (len >= ETH_HLEN && len <= frame.length) {
      const type = readU16(frame, ETH_TYPE);
      if (type === ETHERTYPE_ARP || this.isNd(frame, len, type) || this.toProbeMac(frame, len)) {
        this.counters[CNT_BACKEND_PASS]!++;
        return ACT_PASS;
      }
    }
    return this.drop(DROP_BACKEND_PORT);
  }

  /** Rule 1: an IPv6 Neighbor Discovery message (the host's own IPv6 neighbours on the BACKEND port). */
  private isNd(frame: Uint8Array, len: number, type: number): boolean {
    if (type !== ETHERTYPE_IPV6 || len < ETH_HLEN + IP6_HLEN + 1) return false;
    const icmpType = frame[ETH_HLEN + IP6_HLEN]!;
    return frame[ETH_HLEN + IP6_NEXT] === PROTO_ICMPV6 && isNdType(icmpType);
  }

  /** Rule 1a (one-arm): a frame of at least 14 bytes to the instance's probe MAC. */
  private toProbeMac(frame: Uint8Array, len: number): boolean {
    const probe = this.control.probeMac;
    return probe !== null && len >= ETH_HLEN && len <= frame.length && macEquals(frame, ETH_DST, probe);
  }

  private drop(reason: number): number {
    this.counters[reason]!++;
    return reason << 8;
  }

  /**
   * A FRONTEND frame that is not for a VIP (rules 3, 4, 5, 7): with CFG_HOST_PASS it goes to the host's
   * stack (PASS, counted FRONTEND_PASS only; the rule's reason rides in the verdict for explain), else
   * it drops for `reason` (docs/semantics.md, "Frontend modes").
   */
  private notForVip(reason: number): number {
    if ((this.control.flags & CFG_HOST_PASS) === 0) return this.drop(reason);
    this.counters[CNT_FRONTEND_PASS]!++;
    return ACT_PASS | (reason << 8);
  }

  /**
   * CNT_SESSION_HIT when entry `e` has not idled out and its slot is live, holds the same backend and
   * belongs to the matched service `svc`; else CNT_SESSION_EXPIRED or CNT_SESSION_STALE.
   */
  private validEntry(e: number, svc: ServiceState, nowMs: number): number {
    const st = this.st;
    if (nowMs - st.lastSeenAt(e) > timeoutFor(this.control.timeoutsMs, this.k[this.kw - 1]!)) {
      return CNT_SESSION_EXPIRED;
    }
    const b = this.control.slots[st.slotAt(e)];
    if (b === null || b === undefined || !b.live || b.service !== svc.index || !st.backendIs(e, b.id)) {
      return CNT_SESSION_STALE;
    }
    return CNT_SESSION_HIT;
  }

  private maglev(svc: ServiceState): number {
    // HASH_SRC_IP hashes the source address words ([src] / [src0..3]), HASH_SESSION every key word
    // (4 / 10); the hash lands in k[kw].
    const k = this.k;
    const kw = this.kw;
    jhash2Into(k, 0, svc.algorithm === ALG_HASH_SRC_IP ? (kw === KEY_WORDS_V4 ? 1 : 4) : kw, 0, k, kw);
    const index = k[kw]! % MAGLEV_SIZE;
    const t = this.trace;
    t[T_HASH] = k[kw]!;
    t[T_INDEX] = index;
    return svc.table[index]!;
  }

  /** ICMP errors: a valid session's backend, else Maglev; writes nothing, nothing to record. */
  private peekBackend(svc: ServiceState, nowMs: number): number {
    this.pending[P_OUTCOME] = 0;
    const e = this.st.findKey(this.k);
    const t = this.trace;
    t[T_ENTRY] = e;
    t[T_SESSION] = e >= 0 ? this.validEntry(e, svc, nowMs) : CNT_SESSION_MISS;
    if (t[T_SESSION] === CNT_SESSION_HIT) return this.st.slotAt(e);
    return this.maglev(svc);
  }

  /**
   * A miss records a session, except a TCP segment that is not a SYN (key[5], set by decide) while the
   * instance does not record those: Maglev alone, counted apart (docs/semantics.md, "Session floods").
   */
  private missOutcome(): number {
    return this.k[this.kw + 1] === 1 && !this.control.recordNonSyn
      ? CNT_SESSION_UNRECORDED
      : CNT_SESSION_MISS;
  }

  /** The backend of the flow; what recording it will do (commit) is left in `pending`. */
  private chooseBackend(svc: ServiceState, nowMs: number): number {
    const st = this.st;
    const e = st.findKey(this.k);
    const p = this.pending;
    p[P_ENTRY] = e;
    p[P_HASH] = st.lastHash;
    p[P_OUTCOME] = e >= 0 ? this.validEntry(e, svc, nowMs) : this.missOutcome();
    const t = this.trace;
    t[T_ENTRY] = e;
    t[T_SESSION] = p[P_OUTCOME]!;
    if (p[P_OUTCOME] === CNT_SESSION_HIT) return st.slotAt(e);
    return this.maglev(svc);
  }

  /** Rule 4: an ARP request for a VIP is answered in place; every other ARP frame is not for a VIP. */
  private arp(frame: Uint8Array, len: number): number {
    const reason = answerArp(frame, len, this.control.vips, this.control.flags);
    if (reason !== 0) return this.notForVip(reason);
    this.pending[P_KIND] = PEND_ARP;
    this.pending[P_LEN] = len;
    return ACT_TX_FRONTEND;
  }

  /** Rules 6'..9' of docs/semantics.md "IPv6" (6b: nd()): as ipv4(), with the key in `key6`. */
  private ipv6(frame: Uint8Array, len: number, nowMs: number): number {
    const l3 = ETH_HLEN;
    if (len < l3 + IP6_HLEN || frame[l3]! >>> 4 !== 6) return this.drop(DROP_IP_MALFORMED);
    const plen = readU16(frame, l3 + IP6_PLEN);
    const end = l3 + IP6_HLEN + plen;
    if (end > len) return this.drop(DROP_IP_MALFORMED);
    const nh = frame[l3 + IP6_NEXT]!;
    if (nh === PROTO_ICMPV6 && plen >= 1 && isNdType(frame[l3 + IP6_HLEN]!)) return this.nd(frame, plen);
    // the addresses go into the key first: the VIP lookup reads the destination there
    const k = this.key6;
    loadAddress(frame, l3 + IP6_SRC, k, K6_SRC);
    loadAddress(frame, l3 + IP6_DST, k, K6_DST);
    const vip = this.control.vips6.groupOf(k, K6_DST);
    if (vip === undefined) return this.notForVip(DROP_NOT_VIP);
    if (!macEquals(frame, ETH_DST, vip.mac)) return this.drop(DROP_DST_MAC);
    this.k = k;
    this.kw = KEY_WORDS_V6;
    this.st = this.sessionTable6;
    const w = this.walk;
    const flow = ipv6FlowKey(frame, l3, nh, end, k, w);
    if (flow > 0) return this.drop(flow);
    const frag = flow === FLOW_FRAGMENT ? fragmentKey6(frame, end, k, w, this.fragments6, nowMs) : 0;
    return this.keyed(vip, flow === FLOW_ICMP_ERROR, frag);
  }

  /**
   * Rule 6b: a Neighbor Solicitation for an IPv6 VIP is answered in place by a Neighbor Advertisement
   * (NA_FRAME_LEN bytes: `outLen`); every other ND message, and a solicitation not answered, is an
   * `ND` drop (passed with CFG_HOST_PASS).
   */
  private nd(frame: Uint8Array, plen: number): number {
    const reason = answerSolicitation(frame, plen, this.control.vips6, this.control.flags);
    if (reason === DROP_TX_FAILED) return this.drop(reason);
    if (reason !== 0) return this.notForVip(reason);
    this.outLen = NA_FRAME_LEN;
    this.pending[P_KIND] = PEND_ND;
    this.pending[P_LEN] = NA_FRAME_LEN;
    return ACT_TX_FRONTEND;
  }

  /** Per-backend counters with their service's name, by service index then ascending id. */
  backendStats(): StatsSnapshot['backends'] {
    return backendRows(this.control, this.backendCounters);
  }

  stats(nowMs?: number): StatsSnapshot {
    const tables = [this.sessionTable, this.sessionTable6];
    const active =
      nowMs === undefined
        ? this.sessionTable.count + this.sessionTable6.count
        : activeSessions(tables, nowMs, this.control.timeoutsMs);
    return statsSnapshot(this.counters, this.tx, tables, active, this.backendStats());
  }

  /**
   * Live sessions of both families, most recently used first (idle-expired entries are left out);
   * IPv6 addresses as RFC 5952 text, ICMPv6 as 'ICMPV6'.
   */
  sessions(limit: number, nowMs: number): SessionEntry[] {
    return sessionRows([this.sessionTable, this.sessionTable6], limit, nowMs, this.control.timeoutsMs);
  }
}
