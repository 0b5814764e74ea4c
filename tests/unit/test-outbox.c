/*
 * test-outbox.c: the MQTT outbox of the store (store.h "outbox",
 * gateway/store_outbox.c) on a real SQLite file in a temporary directory:
 * add and its input checks, take (oldest first, batch limit, all fields),
 * a row never handed out twice before its next_at, backoff doubling up to
 * the maximum, PUBACK for needs_ack 0 (done) and 1 (stays due until the
 * agent's ack), the first-PUBACK flag, ack by reference and team, rearm,
 * pending, joining the caller's transaction, and rows surviving close and
 * reopen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store-internal.h" /* white box: next_at and done_at are read from the store's connection */
#include "store.h"


static char dir[] = "/tmp/varsko-test-outbox-XXXXXX";
static char dbpath[256];

static const int64_t T0 = 1795424400; /* 2026-11-23T09:00:00Z */

static long long q_row(struct store *s, const char *sql, int64_t id)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

#define NEXT_AT(s, id)   q_row(s, "SELECT next_at FROM outbox WHERE id = ?1", id)
#define DONE_AT(s, id)   q_row(s, "SELECT done_at FROM outbox WHERE id = ?1", id)   /* -2: NULL */
#define PUBACK_AT(s, id) q_row(s, "SELECT puback_at FROM outbox WHERE id = ?1", id) /* -2: NULL */
#define ATTEMPTS(s, id)  q_row(s, "SELECT attempts FROM outbox WHERE id = ?1", id)

static void clear_rows(struct store_outbox_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_outbox_row_clear(&rows[i]);
}

/* Take at `now` with backoff 30..600 and return how many rows came; ids into ids[]. */
static size_t take_ids(struct store *s, int64_t now, int64_t *ids, size_t max)
{
	struct store_outbox_row rows[16];
	size_t n = 0, i;

	if (max > 16)
		max = 16;
	CHECK_EQ_INT(store_outbox_take(s, now, 30, 600, rows, max, &n), VARSKO_OK);
	for (i = 0; i < n; i++)
		ids[i] = rows[i].id;
	clear_rows(rows, n);
	return n;
}

static int64_t pending(struct store *s)
{
	int64_t c = -1;

	CHECK_EQ_INT(store_outbox_pending(s, &c), VARSKO_OK);
	return c;
}

