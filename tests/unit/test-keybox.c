/*
 * test-keybox.c: the key material of the key model (proto/keybox.c).
 * Byte-exact comparison with the independent Python implementation
 * (proto/vectors/keybox-gen.py -> keybox.json): derived keys, key box sets
 * (JSON, signing input, signature, the sealed boxes made again from the
 * vectors' ephemeral keys, opening by every recipient, walking back), the
 * recovery box at the minimum Argon2id limits, recovery codes, approval
 * codes, and the invalid objects with their errors. Then round trips with
 * random keys, the makers' refusals, key ids and bit flips.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "keybox.h"

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
	if (s == NULL) {
		fprintf(stderr, "vector member %s missing\n", k);
		abort();
	}
	return s;
}

static uint64_t jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		abort();
	return (uint64_t)json_integer_value(v);
}

static int same_hex(const uint8_t *p, size_t n, const char *want_hex)
{
	uint8_t *want;
	int same;

	if (strlen(want_hex) != 2 * n)
		return 0;
	want = malloc(n + 1);
	hex2(want_hex, want, n);
	same = memcmp(p, want, n) == 0;
	free(want);
	return same;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static enum keybox_kind kind_of(const char *s)
{
	return strcmp(s, "user") == 0 ? KEYBOX_USER : strcmp(s, "team") == 0 ? KEYBOX_TEAM : KEYBOX_NONE;
}

static struct keybox_gen *derive_hex(enum keybox_kind kind, uint64_t generation, const char *seed_hex)
{
	uint8_t seed[32];
	struct keybox_gen *g = NULL;

	hex2(seed_hex, seed, 32);
	CHECK_EQ_INT(keybox_gen_derive(&g, kind, generation, seed), VARSKO_OK);
	sodium_memzero(seed, sizeof(seed));
	if (g == NULL)
		abort();
	return g;
}

static struct keybox_set *set_new(void)
{
	struct keybox_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	return s;
}

static json_t *v_root;

/* ---- derived keys ------------------------------------------------------------ */

static void test_derive(void)
{
	const json_t *arr = json_object_get(v_root, "derive"), *v;
	size_t i;

	CHECK(json_array_size(arr) >= 4);
	json_array_foreach(arr, i, v)
	{
		enum keybox_kind kind = kind_of(jstr(v, "kind"));
		struct keybox_gen *g = derive_hex(kind, jint(v, "generation"), jstr(v, "seed"));
		uint8_t sub[32];

		/* libsodium's crypto_kdf is the BLAKE2b construction the Python side writes by hand. */
		crypto_kdf_derive_from_key(sub, 32, 2, kind == KEYBOX_USER ? KEYBOX_CTX_USER : KEYBOX_CTX_TEAM,
		                           g->seed);
		CHECK(same_hex(sub, 32, jstr(v, "box_seed")));
		CHECK(same_hex(g->box_pk, 32, jstr(v, "box_pk")));
		CHECK(same_hex(g->box_sk, 32, jstr(v, "box_sk")));
		CHECK(same_hex(g->prev_key, 32, jstr(v, "prev_key")));
		CHECK_EQ_INT(g->kind, kind);
		CHECK_EQ_INT(g->generation, jint(v, "generation"));
		if (kind == KEYBOX_USER) {
			CHECK(same_hex(g->sign_pk, 32, jstr(v, "sign_pk")));
			CHECK(same_hex(g->sign_sk, 32, jstr(v, "sign_seed")));
			CHECK(memcmp(g->sign_sk + 32, g->sign_pk, 32) == 0);
		} else {
			CHECK(all_zero(g->sign_pk, 32) && all_zero(g->sign_sk, 64));
		}
		sodium_memzero(sub, sizeof(sub));
		keybox_gen_free(g);
	}
}

/* ---- key box sets ------------------------------------------------------------- */

#define N_SETS 4
static struct keybox_set *v_sets[N_SETS];
static const char *v_set_names[N_SETS];

static struct keybox_set *vector_set(const char *name)
{
	for (size_t i = 0; i < N_SETS; i++)
		if (v_set_names[i] != NULL && strcmp(v_set_names[i], name) == 0)
			return v_sets[i];
	abort();
}

/* Make the set of vector v again from its seeds, recipients (in the order given, or reversed) and ephemeral keys. */
static void remake_set(const json_t *v, int reversed)
{
	const json_t *rs = json_object_get(v, "recipients");
	size_t n = json_array_size(rs);
	enum keybox_kind kind = kind_of(jstr(v, "kind"));
	uint64_t gen = jint(v, "generation");
	struct keybox_gen *g = derive_hex(kind, gen, jstr(v, "seed")), *prev = NULL;
	struct keybox_recipient *rc = calloc(n, sizeof(*rc));
	uint8_t *eph = calloc(n, 32), seed[32], pk[32], sk[64];
	struct keybox_set *s = set_new();
	char *text = NULL;

	if (gen > 1)
		prev = derive_hex(kind, gen - 1, jstr(v, "prev_seed"));
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(rs, reversed ? n - 1 - i : i);

		rc[i].id = jstr(r, "id");
		hex2(jstr(r, "box_pk"), rc[i].box_pk, 32);
		hex2(jstr(r, "eph_sk"), eph + 32 * i, 32);
	}
	hex2(jstr(v, "signer_seed"), seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	CHECK_EQ_INT(keybox_set_make(s, jstr(v, "owner"), g, prev, rc, n, sk, eph), VARSKO_OK);
	CHECK_EQ_INT(keybox_set_to_json(s, &text, NULL), VARSKO_OK);
	CHECK_EQ_STR(text, jstr(v, "json"));
	free(text);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(eph, 32 * n);
	free(eph);
	free(rc);
	free(s);
	keybox_gen_free(g);
	keybox_gen_free(prev);
}

