// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * HTTP(S) sources with libcurl: object KEY is BASE/KEY, read with a
 * Range request.  Also the transport of OCI registries (source_oci.c),
 * which add bearer tokens on a 401.
 *
 * A bearer token obtained from a token endpoint is renewed before it
 * expires (after three quarters of its expires_in, 60 s when the answer
 * has none), and once more whenever the registry answers 401.
 *
 * Every body is checked before the caller may use it: a 206 must carry a
 * Content-Range equal to the range asked for and exactly that many
 * bytes; a 200 (a server that ignores Range) is skipped up to the offset
 * and cut at the end of the range; anything else is an error, transient
 * or not, so that the retry loop in source.c knows what to do.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "source_priv.h"

#define TOKEN_BODY_MAX	(64U << 10)

struct http_be {
	char *base;			/* ends with '/' */
	bool oci;
	char *repo;			/* OCI: for the default token scope */
	char *userpwd;
	char *cacert;
	unsigned int timeout_ms;
	long maxconns;
	struct erofs_msg msg;
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t tok_lock;
	char *token;			/* bearer token, given or obtained */
	unsigned int token_gen;
	/* an obtained token: renewed from chal after renew_us */
	struct erofs_oci_challenge chal;
	bool have_chal;
	uint64_t renew_us;
	bool warned_no_ranges;		/* under tok_lock */
};

struct http_w {
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
};