static void test_add_and_take(struct store *s)
{
	struct store_outbox_row rows[4];
	char longtopic[300];
	int64_t a = 0, b = 0, c = 0, ids[16];
	size_t n = 0;

	memset(longtopic, 'x', sizeof(longtopic) - 1);
	longtopic[sizeof(longtopic) - 1] = '\0';
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000001", "team-a", "", "{}", 1, T0, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000001", "team-a", NULL, "{}", 1, T0, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000001", "team-a", "t", NULL, 1, T0, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000001", "team-a", longtopic, "{}", 1, T0, NULL),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(pending(s), 0);
	CHECK_EQ_INT(store_outbox_stats(s, &a, &b, &c), VARSKO_OK);
	CHECK(a == 0 && b == 0 && c == 0);

	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000001", "team-a", "varsko/t/team/team-a/underretning", "{\"a\":1}", 1,
	                              T0, &a),
	             VARSKO_OK);
	CHECK_EQ_INT(store_outbox_add(s, NULL, NULL, "varsko/t/team/team-b/frist", "{\"b\":2}", 0, T0, &b), VARSKO_OK);
	/* Not due before its time. */
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000003", "team-c", "varsko/t/team/team-c/underretning", "{\"c\":3}", 1,
	                              T0 + 5, &c),
	             VARSKO_OK);
	CHECK(a > 0 && b > a && c > b);
	CHECK_EQ_INT(pending(s), 3);
	{
		int64_t depth = -1, oldest = -1, dead = -1;

		CHECK_EQ_INT(store_outbox_stats(s, &depth, &oldest, &dead), VARSKO_OK);
		CHECK_EQ_INT(dead, 0);
		CHECK_EQ_INT(depth, 3);
		CHECK_EQ_INT(oldest, T0);
	}
	CHECK_EQ_INT(NEXT_AT(s, a), T0);
	CHECK_EQ_INT(ATTEMPTS(s, a), 0);

	/* Batch limit: the oldest first. */
	CHECK_EQ_INT(store_outbox_take(s, T0, 30, 600, rows, 1, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(rows[0].id, a);
		CHECK_EQ_STR(rows[0].reference, "U-2026-000001");
		CHECK_EQ_STR(rows[0].team, "team-a");
		CHECK_EQ_STR(rows[0].topic, "varsko/t/team/team-a/underretning");
		CHECK_EQ_STR(rows[0].payload, "{\"a\":1}");
		CHECK_EQ_INT(rows[0].payload_len, 7);
		CHECK_EQ_INT(rows[0].needs_ack, 1);
		CHECK_EQ_INT(rows[0].attempts, 0);
		CHECK_EQ_INT(rows[0].puback_at, 0);
	}
	clear_rows(rows, n);
	CHECK_EQ_INT(ATTEMPTS(s, a), 1);
	CHECK_EQ_INT(NEXT_AT(s, a), T0 + 30);

	/* The rest; c is not due yet. NULL reference and team come back as "". */
	CHECK_EQ_INT(store_outbox_take(s, T0, 30, 600, rows, 4, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(rows[0].id, b);
		CHECK_EQ_STR(rows[0].reference, "");
		CHECK_EQ_STR(rows[0].team, "");
		CHECK_EQ_INT(rows[0].needs_ack, 0);
	}
	clear_rows(rows, n);

	/* Never handed out twice before next_at. */
	CHECK_EQ_INT(take_ids(s, T0, ids, 16), 0);
	CHECK_EQ_INT(take_ids(s, T0 + 4, ids, 16), 0);
	CHECK_EQ_INT(take_ids(s, T0 + 5, ids, 16), 1);
	CHECK_EQ_INT(ids[0], c);
	CHECK_EQ_INT(take_ids(s, T0 + 29, ids, 16), 0);
	/* a and b are due at T0 + 30 (c at T0 + 35). */
	CHECK_EQ_INT(take_ids(s, T0 + 30, ids, 16), 2);
	CHECK_EQ_INT(ids[0], a);
	CHECK_EQ_INT(ids[1], b);
	CHECK_EQ_INT(ATTEMPTS(s, a), 2);
	CHECK_EQ_INT(NEXT_AT(s, a), T0 + 30 + 60);
	CHECK_EQ_INT(pending(s), 3);

	/* Clean up for the next test: everything done. */
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000001", "team-a", T0 + 40), VARSKO_OK);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000003", "team-c", T0 + 40), VARSKO_OK);
	CHECK_EQ_INT(store_outbox_puback(s, b, T0 + 40), VARSKO_OK);
	CHECK_EQ_INT(pending(s), 0);
}

