/*
 * keybox.c: generations of user and team keys, key box sets, the recovery
 * code and box, and the approval code (keybox.h; PROTOCOL.md section 14).
 *
 * Every seed and derived secret lives either in a struct keybox_gen
 * (sodium_malloc) or in a local buffer that is wiped before the function
 * returns, on every path. The key box set has one well-formedness check that
 * the maker, the signing input, the verifier, the opener and the JSON
 * encoder all go through, so nothing is signed that would not be written as
 * JSON and parsed back. Crypto fails closed: one error (VARSKO_ERR_CRYPTO) for
 * a box that does not open or opens to the wrong seed, and no partial output.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "keybox.h"
#include "proto-internal.h"

_Static_assert(KEYBOX_SEALED_LEN == crypto_box_SEALBYTES + KEYBOX_SEED_LEN, "sealed seed length");
_Static_assert(KEYBOX_PREV_BOX_LEN == crypto_secretbox_MACBYTES + KEYBOX_SEED_LEN, "prev_box length");
_Static_assert(KEYBOX_SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt length");
_Static_assert(KEYBOX_BOX_NONCE_LEN == crypto_secretbox_NONCEBYTES, "secretbox nonce length");
_Static_assert(crypto_box_SEEDBYTES == 32 && crypto_sign_SEEDBYTES == 32 && crypto_kdf_KEYBYTES == 32,
               "32-byte subkeys");
_Static_assert(crypto_pwhash_ALG_DEFAULT == crypto_pwhash_ALG_ARGON2ID13, "crypto_pwhash limits are Argon2id's");

/* The subkey ids of crypto_kdf_derive_from_key (PROTOCOL.md 14.1). */
enum { SUBKEY_SIGN = 1, SUBKEY_BOX = 2, SUBKEY_PREV = 3 };

/* ---- generations ----------------------------------------------------------- */

