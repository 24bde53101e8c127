/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * IPv6 frames to a VIP: validation, the extension-header walk and the flow key (docs/semantics.md,
 * "IPv6", rules 6', 7', 8' and 9'), fragments and ICMPv6 errors included (an error's key is the
 * quoted flow's own key, read from the quoted packet). Neighbor Discovery (rule 6b) is nd.h's. Kept
 * apart from flow.h so that the IPv4 path runs none of it: lbdsr_decide branches on the EtherType once.
 */
#ifndef LBDSR_IPV6_H
#define LBDSR_IPV6_H

#include "frag.h"
#include "maps.h"
#include "parse.h"

#define IP6_L3_END_ (ETH_HLEN_ + IPV6_HLEN_) /* 54: the first byte after the fixed header */
#define IP6_EXT_HOP 0
#define IP6_EXT_ROUTING 43
#define IP6_EXT_FRAGMENT 44
#define IP6_EXT_DSTOPTS 60
#define ICMP6_DEST_UNREACH_ 1
#define ICMP6_PARAMPROB_ 4 /* 1..4: the errors (2 packet too big, 3 time exceeded) */
#define ICMP6_ECHO_REQUEST_ 128
#define ICMP6_ECHO_REPLY_ 129

struct flow6 {
	struct lbdsr_flow_key6 key;
	const struct lbdsr_vip *vip; /* the destination's entry in lbdsr_vips6 */
	int icmp_error;
	int non_syn; /* an unfragmented TCP segment without SYN (docs/semantics.md, "Session floods") */
	struct frag frag;
};

/* Where a walk of the extension headers ended (rule 9'). */
struct walk6 {
	__u32 off;   /* the transport header (of a later fragment: right after its fragment header) */
	__u32 id;    /* the fragment header's identification, as on the wire */
	__u8 nh;     /* the protocol */
	__u8 frag;   /* a fragment: offset != 0 or M set (an atomic fragment is not) */
	__u8 later;  /* offset != 0: no transport header */
};

/* cursor_at for an offset the walk computed: the bounds check stays on the pointer itself, where
 * the verifier reads it (the compiler may otherwise fold it into a scalar comparison). */
static __always_inline __u8 *cursor_var(const struct cursor *c, __u32 off, __u32 need)
{
	__u8 *p = c->data + (off & 0x1ffff);

	asm volatile("" : "+r"(p));
	if (p + need > c->end)
		return 0;
	return p;
}

static __always_inline int ip6_eq(const __u8 *a, const __u8 *b)
{
	return rd32(a) == rd32(b) && rd32(a + 4) == rd32(b + 4) && rd32(a + 8) == rd32(b + 8) &&
	       rd32(a + 12) == rd32(b + 12);
}

/* An address into the flow key (8-byte aligned in struct flow6: the stack wants aligned 8-byte
 * stores), with two 8-byte loads from the packet (unaligned packet loads are allowed). */
static __always_inline void ip6_copy_key(__u8 *dst, const __u8 *src)
{
	*(__u64 *)dst = *(const __u64 *)src;
	*(__u64 *)(dst + 8) = *(const __u64 *)(src + 8);
}

static __always_inline void ip6_copy(__u8 *dst, const __u8 *src)
{
	*(__u32 *)dst = rd32(src);
	*(__u32 *)(dst + 4) = rd32(src + 4);
	*(__u32 *)(dst + 8) = rd32(src + 8);
	*(__u32 *)(dst + 12) = rd32(src + 12);
}

/*
 * Walks the extension headers from `off` (next header `nh`) up to `end`: at most LBDSR_IPV6_MAX_EXT,
 * each inside `end`, one fragment header. Returns 0 with `w` filled, 1 when the chain is too long or
 * cut. A later fragment ends the walk at its fragment header; so does a first fragment when
 * `stop_at_frag` (a quoted packet: its protocol is the fragment header's next header).
 */
static __always_inline int ipv6_walk(const struct cursor *c, __u32 off, __u32 end, __u8 nh,
				     const int stop_at_frag, struct walk6 *w)
{
	__u32 i, fo, seen = 0;
	__u8 *h;

	w->frag = 0;
	w->later = 0;
	w->id = 0;
	for (i = 0; i <= LBDSR_IPV6_MAX_EXT; i++) {
		if (nh != IP6_EXT_HOP && nh != IP6_EXT_ROUTING && nh != IP6_EXT_DSTOPTS && nh != IP6_EXT_FRAGMENT)
			break;
		if (i == LBDSR_IPV6_MAX_EXT)
			return 1;
		/* `off` stays below 54 + 9 * 2048 (and `end` below 54 + 65536): the verifier sees the bound */
		off &= 0x1ffff;
		if (off + 8 > end)
			return 1;
		h = cursor_var(c, off, 8);
		if (!h)
			return 1;
		if (nh != IP6_EXT_FRAGMENT) {
			__u32 hl = ((__u32)h[1] + 1) * 8;

			if (off + hl > end)
				return 1;
			nh = h[0];
			off += hl;
			continue;
		}
		if (seen)
			return 1; /* a second fragment header */
		seen = 1;
		nh = h[0];
		fo = lbdsr_ntohs(rd16(h + 2)) >> 3;
		w->id = rd32(h + 4);
		off += 8;
		/* an atomic fragment (offset 0, M clear) is not a fragment: the walk goes on */
		if (fo || (h[3] & 1)) {
			w->frag = 1;
			w->later = fo != 0;
			if (w->later || stop_at_frag)
				break;
		}
	}
	w->off = off & 0x1ffff;
	w->nh = nh;
	return 0;
}

static __always_inline int proto6_balanced(__u8 proto)
{
	return proto == PROTO_TCP_ || proto == PROTO_UDP_ || proto == PROTO_ICMPV6_;
}

/* Key of an ICMPv6 error from the quoted packet at `in` (the quoted bytes end at `end`). */
static __always_inline __u32 flow6_icmp_inner(const struct cursor *c, __u32 in, __u32 end, struct flow6 *f)
{
	struct walk6 w;
	__u8 *q, *l4;

	if (in + IPV6_HLEN_ > end)
		return LBDSR_DROP_ICMP_INNER;
	q = cursor_var(c, in, IPV6_HLEN_);
	if (!q)
		return LBDSR_DROP_ICMP_INNER;
	if ((q[IP6_VER] >> 4) != 6 || !ip6_eq(q + IP6_SADDR, f->key.dst))
		return LBDSR_DROP_ICMP_INNER;
	if (ipv6_walk(c, in + IPV6_HLEN_, end, q[IP6_NEXT], 1, &w))
		return LBDSR_DROP_ICMP_INNER;
	if (!proto6_balanced(w.nh))
		return LBDSR_DROP_ICMP_INNER;
	/* the quoted packet went from the VIP to the client: the key is the flow's own */
	ip6_copy(f->key.src, q + IP6_DADDR);
	f->key.proto = w.nh;
	f->icmp_error = 1;
	if (w.frag)
		return 0;
	if (w.off + 8 > end)
		return LBDSR_DROP_ICMP_INNER;
	l4 = cursor_var(c, w.off, 8);
	if (!l4)
		return LBDSR_DROP_ICMP_INNER;
	if (w.nh == PROTO_ICMPV6_) {
		if (l4[0] != ICMP6_ECHO_REQUEST_ && l4[0] != ICMP6_ECHO_REPLY_)
			return LBDSR_DROP_ICMP_INNER;
		return 0;
	}
	f->key.sport = lbdsr_ntohs(rd16(l4 + 2));
	f->key.dport = lbdsr_ntohs(rd16(l4));
	return 0;
}

/* A fragment (rule 9' as IPv4 rule 9): a TCP/UDP first fragment with 4 bytes has its ports, a later
 * one looks its datagram up (frag_lookup); ICMPv6 keeps {src, dst, 0, 0, 58}. */
static __always_inline void flow6_frag(const struct cursor *c, const struct walk6 *w, __u32 end, struct flow6 *f)
{
	__u8 *l4;

	if (f->key.proto == PROTO_TCP_)
		f->non_syn = 1; /* never taken for a SYN (docs/semantics.md, "Session floods") */
	if (f->key.proto == PROTO_ICMPV6_)
		return;
	f->frag.id = w->id;
	if (w->later) {
		f->frag.state = FRAG_LATER;
		return;
	}
	if (w->off + 4 > end)
		return;
	l4 = cursor_var(c, w->off, 4);
	if (!l4)
		return;
	f->key.sport = lbdsr_ntohs(rd16(l4));
	f->key.dport = lbdsr_ntohs(rd16(l4 + 2));
	f->frag.state = FRAG_FIRST;
}

/* The fields of the key and of `f` that the parse does not always write: zeroed one by one (the
 * addresses are always written; zeroing the whole struct costs 9 stores per frame). */
static __always_inline void flow6_clear(struct flow6 *f)
{
	f->key.sport = 0;
	f->key.dport = 0;
	f->key.proto = 0;
	f->key.pad[0] = f->key.pad[1] = f->key.pad[2] = 0;
	f->icmp_error = 0;
	f->non_syn = 0;
	f->frag.state = FRAG_NONE;
	f->frag.counter = 0;
	f->frag.id = 0;
}

/* `n` bytes of the transport header at `off`: at the constant 54 (`fixed`, no extension header) a
 * plain bounds check, else cursor_var's. */
static __always_inline __u8 *flow6_l4_at(const struct cursor *c, __u32 off, __u32 n, const int fixed)
{
	return fixed ? cursor_at(c, IP6_L3_END_, n) : cursor_var(c, off, n);
}

/* Rule 9' for an unfragmented packet whose transport header (protocol `nh`) is at `off` (the
 * constant 54 when `fixed`): the ports, the SYN flag, the ICMPv6 type. */
static __always_inline __u32 flow6_l4(const struct cursor *c, __u32 off, __u32 end, __u8 nh, const int fixed,
				      struct flow6 *f)
{
	__u32 l4len = end - off;
	__u8 *l4;

	/* one branch per protocol: the verifier sees each read under its own bounds check */
	if (nh == PROTO_TCP_) {
		if (l4len < 20)
			return LBDSR_DROP_L4_TRUNCATED;
		l4 = flow6_l4_at(c, off, TCP_FLAGS_ + 1, fixed);
		if (!l4)
			return LBDSR_DROP_L4_TRUNCATED;
		f->key.sport = lbdsr_ntohs(rd16(l4));
		f->key.dport = lbdsr_ntohs(rd16(l4 + 2));
		if (!(l4[TCP_FLAGS_] & TCP_SYN_))
			f->non_syn = 1;
		return 0;
	}
	if (nh == PROTO_UDP_) {
		if (l4len < 8)
			return LBDSR_DROP_L4_TRUNCATED;
		l4 = flow6_l4_at(c, off, 4, fixed);
		if (!l4)
			return LBDSR_DROP_L4_TRUNCATED;
		f->key.sport = lbdsr_ntohs(rd16(l4));
		f->key.dport = lbdsr_ntohs(rd16(l4 + 2));
		return 0;
	}

	/* ICMPv6 */
	if (l4len < ICMP_HLEN_)
		return LBDSR_DROP_L4_TRUNCATED;
	l4 = flow6_l4_at(c, off, ICMP_HLEN_, fixed);
	if (!l4)
		return LBDSR_DROP_L4_TRUNCATED;
	if (l4[0] == ICMP6_ECHO_REQUEST_ || l4[0] == ICMP6_ECHO_REPLY_)
		return 0;
	if (l4[0] >= ICMP6_DEST_UNREACH_ && l4[0] <= ICMP6_PARAMPROB_)
		return flow6_icmp_inner(c, off + ICMP_HLEN_, end, f);
	return LBDSR_DROP_ICMP_TYPE;
}

/* Rules 7', 8' and 9' of an IPv6 frame that passed rule 6' (`end` = 54 + payload length): 0 with `f`
 * filled, or the drop reason. */
static __always_inline __u32 flow6_parse(const struct cursor *c, __u32 end, struct flow6 *f)
{
	struct walk6 w;
	__u8 *eth, *ip;
	__u8 nh;

	eth = cursor_at(c, 0, IP6_L3_END_);
	if (!eth)
		return LBDSR_DROP_IP_MALFORMED;
	ip = eth + ETH_HLEN_;
	/* the key of the lookup is the address in the frame: no copy to wait for */
	f->vip = bpf_map_lookup_elem(&lbdsr_vips6, ip + IP6_DADDR);
	if (!f->vip)
		return LBDSR_DROP_NOT_VIP;
	if (!mac_eq(eth + ETH_DST, f->vip->mac))
		return LBDSR_DROP_DST_MAC;
	flow6_clear(f);
	ip6_copy_key(f->key.src, ip + IP6_SADDR);
	ip6_copy_key(f->key.dst, ip + IP6_DADDR);
	nh = ip[IP6_NEXT];
	/* most packets carry no extension header: no walk, and the transport header at a constant offset */
	if (proto6_balanced(nh)) {
		f->key.proto = nh;
		return flow6_l4(c, IP6_L3_END_, end, nh, 1, f);
	}
	if (ipv6_walk(c, IP6_L3_END_, end, nh, 0, &w))
		return LBDSR_DROP_IPV6_EXT;
	if (!proto6_balanced(w.nh))
		return LBDSR_DROP_PROTO;
	f->key.proto = w.nh;
	if (w.frag) {
		flow6_frag(c, &w, end, f);
		return 0;
	}
	return flow6_l4(c, w.off, end, w.nh, 0, f);
}

#endif
