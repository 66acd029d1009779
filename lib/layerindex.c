// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The gzip side of an index-mode layer: checkpoints taken while the tar
 * reader decompresses the layer, the digest of its compressed bytes, and
 * the annex records that let a fetcher serve the uncompressed tar from
 * the registry's own blob (see include/erofs/layerindex.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "erofs/annex.h"
#include "erofs/erofs_fs.h"
#include "erofs/istream.h"
#include "erofs/layerindex.h"
#include "erofs/reader.h"

uint32_t erofs_layer_index_type(uint32_t codec)
{
	return codec == EROFS_BLOB_CODEC_ZSTD ? EROFS_ANNEX_ZSTD_INDEX :
						EROFS_ANNEX_GZIP_INDEX;
}

int erofs_layer_gzip_start(struct erofs_layer_gzip *lg,
			   struct erofs_istream *is, uint64_t span,
			   int zinfo_fd)
{
	int err;

	memset(lg, 0, sizeof(*lg));
	if (is->codec == EROFS_ISTREAM_CODEC_GZIP)
		lg->codec = EROFS_BLOB_CODEC_GZIP;
	else if (is->codec == EROFS_ISTREAM_CODEC_ZSTD)
		lg->codec = EROFS_BLOB_CODEC_ZSTD;
	else
		return 0;
	if (is->pos || is->raw_bytes != is->in_len)
		return -EINVAL;		/* only a stream not read yet */
	err = erofs_gzindex_builder_init(&lg->gb, lg->codec,
					 span ?: EROFS_GZINDEX_DEFAULT_SPAN,
					 lg->codec == EROFS_BLOB_CODEC_GZIP ?
					 zinfo_fd : -1);
	if (err)
		return err;
	err = erofs_istream_index(is, &lg->gb);
	if (err)
		return err;
	/* the bytes already peeked at are counted as read_more saw them */
	erofs_sha256_init(&lg->blob);
	erofs_sha256_update(&lg->blob, is->in, is->in_len);
	is->raw_digest = &lg->blob;
	lg->on = true;
	return 0;
}

static int add_source(struct erofs_layer_gzip *lg,
		      const struct erofs_istream *is,
		      const uint8_t diff_id[EROFS_SHA256_SIZE],
		      struct erofs_annex_writer *w, uint16_t device)
{
	struct erofs_annex_blob_source *bs;

	bs = erofs_annex_add(w, EROFS_ANNEX_BLOB_SOURCE, device, sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	erofs_sha256_final(&lg->blob, bs->blob_digest);
	bs->blob_size = cpu_to_le64(is->raw_bytes);
	bs->size = cpu_to_le64(is->pos);
	memcpy(bs->diff_id, diff_id, sizeof(bs->diff_id));
	bs->codec = cpu_to_le32(lg->codec);
	return 0;
}

int erofs_layer_gzip_finish(struct erofs_layer_gzip *lg,
			    struct erofs_istream *is,
			    const uint8_t diff_id[EROFS_SHA256_SIZE],
			    struct erofs_annex_writer *w, uint16_t device)
{
	void *payload;
	int err;

