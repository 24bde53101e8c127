/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * lbdsr XDP programs: docs/semantics.md in the kernel. lbdsr_xdp runs on the FRONTEND port,
 * lbdsr_backend on the BACKEND port (where ARP and frames to the probe MAC are passed to the kernel
 * and every other frame is dropped); balanced frames leave through the devmap. In one-arm
 * (LBDSR_CFG_ONE_ARM: both ports are one interface) only lbdsr_xdp runs, passes the frames to the
 * probe MAC itself and sends balanced frames back out of that interface (XDP_TX). lbdsr_config.flags
 * also selects the frontend modes' ARP silence (LBDSR_CFG_NO_ARP) and host pass (LBDSR_CFG_HOST_PASS:
 * frames for the host go to its stack, XDP_PASS). lbdsr_explain is the same decision compiled to
 * record nothing and report what it found (explain.h), run by user space with BPF_PROG_TEST_RUN on
 * one frame.
 * IPv6 frames (docs/semantics.md, "IPv6") take their own branch on the EtherType (decide6) and join
 * the IPv4 path at the service match (balance(), with `v6` a constant in each copy): the IPv4 path
 * runs no IPv6 code. lbdsr_backend also passes IPv6 Neighbor Discovery (rule 1).
 * Helpers by concern: parse.h (cursor), arp.h, flow.h (IPv4 and flow key), ipv6.h (IPv6: the
 * extension-header walk and the flow key), nd.h (Neighbor Solicitations for a VIP answered), frag.h
 * (the fragment tables: later fragments take the ports of their first one), service.h (which service
 * of the VIP a key matches), session.h (sessions and Maglev), jhash.h, maps.h, counters.h; layouts in
 * lbdsr_shared.h.
 */
#include "arp.h"
#include "counters.h"
#include "explain.h"
#include "flow.h"
#include "frag.h"
#include "ipv6.h"
#include "maps.h"
#include "nd.h"
#include "parse.h"
#include "service.h"
#include "session.h"

/* Drops that CFG_HOST_PASS turns into XDP_PASS (docs/semantics.md, "Frontend modes": rules 3, 4, 5,
 * 6b and 7 / 7', the frames that are not for a VIP); a frame for a VIP is never passed. */
#define HOST_PASS_REASONS                                                                           \
	((1u << LBDSR_DROP_VLAN) | (1u << LBDSR_DROP_ARP) | (1u << LBDSR_DROP_ETHERTYPE) |          \
	 (1u << LBDSR_DROP_NOT_VIP) | (1u << LBDSR_DROP_ND))

/* Whether the FRONTEND drop `reason` is a frame for the host's stack instead. */
static __always_inline int host_passes(const struct lbdsr_config *cfg, __u32 reason)
{
	return (cfg->flags & LBDSR_CFG_HOST_PASS) && reason < 32 && ((1u << reason) & HOST_PASS_REASONS);
}

/* One-arm, rule 1: a frame to the probe MAC is the health prober's (a probe's answer, an ARP answer to
 * the prober), passed to the kernel as on a BACKEND port. */
static __always_inline int one_arm_probe(const struct lbdsr_config *cfg, const __u8 *eth)
{
	return (cfg->flags & LBDSR_CFG_ONE_ARM) && cfg->probe_set && mac_eq(eth + ETH_DST, cfg->probe_mac);
}

/* Idle timeouts are seconds: the coarse clock (a tick's resolution) is plenty and costs a fraction of
 * bpf_ktime_get_ns() (~25 ns less per frame in a VM). */
static __always_inline __u64 clock_now(const struct lbdsr_config *cfg)
{
	__u64 now = cfg->test_clock_ns;

	if (likely(!now))
		now = bpf_ktime_get_coarse_ns();
	return now;
}

/*
 * Rules 9a..12 for a frame whose key is known: `key` is a struct lbdsr_flow_key, or a struct
 * lbdsr_flow_key6 when `v6` (a constant in each inlined copy), `vip` the destination's entry.
 */
