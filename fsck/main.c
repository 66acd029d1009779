// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsck.erofs: check an EROFS image and optionally extract it.  Option
 * parsing and reporting only; the walk is liberofs' erofs_check_run().
 *
 * The exit status is a bit mask, as with e2fsck:
 *   0 no problems, 1 problems found in the image, 4 parts of the image
 *   use features this version cannot check, 8 operational error (cannot
 *   read the image, cannot extract), 16 usage error.  (erofs-utils exits
 *   1 for all of these.)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/annex.h"
#include "erofs/blobs.h"
#include "erofs/check.h"
#include "erofs/digest_table.h"
#include "erofs/extract.h"
#include "erofs/json.h"
#include "erofs/util.h"
#include "erofs/walk.h"

#define PROG	"fsck.erofs"

enum {
	EXIT_CLEAN = 0,
	EXIT_ERRORS = 1,
	EXIT_UNSUPPORTED = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
};

#define MAX_DEVICES	64

struct fsck_cfg {
	struct erofs_msg msg;
	const char *image;
	bool json, progress;
	bool extract;
	bool force;			/* --extract=/ allowed */
	struct erofs_extract_opts xopts;
	int preserve_owner, preserve_perms;	/* -1: the default */
	uint64_t offset;		/* the image's start in the file */
	bool have_nid;
	uint64_t nid;			/* --nid: check this subtree only */
	const char *path;		/* --path: likewise */
	const char *devices[MAX_DEVICES];
	unsigned int nr_devices;
	const char *blob_dir;
	bool verify_blobs;
	unsigned int workers;		/* threads reading file data */
};

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE\n"
"Check an EROFS image: superblock, every inode reachable from the root,\n"
"directories, xattrs and every byte of file data; optionally extract it.\n"
"\n"
"  -d N                  message level as erofs-utils' 0-9: 0-1 errors only,\n"
"                        2 warnings, 3-6 information (default), 7-9 debug\n"
"  -p                    show progress (on a terminal only)\n"
"  -a, -A, -y            no-ops, for fsck(8) (fsck -t erofs -a)\n"
"  --json                print a JSON summary on standard output\n"
"  --offset=BYTES        the image starts BYTES into the file\n"
"  --nid=NID             check (and extract) only the subtree at inode NID\n"
"  --path=PATH           check (and extract) only the subtree at PATH; a\n"
"                        file is extracted as DIR itself\n"
"  --extract[=DIR]       extract the tree to DIR; without DIR, only check\n"
"                        (file data is always read and checked)\n"
"  --force               allow --extract=/ (it, --overwrite and the\n"
"                        --preserve options need --extract=DIR)\n"
"  --overwrite           extract into a non-empty DIR, replacing what is there\n"
"  --xattrs, --no-xattrs set extracted files' xattrs, or not (default: set;\n"
"                        an ordinary user skips all but user.* with a warning)\n"
"  --preserve            keep owners and permissions (default for root)\n"
"  --no-preserve         neither: own the files, apply the umask (default\n"
"                        for other users)\n"
"  --preserve-owner, --no-preserve-owner\n"
"  --preserve-perms, --no-preserve-perms\n"
"  --device=PATH         an extra device, in device-table order; repeatable\n"
"  --blob-dir=DIR        find devices not given by --device in DIR by their\n"
"                        tag: DIR/TAG or DIR/sha256/TAG (OCI layout)\n"
"  --verify-blobs        check that each device's sha256 equals its tag; a\n"
"                        device with a digest table unit by unit, so that a\n"
"                        partly filled cache file is checked as far as it\n"
"                        goes (holes are not cached, not errors)\n"
"  --workers=N           threads decoding and extracting file data (default:\n"
"                        online CPUs; 1: none besides the walk); reports and\n"
"                        extracted trees are the same for any N\n"
"  --quiet               print problems and errors only\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"Exit status (bits or-ed together): 0 no problems, 1 problems found,\n"
"4 unsupported features left parts unchecked, 8 operational error,\n"
"16 usage error.\n", f);
}

