/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Frame parsing: a cursor over [data, data_end) that checks bounds before every read, and the
 * field offsets of the headers lbdsr reads. The semantic length checks of docs/semantics.md are
 * done on the scalar frame length; the cursor's pointer checks then only satisfy the verifier
 * (they are implied by the semantic checks and never decide a verdict on their own).
 */
#ifndef LBDSR_PARSE_H
#define LBDSR_PARSE_H

#include "bpf_defs.h"

#define ETH_HLEN_ 14
#define ETH_P_IPV4_ 0x0800
#define ETH_P_ARP_ 0x0806
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_IPV6_ 0x86dd

#define ARP_LEN_ 28       /* Ethernet/IPv4 ARP body */
#define IPV4_MIN_HLEN_ 20
#define IP_FRAG_MASK_ 0x3fff /* MF flag and fragment offset */

struct cursor {
	__u8 *data;
	__u8 *end;
};

/* Pointer to `need` bytes at `off`, or NULL when they are not all inside the frame. */
static __always_inline __u8 *cursor_at(const struct cursor *c, __u32 off, __u32 need)
{
	__u8 *p = c->data + off;

	if (p + need > c->end)
		return 0;
	return p;
}

/* Field readers on a pointer the cursor has validated. Packet loads may be unaligned on the
 * architectures XDP runs on (the verifier allows it without strict alignment). */
static __always_inline __u16 rd16(const __u8 *p)
{
	return *(const __u16 *)p;
}

static __always_inline __u32 rd32(const __u8 *p)
{
	return *(const __u32 *)p;
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return rd32(a) == rd32(b) && rd16(a + 4) == rd16(b + 4);
}

static __always_inline int mac_is_broadcast(const __u8 *a)
{
	return rd32(a) == 0xffffffffu && rd16(a + 4) == 0xffff;
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	*(__u32 *)dst = rd32(src);
	*(__u16 *)(dst + 4) = rd16(src + 4);
}

/* Ethernet */
#define ETH_DST 0
#define ETH_SRC 6
#define ETH_TYPE 12

/* ARP body, relative to its start (offset 14). */
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN 4
#define ARP_PLEN 5
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24

/* IPv4 header, relative to its start. */
#define IP_VER_IHL 0
#define IP_TOT_LEN 2
#define IP_FRAG_OFF 6
#define IP_PROTO 9
#define IP_SADDR 12
#define IP_DADDR 16

/* IPv6 header, relative to its start (offset 14): fixed 40 bytes. */
#define IPV6_HLEN_ 40
#define IP6_VER 0
#define IP6_PLEN 4
#define IP6_NEXT 6
#define IP6_HOPS 7
#define IP6_SADDR 8
#define IP6_DADDR 24

#define PROTO_ICMP_ 1
#define PROTO_TCP_ 6
#define PROTO_UDP_ 17
#define PROTO_ICMPV6_ 58

#define ICMP_ECHOREPLY_ 0
#define ICMP_DEST_UNREACH_ 3
#define ICMP_ECHO_ 8
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_PARAMETERPROB_ 12
#define ICMP_HLEN_ 8
#define TCP_FLAGS_ 13 /* offset of the flags byte in the TCP header */
#define TCP_SYN_ 0x02

static __always_inline int proto_balanced(__u8 proto)
{
	return proto == PROTO_TCP_ || proto == PROTO_UDP_ || proto == PROTO_ICMP_;
}

#endif
