// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.erofs -s: the annex past the filesystem's end, record by record.
 * A record type that has more to say than its size gets its own printer.
 */
#include <stdio.h>

#include "erofs/annex.h"
#include "erofs/digest_table.h"
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

static void text_record(struct dump_ctx *d, const struct erofs_annex *ax,
			const struct erofs_annex_entry *e)
{
	struct erofs_digest_table t;

	printf("  %s for device %u: %llu bytes at byte %llu",
	       erofs_annex_type_name(e->type), e->device,
	       (unsigned long long)e->length, (unsigned long long)e->pos);
	if (digest_table_of(d, ax, e, &t))
		printf(": %llu units of %llu bytes over a blob of %llu bytes",
		       (unsigned long long)t.nr_units,
		       (unsigned long long)erofs_digest_unit_size(&t),
		       (unsigned long long)t.blob_size);
	printf("\n");
}

static void json_record(struct dump_ctx *d, const struct erofs_annex *ax,
			const struct erofs_annex_entry *e)
{
	struct erofs_json *js = &d->js;
	struct erofs_digest_table t;

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
