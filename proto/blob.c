/*
 * blob.c: an attachment's secretstream encryption (blob.h).
 */
#include "blob.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "varsko/err.h"

_Static_assert(BLOB_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES, "header size");
_Static_assert(BLOB_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "chunk overhead");
_Static_assert(BLOB_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key size");

/* Chunks of a plaintext of n bytes: at least one (an empty file is one empty final chunk). */
static uint64_t chunks_of(uint64_t n)
{
	return n == 0 ? 1 : (n + BLOB_CHUNK - 1) / BLOB_CHUNK;
}

uint64_t blob_cipher_len(uint64_t n)
{
	if (n > BLOB_PLAIN_MAX)
		return 0;
	return BLOB_HEADER_LEN + n + BLOB_ABYTES * chunks_of(n);
}

int blob_encrypt(const uint8_t key[BLOB_KEY_LEN], const uint8_t *pt, size_t len, uint8_t **ct, size_t *ct_len)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint64_t total = blob_cipher_len(len), n = chunks_of(len);
	uint8_t *out;
	size_t at = BLOB_HEADER_LEN, done = 0;

	*ct = NULL;
	*ct_len = 0;
	if (key == NULL || (pt == NULL && len > 0))
		return VARSKO_ERR_BAD_INPUT;
	if (total == 0 || total > SIZE_MAX)
		return VARSKO_ERR_TOO_LARGE;
	if ((out = malloc((size_t)total)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (crypto_secretstream_xchacha20poly1305_init_push(&st, out, key) != 0)
		goto fail;
	for (uint64_t i = 0; i < n; i++) {
		size_t k = len - done < BLOB_CHUNK ? len - done : BLOB_CHUNK;
		unsigned char tag = i + 1 == n ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		                               : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;

		if (crypto_secretstream_xchacha20poly1305_push(&st, out + at, NULL, k > 0 ? pt + done : (const uint8_t *)"",
		                                               k, NULL, 0, tag) != 0)
			goto fail;
		at += k + BLOB_ABYTES;
		done += k;
	}
	sodium_memzero(&st, sizeof(st));
	*ct = out;
	*ct_len = (size_t)total;
	return VARSKO_OK;
fail:
	sodium_memzero(&st, sizeof(st));
	free(out);
	return VARSKO_ERR_CRYPTO;
}

int blob_decrypt(const uint8_t key[BLOB_KEY_LEN], const uint8_t *ct, size_t len, uint8_t **pt, size_t *pt_len)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t *out = NULL;
	size_t at = BLOB_HEADER_LEN, got = 0, body;
	int final = 0;

	*pt = NULL;
	*pt_len = 0;
	if (key == NULL || ct == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (len < BLOB_HEADER_LEN + BLOB_ABYTES)
		return VARSKO_ERR_CRYPTO;
	body = len - BLOB_HEADER_LEN;
	/* A whole number of full chunks, then one of 0..BLOB_CHUNK bytes: the plaintext is shorter than body. */
	if ((out = malloc(body)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, ct, key) != 0)
		goto fail;
	while (at < len) {
		size_t c = len - at < BLOB_CHUNK + BLOB_ABYTES ? len - at : BLOB_CHUNK + BLOB_ABYTES;
		unsigned long long k = 0;
		unsigned char tag = 0;

		if (final || c < BLOB_ABYTES)
			goto fail; /* something after the final chunk, or a piece shorter than the overhead */
		if (crypto_secretstream_xchacha20poly1305_pull(&st, out + got, &k, &tag, ct + at, c, NULL, 0) != 0)
			goto fail;
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
			final = 1;
		else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE || k != BLOB_CHUNK)
			goto fail; /* only the final chunk may be short */
		got += (size_t)k;
		at += c;
	}
	if (!final)
		goto fail; /* cut short */
	sodium_memzero(&st, sizeof(st));
	*pt = out;
	*pt_len = got;
	return VARSKO_OK;
fail:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(out, body);
	free(out);
	return VARSKO_ERR_CRYPTO;
}
