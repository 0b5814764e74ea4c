/*
 * store_backup.c: the store's part of `varskoctl backup` and `varskoctl
 * restore` (store.h "backup and restore"; docs/OPERATIONS.md): the online
 * copy of the live database, the checks a copy must pass, and taking the
 * live database off line before a restore replaces it. store_open_copy()
 * is in store.c, beside store_open().
 *
 * The copy is made with SQLite's online backup API, all pages in one step:
 * one read transaction on the live database, so the copy is the snapshot of
 * the last commit before the step began, the committed frames of the WAL
 * included. In WAL mode that reader blocks no writer (varskod keeps
 * committing); a checkpoint only cannot pass the reader's snapshot until
 * the step is done. Copying in slices with pauses would let varskod's
 * commits in between restart the copy from the first page, again and again
 * on a busy gateway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store-internal.h"

#define BACKUP_BUSY_TRIES 50 /* times BACKUP_BUSY_MS: how long a busy live database is waited for */
#define BACKUP_BUSY_MS    100

/* The statements of this file (store-internal.h). */
const char *const store_sql_backup[STORE_SQL_COUNT] = {
        [SQL_INTEGRITY_CHECK] = "PRAGMA integrity_check",
        [SQL_COUNT_UNDERRETNINGER] = "SELECT count(*) FROM underretninger",
        [SQL_COUNT_EVENTS] = "SELECT count(*) FROM events",
};

/* A statement without parameters whose rows, if any, are not needed (PRAGMA, BEGIN, COMMIT): SQLite's result code. */
static int exec_plain(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Remove path and the journal files SQLite may have left beside it. */
static void remove_with_journals(const char *path)
{
	static const char *const suffix[] = {"-journal", "-wal", "-shm"};
	char name[4096 + 16];
	size_t i;

	unlink(path);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix[i]) < sizeof(name))
			unlink(name);
	}
}

/* PRAGMA journal_mode = DELETE, and check that it took. */
static int leave_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int r = VARSKO_ERR_DB, rc;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = DELETE", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = store_sqlite_err(rc);
		goto out;
	}
	if ((mode = sqlite3_column_text(st, 0)) != NULL && strcmp((const char *)mode, "delete") == 0)
		r = VARSKO_OK;
out:
	sqlite3_finalize(st);
	return r;
}

int store_backup(const char *live, const char *copy)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	int fd, rc, tries, r = VARSKO_ERR_INTERNAL;

	/* The copy's file is made here, new and private whatever the umask; SQLite then fills it. */
	if ((fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return errno == EEXIST ? VARSKO_ERR_EXISTS : VARSKO_ERR_IO;
	if (fchmod(fd, 0600) != 0) {
		r = VARSKO_ERR_IO;
		goto out;
	}
	/*
	 * The live database is opened as it is, without store_open(): no
	 * migration and no pragma changes it before it is copied (a backup is
	 * what one makes before an upgrade). The connection only reads.
	 */
	if (sqlite3_open_v2(live, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) !=
	    SQLITE_OK) {
		r = src == NULL ? VARSKO_ERR_NOMEM : VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (sqlite3_open_v2(copy, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) !=
	    SQLITE_OK) {
		r = dst == NULL ? VARSKO_ERR_NOMEM : VARSKO_ERR_IO;
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
	sqlite3_busy_timeout(dst, BACKUP_BUSY_MS);
	if ((rc = exec_plain(dst, "PRAGMA synchronous = FULL")) != SQLITE_OK) {
		r = store_sqlite_err(rc);
		goto out;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		r = store_sqlite_err(sqlite3_errcode(dst));
		goto out;
	}
	for (tries = 0;; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_DONE)
			break;
		if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) && tries < BACKUP_BUSY_TRIES) {
			sqlite3_sleep(BACKUP_BUSY_MS);
			continue;
		}
		r = store_sqlite_err(rc);
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		r = store_sqlite_err(rc);
		goto out;
	}
	/*
	 * The pages came with the live file's header, which says WAL: the copy
	 * becomes one self-contained file in rollback-journal mode, so that it
	 * can be hashed, moved and opened read-only without a -wal beside it.
	 * (varskod puts a restored database back into WAL mode when it opens it.)
	 */
	if ((r = leave_wal(dst)) != VARSKO_OK)
		goto out;
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		r = VARSKO_ERR_IO;
		goto out;
	}
	r = fsync(fd) == 0 ? VARSKO_OK : VARSKO_ERR_IO;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (close(fd) != 0 && r == VARSKO_OK)
		r = VARSKO_ERR_IO;
	if (r != VARSKO_OK)
		remove_with_journals(copy);
	return r;
}

struct integrity {
	int rows;
	int ok;
};

static int integrity_row(sqlite3_stmt *st, void *arg)
{
	struct integrity *in = arg;
	const unsigned char *t = sqlite3_column_text(st, 0);

	in->rows++;
	in->ok = in->rows == 1 && t != NULL && strcmp((const char *)t, "ok") == 0;
	return VARSKO_OK;
}

int store_integrity_check(struct store *s)
{
	struct integrity in = {0, 0};
	int r;

	if ((r = store_query(s, SQL_INTEGRITY_CHECK, integrity_row, &in, "")) != VARSKO_OK)
		return r;
	return in.ok ? VARSKO_OK : VARSKO_ERR_DB;
}

int store_backup_counts(struct store *s, int64_t *underretninger, int64_t *events)
{
	int r;

	*underretninger = *events = 0;
	if ((r = store_query_int(s, SQL_COUNT_UNDERRETNINGER, underretninger, "")) != VARSKO_OK)
		return r;
	return store_query_int(s, SQL_COUNT_EVENTS, events, "");
}

int store_take_offline(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = VARSKO_ERR_DB;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) !=
	    SQLITE_OK) {
		r = db == NULL ? VARSKO_ERR_NOMEM : VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	/*
	 * Every connection to a database in WAL mode holds a shared lock on
	 * the file from its first read until it closes; varskod holds its one
	 * connection for as long as it runs. An exclusive lock, tried once
	 * without waiting, is therefore refused exactly while another
	 * connection is open. In exclusive locking mode the lock is then kept
	 * until this connection closes, across the checkpoint.
	 */
	sqlite3_busy_timeout(db, 0);
	if ((rc = exec_plain(db, "PRAGMA locking_mode = EXCLUSIVE")) != SQLITE_OK ||
	    (rc = exec_plain(db, "BEGIN EXCLUSIVE")) != SQLITE_OK) {
		r = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? VARSKO_ERR_UNAVAILABLE
		                                                               : store_sqlite_err(rc);
		goto out;
	}
	if ((rc = exec_plain(db, "COMMIT")) != SQLITE_OK) {
		r = store_sqlite_err(rc);
		goto out;
	}
	/* Everything the WAL holds into the file, the WAL emptied; busy (column 0) must be 0. */
	if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = store_sqlite_err(rc);
		goto out;
	}
	r = sqlite3_column_int(st, 0) == 0 ? VARSKO_OK : VARSKO_ERR_UNAVAILABLE;
out:
	sqlite3_finalize(st);
	/* The last connection's close checkpoints once more and removes the -wal file. */
	if (sqlite3_close(db) != SQLITE_OK && r == VARSKO_OK)
		r = VARSKO_ERR_DB;
	return r;
}
