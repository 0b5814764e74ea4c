/*
 * proto.h: the Varsko wire protocol and its crypto constructions, version 1.
 *
 * Pure code: no sockets, no files, no clock, no logging. Every decoder takes
 * untrusted bytes and is fuzzed. PROTOCOL.md is the normative description;
 * this header is its C surface. Implemented in codec.c (frames), cert.c
 * (certificates), sign.c (canonical signing inputs, signatures, ids,
 * fingerprints), util.c (base64, time, error names).
 *
 * Unless a comment says otherwise: pointers are borrowed for the duration of
 * the call, functions are safe in any thread and never block, and they return
 * VARSKO_OK or a negative VARSKO_ERR_* code (varsko/err.h).
 */
#ifndef VARSKO_PROTO_H
#define VARSKO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "varsko/err.h"

#define PROTO_VERSION 1
#define PROTO_SUBPROTOCOL "varsko.v1"

#define PROTO_ID_MAX 64       /* user, device, institution, team, request ids (bytes) */
#define PROTO_NAME_MAX 128    /* display names (bytes of UTF-8) */
#define PROTO_ROLE_MAX 16     /* "fagperson", "raadgiver", "myndighed", "leder", "admin", "agent", "gateway" */
#define PROTO_INST_MAX 16     /* institutions in one certificate */
#define PROTO_CODE_MAX 32     /* enrollment code as typed */
#define PROTO_MSG_MAX 256     /* error message text */
#define PROTO_ORIGIN_MAX 256  /* "wss://host:port" */
#define PROTO_FRAME_MAX 65536 /* default frame size cap (bytes) */

#define PROTO_PK_LEN 32  /* Ed25519 or X25519 public key */
#define PROTO_SIG_LEN 64 /* Ed25519 signature */
#define PROTO_NONCE_LEN 32
#define PROTO_DEVICE_ID_LEN 18 /* "d-" + 16 lowercase hex */
#define PROTO_FPR_LEN 39       /* 8 groups of 4 lowercase hex joined by '-' */
#define PROTO_TIME_LEN 20      /* "YYYY-MM-DDTHH:MM:SSZ" */
#define PROTO_LOGIN_SKEW 300   /* seconds a login time may differ from the server clock */

/* ---- certificates ---------------------------------------------------- */

/*
 * A device certificate, signed by the organisation key. The gateway's own
 * certificate and an agent's have the same form with role "gateway" / "agent".
 * Strings are NUL-terminated; unused ones are "" (team for a fagperson,
 * institutions for a myndighed worker).
 */
