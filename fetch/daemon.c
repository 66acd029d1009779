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

static void usage(FILE *f)
{
	fputs("usage: erofs-fetch [daemon] [OPTIONS] --source=SPEC | --config=FILE\n"
"Serve EROFS images mounted in fscache mode (mount -t erofs none -o fsid=ID)\n"
"through the cachefiles on-demand protocol.\n"
"\n"
"Where the data comes from:\n"
"  -s, --source=SPEC        dir:/path, http(s)://host/base or oci://host/repo;\n"
"                           a cookie key (fsid or blob tag) is the object name\n"
"  -c, --config=FILE        sources and a key map (see erofs-fetch(1))\n"
"      --min-fetch=SIZE     fetch at least this much per request (readahead)\n"
"      --timeout=MS, --retries=N, --source-workers=N, --auth=CRED, --cacert=FILE\n"
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
"      --fallback=SPEC|NAME a further source for units of a blob that do not\n"
"                           match its digest table (repeatable, tried in order)\n"
"      --unverified=POLICY  a blob without a digest table in its bootstrap:\n"
"                           refuse (default: its reads fail) or allow\n"
"Messages:\n"
"  -v, --verbose            more messages (repeat for debug)\n"
"  -q, --quiet              errors only\n"
"  -h, --help\n"
"SIGUSR1 prints statistics, SIGTERM/SIGINT shut down cleanly.\n", f);
}