int keybox_gen_derive(struct keybox_gen **out, enum keybox_kind kind, uint64_t generation,
                      const uint8_t seed[KEYBOX_SEED_LEN])
{
	struct keybox_gen *g;
	const char *ctx;
	uint8_t sub[32];

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (seed == NULL || generation < 1 || generation > KEYBOX_GEN_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if (kind == KEYBOX_USER)
		ctx = KEYBOX_CTX_USER;
	else if (kind == KEYBOX_TEAM)
		ctx = KEYBOX_CTX_TEAM;
	else
		return VARSKO_ERR_BAD_INPUT;
	if ((g = sodium_malloc(sizeof(*g))) == NULL)
		return VARSKO_ERR_NOMEM;
	sodium_memzero(g, sizeof(*g));
	g->kind = kind;
	g->generation = generation;
	memcpy(g->seed, seed, KEYBOX_SEED_LEN);
	if (kind == KEYBOX_USER) {
		crypto_kdf_derive_from_key(sub, sizeof(sub), SUBKEY_SIGN, ctx, seed);
		crypto_sign_seed_keypair(g->sign_pk, g->sign_sk, sub);
	}
	crypto_kdf_derive_from_key(sub, sizeof(sub), SUBKEY_BOX, ctx, seed);
	crypto_box_seed_keypair(g->box_pk, g->box_sk, sub);
	crypto_kdf_derive_from_key(g->prev_key, sizeof(g->prev_key), SUBKEY_PREV, ctx, seed);
	sodium_memzero(sub, sizeof(sub));
	*out = g;
	return VARSKO_OK;
}

int keybox_gen_new(struct keybox_gen **out, enum keybox_kind kind, uint64_t generation)
{
	uint8_t seed[KEYBOX_SEED_LEN];
	int r;

	randombytes_buf(seed, sizeof(seed));
	r = keybox_gen_derive(out, kind, generation, seed);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

void keybox_gen_free(struct keybox_gen *g)
{
	sodium_free(g); /* NULL-safe; wipes */
}

/* ---- key ids --------------------------------------------------------------- */

/* The length of the string in char[cap] at s, or SIZE_MAX when it is not terminated inside it. */
static size_t bounded_len(const char *s, size_t cap)
{
	const char *z;

	if (s == NULL || (z = memchr(s, '\0', cap)) == NULL)
		return SIZE_MAX;
	return (size_t)(z - s);
}

/* A generation in a key id: decimal, no leading zero, 1..KEYBOX_GEN_MAX. */
static int generation_ok(const char *s, size_t len)
{
	uint64_t v = 0;

	if (len < 1 || len > 19 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v <= KEYBOX_GEN_MAX;
}

/* The kind of the prefix "team:" or "user:" of s[0..len), or KEYBOX_NONE. */
static enum keybox_kind prefix_kind(const char *s, size_t len)
{
	if (len >= 5 && memcmp(s, "team:", 5) == 0)
		return KEYBOX_TEAM;
	if (len >= 5 && memcmp(s, "user:", 5) == 0)
		return KEYBOX_USER;
	return KEYBOX_NONE;
}

enum keybox_kind keybox_owner_kind(const char *owner)
{
	size_t len = bounded_len(owner, KEYBOX_OWNER_MAX + 1);
	enum keybox_kind k;

	if (len == SIZE_MAX || (k = prefix_kind(owner, len)) == KEYBOX_NONE)
		return KEYBOX_NONE;
	return pf_valid_id(owner + 5, len - 5, 1, PROTO_ID_MAX) ? k : KEYBOX_NONE;
}

int keybox_keyid_valid(const char *id)
{
	size_t len = bounded_len(id, KEYBOX_KEYID_MAX + 1);
	const char *colon;

	if (len == SIZE_MAX)
		return 0;
	if (len >= 7 && memcmp(id, "device:", 7) == 0)
		return pf_valid_id(id + 7, len - 7, 1, PROTO_ID_MAX);
	if (prefix_kind(id, len) == KEYBOX_NONE)
		return 0;
	/* The generation follows the last ':' (an id may itself hold ':'). */
	for (colon = id + len - 1; colon > id + 4 && *colon != ':'; colon--)
		;
	if (colon <= id + 4)
		return 0;
	return pf_valid_id(id + 5, (size_t)(colon - (id + 5)), 1, PROTO_ID_MAX) &&
	       generation_ok(colon + 1, (size_t)(id + len - (colon + 1)));
}

int keybox_key_id_split(const char *id, char owner[KEYBOX_OWNER_MAX + 1], uint64_t *generation)
{
	const char *colon;
	char *end;
	size_t len;

	owner[0] = '\0';
	*generation = 0;
	if (!keybox_keyid_valid(id) || strncmp(id, "device:", 7) == 0)
		return VARSKO_ERR_BAD_INPUT;
	len = strlen(id);
	for (colon = id + len - 1; *colon != ':'; colon--)
		;
	if ((size_t)(colon - id) > KEYBOX_OWNER_MAX)
		return VARSKO_ERR_BAD_INPUT;
	memcpy(owner, id, (size_t)(colon - id));
	owner[colon - id] = '\0';
	*generation = strtoull(colon + 1, &end, 10); /* checked by keybox_keyid_valid */
	return VARSKO_OK;
}

int keybox_key_id(char out[KEYBOX_KEYID_MAX + 1], const char *owner, uint64_t generation)
{
	int n;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	out[0] = '\0';
	if (keybox_owner_kind(owner) == KEYBOX_NONE || generation < 1 || generation > KEYBOX_GEN_MAX)
		return VARSKO_ERR_BAD_INPUT;
	n = snprintf(out, KEYBOX_KEYID_MAX + 1, "%s:%llu", owner, (unsigned long long)generation);
	if (n < 0 || n > KEYBOX_KEYID_MAX) {
		out[0] = '\0';
		return VARSKO_ERR_BAD_INPUT;
	}
	return VARSKO_OK;
}

int keybox_user_owner(char out[KEYBOX_OWNER_MAX + 1], const char *user)
{
	int n;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	out[0] = '\0';
	if (user == NULL || !pf_valid_id(user, strlen(user), 1, PROTO_ID_MAX))
		return VARSKO_ERR_BAD_INPUT;
	n = snprintf(out, KEYBOX_OWNER_MAX + 1, "user:%s", user);
	return n > 0 && n <= KEYBOX_OWNER_MAX ? VARSKO_OK : VARSKO_ERR_BAD_INPUT;
}

int keybox_user_key_id(char out[KEYBOX_KEYID_MAX + 1], const char *user, uint64_t generation)
{
	char owner[KEYBOX_OWNER_MAX + 1];
	int r;

	if (out != NULL)
		out[0] = '\0';
	if ((r = keybox_user_owner(owner, user)) != VARSKO_OK)
		return r;
	return keybox_key_id(out, owner, generation);
}

/* ---- key box set ------------------------------------------------------------ */

#define SO(m) offsetof(struct keybox_set, m)
static const struct pf_field set_fields[] = {
        {"generation", PF_U64, 1, 1, 0, SO(generation), 0, NULL, NULL},
        {"owner", PF_ID, 1, 6, KEYBOX_OWNER_MAX, SO(owner), 0, NULL, NULL},
        {"prev_box", PF_B64, 0, 0, KEYBOX_PREV_BOX_LEN, SO(prev_box), SO(has_prev), NULL, NULL},
        {"pub", PF_B64, 1, 0, PROTO_PK_LEN, SO(pub), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, SO(sig), 0, NULL, NULL},
        {"signer", PF_B64, 1, 0, PROTO_PK_LEN, SO(signer), 0, NULL, NULL},
};

/*
 * One item of "boxes" as the schema engine sees it: the engine's fixed-size
 * base64 kind holds at most 64 bytes, so the 80-byte sealed seed goes
 * through its byte-string kind and is copied into struct keybox_box.
 */
struct wire_box {
	char recipient[KEYBOX_KEYID_MAX + 1];
	uint8_t *sealed;
	size_t sealed_len;
};

#define WO(m) offsetof(struct wire_box, m)
static const struct pf_field box_fields[] = {
        {"recipient", PF_ID, 1, 1, KEYBOX_KEYID_MAX, WO(recipient), 0, NULL, NULL},
        {"sealed", PF_BYTES, 1, KEYBOX_SEALED_LEN, KEYBOX_SEALED_LEN, WO(sealed), WO(sealed_len), NULL, NULL},
};

/* What every set meets before it is signed, verified, opened or encoded, and after it is decoded. */
static int set_well_formed(const struct keybox_set *s)
{
	if (s == NULL || keybox_owner_kind(s->owner) == KEYBOX_NONE)
		return 0;
	if (s->generation < 1 || s->generation > KEYBOX_GEN_MAX || s->has_prev != (s->generation > 1))
		return 0;
	if (s->n < 1 || s->n > KEYBOX_RECIPIENTS_MAX)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!keybox_keyid_valid(s->boxes[i].recipient))
			return 0;
		if (i > 0 && strcmp(s->boxes[i - 1].recipient, s->boxes[i].recipient) >= 0)
			return 0;
	}
	return 1;
}

int keybox_prev_nonce(uint8_t out[24], const char *owner, uint64_t generation)
{
	struct proto_buf b;
	uint8_t h[crypto_hash_sha256_BYTES];
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, 24);
	if (keybox_owner_kind(owner) == KEYBOX_NONE || generation < 1 || generation > KEYBOX_GEN_MAX)
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&b);
	proto_buf_put_str(&b, KEYBOX_TAG_PREV);
	proto_buf_put_str(&b, owner);
	proto_buf_put_u64(&b, generation);
	if ((r = b.err) == VARSKO_OK) {
		crypto_hash_sha256(h, b.p, b.len);
		memcpy(out, h, 24);
	}
	proto_buf_free(&b);
	return r;
}

