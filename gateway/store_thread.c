/*
 * store_thread.c: consultation threads in the store (store_thread.h).
 * Texts in, texts out: the checks are flow_thread.c's.
 */
#include "store_thread.h"

#include <stdio.h>
#include <string.h>

#include "store-internal.h"

#define T_SELECT                                                                                                       \
	"SELECT id, institution, anonymous, creator, version, last_seq, coalesce(last_time, 0), created_at,"           \
	" coalesce(purged_at, 0)"
#define M_SELECT                                                                                                       \
	"SELECT m.seq, m.received_at, m.envelope, (SELECT d.cert_json FROM devices d WHERE d.id = m.sender_device)"    \
	" FROM thread_messages m JOIN thread_recipients r ON r.thread = m.thread AND r.seq = m.seq AND r.user = ?2"    \
	" WHERE m.thread = ?1"

/*
 * The threads not purged yet with their last activity (the newest of: the
 * creation, the last message, the last link of the chain) before ?1, and
 * what purging each would delete: messages, their envelopes' bytes and the
 * attachments' ciphertext bytes (PROTOCOL.md 17.9), marks.
 */
#define P_SELECT                                                                                                       \
	"SELECT a.id, a.act,"                                                                                          \
	" (SELECT count(*) FROM thread_messages m WHERE m.thread = a.id),"                                             \
	" (SELECT coalesce(sum(length(CAST(m.envelope AS BLOB))), 0) FROM thread_messages m WHERE m.thread = a.id)"    \
	" + (SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c JOIN blobs b ON b.id = c.blob"                 \
	"    WHERE b.thread = a.id),"                                                                                  \
	" (SELECT count(*) FROM thread_marks k WHERE k.thread = a.id)"                                                 \
	" FROM (SELECT t.id AS id, max(t.created_at, coalesce(t.last_time, 0),"                                        \
	"  coalesce((SELECT max(c.created_at) FROM chain_links c"                                                      \
	"   WHERE c.kind = 'thread' AND c.chain = t.id), 0)) AS act"                                                   \
	"  FROM threads t WHERE t.purged_at IS NULL) a"                                                                \
	" WHERE a.act < ?1"

/* The statements of this file (store-internal.h). */
const char *const store_sql_thread[STORE_SQL_COUNT] = {
        [SQL_THREAD_GET] = T_SELECT " FROM threads WHERE id = ?1",
        [SQL_THREAD_INSERT] = "INSERT INTO threads (id, institution, anonymous, creator, version, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [SQL_THREAD_VERSION] = "UPDATE threads SET version = ?2 WHERE id = ?1",
        [SQL_THREAD_MEMBER] = "SELECT present FROM thread_members WHERE thread = ?1 AND user = ?2",
        [SQL_THREAD_MEMBER_SET] = "INSERT INTO thread_members (thread, user, present) VALUES (?1, ?2, ?3)"
                                  " ON CONFLICT (thread, user) DO UPDATE SET present = excluded.present",
        [SQL_THREAD_LIST] = T_SELECT " FROM threads WHERE id IN"
                                     " (SELECT thread FROM thread_members WHERE user = ?1 AND present = 1)"
                                     " ORDER BY coalesce(last_time, created_at) DESC, id LIMIT ?2",
        [SQL_THREAD_NEXT_SEQ] = "SELECT last_seq + 1 FROM threads WHERE id = ?1 AND purged_at IS NULL",
        [SQL_THREAD_MSG_INSERT] = "INSERT INTO thread_messages (thread, seq, message, sender_user, sender_device,"
                                  " version, received_at, envelope, envelope_hash)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [SQL_THREAD_RCPT_INSERT] = "INSERT INTO thread_recipients (thread, seq, user) VALUES (?1, ?2, ?3)",
        [SQL_THREAD_LAST] = "UPDATE threads SET last_seq = ?2, last_time = ?3 WHERE id = ?1",
        [SQL_THREAD_MSG_FIND] =
                "SELECT seq, envelope_hash, received_at FROM thread_messages WHERE thread = ?1 AND message = ?2",
        [SQL_THREAD_MSGS_AFTER] = M_SELECT " AND m.seq > ?3 ORDER BY m.seq LIMIT ?4",
        [SQL_THREAD_MSGS_BEFORE] = M_SELECT " AND m.seq < ?3 ORDER BY m.seq DESC LIMIT ?4",
        [SQL_THREAD_MARKS] =
                "SELECT seq, mark_json FROM thread_marks WHERE thread = ?1 AND seq = ?2 ORDER BY received_at, rowid",
        [SQL_THREAD_MARK_TARGET] = "SELECT m.message, m.envelope_hash, m.sender_user FROM thread_messages m"
                                   " JOIN thread_recipients r ON r.thread = m.thread AND r.seq = m.seq AND r.user = ?3"
                                   " WHERE m.thread = ?1 AND m.seq = ?2",
        [SQL_THREAD_MARK_INSERT] = "INSERT INTO thread_marks (thread, seq, user, kind, device, mark_json, received_at)"
                                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [SQL_THREAD_PURGE_DUE] = P_SELECT " ORDER BY a.act, a.id LIMIT ?2",
        [SQL_THREAD_PURGE_ONE] = P_SELECT " AND a.id = ?2",
        [SQL_THREAD_PURGE_MARKS] = "DELETE FROM thread_marks WHERE thread = ?1",
        [SQL_THREAD_PURGE_RCPTS] = "DELETE FROM thread_recipients WHERE thread = ?1",
        [SQL_THREAD_PURGE_MSGS] = "DELETE FROM thread_messages WHERE thread = ?1",
        [SQL_THREAD_PURGE_BLOB_PARTS] = "DELETE FROM blob_chunks WHERE blob IN (SELECT id FROM blobs WHERE thread = ?1)",
        [SQL_THREAD_PURGE_BLOBS] = "DELETE FROM blobs WHERE thread = ?1",
        [SQL_THREAD_PURGED_SET] = "UPDATE threads SET purged_at = ?2 WHERE id = ?1 AND purged_at IS NULL",
        [SQL_INST_RAADGIVERE] = "SELECT u.id FROM users u JOIN user_institutions ui ON ui.user = u.id"
                                " WHERE ui.institution = ?1 AND u.role = 'raadgiver' ORDER BY u.id",
};

