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

static const char sql_head_get[] = "SELECT value FROM meta WHERE key = 'audit_head'";
static const char sql_head_set[] =
	"INSERT INTO meta (key, value) VALUES ('audit_head', ?1)"
	" ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char sql_insert[] =
	"INSERT INTO audit (seq, at, event, actor, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_all[] = "SELECT seq, at, event, actor, detail, prev_hash, hash FROM audit ORDER BY seq";

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

/* meta('audit_head') is "SEQ:HEX64". *found = 0 when there is none yet. */
static int head_get(struct store *s, int *found, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	sqlite3_stmt *st;
	const char *v, *colon;
	unsigned long long n;
	char *end;
	int rc, r = VARSKO_OK;

	*found = 0;
	*seq = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if ((st = store_stmt(s, sql_head_get)) == NULL)
		return VARSKO_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		if (v == NULL || (colon = strchr(v, ':')) == NULL || v[0] < '0' || v[0] > '9') {
			r = VARSKO_ERR_DB;
		} else {
			n = strtoull(v, &end, 10);
			if (end != colon || strlen(colon + 1) != 2 * AUDIT_HASH_LEN ||
			    sodium_hex2bin(hash, AUDIT_HASH_LEN, colon + 1, 2 * AUDIT_HASH_LEN, NULL, NULL, NULL) != 0)
				r = VARSKO_ERR_DB;
			*seq = n;
			*found = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = store_sqlite_err(rc);
	}
	sqlite3_reset(st);
	return r;
}

int store_audit(struct store *s, int64_t now, const char *event, const char *actor, const char *detail)
{
	char eactor[AUDIT_FIELD_MAX + 1], edetail[AUDIT_FIELD_MAX + 1];
	char head[24 + 2 * AUDIT_HASH_LEN + 2];
	uint8_t prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	uint64_t seq;
	sqlite3_stmt *st;
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
	if ((st = store_stmt(s, sql_insert)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, eactor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, edetail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, prev, sizeof(prev), SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, hash, sizeof(hash), SQLITE_STATIC);
	if ((r = store_step_done(st)) != VARSKO_OK)
		goto out;
	n = (size_t)snprintf(head, sizeof(head), "%llu:", (unsigned long long)seq);
	sodium_bin2hex(head + n, sizeof(head) - n, hash, sizeof(hash));
	if ((st = store_stmt(s, sql_head_set)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, head, -1, SQLITE_STATIC);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

int store_audit_verify(struct store *s, uint64_t *count, uint64_t *bad_seq)
{
	uint8_t prev[AUDIT_HASH_LEN], calc[AUDIT_HASH_LEN], head_hash[AUDIT_HASH_LEN];
	uint64_t expect = 1, head_seq, seq;
	const void *ph, *h;
	const char *event, *actor, *detail;
	sqlite3_stmt *st;
	int found, rc, r, read_tx = 0;

	*count = 0;
	*bad_seq = 0;
	memset(prev, 0, sizeof(prev));
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
	if ((st = store_stmt(s, sql_all)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	r = VARSKO_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (seq != expect) {
			*bad_seq = expect; /* a missing (deleted) entry */
			r = VARSKO_ERR_BAD_SIGNATURE;
			break;
		}
		event = (const char *)sqlite3_column_text(st, 2);
		actor = (const char *)sqlite3_column_text(st, 3);
		detail = (const char *)sqlite3_column_text(st, 4);
		ph = sqlite3_column_blob(st, 5);
		if (event == NULL || actor == NULL || detail == NULL || ph == NULL ||
		    sqlite3_column_bytes(st, 5) != AUDIT_HASH_LEN || sodium_memcmp(ph, prev, AUDIT_HASH_LEN) != 0) {
			*bad_seq = seq;
			r = VARSKO_ERR_BAD_SIGNATURE;
			break;
		}
		if ((r = entry_hash(seq, sqlite3_column_int64(st, 1), event, actor, detail, prev, calc)) != VARSKO_OK)
			break;
		h = sqlite3_column_blob(st, 6);
		if (h == NULL || sqlite3_column_bytes(st, 6) != AUDIT_HASH_LEN ||
		    sodium_memcmp(h, calc, AUDIT_HASH_LEN) != 0) {
			*bad_seq = seq;
			r = VARSKO_ERR_BAD_SIGNATURE;
			break;
		}
		memcpy(prev, calc, sizeof(prev));
		(*count)++;
		expect++;
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		goto out;
	/* The chain is whole; now its end must be the head recorded with the last append. */
	if ((r = head_get(s, &found, &head_seq, head_hash)) != VARSKO_OK)
		goto out;
	if (!found && *count == 0)
		goto out;
	if (!found || head_seq != *count || sodium_memcmp(head_hash, prev, AUDIT_HASH_LEN) != 0) {
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
