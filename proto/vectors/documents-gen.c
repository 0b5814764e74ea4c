/*
 * documents-gen.c: the C half of proto/vectors/documents-gen.py. Reads a JSON
 * array of cases on stdin, each {"text": S} or {"bytes_b64": S} (the
 * document, optionally followed by "pad_to": N: spaces appended up to N
 * bytes), "created" (Unix seconds) and "submission", and writes one JSON
 * array line with, for each case, what the real proto/underretning.c says:
 * {"problems": [{"problem", "path"}...]} (uh_parse_all(), every problem, in
 * order) or, for a document it accepts, {"problems": [], "birth":
 * "YYYY-MM-DD", "cpr": S, "header": the JSON form of uh_header_derive() at
 * the Copenhagen date of created (cal_to_local()), or null when it refuses}.
 *
 * Unlike the other generators of this directory, which are second
 * implementations written from PROTOCOL.md, this one runs the C code on
 * purpose: for the document rules of 11.3 the C implementation is the
 * reference, because it is what the authority's agents run, and a browser
 * that applied other rules would make documents they refuse.
 * tests/unit/test-documents.c holds documents.json against the same code,
 * so the corpus and the C code cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "calendar.h"
#include "underretning.h"
#include "varsko/err.h"

#define CAP 1024

/* The case's document bytes (malloc'ed). */
static char *case_bytes(const json_t *c, size_t *len)
{
	const json_t *t = json_object_get(c, "text"), *b = json_object_get(c, "bytes_b64");
	size_t n, pad = (size_t)json_integer_value(json_object_get(c, "pad_to"));
	char *p;

	if (t != NULL) {
		n = json_string_length(t);
		p = malloc(n > pad ? n + 1 : pad + 1);
		if (p == NULL)
			abort();
		memcpy(p, json_string_value(t), n);
	} else {
		const char *s = json_string_value(b);
		size_t cap = strlen(s) / 4 * 3 + 3;
		p = malloc(cap > pad ? cap + 1 : pad + 1);
		if (p == NULL || sodium_base642bin((unsigned char *)p, cap, s, strlen(s), NULL, &n, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL) != 0)
			abort();
	}
	while (n < pad)
		p[n++] = ' ';
	*len = n;
	return p;
}

static json_t *run(const json_t *c)
{
	static struct uh_error list[CAP];
	struct uh_doc *d = NULL;
	struct uh_header h;
	struct cal_local lt;
	struct uh_date today;
	size_t len, n = 0;
	char *buf = case_bytes(c, &len), *hj = NULL, birth[16];
	json_t *out = json_object(), *probs = json_array();
	int r;

	r = uh_parse_all(buf, len, &d, list, CAP, &n);
	if (n > CAP)
		abort();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(probs, json_pack("{s:s,s:s}", "problem", uh_problem_name(list[i].problem), "path",
		                                       list[i].path));
	json_object_set_new(out, "problems", probs);
	if (r == VARSKO_OK) {
		size_t hl;
		json_int_t created = json_integer_value(json_object_get(c, "created"));

		if (n != 0)
			abort();
		snprintf(birth, sizeof(birth), "%04d-%02d-%02d", d->child.birth.year, d->child.birth.month,
		         d->child.birth.day);
		json_object_set_new(out, "birth", json_string(birth));
		json_object_set_new(out, "cpr", json_string(d->child.cpr));
		if (cal_to_local((int64_t)created, &lt) != VARSKO_OK)
			abort();
		today.year = lt.year;
		today.month = lt.month;
		today.day = lt.day;
		if (uh_header_derive(d, &today, json_string_value(json_object_get(c, "submission")), (int64_t)created,
		                     &h) == VARSKO_OK &&
		    uh_header_to_json(&h, &hj, &hl) == VARSKO_OK) {
			json_object_set_new(out, "header", json_loadb(hj, hl, 0, NULL));
			free(hj);
		} else {
			json_object_set_new(out, "header", json_null());
		}
		json_object_set_new(out, "today", json_sprintf("%04d-%02d-%02d", lt.year, lt.month, lt.day));
	} else if (n == 0) {
		abort();
	}
	uh_doc_free(d);
	free(buf);
	return out;
}

int main(void)
{
	json_error_t jerr;
	json_t *in, *out, *c;
	size_t i;

	if (sodium_init() < 0)
		return 1;
	in = json_loadf(stdin, JSON_ALLOW_NUL, &jerr);
	if (in == NULL || !json_is_array(in)) {
		fprintf(stderr, "documents-gen: stdin: %s\n", in == NULL ? jerr.text : "not an array");
		return 1;
	}
	out = json_array();
	json_array_foreach(in, i, c) json_array_append_new(out, run(c));
	if (json_dumpf(out, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) != 0)
		return 1;
	putchar('\n');
	json_decref(in);
	json_decref(out);
	return 0;
}
