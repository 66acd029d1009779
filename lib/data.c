// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copying regular file contents into the image.  Sizes were fixed when the
 * tree was scanned; a file that is not exactly what was scanned when it is
 * copied fails the build rather than yielding an image that lies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

#define COPY_CHUNK	(1U << 20)

static int changed(struct erofs_builder *b, const struct erofs_node *n)
{
	erofs_err(b->msg, "%s: file changed during the build", n->path);
	return -EAGAIN;
}

static int read_full(int fd, uint8_t *buf, size_t len, size_t *got)
{
	ssize_t ret;

	*got = 0;
	while (*got < len) {
		ret = read(fd, buf + *got, len - *got);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			break;
		*got += ret;
	}
	return 0;
}

static bool same_file(const struct erofs_node *n, const struct stat *st)
{
	return st->st_ino == n->src_ino && st->st_dev == n->src_dev &&
	       (uint64_t)st->st_size == n->size &&
	       st->st_mtim.tv_sec == n->src_mtime &&
	       st->st_mtim.tv_nsec == n->src_mtime_nsec;
}

/* copies [0, size) of @fd: whole blocks to the data area, tail inline */
static int copy_contents(struct erofs_builder *b, const struct erofs_node *n,
			 int fd, uint8_t *buf)
{
	uint64_t pos = 0, outside = n->size - n->inline_size;
	size_t want, got;
	int err;

	while (pos < n->size) {
		want = MIN((uint64_t)COPY_CHUNK, n->size - pos);
		err = read_full(fd, buf, want, &got);
		if (err) {
			erofs_err(b->msg, "%s: read failed: %s", n->path,
				  strerror(-err));
			return err;
		}
		if (got != want)
			return changed(b, n);
		if (pos < outside) {
			size_t len = MIN((uint64_t)got, outside - pos);
			/* the last plain block is zero-padded to its end */
			size_t padded = ROUND_UP(len, b->blksz);

			memset(buf + len, 0, padded - len);
			err = erofs_output_pwrite_sparse(b->out, buf, padded,
					n->blkaddr * b->blksz + pos, b->blksz);
			if (err)
				return err;
		}
		if (pos + got > outside)
			memcpy(erofs_node_inline_ptr(b, n),
			       buf + (outside - pos), n->inline_size);
		pos += got;
	}
	/* one more byte would mean the file grew since it was scanned */
	err = read_full(fd, buf, 1, &got);
	if (err || got)
		return changed(b, n);
	return 0;
}

static int write_file(struct erofs_builder *b, const struct erofs_node *n,
		      uint8_t *buf)
{
	struct stat st;
	int fd, err;

	fd = open(n->path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot open: %s", n->path,
			  strerror(errno));
		return err;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (fstat(fd, &st) || !same_file(n, &st))
		err = changed(b, n);
	else
		err = copy_contents(b, n, fd, buf);
	if (!err && (fstat(fd, &st) || !same_file(n, &st)))
		err = changed(b, n);
	close(fd);
	return err;
}

int erofs_write_data(struct erofs_builder *b)
{
	uint64_t files = 0, done = 0;
	uint8_t *buf;
	size_t i;
	int err = 0;

	/* room for the zero padding of a last partial block */
	buf = malloc(COPY_CHUNK + b->blksz);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < b->nr_nodes; i++)
		files += S_ISREG(b->nodes[i]->mode) && b->nodes[i]->size;
	for (i = 0; i < b->nr_nodes && !err; i++) {
		const struct erofs_node *n = b->nodes[i];

		if (!S_ISREG(n->mode) || !n->size)
			continue;
		err = write_file(b, n, buf);
		erofs_progress_update(&b->progress, "copying files", ++done,
				      files);
	}
	erofs_progress_done(&b->progress);
	free(buf);
	return err;
}
