/*
 * util.c: error names, base64, strict UTC time and origins.
 *
 * Pure functions: no I/O, no clock, no locale, no TZ. Time conversion is the
 * calendar's (calendar.h), which never depends on the process environment.
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "calendar.h"
#include "proto.h"

#define VARSKO_EXPORT __attribute__((visibility("default")))

/* ---- error names --------------------------------------------------------- */

struct err_entry {
	int code;
	const char *name;
	const char *text;
};

static const struct err_entry err_table[] = {
#define ERR_ROW_(suffix, num, wire, txt) {num, wire, txt},
        VARSKO_ERRORS(ERR_ROW_)
#undef ERR_ROW_
};

static const struct err_entry *err_find(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == err)
			return &err_table[i];
	return NULL;
}

/* Stable wire name; an unknown number maps to "internal". Never NULL. */
VARSKO_EXPORT const char *varsko_err_name(int err)
{
	const struct err_entry *e = err_find(err);

	return e ? e->name : "internal";
}

/* English text; an unknown number maps to the text of VARSKO_ERR_INTERNAL. Never NULL. */
VARSKO_EXPORT const char *varsko_err_text(int err)
{
	const struct err_entry *e = err_find(err);

	if (e == NULL)
		e = err_find(VARSKO_ERR_INTERNAL);
	return e ? e->text : "internal error";
}

/* The code whose wire name is exactly `name`; VARSKO_ERR_INTERNAL for NULL or an unknown name. */
VARSKO_EXPORT int varsko_err_from_name(const char *name)
{
	if (name == NULL)
		return VARSKO_ERR_INTERNAL;
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (strcmp(err_table[i].name, name) == 0)
			return err_table[i].code;
	return VARSKO_ERR_INTERNAL;
}

/* ---- base64 -------------------------------------------------------------- */

/*
 * Writes the standard padded base64 of p[0..n) and a NUL to out. Returns
 * VARSKO_ERR_TOO_LARGE when outcap cannot hold it (out is then "" if outcap > 0),
 * VARSKO_ERR_BAD_INPUT for NULL pointers.
 */
int proto_b64_encode(const uint8_t *p, size_t n, char *out, size_t outcap)
{
	if (out == NULL || (p == NULL && n > 0))
		return VARSKO_ERR_BAD_INPUT;
	if (n > (SIZE_MAX / 4) - 4 || outcap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL)) {
		if (outcap > 0)
			out[0] = '\0';
		return VARSKO_ERR_TOO_LARGE;
	}
	sodium_bin2base64(out, outcap, n ? p : (const uint8_t *)"", n, sodium_base64_VARIANT_ORIGINAL);
	return VARSKO_OK;
}

/*
 * Decodes the NUL-terminated standard padded base64 `s` into exactly n bytes.
 * Only the canonical encoding is accepted: the length must be exactly
 * 4*ceil(n/3), padding is required, no whitespace or other characters, and
 * unused trailing bits must be zero. On failure out is zeroed and
 * VARSKO_ERR_BAD_INPUT returned.
 */
