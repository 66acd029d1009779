// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include "erofs/util.h"

int erofs_parse_long(const char *s, long long min, long long max,
		     long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int erofs_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int erofs_uuid_from_arg(const char *arg, uint8_t uuid[16])
{
	if (!strcmp(arg, "clear")) {
		memset(uuid, 0, 16);
		return 0;
	}
	if (!strcmp(arg, "random")) {
		uuid_generate_random(uuid);
		return 0;
	}
	return uuid_parse(arg, uuid) ? -EINVAL : 0;
}

void erofs_uuid_to_string(const uint8_t uuid[16], char out[37])
{
	uuid_unparse_lower(uuid, out);
}

const char *erofs_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	return buf;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int erofs_base64_decode(const char *in, size_t len, uint8_t *out,
			size_t *outlen)
{
	uint32_t acc = 0;
	unsigned int bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len && in[i] != '='; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = acc >> bits;
		}
	}
	for (; i < len; i++)
		if (in[i] != '=')
			return -EINVAL;
	*outlen = n;
	return 0;
}

int erofs_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *erofs_read_small_file(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)max)
		errno = EFBIG;
	else
		buf = malloc(st.st_size + 1);
	if (buf) {
		n = pread(fd, buf, st.st_size, 0);
		if (n != st.st_size) {
			free(buf);
			buf = NULL;
			errno = EIO;
		} else {
			buf[n] = '\0';
			*len = n;
		}
	}
	close(fd);
	return buf;
}

int erofs_reserve(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}
