// The body of POST /lbdsr/{name}/explain (routes/explain.ts): the flow to explain, as src/pipeline/
// explain.ts takes it (ExplainRequest), and its node in the resource tree (an action, so the CLI's
// `lbdsr NAME explain k=v ...` POSTs it). Apart from schema.ts, which lists the node among the
// instance's children, because it has nothing to share with the configuration's schemas.
import { Type } from '@sinclair/typebox';
import type { ResourceNode } from './schema.js';

/** The `x-lenient` keyword of schema.ts (LENIENT): enum values in any case (proto=tcp). */
const lenient = { 'x-lenient': true };
const Proto = Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('ICMP')]);
/** IPv4 (a.b.c.d) or IPv6 text; the builder parses it (LBDSR_BAD_IPV4 / LBDSR_BAD_IPV6). */
const Ip = (description: string) =>
  Type.String({ pattern: '^(\\d{1,3}(\\.\\d{1,3}){3}|(?=[^:]*:)[0-9A-Fa-f:.]{2,45})$', description });
const L4Port = (description: string) => Type.Integer({ minimum: 0, maximum: 65535, description });

export const ExplainRequestSchema = Type.Object(
  {
    arp: Type.Optional(Type.Boolean({ description: 'an ARP request (with who_has)' })),
    who_has: Type.Optional(
      Ip('the address asked for: IPv4, an ARP request; IPv6, a Neighbor Solicitation (src is the asker)'),
    ),
    src: Type.Optional(
      Ip('client address, IPv4 or IPv6 as dst (ARP: the asker, default 0.0.0.0; ND: link-local of src_mac)'),
    ),
    dst: Type.Optional(Ip('destination address (a VIP), IPv4 or IPv6')),
    proto: Type.Optional({ ...Proto, description: 'TCP, UDP or ICMP (ICMPv6 for IPv6 addresses)' }),
    sport: Type.Optional(L4Port('client port (TCP, UDP; of the quoted flow for an ICMP error)')),
    dport: Type.Optional(L4Port('VIP port (TCP, UDP; of the quoted flow for an ICMP error)')),
    flags: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z,|+]{1,40}$',
        description: 'TCP flags, e.g. SYN or SYN,ACK (default ACK)',
      }),
    ),
    type: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 255,
        description: 'ICMP type (default 8, echo; IPv6: 128, errors 1..4 quote the flow)',
      }),
    ),
    code: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'ICMP code' })),
    inner: Type.Optional({ ...Proto, description: 'ICMP error: protocol of the quoted flow (default TCP)' }),
    from: Type.Optional(Ip('ICMP error: its sender (default src)')),
    mac: Type.Optional(
      Type.String({
        description: 'Ethernet destination (default: the VIP’s frontend MAC; broadcast for ARP)',
      }),
    ),
    src_mac: Type.Optional(Type.String({ description: 'Ethernet source (default 02:00:00:00:00:01)' })),
    port: Type.Optional(
      Type.Union([Type.Literal('FRONTEND'), Type.Literal('BACKEND')], {
        description: 'the port the frame arrives on (default FRONTEND)',
      }),
    ),
  },
  { ...lenient, additionalProperties: false, description: 'a flow (or an ARP request) to explain' },
);

export const EXPLAIN_NODE: ResourceNode = {
  segment: 'explain',
  kind: 'action',
  description: 'what the running data plane does with one frame, and why (changes nothing)',
  schema: ExplainRequestSchema,
};
