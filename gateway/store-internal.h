/*
 * store-internal.h: what the store's files (store.c, store_audit.c,
 * store_import.c, store_outbox.c, store_deadline.c, store_flow.c,
 * store_keys.c, store_backup.c, store_thread.c) share. Not
 * part of the store's API: only they, and white-box unit tests, include it.
 *
 * Every statement is named by enum store_sql. Each file that runs statements
 * keeps their SQL text in its own table indexed by that enum (designated
 * initializers, so a file lists only its own); store_open() prepares every
 * statement of every table once, after the migrations, and fails when one
 * does not prepare or when an id has no text or two. store_run() is then the
 * only place that binds, steps, resets and maps errors.
 */
#ifndef VARSKO_STORE_INTERNAL_H
#define VARSKO_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdarg.h>

#include "store.h"

/* Every statement of the store; X(id) each. The SQL is in the file named in the comment. */
#define STORE_SQL_LIST(X)                                                                                              \
	/* store.c */                                                                                                  \
	X(SQL_USER_EXISTS)                                                                                             \
	X(SQL_USER_GET)                                                                                                \
	X(SQL_USER_INSTS)                                                                                              \
	X(SQL_INVITE_INSERT)                                                                                           \
	X(SQL_INVITE_GET)                                                                                              \
	X(SQL_INVITE_USE)                                                                                              \
	X(SQL_SERIAL_MAX)                                                                                              \
	X(SQL_SERIAL_SET)                                                                                              \
	X(SQL_DEVICE_EXISTS)                                                                                           \
	X(SQL_DEVICE_INSERT)                                                                                           \
	X(SQL_DEVICE_GET)                                                                                              \
	X(SQL_DEVICE_ALL)                                                                                              \
	X(SQL_DEVICE_REVOKED)                                                                                          \
	X(SQL_DEVICE_REVOKE)                                                                                           \
	X(SQL_USER_ACTIVE_DEVICE)                                                                                      \
	X(SQL_ENROLLMENT_EXISTS)                                                                                       \
	X(SQL_ENROLLMENT_OF_CODE)                                                                                      \
	X(SQL_ENROLLMENT_INSERT)                                                                                       \
	X(SQL_ENROLLMENT_GET)                                                                                          \
	X(SQL_ENROLLMENT_ALL)                                                                                          \
	X(SQL_ENROLLMENT_ACTIVATE)                                                                                     \
	X(SQL_ENROLLMENT_USE_CODE)                                                                                     \
	X(SQL_ENROLLMENT_DELETE)                                                                                       \
	X(SQL_ENROLLMENT_DELETE_USER)                                                                                  \
	X(SQL_META_GET)                                                                                                \
	X(SQL_META_SET)                                                                                                \
	/* store_audit.c */                                                                                            \
	X(SQL_AUDIT_HEAD_GET)                                                                                          \
	X(SQL_AUDIT_HEAD_SET)                                                                                          \
	X(SQL_AUDIT_INSERT)                                                                                            \
	X(SQL_AUDIT_ALL)                                                                                               \
	/* store_import.c */                                                                                           \
	X(SQL_IMPORT_HAS_INST)                                                                                         \
	X(SQL_IMPORT_HAS_TEAM)                                                                                         \
	X(SQL_IMPORT_HAS_DISTRICT)                                                                                     \
	X(SQL_IMPORT_USER_ROLE)                                                                                        \
	X(SQL_IMPORT_USER_OLD)                                                                                         \
	X(SQL_IMPORT_INST_UPSERT)                                                                                      \
	X(SQL_IMPORT_TEAM_UPSERT)                                                                                      \
	X(SQL_IMPORT_USER_UPSERT)                                                                                      \
	X(SQL_IMPORT_UI_CLEAR)                                                                                         \
	X(SQL_IMPORT_UI_ADD)                                                                                           \
	X(SQL_IMPORT_RULES_CLEAR)                                                                                      \
	X(SQL_IMPORT_RULE_ADD)                                                                                         \
	X(SQL_DIRECTORY_INSTS)                                                                                         \
	X(SQL_DIRECTORY_TEAMS)                                                                                         \
	/* store_outbox.c */                                                                                           \
	X(SQL_OUTBOX_INSERT)                                                                                           \
	X(SQL_OUTBOX_DUE)                                                                                              \
	X(SQL_OUTBOX_ATTEMPT)                                                                                          \
	X(SQL_OUTBOX_ROW)                                                                                              \
	X(SQL_OUTBOX_PUBACK)                                                                                           \
	X(SQL_OUTBOX_ACK)                                                                                              \
	X(SQL_OUTBOX_REARM)                                                                                            \
	X(SQL_OUTBOX_PENDING)                                                                                          \
	X(SQL_OUTBOX_STATS)                                                                                            \
	X(SQL_OUTBOX_DEAD)                                                                                             \
	X(SQL_OUTBOX_RETRY)                                                                                            \
	X(SQL_OUTBOX_DEAD_LIST)                                                                                        \
	/* store_deadline.c */                                                                                         \
	X(SQL_DEADLINE_INSERT)                                                                                         \
	X(SQL_DEADLINE_MET)                                                                                            \
	X(SQL_DEADLINE_TEAM)                                                                                           \
	X(SQL_DEADLINE_OPEN_ALL)                                                                                       \
	X(SQL_DEADLINE_OPEN_TEAM)                                                                                      \
	X(SQL_FIRE_DUE)                                                                                                \
	X(SQL_FIRE_WARNED)                                                                                             \
	X(SQL_FIRE_ESCALATED)                                                                                          \
	X(SQL_TEAM_ALL)                                                                                                \
	X(SQL_REPORT_ITEMS)                                                                                            \
	X(SQL_DEADLINE_COUNTS)                                                                                         \
	/* store_flow.c */                                                                                             \
	X(SQL_ROSTER_BUMP)                                                                                             \
	X(SQL_TEAM_VERSION)                                                                                            \
	X(SQL_ROSTER_DEVICES)                                                                                          \
	X(SQL_USER_DEVICES)                                                                                            \
	X(SQL_INST_DISTRICT)                                                                                           \
	X(SQL_RULES_ALL)                                                                                               \
	X(SQL_UNDERRETNING_GET)                                                                                        \
	X(SQL_UNDERRETNING_FIND)                                                                                       \
	X(SQL_UNDERRETNING_INSERT)                                                                                     \
	X(SQL_UNDERRETNING_REROUTE)                                                                                    \
	X(SQL_ITEM_ONE)                                                                                                \
	X(SQL_ITEMS_TEAM)                                                                                              \
	X(SQL_ITEMS_USER)                                                                                              \
	X(SQL_EVENTS_OF)                                                                                               \
	X(SQL_EVENT_SAME)                                                                                              \
	X(SQL_EVENT_FIRST_BY)                                                                                          \
	X(SQL_EVENT_KINDS)                                                                                             \
	X(SQL_EVENT_INSERT)                                                                                            \
	X(SQL_AGENT_DONE)                                                                                              \
	/* store_keys.c */                                                                                             \
	X(SQL_CHAIN_LINKS)                                                                                             \
	X(SQL_CHAIN_ADD)                                                                                               \
	X(SQL_KEYSETS)                                                                                                 \
	X(SQL_KEYSET_PUT)                                                                                              \
	X(SQL_RECOVERY_PUT)                                                                                            \
	X(SQL_RECOVERY_GET)                                                                                            \
	X(SQL_RECOVERY_TRY)                                                                                            \
	X(SQL_RECOVERY_RESET)                                                                                          \
	X(SQL_APPROVAL_PURGE)                                                                                          \
	X(SQL_APPROVAL_DROP_DEVICE)                                                                                    \
	X(SQL_APPROVAL_INSERT)                                                                                         \
	X(SQL_APPROVAL_GET)                                                                                            \
	X(SQL_APPROVAL_OF_USER)                                                                                        \
	X(SQL_APPROVAL_OFFER)                                                                                          \
	X(SQL_APPROVAL_REVEAL)                                                                                         \
	X(SQL_TEAM_EXISTS)                                                                                             \
	/* store_backup.c */                                                                                           \
	X(SQL_INTEGRITY_CHECK)                                                                                         \
	X(SQL_COUNT_UNDERRETNINGER)                                                                                    \
	X(SQL_COUNT_EVENTS)                                                                                            \
	/* store_thread.c */                                                                                           \
	X(SQL_THREAD_GET)                                                                                              \
	X(SQL_THREAD_INSERT)                                                                                           \
	X(SQL_THREAD_VERSION)                                                                                          \
	X(SQL_THREAD_MEMBER)                                                                                           \
	X(SQL_THREAD_MEMBER_SET)                                                                                       \
	X(SQL_THREAD_LIST)                                                                                             \
	X(SQL_THREAD_NEXT_SEQ)                                                                                         \
	X(SQL_THREAD_MSG_INSERT)                                                                                       \
	X(SQL_THREAD_RCPT_INSERT)                                                                                      \
	X(SQL_THREAD_LAST)                                                                                             \
	X(SQL_THREAD_MSG_FIND)                                                                                         \
	X(SQL_THREAD_MSGS_AFTER)                                                                                       \
	X(SQL_THREAD_MSGS_BEFORE)                                                                                      \
	X(SQL_THREAD_MARKS)                                                                                            \
	X(SQL_THREAD_MARK_TARGET)                                                                                      \
	X(SQL_THREAD_MARK_INSERT)                                                                                      \
	X(SQL_THREAD_PURGE_DUE)                                                                                        \
	X(SQL_THREAD_PURGE_ONE)                                                                                        \
	X(SQL_THREAD_PURGE_MARKS)                                                                                      \
	X(SQL_THREAD_PURGE_RCPTS)                                                                                      \
	X(SQL_THREAD_PURGE_MSGS)                                                                                       \
	X(SQL_THREAD_PURGE_BLOB_PARTS)                                                                                 \
	X(SQL_THREAD_PURGE_BLOBS)                                                                                      \
	X(SQL_THREAD_PURGED_SET)                                                                                       \
	X(SQL_INST_RAADGIVERE)                                                                                         \
	/* store_blob.c */                                                                                             \
	X(SQL_BLOB_GET)                                                                                                \
	X(SQL_BLOB_INSERT)                                                                                             \
	X(SQL_BLOB_COUNT_SUBMISSION)                                                                                   \
	X(SQL_BLOB_CHUNK_INSERT)                                                                                       \
	X(SQL_BLOB_RECEIVED)                                                                                           \
	X(SQL_BLOB_CHUNKS)                                                                                             \
	X(SQL_BLOB_COMPLETE)                                                                                           \
	X(SQL_BLOB_CHUNKS_DROP)                                                                                        \
	X(SQL_BLOB_RESET)                                                                                              \
	X(SQL_BLOB_CHUNKS_FROM)                                                                                        \
	X(SQL_BLOB_STALE)                                                                                              \
	X(SQL_BLOB_DROP)

