/*
 * test-sign.c: canonical encoding and reading it back, signing inputs,
 * signatures, device ids and fingerprints (proto/sign.c). The byte-exact
 * comparison with the independent Python implementation is in
 * test-vectors.c; this covers the edges.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_buf(void)
{
	struct proto_buf b;
	static const uint8_t want_u64[] = {0, 0, 0, 8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
	static const uint8_t want_neg[] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
	uint8_t big[5000];

	proto_buf_init(&b);
	CHECK(b.p == NULL && b.len == 0 && b.err == VARSKO_OK);
	proto_buf_put_u64(&b, 0x0102030405060708ULL);
	CHECK_EQ_INT(b.len, sizeof(want_u64));
	CHECK(memcmp(b.p, want_u64, sizeof(want_u64)) == 0);
	proto_buf_free(&b);
	CHECK(b.p == NULL && b.len == 0);

	proto_buf_put_i64(&b, -2);
	CHECK(b.len == sizeof(want_neg) && memcmp(b.p, want_neg, sizeof(want_neg)) == 0);
	proto_buf_free(&b);

	proto_buf_put_str(&b, "");
	proto_buf_put_str(&b, "æ");
	CHECK_EQ_INT(b.len, 4 + 4 + 2);
	CHECK_EQ_INT(be32(b.p), 0);
	CHECK_EQ_INT(be32(b.p + 4), 2);
	CHECK(b.p[8] == 0xc3 && b.p[9] == 0xa6);
	proto_buf_free(&b);

	/* Growth keeps earlier contents. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	proto_buf_put_str(&b, "tag");
	proto_buf_put_bytes(&b, big, sizeof(big));
	proto_buf_put_bytes(&b, big, 3);
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK_EQ_INT(b.len, 7 + 4 + sizeof(big) + 4 + 3);
	CHECK(memcmp(b.p + 4, "tag", 3) == 0);
	CHECK_EQ_INT(be32(b.p + 7), sizeof(big));
	CHECK(memcmp(b.p + 11, big, sizeof(big)) == 0);
	CHECK(b.cap >= b.len);
	proto_buf_free(&b);

	/* Errors are sticky: later puts do nothing, the first error stays. */
	proto_buf_put_str(&b, NULL);
	CHECK_EQ_INT(b.err, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(&b, "x");
	proto_buf_put_bytes(&b, big, (size_t)1 << 30);
	CHECK_EQ_INT(b.err, VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(b.len, 0);
	proto_buf_free(&b);
	CHECK_EQ_INT(b.err, VARSKO_OK);

	/* An absurd size is refused before any allocation. */
	proto_buf_put_bytes(&b, big, (size_t)1 << 30);
	CHECK_EQ_INT(b.err, VARSKO_ERR_TOO_LARGE);
	proto_buf_free(&b);
	proto_buf_free(NULL);
}

/* The reading side: what proto_buf_put_*() wrote reads back, and nothing past the end is read. */
static void test_fields(void)
{
	struct proto_buf b;
	const uint8_t *f;
	size_t pos = 0, n = 99;
	uint64_t v = 0;
	char s[8];
	static const uint8_t nul[] = {0, 0, 0, 2, 'a', 0};
	static const uint8_t past[] = {0, 0, 0, 5, 'a', 'b'};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};

	proto_buf_init(&b);
	proto_buf_put_str(&b, "tag");
	proto_buf_put_u64(&b, 0x0102030405060708ULL);
	proto_buf_put_str(&b, "");
	proto_buf_put_str(&b, "1234567");
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK_EQ_INT(proto_field_str(b.p, b.len, &pos, s, sizeof(s)), VARSKO_OK);
	CHECK_EQ_STR(s, "tag");
	CHECK_EQ_INT(proto_field_u64(b.p, b.len, &pos, &v), VARSKO_OK);
	CHECK(v == 0x0102030405060708ULL);
	f = proto_field_next(b.p, b.len, &pos, &n);
	CHECK(f == b.p + 4 + 3 + 4 + 8 + 4 && n == 0);
	CHECK_EQ_INT(proto_field_str(b.p, b.len, &pos, s, sizeof(s)), VARSKO_OK);
	CHECK_EQ_STR(s, "1234567");
	CHECK_EQ_INT(pos, b.len);
	/* At the end, nothing more; pos stays. */
	CHECK(proto_field_next(b.p, b.len, &pos, &n) == NULL);
	CHECK_EQ_INT(pos, b.len);
	/* An empty string field and one that does not fit are refused by proto_field_str; 7 bytes are no u64. */
	pos = 4 + 3 + 4 + 8;
	CHECK_EQ_INT(proto_field_str(b.p, b.len, &pos, s, sizeof(s)), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_field_str(b.p, b.len, &pos, s, 7), VARSKO_ERR_BAD_INPUT);
	pos = 4 + 3 + 4 + 8 + 4;
	CHECK_EQ_INT(proto_field_u64(b.p, b.len, &pos, &v), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);
	/* A NUL inside, a length past the end, a length that wraps, a short length, a pos past the end. */
	pos = 0;
	CHECK_EQ_INT(proto_field_str(nul, sizeof(nul), &pos, s, sizeof(s)), VARSKO_ERR_BAD_INPUT);
	pos = 0;
	CHECK(proto_field_next(past, sizeof(past), &pos, &n) == NULL && pos == 0);
	CHECK(proto_field_next(huge, sizeof(huge), &pos, &n) == NULL && pos == 0);
	CHECK(proto_field_next(huge, 3, &pos, &n) == NULL && pos == 0);
	pos = 7;
	CHECK(proto_field_next(past, sizeof(past), &pos, &n) == NULL && pos == 7);
}