static void test_backoff(struct store *s)
{
	struct store_outbox_row rows[2];
	static const int64_t expect[] = {10, 20, 40, 45, 45, 45};
	int64_t id = 0, t = T0 + 1000;
	size_t i, n;

	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000010", "team-a", "varsko/t/team/team-a/underretning", "{}", 1, t, &id),
	        VARSKO_OK);
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		n = 0;
		/* One second early: nothing. */
		CHECK_EQ_INT(store_outbox_take(s, t - 1, 10, 45, rows, 2, &n), VARSKO_OK);
		CHECK_EQ_INT(n, 0);
		clear_rows(rows, n);
		CHECK_EQ_INT(store_outbox_take(s, t, 10, 45, rows, 2, &n), VARSKO_OK);
		CHECK_EQ_INT(n, 1);
		if (n == 1)
			CHECK_EQ_INT(rows[0].attempts, (int64_t)i);
		clear_rows(rows, n);
		CHECK_EQ_INT(NEXT_AT(s, id), t + expect[i]);
		t += expect[i];
	}
	/* A very large attempt count stays at the maximum. */
	{
		sqlite3_stmt *st = NULL;

		CHECK(sqlite3_prepare_v2(s->db, "UPDATE outbox SET attempts = 5000 WHERE id = ?1", -1, &st, NULL) ==
		      SQLITE_OK);
		sqlite3_bind_int64(st, 1, id);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_finalize(st);
	}
	n = 0;
	CHECK_EQ_INT(store_outbox_take(s, t, 10, 45, rows, 2, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	clear_rows(rows, n);
	CHECK_EQ_INT(NEXT_AT(s, id), t + 45);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000010", "team-a", t), VARSKO_OK);
	CHECK_EQ_INT(pending(s), 0);
}

static void test_puback(struct store *s)
{
	struct store_outbox_row info, rows[4];
	int64_t frist = 0, und = 0, und2 = 0, ids[16];
	int first = -1;
	size_t n = 0;
	const int64_t t = T0 + 5000;

	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000020", "team-a", "varsko/t/team/team-a/frist", "{\"f\":1}", 0, t, &frist),
	        VARSKO_OK);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000021", "team-a", "varsko/t/team/team-a/underretning", "{\"u\":1}", 1,
	                              t, &und),
	             VARSKO_OK);
	/* A second row for the same reference on another team (after an omdirigering). */
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000021", "team-b", "varsko/t/team/team-b/underretning", "{\"u\":2}", 1,
	                              t, &und2),
	             VARSKO_OK);
	CHECK_EQ_INT(take_ids(s, t, ids, 16), 3);

	/* needs_ack 0: the first PUBACK makes it done. */
	CHECK_EQ_INT(store_outbox_puback_info(s, frist, t + 1, &first, &info), VARSKO_OK);
	CHECK_EQ_INT(first, 1);
	CHECK_EQ_INT(info.needs_ack, 0);
	CHECK_EQ_STR(info.reference, "U-2026-000020");
	CHECK_EQ_STR(info.team, "team-a");
	CHECK(info.payload == NULL);
	CHECK_EQ_INT(PUBACK_AT(s, frist), t + 1);
	CHECK_EQ_INT(DONE_AT(s, frist), t + 1);
	/* A second PUBACK (a duplicate publication) changes nothing. */
	CHECK_EQ_INT(store_outbox_puback_info(s, frist, t + 7, &first, &info), VARSKO_OK);
	CHECK_EQ_INT(first, 0);
	CHECK_EQ_INT(info.puback_at, t + 1);
	CHECK_EQ_INT(PUBACK_AT(s, frist), t + 1);
	CHECK_EQ_INT(DONE_AT(s, frist), t + 1);
	CHECK_EQ_INT(pending(s), 2);

	/* needs_ack 1: PUBACK only records the time; the row stays due with backoff. */
	CHECK_EQ_INT(store_outbox_puback_info(s, und, t + 2, &first, &info), VARSKO_OK);
	CHECK_EQ_INT(first, 1);
	CHECK_EQ_INT(info.needs_ack, 1);
	CHECK_EQ_STR(info.reference, "U-2026-000021");
	CHECK_EQ_INT(PUBACK_AT(s, und), t + 2);
	CHECK_EQ_INT(DONE_AT(s, und), -2);
	CHECK_EQ_INT(store_outbox_puback(s, und, t + 3), VARSKO_OK);
	CHECK_EQ_INT(PUBACK_AT(s, und), t + 2);
	CHECK_EQ_INT(store_outbox_puback_info(s, und, t + 4, &first, &info), VARSKO_OK);
	CHECK_EQ_INT(first, 0);
	CHECK_EQ_INT(pending(s), 2);

	/* Due again after the backoff, now with puback_at; the frist row is not. */
	CHECK_EQ_INT(store_outbox_take(s, t + 30, 30, 600, rows, 4, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_INT(rows[0].id, und);
		CHECK_EQ_INT(rows[0].puback_at, t + 2);
		CHECK_EQ_INT(rows[0].attempts, 1);
		CHECK_EQ_INT(rows[1].id, und2);
		CHECK_EQ_INT(rows[1].puback_at, 0);
	}
	clear_rows(rows, n);

	/* Ack: only the named team's rows of that reference; a wrong team or reference changes nothing. */
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000021", "team-x", t + 40), VARSKO_OK);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000099", "team-a", t + 40), VARSKO_OK);
	CHECK_EQ_INT(pending(s), 2);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000021", "team-a", t + 41), VARSKO_OK);
	CHECK_EQ_INT(DONE_AT(s, und), t + 41);
	CHECK_EQ_INT(DONE_AT(s, und2), -2);
	CHECK_EQ_INT(pending(s), 1);
	/* A second ack keeps the first time. */
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000021", "team-a", t + 50), VARSKO_OK);
	CHECK_EQ_INT(DONE_AT(s, und), t + 41);
	/* Done rows are never taken again, however late. */
	CHECK_EQ_INT(take_ids(s, t + 100000, ids, 16), 1);
	CHECK_EQ_INT(ids[0], und2);
	/* Ack does not touch needs_ack 0 rows (the frist row was done by its PUBACK). */
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000022", "team-a", "varsko/t/team/team-a/frist", "{}", 0, t, &frist),
	             VARSKO_OK);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000022", "team-a", t + 60), VARSKO_OK);
	CHECK_EQ_INT(DONE_AT(s, frist), -2);
	CHECK_EQ_INT(store_outbox_puback(s, frist, t + 61), VARSKO_OK);
	CHECK_EQ_INT(DONE_AT(s, frist), t + 61);

	/* Unknown row. */
	CHECK_EQ_INT(store_outbox_puback_info(s, 999999, t, &first, &info), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(first, 0);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000021", "team-b", t + 70), VARSKO_OK);
	CHECK_EQ_INT(pending(s), 0);
}

