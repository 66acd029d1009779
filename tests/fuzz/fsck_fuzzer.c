// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: opens the input as an image (through a memfd, the
 * same path as a file) and runs the whole check over it, data included.
 * Any crash, leak, sanitizer report or hang is a bug in the reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "erofs/check.h"

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
			erofs_image_close(&img);
		}
		erofs_check_exit(&chk);
	}
	close(fd);
	return 0;
}
