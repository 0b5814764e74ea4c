/*
 * test-chain.c: the hash-linked signed chains of the key model
 * (proto/chain.c). Byte-exact comparison with the independent Python
 * implementation (proto/vectors/chain-gen.py -> chain.json): every link's
 * JSON text, signing input, hash and signatures, the states the org, user,
 * team and thread chains verify to, every invalid chain's error and refused
 * link, every invalid link text's error. Then hand-written checks of the
 * states: the members, leders and revoked devices, the thread's creator
 * rights, departed members and members added again, links made with
 * chain_link_follow() and chain_link_sign(), the size bounds, and that a
 * failed extend leaves the state as it was.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "check.h"

static void hex2(const char *h, uint8_t *out, size_t n)
{
	if (h == NULL || strlen(h) != 2 * n)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (s == NULL)
		abort();
	return s;
}

static const json_t *jget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (v == NULL)
		abort();
	return v;
}

static int same_hex(const uint8_t *p, size_t n, const char *want_hex)
{
	uint8_t *want;
	int same;

	if (strlen(want_hex) != 2 * n)
		return 0;
	if ((want = malloc(n + 1)) == NULL)
		abort();
	hex2(want_hex, want, n);
	same = memcmp(p, want, n) == 0;
	free(want);
	return same;
}

static void keys_from_seed(const char *hex, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	hex2(hex, seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

static json_t *v_root;
static uint8_t root_pk[32], root_sk[64];
static struct chain_org_state v_org;
static struct chain_user_state v_user;
static struct chain_team_state v_team;

/* A link from its text, which must parse. */
static void parse_link(const char *text, struct chain_link *l)
{
	int r = chain_link_from_text(text, strlen(text), l);

	CHECK_EQ_INT(r, VARSKO_OK);
	if (r != VARSKO_OK)
		fprintf(stderr, "  does not parse: %s\n", text);
}

/*
 * One valid link of the vectors: parse, signing input, hash, signatures,
 * JSON text, the same signatures from chain_link_follow() and
 * chain_link_sign() with the signers' seeds, and the head it leaves.
 */
static void check_vector_link(const json_t *rec, const struct chain_head *head, struct chain_link *l)
{
	const json_t *sigs = jget(rec, "sigs"), *seeds = jget(rec, "signer_seeds");
	struct chain_link l2;
	struct proto_buf b;
	uint8_t h[32], pk[32], sk[64];
	char *text = NULL;
	size_t len = 0;

	parse_link(jstr(rec, "json"), l);
	proto_buf_init(&b);
	CHECK_EQ_INT(chain_link_signing_input(l, &b), VARSKO_OK);
	CHECK(b.len == strlen(jstr(rec, "signing_input")) / 2 && same_hex(b.p, b.len, jstr(rec, "signing_input")));
	proto_buf_free(&b);
	CHECK_EQ_INT(chain_link_hash(l, h), VARSKO_OK);
	CHECK(same_hex(h, 32, jstr(rec, "hash")));
	CHECK_EQ_INT(l->n_sigs, json_array_size(sigs));
	for (size_t i = 0; i < l->n_sigs && i < json_array_size(sigs); i++)
		CHECK(same_hex(l->sigs[i].sig, 64, json_string_value(json_array_get(sigs, i))));
	CHECK_EQ_INT(chain_link_to_text(l, &text, &len), VARSKO_OK);
	CHECK_EQ_STR(text, jstr(rec, "json"));
	CHECK_EQ_INT(len, strlen(jstr(rec, "json")));
	free(text);

	/* The same link made by a client: follow the head, sign with each signer in order. */
	memcpy(&l2, l, sizeof(l2));
	memset(l2.prev, 0xee, sizeof(l2.prev));
	l2.seq = 99;
	chain_link_follow(&l2, head);
	CHECK_EQ_INT(l2.n_sigs, 0);
	for (size_t i = 0; i < json_array_size(seeds); i++) {
		keys_from_seed(json_string_value(json_array_get(seeds, i)), pk, sk);
		CHECK_EQ_INT(chain_link_sign(&l2, sk), VARSKO_OK);
		sodium_memzero(sk, sizeof(sk));
	}
	CHECK(memcmp(&l2, l, sizeof(l2)) == 0);
}

static void test_org_chain(void)
{
	const json_t *org = jget(v_root, "org"), *links = jget(org, "links");
	const json_t *admins = jget(org, "admins"), *enroll = jget(org, "enroll");
	struct chain_link *all = calloc(json_array_size(links), sizeof(*all));
	struct chain_org_state s;
	size_t bad = 99;
	int64_t t;

	if (all == NULL)
		abort();
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < json_array_size(links); i++) {
		const json_t *rec = json_array_get(links, i);

		check_vector_link(rec, &s.head, &all[i]);
		CHECK_EQ_INT(all[i].kind, CHAIN_KIND_ORG);
		CHECK_EQ_INT(chain_org_extend(&s, &all[i], root_pk), VARSKO_OK);
		CHECK_EQ_INT(s.head.seq, i + 1);
		CHECK(same_hex(s.head.hash, 32, jstr(rec, "hash")));
	}
	CHECK_EQ_INT(chain_org_verify(all, json_array_size(links), root_pk, &v_org, &bad), VARSKO_OK);
	CHECK_EQ_INT(bad, json_array_size(links));
	CHECK(memcmp(&v_org, &s, sizeof(s)) == 0);

	CHECK_EQ_INT(v_org.n_admins, json_array_size(admins));
	for (size_t i = 0; i < v_org.n_admins && i < json_array_size(admins); i++) {
		const json_t *a = json_array_get(admins, i);

		CHECK_EQ_STR(v_org.admins[i].user, jstr(a, "user"));
		CHECK(same_hex(v_org.admins[i].uk_sign_pk, 32, jstr(a, "uk_sign_pk")));
		CHECK_EQ_INT(v_org.admins[i].uk_generation, json_integer_value(jget(a, "uk_generation")));
	}
	CHECK_EQ_INT(v_org.n_enroll, json_array_size(enroll));
	for (size_t i = 0; i < v_org.n_enroll && i < json_array_size(enroll); i++) {
		const json_t *e = json_array_get(enroll, i);

		CHECK(same_hex(v_org.enroll[i].pk, 32, jstr(e, "pk")));
		CHECK_EQ_INT(proto_time_parse(jstr(e, "not_after"), &t), VARSKO_OK);
		CHECK_EQ_INT(v_org.enroll[i].not_after, t);
	}
	CHECK(v_org.has_gateway == 1 && same_hex(v_org.gateway_pk, 32, jstr(org, "gateway_pk")));

	/* Another root verifies nothing. */
	{
		uint8_t other[32];

		memcpy(other, root_pk, 32);
		other[0] ^= 1;
		CHECK_EQ_INT(chain_org_verify(all, json_array_size(links), other, &s, &bad), VARSKO_ERR_BAD_SIGNATURE);
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(s.head.seq, 0);
	}
	free(all);
}

