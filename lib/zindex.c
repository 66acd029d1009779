// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lcluster indexes of compressed files, full and compacted.
 *
 * Compacted indexes pack 2 (4B form) or 16 (2B form) lclusters with one
 * 32-bit block address per pack; a reader finds a HEAD's block address by
 * walking back through the pack and adding the blocks of the pclusters it
 * passes.  The pack's base is chosen so that this walk lands on the right
 * address, and every HEAD is checked against it before anything is written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/compress.h"
#include "erofs/erofs_fs.h"

static bool z_big_pcluster(const struct z_erofs_file *z)
{
	return z->max_pclusterblks > 1;
}

void z_erofs_choose_index(struct z_erofs_file *z, unsigned int blkszbits,
			  bool legacy)
{
	/* 4B packs carry 14 bits of offset, 2B packs 12 */
	z->compact = !legacy && blkszbits <= 14;
	z->compact_2b = z->compact && blkszbits <= 12;
}

static uint64_t lcluster_count(unsigned int blkszbits, uint64_t size)
{
	return (size + (1ULL << blkszbits) - 1) >> blkszbits;
}

void z_erofs_compact_split(bool compact_2b, uint64_t total, uint64_t ebase,
			   uint64_t *lead, uint64_t *two)
{
	/* 4B entries up to the first 32-byte boundary, for the 2B packs */
	*lead = ((32 - ebase % 32) / 4) & 7;
	*two = 0;
	if (compact_2b && *lead < total)
		*two = (total - *lead) / 16 * 16;
}

unsigned int z_erofs_index_size(const struct z_erofs_file *z,
				unsigned int blkszbits, uint64_t size,
				unsigned int iend)
{
	uint64_t total = lcluster_count(blkszbits, size), ebase, lead, two;
	uint64_t bytes;

	ebase = Z_EROFS_MAP_HEADER_END((uint64_t)iend);
	if (z_erofs_whole_fragment(z))
		return ebase - iend;
	if (!z->compact)
		bytes = Z_EROFS_FULL_INDEX_START((uint64_t)iend) - iend +
			total * sizeof(struct z_erofs_lcluster_index);
	else {
		z_erofs_compact_split(z->compact_2b, total, ebase, &lead, &two);
		if (total <= lead)
			bytes = ROUND_UP(total, 2) * 4;
		else
			bytes = lead * 4 + two * 2 +
				ROUND_UP(total - lead - two, 2) * 4;
		bytes += ebase - iend;
	}
	return bytes;
}

/*
 * Readers take an extent to run to the end of the lcluster they look up,
 * so the last extent must not look as if it ran past EOF into more than
 * it holds: a stored (raw) extent can decode no more than its blocks.
 * When the last extent starts before the last lcluster and would so
 * claim more than it has, that lcluster gets an empty PLAIN head at EOF.
 * Compressed extents get one alike, so no reader decodes past EOF.
 */
static bool needs_eof_head(const struct z_erofs_file *z,
			   unsigned int blkszbits, uint64_t size)
{
	const struct z_erofs_extent_rec *last = &z->ext[z->nr_ext - 1];
	uint64_t last_lcn = (size - 1) >> blkszbits;
	uint64_t claimed = ((last_lcn + 1) << blkszbits) - last->la;

	/* a fragment runs to EOF by definition */
	if (z->fragment || !(size & ((1ULL << blkszbits) - 1)) ||
	    (last->la >> blkszbits) >= last_lcn)
		return false;
	return !last->raw || claimed > ((uint64_t)last->nblocks << blkszbits);
}

static void set_head(struct z_erofs_lcluster *l, const struct z_erofs_extent_rec *e,
		     unsigned int blkszbits, uint64_t blkaddr, uint64_t base)
{
	l->type = e->raw ? Z_EROFS_LCLUSTER_TYPE_PLAIN :
			   Z_EROFS_LCLUSTER_TYPE_HEAD1;
	l->clusterofs = e->la & ((1U << blkszbits) - 1);
	/* -E dedupe: another extent's pcluster, wherever it is */
	l->blkaddr = e->ref ? base + e->ref_off : blkaddr;
	l->partial = e->partial;
}

/*
 * A pcluster of several blocks says how many in the NONHEAD lcluster
 * after its head; one without a NONHEAD is read as a single block.
 */
static bool extent_encodable(const struct z_erofs_file *z,
			     const struct z_erofs_extent_rec *e,
			     uint64_t head, uint64_t next)
{
	if (e->nblocks <= 1)
		return true;
	return z_big_pcluster(z) && head + 1 < next;
}

