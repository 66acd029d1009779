// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The whole-image check: a depth-first walk from the root that visits
 * every inode once.  A problem in one inode is reported with the path it
 * was reached by and the walk goes on with its siblings, so one run lists
 * every problem; only operational failures (memory, I/O, extraction) stop
 * it.  Cycles cannot loop: a directory is entered at most once, and the
 * depth is bounded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/annex.h"
#include "erofs/digest_table.h"
#include "erofs/check.h"
#include "erofs/extract.h"
#include "erofs/features.h"
#include "erofs/tree.h"
#include "check_priv.h"

enum {
	CLAIM_META,		/* inode, inline xattrs and tail, indexes */
	CLAIM_DATA,		/* flat data blocks: owned by one inode */
	CLAIM_CHUNK,		/* chunk data: dedupe may share it */
	CLAIM_SUPER,		/* superblock and device table */
	CLAIM_PCLUSTER,		/* compressed data: dedupe may share it */
	CLAIM_NONE,		/* mapped to be read, nothing claimed */
};

struct erofs_seen_inode {
	uint64_t nid;
	uint32_t nlink;		/* as stored */
	uint32_t refs;		/* names found */
	bool is_dir;
	char *first_path;	/* for hard links and messages */
};

/* --- problems --- */

/*
 * "PLACE: TEXT", the place being @path, else the image as a whole;
 * messages about the superblock or the image say so themselves.
 */
void check_place(const char *path, bool walking, const char *text,
		 char *line, size_t size)
{
	const char *place = *path ? path : walking ? "/" : "image";

	if (!*path && !walking &&
	    (!strncmp(text, "superblock", 10) || !strncmp(text, "image", 5)))
		snprintf(line, size, "%s", text);
	else
		snprintf(line, size, "%s: %s", place, text);
}

void check_emit(struct erofs_check *chk, enum check_level level,
		const char *line)
{
	/* after an operational error the walk stops: so do its reports */
	if (chk->fatal)
		return;
	if (level == CHECK_ERROR)
		chk->stats.errors++;
	else if (level == CHECK_WARN)
		chk->stats.warnings++;
	if (!chk->opts.quiet) {
		erofs_progress_done(&chk->progress);
		if (level == CHECK_ERROR)
			erofs_err(chk->msg, "%s", line);
		else
			erofs_warn(chk->msg, "%s", line);
	}
	if (level == CHECK_ERROR && chk->nr_problems < EROFS_CHECK_MAX_LISTED) {
		char *copy = strdup(line);

		if (copy)
			chk->problems[chk->nr_problems++] = copy;
	}
}

/* said now, or after the file data still being read, in walk order */
static void report_at(struct erofs_check *chk, const char *path,
		      bool walking, enum check_level level, const char *text)
{
	char line[1400];

	check_place(path, walking, text, line, sizeof(line));
	if (!check_par_defer(chk, level, line))
		check_emit(chk, level, line);
}

static void report_hook(void *arg, const char *text)
{
	struct erofs_check *chk = arg;

	report_at(chk, chk->path, chk->walking, CHECK_ERROR, text);
}

void erofs_check_problem(struct erofs_check *chk, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	report_at(chk, chk->path, chk->walking, CHECK_ERROR, text);
}

static void warn_at(struct erofs_check *chk, const char *path, bool walking,
		    const char *fmt, ...) EROFS_PRINTF(4, 5);

static void warn_at(struct erofs_check *chk, const char *path, bool walking,
		    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	report_at(chk, path, walking, CHECK_WARN, text);
}

#define check_warn(chk, ...) \
	warn_at(chk, (chk)->path, (chk)->walking, __VA_ARGS__)

/*
 * Errors that stop the walk: anything that is not a problem of the image
 * (those are reported and counted where they are found).  @path is where
 * @err happened; @missing_dev the device a read found missing.
 */
static int walk_error_at(struct erofs_check *chk, const char *path,
			 bool walking, int err, unsigned int missing_dev)
{
	if (err == -EFSCORRUPTED)
		return 0;
	if (err == -ENODEV) {
		const struct erofs_device *dev = &chk->img->devs[missing_dev];

		erofs_image_note_missing(chk->img, missing_dev);
		chk->stats.unsupported++;
		chk->stats.unavailable++;
		warn_at(chk, path, walking, "device %u (tag \"%.64s\") not available: data not checked",
			missing_dev, (const char *)dev->tag);
		return 0;
	}
	if (err == -EOPNOTSUPP) {
		char text[1400];

		chk->stats.unsupported++;
		snprintf(text, sizeof(text), "%s: not fully checked: it uses a feature not supported yet",
			 *path ? path : "/");
		if (!check_par_defer(chk, CHECK_NOTE, text))
			check_emit(chk, CHECK_NOTE, text);
		return 0;
	}
	if (err < 0 && !chk->fatal)
		chk->fatal = err;
	return err < 0 ? err : 0;
}

