/*
 * test-envelope.c: the end-to-end envelope (proto/envelope.c). Byte-exact
 * comparison with the independent Python implementation
 * (proto/vectors/envelope-gen.py -> envelope.json), round trips, and the
 * attacks of TESTING.md "e2e-confusion": bit flips everywhere, reordered or
 * changed recipients, type swaps, ciphertext moved to another object, a
 * wrong sender key, and the limits.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "envelope.h"

struct dev {
	char id[ENV_RECIPIENT_ID_MAX + 1];
	uint8_t box_pk[32], box_sk[32];
};

static void hex2(const char *h, uint8_t *out, size_t n)
{
	if (strlen(h) != 2 * n)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (s == NULL)
		abort();
	return s;
}

/* ---- vectors from the Python implementation ------------------------------ */

static void test_vector(json_t *v)
{
	struct env_test_random *rnd = calloc(1, sizeof(*rnd));
	struct env_recipient rc[ENV_RECIPIENTS_MAX];
	struct dev *devs = calloc(ENV_RECIPIENTS_MAX, sizeof(*devs));
	uint8_t seed[32], sign_pk[32], sign_sk[64], spk_want[32], sig_hash[32], want_hash[32];
	json_t *rs = json_object_get(v, "recipients"), *wn = json_object_get(v, "wrap_nonces");
	size_t n = json_array_size(rs);
	size_t rl = strlen(jstr(v, "routing")) / 2, pl = strlen(jstr(v, "plaintext")) / 2,
	       hl = strlen(jstr(v, "header")) / 2;
	uint8_t *routing = malloc(rl + 1), *pt = malloc(pl + 1), *hdr = malloc(hl + 1);
	struct env_params p;
	struct env_envelope *e = NULL, *e2 = NULL;
	struct proto_buf b;
	char *js = NULL;
	size_t jl = 0;
	const char *want = jstr(v, "envelope");

	if (rnd == NULL || devs == NULL || routing == NULL || pt == NULL || hdr == NULL || n == 0 ||
	    n > ENV_RECIPIENTS_MAX)
		abort();
	fprintf(stderr, "vector %s\n", jstr(v, "name"));
	hex2(jstr(v, "sender_seed"), seed, 32);
	hex2(jstr(v, "sender_sign_pk"), spk_want, 32);
	crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
	CHECK(memcmp(sign_pk, spk_want, 32) == 0);
	hex2(jstr(v, "routing"), routing, rl);
	hex2(jstr(v, "plaintext"), pt, pl);
	hex2(jstr(v, "header"), hdr, hl);
	hex2(jstr(v, "content_key"), rnd->content_key, 32);
	hex2(jstr(v, "eph_sk"), rnd->eph_sk, 32);
	hex2(jstr(v, "nonce"), rnd->nonce, 24);
	hex2(jstr(v, "signing_input_sha256"), want_hash, 32);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rs, i);
		snprintf(devs[i].id, sizeof(devs[i].id), "%s", jstr(r, "device"));
		hex2(jstr(r, "box_sk"), devs[i].box_sk, 32);
		hex2(jstr(r, "box_pk"), devs[i].box_pk, 32);
		rc[i].device = devs[i].id;
		memcpy(rc[i].box_pk, devs[i].box_pk, 32);
		hex2(json_string_value(json_array_get(wn, i)), rnd->wrap_nonces[i], 24);
	}
	p.kind = jstr(v, "kind");
	p.object_id = jstr(v, "object_id");
	p.sender = jstr(v, "sender");
	p.routing = rl ? routing : NULL;
	p.routing_len = rl;

	CHECK_EQ_INT(env_seal_for_test_vectors(&p, rc, n, pt, pl, sign_sk, rnd, &e), VARSKO_OK);
	if (e != NULL) {
		proto_buf_init(&b);
		CHECK_EQ_INT(env_header_encode(e, &b), VARSKO_OK);
		CHECK(b.len == hl && memcmp(b.p, hdr, hl) == 0);
		proto_buf_free(&b);
		CHECK_EQ_INT(env_signing_input(e, &b), VARSKO_OK);
		crypto_hash_sha256(sig_hash, b.p, b.len);
		CHECK(memcmp(sig_hash, want_hash, 32) == 0);
		proto_buf_free(&b);
		CHECK_EQ_INT(env_to_json(e, &js, &jl), VARSKO_OK);
		CHECK(js != NULL && jl == strlen(want) && strcmp(js, want) == 0);
		free(js);
		js = NULL;
	}
	/* The Python envelope parses, re-encodes to the same text and opens for every recipient. */
	CHECK_EQ_INT(env_from_json(want, strlen(want), &e2), VARSKO_OK);
	if (e2 != NULL) {
		CHECK_EQ_INT(env_verify(e2, sign_pk), VARSKO_OK);
		CHECK_EQ_INT(env_to_json(e2, &js, &jl), VARSKO_OK);
		CHECK(js != NULL && strcmp(js, want) == 0);
		free(js);
		for (size_t i = 0; i < n; i++) {
			uint8_t *out = NULL;
			size_t ol = 0;
			CHECK_EQ_INT(env_open(e2, sign_pk, devs[i].id, devs[i].box_sk, p.kind, p.object_id, &out, &ol),
			             VARSKO_OK);
			CHECK(out != NULL && ol == pl && memcmp(out, pt, pl) == 0);
			env_plaintext_free(out, ol);
		}
	}
	env_free(e);
	env_free(e2);
	free(routing);
	free(pt);
	free(hdr);
	free(devs);
	free(rnd);
}

