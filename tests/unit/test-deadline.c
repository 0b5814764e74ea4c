/*
 * test-deadline.c: the legal deadlines of DOMAIN.md computed by calendar.c.
 * Every expected time below was worked out by hand from the rules (24 hours;
 * end of the 6th hverdag after the Copenhagen date of receipt; 4 calendar
 * months clamped; N calendar days) and the calendar facts (weekdays,
 * holidays, CET/CEST), with the counting written next to it.
 */
#include <stdint.h>
#include <string.h>

#include "calendar.h"
#include "check.h"

static char out_buf[CAL_TIME_LEN + 1];

/* The deadline, or the error name, as text so a failure shows both. */
static const char *due(int (*fn)(int64_t, int64_t *), const char *when)
{
	int64_t t, d;
	int r;

	if ((r = cal_parse_rfc3339(when, &t)) != VARSKO_OK || (r = fn(t, &d)) != VARSKO_OK ||
	    (r = cal_format_utc(d, out_buf)) != VARSKO_OK) {
		snprintf(out_buf, sizeof(out_buf), "error %s", varsko_err_name(r));
		return out_buf;
	}
	return out_buf;
}

static const char *tilbage(const char *when, int days)
{
	int64_t t, d;
	int r;

	if ((r = cal_parse_rfc3339(when, &t)) != VARSKO_OK || (r = cal_tilbagemelding_due(t, days, &d)) != VARSKO_OK ||
	    (r = cal_format_utc(d, out_buf)) != VARSKO_OK) {
		snprintf(out_buf, sizeof(out_buf), "error %s", varsko_err_name(r));
		return out_buf;
	}
	return out_buf;
}

#define VURDERING(when)     due(cal_vurdering_due, when)
#define KVITTERING(when)    due(cal_kvittering_due, when)
#define UNDERSOEGELSE(when) due(cal_undersoegelse_due, when)

static void test_domain_example(void)
{
	/* DOMAIN.md: received Monday 23 November 2026 -> end of Tuesday 1 December. */
	CHECK_EQ_STR(VURDERING("2026-11-23T10:00:00+01:00"), "2026-11-24T09:00:00Z");
	CHECK_EQ_STR(KVITTERING("2026-11-23T10:00:00+01:00"), "2026-12-01T22:59:59Z");
	/* 23 November + 30 days = 23 December, CET. */
	CHECK_EQ_STR(tilbage("2026-11-23T10:00:00+01:00", CAL_TILBAGEMELDING_DAYS_DEFAULT), "2026-12-23T22:59:59Z");
	/* The same instant written in UTC or another offset gives the same deadlines. */
	CHECK_EQ_STR(KVITTERING("2026-11-23T09:00:00Z"), "2026-12-01T22:59:59Z");
	CHECK_EQ_STR(KVITTERING("2026-11-23T04:00:00-05:00"), "2026-12-01T22:59:59Z");
	/* Any time on that Monday counts the same. */
	CHECK_EQ_STR(KVITTERING("2026-11-23T00:00:00+01:00"), "2026-12-01T22:59:59Z");
	CHECK_EQ_STR(KVITTERING("2026-11-23T23:59:59+01:00"), "2026-12-01T22:59:59Z");
}

static void test_midnight(void)
{
	/*
	 * Exactly local midnight starting Tuesday 24 November (23:00Z on the 23rd):
	 * the local date is the 24th. Wed 25 (1), Thu 26 (2), Fri 27 (3),
	 * Mon 30 (4), Tue 1 Dec (5), Wed 2 Dec (6).
	 */
	CHECK_EQ_STR(KVITTERING("2026-11-24T00:00:00+01:00"), "2026-12-02T22:59:59Z");
	CHECK_EQ_STR(KVITTERING("2026-11-23T23:00:00Z"), "2026-12-02T22:59:59Z");
	/* One second earlier is still Monday the 23rd locally. */
	CHECK_EQ_STR(KVITTERING("2026-11-23T22:59:59Z"), "2026-12-01T22:59:59Z");
	CHECK_EQ_STR(VURDERING("2026-11-24T00:00:00+01:00"), "2026-11-24T23:00:00Z");
}

static void test_friday_night(void)
{
	/* Friday 27 November 23:59 local: Mon 30 (1), Tue 1 (2), Wed 2 (3), Thu 3 (4), Fri 4 (5), Mon 7 Dec (6). */
	CHECK_EQ_STR(KVITTERING("2026-11-27T23:59:00+01:00"), "2026-12-07T22:59:59Z");
	/* Vurdering runs through the night: Saturday 23:59 local. */
	CHECK_EQ_STR(VURDERING("2026-11-27T23:59:00+01:00"), "2026-11-28T22:59:00Z");
}

