// The IPv6 scenarios of the corpus (docs/semantics.md, "IPv6"): Neighbor Discovery for the VIPs (rule
// 6b), flows of both algorithms and dual-stack services sharing one Maglev table, extension-header chains
// (9'), fragments with the IPv6 fragment table, every ICMPv6 error type and every ICMP_INNER case,
// malformed frames, host_pass / ROUTED / standby, and the IPv6 session table's own LRU bound. Written with
// the builder of generate.ts, whose IPv6 claims the reference (test/lib/reference6.ts) re-derives; they
// run after the modes' scenarios (files 32 on).
import type { BackendConfig, ServiceConfig } from '../../src/core/model.js';
import { concat, ethernet, TCP_ACK, TCP_SYN, tcpFrame } from '../../src/packet/build.js';
import {
  type ExtHeader,
  type Frame6Addressing,
  ICMP6_DEST_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAM_PROBLEM,
  ICMP6_TIME_EXCEEDED,
  type Ipv6Extra,
  icmp6,
  icmp6Echo,
  icmp6EchoFrame,
  icmp6ErrorFrame,
  icmp6Frame,
  ipv6Frame,
  ipv6Packet,
  NA_FLAG_OVERRIDE,
  NA_FLAG_SOLICITED,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_REDIRECT,
  ND_ROUTER_ADVERT,
  ND_ROUTER_SOLICIT,
  NH_AH,
  NH_DSTOPTS,
  NH_ESP,
  NH_FRAGMENT,
  NH_HOPOPTS,
  NH_NONE,
  NH_ROUTING,
  NH_TCP,
  NH_UDP,
  naFrame,
  nsFrame,
  quote6,
  tcp6,
  tcp6Frame,
  udp6,
  udp6Frame,
} from '../../src/packet/build6.js';
import type { Vector, VectorConfig } from '../lib/vectors.js';
import { BP_MAC, CLIENT_MAC, FE_MAC, fe, key, key6, POOL3, pattern, VIP, VIP6, vb } from './generate.js';

const CLIENT_LL = 'fe80::5054:ff:fe00:1';
const C6 = ['2001:db8::1', '2001:db8::2', '2001:db8:1::3', '2001:db8:ffff::9'];
const ROUTER6 = '2001:db8:ffff::1';
const V6ONLY = 'fd00::200';
const V6ONLY_MAC = '02:00:00:00:06:02';
const POOL_B: BackendConfig[] = [
  { id: 11, mac: '0b:0b:0b:0b:0b:0b' },
  { id: 12, mac: '0c:0c:0c:0c:0c:0c' },
];

/** The default service dual-stack (VIP and VIP6), the seed's pool. */
const BASE6: VectorConfig = {
  frontend: { vip: VIP, vip6: VIP6, mac: FE_MAC },
  algorithm: 'HASH_SESSION',
  backend: { pool: POOL3 },
};

/** An IPv6-only service on V6ONLY with its own frontend MAC: TCP 80 to POOL_B. */
const V6ONLY_WEB: ServiceConfig = {
  name: 'web6',
  vip: V6ONLY,
  protocol: 'TCP',
  port: 80,
  mac: V6ONLY_MAC,
  backend: { pool: POOL_B },
};

/** Client `src` to `dst` (default VIP6) at `ethDst` (default the frontend MAC). */
function fe6(src: string, ethDst = FE_MAC, dst = VIP6): Frame6Addressing {
  return { ethDst, ethSrc: CLIENT_MAC, src, dst };
}

/** The solicited advertisement answering `ns` for `target` from `mac` (built by build6.ts). */
function answer(ns: Uint8Array, target: string, mac: string, src = CLIENT_LL): Uint8Array {
  return naFrame({
    srcMac: mac,
    dstMac: ns.subarray(6, 12),
    src: target,
    dst: src,
    target,
    flags: NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
    tllaoMac: mac,
  });
}

const ns = (o: Partial<Parameters<typeof nsFrame>[0]> = {}) =>
  nsFrame({ srcMac: CLIENT_MAC, src: CLIENT_LL, target: VIP6, ...o });

// -------------------------------------------------------------------------------------------------

