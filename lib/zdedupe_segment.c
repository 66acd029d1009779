// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -E dedupe over one compressed segment, when it is retired: segments
 * retire in file order, so what is found -- and so the image -- is the
 * same whatever the number of workers.
 *
 * The workers' extents are taken in order.  Where the data at the next
 * extent's start, or at any byte inside a compressed extent, begins like
 * an extent stored before, that stretch refers to the earlier pcluster;
 * an extent it starts inside is cut short there (its pcluster decodes to
 * more than it keeps: a partial reference of its own).  The workers'
 * extents after that point no longer fit: the rest of the segment is
 * compressed here, an extent at a time, searched the same way.
 *
 * Each lcluster holds at most one extent's start, and an extent of a
 * pcluster of several blocks must reach into a second lcluster after its
 * head's (that entry records the block count): a reference or a cut that
 * would break either is not made.  Nor one that does not pay: a
 * reference must stand for a block's worth of the pcluster it decodes,
 * and one that cuts an extent short must reach at least as far as that
 * extent did, or the cut extent's pcluster, kept whole, would hold more
 * that is no longer used than the reference saves.  Last, a file with
 * references needs full lcluster indexes (8 bytes each, compacted ones
 * take 2 or 4): the segment's references must save more than that costs
 * the whole file, else the workers' extents stand after all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/compress.h"
#include "erofs/util.h"
#include "erofs/zdedupe.h"

struct dedupe_pass {
	struct z_erofs_dedupe *d;
	struct z_erofs_worker *w;
	struct z_erofs_segment *seg;
	uint64_t blkaddr;		/* where the segment's output goes */
	uint64_t file_blkaddr;		/* and the file's first pcluster */
	unsigned int bits;
	/* the extent a hit inside would cut short, and where it ends */
	uint64_t cut_la, cut_end;
	uint32_t cut_nblocks;
	bool cutting;
	/* the last own extent, remembered once the next one is known */
	int pending;
	uint64_t pending_blkaddr;
	struct z_erofs_dedupe_stats found;
	/* the workers' result, until the references are known to pay */
	struct z_erofs_extent_rec *spec;
	uint32_t nr_spec;
	uint8_t *spec_out;
	uint64_t spec_outlen;
	uint32_t spec_frag_len;
	uint32_t mark;			/* entries before the segment's */
};

/* may an extent of @nblocks run from @la to @end, another starting there? */
static bool extent_fits(unsigned int bits, uint64_t la, uint64_t end,
			uint32_t nblocks)
{
	return (end >> bits) > (la >> bits) &&
	       (nblocks <= 1 || (end >> bits) >= (la >> bits) + 2);
}

static bool accept_hit(void *ctx, const struct z_erofs_dedupe_hit *hit)
{
	struct dedupe_pass *p = ctx;
	uint64_t la = p->seg->la + hit->pos;

	if (!extent_fits(p->bits, la, la + hit->len, hit->nblocks) ||
	    (uint64_t)hit->len * hit->nblocks < hit->stored_len)
		return false;
	return !p->cutting || (la + hit->len >= p->cut_end &&
			       extent_fits(p->bits, p->cut_la, la, p->cut_nblocks));
}

static int append(struct z_erofs_segment *seg, const struct z_erofs_extent_rec *e)
{
	struct z_erofs_extent_rec *n;

	n = erofs_array_grow(seg->ext, seg->nr_ext, sizeof(*n));
	if (!n)
		return -ENOMEM;
	seg->ext = n;
	seg->ext[seg->nr_ext++] = *e;
	return 0;
}

/* the previous own extent, now that its length is final */
static int remember_pending(struct dedupe_pass *p, uint64_t end)
{
	const struct z_erofs_extent_rec *e;
	uint64_t off;

	if (p->pending < 0)
		return 0;
	e = &p->seg->ext[p->pending];
	p->pending = -1;
	off = e->la - p->seg->la;
	return z_erofs_dedupe_insert(p->d, p->seg->in + off, end - e->la,
				     p->pending_blkaddr, e->nblocks,
				     e->partial);
}

static int add_ref(struct dedupe_pass *p, const struct z_erofs_dedupe_hit *hit)
{
	struct z_erofs_extent_rec ref = {
		.la = p->seg->la + hit->pos,
		.nblocks = hit->nblocks,
		.partial = hit->partial,
		.ref = true,
		.ref_off = (int64_t)(hit->blkaddr - p->file_blkaddr),
	};
	int err = remember_pending(p, ref.la);

	if (err)
		return err;
	p->found.refs++;
	return append(p->seg, &ref);
}

/*
 * From here on the rest is compressed in place, into a new output that
 * starts with the workers' pclusters of the extents kept; theirs stays
 * until the references are known to pay.
 */
static int go_inline(struct dedupe_pass *p, uint64_t own_blocks, uint32_t pos)
{
	struct z_erofs_segment *seg = p->seg;
	uint64_t kept = own_blocks << p->bits;
	uint8_t *out = malloc(kept +
			      z_erofs_segment_out_bound(seg->inlen - pos, p->bits));

	if (!out)
		return -ENOMEM;
	memcpy(out, seg->out, kept);
	p->spec_out = seg->out;
	p->spec_outlen = seg->outlen;
	p->spec_frag_len = seg->frag_len;
	seg->out = out;
	seg->outlen = kept;
	seg->frag_len = 0;
	return 0;
}

static uint64_t own_blocks(const struct z_erofs_extent_rec *e, uint32_t nr)
{
	uint64_t blocks = 0;
	uint32_t i;

	for (i = 0; i < nr; i++)
		blocks += e[i].ref ? 0 : e[i].nblocks;
	return blocks;
}

