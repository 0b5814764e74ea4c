/*
 * report.h: the ledelsestilsyn report (issue 4; docs/DEVELOPING.md,
 * "Deadlines and reports").
 *
 * report.c is pure: from the rows of a period (teams and underretninger with
 * their first events and deadlines, read by store_report_foreach()) it
 * computes the figures per team and in total, and writes them as JSON, CSV or
 * one self-contained HTML page with SVG charts. No I/O, no clock (the caller
 * passes "now"), safe in any thread. Pointers are borrowed for the call
 * unless a comment says otherwise. Functions return VARSKO_OK or a negative
 * VARSKO_ERR_*.
 *
 * Definitions (the same in the code, the docs and the tests):
 *   received        underretninger whose received_at lies in the period: from
 *                   00:00:00 of the first day to 23:59:59 of the last day,
 *                   Copenhagen time, both days included. Per team means per
 *                   the underretning's current team.
 *   time to vurdering / kvittering
 *                   signed time of the first (lowest seq) `vurderet` /
 *                   `kvitteret` event minus received_at, in seconds (a
 *                   negative difference, a device clock behind the
 *                   gateway's, counts as 0); only underretninger that have
 *                   such an event; `count` says how many.
 *   median, p90     nearest rank: of n values sorted ascending, the P-th
 *                   percentile is the value at rank ceil(P * n / 100)
 *                   (1-based; P = 50 for the median, 90 for p90). Always an
 *                   observed value; for an even n the median is the lower of
 *                   the two middle values. None (null) when n is 0.
 *   share within the deadline (vurdering 24 hours, kvittering 6 hverdage)
 *                   within / decided, where a deadline is decided when it is
 *                   met (met_at set) or overdue (not met and due_at < now),
 *                   and within when met_at <= due_at. A deadline that is
 *                   still open and not yet due is left out of both, since
 *                   it can still go either way. None when decided is 0.
 *   outside office  underretninger with outside_office = 1 (decided at
 *                   receipt by the municipality's office hours), share of
 *                   received.
 *   open overdue    every deadline (any kind, tilbagemelding included) of
 *                   an underretning of the period that is not met and whose
 *                   due_at < now; one entry per deadline, soonest due first.
 *   weeks           received per ISO 8601 week of the Copenhagen date of
 *                   receipt, every week from the one holding the first day
 *                   to the one holding the last, empty weeks included.
 */
#ifndef VARSKO_REPORT_H
#define VARSKO_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "proto.h"

enum report_deadline_kind {
	REPORT_DL_VURDERING = 0,
	REPORT_DL_KVITTERING,
	REPORT_DL_TILBAGEMELDING,
	REPORT_DL_UNDERSOEGELSE,
	REPORT_DL_COUNT
};

/* "vurdering", "kvittering", "tilbagemelding", "undersoegelse"; NULL when out of range. */
const char *report_deadline_name(enum report_deadline_kind k);

struct report_deadline {
	int present; /* 0: the underretning has no deadline of this kind */
	int64_t due_at;
	int64_t met_at; /* 0: not met */
};

/* One underretning of the period. */
struct report_item {
	char reference[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1]; /* current team */
	int64_t received_at;
	int outside_office;   /* 0 or 1 */
	int64_t vurderet_at;  /* signed time of the first vurderet event; 0: none */
	int64_t kvitteret_at; /* the same for kvitteret */
	struct report_deadline dl[REPORT_DL_COUNT];
};

struct report_team {
	char id[PROTO_ID_MAX + 1];
	char *name; /* owned by the input (report_input_clear) */
};

/*
 * What the report is computed from. Build it with report_input_add_team()
 * and report_input_add_item(); free with report_input_clear().
 */
struct report_input {
	struct cal_date from, to;    /* the period's first and last Copenhagen day */
	int64_t now;                 /* the report's "now" (overdue, decided) */
	char team[PROTO_ID_MAX + 1]; /* "" for every team, else the one team asked for */
	struct report_team *teams;   /* the teams shown, in this order */
	size_t n_teams, cap_teams;
	struct report_item *items;
	size_t n_items, cap_items;
};

void report_input_init(struct report_input *in);
void report_input_clear(struct report_input *in); /* frees what the input owns; NULL-safe */
int report_input_add_team(struct report_input *in, const char *id, const char *name); /* copies */
int report_input_add_item(struct report_input *in, const struct report_item *item);   /* copies */