static __always_inline __u32 balance(const struct cursor *c, const struct lbdsr_config *cfg,
				     struct lbdsr_counters *cnt, __u32 *action, const int explain,
				     struct lbdsr_explain *tr, __u32 len, void *key, const int v6,
				     const struct lbdsr_vip *vip, int icmp_error, int non_syn, struct frag *fr)
{
	struct service_match sm;
	struct choice ch;
	__u32 reason;
	__u64 now;
	__u8 *eth;

	now = clock_now(cfg);
	/* The key is complete once a later fragment has its first one's ports (rule 9). */
	frag_lookup(key, v6, fr, now);
	reason = service_match(vip, key, v6, &sm);
	if (reason)
		return reason;
	if (explain)
		tr->service = sm.index;
	if (!cfg->ready)
		return LBDSR_DROP_NOT_READY;
	reason = choose_backend(cfg, &sm, key, v6, icmp_error, non_syn, now, &ch, explain ? tr : 0);
	if (reason)
		return reason;

	/* The frame was bounds-checked by the parser; the verifier wants it again here. */
	eth = cursor_at(c, 0, ETH_HLEN_);
	if (!eth)
		return LBDSR_DROP_TRUNCATED;
	mac_copy(eth + ETH_DST, ch.backend->mac);
	mac_copy(eth + ETH_SRC, cfg->backend_port_mac);
	if (explain) {
		/* what the frame would do; nothing is sent nor recorded */
		tr->slot = ch.slot;
		tr->backend_id = ch.backend->id;
		*action = XDP_REDIRECT;
		return 0;
	}
	/* One-arm: back out of the interface it came in on, which cannot fail here (no devmap). */
	if (cfg->flags & LBDSR_CFG_ONE_ARM) {
		*action = XDP_TX;
	} else {
		/* Before anything is recorded: a frame that cannot leave leaves no trace but its drop. */
		if (bpf_redirect_map(&lbdsr_devmap, 0, 0) != XDP_REDIRECT)
			return LBDSR_DROP_TX_FAILED;
		*action = XDP_REDIRECT;
	}
	session_commit(key, v6, &ch, now, cnt);
	frag_commit(key, v6, fr, now, cnt);
	count_backend_tx(ch.slot, len);
	cnt->v[LBDSR_CNT_TX_BACKEND_BYTES] += len;
	return 0;
}

/* An IPv6 frame (docs/semantics.md, "IPv6"): rule 6', Neighbor Discovery (6b), then 7'..9' and the
 * common rules. */
static __always_inline __u32 decide6(struct xdp_md *ctx, const struct cursor *c, __u32 len,
				     const struct lbdsr_config *cfg, struct lbdsr_counters *cnt, __u32 *action,
				     const int explain, struct lbdsr_explain *tr)
{
	struct flow6 f; /* flow6_parse writes what it reads */
	__u32 plen, reason;
	__u8 *eth, *ip;

	if (len < IP6_L3_END_)
		return LBDSR_DROP_IP_MALFORMED;
	eth = cursor_at(c, 0, IP6_L3_END_);
	if (!eth)
		return LBDSR_DROP_IP_MALFORMED;
	ip = eth + ETH_HLEN_;
	plen = lbdsr_ntohs(rd16(ip + IP6_PLEN));
	if ((ip[IP6_VER] >> 4) != 6 || IP6_L3_END_ + plen > len)
		return LBDSR_DROP_IP_MALFORMED;
	/* the next header first: a TCP or UDP packet leaves the test at its first comparison */
	if (ip[IP6_NEXT] == PROTO_ICMPV6_ && plen && cursor_at(c, IP6_L3_END_, 1) &&
	    nd_message(ip, eth + IP6_L3_END_)) {
		reason = nd_reply(ctx, cfg, len, plen);
		if (reason)
			return reason;
		if (!explain) {
			count(cnt, LBDSR_CNT_ND_REPLY);
			cnt->v[LBDSR_CNT_TX_FRONTEND_BYTES] += LBDSR_NA_FRAME_LEN;
		}
		*action = XDP_TX;
		return 0;
	}
	reason = flow6_parse(c, IP6_L3_END_ + plen, &f);
	if (reason)
		return reason;
	/* The common packet (neither a fragment nor an ICMPv6 error) gets a copy of balance() in which
	 * the fragment table and the error's read-only rule are compiled out. */
	if (likely(f.frag.state == FRAG_NONE && !f.icmp_error)) {
		struct frag none = { .state = FRAG_NONE };

		return balance(c, cfg, cnt, action, explain, tr, len, &f.key, 1, f.vip, 0, f.non_syn, &none);
	}
	return balance(c, cfg, cnt, action, explain, tr, len, &f.key, 1, f.vip, f.icmp_error, f.non_syn, &f.frag);
}

