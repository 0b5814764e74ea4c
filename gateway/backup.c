/*
 * backup.c: the backup directory, its manifest and the swap of a restore
 * (backup.h; docs/OPERATIONS.md "Backup and restore").
 *
 * The database files pass through a fixed buffer here (hashing, staging);
 * they hold names of staff and institutions, so the buffer is wiped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "backup.h"
#include "file.h"
#include "proto.h"

#define MANIFEST_MAX (64 * 1024)
#define CHUNK        (64 * 1024)

/* The files SQLite keeps beside a database: moved aside with it, never left next to a restored one. */
static const char *const side_files[] = {"-wal", "-shm", "-journal"};
#define N_SIDE (sizeof(side_files) / sizeof(side_files[0]))

static void set_err(char *err, size_t cap, const char *msg)
{
	if (err != NULL && cap > 0)
		snprintf(err, cap, "%s", msg);
}

int backup_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n > 0 && (size_t)n < cap ? VARSKO_OK : VARSKO_ERR_TOO_LARGE;
}

/* path + suffix into out. */
static int suffixed(char *out, size_t cap, const char *path, const char *suffix)
{
	int n = snprintf(out, cap, "%s%s", path, suffix);

	return n > 0 && (size_t)n < cap ? VARSKO_OK : VARSKO_ERR_TOO_LARGE;
}

static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t k;

	do
		k = read(fd, p, n);
	while (k < 0 && errno == EINTR);
	return k;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VARSKO_ERR_IO;
		p += k;
		n -= (size_t)k;
	}
	return VARSKO_OK;
}

int backup_dir_prepare(const char *dest, int *created, char *err, size_t errcap)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int r = VARSKO_OK;

	*created = 0;
	if (mkdir(dest, 0700) == 0) {
		*created = 1;
		return chmod(dest, 0700) == 0 ? VARSKO_OK : VARSKO_ERR_IO;
	}
	if (errno == ENOENT) {
		set_err(err, errcap, "its parent directory does not exist");
		return VARSKO_ERR_NOT_FOUND;
	}
	if (errno != EEXIST) {
		set_err(err, errcap, "cannot create it");
		return VARSKO_ERR_IO;
	}
	if (lstat(dest, &st) != 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, errcap, "it exists and is not a directory");
		return VARSKO_ERR_EXISTS;
	}
	if ((d = opendir(dest)) == NULL) {
		set_err(err, errcap, "cannot read it");
		return VARSKO_ERR_IO;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			set_err(err, errcap, "it exists and is not empty");
			r = VARSKO_ERR_EXISTS;
			break;
		}
	}
	closedir(d);
	if (r == VARSKO_OK && chmod(dest, 0700) != 0) {
		set_err(err, errcap, "cannot make it private (mode 0700)");
		r = VARSKO_ERR_IO;
	}
	return r;
}

void backup_dir_clear(const char *dest, int created)
{
	char path[BACKUP_PATH_MAX], side[BACKUP_PATH_MAX + 16];
	size_t i;

	if (dest == NULL)
		return;
	if (backup_path(path, sizeof(path), dest, BACKUP_MANIFEST_NAME) == VARSKO_OK)
		unlink(path);
	if (backup_path(path, sizeof(path), dest, BACKUP_DB_NAME) == VARSKO_OK) {
		unlink(path);
		for (i = 0; i < N_SIDE; i++)
			if (suffixed(side, sizeof(side), path, side_files[i]) == VARSKO_OK)
				unlink(side);
	}
	if (created)
		rmdir(dest);
}