static void test_vectors(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;
	json_t *root, *vs;

	snprintf(path, sizeof(path), "%s/envelope.json", dir ? dir : "proto/vectors");
	root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL);
	if (root == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return;
	}
	vs = json_object_get(root, "vectors");
	CHECK(json_array_size(vs) >= 3);
	for (size_t i = 0; i < json_array_size(vs); i++)
		test_vector(json_array_get(vs, i));
	json_decref(root);
}

/* ---- generated keys ------------------------------------------------------ */

static uint8_t s_pk[32], s_sk[64], other_pk[32], other_sk[64];
static char s_dev[PROTO_DEVICE_ID_LEN + 1];
static struct dev devs[ENV_RECIPIENTS_MAX + 1];
static struct env_recipient rcpts[ENV_RECIPIENTS_MAX + 1];

static void make_keys(void)
{
	crypto_sign_keypair(s_pk, s_sk);
	crypto_sign_keypair(other_pk, other_sk);
	proto_device_id(s_pk, s_dev);
	for (size_t i = 0; i <= ENV_RECIPIENTS_MAX; i++) {
		uint8_t spk[32], ssk[64];
		crypto_sign_keypair(spk, ssk);
		proto_device_id(spk, devs[i].id);
		crypto_box_keypair(devs[i].box_pk, devs[i].box_sk);
		rcpts[i].device = devs[i].id;
		memcpy(rcpts[i].box_pk, devs[i].box_pk, 32);
	}
}

static const uint8_t msg[] = "Emma (fiktiv) har blå mærker.";
static const uint8_t route_bytes[] = {1, 2, 3, 4, 5};

static struct env_envelope *seal_n(size_t n, const char *kind, const char *obj)
{
	struct env_params p = {kind, obj, s_dev, route_bytes, sizeof(route_bytes)};
	struct env_envelope *e = NULL;

	CHECK_EQ_INT(env_seal(&p, rcpts, n, msg, sizeof(msg), s_sk, &e), VARSKO_OK);
	return e;
}

/* 1 when device i opens e to exactly msg. */
static int opens(const struct env_envelope *e, size_t i)
{
	uint8_t *out = (uint8_t *)"sentinel";
	size_t ol = 99;
	int r = env_open(e, s_pk, devs[i].id, devs[i].box_sk, NULL, NULL, &out, &ol);

	if (r != VARSKO_OK) {
		CHECK(out == NULL && ol == 0);
		CHECK_EQ_INT(r, VARSKO_ERR_CRYPTO);
		return 0;
	}
	r = ol == sizeof(msg) && memcmp(out, msg, ol) == 0;
	env_plaintext_free(out, ol);
	return r;
}

