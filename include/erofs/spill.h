/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An append-only scratch file for bytes a build needs again only later
 * (inline tails until the metadata pass, fragments until the packed
 * inode is compressed): memory holds a write buffer and a read window,
 * not the bytes.  Zeroed, a spill is empty and has no file yet.
 */
#ifndef EROFS_SPILL_H
#define EROFS_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct erofs_msg;

struct erofs_spill {
	bool open;			/* the file exists (fd is valid) */
	int fd;
	uint64_t size;			/* bytes appended */
	uint64_t flushed;		/* of which in the file */
	uint8_t *wbuf;			/* [flushed, size) */
	uint8_t *rbuf;			/* a window of the file, for reads */
	uint64_t rstart;
	size_t rlen;
	const char *what;		/* names it in messages */
};

/* appends @len bytes; *@off is where they start */
int erofs_spill_append(struct erofs_spill *s, const struct erofs_msg *msg,
		       const void *buf, size_t len, uint64_t *off);
/* reads @len bytes from @off, which must have been appended */
int erofs_spill_read(struct erofs_spill *s, const struct erofs_msg *msg,
		     void *buf, size_t len, uint64_t off);
/* everything appended is in the file (before its fd is read directly) */
int erofs_spill_flush(struct erofs_spill *s, const struct erofs_msg *msg);
void erofs_spill_close(struct erofs_spill *s);

#endif
