/*
 * test-codec.c: frame decoding and encoding (proto/codec.c): round trips of
 * every type, every limit at its edge, id echo on failure, encoder refusals
 * and error frames. The fixed valid/invalid corpus is in test-vectors.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"

static uint8_t org_pk[32], org_sk[64];

static void make_cert(struct proto_cert *c, const char *user)
{
	uint8_t sk[64];

	memset(c, 0, sizeof(*c));
	c->version = 1;
	c->serial = 9;
	snprintf(c->user, sizeof(c->user), "%s", user);
	strcpy(c->name, "Ærø Østergaard");
	strcpy(c->role, "fagperson");
	c->n_institutions = 1;
	strcpy(c->institutions[0], "inst-1");
	crypto_sign_keypair(c->sign_pk, sk);
	randombytes_buf(c->box_pk, 32);
	c->not_before = 1767225600;
	c->not_after = 1798761600;
	sodium_memzero(sk, sizeof(sk));
	CHECK_EQ_INT(proto_cert_sign(c, org_sk), VARSKO_OK);
}

/* encode, decode, compare structs, encode again, compare text. */
static void roundtrip(const struct proto_frame *f)
{
	struct proto_frame g;
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	const char *detail = NULL;

	CHECK_EQ_INT(proto_frame_encode(f, &a, &la), VARSKO_OK);
	if (a == NULL)
		return;
	CHECK_EQ_INT(la, strlen(a));
	CHECK_EQ_INT(proto_frame_decode(a, la, &g, &detail), VARSKO_OK);
	CHECK(memcmp(f, &g, sizeof(g)) == 0);
	CHECK_EQ_INT(proto_frame_encode(&g, &b, &lb), VARSKO_OK);
	CHECK_EQ_STR(b, a);
	free(a);
	free(b);
}

static struct proto_frame *new_frame(enum proto_type t, const char *id)
{
	struct proto_frame *f = calloc(1, sizeof(*f));

	if (f == NULL)
		exit(1);
	f->type = t;
	if (id != NULL)
		snprintf(f->id, sizeof(f->id), "%s", id);
	return f;
}

static void test_roundtrip_all(void)
{
	struct proto_frame *f;

	f = new_frame(PROTO_T_HELLO, NULL);
	f->u.hello.version = 1;
	randombytes_buf(f->u.hello.nonce, 32);
	f->u.hello.time = 1795426200;
	randombytes_buf(f->u.hello.org_pk, 32);
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_ENROLL_CONFIRM, "c-1");
	strcpy(f->u.confirm.device, "d-0011223344556677");
	strcpy(f->u.confirm.origin, "wss://localhost:8443");
	randombytes_buf(f->u.confirm.sig, 64);
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_ENROLL, "r-1");
	strcpy(f->u.enroll.code, "K7QF-M2XD-9P4T");
	strcpy(f->u.enroll.origin, "wss://localhost:8443");
	randombytes_buf(f->u.enroll.sign_pk, 32);
	randombytes_buf(f->u.enroll.box_pk, 32);
	randombytes_buf(f->u.enroll.sig, 64);
	roundtrip(f); /* without label */
	strcpy(f->u.enroll.label, "Bærbar");
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_ENROLLED, "r-1");
	make_cert(&f->u.enrolled.cert, "u-1");
	memcpy(f->u.enrolled.org_pk, org_pk, 32);
	make_cert(&f->u.enrolled.gateway_cert, "gateway");
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_LOGIN, "1");
	strcpy(f->u.login.device, "d-0123456789abcdef");
	strcpy(f->u.login.origin, "wss://[::1]:8443");
	f->u.login.time = 0;
	randombytes_buf(f->u.login.sig, 64);
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_SESSION, "x");
	make_cert(&f->u.session.cert, "u-2");
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_WHOAMI, "w");
	roundtrip(f);
	free(f);
	f = new_frame(PROTO_T_PING, NULL);
	roundtrip(f);
	free(f);
	f = new_frame(PROTO_T_PONG, "p");
	roundtrip(f);
	free(f);

	f = new_frame(PROTO_T_ERROR, "e");
	strcpy(f->u.error.code, "bad_frame");
	strcpy(f->u.error.message, "");
	roundtrip(f);
	free(f);
}

