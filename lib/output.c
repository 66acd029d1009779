// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/output.h"
#include "erofs/sha256.h"

static char *temp_name_for(const char *path)
{
	char *d = strdup(path), *f = strdup(path), *tmp = NULL;

	if (d && f && asprintf(&tmp, "%s/.%s.XXXXXX", dirname(d),
			       basename(f)) < 0)
		tmp = NULL;
	free(d);
	free(f);
	return tmp;
}

int erofs_output_open(struct erofs_output *out, const struct erofs_msg *msg,
		      const char *path)
{
	struct stat st;
	mode_t mask;
	int err;

	memset(out, 0, sizeof(*out));
	out->msg = msg;
	out->fd = -1;
	out->path = strdup(path);
	if (!out->path)
		return -ENOMEM;

	/* a block device is written in place: there is nothing to rename */
	if (!stat(path, &st) && S_ISBLK(st.st_mode)) {
		/* read and write: data is read back to compare and digest */
		out->fd = open(path, O_RDWR | O_CLOEXEC);
		if (out->fd < 0)
			goto fail;
		return 0;
	}
	out->tmppath = temp_name_for(path);
	if (!out->tmppath) {
		errno = ENOMEM;
		goto fail;
	}
	/* read and write: a blob is read back for its digest */
	out->fd = mkostemp(out->tmppath, O_CLOEXEC);
	if (out->fd < 0)
		goto fail;
	mask = umask(0);
	umask(mask);
	if (fchmod(out->fd, 0666 & ~mask))
		goto fail;
	return 0;
fail:
	err = -errno;
	erofs_err(msg, "%s: cannot create image: %s", path, strerror(errno));
	if (out->fd >= 0) {
		close(out->fd);
		if (out->tmppath)
			unlink(out->tmppath);
	}
	free(out->tmppath);
	free(out->path);
	out->tmppath = out->path = NULL;
	return err;
}

int erofs_pwrite_full(int fd, const void *buf, size_t len, uint64_t pos)
{
	const char *p = buf;
	ssize_t ret;

	while (len) {
		ret = pwrite(fd, p, len, pos);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return ret < 0 ? -errno : -EIO;
		p += ret;
		pos += ret;
		len -= ret;
	}
	return 0;
}

int erofs_tmpfile(const struct erofs_msg *msg, const char *what)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, err;

	snprintf(path, sizeof(path), "%s/erofs-tmp.XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_err(msg, "%s: cannot create %s: %s", path, what,
			  strerror(errno));
		return err;
	}
	unlink(path);
	return fd;
}

int erofs_output_pwrite(struct erofs_output *out, const void *buf,
			size_t len, uint64_t pos)
{
	int err = erofs_pwrite_full(out->fd, buf, len, out->offset + pos);

	if (err)
		erofs_err(out->msg, "%s: write failed at offset %llu: %s",
			  out->path, (unsigned long long)pos, strerror(-err));
	return err;
}

static bool block_is_zero(const uint8_t *p, size_t len)
{
	/* p[0] == 0 and every byte equals its successor */
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

int erofs_output_pwrite_sparse(struct erofs_output *out, const void *buf,
			       size_t len, uint64_t pos, unsigned int blksz)
{
	const uint8_t *p = buf, *run = NULL;
	size_t off, n;
	int err;

	/* a device may hold old data: only a fresh file reads holes as 0 */
	if (!out->tmppath)
		return erofs_output_pwrite(out, buf, len, pos);
	for (off = 0; off < len; off += n) {
		n = MIN(blksz, len - off);
		if (!block_is_zero(p + off, n)) {
			if (!run)
				run = p + off;
			continue;
		}
		if (run) {
			err = erofs_output_pwrite(out, run, p + off - run,
						  pos + (run - p));
			if (err)
				return err;
			run = NULL;
		}
	}
	if (run)
		return erofs_output_pwrite(out, run, p + len - run,
					   pos + (run - p));
	return 0;
}

int erofs_output_digest(struct erofs_output *out, uint64_t size,
			uint8_t digest[32])
{
	struct erofs_sha256 s;
	uint64_t pos = 0;
	uint8_t *buf;
	ssize_t n;
	int err = 0;

	if (out->tmppath && ftruncate(out->fd, out->offset + size))
		return -errno;
	buf = malloc(1U << 20);
	if (!buf)
		return -ENOMEM;
	erofs_sha256_init(&s);
	while (pos < size) {
		n = pread(out->fd, buf, MIN((uint64_t)(1U << 20), size - pos),
			  out->offset + pos);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			erofs_err(out->msg, "%s: cannot read back: %s",
				  out->path, strerror(-err));
			break;
		}
		erofs_sha256_update(&s, buf, n);
		pos += n;
	}
	free(buf);
	if (!err)
		erofs_sha256_final(&s, digest);
	return err;
}

static void output_release(struct erofs_output *out)
{
	free(out->tmppath);
	free(out->path);
	out->tmppath = out->path = NULL;
	out->fd = -1;
}

int erofs_output_commit(struct erofs_output *out, uint64_t size)
{
	const char *what;
	int err;

	what = "set size";
	if (out->tmppath && ftruncate(out->fd, out->offset + size))
		goto fail;
	what = "flush";
	if (fsync(out->fd))
		goto fail;
	what = "close";
	err = close(out->fd);
	out->fd = -1;
	if (err)
		goto fail;
	what = "rename into place";
	if (out->tmppath && rename(out->tmppath, out->path))
		goto fail;
	output_release(out);
	return 0;
fail:
	err = -errno;
	erofs_err(out->msg, "%s: cannot %s: %s", out->path, what,
		  strerror(errno));
	erofs_output_abort(out);
	return err;
}

void erofs_output_abort(struct erofs_output *out)
{
	if (out->fd >= 0)
		close(out->fd);
	if (out->tmppath)
		unlink(out->tmppath);
	output_release(out);
}
