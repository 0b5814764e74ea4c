/*
 * store_blob.c: attachments' ciphertext in the store (store_blob.h).
 */
#include "store_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store-internal.h"

#define B_SELECT                                                                                                       \
	"SELECT id, coalesce(thread, ''), owner, size, sha256, received, complete, created_at, updated_at,"            \
	" coalesce(submission, '') FROM blobs"

/* The statements of this file (store-internal.h). */
const char *const store_sql_blob[STORE_SQL_COUNT] = {
        [SQL_BLOB_GET] = B_SELECT " WHERE id = ?1",
        [SQL_BLOB_INSERT] = "INSERT INTO blobs (id, thread, submission, owner, size, sha256, received, complete,"
                            " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?7)",
        [SQL_BLOB_COUNT_SUBMISSION] = "SELECT count(*) FROM blobs WHERE owner = ?1 AND submission = ?2",
        [SQL_BLOB_CHUNK_INSERT] = "INSERT INTO blob_chunks (blob, offset, data) VALUES (?1, ?2, ?3)",
        [SQL_BLOB_RECEIVED] = "UPDATE blobs SET received = received + ?3, updated_at = ?4"
                              " WHERE id = ?1 AND received = ?2 AND complete = 0 AND received + ?3 <= size",
        [SQL_BLOB_CHUNKS] = "SELECT offset, data FROM blob_chunks WHERE blob = ?1 ORDER BY offset",
        [SQL_BLOB_COMPLETE] = "UPDATE blobs SET complete = 1, updated_at = ?2 WHERE id = ?1 AND received = size",
        [SQL_BLOB_CHUNKS_DROP] = "DELETE FROM blob_chunks WHERE blob = ?1",
        [SQL_BLOB_RESET] = "UPDATE blobs SET received = 0, complete = 0, updated_at = ?2 WHERE id = ?1",
        [SQL_BLOB_CHUNKS_FROM] = "SELECT offset, data FROM blob_chunks WHERE blob = ?1"
                                 " AND offset + length(data) > ?2 ORDER BY offset",
        /* Abandoned: not touched since ?1 and either never completed or an underretning's never submitted. */
        [SQL_BLOB_STALE] = "SELECT b.id, (SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob = b.id)"
                           " FROM blobs b WHERE b.updated_at < ?1 AND (b.complete = 0 OR (b.submission IS NOT NULL"
                           " AND NOT EXISTS (SELECT 1 FROM underretninger u"
                           " WHERE u.sender_user = b.owner AND u.submission = b.submission)))"
                           " ORDER BY b.updated_at LIMIT ?2",
        [SQL_BLOB_DROP] = "DELETE FROM blobs WHERE id = ?1",
};

static int blob_row(sqlite3_stmt *st, void *arg)
{
	struct store_blob *b = arg;
	const void *h = sqlite3_column_blob(st, 4);
	int r;

	memset(b, 0, sizeof(*b));
	if ((r = store_col_text(st, 0, b->id, sizeof(b->id))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, b->thread, sizeof(b->thread))) != VARSKO_OK ||
	    (r = store_col_text(st, 2, b->owner, sizeof(b->owner))) != VARSKO_OK)
		return r;
	if (h == NULL || sqlite3_column_bytes(st, 4) != (int)sizeof(b->sha256))
		return VARSKO_ERR_DB;
	memcpy(b->sha256, h, sizeof(b->sha256));
	b->size = store_col_int(st, 3);
	b->received = store_col_int(st, 5);
	b->complete = sqlite3_column_int(st, 6) != 0;
	b->created_at = store_col_int(st, 7);
	b->updated_at = store_col_int(st, 8);
	return store_col_text(st, 9, b->submission, sizeof(b->submission));
}

int store_blob_get(struct store *s, const char *id, struct store_blob *out)
{
	memset(out, 0, sizeof(*out));
	return store_query_one(s, SQL_BLOB_GET, blob_row, out, "s", id);
}

int store_blob_create(struct store *s, const struct store_blob *b, int64_t now)
{
	return store_write(s, SQL_BLOB_INSERT, "szzsibi", b->id, b->thread, b->submission, b->owner, b->size,
	                   (const void *)b->sha256, sizeof(b->sha256), now);
}

int store_blob_count_submission(struct store *s, const char *owner, const char *submission, int64_t *n)
{
	return store_query_int(s, SQL_BLOB_COUNT_SUBMISSION, n, "ss", owner, submission);
}

int store_blob_append(struct store *s, const char *id, int64_t offset, const uint8_t *data, size_t len, int64_t now,
                      int64_t *received)
{
	int own = 0, r;

	if (len == 0 || offset < 0)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_BLOB_RECEIVED, "siii", id, offset, (int64_t)len, now)) != VARSKO_OK)
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		r = VARSKO_ERR_BAD_INPUT; /* not the next offset, past the size, complete, or no such blob */
		goto out;
	}
	if ((r = store_exec(s, SQL_BLOB_CHUNK_INSERT, "sib", id, offset, (const void *)data, len)) != VARSKO_OK)
		goto out;
	if (received != NULL)
		*received = offset + (int64_t)len;
