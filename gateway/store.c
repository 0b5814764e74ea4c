/*
 * store.c: the SQLite store (store.h): opening, pragmas, migrations,
 * transactions, the statement table and store_run(), invites, enrollment
 * and devices. The audit chain is in store_audit.c, the import in
 * store_import.c, the outbox in store_outbox.c, deadlines and reports in
 * store_deadline.c, underretninger and events in store_flow.c; they share
 * store-internal.h.
 *
 * Every statement is a static string in one of the files' tables
 * (enum store_sql), prepared once per connection by store_open() and run
 * through store_run(), which binds, steps, resets and maps errors in one
 * place; nothing is ever formatted into SQL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "memo.h"
#include "store-internal.h"

/*
 * Schema migrations: migrations[i] takes the database from user_version i to
 * i + 1 and ends by setting that version (PRAGMA cannot be bound, so the
 * number is part of the script). Applied inside BEGIN IMMEDIATE.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE institutions ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" district TEXT NOT NULL) STRICT;"
	"CREATE TABLE teams ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL) STRICT;"
	"CREATE TABLE users ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('fagperson','raadgiver','myndighed','leder','admin','agent')),"
	" team TEXT NULL REFERENCES teams(id)) STRICT;"
	"CREATE TABLE user_institutions ("
	" user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" institution TEXT NOT NULL REFERENCES institutions(id),"
	" PRIMARY KEY (user, institution)) STRICT;"
	"CREATE TABLE routing_rules ("
	" pos INTEGER PRIMARY KEY NOT NULL,"
	" rule_json TEXT NOT NULL) STRICT;"
	"CREATE TABLE invites ("
	" code_hash BLOB PRIMARY KEY NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(id),"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" used_at INTEGER NULL,"
	" device TEXT NULL) STRICT;"
	"CREATE TABLE devices ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(id),"
	" serial INTEGER NOT NULL UNIQUE,"
	" label TEXT NOT NULL,"
	" cert_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" revoked_at INTEGER NULL) STRICT;"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY NOT NULL,"
	" at INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" detail TEXT NOT NULL,"
	" prev_hash BLOB NOT NULL,"
	" hash BLOB NOT NULL) STRICT;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL) STRICT;"
	"PRAGMA user_version = 1;",
	/* 1 -> 2: the underretning flow (docs/DEVELOPING.md "Database"). */
	"ALTER TABLE teams ADD COLUMN roster_version INTEGER NOT NULL DEFAULT 1;"
	"CREATE TABLE underretninger ("
	" seq INTEGER PRIMARY KEY NOT NULL,"
	" reference TEXT NOT NULL UNIQUE,"
	" submission TEXT NOT NULL,"
	" sender_user TEXT NOT NULL REFERENCES users(id),"
	" sender_device TEXT NOT NULL REFERENCES devices(id),"
	" institution TEXT NOT NULL REFERENCES institutions(id),"
	" team TEXT NOT NULL REFERENCES teams(id),"
	" first_team TEXT NOT NULL REFERENCES teams(id),"
	" age_group TEXT NOT NULL,"
	" akut INTEGER NOT NULL CHECK (akut IN (0, 1)),"
	" handicap INTEGER NOT NULL CHECK (handicap IN (0, 1)),"
	" outside_office INTEGER NOT NULL CHECK (outside_office IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" envelope TEXT NOT NULL,"
	" envelope_hash BLOB NOT NULL,"
	" receipt TEXT NOT NULL,"
	" current_envelope TEXT NULL,"
	" current_hash BLOB NULL,"
	" UNIQUE (sender_user, submission)) STRICT;"
	"CREATE INDEX underretninger_team ON underretninger(team, received_at);"
	"CREATE TABLE deadlines ("
	" reference TEXT NOT NULL REFERENCES underretninger(reference),"
	" kind TEXT NOT NULL CHECK (kind IN ('vurdering','kvittering','tilbagemelding','undersoegelse')),"
	" team TEXT NOT NULL REFERENCES teams(id),"
	" due_at INTEGER NOT NULL,"
	" warn_at INTEGER NULL,"
	" met_at INTEGER NULL,"
	" met_event INTEGER NULL,"
	" warned_at INTEGER NULL,"
	" escalated_at INTEGER NULL,"
	" PRIMARY KEY (reference, kind)) STRICT;"
	"CREATE INDEX deadlines_open ON deadlines(met_at, due_at);"
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY NOT NULL,"
	" reference TEXT NOT NULL REFERENCES underretninger(reference),"
	" kind TEXT NOT NULL,"
	" device TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" team TEXT NOT NULL,"
	" time INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" envelope TEXT NULL,"
	" UNIQUE (reference, kind, device, time)) STRICT;"
	"CREATE INDEX events_reference ON events(reference, seq);"
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY NOT NULL,"
	" reference TEXT NULL,"
	" team TEXT NULL,"
	" topic TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" needs_ack INTEGER NOT NULL CHECK (needs_ack IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL,"
	" puback_at INTEGER NULL,"
	" done_at INTEGER NULL) STRICT;"
	"CREATE INDEX outbox_due ON outbox(done_at, next_at);"
	"PRAGMA user_version = 2;",
	/* 2 -> 3: an enrollment is pending until the client confirms it stored its certificate. */
	"CREATE TABLE enrollments ("
	" device TEXT PRIMARY KEY NOT NULL,"
	" code_hash BLOB NOT NULL UNIQUE REFERENCES invites(code_hash),"
	" user TEXT NOT NULL REFERENCES users(id),"
	" serial INTEGER NOT NULL UNIQUE,"
	" label TEXT NOT NULL,"
	" cert_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL) STRICT;"
	"PRAGMA user_version = 3;",
	/* 3 -> 4: the key model's user chains, key box sets and recovery boxes (PROTOCOL.md 15). */
	"CREATE TABLE chain_links ("
	" kind TEXT NOT NULL CHECK (kind IN ('user')),"
	" chain TEXT NOT NULL,"
	" seq INTEGER NOT NULL CHECK (seq >= 1),"
	" link_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" PRIMARY KEY (kind, chain, seq)) STRICT;"
	"CREATE TABLE key_sets ("
	" owner TEXT NOT NULL,"
	" generation INTEGER NOT NULL CHECK (generation >= 1),"
	" set_json TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (owner, generation)) STRICT;"
	"CREATE TABLE recovery_boxes ("
	" user TEXT PRIMARY KEY NOT NULL REFERENCES users(id),"
	" box_json TEXT NOT NULL,"
	" tries INTEGER NOT NULL DEFAULT 0,"
	" updated_at INTEGER NOT NULL) STRICT;"
	"PRAGMA user_version = 4;",
	/* 4 -> 5: approvals of a new device by an existing one, in flight (PROTOCOL.md 15.7). */
	"CREATE TABLE approvals ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(id),"
	" device TEXT NOT NULL UNIQUE REFERENCES devices(id),"
	" commit_hash BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" old_device TEXT NULL,"
	" nonce_old BLOB NULL,"
	" nonce_new BLOB NULL) STRICT;"
	"PRAGMA user_version = 5;",
	/* 5 -> 6: org and team chains beside the user chains (PROTOCOL.md 16); the org root sits in meta. */
	"CREATE TABLE chain_links_6 ("
	" kind TEXT NOT NULL CHECK (kind IN ('org', 'user', 'team')),"
	" chain TEXT NOT NULL,"
	" seq INTEGER NOT NULL CHECK (seq >= 1),"
	" link_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" PRIMARY KEY (kind, chain, seq)) STRICT;"
	"INSERT INTO chain_links_6 SELECT kind, chain, seq, link_json, created_at FROM chain_links;"
	"DROP TABLE chain_links;"
	"ALTER TABLE chain_links_6 RENAME TO chain_links;"
	"PRAGMA user_version = 6;",
	/*
	 * 6 -> 7: consultation threads (PROTOCOL.md 17): their chains in chain_links (kind 'thread'), the
	 * thread row, who is or was a member (kept with each stored link, for listing), the messages with
	 * their recipients (the users a message is sealed to) and the first read mark of each kind per
	 * (message, user).
	 */
	"CREATE TABLE chain_links_7 ("
	" kind TEXT NOT NULL CHECK (kind IN ('org', 'user', 'team', 'thread')),"
	" chain TEXT NOT NULL,"
	" seq INTEGER NOT NULL CHECK (seq >= 1),"
	" link_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" PRIMARY KEY (kind, chain, seq)) STRICT;"
	"INSERT INTO chain_links_7 SELECT kind, chain, seq, link_json, created_at FROM chain_links;"
	"DROP TABLE chain_links;"
	"ALTER TABLE chain_links_7 RENAME TO chain_links;"
	"CREATE TABLE threads ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" institution TEXT NOT NULL REFERENCES institutions(id),"
	" anonymous INTEGER NOT NULL CHECK (anonymous IN (0, 1)),"
	" creator TEXT NOT NULL REFERENCES users(id),"
	" version INTEGER NOT NULL CHECK (version >= 1),"
	" last_seq INTEGER NOT NULL DEFAULT 0,"
	" last_time INTEGER NULL,"
	" created_at INTEGER NOT NULL) STRICT;"
	"CREATE TABLE thread_members ("
	" thread TEXT NOT NULL REFERENCES threads(id),"
	" user TEXT NOT NULL REFERENCES users(id),"
	" present INTEGER NOT NULL CHECK (present IN (0, 1)),"
	" PRIMARY KEY (thread, user)) STRICT;"
	"CREATE INDEX thread_members_user ON thread_members(user, present);"
	"CREATE TABLE thread_messages ("
	" thread TEXT NOT NULL REFERENCES threads(id),"
	" seq INTEGER NOT NULL CHECK (seq >= 1),"
	" message TEXT NOT NULL,"
	" sender_user TEXT NOT NULL REFERENCES users(id),"
	" sender_device TEXT NOT NULL REFERENCES devices(id),"
	" version INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" envelope TEXT NOT NULL,"
	" envelope_hash BLOB NOT NULL,"
	" PRIMARY KEY (thread, seq),"
	" UNIQUE (thread, message)) STRICT;"
	"CREATE TABLE thread_recipients ("
	" thread TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(id),"
	" PRIMARY KEY (thread, seq, user),"
	" FOREIGN KEY (thread, seq) REFERENCES thread_messages(thread, seq)) STRICT;"
	"CREATE INDEX thread_recipients_user ON thread_recipients(user, thread, seq);"
	"CREATE TABLE thread_marks ("
	" thread TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('leveret', 'laest')),"
	" device TEXT NOT NULL REFERENCES devices(id),"
	" mark_json TEXT NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" PRIMARY KEY (thread, seq, user, kind),"
	" FOREIGN KEY (thread, seq) REFERENCES thread_messages(thread, seq)) STRICT;"
	"PRAGMA user_version = 7;",
	/*
	 * 7 -> 8: thread retention (docs/THREADS.md "Retention"): when a thread's content was purged. The
	 * thread row, its chain and its membership rows stay; its messages, recipients and marks are deleted.
	 */
	"ALTER TABLE threads ADD COLUMN purged_at INTEGER NULL;"
	"PRAGMA user_version = 8;",
	/*
	 * 8 -> 9: attachments (PROTOCOL.md 17.9): a blob of ciphertext bound to a thread or to an
	 * underretning's submission id, and to its uploader, with its size and SHA-256, and its parts by
	 * offset. varskod never has the key.
	 */
	"CREATE TABLE blobs ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" thread TEXT NULL REFERENCES threads(id),"
	" submission TEXT NULL CHECK ((thread IS NULL) <> (submission IS NULL)),"
	" owner TEXT NOT NULL REFERENCES users(id),"
	" size INTEGER NOT NULL CHECK (size >= 1),"
	" sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
	" received INTEGER NOT NULL CHECK (received >= 0 AND received <= size),"
	" complete INTEGER NOT NULL CHECK (complete IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL) STRICT;"
	"CREATE INDEX blobs_thread ON blobs(thread);"
	"CREATE INDEX blobs_submission ON blobs(owner, submission);"
	"CREATE TABLE blob_chunks ("
	" blob TEXT NOT NULL REFERENCES blobs(id),"
	" offset INTEGER NOT NULL CHECK (offset >= 0),"
	" data BLOB NOT NULL,"
	" PRIMARY KEY (blob, offset)) STRICT;"
	"PRAGMA user_version = 9;",
	/* 9 -> 10: a team's phone number from the municipality document (PROTOCOL.md 12.7, directory). */
	"ALTER TABLE teams ADD COLUMN phone TEXT NULL;"
	"PRAGMA user_version = 10;",
	/*
	 * 10 -> 11: the deadline engine's index. next_due is when the deadline engine must next look at a
	 * deadline: its warn_at while a warning is still to be sent, else the second after due_at (an
	 * escalation fires once due_at has passed); NULL once it is met or escalated, and for the targets that
	 * never fire (tilbagemelding, undersoegelse). SQLite computes it from the row (a virtual generated
	 * column), so no writer can forget it; the partial index holds only the rows that may still fire, so
	 * the tick's cost does not grow with the number of open deadlines (store_deadline.c SQL_FIRE_DUE).
	 */
	"ALTER TABLE deadlines ADD COLUMN next_due INTEGER GENERATED ALWAYS AS ("
	" CASE WHEN met_at IS NOT NULL OR escalated_at IS NOT NULL OR kind NOT IN ('vurdering', 'kvittering')"
	" THEN NULL"
	" WHEN warned_at IS NULL AND warn_at IS NOT NULL AND warn_at <= due_at THEN warn_at"
	" ELSE due_at + 1 END) VIRTUAL;"
	"CREATE INDEX deadlines_next_due ON deadlines(next_due, reference, kind) WHERE next_due IS NOT NULL;"
	"PRAGMA user_version = 11;",
	/*
	 * 11 -> 12: dead letters (PROTOCOL.md 12.9): an underretning its team's agent refused for good is
	 * not published again until an operator asks (varskoctl outbox retry); when, why and who said so.
	 */
	"ALTER TABLE outbox ADD COLUMN dead_at INTEGER NULL;"
	"ALTER TABLE outbox ADD COLUMN dead_reason TEXT NULL;"
	"ALTER TABLE outbox ADD COLUMN dead_device TEXT NULL;"
	"PRAGMA user_version = 12;",
	/*
	 * 12 -> 13: an underretning's envelope is written once (docs/DEVELOPING.md "Database"). A row whose
	 * envelope_at is not NULL holds its message without the envelope, whose text belongs at that byte and
	 * is the underretning's current envelope (store_outbox.c SQL_OUTBOX_DUE). Older rows keep their whole
	 * payload (envelope_at NULL) and are published as they are.
	 */
	"ALTER TABLE outbox ADD COLUMN envelope_at INTEGER NULL CHECK (envelope_at IS NULL OR envelope_at > 0);"
	/*
	 * And the rows of an underretning are found by its reference: an agent's acknowledgement, a refusal and
	 * a retry searched every row not yet done (outbox_due), so draining a long outbox cost the square of its
	 * length (issue 13: 10,000 queued were acknowledged at 92/s).
	 */
	"CREATE INDEX outbox_reference ON outbox(reference, team);"
	"PRAGMA user_version = 13;",
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(sizeof(((struct store_device *)0)->cert_digest) == MEMO_KEY_LEN, "a device's digest is a memo key");

