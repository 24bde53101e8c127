/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Choosing the backend (docs/semantics.md, step 11): session lookup with idle timeouts and
 * liveness (the slot live, same id, same service), the matched service's Maglev table over jhash2
 * on a miss; recording the choice (session_commit) is a separate step,
 * taken only once the frame is known to leave through the devmap. IPv6 keys (`v6`, a constant where
 * these are inlined) live in lbdsr_sessions6 and hash 10 words (docs/semantics.md, "IPv6").
 */
#ifndef LBDSR_SESSION_H
#define LBDSR_SESSION_H

#include "counters.h"
#include "explain.h"
#include "jhash.h"
#include "maps.h"
#include "parse.h"
#include "service.h"

static __always_inline __u64 session_timeout(const struct lbdsr_config *cfg, __u8 proto)
{
	if (proto == PROTO_TCP_)
		return cfg->timeout_tcp_ns;
	if (proto == PROTO_UDP_)
		return cfg->timeout_udp_ns;
	return cfg->timeout_icmp_ns;
}

/* The backend in `slot` when it is live with id `id` in the pool of service `service`, else NULL. */
static __always_inline struct lbdsr_backend *backend_live(__u32 slot, __u32 id, __u32 service)
{
	struct lbdsr_backend *b = bpf_map_lookup_elem(&lbdsr_backends, &slot);

	if (!b || !b->live || b->id != id || b->service != service)
		return 0;
	return b;
}

/* The Maglev hash of a key (docs/semantics.md, rule 11 and "IPv6"): jhash2 over the addresses as
 * big-endian words, then, for HASH_SESSION, `sport << 16 | dport` and the protocol. */
static __always_inline __u32 flow_hash(__u8 algorithm, const void *key, const int v6)
{
	const struct lbdsr_flow_key6 *k6 = key;
	const struct lbdsr_flow_key *k4 = key;
	__u32 words[10];
	int i;

	if (v6) {
		for (i = 0; i < 4; i++)
			words[i] = lbdsr_ntohl(*(const __u32 *)(k6->src + 4 * i));
		if (algorithm == LBDSR_ALG_HASH_SRC_IP)
			return lbdsr_jhash2(words, 4, 0);
		for (i = 0; i < 4; i++)
			words[4 + i] = lbdsr_ntohl(*(const __u32 *)(k6->dst + 4 * i));
		words[8] = ((__u32)k6->sport << 16) | k6->dport;
		words[9] = k6->proto;
		return lbdsr_jhash2(words, 10, 0);
	}
	words[0] = lbdsr_ntohl(k4->src);
	if (algorithm == LBDSR_ALG_HASH_SRC_IP)
		return lbdsr_jhash2(words, 1, 0);
	words[1] = lbdsr_ntohl(k4->dst);
	words[2] = ((__u32)k4->sport << 16) | k4->dport;
	words[3] = k4->proto;
	return lbdsr_jhash2(words, 4, 0);
}

/* Maglev: the slot the service's table holds for the key's hash, or LBDSR_SLOT_NONE. `tr` (explain
 * only, NULL otherwise) gets the hash and the entry. */
static __always_inline __u32 maglev_slot(const struct service_match *sm, const void *key, const int v6,
					 struct lbdsr_explain *tr)
{
	__u32 hash, idx, *slot;
	void *table;

	hash = flow_hash(sm->svc->algorithm, key, v6);
	idx = hash % LBDSR_MAGLEV_SIZE;
	if (tr) {
		tr->hash = hash;
		tr->index = idx;
	}
	table = bpf_map_lookup_elem(&lbdsr_maglev, &sm->index);
	if (!table)
		return LBDSR_SLOT_NONE;
	slot = bpf_map_lookup_elem(table, &idx);
	if (!slot)
		return LBDSR_SLOT_NONE;
	return *slot;
}

struct choice {
	struct lbdsr_backend *backend;
	__u32 slot;
	/* What recording the choice does (session_commit): LBDSR_CNT_SESSION_HIT (refresh `s`),
	 * _MISS (insert), _EXPIRED/_STALE (overwrite `s`), _UNRECORDED (count only), or 0 (ICMP
	 * errors: nothing). */
	__u32 outcome;
	struct lbdsr_session *s;
};

