/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fetch sources: where erofs-fetch gets the bytes of a blob that is not
 * in the local cache yet.  A source is a local directory, an HTTP(S) base
 * URL or an OCI registry; all three are read through the same entry
 * points, which add retries with backoff, a pool of parallel workers,
 * coalescing of adjacent requests, readahead widening and statistics.
 *
 * Every function is thread-safe: the daemon calls them from any thread.
 * libcurl must have been initialised once by the program (main calls
 * curl_global_init) before the first erofs_source_open().
 *
 * Errors are negative errno values:
 *   -ENOENT	no such object (HTTP 404, missing file)
 *   -EACCES	refused (HTTP 401/403 after authentication)
 *   -ERANGE	the range reaches past the end of the object
 *   -EINVAL	bad spec, key or argument
 *   -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EIO, -EPROTO
 *		transport failures that were retried and still failed
 */
#ifndef EROFS_SOURCE_H
#define EROFS_SOURCE_H

#include "erofs/print.h"
#include "erofs/util.h"

struct erofs_source;			/* opaque; thread-safe */

struct erofs_source_opts {
	/* "dir:/path" or "/path", "http://host/base", "https://...",
	 * "oci://host[:port]/repo[?insecure]" */
	const char *spec;
	/*
	 * per attempt; 0 = default (30 s).  Bounds connecting, the answer
	 * and stalls; a big range may take longer at >= 16 KiB/s, but
	 * never past the deadline
	 */
	unsigned int timeout_ms;
	/* attempts after the first on transient errors, when retries_set */
	unsigned int retries;
	bool retries_set;		/* false: the default (4) */
	/*
	 * the whole of one request, every attempt, back-off and fallback
	 * included; 0 = (retries + 1) * timeout_ms
	 */
	unsigned int deadline_ms;
	unsigned int min_fetch;		/* bytes; reads are widened to this (readahead); 0 = none */
	unsigned int workers;		/* parallel transfers; 0 = default (4) */
	const char *auth;		/* optional: "user:password" or "bearer:TOKEN" */
	const char *cacert;		/* optional CA file */
	/* added: size of the in-memory readahead cache; 0 = 8 * min_fetch */
	unsigned int ra_cache_bytes;
	/* bytes per second for erofs_source_prefetch() reads; 0 = no cap */
	uint64_t prefetch_rate;
	/*
	 * OCI credentials when auth is not given: a Docker config.json
	 * (auths, credHelpers, credsStore).  NULL = $DOCKER_CONFIG/config.json
	 * or ~/.docker/config.json if it exists; "none" = do not look
	 */
	const char *docker_config;
	/*
	 * Tried in order when this spec fails (a mirror first, the registry
	 * last): each entry's spec, timeout_ms, auth, cacert and
	 * docker_config are its own; the rest comes from this one.
	 */
	const struct erofs_source_opts *fallbacks;
	unsigned int nr_fallbacks;
};

/* defaults applied when a field of erofs_source_opts is 0 */
#define EROFS_SOURCE_DEFAULT_TIMEOUT_MS	30000
#define EROFS_SOURCE_DEFAULT_RETRIES	4
#define EROFS_SOURCE_DEFAULT_WORKERS	4
/* one backend request never asks for more than this */
#define EROFS_SOURCE_MAX_REQUEST	(8U << 20)
/* a spec and its fallbacks */
#define EROFS_SOURCE_MAX_SPECS		16
/*
 * Health: a spec that failed this many requests in a row is skipped
 * while another is usable, for a back-off that doubles from the first
 * to the cap with each failed probe after it.
 */
#define EROFS_SOURCE_HEALTH_FAILURES	3
#define EROFS_SOURCE_HEALTH_BACKOFF_MS	1000
#define EROFS_SOURCE_HEALTH_BACKOFF_MAX_MS 60000

