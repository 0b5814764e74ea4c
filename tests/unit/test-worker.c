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

#include "check.h"
#include "store.h"
#include "worker.h"
#include "varsko/err.h"

#define N_JOBS 200

static void test_group_commit(struct store *st);

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
	test_group_commit(st);
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
	int runs;     /* how often run() was called */
	int fail;     /* write, then report failure */
	int *results; /* done() stores the final result here */
};

static void group_job_run(struct worker_job *job, struct store *s)
{
	struct group_job *g = (struct group_job *)job;

	g->runs++;
	if (g->fail < 0) { /* the slow plug that lets the group pile up behind it */
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
		job->result = VARSKO_OK;
		return;
	}
	job->result = store_audit(s, 1700000000, "import", "-", "group commit test");
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

/*
 * Group jobs queued together: all committed once when they all succeed; when
 * one fails, the others are still committed exactly once and the failed
 * one's writes are gone.
 */
static void test_group_commit(struct store *st)
{
	enum { N = 10 };
	struct group_job plug = {0}, g[N];
	int results[N + 1], bad_one;
	uint64_t before = 0, after = 0, bad = 0;

	for (int round = 0; round < 2; round++) {
		struct worker *w = NULL;
		struct commits seen = {0};

		bad_one = round == 0 ? -1 : 4;
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
		plug.results = &results[N];
		CHECK_EQ_INT(worker_submit(w, &plug.base), VARSKO_OK);
		for (int i = 0; i < N; i++) {
			g[i].base.run = group_job_run;
			g[i].base.done = group_job_done;
			g[i].base.group = 1;
			g[i].fail = i == bad_one;
			g[i].results = &results[i];
			CHECK_EQ_INT(worker_submit(w, &g[i].base), VARSKO_OK);
		}
		worker_stop(w);
		CHECK_EQ_INT(store_audit_verify(st, &after, &bad), VARSKO_OK);
		CHECK_EQ_INT(after, before + (bad_one < 0 ? N : N - 1));
		for (int i = 0; i < N; i++) {
			CHECK_EQ_INT(results[i], i == bad_one ? VARSKO_ERR_BAD_INPUT : VARSKO_OK);
			/* Without a failure nothing runs twice. */
			if (bad_one < 0)
				CHECK_EQ_INT(g[i].runs, 1);
		}
		if (bad_one >= 0)
			CHECK_EQ_INT(g[0].runs, 2); /* rolled back, then run alone */
		/*
		 * The hook saw every COMMIT: the committed jobs add up, nothing
		 * failed, and a group that failed before its COMMIT (round 1) is
		 * not reported, only the jobs run alone afterwards (batch 1).
		 */
		CHECK_EQ_INT(seen.jobs, bad_one < 0 ? N : N - 1);
		CHECK_EQ_INT(seen.failed, 0);
		CHECK_EQ_INT(seen.negative_us, 0);
		if (bad_one < 0)
			CHECK(seen.calls >= 1 && seen.calls < N && seen.largest > 1);
		else
			CHECK_EQ_INT(seen.largest, 1);
	}
}

int main(void)
{
	test_order_and_drain();
	test_stop_with_pending();
	test_bad_job();
	test_with_store();
	return check_result();
}
