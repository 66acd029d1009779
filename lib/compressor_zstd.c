// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * zstd to a fixed output size.
 *
 * libzstd cannot stop at an output size, and compressing prefixes of
 * several lengths until one fits costs a full compression per try (ten
 * and more to find the longest).  A zstd frame is a header and a run of
 * blocks, though, and a flush ends a block: so the input is first fed to
 * one stream in pieces, each flushed, and the output so far is a valid
 * run of blocks after every piece.  Each piece is sized by the ratio seen
 * so far to fill part of the room left; the first that does not fit is
 * dropped -- the output is cut back to the block boundary before it --
 * and the block before it is marked the last of the frame.  That costs
 * about one compression and always gives a fitting prefix.
 *
 * Each flushed block carries its own entropy tables, so that frame holds
 * less than one made in one go would: on small pclusters up to a tenth.
 * With the stream's ratio as a close estimate, at most two one-shot
 * compressions then try a longer prefix, and the stream's frame stays
 * the answer when neither fits.  Measured on a source tree: 97-99% of
 * the longest prefix that fits, at 1.7-3 times the CPU of compressing
 * the same input once (a bisection takes ten to fifteen compressions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "erofs/compressor.h"
#include "erofs/erofs_fs.h"
#include "erofs/util.h"

/* RFC 8878: a block header is 3 bytes, little endian */
#define ZSTD_BLOCK_HEADER	3U
#define ZSTD_BLOCK_LAST		0x1U
#define ZSTD_BLOCK_TYPE(h)	(((h) >> 1) & 3)
#define ZSTD_BLOCK_RLE		1U
#define ZSTD_BLOCK_SIZE(h)	((h) >> 3)

/* room left at which filling stops: a block costs about this much */
#define ZSTD_MIN_ROOM		32U
/* a piece fills this share (1/n) of the room left, so the next still fits */
#define ZSTD_FILL_SHARE		2U

/*
 * One-shot tries after the stream; the bytes a flushed block costs more
 * than one frame made in one go (measured: tables and a header); a
 * pcluster within 1/ZSTD_FULL_SHARE of full needs no more tries.
 */
#define ZSTD_ONESHOT_TRIES	2U
#define ZSTD_PIECE_COST		40U
#define ZSTD_FULL_SHARE		64U

struct zstd_priv {
	ZSTD_CCtx *cctx;
	uint8_t *trial;			/* a one-shot try's output */
	size_t trial_cap;
};

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
	c->priv = p;
	return 0;
}

void z_erofs_zstd_exit(struct erofs_compressor *c)
{
	struct zstd_priv *p = c->priv;

	if (p) {
		ZSTD_freeCCtx(p->cctx);
		free(p->trial);
	}
	free(p);
	c->priv = NULL;
}

/*
 * Compresses and flushes @len more bytes into @out.  Returns 1 when they
 * fit, 0 when they did not (the stream is then spoilt), or -errno.
 */
static int zstd_feed(ZSTD_CCtx *cctx, const uint8_t *src, size_t len,
		     ZSTD_outBuffer *out)
{
	ZSTD_inBuffer in = { src, len, 0 };
	size_t left;

	do {
		left = ZSTD_compressStream2(cctx, out, &in, ZSTD_e_flush);
		if (ZSTD_isError(left))
			return -EIO;
	} while (left && out->pos < out->size);
	return !left && in.pos == in.size;
}

