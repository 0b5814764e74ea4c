/*
 * test-flow.c: the signed objects and frames of the underretning flow
 * (proto/flow.c). Byte-exact comparison with the independent Python
 * implementation (proto/vectors/flow-gen.py -> flow.json); round trips; every
 * bit of every signing-input field flipped; wrong keys; the roster and
 * receipt checks; events whose fields do not fit their kind; the strict
 * top-level parsing of every flow frame and MQTT payload.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "flow.h"

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

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		fprintf(stderr, "test JSON does not parse: %s\n", jerr.text);
		abort();
	}
	return j;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL)
		abort();
	return s;
}

/* The signing input built by f(obj) equals the hex string want. */
static int same_input(const struct proto_buf *b, const char *want_hex)
{
	size_t n = strlen(want_hex) / 2;
	uint8_t *want = malloc(n + 1);
	int same;

	hex2(want_hex, want, n);
	same = b->err == VARSKO_OK && b->len == n && memcmp(b->p, want, n) == 0;
	free(want);
	return same;
}

/* ---- state shared by the tests, from the vectors ------------------------ */

static uint8_t org_pk[32], org_sk[64], gw_pk[32], gw_sk[64];
static int64_t v_now;
static struct proto_cert gw_cert, sender_cert;
static struct flow_roster v_roster;
static struct flow_receipt v_receipt;
#define N_EVENTS 6
static struct flow_event v_events[N_EVENTS];
static uint8_t v_event_pk[N_EVENTS][32];
static size_t n_v_events;
static json_t *v_root;

static void keys_from_seed(const char *hex, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	hex2(hex, seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

static void test_vector_roster(const json_t *v)
{
	struct flow_roster *r = calloc(1, sizeof(*r)), *r2 = calloc(1, sizeof(*r2));
	struct proto_buf b;
	json_t *j = parse(jstr(v, "json")), *j2 = NULL;
	uint8_t sig[64];
	char *s = NULL;
	const char *detail = NULL;

	proto_buf_init(&b);
	CHECK_EQ_INT(flow_roster_from_json(j, r), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_signing_input(r, &b), VARSKO_OK);
	CHECK(same_input(&b, jstr(v, "signing_input")));
	hex2(jstr(v, "sig"), sig, 64);
	CHECK(memcmp(r->sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_roster_to_json(r, &j2), VARSKO_OK);
	if (j2 != NULL) {
		s = dump(j2);
		CHECK_EQ_STR(s, jstr(v, "json"));
	}
	/* The C signer gives the same signature (Ed25519 is deterministic), sorting an unsorted copy first. */
	memcpy(r2, r, sizeof(*r2));
	memset(r2->sig, 0, 64);
	if (r2->n >= 2) {
		struct proto_cert t = r2->certs[0];
		r2->certs[0] = r2->certs[r2->n - 1];
		r2->certs[r2->n - 1] = t;
	}
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
	CHECK(memcmp(r2->sig, sig, 64) == 0);
	CHECK(memcmp(r2, r, sizeof(*r)) == 0);
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, v_now, &detail), VARSKO_OK);
	CHECK_EQ_STR(detail, "");
	memcpy(&v_roster, r, sizeof(v_roster));
	proto_buf_free(&b);
	free(s);
	json_decref(j);
	json_decref(j2);
	free(r);
	free(r2);
}

static void test_vector_receipt(const json_t *v)
{
	struct flow_receipt r, r2;
	struct env_envelope *e = NULL;
	struct proto_buf b;
	json_t *j = parse(jstr(v, "json")), *j2 = NULL;
	uint8_t sig[64], h[32];
	const char *et = jstr(v, "envelope");
	char *s = NULL;

	proto_buf_init(&b);
	CHECK_EQ_INT(flow_receipt_from_json(j, &r), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_signing_input(&r, &b), VARSKO_OK);
	CHECK(same_input(&b, jstr(v, "signing_input")));
	hex2(jstr(v, "sig"), sig, 64);
	CHECK(memcmp(r.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_receipt_to_json(&r, &j2), VARSKO_OK);
	if (j2 != NULL) {
		s = dump(j2);
		CHECK_EQ_STR(s, jstr(v, "json"));
	}
	r2 = r;
	memset(r2.sig, 0, 64);
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_OK);
	CHECK(memcmp(r2.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, org_pk, r.received), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, org_pk, v_now), VARSKO_OK);
	CHECK_EQ_INT(env_from_json(et, strlen(et), &e), VARSKO_OK);
	CHECK_EQ_INT(flow_envelope_hash(h, e), VARSKO_OK);
	CHECK(memcmp(h, r.envelope_hash, 32) == 0);
	CHECK(flow_reference_valid(r.reference));
	CHECK_EQ_STR(r.reference, e ? e->object_id : "");
	v_receipt = r;
	env_free(e);
	proto_buf_free(&b);
	free(s);
	json_decref(j);
	json_decref(j2);
}

static void test_vector_event(const json_t *v)
{
	struct flow_event ev, ev2;
	struct proto_buf b;
	json_t *j = parse(jstr(v, "json")), *j2 = NULL;
	uint8_t sig[64], pk[32], sk[64];
	char *s = NULL;

	proto_buf_init(&b);
	keys_from_seed(jstr(v, "signer_seed"), pk, sk);
	CHECK_EQ_INT(flow_event_from_json(j, &ev), VARSKO_OK);
	CHECK_EQ_STR(flow_event_kind_name(ev.kind), jstr(v, "name"));
	CHECK_EQ_INT(flow_event_signing_input(&ev, &b), VARSKO_OK);
	CHECK(same_input(&b, jstr(v, "signing_input")));
	hex2(jstr(v, "sig"), sig, 64);
	CHECK(memcmp(ev.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_event_to_json(&ev, &j2), VARSKO_OK);
	if (j2 != NULL) {
		s = dump(j2);
		CHECK_EQ_STR(s, jstr(v, "json"));
	}
	ev2 = ev;
	memset(ev2.sig, 0, 64);
	CHECK_EQ_INT(flow_event_sign(&ev2, sk), VARSKO_OK);
	CHECK(memcmp(ev2.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_event_verify(&ev, pk), VARSKO_OK);
	CHECK_EQ_INT(flow_event_verify(&ev, org_pk), VARSKO_ERR_BAD_SIGNATURE);
	if (n_v_events < N_EVENTS) {
		v_events[n_v_events] = ev;
		memcpy(v_event_pk[n_v_events], pk, 32);
		n_v_events++;
	}
	sodium_memzero(sk, sizeof(sk));
	proto_buf_free(&b);
	free(s);
	json_decref(j);
	json_decref(j2);
}

/* An agent's refusal of flow.json "refusals": parse, signing input, signature, JSON text, verify (PROTOCOL.md 12.9). */
static void test_vector_refusal(const json_t *v)
{
	struct flow_refusal f, g;
	struct proto_buf b;
	json_t *j = parse(jstr(v, "json")), *j2 = NULL;
	uint8_t sig[64], pk[32], sk[64];
	char *s = NULL;

	proto_buf_init(&b);
	keys_from_seed(jstr(v, "signer_seed"), pk, sk);
	CHECK_EQ_INT(flow_refusal_from_json(j, &f), VARSKO_OK);
	CHECK_EQ_STR(flow_refusal_reason_name(f.reason), jstr(v, "name"));
	CHECK_EQ_INT(flow_refusal_signing_input(&f, &b), VARSKO_OK);
	CHECK(same_input(&b, jstr(v, "signing_input")));
	hex2(jstr(v, "sig"), sig, 64);
	CHECK(memcmp(f.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_refusal_to_json(&f, &j2), VARSKO_OK);
	if (j2 != NULL) {
		s = dump(j2);
		CHECK_EQ_STR(s, jstr(v, "json"));
	}
	g = f;
	memset(g.sig, 0, 64);
	CHECK_EQ_INT(flow_refusal_sign(&g, sk), VARSKO_OK);
	CHECK(memcmp(g.sig, sig, 64) == 0);
	CHECK_EQ_INT(flow_refusal_verify(&f, pk), VARSKO_OK);
	CHECK_EQ_INT(flow_refusal_verify(&f, org_pk), VARSKO_ERR_BAD_SIGNATURE);
	sodium_memzero(sk, sizeof(sk));
	proto_buf_free(&b);
	free(s);
	json_decref(j);
	json_decref(j2);
}

static void test_vectors(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;
	json_t *evs, *hs;
	uint8_t pk[32];
	const char *ct;

	snprintf(path, sizeof(path), "%s/flow.json", dir ? dir : "proto/vectors");
	v_root = json_load_file(path, 0, &jerr);
	CHECK(v_root != NULL);
	if (v_root == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(check_result());
	}
	keys_from_seed(jstr(v_root, "org_seed"), org_pk, org_sk);
	hex2(jstr(v_root, "org_pk"), pk, 32);
	CHECK(memcmp(pk, org_pk, 32) == 0);
	keys_from_seed(jstr(v_root, "gateway_seed"), gw_pk, gw_sk);
	CHECK_EQ_INT(proto_time_parse(jstr(v_root, "now"), &v_now), VARSKO_OK);
	ct = jstr(v_root, "gateway_cert");
	CHECK_EQ_INT(proto_cert_from_json(ct, strlen(ct), &gw_cert), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&gw_cert, org_pk, v_now), VARSKO_OK);
	CHECK(memcmp(gw_cert.sign_pk, gw_pk, 32) == 0);
	ct = jstr(v_root, "sender_cert");
	CHECK_EQ_INT(proto_cert_from_json(ct, strlen(ct), &sender_cert), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_verify(&sender_cert, org_pk, v_now), VARSKO_OK);

	test_vector_roster(json_object_get(v_root, "roster"));
	test_vector_receipt(json_object_get(v_root, "receipt"));
	CHECK_EQ_STR(v_receipt.sender, sender_cert.device);
	evs = json_object_get(v_root, "events");
	CHECK(json_array_size(evs) == N_EVENTS);
	for (size_t i = 0; i < json_array_size(evs); i++)
		test_vector_event(json_array_get(evs, i));
	evs = json_object_get(v_root, "refusals");
	CHECK(json_array_size(evs) == 3);
	for (size_t i = 0; i < json_array_size(evs); i++)
		test_vector_refusal(json_array_get(evs, i));
	hs = json_object_get(v_root, "envelope_hashes");
	CHECK(json_array_size(hs) >= 3);
	for (size_t i = 0; i < json_array_size(hs); i++) {
		const json_t *h = json_array_get(hs, i);
		const char *et = jstr(h, "envelope");
		struct env_envelope *e = NULL;
		uint8_t want[32], got[32];

		hex2(jstr(h, "hash"), want, 32);
		CHECK_EQ_INT(env_from_json(et, strlen(et), &e), VARSKO_OK);
		CHECK_EQ_INT(flow_envelope_hash(got, e), VARSKO_OK);
		CHECK(memcmp(want, got, 32) == 0);
		if (e != NULL) {
			/* One bit anywhere in the signed envelope changes the hash. */
			e->ct[0] ^= 1;
			CHECK_EQ_INT(flow_envelope_hash(got, e), VARSKO_OK);
			CHECK(memcmp(want, got, 32) != 0);
			e->ct[0] ^= 1;
			e->sig[0] ^= 1; /* the signature is not part of it */
			CHECK_EQ_INT(flow_envelope_hash(got, e), VARSKO_OK);
			CHECK(memcmp(want, got, 32) == 0);
			e->n_wraps = 0;
			CHECK_EQ_INT(flow_envelope_hash(got, e), VARSKO_ERR_BAD_INPUT);
		}
		env_free(e);
	}
	CHECK_EQ_INT(flow_envelope_hash(pk, NULL), VARSKO_ERR_BAD_INPUT);
}

/* ---- every bit of every signing-input field ------------------------------ */

static int flips, flip_fails;

/* Flip each bit of p[0..n) in turn; verify() must refuse every one. */
#define FLIP_ALL(p, n, verify_expr)                                                                                    \
	do {                                                                                                           \
		uint8_t *fp_ = (uint8_t *)(p);                                                                         \
		for (size_t i_ = 0; i_ < (n); i_++)                                                                    \
			for (int b_ = 0; b_ < 8; b_++) {                                                               \
				fp_[i_] ^= (uint8_t)(1u << b_);                                                        \
				flips++;                                                                               \
				if ((verify_expr) == VARSKO_OK) {                                                      \
					flip_fails++;                                                                  \
					fprintf(stderr, "%s:%d: flip of %s byte %zu bit %d still verifies\n",          \
					        __FILE__, __LINE__, #p, i_, b_);                                       \
				}                                                                                      \
				fp_[i_] ^= (uint8_t)(1u << b_);                                                        \
			}                                                                                              \
	} while (0)

static void test_bit_flips(void)
{
	struct flow_roster *r = &v_roster;
	struct flow_receipt *rc = &v_receipt;

	flips = flip_fails = 0;
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, v_now, NULL), VARSKO_OK);
	FLIP_ALL(r->team, strlen(r->team), flow_roster_verify(r, org_pk, v_now, NULL));
	FLIP_ALL(&r->version, sizeof(r->version), flow_roster_verify(r, org_pk, v_now, NULL));
	FLIP_ALL(&r->issued, sizeof(r->issued), flow_roster_verify(r, org_pk, v_now, NULL));
	FLIP_ALL(&r->n, 1, flow_roster_verify(r, org_pk, v_now, NULL));
	FLIP_ALL(r->sig, 64, flow_roster_verify(r, org_pk, v_now, NULL));
	for (size_t k = 0; k < r->n; k++) {
		struct proto_cert *c = &r->certs[k];
		FLIP_ALL(c->device, strlen(c->device), flow_roster_verify(r, org_pk, v_now, NULL));
		FLIP_ALL(c->sign_pk, 32, flow_roster_verify(r, org_pk, v_now, NULL));
		FLIP_ALL(c->box_pk, 32, flow_roster_verify(r, org_pk, v_now, NULL));
		FLIP_ALL(&c->serial, sizeof(c->serial), flow_roster_verify(r, org_pk, v_now, NULL));
		/* Not in the roster's input, but in the certificate's: still refused. */
		FLIP_ALL(c->role, strlen(c->role), flow_roster_verify(r, org_pk, v_now, NULL));
		FLIP_ALL(c->team, strlen(c->team), flow_roster_verify(r, org_pk, v_now, NULL));
	}
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, v_now, NULL), VARSKO_OK);

