// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Opening an image: the primary device, its superblock and device table,
 * and bounded reads from any device.  Every later check relies on the
 * device sizes recorded here, so they are taken from the files themselves
 * and the superblock is only believed once it fits inside them.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/devmap.h"
#include "erofs/features.h"
#include "erofs/reader.h"
#include "erofs/super.h"

int erofs_corrupt(struct erofs_image *img, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (img->report)
		img->report(img->report_arg, text);
	else
		erofs_err(img->msg, "%s", text);
	return -EFSCORRUPTED;
}

static int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = st.st_size;
	return 0;
}

/* reads all of [pos, pos + len), retrying short reads */
static int pread_all(int fd, void *buf, size_t len, uint64_t pos)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)		/* the file shrank under us */
			return -EIO;
		p += n;
		pos += n;
		len -= n;
	}
	return 0;
}

void erofs_image_note_missing(struct erofs_image *img, unsigned int device)
{
	struct erofs_device *dev = &img->devs[device];

	if (!dev->missing_reported)
		erofs_err(img->msg, "device %u (tag \"%.64s\") is needed but not attached (use --device or --blob-dir)",
			  device, (const char *)dev->tag);
	dev->missing_reported = true;
}

/* a mapped device's bytes come from its tar, where the map says */
static int read_tar(void *priv, uint64_t off, size_t len, void *buf)
{
	const struct erofs_device *dev = priv;

	return pread_all(dev->fd, buf, len, dev->offset + off);
}

int erofs_image_pread(struct erofs_image *img, int device, void *buf,
		      size_t len, uint64_t pos)
{
	struct erofs_device *dev;
	int err;

	if (device < 0 || (unsigned int)device >= img->nr_devs)
		return erofs_corrupt(img, "read from device %d, but the image has %u",
				     device, img->nr_devs);
	dev = &img->devs[device];
	if (dev->fd < 0) {
		/* said once; a caller may say per file what it could not read */
		erofs_image_note_missing(img, device);
		img->missing_dev = device;
		return -ENODEV;
	}
	if (pos > dev->size || len > dev->size - pos)
		return erofs_corrupt(img, "read of %zu bytes at byte %llu is past the end of device %d (%llu bytes)",
				     len, (unsigned long long)pos, device,
				     (unsigned long long)dev->size);
	if (dev->map)
		err = erofs_devmap_read(dev->map, pos, len, buf, read_tar,
					dev);
	else
		err = pread_all(dev->fd, buf, len, dev->offset + pos);
	if (err)
		erofs_err(img->msg, "reading %zu bytes at byte %llu of device %d: %s",
			  len, (unsigned long long)pos, device, strerror(-err));
	return err;
}

/* the fields, copied out so that nothing later reads the raw struct */
static void parse_super(struct erofs_image *img,
			const struct erofs_super_block *sb)
{
	img->magic = le32_to_cpu(sb->magic);
	img->checksum = le32_to_cpu(sb->checksum);
	img->feature_compat = le32_to_cpu(sb->feature_compat);
	img->feature_incompat = le32_to_cpu(sb->feature_incompat);
	img->blkszbits = sb->blkszbits;
	img->sb_extslots = sb->sb_extslots;
	img->sb_size = 128 + sb->sb_extslots * EROFS_SB_EXTSLOT_SIZE;
	img->root_nid = le16_to_cpu(sb->root_nid);
	img->inos = le64_to_cpu(sb->inos);
	img->epoch = (int64_t)le64_to_cpu(sb->epoch);
	img->fixed_nsec = le32_to_cpu(sb->fixed_nsec);
	/* before 48BIT the build_time field was reserved (zero) */
	img->build_time = img->epoch + le32_to_cpu(sb->build_time);
	img->build_time_nsec = img->fixed_nsec;
	img->blocks = le32_to_cpu(sb->blocks);
	/* 48BIT with a zero root_nid_8b keeps the 16-bit root nid */
	if ((img->feature_incompat & EROFS_FEATURE_INCOMPAT_48BIT) &&
	    sb->root_nid_8b) {
		img->root_nid = le64_to_cpu(sb->root_nid_8b);
		img->blocks |= (uint64_t)le16_to_cpu(sb->blocks_hi) << 32;
	}
	img->meta_blkaddr = le32_to_cpu(sb->meta_blkaddr);
	img->xattr_blkaddr = le32_to_cpu(sb->xattr_blkaddr);
	memcpy(img->uuid, sb->uuid, sizeof(img->uuid));
	memcpy(img->volume_name, sb->volume_name, sizeof(sb->volume_name));
	img->volume_name[16] = '\0';
	img->available_compr_algs = le16_to_cpu(sb->u1);
	img->extra_devices = le16_to_cpu(sb->extra_devices);
	img->devt_slotoff = le16_to_cpu(sb->devt_slotoff);
	img->dirblkbits = sb->dirblkbits;
	img->xattr_prefix_count = sb->xattr_prefix_count;
	img->xattr_prefix_start = le32_to_cpu(sb->xattr_prefix_start);
	img->packed_nid = le64_to_cpu(sb->packed_nid);
	img->xattr_filter_reserved = sb->xattr_filter_reserved;
	img->ishare_xattr_prefix_id = sb->ishare_xattr_prefix_id;
}