struct xfer {
	/* what was asked */
	uint64_t off;
	size_t len;
	char *buf;
	bool head;
	uint64_t deadline_us;		/* 0: none */
	/* the current response's head; reset by each status line */
	long status;
	char reason[64];
	bool cr_valid, cr_total_known;
	uint64_t cr_first, cr_last, cr_total;
	bool cl_known;
	uint64_t cl;			/* Content-Length */
	uint64_t object_size;		/* known before, or UINT64_MAX */
	bool multipart;
	char challenge[1024];
	/* the body */
	uint64_t pos;			/* object offset of the next byte (200) */
	size_t got;
	bool checked;			/* the 206 head was checked */
	bool complete;			/* a 200 gave all we need; stopped */
	bool bad;			/* body refused, why[] says why */
	bool past_end;			/* ... because the object is shorter */
	char why[200];
	/* token bodies and manifests */
	char *mem;
	size_t memlen, memmax;		/* memmax 0: a token's limit */
	const char *accept;		/* an Accept header, or NULL */
	char ctype[128];		/* its Content-Type */
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
		       void *p)
{
	struct http_be *be = p;

	pthread_mutex_lock(&be->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *p)
{
	struct http_be *be = p;

	pthread_mutex_unlock(&be->share_lock[data]);
}

static bool hdr_is(const char *line, size_t n, const char *name,
		   const char **val)
{
	size_t l = strlen(name);

	if (n <= l || strncasecmp(line, name, l) || line[l] != ':')
		return false;
	*val = line + l + 1;
	while (**val == ' ' || **val == '\t')
		(*val)++;
	return true;
}

/* "bytes 0-99/1000", "bytes 0-99/\*" or, with a 416, "bytes \*\/1000" */
static void parse_content_range(struct xfer *x, const char *v)
{
	unsigned long long a, b, t;
	char *end;

	if (strncasecmp(v, "bytes ", 6))
		return;
	v += 6;
	if (*v == '*') {
		v++;
	} else {
		a = strtoull(v, &end, 10);
		if (end == v || *end != '-')
			return;
		v = end + 1;
		b = strtoull(v, &end, 10);
		if (end == v || b < a)
			return;
		v = end;
		x->cr_first = a;
		x->cr_last = b;
		x->cr_valid = true;
	}
	if (*v++ != '/')
		return;
	t = strtoull(v, &end, 10);
	if (end != v) {
		x->cr_total = t;
		x->cr_total_known = true;
	}
}

static size_t header_cb(char *data, size_t sz, size_t n, void *p)
{
	struct xfer *x = p;
	size_t len = sz * n, l = len;
	char line[1200];
	const char *v;

	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	l = MIN(l, sizeof(line) - 1);
	memcpy(line, data, l);
	line[l] = '\0';

	if (!strncmp(line, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the last */
		const char *sp = strchr(line, ' ');

		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->reason[0] = '\0';
		if (sp && (sp = strchr(sp + 1, ' ')))
			snprintf(x->reason, sizeof(x->reason), "%s", sp + 1);
		x->cr_valid = x->cr_total_known = x->multipart = false;
		x->cl_known = false;
		x->challenge[0] = '\0';
		return len;
	}
	if (hdr_is(line, l, "content-range", &v))
		parse_content_range(x, v);
	else if (hdr_is(line, l, "content-length", &v))
		x->cl_known = sscanf(v, "%" SCNu64, &x->cl) == 1;
	else if (hdr_is(line, l, "content-type", &v)) {
		x->multipart = !strncasecmp(v, "multipart/", 10);
		snprintf(x->ctype, sizeof(x->ctype), "%s", v);
	}
	else if (hdr_is(line, l, "www-authenticate", &v))
		snprintf(x->challenge, sizeof(x->challenge), "%s", v);
	return len;
}

/* refuses a body: curl stops with CURLE_WRITE_ERROR and x->why says why */
static size_t refuse(struct xfer *x)
{
	x->bad = true;
	return 0;
}

static size_t body_206(struct xfer *x, const char *data, size_t len)
{
	if (!x->checked) {
		x->checked = true;
		if (x->multipart) {
			snprintf(x->why, sizeof(x->why),
				 "multipart response to a single range");
			return refuse(x);
		}
		if (!x->cr_valid) {
			snprintf(x->why, sizeof(x->why),
				 "206 without a usable Content-Range");
			return refuse(x);
		}
		if (x->cr_total_known && x->object_size != UINT64_MAX &&
		    x->cr_total != x->object_size) {
			snprintf(x->why, sizeof(x->why),
				 "206 for an object of %llu bytes, but it has %llu",
				 (unsigned long long)x->cr_total,
				 (unsigned long long)x->object_size);
			return refuse(x);
		}
		if (x->cr_total_known && x->off + x->len > x->cr_total) {
			/* the server clipped our range to the object's end */
			snprintf(x->why, sizeof(x->why),
				 "range ends at %llu, past the end of the object (%llu bytes)",
				 (unsigned long long)(x->off + x->len),
				 (unsigned long long)x->cr_total);
			x->past_end = true;
			return refuse(x);
		}
		if (x->cr_first != x->off || x->cr_last != x->off + x->len - 1) {
			snprintf(x->why, sizeof(x->why),
				 "206 for bytes %llu-%llu, not the %llu-%llu asked",
				 (unsigned long long)x->cr_first,
				 (unsigned long long)x->cr_last,
				 (unsigned long long)x->off,
				 (unsigned long long)(x->off + x->len - 1));
			return refuse(x);
		}
	}
	if (len > x->len - x->got) {
		snprintf(x->why, sizeof(x->why),
			 "body longer than the %zu bytes asked", x->len);
		return refuse(x);
	}
	memcpy(x->buf + x->got, data, len);
	x->got += len;
	return len;
}

/* the server ignored Range: keep our slice of the whole object */
static size_t body_200(struct xfer *x, const char *data, size_t len)
{
	uint64_t start = x->pos, end = x->off + x->len, s, e;

	if (!x->checked) {
		x->checked = true;
		if (x->cl_known && x->object_size != UINT64_MAX &&
		    x->cl != x->object_size) {
			snprintf(x->why, sizeof(x->why),
				 "200 with %llu bytes, but the object has %llu",
				 (unsigned long long)x->cl,
				 (unsigned long long)x->object_size);
			return refuse(x);
		}
	}
	x->pos += len;
	if (x->pos > x->off && start < end) {
		s = MAX(start, x->off);
		e = MIN(x->pos, end);
		memcpy(x->buf + (s - x->off), data + (s - start), e - s);
		x->got += e - s;
	}
	if (x->pos >= end) {
		x->complete = true;
		return 0;	/* the rest is not ours: stop the transfer */
	}
	return len;
}

static size_t body_cb(char *data, size_t sz, size_t n, void *p)
{
	struct xfer *x = p;
	size_t len = sz * n;

	if (x->mem) {
		if (len > (x->memmax ?: TOKEN_BODY_MAX) - 1 - x->memlen)
			return 0;
		memcpy(x->mem + x->memlen, data, len);
		x->memlen += len;
		x->mem[x->memlen] = '\0';
		return len;
	}
	if (x->status == 206 && x->buf)
		return body_206(x, data, len);
	if (x->status == 200 && x->buf)
		return body_200(x, data, len);
	return len;	/* error pages: read and drop */
}

static int curl_error(CURLcode res, struct http_w *w, struct xfer *x,
		      struct erofs_source_attempt *at)
{
	const char *what = w->errbuf[0] ? w->errbuf : curl_easy_strerror(res);
	int err;

	at->transient = true;
	switch (res) {
	case CURLE_WRITE_ERROR:
		if (x->bad) {
			snprintf(at->why, sizeof(at->why), "%s", x->why);
			at->transient = !x->past_end;
			return x->past_end ? -ERANGE : -EPROTO;
		}
		err = -EIO;
		break;
	case CURLE_COULDNT_CONNECT:
		err = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		err = -EHOSTUNREACH;
		break;
	case CURLE_PARTIAL_FILE:
		snprintf(at->why, sizeof(at->why),
			 "body truncated: got %zu of %zu bytes (%.150s)", x->got,
			 x->len, what);
		return -EIO;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		err = -ECONNRESET;
		break;
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		at->transient = false;
		err = -EPROTO;
		break;
	default:
		err = -EIO;
		break;
	}
	snprintf(at->why, sizeof(at->why), "%s", what);
	return err;
}

static int status_error(struct xfer *x, struct erofs_source_attempt *at)
{
	long s = x->status;

	snprintf(at->why, sizeof(at->why), "HTTP %ld%s%s", s,
		 x->reason[0] ? " " : "", x->reason);
	switch (s) {
	case 404:
	case 410:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 416:
		return -ERANGE;
	case 408:
	case 429:
		at->transient = true;
		return -EIO;
	}
	at->transient = s >= 500;
	return -EIO;
}

/* what is left of the request's deadline; at least 1 ms (0 is "none") */
static uint64_t deadline_left_ms(const struct xfer *x)
{
	uint64_t now = erofs_source_now_us();

	if (!x->deadline_us)
		return UINT64_MAX;
	return x->deadline_us > now ? (x->deadline_us - now + 999) / 1000 : 1;
}

static void setup(struct http_be *be, struct http_w *w, const char *url,
		  struct xfer *x, const char *token, struct curl_slist **hdrs)
{
	CURL *h = w->h;
	uint64_t total_ms, left_ms;
	char range[64];

	curl_easy_reset(h);	/* keeps the connection cache */
	w->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, be->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 8L);
	/* the default of 5 would close the idle connections of other workers */
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, be->maxconns);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/*
	 * The timeout bounds an attempt that gets nowhere: connecting, the
	 * first bytes, a stall (under 1 KiB/s for that long).  A big range on
	 * a slow link may take longer as long as it moves at 16 KiB/s or more.
	 */
	total_ms = MAX((uint64_t)be->timeout_ms,
		       (x->buf ? (uint64_t)x->len : 0) * 1000 / (16 << 10));
	/* ... but never past the request's deadline */
	left_ms = deadline_left_ms(x);
	total_ms = MIN(MIN(total_ms, left_ms), 86400000ULL);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)total_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)MIN(MIN(be->timeout_ms, 10000U), total_ms));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
			 (long)MAX(be->timeout_ms / 1000, 1U));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "erofs-fetch");
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)CURL_MAX_READ_SIZE);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (be->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, be->cacert);
	if (x->head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (x->buf) {
		snprintf(range, sizeof(range), "%llu-%llu",
			 (unsigned long long)x->off,
			 (unsigned long long)(x->off + x->len - 1));
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	/*
	 * libcurl does not pass a custom Authorization header on to another
	 * host after a redirect (a registry sending us to its storage).
	 */
	if (token) {
		char *line = malloc(strlen(token) + 32);

		if (line) {
			sprintf(line, "Authorization: Bearer %s", token);
			*hdrs = curl_slist_append(*hdrs, line);
			free(line);
		}
	} else if (be->userpwd) {
		curl_easy_setopt(h, CURLOPT_USERPWD, be->userpwd);
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (x->accept) {
		char *line = malloc(strlen(x->accept) + 16);

		if (line) {
			sprintf(line, "Accept: %s", x->accept);
			*hdrs = curl_slist_append(*hdrs, line);
			free(line);
		}
	}
	if (*hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
}

/* correct, but each read then costs the object up to its end: say so once */
static void warn_no_ranges(struct http_be *be, const char *url)
{
	bool first;

	pthread_mutex_lock(&be->tok_lock);
	first = !be->warned_no_ranges;
	be->warned_no_ranges = true;
	pthread_mutex_unlock(&be->tok_lock);
	if (first)
		erofs_warn(&be->msg, "%s: the server ignores Range requests; every read downloads the object from its start",
			   url);
}

/* one HTTP exchange, redirects followed; 0 only for a usable 2xx */
static int perform(struct http_be *be, struct http_w *w, const char *url,
		   struct xfer *x, const char *token,
		   struct erofs_source_attempt *at)
{
	struct curl_slist *hdrs = NULL;
	curl_off_t dl = 0;
	CURLcode res;

	x->status = 0;
	x->got = 0;
	x->pos = 0;
	x->checked = x->complete = x->bad = x->past_end = false;
	x->deadline_us = at->deadline_us;
	if (x->mem) {		/* not the body of a 401 answered before */
		x->memlen = 0;
		x->mem[0] = '\0';
	}
	setup(be, w, url, x, token, &hdrs);
	res = curl_easy_perform(w->h);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(w->h, CURLINFO_SIZE_DOWNLOAD_T, &dl);
	at->received += dl;

	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && x->complete))
		return curl_error(res, w, x, at);
	if (x->status != 200 && x->status != 206)
		return status_error(x, at);
	if (x->head || x->mem || !x->buf)
		return 0;
	if (x->status == 200 && (x->off || x->len > 1))
		warn_no_ranges(be, url);
	if (x->got != x->len) {
		/* a body that ended early without the connection saying so */
		at->transient = true;
		snprintf(at->why, sizeof(at->why),
			 "short body: got %zu of %zu bytes", x->got, x->len);
		return -EIO;
	}
	return 0;
}

static char *make_url(struct http_be *be, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(be->base);
	char *url = malloc(n + 3 * strlen(key) + 1), *p;

	if (!url)
		return NULL;
	memcpy(url, be->base, n);
	p = url + n;
	for (; *key; key++) {
		unsigned char c = *key;

		/* unreserved characters, '/' between path parts and ':' */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~/:", c)) {
			*p++ = c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return url;
}

static char *token_get(struct http_be *be, unsigned int *gen)
{
	char *t = NULL;

	pthread_mutex_lock(&be->tok_lock);
	if (be->token)
		t = strdup(be->token);
	*gen = be->token_gen;
	pthread_mutex_unlock(&be->tok_lock);
	return t;
}

static char *token_url(struct http_be *be, CURL *h,
		       const struct erofs_oci_challenge *c)
{
	char defscope[300], *svc, *scope, *url;
	const char *sc = c->scope;
	size_t n;

	if (!sc[0]) {
		snprintf(defscope, sizeof(defscope), "repository:%s:pull",
			 be->repo ? be->repo : "");
		sc = defscope;
	}
	svc = curl_easy_escape(h, c->service, 0);
	scope = curl_easy_escape(h, sc, 0);
	n = strlen(c->realm) + (svc ? strlen(svc) : 0) +
		(scope ? strlen(scope) : 0) + 32;
	url = malloc(n);
	if (url && svc && scope)
		snprintf(url, n, "%s%c%s%s%sscope=%s", c->realm,
			 strchr(c->realm, '?') ? '&' : '?',
			 c->service[0] ? "service=" : "", c->service[0] ? svc : "",
			 c->service[0] ? "&" : "", scope);
	curl_free(svc);
	curl_free(scope);
	if (url && (!svc || !scope)) {
		free(url);
		url = NULL;
	}
	return url;
}

/* under tok_lock: when to renew a token that lives @secs */
static void token_set_expiry(struct http_be *be, unsigned int secs)
{
	/* a quarter of its life early, for the requests already under way */
	be->renew_us = erofs_source_now_us() + secs * 750000ULL;
}

/* under tok_lock: asks the token endpoint of @c for a new be->token */
static int token_refresh(struct http_be *be, struct http_w *w,
			 const struct erofs_oci_challenge *c,
			 struct erofs_source_attempt *at)
{
	struct xfer x = { .object_size = UINT64_MAX };
	char *url = NULL, tok[4096];
	unsigned int secs;
	int err;

	url = token_url(be, w->h, c);
	x.mem = malloc(TOKEN_BODY_MAX);
	if (!url || !x.mem) {
		err = -ENOMEM;
		goto out;
	}
	x.mem[0] = '\0';
	erofs_dbg(&be->msg, "token from %s", url);
	/* credentials, if any, go to the token endpoint, never a token */
	err = perform(be, w, url, &x, NULL, at);
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "token endpoint %.80s: %.150s",
			 c->realm, at->why);
		memcpy(at->why, why, sizeof(at->why));
		if (err == -ENOENT)
			err = -EACCES;
		goto out;
	}
	err = erofs_oci_token_from_json(x.mem, x.memlen, tok, sizeof(tok),
					&secs);
	if (err) {
		snprintf(at->why, sizeof(at->why),
			 "token endpoint %.120s: no token in its answer",
			 c->realm);
		at->transient = false;
		err = -EACCES;
		goto out;
	}
	free(be->token);
	be->token = strdup(tok);
	memset(tok, 0, sizeof(tok));
	be->token_gen++;
	be->chal = *c;
	be->have_chal = true;
	token_set_expiry(be, secs);
	if (!be->token)
		err = -ENOMEM;
out:
	free(url);
	if (x.mem) {
		memset(x.mem, 0, x.memlen);
		free(x.mem);
	}
	return err;
}

