/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The maps of one lbdsr instance. Names are what the loader (src/dataplane/xdp/) looks up and pins
 * under /sys/fs/bpf/lbdsr/<instance>/; layouts come from lbdsr_shared.h.
 */
#ifndef LBDSR_MAPS_H
#define LBDSR_MAPS_H

#include "bpf_defs.h"
#include "lbdsr_shared.h"

/* Default session capacity; the loader sets the configured one before loading. */
#define LBDSR_SESSIONS_DEFAULT 1000000

/* All global counters of one CPU in one value: one lookup per frame. */
struct lbdsr_counters {
	__u64 v[LBDSR_CNT_MAX];
};

/*
 * Every service with its VIP in one array value: what the program reads per frame. A scan of up
 * to LBDSR_MAX_SERVICES VIPs in one inlined array lookup costs ~5 ns less per frame than a hash
 * lookup. Slot i holds the service whose index is i; vip[i] == 0 means empty (0/8 is never a VIP).
 */
struct lbdsr_vip_table {
	/* When non-zero, used instead of the kernel's clock: the equality tests run frames at chosen
	 * instants through BPF_PROG_TEST_RUN. Always 0 in production. Here because this cache line
	 * is read for every frame anyway. */
	__u64 test_clock_ns;
	__u32 vip[LBDSR_MAX_SERVICES];
	struct lbdsr_service svc[LBDSR_MAX_SERVICES];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbdsr_vip_table);
} lbdsr_vips SEC(".maps");

/* VIP (network byte order) -> service: the same services keyed by VIP, written together with
 * lbdsr_vips; read by the ARP path and by tools. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct lbdsr_service);
} lbdsr_services SEC(".maps");

/* LBDSR_MAGLEV_SIZE backend slots per service, service.index selects the block. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBDSR_MAX_SERVICES * LBDSR_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} lbdsr_maglev SEC(".maps");

/* Backend slots. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBDSR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lbdsr_backend);
} lbdsr_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbdsr_config);
} lbdsr_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_SESSIONS_DEFAULT);
	__type(key, struct lbdsr_flow_key);
	__type(value, struct lbdsr_session);
} lbdsr_sessions SEC(".maps");

/* The fragment table (frag.h): ports of a datagram learned from its first fragment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_FRAG_CAPACITY);
	__type(key, struct lbdsr_frag_key);
	__type(value, struct lbdsr_frag);
} lbdsr_frags SEC(".maps");

/* Key 0: struct lbdsr_counters, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbdsr_counters);
} lbdsr_counters SEC(".maps");

/* Per backend slot, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LBDSR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lbdsr_backend_stats);
} lbdsr_bstats SEC(".maps");

/* Key 0: ifindex of the BACKEND port. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lbdsr_devmap SEC(".maps");

static __always_inline const struct lbdsr_vip_table *vip_table(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lbdsr_vips, &zero);
}

/* The service of a VIP (network byte order), or NULL. */
static __always_inline const struct lbdsr_service *service_of(const struct lbdsr_vip_table *t, __u32 vip)
{
	if (!vip)
		return 0;
#pragma unroll
	for (int i = 0; i < LBDSR_MAX_SERVICES; i++)
		if (t->vip[i] == vip)
			return &t->svc[i];
	return 0;
}

#endif
