// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Appends go through a buffer and reads through a window, so a million
 * small tails cost a few hundred system calls, not two million: the data
 * pass appends in inode order and the metadata pass reads in nearly the
 * same order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "erofs/output.h"
#include "erofs/print.h"
#include "erofs/spill.h"
#include "erofs/defs.h"

#define SPILL_BUF	(256U << 10)

static int spill_create(struct erofs_spill *s, const struct erofs_msg *msg)
{
	s->wbuf = malloc(SPILL_BUF);
	if (!s->wbuf)
		return -ENOMEM;
	s->fd = erofs_tmpfile(msg, s->what ? s->what : "a scratch file");
	if (s->fd < 0) {
		free(s->wbuf);
		s->wbuf = NULL;
		return s->fd;
	}
	s->open = true;
	return 0;
}

int erofs_spill_flush(struct erofs_spill *s, const struct erofs_msg *msg)
{
	int err;

	if (!s->open || s->flushed == s->size)
		return 0;
	err = erofs_pwrite_full(s->fd, s->wbuf, s->size - s->flushed,
				s->flushed);
	if (err) {
		erofs_err(msg, "%s: write failed: %s", s->what,
			  strerror(-err));
		return err;
	}
	s->flushed = s->size;
	return 0;
}

int erofs_spill_append(struct erofs_spill *s, const struct erofs_msg *msg,
		       const void *buf, size_t len, uint64_t *off)
{
	size_t n;
	int err;

	if (!s->open) {
		err = spill_create(s, msg);
		if (err)
			return err;
	}
	*off = s->size;
	while (len) {
		if (s->size - s->flushed == SPILL_BUF) {
			err = erofs_spill_flush(s, msg);
			if (err)
				return err;
		}
		n = MIN(len, SPILL_BUF - (size_t)(s->size - s->flushed));
		memcpy(s->wbuf + (s->size - s->flushed), buf, n);
		s->size += n;
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

static int spill_pread(struct erofs_spill *s, const struct erofs_msg *msg,
		       void *buf, size_t len, uint64_t off)
{
	ssize_t ret;
	size_t got = 0;

	while (got < len) {
		ret = pread(s->fd, (uint8_t *)buf + got, len - got, off + got);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			erofs_err(msg, "%s: cannot read it back: %s",
				  s->what, ret ? strerror(errno) : "short");
			return ret ? -errno : -EIO;
		}
		got += ret;
	}
	return 0;
}

int erofs_spill_read(struct erofs_spill *s, const struct erofs_msg *msg,
		     void *buf, size_t len, uint64_t off)
{
	int err;

	if (off > s->size || len > s->size - off)
		return -EINVAL;
	if (!len)
		return 0;
	if (off >= s->flushed) {	/* still in the write buffer */
		memcpy(buf, s->wbuf + (off - s->flushed), len);
		return 0;
	}
	err = erofs_spill_flush(s, msg);
	if (err)
		return err;
	if (len > SPILL_BUF / 2)	/* too large to be worth a window */
		return spill_pread(s, msg, buf, len, off);
	if (off < s->rstart || off + len > s->rstart + s->rlen) {
		if (!s->rbuf) {
			s->rbuf = malloc(SPILL_BUF);
			if (!s->rbuf)
				return -ENOMEM;
		}
		s->rstart = off;
		s->rlen = MIN((uint64_t)SPILL_BUF, s->flushed - off);
		err = spill_pread(s, msg, s->rbuf, s->rlen, off);
		if (err) {
			s->rlen = 0;
			return err;
		}
	}
	memcpy(buf, s->rbuf + (off - s->rstart), len);
	return 0;
}

void erofs_spill_close(struct erofs_spill *s)
{
	if (s->open)
		close(s->fd);
	free(s->wbuf);
	free(s->rbuf);
	memset(s, 0, sizeof(*s));
}
