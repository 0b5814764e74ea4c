/*
 * thread.h: the pure encodings of consultation threads (docs/THREADS.md;
 * PROTOCOL.md 13 has the membership chain, chain.h its code, and 17.1 the
 * encodings below). Nothing here is on the wire yet: no frame carries these
 * bytes until varskod and the clients implement threads.
 *
 *   thread id     "T-" + 26 characters of base32 (RFC 4648 alphabet A-Z 2-7,
 *                 no padding): 16 random bytes chosen by the creating client.
 *   message id    "M-" + 26 base32 characters in the same way, chosen by the
 *                 sending client (the idempotency key of a send).
 *   routing       the routing bytes of a thread message envelope:
 *                 enc("varsko-threadmsg-v1", thread id, u64 version, kind),
 *                 version the membership version (the seq of the thread
 *                 chain's last link) the message was sealed against, kind
 *                 "text", "file" or "underretning_ref". They are in the
 *                 envelope's associated data and under its signature.
 *   read mark     signed by the reading device over
 *                 enc("varsko-threadreceipt-v1", thread id, u64 seq,
 *                 message id, envelope hash (32 bytes), kind ("leveret" or
 *                 "laest"), user, device, i64 time).
 *
 * enc() is proto.h's canonical field encoding (4-byte big-endian length,
 * then the bytes). An id is canonical: its 26 characters are exactly what
 * base32 gives for 16 bytes, so the last one carries 3 bits of the bytes and
 * two zero bits (one of A E I M Q U Y 4). Two spellings of one value would
 * be two ids of one thread for a verifier that compares strings.
 *
 * Pure code (no I/O, no clock, no globals), safe in any thread. Pointers are
 * borrowed for the call. Functions return VARSKO_OK or a negative
 * VARSKO_ERR_*.
 *
 * On the wire (PROTOCOL.md 17.2) a read mark travels as a MARK: the fields
 * of struct thread_receipt as JSON plus the device's signature
 * (thread_mark_to_json / thread_mark_from_json below).
 */
#ifndef VARSKO_THREAD_H
#define VARSKO_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto.h"

#define THREAD_TAG_MSG     "varsko-threadmsg-v1"
#define THREAD_TAG_RECEIPT "varsko-threadreceipt-v1"

#define THREAD_ID_LEN     28 /* "T-" + 26 base32 characters */
#define THREAD_MSG_ID_LEN 28 /* "M-" + 26 base32 characters */
#define THREAD_HASH_LEN   32 /* an envelope hash (PROTOCOL.md 12.2) */

/* 1 when s is a thread id (as above, canonical), else 0 (NULL too). */
int thread_id_valid(const char *s);
/* 1 when s is a message id ("M-" + 26 base32 characters, canonical), else 0 (NULL too). */
int thread_message_id_valid(const char *s);
/* 1 when s is an attachment's blob id ("B-" + 26 base32 characters, canonical; blob.h), else 0. */
int thread_blob_id_valid(const char *s);
#define THREAD_BLOB_ID_LEN 28 /* "B-" + 26 base32 characters */

/* The kind of a thread message, in its routing bytes. */
enum thread_msg_kind {
	THREAD_MSG_NONE = 0,
	THREAD_MSG_TEXT,             /* "text" */
	THREAD_MSG_FILE,             /* "file" */
	THREAD_MSG_UNDERRETNING_REF, /* "underretning_ref" */
	THREAD_MSG_COUNT_
};

/* The kind of a read mark. */
enum thread_receipt_kind {
	THREAD_RECEIPT_NONE = 0,
	THREAD_RECEIPT_LEVERET, /* "leveret": a device of the member has the message */
	THREAD_RECEIPT_LAEST,   /* "laest": the member opened it */
	THREAD_RECEIPT_COUNT_
};

/* Wire names ("text", "laest") or NULL for a value outside the enum. */
const char *thread_msg_kind_name(enum thread_msg_kind k);
const char *thread_receipt_kind_name(enum thread_receipt_kind k);

/* The routing bytes of a thread message, decoded. */
struct thread_routing {
	char thread[THREAD_ID_LEN + 1];
	uint64_t version; /* the membership version: 1..INT64_MAX */
	enum thread_msg_kind kind;
};

