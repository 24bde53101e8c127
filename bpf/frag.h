/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The fragment table (docs/semantics.md, "Fragments"): a TCP/UDP first fragment (offset 0, MF) is
 * balanced by its own ports and, once balanced, writes them into lbdsr_frags under its datagram's
 * identity {src, dst, IP id, proto}; a later fragment (offset != 0) that finds a fresh entry takes the
 * learned ports as its key, otherwise keeps {src, dst, 0, 0, proto}. The same rules as
 * src/pipeline/fragments.ts and balancer.ts fragmentKey().
 */
#ifndef LBDSR_FRAG_H
#define LBDSR_FRAG_H

#include "counters.h"
#include "maps.h"
#include "parse.h"

#define FRAG_IP_ID_OFF 4
#define FRAG_OFFSET_MASK_ 0x1fff
#define FRAG_TIMEOUT_NS ((__u64)LBDSR_FRAG_TIMEOUT_MS * 1000000ull)

/* What the table does for one frame. */
#define FRAG_NONE 0  /* not a fragment, ICMP, or a first fragment without its ports */
#define FRAG_FIRST 1 /* a first fragment with its ports: learn them once balanced */
#define FRAG_LATER 2 /* a later fragment: look its datagram up (frag_lookup) */

struct frag {
	__u32 state;
	__u32 counter; /* after frag_lookup: LBDSR_CNT_FRAG_HIT or LBDSR_CNT_FRAG_MISS */
	__u16 id;      /* IP identification, network byte order */
};

/* A fragment to a VIP (`ip` validated for its minimal header, `hlen` and `tot` checked against the
 * frame): sets the key's ports for a first fragment and notes what the table does. */
static __always_inline void frag_parse(const struct cursor *c, const __u8 *ip, __u32 hlen, __u32 tot,
				       struct lbdsr_flow_key *key, struct frag *fr)
{
	__u8 *l4;

	if (key->proto == PROTO_ICMP_)
		return;
	fr->id = rd16(ip + FRAG_IP_ID_OFF);
	if (rd16(ip + IP_FRAG_OFF) & lbdsr_htons(FRAG_OFFSET_MASK_)) {
		fr->state = FRAG_LATER;
		return;
	}
	if (tot - hlen < 4)
		return;
	l4 = cursor_at(c, ETH_HLEN_ + hlen, 4);
	if (!l4)
		return;
	key->sport = lbdsr_ntohs(rd16(l4));
	key->dport = lbdsr_ntohs(rd16(l4 + 2));
	fr->state = FRAG_FIRST;
}

static __always_inline void frag_key(const struct lbdsr_flow_key *key, const struct frag *fr,
				     struct lbdsr_frag_key *fk)
{
	fk->src = key->src;
	fk->dst = key->dst;
	fk->id = fr->id;
	fk->proto = key->proto;
	fk->pad = 0;
}

/* A later fragment: the learned ports when its first fragment was seen less than the timeout ago.
 * Read-only: the counter moves in frag_commit, once the frame is balanced. */
static __always_inline void frag_lookup(struct lbdsr_flow_key *key, struct frag *fr, __u64 now)
{
	struct lbdsr_frag_key fk;
	struct lbdsr_frag *e;

	if (fr->state != FRAG_LATER)
		return;
	frag_key(key, fr, &fk);
	e = bpf_map_lookup_elem(&lbdsr_frags, &fk);
	if (e && (__s64)(now - e->first_seen_ns) <= (__s64)FRAG_TIMEOUT_NS) {
		key->sport = e->sport;
		key->dport = e->dport;
		fr->counter = LBDSR_CNT_FRAG_HIT;
	} else {
		fr->counter = LBDSR_CNT_FRAG_MISS;
	}
}

/* The frame is balanced: a first fragment writes its ports, a later one counts its lookup. */
static __always_inline void frag_commit(const struct lbdsr_flow_key *key, const struct frag *fr, __u64 now,
					struct lbdsr_counters *cnt)
{
	struct lbdsr_frag_key fk;
	struct lbdsr_frag v = {};

	if (fr->state == FRAG_LATER) {
		count(cnt, fr->counter);
	} else if (fr->state == FRAG_FIRST) {
		frag_key(key, fr, &fk);
		v.first_seen_ns = now;
		v.sport = key->sport;
		v.dport = key->dport;
		bpf_map_update_elem(&lbdsr_frags, &fk, &v, BPF_ANY);
	}
}

#endif
