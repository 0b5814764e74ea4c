/*
 * store_blob.h: attachments' ciphertext in the store (PROTOCOL.md 17.8).
 * A blob is bound at its first blob_begin to one thread, or to the
 * uploader's underretning by its submission id, and to the user who uploads it, with its size and the SHA-256 of its ciphertext; its
 * bytes arrive as parts at increasing offsets (blob_chunks) until
 * `received` reaches `size`, when flow_blob.c checks the hash and marks it
 * complete. Texts and bytes in, bytes out: the checks are flow_blob.c's.
 * Nothing here can read an attachment: the key is only in the thread
 * message's envelope.
 *
 * Same rules as store.h: prepared statements, BEGIN IMMEDIATE for every
 * write, VARSKO_OK or a negative VARSKO_ERR_*.
 */
#ifndef VARSKO_STORE_BLOB_H
#define VARSKO_STORE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_blob {
	char id[PROTO_ID_MAX + 1];
	char thread[PROTO_ID_MAX + 1];     /* bound to a thread, or "" */
	char submission[PROTO_ID_MAX + 1]; /* bound to the owner's underretning with this submission id, or "" */
	char owner[PROTO_ID_MAX + 1];      /* the uploading user */
	int64_t size;                 /* ciphertext bytes */
	uint8_t sha256[32];           /* of the ciphertext */
	int64_t received;             /* bytes stored, from offset 0 */
	int complete;                 /* received == size and the hash matched */
	int64_t created_at, updated_at;
};

/* The blob id into *out; VARSKO_ERR_NOT_FOUND when there is none. */
int store_blob_get(struct store *s, const char *id, struct store_blob *out);

/* A new blob row (received 0); VARSKO_ERR_EXISTS when the id is taken. Its own transaction or the caller's. */
int store_blob_create(struct store *s, const struct store_blob *b, int64_t now);

/* How many blobs owner has bound to the submission id (attachments of one underretning). */
int store_blob_count_submission(struct store *s, const char *owner, const char *submission, int64_t *n);

/*
 * Append data[0..len) at offset `offset`, which must be the blob's
 * `received` (VARSKO_ERR_BAD_INPUT otherwise, or past `size`), and raise
 * `received` by len, in one transaction. *received (may be NULL) gets the
 * new value.
 */
int store_blob_append(struct store *s, const char *id, int64_t offset, const uint8_t *data, size_t len, int64_t now,
                      int64_t *received);

/* The SHA-256 of the stored parts in offset order. */
int store_blob_hash(struct store *s, const char *id, uint8_t out[32]);

/* Mark the blob complete, or (ok 0) drop its parts and set received back to 0. */
int store_blob_finish(struct store *s, const char *id, int ok, int64_t now);

/*
 * Drop abandoned uploads, in one transaction: at most max blobs not
 * touched since cutoff that were never completed, or that were bound to a
 * submission id under which no underretning was ever received; audited
 * ("blob_purge", counts and bytes) when any went. *n and *bytes say what.
 */
#define STORE_BLOB_STALE_DAYS 7 /* an upload untouched this long is abandoned */
int store_blob_purge_stale(struct store *s, int64_t cutoff, int64_t now, size_t max, size_t *n, int64_t *bytes);

/*
 * Up to cap bytes of the blob from offset into buf (*n bytes: fewer only
 * at the end). VARSKO_ERR_BAD_INPUT for an offset at or past `received`.
 */
int store_blob_read(struct store *s, const char *id, int64_t offset, uint8_t *buf, size_t cap, size_t *n);

#endif
