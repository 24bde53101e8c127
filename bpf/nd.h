/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Neighbor Discovery for the IPv6 VIPs (docs/semantics.md, "IPv6", rule 6b): a valid Neighbor
 * Solicitation (RFC 4861 7.1.1, its ICMPv6 checksum verified) for a VIP is answered by turning the
 * frame into the Neighbor Advertisement, exactly LBDSR_NA_FRAME_LEN bytes (bpf_xdp_adjust_tail cuts or
 * extends it), sent back out of the FRONTEND port; every other ND message drops `ND`. The IPv6
 * counterpart of arp.h.
 */
#ifndef LBDSR_ND_H
#define LBDSR_ND_H

#include "ipv6.h"
#include "maps.h"
#include "parse.h"

static long (*bpf_xdp_adjust_tail)(struct xdp_md *ctx, int delta) = (void *)BPF_FUNC_xdp_adjust_tail;

#define ND_ROUTER_SOLICIT_ 133
#define ND_REDIRECT_ 137
#define ND_NEIGHBOR_SOLICIT_ 135
#define ND_NEIGHBOR_ADVERT_ 136
#define ND_NS_LEN_ 24      /* type, code, checksum, reserved, target */
#define ND_TARGET_ 8       /* the target address, in the ICMPv6 message */
#define ND_NA_PLEN_ 32     /* the advertisement's ICMPv6 bytes: 24 + the 8-byte link-layer option */
#define ND_NA_FLAGS_ 0x60  /* Solicited | Override */
#define ND_OPT_TLLA_ 2

/* Rule 6b applies: next header 58 straight after the fixed header, an ND type (133..137). */
static __always_inline int nd_message(const __u8 *ip, const __u8 *icmp)
{
	return ip[IP6_NEXT] == PROTO_ICMPV6_ && icmp[0] >= ND_ROUTER_SOLICIT_ && icmp[0] <= ND_REDIRECT_;
}

/* Ones' complement sum, folded to 16 bits, of 32-bit words read as they lie in memory. */
static __always_inline __u32 csum_fold32(__u64 sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u32)sum;
}

/* The sum of the ICMPv6 pseudo-header (the addresses at frame bytes 22..53, the upper-layer length
 * `plen` and next header 58) and `plen` payload bytes from 54 (`plen` a multiple of 4, at most
 * LBDSR_ND_MAX_LEN): 0xffff for a message with a valid checksum. */
static __always_inline __u32 icmp6_sum(const struct cursor *c, __u32 plen)
{
	__u64 sum = lbdsr_htonl(plen) + lbdsr_htonl(PROTO_ICMPV6_);
	__u32 i;
	__u8 *p;

	p = cursor_at(c, ETH_HLEN_ + IP6_SADDR, 32);
	if (!p)
		return 0;
	for (i = 0; i < 32; i += 4)
		sum += rd32(p + i);
	for (i = 0; i < LBDSR_ND_MAX_LEN; i += 4) {
		if (i >= plen)
			break;
		p = c->data + IP6_L3_END_ + i;
		/* keep the bounds check on the pointer itself, where the verifier reads it */
		asm volatile("" : "+r"(p));
		if (p + 4 > c->end)
			return 0;
		sum += rd32(p);
	}
	return csum_fold32(sum);
}

/* The solicitation checks of rule 6b: 0 with the VIP's entry in `*vp`, else LBDSR_DROP_ND. */
static __always_inline __u32 nd_check(const struct cursor *c, const struct lbdsr_config *cfg, __u32 plen,
				      const struct lbdsr_vip **vp)
{
	const struct lbdsr_vip *v;
	__u8 *eth, *ip, *ns, *dst;

	if (plen < ND_NS_LEN_ || plen > LBDSR_ND_MAX_LEN || (plen & 7))
		return LBDSR_DROP_ND;
	eth = cursor_at(c, 0, IP6_L3_END_ + ND_NS_LEN_);
	if (!eth)
		return LBDSR_DROP_ND;
	ip = eth + ETH_HLEN_;
	ns = eth + IP6_L3_END_;
	dst = ip + IP6_DADDR;
	if (ns[0] != ND_NEIGHBOR_SOLICIT_ || ip[IP6_HOPS] != 255 || ns[1] != 0)
		return LBDSR_DROP_ND;
	/* duplicate address detection (source ::): not answered */
	if (!(rd32(ip + IP6_SADDR) | rd32(ip + IP6_SADDR + 4) | rd32(ip + IP6_SADDR + 8) | rd32(ip + IP6_SADDR + 12)))
		return LBDSR_DROP_ND;
	v = bpf_map_lookup_elem(&lbdsr_vips6, ns + ND_TARGET_);
	if (!v)
		return LBDSR_DROP_ND;
	/* to the target itself, or to its solicited-node multicast address ff02::1:ffXX:XXXX */
	if (!ip6_eq(dst, ns + ND_TARGET_) &&
	    !(rd32(dst) == lbdsr_htonl(0xff020000) && rd32(dst + 4) == 0 && rd32(dst + 8) == lbdsr_htonl(1) &&
	      dst[12] == 0xff && dst[13] == ns[ND_TARGET_ + 13] && dst[14] == ns[ND_TARGET_ + 14] &&
	      dst[15] == ns[ND_TARGET_ + 15]))
		return LBDSR_DROP_ND;
	if (!mac_eq(eth + ETH_DST, v->mac) &&
	    !(eth[0] == 0x33 && eth[1] == 0x33 && rd32(eth + 2) == rd32(dst + 12)))
		return LBDSR_DROP_ND;
	/* ROUTED or standby: no solicitation for a VIP is answered */
	if (cfg->flags & LBDSR_CFG_NO_ARP)
		return LBDSR_DROP_ND;
	if (icmp6_sum(c, plen) != 0xffff)
		return LBDSR_DROP_ND;
	*vp = v;
	return 0;
}

