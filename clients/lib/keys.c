/*
 * keys.c: the device's secret keys and the device.key file format.
 *
 * The file is the JSON object {"sign_sk":B64(64),"box_sk":B64(32)}, parsed
 * with jansson: text.c makes jansson wipe every block it frees, so the parsed
 * copies of the keys do not outlive the parse.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "client.h"

#define B64_LEN(n) (((n) + 2) / 3 * 4)

int keys_generate(struct keys **out)
{
	struct keys *k = sodium_malloc(sizeof(*k));

	*out = NULL;
	if (k == NULL)
		return VARSKO_ERR_NOMEM;
	if (crypto_sign_keypair(k->sign_pk, k->sign_sk) != 0 || crypto_box_keypair(k->box_pk, k->box_sk) != 0) {
		sodium_free(k);
		return VARSKO_ERR_CRYPTO;
	}
	*out = k;
	return VARSKO_OK;
}

void keys_free(struct keys *k)
{
	if (k != NULL)
		sodium_free(k); /* wipes */
}

int keys_to_text(const struct keys *k, char **out, size_t *len)
{
	int r = VARSKO_ERR_INTERNAL;
	char sign_b64[B64_LEN(64) + 1], box_b64[B64_LEN(32) + 1];
	const size_t cap = sizeof(sign_b64) + sizeof(box_b64) + 40;
	char *buf = NULL;
	int n;

	*out = NULL;
	if ((r = proto_b64_encode(k->sign_sk, sizeof(k->sign_sk), sign_b64, sizeof(sign_b64))) != VARSKO_OK)
		goto out;
	if ((r = proto_b64_encode(k->box_sk, sizeof(k->box_sk), box_b64, sizeof(box_b64))) != VARSKO_OK)
		goto out;
	if ((buf = sodium_malloc(cap)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	n = snprintf(buf, cap, "{\"sign_sk\":\"%s\",\"box_sk\":\"%s\"}\n", sign_b64, box_b64);
	if (n < 0 || (size_t)n >= cap) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
	r = VARSKO_OK;
out:
	sodium_memzero(sign_b64, sizeof(sign_b64));
	sodium_memzero(box_b64, sizeof(box_b64));
	if (buf != NULL)
		sodium_free(buf);
	return r;
}

/* Decode a base64 token of exactly B64_LEN(n) characters into out[n]. */
static int b64_member(const char *s, size_t slen, uint8_t *out, size_t n)
{
	char tmp[B64_LEN(64) + 1];
	int r;

	if (slen != B64_LEN(n) || slen >= sizeof(tmp))
		return VARSKO_ERR_BAD_INPUT;
	memcpy(tmp, s, slen);
	tmp[slen] = '\0';
	r = proto_b64_decode_exact(tmp, out, n);
	sodium_memzero(tmp, sizeof(tmp));
	return r == VARSKO_OK ? VARSKO_OK : VARSKO_ERR_BAD_INPUT;
}

int keys_from_text(const char *text, size_t len, struct keys **out)
{
	int r = VARSKO_ERR_BAD_INPUT;
	struct keys *k = NULL;
	json_t *o = NULL, *sign, *box;
	uint8_t seed_pk[PROTO_PK_LEN], seed_sk[64];

	*out = NULL;
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* Exactly the two members, each once; nothing after the object. */
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(o) ||
	    json_object_size(o) != 2 || !json_is_string(sign = json_object_get(o, "sign_sk")) ||
	    !json_is_string(box = json_object_get(o, "box_sk")))
		goto out;
	if (b64_member(json_string_value(sign), json_string_length(sign), k->sign_sk, sizeof(k->sign_sk)) !=
	            VARSKO_OK ||
	    b64_member(json_string_value(box), json_string_length(box), k->box_sk, sizeof(k->box_sk)) != VARSKO_OK)
		goto out;
	/* The secret key embeds its public half: it must be the one the seed makes. */
	if (crypto_sign_seed_keypair(seed_pk, seed_sk, k->sign_sk) != 0 ||
	    sodium_memcmp(seed_pk, k->sign_sk + 32, PROTO_PK_LEN) != 0)
		goto out;
	memcpy(k->sign_pk, seed_pk, PROTO_PK_LEN);
	if (crypto_scalarmult_base(k->box_pk, k->box_sk) != 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	*out = k;
	k = NULL;
	r = VARSKO_OK;
out:
	json_decref(o); /* wiped by text.c's allocator */
	sodium_memzero(seed_sk, sizeof(seed_sk));
	keys_free(k);
	return r;
}