out:
	return store_tx_end(s, own, r);
}

static int hash_row(sqlite3_stmt *st, void *arg)
{
	const void *p = sqlite3_column_blob(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	if (p == NULL || n <= 0)
		return VARSKO_ERR_DB;
	crypto_hash_sha256_update(arg, p, (unsigned long long)n);
	return VARSKO_OK;
}

int store_blob_hash(struct store *s, const char *id, uint8_t out[32])
{
	crypto_hash_sha256_state h;
	int r;

	crypto_hash_sha256_init(&h);
	if ((r = store_query(s, SQL_BLOB_CHUNKS, hash_row, &h, "s", id)) != VARSKO_OK)
		return r;
	crypto_hash_sha256_final(&h, out);
	return VARSKO_OK;
}

int store_blob_finish(struct store *s, const char *id, int ok, int64_t now)
{
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if (ok)
		r = store_exec(s, SQL_BLOB_COMPLETE, "si", id, now);
	else if ((r = store_exec(s, SQL_BLOB_CHUNKS_DROP, "s", id)) == VARSKO_OK)
		r = store_exec(s, SQL_BLOB_RESET, "si", id, now);
	return store_tx_end(s, own, r);
}

struct read_ctx {
	int64_t offset; /* the next byte wanted */
	uint8_t *buf;
	size_t cap, n;
};

static int read_row(sqlite3_stmt *st, void *arg)
{
	struct read_ctx *x = arg;
	int64_t at = store_col_int(st, 0);
	const uint8_t *p = sqlite3_column_blob(st, 1);
	int64_t len = sqlite3_column_bytes(st, 1), skip, take;

	if (x->n == x->cap)
		return VARSKO_ERR_EXISTS; /* full: stop (not an error for the caller) */
	if (p == NULL || len <= 0 || at > x->offset)
		return VARSKO_ERR_DB; /* parts are contiguous from 0 */
	skip = x->offset - at;
	if (skip >= len)
		return VARSKO_OK;
	take = len - skip;
	if ((size_t)take > x->cap - x->n)
		take = (int64_t)(x->cap - x->n);
	memcpy(x->buf + x->n, p + skip, (size_t)take);
	x->n += (size_t)take;
	x->offset += take;
	return VARSKO_OK;
}

struct stale {
	char (*ids)[PROTO_ID_MAX + 1];
	size_t n, max;
	int64_t bytes;
};

static int stale_row(sqlite3_stmt *st, void *arg)
{
	struct stale *x = arg;
	int r;

	if (x->n == x->max)
		return VARSKO_ERR_INTERNAL; /* the query's LIMIT is max */
	if ((r = store_col_text(st, 0, x->ids[x->n], sizeof(x->ids[0]))) != VARSKO_OK)
		return r;
	x->bytes += store_col_int(st, 1);
	x->n++;
	return VARSKO_OK;
}

int store_blob_purge_stale(struct store *s, int64_t cutoff, int64_t now, size_t max, size_t *n, int64_t *bytes)
{
	struct stale x = {NULL, 0, max, 0};
	char detail[96];
	int own = 0, r;

	*n = 0;
	*bytes = 0;
	if (max == 0)
		return VARSKO_OK;
	if ((x.ids = calloc(max, sizeof(*x.ids))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		goto out0;
	if ((r = store_query(s, SQL_BLOB_STALE, stale_row, &x, "ii", cutoff, (int64_t)max)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < x.n; i++)
		if ((r = store_exec(s, SQL_BLOB_CHUNKS_DROP, "s", x.ids[i])) != VARSKO_OK ||
		    (r = store_exec(s, SQL_BLOB_DROP, "s", x.ids[i])) != VARSKO_OK)
			goto out;
	/* One audit row per run that dropped anything: how many and how large, no ids of people. */
	if (x.n > 0) {
		snprintf(detail, sizeof(detail), "blobs=%zu bytes=%lld", x.n, (long long)x.bytes);
		r = store_audit(s, now, "blob_purge", "varskod", detail);
	}
out:
	r = store_tx_end(s, own, r);
	if (r == VARSKO_OK) {
		*n = x.n;
		*bytes = x.bytes;
	}
out0:
	free(x.ids);
	return r;
}

int store_blob_read(struct store *s, const char *id, int64_t offset, uint8_t *buf, size_t cap, size_t *n)
{
	struct read_ctx x = {offset, buf, cap, 0};
	int r;

	*n = 0;
	if (offset < 0 || cap == 0)
		return VARSKO_ERR_BAD_INPUT;
	r = store_query(s, SQL_BLOB_CHUNKS_FROM, read_row, &x, "si", id, offset);
	if (r == VARSKO_ERR_EXISTS)
		r = VARSKO_OK;
	if (r != VARSKO_OK)
		return r;
	if (x.n == 0)
		return VARSKO_ERR_BAD_INPUT;
	*n = x.n;
	return VARSKO_OK;
}
