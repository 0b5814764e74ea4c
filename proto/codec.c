/*
 * codec.c: JSON frames <-> struct proto_frame, and the table-driven field
 * engine that cert.c shares.
 *
 * Everything here takes untrusted input. The rules: the input size is capped
 * before jansson sees it, the text must be exactly one JSON object without
 * duplicate keys, and every member must be named in the frame type's table
 * with the JSON type and length the table gives. Encoding walks the same
 * tables and validates as it goes, so the encoder never produces a frame the
 * decoder would refuse, and encode(decode(x)) is a fixed point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "proto-internal.h"
#include "proto.h"

#define PROTO_TIME_MAX_ 253402300799LL /* 9999-12-31T23:59:59Z */

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
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (s == NULL || len < min || len > max)
		return 0;
	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* ---- loading and dumping --------------------------------------------------- */

int pf_load(const char *buf, size_t len, json_t **out, const char **detail)
{
	json_error_t jerr;
	json_t *o;

	*out = NULL;
	if (buf == NULL && len > 0) {
		*detail = "no input";
		return VARSKO_ERR_BAD_JSON;
	}
	if (len > PROTO_FRAME_MAX) {
		*detail = "input too large";
		return VARSKO_ERR_TOO_LARGE;
	}
	/*
	 * Without JSON_DECODE_ANY jansson accepts only an object or an array at the
	 * top, and without JSON_DISABLE_EOF_CHECK it refuses anything after it
	 * except whitespace.
	 */
	o = json_loadb(len ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (o == NULL) {
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

/* ---- the field engine ---------------------------------------------------- */

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

static int decode_field(const struct pf_field *f, const json_t *v, uint8_t *base, const char **detail)
{
	const char *s;
	size_t len;
	json_int_t iv;

	switch (f->kind) {
	case PF_ID:
	case PF_TEXT:
		if (get_string(v, &s, &len) != 0) {
			*detail = "field must be a string";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (len > f->max) {
			*detail = "string too long";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (f->kind == PF_ID ? !pf_valid_id(s, len, f->min, f->max) : !pf_valid_text(s, len, f->min, f->max)) {
			*detail = "string empty or with characters not allowed";
			return VARSKO_ERR_BAD_FRAME;
		}
		/* An optional string is "" when absent, so it cannot also be present and empty. */
		if (!f->required && len == 0) {
			*detail = "optional string present but empty";
			return VARSKO_ERR_BAD_FRAME;
		}
		memcpy(base + f->off, s, len);
		base[f->off + len] = '\0';
		return VARSKO_OK;
	case PF_B64:
		if (get_string(v, &s, &len) != 0) {
			*detail = "field must be a string";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (proto_b64_decode_exact(s, base + f->off, f->max) != VARSKO_OK) {
			*detail = "bad base64 or wrong key length";
			return VARSKO_ERR_BAD_FRAME;
		}
		return VARSKO_OK;
	case PF_TIME: {
		int64_t t;

		if (get_string(v, &s, &len) != 0 || proto_time_parse(s, &t) != VARSKO_OK) {
			*detail = "time must be YYYY-MM-DDTHH:MM:SSZ";
			return VARSKO_ERR_BAD_FRAME;
		}
		memcpy(base + f->off, &t, sizeof(t));
		return VARSKO_OK;
	}
	case PF_VERSION1:
	case PF_U32POS: {
		uint32_t u;

		if (!json_is_integer(v)) {
			*detail = "field must be an integer";
			return VARSKO_ERR_BAD_FRAME;
		}
		iv = json_integer_value(v);
		if (f->kind == PF_VERSION1 && iv != PROTO_VERSION) {
			*detail = "unsupported version";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (iv < 1 || iv > (json_int_t)UINT32_MAX) {
			*detail = "integer out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		u = (uint32_t)iv;
		memcpy(base + f->off, &u, sizeof(u));
		return VARSKO_OK;
	}
	case PF_U64POS: {
		uint64_t u;

		if (!json_is_integer(v)) {
			*detail = "field must be an integer";
			return VARSKO_ERR_BAD_FRAME;
		}
		iv = json_integer_value(v);
		if (iv < 1) {
			*detail = "integer out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		u = (uint64_t)iv;
		memcpy(base + f->off, &u, sizeof(u));
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
			char *slot = (char *)base + f->off + i * (PROTO_ID_MAX + 1);

			if (get_string(json_array_get(v, i), &s, &len) != 0 || !pf_valid_id(s, len, 1, PROTO_ID_MAX)) {
				*detail = "array item must be an id string";
				return VARSKO_ERR_BAD_FRAME;
			}
			memcpy(slot, s, len);
			slot[len] = '\0';
		}
		memcpy(base + f->off2, &count, sizeof(count));
		return VARSKO_OK;
	}
	case PF_CERT:
		if (!json_is_object(v)) {
			*detail = "certificate must be an object";
			return VARSKO_ERR_BAD_FRAME;
		}
		return proto_cert_decode_json(v, (struct proto_cert *)(void *)(base + f->off), detail);
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

/* The NUL-terminated string stored in char[max + 1] at p, or NULL when it is not terminated. */
static const char *stored_string(const uint8_t *p, size_t max, size_t *len)
{
	const void *z = memchr(p, '\0', max + 1);

	if (z == NULL)
		return NULL;
	*len = (size_t)((const uint8_t *)z - p);
	return (const char *)p;
}

static int encode_field(const struct pf_field *f, const uint8_t *base, json_t **out, const char **detail)
{
	const char *s;
	size_t len;

	*out = NULL;
	switch (f->kind) {
	case PF_ID:
	case PF_TEXT:
		if ((s = stored_string(base + f->off, f->max, &len)) == NULL) {
			*detail = "string not terminated";
			return VARSKO_ERR_BAD_FRAME;
		}
		if (!f->required && len == 0)
			return VARSKO_OK; /* omitted */
		if (f->kind == PF_ID ? !pf_valid_id(s, len, f->min, f->max) : !pf_valid_text(s, len, f->min, f->max)) {
			*detail = "string empty, too long or with characters not allowed";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_stringn(s, len);
		break;
	case PF_B64: {
		char b64[sodium_base64_ENCODED_LEN(PROTO_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];

		if (proto_b64_encode(base + f->off, f->max, b64, sizeof(b64)) != VARSKO_OK) {
			*detail = "internal: base64 buffer";
			return VARSKO_ERR_INTERNAL;
		}
		*out = json_string(b64);
		break;
	}
	case PF_TIME: {
		int64_t t;
		char ts[PROTO_TIME_LEN + 1];

		memcpy(&t, base + f->off, sizeof(t));
		if (t < 0 || t > PROTO_TIME_MAX_) {
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
	case PF_U64POS: {
		uint64_t u;

		memcpy(&u, base + f->off, sizeof(u));
		if (u < 1 || u > (uint64_t)INT64_MAX) {
			*detail = "integer out of range";
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = json_integer((json_int_t)u);
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
	case PF_CERT:
		return proto_cert_encode_json((const struct proto_cert *)(const void *)(base + f->off), out, detail);
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

/* ---- frame tables ---------------------------------------------------------- */

#define FO(member) offsetof(struct proto_frame, member)

static const struct pf_field hello_fields[] = {
        {"version", PF_VERSION1, 1, 0, 0, FO(u.hello.version), 0},
        {"nonce", PF_B64, 1, 0, PROTO_NONCE_LEN, FO(u.hello.nonce), 0},
        {"time", PF_TIME, 1, 0, 0, FO(u.hello.time), 0},
};
static const struct pf_field enroll_fields[] = {
        {"code", PF_TEXT, 1, 1, PROTO_CODE_MAX, FO(u.enroll.code), 0},
        {"origin", PF_ID, 1, 1, PROTO_ORIGIN_MAX, FO(u.enroll.origin), 0},
        {"sign_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enroll.sign_pk), 0},
        {"box_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enroll.box_pk), 0},
        {"label", PF_TEXT, 0, 0, PROTO_ID_MAX, FO(u.enroll.label), 0},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, FO(u.enroll.sig), 0},
};
static const struct pf_field enrolled_fields[] = {
        {"cert", PF_CERT, 1, 0, 0, FO(u.enrolled.cert), 0},
        {"org_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enrolled.org_pk), 0},
        {"gateway_cert", PF_CERT, 1, 0, 0, FO(u.enrolled.gateway_cert), 0},
};
static const struct pf_field login_fields[] = {
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, FO(u.login.device), 0},
        {"origin", PF_ID, 1, 1, PROTO_ORIGIN_MAX, FO(u.login.origin), 0},
        {"time", PF_TIME, 1, 0, 0, FO(u.login.time), 0},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, FO(u.login.sig), 0},
};
static const struct pf_field session_fields[] = {
        {"cert", PF_CERT, 1, 0, 0, FO(u.session.cert), 0},
};
static const struct pf_field error_fields[] = {
        {"code", PF_ID, 1, 1, PROTO_ID_MAX, FO(u.error.code), 0},
        {"message", PF_TEXT, 1, 0, PROTO_MSG_MAX, FO(u.error.message), 0},
};

struct frame_spec {
	const char *name;
	const struct pf_field *fields;
	size_t n_fields;
	int has_id; /* may carry a request id */
};

#define SPEC(n, tab, id)                                                                                               \
	{                                                                                                              \
		n, tab, sizeof(tab) / sizeof(tab[0]), id                                                               \
	}
static const struct frame_spec specs[PROTO_T_COUNT_] = {
        [PROTO_T_NONE] = {NULL, NULL, 0, 0},
        [PROTO_T_HELLO] = SPEC("hello", hello_fields, 0),
        [PROTO_T_ENROLL] = SPEC("enroll", enroll_fields, 1),
        [PROTO_T_ENROLLED] = SPEC("enrolled", enrolled_fields, 1),
        [PROTO_T_LOGIN] = SPEC("login", login_fields, 1),
        [PROTO_T_SESSION] = SPEC("session", session_fields, 1),
        [PROTO_T_WHOAMI] = {"whoami", NULL, 0, 1},
        [PROTO_T_PING] = {"ping", NULL, 0, 1},
        [PROTO_T_PONG] = {"pong", NULL, 0, 1},
        [PROTO_T_ERROR] = SPEC("error", error_fields, 1),
};

static const char *const keys_type_id[] = {"type", "id", NULL};
static const char *const keys_type[] = {"type", NULL};

/* The wire name of t, or NULL for PROTO_T_NONE and values out of range. */
const char *proto_type_name(enum proto_type t)
{
	if ((int)t <= PROTO_T_NONE || (int)t >= PROTO_T_COUNT_)
		return NULL;
	return specs[t].name;
}

static enum proto_type type_from_name(const char *s, size_t len)
{
	for (int t = PROTO_T_NONE + 1; t < PROTO_T_COUNT_; t++)
		if (strlen(specs[t].name) == len && memcmp(specs[t].name, s, len) == 0)
			return (enum proto_type)t;
	return PROTO_T_NONE;
}

/* ---- frames -------------------------------------------------------------- */

/*
 * See proto.h. Order of checks: size, JSON, object, request id (copied out
 * first so an error answer can echo it), type, then the fields of the type.
 * A frame may hold enrollment codes, so the scratch copy is wiped.
 */
int proto_frame_decode(const char *buf, size_t len, struct proto_frame *out, const char **detail)
{
	const char *dummy, *s;
	struct proto_frame *f = NULL;
	json_t *o = NULL, *v;
	size_t slen;
	int r, id_bad = 0;
	enum proto_type t;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if ((r = pf_load(buf, len, &o, detail)) != VARSKO_OK)
		goto out;
	if ((v = json_object_get(o, "id")) != NULL) {
		if (get_string(v, &s, &slen) == 0 && pf_valid_id(s, slen, 1, PROTO_ID_MAX)) {
			memcpy(out->id, s, slen);
			out->id[slen] = '\0';
		} else {
			id_bad = 1;
		}
	}
	if ((v = json_object_get(o, "type")) == NULL || get_string(v, &s, &slen) != 0) {
		*detail = "missing or non-string type";
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if ((t = type_from_name(s, slen)) == PROTO_T_NONE) {
		*detail = "unknown type";
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	if (id_bad) {
		*detail = "id must be 1 to 64 visible ASCII characters";
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	f->type = t;
	memcpy(f->id, out->id, sizeof(f->id));
	r = pf_decode(o, specs[t].fields, specs[t].n_fields, specs[t].has_id ? keys_type_id : keys_type, f, detail);
	if (r != VARSKO_OK)
		goto out;
	memcpy(out, f, sizeof(*out));
	*detail = "";
	r = VARSKO_OK;
out:
	if (f != NULL) {
		sodium_memzero(f, sizeof(*f));
		free(f);
	}
	if (r != VARSKO_OK) {
		char id[PROTO_ID_MAX + 1];

		memcpy(id, out->id, sizeof(id));
		sodium_memzero(out, sizeof(*out));
		memcpy(out->id, id, sizeof(id));
	}
	json_decref(o);
	return r;
}

/*
 * See proto.h. Refuses with VARSKO_ERR_BAD_FRAME (and no output) a frame
 * that proto_frame_decode() would refuse: unknown type, bad id, a string
 * too long or with bad characters, a time out of range, and so on.
 */
int proto_frame_encode(const struct proto_frame *f, char **out, size_t *len)
{
	const char *detail = "";
	json_t *o = NULL, *v;
	size_t idlen;
	int r = VARSKO_ERR_INTERNAL;

	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (f == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (proto_type_name(f->type) == NULL)
		return VARSKO_ERR_BAD_FRAME;
	if ((o = json_object()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((v = json_string(specs[f->type].name)) == NULL || json_object_set_new(o, "type", v) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (stored_string((const uint8_t *)f->id, PROTO_ID_MAX, &idlen) == NULL) {
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if (idlen > 0) {
		if (!specs[f->type].has_id || !pf_valid_id(f->id, idlen, 1, PROTO_ID_MAX)) {
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		if ((v = json_stringn(f->id, idlen)) == NULL || json_object_set_new(o, "id", v) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if ((r = pf_encode(o, specs[f->type].fields, specs[f->type].n_fields, f, &detail)) != VARSKO_OK)
		goto out;
	r = pf_dump(o, out, len);
out:
	json_decref(o);
	return r;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/*
 * See proto.h. message NULL means varsko_err_text(err). A message that is
 * too long is cut at a character boundary; one with control characters or
 * bad UTF-8 is replaced by varsko_err_text(err), so this only fails for a bad
 * id, out of memory or NULL out/len.
 */
int proto_error_encode(const char *id, int err, const char *message, char **out, size_t *len)
{
	struct proto_frame *f;
	size_t n;
	int r;

	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return VARSKO_ERR_NOMEM;
	f->type = PROTO_T_ERROR;
	if (id != NULL) {
		n = strlen(id);
		if (n > PROTO_ID_MAX) {
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		memcpy(f->id, id, n + 1);
	}
	snprintf(f->u.error.code, sizeof(f->u.error.code), "%s", varsko_err_name(err));
	if (message == NULL)
		message = varsko_err_text(err);
	n = utf8_cut(message, strlen(message), PROTO_MSG_MAX);
	if (!pf_valid_text(message, n, 0, PROTO_MSG_MAX)) {
		message = varsko_err_text(err);
		n = strlen(message);
	}
	memcpy(f->u.error.message, message, n);
	f->u.error.message[n] = '\0';
	r = proto_frame_encode(f, out, len);
out:
	free(f);
	return r;
}
