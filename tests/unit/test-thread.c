/*
 * test-thread.c: thread and message ids, the routing bytes of a thread
 * message and signed read marks (proto/thread.c). Byte-exact comparison
 * with the independent Python implementation (proto/vectors/thread-gen.py
 * -> thread.json): every id's verdict, every routing encoding both ways and
 * every refused one, every read mark's signing input and signature, and
 * every read mark that must not verify. Then by hand: what the encoder and
 * the signer refuse, and the bounds the vectors cannot carry in JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "thread.h"

static json_t *v_root;

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

static const json_t *jget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (v == NULL)
		abort();
	return v;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(jget(o, k));
	if (s == NULL)
		abort();
	return s;
}

/* The bytes of a hex string, malloc'ed (at least one byte, so an empty string still gives a pointer). */
static uint8_t *from_hex(const char *h, size_t *n)
{
	uint8_t *p;

	*n = strlen(h) / 2;
	if ((p = malloc(*n + 1)) == NULL)
		abort();
	hex2(h, p, *n);
	return p;
}

static int same_hex(const uint8_t *p, size_t n, const char *want)
{
	size_t wn;
	uint8_t *w = from_hex(want, &wn);
	int same = wn == n && memcmp(p, w, n) == 0;

	free(w);
	return same;
}

static void test_ids(void)
{
	const json_t *t = jget(v_root, "thread_ids"), *m = jget(v_root, "message_ids");
	const json_t *v;
	size_t i;

	CHECK(json_array_size(jget(t, "invalid")) >= 10);
	json_array_foreach(jget(t, "valid"), i, v)
	{
		CHECK(thread_id_valid(json_string_value(v)));
		CHECK(!thread_message_id_valid(json_string_value(v)));
	}
	json_array_foreach(jget(t, "invalid"), i, v)
	{
		CHECK(!thread_id_valid(json_string_value(v)));
		if (thread_id_valid(json_string_value(v)))
			fprintf(stderr, "  accepted thread id \"%s\"\n", json_string_value(v));
	}
	json_array_foreach(jget(m, "valid"), i, v)
	{
		CHECK(thread_message_id_valid(json_string_value(v)));
		CHECK(!thread_id_valid(json_string_value(v)));
	}
	json_array_foreach(jget(m, "invalid"), i, v)
	{
		CHECK(!thread_message_id_valid(json_string_value(v)));
		if (thread_message_id_valid(json_string_value(v)))
			fprintf(stderr, "  accepted message id \"%s\"\n", json_string_value(v));
	}
	CHECK(!thread_id_valid(NULL) && !thread_message_id_valid(NULL));
	/* Every last character: only those whose two low bits are zero end an id. */
	{
		static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
		char id[THREAD_ID_LEN + 1] = "T-AAAAAAAAAAAAAAAAAAAAAAAAAA";
		int n = 0;

		for (size_t k = 0; k < 32; k++) {
			id[THREAD_ID_LEN - 1] = b32[k];
			CHECK_EQ_INT(thread_id_valid(id), (k & 3) == 0);
			n += thread_id_valid(id);
		}
		CHECK_EQ_INT(n, 8);
	}
}

static enum thread_msg_kind msg_kind(const char *s)
{
	for (int k = THREAD_MSG_NONE + 1; k < THREAD_MSG_COUNT_; k++)
		if (strcmp(thread_msg_kind_name((enum thread_msg_kind)k), s) == 0)
			return (enum thread_msg_kind)k;
	return THREAD_MSG_NONE;
}

