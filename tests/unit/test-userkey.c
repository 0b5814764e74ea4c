/*
 * test-userkey.c: what clients/lib/userkey.c decides without a server: the
 * check of a chain answer (every link from the root, the certificate of
 * every device against the pinned organisation key, the user and the
 * link's keys) and the device list built from a verified chain; and what
 * clients/lib/approve.c derives without a server (PROTOCOL.md 15.7): the
 * commitment, the nonce of the code, typed codes and approval ids.
 *
 * Links the static core of the library (libvarsko_dep) so the internal
 * functions of clients/lib/client.h are reachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "check.h"
#include "client.h"

#define USER "laerer-anna"

static int64_t now;
static uint8_t org_pk[32], org_sk[64], org2_pk[32], org2_sk[64];

struct dev {
	uint8_t sign_pk[32], sign_sk[64], box_pk[32], box_sk[32];
	char id[PROTO_DEVICE_ID_LEN + 1];
};

static void dev_new(struct dev *d)
{
	crypto_sign_keypair(d->sign_pk, d->sign_sk);
	crypto_box_keypair(d->box_pk, d->box_sk);
	proto_device_id(d->sign_pk, d->id);
}

/* A certificate of d for user, signed by sk, valid from nb to na. */
static json_t *cert_json(const struct dev *d, const char *user, const uint8_t sk[64], int64_t nb, int64_t na)
{
	struct proto_cert c;
	char *text = NULL;
	json_t *o;

	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.serial = 9;
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.name, sizeof(c.name), "Anna Test");
	snprintf(c.role, sizeof(c.role), "fagperson");
	c.n_institutions = 1;
	snprintf(c.institutions[0], sizeof(c.institutions[0]), "inst-1");
	memcpy(c.sign_pk, d->sign_pk, 32);
	memcpy(c.box_pk, d->box_pk, 32);
	c.not_before = nb;
	c.not_after = na;
	if (proto_cert_sign(&c, sk) != VARSKO_OK || proto_cert_to_json(&c, &text) != VARSKO_OK)
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

static json_t *good_cert(const struct dev *d)
{
	return cert_json(d, USER, org_sk, now - 60, now + 86400);
}

/* A chain: uk_create by a, device_add of b by the user key g. */
static void make_links(struct chain_link l[2], const struct dev *a, const struct dev *b, const struct keybox_gen *g)
{
	struct chain_head h;

	memset(l, 0, 2 * sizeof(*l));
	memset(&h, 0, sizeof(h));
	l[0].kind = CHAIN_KIND_USER;
	l[0].op = CHAIN_OP_UK_CREATE;
	snprintf(l[0].chain, sizeof(l[0].chain), USER);
	snprintf(l[0].device, sizeof(l[0].device), "%s", a->id);
	memcpy(l[0].device_sign_pk, a->sign_pk, 32);
	memcpy(l[0].device_box_pk, a->box_pk, 32);
	l[0].generation = 1;
	memcpy(l[0].uk_sign_pk, g->sign_pk, 32);
	memcpy(l[0].uk_box_pk, g->box_pk, 32);
	l[0].time = now - 30;
	chain_link_follow(&l[0], &h);
	CHECK_EQ_INT(chain_link_sign(&l[0], a->sign_sk), VARSKO_OK);
	l[1].kind = CHAIN_KIND_USER;
	l[1].op = CHAIN_OP_DEVICE_ADD;
	snprintf(l[1].chain, sizeof(l[1].chain), USER);
	snprintf(l[1].device, sizeof(l[1].device), "%s", b->id);
	memcpy(l[1].device_sign_pk, b->sign_pk, 32);
	memcpy(l[1].device_box_pk, b->box_pk, 32);
	l[1].time = now - 10;
	h.seq = 1;
	CHECK_EQ_INT(chain_link_hash(&l[0], h.hash), VARSKO_OK);
	chain_link_follow(&l[1], &h);
	CHECK_EQ_INT(chain_link_sign(&l[1], g->sign_sk), VARSKO_OK);
}

static json_t *links_json(const struct chain_link *l, size_t n)
{
	json_t *arr = json_array(), *o;

	for (size_t i = 0; i < n; i++) {
		if (chain_link_to_json(&l[i], &o) != VARSKO_OK)
			return arr;
		json_array_append_new(arr, o);
	}
	return arr;
}

static int check(json_t *links, json_t *certs, const char *user, struct userkey_chain *uc, char *detail, size_t cap)
{
	int r = userkey_chain_check(links, certs, user, org_pk, now, uc, detail, cap);

	json_decref(links);
	json_decref(certs);
	return r;
}

