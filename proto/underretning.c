/*
 * underretning.c: strict parsing of the underretning document, CPR numbers,
 * age groups and the cleartext routing header (underretning.h).
 *
 * The document is personal data. The parser copies only into the caller's
 * struct (wiped by uh_doc_free()), and the error it reports is a problem kind
 * and a JSON path built from this file's own key names and array indexes,
 * never from input bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "calendar.h"
#include "proto-internal.h"
#include "underretning.h"
#include "utf8.h"

const char *uh_problem_name(enum uh_problem p)
{
	switch (p) {
	case UH_PROBLEM_NONE:
		return "none";
	case UH_PROBLEM_JSON:
		return "bad_json";
	case UH_PROBLEM_MISSING:
		return "missing";
	case UH_PROBLEM_WRONG_TYPE:
		return "wrong_type";
	case UH_PROBLEM_TOO_LONG:
		return "too_long";
	case UH_PROBLEM_BAD_VALUE:
		return "bad_value";
	case UH_PROBLEM_UNKNOWN_FIELD:
		return "unknown_field";
	case UH_PROBLEM_NOT_ALLOWED:
		return "not_allowed";
	}
	return "unknown";
}

void uh_doc_free(struct uh_doc *d)
{
	if (d == NULL)
		return;
	sodium_memzero(d, sizeof(*d));
	free(d);
}

/* ---- dates, CPR, age ------------------------------------------------------ */

static int digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* n decimal digits of s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (digit(s[i]) < 0)
			return -1;
		v = v * 10 + digit(s[i]);
	}
	return v;
}

int uh_cpr_birth_date(const char *s, size_t len, struct uh_date *out)
{
	char c[10];
	int dd, mm, yy, d7, year;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (len == 11 && s[6] == '-') {
		memcpy(c, s, 6);
		memcpy(c + 6, s + 7, 4);
	} else if (len == 10) {
		memcpy(c, s, 10);
	} else {
		return VARSKO_ERR_BAD_INPUT;
	}
	for (int i = 0; i < 10; i++)
		if (digit(c[i]) < 0)
			return VARSKO_ERR_BAD_INPUT;
	dd = digits(c, 2);
	mm = digits(c + 2, 2);
	yy = digits(c + 4, 2);
	d7 = digit(c[6]);
	if (d7 <= 3)
		year = 1900 + yy;
	else if (d7 == 4 || d7 == 9)
		year = yy <= 36 ? 2000 + yy : 1900 + yy;
	else
		year = yy <= 57 ? 2000 + yy : 1800 + yy;
	if (!cal_date_valid(year, mm, dd))
		return VARSKO_ERR_BAD_INPUT;
	out->year = year;
	out->month = mm;
	out->day = dd;
	return VARSKO_OK;
}

/* Strict "YYYY-MM-DD" of a valid date, years 1800..9999. */
static int parse_date(const char *s, size_t len, struct uh_date *out)
{
	struct cal_date d;

	if (cal_parse_date(s, len, &d) != VARSKO_OK || d.year < 1800)
		return VARSKO_ERR_BAD_INPUT;
	out->year = d.year;
	out->month = d.month;
	out->day = d.day;
	return VARSKO_OK;
}