/* A row of T_SELECT into the struct store_thread at arg. */
static int thread_row(sqlite3_stmt *st, void *arg)
{
	struct store_thread *t = arg;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = store_col_text(st, 0, t->id, sizeof(t->id))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, t->institution, sizeof(t->institution))) != VARSKO_OK ||
	    (r = store_col_text(st, 3, t->creator, sizeof(t->creator))) != VARSKO_OK)
		return r;
	t->anonymous = sqlite3_column_int(st, 2) != 0;
	t->version = store_col_int(st, 4);
	t->last_seq = store_col_int(st, 5);
	t->last_time = store_col_int(st, 6);
	t->created_at = store_col_int(st, 7);
	t->purged_at = store_col_int(st, 8);
	return VARSKO_OK;
}

int store_thread_get(struct store *s, const char *thread, struct store_thread *out)
{
	memset(out, 0, sizeof(*out));
	return store_query_one(s, SQL_THREAD_GET, thread_row, out, "s", thread);
}

int store_thread_member(struct store *s, const char *thread, const char *user, int *present)
{
	int64_t v = 0;
	int r = store_query_int(s, SQL_THREAD_MEMBER, &v, "ss", thread, user);

	*present = r == VARSKO_OK && v == 1;
	return r;
}

/* One link: its chain row and its user's membership, in the caller's transaction. */
static int link_put(struct store *s, const char *thread, const struct store_thread_link *l, int64_t now)
{
	int r;

	if ((r = store_exec(s, SQL_CHAIN_ADD, "ssisi", "thread", thread, l->seq, l->json, now)) != VARSKO_OK)
		return r;
	return store_exec(s, SQL_THREAD_MEMBER_SET, "ssi", thread, l->user, (int64_t)(l->present ? 1 : 0));
}

