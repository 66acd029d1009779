// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: opens the input as an image (through a memfd, the
 * same path as a file) and runs the whole check over it, data included,
 * then what dump.erofs parses: compression configs, statistics (every
 * extent, the LZ4 stream sizes), path lookup and the cache walk.
 * Any crash, leak, sanitizer report or hang is a bug in the reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "erofs/cachemap.h"
#include "erofs/check.h"
#include "erofs/features.h"
#include "erofs/stats.h"

static int memfd_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("erofs-fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += n;
	}
	return fd;
}

/* what dump.erofs -s, -S, --pcpubuf, --path and --cache parse */
static int dump_visit(void *arg, const char *path,
		      const struct erofs_inode_info *vi, bool first)
{
	struct erofs_image *img = arg;
	struct erofs_ranges r[4] = { { 0 } };
	unsigned int i;

	(void)path;
	if (first && img->nr_devs <= 4)
		erofs_content_ranges(img, vi, r);
	for (i = 0; i < 4; i++)
		erofs_ranges_free(&r[i]);
	return 0;
}

static void run_dump(struct erofs_image *img)
{
	struct erofs_compr_cfg cfgs[EROFS_MAX_COMPR_CFGS];
	struct erofs_stats_opts opts = { .page_size = 4096 };
	struct erofs_kver_req k;
	struct erofs_stats st;
	struct erofs_walk w;
	uint64_t nid;

	erofs_read_compr_cfgs(img, cfgs, EROFS_MAX_COMPR_CFGS);
	erofs_min_kernel(img, 4096, true, &k);
	erofs_stats_collect(img, &opts, &st);
	erofs_lookup_path(img, "/x/a", &nid);
	erofs_walk_tree(&w, img, img->root_nid, "/", dump_visit, img);
	erofs_walk_exit(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct erofs_msg msg = { .prog = "fsck-fuzzer", .level = 0 };
	struct erofs_check_opts opts = { .quiet = true };
	struct erofs_image img = { 0 };
	struct erofs_check chk;
	int fd = memfd_of(data, size);

	if (fd < 0)
		return 0;
	if (!erofs_check_init(&chk, &img, &msg, &opts)) {
		if (!erofs_image_open_fd(&img, &msg, fd, "fuzz-input")) {
			erofs_check_run(&chk);
			run_dump(&img);
			erofs_image_close(&img);
		}
		erofs_check_exit(&chk);
	}
	close(fd);
	return 0;
}
