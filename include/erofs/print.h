/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages.  Every library entry point takes the context it reports
 * through, so two builds in one process never share a verbosity or a name.
 */
#ifndef EROFS_PRINT_H
#define EROFS_PRINT_H

#include "erofs/defs.h"

enum erofs_msg_level {
	EROFS_MSG_ERR,		/* always shown */
	EROFS_MSG_WARN,
	EROFS_MSG_INFO,
	EROFS_MSG_DEBUG,
};

/* how a line is decorated, for daemons whose output is a log */
enum {
	EROFS_MSG_TIME = 1 << 0,	/* UTC timestamp and level on every line */
	EROFS_MSG_JOURNAL = 1 << 1,	/* "<N>" syslog priority first (journald) */
};

struct erofs_msg {
	const char *prog;	/* prefix of every line, e.g. "mkfs.erofs" */
	int level;		/* highest level printed */
	unsigned int flags;	/* EROFS_MSG_TIME, EROFS_MSG_JOURNAL; 0 for tools */
};

/*
 * The message level for erofs-utils' "-d N" (0..9): 0-1 errors only,
 * 2 warnings, 3-6 information, 7-9 debug.
 */
int erofs_msg_level_from_debug(unsigned int n);
/* "error", "warn", "info" or "debug" to a level; -EINVAL otherwise */
int erofs_msg_level_parse(const char *name);
const char *erofs_msg_level_name(int level);
/*
 * True when stderr is the systemd journal's stream (JOURNAL_STREAM names
 * its device and inode): lines then start with "<N>" and carry no time.
 */
bool erofs_msg_stderr_is_journal(void);

void erofs_msg_print(const struct erofs_msg *m, enum erofs_msg_level lvl,
		     const char *fmt, ...) EROFS_PRINTF(3, 4);

#define erofs_err(m, ...)	erofs_msg_print(m, EROFS_MSG_ERR, __VA_ARGS__)
#define erofs_warn(m, ...)	erofs_msg_print(m, EROFS_MSG_WARN, __VA_ARGS__)
#define erofs_info(m, ...)	erofs_msg_print(m, EROFS_MSG_INFO, __VA_ARGS__)
#define erofs_dbg(m, ...)	erofs_msg_print(m, EROFS_MSG_DEBUG, __VA_ARGS__)

/*
 * A progress line redrawn in place on a terminal; silent when the stream
 * is not a terminal so that logs and pipes stay clean.
 */
struct erofs_progress {
	const char *prog;
	bool enabled;
	bool drawn;
	uint64_t last_ms;
};

void erofs_progress_init(struct erofs_progress *p, const char *prog,
			 bool allowed);
void erofs_progress_update(struct erofs_progress *p, const char *what,
			   uint64_t done, uint64_t total);
void erofs_progress_done(struct erofs_progress *p);
uint64_t erofs_now_ms(void);

#endif
