/*
 * test-cert.c: certificate signing, verification and JSON (proto/cert.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"

static uint8_t org_pk[32], org_sk[64], dev_pk[32], dev_sk[64];

#define NB 1767225600LL /* 2026-01-01T00:00:00Z */
#define NA 1798761600LL /* 2027-01-01T00:00:00Z */

static void make(struct proto_cert *c)
{
	memset(c, 0, sizeof(*c));
	c->version = PROTO_VERSION;
	c->serial = 42;
	strcpy(c->user, "u-1001");
	strcpy(c->name, "Bjørk Åkesen");
	strcpy(c->role, "fagperson");
	c->n_institutions = 2;
	strcpy(c->institutions[0], "inst-a");
	strcpy(c->institutions[1], "inst-b");
	memcpy(c->sign_pk, dev_pk, 32);
	memset(c->box_pk, 0x33, 32);
	c->not_before = NB;
	c->not_after = NA;
}

static void test_sign_verify(void)
{
	struct proto_cert c, t;
	char dev[PROTO_DEVICE_ID_LEN + 1];
	uint8_t other_pk[32], other_sk[64];

	make(&c);
	strcpy(c.device, "stale");
	CHECK_EQ_INT(proto_cert_sign(&c, org_sk), VARSKO_OK);
	proto_device_id(dev_pk, dev);
	CHECK_EQ_STR(c.device, dev);
	CHECK_EQ_INT(proto_cert_verify(&c, org_pk, NB + 1000), VARSKO_OK);
	/* Window edges are inclusive. */
	CHECK_EQ_INT(proto_cert_verify(&c, org_pk, NB), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&c, org_pk, NA), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&c, org_pk, NB - 1), VARSKO_ERR_DEVICE_EXPIRED);
	CHECK_EQ_INT(proto_cert_verify(&c, org_pk, NA + 1), VARSKO_ERR_DEVICE_EXPIRED);

	crypto_sign_keypair(other_pk, other_sk);
	CHECK_EQ_INT(proto_cert_verify(&c, other_pk, NB + 1), VARSKO_ERR_BAD_CERT);
	/* A forged certificate is bad_cert even outside its window. */
	CHECK_EQ_INT(proto_cert_verify(&c, other_pk, NA + 1), VARSKO_ERR_BAD_CERT);

	/* Each signed field matters. */
#define TAMPER(stmt)                                                                                                   \
	do {                                                                                                           \
		t = c;                                                                                                 \
		stmt;                                                                                                  \
		CHECK_EQ_INT(proto_cert_verify(&t, org_pk, NB + 1), VARSKO_ERR_BAD_CERT);                              \
	} while (0)
	TAMPER(t.serial++);
	TAMPER(t.user[0] = 'v');
	TAMPER(strcpy(t.name, "Bjørk Åkesen2"));
	TAMPER(strcpy(t.role, "admin"));
	TAMPER(strcpy(t.team, "team-ung"));
	TAMPER(t.n_institutions = 1);
	TAMPER(strcpy(t.institutions[1], "inst-c"));
	TAMPER(strcpy(t.institutions[0], "inst-b"); strcpy(t.institutions[1], "inst-a"));
	TAMPER(t.box_pk[31] ^= 1);
	TAMPER(t.not_before--);
	TAMPER(t.not_after++);
	TAMPER(t.sig[10] ^= 0x80);
	TAMPER(t.version = 2);
	TAMPER(t.n_institutions = PROTO_INST_MAX + 1);
	/* Device key swapped: device id no longer matches. */
	TAMPER(memcpy(t.sign_pk, other_pk, 32));
	/* Device id edited, even to a value that re-signs fine, must match the key. */
	TAMPER(strcpy(t.device, "d-0000000000000000"));
	TAMPER(memset(t.user, 'x', sizeof(t.user))); /* not terminated */
	TAMPER(memset(t.institutions[1], 'x', sizeof(t.institutions[1])));
