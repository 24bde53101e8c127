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
 * Helpers by concern: parse.h (cursor), arp.h, flow.h (IPv4 and flow key), frag.h (the fragment
 * table: later fragments take the ports of their first one), service.h (which service of the VIP a
 * key matches), session.h (sessions and Maglev), jhash.h, maps.h, counters.h; layouts in
 * lbdsr_shared.h.
 */
#include "arp.h"
#include "counters.h"
#include "explain.h"
#include "flow.h"
#include "frag.h"
#include "maps.h"
#include "parse.h"
#include "service.h"
#include "session.h"

/* Drops that CFG_HOST_PASS turns into XDP_PASS (docs/semantics.md, "Frontend modes": rules 3, 4, 5
 * and 7, the frames that are not for a VIP); a frame for a VIP is never passed. */
#define HOST_PASS_REASONS                                                                           \
	((1u << LBDSR_DROP_VLAN) | (1u << LBDSR_DROP_ARP) | (1u << LBDSR_DROP_ETHERTYPE) |          \
	 (1u << LBDSR_DROP_NOT_VIP))

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

/* `explain` (a constant: 0 in lbdsr_xdp, 1 in lbdsr_explain): record nothing, fill `tr` instead. */
static __always_inline __u32 lbdsr_decide(struct xdp_md *ctx, const struct lbdsr_config *cfg,
					  struct lbdsr_counters *cnt, __u32 *action, const int explain,
					  struct lbdsr_explain *tr)
{
	struct cursor c = { .data = (__u8 *)(long)ctx->data, .end = (__u8 *)(long)ctx->data_end };
	__u32 len = c.end - c.data;
	struct flow f = {};
	struct service_match sm;
	struct choice ch;
	__u32 reason;
	__u64 now;
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
	if (type != lbdsr_htons(ETH_P_IPV4_))
		return LBDSR_DROP_ETHERTYPE;

	reason = flow_parse(&c, len, &f);
	if (reason)
		return reason;

	/* Idle timeouts are seconds: the coarse clock (a tick's resolution) is plenty and costs a
	 * fraction of bpf_ktime_get_ns() (~25 ns less per frame in a VM). */
	now = cfg->test_clock_ns;
	if (likely(!now))
		now = bpf_ktime_get_coarse_ns();
	/* The key is complete once a later fragment has its first one's ports (rule 9). */
	frag_lookup(&f.key, &f.frag, now);
	reason = service_match(f.vip, &f.key, &sm);
	if (reason)
		return reason;
	if (explain)
		tr->service = sm.index;
	if (!cfg->ready)
		return LBDSR_DROP_NOT_READY;
	reason = choose_backend(cfg, &sm, &f.key, f.icmp_error, f.non_syn, now, &ch, explain ? tr : 0);
	if (reason)
		return reason;

	/* The frame was bounds-checked by flow_parse; the verifier wants it again here. */
	eth = cursor_at(&c, 0, ETH_HLEN_);
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
	session_commit(&f.key, &ch, now, cnt);
	frag_commit(&f.key, &f.frag, now, cnt);
	count_backend_tx(ch.slot, len);
	cnt->v[LBDSR_CNT_TX_BACKEND_BYTES] += len;
	return 0;
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

/* The BACKEND port (docs/semantics.md, rule 1): ARP and frames to the instance's probe MAC go to the
 * kernel, where the health prober and the ARP resolver read them with an AF_PACKET socket; every
 * other frame is counted and dropped. A program of its own, so that the FRONTEND program needs no
 * per-frame port check. */
static __always_inline int backend_passes(struct xdp_md *ctx, const struct lbdsr_config *cfg)
{
	__u8 *eth = (__u8 *)(long)ctx->data;

	return eth + ETH_HLEN_ <= (__u8 *)(long)ctx->data_end &&
	       (rd16(eth + ETH_TYPE) == lbdsr_htons(ETH_P_ARP_) ||
		(cfg->probe_set && mac_eq(eth + ETH_DST, cfg->probe_mac)));
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
