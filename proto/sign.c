/*
 * sign.c: canonical signing inputs, Ed25519 signatures, device ids and
 * fingerprints.
 *
 * The canonical encoding is a plain sequence of fields, each a 4-byte
 * big-endian length and then that many bytes. There is no nesting and no
 * optional field, so two different inputs never encode to the same bytes as
 * long as each signing input has a fixed field list starting with its own
 * domain tag. Every buffer is wiped before it is freed because signing inputs
 * can contain names and enrollment codes.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto.h"

/* Appends one field: 4-byte big-endian n, then p[0..n). Failures are sticky in b->err. */
void proto_buf_put_bytes(struct proto_buf *b, const void *p, size_t n)
{
	if (b->err != VARSKO_OK)
		return;
	if (p == NULL && n > 0) {
		b->err = VARSKO_ERR_BAD_INPUT;
		return;
	}
	if (n > UINT32_MAX) {
		proto_buf_fail(b, VARSKO_ERR_TOO_LARGE);
		return;
	}
	if (proto_buf_reserve(b, 4 + n) != VARSKO_OK)
		return;
	b->p[b->len++] = (uint8_t)(n >> 24);
	b->p[b->len++] = (uint8_t)(n >> 16);
	b->p[b->len++] = (uint8_t)(n >> 8);
	b->p[b->len++] = (uint8_t)n;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Appends the UTF-8 bytes of the NUL-terminated s (without the NUL) as one field; NULL is an error. */
void proto_buf_put_str(struct proto_buf *b, const char *s)
{
	if (s == NULL) {
		if (b->err == VARSKO_OK)
			b->err = VARSKO_ERR_BAD_INPUT;
		return;
	}
	proto_buf_put_bytes(b, s, strlen(s));
}

/* Appends v as one 8-byte big-endian field. */
void proto_buf_put_u64(struct proto_buf *b, uint64_t v)
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	proto_buf_put_bytes(b, be, sizeof(be));
}

/* Appends v as one 8-byte big-endian two's complement field. */
void proto_buf_put_i64(struct proto_buf *b, int64_t v)
{
	proto_buf_put_u64(b, (uint64_t)v);
}

const uint8_t *proto_field_next(const uint8_t *p, size_t len, size_t *pos, size_t *flen)
{
	size_t at = *pos, n;

	if (at > len || len - at < 4)
		return NULL;
	n = (size_t)p[at] << 24 | (size_t)p[at + 1] << 16 | (size_t)p[at + 2] << 8 | p[at + 3];
	at += 4;
	if (len - at < n)
		return NULL;
	*flen = n;
	*pos = at + n;
	return p + at;
}

int proto_field_str(const uint8_t *p, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t n;
	const uint8_t *f = proto_field_next(p, len, pos, &n);

	if (f == NULL || n == 0 || n >= cap || memchr(f, '\0', n) != NULL)
		return VARSKO_ERR_BAD_INPUT;
	memcpy(out, f, n);
	out[n] = '\0';
	return VARSKO_OK;
}

int proto_field_u64(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	size_t n;
	const uint8_t *f = proto_field_next(p, len, pos, &n);

	if (f == NULL || n != 8)
		return VARSKO_ERR_BAD_INPUT;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | f[i];
	return VARSKO_OK;
}

/*
 * The signing inputs below append to b (initialised by the caller, who also
 * frees it) and return b->err, so a failure anywhere, including an earlier
 * one, is reported.
 */

/* Tag, version, serial, user, name, role, team, institutions (count + items), device, sign_pk, box_pk, not_before,
 * not_after. */
int proto_cert_signing_input(const struct proto_cert *c, struct proto_buf *b)
{
	if (c == NULL || b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (c->n_institutions > PROTO_INST_MAX) {
		if (b->err == VARSKO_OK)
			b->err = VARSKO_ERR_BAD_INPUT;
		return b->err;
	}
	proto_buf_put_str(b, PROTO_TAG_CERT);
	proto_buf_put_u64(b, c->version);
	proto_buf_put_u64(b, c->serial);
	proto_buf_put_str(b, c->user);
	proto_buf_put_str(b, c->name);
	proto_buf_put_str(b, c->role);
	proto_buf_put_str(b, c->team);
	proto_buf_put_u64(b, c->n_institutions);
	for (size_t i = 0; i < c->n_institutions; i++)
		proto_buf_put_str(b, c->institutions[i]);
	proto_buf_put_str(b, c->device);
	proto_buf_put_bytes(b, c->sign_pk, PROTO_PK_LEN);
	proto_buf_put_bytes(b, c->box_pk, PROTO_PK_LEN);
	proto_buf_put_i64(b, c->not_before);
	proto_buf_put_i64(b, c->not_after);
	return b->err;
}

/* Tag, nonce, origin, device: the fields login and the enrollment confirmation share. */
static int device_challenge(const char *tag, const uint8_t nonce[PROTO_NONCE_LEN], const char *origin,
                            const char *device, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (nonce == NULL) {
		if (b->err == VARSKO_OK)
			b->err = VARSKO_ERR_BAD_INPUT;
		return b->err;
	}
	proto_buf_put_str(b, tag);
	proto_buf_put_bytes(b, nonce, PROTO_NONCE_LEN);
	proto_buf_put_str(b, origin);
	proto_buf_put_str(b, device);
	return b->err;
}

/* Tag, nonce, origin, device, time. */
int proto_login_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *device,
                              int64_t time, struct proto_buf *b)
{
	if (device_challenge(PROTO_TAG_LOGIN, nonce, origin, device, b) != VARSKO_OK)
		return b != NULL ? b->err : VARSKO_ERR_BAD_INPUT;
	proto_buf_put_i64(b, time);
	return b->err;
}

