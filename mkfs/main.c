// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkfs.erofs: build an EROFS image from a directory.  Option parsing and
 * reporting only; the build itself is liberofs' erofs_build_image().
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"
#include "erofs/gzindex.h"
#include "erofs/istream.h"
#include "erofs/oci.h"
#include "erofs/sha256.h"
#include "erofs/util.h"

#define PROG	"mkfs.erofs"

struct mkfs_cfg {
	struct erofs_build_options opts;
	struct erofs_msg msg;
	const char *image, *source;
	bool time_given, time_to_files, quiet;
	uint64_t pcluster_bytes;	/* -C, checked once -b is known */
	uint64_t packed_pcluster_bytes;	/* -E fragments=SIZE */
	const char *hints_path;
	uint64_t chunk_bytes;		/* --chunksize, likewise */
	const char *manifest_path;
	char layers_label[32];		/* "N layer images" */
	bool blksz_given;
	uint64_t offset;		/* --offset: the image's start */
	bool oci_given;			/* --oci: SOURCE is an image reference */
	struct erofs_oci_opts oci;
	struct erofs_oci_build oci_build;
};

/* the temporary image and blob, for the signal handler to remove */
static char tmp_image[4096], tmp_blob[4096];

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE SOURCE_DIR\n"
"       " PROG " [OPTIONS] IMAGE LAYER_IMAGE...\n"
"       " PROG " --tar[=f|i|headerball] [OPTIONS] IMAGE [TAR...]\n"
"       " PROG " --oci[=f|i][,OCI_OPTIONS] [OPTIONS] IMAGE REFERENCE\n"
"Build an EROFS image IMAGE from the directory SOURCE_DIR, or (rebuild\n"
"mode) over existing EROFS images merged as overlay layers, the first\n"
"lowest: IMAGE holds only metadata and refers to the layers' data where\n"
"it is, naming each blob or layer it uses in its device table.\n"
"Rebuild mode refers to chunk-based, block-aligned or compressed files\n"
"(layers built with --chunksize) and takes neither -z, --chunksize,\n"
"--blobdev nor exclusions.\n"
"With --tar, the tree is a tar stream's (TAR, or standard input); several\n"
"TARs are image layers, the first lowest, merged as --oci merges them.\n"
"With --oci, it is an OCI image's: REFERENCE is HOST[:PORT]/REPO[:TAG] or\n"
"HOST[:PORT]/REPO@sha256:DIGEST in a registry, or oci-layout:DIR[:TAG].\n"
"\n"
"  -b SIZE               block size: a power of two from 512 to 65536 (default 4096)\n"
"  -d N                  message level as erofs-utils' 0-9: 0-1 errors only,\n"
"                        2 warnings, 3-6 information (default), 7-9 debug\n"
"  -x N                  xattrs carried by more than N inodes are stored once,\n"
"                        shared (default 2); 0 shares every xattr, a negative N\n"
"                        drops all xattrs\n"
"  -z ALG[,LEVEL][:ALG2...] compress with lz4, lz4hc, lzma, deflate or zstd;\n"
"                        an entry may add level=N (or just N; lz4hc 1-12,\n"
"                        lzma 0-9, deflate 1-9, zstd 0-22) and, for lzma\n"
"                        (up to 8M) and zstd (a power of two up to 1M),\n"
"                        dictsize=SIZE (default: 8 pclusters' worth, at\n"
"                        least 32K); further entries serve --compress-hints\n"
"  -C SIZE               largest physical cluster: whole blocks up to 1M (default\n"
"                        one block); more than a block makes big pclusters;\n"
"                        without -z it has no effect\n"
"  -E OPT[,OPT...]       extended options:\n"
"                          force-inode-compact   32-byte inodes unless a field overflows\n"
"                          force-inode-extended  64-byte inodes for everything\n"
"                          ^inline_data          never pack tails into metadata blocks\n"
"                          nosbcrc               no superblock checksum\n"
"                          legacy-compress       full lcluster indexes, not compacted\n"
"                          ztailpacking          a compressed file's last pcluster\n"
"                                                inline after its index\n"
"                          fragments[=SIZE]      a compressed file's last pcluster's\n"
"                                                worth (a small file whole) goes to\n"
"                                                the packed inode, compressed with the\n"
"                                                others' in pclusters of SIZE (-C)\n"
"                          all-fragments         every compressed file goes whole to the\n"
"                                                packed inode (implies fragments)\n"
"                          force-chunk-indexes   8-byte chunk indexes, not a block map\n"
"                          48bit                 the 48-bit layout (Linux 6.15): 48-bit\n"
"                                                block numbers and chunk indexes, and\n"
"                                                compact inodes for any mtime within\n"
"                                                2^32 s before the build time\n"
"                          dedupe                compressed data equal to data stored\n"
"                                                before (in any file) refers to that\n"
"                                                pcluster instead of being stored again\n"
"                          ^dedupe               store equal files each on their own\n"
"                                                (default: equal files once, shared)\n"
"                          digest-unit=SIZE      unit of the digest tables written for\n"
"                                                every blob, tar or layer the image\n"
"                                                refers to: a power of two, 4K-8M\n"
"                                                (default 64K)\n"
"  -T SECONDS            build time; also every file's mtime unless --mkfs-time\n"
"                        (default: $SOURCE_DATE_EPOCH, which clamps mtimes to\n"
"                        it, else now)\n"
"  -U UUID               volume uuid: a uuid, \"random\" (default) or \"clear\"\n"
"  -L LABEL              volume label, at most 15 bytes\n"
"  --all-root            make every file owned by root\n"
"  --force-uid=UID       make every file owned by UID\n"
"  --force-gid=GID       make every file's group GID\n"
"  --uid-offset=N        add N to every file's uid (after the options above)\n"
"  --gid-offset=N        add N to every file's gid\n"
"  --all-time            with -T, stamp every file with it (default)\n"
"  --mkfs-time           with -T, use it as the build time only\n"
"  --ignore-mtime        store the build time instead of per-file mtimes\n"
"  --preserve-mtime      keep every file's mtime exactly (default)\n"
"  --exclude-path=PATH   leave out PATH (relative to SOURCE_DIR), repeatable\n"
"  --exclude-regex=RE    leave out paths matching the extended regex RE, repeatable\n"
"  --max-extent-bytes=SIZE  most bytes one compressed extent decompresses to\n"
"  --compress-hints=FILE lines \"PCLUSTER_BYTES [ALG_INDEX] REGEX\" (erofs-utils'\n"
"                        order): per-path pcluster size (0: not compressed)\n"
"                        and -z entry, the first match wins\n"
"  --offset=BYTES        write the image BYTES into IMAGE (zeros before it)\n"
"  --workers=N           compression threads (default: online CPUs); the image\n"
"                        is the same for every N\n"
"  --chunksize=SIZE      store uncompressed files as chunks of SIZE (a power of\n"
"                        two, one block to 64M); equal chunks are stored once\n"
"  --blobdev=FILE        put file data in the blob FILE, metadata in IMAGE; the\n"
"                        image names the blob by its sha256 (needs --chunksize)\n"
"  --manifest=FILE       write the image's and blob's digests as JSON to FILE\n"
"  --tar=f               build from a tar stream (ustar, GNU, PAX): file data\n"
"                        stored in the image, with every option above\n"
"  --tar=i               metadata only: file data addressed in place in the tar,\n"
"                        which becomes the image's extra device (512-byte\n"
"                        blocks, tagged with its sha256); append the tar to the\n"
"                        image, or attach it as -o device=; with -b 4096 (for\n"
"                        fscache mode) the device is a view of the tar with\n"
"                        each file's data block-aligned, mapped in the annex\n"
"  --tar=headerball      a stream of tar headers without data: files read as\n"
"                        zeroes\n"
"  --aufs                tar: .wh.NAME entries become overlayfs whiteouts and\n"
"                        .wh..wh..opq marks its directory opaque\n"
"  --ovlfs-strip[=0|1]   tar: leave whiteouts and overlayfs xattrs out\n"
"  --ungzip[=FILE]       tar: the stream may be gzip-compressed (also xz, zstd,\n"
"  --unxz[=FILE]         recognised by magic); FILE keeps the raw stream\n"
"  --unzstd[=FILE]\n"
"  --gzinfo[=FILE]       tar: the stream is gzip; FILE receives a SOCI zinfo\n"
"                        (checkpoints 4M apart, as erofs-utils 1.9 writes it)\n"
"  --gzip-span=SIZE      --tar=i over gzip: an inflate checkpoint every SIZE of\n"
"                        the tar in the image's gzip index (default 1M)\n"
"  --sort=none           tar: accepted for erofs-utils' callers; the layout is\n"
"                        always the one of the sorted tree\n"
"  --oci[=f|i]           build from an OCI image: its layers merged, whiteouts\n"
"                        applied (f, the default: data stored in the image), or\n"
"                        with data left in each layer's uncompressed tar (i:\n"
"                        device N is layer N-1, tagged with its diff_id).\n"
"                        Options after a comma, comma-separated:\n"
"      platform=OS/ARCH[/VARIANT]  the image of an index (default: this host's)\n"
"      layer=N           layer N alone (0 is the bottom), as --tar=f --aufs\n"
"      blob=DIGEST       the layer of that blob alone, likewise\n"
"      username=USER, password=PASSWORD  registry credentials (default: the\n"
"                        Docker config's credHelpers, auths, credsStore)\n"
"      insecure          plain http:// to the registry\n"
"  --quiet               print errors only\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n", f);
}