int backup_file_hash(const char *path, uint8_t sha256[BACKUP_HASH_LEN], uint64_t *bytes)
{
	crypto_hash_sha256_state h;
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t total = 0;
	ssize_t k;
	int fd, r = VARSKO_ERR_IO;

	*bytes = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? VARSKO_ERR_NOT_FOUND : errno == ELOOP ? VARSKO_ERR_BAD_INPUT : VARSKO_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((buf = malloc(CHUNK)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	crypto_hash_sha256_init(&h);
	while ((k = read_some(fd, buf, CHUNK)) > 0) {
		crypto_hash_sha256_update(&h, buf, (unsigned long long)k);
		total += (uint64_t)k;
	}
	if (k < 0)
		goto out;
	crypto_hash_sha256_final(&h, sha256);
	*bytes = total;
	r = VARSKO_OK;
out:
	if (buf != NULL) {
		sodium_memzero(buf, CHUNK);
		free(buf);
	}
	close(fd);
	return r;
}

int backup_manifest_write(const char *dest, const struct backup_manifest *m)
{
	char path[BACKUP_PATH_MAX], created[PROTO_TIME_LEN + 1];
	char sha[2 * BACKUP_HASH_LEN + 1], head[2 * BACKUP_HASH_LEN + 1];
	json_t *o = NULL;
	char *text = NULL;
	int r;

	if ((r = backup_path(path, sizeof(path), dest, BACKUP_MANIFEST_NAME)) != VARSKO_OK)
		return r;
	proto_time_format(m->created, created);
	sodium_bin2hex(sha, sizeof(sha), m->sha256, BACKUP_HASH_LEN);
	sodium_bin2hex(head, sizeof(head), m->audit_head, BACKUP_HASH_LEN);
	o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:{s:s, s:I, s:s}, s:{s:I, s:s}, s:o, s:o}", "format",
	              BACKUP_FORMAT, "format_version", BACKUP_FORMAT_VERSION, "created", created, "made_by", m->made_by,
	              "source", m->source, "schema_version", m->schema_version, "database", "file", BACKUP_DB_NAME,
	              "bytes", (json_int_t)m->bytes, "sha256", sha, "audit", "entries", (json_int_t)m->audit_entries,
	              "head_hash", head, "underretninger",
	              m->underretninger < 0 ? json_null() : json_integer(m->underretninger), "events",
	              m->events < 0 ? json_null() : json_integer(m->events));
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	{
		size_t n = strlen(text);
		char *line = malloc(n + 2);

		if (line == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		memcpy(line, text, n);
		line[n] = '\n'; /* json_dumps leaves no final newline */
		line[n + 1] = '\0';
		r = file_write_new(path, line, n + 1, 0600); /* fsyncs the file and dest */
		free(line);
		if (r != VARSKO_OK)
			goto out;
	}
	r = file_sync_dir(dest); /* dest's own name, in its parent */
out:
	free(text);
	json_decref(o);
	return r;
}

/* A member that must be an object, a string, an integer >= 0 or (nullable) null. */
static json_t *member(json_t *o, const char *key, json_type type, const char **missing)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_typeof(v) != type) {
		if (*missing == NULL)
			*missing = key;
		return NULL;
	}
	if (type == JSON_INTEGER && json_integer_value(v) < 0) {
		if (*missing == NULL)
			*missing = key;
		return NULL;
	}
	return v;
}

static int hex32(json_t *v, uint8_t out[BACKUP_HASH_LEN])
{
	const char *t = v ? json_string_value(v) : NULL;
	size_t got = 0;

	if (t == NULL || strlen(t) != 2 * BACKUP_HASH_LEN ||
	    sodium_hex2bin(out, BACKUP_HASH_LEN, t, 2 * BACKUP_HASH_LEN, NULL, &got, NULL) != 0 ||
	    got != BACKUP_HASH_LEN)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_OK;
}

