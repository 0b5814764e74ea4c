/*
 * test-team.c: the client side of team chains (clients/lib/team.c) without a
 * server: the pinned member key against a user chain built in-process
 * (PROTOCOL.md 16.4 step 3), the role a certificate gives, the seen-files
 * (step 4), and the JSON of a verified team chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "client.h"

#define USER  "leder-lone"
#define ADMIN "admin-ole"
#define TEAM  "team-nord"

static int64_t now;
static uint8_t org_pk[32], org_sk[64], root_pk[32], root_sk[64];

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

static json_t *cert_json(const struct dev *d, const char *user, const char *role)
{
	struct proto_cert c;
	char *text = NULL;
	json_t *o;

	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.serial = 7;
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.name, sizeof(c.name), "Lone Test");
	snprintf(c.role, sizeof(c.role), "%s", role);
	snprintf(c.team, sizeof(c.team), TEAM);
	memcpy(c.sign_pk, d->sign_pk, 32);
	memcpy(c.box_pk, d->box_pk, 32);
	c.not_before = now - 60;
	c.not_after = now + 86400;
	if (proto_cert_sign(&c, org_sk) != VARSKO_OK || proto_cert_to_json(&c, &text) != VARSKO_OK)
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

/* Sign l after head (which then follows l). */
static void follow_sign(struct chain_link *l, struct chain_head *head, const uint8_t *sk, const uint8_t *sk2)
{
	chain_link_follow(l, head);
	CHECK_EQ_INT(chain_link_sign(l, sk), VARSKO_OK);
	if (sk2 != NULL)
		CHECK_EQ_INT(chain_link_sign(l, sk2), VARSKO_OK);
	head->seq = l->seq;
	CHECK_EQ_INT(chain_link_hash(l, head->hash), VARSKO_OK);
}

/* USER's chain: uk_create (generation 1, g1) by device a, then uk_rotate to g2. */
static json_t *user_links(const struct dev *a, const struct keybox_gen *g1, const struct keybox_gen *g2)
{
	struct chain_link l[2];
	struct chain_head h;
	json_t *arr = json_array(), *o;

	memset(l, 0, sizeof(l));
	memset(&h, 0, sizeof(h));
	l[0].kind = CHAIN_KIND_USER;
	l[0].op = CHAIN_OP_UK_CREATE;
	snprintf(l[0].chain, sizeof(l[0].chain), USER);
	snprintf(l[0].device, sizeof(l[0].device), "%s", a->id);
	memcpy(l[0].device_sign_pk, a->sign_pk, 32);
	memcpy(l[0].device_box_pk, a->box_pk, 32);
	l[0].generation = 1;
	memcpy(l[0].uk_sign_pk, g1->sign_pk, 32);
	memcpy(l[0].uk_box_pk, g1->box_pk, 32);
	l[0].time = now - 30;
	follow_sign(&l[0], &h, a->sign_sk, NULL);
	l[1].kind = CHAIN_KIND_USER;
	l[1].op = CHAIN_OP_UK_ROTATE;
	snprintf(l[1].chain, sizeof(l[1].chain), USER);
	l[1].generation = 2;
	memcpy(l[1].uk_sign_pk, g2->sign_pk, 32);
	memcpy(l[1].uk_box_pk, g2->box_pk, 32);
	l[1].time = now - 20;
	follow_sign(&l[1], &h, g1->sign_sk, a->sign_sk);
	for (size_t i = 0; i < 2; i++) {
		CHECK_EQ_INT(chain_link_to_json(&l[i], &o), VARSKO_OK);
		json_array_append_new(arr, o);
	}
	return arr;
}

