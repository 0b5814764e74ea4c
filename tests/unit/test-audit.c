/*
 * test-audit.c: the hash-chained audit log (gateway/audit.c). A clean chain
 * verifies; every kind of tampering done with a raw sqlite3 connection
 * (trigger dropped and a field edited, a middle entry deleted, the tail cut
 * off, a row forged at the end) is found and named by its seq; untrusted
 * text is stored escaped and truncated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "store.h"

static char dir[] = "/tmp/varsko-test-audit-XXXXXX";
static const int64_t T0 = 1795424400; /* 2026-11-23T09:00:00Z */

static void db_path(const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.db", dir, name);
}

/* A fresh database with n entries "e1".."eN". */
static void make_log(const char *path, int n)
{
	struct store *s = NULL;
	char detail[32];
	int i;

	CHECK_EQ_INT(store_open(&s, path, 1), VARSKO_OK);
	if (s == NULL)
		return;
	for (i = 1; i <= n; i++) {
		snprintf(detail, sizeof(detail), "entry=%d", i);
		CHECK_EQ_INT(store_audit(s, T0 + i, "login_ok", "d-0123456789abcdef", detail), VARSKO_OK);
	}
	store_close(s);
}

/* Run SQL on the file behind the store's back. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int verify(const char *path, uint64_t *count, uint64_t *bad)
{
	struct store *s = NULL;
	int r;

	*count = *bad = 0;
	if ((r = store_open(&s, path, 0)) != VARSKO_OK)
		return r;
	r = store_audit_verify(s, count, bad);
	store_close(s);
	return r;
}

static void test_clean_chain(void)
{
	char path[256];
	uint64_t count, bad, head_seq = 9;
	uint8_t head[32];
	struct store *s = NULL;

	db_path("empty", path, sizeof(path));
	make_log(path, 0);
	CHECK_EQ_INT(verify(path, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 0);

	db_path("clean", path, sizeof(path));
	make_log(path, 7);
	CHECK_EQ_INT(verify(path, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 7);
	CHECK_EQ_INT(bad, 0);

	CHECK_EQ_INT(store_open(&s, path, 0), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_audit_head(s, &head_seq, head), VARSKO_OK);
	CHECK_EQ_INT(head_seq, 7);
	/* An entry inside a rolled-back transaction leaves no trace. */
	CHECK_EQ_INT(store_begin(s), VARSKO_OK);
	CHECK_EQ_INT(store_audit(s, T0 + 100, "revoke", "-", "device=d-1"), VARSKO_OK);
	store_rollback(s);
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 7);
	/* Event names are fixed identifiers, never free text. */
	CHECK_EQ_INT(store_audit(s, T0, "login ok", "-", ""), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_audit(s, T0, "", "-", ""), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_audit(s, T0, "x\n", "-", ""), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 7);
	store_close(s);

	/* The triggers refuse UPDATE and DELETE. */
	CHECK(raw_exec(path, "UPDATE audit SET detail = 'x' WHERE seq = 2") == SQLITE_CONSTRAINT);
	CHECK(raw_exec(path, "DELETE FROM audit WHERE seq = 7") == SQLITE_CONSTRAINT);
	CHECK_EQ_INT(verify(path, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 7);
}