static void test_rearm_and_tx(struct store *s)
{
	int64_t a = 0, b = 0, done = 0, ids[16];
	const int64_t t = T0 + 200000;

	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000030", "team-a", "varsko/t/team/team-a/underretning", "{}", 1, t, &a),
	        VARSKO_OK);
	CHECK_EQ_INT(store_outbox_add(s, NULL, NULL, "varsko/t/team/team-a/frist", "{}", 0, t, &done), VARSKO_OK);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000031", "team-a", "varsko/t/team/team-a/underretning", "{}", 1,
	                              t + 500, &b),
	             VARSKO_OK);
	CHECK_EQ_INT(take_ids(s, t, ids, 16), 2);
	CHECK_EQ_INT(store_outbox_puback(s, done, t), VARSKO_OK);
	CHECK_EQ_INT(take_ids(s, t + 1, ids, 16), 0);

	/* After a reconnect everything not done is due at once, also rows not yet due at all. */
	CHECK_EQ_INT(store_outbox_rearm(s, t + 1), VARSKO_OK);
	CHECK_EQ_INT(NEXT_AT(s, a), t + 1);
	CHECK_EQ_INT(NEXT_AT(s, b), t + 1);
	CHECK_EQ_INT(take_ids(s, t + 1, ids, 16), 2);
	CHECK_EQ_INT(ids[0], a);
	CHECK_EQ_INT(ids[1], b);
	/* The attempt count goes on (rearm does not reset the backoff). */
	CHECK_EQ_INT(ATTEMPTS(s, a), 2);
	CHECK_EQ_INT(NEXT_AT(s, a), t + 1 + 60);
	/* Rearm never moves a row later. */
	CHECK_EQ_INT(store_outbox_rearm(s, t + 1000), VARSKO_OK);
	CHECK_EQ_INT(NEXT_AT(s, a), t + 1 + 60);

	/* add joins the caller's transaction: a rollback removes the row. */
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000032", "team-a", "varsko/t/team/team-a/underretning", "{}", 1, t, NULL),
	        VARSKO_OK);
	CHECK_EQ_INT(pending(s), 3);
	store_rollback(s);
	CHECK_EQ_INT(pending(s), 2);
	/* ... and a commit keeps it. */
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000033", "team-a", "varsko/t/team/team-a/underretning", "{}", 1, t, NULL),
	        VARSKO_OK);
	CHECK_EQ_INT(store_commit(s), VARSKO_OK);
	CHECK_EQ_INT(pending(s), 3);
}

static int count_dead(const struct store_outbox_dead_row *d, void *arg)
{
	int *n = arg;

	CHECK_EQ_STR(d->reference, "U-2026-000040");
	CHECK_EQ_STR(d->team, "team-a");
	CHECK_EQ_STR(d->reason, "cannot_open");
	CHECK_EQ_STR(d->device, "d-agent");
	(*n)++;
	return VARSKO_OK;
}

/*
 * A dead letter is never taken, not even after a reconnect, is not in the
 * depth but is counted, and comes back (due at once, attempts from 0) only
 * with store_outbox_retry; an agent's ack still ends it.
 */
