/*
 * store_keys.c: user chains, key box sets and recovery boxes
 * (store_keys.h). Texts in, texts out: the checks are flow_keys.c's.
 */
#include "store_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store-internal.h"

/* The statements of this file (store-internal.h). */
const char *const store_sql_keys[STORE_SQL_COUNT] = {
        [SQL_CHAIN_LINKS] = "SELECT seq, link_json FROM chain_links WHERE kind = ?1 AND chain = ?2 ORDER BY seq",
        [SQL_CHAIN_ADD] =
                "INSERT INTO chain_links (kind, chain, seq, link_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        [SQL_KEYSETS] = "SELECT generation, set_json FROM key_sets WHERE owner = ?1 ORDER BY generation",
        [SQL_KEYSET_PUT] = "INSERT INTO key_sets (owner, generation, set_json, updated_at) VALUES (?1, ?2, ?3, ?4)"
                           " ON CONFLICT (owner, generation) DO UPDATE SET set_json = excluded.set_json,"
                           " updated_at = excluded.updated_at",
        [SQL_RECOVERY_PUT] = "INSERT INTO recovery_boxes (user, box_json, tries, updated_at) VALUES (?1, ?2, 0, ?3)"
                             " ON CONFLICT (user) DO UPDATE SET box_json = excluded.box_json, tries = 0,"
                             " updated_at = excluded.updated_at",
        [SQL_RECOVERY_GET] = "SELECT tries, box_json FROM recovery_boxes WHERE user = ?1",
        [SQL_RECOVERY_TRY] = "UPDATE recovery_boxes SET tries = tries + 1 WHERE user = ?1",
        [SQL_RECOVERY_RESET] = "UPDATE recovery_boxes SET tries = 0 WHERE user = ?1",
        [SQL_APPROVAL_PURGE] = "DELETE FROM approvals WHERE expires_at <= ?1",
        [SQL_APPROVAL_DROP_DEVICE] = "DELETE FROM approvals WHERE device = ?1",
        [SQL_APPROVAL_INSERT] = "INSERT INTO approvals (id, user, device, commit_hash, created_at, expires_at)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [SQL_APPROVAL_GET] = "SELECT id, user, device, commit_hash, created_at, expires_at, coalesce(old_device, ''),"
                             " nonce_old, nonce_new FROM approvals WHERE id = ?1 AND expires_at > ?2",
        [SQL_APPROVAL_OF_USER] = "SELECT id, user, device, commit_hash, created_at, expires_at,"
                                 " coalesce(old_device, ''), nonce_old, nonce_new FROM approvals"
                                 " WHERE user = ?1 AND expires_at > ?2 ORDER BY created_at, id",
        [SQL_APPROVAL_OFFER] =
                "UPDATE approvals SET old_device = ?2, nonce_old = ?3 WHERE id = ?1 AND nonce_old IS NULL",
        [SQL_APPROVAL_REVEAL] = "UPDATE approvals SET nonce_new = ?2 WHERE id = ?1 AND nonce_new IS NULL",
        [SQL_TEAM_EXISTS] = "SELECT count(*) FROM teams WHERE id = ?1",
};

struct text_each {
	store_text_fn fn;
	void *arg;
};

