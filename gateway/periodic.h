/*
 * periodic.h: background work that varskod hands to the store worker from
 * the server's tick, one job at a time (the deadline engine, deadline.c,
 * and the purge of thread content, retention_tick.c).
 *
 * About once a second (server_add_tick, lws thread) and only while no job
 * of this periodic is queued or running, make() may return a new job; it
 * is submitted to the store worker (its run() goes there), and when it
 * comes back done() gets it on the lws thread and frees it. So no job ever
 * overlaps the previous one, and nothing of the work runs on the event loop.
 */
#ifndef VARSKO_PERIODIC_H
#define VARSKO_PERIODIC_H

#include <stdint.h>

#include "worker.h"

struct server;
struct periodic;

/* Embed first in a job struct; periodic sets base.done and p. */
struct periodic_job {
	struct worker_job base; /* first: the worker hands back &base */
	struct periodic *p;
};

/*
 * make(arg, now), lws thread, at a tick with no job out: a job allocated
 * with malloc() or calloc() (base.run set; owned by periodic from then on),
 * or NULL for none at this tick. now is the wall clock of the tick.
 * done(arg, job), lws thread: the job is back (base.result set); done owns
 * and frees it. After periodic_stop(), done is never called again: a job
 * that is still out is freed with free() when it comes back.
 */
struct periodic_ops {
	struct periodic_job *(*make)(void *arg, int64_t now);
	void (*done)(void *arg, struct periodic_job *job);
};

/* Register the tick. srv, ops and arg borrowed until periodic_stop(). */
int periodic_start(struct periodic **out, struct server *srv, const struct periodic_ops *ops, void *arg);

/*
 * The server keeps calling the tick until server_run() returns, and a job
 * that is out is delivered by worker_drain() or by server_destroy(): so call
 * this after server_run() has returned and before server_destroy(). arg may
 * be freed as soon as this returns. NULL-safe.
 */
void periodic_stop(struct periodic *p);

#endif
