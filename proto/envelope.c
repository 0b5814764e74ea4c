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
		if (!valid_id(e->wraps[i].device))
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
	uint8_t info[sizeof(ENV_TAG_WRAP) - 1 + PROTO_ID_MAX];
	size_t tl = sizeof(ENV_TAG_WRAP) - 1, dl = strlen(device);
	int r = VARSKO_ERR_CRYPTO;

	if (dl > PROTO_ID_MAX)
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

		if (!valid_id(rcpt[i].device))
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

/* json string of the base64 of p[0..n); NULL on allocation failure. */
static json_t *b64_json(const uint8_t *p, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *s = malloc(cap);
	json_t *j = NULL;

	if (s == NULL)
		return NULL;
	if (proto_b64_encode(n ? p : (const uint8_t *)"", n, s, cap) == VARSKO_OK)
		j = json_stringn(s, strlen(s));
	free(s);
	return j;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0;
}

int env_to_json(const struct env_envelope *e, char **out, size_t *len)
{
	json_t *o = NULL, *arr = NULL;
	int r = VARSKO_ERR_NOMEM;

	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (!env_well_formed(e))
		return VARSKO_ERR_BAD_INPUT;
	if ((o = json_object()) == NULL || (arr = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < e->n_wraps; i++) {
		json_t *w = json_object();

		if (w == NULL || json_array_append_new(arr, w) != 0)
			goto out;
		if (!set_new(w, "device", json_string(e->wraps[i].device)) ||
		    !set_new(w, "nonce", b64_json(e->wraps[i].nonce, ENV_NONCE_LEN)) ||
		    !set_new(w, "key", b64_json(e->wraps[i].key, ENV_WRAPPED_LEN)))
			goto out;
	}
	if (!set_new(o, "wraps", arr)) {
		arr = NULL;
		goto out;
	}
	arr = NULL;
	if (!set_new(o, "version", json_integer(e->version)) || !set_new(o, "kind", json_string(e->kind)) ||
	    !set_new(o, "object_id", json_string(e->object_id)) || !set_new(o, "sender", json_string(e->sender)) ||
	    !set_new(o, "routing", b64_json(e->routing, e->routing_len)) ||
	    !set_new(o, "epk", b64_json(e->epk, PROTO_PK_LEN)) ||
	    !set_new(o, "nonce", b64_json(e->nonce, ENV_NONCE_LEN)) ||
	    !set_new(o, "ciphertext", b64_json(e->ct, e->ct_len)) ||
	    !set_new(o, "sig", b64_json(e->sig, PROTO_SIG_LEN)))
		goto out;
	r = pf_dump(o, out, len);
out:
	json_decref(arr);
	json_decref(o);
	return r;
}

/* The string value of o[key] with its length, or NULL when absent or not a string. */
static const char *get_str(const json_t *o, const char *key, size_t *n)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

/*
 * Decoded length of a canonical padded base64 string of slen characters, or
 * SIZE_MAX when slen is not a multiple of 4. The decode itself checks the rest.
 */
static size_t b64_len(const char *s, size_t slen)
{
	size_t n;

	if (slen % 4 != 0)
		return SIZE_MAX;
	n = slen / 4 * 3;
	if (slen > 0 && s[slen - 1] == '=')
		n--;
	if (slen > 1 && s[slen - 2] == '=')
		n--;
	return n;
}

/* Decode exactly `want` bytes of o[key] into out. */
static int get_b64_fixed(const json_t *o, const char *key, uint8_t *out, size_t want)
{
	size_t sl;
	const char *s = get_str(o, key, &sl);

	if (s == NULL || b64_len(s, sl) != want || strlen(s) != sl)
		return 0;
	return proto_b64_decode_exact(s, out, want) == VARSKO_OK;
}

/* Decode o[key] of min..max bytes into a new buffer *out (NULL for 0 bytes). */
static int get_b64_var(const json_t *o, const char *key, size_t min, size_t max, uint8_t **out, size_t *n)
{
	size_t sl, bl;
	const char *s = get_str(o, key, &sl);

	*out = NULL;
	*n = 0;
	if (s == NULL || strlen(s) != sl || (bl = b64_len(s, sl)) == SIZE_MAX || bl < min || bl > max)
		return 0;
	if (bl == 0)
		return 1;
	if ((*out = malloc(bl)) == NULL)
		return -1;
	if (proto_b64_decode_exact(s, *out, bl) != VARSKO_OK) {
		free(*out);
		*out = NULL;
		return 0;
	}
	*n = bl;
	return 1;
}

/* 1 when every key of o is in names[0..n) and all of them are present. */
static int exact_keys(const json_t *o, const char *const *names, size_t n)
{
	const char *k;
	json_t *v;

	if (json_object_size(o) != n)
		return 0;
	json_object_foreach((json_t *)o, k, v)
	{
		size_t i;

		for (i = 0; i < n && strcmp(k, names[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

/* Copy o[key], a valid id (valid_kind for is_kind), into out[cap]. */
static int get_id(const json_t *o, const char *key, char *out, size_t cap, int is_kind)
{
	size_t sl;
	const char *s = get_str(o, key, &sl);

	if (s == NULL || sl >= cap || strlen(s) != sl)
		return 0;
	if (is_kind ? !valid_kind(s) : !pf_valid_id(s, sl, 1, PROTO_ID_MAX))
		return 0;
	memcpy(out, s, sl + 1);
	return 1;
}

int env_from_json(const char *buf, size_t len, struct env_envelope **out)
{
	static const char *const top[] = {"ciphertext", "epk",    "kind", "nonce",   "object_id",
	                                  "routing",    "sender", "sig",  "version", "wraps"};
	static const char *const wrap_keys[] = {"device", "key", "nonce"};
	struct env_envelope *e = NULL;
	json_t *o = NULL, *v, *arr;
	int r = VARSKO_ERR_BAD_FRAME, g;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if ((r = pf_load(buf, len, ENV_JSON_MAX, 0, &o, NULL)) != VARSKO_OK)
		return r;
	r = VARSKO_ERR_BAD_FRAME;
	if (!exact_keys(o, top, sizeof(top) / sizeof(top[0])))
		goto out;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != ENV_VERSION)
		goto out;
	e->version = ENV_VERSION;
	if (!get_id(o, "kind", e->kind, sizeof(e->kind), 1) ||
	    !get_id(o, "object_id", e->object_id, sizeof(e->object_id), 0) ||
	    !get_id(o, "sender", e->sender, sizeof(e->sender), 0))
		goto out;
	if (!get_b64_fixed(o, "epk", e->epk, PROTO_PK_LEN) || !get_b64_fixed(o, "nonce", e->nonce, ENV_NONCE_LEN) ||
	    !get_b64_fixed(o, "sig", e->sig, PROTO_SIG_LEN))
		goto out;
	if ((g = get_b64_var(o, "routing", 0, ENV_ROUTING_MAX, &e->routing, &e->routing_len)) != 1 ||
	    (g = get_b64_var(o, "ciphertext", ENV_TAG_LEN + 1, ENV_PAYLOAD_MAX + ENV_TAG_LEN, &e->ct, &e->ct_len)) !=
	            1) {
		if (g < 0)
			r = VARSKO_ERR_NOMEM;
		goto out;
	}
	arr = json_object_get(o, "wraps");
	if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > ENV_RECIPIENTS_MAX)
		goto out;
	e->n_wraps = json_array_size(arr);
	for (size_t i = 0; i < e->n_wraps; i++) {
		json_t *w = json_array_get(arr, i);
		struct env_wrap *ew = &e->wraps[i];

		if (!json_is_object(w) || !exact_keys(w, wrap_keys, 3) ||
		    !get_id(w, "device", ew->device, sizeof(ew->device), 0) ||
		    !get_b64_fixed(w, "nonce", ew->nonce, ENV_NONCE_LEN) ||
		    !get_b64_fixed(w, "key", ew->key, ENV_WRAPPED_LEN))
			goto out;
	}
	if (!env_well_formed(e)) /* also: wraps strictly sorted, so no duplicate device */
		goto out;
	*out = e;
	e = NULL;
	r = VARSKO_OK;
out:
	env_free(e);
	json_decref(o);
	return r;
}