/* A count that may be null (the copy's schema has no such table). */
static int count_of(json_t *o, const char *key, int64_t *out, const char **missing)
{
	json_t *v = json_object_get(o, key);

	if (v != NULL && json_is_null(v)) {
		*out = -1;
		return VARSKO_OK;
	}
	if ((v = member(o, key, JSON_INTEGER, missing)) == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = (int64_t)json_integer_value(v);
	return VARSKO_OK;
}

int backup_manifest_read(const char *src, struct backup_manifest *m, char *err, size_t errcap)
{
	char path[BACKUP_PATH_MAX], *text = NULL;
	json_t *o = NULL, *db, *audit, *v;
	json_error_t jerr;
	const char *missing = NULL, *t;
	size_t len = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = backup_path(path, sizeof(path), src, BACKUP_MANIFEST_NAME)) != VARSKO_OK)
		return r;
	if ((r = file_read(path, MANIFEST_MAX, FILE_NOFOLLOW, &text, &len)) != VARSKO_OK) {
		set_err(err, errcap,
		        r == VARSKO_ERR_NOT_FOUND   ? "no manifest.json"
		        : r == VARSKO_ERR_TOO_LARGE ? "manifest.json is too large"
		        : r == VARSKO_ERR_CONFIG    ? "manifest.json is not a regular file"
		                                    : "cannot read manifest.json");
		return r == VARSKO_ERR_TOO_LARGE || r == VARSKO_ERR_CONFIG ? VARSKO_ERR_BAD_INPUT : r;
	}
	r = VARSKO_ERR_BAD_INPUT;
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL || !json_is_object(o)) {
		set_err(err, errcap, "manifest.json is not a JSON object");
		goto out;
	}
	v = member(o, "format", JSON_STRING, &missing);
	if (v == NULL || strcmp(json_string_value(v), BACKUP_FORMAT) != 0) {
		set_err(err, errcap, "manifest.json is not a Varsko backup manifest (format)");
		goto out;
	}
	if ((v = member(o, "format_version", JSON_INTEGER, &missing)) == NULL) {
		set_err(err, errcap, "manifest.json has no format_version");
		goto out;
	}
	if (json_integer_value(v) != BACKUP_FORMAT_VERSION) {
		set_err(err, errcap, "manifest.json is of another format version than this varskoctl's (1)");
		goto out;
	}
	db = member(o, "database", JSON_OBJECT, &missing);
	audit = member(o, "audit", JSON_OBJECT, &missing);
	if (db == NULL || audit == NULL) {
		set_err(err, errcap, "manifest.json lacks database or audit");
		goto out;
	}
	if ((v = member(db, "file", JSON_STRING, &missing)) == NULL ||
	    strcmp(json_string_value(v), BACKUP_DB_NAME) != 0) {
		set_err(err, errcap, "manifest.json: database.file is not varsko.db");
		goto out;
	}
	if ((v = member(db, "sha256", JSON_STRING, &missing)) == NULL || hex32(v, m->sha256) != VARSKO_OK) {
		set_err(err, errcap, "manifest.json: database.sha256 is not 64 hex digits");
		goto out;
	}
	if ((v = member(audit, "head_hash", JSON_STRING, &missing)) == NULL || hex32(v, m->audit_head) != VARSKO_OK) {
		set_err(err, errcap, "manifest.json: audit.head_hash is not 64 hex digits");
		goto out;
	}
	if ((v = member(o, "created", JSON_STRING, &missing)) == NULL ||
	    proto_time_parse(json_string_value(v), &m->created) != VARSKO_OK) {
		set_err(err, errcap, "manifest.json: created is not a time (YYYY-MM-DDTHH:MM:SSZ)");
		goto out;
	}
	if ((v = member(db, "bytes", JSON_INTEGER, &missing)) != NULL)
		m->bytes = (uint64_t)json_integer_value(v);
	if ((v = member(audit, "entries", JSON_INTEGER, &missing)) != NULL)
		m->audit_entries = (uint64_t)json_integer_value(v);
	if ((v = member(o, "schema_version", JSON_INTEGER, &missing)) != NULL && json_integer_value(v) <= INT32_MAX)
		m->schema_version = (int)json_integer_value(v);
	else if (missing == NULL)
		missing = "schema_version";
	if ((v = member(o, "made_by", JSON_STRING, &missing)) != NULL &&
	    proto_str_copy(m->made_by, sizeof(m->made_by), json_string_value(v)) != VARSKO_OK && missing == NULL)
		missing = "made_by";
	t = json_string_value(json_object_get(o, "source"));
	if (t != NULL && proto_str_copy(m->source, sizeof(m->source), t) != VARSKO_OK)
		m->source[0] = '\0'; /* information only */
	count_of(o, "underretninger", &m->underretninger, &missing);
	count_of(o, "events", &m->events, &missing);
	if (missing != NULL) {
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "manifest.json: %s is missing or not of its type", missing);
		goto out;
	}
	r = VARSKO_OK;
out:
	json_decref(o);
	file_free(text, len, FILE_NOFOLLOW);
	if (r != VARSKO_OK)
		memset(m, 0, sizeof(*m));
	return r;
}

