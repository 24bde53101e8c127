/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Bob Jenkins' lookup3 as the kernel's include/linux/jhash.h implements jhash2(): bit-exact with
 * src/core/jhash.ts. Called with constant lengths, so the compiler unrolls it.
 */
#ifndef LBDSR_JHASH_H
#define LBDSR_JHASH_H

#include "bpf_defs.h"

#define LBDSR_JHASH_INITVAL 0xdeadbeefu

static __always_inline __u32 lbdsr_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> (32 - shift));
}

#define __lbdsr_jhash_mix(a, b, c)                              \
	{                                                       \
		a -= c; a ^= lbdsr_rol32(c, 4); c += b;         \
		b -= a; b ^= lbdsr_rol32(a, 6); a += c;         \
		c -= b; c ^= lbdsr_rol32(b, 8); b += a;         \
		a -= c; a ^= lbdsr_rol32(c, 16); c += b;        \
		b -= a; b ^= lbdsr_rol32(a, 19); a += c;        \
		c -= b; c ^= lbdsr_rol32(b, 4); b += a;         \
	}

#define __lbdsr_jhash_final(a, b, c)                            \
	{                                                       \
		c ^= b; c -= lbdsr_rol32(b, 14);                \
		a ^= c; a -= lbdsr_rol32(c, 11);                \
		b ^= a; b -= lbdsr_rol32(a, 25);                \
		c ^= b; c -= lbdsr_rol32(b, 16);                \
		a ^= c; a -= lbdsr_rol32(c, 4);                 \
		b ^= a; b -= lbdsr_rol32(a, 14);                \
		c ^= b; c -= lbdsr_rol32(b, 24);                \
	}

/* jhash2(k, length, initval) over u32 words. */
static __always_inline __u32 lbdsr_jhash2(const __u32 *k, __u32 length, __u32 initval)
{
	__u32 a, b, c;

	a = b = c = LBDSR_JHASH_INITVAL + (length << 2) + initval;
	while (length > 3) {
		a += k[0];
		b += k[1];
		c += k[2];
		__lbdsr_jhash_mix(a, b, c);
		length -= 3;
		k += 3;
	}
	switch (length) {
	case 3:
		c += k[2];
		/* fall through */
	case 2:
		b += k[1];
		/* fall through */
	case 1:
		a += k[0];
		__lbdsr_jhash_final(a, b, c);
		break;
	case 0:
		break;
	}
	return c;
}

#endif
