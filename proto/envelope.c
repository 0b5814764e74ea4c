/*
 * envelope.c: seal, open, sign, verify and the JSON form of the end-to-end
 * envelope (envelope.h, PROTOCOL.md section 11).
 *
 * Every secret (content key, ephemeral secret key, X25519 shared secrets,
 * wrap keys, plaintext copies) lives in a local or a malloc'd buffer that is
 * wiped on every path before return. Opening fails closed with one error for
 * every cause and never hands back partial plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "envelope.h"
#include "hkdf.h"
#include "proto-internal.h"

void env_free(struct env_envelope *e)
{
	if (e == NULL)
		return;
	if (e->routing != NULL) {
		sodium_memzero(e->routing, e->routing_len);
		free(e->routing);
	}
	if (e->ct != NULL) {
		sodium_memzero(e->ct, e->ct_len);
		free(e->ct);
	}
	sodium_memzero(e, sizeof(*e));
	free(e);
}

void env_plaintext_free(uint8_t *pt, size_t pt_len)
{
	if (pt == NULL)
		return;
	sodium_memzero(pt, pt_len);
	free(pt);
}

/* A kind: 1..ENV_KIND_MAX of [a-z0-9_-]. */
static int valid_kind(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > ENV_KIND_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int valid_id(const char *s)
{
	return s != NULL && pf_valid_id(s, strlen(s), 1, PROTO_ID_MAX);
}

/* A recipient id: a device id or a key id, up to ENV_RECIPIENT_ID_MAX. */
static int valid_recipient(const char *s)
{
	return s != NULL && pf_valid_id(s, strlen(s), 1, ENV_RECIPIENT_ID_MAX);
}

/* 1 when e is well-formed: everything a signature or a decryption relies on. */
static int env_well_formed(const struct env_envelope *e)
{
	if (e == NULL || e->version != ENV_VERSION || !valid_kind(e->kind) || !valid_id(e->object_id) ||
	    !valid_id(e->sender))
		return 0;
	if (e->routing_len > ENV_ROUTING_MAX || (e->routing == NULL && e->routing_len > 0))
		return 0;
	if (e->n_wraps < 1 || e->n_wraps > ENV_RECIPIENTS_MAX)
		return 0;
	for (size_t i = 0; i < e->n_wraps; i++) {
		if (!valid_recipient(e->wraps[i].device))
			return 0;
		if (i > 0 && strcmp(e->wraps[i - 1].device, e->wraps[i].device) >= 0)
			return 0;
	}
	if (e->ct == NULL || e->ct_len <= ENV_TAG_LEN || e->ct_len > ENV_PAYLOAD_MAX + ENV_TAG_LEN)
		return 0;
	return 1;
}

int env_header_encode(const struct env_envelope *e, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!env_well_formed(e))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, ENV_TAG_HEADER);
	proto_buf_put_u64(b, e->version);
	proto_buf_put_str(b, e->kind);
	proto_buf_put_str(b, e->object_id);
	proto_buf_put_str(b, e->sender);
	proto_buf_put_u64(b, e->n_wraps);
	for (size_t i = 0; i < e->n_wraps; i++)
		proto_buf_put_str(b, e->wraps[i].device);
	proto_buf_put_bytes(b, e->routing_len ? e->routing : (const uint8_t *)"", e->routing_len);
	return b->err;
}

int env_signing_input(const struct env_envelope *e, struct proto_buf *b)
{
	struct proto_buf h;

	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&h);
	if (env_header_encode(e, &h) != VARSKO_OK) {
		if (b->err == VARSKO_OK)
			b->err = h.err;
		proto_buf_free(&h);
		return b->err;
	}
	proto_buf_put_str(b, ENV_TAG_SIG);
	proto_buf_put_bytes(b, h.p, h.len);
	proto_buf_put_bytes(b, e->epk, PROTO_PK_LEN);
	proto_buf_put_u64(b, e->n_wraps);
	for (size_t i = 0; i < e->n_wraps; i++) {
		proto_buf_put_str(b, e->wraps[i].device);
		proto_buf_put_bytes(b, e->wraps[i].nonce, ENV_NONCE_LEN);
		proto_buf_put_bytes(b, e->wraps[i].key, ENV_WRAPPED_LEN);
	}
	proto_buf_put_bytes(b, e->nonce, ENV_NONCE_LEN);
	proto_buf_put_bytes(b, e->ct, e->ct_len);
	proto_buf_free(&h);
	return b->err;
}