struct erofs_source_stats {
	uint64_t reads;		/* erofs_source_read{,_async} calls */
	uint64_t requests;	/* backend requests (HTTP GET/HEAD, preads), retries included */
	uint64_t bytes;		/* bytes received from the backend */
	uint64_t hits;		/* reads served from the readahead cache */
	uint64_t misses;	/* reads that needed a backend request */
	uint64_t coalesced;	/* reads merged into another read's request */
	uint64_t errors;	/* reads that failed after all retries; per spec: failed attempts */
	uint64_t retries;	/* attempts repeated after a transient failure */
	uint64_t skips;		/* attempts not made: the spec was backing off */
	uint64_t fallbacks;	/* requests answered by a spec after the first */
	uint64_t deadlines;	/* requests stopped by the deadline */
	uint64_t prefetch_bytes; /* bytes asked by erofs_source_prefetch() */
	uint64_t backing_off;	/* per spec: 1 while it is skipped */
	/* latency of one backend request, in microseconds */
	uint64_t lat_p50_us, lat_p90_us, lat_p99_us, lat_max_us;
};

/*
 * @opts, its fallbacks and their strings are copied: they need not
 * outlive the call.  @msg is copied too, but its prefix string must
 * outlive the source.
 */
int erofs_source_open(struct erofs_source **out,
		      const struct erofs_source_opts *opts,
		      const struct erofs_msg *msg);

/* size in bytes of object @key (a file name, or a 64-hex sha256 digest for OCI) */
int erofs_source_size(struct erofs_source *src, const char *key,
		      uint64_t *size);

/* exactly @len bytes at @off of @key into @buf, or -errno (after retries); never a short success */
int erofs_source_read(struct erofs_source *src, const char *key,
		      uint64_t off, size_t len, void *buf);

/*
 * The same from spec @spec alone (0: the source itself, then its
 * fallbacks), bypassing the readahead cache and health skipping: for
 * bytes that came wrong, asked again of each spec in turn.
 */
int erofs_source_read_spec(struct erofs_source *src, unsigned int spec,
			   const char *key, uint64_t off, size_t len,
			   void *buf);

/*
 * The same without blocking: @done(@priv, 0 or -errno) is called exactly
 * once, from a worker thread (or from the caller's thread when the read
 * is answered at once, e.g. from the readahead cache or on a bad
 * argument).  @key and @buf must stay valid until then.  With min_fetch
 * set, the first read of a key may block for its size (one request).
 * @done must not call the blocking functions of the same source: it
 * runs on one of its workers.
 */
typedef void (*erofs_source_done_t)(void *priv, int err);
int erofs_source_read_async(struct erofs_source *src, const char *key,
			    uint64_t off, size_t len, void *buf,
			    erofs_source_done_t done, void *priv);

/*
 * Widens [*off, *off + *len) the way reads are widened for readahead:
 * aligned out to min_fetch and clipped to the object's size.  The daemon
 * can use it to fetch, and write into the cache file, more than the
 * kernel asked for.  Unchanged when min_fetch is 0.
 */
int erofs_source_widen(struct erofs_source *src, const char *key,
		       uint64_t *off, size_t *len);

/*
 * The same, for a background read: it waits for the prefetch_rate
 * budget, and reads of other callers go first.  A plain read that needs
 * the same bytes meanwhile takes the request over, unthrottled.
 */
int erofs_source_prefetch(struct erofs_source *src, const char *key,
			  uint64_t off, size_t len, void *buf);

/* the whole source: every spec together */
void erofs_source_stats(struct erofs_source *src,
			struct erofs_source_stats *st);
/* how many specs: 1 + nr_fallbacks */
unsigned int erofs_source_nr_specs(struct erofs_source *src);
/*
 * Spec @i (0 the first) alone: requests, bytes, latency, errors (failed
 * attempts), retries, skips, backing_off.  Its spec string, with any
 * user:password@ of a URL left out, into @spec.  -ENOENT past the last.
 */
int erofs_source_spec_stats(struct erofs_source *src, unsigned int i,
			    struct erofs_source_stats *st,
			    char *spec, size_t size);
