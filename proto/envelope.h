/*
 * envelope.h: the end-to-end envelope of Varsko (PROTOCOL.md, section 11.2).
 * A payload is sealed for 1..ENV_RECIPIENTS_MAX recipient
 * devices and signed by the sender device:
 *
 *   content key  fresh random 32 bytes
 *   payload      XChaCha20-Poly1305 (IETF), random 24-byte nonce, associated
 *                data = env_header_encode() (tag "varsko-envelope-v1",
 *                version, kind, object id, sender device, sorted recipient
 *                device ids, routing header bytes)
 *   wraps        one ephemeral X25519 key pair per envelope; per recipient
 *                wrap key = HKDF-SHA256(ikm = X25519(esk, box_pk),
 *                salt = epk || box_pk, info = "varsko-wrap-v1" || device id),
 *                content key sealed with XChaCha20-Poly1305 under it (random
 *                nonce, no associated data)
 *   signature    Ed25519 by the sender over env_signing_input() (tag
 *                "varsko-envelope-sig-v1", the header encoding, epk, wraps,
 *                nonce, ciphertext)
 *
 * The gateway can read the header (kind, ids, routing bytes) and check the
 * signature but cannot open anything. Pure code, safe in any thread; pointers
 * are borrowed for the call unless a comment says otherwise. Functions return
 * VARSKO_OK or a negative VARSKO_ERR_*.
 */
#ifndef VARSKO_ENVELOPE_H
#define VARSKO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define ENV_VERSION        1
#define ENV_RECIPIENTS_MAX 64
#define ENV_RECIPIENT_ID_MAX 96 /* a recipient id: a device id, or a key id "user:<id>:<generation>" (PROTOCOL.md 11.2) */
#define ENV_KIND_MAX       32         /* "underretning", "message", "event": [a-z0-9_-], 1..32 bytes */
#define ENV_ROUTING_MAX    1024       /* opaque routing header bytes */
#define ENV_PAYLOAD_MAX    (1u << 20) /* plaintext bytes; attachments travel separately */
#define ENV_JSON_MAX       (2u << 20) /* JSON form of an envelope */
#define ENV_KEY_LEN        32
#define ENV_NONCE_LEN      24
#define ENV_TAG_LEN        16
#define ENV_WRAPPED_LEN    (ENV_KEY_LEN + ENV_TAG_LEN)

#define ENV_TAG_HEADER "varsko-envelope-v1"
#define ENV_TAG_SIG    "varsko-envelope-sig-v1"
#define ENV_TAG_WRAP   "varsko-wrap-v1"

/* A recipient as the caller knows it from a verified certificate or roster. */
struct env_recipient {
	const char *device; /* recipient id, 1..ENV_RECIPIENT_ID_MAX visible ASCII: a device id or a key id */
	uint8_t box_pk[PROTO_PK_LEN];
};

struct env_wrap {
	char device[ENV_RECIPIENT_ID_MAX + 1];
	uint8_t nonce[ENV_NONCE_LEN];
	uint8_t key[ENV_WRAPPED_LEN]; /* the sealed content key */
};

/*
 * A sealed envelope. Wraps are sorted by device id (bytewise, strictly
 * ascending); that order is the recipient list of the header. routing and
 * ct are owned by the struct; free the whole with env_free().
 */
struct env_envelope {
	uint32_t version; /* ENV_VERSION */
	char kind[ENV_KIND_MAX + 1];
	char object_id[PROTO_ID_MAX + 1];
	char sender[PROTO_ID_MAX + 1]; /* sender device id */
	uint8_t *routing;
	size_t routing_len; /* 0..ENV_ROUTING_MAX */
	uint8_t epk[PROTO_PK_LEN];
	size_t n_wraps; /* 1..ENV_RECIPIENTS_MAX */
	struct env_wrap wraps[ENV_RECIPIENTS_MAX];
	uint8_t nonce[ENV_NONCE_LEN];
	uint8_t *ct;
	size_t ct_len; /* plaintext length + ENV_TAG_LEN */
	uint8_t sig[PROTO_SIG_LEN];
};

/* What the sender puts in the header. */
struct env_params {
	const char *kind;      /* see ENV_KIND_MAX */
	const char *object_id; /* 1..PROTO_ID_MAX visible ASCII */
	const char *sender;    /* the sender's device id */
	const uint8_t *routing;
	size_t routing_len;
};

/* Frees e and what it owns (wiped first). NULL-safe. */
void env_free(struct env_envelope *e);

