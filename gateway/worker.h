/*
 * worker.h: the store worker thread of varskod.
 *
 * All database work of varskod runs on one thread that uses the single
 * `struct store` (docs/DEVELOPING.md, "Threads in varskod"). The event loop
 * thread fills in a job and hands it over with worker_submit(); the worker
 * thread calls job->run(job, store), in submission order, one job at a time;
 * then it puts the job on a completion queue and calls the wake function
 * (in varskod: lws_cancel_service() on the lws context). The event loop
 * thread then calls worker_drain(), which calls job->done(job) for every
 * finished job in the same order. Jobs marked `group` share transactions
 * (group commit, see below).
 *
 * While a worker with a store runs, its store never checkpoints the WAL in
 * a COMMIT: a checkpoint thread of the worker does, on a connection of its
 * own (store.h, store_ckpt), so no group waits for one.
 *
 * A job names its connection by session id, never by pointer, so a done()
 * for a connection that closed meanwhile finds nothing and only frees the
 * job.
 *
 * Ownership: a job is owned by the caller until worker_submit() returns
 * VARSKO_OK; from then on by the worker until it is passed to done(), which
 * owns it and must free it. The usual pattern is to embed struct worker_job
 * as the first member of a larger struct and free that in done().
 */
#ifndef VARSKO_WORKER_H
#define VARSKO_WORKER_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct worker;

struct worker_job {
	/*
	 * Runs on the worker thread with the worker's store (which may be NULL
	 * when the worker was started without one, as in tests). Writes its
	 * result into the job. Must not touch lws or anything of the event
	 * loop thread.
	 */
	void (*run)(struct worker_job *job, struct store *s);
	/*
	 * Runs on the thread that calls worker_drain() (or worker_stop()) and
	 * takes ownership of the job: it must free it.
	 */
	void (*done)(struct worker_job *job);
	uint64_t session_id; /* the connection the answer is for; 0 for none */
	int result;          /* set by run(); VARSKO_ERR_UNAVAILABLE if the job never ran */
	/*
	 * Nonzero: group commit. Group jobs that are queued next to each other
	 * (up to 64) run inside one transaction that the worker opens and
	 * commits once (store_begin / store_commit), each job inside its own
	 * savepoint; so their run() must only use store functions that join
	 * the caller's transaction (store_tx_start) and never begin or commit
	 * itself. A job whose result is not VARSKO_OK is rolled back to its
	 * savepoint alone: its writes are gone and the others keep their
	 * group. Only when the transaction itself fails (BEGIN, COMMIT, or an
	 * error after which SQLite dropped the whole transaction) are the jobs
	 * that were not refused run again, each alone in its own transaction;
	 * so run() must start from scratch every time it is called. A group
	 * job's result is VARSKO_OK only after the commit holding its writes
	 * has returned; a failed commit becomes its result. Ignored when the
	 * worker has no store.
	 */
	int group;
	/* Frame bytes the job holds, counted against the server's byte budget until it is done (server.c). */
	size_t held;
	struct worker_job *next_; /* private to worker.c */
};

/*
 * Start the worker thread. `s` is borrowed: the caller keeps ownership and
 * closes it only after worker_stop(). `wake(wake_arg)` is called on the
 * worker thread after each batch of finished jobs; it must be thread-safe
 * (lws_cancel_service() is). *out is owned by the caller: worker_stop().
 * Returns VARSKO_OK, VARSKO_ERR_NOMEM or VARSKO_ERR_INTERNAL.
 */
int worker_start(struct worker **out, struct store *s, void (*wake)(void *arg), void *wake_arg);

/*
 * Observe the group commits (for /metrics): fn(arg, batch, commit_us,
 * result) is called on the worker thread after every COMMIT of a group
 * transaction, with the number of jobs it held (1 for a job run alone), the
 * time the COMMIT took in microseconds, and its result (VARSKO_OK or the
 * error). `batch` counts the jobs whose writes the transaction holds (a
 * refused job of the group is not counted); a group that failed before its
 * COMMIT, or whose jobs were all refused, is not reported. fn must be
 * thread-safe and quick. Takes effect from the next batch the worker takes;
 * fn NULL removes it. NULL-safe for w.
 */
void worker_set_commit_hook(struct worker *w, void (*fn)(void *arg, size_t batch, int64_t commit_us, int result),
                            void *arg);

/*
 * Queue a job (any thread; in varskod the lws thread). run and done must be
 * set. Never blocks beyond a short mutex hold. Returns VARSKO_OK (the job
 * now belongs to the worker) or VARSKO_ERR_UNAVAILABLE (the job stays the
 * caller's) when the worker is stopping, or when the job is for a
 * connection (session_id != 0) and the worker already holds the most jobs
 * worker_set_queue_max() allows: that client is answered `unavailable` and
 * may retry. The gateway's own jobs (session_id 0: audit entries, MQTT
 * PUBACK marks and agents' acknowledgements, the ticks) are never refused
 * for the bound, since nobody would retry them; their producers bound them
 * (one job at a time per tick, mqtt.c's limit on acknowledgements in
 * flight, audit_agg.c's one job a second for unauthenticated refusals).
 */
int worker_submit(struct worker *w, struct worker_job *job);

/*
 * The bound of worker_submit(): at most `max` jobs submitted and not yet run
 * (queued, or in the batch the worker is running) before jobs for a
 * connection are refused; 0 (the default) means no bound. Any thread.
 * NULL-safe.
 */
void worker_set_queue_max(struct worker *w, size_t max);

/* The jobs submitted and not yet run, for /metrics. Any thread. NULL-safe (0). */
size_t worker_depth(struct worker *w);

/*
 * Deliver finished jobs: calls done() for each, in order, on the calling
 * thread (in varskod the lws thread, from LWS_CALLBACK_EVENT_WAIT_CANCELLED).
 * Returns the number of jobs delivered. NULL-safe.
 */
int worker_drain(struct worker *w);

/*
 * Stop the worker: no new jobs are accepted, the jobs already queued still
 * run (they may carry audit entries that must not be lost), the thread is
 * joined, and every finished job is delivered with done() on the calling
 * thread. Frees w. NULL-safe. Call it from the thread that calls
 * worker_drain().
 */
void worker_stop(struct worker *w);

#endif