/* Crockford's base32 alphabet: no I, L, O, U. */
static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Domain separation key of the code hash (exactly crypto_generichash_KEYBYTES_MIN bytes). */
static const char code_hash_key[] = "varsko-invite-v1";

int store_sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VARSKO_ERR_UNAVAILABLE;
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return VARSKO_ERR_IO;
	case SQLITE_NOMEM:
		return VARSKO_ERR_NOMEM;
	default:
		return VARSKO_ERR_DB;
	}
}

/* store-internal.h */
int store_step_err(sqlite3 *db, int rc)
{
	int ext;

	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		return store_sqlite_err(rc);
	ext = sqlite3_extended_errcode(db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return VARSKO_ERR_EXISTS;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_ERR_DB;
}

/* Bind ?1.. of st as fmt says (store_run). */
static int bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const char *t;
	const void *blob;
	size_t len;
	int64_t v;
	int i, rc = SQLITE_OK;

	if (fmt == NULL || (int)strlen(fmt) != sqlite3_bind_parameter_count(st))
		return VARSKO_ERR_INTERNAL;
	for (i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 't':
			v = va_arg(ap, int64_t);
			rc = v > 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
			break;
		case 's':
		case 'z':
			t = va_arg(ap, const char *);
			if (t == NULL || (*fmt == 'z' && t[0] == '\0'))
				rc = sqlite3_bind_null(st, i);
			else
				rc = sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
			break;
		case 'b':
			blob = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			if (len > INT32_MAX)
				return VARSKO_ERR_TOO_LARGE;
			rc = sqlite3_bind_blob(st, i, blob, (int)len, SQLITE_STATIC);
			break;
		default:
			return VARSKO_ERR_INTERNAL;
		}
	}
	return rc == SQLITE_OK ? VARSKO_OK : store_sqlite_err(rc);
}

