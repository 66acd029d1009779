/* SPDX-License-Identifier: GPL-2.0-or-later */
/* erofs-fetch get: fill a local sparse cache file without a kernel. */
#ifndef EROFS_FETCH_GET_H
#define EROFS_FETCH_GET_H

/* argv[0] is "get"; returns the exit code (0 ok, 1 failed, 2 usage) */
int erofs_fetch_get_main(int argc, char **argv);

#endif