/*
 * The wrap key of one recipient: HKDF-SHA256(X25519(sk, peer), epk || rpk,
 * "varsko-wrap-v1" || device). The sender passes (esk, box_pk), the recipient
 * (box_sk, epk); both give the same key.
 */
static int wrap_key(uint8_t wk[ENV_KEY_LEN], const uint8_t sk[32], const uint8_t peer[32], const uint8_t epk[32],
                    const uint8_t rpk[32], const char *device)
{
	uint8_t shared[crypto_scalarmult_BYTES], salt[2 * PROTO_PK_LEN];
	uint8_t info[sizeof(ENV_TAG_WRAP) - 1 + ENV_RECIPIENT_ID_MAX];
	size_t tl = sizeof(ENV_TAG_WRAP) - 1, dl = strlen(device);
	int r = VARSKO_ERR_CRYPTO;

	if (dl > ENV_RECIPIENT_ID_MAX)
		goto out;
	/* crypto_scalarmult() fails on an all-zero result (a low-order peer key). */
	if (crypto_scalarmult(shared, sk, peer) != 0)
		goto out;
	memcpy(salt, epk, PROTO_PK_LEN);
	memcpy(salt + PROTO_PK_LEN, rpk, PROTO_PK_LEN);
	memcpy(info, ENV_TAG_WRAP, tl);
	memcpy(info + tl, device, dl);
	if (hkdf_sha256(wk, ENV_KEY_LEN, salt, sizeof(salt), shared, sizeof(shared), info, tl + dl) != VARSKO_OK)
		goto out;
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		sodium_memzero(wk, ENV_KEY_LEN);
	sodium_memzero(shared, sizeof(shared));
	return r;
}

