/*
 * store_outbox.c: the MQTT outbox of the store (store.h, "outbox"). The
 * outbox table is the source of truth for what still has to reach the
 * broker; see DESIGN.md "The underretning flow", step 5.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* The statements of this file (store-internal.h). */
const char *const store_sql_outbox[STORE_SQL_COUNT] = {
        [SQL_OUTBOX_INSERT] =
                "INSERT INTO outbox (reference, team, topic, payload, needs_ack, created_at, attempts, next_at,"
                " envelope_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6, ?7)",
        /*
         * The envelope of a row that keeps it in its underretning (envelope_at not NULL) is the
         * underretning's current one: the first, or the last re-routing's. 'null' where there is none
         * (never, underretninger are not deleted): the agent refuses it as a dead letter, it never stalls
         * the outbox.
         */
        [SQL_OUTBOX_DUE] =
                "SELECT o.id, coalesce(o.reference, ''), coalesce(o.team, ''), o.topic, o.payload,"
                " o.envelope_at, CASE WHEN o.envelope_at IS NOT NULL"
                " THEN coalesce(u.current_envelope, u.envelope, 'null') END,"
                " o.needs_ack, o.attempts, coalesce(o.puback_at, 0) FROM outbox o"
                " LEFT JOIN underretninger u ON o.envelope_at IS NOT NULL AND u.reference = o.reference"
                " WHERE o.done_at IS NULL AND o.dead_at IS NULL AND o.next_at <= ?1 ORDER BY o.id LIMIT ?2",
        [SQL_OUTBOX_ATTEMPT] = "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1",
        [SQL_OUTBOX_ROW] = "SELECT coalesce(reference, ''), coalesce(team, ''), topic, needs_ack, attempts,"
                           " coalesce(puback_at, 0) FROM outbox WHERE id = ?1",
        [SQL_OUTBOX_PUBACK] = "UPDATE outbox SET puback_at = coalesce(puback_at, ?2),"
                              " done_at = CASE WHEN needs_ack = 0 THEN coalesce(done_at, ?2) ELSE done_at END"
                              " WHERE id = ?1",
        [SQL_OUTBOX_ACK] = "UPDATE outbox SET done_at = ?3"
                           " WHERE reference = ?1 AND team = ?2 AND needs_ack = 1 AND done_at IS NULL",
        [SQL_OUTBOX_REARM] = "UPDATE outbox SET next_at = ?1 WHERE done_at IS NULL AND dead_at IS NULL AND next_at > ?1",
        [SQL_OUTBOX_PENDING] = "SELECT count(*) FROM outbox WHERE done_at IS NULL",
        [SQL_OUTBOX_STATS] = "SELECT count(*) FILTER (WHERE dead_at IS NULL),"
                             " coalesce(min(created_at) FILTER (WHERE dead_at IS NULL), 0),"
                             " count(*) FILTER (WHERE dead_at IS NOT NULL) FROM outbox WHERE done_at IS NULL",
        [SQL_OUTBOX_DEAD] = "UPDATE outbox SET dead_at = ?3, dead_reason = ?4, dead_device = ?5"
                            " WHERE reference = ?1 AND team = ?2 AND needs_ack = 1 AND done_at IS NULL"
                            " AND dead_at IS NULL",
        [SQL_OUTBOX_RETRY] = "UPDATE outbox SET dead_at = NULL, dead_reason = NULL, dead_device = NULL,"
                             " attempts = 0, next_at = ?2"
                             " WHERE reference = ?1 AND done_at IS NULL AND dead_at IS NOT NULL",
        [SQL_OUTBOX_DEAD_LIST] = "SELECT coalesce(reference, ''), coalesce(team, ''), coalesce(dead_reason, ''),"
                                 " coalesce(dead_device, ''), dead_at, attempts FROM outbox"
                                 " WHERE done_at IS NULL AND dead_at IS NOT NULL ORDER BY dead_at, id",
};