/*
 * Returns 0 with `out` filled, or the drop reason. Writes nothing: the choice is recorded by
 * session_commit once the frame is known to leave (docs/semantics.md, "A failed transmit").
 * `read_only` (ICMP errors): a valid session's backend or Maglev, nothing to record. `tr` (explain
 * only, NULL otherwise) gets what the lookup found and the Maglev entry.
 */
static __always_inline __u32 choose_backend(const struct lbdsr_config *cfg, const struct service_match *sm,
					    const void *key, const int v6, int read_only, int non_syn, __u64 now,
					    struct choice *out, struct lbdsr_explain *tr)
{
	struct lbdsr_session *s = bpf_map_lookup_elem(v6 ? (void *)&lbdsr_sessions6 : (void *)&lbdsr_sessions, key);
	__u8 proto = v6 ? ((const struct lbdsr_flow_key6 *)key)->proto : ((const struct lbdsr_flow_key *)key)->proto;
	__u32 outcome = LBDSR_CNT_SESSION_MISS;
	struct lbdsr_backend *b;
	__u32 slot;

	/* A TCP miss that is not a SYN: Maglev, not recorded, unless the instance records those. */
	if (non_syn && !cfg->record_non_syn)
		outcome = LBDSR_CNT_SESSION_UNRECORDED;
	out->s = s;
	if (s) {
		int fresh = (__s64)(now - s->last_seen_ns) <= (__s64)session_timeout(cfg, proto);

		b = backend_live(s->slot, s->backend_id, sm->index);
		if (tr) {
			tr->entry = 1;
			tr->session_id = s->backend_id;
			tr->session_slot = s->slot;
			tr->age_ns = now - s->last_seen_ns;
			tr->session = fresh && b ? LBDSR_CNT_SESSION_HIT
				      : fresh    ? LBDSR_CNT_SESSION_STALE
						 : LBDSR_CNT_SESSION_EXPIRED;
		}
		if (fresh && b) {
			out->backend = b;
			out->slot = s->slot;
			out->outcome = read_only ? 0 : LBDSR_CNT_SESSION_HIT;
			return 0;
		}
		outcome = fresh ? LBDSR_CNT_SESSION_STALE : LBDSR_CNT_SESSION_EXPIRED;
	} else if (tr) {
		/* an ICMP error reads only: no entry is a plain miss, whatever its flags */
		tr->entry = 0;
		tr->session = read_only ? LBDSR_CNT_SESSION_MISS : outcome;
	}

	slot = maglev_slot(sm, key, v6, tr);
	if (tr)
		tr->slot = slot;
	if (slot == LBDSR_SLOT_NONE)
		return LBDSR_DROP_NO_BACKEND;
	b = bpf_map_lookup_elem(&lbdsr_backends, &slot);
	if (!b || !b->live)
		return LBDSR_DROP_NO_BACKEND;
	out->backend = b;
	out->slot = slot;
	out->outcome = read_only ? 0 : outcome;
	return 0;
}

/* Records a choice whose frame is leaving: the session and its counters. */
static __always_inline void session_commit(const void *key, const int v6, const struct choice *ch, __u64 now,
					   struct lbdsr_counters *cnt)
{
	struct lbdsr_session *s = ch->s;

	if (!ch->outcome)
		return;
	if (ch->outcome == LBDSR_CNT_SESSION_UNRECORDED) {
		count(cnt, LBDSR_CNT_SESSION_UNRECORDED);
		return;
	}
	if (ch->outcome == LBDSR_CNT_SESSION_HIT) {
		/* The coarse clock moves once a tick: most hits need no store. */
		if (s && s->last_seen_ns != now)
			s->last_seen_ns = now;
		count(cnt, LBDSR_CNT_SESSION_HIT);
		return;
	}
	if (s) {
		s->backend_id = ch->backend->id;
		s->slot = ch->slot;
		s->last_seen_ns = now;
	} else {
		struct lbdsr_session ns = { .backend_id = ch->backend->id, .slot = ch->slot, .last_seen_ns = now };

		bpf_map_update_elem(v6 ? (void *)&lbdsr_sessions6 : (void *)&lbdsr_sessions, key, &ns, BPF_ANY);
	}
	count(cnt, ch->outcome);
	count_backend_session(ch->slot);
}

#endif
