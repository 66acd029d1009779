// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.erofs: show what an EROFS image holds -- its superblock, one
 * inode with its xattrs and extents, a directory, statistics, the memory
 * the kernel's decompressor pins for it, and how much of it a sparse
 * cache file holds.  Option parsing and output only; the walks are in
 * liberofs (walk.c, stats.c, cachemap.c, features.c).
 *
 * The exit status is a bit mask, as fsck.erofs's:
 *   0 success, 1 damage found in the image, 4 parts of the image use
 *   features this version cannot read, 8 operational error, 16 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/blobs.h"
#include "erofs/util.h"
#include "dump.h"

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTIONS] IMAGE\n"
"       " PROG " --cache=PATH [OPTIONS] [IMAGE]\n"
"Show what an EROFS image holds.  Without options, as -s.\n"
"\n"
"  -s                    the superblock: geometry, features, compression\n"
"                        configs, devices, the packed inode's nid, the\n"
"                        oldest Linux that mounts it\n"
"  --nid=NID             one inode: type, layout, mode, owners, times, size,\n"
"                        links, xattrs\n"
"  --path=PATH           the same, by path\n"
"  -e                    with --nid/--path: its extents (a fragment by its\n"
"                        range in the packed inode)\n"
"  --ls                  with --nid/--path: a directory's entries\n"
"  --cat                 with --nid/--path: the file's content (a symlink's\n"
"                        target) on standard output, nothing else\n"
"  -S                    statistics: file types, sizes, how data is stored,\n"
"                        compression per algorithm, pcluster sizes,\n"
"                        fragments and the packed inode\n"
"  --pcpubuf, --percpu-buffers\n"
"                        memory the kernel's decompressor pins for the image:\n"
"                        the largest pcluster, per CPU and in total, and the\n"
"                        pclusters that cannot be decompressed in place\n"
"  --cpus=N              CPUs for --pcpubuf (default: this machine's possible\n"
"                        CPUs, as the kernel counts them)\n"
"  --page-size=SIZE      page size for --pcpubuf and the oldest Linux\n"
"                        (default: this machine's)\n"
"  --cache=PATH          a sparse cache file, or a directory of them: its data\n"
"                        and holes; with IMAGE, what every file (or the\n"
"                        --nid/--path subtree) still needs to fetch\n"
"  --device=PATH         an extra device, in device-table order; repeatable\n"
"  --blob-dir=DIR        find the other devices in DIR by their tags\n"
"                        (DIR/TAG or DIR/sha256/TAG)\n"
"  --offset=BYTES        the image starts BYTES into the file\n"
"  --json                print JSON on standard output\n"
"  -d N                  message level as erofs-utils' 0-9: 0-1 errors only,\n"
"                        2 warnings, 3-6 information (default), 7-9 debug\n"
"  --quiet               print errors only\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"Exit status (bits or-ed together): 0 success, 1 the image is damaged,\n"
"4 it uses features this version cannot read, 8 operational error,\n"
"16 usage error.\n", f);
}

enum {
	OPT_JSON = 256,
	OPT_NID,
	OPT_PATH,
	OPT_LS,
	OPT_PCPUBUF,
	OPT_CPUS,
	OPT_PAGE_SIZE,
	OPT_CACHE,
	OPT_DEVICE,
	OPT_BLOB_DIR,
	OPT_QUIET,
	OPT_CAT,
	OPT_OFFSET,
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "nid", required_argument, NULL, OPT_NID },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "ls", no_argument, NULL, OPT_LS },
	{ "pcpubuf", no_argument, NULL, OPT_PCPUBUF },
	{ "percpu-buffers", no_argument, NULL, OPT_PCPUBUF },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "cat", no_argument, NULL, OPT_CAT },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_number(struct dump_cfg *c, const char *what, const char *arg,
			long long min, long long max, long long *v)
{
	if (!erofs_parse_long(arg, min, max, v))
		return 0;
	erofs_err(&c->msg, "invalid %s '%s': must be %lld..%lld", what, arg,
		  min, max);
	return EXIT_USAGE;
}

