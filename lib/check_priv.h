/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Between the walk (check.c) and the threads that read file data for it
 * (check_parallel.c).  The walk maps each file once and hands its data to
 * the workers in pieces; whatever the walk and the pieces report comes
 * out in walk order, whatever the number of workers.
 */
#ifndef EROFS_CHECK_PRIV_H
#define EROFS_CHECK_PRIV_H

#include "erofs/check.h"
#include "erofs/extract.h"

enum check_level {
	CHECK_ERROR,		/* a problem of the image: counted, listed */
	CHECK_WARN,		/* counted as a warning */
	CHECK_NOTE,		/* said only: "not fully checked" */
};

/* a regular file (or a hidden inode) whose data the workers read */
struct check_file {
	struct erofs_inode_info vi;
	struct erofs_check_maps maps;
	char *path;			/* where the walk found it, "/a/b" */
	char *name;			/* its name in its parent, for extraction */
	bool walking;			/* reached from the root: see place */
	int fd;				/* extraction: the file, else -1 */
	bool created;			/* extraction: attrs to set at the end */
	struct erofs_extract_attrs attrs;
	unsigned int pieces;		/* not yet emitted */
	int err;			/* the first error of its pieces */
	unsigned int missing_dev;	/* with -ENODEV: which device */
};

/* check.c: a line said in walk order (stats counted, printed, listed) */
void check_emit(struct erofs_check *chk, enum check_level level,
		const char *line);
/* check.c: "PATH: TEXT" for what was found at @path */
void check_place(const char *path, bool walking, const char *text,
		 char *line, size_t size);
/* check.c: the file's pieces are all emitted: size, attributes, errors */
void check_file_finish(struct erofs_check *chk, struct check_file *f);
void check_file_free(struct check_file *f);

/*
 * Hands @f's data to the workers (or, with one, reads it at once); @f
 * is the workers' until check_file_finish() is called on it, in walk
 * order.  Nonzero only when the work could not even be queued.
 */
int check_par_submit(struct erofs_check *chk, struct check_file *f);
/*
 * A line the walk reports: kept behind the pieces still in flight so
 * that it comes out in walk order; false when nothing is in flight and
 * the caller says it at once.
 */
bool check_par_defer(struct erofs_check *chk, enum check_level level,
		     const char *line);
/* waits for every piece and emits it; the workers stay for more */
void check_par_drain(struct erofs_check *chk);
/* drains, stops the workers and frees them */
void check_par_stop(struct erofs_check *chk);

#endif
