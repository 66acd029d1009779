// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch: the cachefiles on-demand daemon, and "erofs-fetch get" to
 * fill a cache file without a kernel.  Both fetch through lib/source*.c;
 * libcurl is initialised here, once, because curl_global_init() is not
 * thread-safe and the library must not own process-wide state.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "daemon.h"
#include "get.h"

int main(int argc, char **argv)
{
	int ret;

	/*
	 * Handles are used with CURLOPT_NOSIGNAL (threads), so a peer that
	 * closes a TLS connection under a write must not kill the process.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "erofs-fetch: error: cannot initialise libcurl\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "get"))
		ret = erofs_fetch_get_main(argc - 1, argv + 1);
	else
		ret = erofs_fetch_daemon_main(argc, argv);
	curl_global_cleanup();
	return ret;
}