enum {
	OPT_ALL_ROOT = 256,
	OPT_FORCE_UID,
	OPT_FORCE_GID,
	OPT_ALL_TIME,
	OPT_MKFS_TIME,
	OPT_IGNORE_MTIME,
	OPT_PRESERVE_MTIME,
	OPT_EXCLUDE_PATH,
	OPT_EXCLUDE_REGEX,
	OPT_QUIET,
	OPT_MAX_EXTENT,
	OPT_HINTS,
	OPT_WORKERS,
	OPT_CHUNKSIZE,
	OPT_BLOBDEV,
	OPT_MANIFEST,
	OPT_TAR,
	OPT_AUFS,
	OPT_OVLFS_STRIP,
	OPT_UNGZIP,
	OPT_UNXZ,
	OPT_UNZSTD,
	OPT_GZINFO,
	OPT_GZIP_SPAN,
	OPT_SORT,
	OPT_UID_OFFSET,
	OPT_GID_OFFSET,
	OPT_OFFSET,
	OPT_OCI,
};

static const struct option long_options[] = {
	{ "all-root", no_argument, NULL, OPT_ALL_ROOT },
	{ "force-uid", required_argument, NULL, OPT_FORCE_UID },
	{ "force-gid", required_argument, NULL, OPT_FORCE_GID },
	{ "all-time", no_argument, NULL, OPT_ALL_TIME },
	{ "mkfs-time", no_argument, NULL, OPT_MKFS_TIME },
	{ "ignore-mtime", no_argument, NULL, OPT_IGNORE_MTIME },
	{ "preserve-mtime", no_argument, NULL, OPT_PRESERVE_MTIME },
	{ "exclude-path", required_argument, NULL, OPT_EXCLUDE_PATH },
	{ "exclude-regex", required_argument, NULL, OPT_EXCLUDE_REGEX },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "max-extent-bytes", required_argument, NULL, OPT_MAX_EXTENT },
	{ "compress-hints", required_argument, NULL, OPT_HINTS },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "chunksize", required_argument, NULL, OPT_CHUNKSIZE },
	{ "blobdev", required_argument, NULL, OPT_BLOBDEV },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "tar", optional_argument, NULL, OPT_TAR },
	{ "aufs", no_argument, NULL, OPT_AUFS },
	{ "ovlfs-strip", optional_argument, NULL, OPT_OVLFS_STRIP },
	{ "ungzip", optional_argument, NULL, OPT_UNGZIP },
	{ "unxz", optional_argument, NULL, OPT_UNXZ },
	{ "unzstd", optional_argument, NULL, OPT_UNZSTD },
	{ "gzinfo", optional_argument, NULL, OPT_GZINFO },
	{ "gzip-span", required_argument, NULL, OPT_GZIP_SPAN },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "uid-offset", required_argument, NULL, OPT_UID_OFFSET },
	{ "gid-offset", required_argument, NULL, OPT_GID_OFFSET },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "oci", optional_argument, NULL, OPT_OCI },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad_arg(struct mkfs_cfg *c, const char *opt, const char *arg,
		   const char *why)
{
	erofs_err(&c->msg, "invalid %s '%s': %s", opt, arg, why);
	return -EINVAL;
}

