// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mapping a compressed file's logical offset to its extent and pcluster,
 * from full or compacted lcluster indexes.  Every distance read from the
 * image is checked against the file's lcluster count before it is
 * followed, and every walk is bounded by that count.
 */
#include <string.h>
#include "erofs/compress.h"
#include "erofs/features.h"
#include "erofs/reader.h"

struct zmap {
	struct erofs_image *img;
	const struct erofs_inode_info *vi;
	uint16_t advise;
	uint8_t algs[2];		/* HEAD1, HEAD2 */
	uint16_t idata_size;
	unsigned int lbits;
	uint64_t total;			/* lclusters */
	uint64_t ebase;			/* compacted: first pack */
	uint64_t index_end;		/* end of the index area */
	/* fragments: the last extent (or the whole file) is packed */
	bool fragment, whole;
	uint64_t fragoff;
	bool head_partial;		/* the last HEAD loaded is PARTIAL_REF */
	bool extent_partial;		/* the extent being mapped's HEAD was */
	/* extent records instead of lcluster indexes (Z_EROFS_ADVISE_EXTENTS) */
	bool extents;
	unsigned int recsz;
	uint64_t nr_extents;		/* records, with recsz >= 16 */
	uint64_t ext_start;		/* first record (4-byte: its base) */
};

/* advise bits each index form implements; others are refused */
#define ZMAP_LCLUSTER_ADVISE \
	(Z_EROFS_ADVISE_COMPACTED_2B | Z_EROFS_ADVISE_BIG_PCLUSTER_1 | \
	 Z_EROFS_ADVISE_BIG_PCLUSTER_2 | Z_EROFS_ADVISE_INLINE_PCLUSTER | \
	 Z_EROFS_ADVISE_INTERLACED_PCLUSTER | Z_EROFS_ADVISE_FRAGMENT_PCLUSTER)
#define ZMAP_EXTENT_ADVISE \
	(Z_EROFS_ADVISE_EXTENTS | \
	 Z_EROFS_ADVISE_EXTRECSZ_MASK << Z_EROFS_ADVISE_EXTRECSZ_BIT | \
	 Z_EROFS_ADVISE_INTERLACED_PCLUSTER | Z_EROFS_ADVISE_FRAGMENT_PCLUSTER)

static int zmap_unsupported(struct zmap *m, const char *what, unsigned int v)
{
	erofs_err(m->img->msg, "nid %llu: %s 0x%x: not supported",
		  (unsigned long long)m->vi->nid, what, v);
	return -EOPNOTSUPP;
}

static bool zmap_has_extents(const struct erofs_inode_info *vi,
			     uint16_t advise)
{
	return vi->datalayout == EROFS_INODE_COMPRESSED_FULL &&
	       (advise & Z_EROFS_ADVISE_EXTENTS);
}

/*
 * Extent records: 4-byte ones (plen only) follow an 8-byte start address
 * and step one lcluster each, pclusters back to back; 8-byte ones add
 * each pcluster's start; 16- and 32-byte ones also say where each extent
 * starts and are looked up by it.
 */
static int zmap_init_extents(struct zmap *m, const struct z_erofs_map_header *h)
{
	struct erofs_image *img = m->img;
	uint64_t records;

	if (m->advise & ~ZMAP_EXTENT_ADVISE)
		return zmap_unsupported(m, "extent advise bits",
					m->advise & ~ZMAP_EXTENT_ADVISE);
	m->extents = true;
	m->recsz = 4 << ((m->advise >> Z_EROFS_ADVISE_EXTRECSZ_BIT) &
			 Z_EROFS_ADVISE_EXTRECSZ_MASK);
	m->ext_start = ROUND_UP(m->ebase, m->recsz);
	if (m->recsz >= 16) {
		m->nr_extents = le32_to_cpu(h->h_extents_lo) |
				(uint64_t)le16_to_cpu(h->h_extents_hi) << 32;
		/* every extent holds at least one byte */
		if (!m->nr_extents || m->nr_extents > m->vi->size)
			return erofs_corrupt(img, "nid %llu: %llu extents for %llu bytes",
					     (unsigned long long)m->vi->nid,
					     (unsigned long long)m->nr_extents,
					     (unsigned long long)m->vi->size);
		records = m->nr_extents;
	} else {
		records = m->total;
		if (m->recsz == 4)
			m->ext_start += 8;
	}
	m->index_end = m->ext_start + records * m->recsz;
	return 0;
}