static void test_user_chain(void)
{
	const json_t *u = jget(v_root, "user"), *links = jget(u, "links"), *devs = jget(u, "devices");
	struct chain_link *all = calloc(json_array_size(links), sizeof(*all));
	struct chain_user_state s;
	size_t bad = 99;

	if (all == NULL)
		abort();
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < json_array_size(links); i++) {
		const json_t *rec = json_array_get(links, i);

		check_vector_link(rec, &s.head, &all[i]);
		CHECK_EQ_INT(all[i].kind, CHAIN_KIND_USER);
		CHECK_EQ_INT(chain_user_extend(&s, &all[i], &v_org), VARSKO_OK);
		CHECK(same_hex(s.head.hash, 32, jstr(rec, "hash")));
	}
	CHECK_EQ_INT(chain_user_verify(all, json_array_size(links), jstr(u, "user"), &v_org, &v_user, &bad), VARSKO_OK);
	CHECK_EQ_INT(bad, json_array_size(links));
	CHECK(memcmp(&v_user, &s, sizeof(s)) == 0);
	CHECK_EQ_STR(v_user.user, jstr(u, "user"));
	CHECK_EQ_INT(v_user.generation, json_integer_value(jget(u, "generation")));
	CHECK(same_hex(v_user.uk_sign_pk, 32, jstr(u, "uk_sign_pk")));
	CHECK(same_hex(v_user.uk_box_pk, 32, jstr(u, "uk_box_pk")));
	CHECK_EQ_INT(v_user.n_devices, json_array_size(devs));
	for (size_t i = 0; i < v_user.n_devices && i < json_array_size(devs); i++) {
		const json_t *d = json_array_get(devs, i);

		CHECK_EQ_STR(v_user.devices[i].device, jstr(d, "device"));
		CHECK(same_hex(v_user.devices[i].sign_pk, 32, jstr(d, "sign_pk")));
		CHECK(same_hex(v_user.devices[i].box_pk, 32, jstr(d, "box_pk")));
		CHECK_EQ_INT(v_user.devices[i].revoked, json_is_true(jget(d, "revoked")));
	}
	/* By hand: devices 2 and 3 revoked (by the user key, by an admin), 1 and 4 not. */
	CHECK(v_user.n_devices == 4 && !v_user.devices[0].revoked && v_user.devices[1].revoked &&
	      v_user.devices[2].revoked && !v_user.devices[3].revoked);

	/* Pinned to another user: refused at the first link. */
	CHECK_EQ_INT(chain_user_verify(all, json_array_size(links), "u-2999", &v_org, &s, &bad), VARSKO_ERR_BAD_CHAIN);
	CHECK_EQ_INT(bad, 0);
	/* The admin-signed revoke needs the org state: without it, the last link is refused. */
	CHECK_EQ_INT(chain_user_verify(all, json_array_size(links), NULL, NULL, &s, &bad), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, json_array_size(links) - 1);
	CHECK_EQ_INT(s.head.seq, json_array_size(links) - 1);
	CHECK_EQ_INT(s.devices[2].revoked, 0);
	free(all);
}

static void test_team_chain(void)
{
	const json_t *tm = jget(v_root, "team"), *links = jget(tm, "links"), *mem = jget(tm, "members");
	struct chain_link *all = calloc(json_array_size(links), sizeof(*all));
	struct chain_team_state s;
	size_t bad = 99;

	if (all == NULL)
		abort();
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < json_array_size(links); i++) {
		const json_t *rec = json_array_get(links, i);

		check_vector_link(rec, &s.head, &all[i]);
		CHECK_EQ_INT(all[i].kind, CHAIN_KIND_TEAM);
		CHECK_EQ_INT(chain_team_extend(&s, &all[i], &v_org), VARSKO_OK);
		CHECK(same_hex(s.head.hash, 32, jstr(rec, "hash")));
	}
	CHECK_EQ_INT(chain_team_verify(all, json_array_size(links), jstr(tm, "team"), &v_org, &v_team, &bad),
	             VARSKO_OK);
	CHECK_EQ_INT(bad, json_array_size(links));
	CHECK(memcmp(&v_team, &s, sizeof(s)) == 0);
	CHECK_EQ_STR(v_team.team, jstr(tm, "team"));
	CHECK_EQ_INT(v_team.n_members, json_array_size(mem));
	for (size_t i = 0; i < v_team.n_members && i < json_array_size(mem); i++) {
		const json_t *m = json_array_get(mem, i);

		CHECK_EQ_STR(v_team.members[i].user, jstr(m, "user"));
		CHECK_EQ_STR(chain_role_name(v_team.members[i].role), jstr(m, "role"));
		CHECK(same_hex(v_team.members[i].uk_sign_pk, 32, jstr(m, "uk_sign_pk")));
		CHECK_EQ_INT(v_team.members[i].uk_generation, json_integer_value(jget(m, "uk_generation")));
		CHECK_EQ_INT(v_team.members[i].leder, json_is_true(jget(m, "leder")));
	}
	/* By hand: u-2003 was added by an admin and removed by u-2001 once a leder. */
	CHECK(v_team.n_members == 3);
	CHECK_EQ_STR(v_team.members[0].user, "u-2002");
	CHECK_EQ_STR(v_team.members[1].user, "u-2001");
	CHECK_EQ_STR(v_team.members[2].user, "agent-team-vest");
	CHECK(v_team.members[0].leder == 1 && v_team.members[1].leder == 1 && v_team.members[2].leder == 0);
	CHECK_EQ_INT(v_team.members[2].role, CHAIN_ROLE_AGENT);

	/* Without the org state nobody may create the team. */
	CHECK_EQ_INT(chain_team_verify(all, json_array_size(links), NULL, NULL, &s, &bad), VARSKO_ERR_NOT_MEMBER);
	CHECK_EQ_INT(bad, 0);
	/* Pinned to another team. */
	CHECK_EQ_INT(chain_team_verify(all, json_array_size(links), "team-oest", &v_org, &s, &bad),
	             VARSKO_ERR_BAD_CHAIN);
	free(all);
}

