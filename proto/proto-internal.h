/*
 * proto-internal.h: the one table-driven JSON schema engine of proto/
 * (schema.c), shared by frames (codec.c), certificates (cert.c) and the
 * objects and frames of the underretning flow (flow.c). Not part of the
 * proto.h contract; only the .c files of proto/ include it.
 *
 * A message kind is a table of fields. Each field names its JSON key, its
 * kind (which fixes both the JSON type and the C storage), whether it is
 * required, its bounds and where it lives in the C struct. Decoding and
 * encoding walk the same table, so what is accepted and what is produced
 * cannot drift apart. Decoding with no struct (base NULL) only checks: the
 * flow frames are checked this way and handed on as JSON.
 */
#ifndef VARSKO_PROTO_INTERNAL_H
#define VARSKO_PROTO_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "proto.h"

enum pf_kind {
	PF_ID,       /* string of visible ASCII (0x21..0x7e), min..max bytes; char[max + 1] */
	PF_TEXT,     /* UTF-8 string without control characters, min..max bytes; char[max + 1] */
	PF_REF,      /* an underretning reference "U-YYYY-NNNNNN" (6..9 digits), at most max bytes; char[max + 1] */
	PF_ENUM,     /* one of the strings sub[0..max) (const char *const *); int, 1 + its index */
	PF_B64,      /* standard padded base64 of exactly max bytes; uint8_t[max]. When off2 is not 0 the
	                field is optional and off2 is an int that says whether it is present */
	PF_BYTES,    /* standard padded base64 of min..max bytes; uint8_t * at off (malloc'ed, NULL for none: the
	                struct's own free function frees it, also after a failed decode), size_t length at off2 */
	PF_TIME,     /* "YYYY-MM-DDTHH:MM:SSZ"; int64_t */
	PF_VERSION1, /* JSON integer that must be 1; uint32_t */
	PF_U32POS,   /* JSON integer 1..UINT32_MAX; uint32_t */
	PF_U64,      /* JSON integer min..INT64_MAX; uint64_t */
	PF_BOOL,     /* true or false; int 1 or 0, an optional one -1 when absent (and omitted when -1) */
	PF_IDLIST,   /* array of 0..max PF_ID strings (1..PROTO_ID_MAX bytes each); char[max][PROTO_ID_MAX + 1] at off,
	                size_t count at off2 */
	PF_OBJ,      /* an object of table sub (const struct pf_table *) stored at off, or, when sub is NULL, any
	                object (checked later by its own parser, not stored) */
	PF_OBJLIST,  /* array of min..max objects, each as PF_OBJ; table sub's size apart from off, size_t count
	                at off2 */
};

struct pf_field {
	const char *name;
	enum pf_kind kind;
	unsigned char required; /* an optional string is "" when absent and omitted when "" */
	size_t min, max;
	size_t off, off2;
	const void *sub; /* PF_ENUM, PF_OBJ, PF_OBJLIST: see above */
	const char *bad; /* *detail for a refused value instead of the engine's own text, or NULL (not for a
	                    value that should be a string and is not: that keeps the engine's text) */
};

/* A message kind: its fields and the size of the C struct they fill. */
struct pf_table {
	const struct pf_field *fields;
	size_t n;
	size_t size;
};

#define PF_N(tab) (sizeof(tab) / sizeof((tab)[0]))

/* A frame type: its wire name, its fields, and whether it may carry a request "id". */
struct pf_type {
	const char *name;
	const struct pf_field *fields;
	size_t n;
	int has_id;
};

/*
 * Parse buf[0..len) as exactly one JSON object (no trailing bytes, duplicate
 * keys refused). flags are added to jansson's JSON_REJECT_DUPLICATES: pass
 * JSON_ALLOW_NUL so that a NUL inside a string is refused later as a field
 * error. *out is owned by the caller (json_decref). Returns VARSKO_OK,
 * VARSKO_ERR_TOO_LARGE (len > max), VARSKO_ERR_DUPLICATE_KEY or
 * VARSKO_ERR_BAD_JSON; *detail (detail may be NULL) gets a static text.
 */
