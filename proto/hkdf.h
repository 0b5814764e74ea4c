/*
 * hkdf.h: HKDF with HMAC-SHA256 (RFC 5869), built on libsodium's
 * crypto_auth_hmacsha256 because libsodium 1.0.18 has no HKDF.
 *
 * Pure code, safe in any thread. Pointers are borrowed for the call. Every
 * function returns VARSKO_OK or a negative VARSKO_ERR_*; on failure the
 * output is zeroed. Intermediate keys are wiped before return.
 */
#ifndef VARSKO_HKDF_H
#define VARSKO_HKDF_H

#include <stddef.h>
#include <stdint.h>

#include "varsko/err.h"

#define HKDF_SHA256_LEN     32
#define HKDF_SHA256_OUT_MAX (255 * HKDF_SHA256_LEN) /* 8160 bytes, the RFC 5869 limit */

/* PRK = HMAC-SHA256(salt, ikm). salt may be NULL when salt_len is 0 (RFC 5869: HashLen zero bytes). */
int hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                        size_t ikm_len) VARSKO_WUR;

/*
 * OKM = T(1) || T(2) || ... cut to out_len bytes, T(i) = HMAC(prk, T(i-1) || info || i).
 * 1 <= out_len <= HKDF_SHA256_OUT_MAX, else VARSKO_ERR_BAD_INPUT.
 */
int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[HKDF_SHA256_LEN], const uint8_t *info,
                       size_t info_len) VARSKO_WUR;

/* Extract then expand. */
int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                const uint8_t *info, size_t info_len) VARSKO_WUR;

#endif
