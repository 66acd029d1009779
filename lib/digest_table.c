// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Digest tables of blobs: built by mkfs while (or after) a blob is
 * written, loaded by readers from the bootstrap's annex.  A loaded table
 * is trusted only as far as the bootstrap is (it sits under the
 * bootstrap's own digest), so every field is checked against the device
 * it describes before anything is looked up in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erofs/annex.h"
#include "erofs/defs.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/reader.h"

#define READ_BUF_SIZE	(1U << 20)

uint64_t erofs_digest_table_bytes(uint64_t blob_size, unsigned int unit_bits)
{
	return sizeof(struct erofs_annex_digest_table) +
	       DIV_ROUND_UP(blob_size, 1ULL << unit_bits) * EROFS_SHA256_SIZE;
}

void erofs_digest_builder_init(struct erofs_digest_builder *b,
			       unsigned int unit_bits)
{
	memset(b, 0, sizeof(*b));
	b->unit_bits = unit_bits;
	erofs_sha256_init(&b->unit);
}

static void close_unit(struct erofs_digest_builder *b)
{
	uint8_t *p;

	if (b->nr == b->cap) {
		uint64_t cap = b->cap ? b->cap * 2 : 64;

		p = realloc(b->digests, cap * EROFS_SHA256_SIZE);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->digests = p;
		b->cap = cap;
	}
	erofs_sha256_final(&b->unit, b->digests + b->nr++ * EROFS_SHA256_SIZE);
	erofs_sha256_init(&b->unit);
}

void erofs_digest_builder_update(struct erofs_digest_builder *b,
				 const void *data, size_t len)
{
	uint64_t unit = 1ULL << b->unit_bits;
	const uint8_t *p = data;

	if (b->whole)
		erofs_sha256_update(b->whole, data, len);
	while (len && !b->err) {
		uint64_t room = unit - (b->size & (unit - 1));
		size_t n = MIN((uint64_t)len, room);

		erofs_sha256_update(&b->unit, p, n);
		b->size += n;
		p += n;
		len -= n;
		if (n == room)
			close_unit(b);
	}
}

int erofs_digest_builder_read_fd(struct erofs_digest_builder *b, int fd,
				 uint64_t pos, uint64_t size)
{
	uint8_t *buf = malloc(READ_BUF_SIZE);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (size && !err) {
		ssize_t n = pread(fd, buf, MIN(size, (uint64_t)READ_BUF_SIZE),
				  pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		erofs_digest_builder_update(b, buf, n);
		pos += n;
		size -= n;
		err = b->err;
	}
	free(buf);
	return err;
}

int erofs_digest_builder_emit(struct erofs_digest_builder *b,
			      struct erofs_annex_writer *w, uint16_t device)
{
	struct erofs_digest_table t;

	if (b->size & ((1ULL << b->unit_bits) - 1))
		close_unit(b);
	if (b->err)
		return b->err;
	t.blob_size = b->size;
	t.nr_units = b->nr;
	t.unit_bits = b->unit_bits;
	t.digests = b->digests;
	return erofs_digest_table_emit(&t, w, device);
}

int erofs_digest_table_emit(const struct erofs_digest_table *t,
			    struct erofs_annex_writer *w, uint16_t device)
{
	struct erofs_annex_digest_table hdr = {
		.blob_size = cpu_to_le64(t->blob_size),
		.nr_units = cpu_to_le64(t->nr_units),
		.unit_bits = t->unit_bits,
	};
	uint8_t *p;

	p = erofs_annex_add(w, EROFS_ANNEX_DIGEST_TABLE, device,
			    erofs_digest_table_bytes(t->blob_size, t->unit_bits));
	if (!p)
		return -ENOMEM;
	memcpy(p, &hdr, sizeof(hdr));
	memcpy(p + sizeof(hdr), t->digests, t->nr_units * EROFS_SHA256_SIZE);
	return 0;
}

void erofs_digest_builder_free(struct erofs_digest_builder *b)
{
	free(b->digests);
	b->digests = NULL;
	b->nr = b->cap = 0;
}

/*
 * The blob holds every block the device table maps (a tar's last block
 * may be partial) and at most an annex and a block more: a layer image
 * used as a device is named by the digest of its whole file.
 */
static bool blob_fits_device(const struct erofs_image *img, uint64_t blocks,
			     uint64_t blob_size)
{
	uint64_t mapped = erofs_pos(img, blocks);

	if (DIV_ROUND_UP(blob_size, img->blksz) < blocks)
		return false;
	return blob_size <= mapped + EROFS_ANNEX_MAX_SIZE + 2 * img->blksz;
}

int erofs_digest_table_load(struct erofs_image *img,
			    const struct erofs_annex *ax, unsigned int device,
			    struct erofs_digest_table *t)
{
	struct erofs_annex_digest_table hdr;
	static const uint8_t zero[sizeof(hdr.reserved)];
	struct erofs_annex_entry e;
	uint64_t size, nr, dev_blocks;
	unsigned int bits;

	memset(t, 0, sizeof(*t));
	if (!device || device >= img->nr_devs ||
	    !erofs_annex_find(ax, EROFS_ANNEX_DIGEST_TABLE, device, &e))
		return -ENOENT;
	if (e.length < sizeof(hdr))
		return erofs_corrupt(img, "digest table of device %u at byte %llu: %llu bytes, shorter than its header",
				     device, (unsigned long long)e.pos,
				     (unsigned long long)e.length);
	memcpy(&hdr, e.payload, sizeof(hdr));
	size = le64_to_cpu(hdr.blob_size);
	nr = le64_to_cpu(hdr.nr_units);
	bits = hdr.unit_bits;
	dev_blocks = img->devs[device].blocks;
	if (memcmp(hdr.reserved, zero, sizeof(hdr.reserved)))
		return erofs_corrupt(img, "digest table of device %u at byte %llu: reserved bytes set",
				     device, (unsigned long long)e.pos);
	if (bits < EROFS_DIGEST_UNIT_MIN_BITS ||
	    bits > EROFS_DIGEST_UNIT_MAX_BITS)
		return erofs_corrupt(img, "digest table of device %u at byte %llu: unit 2^%u bytes, not between 2^%u and 2^%u",
				     device, (unsigned long long)e.pos, bits,
				     EROFS_DIGEST_UNIT_MIN_BITS,
				     EROFS_DIGEST_UNIT_MAX_BITS);
	if (!blob_fits_device(img, dev_blocks, size))
		return erofs_corrupt(img, "digest table of device %u at byte %llu: blob of %llu bytes, but the device maps %llu blocks of %u",
				     device, (unsigned long long)e.pos,
				     (unsigned long long)size,
				     (unsigned long long)dev_blocks, img->blksz);
	if (nr != DIV_ROUND_UP(size, 1ULL << bits) ||
	    e.length != erofs_digest_table_bytes(size, bits))
		return erofs_corrupt(img, "digest table of device %u at byte %llu: %llu units in %llu bytes do not cover a blob of %llu bytes in units of %llu",
				     device, (unsigned long long)e.pos,
				     (unsigned long long)nr,
				     (unsigned long long)e.length,
				     (unsigned long long)size,
				     1ULL << bits);
	t->blob_size = size;
	t->nr_units = nr;
	t->unit_bits = bits;
	t->digests = e.payload + sizeof(hdr);
	return 0;
}

int erofs_digest_table_device(const struct erofs_image *img, const char *tag)
{
	size_t len = strlen(tag);
	unsigned int i;

	if (len > sizeof(img->devs[0].tag))
		return -ENOENT;
	for (i = 1; i < img->nr_devs; i++)
		if (!strncmp((const char *)img->devs[i].tag, tag,
			     sizeof(img->devs[i].tag)) &&
		    (len == sizeof(img->devs[i].tag) ||
		     !img->devs[i].tag[len]))
			return i;
	return -ENOENT;
}

void erofs_digest_table_widen(const struct erofs_digest_table *t,
			      uint64_t *off, uint64_t *len)
{
	uint64_t unit = erofs_digest_unit_size(t);
	uint64_t end = MIN(*off + *len, t->blob_size);

	*off = ROUND_DOWN(*off, unit);
	end = MIN(ROUND_UP(end, unit), t->blob_size);
	*len = end > *off ? end - *off : 0;
}

void erofs_digest_unit_range(const struct erofs_digest_table *t, uint64_t unit,
			     uint64_t *off, uint64_t *len)
{
	*off = unit << t->unit_bits;
	*len = MIN(erofs_digest_unit_size(t), t->blob_size - *off);
}

bool erofs_digest_unit_matches(const struct erofs_digest_table *t,
			       uint64_t unit, const void *buf, uint64_t len)
{
	uint8_t d[EROFS_SHA256_SIZE];

	if (unit >= t->nr_units)
		return false;
	erofs_sha256(buf, len, d);
	return !memcmp(d, t->digests + unit * EROFS_SHA256_SIZE, sizeof(d));
}

int erofs_digest_table_check(const struct erofs_digest_table *t, uint64_t off,
			     const void *buf, uint64_t len, uint64_t *bad)
{
	uint64_t unit = off >> t->unit_bits, done = 0;
	const uint8_t *p = buf;

	if (off & (erofs_digest_unit_size(t) - 1) || off > t->blob_size ||
	    len > t->blob_size - off)
		return -EINVAL;
	while (done < len) {
		uint64_t uoff, ulen;

		erofs_digest_unit_range(t, unit, &uoff, &ulen);
		if (len - done < ulen)
			return -EINVAL;
		if (!erofs_digest_unit_matches(t, unit, p + done, ulen)) {
			*bad = unit;
			return -EBADMSG;
		}
		done += ulen;
		unit++;
	}
	return 0;
}

/* whether [pos, end) of @fd holds data, and whether it holds a hole */
static int probe_unit(int fd, uint64_t pos, uint64_t end, bool *data,
		      bool *hole)
{
	off_t d = lseek(fd, pos, SEEK_DATA);
	off_t h;

	if (d < 0 && errno != ENXIO)
		return -errno;
	*data = d >= 0 && (uint64_t)d < end;
	h = lseek(fd, pos, SEEK_HOLE);
	if (h < 0 && errno != ENXIO)
		return -errno;
	/* past the end of file counts as a hole */
	*hole = h < 0 || (uint64_t)h < end;
	return 0;
}

static int read_unit(int fd, uint8_t *buf, uint64_t len, uint64_t pos)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, pos + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)		/* short file: the rest was never cached */
			break;
		done += n;
	}
	memset(buf + done, 0, len - done);
	return 0;
}

