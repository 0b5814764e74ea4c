/*
 * route.c: loading routing rules and office hours, and the first-match
 * decision (route.h).
 */
#include <string.h>

#include <jansson.h>

#include "route.h"

static const char *const age_names[] = {"0-5", "6-13", "14-17", "18-22"};

static int fail(const char **detail, const char *msg)
{
	if (detail != NULL)
		*detail = msg;
	return VARSKO_ERR_CONFIG;
}

/* Visible ASCII, 1..PROTO_ID_MAX. */
static int valid_id(const char *s, size_t len)
{
	if (len < 1 || len > PROTO_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* A district name: 1..ROUTE_DISTRICT_MAX bytes, no control characters or NUL (UTF-8 is compared bytewise). */
static int valid_district(const char *s, size_t len)
{
	if (len < 1 || len > ROUTE_DISTRICT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

static int age_bit(const char *s)
{
	for (size_t i = 0; i < sizeof(age_names) / sizeof(age_names[0]); i++)
		if (strcmp(s, age_names[i]) == 0)
			return 1 << i;
	return 0;
}

/* "HH:MM" at s as minutes 0..1440, or -1. */
static int hhmm(const char *s)
{
	int h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' || s[3] < '0' || s[3] > '9' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static int load_hours(const json_t *oh, struct cal_office_hours *hours, const char **detail)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	const char *k;
	json_t *v;

	if (!json_is_object(oh))
		return fail(detail, "office_hours must be an object");
	memset(hours, 0, sizeof(*hours));
	json_object_foreach((json_t *)oh, k, v)
	{
		size_t d;
		const char *s;
		int a, b;

		if (strcmp(k, "time_zone") == 0) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "Europe/Copenhagen") != 0 ||
			    json_string_length(v) != strlen("Europe/Copenhagen"))
				return fail(detail, "office_hours.time_zone must be \"Europe/Copenhagen\"");
			continue;
		}
		for (d = 0; d < 7 && strcmp(k, days[d]) != 0; d++)
			;
		if (d == 7)
			return fail(detail, "unknown key in office_hours");
		if (!json_is_string(v) || json_string_length(v) != 11 || (s = json_string_value(v))[5] != '-' ||
		    (a = hhmm(s)) < 0 || (b = hhmm(s + 6)) < 0 || a >= b)
			return fail(detail, "office hours must be \"HH:MM-HH:MM\" with start before end");
		hours->open[d] = a;
		hours->close[d] = b;
	}
	if (json_object_get(oh, "time_zone") == NULL)
		return fail(detail, "office_hours.time_zone is missing");
	return VARSKO_OK;
}

static int load_bool(const json_t *v, int *out, const char **detail)
{
	if (!json_is_boolean(v))
		return fail(detail, "a routing flag must be true or false");
	*out = json_is_true(v);
	return VARSKO_OK;
}

/* A non-empty list of at most ROUTE_LIST_MAX distinct strings. */
static int check_list(const json_t *v, const char **detail)
{
	size_t n = json_array_size(v);

	if (!json_is_array(v) || n < 1 || n > ROUTE_LIST_MAX)
		return fail(detail, "a routing condition list must have 1 to 64 items");
	for (size_t i = 0; i < n; i++) {
		if (!json_is_string(json_array_get(v, i)))
			return fail(detail, "a routing condition list holds strings");
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, i), json_array_get(v, j)))
				return fail(detail, "a routing condition list has a duplicate");
	}
	return VARSKO_OK;
}

static int load_rule(const json_t *o, struct route_rule *rule, const char **detail)
{
	const json_t *team = json_object_get(o, "team"), *cond = json_object_get(o, "if");
	const char *k;
	json_t *v;
	int r;

	if (!json_is_object(o))
		return fail(detail, "a routing rule must be an object");
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "if") != 0 && strcmp(k, "team") != 0)
			return fail(detail, "unknown key in a routing rule");
	}
	if (!json_is_string(team) || !valid_id(json_string_value(team), json_string_length(team)) ||
	    strlen(json_string_value(team)) != json_string_length(team))
		return fail(detail, "a routing rule needs a team id");
	if (!json_is_object(cond))
		return fail(detail, "a routing rule needs an \"if\" object ({} matches everything)");
	if (proto_str_copy(rule->team, sizeof(rule->team), json_string_value(team)) != VARSKO_OK)
		return fail(detail, "a routing rule needs a team id");
	rule->akut = rule->handicap = rule->outside_office_hours = -1;
	json_object_foreach((json_t *)cond, k, v)
	{
		if (strcmp(k, "akut") == 0) {
			r = load_bool(v, &rule->akut, detail);
		} else if (strcmp(k, "handicap") == 0) {
			r = load_bool(v, &rule->handicap, detail);
		} else if (strcmp(k, "outside_office_hours") == 0) {
			r = load_bool(v, &rule->outside_office_hours, detail);
		} else if (strcmp(k, "age_group") == 0) {
			if ((r = check_list(v, detail)) != VARSKO_OK)
				return r;
			for (size_t i = 0; i < json_array_size(v); i++) {
				int bit = age_bit(json_string_value(json_array_get(v, i)));
				if (bit == 0)
					return fail(detail, "unknown age group (0-5, 6-13, 14-17, 18-22)");
				rule->age_groups |= (unsigned)bit;
			}
		} else if (strcmp(k, "district") == 0 || strcmp(k, "institution") == 0) {
			int is_d = k[0] == 'd';
			if ((r = check_list(v, detail)) != VARSKO_OK)
				return r;
			for (size_t i = 0; i < json_array_size(v); i++) {
				const json_t *s = json_array_get(v, i);
				const char *sv = json_string_value(s);
				size_t sl = json_string_length(s);
				if (strlen(sv) != sl || (is_d ? !valid_district(sv, sl) : !valid_id(sv, sl)))
					return fail(detail, is_d ? "bad district name" : "bad institution id");
				if (proto_str_copy(is_d ? rule->districts[i] : rule->institutions[i],
				                   is_d ? sizeof(rule->districts[i]) : sizeof(rule->institutions[i]),
				                   sv) != VARSKO_OK)
					return fail(detail, is_d ? "bad district name" : "bad institution id");
			}
			if (is_d)
				rule->n_districts = json_array_size(v);
			else
				rule->n_institutions = json_array_size(v);
			r = VARSKO_OK;
		} else {
			return fail(detail, "unknown routing condition");
		}
		if (r != VARSKO_OK)
			return r;
	}
	return VARSKO_OK;
}