enum {
	OPT_JSON = 256,
	OPT_EXTRACT,
	OPT_OVERWRITE,
	OPT_PRESERVE,
	OPT_NO_PRESERVE,
	OPT_PRESERVE_OWNER,
	OPT_NO_PRESERVE_OWNER,
	OPT_PRESERVE_PERMS,
	OPT_NO_PRESERVE_PERMS,
	OPT_DEVICE,
	OPT_BLOB_DIR,
	OPT_VERIFY_BLOBS,
	OPT_QUIET,
	OPT_FORCE,
	OPT_XATTRS,
	OPT_NO_XATTRS,
	OPT_OFFSET,
	OPT_NID,
	OPT_PATH,
	OPT_WORKERS,
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "extract", optional_argument, NULL, OPT_EXTRACT },
	{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
	{ "preserve", no_argument, NULL, OPT_PRESERVE },
	{ "no-preserve", no_argument, NULL, OPT_NO_PRESERVE },
	{ "preserve-owner", no_argument, NULL, OPT_PRESERVE_OWNER },
	{ "no-preserve-owner", no_argument, NULL, OPT_NO_PRESERVE_OWNER },
	{ "preserve-perms", no_argument, NULL, OPT_PRESERVE_PERMS },
	{ "no-preserve-perms", no_argument, NULL, OPT_NO_PRESERVE_PERMS },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
	{ "verify-blobs", no_argument, NULL, OPT_VERIFY_BLOBS },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "xattrs", no_argument, NULL, OPT_XATTRS },
	{ "no-xattrs", no_argument, NULL, OPT_NO_XATTRS },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "nid", required_argument, NULL, OPT_NID },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --extract=/ unpacks over the running system: only with --force */
static bool is_root_dir(const char *dir)
{
	struct stat st, root;

	if (!dir[strspn(dir, "/")])
		return true;
	return !stat(dir, &st) && !stat("/", &root) &&
	       st.st_dev == root.st_dev && st.st_ino == root.st_ino;
}

/* the combinations erofs-utils refuses, refused alike */
static int check_combinations(struct fsck_cfg *c)
{
	if (c->have_nid && c->path) {
		erofs_err(&c->msg, "--nid and --path are exclusive");
		return EXIT_USAGE;
	}
	if (!c->extract) {
		/* the preserve options are -1 until given */
		if (c->force || c->xopts.overwrite || c->preserve_owner >= 0 ||
		    c->preserve_perms >= 0) {
			erofs_err(&c->msg, "--force, --overwrite and --[no-]preserve* need --extract=DIR");
			return EXIT_USAGE;
		}
		return 0;
	}
	if (!c->force && is_root_dir(c->xopts.dir)) {
		erofs_err(&c->msg, "--extract=%s is the root directory: add --force to extract there",
			  c->xopts.dir);
		return EXIT_USAGE;
	}
	return 0;
}

/* 0 to go on, else the exit status */
static int parse_args(struct fsck_cfg *c, int argc, char **argv)
{
	uint64_t size;
	long long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "d:pVhaAy", long_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (erofs_parse_long(optarg, 0, 9, &v)) {
				erofs_err(&c->msg, "invalid -d '%s': must be 0..9",
					  optarg);
				return EXIT_USAGE;
			}
			c->msg.level = erofs_msg_level_from_debug(v);
			break;
		case 'p':
			c->progress = true;
			break;
		case 'a':
		case 'A':
		case 'y':
			break;	/* fsck(8) passes them; nothing to repair */
		case OPT_FORCE:
			c->force = true;
			break;
		case OPT_XATTRS:
			c->xopts.skip_xattrs = false;
			break;
		case OPT_NO_XATTRS:
			c->xopts.skip_xattrs = true;
			break;
		case OPT_OFFSET:
			if (erofs_parse_size(optarg, &size)) {
				erofs_err(&c->msg, "invalid --offset '%s': must be a size in bytes",
					  optarg);
				return EXIT_USAGE;
			}
			c->offset = size;
			break;
		case OPT_NID:
			if (erofs_parse_long(optarg, 0, INT64_MAX, &v)) {
				erofs_err(&c->msg, "invalid --nid '%s': must be a number",
					  optarg);
				return EXIT_USAGE;
			}
			c->nid = v;
			c->have_nid = true;
			break;
		case OPT_PATH:
			c->path = optarg;
			break;
		case OPT_WORKERS:
			if (erofs_parse_long(optarg, 1, 1024, &v)) {
				erofs_err(&c->msg, "invalid --workers '%s': must be 1 to 1024",
					  optarg);
				return EXIT_USAGE;
			}
			c->workers = v;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_EXTRACT:
			if (optarg && !*optarg) {
				erofs_err(&c->msg, "--extract= needs a directory");
				return EXIT_USAGE;
			}
			c->xopts.dir = optarg;
			c->extract = optarg != NULL;
			break;
		case OPT_OVERWRITE:
			c->xopts.overwrite = true;
			break;
		case OPT_PRESERVE:
			c->preserve_owner = c->preserve_perms = 1;
			break;
		case OPT_NO_PRESERVE:
			c->preserve_owner = c->preserve_perms = 0;
			break;
		case OPT_PRESERVE_OWNER:
			c->preserve_owner = 1;
			break;
		case OPT_NO_PRESERVE_OWNER:
			c->preserve_owner = 0;
			break;
		case OPT_PRESERVE_PERMS:
			c->preserve_perms = 1;
			break;
		case OPT_NO_PRESERVE_PERMS:
			c->preserve_perms = 0;
			break;
		case OPT_DEVICE:
			if (c->nr_devices == MAX_DEVICES) {
				erofs_err(&c->msg, "at most %d --device options",
					  MAX_DEVICES);
				return EXIT_USAGE;
			}
			c->devices[c->nr_devices++] = optarg;
			break;
		case OPT_BLOB_DIR:
			c->blob_dir = optarg;
			break;
		case OPT_VERIFY_BLOBS:
			c->verify_blobs = true;
			break;
		case OPT_QUIET:
			c->msg.level = EROFS_MSG_ERR;
			break;
		case 'V':
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			exit(EXIT_CLEAN);
		case 'h':
			usage(stdout);
			exit(EXIT_CLEAN);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		erofs_err(&c->msg, "expected exactly one IMAGE (see --help)");
		return EXIT_USAGE;
	}
	c->image = argv[optind];
	opt = check_combinations(c);
	if (opt)
		return opt;
	if (c->preserve_owner < 0)
		c->preserve_owner = geteuid() == 0;
	if (c->preserve_perms < 0)
		c->preserve_perms = geteuid() == 0;
	c->xopts.preserve_owner = c->preserve_owner;
	c->xopts.preserve_perms = c->preserve_perms;
	return 0;
}

