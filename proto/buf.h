/*
 * buf.h: the one growable buffer of the tree, and the wiping helpers around it.
 *
 * Everything Varsko builds in memory may hold plaintext, codes or names, so
 * the buffer is bounded (VARSKO_ERR_TOO_LARGE past its maximum), wipes the
 * old block whenever it grows (a new block, a copy, sodium_memzero of the old
 * one, free; never realloc(), which can leave the old bytes behind) and wipes
 * when it is freed. Like OpenSSH's sshbuf, the first failure is sticky in
 * b->err: appends after a failure do nothing, and the caller checks once at
 * the end (proto_buf_take() returns it).
 *
 * Two families of appends share the buffer: proto_buf_add*() and
 * proto_buf_printf() append raw bytes and keep the contents NUL-terminated
 * (text); proto_buf_put_*() (sign.c) append one canonical length-prefixed
 * field of a signing input.
 *
 * A zeroed struct proto_buf ({0}) is a valid empty buffer with the default
 * maximum. Not thread-safe; one owner at a time.
 */
#ifndef VARSKO_PROTO_BUF_H
#define VARSKO_PROTO_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "varsko/err.h"

/* The default maximum: far above any frame or report, and a bound on what a bug could allocate. */
#define PROTO_BUF_MAX (64u * 1024u * 1024u)

struct proto_buf {
	uint8_t *p;      /* NULL until the first append; then p[len] == '\0' after raw appends */
	size_t len, cap; /* bytes used, bytes allocated */
	size_t max;      /* largest len allowed; 0 means PROTO_BUF_MAX */
	int err;         /* sticky: the first failure (VARSKO_ERR_NOMEM, VARSKO_ERR_TOO_LARGE, ...) */
};

/* An empty buffer with the default maximum; needs no allocation and cannot fail. */
void proto_buf_init(struct proto_buf *b);
/* An empty buffer that refuses to grow past max bytes (0: the default). */
void proto_buf_init_max(struct proto_buf *b, size_t max);
/* Wipes and frees the contents and leaves b empty (keeping its maximum, clearing err). NULL-safe. */
void proto_buf_free(struct proto_buf *b);
/* Wipes the contents and sets len to 0, keeping the allocation for reuse (and err). */
void proto_buf_reset(struct proto_buf *b);
/* Records err as b's failure unless one is already recorded; returns b->err (the first failure). */
int proto_buf_fail(struct proto_buf *b, int err);
/* Makes room for n more bytes and a NUL. Returns b->err. */
int proto_buf_reserve(struct proto_buf *b, size_t n);

/* Raw appends; each keeps p NUL-terminated. p may be NULL only when n is 0. */
void proto_buf_add(struct proto_buf *b, const void *p, size_t n);
void proto_buf_add_str(struct proto_buf *b, const char *s); /* NULL is an error */
void proto_buf_printf(struct proto_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void proto_buf_vprintf(struct proto_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * Hands the contents to the caller: on VARSKO_OK *out (NUL-terminated, an
 * empty buffer gives "") is owned by the caller, who frees it with
 * proto_wipe_free(*out, *len + 1), and b is empty. The bytes of the block
 * past the NUL are zeroed first, so wiping len + 1 bytes wipes everything.
 * On failure b->err is returned, b is freed and *out is NULL. len may be NULL.
 */
int proto_buf_take(struct proto_buf *b, char **out, size_t *len) VARSKO_WUR;

/*
 * Makes room for element number n (0-based) in the array *arr of *cap
 * elements of elsize bytes, growing it (doubling, from 16, never past limit
 * elements) by a new block, a copy and a wipe of the old one. The new slots
 * are zeroed. Returns VARSKO_OK, VARSKO_ERR_TOO_LARGE when n >= limit or
 * VARSKO_ERR_NOMEM (*arr and *cap unchanged). Free the array with
 * proto_wipe_free(*arr, *cap * elsize).
 */
int proto_array_grow(void **arr, size_t n, size_t *cap, size_t elsize, size_t limit) VARSKO_WUR;

/* sodium_memzero(p, n) and free(p). NULL-safe. */
void proto_wipe_free(void *p, size_t n);

/*
 * Tests only: when set, called with every block proto_wipe_free() and the
 * buffer functions release, after it was wiped and before it is freed, so a
 * test can see that it holds only zero bytes. Not thread-safe.
 */
extern void (*proto_buf_release_hook)(const void *p, size_t n);

#endif