#undef TAMPER

	/* A certificate with a wrong device id signed by the organisation still fails. */
	t = c;
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_OK);
	strcpy(t.device, "d-0000000000000000");
	{
		struct proto_buf b;

		proto_buf_init(&b);
		CHECK_EQ_INT(proto_cert_signing_input(&t, &b), VARSKO_OK);
		CHECK_EQ_INT(proto_sign(t.sig, &b, org_sk), VARSKO_OK);
		proto_buf_free(&b);
	}
	CHECK_EQ_INT(proto_cert_verify(&t, org_pk, NB + 1), VARSKO_ERR_BAD_CERT);

	/* Signing refuses what could not be encoded. */
	make(&t);
	t.version = 2;
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_ERR_BAD_INPUT);
	make(&t);
	strcpy(t.name, "line\nbreak");
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_ERR_BAD_INPUT);
	make(&t);
	t.serial = 0;
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_ERR_BAD_INPUT);
	make(&t);
	t.not_after = -1;
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_ERR_BAD_INPUT);
	make(&t);
	t.n_institutions = 17;
	CHECK_EQ_INT(proto_cert_sign(&t, org_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_cert_sign(NULL, org_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_cert_verify(NULL, org_pk, 0), VARSKO_ERR_BAD_CERT);
	sodium_memzero(other_sk, sizeof(other_sk));
}

static void test_json(void)
{
	struct proto_cert c, d;
	char *text = NULL, *text2 = NULL, *big;

	make(&c);
	c.n_institutions = 0;
	memset(c.institutions, 0, sizeof(c.institutions)); /* unused slots do not travel */
	strcpy(c.team, "team-ung");
	strcpy(c.role, "myndighed");
	CHECK_EQ_INT(proto_cert_sign(&c, org_sk), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_to_json(&c, &text), VARSKO_OK);
	CHECK(text != NULL && text[0] == '{');
	CHECK(strstr(text, "\"institutions\":[]") != NULL);
	CHECK(strstr(text, "\"not_before\":\"2026-01-01T00:00:00Z\"") != NULL);
	CHECK(strstr(text, "Bjørk Åkesen") != NULL); /* UTF-8 kept, not escaped */
	CHECK_EQ_INT(proto_cert_from_json(text, strlen(text), &d), VARSKO_OK);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	CHECK_EQ_INT(proto_cert_verify(&d, org_pk, NB + 5), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_to_json(&d, &text2), VARSKO_OK);
	CHECK_EQ_STR(text2, text);
	free(text2);
	text2 = NULL;

	/* Limits: 16 institutions of 64 bytes and a 128-byte name are fine. */
	make(&c);
	c.n_institutions = PROTO_INST_MAX;
	for (int i = 0; i < PROTO_INST_MAX; i++) {
		memset(c.institutions[i], 'a' + i, PROTO_ID_MAX);
		c.institutions[i][PROTO_ID_MAX] = '\0';
	}
	memset(c.name, 'n', PROTO_NAME_MAX);
	c.name[PROTO_NAME_MAX] = '\0';
	c.serial = (uint64_t)INT64_MAX;
	CHECK_EQ_INT(proto_cert_sign(&c, org_sk), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_to_json(&c, &text2), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_from_json(text2, strlen(text2), &d), VARSKO_OK);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	free(text2);
	c.serial = (uint64_t)INT64_MAX + 1;
	CHECK_EQ_INT(proto_cert_to_json(&c, &text2), VARSKO_ERR_BAD_INPUT);
	CHECK(text2 == NULL);

	/* Parse errors; *out is zeroed. */
	memset(&d, 0x5a, sizeof(d));
	CHECK_EQ_INT(proto_cert_from_json("{}", 2, &d), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(d.serial, 0);
	CHECK_EQ_INT(proto_cert_from_json("", 0, &d), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(proto_cert_from_json("nul", 3, &d), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(proto_cert_from_json(text, strlen(text) - 1, &d), VARSKO_ERR_BAD_JSON);
	/* Length is what counts, not a NUL: the prefix up to the last byte is the object. */
	CHECK_EQ_INT(proto_cert_from_json(text, strlen(text), &d), VARSKO_OK);
	if ((big = malloc(PROTO_FRAME_MAX + 2)) != NULL) {
		memset(big, ' ', PROTO_FRAME_MAX + 1);
		memcpy(big, text, strlen(text));
		big[PROTO_FRAME_MAX + 1] = '\0';
		CHECK_EQ_INT(proto_cert_from_json(big, PROTO_FRAME_MAX, &d), VARSKO_OK);
		CHECK_EQ_INT(proto_cert_from_json(big, PROTO_FRAME_MAX + 1, &d), VARSKO_ERR_TOO_LARGE);
		free(big);
	}
	{
		/* The type of each member is checked: replace the team string with a number. */
		char *p = strstr(text, "\"team\":\"team-ung\"");
		char *copy = strdup(text);

		CHECK(p != NULL && copy != NULL);
		if (p != NULL && copy != NULL) {
			memcpy(copy + (p - text), "\"team\":0000000000", 17);
			CHECK_EQ_INT(proto_cert_from_json(copy, strlen(copy), &d),
			             VARSKO_ERR_BAD_JSON); /* leading zeros */
			memcpy(copy + (p - text), "\"team\":1234567890", 17);
			CHECK_EQ_INT(proto_cert_from_json(copy, strlen(copy), &d), VARSKO_ERR_BAD_FRAME);
			memcpy(copy + (p - text), "\"team\":\"        \"", 17);
			CHECK_EQ_INT(proto_cert_from_json(copy, strlen(copy), &d), VARSKO_ERR_BAD_FRAME);
		}
		free(copy);
	}
	CHECK_EQ_INT(proto_cert_to_json(NULL, &text2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_cert_to_json(&c, NULL), VARSKO_ERR_BAD_INPUT);
	free(text);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(dev_pk, dev_sk);
	test_sign_verify();
	test_json();
	sodium_memzero(org_sk, sizeof(org_sk));
	sodium_memzero(dev_sk, sizeof(dev_sk));
	return check_result();
}
