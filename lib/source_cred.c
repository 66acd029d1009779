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
#include "erofs/jsonread.h"
#include "source_priv.h"

#define CONFIG_MAX		(1U << 20)
#define HELPER_OUT_MAX		(64U << 10)
#define HELPER_TIMEOUT_MS	10000

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

/*
 * auths: {"host": {"auth": "base64(user:password)"}}.  1 with
 * cx->userpwd set, 0 when @entry is not for the host or has no "auth"
 * (an entry kept for a credsStore), or -errno.
 */
static int use_auths_entry(struct cred_ctx *cx, const struct erofs_jval *entry)
{
	const char *b64 = erofs_jsonr_get_str(entry, "auth");
	char *plain, *colon;
	size_t size, len;
	int err;

	if (!key_matches(entry->key, cx->host) || !b64 || !*b64)
		return 0;
	size = strlen(b64) + 1;
	plain = malloc(size);
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
		memset(plain, 0, size);
		free(plain);
		return -EBADMSG;	/* not -EINVAL: the JSON itself is fine */
	}
	cx->userpwd = plain;
	return 1;
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

/*
 * reads @fd until EOF, at most @size - 1 bytes, until @deadline (us);
 * the count in *@len
 */
static int read_bounded(int fd, char *buf, size_t size, size_t *len,
			uint64_t deadline)
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
	*len = n;
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
 * The helper's answer {"Username": ..., "Secret": ...} in @out: 0 with
 * cx->userpwd set, 0 without for an identity token, or -errno.
 */
static int use_helper_answer(struct cred_ctx *cx, const char *prog,
			     const char *out, size_t len)
{
	const char *user, *secret;
	struct erofs_jval *root;
	char why[128];
	int err;

	/* @why says where and what is wrong, never what was read */
	err = erofs_jsonr_parse(out, len, &root, why, sizeof(why));
	if (err) {
		if (err == -EINVAL) {
			erofs_err(cx->msg, "credential helper %s for %s: its answer is not JSON: %s",
				  prog, cx->host, why);
			err = -EPROTO;
		}
		return err;
	}
	user = erofs_jsonr_get_str(root, "Username");
	secret = erofs_jsonr_get_str(root, "Secret");
	if (!user || !secret) {
		erofs_err(cx->msg, "credential helper %s for %s: no Username and Secret in its answer",
			  prog, cx->host);
		err = -EPROTO;
	} else if (!strcmp(user, "<token>")) {
		erofs_warn(cx->msg, "credential helper %s for %s gives an identity token, which is not supported: anonymous",
			   prog, cx->host);
	} else {
		err = set_cred(cx, user, secret);
		if (err == -EINVAL)
			erofs_err(cx->msg, "credential helper %s for %s: unusable user name",
				  prog, cx->host);
	}
	erofs_jsonr_free_secret(root);
	return err;
}

/*
 * Runs docker-credential-@name get, the host on its stdin.  0 with
 * cx->userpwd set, 0 without when the helper does not know the host,
 * or -errno.  No shell: the name is checked and the program found on
 * PATH; its output is bounded and it is killed after a timeout.
 */
static int run_helper(struct cred_ctx *cx, const char *name)
{
	char prog[96], *out = NULL;
	uint64_t deadline;
	size_t len = 0;
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
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	deadline = erofs_source_now_us() + HELPER_TIMEOUT_MS * 1000ULL;
	err = read_bounded(pipefd[0], out, HELPER_OUT_MAX, &len, deadline);
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
	err = use_helper_answer(cx, prog, out, len);
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
	for (status = 0; status < 2; status++) {
		if (in[status] >= 0)
			close(in[status]);
		if (pipefd[status] >= 0)
			close(pipefd[status]);
	}
	return err;
}

/* ---- the lookup ---- */

static char *read_config(struct cred_ctx *cx, bool must_exist, size_t *len,
			 int *err)
{
	char *text = erofs_read_small_file(cx->path, CONFIG_MAX, len);

	*err = 0;
	if (text)
		return text;
	if (errno == ENOENT && !must_exist)
		return NULL;
	*err = -errno;
	erofs_err(cx->msg, "%s: %s", cx->path, errno == EFBIG ?
		  "larger than 1 MiB or not a regular file" : strerror(errno));
	return NULL;
}

/* credHelpers for the host, then auths, then credsStore */
static int lookup(struct cred_ctx *cx, const struct erofs_jval *root)
{
	const struct erofs_jval *auths, *e;
	const char *helper;
	int err;

	if (root->type != EROFS_JOBJECT) {
		erofs_err(cx->msg, "%s: not a JSON object", cx->path);
		return -EINVAL;
	}
	helper = erofs_jsonr_get_str(erofs_jsonr_get(root, "credHelpers"),
				     cx->host);
	if (helper) {
		err = run_helper(cx, helper);
		if (err || cx->userpwd)
			return err;
	}
	auths = erofs_jsonr_get(root, "auths");
	for (e = auths && auths->type == EROFS_JOBJECT ? auths->child : NULL;
	     e; e = e->next) {
		err = use_auths_entry(cx, e);
		if (err)
			return err < 0 ? err : 0;
	}
	helper = erofs_jsonr_get_str(root, "credsStore");
	return helper ? run_helper(cx, helper) : 0;
}

int erofs_source_docker_cred(const char *host, const char *config,
			     const struct erofs_msg *msg, char **userpwd)
{
	struct cred_ctx cx = { .host = host, .msg = msg };
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	struct erofs_jval *root;
	char path[4096], why[128], *text;
	size_t len;
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
	text = read_config(&cx, config != NULL, &len, &err);
	if (!text)
		return err;
	err = erofs_jsonr_parse(text, len, &root, why, sizeof(why));
	memset(text, 0, len);
	free(text);
	if (err == -EINVAL)
		erofs_err(msg, "%s: not valid JSON: %s", path, why);
	if (err)
		return err;
	err = lookup(&cx, root);
	erofs_jsonr_free_secret(root);
	if (err) {
		free(cx.userpwd);
		return err;
	}
	if (cx.userpwd)
		erofs_info(msg, "credentials for %s from %s", host, path);
	*userpwd = cx.userpwd;
	return 0;
}
