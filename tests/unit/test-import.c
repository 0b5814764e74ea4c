/*
 * test-import.c: store_import (gateway/import.c). The demo municipality
 * imports and lands in the tables as the document says (expected figures are
 * computed from the document, not written here); importing again changes
 * nothing; each bad document is refused with its JSON path and stores
 * nothing, not even rows that came before the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "store-internal.h" /* white box: counts rows on the store's connection */
#include "store.h"

static char dir[] = "/tmp/varsko-test-import-XXXXXX";
static const int64_t T0 = 1795424400;

static long long q_int(struct store *s, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

static char *q_text(struct store *s, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
			v = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return v;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(1 << 20);
	if (buf != NULL) {
		*len = fread(buf, 1, (1 << 20) - 1, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static long long total_rows(struct store *s)
{
	return q_int(s,
	             "SELECT (SELECT count(*) FROM institutions) + (SELECT count(*) FROM teams) +"
	             " (SELECT count(*) FROM users) + (SELECT count(*) FROM user_institutions) +"
	             " (SELECT count(*) FROM routing_rules) + (SELECT count(*) FROM audit) +"
	             " (SELECT count(*) FROM meta)",
	             NULL);
}

static void check_demo_content(struct store *s, json_t *doc)
{
	json_t *v, *arr;
	size_t i, links = 0;
	char *text, *stored;

	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM institutions", NULL),
	             json_array_size(json_object_get(doc, "institutions")));
	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM teams", NULL), json_array_size(json_object_get(doc, "teams")));
	json_array_foreach(json_object_get(doc, "teams"), i, v) {
		stored = q_text(s, "SELECT coalesce(phone, '') FROM teams WHERE id = ?1",
		                json_string_value(json_object_get(v, "id")));
		text = (char *)json_string_value(json_object_get(v, "phone"));
		CHECK_EQ_STR(stored, text != NULL ? text : "");
		free(stored);
	}
	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM users", NULL), json_array_size(json_object_get(doc, "users")));
	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM routing_rules", NULL),
	             json_array_size(json_object_get(doc, "routing")));
	json_array_foreach(json_object_get(doc, "users"), i, v) {
		arr = json_object_get(v, "institutions");
		links += json_array_size(arr);
		stored = q_text(s, "SELECT role FROM users WHERE id = ?1", json_string_value(json_object_get(v, "id")));
		CHECK_EQ_STR(stored, json_string_value(json_object_get(v, "role")));
		free(stored);
		stored = q_text(s, "SELECT name FROM users WHERE id = ?1", json_string_value(json_object_get(v, "id")));
		CHECK_EQ_STR(stored, json_string_value(json_object_get(v, "name")));
		free(stored);
	}
	json_array_foreach(json_object_get(doc, "raadgivere"), i, v) {
		arr = json_object_get(v, "institutions");
		links += json_array_size(arr);
		CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM user_institutions WHERE user = ?1",
		                   json_string_value(json_object_get(v, "user"))),
		             json_array_size(arr));
	}
	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM user_institutions", NULL), links);
	/* Rules are kept in document order, as canonical JSON. */
	json_array_foreach(json_object_get(doc, "routing"), i, v) {
		char pos[24];

		snprintf(pos, sizeof(pos), "%zu", i + 1);
		text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		stored = q_text(s, "SELECT rule_json FROM routing_rules WHERE pos = CAST(?1 AS INTEGER)", pos);
		CHECK_EQ_STR(stored, text);
		free(stored);
		free(text);
	}
	stored = q_text(s, "SELECT value FROM meta WHERE key = 'tenant'", NULL);
	CHECK_EQ_STR(stored, json_string_value(json_object_get(doc, "tenant")));
	free(stored);
	text = json_dumps(json_object_get(doc, "office_hours"), JSON_COMPACT | JSON_SORT_KEYS);
	stored = q_text(s, "SELECT value FROM meta WHERE key = 'office_hours'", NULL);
	CHECK_EQ_STR(stored, text);
	free(stored);
	free(text);
}

