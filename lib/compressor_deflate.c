// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Raw deflate (no zlib header, as the kernel reads it) to a fixed output
 * size: compressor_fit.c feeds zlib in pieces, each ended by a sync flush
 * (the block ends and an empty stored block aligns the output to a
 * byte), and a stream cut after one is completed by a final empty block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "compressor_priv.h"

/*
 * RFC 1951 3.2.3, 3.2.6: BFINAL set, BTYPE 01 (fixed codes), then code
 * 256 (end of block) in seven zero bits; least significant bit first.
 */
static const uint8_t deflate_final_empty[] = { 0x03, 0x00 };

/*
 * What a flush costs: a block's code tables and the sync flush's empty
 * stored block (measured, as the room left at which filling pays least)
 */
#define DEFLATE_PIECE_COST	40U

struct deflate_priv {
	z_stream z;
	struct erofs_stream_fit fit;
};

static int deflate_begin(void *priv)
{
	struct deflate_priv *p = priv;

	return deflateReset(&p->z) == Z_OK ? 0 : -EIO;
}

static int deflate_feed(void *priv, const uint8_t *src, size_t len,
			bool whole, struct erofs_fit_out *out)
{
	struct deflate_priv *p = priv;
	int ret;

	p->z.next_in = (uint8_t *)src;
	p->z.avail_in = len;
	p->z.next_out = out->buf + out->pos;
	p->z.avail_out = out->size - out->pos;
	ret = deflate(&p->z, whole ? Z_FINISH : Z_SYNC_FLUSH);
	if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
		return -EIO;
	out->pos = out->size - p->z.avail_out;
	out->used = len - p->z.avail_in;
	/* a flush is complete once it leaves output room unused */
	if (whole)
		return ret == Z_STREAM_END;
	return !p->z.avail_in && p->z.avail_out;
}

static int deflate_end(void *priv, uint8_t *buf, size_t *len, size_t content)
{
	memcpy(buf + *len, deflate_final_empty, sizeof(deflate_final_empty));
	*len += sizeof(deflate_final_empty);
	return 0;
}

static const struct erofs_stream_ops deflate_stream_ops = {
	.begin = deflate_begin,
	.feed = deflate_feed,
	.end = deflate_end,
	.end_room = sizeof(deflate_final_empty),
	.piece_cost = DEFLATE_PIECE_COST,
};

int z_erofs_deflate_init(struct erofs_compressor *c)
{
	struct deflate_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (deflateInit2(&p->z, c->spec.level, Z_DEFLATED, -15, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(p);
		return -ENOMEM;
	}
	p->fit = (struct erofs_stream_fit){
		.ops = &deflate_stream_ops, .priv = p,
	};
	c->priv = p;
	return 0;
}

int z_erofs_deflate_compress(struct erofs_compressor *c, const void *src,
			     unsigned int *srclen, void *dst,
			     unsigned int dstcap, struct erofs_compr_fit *fit)
{
	struct deflate_priv *p = c->priv;

	return erofs_stream_fit(&p->fit, src, srclen, dst, dstcap, fit);
}

void z_erofs_deflate_exit(struct erofs_compressor *c)
{
	struct deflate_priv *p = c->priv;

	if (p) {
		deflateEnd(&p->z);
		erofs_stream_fit_exit(&p->fit);
	}
	free(p);
	c->priv = NULL;
}
