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
	bool transient;		/* another attempt may succeed */
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
int erofs_oci_token_from_json(const char *json, char *out, size_t size);

/* key checks shared by the backends: non-empty, no "..", no NUL */
bool erofs_source_key_is_safe(const char *key, bool allow_slash);

#endif
