/*
 * test-vectors.c: the C protocol library against the JSON files in proto/vectors/, byte
 * for byte. The vectors come from proto/vectors/gen.py, an independent Python
 * implementation (PyNaCl + hashlib), so agreement here means two
 * implementations of PROTOCOL.md agree. $VARSKO_VECTORS names the directory;
 * without it (or without a file) the test cannot run and exits 77.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "proto.h"

static const char *vdir;

static json_t *load(const char *name)
{
	char path[4096];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", vdir, name);
	if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, &e)) == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path, e.text, e.line);
		exit(77);
	}
	return j;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL) {
		fprintf(stderr, "vector without string member %s\n", key);
		exit(1);
	}
	return s;
}

/* Hex to freshly malloc'd bytes (at least one byte allocated). */
static uint8_t *unhex(const char *hex, size_t *n)
{
	size_t len = strlen(hex);
	uint8_t *p = malloc(len / 2 + 1);

	if (p == NULL || sodium_hex2bin(p, len / 2 + 1, hex, len, NULL, n, NULL) != 0) {
		fprintf(stderr, "bad hex in vector\n");
		exit(1);
	}
	return p;
}

static void unhex_exact(const char *hex, uint8_t *out, size_t n)
{
	size_t got;
	uint8_t *p = unhex(hex, &got);

	if (got != n) {
		fprintf(stderr, "hex of wrong length in vector\n");
		exit(1);
	}
	memcpy(out, p, n);
	free(p);
}

/* b's bytes as a lowercase hex string (malloc'd). */
static char *buf_hex(const struct proto_buf *b)
{
	char *h = malloc(2 * b->len + 1);

	if (h == NULL)
		exit(1);
	sodium_bin2hex(h, 2 * b->len + 1, b->p ? b->p : (const uint8_t *)"", b->len);
	return h;
}

static void check_buf_hex(const struct proto_buf *b, const char *want, const char *what)
{
	char *h = buf_hex(b);

	CHECK_EQ_INT(b->err, VARSKO_OK);
	if (strcmp(h, want) != 0)
		fprintf(stderr, "mismatch in %s\n", what);
	CHECK_EQ_STR(h, want);
	free(h);
}

static int64_t time_of(const char *s)
{
	int64_t t = -1;

	CHECK_EQ_INT(proto_time_parse(s, &t), VARSKO_OK);
	return t;
}

static void test_encoding(void)
{
	json_t *j = load("encoding.json"), *v;
	size_t i;
	int nv = 0;

	json_array_foreach(json_object_get(j, "login"), i, v)
	{
		uint8_t nonce[PROTO_NONCE_LEN];
		struct proto_buf b;

		unhex_exact(str(v, "nonce"), nonce, sizeof(nonce));
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_login_signing_input(nonce, str(v, "origin"), str(v, "device"),
		                                       time_of(str(v, "time")), &b),
		             VARSKO_OK);
		check_buf_hex(&b, str(v, "input"), "login input");
		proto_buf_free(&b);
		nv++;
	}
	json_array_foreach(json_object_get(j, "enroll"), i, v)
	{
		uint8_t nonce[PROTO_NONCE_LEN], spk[PROTO_PK_LEN], bpk[PROTO_PK_LEN];
		struct proto_buf b;

		unhex_exact(str(v, "nonce"), nonce, sizeof(nonce));
		CHECK_EQ_INT(proto_b64_decode_exact(str(v, "sign_pk"), spk, sizeof(spk)), VARSKO_OK);
		CHECK_EQ_INT(proto_b64_decode_exact(str(v, "box_pk"), bpk, sizeof(bpk)), VARSKO_OK);
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_enroll_signing_input(nonce, str(v, "origin"), str(v, "code"), spk, bpk,
		                                        str(v, "label"), &b),
		             VARSKO_OK);
		check_buf_hex(&b, str(v, "input"), "enroll input");
		proto_buf_free(&b);
		nv++;
	}
	json_array_foreach(json_object_get(j, "confirm"), i, v)
	{
		uint8_t nonce[PROTO_NONCE_LEN];
		struct proto_buf b;

		unhex_exact(str(v, "nonce"), nonce, sizeof(nonce));
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_confirm_signing_input(nonce, str(v, "origin"), str(v, "device"), &b), VARSKO_OK);
		check_buf_hex(&b, str(v, "input"), "confirm input");
		proto_buf_free(&b);
		nv++;
	}
	CHECK(json_array_size(json_object_get(j, "confirm")) > 0);
	json_array_foreach(json_object_get(j, "cert"), i, v)
	{
		struct proto_cert c;
		struct proto_buf b;
		char *text = json_dumps(json_object_get(v, "cert"), JSON_COMPACT);

		CHECK(text != NULL);
		CHECK_EQ_INT(proto_cert_from_json(text, strlen(text), &c), VARSKO_OK);
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_cert_signing_input(&c, &b), VARSKO_OK);
		check_buf_hex(&b, str(v, "input"), "cert input");
		proto_buf_free(&b);
		free(text);
		nv++;
	}
	json_array_foreach(json_object_get(j, "keys"), i, v)
	{
		uint8_t pk[PROTO_PK_LEN];
		char dev[PROTO_DEVICE_ID_LEN + 1], fpr[PROTO_FPR_LEN + 1];

		CHECK_EQ_INT(proto_b64_decode_exact(str(v, "pk"), pk, sizeof(pk)), VARSKO_OK);
		proto_device_id(pk, dev);
		proto_fingerprint(pk, fpr);
		CHECK_EQ_STR(dev, str(v, "device"));
		CHECK_EQ_STR(fpr, str(v, "fingerprint"));
		nv++;
	}
	CHECK(nv >= 10);
	json_decref(j);
}