int store_vrun(struct store *s, enum store_sql id, int flags, store_row_fn row, void *arg, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int rc, r, rows = 0;

	if ((unsigned)id >= STORE_SQL_COUNT || (st = s->stmt[id]) == NULL)
		return VARSKO_ERR_DB; /* not prepared: store_open() failed or is not done */
	if (!s->tx_open && !sqlite3_stmt_readonly(st))
		return VARSKO_ERR_INTERNAL; /* every write is inside BEGIN IMMEDIATE */
	if ((r = bind_args(st, fmt, ap)) != VARSKO_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if (row != NULL && (r = row(st, arg)) != VARSKO_OK)
			goto out;
		if (flags & STORE_ONE)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_step_err(s->db, rc);
	else if ((flags & STORE_ONE) && rows == 0)
		r = VARSKO_ERR_NOT_FOUND;
	else
		r = VARSKO_OK;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_run(struct store *s, enum store_sql id, int flags, store_row_fn row, void *arg, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = store_vrun(s, id, flags, row, arg, fmt, ap);
	va_end(ap);
	return r;
}

int store_write(struct store *s, enum store_sql id, const char *fmt, ...)
{
	va_list ap;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	va_start(ap, fmt);
	r = store_vrun(s, id, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	return store_tx_end(s, own, r);
}

/* store-internal.h */
int store_row_int(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return VARSKO_OK;
}

/* The SQL of every statement: each id in exactly one of the files' tables. */
static const char *const *const sql_tables[] = {
        store_sql_main, store_sql_audit, store_sql_import, store_sql_outbox, store_sql_deadline, store_sql_flow,
        store_sql_keys, store_sql_backup, store_sql_thread, store_sql_blob,
};

#define STORE_SQL_NAME(id) #id,
static const char *const sql_names[STORE_SQL_COUNT] = {STORE_SQL_LIST(STORE_SQL_NAME)};
#undef STORE_SQL_NAME

/*
 * Prepare every statement (after the migrations: they name the tables).
 * A statement that does not prepare, or an id with no SQL or two, fails the
 * open: the name and SQLite's message (schema names only, never a value) go
 * to stderr, since store_open() has no other way to say which one. With
 * partial != 0 (a copy of an older schema, store_open_copy) a statement
 * that does not prepare is left out instead: running it is VARSKO_ERR_DB.
 */
static int prepare_all(struct store *s, int partial)
{
	const char *sql;
	size_t i, t;
	int n;

	for (i = 0; i < STORE_SQL_COUNT; i++) {
		sql = NULL;
		n = 0;
		for (t = 0; t < sizeof(sql_tables) / sizeof(sql_tables[0]); t++) {
			if (sql_tables[t][i] != NULL) {
				sql = sql_tables[t][i];
				n++;
			}
		}
		if (n != 1) {
			fprintf(stderr, "varsko: store: statement %s has %d SQL texts, not 1\n", sql_names[i], n);
			return VARSKO_ERR_INTERNAL;
		}
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK) {
			sqlite3_finalize(s->stmt[i]);
			s->stmt[i] = NULL;
			if (partial)
				continue;
			fprintf(stderr, "varsko: store: cannot prepare statement %s: %s\n", sql_names[i],
			        sqlite3_errmsg(s->db));
			return VARSKO_ERR_DB;
		}
	}
	return VARSKO_OK;
}

static int pragma_int(struct store *s, const char *sql, long long *out);

static int exec_simple_db(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? VARSKO_OK : store_sqlite_err(rc);
}

static int exec_simple(struct store *s, const char *sql)
{
	return exec_simple_db(s->db, sql);
}

int store_begin(struct store *s)
{
	int r;

	if (s->tx_open)
		return VARSKO_ERR_INTERNAL; /* no nesting */
	if (s->broken)
		return VARSKO_ERR_DB; /* see commit_barrier() */
	if ((r = exec_simple(s, "BEGIN IMMEDIATE")) == VARSKO_OK)
		s->tx_open = 1;
	return r;
}

/*
 * A COMMIT whose sync failed has usually written all its WAL frames, the
 * commit frame included, before the sync failed. This connection ignores
 * them, but the recovery at the next open would take them for a committed
 * transaction: something we reported as failed, and never acknowledged,
 * would come back after a restart (and a resent submission would then get a
 * receipt for it). So overwrite them at once: the next transaction's frames
 * go to the same place in the WAL, and whatever is left of the failed ones
 * no longer continues the checksum chain, so recovery stops before it. The
 * barrier is one audit entry ("commit_failed") committed without a sync
 * (synchronous=OFF for that transaction only), so it also works while
 * syncs keep failing; a crash between the failed COMMIT and the barrier is
 * the window that remains. If synchronous=FULL cannot be restored the store
 * refuses every later write.
 */
static void commit_barrier(struct store *s)
{
	long long sync = -1;

	if (exec_simple(s, "PRAGMA synchronous = OFF") != VARSKO_OK)
		goto restore;
	if (exec_simple(s, "BEGIN IMMEDIATE") != VARSKO_OK)
		goto restore;
	s->tx_open = 1;
	if (store_audit(s, (int64_t)time(NULL), "commit_failed", "-", "reason=io") != VARSKO_OK ||
	    exec_simple(s, "COMMIT") != VARSKO_OK) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	s->tx_open = 0;
restore:
	if (exec_simple(s, "PRAGMA synchronous = FULL") != VARSKO_OK ||
	    pragma_int(s, "PRAGMA synchronous", &sync) != VARSKO_OK || sync != 2)
		s->broken = 1;
}

int store_commit(struct store *s)
{
	int r;

	if (!s->tx_open)
		return VARSKO_ERR_INTERNAL;
	r = exec_simple(s, "COMMIT");
	if (r != VARSKO_OK)
		store_rollback(s); /* a failed COMMIT leaves nothing half-done */
	s->tx_open = 0;
	if (r == VARSKO_ERR_IO)
		commit_barrier(s);
	return r;
}

void store_rollback(struct store *s)
{
	if (s == NULL)
		return;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->tx_open = 0;
}

int store_savepoint(struct store *s)
{
	if (!s->tx_open || sqlite3_get_autocommit(s->db))
		return VARSKO_ERR_INTERNAL;
	return exec_simple(s, "SAVEPOINT job");
}

/* The transaction vanished under us (an error SQLite answers with a full rollback). */
static int savepoint_lost(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	s->tx_open = 0;
	return 1;
}

int store_savepoint_release(struct store *s)
{
	if (savepoint_lost(s) || exec_simple(s, "RELEASE job") != VARSKO_OK) {
		store_rollback(s);
		return VARSKO_ERR_DB;
	}
	return VARSKO_OK;
}

int store_savepoint_rollback(struct store *s)
{
	/* ROLLBACK TO keeps the savepoint open; RELEASE then drops it with nothing in it. */
	if (savepoint_lost(s) || exec_simple(s, "ROLLBACK TO job; RELEASE job") != VARSKO_OK) {
		store_rollback(s);
		return VARSKO_ERR_DB;
	}
	return VARSKO_OK;
}

struct store_ckpt {
	sqlite3 *db;
	struct store *s; /* borrowed: its autocheckpoint is restored at close */
};

int store_ckpt_open(struct store_ckpt **out, struct store *s)
{
	struct store_ckpt *c;
	const char *path = sqlite3_db_filename(s->db, "main");
	int r = VARSKO_ERR_DB;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return VARSKO_ERR_DB; /* an in-memory database has no WAL */
	if ((c = calloc(1, sizeof *c)) == NULL)
		return VARSKO_ERR_NOMEM;
	c->s = s;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* The checkpoint syncs the WAL before it copies and the database after (synchronous FULL). */
	if ((r = exec_simple_db(c->db, "PRAGMA synchronous = 2")) != VARSKO_OK ||
	    (r = exec_simple(s, "PRAGMA wal_autocheckpoint = 0")) != VARSKO_OK)
		goto fail;
	*out = c;
	return VARSKO_OK;
fail:
	sqlite3_close(c->db);
	free(c);
	return r;
}

int store_ckpt_run(struct store_ckpt *c, int *wal_frames, int *copied)
{
	int log = 0, ckpt = 0;
	int rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);

	if (wal_frames)
		*wal_frames = log;
	if (copied)
		*copied = ckpt;
	return rc == SQLITE_OK ? VARSKO_OK : store_sqlite_err(rc);
}

void store_ckpt_close(struct store_ckpt *c)
{
	if (c == NULL)
		return;
	sqlite3_close(c->db);
	(void)exec_simple(c->s, "PRAGMA wal_autocheckpoint = 1000"); /* SQLite's default */
	free(c);
}

int store_tx_start(struct store *s, int *own)
{
	int r;

	*own = 0;
	if (s->tx_open)
		return VARSKO_OK;
	if ((r = store_begin(s)) == VARSKO_OK)
		*own = 1;
	return r;
}

int store_tx_end(struct store *s, int own, int r)
{
	if (!own)
		return r;
	if (r == VARSKO_OK)
		return store_commit(s);
	store_rollback(s);
	return r;
}

/* Read an integer pragma (no argument) into *out. */
static int pragma_int(struct store *s, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r = VARSKO_ERR_DB;

	*out = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = store_sqlite_err(rc);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	r = VARSKO_OK;
out:
	sqlite3_finalize(st);
	return r;
}

/* Set the pragmas and read every one back: a pragma that did not take is an error. */
static int set_pragmas(struct store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	long long v;
	int r;

	if (sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
		return VARSKO_ERR_DB;
	if ((r = exec_simple(s, "PRAGMA foreign_keys = 1; PRAGMA secure_delete = 1;")) != VARSKO_OK)
		return r;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || (mode = sqlite3_column_text(st, 0)) == NULL ||
	    strcmp((const char *)mode, "wal") != 0) {
		sqlite3_finalize(st);
		return VARSKO_ERR_DB;
	}
	sqlite3_finalize(st);
	/*
	 * wal_autocheckpoint stays SQLite's 1000 pages here (varskoctl, tests); varskod's worker
	 * turns it off and checkpoints on a thread of its own instead (store_ckpt_open).
	 */
	/* Set after journal_mode: synchronous is per connection and WAL keeps it. */
	if ((r = exec_simple(s, "PRAGMA synchronous = 2;")) != VARSKO_OK)
		return r;
	if ((r = pragma_int(s, "PRAGMA synchronous", &v)) != VARSKO_OK || v != 2)
		return r ? r : VARSKO_ERR_DB;
	if ((r = pragma_int(s, "PRAGMA foreign_keys", &v)) != VARSKO_OK || v != 1)
		return r ? r : VARSKO_ERR_DB;
	if ((r = pragma_int(s, "PRAGMA secure_delete", &v)) != VARSKO_OK || v != 1)
		return r ? r : VARSKO_ERR_DB;
	return VARSKO_OK;
}

/* Apply the migrations this database lacks, each in its own BEGIN IMMEDIATE. */
static int migrate(struct store *s)
{
	long long v = 0;
	int r, first = 1;

	for (;;) {
		if ((r = store_begin(s)) != VARSKO_OK)
			return r;
		/* Read inside the write lock, so two processes never both migrate. */
		if ((r = pragma_int(s, "PRAGMA user_version", &v)) != VARSKO_OK)
			goto fail;
		if ((r = store_schema_check(v)) != VARSKO_OK)
			goto fail;
		if (first) {
			s->opened_at_version = (int)v;
			first = 0;
		}
		if (v == STORE_SCHEMA_VERSION) {
			store_rollback(s); /* nothing written */
			return VARSKO_OK;
		}
		if ((r = exec_simple(s, migrations[v])) != VARSKO_OK)
			goto fail;
		if ((r = store_commit(s)) != VARSKO_OK)
			return r;
	}
fail:
	store_rollback(s);
	return r;
}

int store_opened_at_version(const struct store *s)
{
	return s->opened_at_version;
}

int store_writable(const struct store *s)
{
	return !s->broken;
}

int store_schema_check(long long version)
{
	/* Above ours: made by newer code, or damaged. */
	return version >= 0 && version <= STORE_SCHEMA_VERSION ? VARSKO_OK : VARSKO_ERR_DB;
}

int store_open(struct store **out, const char *path, int create)
{
	struct store *s;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int r = VARSKO_ERR_INTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VARSKO_ERR_NOMEM;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		r = s->db == NULL ? VARSKO_ERR_NOMEM : (create ? VARSKO_ERR_IO : VARSKO_ERR_NOT_FOUND);
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if ((r = set_pragmas(s)) != VARSKO_OK)
		goto out;
	if ((r = migrate(s)) != VARSKO_OK)
		goto out;
	if ((r = prepare_all(s, 0)) != VARSKO_OK)
		goto out;
	*out = s;
	s = NULL; /* transferred to caller */
	r = VARSKO_OK;
out:
	store_close(s);
	return r;
}

/*
 * The URI of a file name for sqlite3_open_v2(SQLITE_OPEN_URI) with the
 * query `query`: "file:" and the name with '%', '?' and '#' percent-encoded
 * (an absolute name after "//", an empty authority). *out is owned by the
 * caller: sqlite3_free().
 */
static int file_uri(const char *path, const char *query, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *prefix = path[0] == '/' ? "file://" : "file:";
	size_t n = strlen(path), o = strlen(prefix);
	char *u;

	*out = NULL;
	if (n > 4096)
		return VARSKO_ERR_TOO_LARGE;
	if ((u = sqlite3_malloc64(o + 3 * n + strlen(query) + 2)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(u, prefix, o);
	for (; *path; path++) {
		if (*path == '%' || *path == '?' || *path == '#') {
			u[o++] = '%';
			u[o++] = hex[(unsigned char)*path >> 4];
			u[o++] = hex[(unsigned char)*path & 15];
		} else {
			u[o++] = *path;
		}
	}
	u[o++] = '?';
	memcpy(u + o, query, strlen(query) + 1);
	*out = u;
	return VARSKO_OK;
}

int store_open_copy(struct store **out, const char *path)
{
	struct store *s;
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	char *uri = NULL;
	long long v = 0;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = file_uri(path, "mode=ro&immutable=1", &uri)) != VARSKO_OK)
		goto out;
	if (sqlite3_open_v2(uri, &s->db, flags, NULL) != SQLITE_OK) {
		r = s->db == NULL ? VARSKO_ERR_NOMEM : VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* The first read: a file that is not a database fails here. */
	if ((r = pragma_int(s, "PRAGMA user_version", &v)) != VARSKO_OK)
		goto out;
	if (v < 0 || v > INT32_MAX) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	s->opened_at_version = (int)v;
	if ((r = prepare_all(s, v != STORE_SCHEMA_VERSION)) != VARSKO_OK)
		goto out;
	*out = s;
	s = NULL; /* transferred to caller */
	r = VARSKO_OK;
out:
	sqlite3_free(uri);
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	store_rollback(s);
	for (i = 0; i < STORE_SQL_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

/* ---- enrollment codes ---- */

int store_code_normalize(const char *typed, char out[STORE_CODE_LEN + 1])
{
	size_t n = 0;
	char c;

	for (; *typed; typed++) {
		c = *typed;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (c == '\0' || strchr(code_alphabet, c) == NULL || n == STORE_CODE_LEN) {
			sodium_memzero(out, STORE_CODE_LEN + 1);
			return VARSKO_ERR_CODE_UNKNOWN;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n != STORE_CODE_LEN) {
		sodium_memzero(out, STORE_CODE_LEN + 1);
		return VARSKO_ERR_CODE_UNKNOWN;
	}
	return VARSKO_OK;
}

static void code_hash(const char norm[STORE_CODE_LEN + 1], uint8_t h[32])
{
	crypto_generichash(h, 32, (const uint8_t *)norm, STORE_CODE_LEN, (const uint8_t *)code_hash_key,
	                   sizeof(code_hash_key) - 1);
}

/* The statements of this file (store-internal.h). */
const char *const store_sql_main[STORE_SQL_COUNT] = {
        [SQL_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
        [SQL_USER_GET] = "SELECT name, role, coalesce(team, '') FROM users WHERE id = ?1",
        [SQL_USER_INSTS] = "SELECT institution FROM user_institutions WHERE user = ?1 ORDER BY institution",
        [SQL_INVITE_INSERT] = "INSERT INTO invites (code_hash, user, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        [SQL_INVITE_GET] = "SELECT user, expires_at, used_at FROM invites WHERE code_hash = ?1",
        [SQL_INVITE_USE] = "UPDATE invites SET used_at = ?1, device = ?2 WHERE code_hash = ?3 AND used_at IS NULL",
        [SQL_SERIAL_MAX] = "SELECT max(coalesce((SELECT max(serial) FROM devices), 0),"
                           " coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_serial'), 0))",
        [SQL_SERIAL_SET] = "INSERT INTO meta (key, value) VALUES ('last_serial', ?1)"
                           " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SQL_DEVICE_EXISTS] = "SELECT 1 FROM devices WHERE id = ?1",
        [SQL_DEVICE_INSERT] = "INSERT INTO devices (id, user, serial, label, cert_json, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [SQL_DEVICE_GET] = "SELECT cert_json, label, created_at, coalesce(revoked_at, 0) FROM devices WHERE id = ?1",
        [SQL_DEVICE_ALL] = "SELECT cert_json, label, created_at, coalesce(revoked_at, 0) FROM devices"
                           " ORDER BY created_at, serial",
        [SQL_DEVICE_REVOKED] = "SELECT revoked_at, cert_json FROM devices WHERE id = ?1",
        [SQL_DEVICE_REVOKE] = "UPDATE devices SET revoked_at = ?1 WHERE id = ?2",
        [SQL_USER_ACTIVE_DEVICE] = "SELECT id FROM devices WHERE user = ?1 AND revoked_at IS NULL ORDER BY id LIMIT 1",
        [SQL_ENROLLMENT_EXISTS] = "SELECT 1 FROM enrollments WHERE device = ?1",
        [SQL_ENROLLMENT_OF_CODE] = "SELECT device FROM enrollments WHERE code_hash = ?1",
        [SQL_ENROLLMENT_INSERT] = "INSERT INTO enrollments (device, code_hash, user, serial, label, cert_json, created_at)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [SQL_ENROLLMENT_GET] = "SELECT e.cert_json, e.label, e.created_at, 0, i.expires_at, coalesce(i.used_at, 0)"
                               " FROM enrollments e JOIN invites i ON i.code_hash = e.code_hash WHERE e.device = ?1",
        [SQL_ENROLLMENT_ALL] = "SELECT cert_json, label, created_at, 0 FROM enrollments ORDER BY created_at, serial",
        [SQL_ENROLLMENT_ACTIVATE] = "INSERT INTO devices (id, user, serial, label, cert_json, created_at)"
                                    " SELECT device, user, serial, label, cert_json, ?2 FROM enrollments"
                                    " WHERE device = ?1",
        [SQL_ENROLLMENT_USE_CODE] = "UPDATE invites SET used_at = ?1, device = ?2 WHERE used_at IS NULL AND"
                                    " code_hash = (SELECT code_hash FROM enrollments WHERE device = ?2)",
        [SQL_ENROLLMENT_DELETE] = "DELETE FROM enrollments WHERE device = ?1",
        [SQL_ENROLLMENT_DELETE_USER] = "DELETE FROM enrollments WHERE user = ?1",
        /* The meta table's values by key; for store_import.c and store_flow.c too. */
        [SQL_META_GET] = "SELECT value FROM meta WHERE key = ?1",
        [SQL_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

int store_invite_create(struct store *s, const char *user, int64_t now, int64_t expires,
                        char code_out[PROTO_CODE_MAX + 1])
{
	char norm[STORE_CODE_LEN + 1];
	char detail[PROTO_ID_MAX + 16];
	uint8_t h[32];
	size_t i, o = 0;
	int own = 0, r;

	code_out[0] = '\0';
	if (expires <= now || strlen(user) > PROTO_ID_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_one(s, SQL_USER_EXISTS, NULL, NULL, "s", user)) != VARSKO_OK)
		goto out;
	for (i = 0; i < STORE_CODE_LEN; i++)
		norm[i] = code_alphabet[randombytes_uniform(32)];
	norm[STORE_CODE_LEN] = '\0';
	code_hash(norm, h);
	if ((r = store_exec(s, SQL_INVITE_INSERT, "bsii", (const void *)h, sizeof(h), user, now, expires)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "user=%s", user);
	if ((r = store_audit(s, now, "invite", "-", detail)) != VARSKO_OK)
		goto out;
	/* Shown as four groups of four. */
	for (i = 0; i < STORE_CODE_LEN; i++) {
		if (i > 0 && i % 4 == 0)
			code_out[o++] = '-';
		code_out[o++] = norm[i];
	}
	code_out[o] = '\0';
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		sodium_memzero(code_out, PROTO_CODE_MAX + 1);
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(h, sizeof(h));
	return r;
}

/* ---- serials ---- */

int store_serial_take(struct store *s, uint64_t *out)
{
	char num[24];
	int64_t max;
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_int(s, SQL_SERIAL_MAX, &max, "")) != VARSKO_OK)
		goto out;
	if (max < 0 || max == INT64_MAX) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	snprintf(num, sizeof(num), "%lld", (long long)max + 1);
	if ((r = store_exec(s, SQL_SERIAL_SET, "s", num)) != VARSKO_OK)
		goto out;
	*out = (uint64_t)max + 1;
	r = VARSKO_OK;
out:
	return store_tx_end(s, own, r);
}

/* ---- enrollment ---- */

/* store-internal.h */
int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (t == NULL || n < 0 || (size_t)n >= cap)
		return VARSKO_ERR_DB;
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return VARSKO_OK;
}

/* store-internal.h */
int store_col_dup(sqlite3_stmt *st, int col, char **out, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (t == NULL || n < 0)
		return VARSKO_ERR_DB;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return VARSKO_OK;
}

/* store-internal.h */
int64_t store_col_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

struct invite_row {
	int64_t now;
	char *user; /* PROTO_ID_MAX + 1 bytes */
};

/* A row of SQL_INVITE_GET: the refusal, or the invite's user. */
static int invite_row(sqlite3_stmt *st, void *arg)
{
	struct invite_row *a = arg;

	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		return VARSKO_ERR_CODE_USED;
	if (a->now >= sqlite3_column_int64(st, 1))
		return VARSKO_ERR_CODE_EXPIRED;
	return store_col_text(st, 0, a->user, PROTO_ID_MAX + 1);
}

/* Check the invite for code hash h: fills user; returns a VARSKO_ERR_CODE_* refusal or VARSKO_OK. */
static int invite_check(struct store *s, const uint8_t h[32], int64_t now, char user[PROTO_ID_MAX + 1])
{
	struct invite_row a = {now, user};
	int r = store_query_one(s, SQL_INVITE_GET, invite_row, &a, "b", (const void *)h, (size_t)32);

	return r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_CODE_UNKNOWN : r;
}

/* A row of SQL_USER_GET into the cert's name, role and team. */
static int user_row(sqlite3_stmt *st, void *arg)
{
	struct proto_cert *c = arg;
	int r;

	if ((r = store_col_text(st, 0, c->name, sizeof(c->name))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, c->role, sizeof(c->role))) != VARSKO_OK)
		return r;
	return store_col_text(st, 2, c->team, sizeof(c->team));
}

/* A row of SQL_USER_INSTS: one more institution of the cert. */
static int user_inst_row(sqlite3_stmt *st, void *arg)
{
	struct proto_cert *c = arg;
	int r;

	if (c->n_institutions == PROTO_INST_MAX)
		return VARSKO_ERR_TOO_LARGE;
	if ((r = store_col_text(st, 0, c->institutions[c->n_institutions], PROTO_ID_MAX + 1)) != VARSKO_OK)
		return r;
	c->n_institutions++;
	return VARSKO_OK;
}

/* Fill the user part of cert c (name, role, team, institutions) from the database. */
int store_user_get(struct store *s, const char *user, struct proto_cert *c)
{
	int r;

	if ((r = store_query_one(s, SQL_USER_GET, user_row, c, "s", user)) != VARSKO_OK)
		return r;
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->n_institutions = 0;
	return store_query(s, SQL_USER_INSTS, user_inst_row, c, "s", user);
}

void store_set_refusal_audit(struct store *s, store_refusal_fn fn, void *arg)
{
	s->refusal_fn = fn;
	s->refusal_arg = arg;
}

static int is_refusal(int r)
{
	return r == VARSKO_ERR_CODE_UNKNOWN || r == VARSKO_ERR_CODE_EXPIRED || r == VARSKO_ERR_CODE_USED ||
	       r == VARSKO_ERR_EXISTS || r == VARSKO_ERR_BAD_INPUT;
}

/* A row whose first column is an id (PROTO_ID_MAX + 1 bytes at arg). */
static int id_row(sqlite3_stmt *st, void *arg)
{
	return store_col_text(st, 0, arg, PROTO_ID_MAX + 1);
}

int store_enroll(struct store *s, const char *code, int64_t now, int64_t validity,
                 const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN], const char *label,
                 const uint8_t org_sk[64], struct proto_cert *cert_out)
{
	char norm[STORE_CODE_LEN + 1];
	char user[PROTO_ID_MAX + 1] = "";
	char dev[PROTO_DEVICE_ID_LEN + 1], old[PROTO_ID_MAX + 1] = "";
	char detail[PROTO_ID_MAX + 64];
	struct proto_cert c;
	uint8_t h[32];
	char *json = NULL;
	int own = 0, r, wrote = 0;

	memset(&c, 0, sizeof(c));
	memset(cert_out, 0, sizeof(*cert_out));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if (validity <= 0 || (label != NULL && strlen(label) > PROTO_ID_MAX)) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((r = store_code_normalize(code, norm)) != VARSKO_OK)
		goto out;
	code_hash(norm, h);
	if ((r = invite_check(s, h, now, user)) != VARSKO_OK)
		goto out;
	/* The code's earlier attempt that was never confirmed, if any. */
	r = store_query_one(s, SQL_ENROLLMENT_OF_CODE, id_row, old, "b", (const void *)h, (size_t)32);
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		goto out;
	proto_device_id(sign_pk, dev);
	r = store_query_one(s, SQL_DEVICE_EXISTS, NULL, NULL, "s", dev);
	if (r == VARSKO_ERR_NOT_FOUND && strcmp(dev, old) != 0) /* pending under another code */
		r = store_query_one(s, SQL_ENROLLMENT_EXISTS, NULL, NULL, "s", dev);
	if (r != VARSKO_ERR_NOT_FOUND) {
		if (r == VARSKO_OK)
			r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if ((r = store_user_get(s, user, &c)) != VARSKO_OK)
		goto out;
	/* From here on rows are written: any failure rolls the whole enrollment back. */
	wrote = 1;
	if (old[0] != '\0') {
		/* It never became a device: it gives way to this attempt. */
		if ((r = store_exec(s, SQL_ENROLLMENT_DELETE, "s", old)) != VARSKO_OK)
			goto out;
		snprintf(detail, sizeof(detail), "user=%s", user);
		if ((r = store_audit(s, now, "enroll_replaced", old, detail)) != VARSKO_OK)
			goto out;
	}
	if ((r = store_serial_take(s, &c.serial)) != VARSKO_OK)
		goto out;
	c.version = PROTO_VERSION;
	memcpy(c.sign_pk, sign_pk, PROTO_PK_LEN);
	memcpy(c.box_pk, box_pk, PROTO_PK_LEN);
	c.not_before = now;
	c.not_after = now + validity;
	if ((r = proto_cert_sign(&c, org_sk)) != VARSKO_OK)
		goto out;
	if (strcmp(c.device, dev) != 0) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if ((r = proto_cert_to_json(&c, &json)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_ENROLLMENT_INSERT, "sbsissi", dev, (const void *)h, sizeof(h), user,
	                    (int64_t)c.serial, label ? label : "", json, now)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "user=%s serial=%llu", user, (unsigned long long)c.serial);
	if ((r = store_audit(s, now, "enroll_pending", dev, detail)) != VARSKO_OK)
		goto out;
	*cert_out = c;
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK && !wrote && is_refusal(r)) {
		/* Nothing was written yet: record the refusal in this same transaction, or hand it to be counted. */
		snprintf(detail, sizeof(detail), "reason=%s", varsko_err_name(r));
		if (s->refusal_fn != NULL)
			s->refusal_fn(s->refusal_arg, now, "enroll_refused", "-", detail);
		else if (store_audit(s, now, "enroll_refused", "-", detail) == VARSKO_OK) {
			int r2 = store_tx_end(s, own, VARSKO_OK);

			if (r2 != VARSKO_OK)
				r = r2;
			own = 0;
		}
	}
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		memset(cert_out, 0, sizeof(*cert_out));
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(h, sizeof(h));
	free(json);
	return r;
}

struct enrollment_row {
	struct proto_cert *cert;
	int64_t expires_at, used_at;
};

/* A row of SQL_ENROLLMENT_GET: the pending certificate and its code's state. */
static int enrollment_row(sqlite3_stmt *st, void *arg)
{
	struct enrollment_row *a = arg;
	const void *json = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);

	if (json == NULL || n <= 0 || proto_cert_from_json(json, (size_t)n, a->cert) != VARSKO_OK)
		return VARSKO_ERR_DB;
	a->expires_at = sqlite3_column_int64(st, 4);
	a->used_at = sqlite3_column_int64(st, 5);
	return VARSKO_OK;
}

int store_enrollment_get(struct store *s, const char *device, struct proto_cert *cert_out)
{
	struct enrollment_row a = {cert_out, 0, 0};
	int r = store_query_one(s, SQL_ENROLLMENT_GET, enrollment_row, &a, "s", device);

	if (r == VARSKO_ERR_NOT_FOUND)
		r = VARSKO_ERR_UNKNOWN_DEVICE;
	if (r != VARSKO_OK)
		memset(cert_out, 0, sizeof(*cert_out));
	return r;
}

int store_enroll_confirm(struct store *s, const char *device, int64_t now)
{
	struct proto_cert c;
	struct enrollment_row a = {&c, 0, 0};
	char detail[PROTO_ID_MAX + 64];
	int own = 0, r;

	memset(&c, 0, sizeof(c));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	r = store_query_one(s, SQL_ENROLLMENT_GET, enrollment_row, &a, "s", device);
	if (r == VARSKO_ERR_NOT_FOUND)
		r = VARSKO_ERR_UNKNOWN_DEVICE;
	if (r != VARSKO_OK)
		goto out;
	if (a.used_at != 0 || now >= a.expires_at) {
		/* Too late: the code expired (or went to another device); this attempt is void. */
		if ((r = store_exec(s, SQL_ENROLLMENT_DELETE, "s", device)) != VARSKO_OK)
			goto out;
		r = a.used_at != 0 ? VARSKO_ERR_CODE_USED : VARSKO_ERR_CODE_EXPIRED;
		snprintf(detail, sizeof(detail), "reason=%s", varsko_err_name(r));
		if (store_audit(s, now, "enroll_refused", device, detail) == VARSKO_OK) {
			int r2 = store_tx_end(s, own, VARSKO_OK);

			if (r2 != VARSKO_OK)
				r = r2;
			own = 0;
		}
		goto out;
	}
	if ((r = store_exec(s, SQL_ENROLLMENT_ACTIVATE, "si", device, now)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_ENROLLMENT_USE_CODE, "is", now, device)) != VARSKO_OK)
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		r = VARSKO_ERR_CODE_USED;
		goto out;
	}
	if ((r = store_exec(s, SQL_ENROLLMENT_DELETE, "s", device)) != VARSKO_OK)
		goto out;
	/* A new reader of the team's underretninger: the roster changes. */
	if (store_roster_role(c.role) && (r = store_team_roster_bump(s, c.team)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "user=%s serial=%llu", c.user, (unsigned long long)c.serial);
	r = store_audit(s, now, "enroll_ok", device, detail);
out:
	return store_tx_end(s, own, r);
}

/* ---- devices ---- */

/* A row of SQL_DEVICE_GET or SQL_DEVICE_ALL into the store_device `arg`. */
static int device_row(sqlite3_stmt *st, void *arg)
{
	struct store_device *d = arg;
	const void *json = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);
	int r;

	crypto_generichash_state hs;

	memset(d, 0, sizeof(*d));
	if (json == NULL || n <= 0)
		return VARSKO_ERR_DB;
	/* Parsed once per stored text (memo.h): every request looks its device up. */
	memo_key_init(&hs, "device-cert-json");
	memo_key_add(&hs, json, (size_t)n);
	memo_key_final(&hs, d->cert_digest);
	if (!memo_get(d->cert_digest, &d->cert, sizeof(d->cert))) {
		if (proto_cert_from_json(json, (size_t)n, &d->cert) != VARSKO_OK)
			return VARSKO_ERR_DB;
		memo_put(d->cert_digest, &d->cert, sizeof(d->cert));
	}
	if ((r = store_col_text(st, 1, d->label, sizeof(d->label))) != VARSKO_OK)
		return r;
	d->created_at = sqlite3_column_int64(st, 2);
	d->revoked_at = sqlite3_column_int64(st, 3);
	return VARSKO_OK;
}

