// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Finding an image's extra devices by their device-table tags, and
 * checking that a blob is what its tag says.
 *
 * Our mkfs tags every data blob with the sha256 of its content as 64 hex
 * characters (the whole tag slot), so a blob can be stored and fetched
 * by digest -- in a flat directory of digests or an OCI image layout's
 * blobs/sha256/ -- and verified against the bootstrap that names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "erofs/blobs.h"
#include "erofs/sha256.h"

/* the tag as a C string, if it is one that may name a file */
static bool tag_name(const struct erofs_device *dev, char out[65])
{
	size_t len = strnlen((const char *)dev->tag, sizeof(dev->tag));

	memcpy(out, dev->tag, len);
	out[len] = '\0';
	if (!len || !strcmp(out, ".") || !strcmp(out, ".."))
		return false;
	return !strchr(out, '/');
}

bool erofs_tag_is_digest(const uint8_t tag[64])
{
	unsigned int i;

	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", tag[i]) || !tag[i])
			return false;
	return true;
}

static int attach_from(struct erofs_image *img, unsigned int i,
		       const char *dir, const char *name)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK))
		return -ENOENT;
	return erofs_image_add_device(img, i, path);
}

int erofs_image_find_blobs(struct erofs_image *img, const char *dir)
{
	unsigned int i, found = 0;
	char name[65], oci[80];
	int err;

	for (i = 1; i < img->nr_devs; i++) {
		if (img->devs[i].fd >= 0)
			continue;
		if (!tag_name(&img->devs[i], name)) {
			erofs_warn(img->msg, "device %u: its tag cannot name a file in %s",
				   i, dir);
			continue;
		}
		err = attach_from(img, i, dir, name);
		if (err == -ENOENT) {
			snprintf(oci, sizeof(oci), "sha256/%s", name);
			err = attach_from(img, i, dir, oci);
		}
		if (err == -ENOENT) {
			erofs_warn(img->msg, "device %u: no blob %s in %s",
				   i, name, dir);
			continue;
		}
		if (err)
			return err;
		found++;
	}
	erofs_dbg(img->msg, "%u blob(s) found in %s", found, dir);
	return 0;
}

static int digest_fd(int fd, uint8_t out[EROFS_SHA256_SIZE])
{
	struct erofs_sha256 s;
	uint8_t buf[1U << 16];
	uint64_t pos = 0;
	ssize_t n;

	erofs_sha256_init(&s);
	while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
		erofs_sha256_update(&s, buf, n);
		pos += n;
	}
	if (n < 0)
		return -errno;
	erofs_sha256_final(&s, out);
	return 0;
}

/* a mapped device attached as its tar: the view readers see is hashed */
static int digest_view(struct erofs_image *img, unsigned int i,
		       uint8_t out[EROFS_SHA256_SIZE])
{
	const uint64_t size = img->devs[i].size;
	struct erofs_sha256 s;
	uint8_t buf[1U << 16];
	uint64_t pos;
	int err;

	erofs_sha256_init(&s);
	for (pos = 0; pos < size; pos += sizeof(buf)) {
		size_t n = MIN((uint64_t)sizeof(buf), size - pos);

		err = erofs_image_pread(img, i, buf, n, pos);
		if (err)
			return err;
		erofs_sha256_update(&s, buf, n);
	}
	erofs_sha256_final(&s, out);
	return 0;
}

int erofs_image_verify_blob(struct erofs_image *img, unsigned int i)
{
	struct erofs_device *dev = &img->devs[i];
	uint8_t digest[EROFS_SHA256_SIZE];
	char hex[65];
	int err;

	if (dev->fd < 0)
		return -ENODEV;
	if (!erofs_tag_is_digest(dev->tag))
		return -EOPNOTSUPP;
	err = dev->map ? digest_view(img, i, digest) :
			 digest_fd(dev->fd, digest);
	if (err) {
		erofs_err(img->msg, "device %u %s: read failed: %s", i,
			  dev->path, strerror(-err));
		return err;
	}
	erofs_sha256_hex(digest, hex);
	if (memcmp(hex, dev->tag, 64))
		return erofs_corrupt(img, "device %u %s: content digest %s does not match its tag %.64s",
				     i, dev->path, hex, (const char *)dev->tag);
	return 0;
}