int erofs_image_pread_tail(struct erofs_image *img, void *buf, size_t len,
			   uint64_t pos)
{
	struct erofs_device *dev = &img->devs[0];

	if (pos < dev->size || pos > img->file_size ||
	    len > img->file_size - pos)
		return -ERANGE;
	return pread_all(dev->fd, buf, len, dev->offset + pos);
}

static int check_sb_checksum(struct erofs_image *img)
{
	uint32_t crc;

	if (!(img->feature_compat & EROFS_FEATURE_COMPAT_SB_CHKSUM))
		return 0;
	crc = erofs_sb_checksum(img->sb_area, img->blksz);
	if (crc != img->checksum)
		return erofs_corrupt(img, "superblock checksum is 0x%08x, the superblock area (bytes %u..%u) sums to 0x%08x",
				     img->checksum, EROFS_SUPER_OFFSET,
				     EROFS_SUPER_OFFSET + img->sb_area_len - 1,
				     crc);
	return 0;
}

/* the metabox inode's nid, from the first extension slot */
static int read_metabox_nid(struct erofs_image *img)
{
	const struct erofs_super_block_ext *ext;

	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX))
		return 0;
	if (img->sb_extslots < 1)
		return erofs_corrupt(img, "superblock: metabox, but no extension slot holds its nid");
	ext = (const void *)(img->sb_area + sizeof(struct erofs_super_block));
	img->metabox_nid = le64_to_cpu(ext->metabox_nid);
	/* the metabox cannot live in itself */
	if (img->metabox_nid >> EROFS_DIRENT_NID_METABOX_BIT)
		return erofs_corrupt(img, "superblock: metabox nid 0x%llx has the metabox bit set",
				     (unsigned long long)img->metabox_nid);
	return 0;
}

/* magic, block size and checksum: whether this is an EROFS image at all */
static int read_super(struct erofs_image *img)
{
	struct erofs_super_block sb;
	uint64_t size = img->devs[0].size;
	int err;

	if (size < EROFS_SUPER_OFFSET + sizeof(sb))
		return erofs_corrupt(img, "image is %llu bytes, too small to hold a superblock at byte %u",
				     (unsigned long long)size,
				     EROFS_SUPER_OFFSET);
	err = erofs_image_pread(img, 0, &sb, sizeof(sb), EROFS_SUPER_OFFSET);
	if (err)
		return err;
	parse_super(img, &sb);
	if (img->magic != EROFS_SUPER_MAGIC_V1)
		return erofs_corrupt(img, "no EROFS superblock: magic at byte %u is 0x%08x, not 0x%08x",
				     EROFS_SUPER_OFFSET, img->magic,
				     EROFS_SUPER_MAGIC_V1);
	if (img->blkszbits < EROFS_MIN_BLKSZBITS ||
	    img->blkszbits > EROFS_MAX_BLKSZBITS)
		return erofs_corrupt(img, "superblock: blkszbits %u (byte %u) is outside %u..%u",
				     img->blkszbits, EROFS_SUPER_OFFSET + 12,
				     EROFS_MIN_BLKSZBITS, EROFS_MAX_BLKSZBITS);
	img->blksz = 1U << img->blkszbits;
	img->sb_area_len = erofs_sb_csum_len(img->blksz);
	if (size < EROFS_SUPER_OFFSET + img->sb_area_len)
		return erofs_corrupt(img, "image is %llu bytes, too small for the superblock area of a %u-byte block",
				     (unsigned long long)size, img->blksz);
	img->sb_area = malloc(img->sb_area_len);
	if (!img->sb_area)
		return -ENOMEM;
	err = erofs_image_pread(img, 0, img->sb_area, img->sb_area_len,
				EROFS_SUPER_OFFSET);
	if (err)
		return err;
	return check_sb_checksum(img);
}