/*
 * Append the routing bytes of a message of thread `thread` sealed against
 * membership version `version` (1..INT64_MAX) with kind `kind` to b
 * (initialised and freed by the caller). Returns b->err, or
 * VARSKO_ERR_BAD_INPUT (recorded in b) for an invalid thread id, version or
 * kind; nothing is appended then.
 */
int thread_routing_encode(const char *thread, uint64_t version, enum thread_msg_kind kind,
                          struct proto_buf *b) VARSKO_WUR;

/*
 * The inverse of thread_routing_encode() for bytes from the wire (an
 * envelope's routing field, p borrowed): exactly the four fields, the tag,
 * a valid thread id, a version of 8 bytes in 1..INT64_MAX and a known kind,
 * and nothing after them. Returns VARSKO_OK or VARSKO_ERR_BAD_INPUT (*out
 * zeroed).
 */
int thread_routing_decode(const uint8_t *p, size_t len, struct thread_routing *out) VARSKO_WUR;

/* A read mark: what the reading device signs. */
struct thread_receipt {
	char thread[THREAD_ID_LEN + 1];
	uint64_t seq; /* the message's sequence number in the thread: 1..INT64_MAX */
	char message[THREAD_MSG_ID_LEN + 1];
	uint8_t envelope_hash[THREAD_HASH_LEN];
	enum thread_receipt_kind kind;
	char user[PROTO_ID_MAX + 1];   /* the reading member */
	char device[PROTO_ID_MAX + 1]; /* the reading device: proto_device_id() of its signing key */
	int64_t time;                  /* Unix seconds, UTC, 1970..9999; not compared with any clock here */
};

/* 1 when every field of r is valid as the comments above say, else 0 (NULL too). */
int thread_receipt_valid(const struct thread_receipt *r);

/*
 * The read mark's signing input, appended to b (initialised and freed by
 * the caller); returns b->err, or VARSKO_ERR_BAD_INPUT (recorded in b) for
 * a receipt that is not valid.
 */
int thread_receipt_signing_input(const struct thread_receipt *r, struct proto_buf *b) VARSKO_WUR;

/*
 * Sign r with the device's 64-byte Ed25519 secret key sk (libsodium's form,
 * borrowed). VARSKO_ERR_BAD_INPUT for a receipt that is not valid or whose
 * device is not the device id of sk's public half (a signer refuses what a
 * verifier would refuse); sig is zeroed then.
 */
int thread_receipt_sign(const struct thread_receipt *r, const uint8_t sk[64], uint8_t sig[PROTO_SIG_LEN]) VARSKO_WUR;

/*
 * Check sig over r with the device key pk: r is valid, r->device is
 * proto_device_id(pk), and the signature verifies. The caller checks that pk
 * is the key of a certified device of r->user (the device's certificate and
 * the user chain); this function sees neither. Returns VARSKO_OK or
 * VARSKO_ERR_BAD_SIGNATURE for every failure.
 */
int thread_receipt_verify(const struct thread_receipt *r, const uint8_t sig[PROTO_SIG_LEN],
                          const uint8_t pk[PROTO_PK_LEN]) VARSKO_WUR;

/*
 * A read mark as it travels (PROTOCOL.md 17.2, MARK): the signed fields and
 * the reading device's signature.
 */
struct thread_mark {
	struct thread_receipt r;
	uint8_t sig[PROTO_SIG_LEN];
};

/*
 * MARK as JSON: {"device":S,"envelope_hash":B64(32),"kind":"leveret"|"laest",
 * "message":S,"seq":N,"sig":B64(64),"thread":S,"time":TIME,"user":S},
 * compact with sorted keys. to_json: *out a new reference owned by the
 * caller (json_decref), VARSKO_ERR_BAD_INPUT when m->r is not valid
 * (thread_receipt_valid). from_json: strict parse of a borrowed object (no
 * unknown, missing or wrongly typed member, exact base64 lengths) whose
 * fields must also be valid; no signature check (thread_receipt_verify);
 * *out zeroed on failure (VARSKO_ERR_BAD_FRAME).
 */
int thread_mark_to_json(const struct thread_mark *m, json_t **out) VARSKO_WUR;
int thread_mark_from_json(const json_t *j, struct thread_mark *out) VARSKO_WUR;

#endif
