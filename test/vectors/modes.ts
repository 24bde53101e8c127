// The frontend modes' scenarios of the corpus (docs/semantics.md, "Frontend modes"): host_pass over the
// rules it changes and those it does not, no ARP under standby and ROUTED, ROUTED's interface MAC as
// every VIP's MAC, one-arm's probe-MAC pass and balanced frames, and their combinations. Written with
// the builder of generate.ts (whose drop() takes a drop or a host_pass PASS from the reference of rules
// 1a to 8), which runs them after its own scenarios (the files follow its numbering).
import {
  ARP_OP_REPLY,
  arp,
  arpReplyFrame,
  arpRequestFrame,
  concat,
  ETH_P_ARP,
  ethernet,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  icmpEchoFrame,
  ipv4Frame,
  TCP_ACK,
  TCP_SYN,
  tcpFrame,
  udpFrame,
} from '../../src/packet/build.js';
import { nsFrame } from '../../src/packet/build6.js';
import { IF_MAC, NODE_IP, PROBE_IP, PROBE_MAC, VIP2, WEB_MAC, webService } from '../lib/modes-fixture.js';
import type { Vector, VectorConfig } from '../lib/vectors.js';
import {
  arpVector,
  BASE,
  BP_MAC,
  CLIENT_MAC,
  CLIENTS,
  FE_MAC,
  fe,
  ipMalformedVector,
  key,
  l2Vector,
  pattern,
  ROUTER_MAC,
  type Variant,
  VIP,
  vb,
} from './generate.js';

const SERVER_MAC = '01:01:01:01:01:01';

const HOST_PASS: Variant = {
  name: 'host-pass',
  description:
    'with host_pass, every frame rules 3, 4, 5 and 7 would drop is passed to the host (PASS, FRONTEND_PASS)',
  config: { host_pass: true },
};

/** The reply to ARP request `req` (from CLIENT_MAC / `client`) for `vip`, answered with `mac`. */
function replyTo(req: Uint8Array, vip: string, mac: string, client: string): Uint8Array {
  return concat(
    ethernet({
      dst: req.subarray(6, 12),
      src: mac,
      type: ETH_P_ARP,
      payload: arp({
        op: ARP_OP_REPLY,
        senderMac: mac,
        senderIp: vip,
        targetMac: CLIENT_MAC,
        targetIp: client,
      }),
    }),
    req.slice(42),
  );
}

const whoHas = (target: string, client: string, ethDst?: string) =>
  arpRequestFrame({
    senderMac: CLIENT_MAC,
    senderIp: client,
    targetIp: target,
    ...(ethDst ? { ethDst } : {}),
  });
/** The node's own IPv6 neighbour discovery: a unicast solicitation (NUD) for its link-local address. */
const ipv6 = (dst: string) =>
  nsFrame({
    srcMac: CLIENT_MAC,
    dstMac: dst,
    src: 'fe80::5054:ff:fe00:1',
    target: 'fe80::fe01',
    dst: 'fe80::fe01',
  });

function standbyVector(): Vector {
  const v = vb(
    'standby',
    'standby: no ARP for a VIP is answered (CFG_NO_ARP, rule 4), frames that arrive are still balanced; active again answers; with host_pass the unanswered request goes to the host',
    { ...BASE, standby: true },
  );
  const c = CLIENTS[0]!;
  v.drop('who-has VIP, broadcast: not answered on the standby node', whoHas(VIP, c), 'ARP');
  v.drop('who-has VIP unicast to the frontend MAC (a refresh): not answered', whoHas(VIP, c, FE_MAC), 'ARP');
  const syn = tcpFrame(fe(c), { sport: 41000, dport: 80, flags: TCP_SYN });
  v.balanced('a client that still holds the MAC: SYN balanced', syn, key(c, 41000, 80, 6));
  const ack = tcpFrame(fe(c), { sport: 41000, dport: 80, flags: TCP_ACK });
  v.balanced('and its next segment hits the session', ack, key(c, 41000, 80, 6));
  v.balanced(
    'ICMP echo balanced too',
    icmpEchoFrame(fe(c), { type: ICMP_ECHO_REQUEST, id: 3 }),
    key(c, 0, 0, 1),
  );
  v.reconfigure({ standby: false });
  const req = whoHas(VIP, c);
  v.arpReply('active again: who-has VIP answered', req, replyTo(req, VIP, FE_MAC, c));
  v.balanced('the session survived the switch', ack, key(c, 41000, 80, 6));
  v.reconfigure({ standby: true, host_pass: true });
  v.drop('standby with host_pass: who-has VIP passed to the host', whoHas(VIP, c), 'ARP');
  v.drop('who-has the node itself: passed', whoHas(NODE_IP, c), 'ARP');
  v.drop(
    'IPv4 to the node: passed',
    tcpFrame({ ...fe(c), dst: NODE_IP }, { sport: 1, dport: 22 }),
    'NOT_VIP',
  );
  v.balanced('frames for the VIP: still balanced, never passed', ack, key(c, 41000, 80, 6));
  v.drop(
    'to the VIP at another MAC: still a drop',
    tcpFrame(fe(c, ROUTER_MAC), { sport: 41000, dport: 80 }),
    'DST_MAC',
  );
  return v.build();
}

