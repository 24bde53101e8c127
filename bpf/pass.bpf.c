/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * XDP_PASS and nothing else. Prepares the peer of a veth so that it accepts frames sent into the
 * veth in native mode (an XDP program on the receiving side enables its NAPI; see docs/xdp.md).
 */
#include "bpf_defs.h"

SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