static void test_vector_set(const json_t *v, size_t idx)
{
	const json_t *rs = json_object_get(v, "recipients"), *r;
	const char *json = jstr(v, "json");
	struct keybox_set *s = set_new();
	struct proto_buf b;
	uint8_t pk[32], other[32], nonce[24];
	uint64_t gen = jint(v, "generation");
	char *text = NULL;
	size_t i, len = 0;

	proto_buf_init(&b);
	CHECK_EQ_INT(keybox_set_from_json(json, strlen(json), s), VARSKO_OK);
	CHECK_EQ_INT(keybox_set_to_json(s, &text, &len), VARSKO_OK);
	CHECK_EQ_STR(text, json);
	CHECK_EQ_INT(len, strlen(json));
	CHECK_EQ_INT(keybox_set_signing_input(s, &b), VARSKO_OK);
	CHECK(b.len == strlen(jstr(v, "signing_input")) / 2 && same_hex(b.p, b.len, jstr(v, "signing_input")));
	CHECK(same_hex(s->sig, 64, jstr(v, "sig")));
	hex2(jstr(v, "signer_pk"), pk, 32);
	CHECK(memcmp(s->signer, pk, 32) == 0);
	CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_OK);
	CHECK_EQ_INT(keybox_set_verify(s, pk), VARSKO_OK);
	memcpy(other, pk, 32);
	other[0] ^= 1;
	CHECK_EQ_INT(keybox_set_verify(s, other), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(s->generation, gen);
	CHECK_EQ_INT(s->has_prev, gen > 1);
	if (gen > 1) {
		CHECK_EQ_INT(keybox_prev_nonce(nonce, s->owner, gen), VARSKO_OK);
		CHECK(same_hex(nonce, 24, jstr(v, "prev_nonce")));
	}
	CHECK_EQ_INT(keybox_set_check_newer(s, gen - 1), VARSKO_OK);
	CHECK_EQ_INT(keybox_set_check_newer(s, 0), VARSKO_OK);
	CHECK_EQ_INT(keybox_set_check_newer(s, gen), VARSKO_ERR_STALE_KEY);
	CHECK_EQ_INT(keybox_set_check_newer(s, gen + 1), VARSKO_ERR_STALE_KEY);

	CHECK_EQ_INT(s->n, json_array_size(rs));
	json_array_foreach(rs, i, r)
	{
		uint8_t bpk[32], bsk[32];
		struct keybox_gen *g = NULL;

		hex2(jstr(r, "box_pk"), bpk, 32);
		hex2(jstr(r, "box_sk"), bsk, 32);
		CHECK_EQ_INT(keybox_set_open(s, jstr(r, "id"), bpk, bsk, &g), VARSKO_OK);
		if (g != NULL) {
			CHECK(same_hex(g->seed, 32, jstr(v, "seed")));
			CHECK_EQ_INT(g->generation, gen);
			CHECK_EQ_INT(g->kind, kind_of(jstr(v, "kind")));
			CHECK(memcmp(g->box_pk, s->pub, 32) == 0);
		}
		keybox_gen_free(g);
		/* Another recipient's key id with this key pair: that box does not open. */
		if (s->n > 1) {
			const char *other_id = strcmp(s->boxes[0].recipient, jstr(r, "id")) == 0
			                               ? s->boxes[1].recipient
			                               : s->boxes[0].recipient;
			g = (struct keybox_gen *)1;
			CHECK_EQ_INT(keybox_set_open(s, other_id, bpk, bsk, &g), VARSKO_ERR_CRYPTO);
			CHECK(g == NULL);
		}
		sodium_memzero(bsk, sizeof(bsk));
	}
	remake_set(v, 0);
	remake_set(v, 1);

	v_sets[idx] = s;
	v_set_names[idx] = jstr(v, "name");
	proto_buf_free(&b);
	free(text);
}

static void walk_vector(const char *top_name, const char *prev_name, enum keybox_kind kind)
{
	const json_t *arr = json_object_get(v_root, "sets"), *v, *top_v = NULL, *prev_v = NULL;
	const struct keybox_set *sets[2] = {vector_set(prev_name), vector_set(top_name)};
	struct keybox_gen *top, *out[1] = {NULL};
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (strcmp(jstr(v, "name"), top_name) == 0)
			top_v = v;
		if (strcmp(jstr(v, "name"), prev_name) == 0)
			prev_v = v;
	}
	if (top_v == NULL || prev_v == NULL)
		abort();
	top = derive_hex(kind, 2, jstr(top_v, "seed"));
	CHECK_EQ_INT(keybox_walk_back(top, sets, 2, out), VARSKO_OK);
	CHECK(out[0] != NULL && same_hex(out[0]->seed, 32, jstr(prev_v, "seed")));
	CHECK(out[0] != NULL && out[0]->generation == 1 && out[0]->kind == kind);
	keybox_gen_free(out[0]);
	out[0] = NULL;
	/* Wrong order, or one set too few. */
	sets[0] = vector_set(top_name);
	sets[1] = vector_set(prev_name);
	CHECK_EQ_INT(keybox_walk_back(top, sets, 2, out), VARSKO_ERR_BAD_INPUT);
	CHECK(out[0] == NULL);
	CHECK_EQ_INT(keybox_walk_back(top, sets, 1, out), VARSKO_ERR_BAD_INPUT);
	keybox_gen_free(top);
}

static void test_sets(void)
{
	const json_t *arr = json_object_get(v_root, "sets");

	CHECK_EQ_INT(json_array_size(arr), N_SETS);
	for (size_t i = 0; i < N_SETS && i < json_array_size(arr); i++)
		test_vector_set(json_array_get(arr, i), i);
	walk_vector("team-2", "team-1", KEYBOX_TEAM);
	walk_vector("user-2", "user-1", KEYBOX_USER);
}

/* ---- recovery ---------------------------------------------------------------------- */

