/*
 * store_audit.c: the append-only, hash-chained audit log (store_audit,
 * store_audit_verify).
 *
 * Entry n stores hash_n = BLAKE2b-256(encode("varsko-audit-v1", seq, at,
 * event, actor, detail, prev_hash)) where encode is the length-prefixed
 * proto_buf encoding and prev_hash is hash_{n-1} (32 zero bytes for entry 1).
 * Triggers refuse UPDATE and DELETE on the table; the chain finds changes made
 * around them (trigger dropped, file edited).
 *
 * A chain alone cannot show that its newest entries were cut off, so the
 * head (seq and hash of the newest entry) is also kept in meta('audit_head'),
 * written in the same transaction as the entry. store_audit appends after
 * the head recorded in meta, not after the last row, so an entry added after
 * a truncation leaves a visible gap. An attacker who can rewrite the file can
 * still recompute the whole chain and the head: to detect that, record the
 * head that `varskoctl audit verify` prints somewhere else from time to time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store-internal.h"

#define AUDIT_TAG "varsko-audit-v1"
#define AUDIT_FIELD_MAX 256 /* bytes of an escaped actor or detail */
#define AUDIT_HASH_LEN 32

/* The statements of this file (store-internal.h). */
const char *const store_sql_audit[STORE_SQL_COUNT] = {
        [SQL_AUDIT_HEAD_GET] = "SELECT value FROM meta WHERE key = 'audit_head'",
        [SQL_AUDIT_HEAD_SET] = "INSERT INTO meta (key, value) VALUES ('audit_head', ?1)"
                               " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SQL_AUDIT_INSERT] = "INSERT INTO audit (seq, at, event, actor, detail, prev_hash, hash)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [SQL_AUDIT_ALL] = "SELECT seq, at, event, actor, detail, prev_hash, hash FROM audit ORDER BY seq",
};

/*
 * Escape src into dst (cap bytes, NUL-terminated): backslash, double quote,
 * control characters and every byte outside printable ASCII become escape
 * sequences, so a stored field can never carry a line break, a quote that
 * ends a JSON string, or bytes a terminal interprets. Output longer than
 * cap - 1 is cut at a whole escape sequence.
 */
static void escape_field(const char *src, char *dst, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)src;
	char seq[5];
	size_t o = 0, n;

	for (; *p; p++) {
		if (*p == '\\' || *p == '"') {
			seq[0] = '\\';
			seq[1] = (char)*p;
			n = 2;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			seq[0] = '\\';
			seq[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p >= 0x7f) {
			seq[0] = '\\';
			seq[1] = 'x';
			seq[2] = hex[*p >> 4];
			seq[3] = hex[*p & 15];
			n = 4;
		} else {
			seq[0] = (char)*p;
			n = 1;
		}
		if (o + n > cap - 1)
			break;
		memcpy(dst + o, seq, n);
		o += n;
	}
	dst[o] = '\0';
}

static int event_ok(const char *e)
{
	size_t n = 0;

	for (; *e; e++, n++) {
		if (!((*e >= 'a' && *e <= 'z') || *e == '_' || (*e >= '0' && *e <= '9')))
			return 0;
	}
	return n > 0 && n <= 32;
}

static int entry_hash(uint64_t seq, int64_t at, const char *event, const char *actor, const char *detail,
                      const uint8_t prev[AUDIT_HASH_LEN], uint8_t out[AUDIT_HASH_LEN])
{
	struct proto_buf b;
	int r = VARSKO_OK;

	proto_buf_init(&b);
	proto_buf_put_str(&b, AUDIT_TAG);
	proto_buf_put_u64(&b, seq);
	proto_buf_put_i64(&b, at);
	proto_buf_put_str(&b, event);
	proto_buf_put_str(&b, actor);
	proto_buf_put_str(&b, detail);
	proto_buf_put_bytes(&b, prev, AUDIT_HASH_LEN);
	if (b.err)
		r = b.err < 0 ? b.err : VARSKO_ERR_NOMEM;
	else if (crypto_generichash(out, AUDIT_HASH_LEN, b.p, b.len, NULL, 0) != 0)
		r = VARSKO_ERR_CRYPTO;
	proto_buf_free(&b);
	return r;
}

struct head {
	int found;
	uint64_t seq;
	uint8_t *hash; /* AUDIT_HASH_LEN bytes */
};

/* The row of SQL_AUDIT_HEAD_GET: meta('audit_head') is "SEQ:HEX64". */
static int head_row(sqlite3_stmt *st, void *arg)
{
	struct head *h = arg;
	const char *v = (const char *)sqlite3_column_text(st, 0), *colon;
	char *end;

	if (v == NULL || (colon = strchr(v, ':')) == NULL || v[0] < '0' || v[0] > '9')
		return VARSKO_ERR_DB;
	h->seq = strtoull(v, &end, 10);
	h->found = 1;
	if (end != colon || strlen(colon + 1) != 2 * AUDIT_HASH_LEN ||
	    sodium_hex2bin(h->hash, AUDIT_HASH_LEN, colon + 1, 2 * AUDIT_HASH_LEN, NULL, NULL, NULL) != 0)
		return VARSKO_ERR_DB;
	return VARSKO_OK;
}

/* The recorded head; *found = 0 (and seq 0, hash zero) when there is none yet. */
static int head_get(struct store *s, int *found, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	struct head h = {0, 0, hash};
	int r;

	memset(hash, 0, AUDIT_HASH_LEN);
	r = store_query_one(s, SQL_AUDIT_HEAD_GET, head_row, &h, "");
	if (r == VARSKO_ERR_NOT_FOUND)
		r = VARSKO_OK;
	*found = h.found;
	*seq = h.seq;
	return r;
}