void store_outbox_row_clear(struct store_outbox_row *r)
{
	if (r == NULL)
		return;
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

static int outbox_insert(struct store *s, const char *reference, const char *team, const char *topic,
                         const char *payload, int64_t envelope_at, int needs_ack, int64_t now, int64_t *id_out)
{
	int own = 0, r;

	if (topic == NULL || topic[0] == '\0' || strlen(topic) >= sizeof(((struct store_outbox_row *)0)->topic) ||
	    payload == NULL || (envelope_at > 0 && (reference == NULL || (size_t)envelope_at > strlen(payload))))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	/* 't': NULL for a payload that is whole (an envelope's place is never 0: the text opens with '{'). */
	if ((r = store_exec(s, SQL_OUTBOX_INSERT, "zzssiit", reference, team, topic, payload,
	                    (int64_t)(needs_ack ? 1 : 0), now, envelope_at)) != VARSKO_OK)
		goto out;
	if (id_out)
		*id_out = sqlite3_last_insert_rowid(s->db);
out:
	return store_tx_end(s, own, r);
}

int store_outbox_add(struct store *s, const char *reference, const char *team, const char *topic, const char *payload,
                     int needs_ack, int64_t now, int64_t *id_out)
{
	return outbox_insert(s, reference, team, topic, payload, 0, needs_ack, now, id_out);
}

int store_outbox_add_underretning(struct store *s, const char *reference, const char *team, const char *topic,
                                  const char *payload, size_t envelope_at, int64_t now)
{
	if (envelope_at == 0 || envelope_at > INT64_MAX)
		return VARSKO_ERR_BAD_INPUT;
	return outbox_insert(s, reference, team, topic, payload, (int64_t)envelope_at, 1, now, NULL);
}

static int64_t backoff(int64_t attempts, int first, int max)
{
	int64_t b = first > 0 ? first : 1;

	while (attempts-- > 0 && b < max)
		b *= 2;
	return b > max ? max : b;
}

/*
 * The payload of SQL_OUTBOX_DUE's columns c (the stored text), c + 1
 * (envelope_at) and c + 2 (the envelope, when envelope_at is not NULL) into
 * o->payload: the stored text with the envelope put back in its place.
 */
static int payload_col(sqlite3_stmt *st, int c, struct store_outbox_row *o)
{
	const char *p = (const char *)sqlite3_column_text(st, c), *env = NULL;
	size_t len = (size_t)sqlite3_column_bytes(st, c), at = len, elen = 0;

	if (p == NULL)
		p = "";
	if (sqlite3_column_type(st, c + 1) != SQLITE_NULL) {
		int64_t a = sqlite3_column_int64(st, c + 1);

		if (a <= 0 || (uint64_t)a > len)
			return VARSKO_ERR_DB; /* the insert checked it: a damaged row */
		at = (size_t)a;
		env = (const char *)sqlite3_column_text(st, c + 2);
		elen = (size_t)sqlite3_column_bytes(st, c + 2);
		if (env == NULL)
			env = "";
	}
	if ((o->payload = malloc(len + elen + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(o->payload, p, at);
	memcpy(o->payload + at, env != NULL ? env : "", elen);
	memcpy(o->payload + at + elen, p + at, len - at);
	o->payload_len = len + elen;
	o->payload[o->payload_len] = '\0';
	return VARSKO_OK;
}

/*
 * The columns of SQL_OUTBOX_ROW into o, from column `c` on: reference, team,
 * topic, needs_ack, attempts, puback_at. SQL_OUTBOX_DUE has the same six
 * with the payload's three columns (payload_col) between topic and needs_ack.
 */
static int outbox_cols(sqlite3_stmt *st, int c, int with_payload, struct store_outbox_row *o)
{
	int r;

	if ((r = store_col_text(st, c, o->reference, sizeof(o->reference))) != VARSKO_OK ||
	    (r = store_col_text(st, c + 1, o->team, sizeof(o->team))) != VARSKO_OK ||
	    (r = store_col_text(st, c + 2, o->topic, sizeof(o->topic))) != VARSKO_OK)
		return r;
	c += 3;
	if (with_payload) {
		if ((r = payload_col(st, c, o)) != VARSKO_OK)
			return r;
		c += 3;
	}
	o->needs_ack = sqlite3_column_int(st, c);
	o->attempts = sqlite3_column_int64(st, c + 1);
	o->puback_at = sqlite3_column_int64(st, c + 2);
	return VARSKO_OK;
}

struct take {
	struct store_outbox_row *rows;
	size_t max, k;
};

/* A row of SQL_OUTBOX_DUE into the next free row (LIMIT max keeps k below max). */
static int take_row(sqlite3_stmt *st, void *arg)
{
	struct take *t = arg;
	struct store_outbox_row *o;
	int r;

	if (t->k == t->max)
		return VARSKO_ERR_INTERNAL;
	o = &t->rows[t->k];
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	if ((r = outbox_cols(st, 1, 1, o)) != VARSKO_OK) {
		store_outbox_row_clear(o);
		return r;
	}
	t->k++;
	return VARSKO_OK;
}

int store_outbox_take(struct store *s, int64_t now, int backoff_first, int backoff_max, struct store_outbox_row *rows,
                      size_t max, size_t *n)
{
	struct take t = {rows, max, 0};
	size_t i;
	int own = 0, r;

	*n = 0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query(s, SQL_OUTBOX_DUE, take_row, &t, "ii", now, (int64_t)max)) != VARSKO_OK)
		goto out;
	for (i = 0; i < t.k; i++) {
		if ((r = store_exec(s, SQL_OUTBOX_ATTEMPT, "ii", rows[i].id,
		                    now + backoff(rows[i].attempts, backoff_first, backoff_max))) != VARSKO_OK)
			goto out;
	}
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r == VARSKO_OK) {
		*n = t.k;
	} else {
		for (i = 0; i < t.k; i++)
			store_outbox_row_clear(&rows[i]);
	}
	return r;
}

int store_outbox_puback(struct store *s, int64_t id, int64_t now)
{
	return store_write(s, SQL_OUTBOX_PUBACK, "ii", id, now);
}

static int info_row(sqlite3_stmt *st, void *arg)
{
	return outbox_cols(st, 0, 0, arg);
}

int store_outbox_puback_info(struct store *s, int64_t id, int64_t now, int *first, struct store_outbox_row *info)
{
	int own = 0, r;

	*first = 0;
	memset(info, 0, sizeof(*info));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_one(s, SQL_OUTBOX_ROW, info_row, info, "i", id)) != VARSKO_OK)
		goto out;
	info->id = id;
	/* The row was read in this transaction, so "no puback_at yet" is exact. */
	*first = info->puback_at == 0;
	if ((r = store_exec(s, SQL_OUTBOX_PUBACK, "ii", id, now)) != VARSKO_OK)
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
	return store_write(s, SQL_OUTBOX_ACK, "ssi", reference, team, now);
}

