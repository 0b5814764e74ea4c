/* test-utf8.c: proto/utf8.c, the one strict UTF-8 validator. */
#include <string.h>

#include "check.h"
#include "utf8.h"

#define V(s, flags) proto_utf8_valid((s), sizeof(s) - 1, (flags))

int main(void)
{
	uint32_t cp = 0;

	CHECK(proto_utf8_valid(NULL, 0, 0));
	CHECK(!proto_utf8_valid(NULL, 1, 0));
	CHECK(V("", 0));
	CHECK(V("plain ascii", PROTO_UTF8_NO_CTRL));
	CHECK(V("\xc3\xa6\xc3\xb8\xc3\xa5 \xe2\x82\xac \xf0\x9f\x98\x80", PROTO_UTF8_NO_CTRL));
	/* Boundaries of each length. */
	CHECK(V("\xc2\x80", 0));
	CHECK(V("\xdf\xbf", 0));
	CHECK(V("\xe0\xa0\x80", 0));
	CHECK(V("\xef\xbf\xbf", 0));
	CHECK(V("\xf0\x90\x80\x80", 0));
	CHECK(V("\xf4\x8f\xbf\xbf", 0)); /* U+10FFFF */
	/* Overlong forms. */
	CHECK(!V("\xc0\xaf", 0));
	CHECK(!V("\xc1\xbf", 0));
	CHECK(!V("\xe0\x80\xaf", 0));
	CHECK(!V("\xe0\x9f\xbf", 0));
	CHECK(!V("\xf0\x80\x80\xaf", 0));
	CHECK(!V("\xf0\x8f\xbf\xbf", 0));
	/* Surrogates. */
	CHECK(!V("\xed\xa0\x80", 0));
	CHECK(!V("\xed\xbf\xbf", 0));
	CHECK(V("\xed\x9f\xbf", 0)); /* U+D7FF */
	CHECK(V("\xee\x80\x80", 0)); /* U+E000 */
	/* Past U+10FFFF. */
	CHECK(!V("\xf4\x90\x80\x80", 0));
	CHECK(!V("\xf5\x80\x80\x80", 0));
	CHECK(!V("\xff", 0));
	/* Truncated sequences and stray continuation bytes. */
	CHECK(!V("\xc3", 0));
	CHECK(!V("a\xe2\x82", 0));
	CHECK(!V("\xf0\x9f\x98", 0));
	CHECK(!V("\x80", 0));
	CHECK(!V("\xc3\x28", 0));
	CHECK(!proto_utf8_valid("\xc3\xa6", 1, 0));
	/* Controls. */
	CHECK(proto_utf8_valid("a\0b", 3, 0));
	CHECK(!proto_utf8_valid("a\0b", 3, PROTO_UTF8_NO_CTRL));
	CHECK(V("a\x1b[31m", 0));
	CHECK(!V("a\x1b[31m", PROTO_UTF8_NO_CTRL));
	CHECK(!V("a\x7f", PROTO_UTF8_NO_CTRL));
	CHECK(!V("a\xc2\x85", PROTO_UTF8_NO_CTRL)); /* C1 NEL */
	CHECK(V("a\xc2\xa0", PROTO_UTF8_NO_CTRL));  /* no-break space is text */
	CHECK(!V("a\nb\tc", PROTO_UTF8_NO_CTRL));
	CHECK(V("a\nb\tc", PROTO_UTF8_NO_CTRL | PROTO_UTF8_LF_TAB));
	CHECK(!V("a\r\n", PROTO_UTF8_NO_CTRL | PROTO_UTF8_LF_TAB));
	/* One sequence at a time. */
	CHECK_EQ_INT(proto_utf8_next("\xe2\x82\xac!", 4, &cp), 3);
	CHECK_EQ_INT(cp, 0x20ac);
	CHECK_EQ_INT(proto_utf8_next("A", 1, &cp), 1);
	CHECK_EQ_INT(cp, 'A');
	CHECK_EQ_INT(proto_utf8_next("", 0, &cp), 0);
	CHECK_EQ_INT(proto_utf8_next("\xed\xa0\x80", 3, NULL), 0);
	return check_result();
}