	if (!lg->on)
		return 0;
	err = erofs_istream_finish_raw(is);
	if (err)
		return err;
	erofs_gzindex_finish(&lg->gb, is->raw_bytes, is->pos);
	err = erofs_gzindex_finish_zinfo(&lg->gb);
	if (err)
		return err;
	if (!w)
		return 0;
	/* one frame: nothing to start from but the blob's start */
	if (lg->codec == EROFS_BLOB_CODEC_ZSTD && !lg->gb.ix.nr &&
	    is->pos > lg->gb.ix.span)
		return -ENOTSUP;
	err = add_source(lg, is, diff_id, w, device);
	if (err)
		return err;
	payload = erofs_annex_add(w, erofs_layer_index_type(lg->codec), device,
				  erofs_gzindex_encoded_size(&lg->gb.ix));
	if (!payload)
		return -ENOMEM;
	erofs_gzindex_encode(&lg->gb.ix, payload);
	return 0;
}

void erofs_layer_gzip_exit(struct erofs_layer_gzip *lg)
{
	if (lg->on)
		erofs_gzindex_builder_exit(&lg->gb);
	memset(lg, 0, sizeof(*lg));
}

#define BAD(...)	(snprintf(why, whylen, __VA_ARGS__), -EFSCORRUPTED)

int erofs_layer_source_decode(const void *payload, uint64_t len,
			      struct erofs_layer_source *s, char *why,
			      size_t whylen)
{
	struct erofs_annex_blob_source bs;

	if (len != sizeof(bs))
		return BAD("blob source: %llu bytes, expected %zu",
			   (unsigned long long)len, sizeof(bs));
	memcpy(&bs, payload, sizeof(bs));
	if (bs.reserved)
		return BAD("blob source: reserved bits set");
	s->codec = le32_to_cpu(bs.codec);
	if (s->codec != EROFS_BLOB_CODEC_GZIP &&
	    s->codec != EROFS_BLOB_CODEC_ZSTD)
		return BAD("blob source: codec %u not known to this reader",
			   s->codec);
	s->blob_size = le64_to_cpu(bs.blob_size);
	s->size = le64_to_cpu(bs.size);
	if (!s->blob_size)
		return BAD("blob source: an empty blob");
	memcpy(s->blob_digest, bs.blob_digest, sizeof(s->blob_digest));
	memcpy(s->diff_id, bs.diff_id, sizeof(s->diff_id));
	return 0;
}

static int check_pair(const struct erofs_layer_source *s,
		      const struct erofs_gzindex *ix, const uint8_t tag[64],
		      char *why, size_t whylen)
{
	char hex[65];

	if (s->blob_size != ix->blob_size || s->size != ix->size)
		return BAD("the blob source (%llu bytes, %llu uncompressed) and the gzip index (%llu, %llu) disagree",
			   (unsigned long long)s->blob_size,
			   (unsigned long long)s->size,
			   (unsigned long long)ix->blob_size,
			   (unsigned long long)ix->size);
	erofs_sha256_hex(s->diff_id, hex);
	if (memcmp(hex, tag, 64))
		return BAD("the blob source's diff_id sha256:%s is not the device's tag",
			   hex);
	return 0;
}

int erofs_layer_gzip_load(const struct erofs_annex *ax, uint16_t device,
			  const uint8_t tag[64], struct erofs_layer_source *s,
			  struct erofs_gzindex *ix, char *why, size_t whylen)
{
	struct erofs_annex_entry src, gz;
	bool has_src = erofs_annex_find(ax, EROFS_ANNEX_BLOB_SOURCE, device,
					&src);
	bool has_gz = erofs_annex_find(ax, EROFS_ANNEX_GZIP_INDEX, device,
				       &gz) ||
		      erofs_annex_find(ax, EROFS_ANNEX_ZSTD_INDEX, device, &gz);
	int err;

	memset(ix, 0, sizeof(*ix));
	if (!has_src && !has_gz)
		return -ENOENT;
	if (!has_src || !has_gz)
		return BAD("device %u has a %s but no %s", device,
			   erofs_annex_type_name(has_src ? src.type : gz.type),
			   has_src ? "index" : "blob source");
	err = erofs_layer_source_decode(src.payload, src.length, s, why,
					whylen);
	if (err)
		return err;
	if (gz.type != erofs_layer_index_type(s->codec))
		return BAD("the blob source says %s, the device has a %s",
			   s->codec == EROFS_BLOB_CODEC_GZIP ? "gzip" : "zstd",
			   erofs_annex_type_name(gz.type));
	err = erofs_gzindex_decode(gz.payload, gz.length, s->codec, ix, why,
				   whylen);
	if (!err)
		err = check_pair(s, ix, tag, why, whylen);
	if (err)
		erofs_gzindex_free(ix);
	return err;
}
