/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The few libbpf-style definitions the programs need, written here so that building needs only
 * clang and the kernel's UAPI headers (no libbpf-dev): section and map macros, helper
 * declarations (numbers from enum bpf_func_id in linux/bpf.h), byte order.
 */
#ifndef LBDSR_BPF_DEFS_H
#define LBDSR_BPF_DEFS_H

#include <linux/types.h>
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))

/* BTF-defined map attributes, as libbpf reads them. */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
				   __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static __u64 (*bpf_ktime_get_coarse_ns)(void) = (void *)BPF_FUNC_ktime_get_coarse_ns;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)BPF_FUNC_redirect_map;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define lbdsr_ntohs(x) __builtin_bswap16(x)
#define lbdsr_htons(x) __builtin_bswap16(x)
#define lbdsr_ntohl(x) __builtin_bswap32(x)
#define lbdsr_htonl(x) __builtin_bswap32(x)
#else
#define lbdsr_ntohs(x) (x)
#define lbdsr_htons(x) (x)
#define lbdsr_ntohl(x) (x)
#define lbdsr_htonl(x) (x)
#endif

#endif