static void test_weekend_and_holiday(void)
{
	/* Saturday 28 November: Mon 30 (1), Tue 1 (2), Wed 2 (3), Thu 3 (4), Fri 4 (5), Mon 7 Dec (6). */
	CHECK_EQ_STR(KVITTERING("2026-11-28T11:00:00+01:00"), "2026-12-07T22:59:59Z");
	/* Sunday 29 November: the same. */
	CHECK_EQ_STR(KVITTERING("2026-11-29T11:00:00+01:00"), "2026-12-07T22:59:59Z");
	/*
	 * Kristi himmelfartsdag, Thursday 14 May 2026 (CEST): Fri 15 (1),
	 * Mon 18 (2), Tue 19 (3), Wed 20 (4), Thu 21 (5), Fri 22 (6).
	 */
	CHECK_EQ_STR(KVITTERING("2026-05-14T09:00:00+02:00"), "2026-05-22T21:59:59Z");
	/*
	 * Wednesday 13 May 2026, the day before: Thu 14 is a holiday, Fri 15 (1),
	 * Mon 18 (2) .. Fri 22 (6). Same day as from the holiday itself.
	 */
	CHECK_EQ_STR(KVITTERING("2026-05-13T09:00:00+02:00"), "2026-05-22T21:59:59Z");
	/*
	 * Store bededag, Friday 5 May 2023: a holiday then. Mon 8 (1), Tue 9 (2),
	 * Wed 10 (3), Thu 11 (4), Fri 12 (5), Mon 15 (6). Thursday 4 May 2023:
	 * Fri 5 is skipped, so the same day.
	 */
	CHECK_EQ_STR(KVITTERING("2023-05-05T10:00:00+02:00"), "2023-05-15T21:59:59Z");
	CHECK_EQ_STR(KVITTERING("2023-05-04T10:00:00+02:00"), "2023-05-15T21:59:59Z");
	/*
	 * Thursday 25 April 2024, the day before what would have been store
	 * bededag: Fri 26 (1), Mon 29 (2), Tue 30 (3), Wed 1 May (4), Thu 2 (5),
	 * Fri 3 (6).
	 */
	CHECK_EQ_STR(KVITTERING("2024-04-25T10:00:00+02:00"), "2024-05-03T21:59:59Z");
}

static void test_christmas_and_new_year(void)
{
	/*
	 * Wednesday 23 December 2026: Thu 24, Fri 25, Sat 26, Sun 27 off;
	 * Mon 28 (1), Tue 29 (2), Wed 30 (3); Thu 31 and Fri 1 January off;
	 * Mon 4 (4), Tue 5 (5), Wed 6 January 2027 (6).
	 */
	CHECK_EQ_STR(KVITTERING("2026-12-23T14:00:00+01:00"), "2027-01-06T22:59:59Z");
	/* Thursday 24 December 2026, juleaftensdag: the same count. */
	CHECK_EQ_STR(KVITTERING("2026-12-24T14:00:00+01:00"), "2027-01-06T22:59:59Z");
	/* Tilbagemelding over New Year: 24 December + 30 days = 23 January 2027. */
	CHECK_EQ_STR(tilbage("2026-12-24T14:00:00+01:00", 30), "2027-01-23T22:59:59Z");
	/*
	 * Tuesday 30 December 2025: Wed 31 and Thu 1 January off; Fri 2 (1),
	 * Mon 5 (2), Tue 6 (3), Wed 7 (4), Thu 8 (5), Fri 9 January 2026 (6).
	 */
	CHECK_EQ_STR(KVITTERING("2025-12-30T12:00:00+01:00"), "2026-01-09T22:59:59Z");
	/* Vurdering over New Year's night. */
	CHECK_EQ_STR(VURDERING("2026-12-31T23:30:00+01:00"), "2027-01-01T22:30:00Z");
}

