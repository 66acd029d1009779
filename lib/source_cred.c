// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Registry credentials the way Docker keeps them, so that an operator
 * logs in once ("docker login") instead of putting a password on a
 * command line.  config.json may name a credential helper for a host
 * (credHelpers), one for every host (credsStore), or hold base64
 * "user:password" under auths; the first of them that knows the host
 * wins.  A helper is the program docker-credential-NAME: it reads the
 * server on stdin and answers {"Username": ..., "Secret": ...}.
 *
 * Secrets never reach a message: errors name the file, the host and the
 * helper, nothing read from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "source_priv.h"

#define CONFIG_MAX		(1U << 20)
#define HELPER_OUT_MAX		(64U << 10)
#define HELPER_TIMEOUT_MS	10000
#define JSON_DEPTH_MAX		64
#define CRED_MAX		4096

/* ---- a small JSON reader: enough to walk objects and read strings ---- */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* appends code point @u as UTF-8; false when it does not fit */
static bool put_utf8(char *out, size_t size, size_t *n, unsigned int u)
{
	char b[3];
	size_t k;

	if (u < 0x80) {
		b[0] = u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = 0xc0 | (u >> 6);
		b[1] = 0x80 | (u & 0x3f);
		k = 2;
	} else {
		b[0] = 0xe0 | (u >> 12);
		b[1] = 0x80 | ((u >> 6) & 0x3f);
		b[2] = 0x80 | (u & 0x3f);
		k = 3;
	}
	if (*n + k >= size)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/* the escape after a backslash at @p into *@u; the position of its last char */
static const char *json_escape(const char *p, unsigned int *u)
{
	int i, v;

	switch (*p) {
	case 'n': *u = '\n'; return p;
	case 't': *u = '\t'; return p;
	case 'r': *u = '\r'; return p;
	case 'b': *u = '\b'; return p;
	case 'f': *u = '\f'; return p;
	case '"': case '\\': case '/': *u = *p; return p;
	case 'u':
		*u = 0;
		for (i = 1; i <= 4; i++) {
			v = erofs_hexval(p[i]);
			if (v < 0)
				return NULL;
			*u = *u << 4 | v;
		}
		if (!*u || (*u >= 0xd800 && *u < 0xe000))
			return NULL;
		return p + 4;
	}
	return NULL;
}

/*
 * The string at @p (on its opening quote) into @out (NUL-terminated;
 * @out may be NULL to skip it).  Returns the position after it, or NULL
 * on a malformed or too long string.  \u escapes outside the BMP are
 * refused: no registry host or credential needs them.
 */
static const char *json_str(const char *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p++ != '"')
		return NULL;
	for (; *p && *p != '"'; p++) {
		unsigned int u = (unsigned char)*p;

		if (u < 0x20)
			return NULL;
		if (*p == '\\') {
			p = json_escape(p + 1, &u);
			if (!p)
				return NULL;
		} else if (out && u >= 0x80) {
			/* raw UTF-8 is copied byte by byte */
			if (n + 1 >= size)
				return NULL;
			out[n++] = u;
			continue;
		}
		if (out && !put_utf8(out, size, &n, u))
			return NULL;
	}
	if (*p != '"')
		return NULL;
	if (out)
		out[n] = '\0';
	return p + 1;
}

