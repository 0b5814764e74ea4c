/*
 * store_deadline.c: the legal deadlines of each underretning (store.h,
 * "deadlines"; DOMAIN.md "The legal deadlines the system tracks"). The rows
 * are written with the underretning; the deadline engine (deadline.c) reads
 * them and records warnings and escalations (store_deadline_fire), and
 * varskoctl report reads the period's rows (store_report_foreach); both
 * are declared in store_deadline.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flow_text.h"
#include "report.h"
#include "store-internal.h"
#include "store_deadline.h"

/* The statements of this file (store-internal.h). */
const char *const store_sql_deadline[STORE_SQL_COUNT] = {
        [SQL_DEADLINE_INSERT] =
                "INSERT INTO deadlines (reference, kind, team, due_at, warn_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        [SQL_DEADLINE_MET] = "UPDATE deadlines SET met_at = ?3, met_event = ?4"
                             " WHERE reference = ?1 AND kind = ?2 AND met_at IS NULL",
        [SQL_DEADLINE_TEAM] = "UPDATE deadlines SET team = ?2 WHERE reference = ?1 AND met_at IS NULL",
        [SQL_DEADLINE_OPEN_ALL] = "SELECT reference, kind, team, due_at, coalesce(warn_at, 0), coalesce(warned_at, 0),"
                                  " coalesce(escalated_at, 0) FROM deadlines WHERE met_at IS NULL"
                                  " ORDER BY due_at, reference, kind",
        [SQL_DEADLINE_OPEN_TEAM] = "SELECT reference, kind, team, due_at, coalesce(warn_at, 0), coalesce(warned_at, 0),"
                                   " coalesce(escalated_at, 0) FROM deadlines WHERE met_at IS NULL AND team = ?1"
                                   " ORDER BY due_at, reference, kind",
        /*
         * What is due at ?1, through deadlines_next_due (schema 11): every row
         * whose next_due has come, soonest first. A row with due_at still
         * ahead (or now) can only be due for its warning (next_due is then
         * warn_at); one whose due_at has passed is due for its escalation,
         * and a warning not sent by then is never sent. Column 4 says which.
         */
        [SQL_FIRE_DUE] = "SELECT reference, kind, team, due_at, due_at < ?1 FROM deadlines"
                         " WHERE next_due <= ?1 ORDER BY next_due, reference, kind LIMIT ?2",
        [SQL_FIRE_WARNED] = "UPDATE deadlines SET warned_at = ?3"
                            " WHERE reference = ?1 AND kind = ?2 AND warned_at IS NULL AND met_at IS NULL",
        [SQL_FIRE_ESCALATED] = "UPDATE deadlines SET escalated_at = ?3"
                               " WHERE reference = ?1 AND kind = ?2 AND escalated_at IS NULL AND met_at IS NULL",
        /* Open deadlines per team and kind for /metrics; deadlines_open (met_at, due_at) finds them. */
        [SQL_DEADLINE_COUNTS] = "SELECT team, kind, count(*), count(warned_at), count(escalated_at),"
                                " coalesce(sum(due_at < ?1), 0) FROM deadlines WHERE met_at IS NULL"
                                " GROUP BY team, kind ORDER BY team, kind",
        [SQL_TEAM_ALL] = "SELECT id, name FROM teams ORDER BY id",
        /*
         * One row per underretning of the period with its first vurderet and
         * kvitteret event (lowest seq) and its four deadlines; events_reference
         * (reference, seq) and the deadlines' primary key make the lookups cheap.
         */
        [SQL_REPORT_ITEMS] = "SELECT u.reference, u.team, u.received_at, u.outside_office,"
                             " (SELECT e.time FROM events e WHERE e.reference = u.reference AND e.kind = 'vurderet'"
                             "  ORDER BY e.seq LIMIT 1),"
                             " (SELECT e.time FROM events e WHERE e.reference = u.reference AND e.kind = 'kvitteret'"
                             "  ORDER BY e.seq LIMIT 1),"
                             " v.due_at, v.met_at, k.due_at, k.met_at, t.due_at, t.met_at, x.due_at, x.met_at"
                             " FROM underretninger u"
                             " LEFT JOIN deadlines v ON v.reference = u.reference AND v.kind = 'vurdering'"
                             " LEFT JOIN deadlines k ON k.reference = u.reference AND k.kind = 'kvittering'"
                             " LEFT JOIN deadlines t ON t.reference = u.reference AND t.kind = 'tilbagemelding'"
                             " LEFT JOIN deadlines x ON x.reference = u.reference AND x.kind = 'undersoegelse'"
                             " WHERE u.received_at >= ?1 AND u.received_at <= ?2 AND (?3 IS NULL OR u.team = ?3)"
                             " ORDER BY u.received_at, u.reference",
};

