/*
 * proto-internal.h: the table-driven JSON field engine shared by codec.c
 * (frames) and cert.c (certificates). Not part of the proto.h contract; only
 * the .c files of proto/ include it.
 *
 * A message kind is a table of fields. Each field names its JSON key, its
 * kind (which fixes both the JSON type and the C storage), whether it is
 * required, its length bounds and where it lives in the C struct. Decoding
 * and encoding walk the same table, so what is accepted and what is produced
 * cannot drift apart.
 */
#ifndef VARSKO_PROTO_INTERNAL_H
#define VARSKO_PROTO_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "proto.h"

enum pf_kind {
	PF_ID,       /* string of visible ASCII (0x21..0x7e), min..max bytes; char[max + 1] */
	PF_TEXT,     /* UTF-8 string without control characters, min..max bytes; char[max + 1] */
	PF_B64,      /* standard padded base64 of exactly max bytes; uint8_t[max] */
	PF_TIME,     /* "YYYY-MM-DDTHH:MM:SSZ"; int64_t */
	PF_VERSION1, /* JSON integer that must be 1; uint32_t */
	PF_U32POS,   /* JSON integer 1..UINT32_MAX; uint32_t */
	PF_U64POS,   /* JSON integer 1..INT64_MAX; uint64_t */
	PF_IDLIST,   /* array of 0..max PF_ID strings (1..PROTO_ID_MAX bytes each); char[max][PROTO_ID_MAX + 1] at off,
	                size_t count at off2 */
	PF_CERT,     /* certificate object; struct proto_cert */
};

struct pf_field {
	const char *name;
	enum pf_kind kind;
	unsigned char required; /* an optional field is "" when absent and omitted when "" */
	size_t min, max;
	size_t off, off2;
};

/*
 * Parse buf[0..len) as exactly one JSON object (no trailing bytes, duplicate
 * keys refused, NUL allowed inside strings so that it is refused later as a
 * field error). *out is owned by the caller (json_decref). Returns VARSKO_OK,
 * VARSKO_ERR_TOO_LARGE (len > PROTO_FRAME_MAX), VARSKO_ERR_DUPLICATE_KEY or
 * VARSKO_ERR_BAD_JSON; *detail gets a static text.
 */
int pf_load(const char *buf, size_t len, json_t **out, const char **detail);

/*
 * Fill the fields of `base` named in tab[0..n) from object o. Keys of o that
 * are neither in tab nor in the NULL-terminated list `extra` are refused.
 * base must be zeroed by the caller. Returns VARSKO_OK or VARSKO_ERR_BAD_FRAME
 * with a static *detail.
 */
int pf_decode(const json_t *o, const struct pf_field *tab, size_t n, const char *const *extra, void *base,
              const char **detail);

/*
 * Validate the fields of `base` and add them to object o (owned by the
 * caller). Returns VARSKO_OK, VARSKO_ERR_BAD_FRAME (a value that would not
 * decode) or VARSKO_ERR_NOMEM.
 */
int pf_encode(json_t *o, const struct pf_field *tab, size_t n, const void *base, const char **detail);

/* Compact, sorted-key JSON text of o; *out owned by the caller (free()). */
int pf_dump(const json_t *o, char **out, size_t *len);

/* True when s[0..len) is valid for PF_ID / PF_TEXT with the given bounds. */
int pf_valid_id(const char *s, size_t len, size_t min, size_t max);
int pf_valid_text(const char *s, size_t len, size_t min, size_t max);

/* cert.c: the certificate object inside a frame. */
int proto_cert_decode_json(const json_t *o, struct proto_cert *c, const char **detail);
int proto_cert_encode_json(const struct proto_cert *c, json_t **out, const char **detail);

#endif