static void test_inputs(void)
{
	uint8_t nonce[PROTO_NONCE_LEN], spk[PROTO_PK_LEN], bpk[PROTO_PK_LEN];
	struct proto_buf a, b;

	memset(nonce, 7, sizeof(nonce));
	memset(spk, 1, sizeof(spk));
	memset(bpk, 2, sizeof(bpk));

	proto_buf_init(&a);
	CHECK_EQ_INT(proto_login_signing_input(nonce, "wss://h:1", "d-1", 5, &a), VARSKO_OK);
	/* tag(15) nonce(32) origin(9) device(3) time(8), each with a 4-byte length */
	CHECK_EQ_INT(a.len, 5 * 4 + 15 + 32 + 9 + 3 + 8);
	CHECK(memcmp(a.p + 4, PROTO_TAG_LOGIN, 15) == 0);
	CHECK_EQ_INT(a.p[a.len - 1], 5);

	/* Moving bytes between adjacent fields changes the encoding. */
	proto_buf_init(&b);
	CHECK_EQ_INT(proto_login_signing_input(nonce, "wss://h:1d", "-1", 5, &b), VARSKO_OK);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) != 0);
	proto_buf_free(&b);

	CHECK_EQ_INT(proto_login_signing_input(nonce, NULL, "d-1", 5, &b), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);
	CHECK_EQ_INT(proto_login_signing_input(NULL, "o", "d-1", 5, &b), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);

	/* Enroll: NULL label is the same as "". */
	CHECK_EQ_INT(proto_enroll_signing_input(nonce, "wss://h:1", "code", spk, bpk, NULL, &b), VARSKO_OK);
	proto_buf_free(&a);
	CHECK_EQ_INT(proto_enroll_signing_input(nonce, "wss://h:1", "code", spk, bpk, "", &a), VARSKO_OK);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	CHECK_EQ_INT(a.len, 7 * 4 + 16 + 32 + 9 + 4 + 32 + 32 + 0);
	proto_buf_free(&b);
	CHECK_EQ_INT(proto_enroll_signing_input(nonce, "wss://h:1", "code", bpk, spk, "", &b), VARSKO_OK);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) != 0);
	proto_buf_free(&b);
	CHECK_EQ_INT(proto_enroll_signing_input(nonce, "wss://h:1", NULL, spk, bpk, "", &b), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);
	CHECK_EQ_INT(proto_enroll_signing_input(nonce, "o", "c", NULL, bpk, "", &b), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);
	proto_buf_free(&a);
}