static void test_recovery_vector(void)
{
	const json_t *v = json_object_get(v_root, "recovery"), *seeds = json_object_get(v, "seeds");
	uint8_t code[16], parsed[16], salt[16], nonce[24];
	char text[KEYBOX_CODE_TEXT_LEN + 1], *json = NULL;
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX] = {0};
	struct keybox_recovery r, r2;
	size_t n = json_array_size(seeds), got = 99;

	hex2(jstr(v, "code"), code, 16);
	hex2(jstr(v, "salt"), salt, 16);
	hex2(jstr(v, "nonce"), nonce, 24);
	keybox_code_format(code, text);
	CHECK_EQ_STR(text, jstr(v, "code_text"));
	CHECK_EQ_INT(keybox_code_parse(text, strlen(text), parsed), VARSKO_OK);
	CHECK(memcmp(parsed, code, 16) == 0);
	CHECK(n == 2);
	for (size_t i = 0; i < n; i++)
		gens[i] = derive_hex(KEYBOX_USER, i + 1, json_string_value(json_array_get(seeds, i)));

	/* The C maker gives the identical box. */
	CHECK_EQ_INT(keybox_recovery_make(&r, jstr(v, "user"), code, (const struct keybox_gen *const *)gens, n,
	                                  jint(v, "opslimit"), jint(v, "memlimit"), salt, nonce),
	             VARSKO_OK);
	CHECK_EQ_INT(keybox_recovery_to_json(&r, &json, NULL), VARSKO_OK);
	CHECK_EQ_STR(json, jstr(v, "json"));
	free(json);
	json = NULL;
	for (size_t i = 0; i < n; i++) {
		keybox_gen_free(gens[i]);
		gens[i] = NULL;
	}
	keybox_recovery_clear(&r);

	/* Parse, write back, open. */
	CHECK_EQ_INT(keybox_recovery_from_json(jstr(v, "json"), strlen(jstr(v, "json")), &r2), VARSKO_OK);
	CHECK_EQ_INT(keybox_recovery_to_json(&r2, &json, NULL), VARSKO_OK);
	CHECK_EQ_STR(json, jstr(v, "json"));
	free(json);
	CHECK_EQ_INT(keybox_recovery_open(&r2, code, gens, KEYBOX_RECOVERY_GEN_MAX, &got), VARSKO_OK);
	CHECK_EQ_INT(got, n);
	for (size_t i = 0; i < got && i < n; i++) {
		CHECK(gens[i] != NULL && same_hex(gens[i]->seed, 32, json_string_value(json_array_get(seeds, i))));
		CHECK(gens[i] != NULL && gens[i]->generation == i + 1 && gens[i]->kind == KEYBOX_USER);
		keybox_gen_free(gens[i]);
		gens[i] = NULL;
	}
	/* Room for one generation only. */
	CHECK_EQ_INT(keybox_recovery_open(&r2, code, gens, 1, &got), VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(got, 0);
	CHECK(gens[0] == NULL);
	keybox_recovery_clear(&r2);
	CHECK(all_zero(&r2, sizeof(r2)));
	sodium_memzero(code, sizeof(code));
}

