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

/* VIP (network byte order) -> what a frame to it needs (lbdsr_shared.h, struct lbdsr_vip). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct lbdsr_vip);
} lbdsr_vips SEC(".maps");

/* Services with a port: {vip, port, proto} -> service index. Looked up only for a protocol the VIP
 * has port services for (lbdsr_vip.port_protos). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, struct lbdsr_port_key);
	__type(value, __u32);
} lbdsr_ports SEC(".maps");

/* The IPv6 VIPs (16 bytes as on the wire) and their port services, like lbdsr_vips / lbdsr_ports. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, __u8[16]);
	__type(value, struct lbdsr_vip);
} lbdsr_vips6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, struct lbdsr_port_key6);
	__type(value, __u32);
} lbdsr_ports6 SEC(".maps");

/* Service entries by index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct lbdsr_service);
} lbdsr_services SEC(".maps");

/* One Maglev table (LBDSR_MAGLEV_SIZE backend slots) per service, created by user space when the
 * service is added and put at the service's index: memory follows the services in use (a flat
 * array for LBDSR_MAX_SERVICES would take 67 MB per instance). */
struct lbdsr_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBDSR_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LBDSR_MAX_SERVICES);
	__type(key, __u32);
	__array(values, struct lbdsr_maglev_table);
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

/* IPv6 sessions: the same rules and capacity (the loader sizes both maps), a key of their own. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_SESSIONS_DEFAULT);
	__type(key, struct lbdsr_flow_key6);
	__type(value, struct lbdsr_session);
} lbdsr_sessions6 SEC(".maps");

/* The fragment table (frag.h): ports of a datagram learned from its first fragment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_FRAG_CAPACITY);
	__type(key, struct lbdsr_frag_key);
	__type(value, struct lbdsr_frag);
} lbdsr_frags SEC(".maps");

/* The IPv6 fragment table: keyed by the fragment header's 32-bit identification. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_FRAG_CAPACITY);
	__type(key, struct lbdsr_frag_key6);
	__type(value, struct lbdsr_frag);
} lbdsr_frags6 SEC(".maps");

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

static __always_inline const struct lbdsr_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lbdsr_config, &zero);
}

#endif