/* answers a Bearer challenge; 0 once be->token is newer than @gen */
static int fetch_token(struct http_be *be, struct http_w *w,
		       const char *challenge, unsigned int gen,
		       struct erofs_source_attempt *at)
{
	struct erofs_oci_challenge c;
	int err = 0;

	if (erofs_oci_parse_challenge(challenge, &c)) {
		snprintf(at->why, sizeof(at->why),
			 "HTTP 401 with an unusable challenge \"%.150s\"",
			 challenge);
		return -EACCES;
	}
	pthread_mutex_lock(&be->tok_lock);
	if (be->token_gen == gen)	/* else another worker just got one */
		err = token_refresh(be, w, &c, at);
	pthread_mutex_unlock(&be->tok_lock);
	return err;
}

/*
 * An obtained token near its end is renewed before it is used: a 401
 * half way through a transfer would cost a round trip, or the transfer.
 * A failure here is left to the 401 that follows.
 */
static void token_renew_early(struct http_be *be, struct http_w *w,
			      uint64_t deadline_us)
{
	struct erofs_source_attempt at = { .deadline_us = deadline_us };

	pthread_mutex_lock(&be->tok_lock);
	if (be->have_chal && be->token &&
	    erofs_source_now_us() >= be->renew_us &&
	    token_refresh(be, w, &be->chal, &at))
		erofs_dbg(&be->msg, "early token renewal: %s", at.why);
	pthread_mutex_unlock(&be->tok_lock);
}

