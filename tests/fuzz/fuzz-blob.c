/*
 * fuzz-blob.c: blob_decrypt() (proto/blob.c) on arbitrary bytes as an
 * attachment's ciphertext, under a fixed key (the seeds are made with it:
 * tests/fuzz/README.md), and blob_encrypt() of the same bytes as a file.
 *
 * Invariants: a refusal is VARSKO_ERR_CRYPTO with no plaintext left; an
 * accepted ciphertext has exactly the length blob_cipher_len() gives for
 * its plaintext; what blob_encrypt() makes has that length and decrypts
 * to the bytes it was made from, and no longer does with a byte flipped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[BLOB_KEY_LEN] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pt = NULL, *ct = NULL, *back = NULL;
	size_t pt_len = 0, ct_len = 0, back_len = 0;
	int r = blob_decrypt(key, data, size, &pt, &pt_len);

	if (r == VARSKO_OK) {
		if ((pt == NULL && pt_len != 0) || blob_cipher_len(pt_len) != size)
			abort();
	} else if (r != VARSKO_ERR_CRYPTO || pt != NULL || pt_len != 0) {
		abort();
	}
	free(pt);
	if (blob_encrypt(key, data, size, &ct, &ct_len) != VARSKO_OK || ct_len != blob_cipher_len(size) ||
	    blob_decrypt(key, ct, ct_len, &back, &back_len) != VARSKO_OK || back_len != size ||
	    (size > 0 && memcmp(back, data, size) != 0))
		abort();
	free(back);
	back = NULL;
	ct[size % ct_len] ^= 0x80;
	if (blob_decrypt(key, ct, ct_len, &back, &back_len) != VARSKO_ERR_CRYPTO || back != NULL)
		abort();
	free(ct);
	return 0;
}
