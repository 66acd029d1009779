/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Between lib/source.c (dispatch, workers, retries, coalescing, stats) and
 * the backends (source_dir.c, source_http.c, source_oci.c).  A backend
 * makes one attempt and says whether trying again could help; everything
 * about retrying, waiting and counting lives in source.c.
 */
#ifndef EROFS_SOURCE_PRIV_H
#define EROFS_SOURCE_PRIV_H

#include "erofs/source.h"

/* what one attempt tells the retry loop besides its errno */
struct erofs_source_attempt {
	/* in: CLOCK_MONOTONIC time (erofs_source_now_us) to end the attempt by */
	uint64_t deadline_us;
	bool transient;		/* another attempt may succeed */
	bool deadline;		/* set by source.c: the deadline ended it */
	uint64_t received;	/* body bytes seen on the wire */
	char why[256];		/* for messages: "HTTP 503 Service Unavailable" */
	/* reads: the object's size if known, else UINT64_MAX; a response
	 * that claims another size is refused */
	uint64_t object_size;
};

struct erofs_source_backend {
	const char *name;
	/* per-worker state (a curl handle); NULL is fine */
	void *(*worker_init)(void *be);
	void (*worker_exit)(void *be, void *w);
	int (*size)(void *be, void *w, const char *key, uint64_t *size,
		    struct erofs_source_attempt *at);
	/* exactly @len bytes or an error; never a short success */
	int (*read)(void *be, void *w, const char *key, uint64_t off,
		    size_t len, void *buf, struct erofs_source_attempt *at);
	/* optional (OCI): one attempt at erofs_source_get_manifest() */
	int (*manifest)(void *be, void *w, const char *ref, const char *accept,
			size_t max, char **body, size_t *len, char *type,
			size_t type_size, struct erofs_source_attempt *at);
	/* a human name of @key for messages, e.g. the URL */
	void (*describe)(void *be, const char *key, char *out, size_t size);
	void (*close)(void *be);
	void *be;
};

int erofs_source_dir_open(struct erofs_source_backend *b, const char *path,
			  const struct erofs_msg *msg);
int erofs_source_http_open(struct erofs_source_backend *b,
			   const struct erofs_source_opts *opts,
			   const char *base, const char *oci_repo,
			   const struct erofs_msg *msg);
int erofs_source_oci_open(struct erofs_source_backend *b,
			  const struct erofs_source_opts *opts,
			  const char *spec, const struct erofs_msg *msg);

/* helpers of source_oci.c used by source_http.c */
struct erofs_oci_challenge {
	char realm[512], service[256], scope[256];
};
int erofs_oci_parse_challenge(const char *hdr, struct erofs_oci_challenge *c);
/*
 * The token (into @out, @size bytes) and its lifetime in seconds (60
 * when not said) from @len bytes of a token endpoint's JSON answer
 */
int erofs_oci_token_from_json(const char *json, size_t len, char *out,
			      size_t size, unsigned int *expires_in);

/*
 * "user:password" for registry @host (host[:port]) from a Docker
 * config.json (@config; NULL = the default place, "none" = none), in a
 * malloc'ed *@userpwd, or NULL when it has none.  source_cred.c
 */
int erofs_source_docker_cred(const char *host, const char *config,
			     const struct erofs_msg *msg, char **userpwd);

/*
 * The health of a spec (source_health.c): after
 * EROFS_SOURCE_HEALTH_FAILURES transient failures in a row it backs off,
 * longer after each probe that fails.  The caller serialises.
 */
struct erofs_source_health {
	unsigned int fails;		/* transient failures in a row */
	unsigned int trips;		/* back-offs in a row */
	uint64_t until_us;		/* skipped until then */
};
bool erofs_source_health_backing_off(const struct erofs_source_health *h,
				     uint64_t now);
/* the back-off this result starts, in ms, or 0 */
unsigned int erofs_source_health_update(struct erofs_source_health *h,
					bool failed, uint64_t now);

/* a token bucket of @rate bytes a second (0: no limit); not locked */
struct erofs_source_bucket {
	uint64_t rate;
	int64_t tokens;			/* bytes; negative: a debt */
	uint64_t last_us;
};
void erofs_source_bucket_init(struct erofs_source_bucket *b, uint64_t rate,
			      uint64_t now);
/* takes @len bytes and returns 0, or the microseconds to wait first */
uint64_t erofs_source_bucket_take(struct erofs_source_bucket *b, size_t len,
				  uint64_t now);

/* CLOCK_MONOTONIC in microseconds */
uint64_t erofs_source_now_us(void);

/* key checks shared by the backends: non-empty, no "..", no NUL */
bool erofs_source_key_is_safe(const char *key, bool allow_slash);

#endif