int uh_age_group(const struct uh_date *birth, const struct uh_date *today, const char **group)
{
	int age;

	if (group == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*group = NULL;
	if (birth == NULL || today == NULL || !cal_date_valid(birth->year, birth->month, birth->day) ||
	    !cal_date_valid(today->year, today->month, today->day))
		return VARSKO_ERR_BAD_INPUT;
	age = today->year - birth->year;
	if (today->month < birth->month || (today->month == birth->month && today->day < birth->day))
		age--;
	/* age < 0 exactly when birth is after today. */
	if (age < 0 || age > 22)
		return VARSKO_ERR_BAD_INPUT;
	*group = age <= 5 ? "0-5" : age <= 13 ? "6-13" : age <= 17 ? "14-17" : "18-22";
	return VARSKO_OK;
}

/* ---- the document -------------------------------------------------------- */

/* The problems found so far: the first cap in list, all of them counted in n. */
struct ctx {
	struct uh_error *list;
	size_t cap, n;
};

/* r, unless it is VARSKO_OK and r2 is not: the first failure of a run of independent checks. */
static int first(int r, int r2)
{
	return r != VARSKO_OK ? r : r2;
}

static void path_cat(char out[UH_PATH_MAX], const char *s);

/* Record a problem at path and return VARSKO_ERR_BAD_FRAME. */
static int fail(struct ctx *c, enum uh_problem p, const char *path)
{
	if (c->n < c->cap) {
		struct uh_error *e = &c->list[c->n];

		memset(e, 0, sizeof(*e));
		e->problem = p;
		path_cat(e->path, path);
	}
	c->n++;
	return VARSKO_ERR_BAD_FRAME;
}

/* Append s to out[UH_PATH_MAX], cutting at the end (paths are built from this file's short key names). */
static void path_cat(char out[UH_PATH_MAX], const char *s)
{
	size_t n = strlen(out), m = strlen(s);

	if (m > UH_PATH_MAX - 1 - n)
		m = UH_PATH_MAX - 1 - n;
	memcpy(out + n, s, m);
	out[n + m] = '\0';
}

static void join(char out[UH_PATH_MAX], const char *parent, const char *key)
{
	out[0] = '\0';
	path_cat(out, parent);
	if (parent[0] != '\0')
		path_cat(out, ".");
	path_cat(out, key);
}

static void join_idx(char out[UH_PATH_MAX], const char *parent, size_t i)
{
	char num[24];
	size_t k = sizeof(num) - 1;

	num[k] = '\0';
	do {
		num[--k] = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0 && k > 1);
	num[--k] = '[';
	out[0] = '\0';
	path_cat(out, parent);
	path_cat(out, num + k);
	path_cat(out, "]");
}

/*
 * An unknown key as it may be shown: the writer's own field name (a typo,
 * a field of another form), never a value. Characters outside
 * [A-Za-z0-9_-] become '?', and it is cut at 32 bytes.
 */
static void key_shown(char out[UH_PATH_MAX], const char *parent, const char *key)
{
	char k[36];
	size_t i;

	for (i = 0; key[i] != '\0' && i < 32; i++)
		k[i] = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
		                       (key[i] >= '0' && key[i] <= '9') || key[i] == '_' || key[i] == '-'
		               ? key[i]
		               : '?';
	k[i] = '\0';
	if (key[i] != '\0')
		memcpy(k + 29, "...", 4);
	join(out, parent, k);
}

/* Refuse every key of o that is not in the NULL-terminated list `keys`, each by its name. */
static int only_keys(struct ctx *c, const json_t *o, const char *path, const char *const *keys)
{
	char shown[UH_PATH_MAX];
	const char *k;
	json_t *v;
	int r = VARSKO_OK;

	json_object_foreach((json_t *)o, k, v)
	{
		size_t i;

		for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
			;
		if (keys[i] == NULL) {
			key_shown(shown, path, k);
			r = fail(c, UH_PROBLEM_UNKNOWN_FIELD, shown);
		}
	}
	return r;
}

enum text_kind {
	TK_LINE,  /* one line of text */
	TK_MULTI, /* line feeds and tabs allowed */
	TK_ID,    /* visible ASCII */
	TK_PHONE, /* digits, space, + - ( ) */
};

static int valid_phone(const char *s, size_t len)
{
	size_t nd = 0;

	for (size_t i = 0; i < len; i++) {
		if (digit(s[i]) >= 0)
			nd++;
		else if (strchr(" +-()", s[i]) == NULL || s[i] == '\0')
			return 0;
	}
	return nd >= 3;
}

/*
 * Copy string field o[key] into dst[max + 1]. Absent: MISSING when required,
 * else dst = "" and *present = 0 (present may be NULL).
 */
static int get_text(struct ctx *c, const json_t *o, const char *parent, const char *key, char *dst, size_t min,
                    size_t max, enum text_kind tk, int required, int *present)
{
	char path[UH_PATH_MAX];
	const json_t *v = json_object_get(o, key);
	const char *s;
	size_t len;
	int ok;

	join(path, parent, key);
	dst[0] = '\0';
	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return required ? fail(c, UH_PROBLEM_MISSING, path) : VARSKO_OK;
	if (!json_is_string(v))
		return fail(c, UH_PROBLEM_WRONG_TYPE, path);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > max)
		return fail(c, UH_PROBLEM_TOO_LONG, path);
	switch (tk) {
	case TK_LINE:
		ok = pf_valid_text(s, len, min, max);
		break;
	case TK_MULTI:
		ok = len >= min && proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL | PROTO_UTF8_LF_TAB);
		break;
	case TK_ID:
		ok = pf_valid_id(s, len, min, max);
		break;
	default:
		ok = len >= min && valid_phone(s, len);
		break;
	}
	/* Text that is only blanks says nothing. */
	if (ok && min > 0) {
		size_t i;
		for (i = 0; i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t'); i++)
			;
		ok = i < len;
	}
	if (!ok)
		return fail(c, UH_PROBLEM_BAD_VALUE, path);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return VARSKO_OK;
}