/* A row (number, text) through the caller's fn. */
static int text_row(sqlite3_stmt *st, void *arg)
{
	struct text_each *e = arg;
	const char *t = (const char *)sqlite3_column_text(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	if (t == NULL || n <= 0)
		return VARSKO_ERR_DB;
	return e->fn(sqlite3_column_int64(st, 0), t, (size_t)n, e->arg);
}

int store_chain_foreach(struct store *s, const char *kind, const char *chain, store_text_fn fn, void *arg)
{
	struct text_each e = {fn, arg};

	return store_query(s, SQL_CHAIN_LINKS, text_row, &e, "ss", kind, chain);
}

int store_chain_add(struct store *s, const char *kind, const char *chain, int64_t seq, const char *op, const char *json,
                    int64_t now, const char *actor)
{
	char detail[PROTO_ID_MAX + 64];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_CHAIN_ADD, "ssisi", kind, chain, seq, json, now)) != VARSKO_OK)
		goto out;
	/* A recovery ends with the recovered device's device_add. */
	if (strcmp(op, "device_add") == 0 && (r = store_exec(s, SQL_RECOVERY_RESET, "s", chain)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "%s=%s seq=%lld op=%s", kind, chain, (long long)seq, op);
	r = store_audit(s, now, "chain_append", actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_team_exists(struct store *s, const char *team)
{
	int64_t n = 0;
	int r = store_query_int(s, SQL_TEAM_EXISTS, &n, "s", team);

	if (r != VARSKO_OK)
		return r;
	return n > 0 ? VARSKO_OK : VARSKO_ERR_NOT_FOUND;
}

/* The row of SQL_META_GET for the root: its base64 decoded into the 32 bytes at arg. */
static int root_row(sqlite3_stmt *st, void *arg)
{
	const char *t = (const char *)sqlite3_column_text(st, 0);

	/* Written only by store_org_init: anything else is an edit. */
	if (t == NULL || proto_b64_decode_exact(t, arg, PROTO_PK_LEN) != VARSKO_OK)
		return VARSKO_ERR_DB;
	return VARSKO_OK;
}

int store_org_root_get(struct store *s, uint8_t pk[PROTO_PK_LEN])
{
	return store_query_one(s, SQL_META_GET, root_row, pk, "s", STORE_META_ORG_ROOT);
}

int store_org_init(struct store *s, const uint8_t root_pk[PROTO_PK_LEN], const char *const *links, size_t n,
                   int64_t now, const char *actor)
{
	char text[sodium_base64_ENCODED_LEN(PROTO_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t have[PROTO_PK_LEN];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_org_root_get(s, have)) != VARSKO_ERR_NOT_FOUND) {
		if (r == VARSKO_OK)
			r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if ((r = proto_b64_encode(root_pk, PROTO_PK_LEN, text, sizeof text)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_META_SET, "ss", STORE_META_ORG_ROOT, text)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((r = store_exec(s, SQL_CHAIN_ADD, "ssisi", "org", STORE_ORG_CHAIN, (int64_t)(i + 1), links[i],
		                    now)) != VARSKO_OK)
			goto out;
	}
	r = store_audit(s, now, "org_init", actor, "org chain started");
out:
	return store_tx_end(s, own, r);
}

int store_keyset_foreach(struct store *s, const char *owner, store_text_fn fn, void *arg)
{
	struct text_each e = {fn, arg};

	return store_query(s, SQL_KEYSETS, text_row, &e, "s", owner);
}

int store_keyset_put(struct store *s, const char *owner, int64_t generation, const char *json, int64_t now,
                     const char *actor)
{
	char detail[PROTO_ID_MAX + 48];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_KEYSET_PUT, "sisi", owner, generation, json, now)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "owner=%s generation=%lld", owner, (long long)generation);
	r = store_audit(s, now, "keys_put", actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_recovery_put(struct store *s, const char *user, const char *json, int64_t now, const char *actor)
{
	char detail[PROTO_ID_MAX + 8];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_RECOVERY_PUT, "ssi", user, json, now)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "user=%s", user);
	r = store_audit(s, now, "recovery_put", actor, detail);
out:
	return store_tx_end(s, own, r);
}

struct recovery_row {
	int64_t tries;
	char *json;
	size_t len;
};

static int recovery_row(sqlite3_stmt *st, void *arg)
{
	struct recovery_row *a = arg;

	a->tries = sqlite3_column_int64(st, 0);
	return store_col_dup(st, 1, &a->json, &a->len);
}

int store_recovery_take(struct store *s, const char *user, int64_t now, const char *actor, char **json, size_t *len,
                        int64_t *tries)
{
	struct recovery_row a = {0, NULL, 0};
	char detail[PROTO_ID_MAX + 32];
	int own = 0, r;

	*json = NULL;
	*len = 0;
	*tries = 0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_query_one(s, SQL_RECOVERY_GET, recovery_row, &a, "s", user)) != VARSKO_OK)
		goto out;
	if (a.tries >= STORE_RECOVERY_TRIES) {
		/* Refused, and the refusal is kept: the operator sees every try. */
		snprintf(detail, sizeof detail, "user=%s tries=%lld", user, (long long)a.tries);
		if ((r = store_audit(s, now, "recovery_locked", actor, detail)) == VARSKO_OK)
			r = store_tx_end(s, own, VARSKO_OK);
		own = 0;
		if (r == VARSKO_OK)
			r = VARSKO_ERR_RECOVERY_LOCKED;
		goto out;
	}
	if ((r = store_exec(s, SQL_RECOVERY_TRY, "s", user)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "user=%s tries=%lld", user, (long long)a.tries + 1);
	if ((r = store_audit(s, now, "recovery_get", actor, detail)) != VARSKO_OK)
		goto out;
	*json = a.json;
	*len = a.len;
	*tries = a.tries + 1;
	a.json = NULL;
out:
	free(a.json);
	return store_tx_end(s, own, r);
}

int store_recovery_unlock(struct store *s, const char *user, int64_t now, const char *actor)
{
	char detail[PROTO_ID_MAX + 8];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_RECOVERY_RESET, "s", user)) != VARSKO_OK)
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(detail, sizeof detail, "user=%s", user);
	r = store_audit(s, now, "recovery_unlock", actor, detail);
out:
	return store_tx_end(s, own, r);
}

/* ---- approvals ---- */

