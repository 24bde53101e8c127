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
 *   and tail-calls the program in flood_progs[0] (lbdsr_xdp): misses and hits timed alike. With
 *   flood_state.mask set, the address is base + ((next * odd) & mask) instead: the flows of a range
 *   in a scattered order (hits on sessions whose entries are not neighbours in memory).
 * - chase_xdp: the memory floor. Each run reads one 64-byte line of chase_mem (sized by the bench)
 *   at an index that depends on the previous run's read, so runs wait for memory one after another:
 *   what one access to a line that is in no cache costs, the least a miss on a table larger than the
 *   caches must wait for (the new flow's bucket).
 */
#include "bpf_defs.h"

static long (*bpf_tail_call)(void *ctx, void *map, __u32 index) = (void *)BPF_FUNC_tail_call;

struct flood_state {
	__u32 next; /* client address (host order) of the next frame, or its rank (mask set) */
	__u32 vary; /* 1: next++ after each frame */
	__u32 base; /* mask set: the address is base + ((next * SCATTER) & mask) */
	__u32 mask; /* 0, or 2^k - 1 */
};

/* Odd: multiplying by it modulo 2^k permutes 0..2^k-1, and spreads neighbours far apart. */
#define SCATTER 0x9e3779b1u

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
	if (st->mask)
		a = st->base + ((a * SCATTER) & st->mask);
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

/* chase_xdp's memory (max_entries set by the bench: 1 << 21 lines, 128 MiB) and its state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[64]);
} chase_mem SEC(".maps");

struct chase_state {
	__u64 at;   /* the last line's first word (0: the array is never written) */
	__u64 n;    /* runs so far */
	__u32 mask; /* chase_mem's max_entries - 1 (a power of two) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chase_state);
} chase_state SEC(".maps");

SEC("xdp")
int chase_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0, idx;
	struct chase_state *st = bpf_map_lookup_elem(&chase_state, &zero);
	__u64 *line, x;

	if (!st)
		return XDP_ABORTED;
	/* the index depends on the previous read (st->at): one access after the other, never two at once */
	x = (st->at + ++st->n) * 0x9e3779b97f4a7c15ull;
	idx = (__u32)(x >> 32) & st->mask;
	line = bpf_map_lookup_elem(&chase_mem, &idx);
	if (!line)
		return XDP_ABORTED;
	st->at = *line;
	return XDP_PASS;
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
