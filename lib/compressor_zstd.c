// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * zstd to a fixed output size: compressor_fit.c feeds one stream in
 * pieces, each flushed.  A zstd frame is a header and a run of blocks,
 * and a flush ends a block, so the output is a valid run of blocks after
 * every piece; a stream cut after one is completed here: its last block
 * is marked the frame's last, and the header gets the content size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "erofs/erofs_fs.h"
#include "erofs/util.h"
#include "compressor_priv.h"

/* RFC 8878: a block header is 3 bytes, little endian */
#define ZSTD_BLOCK_HEADER	3U
#define ZSTD_BLOCK_LAST		0x1U
#define ZSTD_BLOCK_TYPE(h)	(((h) >> 1) & 3)
#define ZSTD_BLOCK_RLE		1U
#define ZSTD_BLOCK_SIZE(h)	((h) >> 3)

/* measured: what a flushed block costs more than one made in one go */
#define ZSTD_PIECE_COST		40U

struct zstd_priv {
	ZSTD_CCtx *cctx;
	struct erofs_stream_fit fit;
};

static int zstd_begin(void *priv)
{
	struct zstd_priv *p = priv;

	return ZSTD_isError(ZSTD_CCtx_reset(p->cctx, ZSTD_reset_session_only)) ?
	       -EIO : 0;
}

static int zstd_feed(void *priv, const uint8_t *src, size_t len, bool whole,
		     struct erofs_fit_out *out)
{
	struct zstd_priv *p = priv;
	ZSTD_outBuffer ob = { out->buf, out->size, out->pos };
	ZSTD_inBuffer in = { src, len, 0 };
	ZSTD_EndDirective mode = whole ? ZSTD_e_end : ZSTD_e_flush;
	size_t left;

	/* the frame of a whole stream says its size, as one-shot ones do */
	if (whole &&
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(p->cctx, len)))
		return -EIO;
	do {
		left = ZSTD_compressStream2(p->cctx, &ob, &in, mode);
		if (ZSTD_isError(left))
			return -EIO;
	} while (left && ob.pos < ob.size);
	out->pos = ob.pos;
	out->used = in.pos;
	return !left && in.pos == in.size;
}

/*
 * RFC 8878 3.1.1.1: magic, descriptor, window, dictionary id, size.  A
 * stream of unknown size starts with the magic, a descriptor of all
 * zeros and a window byte: nothing else.
 */
#define ZSTD_MAGIC_BYTES	4U
#define ZSTD_STREAM_HEADER	6U
#define ZSTD_FCS_4BYTES		(2U << 6)
#define ZSTD_FCS_ROOM		4U

/*
 * Ends a frame of flushed blocks that stops where a piece was cut off:
 * the last block is marked the frame's last, so that decoders see the
 * frame end with the data, and the header gets the content size, which
 * erofs-utils before 1.9 reads to size its output (end_room bytes).
 */
static int zstd_end_frame(void *priv, uint8_t *frame, size_t *len,
			  size_t content)
{
	size_t pos = ZSTD_STREAM_HEADER, last = 0;
	uint32_t h;
	__le32 fcs;

	if (*len < ZSTD_STREAM_HEADER || frame[ZSTD_MAGIC_BYTES] ||
	    content > UINT32_MAX)
		return -EIO;	/* not the frame libzstd is documented to write */
	while (pos + ZSTD_BLOCK_HEADER <= *len) {
		h = frame[pos] | frame[pos + 1] << 8 | frame[pos + 2] << 16;
		if (h & ZSTD_BLOCK_LAST)
			return -EIO;
		last = pos;
		pos += ZSTD_BLOCK_HEADER + (ZSTD_BLOCK_TYPE(h) == ZSTD_BLOCK_RLE ?
					    1 : ZSTD_BLOCK_SIZE(h));
	}
	if (!last || pos != *len)
		return -EIO;
	frame[last] |= ZSTD_BLOCK_LAST;
	memmove(frame + ZSTD_STREAM_HEADER + ZSTD_FCS_ROOM,
		frame + ZSTD_STREAM_HEADER, *len - ZSTD_STREAM_HEADER);
	frame[ZSTD_MAGIC_BYTES] = ZSTD_FCS_4BYTES;
	fcs = cpu_to_le32(content);
	memcpy(frame + ZSTD_STREAM_HEADER, &fcs, sizeof(fcs));
	*len += ZSTD_FCS_ROOM;
	return 0;
}

static const struct erofs_stream_ops zstd_stream_ops = {
	.begin = zstd_begin,
	.feed = zstd_feed,
	.end = zstd_end_frame,
	.end_room = ZSTD_FCS_ROOM,
	.piece_cost = ZSTD_PIECE_COST,
};

int z_erofs_zstd_compress(struct erofs_compressor *c, const void *src,
			  unsigned int *srclen, void *dst, unsigned int dstcap,
			  struct erofs_compr_fit *fit)
{
	struct zstd_priv *p = c->priv;

	return erofs_stream_fit(&p->fit, src, srclen, dst, dstcap, fit);
}

int z_erofs_zstd_init(struct erofs_compressor *c)
{
	struct zstd_priv *p = calloc(1, sizeof(*p));
	ZSTD_CCtx *cctx = ZSTD_createCCtx();

	if (!p || !cctx) {
		free(p);
		ZSTD_freeCCtx(cctx);
		return -ENOMEM;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
						c->spec.level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog,
				erofs_ilog2(c->spec.dict_size))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0))) {
		ZSTD_freeCCtx(cctx);
		free(p);
		return -EINVAL;
	}
	p->cctx = cctx;
	p->fit = (struct erofs_stream_fit){ .ops = &zstd_stream_ops, .priv = p };
	c->priv = p;
	return 0;
}

void z_erofs_zstd_exit(struct erofs_compressor *c)
{
	struct zstd_priv *p = c->priv;

	if (p) {
		ZSTD_freeCCtx(p->cctx);
		erofs_stream_fit_exit(&p->fit);
	}
	free(p);
	c->priv = NULL;
}
