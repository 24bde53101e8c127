// The IPv6 frames of an explain request (POST /lbdsr/{name}/explain; docs/api.md, "Explain"): the
// sibling of explainFrame (explain.ts) for a request whose addresses are IPv6, built with
// src/packet/build6.ts. A flow (TCP, UDP: src, dst, ports, flags), an ICMPv6 echo (proto ICMP, type 128
// by default), an ICMPv6 error (type 1..4: it quotes the VIP's answer to the flow src:sport ->
// dst:dport, sent by `from`), or, with an IPv6 who_has, a Neighbor Solicitation for that address from
// `src` (default: the link-local address of `src_mac`) to its solicited-node multicast address. The
// Ethernet destination defaults to the frontend MAC of the IPv6 VIP's services, as for IPv4. Pure.
import { formatIpv6, linkLocalOf, looksIpv6, parseIpv6, parseMac } from '../core/addr.js';
import { PORT_BACKEND, PORT_FRONTEND, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { TCP_ACK } from '../packet/build.js';
import {
  ICMP6_DEST_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_PARAM_PROBLEM,
  icmp6Echo,
  icmp6EchoFrame,
  icmp6ErrorFrame,
  ipv6Packet,
  nsFrame,
  quote6,
  tcp6,
  tcp6Frame,
  udp6,
  udp6Frame,
} from '../packet/build6.js';
import type { ControlState } from './control.js';
import { type ExplainRequest, need, tcpFlags } from './explain.js';

const CLIENT_MAC = '02:00:00:00:00:01';
const UNKNOWN_MAC = '02:00:00:00:00:00';

/** Whether `r` names IPv6 (its dst or who_has): explainFrame6 builds its frame. */
export function isIpv6Request(r: ExplainRequest): boolean {
  return looksIpv6(r.who_has ?? r.dst ?? '');
}

/** IPv6 address text of field `what`; both addresses of a request are of one family. */
function v6(text: string, what: string): Uint8Array {
  if (!looksIpv6(text)) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `explain: ${what} ${text} is IPv4 but the request is IPv6`);
  }
  return parseIpv6(text);
}

/** The frontend MAC of the service(s) of IPv6 VIP `vip`, when it is one in the data plane. */
function vip6Mac(control: ControlState, vip: Uint8Array): Uint8Array | undefined {
  const text = formatIpv6(vip);
  for (const s of control.services.values()) if (s.vip6 && formatIpv6(s.vip6) === text) return s.mac;
  return undefined;
}

/** What the VIP sent back to the flow src:sport -> dst:dport (what an ICMPv6 error quotes). */
function quotedAnswer(r: ExplainRequest, src: Uint8Array, dst: Uint8Array, inner: number): Uint8Array {
  const answer = { src: dst, dst: src };
  if (inner === PROTO_ICMPV6) {
    return quote6(ipv6Packet(answer, inner, icmp6Echo(answer, { type: ICMP6_ECHO_REPLY })));
  }
  const ports = { sport: need(r.dport, 'dport'), dport: need(r.sport, 'sport') };
  const l4 = inner === PROTO_TCP ? tcp6(answer, { ...ports, flags: TCP_ACK }) : udp6(answer, ports);
  return quote6(ipv6Packet(answer, inner, l4));
}

/** The frame of an IPv6 request, and the port it arrives on. */
export function explainFrame6(r: ExplainRequest, control: ControlState): { frame: Uint8Array; port: number } {
  const port = r.port === 'BACKEND' ? PORT_BACKEND : PORT_FRONTEND;
  const srcMac = r.src_mac ?? CLIENT_MAC;
  if (r.who_has !== undefined) {
    const src = r.src === undefined ? linkLocalOf(parseMac(srcMac)) : v6(r.src, 'src');
    const frame = nsFrame({
      srcMac,
      src,
      target: v6(r.who_has, 'who_has'),
      ...(r.mac === undefined ? {} : { dstMac: r.mac }),
    });
    return { frame, port };
  }
  const dst = v6(need(r.dst, 'dst'), 'dst');
  const src = v6(need(r.src, 'src'), 'src');
  const ethDst = r.mac ?? vip6Mac(control, dst) ?? UNKNOWN_MAC;
  const a = { ethDst, ethSrc: srcMac, src, dst };
  const proto = need(r.proto, 'proto');
  if (proto === 'TCP') {
    const t = { sport: need(r.sport, 'sport'), dport: need(r.dport, 'dport'), flags: tcpFlags(r.flags) };
    return { frame: tcp6Frame(a, t), port };
  }
  if (proto === 'UDP')
    return { frame: udp6Frame(a, { sport: need(r.sport, 'sport'), dport: need(r.dport, 'dport') }), port };
  const type = r.type ?? ICMP6_ECHO_REQUEST;
  if (type >= ICMP6_DEST_UNREACH && type <= ICMP6_PARAM_PROBLEM) {
    const innerProto = r.inner === 'UDP' ? PROTO_UDP : r.inner === 'ICMP' ? PROTO_ICMPV6 : PROTO_TCP;
    const inner = quotedAnswer(r, src, dst, innerProto);
    const from = r.from === undefined ? src : v6(r.from, 'from');
    return { frame: icmp6ErrorFrame({ ...a, src: from }, { type, code: r.code ?? 0, inner }), port };
  }
  return { frame: icmp6EchoFrame(a, { type, code: r.code ?? 0 }), port };
}
