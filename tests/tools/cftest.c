// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit checks of lib/cachefiles.c: decoding of crafted and random
 * requests, and the exact bytes of the control commands (sent into a
 * SOCK_SEQPACKET pair, which keeps one write() one message as the
 * devnode does).  Exits non-zero on the first mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "erofs/cachefiles.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "cftest:%d: check failed: %s\n",	\
			__LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static size_t put_hdr(uint8_t *buf, uint32_t id, uint32_t op, uint32_t len,
		      uint32_t obj)
{
	struct cachefiles_msg h = { id, op, len, obj };

	memcpy(buf, &h, sizeof(h));
	return sizeof(h);
}

static size_t make_open(uint8_t *buf, const char *vol, uint32_t vsize,
			const void *key, uint32_t ksize, uint32_t fd)
{
	struct cachefiles_open o = { vsize, ksize, fd, 0 };
	size_t n = sizeof(struct cachefiles_msg);

	memcpy(buf + n, &o, sizeof(o));
	n += sizeof(o);
	memcpy(buf + n, vol, strlen(vol) + 1);
	n += strlen(vol) + 1;
	memcpy(buf + n, key, ksize);
	n += ksize;
	put_hdr(buf, 11, CACHEFILES_OP_OPEN, n, 3);
	return n;
}

static void test_open(void)
{
	uint8_t buf[CACHEFILES_MSG_MAX_SIZE];
	struct erofs_cf_req r;
	size_t n;

	n = make_open(buf, "erofs,boot", 11, "boot", 4, 7);
	CHECK(erofs_cf_parse(buf, n, &r) == 0);
	CHECK(r.msg_id == 11 && r.opcode == CACHEFILES_OP_OPEN && r.object_id == 3);
	CHECK(r.open.fd == 7 && !strcmp(r.open.volume, "erofs,boot"));
	CHECK(!strcmp(r.open.cookie, "boot") && r.open.cookie_len == 4);
	CHECK(erofs_cf_key_printable(&r));

	/* a volume key that overruns the message: bad, but the fd is known */
	n = make_open(buf, "erofs,boot", 200, "boot", 4, 9);
	CHECK(erofs_cf_parse(buf, n, &r) == -EBADMSG && r.open.fd == 9);
	/* cookie key overrunning */
	n = make_open(buf, "erofs,boot", 11, "boot", 4, 9);
	((struct cachefiles_open *)(buf + 16))->cookie_key_size = 5;
	CHECK(erofs_cf_parse(buf, n, &r) == -EBADMSG);
	/* volume key without its NUL */
	n = make_open(buf, "erofs,boot", 10, "boot", 4, 9);
	CHECK(erofs_cf_parse(buf, n, &r) == -EBADMSG);
	n = make_open(buf, "erofs,boot", 11, "boot", 4, 9);
	CHECK(erofs_cf_parse(buf, n, &r) == 0);
	CHECK(erofs_cf_parse(buf, n - 1, &r) == -EBADMSG);	/* len != n */
	/* a payload shorter than struct cachefiles_open */
	put_hdr(buf, 1, CACHEFILES_OP_OPEN, 16 + 8, 1);
	CHECK(erofs_cf_parse(buf, 16 + 8, &r) == -EBADMSG && r.open.fd == -1);

	/* keys that must not become file names or URL paths */
	n = make_open(buf, "erofs,x", 8, "a/b", 3, 1);
	CHECK(erofs_cf_parse(buf, n, &r) == 0 && !erofs_cf_key_printable(&r));
	n = make_open(buf, "erofs,x", 8, "..", 2, 1);
	CHECK(erofs_cf_parse(buf, n, &r) == 0 && !erofs_cf_key_printable(&r));
	n = make_open(buf, "erofs,x", 8, "a\0b", 3, 1);
	CHECK(erofs_cf_parse(buf, n, &r) == 0 && !erofs_cf_key_printable(&r));
	n = make_open(buf, "erofs,x", 8, "", 0, 1);
	CHECK(erofs_cf_parse(buf, n, &r) == 0 && !erofs_cf_key_printable(&r));
}