static void test_pin(void)
{
	struct dev a;
	struct keybox_gen *g1 = NULL, *g2 = NULL, *other = NULL;
	struct userkey_chain *uc = malloc(sizeof(*uc));
	struct chain_member m;
	json_t *links, *certs;
	char detail[256];

	CHECK(uc != NULL);
	dev_new(&a);
	CHECK_EQ_INT(keybox_gen_new(&g1, KEYBOX_USER, 1), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&g2, KEYBOX_USER, 2), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&other, KEYBOX_USER, 1), VARSKO_OK);
	links = user_links(&a, g1, g2);
	certs = json_pack("[o]", cert_json(&a, USER, "leder"));
	CHECK_EQ_INT(userkey_chain_check(links, certs, USER, org_pk, now, uc, detail, sizeof(detail)), VARSKO_OK);
	json_decref(links);
	json_decref(certs);
	CHECK_EQ_INT((int)uc->st.generation, 2);
	/* The role of the device's certificate. */
	CHECK(uc->dev[0].certified);
	CHECK_EQ_STR(uc->dev[0].role, "leder");
	/* Every generation's key, and only at its own generation. */
	CHECK(userkey_had_key(uc, 1, g1->sign_pk));
	CHECK(userkey_had_key(uc, 2, g2->sign_pk));
	CHECK(!userkey_had_key(uc, 1, g2->sign_pk));
	CHECK(!userkey_had_key(uc, 2, g1->sign_pk));
	CHECK(!userkey_had_key(uc, 3, g2->sign_pk));
	CHECK(!userkey_had_key(uc, 0, g1->sign_pk));
	/* A team chain that pinned generation 1 accepts this chain; a key it never had is refused. */
	memset(&m, 0, sizeof(m));
	snprintf(m.user, sizeof(m.user), USER);
	m.uk_generation = 1;
	memcpy(m.uk_sign_pk, g1->sign_pk, 32);
	CHECK_EQ_INT(team_pin_check(&m, uc, detail, sizeof(detail)), VARSKO_OK);
	memcpy(m.uk_sign_pk, other->sign_pk, 32);
	CHECK_EQ_INT(team_pin_check(&m, uc, detail, sizeof(detail)), VARSKO_ERR_BAD_CHAIN);
	CHECK(strstr(detail, USER) != NULL);
	/* Another user's chain never matches, whatever its keys. */
	memcpy(m.uk_sign_pk, g1->sign_pk, 32);
	snprintf(m.user, sizeof(m.user), "someone-else");
	CHECK_EQ_INT(team_pin_check(&m, uc, detail, sizeof(detail)), VARSKO_ERR_BAD_CHAIN);
	/* A certificate from another key gives no role and no certified device (the root device fails). */
	links = user_links(&a, g1, g2);
	certs = json_array();
	CHECK(userkey_chain_check(links, certs, USER, org_pk, now, uc, detail, sizeof(detail)) != VARSKO_OK);
	json_decref(links);
	json_decref(certs);
	keybox_gen_free(g1);
	keybox_gen_free(g2);
	keybox_gen_free(other);
	free(uc);
}

static void test_seen(void)
{
	char dir[] = "/tmp/test-team-XXXXXX";
	struct varsko_home *h = NULL;
	uint8_t hashes[3][CHAIN_HASH_LEN];
	struct chain_head head;
	uint64_t seen = 99;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ_INT(varsko_home_open(dir, &h), VARSKO_OK);
	randombytes_buf(hashes, sizeof(hashes));
	/* No file yet: a first look passes. */
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 3, &seen), VARSKO_OK);
	CHECK_EQ_INT((int)seen, 0);
	head.seq = 2;
	memcpy(head.hash, hashes[1], CHAIN_HASH_LEN);
	CHECK_EQ_INT(home_seen_write(h, "teams/t.seen", &head), VARSKO_OK);
	/* Longer and the same: fine. Exactly as long: fine. */
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 3, &seen), VARSKO_OK);
	CHECK_EQ_INT((int)seen, 2);
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 2, &seen), VARSKO_OK);
	/* Shorter (rolled back), or another link 2 (a fork): refused. */
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 1, &seen),
	             VARSKO_ERR_BAD_CHAIN);
	hashes[1][0] ^= 1;
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 3, &seen),
	             VARSKO_ERR_BAD_CHAIN);
	/* A damaged file. */
	CHECK_EQ_INT(home_write(h, "teams/t.seen", "x y\n", 4, 0600, 0), VARSKO_OK);
	CHECK_EQ_INT(home_seen_check(h, "teams/t.seen", (const uint8_t(*)[CHAIN_HASH_LEN])hashes, 3, &seen),
	             VARSKO_ERR_BAD_INPUT);
	/* Names a team id may give. */
	CHECK(home_part_ok("team-nord_2.x"));
	CHECK(!home_part_ok(".."));
	CHECK(!home_part_ok("a/b"));
	CHECK(!home_part_ok(""));
	(void)unlinkat(h->dirfd, "teams/t.seen", 0);
	(void)unlinkat(h->dirfd, "teams", AT_REMOVEDIR);
	varsko_home_close(h);
	(void)rmdir(dir);
}