static void test_chain_check(void)
{
	struct dev a, b, x;
	struct keybox_gen *g = NULL;
	struct chain_link l[2], bad[2];
	struct userkey_chain *uc = malloc(sizeof(*uc));
	char detail[300];
	json_t *certs;

	dev_new(&a);
	dev_new(&b);
	dev_new(&x);
	CHECK(uc != NULL);
	CHECK_EQ_INT(keybox_gen_new(&g, KEYBOX_USER, 1), VARSKO_OK);
	if (uc == NULL || g == NULL)
		return;
	make_links(l, &a, &b, g);

	/* An empty chain: no user key yet. */
	CHECK_EQ_INT(check(json_array(), json_array(), USER, uc, detail, sizeof(detail)), VARSKO_OK);
	CHECK_EQ_INT(uc->st.generation, 0);
	CHECK_EQ_INT(uc->st.n_devices, 0);

	/* The good chain with both certificates. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o,o]", good_cert(&a), good_cert(&b)), USER, uc, detail,
	                   sizeof(detail)),
	             VARSKO_OK);
	CHECK_EQ_INT(uc->st.generation, 1);
	CHECK_EQ_INT(uc->st.n_devices, 2);
	CHECK_EQ_INT(userkey_find_device(uc, a.id), 0);
	CHECK_EQ_INT(userkey_find_device(uc, b.id), 1);
	CHECK_EQ_INT(userkey_find_device(uc, x.id), -1);
	CHECK(uc->dev[0].certified && uc->dev[1].certified);
	CHECK_EQ_INT(uc->dev[0].added_seq, 1);
	CHECK_EQ_INT(uc->dev[1].added_seq, 2);
	CHECK_EQ_INT(uc->dev[1].added_time, now - 10);
	CHECK(sodium_memcmp(uc->st.uk_sign_pk, g->sign_pk, 32) == 0);

	/* A later device without a certificate, or with one expired, or for another user: listed, not relied on. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o]", good_cert(&a)), USER, uc, detail, sizeof(detail)),
	             VARSKO_OK);
	CHECK(uc->dev[0].certified && !uc->dev[1].certified);
	CHECK_EQ_INT(check(links_json(l, 2),
	                   json_pack("[o,o]", good_cert(&a), cert_json(&b, USER, org_sk, now - 7200, now - 3600)), USER,
	                   uc, detail, sizeof(detail)),
	             VARSKO_OK);
	CHECK(!uc->dev[1].certified);
	CHECK_EQ_INT(check(links_json(l, 2),
	                   json_pack("[o,o]", good_cert(&a), cert_json(&b, "laerer-jonas", org_sk, now - 60, now + 60)),
	                   USER, uc, detail, sizeof(detail)),
	             VARSKO_OK);
	CHECK(!uc->dev[1].certified);
	/* A certificate with another device's keys does not count for b. */
	certs = json_pack("[o,o]", good_cert(&a), good_cert(&x));
	json_object_set_new(json_array_get(certs, 1), "device", json_string(b.id));
	CHECK_EQ_INT(check(links_json(l, 2), certs, USER, uc, detail, sizeof(detail)), VARSKO_OK);
	CHECK(!uc->dev[1].certified);

	/* The root device must have the organisation's certificate for this user and its keys. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o]", good_cert(&b)), USER, uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	CHECK(strstr(detail, "first device") != NULL);
	CHECK_EQ_INT(uc->st.generation, 0);
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o]", cert_json(&a, USER, org2_sk, now - 60, now + 60)), USER,
	                   uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(check(links_json(l, 2),
	                   json_pack("[o]", cert_json(&a, "laerer-jonas", org_sk, now - 60, now + 60)), USER, uc,
	                   detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	/* An expired root certificate still roots the chain (it was the organisation's), but is not current. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o]", cert_json(&a, USER, org_sk, now - 7200, now - 3600)),
	                   USER, uc, detail, sizeof(detail)),
	             VARSKO_OK);
	CHECK(!uc->dev[0].certified);
	/* A certificate that does not parse. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o,{s:s}]", good_cert(&a), "user", USER), USER, uc, detail,
	                   sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);

	/* Links: a broken prev, a bad signature, a link by the wrong key, another user's chain, garbage. */
	memcpy(bad, l, sizeof(bad));
	bad[1].prev[0] ^= 1;
	CHECK_EQ_INT(check(links_json(bad, 2), json_pack("[o]", good_cert(&a)), USER, uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CHAIN);
	CHECK(strstr(detail, "link 2") != NULL);
	memcpy(bad, l, sizeof(bad));
	bad[1].sigs[0].sig[5] ^= 1;
	CHECK_EQ_INT(check(links_json(bad, 2), json_pack("[o]", good_cert(&a)), USER, uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_SIGNATURE);
	memcpy(bad, l, sizeof(bad));
	bad[1].n_sigs = 0;
	CHECK_EQ_INT(chain_link_sign(&bad[1], a.sign_sk), VARSKO_OK); /* device_add by a device, not the user key */
	CHECK_EQ_INT(check(links_json(bad, 2), json_pack("[o]", good_cert(&a)), USER, uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(
	        check(links_json(l, 2), json_pack("[o]", good_cert(&a)), "laerer-jonas", uc, detail, sizeof(detail)),
	        VARSKO_ERR_BAD_CHAIN);
	CHECK_EQ_INT(check(links_json(&l[1], 1), json_array(), USER, uc, detail, sizeof(detail)), VARSKO_ERR_BAD_CHAIN);
	CHECK_EQ_INT(check(json_pack("[{s:s}]", "op", "uk_create"), json_array(), USER, uc, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CHAIN);
	CHECK_EQ_INT(check(json_object(), json_array(), USER, uc, detail, sizeof(detail)), VARSKO_ERR_BAD_FRAME);

	keybox_gen_free(g);
	free(uc);
}

static void test_devices_json(void)
{
	struct dev a, b;
	struct keybox_gen *g = NULL;
	struct chain_link l[2];
	struct userkey_chain *uc = malloc(sizeof(*uc));
	struct keybox_set *s = malloc(sizeof(*s));
	struct keybox_recipient rc[1];
	char detail[300], kid[KEYBOX_KEYID_MAX + 1], *out = NULL;
	json_t *j, *devs;

	dev_new(&a);
	dev_new(&b);
	CHECK(uc != NULL && s != NULL);
	CHECK_EQ_INT(keybox_gen_new(&g, KEYBOX_USER, 1), VARSKO_OK);
	if (uc == NULL || s == NULL || g == NULL)
		return;
	make_links(l, &a, &b, g);

	CHECK_EQ_INT(check(json_array(), json_array(), USER, uc, detail, sizeof(detail)), VARSKO_OK);
	CHECK_EQ_INT(userkey_devices_json(uc, USER, a.id, NULL, 0, 0, &out), VARSKO_OK);
	j = json_loads(out, 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "state")), "none");
	CHECK_EQ_INT(json_array_size(json_object_get(j, "devices")), 0);
	json_decref(j);
	varsko_free(out);

	/* Only a in the chain and in the set. */
	CHECK_EQ_INT(check(links_json(l, 1), json_pack("[o]", good_cert(&a)), USER, uc, detail, sizeof(detail)),
	             VARSKO_OK);
	snprintf(kid, sizeof(kid), "device:%s", a.id);
	rc[0].id = kid;
	memcpy(rc[0].box_pk, a.box_pk, 32);
	CHECK_EQ_INT(keybox_set_make(s, "user:" USER, g, NULL, rc, 1, g->sign_sk, NULL), VARSKO_OK);
	CHECK_EQ_INT(userkey_devices_json(uc, USER, a.id, s, 1, 0, &out), VARSKO_OK);
	j = json_loads(out, 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "state")), "ok");
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "generation")), 1);
	devs = json_object_get(j, "devices");
	CHECK_EQ_INT(json_array_size(devs), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(devs, 0), "device")), a.id);
	CHECK(json_is_true(json_object_get(json_array_get(devs, 0), "this")));
	CHECK(json_is_true(json_object_get(json_array_get(devs, 0), "key_box")));
	CHECK(json_is_true(json_object_get(json_array_get(devs, 0), "certified")));
	CHECK(json_is_false(json_object_get(json_array_get(devs, 0), "revoked")));
	json_decref(j);
	varsko_free(out);
	/* The same chain seen from b, which it does not name. */
	CHECK_EQ_INT(userkey_devices_json(uc, USER, b.id, s, 0, 0, &out), VARSKO_OK);
	j = json_loads(out, 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "state")), "not_cross_signed");
	CHECK(json_is_false(json_object_get(json_array_get(json_object_get(j, "devices"), 0), "this")));
	json_decref(j);
	varsko_free(out);
	/* a with a setup still pending. */
	CHECK_EQ_INT(userkey_devices_json(uc, USER, a.id, s, 1, 1, &out), VARSKO_OK);
	j = json_loads(out, 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "state")), "incomplete");
	json_decref(j);
	varsko_free(out);
	/* Both in the chain, the set only for a: b is listed without a key box; from b: incomplete. */
	CHECK_EQ_INT(check(links_json(l, 2), json_pack("[o,o]", good_cert(&a), good_cert(&b)), USER, uc, detail,
	                   sizeof(detail)),
	             VARSKO_OK);
	CHECK_EQ_INT(userkey_devices_json(uc, USER, b.id, s, 0, 0, &out), VARSKO_OK);
	j = json_loads(out, 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "state")), "incomplete");
	devs = json_object_get(j, "devices");
	CHECK_EQ_INT(json_array_size(devs), 2);
	CHECK(json_is_false(json_object_get(json_array_get(devs, 1), "key_box")));
	CHECK(json_is_true(json_object_get(json_array_get(devs, 1), "this")));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(devs, 1), "seq")), 2);
	json_decref(j);
	varsko_free(out);

	keybox_gen_free(g);
	free(s);
	free(uc);
}

