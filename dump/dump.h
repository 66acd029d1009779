/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dump.erofs: the state of one run, shared by its output files. */
#ifndef DUMP_DUMP_H
#define DUMP_DUMP_H

#include <stdio.h>
#include "erofs/cachemap.h"
#include "erofs/features.h"
#include "erofs/json.h"
#include "erofs/stats.h"

#define PROG	"dump.erofs"

enum {
	EXIT_OK = 0,
	EXIT_DAMAGED = 1,
	EXIT_UNSUPPORTED = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
};

#define MAX_DEVICES	64

struct dump_cfg {
	struct erofs_msg msg;
	const char *image;
	bool json;
	bool super, stats, extents, ls, pcpubuf, cat;
	uint64_t offset;		/* the image's start in its file */
	bool have_nid;
	uint64_t nid;
	const char *path;
	unsigned int cpus, page_size;
	const char *cache;
	const char *devices[MAX_DEVICES];
	unsigned int nr_devices;
	const char *blob_dir;
};

/* what one run prints to and how it went */
struct dump_ctx {
	struct dump_cfg *cfg;
	struct erofs_image img;
	bool opened;
	struct erofs_json js;
	bool json;
	int status;
	struct erofs_stats st;
	bool have_stats;
};

/* main.c */
void note_error(struct dump_ctx *d, int err);
void put_escaped(const char *s, size_t len);
void format_time(int64_t sec, uint32_t nsec, char *buf, size_t len);
const char *type_name(uint32_t mode);
const char *ftype_name(unsigned int ftype);
void mode_string(uint32_t mode, char out[11]);
double ratio(uint64_t num, uint64_t den);
void json_range(struct erofs_json *js, uint64_t start, uint64_t end);
/* the inode --nid or --path names */
int resolve_inode(struct dump_ctx *d, uint64_t *nid, const char **path);

int show_super(struct dump_ctx *d);		/* super.c */
void show_annex(struct dump_ctx *d);		/* annex.c */
int show_inode(struct dump_ctx *d);		/* inode.c */
int cat_inode(struct dump_ctx *d);
int show_stats(struct dump_ctx *d);		/* stats.c */
int show_pcpubuf(struct dump_ctx *d);
int show_cache(struct dump_ctx *d);		/* cache.c */

#endif