/* A team chain made by an admin of an org chain, shown as JSON. */
static void test_team_json(void)
{
	struct keybox_gen *adm = NULL, *led = NULL;
	struct team_chain *tc = calloc(1, sizeof(*tc));
	struct chain_link l[2];
	struct chain_head h;
	char *json = NULL;
	size_t bad = 0;
	json_t *o;

	CHECK(tc != NULL);
	CHECK_EQ_INT(keybox_gen_new(&adm, KEYBOX_USER, 1), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&led, KEYBOX_USER, 1), VARSKO_OK);
	/* org: admin_add of ADMIN, signed by the root */
	memset(&l[0], 0, sizeof(l[0]));
	memset(&h, 0, sizeof(h));
	l[0].kind = CHAIN_KIND_ORG;
	l[0].op = CHAIN_OP_ADMIN_ADD;
	snprintf(l[0].user, sizeof(l[0].user), ADMIN);
	memcpy(l[0].pk, adm->sign_pk, 32);
	l[0].generation = 1;
	l[0].time = now;
	follow_sign(&l[0], &h, root_sk, NULL);
	CHECK_EQ_INT(chain_org_verify(l, 1, root_pk, &tc->org, &bad), VARSKO_OK);
	/* team: team_create of USER by the admin, then a member_add signed by the new leder (a wrong signer) */
	memset(l, 0, sizeof(l));
	memset(&h, 0, sizeof(h));
	l[0].kind = CHAIN_KIND_TEAM;
	l[0].op = CHAIN_OP_TEAM_CREATE;
	snprintf(l[0].chain, sizeof(l[0].chain), TEAM);
	snprintf(l[0].user, sizeof(l[0].user), USER);
	l[0].role = CHAIN_ROLE_LEDER;
	l[0].generation = 1;
	memcpy(l[0].uk_sign_pk, led->sign_pk, 32);
	l[0].time = now;
	follow_sign(&l[0], &h, adm->sign_sk, NULL);
	CHECK_EQ_INT(chain_team_verify(l, 1, TEAM, &tc->org, &tc->st, &bad), VARSKO_OK);
	tc->cur[0].generation = 2;
	CHECK_EQ_INT(team_member_index(&tc->st, USER), 0);
	CHECK_EQ_INT(team_member_index(&tc->st, ADMIN), -1);
	CHECK_EQ_INT(team_json(tc, TEAM, ADMIN, NULL, &json), VARSKO_OK);
	o = json_loads(json, 0, NULL);
	CHECK(o != NULL);
	CHECK_EQ_INT((int)json_integer_value(json_object_get(o, "seq")), 1);
	CHECK(json_is_true(json_object_get(o, "admin")));
	CHECK(json_is_false(json_object_get(o, "leder")));
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "members"), 0), "user")),
	             USER);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "members"), 0), "role")),
	             "leder");
	CHECK_EQ_INT((int)json_integer_value(
	                     json_object_get(json_array_get(json_object_get(o, "members"), 0), "current_generation")),
	             2);
	json_decref(o);
	free(json);
	/* A team_create signed by a non-admin is not_member, as the server would say. */
	memset(&h, 0, sizeof(h));
	l[0].n_sigs = 0;
	follow_sign(&l[0], &h, led->sign_sk, NULL);
	memset(&tc->st, 0, sizeof(tc->st));
	CHECK_EQ_INT(chain_team_extend(&tc->st, &l[0], &tc->org), VARSKO_ERR_NOT_MEMBER);
	keybox_gen_free(adm);
	keybox_gen_free(led);
	free(tc);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	now = (int64_t)time(NULL);
	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(root_pk, root_sk);
	test_pin();
	test_seen();
	test_team_json();
	return check_result();
}
