// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File data for the whole-image check, read on several threads.
 *
 * The walk stays on one thread: it reads inodes, directories and xattrs,
 * maps each file once and cuts its extents into pieces of about
 * PIECE_BYTES.  Workers decode (and, when extracting, write) the pieces,
 * each through its own view of the image with its own grow-only
 * decoding buffers, as the kernel's per-CPU buffers are.  Pieces are
 * emitted strictly in the order they were queued: a piece's problems,
 * then whatever the walk reported after queueing it.  So every line,
 * count and listed problem comes out as it would with one thread, for
 * any number of workers.  At most max_in_flight pieces (and so as many
 * open files) are queued; the walk waits for the oldest beyond that.
 */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "erofs/util.h"
#include "erofs/workqueue.h"
#include "check_priv.h"

#define PIECE_BYTES		(1U << 20)	/* mapped data per piece */
#define READ_BYTES		(1U << 20)	/* per read into a worker's buffer */
#define PIECES_PER_WORKER	16

struct check_line {
	enum check_level level;
	char *text;
};

struct check_lines {
	struct check_line *v;
	size_t nr, cap;
};

struct check_piece {
	struct erofs_work work;
	struct check_file *file;
	size_t first_map;		/* the map holding @start */
	uint64_t start, end;		/* bytes of the file */
	bool last;			/* of its file */
	/* the worker's */
	int err;
	unsigned int missing_dev;
	uint64_t bytes;
	struct check_lines found;	/* what the reader reported */
	bool done;			/* under the lock when threaded */
	/* the walk's lines reported after this piece was queued */
	struct check_lines after;
	struct check_piece *next;
};

struct check_worker {
	struct erofs_check_par *par;
	struct erofs_image view;
	uint8_t *buf;			/* grown, never shrunk */
	size_t buf_size;
	struct check_piece *cur;
};

struct erofs_check_par {
	struct erofs_check *chk;
	bool threaded;
	struct erofs_workqueue wq;
	struct check_worker *workers;
	unsigned int nr_workers;
	unsigned int next_worker;	/* handed out to the threads */
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct check_piece *head, *tail;	/* in queueing order */
	size_t in_flight, max_in_flight;
	/* a piece is being emitted: what is said now is said in its place */
	bool emitting;
};

static int lines_add(struct check_lines *l, enum check_level level,
		     const char *text)
{
	char *copy;

	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct check_line *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	l->v[l->nr++] = (struct check_line){ .level = level, .text = copy };
	return 0;
}