static int get_bool(struct ctx *c, const json_t *o, const char *parent, const char *key, int *dst)
{
	char path[UH_PATH_MAX];
	const json_t *v = json_object_get(o, key);

	join(path, parent, key);
	if (v == NULL)
		return fail(c, UH_PROBLEM_MISSING, path);
	if (!json_is_boolean(v))
		return fail(c, UH_PROBLEM_WRONG_TYPE, path);
	*dst = json_is_true(v);
	return VARSKO_OK;
}

/* o[key] as an object (required); its path in path[]. */
static int get_obj(struct ctx *c, const json_t *o, const char *key, char path[UH_PATH_MAX], const json_t **out)
{
	const json_t *v = json_object_get(o, key);

	join(path, "", key);
	*out = NULL;
	if (v == NULL)
		return fail(c, UH_PROBLEM_MISSING, path);
	if (!json_is_object(v))
		return fail(c, UH_PROBLEM_WRONG_TYPE, path);
	*out = v;
	return VARSKO_OK;
}

static int child_birth(struct ctx *c, const json_t *o, const char *path, struct uh_doc *d);

static int parse_child(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	static const char *const keys[] = {"name", "cpr", "birth_date", "address", NULL};
	char path[UH_PATH_MAX];
	const json_t *o;
	int r;

	if ((r = get_obj(c, root, "child", path, &o)) != VARSKO_OK)
		return r;
	r = only_keys(c, o, path, keys);
	r = first(r, get_text(c, o, path, "name", d->child.name, 1, UH_NAME_MAX, TK_LINE, 1, NULL));
	/* One statement each: the order of the problems is the order of the fields, not the compiler's. */
	r = first(r, child_birth(c, o, path, d));
	return first(r, get_text(c, o, path, "address", d->child.address, 1, UH_ADDRESS_MAX, TK_LINE, 1, NULL));
}

/* The child's cpr or birth_date (exactly one of them). */
static int child_birth(struct ctx *c, const json_t *o, const char *path, struct uh_doc *d)
{
	char fp[UH_PATH_MAX];
	const json_t *cpr, *bd;

	cpr = json_object_get(o, "cpr");
	bd = json_object_get(o, "birth_date");
	if (cpr != NULL && bd != NULL) {
		join(fp, path, "birth_date");
		return fail(c, UH_PROBLEM_NOT_ALLOWED, fp);
	}
	if (cpr == NULL && bd == NULL) {
		join(fp, path, "cpr");
		return fail(c, UH_PROBLEM_MISSING, fp);
	}
	if (cpr != NULL) {
		join(fp, path, "cpr");
		if (!json_is_string(cpr))
			return fail(c, UH_PROBLEM_WRONG_TYPE, fp);
		if (json_string_length(cpr) > UH_CPR_LEN)
			return fail(c, UH_PROBLEM_TOO_LONG, fp);
		if (uh_cpr_birth_date(json_string_value(cpr), json_string_length(cpr), &d->child.birth) != VARSKO_OK)
			return fail(c, UH_PROBLEM_BAD_VALUE, fp);
		{
			const char *s = json_string_value(cpr);
			size_t tail = json_string_length(cpr) == 11 ? 7 : 6;
			memcpy(d->child.cpr, s, 6);
			d->child.cpr[6] = '-';
			memcpy(d->child.cpr + 7, s + tail, 4);
			d->child.cpr[UH_CPR_LEN] = '\0';
		}
	} else {
		join(fp, path, "birth_date");
		if (!json_is_string(bd))
			return fail(c, UH_PROBLEM_WRONG_TYPE, fp);
		if (json_string_length(bd) > 10)
			return fail(c, UH_PROBLEM_TOO_LONG, fp);
		if (parse_date(json_string_value(bd), json_string_length(bd), &d->child.birth) != VARSKO_OK)
			return fail(c, UH_PROBLEM_BAD_VALUE, fp);
	}
	return VARSKO_OK;
}

