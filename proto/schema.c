/*
 * schema.c: the one JSON schema engine of proto/ (proto-internal.h): the
 * loader, the validators, the decoder and encoder that walk a field table,
 * and the dispatch on a frame's "type". codec.c (frames), cert.c
 * (certificates) and flow.c (the flow's objects and frames) are tables for it.
 *
 * Everything here takes untrusted input. The rules: the input size is capped
 * before jansson sees it, the text must be exactly one JSON object without
 * duplicate keys, and every member must be named in the table with the JSON
 * type and length the table gives. Encoding walks the same tables and
 * validates as it goes, so the encoder never produces what the decoder would
 * refuse, and encode(decode(x)) is a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "proto-internal.h"
#include "proto.h"
#include "utf8.h"

#define PF_TIME_MAX_ 253402300799LL /* 9999-12-31T23:59:59Z, the last time proto_time_parse() accepts */

/* ---- validators ---------------------------------------------------------- */

int pf_valid_id(const char *s, size_t len, size_t min, size_t max)
{
	if (s == NULL || len < min || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Well-formed UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF) without C0 controls, DEL or C1 controls. Names and messages end
 * up in terminals and logs, where control characters do harm.
 */
int pf_valid_text(const char *s, size_t len, size_t min, size_t max)
{
	return s != NULL && len >= min && len <= max && proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL);
}

/* "U-" + 4 digits + "-" + at least 6 digits, at most max bytes in all. */
int pf_valid_ref(const char *s, size_t len, size_t max)
{
	if (s == NULL || len < 2 + 4 + 1 + 6 || len > max)
		return 0;
	if (s[0] != 'U' || s[1] != '-' || s[6] != '-')
		return 0;
	for (size_t i = 2; i < len; i++)
		if (i != 6 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

/* ---- loading and dumping --------------------------------------------------- */

int pf_load(const char *buf, size_t len, size_t max, size_t flags, json_t **out, const char **detail)
{
	return pf_load_at(buf, len, max, flags, out, detail, NULL, NULL);
}

int pf_load_at(const char *buf, size_t len, size_t max, size_t flags, json_t **out, const char **detail,
               size_t *line, size_t *column)
{
	const char *dummy;
	json_error_t jerr;
	json_t *o;

	if (detail == NULL)
		detail = &dummy;
	if (line != NULL)
		*line = 0;
	if (column != NULL)
		*column = 0;
	*out = NULL;
	if (buf == NULL && len > 0) {
		*detail = "no input";
		return VARSKO_ERR_BAD_JSON;
	}
	if (len > max) {
		*detail = "input too large";
		return VARSKO_ERR_TOO_LARGE;
	}
	/*
	 * Without JSON_DECODE_ANY jansson accepts only an object or an array at the
	 * top, and without JSON_DISABLE_EOF_CHECK it refuses anything after it
	 * except whitespace.
	 */
	o = json_loadb(len ? buf : "", len, JSON_REJECT_DUPLICATES | flags, &jerr);
	if (o == NULL) {
		if (line != NULL && jerr.line > 0)
			*line = (size_t)jerr.line;
		if (column != NULL && jerr.column > 0)
			*column = (size_t)jerr.column;
		if (json_error_code(&jerr) == json_error_duplicate_key) {
			*detail = "duplicate key";
			return VARSKO_ERR_DUPLICATE_KEY;
		}
		*detail = "malformed JSON";
		return VARSKO_ERR_BAD_JSON;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		*detail = "not a JSON object";
		return VARSKO_ERR_BAD_JSON;
	}
	*out = o;
	return VARSKO_OK;
}

int pf_dump(const json_t *o, char **out, size_t *len)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		return VARSKO_ERR_NOMEM;
	*out = s;
	if (len != NULL)
		*len = strlen(s);
	return VARSKO_OK;
}

/* ---- decoding ---------------------------------------------------------------- */

static int key_known(const char *key, size_t klen, const struct pf_field *tab, size_t n, const char *const *extra)
{
	if (strlen(key) != klen)
		return 0; /* a key with a NUL in it never matches */
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, key) == 0)
			return 1;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strcmp(extra[i], key) == 0)
			return 1;
	return 0;
}