static int seal_impl(const struct env_params *p, const struct env_recipient *rcpt, size_t n, const uint8_t *pt,
                     size_t pt_len, const uint8_t sender_sk[64], const struct env_test_random *rnd,
                     struct env_envelope **out)
{
	struct env_envelope *e = NULL;
	struct proto_buf ad, si;
	size_t order[ENV_RECIPIENTS_MAX];
	uint8_t ck[ENV_KEY_LEN], esk[32], wk[ENV_KEY_LEN];
	unsigned long long clen;
	int r = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&ad);
	proto_buf_init(&si);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(wk, sizeof(wk));
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (p == NULL || rcpt == NULL || sender_sk == NULL || pt == NULL)
		goto out;
	if (!valid_kind(p->kind) || !valid_id(p->object_id) || !valid_id(p->sender) ||
	    (p->routing == NULL && p->routing_len > 0))
		goto out;
	if (n < 1 || n > ENV_RECIPIENTS_MAX || pt_len < 1)
		goto out;
	if (p->routing_len > ENV_ROUTING_MAX || pt_len > ENV_PAYLOAD_MAX) {
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	/* Sort the recipients by device id (insertion sort, n <= 64); equal ids are refused. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (!valid_recipient(rcpt[i].device))
			goto out;
		while (j > 0 && strcmp(rcpt[order[j - 1]].device, rcpt[i].device) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		if (j > 0 && strcmp(rcpt[order[j - 1]].device, rcpt[i].device) == 0)
			goto out;
		order[j] = i;
	}
	if (sodium_init() < 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	r = VARSKO_ERR_NOMEM;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	e->version = ENV_VERSION;
	r = VARSKO_ERR_BAD_INPUT;
	if (proto_str_copy(e->kind, sizeof(e->kind), p->kind) != VARSKO_OK ||
	    proto_str_copy(e->object_id, sizeof(e->object_id), p->object_id) != VARSKO_OK ||
	    proto_str_copy(e->sender, sizeof(e->sender), p->sender) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	if (p->routing_len > 0) {
		if ((e->routing = malloc(p->routing_len)) == NULL)
			goto out;
		memcpy(e->routing, p->routing, p->routing_len);
		e->routing_len = p->routing_len;
	}
	if ((e->ct = malloc(pt_len + ENV_TAG_LEN)) == NULL)
		goto out;
	e->ct_len = pt_len + ENV_TAG_LEN;
	e->n_wraps = n;
	if (rnd != NULL) {
		memcpy(ck, rnd->content_key, sizeof(ck));
		memcpy(esk, rnd->eph_sk, sizeof(esk));
		memcpy(e->nonce, rnd->nonce, ENV_NONCE_LEN);
	} else {
		randombytes_buf(ck, sizeof(ck));
		randombytes_buf(esk, sizeof(esk));
		randombytes_buf(e->nonce, ENV_NONCE_LEN);
	}
	r = VARSKO_ERR_CRYPTO;
	if (crypto_scalarmult_base(e->epk, esk) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct env_recipient *rc = &rcpt[order[i]];
		struct env_wrap *w = &e->wraps[i];

		if (proto_str_copy(w->device, sizeof(w->device), rc->device) != VARSKO_OK) {
			r = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
		if (rnd != NULL)
			memcpy(w->nonce, rnd->wrap_nonces[i], ENV_NONCE_LEN);
		else
			randombytes_buf(w->nonce, ENV_NONCE_LEN);
		if (wrap_key(wk, esk, rc->box_pk, e->epk, rc->box_pk, rc->device) != VARSKO_OK)
			goto out;
		if (crypto_aead_xchacha20poly1305_ietf_encrypt(w->key, &clen, ck, sizeof(ck), NULL, 0, NULL, w->nonce,
		                                               wk) != 0 ||
		    clen != ENV_WRAPPED_LEN)
			goto out;
		sodium_memzero(wk, sizeof(wk));
	}
	/* ct is allocated and its length set, so the header is well-formed from here on. */
	if ((r = env_header_encode(e, &ad)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_CRYPTO;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(e->ct, &clen, pt, pt_len, ad.p, ad.len, NULL, e->nonce, ck) !=
	            0 ||
	    clen != e->ct_len)
		goto out;
	if ((r = env_signing_input(e, &si)) != VARSKO_OK)
		goto out;
	if ((r = proto_sign(e->sig, &si, sender_sk)) != VARSKO_OK)
		goto out;
	*out = e;
	e = NULL;
	r = VARSKO_OK;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(wk, sizeof(wk));
	proto_buf_free(&ad);
	proto_buf_free(&si);
	env_free(e);
	return r;
}

int env_seal(const struct env_params *p, const struct env_recipient *rcpt, size_t n, const uint8_t *pt, size_t pt_len,
             const uint8_t sender_sk[64], struct env_envelope **out)
{
	return seal_impl(p, rcpt, n, pt, pt_len, sender_sk, NULL, out);
}

int env_seal_for_test_vectors(const struct env_params *p, const struct env_recipient *rcpt, size_t n, const uint8_t *pt,
                              size_t pt_len, const uint8_t sender_sk[64], const struct env_test_random *rnd,
                              struct env_envelope **out)
{
	if (rnd == NULL) {
		if (out != NULL)
			*out = NULL;
		return VARSKO_ERR_BAD_INPUT;
	}
	return seal_impl(p, rcpt, n, pt, pt_len, sender_sk, rnd, out);
}

int env_verify(const struct env_envelope *e, const uint8_t sender_sign_pk[PROTO_PK_LEN])
{
	struct proto_buf si;
	int r;

	if (sender_sign_pk == NULL || !env_well_formed(e))
		return VARSKO_ERR_BAD_SIGNATURE;
	proto_buf_init(&si);
	r = env_signing_input(e, &si) == VARSKO_OK ? proto_verify(e->sig, &si, sender_sign_pk)
	                                           : VARSKO_ERR_BAD_SIGNATURE;
	proto_buf_free(&si);
	return r == VARSKO_OK ? VARSKO_OK : VARSKO_ERR_BAD_SIGNATURE;
}

int env_open(const struct env_envelope *e, const uint8_t sender_sign_pk[PROTO_PK_LEN], const char *device,
             const uint8_t box_sk[32], const char *expect_kind, const char *expect_object, uint8_t **pt, size_t *pt_len)
{
	const struct env_wrap *w = NULL;
	struct proto_buf ad;
	uint8_t ck[ENV_KEY_LEN], wk[ENV_KEY_LEN], my_pk[PROTO_PK_LEN];
	uint8_t *m = NULL;
	size_t m_len = 0;
	unsigned long long got;
	int r = VARSKO_ERR_CRYPTO;

	proto_buf_init(&ad);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(wk, sizeof(wk));
	if (pt == NULL || pt_len == NULL)
		return VARSKO_ERR_CRYPTO;
	*pt = NULL;
	*pt_len = 0;
	if (e == NULL || device == NULL || box_sk == NULL)
		goto out;
	if (sodium_init() < 0)
		goto out;
	/* The signature first: nothing of an unauthenticated envelope is processed further. */
	if (env_verify(e, sender_sign_pk) != VARSKO_OK)
		goto out;
	if ((expect_kind != NULL && strcmp(expect_kind, e->kind) != 0) ||
	    (expect_object != NULL && strcmp(expect_object, e->object_id) != 0))
		goto out;
	for (size_t i = 0; i < e->n_wraps; i++)
		if (strcmp(e->wraps[i].device, device) == 0)
			w = &e->wraps[i];
	if (w == NULL)
		goto out;
	if (crypto_scalarmult_base(my_pk, box_sk) != 0)
		goto out;
	if (wrap_key(wk, box_sk, e->epk, e->epk, my_pk, device) != VARSKO_OK)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ck, &got, NULL, w->key, ENV_WRAPPED_LEN, NULL, 0, w->nonce,
	                                               wk) != 0 ||
	    got != ENV_KEY_LEN)
		goto out;
	if (env_header_encode(e, &ad) != VARSKO_OK)
		goto out;
	m_len = e->ct_len - ENV_TAG_LEN;
	if ((m = malloc(m_len)) == NULL)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &got, NULL, e->ct, e->ct_len, ad.p, ad.len, e->nonce, ck) !=
	            0 ||
	    got != m_len)
		goto out;
	*pt = m;
	*pt_len = m_len;
	m = NULL;
	r = VARSKO_OK;
