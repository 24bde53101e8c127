// Explain one flow (issue 11): what a running data plane does with one frame, and why, without doing it.
// Three steps, all pure: the frame is built from the flow a user names (explainFrame, with
// src/packet/build.ts and the VIP's frontend MAC from the control state); a plane decides it without
// recording anything and returns the raw trace (traceOf for a Balancer: the USERSPACE worker's own; the
// XDP plane fills the same trace from its program's test run); describe() turns a trace into the answer
// (the rule of docs/semantics.md that decided, the service matched, the session or the Maglev entry,
// the backend and its MAC, the drop reason, or why a frame went to the kernel: rule 1, one-arm's 1a,
// host_pass), naming services and backends from the control state.
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseMac } from '../core/addr.js';
import {
  ACT_DROP,
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  ACTION_NAMES,
  ALG_HASH_SRC_IP,
  CFG_NO_ARP,
  CNT_SESSION_EXPIRED,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_SESSION_STALE,
  CNT_SESSION_UNRECORDED,
  DROP_ARP,
  DROP_BACKEND_PORT,
  DROP_DST_MAC,
  DROP_ETHERTYPE,
  DROP_ICMP_INNER,
  DROP_ICMP_TYPE,
  DROP_IP_MALFORMED,
  DROP_IPV6_EXT,
  DROP_L4_TRUNCATED,
  DROP_ND,
  DROP_NO_BACKEND,
  DROP_NO_SERVICE,
  DROP_NOT_READY,
  DROP_NOT_VIP,
  DROP_PROTO,
  DROP_REASON_NAMES,
  DROP_TRUNCATED,
  DROP_TX_FAILED,
  DROP_VLAN,
  NA_FRAME_LEN,
  PORT_BACKEND,
  PORT_FRONTEND,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  SLOT_NONE,
  verdictAction,
  verdictReason,
} from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import type { PlaneType } from '../core/model.js';
import {
  arpRequestFrame,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  icmpEchoFrame,
  icmpErrorFrame,
  ipv4,
  quote,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcp,
  tcpFrame,
  toHex,
  udp,
  udpFrame,
} from '../packet/build.js';
import { type Balancer, T_ENTRY, T_HASH, T_INDEX, T_SERVICE, T_SESSION, T_SLOT } from './balancer.js';
import type { ControlState } from './control.js';

export type ExplainProto = 'TCP' | 'UDP' | 'ICMP';

/**
 * The flow to explain, as a user names it. IP: src, dst, proto, sport/dport (TCP, UDP), flags (TCP,
 * default ACK: a segment of an established flow), ICMP type/code (default 8, echo request). An ICMP
 * error (type 3, 11, 12) quotes the flow src:sport -> dst:dport of protocol `inner` (the quoted packet is
 * the VIP's answer to it), sent by `from` (default src). ARP: who_has (the asked address), src (the
 * asker's address, default 0.0.0.0). `mac`: the Ethernet destination (default: the VIP's frontend MAC,
 * broadcast for ARP); `src_mac` the source; `port`: where the frame arrives (default FRONTEND).
 */
export interface ExplainRequest {
  /** An ARP request (the CLI's `explain arp`): who_has is then required. */
  arp?: boolean;
  who_has?: string;
  src?: string;
  dst?: string;
  proto?: ExplainProto;
  sport?: number;
  dport?: number;
  flags?: string;
  type?: number;
  code?: number;
  inner?: ExplainProto;
  from?: string;
  mac?: string;
  src_mac?: string;
  port?: 'FRONTEND' | 'BACKEND';
}