static int parse_option(struct dump_cfg *c, int opt)
{
	uint64_t size;
	long long v;

	switch (opt) {
	case 'd':
		if (parse_number(c, "-d", optarg, 0, 9, &v))
			return EXIT_USAGE;
		c->msg.level = erofs_msg_level_from_debug(v);
		return 0;
	case OPT_CAT: c->cat = true; return 0;
	case OPT_OFFSET:
		if (erofs_parse_size(optarg, &c->offset)) {
			erofs_err(&c->msg, "invalid --offset '%s': must be a size in bytes",
				  optarg);
			return EXIT_USAGE;
		}
		return 0;
	case 's': c->super = true; return 0;
	case 'S': c->stats = true; return 0;
	case 'e': c->extents = true; return 0;
	case OPT_LS: c->ls = true; return 0;
	case OPT_JSON: c->json = true; return 0;
	case OPT_PCPUBUF: c->pcpubuf = true; return 0;
	case OPT_QUIET: c->msg.level = EROFS_MSG_ERR; return 0;
	case OPT_NID:
		if (parse_number(c, "--nid", optarg, 0, INT64_MAX, &v))
			return EXIT_USAGE;
		c->nid = v;
		c->have_nid = true;
		return 0;
	case OPT_PATH:
		c->path = optarg;
		return 0;
	case OPT_CPUS:
		if (parse_number(c, "--cpus", optarg, 1, 1 << 20, &v))
			return EXIT_USAGE;
		c->cpus = v;
		return 0;
	case OPT_PAGE_SIZE:
		if (erofs_parse_size(optarg, &size) || size < 4096 ||
		    size > 65536 || !erofs_is_power_of_2(size)) {
			erofs_err(&c->msg, "invalid --page-size '%s': a power of two from 4096 to 65536",
				  optarg);
			return EXIT_USAGE;
		}
		c->page_size = size;
		return 0;
	case OPT_CACHE:
		c->cache = optarg;
		return 0;
	case OPT_DEVICE:
		if (c->nr_devices == MAX_DEVICES) {
			erofs_err(&c->msg, "at most %d --device options",
				  MAX_DEVICES);
			return EXIT_USAGE;
		}
		c->devices[c->nr_devices++] = optarg;
		return 0;
	case OPT_BLOB_DIR:
		c->blob_dir = optarg;
		return 0;
	case 'V':
		printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
		exit(EXIT_OK);
	case 'h':
		usage(stdout);
		exit(EXIT_OK);
	}
	usage(stderr);
	return EXIT_USAGE;
}

/*
 * The kernel keeps one buffer per possible CPU (num_possible_cpus()), not
 * per online one: count /sys/devices/system/cpu/possible ("0-3,8-11").
 */
static unsigned int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned int n = 0, lo, hi;
	long conf;
	int got;

	while (f && (got = fscanf(f, "%u", &lo)) == 1) {
		hi = lo;
		if (fscanf(f, "-%u", &hi) < 0 || hi < lo)
			break;
		n += hi - lo + 1;
		if (fgetc(f) != ',')
			break;
	}
	if (f)
		fclose(f);
	if (n)
		return n;
	conf = sysconf(_SC_NPROCESSORS_CONF);
	return conf > 0 ? conf : 1;
}

/* 0 to go on, else the exit status */
static int parse_args(struct dump_cfg *c, int argc, char **argv)
{
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "d:sSeVh", long_options,
				  NULL)) != -1) {
		ret = parse_option(c, opt);
		if (ret)
			return ret;
	}
	if (optind < argc)
		c->image = argv[optind++];
	if (optind != argc || (!c->image && !c->cache)) {
		erofs_err(&c->msg, "expected exactly one IMAGE (see --help)");
		return EXIT_USAGE;
	}
	if (c->have_nid && c->path) {
		erofs_err(&c->msg, "--nid and --path are exclusive");
		return EXIT_USAGE;
	}
	if ((c->extents || c->ls || c->cat) && !c->have_nid && !c->path) {
		erofs_err(&c->msg, "-e, --ls and --cat need an inode: --nid or --path");
		return EXIT_USAGE;
	}
	if (c->cat && (c->super || c->stats || c->extents || c->ls ||
		       c->json || c->pcpubuf || c->cache)) {
		erofs_err(&c->msg, "--cat prints the file alone: not with -s, -S, -e, --ls, --json, --pcpubuf or --cache");
		return EXIT_USAGE;
	}
	if (!c->image && (c->super || c->stats || c->pcpubuf || c->extents ||
			  c->ls || c->have_nid || c->path)) {
		erofs_err(&c->msg, "only --cache works without an IMAGE");
		return EXIT_USAGE;
	}
	if (!c->super && !c->stats && !c->pcpubuf && !c->cache &&
	    !c->have_nid && !c->path)
		c->super = true;
	if (!c->cpus)
		c->cpus = possible_cpus();
	if (!c->page_size)
		c->page_size = sysconf(_SC_PAGESIZE);
	return 0;
}

/* records how an error bears on the exit status */
void note_error(struct dump_ctx *d, int err)
{
	if (!err)
		return;
	if (err == -EFSCORRUPTED)
		d->status |= EXIT_DAMAGED;
	else if (err == -EOPNOTSUPP)
		d->status |= EXIT_UNSUPPORTED;
	else
		d->status |= EXIT_OPERATIONAL;
}

/* --- small formatting helpers --- */

void put_escaped(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\')
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
}

void format_time(int64_t sec, uint32_t nsec, char *buf, size_t len)
{
	time_t t = sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld", (long long)sec);
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%09u UTC",
			 nsec);
}

const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "unknown";
}