static int check_features(struct erofs_image *img)
{
	uint32_t unknown = img->feature_incompat & ~EROFS_READER_INCOMPAT;
	char names[256];

	if (unknown) {
		img->unknown_incompat = unknown;
		/* the caller names them, after showing what it can */
		if (img->open_unknown)
			goto more;
		erofs_incompat_names(unknown, names, sizeof(names));
		erofs_err(img->msg, "superblock: not supported: %s (feature_incompat 0x%08x at byte %u)",
			  names, img->feature_incompat,
			  EROFS_SUPER_OFFSET + 80);
		return -EOPNOTSUPP;
	}
more:
	if (img->dirblkbits)
		return erofs_corrupt(img, "superblock: dirblkbits is %u, must be 0",
				     img->dirblkbits);
	if (img->sb_size > img->sb_area_len)
		return erofs_corrupt(img, "superblock: %u extension slots make it %u bytes, more than the %u bytes of its block",
				     img->sb_extslots, img->sb_size,
				     img->sb_area_len);
	return read_metabox_nid(img);
}

/* the superblock's addresses, against the image's real size */
static int check_geometry(struct erofs_image *img)
{
	uint64_t fsize = img->devs[0].size;
	uint64_t bytes = erofs_pos(img, img->blocks);
	uint64_t root;

	if (bytes > fsize)
		return erofs_corrupt(img, "image truncated: the superblock says %llu blocks (%llu bytes), the image has %llu bytes",
				     (unsigned long long)img->blocks,
				     (unsigned long long)bytes,
				     (unsigned long long)fsize);
	if (bytes < EROFS_SUPER_OFFSET + img->sb_area_len)
		return erofs_corrupt(img, "superblock: %llu blocks cannot hold the superblock itself",
				     (unsigned long long)img->blocks);
	/* nothing past the filesystem's end is part of it (but the annex) */
	img->file_size = fsize;
	img->devs[0].size = bytes;
	if (img->meta_blkaddr >= img->blocks)
		return erofs_corrupt(img, "superblock: meta_blkaddr %u is past the last block %llu",
				     img->meta_blkaddr,
				     (unsigned long long)img->blocks - 1);
	if (img->xattr_blkaddr > img->blocks)
		return erofs_corrupt(img, "superblock: xattr_blkaddr %u is past the last block %llu",
				     img->xattr_blkaddr,
				     (unsigned long long)img->blocks - 1);
	if (img->packed_nid >> EROFS_DIRENT_NID_METABOX_BIT)
		return erofs_corrupt(img, "superblock: packed nid 0x%llx has the metabox bit set",
				     (unsigned long long)img->packed_nid);
	/* a root in the metabox is checked when the metabox is read */
	if (img->root_nid >> EROFS_DIRENT_NID_METABOX_BIT)
		return 0;
	root = erofs_pos(img, img->meta_blkaddr) +
	       (img->root_nid << EROFS_ISLOTBITS);
	if (img->root_nid > bytes >> EROFS_ISLOTBITS ||
	    root + sizeof(struct erofs_inode_compact) > bytes)
		return erofs_corrupt(img, "superblock: root nid %llu (byte %llu) is outside the image",
				     (unsigned long long)img->root_nid,
				     (unsigned long long)root);
	return 0;
}