/* the whole file in the packed inode: the header holds only where */
static int zmap_init_whole(struct zmap *m, const struct z_erofs_map_header *h)
{
	uint64_t raw;

	memcpy(&raw, h, sizeof(raw));
	m->fragment = m->whole = true;
	m->fragoff = le64_to_cpu(raw) ^ (1ULL << 63);
	return 0;
}

static int zmap_init(struct zmap *m, struct erofs_image *img,
		     const struct erofs_inode_info *vi)
{
	struct z_erofs_map_header h;
	uint64_t hpos = Z_EROFS_MAP_HEADER_START(vi->iend), lead, two;
	int err;

	err = erofs_meta_pread(img, vi->in_metabox, &h, sizeof(h), hpos);
	if (err)
		return err;
	memset(m, 0, sizeof(*m));
	m->img = img;
	m->vi = vi;
	m->advise = le16_to_cpu(h.h_advise);
	if (!(h.h_clusterbits >> Z_EROFS_FRAGMENT_INODE_BIT) &&
	    !zmap_has_extents(vi, m->advise) &&
	    (m->advise & ~ZMAP_LCLUSTER_ADVISE))
		return zmap_unsupported(m, "advise bits",
					m->advise & ~ZMAP_LCLUSTER_ADVISE);
	if (h.h_clusterbits >> Z_EROFS_FRAGMENT_INODE_BIT ||
	    (m->advise & Z_EROFS_ADVISE_FRAGMENT_PCLUSTER)) {
		/* reading the packed inode must not lead back into it */
		if (vi->nid == img->packed_nid)
			return erofs_corrupt(img, "nid %llu: the packed inode has a fragment of itself",
					     (unsigned long long)vi->nid);
		if (h.h_clusterbits >> Z_EROFS_FRAGMENT_INODE_BIT)
			return zmap_init_whole(m, &h);
		m->fragment = true;
		m->fragoff = le32_to_cpu(h.h_fragmentoff);
	}
	m->lbits = img->blkszbits + (h.h_clusterbits & 15);
	if (m->lbits > 30)
		return erofs_corrupt(img, "nid %llu: lcluster size 2^%u",
				     (unsigned long long)vi->nid, m->lbits);
	m->total = (vi->size + (1ULL << m->lbits) - 1) >> m->lbits;
	m->ebase = Z_EROFS_MAP_HEADER_END(vi->iend);
	if (zmap_has_extents(vi, m->advise))
		return zmap_init_extents(m, &h);
	m->algs[0] = h.h_algorithmtype & 15;
	m->algs[1] = h.h_algorithmtype >> 4;
	/* the kernel refuses the inode too: a newer format, or damage */
	if (m->algs[0] >= Z_EROFS_COMPRESSION_MAX ||
	    m->algs[1] >= Z_EROFS_COMPRESSION_MAX) {
		erofs_err(img->msg, "nid %llu: unknown compression algorithm %u",
			  (unsigned long long)vi->nid,
			  m->algs[m->algs[0] < Z_EROFS_COMPRESSION_MAX]);
		return -EOPNOTSUPP;
	}
	/* one field holds either; the kernel reads the fragment's */
	if ((m->advise & Z_EROFS_ADVISE_INLINE_PCLUSTER) && !m->fragment)
		m->idata_size = le16_to_cpu(h.h_idata_size);
	if (vi->datalayout == EROFS_INODE_COMPRESSED_FULL) {
		m->index_end = Z_EROFS_FULL_INDEX_START(vi->iend) +
			       m->total * sizeof(struct z_erofs_lcluster_index);
		return 0;
	}
	if (m->lbits > 14)
		return erofs_corrupt(img, "nid %llu: compacted indexes with 2^%u lclusters",
				     (unsigned long long)vi->nid, m->lbits);
	if ((m->advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1) !=
	    (m->advise & Z_EROFS_ADVISE_BIG_PCLUSTER_2) >> 1)
		return erofs_corrupt(img, "nid %llu: big pcluster advise bits disagree",
				     (unsigned long long)vi->nid);
	z_erofs_compact_split(m->advise & Z_EROFS_ADVISE_COMPACTED_2B,
			      m->total, m->ebase, &lead, &two);
	if (m->total <= lead)
		m->index_end = m->ebase + ROUND_UP(m->total, 2) * 4;
	else
		m->index_end = m->ebase + lead * 4 + two * 2 +
			       ROUND_UP(m->total - lead - two, 2) * 4;
	return 0;
}

