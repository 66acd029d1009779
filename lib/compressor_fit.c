// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fitting the output of a compressor that cannot stop at an output size
 * (zlib, libzstd) to a pcluster.
 *
 * Searching for the longest prefix that fits by compressing prefixes
 * costs a whole compression per try, and it takes several.  Both
 * libraries can flush, though: a flush ends a block, and the output so
 * far then decodes to exactly the input so far.  So a pcluster is one
 * stream fed in pieces, each flushed; the first piece whose output does
 * not fit is dropped -- the output is cut back to the flush before it --
 * and the stream is ended there.  That costs about one compression of
 * what the pcluster holds.
 *
 * Each flush costs a block header and tables, and some CPU, so the
 * pieces are few and sized by prediction.  The first is the input that
 * fills the pcluster but for a reserve, at the ratio the segment's
 * previous pcluster had (its first assumes no compression at all).  In
 * binaries, neighbouring pclusters' ratios often differ by more than an
 * eighth, and a first piece that does not fit is compressed in vain:
 * pclusters larger than 8 KiB keep a quarter in reserve (deflate at
 * 64 KiB on /usr/lib/gcc: 1.41x the compressor alone's instructions with
 * an eighth, 1.25x with a quarter; on text 1.04x either way).  Smaller
 * ones keep an eighth: there each flush costs more than misses do.  Later
 * ones fill most of the room left at the ratio seen so far, until what
 * is left would not pay for a flush.  A first piece that does not fit
 * tells the ratio of this very input: the stream starts again with a
 * piece of the size that gives.  The rest of a segment that is predicted
 * to fit is compressed whole in one go, a stream like any other.
 *
 * The ratio carried from one pcluster to the next is the segment's, so
 * that an extent's output depends on its segment's input alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/util.h"
#include "compressor_priv.h"

/* a later piece leaves 1/FIT_RESERVE while the room left is large */
#define FIT_RESERVE	8U
/* the first piece of a pcluster larger than this leaves a quarter, not 1/8 */
#define FIT_QUARTER_ABOVE	(8U << 10)
/* a later piece fills 3/4 of the room left: fewer flushes, seldom too much */
#define FIT_FILL(room)	((room) - (room) / 4)
/* a first piece may overrun this many times and still tell its ratio */
#define FIT_OVERRUN	2U
/* first pieces tried before giving up (the last assumes no compression) */
#define FIT_TRIES	4U

/* the input that compresses to @out bytes at @in_per:@out_per */
static size_t fit_scale(size_t out, uint64_t in_per, uint64_t out_per)
{
	return (uint64_t)out * in_per / (out_per ? out_per : 1);
}

/*
 * Begins a stream with a first piece that leaves its reserve of @room
 * unfilled at the ratio @r predicts.  Returns 1 when it fitted in @room
 * (@out tells how much, @taken the input), 0 when it did not: @r then
 * holds the ratio seen, or a bound on it.
 */
static int fit_first(struct erofs_stream_fit *f, const uint8_t *src,
		     size_t srclen, size_t room, struct erofs_compr_fit *r,
		     struct erofs_fit_out *out, size_t *taken, bool *whole)
{
	size_t reserve = room / (room > FIT_QUARTER_ABOVE ? 4 : FIT_RESERVE);
	size_t piece = fit_scale(room - reserve, r->in, r->out);
	int ret;

	piece = MIN(MAX(piece, 1), srclen);
	*whole = piece == srclen;
	ret = f->ops->begin(f->priv);
	if (ret)
		return ret;
	*out = (struct erofs_fit_out){
		.buf = f->buf, .size = room * FIT_OVERRUN,
	};
	ret = f->ops->feed(f->priv, src, piece, *whole, out);
	if (ret < 0)
		return ret;
	if (ret && out->pos <= room) {
		*taken = piece;
		return 1;
	}
	/* past the end of the buffer, the input taken bounds the ratio */
	r->in = ret ? piece : MAX(out->used, 1);
	r->out = ret ? out->pos : out->size;
	return 0;
}

/* more pieces after the first, while they pay; @taken grows with them */
static int fit_more(struct erofs_stream_fit *f, const uint8_t *src,
		    size_t srclen, size_t room, struct erofs_fit_out *out,
		    size_t *taken)
{
	size_t reserve = room / FIT_RESERVE, left, piece;
	size_t fitted = out->pos;
	int ret;

	out->size = room;
	while (*taken < srclen) {
		left = room - fitted;
		if (left < 2 * f->ops->piece_cost)
			break;
		left = left > 2 * reserve ? left - reserve : FIT_FILL(left);
		piece = fit_scale(left, *taken, fitted);
		piece = MIN(MAX(piece, 1), srclen - *taken);
		ret = f->ops->feed(f->priv, src + *taken, piece, false, out);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		*taken += piece;
		fitted = out->pos;
	}
	out->pos = fitted;
	return 0;
}

int erofs_stream_fit(struct erofs_stream_fit *f, const uint8_t *src,
		     unsigned int *srclen, uint8_t *dst, unsigned int dstcap,
		     struct erofs_compr_fit *last)
{
	struct erofs_compr_fit r = { 1, 1 };
	size_t room, taken = 0;
	struct erofs_fit_out out;
	unsigned int i;
	bool whole;
	int ret = 0;

	if (dstcap <= f->ops->end_room + 2 * f->ops->piece_cost)
		return 0;
	room = dstcap - f->ops->end_room;
	ret = erofs_reserve(&f->buf, &f->cap, room * FIT_OVERRUN);
	if (ret)
		return ret;
	if (last->out)
		r = *last;
	for (i = 0; i < FIT_TRIES; i++) {
		/* the last try assumes nothing compresses */
		if (i == FIT_TRIES - 1 && r.in > r.out)
			r = (struct erofs_compr_fit){ 1, 1 };
		ret = fit_first(f, src, *srclen, room, &r, &out, &taken,
				&whole);
		if (ret)
			break;
	}
	if (ret <= 0)
		return ret;
	if (!whole) {
		ret = fit_more(f, src, *srclen, room, &out, &taken);
		if (!ret)
			ret = f->ops->end(f->priv, f->buf, &out.pos, taken);
		if (ret)
			return ret;
	}
	memcpy(dst, f->buf, out.pos);
	*last = (struct erofs_compr_fit){ taken, out.pos };
	*srclen = taken;
	return out.pos;
}

void erofs_stream_fit_exit(struct erofs_stream_fit *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}
