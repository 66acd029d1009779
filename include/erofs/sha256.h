/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 (FIPS 180-4): blob digests and chunk identity. */
#ifndef EROFS_SHA256_H
#define EROFS_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EROFS_SHA256_SIZE	32

struct erofs_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes hashed so far */
	uint8_t buf[64];
	unsigned int used;
};

void erofs_sha256_init(struct erofs_sha256 *s);
void erofs_sha256_update(struct erofs_sha256 *s, const void *data, size_t len);
void erofs_sha256_final(struct erofs_sha256 *s, uint8_t out[EROFS_SHA256_SIZE]);
void erofs_sha256(const void *data, size_t len,
		  uint8_t out[EROFS_SHA256_SIZE]);
/* the digest of a whole file */
int erofs_sha256_file(const char *path, uint8_t out[EROFS_SHA256_SIZE]);
/* 64 lowercase hex digits and a NUL */
void erofs_sha256_hex(const uint8_t digest[EROFS_SHA256_SIZE], char out[65]);
/* whether @s is what erofs_sha256_hex() writes: 64 lowercase hex digits */
bool erofs_sha256_hex_ok(const char *s);

#endif