static void test_dead_letter(struct store *s)
{
	int64_t a = 0, other = 0, ids[16], depth0 = 0, depth = 0, oldest = 0, dead = 0;
	const int64_t t = T0 + 300000;
	int changed = -1, n = 0;

	CHECK_EQ_INT(store_outbox_stats(s, &depth0, &oldest, &dead), VARSKO_OK);
	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000040", "team-a", "varsko/t/team/team-a/underretning", "{}", 1, t, &a),
	        VARSKO_OK);
	CHECK_EQ_INT(store_outbox_add(s, "U-2026-000040", "team-b", "varsko/t/team/team-b/underretning", "{}", 1, t,
	                              &other),
	             VARSKO_OK);
	CHECK_EQ_INT(take_ids(s, t, ids, 16) >= 2, 1);
	CHECK_EQ_INT(store_outbox_dead(s, "U-2026-000040", "team-a", "cannot_open", "d-agent", t + 1, &changed),
	             VARSKO_OK);
	CHECK_EQ_INT(changed, 1);
	/* The same refusal again changes nothing. */
	CHECK_EQ_INT(store_outbox_dead(s, "U-2026-000040", "team-a", "cannot_open", "d-agent", t + 2, &changed),
	             VARSKO_OK);
	CHECK_EQ_INT(changed, 0);
	CHECK_EQ_INT(store_outbox_rearm(s, t + 10000), VARSKO_OK);
	{
		size_t k = take_ids(s, t + 10000, ids, 16), seen_other = 0;

		for (size_t i = 0; i < k; i++) {
			CHECK(ids[i] != a);
			seen_other += ids[i] == other;
		}
		CHECK_EQ_INT(seen_other, 1);
	}
	CHECK_EQ_INT(store_outbox_stats(s, &depth, &oldest, &dead), VARSKO_OK);
	CHECK_EQ_INT(dead, 1);
	CHECK_EQ_INT(depth, depth0 + 1);
	CHECK_EQ_INT(store_outbox_dead_foreach(s, count_dead, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);

	CHECK_EQ_INT(store_outbox_retry(s, "U-2026-000041", t + 20000, &changed), VARSKO_OK);
	CHECK_EQ_INT(changed, 0);
	CHECK_EQ_INT(store_outbox_retry(s, "U-2026-000040", t + 20000, &changed), VARSKO_OK);
	CHECK_EQ_INT(changed, 1);
	CHECK_EQ_INT(ATTEMPTS(s, a), 0);
	{
		size_t k = take_ids(s, t + 20000, ids, 16), seen_a = 0;

		for (size_t i = 0; i < k; i++)
			seen_a += ids[i] == a;
		CHECK_EQ_INT(seen_a, 1);
	}
	CHECK_EQ_INT(store_outbox_stats(s, &depth, &oldest, &dead), VARSKO_OK);
	CHECK_EQ_INT(dead, 0);

	/* Dead again, then acknowledged by the agent after all: done. */
	CHECK_EQ_INT(store_outbox_dead(s, "U-2026-000040", "team-a", "cannot_open", "d-agent", t + 30000, &changed),
	             VARSKO_OK);
	CHECK_EQ_INT(changed, 1);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000040", "team-a", t + 30001), VARSKO_OK);
	CHECK_EQ_INT(DONE_AT(s, a), t + 30001);
	CHECK_EQ_INT(store_outbox_stats(s, &depth, &oldest, &dead), VARSKO_OK);
	CHECK_EQ_INT(dead, 0);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000040", "team-b", t + 30001), VARSKO_OK);
}

/* Rows, their attempts, next_at and puback_at survive closing and reopening the database. */
/*
 * A row that keeps its envelope in its underretning (schema 13): the input
 * checks, and the envelope put back at its byte. This store has no
 * underretninger (their text is tested in test-store_flow.c), so the place
 * is filled with 'null', which the agent refuses as a dead letter: never a
 * row that stalls the outbox.
 */
static void test_envelope_once(struct store *s)
{
	struct store_outbox_row rows[4];
	const char *topic = "varsko/t/team/team-a/underretning", *skel = "{\"envelope\":,\"type\":\"underretning\"}";
	size_t n = 0, i;
	int64_t t = T0 + 50000;

	CHECK_EQ_INT(store_outbox_add_underretning(s, "U-2026-000050", "team-a", topic, skel, 0, t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add_underretning(s, "U-2026-000050", "team-a", topic, skel, strlen(skel) + 1, t),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add_underretning(s, NULL, "team-a", topic, skel, 12, t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_outbox_add_underretning(s, "U-2026-000050", "team-a", topic, skel, 12, t), VARSKO_OK);
	CHECK_EQ_INT(q_row(s, "SELECT count(*) FROM outbox WHERE envelope_at = 12 AND needs_ack = ?1", 1), 1);
	CHECK_EQ_INT(store_outbox_take(s, t, 30, 600, rows, 4, &n), VARSKO_OK);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].reference, "U-2026-000050") == 0) {
			CHECK_EQ_STR(rows[i].payload, "{\"envelope\":null,\"type\":\"underretning\"}");
			CHECK_EQ_INT(rows[i].payload_len, strlen(rows[i].payload));
			CHECK_EQ_INT(rows[i].needs_ack, 1);
		}
	CHECK(n >= 1);
	clear_rows(rows, n);
	CHECK_EQ_INT(store_outbox_ack(s, "U-2026-000050", "team-a", t), VARSKO_OK); /* test_reopen counts the rest */
}