static int request_url(struct http_be *be, struct http_w *w,
		       const char *url, struct xfer *x,
		       struct erofs_source_attempt *at)
{
	unsigned int gen, pass;
	char *token;
	int err = -ENOMEM;

	if (be->oci)
		token_renew_early(be, w, at->deadline_us);
	/* a 401 is answered with a token once; a second 401 is final */
	for (pass = 0; pass < 2; pass++) {
		token = token_get(be, &gen);
		err = perform(be, w, url, x, token, at);
		free(token);
		if (err != -EACCES || x->status != 401 || !be->oci || pass ||
		    strncasecmp(x->challenge, "bearer ", 7))
			break;
		err = fetch_token(be, w, x->challenge, gen, at);
		if (err)
			break;
		at->why[0] = '\0';
	}
	return err;
}

static int request(struct http_be *be, struct http_w *w, const char *key,
		   struct xfer *x, struct erofs_source_attempt *at)
{
	char *url = make_url(be, key);
	int err;

	if (!url)
		return -ENOMEM;
	err = request_url(be, w, url, x, at);
	free(url);
	return err;
}

/* an OCI key is a digest, "sha256:HEX" or just HEX; a URL takes the former */
static int check_key(struct http_be *hb, const char **key, char buf[72],
		     struct erofs_source_attempt *at)
{
	char hex[65];