int proto_b64_decode_exact(const char *s, uint8_t *out, size_t n)
{
	size_t slen, got = 0;
	const char *end = NULL;

	if (s == NULL || out == NULL || n > SIZE_MAX / 2)
		return VARSKO_ERR_BAD_INPUT;
	slen = strlen(s);
	if (slen != sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1)
		goto bad;
	if (n == 0)
		return VARSKO_OK;
	/*
	 * libsodium's decoder maps some bytes above 0x7f to digits, which would
	 * give the same bytes a second accepted encoding: refuse anything
	 * outside the alphabet first.
	 */
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != slen)
		goto bad;
	if (sodium_base642bin(out, n, s, slen, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto bad;
	if (got != n || end != s + slen)
		goto bad;
	return VARSKO_OK;
bad:
	sodium_memzero(out, n);
	return VARSKO_ERR_BAD_INPUT;
}

int proto_b64_decoded_len(const char *s, size_t *n)
{
	size_t l = s != NULL ? strlen(s) : 0;

	*n = 0;
	if (s == NULL || l % 4 != 0)
		return VARSKO_ERR_BAD_INPUT;
	if (l > 0)
		*n = l / 4 * 3 - (s[l - 1] == '=') - (s[l - 2] == '=');
	return VARSKO_OK;
}

/* ---- time ---------------------------------------------------------------- */

#define TIME_MIN 0LL            /* 1970-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/*
 * Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (20 bytes then NUL) into Unix seconds.
 * Years 1970..9999, real calendar days, hours 0-23, minutes and seconds 0-59
 * (no leap second). Returns VARSKO_ERR_BAD_TIME for anything else; *out is
 * untouched on failure.
 */
int proto_time_parse(const char *s, int64_t *out)
{
	int64_t t;

	if (s == NULL || out == NULL || strlen(s) != PROTO_TIME_LEN)
		return VARSKO_ERR_BAD_TIME;
	/* RFC 3339 also allows 't' and 'z'; at 20 bytes with 'Z' last there is no room for a fraction or an offset. */
	if (s[10] != 'T' || s[19] != 'Z')
		return VARSKO_ERR_BAD_TIME;
	if (cal_parse_rfc3339(s, &t) != VARSKO_OK || t < TIME_MIN)
		return VARSKO_ERR_BAD_TIME;
	*out = t;
	return VARSKO_OK;
}

/*
 * Formats t as "YYYY-MM-DDTHH:MM:SSZ". A t outside 1970..9999 is clamped to
 * the nearest end of that range, so out is always a string that
 * proto_time_parse() accepts; callers that must not clamp check the range.
 */
void proto_time_format(int64_t t, char out[PROTO_TIME_LEN + 1])
{
	if (t < TIME_MIN)
		t = TIME_MIN;
	if (t > TIME_MAX)
		t = TIME_MAX;
	(void)cal_format_utc(t, out); /* cannot fail inside 1970..9999 */
}

/* ---- origins ------------------------------------------------------------- */

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int ipv6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/*
 * "wss://" host [":" port] [("/" | "?" | "#") anything] -> "wss://host:port".
 * The scheme is matched case-insensitively, the host (a DNS name, an IPv4
 * address or a bracketed IPv6 address) is lowercased, the port defaults to
 * 443 and is written without leading zeros. Userinfo, an empty host, an empty,
 * zero or too large port and any other scheme are refused with
 * VARSKO_ERR_BAD_INPUT (out is then "").
 */
int proto_origin_from_url(const char *url, char out[PROTO_ORIGIN_MAX + 1])
{
	const char *p, *host, *hend;
	size_t hlen, o = 0;
	unsigned long port = 443;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	out[0] = '\0';
	if (url == NULL || strncasecmp(url, "wss://", 6) != 0)
		return VARSKO_ERR_BAD_INPUT;
	host = p = url + 6;
	if (*p == '[') {
		p++;
		while (*p != '\0' && *p != ']') {
			if (!ipv6_char(*p))
				return VARSKO_ERR_BAD_INPUT;
			p++;
		}
		if (*p != ']' || p == host + 1)
			return VARSKO_ERR_BAD_INPUT;
		p++;
	} else {
		while (host_char(*p))
			p++;
		if (p == host)
			return VARSKO_ERR_BAD_INPUT;
	}
	hend = p;
	if (*p == ':') {
		size_t nd = 0;

		p++;
		port = 0;
		while (*p >= '0' && *p <= '9') {
			port = port * 10 + (unsigned long)(*p - '0');
			if (++nd > 5)
				return VARSKO_ERR_BAD_INPUT;
			p++;
		}
		if (nd == 0 || port == 0 || port > 65535)
			return VARSKO_ERR_BAD_INPUT;
	}
	/* Anything but the end of the authority here (userinfo '@', junk) is refused. */
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return VARSKO_ERR_BAD_INPUT;
	hlen = (size_t)(hend - host);
	/* "wss://" + host + ":" + up to 5 digits + NUL */
	if (6 + hlen + 1 + 5 + 1 > PROTO_ORIGIN_MAX + 1)
		return VARSKO_ERR_BAD_INPUT;
	memcpy(out, "wss://", 6);
	o = 6;
	for (size_t i = 0; i < hlen; i++)
		out[o++] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
	out[o++] = ':';
	{
		char num[6];
		int nn = 0;

		do {
			num[nn++] = (char)('0' + port % 10);
			port /= 10;
		} while (port > 0);
		while (nn > 0)
			out[o++] = num[--nn];
	}
	out[o] = '\0';
	return VARSKO_OK;
}

int proto_str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		if (cap > 0)
			dst[0] = '\0';
		return VARSKO_ERR_TOO_LARGE;
	}
	memcpy(dst, src, n + 1);
	return VARSKO_OK;
}
