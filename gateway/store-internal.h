/*
 * store-internal.h: what store.c, store_audit.c and store_import.c share. Not part of the
 * store's API: nothing outside these three files includes it.
 */
#ifndef VARSKO_STORE_INTERNAL_H
#define VARSKO_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

#define STORE_STMT_CACHE 128

struct store {
	sqlite3 *db;
	int tx_open; /* an explicit transaction (store_begin) or one of ours is open */
	int broken;  /* synchronous=FULL could not be restored after a failed commit: no more writes */
	struct {
		const char *sql; /* identity of the statement: a static string */
		sqlite3_stmt *st;
	} cache[STORE_STMT_CACHE];
};

/*
 * The prepared statement for `sql`, which must be a string with static
 * storage (its address is the cache key). Prepared once per store, reset and
 * unbound before it is handed out. NULL on failure.
 */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);


/* Map an SQLite result code to a VARSKO_ERR_*: BUSY/LOCKED -> UNAVAILABLE, FULL/IOERR -> IO, else DB. */
int store_sqlite_err(int rc);

/* Copy text column `col` of st into dst (cap bytes); VARSKO_ERR_DB if NULL or too long. */
int store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* The default, single step of a write statement: SQLITE_DONE -> VARSKO_OK. Resets the statement. */
int store_step_done(sqlite3_stmt *st);

#endif
