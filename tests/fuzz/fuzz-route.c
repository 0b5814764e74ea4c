/*
 * fuzz-route.c: route_load() (gateway/route.c) on arbitrary bytes as the
 * municipality document, then route_decide() with every age group, akut
 * and handicap flag, the institutions and districts the rules name, at a
 * Monday 10:00, a Monday 22:00 and a Saturday noon in Copenhagen.
 *
 * Invariants: a refusal answers with a documented code and a detail, and
 * leaves the rules zeroed; accepted rules are 1..ROUTE_RULES_MAX, each with
 * a team id and lists within their limits, office hours present when a
 * rule needs them. Every header and instant here is valid, so a decision
 * names the team of one of the rules (the first rule's when it has no
 * condition) or is NOT_FOUND (never when some rule has no condition).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ages[] = {"0-5", "6-13", "14-17", "18-22"};
/* 2026-11-23 (a Monday) 10:00 and 22:00, 2026-11-28 (a Saturday) 12:00, Copenhagen (UTC+1). */
static const int64_t instants[] = {1795424400, 1795467600, 1795863600};

/* About 1 MB each: allocated once, as route_load() zeroes *out first anyway. */
static struct route_rules rules, zero;

static int unconditional(const struct route_rule *r)
{
	return r->akut < 0 && r->handicap < 0 && r->outside_office_hours < 0 && r->age_groups == 0 &&
	       r->n_districts == 0 && r->n_institutions == 0;
}

static void check_rules(const struct route_rules *rs)
{
	int needs_hours = 0;

	if (rs->n < 1 || rs->n > ROUTE_RULES_MAX)
		abort();
	for (size_t i = 0; i < rs->n; i++) {
		const struct route_rule *r = &rs->rules[i];

		if (r->team[0] == '\0' || memchr(r->team, '\0', sizeof(r->team)) == NULL ||
		    r->n_districts > ROUTE_LIST_MAX || r->n_institutions > ROUTE_LIST_MAX || r->age_groups > 15 ||
		    r->akut < -1 || r->akut > 1 || r->handicap < -1 || r->handicap > 1 || r->outside_office_hours < -1 ||
		    r->outside_office_hours > 1)
			abort();
		for (size_t j = 0; j < r->n_districts; j++)
			if (r->districts[j][0] == '\0')
				abort();
		for (size_t j = 0; j < r->n_institutions; j++)
			if (r->institutions[j][0] == '\0')
				abort();
		needs_hours |= r->outside_office_hours >= 0;
	}
	if (needs_hours && !rs->has_office_hours)
		abort();
	if (memcmp(&rs->rules[rs->n], &zero.rules[rs->n], (ROUTE_RULES_MAX - rs->n) * sizeof(rs->rules[0])) != 0)
		abort();
}

static void check_decisions(const struct route_rules *rs)
{
	int any_unconditional = 0;
	struct uh_header h;
	char team[PROTO_ID_MAX + 1];

	for (size_t i = 0; i < rs->n; i++) {
		any_unconditional |= unconditional(&rs->rules[i]);
	}
	for (unsigned k = 0; k < 16 * (unsigned)rs->n && k < 256; k++) {
		const struct route_rule *pick = &rs->rules[k % rs->n];
		const char *district = pick->n_districts ? pick->districts[0] : "";
		int r;

		memset(&h, 0, sizeof(h));
		strcpy(h.age_group, ages[k % 4]);
		h.akut = (k >> 2) & 1;
		h.handicap = (k >> 3) & 1;
		strcpy(h.institution, pick->n_institutions ? pick->institutions[0] : "inst-fuzz");
		strcpy(h.submission, "s-fuzz");
		h.created = instants[k % 3];
		r = route_decide(rs, &h, district, instants[k % 3], team);
		if (r == VARSKO_OK) {
			size_t i;

			for (i = 0; i < rs->n && strcmp(team, rs->rules[i].team) != 0; i++)
				;
			if (i == rs->n)
				abort();
			if (unconditional(&rs->rules[0]) && strcmp(team, rs->rules[0].team) != 0)
				abort();
		} else if (r == VARSKO_ERR_NOT_FOUND) {
			if (any_unconditional || team[0] != '\0')
				abort();
		} else {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_rules *rs = &rules;
	const char *detail = NULL;
	int r;

	r = route_load((const char *)data, size, rs, &detail);
	if (r == VARSKO_OK) {
		check_rules(rs);
		check_decisions(rs);
	} else if ((r != VARSKO_ERR_CONFIG && r != VARSKO_ERR_BAD_JSON && r != VARSKO_ERR_DUPLICATE_KEY &&
	            r != VARSKO_ERR_TOO_LARGE) ||
	           detail == NULL || memcmp(rs, &zero, sizeof(*rs)) != 0) {
		abort();
	}
	return 0;
}