static int load_full(struct zmap *m, uint64_t lcn, struct z_erofs_lcluster *l)
{
	struct z_erofs_lcluster_index di;
	uint64_t pos = Z_EROFS_FULL_INDEX_START(m->vi->iend) + lcn * sizeof(di);
	int err = erofs_meta_pread(m->img, m->vi->in_metabox, &di, sizeof(di),
				  pos);

	if (err)
		return err;
	memset(l, 0, sizeof(*l));
	l->type = le16_to_cpu(di.di_advise) & Z_EROFS_LI_LCLUSTER_TYPE_MASK;
	if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
		m->head_partial = le16_to_cpu(di.di_advise) &
				  Z_EROFS_LI_PARTIAL_REF;
		l->clusterofs = le16_to_cpu(di.di_clusterofs);
		l->blkaddr = le32_to_cpu(di.di_u.blkaddr);
		return 0;
	}
	l->delta[0] = le16_to_cpu(di.di_u.delta[0]);
	l->delta[1] = le16_to_cpu(di.di_u.delta[1]);
	if (l->delta[0] & Z_EROFS_LI_D0_CBLKCNT) {
		l->cblkcnt = true;
		l->cblks = l->delta[0] & ~Z_EROFS_LI_D0_CBLKCNT;
		l->delta[0] = 1;
	}
	return 0;
}

/* NONHEAD distances within a pack, as the last entry looks ahead */
static void compact_fill_deltas(struct z_erofs_lcluster *e, unsigned int vcnt,
				const unsigned int *lo)
{
	int i;

	for (i = vcnt - 1; i >= 0; i--) {
		if (e[i].type != Z_EROFS_LCLUSTER_TYPE_NONHEAD)
			continue;
		if (e[i].cblkcnt) {
			/* a reader looking ahead stops at the pack's end */
			e[i].delta[1] = i + 1 < (int)vcnt &&
				e[i + 1].type == Z_EROFS_LCLUSTER_TYPE_NONHEAD ?
				e[i + 1].delta[1] + 1 : 1;
		} else if (i == (int)vcnt - 1) {
			/* stores delta[1]; delta[0] follows from the one before */
			e[i].delta[1] = lo[i];
			e[i].delta[0] = e[i - 1].type !=
				Z_EROFS_LCLUSTER_TYPE_NONHEAD ? 1 :
				e[i - 1].cblkcnt ? 2 : lo[i - 1] + 1;
		} else {
			e[i].delta[0] = lo[i];
			e[i].delta[1] = e[i + 1].type ==
				Z_EROFS_LCLUSTER_TYPE_NONHEAD ?
				e[i + 1].delta[1] + 1 : 1;
		}
	}
}