static void test_signatures(void)
{
	json_t *j = load("signatures.json"), *v;
	size_t i;
	int nv = 0;

	json_array_foreach(j, i, v)
	{
		uint8_t seed[32], pk[32], sk[64], want_pk[32], want_sig[64], sig[64];
		struct proto_buf b;
		size_t n;

		unhex_exact(str(v, "seed"), seed, sizeof(seed));
		unhex_exact(str(v, "pk"), want_pk, sizeof(want_pk));
		unhex_exact(str(v, "sig"), want_sig, sizeof(want_sig));
		CHECK_EQ_INT(crypto_sign_seed_keypair(pk, sk, seed), 0);
		CHECK(memcmp(pk, want_pk, 32) == 0);
		/* The vector input is already encoded: wrap the raw bytes as a buffer. */
		proto_buf_init(&b);
		b.p = unhex(str(v, "input"), &n);
		b.len = n;
		b.cap = n;
		CHECK_EQ_INT(proto_sign(sig, &b, sk), VARSKO_OK);
		CHECK(memcmp(sig, want_sig, 64) == 0);
		CHECK_EQ_INT(proto_verify(want_sig, &b, pk), VARSKO_OK);
		want_sig[63] ^= 0x40;
		CHECK_EQ_INT(proto_verify(want_sig, &b, pk), VARSKO_ERR_BAD_SIGNATURE);
		proto_buf_free(&b);
		sodium_memzero(sk, sizeof(sk));
		nv++;
	}
	CHECK(nv >= 3);
	json_decref(j);
}