static void resign(struct env_envelope *e, const uint8_t sk[64])
{
	struct proto_buf b;

	proto_buf_init(&b);
	CHECK_EQ_INT(env_signing_input(e, &b), VARSKO_OK);
	CHECK_EQ_INT(proto_sign(e->sig, &b, sk), VARSKO_OK);
	proto_buf_free(&b);
}

static void test_round_trip(void)
{
	struct env_envelope *e1 = seal_n(1, "underretning", "U-2026-000123");
	struct env_envelope *e64 = seal_n(ENV_RECIPIENTS_MAX, "message", "thread-1/m-1");
	char *js = NULL;
	size_t jl;
	struct env_envelope *back = NULL;

	if (e1 == NULL || e64 == NULL)
		abort();
	CHECK(opens(e1, 0));
	CHECK(!opens(e1, 1)); /* a non-recipient */
	CHECK_EQ_INT(e64->n_wraps, ENV_RECIPIENTS_MAX);
	for (size_t i = 0; i < ENV_RECIPIENTS_MAX; i++)
		CHECK(opens(e64, i));
	CHECK(!opens(e64, ENV_RECIPIENTS_MAX));
	for (size_t i = 1; i < e64->n_wraps; i++)
		CHECK(strcmp(e64->wraps[i - 1].device, e64->wraps[i].device) < 0);
	/* A recipient's device id with someone else's secret key. */
	{
		uint8_t *out = NULL;
		size_t ol = 0;
		CHECK_EQ_INT(env_open(e1, s_pk, devs[0].id, devs[1].box_sk, NULL, NULL, &out, &ol), VARSKO_ERR_CRYPTO);
		CHECK(out == NULL);
		/* A wrong sender key and wrong expectations. */
		CHECK_EQ_INT(env_open(e1, other_pk, devs[0].id, devs[0].box_sk, NULL, NULL, &out, &ol),
		             VARSKO_ERR_CRYPTO);
		CHECK_EQ_INT(env_verify(e1, other_pk), VARSKO_ERR_BAD_SIGNATURE);
		CHECK_EQ_INT(env_open(e1, s_pk, devs[0].id, devs[0].box_sk, "message", NULL, &out, &ol),
		             VARSKO_ERR_CRYPTO);
		CHECK_EQ_INT(env_open(e1, s_pk, devs[0].id, devs[0].box_sk, NULL, "U-2026-000124", &out, &ol),
		             VARSKO_ERR_CRYPTO);
		CHECK_EQ_INT(env_open(e1, s_pk, devs[0].id, devs[0].box_sk, "underretning", "U-2026-000123", &out, &ol),
		             VARSKO_OK);
		env_plaintext_free(out, ol);
	}
	/* Two seals of the same input differ (fresh randomness). */
	{
		struct env_envelope *again = seal_n(1, "underretning", "U-2026-000123");
		CHECK(again != NULL && memcmp(again->epk, e1->epk, 32) != 0 &&
		      memcmp(again->nonce, e1->nonce, 24) != 0);
		env_free(again);
	}
	/* JSON round trip of the 64-recipient envelope. */
	CHECK_EQ_INT(env_to_json(e64, &js, &jl), VARSKO_OK);
	CHECK_EQ_INT(env_from_json(js, jl, &back), VARSKO_OK);
	if (back != NULL) {
		CHECK(opens(back, 17));
		CHECK(memcmp(back->sig, e64->sig, 64) == 0);
	}
	free(js);
	env_free(back);
	env_free(e1);
	env_free(e64);
}

