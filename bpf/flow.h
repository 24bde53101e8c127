/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * IPv4 frames to a VIP: validation and the flow key (docs/semantics.md, steps 6-9), including
 * fragments and ICMP errors (whose key is the balanced flow's own key, read from the inner packet).
 */
#ifndef LBDSR_FLOW_H
#define LBDSR_FLOW_H

#include "frag.h"
#include "maps.h"
#include "parse.h"

struct flow {
	struct lbdsr_flow_key key;
	const struct lbdsr_vip *vip; /* the destination's entry (rules 7, 8 and the service match) */
	int icmp_error;
	int non_syn; /* an unfragmented TCP segment without SYN (docs/semantics.md, "Session floods") */
	struct frag frag; /* fragments: what the fragment table does (frag.h) */
};

/* Key of an ICMP error from the inner packet at `off` (`avail` bytes of IP payload left). */
static __always_inline __u32 flow_icmp_inner(const struct cursor *c, __u32 off, __u32 avail, __u32 vip,
					     struct flow *f)
{
	__u32 ihl, hlen;
	__u8 *in, *l4;
	__u8 proto;

	if (avail < IPV4_MIN_HLEN_)
		return LBDSR_DROP_ICMP_INNER;
	in = cursor_at(c, off, IPV4_MIN_HLEN_);
	if (!in)
		return LBDSR_DROP_ICMP_INNER;
	ihl = in[IP_VER_IHL] & 0xf;
	if ((in[IP_VER_IHL] >> 4) != 4 || ihl < 5)
		return LBDSR_DROP_ICMP_INNER;
	hlen = ihl * 4;
	if (hlen + 8 > avail)
		return LBDSR_DROP_ICMP_INNER;
	if (rd32(in + IP_SADDR) != vip)
		return LBDSR_DROP_ICMP_INNER;
	proto = in[IP_PROTO];
	if (!proto_balanced(proto))
		return LBDSR_DROP_ICMP_INNER;

	f->key.src = rd32(in + IP_DADDR);
	f->key.dst = vip;
	f->key.proto = proto;
	f->icmp_error = 1;
	if (rd16(in + IP_FRAG_OFF) & lbdsr_htons(IP_FRAG_MASK_))
		return 0;
	l4 = cursor_at(c, off + hlen, 4);
	if (!l4)
		return LBDSR_DROP_ICMP_INNER;
	if (proto == PROTO_ICMP_) {
		if (l4[0] != ICMP_ECHOREPLY_ && l4[0] != ICMP_ECHO_)
			return LBDSR_DROP_ICMP_INNER;
		return 0;
	}
	f->key.sport = lbdsr_ntohs(rd16(l4 + 2)); /* the inner packet went VIP -> client */
	f->key.dport = lbdsr_ntohs(rd16(l4));
	return 0;
}

/* Returns 0 with `f` filled, or the drop reason. */
static __always_inline __u32 flow_parse(const struct cursor *c, __u32 len, struct flow *f)
{
	__u32 ihl, hlen, tot, l4len, vip;
	__u8 *eth, *ip, *l4;
	__u8 proto;

	if (len < ETH_HLEN_ + IPV4_MIN_HLEN_)
		return LBDSR_DROP_IP_MALFORMED;
	eth = cursor_at(c, 0, ETH_HLEN_ + IPV4_MIN_HLEN_);
	if (!eth)
		return LBDSR_DROP_IP_MALFORMED;
	ip = eth + ETH_HLEN_;
	ihl = ip[IP_VER_IHL] & 0xf;
	if ((ip[IP_VER_IHL] >> 4) != 4 || ihl < 5)
		return LBDSR_DROP_IP_MALFORMED;
	hlen = ihl * 4;
	tot = lbdsr_ntohs(rd16(ip + IP_TOT_LEN));
	if (ETH_HLEN_ + hlen > len || tot < hlen || ETH_HLEN_ + tot > len)
		return LBDSR_DROP_IP_MALFORMED;

	vip = rd32(ip + IP_DADDR);
	f->vip = bpf_map_lookup_elem(&lbdsr_vips, &vip);
	if (!f->vip)
		return LBDSR_DROP_NOT_VIP;
	if (!mac_eq(eth + ETH_DST, f->vip->mac))
		return LBDSR_DROP_DST_MAC;
	proto = ip[IP_PROTO];
	if (!proto_balanced(proto))
		return LBDSR_DROP_PROTO;

	f->key.src = rd32(ip + IP_SADDR);
	f->key.dst = vip;
	f->key.proto = proto;
	if (rd16(ip + IP_FRAG_OFF) & lbdsr_htons(IP_FRAG_MASK_)) {
		frag_parse(c, ip, hlen, tot, &f->key, &f->frag);
		/* a TCP fragment is never taken for a SYN (docs/semantics.md, "Session floods") */
		if (proto == PROTO_TCP_)
			f->non_syn = 1;
		return 0;
	}

	l4len = tot - hlen;
	if (proto == PROTO_TCP_ || proto == PROTO_UDP_) {
		if (l4len < (proto == PROTO_TCP_ ? 20u : 8u))
			return LBDSR_DROP_L4_TRUNCATED;
		l4 = cursor_at(c, ETH_HLEN_ + hlen, proto == PROTO_TCP_ ? TCP_FLAGS_ + 1 : 4);
		if (!l4)
			return LBDSR_DROP_L4_TRUNCATED;
		f->key.sport = lbdsr_ntohs(rd16(l4));
		f->key.dport = lbdsr_ntohs(rd16(l4 + 2));
		if (proto == PROTO_TCP_ && !(l4[TCP_FLAGS_] & TCP_SYN_))
			f->non_syn = 1;
		return 0;
	}

	/* ICMP */
	if (l4len < ICMP_HLEN_)
		return LBDSR_DROP_L4_TRUNCATED;
	l4 = cursor_at(c, ETH_HLEN_ + hlen, ICMP_HLEN_);
	if (!l4)
		return LBDSR_DROP_L4_TRUNCATED;
	switch (l4[0]) {
	case ICMP_ECHOREPLY_:
	case ICMP_ECHO_:
		return 0;
	case ICMP_DEST_UNREACH_:
	case ICMP_TIME_EXCEEDED_:
	case ICMP_PARAMETERPROB_:
		return flow_icmp_inner(c, ETH_HLEN_ + hlen + ICMP_HLEN_, l4len - ICMP_HLEN_, vip, f);
	default:
		return LBDSR_DROP_ICMP_TYPE;
	}
}

#endif