int store_device_get(struct store *s, const char *device, struct store_device *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = store_query_one(s, SQL_DEVICE_GET, device_row, out, "s", device);
	if (r == VARSKO_ERR_NOT_FOUND)
		r = VARSKO_ERR_UNKNOWN_DEVICE;
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

struct revoked_row {
	int revoked;
	struct proto_cert cert;
};

/* A row of SQL_DEVICE_REVOKED: whether the device is revoked already, and its certificate. */
static int revoked_row(sqlite3_stmt *st, void *arg)
{
	struct revoked_row *a = arg;
	const void *json = sqlite3_column_text(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	a->revoked = sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (a->revoked)
		return VARSKO_OK; /* nothing changes: the certificate is not needed */
	if (json == NULL || n <= 0 || proto_cert_from_json(json, (size_t)n, &a->cert) != VARSKO_OK)
		return VARSKO_ERR_DB;
	return VARSKO_OK;
}

int store_device_revoke(struct store *s, const char *device, int64_t now, const char *actor)
{
	char detail[PROTO_ID_MAX + 16];
	struct revoked_row a;
	int own = 0, r;

	memset(&a, 0, sizeof(a));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_one(s, SQL_DEVICE_REVOKED, revoked_row, &a, "s", device)) != VARSKO_OK)
		goto out;
	if (a.revoked)
		goto out; /* already revoked: nothing changes, nothing to audit */
	/* A reader leaves the team's roster. */
	if (store_roster_role(a.cert.role) && (r = store_team_roster_bump(s, a.cert.team)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_DEVICE_REVOKE, "is", now, device)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "device=%s", device);
	r = store_audit(s, now, "revoke", actor ? actor : "-", detail);
out:
	return store_tx_end(s, own, r);
}

