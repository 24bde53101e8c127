/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The benchmark's ceiling: the least an L2 DSR balancer must do per frame. Parse Ethernet and
 * IPv4 (TCP/UDP ports), check the VIP, one hash-map lookup of the flow, MAC rewrite, redirect.
 * No ARP, no counters, no timeouts, no ICMP or fragments. bench/xdp.ts compares lbdsr to it.
 */
#include "bpf_defs.h"
#include "lbdsr_shared.h"
#include "parse.h"

struct ceiling_config {
	__u32 vip;       /* network byte order */
	__u8 src_mac[6]; /* backend port MAC */
	__u8 pad[2];
};

struct ceiling_target {
	__u8 mac[6];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ceiling_config);
} ceil_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1000000);
	__type(key, struct lbdsr_flow_key);
	__type(value, struct ceiling_target);
} ceil_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ceil_devmap SEC(".maps");

SEC("xdp")
int ceiling_xdp(struct xdp_md *ctx)
{
	struct cursor c = { .data = (__u8 *)(long)ctx->data, .end = (__u8 *)(long)ctx->data_end };
	struct lbdsr_flow_key key = {};
	struct ceiling_config *cfg;
	struct ceiling_target *t;
	__u8 *eth, *ip, *l4;
	__u32 zero = 0;

	eth = cursor_at(&c, 0, ETH_HLEN_ + IPV4_MIN_HLEN_);
	if (!eth || rd16(eth + ETH_TYPE) != lbdsr_htons(ETH_P_IPV4_))
		return XDP_PASS;
	ip = eth + ETH_HLEN_;
	if (ip[IP_VER_IHL] != 0x45)
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&ceil_config, &zero);
	if (!cfg || rd32(ip + IP_DADDR) != cfg->vip)
		return XDP_PASS;
	l4 = cursor_at(&c, ETH_HLEN_ + IPV4_MIN_HLEN_, 4);
	if (!l4)
		return XDP_DROP;
	key.src = rd32(ip + IP_SADDR);
	key.dst = cfg->vip;
	key.sport = lbdsr_ntohs(rd16(l4));
	key.dport = lbdsr_ntohs(rd16(l4 + 2));
	key.proto = ip[IP_PROTO];
	t = bpf_map_lookup_elem(&ceil_flows, &key);
	if (!t)
		return XDP_DROP;
	mac_copy(eth + ETH_DST, t->mac);
	mac_copy(eth + ETH_SRC, cfg->src_mac);
	return bpf_redirect_map(&ceil_devmap, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
