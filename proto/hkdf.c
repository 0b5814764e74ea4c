/*
 * hkdf.c: HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256.
 */
#include <string.h>

#include <sodium.h>

#include "hkdf.h"

/* A valid pointer for zero-length inputs, so libsodium never sees NULL. */
static const uint8_t empty_[1];

int hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                        size_t ikm_len)
{
	crypto_auth_hmacsha256_state st;

	if (prk == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((salt == NULL && salt_len > 0) || (ikm == NULL && ikm_len > 0)) {
		sodium_memzero(prk, HKDF_SHA256_LEN);
		return VARSKO_ERR_BAD_INPUT;
	}
	if (sodium_init() < 0) {
		sodium_memzero(prk, HKDF_SHA256_LEN);
		return VARSKO_ERR_CRYPTO;
	}
	/* An HMAC key shorter than the block is zero-padded, so an empty salt equals HashLen zero bytes. */
	crypto_auth_hmacsha256_init(&st, salt_len ? salt : empty_, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm_len ? ikm : empty_, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
	return VARSKO_OK;
}

int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[HKDF_SHA256_LEN], const uint8_t *info,
                       size_t info_len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t t[HKDF_SHA256_LEN];
	size_t done = 0;
	uint8_t ctr = 0;

	if (out == NULL || out_len == 0 || out_len > HKDF_SHA256_OUT_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if (prk == NULL || (info == NULL && info_len > 0)) {
		sodium_memzero(out, out_len);
		return VARSKO_ERR_BAD_INPUT;
	}
	if (sodium_init() < 0) {
		sodium_memzero(out, out_len);
		return VARSKO_ERR_CRYPTO;
	}
	while (done < out_len) {
		size_t n = out_len - done < HKDF_SHA256_LEN ? out_len - done : HKDF_SHA256_LEN;

		ctr++;
		crypto_auth_hmacsha256_init(&st, prk, HKDF_SHA256_LEN);
		if (ctr > 1)
			crypto_auth_hmacsha256_update(&st, t, HKDF_SHA256_LEN);
		crypto_auth_hmacsha256_update(&st, info_len ? info : empty_, info_len);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		memcpy(out + done, t, n);
		done += n;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(t, sizeof(t));
	return VARSKO_OK;
}

int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                const uint8_t *info, size_t info_len)
{
	uint8_t prk[HKDF_SHA256_LEN];
	int r;

	if (out == NULL || out_len == 0 || out_len > HKDF_SHA256_OUT_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len)) != VARSKO_OK) {
		sodium_memzero(out, out_len);
		return r;
	}
	r = hkdf_sha256_expand(out, out_len, prk, info, info_len);
	sodium_memzero(prk, sizeof(prk));
	return r;
}