static void lines_free(struct check_lines *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* --- the workers --- */

/* the reader's corruption messages, kept for the piece being read */
static void worker_report(void *arg, const char *text)
{
	struct check_worker *w = arg;

	/* without memory the error still fails the file */
	if (w->cur)
		lines_add(&w->cur->found, CHECK_ERROR, text);
}

/* decodes (and writes out) bytes [start, end) of the piece's file */
static void run_piece(struct check_worker *w, struct check_piece *p)
{
	const struct check_file *f = p->file;
	const struct erofs_check_maps *mp = &f->maps;
	struct erofs_extract *ex = w->par->chk->opts.extract;
	size_t i = p->first_map;
	uint64_t off = p->start;
	int err = 0;

	w->cur = p;
	while (off < p->end && !err) {
		const struct erofs_map *m;
		uint64_t end;
		size_t n;

		while (i < mp->nr && off - mp->v[i].la >= mp->v[i].llen)
			i++;
		if (i >= mp->nr) {	/* the walk mapped all of the file */
			err = -EIO;
			break;
		}
		m = &mp->v[i];
		end = MIN(m->la + m->llen, p->end);
		if (!(m->flags & EROFS_MAP_MAPPED)) {
			off = end;	/* a hole: nothing to read or write */
			continue;
		}
		n = MIN(end - off, READ_BYTES);
		err = erofs_reserve(&w->buf, &w->buf_size, n);
		if (!err)
			err = erofs_read_mapped(&w->view, &f->vi, m, w->buf, n,
						off);
		if (!err && f->fd >= 0)
			err = erofs_extract_write(ex, f->fd, f->path, w->buf,
						  n, off);
		if (!err) {
			p->bytes += n;
			off += n;
		}
	}
	p->err = err;
	p->missing_dev = w->view.missing_dev;
	w->cur = NULL;
}

static void piece_work(struct erofs_work *work, void *priv)
{
	struct check_piece *p = (struct check_piece *)work;
	struct check_worker *w = priv;

	run_piece(w, p);
	pthread_mutex_lock(&w->par->lock);
	p->done = true;
	pthread_cond_signal(&w->par->done);
	pthread_mutex_unlock(&w->par->lock);
}

/* each thread takes one of the views made before the threads started */
static void *worker_init(void *arg)
{
	struct erofs_check_par *par = arg;
	unsigned int i = __atomic_fetch_add(&par->next_worker, 1,
					    __ATOMIC_RELAXED);

	return &par->workers[i];
}

static void workers_free(struct erofs_check_par *par)
{
	unsigned int i;

	for (i = 0; i < par->nr_workers; i++) {
		erofs_image_view_exit(&par->workers[i].view);
		free(par->workers[i].buf);
	}
	free(par->workers);
}

static int par_start(struct erofs_check *chk)
{
	unsigned int nr = MAX(chk->opts.workers, 1U), i;
	struct erofs_check_par *par = calloc(1, sizeof(*par));
	int err = 0;

	if (!par)
		return -ENOMEM;
	par->chk = chk;
	par->workers = calloc(nr, sizeof(*par->workers));
	if (!par->workers) {
		free(par);
		return -ENOMEM;
	}
	for (i = 0; i < nr && !err; i++) {
		struct check_worker *w = &par->workers[i];

		err = erofs_image_view_init(&w->view, chk->img);
		w->par = par;
		w->view.report = worker_report;
		w->view.report_arg = w;
		par->nr_workers = i + 1;
	}
	if (err) {
		workers_free(par);
		free(par);
		return err;
	}
	pthread_mutex_init(&par->lock, NULL);
	pthread_cond_init(&par->done, NULL);
	par->max_in_flight = (size_t)nr * PIECES_PER_WORKER;
	/* without threads (or when none can be made), one reads in turn */
	par->threaded = nr > 1 &&
			!erofs_workqueue_init(&par->wq, nr, worker_init, NULL,
					      par);
	chk->par = par;
	return 0;
}

/* --- emitting in queueing order --- */

static void emit_lines(struct erofs_check *chk, struct check_lines *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		check_emit(chk, l->v[i].level, l->v[i].text);
	lines_free(l);
}

static void emit_piece(struct erofs_check *chk, struct check_piece *p)
{
	struct check_file *f = p->file;
	char line[1400];
	size_t i;

	/* as one thread would: a file's reading stops at its first error */
	if (!f->err) {
		for (i = 0; i < p->found.nr; i++) {
			check_place(f->path, f->walking, p->found.v[i].text,
				    line, sizeof(line));
			check_emit(chk, CHECK_ERROR, line);
		}
		chk->stats.data_bytes += p->bytes;
		f->err = p->err;
		f->missing_dev = p->missing_dev;
	}
	lines_free(&p->found);
	if (p->last)
		check_file_finish(chk, f);
	emit_lines(chk, &p->after);
	free(p);
}

static bool piece_done(struct erofs_check_par *par, struct check_piece *p,
		       bool wait)
{
	bool done;

	if (!par->threaded)
		return p->done;
	pthread_mutex_lock(&par->lock);
	while (!p->done && wait)
		pthread_cond_wait(&par->done, &par->lock);
	done = p->done;
	pthread_mutex_unlock(&par->lock);
	return done;
}

/* emits finished pieces from the oldest, waiting while over @limit */
static void emit_ready(struct erofs_check_par *par, size_t limit)
{
	struct check_piece *p;

	while ((p = par->head) &&
	       piece_done(par, p, par->in_flight > limit)) {
		par->head = p->next;
		if (!par->head)
			par->tail = NULL;
		par->in_flight--;
		par->emitting = true;
		emit_piece(par->chk, p);
		par->emitting = false;
	}
}

static void queue_piece(struct erofs_check_par *par, struct check_piece *p)
{
	if (par->tail)
		par->tail->next = p;
	else
		par->head = p;
	par->tail = p;
	par->in_flight++;
	if (!par->threaded) {
		run_piece(&par->workers[0], p);
		p->done = true;
	} else if (p->start == p->end) {
		p->done = true;		/* nothing to read: no thread needed */
	} else {
		p->work.fn = piece_work;
		erofs_workqueue_add(&par->wq, &p->work);
	}
	emit_ready(par, par->threaded ? par->max_in_flight : 0);
}

/*
 * Where the piece starting at @start ends: after about PIECE_BYTES of
 * mapped data.  A compressed extent is never cut (both halves would
 * decode it); any other is; holes cost nothing.  *@i moves to the map
 * holding the end.
 */
static uint64_t piece_end(const struct check_file *f, size_t *i,
			  uint64_t start)
{
	const struct erofs_check_maps *mp = &f->maps;
	uint64_t size = f->vi.size, end = start, cost = 0;

	while (*i < mp->nr && end < size && cost < PIECE_BYTES) {
		const struct erofs_map *m = &mp->v[*i];
		uint64_t mend = MIN(m->la + m->llen, size);

		if (mend <= end) {	/* behind: the walk's maps are ordered */
			(*i)++;
			continue;
		}
		if ((m->flags & EROFS_MAP_MAPPED) &&
		    !(m->flags & EROFS_MAP_ENCODED) &&
		    cost + (mend - end) > PIECE_BYTES)
			return end + (PIECE_BYTES - cost);
		if (m->flags & EROFS_MAP_MAPPED)
			cost += mend - end;
		end = mend;
		(*i)++;
	}
	return end > start && *i < mp->nr ? end : size;
}

int check_par_submit(struct erofs_check *chk, struct check_file *f)
{
	uint64_t start = 0;
	size_t i = 0;
	int err = 0;

	if (!chk->par)
		err = par_start(chk);
	while (!err) {
		struct check_piece *p = calloc(1, sizeof(*p));
		bool last;

		if (!p) {
			err = -ENOMEM;
			break;
		}
		p->file = f;
		p->first_map = i;
		p->start = start;
		p->end = start < f->vi.size ? piece_end(f, &i, start) : start;
		start = p->end;
		/* once the last piece is queued, @f may be gone */
		last = p->last = start >= f->vi.size;
		queue_piece(chk->par, p);
		if (last)
			return 0;
	}
	/* the pieces queued so far are emitted, then the file fails */
	check_par_drain(chk);
	f->err = f->err ?: err;
	check_file_finish(chk, f);
	return 0;
}

bool check_par_defer(struct erofs_check *chk, enum check_level level,
		     const char *line)
{
	struct erofs_check_par *par = chk->par;

	return par && par->tail && !par->emitting &&
	       !lines_add(&par->tail->after, level, line);
}

void check_par_drain(struct erofs_check *chk)
{
	if (chk->par)
		emit_ready(chk->par, 0);
}

void check_par_stop(struct erofs_check *chk)
{
	struct erofs_check_par *par = chk->par;

	if (!par)
		return;
	emit_ready(par, 0);
	if (par->threaded)
		erofs_workqueue_exit(&par->wq);
	workers_free(par);
	pthread_mutex_destroy(&par->lock);
	pthread_cond_destroy(&par->done);
	free(par);
	chk->par = NULL;
}