int pf_load(const char *buf, size_t len, size_t max, size_t flags, json_t **out, const char **detail) VARSKO_WUR;

/*
 * Fill the fields of `base` named in tab[0..n) from object o; base NULL only
 * checks. Keys of o that are neither in tab nor in the NULL-terminated list
 * `extra` are refused. base must be zeroed by the caller (and optional
 * PF_BOOLs set to -1). Returns VARSKO_OK or VARSKO_ERR_BAD_FRAME with a
 * static *detail.
 */
int pf_decode(const json_t *o, const struct pf_field *tab, size_t n, const char *const *extra, void *base,
              const char **detail) VARSKO_WUR;

/*
 * Validate the fields of `base` and add them to object o (owned by the
 * caller). Returns VARSKO_OK, VARSKO_ERR_BAD_FRAME (a value that would not
 * decode) or VARSKO_ERR_NOMEM.
 */
int pf_encode(json_t *o, const struct pf_field *tab, size_t n, const void *base, const char **detail) VARSKO_WUR;

/* Compact, sorted-key JSON text of o; *out owned by the caller (free()). */
int pf_dump(const json_t *o, char **out, size_t *len) VARSKO_WUR;

/*
 * Whole messages: base by tab as a new object (*out owned by the caller,
 * json_decref) or as its text (pf_dump()), where a value that would not
 * decode is VARSKO_ERR_BAD_INPUT; and text to base (pf_load() then
 * pf_decode(); base zeroed by the caller, and its owned fields freed by the
 * caller also on failure).
 */
int pf_encode_object(const struct pf_field *tab, size_t n, const void *base, json_t **out) VARSKO_WUR;
int pf_encode_text(const struct pf_field *tab, size_t n, const void *base, char **out, size_t *len) VARSKO_WUR;
int pf_decode_text(const char *buf, size_t len, size_t max, size_t flags, const struct pf_field *tab, size_t n,
                   void *base) VARSKO_WUR;

/*
 * The dispatch on "type": the index of the type named s[0..len) in
 * types[0..n) (entries without a name are skipped), or -1.
 */
int pf_type_find(const struct pf_type *types, size_t n, const char *s, size_t len) VARSKO_WUR;

/*
 * The head of a frame object: a valid "id" is copied to id[PROTO_ID_MAX + 1]
 * (else id is "" and *id_bad is 1 when one is present); *type gets the
 * "type" string and *tlen its length, or NULL with *detail when it is
 * missing or not a string.
 */
void pf_frame_head(const json_t *o, char *id, int *id_bad, const char **type, size_t *tlen, const char **detail);

/*
 * Check object o against frame type t: its fields and "type", plus "id"
 * when t may carry one (a push that carries one is refused). id_bad comes
 * from pf_frame_head(). base as for pf_decode(). VARSKO_OK or
 * VARSKO_ERR_BAD_FRAME with *detail.
 */
int pf_frame_check(const json_t *o, const struct pf_type *t, int id_bad, void *base, const char **detail) VARSKO_WUR;

/* True when s[0..len) is valid for PF_ID / PF_TEXT / PF_REF with the given bounds. */
int pf_valid_id(const char *s, size_t len, size_t min, size_t max);
int pf_valid_text(const char *s, size_t len, size_t min, size_t max);
int pf_valid_ref(const char *s, size_t len, size_t max);

/* cert.c: the certificate table, for certificates inside other objects. */
extern const struct pf_table proto_cert_table;

/* thread.c: the read mark (MARK, PROTOCOL.md 17.2), for the thread frames that carry marks. */
extern const struct pf_table thread_mark_table;

/* codec.c: a loaded frame object of one of proto.h's types -> *out (see proto_frame_decode()). */
int proto_frame_from_json(const json_t *o, struct proto_frame *out, const char **detail) VARSKO_WUR;

#endif
