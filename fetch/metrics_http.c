// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon: the metrics endpoint.  A tiny HTTP/1.0 server on a
 * unix socket and/or a TCP address (--metrics=unix:PATH,tcp:ADDR:PORT),
 * run by its own thread so that a slow scraper never delays a READ.  It
 * answers "GET /metrics" (Prometheus text) and "GET /metrics.json", one
 * connection at a time, each bounded in time and size: it is for a local
 * scraper, not for the world (there is no authentication; bind TCP to
 * the loopback).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "daemon.h"

#define HTTP_REQ_MAX		4096	/* a request line and headers */
#define HTTP_TIMEOUT_MS		2000	/* per connection */

static int listen_unix(struct fetchd *d, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* a socket left by a daemon that died; never anything else */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	d->http.unix_path = strdup(path);
	return fd;
}

/* "ADDR:PORT", an IPv4 address */
static int listen_tcp(const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(spec, ':');
	char addr[INET_ADDRSTRLEN];
	long long port;
	int fd, one = 1;

	if (!colon || colon - spec >= (long)sizeof(addr) ||
	    erofs_parse_long(colon + 1, 0, 65535, &port))
		return -EINVAL;
	memcpy(addr, spec, colon - spec);
	addr[colon - spec] = '\0';
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* binds every address of "unix:PATH,tcp:ADDR:PORT" (one of each at most) */
static int http_listen(struct fetchd *d, const char *spec)
{
	char *copy = strdup(spec), *tok, *save = NULL;
	int ret = 0, fd, slot;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "unix:", 5) && tok[5]) {
			slot = 0;
			fd = d->http.fds[0] >= 0 ? -EEXIST : listen_unix(d, tok + 5);
		} else if (!strncmp(tok, "tcp:", 4)) {
			slot = 1;
			fd = d->http.fds[1] >= 0 ? -EEXIST : listen_tcp(tok + 4);
		} else {
			fd = -EINVAL;
		}
		if (fd < 0) {
			erofs_err(&d->msg, "--metrics: %s: %s", tok,
				  fd == -EINVAL ? "expected unix:PATH or tcp:ADDR:PORT" :
				  fd == -EEXIST ? "one address of each kind" :
				  strerror(-fd));
			ret = fd;
			break;
		}
		d->http.fds[slot] = fd;
		erofs_info(&d->msg, "metrics on %s", tok);
	}
	free(copy);
	return ret;
}

/* reads the request head; its first line in @buf, or -errno */
static int read_request(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t deadline = erofs_now_ms() + HTTP_TIMEOUT_MS;
	size_t n = 0;
	ssize_t r;

	while (n < size - 1) {
		uint64_t now = erofs_now_ms();

		if (now >= deadline || poll(&pfd, 1, deadline - now) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			return r ? -errno : -ECONNRESET;
		n += r;
		buf[n] = '\0';
		/* the head ends with an empty line; HTTP/0.9-style clients stop at one */
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static void write_all(int fd, const char *p, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t deadline = erofs_now_ms() + HTTP_TIMEOUT_MS;
	ssize_t w;

	while (len) {
		uint64_t now = erofs_now_ms();

		if (now >= deadline || poll(&pfd, 1, deadline - now) <= 0)
			return;
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;
		if (w > 0) {
			p += w;
			len -= w;
		}
	}
}

static void respond(int fd, const char *status, const char *type,
		    const char *body, size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, type, len);
	write_all(fd, head, n);
	write_all(fd, body, len);
}

static void serve_one(struct fetchd *d, int fd)
{
	char req[HTTP_REQ_MAX], method[16], path[256], *body = NULL;
	struct fetchd_snapshot *s;
	bool json;
	size_t len = 0;
	FILE *f;

	if (read_request(fd, req, sizeof(req)))
		return;
	if (sscanf(req, "%15s %255s", method, path) != 2) {
		respond(fd, "400 Bad Request", "text/plain", "bad request\n", 12);
		return;
	}
	path[strcspn(path, "?")] = '\0';
	json = !strcmp(path, "/metrics.json");
	if (!json && strcmp(path, "/metrics")) {
		respond(fd, "404 Not Found", "text/plain",
			"try /metrics or /metrics.json\n", 30);
		return;
	}
	if (strcmp(method, "GET")) {
		respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f || fetchd_snapshot_take(d, &s)) {
		if (f)
			fclose(f);
		free(body);
		respond(fd, "503 Service Unavailable", "text/plain", "no memory\n", 10);
		return;
	}
	if (json)
		fetchd_metrics_json(s, f);
	else
		fetchd_metrics_prometheus(s, f);
	fetchd_snapshot_free(s);
	if (fclose(f)) {
		free(body);
		respond(fd, "503 Service Unavailable", "text/plain", "no memory\n", 10);
		return;
	}
	respond(fd, "200 OK", json ? "application/json" :
		"text/plain; version=0.0.4; charset=utf-8", body, len);
	free(body);
}

static void *http_thread(void *arg)
{
	struct fetchd *d = arg;
	struct pollfd pfd[3];
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++)
		pfd[i] = (struct pollfd){ .fd = d->http.fds[i], .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = d->http.stop_pipe[0], .events = POLLIN };
	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			erofs_err(&d->msg, "metrics: poll: %s", strerror(errno));
			break;
		}
		if (pfd[2].revents)
			break;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			serve_one(d, fd);
			close(fd);
		}
	}
	return NULL;
}

int fetchd_http_start(struct fetchd *d)
{
	int ret;

	d->http.fds[0] = d->http.fds[1] = -1;
	d->http.stop_pipe[0] = d->http.stop_pipe[1] = -1;
	if (!d->o.metrics)
		return 0;
	ret = http_listen(d, d->o.metrics);
	if (!ret && pipe2(d->http.stop_pipe, O_CLOEXEC))
		ret = -errno;
	if (!ret && pthread_create(&d->http.thread, NULL, http_thread, d))
		ret = -EAGAIN;
	if (ret) {
		fetchd_http_stop(d);
		return ret;
	}
	d->http.running = true;
	return 0;
}

void fetchd_http_stop(struct fetchd *d)
{
	unsigned int i;

	if (d->http.running) {
		if (write(d->http.stop_pipe[1], "x", 1) == 1)
			pthread_join(d->http.thread, NULL);
		d->http.running = false;
	}
	for (i = 0; i < 2; i++) {
		if (d->http.fds[i] >= 0)
			close(d->http.fds[i]);
		d->http.fds[i] = -1;
		if (d->http.stop_pipe[i] >= 0)
			close(d->http.stop_pipe[i]);
		d->http.stop_pipe[i] = -1;
	}
	if (d->http.unix_path) {
		unlink(d->http.unix_path);
		free(d->http.unix_path);
		d->http.unix_path = NULL;
	}
}
