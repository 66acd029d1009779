// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decoding one extent of a compressed file.
 *
 * A reader keeps one pair of buffers (struct z_erofs_bufs in its image):
 * they grow to the largest pcluster and extent it meets and never shrink
 * while in use, as the kernel's per-CPU buffers do, and the last decoded
 * extent is kept so that reading a file in small pieces decodes each
 * extent once.
 *
 * An extent always decodes from the start of its pcluster.  Normally the
 * pcluster decodes to exactly the extent; an extent flagged PARTIAL_REF
 * (a deduplicated pcluster shared with a longer extent) uses only the
 * start of what it decodes to, so then the stream is decoded only as
 * far as the extent reaches, as the kernel does.
 */
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "erofs/features.h"
#include "erofs/reader.h"
#include "erofs/util.h"

struct z_erofs_req {
	const uint8_t *in;
	size_t inlen;
	uint8_t *out;
	size_t outlen;
	bool padded;			/* 0padding: the stream ends the pcluster */
	bool partial;			/* decode only the first outlen bytes */
};

void z_erofs_bufs_free(struct z_erofs_bufs *zb)
{
	free(zb->in);
	free(zb->out);
	ZSTD_freeDCtx(zb->zstd);
	memset(zb, 0, sizeof(*zb));
}

/*
 * Without 0padding the stream starts at the pcluster and is followed by
 * whatever fills its last block, so it can only be decoded up to the
 * extent's length, as the kernel does; with it the stream ends the
 * pcluster exactly and must decode to exactly the extent.
 */
static int decode_lz4(const struct z_erofs_req *rq)
{
	int ret;

	if (rq->padded && !rq->partial)
		ret = LZ4_decompress_safe((const char *)rq->in,
					  (char *)rq->out, rq->inlen,
					  rq->outlen);
	else
		ret = LZ4_decompress_safe_partial((const char *)rq->in,
						  (char *)rq->out, rq->inlen,
						  rq->outlen, rq->outlen);
	return ret == (int)rq->outlen ? 0 : -EFSCORRUPTED;
}

static int decode_lzma(const struct z_erofs_req *rq)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret ret;

	/*
	 * Back-references reach no further than the output so far, so the
	 * extent's own size is a dictionary large enough for it.  A partial
	 * reference stops after outlen bytes of a longer stream.
	 */
	ret = lzma_microlzma_decoder(&strm, rq->inlen, rq->outlen,
				     !rq->partial,
				     MAX(rq->outlen, (size_t)4096));
	if (ret != LZMA_OK)
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EFSCORRUPTED;
	strm.next_in = rq->in;
	strm.avail_in = rq->inlen;
	strm.next_out = rq->out;
	strm.avail_out = rq->outlen;
	ret = lzma_code(&strm, LZMA_FINISH);
	lzma_end(&strm);
	return ret == LZMA_STREAM_END && strm.total_out == rq->outlen ?
	       0 : -EFSCORRUPTED;
}

static int decode_deflate(const struct z_erofs_req *rq)
{
	z_stream z = { 0 };
	int ret;

	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)rq->in;
	z.avail_in = rq->inlen;
	z.next_out = rq->out;
	z.avail_out = rq->outlen;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return (ret == Z_STREAM_END || (ret == Z_BUF_ERROR && !z.avail_out)) &&
	       z.total_out == rq->outlen ? 0 : -EFSCORRUPTED;
}

/*
 * One zstd frame per pcluster.  Like the kernel, the output must fill
 * before the frame or the input ends, and a frame whose window is larger
 * than the superblock's record allows is refused.
 */
static int decode_zstd(struct z_erofs_bufs *zb, const struct z_erofs_req *rq)
{
	ZSTD_inBuffer in = { rq->in, rq->inlen, 0 };
	ZSTD_outBuffer out = { rq->out, rq->outlen, 0 };
	size_t ret;

	if (!zb->zstd) {
		zb->zstd = ZSTD_createDCtx();
		if (!zb->zstd)
			return -ENOMEM;
	}
	ZSTD_DCtx_reset(zb->zstd, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_DCtx_setParameter(zb->zstd, ZSTD_d_windowLogMax,
						zb->zstd_windowlog)))
		return -EFSCORRUPTED;
	while (out.pos < out.size) {
		size_t in_before = in.pos, out_before = out.pos;

		ret = ZSTD_decompressStream(zb->zstd, &out, &in);
		if (ZSTD_isError(ret))
			return -EFSCORRUPTED;
		if (out.pos == out.size)
			break;
		/* the frame ended short, or nothing moves any more */
		if (!ret || (in.pos == in_before && out.pos == out_before))
			return -EFSCORRUPTED;
	}
	return 0;
}