int store_audit(struct store *s, int64_t now, const char *event, const char *actor, const char *detail)
{
	char eactor[AUDIT_FIELD_MAX + 1], edetail[AUDIT_FIELD_MAX + 1];
	char head[24 + 2 * AUDIT_HASH_LEN + 2];
	uint8_t prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	uint64_t seq;
	int own = 0, found, r;
	size_t n;

	if (event == NULL || !event_ok(event))
		return VARSKO_ERR_BAD_INPUT;
	escape_field(actor ? actor : "-", eactor, sizeof(eactor));
	escape_field(detail ? detail : "", edetail, sizeof(edetail));
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = head_get(s, &found, &seq, prev)) != VARSKO_OK)
		goto out;
	if (seq >= (uint64_t)INT64_MAX) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	seq++;
	if ((r = entry_hash(seq, now, event, eactor, edetail, prev, hash)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_AUDIT_INSERT, "iisssbb", (int64_t)seq, now, event, eactor, edetail,
	                    (const void *)prev, sizeof(prev), (const void *)hash, sizeof(hash))) != VARSKO_OK)
		goto out;
	n = (size_t)snprintf(head, sizeof(head), "%llu:", (unsigned long long)seq);
	sodium_bin2hex(head + n, sizeof(head) - n, hash, sizeof(hash));
	r = store_exec(s, SQL_AUDIT_HEAD_SET, "s", head);
out:
	return store_tx_end(s, own, r);
}

struct verify {
	uint8_t prev[AUDIT_HASH_LEN]; /* hash of the last good entry */
	uint64_t expect;              /* seq the next entry must have */
	uint64_t count;
	uint64_t bad_seq;
};

/* One row of SQL_AUDIT_ALL: it must continue the chain; VARSKO_ERR_BAD_SIGNATURE (bad_seq set) if not. */
static int verify_row(sqlite3_stmt *st, void *arg)
{
	struct verify *v = arg;
	uint8_t calc[AUDIT_HASH_LEN];
	uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
	const char *event, *actor, *detail;
	const void *ph, *h;
	int r;

	if (seq != v->expect) {
		v->bad_seq = v->expect; /* a missing (deleted) entry */
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	event = (const char *)sqlite3_column_text(st, 2);
	actor = (const char *)sqlite3_column_text(st, 3);
	detail = (const char *)sqlite3_column_text(st, 4);
	ph = sqlite3_column_blob(st, 5);
	if (event == NULL || actor == NULL || detail == NULL || ph == NULL ||
	    sqlite3_column_bytes(st, 5) != AUDIT_HASH_LEN || sodium_memcmp(ph, v->prev, AUDIT_HASH_LEN) != 0) {
		v->bad_seq = seq;
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	if ((r = entry_hash(seq, sqlite3_column_int64(st, 1), event, actor, detail, v->prev, calc)) != VARSKO_OK)
		return r;
	h = sqlite3_column_blob(st, 6);
	if (h == NULL || sqlite3_column_bytes(st, 6) != AUDIT_HASH_LEN || sodium_memcmp(h, calc, AUDIT_HASH_LEN) != 0) {
		v->bad_seq = seq;
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	memcpy(v->prev, calc, sizeof(v->prev));
	v->count++;
	v->expect++;
	return VARSKO_OK;
}

int store_audit_verify(struct store *s, uint64_t *count, uint64_t *bad_seq)
{
	uint8_t head_hash[AUDIT_HASH_LEN];
	struct verify v;
	uint64_t head_seq;
	int found, r, read_tx = 0;

	*count = 0;
	*bad_seq = 0;
	memset(&v, 0, sizeof(v));
	v.expect = 1;
	/*
	 * One read-only snapshot, so the rows and the head agree. A savepoint
	 * outside a transaction opens a deferred one that never writes; writes
	 * elsewhere always use BEGIN IMMEDIATE.
	 */
	if (!s->tx_open) {
		if (sqlite3_exec(s->db, "SAVEPOINT audit_verify", NULL, NULL, NULL) != SQLITE_OK)
			return VARSKO_ERR_DB;
		read_tx = 1;
	}
	r = store_query(s, SQL_AUDIT_ALL, verify_row, &v, "");
	*count = v.count;
	*bad_seq = v.bad_seq;
	if (r != VARSKO_OK)
		goto out;
	/* The chain is whole; now its end must be the head recorded with the last append. */
	if ((r = head_get(s, &found, &head_seq, head_hash)) != VARSKO_OK)
		goto out;
	if (!found && *count == 0)
		goto out;
	if (!found || head_seq != *count || sodium_memcmp(head_hash, v.prev, AUDIT_HASH_LEN) != 0) {
		/* Entries cut from the tail (head ahead), or added behind the writer's back. */
		if (found && head_seq > *count)
			*bad_seq = *count + 1;
		else if (found && head_seq < *count)
			*bad_seq = head_seq + 1;
		else
			*bad_seq = *count ? *count : 1;
		r = VARSKO_ERR_BAD_SIGNATURE;
	}
out:
	if (read_tx)
		sqlite3_exec(s->db, "RELEASE audit_verify", NULL, NULL, NULL);
	return r;
}

int store_audit_head(struct store *s, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	int found;

	return head_get(s, &found, seq, hash);
}