static void test_types(void)
{
	static const char *names[] = {NULL,     "hello", "enroll", "enrolled", "login",          "session",
	                              "whoami", "ping",  "pong",   "error",    "enroll_confirm", "confirmed"};

	CHECK_EQ_INT((int)(sizeof names / sizeof names[0]), PROTO_T_COUNT_);

	for (int t = 0; t < PROTO_T_COUNT_; t++) {
		if (names[t] == NULL)
			CHECK(proto_type_name((enum proto_type)t) == NULL);
		else
			CHECK_EQ_STR(proto_type_name((enum proto_type)t), names[t]);
	}
	CHECK(proto_type_name(PROTO_T_COUNT_) == NULL);
	CHECK(proto_type_name((enum proto_type) - 1) == NULL);
}

/* fmt with its one "@@" replaced by s (malloc'd). */
static char *subst(const char *fmt, const char *s)
{
	const char *at = strstr(fmt, "@@");
	size_t n = strlen(fmt) + strlen(s) + 1;
	char *buf = malloc(n);

	if (at == NULL || buf == NULL)
		exit(1);
	memcpy(buf, fmt, (size_t)(at - fmt));
	strcpy(buf + (at - fmt), s);
	strcat(buf, at + 2);
	return buf;
}

/* Decode fmt with a string field of n copies of c at the place of "@@". */
static int decode_fmt(const char *fmt, size_t n, char c, struct proto_frame *f)
{
	char *s = malloc(n + 1), *buf;
	int r;

	if (s == NULL)
		exit(1);
	memset(s, c, n);
	s[n] = '\0';
	buf = subst(fmt, s);
	r = proto_frame_decode(buf, strlen(buf), f, NULL);
	free(s);
	free(buf);
	return r;
}

