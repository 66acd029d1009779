// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon: options, binding the cache, the request loop,
 * signals, shutdown, and the supervisor that keeps /dev/cachefiles open
 * across daemon restarts so that "restore" can recover its requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"

#define DEFAULT_DEVNODE		"/dev/cachefiles"
#define DEFAULT_CACHE_DIR	"/var/cache/erofs-fetch"
#define DEFAULT_TAG		"erofs-fetch"
#define SD_FDNAME		"cachefiles"
#define EXIT_USAGE		16	/* as fsck.erofs, dump.erofs, mkfs.erofs */

/* what the command line and the configuration file decide */
struct fetchd_parse {
	struct erofs_msg *msg;
	struct fetchd_opts o;
	struct erofs_fetchconf conf;
	bool have_conf;
};

static void usage(FILE *f)
{
	fputs("usage: erofs-fetch [daemon] [OPTIONS] --source=SPEC | --config=FILE\n"
"Serve EROFS images mounted in fscache mode (mount -t erofs none -o fsid=ID)\n"
"through the cachefiles on-demand protocol.\n"
"\n"
"Where the data comes from:\n"
"  -s, --source=SPEC        dir:/path, http(s)://host/base or oci://host/repo;\n"
"                           a cookie key (fsid or blob tag) is the object name;\n"
"                           again: fallbacks tried in order (mirror, then registry)\n"
"  -c, --config=FILE        sources and a key map (see erofs-fetch(1))\n"
"      --min-fetch=SIZE     fetch at least this much per request (readahead)\n"
"      --timeout=MS, --retries=N, --source-workers=N, --auth=CRED, --cacert=FILE\n"
"      --deadline=MS        one request in all, retries and fallbacks included\n"
"      --docker-config=FILE registry credentials (auths, credHelpers, credsStore)\n"
"      --prefetch-rate=SIZE prefetch transfers at most SIZE bytes per second\n"
"The cache:\n"
"  -d, --cache-dir=DIR      cache directory, not on tmpfs (" DEFAULT_CACHE_DIR ")\n"
"  -t, --tag=NAME           cache tag (" DEFAULT_TAG ")\n"
"      --devnode=PATH       control device (" DEFAULT_DEVNODE ")\n"
"      --devfd=N            adopt an open, possibly bound, control device fd\n"
"      --restore            have the kernel re-send unfinished requests\n"
"      --supervise          hold the device open and restart the daemon if it dies\n"
"Work and prefetch:\n"
"  -j, --workers=N          threads serving OPEN and READ (4)\n"
"      --prefetch-workers=N background prefetch threads (1)\n"
"      --prefetch-low=SIZE  refill when less than this is populated ahead (1M)\n"
"      --prefetch-high=SIZE fill up to this much ahead of the last READ (4M)\n"
"      --prefetch-max=SIZE  the window grows up to this after waits (64M)\n"
"      --no-prefetch        no demand window\n"
"      --prefetch=FILE      \"KEY [OFFSET LENGTH]\" lines to populate at open\n"
"      --prefetch-all       populate every object completely in the background\n"
"      --unverified=POLICY  a blob without a digest table in its bootstrap:\n"
"                           refuse (default: its reads fail) or allow\n"
"Operation and messages:\n"
"      --metrics=ADDR       serve GET /metrics and /metrics.json on\n"
"                           unix:PATH and/or tcp:ADDR:PORT (comma-separated)\n"
"      --cache-high=SIZE|PCT%  cull closed objects, least recently used first,\n"
"                           when the cache (SIZE) or its filesystem (PCT%) is above\n"
"      --cache-low=SIZE|PCT%   ... down to this (90% of the high mark)\n"
"      --cache-interval=SEC how often the cache is measured (5)\n"
"      --log-level=LEVEL    error, warn, info (default) or debug\n"
"  -v, --verbose            more messages (repeat for debug)\n"
"  -q, --quiet              errors only\n"
"  -V, --version            print the version and exit\n"
"  -h, --help\n"
"Every option but --config, --devfd, --source and the per-source ones can be\n"
"set in the configuration file's [daemon] section by its long name.\n"
"SIGUSR1 prints statistics, SIGHUP re-reads the configuration file,\n"
"SIGTERM/SIGINT shut down cleanly.  Exit status: 0 clean shutdown,\n"
"1 operational error, 16 usage error.\n", f);
}

enum {
	OPT_DEVNODE = 256, OPT_DEVFD, OPT_RESTORE, OPT_SUPERVISE, OPT_MINFETCH,
	OPT_TIMEOUT, OPT_RETRIES, OPT_SWORKERS, OPT_AUTH, OPT_CACERT,
	OPT_PWORKERS, OPT_PLOW, OPT_PHIGH, OPT_PMAX, OPT_NOPREFETCH,
	OPT_PLIST, OPT_PALL, OPT_DEADLINE, OPT_DOCKER_CONFIG, OPT_PRATE,
	OPT_METRICS, OPT_CHIGH, OPT_CLOW, OPT_CINTERVAL, OPT_LOGLEVEL,
	OPT_UNVERIFIED,
};

