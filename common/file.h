/*
 * file.h: the one whole-file reader, shared by varskod, varskoctl, libvarsko,
 * the agent and the CLI (common/ is the I/O that proto/ may not do), and the
 * durable writer of a new file (keys, backup manifests).
 *
 * The contents come back NUL-terminated (the NUL is not counted in *len) in
 * memory that the caller frees with file_free(), which wipes it: a file may
 * be a key, a document or a case file. Any thread; blocks on the file system.
 */
#ifndef VARSKO_COMMON_FILE_H
#define VARSKO_COMMON_FILE_H

#include <stddef.h>

#include "varsko/err.h"

/* Do not follow a symbolic link in the last component (opening one is VARSKO_ERR_CONFIG). */
#define FILE_NOFOLLOW 0x1u
/*
 * A private file: FILE_NOFOLLOW, and the file must be owned by the effective
 * user with no permission bits for group or others (else VARSKO_ERR_CONFIG).
 */
#define FILE_PRIVATE 0x2u
/* The contents go to sodium_malloc() memory (guarded, locked); file_free() with the same flags releases it. */
#define FILE_SECRET 0x4u
/* Accept what is not a regular file (a pipe, /dev/stdin): read it to its end. Without it, VARSKO_ERR_CONFIG. */
#define FILE_STREAM 0x8u

/*
 * Reads all of fd (borrowed, not closed) from its current offset: at most
 * max bytes, else VARSKO_ERR_TOO_LARGE; a regular file that changes size
 * while it is read is VARSKO_ERR_IO. On VARSKO_OK *out (owned by the caller,
 * file_free(*out, *len, flags)) and *len are set; otherwise *out is NULL.
 * VARSKO_ERR_CONFIG for a file that is not regular (without FILE_STREAM) or
 * not private (FILE_PRIVATE); VARSKO_ERR_NOMEM; VARSKO_ERR_IO.
 */
int file_read_fd(int fd, size_t max, unsigned flags, char **out, size_t *len) VARSKO_WUR;
/* As file_read_fd() for the file name relative to the directory dirfd (AT_FDCWD: the working directory).
 * A missing file is VARSKO_ERR_NOT_FOUND. */
int file_read_at(int dirfd, const char *name, size_t max, unsigned flags, char **out, size_t *len) VARSKO_WUR;
/* file_read_at(AT_FDCWD, path, ...). */
int file_read(const char *path, size_t max, unsigned flags, char **out, size_t *len) VARSKO_WUR;
/* Wipes and frees what a file_read*() call with these flags returned (len as it returned). NULL-safe. */
void file_free(char *p, size_t len, unsigned flags);

/*
 * Create path (it must not exist: VARSKO_ERR_EXISTS; a symbolic link in the
 * last component is not followed) with exactly `mode` (the umask is undone),
 * write buf[0..len), fsync it, then fsync the directory that holds it, so
 * the file and its name are both durable when this returns VARSKO_OK. On any
 * failure a partly written file is removed and VARSKO_ERR_IO is returned.
 */
int file_write_new(const char *path, const void *buf, size_t len, unsigned mode) VARSKO_WUR;

/* fsync the directory that holds path (a new name or a rename in it becomes durable). VARSKO_ERR_IO. */
int file_sync_dir(const char *path) VARSKO_WUR;

#endif