struct proto_cert {
	uint32_t version; /* PROTO_VERSION */
	uint64_t serial;  /* unique per organisation, > 0 */
	char user[PROTO_ID_MAX + 1];
	char name[PROTO_NAME_MAX + 1];
	char role[PROTO_ROLE_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	size_t n_institutions;
	char institutions[PROTO_INST_MAX][PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1]; /* proto_device_id(sign_pk) */
	uint8_t sign_pk[PROTO_PK_LEN]; /* Ed25519 */
	uint8_t box_pk[PROTO_PK_LEN];  /* X25519 */
	int64_t not_before;            /* Unix seconds, UTC */
	int64_t not_after;
	uint8_t sig[PROTO_SIG_LEN]; /* by the organisation key over proto_cert_signing_input() */
};

/*
 * Fill c->device from c->sign_pk and c->sig by signing with org_sk (libsodium
 * 64-byte Ed25519 secret key, borrowed). Returns VARSKO_ERR_BAD_INPUT, and
 * signs nothing, when c could not be written as JSON (version other than 1,
 * serial 0, a string too long or with control characters, a time outside
 * 1970..9999, more than PROTO_INST_MAX institutions).
 */
int proto_cert_sign(struct proto_cert *c, const uint8_t org_sk[64]) VARSKO_WUR;

/*
 * Check c's signature against org_pk, that c->device matches c->sign_pk, and
 * that not_before <= now <= not_after. Returns VARSKO_OK, VARSKO_ERR_BAD_CERT
 * or VARSKO_ERR_DEVICE_EXPIRED.
 */
int proto_cert_verify(const struct proto_cert *c, const uint8_t org_pk[PROTO_PK_LEN], int64_t now) VARSKO_WUR;

/*
 * Certificate <-> JSON text (the object form of PROTOCOL.md, keys sorted,
 * compact). proto_cert_to_json: *out is owned by the caller (free()); it
 * returns VARSKO_ERR_BAD_INPUT for a certificate that would not parse back.
 * proto_cert_from_json parses strictly (as frames are parsed) and does not
 * verify the signature; it returns VARSKO_OK, VARSKO_ERR_TOO_LARGE,
 * VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY or VARSKO_ERR_BAD_FRAME, and
 * zeroes *out on failure.
 */
int proto_cert_to_json(const struct proto_cert *c, char **out) VARSKO_WUR;
int proto_cert_from_json(const char *buf, size_t len, struct proto_cert *out) VARSKO_WUR;

/* ---- frames -------------------------------------------------------------- */

enum proto_type {
	PROTO_T_NONE = 0,
	PROTO_T_HELLO,    /* S->C on connect: version, nonce, time, org_pk, optional root_pk */
	PROTO_T_ENROLL,   /* C->S: code, origin, sign_pk, box_pk, label, sig */
	PROTO_T_ENROLLED, /* S->C: cert, org_pk, gateway_cert */
	PROTO_T_LOGIN,    /* C->S: device, origin, time, sig */
	PROTO_T_SESSION,  /* S->C: answer to login and whoami: cert */
	PROTO_T_WHOAMI,   /* C->S */
	PROTO_T_PING,     /* C->S */
	PROTO_T_PONG,     /* S->C */
	PROTO_T_ERROR,    /* S->C: code, message */
	PROTO_T_ENROLL_CONFIRM, /* C->S: device, origin, sig (after the client stored its certificate) */
	PROTO_T_CONFIRMED,      /* S->C: cert (the device is active) */
	PROTO_T_COUNT_
};

struct proto_frame {
	enum proto_type type;
	char id[PROTO_ID_MAX + 1]; /* request id, echoed in the answer; "" when absent */
	union {
		struct {
			uint32_t version;
			uint8_t nonce[PROTO_NONCE_LEN];
			int64_t time;
			uint8_t org_pk[PROTO_PK_LEN]; /* checked by an enrolling client before it registers anything */
			uint8_t root_pk[PROTO_PK_LEN]; /* the organisation root key (PROTOCOL.md 16.2), when has_root */
			int has_root; /* 1 when the org chain exists and root_pk is sent, else 0 */
		} hello;
		struct {
			char code[PROTO_CODE_MAX + 1];
			char origin[PROTO_ORIGIN_MAX + 1];
			uint8_t sign_pk[PROTO_PK_LEN];
			uint8_t box_pk[PROTO_PK_LEN];
			char label[PROTO_ID_MAX + 1]; /* optional, "" when absent */
			uint8_t sig[PROTO_SIG_LEN];
		} enroll;
		struct {
			struct proto_cert cert;
			uint8_t org_pk[PROTO_PK_LEN];
			struct proto_cert gateway_cert;
		} enrolled;
		struct {
			char device[PROTO_ID_MAX + 1];
			char origin[PROTO_ORIGIN_MAX + 1];
			int64_t time;
			uint8_t sig[PROTO_SIG_LEN];
		} login;
		struct {
			struct proto_cert cert;
		} session; /* also confirmed */
		struct {
			char device[PROTO_ID_MAX + 1];
			char origin[PROTO_ORIGIN_MAX + 1];
			uint8_t sig[PROTO_SIG_LEN];
		} confirm;
		struct {
			char code[PROTO_ID_MAX + 1]; /* varsko_err_name() of the error */
			char message[PROTO_MSG_MAX + 1];
		} error;
	} u;
};

/* The wire name of a type ("hello"), or NULL. */
const char *proto_type_name(enum proto_type t);

/*
 * Decode one frame from buf[0..len) (borrowed, need not be NUL-terminated).
 * Strict: one JSON object, no duplicate keys, a known "type", every required
 * field present with the right JSON type and length, no unknown field.
 * On failure *out is zeroed except out->id, which holds the request id when
 * one could be read (so the error frame can echo it), and detail (if not NULL)
 * receives a short static English description safe to send back and to log
 * (never input bytes). Returns VARSKO_OK, VARSKO_ERR_BAD_JSON,
 * VARSKO_ERR_DUPLICATE_KEY, VARSKO_ERR_UNKNOWN_TYPE, VARSKO_ERR_BAD_FRAME or
 * VARSKO_ERR_TOO_LARGE (len > PROTO_FRAME_MAX).
 */
int proto_frame_decode(const char *buf, size_t len, struct proto_frame *out, const char **detail) VARSKO_WUR;

/*
 * Encode f as compact JSON with sorted keys (deterministic: the vectors in
 * proto/vectors/ are byte for byte). *out is owned by the caller (free()),
 * NUL-terminated, *len excludes the NUL. A frame that proto_frame_decode()
 * would refuse is not encoded: VARSKO_ERR_BAD_FRAME, *out NULL. Optional
 * strings that are "" (id, label) are left out.
 */
int proto_frame_encode(const struct proto_frame *f, char **out, size_t *len) VARSKO_WUR;

/*
 * Convenience: an error frame for `err` echoing request id `id` (NULL or ""
 * for none). message NULL means varsko_err_text(err); a message longer than
 * PROTO_MSG_MAX is cut at a character boundary, and one with control
 * characters or bad UTF-8 is replaced by varsko_err_text(err).
 */
int proto_error_encode(const char *id, int err, const char *message, char **out, size_t *len) VARSKO_WUR;

/* ---- canonical signing inputs ------------------------------------------ */

/*
 * Every signature is over a canonical binary encoding, never JSON text: a
 * sequence of fields, each a 4-byte big-endian length followed by that many
 * bytes. The first field is always an ASCII domain tag ("varsko-login-v1").
 * Integers are fields of 8 bytes, big-endian, two's complement; strings are
 * their UTF-8 bytes; keys and nonces their raw bytes; a list is a u64 count
 * followed by its items.
 */
/* struct proto_buf and its raw appends: buf.h. These append one canonical field each (sign.c). */
void proto_buf_put_bytes(struct proto_buf *b, const void *p, size_t n);
void proto_buf_put_str(struct proto_buf *b, const char *s);
void proto_buf_put_u64(struct proto_buf *b, uint64_t v);
void proto_buf_put_i64(struct proto_buf *b, int64_t v);
/*
 * The reading side, for bytes from the wire (p borrowed): the field at
 * p[*pos..len). proto_field_next() returns its first byte, sets *flen to its
 * length and moves *pos past it, or returns NULL (*pos unchanged) when its
 * length or its bytes run past len. proto_field_str() copies a field of
 * 1..cap-1 bytes without a NUL into out[cap], NUL-terminated (an embedded
 * NUL would let two encodings decode to one string; what the string must
 * look like is the caller's check); proto_field_u64() reads a field of
 * exactly 8 bytes, big-endian. Both return VARSKO_OK or VARSKO_ERR_BAD_INPUT
 * (*pos may have moved then).
 */
const uint8_t *proto_field_next(const uint8_t *p, size_t len, size_t *pos, size_t *flen);
int proto_field_str(const uint8_t *p, size_t len, size_t *pos, char *out, size_t cap) VARSKO_WUR;
int proto_field_u64(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) VARSKO_WUR;
/*
 * The signing-input builders append their fields to b (initialised by
 * the caller, who also frees it) and return b->err.
 */

#define PROTO_TAG_CERT "varsko-cert-v1"
#define PROTO_TAG_LOGIN "varsko-login-v1"
#define PROTO_TAG_ENROLL "varsko-enroll-v1"
#define PROTO_TAG_CONFIRM "varsko-confirm-v1"
#define PROTO_TAG_FPR "varsko-fingerprint-v1"
#define PROTO_TAG_DEVICE_ID "varsko-device-id-v1"

/* Tag, version, serial, user, name, role, team, institutions (list), device, sign_pk, box_pk, not_before, not_after. */
int proto_cert_signing_input(const struct proto_cert *c, struct proto_buf *b) VARSKO_WUR;
/* Tag, nonce, origin, device, time. */
int proto_login_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *device,
                              int64_t time, struct proto_buf *b) VARSKO_WUR;