const ROUTED: VectorConfig = {
  ...BASE,
  mode: 'ROUTED',
  services: [webService(21)],
};

function routedVector(): Vector {
  const v = vb(
    'routed',
    'mode ROUTED: every VIP is reached at the FRONTEND interface MAC (the configured MACs are not used), no ARP for a VIP is answered, host_pass by default (the node keeps its ARP, BGP, IPv6); without the interface MAC no service is in the data plane',
    ROUTED,
    BP_MAC,
    { frontendPortMac: IF_MAC },
  );
  const c = CLIENTS[3]!;
  const r = (dst: string, ethDst = IF_MAC) => ({ ethDst, ethSrc: ROUTER_MAC, src: c, dst });
  const syn = tcpFrame(r(VIP), { sport: 42000, dport: 80, flags: TCP_SYN });
  v.balanced('TCP SYN from the router to the interface MAC', syn, key(c, 42000, 80, 6));
  const ack = tcpFrame(r(VIP), { sport: 42000, dport: 80, flags: TCP_ACK });
  v.balanced('its next segment: session hit', ack, key(c, 42000, 80, 6));
  v.balanced(
    'service web (its own configured MAC) at the interface MAC too',
    tcpFrame(r(VIP2), { sport: 42001, dport: 443, flags: TCP_SYN }),
    key(c, 42001, 443, 6, VIP2),
  );
  v.balanced(
    'ICMP echo to the VIP',
    icmpEchoFrame(r(VIP), { type: ICMP_ECHO_REQUEST, id: 9 }),
    key(c, 0, 0, 1),
  );
  v.drop(
    'to the VIP at the configured frontend MAC',
    tcpFrame(r(VIP, FE_MAC), { sport: 42000, dport: 80 }),
    'DST_MAC',
  );
  v.drop('to web at its configured MAC', tcpFrame(r(VIP2, WEB_MAC), { sport: 42001, dport: 443 }), 'DST_MAC');
  v.drop('who-has VIP, broadcast: not answered, passed to the host', whoHas(VIP, c), 'ARP');
  v.drop('who-has VIP unicast to the interface MAC: passed', whoHas(VIP, c, IF_MAC), 'ARP');
  v.drop('the router asks for the node (its next hop): passed', whoHas(NODE_IP, '10.0.0.254'), 'ARP');
  v.drop(
    'an ARP reply to the node: passed',
    arpReplyFrame({ senderMac: ROUTER_MAC, senderIp: '10.0.0.254', targetMac: IF_MAC, targetIp: NODE_IP }),
    'ARP',
  );
  v.drop(
    'BGP from the router to the node: passed',
    tcpFrame(r(NODE_IP), { sport: 179, dport: 40179 }),
    'NOT_VIP',
  );
  v.drop(
    'ICMP echo to the node: passed',
    icmpEchoFrame(r(NODE_IP), { type: ICMP_ECHO_REQUEST, id: 1 }),
    'NOT_VIP',
  );
  v.drop('IPv6 (the node’s neighbour discovery): passed', ipv6(IF_MAC), 'ND');
  v.drop('13 bytes: still a drop', syn.slice(0, 13), 'TRUNCATED');
  v.drop('IPv4 header cut: still a drop', syn.slice(0, 30), 'IP_MALFORMED');
  v.drop('GRE to the VIP: a frame for a VIP is never passed', ipv4Frame(r(VIP), 47, pattern(8)), 'PROTO');
  v.drop(
    'TCP to the VIP on a port no service has: never passed',
    tcpFrame(r(VIP2), { sport: 1, dport: 80 }),
    'NO_SERVICE',
  );
  v.reconfigure({ host_pass: false });
  v.drop('host_pass off: who-has VIP dropped', whoHas(VIP, c), 'ARP');
  v.drop(
    'host_pass off: BGP to the node dropped',
    tcpFrame(r(NODE_IP), { sport: 179, dport: 40179 }),
    'NOT_VIP',
  );
  v.drop('host_pass off: IPv6 dropped', ipv6(IF_MAC), 'ND');
  v.balanced('the flow goes on', ack, key(c, 42000, 80, 6));
  v.reconfigure({ frontendPortMac: '02:00:00:00:fe:02' });
  v.drop('the interface MAC changed: the old one is no longer the VIP MAC', ack, 'DST_MAC');
  v.balanced(
    'the new one is (the session kept)',
    tcpFrame(r(VIP, '02:00:00:00:fe:02'), { sport: 42000, dport: 80, flags: TCP_ACK }),
    key(c, 42000, 80, 6),
  );
  v.reconfigure({ frontendPortMac: null });
  v.drop(
    'interface MAC unknown: no VIP in the data plane',
    tcpFrame(r(VIP, '02:00:00:00:fe:02'), { sport: 42000, dport: 80 }),
    'NOT_VIP',
  );
  v.reconfigure({ mode: 'L2' });
  const req = whoHas(VIP, c);
  v.arpReply('back to L2: ARP answered with the configured MAC', req, replyTo(req, VIP, FE_MAC, c));
  v.balanced(
    'frames at the configured MAC balanced, session kept',
    tcpFrame(r(VIP, FE_MAC), { sport: 42000, dport: 80, flags: TCP_ACK }),
    key(c, 42000, 80, 6),
  );
  return v.build();
}

