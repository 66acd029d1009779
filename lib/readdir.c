// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory iteration.  A directory block is an array of dirents followed
 * by their names; the first dirent's nameoff says how many there are, a
 * name runs to the next one's nameoff, and the block's last name runs to
 * the block's (or the directory's) end, NUL-padded.  Every block is read
 * through the file map, so inline tails and any layout work alike.  A nid
 * with bit 63 set names an inode in the metabox; it is passed on as is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/reader.h"

#define DIRENT_SIZE	sizeof(struct erofs_dirent)

struct dir_walk {
	struct erofs_image *img;
	const struct erofs_inode_info *dir;
	uint64_t parent_nid;
	erofs_dirent_fn fn;
	void *arg;
	uint64_t dbstart;		/* the block being parsed */
	char prev[EROFS_NAME_LEN];	/* for the order across blocks */
	unsigned int prev_len;
	bool seen_dot, seen_dotdot;
};

static int dir_corrupt(struct dir_walk *w, unsigned int i, const char *what)
{
	return erofs_corrupt(w->img, "nid %llu: directory block at byte %llu, dirent %u: %s",
			     (unsigned long long)w->dir->nid,
			     (unsigned long long)w->dbstart, i, what);
}

static int name_cmp(const char *a, unsigned int alen, const char *b,
		    unsigned int blen)
{
	int ret = memcmp(a, b, MIN(alen, blen));

	if (ret)
		return ret;
	return alen < blen ? -1 : alen > blen;
}

/* "." and ".." must name this directory and its parent */
static int check_dots(struct dir_walk *w, unsigned int i, const char *name,
		      unsigned int len, uint64_t nid, unsigned int ftype)
{
	bool dot = len == 1 && name[0] == '.';
	bool dotdot = len == 2 && name[0] == '.' && name[1] == '.';
	char what[160];

	if (!dot && !dotdot)
		return 0;
	if (ftype != EROFS_FT_DIR)
		return dir_corrupt(w, i, "\".\" or \"..\" is not typed a directory");
	if (dot && w->dir->dot_omitted)
		return dir_corrupt(w, i, "\".\" in a directory marked as omitting it");
	if (dot && nid != w->dir->nid) {
		snprintf(what, sizeof(what), "\".\" points to nid %llu, not to the directory itself",
			 (unsigned long long)nid);
		return dir_corrupt(w, i, what);
	}
	if (dotdot && w->parent_nid != EROFS_NID_UNKNOWN &&
	    nid != w->parent_nid) {
		snprintf(what, sizeof(what), "\"..\" points to nid %llu, the parent is nid %llu",
			 (unsigned long long)nid,
			 (unsigned long long)w->parent_nid);
		return dir_corrupt(w, i, what);
	}
	if (dot)
		w->seen_dot = true;
	else
		w->seen_dotdot = true;
	return 0;
}

static int check_name(struct dir_walk *w, unsigned int i, const char *name,
		      unsigned int len)
{
	if (!len || len > EROFS_NAME_LEN)
		return dir_corrupt(w, i, "name length is not 1..255");
	if (memchr(name, '/', len))
		return dir_corrupt(w, i, "name contains '/'");
	if (memchr(name, '\0', len))
		return dir_corrupt(w, i, "name contains a NUL byte");
	if (w->prev_len && name_cmp(w->prev, w->prev_len, name, len) >= 0)
		return dir_corrupt(w, i, "names are not in strictly increasing order");
	memcpy(w->prev, name, len);
	w->prev_len = len;
	return 0;
}

/* the last name of a block: up to the first NUL, the rest all NULs */
static int last_name_len(struct dir_walk *w, unsigned int i,
			 const uint8_t *blk, unsigned int nameoff,
			 unsigned int maxsize, unsigned int *len)
{
	const uint8_t *nul = memchr(blk + nameoff, '\0', maxsize - nameoff);
	unsigned int j;

	*len = nul ? (unsigned int)(nul - blk) - nameoff : maxsize - nameoff;
	for (j = nameoff + *len; j < maxsize; j++)
		if (blk[j])
			return dir_corrupt(w, i, "non-NUL bytes after the NUL ending the block's last name");
	return 0;
}

static int parse_block(struct dir_walk *w, const uint8_t *blk,
		       unsigned int maxsize)
{
	const struct erofs_dirent *de = (const void *)blk;
	unsigned int nameoff0, count, i, nameoff, next, len;
	int err;

	if (maxsize < DIRENT_SIZE + 1)
		return dir_corrupt(w, 0, "block too short for a dirent");
	nameoff0 = le16_to_cpu(de[0].nameoff);
	if (!nameoff0 || nameoff0 % DIRENT_SIZE || nameoff0 >= maxsize)
		return dir_corrupt(w, 0, "first nameoff is not a multiple of 12 inside the block");
	count = nameoff0 / DIRENT_SIZE;
	for (i = 0; i < count; i++) {
		const char *name;
		uint64_t nid = le64_to_cpu(de[i].nid);
		unsigned int ftype = de[i].file_type;

		nameoff = le16_to_cpu(de[i].nameoff);
		if (i + 1 < count) {
			next = le16_to_cpu(de[i + 1].nameoff);
			if (next <= nameoff || next > maxsize)
				return dir_corrupt(w, i, "nameoffs not increasing inside the block");
			len = next - nameoff;
		} else {
			err = last_name_len(w, i, blk, nameoff, maxsize, &len);
			if (err)
				return err;
		}
		if (ftype >= EROFS_FT_MAX)
			return dir_corrupt(w, i, "file type >= 8");
		name = (const char *)blk + nameoff;
		err = check_name(w, i, name, len);
		if (!err)
			err = check_dots(w, i, name, len, nid, ftype);
		if (!err)
			err = w->fn(w->arg, name, len, nid, ftype);
		if (err)
			return err;
	}
	return 0;
}

int erofs_iterate_dir(struct erofs_image *img,
		      const struct erofs_inode_info *dir, uint64_t parent_nid,
		      erofs_dirent_fn fn, void *arg)
{
	struct dir_walk w = {
		.img = img, .dir = dir, .parent_nid = parent_nid,
		.fn = fn, .arg = arg,
	};
	uint8_t *blk = malloc(img->blksz);
	ssize_t got;
	int err = 0;

	if (!blk)
		return -ENOMEM;
	for (; w.dbstart < dir->size; w.dbstart += img->blksz) {
		unsigned int maxsize = MIN(dir->size - w.dbstart, img->blksz);

		got = erofs_pread_file(img, dir, blk, maxsize, w.dbstart);
		if (got < 0) {
			err = got;
			break;
		}
		err = parse_block(&w, blk, maxsize);
		if (err)
			break;
	}
	free(blk);
	/* dot-omitted directories (i_format bit 4) have no "." */
	if (!err && ((!w.seen_dot && !dir->dot_omitted) || !w.seen_dotdot))
		err = erofs_corrupt(img, "nid %llu: directory lacks \"%s\"",
				    (unsigned long long)dir->nid,
				    w.seen_dotdot ? "." : "..");
	return err;
}
