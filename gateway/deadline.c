/*
 * deadline.c: the deadline engine of varskod (deadline.h; the plan is
 * deadline_plan.c; DOMAIN.md "The legal deadlines the system tracks";
 * docs/DEVELOPING.md "Deadlines and reports").
 *
 * The engine keeps no timers of its own and no state that matters: the
 * deadline rows in the store are the truth. About once a second (the
 * server's tick, an lws_sul timer on the monotonic clock) it hands one job
 * to the store worker, which asks store_deadline_fire() for what is due by
 * the wall clock read at the tick. So a warning is never early (the wall
 * clock is compared with warn_at and due_at each time, never a countdown
 * that a clock change could shorten), never lost (an instant missed while
 * varskod was down is found at the next tick), and never repeated (the mark
 * commits with the outbox row). Only one job is queued or running at a time
 * (periodic.h).
 */
#include "deadline.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "periodic.h"
#include "server.h"
#include "store_deadline.h"
#include "varsko/err.h"
#include "worker.h"

#define DEADLINE_TENANT_MAX 64 /* config.h: tenant is 1..64 bytes */

struct deadline_engine {
	const struct config *cfg;
	struct server *srv;
	struct periodic *periodic;
	int failing;      /* the last job failed (log once per run of failures) */
	int64_t last_now; /* the wall clock of the previous tick, to notice a clock that went back */
};

struct fire_job {
	struct periodic_job pj; /* first: the worker hands back &pj.base */
	int64_t now;
	char tenant[DEADLINE_TENANT_MAX + 1];
	size_t n;
	struct store_deadline_fired fired[STORE_FIRE_MAX];
};

/* ---- the engine -------------------------------------------------------- */

/* Worker thread: record what is due. Starts from scratch every time (no group: its own transaction). */
static void fire_run(struct worker_job *job, struct store *s)
{
	struct fire_job *j = (struct fire_job *)job;

	j->n = 0;
	if (s == NULL) {
		job->result = VARSKO_ERR_UNAVAILABLE;
		return;
	}
	job->result = store_deadline_fire(s, j->now, j->tenant, j->fired, STORE_FIRE_MAX, &j->n);
}

/* lws thread: push the frames to the teams' leder sessions. Owns and frees the job. */
static void fire_done(void *arg, struct periodic_job *pj)
{
	struct deadline_engine *e = arg;
	struct fire_job *j = (struct fire_job *)pj;
	size_t i;
	int sessions;

	if (pj->base.result != VARSKO_OK) {
		if (!e->failing)
			log_msg(LOGL_WARN, "deadline: cannot record due warnings (%s); retrying every second",
			        varsko_err_name(pj->base.result));
		e->failing = 1;
		goto out;
	}
	if (e->failing)
		log_msg(LOGL_INFO, "deadline: recording works again");
	e->failing = 0;
	for (i = 0; i < j->n; i++) {
		const struct store_deadline_fired *f = &j->fired[i];

		sessions = server_push(e->srv, NULL, f->team, "leder", f->payload, f->payload_len);
		/* A reference and a deadline kind are no personal data (docs/FLOW.md). */
		log_msg(LOGL_INFO, "deadline: %s of %s %s queued for MQTT, pushed to %d leder session(s)",
		        f->escalation ? "escalation" : "warning", f->reference, f->deadline, sessions);
	}
	if (j->n > 0)
		server_outbox_kick(e->srv); /* the MQTT publisher takes the new rows now, not at its next tick */
out:
	free(j);
}

/* lws thread, about once a second while no fire job is out: the next one. */
static struct periodic_job *fire_make(void *arg, int64_t now)
{
	struct deadline_engine *e = arg;
	struct fire_job *j;

	if (now < e->last_now)
		log_msg(LOGL_WARN, "deadline: the wall clock went back %lld s; nothing fires twice",
		        (long long)(e->last_now - now));
	e->last_now = now;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL; /* tried again at the next tick */
	j->pj.base.run = fire_run;
	j->now = now;
	memcpy(j->tenant, e->cfg->tenant, strnlen(e->cfg->tenant, DEADLINE_TENANT_MAX));
	return &j->pj;
}

static const struct periodic_ops fire_ops = {fire_make, fire_done};

int deadline_start(struct deadline_engine **out, const struct config *cfg, struct server *srv)
{
	struct deadline_engine *e = NULL;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (cfg == NULL || srv == NULL || cfg->tenant == NULL || cfg->tenant[0] == '\0' ||
	    strlen(cfg->tenant) > DEADLINE_TENANT_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return VARSKO_ERR_NOMEM;
	e->cfg = cfg;
	e->srv = srv;
	if ((r = periodic_start(&e->periodic, srv, &fire_ops, e)) != VARSKO_OK) {
		free(e);
		return r;
	}
	*out = e;
	return VARSKO_OK;
}

/*
 * After server_run() has returned and before server_destroy() (periodic.h):
 * a fire job still out is freed when it comes back, and pushes nothing.
 */
void deadline_stop(struct deadline_engine *e)
{
	if (e == NULL)
		return;
	periodic_stop(e->periodic);
	free(e);
}