function oneArmVector(): Vector {
  const v = vb(
    'one-arm',
    'one-arm (FRONTEND and BACKEND one interface): frames to the probe MAC go to the kernel (rule 1a, BACKEND_PASS), ARP for a VIP is answered, balanced frames leave as TX_BACKEND with the interface MAC as source; the rest follows rules 2-12 (host_pass, standby and ROUTED on top)',
    { ...BASE, probe_ip: PROBE_IP },
    IF_MAC,
    { frontendPortMac: IF_MAC, oneArm: true },
  );
  const c = CLIENTS[1]!;
  const srv = '10.0.1.11';
  const probeAnswer = tcpFrame(
    { ethDst: PROBE_MAC, ethSrc: SERVER_MAC, src: VIP, dst: PROBE_IP },
    { sport: 80, dport: 40000, flags: TCP_SYN | TCP_ACK },
  );
  v.probePass('a SYN-ACK from VIP:80 to the probe MAC (health probe answer)', probeAnswer);
  v.probePass(
    'a backend’s ARP reply to the prober',
    arpReplyFrame({ senderMac: SERVER_MAC, senderIp: srv, targetMac: PROBE_MAC, targetIp: PROBE_IP }),
  );
  v.probePass(
    'an echo reply to the probe MAC',
    icmpEchoFrame(
      { ethDst: PROBE_MAC, ethSrc: SERVER_MAC, src: VIP, dst: PROBE_IP },
      { type: ICMP_ECHO_REPLY, id: 4 },
    ),
  );
  v.probePass('14 bytes to the probe MAC', probeAnswer.slice(0, 14));
  v.drop('13 bytes to the probe MAC: too short for rule 1a', probeAnswer.slice(0, 13), 'TRUNCATED');
  const req = whoHas(VIP, c);
  v.arpReply('who-has VIP answered out of the same interface', req, replyTo(req, VIP, FE_MAC, c));
  v.balanced(
    'TCP SYN balanced out of the same interface (TX_BACKEND, source = interface MAC)',
    tcpFrame(fe(c), { sport: 43000, dport: 80, flags: TCP_SYN }),
    key(c, 43000, 80, 6),
  );
  v.balanced('UDP balanced', udpFrame(fe(c), { sport: 5353, dport: 53 }), key(c, 5353, 53, 17));
  v.drop(
    'a backend’s broadcast who-has probe_ip: not a VIP (rule 4)',
    arpRequestFrame({ senderMac: SERVER_MAC, senderIp: srv, targetIp: PROBE_IP }),
    'ARP',
  );
  v.drop(
    'a server’s DSR answer flooded to the interface: not a VIP',
    tcpFrame(
      { ethDst: CLIENT_MAC, ethSrc: SERVER_MAC, src: VIP, dst: c },
      { sport: 80, dport: 43000, flags: TCP_ACK },
    ),
    'NOT_VIP',
  );
  v.drop('IPv6: dropped without host_pass', ipv6(IF_MAC), 'ND');
  v.reconfigure({ host_pass: true });
  v.drop(
    'host_pass: the broadcast who-has probe_ip goes to the host (the prober sees it)',
    arpRequestFrame({ senderMac: SERVER_MAC, senderIp: srv, targetIp: PROBE_IP }),
    'ARP',
  );
  v.probePass('the probe answer is still rule 1a (BACKEND_PASS)', probeAnswer);
  v.drop('IPv6 goes to the host', ipv6(IF_MAC), 'ND');
  v.reconfigure({ standby: true });
  v.drop('standby: who-has VIP not answered, passed', whoHas(VIP, c), 'ARP');
  v.balanced(
    'standby: the flow still balanced',
    tcpFrame(fe(c), { sport: 43000, dport: 80, flags: TCP_ACK }),
    key(c, 43000, 80, 6),
  );
  v.reconfigure({ standby: false, mode: 'ROUTED' });
  v.balanced(
    'ROUTED one-arm: the interface MAC is the VIP MAC and the source of balanced frames',
    tcpFrame(fe(c, IF_MAC), { sport: 43001, dport: 80, flags: TCP_SYN }),
    key(c, 43001, 80, 6),
  );
  v.drop(
    'ROUTED one-arm: the configured MAC no longer',
    tcpFrame(fe(c), { sport: 43000, dport: 80 }),
    'DST_MAC',
  );
  v.drop('ROUTED one-arm: who-has VIP passed', whoHas(VIP, c), 'ARP');
  v.probePass('ROUTED one-arm: the probe answer still rule 1a', probeAnswer);
  return v.build();
}

export const MODE_SCENARIOS: (() => Vector)[] = [
  () => arpVector(HOST_PASS),
  () => l2Vector(HOST_PASS),
  () => ipMalformedVector(HOST_PASS),
  standbyVector,
  routedVector,
  oneArmVector,
];