int store_deadline_add(struct store *s, const char *reference, const char *kind, const char *team, int64_t due_at,
                       int64_t warn_at)
{
	return store_write(s, SQL_DEADLINE_INSERT, "sssit", reference, kind, team, due_at, warn_at);
}

int store_deadline_met(struct store *s, const char *reference, const char *kind, int64_t at, int64_t event_seq)
{
	return store_write(s, SQL_DEADLINE_MET, "ssii", reference, kind, at, event_seq);
}

int store_deadline_set_team(struct store *s, const char *reference, const char *team)
{
	return store_write(s, SQL_DEADLINE_TEAM, "ss", reference, team);
}

struct open_each {
	int (*fn)(const struct store_deadline *d, void *arg);
	void *arg;
};

/* A row of SQL_DEADLINE_OPEN_ALL or _TEAM, handed to the caller's fn. */
static int open_row(sqlite3_stmt *st, void *arg)
{
	struct open_each *e = arg;
	struct store_deadline d;
	int r;

	memset(&d, 0, sizeof d);
	if ((r = store_col_text(st, 0, d.reference, sizeof d.reference)) != VARSKO_OK ||
	    (r = store_col_text(st, 1, d.kind, sizeof d.kind)) != VARSKO_OK ||
	    (r = store_col_text(st, 2, d.team, sizeof d.team)) != VARSKO_OK)
		return r;
	d.due_at = sqlite3_column_int64(st, 3);
	d.warn_at = sqlite3_column_int64(st, 4);
	d.warned_at = sqlite3_column_int64(st, 5);
	d.escalated_at = sqlite3_column_int64(st, 6);
	return e->fn(&d, e->arg);
}

int store_deadline_foreach_open(struct store *s, const char *team, int (*fn)(const struct store_deadline *d, void *arg),
                                void *arg)
{
	struct open_each e = {fn, arg};

	if (team != NULL)
		return store_query(s, SQL_DEADLINE_OPEN_TEAM, open_row, &e, "s", team);
	return store_query(s, SQL_DEADLINE_OPEN_ALL, open_row, &e, "");
}

/* ---- the deadline engine ---- */

/* The frist payload (flow.h) of f into f->payload. */
static int frist_payload(struct store_deadline_fired *f)
{
	char due[PROTO_TIME_LEN + 1];
	json_t *o = NULL;
	char *text = NULL;
	size_t len;
	int r = VARSKO_ERR_NOMEM;

	proto_time_format(f->due_at, due);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "frist", "reference", f->reference, "kind",
	              f->escalation ? "escalation" : "warning", "deadline", f->deadline, "due", due);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	len = strlen(text);
	if (len >= sizeof(f->payload)) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	memcpy(f->payload, text, len + 1);
	f->payload_len = len;
	r = VARSKO_OK;
out:
	free(text);
	json_decref(o);
	return r;
}

