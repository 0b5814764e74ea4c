/*
 * test-backup.c: the store's backup and restore functions
 * (gateway/store_backup.c, store_open_copy in store.c) and the backup
 * directory (gateway/backup.c). A copy made while
 * the live store is open holds what is still only in the WAL, is one file
 * (rollback-journal mode, mode 0600), opens read-only without creating
 * anything beside it, and passes the integrity and audit checks; a
 * damaged copy does not. store_take_offline() refuses while another
 * connection is open and afterwards leaves one self-contained file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "backup.h"
#include "check.h"
#include "store.h"

static char dir[] = "/tmp/varsko-test-backup-XXXXXX";
static const int64_t T0 = 1795424400; /* 2026-11-23T09:00:00Z */

static void path_of(const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of the directory (not . and ..). */
static int dir_entries(void)
{
	char cmd[512];
	FILE *p;
	int n = 0, ch;

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while ((ch = fgetc(p)) != EOF)
		n += ch == '\n';
	pclose(p);
	return n;
}

static void audit_n(struct store *s, int from, int n)
{
	for (int i = from; i < from + n; i++)
		CHECK_EQ_INT(store_audit(s, T0 + i, "login_ok", "d-0123456789abcdef", "x=1"), VARSKO_OK);
}

/* Verify the copy's audit chain; returns the number of entries, -1 when it does not verify. */
static long long copy_audit(const char *path)
{
	struct store *s = NULL;
	uint64_t count = 0, bad = 0;
	int r;

	if (store_open_copy(&s, path) != VARSKO_OK)
		return -1;
	r = store_audit_verify(s, &count, &bad);
	store_close(s);
	return r == VARSKO_OK ? (long long)count : -1;
}

static const char *side_of_live(void)
{
	static char live[256];

	path_of("live.db", live, sizeof live);
	return live;
}

static void test_schema_check(void)
{
	CHECK_EQ_INT(store_schema_check(-1), VARSKO_ERR_DB);
	CHECK_EQ_INT(store_schema_check(0), VARSKO_OK);
	CHECK_EQ_INT(store_schema_check(1), VARSKO_OK);
	CHECK_EQ_INT(store_schema_check(STORE_SCHEMA_VERSION), VARSKO_OK);
	CHECK_EQ_INT(store_schema_check(STORE_SCHEMA_VERSION_NEXT), VARSKO_ERR_DB);
}

static void test_copy_while_open(void)
{
	char live[256], copy[256], name[300];
	struct store *s = NULL, *c = NULL;
	unsigned char hdr[20];
	struct stat st;
	int64_t und = -1, ev = -1;
	int fd, n;

	path_of("live.db", live, sizeof live);
	path_of("copy.db", copy, sizeof copy);
	CHECK_EQ_INT(store_open(&s, live, 1), VARSKO_OK);
	if (s == NULL)
		return;
	audit_n(s, 1, 25);
	snprintf(name, sizeof name, "%s-wal", live);
	CHECK(stat(name, &st) == 0 && st.st_size > 0); /* the entries are (also) in the WAL */

	/* With the writer's connection open: everything committed is in the copy. */
	CHECK_EQ_INT(store_backup(live, copy), VARSKO_OK);
	CHECK(stat(copy, &st) == 0 && (st.st_mode & 07777) == 0600);
	snprintf(name, sizeof name, "%s-wal", copy);
	CHECK(!exists(name));
	snprintf(name, sizeof name, "%s-journal", copy);
	CHECK(!exists(name));
	/* Rollback-journal mode in the header (bytes 18 and 19 are 1; WAL would be 2). */
	CHECK((fd = open(copy, O_RDONLY)) >= 0);
	CHECK(read(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr);
	close(fd);
	CHECK(hdr[18] == 1 && hdr[19] == 1);

	/* Opening the copy creates nothing beside it. */
	n = dir_entries();
	CHECK_EQ_INT(store_open_copy(&c, copy), VARSKO_OK);
	if (c != NULL) {
		CHECK_EQ_INT(store_opened_at_version(c), STORE_SCHEMA_VERSION);
		CHECK_EQ_INT(store_integrity_check(c), VARSKO_OK);
		CHECK_EQ_INT(store_backup_counts(c, &und, &ev), VARSKO_OK);
		CHECK(und == 0 && ev == 0);
		store_close(c);
	}
	CHECK_EQ_INT(dir_entries(), n);
	CHECK_EQ_INT(copy_audit(copy), 25);

	/* Never over an existing file; the file there stays as it was. */
	CHECK_EQ_INT(store_backup(live, copy), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(copy_audit(copy), 25);
	/* A live database that is not there: nothing left at the copy's path. */
	path_of("missing.db", name, sizeof name);
	path_of("copy2.db", copy, sizeof copy);
	CHECK_EQ_INT(store_backup(name, copy), VARSKO_ERR_NOT_FOUND);
	CHECK(!exists(copy) && !exists(name));

	/* The live database is in use: it cannot be taken off line. */
	CHECK_EQ_INT(store_take_offline(live), VARSKO_ERR_UNAVAILABLE);
	audit_n(s, 26, 5); /* and the writer is not disturbed */
	store_close(s);
}

static void test_take_offline(void)
{
	char live[256], wal[300];
	struct store *s = NULL;
	sqlite3 *db = NULL;

	path_of("live.db", live, sizeof live);
	snprintf(wal, sizeof wal, "%s-wal", live);
	/* Leave frames in the WAL the way a killed varskod does: a second connection keeps the first from cleaning up.
	 */
	CHECK(sqlite3_open(live, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "SELECT count(*) FROM audit", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_INT(store_open(&s, live, 0), VARSKO_OK);
	if (s != NULL)
		audit_n(s, 31, 3);
	CHECK_EQ_INT(store_take_offline(live), VARSKO_ERR_UNAVAILABLE);
	store_close(s);
	CHECK_EQ_INT(store_take_offline(live), VARSKO_ERR_UNAVAILABLE); /* the raw connection is still open */
	sqlite3_close(db);

	CHECK_EQ_INT(store_take_offline(live), VARSKO_OK);
	CHECK(!exists(wal));
	CHECK_EQ_INT(copy_audit(live), 33); /* the file alone holds every entry */
	path_of("missing.db", wal, sizeof wal);
	CHECK_EQ_INT(store_take_offline(wal), VARSKO_ERR_NOT_FOUND);
}

static void test_damaged(void)
{
	char live[256], copy[256], junk[256];
	struct store *c = NULL;
	unsigned char buf[64], page[4096];
	struct stat st;
	int fd, r;

	path_of("live.db", live, sizeof live);
	path_of("damaged.db", copy, sizeof copy);
	CHECK_EQ_INT(store_backup(live, copy), VARSKO_OK);
	/*
	 * A page in the middle of the file overwritten: a check finds it (the
	 * open, the integrity check or the chain). (Bytes flipped in a page's
	 * unused space would go unnoticed by all three: the manifest's hash is
	 * what catches those.)
	 */
	CHECK(stat(copy, &st) == 0);
	CHECK((fd = open(copy, O_RDWR)) >= 0);
	memset(page, 0x5a, sizeof page);
	CHECK(pwrite(fd, page, sizeof page, (st.st_size / 2) & ~(off_t)4095) == (ssize_t)sizeof page);
	close(fd);
	r = store_open_copy(&c, copy);
	if (r == VARSKO_OK) {
		uint64_t count, bad;

		r = store_integrity_check(c);
		if (r == VARSKO_OK)
			r = store_audit_verify(c, &count, &bad);
		store_close(c);
	}
	CHECK(r != VARSKO_OK);

	/* Not a database at all. */
	path_of("junk.db", junk, sizeof junk);
	CHECK((fd = open(junk, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < 100; i++)
		CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
	close(fd);
	CHECK_EQ_INT(store_open_copy(&c, junk), VARSKO_ERR_DB);
	CHECK(c == NULL);
	CHECK_EQ_INT(store_take_offline(junk), VARSKO_ERR_DB);
}

static void test_older_copy(void)
{
	char live[256], copy[256];
	struct store *c = NULL;
	sqlite3 *db = NULL;
	int64_t und = -1, ev = -1;

	/* A copy that says schema 1 (tables of later versions present or not, the audit log is there). */
	path_of("live.db", live, sizeof live);
	path_of("old.db", copy, sizeof copy);
	CHECK_EQ_INT(store_backup(live, copy), VARSKO_OK);
	CHECK(sqlite3_open(copy, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE events; PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ_INT(store_open_copy(&c, copy), VARSKO_OK);
	if (c != NULL) {
		CHECK_EQ_INT(store_opened_at_version(c), 1);
		CHECK_EQ_INT(store_integrity_check(c), VARSKO_OK);
		CHECK_EQ_INT(store_backup_counts(c, &und, &ev), VARSKO_ERR_DB); /* events: not in this schema */
		store_close(c);
	}
	CHECK_EQ_INT(copy_audit(copy), 33);
	/* A newer schema opens (to be told), and store_schema_check refuses it. */
	CHECK(sqlite3_open(copy, &db) == SQLITE_OK);
	{
		char sql[64];

		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION_NEXT);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	sqlite3_close(db);
	CHECK_EQ_INT(store_open_copy(&c, copy), VARSKO_OK);
	if (c != NULL) {
		CHECK_EQ_INT(store_schema_check(store_opened_at_version(c)), VARSKO_ERR_DB);
		store_close(c);
	}
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
		close(fd);
	}
}

static int same_file(const char *a, const char *b)
{
	uint8_t ha[BACKUP_HASH_LEN], hb[BACKUP_HASH_LEN];
	uint64_t na = 0, nb = 0;

	return backup_file_hash(a, ha, &na) == VARSKO_OK && backup_file_hash(b, hb, &nb) == VARSKO_OK && na == nb &&
	       memcmp(ha, hb, sizeof ha) == 0;
}

static void test_directory(void)
{
	struct backup_manifest m, got;
	char dest[256], path[300], err[128], tmp[512], aside[512], side[600];
	struct stat st;
	int created = -1;

	/* A new directory, private; then not again over anything in it. */
	path_of("bk", dest, sizeof dest);
	CHECK_EQ_INT(backup_dir_prepare(dest, &created, err, sizeof err), VARSKO_OK);
	CHECK(created == 1 && stat(dest, &st) == 0 && (st.st_mode & 07777) == 0700);
	backup_path(path, sizeof path, dest, "other");
	put_file(path, "x");
	CHECK_EQ_INT(backup_dir_prepare(dest, &created, err, sizeof err), VARSKO_ERR_EXISTS);
	CHECK(strstr(err, "not empty") != NULL);
	backup_dir_clear(dest, 1); /* only its own files: "other" and the directory stay */
	CHECK(exists(path) && exists(dest));
	unlink(path);
	CHECK(chmod(dest, 0755) == 0);
	CHECK_EQ_INT(backup_dir_prepare(dest, &created, err, sizeof err), VARSKO_OK); /* empty: taken */
	CHECK(created == 0 && stat(dest, &st) == 0 && (st.st_mode & 07777) == 0700);
	path_of("no-parent/bk", path, sizeof path);
	CHECK_EQ_INT(backup_dir_prepare(path, &created, err, sizeof err), VARSKO_ERR_NOT_FOUND);
	path_of("live.db", path, sizeof path);
	CHECK_EQ_INT(backup_dir_prepare(path, &created, err, sizeof err), VARSKO_ERR_EXISTS); /* a file */

	/* The manifest: written as read. */
	memset(&m, 0, sizeof m);
	m.created = T0;
	snprintf(m.made_by, sizeof m.made_by, "varskoctl test");
	snprintf(m.source, sizeof m.source, "/var/lib/varsko/varsko.db");
	m.schema_version = STORE_SCHEMA_VERSION;
	backup_path(path, sizeof path, dest, BACKUP_DB_NAME);
	CHECK_EQ_INT(store_backup(side_of_live(), path), VARSKO_OK);
	CHECK_EQ_INT(backup_file_hash(path, m.sha256, &m.bytes), VARSKO_OK);
	CHECK(m.bytes > 0);
	m.audit_entries = 33;
	memset(m.audit_head, 0xab, sizeof m.audit_head);
	m.underretninger = 0;
	m.events = -1;
	CHECK_EQ_INT(backup_manifest_write(dest, &m), VARSKO_OK);
	CHECK_EQ_INT(backup_manifest_write(dest, &m), VARSKO_ERR_EXISTS);
	backup_path(side, sizeof side, dest, BACKUP_MANIFEST_NAME);
	CHECK(stat(side, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK_EQ_INT(backup_manifest_read(dest, &got, err, sizeof err), VARSKO_OK);
	CHECK(got.created == m.created && got.schema_version == m.schema_version && got.bytes == m.bytes &&
	      memcmp(got.sha256, m.sha256, sizeof m.sha256) == 0 && got.audit_entries == 33 &&
	      memcmp(got.audit_head, m.audit_head, sizeof m.audit_head) == 0 && got.underretninger == 0 &&
	      got.events == -1);
	CHECK_EQ_STR(got.made_by, "varskoctl test");
	CHECK_EQ_STR(got.source, "/var/lib/varsko/varsko.db");

	/* Staging: a copy next to the target, only when the bytes are the manifest's. */
	path_of("target.db", tmp, sizeof tmp);
	put_file(tmp, "the old database");
	CHECK_EQ_INT(backup_stage(path, &m, tmp, aside, sizeof aside), VARSKO_OK);
	CHECK(aside[0] != '\0' && strncmp(aside, tmp, strlen(tmp)) == 0 && same_file(aside, path));
	CHECK(stat(aside, &st) == 0 && (st.st_mode & 07777) == 0600);
	{
		char staged[512], target[512], wal[600], moved[700];
		int n;

		snprintf(staged, sizeof staged, "%s", aside);
		snprintf(target, sizeof target, "%s", tmp);
		m.sha256[0] ^= 1;
		n = dir_entries();
		CHECK_EQ_INT(backup_stage(path, &m, target, tmp, sizeof tmp), VARSKO_ERR_BAD_SIGNATURE);
		CHECK(tmp[0] == '\0' && dir_entries() == n); /* nothing left */
		m.sha256[0] ^= 1;

		/* The swap: the old database and its -wal aside under one name, the staged file in place. */
		snprintf(wal, sizeof wal, "%s-wal", target);
		put_file(wal, "old wal");
		CHECK_EQ_INT(backup_swap(staged, target, T0, aside, sizeof aside), VARSKO_OK);
		CHECK(same_file(target, path) && !exists(staged) && !exists(wal));
		snprintf(moved, sizeof moved, "%s.before-restore-20261123T090000Z", target);
		CHECK_EQ_STR(aside, moved);
		CHECK(exists(moved));
		snprintf(moved, sizeof moved, "%s.before-restore-20261123T090000Z-wal", target);
		CHECK(exists(moved));
		/* The same second again: the aside name is taken; nothing moves. */
		CHECK_EQ_INT(backup_stage(path, &m, target, tmp, sizeof tmp), VARSKO_OK);
		CHECK_EQ_INT(backup_swap(tmp, target, T0, aside, sizeof aside), VARSKO_ERR_EXISTS);
		CHECK(exists(tmp) && same_file(target, path));
		backup_unstage(tmp);
		CHECK(!exists(tmp));
	}

	/* Manifests that are refused. */
	put_file(side, "{\"format\":\"varsko-backup\",\"format_version\":2}");
	CHECK_EQ_INT(backup_manifest_read(dest, &got, err, sizeof err), VARSKO_ERR_BAD_INPUT);
	CHECK(strstr(err, "format version") != NULL);
	put_file(side, "{\"format\":\"varsko-backup\",\"format\":\"varsko-backup\"}");
	CHECK_EQ_INT(backup_manifest_read(dest, &got, err, sizeof err), VARSKO_ERR_BAD_INPUT);
	put_file(side, "not json");
	CHECK_EQ_INT(backup_manifest_read(dest, &got, err, sizeof err), VARSKO_ERR_BAD_INPUT);
	unlink(side);
	CHECK_EQ_INT(backup_manifest_read(dest, &got, err, sizeof err), VARSKO_ERR_NOT_FOUND);
	backup_dir_clear(dest, 1);
	CHECK(!exists(dest));
}

int main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot set up: no libsodium or no temporary directory\n");
		return 77;
	}
	test_schema_check();
	test_copy_while_open();
	test_take_offline();
	test_damaged();
	test_older_copy();
	test_directory();
	{
		char cmd[512];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "note: %s not removed\n", dir);
	}
	return check_result();
}