static void test_limits(void)
{
	struct proto_frame f;
	static const char sig[] =
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
	char fmt[512];
	struct {
		const char *fmt;
		size_t max;
		size_t min;
	} cases[] = {
	        {"{\"type\":\"ping\",\"id\":\"@@\"}", PROTO_ID_MAX, 1},
	        {"{\"type\":\"error\",\"code\":\"x\",\"message\":\"@@\"}", PROTO_MSG_MAX, 0},
	        {"{\"type\":\"error\",\"code\":\"@@\",\"message\":\"\"}", PROTO_ID_MAX, 1},
	        {NULL, PROTO_ID_MAX, 1},     /* login device */
	        {NULL, PROTO_ORIGIN_MAX, 1}, /* login origin */
	};

	snprintf(fmt, sizeof(fmt),
	         "{\"type\":\"login\",\"device\":\"@@\",\"origin\":\"o\",\"time\":\"2026-01-01T00:00:00Z\",\"sig\":\"%"
	         "s\"}",
	         sig);
	cases[3].fmt = strdup(fmt);
	snprintf(fmt, sizeof(fmt),
	         "{\"type\":\"login\",\"device\":\"d\",\"origin\":\"@@\",\"time\":\"2026-01-01T00:00:00Z\",\"sig\":\"%"
	         "s\"}",
	         sig);
	cases[4].fmt = strdup(fmt);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].fmt == NULL)
			exit(1);
		CHECK_EQ_INT(decode_fmt(cases[i].fmt, cases[i].max, 'a', &f), VARSKO_OK);
		CHECK_EQ_INT(decode_fmt(cases[i].fmt, cases[i].max + 1, 'a', &f), VARSKO_ERR_BAD_FRAME);
		if (cases[i].min > 0)
			CHECK_EQ_INT(decode_fmt(cases[i].fmt, 0, 'a', &f), VARSKO_ERR_BAD_FRAME);
	}
	free((char *)(uintptr_t)cases[3].fmt);
	free((char *)(uintptr_t)cases[4].fmt);

	/* Enroll code and label limits count bytes, not characters. */
	snprintf(fmt, sizeof(fmt),
	         "{\"type\":\"enroll\",\"code\":\"@@\",\"origin\":\"o\",\"sign_pk\":\"%.44s\",\"box_pk\":\"%.44s\","
	         "\"sig\":\"%s\"}",
	         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", sig);
	CHECK_EQ_INT(decode_fmt(fmt, PROTO_CODE_MAX, 'c', &f), VARSKO_OK);
	CHECK_EQ_INT(decode_fmt(fmt, PROTO_CODE_MAX + 1, 'c', &f), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(decode_fmt(fmt, 0, 'c', &f), VARSKO_ERR_BAD_FRAME);
	{
		/* 16 two-byte characters = 32 bytes: fine; 17 = 34 bytes: too long. */
		char code[64] = "", *frame;

		for (int k = 0; k < 16; k++)
			strcat(code, "\xc3\xa6");
		frame = subst(fmt, code);
		CHECK_EQ_INT(proto_frame_decode(frame, strlen(frame), &f, NULL), VARSKO_OK);
		free(frame);
		strcat(code, "\xc3\xa6");
		frame = subst(fmt, code);
		CHECK_EQ_INT(proto_frame_decode(frame, strlen(frame), &f, NULL), VARSKO_ERR_BAD_FRAME);
		free(frame);
	}

	/* Size cap: PROTO_FRAME_MAX bytes are parsed, one more is refused unparsed. */
	{
		char *big = malloc(PROTO_FRAME_MAX + 1);
		const char *detail = NULL;

		if (big == NULL)
			exit(1);
		memset(big, ' ', PROTO_FRAME_MAX + 1);
		memcpy(big, "{\"type\":\"ping\"}", 15);
		CHECK_EQ_INT(proto_frame_decode(big, PROTO_FRAME_MAX, &f, NULL), VARSKO_OK);
		CHECK_EQ_INT(proto_frame_decode(big, PROTO_FRAME_MAX + 1, &f, &detail), VARSKO_ERR_TOO_LARGE);
		CHECK(detail != NULL && detail[0] != '\0');
		free(big);
	}
}

static void test_decode_misc(void)
{
	struct proto_frame f;
	const char *detail = NULL;
	static const char nonterm[] = "{\"type\":\"pong\",\"id\":\"q\"}GARBAGE";

	/* The length, not a NUL, ends the input. */
	CHECK_EQ_INT(proto_frame_decode(nonterm, 24, &f, &detail), VARSKO_OK);
	CHECK_EQ_INT(f.type, PROTO_T_PONG);
	CHECK_EQ_STR(f.id, "q");
	CHECK_EQ_STR(detail, "");
	CHECK_EQ_INT(proto_frame_decode(nonterm, sizeof(nonterm) - 1, &f, NULL), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(proto_frame_decode(NULL, 0, &f, NULL), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(proto_frame_decode(nonterm, 24, NULL, NULL), VARSKO_ERR_BAD_INPUT);

	/* The request id is echoed even when the frame is refused... */
	CHECK_EQ_INT(proto_frame_decode("{\"id\":\"abc\",\"type\":\"ping\",\"x\":1}",
	                                sizeof("{\"id\":\"abc\",\"type\":\"ping\",\"x\":1}") - 1, &f, &detail),
	             VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_STR(f.id, "abc");
	CHECK_EQ_INT(f.type, PROTO_T_NONE);
	CHECK_EQ_INT(proto_frame_decode("{\"id\":\"r9\",\"type\":\"submit\"}",
	                                sizeof("{\"id\":\"r9\",\"type\":\"submit\"}") - 1, &f, &detail),
	             VARSKO_ERR_UNKNOWN_TYPE);
	CHECK_EQ_STR(f.id, "r9");
	CHECK_EQ_INT(proto_frame_decode("{\"id\":\"r9\"}", sizeof("{\"id\":\"r9\"}") - 1, &f, &detail),
	             VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_STR(f.id, "r9");
	/* ...but never an invalid one, and not from unparsable text. */
	CHECK_EQ_INT(proto_frame_decode("{\"id\":\"a b\",\"type\":\"ping\"}",
	                                sizeof("{\"id\":\"a b\",\"type\":\"ping\"}") - 1, &f, &detail),
	             VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_STR(f.id, "");
	CHECK_EQ_INT(proto_frame_decode("{\"id\":\"abc\",\"type\":\"ping\"",
	                                sizeof("{\"id\":\"abc\",\"type\":\"ping\"") - 1, &f, &detail),
	             VARSKO_ERR_BAD_JSON);
	CHECK_EQ_STR(f.id, "");

	/* detail never repeats input bytes. */
	CHECK_EQ_INT(proto_frame_decode("{\"type\":\"ping\",\"SECRET\":1}",
	                                sizeof("{\"type\":\"ping\",\"SECRET\":1}") - 1, &f, &detail),
	             VARSKO_ERR_BAD_FRAME);
	CHECK(detail != NULL && strstr(detail, "SECRET") == NULL && detail[0] != '\0');
	CHECK_EQ_INT(proto_frame_decode("{\"type\":\"SECRET\"}", sizeof("{\"type\":\"SECRET\"}") - 1, &f, &detail),
	             VARSKO_ERR_UNKNOWN_TYPE);
	CHECK(strstr(detail, "SECRET") == NULL);

	/* Whitespace around the object is allowed; a BOM is not. */
	CHECK_EQ_INT(proto_frame_decode(" \r\n\t{\"type\":\"ping\"} \n", sizeof(" \r\n\t{\"type\":\"ping\"} \n") - 1,
	                                &f, NULL),
	             VARSKO_OK);
	CHECK_EQ_INT(proto_frame_decode("\xef\xbb\xbf{\"type\":\"ping\"}",
	                                sizeof("\xef\xbb\xbf{\"type\":\"ping\"}") - 1, &f, NULL),
	             VARSKO_ERR_BAD_JSON);
	/* Upper-case hex in an escape and an escaped slash decode. */
	CHECK_EQ_INT(proto_frame_decode("{\"type\":\"ping\",\"id\":\"\\u002F\"}",
	                                sizeof("{\"type\":\"ping\",\"id\":\"\\u002F\"}") - 1, &f, NULL),
	             VARSKO_OK);
	CHECK_EQ_STR(f.id, "/");
	/* Surrogate pairs are fine in text, lone surrogates are malformed JSON. */
	CHECK_EQ_INT(
	        proto_frame_decode("{\"type\":\"error\",\"code\":\"c\",\"message\":\"\\ud83d\\ude00\"}",
	                           sizeof("{\"type\":\"error\",\"code\":\"c\",\"message\":\"\\ud83d\\ude00\"}") - 1, &f,
	                           NULL),
	        VARSKO_OK);
	CHECK_EQ_STR(f.u.error.message, "\xf0\x9f\x98\x80");
	CHECK_EQ_INT(proto_frame_decode("{\"type\":\"error\",\"code\":\"c\",\"message\":\"\\ud83d\"}",
	                                sizeof("{\"type\":\"error\",\"code\":\"c\",\"message\":\"\\ud83d\"}") - 1, &f,
	                                NULL),
	             VARSKO_ERR_BAD_JSON);
}

static void test_encode_refusals(void)
{
	struct proto_frame *f = new_frame(PROTO_T_PING, NULL);
	char *out = (char *)1;
	size_t len = 99;

#define REFUSE(stmt)                                                                                                   \
	do {                                                                                                           \
		stmt;                                                                                                  \
		out = (char *)1;                                                                                       \
		CHECK_EQ_INT(proto_frame_encode(f, &out, &len), VARSKO_ERR_BAD_FRAME);                                 \
		CHECK(out == NULL);                                                                                    \
		CHECK_EQ_INT(len, 0);                                                                                  \
		memset(f, 0, sizeof(*f));                                                                              \
	} while (0)

	REFUSE(f->type = PROTO_T_NONE);
	REFUSE(f->type = PROTO_T_COUNT_);
	REFUSE(f->type = PROTO_T_PING; strcpy(f->id, "a b"));
	REFUSE(f->type = PROTO_T_PING; memset(f->id, 'a', sizeof(f->id)));
	REFUSE(f->type = PROTO_T_HELLO; f->u.hello.version = 1; f->u.hello.time = 5; strcpy(f->id, "x"));
	REFUSE(f->type = PROTO_T_HELLO; f->u.hello.version = 2; f->u.hello.time = 5);
	REFUSE(f->type = PROTO_T_HELLO; f->u.hello.version = 1; f->u.hello.time = -1);
	REFUSE(f->type = PROTO_T_HELLO; f->u.hello.version = 1; f->u.hello.time = 253402300800LL);
	REFUSE(f->type = PROTO_T_LOGIN; strcpy(f->u.login.device, "d"); strcpy(f->u.login.origin, ""));
	REFUSE(f->type = PROTO_T_ENROLL_CONFIRM; strcpy(f->u.confirm.device, ""); strcpy(f->u.confirm.origin, "o"));
	REFUSE(f->type = PROTO_T_ENROLL; strcpy(f->u.enroll.code, "c"); strcpy(f->u.enroll.origin, "o");
	       strcpy(f->u.enroll.label, "tab\there"));
	REFUSE(f->type = PROTO_T_ENROLL; memset(f->u.enroll.code, 'c', sizeof(f->u.enroll.code));
	       strcpy(f->u.enroll.origin, "o"));
	REFUSE(f->type = PROTO_T_ENROLL; strcpy(f->u.enroll.code, "c"); strcpy(f->u.enroll.origin, "o");
	       strcpy(f->u.enroll.label, "\xc3"));
	REFUSE(f->type = PROTO_T_ERROR; strcpy(f->u.error.code, ""));
	REFUSE(f->type = PROTO_T_SESSION); /* a zeroed certificate is not encodable */
	REFUSE(f->type = PROTO_T_ENROLLED; make_cert(&f->u.enrolled.cert, "u");
	       make_cert(&f->u.enrolled.gateway_cert, "g"); f->u.enrolled.gateway_cert.n_institutions = 17);
#undef REFUSE
	CHECK_EQ_INT(proto_frame_encode(NULL, &out, &len), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_frame_encode(f, NULL, &len), VARSKO_ERR_BAD_INPUT);
	free(f);
}

static void check_error_frame(const char *text, const char *id, const char *code, const char *message)
{
	struct proto_frame f;

	CHECK_EQ_INT(proto_frame_decode(text, strlen(text), &f, NULL), VARSKO_OK);
	CHECK_EQ_INT(f.type, PROTO_T_ERROR);
	CHECK_EQ_STR(f.id, id);
	CHECK_EQ_STR(f.u.error.code, code);
	CHECK_EQ_STR(f.u.error.message, message);
}

static void test_error_encode(void)
{
	char *out = NULL, msg[400], *expect;
	size_t len;

	CHECK_EQ_INT(proto_error_encode("r1", VARSKO_ERR_BAD_TIME, NULL, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "{\"code\":\"bad_time\",\"id\":\"r1\",\"message\":\"time is malformed or too far from the "
	                  "server clock\",\"type\":\"error\"}");
	CHECK_EQ_INT(len, strlen(out));
	free(out);
	CHECK_EQ_INT(proto_error_encode(NULL, VARSKO_ERR_PROTOCOL, "one attempt per connection", &out, &len),
	             VARSKO_OK);
	check_error_frame(out, "", "protocol", "one attempt per connection");
	free(out);
	CHECK_EQ_INT(proto_error_encode("", -12345, NULL, &out, &len), VARSKO_OK);
	check_error_frame(out, "", "internal", "internal error");
	free(out);
	/* Control characters are never sent: the standard text replaces the message. */
	CHECK_EQ_INT(proto_error_encode("r", VARSKO_ERR_BAD_FRAME, "line\nbreak", &out, &len), VARSKO_OK);
	check_error_frame(out, "r", "bad_frame", varsko_err_text(VARSKO_ERR_BAD_FRAME));
	free(out);
	/* A long message is cut to 256 bytes without splitting a character. */
	msg[0] = 'x';
	for (int i = 0; i < 150; i++)
		memcpy(msg + 1 + 2 * i, "\xc3\xa6", 2);
	msg[301] = '\0';
	expect = strndup(msg, 255);
	CHECK_EQ_INT(proto_error_encode("r", VARSKO_ERR_BAD_INPUT, msg, &out, &len), VARSKO_OK);
	check_error_frame(out, "r", "bad_input", expect);
	free(out);
	free(expect);
	memset(msg, 'm', 300);
	msg[300] = '\0';
	expect = strndup(msg, 256);
	CHECK_EQ_INT(proto_error_encode("r", VARSKO_ERR_BAD_INPUT, msg, &out, &len), VARSKO_OK);
	check_error_frame(out, "r", "bad_input", expect);
	free(out);
	free(expect);
	/* An id that could not be echoed is refused. */
	memset(msg, 'i', 65);
	msg[65] = '\0';
	out = (char *)1;
	CHECK_EQ_INT(proto_error_encode(msg, VARSKO_ERR_BAD_FRAME, NULL, &out, &len), VARSKO_ERR_BAD_FRAME);
	CHECK(out == NULL);
	CHECK_EQ_INT(proto_error_encode("a b", VARSKO_ERR_BAD_FRAME, NULL, &out, &len), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(proto_error_encode("a", VARSKO_ERR_BAD_FRAME, NULL, NULL, &len), VARSKO_ERR_BAD_INPUT);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(org_pk, org_sk);
	test_types();
	test_roundtrip_all();
	test_limits();
	test_decode_misc();
	test_encode_refusals();
	test_error_encode();
	sodium_memzero(org_sk, sizeof(org_sk));
	return check_result();
}
