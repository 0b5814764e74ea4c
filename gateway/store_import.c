/*
 * store_import.c: store_import, the municipality document (docs/DEVELOPING.md,
 * "Municipality document"; deploy/demo/slagelse.json is an example).
 *
 * The whole document is validated first (types, unknown keys, ids, roles,
 * references, routing conditions) and only then written, in one BEGIN
 * IMMEDIATE transaction; a reference may point into the document or at a row
 * already in the database. Error texts are "JSON-path: message" and never
 * quote a value from the document (names are personal data).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flow.h"
#include "policy.h"
#include "route.h"
#include "store-internal.h"

#define IMPORT_DOC_MAX (4 * 1024 * 1024)
#define IMPORT_ITEMS_MAX 10000
#define IMPORT_PATH_MAX 96

struct imp {
	struct store *s;
	char *err;
	size_t errcap;
	json_t *insts; /* id -> institution object, of the document */
	json_t *teams; /* id -> team object */
	json_t *users; /* id -> user object */
	json_t *raad;  /* user id -> raadgivere entry */
	json_t *districts; /* district name -> true (document and database) */
	const char *tenant; /* the document's, while it is written (borrowed from the document) */
};

static const char *const kinds[] = { "skole", "vuggestue", "boernehave", "dagpleje", "klub", "sfo", "specialskole" };
static const char *const age_groups[] = { "0-5", "6-13", "14-17", "18-22" };
static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* Build a JSON path into out (IMPORT_PATH_MAX bytes); a longer path is cut, which only shortens a message. */
static void mkpath(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mkpath(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, IMPORT_PATH_MAX, fmt, ap);
	va_end(ap);
}

static int fail(struct imp *im, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct imp *im, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (im->err != NULL && im->errcap > 0) {
		n = snprintf(im->err, im->errcap, "%s: ", path);
		if (n >= 0 && (size_t)n < im->errcap) {
			va_start(ap, fmt);
			vsnprintf(im->err + n, im->errcap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return VARSKO_ERR_BAD_INPUT;
}

static int in_list(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(v, list[i]) == 0)
			return 1;
	}
	return 0;
}

#define IN_LIST(v, arr) in_list((v), (arr), sizeof(arr) / sizeof((arr)[0]))

/* Every key of obj must be one of allowed (NULL-terminated). */
static int only_keys(struct imp *im, json_t *obj, const char *path, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(k, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL)
			return fail(im, path, "unknown key");
	}
	return VARSKO_OK;
}

static int is_id(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	}
	return n > 0 && n <= PROTO_ID_MAX;
}

/* A display name: 1..PROTO_NAME_MAX bytes of UTF-8 (jansson checked it), no control characters. */
static int is_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_NAME_MAX)
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
		/* U+0080..U+009F too: names travel as the protocol's text kind (PROTOCOL.md 2). */
		if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f)
			return 0;
	}
	return 1;
}

/*
 * A phone number people dial ("+45 58 57 00 00"): 1..FLOW_PHONE_MAX bytes of
 * digits, spaces, '+', '-', '(' and ')', with at least one digit.
 */
static int is_phone(const char *s)
{
	size_t n = strlen(s);
	int digit = 0;

	if (n == 0 || n > FLOW_PHONE_MAX)
		return 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = 1;
		else if (*s != ' ' && *s != '+' && *s != '-' && *s != '(' && *s != ')')
			return 0;
	}
	return digit;
}

