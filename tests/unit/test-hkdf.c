/*
 * test-hkdf.c: HKDF-SHA256 (proto/hkdf.c) against the test cases 1, 2 and 3
 * of RFC 5869 appendix A, plus its limits.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hkdf.h"

/* Hex to bytes; returns the byte count. The inputs are test constants. */
static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;

	if (n > cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
	return n;
}

struct rfc_case {
	const char *ikm, *salt, *info, *prk, *okm;
};

static const struct rfc_case cases[] = {
        /* A.1: basic test case with SHA-256 */
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9",
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        /* A.2: longer inputs and outputs */
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
         "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
         "404142434445464748494a4b4c4d4e4f",
         "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
         "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
         "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
         "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
         "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
         "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
         "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
         "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        /* A.3: zero-length salt and info */
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
};

static void test_rfc(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t ikm[128], salt[128], info[128], prk_want[32], okm_want[128], prk[32], okm[128];
		size_t ikm_n = unhex(cases[c].ikm, ikm, sizeof(ikm)), salt_n = unhex(cases[c].salt, salt, sizeof(salt));
		size_t info_n = unhex(cases[c].info, info, sizeof(info));
		size_t okm_n = unhex(cases[c].okm, okm_want, sizeof(okm_want));

		unhex(cases[c].prk, prk_want, sizeof(prk_want));
		CHECK_EQ_INT(hkdf_sha256_extract(prk, salt_n ? salt : NULL, salt_n, ikm, ikm_n), VARSKO_OK);
		CHECK(memcmp(prk, prk_want, 32) == 0);
		memset(okm, 0xaa, sizeof(okm));
		CHECK_EQ_INT(hkdf_sha256_expand(okm, okm_n, prk, info_n ? info : NULL, info_n), VARSKO_OK);
		CHECK(memcmp(okm, okm_want, okm_n) == 0);
		CHECK(okm[okm_n] == 0xaa); /* nothing written past out_len */
		memset(okm, 0, sizeof(okm));
		CHECK_EQ_INT(
		        hkdf_sha256(okm, okm_n, salt_n ? salt : NULL, salt_n, ikm, ikm_n, info_n ? info : NULL, info_n),
		        VARSKO_OK);
		CHECK(memcmp(okm, okm_want, okm_n) == 0);
		/* A prefix of the output is the shorter output. */
		memset(okm, 0, sizeof(okm));
		CHECK_EQ_INT(hkdf_sha256(okm, 7, salt, salt_n, ikm, ikm_n, info, info_n), VARSKO_OK);
		CHECK(memcmp(okm, okm_want, 7) == 0);
	}
}

static void test_limits(void)
{
	static uint8_t big[HKDF_SHA256_OUT_MAX + 1];
	uint8_t prk[32] = {1}, ikm[4] = {1, 2, 3, 4};

	CHECK_EQ_INT(hkdf_sha256_expand(big, HKDF_SHA256_OUT_MAX, prk, NULL, 0), VARSKO_OK);
	/* The last block is the 255th; different from the first. */
	CHECK(memcmp(big, big + HKDF_SHA256_OUT_MAX - 32, 32) != 0);
	CHECK_EQ_INT(hkdf_sha256_expand(big, HKDF_SHA256_OUT_MAX + 1, prk, NULL, 0), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(hkdf_sha256_expand(big, 0, prk, NULL, 0), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(hkdf_sha256_expand(NULL, 32, prk, NULL, 0), VARSKO_ERR_BAD_INPUT);
	memset(big, 0x55, 32);
	CHECK_EQ_INT(hkdf_sha256_expand(big, 32, prk, NULL, 3), VARSKO_ERR_BAD_INPUT);
	CHECK(big[0] == 0 && big[31] == 0);
	CHECK_EQ_INT(hkdf_sha256(big, 32, NULL, 1, ikm, 4, NULL, 0), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(hkdf_sha256(big, 32, NULL, 0, NULL, 4, NULL, 0), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(hkdf_sha256_extract(prk, NULL, 0, NULL, 0), VARSKO_OK);
}

int main(void)
{
	test_rfc();
	test_limits();
	return check_result();
}
