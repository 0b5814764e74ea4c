/*
 * worker.c: the store worker thread and its two locked queues.
 */
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "varsko/err.h"

/* Most group jobs in one transaction: bounds the work lost to one bad job. */
#define WORKER_GROUP_MAX 64

/* Seconds between the checkpoint thread's PASSIVE checkpoints. */
#define WORKER_CKPT_SECONDS 1

struct worker_queue {
	struct worker_job *head, *tail;
};

/* The commit observer as the worker thread saw it when it took a batch. */
struct worker_hook {
	void (*fn)(void *arg, size_t batch, int64_t commit_us, int result);
	void *arg;
};

struct worker {
	pthread_t thread;
	pthread_mutex_t lock; /* protects pending, finished, stopping, hook, depth, depth_max */
	pthread_cond_t cond;  /* signalled when pending gains a job or stopping is set */
	struct worker_queue pending;
	struct worker_queue finished;
	int stopping;
	size_t depth;     /* jobs submitted and not yet run (queued or in the batch being run) */
	size_t depth_max; /* worker_set_queue_max(); 0: no bound */
	struct store *store; /* borrowed; used only on the worker thread */
	void (*wake)(void *arg);
	void *wake_arg;
	struct worker_hook hook;
	/* The WAL checkpoints, off the commit path (store.h "store_ckpt"); NULL: SQLite's own, in COMMIT. */
	struct store_ckpt *ckpt;
	pthread_t ckpt_thread;
	pthread_cond_t ckpt_cond; /* signalled when stopping is set; on CLOCK_MONOTONIC */
};

static int64_t worker_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* COMMIT the group transaction of `batch` jobs, timed and reported to the observer. */
static int worker_commit(struct worker *w, const struct worker_hook *h, size_t batch)
{
	int64_t t0 = worker_mono_us();
	int r = store_commit(w->store);

	if (h->fn)
		h->fn(h->arg, batch, worker_mono_us() - t0, r);
	return r;
}

static void worker_queue_push(struct worker_queue *q, struct worker_job *j)
{
	j->next_ = NULL;
	if (q->tail)
		q->tail->next_ = j;
	else
		q->head = j;
	q->tail = j;
}

/* Take the whole queue at once: the caller walks it without the lock. */
static struct worker_job *worker_queue_take(struct worker_queue *q)
{
	struct worker_job *all = q->head;

	q->head = q->tail = NULL;
	return all;
}

static void worker_queue_append(struct worker_queue *q, struct worker_job *first, struct worker_job *last)
{
	if (q->tail)
		q->tail->next_ = first;
	else
		q->head = first;
	q->tail = last;
}

/* Run one group job alone in its own transaction (see worker.h). */
static void worker_run_alone(struct worker *w, const struct worker_hook *h, struct worker_job *j)
{
	int r;

	if ((r = store_begin(w->store)) != VARSKO_OK) {
		j->result = r;
		return;
	}
	j->run(j, w->store);
	if (j->result != VARSKO_OK) {
		store_rollback(w->store);
		return;
	}
	if ((r = worker_commit(w, h, 1)) != VARSKO_OK)
		j->result = r;
}

/*
 * Run one job of an open group transaction inside its own savepoint: a job
 * that fails is rolled back to the savepoint alone, and the group keeps the
 * writes of the others. Returns 0 while the transaction is still open, -1
 * when it is gone (see store_savepoint_rollback()): the caller must redo
 * the group.
 */
static int worker_run_in_group(struct worker *w, struct worker_job *j)
{
	if (store_savepoint(w->store) != VARSKO_OK)
		return -1;
	j->run(j, w->store);
	if (j->result == VARSKO_OK)
		return store_savepoint_release(w->store) == VARSKO_OK ? 0 : -1;
	return store_savepoint_rollback(w->store) == VARSKO_OK ? 0 : -1;
}

/*
 * Run the group jobs first..last (inclusive, linked) in one transaction,
 * each in its own savepoint, and COMMIT once. A refused job costs the
 * others nothing. Only when the transaction itself fails (BEGIN, a lost
 * transaction, or COMMIT) are the jobs that were not refused run again,
 * each alone, so nothing is written twice and nothing accepted is lost.
 */