int keybox_set_signing_input(const struct keybox_set *s, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!set_well_formed(s))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, KEYBOX_TAG_SET);
	proto_buf_put_str(b, s->owner);
	proto_buf_put_u64(b, s->generation);
	proto_buf_put_bytes(b, s->pub, PROTO_PK_LEN);
	proto_buf_put_bytes(b, s->prev_box, s->has_prev ? KEYBOX_PREV_BOX_LEN : 0);
	proto_buf_put_u64(b, s->n);
	for (size_t i = 0; i < s->n; i++) {
		proto_buf_put_str(b, s->boxes[i].recipient);
		proto_buf_put_bytes(b, s->boxes[i].sealed, KEYBOX_SEALED_LEN);
	}
	return b->err;
}

/*
 * crypto_box_seal of a seed. With the caller's ephemeral secret key it is
 * the same construction done by hand (epk || crypto_box(seed, nonce =
 * BLAKE2b-192(epk || pk), pk, esk)), so crypto_box_seal_open opens both.
 */
static int seal_seed(uint8_t out[KEYBOX_SEALED_LEN], const uint8_t seed[KEYBOX_SEED_LEN],
                     const uint8_t pk[PROTO_PK_LEN], const uint8_t *esk)
{
	crypto_generichash_state st;
	uint8_t nonce[crypto_box_NONCEBYTES];
	int r = VARSKO_ERR_CRYPTO;

	if (esk == NULL)
		return crypto_box_seal(out, seed, KEYBOX_SEED_LEN, pk) == 0 ? VARSKO_OK : VARSKO_ERR_CRYPTO;
	if (crypto_scalarmult_base(out, esk) != 0)
		goto out;
	if (crypto_generichash_init(&st, NULL, 0, sizeof(nonce)) != 0 ||
	    crypto_generichash_update(&st, out, crypto_box_PUBLICKEYBYTES) != 0 ||
	    crypto_generichash_update(&st, pk, PROTO_PK_LEN) != 0 ||
	    crypto_generichash_final(&st, nonce, sizeof(nonce)) != 0)
		goto out;
	if (crypto_box_easy(out + crypto_box_PUBLICKEYBYTES, seed, KEYBOX_SEED_LEN, nonce, pk, esk) != 0)
		goto out;
	r = VARSKO_OK;
out:
	sodium_memzero(&st, sizeof(st));
	if (r != VARSKO_OK)
		sodium_memzero(out, KEYBOX_SEALED_LEN);
	return r;
}

static void sort_boxes(struct keybox_set *s)
{
	struct keybox_box tmp;

	for (size_t i = 1; i < s->n; i++) {
		size_t k = i;

		memcpy(&tmp, &s->boxes[i], sizeof(tmp));
		while (k > 0 && strcmp(s->boxes[k - 1].recipient, tmp.recipient) > 0) {
			memcpy(&s->boxes[k], &s->boxes[k - 1], sizeof(tmp));
			k--;
		}
		memcpy(&s->boxes[k], &tmp, sizeof(tmp));
	}
}

