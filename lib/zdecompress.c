// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decoding one extent of a compressed file.
 *
 * A reader keeps one pair of buffers (struct z_erofs_bufs in its image):
 * they grow to the largest pcluster and extent it meets and never shrink
 * while in use, as the kernel's per-CPU buffers do, and the last decoded
 * extent is kept so that reading a file in small pieces decodes each
 * extent once.
 */
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "erofs/reader.h"

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

void z_erofs_bufs_free(struct z_erofs_bufs *zb)
{
	free(zb->in);
	free(zb->out);
	memset(zb, 0, sizeof(*zb));
}

/*
 * Without 0padding the stream starts at the pcluster and is followed by
 * whatever fills its last block, so it can only be decoded up to the
 * extent's length, as the kernel does; with it the stream ends the
 * pcluster exactly and must decode to exactly the extent.
 */
static int decode_lz4(const uint8_t *in, size_t inlen, uint8_t *out,
		      size_t outlen, bool padded)
{
	int ret;

	if (padded)
		ret = LZ4_decompress_safe((const char *)in, (char *)out,
					  inlen, outlen);
	else
		ret = LZ4_decompress_safe_partial((const char *)in,
						  (char *)out, inlen, outlen,
						  outlen);
	return ret == (int)outlen ? 0 : -EFSCORRUPTED;
}

static int decode_lzma(const uint8_t *in, size_t inlen, uint8_t *out,
		       size_t outlen)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret ret;

	/* the extent's own size is a dictionary large enough for it */
	ret = lzma_microlzma_decoder(&strm, inlen, outlen, true,
				     MAX(outlen, (size_t)4096));
	if (ret != LZMA_OK)
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EFSCORRUPTED;
	strm.next_in = in;
	strm.avail_in = inlen;
	strm.next_out = out;
	strm.avail_out = outlen;
	ret = lzma_code(&strm, LZMA_FINISH);
	lzma_end(&strm);
	return ret == LZMA_STREAM_END && strm.total_out == outlen ?
	       0 : -EFSCORRUPTED;
}

static int decode_deflate(const uint8_t *in, size_t inlen, uint8_t *out,
			  size_t outlen)
{
	z_stream z = { 0 };
	int ret;

	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)in;
	z.avail_in = inlen;
	z.next_out = out;
	z.avail_out = outlen;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return (ret == Z_STREAM_END || (ret == Z_BUF_ERROR && !z.avail_out)) &&
	       z.total_out == outlen ? 0 : -EFSCORRUPTED;
}

/* compressed data sits after zero padding within the first block */
static int skip_padding(struct erofs_image *img, const uint8_t *in,
			size_t len, size_t *pad)
{
	size_t limit = MIN(len, (size_t)img->blksz);

	for (*pad = 0; *pad < limit && !in[*pad]; (*pad)++)
		;
	return *pad < limit ? 0 : -EFSCORRUPTED;
}

static int decode(struct erofs_image *img, const struct erofs_map *map,
		  const uint8_t *in, uint8_t *out)
{
	bool padded = img->feature_incompat &
		      EROFS_FEATURE_INCOMPAT_ZERO_PADDING;
	size_t pad = 0;
	int err;

	if (map->algorithm == Z_EROFS_COMPRESSION_MAX) {	/* stored */
		if (map->llen > map->plen)
			return -EFSCORRUPTED;
		memcpy(out, in, map->llen);
		return 0;
	}
	if (padded) {
		err = skip_padding(img, in, map->plen, &pad);
		if (err)
			return err;
	}
	switch (map->algorithm) {
	case Z_EROFS_COMPRESSION_LZ4:
		return decode_lz4(in + pad, map->plen - pad, out, map->llen,
				  padded);
	case Z_EROFS_COMPRESSION_LZMA:
		return decode_lzma(in + pad, map->plen - pad, out, map->llen);
	case Z_EROFS_COMPRESSION_DEFLATE:
		return decode_deflate(in + pad, map->plen - pad, out,
				      map->llen);
	}
	erofs_err(img->msg, "compression algorithm %u is not supported",
		  map->algorithm);
	return -EOPNOTSUPP;
}

int z_erofs_read_extent(struct erofs_image *img,
			const struct erofs_inode_info *vi,
			const struct erofs_map *map, void *buf, size_t len,
			uint64_t off)
{
	struct z_erofs_bufs *zb = &img->zbuf;
	int err;

	if (!zb->valid || zb->nid != vi->nid || zb->la != map->la) {
		zb->valid = false;
		err = grow(&zb->in, &zb->in_cap, map->plen);
		if (!err)
			err = grow(&zb->out, &zb->out_cap, map->llen);
		if (!err && (map->flags & EROFS_MAP_META))
			err = erofs_meta_pread(img, vi->in_metabox, zb->in,
					       map->plen, map->pa);
		else if (!err)
			err = erofs_image_pread(img, map->device, zb->in,
						map->plen, map->pa);
		if (!err)
			err = decode(img, map, zb->in, zb->out);
		if (err == -EFSCORRUPTED)
			return erofs_corrupt(img, "nid %llu: extent at %llu (%llu bytes from %llu+%llu) does not decode",
					     (unsigned long long)vi->nid,
					     (unsigned long long)map->la,
					     (unsigned long long)map->llen,
					     (unsigned long long)map->pa,
					     (unsigned long long)map->plen);
		if (err)
			return err;
		zb->valid = true;
		zb->nid = vi->nid;
		zb->la = map->la;
	}
	memcpy(buf, zb->out + (off - map->la), len);
	return 0;
}