#define RV flow_receipt_verify(rc, &gw_cert, org_pk, v_now)
	CHECK_EQ_INT(RV, VARSKO_OK);
	FLIP_ALL(&rc->version, sizeof(rc->version), RV);
	FLIP_ALL(rc->reference, strlen(rc->reference), RV);
	FLIP_ALL(rc->submission, strlen(rc->submission), RV);
	FLIP_ALL(rc->envelope_hash, 32, RV);
	FLIP_ALL(rc->sender, strlen(rc->sender), RV);
	FLIP_ALL(rc->sender_user, strlen(rc->sender_user), RV);
	FLIP_ALL(rc->institution, strlen(rc->institution), RV);
	FLIP_ALL(rc->team, strlen(rc->team), RV);
	FLIP_ALL(&rc->received, sizeof(rc->received), RV);
	FLIP_ALL(&rc->vurdering_due, sizeof(rc->vurdering_due), RV);
	FLIP_ALL(&rc->kvittering_due, sizeof(rc->kvittering_due), RV);
	FLIP_ALL(&rc->tilbagemelding_due, sizeof(rc->tilbagemelding_due), RV);
	FLIP_ALL(rc->gateway, strlen(rc->gateway), RV);
	FLIP_ALL(rc->sig, 64, RV);
	CHECK_EQ_INT(RV, VARSKO_OK);
#undef RV

	for (size_t k = 0; k < n_v_events; k++) {
		struct flow_event *e = &v_events[k];
		const uint8_t *pk = v_event_pk[k];

#define EV flow_event_verify(e, pk)
		CHECK_EQ_INT(EV, VARSKO_OK);
		FLIP_ALL(&e->version, sizeof(e->version), EV);
		FLIP_ALL(e->reference, strlen(e->reference), EV);
		FLIP_ALL(&e->kind, sizeof(e->kind), EV);
		FLIP_ALL(e->device, strlen(e->device), EV);
		FLIP_ALL(&e->time, sizeof(e->time), EV);
		FLIP_ALL(&e->akut, sizeof(e->akut), EV);
		FLIP_ALL(&e->started, sizeof(e->started), EV);
		FLIP_ALL(e->team, strlen(e->team) + 1, EV);
		FLIP_ALL(&e->has_envelope, sizeof(e->has_envelope), EV);
		if (e->has_envelope)
			FLIP_ALL(e->envelope_hash, 32, EV);
		/* The signature is not an input field: every bit of it for the first event, a few for the rest. */
		if (k == 0)
			FLIP_ALL(e->sig, 64, EV);
		else
			for (size_t q = 0; q < 64; q += 21)
				FLIP_ALL(&e->sig[q], 1, EV);
		CHECK_EQ_INT(EV, VARSKO_OK);
#undef EV
	}
	CHECK(flips > 8000);
	CHECK_EQ_INT(flip_fails, 0);
	fprintf(stderr, "%d bit flips refused\n", flips);
}

/* ---- rosters built here --------------------------------------------------- */

struct key {
	uint8_t pk[32], sk[64], box_pk[32];
	char dev[PROTO_DEVICE_ID_LEN + 1];
};

static void make_key(struct key *k)
{
	uint8_t box_sk[32];

	crypto_sign_keypair(k->pk, k->sk);
	crypto_box_keypair(k->box_pk, box_sk);
	proto_device_id(k->pk, k->dev);
	sodium_memzero(box_sk, sizeof(box_sk));
}

static uint64_t next_serial = 100;

static void make_cert(struct proto_cert *c, const struct key *k, const char *role, const char *team,
                      const uint8_t *sk_org)
{
	memset(c, 0, sizeof(*c));
	c->version = 1;
	c->serial = next_serial++;
	snprintf(c->user, sizeof(c->user), "u-%llu", (unsigned long long)c->serial);
	snprintf(c->name, sizeof(c->name), "Navn %llu", (unsigned long long)c->serial);
	snprintf(c->role, sizeof(c->role), "%s", role);
	snprintf(c->team, sizeof(c->team), "%s", team);
	memcpy(c->sign_pk, k->pk, 32);
	memcpy(c->box_pk, k->box_pk, 32);
	c->not_before = 1767225600; /* 2026-01-01 */
	c->not_after = 1798761600;  /* 2027-01-01 */
	if (proto_cert_sign(c, sk_org) != VARSKO_OK)
		abort();
}

static const int64_t NOW = 1795424400; /* 2026-11-23T08:20:00Z */

static void base_roster(struct flow_roster *r, struct key *ks, size_t n)
{
	static const char *const roles[] = {"myndighed", "leder", "agent"};

	memset(r, 0, sizeof(*r));
	snprintf(r->team, sizeof(r->team), "team-syd");
	r->version = 7;
	r->issued = NOW - 60;
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		make_key(&ks[i]);
		make_cert(&r->certs[i], &ks[i], roles[i % 3], "team-syd", org_sk);
	}
}

