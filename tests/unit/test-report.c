/*
 * test-report.c: gateway/report.c, the ledelsestilsyn figures and formats.
 *
 * The fixture (below) is a hand-made period of two ISO weeks with three
 * teams and an underretning of a team that no longer exists; every
 * expected figure is counted by hand in the comments next to it, with the
 * nearest-rank rule of report.h (rank = ceil(P * n / 100)). Then: the
 * percentile on its own for odd and even counts, dates and periods (also
 * in summer time and across a year with 53 ISO weeks), and the escaping of
 * every string in JSON, CSV and HTML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "check.h"
#include "report.h"

static int64_t at(const char *rfc3339)
{
	int64_t t = 0;

	if (cal_parse_rfc3339(rfc3339, &t) != VARSKO_OK) {
		fprintf(stderr, "bad time in the test: %s\n", rfc3339);
		exit(2);
	}
	return t;
}

#define H 3600
#define D 86400

/* An item: received at `recv`; vurderet/kvitteret `dv`/`dk` seconds later (NONE: no event). */
#define NONE INT64_MIN

static struct report_item item(const char *ref, const char *team, const char *recv, int outside, int64_t dv, int64_t dk)
{
	struct report_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.reference, sizeof(it.reference), "%s", ref);
	snprintf(it.team, sizeof(it.team), "%s", team);
	it.received_at = at(recv);
	it.outside_office = outside;
	it.vurderet_at = dv == NONE ? 0 : it.received_at + dv;
	it.kvitteret_at = dk == NONE ? 0 : it.received_at + dk;
	return it;
}

static void dl(struct report_item *it, enum report_deadline_kind k, int64_t due, int64_t met)
{
	it->dl[k].present = 1;
	it->dl[k].due_at = due;
	it->dl[k].met_at = met;
}

static const char name_a[] = "Team A & <Søn>";
static const char name_b[] = "Team B, \"quoted\" \\ back";
static const char name_c[] = "=SUM(1)\r\n<b>x</b>";

/*
 * Period Monday 2 November 2026 .. Sunday 15 November 2026 (ISO weeks 45 and
 * 46), now = 2026-11-20T12:00:00Z.
 */
static void fixture(struct report_input *in)
{
	struct report_item it;

	report_input_init(in);
	in->from = (struct cal_date){2026, 11, 2};
	in->to = (struct cal_date){2026, 11, 15};
	in->now = at("2026-11-20T12:00:00Z");
	CHECK_EQ_INT(report_input_add_team(in, "team-a", name_a), VARSKO_OK);
	CHECK_EQ_INT(report_input_add_team(in, "team-b", name_b), VARSKO_OK);
	CHECK_EQ_INT(report_input_add_team(in, "team-c", name_c), VARSKO_OK);

	/* A1: 00:30 on Monday 2 November in Copenhagen (still 1 November in UTC): week 45. Both in time. */
	it = item("U-2026-000001", "team-a", "2026-11-01T23:30:00Z", 0, 2 * H, 3 * D);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 2 * H);
	dl(&it, REPORT_DL_KVITTERING, it.received_at + 8 * D, it.received_at + 3 * D);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* A2: vurderet late (30 h); kvittering never, overdue since 11 November. */
	it = item("U-2026-000002", "team-a", "2026-11-03T10:00:00Z", 1, 30 * H, NONE);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 30 * H);
	dl(&it, REPORT_DL_KVITTERING, at("2026-11-11T22:59:59Z"), 0);
	dl(&it, REPORT_DL_TILBAGEMELDING, at("2026-12-03T22:59:59Z"), 0); /* not yet due */
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* A3: week 46, both in time. */
	it = item("U-2026-000003", "team-a", "2026-11-10T09:00:00Z", 0, 5 * H, 1 * D);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 5 * H);
	dl(&it, REPORT_DL_KVITTERING, it.received_at + 8 * D, it.received_at + 1 * D);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* A4: vurderet in time; kvittering open and not yet due at now: left out of the share. */
	it = item("U-2026-000004", "team-a", "2026-11-12T20:00:00Z", 1, 10 * H, NONE);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 10 * H);
	dl(&it, REPORT_DL_KVITTERING, at("2026-11-20T22:59:59Z"), 0);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);

	/* B1: the assessor's clock was 60 s behind: vurderet "before" receipt counts as 0 s. */
	it = item("U-2026-000005", "team-b", "2026-11-05T07:00:00Z", 1, -60, 2 * D);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at - 60);
	dl(&it, REPORT_DL_KVITTERING, it.received_at + 6 * D, it.received_at + 2 * D);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* B2: nothing done: vurdering, kvittering and the tilbagemelding target all overdue. */
	it = item("U-2026-000006", "team-b", "2026-11-06T12:00:00Z", 0, NONE, NONE);
	dl(&it, REPORT_DL_VURDERING, at("2026-11-07T12:00:00Z"), 0);
	dl(&it, REPORT_DL_KVITTERING, at("2026-11-16T22:59:59Z"), 0);
	dl(&it, REPORT_DL_TILBAGEMELDING, at("2026-11-19T22:59:59Z"), 0);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* B3: vurderet in time (20 h), kvitteret a day late (7 days against 6). */
	it = item("U-2026-000007", "team-b", "2026-11-09T15:00:00Z", 1, 20 * H, 7 * D);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 20 * H);
	dl(&it, REPORT_DL_KVITTERING, it.received_at + 6 * D, it.received_at + 7 * D);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* B4: both in time. */
	it = item("U-2026-000008", "team-b", "2026-11-11T10:00:00Z", 0, 3 * H, 2 * D);
	dl(&it, REPORT_DL_VURDERING, it.received_at + D, it.received_at + 3 * H);
	dl(&it, REPORT_DL_KVITTERING, at("2026-11-19T22:59:59Z"), it.received_at + 2 * D);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);

	/* X1: a team that is not shown: counts in the total only. 23:30 on Sunday 15 November local: week 46. */
	it = item("U-2026-000009", "team-gone", "2026-11-15T22:30:00Z", 1, NONE, NONE);
	dl(&it, REPORT_DL_VURDERING, at("2026-11-16T22:30:00Z"), 0);
	CHECK_EQ_INT(report_input_add_item(in, &it), VARSKO_OK);
	/* team-c has nothing. */
}

