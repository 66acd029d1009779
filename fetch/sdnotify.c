// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The two bits of the systemd protocol erofs-fetch needs, without
 * libsystemd: readiness notification, and the file descriptor store that
 * keeps /dev/cachefiles open (so the cache stays bound) across a daemon
 * crash and restart.  Both are no-ops outside systemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "daemon.h"

#define SD_LISTEN_FDS_START	3

/* the fd systemd passed back under FDNAME @name, or -ENOENT */
int fetchd_sd_listen_fd(const char *name)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	size_t len = strlen(name);
	int i, n;

	if (!pid || !nfds || atol(pid) != (long)getpid())
		return -ENOENT;
	n = atoi(nfds);
	for (i = 0; names && i < n; i++) {
		if (!strncmp(names, name, len) &&
		    (names[len] == ':' || names[len] == '\0')) {
			fcntl(SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC);
			return SD_LISTEN_FDS_START + i;
		}
		names = strchr(names, ':');
		if (names)
			names++;
	}
	return -ENOENT;
}

/* send @state to $NOTIFY_SOCKET, with @fd attached when >= 0 */
int fetchd_sd_notify(const char *state, int fd)
{
	const char *path = getenv("NOTIFY_SOCKET");
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { (void *)state, strlen(state) };
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	size_t plen;
	int s, ret = 0;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return 0;
	plen = strlen(path);
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	mh.msg_namelen = offsetof(struct sockaddr_un, sun_path) + plen;
	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		ret = -errno;
	close(s);
	return ret;
}
