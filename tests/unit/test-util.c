/*
 * test-util.c: error names, base64, strict time and origins (proto/util.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"

static void test_errors(void)
{
	int n = 0;

	/* Every code round-trips through its wire name, and names are unique. */
#define ROW_(suffix, num, wire, txt)                                                                                   \
	CHECK_EQ_STR(varsko_err_name(num), wire);                                                                      \
	CHECK_EQ_STR(varsko_err_text(num), txt);                                                                       \
	CHECK_EQ_INT(varsko_err_from_name(wire), num);                                                                 \
	CHECK_EQ_INT(VARSKO_##suffix, num);                                                                            \
	n++;
	VARSKO_ERRORS(ROW_)
#undef ROW_
	CHECK(n >= 35);
	CHECK_EQ_STR(varsko_err_name(-9999), "internal");
	CHECK_EQ_STR(varsko_err_name(1), "internal");
	CHECK_EQ_STR(varsko_err_text(-9999), "internal error");
	CHECK_EQ_INT(varsko_err_from_name("no_such_name"), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(varsko_err_from_name(""), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(varsko_err_from_name(NULL), VARSKO_ERR_INTERNAL);
	CHECK_EQ_INT(varsko_err_from_name("BAD_JSON"), VARSKO_ERR_INTERNAL);
	CHECK_EQ_STR(varsko_err_name(VARSKO_ERR_DUPLICATE_KEY), "duplicate_key");
}

static void test_b64(void)
{
	uint8_t in[70], out[70];
	char s[128];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	/* Round trip for every length, against the RFC 4648 length formula. */
	for (size_t n = 0; n <= sizeof(in); n++) {
		CHECK_EQ_INT(proto_b64_encode(in, n, s, sizeof(s)), VARSKO_OK);
		CHECK_EQ_INT(strlen(s), (n + 2) / 3 * 4);
		memset(out, 0, sizeof(out));
		CHECK_EQ_INT(proto_b64_decode_exact(s, out, n), VARSKO_OK);
		CHECK(memcmp(in, out, n) == 0);
		if (n > 0)
			CHECK_EQ_INT(proto_b64_decode_exact(s, out, n - 1), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(proto_b64_decode_exact(s, out, n + 1), VARSKO_ERR_BAD_INPUT);
		{
			size_t len = 99;

			CHECK_EQ_INT(proto_b64_decoded_len(s, &len), VARSKO_OK);
			CHECK_EQ_INT(len, n);
		}
	}
	{
		size_t len = 99;

		CHECK_EQ_INT(proto_b64_decoded_len("Zm8", &len), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(len, 0);
		CHECK_EQ_INT(proto_b64_decoded_len(NULL, &len), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(proto_b64_decoded_len("", &len), VARSKO_OK);
		CHECK_EQ_INT(len, 0);
		/* The length alone: "Zm9=" (not canonical) stands for 2 bytes, and decode_exact then refuses it. */
		CHECK_EQ_INT(proto_b64_decoded_len("Zm9=", &len), VARSKO_OK);
		CHECK_EQ_INT(len, 2);
	}
	/* RFC 4648 section 10. */
	CHECK_EQ_INT(proto_b64_encode((const uint8_t *)"foobar", 6, s, sizeof(s)), VARSKO_OK);
	CHECK_EQ_STR(s, "Zm9vYmFy");
	CHECK_EQ_INT(proto_b64_encode((const uint8_t *)"fo", 2, s, sizeof(s)), VARSKO_OK);
	CHECK_EQ_STR(s, "Zm8=");
	CHECK_EQ_INT(proto_b64_encode((const uint8_t *)"f", 1, s, sizeof(s)), VARSKO_OK);
	CHECK_EQ_STR(s, "Zg==");
	CHECK_EQ_INT(proto_b64_decode_exact("Zm8=", out, 2), VARSKO_OK);
	CHECK(memcmp(out, "fo", 2) == 0);
	/* Output buffer one byte short. */
	CHECK_EQ_INT(proto_b64_encode((const uint8_t *)"foobar", 6, s, 8), VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_STR(s, "");
	CHECK_EQ_INT(proto_b64_encode((const uint8_t *)"foobar", 6, s, 9), VARSKO_OK);
	/* Refused: missing padding, whitespace, URL-safe alphabet, trailing bytes, non-canonical bits. */
	CHECK_EQ_INT(proto_b64_decode_exact("Zm8", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm8= ", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact(" Zm8=", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm\n8=", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm8=Zg==", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm9=", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("Zh==", out, 1), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("-_8=", out, 2), VARSKO_ERR_BAD_INPUT);
	/* Bytes above 0x7f are not digits, even those libsodium would map to some ("\xc6\xb0" reads like "//"). */
	CHECK_EQ_INT(proto_b64_decode_exact("\xc6\xb0" "8=", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("+/8=", out, 2), VARSKO_OK);
	CHECK_EQ_INT(out[0], 0xfb);
	CHECK_EQ_INT(out[1], 0xff);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm8A", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact("", out, 0), VARSKO_OK);
	CHECK_EQ_INT(proto_b64_decode_exact("====", out, 0), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_b64_decode_exact(NULL, out, 2), VARSKO_ERR_BAD_INPUT);
	/* A failed decode leaves nothing half-written. */
	memset(out, 0xee, 2);
	CHECK_EQ_INT(proto_b64_decode_exact("Zm9=", out, 2), VARSKO_ERR_BAD_INPUT);
	CHECK(out[0] == 0 && out[1] == 0);
}

static void test_time_good(const char *s, int64_t want)
{
	int64_t t = -1;
	char back[PROTO_TIME_LEN + 1];

	CHECK_EQ_INT(proto_time_parse(s, &t), VARSKO_OK);
	CHECK_EQ_INT(t, want);
	proto_time_format(want, back);
	CHECK_EQ_STR(back, s);
}

static void test_time(void)
{
	static const char *bad[] = {
	        "",
	        "2026-11-23T09:30:00",
	        "2026-11-23T09:30:00z",
	        "2026-11-23 09:30:00Z",
	        "2026-11-23T09:30:00+00:00",
	        "2026-11-23T09:30:00.000Z",
	        "2026-11-23T9:30:00Z",
	        "2026-1-23T09:30:00Z",
	        "02026-11-23T09:30:00Z",
	        "2026-13-01T00:00:00Z",
	        "2026-00-01T00:00:00Z",
	        "2026-01-00T00:00:00Z",
	        "2026-01-32T00:00:00Z",
	        "2026-04-31T00:00:00Z",
	        "2026-02-29T00:00:00Z",
	        "1900-02-29T00:00:00Z",
	        "2100-02-29T00:00:00Z",
	        "2026-11-23T24:00:00Z",
	        "2026-11-23T23:60:00Z",
	        "2026-11-23T23:59:60Z",
	        "1969-12-31T23:59:59Z",
	        "0000-01-01T00:00:00Z",
	        "2026-11-23T09:30:00Z ",
	        " 2026-11-23T09:30:00Z",
	        "2026-11-23T09:3a:00Z",
	        "2026-11-23T-9:30:00Z",
	        "2026/11/23T09:30:00Z",
	        "2026-11-23T09:30:0\x00Z",
	};
	int64_t t = 42;
	char s[64];

	test_time_good("1970-01-01T00:00:00Z", 0);
	test_time_good("1970-01-01T00:00:01Z", 1);
	test_time_good("2000-02-29T12:00:00Z", 951825600);
	test_time_good("2024-02-29T23:59:59Z", 1709251199);
	test_time_good("2026-11-23T09:30:00Z", 1795426200);
	test_time_good("2038-01-19T03:14:08Z", 2147483648LL);
	test_time_good("9999-12-31T23:59:59Z", 253402300799LL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (proto_time_parse(bad[i], &t) != VARSKO_ERR_BAD_TIME)
			fprintf(stderr, "accepted bad time #%zu\n", i);
		CHECK_EQ_INT(proto_time_parse(bad[i], &t), VARSKO_ERR_BAD_TIME);
	}
	CHECK_EQ_INT(t, 42); /* untouched on failure */
	CHECK_EQ_INT(proto_time_parse(NULL, &t), VARSKO_ERR_BAD_TIME);
	/* Out-of-range values clamp to a string that still parses. */
	proto_time_format(-1, s);
	CHECK_EQ_STR(s, "1970-01-01T00:00:00Z");
	proto_time_format(INT64_MAX, s);
	CHECK_EQ_STR(s, "9999-12-31T23:59:59Z");
	/* Against the C library (UTC, no TZ involved in gmtime_r) for many instants. */
	for (int64_t v = 0; v < 253402300799LL; v += 86399LL * 37 + 12345) {
		struct tm tm;
		time_t tt = (time_t)v;
		char want[32];

		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		proto_time_format(v, s);
		CHECK_EQ_STR(s, want);
		CHECK_EQ_INT(proto_time_parse(want, &t), VARSKO_OK);
		CHECK_EQ_INT(t, v);
	}
	/* Every day of a leap and a common year parses; the day after the last does not. */
	for (int y = 2023; y <= 2024; y++) {
		static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

		for (int m = 1; m <= 12; m++) {
			int last = dm[m - 1] + (m == 2 && y == 2024);

			snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00Z", y, m, last);
			CHECK_EQ_INT(proto_time_parse(s, &t), VARSKO_OK);
			snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00Z", y, m, last + 1);
			CHECK_EQ_INT(proto_time_parse(s, &t), VARSKO_ERR_BAD_TIME);
		}
	}
}

static void origin_ok(const char *url, const char *want)
{
	char o[PROTO_ORIGIN_MAX + 1];

	CHECK_EQ_INT(proto_origin_from_url(url, o), VARSKO_OK);
	CHECK_EQ_STR(o, want);
}

static void origin_bad(const char *url)
{
	char o[PROTO_ORIGIN_MAX + 1];

	memset(o, 'x', sizeof(o));
	if (proto_origin_from_url(url, o) != VARSKO_ERR_BAD_INPUT)
		fprintf(stderr, "accepted bad url %s\n", url ? url : "(null)");
	CHECK_EQ_INT(proto_origin_from_url(url, o), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(o, "");
}

static void test_origin(void)
{
	char longhost[300];

	origin_ok("wss://localhost:8443", "wss://localhost:8443");
	origin_ok("wss://localhost:8443/", "wss://localhost:8443");
	origin_ok("wss://Varsko.Slagelse.DK/ws?x=1", "wss://varsko.slagelse.dk:443");
	origin_ok("WSS://host", "wss://host:443");
	origin_ok("wss://127.0.0.1:1", "wss://127.0.0.1:1");
	origin_ok("wss://[::1]:8443/", "wss://[::1]:8443");
	origin_ok("wss://[FE80::1]", "wss://[fe80::1]:443");
	origin_ok("wss://h:00443", "wss://h:443");
	origin_ok("wss://h:65535#frag", "wss://h:65535");
	origin_bad(NULL);
	origin_bad("");
	origin_bad("ws://localhost:8443");
	origin_bad("https://localhost");
	origin_bad("wss:/localhost");
	origin_bad("wss://");
	origin_bad("wss://:8443");
	origin_bad("wss://localhost:");
	origin_bad("wss://localhost:0");
	origin_bad("wss://localhost:65536");
	origin_bad("wss://localhost:123456");
	origin_bad("wss://localhost:-1");
	origin_bad("wss://localhost:84a3");
	origin_bad("wss://user@localhost");
	origin_bad("wss://user:pw@localhost:8443");
	origin_bad("wss://local host");
	origin_bad("wss://[::1");
	origin_bad("wss://[]:1");
	origin_bad("wss://[::1]x");
	origin_bad("wss://h\xc3\xa6st");
	memcpy(longhost, "wss://", 6);
	memset(longhost + 6, 'a', 244);
	strcpy(longhost + 250, ":1");
	origin_ok(longhost, longhost); /* 252 bytes */
	memset(longhost + 6, 'a', 250);
	strcpy(longhost + 256, ":1");
	origin_bad(longhost);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_errors();
	test_b64();
	test_time();
	test_origin();
	return check_result();
}