	if (!hb->oci) {
		if (erofs_source_key_is_safe(*key, true))
			return 0;
		snprintf(at->why, sizeof(at->why), "bad key \"%.200s\"", *key);
		return -EINVAL;
	}
	if (erofs_source_parse_digest(*key, hex)) {
		snprintf(at->why, sizeof(at->why),
			 "bad key \"%.150s\": an OCI blob is named by its sha256 digest",
			 *key);
		return -EINVAL;
	}
	snprintf(buf, 72, "sha256:%s", hex);
	*key = buf;
	return 0;
}

static int http_read(void *be, void *w, const char *key, uint64_t off,
		     size_t len, void *buf, struct erofs_source_attempt *at)
{
	struct xfer x = { .off = off, .len = len, .buf = buf,
			  .object_size = at->object_size };
	char kbuf[72];
	int err = check_key(be, &key, kbuf, at);

	return err ?: request(be, w, key, &x, at);
}

static int http_size(void *be, void *w, const char *key, uint64_t *size,
		     struct erofs_source_attempt *at)
{
	struct xfer x = { .head = true, .object_size = UINT64_MAX };
	curl_off_t cl = -1;
	char one, kbuf[72];
	int err = check_key(be, &key, kbuf, at);

	if (err)
		return err;
	err = request(be, w, key, &x, at);
	if (!err) {
		curl_easy_getinfo(((struct http_w *)w)->h,
				  CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl >= 0) {
			*size = cl;
			return 0;
		}
	} else if (err != -EIO || (x.status != 405 && x.status != 501)) {
		return err;
	}
	/* HEAD refused or without a length: ask for the first byte */
	memset(&x, 0, sizeof(x));
	x.object_size = UINT64_MAX;
	x.off = 0;
	x.len = 1;
	x.buf = &one;
	at->why[0] = '\0';
	err = request(be, w, key, &x, at);
	if ((err == -ERANGE || (!err && x.status == 206)) && x.cr_total_known) {
		*size = x.cr_total;	/* 416 "bytes *\/0": empty */
		return 0;
	}
	if (!err && x.status == 200) {
		curl_easy_getinfo(((struct http_w *)w)->h,
				  CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl >= 0) {
			*size = cl;
			return 0;
		}
	}
	if (!err) {
		snprintf(at->why, sizeof(at->why),
			 "the server gives no size (no Content-Length or Content-Range)");
		err = -EPROTO;
	}
	return err;
}