/* the unit of the blobs' digest tables: a power of two a request holds */
static int digest_unit(struct mkfs_cfg *c, const char *arg)
{
	uint64_t bytes;
	unsigned int bits;

	if (erofs_parse_size(arg, &bytes) || !bytes || (bytes & (bytes - 1)))
		return -EINVAL;
	bits = __builtin_ctzll(bytes);
	if (bits < EROFS_DIGEST_UNIT_MIN_BITS ||
	    bits > EROFS_DIGEST_UNIT_MAX_BITS)
		return -EINVAL;
	c->opts.digest_unit_bits = bits;
	return 0;
}

static int parse_extended(struct mkfs_cfg *c, char *arg)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "force-inode-compact"))
			c->opts.inode_policy = EROFS_INODE_FORCE_COMPACT;
		else if (!strcmp(tok, "force-inode-extended"))
			c->opts.inode_policy = EROFS_INODE_FORCE_EXTENDED;
		else if (!strcmp(tok, "^inline_data") ||
			 !strcmp(tok, "noinline_data"))
			c->opts.inline_data = false;
		else if (!strcmp(tok, "inline_data"))
			c->opts.inline_data = true;
		else if (!strcmp(tok, "nosbcrc"))
			c->opts.sb_checksum = false;
		else if (!strcmp(tok, "legacy-compress"))
			c->opts.compress.legacy_index = true;
		else if (!strcmp(tok, "ztailpacking"))
			c->opts.compress.ztailpacking = true;
		else if (!strcmp(tok, "^ztailpacking"))
			c->opts.compress.ztailpacking = false;
		else if (!strcmp(tok, "fragments"))
			c->opts.compress.fragments = true;
		else if (!strncmp(tok, "fragments=", 10)) {
			c->opts.compress.fragments = true;
			if (erofs_parse_size(tok + 10, &c->packed_pcluster_bytes) ||
			    !c->packed_pcluster_bytes)
				return bad_arg(c, "extended option", tok,
					       "must be a size in bytes");
		} else if (!strcmp(tok, "^fragments"))
			c->opts.compress.fragments =
				c->opts.compress.all_fragments = false;
		else if (!strcmp(tok, "all-fragments"))
			c->opts.compress.fragments =
				c->opts.compress.all_fragments = true;
		else if (!strcmp(tok, "force-chunk-indexes"))
			c->opts.chunk_indexes = true;
		else if (!strcmp(tok, "48bit"))
			c->opts.layout_48bit = true;
		else if (!strcmp(tok, "dedupe"))
			c->opts.file_dedup = c->opts.compress.pcluster_dedupe = true;
		else if (!strcmp(tok, "^dedupe") || !strcmp(tok, "nodedupe"))
			c->opts.file_dedup = c->opts.compress.pcluster_dedupe = false;
		else if (!strncmp(tok, "digest-unit=", 12)) {
			if (digest_unit(c, tok + 12))
				return bad_arg(c, "extended option", tok,
					       "the unit must be a power of two from 4K to 8M");
		}
		else
			return bad_arg(c, "extended option", tok,
				       "not supported");
	}
	return 0;
}

static int add_exclude_path(struct mkfs_cfg *c, const char *arg)
{
	struct erofs_build_options *o = &c->opts;
	char **arr, *p;
	size_t len;

	while (*arg == '/')
		arg++;
	p = strdup(arg);
	if (!p)
		return -ENOMEM;
	len = strlen(p);
	while (len && p[len - 1] == '/')
		p[--len] = '\0';
	arr = realloc(o->exclude_paths, (o->nr_exclude_paths + 1) *
		      sizeof(*arr));
	if (!arr) {
		free(p);
		return -ENOMEM;
	}
	arr[o->nr_exclude_paths++] = p;
	o->exclude_paths = arr;
	return 0;
}

static void free_exclusions(struct erofs_build_options *o)
{
	unsigned int i;

	for (i = 0; i < o->nr_exclude_paths; i++)
		free(o->exclude_paths[i]);
	free(o->exclude_paths);
	for (i = 0; i < o->nr_exclude_regexes; i++)
		regfree(&o->exclude_regexes[i]);
	free(o->exclude_regexes);
	o->nr_exclude_paths = o->nr_exclude_regexes = 0;
	o->exclude_paths = NULL;
	o->exclude_regexes = NULL;
}