static void worker_run_group(struct worker *w, const struct worker_hook *h, struct worker_job *first,
                             struct worker_job *last)
{
	struct worker_job *stop = last->next_, *j;
	size_t kept = 0;
	int ok = 1;

	if (first == last) {
		worker_run_alone(w, h, first);
		return;
	}
	if (store_begin(w->store) != VARSKO_OK) {
		ok = 0;
	} else {
		for (j = first; j != stop && ok; j = j->next_) {
			ok = worker_run_in_group(w, j) == 0;
			kept += ok && j->result == VARSKO_OK;
		}
		if (ok && kept == 0)
			store_rollback(w->store); /* every job refused: nothing to commit */
		else if (ok && worker_commit(w, h, kept) != VARSKO_OK)
			ok = 0; /* store_commit() rolled back */
		else if (!ok)
			store_rollback(w->store); /* harmless when SQLite already rolled back */
	}
	if (ok)
		return;
	for (j = first; j != stop; j = j->next_) {
		/* A job refused on its own keeps its answer; the others lost their transaction. */
		if (j->result != VARSKO_OK && j->result != VARSKO_ERR_UNAVAILABLE)
			continue;
		j->result = VARSKO_ERR_UNAVAILABLE;
		worker_run_alone(w, h, j);
	}
}

/* Run a batch in order; neighbouring group jobs share a transaction. */
static void worker_run_batch(struct worker *w, const struct worker_hook *h, struct worker_job *batch)
{
	struct worker_job *j = batch;

	while (j) {
		struct worker_job *first = j, *last = j;
		int n = 1;

		if (!j->group || w->store == NULL) {
			j->run(j, w->store);
			j = j->next_;
			continue;
		}
		while (last->next_ && last->next_->group && n < WORKER_GROUP_MAX) {
			last = last->next_;
			n++;
		}
		j = last->next_;
		worker_run_group(w, h, first, last);
	}
}

/*
 * The thread: take every queued job, run them in order without holding the
 * lock, publish them as one batch and wake the event loop once per batch.
 * It leaves only when stopping is set and the queue is empty, so queued
 * jobs are never dropped.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		struct worker_job *batch, *last = NULL;
		struct worker_hook hook;

		pthread_mutex_lock(&w->lock);
		while (w->pending.head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->pending.head == NULL && w->stopping) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		batch = worker_queue_take(&w->pending);
		hook = w->hook;
		pthread_mutex_unlock(&w->lock);

		worker_run_batch(w, &hook, batch);
		for (struct worker_job *j = batch; j; j = j->next_)
			last = j;

		pthread_mutex_lock(&w->lock);
		worker_queue_append(&w->finished, batch, last);
		for (struct worker_job *j = batch; j; j = j->next_)
			w->depth--;
		pthread_mutex_unlock(&w->lock);
		if (w->wake)
			w->wake(w->wake_arg);
	}
	return NULL;
}

/*
 * The checkpoint thread: a PASSIVE checkpoint every second on its own
 * connection, so that no COMMIT of the worker copies the WAL into the
 * database and syncs it (store.h). A failed checkpoint loses nothing (the
 * WAL keeps the frames) and is tried again; it is logged once per run of
 * failures.
 */