static void test_recovery_codes(void)
{
	const json_t *arr = json_object_get(v_root, "recovery_codes"), *v;
	size_t i;

	CHECK(json_array_size(arr) >= 3);
	json_array_foreach(arr, i, v)
	{
		uint8_t code[16], back[16];
		char text[KEYBOX_CODE_TEXT_LEN + 1];

		hex2(jstr(v, "bytes"), code, 16);
		keybox_code_format(code, text);
		CHECK_EQ_STR(text, jstr(v, "text"));
		CHECK_EQ_INT(strlen(text), KEYBOX_CODE_TEXT_LEN);
		CHECK_EQ_INT(keybox_code_parse(text, strlen(text), back), VARSKO_OK);
		CHECK(memcmp(back, code, 16) == 0);
	}
	arr = json_object_get(v_root, "recovery_code_parse");
	CHECK(json_array_size(arr) >= 10);
	json_array_foreach(arr, i, v)
	{
		const char *in = jstr(v, "input");
		uint8_t code[16];
		int rc = keybox_code_parse(in, strlen(in), code);

		if (json_object_get(v, "bytes") != NULL) {
			CHECK_EQ_INT(rc, VARSKO_OK);
			CHECK(same_hex(code, 16, jstr(v, "bytes")));
		} else {
			CHECK_EQ_STR(varsko_err_name(rc), jstr(v, "error"));
			CHECK(all_zero(code, 16));
		}
	}
	{
		/* A NUL inside, and an input longer than the cap made only of separators and the code. */
		uint8_t code[16];
		char buf[KEYBOX_CODE_INPUT_MAX + 2];
		const char *t = jstr(json_array_get(json_object_get(v_root, "recovery_codes"), 0), "text");

		memcpy(buf, t, strlen(t));
		buf[5] = '\0';
		CHECK_EQ_INT(keybox_code_parse(buf, strlen(t), code), VARSKO_ERR_BAD_INPUT);
		memset(buf, ' ', sizeof(buf));
		memcpy(buf, t, strlen(t));
		CHECK_EQ_INT(keybox_code_parse(buf, KEYBOX_CODE_INPUT_MAX, code), VARSKO_OK);
		CHECK_EQ_INT(keybox_code_parse(buf, KEYBOX_CODE_INPUT_MAX + 1, code), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(keybox_code_parse(NULL, 0, code), VARSKO_ERR_BAD_INPUT);
	}
}

/* ---- approval ------------------------------------------------------------------------- */

/* The commitment and the code's nonce of the exchange (PROTOCOL.md 15.7), against keybox-gen.py. */
static void test_approval_exchange(void)
{
	const json_t *arr = json_object_get(v_root, "approval_exchange"), *v;
	size_t i;

	CHECK(json_array_size(arr) >= 2);
	json_array_foreach(arr, i, v)
	{
		uint8_t n_old[32], n_new[32], old[32], new_sign[32], new_box[32], commit[32], nonce[32], want[32];
		char code[KEYBOX_APPROVAL_DIGITS + 1];

		hex2(jstr(v, "n_old"), n_old, 32);
		hex2(jstr(v, "n_new"), n_new, 32);
		hex2(jstr(v, "old_sign_pk"), old, 32);
		hex2(jstr(v, "new_sign_pk"), new_sign, 32);
		hex2(jstr(v, "new_box_pk"), new_box, 32);
		CHECK_EQ_INT(keybox_approval_commit(commit, n_new, new_sign, new_box), VARSKO_OK);
		hex2(jstr(v, "commit"), want, 32);
		CHECK(memcmp(commit, want, 32) == 0);
		CHECK_EQ_INT(keybox_approval_nonce(nonce, n_old, n_new), VARSKO_OK);
		hex2(jstr(v, "nonce"), want, 32);
		CHECK(memcmp(nonce, want, 32) == 0);
		CHECK_EQ_INT(keybox_approval_code(code, nonce, old, new_sign, new_box), VARSKO_OK);
		CHECK_EQ_STR(code, jstr(v, "code"));
		/* Another nonce opens another commitment. */
		n_new[0] ^= 1;
		CHECK_EQ_INT(keybox_approval_commit(commit, n_new, new_sign, new_box), VARSKO_OK);
		CHECK(memcmp(commit, want, 32) != 0);
	}
	CHECK_EQ_INT(keybox_approval_commit(NULL, NULL, NULL, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_approval_nonce(NULL, NULL, NULL), VARSKO_ERR_BAD_INPUT);
}

static void test_approval(void)
{
	const json_t *arr = json_object_get(v_root, "approval"), *v;
	size_t i;
	int saw_mod = 0;

	CHECK(json_array_size(arr) >= 3);
	json_array_foreach(arr, i, v)
	{
		uint8_t nonce[32], old[32], new_sign[32], new_box[32];
		char code[KEYBOX_APPROVAL_DIGITS + 1], other[KEYBOX_APPROVAL_DIGITS + 1];
		struct proto_buf b;

		hex2(jstr(v, "nonce"), nonce, 32);
		hex2(jstr(v, "old_sign_pk"), old, 32);
		hex2(jstr(v, "new_sign_pk"), new_sign, 32);
		hex2(jstr(v, "new_box_pk"), new_box, 32);
		proto_buf_init(&b);
		CHECK_EQ_INT(keybox_approval_input(&b, nonce, old, new_sign, new_box), VARSKO_OK);
		CHECK(b.len == strlen(jstr(v, "input")) / 2 && same_hex(b.p, b.len, jstr(v, "input")));
		proto_buf_free(&b);
		CHECK_EQ_INT(keybox_approval_code(code, nonce, old, new_sign, new_box), VARSKO_OK);
		CHECK_EQ_STR(code, jstr(v, "code"));
		saw_mod |= jint(v, "bits20") >= 1000000;
		CHECK_EQ_INT(keybox_approval_equal(code, jstr(v, "code")), VARSKO_OK);
		/* A new device key the old device did not see gives (almost surely) another code. */
		new_sign[0] ^= 1;
		CHECK_EQ_INT(keybox_approval_code(other, nonce, old, new_sign, new_box), VARSKO_OK);
		CHECK_EQ_INT(keybox_approval_equal(code, other),
		             strcmp(code, other) == 0 ? VARSKO_OK : VARSKO_ERR_APPROVAL_FAILED);
	}
	CHECK(saw_mod);
	CHECK_EQ_INT(keybox_approval_equal("123456", "123457"), VARSKO_ERR_APPROVAL_FAILED);
	CHECK_EQ_INT(keybox_approval_equal("000000", "000000"), VARSKO_OK);
	CHECK_EQ_INT(keybox_approval_equal("12345", "12345"), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_approval_equal("1234567", "1234567"), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_approval_equal("12345a", "12345a"), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_approval_equal(NULL, "123456"), VARSKO_ERR_BAD_INPUT);
}

/* ---- invalid objects ---------------------------------------------------------------------- */

static void invalid_set(const json_t *v)
{
	const char *op = jstr(v, "op"), *json = jstr(v, "json"), *err = jstr(v, "error");
	struct keybox_set *s = set_new();
	int rc;

	rc = keybox_set_from_json(json, strlen(json), s);
	if (strcmp(op, "parse") == 0) {
		CHECK_EQ_STR(varsko_err_name(rc), err);
		CHECK(all_zero(s, sizeof(*s)));
		goto out;
	}
	CHECK_EQ_INT(rc, VARSKO_OK);
	if (strcmp(op, "verify") == 0) {
		CHECK_EQ_STR(varsko_err_name(keybox_set_verify(s, NULL)), err);
	} else if (strcmp(op, "open") == 0) {
		uint8_t pk[32], sk[32];
		struct keybox_gen *g = (struct keybox_gen *)1;

		hex2(jstr(v, "box_pk"), pk, 32);
		hex2(jstr(v, "box_sk"), sk, 32);
		CHECK_EQ_STR(varsko_err_name(keybox_set_open(s, jstr(v, "recipient"), pk, sk, &g)), err);
		CHECK(g == NULL);
	} else if (strcmp(op, "walk_back") == 0) {
		const json_t *older = json_object_get(v, "sets");
		size_t n = json_array_size(older) + 1;
		const struct keybox_set **sets = calloc(n, sizeof(*sets));
		struct keybox_gen **out = calloc(n, sizeof(*out));
		struct keybox_gen *top = derive_hex(kind_of(jstr(v, "kind")), n, jstr(v, "top_seed"));

		for (size_t i = 0; i + 1 < n; i++) {
			const char *t = json_string_value(json_array_get(older, i));
			struct keybox_set *o = set_new();

			CHECK_EQ_INT(keybox_set_from_json(t, strlen(t), o), VARSKO_OK);
			sets[i] = o;
		}
		sets[n - 1] = s;
		CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_OK); /* re-signed: only the box is wrong */
		CHECK_EQ_STR(varsko_err_name(keybox_walk_back(top, sets, n, out)), err);
		for (size_t i = 0; i + 1 < n; i++) {
			CHECK(out[i] == NULL);
			free((void *)sets[i]);
		}
		keybox_gen_free(top);
		free(sets);
		free(out);
	} else {
		CHECK(!"unknown op");
	}
out:
	free(s);
}

static void invalid_recovery(const json_t *v)
{
	const char *op = jstr(v, "op"), *json = jstr(v, "json"), *err = jstr(v, "error");
	struct keybox_recovery r;
	struct keybox_gen *gens[4] = {0};
	uint8_t code[16];
	size_t n = 99;
	int rc;

	rc = keybox_recovery_from_json(json, strlen(json), &r);
	if (strcmp(op, "parse") == 0) {
		CHECK_EQ_STR(varsko_err_name(rc), err);
		CHECK(all_zero(&r, sizeof(r)));
		return;
	}
	CHECK_EQ_INT(rc, VARSKO_OK);
	hex2(jstr(v, "code"), code, 16);
	CHECK_EQ_STR(varsko_err_name(keybox_recovery_open(&r, code, gens, 4, &n)), err);
	CHECK_EQ_INT(n, 0);
	CHECK(gens[0] == NULL && gens[1] == NULL);
	keybox_recovery_clear(&r);
}

static void test_invalid(void)
{
	const json_t *arr = json_object_get(v_root, "invalid"), *v;
	size_t i;

	CHECK(json_array_size(arr) >= 40);
	json_array_foreach(arr, i, v)
	{
		int before = check_failures_;

		if (strcmp(jstr(v, "object"), "keybox") == 0)
			invalid_set(v);
		else
			invalid_recovery(v);
		if (check_failures_ != before)
			fprintf(stderr, "  in invalid case \"%s\"\n", jstr(v, "name"));
	}
}

/* ---- round trips with random keys ------------------------------------------------------------ */

#define RT_USERS 3
#define RT_GENS  3

static void test_round_trip(void)
{
	struct keybox_gen *users[RT_USERS], *team[RT_GENS], *outsider, *back[RT_GENS - 1] = {0}, *g;
	struct keybox_set *sets[RT_GENS], *parsed = set_new();
	struct keybox_recipient rc[RT_USERS];
	char ids[RT_USERS][KEYBOX_KEYID_MAX + 1], *text = NULL;
	uint8_t signer_pk[32], signer_sk[64];

	crypto_sign_keypair(signer_pk, signer_sk);
	for (size_t i = 0; i < RT_USERS; i++) {
		char owner[32];

		CHECK_EQ_INT(keybox_gen_new(&users[i], KEYBOX_USER, 1), VARSKO_OK);
		snprintf(owner, sizeof(owner), "user:u%zu", i);
		CHECK_EQ_INT(keybox_key_id(ids[i], owner, 1), VARSKO_OK);
		rc[i].id = ids[i];
		memcpy(rc[i].box_pk, users[i]->box_pk, 32);
	}
	CHECK_EQ_INT(keybox_gen_new(&outsider, KEYBOX_USER, 1), VARSKO_OK);
	for (size_t k = 0; k < RT_GENS; k++) {
		CHECK_EQ_INT(keybox_gen_new(&team[k], KEYBOX_TEAM, k + 1), VARSKO_OK);
		sets[k] = set_new();
		CHECK_EQ_INT(keybox_set_make(sets[k], "team:rt", team[k], k > 0 ? team[k - 1] : NULL, rc, RT_USERS,
		                             signer_sk, NULL),
		             VARSKO_OK);
		CHECK_EQ_INT(keybox_set_verify(sets[k], signer_pk), VARSKO_OK);
		CHECK_EQ_INT(keybox_set_to_json(sets[k], &text, NULL), VARSKO_OK);
		CHECK_EQ_INT(keybox_set_from_json(text, strlen(text), parsed), VARSKO_OK);
		CHECK(memcmp(parsed, sets[k], sizeof(*parsed)) == 0);
		free(text);
		text = NULL;
		for (size_t i = 0; i < RT_USERS; i++) {
			g = NULL;
			CHECK_EQ_INT(keybox_set_open(parsed, ids[i], users[i]->box_pk, users[i]->box_sk, &g),
			             VARSKO_OK);
			CHECK(g != NULL && memcmp(g->seed, team[k]->seed, 32) == 0 && g->generation == k + 1);
			keybox_gen_free(g);
		}
		/* A non-recipient: no box for its key id; or its key tried on someone's box. */
		g = (struct keybox_gen *)1;
		CHECK_EQ_INT(keybox_set_open(parsed, "user:outsider:1", outsider->box_pk, outsider->box_sk, &g),
		             VARSKO_ERR_NOT_FOUND);
		CHECK(g == NULL);
		CHECK_EQ_INT(keybox_set_open(parsed, ids[0], outsider->box_pk, outsider->box_sk, &g),
		             VARSKO_ERR_CRYPTO);
		CHECK(g == NULL);
		CHECK_EQ_INT(keybox_set_check_newer(parsed, k), VARSKO_OK);
		CHECK_EQ_INT(keybox_set_check_newer(parsed, k + 1), VARSKO_ERR_STALE_KEY);
	}
	/* Walk back from the newest generation. */
	CHECK_EQ_INT(keybox_walk_back(team[RT_GENS - 1], (const struct keybox_set *const *)sets, RT_GENS, back),
	             VARSKO_OK);
	for (size_t k = 0; k + 1 < RT_GENS; k++) {
		CHECK(back[k] != NULL && memcmp(back[k]->seed, team[k]->seed, 32) == 0);
		CHECK(back[k] != NULL && memcmp(back[k]->prev_key, team[k]->prev_key, 32) == 0);
		keybox_gen_free(back[k]);
		back[k] = NULL;
	}
	/* From the middle generation with the first two sets. */
	CHECK_EQ_INT(keybox_walk_back(team[1], (const struct keybox_set *const *)sets, 2, back), VARSKO_OK);
	CHECK(back[0] != NULL && memcmp(back[0]->seed, team[0]->seed, 32) == 0);
	keybox_gen_free(back[0]);
	back[0] = NULL;
	/* The wrong top, and a set of another owner in the chain. */
	CHECK_EQ_INT(keybox_walk_back(team[1], (const struct keybox_set *const *)sets + 1, 2, back),
	             VARSKO_ERR_BAD_INPUT);
	memcpy(parsed, sets[0], sizeof(*parsed));
	memcpy(parsed->owner, "team:rx", 8);
	{
		const struct keybox_set *mixed[RT_GENS] = {parsed, sets[1], sets[2]};

		CHECK_EQ_INT(keybox_walk_back(team[2], mixed, RT_GENS, back), VARSKO_ERR_BAD_INPUT);
		CHECK(back[0] == NULL && back[1] == NULL);
	}
	/* A team generation handed to walk_back as a user key. */
	{
		struct keybox_gen *as_user = NULL;

		CHECK_EQ_INT(keybox_gen_derive(&as_user, KEYBOX_USER, RT_GENS, team[RT_GENS - 1]->seed), VARSKO_OK);
		CHECK_EQ_INT(keybox_walk_back(as_user, (const struct keybox_set *const *)sets, RT_GENS, back),
		             VARSKO_ERR_BAD_INPUT);
		keybox_gen_free(as_user);
	}

	for (size_t i = 0; i < RT_USERS; i++)
		keybox_gen_free(users[i]);
	for (size_t k = 0; k < RT_GENS; k++) {
		keybox_gen_free(team[k]);
		free(sets[k]);
	}
	keybox_gen_free(outsider);
	free(parsed);
	sodium_memzero(signer_sk, sizeof(signer_sk));
}

static void test_make_refusals(void)
{
	struct keybox_gen *t1 = NULL, *t2 = NULL, *u1 = NULL, *t3 = NULL;
	struct keybox_set *s = set_new();
	struct keybox_recipient *rc = calloc(KEYBOX_RECIPIENTS_MAX + 1, sizeof(*rc));
	char(*ids)[KEYBOX_KEYID_MAX + 1] = calloc(KEYBOX_RECIPIENTS_MAX + 1, sizeof(*ids));
	uint8_t pk[32], sk[64];

	crypto_sign_keypair(pk, sk);
	CHECK_EQ_INT(keybox_gen_new(&t1, KEYBOX_TEAM, 1), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&t2, KEYBOX_TEAM, 2), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&t3, KEYBOX_TEAM, 3), VARSKO_OK);
	CHECK_EQ_INT(keybox_gen_new(&u1, KEYBOX_USER, 1), VARSKO_OK);
	for (size_t i = 0; i <= KEYBOX_RECIPIENTS_MAX; i++) {
		snprintf(ids[i], sizeof(ids[i]), "user:m%03zu:1", i);
		rc[i].id = ids[i];
		memcpy(rc[i].box_pk, u1->box_pk, 32);
	}
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, KEYBOX_RECIPIENTS_MAX, sk, NULL), VARSKO_OK);
	{
		char *text = NULL;
		size_t len = 0;

		CHECK_EQ_INT(keybox_set_to_json(s, &text, &len), VARSKO_OK);
		CHECK(len <= KEYBOX_JSON_MAX);
		free(text);
	}
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, KEYBOX_RECIPIENTS_MAX + 1, sk, NULL),
	             VARSKO_ERR_TOO_LARGE);
	CHECK(all_zero(s, sizeof(*s)));
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, 0, sk, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_set_make(s, "user:t", t1, NULL, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT); /* kind */
	CHECK_EQ_INT(keybox_set_make(s, "team:t", u1, NULL, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_set_make(s, "t", t1, NULL, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t2, NULL, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT); /* no prev */
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t3, t1, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT);   /* gap */
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, t1, rc, 1, sk, NULL), VARSKO_ERR_BAD_INPUT);   /* prev at 1 */
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t2, t1, rc, 1, sk, NULL), VARSKO_OK);
	CHECK(s->has_prev == 1 && s->generation == 2);
	rc[1].id = ids[0];
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, 2, sk, NULL), VARSKO_ERR_BAD_INPUT); /* twice */
	rc[1].id = "team:t";
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, 2, sk, NULL), VARSKO_ERR_BAD_INPUT); /* no gen */
	rc[1].id = ids[1];
	memset(rc[1].box_pk, 0, 32); /* a low-order point */
	CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, 2, sk, NULL), VARSKO_ERR_CRYPTO);
	{
		uint8_t eph[64];

		memset(eph, 7, sizeof(eph));
		CHECK_EQ_INT(keybox_set_make(s, "team:t", t1, NULL, rc, 2, sk, eph), VARSKO_ERR_CRYPTO);
	}
	CHECK(all_zero(s, sizeof(*s)));

	keybox_gen_free(t1);
	keybox_gen_free(t2);
	keybox_gen_free(t3);
	keybox_gen_free(u1);
	free(rc);
	free(ids);
	free(s);
	sodium_memzero(sk, sizeof(sk));
}