/* every lcluster's entry, from the extents */
static int build_lclusters(const struct z_erofs_file *z,
			   unsigned int blkszbits, uint64_t size,
			   uint64_t blkaddr, uint64_t total,
			   struct z_erofs_lcluster **out)
{
	struct z_erofs_lcluster *lc = calloc(total, sizeof(*lc));
	const struct z_erofs_extent_rec eof = { .la = size, .raw = true };
	bool eof_head = needs_eof_head(z, blkszbits, size);
	const uint64_t base = blkaddr;	/* the file's first block */
	uint32_t i, nblocks;

	if (!lc)
		return -ENOMEM;
	for (i = 0; i < z->nr_ext; i++) {
		const struct z_erofs_extent_rec *e = &z->ext[i];
		uint64_t head = e->la >> blkszbits, next, lcn;

		if (i + 1 < z->nr_ext)
			next = z->ext[i + 1].la >> blkszbits;
		else
			next = eof_head ? eof.la >> blkszbits : total;
		/* an inline tail has no blocks: address it as one */
		nblocks = e->nblocks;
		if (i + 1 == z->nr_ext && z->idata_size)
			nblocks = 1;
		if (!extent_encodable(z, e, head, next)) {
			free(lc);
			return -EFAULT;
		}
		set_head(&lc[head], e, blkszbits, blkaddr, base);
		/* full indexes keep a fragment offset's high bits there */
		if (!nblocks && !z->compact)
			lc[head].blkaddr = z->fragoff >> 32;
		for (lcn = head + 1; lcn < next; lcn++) {
			lc[lcn].type = Z_EROFS_LCLUSTER_TYPE_NONHEAD;
			lc[lcn].delta[0] = lcn - head;
			lc[lcn].delta[1] = next - lcn;
		}
		if (z_big_pcluster(z) && head + 1 < next && nblocks) {
			lc[head + 1].cblkcnt = true;
			lc[head + 1].cblks = nblocks;
		}
		/* a reference's pcluster is not among the file's own */
		if (!e->ref)
			blkaddr += nblocks;
	}
	/* it has no blocks: its address is where the next would start */
	if (eof_head)
		set_head(&lc[total - 1], &eof, blkszbits, blkaddr, base);
	*out = lc;
	return 0;
}

static void write_full(const struct z_erofs_lcluster *lc, uint64_t total, uint8_t *p)
{
	uint64_t i;

	for (i = 0; i < total; i++, p += sizeof(struct z_erofs_lcluster_index)) {
		struct z_erofs_lcluster_index di = {
			.di_advise = cpu_to_le16(lc[i].type |
				(lc[i].partial ? Z_EROFS_LI_PARTIAL_REF : 0)),
		};

		if (lc[i].type == Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
			di.di_u.delta[0] = cpu_to_le16(lc[i].cblkcnt ?
				Z_EROFS_LI_D0_CBLKCNT | lc[i].cblks :
				lc[i].delta[0]);
			di.di_u.delta[1] = cpu_to_le16(lc[i].delta[1]);
		} else {
			di.di_clusterofs = cpu_to_le16(lc[i].clusterofs);
			di.di_u.blkaddr = cpu_to_le32(lc[i].blkaddr);
		}
		memcpy(p, &di, sizeof(di));
	}
}

/* the low bits a compacted entry stores for lcluster @i of a pack */
static unsigned int compact_lo(const struct z_erofs_lcluster *l, bool last_in_pack)
{
	if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD)
		return l->clusterofs;
	if (l->cblkcnt)
		return Z_EROFS_LI_D0_CBLKCNT | l->cblks;
	/* the last entry of a pack looks ahead instead of back */
	return last_in_pack ? l->delta[1] : l->delta[0];
}

uint64_t z_erofs_compact_walk(const struct z_erofs_lcluster *pack,
			      unsigned int vcnt, int i, bool big)
{
	uint64_t nblk = big ? 0 : 1;
	unsigned int lo;

	while (i > 0) {
		const struct z_erofs_lcluster *l = &pack[--i];

		if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
			nblk++;
			continue;
		}
		if (big && l->cblkcnt) {
			nblk += l->cblks;
			i--;
			continue;
		}
		lo = compact_lo(l, i == (int)vcnt - 1);
		if (big) {
			/* the step back would stay put or go forward */
			if (lo <= 1)
				return Z_EROFS_COMPACT_BAD;
			i -= lo - 2;
			continue;
		}
		i -= lo;
		if (i >= 0)
			nblk++;
	}
	return nblk;
}

