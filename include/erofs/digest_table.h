/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Digest tables: the sha256 of each aligned unit of a blob, written by
 * mkfs into the bootstrap's annex (struct erofs_annex_digest_table) and
 * used by erofs-fetch, fsck and dump to check a blob range by range.
 */
#ifndef EROFS_DIGEST_TABLE_H
#define EROFS_DIGEST_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erofs/sha256.h"

struct erofs_annex;
struct erofs_annex_writer;
struct erofs_image;

/*
 * 64 KiB: the table is 0.05% of the blob.  A cold read of one file of a
 * Python tree fetches 2.5x its bytes in 64 KiB units (1.3x in 16 KiB,
 * 7.6x in 256 KiB), but the daemon's prefetch window (4 MiB) and the
 * kernel's readahead fetch past a unit anyway (mkfs.erofs(1)).
 */
#define EROFS_DIGEST_UNIT_DEFAULT_BITS	16

/* a checked table; digests point into the annex it was loaded from */
struct erofs_digest_table {
	uint64_t blob_size;
	uint64_t nr_units;
	unsigned int unit_bits;
	const uint8_t *digests;		/* nr_units * EROFS_SHA256_SIZE */
};

/* a table built from a blob's bytes, fed in order */
struct erofs_digest_builder {
	unsigned int unit_bits;
	uint64_t size;			/* bytes fed so far */
	struct erofs_sha256 unit;	/* of the unit being fed */
	uint8_t *digests;
	uint64_t nr, cap;		/* finished units */
	int err;			/* the first failure: sticky */
	struct erofs_sha256 *whole;	/* also the whole blob's, if set */
};

static inline uint64_t erofs_digest_unit_size(const struct erofs_digest_table *t)
{
	return 1ULL << t->unit_bits;
}

/* the table's payload size for a blob: the annex record's length */
uint64_t erofs_digest_table_bytes(uint64_t blob_size, unsigned int unit_bits);

void erofs_digest_builder_init(struct erofs_digest_builder *b,
			       unsigned int unit_bits);
void erofs_digest_builder_update(struct erofs_digest_builder *b,
				 const void *data, size_t len);
/* feeds @size bytes of @fd from @pos; 0 or -errno (-EIO when cut short) */
int erofs_digest_builder_read_fd(struct erofs_digest_builder *b, int fd,
				 uint64_t pos, uint64_t size);
/* closes the last (short) unit and adds the record for @device */
int erofs_digest_builder_emit(struct erofs_digest_builder *b,
			      struct erofs_annex_writer *w, uint16_t device);
void erofs_digest_builder_free(struct erofs_digest_builder *b);
/* a loaded table again, for @device of an image being built */
int erofs_digest_table_emit(const struct erofs_digest_table *t,
			    struct erofs_annex_writer *w, uint16_t device);

/*
 * The table of @device in an image's annex, every field checked against
 * the device's size: 0, -ENOENT when there is none, -EFSCORRUPTED
 * (reported through the image) when it is damaged.
 */
int erofs_digest_table_load(struct erofs_image *img,
			    const struct erofs_annex *ax, unsigned int device,
			    struct erofs_digest_table *t);

/* the device whose tag is @tag (64 hex digits), or -ENOENT */
int erofs_digest_table_device(const struct erofs_image *img, const char *tag);

/* widens [*off, *off + *len) to whole units, clipped to the blob */
void erofs_digest_table_widen(const struct erofs_digest_table *t,
			      uint64_t *off, uint64_t *len);

/*
 * Checks @len bytes of the blob at @off: whole units, the last one may
 * end with the blob.  0; -EBADMSG with *bad the first unit that does not
 * match; -EINVAL when the range is not made of whole units.
 */
int erofs_digest_table_check(const struct erofs_digest_table *t, uint64_t off,
			     const void *buf, uint64_t len, uint64_t *bad);

/* the digest of one unit */
bool erofs_digest_unit_matches(const struct erofs_digest_table *t,
			       uint64_t unit, const void *buf, uint64_t len);

/* first byte and length of @unit */
void erofs_digest_unit_range(const struct erofs_digest_table *t, uint64_t unit,
			     uint64_t *off, uint64_t *len);

/* what a cache file holds of a unit */
enum erofs_unit_state {
	EROFS_UNIT_ABSENT,		/* a hole: not cached */
	EROFS_UNIT_VERIFIED,		/* its bytes match the digest */
	EROFS_UNIT_PARTIAL,		/* some holes, the rest no match */
	EROFS_UNIT_MISMATCH,		/* all there, and wrong */
};

/*
 * The state of each unit in a (sparse cache) file holding the blob from
 * byte @offset: @states gets t->nr_units entries.  0 or -errno.
 */
int erofs_digest_table_scan(const struct erofs_digest_table *t, int fd,
			    uint64_t offset, uint8_t *states);
/*
 * The same for a device read as the image's readers see it: a view made
 * from its tar (a device map) has no holes, every unit is there.
 */
int erofs_digest_table_scan_device(const struct erofs_digest_table *t,
				   struct erofs_image *img, unsigned int dev,
				   uint8_t *states);

/* every table in the annex is loaded (and so checked) once; 0 or the
 * first error */
int erofs_digest_tables_check(struct erofs_image *img,
			      const struct erofs_annex *ax);

#endif