int store_user_revoke_devices(struct store *s, const char *user, int64_t now, const char *actor, int *count)
{
	char dev[PROTO_ID_MAX + 1];
	int own = 0, r;

	*count = 0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	/* A pending enrollment carries the old record in its certificate: it is void. */
	if ((r = store_exec(s, SQL_ENROLLMENT_DELETE_USER, "s", user)) != VARSKO_OK)
		goto out;
	/* One at a time, each through store_device_revoke(): its roster bump and its audit entry. */
	while ((r = store_query_one(s, SQL_USER_ACTIVE_DEVICE, id_row, dev, "s", user)) == VARSKO_OK) {
		if ((r = store_device_revoke(s, dev, now, actor)) != VARSKO_OK)
			break;
		++*count;
	}
	if (r == VARSKO_ERR_NOT_FOUND)
		r = VARSKO_OK;
out:
	return store_tx_end(s, own, r);
}

struct device_each {
	int (*fn)(const struct store_device *d, void *arg);
	void *arg;
	struct store_device d;
};

static int device_each_row(sqlite3_stmt *st, void *arg)
{
	struct device_each *e = arg;
	int r;

	if ((r = device_row(st, &e->d)) != VARSKO_OK)
		return r;
	return e->fn(&e->d, e->arg);
}

int store_device_foreach(struct store *s, int (*fn)(const struct store_device *d, void *arg), void *arg)
{
	struct device_each e;

	memset(&e, 0, sizeof(e));
	e.fn = fn;
	e.arg = arg;
	return store_query(s, SQL_DEVICE_ALL, device_each_row, &e, "");
}

int store_enrollment_foreach(struct store *s, int (*fn)(const struct store_device *d, void *arg), void *arg)
{
	struct device_each e;

	memset(&e, 0, sizeof(e));
	e.fn = fn;
	e.arg = arg;
	return store_query(s, SQL_ENROLLMENT_ALL, device_each_row, &e, "");
}