static void test_easter_week(void)
{
	/*
	 * Wednesday 1 April 2026, Easter Sunday 5 April: Thu 2 (skærtorsdag),
	 * Fri 3 (langfredag), Sat 4, Sun 5, Mon 6 (2. påskedag) off; Tue 7 (1),
	 * Wed 8 (2), Thu 9 (3), Fri 10 (4), Mon 13 (5), Tue 14 (6). CEST.
	 */
	CHECK_EQ_STR(KVITTERING("2026-04-01T10:00:00+02:00"), "2026-04-14T21:59:59Z");
	/*
	 * Wednesday 27 March 2024, Easter 31 March, the clock changing that
	 * Sunday: Thu 28, Fri 29, Mon 1 April off; Tue 2 (1), Wed 3 (2), Thu 4 (3),
	 * Fri 5 (4), Mon 8 (5), Tue 9 (6), CEST by then.
	 */
	CHECK_EQ_STR(KVITTERING("2024-03-27T10:00:00+01:00"), "2024-04-09T21:59:59Z");
}

static void test_dst(void)
{
	/*
	 * Monday 23 March 2026, CET; summer time from Sunday 29 March: Tue 24 (1),
	 * Wed 25 (2), Thu 26 (3), Fri 27 (4), Mon 30 (5), Tue 31 (6), CEST.
	 */
	CHECK_EQ_STR(KVITTERING("2026-03-23T10:00:00+01:00"), "2026-03-31T21:59:59Z");
	/*
	 * Monday 19 October 2026, CEST; winter time from Sunday 25 October:
	 * Tue 20 (1), Wed 21 (2), Thu 22 (3), Fri 23 (4), Mon 26 (5), Tue 27 (6), CET.
	 */
	CHECK_EQ_STR(KVITTERING("2026-10-19T10:00:00+02:00"), "2026-10-27T22:59:59Z");
	/* Vurdering is 24 real hours: 12:00 CET on Saturday becomes 13:00 CEST on Sunday. */
	CHECK_EQ_STR(VURDERING("2026-03-28T12:00:00+01:00"), "2026-03-29T11:00:00Z");
	/* And 12:00 CEST on Saturday 24 October becomes 11:00 CET on Sunday. */
	CHECK_EQ_STR(VURDERING("2026-10-24T12:00:00+02:00"), "2026-10-25T10:00:00Z");
	/* Received inside the October fold: 02:30 CET (01:30Z) on Sunday 25 October, a Sunday either way. */
	CHECK_EQ_STR(KVITTERING("2026-10-25T02:30:00+01:00"), "2026-11-02T22:59:59Z");
	CHECK_EQ_STR(KVITTERING("2026-10-25T02:30:00+02:00"), "2026-11-02T22:59:59Z");
}

static void test_undersoegelse(void)
{
	/* 31 October 2026 + 4 months: no 31 February, so 28 February 2027 (not a leap year), CET. */
	CHECK_EQ_STR(UNDERSOEGELSE("2026-10-31T10:00:00+01:00"), "2027-02-28T22:59:59Z");
	/* 31 October 2027 + 4 months: 29 February 2028 (a leap year). */
	CHECK_EQ_STR(UNDERSOEGELSE("2027-10-31T10:00:00+01:00"), "2028-02-29T22:59:59Z");
	/* 30 November 2026 + 4 months: 30 March 2027, after the spring change (28 March): CEST. */
	CHECK_EQ_STR(UNDERSOEGELSE("2026-11-30T10:00:00+01:00"), "2027-03-30T21:59:59Z");
	/* Started 23:30Z on 31 October 2026 = 00:30 on 1 November locally: 1 March 2027. */
	CHECK_EQ_STR(UNDERSOEGELSE("2026-10-31T23:30:00Z"), "2027-03-01T22:59:59Z");
	/* 15 June 2026 (CEST) + 4 months: 15 October 2026, still CEST. */
	CHECK_EQ_STR(UNDERSOEGELSE("2026-06-15T10:00:00+02:00"), "2026-10-15T21:59:59Z");
	/* 31 August 2026 + 4 months: 31 December 2026 (a holiday, but it is calendar months). */
	CHECK_EQ_STR(UNDERSOEGELSE("2026-08-31T10:00:00+02:00"), "2026-12-31T22:59:59Z");
}

static void test_tilbagemelding(void)
{
	/* N is a parameter: 0 days is the end of the day of receipt. */
	CHECK_EQ_STR(tilbage("2026-11-23T10:00:00+01:00", 0), "2026-11-23T22:59:59Z");
	CHECK_EQ_STR(tilbage("2026-11-23T10:00:00+01:00", 14), "2026-12-07T22:59:59Z");
	/* 1 October 2026 (CEST) + 30 days = 31 October, CET by then. */
	CHECK_EQ_STR(tilbage("2026-10-01T10:00:00+02:00", 30), "2026-10-31T22:59:59Z");
	/* Local date, not UTC date: 23:30Z on 23 November is 24 November locally. */
	CHECK_EQ_STR(tilbage("2026-11-23T23:30:00Z", 30), "2026-12-24T22:59:59Z");
}

