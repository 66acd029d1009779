// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cachefiles on-demand protocol: decoding requests and sending the
 * control commands.  Stateless: the daemon keeps its objects itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "erofs/cachefiles.h"

const char *erofs_cf_opname(uint32_t opcode)
{
	static const char *const names[] = {
		[CACHEFILES_OP_OPEN] = "OPEN",
		[CACHEFILES_OP_CLOSE] = "CLOSE",
		[CACHEFILES_OP_READ] = "READ",
	};

	return opcode < ARRAY_SIZE(names) ? names[opcode] : "op#?";
}

static int parse_open(const uint8_t *p, size_t n, struct erofs_cf_req *req)
{
	struct cachefiles_open load;
	const uint8_t *keys = p + sizeof(load);
	size_t vlen, klen;

	if (n < sizeof(load))
		return -EBADMSG;
	memcpy(&load, p, sizeof(load));
	/* the fd is installed already: hand it back even if the rest is bad */
	req->open.fd = (int)load.fd;
	req->open.flags = load.flags;
	vlen = load.volume_key_size;
	klen = load.cookie_key_size;
	if (vlen > n - sizeof(load) || klen > n - sizeof(load) - vlen)
		return -EBADMSG;
	/* the volume key carries its NUL; anything else is malformed */
	if (!vlen || keys[vlen - 1] != '\0' ||
	    vlen > sizeof(req->open.volume) || klen >= sizeof(req->open.cookie))
		return -EBADMSG;
	memcpy(req->open.volume, keys, vlen);
	memcpy(req->open.cookie, keys + vlen, klen);
	req->open.cookie[klen] = '\0';
	req->open.cookie_len = klen;
	return 0;
}

int erofs_cf_parse(const void *buf, size_t n, struct erofs_cf_req *req)
{
	const uint8_t *p = buf;
	struct cachefiles_msg hdr;
	struct cachefiles_read rd;

	memset(req, 0, sizeof(*req));
	req->open.fd = -1;
	if (n < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, p, sizeof(hdr));
	req->msg_id = hdr.msg_id;
	req->opcode = hdr.opcode;
	req->object_id = hdr.object_id;
	if (hdr.len != n)
		return -EBADMSG;
	p += sizeof(hdr);
	n -= sizeof(hdr);

	switch (hdr.opcode) {
	case CACHEFILES_OP_OPEN:
		return parse_open(p, n, req);
	case CACHEFILES_OP_CLOSE:
		return 0;
	case CACHEFILES_OP_READ:
		if (n < sizeof(rd))
			return -EBADMSG;
		memcpy(&rd, p, sizeof(rd));
		if (rd.off + rd.len < rd.off)
			return -EBADMSG;
		req->read.off = rd.off;
		req->read.len = rd.len;
		return 0;
	}
	return -EOPNOTSUPP;
}

bool erofs_cf_key_printable(const struct erofs_cf_req *req)
{
	uint32_t i;

	if (!req->open.cookie_len)
		return false;
	for (i = 0; i < req->open.cookie_len; i++) {
		unsigned char c = req->open.cookie[i];

		/* a key becomes a file name or a URL path component */
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '\\')
			return false;
	}
	return strcmp(req->open.cookie, ".") && strcmp(req->open.cookie, "..");
}

int erofs_cf_open_devnode(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int erofs_cf_command(int devfd, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(cmd))
		return -ENAMETOOLONG;
	/* the kernel parses one whole command per write() */
	do {
		n = write(devfd, cmd, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

int erofs_cf_bind(int devfd, const char *dir, const char *tag)
{
	int ret;

	ret = erofs_cf_command(devfd, "dir %s", dir);
	if (ret)
		return ret;
	if (tag) {
		ret = erofs_cf_command(devfd, "tag %s", tag);
		if (ret)
			return ret;
	}
	return erofs_cf_command(devfd, "bind ondemand");
}

int erofs_cf_restore(int devfd)
{
	return erofs_cf_command(devfd, "restore");
}

int erofs_cf_copen(int devfd, uint32_t msg_id, int64_t size_or_err)
{
	return erofs_cf_command(devfd, "copen %u,%lld", msg_id,
				(long long)size_or_err);
}

int erofs_cf_read_complete(int anon_fd, uint32_t msg_id)
{
	int ret;

	ret = ioctl(anon_fd, CACHEFILES_IOC_READ_COMPLETE, (unsigned long)msg_id);
	return ret < 0 ? -errno : 0;
}

ssize_t erofs_cf_read_msg(int devfd, void *buf, size_t size)
{
	ssize_t n;

	do {
		n = read(devfd, buf, size);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}