/* an algorithm's record after the superblock, as the kernel takes it */
static int check_cfg(struct erofs_image *img, const struct erofs_compr_cfg *c)
{
	const char *name = erofs_algorithm_name(c->alg);

	if (!c->valid)
		return erofs_corrupt(img, "superblock: %s record of %u bytes, too short",
				     name, c->size);
	switch (c->alg) {
	case Z_EROFS_COMPRESSION_LZMA:
		if (c->lzma.format)
			break;
		if (c->lzma.dict_size < 4096 ||
		    c->lzma.dict_size > Z_EROFS_LZMA_MAX_DICT_SIZE)
			return erofs_corrupt(img, "superblock: lzma dictionary of %u bytes, outside 4096..%u",
					     c->lzma.dict_size,
					     Z_EROFS_LZMA_MAX_DICT_SIZE);
		return 0;
	case Z_EROFS_COMPRESSION_DEFLATE:
		if (c->deflate.windowbits > 15)
			return erofs_corrupt(img, "superblock: deflate window of 2^%u bytes, more than 2^15",
					     c->deflate.windowbits);
		return 0;
	case Z_EROFS_COMPRESSION_ZSTD:
		if (c->zstd.format)
			break;
		/* Z_EROFS_ZSTD_MAX_DICT_SIZE is 2^20 */
		if (c->zstd.windowlog + 10U > 20)
			return erofs_corrupt(img, "superblock: zstd window of 2^%u bytes, more than 2^20",
					     c->zstd.windowlog + 10);
		img->zbuf.zstd_windowlog = c->zstd.windowlog + 10;
		return 0;
	default:
		return 0;
	}
	erofs_err(img->msg, "superblock: %s format %u is not supported", name,
		  c->alg == Z_EROFS_COMPRESSION_LZMA ? c->lzma.format :
						       c->zstd.format);
	return -EOPNOTSUPP;
}

/*
 * The record of the algorithm an extent uses must be one the kernel
 * accepts, or it would not mount the image.  Only success is
 * remembered, so that every file a bad record affects is reported.
 */
static int check_alg_config(struct erofs_image *img, unsigned int alg)
{
	struct erofs_compr_cfg cfgs[EROFS_MAX_COMPR_CFGS];
	int i, n, err;

	if (img->zbuf.cfgs_ok & (1U << alg) ||
	    !(img->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS))
		return 0;	/* without records, zmap allows only lz4 */
	n = erofs_read_compr_cfgs(img, cfgs, ARRAY_SIZE(cfgs));
	for (i = 0; i < n; i++) {
		if (cfgs[i].alg != alg)
			continue;
		err = check_cfg(img, &cfgs[i]);
		if (!err)
			img->zbuf.cfgs_ok |= 1U << alg;
		return err;
	}
	return n < 0 ? n : erofs_corrupt(img, "superblock: no record for %s after the superblock",
					 erofs_algorithm_name(alg));
}

/*
 * A stored pcluster.  Interlaced, the block la is in starts at the
 * pcluster's last block, at la's offset in it, and the bytes past that
 * block's end continue from the pcluster's start; else the extent is
 * the pcluster's first bytes.
 */
static int copy_plain(struct erofs_image *img, const struct erofs_map *map,
		      const uint8_t *in, uint8_t *out)
{
	uint64_t rest, head;

	if (map->llen > map->plen)
		return -EFSCORRUPTED;
	if (!(map->flags & EROFS_MAP_INTERLACED)) {
		memcpy(out, in, map->llen);
		return 0;
	}
	rest = img->blksz - (map->la & (img->blksz - 1));
	if (rest > map->plen)
		return -EFSCORRUPTED;
	head = MIN(rest, map->llen);
	memcpy(out, in + map->plen - rest, head);
	memcpy(out + head, in, map->llen - head);
	return 0;
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
	struct z_erofs_req rq = {
		.in = in, .inlen = map->plen, .out = out, .outlen = map->llen,
		.padded = img->feature_incompat &
			  EROFS_FEATURE_INCOMPAT_ZERO_PADDING,
		.partial = map->flags & EROFS_MAP_PARTIAL_REF,
	};
	size_t pad = 0;
	int err;

	if (map->algorithm == Z_EROFS_COMPRESSION_MAX)
		return copy_plain(img, map, in, out);
	if (rq.padded) {
		err = skip_padding(img, in, map->plen, &pad);
		if (err)
			return err;
		rq.in += pad;
		rq.inlen -= pad;
	}
	switch (map->algorithm) {
	case Z_EROFS_COMPRESSION_LZ4:
		return decode_lz4(&rq);
	case Z_EROFS_COMPRESSION_LZMA:
		return decode_lzma(&rq);
	case Z_EROFS_COMPRESSION_DEFLATE:
		return decode_deflate(&rq);
	case Z_EROFS_COMPRESSION_ZSTD:
		return decode_zstd(&img->zbuf, &rq);
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
		if (map->algorithm < Z_EROFS_COMPRESSION_MAX) {
			err = check_alg_config(img, map->algorithm);
			if (err)
				return err;
		}
		err = erofs_reserve(&zb->in, &zb->in_cap, map->plen);
		if (!err)
			err = erofs_reserve(&zb->out, &zb->out_cap, map->llen);
		if (!err && (map->flags & EROFS_MAP_META))
			err = erofs_meta_pread(img, vi->in_metabox, zb->in,
					       map->plen, map->pa);
		else if (!err)
			err = erofs_image_pread(img, map->device, zb->in,
						map->plen, map->pa);
		if (!err)
			err = decode(img, map, zb->in, zb->out);
		if (err == -EFSCORRUPTED)
			return erofs_corrupt(img, "nid %llu: %s extent at %llu (%llu bytes from %llu+%llu%s) does not decode",
					     (unsigned long long)vi->nid,
					     erofs_algorithm_name(map->algorithm),
					     (unsigned long long)map->la,
					     (unsigned long long)map->llen,
					     (unsigned long long)map->pa,
					     (unsigned long long)map->plen,
					     map->flags & EROFS_MAP_PARTIAL_REF ?
					     ", partial" : "");
		if (err)
			return err;
		zb->valid = true;
		zb->nid = vi->nid;
		zb->la = map->la;
	}
	memcpy(buf, zb->out + (off - map->la), len);
	return 0;
}