/* BASE is .../v2/REPO/blobs/: the manifest is .../v2/REPO/manifests/REF */
static int http_manifest(void *p, void *w, const char *ref,
			 const char *accept, size_t max, char **body,
			 size_t *len, char *type, size_t type_size,
			 struct erofs_source_attempt *at)
{
	struct http_be *be = p;
	struct xfer x = { .accept = accept, .memmax = max + 1,
			  .object_size = UINT64_MAX };
	size_t n = strlen(be->base) - strlen("blobs/");
	char *url;
	int err;

	/* a tag or a digest: never anything that leaves the path */
	if (!*ref || !strcmp(ref, ".") || !strcmp(ref, "..") ||
	    strspn(ref, "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:") != strlen(ref)) {
		snprintf(at->why, sizeof(at->why),
			 "bad manifest reference \"%.100s\"", ref);
		return -EINVAL;
	}
	if (asprintf(&url, "%.*smanifests/%s", (int)n, be->base, ref) < 0)
		return -ENOMEM;
	x.mem = malloc(max + 1);
	if (!x.mem) {
		free(url);
		return -ENOMEM;
	}
	x.mem[0] = '\0';
	err = request_url(be, w, url, &x, at);
	free(url);
	if (!err && x.memlen >= max) {
		snprintf(at->why, sizeof(at->why), "manifest larger than %zu bytes", max);
		err = -EFBIG;
	}
	if (err) {
		free(x.mem);
		return err;
	}
	*body = x.mem;
	*len = x.memlen;
	snprintf(type, type_size, "%s", x.ctype);
	return 0;
}

static void *http_worker_init(void *be)
{
	struct http_w *w = calloc(1, sizeof(*w));

	if (w)
		w->h = curl_easy_init();
	return w;
}

static void http_worker_exit(void *be, void *p)
{
	struct http_w *w = p;

	if (!w)
		return;
	curl_easy_cleanup(w->h);
	free(w);
}

/* a worker without a handle (out of memory) fails its jobs cleanly */
static int http_read_checked(void *be, void *w, const char *key, uint64_t off,
			     size_t len, void *buf,
			     struct erofs_source_attempt *at)
{
	if (!w || !((struct http_w *)w)->h)
		return -ENOMEM;
	return http_read(be, w, key, off, len, buf, at);
}