/* A JSON string's bytes, refusing embedded NULs. */
static int get_string(const json_t *v, const char **s, size_t *len)
{
	if (!json_is_string(v))
		return -1;
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(*s) != *len)
		return -1;
	return 0;
}

static int refuse(const struct pf_field *f, const char *text, const char **detail)
{
	*detail = f->bad != NULL ? f->bad : text;
	return VARSKO_ERR_BAD_FRAME;
}

static int enum_index(const struct pf_field *f, const char *s, size_t len)
{
	const char *const *names = f->sub;

	for (size_t i = 0; i < f->max; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i + 1;
	return 0;
}

/* Store n bytes at base + off unless only checking. */
static void put(uint8_t *base, size_t off, const void *p, size_t n)
{
	if (base != NULL)
		memcpy(base + off, p, n);
}

static void put_string(uint8_t *base, size_t off, const char *s, size_t len)
{
	if (base != NULL) {
		memcpy(base + off, s, len);
		base[off + len] = '\0';
	}
}

static int decode_objects(const struct pf_field *f, const json_t *v, uint8_t *base, const char **detail)
{
	const struct pf_table *t = f->sub;
	size_t count;

	if (!json_is_array(v)) {
		*detail = "field must be an array";
		return VARSKO_ERR_BAD_FRAME;
	}
	count = json_array_size(v);
	if (count > f->max || count < f->min) {
		*detail = count > f->max ? "array too long" : "array too short";
		return VARSKO_ERR_BAD_FRAME;
	}
	for (size_t i = 0; i < count; i++) {
		const json_t *e = json_array_get(v, i);
		int r;

		if (!json_is_object(e)) {
			*detail = "array item must be an object";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (t != NULL &&
		    (r = pf_decode(e, t->fields, t->n, NULL, base != NULL ? base + f->off + i * t->size : NULL,
		                   detail)) != VARSKO_OK)
			return r;
	}
	put(base, f->off2, &count, sizeof(count));
	return VARSKO_OK;
}

/*
 * The number of bytes that the padded base64 s[0..len) stands for, or
 * SIZE_MAX when len is not a multiple of 4; the decoder checks the rest.
 */
static size_t b64_decoded_len(const char *s, size_t len)
{
	size_t n;

	if (len % 4 != 0)
		return SIZE_MAX;
	n = len / 4 * 3;
	if (len > 0 && s[len - 1] == '=')
		n--;
	if (len > 1 && s[len - 2] == '=')
		n--;
	return n;
}

static int decode_bytes(const struct pf_field *f, const char *s, size_t len, uint8_t *base, const char **detail)
{
	size_t n = b64_decoded_len(s, len);
	uint8_t *p;

	if (n == SIZE_MAX || n < f->min || n > f->max)
		return refuse(f, "bad base64 or wrong length", detail);
	if (n == 0)
		return VARSKO_OK; /* NULL and 0, as the caller zeroed them */
	if ((p = malloc(n)) == NULL) {
		*detail = "out of memory";
		return VARSKO_ERR_NOMEM;
	}
	if (proto_b64_decode_exact(s, p, n) != VARSKO_OK) {
		free(p);
		return refuse(f, "bad base64 or wrong length", detail);
	}
	if (base == NULL) {
		free(p);
		return VARSKO_OK;
	}
	memcpy(base + f->off, &p, sizeof(p));
	memcpy(base + f->off2, &n, sizeof(n));
	return VARSKO_OK;
}

static int decode_field(const struct pf_field *f, const json_t *v, uint8_t *base, const char **detail)
{
	const char *s = NULL;
	size_t len = 0;
	json_int_t iv = 0;

	switch (f->kind) {
	case PF_ID:
	case PF_TEXT:
	case PF_REF:
	case PF_ENUM:
	case PF_B64:
	case PF_BYTES:
	case PF_TIME:
		if (get_string(v, &s, &len) != 0) {
			*detail = f->kind == PF_TIME ? "time must be YYYY-MM-DDTHH:MM:SSZ" : "field must be a string";
			return VARSKO_ERR_BAD_FRAME;
		}
		break;
	case PF_VERSION1:
	case PF_U32POS:
	case PF_U64:
		if (!json_is_integer(v))
			return refuse(f, "field must be an integer", detail);
		iv = json_integer_value(v);
		break;
	default:
		break;
	}
	switch (f->kind) {
	case PF_ID:
	case PF_TEXT:
		if (len > f->max)
			return refuse(f, "string too long", detail);
		if (f->kind == PF_ID ? !pf_valid_id(s, len, f->min, f->max) : !pf_valid_text(s, len, f->min, f->max))
			return refuse(f, "string empty or with characters not allowed", detail);
		/* An optional string is "" when absent, so it cannot also be present and empty. */
		if (!f->required && len == 0)
			return refuse(f, "optional string present but empty", detail);
		put_string(base, f->off, s, len);
		return VARSKO_OK;
	case PF_REF:
		if (!pf_valid_ref(s, len, f->max))
			return refuse(f, "reference malformed", detail);
		put_string(base, f->off, s, len);
		return VARSKO_OK;
	case PF_ENUM: {
		int k = enum_index(f, s, len);

		if (k == 0)
			return refuse(f, "value not allowed", detail);
		put(base, f->off, &k, sizeof(k));
		return VARSKO_OK;
	}
	case PF_B64: {
		uint8_t tmp[PROTO_SIG_LEN];
		int present = 1;

		if (f->max > sizeof(tmp)) {
			*detail = "internal: base64 field too long";
			return VARSKO_ERR_INTERNAL;
		}
		if (proto_b64_decode_exact(s, tmp, f->max) != VARSKO_OK)
			return refuse(f, "bad base64 or wrong key length", detail);
		put(base, f->off, tmp, f->max);
		if (f->off2 != 0)
			put(base, f->off2, &present, sizeof(present));
		return VARSKO_OK;
	}
	case PF_BYTES:
		return decode_bytes(f, s, len, base, detail);
	case PF_TIME: {
		int64_t t;

		if (proto_time_parse(s, &t) != VARSKO_OK)
			return refuse(f, "time must be YYYY-MM-DDTHH:MM:SSZ", detail);
		put(base, f->off, &t, sizeof(t));
		return VARSKO_OK;
	}
	case PF_VERSION1:
	case PF_U32POS: {
		uint32_t u;

		if (f->kind == PF_VERSION1 && iv != PROTO_VERSION)
			return refuse(f, "unsupported version", detail);
		if (iv < 1 || iv > (json_int_t)UINT32_MAX)
			return refuse(f, "integer out of range", detail);
		u = (uint32_t)iv;
		put(base, f->off, &u, sizeof(u));
		return VARSKO_OK;
	}
	case PF_U64: {
		uint64_t u;

		if (iv < 0 || (uint64_t)iv < f->min)
			return refuse(f, "integer out of range", detail);
		u = (uint64_t)iv;
		put(base, f->off, &u, sizeof(u));
		return VARSKO_OK;
	}
	case PF_BOOL: {
		int b;

		if (!json_is_boolean(v)) {
			*detail = "field must be a boolean";
			return VARSKO_ERR_BAD_FRAME;
		}
		b = json_is_true(v) ? 1 : 0;
		put(base, f->off, &b, sizeof(b));
		return VARSKO_OK;
	}
	case PF_IDLIST: {
		size_t count;

		if (!json_is_array(v)) {
			*detail = "field must be an array";
			return VARSKO_ERR_BAD_FRAME;
		}
		count = json_array_size(v);
		if (count > f->max) {
			*detail = "array too long";
			return VARSKO_ERR_BAD_FRAME;
		}
		for (size_t i = 0; i < count; i++) {
			if (get_string(json_array_get(v, i), &s, &len) != 0 || !pf_valid_id(s, len, 1, PROTO_ID_MAX)) {
				*detail = "array item must be an id string";
				return VARSKO_ERR_BAD_FRAME;
			}
			put_string(base, f->off + i * (PROTO_ID_MAX + 1), s, len);
		}
		put(base, f->off2, &count, sizeof(count));
		return VARSKO_OK;
	}
	case PF_OBJ: {
		const struct pf_table *t = f->sub;

		if (!json_is_object(v))
			return refuse(f, "field must be an object", detail);
		if (t == NULL)
			return VARSKO_OK;
		return pf_decode(v, t->fields, t->n, NULL, base != NULL ? base + f->off : NULL, detail);
	}
	case PF_OBJLIST:
		return decode_objects(f, v, base, detail);
	}
	*detail = "internal: unknown field kind";
	return VARSKO_ERR_INTERNAL;
}

int pf_decode(const json_t *o, const struct pf_field *tab, size_t n, const char *const *extra, void *base,
              const char **detail)
{
	const char *key;
	const json_t *v;
	size_t klen;
	int r;

	if (!json_is_object(o)) {
		*detail = "not a JSON object";
		return VARSKO_ERR_BAD_FRAME;
	}
	json_object_keylen_foreach((json_t *)o, key, klen, v)
	{
		(void)v;
		if (!key_known(key, klen, tab, n, extra)) {
			*detail = "unknown field";
			return VARSKO_ERR_BAD_FRAME;
		}
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(o, tab[i].name);
		if (v == NULL) {
			if (tab[i].required) {
				*detail = "missing field";
				return VARSKO_ERR_BAD_FRAME;
			}
			continue;
		}
		if ((r = decode_field(&tab[i], v, base, detail)) != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

/* ---- encoding ---------------------------------------------------------------- */

/* The NUL-terminated string stored in char[max + 1] at p, or NULL when it is not terminated. */
static const char *stored_string(const uint8_t *p, size_t max, size_t *len)
{
	const void *z = memchr(p, '\0', max + 1);

	if (z == NULL)
		return NULL;
	*len = (size_t)((const uint8_t *)z - p);
	return (const char *)p;
}

/* A new object of table t from the struct at p, in *out. */
static int encode_object(const struct pf_table *t, const uint8_t *p, json_t **out, const char **detail)
{
	json_t *o;
	int r;

	if (t == NULL) {
		*detail = "internal: object field without a table";
		return VARSKO_ERR_INTERNAL;
	}
	if ((o = json_object()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = pf_encode(o, t->fields, t->n, p, detail)) != VARSKO_OK) {
		json_decref(o);
		return r;
	}
	*out = o;
	return VARSKO_OK;
}

static int encode_field(const struct pf_field *f, const uint8_t *base, json_t **out, const char **detail)
{
	const char *s;
	size_t len;

	*out = NULL;
	switch (f->kind) {
	case PF_ID:
	case PF_TEXT:
	case PF_REF:
		if ((s = stored_string(base + f->off, f->max, &len)) == NULL) {
			*detail = "string not terminated";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (!f->required && len == 0)
			return VARSKO_OK; /* omitted */
		if (f->kind == PF_ID    ? !pf_valid_id(s, len, f->min, f->max)
		    : f->kind == PF_REF ? !pf_valid_ref(s, len, f->max)
		                        : !pf_valid_text(s, len, f->min, f->max)) {
			*detail = "string empty, too long or with characters not allowed";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_stringn(s, len);
		break;
	case PF_ENUM: {
		const char *const *names = f->sub;
		int k;

		memcpy(&k, base + f->off, sizeof(k));
		if (k < 1 || (size_t)k > f->max) {
			*detail = "value not allowed";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_string(names[k - 1]);
		break;
	}
	case PF_B64: {
		char b64[sodium_base64_ENCODED_LEN(PROTO_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];
		int present = 1;

		if (f->off2 != 0)
			memcpy(&present, base + f->off2, sizeof(present));
		if (!present)
			return VARSKO_OK; /* omitted */
		if (f->max > PROTO_SIG_LEN || proto_b64_encode(base + f->off, f->max, b64, sizeof(b64)) != VARSKO_OK) {
			*detail = "internal: base64 buffer";
			return VARSKO_ERR_INTERNAL;
		}
		*out = json_string(b64);
		break;
	}
	case PF_BYTES: {
		const uint8_t *p;
		size_t n, cap;
		char *b64;

		memcpy(&p, base + f->off, sizeof(p));
		memcpy(&n, base + f->off2, sizeof(n));
		if (n < f->min || n > f->max || (p == NULL && n > 0)) {
			*detail = "byte string of a wrong length";
			return VARSKO_ERR_BAD_FRAME;
		}
		cap = 4 * ((n + 2) / 3) + 1;
		if ((b64 = malloc(cap)) == NULL)
			return VARSKO_ERR_NOMEM;
		if (proto_b64_encode(n > 0 ? p : (const uint8_t *)"", n, b64, cap) != VARSKO_OK) {
			free(b64);
			*detail = "internal: base64 buffer";
			return VARSKO_ERR_INTERNAL;
		}
		*out = json_string(b64);
		free(b64);
		break;
	}
	case PF_TIME: {
		int64_t t;
		char ts[PROTO_TIME_LEN + 1];

		memcpy(&t, base + f->off, sizeof(t));
		if (t < 0 || t > PF_TIME_MAX_) {
			*detail = "time out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		proto_time_format(t, ts);
		*out = json_string(ts);
		break;
	}
	case PF_VERSION1:
	case PF_U32POS: {
		uint32_t u;

		memcpy(&u, base + f->off, sizeof(u));
		if (u < 1 || (f->kind == PF_VERSION1 && u != PROTO_VERSION)) {
			*detail = f->kind == PF_VERSION1 ? "unsupported version" : "integer out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_integer((json_int_t)u);
		break;
	}
	case PF_U64: {
		uint64_t u;

		memcpy(&u, base + f->off, sizeof(u));
		if (u < f->min || u > (uint64_t)INT64_MAX) {
			*detail = "integer out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_integer((json_int_t)u);
		break;
	}
	case PF_BOOL: {
		int b;

		memcpy(&b, base + f->off, sizeof(b));
		if (b == -1 && !f->required)
			return VARSKO_OK; /* omitted */
		if (b != 0 && b != 1) {
			*detail = "boolean out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_boolean(b);
		break;
	}
	case PF_IDLIST: {
		size_t count;
		json_t *a;

		memcpy(&count, base + f->off2, sizeof(count));
		if (count > f->max) {
			*detail = "array too long";
			return VARSKO_ERR_BAD_FRAME;
		}
		if ((a = json_array()) == NULL)
			return VARSKO_ERR_NOMEM;
		for (size_t i = 0; i < count; i++) {
			s = stored_string(base + f->off + i * (PROTO_ID_MAX + 1), PROTO_ID_MAX, &len);
			if (s == NULL || !pf_valid_id(s, len, 1, PROTO_ID_MAX)) {
				json_decref(a);
				*detail = "array item must be an id string";
				return VARSKO_ERR_BAD_FRAME;
			}
			if (json_array_append_new(a, json_stringn(s, len)) != 0) {
				json_decref(a);
				return VARSKO_ERR_NOMEM;
			}
		}
		*out = a;
		break;
	}
	case PF_OBJ:
		return encode_object(f->sub, base + f->off, out, detail);
	case PF_OBJLIST: {
		const struct pf_table *t = f->sub;
		size_t count;
		json_t *a, *e;
		int r;

		memcpy(&count, base + f->off2, sizeof(count));
		if (count > f->max || count < f->min) {
			*detail = count > f->max ? "array too long" : "array too short";
			return VARSKO_ERR_BAD_FRAME;
		}
		if ((a = json_array()) == NULL)
			return VARSKO_ERR_NOMEM;
		for (size_t i = 0; i < count; i++) {
			if ((r = encode_object(t, base + f->off + i * (t != NULL ? t->size : 0), &e, detail)) !=
			    VARSKO_OK) {
				json_decref(a);
				return r;
			}
			if (json_array_append_new(a, e) != 0) {
				json_decref(a);
				return VARSKO_ERR_NOMEM;
			}
		}
		*out = a;
		break;
	}
	}
	if (*out == NULL) {
		*detail = "out of memory";
		return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

int pf_encode(json_t *o, const struct pf_field *tab, size_t n, const void *base, const char **detail)
{
	json_t *v;
	int r;

	for (size_t i = 0; i < n; i++) {
		if ((r = encode_field(&tab[i], base, &v, detail)) != VARSKO_OK)
			return r;
		if (v == NULL)
			continue; /* optional and absent */
		if (json_object_set_new(o, tab[i].name, v) != 0)
			return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

/* ---- whole messages ------------------------------------------------------------ */

int pf_encode_object(const struct pf_field *tab, size_t n, const void *base, json_t **out)
{
	const char *detail;
	json_t *o;
	int r;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = pf_encode(o, tab, n, base, &detail)) != VARSKO_OK) {
		json_decref(o);
		return r == VARSKO_ERR_BAD_FRAME ? VARSKO_ERR_BAD_INPUT : r;
	}
	*out = o;
	return VARSKO_OK;
}

int pf_encode_text(const struct pf_field *tab, size_t n, const void *base, char **out, size_t *len)
{
	json_t *o;
	int r;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = pf_encode_object(tab, n, base, &o)) != VARSKO_OK)
		return r;
	r = pf_dump(o, out, len);
	json_decref(o);
	return r;
}

int pf_decode_text(const char *buf, size_t len, size_t max, size_t flags, const struct pf_field *tab, size_t n,
                   void *base)
{
	const char *detail;
	json_t *o;
	int r;

	if ((r = pf_load(buf, len, max, flags, &o, &detail)) != VARSKO_OK)
		return r;
	r = pf_decode(o, tab, n, NULL, base, &detail);
	json_decref(o);
	return r;
}

/* ---- frames: the dispatch on "type" ------------------------------------------ */

int pf_type_find(const struct pf_type *types, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (types[i].name != NULL && strlen(types[i].name) == len && memcmp(types[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

void pf_frame_head(const json_t *o, char *id, int *id_bad, const char **type, size_t *tlen, const char **detail)
{
	const json_t *v;
	const char *s;
	size_t len;

	memset(id, 0, PROTO_ID_MAX + 1);
	*id_bad = 0;
	if ((v = json_object_get(o, "id")) != NULL) {
		if (get_string(v, &s, &len) == 0 && pf_valid_id(s, len, 1, PROTO_ID_MAX))
			put_string((uint8_t *)id, 0, s, len);
		else
			*id_bad = 1;
	}
	if (get_string(json_object_get(o, "type"), type, tlen) != 0) {
		*type = NULL;
		*detail = "missing or non-string type";
	}
}

int pf_frame_check(const json_t *o, const struct pf_type *t, int id_bad, void *base, const char **detail)
{
	static const char *const keys_type_id[] = {"type", "id", NULL};
	static const char *const keys_type[] = {"type", NULL};

	if (id_bad) {
		*detail = "id must be 1 to 64 visible ASCII characters";
		return VARSKO_ERR_BAD_FRAME;
	}
	return pf_decode(o, t->fields, t->n, t->has_id ? keys_type_id : keys_type, base, detail);
}