static void test_roster(void)
{
	struct flow_roster *r = calloc(1, sizeof(*r)), *r2 = calloc(1, sizeof(*r2));
	struct key *ks = calloc(FLOW_ROSTER_MAX + 1, sizeof(*ks));
	uint8_t o2_pk[32], o2_sk[64];
	const char *detail = NULL;
	json_t *j = NULL;
	char *s = NULL;

	crypto_sign_keypair(o2_pk, o2_sk);
	base_roster(r, ks, 5);
	CHECK_EQ_INT(flow_roster_sign(r, org_sk), VARSKO_OK);
	for (size_t i = 1; i < r->n; i++)
		CHECK(strcmp(r->certs[i - 1].device, r->certs[i].device) < 0);
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, NOW, &detail), VARSKO_OK);
	/* Wrong organisation key. */
	CHECK_EQ_INT(flow_roster_verify(r, o2_pk, NOW, &detail), VARSKO_ERR_BAD_SIGNATURE);
	/* JSON round trip. */
	CHECK_EQ_INT(flow_roster_to_json(r, &j), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_from_json(j, r2), VARSKO_OK);
	CHECK(memcmp(r, r2, sizeof(*r)) == 0);
	json_decref(j);
	j = NULL;

	/* An uncertified device: its certificate is by another organisation key. */
	memcpy(r2, r, sizeof(*r));
	make_cert(&r2->certs[2], &ks[9], "myndighed", "team-syd", o2_sk);
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_CERT);
	/* A device of another team. */
	make_key(&ks[10]);
	memcpy(r2, r, sizeof(*r));
	make_cert(&r2->certs[1], &ks[10], "myndighed", "team-nord", org_sk);
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_STR(detail, "roster certificate of another team");
	/* Roles that may not read. */
	static const char *const bad_roles[] = {"fagperson", "raadgiver", "admin", "gateway"};
	for (size_t i = 0; i < 4; i++) {
		memcpy(r2, r, sizeof(*r));
		make_key(&ks[11 + i]);
		make_cert(&r2->certs[0], &ks[11 + i], bad_roles[i], "team-syd", org_sk);
		CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
		CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_CERT);
	}
	/* Not sorted (signed sorted, then swapped; and the signature over an unsorted list). */
	memcpy(r2, r, sizeof(*r));
	{
		struct proto_cert t = r2->certs[0];
		r2->certs[0] = r2->certs[1];
		r2->certs[1] = t;
	}
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_STR(detail, "roster devices not strictly sorted");
	{
		struct proto_buf b;
		proto_buf_init(&b);
		CHECK_EQ_INT(flow_roster_signing_input(r2, &b), VARSKO_OK);
		CHECK_EQ_INT(proto_sign(r2->sig, &b, org_sk), VARSKO_OK);
		proto_buf_free(&b);
	}
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_SIGNATURE);
	/* A device twice. */
	memcpy(r2, r, sizeof(*r));
	r2->certs[3] = r2->certs[1];
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_SIGNATURE);
	/* Expired and not yet valid certificates. */
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, 1798761600 + 1, &detail), VARSKO_ERR_DEVICE_EXPIRED);
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, 1767225600 - 1, &detail), VARSKO_ERR_DEVICE_EXPIRED);
	CHECK_EQ_INT(flow_roster_verify(r, org_pk, 1798761600, &detail), VARSKO_OK);
	/* A bad roster signature. */
	memcpy(r2, r, sizeof(*r));
	r2->sig[17] ^= 0x40;
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, &detail), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_STR(detail, "roster signature does not verify");
	/* The version and the team are signed. */
	memcpy(r2, r, sizeof(*r));
	r2->version++;
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, NULL), VARSKO_ERR_BAD_SIGNATURE);
	/* Sizes: none, one, the maximum, one more. */
	memcpy(r2, r, sizeof(*r));
	r2->n = 0;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, NULL), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(flow_roster_to_json(r2, &j), VARSKO_ERR_BAD_INPUT);
	CHECK(j == NULL);
	r2->n = 1;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, NULL), VARSKO_OK);
	base_roster(r2, ks, FLOW_ROSTER_MAX);
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(r2, org_pk, NOW, NULL), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_to_json(r2, &j), VARSKO_OK);
	r2->n = FLOW_ROSTER_MAX + 1;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	if (j != NULL) {
		json_t *arr = json_object_get(j, "devices");
		CHECK_EQ_INT(flow_roster_from_json(j, r2), VARSKO_OK);
		json_array_append(arr, json_array_get(arr, 0));
		CHECK_EQ_INT(flow_roster_from_json(j, r2), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_INT(r2->n, 0);
	}
	json_decref(j);
	j = NULL;
	/* Version 0, a bad team, a time out of range are not signed. */
	base_roster(r2, ks, 3);
	r2->version = 0;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	r2->version = 1;
	strcpy(r2->team, "team syd");
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	strcpy(r2->team, "t");
	r2->issued = -1;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_ERR_BAD_INPUT);
	r2->issued = NOW;
	CHECK_EQ_INT(flow_roster_sign(r2, org_sk), VARSKO_OK);

	/* from_json refusals. */
	CHECK_EQ_INT(flow_roster_to_json(r, &j), VARSKO_OK);
	s = dump(j);
	json_decref(j);
	j = NULL;
	{
		static const char *const edits[][2] = {
		        {"\"version\":7", "\"version\":0"},
		        {"\"version\":7", "\"version\":\"7\""},
		        {"\"version\":7", "\"version\":7.0"},
		        {"\"version\":7", "\"version\":true"},
		        {"\"team\":\"team-syd\",\"version\"", "\"team\":\"\",\"version\""},
		        {"\"team\":\"team-syd\",\"version\"", "\"team\":7,\"version\""},
		        {"\"issued\":\"2026", "\"issued\":\"2026 "},
		        {"\"devices\":[", "\"devices\":[1,"},
		        {"\"devices\":[", "\"x\":1,\"devices\":["},
		        {"\"sig\":\"", "\"sig\":\"AAAA"},
		        {"\"role\":\"myndighed\"", "\"role\":\"myndighed\",\"x\":1"},
		};
		for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
			char *p = strstr(s, edits[i][0]), buf[65536];
			json_t *jj;
			if (p == NULL) {
				fprintf(stderr, "edit %zu: '%s' not found\n", i, edits[i][0]);
				CHECK(0);
				continue;
			}
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - s), s, edits[i][1], p + strlen(edits[i][0]));
			jj = parse(buf);
			CHECK_EQ_INT(flow_roster_from_json(jj, r2), VARSKO_ERR_BAD_FRAME);
			CHECK_EQ_INT(r2->n, 0);
			json_decref(jj);
		}
		j = parse(s);
		json_object_del(j, "issued");
		CHECK_EQ_INT(flow_roster_from_json(j, r2), VARSKO_ERR_BAD_FRAME);
		json_decref(j);
		j = NULL;
		CHECK_EQ_INT(flow_roster_from_json(NULL, r2), VARSKO_ERR_BAD_FRAME);
		j = json_array();
		CHECK_EQ_INT(flow_roster_from_json(j, r2), VARSKO_ERR_BAD_FRAME);
		json_decref(j);
		j = NULL;
	}
	free(s);
	sodium_memzero(o2_sk, sizeof(o2_sk));
	free(ks);
	free(r);
	free(r2);
}

/* ---- receipts -------------------------------------------------------------- */

