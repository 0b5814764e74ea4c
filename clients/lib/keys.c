/*
 * keys.c: the device's secret keys and the device.key file format.
 *
 * The file is the JSON object {"sign_sk":B64(64),"box_sk":B64(32)}. It is
 * parsed here by hand rather than with jansson because jansson keeps copies of
 * strings in memory we cannot wipe; the grammar accepted is the small subset
 * we write (an object of two string members, whitespace between tokens, no
 * escapes), which is all a key file ever needs.
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

/* A tiny cursor over the key file text. */
struct cur {
	const char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int expect(struct cur *c, char ch)
{
	skip_ws(c);
	if (c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* A string token without escapes; *s and *n point into the text. */
static int string_tok(struct cur *c, const char **s, size_t *n)
{
	const char *start;

	if (expect(c, '"') != 0)
		return -1;
	start = c->p;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' || (unsigned char)*c->p < 0x20)
			return -1;
		c->p++;
	}
	if (c->p >= c->end)
		return -1;
	*s = start;
	*n = (size_t)(c->p - start);
	c->p++;
	return 0;
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
	struct cur c = {text, text + len};
	struct keys *k = NULL;
	int have_sign = 0, have_box = 0;
	const char *s;
	size_t n;
	uint8_t seed_pk[PROTO_PK_LEN], seed_sk[64];

	*out = NULL;
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (expect(&c, '{') != 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		if (i > 0 && expect(&c, ',') != 0)
			goto out;
		if (string_tok(&c, &s, &n) != 0)
			goto out;
		if (n == 7 && memcmp(s, "sign_sk", 7) == 0 && !have_sign) {
			if (expect(&c, ':') != 0 || string_tok(&c, &s, &n) != 0)
				goto out;
			if (b64_member(s, n, k->sign_sk, sizeof(k->sign_sk)) != VARSKO_OK)
				goto out;
			have_sign = 1;
		} else if (n == 6 && memcmp(s, "box_sk", 6) == 0 && !have_box) {
			if (expect(&c, ':') != 0 || string_tok(&c, &s, &n) != 0)
				goto out;
			if (b64_member(s, n, k->box_sk, sizeof(k->box_sk)) != VARSKO_OK)
				goto out;
			have_box = 1;
		} else {
			goto out;
		}
	}
	if (expect(&c, '}') != 0)
		goto out;
	skip_ws(&c);
	if (c.p != c.end)
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
	sodium_memzero(seed_sk, sizeof(seed_sk));
	keys_free(k);
	return r;
}