int keybox_set_make(struct keybox_set *out, const char *owner, const struct keybox_gen *g,
                    const struct keybox_gen *prev, const struct keybox_recipient *rcpts, size_t n,
                    const uint8_t signer_sk[64], const uint8_t *eph_sks)
{
	struct proto_buf b;
	uint8_t nonce[crypto_secretbox_NONCEBYTES];
	enum keybox_kind kind;
	int r = VARSKO_ERR_BAD_INPUT;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	proto_buf_init(&b);
	if (g == NULL || signer_sk == NULL || (rcpts == NULL && n > 0))
		goto out;
	if ((kind = keybox_owner_kind(owner)) == KEYBOX_NONE || g->kind != kind || g->generation < 1 ||
	    g->generation > KEYBOX_GEN_MAX)
		goto out;
	if (g->generation == 1 ? prev != NULL
	                       : (prev == NULL || prev->kind != kind || prev->generation != g->generation - 1))
		goto out;
	if (n == 0)
		goto out;
	if (n > KEYBOX_RECIPIENTS_MAX) {
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	if (proto_str_copy(out->owner, sizeof(out->owner), owner) != VARSKO_OK)
		goto out;
	out->generation = g->generation;
	memcpy(out->pub, g->box_pk, PROTO_PK_LEN);
	if (prev != NULL) {
		if ((r = keybox_prev_nonce(nonce, owner, g->generation)) != VARSKO_OK)
			goto out;
		crypto_secretbox_easy(out->prev_box, prev->seed, KEYBOX_SEED_LEN, nonce, g->prev_key);
		out->has_prev = 1;
	}
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		r = VARSKO_ERR_BAD_INPUT;
		if (!keybox_keyid_valid(rcpts[i].id) ||
		    proto_str_copy(out->boxes[i].recipient, sizeof(out->boxes[i].recipient), rcpts[i].id) != VARSKO_OK)
			goto out;
		if ((r = seal_seed(out->boxes[i].sealed, g->seed, rcpts[i].box_pk,
		                   eph_sks != NULL ? eph_sks + 32 * i : NULL)) != VARSKO_OK)
			goto out;
	}
	sort_boxes(out);
	crypto_sign_ed25519_sk_to_pk(out->signer, signer_sk);
	r = VARSKO_ERR_BAD_INPUT;
	if (!set_well_formed(out)) /* a key id twice */
		goto out;
	if ((r = keybox_set_signing_input(out, &b)) != VARSKO_OK)
		goto out;
	r = proto_sign(out->sig, &b, signer_sk);
out:
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	proto_buf_free(&b);
	return r;
}

int keybox_set_verify(const struct keybox_set *s, const uint8_t signer_pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	int r = VARSKO_ERR_BAD_SIGNATURE;

	proto_buf_init(&b);
	if (!set_well_formed(s))
		goto out;
	if (signer_pk != NULL && sodium_memcmp(signer_pk, s->signer, PROTO_PK_LEN) != 0)
		goto out;
	if (keybox_set_signing_input(s, &b) != VARSKO_OK || proto_verify(s->sig, &b, s->signer) != VARSKO_OK)
		goto out;
	r = VARSKO_OK;
out:
	proto_buf_free(&b);
	return r;
}

int keybox_set_check_newer(const struct keybox_set *s, uint64_t known)
{
	if (s == NULL)
		return VARSKO_ERR_BAD_INPUT;
	return s->generation > known ? VARSKO_OK : VARSKO_ERR_STALE_KEY;
}

