// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Registry credentials from the Docker client's configuration
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): the "auths"
 * entry of the registry holds base64("user:password").  Credential
 * helpers (credsStore, credHelpers) run programs: not done here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/oci.h"
#include "erofs/util.h"

#define DOCKER_CONFIG_MAX	(1U << 20)

/* "host", "https://host", "http://host/v1/": the same registry */
static bool auth_key_matches(const char *key, const char *host)
{
	size_t n = strlen(host);

	if (!strncmp(key, "https://", 8))
		key += 8;
	else if (!strncmp(key, "http://", 7))
		key += 7;
	if (!strcmp(host, "registry-1.docker.io") &&
	    !strncmp(key, "index.docker.io", 15))
		return key[15] == '\0' || key[15] == '/';
	return !strncmp(key, host, n) && (key[n] == '\0' || key[n] == '/');
}

int erofs_oci_docker_auth(const char *host, char **userpass,
			  const struct erofs_msg *msg)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	const struct erofs_jval *auths, *a;
	struct erofs_jval *root;
	char *path = NULL, *text, why[128];
	size_t len, outlen;
	int err = -ENOENT;

	*userpass = NULL;
	if (dir ? asprintf(&path, "%s/config.json", dir) < 0 :
	    !home || asprintf(&path, "%s/.docker/config.json", home) < 0)
		return -ENOENT;
	text = erofs_read_small_file(path, DOCKER_CONFIG_MAX, &len);
	if (!text) {
		free(path);
		return -ENOENT;
	}
	if (erofs_jsonr_parse(text, len, &root, why, sizeof(why))) {
		erofs_warn(msg, "%s: not JSON (%s): its credentials are not used",
			   path, why);
		goto out;
	}
	auths = erofs_jsonr_get(root, "auths");
	for (a = auths && auths->type == EROFS_JOBJECT ? auths->child : NULL;
	     a; a = a->next) {
		const char *b64 = erofs_jsonr_get_str(a, "auth");

		if (!auth_key_matches(a->key, host) || !b64 || !*b64)
			continue;
		*userpass = malloc(strlen(b64) + 1);
		if (!*userpass) {
			err = -ENOMEM;
			break;
		}
		if (erofs_base64_decode(b64, strlen(b64), (uint8_t *)*userpass,
					&outlen) ||
		    !memchr(*userpass, ':', outlen) ||
		    memchr(*userpass, '\0', outlen)) {
			erofs_warn(msg, "%s: the auth of \"%s\" is not base64 of user:password",
				   path, a->key);
			free(*userpass);
			*userpass = NULL;
			continue;
		}
		(*userpass)[outlen] = '\0';
		err = 0;
		break;
	}
	erofs_jsonr_free(root);
out:
	free(text);
	free(path);
	return err;
}