static int load_compact(struct zmap *m, uint64_t lcn, struct z_erofs_lcluster *l)
{
	bool big = m->advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1;
	unsigned int lobits = MAX(m->lbits, 12U), vcnt, packbytes, encodebits;
	uint64_t lead, two, pos = m->ebase, first;
	struct z_erofs_lcluster e[16];
	unsigned int lo[16], i;
	uint8_t pack[32 + 4];
	uint32_t base;
	int err;

	z_erofs_compact_split(m->advise & Z_EROFS_ADVISE_COMPACTED_2B,
			      m->total, m->ebase, &lead, &two);
	if (lcn < lead) {
		vcnt = 2, packbytes = 8, first = lcn & ~1ULL;
		pos += first * 4;
	} else if (lcn < lead + two) {
		vcnt = 16, packbytes = 32;
		first = lead + (lcn - lead) / 16 * 16;
		pos += lead * 4 + (first - lead) * 2;
	} else {
		vcnt = 2, packbytes = 8;
		first = lead + two + (lcn - lead - two) / 2 * 2;
		pos += lead * 4 + two * 2 + (first - lead - two) * 4;
	}
	memset(pack, 0, sizeof(pack));
	err = erofs_meta_pread(m->img, m->vi->in_metabox, pack, packbytes,
			       pos);
	if (err)
		return err;
	encodebits = (packbytes - 4) * 8 / vcnt;
	memset(e, 0, sizeof(e));
	for (i = 0; i < vcnt; i++) {
		unsigned int bit = i * encodebits;
		uint32_t v = (pack[bit / 8] | pack[bit / 8 + 1] << 8 |
			      pack[bit / 8 + 2] << 16) >> (bit % 8);

		lo[i] = v & ((1U << lobits) - 1);
		e[i].type = (v >> lobits) & 3;
		if (e[i].type != Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
			e[i].clusterofs = lo[i];
		} else if (lo[i] & Z_EROFS_LI_D0_CBLKCNT) {
			if (!big)
				return erofs_corrupt(m->img, "nid %llu: block count in lcluster %llu without big pclusters",
						     (unsigned long long)m->vi->nid,
						     (unsigned long long)(first + i));
			e[i].cblkcnt = true;
			e[i].cblks = lo[i] & ~Z_EROFS_LI_D0_CBLKCNT;
			e[i].delta[0] = 1;
		}
	}
	compact_fill_deltas(e, vcnt, lo);
	i = lcn - first;
	*l = e[i];
	if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
		uint64_t walked = z_erofs_compact_walk(e, vcnt, i, big);

		if (walked == Z_EROFS_COMPACT_BAD)
			return erofs_corrupt(m->img, "nid %llu: a big pcluster's lcluster before %llu looks back by less than 2",
					     (unsigned long long)m->vi->nid,
					     (unsigned long long)lcn);
		memcpy(&base, pack + packbytes - 4, 4);
		l->blkaddr = le32_to_cpu(base) + walked;
	}
	return 0;
}

static int load(struct zmap *m, uint64_t lcn, struct z_erofs_lcluster *l)
{
	int err;

	if (lcn >= m->total)
		return erofs_corrupt(m->img, "nid %llu: lcluster %llu past the file's %llu",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)lcn,
				     (unsigned long long)m->total);
	err = m->vi->datalayout == EROFS_INODE_COMPRESSED_FULL ?
		load_full(m, lcn, l) : load_compact(m, lcn, l);
	if (err)
		return err;
	if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD &&
	    l->clusterofs >= (1U << m->lbits))
		return erofs_corrupt(m->img, "nid %llu: lcluster %llu starts at %u, past its end",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)lcn, l->clusterofs);
	if (l->type == Z_EROFS_LCLUSTER_TYPE_NONHEAD &&
	    (!l->delta[0] || !l->delta[1]))
		return erofs_corrupt(m->img, "nid %llu: lcluster %llu has a zero distance",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)lcn);
	return 0;
}

/* the HEAD whose extent covers NONHEAD @lcn */
static int lookback(struct zmap *m, uint64_t *lcn, struct z_erofs_lcluster *l)
{
	uint64_t steps;
	int err;

	for (steps = 0; steps <= m->total; steps++) {
		if (l->type != Z_EROFS_LCLUSTER_TYPE_NONHEAD)
			return 0;
		if (l->delta[0] > *lcn)
			break;
		*lcn -= l->delta[0];
		err = load(m, *lcn, l);
		if (err)
			return err;
	}
	return erofs_corrupt(m->img, "nid %llu: lcluster %llu points back before the file",
			     (unsigned long long)m->vi->nid,
			     (unsigned long long)*lcn);
}