static int add_exclude_regex(struct mkfs_cfg *c, const char *arg)
{
	struct erofs_build_options *o = &c->opts;
	regex_t *arr;
	char why[256];
	int ret;

	arr = realloc(o->exclude_regexes, (o->nr_exclude_regexes + 1) *
		      sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	o->exclude_regexes = arr;
	ret = regcomp(&arr[o->nr_exclude_regexes], arg,
		      REG_EXTENDED | REG_NOSUB);
	if (ret) {
		regerror(ret, &arr[o->nr_exclude_regexes], why, sizeof(why));
		return bad_arg(c, "--exclude-regex", arg, why);
	}
	o->nr_exclude_regexes++;
	return 0;
}

static int parse_blocksize(struct mkfs_cfg *c, const char *arg)
{
	uint64_t v;

	if (erofs_parse_size(arg, &v) || v < 512 || v > 65536 ||
	    !erofs_is_power_of_2(v))
		return bad_arg(c, "block size", arg,
			       "must be a power of two from 512 to 65536");
	c->opts.blkszbits = erofs_ilog2(v);
	return 0;
}

static int parse_compression(struct mkfs_cfg *c, char *arg)
{
	struct erofs_compress_opts *co = &c->opts.compress;
	char *tok, *save = NULL;
	const char *why = NULL;

	co->nr_specs = 0;
	for (tok = strtok_r(arg, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		if (co->nr_specs == EROFS_MAX_COMPR_SPECS)
			return bad_arg(c, "-z", tok, "too many algorithms");
		if (erofs_compr_spec_parse(tok, &co->specs[co->nr_specs],
					   &why))
			return bad_arg(c, "-z", tok, why ? why : "out of memory");
		co->nr_specs++;
	}
	if (!co->nr_specs)
		return bad_arg(c, "-z", "", "no algorithm given");
	return 0;
}

static int parse_id(struct mkfs_cfg *c, const char *opt, const char *arg,
		    int64_t *out)
{
	long long v;

	if (erofs_parse_long(arg, 0, UINT32_MAX, &v))
		return bad_arg(c, opt, arg, "must be a number from 0 to 4294967295");
	*out = v;
	return 0;
}

static int parse_tar_mode(struct mkfs_cfg *c, const char *arg)
{
	if (!arg || !strcmp(arg, "f"))
		c->opts.tar_mode = EROFS_TAR_FULL;
	else if (!strcmp(arg, "i") || !strcmp(arg, "0"))
		c->opts.tar_mode = EROFS_TAR_INDEX;
	else if (!strcmp(arg, "headerball"))
		c->opts.tar_mode = EROFS_TAR_HEADERBALL;
	else
		return bad_arg(c, "--tar", arg, "must be f, i or headerball");
	return 0;
}

/* any of them lets every codec be recognised; FILE keeps the raw bytes */
static int parse_decoder(struct mkfs_cfg *c, const char *arg)
{
	c->opts.tar_codecs = EROFS_ISTREAM_GZIP | EROFS_ISTREAM_XZ |
			     EROFS_ISTREAM_ZSTD;
	if (arg && *arg)
		c->opts.tar_raw_copy = arg;
	return 0;
}

/* one KEY=VALUE (or insecure) of --oci; the strings stay in argv */
static int parse_oci_key(struct mkfs_cfg *c, char *kv)
{
	struct erofs_oci_opts *o = &c->oci;
	char *v = strchr(kv, '=');
	long long n;

	if (!strcmp(kv, "insecure")) {
		o->insecure = true;
		return 0;
	}
	if (!v)
		return bad_arg(c, "--oci", kv, "unknown option");
	*v++ = '\0';
	if (!strcmp(kv, "platform")) {
		if (!*v || !strchr(v, '/'))
			return bad_arg(c, "--oci platform", v, "must be OS/ARCH[/VARIANT]");
		o->platform = v;
	} else if (!strcmp(kv, "layer")) {
		if (erofs_parse_long(v, 0, EROFS_OCI_MAX_LAYERS - 1, &n))
			return bad_arg(c, "--oci layer", v, "must be a layer number from 0");
		o->layer = n;
	} else if (!strcmp(kv, "blob")) {
		o->blob = v;
	} else if (!strcmp(kv, "username")) {
		o->username = v;
	} else if (!strcmp(kv, "password")) {
		o->password = v;
	} else {
		return bad_arg(c, "--oci", kv, "unknown option");
	}
	return 0;
}

/* --oci[=f|i][,KEY=VALUE...], as erofs-utils 1.9 spells it */
static int parse_oci(struct mkfs_cfg *c, char *arg)
{
	char *tok, *save = NULL;
	bool first = true;
	int err;

	c->oci_given = true;
	c->oci.layer = -1;
	for (tok = arg ? strtok_r(arg, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		if (first && (!strcmp(tok, "f") || !strcmp(tok, "i"))) {
			c->oci.index = *tok == 'i';
			continue;
		}
		err = parse_oci_key(c, tok);
		if (err)
			return err;
	}
	if (c->oci.layer >= 0 && c->oci.blob) {
		erofs_err(&c->msg, "--oci: layer= and blob= exclude each other");
		return -EINVAL;
	}
	return 0;
}

static int parse_tar_option(struct mkfs_cfg *c, int opt, char *arg)
{
	switch (opt) {
	case OPT_TAR:
		return parse_tar_mode(c, arg);
	case OPT_AUFS:
		c->opts.aufs = true;
		return 0;
	case OPT_OVLFS_STRIP:
		if (arg && strcmp(arg, "0") && strcmp(arg, "1"))
			return bad_arg(c, "--ovlfs-strip", arg, "must be 0 or 1");
		c->opts.ovlfs_strip = !arg || !strcmp(arg, "1");
		return 0;
	case OPT_UNGZIP:
	case OPT_UNXZ:
	case OPT_UNZSTD:
		return parse_decoder(c, arg);
	case OPT_GZINFO:
		c->opts.tar_codecs |= EROFS_ISTREAM_GZIP;
		c->opts.tar_need_gzip = true;
		if (arg && *arg)
			c->opts.gzinfo_path = arg;
		return 0;
	case OPT_GZIP_SPAN:
		if (erofs_parse_size(arg, &c->opts.gzip_span) ||
		    c->opts.gzip_span < EROFS_GZINDEX_MIN_SPAN ||
		    c->opts.gzip_span > EROFS_GZINDEX_MAX_SPAN)
			return bad_arg(c, "--gzip-span", arg,
				       "must be a size from 64K to 1G");
		return 0;
	case OPT_SORT:
		if (strcmp(arg, "none") && strcmp(arg, "path"))
			return bad_arg(c, "--sort", arg, "must be none or path");
		return 0;
	}
	return -EINVAL;
}

/* the options erofs-utils has and this toolkit took later */
static int parse_compat(struct mkfs_cfg *c, int opt, char *arg)
{
	int64_t id;
	int err;

	switch (opt) {
	case OPT_UID_OFFSET:
	case OPT_GID_OFFSET:
		err = parse_id(c, opt == OPT_UID_OFFSET ? "--uid-offset" :
			       "--gid-offset", arg, &id);
		if (err)
			return err;
		if (opt == OPT_UID_OFFSET)
			c->opts.uid_offset = id;
		else
			c->opts.gid_offset = id;
		return 0;
	case OPT_OFFSET:
		if (erofs_parse_size(arg, &c->offset))
			return bad_arg(c, "--offset", arg,
				       "must be a size in bytes");
		return 0;
	}
	return -EINVAL;
}

static int parse_one(struct mkfs_cfg *c, int opt, char *arg)
{
	long long v;

	switch (opt) {
	case 'b':
		c->blksz_given = true;
		return parse_blocksize(c, arg);
	case 'd':
		if (erofs_parse_long(arg, 0, 9, &v))
			return bad_arg(c, "-d", arg, "must be 0 to 9");
		c->msg.level = erofs_msg_level_from_debug(v);
		return 0;
	case 'x':
		if (erofs_parse_long(arg, INT32_MIN, INT32_MAX, &v))
			return bad_arg(c, "-x", arg, "must be a number");
		c->opts.xattr_tolerance = v;
		return 0;
	case 'E':
		return parse_extended(c, arg);
	case 'z':
		return parse_compression(c, arg);
	case 'C':
		if (erofs_parse_size(arg, &c->pcluster_bytes) ||
		    !c->pcluster_bytes)
			return bad_arg(c, "-C", arg, "must be a size in bytes");
		return 0;
	case OPT_MAX_EXTENT:
		if (erofs_parse_size(arg, &c->opts.compress.max_extent_bytes) ||
		    !c->opts.compress.max_extent_bytes)
			return bad_arg(c, "--max-extent-bytes", arg,
				       "must be a size in bytes");
		return 0;
	case OPT_HINTS:
		c->hints_path = arg;
		return 0;
	case OPT_CHUNKSIZE:
		if (erofs_parse_size(arg, &c->chunk_bytes) ||
		    !erofs_is_power_of_2(c->chunk_bytes) ||
		    c->chunk_bytes > (64 << 20))
			return bad_arg(c, "--chunksize", arg,
				       "must be a power of two up to 64M");
		return 0;
	case OPT_BLOBDEV:
		c->opts.blob_path = arg;
		return 0;
	case OPT_MANIFEST:
		c->manifest_path = arg;
		return 0;
	case OPT_WORKERS:
		if (erofs_parse_long(arg, 1, 1024, &v))
			return bad_arg(c, "--workers", arg, "must be 1 to 1024");
		c->opts.compress.workers = v;
		return 0;
	case 'T':
		if (erofs_parse_long(arg, INT64_MIN, INT64_MAX, &v))
			return bad_arg(c, "-T", arg, "must be seconds since the epoch");
		c->opts.build_time = v;
		c->opts.build_time_nsec = 0;
		c->time_given = true;
		return 0;
	case 'U':
		if (erofs_uuid_from_arg(arg, c->opts.uuid))
			return bad_arg(c, "-U", arg,
				       "must be a uuid, \"random\" or \"clear\"");
		return 0;
	case 'L':
		if (strlen(arg) >= sizeof(c->opts.volume_name))
			return bad_arg(c, "-L", arg, "longer than 15 bytes");
		strncpy(c->opts.volume_name, arg, sizeof(c->opts.volume_name));
		return 0;
	case OPT_ALL_ROOT:
		c->opts.all_root = true;
		return 0;
	case OPT_FORCE_UID:
		return parse_id(c, "--force-uid", arg, &c->opts.force_uid);
	case OPT_FORCE_GID:
		return parse_id(c, "--force-gid", arg, &c->opts.force_gid);
	case OPT_ALL_TIME:
		c->time_to_files = true;
		return 0;
	case OPT_MKFS_TIME:
		c->time_to_files = false;
		return 0;
	case OPT_IGNORE_MTIME:
		c->opts.ignore_mtime = true;
		return 0;
	case OPT_PRESERVE_MTIME:
		c->opts.ignore_mtime = false;
		return 0;
	case OPT_EXCLUDE_PATH:
		return add_exclude_path(c, arg);
	case OPT_EXCLUDE_REGEX:
		return add_exclude_regex(c, arg);
	case OPT_QUIET:
		c->quiet = true;
		c->msg.level = EROFS_MSG_ERR;
		return 0;
	}
	if (opt >= OPT_TAR && opt <= OPT_SORT)
		return parse_tar_option(c, opt, arg);
	if (opt == OPT_OCI)
		return parse_oci(c, arg);
	return parse_compat(c, opt, arg);
}

/*
 * -T, else $SOURCE_DATE_EPOCH, else now.  As with erofs-utils,
 * $SOURCE_DATE_EPOCH clamps: only mtimes from it on are set to it.
 */
static int resolve_build_time(struct mkfs_cfg *c)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	struct timespec now;
	long long v;

	if (c->time_given) {
		c->opts.fixed_mtime = c->time_to_files;
		return 0;
	}
	if (sde && *sde) {
		if (erofs_parse_long(sde, 0, INT64_MAX, &v))
			return bad_arg(c, "SOURCE_DATE_EPOCH", sde,
				       "must be seconds since the epoch");
		c->opts.build_time = v;
		c->opts.clamp_mtime = true;
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	c->opts.build_time = now.tv_sec;
	c->opts.build_time_nsec = now.tv_nsec;
	return 0;
}

/* a pcluster size in blocks: what the format's indexes can express */
static int pcluster_blocks(struct mkfs_cfg *c, const char *opt,
			   const char *arg, uint64_t bytes, uint32_t *blks)
{
	unsigned int blksz = 1U << c->opts.blkszbits;

	if (bytes % blksz || bytes > Z_EROFS_PCLUSTER_MAX_SIZE ||
	    bytes / blksz > 2047)
		return bad_arg(c, opt, arg,
			       "must be whole blocks, at most 1M and 2047 blocks");
	*blks = bytes / blksz;
	return 0;
}

/*
 * erofs-utils takes -C and --compress-hints without -z, checks them and
 * compresses nothing: so does this mkfs, with a warning
 */
static int finish_uncompressed(struct mkfs_cfg *c, const char *arg)
{
	struct erofs_compress_opts *co = &c->opts.compress;

	if (c->pcluster_bytes &&
	    pcluster_blocks(c, "-C", arg, c->pcluster_bytes, &co->pclusterblks))
		return -EINVAL;
	if (c->hints_path &&
	    erofs_compress_hints_load(co, c->opts.blkszbits, c->hints_path,
				      &c->msg))
		return -EINVAL;
	if (c->pcluster_bytes || c->hints_path)
		erofs_warn(&c->msg, "%s without -z: nothing is compressed",
			   c->pcluster_bytes ? "-C" : "--compress-hints");
	return 0;
}

/* the checks that need every option: -C against -b, hints, defaults */
static int finish_compression(struct mkfs_cfg *c)
{
	struct erofs_compress_opts *co = &c->opts.compress;
	unsigned int blksz = 1U << c->opts.blkszbits, i;
	char arg[32];

	snprintf(arg, sizeof(arg), "%llu",
		 (unsigned long long)c->pcluster_bytes);
	if (!co->nr_specs) {
		if (co->fragments)
			return bad_arg(c, "extended option", "fragments",
				       "needs -z");
		return finish_uncompressed(c, arg);
	}
	if (!c->pcluster_bytes)
		c->pcluster_bytes = blksz;
	if (pcluster_blocks(c, "-C", arg, c->pcluster_bytes, &co->pclusterblks))
		return -EINVAL;
	snprintf(arg, sizeof(arg), "fragments=%llu",
		 (unsigned long long)c->packed_pcluster_bytes);
	if (c->packed_pcluster_bytes &&
	    pcluster_blocks(c, "extended option", arg,
			    c->packed_pcluster_bytes, &co->packed_pclusterblks))
		return -EINVAL;
	for (i = 0; i < co->nr_specs; i++) {
		const struct erofs_compressor_ops *ops =
			erofs_compressor_ops(co->specs[i].alg);

		if (ops->max_dict_size && !co->specs[i].dict_size)
			co->specs[i].dict_size =
				erofs_compr_default_dict(ops, c->pcluster_bytes);
	}
	if (c->hints_path &&
	    erofs_compress_hints_load(co, c->opts.blkszbits, c->hints_path,
				      &c->msg))
		return -EINVAL;
	return 0;
}

static int finish_chunks(struct mkfs_cfg *c)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)c->chunk_bytes);
	if (c->chunk_bytes) {
		if (c->chunk_bytes < (1U << c->opts.blkszbits))
			return bad_arg(c, "--chunksize", arg,
				       "smaller than the block size");
		c->opts.chunkbits = erofs_ilog2(c->chunk_bytes);
	}
	if (c->opts.blob_path) {
		if (!c->chunk_bytes)
			return bad_arg(c, "--blobdev", c->opts.blob_path,
				       "needs --chunksize");
		/* chunks on another device need the device id of indexes */
		c->opts.chunk_indexes = true;
	}
	/* 48-bit chunk addresses exist only in chunk indexes */
	if (c->opts.layout_48bit && c->chunk_bytes)
		c->opts.chunk_indexes = true;
	if (c->opts.chunk_indexes && !c->chunk_bytes && !c->opts.nr_layers &&
	    c->opts.tar_mode != EROFS_TAR_INDEX)
		return bad_arg(c, "-E", "force-chunk-indexes",
			       "needs --chunksize");
	return 0;
}