/* the next piece: what fills 1/ZSTD_FILL_SHARE of @room at ratio in/out */
static size_t zstd_next_piece(size_t in, size_t out, size_t room)
{
	uint64_t piece = (uint64_t)room * MAX(in, 1) / MAX(out, 1) /
			 ZSTD_FILL_SHARE;

	return MAX(piece, (uint64_t)ZSTD_MIN_ROOM);
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
 * erofs-utils before 1.9 reads to size its output.  @cap leaves room.
 */
static int zstd_end_frame(uint8_t *frame, size_t *len, size_t content,
			  size_t cap)
{
	size_t pos = ZSTD_STREAM_HEADER, last = 0;
	uint32_t h;
	__le32 fcs;

	if (*len < ZSTD_STREAM_HEADER || frame[ZSTD_MAGIC_BYTES] ||
	    *len + ZSTD_FCS_ROOM > cap || content > UINT32_MAX)
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

/* the longest prefix the flushed stream fits: its size, or 0 if none */
static int zstd_stream_fit(ZSTD_CCtx *cctx, const uint8_t *src,
			   unsigned int *srclen, unsigned int *pieces,
			   uint8_t *dst, unsigned int dstcap)
{
	ZSTD_outBuffer out = { dst, dstcap - ZSTD_FCS_ROOM, 0 };
	size_t done = 0, fitted = 0, piece;
	int ret;

	*pieces = 0;
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	/* the first piece assumes no compression at all: it nearly always fits */
	piece = out.size - out.size / 8;
	while (done < *srclen) {
		piece = MIN(piece, *srclen - done);
		ret = zstd_feed(cctx, src + done, piece, &out);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		done += piece;
		fitted = out.pos;
		++*pieces;
		if (out.size - fitted < ZSTD_MIN_ROOM)
			break;
		piece = zstd_next_piece(done, fitted, out.size - fitted);
	}
	if (!done)
		return 0;
	ret = zstd_end_frame(dst, &fitted, done, dstcap);
	if (ret)
		return ret;
	*srclen = done;
	return fitted;
}

/*
 * One-shot tries from the stream's answer: @len bytes fitted in @size
 * with @pieces flushed blocks, each of which cost some bytes a frame made
 * in one go does not pay.  Each try aims at a full pcluster by the ratio
 * of the best fit so far; the stream's frame stays when none fits.
 */
static int zstd_oneshot_fit(struct zstd_priv *p, const uint8_t *src,
			    unsigned int srclen, unsigned int *len, int size,
			    unsigned int pieces, uint8_t *dst,
			    unsigned int dstcap)
{
	size_t goal = dstcap - dstcap / ZSTD_FULL_SHARE;
	size_t lo = *len, hi = (size_t)srclen + 1, m, cs;
	size_t lo_size = size - MIN((size_t)size / 2, pieces * ZSTD_PIECE_COST);
	bool exact = false;
	unsigned int i;

	if (p->trial_cap < dstcap) {
		free(p->trial);
		p->trial = malloc(dstcap);
		p->trial_cap = p->trial ? dstcap : 0;
		if (!p->trial)
			return -ENOMEM;
	}
	for (i = 0; i < ZSTD_ONESHOT_TRIES && !(exact && lo_size >= goal); i++) {
		/* past a miss, halve the gap: the ratio overshot */
		if (hi <= srclen)
			m = lo + (hi - lo) / 2;
		else
			m = (uint64_t)lo * goal / lo_size;
		m = MIN(MAX(m, lo + 1), hi - 1);
		if (m <= lo)
			break;
		cs = ZSTD_compress2(p->cctx, p->trial, dstcap, src, m);
		if (ZSTD_isError(cs) || cs > dstcap) {
			hi = m;
			continue;
		}
		memcpy(dst, p->trial, cs);
		lo = m;
		lo_size = cs;
		exact = true;
	}
	*len = lo;
	return exact ? (int)lo_size : size;
}

int z_erofs_zstd_compress(struct erofs_compressor *c, const void *src,
			  unsigned int *srclen, void *dst, unsigned int dstcap)
{
	struct zstd_priv *p = c->priv;
	unsigned int len = *srclen, pieces;
	int size;

	if (dstcap <= ZSTD_MIN_ROOM + ZSTD_FCS_ROOM)
		return 0;
	size = zstd_stream_fit(p->cctx, src, &len, &pieces, dst, dstcap);
	if (size > 0 && len < *srclen)
		size = zstd_oneshot_fit(p, src, *srclen, &len, size, pieces,
					dst, dstcap);
	if (size > 0)
		*srclen = len;
	return size;
}