static void check_stat(const struct report_stat *st, size_t count, int64_t median, int64_t p90, size_t within,
                       size_t decided)
{
	CHECK_EQ_INT(st->count, count);
	if (count) {
		CHECK_EQ_INT(st->median, median);
		CHECK_EQ_INT(st->p90, p90);
	}
	CHECK_EQ_INT(st->within, within);
	CHECK_EQ_INT(st->decided, decided);
}

static void test_figures(void)
{
	struct report_input in;
	struct report rep;

	fixture(&in);
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_OK);
	if (rep.teams == NULL)
		goto out;

	/*
	 * team-a: 4 received, 2 outside office hours (A2, A4).
	 * vurdering: 2 h, 30 h, 5 h, 10 h -> sorted 7200 18000 36000 108000 (n 4):
	 * median rank 2 = 18000, p90 rank ceil(3.6) = 4 = 108000; within A1 A3 A4
	 * of 4 decided. kvittering: 3 d, 1 d -> 86400 259200 (n 2): median rank 1
	 * = 86400, p90 rank 2 = 259200; within A1 A3 of 3 decided (A2 overdue, A4
	 * left out). Overdue: A2 kvittering.
	 */
	CHECK_EQ_INT(rep.teams[0].received, 4);
	CHECK_EQ_INT(rep.teams[0].outside_office, 2);
	check_stat(&rep.teams[0].vurdering, 4, 18000, 108000, 3, 4);
	check_stat(&rep.teams[0].kvittering, 2, 86400, 259200, 2, 3);
	CHECK_EQ_INT(rep.teams[0].overdue, 1);

	/*
	 * team-b: 4 received, 2 outside (B1, B3).
	 * vurdering: 0 (clamped), 20 h, 3 h -> 0 10800 72000 (n 3, odd): median
	 * rank 2 = 10800, p90 rank ceil(2.7) = 3 = 72000; within B1 B3 B4 of 4
	 * decided (B2 overdue). kvittering: 2 d, 7 d, 2 d -> 172800 172800 604800:
	 * median 172800, p90 604800; within B1 B4 of 4 decided (B2 overdue, B3
	 * late). Overdue: B2 vurdering, kvittering, tilbagemelding.
	 */
	CHECK_EQ_INT(rep.teams[1].received, 4);
	CHECK_EQ_INT(rep.teams[1].outside_office, 2);
	check_stat(&rep.teams[1].vurdering, 3, 10800, 72000, 3, 4);
	check_stat(&rep.teams[1].kvittering, 3, 172800, 604800, 2, 4);
	CHECK_EQ_INT(rep.teams[1].overdue, 3);

	/* team-c: nothing at all. */
	CHECK_EQ_INT(rep.teams[2].received, 0);
	check_stat(&rep.teams[2].vurdering, 0, 0, 0, 0, 0);
	check_stat(&rep.teams[2].kvittering, 0, 0, 0, 0, 0);
	CHECK_EQ_INT(rep.teams[2].overdue, 0);

	/*
	 * Total: 9 received (X1 included), 5 outside.
	 * vurdering: 0 7200 10800 18000 36000 72000 108000 (n 7, odd): median
	 * rank 4 = 18000, p90 rank ceil(6.3) = 7 = 108000; within 6 of 9 decided
	 * (X1 overdue). kvittering: 86400 172800 172800 259200 604800 (n 5):
	 * median rank 3 = 172800, p90 rank ceil(4.5) = 5 = 604800; within 4 of
	 * 7. Overdue: 1 + 3 + X1 = 5.
	 */
	CHECK_EQ_INT(rep.total.received, 9);
	CHECK_EQ_INT(rep.total.outside_office, 5);
	check_stat(&rep.total.vurdering, 7, 18000, 108000, 6, 9);
	check_stat(&rep.total.kvittering, 5, 172800, 604800, 4, 7);
	CHECK_EQ_INT(rep.total.overdue, 5);

	/* Weeks 45 (A1 A2 B1 B2) and 46 (A3 A4 B3 B4 X1). */
	CHECK_EQ_INT(rep.n_weeks, 2);
	if (rep.n_weeks == 2) {
		CHECK_EQ_INT(rep.weeks[0].iso_year, 2026);
		CHECK_EQ_INT(rep.weeks[0].iso_week, 45);
		CHECK_EQ_INT(rep.weeks[0].monday.day, 2);
		CHECK_EQ_INT(rep.weeks[0].received, 4);
		CHECK_EQ_INT(rep.weeks[1].iso_week, 46);
		CHECK_EQ_INT(rep.weeks[1].monday.day, 9);
		CHECK_EQ_INT(rep.weeks[1].received, 5);
	}

	/* Overdue, soonest due first. */
	CHECK_EQ_INT(rep.n_overdue, 5);
	if (rep.n_overdue == 5) {
		CHECK_EQ_STR(rep.overdue[0].reference, "U-2026-000006");
		CHECK_EQ_INT(rep.overdue[0].kind, REPORT_DL_VURDERING);
		CHECK_EQ_STR(rep.overdue[1].reference, "U-2026-000002");
		CHECK_EQ_INT(rep.overdue[1].kind, REPORT_DL_KVITTERING);
		CHECK_EQ_STR(rep.overdue[2].reference, "U-2026-000009");
		CHECK_EQ_STR(rep.overdue[2].team, "team-gone");
		CHECK_EQ_INT(rep.overdue[2].due_at, at("2026-11-16T22:30:00Z"));
		CHECK_EQ_STR(rep.overdue[3].reference, "U-2026-000006");
		CHECK_EQ_INT(rep.overdue[3].kind, REPORT_DL_KVITTERING);
		CHECK_EQ_STR(rep.overdue[4].reference, "U-2026-000006");
		CHECK_EQ_INT(rep.overdue[4].kind, REPORT_DL_TILBAGEMELDING);
	}

	/* Evaluated a week earlier, fewer deadlines have passed: B2 vurdering and A2 kvittering only... */
	report_free(&rep);
	in.now = at("2026-11-12T00:00:00Z");
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_OK);
	CHECK_EQ_INT(rep.n_overdue, 2);
	/* ...and A4 is not decided, nor B2's kvittering. */
	check_stat(&rep.teams[1].kvittering, 3, 172800, 604800, 2, 3);