/* ---- approval (PROTOCOL.md 15.7) ------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

static int hex_is(const uint8_t *p, size_t n, const char *hex)
{
	char buf[2 * 64 + 1];

	if (n > 64 || strlen(hex) != 2 * n)
		return 0;
	sodium_bin2hex(buf, sizeof(buf), p, n);
	return strcmp(buf, hex) == 0;
}

/* enc(...) of section 7 written out by hand: each field a 4-byte big-endian length and its bytes. */
static size_t put_field(uint8_t *out, const void *p, size_t n)
{
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, p, n);
	return 4 + n;
}

static void test_approval_derivations(void)
{
	uint8_t n_new[32], n_old[32], sign_pk[32], box_pk[32], old_pk[32], got[32], want[32], in[256];
	char code[KEYBOX_APPROVAL_DIGITS + 1], code2[KEYBOX_APPROVAL_DIGITS + 1];
	size_t n;

	fill(n_new, 32, 0);
	fill(sign_pk, 32, 32);
	fill(box_pk, 32, 64);
	fill(n_old, 32, 96);
	fill(old_pk, 32, 128);

	/* The commitment (proto/keybox.c, which the client uses): the layout written out here, a value from hashlib. */
	CHECK_EQ_INT(keybox_approval_commit(got, n_new, sign_pk, box_pk), VARSKO_OK);
	n = put_field(in, "varsko-approve-commit-v1", 24);
	n += put_field(in + n, n_new, 32);
	n += put_field(in + n, sign_pk, 32);
	n += put_field(in + n, box_pk, 32);
	crypto_hash_sha256(want, in, n);
	CHECK(memcmp(got, want, 32) == 0);
	CHECK(hex_is(got, 32, "a8ed3916da4a389327458b42a6b2db796dfb76b91eb4f19ae2a8375a8fe29be2"));
	/* Every input counts. */
	box_pk[31] ^= 1;
	CHECK_EQ_INT(keybox_approval_commit(want, n_new, sign_pk, box_pk), VARSKO_OK);
	CHECK(memcmp(got, want, 32) != 0);
	box_pk[31] ^= 1;
	n_new[0] ^= 0x80;
	CHECK_EQ_INT(keybox_approval_commit(want, n_new, sign_pk, box_pk), VARSKO_OK);
	CHECK(memcmp(got, want, 32) != 0);
	n_new[0] ^= 0x80;

	/* The nonce of the code: n_old first, then n_new. */
	CHECK_EQ_INT(keybox_approval_nonce(got, n_old, n_new), VARSKO_OK);
	n = put_field(in, "varsko-approve-nonce-v1", 23);
	n += put_field(in + n, n_old, 32);
	n += put_field(in + n, n_new, 32);
	crypto_hash_sha256(want, in, n);
	CHECK(memcmp(got, want, 32) == 0);
	CHECK(hex_is(got, 32, "ce815653823b64865196ac58e993037d3b1cdcd355d053ac2a73b7077c2086ab"));
	CHECK_EQ_INT(keybox_approval_nonce(want, n_new, n_old), VARSKO_OK);
	CHECK(memcmp(got, want, 32) != 0);

	/* The code of 14.6 with that nonce (value from Python), the same as keybox_approval_code() of it. */
	CHECK_EQ_INT(approve_code_of(code, n_old, n_new, old_pk, sign_pk, box_pk), VARSKO_OK);
	CHECK_EQ_STR(code, "754462");
	CHECK_EQ_INT(keybox_approval_code(code2, got, old_pk, sign_pk, box_pk), VARSKO_OK);
	CHECK_EQ_STR(code2, code);
	/* Another old device's key gives another code (here). */
	old_pk[0] ^= 1;
	CHECK_EQ_INT(approve_code_of(code2, n_old, n_new, old_pk, sign_pk, box_pk), VARSKO_OK);
	CHECK(strcmp(code, code2) != 0);
}