function ndVector(): Vector {
  const v = vb(
    'ipv6-nd',
    'Neighbor Discovery for IPv6 VIPs (rule 6b): solicitations answered with an 86-byte advertisement from the VIP’s frontend MAC, every invalid or foreign ND message dropped ND, no answer under standby; ND passed on the BACKEND port (rule 1)',
    { ...BASE6, services: [V6ONLY_WEB] },
  );
  const multicast = ns();
  v.ndReply(
    'NS for VIP6 to its solicited-node address, with SLLAO',
    multicast,
    answer(multicast, VIP6, FE_MAC),
  );
  const nud = ns({ dst: VIP6, dstMac: FE_MAC });
  v.ndReply('NS unicast to VIP6 at the frontend MAC (reachability)', nud, answer(nud, VIP6, FE_MAC));
  const global = ns({ src: C6[0]! });
  v.ndReply('NS from a global address', global, answer(global, VIP6, FE_MAC, C6[0]!));
  const bare = ns({ sllao: false });
  v.ndReply('NS without SLLAO (78 bytes): the advertisement is 86', bare, answer(bare, VIP6, FE_MAC));
  const nonce = ns({ moreOptions: concat(Uint8Array.of(14, 1), pattern(6)) });
  v.ndReply(
    'NS with a nonce option after the SLLAO (94 bytes): cut to 86',
    nonce,
    answer(nonce, VIP6, FE_MAC),
  );
  const padded = concat(ns(), new Uint8Array(10));
  v.ndReply('NS with Ethernet padding after its payload', padded, answer(padded, VIP6, FE_MAC));
  const other = ns({ target: V6ONLY });
  v.ndReply('NS for the IPv6-only service’s VIP: its own MAC', other, answer(other, V6ONLY, V6ONLY_MAC));
  const snToMac = ns({ dstMac: FE_MAC });
  v.ndReply(
    'NS to the solicited-node address but at the frontend MAC',
    snToMac,
    answer(snToMac, VIP6, FE_MAC),
  );
  const maxLen = ns({
    moreOptions: new Uint8Array(128 - 32).fill(0).map((_, i) => (i === 0 ? 14 : i === 1 ? 12 : 0)),
  });
  v.ndReply('NS of exactly 128 payload bytes', maxLen, answer(maxLen, VIP6, FE_MAC));

  v.drop('hop limit 254', ns({ hopLimit: 254 }), 'ND');
  v.drop('code 1', ns({ code: 1 }), 'ND');
  v.drop('wrong checksum', ns({ checksum: 0x1234 }), 'ND');
  const short = icmp6Frame(
    { ...fe6(CLIENT_LL, '33:33:ff:00:01:00', 'ff02::1:ff00:100') },
    { type: ND_NEIGHBOR_SOLICIT, body: pattern(12) },
    { hopLimit: 255 },
  );
  v.drop('payload length 20 (< 24)', short, 'ND');
  v.drop(
    'payload length 136 (> 128)',
    ns({ moreOptions: concat(Uint8Array.of(14, 13), new Uint8Array(102)) }),
    'ND',
  );
  v.drop('payload length 36 (not a multiple of 8)', ns({ moreOptions: new Uint8Array(4) }), 'ND');
  v.drop('duplicate address detection (source ::)', ns({ src: '::', sllao: false }), 'ND');
  v.drop('target not a VIP', ns({ target: 'fd00::101' }), 'ND');
  v.drop('target is the IPv4-mapped VIP', ns({ target: '::ffff:10.0.0.100' }), 'ND');
  v.drop('to all nodes (ff02::1), not to the target’s solicited-node address', ns({ dst: 'ff02::1' }), 'ND');
  v.drop(
    'to another solicited-node address',
    ns({ dst: 'ff02::1:ff00:101', dstMac: '33:33:ff:00:01:00' }),
    'ND',
  );
  v.drop('to the solicited-node address at a broadcast MAC', ns({ dstMac: 'ff:ff:ff:ff:ff:ff' }), 'ND');
  v.drop('to the solicited-node address at another group MAC', ns({ dstMac: '33:33:ff:00:01:01' }), 'ND');
  v.drop('unicast to VIP6 at the other service’s MAC', ns({ dst: VIP6, dstMac: V6ONLY_MAC }), 'ND');
  const a = fe6(CLIENT_LL, '33:33:00:00:00:01', 'ff02::1');
  v.drop(
    'a Neighbor Advertisement for VIP6',
    naFrame({
      srcMac: CLIENT_MAC,
      dstMac: FE_MAC,
      src: CLIENT_LL,
      dst: VIP6,
      target: CLIENT_LL,
      flags: 0x60,
    }),
    'ND',
  );
  const rs = icmp6Frame(
    { ...a, dst: 'ff02::2', ethDst: '33:33:00:00:00:02' },
    { type: ND_ROUTER_SOLICIT },
    { hopLimit: 255 },
  );
  v.drop('a router solicitation', rs, 'ND');
  v.drop(
    'a router advertisement',
    icmp6Frame(a, { type: ND_ROUTER_ADVERT, body: new Uint8Array(8) }, { hopLimit: 255 }),
    'ND',
  );
  v.drop(
    'a redirect to VIP6',
    icmp6Frame(fe6(CLIENT_LL), { type: ND_REDIRECT, body: new Uint8Array(32) }, { hopLimit: 255 }),
    'ND',
  );
  v.drop(
    'an ND message whose payload is only its type byte',
    icmp6Frame(a, { type: ND_ROUTER_SOLICIT }, { hopLimit: 255, payloadLength: 1 }),
    'ND',
  );
  v.drop(
    'an NS behind a hop-by-hop header is not ND by rule 6b: to a solicited-node address, NOT_VIP',
    ipv6Frame(multicastAddr(), 58, multicast.slice(54), { exts: [{ kind: NH_HOPOPTS }], hopLimit: 255 }),
    'NOT_VIP',
  );
  v.drop(
    "an NS behind a hop-by-hop header to VIP6 itself: ICMP_TYPE (9')",
    ipv6Frame(fe6(CLIENT_LL), 58, nud.slice(54), { exts: [{ kind: NH_HOPOPTS }], hopLimit: 255 }),
    'ICMP_TYPE',
  );
  v.drop(
    'an MLD report to VIP6: ICMP_TYPE',
    icmp6Frame(fe6(CLIENT_LL), { type: 143, body: pattern(8) }),
    'ICMP_TYPE',
  );
  // Rule 1: ND of the BACKEND port's segment is the host's.
  v.pass('an NS on the BACKEND port: left to the kernel', ns({ target: 'fd00::21' }));
  v.pass(
    'an NA on the BACKEND port: left to the kernel',
    naFrame({
      srcMac: '01:01:01:01:01:01',
      dstMac: BP_MAC,
      src: 'fd00::21',
      dst: CLIENT_LL,
      target: 'fd00::21',
      flags: 0x60,
      tllaoMac: '01:01:01:01:01:01',
    }),
  );
  v.pass(
    'a router advertisement on the BACKEND port',
    icmp6Frame(a, { type: ND_ROUTER_ADVERT, body: new Uint8Array(8) }, { hopLimit: 255 }),
  );
  v.drop('ICMPv6 echo on the BACKEND port', icmp6EchoFrame(fe6(C6[0]!)), 'BACKEND_PORT', 'BACKEND');
  v.drop(
    'TCP over IPv6 on the BACKEND port',
    tcp6Frame(fe6(C6[0]!), { sport: 1, dport: 80 }),
    'BACKEND_PORT',
    'BACKEND',
  );
  v.drop('54 bytes with next header 58: too short for rule 1', ns().slice(0, 54), 'BACKEND_PORT', 'BACKEND');
  v.reconfigure({ standby: true });
  v.drop('standby: an NS for VIP6 is not answered', ns(), 'ND');
  v.reconfigure({ standby: false });
  v.ndReply('active again: answered', multicast, answer(multicast, VIP6, FE_MAC));
  return v.build(false);
}

function multicastAddr(): Frame6Addressing {
  return fe6(CLIENT_LL, '33:33:ff:00:01:00', 'ff02::1:ff00:100');
}