int backup_stage(const char *copy, const struct backup_manifest *m, const char *target, char *tmp, size_t tmpcap)
{
	crypto_hash_sha256_state h;
	uint8_t got[BACKUP_HASH_LEN];
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t total = 0;
	ssize_t k;
	int in = -1, out = -1, r;

	if ((r = suffixed(tmp, tmpcap, target, ".restore-XXXXXX")) != VARSKO_OK)
		return r;
	if ((in = open(copy, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		tmp[0] = '\0';
		return errno == ENOENT ? VARSKO_ERR_NOT_FOUND : VARSKO_ERR_IO;
	}
	r = VARSKO_ERR_IO;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((out = mkostemp(tmp, O_CLOEXEC)) < 0) {
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(out, 0600) != 0)
		goto out;
	if ((buf = malloc(CHUNK)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	crypto_hash_sha256_init(&h);
	while ((k = read_some(in, buf, CHUNK)) > 0) {
		crypto_hash_sha256_update(&h, buf, (unsigned long long)k);
		total += (uint64_t)k;
		if ((r = write_all(out, buf, (size_t)k)) != VARSKO_OK)
			goto out;
	}
	r = VARSKO_ERR_IO;
	if (k < 0)
		goto out;
	crypto_hash_sha256_final(&h, got);
	/* What is put in place is exactly what the manifest describes (and what was checked). */
	if (total != m->bytes || sodium_memcmp(got, m->sha256, BACKUP_HASH_LEN) != 0) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if (fsync(out) != 0)
		goto out;
	r = VARSKO_OK;
out:
	if (buf != NULL) {
		sodium_memzero(buf, CHUNK);
		free(buf);
	}
	if (out >= 0 && close(out) != 0 && r == VARSKO_OK)
		r = VARSKO_ERR_IO;
	close(in);
	if (r != VARSKO_OK && tmp[0] != '\0') {
		unlink(tmp);
		tmp[0] = '\0';
	}
	return r;
}

void backup_unstage(const char *tmp)
{
	if (tmp != NULL && tmp[0] != '\0')
		unlink(tmp);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* rename without replacing anything at `to`. */
static int move_new(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return VARSKO_OK;
	return errno == EEXIST ? VARSKO_ERR_EXISTS : VARSKO_ERR_IO;
}

int backup_swap(const char *tmp, const char *target, int64_t now, char *aside, size_t asidecap)
{
	char from[N_SIDE + 1][BACKUP_PATH_MAX + 16], to[N_SIDE + 1][BACKUP_PATH_MAX + 64];
	char stamp[48];
	struct tm tm;
	time_t t = (time_t)now;
	size_t i, n = 0, moved = 0;
	int r = VARSKO_OK;

	aside[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || strftime(stamp, sizeof(stamp), ".before-restore-%Y%m%dT%H%M%SZ", &tm) == 0)
		return VARSKO_ERR_INTERNAL;
	/* The database first, then its side files: each that exists moves to the same name plus the suffix. */
	for (i = 0; i <= N_SIDE && r == VARSKO_OK; i++) {
		const char *sfx = i == 0 ? "" : side_files[i - 1];

		if ((r = suffixed(from[n], sizeof(from[n]), target, sfx)) != VARSKO_OK)
			break;
		if (!exists(from[n]))
			continue;
		if (snprintf(to[n], sizeof(to[n]), "%s%s%s", target, stamp, sfx) >= (int)sizeof(to[n]))
			r = VARSKO_ERR_TOO_LARGE;
		else
			n++;
	}
	if (r != VARSKO_OK)
		return r;
	for (moved = 0; moved < n; moved++)
		if ((r = move_new(from[moved], to[moved])) != VARSKO_OK)
			goto undo;
	if ((r = move_new(tmp, target)) != VARSKO_OK)
		goto undo;
	if ((r = file_sync_dir(target)) != VARSKO_OK)
		return r; /* in place; only its durability is in doubt */
	if (n > 0 && suffixed(aside, asidecap, target, stamp) != VARSKO_OK)
		aside[0] = '\0';
	return VARSKO_OK;
undo:
	while (moved > 0) {
		moved--;
		(void)move_new(to[moved], from[moved]);
	}
	return r;
}
