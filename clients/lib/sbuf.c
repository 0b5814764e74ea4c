/*
 * sbuf.c: a growable text buffer for output that may carry plaintext (a
 * document, a kvittering text), and the few JSON helpers that must not leave
 * copies of such text behind: jansson frees its buffers without wiping them,
 * so plaintext is written and read here instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"

static int sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err != VARSKO_OK)
		return b->err;
	if (n > SBUF_MAX - b->len - 1) {
		b->err = VARSKO_ERR_TOO_LARGE;
		return b->err;
	}
	if (b->len + n + 1 <= b->cap)
		return VARSKO_OK;
	for (cap = b->cap > 0 ? b->cap : 256; cap < b->len + n + 1;)
		cap = cap > SBUF_MAX / 2 ? SBUF_MAX : cap * 2;
	/* Not realloc: the old block would be freed unwiped. */
	if ((p = malloc(cap)) == NULL) {
		b->err = VARSKO_ERR_NOMEM;
		return b->err;
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len + 1);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return VARSKO_OK;
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (sbuf_reserve(b, n) != VARSKO_OK)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err != VARSKO_OK)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = VARSKO_ERR_INTERNAL;
		return;
	}
	if (sbuf_reserve(b, (size_t)n) != VARSKO_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_json_str(struct sbuf *b, const char *s)
{
	char esc[8];

	sbuf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			sbuf_add(b, esc, 2);
		} else if (ch == '\n') {
			sbuf_add(b, "\\n", 2);
		} else if (ch == '\t') {
			sbuf_add(b, "\\t", 2);
		} else if (ch == '\r') {
			sbuf_add(b, "\\r", 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			sbuf_add(b, esc, 6);
		} else {
			sbuf_add(b, (const char *)&ch, 1);
		}
	}
	sbuf_add(b, "\"", 1);
}

int sbuf_take(struct sbuf *b, char **out, size_t *len)
{
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (b->err == VARSKO_OK && b->p == NULL)
		sbuf_add(b, "", 0);
	if (b->err != VARSKO_OK) {
		int r = b->err;

		sbuf_free(b);
		return r;
	}
	*out = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return VARSKO_OK;
}

void sbuf_free(struct sbuf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

void varsko_free(void *p)
{
	free(p);
}

void varsko_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

/* ---- UTF-8 and message texts ---------------------------------------------------- */

/*
 * Length of the UTF-8 sequence at s[0..n) (1..4), or 0 when it is not a
 * well-formed one (overlong forms, surrogates and code points past
 * U+10FFFF are refused). *cp receives the code point.
 */
static size_t utf8_one(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t k, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return k;
}

int msg_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;

	if (len > MSG_TEXT_MAX)
		return 0;
	while (i < len) {
		if ((k = utf8_one(p + i, len - i, &cp)) == 0)
			return 0;
		/* Line feeds and tabs are allowed in a message; other controls (C0, DEL, C1) are not. */
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		i += k;
	}
	return 1;
}

int msg_encode(const char *text, struct sbuf *out)
{
	if (text == NULL || !msg_text_valid(text, strlen(text)))
		return VARSKO_ERR_BAD_INPUT;
	sbuf_str(out, "{\"text\":");
	sbuf_json_str(out, text);
	sbuf_str(out, "}");
	return out->err;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = s[i];
		uint32_t d;

		if (ch >= '0' && ch <= '9')
			d = (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (uint32_t)(ch - 'A' + 10);
		else
			return -1;
		*v = (*v << 4) | d;
	}
	return 0;
}

static void put_utf8(struct sbuf *b, uint32_t c)
{
	char u[4];

	if (c < 0x80) {
		u[0] = (char)c;
		sbuf_add(b, u, 1);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		sbuf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		sbuf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		sbuf_add(b, u, 4);
	}
}

/* A JSON string starting at s[*i] (the opening quote) decoded into out; *i moves past it. */
static int json_string_at(const char *s, size_t len, size_t *i, struct sbuf *out)
{
	size_t k;
	uint32_t cp, lo;

	if (*i >= len || s[*i] != '"')
		return -1;
	(*i)++;
	while (*i < len) {
		unsigned char ch = (unsigned char)s[*i];

		if (ch == '"') {
			(*i)++;
			return out->err == VARSKO_OK ? 0 : -1;
		}
		if (ch < 0x20)
			return -1;
		if (ch != '\\') {
			if ((k = utf8_one((const unsigned char *)s + *i, len - *i, &cp)) == 0)
				return -1;
			sbuf_add(out, s + *i, k);
			*i += k;
			continue;
		}
		if (*i + 1 >= len)
			return -1;
		switch (s[*i + 1]) {
		case '"':
		case '\\':
		case '/':
			sbuf_add(out, s + *i + 1, 1);
			*i += 2;
			break;
		case 'b':
			sbuf_add(out, "\b", 1);
			*i += 2;
			break;
		case 'f':
			sbuf_add(out, "\f", 1);
			*i += 2;
			break;
		case 'n':
			sbuf_add(out, "\n", 1);
			*i += 2;
			break;
		case 'r':
			sbuf_add(out, "\r", 1);
			*i += 2;
			break;
		case 't':
			sbuf_add(out, "\t", 1);
			*i += 2;
			break;
		case 'u':
			if (*i + 6 > len || hex4(s + *i + 2, &cp) != 0)
				return -1;
			*i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (*i + 6 > len || s[*i] != '\\' || s[*i + 1] != 'u' || hex4(s + *i + 2, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				*i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return -1;
			put_utf8(out, cp);
			break;
		default:
			return -1;
		}
	}
	return -1;
}

int msg_decode(const uint8_t *pt, size_t len, char **text, size_t *text_len)
{
	int r = VARSKO_ERR_BAD_FRAME;
	const char *s = (const char *)pt;
	struct sbuf key = {0}, val = {0};
	size_t i;

	*text = NULL;
	*text_len = 0;
	i = skip_ws(s, len, 0);
	if (i >= len || s[i] != '{')
		goto out;
	i = skip_ws(s, len, i + 1);
	if (json_string_at(s, len, &i, &key) != 0 || key.p == NULL || strcmp(key.p, "text") != 0)
		goto out;
	i = skip_ws(s, len, i);
	if (i >= len || s[i] != ':')
		goto out;
	i = skip_ws(s, len, i + 1);
	if (json_string_at(s, len, &i, &val) != 0)
		goto out;
	i = skip_ws(s, len, i);
	if (i >= len || s[i] != '}')
		goto out;
	if (skip_ws(s, len, i + 1) != len)
		goto out;
	if (val.p == NULL)
		sbuf_add(&val, "", 0);
	if (val.err != VARSKO_OK || !msg_text_valid(val.p, val.len))
		goto out;
	r = sbuf_take(&val, text, text_len);
out:
	sbuf_free(&key);
	sbuf_free(&val);
	return r;
}

int json_compact(const char *s, size_t len, struct sbuf *out)
{
	size_t i = 0, start;
	int in_str = 0;

	/* The text has passed a JSON parser: only whitespace outside strings goes. */
	while (i < len) {
		start = i;
		if (in_str) {
			while (i < len && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			if (i < len)
				i++; /* the closing quote */
			in_str = 0;
			sbuf_add(out, s + start, i - start);
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++;
			continue;
		}
		if (s[i] == '"')
			in_str = 1;
		sbuf_add(out, s + i, 1);
		i++;
	}
	return out->err;
}
