// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fixed-output compression of one segment into extents.
 *
 * Each extent is cut by the compressor: it takes as much input as fits in
 * one pcluster.  Input that would not save a block is stored as is, a
 * pcluster's worth at a time, one block per extent.  Compressed data sits
 * at the end of its pcluster, zeros before it, which is how readers find
 * where it starts and what lets the kernel decompress in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/compress.h"
#include "erofs/erofs_fs.h"
#include "erofs/util.h"

/*
 * A compacted or full NONHEAD entry stores its distances in 11 bits (bit
 * 11 marks a block count), so an extent spans fewer than 2048 lclusters.
 */
#define Z_MAX_EXTENT_LCLUSTERS	2047U

uint64_t z_erofs_max_extent(unsigned int blkszbits, uint64_t asked)
{
	uint64_t max = MIN((uint64_t)Z_EROFS_PCLUSTER_MAX_DSIZE,
			   (uint64_t)Z_MAX_EXTENT_LCLUSTERS << blkszbits);

	return asked ? MIN(asked, max) : max;
}

uint64_t z_erofs_segment_out_bound(uint32_t inlen, unsigned int blkszbits)
{
	/* raw extents round up to a block each; there are at most this many */
	return inlen + (((uint64_t)inlen >> blkszbits) + 2) * (1U << blkszbits);
}

void z_erofs_worker_init(struct z_erofs_worker *w)
{
	memset(w, 0, sizeof(*w));
}

void z_erofs_worker_exit(struct z_erofs_worker *w)
{
	unsigned int i;

	for (i = 0; i < EROFS_MAX_COMPR_SPECS; i++)
		if (w->inited[i])
			erofs_compressor_exit(&w->compr[i]);
	free(w->scratch);
	memset(w, 0, sizeof(*w));
}

static int worker_prepare(struct z_erofs_worker *w,
			  const struct z_erofs_segment *seg)
{
	int err;

	err = erofs_reserve(&w->scratch, &w->scratch_size,
			    (size_t)seg->pclusterblks << seg->blkszbits);
	if (err)
		return err;
	if (w->inited[seg->spec_idx])
		return 0;
	err = erofs_compressor_init(&w->compr[seg->spec_idx], seg->spec);
	if (!err)
		w->inited[seg->spec_idx] = true;
	return err;
}

static int add_extent(struct z_erofs_segment *seg, uint64_t la,
		      uint32_t nblocks, bool raw)
{
	struct z_erofs_extent_rec *e;

	e = erofs_array_grow(seg->ext, seg->nr_ext, sizeof(*e));
	if (!e)
		return -ENOMEM;
	seg->ext = e;
	e[seg->nr_ext++] = (struct z_erofs_extent_rec){
		.la = la, .nblocks = nblocks, .raw = raw,
	};
	return 0;
}

/*
 * Stores the @tried bytes that did not compress as is (whole blocks of
 * them: at least one, at most a pcluster's worth), one block per extent:
 * a stored pcluster of one block is what every reader handles (kernels
 * before 6.x copy at most two pages of one).  Input beyond them gets its
 * own chance to compress.  Returns the bytes taken.
 */
static int store_raw(struct z_erofs_segment *seg, uint32_t pos,
		     uint32_t tried)
{
	unsigned int blksz = 1U << seg->blkszbits;
	uint32_t cap = seg->pclusterblks << seg->blkszbits;
	uint32_t n = MIN(seg->inlen - pos,
			 MAX(ROUND_UP(MIN(tried, cap), blksz), blksz));
	uint32_t off, len;
	int err;

	for (off = 0; off < n; off += len) {
		len = MIN(n - off, blksz);
		err = add_extent(seg, seg->la + pos + off, 1, true);
		if (err)
			return err;
		memcpy(seg->out + seg->outlen, seg->in + pos + off, len);
		memset(seg->out + seg->outlen + len, 0, blksz - len);
		seg->outlen += blksz;
	}
	return n;
}

/* one extent from @pos: compressed if that saves a block, else raw */
static int compress_one(struct z_erofs_worker *w, struct z_erofs_segment *seg,
			uint32_t pos)
{
	unsigned int blksz = 1U << seg->blkszbits;
	unsigned int n = MIN((uint64_t)seg->inlen - pos, seg->max_extent_bytes);
	uint32_t cap = seg->pclusterblks << seg->blkszbits, cblocks;
	int clen, err;

	clen = erofs_compress_destsize(&w->compr[seg->spec_idx], seg->in + pos,
				       &n, w->scratch, cap, &seg->fit);
	if (clen < 0)
		return clen;
	cblocks = DIV_ROUND_UP(clen, blksz);
	/*
	 * Readers skip leading zeros to find the data: a stream that starts
	 * with a zero byte could not be found, so it is stored raw instead.
	 */
	if (!clen || !n || cblocks >= DIV_ROUND_UP(n, blksz) || !w->scratch[0])
		return store_raw(seg, pos, n);
	/*
	 * The rest of the file compresses into a pcluster it would not
	 * fill: in the packed inode it shares blocks with others instead.
	 */
	if (seg->may_fragment && pos + n == seg->inlen && (uint32_t)clen < cap) {
		seg->frag_len = n;
		return n;
	}
	err = add_extent(seg, seg->la + pos, cblocks, false);
	if (err)
		return err;
	memset(seg->out + seg->outlen, 0, cblocks * blksz - clen);
	memcpy(seg->out + seg->outlen + cblocks * blksz - clen, w->scratch,
	       clen);
	seg->outlen += (uint64_t)cblocks * blksz;
	return n;
}

/*
 * The last bytes of a file that fit one pcluster (and one extent) go to
 * the packed inode, where they compress together with other files'.
 */
static bool leave_to_fragment(const struct z_erofs_segment *seg, uint32_t pos)
{
	uint64_t limit = MIN((uint64_t)seg->pclusterblks << seg->blkszbits,
			     seg->max_extent_bytes);

	return seg->may_fragment &&
	       (seg->whole_fragment || seg->inlen - pos <= limit);
}

int z_erofs_compress_extent(struct z_erofs_worker *w,
			    struct z_erofs_segment *seg, uint32_t pos)
{
	int ret = worker_prepare(w, seg);

	if (ret)
		return ret;
	if (leave_to_fragment(seg, pos)) {
		seg->frag_len = seg->inlen - pos;
		return 0;
	}
	ret = compress_one(w, seg, pos);
	/* no progress: never loop forever */
	return ret ? ret : -EIO;
}

int z_erofs_compress_segment(struct z_erofs_worker *w,
			     struct z_erofs_segment *seg)
{
	uint32_t pos = 0;
	uint8_t *out;
	int ret = 0;

	seg->outlen = 0;
	seg->nr_ext = 0;
	seg->frag_len = 0;
	seg->fit = (struct erofs_compr_fit){ 0 };
	seg->out = malloc(z_erofs_segment_out_bound(seg->inlen,
						    seg->blkszbits));
	if (!seg->out)
		return -ENOMEM;
	while (pos < seg->inlen && !seg->frag_len) {
		ret = z_erofs_compress_extent(w, seg, pos);
		if (ret < 0)
			return ret;
		pos += ret;
	}
	/* it waits its turn to be written: hold what it took, not the bound */
	out = realloc(seg->out, MAX(seg->outlen, 1ULL));
	if (out)
		seg->out = out;
	return 0;
}