/* where the extent with its HEAD at @head ends: the next HEAD, or EOF */
static int extent_end(struct zmap *m, uint64_t head, uint64_t *end)
{
	struct z_erofs_lcluster l;
	uint64_t lcn = head + 1;
	int err;

	while (lcn < m->total) {
		err = load(m, lcn, &l);
		if (err)
			return err;
		if (l.type != Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
			*end = (lcn << m->lbits) | l.clusterofs;
			return 0;
		}
		lcn += l.delta[1];	/* at least 1: the walk ends */
	}
	*end = m->vi->size;
	return 0;
}

static int pcluster_blocks(struct zmap *m, uint64_t head, uint8_t type,
			   uint32_t *cblks)
{
	bool big = m->advise & (type == Z_EROFS_LCLUSTER_TYPE_HEAD1 ?
				Z_EROFS_ADVISE_BIG_PCLUSTER_1 :
				Z_EROFS_ADVISE_BIG_PCLUSTER_2);
	struct z_erofs_lcluster l;
	int err;

	*cblks = 1;
	if (!big || head + 1 >= m->total)
		return 0;
	err = load(m, head + 1, &l);
	if (err)
		return err;
	if (l.type != Z_EROFS_LCLUSTER_TYPE_NONHEAD)
		return 0;
	if (l.delta[0] != 1)
		return erofs_corrupt(m->img, "nid %llu: lcluster %llu lacks its pcluster's block count",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)(head + 1));
	if (l.cblkcnt)
		*cblks = l.cblks;
	if (!*cblks || ((uint64_t)*cblks << m->img->blkszbits) >
		       Z_EROFS_PCLUSTER_MAX_SIZE)
		return erofs_corrupt(m->img, "nid %llu: pcluster of %u blocks",
				     (unsigned long long)m->vi->nid, *cblks);
	return 0;
}

/* [map->la, EOF) is at @fragoff of the packed inode, which must hold it */
static int fill_fragment(struct zmap *m, uint64_t fragoff,
			 struct erofs_map *map)
{
	const struct erofs_inode_info *packed;
	int err = erofs_packed_inode(m->img, &packed);

	if (err)
		return err;
	map->llen = m->vi->size - map->la;
	map->pa = fragoff;
	map->plen = map->llen;
	map->device = 0;
	map->flags = EROFS_MAP_MAPPED | EROFS_MAP_FRAGMENT;
	if (fragoff > packed->size || map->llen > packed->size - fragoff)
		return erofs_corrupt(m->img, "nid %llu: fragment of %llu bytes at %llu runs past the packed inode's %llu",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->llen,
				     (unsigned long long)fragoff,
				     (unsigned long long)packed->size);
	return 0;
}

/* the algorithm must be one the superblock announces, as the kernel asks */
static int check_algorithm(struct zmap *m, const struct erofs_map *map)
{
	struct erofs_image *img = m->img;
	unsigned int avail = 1U << Z_EROFS_COMPRESSION_LZ4;

	if (map->algorithm == Z_EROFS_COMPRESSION_MAX)
		return 0;
	if (map->algorithm > Z_EROFS_COMPRESSION_MAX)
		return zmap_unsupported(m, "compression algorithm",
					map->algorithm);
	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS)
		avail = img->available_compr_algs;
	if (!(avail & (1U << map->algorithm)))
		return erofs_corrupt(img, "nid %llu: extent at %llu uses %s, which the superblock does not announce (algorithms 0x%x)",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->la,
				     erofs_algorithm_name(map->algorithm),
				     avail);
	return 0;
}

/*
 * The checks every mapped pcluster gets, whichever index found it: on a
 * device and inside it, sizes within the format's limits, and a stored
 * pcluster at least as long as its extent.
 */
