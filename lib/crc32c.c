// SPDX-License-Identifier: GPL-2.0-or-later
#include "erofs/crc32c.h"

#define CRC32C_POLY_REFLECTED	0x82F63B78U

/* the table is computed at compile time: no state to initialise at run time */
#define T1(c)	(((c) & 1) ? ((c) >> 1) ^ CRC32C_POLY_REFLECTED : (c) >> 1)
#define T4(c)	T1(T1(T1(T1(c))))
#define T8(c)	T4(T4(c))
#define R2(n)	T8(n), T8(n + 1)
#define R4(n)	R2(n), R2(n + 2)
#define R8(n)	R4(n), R4(n + 4)
#define R16(n)	R8(n), R8(n + 8)
#define R32(n)	R16(n), R16(n + 16)
#define R64(n)	R32(n), R32(n + 32)
#define R128(n)	R64(n), R64(n + 64)

static const uint32_t crc32c_table[256] = { R128(0U), R128(128U) };

uint32_t erofs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}