int store_outbox_rearm(struct store *s, int64_t now)
{
	return store_write(s, SQL_OUTBOX_REARM, "i", now);
}

int store_outbox_pending(struct store *s, int64_t *count)
{
	return store_query_int(s, SQL_OUTBOX_PENDING, count, "");
}

static int stats_row(sqlite3_stmt *st, void *arg)
{
	int64_t *v = arg;

	v[0] = sqlite3_column_int64(st, 0);
	v[1] = sqlite3_column_int64(st, 1);
	v[2] = sqlite3_column_int64(st, 2);
	return VARSKO_OK;
}

int store_outbox_stats(struct store *s, int64_t *depth, int64_t *oldest_created, int64_t *dead)
{
	int64_t v[3] = {0, 0, 0};
	int r = store_query_one(s, SQL_OUTBOX_STATS, stats_row, v, "");

	*depth = r == VARSKO_OK ? v[0] : 0;
	*oldest_created = r == VARSKO_OK ? v[1] : 0;
	*dead = r == VARSKO_OK ? v[2] : 0;
	return r;
}

/* store_write() of one UPDATE, with the rows it changed (COMMIT leaves sqlite3_changes() as it was). */
int store_outbox_dead(struct store *s, const char *reference, const char *team, const char *reason,
                      const char *device, int64_t now, int *changed)
{
	int r = store_write(s, SQL_OUTBOX_DEAD, "ssiss", reference, team, now, reason, device);

	*changed = r == VARSKO_OK ? sqlite3_changes(s->db) : 0;
	return r;
}

int store_outbox_retry(struct store *s, const char *reference, int64_t now, int *changed)
{
	int r = store_write(s, SQL_OUTBOX_RETRY, "si", reference, now);

	*changed = r == VARSKO_OK ? sqlite3_changes(s->db) : 0;
	return r;
}

struct dead_each {
	int (*fn)(const struct store_outbox_dead_row *d, void *arg);
	void *arg;
};

static int dead_row(sqlite3_stmt *st, void *arg)
{
	struct dead_each *e = arg;
	struct store_outbox_dead_row d;
	int r;

	memset(&d, 0, sizeof(d));
	if ((r = store_col_text(st, 0, d.reference, sizeof(d.reference))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, d.team, sizeof(d.team))) != VARSKO_OK ||
	    (r = store_col_text(st, 2, d.reason, sizeof(d.reason))) != VARSKO_OK ||
	    (r = store_col_text(st, 3, d.device, sizeof(d.device))) != VARSKO_OK)
		return r;
	d.dead_at = sqlite3_column_int64(st, 4);
	d.attempts = sqlite3_column_int64(st, 5);
	return e->fn(&d, e->arg);
}

int store_outbox_dead_foreach(struct store *s, int (*fn)(const struct store_outbox_dead_row *d, void *arg),
                              void *arg)
{
	struct dead_each e = {fn, arg};

	return store_query(s, SQL_OUTBOX_DEAD_LIST, dead_row, &e, "");
}
