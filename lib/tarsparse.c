// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GNU sparse files in a tar stream.  The archive holds only the data
 * stretches of the file, one after the other; a map says where each goes
 * and how large the file is.  The map comes in an old GNU 'S' header (and
 * its extension blocks), in PAX records (format 0.0: offset and numbytes
 * pairs; 0.1: one comma-separated list) or, in format 1.0, as decimal
 * lines opening the entry's data.  The file is rebuilt in the spool with
 * its holes left as holes, and stored like any other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tar_priv.h"

#define SPARSE_MAX_SEGS		(1U << 20)
#define GNU_SPARSE_OFFSET	386	/* 4 entries in the 'S' header */
#define GNU_SPARSE_HDR_ENTRIES	4
#define GNU_ISEXTENDED_OFFSET	482
#define GNU_REALSIZE_OFFSET	483
#define GNU_EXT_ENTRIES		21	/* per extension block */

void tar_sparse_reset(struct tar_sparse *sp)
{
	free(sp->segs);
	free(sp->name);
	memset(sp, 0, sizeof(*sp));
}

static int add_seg(struct tar_sparse *sp, uint64_t off, uint64_t len)
{
	if (sp->nr_segs == sp->cap_segs) {
		unsigned int cap = sp->cap_segs ? sp->cap_segs * 2 : 16;
		struct tar_seg *s;

		if (cap > SPARSE_MAX_SEGS)
			return -E2BIG;
		s = realloc(sp->segs, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		sp->segs = s;
		sp->cap_segs = cap;
	}
	sp->segs[sp->nr_segs++] = (struct tar_seg){ off, len };
	return 0;
}

static int parse_u64(const char *v, size_t vlen, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (!vlen)
		return -EINVAL;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* 0.1: "offset,numbytes,offset,numbytes..." */
static int parse_map(struct tar_sparse *sp, const char *v, size_t vlen)
{
	uint64_t nums[2];
	unsigned int k = 0;
	size_t start = 0, i;
	int err;

	for (i = 0; i <= vlen; i++) {
		if (i < vlen && v[i] != ',')
			continue;
		err = parse_u64(v + start, i - start, &nums[k]);
		if (err)
			return err;
		if (++k == 2) {
			err = add_seg(sp, nums[0], nums[1]);
			if (err)
				return err;
			k = 0;
		}
		start = i + 1;
	}
	return k ? -EINVAL : 0;
}

int tar_sparse_record(struct tar_sparse *sp, const char *key, const char *v,
		      size_t vlen)
{
	uint64_t x;
	int err;

	sp->on = true;
	if (!strcmp(key, "name")) {
		free(sp->name);
		sp->name = strndup(v, vlen);
		return sp->name ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "map"))
		return parse_map(sp, v, vlen);
	if (!strcmp(key, "numblocks") || !strcmp(key, "minor"))
		return parse_u64(v, vlen, &x);
	err = parse_u64(v, vlen, &x);
	if (err)
		return err;
	if (!strcmp(key, "major")) {
		if (x > 1)
			return -EOPNOTSUPP;
		sp->major = x;
	} else if (!strcmp(key, "size") || !strcmp(key, "realsize")) {
		sp->realsize = x;
		sp->has_realsize = true;
	} else if (!strcmp(key, "offset")) {
		if (sp->len_pending)
			return -EINVAL;
		sp->len_pending = true;
		return add_seg(sp, x, 0);
	} else if (!strcmp(key, "numbytes")) {
		if (!sp->len_pending)
			return -EINVAL;
		sp->len_pending = false;
		sp->segs[sp->nr_segs - 1].len = x;
	}
	return 0;
}

/* @n entries of 12-byte offset and numbytes; an empty offset ends them */
static int gnu_entries(struct tar_sparse *sp, const uint8_t *p, unsigned int n)
{
	int64_t off, len;
	unsigned int i;
	int err;

	for (i = 0; i < n; i++, p += 24) {
		if (!p[0])
			break;
		if (tar_parse_number((const char *)p, 12, false, &off) ||
		    tar_parse_number((const char *)p + 12, 12, false, &len))
			return -EINVAL;
		err = add_seg(sp, off, len);
		if (err)
			return err;
	}
	return 0;
}

int tar_sparse_gnu_header(struct tar_reader *r, const uint8_t *blk)
{
	struct tar_sparse *sp = &r->ext.sparse;
	uint8_t ext[TAR_BLOCK];
	bool more = blk[GNU_ISEXTENDED_OFFSET];
	int64_t realsize;
	int err;

	sp->on = true;
	if (tar_parse_number((const char *)blk + GNU_REALSIZE_OFFSET, 12, false,
			     &realsize))
		return tar_bad_entry(r, -EINVAL, "bad GNU sparse real size");
	sp->realsize = realsize;
	sp->has_realsize = true;
	err = gnu_entries(sp, blk + GNU_SPARSE_OFFSET, GNU_SPARSE_HDR_ENTRIES);
	while (!err && more) {
		err = tar_read_exact(r, ext, sizeof(ext), "sparse map");
		if (err)
			return err;
		err = gnu_entries(sp, ext, GNU_EXT_ENTRIES);
		more = ext[GNU_EXT_ENTRIES * 24];
	}
	if (err == -E2BIG)
		return tar_bad_entry(r, err, "GNU sparse map too long");
	return err ? tar_bad_entry(r, err, "bad GNU sparse map") : 0;
}

/* 1.0: "count\n" then "offset\nnumbytes\n" pairs, padded to a block */
static int read_v1_map(struct tar_reader *r, uint64_t *used)
{
	struct tar_sparse *sp = &r->ext.sparse;
	uint64_t count = 0, nums[2], val = 0, want = 1, got = 0;
	uint8_t blk[TAR_BLOCK];
	bool digits = false;
	unsigned int i;
	int err;

	*used = 0;
	while (got < want) {
		err = tar_read_exact(r, blk, sizeof(blk), "sparse map");
		if (err)
			return err;
		*used += sizeof(blk);
		for (i = 0; i < sizeof(blk) && got < want; i++) {
			if (blk[i] >= '0' && blk[i] <= '9' &&
			    val <= (UINT64_MAX - 9) / 10) {
				val = val * 10 + (blk[i] - '0');
				digits = true;
				continue;
			}
			if (blk[i] != '\n' || !digits)
				return tar_bad_entry(r, -EINVAL, "bad GNU sparse map");
			if (!got) {
				count = val;
				if (count > SPARSE_MAX_SEGS)
					return tar_bad_entry(r, -E2BIG,
							     "GNU sparse map too long");
				want = 1 + 2 * count;
			} else {
				nums[(got - 1) & 1] = val;
				if (!((got - 1) & 1))
					goto next;
				err = add_seg(sp, nums[0], nums[1]);
				if (err)
					return err;
			}
next:
			got++;
			val = 0;
			digits = false;
		}
	}
	return 0;
}

/* in order, apart, within the file, and exactly what the archive holds */
static int check_map(struct tar_reader *r, uint64_t stored)
{
	const struct tar_sparse *sp = &r->ext.sparse;
	uint64_t end = 0, total = 0;
	unsigned int i;

	if (!sp->has_realsize || sp->len_pending)
		return tar_bad_entry(r, -EINVAL, "GNU sparse file without its size");
	for (i = 0; i < sp->nr_segs; i++) {
		const struct tar_seg *s = &sp->segs[i];

		if (s->off < end || s->len > sp->realsize ||
		    s->off > sp->realsize - s->len)
			return tar_bad_entry(r, -EINVAL,
					     "GNU sparse map out of order or past the file's end");
		end = s->off + s->len;
		total += s->len;
	}
	if (total != stored)
		return tar_bad_entry(r, -EINVAL,
				     "GNU sparse map does not match the data stored");
	return 0;
}

int tar_sparse_take(struct tar_reader *r, struct erofs_node *n,
		    struct tar_entry *te)
{
	struct tar_sparse *sp = &r->ext.sparse;
	uint64_t used = 0, base;
	unsigned int i;
	int err;

	if (r->o->tar_mode != EROFS_TAR_FULL)
		return tar_bad_entry(r, -EOPNOTSUPP,
				     "GNU sparse files need --tar=f (their data is not in one piece)");
	te->consumed = true;
	if (sp->major == 1) {
		err = read_v1_map(r, &used);
		if (err)
			return err;
		if (used > te->size)
			return tar_bad_entry(r, -EINVAL,
					     "GNU sparse map larger than the entry");
	}
	err = check_map(r, te->size - used);
	if (err)
		return err;
	base = r->spool_size;
	for (i = 0; i < sp->nr_segs && !err; i++)
		err = tar_spool_copy(r, base + sp->segs[i].off,
				     sp->segs[i].len);
	if (err)
		return err;
	/* a hole at the end must read as zeros, not as the spool's end */
	if (sp->realsize && ftruncate(r->spool_fd, base + sp->realsize)) {
		err = -errno;
		return tar_bad_entry(r, err, "cannot extend the spool file");
	}
	n->tar_data = EROFS_TAR_DATA_SPOOL;
	n->data_off = base;
	r->spool_size = base + sp->realsize;
	return 0;
}
