/*
 * fuzz-envelope.c: env_from_json() on arbitrary bytes, then an attempt to
 * open the envelope with a fixed recipient key. An envelope that parses must
 * serialise and parse back to the same text; verify and open must give one
 * of their documented answers, and open never returns plaintext on failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The sender and the recipient of the "one-recipient" vector in proto/vectors/envelope.json. */
	static const uint8_t sender_pk[32] = {
	        0x22, 0x0b, 0x2e, 0xe1, 0x18, 0x12, 0xc3, 0x32, 0x04, 0xc3, 0x7f, 0xcd, 0xd6, 0xce, 0x72, 0xfd,
	        0x99, 0x6a, 0x5b, 0x72, 0x1a, 0x0f, 0xf1, 0x47, 0xc8, 0xdf, 0xb8, 0xcc, 0x66, 0xec, 0x75, 0xbd,
	};
	static const uint8_t box_sk[32] = {
	        0xc8, 0xd0, 0x77, 0x25, 0x54, 0x1c, 0x79, 0x55, 0x31, 0x43, 0x95, 0x62, 0x4b, 0xd5, 0x40, 0x39,
	        0xc6, 0xd4, 0xc3, 0x17, 0x7a, 0xc3, 0x6f, 0xee, 0x7b, 0xe2, 0xb5, 0x66, 0x14, 0x33, 0xe4, 0x0f,
	};
	struct env_envelope *e = NULL, *e2 = NULL;
	char *a = NULL, *a2 = NULL;
	size_t al, al2;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int r;

	if (env_from_json((const char *)data, size, &e) != VARSKO_OK) {
		if (e != NULL)
			abort();
		return 0;
	}
	if (env_to_json(e, &a, &al) != VARSKO_OK)
		abort();
	if (env_from_json(a, al, &e2) != VARSKO_OK || env_to_json(e2, &a2, &al2) != VARSKO_OK || al != al2 ||
	    strcmp(a, a2) != 0)
		abort();
	r = env_verify(e, sender_pk);
	if (r != VARSKO_OK && r != VARSKO_ERR_BAD_SIGNATURE)
		abort();
	r = env_open(e, sender_pk, "d-23621b2a8361b376", box_sk, NULL, NULL, &pt, &pt_len);
	if (r == VARSKO_OK) {
		if (pt == NULL || pt_len + ENV_TAG_LEN != e->ct_len)
			abort();
	} else if (r != VARSKO_ERR_CRYPTO || pt != NULL || pt_len != 0) {
		abort();
	}
	env_plaintext_free(pt, pt_len);
	free(a);
	free(a2);
	env_free(e);
	env_free(e2);
	return 0;
}
