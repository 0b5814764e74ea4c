/*
 * route.h: first-match routing of an underretning to a team (DESIGN.md "The
 * underretning flow", step 4). The rules are data: the "routing" list and
 * the "office_hours" of the municipality document (deploy/demo/slagelse.json):
 *
 *   "office_hours": {"time_zone": "Europe/Copenhagen", "mon": "08:00-15:30", ...}
 *   "routing": [ {"if": {COND...}, "team": TEAM_ID}, ... ]
 *
 * A rule matches when every condition in its "if" holds ({} matches
 * everything): "akut" and "handicap" (true/false) compare with the header's
 * flags; "outside_office_hours" (true/false) with whether `now` is outside
 * the office hours in Copenhagen on a hverdag (calendar.h); "age_group",
 * "district" and "institution" are non-empty lists, one of which must equal
 * the header's age group, the institution's district or the institution id.
 * A day missing from "office_hours" is closed; the office is open only on
 * hverdage, so hours given for "sat" and "sun" (accepted because the
 * importer accepts them) and for holidays never apply.
 *
 * Pure code: no I/O, no clock (now is a parameter), safe in any thread.
 * Pointers are borrowed for the call.
 */
#ifndef VARSKO_ROUTE_H
#define VARSKO_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "proto.h"
#include "underretning.h"

#define ROUTE_RULES_MAX    64
#define ROUTE_LIST_MAX     64 /* items in one condition list */
#define ROUTE_DISTRICT_MAX PROTO_NAME_MAX
#define ROUTE_DOC_MAX      (16u * 1024u * 1024u)

/* Bits of route_rule.age_groups. */
#define ROUTE_AGE_0_5   1u
#define ROUTE_AGE_6_13  2u
#define ROUTE_AGE_14_17 4u
#define ROUTE_AGE_18_22 8u

struct route_rule {
	char team[PROTO_ID_MAX + 1];
	int akut;                 /* -1: no condition, else 0 or 1 */
	int handicap;             /* -1, 0 or 1 */
	int outside_office_hours; /* -1, 0 or 1 */
	unsigned age_groups;      /* ROUTE_AGE_* bits; 0: no condition */
	size_t n_districts;       /* 0: no condition */
	char districts[ROUTE_LIST_MAX][ROUTE_DISTRICT_MAX + 1];
	size_t n_institutions; /* 0: no condition */
	char institutions[ROUTE_LIST_MAX][PROTO_ID_MAX + 1];
};

struct route_rules {
	size_t n; /* 1..ROUTE_RULES_MAX */
	struct route_rule rules[ROUTE_RULES_MAX];
	int has_office_hours;
	struct cal_office_hours hours;
};

/*
 * Load the rules from the municipality document buf[0..len) (other top-level
 * keys are ignored: the importer checks them). Strict: duplicate keys,
 * unknown keys in a rule, in "if" or in "office_hours", wrong types, empty
 * or over-long lists, unknown age groups, a time zone other than
 * Europe/Copenhagen, bad "HH:MM-HH:MM" spans, and "outside_office_hours"
 * without "office_hours" are refused. struct route_rules is large (about
 * 1 MB): allocate it on the heap. On failure *out is zeroed and *detail (if
 * not NULL) gets a static English text. Returns VARSKO_OK,
 * VARSKO_ERR_TOO_LARGE, VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY or
 * VARSKO_ERR_CONFIG.
 */
int route_load(const char *buf, size_t len, struct route_rules *out, const char **detail);

/*
 * First-match decision for header h of an underretning from an institution
 * in `district` (NULL or "" matches no district list) at instant `now`
 * (Unix seconds, UTC). On VARSKO_OK team_out holds the team id. Returns
 * VARSKO_ERR_NOT_FOUND when no rule matches, VARSKO_ERR_BAD_INPUT for a bad
 * header or a `now` outside the calendar's years (only when a rule needs the
 * office hours); team_out is "" on failure.
 */
int route_decide(const struct route_rules *rules, const struct uh_header *h, const char *district, int64_t now,
                 char team_out[PROTO_ID_MAX + 1]);

#endif
