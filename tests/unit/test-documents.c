/*
 * test-documents.c: proto/vectors/documents.json, the corpus of underretning
 * documents the web client is tested against (tests/web/vectors/documents.mjs),
 * still says what proto/underretning.c does. Every valid document parses with
 * no problem, the birth date and stored CPR number given, and the routing
 * header given (or none: refused) at the Copenhagen date of its `created`;
 * every invalid one gives exactly the problems listed, in order, and
 * uh_parse() the first of them. When this fails, the C rules changed:
 * regenerate the corpus (proto/vectors/documents-gen.py) and let the web
 * client follow.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "calendar.h"
#include "check.h"
#include "underretning.h"
#include "varsko/err.h"

#define CAP 256

static const json_t *defaults;

/* The case's document bytes (malloc'ed): text or bytes_b64, then spaces up to pad_to. */
static char *case_bytes(const json_t *c, size_t *len)
{
	const json_t *t = json_object_get(c, "text"), *b = json_object_get(c, "bytes_b64");
	size_t n = 0, pad = (size_t)json_integer_value(json_object_get(c, "pad_to")), cap;
	char *p;

	if (t != NULL) {
		n = json_string_length(t);
		p = malloc((n > pad ? n : pad) + 1);
		if (p == NULL)
			abort();
		memcpy(p, json_string_value(t), n);
	} else {
		cap = strlen(json_string_value(b)) / 4 * 3 + 3;
		p = malloc((cap > pad ? cap : pad) + 1);
		if (p == NULL ||
		    sodium_base642bin((unsigned char *)p, cap, json_string_value(b), strlen(json_string_value(b)), NULL,
		                      &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			abort();
	}
	while (n < pad)
		p[n++] = ' ';
	*len = n;
	return p;
}

static const json_t *field(const json_t *c, const char *k)
{
	const json_t *v = json_object_get(c, k);
	return v != NULL ? v : json_object_get(defaults, k);
}

static void check_valid(const json_t *c)
{
	static struct uh_error list[CAP];
	const char *name = json_string_value(json_object_get(c, "name"));
	const json_t *want = json_object_get(c, "header");
	struct uh_doc *d = NULL;
	struct uh_header h;
	struct cal_local lt;
	struct uh_date today;
	char birth[16], *got = NULL, *exp = NULL;
	size_t len, n = 99, gl;
	char *buf = case_bytes(c, &len);
	int64_t created = (int64_t)json_integer_value(field(c, "created"));
	int r;

	r = uh_parse_all(buf, len, &d, list, CAP, &n);
	CHECK_EQ_INT(r, VARSKO_OK);
	CHECK_EQ_INT(n, 0);
	if (r != VARSKO_OK) {
		fprintf(stderr, "  valid case refused: %s (%s at %s)\n", name, uh_problem_name(list[0].problem),
		        list[0].path);
		free(buf);
		return;
	}
	snprintf(birth, sizeof(birth), "%04d-%02d-%02d", d->child.birth.year, d->child.birth.month, d->child.birth.day);
	CHECK_EQ_STR(birth, json_string_value(json_object_get(c, "birth")));
	CHECK_EQ_STR(d->child.cpr, json_string_value(json_object_get(c, "cpr")));
	CHECK_EQ_INT(cal_to_local(created, &lt), VARSKO_OK);
	today.year = lt.year;
	today.month = lt.month;
	today.day = lt.day;
	r = uh_header_derive(d, &today, json_string_value(field(c, "submission")), created, &h);
	if (json_is_null(want)) {
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_INPUT);
	} else {
		CHECK_EQ_INT(r, VARSKO_OK);
		CHECK_EQ_INT(uh_header_to_json(&h, &got, &gl), VARSKO_OK);
		exp = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_EQ_STR(got, exp);
	}
	if (r != (json_is_null(want) ? VARSKO_ERR_BAD_INPUT : VARSKO_OK))
		fprintf(stderr, "  header of %s\n", name);
	free(got);
	free(exp);
	uh_doc_free(d);
	free(buf);
}

static void check_invalid(const json_t *c)
{
	static struct uh_error list[CAP];
	const char *name = json_string_value(json_object_get(c, "name"));
	const json_t *want = json_object_get(c, "problems"), *p;
	struct uh_doc *d = NULL;
	struct uh_error first;
	size_t len, n = 0, i;
	char *buf = case_bytes(c, &len);
	int r, bad = 0;

	r = uh_parse_all(buf, len, &d, list, CAP, &n);
	CHECK(r != VARSKO_OK);
	CHECK(d == NULL);
	uh_doc_free(d);
	d = NULL;
	CHECK_EQ_INT(n, json_array_size(want));
	if (n != json_array_size(want) || n > CAP)
		bad = 1;
	json_array_foreach(want, i, p)
	{
		if (bad || i >= n)
			break;
		CHECK_EQ_STR(uh_problem_name(list[i].problem), json_string_value(json_object_get(p, "problem")));
		CHECK_EQ_STR(list[i].path, json_string_value(json_object_get(p, "path")));
		if (strcmp(uh_problem_name(list[i].problem), json_string_value(json_object_get(p, "problem"))) != 0 ||
		    strcmp(list[i].path, json_string_value(json_object_get(p, "path"))) != 0)
			bad = 1;
	}
	/* uh_parse() stops at the first of them. */
	CHECK(uh_parse(buf, len, &d, &first) != VARSKO_OK);
	uh_doc_free(d);
	if (n > 0) {
		CHECK_EQ_INT(first.problem, list[0].problem);
		CHECK_EQ_STR(first.path, list[0].path);
	}
	if (bad)
		fprintf(stderr, "  in case: %s\n", name);
	free(buf);
}

int main(void)
{
	const char *dir = getenv("VARSKO_VECTORS");
	char path[4096];
	json_error_t jerr;
	json_t *root;
	const json_t *v;
	size_t i;

	if (sodium_init() < 0)
		return 99;
	snprintf(path, sizeof(path), "%s/documents.json", dir ? dir : "proto/vectors");
	/* The corpus writes some documents' U+0000 as \u0000 inside their text. */
	root = json_load_file(path, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
	CHECK(root != NULL);
	if (root == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return check_result();
	}
	defaults = root;
	CHECK(json_array_size(json_object_get(root, "valid")) >= 20);
	CHECK(json_array_size(json_object_get(root, "invalid")) >= 100);
	json_array_foreach(json_object_get(root, "valid"), i, v) check_valid(v);
	json_array_foreach(json_object_get(root, "invalid"), i, v) check_invalid(v);
	json_decref(root);
	return check_result();
}