static void test_bit_flips(void)
{
	const struct keybox_set *v = vector_set("team-2");
	struct keybox_set *s = set_new();
	uint8_t *fields[] = {s->pub, s->prev_box, s->boxes[0].sealed, s->boxes[1].sealed, s->sig};
	size_t lens[] = {32, KEYBOX_PREV_BOX_LEN, KEYBOX_SEALED_LEN, KEYBOX_SEALED_LEN, 64};

	for (size_t f = 0; f < sizeof(lens) / sizeof(lens[0]); f++)
		for (size_t i = 0; i < lens[f]; i++) {
			memcpy(s, v, sizeof(*s));
			fields[f][i] ^= (uint8_t)(1u << (i % 8));
			CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_ERR_BAD_SIGNATURE);
		}
	memcpy(s, v, sizeof(*s));
	s->generation = 3;
	CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(s, v, sizeof(*s));
	s->owner[5] ^= 1;
	CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(s, v, sizeof(*s));
	s->boxes[0].recipient[5] ^= 2;
	CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(s, v, sizeof(*s));
	s->has_prev = 0; /* malformed: generation 2 without prev_box */
	CHECK_EQ_INT(keybox_set_verify(s, NULL), VARSKO_ERR_BAD_SIGNATURE);
	{
		char *text = (char *)1;
		struct keybox_gen *g = (struct keybox_gen *)1;

		CHECK_EQ_INT(keybox_set_to_json(s, &text, NULL), VARSKO_ERR_BAD_INPUT);
		CHECK(text == NULL);
		CHECK_EQ_INT(keybox_set_open(s, s->boxes[0].recipient, s->pub, s->pub, &g), VARSKO_ERR_BAD_INPUT);
		CHECK(g == NULL);
	}
	free(s);
}