static int walk_error(struct erofs_check *chk, int err)
{
	return walk_error_at(chk, chk->path, chk->walking, err,
			     chk->img->missing_dev);
}

/* --- the current path --- */

static int path_push(struct erofs_check *chk, const char *name,
		     unsigned int len, size_t *saved)
{
	size_t need = chk->path_len + 1 + len + 1;

	if (need > chk->path_cap) {
		size_t cap = MAX(need, chk->path_cap * 2);
		char *p = realloc(chk->path, cap);

		if (!p)
			return -ENOMEM;
		chk->path = p;
		chk->path_cap = cap;
	}
	*saved = chk->path_len;
	chk->path[chk->path_len++] = '/';
	memcpy(chk->path + chk->path_len, name, len);
	chk->path_len += len;
	chk->path[chk->path_len] = '\0';
	return 0;
}

/* the path relative to the extraction root (no leading '/'); "" at
 * the top of a subtree */
static const char *extract_path(const struct erofs_check *chk)
{
	return chk->path_len > chk->path_base ?
	       chk->path + chk->path_base + 1 : "";
}

static void path_pop(struct erofs_check *chk, size_t saved)
{
	chk->path_len = saved;
	chk->path[saved] = '\0';
}

/* --- claims on device 0, for overlap checks at the end --- */