static void test_routing(void)
{
	const json_t *valid = jget(v_root, "routing"), *bad = jget(v_root, "invalid_routing"), *c;
	static const struct thread_routing zero;
	struct thread_routing r;
	struct proto_buf b;
	size_t i, n;
	uint8_t *p;

	CHECK(json_array_size(valid) >= 3 && json_array_size(bad) >= 20);
	json_array_foreach(valid, i, c)
	{
		enum thread_msg_kind k = msg_kind(jstr(c, "kind"));

		CHECK(k != THREAD_MSG_NONE);
		proto_buf_init(&b);
		CHECK_EQ_INT(thread_routing_encode(jstr(c, "thread"), (uint64_t)json_integer_value(jget(c, "version")),
		                                   k, &b),
		             VARSKO_OK);
		CHECK(same_hex(b.p, b.len, jstr(c, "hex")));
		proto_buf_free(&b);
		p = from_hex(jstr(c, "hex"), &n);
		CHECK_EQ_INT(thread_routing_decode(p, n, &r), VARSKO_OK);
		CHECK_EQ_STR(r.thread, jstr(c, "thread"));
		CHECK_EQ_INT(r.version, json_integer_value(jget(c, "version")));
		CHECK_EQ_INT(r.kind, k);
		/* Every shorter prefix is refused. */
		for (size_t cut = 0; cut < n; cut++)
			CHECK_EQ_INT(thread_routing_decode(p, cut, &r), VARSKO_ERR_BAD_INPUT);
		free(p);
	}
	json_array_foreach(bad, i, c)
	{
		int want = varsko_err_from_name(jstr(c, "error")), got;

		p = from_hex(jstr(c, "hex"), &n);
		memset(&r, 0xa5, sizeof(r));
		got = thread_routing_decode(p, n, &r);
		CHECK_EQ_INT(got, want);
		if (got != want)
			fprintf(stderr, "  case %s: %s\n", jstr(c, "name"), varsko_err_name(got));
		CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
		free(p);
	}
	CHECK_EQ_INT(thread_routing_decode(NULL, 0, &r), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(thread_routing_decode((const uint8_t *)"", 0, NULL), VARSKO_ERR_BAD_INPUT);

	/* The encoder refuses what the decoder would, and appends nothing then. */
	{
		const char *t = jstr(json_array_get(valid, 0), "thread");
		struct {
			const char *thread;
			uint64_t version;
			int kind;
		} no[] = {
		        {"T-AAAAAAAAAAAAAAAAAAAAAAAAAB", 1, THREAD_MSG_TEXT},
		        {NULL, 1, THREAD_MSG_TEXT},
		        {t, 0, THREAD_MSG_TEXT},
		        {t, (uint64_t)INT64_MAX + 1, THREAD_MSG_FILE},
		        {t, 1, THREAD_MSG_NONE},
		        {t, 1, THREAD_MSG_COUNT_},
		};

		for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++) {
			proto_buf_init(&b);
			CHECK_EQ_INT(thread_routing_encode(no[k].thread, no[k].version,
			                                   (enum thread_msg_kind)no[k].kind, &b),
			             VARSKO_ERR_BAD_INPUT);
			CHECK(b.len == 0 && b.err == VARSKO_ERR_BAD_INPUT);
			proto_buf_free(&b);
		}
		CHECK_EQ_INT(thread_routing_encode(t, 1, THREAD_MSG_TEXT, NULL), VARSKO_ERR_BAD_INPUT);
	}
	CHECK_EQ_STR(thread_msg_kind_name(THREAD_MSG_UNDERRETNING_REF), "underretning_ref");
	CHECK(thread_msg_kind_name(THREAD_MSG_NONE) == NULL && thread_msg_kind_name(THREAD_MSG_COUNT_) == NULL);
}

/* A read mark from a vector object; a kind the enum does not know becomes a value outside it. */
static void receipt_from(const json_t *c, struct thread_receipt *r)
{
	const char *kind = jstr(c, "kind");

	memset(r, 0, sizeof(*r));
	snprintf(r->thread, sizeof(r->thread), "%s", jstr(c, "thread"));
	r->seq = (uint64_t)json_integer_value(jget(c, "seq"));
	snprintf(r->message, sizeof(r->message), "%s", jstr(c, "message"));
	hex2(jstr(c, "envelope_hash"), r->envelope_hash, THREAD_HASH_LEN);
	r->kind = (enum thread_receipt_kind)99;
	for (int k = THREAD_RECEIPT_NONE + 1; k < THREAD_RECEIPT_COUNT_; k++)
		if (strcmp(thread_receipt_kind_name((enum thread_receipt_kind)k), kind) == 0)
			r->kind = (enum thread_receipt_kind)k;
	snprintf(r->user, sizeof(r->user), "%s", jstr(c, "user"));
	snprintf(r->device, sizeof(r->device), "%s", jstr(c, "device"));
	r->time = (int64_t)json_integer_value(jget(c, "time"));
}

