/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* ARP requests for a VIP are answered in place (docs/semantics.md, step 4). */
#ifndef LBDSR_ARP_H
#define LBDSR_ARP_H

#include "maps.h"
#include "parse.h"

/* Returns 0 after rewriting the frame into the reply, else the drop reason. */
static __always_inline __u32 arp_reply(const struct cursor *c, __u32 len)
{
	const struct lbdsr_vip *v;
	__u32 vip, spa;
	__u8 *eth, *arp;
	__u8 sha[6];

	if (len < ETH_HLEN_ + ARP_LEN_)
		return LBDSR_DROP_ARP;
	eth = cursor_at(c, 0, ETH_HLEN_ + ARP_LEN_);
	if (!eth)
		return LBDSR_DROP_ARP;
	arp = eth + ETH_HLEN_;
	if (rd16(arp + ARP_HTYPE) != lbdsr_htons(1) || rd16(arp + ARP_PTYPE) != lbdsr_htons(ETH_P_IPV4_) ||
	    arp[ARP_HLEN] != 6 || arp[ARP_PLEN] != 4 || rd16(arp + ARP_OP) != lbdsr_htons(1))
		return LBDSR_DROP_ARP;
	vip = rd32(arp + ARP_TPA);
	/* Every VIP of the instance, whatever its services' protocols and ports. */
	v = bpf_map_lookup_elem(&lbdsr_vips, &vip);
	if (!v)
		return LBDSR_DROP_ARP;
	if (!mac_is_broadcast(eth + ETH_DST) && !mac_eq(eth + ETH_DST, v->mac))
		return LBDSR_DROP_ARP;

	spa = rd32(arp + ARP_SPA);
	mac_copy(sha, arp + ARP_SHA);
	mac_copy(eth + ETH_DST, eth + ETH_SRC);
	mac_copy(eth + ETH_SRC, v->mac);
	*(__u16 *)(arp + ARP_OP) = lbdsr_htons(2);
	mac_copy(arp + ARP_THA, sha);
	*(__u32 *)(arp + ARP_TPA) = spa;
	mac_copy(arp + ARP_SHA, v->mac);
	*(__u32 *)(arp + ARP_SPA) = vip;
	return 0;
}

#endif
