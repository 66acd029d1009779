// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * OCI image references, as the distribution spec and Docker write them:
 * [HOST[:PORT]/]NAME[:TAG][@sha256:HEX], or oci-layout:DIR[:TAG] for an
 * image layout on disk.  The first component is a host when it holds a
 * '.' or a ':' or is "localhost"; otherwise the name is Docker Hub's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "erofs/oci.h"
#include "erofs/sha256.h"

#define LAYOUT_PREFIX	"oci-layout:"
#define DOCKER_HUB	"registry-1.docker.io"

void erofs_oci_ref_free(struct erofs_oci_ref *ref)
{
	free(ref->layout);
	free(ref->host);
	free(ref->repo);
	free(ref->tag);
	memset(ref, 0, sizeof(*ref));
}

const char *erofs_oci_digest_hex(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) || !erofs_sha256_hex_ok(s + 7))
		return NULL;
	return s + 7;
}

/* path components of lowercase letters and digits, joined by . _ __ - */
static bool repo_ok(const char *r)
{
	const char *p;

	if (!*r || *r == '/' || r[strlen(r) - 1] == '/' || strstr(r, "//"))
		return false;
	for (p = r; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("._-/", *p)))
			return false;
	return true;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	return n && n <= 128 && *t != '.' && *t != '-' &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") == n;
}

static bool host_ok(const char *h)
{
	return *h && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-:[]") == strlen(h);
}

/* oci-layout:DIR[:TAG]: a tag has no '/', so a ':' after the last '/' */
static int parse_layout(const char *s, struct erofs_oci_ref *ref)
{
	const char *slash = strrchr(s, '/'), *colon;

	colon = strrchr(slash ? slash : s, ':');
	if (colon) {
		ref->tag = strdup(colon + 1);
		ref->layout = strndup(s, colon - s);
	} else {
		ref->layout = strdup(s);
	}
	if (!ref->layout || (colon && !ref->tag))
		return -ENOMEM;
	if (!*ref->layout || (ref->tag && !*ref->tag))
		return -EINVAL;
	return 0;
}

static int parse_remote(char *s, struct erofs_oci_ref *ref)
{
	char *at = strchr(s, '@'), *slash, *colon, *name = s;

	if (at) {
		const char *hex;

		*at++ = '\0';
		hex = erofs_oci_digest_hex(at);
		if (!hex)
			return -EINVAL;
		memcpy(ref->digest, hex, 65);
	}
	slash = strchr(s, '/');
	if (slash && (memchr(s, '.', slash - s) || memchr(s, ':', slash - s) ||
		      (slash - s == 9 && !memcmp(s, "localhost", 9)))) {
		ref->host = strndup(s, slash - s);
		name = slash + 1;
	} else {
		ref->host = strdup(DOCKER_HUB);
	}
	if (!ref->host)
		return -ENOMEM;
	colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		ref->tag = strdup(colon + 1);
		if (!ref->tag)
			return -ENOMEM;
		if (!tag_ok(ref->tag))
			return -EINVAL;
	}
	if (!strchr(name, '/') && !strcmp(ref->host, DOCKER_HUB)) {
		if (asprintf(&ref->repo, "library/%s", name) < 0)
			ref->repo = NULL;
	} else {
		ref->repo = strdup(name);
	}
	if (!ref->repo)
		return -ENOMEM;
	if (!host_ok(ref->host) || !repo_ok(ref->repo))
		return -EINVAL;
	if (!ref->tag && !ref->digest[0]) {
		ref->tag = strdup("latest");
		if (!ref->tag)
			return -ENOMEM;
	}
	return 0;
}

int erofs_oci_ref_parse(const char *s, struct erofs_oci_ref *ref,
			const struct erofs_msg *msg)
{
	char *copy;
	int err;

	memset(ref, 0, sizeof(*ref));
	if (!strncmp(s, LAYOUT_PREFIX, strlen(LAYOUT_PREFIX))) {
		err = parse_layout(s + strlen(LAYOUT_PREFIX), ref);
	} else {
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
		/* docker://, as skopeo writes them, is the same reference */
		err = parse_remote(copy + (strncmp(copy, "docker://", 9) ? 0 : 9),
				   ref);
		free(copy);
	}
	if (err == -EINVAL)
		erofs_err(msg, "bad image reference \"%s\": expected HOST[:PORT]/REPO[:TAG][@sha256:DIGEST] or oci-layout:DIR[:TAG]",
			  s);
	if (err)
		erofs_oci_ref_free(ref);
	return err;
}

void erofs_oci_host_platform(char *buf, size_t size)
{
	static const struct { const char *machine, *arch; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" },
		{ "armv7l", "arm/v7" }, { "armv6l", "arm/v6" },
		{ "i686", "386" }, { "i386", "386" },
		{ "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "loongarch64", "loong64" },
	};
	const char *arch = "amd64";
	struct utsname u;
	unsigned int i;

	if (!uname(&u)) {
		arch = u.machine;
		for (i = 0; i < ARRAY_SIZE(map); i++)
			if (!strcmp(u.machine, map[i].machine))
				arch = map[i].arch;
	}
	snprintf(buf, size, "linux/%s", arch);
}
