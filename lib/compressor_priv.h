/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Between the compressors that cannot stop at an output size (deflate,
 * zstd) and compressor_fit.c, which fits their flushed streams to a
 * pcluster.
 */
#ifndef EROFS_COMPRESSOR_PRIV_H
#define EROFS_COMPRESSOR_PRIV_H

#include "erofs/compressor.h"

/* where a stream's output goes: [0, pos) written, room up to size */
struct erofs_fit_out {
	uint8_t *buf;
	size_t pos, size;
	size_t used;		/* out of room: the input taken till then */
};

struct erofs_stream_ops {
	/* starts a new stream */
	int (*begin)(void *priv);
	/*
	 * Compresses @len more bytes into @out, flushed: the output so far
	 * then decodes to exactly the input so far.  With @whole, @len is
	 * all of a stream just begun, made complete in one go.  Returns 1
	 * when they fit, 0 when @out ran out of room (the stream is then
	 * spoilt; out->used says how far it got), or -errno.
	 */
	int (*feed)(void *priv, const uint8_t *src, size_t len, bool whole,
		    struct erofs_fit_out *out);
	/*
	 * Completes a stream of flushed pieces, @len bytes of output for
	 * @content bytes of input, growing it by at most @end_room.
	 */
	int (*end)(void *priv, uint8_t *buf, size_t *len, size_t content);
	unsigned int end_room;
	/* about what a flush costs: a piece smaller than that does not pay */
	unsigned int piece_cost;
};

/* a compressor's fitting state: the stream, its grow-only buffer */
struct erofs_stream_fit {
	const struct erofs_stream_ops *ops;
	void *priv;
	uint8_t *buf;
	size_t cap;
};

int erofs_stream_fit(struct erofs_stream_fit *f, const uint8_t *src,
		     unsigned int *srclen, uint8_t *dst, unsigned int dstcap,
		     struct erofs_compr_fit *last);
void erofs_stream_fit_exit(struct erofs_stream_fit *f);

#endif
