// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A registry blob as a stream for erofs_istream: read from the fetch
 * source in chunks, the next ones in flight (in parallel, on the source's
 * workers) while the decompressor and the tar reader work on the current
 * one, and its sha256 checked against
 * the descriptor's as the bytes go by.  The stream ends only after the
 * digest matched: a blob that is not the one the manifest names fails
 * its last read, so no tree is ever built from it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "oci_priv.h"

#define BLOB_CHUNK	(4U << 20)
/* chunks asked for at once: the source's default number of workers */
#define BLOB_INFLIGHT	EROFS_SOURCE_DEFAULT_WORKERS

struct blob_chunk {
	struct erofs_oci_blob *blob;
	uint8_t *buf;
	uint64_t off;
	size_t len, pos;
	bool busy;			/* a read is in flight */
	int err;
};

struct erofs_oci_blob {
	struct erofs_source *src;
	char hex[65];
	uint64_t size, next;		/* next: the first byte not asked for */
	struct blob_chunk c[BLOB_INFLIGHT];	/* a ring, read in order */
	unsigned int cur;
	struct erofs_sha256 sha;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ended;			/* the digest was compared: */
	ssize_t end_err;		/* 0 or -EBADMSG */
	char end_why[160];
};

static void chunk_done(void *priv, int err)
{
	struct blob_chunk *c = priv;
	struct erofs_oci_blob *b = c->blob;

	pthread_mutex_lock(&b->lock);
	c->err = err;
	c->busy = false;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* asks for the next chunk of the blob into @c, if any is left */
static void chunk_request(struct erofs_oci_blob *b, struct blob_chunk *c)
{
	int err;

	c->off = b->next;
	c->len = MIN((uint64_t)BLOB_CHUNK, b->size - b->next);
	c->pos = 0;
	c->err = 0;
	if (!c->len)
		return;
	b->next += c->len;
	c->busy = true;
	err = erofs_source_read_async(b->src, b->hex, c->off, c->len, c->buf,
				      chunk_done, c);
	if (err)
		chunk_done(c, err);
}

static void chunk_wait(struct erofs_oci_blob *b, struct blob_chunk *c)
{
	pthread_mutex_lock(&b->lock);
	while (c->busy)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* the end of the blob: its digest decides whether the stream is good */
static ssize_t blob_end(struct erofs_oci_blob *b, char *why, size_t size)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char hex[65];

	if (!b->ended) {
		b->ended = true;
		erofs_sha256_final(&b->sha, digest);
		erofs_sha256_hex(digest, hex);
		if (strcmp(hex, b->hex)) {
			snprintf(b->end_why, sizeof(b->end_why),
				 "its digest is sha256:%.12s...: not the blob the manifest names",
				 hex);
			b->end_err = -EBADMSG;
		}
	}
	snprintf(why, size, "%s", b->end_why);
	return b->end_err;
}

ssize_t erofs_oci_blob_pull(void *priv, void *buf, size_t len, char *why,
			    size_t why_size)
{
	struct erofs_oci_blob *b = priv;
	struct blob_chunk *c = &b->c[b->cur];
	size_t n;

	if (!c->len)
		return blob_end(b, why, why_size);
	chunk_wait(b, c);
	if (c->err) {
		snprintf(why, why_size, "bytes %llu-%llu: %s",
			 (unsigned long long)c->off,
			 (unsigned long long)(c->off + c->len - 1),
			 strerror(-c->err));
		return c->err;
	}
	n = MIN(len, c->len - c->pos);
	memcpy(buf, c->buf + c->pos, n);
	erofs_sha256_update(&b->sha, c->buf + c->pos, n);
	c->pos += n;
	if (c->pos == c->len) {
		/* this chunk is free again: it fetches the ring's next */
		chunk_request(b, c);
		b->cur = (b->cur + 1) % BLOB_INFLIGHT;
	}
	return n;
}

int erofs_oci_blob_open(struct erofs_oci_blob **out, struct erofs_source *src,
			const char *hex, uint64_t size)
{
	struct erofs_oci_blob *b = calloc(1, sizeof(*b));
	unsigned int i;

	if (!b)
		return -ENOMEM;
	b->src = src;
	b->size = size;
	snprintf(b->hex, sizeof(b->hex), "%s", hex);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	erofs_sha256_init(&b->sha);
	for (i = 0; i < BLOB_INFLIGHT; i++) {
		b->c[i].blob = b;
		b->c[i].buf = malloc(MIN((uint64_t)BLOB_CHUNK, MAX(size, 1)));
		if (!b->c[i].buf) {
			erofs_oci_blob_close(b);
			return -ENOMEM;
		}
	}
	for (i = 0; i < BLOB_INFLIGHT; i++)
		chunk_request(b, &b->c[i]);
	*out = b;
	return 0;
}

/*
 * A compressed stream may end before its blob does (padding after a gzip
 * member): the rest is read and hashed all the same.
 */
int erofs_oci_blob_finish(struct erofs_oci_blob *b, char *why, size_t size)
{
	uint8_t *buf = malloc(1U << 16);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	do {
		n = erofs_oci_blob_pull(b, buf, 1U << 16, why, size);
	} while (n > 0);
	free(buf);
	return n;
}

void erofs_oci_blob_close(struct erofs_oci_blob *b)
{
	unsigned int i;

	if (!b)
		return;
	/* a read in flight still writes into its buffer */
	for (i = 0; i < BLOB_INFLIGHT; i++)
		chunk_wait(b, &b->c[i]);
	for (i = 0; i < BLOB_INFLIGHT; i++)
		free(b->c[i].buf);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

/* a whole small document (manifest, config) by its descriptor, checked */
int erofs_oci_blob_fetch(struct erofs_source *src,
			 const struct erofs_oci_desc *d, char **out,
			 const struct erofs_msg *msg)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char hex[65], *buf;
	int err;

	if (d->size > EROFS_OCI_MAX_DOC) {
		erofs_err(msg, "sha256:%s: %llu bytes, more than a manifest or config may have",
			  d->digest, (unsigned long long)d->size);
		return -EFBIG;
	}
	buf = malloc(d->size + 1);
	if (!buf)
		return -ENOMEM;
	err = d->size ? erofs_source_read(src, d->digest, 0, d->size, buf) : 0;
	if (err) {
		free(buf);
		return err;
	}
	buf[d->size] = '\0';
	erofs_sha256(buf, d->size, digest);
	erofs_sha256_hex(digest, hex);
	if (strcmp(hex, d->digest)) {
		erofs_err(msg, "blob sha256:%s has the digest sha256:%s: not what the manifest names",
			  d->digest, hex);
		free(buf);
		return -EBADMSG;
	}
	*out = buf;
	return 0;
}