static void test_receipts(void)
{
	const json_t *valid = jget(v_root, "receipts"), *bad = jget(v_root, "invalid_receipts"), *c;
	struct thread_receipt r;
	struct proto_buf b;
	uint8_t seed[32], pk[32], sk[64], sig[64], want[64];
	size_t i;

	CHECK(json_array_size(valid) >= 2 && json_array_size(bad) >= 10);
	json_array_foreach(valid, i, c)
	{
		receipt_from(c, &r);
		CHECK(thread_receipt_valid(&r));
		proto_buf_init(&b);
		CHECK_EQ_INT(thread_receipt_signing_input(&r, &b), VARSKO_OK);
		CHECK(same_hex(b.p, b.len, jstr(c, "signing_input")));
		proto_buf_free(&b);
		hex2(jstr(c, "device_seed"), seed, 32);
		crypto_sign_seed_keypair(pk, sk, seed);
		CHECK(same_hex(pk, 32, jstr(c, "device_pk")));
		CHECK_EQ_INT(thread_receipt_sign(&r, sk, sig), VARSKO_OK);
		hex2(jstr(c, "sig"), want, 64);
		CHECK(memcmp(sig, want, 64) == 0);
		CHECK_EQ_INT(thread_receipt_verify(&r, sig, pk), VARSKO_OK);
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(sk, sizeof(sk));
	}
	json_array_foreach(bad, i, c)
	{
		int input_ok = json_is_true(jget(c, "signing_input_ok"));
		int want_err = varsko_err_from_name(jstr(c, "error")), got;

		receipt_from(c, &r);
		hex2(jstr(c, "device_pk"), pk, 32);
		hex2(jstr(c, "sig"), sig, 64);
		CHECK_EQ_INT(thread_receipt_valid(&r), input_ok);
		proto_buf_init(&b);
		CHECK_EQ_INT(thread_receipt_signing_input(&r, &b), input_ok ? VARSKO_OK : VARSKO_ERR_BAD_INPUT);
		proto_buf_free(&b);
		got = thread_receipt_verify(&r, sig, pk);
		CHECK_EQ_INT(got, want_err);
		if (got != want_err)
			fprintf(stderr, "  case %s: %s\n", jstr(c, "name"), varsko_err_name(got));
	}
}