static bool is_regular(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static bool is_erofs_image(const char *path)
{
	__le32 magic = 0;
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f)
		return false;
	ok = !fseek(f, EROFS_SUPER_OFFSET, SEEK_SET) &&
	     fread(&magic, sizeof(magic), 1, f) == 1 &&
	     le32_to_cpu(magic) == EROFS_SUPER_MAGIC_V1;
	fclose(f);
	return ok;
}

/* one directory, or layer images for rebuild mode */
static int finish_sources(struct mkfs_cfg *c, int n, char **srcs)
{
	struct erofs_build_options *o = &c->opts;
	int i;

	if (!is_regular(srcs[0])) {
		if (n == 1)
			return 0;
		erofs_err(&c->msg, "one SOURCE_DIR, or layer images (see --help)");
		return -EINVAL;
	}
	if (n == 1 && !is_erofs_image(srcs[0])) {
		erofs_err(&c->msg, "%s: source is not a directory (nor an EROFS image to rebuild from)",
			  srcs[0]);
		return -ENOTDIR;
	}
	for (i = 1; i < n; i++)
		if (!is_regular(srcs[i]))
			return bad_arg(c, "layer", srcs[i],
				       "not a regular file (rebuild mode takes images only)");
	if (o->compress.nr_specs || c->chunk_bytes || o->blob_path ||
	    o->nr_exclude_paths || o->nr_exclude_regexes) {
		erofs_err(&c->msg, "rebuild mode takes neither -z, --chunksize, --blobdev nor exclusions");
		return -EINVAL;
	}
	o->layers = srcs;
	o->nr_layers = n;
	snprintf(c->layers_label, sizeof(c->layers_label), "%d layer image%s",
		 n, n > 1 ? "s" : "");
	c->source = c->layers_label;
	/* files refer to other devices: only indexes carry a device id */
	o->chunk_indexes = true;
	return 0;
}