static int check_pcluster(struct zmap *m, struct erofs_map *map)
{
	struct erofs_image *img = m->img;
	uint64_t limit;
	int err;

	if (!(map->flags & EROFS_MAP_META)) {
		/* pclusters of a bootstrap may live in a blob, as chunks do */
		err = erofs_map_device(img, m->vi, map);
		if (err)
			return err;
	}
	/* an inline pcluster in the metabox is bounded by the metabox read */
	if ((map->flags & EROFS_MAP_META) && m->vi->in_metabox)
		limit = UINT64_MAX;
	else
		limit = img->devs[map->device].fd >= 0 ?
			erofs_dev_size(img, map->device) :
			erofs_pos(img, img->devs[map->device].blocks);
	if (map->pa + map->plen > limit || map->pa + map->plen < map->pa)
		return erofs_corrupt(img, "nid %llu: pcluster at %llu+%llu past the end of device %u",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->pa,
				     (unsigned long long)map->plen, map->device);
	if (map->plen > Z_EROFS_PCLUSTER_MAX_SIZE)
		return erofs_corrupt(img, "nid %llu: pcluster of %llu bytes at %llu",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->plen,
				     (unsigned long long)map->la);
	if (map->llen > Z_EROFS_PCLUSTER_MAX_DSIZE)
		return erofs_corrupt(img, "nid %llu: extent at %llu decompresses to %llu bytes",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->la,
				     (unsigned long long)map->llen);
	if (map->algorithm == Z_EROFS_COMPRESSION_MAX &&
	    map->llen > map->plen)
		return erofs_corrupt(img, "nid %llu: stored extent at %llu longer than its pcluster",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->la);
	return check_algorithm(m, map);
}

static int fill_map(struct zmap *m, uint64_t head,
		    const struct z_erofs_lcluster *h, struct erofs_map *map)
{
	struct erofs_image *img = m->img;
	uint64_t end;
	uint32_t cblks;
	int err;

	map->la = (head << m->lbits) | h->clusterofs;
	err = extent_end(m, head, &end);
	if (err)
		return err;
	end = MIN(end, m->vi->size);
	if (end <= map->la)
		return erofs_corrupt(img, "nid %llu: empty extent at %llu",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)map->la);
	map->llen = end - map->la;
	if (m->fragment && end == m->vi->size) {
		/* the kernel takes a fragment's extent type from its head */
		if (h->type == Z_EROFS_LCLUSTER_TYPE_PLAIN)
			return erofs_corrupt(img, "nid %llu: the fragment's lcluster %llu is a stored (PLAIN) one",
					     (unsigned long long)m->vi->nid,
					     (unsigned long long)head);
		/* full indexes keep the offset's high bits in the head */
		return fill_fragment(m, m->fragoff |
				     (m->vi->datalayout ==
				      EROFS_INODE_COMPRESSED_FULL ?
				      h->blkaddr << 32 : 0), map);
	}
	map->device = 0;
	map->flags = EROFS_MAP_MAPPED | EROFS_MAP_ENCODED |
		     EROFS_MAP_FULL_MAPPED;
	if (m->extent_partial)
		map->flags |= EROFS_MAP_PARTIAL_REF;
	map->algorithm = h->type == Z_EROFS_LCLUSTER_TYPE_PLAIN ?
		Z_EROFS_COMPRESSION_MAX :
		m->algs[h->type == Z_EROFS_LCLUSTER_TYPE_HEAD2];
	if (m->idata_size && end == m->vi->size) {
		/* ztailpacking: the last pcluster follows the indexes */
		map->flags |= EROFS_MAP_META;
		map->pa = m->index_end;
		map->plen = m->idata_size;
	} else {
		err = pcluster_blocks(m, head, h->type, &cblks);
		if (err)
			return err;
		map->pa = erofs_pos(img, h->blkaddr);
		map->plen = (uint64_t)cblks << img->blkszbits;
		/* an inline pcluster is never interlaced, as in the kernel */
		if (h->type == Z_EROFS_LCLUSTER_TYPE_PLAIN &&
		    (m->advise & Z_EROFS_ADVISE_INTERLACED_PCLUSTER))
			map->flags |= EROFS_MAP_INTERLACED;
	}
	return check_pcluster(m, map);
}

