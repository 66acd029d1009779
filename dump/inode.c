// SPDX-License-Identifier: GPL-2.0-or-later
/* dump.erofs --nid / --path: one inode, its xattrs, extents, entries. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dump.h"

#define LABEL	"%-20s"

struct xattr_out {
	struct dump_ctx *d;
	unsigned int count;
	int err;
};

static int print_xattr(void *arg, unsigned int index, const char *name,
		       unsigned int name_len, const void *value,
		       unsigned int value_len)
{
	struct xattr_out *x = arg;
	struct dump_ctx *d = x->d;
	char full[EROFS_XATTR_NAME_MAX];
	int len = erofs_xattr_full_name(&d->img, index, name, name_len, full);

	if (len == -ENODATA) {
		/* a long prefix in no namespace: the kernel hides it */
		const struct erofs_xattr_prefix *pf =
			&d->img.prefixes[index & EROFS_XATTR_LONG_PREFIX_MASK];

		snprintf(full, sizeof(full), "(no namespace)%.*s%.*s",
			 pf->infix_len, pf->infix, (int)name_len, name);
		len = strlen(full);
	} else if (len < 0) {
		/* an unknown prefix: show the index, keep going */
		snprintf(full, sizeof(full), "(prefix %u)", index);
		len = strlen(full);
		x->err = -EFSCORRUPTED;
	}
	x->count++;
	if (d->json) {
		erofs_json_open(&d->js, NULL, '{');
		erofs_json_strn(&d->js, "name", full, len);
		erofs_json_strn(&d->js, "value", value, value_len);
		erofs_json_u64(&d->js, "value_size", value_len);
		erofs_json_close(&d->js, '}');
		return 0;
	}
	printf("  ");
	put_escaped(full, len);
	printf(" = \"");
	put_escaped(value, value_len);
	printf("\" (%u bytes)\n", value_len);
	return 0;
}

static int show_xattrs(struct dump_ctx *d, const struct erofs_inode_info *vi)
{
	struct xattr_out x = { .d = d };
	int err;

	if (d->json)
		erofs_json_open(&d->js, "xattrs", '[');
	else
		printf("Xattrs:\n");
	err = erofs_iterate_xattrs(&d->img, vi, print_xattr, &x);
	if (d->json)
		erofs_json_close(&d->js, ']');
	else if (!x.count)
		printf("  (none)\n");
	return err ? err : x.err;
}

static int read_symlink(struct dump_ctx *d, const struct erofs_inode_info *vi,
			char *buf)
{
	/* erofs_read_inode() bounds a symlink to EROFS_SYMLINK_MAX bytes */
	ssize_t n = erofs_pread_file(&d->img, vi, buf, vi->size, 0);

	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

static void text_core(const struct erofs_inode_info *vi, const char *path)
{
	unsigned int major, minor;
	char mode[11], when[64];

	if (path)
		printf(LABEL "%s\n", "Path:", path);
	if (vi->in_metabox)
		printf(LABEL "%llu (in the metabox, slot %llu)\n", "NID:",
		       (unsigned long long)vi->nid,
		       (unsigned long long)(vi->nid & EROFS_DIRENT_NID_MASK));
	else
		printf(LABEL "%llu\n", "NID:", (unsigned long long)vi->nid);
	printf(LABEL "%s%s\n", "Type:", type_name(vi->mode),
	       vi->dot_omitted ? " (no \".\" entry: dot-omitted)" : "");
	printf(LABEL "%s (%u)\n", "Layout:",
	       erofs_datalayout_name(vi->datalayout), vi->datalayout);
	printf(LABEL "%s (%u bytes)%s, xattrs %u bytes\n", "Inode:",
	       vi->extended ? "extended" : "compact", vi->inode_isize,
	       !vi->extended && !S_ISDIR(vi->mode) &&
	       (vi->i_format >> EROFS_I_NLINK_1_BIT) & 1 ?
	       " with nlink 1 implied" : "", vi->xattr_isize);
	mode_string(vi->mode, mode);
	printf(LABEL "%04o (%s)\n", "Mode:", vi->mode & 07777, mode);
	printf(LABEL "uid %u, gid %u\n", "Owner:", vi->uid, vi->gid);
	printf(LABEL "%u\n", "Links:", vi->nlink);
	printf(LABEL "%llu\n", "Size:", (unsigned long long)vi->size);
	format_time(vi->mtime, vi->mtime_nsec, when, sizeof(when));
	printf(LABEL "%s%s\n", "Mtime:", when,
	       vi->extended ? "" : " (compact inode: from the epoch)");
	printf(LABEL "%u\n", "Ino:", vi->ino);
	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode)) {
		erofs_decode_dev(vi->rdev, &major, &minor);
		printf(LABEL "%u:%u\n", "Device:", major, minor);
	}
	if (erofs_inode_is_compressed(vi))
		printf(LABEL "%llu\n", "Compressed blocks:",
		       (unsigned long long)vi->compressed_blocks);
	if (vi->datalayout == EROFS_INODE_CHUNK_BASED)
		printf(LABEL "%llu bytes%s\n", "Chunks:",
		       1ULL << vi->chunkbits,
		       vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES ?
		       ", indexes" : ", block map");
}