/*
 * Reads unit [off, off + len) into @buf for a scan; *data false: nothing
 * of it is there (not cached), *hole: some of it is a hole.
 */
typedef int (*unit_reader_t)(void *priv, uint8_t *buf, uint64_t off,
			     uint64_t len, bool *data, bool *hole);

static int scan_units(const struct erofs_digest_table *t,
		      unit_reader_t read, void *priv, uint8_t *states)
{
	uint8_t *buf = malloc(erofs_digest_unit_size(t));
	uint64_t unit;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (unit = 0; unit < t->nr_units && !err; unit++) {
		uint64_t uoff, ulen;
		bool data = true, hole = false;

		erofs_digest_unit_range(t, unit, &uoff, &ulen);
		err = read(priv, buf, uoff, ulen, &data, &hole);
		if (err)
			break;
		if (!data)
			states[unit] = EROFS_UNIT_ABSENT;
		/* a blob's zero blocks may be holes too: they still match */
		else if (erofs_digest_unit_matches(t, unit, buf, ulen))
			states[unit] = EROFS_UNIT_VERIFIED;
		else
			states[unit] = hole ? EROFS_UNIT_PARTIAL :
					      EROFS_UNIT_MISMATCH;
	}
	free(buf);
	return err;
}

struct cache_file {
	int fd;
	uint64_t offset;		/* where the blob starts in it */
};