/* Tag, nonce, origin, code, sign_pk, box_pk, label. */
int proto_enroll_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *code,
                               const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN],
                               const char *label, struct proto_buf *b) VARSKO_WUR;
/* Tag, nonce, origin, device: the enrolling device stored its certificate (enroll_confirm). */
int proto_confirm_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *device,
                                struct proto_buf *b) VARSKO_WUR;

/*
 * Ed25519 detached sign / verify over a signing input, in libsodium's
 * argument order (output, or the signature, first; the key last). verify
 * returns VARSKO_ERR_BAD_SIGNATURE on any failure.
 */
int proto_sign(uint8_t sig[PROTO_SIG_LEN], const struct proto_buf *input, const uint8_t sk[64]) VARSKO_WUR;
int proto_verify(const uint8_t sig[PROTO_SIG_LEN], const struct proto_buf *input, const uint8_t pk[PROTO_PK_LEN])
	VARSKO_WUR;

/* "d-" + hex of the first 8 bytes of BLAKE2b-256(encode(PROTO_TAG_DEVICE_ID, sign_pk)). */
void proto_device_id(const uint8_t sign_pk[PROTO_PK_LEN], char out[PROTO_DEVICE_ID_LEN + 1]);
/* First 16 bytes of BLAKE2b-256(encode(PROTO_TAG_FPR, pk)) as "hhhh-hhhh-…" (8 groups of lowercase hex). */
void proto_fingerprint(const uint8_t pk[PROTO_PK_LEN], char out[PROTO_FPR_LEN + 1]);

