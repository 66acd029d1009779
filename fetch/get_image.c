// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch get --image=BOOT: the bootstrap names the blob (by the tag
 * of one of its devices) and holds its digest table, so that every unit
 * get writes is checked, and for a gzip or zstd layer the index that
 * serves its tar from the compressed blob.  The bootstrap itself is the root of trust: the
 * caller got it from wherever it pins images.
 */
#include <errno.h>
#include <string.h>
#include "erofs/source.h"
#include "get_image.h"

static int find_device(struct get_image *gi, const char *boot,
		       const char *tag, const struct erofs_msg *msg)
{
	char hex[65];
	int dev;

	if (!erofs_source_parse_digest(tag, hex))
		tag = hex;
	dev = erofs_digest_table_device(&gi->img, tag);
	if (dev < 0) {
		erofs_err(msg, "%s: no device has the tag \"%s\"", boot, tag);
		return -ENOENT;
	}
	gi->device = dev;
	memcpy(gi->blob, gi->img.devs[dev].tag, 64);
	gi->blob[64] = '\0';
	return 0;
}

int get_image_open(struct get_image *gi, const char *boot, const char *tag,
		   enum fetch_unverified policy, struct erofs_source *src,
		   const struct erofs_msg *msg)
{
	int err;

	memset(gi, 0, sizeof(*gi));
	err = erofs_image_open(&gi->img, msg, boot);
	if (err) {
		erofs_err(msg, "%s: cannot open the bootstrap: %s", boot,
			  strerror(-err));
		return err;
	}
	gi->opened = true;
	err = find_device(gi, boot, tag, msg);
	if (!err)
		err = erofs_annex_load(&gi->img, &gi->ax);
	/* a gzip or zstd layer's device: its tar, inflated from the blob */
	if (!err)
		err = erofs_zran_create(&gi->zran, &gi->ax, gi->device,
					gi->img.devs[gi->device].tag, src,
					msg);
	if (err)
		return err;
	err = erofs_digest_table_load(&gi->img, &gi->ax, gi->device,
				      &gi->table);
	if (!err) {
		gi->has_table = true;
		erofs_info(msg, "%s: device %u has a digest table: %llu units of %llu bytes",
			   boot, gi->device,
			   (unsigned long long)gi->table.nr_units,
			   (unsigned long long)erofs_digest_unit_size(&gi->table));
		return 0;
	}
	if (err != -ENOENT)
		return err;
	if (policy == FETCH_UNVERIFIED_REFUSE) {
		erofs_err(msg, "%s: device %u (blob %s) has no digest table: refused (--unverified=allow fetches it unchecked)",
			  boot, gi->device, gi->blob);
		return -EPERM;
	}
	erofs_warn(msg, "%s: device %u (blob %s) has no digest table: fetched unchecked",
		   boot, gi->device, gi->blob);
	return 0;
}

void get_image_close(struct get_image *gi)
{
	erofs_zran_close(gi->zran);
	gi->zran = NULL;
	erofs_annex_free(&gi->ax);
	if (gi->opened)
		erofs_image_close(&gi->img);
	gi->opened = false;
}