static int read_device_table(struct erofs_image *img)
{
	struct erofs_deviceslot slot;
	unsigned int i, n = 0;
	uint64_t pos;
	int err;

	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_DEVICE_TABLE)
		n = img->extra_devices;
	img->devs = realloc(img->devs, (n + 1) * sizeof(*img->devs));
	if (!img->devs)
		return -ENOMEM;
	memset(img->devs + 1, 0, n * sizeof(*img->devs));
	img->nr_devs = n + 1;
	if (!n)
		return 0;
	/* the smallest all-ones mask covering every device id */
	img->device_id_mask = 1;
	while (img->device_id_mask < n)
		img->device_id_mask = img->device_id_mask << 1 | 1;
	pos = (uint64_t)img->devt_slotoff * EROFS_DEVT_SLOT_SIZE;
	if (pos + (uint64_t)n * EROFS_DEVT_SLOT_SIZE > img->devs[0].size)
		return erofs_corrupt(img, "superblock: device table of %u slots at byte %llu runs past the image end",
				     n, (unsigned long long)pos);
	for (i = 1; i <= n; i++, pos += EROFS_DEVT_SLOT_SIZE) {
		err = erofs_image_pread(img, 0, &slot, sizeof(slot), pos);
		if (err)
			return err;
		img->devs[i].fd = -1;
		memcpy(img->devs[i].tag, slot.tag, sizeof(slot.tag));
		img->devs[i].blocks = le32_to_cpu(slot.blocks);
		img->devs[i].mapped_blkaddr = le32_to_cpu(slot.mapped_blkaddr);
		/* the high halves were reserved, zero, before 48BIT */
		if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_48BIT) {
			img->devs[i].blocks |=
				(uint64_t)le16_to_cpu(slot.blocks_hi) << 32;
			img->devs[i].mapped_blkaddr |=
				(uint64_t)le16_to_cpu(slot.mapped_blkaddr_hi) << 32;
		}
	}
	return 0;
}

/* an image of just its primary device, not yet opened */
static int image_init(struct erofs_image *img, const struct erofs_msg *msg)
{
	memset(img, 0, sizeof(*img));
	img->msg = msg;
	img->devs = calloc(1, sizeof(*img->devs));
	if (!img->devs)
		return -ENOMEM;
	img->devs[0].fd = -1;
	img->nr_devs = 1;
	return 0;
}

static int open_fd_at(struct erofs_image *img, const struct erofs_msg *msg,
		      int fd, const char *name, uint64_t offset)
{
	erofs_report_fn report = img->report;
	void *report_arg = img->report_arg;
	bool open_unknown = img->open_unknown;
	int err;

	err = image_init(img, msg);
	if (err)
		return err;
	/* a caller may set the report hook and open_unknown before opening */
	img->report = report;
	img->report_arg = report_arg;
	img->open_unknown = open_unknown;
	img->devs[0].fd = fd;
	img->devs[0].path = strdup(name);
	if (!img->devs[0].path) {
		err = -ENOMEM;
		goto fail;
	}
	err = fd_size(fd, &img->devs[0].size);
	if (err) {
		erofs_err(msg, "%s: not a regular file or block device: %s",
			  name, strerror(-err));
		goto fail;
	}
	if (offset > img->devs[0].size) {
		erofs_err(msg, "%s: offset %llu is past its end (%llu bytes)",
			  name, (unsigned long long)offset,
			  (unsigned long long)img->devs[0].size);
		err = -EINVAL;
		goto fail;
	}
	img->devs[0].offset = offset;
	img->devs[0].size -= offset;
	err = read_super(img);
	if (!err)
		err = check_features(img);
	if (!err)
		err = check_geometry(img);
	if (!err)
		err = read_device_table(img);
	if (!err)
		err = erofs_load_xattr_prefixes(img);
	if (!err)
		return 0;
fail:
	erofs_image_close(img);
	return err;
}

int erofs_image_peek_super(struct erofs_image *img,
			   const struct erofs_msg *msg, const char *path,
			   uint64_t offset)
{
	struct erofs_super_block sb;
	int err = image_init(img, msg);

	if (err)
		return err;
	img->devs[0].own_fd = true;
	img->devs[0].fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->devs[0].fd < 0)
		return -errno;
	err = fd_size(img->devs[0].fd, &img->devs[0].size);
	if (!err && offset > img->devs[0].size)
		err = -EINVAL;
	if (!err) {
		img->devs[0].offset = offset;
		img->devs[0].size -= offset;
	}
	if (!err)
		err = erofs_image_pread(img, 0, &sb, sizeof(sb),
					EROFS_SUPER_OFFSET);
	if (err)
		return err;
	parse_super(img, &sb);
	if (img->magic != EROFS_SUPER_MAGIC_V1)
		return -EFSCORRUPTED;
	/* a bad block size leaves nothing sized by it to read */
	if (img->blkszbits >= EROFS_MIN_BLKSZBITS &&
	    img->blkszbits <= EROFS_MAX_BLKSZBITS)
		img->blksz = 1U << img->blkszbits;
	img->unknown_incompat = img->feature_incompat & ~EROFS_READER_INCOMPAT;
	return 0;
}