/* Every thread chain of the vectors, and the state it verifies to. */
static void test_thread_chains(void)
{
	const json_t *threads = jget(v_root, "threads");

	CHECK(json_array_size(threads) >= 2);
	for (size_t k = 0; k < json_array_size(threads); k++) {
		const json_t *th = json_array_get(threads, k), *links = jget(th, "links"), *mem = jget(th, "members");
		size_t n = json_array_size(links), bad = 99;
		struct chain_link *all = calloc(n, sizeof(*all));
		struct chain_thread_state *s = calloc(1, sizeof(*s)), *v = calloc(1, sizeof(*v));

		if (all == NULL || s == NULL || v == NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			const json_t *rec = json_array_get(links, i);

			check_vector_link(rec, &s->head, &all[i]);
			CHECK_EQ_INT(all[i].kind, CHAIN_KIND_THREAD);
			CHECK_EQ_INT(chain_thread_extend(s, &all[i]), VARSKO_OK);
			CHECK(same_hex(s->head.hash, 32, jstr(rec, "hash")));
		}
		CHECK_EQ_INT(chain_thread_verify(all, n, jstr(th, "thread"), v, &bad), VARSKO_OK);
		CHECK_EQ_INT(bad, n);
		CHECK(memcmp(v, s, sizeof(*s)) == 0);
		CHECK_EQ_STR(v->thread, jstr(th, "thread"));
		CHECK_EQ_STR(v->institution, jstr(th, "institution"));
		CHECK_EQ_INT(v->anonymous, json_is_true(jget(th, "anonymous")));
		CHECK_EQ_STR(v->creator, jstr(th, "creator"));
		CHECK_EQ_INT(v->head.seq, json_integer_value(jget(th, "version")));
		CHECK_EQ_INT(v->n_members, json_array_size(mem));
		for (size_t i = 0; i < v->n_members && i < json_array_size(mem); i++) {
			const json_t *m = json_array_get(mem, i);
			const struct chain_thread_member *e = chain_thread_member(v, jstr(m, "user"));

			CHECK(e == &v->members[i]);
			CHECK_EQ_STR(v->members[i].user, jstr(m, "user"));
			CHECK_EQ_STR(chain_role_name(v->members[i].role), jstr(m, "role"));
			CHECK(same_hex(v->members[i].uk_sign_pk, 32, jstr(m, "uk_sign_pk")));
			CHECK_EQ_INT(v->members[i].uk_generation, json_integer_value(jget(m, "uk_generation")));
			CHECK_EQ_INT(v->members[i].added, json_integer_value(jget(m, "added")));
			CHECK_EQ_INT(v->members[i].removed, json_integer_value(jget(m, "removed")));
		}
		CHECK(chain_thread_member(v, "u-5000") == NULL);

		/* Pinned to another thread: refused at the first link, nothing verified. */
		CHECK_EQ_INT(chain_thread_verify(all, n, "T-AAAAAAAAAAAAAAAAAAAAAAAAAA", s, &bad),
		             VARSKO_ERR_BAD_CHAIN);
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(s->head.seq, 0);
		/* The links of a thread are no other kind's. */
		{
			struct chain_team_state ts;
			struct chain_user_state us;

			memset(&ts, 0, sizeof(ts));
			memset(&us, 0, sizeof(us));
			CHECK_EQ_INT(chain_team_extend(&ts, &all[0], &v_org), VARSKO_ERR_BAD_CHAIN);
			CHECK_EQ_INT(chain_user_extend(&us, &all[0], &v_org), VARSKO_ERR_BAD_CHAIN);
		}
		free(all);
		free(s);
		free(v);
	}
	/* By hand: the first thread's departed members, and u-3005 back with a new pin. */
	{
		const json_t *th = json_array_get(threads, 0);
		struct chain_link l;
		const json_t *links = jget(th, "links");
		struct chain_thread_state *s = calloc(1, sizeof(*s));

		if (s == NULL)
			abort();
		for (size_t i = 0; i < json_array_size(links); i++) {
			parse_link(jstr(json_array_get(links, i), "json"), &l);
			CHECK_EQ_INT(chain_thread_extend(s, &l), VARSKO_OK);
		}
		CHECK(s->n_members == 5 && s->anonymous == 1 && s->head.seq == 9);
		CHECK_EQ_STR(s->members[2].user, "u-3003");
		CHECK(s->members[2].removed == 7 && s->members[3].removed == 9 && s->members[4].removed == 0);
		CHECK(s->members[4].added == 8 && s->members[4].uk_generation == 2);
		CHECK_EQ_INT(s->members[3].role, CHAIN_ROLE_LEDER);
		free(s);
	}
}

/*
 * Every invalid chain: the links before the refused one verify, the whole
 * list fails with the expected error at the expected link, and extending
 * the verified prefix by the refused link leaves that state unchanged.
 */
static void test_invalid_chains(void)
{
	const json_t *cases = jget(v_root, "invalid_chains");

	CHECK(json_array_size(cases) >= 10);
	for (size_t k = 0; k < json_array_size(cases); k++) {
		const json_t *c = json_array_get(cases, k), *links = jget(c, "links");
		const char *kind = jstr(c, "kind"), *name = jstr(c, "name");
		size_t n = json_array_size(links), want_bad = (size_t)json_integer_value(jget(c, "bad")), bad = 99;
		int want = varsko_err_from_name(jstr(c, "error")), r, r2;
		struct chain_link *all = calloc(n, sizeof(*all));
		void *before = NULL, *after = NULL;
		size_t size = 0;

		if (all == NULL)
			abort();
		CHECK(want != VARSKO_ERR_INTERNAL && want_bad < n);
		for (size_t i = 0; i < n; i++)
			parse_link(json_string_value(json_array_get(links, i)), &all[i]);
		if (strcmp(kind, "org") == 0) {
			struct chain_org_state *s = calloc(1, sizeof(*s));

			r = chain_org_verify(all, n, root_pk, s, &bad);
			CHECK_EQ_INT(chain_org_verify(all, want_bad, root_pk, s, NULL), VARSKO_OK);
			before = malloc(sizeof(*s));
			memcpy(before, s, sizeof(*s));
			r2 = chain_org_extend(s, &all[want_bad], root_pk);
			after = s;
			size = sizeof(*s);
		} else if (strcmp(kind, "user") == 0) {
			struct chain_user_state *s = calloc(1, sizeof(*s));

			r = chain_user_verify(all, n, NULL, &v_org, s, &bad);
			CHECK_EQ_INT(chain_user_verify(all, want_bad, NULL, &v_org, s, NULL), VARSKO_OK);
			before = malloc(sizeof(*s));
			memcpy(before, s, sizeof(*s));
			r2 = chain_user_extend(s, &all[want_bad], &v_org);
			after = s;
			size = sizeof(*s);
		} else if (strcmp(kind, "thread") == 0) {
			struct chain_thread_state *s = calloc(1, sizeof(*s));

			r = chain_thread_verify(all, n, NULL, s, &bad);
			CHECK_EQ_INT(chain_thread_verify(all, want_bad, NULL, s, NULL), VARSKO_OK);
			before = malloc(sizeof(*s));
			memcpy(before, s, sizeof(*s));
			r2 = chain_thread_extend(s, &all[want_bad]);
			after = s;
			size = sizeof(*s);
		} else {
			struct chain_team_state *s = calloc(1, sizeof(*s));

			CHECK_EQ_STR(kind, "team");
			r = chain_team_verify(all, n, NULL, &v_org, s, &bad);
			CHECK_EQ_INT(chain_team_verify(all, want_bad, NULL, &v_org, s, NULL), VARSKO_OK);
			before = malloc(sizeof(*s));
			memcpy(before, s, sizeof(*s));
			r2 = chain_team_extend(s, &all[want_bad], &v_org);
			after = s;
			size = sizeof(*s);
		}
		CHECK_EQ_INT(r, want);
		CHECK_EQ_INT(r2, want);
		CHECK_EQ_INT(bad, want_bad);
		if (r != want || bad != want_bad)
			fprintf(stderr, "  case %s: %s at %zu\n", name, varsko_err_name(r), bad);
		CHECK(before != NULL && memcmp(before, after, size) == 0);
		free(before);
		free(after);
		free(all);
	}
}