static void test_tamper(void)
{
	static const struct {
		const char *name;
		const char *sql;
		uint64_t bad_seq, intact;
	} cases[] = {
		{ "update-detail",
		  "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'entry=99' WHERE seq = 3;", 3, 2 },
		{ "update-time", "DROP TRIGGER audit_no_update; UPDATE audit SET at = at + 1 WHERE seq = 5;", 5, 4 },
		{ "update-event", "DROP TRIGGER audit_no_update; UPDATE audit SET event = 'login_refused' WHERE seq = 1;",
		  1, 0 },
		{ "update-prev", "DROP TRIGGER audit_no_update; UPDATE audit SET prev_hash = zeroblob(32) WHERE seq = 4;",
		  4, 3 },
		/* Changing a hash breaks the next entry's link. */
		{ "update-hash", "DROP TRIGGER audit_no_update; UPDATE audit SET hash = zeroblob(32) WHERE seq = 2;", 2,
		  1 },
		{ "delete-middle", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 3;", 3, 2 },
		{ "delete-first", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 1;", 1, 0 },
		/* Cutting the tail: the chain is whole, the head in meta is not there. */
		{ "delete-tail", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 5;", 5, 4 },
		{ "delete-all", "DROP TRIGGER audit_no_delete; DELETE FROM audit;", 1, 0 },
		{ "forge-append",
		  "INSERT INTO audit SELECT 7, at, event, actor, detail, hash, hash FROM audit WHERE seq = 6;", 7, 6 },
		{ "delete-head", "DELETE FROM meta WHERE key = 'audit_head';", 6, 6 },
	};
	char path[256];
	uint64_t count, bad;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_path(cases[i].name, path, sizeof(path));
		make_log(path, 6);
		CHECK(raw_exec(path, cases[i].sql) == SQLITE_OK);
		CHECK_EQ_INT(verify(path, &count, &bad), VARSKO_ERR_BAD_SIGNATURE);
		if (bad != cases[i].bad_seq)
			fprintf(stderr, "case %s:\n", cases[i].name);
		CHECK_EQ_INT(bad, cases[i].bad_seq);
		CHECK_EQ_INT(count, cases[i].intact);
	}
}

/* After the tail was cut, new entries do not hide the cut: they leave a gap. */
static void test_append_after_truncation(void)
{
	struct store *s = NULL;
	char path[256];
	uint64_t count, bad;

	db_path("cut-then-append", path, sizeof(path));
	make_log(path, 6);
	CHECK(raw_exec(path, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 5;") == SQLITE_OK);
	CHECK_EQ_INT(store_open(&s, path, 0), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_audit(s, T0 + 50, "login_ok", "-", "after"), VARSKO_OK);
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, 5);
	CHECK_EQ_INT(count, 4);
	store_close(s);
}

static void read_row(const char *path, int seq, char *actor, char *detail, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	actor[0] = detail[0] = '\0';
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT actor, detail FROM audit WHERE seq = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, seq);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(actor, cap, "%s", (const char *)sqlite3_column_text(st, 0));
			snprintf(detail, cap, "%s", (const char *)sqlite3_column_text(st, 1));
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_escaping(void)
{
	struct store *s = NULL;
	char path[256], actor[600], detail[600], long_in[400], expect[300];
	uint64_t count, bad;

	db_path("escape", path, sizeof(path));
	CHECK_EQ_INT(store_open(&s, path, 1), VARSKO_OK);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_audit(s, T0, "bad_frame", "d-1\r\nFORGED 2026-01-01 login_ok",
	                         "reason=\"x\"\\ \"},{\"event\":\"init\"\x01\x7f\xc3\xa6\t"),
	             VARSKO_OK);
	memset(long_in, 'x', 300);
	long_in[300] = '\0';
	CHECK_EQ_INT(store_audit(s, T0, "bad_frame", "-", long_in), VARSKO_OK);
	/* 255 bytes then a newline: the 2-byte escape would not fit, so it is dropped whole. */
	memset(long_in, 'y', 255);
	long_in[255] = '\n';
	long_in[256] = '\0';
	CHECK_EQ_INT(store_audit(s, T0, "bad_frame", NULL, long_in), VARSKO_OK);
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
	CHECK_EQ_INT(count, 3);
	store_close(s);

	read_row(path, 1, actor, detail, sizeof(actor));
	CHECK_EQ_STR(actor, "d-1\\r\\nFORGED 2026-01-01 login_ok");
	CHECK_EQ_STR(detail, "reason=\\\"x\\\"\\\\ \\\"},{\\\"event\\\":\\\"init\\\"\\x01\\x7f\\xc3\\xa6\\t");
	CHECK(strchr(actor, '\n') == NULL && strchr(actor, '\r') == NULL);
	read_row(path, 2, actor, detail, sizeof(actor));
	memset(expect, 'x', 256);
	expect[256] = '\0';
	CHECK_EQ_STR(detail, expect);
	CHECK_EQ_STR(actor, "-");
	read_row(path, 3, actor, detail, sizeof(actor));
	memset(expect, 'y', 255);
	expect[255] = '\0';
	CHECK_EQ_STR(detail, expect);
}

int main(void)
{
	char cmd[300];
	int rc;

	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot make a temporary directory\n");
		return 77;
	}
	test_clean_chain();
	test_tamper();
	test_append_after_truncation();
	test_escaping();
	rc = check_result();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