static void test_certificates(void)
{
	json_t *j = load("certificates.json"), *v;
	uint8_t org_pk[PROTO_PK_LEN];
	char fpr[PROTO_FPR_LEN + 1], dev[PROTO_DEVICE_ID_LEN + 1];
	int64_t now = time_of(str(j, "now"));
	size_t i;
	int nv = 0;

	uint8_t org_seed[32], org_sk[64], pk_from_seed[32];

	CHECK_EQ_INT(proto_b64_decode_exact(str(j, "org_pk"), org_pk, sizeof(org_pk)), VARSKO_OK);
	unhex_exact(str(j, "org_seed"), org_seed, sizeof(org_seed));
	CHECK_EQ_INT(crypto_sign_seed_keypair(pk_from_seed, org_sk, org_seed), 0);
	CHECK(memcmp(pk_from_seed, org_pk, sizeof(org_pk)) == 0);
	proto_fingerprint(org_pk, fpr);
	CHECK_EQ_STR(fpr, str(j, "org_fingerprint"));
	json_array_foreach(json_object_get(j, "valid"), i, v)
	{
		struct proto_cert c;
		struct proto_buf b;
		const char *text = str(v, "json");
		char *back = NULL;

		CHECK_EQ_INT(proto_cert_from_json(text, strlen(text), &c), VARSKO_OK);
		CHECK_EQ_INT(proto_cert_verify(&c, org_pk, now), VARSKO_OK);
		CHECK_EQ_INT(proto_cert_to_json(&c, &back), VARSKO_OK);
		CHECK_EQ_STR(back, text);
		free(back);
		CHECK_EQ_STR(c.device, str(v, "device"));
		proto_device_id(c.sign_pk, dev);
		CHECK_EQ_STR(dev, str(v, "device"));
		proto_fingerprint(c.sign_pk, fpr);
		CHECK_EQ_STR(fpr, str(v, "fingerprint"));
		proto_buf_init(&b);
		CHECK_EQ_INT(proto_cert_signing_input(&c, &b), VARSKO_OK);
		check_buf_hex(&b, str(v, "input"), "certificate input");
		proto_buf_free(&b);
		/* Ed25519 is deterministic: signing again gives the vector's signature and device. */
		{
			struct proto_cert again;

			memcpy(&again, &c, sizeof(again));
			memset(again.sig, 0, sizeof(again.sig));
			memset(again.device, 0, sizeof(again.device));
			CHECK_EQ_INT(proto_cert_sign(&again, org_sk), VARSKO_OK);
			CHECK(memcmp(&again, &c, sizeof(c)) == 0);
		}
		nv++;
	}
	json_array_foreach(json_object_get(j, "invalid"), i, v)
	{
		struct proto_cert c;
		const char *text = str(v, "json"), *want = str(v, "error");
		int r = proto_cert_from_json(text, strlen(text), &c);

		if (r == VARSKO_OK)
			r = proto_cert_verify(&c, org_pk, time_of(str(v, "now")));
		if (strcmp(varsko_err_name(r), want) != 0)
			fprintf(stderr, "certificate vector \"%s\"\n", str(v, "desc"));
		CHECK_EQ_STR(varsko_err_name(r), want);
		nv++;
	}
	CHECK(nv >= 20);
	sodium_memzero(org_sk, sizeof(org_sk));
	sodium_memzero(org_seed, sizeof(org_seed));
	json_decref(j);
}

static void test_frames(void)
{
	json_t *j = load("frames.json"), *v;
	size_t i;
	int nv = 0;

	json_array_foreach(json_object_get(j, "valid"), i, v)
	{
		struct proto_frame f;
		const char *in = str(v, "input"), *canon = str(v, "canonical"), *detail = NULL;
		char *out = NULL, *out2 = NULL;
		size_t len = 0, len2 = 0;
		int r = proto_frame_decode(in, strlen(in), &f, &detail);

		if (r != VARSKO_OK)
			fprintf(stderr, "frame vector \"%s\": %s (%s)\n", str(v, "desc"), varsko_err_name(r), detail);
		CHECK_EQ_INT(r, VARSKO_OK);
		CHECK_EQ_INT(proto_frame_encode(&f, &out, &len), VARSKO_OK);
		CHECK_EQ_STR(out, canon);
		CHECK_EQ_INT(len, strlen(canon));
		/* The canonical form is a fixed point. */
		CHECK_EQ_INT(proto_frame_decode(canon, strlen(canon), &f, NULL), VARSKO_OK);
		CHECK_EQ_INT(proto_frame_encode(&f, &out2, &len2), VARSKO_OK);
		CHECK_EQ_STR(out2, canon);
		free(out);
		free(out2);
		nv++;
	}
	json_array_foreach(json_object_get(j, "invalid"), i, v)
	{
		struct proto_frame f;
		const char *want = str(v, "error"), *detail = NULL;
		uint8_t *raw = NULL;
		const char *in;
		size_t n;
		int r;

		if (json_object_get(v, "input_hex") != NULL) {
			raw = unhex(str(v, "input_hex"), &n);
			in = (const char *)raw;
		} else {
			in = str(v, "input");
			n = strlen(in);
		}
		memset(&f, 0xa5, sizeof(f));
		r = proto_frame_decode(in, n, &f, &detail);
		if (strcmp(varsko_err_name(r), want) != 0)
			fprintf(stderr, "frame vector \"%s\": got %s (%s)\n", str(v, "desc"), varsko_err_name(r),
			        detail ? detail : "");
		CHECK_EQ_STR(varsko_err_name(r), want);
		CHECK_EQ_INT(f.type, PROTO_T_NONE);
		CHECK(detail != NULL && detail[0] != '\0');
		free(raw);
		nv++;
	}
	CHECK(nv >= 60);
	json_decref(j);
}

int main(void)
{
	if ((vdir = getenv("VARSKO_VECTORS")) == NULL) {
		fprintf(stderr, "VARSKO_VECTORS is not set; run through meson test\n");
		return 77;
	}
	if (sodium_init() < 0)
		return 1;
	test_encoding();
	test_signatures();
	test_certificates();
	test_frames();
	return check_result();
}