function flowsVector(): Vector {
  const v = vb(
    'ipv6-flows',
    "IPv6 flows (rules 9', 9a', 11): TCP, UDP and ICMPv6 echo keyed by 128-bit addresses, sessions of their own table, HASH_SESSION then HASH_SRC_IP over the 10-word / 4-word hash input, a dual-stack service sharing one Maglev table and pool, services matched on an IPv6 VIP (ICMP matches ICMPv6), NOT_VIP and DST_MAC",
    {
      ...BASE6,
      services: [
        V6ONLY_WEB,
        {
          name: 'ping6',
          vip: V6ONLY,
          protocol: 'ICMP',
          mac: V6ONLY_MAC,
          backend: { pool: [{ id: 13, mac: '0d:0d:0d:0d:0d:0d' }] },
        },
      ],
    },
  );
  const syn = (c: string, sp: number, dp = 80, extra: Ipv6Extra = {}) =>
    tcp6Frame(fe6(c), { sport: sp, dport: dp, flags: TCP_SYN }, extra);
  const ack = (c: string, sp: number, dp = 80) => tcp6Frame(fe6(c), { sport: sp, dport: dp, flags: TCP_ACK });
  const s0 = v.balanced('TCP SYN client 1', syn(C6[0]!, 43210), key6(C6[0]!, 43210, 80, 6));
  v.balanced('its ACK: a hit', ack(C6[0]!, 43210), key6(C6[0]!, 43210, 80, 6));
  v.also({ sameBackendAs: s0 });
  for (let i = 1; i < 4; i++)
    v.balanced(`TCP SYN client ${i + 1}`, syn(C6[i]!, 40000 + i), key6(C6[i]!, 40000 + i, 80, 6));
  for (let p = 50000; p < 50006; p++)
    v.balanced(`TCP SYN client 1 port ${p}`, syn(C6[0]!, p, 443), key6(C6[0]!, p, 443, 6));
  v.balanced(
    'UDP',
    udp6Frame(fe6(C6[1]!), { sport: 5353, dport: 53, payload: pattern(20) }),
    key6(C6[1]!, 5353, 53, 17),
  );
  v.balanced(
    'UDP again: a hit',
    udp6Frame(fe6(C6[1]!), { sport: 5353, dport: 53 }),
    key6(C6[1]!, 5353, 53, 17),
  );
  const e0 = v.balanced(
    'ICMPv6 echo request',
    icmp6EchoFrame(fe6(C6[2]!), { id: 1, seq: 1 }),
    key6(C6[2]!, 0, 0, 58),
  );
  v.balanced(
    'echo request with another id: the same key',
    icmp6EchoFrame(fe6(C6[2]!), { id: 2 }),
    key6(C6[2]!, 0, 0, 58),
  );
  v.also({ sameBackendAs: e0 });
  v.balanced(
    'an echo reply to the VIP',
    icmp6EchoFrame(fe6(C6[3]!), { type: ICMP6_ECHO_REPLY }),
    key6(C6[3]!, 0, 0, 58),
  );
  v.balanced('a TCP ACK of no session: Maglev, unrecorded', ack(C6[3]!, 41111), key6(C6[3]!, 41111, 80, 6));
  v.balanced(
    'Ethernet padding after the payload length is left as it is',
    ipv6Frame(fe6(C6[0]!), NH_UDP, udp6(fe6(C6[0]!), { sport: 7, dport: 7 }), {}, 12),
    key6(C6[0]!, 7, 7, 17),
  );
  v.balanced(
    'IPv4 to the same dual-stack service',
    tcpFrame(fe('10.0.0.1'), { sport: 43210, dport: 80 }),
    key('10.0.0.1', 43210, 80, 6),
  );
  // The IPv6-only service: TCP 80 to its pool, ICMPv6 to the ICMP service, the rest NO_SERVICE.
  v.balanced(
    'TCP 80 to the IPv6-only service',
    tcp6Frame(fe6(C6[0]!, V6ONLY_MAC, V6ONLY), { sport: 1000, dport: 80 }),
    key6(C6[0]!, 1000, 80, 6, V6ONLY),
  );
  v.balanced(
    'ICMPv6 echo to it: the ICMP service',
    icmp6EchoFrame(fe6(C6[0]!, V6ONLY_MAC, V6ONLY)),
    key6(C6[0]!, 0, 0, 58, V6ONLY),
  );
  v.also({ backend: 13 });
  v.drop(
    'TCP 443 to it: no service',
    tcp6Frame(fe6(C6[0]!, V6ONLY_MAC, V6ONLY), { sport: 1000, dport: 443 }),
    'NO_SERVICE',
  );
  v.drop(
    'UDP to it: no service',
    udp6Frame(fe6(C6[0]!, V6ONLY_MAC, V6ONLY), { sport: 1000, dport: 80 }),
    'NO_SERVICE',
  );
  v.drop(
    'TCP to VIP6 at the other service’s MAC',
    tcp6Frame(fe6(C6[0]!, V6ONLY_MAC), { sport: 1, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'TCP to VIP6 at a broadcast MAC',
    tcp6Frame(fe6(C6[0]!, 'ff:ff:ff:ff:ff:ff'), { sport: 1, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'TCP to another IPv6 address',
    tcp6Frame(fe6(C6[0]!, FE_MAC, 'fd00::101'), { sport: 1, dport: 80 }),
    'NOT_VIP',
  );
  v.drop(
    'TCP to the IPv4-mapped VIP',
    tcp6Frame(fe6(C6[0]!, FE_MAC, '::ffff:10.0.0.100'), { sport: 1, dport: 80 }),
    'NOT_VIP',
  );
  v.drop(
    'TCP from the VIP to a client (a DSR answer flooded back)',
    tcp6Frame({ ...fe6(VIP6, FE_MAC, C6[0]!) }, { sport: 80, dport: 43210 }),
    'NOT_VIP',
  );
  // HASH_SRC_IP: every flow of a client goes to one backend, both families of the service share the table.
  v.reconfigure({ algorithm: 'HASH_SRC_IP' });
  const h = v.balanced('HASH_SRC_IP: a new flow of client 4', syn(C6[3]!, 45000), key6(C6[3]!, 45000, 80, 6));
  for (let p = 45001; p < 45004; p++) {
    v.balanced(
      `HASH_SRC_IP: another port (${p}) of client 4, the same backend`,
      syn(C6[3]!, p, 8080),
      key6(C6[3]!, p, 8080, 6),
    );
    v.also({ sameBackendAs: h });
  }
  v.balanced(
    'HASH_SRC_IP: UDP of client 4, the same backend',
    udp6Frame(fe6(C6[3]!), { sport: 9, dport: 9 }),
    key6(C6[3]!, 9, 9, 17),
  );
  v.also({ sameBackendAs: h });
  v.balanced('the session of client 1 still holds', ack(C6[0]!, 43210), key6(C6[0]!, 43210, 80, 6));
  v.also({ sameBackendAs: s0 });
  // ICMPv6 keeps the ICMP timeout (30 s).
  v.at(1000 + 31_000);
  v.balanced(
    '31 s later: the echo session expired',
    icmp6EchoFrame(fe6(C6[2]!), { id: 1, seq: 2 }),
    key6(C6[2]!, 0, 0, 58),
  );
  return v.build();
}

/** A TCP SYN from `c` to VIP6 behind the extension headers `exts`. */
const synBehind = (c: string, sp: number, exts: ExtHeader[], extra: Ipv6Extra = {}) =>
  tcp6Frame(fe6(c), { sport: sp, dport: 80, flags: TCP_SYN }, { exts, ...extra });

function extVector(): Vector {
  const v = vb(
    'ipv6-ext',
    "IPv6 extension headers (rule 9'): hop-by-hop, routing, destination options and an atomic fragment walked to the transport, up to 8 headers; 9 headers, a header cut by the payload end, a second fragment header -> IPV6_EXT; ESP, AH, no-next-header and others -> PROTO; transports too short -> L4_TRUNCATED",
    BASE6,
  );
  const c = C6[0]!;
  const hbh: ExtHeader = { kind: NH_HOPOPTS };
  const rt: ExtHeader = { kind: NH_ROUTING, len: 16 };
  const dst: ExtHeader = { kind: NH_DSTOPTS };
  v.balanced('hop-by-hop options', synBehind(c, 41000, [hbh]), key6(c, 41000, 80, 6));
  v.balanced(
    'a routing header (type 253, segments left 0) of 16 bytes',
    synBehind(c, 41001, [rt]),
    key6(c, 41001, 80, 6),
  );
  v.balanced(
    'destination options of 24 bytes',
    synBehind(c, 41002, [{ kind: NH_DSTOPTS, len: 24 }]),
    key6(c, 41002, 80, 6),
  );
  v.balanced(
    'hop-by-hop, destination options, routing, an atomic fragment, destination options',
    synBehind(c, 41003, [hbh, dst, rt, { kind: NH_FRAGMENT, id: 9 }, dst]),
    key6(c, 41003, 80, 6),
  );
  v.balanced(
    'UDP behind a 1024-byte destination options header',
    ipv6Frame(fe6(c), NH_UDP, udp6(fe6(c), { sport: 41004, dport: 53 }), {
      exts: [{ kind: NH_DSTOPTS, len: 1024 }],
    }),
    key6(c, 41004, 53, 17),
  );
  v.balanced(
    'ICMPv6 echo behind hop-by-hop',
    ipv6Frame(fe6(c), 58, icmp6Echo(fe6(c)), { exts: [hbh] }),
    key6(c, 0, 0, 58),
  );
  const eight = [hbh, dst, dst, dst, dst, dst, dst, dst];
  v.balanced('8 extension headers: the most walked', synBehind(c, 41005, eight), key6(c, 41005, 80, 6));
  v.drop('9 extension headers', synBehind(c, 41006, [...eight, dst]), 'IPV6_EXT');
  v.drop(
    'a second fragment header (atomic ones)',
    synBehind(c, 41007, [{ kind: NH_FRAGMENT }, { kind: NH_FRAGMENT }]),
    'IPV6_EXT',
  );
  v.drop(
    'hop-by-hop claiming 80 bytes of a 28-byte payload',
    synBehind(c, 41008, [{ kind: NH_HOPOPTS, hdrExtLen: 9 }]),
    'IPV6_EXT',
  );
  v.drop(
    'hop-by-hop with 4 payload bytes (fewer than 8)',
    ipv6Frame(fe6(c), NH_HOPOPTS, Uint8Array.of(6, 0, 1, 0)),
    'IPV6_EXT',
  );
  v.drop(
    'destination options ending exactly at the payload end, then nothing: TCP with 0 bytes',
    ipv6Frame(fe6(c), NH_TCP, new Uint8Array(0), { exts: [dst] }),
    'L4_TRUNCATED',
  );
  v.drop(
    'a chain cut by the payload length (padding after it does not count)',
    concat(ipv6Frame(fe6(c), NH_TCP, new Uint8Array(0), { exts: [rt], payloadLength: 8 }), new Uint8Array(8)),
    'IPV6_EXT',
  );
  v.drop('ESP', ipv6Frame(fe6(c), NH_ESP, pattern(24)), 'PROTO');
  v.drop('AH (not walked)', ipv6Frame(fe6(c), NH_AH, concat(Uint8Array.of(6, 4), pattern(22))), 'PROTO');
  v.drop('no next header (59)', ipv6Frame(fe6(c), NH_NONE, new Uint8Array(0)), 'PROTO');
  v.drop('hop-by-hop then no next header', ipv6Frame(fe6(c), NH_NONE, pattern(8), { exts: [hbh] }), 'PROTO');
  v.drop('routing then ESP', ipv6Frame(fe6(c), NH_ESP, pattern(16), { exts: [rt] }), 'PROTO');
  v.drop('GRE (47)', ipv6Frame(fe6(c), 47, pattern(8)), 'PROTO');
  v.drop('IPv4 in IPv6 (4)', ipv6Frame(fe6(c), 4, pattern(20)), 'PROTO');
  v.drop('ICMP for IPv4 (1) inside IPv6', ipv6Frame(fe6(c), 1, pattern(8)), 'PROTO');
  v.drop('SCTP (132)', ipv6Frame(fe6(c), 132, pattern(12)), 'PROTO');
  v.drop(
    'TCP of 19 bytes behind hop-by-hop',
    ipv6Frame(fe6(c), NH_TCP, pattern(19), { exts: [hbh] }),
    'L4_TRUNCATED',
  );
  v.drop('UDP of 7 bytes', ipv6Frame(fe6(c), NH_UDP, pattern(7)), 'L4_TRUNCATED');
  v.drop('ICMPv6 of 4 bytes', ipv6Frame(fe6(c), 58, Uint8Array.of(128, 0, 0, 0)), 'L4_TRUNCATED');
  v.drop('ICMPv6 of unknown type 200', icmp6Frame(fe6(c), { type: 200 }), 'ICMP_TYPE');
  v.drop(
    'wrong MAC and ESP: DST_MAC comes first',
    ipv6Frame(fe6(c, CLIENT_MAC), NH_ESP, pattern(8)),
    'DST_MAC',
  );
  return v.build();
}

function fragmentsVector(): Vector {
  const v = vb(
    'ipv6-fragments',
    "IPv6 fragments (rule 9' and the IPv6 fragment table): a TCP/UDP first fragment balanced by its ports and teaching them for its 32-bit identification, later fragments following it (HIT) within 2 s, MISS otherwise; atomic fragments not fragments; ICMPv6 fragments and short first fragments by {src, dst, 0, 0, proto}; a later fragment’s protocol is its fragment header’s next header",
    BASE6,
  );
  const c = C6[1]!;
  const a = fe6(c);
  /** A UDP datagram of 64 data bytes from `c` (whole, to be cut into fragments). */
  const dgram = (sp: number, from = c) =>
    udp6({ src: from, dst: VIP6 }, { sport: sp, dport: 53, payload: pattern(64) });
  const first = (sp: number, id: number, from = c) =>
    ipv6Frame(fe6(from), NH_UDP, dgram(sp, from).slice(0, 48), {
      exts: [{ kind: NH_FRAGMENT, m: true, id }],
    });
  const later = (sp: number, id: number, offset = 6, m = false, from = c) =>
    ipv6Frame(fe6(from), NH_UDP, dgram(sp, from).slice(offset * 8), {
      exts: [{ kind: NH_FRAGMENT, offset, m, id }],
    });
  const f0 = v.balanced('UDP first fragment: its ports', first(5000, 0x10001), key6(c, 5000, 53, 17));
  v.balanced('its later fragment: the learned ports', later(5000, 0x10001), key6(c, 5000, 53, 17), {
    frag: 'HIT',
  });
  v.also({ sameBackendAs: f0 });
  v.balanced(
    'a first fragment whose id differs in the high 16 bits',
    first(5001, 0x20001),
    key6(c, 5001, 53, 17),
  );
  v.balanced('its later fragment: its own ports', later(5001, 0x20001), key6(c, 5001, 53, 17), {
    frag: 'HIT',
  });
  v.balanced('a later fragment of an id never seen', later(5002, 0x30001), key6(c, 0, 0, 17), {
    frag: 'MISS',
  });
  v.balanced(
    'the same id from another source',
    later(5000, 0x10001, 6, false, C6[2]!),
    key6(C6[2]!, 0, 0, 17),
    { frag: 'MISS' },
  );
  v.balanced(
    'a middle fragment (M set) of the first datagram',
    later(5000, 0x10001, 3, true),
    key6(c, 5000, 53, 17),
    { frag: 'HIT' },
  );
  v.balanced(
    'an atomic fragment (offset 0, M clear) is no fragment: its ports, no table',
    ipv6Frame(a, NH_UDP, dgram(5003), { exts: [{ kind: NH_FRAGMENT, id: 0x40001 }] }),
    key6(c, 5003, 53, 17),
  );
  v.balanced(
    'a UDP first fragment with 2 bytes after its header: {src, dst, 0, 0}',
    ipv6Frame(a, NH_UDP, dgram(5004).slice(0, 2), { exts: [{ kind: NH_FRAGMENT, m: true, id: 0x50001 }] }),
    key6(c, 0, 0, 17),
  );
  v.balanced(
    'a first fragment with destination options after its fragment header: walked on to UDP',
    ipv6Frame(a, NH_UDP, dgram(5005).slice(0, 16), {
      exts: [{ kind: NH_FRAGMENT, m: true, id: 0x60001 }, { kind: NH_DSTOPTS }],
    }),
    key6(c, 5005, 53, 17),
  );
  v.balanced('its later fragment', later(5005, 0x60001, 8), key6(c, 5005, 53, 17), { frag: 'HIT' });
  v.drop(
    'a later fragment whose fragment header names destination options: PROTO',
    ipv6Frame(a, NH_DSTOPTS, pattern(16), { exts: [{ kind: NH_FRAGMENT, offset: 4, id: 0x60001 }] }),
    'PROTO',
  );
  const echo = icmp6Echo({ src: c, dst: VIP6 }, { payload: pattern(64) });
  v.balanced(
    'ICMPv6 echo first fragment: {src, dst, 0, 0, 58}',
    ipv6Frame(a, 58, echo.slice(0, 32), { exts: [{ kind: NH_FRAGMENT, m: true, id: 7 }] }),
    key6(c, 0, 0, 58),
  );
  v.balanced(
    'its later fragment: the same, no table',
    ipv6Frame(a, 58, echo.slice(32), { exts: [{ kind: NH_FRAGMENT, offset: 4, id: 7 }] }),
    key6(c, 0, 0, 58),
  );
  // TCP: a fragment is never a SYN; its first fragment still teaches the ports.
  const seg = tcp6({ src: c, dst: VIP6 }, { sport: 44000, dport: 80, flags: TCP_SYN, payload: pattern(40) });
  v.balanced(
    'TCP first fragment: balanced unrecorded, teaches its ports',
    ipv6Frame(a, NH_TCP, seg.slice(0, 32), { exts: [{ kind: NH_FRAGMENT, m: true, id: 0xabcdef }] }),
    key6(c, 44000, 80, 6),
  );
  v.balanced(
    'TCP later fragment: HIT',
    ipv6Frame(a, NH_TCP, seg.slice(32), { exts: [{ kind: NH_FRAGMENT, offset: 4, id: 0xabcdef }] }),
    key6(c, 44000, 80, 6),
    { frag: 'HIT' },
  );
  v.drop(
    'a first fragment to the wrong MAC',
    ipv6Frame(fe6(c, CLIENT_MAC), NH_UDP, dgram(5006).slice(0, 48), {
      exts: [{ kind: NH_FRAGMENT, m: true, id: 99 }],
    }),
    'DST_MAC',
  );
  v.balanced(
    'a drop taught nothing: the later fragment of that id misses',
    later(5006, 99),
    key6(c, 0, 0, 17),
    { frag: 'MISS' },
  );
  v.at(1000 + 2001);
  v.balanced('2.001 s after its first fragment: a MISS', later(5000, 0x10001), key6(c, 0, 0, 17), {
    frag: 'MISS',
  });
  v.balanced(
    'a new first fragment of the same id replaces the entry',
    first(5007, 0x10001),
    key6(c, 5007, 53, 17),
  );
  v.balanced('and its later fragment hits', later(5007, 0x10001), key6(c, 5007, 53, 17), { frag: 'HIT' });
  return v.build();
}

function errorsVector(): Vector {
  const v = vb(
    'icmpv6-errors',
    "ICMPv6 errors (rule 9'): destination unreachable, packet too big, time exceeded and parameter problem go, read-only, to the backend of the flow they quote (reversed: session first, then Maglev), through quoted extension headers and fragments; every ICMP_INNER case",
    BASE6,
  );
  const c = C6[0]!;
  const r: Frame6Addressing = { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src: ROUTER6, dst: VIP6 };
  const fromVip = (proto: number, l4: Uint8Array, extra: Ipv6Extra = {}, to = c) =>
    ipv6Packet({ src: VIP6, dst: to }, proto, l4, extra);
  const tcpReply = (sp: number, payload = 1400) =>
    fromVip(
      NH_TCP,
      tcp6({ src: VIP6, dst: c }, { sport: 80, dport: sp, flags: TCP_ACK, payload: pattern(payload) }),
    );
  // The flows the errors are about: sessions first (their backends may differ from Maglev's later).
  const s0 = v.balanced(
    'TCP SYN of the flow',
    tcp6Frame(fe6(c), { sport: 43210, dport: 80, flags: TCP_SYN }),
    key6(c, 43210, 80, 6),
  );
  const u0 = v.balanced(
    'UDP of a flow',
    udp6Frame(fe6(c), { sport: 5353, dport: 53 }),
    key6(c, 5353, 53, 17),
  );
  v.balanced(
    'packet too big quoting the VIP’s 1400-byte reply (1232 bytes quoted): the flow’s backend',
    icmp6ErrorFrame(r, { type: ICMP6_PACKET_TOO_BIG, mtu: 1280, inner: quote6(tcpReply(43210)) }),
    key6(c, 43210, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: s0 });
  v.balanced(
    'packet too big quoting only the header and 8 bytes',
    icmp6ErrorFrame(r, { type: ICMP6_PACKET_TOO_BIG, mtu: 1400, inner: quote6(tcpReply(43210), 48) }),
    key6(c, 43210, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: s0 });
  v.balanced(
    'port unreachable quoting the UDP answer',
    icmp6ErrorFrame(r, {
      type: ICMP6_DEST_UNREACH,
      code: 4,
      inner: fromVip(NH_UDP, udp6({ src: VIP6, dst: c }, { sport: 53, dport: 5353 })),
    }),
    key6(c, 5353, 53, 17),
    { readOnly: true },
  );
  v.also({ sameBackendAs: u0 });
  v.balanced(
    'time exceeded quoting an echo reply from the VIP',
    icmp6ErrorFrame(r, {
      type: ICMP6_TIME_EXCEEDED,
      inner: fromVip(58, icmp6Echo({ src: VIP6, dst: c }, { type: ICMP6_ECHO_REPLY })),
    }),
    key6(c, 0, 0, 58),
    { readOnly: true },
  );
  v.balanced(
    'parameter problem quoting an echo request from the VIP',
    icmp6ErrorFrame(r, {
      type: ICMP6_PARAM_PROBLEM,
      code: 1,
      pointer: 40,
      inner: fromVip(58, icmp6Echo({ src: VIP6, dst: c }, { type: ICMP6_ECHO_REQUEST })),
    }),
    key6(c, 0, 0, 58),
    { readOnly: true },
  );
  v.balanced(
    'quoting a packet with hop-by-hop and destination options before TCP',
    icmp6ErrorFrame(r, {
      type: ICMP6_DEST_UNREACH,
      code: 1,
      inner: quote6(
        fromVip(NH_TCP, tcp6({ src: VIP6, dst: c }, { sport: 80, dport: 43210 }), {
          exts: [{ kind: NH_HOPOPTS }, { kind: NH_DSTOPTS, len: 16 }],
        }),
        40 + 24 + 8,
      ),
    }),
    key6(c, 43210, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: s0 });
  v.balanced(
    'quoting a TCP first fragment: the walk stops at its fragment header, {client, VIP, 0, 0, 6}',
    icmp6ErrorFrame(r, {
      type: ICMP6_PACKET_TOO_BIG,
      mtu: 1280,
      inner: quote6(
        fromVip(NH_TCP, tcp6({ src: VIP6, dst: c }, { sport: 80, dport: 43210 }), {
          exts: [{ kind: NH_FRAGMENT, m: true, id: 5 }],
        }),
      ),
    }),
    key6(c, 0, 0, 6),
    { readOnly: true },
  );
  v.balanced(
    'time exceeded (reassembly) quoting a later UDP fragment',
    icmp6ErrorFrame(r, {
      type: ICMP6_TIME_EXCEEDED,
      code: 1,
      inner: fromVip(NH_UDP, pattern(16), { exts: [{ kind: NH_FRAGMENT, offset: 10, id: 6 }] }),
    }),
    key6(c, 0, 0, 17),
    { readOnly: true },
  );
  v.balanced(
    'an error about a flow with no session: Maglev, nothing recorded',
    icmp6ErrorFrame(r, {
      type: ICMP6_DEST_UNREACH,
      inner: quote6(
        fromVip(NH_TCP, tcp6({ src: VIP6, dst: C6[3]! }, { sport: 80, dport: 40404 }), {}, C6[3]!),
      ),
    }),
    key6(C6[3]!, 40404, 80, 6),
    { readOnly: true },
  );
  const err = (inner: Uint8Array, type = ICMP6_DEST_UNREACH) => icmp6ErrorFrame(r, { type, inner });
  const reply = tcpReply(43210, 0);
  v.drop('quoting 39 bytes (less than an IPv6 header)', err(reply.slice(0, 39)), 'ICMP_INNER');
  const v4 = reply.slice();
  v4[0] = 0x45;
  v.drop('quoting a packet of version 4', err(v4), 'ICMP_INNER');
  v.drop(
    'quoting a packet not from the VIP',
    err(
      ipv6Packet(
        { src: 'fd00::999', dst: c },
        NH_TCP,
        tcp6({ src: 'fd00::999', dst: c }, { sport: 80, dport: 1 }),
      ),
    ),
    'ICMP_INNER',
  );
  v.drop(
    'quoting the client’s packet to the VIP',
    err(ipv6Packet({ src: c, dst: VIP6 }, NH_TCP, tcp6({ src: c, dst: VIP6 }, { sport: 43210, dport: 80 }))),
    'ICMP_INNER',
  );
  const ten: ExtHeader[] = Array.from({ length: 9 }, () => ({ kind: NH_DSTOPTS }));
  v.drop(
    'quoting a chain of 9 extension headers',
    err(fromVip(NH_TCP, pattern(20), { exts: ten })),
    'ICMP_INNER',
  );
  v.drop(
    'quoting a chain cut at the error’s end',
    err(fromVip(NH_TCP, pattern(20), { exts: [{ kind: NH_DSTOPTS, len: 64 }] }).slice(0, 40 + 32)),
    'ICMP_INNER',
  );
  v.drop('quoting ESP', err(fromVip(NH_ESP, pattern(16))), 'ICMP_INNER');
  v.drop(
    'quoting a later fragment of ESP',
    err(fromVip(NH_ESP, pattern(16), { exts: [{ kind: NH_FRAGMENT, offset: 3, id: 1 }] })),
    'ICMP_INNER',
  );
  v.drop('quoting TCP with 4 bytes of it', err(reply.slice(0, 44)), 'ICMP_INNER');
  v.drop(
    'quoting TCP behind hop-by-hop with 7 bytes of it',
    err(fromVip(NH_TCP, pattern(20), { exts: [{ kind: NH_HOPOPTS }] }).slice(0, 40 + 8 + 7)),
    'ICMP_INNER',
  );
  v.drop(
    'quoting an ICMPv6 error from the VIP (an error about an error)',
    err(fromVip(58, icmp6({ src: VIP6, dst: c }, { type: ICMP6_DEST_UNREACH, body: pattern(8) }))),
    'ICMP_INNER',
  );
  v.drop(
    'quoting an NA from the VIP',
    err(fromVip(58, icmp6({ src: VIP6, dst: c }, { type: ND_NEIGHBOR_ADVERT, body: pattern(24) }))),
    'ICMP_INNER',
  );
  v.drop('an error of 4 bytes', ipv6Frame(r, 58, Uint8Array.of(2, 0, 0, 0)), 'L4_TRUNCATED');
  v.drop(
    'an error quoting nothing',
    icmp6ErrorFrame(r, { type: ICMP6_TIME_EXCEEDED, inner: new Uint8Array(0) }),
    'ICMP_INNER',
  );
  v.drop('ICMPv6 type 5 (unassigned error)', icmp6Frame(r, { type: 5, body: reply }), 'ICMP_TYPE');
  v.drop('ICMPv6 type 127 (unassigned error)', icmp6Frame(r, { type: 127, body: reply }), 'ICMP_TYPE');
  return v.build();
}

function malformedVector(): Vector {
  const v = vb(
    'ipv6-malformed',
    "Malformed IPv6 frames (rule 6'): shorter than the fixed header, a version other than 6, a payload length beyond the frame -> IP_MALFORMED whatever the destination; padding after the payload length is allowed",
    BASE6,
  );
  const c = C6[0]!;
  const good = tcp6Frame(fe6(c), { sport: 42000, dport: 80, flags: TCP_SYN });
  v.drop('14 bytes: EtherType IPv6, nothing else', good.slice(0, 14), 'IP_MALFORMED');
  v.drop('53 bytes', good.slice(0, 53), 'IP_MALFORMED');
  v.drop('version 4', tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { version: 4 }), 'IP_MALFORMED');
  v.drop('version 0', tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { version: 0 }), 'IP_MALFORMED');
  v.drop('version 15', tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { version: 15 }), 'IP_MALFORMED');
  v.drop(
    'payload length one byte beyond the frame',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { payloadLength: 21 }),
    'IP_MALFORMED',
  );
  v.drop(
    'payload length 65535',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { payloadLength: 65535 }),
    'IP_MALFORMED',
  );
  v.drop('the frame cut inside TCP', good.slice(0, 70), 'IP_MALFORMED');
  v.drop(
    'malformed to another address: still IP_MALFORMED',
    tcp6Frame(fe6(c, FE_MAC, 'fd00::1'), { sport: 1, dport: 80 }, { version: 4 }),
    'IP_MALFORMED',
  );
  v.drop('a malformed NS: IP_MALFORMED before ND', ns().slice(0, 60), 'IP_MALFORMED');
  v.drop(
    'payload length shorter than TCP: L4_TRUNCATED',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80 }, { payloadLength: 12 }),
    'L4_TRUNCATED',
  );
  v.drop(
    'ICMPv6 with payload length 0 is no ND message: L4_TRUNCATED',
    icmp6EchoFrame(fe6(c), {}, { payloadLength: 0 }),
    'L4_TRUNCATED',
  );
  v.drop('54 bytes, no next header', ipv6Frame(fe6(c), NH_NONE, new Uint8Array(0)), 'PROTO');
  v.drop(
    '802.1Q-tagged IPv6',
    ethernet({ dst: FE_MAC, src: CLIENT_MAC, type: 0x86dd, vlans: [{ tci: 10 }], payload: good.slice(14) }),
    'VLAN',
  );
  v.balanced('the same SYN whole', good, key6(c, 42000, 80, 6));
  v.balanced(
    'payload length 20 with 30 bytes of padding: the padding is left as it is',
    concat(good, pattern(30)),
    key6(c, 42000, 80, 6),
  );
  return v.build();
}