#define STORE_SQL_ENUM(id) id,
enum store_sql { STORE_SQL_LIST(STORE_SQL_ENUM) STORE_SQL_COUNT };
#undef STORE_SQL_ENUM

/* The per-file SQL tables; an entry is NULL for a statement of another file. */
extern const char *const store_sql_main[STORE_SQL_COUNT];     /* store.c */
extern const char *const store_sql_audit[STORE_SQL_COUNT];    /* store_audit.c */
extern const char *const store_sql_import[STORE_SQL_COUNT];   /* store_import.c */
extern const char *const store_sql_outbox[STORE_SQL_COUNT];   /* store_outbox.c */
extern const char *const store_sql_deadline[STORE_SQL_COUNT]; /* store_deadline.c */
extern const char *const store_sql_flow[STORE_SQL_COUNT];     /* store_flow.c */
extern const char *const store_sql_keys[STORE_SQL_COUNT];     /* store_keys.c */
extern const char *const store_sql_backup[STORE_SQL_COUNT];   /* store_backup.c */
extern const char *const store_sql_thread[STORE_SQL_COUNT];   /* store_thread.c */
extern const char *const store_sql_blob[STORE_SQL_COUNT];     /* store_blob.c */

struct store {
	sqlite3 *db;
	int tx_open; /* an explicit transaction (store_begin) or one of ours is open */
	int broken;  /* synchronous=FULL could not be restored after a failed commit: no more writes */
	int opened_at_version; /* the schema version the file had when opened (before the migrations) */
	store_refusal_fn refusal_fn; /* store_set_refusal_audit(); NULL: refusals written in their transaction */
	void *refusal_arg;
	sqlite3_stmt *stmt[STORE_SQL_COUNT]; /* every statement, prepared by store_open() */
};

