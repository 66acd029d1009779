// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A stand-in for the cachefiles kernel side, for host tests of the
 * erofs-fetch daemon: runs "erofs-fetch --devfd=N ARGS..." with N one end
 * of a SOCK_SEQPACKET pair (one write, one message, as the device) and
 * sends it the requests read from stdin, one a line:
 *
 *	open OBJECT FILE VOLUME COOKIE	OPEN; its answer: "copen RESULT"
 *	read OBJECT OFFSET LENGTH	READ
 *	close OBJECT			CLOSE
 *
 * FILE indexes the -f PATH files, opened before the daemon starts so that
 * it inherits them: the kernel would install an anonymous fd instead.
 * At the end of stdin the daemon gets SIGTERM; cfkernel exits with its
 * exit status.  What else the daemon writes goes to stderr as "cmd: ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "erofs/cachefiles.h"

#define MAX_FILES	16

static int sock;
static unsigned int next_msg = 1;

static void send_msg(uint32_t op, uint32_t obj, const void *payload,
		     size_t len)
{
	uint8_t buf[CACHEFILES_MSG_MAX_SIZE];
	struct cachefiles_msg h = {
		.msg_id = next_msg++, .opcode = op,
		.len = sizeof(h) + len, .object_id = obj,
	};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	if (write(sock, buf, h.len) != (ssize_t)h.len) {
		perror("cfkernel: write");
		exit(1);
	}
}

/*
 * Everything the daemon writes, as it comes: copen answers on stdout,
 * other commands (bind, inuse, cull) on stderr.
 */
static void *reader(void *arg)
{
	char cmd[600];
	ssize_t n;

	while ((n = read(sock, cmd, sizeof(cmd) - 1)) > 0) {
		cmd[n] = '\0';
		if (!strncmp(cmd, "copen ", 6) && strchr(cmd, ','))
			printf("copen %s\n", strchr(cmd, ',') + 1);
		else
			fprintf(stderr, "cmd: %s\n", cmd);
		fflush(stdout);
	}
	return NULL;
}

static void do_open(uint32_t obj, int fd, const char *vol, const char *cookie)
{
	uint8_t p[CACHEFILES_MSG_MAX_SIZE - sizeof(struct cachefiles_msg)];
	struct cachefiles_open o = {
		.volume_key_size = strlen(vol) + 1,
		.cookie_key_size = strlen(cookie),
		.fd = fd,
	};
	size_t n = sizeof(o);

	memcpy(p, &o, sizeof(o));
	memcpy(p + n, vol, o.volume_key_size);
	n += o.volume_key_size;
	memcpy(p + n, cookie, o.cookie_key_size);
	n += o.cookie_key_size;
	send_msg(CACHEFILES_OP_OPEN, obj, p, n);
}

static int run(int *fds, unsigned int nr_files)
{
	char line[1024], vol[300], cookie[300];
	unsigned long long a, b;
	unsigned int obj, idx;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "open %u %u %299s %299s", &obj, &idx, vol, cookie) == 4) {
			if (idx >= nr_files)
				return fprintf(stderr, "cfkernel: no file %u\n", idx), 1;
			do_open(obj, fds[idx], vol, cookie);
		} else if (sscanf(line, "read %u %llu %llu", &obj, &a, &b) == 3) {
			struct cachefiles_read r = { .off = a, .len = b };

			send_msg(CACHEFILES_OP_READ, obj, &r, sizeof(r));
		} else if (sscanf(line, "close %u", &obj) == 1) {
			send_msg(CACHEFILES_OP_CLOSE, obj, NULL, 0);
		} else {
			return fprintf(stderr, "cfkernel: bad line: %s", line), 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int sv[2], fds[MAX_FILES], status, c, i;
	unsigned int nr_files = 0;
	char devfd[32];
	pthread_t thr;
	pid_t pid;

	while ((c = getopt(argc, argv, "+f:")) != -1) {
		if (c != 'f' || nr_files == MAX_FILES)
			return fprintf(stderr, "usage: cfkernel [-f FILE]... -- erofs-fetch ARGS...\n"), 2;
		fds[nr_files] = open(optarg, O_RDWR | O_CREAT, 0644);
		if (fds[nr_files] < 0)
			return perror(optarg), 1;
		nr_files++;
	}
	if (optind >= argc)
		return fprintf(stderr, "cfkernel: no daemon to run\n"), 2;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return perror("socketpair"), 1;
	pid = fork();
	if (!pid) {
		close(sv[0]);
		snprintf(devfd, sizeof(devfd), "--devfd=%d", sv[1]);
		char **args = calloc(argc - optind + 2, sizeof(*args));

		args[0] = argv[optind];
		args[1] = devfd;
		for (i = optind + 1; i < argc; i++)
			args[i - optind + 1] = argv[i];
		setenv("EROFS_FETCH_TEST_FAKE_DEVICE", "1", 1);
		execv(args[0], args);
		perror(args[0]);
		_exit(127);
	}
	close(sv[1]);
	for (i = 0; i < (int)nr_files; i++)
		close(fds[i]);		/* the numbers stay valid in the daemon */
	sock = sv[0];
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&thr, NULL, reader, NULL))
		return 1;
	c = run(fds, nr_files);
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	/* the daemon's end of the socket is closed: the reader ends */
	pthread_join(thr, NULL);
	if (c)
		return c;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