const char *ftype_name(unsigned int ftype)
{
	static const char *const names[] = {
		[EROFS_FT_UNKNOWN] = "unknown", [EROFS_FT_REG_FILE] = "file",
		[EROFS_FT_DIR] = "dir", [EROFS_FT_CHRDEV] = "chrdev",
		[EROFS_FT_BLKDEV] = "blkdev", [EROFS_FT_FIFO] = "fifo",
		[EROFS_FT_SOCK] = "socket", [EROFS_FT_SYMLINK] = "symlink",
	};

	return ftype < ARRAY_SIZE(names) ? names[ftype] : "unknown";
}

void mode_string(uint32_t mode, char out[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";
	const char *rwx = "rwxrwxrwx";
	int i;

	out[0] = types[(mode >> 12) & 15];
	for (i = 0; i < 9; i++)
		out[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	if (mode & 04000)
		out[3] = mode & 0100 ? 's' : 'S';
	if (mode & 02000)
		out[6] = mode & 0010 ? 's' : 'S';
	if (mode & 01000)
		out[9] = mode & 0001 ? 't' : 'T';
	out[10] = '\0';
}

double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / den : 0;
}

void json_range(struct erofs_json *js, uint64_t start, uint64_t end)
{
	erofs_json_open(js, NULL, '[');
	erofs_json_u64(js, NULL, start);
	erofs_json_u64(js, NULL, end);
	erofs_json_close(js, ']');
}

int resolve_inode(struct dump_ctx *d, uint64_t *nid, const char **path)
{
	struct dump_cfg *c = d->cfg;
	int err;

	*path = c->path;
	if (!c->path) {
		*nid = c->have_nid ? c->nid : d->img.root_nid;
		if (!c->have_nid)
			*path = "/";
		return 0;
	}
	err = erofs_lookup_path(&d->img, c->path, nid);
	if (err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG ||
	    err == -ELOOP) {
		erofs_err(&c->msg, "%s: no such file in %s: %s", c->path,
			  c->image, strerror(-err));
	}
	return err;
}

static int open_image(struct dump_ctx *d)
{
	struct dump_cfg *c = d->cfg;
	unsigned int i;
	int err;

	/* what this reader does not know is named after what it does */
	d->img.open_unknown = true;
	err = erofs_image_open_at(&d->img, &c->msg, c->image, c->offset);
	if (err) {
		erofs_err(&c->msg, "%s: cannot be opened as an EROFS image",
			  c->image);
		return err;
	}
	d->opened = true;
	for (i = 0; i < c->nr_devices; i++) {
		err = erofs_image_add_device(&d->img, i + 1, c->devices[i]);
		if (err)
			return err;
	}
	if (c->blob_dir)
		return erofs_image_find_blobs(&d->img, c->blob_dir);
	return 0;
}

static int report_unknown(struct dump_ctx *d)
{
	char names[256];

	erofs_incompat_names(d->img.unknown_incompat, names, sizeof(names));
	erofs_err(&d->cfg->msg, "superblock: not supported: %s; what depends on it is not shown",
		  names);
	return -EOPNOTSUPP;
}

/* what the superblock says, when the image opens no further */
static void show_super_fields(struct dump_ctx *d)
{
	/* opened, then a device did not fit: start again from the bytes */
	if (d->opened)
		erofs_image_close(&d->img);
	d->opened = true;	/* closed in main() whatever happens */
	if (erofs_image_peek_super(&d->img, &d->cfg->msg, d->cfg->image,
				   d->cfg->offset))
		return;
	show_super(d);
	if (d->img.unknown_incompat)
		note_error(d, report_unknown(d));
}

static void run(struct dump_ctx *d)
{
	struct dump_cfg *c = d->cfg;

	if (c->image) {
		int err = open_image(d);

		if (err) {
			note_error(d, err);
			if (c->super)
				show_super_fields(d);
			return;
		}
	}
	if (c->super)
		note_error(d, show_super(d));
	if (d->img.unknown_incompat)
		note_error(d, report_unknown(d));
	if (c->cat)
		note_error(d, cat_inode(d));
	else if ((c->have_nid || c->path) && !c->cache)
		note_error(d, show_inode(d));
	if (c->stats)
		note_error(d, show_stats(d));
	if (c->pcpubuf)
		note_error(d, show_pcpubuf(d));
	if (c->cache)
		note_error(d, show_cache(d));
}

int main(int argc, char **argv)
{
	struct dump_cfg c = {
		.msg = { .prog = PROG, .level = EROFS_MSG_INFO },
	};
	struct dump_ctx d = { .cfg = &c };
	int status;

	status = parse_args(&c, argc, argv);
	if (status)
		return status;
	d.json = c.json;
	erofs_json_init(&d.js, stdout);
	if (d.json)
		erofs_json_open(&d.js, NULL, '{');
	run(&d);
	if (d.json) {
		erofs_json_u64(&d.js, "exit_status", d.status);
		erofs_json_close(&d.js, '}');
	}
	if (d.opened)
		erofs_image_close(&d.img);
	return d.status;
}
