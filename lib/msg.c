// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "erofs/print.h"

static const char *const level_tags[] = {
	[EROFS_MSG_ERR] = "error: ",
	[EROFS_MSG_WARN] = "warning: ",
	[EROFS_MSG_INFO] = "",
	[EROFS_MSG_DEBUG] = "debug: ",
};

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

	if (lvl != EROFS_MSG_ERR && (int)lvl > m->level)
		return;
	/* one line per message, even from several threads at once */
	flockfile(stderr);
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