/* --- extent records --- */

static int ext_read(struct zmap *m, uint64_t idx, struct z_erofs_extent *e)
{
	memset(e, 0, sizeof(*e));
	return erofs_meta_pread(m->img, m->vi->in_metabox, e, m->recsz,
				m->ext_start + idx * m->recsz);
}

static uint64_t ext_lstart(const struct zmap *m, const struct z_erofs_extent *e)
{
	return le32_to_cpu(e->lstart_lo) |
	       (m->recsz >= 32 ? (uint64_t)le32_to_cpu(e->lstart_hi) << 32 : 0);
}

/*
 * 4-byte records: pcluster @idx starts where the ones before it end.
 * The sum is remembered per image so that reading a file front to back
 * walks its records once.
 */
static int ext_sum_pa(struct zmap *m, uint64_t idx, uint64_t *pa)
{
	struct z_erofs_bufs *zb = &m->img->zbuf;
	struct z_erofs_extent e;
	uint64_t i = 0;
	__le64 base;
	int err;

	if (zb->ext_valid && zb->ext_nid == m->vi->nid && zb->ext_idx <= idx) {
		i = zb->ext_idx;
		*pa = zb->ext_pa;
	} else {
		err = erofs_meta_pread(m->img, m->vi->in_metabox, &base,
				       sizeof(base), m->ext_start - sizeof(base));
		if (err)
			return err;
		*pa = le64_to_cpu(base);
	}
	for (; i < idx; i++) {
		err = ext_read(m, i, &e);
		if (err)
			return err;
		*pa += le32_to_cpu(e.plen) & Z_EROFS_EXTENT_PLEN_MASK;
	}
	zb->ext_valid = true;
	zb->ext_nid = m->vi->nid;
	zb->ext_idx = idx;
	zb->ext_pa = *pa;
	return 0;
}

/*
 * Which record covers @offset: fixed-step records by division, the
 * others by a binary search for the last extent starting at or before
 * it.  Sets [*lstart, *lend) and the record; *idx is nr_extents (no
 * record) for a hole before the first extent.
 */
static int ext_find(struct zmap *m, uint64_t offset, uint64_t *idx,
		    struct z_erofs_extent *e, uint64_t *lstart, uint64_t *lend)
{
	uint64_t lo = 0, hi = m->nr_extents, mid, la;
	struct z_erofs_extent next;
	int err;