static void *worker_ckpt_main(void *arg)
{
	struct worker *w = arg;
	int failing = 0;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec ts;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += WORKER_CKPT_SECONDS;
		while (!w->stopping && pthread_cond_timedwait(&w->ckpt_cond, &w->lock, &ts) == 0)
			;
		if (w->stopping)
			break;
		pthread_mutex_unlock(&w->lock);
		r = store_ckpt_run(w->ckpt, NULL, NULL);
		if (r != VARSKO_OK && !failing)
			log_msg(LOGL_WARN, "store: a WAL checkpoint failed (%s); retrying every second", varsko_err_name(r));
		else if (r == VARSKO_OK && failing)
			log_msg(LOGL_INFO, "store: WAL checkpoints work again");
		failing = r != VARSKO_OK;
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Start the checkpoint thread; without it SQLite keeps checkpointing in COMMIT (logged). */
static void worker_ckpt_start(struct worker *w)
{
	pthread_condattr_t attr;
	int r;

	if ((r = store_ckpt_open(&w->ckpt, w->store)) != VARSKO_OK) {
		log_msg(LOGL_WARN, "store: no checkpoint connection (%s); checkpoints stay in COMMIT", varsko_err_name(r));
		return;
	}
	if (pthread_condattr_init(&attr) == 0) {
		int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
		         pthread_cond_init(&w->ckpt_cond, &attr) == 0;

		pthread_condattr_destroy(&attr);
		if (ok) {
			if (pthread_create(&w->ckpt_thread, NULL, worker_ckpt_main, w) == 0)
				return;
			pthread_cond_destroy(&w->ckpt_cond);
		}
	}
	log_msg(LOGL_WARN, "store: cannot start the checkpoint thread; checkpoints stay in COMMIT");
	store_ckpt_close(w->ckpt);
	w->ckpt = NULL;
}

/* Stop and join the checkpoint thread (if any); the store checkpoints in COMMIT again, before its owner closes it. */
static void worker_ckpt_stop(struct worker *w)
{
	if (w->ckpt == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->ckpt_cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->ckpt_thread, NULL);
	pthread_cond_destroy(&w->ckpt_cond);
	store_ckpt_close(w->ckpt);
	w->ckpt = NULL;
}

int worker_start(struct worker **out, struct store *s, void (*wake)(void *arg), void *wake_arg)
{
	struct worker *w;
	int r = VARSKO_ERR_INTERNAL;
	int have_lock = 0, have_cond = 0;

	*out = NULL;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return VARSKO_ERR_NOMEM;
	w->store = s;
	w->wake = wake;
	w->wake_arg = wake_arg;
	if (pthread_mutex_init(&w->lock, NULL) != 0)
		goto out;
	have_lock = 1;
	if (pthread_cond_init(&w->cond, NULL) != 0)
		goto out;
	have_cond = 1;
	/* Before the worker thread: it turns the store's own checkpoints off, on this thread. */
	if (s != NULL)
		worker_ckpt_start(w);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		goto out;
	*out = w;
	w = NULL;
	r = VARSKO_OK;
out:
	if (w) {
		worker_ckpt_stop(w);
		if (have_cond)
			pthread_cond_destroy(&w->cond);
		if (have_lock)
			pthread_mutex_destroy(&w->lock);
		free(w);
	}
	return r;
}

void worker_set_commit_hook(struct worker *w, void (*fn)(void *arg, size_t batch, int64_t commit_us, int result),
                            void *arg)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->hook.fn = fn;
	w->hook.arg = arg;
	pthread_mutex_unlock(&w->lock);
}

int worker_submit(struct worker *w, struct worker_job *job)
{
	int r = VARSKO_ERR_UNAVAILABLE;

	if (w == NULL || job == NULL || job->run == NULL || job->done == NULL)
		return VARSKO_ERR_INTERNAL;
	job->result = VARSKO_ERR_UNAVAILABLE;
	pthread_mutex_lock(&w->lock);
	/* Only work a connection asked for is refused when full: that client can retry (worker.h). */
	if (!w->stopping && (job->session_id == 0 || w->depth_max == 0 || w->depth < w->depth_max)) {
		worker_queue_push(&w->pending, job);
		w->depth++;
		pthread_cond_signal(&w->cond);
		r = VARSKO_OK;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void worker_set_queue_max(struct worker *w, size_t max)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->depth_max = max;
	pthread_mutex_unlock(&w->lock);
}

size_t worker_depth(struct worker *w)
{
	size_t n;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	n = w->depth;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int worker_drain(struct worker *w)
{
	struct worker_job *j, *next;
	int n = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	j = worker_queue_take(&w->finished);
	pthread_mutex_unlock(&w->lock);
	for (; j; j = next) {
		next = j->next_;
		j->next_ = NULL;
		j->done(j);
		n++;
	}
	return n;
}

void worker_stop(struct worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	worker_ckpt_stop(w);
	/* The thread ran everything that was queued; hand it all back. */
	(void)worker_drain(w);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
