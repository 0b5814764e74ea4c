/*
 * test-blob.c: an attachment's encryption (proto/blob.c). The ciphertexts
 * of an independent implementation (proto/vectors/blob-gen.py, PyNaCl ->
 * blob.json) open to the plaintext with the SHA-256 written there; every
 * damaged one (cut short, chunks swapped or repeated, bytes after the final
 * chunk, a short MESSAGE chunk, a FINAL chunk in the middle, no FINAL chunk,
 * another key) is refused with crypto. Then round trips of blob_encrypt()
 * through blob_decrypt() at the chunk boundaries, the ciphertext length
 * formula, and the ids.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "blob.h"
#include "check.h"
#include "thread.h"
#include "varsko/err.h"

static uint8_t key[BLOB_KEY_LEN];

/* base64 text -> malloc'ed bytes. */
static uint8_t *unb64(const char *s, size_t *n)
{
	size_t cap = strlen(s) / 4 * 3 + 3, len = 0;
	uint8_t *p = malloc(cap + 1);

	if (p == NULL || sodium_base642bin(p, cap, s, strlen(s), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		abort();
	*n = len;
	return p;
}

static void plain(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 7 + n) % 251);
}

static void test_vectors(const json_t *root)
{
	const json_t *good = json_object_get(root, "good"), *bad = json_object_get(root, "bad"), *v;
	uint8_t *last = NULL, *ct, *pt;
	size_t last_len = 0, n, pn, i;
	char hex[2 * 32 + 1];
	uint8_t h[32];

	CHECK(json_array_size(good) >= 4 && json_array_size(bad) >= 10);
	json_array_foreach(good, i, v)
	{
		ct = unb64(json_string_value(json_object_get(v, "ciphertext")), &n);
		CHECK_EQ_INT(n, blob_cipher_len((uint64_t)json_integer_value(json_object_get(v, "n"))));
		pt = NULL;
		CHECK_EQ_INT(blob_decrypt(key, ct, n, &pt, &pn), VARSKO_OK);
		CHECK_EQ_INT(pn, json_integer_value(json_object_get(v, "n")));
		crypto_hash_sha256(h, pt != NULL ? pt : (const uint8_t *)"", pn);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		CHECK_EQ_STR(hex, json_string_value(json_object_get(v, "sha256")));
		free(pt);
		free(last);
		last = ct;
		last_len = n;
	}
	/* The edits of the last good case: h, c1 (65553 bytes), c2 (the rest). */
	CHECK(last_len > BLOB_HEADER_LEN + BLOB_CHUNK + BLOB_ABYTES);
	json_array_foreach(bad, i, v)
	{
		const char *edit = json_string_value(json_object_get(v, "edit"));
		const uint8_t *hp = last, *c1 = last + BLOB_HEADER_LEN, *c2 = c1 + BLOB_CHUNK + BLOB_ABYTES;
		size_t l1 = BLOB_CHUNK + BLOB_ABYTES, l2 = last_len - BLOB_HEADER_LEN - l1;
		uint8_t *b;

		if (edit != NULL) {
			char *words = strdup(edit), *save = NULL;

			b = malloc(3 * last_len + 1);
			n = 0;
			for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
				if (strcmp(w, "h") == 0)
					memcpy(b + n, hp, BLOB_HEADER_LEN), n += BLOB_HEADER_LEN;
				else if (strcmp(w, "c1") == 0)
					memcpy(b + n, c1, l1), n += l1;
				else if (strcmp(w, "c2") == 0)
					memcpy(b + n, c2, l2), n += l2;
				else if (strcmp(w, "c2-1") == 0)
					memcpy(b + n, c2, l2 - 1), n += l2 - 1;
				else if (strcmp(w, "00") == 0)
					b[n++] = 0;
				else
					abort();
			}
			free(words);
		} else {
			b = unb64(json_string_value(json_object_get(v, "ciphertext")), &n);
		}
		pt = (uint8_t *)1;
		CHECK_EQ_INT(blob_decrypt(key, b, n, &pt, &pn), VARSKO_ERR_CRYPTO);
		CHECK(pt == NULL);
		if (pt != NULL)
			fprintf(stderr, "  accepted: %s\n", json_string_value(json_object_get(v, "why")));
		free(b);
	}
	free(last);
}

static void test_round_trips(void)
{
	static const size_t sizes[] = {0, 1, BLOB_CHUNK - 1, BLOB_CHUNK, BLOB_CHUNK + 1, 3 * BLOB_CHUNK + 17};
	uint8_t k2[BLOB_KEY_LEN];

	crypto_secretstream_xchacha20poly1305_keygen(k2);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], cn = 0, pn = 0;
		uint8_t *p = malloc(n + 1), *ct = NULL, *back = NULL, *ct2 = NULL;

		plain(p, n);
		CHECK_EQ_INT(blob_encrypt(k2, p, n, &ct, &cn), VARSKO_OK);
		CHECK_EQ_INT(cn, blob_cipher_len(n));
		CHECK_EQ_INT(blob_decrypt(k2, ct, cn, &back, &pn), VARSKO_OK);
		CHECK(pn == n && (n == 0 || memcmp(back, p, n) == 0));
		/* a fresh header each time: never the same ciphertext twice */
		CHECK_EQ_INT(blob_encrypt(k2, p, n, &ct2, &cn), VARSKO_OK);
		CHECK(memcmp(ct, ct2, BLOB_HEADER_LEN) != 0);
		/* one flipped bit anywhere is refused */
		ct[cn - 1] ^= 1;
		free(back);
		back = (uint8_t *)1;
		CHECK_EQ_INT(blob_decrypt(k2, ct, cn, &back, &pn), VARSKO_ERR_CRYPTO);
		CHECK(back == NULL);
		free(p);
		free(ct);
		free(ct2);
	}
	CHECK_EQ_INT(blob_cipher_len(0), BLOB_HEADER_LEN + BLOB_ABYTES);
	CHECK_EQ_INT(blob_cipher_len(BLOB_CHUNK), BLOB_HEADER_LEN + BLOB_CHUNK + BLOB_ABYTES);
	CHECK_EQ_INT(blob_cipher_len(BLOB_CHUNK + 1), BLOB_HEADER_LEN + BLOB_CHUNK + 1 + 2 * BLOB_ABYTES);
	CHECK_EQ_INT(blob_cipher_len(BLOB_PLAIN_MAX + 1), 0);
	CHECK(thread_blob_id_valid("B-Q6FJDZLPZTVGNYZVHN35RHBHUY"));
	CHECK(!thread_blob_id_valid("M-Q6FJDZLPZTVGNYZVHN35RHBHUY"));
	CHECK(!thread_blob_id_valid("B-Q6FJDZLPZTVGNYZVHN35RHBHUZ"));
}

int main(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;
	json_t *root;
	uint8_t *k;
	size_t n;

	if (sodium_init() < 0)
		return 99;
	snprintf(path, sizeof(path), "%s/blob.json", dir ? dir : "proto/vectors");
	root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL);
	if (root == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return check_result();
	}
	k = unb64(json_string_value(json_object_get(root, "key")), &n);
	CHECK_EQ_INT(n, BLOB_KEY_LEN);
	memcpy(key, k, sizeof(key));
	free(k);
	test_vectors(root);
	test_round_trips();
	json_decref(root);
	return check_result();
}
