// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A local directory as a fetch source: object KEY is the file DIR/KEY.
 * Useful for tests, for blobs on a shared file system, and as the model
 * the network backends must behave like.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "source_priv.h"

struct dir_be {
	int dirfd;
	char *path;
};

static int dir_openkey(struct dir_be *d, const char *key,
		       struct erofs_source_attempt *at)
{
	int fd;

	/* a key names a file in the directory, never a path out of it */
	if (!erofs_source_key_is_safe(key, false)) {
		snprintf(at->why, sizeof(at->why), "bad key \"%s\"", key);
		return -EINVAL;
	}
	fd = openat(d->dirfd, key, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		/* EIO and the like may pass; a missing file will not */
		at->transient = err == -EIO || err == -EINTR || err == -EAGAIN;
		snprintf(at->why, sizeof(at->why), "%s", strerror(-err));
		return err;
	}
	return fd;
}

static int dir_size(void *be, void *w, const char *key, uint64_t *size,
		    struct erofs_source_attempt *at)
{
	struct stat st;
	int fd = dir_openkey(be, key, at);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(at->why, sizeof(at->why), "not a regular file");
		return -EINVAL;
	}
	*size = st.st_size;
	return 0;
}

static int dir_read(void *be, void *w, const char *key, uint64_t off,
		    size_t len, void *buf, struct erofs_source_attempt *at)
{
	size_t done = 0;
	struct stat st;
	int fd = dir_openkey(be, key, at);
	int err = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (off + len > (uint64_t)st.st_size) {
		snprintf(at->why, sizeof(at->why),
			 "range ends at %llu, past the end of the file (%llu bytes)",
			 (unsigned long long)(off + len),
			 (unsigned long long)st.st_size);
		err = -ERANGE;
		goto out;
	}
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the file shrank under us, or the disk failed */
			err = n < 0 ? -errno : -EIO;
			at->transient = true;
			snprintf(at->why, sizeof(at->why), "short read: %s",
				 n < 0 ? strerror(errno) : "end of file");
			break;
		}
		done += n;
	}
	at->received = done;
out:
	close(fd);
	return err;
}

static void dir_describe(void *be, const char *key, char *out, size_t size)
{
	struct dir_be *d = be;

	snprintf(out, size, "%s/%s", d->path, key);
}

static void dir_close(void *be)
{
	struct dir_be *d = be;

	close(d->dirfd);
	free(d->path);
	free(d);
}

int erofs_source_dir_open(struct erofs_source_backend *b, const char *path,
			  const struct erofs_msg *msg)
{
	struct dir_be *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0) {
		int err = -errno;

		erofs_err(msg, "source directory %s: %s", path, strerror(-err));
		free(d);
		return err;
	}
	d->path = strdup(path);
	if (!d->path) {
		close(d->dirfd);
		free(d);
		return -ENOMEM;
	}
	memset(b, 0, sizeof(*b));
	b->name = "dir";
	b->size = dir_size;
	b->read = dir_read;
	b->describe = dir_describe;
	b->close = dir_close;
	b->be = d;
	return 0;
}