static int finish_tar_mode(struct mkfs_cfg *c, const char *opt);

/*
 * A tar stream: a file or standard input, and what its modes allow; or
 * several tar files, image layers merged as --oci merges them
 */
static int finish_tar(struct mkfs_cfg *c, int n, char **srcs)
{
	struct erofs_build_options *o = &c->opts;

	if (n > 1 && (o->tar_mode == EROFS_TAR_HEADERBALL || o->aufs ||
		      o->tar_raw_copy)) {
		erofs_err(&c->msg, "several tar files are layers merged: not with headerball, --aufs or --ungzip=FILE");
		return -EINVAL;
	}
	o->tar_paths = srcs;
	o->nr_tar_paths = n;
	c->source = n ? srcs[0] : "standard input";
	if (n > 1) {
		snprintf(c->layers_label, sizeof(c->layers_label),
			 "%d tar layers", n);
		c->source = c->layers_label;
	}
	return finish_tar_mode(c, "--tar");
}

/* what a tar's mode allows, for --tar and --oci alike */
static int finish_tar_mode(struct mkfs_cfg *c, const char *opt)
{
	struct erofs_build_options *o = &c->opts;

	if (o->nr_exclude_paths || o->nr_exclude_regexes) {
		erofs_err(&c->msg, "--exclude-path and --exclude-regex apply to directories, not %s",
			  opt);
		return -EINVAL;
	}
	if (o->tar_mode == EROFS_TAR_FULL)
		return 0;
	if (o->compress.nr_specs || c->chunk_bytes || o->blob_path) {
		erofs_warn(&c->msg, "%s=%s stores no file data: -z, --chunksize and --blobdev do not apply",
			   opt, o->tar_mode == EROFS_TAR_INDEX ? "i" : "headerball");
		o->compress.nr_specs = 0;
		c->pcluster_bytes = 0;
		c->hints_path = NULL;
		o->compress.fragments = false;
		c->chunk_bytes = 0;
		o->blob_path = NULL;
	}
	if (o->tar_mode == EROFS_TAR_INDEX) {
		/*
		 * Data is addressed in 512-byte blocks of the tar; a larger
		 * -b (fscache mode wants the page size) maps each file's
		 * data to a block boundary of a view of the tar instead.
		 */
		if (!c->blksz_given)
			o->blkszbits = 9;
		o->chunk_indexes = true;	/* the tar is device 1 */
	}
	return 0;
}