	if (m->recsz < 16) {
		*idx = offset >> m->lbits;
		*lstart = *idx << m->lbits;
		*lend = MIN(*lstart + (1ULL << m->lbits), m->vi->size);
		return ext_read(m, *idx, e);
	}
	while (lo < hi) {	/* at most 48 steps */
		mid = lo + (hi - lo) / 2;
		err = ext_read(m, mid, &next);
		if (err)
			return err;
		if (ext_lstart(m, &next) <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	*lend = m->vi->size;
	if (lo < m->nr_extents) {
		err = ext_read(m, lo, &next);
		if (err)
			return err;
		*lend = ext_lstart(m, &next);
	}
	if (!lo) {
		*idx = m->nr_extents;
		*lstart = 0;
		return 0;
	}
	*idx = lo - 1;
	err = ext_read(m, *idx, e);
	if (err)
		return err;
	la = ext_lstart(m, e);
	*lstart = la;
	if (*lend > m->vi->size || *lend <= offset || la > offset)
		return erofs_corrupt(m->img, "nid %llu: extent record %llu (from %llu) is out of order or past the file's end",
				     (unsigned long long)m->vi->nid,
				     (unsigned long long)*idx,
				     (unsigned long long)la);
	return 0;
}

static int map_extents(struct zmap *m, uint64_t offset, struct erofs_map *map)
{
	uint64_t idx, lend, pa, bmask = m->img->blksz - 1;
	struct z_erofs_extent e;
	unsigned int fmt;
	uint32_t plen;
	bool last;
	int err;

	err = ext_find(m, offset, &idx, &e, &map->la, &lend);
	if (err)
		return err;
	map->llen = lend - map->la;
	if (idx == m->nr_extents && m->recsz >= 16)
		return 0;	/* a hole before the first extent */
	last = m->recsz >= 16 ? idx + 1 == m->nr_extents :
				idx + 1 == m->total;
	plen = le32_to_cpu(e.plen);
	if (m->recsz == 4)
		err = ext_sum_pa(m, idx, &pa);
	else
		pa = le32_to_cpu(e.pstart_lo) | (m->recsz >= 16 ?
			(uint64_t)le32_to_cpu(e.pstart_hi) << 32 : 0);
	if (err)
		return err;
	if (last && m->fragment)
		return fill_fragment(m, plen | (m->recsz > 4 ? pa << 32 : 0),
				     map);
	if (!(plen & Z_EROFS_EXTENT_PLEN_MASK))
		return 0;	/* unmapped: reads as zeros */
	fmt = plen >> Z_EROFS_EXTENT_PLEN_FMT_BIT;
	if (plen & ~(Z_EROFS_EXTENT_PLEN_MASK | Z_EROFS_EXTENT_PLEN_PARTIAL |
		     ~0U << Z_EROFS_EXTENT_PLEN_FMT_BIT))
		return zmap_unsupported(m, "extent plen bits", plen);
	map->flags = EROFS_MAP_MAPPED | EROFS_MAP_ENCODED |
		     EROFS_MAP_FULL_MAPPED;
	if (plen & Z_EROFS_EXTENT_PLEN_PARTIAL)
		map->flags |= EROFS_MAP_PARTIAL_REF;
	map->pa = pa;
	map->plen = plen & Z_EROFS_EXTENT_PLEN_MASK;
	map->device = 0;
	map->algorithm = fmt ? fmt - 1 : Z_EROFS_COMPRESSION_MAX;
	/* only whole blocks are stored interlaced, as the kernel reads them */
	if (!fmt && (m->advise & Z_EROFS_ADVISE_INTERLACED_PCLUSTER) &&
	    !((map->pa | map->plen) & bmask))
		map->flags |= EROFS_MAP_INTERLACED;
	return check_pcluster(m, map);
}

int z_erofs_map_blocks(struct erofs_image *img,
		       const struct erofs_inode_info *vi, uint64_t offset,
		       struct erofs_map *map)
{
	struct z_erofs_lcluster l;
	struct zmap m;
	uint64_t lcn;
	int err;

	err = zmap_init(&m, img, vi);
	if (err)
		return err;
	if (m.whole) {
		map->la = 0;
		return fill_fragment(&m, m.fragoff, map);
	}
	if (m.extents)
		return map_extents(&m, offset, map);
	lcn = offset >> m.lbits;
	err = load(&m, lcn, &l);
	if (err)
		return err;
	if (l.type != Z_EROFS_LCLUSTER_TYPE_NONHEAD &&
	    (offset & ((1ULL << m.lbits) - 1)) < l.clusterofs) {
		/* the bytes before this HEAD belong to the extent before */
		if (!lcn)
			return erofs_corrupt(img, "nid %llu: lcluster 0 does not start at 0",
					     (unsigned long long)vi->nid);
		err = load(&m, --lcn, &l);
	}
	if (!err)
		err = lookback(&m, &lcn, &l);
	/* before loads past the head (the extent's end) overwrite it */
	m.extent_partial = m.head_partial;
	if (!err)
		err = fill_map(&m, lcn, &l, map);
	return err;
}

int z_erofs_meta_end(struct erofs_image *img,
		     const struct erofs_inode_info *vi, uint64_t *end)
{
	struct zmap m;
	int err = zmap_init(&m, img, vi);

	if (err)
		return err;
	*end = m.whole ? Z_EROFS_MAP_HEADER_END(vi->iend) :
			 m.index_end + m.idata_size;
	return 0;
}