/* one line, e.g. "reads 12 requests 3 bytes 4194304 hits 9 ..." */
void erofs_source_stats_format(const struct erofs_source_stats *st,
			       bool json, char *buf, size_t size);

/* @spec for messages: without the user:password@ of a URL */
void erofs_source_spec_redact(const char *spec, char *out, size_t size);

/* finishes every read queued or running (each gets its callback), then frees */
void erofs_source_close(struct erofs_source *src);

/*
 * OCI registries only (-EOPNOTSUPP otherwise): the manifest or index
 * @ref (a tag, or "sha256:<64 hex>") of the source's repository, asked
 * with the Accept header value @accept, at most @max bytes.  *body is
 * NUL-terminated (free() it); @type receives its Content-Type.  Retried
 * as reads are; the caller checks the digest.
 */
int erofs_source_get_manifest(struct erofs_source *src, const char *ref,
			      const char *accept, size_t max, char **body,
			      size_t *len, char *type, size_t type_size);

/* "sha256:<64 hex>" or "<64 hex>" -> 64 lowercase hex digits; -EINVAL otherwise */
int erofs_source_parse_digest(const char *s, char hex[65]);

/*
 * The optional whole-blob check: sha256 of the first @size bytes of @fd
 * against @hex (64 hex digits).  0, -EBADMSG on mismatch, or -errno.
 */
int erofs_source_verify_fd(int fd, uint64_t size, const char *hex,
			   const struct erofs_msg *msg);

/*
 * Configuration file (see erofs-fetch(1), section CONFIGURATION FILE):
 *
 *	# comment
 *	[source hub]
 *	spec = oci://registry.example:5000/app
 *	auth = user:password
 *	min_fetch = 1M
 *	[source near]
 *	spec = oci://mirror.example/app
 *	fallback = hub			# then hub, when near fails
 *	[source local]
 *	spec = dir:/srv/blobs
 *	[map]
 *	fsid-app = hub sha256:4f2a...	# cookie key -> source [object key]
 *	* = local			# any other key; object key = cookie key
 *	[daemon]
 *	anything = kept for the daemon (erofs_fetchconf_get)
 */
struct erofs_fetchconf_source {
	char *name;
	struct erofs_source_opts opts;	/* its strings are owned by the conf */
};

struct erofs_fetchconf_map {
	char *key;			/* cookie key: volume/fsid or blob tag */
	unsigned int source;		/* index into sources[] */
	char *object;			/* object key; NULL = the cookie key */
};

struct erofs_fetchconf_kv {
	char *section, *key, *value;
};

struct erofs_fetchconf {
	struct erofs_fetchconf_source *sources;
	unsigned int nr_sources;
	struct erofs_fetchconf_map *maps;
	unsigned int nr_maps;
	int default_source;		/* "* = NAME" in [map]; -1 if none */
	struct erofs_fetchconf_kv *kvs;	/* entries of other sections */
	unsigned int nr_kvs;
};

int erofs_fetchconf_load(const char *path, struct erofs_fetchconf *conf,
			 const struct erofs_msg *msg);
/* the same from a string (tests, command-line snippets) */
int erofs_fetchconf_parse(const char *text, const char *name,
			  struct erofs_fetchconf *conf,
			  const struct erofs_msg *msg);
/*
 * Maps a cookie key to its source and object key; -ENOENT when neither a
 * map line nor "*" matches.  *object points into @conf or is @key.
 */
int erofs_fetchconf_lookup(const struct erofs_fetchconf *conf, const char *key,
			   const struct erofs_fetchconf_source **src,
			   const char **object);
/* a source by its name; NULL if none */
const struct erofs_fetchconf_source *
erofs_fetchconf_find(const struct erofs_fetchconf *conf, const char *name);
/* value of @key in [@section] (other than source/map sections); NULL if none */
const char *erofs_fetchconf_get(const struct erofs_fetchconf *conf,
				const char *section, const char *key);
void erofs_fetchconf_free(struct erofs_fetchconf *conf);

#endif