/* an OCI image: REFERENCE, its layers read as tars are */
static int finish_oci(struct mkfs_cfg *c, int n, char **srcs)
{
	struct erofs_build_options *o = &c->opts;

	if (n != 1 || o->tar_mode) {
		erofs_err(&c->msg, "--oci takes one image reference, and no --tar");
		return -EINVAL;
	}
	/* a zinfo file describes one gzip stream */
	if (o->gzinfo_path && c->oci.layer < 0 && !c->oci.blob) {
		erofs_err(&c->msg, "--gzinfo=FILE with --oci needs layer= or blob=: a zinfo describes one layer");
		return -EINVAL;
	}
	c->source = srcs[0];
	c->oci_build.opts = &c->oci;
	c->oci_build.ref = srcs[0];
	o->tree_source = erofs_oci_tree;
	o->tree_priv = &c->oci_build;
	o->tar_mode = c->oci.index ? EROFS_TAR_INDEX : EROFS_TAR_FULL;
	/* one layer alone is an overlayfs layer, as containerd makes them */
	o->aufs = c->oci.layer >= 0 || c->oci.blob;
	return finish_tar_mode(c, "--oci");
}

/* the kernel mounts blocks up to its page size: say so before building */
static void warn_blocksize(struct mkfs_cfg *c)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned int blksz = 1U << c->opts.blkszbits;

	if (page > 0 && blksz > (unsigned long)page)
		erofs_warn(&c->msg, "block size %u is larger than this machine's page size: its kernel mounts block sizes up to %ld only",
			   blksz, page);
}

static int parse_args(struct mkfs_cfg *c, int argc, char **argv)
{
	int opt, err;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);

	erofs_uuid_from_arg("random", c->opts.uuid);
	c->opts.compress.workers = ncpus > 0 ? ncpus : 1;
	while ((opt = getopt_long(argc, argv, "b:d:x:z:C:E:T:U:L:Vh",
				  long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			exit(0);
		case '?':
			fputs("Try '" PROG " --help' for more information.\n",
			      stderr);
			return -EINVAL;
		}
		err = parse_one(c, opt, optarg);
		if (err)
			return err;
	}
	if (argc - optind < 2 - !!c->opts.tar_mode) {
		erofs_err(&c->msg, "expected IMAGE and SOURCE_DIR (see --help)");
		return -EINVAL;
	}
	c->image = argv[optind];
	if (c->oci_given) {
		err = finish_oci(c, argc - optind - 1, argv + optind + 1);
	} else if (c->opts.tar_mode) {
		err = finish_tar(c, argc - optind - 1, argv + optind + 1);
	} else {
		c->source = argv[optind + 1];
		err = finish_sources(c, argc - optind - 1, argv + optind + 1);
	}
	if (!err)
		err = finish_compression(c);
	if (!err)
		err = finish_chunks(c);
	if (err)
		return err;
	warn_blocksize(c);
	return resolve_build_time(c);
}

static void on_signal(int sig)
{
	if (tmp_image[0])
		unlink(tmp_image);
	if (tmp_blob[0])
		unlink(tmp_blob);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void print_summary(const struct mkfs_cfg *c,
			  const struct erofs_build_stats *s, double secs)
{
	unsigned int blksz = 1U << c->opts.blkszbits, i;
	char size[32], uuid[37];

	erofs_uuid_to_string(c->opts.uuid, uuid);
	erofs_human_size(s->total_blocks * blksz, size, sizeof(size));
	printf("Built %s from %s in %.2f s: %llu inodes (%llu directories, "
	       "%llu regular files, %llu symlinks, %llu devices, %llu fifos "
	       "and sockets; %llu extra hardlinks, %llu extended inodes), "
	       "%llu blocks of %u bytes = %s (%llu metadata, %llu data), "
	       "%llu bytes of tails inline, %llu shared xattrs, root nid %u, "
	       "uuid %s.\n",
	       c->image, c->source, secs,
	       (unsigned long long)s->inodes, (unsigned long long)s->dirs,
	       (unsigned long long)s->regular,
	       (unsigned long long)s->symlinks,
	       (unsigned long long)s->devices,
	       (unsigned long long)s->special,
	       (unsigned long long)s->hardlinks,
	       (unsigned long long)s->extended_inodes,
	       (unsigned long long)s->total_blocks, blksz, size,
	       (unsigned long long)s->meta_blocks,
	       (unsigned long long)s->data_blocks,
	       (unsigned long long)s->inline_data_bytes,
	       (unsigned long long)s->shared_xattrs, s->root_nid, uuid);
	if (c->opts.chunkbits)
		printf("Chunks of %u bytes: %llu stored, %llu holes, %llu equal "
		       "to one stored before (%llu bytes saved).\n",
		       1U << c->opts.chunkbits,
		       (unsigned long long)(s->chunks - s->hole_chunks -
					    s->dedup_chunks),
		       (unsigned long long)s->hole_chunks,
		       (unsigned long long)s->dedup_chunks,
		       (unsigned long long)s->dedup_bytes);
	if (s->ztail_files)
		printf("%llu tail pclusters (%llu bytes) inline after their "
		       "indexes.\n", (unsigned long long)s->ztail_files,
		       (unsigned long long)s->ztail_bytes);
	if (s->fragment_files)
		printf("%llu files (%llu of them whole) left %llu bytes to the "
		       "packed inode, compressed together into %llu blocks.\n",
		       (unsigned long long)s->fragment_files,
		       (unsigned long long)s->whole_fragment_files,
		       (unsigned long long)s->fragment_bytes,
		       (unsigned long long)s->packed_blocks);
	if (s->dedup_files)
		printf("%llu files equal to one stored before share its data "
		       "(%llu bytes not stored again).\n",
		       (unsigned long long)s->dedup_files,
		       (unsigned long long)s->dedup_file_bytes);
	if (s->pcluster_refs)
		printf("%llu extents refer to pclusters stored before (-E dedupe): "
		       "%llu blocks not stored again.\n",
		       (unsigned long long)s->pcluster_refs,
		       (unsigned long long)s->pcluster_ref_saved_blocks);
	if (c->opts.blob_path)
		printf("Blob %s: %llu blocks, sha256:%s\n", c->opts.blob_path,
		       (unsigned long long)s->blob_blocks, s->blob_digest);
	for (i = 0; c->opts.nr_layers && i < s->nr_devt; i++)
		printf("Device %u: %u blocks, sha256:%.64s\n", i + 1,
		       s->devt[i].blocks, (const char *)s->devt[i].tag);
	if (c->opts.compress.nr_specs)
		printf("Compressed %llu files of %llu bytes into %llu blocks "
		       "(%.1f%%); %llu files stored uncompressed as it did not "
		       "pay.\n",
		       (unsigned long long)s->compressed_files,
		       (unsigned long long)s->compressed_bytes_in,
		       (unsigned long long)s->compressed_blocks,
		       s->compressed_bytes_in ? 100.0 * s->compressed_blocks *
		       blksz / s->compressed_bytes_in : 0.0,
		       (unsigned long long)s->raw_fallback_files);
}

/* digests of what was written, for registries and fetchers, as JSON */
static int write_manifest(const struct mkfs_cfg *c,
			  const struct erofs_build_stats *s)
{
	char tmp[4096], image_hex[65];
	uint8_t digest[32];
	unsigned int i;
	FILE *f;
	int err;

	err = erofs_sha256_file(c->image, digest);
	if (err) {
		erofs_err(&c->msg, "%s: cannot read back: %s", c->image,
			  strerror(-err));
		return err;
	}
	erofs_sha256_hex(digest, image_hex);
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->manifest_path);
	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		erofs_err(&c->msg, "%s: cannot write manifest: %s", tmp,
			  strerror(errno));
		return err;
	}
	fprintf(f, "{\n  \"bootstrap\": {\"path\": \"%s\", \"sha256\": \"%s\", "
		"\"blocks\": %llu, \"block_size\": %u}",
		c->image, image_hex, (unsigned long long)s->total_blocks,
		1U << c->opts.blkszbits);
	if (c->opts.blob_path)
		fprintf(f, ",\n  \"blobs\": [{\"device\": 1, \"path\": \"%s\", "
			"\"sha256\": \"%s\", \"blocks\": %llu}]",
			c->opts.blob_path, s->blob_digest,
			(unsigned long long)s->blob_blocks);
	for (i = 0; c->opts.nr_layers && i < s->nr_devt; i++)
		fprintf(f, "%s{\"device\": %u, \"sha256\": \"%.64s\", "
			"\"blocks\": %u}%s", i ? ", " : ",\n  \"blobs\": [",
			i + 1, (const char *)s->devt[i].tag,
			s->devt[i].blocks, i + 1 == s->nr_devt ? "]" : "");
	fprintf(f, ",\n  \"chunks\": {\"stored\": %llu, \"holes\": %llu, "
		"\"deduplicated\": %llu, \"bytes_saved\": %llu}\n}\n",
		(unsigned long long)(s->chunks - s->hole_chunks - s->dedup_chunks),
		(unsigned long long)s->hole_chunks,
		(unsigned long long)s->dedup_chunks,
		(unsigned long long)s->dedup_bytes);
	if (fclose(f) || rename(tmp, c->manifest_path)) {
		err = -errno;
		erofs_err(&c->msg, "%s: cannot write manifest: %s",
			  c->manifest_path, strerror(errno));
		unlink(tmp);
		return err;
	}
	return 0;
}