static void json_core(struct dump_ctx *d, const struct erofs_inode_info *vi,
		      const char *path)
{
	struct erofs_json *js = &d->js;
	unsigned int major, minor;

	if (path)
		erofs_json_str(js, "path", path);
	else
		erofs_json_null(js, "path");
	erofs_json_u64(js, "nid", vi->nid);
	erofs_json_str(js, "type", type_name(vi->mode));
	erofs_json_str(js, "layout", erofs_datalayout_name(vi->datalayout));
	erofs_json_u64(js, "datalayout", vi->datalayout);
	erofs_json_bool(js, "extended", vi->extended);
	erofs_json_bool(js, "in_metabox", vi->in_metabox);
	erofs_json_bool(js, "dot_omitted", vi->dot_omitted);
	erofs_json_u64(js, "inode_size", vi->inode_isize);
	erofs_json_u64(js, "xattr_size", vi->xattr_isize);
	erofs_json_u64(js, "mode", vi->mode);
	erofs_json_u64(js, "uid", vi->uid);
	erofs_json_u64(js, "gid", vi->gid);
	erofs_json_u64(js, "nlink", vi->nlink);
	erofs_json_u64(js, "size", vi->size);
	erofs_json_i64(js, "mtime", vi->mtime);
	erofs_json_u64(js, "mtime_nsec", vi->mtime_nsec);
	erofs_json_u64(js, "ino", vi->ino);
	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode)) {
		erofs_decode_dev(vi->rdev, &major, &minor);
		erofs_json_u64(js, "major", major);
		erofs_json_u64(js, "minor", minor);
	}
	if (erofs_inode_is_compressed(vi))
		erofs_json_u64(js, "compressed_blocks", vi->compressed_blocks);
	if (vi->datalayout == EROFS_INODE_CHUNK_BASED)
		erofs_json_u64(js, "chunk_size", 1ULL << vi->chunkbits);
}

static const char *extent_kind(const struct erofs_map *m)
{
	if (!(m->flags & EROFS_MAP_MAPPED))
		return "hole";
	if (m->flags & EROFS_MAP_FRAGMENT)
		return "fragment";
	if (m->flags & EROFS_MAP_ENCODED)
		return erofs_algorithm_name(m->algorithm);
	return m->flags & EROFS_MAP_META ? "inline" : "plain";
}