out:
	report_free(&rep);
	report_input_clear(&in);
}

static void test_percentile(void)
{
	int64_t one[] = {42}, three[] = {5, 1, 3}, five[] = {50, 10, 40, 20, 30}, ten[10], two[] = {9, 4};
	int64_t v = -1;
	int i;

	for (i = 0; i < 10; i++)
		ten[i] = 10 - i; /* 10 .. 1, unsorted */
	CHECK_EQ_INT(report_percentile(one, 1, 50, &v), VARSKO_OK);
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(report_percentile(one, 1, 90, &v), VARSKO_OK);
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(report_percentile(two, 2, 50, &v), VARSKO_OK); /* rank 1: the lower middle */
	CHECK_EQ_INT(v, 4);
	CHECK_EQ_INT(report_percentile(two, 2, 90, &v), VARSKO_OK); /* rank ceil(1.8) = 2 */
	CHECK_EQ_INT(v, 9);
	CHECK_EQ_INT(report_percentile(three, 3, 50, &v), VARSKO_OK); /* rank 2 */
	CHECK_EQ_INT(v, 3);
	CHECK_EQ_INT(report_percentile(three, 3, 90, &v), VARSKO_OK); /* rank ceil(2.7) = 3 */
	CHECK_EQ_INT(v, 5);
	CHECK_EQ_INT(report_percentile(five, 5, 50, &v), VARSKO_OK); /* rank 3 */
	CHECK_EQ_INT(v, 30);
	CHECK_EQ_INT(report_percentile(five, 5, 90, &v), VARSKO_OK); /* rank ceil(4.5) = 5 */
	CHECK_EQ_INT(v, 50);
	CHECK_EQ_INT(report_percentile(ten, 10, 50, &v), VARSKO_OK); /* rank 5 */
	CHECK_EQ_INT(v, 5);
	CHECK_EQ_INT(report_percentile(ten, 10, 90, &v), VARSKO_OK); /* rank 9 exactly */
	CHECK_EQ_INT(v, 9);
	CHECK_EQ_INT(report_percentile(ten, 10, 91, &v), VARSKO_OK); /* rank ceil(9.1) = 10 */
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(report_percentile(ten, 10, 100, &v), VARSKO_OK);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(report_percentile(ten, 10, 1, &v), VARSKO_OK);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(report_percentile(ten, 0, 50, &v), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(report_percentile(ten, 10, 0, &v), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(report_percentile(ten, 10, 101, &v), VARSKO_ERR_BAD_INPUT);
}

static void test_dates(void)
{
	struct cal_date a, b;
	struct report_input in;
	struct report rep;
	int64_t f, t;

	CHECK_EQ_INT(report_parse_date("2026-11-02", &a), VARSKO_OK);
	CHECK(a.year == 2026 && a.month == 11 && a.day == 2);
	CHECK_EQ_INT(report_parse_date("2024-02-29", &a), VARSKO_OK);
	CHECK_EQ_INT(report_parse_date("2026-02-29", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2026-11-31", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2026-1-05", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2026-11-05x", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2026/11/05", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2026-11-05T00:00:00Z", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date(NULL, &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("1995-12-31", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("2100-01-01", &a), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(report_parse_date("+026-11-05", &a), VARSKO_ERR_BAD_TIME);

	/* Winter: 00:00 CET is 23:00Z the day before; summer: 22:00Z. Both days included. */
	a = (struct cal_date){2026, 11, 2};
	b = (struct cal_date){2026, 11, 15};
	CHECK_EQ_INT(report_period(&a, &b, &f, &t), VARSKO_OK);
	CHECK_EQ_INT(f, at("2026-11-01T23:00:00Z"));
	CHECK_EQ_INT(t, at("2026-11-15T22:59:59Z"));
	a = (struct cal_date){2026, 7, 1};
	CHECK_EQ_INT(report_period(&a, &a, &f, &t), VARSKO_OK);
	CHECK_EQ_INT(f, at("2026-06-30T22:00:00Z"));
	CHECK_EQ_INT(t, at("2026-07-01T21:59:59Z"));
	/* From after to. */
	a = (struct cal_date){2026, 11, 16};
	CHECK_EQ_INT(report_period(&a, &b, &f, &t), VARSKO_ERR_BAD_INPUT);

	/* 2026 has 53 ISO weeks; 30 December 2024 is in week 1 of 2025. */
	report_input_init(&in);
	in.from = (struct cal_date){2026, 12, 28};
	in.to = (struct cal_date){2027, 1, 10};
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_OK);
	CHECK_EQ_INT(rep.n_weeks, 2);
	if (rep.n_weeks == 2) {
		CHECK(rep.weeks[0].iso_year == 2026 && rep.weeks[0].iso_week == 53);
		CHECK(rep.weeks[1].iso_year == 2027 && rep.weeks[1].iso_week == 1);
	}
	report_free(&rep);
	in.from = (struct cal_date){2024, 12, 30};
	in.to = (struct cal_date){2024, 12, 31};
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_OK);
	CHECK_EQ_INT(rep.n_weeks, 1);
	if (rep.n_weeks == 1)
		CHECK(rep.weeks[0].iso_year == 2025 && rep.weeks[0].iso_week == 1);
	report_free(&rep);
	/* A bad period is refused by report_compute too, and leaves nothing to free. */
	in.from = (struct cal_date){2025, 1, 1};
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_ERR_BAD_INPUT);
	CHECK(rep.teams == NULL && rep.weeks == NULL);
	report_input_clear(&in);
}

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_json(const struct report *rep)
{
	json_t *o = NULL, *t, *v;
	json_error_t e;
	char *text = NULL;
	size_t len = 0;

	CHECK_EQ_INT(report_format(rep, REPORT_JSON, &text, &len), VARSKO_OK);
	if (text == NULL)
		return;
	CHECK_EQ_INT(len, strlen(text));
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	CHECK(o != NULL);
	if (o == NULL)
		goto out;
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(o, "period"), "from")), "2026-11-02");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(o, "period"), "to_at")), "2026-11-15T22:59:59Z");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "now")), "2026-11-20T12:00:00Z");
	CHECK(json_is_null(json_object_get(o, "team")));
	CHECK_EQ_STR(json_string_value(json_object_get(o, "method")), "nearest-rank");
	CHECK_EQ_INT(json_array_size(json_object_get(o, "teams")), 3);
	/* The names come back exactly, quotes, backslash, CR and LF included. */
	t = json_array_get(json_object_get(o, "teams"), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(t, "name")), name_b);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "teams"), 2), "name")),
	             name_c);
	CHECK_EQ_INT(json_integer_value(json_object_get(t, "received")), 4);
	v = json_object_get(t, "vurdering");
	CHECK_EQ_INT(json_integer_value(json_object_get(v, "median_seconds")), 10800);
	CHECK_EQ_INT(json_integer_value(json_object_get(v, "p90_seconds")), 72000);
	CHECK(json_real_value(json_object_get(v, "share")) == 0.75);
	/* An empty team: null medians and shares, zero counts. */
	t = json_array_get(json_object_get(o, "teams"), 2);
	CHECK(json_is_null(json_object_get(json_object_get(t, "vurdering"), "median_seconds")));
	CHECK(json_is_null(json_object_get(json_object_get(t, "kvittering"), "share")));
	CHECK(json_is_null(json_object_get(json_object_get(t, "outside_office"), "share")));
	t = json_object_get(o, "total");
	CHECK_EQ_INT(json_integer_value(json_object_get(t, "received")), 9);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(t, "kvittering"), "within")), 4);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(t, "kvittering"), "decided")), 7);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(t, "outside_office"), "count")), 5);
	CHECK_EQ_INT(json_array_size(json_object_get(o, "weeks")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "weeks"), 1), "week")),
	             "2026-W46");
	CHECK_EQ_INT(json_array_size(json_object_get(o, "overdue")), 5);
	v = json_array_get(json_object_get(o, "overdue"), 4);
	CHECK_EQ_STR(json_string_value(json_object_get(v, "deadline")), "tilbagemelding");
	CHECK_EQ_STR(json_string_value(json_object_get(v, "due")), "2026-11-19T22:59:59Z");