static int parse_parents(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	static const char *const keys[] = {"name", "address", "phone", "custody", NULL};
	const json_t *a = json_object_get(root, "parents");
	char path[UH_PATH_MAX];
	int r;

	if (a == NULL)
		return fail(c, UH_PROBLEM_MISSING, "parents");
	if (!json_is_array(a))
		return fail(c, UH_PROBLEM_WRONG_TYPE, "parents");
	if (json_array_size(a) > UH_PARENTS_MAX)
		return fail(c, UH_PROBLEM_TOO_LONG, "parents");
	r = VARSKO_OK;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *p = json_array_get(a, i);
		struct uh_parent *pp = &d->parents[i];

		join_idx(path, "parents", i);
		if (!json_is_object(p)) {
			r = fail(c, UH_PROBLEM_WRONG_TYPE, path);
			continue;
		}
		r = first(r, only_keys(c, p, path, keys));
		r = first(r, get_text(c, p, path, "name", pp->name, 1, UH_NAME_MAX, TK_LINE, 1, NULL));
		r = first(r, get_text(c, p, path, "address", pp->address, 1, UH_ADDRESS_MAX, TK_LINE, 0, NULL));
		r = first(r, get_text(c, p, path, "phone", pp->phone, 1, UH_PHONE_MAX, TK_PHONE, 0, NULL));
		r = first(r, get_bool(c, p, path, "custody", &pp->custody));
		d->n_parents = i + 1;
	}
	return r;
}

static int parse_interpreter(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	static const char *const keys[] = {"needed", "language", NULL};
	char path[UH_PATH_MAX], fp[UH_PATH_MAX];
	const json_t *o;
	int r;

	if ((r = get_obj(c, root, "interpreter", path, &o)) != VARSKO_OK)
		return r;
	r = only_keys(c, o, path, keys);
	/* Whether a language belongs depends on needed: without a usable needed, it is not checked. */
	if ((r = first(r, get_bool(c, o, path, "needed", &d->interpreter.needed))) != VARSKO_OK &&
	    !json_is_boolean(json_object_get(o, "needed")))
		return r;
	if (!d->interpreter.needed) {
		join(fp, path, "language");
		return first(r, json_object_get(o, "language") ? fail(c, UH_PROBLEM_NOT_ALLOWED, fp) : VARSKO_OK);
	}
	return first(r, get_text(c, o, path, "language", d->interpreter.language, 1, UH_SHORT_MAX, TK_LINE, 1, NULL));
}

static int parse_notifier(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	static const char *const keys[] = {"name", "role", "relation", NULL};
	char path[UH_PATH_MAX];
	const json_t *o;
	int r;

	if ((r = get_obj(c, root, "notifier", path, &o)) != VARSKO_OK)
		return r;
	r = only_keys(c, o, path, keys);
	r = first(r, get_text(c, o, path, "name", d->notifier.name, 1, UH_NAME_MAX, TK_LINE, 1, NULL));
	r = first(r, get_text(c, o, path, "role", d->notifier.role, 1, UH_SHORT_MAX, TK_LINE, 1, NULL));
	return first(r, get_text(c, o, path, "relation", d->notifier.relation, 1, UH_SHORT_MAX, TK_LINE, 1, NULL));
}

static int parse_contacted(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	static const char *const keys[] = {"contacted", "reaction", "reason", NULL};
	char path[UH_PATH_MAX], fp[UH_PATH_MAX];
	const json_t *o;
	int r;

	if ((r = get_obj(c, root, "parents_contacted", path, &o)) != VARSKO_OK)
		return r;
	r = only_keys(c, o, path, keys);
	/* Which text belongs depends on contacted: without a usable contacted, neither is checked. */
	if ((r = first(r, get_bool(c, o, path, "contacted", &d->parents_contacted.contacted))) != VARSKO_OK &&
	    !json_is_boolean(json_object_get(o, "contacted")))
		return r;
	if (d->parents_contacted.contacted) {
		join(fp, path, "reason");
		if (json_object_get(o, "reason") != NULL)
			r = fail(c, UH_PROBLEM_NOT_ALLOWED, fp);
		return first(r, get_text(c, o, path, "reaction", d->parents_contacted.reaction, 1, UH_TEXT_MAX,
		                         TK_MULTI, 1, NULL));
	}
	join(fp, path, "reaction");
	if (json_object_get(o, "reaction") != NULL)
		r = fail(c, UH_PROBLEM_NOT_ALLOWED, fp);
	return first(r, get_text(c, o, path, "reason", d->parents_contacted.reason, 1, UH_TEXT_MAX, TK_MULTI, 1, NULL));
}