/* A required (or, with opt, optional) string member of obj that passes check; *out borrowed from obj. */
static int get_str(struct imp *im, json_t *obj, const char *key, const char *path, int (*check)(const char *),
                   int opt, const char **out)
{
	char p[IMPORT_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	mkpath(p, "%s.%s", path, key);
	if (v == NULL || json_is_null(v)) {
		if (opt)
			return VARSKO_OK;
		return fail(im, p, "missing");
	}
	if (!json_is_string(v))
		return fail(im, p, "must be a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(im, p, "contains a NUL character");
	if (check != NULL && !check(json_string_value(v)))
		return fail(im, p, check == is_id ? "not a valid id ([a-z0-9-], 1 to 64 bytes)" : "not a valid value");
	*out = json_string_value(v);
	return VARSKO_OK;
}

/* An optional array member; *out NULL when absent. */
static int get_array(struct imp *im, json_t *obj, const char *key, const char *path, json_t **out)
{
	char p[IMPORT_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return VARSKO_OK;
	mkpath(p, "%s.%s", path, key);
	if (!json_is_array(v))
		return fail(im, p, "must be an array");
	if (json_array_size(v) > IMPORT_ITEMS_MAX)
		return fail(im, p, "too many entries");
	*out = v;
	return VARSKO_OK;
}

/* 1 when statement id (a "SELECT 1 ... WHERE x = ?1") finds v, 0 when not, -1 on an error. */
static int db_has(struct store *s, enum store_sql id, const char *v)
{
	int r = store_query_one(s, id, NULL, NULL, "s", v);

	return r == VARSKO_OK ? 1 : r == VARSKO_ERR_NOT_FOUND ? 0 : -1;
}

/* Does `id` name a known object: in the document (set) or in the database (sql)? */
static int known(struct imp *im, json_t *set, enum store_sql sql, const char *id)
{
	if (json_object_get(set, id) != NULL)
		return 1;
	return db_has(im->s, sql, id) == 1;
}

/* A row of SQL_IMPORT_USER_ROLE: the role, cut to PROTO_ROLE_MAX bytes (roles are shorter). */
static int role_row(sqlite3_stmt *st, void *arg)
{
	const unsigned char *t = sqlite3_column_text(st, 0);

	if (t != NULL)
		snprintf(arg, PROTO_ROLE_MAX + 1, "%s", (const char *)t);
	return VARSKO_OK;
}

/* The role of user id (document first, then database) copied into role; "" when unknown. */
static void user_role(struct imp *im, const char *id, char role[PROTO_ROLE_MAX + 1])
{
	json_t *u = json_object_get(im->users, id);

	role[0] = '\0';
	if (u != NULL) {
		snprintf(role, PROTO_ROLE_MAX + 1, "%s", json_string_value(json_object_get(u, "role")));
		return;
	}
	(void)store_query_one(im->s, SQL_IMPORT_USER_ROLE, role_row, role, "s", id);
}

/* A list of distinct institution ids, each known. */
static int check_inst_list(struct imp *im, json_t *arr, const char *path)
{
	char p[IMPORT_PATH_MAX];
	json_t *v;
	size_t i, j;

	if (json_array_size(arr) > PROTO_INST_MAX)
		return fail(im, path, "more than %d institutions", PROTO_INST_MAX);
	json_array_foreach(arr, i, v) {
		mkpath(p, "%s[%zu]", path, i);
		if (!json_is_string(v) || !is_id(json_string_value(v)))
			return fail(im, p, "must be an institution id");
		if (!known(im, im->insts, SQL_IMPORT_HAS_INST, json_string_value(v)))
			return fail(im, p, "unknown institution");
		for (j = 0; j < i; j++) {
			if (strcmp(json_string_value(json_array_get(arr, j)), json_string_value(v)) == 0)
				return fail(im, p, "listed twice");
		}
	}
	return VARSKO_OK;
}

/* First pass over a list of objects with an "id": index them into set, rejecting duplicates. */
static int index_ids(struct imp *im, json_t *arr, const char *path, json_t *set)
{
	char p[IMPORT_PATH_MAX];
	const char *id;
	json_t *v;
	size_t i;
	int r;

	json_array_foreach(arr, i, v) {
		mkpath(p, "%s[%zu]", path, i);
		if (!json_is_object(v))
			return fail(im, p, "must be an object");
		if ((r = get_str(im, v, "id", p, is_id, 0, &id)) != VARSKO_OK)
			return r;
		if (json_object_get(set, id) != NULL)
			return fail(im, p, "duplicate id");
		if (json_object_set(set, id, v) != 0)
			return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

static int check_institutions(struct imp *im, json_t *arr)
{
	static const char *const allowed[] = { "id", "name", "kind", "district", NULL };
	char p[IMPORT_PATH_MAX], pk[IMPORT_PATH_MAX];
	const char *s;
	json_t *v;
	size_t i;
	int r;

	if ((r = index_ids(im, arr, "$.institutions", im->insts)) != VARSKO_OK)
		return r;
	json_array_foreach(arr, i, v) {
		mkpath(p, "$.institutions[%zu]", i);
		if ((r = only_keys(im, v, p, allowed)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "name", p, is_name, 0, &s)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "kind", p, NULL, 0, &s)) != VARSKO_OK)
			return r;
		if (!IN_LIST(s, kinds)) {
			mkpath(pk, "%s.kind", p);
			return fail(im, pk, "unknown kind");
		}
		if ((r = get_str(im, v, "district", p, is_name, 0, &s)) != VARSKO_OK)
			return r;
		if (json_object_set_new(im->districts, s, json_true()) != 0)
			return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

static int check_teams(struct imp *im, json_t *arr)
{
	static const char *const allowed[] = { "id", "name", "phone", NULL };
	char p[IMPORT_PATH_MAX];
	const char *s;
	json_t *v;
	size_t i;
	int r;

	if ((r = index_ids(im, arr, "$.teams", im->teams)) != VARSKO_OK)
		return r;
	json_array_foreach(arr, i, v) {
		mkpath(p, "$.teams[%zu]", i);
		if ((r = only_keys(im, v, p, allowed)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "name", p, is_name, 0, &s)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "phone", p, is_phone, 1, &s)) != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

static int check_users(struct imp *im, json_t *arr)
{
	static const char *const allowed[] = { "id", "name", "role", "institutions", "team", NULL };
	char p[IMPORT_PATH_MAX], pk[IMPORT_PATH_MAX];
	const char *s, *role, *team;
	json_t *v, *insts;
	size_t i;
	int r, needs_team, has_insts;

	if ((r = index_ids(im, arr, "$.users", im->users)) != VARSKO_OK)
		return r;
	json_array_foreach(arr, i, v) {
		mkpath(p, "$.users[%zu]", i);
		if ((r = only_keys(im, v, p, allowed)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "name", p, is_name, 0, &s)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "role", p, NULL, 0, &role)) != VARSKO_OK)
			return r;
		mkpath(pk, "%s.role", p);
		if (policy_role_bit(role) == 0)
			return fail(im, pk, "unknown role (fagperson, raadgiver, myndighed, leder, admin or agent)");
		if ((r = get_str(im, v, "team", p, is_id, 1, &team)) != VARSKO_OK)
			return r;
		if ((r = get_array(im, v, "institutions", p, &insts)) != VARSKO_OK)
			return r;
		/* Which fields a role has: see docs/DEVELOPING.md. */
		needs_team = policy_team_role(role);
		has_insts = strcmp(role, "fagperson") == 0;
		mkpath(pk, "%s.team", p);
		if (needs_team && team == NULL)
			return fail(im, pk, "required for role %s", role);
		if (team != NULL && !needs_team && strcmp(role, "raadgiver") != 0)
			return fail(im, pk, "not allowed for role %s", role);
		if (team != NULL && !known(im, im->teams, SQL_IMPORT_HAS_TEAM, team))
			return fail(im, pk, "unknown team");
		mkpath(pk, "%s.institutions", p);
		if (has_insts && (insts == NULL || json_array_size(insts) == 0))
			return fail(im, pk, "required for role fagperson");
		if (!has_insts && insts != NULL)
			return fail(im, pk, "not allowed for role %s%s", role,
			            strcmp(role, "raadgiver") == 0 ? " (use $.raadgivere)" : "");
		if (insts != NULL && (r = check_inst_list(im, insts, pk)) != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

static int check_raadgivere(struct imp *im, json_t *arr)
{
	static const char *const allowed[] = { "user", "institutions", NULL };
	char p[IMPORT_PATH_MAX], pk[IMPORT_PATH_MAX], role[PROTO_ROLE_MAX + 1];
	const char *user;
	json_t *v, *insts;
	size_t i;
	int r;

	json_array_foreach(arr, i, v) {
		mkpath(p, "$.raadgivere[%zu]", i);
		if (!json_is_object(v))
			return fail(im, p, "must be an object");
		if ((r = only_keys(im, v, p, allowed)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, v, "user", p, is_id, 0, &user)) != VARSKO_OK)
			return r;
		mkpath(pk, "%s.user", p);
		user_role(im, user, role);
		if (role[0] == '\0')
			return fail(im, pk, "unknown user");
		if (strcmp(role, "raadgiver") != 0)
			return fail(im, pk, "user does not have role raadgiver");
		if (json_object_get(im->raad, user) != NULL)
			return fail(im, pk, "user listed twice");
		if (json_object_set(im->raad, user, v) != 0)
			return VARSKO_ERR_NOMEM;
		if ((r = get_array(im, v, "institutions", p, &insts)) != VARSKO_OK)
			return r;
		mkpath(pk, "%s.institutions", p);
		if (insts == NULL || json_array_size(insts) == 0)
			return fail(im, pk, "required");
		if ((r = check_inst_list(im, insts, pk)) != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

/* "HH:MM-HH:MM" with start < end, both within the day. */
static int is_span(const char *s)
{
	int h1, m1, h2, m2, n = 0;

	if (strlen(s) != 11 || sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || n != 11)
		return 0;
	if (s[2] != ':' || s[5] != '-' || s[8] != ':')
		return 0;
	if (h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
		return 0;
	if ((h1 == 24 && m1) || (h2 == 24 && m2))
		return 0;
	return h1 * 60 + m1 < h2 * 60 + m2;
}

static int check_office_hours(struct imp *im, json_t *oh)
{
	static const char *const allowed[] = { "time_zone", "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
	char p[IMPORT_PATH_MAX];
	const char *s;
	size_t i;
	int r;

	if (!json_is_object(oh))
		return fail(im, "$.office_hours", "must be an object");
	if ((r = only_keys(im, oh, "$.office_hours", allowed)) != VARSKO_OK)
		return r;
	if ((r = get_str(im, oh, "time_zone", "$.office_hours", NULL, 0, &s)) != VARSKO_OK)
		return r;
	if (strcmp(s, "Europe/Copenhagen") != 0)
		return fail(im, "$.office_hours.time_zone", "only Europe/Copenhagen is supported");
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		mkpath(p, "$.office_hours.%s", days[i]);
		if ((r = get_str(im, oh, days[i], "$.office_hours", NULL, 1, &s)) != VARSKO_OK)
			return r;
		if (s != NULL && !is_span(s))
			return fail(im, p, "must be \"HH:MM-HH:MM\" with start before end");
	}
	return VARSKO_OK;
}

/* A routing condition list: strings from a fixed set, or known ids/districts. */
static int check_cond_list(struct imp *im, json_t *arr, const char *path, const char *what)
{
	char p[IMPORT_PATH_MAX];
	json_t *v;
	size_t i;
	const char *s;
	int ok;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 64)
		return fail(im, path, "must be a non-empty array");
	json_array_foreach(arr, i, v) {
		mkpath(p, "%s[%zu]", path, i);
		if (!json_is_string(v))
			return fail(im, p, "must be a string");
		s = json_string_value(v);
		if (strcmp(what, "age_group") == 0)
			ok = IN_LIST(s, age_groups);
		else if (strcmp(what, "district") == 0)
			ok = json_object_get(im->districts, s) != NULL ||
			     db_has(im->s, SQL_IMPORT_HAS_DISTRICT, s) == 1;
		else
			ok = is_id(s) && known(im, im->insts, SQL_IMPORT_HAS_INST, s);
		if (!ok)
			return fail(im, p, "unknown %s", what);
	}
	return VARSKO_OK;
}

static int check_routing(struct imp *im, json_t *arr)
{
	static const char *const allowed[] = { "if", "team", NULL };
	static const char *const conds[] = { "akut", "handicap", "outside_office_hours", "age_group", "district",
		                             "institution", NULL };
	char p[IMPORT_PATH_MAX], pk[IMPORT_PATH_MAX];
	const char *team, *k;
	json_t *rule, *cond, *v;
	size_t i;
	int r;

	if (json_array_size(arr) == 0)
		return fail(im, "$.routing", "must have at least one rule");
	json_array_foreach(arr, i, rule) {
		mkpath(p, "$.routing[%zu]", i);
		if (!json_is_object(rule))
			return fail(im, p, "must be an object");
		if ((r = only_keys(im, rule, p, allowed)) != VARSKO_OK)
			return r;
		if ((r = get_str(im, rule, "team", p, is_id, 0, &team)) != VARSKO_OK)
			return r;
		mkpath(pk, "%s.team", p);
		if (!known(im, im->teams, SQL_IMPORT_HAS_TEAM, team))
			return fail(im, pk, "unknown team");
		mkpath(pk, "%s.if", p);
		if ((cond = json_object_get(rule, "if")) == NULL || !json_is_object(cond))
			return fail(im, pk, "must be an object ({} matches everything)");
		if ((r = only_keys(im, cond, pk, conds)) != VARSKO_OK)
			return r;
		json_object_foreach(cond, k, v) {
			mkpath(pk, "%s.if.%s", p, k);
			if (strcmp(k, "akut") == 0 || strcmp(k, "handicap") == 0 || strcmp(k, "outside_office_hours") == 0) {
				if (!json_is_boolean(v))
					return fail(im, pk, "must be true or false");
			} else if ((r = check_cond_list(im, v, pk, k)) != VARSKO_OK) {
				return r;
			}
		}
		/* The last rule must match everything, so every underretning has a team. */
		if (i + 1 == json_array_size(arr) && json_object_size(cond) != 0)
			return fail(im, p, "the last rule must have an empty \"if\" (the default team)");
	}
	return VARSKO_OK;
}

static int validate(struct imp *im, json_t *doc)
{
	static const char *const allowed[] = { "tenant", "office_hours", "institutions", "teams", "users",
		                               "raadgivere", "routing", NULL };
	json_t *insts, *teams, *users, *raad, *routing, *oh;
	const char *tenant;
	int r;

	if (!json_is_object(doc))
		return fail(im, "$", "must be an object");
	if ((r = only_keys(im, doc, "$", allowed)) != VARSKO_OK)
		return r;
	if ((r = get_str(im, doc, "tenant", "$", is_id, 0, &tenant)) != VARSKO_OK)
		return r;
	if ((r = get_array(im, doc, "institutions", "$", &insts)) != VARSKO_OK ||
	    (r = get_array(im, doc, "teams", "$", &teams)) != VARSKO_OK ||
	    (r = get_array(im, doc, "users", "$", &users)) != VARSKO_OK ||
	    (r = get_array(im, doc, "raadgivere", "$", &raad)) != VARSKO_OK ||
	    (r = get_array(im, doc, "routing", "$", &routing)) != VARSKO_OK)
		return r;
	if ((oh = json_object_get(doc, "office_hours")) != NULL && (r = check_office_hours(im, oh)) != VARSKO_OK)
		return r;
	/* Institutions and teams first: users, rådgivere and rules refer to them. */
	if (insts != NULL && (r = check_institutions(im, insts)) != VARSKO_OK)
		return r;
	if (teams != NULL && (r = check_teams(im, teams)) != VARSKO_OK)
		return r;
	if (users != NULL && (r = check_users(im, users)) != VARSKO_OK)
		return r;
	if (raad != NULL && (r = check_raadgivere(im, raad)) != VARSKO_OK)
		return r;
	if (routing != NULL && (r = check_routing(im, routing)) != VARSKO_OK)
		return r;
	return VARSKO_OK;
}

/* ---- writing ---- */

/* The statements of this file (store-internal.h). */
const char *const store_sql_import[STORE_SQL_COUNT] = {
        [SQL_IMPORT_HAS_INST] = "SELECT 1 FROM institutions WHERE id = ?1",
        [SQL_IMPORT_HAS_TEAM] = "SELECT 1 FROM teams WHERE id = ?1",
        [SQL_IMPORT_HAS_DISTRICT] = "SELECT 1 FROM institutions WHERE district = ?1",
        [SQL_IMPORT_USER_ROLE] = "SELECT role FROM users WHERE id = ?1",
        [SQL_IMPORT_USER_OLD] =
                "SELECT role, coalesce(team, ''), EXISTS (SELECT 1 FROM devices d WHERE d.user = users.id"
                " AND d.revoked_at IS NULL) FROM users WHERE id = ?1",
        [SQL_IMPORT_INST_UPSERT] = "INSERT INTO institutions (id, name, kind, district) VALUES (?1, ?2, ?3, ?4)"
                                   " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
                                   " district = excluded.district",
        [SQL_IMPORT_TEAM_UPSERT] = "INSERT INTO teams (id, name, phone) VALUES (?1, ?2, ?3)"
                                   " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone",
        [SQL_IMPORT_USER_UPSERT] = "INSERT INTO users (id, name, role, team) VALUES (?1, ?2, ?3, ?4)"
                                   " ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,"
                                   " team = excluded.team",
        [SQL_IMPORT_UI_CLEAR] = "DELETE FROM user_institutions WHERE user = ?1",
        [SQL_IMPORT_UI_ADD] = "INSERT INTO user_institutions (user, institution) VALUES (?1, ?2)",
        [SQL_IMPORT_RULES_CLEAR] = "DELETE FROM routing_rules",
        [SQL_IMPORT_RULE_ADD] = "INSERT INTO routing_rules (pos, rule_json) VALUES (?1, ?2)",
        [SQL_DIRECTORY_INSTS] = "SELECT id, name, kind FROM institutions ORDER BY id",
        [SQL_DIRECTORY_TEAMS] = "SELECT id, name, phone FROM teams ORDER BY id",
};

/* String member `key` of obj (validated before), or NULL when absent: bound as NULL. */
static const char *member(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int meta_set_json(struct imp *im, const char *key, json_t *v)
{
	char *text;
	int r;

	if ((text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = store_exec(im->s, SQL_META_SET, "ss", key, text);
	free(text);
	return r;
}

static int add_insts(struct imp *im, const char *user, json_t *insts)
{
	json_t *v;
	size_t i;
	int r;

	json_array_foreach(insts, i, v) {
		if ((r = store_exec(im->s, SQL_IMPORT_UI_ADD, "ss", user, json_string_value(v))) != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

struct old_user {
	char role[PROTO_ROLE_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	int devices;
};

/* A row of SQL_IMPORT_USER_OLD. */
static int old_user_row(sqlite3_stmt *st, void *arg)
{
	struct old_user *o = arg;
	int r;

	if ((r = store_col_text(st, 0, o->role, sizeof(o->role))) != VARSKO_OK ||
	    (r = store_col_text(st, 1, o->team, sizeof(o->team))) != VARSKO_OK)
		return r;
	o->devices = sqlite3_column_int(st, 2);
	return VARSKO_OK;
}

/*
 * A user with enrolled devices who changes team or role: the certificates
 * no longer say who the user is, so the devices are revoked (PROTOCOL.md
 * 12.8: access follows the user's current record).
 */
static int roster_change(struct imp *im, json_t *user, int64_t now)
{
	const char *id = member(user, "id");
	const char *role = member(user, "role");
	const char *team = member(user, "team");
	struct old_user old;
	int r, n = 0;

	memset(&old, 0, sizeof(old));
	if (team == NULL)
		team = "";
	r = store_query_one(im->s, SQL_IMPORT_USER_OLD, old_user_row, &old, "s", id);
	if (r == VARSKO_ERR_NOT_FOUND)
		return VARSKO_OK; /* a new user has no devices */
	if (r != VARSKO_OK || !old.devices || (strcmp(old.role, role) == 0 && strcmp(old.team, team) == 0))
		return r;
	/*
	 * Access follows the user's record (policy.h), and a certificate states
	 * the role and team: the user's devices are revoked (each audited, the
	 * old team's roster bumped) and the user enrolls again for the new ones.
	 */
	return store_user_revoke_devices(im->s, id, now, "import", &n);
}

/* A row of SQL_META_GET for 'tenant': VARSKO_ERR_BAD_INPUT (and the message) if it is another. */
static int tenant_row(sqlite3_stmt *st, void *arg)
{
	struct imp *im = arg;
	const char *stored = (const char *)sqlite3_column_text(st, 0);

	if (stored != NULL && strcmp(stored, im->tenant) != 0)
		return fail(im, "$.tenant", "the database belongs to another tenant");
	return VARSKO_OK;
}

static int write_doc(struct imp *im, json_t *doc, int64_t now)
{
	char detail[128];
	const char *id;
	json_t *v, *arr;
	size_t i;
	int r;

	/* A database belongs to one municipality. */
	im->tenant = member(doc, "tenant");
	r = store_query_one(im->s, SQL_META_GET, tenant_row, im, "s", "tenant");
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		return r;
	if ((r = store_exec(im->s, SQL_META_SET, "ss", "tenant", im->tenant)) != VARSKO_OK)
		return r;
	if ((v = json_object_get(doc, "office_hours")) != NULL && (r = meta_set_json(im, "office_hours", v)) != VARSKO_OK)
		return r;
	json_array_foreach(json_object_get(doc, "institutions"), i, v) {
		if ((r = store_exec(im->s, SQL_IMPORT_INST_UPSERT, "ssss", member(v, "id"), member(v, "name"),
		                    member(v, "kind"), member(v, "district"))) != VARSKO_OK)
			return r;
	}
	json_array_foreach(json_object_get(doc, "teams"), i, v) {
		if ((r = store_exec(im->s, SQL_IMPORT_TEAM_UPSERT, "ssz", member(v, "id"), member(v, "name"),
		                    member(v, "phone"))) != VARSKO_OK)
			return r;
	}
	json_array_foreach(json_object_get(doc, "users"), i, v) {
		if ((r = roster_change(im, v, now)) != VARSKO_OK)
			return r;
		id = member(v, "id");
		if ((r = store_exec(im->s, SQL_IMPORT_USER_UPSERT, "ssss", id, member(v, "name"), member(v, "role"),
		                    member(v, "team"))) != VARSKO_OK)
			return r;
		/* The document's list replaces the user's institutions. */
		if ((r = store_exec(im->s, SQL_IMPORT_UI_CLEAR, "s", id)) != VARSKO_OK)
			return r;
		if ((arr = json_object_get(v, "institutions")) != NULL && (r = add_insts(im, id, arr)) != VARSKO_OK)
			return r;
	}
	json_array_foreach(json_object_get(doc, "raadgivere"), i, v) {
		id = member(v, "user");
		if ((r = store_exec(im->s, SQL_IMPORT_UI_CLEAR, "s", id)) != VARSKO_OK)
			return r;
		if ((r = add_insts(im, id, json_object_get(v, "institutions"))) != VARSKO_OK)
			return r;
	}
	if ((arr = json_object_get(doc, "routing")) != NULL) {
		/* The rules are one ordered list: the document's replaces the stored one. */
		if ((r = store_exec(im->s, SQL_IMPORT_RULES_CLEAR, "")) != VARSKO_OK)
			return r;
		json_array_foreach(arr, i, v) {
			char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

			if (text == NULL)
				return VARSKO_ERR_NOMEM;
			r = store_exec(im->s, SQL_IMPORT_RULE_ADD, "is", (int64_t)i + 1, text);
			free(text);
			if (r != VARSKO_OK)
				return r;
		}
	}
	snprintf(detail, sizeof(detail), "institutions=%zu teams=%zu users=%zu raadgivere=%zu rules=%zu",
	         json_array_size(json_object_get(doc, "institutions")), json_array_size(json_object_get(doc, "teams")),
	         json_array_size(json_object_get(doc, "users")), json_array_size(json_object_get(doc, "raadgivere")),
	         json_array_size(json_object_get(doc, "routing")));
	return store_audit(im->s, now, "import", "-", detail);
}

/*
 * The rules as stored after the write must load the way varskod loads them
 * for every submission (flow_submit.c flow_load_rules(): store_routing_doc,
 * then route_load), so route.c stays the one judge of a rule: a document
 * that validate() lets through but route_load() refuses (a duplicate in a
 * condition list, more than ROUTE_RULES_MAX rules, outside_office_hours
 * without office hours) is refused here instead of stopping every
 * submission later. No rules at all (none ever imported) is not a fault.
 */
static int check_stored_routing(struct imp *im)
{
	struct route_rules *rules = NULL;
	const char *detail = NULL;
	char *doc = NULL;
	size_t len = 0;
	int r = store_routing_doc(im->s, &doc, &len);

	if (r != VARSKO_OK)
		return r == VARSKO_ERR_NOT_FOUND ? VARSKO_OK : r;
	if ((rules = malloc(sizeof(*rules))) == NULL) {
		free(doc);
		return VARSKO_ERR_NOMEM;
	}
	r = route_load(doc, len, rules, &detail);
	free(rules);
	free(doc);
	if (r == VARSKO_ERR_NOMEM)
		return r;
	return r == VARSKO_OK ? VARSKO_OK : fail(im, "$.routing", "%s", detail != NULL ? detail : "does not load");
}

int store_import(struct store *s, const char *json, size_t len, int64_t now, char *errbuf, size_t errcap)
{
	struct imp im;
	json_error_t jerr;
	json_t *doc = NULL;
	int own = 0, r;

	memset(&im, 0, sizeof(im));
	im.s = s;
	im.err = errbuf;
	im.errcap = errcap;
	if (errbuf != NULL && errcap > 0)
		errbuf[0] = '\0';
	if (len > IMPORT_DOC_MAX)
		return fail(&im, "$", "document larger than %d bytes", IMPORT_DOC_MAX);
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return fail(&im, "$", "not valid JSON (line %d, column %d; duplicate keys are refused)", jerr.line,
		            jerr.column);
	im.insts = json_object();
	im.teams = json_object();
	im.users = json_object();
	im.raad = json_object();
	im.districts = json_object();
	if (!im.insts || !im.teams || !im.users || !im.raad || !im.districts) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* Validate inside the write transaction, so references to stored rows cannot change meanwhile. */
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		goto out;
	if ((r = validate(&im, doc)) == VARSKO_OK && (r = write_doc(&im, doc, now)) == VARSKO_OK)
		r = check_stored_routing(&im);
	r = store_tx_end(s, own, r);
out:
	json_decref(im.insts);
	json_decref(im.teams);
	json_decref(im.users);
	json_decref(im.raad);
	json_decref(im.districts);
	json_decref(doc);
	return r;
}

/* ---- the directory ---- */

struct dir_walk {
	int (*inst)(const char *id, const char *name, const char *kind, void *arg);
	int (*team)(const char *id, const char *name, const char *phone, void *arg);
	void *arg;
};

static int dir_inst_row(sqlite3_stmt *st, void *arg)
{
	struct dir_walk *w = arg;
	const char *id = (const char *)sqlite3_column_text(st, 0);
	const char *name = (const char *)sqlite3_column_text(st, 1);
	const char *kind = (const char *)sqlite3_column_text(st, 2);

	if (id == NULL || name == NULL || kind == NULL)
		return VARSKO_ERR_DB;
	return w->inst(id, name, kind, w->arg);
}

static int dir_team_row(sqlite3_stmt *st, void *arg)
{
	struct dir_walk *w = arg;
	const char *id = (const char *)sqlite3_column_text(st, 0);
	const char *name = (const char *)sqlite3_column_text(st, 1);

	if (id == NULL || name == NULL)
		return VARSKO_ERR_DB;
	return w->team(id, name, (const char *)sqlite3_column_text(st, 2), w->arg);
}

/* store.h */
int store_directory(struct store *s, int (*inst)(const char *id, const char *name, const char *kind, void *arg),
                    int (*team)(const char *id, const char *name, const char *phone, void *arg), void *arg)
{
	struct dir_walk w = {inst, team, arg};
	int r;

	if ((r = store_query(s, SQL_DIRECTORY_INSTS, dir_inst_row, &w, "")) != VARSKO_OK)
		return r;
	return store_query(s, SQL_DIRECTORY_TEAMS, dir_team_row, &w, "");
}
