/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Helpers of the veth forwarding benchmark (bench/xdp.ts), not part of lbdsr:
 * - gen_xdp: the generator. Run with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, it sends its
 *   frame out of the interface in devmap key 0 (the generator's veth).
 * - sink_xdp: on the far end, counts frames (per CPU) and drops them.
 */
#include "bpf_defs.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gen_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	return bpf_redirect_map(&gen_devmap, 0, 0);
}

SEC("xdp")
int sink_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&sink_count, &zero);

	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
