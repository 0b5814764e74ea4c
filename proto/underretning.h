/*
 * underretning.h: the underretning document (DOMAIN.md "What an
 * underretning holds") and its cleartext routing header (DESIGN.md "The
 * underretning flow", step 1).
 *
 * The document is the JSON the fagperson's client builds and seals inside an
 * envelope (envelope.h); the gateway never sees it. The routing header is
 * derived from it and travels in clear: institution, age group, the flags
 * akut and handicap, the client's submission id and the creation time.
 *
 * Document fields (strict: every key listed, no other; types as given):
 *   institution        id, 1..PROTO_ID_MAX visible ASCII
 *   child              {name, cpr | birth_date (exactly one), address}
 *   parents            [0..UH_PARENTS_MAX {name, address?, phone?, custody}]
 *   interpreter        {needed, language (iff needed)}
 *   notifier           {name, role, relation}
 *   concern, observations, wellbeing, help_tried   texts, 1..UH_TEXT_MAX
 *   parents_contacted  {contacted, reaction (iff contacted) | reason (iff not)}
 *   akut, handicap     booleans
 *   attachments        optional [0..UH_ATTACH_MAX {id, name, media_type,
 *                      size, key, sha256}] (the key opens the file's
 *                      crypto_secretstream, sha256 is of the encrypted file)
 * Texts are UTF-8 without control characters; the long texts (UH_TEXT_MAX)
 * may hold line feeds and tabs. A CPR number is "DDMMYY-SSSS" or
 * "DDMMYYSSSS" naming a real date (century from the 7th digit, no modulus 11
 * check); it is stored as "DDMMYY-SSSS". birth_date is "YYYY-MM-DD".
 *
 * Errors never contain input bytes (they may be personal data): a code, a
 * problem kind and the JSON path ("parents[1].phone"); for an unknown key the
 * key itself, as struct uh_error shows it. Pure code, safe in any thread;
 * pointers are borrowed for the call unless said otherwise.
 */
#ifndef VARSKO_UNDERRETNING_H
#define VARSKO_UNDERRETNING_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define UH_DOC_MAX         (512u * 1024u) /* JSON text */
#define UH_TEXT_MAX        16000          /* concern, observations, ... (bytes) */
#define UH_NAME_MAX        PROTO_NAME_MAX
#define UH_ADDRESS_MAX     256
#define UH_PHONE_MAX       32  /* digits, spaces, '+', '-', '(', ')' */
#define UH_SHORT_MAX       128 /* role, relation, language */
#define UH_CPR_LEN         11  /* "DDMMYY-SSSS" */
#define UH_PARENTS_MAX     4
#define UH_ATTACH_MAX      16
#define UH_ATTACH_NAME_MAX 255
#define UH_MEDIA_TYPE_MAX  127
#define UH_ATTACH_SIZE_MAX (25u * 1024u * 1024u)
#define UH_PATH_MAX        64
#define UH_AGE_GROUP_MAX   5 /* "14-17" */

#define UH_TAG_ROUTING     "varsko-routing-v1"
#define UH_ROUTING_VERSION 1

struct uh_date {
	int year, month, day;
};

struct uh_parent {
	char name[UH_NAME_MAX + 1];
	char address[UH_ADDRESS_MAX + 1]; /* "" when absent */
	char phone[UH_PHONE_MAX + 1];     /* "" when absent */
	int custody;                      /* holds forældremyndighed */
};

struct uh_attachment {
	char id[PROTO_ID_MAX + 1];
	char name[UH_ATTACH_NAME_MAX + 1];
	char media_type[UH_MEDIA_TYPE_MAX + 1];
	uint64_t size; /* 1..UH_ATTACH_SIZE_MAX */
	uint8_t key[32];
	uint8_t sha256[32];
};

struct uh_doc {
	char institution[PROTO_ID_MAX + 1];
	struct {
		char name[UH_NAME_MAX + 1];
		char cpr[UH_CPR_LEN + 1]; /* "" when birth_date was given */
		struct uh_date birth;     /* from the CPR number or birth_date */
		char address[UH_ADDRESS_MAX + 1];
	} child;
	size_t n_parents;
	struct uh_parent parents[UH_PARENTS_MAX];
	struct {
		int needed;
		char language[UH_SHORT_MAX + 1];
	} interpreter;
	struct {
		char name[UH_NAME_MAX + 1];
		char role[UH_SHORT_MAX + 1];
		char relation[UH_SHORT_MAX + 1];
	} notifier;
	char concern[UH_TEXT_MAX + 1];
	char observations[UH_TEXT_MAX + 1];
	char wellbeing[UH_TEXT_MAX + 1];
	char help_tried[UH_TEXT_MAX + 1];
	struct {
		int contacted;
		char reaction[UH_TEXT_MAX + 1]; /* when contacted */
		char reason[UH_TEXT_MAX + 1];   /* when not */
	} parents_contacted;
	int akut;
	int handicap;
	size_t n_attachments;
	struct uh_attachment attachments[UH_ATTACH_MAX];
};

enum uh_problem {
	UH_PROBLEM_NONE = 0,
	UH_PROBLEM_JSON,          /* not one well-formed JSON object, or a duplicate key; path "" */
	UH_PROBLEM_MISSING,       /* a required field is absent */
	UH_PROBLEM_WRONG_TYPE,    /* the JSON type is wrong (null included) */
	UH_PROBLEM_TOO_LONG,      /* a string, array or number above its limit */
	UH_PROBLEM_BAD_VALUE,     /* empty, control characters, bad CPR or date, ... */
	UH_PROBLEM_UNKNOWN_FIELD, /* path is the unknown key itself ("child.fodselsdag") */
	UH_PROBLEM_NOT_ALLOWED,   /* present where another field forbids it (cpr with birth_date, ...) */
};