static int read_cache_unit(void *priv, uint8_t *buf, uint64_t off,
			   uint64_t len, bool *data, bool *hole)
{
	const struct cache_file *cf = priv;
	uint64_t pos = cf->offset + off;
	int err = probe_unit(cf->fd, pos, pos + len, data, hole);

	if (err || !*data)
		return err;
	return read_unit(cf->fd, buf, len, pos);
}

int erofs_digest_table_scan(const struct erofs_digest_table *t, int fd,
			    uint64_t offset, uint8_t *states)
{
	struct cache_file cf = { .fd = fd, .offset = offset };

	return scan_units(t, read_cache_unit, &cf, states);
}

struct device_ref {
	struct erofs_image *img;
	unsigned int dev;
};

static int read_device_unit(void *priv, uint8_t *buf, uint64_t off,
			    uint64_t len, bool *data, bool *hole)
{
	const struct device_ref *dr = priv;

	(void)data;
	(void)hole;
	return erofs_image_pread(dr->img, dr->dev, buf, len, off);
}

int erofs_digest_table_scan_device(const struct erofs_digest_table *t,
				   struct erofs_image *img, unsigned int dev,
				   uint8_t *states)
{
	struct device_ref dr = { .img = img, .dev = dev };

	return scan_units(t, read_device_unit, &dr, states);
}

int erofs_digest_tables_check(struct erofs_image *img,
			      const struct erofs_annex *ax)
{
	struct erofs_digest_table t;
	unsigned int dev;
	int err, ret = 0;

	for (dev = 1; dev < img->nr_devs; dev++) {
		err = erofs_digest_table_load(img, ax, dev, &t);
		if (err && err != -ENOENT && !ret)
			ret = err;
	}
	return ret;
}