static void test_invalid_json(void)
{
	const json_t *cases = jget(v_root, "invalid_json");
	static const struct chain_link zero;

	CHECK(json_array_size(cases) >= 5);
	for (size_t k = 0; k < json_array_size(cases); k++) {
		const json_t *c = json_array_get(cases, k);
		const char *text = jstr(c, "text");
		struct chain_link l;
		int r;

		memset(&l, 0xa5, sizeof(l));
		r = chain_link_from_text(text, strlen(text), &l);
		CHECK_EQ_INT(r, varsko_err_from_name(jstr(c, "error")));
		if (r != varsko_err_from_name(jstr(c, "error")))
			fprintf(stderr, "  case %s: %s\n", jstr(c, "name"), varsko_err_name(r));
		CHECK(memcmp(&l, &zero, sizeof(l)) == 0);
	}
	/* Size, nesting and a NUL inside a string. */
	{
		const char *nul = "{\"op\":\"admin_remove\",\"user\":\"u\\u0000x\"}";
		size_t n = CHAIN_LINK_JSON_MAX + 1;
		char *big = malloc(n);
		struct chain_link l;

		CHECK_EQ_INT(chain_link_from_text(nul, strlen(nul), &l), VARSKO_ERR_BAD_FRAME);
		if (big == NULL)
			abort();
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		CHECK_EQ_INT(chain_link_from_text(big, n, &l), VARSKO_ERR_TOO_LARGE);
		CHECK_EQ_INT(chain_link_from_text(big, n - 1, &l), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(chain_link_from_text("", 0, &l), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(chain_link_from_json(NULL, &l), VARSKO_ERR_BAD_FRAME);
		free(big);
	}
}

/* ---- hand-written checks of the states ------------------------------------------ */

static void seeded_key(const char *label, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	crypto_hash_sha256(seed, (const uint8_t *)label, strlen(label));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* The secret key of signer i of link k of chain `which` in the vectors. */
static void vector_signer(const char *which, size_t k, size_t i, uint8_t pk[32], uint8_t sk[64])
{
	const json_t *rec = json_array_get(jget(jget(v_root, which), "links"), k);

	keys_from_seed(json_string_value(json_array_get(jget(rec, "signer_seeds"), i)), pk, sk);
}

static void team_link(struct chain_link *l, const struct chain_team_state *s, enum chain_op op, const char *user)
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_TEAM;
	l->op = op;
	memcpy(l->chain, s->team, sizeof(s->team));
	CHECK_EQ_INT(proto_str_copy(l->user, sizeof(l->user), user), VARSKO_OK);
	l->time = 1795500000;
	chain_link_follow(l, &s->head);
}

static void test_team_by_hand(void)
{
	struct chain_team_state s, copy;
	struct chain_link l;
	uint8_t leder_pk[32], leder_sk[64], u2001_pk[32], u2001_sk[64], admin_pk[32], admin_sk[64];
	uint8_t out_pk[32], out_sk[64];
	char user[32];
	int r = VARSKO_OK;

	vector_signer("team", 1, 0, leder_pk, leder_sk); /* u-2002 signed member_add */
	vector_signer("team", 5, 0, u2001_pk, u2001_sk); /* u-2001 signed member_remove */
	vector_signer("team", 0, 0, admin_pk, admin_sk); /* the admin signed team_create */
	seeded_key("outsider", out_pk, out_sk);
	memcpy(&s, &v_team, sizeof(s));

	/* The agent (a member, not a leder) may not make itself a leder: forbidden, state unchanged. */
	team_link(&l, &s, CHAIN_OP_LEDER_ADD, "agent-team-vest");
	seeded_key("varsko-chain-vector:agent-team-vest/uk1/sign", out_pk, out_sk); /* chain-gen.py's seed() */
	CHECK(memcmp(out_pk, s.members[2].uk_sign_pk, 32) == 0);
	CHECK_EQ_INT(chain_link_sign(&l, out_sk), VARSKO_OK);
	memcpy(&copy, &s, sizeof(s));
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_FORBIDDEN);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);

	/* A fully signed link takes no more signatures. */
	CHECK_EQ_INT(chain_link_sign(&l, leder_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(l.n_sigs, 1);

	/* u-2001 stops being a leder (signed by u-2002); then u-2001 is a member without rights. */
	team_link(&l, &s, CHAIN_OP_LEDER_REMOVE, "u-2001");
	CHECK_EQ_INT(chain_link_sign(&l, leder_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_OK);
	CHECK_EQ_INT(s.members[1].leder, 0);
	CHECK_EQ_INT(s.head.seq, v_team.head.seq + 1);
	team_link(&l, &s, CHAIN_OP_MEMBER_REMOVE, "agent-team-vest");
	CHECK_EQ_INT(chain_link_sign(&l, u2001_sk), VARSKO_OK);
	memcpy(&copy, &s, sizeof(s));
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_FORBIDDEN);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);
	/* u-2002 is now the only leder: cannot be removed, by itself or by an admin. */
	team_link(&l, &s, CHAIN_OP_LEDER_REMOVE, "u-2002");
	CHECK_EQ_INT(chain_link_sign(&l, admin_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_BAD_CHAIN);
	team_link(&l, &s, CHAIN_OP_MEMBER_REMOVE, "u-2002");
	CHECK_EQ_INT(chain_link_sign(&l, leder_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_BAD_CHAIN);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);
	/* An outsider's change: not_member. */
	team_link(&l, &s, CHAIN_OP_MEMBER_REMOVE, "u-2001");
	seeded_key("outsider", out_pk, out_sk);
	CHECK_EQ_INT(chain_link_sign(&l, out_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_NOT_MEMBER);
	/* The same link twice: the second is a fork. */
	team_link(&l, &s, CHAIN_OP_MEMBER_REMOVE, "u-2001");
	CHECK_EQ_INT(chain_link_sign(&l, leder_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_OK);
	CHECK_EQ_INT(s.n_members, 2);
	CHECK_EQ_INT(chain_team_extend(&s, &l, &v_org), VARSKO_ERR_BAD_CHAIN);

	/* Fill the team to CHAIN_MEMBERS_MAX with admin-signed member_add links; one more is too_large. */
	for (size_t i = s.n_members; i <= CHAIN_MEMBERS_MAX && r == VARSKO_OK; i++) {
		snprintf(user, sizeof(user), "u-%zu", 3000 + i);
		team_link(&l, &s, CHAIN_OP_MEMBER_ADD, user);
		l.role = CHAIN_ROLE_MYNDIGHED;
		l.generation = 1;
		crypto_hash_sha256(l.uk_sign_pk, (const uint8_t *)user, strlen(user));
		CHECK_EQ_INT(chain_link_sign(&l, admin_sk), VARSKO_OK);
		memcpy(&copy, &s, sizeof(s));
		r = chain_team_extend(&s, &l, &v_org);
	}
	CHECK_EQ_INT(r, VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(s.n_members, CHAIN_MEMBERS_MAX);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);

	sodium_memzero(leder_sk, sizeof(leder_sk));
	sodium_memzero(u2001_sk, sizeof(u2001_sk));
	sodium_memzero(admin_sk, sizeof(admin_sk));
	sodium_memzero(out_sk, sizeof(out_sk));
}

/* A thread link of op about user following s; member_add's role, generation and pin are the caller's. */
static void thread_link(struct chain_link *l, const struct chain_thread_state *s, enum chain_op op, const char *user)
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_THREAD;
	l->op = op;
	memcpy(l->chain, s->thread, sizeof(s->thread));
	CHECK_EQ_INT(proto_str_copy(l->user, sizeof(l->user), user), VARSKO_OK);
	l->time = 1795500000;
	chain_link_follow(l, &s->head);
}

/* The user key of generation g of user, as chain-gen.py derives it. */
static void vector_user_key(const char *user, int g, uint8_t pk[32], uint8_t sk[64])
{
	char label[128];

	snprintf(label, sizeof(label), "varsko-chain-vector:%s/uk%d/sign", user, g);
	seeded_key(label, pk, sk);
}

/* Sign l with sk and extend s; on a refusal s must be unchanged. Returns the extend's answer. */
static int thread_try(struct chain_thread_state *s, struct chain_link *l, const uint8_t sk[64])
{
	struct chain_thread_state *copy = malloc(sizeof(*copy));
	int r;

	if (copy == NULL)
		abort();
	CHECK_EQ_INT(chain_link_sign(l, sk), VARSKO_OK);
	memcpy(copy, s, sizeof(*s));
	r = chain_thread_extend(s, l);
	if (r != VARSKO_OK)
		CHECK(memcmp(copy, s, sizeof(*s)) == 0);
	else
		CHECK_EQ_INT(s->head.seq, copy->head.seq + 1);
	free(copy);
	return r;
}

/* A thread_member_add of user with role, pinning generation g of its vector user key. */
static void thread_add_link(struct chain_link *l, const struct chain_thread_state *s, const char *user,
                            enum chain_role role, int g)
{
	uint8_t sk[64];

	thread_link(l, s, CHAIN_OP_THREAD_MEMBER_ADD, user);
	l->role = role;
	l->generation = (uint64_t)g;
	vector_user_key(user, g, l->uk_sign_pk, sk);
	sodium_memzero(sk, sizeof(sk));
}

static void test_thread_by_hand(void)
{
	const json_t *links = jget(json_array_get(jget(v_root, "threads"), 0), "links");
	struct chain_thread_state *s = calloc(1, sizeof(*s));
	struct chain_link l;
	uint8_t pk[32], creator_sk[64], r_sk[64], f_sk[64], other_sk[64];
	char user[32];
	int r = VARSKO_OK;

	if (s == NULL)
		abort();
	for (size_t i = 0; i < json_array_size(links); i++) {
		parse_link(jstr(json_array_get(links, i), "json"), &l);
		CHECK_EQ_INT(chain_thread_extend(s, &l), VARSKO_OK);
	}
	vector_user_key("u-3001", 1, pk, creator_sk);
	CHECK(memcmp(pk, s->members[0].uk_sign_pk, 32) == 0);
	vector_user_key("u-3002", 1, pk, r_sk);
	CHECK(memcmp(pk, s->members[1].uk_sign_pk, 32) == 0);
	vector_user_key("u-3005", 2, pk, f_sk);
	CHECK(memcmp(pk, s->members[4].uk_sign_pk, 32) == 0);

	/* A rådgiver may remove the creator, who then has no rights left. */
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_REMOVE, "u-3001");
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	CHECK(s->members[0].removed == 10 && s->members[0].added == 1);
	thread_add_link(&l, s, "u-3006", CHAIN_ROLE_FAGPERSON, 1);
	CHECK_EQ_INT(thread_try(s, &l, creator_sk), VARSKO_ERR_NOT_MEMBER);
	/* A fagperson who is not the creator may not add, not even the creator back. */
	thread_add_link(&l, s, "u-3001", CHAIN_ROLE_FAGPERSON, 1);
	CHECK_EQ_INT(thread_try(s, &l, f_sk), VARSKO_ERR_FORBIDDEN);
	/* Added again with the same pin: the same entry, and the creator's rights are back. */
	thread_add_link(&l, s, "u-3001", CHAIN_ROLE_FAGPERSON, 1);
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	CHECK(s->n_members == 5 && s->members[0].added == 11 && s->members[0].removed == 0);
	thread_add_link(&l, s, "u-3006", CHAIN_ROLE_FAGPERSON, 1);
	CHECK_EQ_INT(thread_try(s, &l, creator_sk), VARSKO_OK);
	CHECK(s->n_members == 6 && s->members[5].added == 12 && s->members[5].role == CHAIN_ROLE_FAGPERSON);
	/* The pin of a departed member (u-3003) is still that user's: nobody else may have it. */
	thread_add_link(&l, s, "u-3007", CHAIN_ROLE_LEDER, 1);
	memcpy(l.uk_sign_pk, s->members[2].uk_sign_pk, 32);
	CHECK_EQ_INT(thread_try(s, &l, creator_sk), VARSKO_ERR_BAD_CHAIN);
	/* u-3003 itself may come back with it, and the thread's own fields never change. */
	thread_add_link(&l, s, "u-3003", CHAIN_ROLE_RAADGIVER, 1);
	CHECK_EQ_INT(thread_try(s, &l, creator_sk), VARSKO_OK);
	CHECK(s->members[2].removed == 0 && s->members[2].added == 13);
	CHECK(s->anonymous == 1 && strcmp(s->institution, "inst-skole-7") == 0 && strcmp(s->creator, "u-3001") == 0);
	/* A leave that names another member, and one by the member itself. */
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_LEAVE, "u-3002");
	CHECK_EQ_INT(thread_try(s, &l, f_sk), VARSKO_ERR_FORBIDDEN);
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_LEAVE, "u-3002");
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	CHECK_EQ_INT(s->members[1].removed, 14);
	/* The old key of u-3005 (generation 1) is no pin any more: its signer is no member. */
	vector_user_key("u-3005", 1, pk, other_sk);
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_LEAVE, "u-3005");
	CHECK_EQ_INT(thread_try(s, &l, other_sk), VARSKO_ERR_NOT_MEMBER);
	/* The same link twice: the second is a fork. */
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_LEAVE, "u-3005");
	CHECK_EQ_INT(thread_try(s, &l, f_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_thread_extend(s, &l), VARSKO_ERR_BAD_CHAIN);

	/* A new thread of one member: it may leave, and then nobody can change the thread. */
	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(chain_thread_verify(NULL, 0, "T-AAAAAAAAAAAAAAAAAAAAAAAAAA", s, NULL), VARSKO_OK);
	thread_link(&l, s, CHAIN_OP_THREAD_CREATE, "u-3002");
	CHECK_EQ_INT(proto_str_copy(l.institution, sizeof(l.institution), "inst-skole-7"), VARSKO_OK);
	l.role = CHAIN_ROLE_RAADGIVER;
	l.generation = 1;
	vector_user_key("u-3002", 1, l.uk_sign_pk, r_sk);
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	CHECK(s->anonymous == 0 && s->n_members == 1 && strcmp(s->creator, "u-3002") == 0);
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_REMOVE, "u-3002");
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_ERR_BAD_CHAIN); /* nobody removes itself */

	/* Users up to CHAIN_MEMBERS_MAX, departed ones included; one more is too_large. */
	for (size_t i = s->n_members; i <= CHAIN_MEMBERS_MAX && r == VARSKO_OK; i++) {
		snprintf(user, sizeof(user), "u-%zu", 4000 + i);
		thread_add_link(&l, s, user, CHAIN_ROLE_FAGPERSON, 1);
		r = thread_try(s, &l, r_sk);
		if (r == VARSKO_OK && i == 2) {
			thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_REMOVE, user);
			CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
		}
	}
	CHECK_EQ_INT(r, VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(s->n_members, CHAIN_MEMBERS_MAX);
	/* A departed user comes back into its own entry even when the thread is full. */
	thread_add_link(&l, s, "u-4002", CHAIN_ROLE_LEDER, 1);
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	CHECK(s->n_members == CHAIN_MEMBERS_MAX && s->members[2].role == CHAIN_ROLE_LEDER);
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_LEAVE, "u-3002");
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_OK);
	snprintf(user, sizeof(user), "u-%d", 4001);
	vector_user_key(user, 1, pk, other_sk);
	thread_link(&l, s, CHAIN_OP_THREAD_MEMBER_REMOVE, "u-4002");
	CHECK_EQ_INT(thread_try(s, &l, other_sk), VARSKO_ERR_FORBIDDEN); /* a fagperson, not the creator */
	thread_add_link(&l, s, "u-3001", CHAIN_ROLE_FAGPERSON, 1);
	CHECK_EQ_INT(thread_try(s, &l, r_sk), VARSKO_ERR_NOT_MEMBER); /* the creator left */

	sodium_memzero(creator_sk, sizeof(creator_sk));
	sodium_memzero(r_sk, sizeof(r_sk));
	sodium_memzero(f_sk, sizeof(f_sk));
	sodium_memzero(other_sk, sizeof(other_sk));
	free(s);
}

