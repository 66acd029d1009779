// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsck: the records of a gzip or zstd layer's device in the annex (its
 * blob source and checkpoints).  A fetcher serves the device from them, so
 * every field is checked and every window inflated here, the way the
 * fetcher will meet them.
 */
#include <errno.h>
#include <string.h>

#include "erofs/annex.h"
#include "erofs/check.h"
#include "erofs/erofs_fs.h"
#include "erofs/layerindex.h"
#include "erofs/reader.h"

void erofs_check_layer_records(struct erofs_image *img,
			       const struct erofs_annex *ax,
			       const struct erofs_annex_entry *e)
{
	struct erofs_annex_entry other;
	struct erofs_layer_source s;
	struct erofs_gzindex ix;
	char why[256];
	int err;

	/* a pair is checked once, at its index; a source alone at itself */
	if (e->type == EROFS_ANNEX_BLOB_SOURCE &&
	    (erofs_annex_find(ax, EROFS_ANNEX_GZIP_INDEX, e->device, &other) ||
	     erofs_annex_find(ax, EROFS_ANNEX_ZSTD_INDEX, e->device, &other)))
		return;
	if (!e->device) {
		erofs_corrupt(img, "annex: %s at byte %llu is for device 0, the image itself",
			      erofs_annex_type_name(e->type),
			      (unsigned long long)e->pos);
		return;
	}
	err = erofs_layer_gzip_load(ax, e->device, img->devs[e->device].tag,
				    &s, &ix, why, sizeof(why));
	if (!err) {
		err = erofs_gzindex_check_windows(&ix, why, sizeof(why));
		erofs_gzindex_free(&ix);
	}
	if (err == -ENOMEM)
		erofs_err(img->msg, "annex: checking device %u: out of memory",
			  e->device);
	else if (err)
		erofs_corrupt(img, "annex: %s of device %u at byte %llu: %s",
			      erofs_annex_type_name(e->type), e->device,
			      (unsigned long long)e->pos, why);
}