/* What the signer refuses, and the bounds JSON cannot carry. */
static void test_receipt_by_hand(void)
{
	const json_t *c = json_array_get(jget(v_root, "receipts"), 0);
	struct thread_receipt r, m;
	uint8_t seed[32], pk[32], sk[64], sig[64], other_pk[32], other_sk[64];
	static const uint8_t zero[64];

	receipt_from(c, &r);
	hex2(jstr(c, "device_seed"), seed, 32);
	crypto_sign_seed_keypair(pk, sk, seed);
	seed[0] ^= 1;
	crypto_sign_seed_keypair(other_pk, other_sk, seed);

	/* A key whose device id is not the receipt's: nothing is signed. */
	memset(sig, 0xa5, sizeof(sig));
	CHECK_EQ_INT(thread_receipt_sign(&r, other_sk, sig), VARSKO_ERR_BAD_INPUT);
	CHECK(memcmp(sig, zero, 64) == 0);
	/* One field at a time out of range. */
	for (int k = 0; k < 9; k++) {
		memcpy(&m, &r, sizeof(m));
		switch (k) {
		case 0:
			m.seq = (uint64_t)INT64_MAX + 1;
			break;
		case 1:
			m.seq = 0;
			break;
		case 2:
			m.kind = THREAD_RECEIPT_NONE;
			break;
		case 3:
			m.time = 253402300800LL;
			break;
		case 4:
			memset(m.user, 'u', sizeof(m.user)); /* no NUL inside */
			break;
		case 5:
			m.device[0] = '\0';
			break;
		case 6:
			m.message[2] = 'a';
			break;
		case 7:
			m.thread[0] = 'M';
			break;
		case 8:
			m.kind = THREAD_RECEIPT_COUNT_;
			break;
		}
		CHECK(!thread_receipt_valid(&m));
		memset(sig, 0xa5, sizeof(sig));
		CHECK_EQ_INT(thread_receipt_sign(&m, sk, sig), VARSKO_ERR_BAD_INPUT);
		CHECK(memcmp(sig, zero, 64) == 0);
	}
	/* A signature is over every field: each change breaks it. */
	CHECK_EQ_INT(thread_receipt_sign(&r, sk, sig), VARSKO_OK);
	CHECK_EQ_INT(thread_receipt_verify(&r, sig, pk), VARSKO_OK);
	memcpy(&m, &r, sizeof(m));
	m.envelope_hash[31] ^= 1;
	CHECK_EQ_INT(thread_receipt_verify(&m, sig, pk), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(&m, &r, sizeof(m));
	m.time++;
	CHECK_EQ_INT(thread_receipt_verify(&m, sig, pk), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(&m, &r, sizeof(m));
	m.kind = m.kind == THREAD_RECEIPT_LAEST ? THREAD_RECEIPT_LEVERET : THREAD_RECEIPT_LAEST;
	CHECK_EQ_INT(thread_receipt_verify(&m, sig, pk), VARSKO_ERR_BAD_SIGNATURE);
	memcpy(&m, &r, sizeof(m));
	snprintf(m.user, sizeof(m.user), "u-3003");
	CHECK_EQ_INT(thread_receipt_verify(&m, sig, pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(thread_receipt_verify(&r, sig, other_pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(thread_receipt_verify(NULL, sig, pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(thread_receipt_verify(&r, NULL, pk), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(thread_receipt_verify(&r, sig, NULL), VARSKO_ERR_BAD_SIGNATURE);
	CHECK_EQ_INT(thread_receipt_sign(&r, NULL, sig), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(thread_receipt_sign(&r, sk, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK(!thread_receipt_valid(NULL));
	CHECK_EQ_STR(thread_receipt_kind_name(THREAD_RECEIPT_LAEST), "laest");
	CHECK(thread_receipt_kind_name(THREAD_RECEIPT_COUNT_) == NULL);

	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(other_sk, sizeof(other_sk));
}

/* A MARK (PROTOCOL.md 17.2) in JSON: each vector's fields and signature, written, read back and verified. */
static void test_mark_json(void)
{
	const json_t *valid = jget(v_root, "receipts"), *c;
	struct thread_mark m, back;
	uint8_t pk[32];
	json_t *o = NULL, *o2;
	char *text;
	size_t i;

	json_array_foreach(valid, i, c)
	{
		memset(&m, 0, sizeof(m));
		receipt_from(c, &m.r);
		hex2(jstr(c, "sig"), m.sig, 64);
		hex2(jstr(c, "device_pk"), pk, 32);
		CHECK_EQ_INT(thread_mark_to_json(&m, &o), VARSKO_OK);
		CHECK_EQ_INT(thread_mark_from_json(o, &back), VARSKO_OK);
		CHECK(memcmp(&m, &back, sizeof(m)) == 0);
		CHECK_EQ_INT(thread_receipt_verify(&back.r, back.sig, pk), VARSKO_OK);
		/* The members, as 17.2 names them. */
		CHECK_EQ_INT(json_object_size(o), 9);
		CHECK_EQ_STR(json_string_value(json_object_get(o, "kind")), jstr(c, "kind"));
		CHECK_EQ_STR(json_string_value(json_object_get(o, "thread")), jstr(c, "thread"));
		CHECK_EQ_INT(json_integer_value(json_object_get(o, "seq")), json_integer_value(jget(c, "seq")));
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(text != NULL && strstr(text, "\"time\":\"") != NULL);
		free(text);
		/* One member at a time wrong: refused, nothing left behind. */
		for (int k = 0; k < 8; k++) {
			o2 = json_deep_copy(o);
			switch (k) {
			case 0:
				json_object_set_new(o2, "extra", json_true());
				break;
			case 1:
				json_object_del(o2, "sig");
				break;
			case 2:
				json_object_set_new(o2, "kind", json_string("read"));
				break;
			case 3:
				json_object_set_new(o2, "seq", json_integer(0));
				break;
			case 4:
				json_object_set_new(o2, "message", json_string("M-AAAAAAAAAAAAAAAAAAAAAAAAAB"));
				break;
			case 5:
				json_object_set_new(o2, "thread", json_object_get(o, "message"));
				json_incref(json_object_get(o, "message"));
				break;
			case 6:
				json_object_set_new(o2, "envelope_hash", json_string("AAAA"));
				break;
			case 7:
				json_object_set_new(o2, "time", json_string("2026-11-24 09:00:00"));
				break;
			}
			memset(&back, 0xa5, sizeof(back));
			CHECK_EQ_INT(thread_mark_from_json(o2, &back), VARSKO_ERR_BAD_FRAME);
			memset(&m, 0, sizeof(m));
			CHECK(memcmp(&m, &back, sizeof(m)) == 0);
			json_decref(o2);
		}
		json_decref(o);
		o = NULL;
	}
	/* A mark that is not valid is not written. */
	memset(&m, 0, sizeof(m));
	CHECK_EQ_INT(thread_mark_to_json(&m, &o), VARSKO_ERR_BAD_INPUT);
	CHECK(o == NULL);
	CHECK_EQ_INT(thread_mark_from_json(NULL, &back), VARSKO_ERR_BAD_FRAME);
}

int main(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;

	if (sodium_init() < 0)
		return 99;
	snprintf(path, sizeof(path), "%s/thread.json", dir ? dir : "proto/vectors");
	v_root = json_load_file(path, 0, &jerr);
	CHECK(v_root != NULL);
	if (v_root == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return check_result();
	}
	test_ids();
	test_routing();
	test_receipts();
	test_receipt_by_hand();
	test_mark_json();
	json_decref(v_root);
	return check_result();
}