/*
 * Rule 6b for an ND message (nd_message()) of `plen` ICMPv6 bytes in a frame of `len` bytes: 0 once the
 * frame is the advertisement (LBDSR_NA_FRAME_LEN bytes; every packet pointer taken before is then
 * invalid), else the drop reason.
 */
static __always_inline __u32 nd_reply(struct xdp_md *ctx, const struct lbdsr_config *cfg, __u32 len, __u32 plen)
{
	struct cursor c = { .data = (__u8 *)(long)ctx->data, .end = (__u8 *)(long)ctx->data_end };
	const struct lbdsr_vip *v = 0;
	__u8 peer_mac[6], peer[16], vip[16];
	__u8 *eth, *ip, *na;
	__u64 sum;
	__u32 reason, i;

	reason = nd_check(&c, cfg, plen, &v);
	if (reason)
		return reason;
	eth = cursor_at(&c, 0, IP6_L3_END_ + ND_NS_LEN_);
	if (!eth || !v)
		return LBDSR_DROP_ND;
	mac_copy(peer_mac, eth + ETH_SRC);
	ip6_copy(peer, eth + ETH_HLEN_ + IP6_SADDR);
	ip6_copy(vip, eth + IP6_L3_END_ + ND_TARGET_);

	if (len != LBDSR_NA_FRAME_LEN && bpf_xdp_adjust_tail(ctx, (int)LBDSR_NA_FRAME_LEN - (int)len))
		return LBDSR_DROP_TX_FAILED; /* no room to extend the frame: nothing is sent */
	c.data = (__u8 *)(long)ctx->data;
	c.end = (__u8 *)(long)ctx->data_end;
	eth = cursor_at(&c, 0, LBDSR_NA_FRAME_LEN);
	if (!eth)
		return LBDSR_DROP_TX_FAILED;
	ip = eth + ETH_HLEN_;
	na = eth + IP6_L3_END_;
	mac_copy(eth + ETH_DST, peer_mac);
	mac_copy(eth + ETH_SRC, v->mac);
	*(__u16 *)(eth + ETH_TYPE) = lbdsr_htons(ETH_P_IPV6_);
	*(__u32 *)(ip + IP6_VER) = lbdsr_htonl(0x60000000);
	*(__u16 *)(ip + IP6_PLEN) = lbdsr_htons(ND_NA_PLEN_);
	ip[IP6_NEXT] = PROTO_ICMPV6_;
	ip[IP6_HOPS] = 255;
	ip6_copy(ip + IP6_SADDR, vip);
	ip6_copy(ip + IP6_DADDR, peer);
	*(__u32 *)na = 0;
	na[0] = ND_NEIGHBOR_ADVERT_;
	*(__u32 *)(na + 4) = 0;
	na[4] = ND_NA_FLAGS_;
	ip6_copy(na + ND_TARGET_, vip);
	na[ND_NS_LEN_] = ND_OPT_TLLA_;
	na[ND_NS_LEN_ + 1] = 1;
	mac_copy(na + ND_NS_LEN_ + 2, v->mac);

	/* the checksum: pseudo-header (the addresses are bytes 22..53) and the 32 ICMPv6 bytes */
	sum = lbdsr_htonl(ND_NA_PLEN_) + lbdsr_htonl(PROTO_ICMPV6_);
	for (i = ETH_HLEN_ + IP6_SADDR; i < LBDSR_NA_FRAME_LEN; i += 4)
		sum += rd32(eth + i);
	*(__u16 *)(na + 2) = (__u16)~csum_fold32(sum);
	return 0;
}

#endif