static void test_key_ids(void)
{
	char id[KEYBOX_KEYID_MAX + 1], owner[KEYBOX_OWNER_MAX + 2];

	CHECK_EQ_INT(keybox_owner_kind("team:a"), KEYBOX_TEAM);
	CHECK_EQ_INT(keybox_owner_kind("user:a:b"), KEYBOX_USER);
	CHECK_EQ_INT(keybox_owner_kind("user:"), KEYBOX_NONE);
	CHECK_EQ_INT(keybox_owner_kind("device:d-1"), KEYBOX_NONE);
	CHECK_EQ_INT(keybox_owner_kind("Team:a"), KEYBOX_NONE);
	CHECK_EQ_INT(keybox_owner_kind(NULL), KEYBOX_NONE);
	memcpy(owner, "user:", 5);
	memset(owner + 5, 'x', PROTO_ID_MAX);
	owner[5 + PROTO_ID_MAX] = '\0';
	CHECK_EQ_INT(keybox_owner_kind(owner), KEYBOX_USER);
	CHECK_EQ_INT(keybox_key_id(id, owner, KEYBOX_GEN_MAX), VARSKO_OK);
	CHECK_EQ_INT(strlen(id), KEYBOX_KEYID_MAX);
	CHECK(keybox_keyid_valid(id));
	owner[5 + PROTO_ID_MAX] = 'x';
	owner[6 + PROTO_ID_MAX] = '\0';
	CHECK_EQ_INT(keybox_owner_kind(owner), KEYBOX_NONE);
	CHECK_EQ_INT(keybox_key_id(id, owner, 1), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(id, "");

	CHECK_EQ_INT(keybox_key_id(id, "team:oest", 12), VARSKO_OK);
	CHECK_EQ_STR(id, "team:oest:12");
	CHECK_EQ_INT(keybox_key_id(id, "team:oest", 0), VARSKO_ERR_BAD_INPUT);
	CHECK(keybox_keyid_valid("user:a:1"));
	CHECK(keybox_keyid_valid("user:a:b:9223372036854775807"));
	CHECK(keybox_keyid_valid("device:d-cd3c0ddc894f8e0e"));
	CHECK(!keybox_keyid_valid("user:a:9223372036854775808"));
	CHECK(!keybox_keyid_valid("user:a:0"));
	CHECK(!keybox_keyid_valid("user:a:01"));
	CHECK(!keybox_keyid_valid("user:a:"));
	CHECK(!keybox_keyid_valid("user::1"));
	CHECK(!keybox_keyid_valid("user:a"));
	CHECK(!keybox_keyid_valid("user:1"));
	CHECK(!keybox_keyid_valid("user:a:1x"));
	CHECK(!keybox_keyid_valid("device:"));
	CHECK(!keybox_keyid_valid("device:a b"));
	CHECK(!keybox_keyid_valid("org:a:1"));
	CHECK(!keybox_keyid_valid(""));
	CHECK(!keybox_keyid_valid(NULL));
	{
		uint8_t nonce[24];
		struct keybox_gen *g = (struct keybox_gen *)1;
		uint8_t seed[32] = {0};

		CHECK_EQ_INT(keybox_prev_nonce(nonce, "x", 1), VARSKO_ERR_BAD_INPUT);
		CHECK(all_zero(nonce, 24));
		CHECK_EQ_INT(keybox_gen_derive(&g, KEYBOX_NONE, 1, seed), VARSKO_ERR_BAD_INPUT);
		CHECK(g == NULL);
		CHECK_EQ_INT(keybox_gen_derive(&g, KEYBOX_USER, 0, seed), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(keybox_gen_derive(&g, KEYBOX_USER, (uint64_t)INT64_MAX + 1, seed), VARSKO_ERR_BAD_INPUT);
	}
}

static void test_recovery_random(void)
{
	struct keybox_gen *gens[3] = {0}, *out[3] = {0};
	struct keybox_recovery r, r2;
	uint8_t code[16], wrong[16], back[16];
	char text[KEYBOX_CODE_TEXT_LEN + 1], *json = NULL;
	size_t n = 0;

	keybox_code_new(code);
	keybox_code_format(code, text);
	CHECK_EQ_INT(keybox_code_parse(text, strlen(text), back), VARSKO_OK);
	CHECK(memcmp(back, code, 16) == 0);
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ_INT(keybox_gen_new(&gens[i], KEYBOX_USER, i + 1), VARSKO_OK);
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens, 3,
	                                  crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_OK);
	CHECK_EQ_INT(keybox_recovery_to_json(&r, &json, NULL), VARSKO_OK);
	CHECK_EQ_INT(keybox_recovery_from_json(json, strlen(json), &r2), VARSKO_OK);
	free(json);
	CHECK_EQ_INT(keybox_recovery_open(&r2, code, out, 3, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK(out[i] != NULL && memcmp(out[i]->seed, gens[i]->seed, 32) == 0);
		CHECK(out[i] != NULL && memcmp(out[i]->sign_sk, gens[i]->sign_sk, 64) == 0);
		keybox_gen_free(out[i]);
		out[i] = NULL;
	}
	memcpy(wrong, code, 16);
	wrong[15] ^= 0x80;
	CHECK_EQ_INT(keybox_recovery_open(&r2, wrong, out, 3, &n), VARSKO_ERR_CRYPTO);
	CHECK_EQ_INT(n, 0);
	keybox_recovery_clear(&r2);
	keybox_recovery_clear(&r);

	/* The maker refuses what the opener would refuse. */
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens, 3,
	                                  crypto_pwhash_OPSLIMIT_MODERATE + 1, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_ERR_BAD_INPUT);
	CHECK(all_zero(&r, sizeof(r)));
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens, 3,
	                                  crypto_pwhash_OPSLIMIT_MIN, (uint64_t)crypto_pwhash_MEMLIMIT_MODERATE + 1,
	                                  NULL, NULL),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens + 1, 2,
	                                  crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_ERR_BAD_INPUT); /* generations must start at 1 */
	CHECK_EQ_INT(keybox_recovery_make(&r, "a b", code, (const struct keybox_gen *const *)gens, 3,
	                                  crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens, 0,
	                                  crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)gens,
	                                  KEYBOX_RECOVERY_GEN_MAX + 1, crypto_pwhash_OPSLIMIT_MIN,
	                                  crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
	             VARSKO_ERR_TOO_LARGE);
	{
		/* A team key does not go into a recovery box. */
		struct keybox_gen *t = NULL;

		CHECK_EQ_INT(keybox_gen_derive(&t, KEYBOX_TEAM, 1, gens[0]->seed), VARSKO_OK);
		CHECK_EQ_INT(keybox_recovery_make(&r, "u", code, (const struct keybox_gen *const *)&t, 1,
		                                  crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, NULL, NULL),
		             VARSKO_ERR_BAD_INPUT);
		keybox_gen_free(t);
	}
	for (size_t i = 0; i < 3; i++)
		keybox_gen_free(gens[i]);
	sodium_memzero(code, sizeof(code));
}