/*
 * A row of a query, handed to the callback of store_run(): read the columns
 * of st (borrowed for the call) and nothing else. Return VARSKO_OK to go on;
 * any other value stops the query and is what store_run() returns.
 */
typedef int (*store_row_fn)(sqlite3_stmt *st, void *arg);

#define STORE_ONE 1 /* store_run() flag: at most one row; none is VARSKO_ERR_NOT_FOUND */

/*
 * Run statement `id` once. fmt has one character per parameter ?1, ?2, ...,
 * each taking its arguments from the variable list in that order:
 *   i  int64_t
 *   t  int64_t, bound as NULL when <= 0 (an instant that is not set)
 *   s  const char *, text; NULL binds NULL
 *   z  const char *, text; NULL or "" binds NULL
 *   b  const void *, size_t: a blob
 * (pass exactly these types: a plain int for `i` or `b` is undefined
 * behaviour in a variable argument list). Every row goes to row(st, arg);
 * row may be NULL when the rows are not read. With STORE_ONE the query ends
 * after its first row, and no row at all is VARSKO_ERR_NOT_FOUND.
 *
 * The statement is reset and its bindings cleared before this returns,
 * whatever happened, so it keeps no read snapshot open and no pointer to the
 * caller's memory (text and blobs are bound without a copy, which is why).
 * A statement that writes runs only inside a transaction (store_begin() or
 * store_tx_start()), so every write is under BEGIN IMMEDIATE; outside one it
 * is refused with VARSKO_ERR_INTERNAL. Errors: store_step_err(); a bad fmt
 * is VARSKO_ERR_INTERNAL. sqlite3_changes() and sqlite3_last_insert_rowid()
 * on s->db afterwards describe this statement.
 */
