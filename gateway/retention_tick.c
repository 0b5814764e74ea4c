/*
 * retention_tick.c: varskod's periodic purge of thread content
 * (retention_tick.h). Shaped like the deadline engine (deadline.c): the
 * store is the truth (a purge is one transaction per thread and a thread
 * purged is marked), so a run missed while varskod was down is done at the
 * first one after start, and a run that fails is tried again at the next
 * interval.
 */
#include "retention_tick.h"

#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "retention.h"
#include "server.h"
#include "varsko/err.h"
#include "worker.h"

struct retention_engine {
	const struct config *cfg;
	struct server *srv;
	int busy;        /* a purge job is queued or running */
	int stopped;     /* retention_stop() came while busy: the job's done() frees the engine */
	int64_t next_at; /* wall clock of the next run; 0: at the next tick */
};

struct purge_job {
	struct worker_job base; /* first: the worker hands back &base */
	struct retention_engine *e;
	int64_t now;
	int days;
	size_t n;
	int64_t messages, bytes;
};

static int count_row(const struct store_thread_purge *p, void *arg)
{
	struct purge_job *j = arg;

	j->messages += p->messages;
	j->bytes += p->bytes;
	return VARSKO_OK;
}

/* Worker thread: one batch. */
static void purge_run(struct worker_job *job, struct store *s)
{
	struct purge_job *j = (struct purge_job *)job;

	if (s == NULL) {
		job->result = VARSKO_ERR_UNAVAILABLE;
		return;
	}
	job->result = retention_purge(s, j->now, j->days, 0, RETENTION_BATCH, "varskod", count_row, j, &j->n);
}

/* lws thread: log what went (counts only: thread ids are in the audit log) and plan the next run. */
static void purge_done(struct worker_job *job)
{
	struct purge_job *j = (struct purge_job *)job;
	struct retention_engine *e = j->e;

	e->busy = 0;
	if (e->stopped) {
		free(e);
		goto out;
	}
	if (job->result != VARSKO_OK)
		log_msg(LOGL_WARN, "retention: purge failed (%s) after %zu thread(s); next try in %d s",
		        varsko_err_name(job->result), j->n, RETENTION_INTERVAL);
	else if (j->n > 0)
		log_msg(LOGL_INFO,
		        "retention: purged the content of %zu thread(s) inactive for %d days: %lld message(s)", j->n,
		        j->days, (long long)j->messages);
	/* A full batch: more may be due, at the next tick. */
	e->next_at = (job->result == VARSKO_OK && j->n == RETENTION_BATCH) ? 0 : j->now + RETENTION_INTERVAL;
out:
	free(j);
}

/* lws thread, about once a second: queue a purge job when one is due and none is out. */
static void retention_tick(void *arg, int64_t now)
{
	struct retention_engine *e = arg;
	struct purge_job *j;
	struct worker *w;

	if (e->stopped || e->busy)
		return;
	if (e->next_at > now + RETENTION_INTERVAL)
		e->next_at = now; /* the wall clock went back: do not wait longer than one interval */
	if (now < e->next_at)
		return;
	if ((w = server_worker(e->srv)) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return; /* tried again at the next tick */
	j->base.run = purge_run;
	j->base.done = purge_done;
	j->e = e;
	j->now = now;
	j->days = e->cfg->thread_retention_days;
	if (worker_submit(w, &j->base) != VARSKO_OK) {
		free(j);
		return;
	}
	e->busy = 1;
}

int retention_start(struct retention_engine **out, const struct config *cfg, struct server *srv)
{
	struct retention_engine *e = NULL;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (cfg == NULL || srv == NULL || cfg->thread_retention_days < 1)
		return VARSKO_ERR_BAD_INPUT;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return VARSKO_ERR_NOMEM;
	e->cfg = cfg;
	e->srv = srv;
	if ((r = server_add_tick(srv, retention_tick, e)) != VARSKO_OK) {
		free(e);
		return r;
	}
	*out = e;
	return VARSKO_OK;
}

void retention_stop(struct retention_engine *e)
{
	if (e == NULL)
		return;
	if (e->busy) {
		e->stopped = 1;
		return;
	}
	free(e);
}