static void test_sign_verify(void)
{
	uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64], nonce[32];
	struct proto_buf in, other;

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	randombytes_buf(nonce, sizeof(nonce));
	proto_buf_init(&in);
	proto_buf_init(&other);
	CHECK_EQ_INT(proto_login_signing_input(nonce, "wss://localhost:8443", "d-0011223344556677", 1795426200, &in),
	             VARSKO_OK);
	CHECK_EQ_INT(proto_sign(sig, &in, sk), VARSKO_OK);
	CHECK_EQ_INT(proto_verify(sig, &in, pk), VARSKO_OK);
	/* Wrong key, any flipped signature bit, any changed field: refused. */
	CHECK_EQ_INT(proto_verify(sig, &in, pk2), VARSKO_ERR_BAD_SIGNATURE);
	for (size_t i = 0; i < 64 * 8; i += 7) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK_EQ_INT(proto_verify(sig, &in, pk), VARSKO_ERR_BAD_SIGNATURE);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_EQ_INT(proto_login_signing_input(nonce, "wss://localhost:8443", "d-0011223344556677", 1795426201, &other),
	             VARSKO_OK);
	CHECK_EQ_INT(proto_verify(sig, &other, pk), VARSKO_ERR_BAD_SIGNATURE);
	proto_buf_free(&other);
	nonce[31] ^= 1;
	CHECK_EQ_INT(proto_login_signing_input(nonce, "wss://localhost:8443", "d-0011223344556677", 1795426200, &other),
	             VARSKO_OK);
	CHECK_EQ_INT(proto_verify(sig, &other, pk), VARSKO_ERR_BAD_SIGNATURE);
	proto_buf_free(&other);
	CHECK_EQ_INT(proto_verify(sig, &in, pk), VARSKO_OK);

	/* A buffer in error is never signed or verified. */
	proto_buf_put_str(&other, NULL);
	memset(sig, 0x55, sizeof(sig));
	CHECK_EQ_INT(proto_sign(sig, &other, sk), VARSKO_ERR_BAD_INPUT);
	for (size_t i = 0; i < sizeof(sig); i++)
		CHECK_EQ_INT(sig[i], 0);
	CHECK_EQ_INT(proto_verify(sig, &other, pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(proto_verify(sig, NULL, pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(proto_verify(sig, &in, NULL), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(proto_sign(sig, &in, NULL), VARSKO_ERR_BAD_INPUT);
	/* The all-zero signature and a small-order key do not verify. */
	memset(sig, 0, sizeof(sig));
	CHECK_EQ_INT(proto_verify(sig, &in, pk), VARSKO_ERR_BAD_SIGNATURE);
	memset(pk2, 0, sizeof(pk2));
	CHECK_EQ_INT(proto_verify(sig, &in, pk2), VARSKO_ERR_BAD_SIGNATURE);
	/* The empty buffer can be signed (an initialised buffer has p == NULL). */
	proto_buf_free(&other);
	CHECK_EQ_INT(proto_sign(sig, &other, sk), VARSKO_OK);
	CHECK_EQ_INT(proto_verify(sig, &other, pk), VARSKO_OK);
	proto_buf_free(&other);
	proto_buf_free(&in);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
}

static void test_ids(void)
{
	uint8_t pk[32], h[32], enc[4 + 19 + 4 + 32];
	char dev[PROTO_DEVICE_ID_LEN + 1], dev2[PROTO_DEVICE_ID_LEN + 1], fpr[PROTO_FPR_LEN + 1], want[40];

	for (int round = 0; round < 50; round++) {
		randombytes_buf(pk, sizeof(pk));
		proto_device_id(pk, dev);
		proto_fingerprint(pk, fpr);
		CHECK_EQ_INT(strlen(dev), PROTO_DEVICE_ID_LEN);
		CHECK(dev[0] == 'd' && dev[1] == '-');
		CHECK(strspn(dev + 2, "0123456789abcdef") == 16);
		CHECK_EQ_INT(strlen(fpr), PROTO_FPR_LEN);
		for (int g = 0; g < 8; g++) {
			CHECK(strspn(fpr + 5 * g, "0123456789abcdef") == 4);
			CHECK(fpr[5 * g + 4] == (g == 7 ? '\0' : '-'));
		}
		/* Recompute the device id by hand from the definition. */
		memcpy(enc, "\0\0\0\x13varsko-device-id-v1\0\0\0\x20", 4 + 19 + 4);
		memcpy(enc + 27, pk, 32);
		crypto_generichash(h, 32, enc, sizeof(enc), NULL, 0);
		snprintf(want, sizeof(want), "d-%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5],
		         h[6], h[7]);
		CHECK_EQ_STR(dev, want);
		/* Device id and fingerprint use different tags: their hex differs. */
		CHECK(strncmp(dev + 2, fpr, 4) != 0 || strncmp(dev + 6, fpr + 5, 4) != 0);
		pk[0] ^= 1;
		proto_device_id(pk, dev2);
		CHECK(strcmp(dev, dev2) != 0);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_buf();
	test_fields();
	test_inputs();
	test_sign_verify();
	test_ids();
	return check_result();
}
