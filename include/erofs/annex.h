/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The annex: records for on-demand readers kept past the filesystem's last
 * block (see struct erofs_annex_trailer in erofs_fs.h for the layout).
 */
#ifndef EROFS_ANNEX_H
#define EROFS_ANNEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct erofs_image;
struct erofs_output;

/* a loaded annex: every record was checked when it was loaded */
struct erofs_annex {
	uint8_t *records;
	uint64_t start;			/* byte offset in the image file */
	uint64_t size;
	uint32_t nr;
};

struct erofs_annex_entry {
	uint32_t type;
	uint16_t device;
	const uint8_t *payload;
	uint64_t length;
	uint64_t pos;			/* of the payload, for messages */
};

/* the largest annex a reader loads: tables for petabytes of blobs fit */
#define EROFS_ANNEX_MAX_SIZE	(1ULL << 30)

/*
 * Loads the annex of an opened image: 0 with nr == 0 when it has none,
 * -EFSCORRUPTED (said through the image's report) when it is damaged.
 */
int erofs_annex_load(struct erofs_image *img, struct erofs_annex *ax);
void erofs_annex_free(struct erofs_annex *ax);
/* walks the records in order: *cursor starts at 0; false at the end */
bool erofs_annex_next(const struct erofs_annex *ax, uint64_t *cursor,
		      struct erofs_annex_entry *e);
/* the first record of a type for a device */
bool erofs_annex_find(const struct erofs_annex *ax, uint32_t type,
		      uint16_t device, struct erofs_annex_entry *e);
const char *erofs_annex_type_name(uint32_t type);

/* records collected while an image is built, written after its blocks */
struct erofs_annex_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr;
};

/*
 * Appends a record and returns its payload (length bytes, zeroed) for the
 * caller to fill, or NULL when memory is short.
 */
void *erofs_annex_add(struct erofs_annex_writer *w, uint32_t type,
		      uint16_t device, uint64_t length);
/*
 * Writes the records and the trailer from byte start (a block boundary)
 * and returns in *end where the file ends, a whole number of blksz.
 * An empty writer writes nothing.
 */
int erofs_annex_write(const struct erofs_annex_writer *w,
		      struct erofs_output *out, uint64_t start,
		      unsigned int blksz, uint64_t *end);
void erofs_annex_writer_free(struct erofs_annex_writer *w);
/* the whole blocks erofs_annex_write() will write: 0 when empty */
uint64_t erofs_annex_blocks(const struct erofs_annex_writer *w,
			    unsigned int blksz);

#endif
