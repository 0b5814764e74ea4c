/*
 * keys.c: reading and writing key and certificate files (keys.h).
 *
 * Secret keys are only ever held in sodium_malloc memory (guard pages,
 * mlock'd, wiped on free); every stack or heap copy of the encoded form is
 * wiped with sodium_memzero before it goes out of scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "keys.h"

#define KEYS_FILE_MAX 8192 /* a certificate line is well below this */

/*
 * Read a whole small file into buf (NUL-terminated, at most cap - 1 bytes)
 * and strip one trailing "\n". If secret, the file must be private (no
 * link, ours, mode 0600 or stricter: VARSKO_ERR_CONFIG) and its copy is kept
 * in guarded memory until it is wiped.
 */
static int read_line(const char *path, char *buf, size_t cap, size_t *len_out, int secret)
{
	unsigned flags = secret ? FILE_PRIVATE | FILE_SECRET : 0;
	char *text = NULL;
	size_t n = 0, got;
	int r;

	if ((r = file_read(path, cap - 1, flags, &text, &n)) != VARSKO_OK)
		return r == VARSKO_ERR_TOO_LARGE ? VARSKO_ERR_BAD_INPUT : r;
	got = n;
	if (got > 0 && text[got - 1] == '\n')
		got--;
	r = VARSKO_ERR_BAD_INPUT;
	if (memchr(text, '\0', got) != NULL || memchr(text, '\n', got) != NULL)
		goto out;
	memcpy(buf, text, got);
	buf[got] = '\0';
	*len_out = got;
	r = VARSKO_OK;
out:
	file_free(text, n, flags);
	return r;
}

void keys_public_of(const uint8_t sk[KEYS_SK_LEN], uint8_t pk_out[PROTO_PK_LEN])
{
	memcpy(pk_out, sk + 32, PROTO_PK_LEN);
}

void keys_secret_free(uint8_t *sk)
{
	if (sk != NULL)
		sodium_free(sk); /* wipes before unmapping */
}

int keys_secret_generate(uint8_t **sk_out, uint8_t pk_out[PROTO_PK_LEN])
{
	uint8_t pk[PROTO_PK_LEN];
	uint8_t *sk;

	*sk_out = NULL;
	if ((sk = sodium_malloc(KEYS_SK_LEN)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (crypto_sign_keypair(pk, sk) != 0) {
		sodium_free(sk);
		return VARSKO_ERR_CRYPTO;
	}
	if (pk_out != NULL)
		memcpy(pk_out, pk, PROTO_PK_LEN);
	*sk_out = sk;
	return VARSKO_OK;
}

int keys_secret_write(const char *path, const uint8_t sk[KEYS_SK_LEN])
{
	char line[sodium_base64_ENCODED_LEN(KEYS_SK_LEN, sodium_base64_VARIANT_ORIGINAL) + 1];
	size_t n;
	int r;

	if ((r = proto_b64_encode(sk, KEYS_SK_LEN, line, sizeof(line) - 1)) != VARSKO_OK)
		goto out;
	n = strlen(line);
	line[n++] = '\n';
	r = file_write_new(path, line, n, 0600);
out:
	sodium_memzero(line, sizeof(line));
	return r;
}

int keys_secret_read(const char *path, uint8_t **sk_out)
{
	char line[256];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *sk = NULL;
	size_t len;
	int r;

	*sk_out = NULL;
	if ((r = read_line(path, line, sizeof(line), &len, 1)) != VARSKO_OK)
		goto out;
	if ((sk = sodium_malloc(KEYS_SK_LEN)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (proto_b64_decode_exact(line, sk, KEYS_SK_LEN) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	/* The stored public half must be the one the seed gives. */
	if (crypto_sign_ed25519_sk_to_pk(pk, sk) != 0) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	{
		uint8_t seed[crypto_sign_SEEDBYTES], sk2[KEYS_SK_LEN], pk2[crypto_sign_PUBLICKEYBYTES];
		int bad;

		memcpy(seed, sk, sizeof(seed));
		bad = crypto_sign_seed_keypair(pk2, sk2, seed) != 0 || sodium_memcmp(pk2, pk, sizeof(pk)) != 0;
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(sk2, sizeof(sk2));
		if (bad) {
			r = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
	}
	*sk_out = sk;
	sk = NULL; /* transferred to caller */
	r = VARSKO_OK;
out:
	sodium_memzero(line, sizeof(line));
	keys_secret_free(sk);
	return r;
}

int keys_public_write(const char *path, const uint8_t pk[PROTO_PK_LEN])
{
	char line[64];
	size_t n;
	int r;

	if ((r = proto_b64_encode(pk, PROTO_PK_LEN, line, sizeof(line) - 1)) != VARSKO_OK)
		return r;
	n = strlen(line);
	line[n++] = '\n';
	return file_write_new(path, line, n, 0644);
}

int keys_public_read(const char *path, uint8_t pk_out[PROTO_PK_LEN])
{
	char line[128];
	size_t len;
	int r;

	if ((r = read_line(path, line, sizeof(line), &len, 0)) != VARSKO_OK)
		return r;
	if (proto_b64_decode_exact(line, pk_out, PROTO_PK_LEN) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_OK;
}

int keys_cert_write(const char *path, const struct proto_cert *c)
{
	char *json = NULL, *line = NULL;
	size_t n;
	int r;

	if ((r = proto_cert_to_json(c, &json)) != VARSKO_OK)
		goto out;
	n = strlen(json);
	if ((line = malloc(n + 2)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	memcpy(line, json, n);
	line[n++] = '\n';
	line[n] = '\0';
	r = file_write_new(path, line, n, 0644);
out:
	free(json);
	free(line);
	return r;
}

int keys_cert_read(const char *path, struct proto_cert *out)
{
	char *buf;
	size_t len;
	int r;

	if ((buf = malloc(KEYS_FILE_MAX)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = read_line(path, buf, KEYS_FILE_MAX, &len, 0)) == VARSKO_OK) {
		if (proto_cert_from_json(buf, len, out) != VARSKO_OK)
			r = VARSKO_ERR_BAD_INPUT;
	}
	free(buf);
	return r;
}

int keys_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}