static void test_read_close(void)
{
	uint8_t buf[64];
	struct cachefiles_read rd = { 8192, 65536 };
	struct erofs_cf_req r;

	put_hdr(buf, 5, CACHEFILES_OP_READ, 32, 2);
	memcpy(buf + 16, &rd, sizeof(rd));
	CHECK(erofs_cf_parse(buf, 32, &r) == 0);
	CHECK(r.msg_id == 5 && r.object_id == 2);
	CHECK(r.read.off == 8192 && r.read.len == 65536);
	CHECK(erofs_cf_parse(buf, 31, &r) == -EBADMSG);	/* len != n */
	put_hdr(buf, 5, CACHEFILES_OP_READ, 24, 2);
	CHECK(erofs_cf_parse(buf, 24, &r) == -EBADMSG);	/* short payload */
	rd.off = UINT64_MAX - 10;
	put_hdr(buf, 5, CACHEFILES_OP_READ, 32, 2);
	memcpy(buf + 16, &rd, sizeof(rd));
	CHECK(erofs_cf_parse(buf, 32, &r) == -EBADMSG);	/* wraps */

	put_hdr(buf, 6, CACHEFILES_OP_CLOSE, 16, 4);
	CHECK(erofs_cf_parse(buf, 16, &r) == 0 && r.object_id == 4);
	put_hdr(buf, 7, 9, 16, 4);
	CHECK(erofs_cf_parse(buf, 16, &r) == -EOPNOTSUPP && r.msg_id == 7);
	CHECK(erofs_cf_parse(buf, 15, &r) == -EBADMSG);
	CHECK(!strcmp(erofs_cf_opname(CACHEFILES_OP_READ), "READ"));
}

static void expect_msg(int fd, const char *want)
{
	char got[600];
	ssize_t n = read(fd, got, sizeof(got) - 1);

	got[n < 0 ? 0 : n] = '\0';
	if (strcmp(got, want)) {
		fprintf(stderr, "cftest: command '%s', expected '%s'\n", got, want);
		failures++;
	}
}

static void test_commands(void)
{
	int sv[2];
	char longdir[600];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CHECK(erofs_cf_copen(sv[0], 5, 12345) == 0);
	expect_msg(sv[1], "copen 5,12345");
	CHECK(erofs_cf_copen(sv[0], 4294967295U, -ENOENT) == 0);
	expect_msg(sv[1], "copen 4294967295,-2");
	CHECK(erofs_cf_restore(sv[0]) == 0);
	expect_msg(sv[1], "restore");
	CHECK(erofs_cf_bind(sv[0], "/var/cache/x", "tagname") == 0);
	expect_msg(sv[1], "dir /var/cache/x");
	expect_msg(sv[1], "tag tagname");
	expect_msg(sv[1], "bind ondemand");
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	CHECK(erofs_cf_bind(sv[0], longdir, NULL) == -ENAMETOOLONG);
	close(sv[1]);
	/* the kernel's errors come back as -errno: here a closed peer */
	CHECK(erofs_cf_restore(sv[0]) == -EPIPE);
	close(sv[0]);

	/* _IOW(0x98, 1, int), as the uapi header defines it */
	CHECK(CACHEFILES_IOC_READ_COMPLETE == 0x40049801);
	CHECK(erofs_cf_read_complete(STDIN_FILENO, 1) < 0);
}

/* random bytes must be refused or decoded, never overrun */
static void test_random(void)
{
	uint8_t buf[CACHEFILES_MSG_MAX_SIZE];
	struct erofs_cf_req r;
	unsigned int i, j, n, ok = 0;

	srand(1);
	for (i = 0; i < 200000; i++) {
		n = rand() % sizeof(buf);
		for (j = 0; j < n; j++)
			buf[j] = rand();
		if (n >= 16) {
			/* mostly valid headers, so payload parsing is reached */
			((struct cachefiles_msg *)buf)->len = n;
			((struct cachefiles_msg *)buf)->opcode = rand() % 4;
		}
		if (n >= 24 && rand() % 2) {
			struct cachefiles_open *o = (void *)(buf + 16);

			o->volume_key_size = rand() % (n - 24 + 8);
			o->cookie_key_size = rand() % 300;
		}
		if (!erofs_cf_parse(buf, n, &r)) {
			ok++;
			if (r.opcode == CACHEFILES_OP_OPEN)
				CHECK(strlen(r.open.cookie) <= r.open.cookie_len);
		}
	}
	printf("random messages: %u of 200000 decoded, the rest refused\n", ok);
	CHECK(ok > 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* the closed-peer check wants EPIPE */
	test_open();
	test_read_close();
	test_commands();
	test_random();
	if (failures)
		return 1;
	printf("cachefiles protocol checks passed\n");
	return 0;
}