int keybox_set_open(const struct keybox_set *s, const char *recipient, const uint8_t box_pk[PROTO_PK_LEN],
                    const uint8_t box_sk[32], struct keybox_gen **out)
{
	const struct keybox_box *box = NULL;
	struct keybox_gen *g = NULL;
	uint8_t seed[KEYBOX_SEED_LEN];
	int r = VARSKO_ERR_BAD_INPUT;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!set_well_formed(s) || recipient == NULL || box_pk == NULL || box_sk == NULL)
		goto out;
	for (size_t i = 0; i < s->n && box == NULL; i++)
		if (strcmp(s->boxes[i].recipient, recipient) == 0)
			box = &s->boxes[i];
	r = VARSKO_ERR_NOT_FOUND;
	if (box == NULL)
		goto out;
	r = VARSKO_ERR_CRYPTO;
	if (crypto_box_seal_open(seed, box->sealed, KEYBOX_SEALED_LEN, box_pk, box_sk) != 0)
		goto out;
	if ((r = keybox_gen_derive(&g, keybox_owner_kind(s->owner), s->generation, seed)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_CRYPTO;
	if (sodium_memcmp(g->box_pk, s->pub, PROTO_PK_LEN) != 0)
		goto out;
	*out = g;
	g = NULL;
	r = VARSKO_OK;
out:
	keybox_gen_free(g);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int keybox_walk_back(const struct keybox_gen *top, const struct keybox_set *const *sets, size_t n,
                     struct keybox_gen **out)
{
	const struct keybox_gen *cur = top;
	uint8_t seed[KEYBOX_SEED_LEN], nonce[crypto_secretbox_NONCEBYTES];
	int r = VARSKO_ERR_BAD_INPUT;

	if (top == NULL || sets == NULL || out == NULL || n < 1 || n != top->generation)
		return VARSKO_ERR_BAD_INPUT;
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = NULL;
	for (size_t i = 0; i < n; i++)
		if (!set_well_formed(sets[i]) || sets[i]->generation != i + 1 ||
		    strcmp(sets[i]->owner, sets[0]->owner) != 0 || keybox_owner_kind(sets[i]->owner) != top->kind)
			goto out;
	if (sodium_memcmp(sets[n - 1]->pub, top->box_pk, PROTO_PK_LEN) != 0)
		goto out;
	for (size_t k = n; k >= 2; k--) {
		const struct keybox_set *s = sets[k - 1];

		if ((r = keybox_prev_nonce(nonce, s->owner, k)) != VARSKO_OK)
			goto out;
		r = VARSKO_ERR_CRYPTO;
		if (crypto_secretbox_open_easy(seed, s->prev_box, KEYBOX_PREV_BOX_LEN, nonce, cur->prev_key) != 0)
			goto out;
		if ((r = keybox_gen_derive(&out[k - 2], top->kind, k - 1, seed)) != VARSKO_OK)
			goto out;
		r = VARSKO_ERR_CRYPTO;
		if (sodium_memcmp(out[k - 2]->box_pk, sets[k - 2]->pub, PROTO_PK_LEN) != 0)
			goto out;
		cur = out[k - 2];
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		for (size_t i = 0; i + 1 < n; i++) {
			keybox_gen_free(out[i]);
			out[i] = NULL;
		}
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int keybox_set_to_json(const struct keybox_set *s, char **out, size_t *len)
{
	json_t *o = NULL, *arr = NULL, *e;
	struct wire_box w;
	int r = VARSKO_ERR_BAD_INPUT;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (!set_well_formed(s))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = pf_encode_object(set_fields, PF_N(set_fields), s, &o)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	if ((arr = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		memcpy(w.recipient, s->boxes[i].recipient, sizeof(w.recipient));
		w.sealed = (uint8_t *)s->boxes[i].sealed; /* only read by the encoder */
		w.sealed_len = KEYBOX_SEALED_LEN;
		if ((r = pf_encode_object(box_fields, PF_N(box_fields), &w, &e)) != VARSKO_OK)
			goto out;
		if (json_array_append_new(arr, e) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if (json_object_set_new(o, "boxes", arr) != 0) {
		arr = NULL; /* json_object_set_new consumed it */
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	arr = NULL;
	r = pf_dump(o, out, len);
out:
	json_decref(arr);
	json_decref(o);
	return r;
}

int keybox_set_from_json(const char *buf, size_t len, struct keybox_set *out)
{
	static const char *const extra[] = {"boxes", NULL};
	const char *detail;
	const json_t *arr;
	json_t *o = NULL;
	struct wire_box w;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if ((r = pf_load(buf, len, KEYBOX_JSON_MAX, JSON_ALLOW_NUL, &o, &detail)) != VARSKO_OK)
		goto out;
	if ((r = pf_decode(o, set_fields, PF_N(set_fields), extra, out, &detail)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_FRAME;
	arr = json_object_get(o, "boxes");
	if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > KEYBOX_RECIPIENTS_MAX)
		goto out;
	out->n = json_array_size(arr);
	for (size_t i = 0; i < out->n; i++) {
		memset(&w, 0, sizeof(w));
		r = pf_decode(json_array_get(arr, i), box_fields, PF_N(box_fields), NULL, &w, &detail);
		if (r == VARSKO_OK && w.sealed_len == KEYBOX_SEALED_LEN && w.sealed != NULL) {
			memcpy(out->boxes[i].recipient, w.recipient, sizeof(w.recipient));
			memcpy(out->boxes[i].sealed, w.sealed, KEYBOX_SEALED_LEN);
		} else if (r == VARSKO_OK) {
			r = VARSKO_ERR_BAD_FRAME;
		}
		free(w.sealed);
		if (r != VARSKO_OK)
			goto out;
	}
	r = set_well_formed(out) ? VARSKO_OK : VARSKO_ERR_BAD_FRAME;
out:
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	json_decref(o);
	return r;
}

/* ---- recovery code -------------------------------------------------------------- */

/*
 * Base32 digits without table lookups indexed by secret values: a mask
 * that is all ones when lo <= c <= hi (c, lo, hi in 0..255), else zero.
 * Relies on >> of a negative int being arithmetic, as on every compiler
 * the tree builds with (gcc, clang).
 */
static int in_range(int c, int lo, int hi)
{
	return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

static char b32_char(unsigned v)
{
	int x = (int)v;

	/* 0..25 -> 'A'..'Z', 26..31 -> '2'..'7' */
	return (char)('A' + x + (in_range(x, 26, 31) & ('2' - 'A' - 26)));
}

/* 0..31, or -1 for a character that is not a base32 digit of either case. */
static int b32_value(unsigned char ch)
{
	int c = ch, up = in_range(c, 'A', 'Z'), lo = in_range(c, 'a', 'z'), dig = in_range(c, '2', '7');

	return (up & (c - 'A')) | (lo & (c - 'a')) | (dig & (c - '2' + 26)) | ~(up | lo | dig);
}

void keybox_code_new(uint8_t code[KEYBOX_CODE_LEN])
{
	randombytes_buf(code, KEYBOX_CODE_LEN);
}

void keybox_code_format(const uint8_t code[KEYBOX_CODE_LEN], char out[KEYBOX_CODE_TEXT_LEN + 1])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t k = 0, chars = 0;

	for (size_t i = 0; i < KEYBOX_CODE_LEN; i++) {
		acc = (acc << 8) | code[i];
		bits += 8;
		while (bits >= 5) {
			if (chars > 0 && chars % 5 == 0)
				out[k++] = '-';
			out[k++] = b32_char((acc >> (bits - 5)) & 31);
			chars++;
			bits -= 5;
			acc &= (1u << bits) - 1;
		}
	}
	/* 128 = 25 * 5 + 3: the last digit holds 3 bits and 2 zero bits. */
	out[k++] = '-';
	out[k++] = b32_char((acc << (5 - bits)) & 31);
	out[k] = '\0';
	sodium_memzero(&acc, sizeof(acc));
}

int keybox_code_parse(const char *s, size_t len, uint8_t code[KEYBOX_CODE_LEN])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t k = 0, chars = 0;
	int bad = 0;

	if (code == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(code, 0, KEYBOX_CODE_LEN);
	if (s == NULL || len > KEYBOX_CODE_INPUT_MAX)
		return VARSKO_ERR_BAD_INPUT;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '-')
			continue;
		v = b32_value((unsigned char)s[i]);
		bad |= v < 0;
		if (chars++ >= KEYBOX_CODE_CHARS) {
			bad = 1;
			break;
		}
		acc = (acc << 5) | ((unsigned)v & 31);
		bits += 5;
		if (bits >= 8) {
			code[k++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	/* 26 digits are 130 bits: 16 bytes and two unused bits that must be zero, so each code has one spelling. */
	bad |= chars != KEYBOX_CODE_CHARS || acc != 0;
	sodium_memzero(&acc, sizeof(acc));
	if (bad) {
		sodium_memzero(code, KEYBOX_CODE_LEN);
		return VARSKO_ERR_BAD_INPUT;
	}
	return VARSKO_OK;
}

/* ---- recovery box ------------------------------------------------------------------ */

#define RECOVERY_BOX_MIN (crypto_secretbox_MACBYTES + 1)

#define RO(m) offsetof(struct keybox_recovery, m)
static const struct pf_field recovery_fields[] = {
        {"box", PF_BYTES, 1, RECOVERY_BOX_MIN, KEYBOX_RECOVERY_BOX_MAX, RO(box), RO(box_len), NULL, NULL},
        {"memlimit", PF_U64, 1, 1, 0, RO(memlimit), 0, NULL, NULL},
        {"nonce", PF_B64, 1, 0, KEYBOX_BOX_NONCE_LEN, RO(nonce), 0, NULL, NULL},
        {"opslimit", PF_U64, 1, 1, 0, RO(opslimit), 0, NULL, NULL},
        {"salt", PF_B64, 1, 0, KEYBOX_SALT_LEN, RO(salt), 0, NULL, NULL},
        {"user", PF_ID, 1, 1, PROTO_ID_MAX, RO(user), 0, NULL, NULL},
};

void keybox_recovery_clear(struct keybox_recovery *r)
{
	if (r == NULL)
		return;
	proto_wipe_free(r->box, r->box_len);
	memset(r, 0, sizeof(*r));
}

/* The Argon2id limits a client accepts: from the minimum up to libsodium's "moderate". */
static int limits_ok(uint64_t opslimit, uint64_t memlimit)
{
	return opslimit >= crypto_pwhash_OPSLIMIT_MIN && opslimit <= crypto_pwhash_OPSLIMIT_MODERATE &&
	       memlimit >= crypto_pwhash_MEMLIMIT_MIN && memlimit <= crypto_pwhash_MEMLIMIT_MODERATE;
}

static int recovery_well_formed(const struct keybox_recovery *r)
{
	size_t len;

	if (r == NULL || (len = bounded_len(r->user, sizeof(r->user))) == SIZE_MAX ||
	    !pf_valid_id(r->user, len, 1, PROTO_ID_MAX))
		return 0;
	return r->box != NULL && r->box_len >= RECOVERY_BOX_MIN && r->box_len <= KEYBOX_RECOVERY_BOX_MAX &&
	       r->opslimit >= 1 && r->opslimit <= (uint64_t)INT64_MAX && r->memlimit >= 1 &&
	       r->memlimit <= (uint64_t)INT64_MAX;
}

/* The secretbox key of a recovery box: Argon2id13 of the 16 code bytes. NOMEM when Argon2id cannot run. */
static int recovery_key(uint8_t key[crypto_secretbox_KEYBYTES], const uint8_t code[KEYBOX_CODE_LEN],
                        const uint8_t salt[KEYBOX_SALT_LEN], uint64_t opslimit, uint64_t memlimit)
{
	if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, (const char *)code, KEYBOX_CODE_LEN, salt,
	                  (unsigned long long)opslimit, (size_t)memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(key, crypto_secretbox_KEYBYTES);
		return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

int keybox_recovery_make(struct keybox_recovery *out, const char *user, const uint8_t code[KEYBOX_CODE_LEN],
                         const struct keybox_gen *const *gens, size_t n, uint64_t opslimit, uint64_t memlimit,
                         const uint8_t *salt, const uint8_t *nonce)
{
	struct proto_buf pt;
	uint8_t key[crypto_secretbox_KEYBYTES];
	int r = VARSKO_ERR_BAD_INPUT;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	proto_buf_init(&pt);
	sodium_memzero(key, sizeof(key));
	if (user == NULL || code == NULL || gens == NULL || n < 1 || !limits_ok(opslimit, memlimit))
		goto out;
	if (n > KEYBOX_RECOVERY_GEN_MAX) {
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	if (proto_str_copy(out->user, sizeof(out->user), user) != VARSKO_OK ||
	    !pf_valid_id(out->user, strlen(out->user), 1, PROTO_ID_MAX))
		goto out;
	proto_buf_put_str(&pt, KEYBOX_TAG_RECOVERY);
	proto_buf_put_str(&pt, user);
	proto_buf_put_u64(&pt, n);
	for (size_t i = 0; i < n; i++) {
		if (gens[i] == NULL || gens[i]->kind != KEYBOX_USER || gens[i]->generation != i + 1)
			goto out;
		proto_buf_put_bytes(&pt, gens[i]->seed, KEYBOX_SEED_LEN);
	}
	if ((r = pt.err) != VARSKO_OK)
		goto out;
	if (salt != NULL)
		memcpy(out->salt, salt, KEYBOX_SALT_LEN);
	else
		randombytes_buf(out->salt, KEYBOX_SALT_LEN);
	if (nonce != NULL)
		memcpy(out->nonce, nonce, KEYBOX_BOX_NONCE_LEN);
	else
		randombytes_buf(out->nonce, KEYBOX_BOX_NONCE_LEN);
	out->opslimit = opslimit;
	out->memlimit = memlimit;
	r = VARSKO_ERR_NOMEM;
	if ((out->box = malloc(crypto_secretbox_MACBYTES + pt.len)) == NULL)
		goto out;
	out->box_len = crypto_secretbox_MACBYTES + pt.len;
	if ((r = recovery_key(key, code, out->salt, opslimit, memlimit)) != VARSKO_OK)
		goto out;
	crypto_secretbox_easy(out->box, pt.p, pt.len, out->nonce, key);
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		keybox_recovery_clear(out);
	sodium_memzero(key, sizeof(key));
	proto_buf_free(&pt);
	return r;
}

static int field_is(const uint8_t *f, size_t flen, const char *s)
{
	return flen == strlen(s) && memcmp(f, s, flen) == 0;
}

int keybox_recovery_open(const struct keybox_recovery *r, const uint8_t code[KEYBOX_CODE_LEN], struct keybox_gen **out,
                         size_t cap, size_t *n)
{
	uint8_t key[crypto_secretbox_KEYBYTES];
	uint8_t *pt = NULL;
	const uint8_t *f;
	size_t ptlen = 0, pos = 0, flen, count = 0, made = 0;
	uint64_t count64 = 0;
	int rc = VARSKO_ERR_BAD_INPUT;

	sodium_memzero(key, sizeof(key));
	if (n == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*n = 0;
	if (!recovery_well_formed(r) || code == NULL || out == NULL)
		goto out;
	if (!limits_ok(r->opslimit, r->memlimit))
		goto out; /* before any Argon2id work */
	ptlen = r->box_len - crypto_secretbox_MACBYTES;
	rc = VARSKO_ERR_NOMEM;
	if ((pt = sodium_malloc(ptlen)) == NULL)
		goto out;
	if ((rc = recovery_key(key, code, r->salt, r->opslimit, r->memlimit)) != VARSKO_OK)
		goto out;
	rc = VARSKO_ERR_CRYPTO;
	if (crypto_secretbox_open_easy(pt, r->box, r->box_len, r->nonce, key) != 0)
		goto out;
	/* The box opened, so the code was right; what it holds must still be exactly the layout. */
	if ((f = proto_field_next(pt, ptlen, &pos, &flen)) == NULL || !field_is(f, flen, KEYBOX_TAG_RECOVERY))
		goto out;
	if ((f = proto_field_next(pt, ptlen, &pos, &flen)) == NULL || !field_is(f, flen, r->user))
		goto out;
	if ((f = proto_field_next(pt, ptlen, &pos, &flen)) == NULL || flen != 8)
		goto out;
	for (size_t i = 0; i < 8; i++)
		count64 = count64 << 8 | f[i];
	if (count64 < 1 || count64 > KEYBOX_RECOVERY_GEN_MAX || ptlen - pos != count64 * (4 + KEYBOX_SEED_LEN))
		goto out;
	count = (size_t)count64;
	if (count > cap) {
		rc = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	for (made = 0; made < count; made++) {
		if ((f = proto_field_next(pt, ptlen, &pos, &flen)) == NULL || flen != KEYBOX_SEED_LEN) {
			rc = VARSKO_ERR_CRYPTO;
			goto out;
		}
		if ((rc = keybox_gen_derive(&out[made], KEYBOX_USER, made + 1, f)) != VARSKO_OK)
			goto out;
	}
	*n = count;
	rc = VARSKO_OK;
out:
	if (rc != VARSKO_OK)
		for (size_t i = 0; i < made; i++) {
			keybox_gen_free(out[i]);
			out[i] = NULL;
		}
	sodium_free(pt); /* NULL-safe; wipes */
	sodium_memzero(key, sizeof(key));
	return rc;
}

int keybox_recovery_to_json(const struct keybox_recovery *r, char **out, size_t *len)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (!recovery_well_formed(r))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_text(recovery_fields, PF_N(recovery_fields), r, out, len);
}

int keybox_recovery_from_json(const char *buf, size_t len, struct keybox_recovery *out)
{
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	r = pf_decode_text(buf, len, KEYBOX_JSON_MAX, JSON_ALLOW_NUL, recovery_fields, PF_N(recovery_fields), out);
	if (r == VARSKO_OK && !recovery_well_formed(out))
		r = VARSKO_ERR_BAD_FRAME;
	if (r != VARSKO_OK)
		keybox_recovery_clear(out);
	return r;
}

/* ---- approval code ----------------------------------------------------------------------- */

int keybox_approval_input(struct proto_buf *b, const uint8_t nonce[PROTO_NONCE_LEN],
                          const uint8_t old_sign_pk[PROTO_PK_LEN], const uint8_t new_sign_pk[PROTO_PK_LEN],
                          const uint8_t new_box_pk[PROTO_PK_LEN])
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (nonce == NULL || old_sign_pk == NULL || new_sign_pk == NULL || new_box_pk == NULL)
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, KEYBOX_TAG_APPROVE);
	proto_buf_put_bytes(b, nonce, PROTO_NONCE_LEN);
	proto_buf_put_bytes(b, old_sign_pk, PROTO_PK_LEN);
	proto_buf_put_bytes(b, new_sign_pk, PROTO_PK_LEN);
	proto_buf_put_bytes(b, new_box_pk, PROTO_PK_LEN);
	return b->err;
}

int keybox_approval_code(char out[KEYBOX_APPROVAL_DIGITS + 1], const uint8_t nonce[PROTO_NONCE_LEN],
                         const uint8_t old_sign_pk[PROTO_PK_LEN], const uint8_t new_sign_pk[PROTO_PK_LEN],
                         const uint8_t new_box_pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	uint8_t h[crypto_hash_sha256_BYTES];
	uint32_t v;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, KEYBOX_APPROVAL_DIGITS + 1);
	proto_buf_init(&b);
	if ((r = keybox_approval_input(&b, nonce, old_sign_pk, new_sign_pk, new_box_pk)) == VARSKO_OK) {
		crypto_hash_sha256(h, b.p, b.len);
		/* The first 20 bits, big-endian: 0..1048575; mod 10^6 (see PROTOCOL.md 14.5 for the bias). */
		v = ((uint32_t)h[0] << 12 | (uint32_t)h[1] << 4 | (uint32_t)h[2] >> 4) % 1000000u;
		for (int i = KEYBOX_APPROVAL_DIGITS - 1; i >= 0; i--) {
			out[i] = (char)('0' + v % 10);
			v /= 10;
		}
		sodium_memzero(h, sizeof(h));
	}
	proto_buf_free(&b);
	return r;
}

int keybox_approval_commit(uint8_t out[32], const uint8_t n_new[32], const uint8_t new_sign_pk[PROTO_PK_LEN],
                           const uint8_t new_box_pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	int r;

	if (out == NULL || n_new == NULL || new_sign_pk == NULL || new_box_pk == NULL)
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&b);
	proto_buf_put_str(&b, KEYBOX_TAG_APPROVE_COMMIT);
	proto_buf_put_bytes(&b, n_new, 32);
	proto_buf_put_bytes(&b, new_sign_pk, PROTO_PK_LEN);
	proto_buf_put_bytes(&b, new_box_pk, PROTO_PK_LEN);
	if ((r = b.err) == VARSKO_OK)
		crypto_hash_sha256(out, b.p, b.len);
	proto_buf_free(&b);
	return r;
}

int keybox_approval_nonce(uint8_t out[PROTO_NONCE_LEN], const uint8_t n_old[32], const uint8_t n_new[32])
{
	struct proto_buf b;
	int r;

	if (out == NULL || n_old == NULL || n_new == NULL)
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&b);
	proto_buf_put_str(&b, KEYBOX_TAG_APPROVE_NONCE);
	proto_buf_put_bytes(&b, n_old, 32);
	proto_buf_put_bytes(&b, n_new, 32);
	if ((r = b.err) == VARSKO_OK)
		crypto_hash_sha256(out, b.p, b.len);
	proto_buf_free(&b);
	return r;
}

static int approval_valid(const char *s)
{
	if (s == NULL || bounded_len(s, KEYBOX_APPROVAL_DIGITS + 1) != KEYBOX_APPROVAL_DIGITS)
		return 0;
	for (int i = 0; i < KEYBOX_APPROVAL_DIGITS; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int keybox_approval_equal(const char *a, const char *b)
{
	if (!approval_valid(a) || !approval_valid(b))
		return VARSKO_ERR_BAD_INPUT;
	return sodium_memcmp(a, b, KEYBOX_APPROVAL_DIGITS) == 0 ? VARSKO_OK : VARSKO_ERR_APPROVAL_FAILED;
}

int keybox_team_owner(char out[KEYBOX_OWNER_MAX + 1], const char *team)
{
	if (team == NULL || !pf_valid_id(team, strlen(team), 1, PROTO_ID_MAX)) {
		out[0] = '\0';
		return VARSKO_ERR_BAD_INPUT;
	}
	snprintf(out, KEYBOX_OWNER_MAX + 1, "team:%s", team);
	return VARSKO_OK;
}

enum keybox_fit keybox_team_fit(const struct keybox_set *s, const char *const *users, const uint64_t *gens, size_t n)
{
	char owner[KEYBOX_OWNER_MAX + 1];
	uint64_t g;
	size_t i, k, boxed = 0;

	for (i = 0; i < s->n; i++) {
		if (keybox_key_id_split(s->boxes[i].recipient, owner, &g) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_USER)
			return KEYBOX_FIT_STALE;
		for (k = 0; k < n; k++) {
			if (strcmp(owner + 5, users[k]) == 0)
				break;
		}
		if (k == n || g != gens[k])
			return KEYBOX_FIT_STALE;
		boxed++; /* recipients are unique (the set is sorted strictly), so each member counts once */
	}
	return boxed == n ? KEYBOX_FIT_OK : KEYBOX_FIT_MISSING;
}