/** What a plane found deciding the frame without recording it (-1: not reached / not consulted). */
export interface ExplainTrace {
  /** action | reason << 8 (src/core/constants.ts). */
  verdict: number;
  /** Matched service index. */
  service: number;
  /** A session entry was found for the key (0/1), -1 when not looked up. */
  entry: number;
  /** CNT_SESSION_* index: HIT, EXPIRED, STALE (an entry found), MISS or UNRECORDED (none). */
  session: number;
  /** Milliseconds since the session's last packet. */
  ageMs: number;
  /** The session's backend id and slot. */
  sessionId: number;
  sessionSlot: number;
  /** Maglev hash and entry index. */
  hash: number;
  index: number;
  /** The slot chosen (SLOT_NONE: empty Maglev entry) and the backend id it held. */
  slot: number;
  backendId: number;
  /** The frame as it would leave (rewritten in place), for a transmit. */
  output: Uint8Array;
}

export interface ExplainResult {
  plane: PlaneType;
  port: 'FRONTEND' | 'BACKEND';
  /** The frame explained, hex. */
  frame: string;
  verdict: string;
  /** The drop reason, for a drop. */
  drop?: string;
  /** The rule of docs/semantics.md that decided ("9a": the service match). */
  rule: string;
  why: string;
  service?: { index: number; name: string; vip: string; proto: string; port: number; algorithm: string };
  session?: { verdict: string; age_ms?: number; backend?: number; slot?: number };
  maglev?: { hash: number; index: number };
  backend?: { service: string; id: number; slot: number; mac: string };
  /** The frame as it would leave, hex (transmit verdicts). */
  output?: string;
}

const PROTO_NUM: Record<ExplainProto, number> = { TCP: PROTO_TCP, UDP: PROTO_UDP, ICMP: PROTO_ICMP };
const PROTO_TEXT: Record<number, string> = { 0: 'any', 1: 'ICMP', 6: 'TCP', 17: 'UDP' };
const FLAG_BITS: Record<string, number> = {
  FIN: TCP_FIN,
  SYN: TCP_SYN,
  RST: TCP_RST,
  PSH: TCP_PSH,
  ACK: TCP_ACK,
};
const CLIENT_MAC = '02:00:00:00:00:01';
const UNKNOWN_MAC = '02:00:00:00:00:00';

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `explain needs ${what}`);
  return v;
}

function tcpFlags(text: string | undefined): number {
  if (text === undefined) return TCP_ACK;
  let bits = 0;
  for (const f of text.toUpperCase().split(/[,|+]/)) {
    const b = FLAG_BITS[f.trim()];
    if (b === undefined)
      throw new LbdsrError('LBDSR_BAD_VALUE', `unknown TCP flag '${f}' (FIN, SYN, RST, PSH, ACK)`);
    bits |= b;
  }
  return bits;
}

/** The frontend MAC of the service(s) of `vip`, when it is a VIP in the data plane. */
function vipMac(control: ControlState, vip: number): Uint8Array | undefined {
  for (const s of control.services.values()) if (s.vip === vip) return s.mac;
  return undefined;
}

/** The L4 bytes the VIP sent back to the flow src:sport -> dst:dport (what an ICMP error quotes). */
function quotedAnswer(r: ExplainRequest, inner: number): Uint8Array {
  const sport = need(r.sport, 'sport');
  const dport = need(r.dport, 'dport');
  const l4 =
    inner === PROTO_TCP
      ? tcp({ sport: dport, dport: sport, flags: TCP_ACK })
      : inner === PROTO_UDP
        ? udp({ sport: dport, dport: sport })
        : new Uint8Array([ICMP_ECHO_REPLY, 0, 0, 0, 0x42, 0x42, 0, 1]);
  return quote(ipv4({ src: need(r.dst, 'dst'), dst: need(r.src, 'src'), proto: inner, payload: l4 }));
}

