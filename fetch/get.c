// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch get SOURCE KEY OUT [--range A-B]: fills a local sparse
 * cache file through the same fetch path as the daemon (warming caches,
 * debugging).  Bytes land at their own offsets, holes elsewhere, so a
 * partly filled file looks like what the daemon leaves.
 *
 * Nothing wrong is ever written to OUT: a new OUT is built under a
 * temporary name and renamed into place only once complete (and
 * verified); into an existing OUT the range is copied only after all of
 * it has arrived, from a staging file next to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/json.h"
#include "erofs/sha256.h"
#include "erofs/source.h"
#include "get.h"
#include "get_image.h"

#define GET_CHUNK_DEFAULT	(4U << 20)
#define WINDOW_BYTES		(16U << 20)
#define PROGRESS_MIN		(16ULL << 20)

static volatile sig_atomic_t got_usr1, got_stop;

struct get_cfg {
	struct erofs_msg msg;
	struct erofs_source_opts opts;
	struct erofs_source_opts fallbacks[EROFS_SOURCE_MAX_SPECS - 1];
	const char *config, *range, *verify;
	const char *source, *key, *out;
	bool verify_given, quiet, json;
	unsigned int chunk;
	uint64_t first, last;		/* the bytes asked, inclusive */
	bool ranged, whole;
	/*
	 * --image: the blob's digest table checks every unit written, a
	 * gzip or zstd layer's index serves it; a unit that came wrong is
	 * asked of each try (the source's specs) in turn
	 */
	const char *image;
	enum fetch_unverified unverified;
	struct get_image gi;
	struct fetch_try tries[FETCH_MAX_SOURCES];
	unsigned int nr_tries;
	struct fetch_verify_stats vstats;
};

struct chunk {
	uint64_t off;
	size_t len;
	char *buf;
	bool busy, done;
	int err;
	struct window *win;
	/* with a table: hashed on the source's worker, in parallel */
	const struct erofs_digest_table *table;
	bool matched;
};

struct window {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct chunk *c;
	unsigned int n;
};

static const char usage[] =
"usage: erofs-fetch get [OPTIONS] SOURCE KEY OUT\n"
"Fetch object KEY (a file name, or a sha256 digest for OCI) from SOURCE\n"
"into the sparse cache file OUT, at the same offsets.\n"
"SOURCE: dir:PATH or /PATH, http(s)://HOST/BASE, oci://HOST[:PORT]/REPO[?insecure],\n"
"        or with -c, the NAME of a [source NAME] (\"-\": map KEY through [map])\n"
"  --range A-B           bytes A to B inclusive (\"A-\": to the end); default all\n"
"  -c, --config FILE     configuration file (sources, map)\n"
"  --fallback SPEC       another source, tried in order when SOURCE fails or,\n"
"                        with --image, gives a unit that does not match\n"
"                        (repeatable)\n"
"  --timeout MS          per attempt: connect, answer, stall (default 30000)\n"
"  --retries N           attempts after the first on transient errors\n"
"                        (default 4; 0: no retry)\n"
"  --deadline MS         one request in all, retries and fallbacks included\n"
"                        (default (retries + 1) * timeout per source)\n"
"  --min-fetch SIZE      widen the range to SIZE-aligned bounds (readahead)\n"
"  --workers N           parallel requests (default 4)\n"
"  --chunk SIZE          bytes per request for large gets (default 4M, max 8M)\n"
"  --auth CRED           user:password or bearer:TOKEN, for SOURCE only\n"
"  --docker-config FILE  registry credentials (default $DOCKER_CONFIG/config.json\n"
"                        or ~/.docker/config.json; \"none\": not used)\n"
"  --cacert FILE         CA certificates for https\n"
"  --verify[=DIGEST]     check the whole blob's sha256 (default: the KEY's digest)\n"
"  --image=BOOT          KEY is the tag of a device of bootstrap BOOT: each unit\n"
"                        of its digest table is checked before it is written\n"
"                        (ranges widen to whole units; a unit that came wrong\n"
"                        is asked again of SOURCE, then of each --fallback);\n"
"                        a gzip or zstd layer (--tar=i) is served from its\n"
"                        blob in SOURCE\n"
"  --unverified POLICY   with --image, a device without a digest table:\n"
"                        refuse (default) or allow\n"
"  -d LEVEL              message level: 0 errors only ... 3 debug (default 2)\n"
"  --quiet               errors only, no progress, no stats line\n"
"  --json                print the stats as JSON on stdout\n"
"  -h, --help            this text\n";