/*
 * The period [from, to] as instants: 00:00:00 of `from` and 23:59:59 of `to`,
 * Copenhagen time. VARSKO_ERR_BAD_INPUT for an invalid date, a year outside
 * the calendar's, or from after to.
 */
int report_period(const struct cal_date *from, const struct cal_date *to, int64_t *from_at, int64_t *to_at);

/*
 * Parse a date "YYYY-MM-DD" (exactly that: ten characters, a real date in
 * the calendar's years). VARSKO_ERR_BAD_TIME otherwise.
 */
int report_parse_date(const char *s, struct cal_date *out);

#define REPORT_DAYS_DEFAULT 30  /* a leder's period without "from": the 30 days that end on "to" */
#define REPORT_DAYS_MAX     366 /* the longest period a leder may ask for, in days, both ends included */

/*
 * The period a leder asks for (PROTOCOL.md 12.7, report_get): from and to
 * as "YYYY-MM-DD", either NULL for its default: to is today's Copenhagen
 * date at `now`, from the REPORT_DAYS_DEFAULT days that end on to. On
 * VARSKO_OK *from_out and *to_out hold the period; else
 * VARSKO_ERR_BAD_INPUT with *why a static English text: a date that does
 * not parse (report_parse_date), to before from, or more than
 * REPORT_DAYS_MAX days.
 */
int report_period_choose(const char *from, const char *to, int64_t now, struct cal_date *from_out,
                         struct cal_date *to_out, const char **why);

/*
 * The P-th percentile (0 < p <= 100) of v[0..n) by nearest rank (above);
 * sorts v in place. VARSKO_ERR_NOT_FOUND when n is 0.
 */
int report_percentile(int64_t *v, size_t n, int p, int64_t *out);

struct report_stat {
	size_t count;           /* underretninger with the event */
	int64_t median, p90;    /* seconds; meaningful only when count > 0 */
	size_t within, decided; /* share = within / decided when decided > 0 */
};

struct report_figures {
	size_t received;
	struct report_stat vurdering, kvittering;
	size_t outside_office;
	size_t overdue; /* open overdue deadlines */
};

struct report_week {
	int iso_year, iso_week; /* ISO 8601 */
	struct cal_date monday;
	size_t received;
};

struct report_overdue {
	char reference[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	enum report_deadline_kind kind;
	int64_t due_at;
};

/* The computed report. Borrows the input it was computed from: keep that until report_free(). */
struct report {
	const struct report_input *in;
	struct report_figures *teams; /* one per in->teams[i] */
	struct report_figures total;
	struct report_week *weeks;
	size_t n_weeks;
	struct report_overdue *overdue;
	size_t n_overdue;
};

/*
 * Compute the figures. Items whose team is not one of in->teams count in
 * the total only. On VARSKO_OK *out is filled and owned by the caller
 * (report_free); on failure it is left empty. VARSKO_ERR_BAD_INPUT for a bad
 * period, VARSKO_ERR_NOMEM.
 */
int report_compute(const struct report_input *in, struct report *out);
void report_free(struct report *r); /* NULL-safe; safe on a zeroed struct */

enum report_format {
	REPORT_JSON = 0,
	REPORT_CSV,
	REPORT_HTML,
};

/*
 * Write the report in format f. *out is owned by the caller (free()),
 * NUL-terminated, *len bytes without the NUL. Every string taken from the
 * data is escaped for its format (JSON by jansson; CSV as RFC 4180 with a
 * leading ' before a field that starts like a spreadsheet formula; HTML and
 * SVG text as character references).
 *   JSON  one compact object with sorted keys (docs/DEVELOPING.md).
 *   CSV   one header row, one row per team, then one row "total".
 *   HTML  one self-contained page (inline CSS and SVG, no script, no
 *         external resource), Danish labels, times in Copenhagen time.
 */
int report_format(const struct report *r, enum report_format f, char **out, size_t *len);

/*
 * Team i's entry (in->teams[i]) of the JSON report, as report_format()
 * writes it in "teams": {"kvittering","name","outside_office","overdue",
 * "received","team","vurdering"}, compact with sorted keys; for a leder's
 * report_get (PROTOCOL.md 12.7). *out owned by the caller (free()), *len
 * bytes without the NUL. VARSKO_ERR_BAD_INPUT when there is no team i.
 */
int report_format_team(const struct report *r, size_t i, char **out, size_t *len);

/* ---- the varskoctl command (ctl_report.c) ---- */

/* `varskoctl [-c FILE] report ...`: returns the exit code (0, 1 failure, 2 usage). */
int ctl_report(const char *cfgpath, int argc, char **argv);

#endif
