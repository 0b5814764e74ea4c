/*
 * test-underretning.c: the underretning document, CPR numbers, age groups
 * and the routing header (proto/underretning.c). Starts from the demo
 * example deploy/demo/underretning-example.json and breaks one field at a
 * time; the header encoding is compared with bytes written by an independent
 * Python implementation of the spec (struct.pack), pasted below.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "underretning.h"

static json_t *example;

static void load_example(void)
{
	const char *root = getenv("VARSKO_SOURCE_ROOT");
	char path[4096];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/deploy/demo/underretning-example.json", root ? root : ".");
	example = json_load_file(path, 0, &jerr);
	if (example == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		exit(1);
	}
}

static int parse_json(const json_t *o, struct uh_doc **d, struct uh_error *err)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int r;

	if (s == NULL)
		abort();
	r = uh_parse(s, strlen(s), d, err);
	free(s);
	return r;
}

/* The object at a dotted path with optional [i] ("parents[1]", "child"); "" is the root. */
static json_t *at(json_t *root, const char *path)
{
	char buf[128], *tok, *save = NULL;
	json_t *o = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		if (br != NULL) {
			*br = '\0';
			o = json_array_get(json_object_get(o, tok), (size_t)atoi(br + 1));
		} else {
			o = json_object_get(o, tok);
		}
	}
	if (o == NULL)
		abort();
	return o;
}

/* Copy the example, set parent.key to v (NULL: delete it), parse, check code, problem and path. */
static void expect(const char *parent, const char *key, json_t *v, int code, enum uh_problem prob, const char *path,
                   int line)
{
	json_t *doc = json_deep_copy(example);
	struct uh_doc *d = (struct uh_doc *)1;
	struct uh_error err;
	int r;

	if (v == NULL)
		json_object_del(at(doc, parent), key);
	else
		json_object_set_new(at(doc, parent), key, v);
	r = parse_json(doc, &d, &err);
	if (r != code || err.problem != prob || strcmp(err.path, path) != 0)
		fprintf(stderr, "line %d: %s.%s: got %d %s \"%s\"\n", line, parent, key, r,
		        uh_problem_name(err.problem), err.path);
	CHECK_EQ_INT(r, code);
	CHECK_EQ_INT(err.problem, prob);
	CHECK_EQ_STR(err.path, path);
	if (code != VARSKO_OK)
		CHECK(d == NULL);
	uh_doc_free(code == VARSKO_OK ? d : NULL);
	json_decref(doc);
}

#define BAD(parent, key, v, prob, path) expect(parent, key, v, VARSKO_ERR_BAD_FRAME, prob, path, __LINE__)
#define OK(parent, key, v)              expect(parent, key, v, VARSKO_OK, UH_PROBLEM_NONE, "", __LINE__)

static void test_example(void)
{
	struct uh_doc *d = NULL;
	struct uh_error err;
	struct uh_header h;
	struct uh_date today = {2026, 11, 23};

	CHECK_EQ_INT(parse_json(example, &d, &err), VARSKO_OK);
	if (d == NULL)
		return;
	CHECK_EQ_STR(d->institution, "inst-nordskovskolen");
	CHECK(d->child.birth.year == 2017 && d->child.birth.month == 3 && d->child.birth.day == 14);
	CHECK_EQ_STR(d->child.cpr, "");
	CHECK_EQ_INT(d->n_parents, 2);
	CHECK(d->parents[0].custody == 1 && d->parents[1].phone[0] == '+');
	CHECK_EQ_INT(d->interpreter.needed, 0);
	CHECK_EQ_STR(d->notifier.name, "Anna Mikkelsen");
	CHECK(strchr(d->observations, '\n') != NULL);
	CHECK_EQ_INT(d->parents_contacted.contacted, 1);
	CHECK(d->parents_contacted.reaction[0] != '\0' && d->parents_contacted.reason[0] == '\0');
	CHECK(d->akut == 0 && d->handicap == 0);
	CHECK_EQ_INT(d->n_attachments, 1);
	CHECK_EQ_INT(d->attachments[0].size, 48213);
	CHECK(d->attachments[0].key[0] == 0 && d->attachments[0].key[31] == 31);
	CHECK_EQ_INT(uh_header_derive(d, &today, "s-0001", 1795426800, &h), VARSKO_OK);
	CHECK_EQ_STR(h.age_group, "6-13"); /* she is 9 */
	CHECK_EQ_STR(h.institution, "inst-nordskovskolen");
	uh_doc_free(d);
}