/* Thread links that are not well-formed, and the roles and ops of each kind. */
static void test_thread_well_formed(void)
{
	const json_t *links = jget(json_array_get(jget(v_root, "threads"), 0), "links");
	struct chain_link create, add, m;
	uint8_t sk[64], pk[32];

	CHECK_EQ_INT(chain_op_kind(CHAIN_OP_THREAD_MEMBER_ADD), CHAIN_KIND_THREAD);
	CHECK_EQ_INT(chain_op_from_name("member_add"), CHAIN_OP_MEMBER_ADD);
	CHECK_EQ_INT(chain_op_from_name("thread_member_add"), CHAIN_OP_THREAD_MEMBER_ADD);
	CHECK_EQ_STR(chain_op_name(CHAIN_OP_THREAD_MEMBER_LEAVE), "thread_member_leave");
	CHECK_EQ_STR(chain_role_name(CHAIN_ROLE_RAADGIVER), "raadgiver");
	CHECK(chain_role_of_kind(CHAIN_ROLE_LEDER, CHAIN_KIND_TEAM) &&
	      chain_role_of_kind(CHAIN_ROLE_LEDER, CHAIN_KIND_THREAD));
	CHECK(chain_role_of_kind(CHAIN_ROLE_MYNDIGHED, CHAIN_KIND_TEAM) &&
	      !chain_role_of_kind(CHAIN_ROLE_MYNDIGHED, CHAIN_KIND_THREAD));
	CHECK(chain_role_of_kind(CHAIN_ROLE_AGENT, CHAIN_KIND_TEAM) &&
	      !chain_role_of_kind(CHAIN_ROLE_AGENT, CHAIN_KIND_THREAD));
	CHECK(!chain_role_of_kind(CHAIN_ROLE_FAGPERSON, CHAIN_KIND_TEAM) &&
	      chain_role_of_kind(CHAIN_ROLE_FAGPERSON, CHAIN_KIND_THREAD));
	CHECK(!chain_role_of_kind(CHAIN_ROLE_RAADGIVER, CHAIN_KIND_TEAM) &&
	      chain_role_of_kind(CHAIN_ROLE_RAADGIVER, CHAIN_KIND_THREAD));
	CHECK(!chain_role_of_kind(CHAIN_ROLE_NONE, CHAIN_KIND_THREAD) &&
	      !chain_role_of_kind(CHAIN_ROLE_LEDER, CHAIN_KIND_ORG));

	parse_link(jstr(json_array_get(links, 0), "json"), &create);
	parse_link(jstr(json_array_get(links, 1), "json"), &add);
	vector_user_key("u-3001", 1, pk, sk);
	for (int k = 0; k < 10; k++) {
		memcpy(&m, k < 5 ? &create : &add, sizeof(m));
		switch (k) {
		case 0:
			m.anonymous = 2;
			break;
		case 1:
			m.role = CHAIN_ROLE_LEDER; /* a leder does not open a thread */
			break;
		case 2:
			m.institution[0] = '\0';
			break;
		case 3:
			m.chain[27] = 'B'; /* the last character of a thread id carries two zero bits */
			break;
		case 4:
			m.chain[0] = 't';
			break;
		case 5:
			memcpy(m.institution, "inst-skole-7", 13);
			break;
		case 6:
			m.anonymous = 1;
			break;
		case 7:
			m.role = CHAIN_ROLE_MYNDIGHED;
			break;
		case 8:
			m.kind = CHAIN_KIND_TEAM;
			break;
		case 9:
			m.op = CHAIN_OP_MEMBER_ADD; /* the team's op in a thread link */
			break;
		}
		CHECK(!chain_link_well_formed(&m));
		m.n_sigs = 0;
		CHECK_EQ_INT(chain_link_sign(&m, sk), VARSKO_ERR_BAD_INPUT);
	}
	/* Both canonical and well-formed: a raadgiver may open a thread too. */
	create.role = CHAIN_ROLE_RAADGIVER;
	create.anonymous = 0;
	CHECK(chain_link_well_formed(&create));
	/* A team member_add with a thread role is not well-formed. */
	parse_link(jstr(json_array_get(jget(jget(v_root, "team"), "links"), 1), "json"), &m);
	CHECK(chain_link_well_formed(&m));
	m.role = CHAIN_ROLE_FAGPERSON;
	CHECK(!chain_link_well_formed(&m));
	sodium_memzero(sk, sizeof(sk));
}