static void json_string(const char *s)
{
	erofs_json_quote(stdout, s, strlen(s));
}

static const char *result_name(int status)
{
	if (status & EXIT_OPERATIONAL)
		return "failed";
	if (status & EXIT_ERRORS)
		return "errors";
	if (status & EXIT_UNSUPPORTED)
		return "unsupported";
	return "clean";
}

static void print_json(const struct fsck_cfg *c, const struct erofs_image *img,
		       const struct erofs_check *chk, int status)
{
	const struct erofs_check_stats *st = &chk->stats;
	size_t i;

	printf("{\n  \"image\": ");
	json_string(c->image);
	printf(",\n  \"blocksize\": %u,\n", img->blksz);
	printf("  \"inodes\": {\"total\": %llu, \"directories\": %llu, \"regular\": %llu, \"symlinks\": %llu, \"chrdevs\": %llu, \"blkdevs\": %llu, \"fifos\": %llu, \"sockets\": %llu},\n",
	       (unsigned long long)st->inodes, (unsigned long long)st->types.dirs,
	       (unsigned long long)st->types.regular,
	       (unsigned long long)st->types.symlinks,
	       (unsigned long long)st->types.chrdevs,
	       (unsigned long long)st->types.blkdevs,
	       (unsigned long long)st->types.fifos,
	       (unsigned long long)st->types.sockets);
	printf("  \"hardlinks\": %llu,\n  \"xattrs\": %llu,\n  \"bytes_checked\": %llu,\n",
	       (unsigned long long)st->hardlinks,
	       (unsigned long long)st->xattrs,
	       (unsigned long long)st->data_bytes);
	printf("  \"errors\": %llu,\n  \"warnings\": %llu,\n  \"unsupported\": %llu,\n",
	       (unsigned long long)st->errors,
	       (unsigned long long)st->warnings,
	       (unsigned long long)st->unsupported);
	printf("  \"problems\": [");
	for (i = 0; i < chk->nr_problems; i++) {
		printf(i ? ",\n    " : "\n    ");
		json_string(chk->problems[i]);
	}
	printf("%s],\n  \"result\": \"%s\",\n  \"exit_status\": %d\n}\n",
	       chk->nr_problems ? "\n  " : "", result_name(status), status);
}