int store_run(struct store *s, enum store_sql id, int flags, store_row_fn row, void *arg, const char *fmt, ...);
int store_vrun(struct store *s, enum store_sql id, int flags, store_row_fn row, void *arg, const char *fmt, va_list ap);

/* A write (or a query whose rows nobody reads) inside the caller's transaction. */
#define store_exec(s, id, ...) store_run((s), (id), 0, NULL, NULL, __VA_ARGS__)
/* Every row through fn. */
#define store_query(s, id, fn, arg, ...) store_run((s), (id), 0, (fn), (arg), __VA_ARGS__)
/* The first row through fn (NULL: only whether there is one); VARSKO_ERR_NOT_FOUND when none. */
#define store_query_one(s, id, fn, arg, ...) store_run((s), (id), STORE_ONE, (fn), (arg), __VA_ARGS__)

/*
 * A write in its own transaction, or in the caller's when one is open
 * (store_tx_start/store_tx_end around store_vrun).
 */
int store_write(struct store *s, enum store_sql id, const char *fmt, ...);

/* Column 0 of the first row into the int64_t *out; VARSKO_ERR_NOT_FOUND when there is no row. */
#define store_query_int(s, id, out, ...) store_run((s), (id), STORE_ONE, store_row_int, (out), __VA_ARGS__)
int store_row_int(sqlite3_stmt *st, void *arg); /* the row function of store_query_int */

/* Map an SQLite result code to a VARSKO_ERR_*: BUSY/LOCKED -> UNAVAILABLE, FULL/IOERR -> IO, else DB. */
int store_sqlite_err(int rc);

/*
 * The error of a failed step rc on connection db: a UNIQUE or PRIMARY KEY
 * conflict is VARSKO_ERR_EXISTS, a dangling reference (FOREIGN KEY)
 * VARSKO_ERR_BAD_INPUT, another constraint VARSKO_ERR_DB, the rest
 * store_sqlite_err(rc).
 */
int store_step_err(sqlite3 *db, int rc);

/* Copy text column `col` of st into dst (cap bytes); VARSKO_ERR_DB if NULL or too long. */
int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

/*
 * A copy of text column `col` of st in *out (owned by the caller: free()),
 * NUL-terminated, its length in *len unless len is NULL. VARSKO_ERR_DB when
 * the column is NULL, VARSKO_ERR_NOMEM; *out is NULL on any error.
 */
int store_col_dup(sqlite3_stmt *st, int col, char **out, size_t *len);

/* Integer column `col` of st, 0 when it is NULL. */
int64_t store_col_int(sqlite3_stmt *st, int col);

#endif
