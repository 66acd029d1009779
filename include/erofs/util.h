/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing and buffer helpers shared by the library and the tools. */
#ifndef EROFS_UTIL_H
#define EROFS_UTIL_H

#include <stdlib.h>
#include "erofs/defs.h"

/*
 * Makes @*buf, of @*cap bytes, hold at least @need, its bytes kept: a
 * scratch buffer that grows to the largest use and is never shrunk.
 */
int erofs_reserve(uint8_t **buf, size_t *cap, size_t need);

/*
 * Room for element @n of an array of @n elements of @size whose
 * capacity is the power of two at or above @n (none when @n is 0): the
 * array, moved if it had to grow, or NULL with @arr left as it was.
 * Appended one at a time, each element is copied a bounded number of
 * times on average, where growing by one could copy all every time.
 */
static inline void *erofs_array_grow(void *arr, size_t n, size_t size)
{
	if (n & (n - 1))
		return arr;
	return realloc(arr, (n ? 2 * n : 1) * size);
}

/* "4096", "64k", "1M": bytes; -EINVAL on anything else */
int erofs_parse_size(const char *s, uint64_t *out);
/* a whole number in [min, max] */
int erofs_parse_long(const char *s, long long min, long long max,
		     long long *out);

/* "clear", "random" or a textual uuid */
int erofs_uuid_from_arg(const char *arg, uint8_t uuid[16]);
void erofs_uuid_to_string(const uint8_t uuid[16], char out[37]);

/* "1.5 MiB" style, into @buf */
const char *erofs_human_size(uint64_t bytes, char *buf, size_t len);

/*
 * Standard base64 (RFC 4648, '+' and '/'; '=' padding optional) of
 * @len bytes at @in into @out, which holds at least @len bytes:
 * LIBARCHIVE.xattr values, ~/.docker/config.json credentials.
 * -EINVAL on a character outside the alphabet.
 */
int erofs_base64_decode(const char *in, size_t len, uint8_t *out,
			size_t *outlen);

/* the value of hex digit @c, or -1 */
int erofs_hexval(char c);
/* a regular file of at most @max bytes, NUL-terminated; NULL + errno */
char *erofs_read_small_file(const char *path, size_t max, size_t *len);

#endif