/** The frame a request names, and the port it arrives on. */
export function explainFrame(r: ExplainRequest, control: ControlState): { frame: Uint8Array; port: number } {
  const port = r.port === 'BACKEND' ? PORT_BACKEND : PORT_FRONTEND;
  const srcMac = r.src_mac ?? CLIENT_MAC;
  if (r.arp === true) need(r.who_has, 'who_has for ARP');
  if (r.who_has !== undefined) {
    const frame = arpRequestFrame({
      senderMac: srcMac,
      senderIp: r.src ?? '0.0.0.0',
      targetIp: r.who_has,
      ...(r.mac === undefined ? {} : { ethDst: r.mac }),
    });
    return { frame, port };
  }
  const dst = need(r.dst, 'dst (or who_has for ARP)');
  const ethDst = r.mac ?? vipMac(control, parseIpv4(dst)) ?? parseMac(UNKNOWN_MAC);
  const a = { ethDst, ethSrc: srcMac, src: need(r.src, 'src'), dst };
  const proto = need(r.proto, 'proto');
  if (proto === 'TCP') {
    const t = { sport: need(r.sport, 'sport'), dport: need(r.dport, 'dport'), flags: tcpFlags(r.flags) };
    return { frame: tcpFrame(a, t), port };
  }
  if (proto === 'UDP')
    return { frame: udpFrame(a, { sport: need(r.sport, 'sport'), dport: need(r.dport, 'dport') }), port };
  const type = r.type ?? ICMP_ECHO_REQUEST;
  if (type === 3 || type === 11 || type === 12) {
    const inner = quotedAnswer(r, PROTO_NUM[r.inner ?? 'TCP']);
    return {
      frame: icmpErrorFrame({ ...a, src: r.from ?? a.src }, { type, code: r.code ?? 0, inner }),
      port,
    };
  }
  return { frame: icmpEchoFrame(a, { type, code: r.code ?? 0 }), port };
}

/** An IPv6 frame (EtherType 0x86dd): its sessions, VIP and answer are IPv6 ones. */
function frameIsV6(frame: Uint8Array): boolean {
  return frame.length >= 14 && frame[12] === 0x86 && frame[13] === 0xdd;
}

/**
 * A Balancer's decision of `frame` without any effect (Balancer.explain), as a trace. `nowMs` on the
 * clock the Balancer's sessions were stamped with.
 */
export function traceOf(b: Balancer, frame: Uint8Array, port: number, nowMs: number): ExplainTrace {
  // room for a Neighbor Advertisement, longer than the solicitation it answers (Balancer.outLen)
  const buf = new Uint8Array(Math.max(frame.length, NA_FRAME_LEN));
  buf.set(frame);
  const verdict = b.explain(buf, frame.length, port, nowMs);
  const out = buf.slice(0, verdictAction(verdict) === ACT_DROP ? frame.length : b.outLen);
  const t = b.trace;
  const e = t[T_ENTRY]!;
  // an IPv6 frame's session is in the IPv6 table
  const v6 = frameIsV6(frame);
  const st = v6 ? b.sessionTable6 : b.sessionTable;
  const slot = t[T_SLOT]!;
  const backend = slot >= 0 && slot !== SLOT_NONE ? b.control.slots[slot] : null;
  return {
    verdict,
    service: t[T_SERVICE]!,
    entry: t[T_SESSION]! < 0 ? -1 : e >= 0 ? 1 : 0,
    session: t[T_SESSION]!,
    ageMs: e >= 0 ? Math.max(0, nowMs - st.lastSeenAt(e)) : -1,
    sessionId: e >= 0 ? st.backendIdAt(e) : -1,
    sessionSlot: e >= 0 ? st.slotAt(e) : -1,
    hash: t[T_HASH]!,
    index: t[T_INDEX]!,
    slot,
    backendId: backend ? backend.id : -1,
    output: out,
  };
}