/* the position after the value at @p, or NULL if it is malformed */
static const char *json_skip(const char *p, unsigned int depth)
{
	p = json_ws(p);
	if (depth > JSON_DEPTH_MAX)
		return NULL;
	if (*p == '"')
		return json_str(p, NULL, 0);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_str(json_ws(p), NULL, 0);
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_skip(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	/* numbers, true, false, null */
	if (!strchr("-0123456789tfn", *p) || !*p)
		return NULL;
	while (*p && strchr("+-.0123456789eEtruefalsn", *p))
		p++;
	return p;
}

/*
 * Calls @fn for each member of the object at @obj until it returns
 * nonzero; -EINVAL when @obj is not a well-formed object.
 */
typedef int (*json_member_fn)(const char *name, const char *val, void *priv);

static int json_members(const char *obj, json_member_fn fn, void *priv)
{
	char name[512];
	const char *p = json_ws(obj), *v;
	int ret;

	if (*p++ != '{')
		return -EINVAL;
	p = json_ws(p);
	if (*p == '}')
		return 0;
	for (;;) {
		v = json_ws(p);
		p = json_str(v, name, sizeof(name));
		if (!p) {
			/* a name too long to be one we look for */
			p = json_str(v, NULL, 0);
			if (!p)
				return -EINVAL;
			name[0] = '\0';
		}
		p = json_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		v = json_ws(p);
		p = json_skip(v, 1);
		if (!p)
			return -EINVAL;
		ret = fn(name, v, priv);
		if (ret)
			return ret;
		p = json_ws(p);
		if (*p == '}')
			return 0;
		if (*p++ != ',')
			return -EINVAL;
	}
}

struct json_find {
	const char *name;
	const char *val;
};

static int find_fn(const char *name, const char *val, void *priv)
{
	struct json_find *f = priv;

	if (strcmp(name, f->name))
		return 0;
	f->val = val;
	return 1;
}

/* the value of member @name of the object at @obj, or NULL */
static const char *json_get(const char *obj, const char *name)
{
	struct json_find f = { .name = name };

	return json_members(obj, find_fn, &f) == 1 ? f.val : NULL;
}

/* member @name as a string into @out; -ENOENT if absent or not a string */
static int json_get_str(const char *obj, const char *name, char *out,
			size_t size)
{
	const char *v = json_get(obj, name);

	if (!v || *v != '"')
		return -ENOENT;
	return json_str(v, out, size) ? 0 : -EINVAL;
}

/* ---- config.json ---- */

struct cred_ctx {
	const char *host;		/* host[:port] */
	const char *path;		/* config.json, for messages */
	const struct erofs_msg *msg;
	char *userpwd;			/* the answer, malloc'ed */
};

/* "https://host:5000/v1/" or "host:5000" is a key for host:5000 */
static bool key_matches(const char *key, const char *host)
{
	size_t n;

	if (!strncmp(key, "https://", 8))
		key += 8;
	else if (!strncmp(key, "http://", 7))
		key += 7;
	n = strcspn(key, "/");
	if (strlen(host) == n && !strncmp(key, host, n))
		return true;
	/* Docker Hub's credentials are filed under its old index name */
	return n == 15 && !strncmp(key, "index.docker.io", 15) &&
		(!strcmp(host, "registry-1.docker.io") ||
		 !strcmp(host, "docker.io"));
}

static int set_cred(struct cred_ctx *cx, const char *user, const char *secret)
{
	size_t n = strlen(user) + strlen(secret) + 2;

	if (!*user || strchr(user, ':'))
		return -EINVAL;
	cx->userpwd = malloc(n);
	if (!cx->userpwd)
		return -ENOMEM;
	snprintf(cx->userpwd, n, "%s:%s", user, secret);
	return 0;
}

/* auths: {"host": {"auth": "base64(user:password)"}} */
static int auths_fn(const char *name, const char *val, void *priv)
{
	struct cred_ctx *cx = priv;
	char b64[CRED_MAX], *plain, *colon;
	size_t len;
	int err;

	if (!key_matches(name, cx->host))
		return 0;
	if (json_get_str(val, "auth", b64, sizeof(b64)) || !b64[0])
		return 0;	/* an entry kept for a credsStore */
	plain = malloc(strlen(b64) + 1);
	if (!plain)
		return -ENOMEM;
	err = erofs_base64_decode(b64, strlen(b64), (uint8_t *)plain, &len);
	if (!err) {
		plain[len] = '\0';
		colon = strchr(plain, ':');
		if (!colon || colon == plain || strlen(plain) != len)
			err = -EINVAL;
	}
	if (err) {
		erofs_err(cx->msg, "%s: auths entry for %s: \"auth\" is not base64 of user:password",
			  cx->path, cx->host);
		err = -EBADMSG;	/* not -EINVAL: the JSON itself is fine */
	} else {
		cx->userpwd = plain;
		plain = NULL;
	}
	if (plain) {
		memset(plain, 0, len);
		free(plain);
	}
	return err ?: 1;
}

/* ---- credential helpers ---- */

static bool helper_name_ok(const char *name)
{
	const char *p;

	if (!*name || strlen(name) > 64)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-", *p)))
			return false;
	return true;
}

/* reads @fd until EOF, at most @size - 1 bytes, until @deadline (us) */
static int read_bounded(int fd, char *buf, size_t size, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t r;

	for (;;) {
		uint64_t now = erofs_source_now_us();
		int ret;

		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (deadline - now) / 1000 + 1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			continue;
		if (n + 1 >= size)
			return -E2BIG;
		r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	return 0;
}

static int spawn_helper(const char *prog, int in, int out, pid_t *pid)
{
	char *argv[] = { (char *)prog, "get", NULL };
	posix_spawn_file_actions_t fa;
	extern char **environ;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -err;
}

/*
 * Runs docker-credential-@name get, the host on its stdin.  0 with
 * cx->userpwd set, 0 without when the helper does not know the host,
 * or -errno.  No shell: the name is checked and the program found on
 * PATH; its output is bounded and it is killed after a timeout.
 */
static int run_helper(struct cred_ctx *cx, const char *name)
{
	char prog[96], user[CRED_MAX], *out = NULL, *secret = NULL;
	uint64_t deadline;
	int in[2] = { -1, -1 }, pipefd[2] = { -1, -1 }, status, err;
	pid_t pid = -1;

	if (!helper_name_ok(name)) {
		erofs_err(cx->msg, "%s: bad credential helper name \"%.64s\"",
			  cx->path, name);
		return -EINVAL;
	}
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	/* a socket for stdin: a helper that quits early gives no SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) ||
	    pipe2(pipefd, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	err = spawn_helper(prog, in[1], pipefd[1], &pid);
	close(in[1]);
	close(pipefd[1]);
	in[1] = pipefd[1] = -1;
	if (err == -ENOENT) {
		/* as a helper that does not know the host: anonymous */
		erofs_warn(cx->msg, "credential helper %s for %s: not found on PATH",
			   prog, cx->host);
		err = 0;
		goto out;
	}
	if (err) {
		erofs_err(cx->msg, "credential helper %s for %s: %s", prog,
			  cx->host, strerror(-err));
		goto out;
	}
	send(in[0], cx->host, strlen(cx->host), MSG_NOSIGNAL);
	shutdown(in[0], SHUT_WR);
	out = malloc(HELPER_OUT_MAX);
	secret = malloc(CRED_MAX);
	if (!out || !secret) {
		err = -ENOMEM;
		goto out;
	}
	deadline = erofs_source_now_us() + HELPER_TIMEOUT_MS * 1000ULL;
	err = read_bounded(pipefd[0], out, HELPER_OUT_MAX, deadline);
	if (err == -ETIMEDOUT || err == -E2BIG)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (err) {
		erofs_err(cx->msg, "credential helper %s for %s: %s", prog,
			  cx->host, err == -E2BIG ? "answer too long" :
			  strerror(-err));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* "credentials not found": let the next way try */
		erofs_dbg(cx->msg, "credential helper %s has nothing for %s",
			  prog, cx->host);
		goto out;
	}
	if (json_get_str(out, "Username", user, sizeof(user)) ||
	    json_get_str(out, "Secret", secret, CRED_MAX)) {
		erofs_err(cx->msg, "credential helper %s for %s: no Username and Secret in its answer",
			  prog, cx->host);
		err = -EPROTO;
		goto out;
	}
	if (!strcmp(user, "<token>")) {
		erofs_warn(cx->msg, "credential helper %s for %s gives an identity token, which erofs-fetch cannot use: anonymous",
			   prog, cx->host);
		goto out;
	}
	err = set_cred(cx, user, secret);
	if (err == -EINVAL)
		erofs_err(cx->msg, "credential helper %s for %s: unusable user name",
			  prog, cx->host);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (out) {
		memset(out, 0, HELPER_OUT_MAX);
		free(out);
	}
	if (secret) {
		memset(secret, 0, CRED_MAX);
		free(secret);
	}
	for (status = 0; status < 2; status++) {
		if (in[status] >= 0)
			close(in[status]);
		if (pipefd[status] >= 0)
			close(pipefd[status]);
	}
	return err;
}

/* ---- the lookup ---- */

static char *read_config(struct cred_ctx *cx, bool must_exist, int *err)
{
	int fd = open(cx->path, O_RDONLY | O_CLOEXEC);
	char *text;
	ssize_t n;

	*err = 0;
	if (fd < 0) {
		if (errno != ENOENT || must_exist) {
			*err = -errno;
			erofs_err(cx->msg, "%s: %s", cx->path, strerror(errno));
		}
		return NULL;
	}
	text = malloc(CONFIG_MAX + 1);
	if (!text) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	n = read(fd, text, CONFIG_MAX + 1);
	close(fd);
	if (n < 0 || n > CONFIG_MAX) {
		*err = n < 0 ? -EIO : -EFBIG;
		erofs_err(cx->msg, "%s: %s", cx->path,
			  n < 0 ? "cannot read it" : "larger than 1 MiB");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static int lookup(struct cred_ctx *cx, const char *text)
{
	char helper[128];
	const char *v;
	int err;

	if (!json_skip(text, 0) || *json_ws(text) != '{') {
		erofs_err(cx->msg, "%s: not a JSON object", cx->path);
		return -EINVAL;
	}
	v = json_get(text, "credHelpers");
	if (v && *v == '{' && !json_get_str(v, cx->host, helper,
					    sizeof(helper))) {
		err = run_helper(cx, helper);
		if (err || cx->userpwd)
			return err;
	}
	v = json_get(text, "auths");
	if (v && *v == '{') {
		err = json_members(v, auths_fn, cx);
		if (err == -EINVAL)
			erofs_err(cx->msg, "%s: auths: not an object of objects",
				  cx->path);
		if (err < 0)
			return err;
		if (cx->userpwd)
			return 0;
	}
	if (!json_get_str(text, "credsStore", helper, sizeof(helper)))
		return run_helper(cx, helper);
	return 0;
}

int erofs_source_docker_cred(const char *host, const char *config,
			     const struct erofs_msg *msg, char **userpwd)
{
	struct cred_ctx cx = { .host = host, .msg = msg };
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	char path[4096], *text;
	int err;

	*userpwd = NULL;
	if (config && !strcmp(config, "none"))
		return 0;
	if (config)
		snprintf(path, sizeof(path), "%s", config);
	else if (dir && *dir)
		snprintf(path, sizeof(path), "%s/config.json", dir);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.docker/config.json", home);
	else
		return 0;
	cx.path = path;
	text = read_config(&cx, config != NULL, &err);
	if (!text)
		return err;
	err = lookup(&cx, text);
	memset(text, 0, strlen(text));
	free(text);
	if (err) {
		free(cx.userpwd);
		return err;
	}
	if (cx.userpwd)
		erofs_info(msg, "credentials for %s from %s", host, path);
	*userpwd = cx.userpwd;
	return 0;
}
