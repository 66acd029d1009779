/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Serving a gzip layer's uncompressed tar (an index-mode device tagged by
 * its diff_id) from the compressed blob a source holds under its digest,
 * fetching only the compressed pieces a read needs (see fetch/zran.c).
 */
#ifndef EROFS_FETCH_ZRAN_H
#define EROFS_FETCH_ZRAN_H

#include "erofs/annex.h"
#include "erofs/sha256.h"
#include "erofs/source.h"

struct erofs_zran;			/* thread-safe: reads are serialised */

/*
 * For device @device (tag @tag, 64 hex digits) of an image whose annex
 * is @ax: 0 with *out NULL when the device has no gzip records (it is a
 * plain blob), -EFSCORRUPTED when they are damaged, -EPROTO when @src's
 * blob is not the size they say; messages through @msg (copied).
 */
int erofs_zran_create(struct erofs_zran **out, const struct erofs_annex *ax,
		      uint16_t device, const uint8_t tag[64],
		      struct erofs_source *src, const struct erofs_msg *msg);
uint64_t erofs_zran_size(const struct erofs_zran *z);
/* the compressed blob's key in the source: its digest, 64 hex digits */
const char *erofs_zran_blob(const struct erofs_zran *z);
/* exactly @len uncompressed bytes at @off, or -errno (said through msg) */
int erofs_zran_read(struct erofs_zran *z, uint64_t off, size_t len,
		    void *buf);
void erofs_zran_close(struct erofs_zran *z);

#endif
