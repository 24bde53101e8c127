// Mirrors bpf/lbdsr_shared.h. test/unit/shared-header.test.ts parses the header and fails on any drift.

export const MAGLEV_SIZE = 65537;
export const MAX_BACKENDS = 4096;
export const MAX_SERVICES = 256;
export const SLOT_NONE = 0xffffffff;

export const ACT_DROP = 0;
export const ACT_TX_FRONTEND = 1;
export const ACT_TX_BACKEND = 2;
/** BACKEND port: an ARP frame or an answer to the health prober, left to the kernel (XDP_PASS). */
export const ACT_PASS = 3;

export const ALG_HASH_SESSION = 0;
export const ALG_HASH_SRC_IP = 1;

export const DROP_NONE = 0;
export const DROP_BACKEND_PORT = 1;
export const DROP_TRUNCATED = 2;
export const DROP_VLAN = 3;
export const DROP_ETHERTYPE = 4;
export const DROP_ARP = 5;
export const DROP_DST_MAC = 6;
export const DROP_IP_MALFORMED = 7;
export const DROP_NOT_VIP = 8;
export const DROP_PROTO = 9;
export const DROP_ICMP_TYPE = 10;
export const DROP_ICMP_INNER = 11;
export const DROP_L4_TRUNCATED = 12;
export const DROP_NO_BACKEND = 13;
export const DROP_NOT_READY = 14;
export const DROP_TX_FAILED = 15;
export const DROP_NO_SERVICE = 16;
/** IPv6 Neighbor Discovery not answered (docs/semantics.md, "IPv6", rule 6b). */
export const DROP_ND = 17;
/** IPv6 extension header chain too long (more than IPV6_MAX_EXT) or truncated. */
export const DROP_IPV6_EXT = 18;
export const DROP_MAX = 19;

export const CNT_SESSION_HIT = DROP_MAX + 0;
export const CNT_SESSION_MISS = DROP_MAX + 1;
export const CNT_SESSION_EXPIRED = DROP_MAX + 2;
export const CNT_SESSION_STALE = DROP_MAX + 3;
export const CNT_ARP_REPLY = DROP_MAX + 4;
export const CNT_RX_PACKETS = DROP_MAX + 5;
export const CNT_RX_BYTES = DROP_MAX + 6;
export const CNT_SESSION_UNRECORDED = DROP_MAX + 7;
export const CNT_FRAG_HIT = DROP_MAX + 8;
export const CNT_FRAG_MISS = DROP_MAX + 9;
export const CNT_BACKEND_PASS = DROP_MAX + 10;
/** FRONTEND frame not for a VIP passed to the host's stack (host_pass; docs/semantics.md, "Frontend modes"). */
export const CNT_FRONTEND_PASS = DROP_MAX + 11;
/** Frames and bytes received on the BACKEND port (a part of RX_PACKETS / RX_BYTES). */
export const CNT_RX_BACKEND_PACKETS = DROP_MAX + 12;
export const CNT_RX_BACKEND_BYTES = DROP_MAX + 13;
/** Bytes of the frames sent on the FRONTEND port (ARP replies) and on the BACKEND port (balanced frames). */
export const CNT_TX_FRONTEND_BYTES = DROP_MAX + 14;
export const CNT_TX_BACKEND_BYTES = DROP_MAX + 15;
/** Neighbor Advertisements sent for a VIP (IPv6's ARP_REPLY). */
export const CNT_ND_REPLY = DROP_MAX + 16;
export const CNT_MAX = DROP_MAX + 17;

/** IPv6 (docs/semantics.md, "IPv6"): extension headers walked at most, longest NS answered, NA length. */
export const IPV6_MAX_EXT = 8;
export const ND_MAX_LEN = 128;
export const NA_FRAME_LEN = 86;

/** lbdsr_config.flags (docs/semantics.md, "Frontend modes"). */
export const CFG_NO_ARP = 1;
export const CFG_HOST_PASS = 2;
export const CFG_ONE_ARM = 4;

/** Names of drop reasons, indexed by reason code; used by stats output and test vectors. */
export const DROP_REASON_NAMES: readonly string[] = [
  'NONE',
  'BACKEND_PORT',
  'TRUNCATED',
  'VLAN',
  'ETHERTYPE',
  'ARP',
  'DST_MAC',
  'IP_MALFORMED',
  'NOT_VIP',
  'PROTO',
  'ICMP_TYPE',
  'ICMP_INNER',
  'L4_TRUNCATED',
  'NO_BACKEND',
  'NOT_READY',
  'TX_FAILED',
  'NO_SERVICE',
  'ND',
  'IPV6_EXT',
];

export const ACTION_NAMES: readonly string[] = ['DROP', 'TX_FRONTEND', 'TX_BACKEND', 'PASS'];

/** Byte sizes of the shared structs (checked against the header by a test). */
export const SIZEOF_FLOW_KEY = 16;
export const SIZEOF_SESSION = 16;
export const SIZEOF_BACKEND = 16;
export const SIZEOF_BACKEND_STATS = 24;
export const SIZEOF_SERVICE = 36;
export const SIZEOF_CONFIG = 56;
export const SIZEOF_FRAG_KEY = 12;
export const SIZEOF_FRAG = 16;
export const SIZEOF_FLOW_KEY6 = 40;
export const SIZEOF_FRAG_KEY6 = 40;
export const SIZEOF_PORT_KEY6 = 20;

/** Fragment table (docs/semantics.md, "Fragments"): entries, and how long a first fragment's ports serve. */
export const FRAG_CAPACITY = 8192;
export const FRAG_TIMEOUT_MS = 2000;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
/** ICMPv6: the protocol of IPv6 keys whose service has protocol ICMP. */
export const PROTO_ICMPV6 = 58;

/** Port kinds: where a frame arrived. */
export const PORT_FRONTEND = 0;
export const PORT_BACKEND = 1;

/** Verdict encoding returned by the pipeline: low byte action, next byte drop reason. */
export function verdictAction(v: number): number {
  return v & 0xff;
}
export function verdictReason(v: number): number {
  return (v >>> 8) & 0xff;
}

/** XDP service match (bpf/lbdsr_shared.h, struct lbdsr_vip): no service; protocols with port services. */
export const SVC_NONE = 0xffff;
export const VIP_PORTS_TCP = 1;
export const VIP_PORTS_UDP = 2;
