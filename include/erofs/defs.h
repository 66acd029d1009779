/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the whole toolkit: byte order, rounding, sizes. */
#ifndef EROFS_DEFS_H
#define EROFS_DEFS_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ROUND_UP(n, a)		(DIV_ROUND_UP(n, a) * (a))
#define ROUND_DOWN(n, a)	((n) / (a) * (a))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)
#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)

#define EROFS_PRINTF(fmt, args)	__attribute__((format(printf, fmt, args)))

static inline bool erofs_is_power_of_2(uint64_t n)
{
	return n && !(n & (n - 1));
}

static inline unsigned int erofs_ilog2(uint64_t n)
{
	return 63 - __builtin_clzll(n);
}

/* same encoding as the kernel's new_encode_dev() */
/* the smallest power of two >= @n (n <= 2^31) */
static inline uint32_t erofs_roundup_pow2(uint32_t n)
{
	return n <= 1 ? 1 : 1U << (erofs_ilog2(n - 1) + 1);
}

static inline uint32_t erofs_encode_dev(unsigned int major, unsigned int minor)
{
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static inline void erofs_decode_dev(uint32_t dev, unsigned int *major,
				    unsigned int *minor)
{
	*major = (dev & 0xfff00) >> 8;
	*minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

#endif