/* `explain` (a constant: 0 in lbdsr_xdp, 1 in lbdsr_explain): record nothing, fill `tr` instead. */
static __always_inline __u32 lbdsr_decide(struct xdp_md *ctx, const struct lbdsr_config *cfg,
					  struct lbdsr_counters *cnt, __u32 *action, const int explain,
					  struct lbdsr_explain *tr)
{
	struct cursor c = { .data = (__u8 *)(long)ctx->data, .end = (__u8 *)(long)ctx->data_end };
	__u32 len = c.end - c.data;
	struct flow f = {};
	__u32 reason;
	__u16 type;
	__u8 *eth;

	eth = cursor_at(&c, 0, ETH_HLEN_);
	if (!eth)
		return LBDSR_DROP_TRUNCATED;
	if (unlikely(one_arm_probe(cfg, eth))) {
		if (!explain)
			count(cnt, LBDSR_CNT_BACKEND_PASS);
		*action = XDP_PASS;
		return 0;
	}
	type = rd16(eth + ETH_TYPE);
	/* IPv4 first: one comparison of the EtherType and none of the IPv6 code on its path (the
	 * EtherTypes below exclude each other, so their order is the rules' order all the same) */
	if (likely(type == lbdsr_htons(ETH_P_IPV4_))) {
		reason = flow_parse(&c, len, &f);
		if (reason)
			return reason;
		return balance(&c, cfg, cnt, action, explain, tr, len, &f.key, 0, f.vip, f.icmp_error, f.non_syn,
			       &f.frag);
	}
	if (type == lbdsr_htons(ETH_P_IPV6_))
		return decide6(ctx, &c, len, cfg, cnt, action, explain, tr);
	if (type == lbdsr_htons(ETH_P_8021Q_) || type == lbdsr_htons(ETH_P_8021AD_))
		return LBDSR_DROP_VLAN;
	if (type == lbdsr_htons(ETH_P_ARP_)) {
		/* ROUTED or standby: no ARP for a VIP is answered */
		if (cfg->flags & LBDSR_CFG_NO_ARP)
			return LBDSR_DROP_ARP;
		reason = arp_reply(&c, len);
		if (reason)
			return reason;
		if (!explain) {
			count(cnt, LBDSR_CNT_ARP_REPLY);
			cnt->v[LBDSR_CNT_TX_FRONTEND_BYTES] += len;
		}
		*action = XDP_TX;
		return 0;
	}
	return LBDSR_DROP_ETHERTYPE;
}