int store_thread_create(struct store *s, const struct store_thread *t, const struct store_thread_link *links, size_t n,
                        int64_t now, const char *actor)
{
	char detail[PROTO_ID_MAX + 64];
	int own = 0, r;

	if (n == 0)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_THREAD_INSERT, "ssisii", t->id, t->institution, (int64_t)(t->anonymous ? 1 : 0),
	                    t->creator, links[n - 1].seq, now)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((r = link_put(s, t->id, &links[i], now)) != VARSKO_OK)
			goto out;
	snprintf(detail, sizeof detail, "thread=%s version=%lld", t->id, (long long)links[n - 1].seq);
	r = store_audit(s, now, "thread_create", actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_thread_append(struct store *s, const char *thread, const struct store_thread_link *l, int64_t now,
                        const char *actor)
{
	char detail[PROTO_ID_MAX + 96];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = link_put(s, thread, l, now)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_THREAD_VERSION, "si", thread, l->seq)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "thread=%s seq=%lld op=%s", thread, (long long)l->seq, l->op);
	r = store_audit(s, now, "thread_append", actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_thread_message_add(struct store *s, const struct store_thread_message *m, int64_t now, int64_t *seq)
{
	char detail[2 * PROTO_ID_MAX + 64];
	int64_t next = 0;
	int own = 0, r;

	*seq = 0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_int(s, SQL_THREAD_NEXT_SEQ, &next, "s", m->thread)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_THREAD_MSG_INSERT, "sisssiisb", m->thread, next, m->message, m->sender_user,
	                    m->sender_device, m->version, now, m->envelope_json, (const void *)m->envelope_hash,
	                    (size_t)STORE_THREAD_HASH_LEN)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < m->n_recipients; i++)
		if ((r = store_exec(s, SQL_THREAD_RCPT_INSERT, "sis", m->thread, next, m->recipients[i])) != VARSKO_OK)
			goto out;
	if ((r = store_exec(s, SQL_THREAD_LAST, "sii", m->thread, next, now)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "thread=%s seq=%lld message=%s", m->thread, (long long)next, m->message);
	if ((r = store_audit(s, now, "thread_message", m->sender_device, detail)) != VARSKO_OK)
		goto out;
	*seq = next;
out:
	return store_tx_end(s, own, r);
}

struct found {
	int64_t seq, received;
	uint8_t *hash;
};

static int found_row(sqlite3_stmt *st, void *arg)
{
	struct found *f = arg;

	if (sqlite3_column_bytes(st, 1) != STORE_THREAD_HASH_LEN)
		return VARSKO_ERR_DB;
	f->seq = store_col_int(st, 0);
	memcpy(f->hash, sqlite3_column_blob(st, 1), STORE_THREAD_HASH_LEN);
	f->received = store_col_int(st, 2);
	return VARSKO_OK;
}

int store_thread_message_find(struct store *s, const char *thread, const char *message, int64_t *seq,
                              uint8_t hash[STORE_THREAD_HASH_LEN], int64_t *received)
{
	struct found f = {0, 0, hash};
	int r = store_query_one(s, SQL_THREAD_MSG_FIND, found_row, &f, "ss", thread, message);

	*seq = f.seq;
	*received = f.received;
	return r;
}

struct msg_each {
	int (*fn)(const struct store_thread_row *r, void *arg);
	void *arg;
};

static int msg_row(sqlite3_stmt *st, void *arg)
{
	struct msg_each *e = arg;
	struct store_thread_row row;

	row.seq = store_col_int(st, 0);
	row.received = store_col_int(st, 1);
	row.envelope = (const char *)sqlite3_column_text(st, 2);
	row.sender_cert = (const char *)sqlite3_column_text(st, 3);
	if (row.envelope == NULL)
		return VARSKO_ERR_DB;
	return e->fn(&row, e->arg);
}

int store_thread_messages(struct store *s, const char *thread, const char *user, int64_t after, int64_t before,
                          int64_t limit, int (*fn)(const struct store_thread_row *r, void *arg), void *arg)
{
	struct msg_each e = {fn, arg};

	if (before > 0)
		return store_query(s, SQL_THREAD_MSGS_BEFORE, msg_row, &e, "ssii", thread, user, before, limit);
	return store_query(s, SQL_THREAD_MSGS_AFTER, msg_row, &e, "ssii", thread, user, after, limit);
}

struct text_each {
	int (*fn)(const char *json, size_t len, void *arg);
	void *arg;
};

