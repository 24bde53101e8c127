/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * lbdsr: structs and constants shared by the XDP program and the TypeScript side.
 *
 * This header is the single source of truth for map layouts, verdicts, drop reasons and
 * counter indexes. src/core/constants.ts mirrors the constants (test/unit/shared-header.test.ts
 * parses this file), src/dataplane/xdp/shared-structs.ts the structs (test/unit/btf-layout.test.ts
 * reads them from the compiled object's BTF); the tests fail when they disagree.
 */
#ifndef LBDSR_SHARED_H
#define LBDSR_SHARED_H

#define LBDSR_MAGLEV_SIZE 65537      /* prime; entries per service lookup table */
#define LBDSR_MAX_BACKENDS 4096      /* backend slots per instance */
#define LBDSR_MAX_SERVICES 256       /* services per instance (default + services) */
#define LBDSR_SLOT_NONE 0xffffffffu  /* empty Maglev entry / no backend */

/* Verdict: what happens to a frame. */
#define LBDSR_ACT_DROP 0
#define LBDSR_ACT_TX_FRONTEND 1      /* sent back out of the port it came in on (ARP reply) */
#define LBDSR_ACT_TX_BACKEND 2       /* rewritten and sent out of the BACKEND port */
#define LBDSR_ACT_PASS 3             /* BACKEND port: ARP or probe answer, left to the kernel (XDP_PASS) */

/* Algorithms. */
#define LBDSR_ALG_HASH_SESSION 0
#define LBDSR_ALG_HASH_SRC_IP 1

/* Drop reasons: index into the counters array. 0 is never counted. */
#define LBDSR_DROP_NONE 0
#define LBDSR_DROP_BACKEND_PORT 1    /* frame arrived on the BACKEND port */
#define LBDSR_DROP_TRUNCATED 2       /* shorter than an Ethernet header */
#define LBDSR_DROP_VLAN 3            /* 802.1Q / 802.1ad tagged */
#define LBDSR_DROP_ETHERTYPE 4       /* neither IPv4 nor ARP */
#define LBDSR_DROP_ARP 5             /* ARP that is not a well-formed request for the VIP */
#define LBDSR_DROP_DST_MAC 6         /* IPv4 not addressed to the frontend MAC */
#define LBDSR_DROP_IP_MALFORMED 7    /* version != 4, IHL < 5, bad total length, truncated */
#define LBDSR_DROP_NOT_VIP 8         /* destination IP is not a VIP */
#define LBDSR_DROP_PROTO 9           /* not TCP, UDP or ICMP */
#define LBDSR_DROP_ICMP_TYPE 10      /* ICMP type we do not balance */
#define LBDSR_DROP_ICMP_INNER 11     /* ICMP error whose inner packet is not from the VIP / malformed */
#define LBDSR_DROP_L4_TRUNCATED 12   /* TCP/UDP/ICMP header does not fit */
#define LBDSR_DROP_NO_BACKEND 13     /* empty pool */
#define LBDSR_DROP_NOT_READY 14      /* instance not configured (no frontend or backend port MAC) */
#define LBDSR_DROP_TX_FAILED 15      /* the BACKEND (or FRONTEND) port could not take the frame */
#define LBDSR_DROP_NO_SERVICE 16     /* a VIP, but no service of it matches the protocol/port */
#define LBDSR_DROP_ND 17             /* IPv6 Neighbor Discovery not answered (not a valid NS for a VIP) */
#define LBDSR_DROP_IPV6_EXT 18       /* IPv6 extension header chain too long or truncated */
#define LBDSR_DROP_MAX 19

/* Global counters: the first LBDSR_DROP_MAX entries count drops by reason. */
#define LBDSR_CNT_SESSION_HIT (LBDSR_DROP_MAX + 0)
#define LBDSR_CNT_SESSION_MISS (LBDSR_DROP_MAX + 1)   /* new session recorded */
#define LBDSR_CNT_SESSION_EXPIRED (LBDSR_DROP_MAX + 2) /* hit on an idle-expired entry: re-balanced */
#define LBDSR_CNT_SESSION_STALE (LBDSR_DROP_MAX + 3)  /* hit on a removed backend: re-balanced */
#define LBDSR_CNT_ARP_REPLY (LBDSR_DROP_MAX + 4)
#define LBDSR_CNT_RX_PACKETS (LBDSR_DROP_MAX + 5)
#define LBDSR_CNT_RX_BYTES (LBDSR_DROP_MAX + 6)
#define LBDSR_CNT_SESSION_UNRECORDED (LBDSR_DROP_MAX + 7) /* TCP miss, not a SYN: Maglev, not recorded */
#define LBDSR_CNT_FRAG_HIT (LBDSR_DROP_MAX + 8)  /* later fragment found its first one's ports */
#define LBDSR_CNT_FRAG_MISS (LBDSR_DROP_MAX + 9) /* later fragment without (fresh) ports: 3-tuple */
#define LBDSR_CNT_BACKEND_PASS (LBDSR_DROP_MAX + 10) /* BACKEND port frame passed to the kernel */
#define LBDSR_CNT_FRONTEND_PASS (LBDSR_DROP_MAX + 11) /* FRONTEND frame not for a VIP, host_pass: kernel */
#define LBDSR_CNT_RX_BACKEND_PACKETS (LBDSR_DROP_MAX + 12) /* frames received on the BACKEND port (part of RX) */
#define LBDSR_CNT_RX_BACKEND_BYTES (LBDSR_DROP_MAX + 13)
#define LBDSR_CNT_TX_FRONTEND_BYTES (LBDSR_DROP_MAX + 14) /* bytes of the frames sent on the FRONTEND port */
#define LBDSR_CNT_TX_BACKEND_BYTES (LBDSR_DROP_MAX + 15)  /* bytes of the frames sent on the BACKEND port */
#define LBDSR_CNT_ND_REPLY (LBDSR_DROP_MAX + 16) /* Neighbor Advertisements sent for a VIP */
#define LBDSR_CNT_MAX (LBDSR_DROP_MAX + 17)

/* IPv6 (docs/semantics.md, "IPv6"). */
#define LBDSR_IPV6_MAX_EXT 8         /* extension headers walked at most; a longer chain drops IPV6_EXT */
#define LBDSR_ND_MAX_LEN 128         /* longest Neighbor Solicitation (ICMPv6 bytes) that is answered */
#define LBDSR_NA_FRAME_LEN 86        /* a Neighbor Advertisement: 14 + 40 + 24 + 8 (target link-layer option) */

/* lbdsr_config.flags (docs/semantics.md, "Frontend modes"). */
#define LBDSR_CFG_NO_ARP 1    /* no ARP reply for a VIP: mode ROUTED, or the instance is standby */
#define LBDSR_CFG_HOST_PASS 2 /* FRONTEND frames not for a VIP go to the kernel (XDP_PASS) */
#define LBDSR_CFG_ONE_ARM 4   /* FRONTEND and BACKEND are one interface: balanced frames leave by XDP_TX */

/* Session key: 16 bytes. Addresses in network byte order as on the wire; ports host order. */
struct lbdsr_flow_key {
	__u32 src;   /* client address (network byte order) */
	__u32 dst;   /* VIP (network byte order) */
	__u16 sport; /* host byte order; 0 for ICMP echo and fragments */
	__u16 dport; /* host byte order; 0 for ICMP echo and fragments */
	__u8 proto;
	__u8 pad[3];
};

/* IPv6 session key: 40 bytes, its own map (lbdsr_sessions6). Addresses as on the wire. */
struct lbdsr_flow_key6 {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* host byte order; 0 for ICMPv6 echo and fragments */
	__u16 dport;
	__u8 proto;  /* 6, 17 or 58 */
	__u8 pad[3];
};

struct lbdsr_session {
	__u32 backend_id;
	__u32 slot;
	__u64 last_seen_ns; /* clock of the last packet: bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC at
	                     * tick resolution), or lbdsr_vip_table.test_clock_ns when a test sets it */
};

/* Fragment table (docs/semantics.md, "Fragments"): the ports of a datagram learned from its first
 * fragment, keyed by the datagram's identity. */
#define LBDSR_FRAG_CAPACITY 8192     /* entries of the fragment LRU map */
#define LBDSR_FRAG_TIMEOUT_MS 2000   /* a first fragment's ports serve this long */

struct lbdsr_frag_key {
	__u32 src;   /* network byte order */
	__u32 dst;   /* network byte order */
	__u16 id;    /* IP identification, network byte order as on the wire */
	__u8 proto;
	__u8 pad;
};

/* IPv6 fragment table key (lbdsr_frags6): the fragment header's 32-bit identification. */
struct lbdsr_frag_key6 {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;    /* network byte order as on the wire */
	__u8 proto;
	__u8 pad[3];
};

struct lbdsr_frag {
	__u64 first_seen_ns; /* clock of the first fragment (same clock as lbdsr_session.last_seen_ns) */
	__u16 sport;         /* host byte order */
	__u16 dport;         /* host byte order */
	__u32 pad;
};

/* Backend slot (array map index), shared by the services of an instance. Slots are assigned by the
 * control plane; ids are opaque. */
struct lbdsr_backend {
	__u8 mac[6];     /* all zero while unknown */
	__u8 live;       /* 1 while its sessions stay valid (docs/semantics.md: "live") */
	__u8 held;       /* 1 while a backend holds the slot (read by a restarted daemon, not per frame) */
	__u32 id;
	__u32 service;   /* index of the service whose pool holds it: a session of another service is stale */
};

/* Per-backend per-CPU counters, indexed by slot. */
struct lbdsr_backend_stats {
	__u64 packets;
	__u64 bytes;
	__u64 sessions; /* sessions created towards this backend */
};

/* Service entry: array map indexed by the service index (0..LBDSR_MAX_SERVICES-1). */
struct lbdsr_service {
	__u32 vip;            /* IPv4 VIP, network byte order; 0: none (an IPv6-only service, or no service) */
	__u16 port;           /* host byte order; 0: any port */
	__u8 proto;           /* 6, 17, 1; 0: any protocol */
	__u8 algorithm;       /* LBDSR_ALG_* */
	__u8 mac[6];          /* frontend MAC */
	__u8 pad[2];
	__u32 backends;       /* serving backends (informational: an empty table drops NO_BACKEND) */
	__u8 vip6[16];        /* the IPv6 VIP (all zero: none); a service may have both (dual stack) */
};

/* Service match, per VIP: hash map keyed by VIP (network byte order). One lookup serves ARP, rules 7
 * and 8 and the service match of a frame without a port service: svc_* is, per protocol, the service
 * with that protocol and no port, else the one with neither (LBDSR_SVC_NONE: none). */
#define LBDSR_SVC_NONE 0xffff
#define LBDSR_VIP_PORTS_TCP 1         /* vip.port_protos: the VIP has TCP services with a port */
#define LBDSR_VIP_PORTS_UDP 2         /* ... UDP services with a port */
struct lbdsr_vip {
	__u8 mac[6];          /* frontend MAC of the VIP's services */
	__u8 port_protos;     /* LBDSR_VIP_PORTS_* */
	__u8 pad;
	__u16 svc_tcp;
	__u16 svc_udp;
	__u16 svc_icmp;
	__u16 pad2;
};

/* Services with a port: hash map {vip, port, proto} -> service index (__u32). */
struct lbdsr_port_key {
	__u32 vip;   /* network byte order */
	__u16 port;  /* host byte order */
	__u8 proto;
	__u8 pad;
};

/* IPv6 services with a port: hash map {vip6, port, proto} -> service index (__u32). The IPv6 VIPs
 * have their own map too (lbdsr_vips6: 16-byte address -> struct lbdsr_vip, svc_icmp = ICMPv6). */
struct lbdsr_port_key6 {
	__u8 vip[16];
	__u16 port;  /* host byte order */
	__u8 proto;
	__u8 pad;
};

/* Instance-wide settings: array map with one entry. */
struct lbdsr_config {
	__u8 backend_port_mac[6]; /* source MAC of frames sent out of the backend port */
	__u8 ready;               /* 1 once both port MACs are known */
	__u8 record_non_syn;      /* 1: a TCP miss that is not a SYN records a session (default 0) */
	__u32 backend_ifindex;    /* devmap key 0 holds it too; informational */
	__u8 probe_mac[6];        /* BACKEND port: frames to this MAC are passed (health probe answers) */
	__u8 probe_set;           /* 1 when the instance has a probe address (probe_mac is valid) */
	__u8 flags;               /* LBDSR_CFG_* */
	__u32 pad2;
	__u64 timeout_tcp_ns;
	__u64 timeout_udp_ns;
	__u64 timeout_icmp_ns;
	/* When non-zero, used instead of the kernel's clock: the equality tests run frames at chosen
	 * instants through BPF_PROG_TEST_RUN. Always 0 in production. */
	__u64 test_clock_ns;
};

#endif
