// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading a tar stream (a container layer) into the in-memory tree, in
 * place of the directory scan: ustar, GNU long names and links, PAX
 * records (path, linkpath, size, uid, gid, mtime with its fraction,
 * SCHILY.xattr.* and LIBARCHIVE.xattr.*), GNU sparse files (tarsparse.c),
 * hardlinks to earlier entries, every file type.  Entries apply as extraction would: a later entry
 * replaces an earlier one of the same name, except that a directory
 * given again only takes the new attributes; parents never given are
 * made as erofs-utils makes them (0755 plus the parent's group and other
 * write bits, the parent's owner and mtime).
 *
 * Nothing of the stream is kept in memory.  Where a file's data is read
 * from at write time depends on the input:
 *  - a plain tar file that can seek: in place, at its offset in the tar
 *    (a sparse file's, not in one piece, is spooled as below);
 *  - a pipe or a compressed stream (which cannot be read twice): copied
 *    once, as the stream goes by, into an unlinked spool file in $TMPDIR,
 *    data only, headers and padding left out;
 *  - --tar=i: nowhere, as the image addresses it in the tar itself (the
 *    image's extra device, 512-byte blocks, tagged with its sha256), or,
 *    with larger blocks, in a view of the tar that puts each file's data
 *    at a block boundary (devmap.c);
 *  - headerball: nowhere, as the stream has no data: files read zeroes.
 * The data pass then stores it like a scanned file's, with every option.
 *
 * With --aufs, ".wh.NAME" becomes a whiteout (a 0:0 character device with
 * the entry's owner and mtime and no permission bits) and ".wh..wh..opq"
 * marks its directory opaque (trusted.overlay.opaque="y"); directories
 * holding whiteouts get an empty trusted.overlay.origin so that overlayfs
 * does not show the whiteouts of a directory merged by itself.  This is
 * the metadata erofs-utils 1.8 writes.
 *
 * Several streams (image layers, bottom first: mkfs --oci, or several
 * tar files) are read into the same tree one after the other, each name
 * remembering the layer that gave it; their OCI whiteouts then remove
 * what lower layers gave (tar_merge.c) and are not kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "erofs/erofs_fs.h"
#include "erofs/util.h"
#include "tar_priv.h"

#define TAR_MAX_RECORDS		(16U << 20)	/* PAX or GNU long name data */
#define TAR_INDEX_BITS		9		/* --tar=i addresses 512 bytes */
#define WH_PREFIX		".wh."
#define WH_OPAQUE		".wh..wh..opq"
#define OVL_OPAQUE		"trusted.overlay.opaque"
#define OVL_ORIGIN		"trusted.overlay.origin"

struct tar_dkey {
	const struct erofs_node *dir;
	const char *name;
	unsigned int len;
};

static void ext_reset(struct tar_ext *e)
{
	unsigned int i;

	free(e->path);
	free(e->link);
	for (i = 0; i < e->nr_xattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	tar_sparse_reset(&e->sparse);
	memset(e, 0, sizeof(*e));
}

static const char *entry_name(const struct tar_reader *r)
{
	return r->entry ? r->entry : "(tar header)";
}

/* the stream ended or failed inside what the entry said it holds */
static int stream_error(struct tar_reader *r, ssize_t ret, const char *what)
{
	if (ret < 0) {
		erofs_err(r->msg, "%s (at byte %llu of the tar): %s",
			  entry_name(r), (unsigned long long)r->entry_pos,
			  r->is.err[0] ? r->is.err : strerror(-ret));
		return ret;
	}
	erofs_err(r->msg, "%s (at byte %llu of the tar): truncated: the stream ends inside its %s",
		  entry_name(r), (unsigned long long)r->entry_pos, what);
	return -EIO;
}

int tar_bad_entry(struct tar_reader *r, int err, const char *why)
{
	erofs_err(r->msg, "%s (at byte %llu of the tar): %s", entry_name(r),
		  (unsigned long long)r->entry_pos, why);
	return err;
}

int tar_read_exact(struct tar_reader *r, void *buf, size_t len,
		   const char *what)
{
	ssize_t n = erofs_istream_read(&r->is, buf, len);

	if (n == (ssize_t)len)
		return 0;
	return stream_error(r, n, what);
}

static int skip_exact(struct tar_reader *r, uint64_t len, const char *what)
{
	int err = erofs_istream_skip(&r->is, len);

	if (!err)
		return 0;
	return stream_error(r, err == -ENODATA ? 0 : err, what);
}

static uint64_t padding(uint64_t size)
{
	return ROUND_UP(size, TAR_BLOCK) - size;
}

/*
 * A numeric field: octal digits between optional spaces and NULs, or
 * base-256 (GNU) when the top bit of the first byte is set.
 */
int tar_parse_number(const char *field, size_t len, bool is_signed,
		     int64_t *out)
{
	const uint8_t *p = (const uint8_t *)field;
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		bool neg = p[0] == 0xff;

		if (neg && !is_signed)
			return -EINVAL;
		v = neg ? ~0ULL : p[0] & 0x3f;
		for (i = 1; i < len; i++) {
			if (!neg && (v >> 56))
				return -ERANGE;
			v = (v << 8) | p[i];
		}
		if (!neg && v > INT64_MAX)
			return -ERANGE;
		*out = (int64_t)v;
		return 0;
	}
	while (i < len && (p[i] == ' ' || p[i] == '\0'))
		i++;
	if (i == len) {
		*out = 0;
		return 0;
	}
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 60)
			return -ERANGE;
		v = (v << 3) | (p[i] - '0');
	}
	for (; i < len; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -EINVAL;
	*out = v;
	return 0;
}

static bool checksum_ok(const uint8_t *blk)
{
	const struct tar_header *h = (const void *)blk;
	uint64_t usum = 0;
	int64_t ssum = 0, want;
	unsigned int i;

	if (tar_parse_number(h->chksum, sizeof(h->chksum), false, &want))
		return false;
	for (i = 0; i < TAR_BLOCK; i++) {
		bool in_field = i >= offsetof(struct tar_header, chksum) &&
				i < offsetof(struct tar_header, chksum) +
				    sizeof(h->chksum);
		uint8_t c = in_field ? ' ' : blk[i];

		usum += c;
		ssum += (int8_t)c;
	}
	return (int64_t)usum == want || ssum == want;
}

static char *field_str(const char *f, size_t len)
{
	return strndup(f, strnlen(f, len));
}

/* "-?digits(.digits)?": seconds and nanoseconds, the fraction rounded down */
static int parse_pax_time(const char *v, int64_t *sec, uint32_t *nsec)
{
	bool neg = *v == '-';
	uint64_t s = 0, ns = 0;
	unsigned int digits = 0;
	const char *p = v + neg;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (s > (uint64_t)INT64_MAX / 10)
			return -ERANGE;
		s = s * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 9) {
				ns = ns * 10 + (*p - '0');
				digits++;
			}
	}
	if (*p)
		return -EINVAL;
	for (; digits < 9; digits++)
		ns *= 10;
	if (neg && ns) {
		*sec = -(int64_t)s - 1;
		*nsec = 1000000000 - ns;
	} else {
		*sec = neg ? -(int64_t)s : (int64_t)s;
		*nsec = ns;
	}
	return 0;
}

static int parse_decimal(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (!*v)
		return -EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || x > (max - (*v - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (*v - '0');
	}
	*out = x;
	return 0;
}

/* LIBARCHIVE.xattr names are %-encoded; decoded in place */
static int url_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = erofs_hexval(s[1]), lo = hi < 0 ? -1 : erofs_hexval(s[2]);

			/* a NUL would cut the name short */
			if (lo < 0 || !(hi | lo))
				return -EINVAL;
			*out++ = hi << 4 | lo;
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return 0;
}

static int ext_add_xattr(struct tar_ext *e, const char *name,
			 const uint8_t *value, size_t len)
{
	struct tar_xattr *x;
	unsigned int i;

	/* a name given twice: the later record wins */
	for (i = 0; i < e->nr_xattrs; i++)
		if (!strcmp(e->xattrs[i].name, name))
			break;
	if (i == e->nr_xattrs) {
		x = realloc(e->xattrs, (e->nr_xattrs + 1) * sizeof(*x));
		if (!x)
			return -ENOMEM;
		e->xattrs = x;
		x[i].name = strdup(name);
		x[i].value = NULL;
		if (!x[i].name)
			return -ENOMEM;
		e->nr_xattrs++;
	}
	x = &e->xattrs[i];
	free(x->value);
	x->value = malloc(len + 1);
	if (!x->value)
		return -ENOMEM;
	memcpy(x->value, value, len);
	x->len = len;
	return 0;
}

static int pax_xattr(struct tar_ext *e, char *key, const char *v,
		     size_t vlen)
{
	uint8_t *buf;
	size_t len;
	int err;

	if (!strncmp(key, "SCHILY.xattr.", 13))
		return ext_add_xattr(e, key + 13, (const uint8_t *)v, vlen);
	if (url_decode(key + 17))
		return -EINVAL;
	buf = malloc(vlen + 1);
	if (!buf)
		return -ENOMEM;
	err = erofs_base64_decode(v, vlen, buf, &len);
	if (!err)
		err = ext_add_xattr(e, key + 17, buf, len);
	free(buf);
	return err;
}

static int replace_str(char **dst, const char *v, size_t len)
{
	char *s = strndup(v, len);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* the decimal value of a numeric record, NUL-terminated in @num */
static int pax_number(const char *v, size_t vlen, char num[32])
{
	if (!vlen || vlen >= 32 || memchr(v, '\0', vlen))
		return -EINVAL;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	return 0;
}

/* one "key=value" record; unknown keys are ignored, as POSIX says */
static int pax_record(struct tar_ext *e, char *key, const char *v,
		      size_t vlen, bool global)
{
	char num[32];

	if (!strncmp(key, "SCHILY.xattr.", 13) ||
	    !strncmp(key, "LIBARCHIVE.xattr.", 17))
		return pax_xattr(e, key, v, vlen);
	if (!strncmp(key, "GNU.sparse.", 11))
		return global ? 0 : tar_sparse_record(&e->sparse, key + 11, v,
						      vlen);
	/* a global path, link or size would name no entry in particular */
	if (!global && !strcmp(key, "path"))
		return replace_str(&e->path, v, vlen);
	if (!global && !strcmp(key, "linkpath"))
		return replace_str(&e->link, v, vlen);
	if (!global && !strcmp(key, "size")) {
		e->has_size = true;
		return pax_number(v, vlen, num) ?:
		       parse_decimal(num, INT64_MAX, &e->size);
	}
	if (!strcmp(key, "uid")) {
		e->has_uid = true;
		return pax_number(v, vlen, num) ?:
		       parse_decimal(num, UINT32_MAX, &e->uid);
	}
	if (!strcmp(key, "gid")) {
		e->has_gid = true;
		return pax_number(v, vlen, num) ?:
		       parse_decimal(num, UINT32_MAX, &e->gid);
	}
	if (!strcmp(key, "mtime")) {
		e->has_mtime = true;
		return pax_number(v, vlen, num) ?:
		       parse_pax_time(num, &e->mtime, &e->mtime_nsec);
	}
	return 0;
}

/* "LEN key=value\n" records, LEN counting the whole record */
static int parse_pax(struct tar_reader *r, char *buf, size_t len, bool global)
{
	struct tar_ext *e = global ? &r->global : &r->ext;
	size_t pos = 0;
	int err;

	while (pos < len) {
		size_t rlen = 0, i = pos;
		char *eq;

		while (i < len && buf[i] >= '0' && buf[i] <= '9' &&
		       rlen < len)
			rlen = rlen * 10 + (buf[i++] - '0');
		if (i == pos || i >= len || buf[i] != ' ' || rlen > len - pos ||
		    rlen < i - pos + 3 || buf[pos + rlen - 1] != '\n')
			return tar_bad_entry(r, -EINVAL, "malformed PAX record");
		buf[pos + rlen - 1] = '\0';
		eq = memchr(buf + i + 1, '=', pos + rlen - 1 - (i + 1));
		if (!eq)
			return tar_bad_entry(r, -EINVAL, "PAX record without '='");
		*eq = '\0';
		err = pax_record(e, buf + i + 1, eq + 1,
				 buf + pos + rlen - 1 - (eq + 1), global);
		if (err == -ENOMEM)
			return err;
		if (err) {
			erofs_err(r->msg, "%s (at byte %llu of the tar): bad PAX record %s",
				  entry_name(r),
				  (unsigned long long)r->entry_pos, buf + i + 1);
			return err;
		}
		pos += rlen;
	}
	return 0;
}

/* the data of an extension header, whole, NUL-terminated */
static int read_records(struct tar_reader *r, uint64_t size, char **out)
{
	char *buf;
	int err;

	if (size > TAR_MAX_RECORDS)
		return tar_bad_entry(r, -EFBIG, "extension header larger than 16 MiB");
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	err = tar_read_exact(r, buf, size, "extension header");
	if (!err)
		err = skip_exact(r, padding(size), "extension header");
	if (err) {
		free(buf);
		return err;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

/* -------------------------------------------------------------------- */
/* the tree */

static uint64_t dkey_hash(const struct erofs_node *dir, const char *name,
			  unsigned int len)
{
	return erofs_hash_bytes((uintptr_t)dir, name, len);
}

static bool dent_eq(const void *item, const void *key)
{
	const struct tar_dent *d = item;
	const struct tar_dkey *k = key;
	const struct erofs_dentry *de = &d->dir->dents[d->idx];

	return d->dir == k->dir && !strncmp(de->name, k->name, k->len) &&
	       !de->name[k->len];
}

struct tar_dent *tar_find_dent(struct tar_reader *r,
			       const struct erofs_node *dir,
			       const char *name, unsigned int len)
{
	struct tar_dkey k = { dir, name, len };

	return erofs_hashmap_find(&r->dents, dkey_hash(dir, name, len),
				  dent_eq, &k);
}

/* a live name: a whiteout (merging layers) leaves a slot without a node */
static struct erofs_dentry *lookup(struct tar_reader *r,
				   const struct erofs_node *dir,
				   const char *name, unsigned int len)
{
	struct tar_dent *d = tar_find_dent(r, dir, name, len);

	return d && tar_dentry(d)->node ? tar_dentry(d) : NULL;
}

static int add_dentry(struct tar_reader *r, struct erofs_node *dir,
		      const char *name, unsigned int len,
		      struct erofs_node *child, struct erofs_dentry **out)
{
	struct erofs_dentry *arr;
	struct tar_dent *d;
	int err;

	d = malloc(sizeof(*d));
	arr = erofs_array_grow(dir->dents, dir->nr_dents, sizeof(*arr));
	if (!d || !arr) {
		free(d);
		if (arr)
			dir->dents = arr;
		return -ENOMEM;
	}
	dir->dents = arr;
	arr[dir->nr_dents].name = strndup(name, len);
	if (!arr[dir->nr_dents].name) {
		free(d);
		return -ENOMEM;
	}
	arr[dir->nr_dents].node = child;
	d->dir = dir;
	d->idx = dir->nr_dents;
	d->layer = r->layer;
	err = erofs_hashmap_insert(&r->dents, dkey_hash(dir, name, len), d);
	if (err) {
		free(arr[dir->nr_dents].name);
		free(d);
		return err;
	}
	*out = &arr[dir->nr_dents++];
	return 0;
}

/* @name now names @child: in the slot the name had, or a new one */
static int put_dentry(struct tar_reader *r, struct erofs_node *dir,
		      const char *name, unsigned int len,
		      struct erofs_node *child, struct erofs_dentry **out)
{
	struct tar_dent *d = tar_find_dent(r, dir, name, len);

	if (!d)
		return add_dentry(r, dir, name, len, child, out);
	d->layer = r->layer;
	*out = tar_dentry(d);
	(*out)->node = child;
	return 0;
}

static struct erofs_node *new_node(struct tar_reader *r, const char *path)
{
	struct erofs_node *n;

	if (r->nr_made == r->cap_made) {
		size_t cap = r->cap_made ? r->cap_made * 2 : 1024;
		struct erofs_node **arr = realloc(r->made, cap * sizeof(*arr));

		if (!arr)
			return NULL;
		r->made = arr;
		r->cap_made = cap;
	}
	n = erofs_node_alloc(NULL, false);	/* its type comes later */
	if (!n)
		return NULL;
	n->path = strdup(path);
	if (!n->path) {
		free(n);
		return NULL;
	}
	r->made[r->nr_made++] = n;
	return n;
}

/* a parent no entry gave, as erofs-utils makes it */
static int make_parent(struct tar_reader *r, struct erofs_node *dir,
		       const char *path, const char *name, unsigned int len,
		       struct erofs_dentry **out)
{
	struct erofs_node *n = new_node(r, path);

	if (!n)
		return -ENOMEM;
	n->mode = S_IFDIR | 0755 | (dir->mode & (S_IWGRP | S_IWOTH));
	n->uid = dir->uid;
	n->gid = dir->gid;
	n->mtime = dir->mtime;
	n->mtime_nsec = dir->mtime_nsec;
	n->parent = dir;
	return put_dentry(r, dir, name, len, n, out);
}

/*
 * The directory holding the last component of @path (normalised: no
 * empty, "." or ".." components), made if @create; *last is that
 * component.  NULL with *err = 0: some directory is missing.
 */
struct erofs_node *tar_walk_parent(struct tar_reader *r, const char *path,
				   bool create, const char **last,
				   int *err)
{
	struct erofs_node *dir = r->root;
	const char *p = path, *slash;
	struct erofs_dentry *d;
	char *sofar;

	*err = 0;
	while ((slash = strchr(p, '/'))) {
		d = lookup(r, dir, p, slash - p);
		if (!d && create) {
			sofar = strndup(path, slash - path);
			*err = sofar ? make_parent(r, dir, sofar, p, slash - p,
						   &d) : -ENOMEM;
			free(sofar);
			if (*err)
				return NULL;
		}
		if (!d)
			return NULL;
		if (!S_ISDIR(d->node->mode)) {
			*err = tar_bad_entry(r, -ENOTDIR,
					     "a path component is not a directory");
			return NULL;
		}
		dir = d->node;
		p = slash + 1;
	}
	*last = p;
	return dir;
}

/*
 * "./a//b/" -> "a/b"; "" is the root.  ".." is refused: a layer names
 * what is in it, never what is above it.
 */
static int normalise(struct tar_reader *r, char *path)
{
	char *in = path, *out = path;

	while (*in) {
		char *end = strchrnul(in, '/');
		size_t len = end - in;

		if (len == 2 && in[0] == '.' && in[1] == '.')
			return tar_bad_entry(r, -EINVAL, "path with a \"..\" component");
		if (len > EROFS_NAME_LEN)
			return tar_bad_entry(r, -ENAMETOOLONG,
					     "a name longer than 255 bytes");
		if (len && !(len == 1 && in[0] == '.')) {
			if (out != path)
				*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in = *end ? end + 1 : end;
	}
	*out = '\0';
	return 0;
}

/* -------------------------------------------------------------------- */
/* entries */


static bool node_has_xattr(const struct erofs_node *n, uint8_t index,
			   const char *name)
{
	unsigned int i;

	for (i = 0; i < n->nr_xattrs; i++)
		if (n->xattrs[i]->index == index &&
		    n->xattrs[i]->name_len == strlen(name) &&
		    !memcmp(n->xattrs[i]->name, name, strlen(name)))
			return true;
	return false;
}

/* adds trusted.overlay.NAME unless the node has it */
static int add_overlay_xattr(struct tar_reader *r, struct erofs_node *n,
			     const char *full, const char *value)
{
	if (r->o->xattr_tolerance < 0 ||
	    node_has_xattr(n, EROFS_XATTR_INDEX_TRUSTED,
			   full + strlen("trusted.")))
		return 0;
	return erofs_xattr_add(&r->b->xattrs, r->msg, n, n->path, full,
			       value, strlen(value));
}

static bool ext_has_xattr(const struct tar_ext *e, const char *name)
{
	unsigned int i;

	for (i = 0; i < e->nr_xattrs; i++)
		if (!strcmp(e->xattrs[i].name, name))
			return true;
	return false;
}

static int add_ext_xattrs(struct tar_reader *r, struct erofs_node *n,
			  const struct tar_ext *e, const struct tar_ext *over,
			  const char *path)
{
	unsigned int i;
	int err;

	for (i = 0; i < e->nr_xattrs; i++) {
		const struct tar_xattr *x = &e->xattrs[i];

		if ((r->o->ovlfs_strip && !strcmp(x->name, OVL_OPAQUE)) ||
		    (over && ext_has_xattr(over, x->name)))
			continue;
		err = erofs_xattr_add(&r->b->xattrs, r->msg, n, path,
				      x->name, x->value, x->len);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The entry's xattrs replace the node's: global records first, unless
 * the entry gives the same name.  An opaque mark from ".wh..wh..opq"
 * stays when the directory's own entry comes after it.
 */
static int set_xattrs(struct tar_reader *r, struct erofs_node *n,
		      const struct tar_entry *te)
{
	bool opaque = r->o->aufs && !r->o->ovlfs_strip &&
		      node_has_xattr(n, EROFS_XATTR_INDEX_TRUSTED,
				     OVL_OPAQUE + strlen("trusted."));
	int err;

	erofs_xattr_drop(n);
	if (r->o->xattr_tolerance < 0)
		return 0;
	err = add_ext_xattrs(r, n, &r->global, &r->ext, te->path);
	if (!err)
		err = add_ext_xattrs(r, n, &r->ext, NULL, te->path);
	if (!err && opaque)
		err = add_overlay_xattr(r, n, OVL_OPAQUE, "y");
	if (!err)
		erofs_xattr_sort(n);
	return err;
}

/* an uncompressed layout referring to data outside the image's own */
static int set_chunks(struct tar_reader *r, struct erofs_node *n,
		      uint64_t off, bool hole)
{
	unsigned int blkbits = r->o->blkszbits;
	unsigned int bits = blkbits;
	uint64_t i;

	/* one chunk for the whole file, as far as the format reaches */
	if (n->size > (1ULL << blkbits))
		bits = erofs_ilog2(n->size - 1) + 1;
	bits = MIN(bits, blkbits + EROFS_CHUNK_FORMAT_BLKBITS_MASK);
	n->chunkbits = bits;
	n->nr_chunks = DIV_ROUND_UP(n->size, 1ULL << bits);
	n->chunks = calloc(n->nr_chunks, sizeof(*n->chunks));
	if (!n->chunks)
		return -ENOMEM;
	for (i = 0; i < n->nr_chunks; i++) {
		uint64_t blk = (off >> blkbits) + (i << (bits - blkbits));

		if (!hole && blk >= EROFS_NULL_ADDR)
			return tar_bad_entry(r, -EFBIG,
					     "data past 2 TiB of the tar cannot be indexed");
		n->chunks[i] = hole ? EROFS_NULL_ADDR : blk;
	}
	n->datalayout = EROFS_INODE_CHUNK_BASED;
	n->chunk_device = hole ? 0 : r->device;
	n->data_ready = true;
	r->b->chunked = true;
	return 0;
}

int tar_spool_copy(struct tar_reader *r, uint64_t at, uint64_t len)
{
	uint8_t *buf;
	uint64_t pos;
	ssize_t n;
	int err = 0;

	if (r->spool_fd < 0) {
		r->spool_fd = erofs_tmpfile(r->msg,
					    "the spool file for tar data");
		if (r->spool_fd < 0)
			return r->spool_fd;
	}
	buf = len ? malloc(1U << 20) : NULL;
	if (len && !buf)
		return -ENOMEM;
	for (pos = 0; pos < len && !err; pos += n) {
		n = erofs_istream_read(&r->is, buf,
				       MIN(len - pos, (uint64_t)1 << 20));
		if (n <= 0) {
			err = stream_error(r, n, "data");
			break;
		}
		err = erofs_pwrite_full(r->spool_fd, buf, n, at + pos);
		if (err)
			erofs_err(r->msg, "%s: cannot write the spool file: %s",
				  entry_name(r), strerror(-err));
	}
	free(buf);
	return err;
}

/* the entry's data, as it streams by, to the end of the spool */
static int spool_data(struct tar_reader *r, struct erofs_node *n)
{
	int err = tar_spool_copy(r, r->spool_size, n->size);

	if (err)
		return err;
	n->tar_data = EROFS_TAR_DATA_SPOOL;
	n->data_off = r->spool_size;
	r->spool_size += n->size;
	return 0;
}

/*
 * Index mode: the data is addressed in the tar, or, with blocks larger
 * than the tar's, at the next block boundary of the device's view of it.
 */
static int index_data(struct tar_reader *r, struct erofs_node *n,
		      uint64_t off)
{
	int err;

	if (r->o->blkszbits != TAR_INDEX_BITS) {
		err = erofs_devmap_place(&r->map, off, n->size,
					 1U << r->o->blkszbits, &off);
		if (err)
			return tar_bad_entry(r, err,
					     "cannot map its data to a block boundary");
	}
	return set_chunks(r, n, off, false);
}

/* a mapped device's tag is its bytes' digest: the data is read, not skipped */
static int read_mapped_data(struct tar_reader *r, uint64_t len)
{
	uint8_t buf[65536];
	ssize_t n;

	for (; len; len -= n) {
		n = erofs_istream_read(&r->is, buf, MIN(len, (uint64_t)sizeof(buf)));
		if (n <= 0)
			return stream_error(r, n, "data");
		erofs_devmap_data(&r->map, buf, n);
	}
	return 0;
}

/* where a regular file's data will be read from; reads past it */
static int take_data(struct tar_reader *r, struct erofs_node *n,
		     struct tar_entry *te)
{
	uint64_t off = r->is.pos;
	int err = 0;

	if (te->sparse)
		return tar_sparse_take(r, n, te);
	if (!n->size)
		return 0;
	if (r->o->tar_mode == EROFS_TAR_HEADERBALL)
		return set_chunks(r, n, 0, true);
	te->consumed = true;
	if (r->o->tar_mode == EROFS_TAR_INDEX) {
		err = index_data(r, n, off);
		if (!err && r->o->blkszbits != TAR_INDEX_BITS)
			return read_mapped_data(r, n->size);
	} else if (!r->in_place) {
		return spool_data(r, n);
	} else {
		n->tar_data = EROFS_TAR_DATA_IN_TAR;
		n->data_off = off;
	}
	return err ? err : skip_exact(r, n->size, "data");
}

static int fill_node(struct tar_reader *r, struct erofs_node *n,
		     struct tar_entry *te)
{
	n->src_dev = 0;
	n->src_ino = 0;
	return erofs_node_fill_attrs(r->b, n, &te->st);
}

static void make_whiteout(struct tar_entry *te)
{
	te->st.st_mode = S_IFCHR;	/* no permission bits, as erofs-utils */
	te->st.st_rdev = 0;
	te->st.st_size = 0;
	te->type = '3';
}

/* ".wh.NAME" and ".wh..wh..opq" with --aufs: 1 if the entry is done */
static int aufs_entry(struct tar_reader *r, struct tar_entry *te,
		      struct erofs_node *dir, const char **name)
{
	int err;

	if (strncmp(*name, WH_PREFIX, strlen(WH_PREFIX)))
		return 0;
	if (!strcmp(*name, WH_OPAQUE)) {
		if (r->o->ovlfs_strip)
			return 1;
		err = add_overlay_xattr(r, dir, OVL_OPAQUE, "y");
		if (!err)
			erofs_xattr_sort(dir);
		return err ? err : 1;
	}
	/* other ".wh..wh." names are aufs' own bookkeeping */
	if (!strncmp(*name, WH_PREFIX WH_PREFIX, 2 * strlen(WH_PREFIX)))
		return 1;
	*name += strlen(WH_PREFIX);
	if (!**name)
		return tar_bad_entry(r, -EINVAL, "whiteout without a name");
	make_whiteout(te);
	return 0;
}

static int apply_hardlink(struct tar_reader *r, struct tar_entry *te,
			  struct erofs_node *dir, const char *name)
{
	struct erofs_dentry *d, *target = NULL;
	struct erofs_node *tdir;
	const char *tname;
	int err = 0;

	if (normalise(r, te->link))
		return -EINVAL;
	tdir = *te->link ? tar_walk_parent(r, te->link, false, &tname, &err) :
			   NULL;
	if (err)
		return err;
	if (tdir)
		target = lookup(r, tdir, tname, strlen(tname));
	if (!target)
		return tar_bad_entry(r, -ENOENT,
				     "hardlink to an entry not met before");
	if (S_ISDIR(target->node->mode))
		return tar_bad_entry(r, -EISDIR, "hardlink to a directory");
	return put_dentry(r, dir, name, strlen(name), target->node, &d);
}

static int apply_entry(struct tar_reader *r, struct tar_entry *te)
{
	struct erofs_node *dir, *n;
	struct erofs_dentry *d;
	const char *name;
	int err;

	if (normalise(r, te->path))
		return -EINVAL;
	if (!*te->path) {		/* "./": the root's own attributes */
		if (!S_ISDIR(te->st.st_mode))
			return tar_bad_entry(r, -ENOTDIR, "the root is not a directory");
		err = fill_node(r, r->root, te);
		return err ? err : set_xattrs(r, r->root, te);
	}
	if (r->merge) {
		err = tar_merge_whiteout(r, te->path);
		if (err)
			return err < 0 ? err : 0;
	}
	dir = tar_walk_parent(r, te->path, true, &name, &err);
	if (!dir)
		return err;
	if (r->o->aufs && !r->merge) {
		err = aufs_entry(r, te, dir, &name);
		if (err)
			return err < 0 ? err : 0;
	}
	if (te->type == '1')
		return apply_hardlink(r, te, dir, name);
	d = lookup(r, dir, name, strlen(name));
	if (d && S_ISDIR(d->node->mode) && S_ISDIR(te->st.st_mode)) {
		/* a directory again: its entries stay, its attributes change */
		tar_find_dent(r, dir, name, strlen(name))->layer = r->layer;
		err = fill_node(r, d->node, te);
		return err ? err : set_xattrs(r, d->node, te);
	}
	n = new_node(r, te->path);
	if (!n)
		return -ENOMEM;
	err = fill_node(r, n, te);
	if (err)
		return err;
	n->parent = dir;
	if (S_ISLNK(te->st.st_mode)) {
		n->symlink = strdup(te->link);
		if (!n->symlink)
			return -ENOMEM;
		n->size = strlen(te->link);
	}
	err = set_xattrs(r, n, te);
	if (!err && S_ISREG(n->mode))
		err = take_data(r, n, te);
	if (err)
		return err;
	/* a later entry replaces the earlier */
	return put_dentry(r, dir, name, strlen(name), n, &d);
}

static int entry_mode(struct tar_reader *r, struct tar_entry *te)
{
	mode_t type;

	switch (te->type) {
	case '0': case '\0': case '7':
		type = S_IFREG;
		/* pre-POSIX tars mark directories by a trailing slash */
		if (te->type != '7' && *te->path &&
		    te->path[strlen(te->path) - 1] == '/')
			type = S_IFDIR;
		break;
	case '1':	type = S_IFREG; break;
	case '2':	type = S_IFLNK; break;
	case '3':	type = S_IFCHR; break;
	case '4':	type = S_IFBLK; break;
	case '5': case 'D':	/* GNU dumpdir: its listing is skipped */
		type = S_IFDIR;
		break;
	case '6':	type = S_IFIFO; break;
	case 'S':	type = S_IFREG; break;	/* GNU sparse */
	default:
		erofs_warn(r->msg, "%s: unknown tar entry type '%c', read as a regular file",
			   entry_name(r), te->type);
		type = S_IFREG;
	}
	te->st.st_mode = (te->st.st_mode & 07777) | type;
	return 0;
}

static int header_number(struct tar_reader *r, const char *f, size_t len,
			 bool is_signed, int64_t *v, const char *what)
{
	char why[64];

	if (!tar_parse_number(f, len, is_signed, v))
		return 0;
	snprintf(why, sizeof(why), "bad %s field in the header", what);
	return tar_bad_entry(r, -EINVAL, why);
}

/* the entry from the header and the extension records before it */
static int parse_entry(struct tar_reader *r, const struct tar_header *h,
		       struct tar_entry *te)
{
	const struct tar_ext *x = &r->ext, *g = &r->global;
	bool ustar = !memcmp(h->magic, "ustar\0", 6);
	int64_t mode, uid, gid, size, mtime, maj = 0, min = 0;
	int err;

	te->type = h->typeflag;
	if (te->type == 'S') {
		err = tar_sparse_gnu_header(r, (const uint8_t *)h);
		if (err)
			return err;
	}
	te->sparse = x->sparse.on;
	if (x->sparse.name) {
		te->path = strdup(x->sparse.name);
	} else if (x->path) {
		te->path = strdup(x->path);
	} else if (ustar && h->prefix[0]) {
		char *pre = field_str(h->prefix, sizeof(h->prefix));
		char *nm = field_str(h->name, sizeof(h->name));

		if (pre && nm && asprintf(&te->path, "%s/%s", pre, nm) < 0)
			te->path = NULL;
		free(pre);
		free(nm);
	} else {
		te->path = field_str(h->name, sizeof(h->name));
	}
	te->link = x->link ? strdup(x->link) :
			     field_str(h->linkname, sizeof(h->linkname));
	if (!te->path || !te->link)
		return -ENOMEM;
	free(r->entry);
	r->entry = strdup(te->path);
	if (!r->entry)
		return -ENOMEM;
	err = header_number(r, h->mode, sizeof(h->mode), false, &mode, "mode");
	if (!err)
		err = header_number(r, h->uid, sizeof(h->uid), false, &uid, "uid");
	if (!err)
		err = header_number(r, h->gid, sizeof(h->gid), false, &gid, "gid");
	if (!err)
		err = header_number(r, h->size, sizeof(h->size), false, &size,
				    "size");
	if (!err)
		err = header_number(r, h->mtime, sizeof(h->mtime), true, &mtime,
				    "mtime");
	if (!err && (te->type == '3' || te->type == '4')) {
		err = header_number(r, h->devmajor, sizeof(h->devmajor), false,
				    &maj, "devmajor");
		if (!err)
			err = header_number(r, h->devminor, sizeof(h->devminor),
					    false, &min, "devminor");
	}
	if (err)
		return err;
	memset(&te->st, 0, sizeof(te->st));
	te->st.st_mode = mode;
	te->st.st_uid = x->has_uid ? x->uid : g->has_uid ? g->uid : uid;
	te->st.st_gid = x->has_gid ? x->gid : g->has_gid ? g->gid : gid;
	if ((!x->has_uid && !g->has_uid && uid > UINT32_MAX) ||
	    (!x->has_gid && !g->has_gid && gid > UINT32_MAX))
		return tar_bad_entry(r, -ERANGE, "uid or gid beyond 32 bits");
	te->size = x->has_size ? x->size : (uint64_t)size;
	if (x->has_mtime) {
		te->st.st_mtim.tv_sec = x->mtime;
		te->st.st_mtim.tv_nsec = x->mtime_nsec;
	} else if (g->has_mtime) {
		te->st.st_mtim.tv_sec = g->mtime;
		te->st.st_mtim.tv_nsec = g->mtime_nsec;
	} else {
		te->st.st_mtim.tv_sec = mtime;
	}
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return tar_bad_entry(r, -ERANGE, "device number out of range");
	te->st.st_rdev = makedev(maj, min);
	te->st.st_nlink = 1;
	err = entry_mode(r, te);
	if (err)
		return err;
	/* a headerball carries no file data; extension records it does */
	te->in_stream = te->size &&
			!(r->o->tar_mode == EROFS_TAR_HEADERBALL &&
			  S_ISREG(te->st.st_mode));
	if (te->sparse && !S_ISREG(te->st.st_mode))
		return tar_bad_entry(r, -EINVAL, "GNU sparse map on a non-file");
	if (S_ISREG(te->st.st_mode) && te->type != '1')
		te->st.st_size = te->sparse ? x->sparse.realsize : te->size;
	return 0;
}

static void entry_free(struct tar_entry *te)
{
	free(te->path);
	free(te->link);
}

static int do_entry(struct tar_reader *r, const struct tar_header *h)
{
	struct tar_entry te = { 0 };
	int err;

	err = parse_entry(r, h, &te);
	if (!err)
		err = apply_entry(r, &te);
	/* data no node took (a whiteout's, a link's, a duplicate's) */
	if (!err && te.in_stream && !te.consumed)
		err = skip_exact(r, te.size, "data");
	if (!err && te.in_stream)
		err = skip_exact(r, padding(te.size), "padding");
	entry_free(&te);
	ext_reset(&r->ext);
	return err;
}

/* a header of no meaning here (volume label, multivolume continuation) */
static int skip_header_data(struct tar_reader *r, const struct tar_header *h)
{
	int64_t size;
	int err;

	err = header_number(r, h->size, sizeof(h->size), false, &size, "size");
	if (!err)
		err = skip_exact(r, size + padding(size), "data");
	return err;
}

/* the data of a 'x', 'g', 'L' or 'K' header */
static int do_extension(struct tar_reader *r, const struct tar_header *h)
{
	int64_t size;
	char *buf;
	int err;

	err = header_number(r, h->size, sizeof(h->size), false, &size, "size");
	if (!err)
		err = read_records(r, size, &buf);
	if (err)
		return err;
	switch (h->typeflag) {
	case 'x':
		err = parse_pax(r, buf, size, false);
		break;
	case 'g':
		err = parse_pax(r, buf, size, true);
		break;
	case 'L':
		err = replace_str(&r->ext.path, buf, strnlen(buf, size));
		break;
	case 'K':
		err = replace_str(&r->ext.link, buf, strnlen(buf, size));
		break;
	}
	free(buf);
	return err;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/* past the end-of-archive block: the rest is padding, read to the end */
static int finish_stream(struct tar_reader *r)
{
	uint64_t extra;
	int err;

	char *last = r->entry;

	/* a gzip or xz check fails only here: name what came last */
	if (asprintf(&r->entry, "end of archive (after %s)",
		     last ? last : "no entry") < 0)
		r->entry = NULL;
	free(last);
	err = erofs_istream_drain(&r->is, &extra);
	if (err)
		return stream_error(r, err, "padding");
	return 0;
}

static int read_entries(struct tar_reader *r)
{
	uint8_t blk[TAR_BLOCK];
	const struct tar_header *h = (const void *)blk;
	bool extensions = false;
	ssize_t n;
	int err;

	for (;;) {
		/* an entry starts at its first extension header */
		if (!extensions)
			r->entry_pos = r->is.pos;
		n = erofs_istream_read(&r->is, blk, sizeof(blk));
		if (n != sizeof(blk)) {
			if (n < 0)
				return stream_error(r, n, "header");
			erofs_err(r->msg, "tar stream truncated after %s (at byte %llu): no end-of-archive blocks",
				  entry_name(r), (unsigned long long)r->is.pos);
			return -EIO;
		}
		erofs_progress_update(&r->b->progress, r->progress_what,
				      erofs_istream_consumed(&r->is),
				      r->is.file_size);
		if (all_zero(blk, sizeof(blk)))
			return finish_stream(r);
		if (!checksum_ok(blk)) {
			if (!r->entry)
				erofs_err(r->msg, "%s: not a tar stream (a compressed one needs --ungzip, --unxz or --unzstd)",
					  r->is.name);
			else
				erofs_err(r->msg, "bad tar header checksum at byte %llu, after %s: corrupt",
					  (unsigned long long)r->entry_pos,
					  entry_name(r));
			return -EIO;
		}
		extensions = h->typeflag && strchr("xLK", h->typeflag);
		if (h->typeflag && strchr("xgLK", h->typeflag))
			err = do_extension(r, h);
		else if (h->typeflag && strchr("VNM", h->typeflag))
			err = skip_header_data(r, h);
		else
			err = do_entry(r, h);
		if (err)
			return err;
	}
}

/* -------------------------------------------------------------------- */

/* a whiteout's directory gets overlay's origin mark; --ovlfs-strip drops them */
static int overlay_finish(struct tar_reader *r, struct erofs_node *dir)
{
	unsigned int i, kept = 0;
	bool whiteouts = false;
	int err;

	for (i = 0; i < dir->nr_dents; i++) {
		struct erofs_node *c = dir->dents[i].node;
		bool wh = S_ISCHR(c->mode) && !c->rdev;

		whiteouts |= wh;
		if (wh && r->o->ovlfs_strip) {
			free(dir->dents[i].name);
			continue;
		}
		dir->dents[kept++] = dir->dents[i];
	}
	dir->nr_dents = kept;
	if (!whiteouts || r->o->ovlfs_strip)
		return 0;
	err = add_overlay_xattr(r, dir, OVL_ORIGIN, "");
	if (!err)
		erofs_xattr_sort(dir);
	return err;
}

static int finish_tree(struct tar_reader *r)
{
	struct erofs_builder *b = r->b;
	size_t i;
	int err;

	for (i = 0; i < r->nr_made; i++) {
		struct erofs_node *n = r->made[i];

		if (!S_ISDIR(n->mode))
			continue;
		tar_merge_compact(n);
		err = overlay_finish(r, n);
		if (err)
			return err;
		erofs_sort_dents(n);
	}
	b->root = r->root;
	return erofs_tree_order(b, r->root);
}

/*
 * After an index-mode layer's entries: its device is the uncompressed tar,
 * tagged with its digest (the diff_id), or its block-aligned view, tagged
 * with the view's and mapped in the annex; the device's digest table and
 * a gzip or zstd layer's checkpoints go to the annex for on-demand readers.
 */
int tar_index_layer(struct tar_reader *r, struct erofs_build_device *dev)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char hex[65];
	uint64_t blocks = DIV_ROUND_UP(r->is.pos, 1U << TAR_INDEX_BITS);
	int err;

	erofs_sha256_final(&r->digest, digest);
	erofs_sha256_hex(digest, hex);
	memcpy(r->diff_id, hex, sizeof(r->diff_id));
	if (r->o->blkszbits != TAR_INDEX_BITS) {
		err = erofs_devmap_finish(&r->map, r->is.pos, digest, &blocks,
					  1U << r->o->blkszbits, &r->b->annex,
					  r->device, hex);
		erofs_devmap_free(&r->map);
		if (err)
			return stream_error(r, err, "device map");
	}
	if (blocks > UINT32_MAX)
		return tar_bad_entry(r, -EFBIG, "tar larger than 2 TiB");
	err = erofs_layer_gzip_finish(&r->gz, &r->is, digest, &r->b->annex,
				      r->device);
	if (err == -ENOTSUP)
		erofs_warn(r->msg, "%s: a zstd stream of one frame cannot be entered but at its start: no index, its device can only be served uncompressed",
			   r->is.name);
	else if (err)
		return stream_error(r, err, "index");
	memcpy(dev->tag, hex, 64);
	dev->blocks = blocks;
	return erofs_digest_builder_emit(&r->units, &r->b->annex, r->device);
}

/*
 * A gzip (or zstd) layer read for --tar=i (or --gzinfo) gets its
 * checkpoints recorded as it goes by: no second pass over the blob.
 */
static int start_gzip_index(struct tar_reader *r, const char *name)
{
	const struct erofs_build_options *o = r->o;
	int err;

	if (o->tar_need_gzip && r->is.codec != EROFS_ISTREAM_CODEC_GZIP) {
		erofs_err(r->msg, "%s: --gzinfo needs a gzip stream, this is %s",
			  name, erofs_istream_codec_name(r->is.codec));
		return -EINVAL;
	}
	if (o->tar_mode != EROFS_TAR_INDEX && !o->gzinfo_path)
		return 0;
	if (o->gzinfo_path && o->nr_tar_paths > 1) {
		erofs_err(r->msg, "--gzinfo describes one layer, not %u",
			  o->nr_tar_paths);
		return -EINVAL;
	}
	if (r->is.codec == EROFS_ISTREAM_CODEC_XZ) {
		/* no checkpoints for xz here: the tar must be served as is */
		erofs_warn(r->msg, "%s: a %s stream gets no random-access index: its device can only be served uncompressed",
			   name, erofs_istream_codec_name(r->is.codec));
		return 0;
	}
	if (o->gzinfo_path) {
		r->zinfo_fd = open(o->gzinfo_path,
				   O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (r->zinfo_fd < 0) {
			err = -errno;
			erofs_err(r->msg, "%s: cannot create: %s",
				  o->gzinfo_path, strerror(errno));
			return err;
		}
	}
	err = erofs_layer_gzip_start(&r->gz, &r->is, o->gzip_span,
				     r->zinfo_fd);
	if (err)
		erofs_err(r->msg, "%s: cannot index the %s stream: %s",
			  name, erofs_istream_codec_name(r->is.codec),
			  strerror(-err));
	return err;
}

/* before a layer's entries: what index mode records as they go by */
int tar_layer_begin(struct tar_reader *r, const char *name)
{
	if (r->o->tar_mode == EROFS_TAR_INDEX) {
		erofs_sha256_init(&r->digest);
		r->is.digest = &r->digest;
		/* each layer's device gets a table of its own */
		erofs_digest_builder_free(&r->units);
		erofs_digest_builder_init(&r->units, r->o->digest_unit_bits);
		erofs_devmap_start(&r->map);
		/* a block-aligned view's table is of the view, not the tar */
		if (r->o->blkszbits != TAR_INDEX_BITS)
			r->map.units = &r->units;
		else
			r->is.units = &r->units;
	}
	return start_gzip_index(r, name);
}

static int open_input(struct tar_reader *r, const char *path)
{
	const struct erofs_build_options *o = r->o;
	const char *name = path ? path : "standard input";
	int raw_fd = -1, err;

	r->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	r->fd_owned = path && r->fd >= 0;
	if (r->fd < 0) {
		err = -errno;
		erofs_err(r->msg, "%s: cannot open: %s", name, strerror(errno));
		return err;
	}
	if (o->tar_raw_copy) {
		raw_fd = open(o->tar_raw_copy,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (raw_fd < 0) {
			err = -errno;
			erofs_err(r->msg, "%s: cannot create: %s",
				  o->tar_raw_copy, strerror(errno));
			return err;
		}
	}
	err = erofs_istream_open(&r->is, r->msg, r->fd, name, o->tar_codecs,
				 raw_fd);
	if (err)
		return err;
	err = tar_layer_begin(r, name);
	if (err)
		return err;
	/* a plain tar file is read again in place; a stream is spooled */
	r->in_place = o->tar_mode == EROFS_TAR_FULL && r->is.seekable &&
		      r->is.codec == EROFS_ISTREAM_RAW && o->nr_tar_paths <= 1;
	return 0;
}

static void close_input(struct tar_reader *r)
{
	erofs_layer_gzip_exit(&r->gz);
	erofs_istream_close(&r->is);
	if (r->is.raw_fd >= 0)
		close(r->is.raw_fd);
	r->is.raw_fd = -1;
	if (r->fd_owned)
		close(r->fd);
	r->fd = -1;
	r->fd_owned = false;
}

static int make_root(struct tar_reader *r)
{
	const struct erofs_build_options *o = r->o;
	struct erofs_node *n = new_node(r, "/");

	if (!n)
		return -ENOMEM;
	/* as erofs-utils: the tar's own "./" entry may say otherwise */
	n->mode = S_IFDIR | 0777;
	n->uid = o->force_uid >= 0 ? o->force_uid : o->all_root ? 0 : getuid();
	n->gid = o->force_gid >= 0 ? o->force_gid : o->all_root ? 0 : getgid();
	n->mtime = o->build_time;
	n->mtime_nsec = o->build_time_nsec;
	r->root = n;
	return 0;
}

void tar_reader_exit(struct tar_reader *r)
{
	size_t i;

	if (r->spool_fd >= 0)
		close(r->spool_fd);
	r->spool_fd = -1;
	erofs_devmap_free(&r->map);

	/* reached nodes belong to the builder now; the rest were replaced */
	for (i = 0; i < r->nr_made; i++) {
		if (r->made[i]->ino)
			continue;
		erofs_xattr_drop(r->made[i]);
		erofs_node_free(r->made[i]);
	}
	free(r->made);
	for (i = 0; r->dents.slots && i <= r->dents.mask; i++)
		free(r->dents.slots[i].item);
	erofs_hashmap_exit(&r->dents);
	ext_reset(&r->ext);
	ext_reset(&r->global);
	free(r->entry);
	erofs_digest_builder_free(&r->units);
	close_input(r);
	if (r->zinfo_fd >= 0)
		close(r->zinfo_fd);
}

int tar_reader_init(struct tar_reader *r, struct erofs_builder *b)
{
	memset(r, 0, sizeof(*r));
	r->b = b;
	r->msg = b->msg;
	r->o = b->opts;
	r->fd = -1;
	r->spool_fd = -1;
	r->zinfo_fd = -1;
	r->is.raw_fd = -1;
	r->device = 1;
	r->progress_what = "reading tar (bytes)";
	b->src_root = "";
	return erofs_hashmap_init(&r->dents) ?: make_root(r);
}

/* one tar stream, r->is, into the tree; for layers, called once each */
int tar_read_layer(struct tar_reader *r)
{
	int err;

	/* global PAX records and messages belong to one stream */
	ext_reset(&r->global);
	ext_reset(&r->ext);
	free(r->entry);
	r->entry = NULL;
	err = read_entries(r);
	erofs_progress_done(&r->b->progress);
	return err;
}

/* the tree and the data's whereabouts to the builder */
int tar_reader_finish(struct tar_reader *r)
{
	struct erofs_builder *b = r->b;
	int err = finish_tree(r);

	if (!err && r->in_place) {
		b->tar_data_fd[0] = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
		if (b->tar_data_fd[0] < 0)
			err = -errno;
	}
	if (!err) {
		b->tar_data_fd[1] = r->spool_fd;
		r->spool_fd = -1;
	}
	return err;
}

/*
 * One tar, or several merged as image layers are (whiteouts applied),
 * each then its own device in index mode, as mkfs --oci=i makes them.
 */
int erofs_tar_tree(struct erofs_builder *b)
{
	const struct erofs_build_options *o = b->opts;
	unsigned int i, n = MAX(o->nr_tar_paths, 1U);
	struct tar_reader r;
	int err;

	err = tar_reader_init(&r, b);
	r.merge = n > 1;
	if (!err && o->tar_mode == EROFS_TAR_INDEX) {
		b->devices = calloc(n, sizeof(*b->devices));
		if (!b->devices)
			err = -ENOMEM;
		else
			b->nr_devices = n;
	}
	for (i = 0; !err && i < n; i++) {
		r.layer = i;
		r.device = i + 1;
		err = open_input(&r, o->nr_tar_paths ? o->tar_paths[i] : NULL);
		if (!err)
			err = tar_read_layer(&r);
		if (!err && o->tar_mode == EROFS_TAR_INDEX)
			err = tar_index_layer(&r, &b->devices[i]);
		else if (!err)	/* --gzinfo alone */
			err = erofs_layer_gzip_finish(&r.gz, &r.is, NULL,
						      NULL, 0);
		/* a single plain tar stays open: its data is read in place */
		if (n > 1)
			close_input(&r);
	}
	if (!err)
		err = tar_reader_finish(&r);
	tar_reader_exit(&r);
	return err;
}