static void print_summary(const struct fsck_cfg *c,
			  const struct erofs_check *chk, int status)
{
	const struct erofs_check_stats *st = &chk->stats;
	char size[32];

	erofs_info(&c->msg, "%s: %s: %llu inodes (%llu directories, %llu files, %llu symlinks, %llu special), %s of data checked, %llu error(s)",
		   c->image, result_name(status),
		   (unsigned long long)st->inodes,
		   (unsigned long long)st->types.dirs,
		   (unsigned long long)st->types.regular,
		   (unsigned long long)st->types.symlinks,
		   (unsigned long long)(st->types.chrdevs + st->types.blkdevs +
					st->types.fifos + st->types.sockets),
		   erofs_human_size(st->data_bytes, size, sizeof(size)),
		   (unsigned long long)st->errors);
	if (st->unsupported > st->unavailable)
		erofs_err(&c->msg, "%llu inode(s) use features not supported yet and were not fully checked",
			  (unsigned long long)(st->unsupported - st->unavailable));
	if (st->unavailable)
		erofs_err(&c->msg, "%llu file(s) have data on devices not attached and were not fully checked",
			  (unsigned long long)st->unavailable);
}

static int status_of(int err, const struct erofs_check *chk)
{
	int status = 0;

	if (chk->stats.errors || err == -EFSCORRUPTED)
		status |= EXIT_ERRORS;
	if (chk->stats.unsupported || err == -EOPNOTSUPP)
		status |= EXIT_UNSUPPORTED;
	if (err && err != -EFSCORRUPTED && err != -EOPNOTSUPP)
		status |= EXIT_OPERATIONAL;
	return status;
}

/* deep trees keep one directory open per level while extracting */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int attach_devices(struct fsck_cfg *c, struct erofs_image *img)
{
	unsigned int i;
	int err;

	for (i = 0; i < c->nr_devices; i++) {
		err = erofs_image_add_device(img, i + 1, c->devices[i]);
		if (err)
			return err;
	}
	if (c->blob_dir)
		return erofs_image_find_blobs(img, c->blob_dir);
	return 0;
}

/*
 * A device with a digest table is checked unit by unit, so that a cache
 * file the daemon filled in part is checked as far as it goes: a unit
 * with no data is not cached, which is no error; a unit whose bytes are
 * all there and wrong is.
 */
static int verify_units(struct fsck_cfg *c, struct erofs_image *img,
			unsigned int dev, const struct erofs_digest_table *t,
			bool *complete)
{
	const struct erofs_device *d = &img->devs[dev];
	uint64_t n[EROFS_UNIT_MISMATCH + 1] = { 0 }, u;
	uint8_t *states = malloc(t->nr_units ?: 1);
	int err;

	if (!states)
		return -ENOMEM;
	if (d->map)
		err = erofs_digest_table_scan_device(t, img, dev, states);
	else
		err = erofs_digest_table_scan(t, d->fd, d->offset, states);
	for (u = 0; !err && u < t->nr_units; u++) {
		uint64_t off, len;

		n[states[u]]++;
		if (states[u] != EROFS_UNIT_MISMATCH)
			continue;
		erofs_digest_unit_range(t, u, &off, &len);
		erofs_corrupt(img, "device %u %s: unit %llu (bytes %llu-%llu) does not match its digest table",
			      dev, d->path, (unsigned long long)u,
			      (unsigned long long)off,
			      (unsigned long long)(off + len - 1));
	}
	free(states);
	if (err) {
		erofs_err(&c->msg, "device %u %s: %s", dev, d->path,
			  strerror(-err));
		return err;
	}
	erofs_info(&c->msg, "device %u %s: %llu of %llu units of %llu bytes verified, %llu not cached, %llu partly cached, %llu wrong",
		   dev, d->path, (unsigned long long)n[EROFS_UNIT_VERIFIED],
		   (unsigned long long)t->nr_units,
		   (unsigned long long)erofs_digest_unit_size(t),
		   (unsigned long long)n[EROFS_UNIT_ABSENT],
		   (unsigned long long)n[EROFS_UNIT_PARTIAL],
		   (unsigned long long)n[EROFS_UNIT_MISMATCH]);
	*complete = n[EROFS_UNIT_VERIFIED] == t->nr_units;
	return 0;
}

static void say_nothing(void *arg, const char *text)
{
	(void)arg;
	(void)text;
}

/* a damaged table is reported once, by the walk's check of the annex */
static bool table_of(struct erofs_image *img, const struct erofs_annex *ax,
		     unsigned int dev, struct erofs_digest_table *t)
{
	erofs_report_fn report = img->report;
	int err;

	img->report = say_nothing;
	err = erofs_digest_table_load(img, ax, dev, t);
	img->report = report;
	return !err;
}

/* before the walk: a blob that is not what its tag says is a problem */
static void verify_blobs(struct fsck_cfg *c, struct erofs_image *img,
			 struct erofs_check *chk)
{
	struct erofs_digest_table t;
	struct erofs_annex ax;
	bool complete;
	unsigned int i;
	int err;