static int mark_row(sqlite3_stmt *st, void *arg)
{
	struct text_each *e = arg;
	const char *t = (const char *)sqlite3_column_text(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	if (t == NULL || n <= 0)
		return VARSKO_ERR_DB;
	return e->fn(t, (size_t)n, e->arg);
}

int store_thread_marks(struct store *s, const char *thread, int64_t seq,
                       int (*fn)(const char *json, size_t len, void *arg), void *arg)
{
	struct text_each e = {fn, arg};

	return store_query(s, SQL_THREAD_MARKS, mark_row, &e, "si", thread, seq);
}

struct target {
	char *message, *sender_user;
	uint8_t *hash;
};

static int target_row(sqlite3_stmt *st, void *arg)
{
	struct target *t = arg;
	int r;

	if (sqlite3_column_bytes(st, 1) != STORE_THREAD_HASH_LEN)
		return VARSKO_ERR_DB;
	memcpy(t->hash, sqlite3_column_blob(st, 1), STORE_THREAD_HASH_LEN);
	if ((r = store_col_text(st, 0, t->message, PROTO_ID_MAX + 1)) != VARSKO_OK)
		return r;
	return store_col_text(st, 2, t->sender_user, PROTO_ID_MAX + 1);
}

int store_thread_mark_target(struct store *s, const char *thread, int64_t seq, const char *user, char *message,
                             uint8_t hash[STORE_THREAD_HASH_LEN], char *sender_user)
{
	struct target t = {message, sender_user, hash};

	message[0] = sender_user[0] = '\0';
	return store_query_one(s, SQL_THREAD_MARK_TARGET, target_row, &t, "sis", thread, seq, user);
}

int store_thread_mark_add(struct store *s, const char *thread, int64_t seq, const char *user, const char *kind,
                          const char *device, const char *json, int64_t now)
{
	return store_write(s, SQL_THREAD_MARK_INSERT, "sissssi", thread, seq, user, kind, device, json, now);
}

struct list_each {
	int (*fn)(const struct store_thread *t, void *arg);
	void *arg;
};

static int list_row(sqlite3_stmt *st, void *arg)
{
	struct list_each *e = arg;
	struct store_thread t;
	int r;

	if ((r = thread_row(st, &t)) != VARSKO_OK)
		return r;
	return e->fn(&t, e->arg);
}

int store_thread_list(struct store *s, const char *user, size_t max, int (*fn)(const struct store_thread *t, void *arg),
                      void *arg)
{
	struct list_each e = {fn, arg};

	return store_query(s, SQL_THREAD_LIST, list_row, &e, "si", user, (int64_t)max);
}

struct user_each {
	int (*fn)(const char *user, void *arg);
	void *arg;
};

static int user_row(sqlite3_stmt *st, void *arg)
{
	struct user_each *e = arg;
	char user[PROTO_ID_MAX + 1];
	int r;

	if ((r = store_col_text(st, 0, user, sizeof(user))) != VARSKO_OK)
		return r;
	return e->fn(user, e->arg);
}

int store_institution_raadgivere(struct store *s, const char *institution, int (*fn)(const char *user, void *arg),
                                 void *arg)
{
	struct user_each e = {fn, arg};

	return store_query(s, SQL_INST_RAADGIVERE, user_row, &e, "s", institution);
}

/* ---- retention ------------------------------------------------------------------------------ */

static int purge_row(sqlite3_stmt *st, void *arg)
{
	struct store_thread_purge *p = arg;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = store_col_text(st, 0, p->thread, sizeof(p->thread))) != VARSKO_OK)
		return r;
	p->last_activity = store_col_int(st, 1);
	p->messages = store_col_int(st, 2);
	p->bytes = store_col_int(st, 3);
	p->marks = store_col_int(st, 4);
	return VARSKO_OK;
}

struct purge_each {
	int (*fn)(const struct store_thread_purge *p, void *arg);
	void *arg;
};

static int purge_each_row(sqlite3_stmt *st, void *arg)
{
	struct purge_each *e = arg;
	struct store_thread_purge p;
	int r;

	if ((r = purge_row(st, &p)) != VARSKO_OK)
		return r;
	return e->fn(&p, e->arg);
}

int store_thread_purge_due(struct store *s, int64_t cutoff, size_t max,
                           int (*fn)(const struct store_thread_purge *p, void *arg), void *arg)
{
	struct purge_each e = {fn, arg};

	return store_query(s, SQL_THREAD_PURGE_DUE, purge_each_row, &e, "ii", cutoff, (int64_t)max);
}

int store_thread_purge(struct store *s, const char *thread, int64_t cutoff, int64_t now, const char *actor,
                       struct store_thread_purge *out)
{
	char detail[PROTO_ID_MAX + 160], when[PROTO_TIME_LEN + 1];
	int own = 0, r;

	memset(out, 0, sizeof(*out));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	/* Looked at again under the write lock: a message or a link since the listing keeps the thread. */
	if ((r = store_query_one(s, SQL_THREAD_PURGE_ONE, purge_row, out, "is", cutoff, thread)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_THREAD_PURGE_MARKS, "s", thread)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_THREAD_PURGE_RCPTS, "s", thread)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_THREAD_PURGE_MSGS, "s", thread)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_THREAD_PURGE_BLOB_PARTS, "s", thread)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_THREAD_PURGE_BLOBS, "s", thread)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_THREAD_PURGED_SET, "si", thread, now)) != VARSKO_OK)
		goto out;
	proto_time_format(out->last_activity, when);
	snprintf(detail, sizeof detail, "thread=%s messages=%lld bytes=%lld marks=%lld last_activity=%s", thread,
	         (long long)out->messages, (long long)out->bytes, (long long)out->marks, when);
	r = store_audit(s, now, "thread_purge", actor, detail);
out:
	return store_tx_end(s, own, r);
}