static void test_receipt(void)
{
	struct flow_receipt r = v_receipt, r2;
	struct proto_cert c;
	struct key k;
	uint8_t o2_pk[32], o2_sk[64];
	json_t *j = NULL;
	char *s = NULL;

	crypto_sign_keypair(o2_pk, o2_sk);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, org_pk, v_now), VARSKO_OK);
	/* The gateway certificate must be a gateway's, of the receipt's gateway device, by this organisation, valid. */
	c = gw_cert;
	strcpy(c.role, "myndighed");
	CHECK_EQ_INT(proto_cert_sign(&c, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r, &c, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(flow_receipt_verify(&r, &sender_cert, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	make_key(&k);
	make_cert(&c, &k, "gateway", "", org_sk);
	CHECK_EQ_INT(flow_receipt_verify(&r, &c, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	r2 = r;
	strcpy(r2.gateway, c.device); /* a receipt naming the other gateway, signed by the first one */
	CHECK_EQ_INT(flow_receipt_verify(&r2, &c, org_pk, v_now), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(flow_receipt_sign(&r2, k.sk), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r2, &c, org_pk, v_now), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r2, &gw_cert, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, o2_pk, v_now), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, org_pk, 1798761600 + 1), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(flow_receipt_verify(&r, NULL, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	c = gw_cert;
	c.sig[3] ^= 1;
	CHECK_EQ_INT(flow_receipt_verify(&r, &c, org_pk, v_now), VARSKO_ERR_BAD_CERT);
	/* Signed by the wrong key. */
	r2 = r;
	CHECK_EQ_INT(flow_receipt_sign(&r2, o2_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r2, &gw_cert, org_pk, v_now), VARSKO_ERR_BAD_SIGNATURE);
	/* Not signed when it would not encode. */
	r2 = r;
	strcpy(r2.reference, "U-26-000001");
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(flow_receipt_to_json(&r2, &j), VARSKO_ERR_BAD_INPUT);
	r2 = r;
	r2.version = 2;
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_ERR_BAD_INPUT);
	r2 = r;
	r2.submission[0] = '\0';
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_ERR_BAD_INPUT);
	r2 = r;
	r2.kvittering_due = 253402300800LL;
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_ERR_BAD_INPUT);
	r2 = r;
	memset(r2.institution, 'x', sizeof(r2.institution)); /* not terminated */
	CHECK_EQ_INT(flow_receipt_sign(&r2, gw_sk), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(flow_receipt_verify(&r2, &gw_cert, org_pk, v_now), VARSKO_ERR_BAD_SIGNATURE);

	/* JSON round trip and refusals. */
	CHECK_EQ_INT(flow_receipt_to_json(&r, &j), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_from_json(j, &r2), VARSKO_OK);
	CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
	s = dump(j);
	json_decref(j);
	j = NULL;
	{
		static const char *const edits[][2] = {
		        {"\"version\":1", "\"version\":2"},
		        {"\"version\":1", "\"version\":\"1\""},
		        {"\"reference\":\"U-2026-000001\"", "\"reference\":\"U-2026-00001\""},
		        {"\"reference\":\"U-2026-000001\"", "\"reference\":\"u-2026-000001\""},
		        {"\"envelope_hash\":\"", "\"envelope_hash\":\"AAAA"},
		        {"\"received\":\"2026-11-23T09:00:00Z\"", "\"received\":\"2026-11-23T09:00:00+00:00\""},
		        {"\"received\":\"2026-11-23T09:00:00Z\"", "\"received\":1795424400"},
		        {"\"team\":\"team-vest\"", "\"team\":\"team vest\""},
		        {"\"team\":\"team-vest\"", "\"team\":null"},
		        {"\"gateway\":\"", "\"extra\":1,\"gateway\":\""},
		        {"\"submission\":\"", "\"submission\":\"\\u0000"},
		};
		for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
			char *p = strstr(s, edits[i][0]), buf[8192];
			json_t *jj;
			if (p == NULL) {
				fprintf(stderr, "edit %zu: '%s' not found\n", i, edits[i][0]);
				CHECK(0);
				continue;
			}
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - s), s, edits[i][1], p + strlen(edits[i][0]));
			jj = json_loads(buf, JSON_ALLOW_NUL, NULL);
			CHECK(jj != NULL);
			CHECK_EQ_INT(flow_receipt_from_json(jj, &r2), VARSKO_ERR_BAD_FRAME);
			CHECK_EQ_INT(r2.version, 0);
			json_decref(jj);
		}
		j = parse(s);
		json_object_del(j, "tilbagemelding_due");
		CHECK_EQ_INT(flow_receipt_from_json(j, &r2), VARSKO_ERR_BAD_FRAME);
		json_decref(j);
		j = NULL;
	}
	free(s);

	/* References. */
	CHECK(flow_reference_valid("U-2026-000123"));
	CHECK(flow_reference_valid("U-2026-123456789"));
	CHECK(flow_reference_valid("U-0000-000000"));
	CHECK(!flow_reference_valid("U-2026-12345"));
	CHECK(!flow_reference_valid("U-2026-1234567890"));
	CHECK(!flow_reference_valid("U-202-000123"));
	CHECK(!flow_reference_valid("U-20260-00123"));
	CHECK(!flow_reference_valid("u-2026-000123"));
	CHECK(!flow_reference_valid("U_2026-000123"));
	CHECK(!flow_reference_valid("U-2026_000123"));
	CHECK(!flow_reference_valid("U-2026-00012a"));
	CHECK(!flow_reference_valid("U-2026-000123 "));
	CHECK(!flow_reference_valid(" U-2026-000123"));
	CHECK(!flow_reference_valid("U-2026--00123"));
	CHECK(!flow_reference_valid(""));
	CHECK(!flow_reference_valid(NULL));
	sodium_memzero(o2_sk, sizeof(o2_sk));
}

/* ---- events -------------------------------------------------------------------- */

static void make_event(struct flow_event *e, enum flow_event_kind k, const char *dev)
{
	memset(e, 0, sizeof(*e));
	e->version = FLOW_VERSION;
	strcpy(e->reference, "U-2026-000042");
	e->kind = k;
	snprintf(e->device, sizeof(e->device), "%s", dev);
	e->time = NOW;
	e->akut = k == FLOW_EV_VURDERET ? 1 : -1;
	e->started = k == FLOW_EV_TILBAGEMELDING ? 0 : -1;
	if (k == FLOW_EV_OMDIRIGERET)
		strcpy(e->team, "team-nord");
	e->has_envelope = flow_event_needs_envelope(k);
	if (e->has_envelope)
		memset(e->envelope_hash, 0xa5, 32);
}

static void test_events(void)
{
	static const char *const names[] = {"leveret",   "modtaget",       "journaliseret", "aabnet",   "vurderet",
	                                    "kvitteret", "tilbagemelding", "omdirigeret",   "afsluttet"};
	struct key k, k2;
	struct flow_event e, e2;
	json_t *j = NULL;

	make_key(&k);
	make_key(&k2);
	CHECK(flow_event_kind_name(FLOW_EV_NONE) == NULL);
	CHECK(flow_event_kind_name(FLOW_EV_COUNT_) == NULL);
	CHECK(flow_event_kind_name((enum flow_event_kind) - 1) == NULL);
	CHECK_EQ_INT(flow_event_kind_from_name("Vurderet"), FLOW_EV_NONE);
	CHECK_EQ_INT(flow_event_kind_from_name(""), FLOW_EV_NONE);
	CHECK_EQ_INT(flow_event_kind_from_name(NULL), FLOW_EV_NONE);
	CHECK_EQ_INT(flow_event_kind_from_name("modtaget_gateway"), FLOW_EV_NONE);
	for (int kind = FLOW_EV_LEVERET; kind < FLOW_EV_COUNT_; kind++) {
		CHECK_EQ_STR(flow_event_kind_name((enum flow_event_kind)kind), names[kind - 1]);
		CHECK_EQ_INT(flow_event_kind_from_name(names[kind - 1]), kind);
		CHECK(strlen(names[kind - 1]) <= FLOW_KIND_MAX);
		CHECK_EQ_INT(flow_event_needs_envelope((enum flow_event_kind)kind),
		             kind == FLOW_EV_KVITTERET || kind == FLOW_EV_TILBAGEMELDING ||
		                     kind == FLOW_EV_OMDIRIGERET);

		/* Sign, verify, wrong key, JSON round trip. */
		make_event(&e, (enum flow_event_kind)kind, k.dev);
		CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_OK);
		CHECK_EQ_INT(flow_event_verify(&e, k.pk), VARSKO_OK);
		CHECK_EQ_INT(flow_event_verify(&e, k2.pk), VARSKO_ERR_BAD_SIGNATURE);
		CHECK_EQ_INT(flow_event_to_json(&e, &j), VARSKO_OK);
		CHECK_EQ_INT(flow_event_from_json(j, &e2), VARSKO_OK);
		CHECK(memcmp(&e, &e2, sizeof(e)) == 0);
		CHECK_EQ_INT(json_object_get(j, "akut") != NULL, kind == FLOW_EV_VURDERET);
		CHECK_EQ_INT(json_object_get(j, "started") != NULL, kind == FLOW_EV_TILBAGEMELDING);
		CHECK_EQ_INT(json_object_get(j, "team") != NULL, kind == FLOW_EV_OMDIRIGERET);
		CHECK_EQ_INT(json_object_get(j, "envelope_hash") != NULL, flow_event_needs_envelope(kind));
		json_decref(j);
		j = NULL;

		/* Fields of another kind are refused, in the struct and in JSON. */
		e2 = e;
		e2.akut = kind == FLOW_EV_VURDERET ? -1 : 0;
		CHECK_EQ_INT(flow_event_sign(&e2, k.sk), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(flow_event_verify(&e2, k.pk), VARSKO_ERR_BAD_SIGNATURE);
		e2 = e;
		e2.started = kind == FLOW_EV_TILBAGEMELDING ? 2 : 1;
		CHECK_EQ_INT(flow_event_sign(&e2, k.sk), VARSKO_ERR_BAD_INPUT);
		e2 = e;
		strcpy(e2.team, kind == FLOW_EV_OMDIRIGERET ? "" : "team-nord");
		CHECK_EQ_INT(flow_event_sign(&e2, k.sk), VARSKO_ERR_BAD_INPUT);
		e2 = e;
		e2.has_envelope = !e2.has_envelope;
		CHECK_EQ_INT(flow_event_sign(&e2, k.sk), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(flow_event_to_json(&e2, &j), VARSKO_ERR_BAD_INPUT);
		CHECK(j == NULL);
		CHECK_EQ_INT(flow_event_to_json(&e, &j), VARSKO_OK);
		{
			json_t *jj = json_deep_copy(j);
			if (kind == FLOW_EV_VURDERET)
				json_object_del(jj, "akut");
			else
				json_object_set_new(jj, "akut", json_false());
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			CHECK_EQ_INT(e2.kind, FLOW_EV_NONE);
			json_decref(jj);
			jj = json_deep_copy(j);
			if (kind == FLOW_EV_TILBAGEMELDING)
				json_object_del(jj, "started");
			else
				json_object_set_new(jj, "started", json_true());
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			json_decref(jj);
			jj = json_deep_copy(j);
			if (kind == FLOW_EV_OMDIRIGERET)
				json_object_del(jj, "team");
			else
				json_object_set_new(jj, "team", json_string("team-nord"));
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			json_decref(jj);
			jj = json_deep_copy(j);
			if (flow_event_needs_envelope(kind))
				json_object_del(jj, "envelope_hash");
			else
				json_object_set_new(jj, "envelope_hash",
				                    json_string("pWlaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo="));
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			json_decref(jj);
			/* Another kind with the same fields. */
			jj = json_deep_copy(j);
			json_object_set_new(jj, "kind",
			                    json_string(kind == FLOW_EV_AFSLUTTET ? "aabnet" : "afsluttet"));
			if (kind == FLOW_EV_AABNET || kind == FLOW_EV_AFSLUTTET || kind == FLOW_EV_MODTAGET ||
			    kind == FLOW_EV_LEVERET || kind == FLOW_EV_JOURNALISERET) {
				CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_OK);
				CHECK_EQ_INT(flow_event_verify(&e2, k.pk), VARSKO_ERR_BAD_SIGNATURE);
			} else {
				CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			}
			json_decref(jj);
		}
		json_decref(j);
		j = NULL;
	}
	/* Value and type errors. */
	make_event(&e, FLOW_EV_VURDERET, k.dev);
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_OK);
	CHECK_EQ_INT(flow_event_to_json(&e, &j), VARSKO_OK);
	{
		static const struct {
			const char *key, *value; /* value as JSON text */
		} bad[] = {
		        {"akut", "1"},
		        {"akut", "\"true\""},
		        {"akut", "null"},
		        {"kind", "\"vurderet \""},
		        {"kind", "\"ukendt\""},
		        {"kind", "7"},
		        {"version", "2"},
		        {"version", "1.0"},
		        {"reference", "\"U-2026-42\""},
		        {"device", "\"\""},
		        {"device", "\"d x\""},
		        {"time", "\"2026-11-23\""},
		        {"time", "\"2026-02-30T00:00:00Z\""},
		        {"sig", "\"AAAA\""},
		        {"sig", "\"ZZ\""},
		        {"extra", "1"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			json_t *jj = json_deep_copy(j);
			json_object_set_new(jj, bad[i].key, json_loads(bad[i].value, JSON_DECODE_ANY, NULL));
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			json_decref(jj);
		}
		CHECK_EQ_INT(flow_event_from_json(NULL, &e2), VARSKO_ERR_BAD_FRAME);
		/* Two base64 digits replaced by the two UTF-8 bytes of U+01B0 (which libsodium would read as "//"). */
		{
			json_t *jj = json_deep_copy(j);
			char sig[PROTO_SIG_LEN * 2];
			snprintf(sig, sizeof(sig), "%s", json_string_value(json_object_get(j, "sig")));
			sig[10] = (char)0xc6;
			sig[11] = (char)0xb0;
			json_object_set_new(jj, "sig", json_string(sig));
			CHECK(json_object_get(jj, "sig") != NULL);
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_ERR_BAD_FRAME);
			sig[10] = sig[11] = '/';
			json_object_set_new(jj, "sig", json_string(sig));
			CHECK_EQ_INT(flow_event_from_json(jj, &e2), VARSKO_OK);
			json_decref(jj);
		}
	}
	json_decref(j);
	j = NULL;
	/* A kind out of range, a bad reference, a time out of range are not signed. */
	make_event(&e, FLOW_EV_AABNET, k.dev);
	e.kind = FLOW_EV_COUNT_;
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_ERR_BAD_INPUT);
	e.kind = FLOW_EV_NONE;
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_ERR_BAD_INPUT);
	make_event(&e, FLOW_EV_AABNET, k.dev);
	strcpy(e.reference, "U-2026-0000001234");
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_ERR_BAD_INPUT);
	make_event(&e, FLOW_EV_AABNET, k.dev);
	e.time = -5;
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_ERR_BAD_INPUT);
	make_event(&e, FLOW_EV_AABNET, k.dev);
	e.version = 0;
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_ERR_BAD_INPUT);
	/* The envelope hash is signed; without an envelope it is zeros in the input whatever the struct holds. */
	make_event(&e, FLOW_EV_KVITTERET, k.dev);
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_OK);
	e.envelope_hash[31] ^= 1;
	CHECK_EQ_INT(flow_event_verify(&e, k.pk), VARSKO_ERR_BAD_SIGNATURE);
	make_event(&e, FLOW_EV_AABNET, k.dev);
	CHECK_EQ_INT(flow_event_sign(&e, k.sk), VARSKO_OK);
	e.envelope_hash[0] = 1;
	CHECK_EQ_INT(flow_event_verify(&e, k.pk), VARSKO_OK);
	CHECK_EQ_INT(flow_event_verify(&e, NULL), VARSKO_ERR_BAD_SIGNATURE);
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(&k2, sizeof(k2));
}

/* ---- frames ------------------------------------------------------------------------ */

#define REF "\"U-2026-000001\""
#define ITEM                                                                                                           \
	"{\"reference\":" REF ",\"team\":\"team-vest\",\"institution\":\"inst-a\",\"age_group\":\"6-13\","             \
	"\"akut\":false,\"handicap\":true,\"received\":\"2026-11-23T09:00:00Z\","                                      \
	"\"vurdering_due\":\"2026-11-24T09:00:00Z\",\"kvittering_due\":\"2026-11-27T09:00:00Z\","                      \
	"\"state\":\"modtaget_gateway\"}"
#define DLITEM "{\"reference\":" REF ",\"kind\":\"vurdering\",\"due\":\"2026-11-24T09:00:00Z\",\"state\":\"warned\"}"

/* Consultation threads (PROTOCOL.md 17.3): a thread id, a message id and a MARK. */
#define TID "\"T-LNFVTT3BHD35M6PP6INL36B6JE\""
#define MID "\"M-LNFVTT3BHD35M6PP6INL36B6JE\""
#define BID "\"B-LNFVTT3BHD35M6PP6INL36B6JE\""
#define Z32 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""
#define Z64 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\""
#define MARK_WITH(kind, msg)                                                                                           \
	"{\"device\":\"d-0123456789abcdef\",\"envelope_hash\":" Z32 ",\"kind\":" kind ",\"message\":" msg          \
	",\"seq\":3,\"sig\":" Z64 ",\"thread\":" TID ",\"time\":\"2026-11-24T09:00:00Z\",\"user\":\"laerer-anna\"}"
