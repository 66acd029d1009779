// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The annex: records past the filesystem's last block that only on-demand
 * readers use.  The reader checks the trailer, the digest of the records
 * and every record's bounds once, so that users walk trusted records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "erofs/annex.h"
#include "erofs/defs.h"
#include "erofs/erofs_fs.h"
#include "erofs/output.h"
#include "erofs/reader.h"
#include "erofs/sha256.h"

#define ANNEX_ALIGN	8

const char *erofs_annex_type_name(uint32_t type)
{
	switch (type) {
	case EROFS_ANNEX_DIGEST_TABLE:
		return "digest table";
	case EROFS_ANNEX_GZIP_INDEX:
		return "gzip index";
	case EROFS_ANNEX_BLOB_SOURCE:
		return "blob source";
	case EROFS_ANNEX_ZSTD_INDEX:
		return "zstd index";
	case EROFS_ANNEX_DEVICE_MAP:
		return "device map";
	}
	return "unknown";
}

static uint64_t record_span(uint64_t length)
{
	return sizeof(struct erofs_annex_record) +
	       ((length + ANNEX_ALIGN - 1) & ~(uint64_t)(ANNEX_ALIGN - 1));
}

static int check_records(struct erofs_image *img, struct erofs_annex *ax)
{
	uint64_t off = 0;
	uint32_t i;

	for (i = 0; i < ax->nr; i++) {
		struct erofs_annex_record rec;

		if (ax->size - off < sizeof(rec))
			return erofs_corrupt(img, "annex: record %u at byte %llu is cut off by the annex's end",
					     i, (unsigned long long)(ax->start + off));
		memcpy(&rec, ax->records + off, sizeof(rec));
		if (rec.reserved)
			return erofs_corrupt(img, "annex: record %u at byte %llu has reserved bits 0x%x set",
					     i, (unsigned long long)(ax->start + off),
					     le16_to_cpu(rec.reserved));
		if (le64_to_cpu(rec.length) > ax->size - off - sizeof(rec) ||
		    record_span(le64_to_cpu(rec.length)) > ax->size - off)
			return erofs_corrupt(img, "annex: record %u (%s) at byte %llu claims %llu bytes, past the annex's end",
					     i, erofs_annex_type_name(le32_to_cpu(rec.type)),
					     (unsigned long long)(ax->start + off),
					     (unsigned long long)le64_to_cpu(rec.length));
		if (le16_to_cpu(rec.device) >= img->nr_devs)
			return erofs_corrupt(img, "annex: record %u (%s) is for device %u, but the image has %u",
					     i, erofs_annex_type_name(le32_to_cpu(rec.type)),
					     le16_to_cpu(rec.device), img->nr_devs);
		off += record_span(le64_to_cpu(rec.length));
	}
	if (off != ax->size)
		return erofs_corrupt(img, "annex: %llu bytes after its %u records",
				     (unsigned long long)(ax->size - off), ax->nr);
	return 0;
}

static int read_trailer(struct erofs_image *img,
			struct erofs_annex_trailer *t, bool *found)
{
	uint64_t fs_end = erofs_pos(img, img->blocks);
	int err;

	*found = false;
	/* no room past the filesystem (or only its superblock was read) */
	if (img->file_size < fs_end || img->file_size - fs_end < sizeof(*t))
		return 0;
	err = erofs_image_pread_tail(img, t, sizeof(*t),
				     img->file_size - sizeof(*t));
	if (err) {
		erofs_err(img->msg, "annex: reading its trailer: %s",
			  strerror(-err));
		return err;
	}
	*found = !memcmp(t->magic, EROFS_ANNEX_MAGIC, sizeof(t->magic));
	return 0;
}

static int check_trailer(struct erofs_image *img,
			 const struct erofs_annex_trailer *t)
{
	uint64_t fs_end = erofs_pos(img, img->blocks);
	uint64_t trailer = img->file_size - sizeof(*t);
	uint64_t start = le64_to_cpu(t->start), size = le64_to_cpu(t->size);

	if (le32_to_cpu(t->version) != EROFS_ANNEX_VERSION)
		return erofs_corrupt(img, "annex: version %u, this reader knows %u",
				     le32_to_cpu(t->version), EROFS_ANNEX_VERSION);
	if (start != fs_end)
		return erofs_corrupt(img, "annex: starts at byte %llu, not at the filesystem's end (%llu)",
				     (unsigned long long)start,
				     (unsigned long long)fs_end);
	if (size > EROFS_ANNEX_MAX_SIZE || size > trailer - start)
		return erofs_corrupt(img, "annex: %llu bytes of records do not fit between byte %llu and its trailer",
				     (unsigned long long)size,
				     (unsigned long long)start);
	if ((uint64_t)le32_to_cpu(t->nr_records) *
	    sizeof(struct erofs_annex_record) > size)
		return erofs_corrupt(img, "annex: %u records cannot fit in %llu bytes",
				     le32_to_cpu(t->nr_records),
				     (unsigned long long)size);
	return 0;
}