SEC("xdp")
int lbdsr_xdp(struct xdp_md *ctx)
{
	__u32 action = XDP_DROP, reason;
	const struct lbdsr_config *cfg;
	struct lbdsr_counters *cnt;

	cnt = counters_get();
	cfg = config_get();
	if (!cnt || !cfg)
		return XDP_ABORTED;
	cnt->v[LBDSR_CNT_RX_PACKETS]++;
	cnt->v[LBDSR_CNT_RX_BYTES] += ctx->data_end - ctx->data;

	reason = lbdsr_decide(ctx, cfg, cnt, &action, 0, 0);
	if (reason) {
		if (host_passes(cfg, reason)) {
			cnt->v[LBDSR_CNT_FRONTEND_PASS]++;
			return XDP_PASS;
		}
		count(cnt, reason);
		return XDP_DROP;
	}
	return action;
}

/* The BACKEND port (docs/semantics.md, rule 1): ARP, IPv6 Neighbor Discovery and frames to the
 * instance's probe MAC go to the kernel, where the health prober and the ARP / ND resolver read them
 * with an AF_PACKET socket; every other frame is counted and dropped. A program of its own, so that
 * the FRONTEND program needs no per-frame port check. */
static __always_inline int backend_passes(struct xdp_md *ctx, const struct lbdsr_config *cfg)
{
	__u8 *eth = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	if (eth + ETH_HLEN_ > end)
		return 0;
	if (rd16(eth + ETH_TYPE) == lbdsr_htons(ETH_P_ARP_))
		return 1;
	/* ND: EtherType 0x86dd, at least 55 bytes, next header 58, ICMPv6 type 133..137 */
	if (rd16(eth + ETH_TYPE) == lbdsr_htons(ETH_P_IPV6_) && eth + IP6_L3_END_ + 1 <= end &&
	    nd_message(eth + ETH_HLEN_, eth + IP6_L3_END_))
		return 1;
	return cfg->probe_set && mac_eq(eth + ETH_DST, cfg->probe_mac);
}

SEC("xdp")
int lbdsr_backend(struct xdp_md *ctx)
{
	struct lbdsr_counters *cnt = counters_get();
	const struct lbdsr_config *cfg = config_get();

	if (!cnt || !cfg)
		return XDP_ABORTED;
	cnt->v[LBDSR_CNT_RX_PACKETS]++;
	cnt->v[LBDSR_CNT_RX_BYTES] += ctx->data_end - ctx->data;
	cnt->v[LBDSR_CNT_RX_BACKEND_PACKETS]++;
	cnt->v[LBDSR_CNT_RX_BACKEND_BYTES] += ctx->data_end - ctx->data;
	if (backend_passes(ctx, cfg)) {
		cnt->v[LBDSR_CNT_BACKEND_PASS]++;
		return XDP_PASS;
	}
	cnt->v[LBDSR_DROP_BACKEND_PORT]++;
	return XDP_DROP;
}

/* Explain one frame (explain.h): the decision of the port in the trace entry, recording nothing. */
SEC("xdp")
int lbdsr_explain(struct xdp_md *ctx)
{
	__u32 zero = 0, action = XDP_DROP, reason;
	const struct lbdsr_config *cfg = config_get();
	struct lbdsr_counters *cnt = counters_get();
	struct lbdsr_explain *tr = bpf_map_lookup_elem(&lbdsr_explain_trace, &zero);

	if (!cnt || !cfg || !tr)
		return XDP_ABORTED;
	explain_reset(tr);
	if (tr->port == LBDSR_PORT_BACKEND_)
		reason = backend_passes(ctx, cfg) ? 0 : LBDSR_DROP_BACKEND_PORT;
	else
		reason = lbdsr_decide(ctx, cfg, cnt, &action, 1, tr);
	if (tr->port == LBDSR_PORT_BACKEND_ && !reason)
		action = XDP_PASS;
	tr->reason = reason;
	tr->action = reason ? XDP_DROP : action;
	/* host_pass: the frame goes to the host; the reason stays, naming the rule that passed it */
	if (tr->port != LBDSR_PORT_BACKEND_ && reason && host_passes(cfg, reason))
		tr->action = XDP_PASS;
	return tr->action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