static void test_missing(void)
{
	static const struct {
		const char *parent, *key, *path;
	} req[] = {
	        {"", "institution", "institution"},
	        {"", "child", "child"},
	        {"child", "name", "child.name"},
	        {"child", "birth_date", "child.cpr"}, /* neither cpr nor birth_date */
	        {"child", "address", "child.address"},
	        {"", "parents", "parents"},
	        {"parents[0]", "name", "parents[0].name"},
	        {"parents[1]", "custody", "parents[1].custody"},
	        {"", "interpreter", "interpreter"},
	        {"interpreter", "needed", "interpreter.needed"},
	        {"", "notifier", "notifier"},
	        {"notifier", "name", "notifier.name"},
	        {"notifier", "role", "notifier.role"},
	        {"notifier", "relation", "notifier.relation"},
	        {"", "concern", "concern"},
	        {"", "observations", "observations"},
	        {"", "wellbeing", "wellbeing"},
	        {"", "help_tried", "help_tried"},
	        {"", "parents_contacted", "parents_contacted"},
	        {"parents_contacted", "contacted", "parents_contacted.contacted"},
	        {"parents_contacted", "reaction", "parents_contacted.reaction"},
	        {"", "akut", "akut"},
	        {"", "handicap", "handicap"},
	        {"attachments[0]", "id", "attachments[0].id"},
	        {"attachments[0]", "name", "attachments[0].name"},
	        {"attachments[0]", "media_type", "attachments[0].media_type"},
	        {"attachments[0]", "size", "attachments[0].size"},
	        {"attachments[0]", "key", "attachments[0].key"},
	        {"attachments[0]", "sha256", "attachments[0].sha256"},
	};

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		BAD(req[i].parent, req[i].key, NULL, UH_PROBLEM_MISSING, req[i].path);
	/* Optional fields. */
	OK("parents[0]", "address", NULL);
	OK("parents[0]", "phone", NULL);
	OK("", "attachments", NULL);
	OK("", "parents", json_array());
	OK("", "attachments", json_array());
}

static void test_types(void)
{
	static const struct {
		const char *parent, *key, *path;
	} all[] = {
	        {"", "institution", "institution"},
	        {"", "child", "child"},
	        {"child", "name", "child.name"},
	        {"child", "birth_date", "child.birth_date"},
	        {"child", "address", "child.address"},
	        {"", "parents", "parents"},
	        {"parents[1]", "name", "parents[1].name"},
	        {"parents[1]", "address", "parents[1].address"},
	        {"parents[1]", "phone", "parents[1].phone"},
	        {"parents[1]", "custody", "parents[1].custody"},
	        {"", "interpreter", "interpreter"},
	        {"interpreter", "needed", "interpreter.needed"},
	        {"", "notifier", "notifier"},
	        {"notifier", "name", "notifier.name"},
	        {"notifier", "role", "notifier.role"},
	        {"notifier", "relation", "notifier.relation"},
	        {"", "concern", "concern"},
	        {"", "observations", "observations"},
	        {"", "wellbeing", "wellbeing"},
	        {"", "help_tried", "help_tried"},
	        {"", "parents_contacted", "parents_contacted"},
	        {"parents_contacted", "contacted", "parents_contacted.contacted"},
	        {"parents_contacted", "reaction", "parents_contacted.reaction"},
	        {"", "akut", "akut"},
	        {"", "handicap", "handicap"},
	        {"", "attachments", "attachments"},
	        {"attachments[0]", "id", "attachments[0].id"},
	        {"attachments[0]", "size", "attachments[0].size"},
	        {"attachments[0]", "key", "attachments[0].key"},
	};
	json_t *arr;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		/* A number is the wrong type for every field except size, where a string is. */
		int is_size = strcmp(all[i].key, "size") == 0;
		BAD(all[i].parent, all[i].key, is_size ? json_string("7") : json_integer(7), UH_PROBLEM_WRONG_TYPE,
		    all[i].path);
		BAD(all[i].parent, all[i].key, json_null(), UH_PROBLEM_WRONG_TYPE, all[i].path);
	}
	BAD("", "akut", json_string("true"), UH_PROBLEM_WRONG_TYPE, "akut");
	BAD("", "akut", json_integer(1), UH_PROBLEM_WRONG_TYPE, "akut");
	BAD("attachments[0]", "size", json_real(10.0), UH_PROBLEM_WRONG_TYPE, "attachments[0].size");
	arr = json_array();
	json_array_append_new(arr, json_string("x"));
	BAD("", "parents", arr, UH_PROBLEM_WRONG_TYPE, "parents[0]");
	BAD("", "child", json_array(), UH_PROBLEM_WRONG_TYPE, "child");
}