/* Both sides of one exchange with random keys, as approve.c runs them: the codes agree; a swap does not. */
static void test_approval_exchange(void)
{
	struct dev nw, old, mallory;
	uint8_t n_new[32], n_old[32], commit[32], check[32];
	char code_new[KEYBOX_APPROVAL_DIGITS + 1], code_old[KEYBOX_APPROVAL_DIGITS + 1];
	int differ = 0;

	dev_new(&nw);
	dev_new(&old);
	dev_new(&mallory);
	randombytes_buf(n_new, 32);
	randombytes_buf(n_old, 32);
	/* Step 1 (new), 3 (new reveals), 4 (old checks the commitment, both compute). */
	CHECK_EQ_INT(keybox_approval_commit(commit, n_new, nw.sign_pk, nw.box_pk), VARSKO_OK);
	CHECK_EQ_INT(keybox_approval_commit(check, n_new, nw.sign_pk, nw.box_pk), VARSKO_OK);
	CHECK(sodium_memcmp(commit, check, 32) == 0);
	CHECK_EQ_INT(approve_code_of(code_new, n_old, n_new, old.sign_pk, nw.sign_pk, nw.box_pk), VARSKO_OK);
	CHECK_EQ_INT(approve_code_of(code_old, n_old, n_new, old.sign_pk, nw.sign_pk, nw.box_pk), VARSKO_OK);
	CHECK_EQ_INT(keybox_approval_equal(code_new, code_old), VARSKO_OK);
	/* A device slipped in (another certificate behind the same commitment): the commitment does not open. */
	CHECK_EQ_INT(keybox_approval_commit(check, n_new, mallory.sign_pk, mallory.box_pk), VARSKO_OK);
	CHECK(sodium_memcmp(commit, check, 32) != 0);
	/* Over many random swaps of the new device the codes almost never agree (2^-19 each). */
	for (int i = 0; i < 64; i++) {
		dev_new(&mallory);
		CHECK_EQ_INT(approve_code_of(code_new, n_old, n_new, old.sign_pk, mallory.sign_pk, mallory.box_pk),
		             VARSKO_OK);
		differ += keybox_approval_equal(code_new, code_old) == VARSKO_ERR_APPROVAL_FAILED;
	}
	CHECK(differ >= 63);
}

