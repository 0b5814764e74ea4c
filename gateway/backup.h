/*
 * backup.h: the backup directory of `varskoctl backup` and `varskoctl
 * restore` (docs/OPERATIONS.md "Backup and restore"): making and clearing
 * it, the manifest, the SHA-256 of the database copy, and putting a copy in
 * place of the live database. The checks of the database itself (integrity,
 * schema version, audit log) are the store's and ctl.c's (store.h "backup
 * and restore", `varskoctl audit verify`); ctl.c runs them in between.
 *
 * A backup directory holds exactly two files:
 *   varsko.db      the copy (store_backup()), mode 0600
 *   manifest.json  what the copy is (struct backup_manifest), mode 0600
 * Paths are the caller's (borrowed); error texts name files, never contents.
 * Functions return VARSKO_OK or a negative VARSKO_ERR_*. Not thread-safe
 * in the sense that nobody else may change these files meanwhile.
 */
#ifndef VARSKO_BACKUP_H
#define VARSKO_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define BACKUP_FORMAT         "varsko-backup"
#define BACKUP_FORMAT_VERSION 1
#define BACKUP_DB_NAME        "varsko.db"
#define BACKUP_MANIFEST_NAME  "manifest.json"
#define BACKUP_HASH_LEN       32 /* SHA-256 */
#define BACKUP_PATH_MAX       4096

struct backup_manifest {
	int64_t created;              /* Unix time the copy was made */
	char made_by[64];             /* "varskoctl 0.1.0" */
	char source[BACKUP_PATH_MAX]; /* the live database's path (information only) */
	int schema_version;           /* PRAGMA user_version of the copy */
	uint64_t bytes;               /* size of varsko.db */
	uint8_t sha256[BACKUP_HASH_LEN];
	uint64_t audit_entries;              /* the copy's audit log: entries, */
	uint8_t audit_head[BACKUP_HASH_LEN]; /* and the hash of the last one (zeros when empty) */
	int64_t underretninger;              /* -1: the copy's schema has none (schema 1) */
	int64_t events;                      /* -1: likewise */
};

/* dir + "/" + name into out (cap bytes); VARSKO_ERR_TOO_LARGE when it does not fit. */
int backup_path(char *out, size_t cap, const char *dir, const char *name);

/*
 * Make dest a new directory with mode 0700 (*created = 1), or take an
 * existing empty directory (not a symbolic link) and set its mode to 0700
 * (*created = 0). VARSKO_ERR_EXISTS when dest is something else or not
 * empty (err says which), VARSKO_ERR_NOT_FOUND when its parent does not
 * exist, VARSKO_ERR_IO otherwise.
 */
int backup_dir_prepare(const char *dest, int *created, char *err, size_t errcap);

/*
 * After a failed backup: remove what it may have written in dest (the
 * copy, SQLite's journal of it, the manifest), and dest itself when
 * `created`. Nothing else in dest is touched. NULL-safe.
 */
void backup_dir_clear(const char *dest, int created);

/*
 * The SHA-256 and size of the regular file at path (a symbolic link is
 * refused: VARSKO_ERR_BAD_INPUT). VARSKO_ERR_NOT_FOUND, VARSKO_ERR_IO.
 */
int backup_file_hash(const char *path, uint8_t sha256[BACKUP_HASH_LEN], uint64_t *bytes);

/*
 * Write m as dest/manifest.json (a new file, mode 0600, fsync'ed), then
 * fsync dest and the directory that holds dest, so the whole backup is
 * durable when this returns VARSKO_OK.
 */
int backup_manifest_write(const char *dest, const struct backup_manifest *m);

/*
 * Read src/manifest.json (not a symbolic link, at most 64 KiB) into *m and
 * check its form: format and format version, every member present with its
 * type, hashes of 64 hex digits, the database file named varsko.db.
 * VARSKO_ERR_NOT_FOUND when there is no manifest, VARSKO_ERR_BAD_INPUT when
 * it does not parse or lacks something (err says what; a manifest of a
 * newer format version is one), VARSKO_ERR_IO.
 */
int backup_manifest_read(const char *src, struct backup_manifest *m, char *err, size_t errcap);

/*
 * Copy the backup's database `copy` to a new temporary file next to
 * `target` ("<target>.restore-XXXXXX", mode 0600), checking on the way
 * that what is copied has the size and SHA-256 of the manifest
 * (VARSKO_ERR_BAD_SIGNATURE when not), and fsync it. The temporary file's
 * path goes to tmp (tmpcap bytes); on failure nothing is left.
 */
int backup_stage(const char *copy, const struct backup_manifest *m, const char *target, char *tmp, size_t tmpcap);

/* Remove a staged file (backup_stage) that is not going to be used. */
void backup_unstage(const char *tmp);

/*
 * Put the staged file tmp in place of target: move the database at target,
 * and its -wal, -shm and -journal files when they exist, aside as
 * "<target>.before-restore-<YYYYMMDDTHHMMSSZ of now>" (and the same plus
 * the suffix), then rename tmp to target and fsync the directory. aside
 * gets that name ("" when there was nothing at target). No rename ever
 * replaces a file (VARSKO_ERR_EXISTS when an aside name is taken); on
 * failure whatever was moved is moved back and tmp stays for the caller
 * to remove. The caller makes sure nobody has target open
 * (store_take_offline()).
 */
int backup_swap(const char *tmp, const char *target, int64_t now, char *aside, size_t asidecap);

#endif