static void test_values(void)
{
	char *big = malloc(UH_TEXT_MAX + 2);
	json_t *five = json_array();

	if (big == NULL || five == NULL)
		abort();
	/* Unknown keys: the path names the key itself, so the writer sees which one to remove or fix. */
	BAD("", "Institution", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "Institution");
	BAD("child", "cpr_nr", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "child.cpr_nr");
	BAD("parents[1]", "email", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "parents[1].email");
	BAD("attachments[0]", "url", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "attachments[0].url");
	BAD("notifier", "address", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "notifier.address");
	/* ... shown safely: only [A-Za-z0-9_-], cut at 32. */
	BAD("child", "fødsels dato", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD, "child.f??dsels?dato");
	BAD("child", "abcdefghijklmnopqrstuvwxyz0123456789", json_string("x"), UH_PROBLEM_UNKNOWN_FIELD,
	    "child.abcdefghijklmnopqrstuvwxyz012...");
	/* Exclusive fields. */
	BAD("child", "cpr", json_string("140317-4012"), UH_PROBLEM_NOT_ALLOWED, "child.birth_date");
	BAD("interpreter", "language", json_string("arabisk"), UH_PROBLEM_NOT_ALLOWED, "interpreter.language");
	BAD("parents_contacted", "reason", json_string("x"), UH_PROBLEM_NOT_ALLOWED, "parents_contacted.reason");
	BAD("interpreter", "needed", json_true(), UH_PROBLEM_MISSING, "interpreter.language");
	{
		json_t *doc = json_deep_copy(example);
		struct uh_doc *d = NULL;
		struct uh_error err;

		json_object_set_new(at(doc, "interpreter"), "needed", json_true());
		json_object_set_new(at(doc, "interpreter"), "language", json_string("arabisk"));
		json_object_set_new(at(doc, "parents_contacted"), "contacted", json_false());
		json_object_del(at(doc, "parents_contacted"), "reaction");
		json_object_set_new(at(doc, "parents_contacted"), "reason", json_string("Mistanke om vold fra far."));
		json_object_del(at(doc, "child"), "birth_date");
		json_object_set_new(at(doc, "child"), "cpr", json_string("1403174012"));
		CHECK_EQ_INT(parse_json(doc, &d, &err), VARSKO_OK);
		if (d != NULL) {
			CHECK_EQ_STR(d->interpreter.language, "arabisk");
			CHECK_EQ_STR(d->parents_contacted.reason, "Mistanke om vold fra far.");
			CHECK_EQ_STR(d->child.cpr, "140317-4012");
			CHECK(d->child.birth.year == 2017 && d->child.birth.month == 3 && d->child.birth.day == 14);
		}
		uh_doc_free(d);
		json_object_set_new(at(doc, "child"), "cpr", json_string("310217-4012")); /* 31 February */
		d = NULL;
		CHECK_EQ_INT(parse_json(doc, &d, &err), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_INT(err.problem, UH_PROBLEM_BAD_VALUE);
		CHECK_EQ_STR(err.path, "child.cpr");
		json_object_set_new(at(doc, "child"), "cpr", json_string("140317-40123"));
		CHECK_EQ_INT(parse_json(doc, &d, &err), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_INT(err.problem, UH_PROBLEM_TOO_LONG);
		json_decref(doc);
	}
	BAD("child", "birth_date", json_string("2017-02-29"), UH_PROBLEM_BAD_VALUE, "child.birth_date");
	BAD("child", "birth_date", json_string("2017-13-01"), UH_PROBLEM_BAD_VALUE, "child.birth_date");
	BAD("child", "birth_date", json_string("2017-3-14"), UH_PROBLEM_BAD_VALUE, "child.birth_date");
	BAD("child", "birth_date", json_string("14-03-2017"), UH_PROBLEM_BAD_VALUE, "child.birth_date");
	BAD("child", "birth_date", json_string("2017-03-14T00:00"), UH_PROBLEM_TOO_LONG, "child.birth_date");
	OK("child", "birth_date", json_string("2016-02-29"));
	/* Texts. */
	memset(big, 'a', UH_TEXT_MAX + 1);
	big[UH_TEXT_MAX] = '\0';
	OK("", "concern", json_string(big));
	big[UH_TEXT_MAX] = 'a';
	big[UH_TEXT_MAX + 1] = '\0';
	BAD("", "concern", json_string(big), UH_PROBLEM_TOO_LONG, "concern");
	BAD("", "concern", json_string(""), UH_PROBLEM_BAD_VALUE, "concern");
	BAD("", "concern", json_string(" \n\t "), UH_PROBLEM_BAD_VALUE, "concern");
	BAD("", "concern", json_string("a\rb"), UH_PROBLEM_BAD_VALUE, "concern");
	BAD("", "concern", json_string("a\x1b[31mb"), UH_PROBLEM_BAD_VALUE, "concern");
	BAD("", "concern", json_stringn("a\0b", 3), UH_PROBLEM_BAD_VALUE, "concern");
	OK("", "concern", json_string("linje 1\nlinje 2\tmed tab, æøå"));
	BAD("child", "name", json_string("Sofie\nX"), UH_PROBLEM_BAD_VALUE, "child.name");
	BAD("child", "name", json_string(""), UH_PROBLEM_BAD_VALUE, "child.name");
	BAD("parents[0]", "phone", json_string("ring mig"), UH_PROBLEM_BAD_VALUE, "parents[0].phone");
	OK("parents[0]", "phone", json_string("(+45) 12-34 56 78"));
	BAD("", "institution", json_string("inst nordskov"), UH_PROBLEM_BAD_VALUE, "institution");
	BAD("attachments[0]", "size", json_integer(0), UH_PROBLEM_BAD_VALUE, "attachments[0].size");
	BAD("attachments[0]", "size", json_integer(UH_ATTACH_SIZE_MAX + 1), UH_PROBLEM_TOO_LONG, "attachments[0].size");
	BAD("attachments[0]", "key", json_string("AAEC"), UH_PROBLEM_BAD_VALUE, "attachments[0].key");
	BAD("attachments[0]", "media_type", json_string("pdf"), UH_PROBLEM_BAD_VALUE, "attachments[0].media_type");
	for (int i = 0; i < 5; i++)
		json_array_append(five, json_array_get(json_object_get(example, "parents"), 0));
	BAD("", "parents", five, UH_PROBLEM_TOO_LONG, "parents");
	free(big);
}

static void test_document_level(void)
{
	struct uh_doc *d = (struct uh_doc *)1;
	struct uh_error err;
	char *s = json_dumps(example, JSON_COMPACT), *dup;

	if (s == NULL || (dup = malloc(strlen(s) + 32)) == NULL)
		abort();
	snprintf(dup, strlen(s) + 32, "{\"akut\":true,%s", s + 1);
	CHECK_EQ_INT(uh_parse(dup, strlen(dup), &d, &err), VARSKO_ERR_DUPLICATE_KEY);
	CHECK(d == NULL);
	CHECK_EQ_INT(err.problem, UH_PROBLEM_JSON);
	CHECK_EQ_INT(uh_parse("[]", 2, &d, &err), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(uh_parse(s, strlen(s) - 1, &d, &err), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(uh_parse(s, UH_DOC_MAX + 1, &d, &err), VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(uh_parse(NULL, 0, &d, NULL), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(uh_parse(s, strlen(s), &d, NULL), VARSKO_OK);
	uh_doc_free(d);
	d = NULL;
	/* Malformed JSON: where it stopped. */
	CHECK_EQ_INT(uh_parse("{\n  \"akut\": tru\n}", 19, &d, &err), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(err.problem, UH_PROBLEM_JSON);
	CHECK_EQ_INT((int)err.line, 2);
	CHECK(err.column >= 10 && err.column <= 14);
	/* Every problem at once, in the order of the document's fields. */
	{
		json_t *doc = json_deep_copy(example);
		struct uh_error list[UH_PROBLEMS_MAX];
		size_t n = 0;
		char *t;

		json_object_del(json_object_get(doc, "child"), "cpr");
		json_object_del(json_object_get(doc, "child"), "birth_date");
		json_object_set_new(json_object_get(doc, "child"), "foedselsdato", json_string("2015-01-01"));
		json_object_set_new(json_object_get(doc, "notifier"), "name", json_integer(3));
		json_object_del(doc, "concern");
		json_object_set_new(doc, "akut", json_string("ja"));
		if ((t = json_dumps(doc, JSON_COMPACT)) == NULL)
			abort();
		CHECK_EQ_INT(uh_parse_all(t, strlen(t), &d, list, UH_PROBLEMS_MAX, &n), VARSKO_ERR_BAD_FRAME);
		CHECK(d == NULL);
		CHECK_EQ_INT((int)n, 5);
		CHECK_EQ_STR(list[0].path, "child.foedselsdato");
		CHECK_EQ_INT(list[0].problem, UH_PROBLEM_UNKNOWN_FIELD);
		CHECK_EQ_STR(list[1].path, "child.cpr");
		CHECK_EQ_INT(list[1].problem, UH_PROBLEM_MISSING);
		CHECK_EQ_STR(list[2].path, "notifier.name");
		CHECK_EQ_INT(list[2].problem, UH_PROBLEM_WRONG_TYPE);
		CHECK_EQ_STR(list[3].path, "concern");
		CHECK_EQ_INT(list[3].problem, UH_PROBLEM_MISSING);
		CHECK_EQ_STR(list[4].path, "akut");
		CHECK_EQ_INT(list[4].problem, UH_PROBLEM_WRONG_TYPE);
		/* A short list still counts them all; uh_parse() gives the first. */
		CHECK_EQ_INT(uh_parse_all(t, strlen(t), &d, list, 2, &n), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_INT((int)n, 5);
		CHECK_EQ_INT(uh_parse(t, strlen(t), &d, &err), VARSKO_ERR_BAD_FRAME);
		CHECK_EQ_STR(err.path, "child.foedselsdato");
		free(t);
		json_decref(doc);
	}
	free(dup);
	free(s);
}

static void test_cpr(void)
{
	static const struct {
		const char *cpr;
		int y, m, d; /* y 0: invalid */
	} cases[] = {
	        {"140317-4012", 2017, 3, 14},
	        {"1403174012", 2017, 3, 14},
	        {"010155-3000", 1955, 1, 1}, /* 7th digit 0-3: 1900s */
	        {"010100-0000", 1900, 1, 1},
	        {"010136-4000", 2036, 1, 1}, /* 4: 2000s up to 36 */
	        {"010137-4000", 1937, 1, 1},
	        {"010136-9000", 2036, 1, 1}, /* 9: like 4 */
	        {"010199-9000", 1999, 1, 1},
	        {"010157-5000", 2057, 1, 1},  /* 5-8: 2000s up to 57 */
	        {"010158-8000", 1858, 1, 1},  /* else 1800s */
	        {"290200-4000", 2000, 2, 29}, /* 2000 is a leap year */
	        {"290200-1000", 0, 0, 0},     /* 1900 is not */
	        {"290296-1234", 1996, 2, 29},
	        {"310217-4012", 0, 0, 0}, /* 31 February */
	        {"311117-4012", 0, 0, 0}, /* 31 November */
	        {"011317-4012", 0, 0, 0}, /* month 13 */
	        {"001017-4012", 0, 0, 0}, /* day 0 */
	        {"140317 4012", 0, 0, 0},
	        {"140317-401", 0, 0, 0},
	        {"14031740123", 0, 0, 0},
	        {"14a317-4012", 0, 0, 0},
	        {"140317_4012", 0, 0, 0},
	        {"140317-40a2", 0, 0, 0},
	        {"", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uh_date dt;
		int r = uh_cpr_birth_date(cases[i].cpr, strlen(cases[i].cpr), &dt);

		if (cases[i].y == 0) {
			CHECK_EQ_INT(r, VARSKO_ERR_BAD_INPUT);
		} else {
			CHECK_EQ_INT(r, VARSKO_OK);
			CHECK_EQ_INT(dt.year, cases[i].y);
			CHECK(dt.month == cases[i].m && dt.day == cases[i].d);
		}
	}
	/* A NUL inside the number is not a digit. */
	CHECK_EQ_INT(uh_cpr_birth_date("140317\0"
	                               "4012",
	                               11, &(struct uh_date){0}),
	             VARSKO_ERR_BAD_INPUT);
}

static void age(int by, int bm, int bd, int ty, int tm, int td, const char *want, int line)
{
	struct uh_date b = {by, bm, bd}, t = {ty, tm, td};
	const char *g = "unset";
	int r = uh_age_group(&b, &t, &g);

	if (want == NULL) {
		if (r != VARSKO_ERR_BAD_INPUT)
			fprintf(stderr, "line %d: expected an error, got %s\n", line, g ? g : "(null)");
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_INPUT);
		CHECK(g == NULL);
	} else {
		if (r != VARSKO_OK)
			fprintf(stderr, "line %d: unexpected error\n", line);
		CHECK_EQ_INT(r, VARSKO_OK);
		CHECK_EQ_STR(g, want);
	}
}

#define AGE(by, bm, bd, want) age(by, bm, bd, 2026, 11, 23, want, __LINE__)

static void test_age_groups(void)
{
	/* Today is 23 November 2026; "tomorrow" birthdays are one day short. */
	AGE(2026, 11, 23, "0-5"); /* born today */
	AGE(2026, 11, 24, NULL);  /* not born yet */
	AGE(2020, 11, 23, "6-13");
	AGE(2020, 11, 24, "0-5");
	AGE(2012, 11, 23, "14-17");
	AGE(2012, 11, 24, "6-13");
	AGE(2008, 11, 23, "18-22");
	AGE(2008, 11, 24, "14-17");
	AGE(2003, 11, 23, NULL); /* 23 today */
	AGE(2003, 11, 24, "18-22");
	AGE(2017, 3, 14, "6-13");
	AGE(2012, 12, 1, "6-13"); /* later month */
	AGE(2012, 10, 30, "14-17");
	AGE(2017, 2, 30, NULL);
	/* Born 29 February: one year older on 1 March in other years. */
	age(2012, 2, 29, 2026, 2, 28, "6-13", __LINE__);
	age(2012, 2, 29, 2026, 3, 1, "14-17", __LINE__);
	age(2012, 2, 29, 2028, 2, 29, "14-17", __LINE__);
	age(2020, 11, 23, 2026, 13, 1, NULL, __LINE__);
}

static void test_header(void)
{
	/* From /usr/bin/python3 with struct.pack, following the spec in underretning.h. */
	static const char want_hex[] = "00000011766172736b6f2d726f7574696e672d7631000000080000000000000001000000"
	                               "13696e73742d6e6f7264736b6f76736b6f6c656e00000004362d313300000008000000"
	                               "000000000000000008000000000000000100000006732d303030310000000800000000"
	                               "6b0409f0";
	struct uh_doc *d = NULL;
	struct uh_header h, h2;
	struct uh_date today = {2026, 11, 23}, later = {2040, 3, 14};
	struct proto_buf b;
	char *js = NULL, hex[sizeof(want_hex)];
	size_t jl;

	CHECK_EQ_INT(parse_json(example, &d, NULL), VARSKO_OK);
	if (d == NULL)
		return;
	d->handicap = 1;
	CHECK_EQ_INT(uh_header_derive(d, &today, "s-0001", 1795426800, &h), VARSKO_OK);
	CHECK(h.akut == 0 && h.handicap == 1);
	proto_buf_init(&b);
	CHECK_EQ_INT(uh_header_encode(&h, &b), VARSKO_OK);
	CHECK_EQ_INT(b.len * 2, strlen(want_hex));
	for (size_t i = 0; i < b.len && i * 2 + 2 < sizeof(hex); i++)
		snprintf(hex + 2 * i, 3, "%02x", b.p[i]);
	CHECK(b.len * 2 == strlen(want_hex) && strcmp(hex, want_hex) == 0);
	proto_buf_free(&b);

	/* Decoding the Python bytes gives the header back; any change of length or value is refused. */
	{
		uint8_t raw[sizeof(want_hex) / 2 + 1];
		size_t n = strlen(want_hex) / 2;
		for (size_t i = 0; i < n; i++) {
			unsigned v;
			if (sscanf(want_hex + 2 * i, "%2x", &v) != 1)
				abort();
			raw[i] = (uint8_t)v;
		}
		CHECK_EQ_INT(uh_header_decode(raw, n, &h2), VARSKO_OK);
		CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
		for (size_t cut = 0; cut < n; cut++)
			CHECK_EQ_INT(uh_header_decode(raw, cut, &h2), VARSKO_ERR_BAD_INPUT);
		raw[n] = 0;
		CHECK_EQ_INT(uh_header_decode(raw, n + 1, &h2), VARSKO_ERR_BAD_INPUT);
		/* Every single-bit flip either fails or decodes to a different, valid header. */
		for (size_t i = 0; i < n * 8; i++) {
			raw[i / 8] ^= (uint8_t)(1u << (i % 8));
			if (uh_header_decode(raw, n, &h2) == VARSKO_OK)
				CHECK(memcmp(&h, &h2, sizeof(h)) != 0);
			raw[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		/* A NUL inside a string field (found by the fuzzer): "ins\0..." must not decode as "ins". */
		raw[4 + 17 + 12 + 4 + 3] = 0;
		CHECK_EQ_INT(uh_header_decode(raw, n, &h2), VARSKO_ERR_BAD_INPUT);
		raw[4 + 17 + 12 + 4 + 3] = 't';
		CHECK_EQ_INT(uh_header_decode(raw, n, &h2), VARSKO_OK);
		/* The last byte of akut: before it come created (12), submission (10) and handicap (12). */
		CHECK_EQ_INT(raw[n - 35], 0);
		raw[n - 35] = 2;
		CHECK_EQ_INT(uh_header_decode(raw, n, &h2), VARSKO_ERR_BAD_INPUT);
	}
	CHECK_EQ_INT(uh_header_to_json(&h, &js, &jl), VARSKO_OK);
	CHECK_EQ_STR(js,
	             "{\"age_group\":\"6-13\",\"akut\":false,\"created\":\"2026-11-23T09:40:00Z\",\"handicap\":true,"
	             "\"institution\":\"inst-nordskovskolen\",\"submission\":\"s-0001\"}");
	CHECK_EQ_INT(uh_header_from_json(js, jl, &h2), VARSKO_OK);
	CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
	free(js);
	{
		static const char *const bad[] = {
		        "{\"age_group\":\"5-9\",\"akut\":false,\"created\":\"2026-11-23T09:40:00Z\",\"handicap\":true,"
		        "\"institution\":\"i\",\"submission\":\"s\"}",
		        "{\"age_group\":\"6-13\",\"akut\":0,\"created\":\"2026-11-23T09:40:00Z\",\"handicap\":true,"
		        "\"institution\":\"i\",\"submission\":\"s\"}",
		        "{\"age_group\":\"6-13\",\"akut\":false,\"created\":\"2026-11-23 09:40:00\",\"handicap\":true,"
		        "\"institution\":\"i\",\"submission\":\"s\"}",
		        "{\"age_group\":\"6-13\",\"akut\":false,\"created\":\"2026-11-23T09:40:00Z\",\"handicap\":true,"
		        "\"institution\":\"i\"}",
		        "{\"age_group\":\"6-13\",\"akut\":false,\"created\":\"2026-11-23T09:40:00Z\",\"handicap\":true,"
		        "\"institution\":\"i\",\"submission\":\"s\",\"cpr\":\"x\"}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK_EQ_INT(uh_header_from_json(bad[i], strlen(bad[i]), &h2), VARSKO_ERR_BAD_FRAME);
			CHECK(h2.institution[0] == '\0');
		}
		CHECK_EQ_INT(uh_header_from_json("{\"akut\":true,\"akut\":false}", 26, &h2), VARSKO_ERR_DUPLICATE_KEY);
	}
	/* Derivation errors. */
	CHECK_EQ_INT(uh_header_derive(d, &today, "", 1795426800, &h), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(uh_header_derive(d, &today, "s 1", 1795426800, &h), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(uh_header_derive(d, &today, "s-1", -1, &h), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(uh_header_derive(d, &later, "s-1", 1795426800, &h), VARSKO_ERR_BAD_INPUT); /* 23 */
	CHECK(h.institution[0] == '\0');
	h.akut = 2;
	CHECK_EQ_INT(uh_header_to_json(&h, &js, &jl), VARSKO_ERR_BAD_INPUT);
	uh_doc_free(d);
}

int main(void)
{
	load_example();
	test_example();
	test_missing();
	test_types();
	test_values();
	test_document_level();
	test_cpr();
	test_age_groups();
	test_header();
	json_decref(example);
	return check_result();
}
