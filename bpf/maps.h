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

/* VIP (network byte order) -> service. */
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

#endif