	if (erofs_annex_load(img, &ax))
		memset(&ax, 0, sizeof(ax));	/* said; the walk counts it */
	for (i = 1; i < img->nr_devs; i++) {
		complete = true;
		if (img->devs[i].fd >= 0 && table_of(img, &ax, i, &t)) {
			err = verify_units(c, img, i, &t, &complete);
			if (err) {
				chk->fatal = err;
				break;
			}
		}
		/* a partial cache file cannot have the whole blob's digest */
		if (!complete)
			continue;
		err = erofs_image_verify_blob(img, i);
		if (!err)
			erofs_info(&c->msg, "device %u %s: sha256 matches its tag",
				   i, img->devs[i].path);
		else if (err == -EOPNOTSUPP) {
			erofs_warn(&c->msg, "device %u: tag \"%.64s\" is no sha256 digest: not verified",
				   i, (const char *)img->devs[i].tag);
			chk->stats.unsupported++;
		} else if (err != -ENODEV && err != -EFSCORRUPTED) {
			chk->fatal = err;
		}
	}
	erofs_annex_free(&ax);
}

/*
 * --nid/--path: the subtree's top, and whether it is a single file
 * (extracted as DIR itself, as erofs-utils does)
 */
static int resolve_start(struct fsck_cfg *c, struct erofs_image *img,
			 struct erofs_check *chk)
{
	struct erofs_inode_info vi;
	int err = 0;

	if (!c->have_nid && !c->path)
		return 0;
	chk->opts.subtree = true;
	chk->opts.start_nid = c->nid;
	chk->opts.start_path = c->path;
	if (c->path)
		err = erofs_lookup_path(img, c->path, &chk->opts.start_nid);
	if (err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG ||
	    err == -ELOOP) {
		erofs_err(&c->msg, "--path=%s: no such file in %s: %s", c->path,
			  c->image, strerror(-err));
		return -EINVAL;
	}
	if (err)
		return err;
	if (c->have_nid) {
		/* a nid that is no inode is a bad argument, not damage */
		erofs_report_fn report = img->report;

		img->report = NULL;
		err = erofs_read_inode(img, c->nid, &vi);
		img->report = report;
		if (err == -EFSCORRUPTED) {
			erofs_err(&c->msg, "--nid=%llu: no inode of %s",
				  (unsigned long long)c->nid, c->image);
			return -EINVAL;
		}
	} else {
		err = erofs_read_inode(img, chk->opts.start_nid, &vi);
	}
	if (!err)
		c->xopts.single = !S_ISDIR(vi.mode);
	return err;
}

static int run(struct fsck_cfg *c, struct erofs_image *img,
	       struct erofs_check *chk)
{
	struct erofs_check_opts copts = {
		.show_progress = c->progress, .workers = c->workers,
	};
	struct erofs_extract ex = { .rootfd = -1 };
	int err;

	err = erofs_check_init(chk, img, &c->msg, &copts);
	if (err)
		return err;
	err = erofs_image_open_at(img, &c->msg, c->image, c->offset);
	if (err) {
		erofs_err(&c->msg, "%s: cannot be opened as an EROFS image", c->image);
		return err;
	}
	err = attach_devices(c, img);
	if (!err)
		err = resolve_start(c, img, chk);
	if (!err && c->verify_blobs) {
		verify_blobs(c, img, chk);
		err = chk->fatal;
	}
	if (!err && c->extract) {
		err = erofs_extract_open(&ex, &c->msg, &c->xopts);
		chk->opts.extract = &ex;
	}
	if (!err)
		err = erofs_check_run(chk);
	erofs_extract_close(&ex);
	return err;
}

int main(int argc, char **argv)
{
	struct fsck_cfg c = {
		.msg = { .prog = PROG, .level = EROFS_MSG_INFO },
		.preserve_owner = -1, .preserve_perms = -1,
	};
	struct erofs_image img = { 0 };
	struct erofs_check chk = { 0 };
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	int status, err;

	c.workers = ncpus > 0 ? MIN(ncpus, 1024) : 1;
	status = parse_args(&c, argc, argv);
	if (status)
		return status;
	raise_fd_limit();
	/* erofs_check_init() hooks the image's reports before it is opened,
	 * so superblock problems are listed like any other */
	err = run(&c, &img, &chk);
	status = status_of(err, &chk);
	if (c.json)
		print_json(&c, &img, &chk, status);
	if (chk.problems)
		print_summary(&c, &chk, status);
	erofs_image_close(&img);
	erofs_check_exit(&chk);
	return status;
}