static void text_extent(struct dump_ctx *d, unsigned long long i,
			const struct erofs_map *m)
{
	/* an inline (ztailpacking) pcluster takes no block of its own */
	uint64_t blocks = m->flags & EROFS_MAP_META ? 0 :
			  m->plen >> d->img.blkszbits;

	printf("%5llu: %10llu..%-10llu -> ", i, (unsigned long long)m->la,
	       (unsigned long long)(m->la + m->llen));
	if (!(m->flags & EROFS_MAP_MAPPED)) {
		printf("hole\n");
		return;
	}
	/* pa is an offset in the packed inode's content, on no device */
	if (m->flags & EROFS_MAP_FRAGMENT) {
		printf("packed %10llu..%-10llu  fragment%s\n",
		       (unsigned long long)m->pa,
		       (unsigned long long)(m->pa + m->plen),
		       m->la ? "" : " (whole file)");
		return;
	}
	printf("dev %u  %10llu..%-10llu", m->device, (unsigned long long)m->pa,
	       (unsigned long long)(m->pa + m->plen));
	if (m->flags & EROFS_MAP_ENCODED)
		printf("  %8llu bytes, %llu blocks", (unsigned long long)m->plen,
		       (unsigned long long)blocks);
	/* stored rotated, or only the start of what the pcluster decodes to */
	printf("  %s%s%s\n", extent_kind(m),
	       m->flags & EROFS_MAP_INTERLACED ? " interlaced" : "",
	       m->flags & EROFS_MAP_PARTIAL_REF ? " partial" : "");
}

static void json_extent(struct dump_ctx *d, const struct erofs_map *m)
{
	bool encoded = m->flags & EROFS_MAP_ENCODED;
	bool meta = m->flags & EROFS_MAP_META;
	struct erofs_json *js = &d->js;

	erofs_json_open(js, NULL, '{');
	erofs_json_u64(js, "logical", m->la);
	erofs_json_u64(js, "length", m->llen);
	erofs_json_bool(js, "mapped", m->flags & EROFS_MAP_MAPPED);
	erofs_json_str(js, "kind", extent_kind(m));
	if (m->flags & EROFS_MAP_FRAGMENT) {
		erofs_json_u64(js, "packed_nid", d->img.packed_nid);
		erofs_json_u64(js, "packed_offset", m->pa);
		erofs_json_bool(js, "whole_file", !m->la);
	} else if (m->flags & EROFS_MAP_MAPPED) {
		erofs_json_u64(js, "device", m->device);
		erofs_json_u64(js, "physical", m->pa);
		erofs_json_u64(js, "physical_length", m->plen);
		erofs_json_bool(js, "inline", meta);
		erofs_json_bool(js, "compressed", encoded &&
				m->algorithm < Z_EROFS_COMPRESSION_MAX);
		if (encoded) {
			erofs_json_u64(js, "pcluster_blocks", meta ? 0 :
				       m->plen >> d->img.blkszbits);
			erofs_json_bool(js, "interlaced",
					m->flags & EROFS_MAP_INTERLACED);
			erofs_json_bool(js, "partial_ref",
					m->flags & EROFS_MAP_PARTIAL_REF);
		}
	}
	erofs_json_close(js, '}');
}

static int show_extents(struct dump_ctx *d, const struct erofs_inode_info *vi)
{
	unsigned long long n = 0;
	struct erofs_map m;
	uint64_t off = 0;
	int err = 0;

	if (d->json)
		erofs_json_open(&d->js, "extents", '[');
	else
		printf("Extents (logical -> device, physical, compressed length, pcluster blocks, algorithm;\n"
		       "         fragments: their range in the packed inode):\n");
	while (off < vi->size) {
		err = erofs_map_blocks(&d->img, vi, off, &m);
		if (err)
			break;
		if (d->json)
			json_extent(d, &m);
		else
			text_extent(d, n, &m);
		n++;
		off = m.la + m.llen;
	}
	if (d->json)
		erofs_json_close(&d->js, ']');
	else
		printf("%llu extent(s)\n", n);
	return err;
}

static int print_dirent(void *arg, const char *name, unsigned int len,
			uint64_t nid, unsigned int ftype)
{
	struct dump_ctx *d = arg;

	if (d->json) {
		erofs_json_open(&d->js, NULL, '{');
		erofs_json_strn(&d->js, "name", name, len);
		erofs_json_u64(&d->js, "nid", nid);
		erofs_json_str(&d->js, "type", ftype_name(ftype));
		erofs_json_close(&d->js, '}');
		return 0;
	}
	printf("%12llu  %-8s ", (unsigned long long)nid, ftype_name(ftype));
	put_escaped(name, len);
	putchar('\n');
	return 0;
}