/* Tag, nonce, origin, code, sign_pk, box_pk, label (NULL counts as ""). */
int proto_enroll_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *code,
                               const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN],
                               const char *label, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (nonce == NULL || sign_pk == NULL || box_pk == NULL) {
		if (b->err == VARSKO_OK)
			b->err = VARSKO_ERR_BAD_INPUT;
		return b->err;
	}
	proto_buf_put_str(b, PROTO_TAG_ENROLL);
	proto_buf_put_bytes(b, nonce, PROTO_NONCE_LEN);
	proto_buf_put_str(b, origin);
	proto_buf_put_str(b, code);
	proto_buf_put_bytes(b, sign_pk, PROTO_PK_LEN);
	proto_buf_put_bytes(b, box_pk, PROTO_PK_LEN);
	proto_buf_put_str(b, label ? label : "");
	return b->err;
}

/* Tag, nonce, origin, device. */
int proto_confirm_signing_input(const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *device,
                                struct proto_buf *b)
{
	return device_challenge(PROTO_TAG_CONFIRM, nonce, origin, device, b);
}

/*
 * Ed25519 signature of input with the libsodium 64-byte secret key sk. A
 * buffer whose err is set is never signed: that returns its error and a
 * zeroed sig. Returns VARSKO_OK or a negative code.
 */
int proto_sign(uint8_t sig[PROTO_SIG_LEN], const struct proto_buf *input, const uint8_t sk[64])
{
	if (sig == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(sig, 0, PROTO_SIG_LEN);
	if (input == NULL || sk == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (input->err != VARSKO_OK)
		return input->err;
	if (sodium_init() < 0)
		return VARSKO_ERR_CRYPTO;
	if (crypto_sign_detached(sig, NULL, input->len ? input->p : (const uint8_t *)"", input->len, sk) != 0) {
		memset(sig, 0, PROTO_SIG_LEN);
		return VARSKO_ERR_CRYPTO;
	}
	return VARSKO_OK;
}

/* VARSKO_OK only when sig is pk's valid signature over a buffer without error; otherwise VARSKO_ERR_BAD_SIGNATURE. */
int proto_verify(const uint8_t sig[PROTO_SIG_LEN], const struct proto_buf *input, const uint8_t pk[PROTO_PK_LEN])
{
	if (input == NULL || pk == NULL || sig == NULL || input->err != VARSKO_OK)
		return VARSKO_ERR_BAD_SIGNATURE;
	if (sodium_init() < 0)
		return VARSKO_ERR_BAD_SIGNATURE;
	if (crypto_sign_verify_detached(sig, input->len ? input->p : (const uint8_t *)"", input->len, pk) != 0)
		return VARSKO_ERR_BAD_SIGNATURE;
	return VARSKO_OK;
}

/*
 * BLAKE2b-256 (unkeyed) over the canonical encoding of [tag, key]. The
 * encoding is built on the stack: it is public data and has a fixed size.
 */
static void tagged_hash(uint8_t h[32], const char *tag, const uint8_t pk[PROTO_PK_LEN])
{
	uint8_t enc[4 + 64 + 4 + PROTO_PK_LEN];
	size_t tl = strlen(tag), n = 0;

	enc[n++] = (uint8_t)(tl >> 24);
	enc[n++] = (uint8_t)(tl >> 16);
	enc[n++] = (uint8_t)(tl >> 8);
	enc[n++] = (uint8_t)tl;
	memcpy(enc + n, tag, tl);
	n += tl;
	enc[n++] = 0;
	enc[n++] = 0;
	enc[n++] = 0;
	enc[n++] = PROTO_PK_LEN;
	memcpy(enc + n, pk, PROTO_PK_LEN);
	n += PROTO_PK_LEN;
	crypto_generichash(h, 32, enc, n, NULL, 0);
}

static void hex_lower(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
}

/* "d-" + 16 lowercase hex digits; out is always NUL-terminated. */
void proto_device_id(const uint8_t sign_pk[PROTO_PK_LEN], char out[PROTO_DEVICE_ID_LEN + 1])
{
	uint8_t h[32];

	tagged_hash(h, PROTO_TAG_DEVICE_ID, sign_pk);
	out[0] = 'd';
	out[1] = '-';
	hex_lower(h, 8, out + 2);
	out[PROTO_DEVICE_ID_LEN] = '\0';
}

/* "hhhh-hhhh-hhhh-hhhh-hhhh-hhhh-hhhh-hhhh" (h: lowercase hex) from the first 16 hash bytes; always NUL-terminated. */
void proto_fingerprint(const uint8_t pk[PROTO_PK_LEN], char out[PROTO_FPR_LEN + 1])
{
	uint8_t h[32];
	size_t o = 0;

	tagged_hash(h, PROTO_TAG_FPR, pk);
	for (size_t g = 0; g < 8; g++) {
		if (g > 0)
			out[o++] = '-';
		hex_lower(h + 2 * g, 2, out + o);
		o += 4;
	}
	out[o] = '\0';
}