static void user_link(struct chain_link *l, const struct chain_user_state *s, enum chain_op op)
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_USER;
	l->op = op;
	memcpy(l->chain, s->user, sizeof(s->user));
	l->time = 1795500000;
	chain_link_follow(l, &s->head);
}

static void test_user_by_hand(void)
{
	struct chain_user_state s, copy;
	struct chain_link l;
	uint8_t uk2_pk[32], uk2_sk[64], d1_pk[32], d1_sk[64], nk_pk[32], nk_sk[64];
	uint8_t pk[32];
	char id[PROTO_DEVICE_ID_LEN + 1];
	int r = VARSKO_OK;

	vector_signer("user", 5, 0, uk2_pk, uk2_sk); /* generation 2 signed device_add */
	vector_signer("user", 0, 0, d1_pk, d1_sk);   /* the first device */
	seeded_key("u-2001/uk3", nk_pk, nk_sk);
	memcpy(&s, &v_user, sizeof(s));

	/* Rotate to generation 3 with the current key and device 1 (order matters: the user key first). */
	user_link(&l, &s, CHAIN_OP_UK_ROTATE);
	l.generation = 3;
	memcpy(l.uk_sign_pk, nk_pk, 32);
	memset(l.uk_box_pk, 3, 32);
	CHECK_EQ_INT(chain_link_sign(&l, d1_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_link_sign(&l, uk2_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_link_sign(&l, uk2_sk), VARSKO_ERR_BAD_INPUT);
	memcpy(&copy, &s, sizeof(s));
	CHECK_EQ_INT(chain_user_extend(&s, &l, NULL), VARSKO_ERR_BAD_SIGNATURE);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);
	chain_link_follow(&l, &s.head);
	CHECK_EQ_INT(chain_link_sign(&l, uk2_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_link_sign(&l, d1_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_user_extend(&s, &l, NULL), VARSKO_OK);
	CHECK_EQ_INT(s.generation, 3);
	CHECK(memcmp(s.uk_sign_pk, nk_pk, 32) == 0);

	/* Revoke device 1, then it can no longer sign a rotation: device_revoked. */
	user_link(&l, &s, CHAIN_OP_DEVICE_REVOKE);
	memcpy(l.device, s.devices[0].device, sizeof(l.device));
	CHECK_EQ_INT(chain_link_sign(&l, nk_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_user_extend(&s, &l, NULL), VARSKO_OK);
	CHECK_EQ_INT(s.devices[0].revoked, 1);
	user_link(&l, &s, CHAIN_OP_UK_ROTATE);
	l.generation = 4;
	memset(l.uk_sign_pk, 4, 32);
	memset(l.uk_box_pk, 4, 32);
	CHECK_EQ_INT(chain_link_sign(&l, nk_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_link_sign(&l, d1_sk), VARSKO_OK);
	memcpy(&copy, &s, sizeof(s));
	CHECK_EQ_INT(chain_user_extend(&s, &l, NULL), VARSKO_ERR_DEVICE_REVOKED);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);

	/* Fill the devices to CHAIN_DEVICES_MAX; one more is too_large. */
	for (size_t i = s.n_devices; i <= CHAIN_DEVICES_MAX && r == VARSKO_OK; i++) {
		user_link(&l, &s, CHAIN_OP_DEVICE_ADD);
		crypto_hash_sha256(pk, (const uint8_t *)&i, sizeof(i));
		proto_device_id(pk, id);
		memcpy(l.device, id, sizeof(id));
		memcpy(l.device_sign_pk, pk, 32);
		memset(l.device_box_pk, 7, 32);
		CHECK_EQ_INT(chain_link_sign(&l, nk_sk), VARSKO_OK);
		memcpy(&copy, &s, sizeof(s));
		r = chain_user_extend(&s, &l, NULL);
	}
	CHECK_EQ_INT(r, VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(s.n_devices, CHAIN_DEVICES_MAX);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);

	sodium_memzero(uk2_sk, sizeof(uk2_sk));
	sodium_memzero(d1_sk, sizeof(d1_sk));
	sodium_memzero(nk_sk, sizeof(nk_sk));
}

static void test_org_by_hand(void)
{
	struct chain_org_state s, copy;
	struct chain_link l;
	char user[32];
	int r = VARSKO_OK;

	memcpy(&s, &v_org, sizeof(s));
	/* enroll_key of a listed key sets its not_after. */
	memset(&l, 0, sizeof(l));
	l.kind = CHAIN_KIND_ORG;
	l.op = CHAIN_OP_ENROLL_KEY;
	memcpy(l.pk, v_org.enroll[0].pk, 32);
	l.not_after = 1795500000;
	l.time = 1795500000;
	chain_link_follow(&l, &s.head);
	CHECK_EQ_INT(chain_link_sign(&l, root_sk), VARSKO_OK);
	CHECK_EQ_INT(chain_org_extend(&s, &l, root_pk), VARSKO_OK);
	CHECK_EQ_INT(s.n_enroll, 1);
	CHECK_EQ_INT(s.enroll[0].not_after, 1795500000);
	/* The state's kind only: a user link is refused in the org chain. */
	{
		struct chain_user_state us;

		memset(&us, 0, sizeof(us));
		CHECK_EQ_INT(chain_user_extend(&us, &l, NULL), VARSKO_ERR_BAD_CHAIN);
		CHECK_EQ_INT(us.head.seq, 0);
	}
	/* Admins up to CHAIN_ADMINS_MAX. */
	for (size_t i = s.n_admins; i <= CHAIN_ADMINS_MAX && r == VARSKO_OK; i++) {
		memset(&l, 0, sizeof(l));
		l.kind = CHAIN_KIND_ORG;
		l.op = CHAIN_OP_ADMIN_ADD;
		snprintf(user, sizeof(user), "admin-%zu", i);
		memcpy(l.user, user, strlen(user) + 1);
		crypto_hash_sha256(l.pk, (const uint8_t *)user, strlen(user));
		l.generation = 1;
		l.time = 1795500000;
		chain_link_follow(&l, &s.head);
		CHECK_EQ_INT(chain_link_sign(&l, root_sk), VARSKO_OK);
		memcpy(&copy, &s, sizeof(s));
		r = chain_org_extend(&s, &l, root_pk);
	}
	CHECK_EQ_INT(r, VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(s.n_admins, CHAIN_ADMINS_MAX);
	CHECK(memcmp(&copy, &s, sizeof(s)) == 0);
}

/* Links that are not well-formed are neither encoded, hashed, signed nor verified. */
static void test_well_formed(void)
{
	const json_t *rec = json_array_get(jget(jget(v_root, "org"), "links"), 0);
	struct chain_link l, m;
	struct chain_org_state s;
	struct proto_buf b;
	json_t *j = NULL;
	uint8_t h[32];
	char *text = NULL;

	parse_link(jstr(rec, "json"), &l);
	CHECK(chain_link_well_formed(&l));
	CHECK_EQ_STR(chain_op_name(CHAIN_OP_UK_ROTATE), "uk_rotate");
	CHECK_EQ_INT(chain_op_from_name("leder_remove"), CHAIN_OP_LEDER_REMOVE);
	CHECK_EQ_INT(chain_op_from_name("nope"), CHAIN_OP_NONE);
	CHECK(chain_op_name(CHAIN_OP_COUNT_) == NULL && chain_role_name(CHAIN_ROLE_NONE) == NULL);
	CHECK_EQ_INT(chain_op_kind(CHAIN_OP_MEMBER_ADD), CHAIN_KIND_TEAM);

	/* One field at a time, each makes the admin_add link unusable. */
	for (int k = 0; k < 9; k++) {
		memcpy(&m, &l, sizeof(m));
		switch (k) {
		case 0:
			m.kind = CHAIN_KIND_USER;
			break;
		case 1:
			m.chain[0] = 'x';
			break;
		case 2:
			m.seq = 0;
			break;
		case 3:
			m.uk_box_pk[5] = 1;
			break;
		case 4:
			m.not_after = 1;
			break;
		case 5:
			m.role = CHAIN_ROLE_AGENT;
			break;
		case 6:
			m.n_sigs = 2;
			break;
		case 7:
			m.user[0] = ' ';
			break;
		case 8:
			m.time = -1;
			break;
		}
		CHECK(!chain_link_well_formed(&m));
		CHECK_EQ_INT(chain_link_to_json(&m, &j), VARSKO_ERR_BAD_INPUT);
		CHECK(j == NULL);
		CHECK_EQ_INT(chain_link_to_text(&m, &text, NULL), VARSKO_ERR_BAD_INPUT);
		CHECK(text == NULL);
		CHECK_EQ_INT(chain_link_hash(&m, h), VARSKO_ERR_BAD_INPUT);
		proto_buf_init(&b);
		CHECK_EQ_INT(chain_link_signing_input(&m, &b), VARSKO_ERR_BAD_INPUT);
		proto_buf_free(&b);
		memset(&s, 0, sizeof(s));
		CHECK_EQ_INT(chain_org_extend(&s, &m, root_pk), VARSKO_ERR_BAD_CHAIN);
		CHECK_EQ_INT(s.head.seq, 0);
		m.n_sigs = 0;
		if (k != 6)
			CHECK_EQ_INT(chain_link_sign(&m, root_sk), VARSKO_ERR_BAD_INPUT);
	}
	/* decode(encode(x)) == x for every vector link. */
	{
		static const char *const which[] = {"org", "user", "team", "threads/0", "threads/1"};

		for (size_t w = 0; w < 5; w++) {
			const json_t *links = w < 3 ? jget(jget(v_root, which[w]), "links")
			                            : jget(json_array_get(jget(v_root, "threads"), w - 3), "links");

			for (size_t i = 0; i < json_array_size(links); i++) {
				parse_link(jstr(json_array_get(links, i), "json"), &l);
				CHECK_EQ_INT(chain_link_to_json(&l, &j), VARSKO_OK);
				CHECK_EQ_INT(chain_link_from_json(j, &m), VARSKO_OK);
				CHECK(memcmp(&l, &m, sizeof(l)) == 0);
				json_decref(j);
				j = NULL;
			}
		}
	}
}

int main(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;
	uint8_t pk[32];

	if (sodium_init() < 0)
		return 99;
	snprintf(path, sizeof(path), "%s/chain.json", dir ? dir : "proto/vectors");
	v_root = json_load_file(path, 0, &jerr);
	CHECK(v_root != NULL);
	if (v_root == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return check_result();
	}
	keys_from_seed(jstr(v_root, "root_seed"), root_pk, root_sk);
	hex2(jstr(v_root, "root_pk"), pk, 32);
	CHECK(memcmp(pk, root_pk, 32) == 0);
	test_org_chain();
	test_user_chain();
	test_team_chain();
	test_thread_chains();
	test_invalid_chains();
	test_invalid_json();
	test_team_by_hand();
	test_user_by_hand();
	test_org_by_hand();
	test_thread_by_hand();
	test_thread_well_formed();
	test_well_formed();
	json_decref(v_root);
	sodium_memzero(root_sk, sizeof(root_sk));
	return check_result();
}
