/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The fragment table (docs/semantics.md, "Fragments"): a TCP/UDP first fragment (offset 0, MF) is
 * balanced by its own ports and, once balanced, writes them into lbdsr_frags under its datagram's
 * identity {src, dst, IP id, proto}; a later fragment (offset != 0) that finds a fresh entry takes the
 * learned ports as its key, otherwise keeps {src, dst, 0, 0, proto}. The same rules as
 * src/pipeline/fragments.ts and balancer.ts fragmentKey(). IPv6 fragments (docs/semantics.md, "IPv6")
 * follow the same rules in lbdsr_frags6, keyed by the fragment header's 32-bit identification; the
 * functions below take `v6` (a constant where they are inlined) and the key of that family.
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
	__u32 id;      /* IPv4: the 16-bit IP identification; IPv6: the fragment header's; as on the wire */
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
	fk->id = (__u16)fr->id;
	fk->proto = key->proto;
	fk->pad = 0;
}

static __always_inline void frag_key6(const struct lbdsr_flow_key6 *key, const struct frag *fr,
				      struct lbdsr_frag_key6 *fk)
{
	__builtin_memcpy(fk->src, key->src, 16);
	__builtin_memcpy(fk->dst, key->dst, 16);
	fk->id = fr->id;
	fk->proto = key->proto;
	fk->pad[0] = fk->pad[1] = fk->pad[2] = 0;
}

/* The ports of a flow key of either family (struct lbdsr_flow_key, or lbdsr_flow_key6 when `v6`). */
static __always_inline __u16 *key_sport(void *key, const int v6)
{
	return v6 ? &((struct lbdsr_flow_key6 *)key)->sport : &((struct lbdsr_flow_key *)key)->sport;
}

static __always_inline __u16 *key_dport(void *key, const int v6)
{
	return v6 ? &((struct lbdsr_flow_key6 *)key)->dport : &((struct lbdsr_flow_key *)key)->dport;
}

/* The fragment table entry of the key's datagram, or NULL. */
static __always_inline struct lbdsr_frag *frag_find(const void *key, const int v6, const struct frag *fr)
{
	struct lbdsr_frag_key6 fk6;
	struct lbdsr_frag_key fk;

	if (v6) {
		frag_key6(key, fr, &fk6);
		return bpf_map_lookup_elem(&lbdsr_frags6, &fk6);
	}
	frag_key(key, fr, &fk);
	return bpf_map_lookup_elem(&lbdsr_frags, &fk);
}

/* A later fragment: the learned ports when its first fragment was seen less than the timeout ago.
 * Read-only: the counter moves in frag_commit, once the frame is balanced. */
static __always_inline void frag_lookup(void *key, const int v6, struct frag *fr, __u64 now)
{
	struct lbdsr_frag *e;

	if (fr->state != FRAG_LATER)
		return;
	e = frag_find(key, v6, fr);
	if (e && (__s64)(now - e->first_seen_ns) <= (__s64)FRAG_TIMEOUT_NS) {
		*key_sport(key, v6) = e->sport;
		*key_dport(key, v6) = e->dport;
		fr->counter = LBDSR_CNT_FRAG_HIT;
	} else {
		fr->counter = LBDSR_CNT_FRAG_MISS;
	}
}

/* The frame is balanced: a first fragment writes its ports, a later one counts its lookup. */
static __always_inline void frag_commit(void *key, const int v6, const struct frag *fr, __u64 now,
					struct lbdsr_counters *cnt)
{
	struct lbdsr_frag_key6 fk6;
	struct lbdsr_frag_key fk;
	struct lbdsr_frag v = {};

	if (fr->state == FRAG_LATER) {
		count(cnt, fr->counter);
	} else if (fr->state == FRAG_FIRST) {
		v.first_seen_ns = now;
		v.sport = *key_sport(key, v6);
		v.dport = *key_dport(key, v6);
		if (v6) {
			frag_key6(key, fr, &fk6);
			bpf_map_update_elem(&lbdsr_frags6, &fk6, &v, BPF_ANY);
		} else {
			frag_key(key, fr, &fk);
			bpf_map_update_elem(&lbdsr_frags, &fk, &v, BPF_ANY);
		}
	}
}

#endif
