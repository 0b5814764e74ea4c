/*
 * test-worker.c: the store worker thread runs jobs in order, off the
 * submitting thread, delivers every completion through worker_drain() on the
 * draining thread, wakes the loop, and runs (never drops or leaks) the jobs
 * still queued at worker_stop(). Run under ASan/valgrind for the leak part.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "store-internal.h"
#include "store.h"
#include "worker.h"
#include "varsko/err.h"

#define N_JOBS 200

static void test_group_commit(struct store *st, const char *path);
static void test_checkpoints(struct store *st, const char *path);

struct test_state {
	pthread_t main_thread;
	atomic_int wakes;
	int ran_order[N_JOBS]; /* written by the worker, in run order */
	int n_ran;             /* worker thread only */
	int done_order[N_JOBS];
	int n_done;        /* draining thread only */
	int ran_on_main;   /* a job ran on the submitting thread */
	int done_off_main; /* a completion ran on another thread */
	int bad_result;
};

struct test_job {
	struct worker_job base; /* first member: done() frees the whole */
	struct test_state *st;
	int seq;
	int slow;      /* sleep a little so jobs pile up behind it */
	char *payload; /* heap memory that must be freed by done() */
};

static void test_run(struct worker_job *job, struct store *s)
{
	struct test_job *t = (struct test_job *)job;

	(void)s;
	if (pthread_equal(pthread_self(), t->st->main_thread))
		t->st->ran_on_main = 1;
	if (t->slow) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (t->st->n_ran < N_JOBS)
		t->st->ran_order[t->st->n_ran++] = t->seq;
	job->result = VARSKO_OK;
}

static void test_done(struct worker_job *job)
{
	struct test_job *t = (struct test_job *)job;

	if (!pthread_equal(pthread_self(), t->st->main_thread))
		t->st->done_off_main = 1;
	if (job->result != VARSKO_OK || job->session_id != (uint64_t)t->seq + 1000)
		t->st->bad_result = 1;
	if (t->st->n_done < N_JOBS)
		t->st->done_order[t->st->n_done++] = t->seq;
	free(t->payload);
	free(t);
}

static void test_wake(void *arg)
{
	struct test_state *st = arg;

	atomic_fetch_add(&st->wakes, 1);
}

static struct test_job *test_job_new(struct test_state *st, int seq, int slow)
{
	struct test_job *t = calloc(1, sizeof *t);

	if (t == NULL)
		abort();
	t->base.run = test_run;
	t->base.done = test_done;
	t->base.session_id = (uint64_t)seq + 1000;
	t->st = st;
	t->seq = seq;
	t->slow = slow;
	if ((t->payload = malloc(64)) == NULL)
		abort();
	return t;
}

static int test_in_order(const int *order, int n)
{
	for (int i = 0; i < n; i++)
		if (order[i] != i)
			return 0;
	return 1;
}

/* Jobs run in order on the worker; completions arrive via drain on this thread. */
static void test_order_and_drain(void)
{
	struct test_state st = {0};
	struct worker *w = NULL;
	int delivered = 0;

	st.main_thread = pthread_self();
	CHECK_EQ_INT(worker_start(&w, NULL, test_wake, &st), VARSKO_OK);
	if (w == NULL)
		return;
	for (int i = 0; i < N_JOBS; i++)
		CHECK_EQ_INT(worker_submit(w, &test_job_new(&st, i, i == 0)->base), VARSKO_OK);
	/* Poll like the event loop would: drain whenever woken. */
	for (int spins = 0; delivered < N_JOBS && spins < 5000; spins++) {
		struct timespec ts = {0, 1000 * 1000};

		if (atomic_load(&st.wakes) > 0)
			delivered += worker_drain(w);
		else
			nanosleep(&ts, NULL);
	}
	CHECK_EQ_INT(delivered, N_JOBS);
	CHECK(atomic_load(&st.wakes) >= 1);
	CHECK_EQ_INT(st.n_done, N_JOBS);
	CHECK(test_in_order(st.done_order, st.n_done));
	CHECK(!st.ran_on_main);
	CHECK(!st.done_off_main);
	CHECK(!st.bad_result);
	CHECK_EQ_INT(worker_drain(w), 0);
	worker_stop(w);
	CHECK_EQ_INT(st.n_ran, N_JOBS);
	CHECK(test_in_order(st.ran_order, st.n_ran));
}