/* ---- small helpers ------------------------------------------------------- */

/*
 * Standard base64 with padding (RFC 4648 section 4). encode writes a
 * NUL-terminated string and returns VARSKO_ERR_TOO_LARGE when outcap is less
 * than 4*ceil(n/3)+1. decode requires exactly `n` bytes out and only the
 * canonical encoding (no whitespace, zero trailing bits); otherwise out is
 * zeroed and VARSKO_ERR_BAD_INPUT returned.
 */
int proto_b64_encode(const uint8_t *p, size_t n, char *out, size_t outcap) VARSKO_WUR;
int proto_b64_decode_exact(const char *s, uint8_t *out, size_t n) VARSKO_WUR;
/*
 * The number of bytes *n a padded base64 text s stands for, from its length
 * and padding alone (then proto_b64_decode_exact() decodes it, or refuses a
 * text that is not canonical). VARSKO_ERR_BAD_INPUT when its length is not a
 * multiple of 4.
 */
int proto_b64_decoded_len(const char *s, size_t *n) VARSKO_WUR;

/*
 * Strict "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds) <-> Unix seconds. Years
 * 1970..9999. parse returns VARSKO_ERR_BAD_TIME for anything else; format
 * clamps t to that range.
 */
int proto_time_parse(const char *s, int64_t *out) VARSKO_WUR;
void proto_time_format(int64_t t, char out[PROTO_TIME_LEN + 1]);

/*
 * The origin a client signs: "wss://" + lowercase host + ":" + port, with the
 * port always written. proto_origin_from_url() derives it from a wss:// URL
 * (path ignored). Returns VARSKO_ERR_BAD_INPUT for anything else.
 */
int proto_origin_from_url(const char *url, char out[PROTO_ORIGIN_MAX + 1]) VARSKO_WUR;

/*
 * The one bounded string copy (code outside the tests has no strcpy): copy src,
 * NUL included, into dst[cap] when it fits. VARSKO_OK, or
 * VARSKO_ERR_TOO_LARGE with dst "" (when cap > 0).
 */
int proto_str_copy(char *dst, size_t cap, const char *src) VARSKO_WUR;

#endif