/* A base64 string of exactly 32 bytes. */
static int get_b64_32(struct ctx *c, const json_t *o, const char *parent, const char *key, uint8_t out[32])
{
	char path[UH_PATH_MAX];
	const json_t *v = json_object_get(o, key);

	join(path, parent, key);
	if (v == NULL)
		return fail(c, UH_PROBLEM_MISSING, path);
	if (!json_is_string(v))
		return fail(c, UH_PROBLEM_WRONG_TYPE, path);
	if (json_string_length(v) != 44 || strlen(json_string_value(v)) != 44 ||
	    proto_b64_decode_exact(json_string_value(v), out, 32) != VARSKO_OK)
		return fail(c, UH_PROBLEM_BAD_VALUE, path);
	return VARSKO_OK;
}

static int parse_attachment(struct ctx *c, const json_t *o, const char *path, struct uh_doc *d, size_t i);

static int parse_attachments(struct ctx *c, const json_t *root, struct uh_doc *d)
{
	const json_t *a = json_object_get(root, "attachments");
	char path[UH_PATH_MAX];
	int r;

	if (a == NULL)
		return VARSKO_OK;
	if (!json_is_array(a))
		return fail(c, UH_PROBLEM_WRONG_TYPE, "attachments");
	if (json_array_size(a) > UH_ATTACH_MAX)
		return fail(c, UH_PROBLEM_TOO_LONG, "attachments");
	r = VARSKO_OK;
	for (size_t i = 0; i < json_array_size(a); i++) {
		join_idx(path, "attachments", i);
		r = first(r, parse_attachment(c, json_array_get(a, i), path, d, i));
	}
	return r;
}

/* Attachment i of the document, at path. */
static int parse_attachment(struct ctx *c, const json_t *o, const char *path, struct uh_doc *d, size_t i)
{
	static const char *const keys[] = {"id", "name", "media_type", "size", "key", "sha256", NULL};
	char fp[UH_PATH_MAX];
	const json_t *sz;
	struct uh_attachment *at = &d->attachments[i];
	int r;

	if (!json_is_object(o))
		return fail(c, UH_PROBLEM_WRONG_TYPE, path);
	if ((r = only_keys(c, o, path, keys)) != VARSKO_OK ||
	    (r = get_text(c, o, path, "id", at->id, 1, PROTO_ID_MAX, TK_ID, 1, NULL)) != VARSKO_OK ||
	    (r = get_text(c, o, path, "name", at->name, 1, UH_ATTACH_NAME_MAX, TK_LINE, 1, NULL)) !=
	            VARSKO_OK ||
	    (r = get_text(c, o, path, "media_type", at->media_type, 3, UH_MEDIA_TYPE_MAX, TK_ID, 1, NULL)) !=
	            VARSKO_OK)
		return r;
	if (strchr(at->media_type, '/') == NULL) {
		join(fp, path, "media_type");
		return fail(c, UH_PROBLEM_BAD_VALUE, fp);
	}
	join(fp, path, "size");
	sz = json_object_get(o, "size");
	if (sz == NULL)
		return fail(c, UH_PROBLEM_MISSING, fp);
	if (!json_is_integer(sz))
		return fail(c, UH_PROBLEM_WRONG_TYPE, fp);
	if (json_integer_value(sz) > (json_int_t)UH_ATTACH_SIZE_MAX)
		return fail(c, UH_PROBLEM_TOO_LONG, fp);
	if (json_integer_value(sz) < 1)
		return fail(c, UH_PROBLEM_BAD_VALUE, fp);
	at->size = (uint64_t)json_integer_value(sz);
	if ((r = get_b64_32(c, o, path, "key", at->key)) != VARSKO_OK ||
	    (r = get_b64_32(c, o, path, "sha256", at->sha256)) != VARSKO_OK)
		return r;
	for (size_t j = 0; j < i; j++)
		if (strcmp(d->attachments[j].id, at->id) == 0) {
			join(fp, path, "id");
			return fail(c, UH_PROBLEM_BAD_VALUE, fp);
		}
	d->n_attachments = i + 1;
	return VARSKO_OK;
}