/* worker_stop() with jobs still queued runs and delivers all of them. */
static void test_stop_with_pending(void)
{
	struct test_state st = {0};
	struct worker *w = NULL;
	struct test_job *late;

	st.main_thread = pthread_self();
	CHECK_EQ_INT(worker_start(&w, NULL, test_wake, &st), VARSKO_OK);
	if (w == NULL)
		return;
	/* The first job is slow, so the others are still queued at stop. */
	for (int i = 0; i < 50; i++)
		CHECK_EQ_INT(worker_submit(w, &test_job_new(&st, i, i < 3)->base), VARSKO_OK);
	worker_stop(w);
	CHECK_EQ_INT(st.n_ran, 50);
	CHECK_EQ_INT(st.n_done, 50);
	CHECK(test_in_order(st.ran_order, st.n_ran));
	CHECK(test_in_order(st.done_order, st.n_done));
	CHECK(!st.done_off_main);
	CHECK(!st.bad_result);

	/* Without a worker a job is refused and stays the caller's. */
	late = test_job_new(&st, 0, 0);
	CHECK_EQ_INT(worker_submit(NULL, &late->base), VARSKO_ERR_INTERNAL);
	free(late->payload);
	free(late);
}

/*
 * The queue's bound: behind a slow job, jobs for a connection are refused
 * with VARSKO_ERR_UNAVAILABLE (and stay the caller's) once the worker holds
 * `max`; the gateway's own jobs (session 0) are still taken; everything
 * taken runs; worker_depth() counts what is not yet run.
 */