/* the signals after which no temporary file may be left behind */
static const int cleanup_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(cleanup_sigs); i++)
		sigaction(cleanup_sigs[i], &sa, NULL);
}

/*
 * Opens @path for writing and records its temporary name in @tmp for
 * on_signal(): with those signals held in between, so that one arriving
 * just after the temporary file was created still removes it.
 */
static int open_output(struct mkfs_cfg *c, struct erofs_output *o,
		       const char *path, char *tmp, size_t tmp_size)
{
	sigset_t held, old;
	unsigned int i;
	int err;

	sigemptyset(&held);
	for (i = 0; i < ARRAY_SIZE(cleanup_sigs); i++)
		sigaddset(&held, cleanup_sigs[i]);
	sigprocmask(SIG_BLOCK, &held, &old);
	err = erofs_output_open(o, &c->msg, path);
	if (!err && o->tmppath)
		snprintf(tmp, tmp_size, "%s", o->tmppath);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* after the options are parsed: builds, or removes what it began */
static int run(struct mkfs_cfg *c)
{
	struct erofs_build_stats stats;
	struct erofs_output out, blob;
	uint64_t start;
	int err;

	c->opts.show_progress = !c->quiet;
	if (c->oci_given && curl_global_init(CURL_GLOBAL_DEFAULT)) {
		erofs_err(&c->msg, "cannot initialise libcurl");
		return 1;
	}

	start = erofs_now_ms();
	install_signal_handlers();
	err = open_output(c, &out, c->image, tmp_image, sizeof(tmp_image));
	if (err)
		return 1;
	out.offset = c->offset;
	if (c->opts.blob_path) {
		err = open_output(c, &blob, c->opts.blob_path, tmp_blob,
				  sizeof(tmp_blob));
		if (err) {
			erofs_output_abort(&out);
			return 1;
		}
	}
	err = erofs_build_image(&c->opts, &c->msg, c->source, &out,
				c->opts.blob_path ? &blob : NULL, &stats);
	tmp_image[0] = tmp_blob[0] = '\0';
	if (!err && c->manifest_path)
		err = write_manifest(c, &stats);
	if (err) {
		erofs_output_abort(&out);
		if (c->opts.blob_path)
			erofs_output_abort(&blob);
		erofs_err(&c->msg, "%s: image not created", c->image);
		return 1;
	}
	if (!c->quiet)
		print_summary(c, &stats, (erofs_now_ms() - start) / 1000.0);
	free(stats.devt);
	return 0;
}

/*
 * Each file's data passes through buffers of its size, allocated and
 * freed file after file.  glibc would map the larger ones afresh and hand
 * freed heap tops back to the kernel, which then faults in and clears
 * the same pages again: 14,500 page faults and a sixth of mkfs' CPU time
 * for a zstd image of /usr/share/doc.  Keep freed memory for reuse; the
 * peak, which the data pass bounds, is unchanged.
 */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int main(int argc, char **argv)
{
	struct mkfs_cfg c = { .msg = { PROG, EROFS_MSG_INFO } };
	int ret = 1;

	keep_freed_memory();
	erofs_build_options_default(&c.opts);
	c.time_to_files = true;
	if (!parse_args(&c, argc, argv))
		ret = run(&c);
	free_exclusions(&c.opts);
	return ret;
}