static int claim(struct erofs_check *chk, uint64_t start, uint64_t end,
		 uint64_t nid, unsigned int kind)
{
	struct erofs_claim *c;

	if (start >= end)
		return 0;
	/*
	 * Consecutive chunks of one file merge into one claim; pclusters do
	 * not, as another file may share any one of them.
	 */
	if (chk->nr_claims && kind != CLAIM_PCLUSTER) {
		c = &chk->claims[chk->nr_claims - 1];
		if (c->nid == nid && c->kind == kind && c->end == start) {
			c->end = end;
			return 0;
		}
	}
	if (chk->nr_claims == chk->cap_claims) {
		size_t cap = chk->cap_claims ? chk->cap_claims * 2 : 1024;

		c = realloc(chk->claims, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		chk->claims = c;
		chk->cap_claims = cap;
	}
	chk->claims[chk->nr_claims++] = (struct erofs_claim) {
		.start = start, .end = end, .nid = nid, .kind = kind,
	};
	return 0;
}

static int claim_cmp(const void *a, const void *b)
{
	const struct erofs_claim *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static const char *claim_name(unsigned int kind)
{
	static const char *const names[] = {
		[CLAIM_META] = "metadata", [CLAIM_DATA] = "data blocks",
		[CLAIM_CHUNK] = "chunk data", [CLAIM_SUPER] = "superblock",
		[CLAIM_PCLUSTER] = "compressed data",
	};
	return names[kind];
}

static void report_overlap(struct erofs_check *chk, const struct erofs_claim *a,
			   const struct erofs_claim *b)
{
	erofs_check_problem(chk, "%s of nid %llu (bytes %llu..%llu) overlap %s of nid %llu (bytes %llu..%llu)",
			    claim_name(b->kind), (unsigned long long)b->nid,
			    (unsigned long long)b->start,
			    (unsigned long long)b->end - 1,
			    claim_name(a->kind), (unsigned long long)a->nid,
			    (unsigned long long)a->start,
			    (unsigned long long)a->end - 1);
}

/*
 * Equal files may share all of their blocks (whole-file dedup), and
 * extents of any files a whole pcluster (erofs-utils' -E dedupe); a
 * pcluster that overlaps another only in part is damage.
 */
static bool shared_whole(const struct erofs_claim *a,
			 const struct erofs_claim *b)
{
	return a->kind == b->kind &&
	       (a->kind == CLAIM_DATA || a->kind == CLAIM_PCLUSTER) &&
	       a->start == b->start && a->end == b->end;
}

/*
 * Sweeps the claims in address order.  Chunk data may be shared with
 * other chunk data (deduplicated chunks), and a flat file's blocks with
 * a file of the same blocks; nothing else may be shared.
 */
static void check_overlaps(struct erofs_check *chk)
{
	const struct erofs_claim *excl = NULL, *chunk = NULL;
	unsigned int reported = 0;
	size_t i;

	if (chk->nr_claims > 1)
		qsort(chk->claims, chk->nr_claims, sizeof(*chk->claims),
		      claim_cmp);
	for (i = 0; i < chk->nr_claims && reported < 20; i++) {
		const struct erofs_claim *c = &chk->claims[i];

		if (excl && c->start < excl->end && !shared_whole(excl, c)) {
			report_overlap(chk, excl, c);
			reported++;
		} else if (c->kind != CLAIM_CHUNK && chunk &&
			   c->start < chunk->end) {
			report_overlap(chk, chunk, c);
			reported++;
		}
		if (c->kind == CLAIM_CHUNK) {
			if (!chunk || c->end > chunk->end)
				chunk = c;
		} else if (!excl || c->end > excl->end) {
			excl = c;
		}
	}
}

static int maps_grow(struct erofs_check_maps *mp)
{
	struct erofs_map *v;
	size_t cap;

	if (mp->nr < mp->cap)
		return 0;
	cap = mp->cap ? mp->cap * 2 : 16;
	v = realloc(mp->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	mp->v = v;
	mp->cap = cap;
	return 0;
}

/*
 * What a mapped extent claims on device 0: a compressed file every
 * pcluster, a chunked file every chunk.  A pcluster that reaches into
 * the superblock is reported at once, before any data is read, so that
 * extraction never copies the superblock into a file.
 */
static int claim_mapped(struct erofs_check *chk,
			const struct erofs_inode_info *vi,
			const struct erofs_map *map, unsigned int kind)
{
	struct erofs_image *img = chk->img;
	uint64_t sb_end = EROFS_SUPER_OFFSET + img->sb_size;

	if (kind == CLAIM_NONE || !(map->flags & EROFS_MAP_MAPPED) ||
	    map->device)
		return 0;
	if (kind == CLAIM_CHUNK)
		return claim(chk, map->pa,
			     map->pa + ROUND_UP(map->plen, img->blksz),
			     vi->nid, CLAIM_CHUNK);
	if (map->flags & (EROFS_MAP_META | EROFS_MAP_FRAGMENT))
		return 0;
	if (map->pa < sb_end)
		return erofs_corrupt(img, "nid %llu: compressed data of bytes %llu..%llu is stored at bytes %llu..%llu, over the superblock",
				     (unsigned long long)vi->nid,
				     (unsigned long long)map->la,
				     (unsigned long long)(map->la +
							  map->llen - 1),
				     (unsigned long long)map->pa,
				     (unsigned long long)(map->pa +
							  map->plen - 1));
	return claim(chk, map->pa, map->pa + map->plen, vi->nid,
		     CLAIM_PCLUSTER);
}

/*
 * Maps all of a file once, claiming what it uses (@kind); the maps are
 * kept in chk->maps for reading the data, so nothing is mapped twice.
 */
static int map_file(struct erofs_check *chk, const struct erofs_inode_info *vi,
		    unsigned int kind)
{
	struct erofs_check_maps *mp = &chk->maps;
	uint64_t off = 0;
	int err;

	mp->nr = 0;
	while (off < vi->size) {
		struct erofs_map *map;

		err = maps_grow(mp);
		if (err)
			return err;
		map = &mp->v[mp->nr];
		/* it guarantees progress: off is inside the extent */
		err = erofs_map_blocks(chk->img, vi, off, map);
		if (err)
			return err;
		mp->nr++;
		off = map->la + map->llen;
		err = claim_mapped(chk, vi, map, kind);
		if (err)
			return err;
	}
	return 0;
}

static int claim_inode(struct erofs_check *chk,
		       const struct erofs_inode_info *vi)
{
	struct erofs_image *img = chk->img;
	uint64_t meta_end = vi->iend, blocks;
	int err = 0;

	if (erofs_inode_is_compressed(vi)) {
		err = z_erofs_meta_end(img, vi, &meta_end);
		/* metadata in the metabox is inside the metabox inode's claims */
		if (!err && !vi->in_metabox)
			err = claim(chk, vi->pos, meta_end, vi->nid,
				    CLAIM_META);
		return err ?: map_file(chk, vi, CLAIM_PCLUSTER);
	}

	if (vi->datalayout == EROFS_INODE_FLAT_INLINE && vi->size)
		meta_end += vi->size - erofs_pos(img, (vi->size - 1) >>
						 img->blkszbits);
	if (vi->datalayout == EROFS_INODE_CHUNK_BASED) {
		unsigned int unit = vi->chunkformat &
				    EROFS_CHUNK_FORMAT_INDEXES ? 8 : 4;

		meta_end = ROUND_UP(vi->iend, unit) + unit *
			   DIV_ROUND_UP(vi->size, 1ULL << vi->chunkbits);
	}
	/* metadata in the metabox is inside the metabox inode's claims */
	if (!vi->in_metabox)
		err = claim(chk, vi->pos, meta_end, vi->nid, CLAIM_META);
	if (err || (vi->datalayout != EROFS_INODE_FLAT_PLAIN &&
		    vi->datalayout != EROFS_INODE_FLAT_INLINE) ||
	    S_ISCHR(vi->mode) || S_ISBLK(vi->mode) ||
	    vi->raw_blkaddr == EROFS_NULL_BLKADDR)
		return err;
	blocks = DIV_ROUND_UP(vi->size, img->blksz);
	if (vi->datalayout == EROFS_INODE_FLAT_INLINE && blocks)
		blocks--;
	return claim(chk, erofs_pos(img, vi->raw_blkaddr),
		     erofs_pos(img, vi->raw_blkaddr + blocks), vi->nid,
		     CLAIM_DATA);
}

/* --- inodes --- */

static bool seen_eq(const void *item, const void *key)
{
	return ((const struct erofs_seen_inode *)item)->nid ==
	       *(const uint64_t *)key;
}

static uint64_t nid_hash(uint64_t nid)
{
	return erofs_hash_bytes(0, &nid, sizeof(nid));
}

static struct erofs_seen_inode *seen_find(struct erofs_check *chk,
					  uint64_t nid)
{
	return erofs_hashmap_find(&chk->seen, nid_hash(nid), seen_eq, &nid);
}

static int seen_add(struct erofs_check *chk, const struct erofs_inode_info *vi,
		    struct erofs_seen_inode **out)
{
	struct erofs_seen_inode *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->nid = vi->nid;
	s->nlink = vi->nlink;
	s->refs = 1;
	s->is_dir = S_ISDIR(vi->mode);
	if (!s->is_dir && vi->nlink > 1) {
		s->first_path = strdup(extract_path(chk));
		if (!s->first_path) {
			free(s);
			return -ENOMEM;
		}
	}
	err = erofs_hashmap_insert(&chk->seen, nid_hash(vi->nid), s);
	if (err) {
		free(s->first_path);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

static void count_type(struct erofs_check *chk, uint32_t mode)
{
	struct erofs_check_stats *st = &chk->stats;

	st->inodes++;
	erofs_count_type(&st->types, mode);
	erofs_progress_update(&chk->progress, "checking inodes",
			      st->inodes, chk->img->inos);
}

/* --- xattrs --- */

struct xattr_list {
	struct erofs_check *chk;
	struct erofs_extract_attrs *attrs;	/* NULL: parse only */
	unsigned int cap;
};

static int collect_xattr(void *arg, unsigned int index, const char *name,
			 unsigned int name_len, const void *value,
			 unsigned int value_len)
{
	struct xattr_list *l = arg;
	struct erofs_extract_attrs *a = l->attrs;
	struct erofs_extract_xattr *x;
	char full[EROFS_XATTR_NAME_MAX];
	int len;

	l->chk->stats.xattrs++;
	len = erofs_xattr_full_name(l->chk->img, index, name, name_len, full);
	if (len == -ENODATA)	/* invisible through the kernel too */
		return 0;
	if (len < 0)
		return len == -EFSCORRUPTED ?
			erofs_corrupt(l->chk->img, "xattr with a bad name index 0x%x",
				      index) : len;
	if (!a)
		return 0;
	if (a->nr_xattrs == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 8;

		x = realloc(a->xattrs, cap * sizeof(*x));
		if (!x)
			return -ENOMEM;
		a->xattrs = x;
		l->cap = cap;
	}
	x = &a->xattrs[a->nr_xattrs];
	x->name = strdup(full);
	x->value = malloc(value_len ? value_len : 1);
	if (!x->name || !x->value) {
		free(x->name);
		free(x->value);
		return -ENOMEM;
	}
	memcpy(x->value, value, value_len);
	x->value_len = value_len;
	a->nr_xattrs++;
	return 0;
}

static void free_attrs(struct erofs_extract_attrs *a)
{
	unsigned int i;

	for (i = 0; i < a->nr_xattrs; i++) {
		free(a->xattrs[i].name);
		free(a->xattrs[i].value);
	}
	free(a->xattrs);
	a->xattrs = NULL;
	a->nr_xattrs = 0;
}

static int read_attrs(struct erofs_check *chk, const struct erofs_inode_info *vi,
		      struct erofs_extract_attrs *a)
{
	struct xattr_list l = {
		.chk = chk, .attrs = chk->opts.extract ? a : NULL,
	};

	a->mode = vi->mode;
	a->uid = vi->uid;
	a->gid = vi->gid;
	a->mtime = vi->mtime;
	a->mtime_nsec = vi->mtime_nsec;
	if (vi->mtime_nsec >= 1000000000) {
		erofs_check_problem(chk, "nid %llu: mtime nanoseconds %u out of range",
				    (unsigned long long)vi->nid,
				    vi->mtime_nsec);
		a->mtime_nsec = 0;
	}
	return erofs_iterate_xattrs(chk->img, vi, collect_xattr, &l);
}

/* --- data --- */

void check_file_free(struct check_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free_attrs(&f->attrs);
	free(f->maps.v);
	free(f->path);
	free(f->name);
	free(f);
}

/*
 * Every byte of the file is read: its size and attributes are set when
 * the last of it is written, and what went wrong is said at its path.
 */
void check_file_finish(struct erofs_check *chk, struct check_file *f)
{
	struct erofs_extract *ex = chk->opts.extract;
	int err = f->err, err2;

	if (!chk->fatal && !err && f->fd >= 0)
		err = erofs_extract_truncate(ex, f->fd, f->path, f->vi.size);
	if (!chk->fatal && f->created) {
		err2 = erofs_extract_attrs(ex, f->fd, -1, f->name, &f->attrs);
		if (err2 && (!err || err == -EFSCORRUPTED))
			err = err2;
	}
	walk_error_at(chk, f->path, f->walking, err, f->missing_dev);
	check_file_free(f);
}

/*
 * Reads (and writes out, when extracting) every byte of a file: mapped
 * here unless the claims already did, read by the workers.  The file's
 * descriptor and attributes go with it (*@fd becomes -1, *@created
 * false); they are the caller's still when this fails.
 */
static int check_data(struct erofs_check *chk,
		      const struct erofs_inode_info *vi, int *fd,
		      const char *name, struct erofs_extract_attrs *attrs,
		      bool *created)
{
	struct check_file *f;
	int err = 0;

	if (!chk->maps.nr && vi->size)
		err = map_file(chk, vi, CLAIM_NONE);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->path = strdup(chk->path);
	f->name = name ? strdup(name) : NULL;
	if (!f->path || (name && !f->name)) {
		check_file_free(f);
		return -ENOMEM;
	}
	f->vi = *vi;
	f->walking = chk->walking;
	f->maps = chk->maps;
	memset(&chk->maps, 0, sizeof(chk->maps));
	if (fd) {
		f->fd = *fd;
		*fd = -1;
	}
	if (created && *created) {
		f->created = true;
		f->attrs = *attrs;
		memset(attrs, 0, sizeof(*attrs));
		*created = false;
	}
	return check_par_submit(chk, f);
}

static int check_symlink(struct erofs_check *chk,
			 const struct erofs_inode_info *vi, char *target)
{
	ssize_t got = erofs_pread_file(chk->img, vi, target, vi->size, 0);

	if (got < 0)
		return got;
	target[got] = '\0';
	chk->stats.data_bytes += got;
	if (strlen(target) != vi->size)
		return erofs_corrupt(chk->img, "nid %llu: symlink target contains a NUL byte",
				     (unsigned long long)vi->nid);
	return 0;
}

/* --- the walk --- */

struct dir_ctx {
	struct erofs_check *chk;
	const struct erofs_inode_info *dir;
	int dirfd;			/* extraction: the directory's fd */
	uint64_t subdirs;
};

static int check_inode(struct erofs_check *chk, uint64_t nid,
		       unsigned int ftype, struct dir_ctx *parent,
		       const char *name);

static int dir_entry(void *arg, const char *name, unsigned int len,
		     uint64_t nid, unsigned int ftype)
{
	struct dir_ctx *d = arg;
	struct erofs_check *chk = d->chk;
	char cname[EROFS_NAME_LEN + 1];
	size_t saved;
	int err;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (chk->fatal)		/* found reading an earlier file's data */
		return chk->fatal;
	memcpy(cname, name, len);
	cname[len] = '\0';
	err = path_push(chk, name, len, &saved);
	if (err)
		return err;
	if (ftype == EROFS_FT_DIR)
		d->subdirs++;
	err = walk_error(chk, check_inode(chk, nid, ftype, d, cname));
	path_pop(chk, saved);
	return err;
}

static int walk_dir(struct erofs_check *chk, const struct erofs_inode_info *vi,
		    uint64_t parent_nid, int dirfd)
{
	struct dir_ctx d = { .chk = chk, .dir = vi, .dirfd = dirfd };
	int err;

	if (chk->depth >= chk->opts.max_depth)
		return erofs_corrupt(chk->img, "nid %llu: directories nested more than %u deep",
				     (unsigned long long)vi->nid,
				     chk->opts.max_depth);
	chk->depth++;
	err = erofs_iterate_dir(chk->img, vi, parent_nid, dir_entry, &d);
	chk->depth--;
	if (err)
		return err;
	if (vi->nlink != d.subdirs + 2)
		check_warn(chk, "directory nid %llu has nlink %u, but %llu subdirectories",
			   (unsigned long long)vi->nid, vi->nlink,
			   (unsigned long long)d.subdirs);
	return 0;
}

/* a further name of an inode already checked */
static int check_again(struct erofs_check *chk, struct erofs_seen_inode *s,
		       struct dir_ctx *parent, const char *name)
{
	if (s->is_dir)
		return erofs_corrupt(chk->img, "directory nid %llu is reached a second time (a cycle or a hard-linked directory)",
				     (unsigned long long)s->nid);
	s->refs++;
	chk->stats.hardlinks++;
	if (s->refs == 2 && !s->first_path) {
		/* nlink said 1: remember a name for the final message */
		s->first_path = strdup(extract_path(chk));
		if (!s->first_path)
			return -ENOMEM;
	}
	if (!chk->opts.extract || !s->first_path || s->nlink < 2)
		return 0;
	return erofs_extract_link(chk->opts.extract, s->first_path,
				  parent->dirfd, name);
}

static int check_special(struct erofs_check *chk,
			 const struct erofs_inode_info *vi, int *fd,
			 struct dir_ctx *parent, const char *name,
			 struct erofs_extract_attrs *attrs, bool *created)
{
	struct erofs_extract *ex = chk->opts.extract;
	char target[EROFS_SYMLINK_MAX + 1];
	int err = 0;

	switch (vi->mode & S_IFMT) {
	case S_IFREG:
		if (ex) {
			err = erofs_extract_creat(ex, parent->dirfd, name, fd);
			*created = !err;
		}
		return err ?: check_data(chk, vi, fd, name, attrs, created);
	case S_IFLNK:
		err = check_symlink(chk, vi, target);
		if (!err && ex) {
			err = erofs_extract_symlink(ex, parent->dirfd, name,
						    target);
			*created = !err;
		}
		return err;
	default:
		if (ex) {
			err = erofs_extract_mknod(ex, parent->dirfd, name,
						  vi->mode, vi->rdev);
			*created = !err;
		}
		return err;
	}
}

static int check_content(struct erofs_check *chk,
			 const struct erofs_inode_info *vi,
			 struct dir_ctx *parent, const char *name)
{
	struct erofs_extract *ex = chk->opts.extract;
	struct erofs_extract_attrs attrs = { 0 };
	bool created = false;
	int fd = -1, err, err2;

	err = read_attrs(chk, vi, &attrs);
	if (err)
		goto out;
	if (vi->datalayout == EROFS_INODE_CHUNK_BASED) {
		err = map_file(chk, vi, CLAIM_CHUNK);
		if (err)
			goto out;
	}
	if (S_ISDIR(vi->mode)) {
		if (ex && parent) {
			err = erofs_extract_mkdir(ex, parent->dirfd, name, &fd);
		} else if (ex) {
			fd = dup(ex->rootfd);
			err = fd < 0 ? -errno : 0;
		}
		created = !err;
		if (!err)
			err = walk_dir(chk, vi, parent ? parent->dir->nid :
				       chk->opts.subtree ? EROFS_NID_UNKNOWN :
				       vi->nid, fd);
	} else {
		err = check_special(chk, vi, &fd, parent, name, &attrs,
				    &created);
	}
	/* attributes last: directories once their contents are in place */
	if (ex && created) {
		err2 = erofs_extract_attrs(ex, fd, parent ? parent->dirfd : -1,
					   name, &attrs);
		if (err2 && (!err || err == -EFSCORRUPTED))
			err = err2;
	}
out:
	if (fd >= 0)
		close(fd);
	free_attrs(&attrs);
	return err;
}

static int check_inode(struct erofs_check *chk, uint64_t nid,
		       unsigned int ftype, struct dir_ctx *parent,
		       const char *name)
{
	struct erofs_seen_inode *s = seen_find(chk, nid);
	struct erofs_inode_info vi;
	int err;

	if (s)
		return check_again(chk, s, parent, name);
	chk->maps.nr = 0;
	err = erofs_read_inode(chk->img, nid, &vi);
	if (err)
		return err;
	if (!parent && !S_ISDIR(vi.mode) && !chk->opts.subtree)
		return erofs_corrupt(chk->img, "root nid %llu is not a directory (i_mode 0%o)",
				     (unsigned long long)nid, vi.mode);
	if (parent && erofs_ftype_to_mode(ftype) != (vi.mode & S_IFMT))
		return erofs_corrupt(chk->img, "dirent file type %u does not match nid %llu's i_mode 0%o",
				     ftype, (unsigned long long)nid, vi.mode);
	err = seen_add(chk, &vi, &s);
	if (err)
		return err;
	count_type(chk, vi.mode);
	err = claim_inode(chk, &vi);
	if (err)
		return err;
	return check_content(chk, &vi, parent, name);
}

/* where the walk starts: the root, or the subtree's top, which may be a
 * file extracted as the extraction target itself */
static int check_top(struct erofs_check *chk)
{
	struct erofs_extract *ex = chk->opts.extract;
	struct dir_ctx top = { .chk = chk, .dirfd = ex ? ex->rootfd : -1 };
	struct erofs_inode_info vi;
	int err;

	if (!chk->opts.subtree)
		return check_inode(chk, chk->img->root_nid, EROFS_FT_DIR,
				   NULL, NULL);
	err = erofs_read_inode(chk->img, chk->opts.start_nid, &vi);
	if (err || S_ISDIR(vi.mode))
		return err ?: check_inode(chk, vi.nid, EROFS_FT_DIR, NULL,
					  NULL);
	return check_inode(chk, vi.nid, erofs_mode_to_ftype(vi.mode), &top,
			   ex ? ex->top_name : NULL);
}

static int set_start_path(struct erofs_check *chk)
{
	const char *p = chk->opts.start_path;
	size_t len;

	if (!chk->opts.subtree || !p)
		return 0;
	while (*p == '/')
		p++;
	len = strlen(p);
	while (len && p[len - 1] == '/')
		len--;
	if (!len)
		return 0;
	chk->path_len = 0;
	chk->path_base = 0;
	if (path_push(chk, p, len, &chk->path_base))
		return -ENOMEM;
	chk->path_base = chk->path_len;
	return 0;
}

/* --- the image-wide checks --- */

static int claim_super(struct erofs_check *chk)
{
	struct erofs_image *img = chk->img;
	int err;

	err = claim(chk, EROFS_SUPER_OFFSET, EROFS_SUPER_OFFSET + img->sb_size,
		    EROFS_NID_UNKNOWN, CLAIM_SUPER);
	if (!err && img->nr_devs > 1)
		err = claim(chk, (uint64_t)img->devt_slotoff *
			    EROFS_DEVT_SLOT_SIZE,
			    ((uint64_t)img->devt_slotoff + img->nr_devs - 1) *
			    EROFS_DEVT_SLOT_SIZE, EROFS_NID_UNKNOWN,
			    CLAIM_SUPER);
	return err;
}

/*
 * The annex past the last block is not the kernel's, but whoever serves
 * the image on demand trusts it: its trailer, digest and record bounds are
 * checked on load; a record this checker cannot read is said to be so.
 */
static void check_annex(struct erofs_check *chk)
{
	struct erofs_annex ax;
	struct erofs_annex_entry e;
	uint64_t cursor = 0;

	if (erofs_annex_load(chk->img, &ax))
		return;
	erofs_digest_tables_check(chk->img, &ax);
	while (erofs_annex_next(&ax, &cursor, &e)) {
		if (e.type == EROFS_ANNEX_GZIP_INDEX ||
		    e.type == EROFS_ANNEX_ZSTD_INDEX ||
		    e.type == EROFS_ANNEX_BLOB_SOURCE) {
			erofs_check_layer_records(chk->img, &ax, &e);
			continue;
		}
		if (e.type == EROFS_ANNEX_DEVICE_MAP) {
			erofs_check_device_map(chk->img, &ax, &e);
			continue;
		}
		if (e.type == EROFS_ANNEX_DIGEST_TABLE)
			continue;
		erofs_warn(chk->msg, "annex: record type %u for device %u at byte %llu: not checked",
			   e.type, e.device, (unsigned long long)e.pos);
		chk->stats.unsupported++;
	}
	erofs_annex_free(&ax);
}

/*
 * The packed inode (fragments) and the metabox inode are in no
 * directory: each is checked on its own, all of its data decoded, before
 * the files that point into it.
 */
static int check_hidden(struct erofs_check *chk, const char *name,
			int (*load)(struct erofs_image *img,
				    const struct erofs_inode_info **vi))
{
	struct erofs_image *img = chk->img;
	const struct erofs_inode_info *vi;
	size_t saved;
	int err;

	err = path_push(chk, name, strlen(name), &saved);
	if (err)
		return err;
	chk->maps.nr = 0;
	err = load(img, &vi);
	if (!err) {
		chk->stats.inodes++;
		err = claim_inode(chk, vi);
	}
	if (!err)
		err = check_data(chk, vi, NULL, NULL, NULL, NULL);
	err = walk_error(chk, err);
	path_pop(chk, saved);
	return err;
}

static void report_nlink(struct erofs_check *chk)
{
	struct erofs_hashmap *map = &chk->seen;
	size_t i;

	for (i = 0; i <= map->mask; i++) {
		struct erofs_seen_inode *s = map->slots[i].item;

		if (!s || s->is_dir || s->refs == s->nlink)
			continue;
		erofs_check_problem(chk, "nid %llu (%s): nlink is %u but it has %u name(s)",
				    (unsigned long long)s->nid,
				    s->first_path ? s->first_path : "?",
				    s->nlink, s->refs);
	}
}

int erofs_check_init(struct erofs_check *chk, struct erofs_image *img,
		     const struct erofs_msg *msg,
		     const struct erofs_check_opts *opts)
{
	memset(chk, 0, sizeof(*chk));
	chk->img = img;
	chk->msg = msg;
	chk->opts = *opts;
	if (!chk->opts.max_depth)
		chk->opts.max_depth = EROFS_CHECK_MAX_DEPTH;
	erofs_progress_init(&chk->progress, msg->prog, opts->show_progress);
	chk->problems = calloc(EROFS_CHECK_MAX_LISTED, sizeof(char *));
	chk->path_cap = 256;
	chk->path = calloc(1, chk->path_cap);
	if (!chk->problems || !chk->path ||
	    erofs_hashmap_init(&chk->seen)) {
		erofs_check_exit(chk);
		return -ENOMEM;
	}
	img->report = report_hook;
	img->report_arg = chk;
	/* an unknown feature is named and the rest still checked */
	img->open_unknown = true;
	return 0;
}

int erofs_check_run(struct erofs_check *chk)
{
	struct erofs_image *img = chk->img;
	int err;

	if (img->unknown_incompat) {
		char names[256];

		erofs_incompat_names(img->unknown_incompat, names,
				     sizeof(names));
		erofs_warn(chk->msg, "superblock: not supported: %s; what depends on it is not checked",
			   names);
		chk->stats.unsupported++;
	}
	err = claim_super(chk);
	if (!err && !chk->opts.subtree)
		check_annex(chk);
	/* the hidden inodes belong to the whole image, not to a subtree */
	if (!err && !chk->opts.subtree && erofs_has_packed_inode(img))
		err = check_hidden(chk, "(packed inode)", erofs_packed_inode);
	if (!err && !chk->opts.subtree &&
	    (img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX))
		err = check_hidden(chk, "(metabox inode)", erofs_metabox_inode);
	if (!err)
		err = set_start_path(chk);
	if (!err) {
		chk->walking = true;
		walk_error(chk, check_top(chk));
		chk->walking = false;
		path_pop(chk, 0);
	}
	/* the data still being read is emitted before anything image-wide */
	check_par_stop(chk);
	erofs_progress_done(&chk->progress);
	if (err)
		return err;
	if (chk->fatal)
		return chk->fatal;
	if (chk->opts.subtree)
		return 0;
	report_nlink(chk);
	check_overlaps(chk);
	if (chk->stats.inodes != img->inos && !chk->stats.errors)
		check_warn(chk, "the superblock counts %llu inodes, %llu are reachable from the root",
			   (unsigned long long)img->inos,
			   (unsigned long long)chk->stats.inodes);
	return 0;
}

void erofs_check_exit(struct erofs_check *chk)
{
	struct erofs_hashmap *map = &chk->seen;
	size_t i;

	check_par_stop(chk);
	if (chk->img && chk->img->report == report_hook) {
		chk->img->report = NULL;
		chk->img->report_arg = NULL;
	}
	for (i = 0; map->slots && i <= map->mask; i++) {
		struct erofs_seen_inode *s = map->slots[i].item;

		if (s) {
			free(s->first_path);
			free(s);
		}
	}
	erofs_hashmap_exit(map);
	for (i = 0; chk->problems && i < chk->nr_problems; i++)
		free(chk->problems[i]);
	free(chk->problems);
	free(chk->claims);
	free(chk->path);
	free(chk->maps.v);
	chk->problems = NULL;
	chk->claims = NULL;
	chk->path = NULL;
	chk->maps.v = NULL;
}