static int show_dir(struct dump_ctx *d, const struct erofs_inode_info *vi)
{
	int err;

	if (!S_ISDIR(vi->mode)) {
		erofs_err(&d->cfg->msg, "--ls: nid %llu is a %s, not a directory",
			  (unsigned long long)vi->nid, type_name(vi->mode));
		return -ENOTDIR;
	}
	if (d->json)
		erofs_json_open(&d->js, "entries", '[');
	else
		printf("Entries:\n%12s  %-8s %s\n", "NID", "TYPE", "NAME");
	err = erofs_iterate_dir(&d->img, vi, EROFS_NID_UNKNOWN, print_dirent,
				d);
	if (d->json)
		erofs_json_close(&d->js, ']');
	return err;
}

static int show_body(struct dump_ctx *d, const struct erofs_inode_info *vi)
{
	char target[EROFS_SYMLINK_MAX + 1];
	int err = 0, err2;

	if (S_ISLNK(vi->mode)) {
		err = read_symlink(d, vi, target);
		if (err >= 0 && d->json)
			erofs_json_strn(&d->js, "target", target, err);
		else if (err >= 0) {
			printf(LABEL, "Target:");
			put_escaped(target, err);
			putchar('\n');
		}
		err = err < 0 ? err : 0;
	}
	err2 = show_xattrs(d, vi);
	err = err ? err : err2;
	if (d->cfg->extents) {
		err2 = show_extents(d, vi);
		err = err ? err : err2;
	}
	if (d->cfg->ls) {
		err2 = show_dir(d, vi);
		err = err ? err : err2;
	}
	return err;
}

/* the packed inode is in no directory: say what it is */
static void show_packed_role(struct dump_ctx *d,
			     const struct erofs_inode_info *vi)
{
	bool packed = erofs_has_packed_inode(&d->img) &&
		      vi->nid == d->img.packed_nid;

	if (d->json)
		erofs_json_bool(&d->js, "packed_inode", packed);
	else if (packed)
		printf(LABEL "%s\n", "Packed inode:",
		       "yes, it holds the fragments of other files");
}

int show_inode(struct dump_ctx *d)
{
	struct erofs_inode_info vi;
	const char *path;
	uint64_t nid;
	int err;

	err = resolve_inode(d, &nid, &path);
	if (err)
		return err;
	err = erofs_read_inode(&d->img, nid, &vi);
	if (err)
		return err;
	if (d->json) {
		erofs_json_open(&d->js, "inode", '{');
		json_core(d, &vi, path);
	} else {
		text_core(&vi, path);
	}
	show_packed_role(d, &vi);
	err = show_body(d, &vi);
	if (d->json)
		erofs_json_close(&d->js, '}');
	return err;
}

/* --cat: a file's content (a symlink's target) as it is, on stdout */
int cat_inode(struct dump_ctx *d)
{
	struct erofs_inode_info vi;
	const char *path;
	uint64_t nid, off = 0;
	size_t bufsz = 1U << 20;
	uint8_t *buf;
	ssize_t n;
	int err;

	err = resolve_inode(d, &nid, &path);
	if (!err)
		err = erofs_read_inode(&d->img, nid, &vi);
	if (err)
		return err;
	if (S_ISDIR(vi.mode)) {
		erofs_err(&d->cfg->msg, "--cat: %s (nid %llu) is a directory",
			  path ? path : "inode", (unsigned long long)nid);
		return -EISDIR;
	}
	buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	while (off < vi.size) {
		n = erofs_pread_file(&d->img, &vi, buf, bufsz, off);
		if (n <= 0) {
			err = n ?: -EIO;
			break;
		}
		if (fwrite(buf, 1, n, stdout) != (size_t)n) {
			err = -errno;
			erofs_err(&d->cfg->msg, "--cat: cannot write: %s",
				  strerror(errno));
			break;
		}
		off += n;
	}
	free(buf);
	if (!err && fflush(stdout)) {
		err = -errno;
		erofs_err(&d->cfg->msg, "--cat: cannot write: %s",
			  strerror(errno));
	}
	return err;
}