/* Flip every bit of n bytes at p; each flip must make verify and open fail. */
static void flip_all(struct env_envelope *e, uint8_t *p, size_t n, const char *what)
{
	int bad = 0;

	for (size_t i = 0; i < n * 8; i++) {
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (env_verify(e, s_pk) == VARSKO_OK || opens(e, 0) || opens(e, 1))
			bad++;
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	if (bad)
		fprintf(stderr, "%s: %d flips accepted\n", what, bad);
	CHECK_EQ_INT(bad, 0);
	CHECK(opens(e, 0) && opens(e, 1));
}

static void test_bit_flips(void)
{
	struct env_envelope *e = seal_n(3, "underretning", "U-2026-000001");

	if (e == NULL)
		abort();
	flip_all(e, e->sig, PROTO_SIG_LEN, "sig");
	flip_all(e, e->epk, PROTO_PK_LEN, "epk");
	flip_all(e, e->nonce, ENV_NONCE_LEN, "nonce");
	flip_all(e, e->ct, e->ct_len, "ciphertext");
	flip_all(e, e->routing, e->routing_len, "routing");
	flip_all(e, (uint8_t *)e->kind, strlen(e->kind), "kind");
	flip_all(e, (uint8_t *)e->object_id, strlen(e->object_id), "object_id");
	flip_all(e, (uint8_t *)e->sender, strlen(e->sender), "sender");
	for (size_t w = 0; w < e->n_wraps; w++) {
		flip_all(e, e->wraps[w].nonce, ENV_NONCE_LEN, "wrap nonce");
		flip_all(e, e->wraps[w].key, ENV_WRAPPED_LEN, "wrap key");
		flip_all(e, (uint8_t *)e->wraps[w].device, strlen(e->wraps[w].device), "wrap device");
	}
	/* Version and length changes. */
	e->version = 2;
	CHECK(!opens(e, 0));
	e->version = 1;
	e->ct_len--;
	CHECK(!opens(e, 0));
	e->ct_len++;
	e->routing_len--;
	CHECK(!opens(e, 0));
	e->routing_len++;
	CHECK(opens(e, 0));
	env_free(e);
}

/*
 * Changes the sender itself could sign (or a forger who had the key): the
 * associated data must still bind the payload to its header.
 */
static void test_confusion(void)
{
	struct env_envelope *e = seal_n(3, "underretning", "U-2026-000001");
	struct env_wrap tmp;
	char *js = NULL;
	size_t jl;

	if (e == NULL)
		abort();
	/* Ciphertext moved to another object id, re-signed: the AEAD refuses. */
	strcpy(e->object_id, "U-2026-000002");
	resign(e, s_sk);
	CHECK_EQ_INT(env_verify(e, s_pk), VARSKO_OK);
	CHECK(!opens(e, 0) && !opens(e, 1) && !opens(e, 2));
	strcpy(e->object_id, "U-2026-000001");
	/* Type swap, re-signed. */
	strcpy(e->kind, "message");
	resign(e, s_sk);
	CHECK(!opens(e, 0));
	strcpy(e->kind, "underretning");
	/* Another sender device named, re-signed by that device. */
	strcpy(e->sender, devs[5].id);
	resign(e, s_sk);
	CHECK(!opens(e, 0));
	strcpy(e->sender, s_dev);
	/* Other routing header, re-signed. */
	e->routing[0] ^= 1;
	resign(e, s_sk);
	CHECK(!opens(e, 0));
	e->routing[0] ^= 1;
	resign(e, s_sk);
	CHECK(opens(e, 0) && opens(e, 1) && opens(e, 2));
	/* Signed by the wrong key. */
	resign(e, other_sk);
	CHECK(!opens(e, 0));
	resign(e, s_sk);
	/* Recipients reordered: not canonical, refused before any crypto, and not encodable. */
	tmp = e->wraps[0];
	e->wraps[0] = e->wraps[1];
	e->wraps[1] = tmp;
	CHECK(!opens(e, 0) && !opens(e, 1));
	CHECK_EQ_INT(env_verify(e, s_pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(env_to_json(e, &js, &jl), VARSKO_ERR_BAD_INPUT);
	tmp = e->wraps[0];
	e->wraps[0] = e->wraps[1];
	e->wraps[1] = tmp;
	/* A recipient dropped from the list, re-signed: the remaining ones cannot decrypt. */
	{
		size_t keep = e->n_wraps;
		e->n_wraps = 2;
		resign(e, s_sk);
		CHECK_EQ_INT(env_verify(e, s_pk), VARSKO_OK);
		for (size_t i = 0; i < 3; i++)
			CHECK(!opens(e, i));
		e->n_wraps = keep;
		resign(e, s_sk);
	}
	/* One recipient's wrap given to another device id, re-signed: the wrap key differs. */
	{
		struct env_envelope *e2 = seal_n(2, "underretning", "U-2026-000001");
		if (e2 == NULL)
			abort();
		memcpy(e2->wraps[1].key, e2->wraps[0].key, ENV_WRAPPED_LEN);
		memcpy(e2->wraps[1].nonce, e2->wraps[0].nonce, ENV_NONCE_LEN);
		resign(e2, s_sk);
		{
			size_t victim = strcmp(devs[0].id, devs[1].id) < 0 ? 1 : 0; /* device of wraps[1] */
			CHECK(!opens(e2, victim));
			CHECK(opens(e2, 1 - victim));
		}
		env_free(e2);
	}
	CHECK(opens(e, 0));
	env_free(e);
}

static void test_limits(void)
{
	struct env_params p = {"underretning", "U-1", s_dev, NULL, 0};
	struct env_envelope *e = (struct env_envelope *)1;
	static uint8_t big[ENV_PAYLOAD_MAX + 1];
	uint8_t routing[ENV_ROUTING_MAX + 1] = {0};
	struct env_recipient dup[2], low;

	CHECK_EQ_INT(env_seal(&p, rcpts, 0, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	CHECK(e == NULL);
	CHECK_EQ_INT(env_seal(&p, rcpts, ENV_RECIPIENTS_MAX + 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, 0, s_sk, &e), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, big, sizeof(big), s_sk, &e), VARSKO_ERR_TOO_LARGE);
	/* A recipient id (a key id) of ENV_RECIPIENT_ID_MAX bytes is sealed to and opens; one byte more is refused. */
	{
		char id[ENV_RECIPIENT_ID_MAX + 2];
		struct env_recipient kr = rcpts[0];
		uint8_t *out = NULL;
		size_t ol = 0;

		memset(id, 'k', ENV_RECIPIENT_ID_MAX);
		id[ENV_RECIPIENT_ID_MAX] = '\0';
		kr.device = id;
		CHECK_EQ_INT(env_seal(&p, &kr, 1, msg, sizeof(msg), s_sk, &e), VARSKO_OK);
		CHECK(e != NULL && env_open(e, s_pk, id, devs[0].box_sk, NULL, NULL, &out, &ol) == VARSKO_OK);
		env_plaintext_free(out, ol);
		env_free(e);
		e = NULL;
		memcpy(id + ENV_RECIPIENT_ID_MAX, "k", 2);
		CHECK_EQ_INT(env_seal(&p, &kr, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	}
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, big, ENV_PAYLOAD_MAX, s_sk, &e), VARSKO_OK);
	if (e != NULL) {
		uint8_t *out = NULL;
		size_t ol = 0;
		CHECK_EQ_INT(e->ct_len, ENV_PAYLOAD_MAX + ENV_TAG_LEN);
		CHECK_EQ_INT(env_open(e, s_pk, devs[0].id, devs[0].box_sk, NULL, NULL, &out, &ol), VARSKO_OK);
		CHECK(out != NULL && ol == ENV_PAYLOAD_MAX && out[0] == 0 && out[ol - 1] == 0);
		env_plaintext_free(out, ol);
	}
	env_free(e);
	p.routing = routing;
	p.routing_len = sizeof(routing);
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_TOO_LARGE);
	p.routing_len = ENV_ROUTING_MAX;
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, sizeof(msg), s_sk, &e), VARSKO_OK);
	CHECK(e != NULL && opens(e, 0));
	env_free(e);
	p.routing_len = 0;
	dup[0] = rcpts[0];
	dup[1] = rcpts[0];
	dup[1].box_pk[0] ^= 1;
	CHECK_EQ_INT(env_seal(&p, dup, 2, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	low = rcpts[0];
	memset(low.box_pk, 0, 32); /* low order: the shared secret would be zero */
	CHECK_EQ_INT(env_seal(&p, &low, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_CRYPTO);
	CHECK(e == NULL);
	p.kind = "Underretning";
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	p.kind = "underretning";
	p.object_id = "has space";
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	p.object_id = "";
	CHECK_EQ_INT(env_seal(&p, rcpts, 1, msg, sizeof(msg), s_sk, &e), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(env_from_json("{}", 2, &e), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(env_from_json("[]", 2, &e), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(env_from_json("{", 1, &e), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(env_from_json("", 0, &e), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(env_from_json("{}", ENV_JSON_MAX + 1, &e), VARSKO_ERR_TOO_LARGE);
	CHECK(e == NULL);
}

/* Replace the first occurrence of `from` in js by `to`; returns a new string. */
static char *edit(const char *js, const char *from, const char *to)
{
	const char *at = strstr(js, from);
	char *o;

	if (at == NULL)
		abort();
	o = malloc(strlen(js) + strlen(to) + 1);
	if (o == NULL)
		abort();
	memcpy(o, js, (size_t)(at - js));
	strcpy(o + (at - js), to);
	strcat(o, at + strlen(from));
	return o;
}

static void json_case(const char *js, const char *from, const char *to, int want)
{
	char *m = edit(js, from, to);
	struct env_envelope *e = NULL;

	CHECK_EQ_INT(env_from_json(m, strlen(m), &e), want);
	if (want != VARSKO_OK)
		CHECK(e == NULL);
	env_free(e);
	free(m);
}

static void test_json_strict(void)
{
	struct env_envelope *e = seal_n(2, "event", "U-9");
	char *js = NULL, *key = NULL;
	size_t jl;
	char wrap_dev[ENV_RECIPIENT_ID_MAX + 16];

	if (e == NULL || env_to_json(e, &js, &jl) != VARSKO_OK)
		abort();
	json_case(js, "{", "{", VARSKO_OK);
	json_case(js, "\"version\":1", "\"version\":2", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"version\":1", "\"version\":1.0", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"version\":1", "\"version\":\"1\"", VARSKO_ERR_BAD_FRAME);
	json_case(js, "{", "{\"extra\":1,", VARSKO_ERR_BAD_FRAME);
	json_case(js, "{", "{\"kind\":\"event\",", VARSKO_ERR_DUPLICATE_KEY);
	json_case(js, "\"kind\":\"event\",", "", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"kind\":\"event\"", "\"kind\":\"Event\"", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"routing\":\"AQIDBAU=\"", "\"routing\":\"AQIDBAU\"", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"routing\":\"AQIDBAU=\"", "\"routing\":\"AQIDBAV=\"", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"routing\":\"AQIDBAU=\"", "\"routing\":\"\"", VARSKO_OK);
	json_case(js, "\"device\":", "\"extra\":0,\"device\":", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"wraps\":[", "\"wraps\":[1,", VARSKO_ERR_BAD_FRAME);
	json_case(js, "\"epk\":\"", "\"epk\":\"AAAA", VARSKO_ERR_BAD_FRAME);
	json_case(js, "}", "} ", VARSKO_OK);
	json_case(js, "}", "}x", VARSKO_ERR_BAD_JSON);
	/* The same wrap twice: not strictly sorted. */
	snprintf(wrap_dev, sizeof(wrap_dev), "\"device\":\"%s\"", e->wraps[1].device);
	{
		char second[ENV_RECIPIENT_ID_MAX + 16];
		snprintf(second, sizeof(second), "\"device\":\"%s\"", e->wraps[0].device);
		key = edit(js, wrap_dev, second);
		json_case(key, "{", "{", VARSKO_ERR_BAD_FRAME);
		free(key);
	}
	{
		char *empty = edit(js, "\"wraps\":[", "\"wraps\":[],\"x\":[");
		struct env_envelope *x = NULL;
		CHECK(env_from_json(empty, strlen(empty), &x) != VARSKO_OK);
		free(empty);
	}
	free(js);
	env_free(e);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	make_keys();
	test_round_trip();
	test_bit_flips();
	test_confusion();
	test_limits();
	test_json_strict();
	return check_result();
}