struct uh_error {
	enum uh_problem problem;
	/*
	 * "child.cpr", "parents[0].name", "" for the document. For
	 * UH_PROBLEM_UNKNOWN_FIELD the unknown key itself ("child.fodselsdag"),
	 * its characters outside [A-Za-z0-9_-] shown as '?', cut at 32.
	 */
	char path[UH_PATH_MAX];
	/* UH_PROBLEM_JSON: where the JSON stopped being valid (1-based; 0 when unknown), else 0. */
	size_t line, column;
};

#define UH_PROBLEMS_MAX 32 /* problems uh_parse_all() reports at most */

/* Stable English name of a problem ("missing"); never NULL. */
const char *uh_problem_name(enum uh_problem p);

/*
 * Parse and validate buf[0..len) (borrowed, need not be NUL-terminated).
 * On VARSKO_OK *out is owned by the caller (uh_doc_free()). Otherwise *out
 * is NULL, err (if not NULL) says what and where, and the result is
 * VARSKO_ERR_TOO_LARGE (len > UH_DOC_MAX), VARSKO_ERR_BAD_JSON,
 * VARSKO_ERR_DUPLICATE_KEY, VARSKO_ERR_BAD_FRAME (a field) or VARSKO_ERR_NOMEM.
 */
int uh_parse(const char *buf, size_t len, struct uh_doc **out, struct uh_error *err) VARSKO_WUR;

/*
 * uh_parse() that goes on after a problem: every field is checked (a field
 * whose parent is missing or of the wrong type is not), so that a writer
 * can fix them all at once. list[0..cap) receives the problems in the order
 * of the document's fields (list[0] is uh_parse()'s err), *n their number
 * (all of them, also beyond cap). Same result as uh_parse().
 */
int uh_parse_all(const char *buf, size_t len, struct uh_doc **out, struct uh_error *list, size_t cap, size_t *n)
        VARSKO_WUR;

/* Wipes and frees. NULL-safe. */
void uh_doc_free(struct uh_doc *d);

/*
 * The birth date of a CPR number s[0..len) ("DDMMYY-SSSS" or "DDMMYYSSSS").
 * The century comes from the 7th digit: 0-3 1900s; 4 and 9 2000s if YY <= 36,
 * else 1900s; 5-8 2000s if YY <= 57, else 1800s. No modulus 11 check (not
 * used since 2007). VARSKO_ERR_BAD_INPUT for anything else or an impossible date.
 */
int uh_cpr_birth_date(const char *s, size_t len, struct uh_date *out) VARSKO_WUR;

/*
 * The age group of a child born on *birth at local date *today: age in whole
 * years (someone born 29 February has a birthday on 1 March in other years)
 * 0-5 "0-5", 6-13 "6-13", 14-17 "14-17", 18-22 "18-22". *group is static.
 * VARSKO_ERR_BAD_INPUT for an invalid date, a birth after today or an age
 * above 22.
 */
int uh_age_group(const struct uh_date *birth, const struct uh_date *today, const char **group) VARSKO_WUR;

/* The cleartext routing header. */
struct uh_header {
	char institution[PROTO_ID_MAX + 1];
	char age_group[UH_AGE_GROUP_MAX + 1];
	int akut;                          /* 0 or 1 */
	int handicap;                      /* 0 or 1 */
	char submission[PROTO_ID_MAX + 1]; /* the client's submission id (idempotency) */
	int64_t created;                   /* Unix seconds, UTC */
};

/*
 * Derive the header of d. today_local is the Copenhagen date of `created`
 * (the caller converts, proto/ has no time zone); submission is 1..PROTO_ID_MAX
 * visible ASCII; created within 1970..9999. Returns VARSKO_OK or
 * VARSKO_ERR_BAD_INPUT (also for an age outside the groups); *out is zeroed
 * on failure.
 */
int uh_header_derive(const struct uh_doc *d, const struct uh_date *today_local, const char *submission, int64_t created,
                     struct uh_header *out) VARSKO_WUR;

/*
 * Canonical encoding (proto.h fields): UH_TAG_ROUTING, version 1,
 * institution, age group, akut (u64 0/1), handicap (u64 0/1), submission,
 * created (i64). Appends to b; returns b->err or VARSKO_ERR_BAD_INPUT for an
 * invalid header. These bytes are the envelope's routing header.
 */
int uh_header_encode(const struct uh_header *h, struct proto_buf *b) VARSKO_WUR;

/*
 * The inverse of uh_header_encode() for bytes from the wire (the routing
 * field of an envelope): exactly that field list and nothing after it, every
 * value valid as for uh_header_derive(). Returns VARSKO_OK or
 * VARSKO_ERR_BAD_INPUT (*out zeroed).
 */
int uh_header_decode(const uint8_t *p, size_t len, struct uh_header *out) VARSKO_WUR;

/*
 * JSON form: {"age_group":S,"akut":B,"created":"YYYY-MM-DDTHH:MM:SSZ",
 * "handicap":B,"institution":S,"submission":S}, compact, sorted keys.
 * to_json: *out owned by the caller (free()). from_json: strict (no
 * missing, unknown or duplicate key; a known age group); returns VARSKO_OK,
 * VARSKO_ERR_TOO_LARGE (len > PROTO_FRAME_MAX), VARSKO_ERR_BAD_JSON,
 * VARSKO_ERR_DUPLICATE_KEY or VARSKO_ERR_BAD_FRAME (*out zeroed).
 */
int uh_header_to_json(const struct uh_header *h, char **out, size_t *len) VARSKO_WUR;
int uh_header_from_json(const char *buf, size_t len, struct uh_header *out) VARSKO_WUR;

#endif
