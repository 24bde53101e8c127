/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Per-CPU counters: global (drop reasons, sessions, ARP, rx) and per backend slot. */
#ifndef LBDSR_COUNTERS_H
#define LBDSR_COUNTERS_H

#include "maps.h"

static __always_inline struct lbdsr_counters *counters_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lbdsr_counters, &zero);
}

static __always_inline void count(struct lbdsr_counters *cnt, __u32 idx)
{
	if (idx < LBDSR_CNT_MAX)
		cnt->v[idx]++;
}

static __always_inline void count_backend_session(__u32 slot)
{
	struct lbdsr_backend_stats *st = bpf_map_lookup_elem(&lbdsr_bstats, &slot);

	if (st)
		st->sessions++;
}

static __always_inline void count_backend_tx(__u32 slot, __u32 len)
{
	struct lbdsr_backend_stats *st = bpf_map_lookup_elem(&lbdsr_bstats, &slot);

	if (st) {
		st->packets++;
		st->bytes += len;
	}
}

#endif
