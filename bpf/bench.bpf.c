/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Helpers of the veth forwarding benchmark (bench/xdp.ts), not part of lbdsr:
 * - gen_xdp: the generator. Run with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, it sends its
 *   frame out of the interface in devmap key 0 (the generator's veth).
 * - sink_xdp: on the far end, counts frames (per CPU) and drops them.
 * - gen_flows_xdp: gen_xdp, but every frame comes from a new client address (flood_state.next++;
 *   IPv4, or the last word of an IPv6 source).
 * - flood_xdp: run with BPF_PROG_TEST_RUN and `repeat`, it writes the client address of the frame
 *   (flood_state.next, incremented when flood_state.vary is 1: every repetition is then a new flow)
 *   and tail-calls the program in flood_progs[0] (lbdsr_xdp): misses and hits timed alike.
 */
#include "bpf_defs.h"

static long (*bpf_tail_call)(void *ctx, void *map, __u32 index) = (void *)BPF_FUNC_tail_call;

struct flood_state {
	__u32 next; /* client address (host order) of the next frame */
	__u32 vary; /* 1: next++ after each frame */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flood_state);
} flood_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flood_progs SEC(".maps");

/*
 * Writes the client address of an Ethernet frame from flood_state: the IPv4 source address, or the
 * last word of the IPv6 source address (bytes 34..37) when the EtherType is 0x86dd; 0 when it cannot.
 */
static __always_inline int set_client(struct xdp_md *ctx)
{
	__u8 *d = (__u8 *)(long)ctx->data;
	__u32 zero = 0, a, at = 26;
	struct flood_state *st;

	if (d + 38 > (__u8 *)(long)ctx->data_end)
		return 0;
	if (d[12] == 0x86 && d[13] == 0xdd)
		at = 34;
	st = bpf_map_lookup_elem(&flood_state, &zero);
	if (!st)
		return 0;
	a = st->next;
	st->next = a + st->vary;
	if (at == 34) {
		d[34] = a >> 24;
		d[35] = a >> 16;
		d[36] = a >> 8;
		d[37] = a;
	} else {
		d[26] = a >> 24;
		d[27] = a >> 16;
		d[28] = a >> 8;
		d[29] = a;
	}
	return 1;
}

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
int gen_flows_xdp(struct xdp_md *ctx)
{
	if (!set_client(ctx))
		return XDP_ABORTED;
	return bpf_redirect_map(&gen_devmap, 0, 0);
}

SEC("xdp")
int flood_xdp(struct xdp_md *ctx)
{
	if (!set_client(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &flood_progs, 0);
	return XDP_ABORTED;
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
