/* utf8.c: strict UTF-8 validation (utf8.h). */
#include "utf8.h"

size_t proto_utf8_next(const void *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = s;
	uint32_t c;
	size_t k;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		c = p[0];
		k = 1;
		goto done;
	}
	/* 0x80..0xc1 are continuation bytes or lead only overlong two-byte forms; 0xf5.. lead past U+10FFFF. */
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		k = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		k = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		k = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
done:
	if (cp != NULL)
		*cp = c;
	return k;
}

int proto_utf8_valid(const void *s, size_t n, unsigned flags)
{
	const unsigned char *p = s;
	size_t i = 0, k;
	uint32_t c;

	if (p == NULL)
		return n == 0;
	while (i < n) {
		if ((k = proto_utf8_next(p + i, n - i, &c)) == 0)
			return 0;
		if ((flags & PROTO_UTF8_NO_CTRL) && (c < 0x20 || (c >= 0x7f && c <= 0x9f)) &&
		    !((flags & PROTO_UTF8_LF_TAB) && (c == '\n' || c == '\t')))
			return 0;
		i += k;
	}
	return 1;
}