int erofs_image_open_fd(struct erofs_image *img, const struct erofs_msg *msg,
			int fd, const char *name)
{
	return open_fd_at(img, msg, fd, name, 0);
}

int erofs_image_open_at(struct erofs_image *img, const struct erofs_msg *msg,
			const char *path, uint64_t offset)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		err = -errno;
		erofs_err(msg, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	err = open_fd_at(img, msg, fd, path, offset);
	if (err) {
		close(fd);
		return err;
	}
	img->devs[0].own_fd = true;
	return 0;
}

int erofs_image_open(struct erofs_image *img, const struct erofs_msg *msg,
		     const char *path)
{
	return erofs_image_open_at(img, msg, path, 0);
}

int erofs_image_add_device(struct erofs_image *img, unsigned int index,
			   const char *path)
{
	struct erofs_device *dev;
	uint64_t need;
	int fd, err;

	if (!index || index >= img->nr_devs) {
		erofs_err(img->msg, "%s: the image has %u extra device(s), there is no device %u",
			  path, img->nr_devs - 1, index);
		return -EINVAL;
	}
	dev = &img->devs[index];
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_err(img->msg, "cannot open device %u %s: %s", index,
			  path, strerror(errno));
		return err;
	}
	err = fd_size(fd, &dev->size);
	if (err) {
		erofs_err(img->msg, "device %u %s: not a regular file or block device",
			  index, path);
		close(fd);
		return err;
	}
	need = erofs_pos(img, dev->blocks);
	erofs_devmap_free_ptr(&dev->map);
	err = erofs_devmap_attach(img, index, dev->size, &dev->map);
	if (err) {
		close(fd);
		return err;
	}
	if (dev->map) {
		/* the tar itself: the map checked it is the tar's size */
		dev->size = need;
	} else if (dev->size < need) {
		close(fd);
		return erofs_corrupt(img, "device %u %s is %llu bytes, the device table says %llu blocks",
				     index, path,
				     (unsigned long long)dev->size,
				     (unsigned long long)dev->blocks);
	}
	if (need)
		dev->size = need;
	free(dev->path);
	dev->path = strdup(path);
	dev->fd = fd;
	dev->own_fd = true;
	return 0;
}

void erofs_image_close(struct erofs_image *img)
{
	unsigned int i;

	for (i = 0; img->devs && i < img->nr_devs; i++) {
		if (img->devs[i].own_fd && img->devs[i].fd >= 0)
			close(img->devs[i].fd);
		erofs_devmap_free_ptr(&img->devs[i].map);
		free(img->devs[i].path);
	}
	free(img->devs);
	img->devs = NULL;
	img->nr_devs = 0;
	free(img->sb_area);
	img->sb_area = NULL;
	free(img->prefixes);
	img->prefixes = NULL;
	z_erofs_bufs_free(&img->zbuf);
	z_erofs_bufs_free(&img->metabox_zbuf);
}

int erofs_image_view_init(struct erofs_image *view,
			  const struct erofs_image *img)
{
	unsigned int i;

	*view = *img;
	memset(&view->zbuf, 0, sizeof(view->zbuf));
	memset(&view->metabox_zbuf, 0, sizeof(view->metabox_zbuf));
	view->report = NULL;
	view->report_arg = NULL;
	/* its own flags: a missing device is announced by @img's owner */
	view->devs = malloc(img->nr_devs * sizeof(*view->devs));
	if (!view->devs)
		return -ENOMEM;
	memcpy(view->devs, img->devs, img->nr_devs * sizeof(*view->devs));
	for (i = 0; i < img->nr_devs; i++)
		view->devs[i].missing_reported = true;
	return 0;
}

void erofs_image_view_exit(struct erofs_image *view)
{
	free(view->devs);
	view->devs = NULL;
	z_erofs_bufs_free(&view->zbuf);
	z_erofs_bufs_free(&view->metabox_zbuf);
}
