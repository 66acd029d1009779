// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "erofs/sha256.h"

/*
 * x86-64 with the SHA extensions hashes an order of magnitude faster:
 * erofs-fetch checks every unit it fetches, at the speed of the link.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define EROFS_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	unsigned int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 |
		       p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10)) +
		       w[i - 7] +
		       (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 16];
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
		     ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#ifdef EROFS_SHA_NI
static bool have_sha_ni(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

/* the state as the SHA instructions keep it: ABEF and CDGH */
__attribute__((target("sha,ssse3,sse4.1")))
static void sha256_blocks_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
					     0x0405060700010203ULL);
	__m128i abef, cdgh, t, msg, w[4], abef0, cdgh0;
	unsigned int g;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xF0);
	for (; n; n--, p += 64) {
		abef0 = abef;
		cdgh0 = cdgh;
		/*
		 * w[g & 3] holds the schedule words 4g..4g+3.  The words of
		 * group g + 1 are finished and those of g + 3 begun while the
		 * rounds of group g run, so that the two chains overlap; the
		 * loop is unrolled to keep w[] in registers.
		 */
		for (g = 0; g < 4; g++)
			w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
						bswap);
#pragma GCC unroll 16
		for (g = 0; g < 16; g++) {
			msg = _mm_add_epi32(w[g & 3],
					    _mm_loadu_si128((const __m128i *)&K[4 * g]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			if (g >= 3 && g < 15) {
				t = _mm_add_epi32(w[(g + 1) & 3],
						  _mm_alignr_epi8(w[g & 3], w[(g + 3) & 3], 4));
				w[(g + 1) & 3] = _mm_sha256msg2_epu32(t, w[g & 3]);
			}
			abef = _mm_sha256rnds2_epu32(abef, cdgh,
						     _mm_shuffle_epi32(msg, 0x0E));
			if (g >= 1 && g < 13)
				w[(g + 3) & 3] = _mm_sha256msg1_epu32(w[(g + 3) & 3],
								      w[g & 3]);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	t = _mm_shuffle_epi32(abef, 0x1B);
	cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, cdgh, 0xF0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, t, 8));
}
#endif

static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
#ifdef EROFS_SHA_NI
	if (n && have_sha_ni()) {
		sha256_blocks_ni(h, p, n);
		return;
	}
#endif
	for (; n; n--, p += 64)
		sha256_block(h, p);
}

void erofs_sha256_init(struct erofs_sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->used = 0;
}

void erofs_sha256_update(struct erofs_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	s->len += len;
	if (s->used) {
		n = len < 64 - s->used ? len : 64 - s->used;
		memcpy(s->buf + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used < 64)
			return;
		sha256_blocks(s->h, s->buf, 1);
		s->used = 0;
	}
	sha256_blocks(s->h, p, len / 64);
	p += len / 64 * 64;
	len %= 64;
	memcpy(s->buf, p, len);
	s->used = len;
}

void erofs_sha256_final(struct erofs_sha256 *s, uint8_t out[EROFS_SHA256_SIZE])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = { 0x80 };
	unsigned int padlen = (s->used < 56 ? 56 : 120) - s->used, i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = bits >> (56 - 8 * i);
	erofs_sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		out[4 * i] = s->h[i] >> 24;
		out[4 * i + 1] = s->h[i] >> 16;
		out[4 * i + 2] = s->h[i] >> 8;
		out[4 * i + 3] = s->h[i];
	}
}

void erofs_sha256(const void *data, size_t len, uint8_t out[EROFS_SHA256_SIZE])
{
	struct erofs_sha256 s;

	erofs_sha256_init(&s);
	erofs_sha256_update(&s, data, len);
	erofs_sha256_final(&s, out);
}

void erofs_sha256_hex(const uint8_t digest[EROFS_SHA256_SIZE], char out[65])
{
	unsigned int i;

	for (i = 0; i < EROFS_SHA256_SIZE; i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
}

bool erofs_sha256_hex_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int erofs_sha256_file(const char *path, uint8_t out[EROFS_SHA256_SIZE])
{
	struct erofs_sha256 s;
	uint8_t *buf = malloc(1U << 20);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	erofs_sha256_init(&s);
	while ((n = read(fd, buf, 1U << 20)) > 0)
		erofs_sha256_update(&s, buf, n);
	if (n < 0)
		err = -errno;
	else
		erofs_sha256_final(&s, out);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}