/* Mark, queue and audit one warning or escalation (inside the caller's transaction). */
static int fire_one(struct store *s, int64_t now, const char *tenant, struct store_deadline_fired *f)
{
	char topic[256], detail[192], due[PROTO_TIME_LEN + 1];
	int r;

	if ((r = store_exec(s, f->escalation ? SQL_FIRE_ESCALATED : SQL_FIRE_WARNED, "ssi", f->reference, f->deadline,
	                    now)) != VARSKO_OK)
		return r;
	if (sqlite3_changes(s->db) != 1)
		return VARSKO_ERR_INTERNAL; /* the row was read in this same transaction */
	if ((r = frist_payload(f)) != VARSKO_OK)
		return r;
	if ((r = flow_text_topic_team(topic, sizeof(topic), tenant, f->team, "frist")) != VARSKO_OK)
		return r;
	if ((r = store_outbox_add(s, f->reference, f->team, topic, f->payload, 0, now, NULL)) != VARSKO_OK)
		return r;
	proto_time_format(f->due_at, due);
	snprintf(detail, sizeof(detail), "ref=%s deadline=%s due=%s", f->reference, f->deadline, due);
	return store_audit(s, now, f->escalation ? "deadline_escalation" : "deadline_warning", "-", detail);
}

struct collect {
	struct store_deadline_fired *out;
	size_t max, got;
};

/* A row of SQL_FIRE_DUE into the next entry (LIMIT max keeps got below max). */
static int collect_row(sqlite3_stmt *st, void *arg)
{
	struct collect *c = arg;
	struct store_deadline_fired *f;
	int r;

	if (c->got == c->max)
		return VARSKO_ERR_INTERNAL;
	f = &c->out[c->got];
	memset(f, 0, sizeof(*f));
	if ((r = store_col_text(st, 0, f->reference, sizeof(f->reference))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, f->deadline, sizeof(f->deadline))) != VARSKO_OK ||
	    (r = store_col_text(st, 2, f->team, sizeof(f->team))) != VARSKO_OK)
		return r;
	f->due_at = sqlite3_column_int64(st, 3);
	f->escalation = sqlite3_column_int(st, 4) != 0;
	c->got++;
	return VARSKO_OK;
}

/* Read what is due at `now` into out[0..*got). */
static int fire_collect(struct store *s, int64_t now, struct store_deadline_fired *out, size_t max, size_t *got)
{
	struct collect c = {out, max, 0};
	int r = store_query(s, SQL_FIRE_DUE, collect_row, &c, "ii", now, (int64_t)max);

	*got = r == VARSKO_OK ? c.got : 0;
	return r;
}

int store_deadline_fire(struct store *s, int64_t now, const char *tenant, struct store_deadline_fired *out, size_t max,
                        size_t *n)
{
	size_t i, got = 0;
	int r;

	*n = 0;
	if (tenant == NULL || tenant[0] == '\0' || max == 0 || max > STORE_FIRE_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if (s->tx_open)
		return VARSKO_ERR_INTERNAL; /* the marks must commit on their own, together with the outbox rows */
	/* Almost every second nothing is due: find that out with a read, without taking the write lock. */
	if ((r = fire_collect(s, now, out, max, &got)) != VARSKO_OK || got == 0)
		return r;
	if ((r = store_begin(s)) != VARSKO_OK)
		return r;
	/* Again inside the transaction: only what is read under the write lock is marked. */
	if ((r = fire_collect(s, now, out, max, &got)) != VARSKO_OK)
		goto out;
	for (i = 0; i < got; i++) {
		if ((r = fire_one(s, now, tenant, &out[i])) != VARSKO_OK)
			goto out;
	}
	r = VARSKO_OK;
out:
	if (r == VARSKO_OK)
		r = store_commit(s);
	else
		store_rollback(s);
	if (r == VARSKO_OK)
		*n = got;
	return r;
}

/* ---- reports ---- */

struct team_each {
	int (*fn)(const char *id, const char *name, void *arg);
	void *arg;
};

static int team_row(sqlite3_stmt *st, void *arg)
{
	struct team_each *e = arg;

	return e->fn((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1), e->arg);
}

int store_team_foreach(struct store *s, int (*fn)(const char *id, const char *name, void *arg), void *arg)
{
	struct team_each e = {fn, arg};

	return store_query(s, SQL_TEAM_ALL, team_row, &e, "");
}

/* ---- metrics (read only) ---- */

struct count_each {
	int (*fn)(const struct store_deadline_count *c, void *arg);
	void *arg;
};

static int count_row(sqlite3_stmt *st, void *arg)
{
	struct count_each *e = arg;
	struct store_deadline_count c;
	char team[PROTO_ID_MAX + 1], kind[16];
	int r;

	if ((r = store_col_text(st, 0, team, sizeof(team))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, kind, sizeof(kind))) != VARSKO_OK)
		return r;
	c.team = team;
	c.kind = kind;
	c.due = sqlite3_column_int64(st, 2);
	c.warned = sqlite3_column_int64(st, 3);
	c.escalated = sqlite3_column_int64(st, 4);
	c.overdue = sqlite3_column_int64(st, 5);
	return e->fn(&c, e->arg);
}

