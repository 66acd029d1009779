// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.erofs -s: the annex past the filesystem's end, record by record.
 * A record type that has more to say than its size gets its own printer.
 */
#include <stdio.h>

#include "erofs/annex.h"
#include "erofs/reader.h"
#include "dump.h"

static void text_record(const struct erofs_annex_entry *e)
{
	printf("  %s for device %u: %llu bytes at byte %llu\n",
	       erofs_annex_type_name(e->type), e->device,
	       (unsigned long long)e->length, (unsigned long long)e->pos);
}

static void json_record(struct erofs_json *js,
			const struct erofs_annex_entry *e)
{
	erofs_json_open(js, NULL, '{');
	erofs_json_str(js, "type", erofs_annex_type_name(e->type));
	erofs_json_u64(js, "type_id", e->type);
	erofs_json_u64(js, "device", e->device);
	erofs_json_u64(js, "bytes", e->length);
	erofs_json_u64(js, "pos", e->pos);
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
			json_record(&d->js, &e);
		erofs_json_close(&d->js, ']');
		erofs_json_close(&d->js, '}');
	} else if (!err && ax.nr) {
		printf("%-46s%u records, %llu bytes at byte %llu\n",
		       "Filesystem annex:",
		       ax.nr, (unsigned long long)ax.size,
		       (unsigned long long)ax.start);
		while (erofs_annex_next(&ax, &cursor, &e))
			text_record(&e);
	}
	erofs_annex_free(&ax);
}