enum {
	OPT_DEVNODE = 256, OPT_DEVFD, OPT_RESTORE, OPT_SUPERVISE, OPT_MINFETCH,
	OPT_TIMEOUT, OPT_RETRIES, OPT_SWORKERS, OPT_AUTH, OPT_CACERT,
	OPT_PWORKERS, OPT_PLOW, OPT_PHIGH, OPT_PMAX, OPT_NOPREFETCH,
	OPT_PLIST, OPT_PALL, OPT_UNVERIFIED, OPT_FALLBACK,
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
	{ "workers", required_argument, NULL, 'j' },
	{ "prefetch-workers", required_argument, NULL, OPT_PWORKERS },
	{ "prefetch-low", required_argument, NULL, OPT_PLOW },
	{ "prefetch-high", required_argument, NULL, OPT_PHIGH },
	{ "prefetch-max", required_argument, NULL, OPT_PMAX },
	{ "no-prefetch", no_argument, NULL, OPT_NOPREFETCH },
	{ "prefetch", required_argument, NULL, OPT_PLIST },
	{ "prefetch-all", no_argument, NULL, OPT_PALL },
	{ "unverified", required_argument, NULL, OPT_UNVERIFIED },
	{ "fallback", required_argument, NULL, OPT_FALLBACK },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_uint(struct fetchd *d, const char *opt, const char *arg,
		      long long max, unsigned int *out)
{
	long long v;

	if (erofs_parse_long(arg, 0, max, &v)) {
		erofs_err(&d->msg, "--%s: '%s' is not a number in [0, %lld]",
			  opt, arg, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_bytes(struct fetchd *d, const char *opt, const char *arg,
		       uint64_t *out)
{
	if (erofs_parse_size(arg, out)) {
		erofs_err(&d->msg, "--%s: '%s' is not a size", opt, arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_one(struct fetchd *d, int c, const char *arg)
{
	struct fetchd_opts *o = &d->o;
	unsigned int v;
	uint64_t sz;

	switch (c) {
	case 's': o->source_spec = arg; return 0;
	case 'c': o->config = arg; return 0;
	case 'd': o->dir = arg; return 0;
	case 't': o->tag = arg; return 0;
	case OPT_DEVNODE: o->devnode = arg; return 0;
	case OPT_DEVFD:
		if (parse_uint(d, "devfd", arg, 65535, &v))
			return -EINVAL;
		o->devfd = v;
		return 0;
	case OPT_RESTORE: o->restore = true; return 0;
	case OPT_SUPERVISE: o->supervise = true; return 0;
	case OPT_MINFETCH:
		if (parse_bytes(d, "min-fetch", arg, &sz) || sz > EROFS_SOURCE_MAX_REQUEST) {
			erofs_err(&d->msg, "--min-fetch: at most %u bytes",
				  EROFS_SOURCE_MAX_REQUEST);
			return -EINVAL;
		}
		o->sopts.min_fetch = sz;
		return 0;
	case OPT_TIMEOUT:
		return parse_uint(d, "timeout", arg, 3600000, &o->sopts.timeout_ms);
	case OPT_RETRIES:
		return parse_uint(d, "retries", arg, 100, &o->sopts.retries);
	case OPT_SWORKERS:
		return parse_uint(d, "source-workers", arg, 256, &o->sopts.workers);
	case OPT_AUTH: o->sopts.auth = arg; return 0;
	case OPT_CACERT: o->sopts.cacert = arg; return 0;
	case 'j':
		if (parse_uint(d, "workers", arg, 256, &o->workers))
			return -EINVAL;
		if (!o->workers) {
			erofs_err(&d->msg, "--workers: at least 1");
			return -EINVAL;
		}
		return 0;
	case OPT_PWORKERS:
		if (parse_uint(d, "prefetch-workers", arg, 64, &o->prefetch_workers))
			return -EINVAL;
		if (!o->prefetch_workers) {
			erofs_err(&d->msg, "--prefetch-workers: at least 1");
			return -EINVAL;
		}
		return 0;
	case OPT_PLOW: return parse_bytes(d, "prefetch-low", arg, &o->low);
	case OPT_PHIGH: return parse_bytes(d, "prefetch-high", arg, &o->high);
	case OPT_PMAX: return parse_bytes(d, "prefetch-max", arg, &o->max_window);
	case OPT_NOPREFETCH: o->high = o->low = 0; return 0;
	case OPT_PLIST: o->prefetch_list = arg; return 0;
	case OPT_PALL: o->prefetch_all = true; return 0;
	case OPT_UNVERIFIED:
		if (!fetch_parse_unverified(arg, &o->unverified))
			return 0;
		erofs_err(&d->msg, "--unverified: '%s' is neither allow nor refuse",
			  arg);
		return -EINVAL;
	case OPT_FALLBACK:
		if (o->nr_fallback == ARRAY_SIZE(o->fallback)) {
			erofs_err(&d->msg, "--fallback: at most %zu",
				  ARRAY_SIZE(o->fallback));
			return -EINVAL;
		}
		o->fallback[o->nr_fallback++] = arg;
		return 0;
	case 'v': d->msg.level++; return 0;
	case 'q': d->msg.level = EROFS_MSG_ERR; return 0;
	case 'h': usage(stdout); exit(0);
	}
	usage(stderr);
	return -EINVAL;
}

/* [daemon] settings of the configuration file: option names with '_' */
static const struct {
	const char *key;
	int opt;
} conf_keys[] = {
	{ "cache_dir", 'd' }, { "tag", 't' }, { "devnode", OPT_DEVNODE },
	{ "workers", 'j' }, { "prefetch_workers", OPT_PWORKERS },
	{ "prefetch_low", OPT_PLOW }, { "prefetch_high", OPT_PHIGH },
	{ "prefetch_max", OPT_PMAX }, { "prefetch", OPT_PLIST },
	{ "prefetch_all", OPT_PALL }, { "no_prefetch", OPT_NOPREFETCH },
	{ "min_fetch", OPT_MINFETCH }, { "unverified", OPT_UNVERIFIED },
	{ "fallback", OPT_FALLBACK },
};

static int apply_conf_kv(struct fetchd *d, const struct erofs_fetchconf_kv *kv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(kv->key, conf_keys[i].key))
			continue;
		/* switches take a boolean: only "yes" turns them on */
		if (conf_keys[i].opt == OPT_PALL || conf_keys[i].opt == OPT_NOPREFETCH) {
			if (strcmp(kv->value, "yes") && strcmp(kv->value, "no"))
				break;
			return strcmp(kv->value, "yes") ? 0 :
				parse_one(d, conf_keys[i].opt, NULL);
		}
		return parse_one(d, conf_keys[i].opt, kv->value);
	}
	erofs_err(&d->msg, "%s: [daemon] %s = %s: unknown setting or bad value",
		  d->o.config, kv->key, kv->value);
	return -EINVAL;
}

static int load_config(struct fetchd *d)
{
	unsigned int i;
	int ret;

	ret = erofs_fetchconf_load(d->o.config, &d->conf, &d->msg);
	if (ret)
		return ret;
	d->have_conf = true;
	for (i = 0; i < d->conf.nr_kvs; i++) {
		const struct erofs_fetchconf_kv *kv = &d->conf.kvs[i];

		if (strcmp(kv->section, "daemon")) {
			erofs_warn(&d->msg, "%s: section [%s] is not used",
				   d->o.config, kv->section);
			continue;
		}
		ret = apply_conf_kv(d, kv);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_args(struct fetchd *d, int argc, char **argv)
{
	struct fetchd_opts *o = &d->o;
	int c;

	o->devnode = DEFAULT_DEVNODE;
	o->dir = DEFAULT_CACHE_DIR;
	o->tag = DEFAULT_TAG;
	o->devfd = -1;
	o->workers = 4;
	o->prefetch_workers = 1;
	o->low = 1 << 20;
	o->high = 4 << 20;
	o->max_window = 64 << 20;

	/* "erofs-fetch daemon ..." and "erofs-fetch ..." are the same */
	if (argc > 1 && !strcmp(argv[1], "daemon")) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	/*
	 * Defaults, then the configuration file's [daemon] section, then
	 * the command line: a first quiet pass only finds --config.
	 */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:d:t:j:vqh", long_opts, NULL)) != -1)
		if (c == 'c')
			o->config = optarg;
	if (o->config && load_config(d))
		return -EINVAL;
	opterr = 1;
	optind = 0;		/* glibc: start over */
	while ((c = getopt_long(argc, argv, "s:c:d:t:j:vqh", long_opts, NULL)) != -1)
		if (parse_one(d, c, optarg))
			return -EINVAL;
	if (optind < argc) {
		erofs_err(&d->msg, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!!o->source_spec == !!o->config) {
		erofs_err(&d->msg, "give one of --source and --config");
		return -EINVAL;
	}
	if (o->high && (o->low > o->high || o->high > o->max_window)) {
		erofs_err(&d->msg, "prefetch watermarks need low <= high <= max");
		return -EINVAL;
	}
	if (o->prefetch_all && o->prefetch_list) {
		erofs_err(&d->msg, "--prefetch-all already covers --prefetch");
		return -EINVAL;
	}
	return 0;
}

/* ---- sources ---- */

/*
 * Sources a unit that does not match its digest is asked of next: a
 * [source] of the configuration by name, else a spec with the
 * command line's timeouts (not its credentials: those are for --source).
 */
static int open_fallbacks(struct fetchd *d)
{
	unsigned int i;
	int ret;

	for (i = 0; i < d->o.nr_fallback; i++) {
		const struct erofs_fetchconf_source *cs = d->have_conf ?
			erofs_fetchconf_find(&d->conf, d->o.fallback[i]) : NULL;
		struct erofs_source_opts so = {
			.spec = d->o.fallback[i],
			.timeout_ms = d->o.sopts.timeout_ms,
			.retries = d->o.sopts.retries,
		};

		if (cs)
			so = cs->opts;
		ret = erofs_source_open(&d->fallback_srcs[i], &so, &d->msg);
		if (ret) {
			erofs_err(&d->msg, "fallback source %s: %s",
				  d->o.fallback[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int open_sources(struct fetchd *d)
{
	struct erofs_source_opts so = d->o.sopts;
	int ret;

	ret = open_fallbacks(d);
	if (ret)
		return ret;
	if (!d->have_conf) {
		so.spec = d->o.source_spec;
		ret = erofs_source_open(&d->default_src, &so, &d->msg);
		if (ret)
			erofs_err(&d->msg, "source %s: %s", so.spec, strerror(-ret));
		return ret;
	}
	/* opened at the first OPEN that maps to each: no network at start */
	d->srcs = calloc(d->conf.nr_sources ? d->conf.nr_sources : 1,
			 sizeof(*d->srcs));
	return d->srcs ? 0 : -ENOMEM;
}

static void close_sources(struct fetchd *d)
{
	unsigned int i;

	if (d->default_src)
		erofs_source_close(d->default_src);
	for (i = 0; i < d->o.nr_fallback; i++)
		if (d->fallback_srcs[i])
			erofs_source_close(d->fallback_srcs[i]);
	for (i = 0; d->srcs && i < d->conf.nr_sources; i++)
		if (d->srcs[i])
			erofs_source_close(d->srcs[i]);
	free(d->srcs);
	d->srcs = NULL;
}

/* ---- the control device ---- */

static int check_devfd(struct fetchd *d, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a))
		return -errno;
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
		c = sig == SIGUSR1 ? 'u' : 't';
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
	erofs_info(&d->msg, "ready: cache %s tag %s, %u workers, source %s",
		   d->o.dir, d->o.tag, d->o.workers,
		   d->o.source_spec ? d->o.source_spec : d->o.config);

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
	if (d->devfd >= 0)
		close(d->devfd);
out_sources:
	close_sources(d);
	free(d->plist);
	return ret;
}

/* ---- the supervisor ---- */

static volatile sig_atomic_t sup_term, sup_usr1;

static void sup_handler(int sig)
{
	if (sig == SIGUSR1)
		sup_usr1 = 1;
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
	int ret;

	if (!d)
		return 1;
	d->msg.prog = "erofs-fetch";
	d->msg.level = EROFS_MSG_INFO;
	fetchd_init(d);
	if (parse_args(d, argc, argv)) {
		if (d->have_conf)
			erofs_fetchconf_free(&d->conf);
		free(d);
		return 2;
	}
	ret = d->o.supervise ? supervise(d) : serve(d);
	if (d->have_conf)
		erofs_fetchconf_free(&d->conf);
	free(d);
	return ret ? 1 : 0;
}
