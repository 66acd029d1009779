// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/print.h"

static const char *const level_tags[] = {
	[EROFS_MSG_ERR] = "error: ",
	[EROFS_MSG_WARN] = "warning: ",
	[EROFS_MSG_INFO] = "",
	[EROFS_MSG_DEBUG] = "debug: ",
};

static const char *const level_names[] = {
	[EROFS_MSG_ERR] = "error",
	[EROFS_MSG_WARN] = "warn",
	[EROFS_MSG_INFO] = "info",
	[EROFS_MSG_DEBUG] = "debug",
};

/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char level_prio[] = {
	[EROFS_MSG_ERR] = '3',
	[EROFS_MSG_WARN] = '4',
	[EROFS_MSG_INFO] = '6',
	[EROFS_MSG_DEBUG] = '7',
};

int erofs_msg_level_parse(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++)
		if (!strcmp(name, level_names[i]))
			return i;
	if (!strcmp(name, "warning"))
		return EROFS_MSG_WARN;
	return -EINVAL;
}

const char *erofs_msg_level_name(int level)
{
	if (level < EROFS_MSG_ERR)
		level = EROFS_MSG_ERR;
	if (level > EROFS_MSG_DEBUG)
		level = EROFS_MSG_DEBUG;
	return level_names[level];
}

bool erofs_msg_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/* "2026-01-31T12:34:56.789Z ": wall clock, so that logs of nodes line up */
static void print_time(FILE *f)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%03ldZ ", buf, ts.tv_nsec / 1000000);
}

int erofs_msg_level_from_debug(unsigned int n)
{
	if (n >= 7)
		return EROFS_MSG_DEBUG;
	if (n >= 3)
		return EROFS_MSG_INFO;
	return n == 2 ? EROFS_MSG_WARN : EROFS_MSG_ERR;
}

void erofs_msg_print(const struct erofs_msg *m, enum erofs_msg_level lvl,
		     const char *fmt, ...)
{
	va_list ap;

	/* a daemon may change the level while other threads log */
	if (lvl != EROFS_MSG_ERR &&
	    (int)lvl > __atomic_load_n(&m->level, __ATOMIC_RELAXED))
		return;
	/* one line per message, even from several threads at once */
	flockfile(stderr);
	if (m->flags & EROFS_MSG_JOURNAL)
		fprintf(stderr, "<%c>", level_prio[lvl]);
	else if (m->flags & EROFS_MSG_TIME)
		print_time(stderr);
	if (m->flags & (EROFS_MSG_JOURNAL | EROFS_MSG_TIME))
		fprintf(stderr, "%s: %s: ", m->prog, level_names[lvl]);
	else
		fprintf(stderr, "%s: %s", m->prog, level_tags[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

uint64_t erofs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

void erofs_progress_init(struct erofs_progress *p, const char *prog,
			 bool allowed)
{
	p->prog = prog;
	p->enabled = allowed && isatty(STDERR_FILENO);
	p->drawn = false;
	p->last_ms = 0;
}

/* redraws at most ten times a second so that progress never costs time */
void erofs_progress_update(struct erofs_progress *p, const char *what,
			   uint64_t done, uint64_t total)
{
	uint64_t now;

	if (!p->enabled)
		return;
	now = erofs_now_ms();
	if (p->drawn && now - p->last_ms < 100 && done != total)
		return;
	p->last_ms = now;
	p->drawn = true;
	if (total)
		fprintf(stderr, "\r\033[K%s: %s %llu/%llu (%llu%%)", p->prog,
			what, (unsigned long long)done,
			(unsigned long long)total,
			(unsigned long long)(done * 100 / total));
	else
		fprintf(stderr, "\r\033[K%s: %s %llu", p->prog, what,
			(unsigned long long)done);
}

void erofs_progress_done(struct erofs_progress *p)
{
	if (p->drawn)
		fputs("\r\033[K", stderr);
	p->drawn = false;
}
