/*
 * test-userkey.c: what clients/lib/userkey.c decides without a server: the
 * check of a chain answer (every link from the root, the certificate of
 * every device against the pinned organisation key, the user and the
 * link's keys) and the device list built from a verified chain.
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
	return check_result();
}