#define MARK MARK_WITH("\"laest\"", MID)
#define TITEM                                                                                                          \
	"{\"thread\":" TID ",\"institution\":\"inst-nordskovskolen\",\"anonymous\":false,\"version\":3,"            \
	"\"last_seq\":0}"
#define TIME_ "\"2026-11-24T09:00:00Z\""

static const struct {
	const char *text;
	enum flow_type type;
} good_frames[] = {
        {"{\"type\":\"route\",\"id\":\"r1\",\"header\":{}}", FLOW_T_ROUTE},
        {"{\"type\":\"submit\",\"envelope\":{\"a\":1}}", FLOW_T_SUBMIT},
        {"{\"type\":\"event\",\"id\":\"x\",\"event\":{}}", FLOW_T_EVENT},
        {"{\"type\":\"event\",\"event\":{},\"envelope\":{}}", FLOW_T_EVENT},
        {"{\"type\":\"inbox\",\"id\":\"7\"}", FLOW_T_INBOX},
        {"{\"type\":\"mine\"}", FLOW_T_MINE},
        {"{\"type\":\"fetch\",\"reference\":" REF "}", FLOW_T_FETCH},
        {"{\"type\":\"status\",\"id\":\"s\",\"reference\":\"U-2026-123456789\"}", FLOW_T_STATUS},
        {"{\"type\":\"notifier_devices\",\"reference\":" REF "}", FLOW_T_NOTIFIER_DEVICES},
        {"{\"type\":\"roster\",\"team\":\"team-oest\"}", FLOW_T_ROSTER},
        {"{\"type\":\"overview\"}", FLOW_T_OVERVIEW},
        {"{\"type\":\"routed\",\"id\":\"r1\",\"team\":\"team-vest\",\"roster\":{}}", FLOW_T_ROUTED},
        {"{\"type\":\"receipt\",\"receipt\":{},\"duplicate\":false}", FLOW_T_RECEIPT},
        {"{\"type\":\"event_ok\",\"seq\":0}", FLOW_T_EVENT_OK},
        {"{\"type\":\"event_ok\",\"seq\":9007199254740993}", FLOW_T_EVENT_OK},
        {"{\"type\":\"items\",\"items\":[]}", FLOW_T_ITEMS},
        {"{\"type\":\"items\",\"items\":[" ITEM "," ITEM "]}", FLOW_T_ITEMS},
        {"{\"type\":\"underretning\",\"reference\":" REF ",\"envelope\":{},\"receipt\":{},\"sender_cert\":{},"
         "\"gateway_cert\":{}}",
         FLOW_T_UNDERRETNING},
        {"{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{},\"events\":[]}",
         FLOW_T_TIMELINE},
        {"{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{},\"events\":["
         "{\"event\":{},\"cert\":{}},{\"event\":{},\"cert\":{},\"envelope\":{}}]}",
         FLOW_T_TIMELINE},
        {"{\"type\":\"devices\",\"certs\":[{},{}]}", FLOW_T_DEVICES},
        {"{\"type\":\"deadlines\",\"id\":\"d\",\"items\":[" DLITEM "]}", FLOW_T_DEADLINES},
        {"{\"type\":\"pushed\",\"reference\":" REF ",\"event\":{},\"cert\":{}}", FLOW_T_PUSHED},
        {"{\"type\":\"pushed\",\"reference\":" REF ",\"event\":{},\"cert\":{},\"envelope\":{}}", FLOW_T_PUSHED},
        {"{\"type\":\"new_underretning\",\"item\":" ITEM "}", FLOW_T_NEW_UNDERRETNING},
        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"warning\",\"deadline\":\"vurdering\","
         "\"due\":\"2026-11-24T09:00:00Z\"}",
         FLOW_T_FRIST},
        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"escalation\",\"deadline\":\"kvittering\","
         "\"due\":\"2026-11-24T09:00:00Z\"}",
         FLOW_T_FRIST},
        {"{\"type\":\"alert\",\"kind\":\"no_reader\",\"reference\":" REF ",\"team\":\"doegnvagt\",\"akut\":true}",
         FLOW_T_ALERT},
        {"{\"count\":3,\"type\":\"missed\"}", FLOW_T_MISSED},
        {"{\"type\":\"chain_get\",\"id\":\"c\",\"kind\":\"user\",\"chain\":\"laerer-anna\"}", FLOW_T_CHAIN_GET},
        {"{\"type\":\"chain_append\",\"kind\":\"user\",\"chain\":\"u\",\"link\":{}}", FLOW_T_CHAIN_APPEND},
        {"{\"type\":\"keys_get\",\"owner\":\"user:laerer-anna\"}", FLOW_T_KEYS_GET},
        {"{\"type\":\"keys_put\",\"set\":{}}", FLOW_T_KEYS_PUT},
        {"{\"type\":\"recovery_get\",\"id\":\"r\"}", FLOW_T_RECOVERY_GET},
        {"{\"type\":\"recovery_put\",\"box\":{}}", FLOW_T_RECOVERY_PUT},
        {"{\"type\":\"chain\",\"kind\":\"user\",\"chain\":\"u\",\"links\":[{}],\"certs\":[],"
         "\"revoked\":[\"d-1\"]}",
         FLOW_T_CHAIN},
        {"{\"type\":\"chain_ok\",\"kind\":\"user\",\"chain\":\"u\",\"seq\":1}", FLOW_T_CHAIN_OK},
        {"{\"type\":\"keys\",\"owner\":\"user:u\",\"sets\":[]}", FLOW_T_KEYS},
        {"{\"type\":\"keys_ok\",\"owner\":\"user:u\",\"generation\":1}", FLOW_T_KEYS_OK},
        {"{\"type\":\"recovery\",\"box\":{},\"tries\":1}", FLOW_T_RECOVERY},
        {"{\"type\":\"recovery_ok\"}", FLOW_T_RECOVERY_OK},
        {"{\"type\":\"approve_request\",\"commit\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", FLOW_T_APPROVE_REQUEST},
        {"{\"type\":\"approve_list\"}", FLOW_T_APPROVE_LIST},
        {"{\"type\":\"approve_offer\",\"approval\":\"a-00\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
         FLOW_T_APPROVE_OFFER},
        {"{\"type\":\"approve_reveal\",\"approval\":\"a-00\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
         FLOW_T_APPROVE_REVEAL},
        {"{\"type\":\"approve_get\",\"approval\":\"a-00\"}", FLOW_T_APPROVE_GET},
        {"{\"type\":\"approval\",\"approval\":\"a-00\",\"device\":\"d-1\",\"cert\":{},"
         "\"commit\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"created\":\"2026-11-24T09:00:00Z\","
         "\"expires\":\"2026-11-24T09:10:00Z\"}",
         FLOW_T_APPROVAL},
        {"{\"type\":\"approvals\",\"items\":[]}", FLOW_T_APPROVALS},
        {"{\"type\":\"thread_create\",\"id\":\"t\",\"links\":[{}]}", FLOW_T_THREAD_CREATE},
        {"{\"type\":\"thread_get\",\"thread\":" TID "}", FLOW_T_THREAD_GET},
        {"{\"type\":\"thread_append\",\"thread\":" TID ",\"link\":{}}", FLOW_T_THREAD_APPEND},
        {"{\"type\":\"thread_send\",\"id\":\"s\",\"thread\":" TID ",\"envelope\":{}}", FLOW_T_THREAD_SEND},
        {"{\"type\":\"thread_list\",\"id\":\"l\"}", FLOW_T_THREAD_LIST},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":0}", FLOW_T_THREAD_SYNC},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"before\":5,\"limit\":100}", FLOW_T_THREAD_SYNC},
        {"{\"type\":\"thread_mark\",\"id\":\"m\",\"mark\":" MARK "}", FLOW_T_THREAD_MARK},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK "}", FLOW_T_THREAD_MARK},
        {"{\"type\":\"thread_ok\",\"id\":\"t\",\"thread\":" TID ",\"version\":2}", FLOW_T_THREAD_OK},
        {"{\"type\":\"thread\",\"thread\":" TID ",\"links\":[{},{}]}", FLOW_T_THREAD},
        {"{\"type\":\"thread_sent\",\"thread\":" TID ",\"message\":" MID ",\"seq\":1,\"received\":" TIME_
         ",\"duplicate\":false}",
         FLOW_T_THREAD_SENT},
        {"{\"type\":\"threads\",\"threads\":[]}", FLOW_T_THREADS},
        {"{\"type\":\"threads\",\"threads\":[" TITEM ",{\"thread\":" TID ",\"institution\":\"i\","
         "\"anonymous\":true,\"version\":1,\"last_seq\":7,\"last_time\":" TIME_ "}]}",
         FLOW_T_THREADS},
        {"{\"type\":\"messages\",\"thread\":" TID ",\"messages\":[],\"more\":false}", FLOW_T_MESSAGES},
        {"{\"type\":\"messages\",\"thread\":" TID ",\"messages\":[{\"seq\":1,\"envelope\":{},\"received\":" TIME_
         ",\"sender_cert\":{},\"marks\":[" MARK "]}],\"more\":true}",
         FLOW_T_MESSAGES},
        {"{\"type\":\"mark_ok\",\"thread\":" TID ",\"seq\":3}", FLOW_T_MARK_OK},
        {"{\"type\":\"thread_message\",\"thread\":" TID ",\"seq\":1,\"envelope\":{},\"received\":" TIME_
         ",\"sender_cert\":{}}",
         FLOW_T_THREAD_MESSAGE},
        {"{\"type\":\"thread_changed\",\"thread\":" TID ",\"version\":4}", FLOW_T_THREAD_CHANGED},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK ",\"cert\":{}}", FLOW_T_THREAD_MARK_PUSH},
        {"{\"type\":\"thread_raadgivere\",\"id\":\"r1\",\"institution\":\"inst-a\"}", FLOW_T_THREAD_RAADGIVERE},
        {"{\"type\":\"raadgivere\",\"id\":\"r1\",\"institution\":\"inst-a\",\"users\":[]}", FLOW_T_RAADGIVERE},
        {"{\"type\":\"raadgivere\",\"institution\":\"inst-a\",\"users\":[\"raadgiver-sofie\",\"u2\"]}",
         FLOW_T_RAADGIVERE},
        {"{\"type\":\"blob_begin\",\"id\":\"b\",\"blob\":" BID ",\"thread\":" TID ",\"size\":41,\"sha256\":" Z32 "}",
         FLOW_T_BLOB_BEGIN},
        {"{\"type\":\"blob_begin\",\"id\":\"b\",\"blob\":" BID ",\"submission\":\"sub-1\",\"size\":41,\"sha256\":" Z32 "}",
         FLOW_T_BLOB_BEGIN},
        {"{\"type\":\"blob_put\",\"id\":\"b\",\"blob\":" BID ",\"offset\":0,\"data\":\"AAEC\"}", FLOW_T_BLOB_PUT},
        {"{\"type\":\"blob_get\",\"id\":\"b\",\"blob\":" BID ",\"offset\":3}", FLOW_T_BLOB_GET},
        {"{\"type\":\"blob_ok\",\"id\":\"b\",\"blob\":" BID ",\"size\":41,\"received\":0,\"complete\":false}",
         FLOW_T_BLOB_OK},
        {"{\"type\":\"blob_data\",\"id\":\"b\",\"blob\":" BID ",\"size\":41,\"offset\":0,\"data\":\"AAEC\"}",
         FLOW_T_BLOB_DATA},
        {"{\"type\":\"directory_get\",\"id\":\"d1\"}", FLOW_T_DIRECTORY_GET},
        {"{\"type\":\"directory\",\"id\":\"d1\",\"institutions\":[],\"teams\":[]}", FLOW_T_DIRECTORY},
        {"{\"type\":\"directory\",\"institutions\":[{\"id\":\"inst-a\",\"name\":\"Nordskovskolen\",\"kind\":"
         "\"skole\"}],\"teams\":[{\"id\":\"doegnvagt\",\"name\":\"D\u00f8gnvagt\",\"phone\":\"+45 58 57 00 00\"},"
         "{\"id\":\"team-a\",\"name\":\"Team A\"}],\"akut_team\":\"doegnvagt\"}",
         FLOW_T_DIRECTORY},
        {"{\"type\":\"report_get\",\"id\":\"p1\"}", FLOW_T_REPORT_GET},
        {"{\"type\":\"report_get\",\"from\":\"2026-10-01\",\"to\":\"2026-10-31\"}", FLOW_T_REPORT_GET},
        {"{\"type\":\"report_get\",\"to\":\"2026-02-30\"}", FLOW_T_REPORT_GET}, /* a date: the gateway's check */
        {"{\"type\":\"report\",\"id\":\"p1\",\"figures\":{\"team\":\"team-a\",\"received\":0}}", FLOW_T_REPORT},
};