static int write_pack(const struct z_erofs_lcluster *pack, unsigned int vcnt,
		      unsigned int packbytes, unsigned int lobits, bool big,
		      uint8_t *p)
{
	unsigned int encodebits = (packbytes - 4) * 8 / vcnt, i;
	uint64_t base = 0, walked;
	bool have_base = false;
	__le32 le;

	memset(p, 0, packbytes);
	for (i = 0; i < vcnt; i++) {
		/* compacted entries have no bit for it: full indexes only */
		if (pack[i].partial)
			return -EFAULT;
		unsigned int v = compact_lo(&pack[i], i == vcnt - 1) |
				 (pack[i].type << lobits);
		unsigned int bit = i * encodebits, b;

		for (b = 0; b < encodebits; b++, bit++)
			if (v & (1U << b))
				p[bit / 8] |= 1 << (bit % 8);
		if (pack[i].type == Z_EROFS_LCLUSTER_TYPE_NONHEAD)
			continue;
		walked = z_erofs_compact_walk(pack, vcnt, i, big);
		if (walked == Z_EROFS_COMPACT_BAD)
			return -EFAULT;
		if (!have_base) {
			base = pack[i].blkaddr - walked;
			have_base = true;
		} else if (base + walked != pack[i].blkaddr) {
			return -EFAULT;	/* extents not laid out in sequence */
		}
	}
	le = cpu_to_le32(base);
	memcpy(p + packbytes - 4, &le, 4);
	return 0;
}

static int write_compact(const struct z_erofs_file *z, struct z_erofs_lcluster *lc,
			 uint64_t total, unsigned int blkszbits,
			 uint64_t ebase, uint8_t *p)
{
	unsigned int lobits = MAX(blkszbits, 12U);
	bool big = z_big_pcluster(z);
	uint64_t lead, two, i = 0;
	struct z_erofs_lcluster pad[16] = { { 0 } };
	int err = 0;

	z_erofs_compact_split(z->compact_2b, total, ebase, &lead, &two);
	while (!err && i < total) {
		bool two_b = i >= lead && i < lead + two;
		unsigned int vcnt = two_b ? 16 : 2, packbytes = two_b ? 32 : 8;

		if (i + vcnt <= total) {
			err = write_pack(lc + i, vcnt, packbytes, lobits, big, p);
		} else {
			/* the last 4B pack may be half used */
			memcpy(pad, lc + i, (total - i) * sizeof(*lc));
			pad[1] = pad[0];
			pad[1].type = Z_EROFS_LCLUSTER_TYPE_NONHEAD;
			pad[1].cblkcnt = false;
			pad[1].delta[0] = pad[1].delta[1] = 1;
			err = write_pack(pad, vcnt, packbytes, lobits, big, p);
		}
		i += vcnt;
		p += packbytes;
	}
	return err;
}

int z_erofs_write_index(const struct z_erofs_file *z, unsigned int blkszbits,
			uint64_t size, uint64_t blkaddr, uint64_t iend,
			uint8_t *p)
{
	uint64_t total = lcluster_count(blkszbits, size);
	uint64_t hstart = Z_EROFS_MAP_HEADER_START(iend);
	struct z_erofs_map_header h = {
		.h_advise = cpu_to_le16(
			(z->compact_2b ? Z_EROFS_ADVISE_COMPACTED_2B : 0) |
			(z_big_pcluster(z) ? Z_EROFS_ADVISE_BIG_PCLUSTER_1 |
					     Z_EROFS_ADVISE_BIG_PCLUSTER_2 : 0)),
		.h_algorithmtype = z->ondisk_alg | (z->ondisk_alg << 4),
		.h_clusterbits = 0,
	};
	unsigned int index_bytes = z_erofs_index_size(z, blkszbits, size, iend);
	struct z_erofs_lcluster *lc;
	int err = 0;

	if (z_erofs_whole_fragment(z)) {
		__le64 whole = cpu_to_le64(z->fragoff |
					   1ULL << (Z_EROFS_FRAGMENT_INODE_BIT + 56));

		memcpy(p + (hstart - iend), &whole, sizeof(whole));
		return 0;
	}
	if (z->fragment) {
		/* compacted indexes have nowhere for more than 32 bits */
		if (z->compact && z->fragoff > UINT32_MAX)
			return -EFAULT;
		h.h_advise |= cpu_to_le16(Z_EROFS_ADVISE_FRAGMENT_PCLUSTER);
		h.h_fragmentoff = cpu_to_le32((uint32_t)z->fragoff);
	}
	err = build_lclusters(z, blkszbits, size, blkaddr, total, &lc);
	if (err)
		return err;
	if (z->idata_size) {
		h.h_advise |= cpu_to_le16(Z_EROFS_ADVISE_INLINE_PCLUSTER);
		h.h_idata_size = cpu_to_le16(z->idata_size);
		/* readers find it right after the pack holding EOF */
		memcpy(p + index_bytes, z->idata, z->idata_size);
	}
	memcpy(p + (hstart - iend), &h, sizeof(h));
	if (z->compact)
		err = write_compact(z, lc, total, blkszbits,
				    Z_EROFS_MAP_HEADER_END(iend),
				    p + (Z_EROFS_MAP_HEADER_END(iend) - iend));
	else
		write_full(lc, total, p + (Z_EROFS_FULL_INDEX_START(iend) - iend));
	free(lc);
	return err;
}
