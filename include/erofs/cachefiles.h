/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cachefiles on-demand protocol (Linux 5.19+, "restore" since 6.8),
 * as spoken on /dev/cachefiles by erofs-fetch.  The message layouts and
 * constants below are the kernel's user ABI (include/uapi/linux/
 * cachefiles.h), written out here so the toolkit builds on hosts whose
 * headers predate it; everything is native-endian because the kernel
 * copies its own structures to the daemon on the same machine.
 *
 * Control commands are text lines written to the devnode ("dir PATH",
 * "tag NAME", "bind ondemand", "copen ID,SIZE", "restore"); requests are
 * read one per read(); a READ is answered with an ioctl on the object's
 * anonymous fd.
 */
#ifndef EROFS_CACHEFILES_H
#define EROFS_CACHEFILES_H

#include <sys/ioctl.h>
#include <sys/types.h>
#include "erofs/defs.h"

/* the kernel never sends a larger message; one read() returns one message */
#define CACHEFILES_MSG_MAX_SIZE		1024

enum cachefiles_opcode {
	CACHEFILES_OP_OPEN	= 0,
	CACHEFILES_OP_CLOSE	= 1,
	CACHEFILES_OP_READ	= 2,
};

/* header of every request; @len counts the header and its payload */
struct cachefiles_msg {
	uint32_t msg_id;	/* unique among pending requests */
	uint32_t opcode;	/* enum cachefiles_opcode */
	uint32_t len;
	uint32_t object_id;	/* unique per open cache file */
	uint8_t data[];
};

/*
 * OPEN payload: @data holds the volume key (NUL-terminated, @volume_key_size
 * bytes with the NUL) and then the binary cookie key.  @fd is an anonymous
 * fd of the cache file, already installed in the reading process.
 */
struct cachefiles_open {
	uint32_t volume_key_size;
	uint32_t cookie_key_size;
	uint32_t fd;
	uint32_t flags;
	uint8_t data[];
};

/* READ payload: the range the kernel found missing */
struct cachefiles_read {
	uint64_t off;
	uint64_t len;
};

/* READ completion: ioctl(anon_fd, CACHEFILES_IOC_READ_COMPLETE, msg_id) */
#define CACHEFILES_IOC_READ_COMPLETE	_IOW(0x98, 1, int)

_Static_assert(sizeof(struct cachefiles_msg) == 16, "cachefiles_msg ABI");
_Static_assert(sizeof(struct cachefiles_open) == 16, "cachefiles_open ABI");
_Static_assert(sizeof(struct cachefiles_read) == 16, "cachefiles_read ABI");

/* ---- liberofs helpers (lib/cachefiles.c) ---- */

/* cookie keys are at most 255 bytes in fscache; volume keys likewise */
#define EROFS_CF_KEY_MAX	256

/* one request, validated and decoded from the bytes read() returned */
struct erofs_cf_req {
	uint32_t msg_id;
	uint32_t opcode;
	uint32_t object_id;
	union {
		struct {
			int fd;			/* anonymous fd, owned by the caller */
			uint32_t flags;
			/* volume key without its NUL, e.g. "erofs,myfsid" */
			char volume[EROFS_CF_KEY_MAX];
			/* cookie key bytes, NUL-terminated for convenience */
			char cookie[EROFS_CF_KEY_MAX];
			uint32_t cookie_len;
		} open;
		struct {
			uint64_t off;
			uint64_t len;
		} read;
	};
};

/*
 * Decodes one message.  -EBADMSG when the lengths are inconsistent (the
 * header's len differs from @n, a key overruns the message or a fixed
 * payload is short), -EOPNOTSUPP for an opcode this version does not
 * know (the header fields are filled in either case, so the caller can
 * still log it).  An OPEN's anonymous fd is always reported in @req even
 * on -EBADMSG when the payload reached that far, so it can be closed.
 */
int erofs_cf_parse(const void *buf, size_t n, struct erofs_cf_req *req);

/* true when the cookie key is a printable name usable as an object key */
bool erofs_cf_key_printable(const struct erofs_cf_req *req);

/* "OPEN", "CLOSE", "READ" or "op#N" */
const char *erofs_cf_opname(uint32_t opcode);

/* open the devnode (O_RDWR | O_CLOEXEC); -errno */
int erofs_cf_open_devnode(const char *path);
/* write one control command (without newline); -errno from the kernel */
int erofs_cf_command(int devfd, const char *fmt, ...) EROFS_PRINTF(2, 3);
/*
 * dir + tag + "bind ondemand".  -EBUSY (or -EEXIST from "dir") means the
 * cache behind @devfd is already bound: an adopted fd after failover.
 */
int erofs_cf_bind(int devfd, const char *dir, const char *tag);
/* re-send the requests a previous daemon read but never completed (6.8+) */
int erofs_cf_restore(int devfd);
/* answer an OPEN: @size_or_err >= 0 is the object size, < 0 a -errno */
int erofs_cf_copen(int devfd, uint32_t msg_id, int64_t size_or_err);
/* finish a READ: data (if any) must already be written through @anon_fd */
int erofs_cf_read_complete(int anon_fd, uint32_t msg_id);
/*
 * Read one request into @buf (at least CACHEFILES_MSG_MAX_SIZE bytes):
 * its length, 0 when another reader took it first, or -errno.
 */
ssize_t erofs_cf_read_msg(int devfd, void *buf, size_t size);

#endif
