/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fixed pool of threads running jobs in any order. */
#ifndef EROFS_WORKQUEUE_H
#define EROFS_WORKQUEUE_H

#include <pthread.h>
#include "erofs/defs.h"

struct erofs_work {
	void (*fn)(struct erofs_work *work, void *worker_priv);
	struct erofs_work *next;
};

struct erofs_workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct erofs_work *head, **tail;
	pthread_t *threads;
	unsigned int nr_threads;
	bool stopping;
	/* per-thread state, made and freed on the worker's own thread */
	void *(*worker_init)(void *arg);
	void (*worker_exit)(void *priv);
	void *arg;
};

int erofs_workqueue_init(struct erofs_workqueue *wq, unsigned int nr_threads,
			 void *(*worker_init)(void *arg),
			 void (*worker_exit)(void *priv), void *arg);
void erofs_workqueue_add(struct erofs_workqueue *wq, struct erofs_work *work);
/* runs the queued jobs to the end and joins the threads */
void erofs_workqueue_exit(struct erofs_workqueue *wq);

#endif