function hostPassVector(): Vector {
  const v = vb(
    'ipv6-host-pass',
    'IPv6 under the frontend modes: with host_pass ND not answered and NOT_VIP pass to the host (PASS, FRONTEND_PASS), IP_MALFORMED, DST_MAC, IPV6_EXT stay drops; standby and ROUTED answer no NS; ROUTED reaches VIP6 at the interface MAC',
    { ...BASE6, host_pass: true, services: [V6ONLY_WEB] },
    BP_MAC,
    { frontendPortMac: '02:00:00:00:fe:01' },
  );
  const c = C6[0]!;
  const sol = ns();
  v.ndReply('host_pass: an NS for VIP6 is still answered', sol, answer(sol, VIP6, FE_MAC));
  v.drop(
    'the node’s own NS (for its link-local address): passed',
    ns({ target: 'fe80::fe01', dst: 'fe80::fe01', dstMac: '02:00:00:00:fe:01' }),
    'ND',
  );
  v.drop(
    'a router advertisement: passed',
    icmp6Frame(
      fe6(CLIENT_LL, '33:33:00:00:00:01', 'ff02::1'),
      { type: ND_ROUTER_ADVERT, body: new Uint8Array(8) },
      { hopLimit: 255 },
    ),
    'ND',
  );
  v.drop('DAD for VIP6: passed (the kernel may defend its own)', ns({ src: '::', sllao: false }), 'ND');
  v.drop('an NS with a bad checksum: passed', ns({ checksum: 1 }), 'ND');
  v.drop(
    'TCP to the node’s own address: passed',
    tcp6Frame(fe6(c, '02:00:00:00:fe:01', 'fd00::5'), { sport: 179, dport: 40179 }),
    'NOT_VIP',
  );
  v.drop('ping -6 to the node: passed', icmp6EchoFrame(fe6(c, '02:00:00:00:fe:01', 'fd00::5')), 'NOT_VIP');
  v.drop(
    'MLD report to ff02::16: passed',
    icmp6Frame(
      fe6(CLIENT_LL, '33:33:00:00:00:16', 'ff02::16'),
      { type: 143, body: pattern(8) },
      { hopLimit: 1, exts: [{ kind: NH_HOPOPTS }] },
    ),
    'NOT_VIP',
  );
  v.drop(
    'malformed: still a drop',
    tcp6Frame(fe6(c), { sport: 1, dport: 80 }, { version: 5 }),
    'IP_MALFORMED',
  );
  v.drop(
    'to VIP6 at another MAC: still a drop',
    tcp6Frame(fe6(c, '02:00:00:00:fe:01'), { sport: 1, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'a chain too long to VIP6: still a drop',
    synBehind(
      c,
      1,
      Array.from({ length: 9 }, () => ({ kind: NH_DSTOPTS }) as ExtHeader),
    ),
    'IPV6_EXT',
  );
  v.drop('ESP to VIP6: still a drop', ipv6Frame(fe6(c), NH_ESP, pattern(8)), 'PROTO');
  const s = v.balanced(
    'TCP to VIP6: balanced',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80, flags: TCP_SYN }),
    key6(c, 42000, 80, 6),
  );
  v.reconfigure({ standby: true });
  v.drop('standby: the NS for VIP6 passed, not answered', sol, 'ND');
  v.balanced(
    'standby: the flow still balanced',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80, flags: TCP_ACK }),
    key6(c, 42000, 80, 6),
  );
  v.also({ sameBackendAs: s });
  v.reconfigure({ standby: false, mode: 'ROUTED' });
  v.drop('ROUTED: no NS is answered', sol, 'ND');
  v.drop(
    'ROUTED: VIP6 at the configured MAC is no longer its MAC',
    tcp6Frame(fe6(c), { sport: 42000, dport: 80, flags: TCP_ACK }),
    'DST_MAC',
  );
  v.balanced(
    'ROUTED: VIP6 at the interface MAC (the session kept)',
    tcp6Frame(fe6(c, '02:00:00:00:fe:01'), { sport: 42000, dport: 80, flags: TCP_ACK }),
    key6(c, 42000, 80, 6),
  );
  v.also({ sameBackendAs: s });
  v.balanced(
    'ROUTED: the IPv6-only service at the interface MAC too',
    tcp6Frame(fe6(c, '02:00:00:00:fe:01', V6ONLY), { sport: 42001, dport: 80, flags: TCP_SYN }),
    key6(c, 42001, 80, 6, V6ONLY),
  );
  v.pass('ROUTED: ND on the BACKEND port is the kernel’s (rule 1)', ns({ target: 'fd00::21' }));
  return v.build();
}