int erofs_annex_load(struct erofs_image *img, struct erofs_annex *ax)
{
	struct erofs_annex_trailer t;
	uint8_t digest[EROFS_SHA256_SIZE];
	bool found;
	int err;

	memset(ax, 0, sizeof(*ax));
	err = read_trailer(img, &t, &found);
	if (err || !found)
		return err;
	err = check_trailer(img, &t);
	if (err)
		return err;
	ax->start = le64_to_cpu(t.start);
	ax->size = le64_to_cpu(t.size);
	ax->nr = le32_to_cpu(t.nr_records);
	ax->records = malloc(ax->size ?: 1);
	if (!ax->records)
		return -ENOMEM;
	err = erofs_image_pread_tail(img, ax->records, ax->size, ax->start);
	if (err) {
		erofs_err(img->msg, "annex: reading %llu bytes at byte %llu: %s",
			  (unsigned long long)ax->size,
			  (unsigned long long)ax->start, strerror(-err));
		goto out_free;
	}
	erofs_sha256(ax->records, ax->size, digest);
	if (memcmp(digest, t.sha256, sizeof(digest))) {
		err = erofs_corrupt(img, "annex: its records (%llu bytes at byte %llu) do not match the digest in its trailer",
				    (unsigned long long)ax->size,
				    (unsigned long long)ax->start);
		goto out_free;
	}
	err = check_records(img, ax);
	if (!err)
		return 0;
out_free:
	erofs_annex_free(ax);
	return err;
}

void erofs_annex_free(struct erofs_annex *ax)
{
	free(ax->records);
	memset(ax, 0, sizeof(*ax));
}

bool erofs_annex_next(const struct erofs_annex *ax, uint64_t *cursor,
		      struct erofs_annex_entry *e)
{
	struct erofs_annex_record rec;

	if (*cursor >= ax->size)
		return false;
	memcpy(&rec, ax->records + *cursor, sizeof(rec));
	e->type = le32_to_cpu(rec.type);
	e->device = le16_to_cpu(rec.device);
	e->length = le64_to_cpu(rec.length);
	e->payload = ax->records + *cursor + sizeof(rec);
	e->pos = ax->start + *cursor + sizeof(rec);
	*cursor += record_span(e->length);
	return true;
}

bool erofs_annex_find(const struct erofs_annex *ax, uint32_t type,
		      uint16_t device, struct erofs_annex_entry *e)
{
	uint64_t cursor = 0;

	while (erofs_annex_next(ax, &cursor, e))
		if (e->type == type && e->device == device)
			return true;
	return false;
}

void *erofs_annex_add(struct erofs_annex_writer *w, uint32_t type,
		      uint16_t device, uint64_t length)
{
	uint64_t span = record_span(length);
	struct erofs_annex_record rec = {
		.type = cpu_to_le32(type),
		.device = cpu_to_le16(device),
		.length = cpu_to_le64(length),
	};
	uint8_t *p;

	if (span > EROFS_ANNEX_MAX_SIZE - w->len)
		return NULL;
	if (w->len + span > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;

		while (cap < w->len + span)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p)
			return NULL;
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	memcpy(p, &rec, sizeof(rec));
	memset(p + sizeof(rec), 0, span - sizeof(rec));
	w->len += span;
	w->nr++;
	return p + sizeof(rec);
}

int erofs_annex_write(const struct erofs_annex_writer *w,
		      struct erofs_output *out, uint64_t start,
		      unsigned int blksz, uint64_t *end)
{
	struct erofs_annex_trailer t = {
		.version = cpu_to_le32(EROFS_ANNEX_VERSION),
		.nr_records = cpu_to_le32(w->nr),
		.start = cpu_to_le64(start),
		.size = cpu_to_le64(w->len),
	};
	uint64_t total;
	int err;

	*end = start;
	if (!w->nr)
		return 0;
	memcpy(t.magic, EROFS_ANNEX_MAGIC, sizeof(t.magic));
	erofs_sha256(w->buf, w->len, t.sha256);
	total = erofs_annex_blocks(w, blksz) * blksz;
	err = erofs_output_pwrite(out, w->buf, w->len, start);
	if (!err)
		err = erofs_output_pwrite(out, &t, sizeof(t),
					  start + total - sizeof(t));
	if (!err)
		*end = start + total;
	return err;
}

uint64_t erofs_annex_blocks(const struct erofs_annex_writer *w,
			    unsigned int blksz)
{
	if (!w->nr)
		return 0;
	return DIV_ROUND_UP(w->len + sizeof(struct erofs_annex_trailer),
			    blksz);
}

void erofs_annex_writer_free(struct erofs_annex_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}