out:
	env_plaintext_free(m, m_len);
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(wk, sizeof(wk));
	proto_buf_free(&ad);
	return r;
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * The JSON form, as tables for the schema engine (schema.c); what a table
 * cannot say (kind's alphabet, wraps in order) env_well_formed() checks.
 */
#define WO(m) offsetof(struct env_wrap, m)
static const struct pf_field wrap_fields[] = {
        {"device", PF_ID, 1, 1, ENV_RECIPIENT_ID_MAX, WO(device), 0, NULL, NULL},
        {"key", PF_B64, 1, 0, ENV_WRAPPED_LEN, WO(key), 0, NULL, NULL},
        {"nonce", PF_B64, 1, 0, ENV_NONCE_LEN, WO(nonce), 0, NULL, NULL},
};
static const struct pf_table wrap_table = {wrap_fields, PF_N(wrap_fields), sizeof(struct env_wrap)};

#define EO(m) offsetof(struct env_envelope, m)
static const struct pf_field env_fields[] = {
        {"ciphertext", PF_BYTES, 1, ENV_TAG_LEN + 1, ENV_PAYLOAD_MAX + ENV_TAG_LEN, EO(ct), EO(ct_len), NULL, NULL},
        {"epk", PF_B64, 1, 0, PROTO_PK_LEN, EO(epk), 0, NULL, NULL},
        {"kind", PF_ID, 1, 1, ENV_KIND_MAX, EO(kind), 0, NULL, NULL},
        {"nonce", PF_B64, 1, 0, ENV_NONCE_LEN, EO(nonce), 0, NULL, NULL},
        {"object_id", PF_ID, 1, 1, PROTO_ID_MAX, EO(object_id), 0, NULL, NULL},
        {"routing", PF_BYTES, 1, 0, ENV_ROUTING_MAX, EO(routing), EO(routing_len), NULL, NULL},
        {"sender", PF_ID, 1, 1, PROTO_ID_MAX, EO(sender), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, EO(sig), 0, NULL, NULL},
        {"version", PF_VERSION1, 1, 0, 0, EO(version), 0, NULL, NULL},
        {"wraps", PF_OBJLIST, 1, 1, ENV_RECIPIENTS_MAX, EO(wraps), EO(n_wraps), &wrap_table, NULL},
};
_Static_assert(ENV_VERSION == PROTO_VERSION, "PF_VERSION1 checks ENV_VERSION");

int env_to_json(const struct env_envelope *e, char **out, size_t *len)
{
	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (!env_well_formed(e))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_text(env_fields, PF_N(env_fields), e, out, len);
}

int env_from_json(const char *buf, size_t len, struct env_envelope **out)
{
	struct env_envelope *e;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return VARSKO_ERR_NOMEM;
	r = pf_decode_text(buf, len, ENV_JSON_MAX, 0, env_fields, PF_N(env_fields), e);
	/* also: wraps strictly sorted, so no duplicate device */
	if (r == VARSKO_OK && !env_well_formed(e))
		r = VARSKO_ERR_BAD_FRAME;
	if (r != VARSKO_OK) {
		env_free(e);
		return r;
	}
	*out = e;
	return VARSKO_OK;
}