/* keybox_key_id_split, keybox_team_owner and keybox_team_fit (PROTOCOL.md 16.5, 16.6). */
static void test_team_fit(void)
{
	char owner[KEYBOX_OWNER_MAX + 1];
	const char *users[] = {"leder-a", "myn-b"};
	uint64_t gens[] = {1, 3}, g = 99;
	struct keybox_set *s = calloc(1, sizeof(*s));

	CHECK_EQ_INT(keybox_key_id_split("user:a:b:12", owner, &g), VARSKO_OK);
	CHECK_EQ_STR(owner, "user:a:b");
	CHECK(g == 12);
	CHECK_EQ_INT(keybox_key_id_split("team:oest:1", owner, &g), VARSKO_OK);
	CHECK_EQ_STR(owner, "team:oest");
	CHECK_EQ_INT(keybox_key_id_split("device:d-1", owner, &g), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(keybox_key_id_split("user:a:0", owner, &g), VARSKO_ERR_BAD_INPUT);
	CHECK(g == 0 && owner[0] == '\0');
	CHECK_EQ_INT(keybox_team_owner(owner, "team-x"), VARSKO_OK);
	CHECK_EQ_STR(owner, "team:team-x");
	CHECK_EQ_INT(keybox_team_owner(owner, "a b"), VARSKO_ERR_BAD_INPUT);
	if (s == NULL)
		return;
	s->n = 2;
	snprintf(s->boxes[0].recipient, sizeof(s->boxes[0].recipient), "user:leder-a:1");
	snprintf(s->boxes[1].recipient, sizeof(s->boxes[1].recipient), "user:myn-b:3");
	CHECK_EQ_INT(keybox_team_fit(s, users, gens, 2), KEYBOX_FIT_OK);
	CHECK_EQ_INT(keybox_team_fit(s, users, gens, 1), KEYBOX_FIT_STALE); /* myn-b was removed */
	gens[1] = 4;
	CHECK_EQ_INT(keybox_team_fit(s, users, gens, 2), KEYBOX_FIT_STALE); /* myn-b's user key rotated */
	gens[1] = 3;
	s->n = 1;
	CHECK_EQ_INT(keybox_team_fit(s, users, gens, 2), KEYBOX_FIT_MISSING); /* myn-b was added */
	snprintf(s->boxes[0].recipient, sizeof(s->boxes[0].recipient), "device:d-1");
	CHECK_EQ_INT(keybox_team_fit(s, users, gens, 2), KEYBOX_FIT_STALE);
	free(s);
}

int main(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;

	if (sodium_init() < 0)
		return 99;
	snprintf(path, sizeof(path), "%s/keybox.json", dir ? dir : "proto/vectors");
	v_root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	CHECK(v_root != NULL);
	if (v_root == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return check_result();
	}
	test_derive();
	test_sets();
	test_recovery_vector();
	test_recovery_codes();
	test_approval();
	test_approval_exchange();
	test_invalid();
	test_round_trip();
	test_make_refusals();
	test_bit_flips();
	test_key_ids();
	test_recovery_random();
	test_team_fit();
	for (size_t i = 0; i < N_SETS; i++)
		free(v_sets[i]);
	json_decref(v_root);
	return check_result();
}
