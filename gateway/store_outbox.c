/*
 * store_outbox.c: the MQTT outbox of the store (store.h, "outbox"). The
 * outbox table is the source of truth for what still has to reach the
 * broker; see DESIGN.md "The underretning flow", step 5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static const char sql_outbox_insert[] =
        "INSERT INTO outbox (reference, team, topic, payload, needs_ack, created_at, attempts, next_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)";
static const char sql_outbox_due[] =
        "SELECT id, coalesce(reference, ''), coalesce(team, ''), topic, payload, needs_ack, attempts,"
        " coalesce(puback_at, 0) FROM outbox WHERE done_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT ?2";
static const char sql_outbox_attempt[] = "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1";
static const char sql_outbox_row[] =
        "SELECT coalesce(reference, ''), coalesce(team, ''), topic, needs_ack, attempts, coalesce(puback_at, 0)"
        " FROM outbox WHERE id = ?1";
static const char sql_outbox_puback[] =
        "UPDATE outbox SET puback_at = coalesce(puback_at, ?2),"
        " done_at = CASE WHEN needs_ack = 0 THEN coalesce(done_at, ?2) ELSE done_at END WHERE id = ?1";
static const char sql_outbox_ack[] =
        "UPDATE outbox SET done_at = ?3 WHERE reference = ?1 AND team = ?2 AND needs_ack = 1 AND done_at IS NULL";
static const char sql_outbox_rearm[] = "UPDATE outbox SET next_at = ?1 WHERE done_at IS NULL AND next_at > ?1";
static const char sql_outbox_pending[] = "SELECT count(*) FROM outbox WHERE done_at IS NULL";

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void store_outbox_row_clear(struct store_outbox_row *r)
{
	if (r == NULL)
		return;
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

int store_outbox_add(struct store *s, const char *reference, const char *team, const char *topic, const char *payload,
                     int needs_ack, int64_t now, int64_t *id_out)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if (topic == NULL || topic[0] == '\0' || strlen(topic) >= sizeof(((struct store_outbox_row *)0)->topic) ||
	    payload == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_outbox_insert)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	bind_opt_text(st, 1, reference);
	bind_opt_text(st, 2, team);
	sqlite3_bind_text(st, 3, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, needs_ack ? 1 : 0);
	sqlite3_bind_int64(st, 6, now);
	if ((r = store_step_done(st)) != VARSKO_OK)
		goto out;
	if (id_out)
		*id_out = sqlite3_last_insert_rowid(s->db);
	r = VARSKO_OK;
out:
	return store_tx_end(s, own, r);
}

static int64_t backoff(int64_t attempts, int first, int max)
{
	int64_t b = first > 0 ? first : 1;

	while (attempts-- > 0 && b < max)
		b *= 2;
	return b > max ? max : b;
}

int store_outbox_take(struct store *s, int64_t now, int backoff_first, int backoff_max, struct store_outbox_row *rows,
                      size_t max, size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0, i;
	int own = 0, rc, r;

	*n = 0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_outbox_due)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (k < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_outbox_row *o = &rows[k];
		const unsigned char *p = sqlite3_column_text(st, 4);
		int len = sqlite3_column_bytes(st, 4);

		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(st, 0);
		snprintf(o->reference, sizeof(o->reference), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(o->team, sizeof(o->team), "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(o->topic, sizeof(o->topic), "%s", (const char *)sqlite3_column_text(st, 3));
		if ((o->payload = malloc((size_t)len + 1)) == NULL) {
			sqlite3_reset(st);
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		memcpy(o->payload, p ? (const char *)p : "", (size_t)len);
		o->payload[len] = '\0';
		o->payload_len = (size_t)len;
		o->needs_ack = sqlite3_column_int(st, 5);
		o->attempts = sqlite3_column_int64(st, 6);
		o->puback_at = sqlite3_column_int64(st, 7);
		k++;
	}
	sqlite3_reset(st);
	for (i = 0; i < k; i++) {
		if ((st = store_stmt(s, sql_outbox_attempt)) == NULL) {
			r = VARSKO_ERR_DB;
			goto out;
		}
		sqlite3_bind_int64(st, 1, rows[i].id);
		sqlite3_bind_int64(st, 2, now + backoff(rows[i].attempts, backoff_first, backoff_max));
		if ((r = store_step_done(st)) != VARSKO_OK)
			goto out;
	}
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r == VARSKO_OK) {
		*n = k;
	} else {
		for (i = 0; i < k; i++)
			store_outbox_row_clear(&rows[i]);
	}
	return r;
}

static int exec_id_time(struct store *s, const char *sql, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_outbox_puback(struct store *s, int64_t id, int64_t now)
{
	return exec_id_time(s, sql_outbox_puback, id, now);
}

int store_outbox_puback_info(struct store *s, int64_t id, int64_t now, int *first, struct store_outbox_row *info)
{
	sqlite3_stmt *st;
	int own = 0, rc, r;

	*first = 0;
	memset(info, 0, sizeof(*info));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_outbox_row)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		r = rc == SQLITE_DONE ? VARSKO_ERR_NOT_FOUND : store_sqlite_err(rc);
		goto out;
	}
	info->id = id;
	snprintf(info->reference, sizeof(info->reference), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(info->team, sizeof(info->team), "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(info->topic, sizeof(info->topic), "%s", (const char *)sqlite3_column_text(st, 2));
	info->needs_ack = sqlite3_column_int(st, 3);
	info->attempts = sqlite3_column_int64(st, 4);
	info->puback_at = sqlite3_column_int64(st, 5);
	sqlite3_reset(st);
	/* The row was read in this transaction, so "no puback_at yet" is exact. */
	*first = info->puback_at == 0;
	if ((r = exec_id_time(s, sql_outbox_puback, id, now)) != VARSKO_OK)
		goto out;
	if (*first)
		info->puback_at = now;
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		*first = 0;
	return r;
}

int store_outbox_ack(struct store *s, const char *reference, const char *team, int64_t now)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_outbox_ack)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_outbox_rearm(struct store *s, int64_t now)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_outbox_rearm)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_outbox_pending(struct store *s, int64_t *count)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(s, sql_outbox_pending)) == NULL)
		return VARSKO_ERR_DB;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_sqlite_err(rc);
	}
	*count = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return VARSKO_OK;
}