out:
	json_decref(o);
	free(text);
}

/* report_format_team(): exactly the team's entry of the whole report's "teams", for every team. */
static void test_json_team(const struct report *rep)
{
	json_t *o = NULL, *entry;
	char *whole = NULL, *text = (char *)"x", *dumped;
	size_t len = 9, i;

	CHECK_EQ_INT(report_format_team(rep, rep->in->n_teams, &text, &len), VARSKO_ERR_BAD_INPUT);
	CHECK(text == NULL && len == 0);
	CHECK_EQ_INT(report_format(rep, REPORT_JSON, &whole, &len), VARSKO_OK);
	if (whole == NULL || (o = json_loads(whole, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		CHECK(0);
		goto out;
	}
	for (i = 0; i < rep->in->n_teams; i++) {
		entry = json_array_get(json_object_get(o, "teams"), i);
		dumped = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_EQ_INT(report_format_team(rep, i, &text, &len), VARSKO_OK);
		CHECK(dumped != NULL && text != NULL);
		if (dumped != NULL && text != NULL) {
			CHECK_EQ_STR(text, dumped);
			CHECK_EQ_INT(len, strlen(text));
			/* ... and the text itself is in the whole report as it is. */
			CHECK(contains(whole, text));
		}
		free(dumped);
		free(text);
		text = NULL;
	}
out:
	json_decref(o);
	free(whole);
}

/* report_period_choose(): a leder's period (PROTOCOL.md 12.7, report_get). */
static void test_period_choose(void)
{
	int64_t now = at("2026-11-30T23:30:00Z"); /* 1 December 00:30 in Copenhagen */
	struct cal_date f, t;
	const char *why;

	/* The default: the 30 days that end today, Copenhagen's date. */
	CHECK_EQ_INT(report_period_choose(NULL, NULL, now, &f, &t, &why), VARSKO_OK);
	CHECK(t.year == 2026 && t.month == 12 && t.day == 1);
	CHECK(f.year == 2026 && f.month == 11 && f.day == 2);
	CHECK(why == NULL);
	/* Only to: the 30 days that end on it; only from: from it to today. */
	CHECK_EQ_INT(report_period_choose(NULL, "2026-03-01", now, &f, &t, &why), VARSKO_OK);
	CHECK(f.year == 2026 && f.month == 1 && f.day == 31 && t.month == 3 && t.day == 1);
	CHECK_EQ_INT(report_period_choose("2026-10-01", NULL, now, &f, &t, &why), VARSKO_OK);
	CHECK(f.month == 10 && f.day == 1 && t.month == 12 && t.day == 1);
	/* One day, and the longest: 366 days (a leap year) in, 367 out. */
	CHECK_EQ_INT(report_period_choose("2026-10-01", "2026-10-01", now, &f, &t, &why), VARSKO_OK);
	CHECK_EQ_INT(report_period_choose("2024-01-01", "2024-12-31", now, &f, &t, &why), VARSKO_OK);
	CHECK_EQ_INT(report_period_choose("2025-01-01", "2026-01-01", now, &f, &t, &why), VARSKO_OK);
	CHECK_EQ_INT(report_period_choose("2024-12-31", "2026-01-01", now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(why, "the period is longer than 366 days");
	CHECK_EQ_INT(report_period_choose(NULL, "2027-12-31", now, &f, &t, &why), VARSKO_OK);
	/* to before from; dates that are no dates. */
	CHECK_EQ_INT(report_period_choose("2026-10-02", "2026-10-01", now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(why, "to is before from");
	CHECK_EQ_INT(report_period_choose("2026-02-30", NULL, now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(why, "from is not a date YYYY-MM-DD");
	CHECK_EQ_INT(report_period_choose(NULL, "2026-1-011", now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(why, "to is not a date YYYY-MM-DD");
	CHECK_EQ_INT(report_period_choose("1995-12-31", "1996-01-01", now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
	/* Without from, a to whose 30 days start before the calendar. */
	CHECK_EQ_INT(report_period_choose(NULL, "1996-01-10", now, &f, &t, &why), VARSKO_ERR_BAD_INPUT);
}

static void test_csv(const struct report *rep)
{
	static const char want[] =
	        "row,team,name,received,outside_office,outside_office_share,"
	        "vurdering_count,vurdering_median_seconds,vurdering_p90_seconds,vurdering_within_24h,"
	        "vurdering_decided,vurdering_share,kvittering_count,kvittering_median_seconds,kvittering_p90_seconds,"
	        "kvittering_within_6_hverdage,kvittering_decided,kvittering_share,overdue\r\n"
	        "team,team-a,Team A & <Søn>,4,2,0.5000,4,18000,108000,3,4,0.7500,2,86400,259200,2,3,0.6667,1\r\n"
	        "team,team-b,\"Team B, \"\"quoted\"\" \\ back\",4,2,0.5000,3,10800,72000,3,4,0.7500,"
	        "3,172800,604800,2,4,0.5000,3\r\n"
	        "team,team-c,\"'=SUM(1)\r\n<b>x</b>\",0,0,,0,,,0,0,,0,,,0,0,,0\r\n"
	        "total,,I alt,9,5,0.5556,7,18000,108000,6,9,0.6667,5,172800,604800,4,7,0.5714,5\r\n";
	char *text = NULL;
	size_t len = 0;

	CHECK_EQ_INT(report_format(rep, REPORT_CSV, &text, &len), VARSKO_OK);
	CHECK_EQ_STR(text, want);
	CHECK_EQ_INT(len, strlen(want));
	free(text);
}

static void test_html(const struct report *rep)
{
	char *text = NULL;
	size_t len = 0;

	CHECK_EQ_INT(report_format(rep, REPORT_HTML, &text, &len), VARSKO_OK);
	if (text == NULL)
		return;
	CHECK_EQ_INT(len, strlen(text));
	CHECK(strncmp(text, "<!DOCTYPE html>", 15) == 0);
	CHECK(contains(text, "<html lang=\"da\">"));
	/* Escaped names, and never the raw ones. */
	CHECK(contains(text, "Team A &amp; &lt;Søn&gt;"));
	CHECK(!contains(text, "<Søn>"));
	CHECK(contains(text, "Team B, &quot;quoted&quot; \\ back"));
	CHECK(contains(text, "=SUM(1)  &lt;b&gt;x&lt;/b&gt;"));
	CHECK(!contains(text, "<b>x</b>"));
	/* The name goes into SVG <title> and <text> escaped too. */
	CHECK(contains(text, "<title>Team A &amp; &lt;Søn&gt;, vurdering: 3 af 4 inden for fristen</title>"));
	/* The two charts and the tables. */
	CHECK(contains(text, "<svg id=\"chart-weeks\""));
	CHECK(contains(text, "<svg id=\"chart-compliance\""));
	CHECK(contains(text, "<title>Uge 45, 2026: 4 modtaget</title>"));
	CHECK(contains(text, "<title>Uge 46, 2026: 5 modtaget</title>"));
	CHECK(contains(text, "<table id=\"figures\">"));
	CHECK(contains(text, "<table id=\"overdue\">"));
	CHECK(contains(text, "U-2026-000009"));
	/* Danish labels, Copenhagen times, shares. */
	CHECK(contains(text, "Vurderet inden for 24 timer"));
	CHECK(contains(text, "Kvitteret inden for 6 hverdage"));
	CHECK(contains(text, "Uden for åbningstid"));
	CHECK(contains(text, "Opgjort 20. november 2026 kl. 13:00"));
	CHECK(contains(text, "75 % (3 af 4)"));
	CHECK(contains(text, "5 t 0 min</span> / <span class=\"nw\">30 t 0 min"));  /* team-a vurdering median / p90 */
	CHECK(contains(text, "2 døgn 0 t</span> / <span class=\"nw\">7 døgn 0 t")); /* team-b kvittering */
	/* Self-contained: no script, no external resource of any kind. */
	CHECK(!contains(text, "<script"));
	CHECK(!contains(text, "src="));
	CHECK(!contains(text, "href="));
	CHECK(!contains(text, "url("));
	CHECK(!contains(text, "@import"));
	CHECK(!contains(text, "<link"));
	free(text);
}

static void test_formats(void)
{
	struct report_input in;
	struct report rep;
	char *text = (char *)"x";
	size_t len = 9;

	fixture(&in);
	CHECK_EQ_INT(report_compute(&in, &rep), VARSKO_OK);
	test_json(&rep);
	test_json_team(&rep);
	test_csv(&rep);
	test_html(&rep);
	CHECK_EQ_INT(report_format(&rep, (enum report_format)7, &text, &len), VARSKO_ERR_BAD_INPUT);
	CHECK(text == NULL && len == 0);
	report_free(&rep);
	report_input_clear(&in);
}

int main(void)
{
	test_percentile();
	test_dates();
	test_period_choose();
	test_figures();
	test_formats();
	return check_result();
}