static const struct {
	const char *text;
	int err;
} bad_frames[] = {
        {"", VARSKO_ERR_BAD_JSON},
        {"[]", VARSKO_ERR_BAD_JSON},
        {"{\"count\":0,\"type\":\"missed\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"missed\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"count\":1,\"id\":\"m\",\"type\":\"missed\"}", VARSKO_ERR_BAD_FRAME},
        {"\"route\"", VARSKO_ERR_BAD_JSON},
        {"{\"type\":\"mine\"} {}", VARSKO_ERR_BAD_JSON},
        {"{\"type\":\"mine\"", VARSKO_ERR_BAD_JSON},
        {"{\"type\":\"mine\",\"type\":\"mine\"}", VARSKO_ERR_DUPLICATE_KEY},
        {"{\"type\":\"route\",\"header\":{\"a\":1,\"a\":2}}", VARSKO_ERR_DUPLICATE_KEY},
        {"{\"id\":\"1\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":7}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"mine\\u0000x\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"hello\"}", VARSKO_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"login\",\"id\":\"l1\"}", VARSKO_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"ping\"}", VARSKO_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"Route\",\"header\":{}}", VARSKO_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"\"}", VARSKO_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"mine\",\"x\":1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"mine\",\"id\":\"\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"mine\",\"id\":7}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"mine\",\"id\":\"a b\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"mine\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"route\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"route\",\"header\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"route\",\"header\":\"{}\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"route\",\"header\":null}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"submit\",\"envelope\":{},\"header\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event\",\"envelope\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event\",\"event\":{},\"envelope\":null}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event\",\"event\":{},\"cert\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"fetch\",\"reference\":\"U-2026-1\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"fetch\",\"reference\":1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"fetch\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"status\",\"reference\":\"U-2026-000001\\u0000\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"roster\",\"team\":\"\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory_get\",\"team\":\"a\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"from\":\"2026-1-1\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"to\":\"2026-10-310\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"from\":\"\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"from\":20261001}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"from\":null}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report_get\",\"team\":\"team-a\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"report\",\"figures\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory\",\"institutions\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory\",\"institutions\":[],\"teams\":[{\"id\":\"t\",\"name\":\"\"}]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory\",\"institutions\":[],\"teams\":[{\"id\":\"t\",\"name\":\"T\",\"phone\":\"\"}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory\",\"institutions\":[{\"id\":\"i\",\"name\":\"I\"}],\"teams\":[]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"directory\",\"institutions\":[],\"teams\":[],\"akut_team\":\"\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"roster\",\"team\":[\"a\"]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"inbox\",\"reference\":" REF "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"routed\",\"team\":\"t\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"receipt\",\"receipt\":{},\"duplicate\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"receipt\",\"receipt\":{},\"duplicate\":\"false\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"receipt\",\"receipt\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event_ok\",\"seq\":-1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event_ok\",\"seq\":1.5}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"event_ok\",\"seq\":\"1\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"items\",\"items\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"items\",\"items\":[1]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"items\",\"items\":[{}]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"items\",\"items\":[" DLITEM "]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"deadlines\",\"items\":[" ITEM "]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"deadlines\",\"items\":[{\"reference\":" REF
         ",\"kind\":\"vurdering\",\"due\":\"2026-11-24T09:00:00Z\",\"state\":\"closed\"}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{},\"events\":[{\"event\":{}}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{},\"events\":["
         "{\"event\":{},\"cert\":{},\"x\":1}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"devices\",\"certs\":[[]]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_get\",\"thread\":\"T-LNFVTT3BHD35M6PP6INL36B6JF\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_get\",\"thread\":\"t-LNFVTT3BHD35M6PP6INL36B6JE\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_get\",\"thread\":" MID "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_get\",\"thread\":\"T-LNFVTT3BHD35M6PP6INL36B6J\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_get\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_raadgivere\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_get\",\"blob\":" MID ",\"offset\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_begin\",\"blob\":" BID ",\"size\":4,\"sha256\":" Z32 "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_begin\",\"blob\":" BID ",\"thread\":" TID ",\"submission\":\"s1\",\"size\":4,"
         "\"sha256\":" Z32 "}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_get\",\"blob\":\"B-LNFVTT3BHD35M6PP6INL36B6JF\",\"offset\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_get\",\"blob\":" BID ",\"offset\":-1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_put\",\"blob\":" BID ",\"offset\":0,\"data\":\"\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_put\",\"blob\":" BID ",\"offset\":0,\"data\":\"AAE\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_begin\",\"blob\":" BID ",\"thread\":" TID ",\"size\":0,\"sha256\":" Z32 "}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"blob_begin\",\"blob\":" BID ",\"thread\":" TID ",\"size\":4,\"sha256\":\"AAEC\"}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_raadgivere\",\"institution\":7}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"raadgivere\",\"institution\":\"i\",\"users\":[7]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"raadgivere\",\"institution\":\"i\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_create\",\"links\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_create\",\"links\":[{}],\"thread\":" TID "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_append\",\"thread\":" TID "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_send\",\"thread\":" TID ",\"envelope\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_list\",\"thread\":" TID "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":0,\"before\":2}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":-1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"before\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":0,\"limit\":101}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":0,\"limit\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sync\",\"thread\":" TID ",\"after\":\"0\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK_WITH("\"read\"", MID) "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK_WITH("\"laest\"", "\"M-LNFVTT3BHD35M6PP6INL36B6JF\"") "}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK_WITH("\"laest\"", TID) "}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"mark\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"id\":\"p\",\"mark\":" MARK ",\"cert\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_mark\",\"mark\":" MARK ",\"cert\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_ok\",\"thread\":" TID ",\"version\":0}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread\",\"thread\":" TID ",\"links\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_sent\",\"thread\":" TID ",\"message\":" TID ",\"seq\":1,\"received\":" TIME_
         ",\"duplicate\":false}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"threads\",\"threads\":[{\"thread\":" TID ",\"institution\":\"i\",\"anonymous\":false,"
         "\"version\":1}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"threads\",\"threads\":[{\"thread\":\"T-LNFVTT3BHD35M6PP6INL36B6JF\",\"institution\":\"i\","
         "\"anonymous\":false,\"version\":1,\"last_seq\":0}]}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"messages\",\"thread\":" TID ",\"messages\":[{\"seq\":1,\"envelope\":{},\"received\":" TIME_
         ",\"sender_cert\":{},\"marks\":[" MARK_WITH("\"laest\"", TID) "]}],\"more\":true}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"messages\",\"thread\":" TID ",\"messages\":[{\"seq\":1,\"envelope\":{},\"received\":" TIME_
         ",\"sender_cert\":{}}],\"more\":true}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_changed\",\"id\":\"c\",\"thread\":" TID ",\"version\":4}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"thread_message\",\"thread\":" TID ",\"seq\":0,\"envelope\":{},\"received\":" TIME_
         ",\"sender_cert\":{}}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"chain_get\",\"kind\":\"group\",\"chain\":\"t\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"chain_get\",\"kind\":\"user\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"chain_append\",\"kind\":\"user\",\"chain\":\"u\",\"link\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"keys_put\",\"set\":\"x\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"recovery_get\",\"user\":\"u\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"recovery\",\"box\":{},\"tries\":-1}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"approve_request\",\"commit\":\"AAAA\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"approve_offer\",\"approval\":\"a-00\"}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"devices\",\"certs\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"pushed\",\"id\":\"p\",\"reference\":" REF ",\"event\":{},\"cert\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"pushed\",\"reference\":" REF ",\"event\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"new_underretning\",\"item\":{}}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"new_underretning\",\"item\":[]}", VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"alarm\",\"deadline\":\"vurdering\","
         "\"due\":\"2026-11-24T09:00:00Z\"}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"warning\",\"deadline\":\"aabnet\","
         "\"due\":\"2026-11-24T09:00:00Z\"}",
         VARSKO_ERR_BAD_FRAME},
        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"warning\",\"deadline\":\"vurdering\","
         "\"due\":\"2026-11-24 09:00:00\"}",
         VARSKO_ERR_BAD_FRAME},
};

/* ITEM with one key replaced by key:value (value NULL: removed). */
static void item_case(const char *key, const char *value, int want)
{
	json_t *item = parse(ITEM), *f = parse("{\"type\":\"new_underretning\"}");
	char *s;
	json_t *out = (json_t *)1;
	enum flow_type t;
	int r;

	if (value == NULL)
		json_object_del(item, key);
	else
		json_object_set_new(item, key, json_loads(value, JSON_DECODE_ANY, NULL));
	json_object_set_new(f, "item", item);
	s = dump(f);
	r = flow_frame_parse(s, strlen(s), &out, &t, NULL, NULL);
	CHECK_EQ_INT(r, want);
	if (r != want)
		fprintf(stderr, "  item %s=%s\n", key, value ? value : "(removed)");
	json_decref(out);
	json_decref(f);
	free(s);
}

