// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include "erofs/workqueue.h"

static struct erofs_work *take_work(struct erofs_workqueue *wq)
{
	struct erofs_work *w;

	pthread_mutex_lock(&wq->lock);
	while (!wq->head && !wq->stopping)
		pthread_cond_wait(&wq->cond, &wq->lock);
	w = wq->head;
	if (w) {
		wq->head = w->next;
		if (!wq->head)
			wq->tail = &wq->head;
	}
	pthread_mutex_unlock(&wq->lock);
	return w;
}

static void *worker_main(void *arg)
{
	struct erofs_workqueue *wq = arg;
	void *priv = wq->worker_init ? wq->worker_init(wq->arg) : NULL;
	struct erofs_work *w;

	while ((w = take_work(wq)))
		w->fn(w, priv);
	if (wq->worker_exit)
		wq->worker_exit(priv);
	return NULL;
}

int erofs_workqueue_init(struct erofs_workqueue *wq, unsigned int nr_threads,
			 void *(*worker_init)(void *arg),
			 void (*worker_exit)(void *priv), void *arg)
{
	unsigned int i;

	wq->head = NULL;
	wq->tail = &wq->head;
	wq->stopping = false;
	wq->worker_init = worker_init;
	wq->worker_exit = worker_exit;
	wq->arg = arg;
	wq->threads = calloc(nr_threads, sizeof(*wq->threads));
	if (!wq->threads)
		return -ENOMEM;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	for (i = 0; i < nr_threads; i++)
		if (pthread_create(&wq->threads[i], NULL, worker_main, wq))
			break;
	wq->nr_threads = i;
	if (i < nr_threads) {
		erofs_workqueue_exit(wq);
		return -EAGAIN;
	}
	return 0;
}

void erofs_workqueue_add(struct erofs_workqueue *wq, struct erofs_work *work)
{
	work->next = NULL;
	pthread_mutex_lock(&wq->lock);
	*wq->tail = work;
	wq->tail = &work->next;
	pthread_cond_signal(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

void erofs_workqueue_exit(struct erofs_workqueue *wq)
{
	unsigned int i;

	pthread_mutex_lock(&wq->lock);
	wq->stopping = true;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	for (i = 0; i < wq->nr_threads; i++)
		pthread_join(wq->threads[i], NULL);
	free(wq->threads);
	wq->threads = NULL;
	pthread_mutex_destroy(&wq->lock);
	pthread_cond_destroy(&wq->cond);
}
