/*
 * store_deadline.c: the legal deadlines of each underretning (store.h,
 * "deadlines"; DOMAIN.md "The legal deadlines the system tracks"). The rows
 * are written with the underretning; the deadline engine (deadline.c) reads
 * them and records warnings and escalations.
 */
#include <stdio.h>
#include <string.h>

#include "store-internal.h"

static const char sql_deadline_insert[] =
        "INSERT INTO deadlines (reference, kind, team, due_at, warn_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_deadline_met[] =
        "UPDATE deadlines SET met_at = ?3, met_event = ?4 WHERE reference = ?1 AND kind = ?2 AND met_at IS NULL";
static const char sql_deadline_team[] = "UPDATE deadlines SET team = ?2 WHERE reference = ?1 AND met_at IS NULL";
static const char sql_deadline_open_all[] =
        "SELECT reference, kind, team, due_at, coalesce(warn_at, 0), coalesce(warned_at, 0),"
        " coalesce(escalated_at, 0) FROM deadlines WHERE met_at IS NULL ORDER BY due_at, reference, kind";
static const char sql_deadline_open_team[] =
        "SELECT reference, kind, team, due_at, coalesce(warn_at, 0), coalesce(warned_at, 0),"
        " coalesce(escalated_at, 0) FROM deadlines WHERE met_at IS NULL AND team = ?1"
        " ORDER BY due_at, reference, kind";

int store_deadline_add(struct store *s, const char *reference, const char *kind, const char *team, int64_t due_at,
                       int64_t warn_at)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_deadline_insert)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, team, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, due_at);
	if (warn_at > 0)
		sqlite3_bind_int64(st, 5, warn_at);
	else
		sqlite3_bind_null(st, 5);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_deadline_met(struct store *s, const char *reference, const char *kind, int64_t at, int64_t event_seq)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_deadline_met)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, event_seq);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_deadline_set_team(struct store *s, const char *reference, const char *team)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_deadline_team)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_deadline_foreach_open(struct store *s, const char *team,
                                int (*fn)(const struct store_deadline *d, void *arg), void *arg)
{
	struct store_deadline d;
	sqlite3_stmt *st;
	int rc, r = VARSKO_OK;

	if ((st = store_stmt(s, team ? sql_deadline_open_team : sql_deadline_open_all)) == NULL)
		return VARSKO_ERR_DB;
	if (team)
		sqlite3_bind_text(st, 1, team, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&d, 0, sizeof d);
		snprintf(d.reference, sizeof d.reference, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(d.kind, sizeof d.kind, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(d.team, sizeof d.team, "%s", (const char *)sqlite3_column_text(st, 2));
		d.due_at = sqlite3_column_int64(st, 3);
		d.warn_at = sqlite3_column_int64(st, 4);
		d.warned_at = sqlite3_column_int64(st, 5);
		d.escalated_at = sqlite3_column_int64(st, 6);
		if ((r = fn(&d, arg)) != VARSKO_OK)
			break;
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	return r;
}
