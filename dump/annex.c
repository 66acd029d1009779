// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.erofs -s: the annex past the filesystem's end, record by record.
 * A record type that has more to say than its size gets its own printer.
 */
#include <stdio.h>

#include "erofs/annex.h"
#include "erofs/devmap.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/layerindex.h"
#include "erofs/reader.h"
#include "dump.h"

/* a digest table's unit and count, once its fields were checked */
static bool digest_table_of(struct dump_ctx *d, const struct erofs_annex *ax,
			    const struct erofs_annex_entry *e,
			    struct erofs_digest_table *t)
{
	int err;

	if (e->type != EROFS_ANNEX_DIGEST_TABLE || !e->device)
		return false;
	err = erofs_digest_table_load(&d->img, ax, e->device, t);
	if (err)
		note_error(d, err);
	return !err;
}

/* what a gzip layer's records say, decoded; false when they are damaged */
struct layer_info {
	bool source, index, map;
	struct erofs_layer_source s;
	struct erofs_gzindex ix;
	struct erofs_devmap m;
	char blob[65], diff_id[65];
};

static int decode_layer(struct dump_ctx *d, const struct erofs_annex_entry *e,
			struct layer_info *li)
{
	char why[256];
	int err = 0;

	li->source = e->type == EROFS_ANNEX_BLOB_SOURCE;
	li->index = e->type == EROFS_ANNEX_GZIP_INDEX ||
		    e->type == EROFS_ANNEX_ZSTD_INDEX;
	li->map = e->type == EROFS_ANNEX_DEVICE_MAP;
	if (li->map)
		err = erofs_devmap_decode(e->payload, e->length, &li->m, why,
					  sizeof(why));
	else if (li->source)
		err = erofs_layer_source_decode(e->payload, e->length, &li->s,
						why, sizeof(why));
	else if (li->index)
		err = erofs_gzindex_decode(e->payload, e->length,
					   e->type == EROFS_ANNEX_ZSTD_INDEX ?
					   EROFS_BLOB_CODEC_ZSTD :
					   EROFS_BLOB_CODEC_GZIP,
					   &li->ix, why, sizeof(why));
	if (err) {
		erofs_err(d->img.msg, "annex: %s of device %u at byte %llu: %s",
			  erofs_annex_type_name(e->type), e->device,
			  (unsigned long long)e->pos, why);
		note_error(d, err);
		li->source = li->index = li->map = false;
		return err;
	}
	if (li->map)
		erofs_sha256_hex(li->m.diff_id, li->diff_id);
	if (li->source) {
		erofs_sha256_hex(li->s.blob_digest, li->blob);
		erofs_sha256_hex(li->s.diff_id, li->diff_id);
	}
	return 0;
}

static void text_record(struct dump_ctx *d, const struct erofs_annex *ax,
			const struct erofs_annex_entry *e)
{
	struct erofs_digest_table t;
	struct layer_info li;

	printf("  %s for device %u: %llu bytes at byte %llu",
	       erofs_annex_type_name(e->type), e->device,
	       (unsigned long long)e->length, (unsigned long long)e->pos);
	if (digest_table_of(d, ax, e, &t))
		printf(": %llu units of %llu bytes over a blob of %llu bytes",
		       (unsigned long long)t.nr_units,
		       (unsigned long long)erofs_digest_unit_size(&t),
		       (unsigned long long)t.blob_size);
	printf("\n");
	if (decode_layer(d, e, &li))
		return;
	if (li.source) {
		printf("    diff_id sha256:%s\n", li.diff_id);
		printf("    blob sha256:%s, %llu bytes (%s), %llu uncompressed\n",
		       li.blob, (unsigned long long)li.s.blob_size,
		       li.s.codec == EROFS_BLOB_CODEC_ZSTD ? "zstd" : "gzip",
		       (unsigned long long)li.s.size);
	} else if (li.index) {
		printf("    %u checkpoints, one every %llu bytes of output or more, windows %llu bytes\n",
		       li.ix.nr, (unsigned long long)li.ix.span,
		       (unsigned long long)li.ix.windows_size);
		erofs_gzindex_free(&li.ix);
	} else if (li.map) {
		printf("    diff_id sha256:%s, %llu bytes, mapped to %llu bytes in %u extents\n",
		       li.diff_id, (unsigned long long)li.m.tar_size,
		       (unsigned long long)li.m.size, li.m.nr);
		erofs_devmap_free(&li.m);
	}
}

static void json_record(struct dump_ctx *d, const struct erofs_annex *ax,
			const struct erofs_annex_entry *e)
{
	struct erofs_json *js = &d->js;
	struct erofs_digest_table t;
	struct layer_info li;

	erofs_json_open(js, NULL, '{');
	erofs_json_str(js, "type", erofs_annex_type_name(e->type));
	erofs_json_u64(js, "type_id", e->type);
	erofs_json_u64(js, "device", e->device);
	erofs_json_u64(js, "bytes", e->length);
	erofs_json_u64(js, "pos", e->pos);
	if (digest_table_of(d, ax, e, &t)) {
		erofs_json_u64(js, "unit", erofs_digest_unit_size(&t));
		erofs_json_u64(js, "units", t.nr_units);
		erofs_json_u64(js, "blob_size", t.blob_size);
	} else if (!decode_layer(d, e, &li) && li.source) {
		erofs_json_str(js, "diff_id", li.diff_id);
		erofs_json_str(js, "blob_digest", li.blob);
		erofs_json_u64(js, "blob_size", li.s.blob_size);
		erofs_json_u64(js, "size", li.s.size);
	} else if (li.index) {
		erofs_json_u64(js, "checkpoints", li.ix.nr);
		erofs_json_u64(js, "span", li.ix.span);
		erofs_json_u64(js, "windows_bytes", li.ix.windows_size);
		erofs_gzindex_free(&li.ix);
	} else if (li.map) {
		erofs_json_str(js, "diff_id", li.diff_id);
		erofs_json_u64(js, "tar_size", li.m.tar_size);
		erofs_json_u64(js, "size", li.m.size);
		erofs_json_u64(js, "extents", li.m.nr);
		erofs_devmap_free(&li.m);
	}
	erofs_json_close(js, '}');
}

void show_annex(struct dump_ctx *d)
{
	struct erofs_annex ax;
	struct erofs_annex_entry e;
	uint64_t cursor = 0;
	int err;

	err = erofs_annex_load(&d->img, &ax);
	if (err)
		note_error(d, err);
	if (d->json) {
		if (err || !ax.nr) {
			erofs_json_null(&d->js, "annex");
			return;
		}
		erofs_json_open(&d->js, "annex", '{');
		erofs_json_u64(&d->js, "start", ax.start);
		erofs_json_u64(&d->js, "bytes", ax.size);
		erofs_json_open(&d->js, "records", '[');
		while (erofs_annex_next(&ax, &cursor, &e))
			json_record(d, &ax, &e);
		erofs_json_close(&d->js, ']');
		erofs_json_close(&d->js, '}');
	} else if (!err && ax.nr) {
		printf("%-46s%u records, %llu bytes at byte %llu\n",
		       "Filesystem annex:",
		       ax.nr, (unsigned long long)ax.size,
		       (unsigned long long)ax.start);
		while (erofs_annex_next(&ax, &cursor, &e))
			text_record(d, &ax, &e);
	}
	erofs_annex_free(&ax);
}
