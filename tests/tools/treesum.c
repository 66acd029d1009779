// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * treesum DIR: one line per entry of a tree, in byte order of the path,
 * with everything a reader can observe: type and mode, owner, size,
 * mtime to the nanosecond, link count, device number, symlink target,
 * the sha256 of the contents and of the sorted xattrs.  Built static so
 * the same program runs on the host and inside a minimal qemu guest:
 * two listings are equal exactly when the trees read back equal.
 * Directory sizes are left out (they depend on the filesystem).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "erofs/sha256.h"

static int failures;

/* names may hold any byte but '/' and NUL: print them unambiguously */
static void put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c <= ' ' || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void hex(const uint8_t d[EROFS_SHA256_SIZE])
{
	char h[65];

	erofs_sha256_hex(d, h);
	printf(" %s", h);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void xattr_sum(const char *path)
{
	char *list, *names[512], *p, val[65536];
	struct erofs_sha256 s;
	uint8_t d[EROFS_SHA256_SIZE];
	ssize_t n, v;
	int i, nr = 0;

	n = llistxattr(path, NULL, 0);
	if (n <= 0) {
		printf(" x-");
		return;
	}
	list = malloc(n);
	n = list ? llistxattr(path, list, n) : -1;
	if (n < 0) {
		failures++;
		printf(" x?");
		free(list);
		return;
	}
	for (p = list; p < list + n && nr < 512; p += strlen(p) + 1)
		names[nr++] = p;
	qsort(names, nr, sizeof(*names), cmp_str);
	erofs_sha256_init(&s);
	for (i = 0; i < nr; i++) {
		v = lgetxattr(path, names[i], val, sizeof(val));
		erofs_sha256_update(&s, names[i], strlen(names[i]) + 1);
		if (v >= 0)
			erofs_sha256_update(&s, val, v);
		else
			failures++;
	}
	erofs_sha256_final(&s, d);
	printf(" x%d", nr);
	hex(d);
	free(list);
}

static void file_sum(const char *path)
{
	uint8_t d[EROFS_SHA256_SIZE];

	if (erofs_sha256_file(path, d)) {
		printf(" read-error:%s", strerror(errno));
		failures++;
		return;
	}
	hex(d);
}

static void walk(const char *path, const char *rel)
{
	struct dirent **ents;
	struct stat st;
	char target[4096], *sub, *subrel;
	ssize_t n;
	int i, nr;

	if (lstat(path, &st)) {
		printf("%s lstat-error %s\n", rel, strerror(errno));
		failures++;
		return;
	}
	put_escaped(rel);
	printf(" %o %u:%u %lld.%09ld n%lu", st.st_mode, st.st_uid, st.st_gid,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       S_ISDIR(st.st_mode) ? 0UL : (unsigned long)st.st_nlink);
	if (!S_ISDIR(st.st_mode))
		printf(" s%lld", (long long)st.st_size);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf(" dev%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		printf(" -> ");
		put_escaped(target);
	}
	if (S_ISREG(st.st_mode))
		file_sum(path);
	xattr_sum(path);
	putchar('\n');
	if (!S_ISDIR(st.st_mode))
		return;
	nr = scandir(path, &ents, NULL, alphasort);
	if (nr < 0) {
		printf("%s scandir-error %s\n", rel, strerror(errno));
		failures++;
		return;
	}
	for (i = 0; i < nr; i++) {
		const char *name = ents[i]->d_name;

		if (strcmp(name, ".") && strcmp(name, "..") &&
		    asprintf(&sub, "%s/%s", path, name) > 0 &&
		    asprintf(&subrel, "%s/%s", rel, name) > 0) {
			walk(sub, subrel);
			free(sub);
			free(subrel);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: treesum DIR\n");
		return 2;
	}
	walk(argv[1], ".");
	fflush(stdout);
	if (failures)
		fprintf(stderr, "treesum: %d entries could not be read\n", failures);
	return failures ? 1 : 0;
}