/*
 * The references do not pay for the full indexes they need: back to the
 * workers' extents, remembered as they are.
 */
static int roll_back(struct dedupe_pass *p, bool remember_last)
{
	struct z_erofs_segment *seg = p->seg;
	uint64_t blkaddr = p->blkaddr;
	uint32_t i, end;
	int err = 0;

	z_erofs_dedupe_forget(p->d, p->mark);
	free(seg->out);
	free(seg->ext);
	seg->out = p->spec_out;
	seg->outlen = p->spec_outlen;
	seg->frag_len = p->spec_frag_len;
	seg->ext = p->spec;
	seg->nr_ext = p->nr_spec;
	p->spec = NULL;
	p->spec_out = NULL;
	for (i = 0; i < seg->nr_ext && !err; i++) {
		const struct z_erofs_extent_rec *e = &seg->ext[i];

		end = i + 1 < seg->nr_ext ? seg->ext[i + 1].la - seg->la :
					    seg->inlen - seg->frag_len;
		if (!e->raw && (remember_last || i + 1 < seg->nr_ext))
			err = z_erofs_dedupe_insert(p->d,
					seg->in + (e->la - seg->la),
					end - (e->la - seg->la), blkaddr,
					e->nblocks, false);
		blkaddr += e->nblocks;
	}
	return err;
}

/* the next own extent, from the workers' or compressed now: its end */
static int next_extent(struct dedupe_pass *p, const struct z_erofs_extent_rec *spec,
		       uint32_t nr_spec, uint32_t *i, bool inline_mode,
		       uint32_t pos, uint32_t *end)
{
	struct z_erofs_segment *seg = p->seg;
	int ret;

	if (!inline_mode) {
		if (*i == nr_spec)
			return 0;
		*end = *i + 1 < nr_spec ? spec[*i + 1].la - seg->la :
					  seg->inlen - seg->frag_len;
		ret = append(seg, &spec[(*i)++]);
		return ret ? ret : 1;
	}
	ret = z_erofs_compress_extent(p->w, seg, pos);
	if (ret <= 0)
		return ret;
	*end = pos + ret;
	return 1;
}

/* the search itself: rewrites @p->seg's extents, from the workers' */
static int search_segment(struct dedupe_pass *p, bool remember_last,
			  bool *inline_mode)
{
	struct z_erofs_segment *seg = p->seg;
	uint32_t i = 0, pos = 0, end;
	uint64_t own = 0;
	struct z_erofs_dedupe_hit hit;
	int err = 0, ret;

	while (!err && pos < seg->inlen) {
		struct z_erofs_extent_rec *x;

		/* the data here starts like a stored extent */
		p->cutting = false;
		if (z_erofs_dedupe_find(p->d, seg->in, seg->inlen, pos, pos + 1,
					accept_hit, p, &hit)) {
			if (!*inline_mode)
				err = go_inline(p, own, pos);
			*inline_mode = true;
			if (!err)
				err = add_ref(p, &hit);
			pos += hit.len;
			continue;
		}
		ret = next_extent(p, p->spec, p->nr_spec, &i, *inline_mode,
				  pos, &end);
		if (ret <= 0) {
			err = ret;	/* 0: the rest is the packed inode's */
			break;
		}
		err = remember_pending(p, seg->la + pos);
		if (err)
			break;
		x = &seg->ext[seg->nr_ext - 1];
		p->pending_blkaddr = p->blkaddr + own;
		own += x->nblocks;
		p->pending = x->raw ? -1 : (int)seg->nr_ext - 1;
		/* a stored extent starts inside this one: cut it short there */
		p->cutting = true;
		p->cut_la = x->la;
		p->cut_end = seg->la + end;
		p->cut_nblocks = x->nblocks;
		if (!x->raw && z_erofs_dedupe_find(p->d, seg->in, seg->inlen,
						   pos + 1, end, accept_hit,
						   p, &hit)) {
			x->partial = true;
			if (!*inline_mode)
				err = go_inline(p, own, hit.pos);
			*inline_mode = true;
			if (!err)
				err = add_ref(p, &hit);
			pos = hit.pos + hit.len;
			continue;
		}
		pos = end;
	}
	if (!err && remember_last)
		err = remember_pending(p, seg->la + pos);
	return err;
}

int z_erofs_dedupe_segment(struct z_erofs_dedupe *d, struct z_erofs_worker *w,
			   struct z_erofs_segment *seg,
			   const struct z_erofs_dedupe_where *at,
			   struct z_erofs_dedupe_stats *st)
{
	struct dedupe_pass p = {
		.d = d, .w = w, .seg = seg, .blkaddr = at->blkaddr,
		.file_blkaddr = at->file_blkaddr,
		.bits = seg->blkszbits, .pending = -1,
		.spec = seg->ext, .nr_spec = seg->nr_ext,
		.mark = z_erofs_dedupe_count(d),
	};
	bool inline_mode = false;
	uint64_t saved;
	int err;

	seg->ext = NULL;
	seg->nr_ext = 0;
	err = search_segment(&p, at->remember_last, &inline_mode);
	if (!inline_mode) {
		/* nothing found: the extents are the workers', as they were */
		free(p.spec);
		return err;
	}
	saved = own_blocks(p.spec, p.nr_spec) - MIN(own_blocks(p.spec, p.nr_spec),
						    own_blocks(seg->ext, seg->nr_ext));
	if (!err && (saved << p.bits) <= at->index_cost)
		return roll_back(&p, at->remember_last);
	free(p.spec);
	free(p.spec_out);
	if (!err) {
		st->refs += p.found.refs;
		st->saved_blocks += saved;
	}
	return err;
}