static void test_bad_input(void)
{
	int64_t t, d;

	/* Parsing: no offset, malformed. */
	CHECK_EQ_INT(cal_parse_rfc3339("2026-11-23T10:00:00", &t), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(cal_parse_rfc3339("23-11-2026 10:00", &t), VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(cal_parse_rfc3339("2026-11-23T10:00:00+01:00 ", &t), VARSKO_ERR_BAD_TIME);

	/* Years outside 1996..2099. */
	CHECK_EQ_STR(KVITTERING("1995-06-01T10:00:00+02:00"), "error bad_input");
	CHECK_EQ_STR(VURDERING("1995-06-01T10:00:00+02:00"), "error bad_input");
	CHECK_EQ_STR(UNDERSOEGELSE("2100-01-04T10:00:00+01:00"), "error bad_input");
	CHECK_EQ_STR(tilbage("2100-01-04T10:00:00+01:00", 30), "error bad_input");
	/* The receipt is in range but the deadline day is not. */
	CHECK_EQ_STR(KVITTERING("2099-12-28T10:00:00+01:00"), "error bad_input");
	CHECK_EQ_STR(UNDERSOEGELSE("2099-10-01T10:00:00+02:00"), "error bad_input");
	CHECK_EQ_STR(tilbage("2099-12-15T10:00:00+01:00", 30), "error bad_input");
	CHECK_EQ_STR(VURDERING("2099-12-31T10:00:00+01:00"), "error bad_input");
	/* The last day that works. */
	CHECK_EQ_STR(KVITTERING("2099-12-15T10:00:00+01:00"), "2099-12-23T22:59:59Z");

	/* Bad parameters. */
	CHECK_EQ_INT(cal_parse_rfc3339("2026-11-23T10:00:00+01:00", &t), VARSKO_OK);
	CHECK_EQ_INT(cal_tilbagemelding_due(t, -1, &d), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_tilbagemelding_due(t, CAL_TILBAGEMELDING_DAYS_MAX + 1, &d), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_tilbagemelding_due(t, 30, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_vurdering_due(t, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_kvittering_due(t, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_undersoegelse_due(t, NULL), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_kvittering_due(INT64_MAX, &d), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_vurdering_due(INT64_MAX, &d), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_undersoegelse_due(INT64_MIN, &d), VARSKO_ERR_BAD_INPUT);
}

/*
 * Properties over every hour of 2020..2030: the kvittering deadline is the
 * last second of a local day, that day is a hverdag, at least 8 calendar days
 * after the receipt's local date, and exactly 6 hverdage lie between.
 */
static void test_properties(void)
{
	int64_t start, stop, t, k;
	struct cal_local lr, lk;
	int bad = 0;

	(void)cal_parse_rfc3339("2020-01-01T00:00:00Z", &start);
	(void)cal_parse_rfc3339("2030-12-31T00:00:00Z", &stop);
	for (t = start; t < stop; t += 3600) {
		int n = 0;
		int64_t day;
		if (cal_kvittering_due(t, &k) != VARSKO_OK || cal_to_local(t, &lr) != VARSKO_OK ||
		    cal_to_local(k, &lk) != VARSKO_OK) {
			bad++;
			continue;
		}
		if (lk.hour != 23 || lk.minute != 59 || lk.second != 59 || cal_to_local(k + 1, &lk) != VARSKO_OK ||
		    lk.hour != 0 || lk.minute != 0 || lk.second != 0)
			bad++;
		(void)cal_to_local(k, &lk);
		if (cal_is_hverdag(lk.year, lk.month, lk.day) != 1)
			bad++;
		for (day = cal_days_from_civil(lr.year, lr.month, lr.day) + 1;
		     day <= cal_days_from_civil(lk.year, lk.month, lk.day); day++) {
			struct cal_date c;
			(void)cal_civil_from_days(day, &c);
			n += cal_is_hverdag(c.year, c.month, c.day) == 1;
		}
		if (n != 6 ||
		    cal_days_from_civil(lk.year, lk.month, lk.day) - cal_days_from_civil(lr.year, lr.month, lr.day) < 8)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	test_domain_example();
	test_midnight();
	test_friday_night();
	test_weekend_and_holiday();
	test_christmas_and_new_year();
	test_easter_week();
	test_dst();
	test_undersoegelse();
	test_tilbagemelding();
	test_bad_input();
	test_properties();
	return check_result();
}
