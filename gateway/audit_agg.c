/*
 * audit_agg.c: audit entries counted per (event, actor, detail) and written
 * about once a second, one row per key (audit_agg.h).
 */
#include "audit_agg.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "store.h"
#include "varsko/err.h"
#include "worker.h"

/* Distinct keys held before the table goes to the worker at once; about the rows of one transaction. */
#define AGG_KEYS 256

struct agg_entry {
	char event[32];
	char actor[PROTO_ID_MAX + 1];
	char detail[64];
	int64_t first_at; /* the wall clock of the first entry counted */
	uint64_t count;
};

struct agg_job {
	struct worker_job base; /* first: the worker hands back &base */
	size_t n;
	struct agg_entry e[AGG_KEYS];
};

struct audit_agg {
	pthread_mutex_t lock; /* protects cur */
	struct worker *worker;
	struct store *store; /* borrowed; used only by audit_agg_free(), after the worker has stopped */
	struct agg_job *cur; /* what is being counted; NULL when nothing is */
};

/* Every row of the table in one transaction (the worker's thread, or audit_agg_free() after it). */
static int agg_write(struct store *st, const struct agg_job *j)
{
	char detail[96];
	int r;

	if (st == NULL)
		return VARSKO_ERR_INTERNAL;
	if ((r = store_begin(st)) != VARSKO_OK)
		return r;
	for (size_t i = 0; i < j->n && r == VARSKO_OK; i++) {
		snprintf(detail, sizeof detail, "%s count=%" PRIu64, j->e[i].detail, j->e[i].count);
		r = store_audit(st, j->e[i].first_at, j->e[i].event, j->e[i].actor, detail);
	}
	if (r == VARSKO_OK)
		return store_commit(st);
	store_rollback(st);
	return r;
}

static void agg_run(struct worker_job *job, struct store *st)
{
	job->result = agg_write(st, (struct agg_job *)job);
}

static void agg_done(struct worker_job *job)
{
	struct agg_job *j = (struct agg_job *)job;

	if (job->result != VARSKO_OK)
		log_msg(LOGL_ERROR, "cannot write %zu counted audit entries (%s)", j->n, varsko_err_name(job->result));
	free(j);
}

/* Hand a full or finished table to the worker (called under a->lock; the job is ours until submitted). */
static void agg_submit(struct audit_agg *a, struct agg_job *j)
{
	int r;

	j->base.run = agg_run;
	j->base.done = agg_done;
	/* session_id 0: the gateway's own work, never refused for the queue's bound (worker.h). */
	if ((r = worker_submit(a->worker, &j->base)) != VARSKO_OK) {
		log_msg(LOGL_ERROR, "cannot queue %zu counted audit entries (%s)", j->n, varsko_err_name(r));
		free(j);
	}
}

/* store_refusal_fn: the store's refusals that go with no write (store_enroll's), counted here too. */
static void agg_store_refusal(void *arg, int64_t now, const char *event, const char *actor, const char *detail)
{
	audit_agg_add(arg, now, event, actor, detail);
}

int audit_agg_new(struct audit_agg **out, struct worker *w, struct store *s)
{
	struct audit_agg *a;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return VARSKO_ERR_INTERNAL;
	}
	a->worker = w;
	a->store = s;
	/* Seen by every job submitted from now on (worker_submit's lock orders it). */
	if (s != NULL)
		store_set_refusal_audit(s, agg_store_refusal, a);
	*out = a;
	return VARSKO_OK;
}

void audit_agg_add(struct audit_agg *a, int64_t now, const char *event, const char *actor, const char *detail)
{
	struct agg_entry k, *e = NULL;
	struct agg_job *j;

	if (a == NULL)
		return;
	memset(&k, 0, sizeof k);
	snprintf(k.event, sizeof k.event, "%s", event ? event : "");
	snprintf(k.actor, sizeof k.actor, "%s", actor ? actor : "-");
	snprintf(k.detail, sizeof k.detail, "%s", detail ? detail : "");
	pthread_mutex_lock(&a->lock);
	if ((j = a->cur) == NULL && (j = a->cur = calloc(1, sizeof *j)) == NULL) {
		pthread_mutex_unlock(&a->lock);
		log_msg(LOGL_ERROR, "cannot count an audit entry (%s)", varsko_err_name(VARSKO_ERR_NOMEM));
		return;
	}
	for (size_t i = 0; i < j->n && e == NULL; i++)
		if (strcmp(j->e[i].event, k.event) == 0 && strcmp(j->e[i].actor, k.actor) == 0 &&
		    strcmp(j->e[i].detail, k.detail) == 0)
			e = &j->e[i];
	if (e == NULL) {
		e = &j->e[j->n++];
		*e = k;
		e->first_at = now;
	}
	e->count++;
	if (j->n == AGG_KEYS) { /* full: written now, the next entries start a new table */
		a->cur = NULL;
		agg_submit(a, j);
	}
	pthread_mutex_unlock(&a->lock);
}

void audit_agg_tick(void *arg, int64_t now)
{
	struct audit_agg *a = arg;

	(void)now;
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->cur != NULL) {
		agg_submit(a, a->cur);
		a->cur = NULL;
	}
	pthread_mutex_unlock(&a->lock);
}

void audit_agg_free(struct audit_agg *a)
{
	int r;

	if (a == NULL)
		return;
	if (a->store != NULL)
		store_set_refusal_audit(a->store, NULL, NULL);
	if (a->cur != NULL) {
		if ((r = agg_write(a->store, a->cur)) != VARSKO_OK)
			log_msg(LOGL_ERROR, "cannot write %zu counted audit entries (%s)", a->cur->n, varsko_err_name(r));
		free(a->cur);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}
