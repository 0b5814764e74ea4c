/*
 * retention_tick.c: varskod's periodic purge of thread content
 * (retention_tick.h), a periodic job (periodic.h) like the deadline engine.
 * The store is the truth (a purge is one transaction per thread and a
 * purged thread is marked), so a run missed while varskod was down is done
 * at the first one after start, and a run that fails is tried again at the
 * next interval.
 */
#include "retention_tick.h"

#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "periodic.h"
#include "retention.h"
#include "store_blob.h"
#include "varsko/err.h"

struct retention_engine {
	const struct config *cfg;
	struct periodic *periodic;
	int64_t next_at; /* wall clock of the next run; 0: at the next tick */
};

struct purge_job {
	struct periodic_job pj; /* first */
	int64_t now;
	int days;
	size_t n;
	int64_t messages;
	size_t blobs;      /* abandoned uploads dropped */
	int64_t blob_bytes;
};

static int count_row(const struct store_thread_purge *p, void *arg)
{
	struct purge_job *j = arg;

	j->messages += p->messages;
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
	/* Abandoned attachment uploads (PROTOCOL.md 17.9) go on the same round. */
	if (job->result == VARSKO_OK)
		job->result = store_blob_purge_stale(s, retention_cutoff(j->now, STORE_BLOB_STALE_DAYS), j->now,
		                                     RETENTION_BATCH, &j->blobs, &j->blob_bytes);
}

/* lws thread, at a tick with no job out: a purge job when one is due. */
static struct periodic_job *purge_make(void *arg, int64_t now)
{
	struct retention_engine *e = arg;
	struct purge_job *j;

	if (e->next_at > now + RETENTION_INTERVAL)
		e->next_at = now; /* the wall clock went back: do not wait longer than one interval */
	if (now < e->next_at || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->pj.base.run = purge_run;
	j->now = now;
	j->days = e->cfg->thread_retention_days;
	return &j->pj;
}

/* lws thread: log what went (counts only: thread ids are in the audit log) and plan the next run. */
static void purge_done(void *arg, struct periodic_job *pj)
{
	struct retention_engine *e = arg;
	struct purge_job *j = (struct purge_job *)pj;
	int r = pj->base.result;

	if (r != VARSKO_OK)
		log_msg(LOGL_WARN, "retention: purge failed (%s) after %zu thread(s); next try in %d s",
		        varsko_err_name(r), j->n, RETENTION_INTERVAL);
	else if (j->n > 0)
		log_msg(LOGL_INFO,
		        "retention: purged the content of %zu thread(s) inactive for %d days: %lld message(s)", j->n,
		        j->days, (long long)j->messages);
	if (r == VARSKO_OK && j->blobs > 0)
		log_msg(LOGL_INFO, "retention: dropped %zu abandoned attachment upload(s), %lld bytes", j->blobs,
		        (long long)j->blob_bytes);
	/* A full batch: more may be due, at the next tick. */
	e->next_at = (r == VARSKO_OK && (j->n == RETENTION_BATCH || j->blobs == RETENTION_BATCH))
	                     ? 0
	                     : j->now + RETENTION_INTERVAL;
	free(j);
}

static const struct periodic_ops purge_ops = {purge_make, purge_done};

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
	if ((r = periodic_start(&e->periodic, srv, &purge_ops, e)) != VARSKO_OK) {
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
	periodic_stop(e->periodic);
	free(e);
}