int uh_parse_all(const char *buf, size_t len, struct uh_doc **out, struct uh_error *list, size_t cap, size_t *n)
{
	static const char *const keys[] = {
	        "institution", "child",        "parents",     "interpreter", "notifier",
	        "concern",     "observations", "wellbeing",   "help_tried",  "parents_contacted",
	        "akut",        "handicap",     "attachments", NULL};
	struct uh_error dummy;
	struct ctx c = {list != NULL && cap > 0 ? list : &dummy, list != NULL && cap > 0 ? cap : 1, 0};
	struct uh_doc *d = NULL;
	json_t *o = NULL;
	size_t line = 0, column = 0;
	int r;

	memset(c.list, 0, sizeof(*c.list));
	if (n != NULL)
		*n = 0;
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	/* NUL inside strings is parsed so that it is refused as a field error with its path. */
	if ((r = pf_load_at(buf, len, UH_DOC_MAX, JSON_ALLOW_NUL, &o, NULL, &line, &column)) != VARSKO_OK) {
		c.list->problem = r == VARSKO_ERR_TOO_LARGE ? UH_PROBLEM_TOO_LONG : UH_PROBLEM_JSON;
		c.list->line = line;
		c.list->column = column;
		if (n != NULL)
			*n = 1;
		return r;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* Each field on its own, so that every problem is reported, not only the first. */
	r = only_keys(&c, o, "", keys);
	r = first(r, get_text(&c, o, "", "institution", d->institution, 1, PROTO_ID_MAX, TK_ID, 1, NULL));
	r = first(r, parse_child(&c, o, d));
	r = first(r, parse_parents(&c, o, d));
	r = first(r, parse_interpreter(&c, o, d));
	r = first(r, parse_notifier(&c, o, d));
	r = first(r, get_text(&c, o, "", "concern", d->concern, 1, UH_TEXT_MAX, TK_MULTI, 1, NULL));
	r = first(r, get_text(&c, o, "", "observations", d->observations, 1, UH_TEXT_MAX, TK_MULTI, 1, NULL));
	r = first(r, get_text(&c, o, "", "wellbeing", d->wellbeing, 1, UH_TEXT_MAX, TK_MULTI, 1, NULL));
	r = first(r, get_text(&c, o, "", "help_tried", d->help_tried, 1, UH_TEXT_MAX, TK_MULTI, 1, NULL));
	r = first(r, parse_contacted(&c, o, d));
	r = first(r, get_bool(&c, o, "", "akut", &d->akut));
	r = first(r, get_bool(&c, o, "", "handicap", &d->handicap));
	r = first(r, parse_attachments(&c, o, d));
	if (n != NULL)
		*n = c.n;
	if (r != VARSKO_OK)
		goto out;
	*out = d;
	d = NULL;
out:
	uh_doc_free(d);
	/* jansson's copies of the strings are personal data too; they cannot be wiped through its API. */
	json_decref(o);
	return r;
}

int uh_parse(const char *buf, size_t len, struct uh_doc **out, struct uh_error *err)
{
	struct uh_error dummy;

	return uh_parse_all(buf, len, out, err != NULL ? err : &dummy, 1, NULL);
}

/* ---- routing header ------------------------------------------------------- */

static int valid_group(const char *g)
{
	return strcmp(g, "0-5") == 0 || strcmp(g, "6-13") == 0 || strcmp(g, "14-17") == 0 || strcmp(g, "18-22") == 0;
}

/* 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, the range of proto_time_*. */
#define UH_TIME_MIN 0
#define UH_TIME_MAX 253402300799LL

static int header_valid(const struct uh_header *h)
{
	return h != NULL && memchr(h->institution, '\0', sizeof(h->institution)) != NULL &&
	       pf_valid_id(h->institution, strlen(h->institution), 1, PROTO_ID_MAX) &&
	       memchr(h->age_group, '\0', sizeof(h->age_group)) != NULL && valid_group(h->age_group) &&
	       (h->akut == 0 || h->akut == 1) && (h->handicap == 0 || h->handicap == 1) &&
	       memchr(h->submission, '\0', sizeof(h->submission)) != NULL &&
	       pf_valid_id(h->submission, strlen(h->submission), 1, PROTO_ID_MAX) && h->created >= UH_TIME_MIN &&
	       h->created <= UH_TIME_MAX;
}

int uh_header_derive(const struct uh_doc *d, const struct uh_date *today_local, const char *submission, int64_t created,
                     struct uh_header *out)
{
	const char *g;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (d == NULL || submission == NULL || strlen(submission) > PROTO_ID_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if (uh_age_group(&d->child.birth, today_local, &g) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	snprintf(out->institution, sizeof(out->institution), "%s", d->institution);
	snprintf(out->age_group, sizeof(out->age_group), "%s", g);
	out->akut = d->akut ? 1 : 0;
	out->handicap = d->handicap ? 1 : 0;
	snprintf(out->submission, sizeof(out->submission), "%s", submission);
	out->created = created;
	if (!header_valid(out)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_INPUT;
	}
	return VARSKO_OK;
}

int uh_header_encode(const struct uh_header *h, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!header_valid(h))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, UH_TAG_ROUTING);
	proto_buf_put_u64(b, UH_ROUTING_VERSION);
	proto_buf_put_str(b, h->institution);
	proto_buf_put_str(b, h->age_group);
	proto_buf_put_u64(b, (uint64_t)h->akut);
	proto_buf_put_u64(b, (uint64_t)h->handicap);
	proto_buf_put_str(b, h->submission);
	proto_buf_put_i64(b, h->created);
	return b->err;
}

int uh_header_decode(const uint8_t *p, size_t len, struct uh_header *out)
{
	char tag[sizeof(UH_TAG_ROUTING)];
	uint64_t version, akut, handicap, created;
	size_t pos = 0;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (proto_field_str(p, len, &pos, tag, sizeof(tag)) != VARSKO_OK || strcmp(tag, UH_TAG_ROUTING) != 0 ||
	    proto_field_u64(p, len, &pos, &version) != VARSKO_OK || version != UH_ROUTING_VERSION ||
	    proto_field_str(p, len, &pos, out->institution, sizeof(out->institution)) != VARSKO_OK ||
	    proto_field_str(p, len, &pos, out->age_group, sizeof(out->age_group)) != VARSKO_OK ||
	    proto_field_u64(p, len, &pos, &akut) != VARSKO_OK || akut > 1 ||
	    proto_field_u64(p, len, &pos, &handicap) != VARSKO_OK || handicap > 1 ||
	    proto_field_str(p, len, &pos, out->submission, sizeof(out->submission)) != VARSKO_OK ||
	    proto_field_u64(p, len, &pos, &created) != VARSKO_OK || pos != len)
		goto bad;
	out->akut = (int)akut;
	out->handicap = (int)handicap;
	/* Two's complement; header_valid() refuses anything outside 1970..9999. */
	out->created = created > (uint64_t)INT64_MAX ? -1 : (int64_t)created;
	if (!header_valid(out))
		goto bad;
	return VARSKO_OK;
bad:
	memset(out, 0, sizeof(*out));
	return VARSKO_ERR_BAD_INPUT;
}

/* The header's JSON form, a table for the schema engine; header_valid() adds the age groups. */
#define HO(m) offsetof(struct uh_header, m)
static const struct pf_field header_fields[] = {
        {"age_group", PF_ID, 1, 1, UH_AGE_GROUP_MAX, HO(age_group), 0, NULL, NULL},
        {"akut", PF_BOOL, 1, 0, 0, HO(akut), 0, NULL, NULL},
        {"created", PF_TIME, 1, 0, 0, HO(created), 0, NULL, NULL},
        {"handicap", PF_BOOL, 1, 0, 0, HO(handicap), 0, NULL, NULL},
        {"institution", PF_ID, 1, 1, PROTO_ID_MAX, HO(institution), 0, NULL, NULL},
        {"submission", PF_ID, 1, 1, PROTO_ID_MAX, HO(submission), 0, NULL, NULL},
};

int uh_header_to_json(const struct uh_header *h, char **out, size_t *len)
{
	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (!header_valid(h))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_text(header_fields, PF_N(header_fields), h, out, len);
}

int uh_header_from_json(const char *buf, size_t len, struct uh_header *out)
{
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	r = pf_decode_text(buf, len, PROTO_FRAME_MAX, JSON_ALLOW_NUL, header_fields, PF_N(header_fields), out);
	if (r == VARSKO_OK && !header_valid(out))
		r = VARSKO_ERR_BAD_FRAME;
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return r;
}