/** The rule of docs/semantics.md each drop reason comes from, and why. */
const DROP_RULES: Record<number, [string, string]> = {
  [DROP_BACKEND_PORT]: [
    '1',
    'on the BACKEND port only ARP and frames to the probe MAC are passed to the kernel',
  ],
  [DROP_TRUNCATED]: ['2', 'shorter than an Ethernet header'],
  [DROP_VLAN]: ['3', 'VLAN-tagged frames are not balanced'],
  [DROP_ARP]: ['4', 'not an ARP request for a VIP sent to broadcast or to the VIP’s MAC'],
  [DROP_ETHERTYPE]: ['5', 'neither ARP nor IPv4'],
  [DROP_IP_MALFORMED]: ['6', 'malformed IPv4 header'],
  [DROP_NOT_VIP]: ['7', 'the destination address is not a VIP'],
  [DROP_DST_MAC]: ['8', 'the Ethernet destination is not the VIP’s frontend MAC'],
  [DROP_PROTO]: ['9', 'protocol other than TCP, UDP, ICMP'],
  [DROP_ICMP_TYPE]: ['9', 'ICMP type other than echo and the errors 3, 11, 12'],
  [DROP_ICMP_INNER]: ['9', 'the ICMP error quotes no flow of a VIP'],
  [DROP_L4_TRUNCATED]: ['9', 'the L4 header is truncated'],
  [DROP_NO_SERVICE]: ['9a', 'no service of the VIP matches the protocol and port'],
  [DROP_NOT_READY]: ['10', 'the backend port’s MAC is not known yet'],
  [DROP_NO_BACKEND]: ['11', 'the Maglev entry is empty: the service has no serving backend'],
  [DROP_TX_FAILED]: ['12', 'the port could not take the frame'],
  [DROP_ND]: [
    '6b',
    'IPv6 Neighbor Discovery not answered: not a valid solicitation for a VIP asked the right way',
  ],
  [DROP_IPV6_EXT]: [
    "9'",
    'the IPv6 extension headers are more than 8, cut short, or hold two fragment headers',
  ],
};

const SESSION_TEXT: Record<number, string> = {
  [CNT_SESSION_HIT]: 'HIT',
  [CNT_SESSION_MISS]: 'MISS',
  [CNT_SESSION_UNRECORDED]: 'UNRECORDED',
  [CNT_SESSION_EXPIRED]: 'EXPIRED',
  [CNT_SESSION_STALE]: 'STALE',
};

function sessionPart(t: ExplainTrace): ExplainResult['session'] {
  if (t.session < 0) return undefined;
  const verdict = SESSION_TEXT[t.session] ?? String(t.session);
  if (t.entry !== 1) return { verdict };
  return { verdict, age_ms: Math.round(t.ageMs), backend: t.sessionId, slot: t.sessionSlot };
}

function whyTransmit(t: ExplainTrace, icmpError: boolean): string {
  const s = SESSION_TEXT[t.session];
  if (s === 'HIT') return icmpError ? 'ICMP error: follows its flow’s session (read only)' : 'session hit';
  const via = t.index >= 0 ? ` -> Maglev entry ${t.index}` : '';
  if (icmpError) return `ICMP error: no valid session${via} (read only, nothing recorded)`;
  const what: Record<string, string> = {
    MISS: 'no session: Maglev, session recorded',
    UNRECORDED: 'no session, TCP not a SYN: Maglev, not recorded (record_non_syn off)',
    EXPIRED: 'session idle-expired: re-balanced by Maglev',
    STALE: 'session stale (backend gone, not live, or of another service): re-balanced by Maglev',
  };
  return `${what[s ?? ''] ?? 'Maglev'}${via}`;
}