/*
 * Seal pt[0..pt_len) (1..ENV_PAYLOAD_MAX bytes; pt may be NULL only when
 * pt_len is 0, which is refused) for rcpt[0..n) (1..ENV_RECIPIENTS_MAX
 * distinct device ids, any order) and sign with sender_sk (libsodium 64-byte
 * Ed25519 secret key). *out is owned by the caller (env_free()). Returns
 * VARSKO_ERR_BAD_INPUT for bad parameters, VARSKO_ERR_TOO_LARGE,
 * VARSKO_ERR_CRYPTO (for instance a recipient key of low order) or
 * VARSKO_ERR_NOMEM; *out is NULL on failure.
 */
int env_seal(const struct env_params *p, const struct env_recipient *rcpt, size_t n, const uint8_t *pt, size_t pt_len,
             const uint8_t sender_sk[64], struct env_envelope **out) VARSKO_WUR;

/*
 * Open e as device `device` with its X25519 secret key box_sk. First checks
 * the structure and the signature against sender_sign_pk (the caller must
 * have checked that key's certificate chain, and that its device id is
 * e->sender); then that e->kind equals expect_kind and e->object_id equals
 * expect_object (either NULL: not checked); then finds the wrap for device,
 * unwraps the content key and decrypts. On VARSKO_OK *pt (owned by the
 * caller, free with env_plaintext_free()) holds *pt_len bytes. Every failure
 * is VARSKO_ERR_CRYPTO, with *pt NULL and *pt_len 0: a wrong signature, a
 * device that is not a recipient and a damaged ciphertext are not told apart.
 */
int env_open(const struct env_envelope *e, const uint8_t sender_sign_pk[PROTO_PK_LEN], const char *device,
             const uint8_t box_sk[32], const char *expect_kind, const char *expect_object, uint8_t **pt, size_t *pt_len)
        VARSKO_WUR;

/* Wipes and frees a plaintext from env_open(). NULL-safe. */
void env_plaintext_free(uint8_t *pt, size_t pt_len);

/*
 * VARSKO_OK when e is well-formed and its signature verifies with
 * sender_sign_pk, else VARSKO_ERR_BAD_SIGNATURE (what the gateway checks).
 */
int env_verify(const struct env_envelope *e, const uint8_t sender_sign_pk[PROTO_PK_LEN])
        VARSKO_WUR;

/*
 * The canonical encodings (proto.h's field encoding), appended to b
 * (initialised and freed by the caller); they return b->err, or
 * VARSKO_ERR_BAD_INPUT for an envelope that is not well-formed.
 *   header: tag, version, kind, object id, sender, recipient count + device
 *           ids, routing bytes. It is the payload's associated data.
 *   signing input: ENV_TAG_SIG, the header encoding as one field, epk, wrap
 *           count + (device, nonce, key) per wrap, nonce, ciphertext.
 */
int env_header_encode(const struct env_envelope *e, struct proto_buf *b) VARSKO_WUR;
int env_signing_input(const struct env_envelope *e, struct proto_buf *b) VARSKO_WUR;

/*
 * JSON form (compact, sorted keys):
 *   {"ciphertext":B64,"epk":B64,"kind":S,"nonce":B64,"object_id":S,
 *    "routing":B64,"sender":S,"sig":B64,"version":1,
 *    "wraps":[{"device":S,"key":B64,"nonce":B64},...]}
 * env_to_json: *out owned by the caller (free()), NUL-terminated, *len
 * without the NUL. env_from_json parses strictly (one object, no duplicate
 * key, no unknown or missing field, exact base64 lengths, wraps strictly
 * sorted by device) and checks no signature; *out owned by the caller
 * (env_free()), NULL on failure. Returns VARSKO_OK, VARSKO_ERR_TOO_LARGE
 * (len > ENV_JSON_MAX), VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY,
 * VARSKO_ERR_BAD_FRAME or VARSKO_ERR_NOMEM.
 */
int env_to_json(const struct env_envelope *e, char **out, size_t *len) VARSKO_WUR;
int env_from_json(const char *buf, size_t len, struct env_envelope **out) VARSKO_WUR;

/*
 * FOR TEST VECTORS ONLY: env_seal() with the randomness given instead of
 * drawn, so an independent implementation can reproduce the bytes. Never use
 * it to send anything: reused randomness breaks the encryption.
 * wrap_nonces[i] is the nonce of the i-th wrap in sorted device order.
 */
struct env_test_random {
	uint8_t content_key[ENV_KEY_LEN];
	uint8_t eph_sk[32];
	uint8_t nonce[ENV_NONCE_LEN];
	uint8_t wrap_nonces[ENV_RECIPIENTS_MAX][ENV_NONCE_LEN];
};
int env_seal_for_test_vectors(const struct env_params *p, const struct env_recipient *rcpt, size_t n, const uint8_t *pt,
                              size_t pt_len, const uint8_t sender_sk[64], const struct env_test_random *rnd,
                              struct env_envelope **out) VARSKO_WUR;

#endif
