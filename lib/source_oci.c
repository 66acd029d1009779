// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * OCI registries (the distribution API): a blob is
 * /v2/<repo>/blobs/sha256:<digest> on the registry, read over HTTP(S)
 * by source_http.c.  What is OCI-specific lives here: the spec
 * "oci://host[:port]/repo[?insecure]", the WWW-Authenticate Bearer
 * challenge and the token endpoint's JSON answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "erofs/jsonread.h"
#include "source_priv.h"

/* copies a (possibly quoted) value from *p, leaves *p after it */
static int take_value(const char **p, char *out, size_t size)
{
	const char *s = *p;
	size_t n = 0;
	bool quoted = *s == '"';

	if (quoted)
		s++;
	while (*s && (quoted ? *s != '"' : (*s != ',' && *s != ' '))) {
		if (quoted && *s == '\\' && s[1])
			s++;
		if (n + 1 >= size)
			return -E2BIG;
		out[n++] = *s++;
	}
	if (quoted) {
		if (*s != '"')
			return -EINVAL;
		s++;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

/* Bearer realm="https://auth/token",service="registry",scope="repository:x:pull" */
int erofs_oci_parse_challenge(const char *hdr, struct erofs_oci_challenge *c)
{
	const char *p = hdr;
	char name[32], junk[512];

	memset(c, 0, sizeof(*c));
	if (strncasecmp(p, "bearer ", 7))
		return -EINVAL;
	p += 7;
	while (*p) {
		size_t n;
		char *dst = junk;
		size_t dsz = sizeof(junk);
		int err;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "=, ");
		if (p[n] != '=' || n >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + 1;
		if (!strcasecmp(name, "realm")) {
			dst = c->realm;
			dsz = sizeof(c->realm);
		} else if (!strcasecmp(name, "service")) {
			dst = c->service;
			dsz = sizeof(c->service);
		} else if (!strcasecmp(name, "scope")) {
			dst = c->scope;
			dsz = sizeof(c->scope);
		}
		err = take_value(&p, dst, dsz);
		if (err)
			return err;
	}
	/* a token is fetched from realm: only a web address will do */
	if (strncmp(c->realm, "http://", 7) && strncmp(c->realm, "https://", 8))
		return -EINVAL;
	return 0;
}

/*
 * Docker's token servers say "token", OAuth2 ones "access_token"; the
 * lifetime is "expires_in" seconds, 60 when absent (the distribution
 * token specification's default) or unusable.
 */
int erofs_oci_token_from_json(const char *json, size_t len, char *out,
			      size_t size, unsigned int *expires_in)
{
	struct erofs_jval *root;
	const char *tok;
	uint64_t secs = 0;
	char why[128];
	int err;

	err = erofs_jsonr_parse(json, len, &root, why, sizeof(why));
	if (err)
		return err;
	tok = erofs_jsonr_get_str(root, "token");
	if (!tok || !*tok)
		tok = erofs_jsonr_get_str(root, "access_token");
	if (!tok || !*tok)
		err = -ENOENT;
	else if (strlen(tok) >= size)
		err = -E2BIG;
	else
		strcpy(out, tok);
	if (erofs_jsonr_u64(erofs_jsonr_get(root, "expires_in"), &secs))
		secs = 0;
	*expires_in = secs && secs <= 86400 * 366 ? secs : 60;
	erofs_jsonr_free_secret(root);
	return err;
}

/* without an auth setting, the registry's entry in the Docker config */
static int open_with_creds(struct erofs_source_backend *b,
			   const struct erofs_source_opts *opts,
			   const char *host, const char *base, const char *repo,
			   const struct erofs_msg *msg)
{
	struct erofs_source_opts o = *opts;
	char *userpwd = NULL;
	int err;

	if (!o.auth || !*o.auth) {
		err = erofs_source_docker_cred(host, o.docker_config, msg,
					       &userpwd);
		if (err)
			return err;
		o.auth = userpwd;
	}
	err = erofs_source_http_open(b, &o, base, repo, msg);
	if (userpwd) {
		memset(userpwd, 0, strlen(userpwd));
		free(userpwd);
	}
	return err;
}

int erofs_source_oci_open(struct erofs_source_backend *b,
			  const struct erofs_source_opts *opts,
			  const char *spec, const struct erofs_msg *msg)
{
	const char *hostp = spec + strlen("oci://"), *slash, *q;
	bool insecure = false;
	char *host, *repo, *base, shown[512];
	size_t n;
	int err;

	slash = strchr(hostp, '/');
	q = strchr(hostp, '?');
	if (q && !strcmp(q, "?insecure"))
		insecure = true;
	else if (q)
		goto bad;
	if (!slash || slash == hostp || (q && q <= slash + 1) || !slash[1])
		goto bad;
	n = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
	host = strndup(hostp, slash - hostp);
	repo = strndup(slash + 1, n);
	if (!host || !repo) {
		free(host);
		free(repo);
		return -ENOMEM;
	}
	if (!erofs_source_key_is_safe(repo, true) || strpbrk(repo, "?#% ")) {
		free(host);
		free(repo);
		goto bad;
	}
	base = malloc(strlen(host) + strlen(repo) + 32);
	if (!base) {
		err = -ENOMEM;
	} else {
		sprintf(base, "%s://%s/v2/%s/blobs/",
			insecure ? "http" : "https", host, repo);
		err = open_with_creds(b, opts, host, base, repo, msg);
	}
	free(base);
	free(host);
	free(repo);
	return err;
bad:
	erofs_source_spec_redact(spec, shown, sizeof(shown));
	erofs_err(msg, "bad OCI source \"%s\": expected oci://HOST[:PORT]/REPO[?insecure]",
		  shown);
	return -EINVAL;
}
