/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an index-mode layer (--tar=i, --oci=i) records for on-demand
 * readers when it arrives gzip- or zstd-compressed: the compressed
 * blob's digest and size, and the checkpoints of its stream, as annex
 * records (EROFS_ANNEX_BLOB_SOURCE, EROFS_ANNEX_GZIP_INDEX or
 * EROFS_ANNEX_ZSTD_INDEX) for its device.
 *
 * Per layer:
 *	erofs_layer_gzip_start(&lg, &is, span, zinfo_fd);  before reading is
 *	... read the tar through is ...
 *	erofs_layer_gzip_finish(&lg, &is, diff_id, &b->annex, device);
 *	erofs_layer_gzip_exit(&lg);
 * Both are no-ops for a stream that is neither (lg.on stays false).
 */
#ifndef EROFS_LAYERINDEX_H
#define EROFS_LAYERINDEX_H

#include "erofs/gzindex.h"
#include "erofs/sha256.h"

struct erofs_annex_writer;
struct erofs_istream;

struct erofs_layer_gzip {
	bool on;
	uint32_t codec;			/* EROFS_BLOB_CODEC_* */
	struct erofs_gzindex_builder gb;
	struct erofs_sha256 blob;	/* of the compressed bytes */
};

/* @span 0: the default; @zinfo_fd >= 0 receives a SOCI zinfo */
int erofs_layer_gzip_start(struct erofs_layer_gzip *lg,
			   struct erofs_istream *is, uint64_t span,
			   int zinfo_fd);
/*
 * After the whole tar was read through @is: reads the blob to its end,
 * and adds the layer's records for @device; @diff_id is the sha256 of
 * the uncompressed tar (the device's tag).  @w NULL: only the zinfo.
 * -ENOTSUP (nothing added) for a zstd stream of one frame longer than a
 * span: it cannot be entered anywhere but at its start.
 */
int erofs_layer_gzip_finish(struct erofs_layer_gzip *lg,
			    struct erofs_istream *is,
			    const uint8_t diff_id[EROFS_SHA256_SIZE],
			    struct erofs_annex_writer *w, uint16_t device);
void erofs_layer_gzip_exit(struct erofs_layer_gzip *lg);

/* the annex record type of a codec's index */
uint32_t erofs_layer_index_type(uint32_t codec);

/* a BLOB_SOURCE record, decoded */
struct erofs_layer_source {
	uint8_t blob_digest[EROFS_SHA256_SIZE];
	uint8_t diff_id[EROFS_SHA256_SIZE];
	uint64_t blob_size, size;
	uint32_t codec;
};

struct erofs_annex;

/* every field checked: -EFSCORRUPTED with @why naming the field */
int erofs_layer_source_decode(const void *payload, uint64_t len,
			      struct erofs_layer_source *s, char *why,
			      size_t whylen);
/*
 * A device's BLOB_SOURCE and GZIP_INDEX records from a loaded annex,
 * each checked and both against each other and against @tag (the
 * device's, 64 hex digits): -ENOENT when the device has neither,
 * -EFSCORRUPTED with @why when they are damaged or only one is there.
 */
int erofs_layer_gzip_load(const struct erofs_annex *ax, uint16_t device,
			  const uint8_t tag[64], struct erofs_layer_source *s,
			  struct erofs_gzindex *ix, char *why, size_t whylen);

#endif