/* A 32-byte blob column into out; 1 when it is there, 0 when NULL; VARSKO_ERR_DB when of another size. */
static int blob32(sqlite3_stmt *st, int col, uint8_t out[32])
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	if (sqlite3_column_bytes(st, col) != 32)
		return VARSKO_ERR_DB;
	memcpy(out, sqlite3_column_blob(st, col), 32);
	return 1;
}

static int approval_row(sqlite3_stmt *st, void *arg)
{
	struct store_approval *a = arg;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = store_col_text(st, 0, a->id, sizeof a->id)) != VARSKO_OK ||
	    (r = store_col_text(st, 1, a->user, sizeof a->user)) != VARSKO_OK ||
	    (r = store_col_text(st, 2, a->device, sizeof a->device)) != VARSKO_OK ||
	    (r = store_col_text(st, 6, a->old_device, sizeof a->old_device)) != VARSKO_OK)
		return r;
	if (blob32(st, 3, a->commit) != 1)
		return VARSKO_ERR_DB;
	a->created_at = sqlite3_column_int64(st, 4);
	a->expires_at = sqlite3_column_int64(st, 5);
	if ((a->has_nonce_old = blob32(st, 7, a->nonce_old)) < 0 ||
	    (a->has_nonce_new = blob32(st, 8, a->nonce_new)) < 0)
		return VARSKO_ERR_DB;
	return VARSKO_OK;
}

int store_approval_new(struct store *s, struct store_approval *a, int64_t now, const char *actor)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[8];
	char detail[PROTO_ID_MAX + 48];
	int own = 0, r;

	randombytes_buf(rnd, sizeof rnd);
	memcpy(a->id, "a-", 2);
	for (size_t i = 0; i < sizeof rnd; i++) {
		a->id[2 + 2 * i] = hex[rnd[i] >> 4];
		a->id[3 + 2 * i] = hex[rnd[i] & 15];
	}
	a->id[STORE_APPROVAL_ID_LEN] = '\0';
	a->created_at = now;
	a->expires_at = now + STORE_APPROVAL_TTL;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = store_exec(s, SQL_APPROVAL_PURGE, "i", now)) != VARSKO_OK ||
	    (r = store_exec(s, SQL_APPROVAL_DROP_DEVICE, "s", a->device)) != VARSKO_OK)
		goto out;
	if ((r = store_exec(s, SQL_APPROVAL_INSERT, "sssbii", a->id, a->user, a->device, (const void *)a->commit,
	                    sizeof a->commit, a->created_at, a->expires_at)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof detail, "user=%s approval=%s", a->user, a->id);
	r = store_audit(s, now, "approve_request", actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_approval_done(struct store *s, const char *device)
{
	return store_write(s, SQL_APPROVAL_DROP_DEVICE, "s", device);
}

int store_approval_get(struct store *s, const char *id, int64_t now, struct store_approval *out)
{
	return store_query_one(s, SQL_APPROVAL_GET, approval_row, out, "si", id, now);
}

struct approval_each {
	int (*fn)(const struct store_approval *a, void *arg);
	void *arg;
	struct store_approval a;
};

static int approval_each_row(sqlite3_stmt *st, void *arg)
{
	struct approval_each *e = arg;
	int r = approval_row(st, &e->a);

	return r == VARSKO_OK ? e->fn(&e->a, e->arg) : r;
}

int store_approval_foreach(struct store *s, const char *user, int64_t now,
                           int (*fn)(const struct store_approval *a, void *arg), void *arg)
{
	struct approval_each e;

	memset(&e, 0, sizeof e);
	e.fn = fn;
	e.arg = arg;
	return store_query(s, SQL_APPROVAL_OF_USER, approval_each_row, &e, "si", user, now);
}

/* One of the two steps that set a nonce once: offer or reveal. */
static int approval_step(struct store *s, enum store_sql id_sql, const char *fmt, const char *id, const char *arg2,
                         const uint8_t nonce[32], int64_t now, const char *event, const char *actor)
{
	char detail[64];
	int own = 0, r;

	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if (arg2 != NULL)
		r = store_exec(s, id_sql, fmt, id, arg2, (const void *)nonce, (size_t)32);
	else
		r = store_exec(s, id_sql, fmt, id, (const void *)nonce, (size_t)32);
	if (r != VARSKO_OK)
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	snprintf(detail, sizeof detail, "approval=%s", id);
	r = store_audit(s, now, event, actor, detail);
out:
	return store_tx_end(s, own, r);
}

int store_approval_offer(struct store *s, const char *id, const char *old_device, const uint8_t nonce[32], int64_t now)
{
	return approval_step(s, SQL_APPROVAL_OFFER, "ssb", id, old_device, nonce, now, "approve_offer", old_device);
}

int store_approval_reveal(struct store *s, const char *id, const uint8_t nonce[32], int64_t now, const char *actor)
{
	return approval_step(s, SQL_APPROVAL_REVEAL, "sb", id, NULL, nonce, now, "approve_reveal", actor);
}
