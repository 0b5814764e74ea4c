/*
 * periodic.c: one job at a time on the store worker, from the server's tick
 * (periodic.h).
 */
#include "periodic.h"

#include <stdlib.h>

#include "server.h"
#include "varsko/err.h"

struct periodic {
	struct server *srv;
	const struct periodic_ops *ops;
	void *arg;
	int busy;    /* a job is queued or running */
	int stopped; /* periodic_stop() came while busy: the job's return frees everything */
};

/* lws thread: a job is back. */
static void periodic_done(struct worker_job *job)
{
	struct periodic_job *j = (struct periodic_job *)job;
	struct periodic *p = j->p;

	p->busy = 0;
	if (p->stopped) {
		free(j);
		free(p);
		return;
	}
	p->ops->done(p->arg, j);
}

/* lws thread, about once a second. */
static void periodic_tick(void *arg, int64_t now)
{
	struct periodic *p = arg;
	struct periodic_job *j;
	struct worker *w;

	if (p->stopped || p->busy)
		return;
	if ((w = server_worker(p->srv)) == NULL)
		return;
	if ((j = p->ops->make(p->arg, now)) == NULL)
		return;
	j->p = p;
	j->base.done = periodic_done;
	if (worker_submit(w, &j->base) != VARSKO_OK) {
		free(j); /* made again at a later tick */
		return;
	}
	p->busy = 1;
}

int periodic_start(struct periodic **out, struct server *srv, const struct periodic_ops *ops, void *arg)
{
	struct periodic *p;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (srv == NULL || ops == NULL || ops->make == NULL || ops->done == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return VARSKO_ERR_NOMEM;
	p->srv = srv;
	p->ops = ops;
	p->arg = arg;
	if ((r = server_add_tick(srv, periodic_tick, p)) != VARSKO_OK) {
		free(p);
		return r;
	}
	*out = p;
	return VARSKO_OK;
}

void periodic_stop(struct periodic *p)
{
	if (p == NULL)
		return;
	if (p->busy) {
		p->stopped = 1;
		return;
	}
	free(p);
}