enum {
	OPT_RANGE = 256, OPT_TIMEOUT, OPT_RETRIES, OPT_MIN_FETCH, OPT_WORKERS,
	OPT_CHUNK, OPT_AUTH, OPT_CACERT, OPT_VERIFY, OPT_QUIET, OPT_JSON,
	OPT_FALLBACK, OPT_DEADLINE, OPT_DOCKER_CONFIG, OPT_IMAGE,
	OPT_UNVERIFIED,
};

static const struct option long_opts[] = {
	{ "range", required_argument, NULL, OPT_RANGE },
	{ "config", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "fallback", required_argument, NULL, OPT_FALLBACK },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "docker-config", required_argument, NULL, OPT_DOCKER_CONFIG },
	{ "min-fetch", required_argument, NULL, OPT_MIN_FETCH },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "verify", optional_argument, NULL, OPT_VERIFY },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "unverified", required_argument, NULL, OPT_UNVERIFIED },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

static int parse_uint(struct get_cfg *c, const char *what, const char *arg,
		      bool size, long long max, unsigned int *out)
{
	long long v;
	uint64_t u;

	if (size ? erofs_parse_size(arg, &u) || u > (uint64_t)max :
	    erofs_parse_long(arg, 0, max, &v)) {
		erofs_err(&c->msg, "bad %s \"%s\"", what, arg);
		return -EINVAL;
	}
	*out = size ? u : v;
	return 0;
}