static int http_size_checked(void *be, void *w, const char *key,
			     uint64_t *size, struct erofs_source_attempt *at)
{
	if (!w || !((struct http_w *)w)->h)
		return -ENOMEM;
	return http_size(be, w, key, size, at);
}

static void http_describe(void *be, const char *key, char *out, size_t size)
{
	struct erofs_source_attempt at;
	char kbuf[72], *url;

	check_key(be, &key, kbuf, &at);
	url = make_url(be, key);

	snprintf(out, size, "%s", url ? url : key);
	free(url);
}

static void http_close(void *p)
{
	struct http_be *be = p;
	unsigned int i;

	if (be->share)
		curl_share_cleanup(be->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&be->share_lock[i]);
	pthread_mutex_destroy(&be->tok_lock);
	free(be->base);
	free(be->repo);
	free(be->userpwd);
	free(be->cacert);
	free(be->token);
	free(be);
}

/*
 * "http://user:password@host/..." : the credentials leave the URL, which
 * messages show, and are used as if given with auth (unless @use is
 * false: auth was given and wins).
 */
static int take_userinfo(struct http_be *be, bool use)
{
	char *host = strstr(be->base, "://"), *at, *end;

	if (!host)
		return 0;
	host += 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', end - host);
	if (!at)
		return 0;
	if (use) {
		be->userpwd = strndup(host, at - host);
		if (!be->userpwd)
			return -ENOMEM;
		if (!strchr(be->userpwd, ':')) {
			erofs_err(&be->msg, "credentials in a URL must be user:password");
			return -EINVAL;
		}
	}
	memset(host, 0, at + 1 - host);
	memmove(host, at + 1, strlen(at + 1) + 1);
	return 0;
}

static int parse_auth(struct http_be *be, const char *auth,
		      const struct erofs_msg *msg)
{
	if (!auth || !*auth)
		return 0;
	if (!strncmp(auth, "bearer:", 7)) {
		be->token = strdup(auth + 7);
		return be->token ? 0 : -ENOMEM;
	}
	if (!strchr(auth, ':')) {
		erofs_err(msg, "auth must be \"user:password\" or \"bearer:TOKEN\"");
		return -EINVAL;
	}
	be->userpwd = strdup(auth);
	return be->userpwd ? 0 : -ENOMEM;
}

int erofs_source_http_open(struct erofs_source_backend *b,
			   const struct erofs_source_opts *opts,
			   const char *base, const char *oci_repo,
			   const struct erofs_msg *msg)
{
	struct http_be *be = calloc(1, sizeof(*be));
	size_t n = strlen(base);
	unsigned int i;
	int err = -ENOMEM;

	if (!be)
		return -ENOMEM;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&be->share_lock[i], NULL);
	pthread_mutex_init(&be->tok_lock, NULL);
	be->msg = *msg;
	be->oci = oci_repo != NULL;
	be->timeout_ms = opts->timeout_ms ?: EROFS_SOURCE_DEFAULT_TIMEOUT_MS;
	be->maxconns = (opts->workers ?: EROFS_SOURCE_DEFAULT_WORKERS) + 1;
	be->base = malloc(n + 2);
	if (!be->base)
		goto fail;
	memcpy(be->base, base, n + 1);
	if (!n || base[n - 1] != '/')
		strcat(be->base, "/");
	err = take_userinfo(be, !opts->auth || !*opts->auth);
	if (err)
		goto fail;
	if (oci_repo && !(be->repo = strdup(oci_repo)))
		goto fail;
	if (opts->cacert && !(be->cacert = strdup(opts->cacert)))
		goto fail;
	err = parse_auth(be, opts->auth, msg);
	if (err)
		goto fail;

	/* one connection cache, DNS cache and TLS session cache for all */
	be->share = curl_share_init();
	if (!be->share) {
		err = -ENOMEM;
		goto fail;
	}
	curl_share_setopt(be->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(be->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(be->share, CURLSHOPT_USERDATA, be);
	curl_share_setopt(be->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(be->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(be->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);

	memset(b, 0, sizeof(*b));
	b->name = oci_repo ? "oci" : "http";
	b->worker_init = http_worker_init;
	b->worker_exit = http_worker_exit;
	b->size = http_size_checked;
	b->read = http_read_checked;
	b->describe = http_describe;
	if (oci_repo)
		b->manifest = http_manifest;
	b->close = http_close;
	b->be = be;
	return 0;
fail:
	http_close(be);
	return err;
}
