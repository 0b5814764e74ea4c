/*
 * test-store.c: gateway/store.c on a real database in a temporary directory:
 * create/open, pragmas read back from the store's own connection, migrations
 * (idempotent, newer schema refused), enrollment codes, invite + enroll with
 * a certificate that verifies, each refusal and its audit entry, devices,
 * revocation, serials and explicit transactions; the statement table and
 * store_run() (writes only inside a transaction, the format string, a
 * UNIQUE conflict as exists, a statement that does not prepare fails open).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "store-internal.h" /* white box: the test reads the store's own connection */
#include "store.h"
#include "store_keys.h"
#include "store_thread.h"
#include "retention.h"
#include "store_blob.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

static char dir[] = "/tmp/varsko-test-store-XXXXXX";
static char dbpath[256];

static const int64_t T0 = 1795424400; /* 2026-11-23T09:00:00Z */
static const int64_t YEAR = 365 * 86400;

static long long q_int(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

static void q_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void test_open_and_pragmas(void)
{
	struct store *s = NULL;
	sqlite3 *raw = NULL;
	char mode[16];
	long long tables;

	/* Without create, a missing database is not made. */
	CHECK(store_open(&s, dbpath, 0) != VARSKO_OK);
	CHECK(s == NULL);
	CHECK(access(dbpath, F_OK) != 0);

	CHECK_EQ_INT(store_open(&s, dbpath, 1), VARSKO_OK);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	q_text(s->db, "PRAGMA journal_mode", mode, sizeof(mode));
	CHECK_EQ_STR(mode, "wal");
	CHECK_EQ_INT(q_int(s->db, "PRAGMA synchronous", NULL), 2);
	CHECK_EQ_INT(q_int(s->db, "PRAGMA foreign_keys", NULL), 1);
	CHECK_EQ_INT(q_int(s->db, "PRAGMA secure_delete", NULL), 1);
	CHECK_EQ_INT(q_int(s->db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
	tables = q_int(s->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", NULL);
	CHECK_EQ_INT(tables, 25);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'", NULL), 2);
	store_close(s);
	s = NULL;

	/* Opening again runs no migration twice and changes nothing. */
	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_OK);
	if (s != NULL) {
		CHECK_EQ_INT(q_int(s->db, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION);
		CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", NULL), tables);
		store_close(s);
		s = NULL;
	}

	/* A database from newer code is refused, and left as it is. */
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "PRAGMA user_version = " STR(STORE_SCHEMA_VERSION_NEXT), NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_ERR_DB);
	CHECK(s == NULL);
	CHECK_EQ_INT(q_int(raw, "PRAGMA user_version", NULL), STORE_SCHEMA_VERSION + 1);
	CHECK(sqlite3_exec(raw, "PRAGMA user_version = " STR(STORE_SCHEMA_VERSION), NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(raw);

	store_close(NULL);
}

static void test_code_normalize(void)
{
	char out[STORE_CODE_LEN + 1];

	CHECK_EQ_INT(store_code_normalize("abcd-efgh-jkmn-pqrs", out), VARSKO_OK);
	CHECK_EQ_STR(out, "ABCDEFGHJKMNPQRS");
	CHECK_EQ_INT(store_code_normalize("oOiI lLoo 0000-1111", out), VARSKO_OK);
	CHECK_EQ_STR(out, "0011110000001111");
	CHECK_EQ_INT(store_code_normalize("TVWX-YZ01-2345-6789", out), VARSKO_OK);
	CHECK_EQ_STR(out, "TVWXYZ0123456789");
	CHECK_EQ_INT(store_code_normalize("UUUU-AAAA-BBBB-CCCC", out), VARSKO_ERR_CODE_UNKNOWN); /* no U */
	CHECK_EQ_INT(store_code_normalize("AAAA-BBBB-CCCC", out), VARSKO_ERR_CODE_UNKNOWN);
	CHECK_EQ_INT(store_code_normalize("AAAA-BBBB-CCCC-DDDD-E", out), VARSKO_ERR_CODE_UNKNOWN);
	CHECK_EQ_INT(store_code_normalize("AAAA_BBBB_CCCC_DDDD", out), VARSKO_ERR_CODE_UNKNOWN);
	CHECK_EQ_INT(store_code_normalize("", out), VARSKO_ERR_CODE_UNKNOWN);
}

static int count_cb(const struct store_device *d, void *arg)
{
	(*(int *)arg)++;
	return d->cert.serial == 0 ? VARSKO_ERR_INTERNAL : VARSKO_OK;
}

static int stop_cb(const struct store_device *d, void *arg)
{
	(*(int *)arg)++;
	return VARSKO_ERR_EXISTS;
}

static long long audit_count(struct store *s, const char *event, const char *detail)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM audit WHERE event = ?1 AND detail = ?2", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, detail, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/*
 * An enrollment is pending until its client confirms: not a device, on no
 * roster, its code still usable; a second attempt with the code replaces
 * it; a confirmation after the code expired voids it.
 */
static void test_pending(void)
{
	static const char people[] = "INSERT INTO teams (id, name) VALUES ('team-p', 'Team P');"
	                             "INSERT INTO users VALUES ('myndighed-pia', 'Pia Test', 'myndighed', 'team-p');";
	struct store *s = NULL;
	struct proto_cert a, b, c;
	struct store_device d;
	uint8_t org_pk[32], org_sk[64], pk[3][32], sk[64], box_pk[32];
	char code[PROTO_CODE_MAX + 1], code2[PROTO_CODE_MAX + 1];
	char path[sizeof dir + 32];
	int n = 0, i;

	crypto_sign_keypair(org_pk, org_sk);
	for (i = 0; i < 3; i++)
		crypto_sign_keypair(pk[i], sk);
	randombytes_buf(box_pk, sizeof box_pk);
	snprintf(path, sizeof path, "%s/pending.db", dir);
	CHECK_EQ_INT(store_open(&s, path, 1), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK(sqlite3_exec(s->db, people, NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_INT(store_invite_create(s, "myndighed-pia", T0, T0 + 100, code), VARSKO_OK);
	n = (int)q_int(s->db, "SELECT roster_version FROM teams WHERE id = 'team-p'", NULL);

	/* Enrolled, not confirmed: no device, nothing on the roster, the code unused. */
	CHECK_EQ_INT(store_enroll(s, code, T0 + 1, YEAR, pk[0], box_pk, "a", org_sk, &a), VARSKO_OK);
	CHECK_EQ_INT(store_device_get(s, a.device, &d), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(store_enrollment_get(s, a.device, &c), VARSKO_OK);
	CHECK(memcmp(c.sig, a.sig, sizeof a.sig) == 0);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM invites WHERE used_at IS NOT NULL", NULL), 0);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM devices", NULL), 0);
	CHECK_EQ_INT(q_int(s->db, "SELECT roster_version FROM teams WHERE id = 'team-p'", NULL), n);
	CHECK_EQ_INT(audit_count(s, "enroll_pending", "user=myndighed-pia serial=1"), 1);

	/* The same code from other keys (the first client never confirmed): it replaces the first. */
	CHECK_EQ_INT(store_enroll(s, code, T0 + 2, YEAR, pk[1], box_pk, "b", org_sk, &b), VARSKO_OK);
	CHECK_EQ_INT(store_enrollment_get(s, a.device, &c), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(store_enroll_confirm(s, a.device, T0 + 3), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(audit_count(s, "enroll_replaced", "user=myndighed-pia"), 1);
	/* The same keys under another code while pending: exists. */
	CHECK_EQ_INT(store_invite_create(s, "myndighed-pia", T0, T0 + 100, code2), VARSKO_OK);
	CHECK_EQ_INT(store_enroll(s, code2, T0 + 3, YEAR, pk[1], box_pk, "b", org_sk, &c), VARSKO_ERR_EXISTS);

	/* Confirmed: a device, the code used, the roster changed; once only. */
	CHECK_EQ_INT(store_enroll_confirm(s, b.device, T0 + 4), VARSKO_OK);
	CHECK_EQ_INT(store_device_get(s, b.device, &d), VARSKO_OK);
	CHECK_EQ_INT(d.created_at, T0 + 4);
	CHECK_EQ_INT(d.cert.serial, b.serial);
	CHECK_EQ_INT(store_enrollment_get(s, b.device, &c), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(store_enroll_confirm(s, b.device, T0 + 5), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM invites WHERE used_at IS NOT NULL", NULL), 1);
	CHECK(q_int(s->db, "SELECT roster_version FROM teams WHERE id = 'team-p'", NULL) != n);
	CHECK_EQ_INT(store_enroll(s, code, T0 + 6, YEAR, pk[2], box_pk, "c", org_sk, &c), VARSKO_ERR_CODE_USED);

	/* Confirmed too late: the code expired meanwhile; the pending enrollment is void. */
	CHECK_EQ_INT(store_enroll(s, code2, T0 + 50, YEAR, pk[2], box_pk, "c", org_sk, &c), VARSKO_OK);
	CHECK_EQ_INT(store_enroll_confirm(s, c.device, T0 + 100), VARSKO_ERR_CODE_EXPIRED);
	CHECK_EQ_INT(store_enrollment_get(s, c.device, &a), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(store_device_get(s, c.device, &d), VARSKO_ERR_UNKNOWN_DEVICE);
	CHECK_EQ_INT(audit_count(s, "enroll_refused", "reason=code_expired"), 1);

	/* A user whose record changes loses pending enrollments with the devices. */
	CHECK_EQ_INT(store_invite_create(s, "myndighed-pia", T0 + 100, T0 + 200, code), VARSKO_OK);
	CHECK_EQ_INT(store_enroll(s, code, T0 + 101, YEAR, pk[2], box_pk, "c", org_sk, &c), VARSKO_OK);
	n = 0;
	CHECK_EQ_INT(store_enrollment_foreach(s, count_cb, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(store_user_revoke_devices(s, "myndighed-pia", T0 + 102, "import", &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM enrollments", NULL), 0);
	CHECK_EQ_INT(store_enroll_confirm(s, c.device, T0 + 103), VARSKO_ERR_UNKNOWN_DEVICE);
	store_close(s);
	unlink(path);
	for (i = 0; i < 2; i++) {
		char side[sizeof path + 8];

		snprintf(side, sizeof side, "%s%s", path, i == 0 ? "-wal" : "-shm");
		unlink(side);
	}
	sodium_memzero(org_sk, sizeof org_sk);
	sodium_memzero(sk, sizeof sk);
}

static int text_count(int64_t num, const char *json, size_t len, void *arg)
{
	int *n = arg;

	(void)json;
	(void)len;
	if (num != ++*n)
		return VARSKO_ERR_INTERNAL; /* in order, from 1 */
	return VARSKO_OK;
}

/* store_keys.c: chains append in order, sets replace, recovery counts its tries and locks. */
static void test_keys(void)
{
	static const char people[] = "INSERT INTO users VALUES ('laerer-kim', 'Kim Test', 'fagperson', NULL);";
	struct store *s = NULL;
	char path[sizeof dir + 32], *json = NULL;
	size_t len = 0;
	int64_t tries = 0;
	int n = 0, i;

	snprintf(path, sizeof path, "%s/keys.db", dir);
	CHECK_EQ_INT(store_open(&s, path, 1), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK(sqlite3_exec(s->db, people, NULL, NULL, NULL) == SQLITE_OK);

	CHECK_EQ_INT(store_chain_add(s, "user", "laerer-kim", 1, "uk_create", "{\"a\":1}", T0, "d-1"), VARSKO_OK);
	CHECK_EQ_INT(store_chain_add(s, "user", "laerer-kim", 2, "device_add", "{\"a\":2}", T0, "d-1"), VARSKO_OK);
	CHECK_EQ_INT(store_chain_add(s, "user", "laerer-kim", 2, "device_add", "{\"a\":3}", T0, "d-2"), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(store_chain_add(s, "team", "t", 1, "team_create", "{}", T0, "d-1"), VARSKO_OK); /* schema 6 */
	CHECK_EQ_INT(store_chain_add(s, "group", "t", 1, "x", "{}", T0, "d-1"), VARSKO_ERR_DB); /* no such kind */
	CHECK_EQ_INT(store_chain_foreach(s, "user", "laerer-kim", text_count, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 2);
	{
		/* The org root and the org chain's first links go in together, once (PROTOCOL.md 16.1). */
		const char *const org[] = {"{\"o\":1}", "{\"o\":2}"};
		uint8_t root[PROTO_PK_LEN], got[PROTO_PK_LEN];
		size_t on = 0;

		memset(root, 7, sizeof(root));
		CHECK_EQ_INT(store_org_root_get(s, got), VARSKO_ERR_NOT_FOUND);
		CHECK_EQ_INT(store_org_init(s, root, org, 2, T0, "varskoctl"), VARSKO_OK);
		CHECK_EQ_INT(store_org_root_get(s, got), VARSKO_OK);
		CHECK(memcmp(got, root, sizeof(root)) == 0);
		CHECK_EQ_INT(store_org_init(s, root, org, 2, T0, "varskoctl"), VARSKO_ERR_EXISTS);
		CHECK_EQ_INT(store_chain_foreach(s, "org", STORE_ORG_CHAIN, text_count, &on), VARSKO_OK);
		CHECK_EQ_INT(on, 2);
		CHECK_EQ_INT(audit_count(s, "org_init", "org chain started"), 1);
		CHECK_EQ_INT(store_team_exists(s, "no-such-team"), VARSKO_ERR_NOT_FOUND);
	}
	CHECK_EQ_INT(audit_count(s, "chain_append", "user=laerer-kim seq=2 op=device_add"), 1);

	CHECK_EQ_INT(store_keyset_put(s, "user:laerer-kim", 1, "{\"s\":1}", T0, "d-1"), VARSKO_OK);
	CHECK_EQ_INT(store_keyset_put(s, "user:laerer-kim", 1, "{\"s\":2}", T0 + 1, "d-1"), VARSKO_OK);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM key_sets WHERE set_json = '{\"s\":2}'", NULL), 1);
	n = 0;
	CHECK_EQ_INT(store_keyset_foreach(s, "user:laerer-kim", text_count, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);

	/* Recovery: none yet; ten tries; the eleventh is refused and audited; unlock; a new box resets too. */
	CHECK_EQ_INT(store_recovery_take(s, "laerer-kim", T0, "d-1", &json, &len, &tries), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_recovery_unlock(s, "laerer-kim", T0, "varskoctl"), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_recovery_put(s, "laerer-kim", "{\"box\":1}", T0, "d-1"), VARSKO_OK);
	CHECK_EQ_INT(store_recovery_put(s, "nobody", "{}", T0, "d-1"), VARSKO_ERR_BAD_INPUT); /* no such user */
	for (i = 1; i <= STORE_RECOVERY_TRIES; i++) {
		CHECK_EQ_INT(store_recovery_take(s, "laerer-kim", T0 + i, "d-2", &json, &len, &tries), VARSKO_OK);
		CHECK_EQ_INT(tries, i);
		CHECK(json != NULL && strcmp(json, "{\"box\":1}") == 0 && len == strlen(json));
		free(json);
		json = NULL;
	}
	CHECK_EQ_INT(store_recovery_take(s, "laerer-kim", T0 + 20, "d-2", &json, &len, &tries), VARSKO_ERR_RECOVERY_LOCKED);
	CHECK(json == NULL);
	CHECK_EQ_INT(audit_count(s, "recovery_locked", "user=laerer-kim tries=10"), 1);
	CHECK_EQ_INT(store_recovery_unlock(s, "laerer-kim", T0 + 21, "varskoctl"), VARSKO_OK);
	CHECK_EQ_INT(store_recovery_take(s, "laerer-kim", T0 + 22, "d-2", &json, &len, &tries), VARSKO_OK);
	CHECK_EQ_INT(tries, 1);
	free(json);
	json = NULL;
	/* Approvals: a fresh id, found until it expires, offered and revealed once each. */
	{
		struct store_approval a, b;
		uint8_t nonce[32];

		CHECK(sqlite3_exec(s->db,
		                   "INSERT INTO devices (id, user, serial, label, cert_json, created_at)"
		                   " VALUES ('d-2', 'laerer-kim', 99, '', '{}', 0)",
		                   NULL, NULL, NULL) == SQLITE_OK);
		memset(&a, 0, sizeof a);
		snprintf(a.user, sizeof a.user, "laerer-kim");
		snprintf(a.device, sizeof a.device, "d-2");
		memset(a.commit, 7, sizeof a.commit);
		memset(nonce, 9, sizeof nonce);
		CHECK_EQ_INT(store_approval_new(s, &a, T0, "d-2"), VARSKO_OK);
		CHECK(strncmp(a.id, "a-", 2) == 0 && strlen(a.id) == STORE_APPROVAL_ID_LEN);
		CHECK_EQ_INT(store_approval_get(s, a.id, T0 + 1, &b), VARSKO_OK);
		CHECK(memcmp(b.commit, a.commit, 32) == 0 && !b.has_nonce_old && !b.has_nonce_new && b.old_device[0] == 0);
		CHECK_EQ_INT(store_approval_offer(s, a.id, "d-1", nonce, T0 + 2), VARSKO_OK);
		CHECK_EQ_INT(store_approval_offer(s, a.id, "d-3", nonce, T0 + 2), VARSKO_ERR_EXISTS);
		CHECK_EQ_INT(store_approval_reveal(s, a.id, nonce, T0 + 3, "d-2"), VARSKO_OK);
		CHECK_EQ_INT(store_approval_reveal(s, a.id, nonce, T0 + 3, "d-2"), VARSKO_ERR_EXISTS);
		CHECK_EQ_INT(store_approval_get(s, a.id, T0 + 4, &b), VARSKO_OK);
		CHECK(b.has_nonce_old && b.has_nonce_new && strcmp(b.old_device, "d-1") == 0);
		CHECK_EQ_INT(store_approval_get(s, a.id, T0 + STORE_APPROVAL_TTL, &b), VARSKO_ERR_NOT_FOUND);
		/* A second request of the same device replaces the first. */
		b = a;
		CHECK_EQ_INT(store_approval_new(s, &b, T0 + 5, "d-2"), VARSKO_OK);
		CHECK_EQ_INT(store_approval_get(s, a.id, T0 + 6, &a), VARSKO_ERR_NOT_FOUND);
		CHECK_EQ_INT(audit_count(s, "approve_offer", "approval=a-0000000000000000"), 0);
	}
	/* A device_add ends a recovery: the tries start again. */
	CHECK_EQ_INT(store_chain_add(s, "user", "laerer-kim", 3, "device_add", "{\"a\":4}", T0, "d-2"), VARSKO_OK);
	CHECK_EQ_INT(q_int(s->db, "SELECT tries FROM recovery_boxes WHERE user = 'laerer-kim'", NULL), 0);
	store_close(s);
	unlink(path);
	for (i = 0; i < 2; i++) {
		char side[sizeof path + 8];

		snprintf(side, sizeof side, "%s%s", path, i == 0 ? "-wal" : "-shm");
		unlink(side);
	}
}

static void test_enroll(void)
{
	static const char people[] =
		"INSERT INTO teams (id, name) VALUES ('team-slagelse', 'Team Slagelse');"
		"INSERT INTO institutions VALUES ('inst-b', 'Skole B', 'skole', 'Slagelse');"
		"INSERT INTO institutions VALUES ('inst-a', 'Skole A', 'skole', 'Korsør');"
		"INSERT INTO users VALUES ('laerer-anna', 'Anna Test', 'fagperson', NULL);"
		"INSERT INTO user_institutions VALUES ('laerer-anna', 'inst-b'), ('laerer-anna', 'inst-a');"
		"INSERT INTO users VALUES ('myndighed-lene', 'Lene Test', 'myndighed', 'team-slagelse');";
	struct store *s = NULL;
	struct proto_cert cert, cert2;
	struct store_device d;
	uint8_t org_pk[32], org_sk[64], dev_pk[32], dev_sk[64], box_pk[32], box_sk[32], dev2_pk[32], dev2_sk[64];
	char code[PROTO_CODE_MAX + 1], code2[PROTO_CODE_MAX + 1], code3[PROTO_CODE_MAX + 1];
	char dev_id[PROTO_DEVICE_ID_LEN + 1], lower[PROTO_CODE_MAX + 1];
	uint64_t serial = 0, count = 0, bad = 0;
	int n, i;

	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(dev_pk, dev_sk);
	crypto_sign_keypair(dev2_pk, dev2_sk);
	crypto_box_keypair(box_pk, box_sk);
	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK(sqlite3_exec(s->db, people, NULL, NULL, NULL) == SQLITE_OK);

	CHECK_EQ_INT(store_invite_create(s, "nobody", T0, T0 + 3600, code), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_STR(code, "");
	CHECK_EQ_INT(store_invite_create(s, "laerer-anna", T0, T0 + 72 * 3600, code), VARSKO_OK);
	/* Four groups of four from Crockford's alphabet. */
	CHECK_EQ_INT(strlen(code), 19);
	for (i = 0; i < 19; i++) {
		if (i % 5 == 4)
			CHECK(code[i] == '-');
		else
			CHECK(code[i] != '\0' && strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]) != NULL);
	}
	/* Only a hash is stored, never the code. */
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM invites WHERE length(code_hash) = 32", NULL), 1);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM invites WHERE instr(CAST(code_hash AS TEXT), ?1) > 0", code), 0);
	CHECK_EQ_INT(audit_count(s, "invite", "user=laerer-anna"), 1);

	/* Typed in lower case, without dashes: the same code. */
	for (i = 0, n = 0; code[i]; i++) {
		if (code[i] != '-')
			lower[n++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] - 'A' + 'a' : code[i]);
	}
	lower[n] = '\0';
	CHECK_EQ_INT(store_enroll(s, lower, T0 + 60, YEAR, dev_pk, box_pk, "laptop", org_sk, &cert), VARSKO_OK);
	proto_device_id(dev_pk, dev_id);
	CHECK_EQ_INT(store_enroll_confirm(s, dev_id, T0 + 60), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&cert, org_pk, T0 + 61), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&cert, org_pk, T0 + 60 + YEAR + 1), VARSKO_ERR_DEVICE_EXPIRED);
	CHECK_EQ_INT(proto_cert_verify(&cert, dev_pk, T0 + 61), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(cert.serial, 1);
	CHECK_EQ_INT(cert.version, PROTO_VERSION);
	CHECK_EQ_STR(cert.user, "laerer-anna");
	CHECK_EQ_STR(cert.name, "Anna Test");
	CHECK_EQ_STR(cert.role, "fagperson");
	CHECK_EQ_STR(cert.team, "");
	CHECK_EQ_STR(cert.device, dev_id);
	CHECK_EQ_INT(cert.n_institutions, 2);
	CHECK_EQ_STR(cert.institutions[0], "inst-a");
	CHECK_EQ_STR(cert.institutions[1], "inst-b");
	CHECK(memcmp(cert.sign_pk, dev_pk, 32) == 0 && memcmp(cert.box_pk, box_pk, 32) == 0);
	CHECK_EQ_INT(cert.not_before, T0 + 60);
	CHECK_EQ_INT(cert.not_after, T0 + 60 + YEAR);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM invites WHERE used_at IS NOT NULL AND device = ?1", dev_id), 1);

	/* The same code again: used, audited as refused, nothing new stored. */
	CHECK_EQ_INT(store_enroll(s, code, T0 + 120, YEAR, dev2_pk, box_pk, "", org_sk, &cert2), VARSKO_ERR_CODE_USED);
	CHECK_EQ_INT(cert2.serial, 0);
	CHECK_EQ_INT(audit_count(s, "enroll_refused", "reason=code_used"), 1);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM devices", NULL), 1);

	/* A well-formed code nobody issued, and a malformed one. */
	CHECK_EQ_INT(store_enroll(s, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", T0, YEAR, dev2_pk, box_pk, "", org_sk, &cert2),
	             VARSKO_ERR_CODE_UNKNOWN);
	CHECK_EQ_INT(store_enroll(s, "not a code", T0, YEAR, dev2_pk, box_pk, "", org_sk, &cert2),
	             VARSKO_ERR_CODE_UNKNOWN);
	CHECK_EQ_INT(audit_count(s, "enroll_refused", "reason=code_unknown"), 2);

	/* Expired: valid until T0 + 10, used at exactly T0 + 10. */
	CHECK_EQ_INT(store_invite_create(s, "myndighed-lene", T0, T0 + 10, code2), VARSKO_OK);
	CHECK_EQ_INT(store_enroll(s, code2, T0 + 10, YEAR, dev2_pk, box_pk, "", org_sk, &cert2),
	             VARSKO_ERR_CODE_EXPIRED);
	CHECK_EQ_INT(audit_count(s, "enroll_refused", "reason=code_expired"), 1);

	/* A signing key that is already enrolled: refused, and the code stays usable. */
	CHECK_EQ_INT(store_invite_create(s, "myndighed-lene", T0, T0 + 3600, code3), VARSKO_OK);
	CHECK_EQ_INT(store_enroll(s, code3, T0 + 5, YEAR, dev_pk, box_pk, "", org_sk, &cert2), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(audit_count(s, "enroll_refused", "reason=exists"), 1);
	CHECK_EQ_INT(store_serial_take(s, &serial), VARSKO_OK); /* e.g. a certificate made by init */
	CHECK_EQ_INT(serial, 2);
	CHECK_EQ_INT(store_enroll(s, code3, T0 + 6, YEAR, dev2_pk, box_pk, "phone", org_sk, &cert2), VARSKO_OK);
	CHECK_EQ_INT(store_enroll_confirm(s, cert2.device, T0 + 6), VARSKO_OK);
	CHECK_EQ_INT(cert2.serial, 3);
	CHECK_EQ_STR(cert2.role, "myndighed");
	CHECK_EQ_STR(cert2.team, "team-slagelse");
	CHECK_EQ_INT(cert2.n_institutions, 0);
	CHECK_EQ_INT(proto_cert_verify(&cert2, org_pk, T0 + 7), VARSKO_OK);

	/* Devices. */
	CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
	CHECK_EQ_STR(d.label, "laptop");
	CHECK_EQ_INT(d.created_at, T0 + 60);
	CHECK_EQ_INT(d.revoked_at, 0);
	CHECK_EQ_INT(d.cert.serial, cert.serial);
	CHECK(memcmp(d.cert.sig, cert.sig, 64) == 0);
	CHECK_EQ_INT(proto_cert_verify(&d.cert, org_pk, T0 + 61), VARSKO_OK);
	CHECK_EQ_INT(store_device_get(s, "d-0000000000000000", &d), VARSKO_ERR_UNKNOWN_DEVICE);
	/*
	 * A certificate is parsed once per stored text (gateway/memo.h): a text changed behind the store's
	 * back has another digest, so it is parsed again (the change shows, and its signature fails), and a
	 * text that does not parse is refused, memo or not.
	 */
	{
		uint8_t digest[32];
		char *json = NULL;

		CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
		memcpy(digest, d.cert_digest, sizeof(digest));
		CHECK_EQ_STR(d.cert.role, "fagperson");
		CHECK(sqlite3_exec(s->db, "BEGIN IMMEDIATE; UPDATE devices SET cert_json = replace(cert_json,"
		                          " '\"role\":\"fagperson\"', '\"role\":\"myndighed\"') WHERE label = 'laptop'; COMMIT",
		                   NULL, NULL, NULL) == SQLITE_OK);
		CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
		CHECK(memcmp(digest, d.cert_digest, sizeof(digest)) != 0);
		CHECK_EQ_STR(d.cert.role, "myndighed");
		CHECK_EQ_INT(proto_cert_verify(&d.cert, org_pk, T0 + 61), VARSKO_ERR_BAD_CERT);
		CHECK(sqlite3_exec(s->db, "BEGIN IMMEDIATE; UPDATE devices SET cert_json = substr(cert_json, 2)"
		                          " WHERE label = 'laptop'; COMMIT",
		                   NULL, NULL, NULL) == SQLITE_OK);
		CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_ERR_DB);
		CHECK(proto_cert_to_json(&cert, &json) == VARSKO_OK);
		CHECK(json != NULL && sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
		{
			sqlite3_stmt *st = NULL;

			CHECK(sqlite3_prepare_v2(s->db, "UPDATE devices SET cert_json = ?1 WHERE label = 'laptop'", -1, &st,
			                         NULL) == SQLITE_OK);
			sqlite3_bind_text(st, 1, json ? json : "", -1, SQLITE_STATIC);
			CHECK(sqlite3_step(st) == SQLITE_DONE);
			sqlite3_finalize(st);
		}
		CHECK(sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
		free(json);
		CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
		CHECK(memcmp(digest, d.cert_digest, sizeof(digest)) == 0); /* the enrolled text again */
		CHECK_EQ_STR(d.cert.role, "fagperson");
		CHECK_EQ_INT(proto_cert_verify(&d.cert, org_pk, T0 + 61), VARSKO_OK);
	}
	n = 0;
	CHECK_EQ_INT(store_device_foreach(s, count_cb, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 2);
	n = 0;
	CHECK_EQ_INT(store_device_foreach(s, stop_cb, &n), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(n, 1);

	/* Revocation. */
	CHECK_EQ_INT(store_device_revoke(s, dev_id, T0 + 500, "admin-ole"), VARSKO_OK);
	CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
	CHECK_EQ_INT(d.revoked_at, T0 + 500);
	CHECK_EQ_INT(store_device_revoke(s, dev_id, T0 + 600, "admin-ole"), VARSKO_OK);
	CHECK_EQ_INT(store_device_get(s, dev_id, &d), VARSKO_OK);
	CHECK_EQ_INT(d.revoked_at, T0 + 500); /* the first revocation time stays */
	CHECK_EQ_INT(store_device_revoke(s, "d-0000000000000000", T0, "admin-ole"), VARSKO_ERR_NOT_FOUND);
	{
		char detail[64];

		snprintf(detail, sizeof(detail), "device=%s", dev_id);
		CHECK_EQ_INT(audit_count(s, "revoke", detail), 1);
	}

	/* An explicit transaction that is rolled back leaves no invite and no audit entry. */
	n = (int)q_int(s->db, "SELECT count(*) FROM audit", NULL);
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(store_begin(s), VARSKO_ERR_INTERNAL); /* no nesting */
	CHECK_EQ_INT(store_invite_create(s, "laerer-anna", T0, T0 + 3600, code2), VARSKO_OK);
	store_rollback(s);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM audit", NULL), n);
	CHECK_EQ_INT(store_enroll(s, code2, T0 + 1, YEAR, dev2_pk, box_pk, "", org_sk, &cert2), VARSKO_ERR_CODE_UNKNOWN);
	/* And a committed one keeps both. */
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(store_invite_create(s, "laerer-anna", T0, T0 + 3600, code2), VARSKO_OK);
	CHECK_EQ_INT(store_commit(s), VARSKO_OK);
	CHECK_EQ_INT(store_commit(s), VARSKO_ERR_INTERNAL);

	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, q_int(s->db, "SELECT count(*) FROM audit", NULL));
	store_close(s);
	sodium_memzero(org_sk, sizeof(org_sk));
}

static void test_statements(void)
{
	struct store *s = NULL;
	sqlite3 *raw = NULL;
	int64_t v = -1;

	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_OK);
	if (s == NULL)
		return;
	/* Every statement was prepared at open. */
	for (int i = 0; i < STORE_SQL_COUNT; i++)
		CHECK(s->stmt[i] != NULL);

	/* A write outside a transaction is refused and changes nothing. */
	CHECK_EQ_INT(store_query_int(s, SQL_SERIAL_MAX, &v, ""), VARSKO_OK);
	CHECK_EQ_INT(store_exec(s, SQL_SERIAL_SET, "s", "1000"), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM meta WHERE key = 'last_serial' AND value = '1000'", NULL), 0);
	/* store_write opens its own. */
	CHECK_EQ_INT(store_write(s, SQL_SERIAL_SET, "s", "1000"), VARSKO_OK);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM meta WHERE key = 'last_serial' AND value = '1000'", NULL), 1);
	CHECK_EQ_INT(store_query_int(s, SQL_SERIAL_MAX, &v, ""), VARSKO_OK);
	CHECK_EQ_INT(v, 1000);

	/* The format must name every parameter, with a known letter. */
	CHECK_EQ_INT(store_query_one(s, SQL_USER_EXISTS, NULL, NULL, ""), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(store_query_one(s, SQL_USER_EXISTS, NULL, NULL, "x", "u"), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(store_query_one(s, SQL_USER_EXISTS, NULL, NULL, "ss", "u", "v"), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(store_query_one(s, SQL_USER_EXISTS, NULL, NULL, "s", "nobody"), VARSKO_ERR_NOT_FOUND);

	/* One row of many: the statement is reset afterwards (no read snapshot left open). */
	CHECK_EQ_INT(store_query_one(s, SQL_AUDIT_ALL, NULL, NULL, ""), VARSKO_OK);
	CHECK(!sqlite3_stmt_busy(s->stmt[SQL_AUDIT_ALL]));

	/* Constraint errors: UNIQUE is exists, a dangling reference bad input. */
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(store_exec(s, SQL_IMPORT_RULE_ADD, "is", (int64_t)9001, "{}"), VARSKO_OK);
	CHECK_EQ_INT(store_exec(s, SQL_IMPORT_RULE_ADD, "is", (int64_t)9001, "{}"), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(store_exec(s, SQL_IMPORT_UI_ADD, "ss", "no-such-user", "no-such-inst"), VARSKO_ERR_BAD_INPUT);
	store_rollback(s);
	store_close(s);
	s = NULL;

	/* A statement that does not prepare (its table is gone) fails the open. */
	CHECK(sqlite3_open(dbpath, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "DROP TABLE routing_rules", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(raw);
	CHECK_EQ_INT(store_open(&s, dbpath, 0), VARSKO_ERR_DB);
	CHECK(s == NULL);
	store_close(s);
}

static int list_cb(const struct store_thread *t, void *arg)
{
	char *out = arg;

	strcat(out, t->id);
	strcat(out, t->anonymous ? "+" : ";");
	return VARSKO_OK;
}

static int row_cb(const struct store_thread_row *r, void *arg)
{
	char *out = arg, one[32];

	snprintf(one, sizeof one, "%lld%s,", (long long)r->seq, r->sender_cert != NULL ? "c" : "");
	strcat(out, one);
	return strstr(r->envelope, "env") != NULL ? VARSKO_OK : VARSKO_ERR_INTERNAL;
}

static int mark_cb(const char *json, size_t len, void *arg)
{
	(void)json;
	*(size_t *)arg += len;
	return VARSKO_OK;
}

static int raad_cb(const char *user, void *arg)
{
	strcat(arg, user);
	strcat(arg, ";");
	return VARSKO_OK;
}

static int purge_cb(const struct store_thread_purge *p, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s:%lld:%lld:%lld:%lld;", p->thread, (long long)(p->last_activity - T0),
	         (long long)p->messages, (long long)p->bytes, (long long)p->marks);
	return VARSKO_OK;
}

/*
 * Retention (retention.h) on the threads test_threads() left: tid (created
 * at T0, its last link at T0 + 7, its last message at T0 + 8: activity T0 +
 * 8; two messages of 9 bytes, two marks) and tid2 (created at T0 + 20, no
 * message). A dry run changes nothing; the purge deletes tid's messages,
 * recipients and marks, keeps the row and the chain, audits one row and
 * closes the thread to new messages; a thread active after the cutoff is
 * left alone, also when asked for by name.
 */
static void test_retention(struct store *s, const char *tid, const char *tid2)
{
	struct store_thread_purge p;
	struct store_thread got;
	uint8_t hash[STORE_THREAD_HASH_LEN];
	char out[512] = "";
	int64_t now = T0 + 9 + RETENTION_DAY, seq = 0;
	size_t n = 99;
	long long audits = -1;

	CHECK(retention_cutoff(now, 1) == T0 + 9);
	CHECK_EQ_INT(retention_purge(s, now - 1, 1, 1, 10, "t", purge_cb, out, &n), VARSKO_OK);
	CHECK(n == 0 && out[0] == '\0'); /* activity T0 + 8 is not before the cutoff T0 + 8 */
	CHECK_EQ_INT(retention_purge(s, now, 1, 1, 10, "t", purge_cb, out, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(out, "T-LNFVTT3BHD35M6PP6INL36B6JE:8:2:18:2;");
	CHECK_EQ_INT(store_thread_get(s, tid, &got), VARSKO_OK);
	CHECK(got.purged_at == 0);
	CHECK_EQ_INT(store_thread_messages(s, tid, "laerer-a", 0, 0, 100, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "T-LNFVTT3BHD35M6PP6INL36B6JE:8:2:18:2;1c,2c,"); /* the dry run left them */

	CHECK_EQ_INT(store_thread_purge(s, tid2, T0 + 9, now, "t", &p), VARSKO_ERR_NOT_FOUND);
	out[0] = '\0';
	CHECK_EQ_INT(retention_purge(s, now, 1, 0, 10, "varskod", purge_cb, out, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(out, "T-LNFVTT3BHD35M6PP6INL36B6JE:8:2:18:2;");
	CHECK_EQ_INT(audit_count(s, "thread_purge", "thread=T-LNFVTT3BHD35M6PP6INL36B6JE messages=2 bytes=18 marks=2"
	                                            " last_activity=2026-11-23T09:00:08Z"), 1);
	CHECK_EQ_INT(store_thread_get(s, tid, &got), VARSKO_OK);
	CHECK(got.purged_at == now && got.last_seq == 2 && got.version == 3);
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_messages(s, tid, "laerer-a", 0, 0, 100, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(store_thread_mark_target(s, tid, 1, "raad-r", out, hash, out + 100), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_thread_member(s, tid, "laerer-a", &(int){0}), VARSKO_OK); /* the membership stays */
	CHECK_EQ_INT(store_thread_purge(s, tid, now, now, "t", &p), VARSKO_ERR_NOT_FOUND); /* purged already */
	{
		struct store_thread_message m = {tid, "M-CAAAAAAAAAAAAAAAAAAAAAAAAA", "laerer-a", "d-a", 3, "{}",
		                                 (const uint8_t *)"0123456789abcdef0123456789abcdef", NULL, 0};

		CHECK_EQ_INT(store_thread_message_add(s, &m, now, &seq), VARSKO_ERR_NOT_FOUND); /* closed */
	}
	/* tid2 (activity T0 + 20): due with a later cutoff; a dry run sees nothing more of tid. */
	audits = audit_count(s, "thread_purge", "thread=T-Q6FJDZLPZTVGNYZVHN35RHBHUY messages=0 bytes=0 marks=0"
	                                        " last_activity=2026-11-23T09:00:20Z");
	CHECK_EQ_INT(audits, 0);
	out[0] = '\0';
	CHECK_EQ_INT(retention_purge(s, T0 + 21 + RETENTION_DAY, 1, 0, 10, "varskod", purge_cb, out, &n), VARSKO_OK);
	CHECK_EQ_STR(out, "T-Q6FJDZLPZTVGNYZVHN35RHBHUY:20:0:0:0;");
	CHECK_EQ_INT(audit_count(s, "thread_purge", "thread=T-Q6FJDZLPZTVGNYZVHN35RHBHUY messages=0 bytes=0 marks=0"
	                                            " last_activity=2026-11-23T09:00:20Z"), 1);
	CHECK_EQ_INT(retention_purge(s, T0 + 1000 * RETENTION_DAY, 0, 1, 10, "t", NULL, NULL, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 0);
}

/*
 * Threads (store_thread.h): a thread with its links, the membership kept
 * beside them, messages with their recipients (sync finds only a
 * recipient's), one mark per (message, user, kind), the list of a member's
 * threads, the rådgivere of an institution; every write of a thread, a link
 * and a message audited with ids only.
 */
/*
 * Abandoned uploads (store_blob_purge_stale): an incomplete blob and an
 * underretning's blob whose submission never came are dropped once
 * untouched since the cutoff; a complete thread blob and a fresh upload
 * stay. One audit row for the run.
 */
static void test_stale_blobs(struct store *s, const char *tid)
{
	struct store_blob b;
	uint8_t part[100];
	int64_t got = 0, bytes = 0;
	size_t n = 0;
	int64_t audits = q_int(s->db, "SELECT count(*) FROM audit WHERE event = 'blob_purge'", NULL);
	static const struct {
		const char *id, *thread, *submission;
		int complete;
		int64_t at;
	} rows[] = {
	        {"B-AAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, 0, T0},         /* incomplete, old: goes */
	        {"B-BAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, "sub-x", 1, T0},      /* never submitted, old: goes */
	        {"B-CAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, 1, T0},         /* complete thread blob: stays */
	        {"B-DAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, 0, T0 + 1000},  /* incomplete but fresh: stays */
	};

	memset(part, 7, sizeof(part));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&b, 0, sizeof(b));
		snprintf(b.id, sizeof(b.id), "%s", rows[i].id);
		snprintf(b.thread, sizeof(b.thread), "%s", rows[i].submission != NULL ? "" : tid);
		snprintf(b.submission, sizeof(b.submission), "%s", rows[i].submission != NULL ? rows[i].submission : "");
		snprintf(b.owner, sizeof(b.owner), "laerer-a");
		b.size = rows[i].complete ? (int64_t)sizeof(part) : 2 * (int64_t)sizeof(part);
		CHECK_EQ_INT(store_blob_create(s, &b, rows[i].at), VARSKO_OK);
		CHECK_EQ_INT(store_blob_append(s, b.id, 0, part, sizeof(part), rows[i].at, &got), VARSKO_OK);
		if (rows[i].complete)
			CHECK_EQ_INT(store_blob_finish(s, b.id, 1, rows[i].at), VARSKO_OK);
	}
	CHECK_EQ_INT(store_blob_purge_stale(s, T0 + 500, T0 + 2000, 10, &n, &bytes), VARSKO_OK);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(bytes, 2 * (int64_t)sizeof(part));
	CHECK_EQ_INT(store_blob_get(s, rows[0].id, &b), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_blob_get(s, rows[1].id, &b), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_blob_get(s, rows[2].id, &b), VARSKO_OK);
	CHECK_EQ_INT(store_blob_get(s, rows[3].id, &b), VARSKO_OK);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM blob_chunks", NULL), 2);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM audit WHERE event = 'blob_purge'", NULL), audits + 1);
	/* Nothing more to drop: no audit row either. */
	CHECK_EQ_INT(store_blob_purge_stale(s, T0 + 500, T0 + 2000, 10, &n, &bytes), VARSKO_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(q_int(s->db, "SELECT count(*) FROM audit WHERE event = 'blob_purge'", NULL), audits + 1);
}

static void test_threads(void)
{
	static const char people[] =
	        "INSERT INTO institutions VALUES ('inst-a', 'A', 'skole', 'vest'), ('inst-b', 'B', 'skole', 'vest');"
	        "INSERT INTO teams (id, name) VALUES ('team-t', 'Team T');"
	        "INSERT INTO users VALUES ('laerer-a', 'A Test', 'fagperson', NULL),"
	        " ('raad-r', 'R Test', 'raadgiver', 'team-t'), ('raad-q', 'Q Test', 'raadgiver', 'team-t'),"
	        " ('leder-l', 'L Test', 'leder', 'team-t');"
	        "INSERT INTO user_institutions VALUES ('laerer-a', 'inst-a'), ('raad-r', 'inst-a'), ('raad-q', 'inst-b'),"
	        " ('raad-r', 'inst-b');"
	        "INSERT INTO devices VALUES ('d-a', 'laerer-a', 1, '', '{\"c\":1}', 0, NULL),"
	        " ('d-r', 'raad-r', 2, '', '{\"c\":2}', 0, NULL);";
	const char *tid = "T-LNFVTT3BHD35M6PP6INL36B6JE", *tid2 = "T-Q6FJDZLPZTVGNYZVHN35RHBHUY";
	const char *both[] = {"laerer-a", "raad-r"}, *one[] = {"laerer-a"};
	struct store_thread t, got;
	struct store_thread_link links[2] = {{1, "thread_create", "{\"l\":1}", "laerer-a", 1},
	                                     {2, "thread_member_add", "{\"l\":2}", "raad-r", 1}};
	struct store_thread_link rm = {3, "thread_member_remove", "{\"l\":3}", "raad-r", 0};
	struct store_thread_message m;
	struct store *s = NULL;
	uint8_t hash[32], h2[32];
	char path[sizeof dir + 32], out[512], msg[PROTO_ID_MAX + 1], sender[PROTO_ID_MAX + 1];
	int64_t seq = 0, rec = 0;
	size_t marks = 0;
	int present = -1;

	snprintf(path, sizeof path, "%s/threads.db", dir);
	CHECK_EQ_INT(store_open(&s, path, 1), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK(sqlite3_exec(s->db, people, NULL, NULL, NULL) == SQLITE_OK);
	memset(&t, 0, sizeof t);
	snprintf(t.id, sizeof t.id, "%s", tid);
	snprintf(t.institution, sizeof t.institution, "inst-a");
	snprintf(t.creator, sizeof t.creator, "laerer-a");
	t.anonymous = 1;
	CHECK_EQ_INT(store_thread_get(s, tid, &got), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_thread_create(s, &t, links, 2, T0, "d-a"), VARSKO_OK);
	CHECK_EQ_INT(store_thread_create(s, &t, links, 2, T0, "d-a"), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(store_thread_get(s, tid, &got), VARSKO_OK);
	CHECK_EQ_STR(got.institution, "inst-a");
	CHECK_EQ_STR(got.creator, "laerer-a");
	CHECK(got.anonymous == 1 && got.version == 2 && got.last_seq == 0 && got.last_time == 0 && got.created_at == T0);
	CHECK_EQ_INT(audit_count(s, "thread_create", "thread=T-LNFVTT3BHD35M6PP6INL36B6JE version=2"), 1);
	CHECK_EQ_INT(store_thread_member(s, tid, "raad-r", &present), VARSKO_OK);
	CHECK_EQ_INT(present, 1);
	CHECK_EQ_INT(store_thread_member(s, tid, "leder-l", &present), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(present, 0);

	/* A message to both, then one to the creator only: sync finds each member's own. */
	randombytes_buf(hash, sizeof hash);
	memset(&m, 0, sizeof m);
	m.thread = tid;
	m.message = "M-AAAAAAAAAAAAAAAAAAAAAAAAAA";
	m.sender_user = "laerer-a";
	m.sender_device = "d-a";
	m.version = 2;
	m.envelope_json = "{\"env\":1}";
	m.envelope_hash = hash;
	m.recipients = both;
	m.n_recipients = 2;
	CHECK_EQ_INT(store_thread_message_add(s, &m, T0 + 5, &seq), VARSKO_OK);
	CHECK_EQ_INT(seq, 1);
	CHECK_EQ_INT(store_thread_message_add(s, &m, T0 + 6, &seq), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(audit_count(s, "thread_message", "thread=T-LNFVTT3BHD35M6PP6INL36B6JE seq=1 message=M-AAAAAAAAAAAAAAAAAAAAAAAAAA"), 1);
	CHECK_EQ_INT(store_thread_append(s, tid, &rm, T0 + 7, "d-a"), VARSKO_OK);
	CHECK_EQ_INT(store_thread_append(s, tid, &rm, T0 + 7, "d-a"), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(audit_count(s, "thread_append", "thread=T-LNFVTT3BHD35M6PP6INL36B6JE seq=3 op=thread_member_remove"), 1);
	CHECK_EQ_INT(store_thread_member(s, tid, "raad-r", &present), VARSKO_OK);
	CHECK_EQ_INT(present, 0);
	m.message = "M-BAAAAAAAAAAAAAAAAAAAAAAAAA";
	m.version = 3;
	m.recipients = one;
	m.n_recipients = 1;
	CHECK_EQ_INT(store_thread_message_add(s, &m, T0 + 8, &seq), VARSKO_OK);
	CHECK_EQ_INT(seq, 2);
	CHECK_EQ_INT(store_thread_get(s, tid, &got), VARSKO_OK);
	CHECK(got.version == 3 && got.last_seq == 2 && got.last_time == T0 + 8);
	CHECK_EQ_INT(store_thread_message_find(s, tid, "M-AAAAAAAAAAAAAAAAAAAAAAAAAA", &seq, h2, &rec), VARSKO_OK);
	CHECK(seq == 1 && rec == T0 + 5 && memcmp(h2, hash, 32) == 0);
	CHECK_EQ_INT(store_thread_message_find(s, tid, "M-CAAAAAAAAAAAAAAAAAAAAAAAAA", &seq, h2, &rec),
	             VARSKO_ERR_NOT_FOUND);
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_messages(s, tid, "laerer-a", 0, 0, 100, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "1c,2c,");
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_messages(s, tid, "laerer-a", 0, 3, 100, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "2c,1c,");
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_messages(s, tid, "laerer-a", 1, 0, 1, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "2c,");
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_messages(s, tid, "raad-r", 0, 0, 100, row_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "1c,");

	/* Marks: one per (message, user, kind), only for a recipient. */
	CHECK_EQ_INT(store_thread_mark_target(s, tid, 1, "raad-r", msg, h2, sender), VARSKO_OK);
	CHECK_EQ_STR(msg, "M-AAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK_EQ_STR(sender, "laerer-a");
	CHECK(memcmp(h2, hash, 32) == 0);
	CHECK_EQ_INT(store_thread_mark_target(s, tid, 2, "raad-r", msg, h2, sender), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_thread_mark_target(s, tid, 9, "laerer-a", msg, h2, sender), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_thread_mark_add(s, tid, 1, "raad-r", "leveret", "d-r", "{\"m\":1}", T0 + 9), VARSKO_OK);
	CHECK_EQ_INT(store_thread_mark_add(s, tid, 1, "raad-r", "leveret", "d-r", "{\"m\":2}", T0 + 9),
	             VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(store_thread_mark_add(s, tid, 1, "raad-r", "laest", "d-r", "{\"m\":33}", T0 + 9), VARSKO_OK);
	CHECK_EQ_INT(store_thread_mark_add(s, tid, 1, "raad-r", "opened", "d-r", "{}", T0 + 9), VARSKO_ERR_DB);
	CHECK_EQ_INT(store_thread_marks(s, tid, 1, mark_cb, &marks), VARSKO_OK);
	CHECK_EQ_INT(marks, 15);

	/* The list: present members only, newest activity first. */
	snprintf(t.id, sizeof t.id, "%s", tid2);
	t.anonymous = 0;
	CHECK_EQ_INT(store_thread_create(s, &t, links, 1, T0 + 20, "d-a"), VARSKO_OK);
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_list(s, "laerer-a", 100, list_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "T-Q6FJDZLPZTVGNYZVHN35RHBHUY;T-LNFVTT3BHD35M6PP6INL36B6JE+");
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_list(s, "laerer-a", 1, list_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "T-Q6FJDZLPZTVGNYZVHN35RHBHUY;");
	out[0] = '\0';
	CHECK_EQ_INT(store_thread_list(s, "raad-r", 100, list_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "");
	out[0] = '\0';
	CHECK_EQ_INT(store_institution_raadgivere(s, "inst-b", raad_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "raad-q;raad-r;");
	out[0] = '\0';
	CHECK_EQ_INT(store_institution_raadgivere(s, "inst-a", raad_cb, out), VARSKO_OK);
	CHECK_EQ_STR(out, "raad-r;");
	test_retention(s, tid, tid2);
	test_stale_blobs(s, tid2);
	store_close(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot make a temporary directory\n");
		return 77;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/varsko.db", dir);
	test_open_and_pragmas();
	test_code_normalize();
	test_enroll();
	test_pending();
	test_keys();
	test_threads();
	test_statements();
	{
		char p[300];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
	}
	unlink(dbpath);
	rmdir(dir);
	return check_result();
}