/* The statements that find an underretning's rows by reference use outbox_reference, not a scan of every row due. */
static void test_plans(struct store *s)
{
	const enum store_sql ids[] = {SQL_OUTBOX_ACK, SQL_OUTBOX_DEAD, SQL_OUTBOX_RETRY};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char sql[1024], plan[512] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store_sql_outbox[ids[i]]);
		CHECK(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK);
		while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(st, 3);

			snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan), "%s; ", d ? d : "");
		}
		sqlite3_finalize(st);
		if (strstr(plan, "USING INDEX outbox_reference") == NULL)
			fprintf(stderr, "plan of %s: %s\n", store_sql_outbox[ids[i]], plan);
		CHECK(strstr(plan, "USING INDEX outbox_reference") != NULL);
	}
}

static void test_reopen(void)
{
	struct store *s = NULL;
	struct store_outbox_row rows[8];
	char *big;
	int64_t id = 0, ids[16];
	size_t n = 0, i, bigsz = 1u << 20;
	const int64_t t = T0 + 400000;
	int found = 0;

	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK_EQ_INT(pending(s), 3);
	if ((big = malloc(bigsz + 1)) == NULL)
		return;
	for (i = 0; i < bigsz; i++)
		big[i] = (char)('a' + i % 26);
	big[bigsz] = '\0';
	CHECK_EQ_INT(
	        store_outbox_add(s, "U-2026-000040", "team-a", "varsko/t/team/team-a/underretning", big, 1, t, &id),
	        VARSKO_OK);
	CHECK_EQ_INT(store_outbox_take(s, t, 30, 600, rows, 8, &n), VARSKO_OK);
	for (i = 0; i < n; i++)
		found += rows[i].id == id;
	CHECK_EQ_INT(found, 1);
	clear_rows(rows, n);
	CHECK_EQ_INT(store_outbox_puback(s, id, t + 1), VARSKO_OK);
	store_close(s);
	s = NULL;

	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_OK);
	if (s == NULL) {
		free(big);
		return;
	}
	CHECK_EQ_INT(pending(s), 4);
	CHECK_EQ_INT(ATTEMPTS(s, id), 1);
	CHECK_EQ_INT(NEXT_AT(s, id), t + 30);
	CHECK_EQ_INT(PUBACK_AT(s, id), t + 1);
	CHECK_EQ_INT(take_ids(s, t + 29, ids, 16), 0);
	n = 0;
	CHECK_EQ_INT(store_outbox_take(s, t + 30, 30, 600, rows, 8, &n), VARSKO_OK);
	found = 0;
	for (i = 0; i < n; i++) {
		if (rows[i].id == id) {
			found++;
			CHECK_EQ_INT(rows[i].payload_len, bigsz);
			CHECK(rows[i].payload != NULL && memcmp(rows[i].payload, big, bigsz) == 0);
			CHECK_EQ_INT(rows[i].puback_at, t + 1);
		}
	}
	CHECK_EQ_INT(found, 1);
	clear_rows(rows, n);
	free(big);
	store_close(s);
}

int main(void)
{
	struct store *s = NULL;
	char wal[300], shm[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/outbox.db", dir);
	if (store_open(&s, dbpath, 1) != VARSKO_OK) {
		fprintf(stderr, "cannot create the test database\n");
		rmdir(dir);
		return 1;
	}
	test_add_and_take(s);
	test_backoff(s);
	test_puback(s);
	test_rearm_and_tx(s);
	test_dead_letter(s);
	test_envelope_once(s);
	test_plans(s);
	store_close(s);
	test_reopen();

	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	snprintf(shm, sizeof(shm), "%s-shm", dbpath);
	unlink(wal);
	unlink(shm);
	unlink(dbpath);
	rmdir(dir);
	return check_result();
}