int store_deadline_counts(struct store *s, int64_t now, int (*fn)(const struct store_deadline_count *c, void *arg),
                          void *arg)
{
	struct count_each e = {fn, arg};

	return store_query(s, SQL_DEADLINE_COUNTS, count_row, &e, "i", now);
}

struct report_each {
	int (*fn)(const struct report_item *item, void *arg);
	void *arg;
};

/* A row of SQL_REPORT_ITEMS, handed to the caller's fn. */
static int report_row(sqlite3_stmt *st, void *arg)
{
	struct report_each *e = arg;
	struct report_item it;
	int k, r;

	memset(&it, 0, sizeof(it));
	if ((r = store_col_text(st, 0, it.reference, sizeof(it.reference))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, it.team, sizeof(it.team))) != VARSKO_OK)
		return r;
	it.received_at = sqlite3_column_int64(st, 2);
	it.outside_office = sqlite3_column_int(st, 3) != 0;
	it.vurderet_at = store_col_int(st, 4);
	it.kvitteret_at = store_col_int(st, 5);
	for (k = 0; k < REPORT_DL_COUNT; k++) {
		it.dl[k].present = sqlite3_column_type(st, 6 + 2 * k) != SQLITE_NULL;
		it.dl[k].due_at = store_col_int(st, 6 + 2 * k);
		it.dl[k].met_at = store_col_int(st, 7 + 2 * k);
	}
	return e->fn(&it, e->arg);
}

int store_report_foreach(struct store *s, int64_t from, int64_t to, const char *team,
                         int (*fn)(const struct report_item *item, void *arg), void *arg)
{
	struct report_each e = {fn, arg};

	return store_query(s, SQL_REPORT_ITEMS, report_row, &e, "iis", from, to, team);
}

struct report_teams {
	struct report_input *in;
	int found;
};

static int report_add_team(const char *id, const char *name, void *arg)
{
	struct report_teams *t = arg;

	if (t->in->team[0] != '\0' && strcmp(t->in->team, id) != 0)
		return VARSKO_OK;
	t->found = 1;
	return report_input_add_team(t->in, id, name);
}

static int report_add_item(const struct report_item *item, void *arg)
{
	return report_input_add_item(arg, item);
}

int store_report_read(struct store *s, struct report_input *in)
{
	struct report_teams t = {in, 0};
	int64_t from_at, to_at;
	int r;

	if (report_period(&in->from, &in->to, &from_at, &to_at) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_team_foreach(s, report_add_team, &t)) != VARSKO_OK)
		return r;
	if (in->team[0] != '\0' && !t.found)
		return VARSKO_ERR_NOT_FOUND;
	return store_report_foreach(s, from_at, to_at, in->team[0] != '\0' ? in->team : NULL, report_add_item, in);
}