static void test_frames(void)
{
	char id[PROTO_ID_MAX + 1];
	const char *detail;
	json_t *out;
	enum flow_type t;
	char *s;
	size_t sl;

	for (int i = FLOW_T_NONE + 1; i < FLOW_T_COUNT_; i++) {
		int seen = 0;
		CHECK(flow_type_name((enum flow_type)i) != NULL);
		if (i == FLOW_T_REFUSAL) /* MQTT only: test_mqtt() */
			continue;
		for (size_t k = 0; k < sizeof(good_frames) / sizeof(good_frames[0]); k++)
			seen |= good_frames[k].type == (enum flow_type)i;
		CHECK(seen);
	}
	CHECK(flow_type_name(FLOW_T_NONE) == NULL);
	CHECK(flow_type_name(FLOW_T_COUNT_) == NULL);
	CHECK_EQ_STR(flow_type_name(FLOW_T_NOTIFIER_DEVICES), "notifier_devices");
	CHECK_EQ_STR(flow_type_name(FLOW_T_EVENT_OK), "event_ok");

	for (size_t k = 0; k < sizeof(good_frames) / sizeof(good_frames[0]); k++) {
		const char *txt = good_frames[k].text;
		json_t *want = parse(txt);
		char *w = dump(want);
		const char *wid = json_string_value(json_object_get(want, "id"));

		memset(id, 'z', sizeof(id));
		out = NULL;
		detail = NULL;
		CHECK_EQ_INT(flow_frame_parse(txt, strlen(txt), &out, &t, id, &detail), VARSKO_OK);
		CHECK_EQ_INT(t, good_frames[k].type);
		CHECK_EQ_STR(id, wid ? wid : "");
		CHECK_EQ_STR(detail, "");
		CHECK(out != NULL);
		if (out != NULL) {
			CHECK_EQ_STR(json_string_value(json_object_get(out, "type")), flow_type_name(t));
			CHECK_EQ_INT(flow_frame_dump(out, &s, &sl), VARSKO_OK);
			CHECK_EQ_STR(s, w);
			CHECK_EQ_INT(sl, strlen(w));
			/* The canonical text parses to the same. */
			json_decref(out);
			out = NULL;
			CHECK_EQ_INT(flow_frame_parse(s, sl, &out, &t, NULL, NULL), VARSKO_OK);
			free(s);
		}
		json_decref(out);
		json_decref(want);
		free(w);
	}
	for (size_t k = 0; k < sizeof(bad_frames) / sizeof(bad_frames[0]); k++) {
		const char *txt = bad_frames[k].text;
		size_t len = strlen(txt);
		int r;

		/* "\\u0000" in a C literal is the JSON escape; also try a raw NUL where the text has "\\0". */
		out = (json_t *)1;
		t = FLOW_T_ROUTE;
		detail = NULL;
		r = flow_frame_parse(txt, len, &out, &t, id, &detail);
		CHECK_EQ_INT(r, bad_frames[k].err);
		if (r != bad_frames[k].err)
			fprintf(stderr, "  frame %zu: %s (%s)\n", k, txt, detail ? detail : "");
		CHECK(out == NULL);
		CHECK_EQ_INT(t, FLOW_T_NONE);
		CHECK(detail != NULL && detail[0] != '\0');
	}
	/* The request id is handed back even when the frame is refused, unless it is malformed. */
	{
		const char *txt = "{\"type\":\"fetch\",\"id\":\"req-9\",\"reference\":\"nope\"}";
		CHECK_EQ_INT(flow_frame_parse(txt, strlen(txt), &out, &t, id, NULL), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_STR(id, "req-9");
		txt = "{\"type\":\"login\",\"id\":\"req-10\"}";
		CHECK_EQ_INT(flow_frame_parse(txt, strlen(txt), &out, &t, id, NULL), VARSKO_ERR_UNKNOWN_TYPE);
		CHECK_EQ_STR(id, "req-10");
		txt = "{\"type\":\"fetch\",\"id\":\"a b\",\"reference\":" REF "}";
		CHECK_EQ_INT(flow_frame_parse(txt, strlen(txt), &out, &t, id, NULL), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_STR(id, "");
		txt = "{\"type\":\"mine\",\"id\":\"m\"}";
		CHECK_EQ_INT(flow_frame_parse(txt, strlen(txt), &out, &t, NULL, NULL), VARSKO_OK);
		json_decref(out);
		/* A raw NUL inside a string and after the object. */
		CHECK_EQ_INT(flow_frame_parse("{\"type\":\"mi\0ne\"}", 16, &out, &t, NULL, NULL), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(flow_frame_parse("{\"type\":\"mine\"}\0", 16, &out, &t, NULL, NULL), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(flow_frame_parse(NULL, 0, &out, &t, NULL, NULL), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(flow_frame_parse(NULL, 5, &out, &t, NULL, NULL), VARSKO_ERR_BAD_JSON);
		CHECK_EQ_INT(flow_frame_parse("{}", 2, NULL, &t, NULL, NULL), VARSKO_ERR_BAD_INPUT);
	}
	/* Size: a frame of exactly FLOW_FRAME_MAX bytes is parsed, one byte more is not. */
	{
		size_t n = FLOW_FRAME_MAX;
		char *big = malloc(n + 2);
		const char *head = "{\"type\":\"submit\",\"envelope\":{\"x\":\"";
		size_t hl = strlen(head);

		memcpy(big, head, hl);
		memset(big + hl, 'a', n - hl - 3);
		memcpy(big + n - 3, "\"}}", 3);
		big[n] = ' ';
		big[n + 1] = '\0';
		CHECK_EQ_INT(flow_frame_parse(big, n, &out, &t, id, &detail), VARSKO_OK);
		CHECK_EQ_INT(t, FLOW_T_SUBMIT);
		json_decref(out);
		CHECK_EQ_INT(flow_frame_parse(big, n + 1, &out, &t, id, &detail), VARSKO_ERR_TOO_LARGE);
		CHECK(out == NULL);
		CHECK_EQ_INT(flow_mqtt_parse(big, n + 1, &out, &t, &detail), VARSKO_ERR_TOO_LARGE);
		free(big);
	}
	/* List sizes. */
	{
		json_t *f = parse("{\"type\":\"items\",\"items\":[]}"), *arr = json_object_get(f, "items");
		json_t *item = parse(ITEM);
		for (size_t i = 0; i < FLOW_ITEMS_MAX; i++)
			json_array_append(arr, item);
		s = dump(f);
		CHECK_EQ_INT(flow_frame_parse(s, strlen(s), &out, &t, NULL, NULL), VARSKO_OK);
		json_decref(out);
		free(s);
		json_array_append(arr, item);
		s = dump(f);
		CHECK_EQ_INT(flow_frame_parse(s, strlen(s), &out, &t, NULL, NULL), VARSKO_ERR_BAD_FRAME);
		free(s);
		json_decref(f);
		json_decref(item);

		f = parse(
		        "{\"type\":\"timeline\",\"receipt\":{},\"gateway_cert\":{},\"sender_cert\":{},\"events\":[]}");
		arr = json_object_get(f, "events");
		item = parse("{\"event\":{},\"cert\":{}}");
		for (size_t i = 0; i < FLOW_EVENTS_MAX; i++)
			json_array_append(arr, item);
		s = dump(f);
		CHECK_EQ_INT(flow_frame_parse(s, strlen(s), &out, &t, NULL, NULL), VARSKO_OK);
		json_decref(out);
		free(s);
		json_array_append(arr, item);
		s = dump(f);
		CHECK_EQ_INT(flow_frame_parse(s, strlen(s), &out, &t, NULL, NULL), VARSKO_ERR_BAD_FRAME);
		free(s);
		json_decref(f);
		json_decref(item);
	}
	/* ITEM fields. */
	item_case("akut", "1", VARSKO_ERR_BAD_FRAME);
	item_case("handicap", "null", VARSKO_ERR_BAD_FRAME);
	item_case("state", "\"vurderet\"", VARSKO_OK);
	item_case("state", "\"ny\"", VARSKO_ERR_BAD_FRAME);
	item_case("received", "\"2026-11-23\"", VARSKO_ERR_BAD_FRAME);
	item_case("institution", "\"\"", VARSKO_ERR_BAD_FRAME);
	item_case("reference", "\"U-2026-000001x\"", VARSKO_ERR_BAD_FRAME);
	item_case("tilbagemelding_due", "\"2026-11-23T09:00:00Z\"", VARSKO_ERR_BAD_FRAME);
	item_case("kvittering_due", NULL, VARSKO_ERR_BAD_FRAME);
	item_case("team", "7", VARSKO_ERR_BAD_FRAME);
	item_case("age_group", "\"0-5\"", VARSKO_OK);

	/* Dump. */
	CHECK_EQ_INT(flow_frame_dump(NULL, &s, &sl), VARSKO_ERR_BAD_INPUT);
	out = json_array();
	CHECK_EQ_INT(flow_frame_dump(out, &s, &sl), VARSKO_ERR_BAD_INPUT);
	json_decref(out);
	out = parse("{\"z\":1,\"type\":\"mine\",\"a\":[1, 2]}");
	CHECK_EQ_INT(flow_frame_dump(out, &s, NULL), VARSKO_OK);
	CHECK_EQ_STR(s, "{\"a\":[1,2],\"type\":\"mine\",\"z\":1}");
	free(s);
	json_decref(out);
}

/* Real frames from the vectors: the nested objects parse with their own from_json. */
static void test_frames_nested(void)
{
	const json_t *rc = json_object_get(v_root, "receipt");
	const char *env = jstr(rc, "envelope");
	char buf[16384];
	json_t *out = NULL;
	enum flow_type t;
	struct flow_receipt r;
	struct flow_roster *ro = calloc(1, sizeof(*ro));
	struct env_envelope *e = NULL;
	char *es = NULL;
	size_t el;

	snprintf(buf, sizeof(buf), "{\"type\":\"receipt\",\"id\":\"s1\",\"receipt\":%s,\"duplicate\":true}",
	         jstr(rc, "json"));
	CHECK_EQ_INT(flow_frame_parse(buf, strlen(buf), &out, &t, NULL, NULL), VARSKO_OK);
	CHECK_EQ_INT(t, FLOW_T_RECEIPT);
	CHECK_EQ_INT(flow_receipt_from_json(json_object_get(out, "receipt"), &r), VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&r, &gw_cert, org_pk, v_now), VARSKO_OK);
	json_decref(out);

	snprintf(buf, sizeof(buf), "{\"type\":\"routed\",\"team\":\"team-vest\",\"roster\":%s}",
	         jstr(json_object_get(v_root, "roster"), "json"));
	CHECK_EQ_INT(flow_frame_parse(buf, strlen(buf), &out, &t, NULL, NULL), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_from_json(json_object_get(out, "roster"), ro), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(ro, org_pk, v_now, NULL), VARSKO_OK);
	json_decref(out);

	snprintf(buf, sizeof(buf), "{\"type\":\"submit\",\"id\":\"s2\",\"envelope\":%s}", env);
	CHECK_EQ_INT(flow_frame_parse(buf, strlen(buf), &out, &t, NULL, NULL), VARSKO_OK);
	if (out != NULL) {
		es = dump(json_object_get(out, "envelope"));
		el = strlen(es);
		CHECK_EQ_INT(env_from_json(es, el, &e), VARSKO_OK);
		CHECK_EQ_STR(es, env);
	}
	env_free(e);
	free(es);
	json_decref(out);
	free(ro);
}

/* ---- MQTT ------------------------------------------------------------------------------ */

static void test_mqtt(void)
{
	static const struct {
		const char *text;
		int err;
		enum flow_type type;
	} cases[] = {
	        {"{\"type\":\"underretning\",\"reference\":" REF ",\"envelope\":{},\"receipt\":{},\"sender_cert\":{},"
	         "\"gateway_cert\":{}}",
	         VARSKO_OK, FLOW_T_UNDERRETNING},
	        {"{\"type\":\"event\",\"event\":{},\"cert\":{}}", VARSKO_OK, FLOW_T_EVENT},
	        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"escalation\",\"deadline\":\"tilbagemelding\","
	         "\"due\":\"2027-01-22T09:00:00Z\"}",
	         VARSKO_OK, FLOW_T_FRIST},
	        {"{\"type\":\"alert\",\"kind\":\"no_reader\",\"reference\":" REF ",\"team\":\"doegnvagt\",\"akut\":false}",
	         VARSKO_OK, FLOW_T_ALERT},
	        {"{\"type\":\"alert\",\"kind\":\"dead_letter\",\"reference\":" REF ",\"team\":\"doegnvagt\",\"akut\":true}",
	         VARSKO_OK, FLOW_T_ALERT},
	        {"{\"type\":\"refusal\",\"refusal\":{},\"cert\":{}}", VARSKO_OK, FLOW_T_REFUSAL},
	        {"{\"type\":\"refusal\",\"refusal\":{}}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"alert\",\"kind\":\"other\",\"reference\":" REF ",\"team\":\"doegnvagt\",\"akut\":false}",
	         VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"underretning\",\"id\":\"1\",\"reference\":" REF ",\"envelope\":{},\"receipt\":{},"
	         "\"sender_cert\":{},\"gateway_cert\":{}}",
	         VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"underretning\",\"reference\":" REF ",\"envelope\":{},\"receipt\":{},\"sender_cert\":{}}",
	         VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"event\",\"event\":{}}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"event\",\"event\":{},\"cert\":{},\"envelope\":{}}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"event\",\"event\":[],\"cert\":{}}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"event\",\"event\":{},\"cert\":{},\"cert\":{}}", VARSKO_ERR_DUPLICATE_KEY, FLOW_T_NONE},
	        {"{\"type\":\"frist\",\"reference\":" REF ",\"kind\":\"warning\",\"deadline\":\"vurdering\"}",
	         VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"{\"type\":\"pushed\",\"reference\":" REF ",\"event\":{},\"cert\":{}}", VARSKO_ERR_UNKNOWN_TYPE,
	         FLOW_T_NONE},
	        {"{\"type\":\"submit\",\"envelope\":{}}", VARSKO_ERR_UNKNOWN_TYPE, FLOW_T_NONE},
	        {"{\"type\":null}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE},
	        {"[{\"type\":\"event\"}]", VARSKO_ERR_BAD_JSON, FLOW_T_NONE},
	        {"{\"type\":\"event\",", VARSKO_ERR_BAD_JSON, FLOW_T_NONE},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		json_t *out = (json_t *)1;
		enum flow_type t = FLOW_T_ROUTE;
		const char *detail = NULL;
		int r = flow_mqtt_parse(cases[k].text, strlen(cases[k].text), &out, &t, &detail);

		CHECK_EQ_INT(r, cases[k].err);
		if (r != cases[k].err)
			fprintf(stderr, "  mqtt %zu: %s (%s)\n", k, cases[k].text, detail ? detail : "");
		CHECK_EQ_INT(t, cases[k].type);
		CHECK_EQ_INT(out != NULL, r == VARSKO_OK);
		CHECK(detail != NULL && (r == VARSKO_OK) == (detail[0] == '\0'));
		if (r == VARSKO_OK)
			json_decref(out);
	}
}

/* A refusal (PROTOCOL.md 12.9): signed, round-tripped through JSON, and every change breaks it. */
static void test_refusal(void)
{
	uint8_t pk[32], sk[64];
	struct flow_refusal f, g;
	json_t *j = NULL;

	keys_from_seed("0101010101010101010101010101010101010101010101010101010101010101", pk, sk);
	memset(&f, 0, sizeof(f));
	f.version = FLOW_VERSION;
	snprintf(f.reference, sizeof(f.reference), "%s", "U-2026-000001");
	snprintf(f.device, sizeof(f.device), "%s", "d-ea8668177b958825");
	f.time = 1795428000;
	CHECK_EQ_INT(flow_refusal_sign(&f, sk), VARSKO_ERR_BAD_INPUT); /* no reason */
	f.reason = FLOW_RF_CANNOT_OPEN;
	CHECK_EQ_INT(flow_refusal_sign(&f, sk), VARSKO_OK);
	CHECK_EQ_INT(flow_refusal_verify(&f, pk), VARSKO_OK);
	CHECK_EQ_INT(flow_refusal_to_json(&f, &j), VARSKO_OK);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "reason")), "cannot_open");
	CHECK_EQ_INT(flow_refusal_from_json(j, &g), VARSKO_OK);
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	g.reason = FLOW_RF_BAD_DOCUMENT;
	CHECK_EQ_INT(flow_refusal_verify(&g, pk), VARSKO_ERR_BAD_SIGNATURE);
	g = f;
	g.time++;
	CHECK_EQ_INT(flow_refusal_verify(&g, pk), VARSKO_ERR_BAD_SIGNATURE);
	g = f;
	g.reference[12] = '2';
	CHECK_EQ_INT(flow_refusal_verify(&g, pk), VARSKO_ERR_BAD_SIGNATURE);
	json_object_set_new(j, "reason", json_string("unknown"));
	CHECK_EQ_INT(flow_refusal_from_json(j, &g), VARSKO_ERR_BAD_FRAME);
	json_object_set_new(j, "reason", json_string("failed_check"));
	json_object_set_new(j, "extra", json_true());
	CHECK_EQ_INT(flow_refusal_from_json(j, &g), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_STR(flow_refusal_reason_name(FLOW_RF_FAILED_CHECK), "failed_check");
	CHECK(flow_refusal_reason_from_name("bad_document") == FLOW_RF_BAD_DOCUMENT);
	CHECK(flow_refusal_reason_name(FLOW_RF_NONE) == NULL);
	CHECK_EQ_STR(flow_type_name(FLOW_T_REFUSAL), "refusal");
	json_decref(j);
	sodium_memzero(sk, sizeof(sk));
}

/*
 * flow_frame_decode(): one load and one dispatch on "type" for every frame.
 * A flow type comes back as JSON, a proto.h type in the proto_frame (held to
 * PROTO_FRAME_MAX), anything else with the error of the parser it belongs to.
 */
static void test_dispatch(void)
{
	static const struct {
		const char *text;
		int r;
		enum flow_type ft;
		enum proto_type pt;
		const char *id;
	} cases[] = {
	        {"{\"type\":\"inbox\",\"id\":\"a1\"}", VARSKO_OK, FLOW_T_INBOX, PROTO_T_NONE, "a1"},
	        {"{\"type\":\"ping\",\"id\":\"p1\"}", VARSKO_OK, FLOW_T_NONE, PROTO_T_PING, "p1"},
	        {"{\"type\":\"whoami\"}", VARSKO_OK, FLOW_T_NONE, PROTO_T_WHOAMI, ""},
	        {"{\"type\":\"ping\",\"id\":\"p2\",\"x\":1}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE, PROTO_T_NONE, "p2"},
	        {"{\"type\":\"fetch\",\"id\":\"f1\",\"reference\":\"U-1\"}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE,
	         PROTO_T_NONE, "f1"},
	        {"{\"type\":\"frobnicate\",\"id\":\"u1\"}", VARSKO_ERR_UNKNOWN_TYPE, FLOW_T_NONE, PROTO_T_NONE, "u1"},
	        {"{\"id\":\"m1\"}", VARSKO_ERR_BAD_FRAME, FLOW_T_NONE, PROTO_T_NONE, "m1"},
	        {"{\"type\":\"ping\"", VARSKO_ERR_BAD_JSON, FLOW_T_NONE, PROTO_T_NONE, ""},
	        {"{\"type\":\"ping\",\"type\":\"ping\"}", VARSKO_ERR_DUPLICATE_KEY, FLOW_T_NONE, PROTO_T_NONE, ""},
	};
	struct proto_frame *pf = calloc(1, sizeof(*pf));
	char id[PROTO_ID_MAX + 1];
	const char *detail;
	enum flow_type t;
	json_t *out;

	CHECK(pf != NULL);
	if (pf == NULL)
		return;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int r = flow_frame_decode(cases[k].text, strlen(cases[k].text), &out, &t, pf, id, &detail);

		CHECK_EQ_INT(r, cases[k].r);
		CHECK_EQ_INT(t, cases[k].ft);
		CHECK_EQ_INT(pf->type, cases[k].pt);
		CHECK_EQ_STR(id, cases[k].id);
		CHECK((out != NULL) == (cases[k].ft != FLOW_T_NONE));
		CHECK(detail != NULL && (r == VARSKO_OK) == (detail[0] == '\0'));
		json_decref(out);
	}
	/* A proto.h frame is held to PROTO_FRAME_MAX, a flow frame to FLOW_FRAME_MAX. */
	{
		size_t n = PROTO_FRAME_MAX + 1;
		char *big = malloc(n + 1);
		const char *head = "{\"type\":\"ping\",\"id\":\"b1\"}";

		CHECK(big != NULL);
		if (big != NULL) {
			memcpy(big, head, strlen(head));
			memset(big + strlen(head), ' ', n - strlen(head));
			big[n] = '\0';
			CHECK_EQ_INT(flow_frame_decode(big, n, &out, &t, pf, id, &detail), VARSKO_ERR_TOO_LARGE);
			CHECK_EQ_STR(id, "");
			memcpy(big, "{\"type\":\"mine\",\"id\":\"b2\"}", strlen(head)); /* as long as head */
			CHECK_EQ_INT(flow_frame_decode(big, n, &out, &t, pf, id, &detail), VARSKO_OK);
			CHECK_EQ_INT(t, FLOW_T_MINE);
			json_decref(out);
			free(big);
		}
	}
	free(pf);
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	test_vectors();
	test_bit_flips();
	test_roster();
	test_receipt();
	test_events();
	test_frames();
	test_frames_nested();
	test_mqtt();
	test_refusal();
	test_dispatch();
	json_decref(v_root);
	sodium_memzero(org_sk, sizeof(org_sk));
	sodium_memzero(gw_sk, sizeof(gw_sk));
	return check_result();
}
