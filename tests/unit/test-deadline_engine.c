/*
 * test-deadline_engine.c: gateway/deadline_plan.c: deadline_plan() and the
 * store side of the engine, store_deadline_fire() (store_deadline.h), on a
 * real SQLite database in a temporary directory.
 *
 * The plan: the example (received Monday 23 November 2026 10:00
 * +01:00), a receipt just before the spring clock change and Easter, one
 * before the autumn change, Christmas with a 3-hverdage warning, and the
 * "no warning" settings. Expected instants are counted by hand here.
 *
 * The fire function: nothing before warn_at, exactly one warning at
 * warn_at, not again on the next tick or after reopening the store, one
 * escalation only after due_at, none for a deadline met in time, a warning
 * but no escalation for one met between, nothing when the clock goes back,
 * no warning sent after the deadline passed (only the escalation), the
 * tilbagemelding target never fires, a failure marks nothing, the batch
 * limit, and the outbox rows and audit entries that go with each.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "calendar.h"
#include "check.h"
#include "config.h"
#include "deadline_plan.h"
#include "flow.h"
#include "store-internal.h"
#include "store.h"
#include "store_deadline.h"

static char dir[] = "/tmp/varsko-test-deadline-engine-XXXXXX";
static char dbpath[256];

static int64_t at(const char *rfc3339)
{
	int64_t t = 0;

	if (cal_parse_rfc3339(rfc3339, &t) != VARSKO_OK) {
		fprintf(stderr, "bad time in the test: %s\n", rfc3339);
		exit(2);
	}
	return t;
}

static const char *fmt(int64_t t)
{
	static char buf[4][CAL_TIME_LEN + 1];
	static int i;

	i = (i + 1) % 4;
	if (t == 0)
		return "0";
	cal_format_utc(t, buf[i]);
	return buf[i];
}

static struct config plan_cfg(int vurdering_minutes, int kvittering_hverdage, int tilbage_days)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.tenant = (char *)"slagelse";
	c.warn_vurdering_minutes = vurdering_minutes;
	c.warn_kvittering_hverdage = kvittering_hverdage;
	c.tilbagemelding_days = tilbage_days;
	return c;
}

/* Plan `received` and compare every row with the expected UTC texts ("0": no warning). */
static void check_plan(const struct config *c, const char *received, const char *v_due, const char *v_warn,
                       const char *k_due, const char *k_warn, const char *t_due)
{
	struct deadline_plan_row rows[DEADLINE_PLAN_MAX];
	size_t n = 99;

	CHECK_EQ_INT(deadline_plan(c, at(received), rows, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 3);
	if (n != 3)
		return;
	CHECK_EQ_STR(rows[0].kind, "vurdering");
	CHECK_EQ_STR(fmt(rows[0].due_at), v_due);
	CHECK_EQ_STR(fmt(rows[0].warn_at), v_warn);
	CHECK_EQ_STR(rows[1].kind, "kvittering");
	CHECK_EQ_STR(fmt(rows[1].due_at), k_due);
	CHECK_EQ_STR(fmt(rows[1].warn_at), k_warn);
	CHECK_EQ_STR(rows[2].kind, "tilbagemelding");
	CHECK_EQ_STR(fmt(rows[2].due_at), t_due);
	CHECK_EQ_INT(rows[2].warn_at, 0);
}

static void test_plan(void)
{
	struct config c = plan_cfg(240, 1, 30), none = plan_cfg(0, 0, 30), three = plan_cfg(240, 3, 10);
	struct deadline_plan_row rows[DEADLINE_PLAN_MAX];
	size_t n;

	/* The example: warnings 4 hours before and at the end of Monday 30 November. */
	check_plan(&c, "2026-11-23T10:00:00+01:00", "2026-11-24T09:00:00Z", "2026-11-24T05:00:00Z",
	           "2026-12-01T22:59:59Z", "2026-11-30T22:59:59Z", "2026-12-23T22:59:59Z");
	/* Any time of that Monday gives the same kvittering and its warning. */
	check_plan(&c, "2026-11-23T00:00:00+01:00", "2026-11-23T23:00:00Z", "2026-11-23T19:00:00Z",
	           "2026-12-01T22:59:59Z", "2026-11-30T22:59:59Z", "2026-12-23T22:59:59Z");

	/*
	 * Saturday 28 March 2026 10:00 CET, the day before the spring change
	 * and a week before Easter (5 April): the vurdering is 24 real hours
	 * later (11:00 CEST). Hverdage: Mon 30, Tue 31, Wed 1 April, then
	 * skærtorsdag 2, langfredag 3, weekend, 2. påskedag 6, so Tue 7, Wed 8,
	 * Thu 9: due at the end of Thursday 9 April in CEST, warned at the end
	 * of Wednesday 8 April.
	 */
	check_plan(&c, "2026-03-28T10:00:00+01:00", "2026-03-29T09:00:00Z", "2026-03-29T05:00:00Z",
	           "2026-04-09T21:59:59Z", "2026-04-08T21:59:59Z", "2026-04-27T21:59:59Z");

	/*
	 * Saturday 24 October 2026 12:00 CEST, the day before the autumn change:
	 * Mon 26 .. Fri 30 are hverdage 1..5, Monday 2 November the 6th, in CET.
	 * The warning (end of Friday 30 October) is in CET as well.
	 */
	check_plan(&c, "2026-10-24T12:00:00+02:00", "2026-10-25T10:00:00Z", "2026-10-25T06:00:00Z",
	           "2026-11-02T22:59:59Z", "2026-10-30T22:59:59Z", "2026-11-23T22:59:59Z");

	/*
	 * Friday 18 December 2026, 3 hverdage of warning: Mon 21, Tue 22, Wed 23,
	 * (24, 25 holidays, weekend) Mon 28, Tue 29, Wed 30 is the 6th. Three
	 * hverdage before Wednesday 30: Tue 29, Mon 28, Wed 23 December.
	 */
	check_plan(&three, "2026-12-18T14:00:00+01:00", "2026-12-19T13:00:00Z", "2026-12-19T09:00:00Z",
	           "2026-12-30T22:59:59Z", "2026-12-23T22:59:59Z", "2026-12-28T22:59:59Z");

	/* Received on Friday at 23:59 local: the date of receipt is Friday. */
	check_plan(&c, "2026-11-27T23:59:00+01:00", "2026-11-28T22:59:00Z", "2026-11-28T18:59:00Z",
	           "2026-12-07T22:59:59Z", "2026-12-04T22:59:59Z", "2026-12-27T22:59:59Z");

	/* 0 minutes and 0 hverdage: no warnings at all. */
	check_plan(&none, "2026-11-23T10:00:00+01:00", "2026-11-24T09:00:00Z", "0", "2026-12-01T22:59:59Z", "0",
	           "2026-12-23T22:59:59Z");

	/* The whole day of warning: warned at receipt (never before it). */
	{
		struct config full = plan_cfg(1440, 5, 0);

		CHECK_EQ_INT(deadline_plan(&full, at("2026-11-23T10:00:00+01:00"), rows, &n), VARSKO_OK);
		CHECK_EQ_STR(fmt(rows[0].warn_at), "2026-11-23T09:00:00Z");
		/* 5 hverdage before Tuesday 1 December: Monday 24 November (the 1st after receipt). */
		CHECK_EQ_STR(fmt(rows[1].warn_at), "2026-11-24T22:59:59Z");
		CHECK_EQ_STR(fmt(rows[2].due_at), "2026-11-23T22:59:59Z");
	}

	/* Outside the calendar and bad arguments. */
	n = 7;
	CHECK_EQ_INT(deadline_plan(&c, at("2100-01-05T10:00:00Z"), rows, &n), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(deadline_plan(&c, at("2099-12-31T10:00:00Z"), rows, &n), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(deadline_plan(NULL, at("2026-11-23T10:00:00Z"), rows, &n), VARSKO_ERR_BAD_INPUT);
	{
		struct config bad = plan_cfg(240, 6, 30);

		CHECK_EQ_INT(deadline_plan(&bad, at("2026-11-23T10:00:00Z"), rows, &n), VARSKO_ERR_BAD_INPUT);
	}
}

/* ---- the fire function on a real database ------------------------------ */

static sqlite3 *raw_open(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(dbpath, &db) != SQLITE_OK) {
		fprintf(stderr, "cannot open %s\n", dbpath);
		exit(1);
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(const char *sql)
{
	sqlite3 *db = raw_open();
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "fixture SQL failed: %s\n", err ? err : "?");
		sqlite3_free(err);
		exit(1);
	}
	sqlite3_close(db);
}

/* One integer from a query with one text parameter (NULL: none). */
static long long raw_int(const char *sql, const char *param)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (param)
			sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/*
 * An underretning row, inserted on a connection of our own without
 * foreign-key enforcement (the users, devices and institutions it names do
 * not matter here), then its planned deadlines through the store.
 */
static void add_underretning(struct store **s, const char *ref, const char *team, int64_t received)
{
	struct config c = plan_cfg(240, 1, 30);
	struct deadline_plan_row rows[DEADLINE_PLAN_MAX];
	char sql[1024];
	size_t i, n = 0;

	snprintf(sql, sizeof(sql),
	         "INSERT INTO underretninger (reference, submission, sender_user, sender_device, institution, team,"
	         " first_team, age_group, akut, handicap, outside_office, created_at, received_at, envelope,"
	         " envelope_hash, receipt) VALUES ('%s', 's-%s', 'u', 'd', 'i', '%s', '%s', '0-2', 0, 0, 0, %lld,"
	         " %lld, '{}', x'00', '{}')",
	         ref, ref, team, team, (long long)received, (long long)received);
	raw_exec(sql);
	CHECK_EQ_INT(deadline_plan(&c, received, rows, &n), VARSKO_OK);
	for (i = 0; i < n; i++)
		CHECK_EQ_INT(store_deadline_add(*s, ref, rows[i].kind, team, rows[i].due_at, rows[i].warn_at),
		             VARSKO_OK);
}

static struct store_deadline_fired fired[STORE_FIRE_MAX];

/* Fire at `now`; returns how many were recorded (-1 on an error). */
static int fire(struct store *s, int64_t now)
{
	size_t n = 99;
	int r = store_deadline_fire(s, now, "slagelse", fired, STORE_FIRE_MAX, &n);

	if (r != VARSKO_OK) {
		fprintf(stderr, "store_deadline_fire at %s: %s\n", fmt(now), varsko_err_name(r));
		return -1;
	}
	return (int)n;
}

static long long outbox_count(void)
{
	return raw_int("SELECT count(*) FROM outbox", NULL);
}

static long long audit_count(const char *event)
{
	return raw_int("SELECT count(*) FROM audit WHERE event = ?1", event);
}

/* The payload is exactly the flow.h frist object and parses as both the MQTT payload and the frame. */
static void check_payload(const struct store_deadline_fired *f, const char *ref, const char *kind, const char *deadline,
                          const char *due)
{
	char want[STORE_FRIST_PAYLOAD_MAX];
	json_t *o = NULL;
	enum flow_type t = FLOW_T_NONE;
	const char *detail = NULL;

	snprintf(want, sizeof(want),
	         "{\"deadline\":\"%s\",\"due\":\"%s\",\"kind\":\"%s\",\"reference\":\"%s\","
	         "\"type\":\"frist\"}",
	         deadline, due, kind, ref);
	CHECK_EQ_STR(f->payload, want);
	CHECK_EQ_INT(f->payload_len, strlen(want));
	CHECK_EQ_STR(f->reference, ref);
	CHECK_EQ_STR(f->deadline, deadline);
	CHECK_EQ_INT(f->escalation, strcmp(kind, "escalation") == 0);
	CHECK_EQ_INT(flow_mqtt_parse(f->payload, f->payload_len, &o, &t, &detail), VARSKO_OK);
	CHECK_EQ_INT(t, FLOW_T_FRIST);
	json_decref(o);
	o = NULL;
	CHECK_EQ_INT(flow_frame_parse(f->payload, f->payload_len, &o, &t, NULL, &detail), VARSKO_OK);
	CHECK_EQ_INT(t, FLOW_T_FRIST);
	json_decref(o);
}

/* store_deadline_counts() rows as "team/kind:due,warned,escalated,overdue;" in order. */
static int count_cat(const struct store_deadline_count *c, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s/%s:%lld,%lld,%lld,%lld;", c->team, c->kind, (long long)c->due,
	         (long long)c->warned, (long long)c->escalated, (long long)c->overdue);
	return VARSKO_OK;
}

static void check_counts(struct store *s, int64_t now, const char *want)
{
	char got[1024] = "";

	CHECK_EQ_INT(store_deadline_counts(s, now, count_cat, got), VARSKO_OK);
	CHECK_EQ_STR(got, want);
}

static void reopen(struct store **s)
{
	store_close(*s);
	*s = NULL;
	CHECK_EQ_INT(store_open(s, dbpath, 0), VARSKO_OK);
}

/*
 * The tick's query finds due work through deadlines_next_due, so its cost
 * does not grow with the open deadlines: its plan searches that index and
 * scans no table, and with 40,000 more open deadlines that are not due
 * (20,000 ahead, 20,000 already escalated) a tick with nothing due still
 * steps the statement only a few times.
 */
static void test_fire_index(int64_t now)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st = NULL;
	char sql[2048];
	int uses_index = 0, scans = 0, rows = 0;

	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store_sql_deadline[SQL_FIRE_DUE]);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		if (detail == NULL)
			continue;
		uses_index += strstr(detail, "USING INDEX deadlines_next_due") != NULL;
		scans += strncmp(detail, "SCAN", 4) == 0;
	}
	sqlite3_finalize(st);
	CHECK_EQ_INT(uses_index, 1);
	CHECK_EQ_INT(scans, 0);

	snprintf(sql, sizeof(sql),
	         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
	         " INSERT INTO deadlines (reference, kind, team, due_at, warn_at, escalated_at)"
	         " SELECT 'B-' || i, 'vurdering', 'team-ung', %lld + i, %lld + i, NULL FROM n"
	         " UNION ALL SELECT 'C-' || i, 'kvittering', 'team-ung', %lld - i, NULL, %lld FROM n",
	         (long long)now + 86400, (long long)now + 3600, (long long)now - 86400, (long long)now - 60);
	raw_exec(sql);
	CHECK(sqlite3_prepare_v2(db, store_sql_deadline[SQL_FIRE_DUE], -1, &st, NULL) == SQLITE_OK);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, STORE_FIRE_MAX);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		rows++;
	CHECK_EQ_INT(rows, 0);
	CHECK_EQ_INT(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
	CHECK(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0) < 200);
	/* The same statement an hour later finds the first 16 of the deadlines ahead, warnings first by time. */
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, now + 3600 + 16);
	rows = 0;
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		rows++;
		CHECK_EQ_INT(sqlite3_column_int(st, 4), 0);
	}
	CHECK_EQ_INT(rows, 16);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_fire(void)
{
	struct store *s = NULL;
	const int64_t r0 = at("2026-11-23T10:00:00+01:00");
	const int64_t v_warn = at("2026-11-24T05:00:00Z"), v_due = at("2026-11-24T09:00:00Z");
	const int64_t k_warn = at("2026-11-30T22:59:59Z"), k_due = at("2026-12-01T22:59:59Z");
	const int64_t t_due = at("2026-12-23T22:59:59Z");
	uint64_t count = 0, bad = 0;
	char longtenant[300];
	size_t n;

	CHECK_EQ_INT(store_open(&s, dbpath, 1), VARSKO_OK);
	if (s == NULL)
		return;
	raw_exec("INSERT INTO teams (id, name) VALUES ('team-slagelse', 'Team Slagelse'), ('team-ung', 'Team Ung')");
	add_underretning(&s, "U-2026-000001", "team-slagelse", r0); /* nobody assesses it */
	add_underretning(&s, "U-2026-000002", "team-slagelse", r0); /* assessed in time, before the warning */
	add_underretning(&s, "U-2026-000003", "team-ung", r0);      /* assessed after the warning, in time */

	/* Nothing at receipt, nothing one second before the warning. */
	CHECK_EQ_INT(fire(s, r0), 0);
	CHECK_EQ_INT(fire(s, v_warn - 1), 0);
	CHECK_EQ_INT(outbox_count(), 0);

	/* U-2 is assessed an hour after receipt: met in time. */
	CHECK_EQ_INT(store_deadline_met(s, "U-2026-000002", "vurdering", r0 + 3600, 1), VARSKO_OK);

	/* A failure inside the transaction (a topic too long for the outbox) marks nothing. */
	memset(longtenant, 'x', sizeof(longtenant) - 1);
	longtenant[sizeof(longtenant) - 1] = '\0';
	n = 9;
	CHECK(store_deadline_fire(s, v_warn, longtenant, fired, STORE_FIRE_MAX, &n) != VARSKO_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(outbox_count(), 0);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM deadlines WHERE warned_at IS NOT NULL", NULL), 0);
	CHECK_EQ_INT(audit_count("deadline_warning"), 0);

	/* Exactly at warn_at: the two unassessed vurderinger (U-1, U-3) are warned, soonest first, by reference. */
	CHECK_EQ_INT(fire(s, v_warn), 2);
	check_payload(&fired[0], "U-2026-000001", "warning", "vurdering", "2026-11-24T09:00:00Z");
	CHECK_EQ_STR(fired[0].team, "team-slagelse");
	check_payload(&fired[1], "U-2026-000003", "warning", "vurdering", "2026-11-24T09:00:00Z");
	CHECK_EQ_STR(fired[1].team, "team-ung");
	CHECK_EQ_INT(outbox_count(), 2);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM outbox WHERE topic = ?1 AND needs_ack = 0 AND reference ="
	                     " 'U-2026-000001' AND done_at IS NULL",
	                     "varsko/slagelse/team/team-slagelse/frist"),
	             1);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM outbox WHERE topic = ?1 AND reference = 'U-2026-000003'",
	                     "varsko/slagelse/team/team-ung/frist"),
	             1);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM outbox WHERE payload LIKE '%\"kind\":\"warning\"%'", NULL), 2);
	CHECK_EQ_INT(audit_count("deadline_warning"), 2);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM audit WHERE detail = ?1",
	                     "ref=U-2026-000001 deadline=vurdering due=2026-11-24T09:00:00Z"),
	             1);
	CHECK_EQ_INT(
	        raw_int("SELECT warned_at FROM deadlines WHERE reference = ?1 AND kind = 'vurdering'", "U-2026-000001"),
	        v_warn);

	/* The next tick, and a restart: nothing again. */
	CHECK_EQ_INT(fire(s, v_warn + 1), 0);
	reopen(&s);
	CHECK_EQ_INT(fire(s, v_warn + 2), 0);
	CHECK_EQ_INT(outbox_count(), 2);

	/* U-3 is assessed after the warning, still in time (at the deadline itself). */
	CHECK_EQ_INT(store_deadline_met(s, "U-2026-000003", "vurdering", v_due, 2), VARSKO_OK);

	/* At due_at the deadline has not passed: a vurderet signed at due_at is in time. */
	CHECK_EQ_INT(fire(s, v_due), 0);
	/* One second later U-1 escalates, and only U-1. */
	CHECK_EQ_INT(fire(s, v_due + 1), 1);
	check_payload(&fired[0], "U-2026-000001", "escalation", "vurdering", "2026-11-24T09:00:00Z");
	CHECK_EQ_INT(audit_count("deadline_escalation"), 1);
	CHECK_EQ_INT(fire(s, v_due + 2), 0);
	reopen(&s);
	CHECK_EQ_INT(fire(s, v_due + 60), 0);
	CHECK_EQ_INT(outbox_count(), 3);

	/* The metrics' view: open deadlines per team and kind; met ones (U-2's and U-3's vurdering) are gone. */
	check_counts(s, v_due + 60,
	             "team-slagelse/kvittering:2,0,0,0;team-slagelse/tilbagemelding:2,0,0,0;"
	             "team-slagelse/vurdering:1,1,1,1;team-ung/kvittering:1,0,0,0;team-ung/tilbagemelding:1,0,0,0;");
	/* Before the deadline passed the same vurdering is warned but not overdue. */
	check_counts(s, v_due,
	             "team-slagelse/kvittering:2,0,0,0;team-slagelse/tilbagemelding:2,0,0,0;"
	             "team-slagelse/vurdering:1,1,1,0;team-ung/kvittering:1,0,0,0;team-ung/tilbagemelding:1,0,0,0;");

	/* The clock goes back to before everything: nothing new. */
	CHECK_EQ_INT(fire(s, r0 - 86400), 0);
	CHECK_EQ_INT(fire(s, v_warn), 0);
	CHECK_EQ_INT(outbox_count(), 3);

	/* U-2 and U-3 get their kvittering in time; U-1 does not. */
	CHECK_EQ_INT(store_deadline_met(s, "U-2026-000002", "kvittering", k_warn - 7200, 3), VARSKO_OK);
	CHECK_EQ_INT(store_deadline_met(s, "U-2026-000003", "kvittering", k_warn - 3600, 4), VARSKO_OK);
	CHECK_EQ_INT(fire(s, k_warn - 1), 0);
	CHECK_EQ_INT(fire(s, k_warn), 1);
	check_payload(&fired[0], "U-2026-000001", "warning", "kvittering", "2026-12-01T22:59:59Z");
	CHECK_EQ_INT(fire(s, k_due), 0);
	CHECK_EQ_INT(fire(s, k_due + 1), 1);
	check_payload(&fired[0], "U-2026-000001", "escalation", "kvittering", "2026-12-01T22:59:59Z");

	/* The tilbagemelding target passes unmet: reported, never warned or escalated. */
	CHECK_EQ_INT(fire(s, t_due + 86400), 0);
	CHECK_EQ_INT(outbox_count(), 5);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM deadlines WHERE kind = 'tilbagemelding' AND (warned_at IS NOT NULL"
	                     " OR escalated_at IS NOT NULL)",
	                     NULL),
	             0);
	/* U-2 and U-3 were never escalated; U-2 was never warned either. */
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM outbox WHERE reference = ?1", "U-2026-000002"), 0);
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM outbox WHERE reference = ?1", "U-2026-000003"), 1);

	/*
	 * varskod was down from before the warning until after the deadline
	 * (U-4): at the first tick after, only the escalation goes out; a
	 * warning for a deadline that has passed would be noise.
	 */
	add_underretning(&s, "U-2026-000004", "team-ung", at("2027-01-04T09:00:00+01:00"));
	CHECK_EQ_INT(fire(s, at("2027-01-05T08:00:01Z")), 1);
	check_payload(&fired[0], "U-2026-000004", "escalation", "vurdering", "2027-01-05T08:00:00Z");
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM deadlines WHERE reference = ?1 AND warned_at IS NOT NULL",
	                     "U-2026-000004"),
	             0);
	CHECK_EQ_INT(fire(s, at("2027-01-05T08:00:02Z")), 0);

	/* U-4's kvittering (end of Tuesday 12 January 2027) passes too: escalated, never warned. */
	CHECK_EQ_INT(fire(s, at("2027-01-31T00:00:00Z")), 1);
	check_payload(&fired[0], "U-2026-000004", "escalation", "kvittering", "2027-01-12T22:59:59Z");

	/* The batch limit: three due at once, handled one per call, soonest first, never twice. */
	add_underretning(&s, "U-2026-000005", "team-ung", at("2027-02-01T09:00:00+01:00"));
	add_underretning(&s, "U-2026-000006", "team-ung", at("2027-02-01T09:00:01+01:00"));
	add_underretning(&s, "U-2026-000007", "team-slagelse", at("2027-02-01T09:00:02+01:00"));
	n = 0;
	CHECK_EQ_INT(store_deadline_fire(s, at("2027-02-02T05:00:05Z"), "slagelse", fired, 1, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(fired[0].reference, "U-2026-000005");
	CHECK_EQ_INT(store_deadline_fire(s, at("2027-02-02T05:00:05Z"), "slagelse", fired, 1, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(fired[0].reference, "U-2026-000006");
	CHECK_EQ_INT(store_deadline_fire(s, at("2027-02-02T05:00:05Z"), "slagelse", fired, 1, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(fired[0].reference, "U-2026-000007");
	CHECK_EQ_INT(store_deadline_fire(s, at("2027-02-02T05:00:05Z"), "slagelse", fired, 1, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 0);

	/* Bad arguments, and a caller's open transaction, are refused. */
	CHECK_EQ_INT(store_deadline_fire(s, v_warn, "", fired, STORE_FIRE_MAX, &n), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_deadline_fire(s, v_warn, "slagelse", fired, 0, &n), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_deadline_fire(s, v_warn, "slagelse", fired, STORE_FIRE_MAX + 1, &n), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(store_deadline_fire(s, v_warn, "slagelse", fired, STORE_FIRE_MAX, &n), VARSKO_ERR_INTERNAL);
	store_rollback(s);

	/* Every warning and escalation is in the intact audit chain. */
	CHECK_EQ_INT(audit_count("deadline_warning"), 6);
	CHECK_EQ_INT(audit_count("deadline_escalation"), 4);
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
	CHECK(count >= 8);
	store_close(s);
	test_fire_index(at("2027-02-02T05:00:05Z"));
}

int main(void)
{
	char p[300];

	if (sodium_init() < 0) {
		fprintf(stderr, "libsodium cannot be initialised\n");
		return 1;
	}
	test_plan();
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/varsko.db", dir);
	test_fire();
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	unlink(dbpath);
	rmdir(dir);
	return check_result();
}