static int parse_one(struct get_cfg *c, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case 'c':
		c->config = arg;
		return 0;
	case 'd':
		if (erofs_parse_long(arg, 0, 9, &v)) {
			erofs_err(&c->msg, "bad message level \"%s\"", arg);
			return -EINVAL;
		}
		c->msg.level = MIN(v, (long long)EROFS_MSG_DEBUG);
		return 0;
	case OPT_RANGE:
		c->range = arg;
		return 0;
	case OPT_TIMEOUT:
		return parse_uint(c, "timeout", arg, false, 3600000,
				  &c->opts.timeout_ms);
	case OPT_RETRIES:
		c->opts.retries_set = true;
		return parse_uint(c, "retries", arg, false, 100,
				  &c->opts.retries);
	case OPT_DEADLINE:
		return parse_uint(c, "deadline", arg, false, 86400000,
				  &c->opts.deadline_ms);
	case OPT_DOCKER_CONFIG:
		c->opts.docker_config = arg;
		return 0;
	case OPT_FALLBACK:
		if (c->opts.nr_fallbacks >= ARRAY_SIZE(c->fallbacks)) {
			erofs_err(&c->msg, "at most %zu fallbacks",
				  ARRAY_SIZE(c->fallbacks));
			return -EINVAL;
		}
		c->fallbacks[c->opts.nr_fallbacks++].spec = arg;
		return 0;
	case OPT_MIN_FETCH:
		return parse_uint(c, "min-fetch", arg, true,
				  EROFS_SOURCE_MAX_REQUEST, &c->opts.min_fetch);
	case OPT_WORKERS:
		return parse_uint(c, "workers", arg, false, 256,
				  &c->opts.workers);
	case OPT_CHUNK:
		return parse_uint(c, "chunk", arg, true,
				  EROFS_SOURCE_MAX_REQUEST, &c->chunk);
	case OPT_AUTH:
		c->opts.auth = arg;
		return 0;
	case OPT_CACERT:
		c->opts.cacert = arg;
		return 0;
	case OPT_VERIFY:
		c->verify_given = true;
		c->verify = arg;
		return 0;
	case OPT_QUIET:
		c->quiet = true;
		c->msg.level = EROFS_MSG_ERR;
		return 0;
	case OPT_JSON:
		c->json = true;
		return 0;
	case OPT_IMAGE:
		c->image = arg;
		return 0;
	case OPT_UNVERIFIED:
		if (fetch_parse_unverified(arg, &c->unverified)) {
			erofs_err(&c->msg, "bad --unverified \"%s\": allow or refuse",
				  arg);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

/* "A-B" inclusive or "A-" to the end */
static int parse_range(struct get_cfg *c)
{
	unsigned long long a, b;
	char *end;

	if (!c->range)
		return 0;
	errno = 0;
	a = strtoull(c->range, &end, 0);
	if (errno || end == c->range || *end != '-' || c->range[0] == '-')
		goto bad;
	c->first = a;
	c->ranged = true;
	if (!end[1]) {
		c->last = UINT64_MAX;	/* to the end: clipped later */
		return 0;
	}
	if (end[1] < '0' || end[1] > '9')
		goto bad;
	b = strtoull(end + 1, &end, 0);
	if (errno || *end || b < a)
		goto bad;
	c->last = b;
	return 0;
bad:
	erofs_err(&c->msg, "bad range \"%s\": expected A-B (inclusive) or A-",
		  c->range);
	return -EINVAL;
}

/*
 * Fallbacks given on the command line share its settings but --auth: a
 * registry's password must not go to a mirror.  They find their own in
 * the Docker config.
 */
static void set_fallbacks(struct get_cfg *c)
{
	unsigned int i;

	for (i = 0; i < c->opts.nr_fallbacks; i++) {
		c->fallbacks[i].timeout_ms = c->opts.timeout_ms;
		c->fallbacks[i].cacert = c->opts.cacert;
		c->fallbacks[i].docker_config = c->opts.docker_config;
	}
	c->opts.fallbacks = c->fallbacks;
}

static int parse_args(struct get_cfg *c, int argc, char **argv)
{
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:d:h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (opt == '?' || parse_one(c, opt, optarg))
			return -EINVAL;
	}
	if (argc - optind != 3) {
		erofs_err(&c->msg, "expected SOURCE KEY OUT (see --help)");
		return -EINVAL;
	}
	c->source = argv[optind];
	c->key = argv[optind + 1];
	c->out = argv[optind + 2];
	set_fallbacks(c);
	return parse_range(c);
}

/* flags on the command line win over the config file's settings */
static void merge_opts(struct erofs_source_opts *o,
		       const struct erofs_source_opts *cmd)
{
	if (cmd->timeout_ms)
		o->timeout_ms = cmd->timeout_ms;
	if (cmd->retries_set) {
		o->retries = cmd->retries;
		o->retries_set = true;
	}
	if (cmd->deadline_ms)
		o->deadline_ms = cmd->deadline_ms;
	if (cmd->docker_config)
		o->docker_config = cmd->docker_config;
	/* --fallback replaces the file's fallbacks */
	if (cmd->nr_fallbacks) {
		o->fallbacks = cmd->fallbacks;
		o->nr_fallbacks = cmd->nr_fallbacks;
	}
	if (cmd->min_fetch)
		o->min_fetch = cmd->min_fetch;
	if (cmd->workers)
		o->workers = cmd->workers;
	if (cmd->auth)
		o->auth = cmd->auth;
	if (cmd->cacert)
		o->cacert = cmd->cacert;
}

static int resolve_source(struct get_cfg *c, struct erofs_fetchconf *conf)
{
	const struct erofs_fetchconf_source *fs;
	const char *object;
	int err;

	if (!c->config) {
		c->opts.spec = c->source;
		return 0;
	}
	err = erofs_fetchconf_load(c->config, conf, &c->msg);
	if (err)
		return err;
	if (!strcmp(c->source, "-")) {
		if (erofs_fetchconf_lookup(conf, c->key, &fs, &object)) {
			erofs_err(&c->msg, "%s: no [map] line for key \"%s\" and no \"*\"",
				  c->config, c->key);
			return -ENOENT;
		}
		c->key = object;
	} else {
		fs = erofs_fetchconf_find(conf, c->source);
		if (!fs) {
			/* not a name: a spec, with the file's maps unused */
			c->opts.spec = c->source;
			return 0;
		}
	}
	{
		struct erofs_source_opts o = fs->opts;

		merge_opts(&o, &c->opts);
		c->opts = o;
	}
	return 0;
}

/* --image: the units checked and the mismatches of each source */
static void add_verify_stats(struct get_cfg *c, bool json, char *line,
			     size_t size)
{
	size_t n = strlen(line);
	char v[300];

	if (!c->gi.has_table)
		return;
	fetch_verify_stats_format(&c->vstats, c->tries, c->nr_tries, json, v,
				  sizeof(v));
	/* the source's JSON object ends with '}': the members go inside */
	if (json && n && line[n - 1] == '}')
		snprintf(line + n - 1, size - n + 1, ", %s}", v);
	else if (!json)
		snprintf(line + n, size - n, " %s", v);
}

/* with fallbacks, a line (or JSON object) per source after the total */
static void print_spec_stats(struct get_cfg *c, struct erofs_source *src,
			     bool json)
{
	unsigned int i, n = erofs_source_nr_specs(src);
	struct erofs_source_stats st;
	char line[600], spec[512];

	for (i = 0; i < n; i++) {
		erofs_source_spec_stats(src, i, &st, spec, sizeof(spec));
		erofs_source_stats_format(&st, json, line, sizeof(line));
		if (json) {
			/* the spec of a source is not ours: escaped */
			printf("%s{\"spec\":", i ? "," : "");
			erofs_json_quote(stdout, spec, strlen(spec));
			printf(",\"backing_off\":%llu,%s",
			       (unsigned long long)st.backing_off, line + 1);
		} else if (n > 1) {
			fprintf(stderr, "%s: stats: source %s: %s%s\n",
				c->msg.prog, spec, line,
				st.backing_off ? " (backing off)" : "");
		}
	}
}

static void print_stats(struct get_cfg *c, struct erofs_source *src,
			bool final)
{
	struct erofs_source_stats st;
	char line[600];

	erofs_source_stats(src, &st);
	if (final && c->json) {
		erofs_source_stats_format(&st, true, line, sizeof(line));
		add_verify_stats(c, true, line, sizeof(line));
		/* the total, and every source in "sources" */
		line[strlen(line) - 1] = '\0';
		printf("%s,\"sources\":[", line);
		print_spec_stats(c, src, true);
		printf("]}\n");
		fflush(stdout);
	}
	if (c->quiet && final)
		return;
	erofs_source_stats_format(&st, false, line, sizeof(line));
	add_verify_stats(c, false, line, sizeof(line));
	/* SIGUSR1 always answers, whatever the level */
	fprintf(stderr, "%s: stats: %s\n", c->msg.prog, line);
	print_spec_stats(c, src, false);
}

static void chunk_done(void *priv, int err)
{
	struct chunk *ch = priv;
	struct window *w = ch->win;
	uint64_t bad;
	bool matched = false;

	/* a mismatch is left to the main thread, which may ask again */
	if (!err && ch->table)
		matched = !erofs_digest_table_check(ch->table, ch->off, ch->buf,
						    ch->len, &bad);
	pthread_mutex_lock(&w->lock);
	ch->matched = matched;
	ch->err = err;
	ch->done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* waits for @ch, waking now and then for signals; false if interrupted */
static bool chunk_wait(struct get_cfg *c, struct erofs_source *src,
		       struct chunk *ch, bool ignore_stop)
{
	struct window *w = ch->win;
	struct timespec ts;
	bool done;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		if (!ch->done) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		done = ch->done;
		pthread_mutex_unlock(&w->lock);
		if (got_usr1) {
			got_usr1 = 0;
			print_stats(c, src, false);
		}
		if (done)
			return true;
		if (got_stop && !ignore_stop)
			return false;
	}
}

static int pwrite_all(int fd, const char *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

struct transfer {
	struct get_cfg *c;
	struct erofs_source *src;
	const char *key;
	int fd;
	const char *fdname;
	uint64_t off, len;
	struct erofs_sha256 *sha;	/* NULL: no verification */
	const struct erofs_digest_table *table;	/* NULL: units unchecked */
};

static int window_init(struct window *w, unsigned int n, size_t chunk)
{
	unsigned int i;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->n = n;
	w->c = calloc(n, sizeof(*w->c));
	if (!w->c)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		w->c[i].win = w;
		w->c[i].buf = malloc(chunk);
		if (!w->c[i].buf)
			return -ENOMEM;
	}
	return 0;
}

static void window_free(struct window *w)
{
	unsigned int i;

	for (i = 0; w->c && i < w->n; i++)
		free(w->c[i].buf);
	free(w->c);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
}

/* with a table, chunks are whole units, so that each is checked alone */
static size_t chunk_size(const struct transfer *t)
{
	size_t csize = t->c->chunk ?: GET_CHUNK_DEFAULT;

	if (t->table)
		csize = ROUND_UP(csize, erofs_digest_unit_size(t->table));
	return csize;
}

/* a chunk fetched: checked against the table, hashed and written */
static int chunk_land(struct transfer *t, struct chunk *ch)
{
	struct get_cfg *c = t->c;
	int err = 0;

	if (t->table && ch->matched)
		fetch_verify_count(&c->vstats, t->table, ch->off, ch->len);
	else if (t->table)
		err = fetch_verify_range(t->table, c->gi.blob, c->tries,
					 c->nr_tries, ch->off, ch->buf,
					 ch->len, &c->vstats, &c->msg);
	if (err)
		return err;
	if (t->sha)
		erofs_sha256_update(t->sha, ch->buf, ch->len);
	err = pwrite_all(t->fd, ch->buf, ch->len, ch->off);
	if (err)
		erofs_err(&c->msg, "write %s: %s", t->fdname, strerror(-err));
	return err;
}

/*
 * A gzip or zstd layer's tar, inflated a chunk at a time (the index
 * serialises its reads) and landed like a fetched one.
 */
static int transfer_zran(struct transfer *t, struct erofs_zran *zr)
{
	size_t csize = chunk_size(t);
	struct chunk ch = { 0 };
	uint64_t done;
	int err = 0;

	if (!t->len)
		return 0;
	ch.buf = malloc(MIN((uint64_t)csize, t->len));
	if (!ch.buf)
		return -ENOMEM;
	for (done = 0; done < t->len && !err; done += ch.len) {
		if (got_stop) {
			erofs_err(&t->c->msg, "interrupted");
			err = -EINTR;
			break;
		}
		ch.off = t->off + done;
		ch.len = MIN((uint64_t)csize, t->len - done);
		err = erofs_zran_read(zr, ch.off, ch.len, ch.buf);
		if (!err)
			err = chunk_land(t, &ch);
	}
	free(ch.buf);
	return err;
}

/*
 * Keeps a window of chunks in flight and writes them in order as they
 * complete, hashing on the way when verifying.
 */
static int transfer(struct transfer *t)
{
	struct get_cfg *c = t->c;
	unsigned int workers = c->opts.workers ?: EROFS_SOURCE_DEFAULT_WORKERS;
	size_t csize = chunk_size(t);
	uint64_t nr = DIV_ROUND_UP(t->len, csize), sub = 0, fin = 0;
	struct erofs_progress prog;
	struct window w = { 0 };
	unsigned int slots;
	int err;

	if (!nr)
		return 0;
	/*
	 * Enough in flight to keep every worker busy, and with small chunks
	 * enough queued for the source to coalesce them.
	 */
	slots = MAX(2 * workers, MIN(256U, (unsigned int)(WINDOW_BYTES / csize)));
	err = window_init(&w, MIN((uint64_t)slots, nr),
			  MIN((uint64_t)csize, t->len));
	if (err)
		goto out;
	erofs_progress_init(&prog, c->msg.prog,
			    !c->quiet && t->len >= PROGRESS_MIN);
	while (fin < nr) {
		struct chunk *ch;

		for (; sub < nr && sub - fin < w.n; sub++) {
			ch = &w.c[sub % w.n];
			ch->off = t->off + sub * csize;
			ch->len = MIN((uint64_t)csize, t->off + t->len - ch->off);
			ch->done = false;
			ch->busy = true;
			ch->table = t->table;
			erofs_source_read_async(t->src, t->key, ch->off,
						ch->len, ch->buf, chunk_done,
						ch);
		}
		ch = &w.c[fin % w.n];
		if (!chunk_wait(c, t->src, ch, false)) {
			erofs_err(&c->msg, "interrupted");
			err = -EINTR;
			break;
		}
		ch->busy = false;
		err = ch->err;
		if (!err)
			err = chunk_land(t, ch);
		if (err)
			break;
		fin++;
		erofs_progress_update(&prog, "fetched",
				      MIN(fin * csize, t->len), t->len);
	}
	erofs_progress_done(&prog);
	/* workers write into our buffers: wait for every one in flight */
	for (; fin < sub; fin++)
		if (w.c[fin % w.n].busy)
			chunk_wait(c, t->src, &w.c[fin % w.n], true);
out:
	window_free(&w);
	return err;
}

static int copy_range(int in, int out, uint64_t off, uint64_t len)
{
	static const size_t bufsz = 1 << 20;
	char *buf = NULL;
	int err = 0;

	while (len) {
		loff_t a = off, b = off;
		ssize_t n = copy_file_range(in, &a, out, &b, len, 0);

		if (n > 0) {
			off += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;	/* not supported here: copy by hand */
	}
	if (len && !(buf = malloc(bufsz)))
		return -ENOMEM;
	while (len && !err) {
		ssize_t n = pread(in, buf, MIN(bufsz, len), off);

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		err = pwrite_all(out, buf, n, off);
		off += n;
		len -= n;
	}
	free(buf);
	return err;
}

/* OUT.part.XXXXXX next to OUT, so that rename() and reflinks work */
static int make_temp(struct get_cfg *c, char **name)
{
	int fd;

	if (asprintf(name, "%s.part.XXXXXX", c->out) < 0)
		return -ENOMEM;
	fd = mkostemp(*name, O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		erofs_err(&c->msg, "create %s: %s", *name, strerror(-fd));
		free(*name);
		*name = NULL;
	}
	return fd;
}

static int digest_wanted(struct get_cfg *c, char hex[65])
{
	const char *d = c->verify ? c->verify : c->key;

	if (!c->verify_given)
		return 0;
	/* a range is checked unit by unit against the table */
	if (!c->whole && c->gi.has_table)
		return 0;
	if (!c->whole) {
		erofs_err(&c->msg, "--verify needs the whole blob: drop --range");
		return -EINVAL;
	}
	if (erofs_source_parse_digest(d, hex)) {
		erofs_err(&c->msg, "--verify: \"%s\" is not a sha256 digest%s", d,
			  c->verify ? "" : " (give one: --verify=DIGEST)");
		return -EINVAL;
	}
	return 1;
}

struct output {
	int outfd;			/* existing OUT, or -1 */
	int tmpfd;
	char *tmpname;
	bool exists;
	uint64_t oldsize;
};

static int open_output(struct get_cfg *c, struct output *o, uint64_t size)
{
	struct stat st;
	int err;

	o->outfd = o->tmpfd = -1;
	o->tmpname = NULL;
	o->exists = !stat(c->out, &st);
	if (o->exists) {
		if (!S_ISREG(st.st_mode)) {
			erofs_err(&c->msg, "%s: not a regular file", c->out);
			return -EINVAL;
		}
		if ((uint64_t)st.st_size > size) {
			erofs_err(&c->msg, "%s is larger (%llu bytes) than %s (%llu bytes): not its cache file",
				  c->out, (unsigned long long)st.st_size,
				  c->key, (unsigned long long)size);
			return -EINVAL;
		}
		o->oldsize = st.st_size;
		o->outfd = open(c->out, O_WRONLY | O_CLOEXEC);
		if (o->outfd < 0) {
			err = -errno;
			erofs_err(&c->msg, "open %s: %s", c->out, strerror(-err));
			return err;
		}
	} else if (errno != ENOENT) {
		err = -errno;
		erofs_err(&c->msg, "%s: %s", c->out, strerror(-err));
		return err;
	}
	o->tmpfd = make_temp(c, &o->tmpname);
	if (o->tmpfd < 0)
		return o->tmpfd;
	/* the cache file has the object's size; what is not fetched is a hole */
	if (ftruncate(o->tmpfd, o->exists ? 0 : size)) {
		err = -errno;
		erofs_err(&c->msg, "truncate %s: %s", o->tmpname, strerror(-err));
		return err;
	}
	return 0;
}

static int finish_output(struct get_cfg *c, struct output *o, uint64_t size,
			 uint64_t off, uint64_t len)
{
	mode_t um;
	int err;

	if (!o->exists) {
		um = umask(0);
		umask(um);
		if (fchmod(o->tmpfd, 0666 & ~um) || rename(o->tmpname, c->out)) {
			err = -errno;
			erofs_err(&c->msg, "rename %s to %s: %s", o->tmpname,
				  c->out, strerror(-err));
			return err;
		}
		free(o->tmpname);
		o->tmpname = NULL;
		return 0;
	}
	/* everything arrived: only now does OUT change */
	err = copy_range(o->tmpfd, o->outfd, off, len);
	if (!err && o->oldsize < size && ftruncate(o->outfd, size))
		err = -errno;
	if (err)
		erofs_err(&c->msg, "write %s: %s", c->out, strerror(-err));
	return err;
}

static void close_output(struct output *o)
{
	if (o->tmpname) {
		unlink(o->tmpname);
		free(o->tmpname);
	}
	if (o->tmpfd >= 0)
		close(o->tmpfd);
	if (o->outfd >= 0)
		close(o->outfd);
}

/* clips the range to the object and widens it to min_fetch like a read */
static int plan_range(struct get_cfg *c, uint64_t size, uint64_t *off,
		      uint64_t *len)
{
	uint64_t first = c->ranged ? c->first : 0;
	uint64_t last = c->ranged ? c->last : UINT64_MAX;
	uint64_t mf = c->opts.min_fetch;

	if (last == UINT64_MAX)
		last = size ? size - 1 : 0;
	if (size && (first >= size || last >= size)) {
		erofs_err(&c->msg, "range %llu-%llu reaches past the end of %s (%llu bytes)",
			  (unsigned long long)first, (unsigned long long)last,
			  c->key, (unsigned long long)size);
		return -ERANGE;
	}
	if (!size) {
		if (c->ranged && (c->first || c->last != UINT64_MAX)) {
			erofs_err(&c->msg, "%s is empty: no range to fetch",
				  c->key);
			return -ERANGE;
		}
		*off = *len = 0;
		c->whole = true;
		return 0;
	}
	if (mf) {
		first = ROUND_DOWN(first, mf);
		last = MIN(ROUND_UP(last + 1, mf), size) - 1;
	}
	*off = first;
	*len = last - first + 1;
	c->whole = !first && last == size - 1;
	return 0;
}

/* the table must describe the object the source has; ranges widen to units */
static int plan_units(struct get_cfg *c, uint64_t size, struct transfer *t)
{
	const struct erofs_digest_table *table = &c->gi.table;

	if (table->blob_size != size) {
		erofs_err(&c->msg, "%s: the source has %llu bytes, the digest table of blob %s in %s %llu",
			  c->key, (unsigned long long)size, c->gi.blob,
			  c->image, (unsigned long long)table->blob_size);
		return -EBADMSG;
	}
	erofs_digest_table_widen(table, &t->off, &t->len);
	t->table = table;
	return 0;
}

static int do_get(struct get_cfg *c, struct erofs_source *src)
{
	struct output o = { .outfd = -1, .tmpfd = -1 };
	struct transfer t = { .c = c, .src = src, .key = c->key };
	struct erofs_sha256 sha;
	uint8_t d[EROFS_SHA256_SIZE];
	char want[65], got[65];
	uint64_t size, t0 = erofs_now_ms(), ms;
	/* zran: a gzip or zstd layer's device, from its registry blob */
	struct erofs_zran *zr = c->gi.zran;
	int err = 0, verify;

	if (zr)
		size = erofs_zran_size(zr);
	else
		err = erofs_source_size(src, c->key, &size);
	if (err) {
		erofs_err(&c->msg, "cannot get the size of %s: %s", c->key,
			  strerror(-err));
		return err;
	}
	err = plan_range(c, size, &t.off, &t.len);
	if (!err && c->gi.has_table)
		err = plan_units(c, size, &t);
	if (err)
		goto out;
	verify = digest_wanted(c, want);
	if (verify < 0) {
		err = verify;
		goto out;
	}
	err = open_output(c, &o, size);
	if (err)
		goto out;
	if (verify)
		erofs_sha256_init(&sha);
	t.fd = o.tmpfd;
	t.fdname = o.tmpname;
	t.sha = verify ? &sha : NULL;
	if (zr)
		err = transfer_zran(&t, zr);
	else
		err = transfer(&t);
	if (err) {
		erofs_err(&c->msg, "fetching %s failed: %s; %s %s", c->key,
			  strerror(-err), c->out,
			  o.exists ? "left unchanged" : "not created");
		goto out;
	}
	if (verify) {
		erofs_sha256_final(&sha, d);
		erofs_sha256_hex(d, got);
		if (strcmp(got, want)) {
			erofs_err(&c->msg, "%s: digest mismatch: expected sha256:%s, got sha256:%s; %s %s",
				  c->key, want, got, c->out,
				  o.exists ? "left unchanged" : "not created");
			err = -EBADMSG;
			goto out;
		}
		erofs_info(&c->msg, "verified sha256:%s", got);
	}
	err = finish_output(c, &o, size, t.off, t.len);
	if (err)
		goto out;
	ms = erofs_now_ms() - t0;
	erofs_info(&c->msg, "%s: bytes %llu-%llu of %llu into %s in %llu ms (%.1f MB/s)",
		   c->key, (unsigned long long)t.off,
		   (unsigned long long)(t.off + t.len - (t.len ? 1 : 0)),
		   (unsigned long long)size, c->out, (unsigned long long)ms,
		   ms ? t.len / 1000.0 / ms : 0.0);
out:
	close_output(&o);
	return err;
}

/*
 * --image: the device's table and index, and the sources a unit is
 * asked of in turn: the source's specs (SOURCE, then each --fallback),
 * or for a layer inflated from its blob, the blob again.
 */
static int open_image(struct get_cfg *c, struct erofs_source *src)
{
	int err;

	if (!c->image)
		return 0;
	err = get_image_open(&c->gi, c->image, c->key, c->unverified, src,
			     &c->msg);
	if (!err)
		c->nr_tries = fetch_tries_init(c->tries, src, c->key,
					       c->gi.zran);
	return err;
}

int erofs_fetch_get_main(int argc, char **argv)
{
	struct get_cfg c = {
		.msg = { .prog = "erofs-fetch", .level = EROFS_MSG_INFO },
	};
	struct erofs_fetchconf conf = { .default_source = -1 };
	struct erofs_source *src = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	/* first of all, so that an early SIGUSR1 does not kill us */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (parse_args(&c, argc, argv)) {
		fprintf(stderr, "Try 'erofs-fetch get --help'.\n");
		return 16;	/* usage, as the other tools */
	}
	err = resolve_source(&c, &conf);
	if (err)
		goto out;
	err = erofs_source_open(&src, &c.opts, &c.msg);
	if (!err)
		err = open_image(&c, src);
	if (err)
		goto out;
	err = do_get(&c, src);
	print_stats(&c, src, true);
out:
	get_image_close(&c.gi);
	erofs_source_close(src);
	erofs_fetchconf_free(&conf);
	return err ? 1 : 0;
}