static const struct option long_opts[] = {
	{ "source", required_argument, NULL, 's' },
	{ "config", required_argument, NULL, 'c' },
	{ "cache-dir", required_argument, NULL, 'd' },
	{ "tag", required_argument, NULL, 't' },
	{ "devnode", required_argument, NULL, OPT_DEVNODE },
	{ "devfd", required_argument, NULL, OPT_DEVFD },
	{ "restore", no_argument, NULL, OPT_RESTORE },
	{ "supervise", no_argument, NULL, OPT_SUPERVISE },
	{ "min-fetch", required_argument, NULL, OPT_MINFETCH },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "source-workers", required_argument, NULL, OPT_SWORKERS },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "docker-config", required_argument, NULL, OPT_DOCKER_CONFIG },
	{ "prefetch-rate", required_argument, NULL, OPT_PRATE },
	{ "workers", required_argument, NULL, 'j' },
	{ "prefetch-workers", required_argument, NULL, OPT_PWORKERS },
	{ "prefetch-low", required_argument, NULL, OPT_PLOW },
	{ "prefetch-high", required_argument, NULL, OPT_PHIGH },
	{ "prefetch-max", required_argument, NULL, OPT_PMAX },
	{ "no-prefetch", no_argument, NULL, OPT_NOPREFETCH },
	{ "prefetch", required_argument, NULL, OPT_PLIST },
	{ "prefetch-all", no_argument, NULL, OPT_PALL },
	{ "unverified", required_argument, NULL, OPT_UNVERIFIED },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "cache-high", required_argument, NULL, OPT_CHIGH },
	{ "cache-low", required_argument, NULL, OPT_CLOW },
	{ "cache-interval", required_argument, NULL, OPT_CINTERVAL },
	{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
#define SHORT_OPTS	"s:c:d:t:j:vqVh"

static int parse_uint(struct fetchd_parse *p, const char *opt, const char *arg,
		      long long max, unsigned int *out)
{
	long long v;

	if (erofs_parse_long(arg, 0, max, &v)) {
		erofs_err(p->msg, "--%s: '%s' is not a number in [0, %lld]",
			  opt, arg, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_bytes(struct fetchd_parse *p, const char *opt, const char *arg,
		       uint64_t *out)
{
	if (erofs_parse_size(arg, out)) {
		erofs_err(p->msg, "--%s: '%s' is not a size", opt, arg);
		return -EINVAL;
	}
	return 0;
}

/* the first --source, then its fallbacks */
static int add_source(struct fetchd_parse *p, const char *spec)
{
	struct fetchd_opts *o = &p->o;

	if (!o->source_spec) {
		o->source_spec = spec;
		return 0;
	}
	if (o->sopts.nr_fallbacks >= ARRAY_SIZE(o->fallbacks)) {
		erofs_err(p->msg, "--source: at most %zu",
			  ARRAY_SIZE(o->fallbacks) + 1);
		return -EINVAL;
	}
	o->fallbacks[o->sopts.nr_fallbacks++].spec = spec;
	return 0;
}

/* "SIZE" (bytes of the cache) or "PCT%" (of its filesystem) */
static int parse_mark(struct fetchd_parse *p, const char *opt, const char *arg,
		      struct fetchd_mark *m)
{
	size_t len = strlen(arg);
	char num[16];
	long long v;

	if (len && arg[len - 1] == '%') {
		v = 0;
		if (len <= sizeof(num)) {
			memcpy(num, arg, len - 1);
			num[len - 1] = '\0';
			if (erofs_parse_long(num, 1, 99, &v))
				v = 0;
		}
		if (!v) {
			erofs_err(p->msg, "--%s: '%s' is not a percentage in [1, 99]",
				  opt, arg);
			return -EINVAL;
		}
		*m = (struct fetchd_mark){ .pct = v };
		return 0;
	}
	*m = (struct fetchd_mark){ 0 };
	if (parse_bytes(p, opt, arg, &m->bytes))
		return -EINVAL;
	if (!m->bytes) {
		erofs_err(p->msg, "--%s: 0 bytes", opt);
		return -EINVAL;
	}
	return 0;
}

/* the shape of --metrics; the addresses themselves are checked by bind */
static bool metrics_spec_ok(const char *spec)
{
	const char *tok = spec, *end;

	do {
		end = strchrnul(tok, ',');
		if (!((end - tok > 5 && !strncmp(tok, "unix:", 5)) ||
		      (end - tok > 4 && !strncmp(tok, "tcp:", 4))))
			return false;
		tok = end + 1;
	} while (*end);
	return true;
}

static int parse_one(struct fetchd_parse *p, int c, const char *arg)
{
	struct fetchd_opts *o = &p->o;
	int lvl;
	unsigned int v;
	uint64_t sz;

	switch (c) {
	case 's': return add_source(p, arg);
	case 'c': o->config = arg; return 0;
	case 'd': o->dir = arg; return 0;
	case 't': o->tag = arg; return 0;
	case OPT_DEVNODE: o->devnode = arg; return 0;
	case OPT_DEVFD:
		if (parse_uint(p, "devfd", arg, 65535, &v))
			return -EINVAL;
		o->devfd = v;
		return 0;
	case OPT_RESTORE: o->restore = true; return 0;
	case OPT_SUPERVISE: o->supervise = true; return 0;
	case OPT_MINFETCH:
		if (parse_bytes(p, "min-fetch", arg, &sz) || sz > EROFS_SOURCE_MAX_REQUEST) {
			erofs_err(p->msg, "--min-fetch: at most %u bytes",
				  EROFS_SOURCE_MAX_REQUEST);
			return -EINVAL;
		}
		o->sopts.min_fetch = sz;
		return 0;
	case OPT_TIMEOUT:
		return parse_uint(p, "timeout", arg, 3600000, &o->sopts.timeout_ms);
	case OPT_RETRIES:
		o->sopts.retries_set = true;
		return parse_uint(p, "retries", arg, 100, &o->sopts.retries);
	case OPT_DEADLINE:
		return parse_uint(p, "deadline", arg, 86400000,
				  &o->sopts.deadline_ms);
	case OPT_DOCKER_CONFIG: o->sopts.docker_config = arg; return 0;
	case OPT_PRATE:
		return parse_bytes(p, "prefetch-rate", arg,
				   &o->sopts.prefetch_rate);
	case OPT_SWORKERS:
		return parse_uint(p, "source-workers", arg, 256, &o->sopts.workers);
	case OPT_AUTH: o->sopts.auth = arg; return 0;
	case OPT_CACERT: o->sopts.cacert = arg; return 0;
	case 'j':
		if (parse_uint(p, "workers", arg, 256, &o->workers))
			return -EINVAL;
		if (!o->workers) {
			erofs_err(p->msg, "--workers: at least 1");
			return -EINVAL;
		}
		return 0;
	case OPT_PWORKERS:
		if (parse_uint(p, "prefetch-workers", arg, 64, &o->prefetch_workers))
			return -EINVAL;
		if (!o->prefetch_workers) {
			erofs_err(p->msg, "--prefetch-workers: at least 1");
			return -EINVAL;
		}
		return 0;
	case OPT_PLOW: return parse_bytes(p, "prefetch-low", arg, &o->low);
	case OPT_PHIGH: return parse_bytes(p, "prefetch-high", arg, &o->high);
	case OPT_PMAX: return parse_bytes(p, "prefetch-max", arg, &o->max_window);
	case OPT_NOPREFETCH: o->high = o->low = 0; return 0;
	case OPT_PLIST: o->prefetch_list = arg; return 0;
	case OPT_PALL: o->prefetch_all = true; return 0;
	case OPT_UNVERIFIED:
		if (!fetch_parse_unverified(arg, &o->unverified))
			return 0;
		erofs_err(p->msg, "--unverified: '%s' is neither allow nor refuse",
			  arg);
		return -EINVAL;
	case OPT_METRICS:
		if (!metrics_spec_ok(arg)) {
			erofs_err(p->msg, "--metrics: '%s': expected unix:PATH and/or tcp:ADDR:PORT, comma-separated",
				  arg);
			return -EINVAL;
		}
		o->metrics = arg;
		return 0;
	case OPT_CHIGH: return parse_mark(p, "cache-high", arg, &o->cache_high);
	case OPT_CLOW: return parse_mark(p, "cache-low", arg, &o->cache_low);
	case OPT_CINTERVAL:
		if (parse_uint(p, "cache-interval", arg, 86400, &o->cache_interval))
			return -EINVAL;
		if (!o->cache_interval) {
			erofs_err(p->msg, "--cache-interval: at least 1");
			return -EINVAL;
		}
		return 0;
	case OPT_LOGLEVEL:
		lvl = erofs_msg_level_parse(arg);
		if (lvl < 0) {
			erofs_err(p->msg, "--log-level: '%s' is not error, warn, info or debug",
				  arg);
			return -EINVAL;
		}
		o->log_level = lvl;
		return 0;
	case 'v':
		if (o->log_level < EROFS_MSG_DEBUG)
			o->log_level++;
		return 0;
	case 'q': o->log_level = EROFS_MSG_ERR; return 0;
	case 'V':
		printf("erofs-fetch (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
		exit(0);
	case 'h': usage(stdout); exit(0);
	}
	usage(stderr);
	return -EINVAL;
}

/*
 * Options the [daemon] section cannot set: the file itself, a descriptor,
 * and what belongs to a [source] section.
 */
static const char *const not_in_conf[] = {
	"config", "devfd", "source", "timeout", "retries", "source-workers",
	"auth", "cacert", "deadline", "docker-config", "help", "version",
};

/*
 * A [daemon] setting is the long option of the same name ('_' may stand
 * for '-': "cache_dir" is "cache-dir"); a switch takes "yes" or "no".
 */
static int apply_conf_kv(struct fetchd_parse *p, const char *path,
			 const struct erofs_fetchconf_kv *kv)
{
	char name[64];
	unsigned int i;
	size_t j;

	for (j = 0; kv->key[j] && j < sizeof(name) - 1; j++)
		name[j] = kv->key[j] == '_' ? '-' : kv->key[j];
	name[j] = '\0';
	for (i = 0; i < ARRAY_SIZE(not_in_conf); i++)
		if (!strcmp(name, not_in_conf[i]))
			goto bad;
	for (i = 0; long_opts[i].name; i++) {
		if (strcmp(name, long_opts[i].name))
			continue;
		if (long_opts[i].has_arg == required_argument)
			return parse_one(p, long_opts[i].val, kv->value);
		if (!strcmp(kv->value, "no"))
			return 0;
		if (strcmp(kv->value, "yes"))
			break;
		return parse_one(p, long_opts[i].val, NULL);
	}
bad:
	erofs_err(p->msg, "%s: [daemon] %s = %s: unknown setting or bad value",
		  path, kv->key, kv->value);
	return -EINVAL;
}

static int load_config(struct fetchd_parse *p)
{
	unsigned int i;
	int ret;

	ret = erofs_fetchconf_load(p->o.config, &p->conf, p->msg);
	if (ret)
		return ret;
	p->have_conf = true;
	for (i = 0; i < p->conf.nr_kvs; i++) {
		const struct erofs_fetchconf_kv *kv = &p->conf.kvs[i];

		if (strcmp(kv->section, "daemon")) {
			erofs_warn(p->msg, "%s: section [%s] is not used",
				   p->o.config, kv->section);
			continue;
		}
		ret = apply_conf_kv(p, p->o.config, kv);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_marks(struct fetchd_parse *p)
{
	struct fetchd_opts *o = &p->o;

	if (!o->cache_high.bytes && !o->cache_high.pct) {
		if (o->cache_low.bytes || o->cache_low.pct) {
			erofs_err(p->msg, "--cache-low without --cache-high");
			return -EINVAL;
		}
		return 0;
	}
	if (!o->cache_low.bytes && !o->cache_low.pct) {
		o->cache_low.pct = o->cache_high.pct * 9 / 10;
		o->cache_low.bytes = o->cache_high.bytes / 10 * 9;
	}
	if (!!o->cache_low.pct != !!o->cache_high.pct) {
		erofs_err(p->msg, "--cache-low and --cache-high: both in bytes or both in percent");
		return -EINVAL;
	}
	if (o->cache_low.pct ? o->cache_low.pct >= o->cache_high.pct :
	    o->cache_low.bytes >= o->cache_high.bytes) {
		erofs_err(p->msg, "--cache-low must be below --cache-high");
		return -EINVAL;
	}
	if (o->cache_high.pct > 95)
		erofs_warn(p->msg, "--cache-high=%u%%: cachefiles wants culling from 95%% used (bcull) and caches nothing new from 99%% (bstop)",
			   o->cache_high.pct);
	return 0;
}

static int parse_args(struct fetchd_parse *p, int argc, char **argv)
{
	struct fetchd_opts *o = &p->o;
	int c;

	*o = (struct fetchd_opts){
		.devnode = DEFAULT_DEVNODE,
		.dir = DEFAULT_CACHE_DIR,
		.tag = DEFAULT_TAG,
		.devfd = -1,
		.workers = 4,
		.prefetch_workers = 1,
		.low = 1 << 20,
		.high = 4 << 20,
		.max_window = 64 << 20,
		.cache_interval = 5,
		.log_level = EROFS_MSG_INFO,
	};
	p->conf = (struct erofs_fetchconf){ .default_source = -1 };
	p->have_conf = false;

	/*
	 * Defaults, then the configuration file's [daemon] section, then
	 * the command line: a first quiet pass only finds --config.
	 */
	opterr = 0;
	optind = 0;		/* glibc: start over */
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1)
		if (c == 'c')
			o->config = optarg;
	if (o->config && load_config(p))
		return -EINVAL;
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1)
		if (parse_one(p, c, optarg))
			return -EINVAL;
	if (optind < argc) {
		erofs_err(p->msg, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!!o->source_spec == !!o->config) {
		erofs_err(p->msg, "give one of --source and --config");
		return -EINVAL;
	}
	if (o->high && (o->low > o->high || o->high > o->max_window)) {
		erofs_err(p->msg, "prefetch watermarks need low <= high <= max");
		return -EINVAL;
	}
	if (o->prefetch_all && o->prefetch_list) {
		erofs_err(p->msg, "--prefetch-all already covers --prefetch");
		return -EINVAL;
	}
	return check_marks(p);
}

/* ---- sources ---- */

static int open_sources(struct fetchd *d)
{
	struct erofs_source_opts so = d->o.sopts;
	int ret;

	if (!d->have_conf) {
		unsigned int i;

		so.spec = d->o.source_spec;
		/* as with get --fallback: every setting but the password */
		for (i = 0; i < so.nr_fallbacks; i++) {
			d->o.fallbacks[i].timeout_ms = so.timeout_ms;
			d->o.fallbacks[i].cacert = so.cacert;
			d->o.fallbacks[i].docker_config = so.docker_config;
		}
		so.fallbacks = d->o.fallbacks;
		ret = erofs_source_open(&d->default_src, &so, &d->msg);
		if (ret) {
			char shown[512];

			erofs_source_spec_redact(so.spec, shown, sizeof(shown));
			erofs_err(&d->msg, "source %s: %s", shown,
				  strerror(-ret));
		}
		return ret;
	}
	/* opened at the first OPEN that maps to each: no network at start */
	d->srcs = calloc(d->conf.nr_sources ? d->conf.nr_sources : 1,
			 sizeof(*d->srcs));
	return d->srcs ? 0 : -ENOMEM;
}

static void close_conf_sources(struct erofs_source **srcs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; srcs && i < nr; i++)
		if (srcs[i])
			erofs_source_close(srcs[i]);
	free(srcs);
}

static void close_sources(struct fetchd *d)
{
	struct fetchd_retired *r;

	if (d->default_src)
		erofs_source_close(d->default_src);
	close_conf_sources(d->srcs, d->conf.nr_sources);
	d->srcs = NULL;
	while ((r = d->retired)) {
		d->retired = r->next;
		close_conf_sources(r->srcs, r->conf.nr_sources);
		erofs_fetchconf_free(&r->conf);
		free(r);
	}
}

/* ---- SIGHUP: the configuration file read again ---- */

/* the settings a running daemon keeps: what they are bound to stays */
#define FIXED_STR(field, name)	{ name, offsetof(struct fetchd_opts, field), 's' }
#define FIXED_U32(field, name)	{ name, offsetof(struct fetchd_opts, field), 'u' }
#define FIXED_U64(field, name)	{ name, offsetof(struct fetchd_opts, field), 'U' }
#define FIXED_BOOL(field, name)	{ name, offsetof(struct fetchd_opts, field), 'b' }
#define FIXED_INT(field, name)	{ name, offsetof(struct fetchd_opts, field), 'i' }
static const struct {
	const char *name;
	size_t off;
	char type;
} fixed_opts[] = {
	FIXED_STR(dir, "cache-dir"), FIXED_STR(tag, "tag"),
	FIXED_STR(devnode, "devnode"), FIXED_STR(metrics, "metrics"),
	FIXED_STR(prefetch_list, "prefetch"),
	FIXED_U32(workers, "workers"),
	FIXED_U32(prefetch_workers, "prefetch-workers"),
	FIXED_U32(sopts.min_fetch, "min-fetch"),
	FIXED_U32(cache_interval, "cache-interval"),
	FIXED_U64(low, "prefetch-low"), FIXED_U64(high, "prefetch-high"),
	FIXED_U64(max_window, "prefetch-max"),
	FIXED_BOOL(prefetch_all, "prefetch-all"),
	FIXED_BOOL(supervise, "supervise"), FIXED_BOOL(restore, "restore"),
};

static bool fixed_differs(const struct fetchd_opts *a,
			  const struct fetchd_opts *b, unsigned int i)
{
	const char *pa = (const char *)a + fixed_opts[i].off;
	const char *pb = (const char *)b + fixed_opts[i].off;
	const char *sa, *sb;

	switch (fixed_opts[i].type) {
	case 's':
		sa = *(const char *const *)pa;
		sb = *(const char *const *)pb;
		return sa != sb && (!sa || !sb || strcmp(sa, sb));
	case 'u':
		return *(const unsigned int *)pa != *(const unsigned int *)pb;
	case 'U':
		return *(const uint64_t *)pa != *(const uint64_t *)pb;
	case 'b':
		return *(const bool *)pa != *(const bool *)pb;
	default:
		return *(const int *)pa != *(const int *)pb;
	}
}

static void reload(struct fetchd *d)
{
	struct fetchd_parse p = { .msg = &d->msg };
	struct fetchd_retired *r = NULL;
	struct erofs_source **srcs = NULL;
	unsigned int i;

	if (!d->have_conf) {
		erofs_info(&d->msg, "SIGHUP: no configuration file to read again");
		return;
	}
	erofs_info(&d->msg, "SIGHUP: reading %s again", d->o.config);
	if (parse_args(&p, d->argc, d->argv))
		goto refuse;
	r = calloc(1, sizeof(*r));
	srcs = calloc(p.conf.nr_sources ? p.conf.nr_sources : 1, sizeof(*srcs));
	if (!r || !srcs)
		goto refuse;
	for (i = 0; i < ARRAY_SIZE(fixed_opts); i++)
		if (fixed_differs(&d->o, &p.o, i))
			erofs_warn(&d->msg, "SIGHUP: %s cannot change while running: restart to apply it",
				   fixed_opts[i].name);

	/* objects and jobs keep using the old sources: retired, not closed */
	pthread_mutex_lock(&d->srcs_lock);
	r->conf = d->conf;
	r->srcs = d->srcs;
	d->conf = p.conf;
	d->srcs = srcs;
	pthread_mutex_unlock(&d->srcs_lock);
	r->next = d->retired;
	d->retired = r;
	d->o.cache_high = p.o.cache_high;
	d->o.cache_low = p.o.cache_low;
	fetchd_cull_set_marks(d, &p.o.cache_high, &p.o.cache_low);
	if (p.o.log_level != d->o.log_level) {
		d->o.log_level = p.o.log_level;
		/* every thread logs: the level is read without a lock */
		__atomic_store_n(&d->msg.level, p.o.log_level, __ATOMIC_RELAXED);
		erofs_info(&d->msg, "SIGHUP: log level %s",
			   erofs_msg_level_name(p.o.log_level));
	}
	fetchd_count(d, reloads, 1);
	erofs_info(&d->msg, "SIGHUP: %u sources, %u map entries; objects open keep their source until closed",
		   d->conf.nr_sources, d->conf.nr_maps);
	return;
refuse:
	free(r);
	free(srcs);
	if (p.have_conf)
		erofs_fetchconf_free(&p.conf);
	fetchd_count(d, reload_errors, 1);
	erofs_err(&d->msg, "SIGHUP: %s refused: the running configuration stays",
		  d->o.config);
}

/* ---- the control device ---- */

static int check_devfd(struct fetchd *d, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a))
		return -errno;
	/*
	 * The host-side tests play the kernel over a SOCK_SEQPACKET socket
	 * (tests/tools/cfkernel.c), which keeps one write one message as
	 * the device does; never taken for the device otherwise.
	 */
	if (S_ISSOCK(a.st_mode) && getenv("EROFS_FETCH_TEST_FAKE_DEVICE"))
		return 0;
	if (!S_ISCHR(a.st_mode) ||
	    (!stat(d->o.devnode, &b) && a.st_rdev != b.st_rdev)) {
		erofs_err(&d->msg, "fd %d is not %s", fd, d->o.devnode);
		return -EBADF;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/*
 * Opens or adopts the control device and binds the cache.  *restore is
 * set when the cache was bound already (an adopted fd after failover):
 * then the previous daemon may have left requests read but unanswered.
 */
static int setup_devnode(struct fetchd *d, bool *restore)
{
	bool adopted = false;
	int fd, ret;

	fd = d->o.devfd;
	if (fd < 0) {
		fd = fetchd_sd_listen_fd(SD_FDNAME);
		if (fd >= 0)
			erofs_info(&d->msg, "adopting %s from systemd's fd store",
				   d->o.devnode);
	}
	if (fd >= 0) {
		ret = check_devfd(d, fd);
		if (ret)
			return ret;
		adopted = true;
	} else {
		fd = erofs_cf_open_devnode(d->o.devnode);
		if (fd < 0) {
			erofs_err(&d->msg, "open %s: %s%s", d->o.devnode,
				  strerror(-fd), fd == -ENOENT ?
				  " (kernel without CONFIG_CACHEFILES?)" :
				  fd == -EBUSY ? " (another daemon has it open)" : "");
			return fd;
		}
	}
	d->devfd = fd;
	if (mkdir(d->o.dir, 0700) && errno != EEXIST) {
		ret = -errno;
		erofs_err(&d->msg, "mkdir %s: %s", d->o.dir, strerror(-ret));
		return ret;
	}
	ret = erofs_cf_bind(fd, d->o.dir, d->o.tag);
	if (adopted && (ret == -EEXIST || ret == -EBUSY)) {
		erofs_info(&d->msg, "cache already bound: recovering in-flight requests");
		*restore = true;
		return 0;
	}
	if (ret) {
		erofs_err(&d->msg, "binding cache %s (tag %s): %s%s", d->o.dir,
			  d->o.tag, strerror(-ret),
			  ret == -EINVAL ? " (kernel without CONFIG_CACHEFILES_ONDEMAND?)" :
			  ret == -EOPNOTSUPP ? " (the cache directory must support "
			  "xattrs and O_TMPFILE: not tmpfs)" : "");
		return ret;
	}
	if (!adopted && fetchd_sd_notify("FDSTORE=1\nFDNAME=" SD_FDNAME, fd))
		erofs_warn(&d->msg, "could not hand %s to systemd's fd store",
			   d->o.devnode);
	return 0;
}

static int do_restore(struct fetchd *d)
{
	int ret;

	/* exclusive: no request may be in flight while the kernel re-marks */
	pthread_rwlock_wrlock(&d->table_lock);
	ret = erofs_cf_restore(d->devfd);
	pthread_rwlock_unlock(&d->table_lock);
	if (ret == -EINVAL)
		erofs_warn(&d->msg, "kernel has no 'restore' (before 6.8): "
			   "requests of a previous daemon stay unanswered");
	else if (ret)
		erofs_err(&d->msg, "restore: %s", strerror(-ret));
	else
		erofs_info(&d->msg, "restore: the kernel re-sends unfinished requests");
	return ret;
}

/* ---- signals: a thread turns them into bytes on a pipe ---- */

struct sigthread_arg {
	int wfd;
	sigset_t set;
};

static void *signal_thread(void *p)
{
	struct sigthread_arg *a = p;
	int sig;
	char c;

	for (;;) {
		if (sigwait(&a->set, &sig))
			continue;
		c = sig == SIGUSR1 ? 'u' : sig == SIGHUP ? 'h' : 't';
		if (write(a->wfd, &c, 1) < 0)
			break;
		if (c == 't')
			break;
	}
	return NULL;
}

/* ---- the request loop ---- */

static void dispatch(struct fetchd *d, const void *buf, size_t n, uint64_t t0)
{
	struct erofs_cf_req req;
	int ret = erofs_cf_parse(buf, n, &req);

	if (ret) {
		erofs_err(&d->msg, "malformed %s request (msg %u, %zu bytes): %s",
			  erofs_cf_opname(req.opcode), req.msg_id, n, strerror(-ret));
		fetchd_count(d, bad_msgs, 1);
		/* an OPEN must still be answered or its mount would hang */
		if (req.opcode == CACHEFILES_OP_OPEN) {
			erofs_cf_copen(d->devfd, req.msg_id, -EINVAL);
			if (req.open.fd >= 0)
				close(req.open.fd);
		}
		return;
	}
	erofs_dbg(&d->msg, "%s msg %u object %u", erofs_cf_opname(req.opcode),
		  req.msg_id, req.object_id);
	switch (req.opcode) {
	case CACHEFILES_OP_OPEN:
		fetchd_handle_open(d, &req);
		break;
	case CACHEFILES_OP_CLOSE:
		fetchd_handle_close(d, &req);
		break;
	case CACHEFILES_OP_READ:
		fetchd_queue_read(d, &req, t0);
		break;
	}
}

static int request_loop(struct fetchd *d, int sigfd)
{
	char buf[CACHEFILES_MSG_MAX_SIZE];
	struct pollfd pfd[2] = {
		{ .fd = d->devfd, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
	};
	ssize_t n;
	char c;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents) {
			if (read(sigfd, &c, 1) != 1 || c == 't')
				return 0;
			if (c == 'h')
				reload(d);
			else
				fetchd_stats_print(d, "SIGUSR1");
		}
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			return -EIO;
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = erofs_cf_read_msg(d->devfd, buf, sizeof(buf));
		if (n == 0 || n == -EAGAIN)
			continue;	/* someone else's, or re-marked meanwhile */
		if (n < 0) {
			erofs_err(&d->msg, "reading %s: %s", d->o.devnode,
				  strerror((int)-n));
			return (int)n;
		}
		dispatch(d, buf, n, fetchd_now_us());
	}
}

static int fetchd_init(struct fetchd *d)
{
	pthread_rwlockattr_t attr;

	d->devfd = -1;
	d->start_ms = erofs_now_ms();

	/*
	 * Writers first: READ and prefetch workers take the table lock
	 * shared back to back, and an OPEN or CLOSE must not starve behind
	 * them.  Safe because no thread ever takes it shared twice.
	 */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&d->table_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&d->stats_lock, NULL);
	pthread_mutex_init(&d->srcs_lock, NULL);
	pthread_mutex_init(&d->layout_lock, NULL);
	atomic_init(&d->stopping, false);
	d->http.fds[0] = d->http.fds[1] = -1;
	d->http.stop_pipe[0] = d->http.stop_pipe[1] = -1;
	fetchd_cull_init(d);
	return 0;
}

/*
 * Every open object holds one anonymous fd: many mounted blobs need more
 * than the usual soft limit of 1024.
 */
static void raise_nofile(struct fetchd *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		erofs_warn(&d->msg, "cannot raise the open file limit: %s",
			   strerror(errno));
}

static int serve(struct fetchd *d)
{
	struct sigthread_arg sa;
	bool restore = d->o.restore;
	char shown[512];
	pthread_t sigt;
	int pipefd[2] = { -1, -1 }, ret;

	/*
	 * Signals go to the signal thread only.  Block them before any
	 * thread exists, the source's transfer threads included: a
	 * SIGUSR1 delivered to a thread that has it unblocked would
	 * terminate the process.
	 */
	sigemptyset(&sa.set);
	sigaddset(&sa.set, SIGTERM);
	sigaddset(&sa.set, SIGINT);
	sigaddset(&sa.set, SIGUSR1);
	sigaddset(&sa.set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sa.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(d);

	ret = open_sources(d);
	if (ret)
		return ret;
	if (d->o.prefetch_list) {
		ret = fetchd_load_prefetch_list(d);
		if (ret) {
			erofs_err(&d->msg, "--prefetch %s: %s", d->o.prefetch_list,
				  strerror(-ret));
			goto out_sources;
		}
	}
	ret = setup_devnode(d, &restore);
	if (ret)
		goto out_dev;
	ret = fetchd_http_start(d);
	if (ret)
		goto out_dev;
	ret = fetchd_cull_start(d);
	if (ret)
		goto out_dev;

	if (pipe2(pipefd, O_CLOEXEC)) {
		ret = -errno;
		goto out_dev;
	}
	sa.wfd = pipefd[1];
	if (pthread_create(&sigt, NULL, signal_thread, &sa)) {
		ret = -EAGAIN;
		goto out_pipe;
	}
	pthread_detach(sigt);

	ret = erofs_workqueue_init(&d->demand_wq, d->o.workers,
				   fetchd_worker_init, fetchd_worker_exit, d);
	if (ret)
		goto out_pipe;
	ret = erofs_workqueue_init(&d->prefetch_wq, d->o.prefetch_workers,
				   fetchd_worker_init, fetchd_worker_exit, d);
	if (ret)
		goto out_demand;
	if (restore)
		do_restore(d);
	fetchd_sd_notify("READY=1", -1);
	erofs_source_spec_redact(d->o.source_spec ? d->o.source_spec :
				 d->o.config, shown, sizeof(shown));
	erofs_info(&d->msg, "ready: cache %s tag %s, %u workers, source %s",
		   d->o.dir, d->o.tag, d->o.workers, shown);

	ret = request_loop(d, pipefd[0]);

	fetchd_sd_notify("STOPPING=1", -1);
	erofs_info(&d->msg, "shutting down: finishing queued requests");
	/* demand first: every READ read from the kernel gets completed */
	atomic_store(&d->stopping, true);
	erofs_workqueue_exit(&d->demand_wq);
	erofs_workqueue_exit(&d->prefetch_wq);
	goto out_tables;
out_demand:
	erofs_workqueue_exit(&d->demand_wq);
out_tables:
	fetchd_close_all(d);
	fetchd_layout_exit(d);
	fetchd_stats_print(d, "exit");
out_pipe:
	close(pipefd[0]);
	close(pipefd[1]);
out_dev:
	fetchd_cull_stop(d);
	fetchd_http_stop(d);
	fetchd_cull_exit(d);
	if (d->devfd >= 0)
		close(d->devfd);
out_sources:
	close_sources(d);
	free(d->plist);
	return ret;
}

/* ---- the supervisor ---- */

static volatile sig_atomic_t sup_term, sup_usr1, sup_hup;

static void sup_handler(int sig)
{
	if (sig == SIGUSR1)
		sup_usr1 = 1;
	else if (sig == SIGHUP)
		sup_hup = 1;
	else
		sup_term = 1;
}

static void sup_signals(bool install)
{
	struct sigaction sa = { .sa_handler = install ? sup_handler : SIG_DFL };

	/* no SA_RESTART: waitpid must return to forward the signal */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* waits for @pid, forwarding signals; its wait status */
static int sup_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
		if (sup_term)
			kill(pid, SIGTERM);
		if (sup_usr1) {
			sup_usr1 = 0;
			kill(pid, SIGUSR1);
		}
		if (sup_hup) {
			sup_hup = 0;
			kill(pid, SIGHUP);
		}
	}
	return status;
}

/*
 * The cache stays bound only while /dev/cachefiles is open somewhere.
 * The supervisor opens and binds it, then runs the daemon in a child
 * that inherits the fd; when the child dies the supervisor's copy keeps
 * the cache (and every mount's pending requests) alive, and the next
 * child writes "restore" to have them re-sent.
 */
static int supervise(struct fetchd *d)
{
	unsigned int quick_deaths = 0;
	bool restore = false;
	uint64_t started;
	int ret, status;
	pid_t pid;

	ret = setup_devnode(d, &restore);
	if (ret)
		return ret;
	sup_signals(true);
	d->o.devfd = d->devfd;
	d->o.supervise = false;
	for (;;) {
		started = erofs_now_ms();
		pid = fork();
		if (pid < 0) {
			ret = -errno;
			break;
		}
		if (!pid) {
			sup_signals(false);
			_exit(serve(d) ? 1 : 0);
		}
		erofs_info(&d->msg, "supervisor: daemon running as pid %d", (int)pid);
		status = sup_wait(pid);
		if (sup_term || (WIFEXITED(status) && !WEXITSTATUS(status))) {
			ret = WIFEXITED(status) ? -WEXITSTATUS(status) : 0;
			break;
		}
		if (WIFSIGNALED(status))
			erofs_warn(&d->msg, "supervisor: daemon killed by signal %d; restarting",
				   WTERMSIG(status));
		else
			erofs_warn(&d->msg, "supervisor: daemon exited with %d; restarting",
				   WEXITSTATUS(status));
		/* a daemon that cannot start at all would otherwise spin */
		quick_deaths = erofs_now_ms() - started < 2000 ? quick_deaths + 1 : 0;
		if (quick_deaths >= 5) {
			erofs_err(&d->msg, "supervisor: daemon keeps dying; giving up");
			ret = -EIO;
			break;
		}
		if (quick_deaths)
			sleep(1);
	}
	close(d->devfd);
	return ret;
}

int erofs_fetch_daemon_main(int argc, char **argv)
{
	struct fetchd *d = calloc(1, sizeof(*d));
	struct fetchd_parse p;
	int ret;

	if (!d)
		return 1;
	d->msg.prog = "erofs-fetch";
	d->msg.level = EROFS_MSG_INFO;
	/* a daemon's messages are a log: when, how bad, and for the journal */
	d->msg.flags = erofs_msg_stderr_is_journal() ? EROFS_MSG_JOURNAL :
		EROFS_MSG_TIME;
	fetchd_init(d);
	/* "erofs-fetch daemon ..." and "erofs-fetch ..." are the same */
	if (argc > 1 && !strcmp(argv[1], "daemon")) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	d->argc = argc;
	d->argv = argv;
	p = (struct fetchd_parse){ .msg = &d->msg };
	if (parse_args(&p, argc, argv)) {
		if (p.have_conf)
			erofs_fetchconf_free(&p.conf);
		free(d);
		return EXIT_USAGE;
	}
	d->o = p.o;
	d->conf = p.conf;
	d->have_conf = p.have_conf;
	d->msg.level = d->o.log_level;
	ret = d->o.supervise ? supervise(d) : serve(d);
	if (d->have_conf)
		erofs_fetchconf_free(&d->conf);
	free(d);
	return ret ? 1 : 0;
}