static void test_demo(void)
{
	char path[512], dbpath[300], err[256] = "";
	const char *root = getenv("VARSKO_SOURCE_ROOT");
	struct store *s = NULL;
	json_t *doc;
	size_t len = 0;
	char *text;
	uint64_t count, bad;
	long long rows;

	snprintf(path, sizeof(path), "%s/deploy/demo/slagelse.json", root ? root : "../..");
	text = read_all(path, &len);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	doc = json_loads(text, 0, NULL);
	CHECK(doc != NULL);
	snprintf(dbpath, sizeof(dbpath), "%s/demo.db", dir);
	CHECK_EQ_INT(store_open(&s, dbpath, 1), VARSKO_OK);
	if (s == NULL || doc == NULL)
		goto out;
	CHECK_EQ_INT(store_import(s, text, len, T0, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_STR(err, "");
	check_demo_content(s, doc);

	/* Again: an upsert, the same rows (one more audit entry and nothing else). */
	rows = total_rows(s);
	CHECK_EQ_INT(store_import(s, text, len, T0 + 1, err, sizeof(err)), VARSKO_OK);
	check_demo_content(s, doc);
	CHECK_EQ_INT(total_rows(s), rows + 1);
	CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM audit WHERE event = 'import'", NULL), 2);

	/* A later document may refer to rows already stored, and changes what it names. */
	{
		static const char more[] =
			"{\"tenant\":\"slagelse\",\"users\":[{\"id\":\"laerer-anna\",\"name\":\"Anna Omdøbt\","
			"\"role\":\"fagperson\",\"institutions\":[\"inst-noorskolen\"]}]}";
		char *name;

		CHECK_EQ_INT(store_import(s, more, strlen(more), T0 + 2, err, sizeof(err)), VARSKO_OK);
		name = q_text(s, "SELECT name FROM users WHERE id = 'laerer-anna'", NULL);
		CHECK_EQ_STR(name, "Anna Omdøbt");
		free(name);
		CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM user_institutions WHERE user = 'laerer-anna'", NULL), 1);
		CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM routing_rules", NULL),
		             json_array_size(json_object_get(doc, "routing"))); /* no "routing": rules kept */
	}
	/* A database belongs to one tenant. */
	{
		static const char other[] = "{\"tenant\":\"korsoer\"}";

		rows = total_rows(s);
		CHECK_EQ_INT(store_import(s, other, strlen(other), T0, err, sizeof(err)), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_STR(err, "$.tenant: the database belongs to another tenant");
		CHECK_EQ_INT(total_rows(s), rows);
	}
	CHECK_EQ_INT(store_audit_verify(s, &count, &bad), VARSKO_OK);
out:
	store_close(s);
	json_decref(doc);
	free(text);
}

#define INST "{\"id\":\"inst-a\",\"name\":\"Skole A\",\"kind\":\"skole\",\"district\":\"Slagelse\"}"
#define TEAM "{\"id\":\"team-a\",\"name\":\"Team A\"}"
#define BASE "\"tenant\":\"slagelse\",\"institutions\":[" INST "],\"teams\":[" TEAM "]"

static void test_bad_documents(void)
{
	static const struct {
		const char *doc;
		const char *err; /* exact, or a prefix when it ends in '*' */
	} cases[] = {
		{ "{", "$: not valid JSON*" },
		{ "", "$: not valid JSON*" },
		{ "{\"tenant\":\"a\",\"tenant\":\"b\"}", "$: not valid JSON*" },
		{ "[]", "$: must be an object" },
		{ "{}", "$.tenant: missing" },
		{ "{\"tenant\":\"Slagelse Kommune\"}", "$.tenant: not a valid id ([a-z0-9-], 1 to 64 bytes)" },
		{ "{\"tenant\":\"a\",\"extra\":1}", "$: unknown key" },
		{ "{\"tenant\":\"a\",\"institutions\":{}}", "$.institutions: must be an array" },
		{ "{\"tenant\":\"a\",\"institutions\":[1]}", "$.institutions[0]: must be an object" },
		{ "{\"tenant\":\"a\",\"institutions\":[{\"id\":\"Inst A\"}]}",
		  "$.institutions[0].id: not a valid id ([a-z0-9-], 1 to 64 bytes)" },
		{ "{" BASE ",\"institutions\":[]}", "$: not valid JSON*" },
		{ "{\"tenant\":\"a\",\"institutions\":[" INST "," INST "]}", "$.institutions[1]: duplicate id" },
		{ "{\"tenant\":\"a\",\"institutions\":[{\"id\":\"i\",\"name\":\"n\",\"kind\":\"skole\",\"district\":\"d\","
		  "\"x\":1}]}",
		  "$.institutions[0]: unknown key" },
		{ "{\"tenant\":\"a\",\"institutions\":[{\"id\":\"i\",\"name\":\"n\",\"kind\":\"bank\",\"district\":\"d\"}]}",
		  "$.institutions[0].kind: unknown kind" },
		{ "{\"tenant\":\"a\",\"institutions\":[{\"id\":\"i\",\"name\":\"\",\"kind\":\"skole\",\"district\":\"d\"}]}",
		  "$.institutions[0].name: not a valid value" },
		{ "{\"tenant\":\"a\",\"teams\":[{\"id\":\"t\",\"name\":7}]}", "$.teams[0].name: must be a string" },
		{ "{\"tenant\":\"a\",\"teams\":[{\"id\":\"t\",\"name\":\"T\",\"phone\":\"ring Ole\"}]}",
		  "$.teams[0].phone: not a valid value" },
		{ "{\"tenant\":\"a\",\"teams\":[{\"id\":\"t\",\"name\":\"T\",\"phone\":\"+ -\"}]}",
		  "$.teams[0].phone: not a valid value" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"Anna Hansen\",\"role\":\"teacher\"}]}",
		  "$.users[0].role: unknown role (fagperson, raadgiver, myndighed, leder, admin or agent)" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"fagperson\",\"institutions\":[\"inst-x\"]}]}",
		  "$.users[0].institutions[0]: unknown institution" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"fagperson\"}]}",
		  "$.users[0].institutions: required for role fagperson" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"fagperson\",\"institutions\":[\"inst-a\","
		  "\"inst-a\"]}]}",
		  "$.users[0].institutions[1]: listed twice" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"myndighed\"}]}",
		  "$.users[0].team: required for role myndighed" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"leder\",\"team\":\"team-x\"}]}",
		  "$.users[0].team: unknown team" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"agent\"}]}",
		  "$.users[0].team: required for role agent" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"agent\",\"team\":\"team-a\","
		  "\"institutions\":[\"inst-a\"]}]}",
		  "$.users[0].institutions: not allowed for role agent" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"admin\",\"team\":\"team-a\"}]}",
		  "$.users[0].team: not allowed for role admin" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"raadgiver\",\"institutions\":[\"inst-a\"]}]}",
		  "$.users[0].institutions: not allowed for role raadgiver (use $.raadgivere)" },
		{ "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"admin\"}],\"raadgivere\":[{\"user\":\"u\","
		  "\"institutions\":[\"inst-a\"]}]}",
		  "$.raadgivere[0].user: user does not have role raadgiver" },
		{ "{" BASE ",\"raadgivere\":[{\"user\":\"ghost\",\"institutions\":[\"inst-a\"]}]}",
		  "$.raadgivere[0].user: unknown user" },
		{ "{" BASE ",\"users\":[{\"id\":\"r\",\"name\":\"N\",\"role\":\"raadgiver\"}],\"raadgivere\":[{\"user\":\"r\","
		  "\"institutions\":[]}]}",
		  "$.raadgivere[0].institutions: required" },
		{ "{" BASE ",\"routing\":[]}", "$.routing: must have at least one rule" },
		{ "{" BASE ",\"routing\":[{\"if\":{},\"team\":\"team-x\"}]}", "$.routing[0].team: unknown team" },
		{ "{" BASE ",\"routing\":[{\"if\":{\"akut\":true},\"team\":\"team-a\"}]}",
		  "$.routing[0]: the last rule must have an empty \"if\" (the default team)" },
		{ "{" BASE ",\"routing\":[{\"if\":{\"akut\":1},\"team\":\"team-a\"},{\"if\":{},\"team\":\"team-a\"}]}",
		  "$.routing[0].if.akut: must be true or false" },
		{ "{" BASE ",\"routing\":[{\"if\":{\"age_group\":[\"14-18\"]},\"team\":\"team-a\"},{\"if\":{},\"team\":"
		  "\"team-a\"}]}",
		  "$.routing[0].if.age_group[0]: unknown age_group" },
		{ "{" BASE ",\"routing\":[{\"if\":{\"district\":[\"Ringsted\"]},\"team\":\"team-a\"},{\"if\":{},\"team\":"
		  "\"team-a\"}]}",
		  "$.routing[0].if.district[0]: unknown district" },
		{ "{" BASE ",\"routing\":[{\"if\":{\"weekday\":true},\"team\":\"team-a\"},{\"if\":{},\"team\":\"team-a\"}]}",
		  "$.routing[0].if: unknown key" },
		{ "{" BASE ",\"routing\":[{\"team\":\"team-a\"}]}",
		  "$.routing[0].if: must be an object ({} matches everything)" },
		{ "{" BASE ",\"office_hours\":{\"time_zone\":\"Europe/Copenhagen\",\"mon\":\"15:30-08:00\"}}",
		  "$.office_hours.mon: must be \"HH:MM-HH:MM\" with start before end" },
		{ "{" BASE ",\"office_hours\":{\"time_zone\":\"UTC\"}}",
		  "$.office_hours.time_zone: only Europe/Copenhagen is supported" },
		{ "{" BASE ",\"office_hours\":{\"time_zone\":\"Europe/Copenhagen\",\"holidays\":[]}}",
		  "$.office_hours: unknown key" },
	};
	char dbpath[300], err[256];
	struct store *s = NULL;
	size_t i, n;
	int r;

	snprintf(dbpath, sizeof(dbpath), "%s/bad.db", dir);
	CHECK_EQ_INT(store_open(&s, dbpath, 1), VARSKO_OK);
	if (s == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(err, "untouched");
		r = store_import(s, cases[i].doc, strlen(cases[i].doc), T0, err, sizeof(err));
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_INPUT);
		n = strlen(cases[i].err);
		if (cases[i].err[n - 1] == '*') {
			if (strncmp(err, cases[i].err, n - 1) != 0)
				fprintf(stderr, "case %zu: got \"%s\"\n", i, err);
			CHECK(strncmp(err, cases[i].err, n - 1) == 0);
		} else {
			CHECK_EQ_STR(err, cases[i].err);
		}
		CHECK(strstr(err, "Anna") == NULL);
		/* Nothing stored: not the institutions and teams before the error, not an audit entry. */
		CHECK_EQ_INT(total_rows(s), 0);
	}
	/* The same base with a good user goes in, so the cases above failed for their own reason. */
	{
		static const char good[] = "{" BASE ",\"users\":[{\"id\":\"u\",\"name\":\"N\",\"role\":\"fagperson\","
		                           "\"institutions\":[\"inst-a\"]}],\"routing\":[{\"if\":{\"district\":"
		                           "[\"Slagelse\"],\"age_group\":[\"0-5\"],\"akut\":false},\"team\":\"team-a\"},"
		                           "{\"if\":{},\"team\":\"team-a\"}]}";

		CHECK_EQ_INT(store_import(s, good, strlen(good), T0, err, sizeof(err)), VARSKO_OK);
		CHECK_EQ_INT(q_int(s, "SELECT count(*) FROM user_institutions", NULL), 1);
	}
	store_close(s);
}

int main(void)
{
	char cmd[300];
	int rc;

	if (sodium_init() < 0)
		return 1;
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot make a temporary directory\n");
		return 77;
	}
	test_demo();
	test_bad_documents();
	rc = check_result();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