static void test_approval_typed(void)
{
	char out[KEYBOX_APPROVAL_DIGITS + 1];

	CHECK_EQ_INT(approve_code_typed("123456", out), VARSKO_OK);
	CHECK_EQ_STR(out, "123456");
	CHECK_EQ_INT(approve_code_typed("123 456", out), VARSKO_OK);
	CHECK_EQ_STR(out, "123456");
	CHECK_EQ_INT(approve_code_typed(" 043-304\t", out), VARSKO_OK);
	CHECK_EQ_STR(out, "043304");
	CHECK_EQ_INT(approve_code_typed("12345", out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(approve_code_typed("1234567", out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(approve_code_typed("12345a", out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(approve_code_typed("１２３４５６", out), VARSKO_ERR_BAD_INPUT); /* full-width digits */
	CHECK_EQ_INT(approve_code_typed("", out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(approve_code_typed(NULL, out), VARSKO_ERR_BAD_INPUT);
	{
		char many[100];

		memset(many, ' ', sizeof(many));
		memcpy(many + 80, "123456", 6);
		many[86] = '\0';
		CHECK_EQ_INT(approve_code_typed(many, out), VARSKO_ERR_BAD_INPUT); /* longer than APPROVE_TYPED_MAX */
	}

	CHECK(approve_id_valid("a-0123456789abcdef"));
	CHECK(!approve_id_valid("a-0123456789ABCDEF"));
	CHECK(!approve_id_valid("a-0123456789abcde"));
	CHECK(!approve_id_valid("a-0123456789abcdef0"));
	CHECK(!approve_id_valid("b-0123456789abcdef"));
	CHECK(!approve_id_valid(""));
	CHECK(!approve_id_valid(NULL));
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	now = (int64_t)time(NULL);
	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(org2_pk, org2_sk);
	test_chain_check();
	test_devices_json();
	test_approval_derivations();
	test_approval_exchange();
	test_approval_typed();
	return check_result();
}