static void test_queue_bound(void)
{
	struct test_state st = {0};
	struct worker *w = NULL;
	struct test_job *t;
	int taken = 0, refused = 0;

	st.main_thread = pthread_self();
	CHECK_EQ_INT(worker_start(&w, NULL, NULL, NULL), VARSKO_OK);
	if (w == NULL)
		return;
	worker_set_queue_max(w, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(worker_submit(w, &test_job_new(&st, i, 1)->base), VARSKO_OK);
	CHECK(worker_depth(w) >= 1 && worker_depth(w) <= 3);
	for (int i = 3; i < 8; i++) {
		t = test_job_new(&st, i, 0);
		if (worker_submit(w, &t->base) == VARSKO_OK) {
			taken++;
		} else {
			refused++;
			free(t->payload);
			free(t);
		}
	}
	/* The slow jobs take 60 ms; at most the one the worker already finished made room. */
	CHECK(refused >= 4);
	/* A job of the gateway's own is never refused for the bound. */
	t = test_job_new(&st, 8, 0);
	t->base.session_id = 0;
	CHECK_EQ_INT(worker_submit(w, &t->base), VARSKO_OK);
	worker_stop(w);
	CHECK_EQ_INT(st.n_ran, 3 + taken + 1);
	CHECK_EQ_INT(st.n_done, 3 + taken + 1);
	CHECK_EQ_INT(worker_depth(NULL), 0);
}

/* A job without callbacks is refused instead of crashing the worker later. */
static void test_bad_job(void)
{
	struct worker *w = NULL;
	struct worker_job j = {0};

	CHECK_EQ_INT(worker_start(&w, NULL, NULL, NULL), VARSKO_OK);
	if (w == NULL)
		return;
	CHECK_EQ_INT(worker_submit(w, &j), VARSKO_ERR_INTERNAL);
	worker_stop(w);
	worker_stop(NULL);
	CHECK_EQ_INT(worker_drain(NULL), 0);
}

struct audit_job {
	struct worker_job base;
	pthread_t main_thread;
	int *off_main; /* set when run() was on another thread than main */
	int *done_ok;
};

static void audit_job_run(struct worker_job *job, struct store *s)
{
	struct audit_job *a = (struct audit_job *)job;

	if (!pthread_equal(pthread_self(), a->main_thread))
		*a->off_main = 1;
	job->result = s ? store_audit(s, 1700000000, "bad_frame_close", "-", "worker test") : VARSKO_ERR_INTERNAL;
}

static void audit_job_done(struct worker_job *job)
{
	struct audit_job *a = (struct audit_job *)job;

	*a->done_ok += job->result == VARSKO_OK;
	free(a);
}

/* The worker hands its store to every job: 40 audit entries land and the chain verifies. */
static void test_with_store(void)
{
	char dir[] = "/tmp/varsko-test-worker-XXXXXX", path[64];
	struct store *st = NULL;
	struct worker *w = NULL;
	uint64_t before = 0, after = 0, bad = 0;
	int off_main = 0, done_ok = 0;

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/w.db", dir);
	CHECK_EQ_INT(store_open(&st, path, 1), VARSKO_OK);
	if (st == NULL)
		goto out;
	CHECK_EQ_INT(store_audit_verify(st, &before, &bad), VARSKO_OK);
	CHECK_EQ_INT(worker_start(&w, st, NULL, NULL), VARSKO_OK);
	if (w == NULL)
		goto out;
	for (int i = 0; i < 40; i++) {
		struct audit_job *a = calloc(1, sizeof *a);

		if (a == NULL)
			abort();
		a->base.run = audit_job_run;
		a->base.done = audit_job_done;
		a->main_thread = pthread_self();
		a->off_main = &off_main;
		a->done_ok = &done_ok;
		CHECK_EQ_INT(worker_submit(w, &a->base), VARSKO_OK);
	}
	worker_stop(w);
	CHECK_EQ_INT(done_ok, 40);
	CHECK(off_main);
	CHECK_EQ_INT(store_audit_verify(st, &after, &bad), VARSKO_OK);
	CHECK_EQ_INT(after, before + 40);
	test_group_commit(st, path);
	test_checkpoints(st, path);
out:
	store_close(st);
	/* The database and its WAL side files. */
	unlink(path);
	snprintf(path, sizeof path, "%s/w.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/w.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

struct group_job {
	struct worker_job base;
	int index;
	int runs;         /* how often run() was called */
	int fail;         /* write, then report failure */
	int *results;     /* done() stores the final result here */
	atomic_int *plug; /* the plug sets it when it starts sleeping */
};

static void group_job_run(struct worker_job *job, struct store *s)
{
	struct group_job *g = (struct group_job *)job;
	char detail[48];

	g->runs++;
	if (g->fail < 0) { /* the slow plug that lets the group pile up behind it */
		struct timespec ts = {0, 100 * 1000 * 1000};

		atomic_store(g->plug, 1);
		nanosleep(&ts, NULL);
		job->result = VARSKO_OK;
		return;
	}
	snprintf(detail, sizeof detail, "group commit test %d", g->index);
	job->result = store_audit(s, 1700000000, "import", "-", detail);
	if (job->result == VARSKO_OK && g->fail)
		job->result = VARSKO_ERR_BAD_INPUT;
}

static void group_job_done(struct worker_job *job)
{
	struct group_job *g = (struct group_job *)job;

	*g->results = job->result;
}

/* What the commit hook saw (worker thread; read after worker_stop() joined it). */
struct commits {
	int calls, failed;
	size_t jobs, largest;
	int64_t negative_us;
};

static void commit_seen(void *arg, size_t batch, int64_t us, int result)
{
	struct commits *c = arg;

	c->calls++;
	c->jobs += batch;
	if (batch > c->largest)
		c->largest = batch;
	if (result != VARSKO_OK)
		c->failed++;
	if (us < 0)
		c->negative_us++;
}

/* How many audit rows carry this group job's detail (a second, read-only connection). */
static int group_rows(const char *path, int index)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char detail[48];
	int n = -1;

	snprintf(detail, sizeof detail, "group commit test %d", index);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM audit WHERE detail = ?1", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, detail, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * Group jobs queued together behind a slow job: all committed in ONE
 * transaction when they all succeed; when one in the middle (round 1) or
 * the first and the last (round 2) are refused, the others are still
 * committed in one transaction, none runs twice, and the refused ones'
 * writes are gone.
 */
static void test_group_commit(struct store *st, const char *path)
{
	enum { N = 10 };
	struct group_job plug = {0}, g[N];
	int results[N + 1];
	uint64_t before = 0, after = 0, bad = 0;

	for (int round = 0; round < 3; round++) {
		struct worker *w = NULL;
		struct commits seen = {0};
		atomic_int plugged = 0;
		int refused = 0;

		memset(g, 0, sizeof g);
		memset(&plug, 0, sizeof plug);
		CHECK_EQ_INT(store_audit_verify(st, &before, &bad), VARSKO_OK);
		CHECK_EQ_INT(worker_start(&w, st, NULL, NULL), VARSKO_OK);
		if (w == NULL)
			return;
		worker_set_commit_hook(w, commit_seen, &seen);
		plug.base.run = group_job_run;
		plug.base.done = group_job_done;
		plug.fail = -1;
		plug.plug = &plugged;
		plug.results = &results[N];
		CHECK_EQ_INT(worker_submit(w, &plug.base), VARSKO_OK);
		/* Only once the plug runs, so that the whole group is queued behind it as one batch. */
		for (int spins = 0; !atomic_load(&plugged) && spins < 5000; spins++) {
			struct timespec ts = {0, 1000 * 1000};

			nanosleep(&ts, NULL);
		}
		for (int i = 0; i < N; i++) {
			g[i].base.run = group_job_run;
			g[i].base.done = group_job_done;
			g[i].base.group = 1;
			g[i].index = round * N + i;
			g[i].fail = (round == 1 && i == 4) || (round == 2 && (i == 0 || i == N - 1));
			refused += g[i].fail;
			g[i].results = &results[i];
			CHECK_EQ_INT(worker_submit(w, &g[i].base), VARSKO_OK);
		}
		worker_stop(w);
		CHECK_EQ_INT(store_audit_verify(st, &after, &bad), VARSKO_OK);
		CHECK_EQ_INT(after, before + (uint64_t)(N - refused));
		for (int i = 0; i < N; i++) {
			CHECK_EQ_INT(results[i], g[i].fail ? VARSKO_ERR_BAD_INPUT : VARSKO_OK);
			CHECK_EQ_INT(g[i].runs, 1); /* nobody is rerun for a neighbour's refusal */
			CHECK_EQ_INT(group_rows(path, g[i].index), g[i].fail ? 0 : 1);
		}
		/* One COMMIT for the whole group, holding exactly the jobs that were not refused. */
		CHECK_EQ_INT(seen.calls, 1);
		CHECK_EQ_INT(seen.jobs, (size_t)(N - refused));
		CHECK_EQ_INT(seen.largest, (size_t)(N - refused));
		CHECK_EQ_INT(seen.failed, 0);
		CHECK_EQ_INT(seen.negative_us, 0);
	}
}

struct ckpt_job {
	struct worker_job base;
	long long autockpt; /* PRAGMA wal_autocheckpoint on the worker's connection */
};

/* Worker thread: read the writer's autocheckpoint and write 8 MB outside the store's API (a test table). */
static void ckpt_job_run(struct worker_job *job, struct store *s)
{
	struct ckpt_job *j = (struct ckpt_job *)job;
	sqlite3_stmt *st = NULL;

	j->autockpt = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA wal_autocheckpoint", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		j->autockpt = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	job->result = sqlite3_exec(s->db,
	                           "CREATE TABLE IF NOT EXISTS ckpt_test (x BLOB);"
	                           " INSERT INTO ckpt_test VALUES (zeroblob(8000000))",
	                           NULL, NULL, NULL) == SQLITE_OK
	                      ? VARSKO_OK
	                      : VARSKO_ERR_DB;
}

static void ckpt_job_done(struct worker_job *job)
{
	(void)job;
}

/*
 * WAL checkpoints are off the writer's commit path: while a worker runs, its
 * connection never checkpoints by itself (wal_autocheckpoint 0), and the
 * checkpoint thread copies what was committed into the database file within
 * a few seconds, while the worker still runs; after worker_stop() the store
 * checkpoints by itself again (SQLite's 1000).
 */
static void test_checkpoints(struct store *st, const char *path)
{
	struct ckpt_job j = {0};
	struct worker *w = NULL;
	struct stat sb;
	long long after = -1;
	sqlite3_stmt *q = NULL;
	off_t size = 0;

	CHECK_EQ_INT(worker_start(&w, st, NULL, NULL), VARSKO_OK);
	if (w == NULL)
		return;
	j.base.run = ckpt_job_run;
	j.base.done = ckpt_job_done;
	CHECK_EQ_INT(worker_submit(w, &j.base), VARSKO_OK);
	for (int i = 0; i < 100 && size < 8000000; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
		if (stat(path, &sb) == 0)
			size = sb.st_size;
	}
	CHECK(size >= 8000000); /* in the database file: checkpointed while the worker runs */
	worker_stop(w);
	CHECK_EQ_INT(j.base.result, VARSKO_OK);
	CHECK_EQ_INT(j.autockpt, 0);
	if (sqlite3_prepare_v2(st->db, "PRAGMA wal_autocheckpoint", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		after = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	CHECK_EQ_INT(after, 1000);
}

int main(void)
{
	test_order_and_drain();
	test_stop_with_pending();
	test_bad_job();
	test_queue_bound();
	test_with_store();
	return check_result();
}