function lruVector(): Vector {
  const v = vb(
    'ipv6-lru',
    'The capacity bounds each family’s session table: with capacity 2, two IPv4 and two IPv6 sessions are all kept; a third IPv6 flow evicts the least recently used IPv6 session and no IPv4 one',
    { ...BASE6, sessions: { capacity: 2 } },
  );
  v.tags.push('lru');
  const syn6 = (i: number) => tcp6Frame(fe6(C6[i]!), { sport: 30000 + i, dport: 80, flags: TCP_SYN });
  const ack6 = (i: number) => tcp6Frame(fe6(C6[i]!), { sport: 30000 + i, dport: 80, flags: TCP_ACK });
  const syn4 = (i: number) =>
    tcpFrame(fe(`10.0.0.${i + 1}`), { sport: 30000 + i, dport: 80, flags: TCP_SYN });
  const ack4 = (i: number) =>
    tcpFrame(fe(`10.0.0.${i + 1}`), { sport: 30000 + i, dport: 80, flags: TCP_ACK });
  const k6 = (i: number) => key6(C6[i]!, 30000 + i, 80, 6);
  const k4 = (i: number) => key(`10.0.0.${i + 1}`, 30000 + i, 80, 6);
  v.balanced('IPv6 flow 0', syn6(0), k6(0));
  v.balanced('IPv4 flow 0', syn4(0), k4(0));
  v.balanced('IPv6 flow 1', syn6(1), k6(1));
  v.balanced('IPv4 flow 1', syn4(1), k4(1));
  v.balanced('IPv6 flow 0 again: a hit (4 sessions in two tables of 2)', ack6(0), k6(0));
  v.balanced('IPv4 flow 0 again: a hit', ack4(0), k4(0));
  v.balanced('IPv6 flow 2: evicts IPv6 flow 1, the least recently used IPv6 one', syn6(2), k6(2));
  v.balanced('IPv4 flow 1: still there', ack4(1), k4(1));
  v.balanced('IPv6 flow 0: still there', ack6(0), k6(0));
  v.balanced('IPv6 flow 1: gone (an ACK of no session: unrecorded)', ack6(1), k6(1));
  return v.build();
}

export const IPV6_SCENARIOS: (() => Vector)[] = [
  ndVector,
  flowsVector,
  extVector,
  fragmentsVector,
  errorsVector,
  malformedVector,
  hostPassVector,
  lruVector,
];