int route_load(const char *buf, size_t len, struct route_rules *out, const char **detail)
{
	json_error_t jerr;
	json_t *doc = NULL, *arr, *oh;
	int r = VARSKO_ERR_CONFIG, needs_hours = 0;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (buf == NULL && len > 0)
		return fail(detail, "no input");
	if (len > ROUTE_DOC_MAX) {
		fail(detail, "document too large");
		return VARSKO_ERR_TOO_LARGE;
	}
	doc = json_loadb(len ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		fail(detail, "malformed JSON");
		return json_error_code(&jerr) == json_error_duplicate_key ? VARSKO_ERR_DUPLICATE_KEY
		                                                          : VARSKO_ERR_BAD_JSON;
	}
	if (!json_is_object(doc)) {
		fail(detail, "not a JSON object");
		r = VARSKO_ERR_BAD_JSON;
		goto out;
	}
	arr = json_object_get(doc, "routing");
	if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > ROUTE_RULES_MAX) {
		r = fail(detail, "routing must be a list of 1 to 64 rules");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		if ((r = load_rule(json_array_get(arr, i), &out->rules[i], detail)) != VARSKO_OK)
			goto out;
		if (out->rules[i].outside_office_hours >= 0)
			needs_hours = 1;
		out->n = i + 1;
	}
	if ((oh = json_object_get(doc, "office_hours")) != NULL) {
		if ((r = load_hours(oh, &out->hours, detail)) != VARSKO_OK)
			goto out;
		out->has_office_hours = 1;
	} else if (needs_hours) {
		r = fail(detail, "a rule uses outside_office_hours but office_hours is missing");
		goto out;
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	json_decref(doc);
	return r;
}

static int in_list(const char *s, const char (*list)[ROUTE_DISTRICT_MAX + 1], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int in_id_list(const char *s, const char (*list)[PROTO_ID_MAX + 1], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int route_decide(const struct route_rules *rules, const struct uh_header *h, const char *district, int64_t now,
                 char team_out[PROTO_ID_MAX + 1])
{
	int bit, outside = -1;

	if (team_out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	team_out[0] = '\0';
	if (rules == NULL || h == NULL || rules->n > ROUTE_RULES_MAX ||
	    memchr(h->age_group, '\0', sizeof(h->age_group)) == NULL ||
	    memchr(h->institution, '\0', sizeof(h->institution)) == NULL || (bit = age_bit(h->age_group)) == 0)
		return VARSKO_ERR_BAD_INPUT;
	if (district == NULL)
		district = "";
	for (size_t i = 0; i < rules->n; i++) {
		const struct route_rule *r = &rules->rules[i];

		if (r->akut >= 0 && r->akut != (h->akut != 0))
			continue;
		if (r->handicap >= 0 && r->handicap != (h->handicap != 0))
			continue;
		if (r->age_groups != 0 && (r->age_groups & (unsigned)bit) == 0)
			continue;
		if (r->n_districts > 0 && !in_list(district, r->districts, r->n_districts))
			continue;
		if (r->n_institutions > 0 && !in_id_list(h->institution, r->institutions, r->n_institutions))
			continue;
		if (r->outside_office_hours >= 0) {
			if (outside < 0) {
				int in;
				if (!rules->has_office_hours || (in = cal_in_office_hours(now, &rules->hours)) < 0)
					return VARSKO_ERR_BAD_INPUT;
				outside = !in;
			}
			if (r->outside_office_hours != outside)
				continue;
		}
		memcpy(team_out, r->team, sizeof(r->team));
		return VARSKO_OK;
	}
	return VARSKO_ERR_NOT_FOUND;
}