/** The answer for `trace` of `frame`, naming services and backends from `control` (the plane's). */
export function describe(
  trace: ExplainTrace,
  frame: Uint8Array,
  port: number,
  control: ControlState,
  plane: PlaneType,
): ExplainResult {
  const action = verdictAction(trace.verdict);
  const reason = verdictReason(trace.verdict);
  const v6 = frameIsV6(frame);
  const out: ExplainResult = {
    plane,
    port: port === PORT_BACKEND ? 'BACKEND' : 'FRONTEND',
    frame: toHex(frame),
    verdict: ACTION_NAMES[action] ?? String(action),
    rule: '',
    why: '',
  };
  const svc = trace.service >= 0 ? control.services.get(trace.service) : undefined;
  if (trace.service >= 0) {
    out.service = {
      index: trace.service,
      name: control.serviceNames[trace.service] ?? `#${trace.service}`,
      vip: svc ? (v6 && svc.vip6 ? formatIpv6(svc.vip6) : formatIpv4(svc.vip)) : '?',
      proto: svc ? (PROTO_TEXT[svc.proto] ?? String(svc.proto)) : '?',
      port: svc ? svc.port : 0,
      algorithm: svc && svc.algorithm === ALG_HASH_SRC_IP ? 'HASH_SRC_IP' : 'HASH_SESSION',
    };
  }
  const session = sessionPart(trace);
  if (session) out.session = session;
  if (trace.index >= 0) out.maglev = { hash: trace.hash >>> 0, index: trace.index };
  if (action === ACT_PASS) {
    passPart(out, reason, port, frame, control);
  } else if (action === ACT_TX_FRONTEND && v6) {
    out.rule = '6b';
    out.why = 'Neighbor Solicitation for an IPv6 VIP: answered by an advertisement with its frontend MAC';
    out.output = toHex(trace.output);
  } else if (action === ACT_TX_FRONTEND) {
    out.rule = '4';
    out.why = 'ARP request for a VIP: answered with its frontend MAC';
    out.output = toHex(trace.output);
  } else if (action === ACT_TX_BACKEND) {
    out.rule = '11';
    const icmpError = frame.length > 34 && frame[23] === PROTO_ICMP && ![0, 8].includes(frame[34]!);
    out.why = whyTransmit(trace, icmpError);
    out.backend = {
      service: out.service?.name ?? '?',
      id: trace.backendId,
      slot: trace.slot,
      mac: formatMac(trace.output, 0),
    };
    out.output = toHex(trace.output);
  } else {
    const [rule, why] = DROP_RULES[reason] ?? ['?', ''];
    out.drop = DROP_REASON_NAMES[reason] ?? String(reason);
    out.rule = rule;
    out.why = noArp(reason, frame, control) ?? why;
  }
  return out;
}

/**
 * Why rule 4 did not answer an ARP request for a VIP that was asked the right way: CFG_NO_ARP (mode
 * ROUTED, or standby). Undefined when that is not the reason.
 */
function noArp(reason: number, frame: Uint8Array, control: ControlState): string | undefined {
  if (reason !== DROP_ARP || (control.flags & CFG_NO_ARP) === 0 || frame.length < 42) return undefined;
  const target = ((frame[38]! << 24) | (frame[39]! << 16) | (frame[40]! << 8) | frame[41]!) >>> 0;
  if (frame[20] !== 0 || frame[21] !== 1 || vipMac(control, target) === undefined) return undefined;
  return 'ARP for a VIP is not answered in mode ROUTED or on a standby node (CFG_NO_ARP)';
}

/**
 * A PASS: rule 1 (BACKEND port), rule 1a (one-arm: to the probe MAC), or host_pass of a frame that is
 * not for a VIP, whose rule rides in the verdict's reason (docs/semantics.md, "Frontend modes").
 */
function passPart(
  out: ExplainResult,
  reason: number,
  port: number,
  frame: Uint8Array,
  control: ControlState,
): void {
  if (port === PORT_BACKEND) {
    out.rule = '1';
    out.why = 'BACKEND port: ARP or a frame to the probe MAC, left to the kernel';
  } else if (reason === 0) {
    out.rule = '1a';
    out.why = 'one-arm: a frame to the probe MAC (a health-probe or ARP answer), left to the kernel';
  } else {
    const [rule, why] = DROP_RULES[reason] ?? ['?', ''];
    out.rule = rule;
    out.why = `${noArp(reason, frame, control) ?? why}: passed to the host's stack (host_pass)`;
  }
}
