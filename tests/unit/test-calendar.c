/*
 * test-calendar.c: proto/calendar.c against calendar facts written out by
 * hand: Easter Sundays (as published in church calendars, cross-checked with
 * an independent implementation), every Danish non-working holiday of
 * 2020..2030 (DOMAIN.md's list), the EU summer-time transitions, and a few
 * well-known Unix times. No expected value here was produced by calendar.c.
 */
#include <stdint.h>
#include <string.h>

#include "calendar.h"
#include "check.h"

struct ymd {
	int y, m, d;
};

/* ---- civil dates ---- */

static void test_civil(void)
{
	struct cal_date out;

	CHECK_EQ_INT(cal_days_from_civil(1970, 1, 1), 0);
	CHECK_EQ_INT(cal_days_from_civil(1969, 12, 31), -1);
	CHECK_EQ_INT(cal_days_from_civil(2000, 1, 1), 10957);
	CHECK_EQ_INT(cal_days_from_civil(2000, 3, 1), 11017); /* 2000 is a leap year */
	CHECK_EQ_INT(cal_days_from_civil(1, 1, 1), -719162);
	CHECK_EQ_INT(cal_days_from_civil(9999, 12, 31), 2932896);
	CHECK(cal_days_from_civil(2026, 13, 1) == INT64_MIN);
	CHECK(cal_days_from_civil(2026, 2, 29) == INT64_MIN);
	CHECK(cal_days_from_civil(0, 12, 31) == INT64_MIN);

	CHECK_EQ_INT(cal_civil_from_days(0, &out), VARSKO_OK);
	CHECK(out.year == 1970 && out.month == 1 && out.day == 1);
	CHECK_EQ_INT(cal_civil_from_days(11016, &out), VARSKO_OK);
	CHECK(out.year == 2000 && out.month == 2 && out.day == 29);
	CHECK_EQ_INT(cal_civil_from_days(-1, &out), VARSKO_OK);
	CHECK(out.year == 1969 && out.month == 12 && out.day == 31);
	CHECK_EQ_INT(cal_civil_from_days(-719162, &out), VARSKO_OK);
	CHECK(out.year == 1 && out.month == 1 && out.day == 1);
	CHECK_EQ_INT(cal_civil_from_days(2932896, &out), VARSKO_OK);
	CHECK(out.year == 9999 && out.month == 12 && out.day == 31);
	CHECK_EQ_INT(cal_civil_from_days(2932897, &out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_civil_from_days(-719163, &out), VARSKO_ERR_BAD_INPUT);

	/* Round trip over every day 1900..2100: consecutive and invertible. */
	{
		int64_t first = cal_days_from_civil(1900, 1, 1), last = cal_days_from_civil(2100, 12, 31);
		int bad = 0;
		for (int64_t n = first; n <= last; n++) {
			if (cal_civil_from_days(n, &out) != VARSKO_OK ||
			    !cal_date_valid(out.year, out.month, out.day) ||
			    cal_days_from_civil(out.year, out.month, out.day) != n)
				bad++;
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(last - first + 1, 201 * 365 + 49); /* leap years 1904..2096, 2000 included */
	}

	CHECK_EQ_INT(cal_date_valid(2024, 2, 29), 1);
	CHECK_EQ_INT(cal_date_valid(2023, 2, 29), 0);
	CHECK_EQ_INT(cal_date_valid(1900, 2, 29), 0);
	CHECK_EQ_INT(cal_date_valid(2000, 2, 29), 1);
	CHECK_EQ_INT(cal_date_valid(2026, 4, 31), 0);
	CHECK_EQ_INT(cal_date_valid(2026, 13, 1), 0);
	CHECK_EQ_INT(cal_date_valid(2026, 0, 1), 0);
	CHECK_EQ_INT(cal_date_valid(0, 1, 1), 0);
	CHECK_EQ_INT(cal_days_in_month(2024, 2), 29);
	CHECK_EQ_INT(cal_days_in_month(2026, 2), 28);
	CHECK_EQ_INT(cal_days_in_month(2026, 12), 31);
	CHECK_EQ_INT(cal_days_in_month(2026, 13), VARSKO_ERR_BAD_INPUT);

	CHECK_EQ_INT(cal_weekday(1970, 1, 1), CAL_THURSDAY);
	CHECK_EQ_INT(cal_weekday(2000, 1, 1), CAL_SATURDAY);
	CHECK_EQ_INT(cal_weekday(2024, 2, 29), CAL_THURSDAY);
	CHECK_EQ_INT(cal_weekday(2026, 1, 1), CAL_THURSDAY);
	CHECK_EQ_INT(cal_weekday(2026, 11, 23), CAL_MONDAY);
	CHECK_EQ_INT(cal_weekday(2026, 12, 1), CAL_TUESDAY);
	CHECK_EQ_INT(cal_weekday(1849, 6, 5), CAL_TUESDAY); /* the constitution was signed on a Tuesday */
	CHECK_EQ_INT(cal_weekday(2026, 2, 29), VARSKO_ERR_BAD_INPUT);

	CHECK_EQ_INT(cal_add_days(2026, 12, 31, 1, &out), VARSKO_OK);
	CHECK(out.year == 2027 && out.month == 1 && out.day == 1);
	CHECK_EQ_INT(cal_add_days(2024, 3, 1, -1, &out), VARSKO_OK);
	CHECK(out.year == 2024 && out.month == 2 && out.day == 29);
	CHECK_EQ_INT(cal_add_days(2026, 11, 23, 30, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 12 && out.day == 23);
	CHECK_EQ_INT(cal_add_days(2026, 2, 30, 1, &out), VARSKO_ERR_BAD_INPUT);

	CHECK_EQ_INT(cal_add_months(2026, 10, 31, 4, &out), VARSKO_OK);
	CHECK(out.year == 2027 && out.month == 2 && out.day == 28);
	CHECK_EQ_INT(cal_add_months(2027, 10, 31, 4, &out), VARSKO_OK);
	CHECK(out.year == 2028 && out.month == 2 && out.day == 29);
	CHECK_EQ_INT(cal_add_months(2026, 11, 30, 4, &out), VARSKO_OK);
	CHECK(out.year == 2027 && out.month == 3 && out.day == 30);
	CHECK_EQ_INT(cal_add_months(2026, 9, 15, 4, &out), VARSKO_OK);
	CHECK(out.year == 2027 && out.month == 1 && out.day == 15);
	CHECK_EQ_INT(cal_add_months(2026, 8, 31, 4, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 12 && out.day == 31);
	CHECK_EQ_INT(cal_add_months(2024, 3, 31, -1, &out), VARSKO_OK);
	CHECK(out.year == 2024 && out.month == 2 && out.day == 29);
	CHECK_EQ_INT(cal_add_months(2026, 1, 31, 1, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 2 && out.day == 28);
	CHECK_EQ_INT(cal_add_months(9999, 12, 1, 1, &out), VARSKO_ERR_BAD_INPUT);
}

/* ---- Easter ---- */

/* clang-format off */
static const struct ymd easter_sundays[] = {
	{1818, 3, 22}, {1886, 4, 25}, {1943, 4, 25}, {1996, 4, 7},  {1997, 3, 30}, {1998, 4, 12}, {1999, 4, 4},
	{2000, 4, 23}, {2001, 4, 15}, {2002, 3, 31}, {2003, 4, 20}, {2004, 4, 11}, {2005, 3, 27}, {2006, 4, 16},
	{2007, 4, 8},  {2008, 3, 23}, {2009, 4, 12}, {2010, 4, 4},  {2011, 4, 24}, {2012, 4, 8},  {2013, 3, 31},
	{2014, 4, 20}, {2015, 4, 5},  {2016, 3, 27}, {2017, 4, 16}, {2018, 4, 1},  {2019, 4, 21}, {2020, 4, 12},
	{2021, 4, 4},  {2022, 4, 17}, {2023, 4, 9},  {2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28},
	{2028, 4, 16}, {2029, 4, 1},  {2030, 4, 21}, {2031, 4, 13}, {2032, 3, 28}, {2033, 4, 17}, {2034, 4, 9},
	{2035, 3, 25}, {2036, 4, 13}, {2037, 4, 5},  {2038, 4, 25}, {2039, 4, 10}, {2040, 4, 1},  {2285, 3, 22},
	/* Years where the computus moves the paschal full moon back a day (the 19/18 April exceptions). */
	{1954, 4, 18}, {1981, 4, 19}, {2049, 4, 18}, {2076, 4, 19},
};
/* clang-format on */

static void test_easter(void)
{
	struct cal_date e;

	for (size_t i = 0; i < sizeof(easter_sundays) / sizeof(easter_sundays[0]); i++) {
		const struct ymd *x = &easter_sundays[i];
		CHECK_EQ_INT(cal_easter(x->y, &e), VARSKO_OK);
		if (e.year != x->y || e.month != x->m || e.day != x->d)
			fprintf(stderr, "easter %d: got %d-%d, expected %d-%d\n", x->y, e.month, e.day, x->m, x->d);
		CHECK(e.year == x->y && e.month == x->m && e.day == x->d);
		CHECK_EQ_INT(cal_weekday(e.year, e.month, e.day), CAL_SUNDAY);
	}
	/* Always between 22 March and 25 April, always a Sunday. */
	for (int y = 1583; y <= 9999; y++) {
		int ok = cal_easter(y, &e) == VARSKO_OK && cal_weekday(e.year, e.month, e.day) == CAL_SUNDAY &&
		         ((e.month == 3 && e.day >= 22) || (e.month == 4 && e.day <= 25));
		if (!ok) {
			CHECK(ok);
			break;
		}
	}
	CHECK_EQ_INT(cal_easter(1582, &e), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_easter(10000, &e), VARSKO_ERR_BAD_INPUT);
}

/* ---- holidays ---- */

struct holiday {
	int y, m, d;
	const char *name;
};

/* Every non-working holiday 2020..2030 (Saturdays and Sundays aside), written out. */
static const struct holiday holidays[] = {
        {2020, 1, 1, "nytårsdag"},
        {2020, 4, 9, "skærtorsdag"},
        {2020, 4, 10, "langfredag"},
        {2020, 4, 13, "2. påskedag"},
        {2020, 5, 8, "store bededag"},
        {2020, 5, 21, "Kristi himmelfartsdag"},
        {2020, 6, 1, "2. pinsedag"},
        {2020, 6, 5, "grundlovsdag"},
        {2020, 12, 24, "juleaftensdag"},
        {2020, 12, 25, "juledag"},
        {2020, 12, 26, "2. juledag"},
        {2020, 12, 31, "nytårsaftensdag"},

        {2021, 1, 1, "nytårsdag"},
        {2021, 4, 1, "skærtorsdag"},
        {2021, 4, 2, "langfredag"},
        {2021, 4, 5, "2. påskedag"},
        {2021, 4, 30, "store bededag"},
        {2021, 5, 13, "Kristi himmelfartsdag"},
        {2021, 5, 24, "2. pinsedag"},
        {2021, 6, 5, "grundlovsdag"},
        {2021, 12, 24, "juleaftensdag"},
        {2021, 12, 25, "juledag"},
        {2021, 12, 26, "2. juledag"},
        {2021, 12, 31, "nytårsaftensdag"},

        {2022, 1, 1, "nytårsdag"},
        {2022, 4, 14, "skærtorsdag"},
        {2022, 4, 15, "langfredag"},
        {2022, 4, 18, "2. påskedag"},
        {2022, 5, 13, "store bededag"},
        {2022, 5, 26, "Kristi himmelfartsdag"},
        {2022, 6, 5, "grundlovsdag"},
        {2022, 6, 6, "2. pinsedag"},
        {2022, 12, 24, "juleaftensdag"},
        {2022, 12, 25, "juledag"},
        {2022, 12, 26, "2. juledag"},
        {2022, 12, 31, "nytårsaftensdag"},

        {2023, 1, 1, "nytårsdag"},
        {2023, 4, 6, "skærtorsdag"},
        {2023, 4, 7, "langfredag"},
        {2023, 4, 10, "2. påskedag"},
        {2023, 5, 5, "store bededag"}, /* the last one */
        {2023, 5, 18, "Kristi himmelfartsdag"},
        {2023, 5, 29, "2. pinsedag"},
        {2023, 6, 5, "grundlovsdag"},
        {2023, 12, 24, "juleaftensdag"},
        {2023, 12, 25, "juledag"},
        {2023, 12, 26, "2. juledag"},
        {2023, 12, 31, "nytårsaftensdag"},

        {2024, 1, 1, "nytårsdag"},
        {2024, 3, 28, "skærtorsdag"},
        {2024, 3, 29, "langfredag"},
        {2024, 4, 1, "2. påskedag"},
        {2024, 5, 9, "Kristi himmelfartsdag"},
        {2024, 5, 20, "2. pinsedag"},
        {2024, 6, 5, "grundlovsdag"},
        {2024, 12, 24, "juleaftensdag"},
        {2024, 12, 25, "juledag"},
        {2024, 12, 26, "2. juledag"},
        {2024, 12, 31, "nytårsaftensdag"},

        {2025, 1, 1, "nytårsdag"},
        {2025, 4, 17, "skærtorsdag"},
        {2025, 4, 18, "langfredag"},
        {2025, 4, 21, "2. påskedag"},
        {2025, 5, 29, "Kristi himmelfartsdag"},
        {2025, 6, 5, "grundlovsdag"},
        {2025, 6, 9, "2. pinsedag"},
        {2025, 12, 24, "juleaftensdag"},
        {2025, 12, 25, "juledag"},
        {2025, 12, 26, "2. juledag"},
        {2025, 12, 31, "nytårsaftensdag"},

        {2026, 1, 1, "nytårsdag"},
        {2026, 4, 2, "skærtorsdag"},
        {2026, 4, 3, "langfredag"},
        {2026, 4, 6, "2. påskedag"},
        {2026, 5, 14, "Kristi himmelfartsdag"},
        {2026, 5, 25, "2. pinsedag"},
        {2026, 6, 5, "grundlovsdag"},
        {2026, 12, 24, "juleaftensdag"},
        {2026, 12, 25, "juledag"},
        {2026, 12, 26, "2. juledag"},
        {2026, 12, 31, "nytårsaftensdag"},

        {2027, 1, 1, "nytårsdag"},
        {2027, 3, 25, "skærtorsdag"},
        {2027, 3, 26, "langfredag"},
        {2027, 3, 29, "2. påskedag"},
        {2027, 5, 6, "Kristi himmelfartsdag"},
        {2027, 5, 17, "2. pinsedag"},
        {2027, 6, 5, "grundlovsdag"},
        {2027, 12, 24, "juleaftensdag"},
        {2027, 12, 25, "juledag"},
        {2027, 12, 26, "2. juledag"},
        {2027, 12, 31, "nytårsaftensdag"},

        {2028, 1, 1, "nytårsdag"},
        {2028, 4, 13, "skærtorsdag"},
        {2028, 4, 14, "langfredag"},
        {2028, 4, 17, "2. påskedag"},
        {2028, 5, 25, "Kristi himmelfartsdag"},
        {2028, 6, 5, "2. pinsedag"}, /* and grundlovsdag, the same day */
        {2028, 12, 24, "juleaftensdag"},
        {2028, 12, 25, "juledag"},
        {2028, 12, 26, "2. juledag"},
        {2028, 12, 31, "nytårsaftensdag"},

        {2029, 1, 1, "nytårsdag"},
        {2029, 3, 29, "skærtorsdag"},
        {2029, 3, 30, "langfredag"},
        {2029, 4, 2, "2. påskedag"},
        {2029, 5, 10, "Kristi himmelfartsdag"},
        {2029, 5, 21, "2. pinsedag"},
        {2029, 6, 5, "grundlovsdag"},
        {2029, 12, 24, "juleaftensdag"},
        {2029, 12, 25, "juledag"},
        {2029, 12, 26, "2. juledag"},
        {2029, 12, 31, "nytårsaftensdag"},

        {2030, 1, 1, "nytårsdag"},
        {2030, 4, 18, "skærtorsdag"},
        {2030, 4, 19, "langfredag"},
        {2030, 4, 22, "2. påskedag"},
        {2030, 5, 30, "Kristi himmelfartsdag"},
        {2030, 6, 5, "grundlovsdag"},
        {2030, 6, 10, "2. pinsedag"},
        {2030, 12, 24, "juleaftensdag"},
        {2030, 12, 25, "juledag"},
        {2030, 12, 26, "2. juledag"},
        {2030, 12, 31, "nytårsaftensdag"},
};

static const struct holiday *find_holiday(int y, int m, int d)
{
	for (size_t i = 0; i < sizeof(holidays) / sizeof(holidays[0]); i++)
		if (holidays[i].y == y && holidays[i].m == m && holidays[i].d == d)
			return &holidays[i];
	return NULL;
}

static void test_holidays(void)
{
	int count = 0, hverdage_2026 = 0;

	/* Every day 2020..2030: a holiday exactly when listed, with that name. */
	for (int y = 2020; y <= 2030; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= cal_days_in_month(y, m); d++) {
				const struct holiday *h = find_holiday(y, m, d);
				int is = cal_is_holiday(y, m, d);
				const char *name = cal_holiday_name(y, m, d);
				if (is != (h != NULL) || (h != NULL && (name == NULL || strcmp(name, h->name) != 0)) ||
				    (h == NULL && name != NULL)) {
					fprintf(stderr, "%04d-%02d-%02d: is_holiday %d name %s, expected %s\n", y, m, d,
					        is, name ? name : "(none)", h ? h->name : "(none)");
					CHECK(0);
				}
				count += is == 1;
				if (y == 2026)
					hverdage_2026 += cal_is_hverdag(y, m, d) == 1;
			}
		}
	}
	CHECK_EQ_INT(count, (int)(sizeof(holidays) / sizeof(holidays[0])));
	/*
	 * 2026 has 261 weekdays (365 days from a Thursday: 52 weeks + Thursday);
	 * its holidays on weekdays are all but 26 December (a Saturday): 10.
	 */
	CHECK_EQ_INT(hverdage_2026, 261 - 10);

	/* Store bededag: the fourth Friday after Easter, abolished from 2024. */
	CHECK_EQ_INT(cal_is_holiday(2023, 5, 5), 1);
	CHECK_EQ_INT(cal_is_hverdag(2023, 5, 5), 0);
	CHECK_EQ_STR(cal_holiday_name(2023, 5, 5), "store bededag");
	CHECK_EQ_INT(cal_is_holiday(2024, 4, 26), 0);
	CHECK_EQ_INT(cal_is_hverdag(2024, 4, 26), 1);
	CHECK(cal_holiday_name(2024, 4, 26) == NULL);
	CHECK_EQ_INT(cal_is_hverdag(2025, 5, 16), 1);

	/* Early Easter (23 March 2008): Ascension fell on 1 May. */
	CHECK_EQ_STR(cal_holiday_name(2008, 3, 20), "skærtorsdag");
	CHECK_EQ_STR(cal_holiday_name(2008, 3, 21), "langfredag");
	CHECK_EQ_STR(cal_holiday_name(2008, 3, 24), "2. påskedag");
	CHECK_EQ_STR(cal_holiday_name(2008, 4, 18), "store bededag");
	CHECK_EQ_STR(cal_holiday_name(2008, 5, 1), "Kristi himmelfartsdag");
	CHECK_EQ_STR(cal_holiday_name(2008, 5, 12), "2. pinsedag");
	/* Late Easter (25 April 2038, the latest possible). */
	CHECK_EQ_STR(cal_holiday_name(2038, 4, 22), "skærtorsdag");
	CHECK_EQ_STR(cal_holiday_name(2038, 4, 23), "langfredag");
	CHECK_EQ_STR(cal_holiday_name(2038, 4, 26), "2. påskedag");
	CHECK_EQ_STR(cal_holiday_name(2038, 6, 3), "Kristi himmelfartsdag");
	CHECK_EQ_STR(cal_holiday_name(2038, 6, 14), "2. pinsedag");
	CHECK_EQ_INT(cal_is_hverdag(2038, 5, 21), 1); /* would have been store bededag */
	/* Late Easter before 2024 (24 April 2011): store bededag on 20 May. */
	CHECK_EQ_STR(cal_holiday_name(2011, 5, 20), "store bededag");
	CHECK_EQ_STR(cal_holiday_name(2011, 6, 2), "Kristi himmelfartsdag");
	CHECK_EQ_STR(cal_holiday_name(2011, 6, 13), "2. pinsedag");

	/* Easter Sunday and pinsedag are Sundays, not listed; weekends are not hverdage. */
	CHECK_EQ_INT(cal_is_holiday(2026, 4, 5), 0);
	CHECK_EQ_INT(cal_is_hverdag(2026, 4, 5), 0);
	CHECK_EQ_INT(cal_is_hverdag(2026, 11, 28), 0); /* Saturday */
	CHECK_EQ_INT(cal_is_hverdag(2026, 11, 29), 0); /* Sunday */
	CHECK_EQ_INT(cal_is_hverdag(2026, 11, 23), 1);
	CHECK_EQ_INT(cal_is_hverdag(2026, 12, 24), 0);
	CHECK_EQ_INT(cal_is_hverdag(2026, 12, 31), 0);
	CHECK_EQ_INT(cal_is_hverdag(2027, 1, 1), 0);
	CHECK_EQ_INT(cal_is_hverdag(2027, 1, 4), 1);
	CHECK_EQ_INT(cal_is_hverdag(2026, 6, 5), 0); /* grundlovsdag, a Friday */

	/* Out of range or invalid. */
	CHECK_EQ_INT(cal_is_holiday(1995, 12, 25), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_is_holiday(2100, 1, 1), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_is_hverdag(2100, 1, 4), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_is_hverdag(2026, 2, 29), VARSKO_ERR_BAD_INPUT);
	CHECK(cal_holiday_name(2100, 1, 1) == NULL);
	CHECK_EQ_INT(cal_is_holiday(1996, 1, 1), 1);
	CHECK_EQ_INT(cal_is_holiday(2099, 12, 31), 1);
}

static void test_add_hverdage(void)
{
	struct cal_date out;

	CHECK_EQ_INT(cal_add_hverdage(2026, 11, 23, 6, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 12 && out.day == 1);
	CHECK_EQ_INT(cal_add_hverdage(2026, 12, 1, -6, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 11 && out.day == 23);
	CHECK_EQ_INT(cal_add_hverdage(2026, 11, 28, 0, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 11 && out.day == 28);
	CHECK_EQ_INT(cal_add_hverdage(2026, 11, 28, 1, &out), VARSKO_OK); /* Saturday -> Monday */
	CHECK(out.year == 2026 && out.month == 11 && out.day == 30);
	CHECK_EQ_INT(cal_add_hverdage(2026, 11, 28, -1, &out), VARSKO_OK); /* Saturday -> Friday */
	CHECK(out.year == 2026 && out.month == 11 && out.day == 27);
	CHECK_EQ_INT(cal_add_hverdage(2026, 4, 7, -1, &out), VARSKO_OK); /* over Easter 2026 */
	CHECK(out.year == 2026 && out.month == 4 && out.day == 1);
	CHECK_EQ_INT(cal_add_hverdage(2026, 4, 1, 1, &out), VARSKO_OK);
	CHECK(out.year == 2026 && out.month == 4 && out.day == 7);
	CHECK_EQ_INT(cal_add_hverdage(2026, 12, 23, 1, &out), VARSKO_OK); /* over Christmas */
	CHECK(out.year == 2026 && out.month == 12 && out.day == 28);
	CHECK_EQ_INT(cal_add_hverdage(2026, 12, 30, 1, &out), VARSKO_OK); /* over New Year */
	CHECK(out.year == 2027 && out.month == 1 && out.day == 4);
	CHECK_EQ_INT(cal_add_hverdage(2026, 11, 23, CAL_HVERDAGE_MAX + 1, &out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_add_hverdage(2099, 12, 28, 5, &out), VARSKO_ERR_BAD_INPUT); /* walks into 2100 */
	CHECK_EQ_INT(cal_add_hverdage(1996, 1, 3, -3, &out), VARSKO_ERR_BAD_INPUT);  /* walks into 1995 */
	CHECK_EQ_INT(cal_add_hverdage(2026, 2, 30, 1, &out), VARSKO_ERR_BAD_INPUT);
}

/* ---- Europe/Copenhagen ---- */

static int64_t utc(int y, int m, int d, int hh, int mi, int ss)
{
	return cal_days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
}

static int local_is(int64_t t, int y, int m, int d, int hh, int mi, int ss, int off)
{
	struct cal_local l;

	if (cal_to_local(t, &l) != VARSKO_OK)
		return 0;
	return l.year == y && l.month == m && l.day == d && l.hour == hh && l.minute == mi && l.second == ss &&
	       l.utc_offset == off;
}

/* The EU transitions: last Sunday of March and of October, 01:00 UTC. */
struct dst_year {
	int y, march, october;
};
static const struct dst_year dst_years[] = {
        {1996, 31, 27}, {2000, 26, 29}, {2020, 29, 25}, {2021, 28, 31}, {2022, 27, 30}, {2023, 26, 29},
        {2024, 31, 27}, {2025, 30, 26}, {2026, 29, 25}, {2027, 28, 31}, {2038, 28, 31}, {2099, 29, 25},
};

static void test_dst(void)
{
	int64_t t;

	for (size_t i = 0; i < sizeof(dst_years) / sizeof(dst_years[0]); i++) {
		const struct dst_year *x = &dst_years[i];
		int y = x->y, mar = x->march, oct = x->october, changes = 0, prev;
		int64_t start = utc(y, 3, mar, 1, 0, 0), end = utc(y, 10, oct, 1, 0, 0);

		CHECK_EQ_INT(cal_weekday(y, 3, mar), CAL_SUNDAY);
		CHECK_EQ_INT(cal_weekday(y, 10, oct), CAL_SUNDAY);

		/* Spring: 01:59:59 CET is followed by 03:00:00 CEST. */
		CHECK(local_is(start - 1, y, 3, mar, 1, 59, 59, 3600));
		CHECK(local_is(start, y, 3, mar, 3, 0, 0, 7200));
		/* Autumn: 02:59:59 CEST is followed by 02:00:00 CET. */
		CHECK(local_is(end - 1, y, 10, oct, 2, 59, 59, 7200));
		CHECK(local_is(end, y, 10, oct, 2, 0, 0, 3600));

		/* 02:00..02:59 in March does not exist. */
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 2, 0, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_TIME);
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 2, 30, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_TIME);
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 2, 59, 59, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_TIME);
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 2, 30, 0, CAL_DST_EARLIER, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 3, mar, 0, 30, 0));
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 2, 30, 0, CAL_DST_LATER, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 3, mar, 1, 30, 0));
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 1, 59, 59, CAL_DST_REJECT, &t), VARSKO_OK);
		CHECK_EQ_INT(t, start - 1);
		CHECK_EQ_INT(cal_from_local(y, 3, mar, 3, 0, 0, CAL_DST_REJECT, &t), VARSKO_OK);
		CHECK_EQ_INT(t, start);

		/* 02:00..02:59 in October happens twice. */
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 2, 0, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_TIME);
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 2, 59, 59, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_TIME);
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 2, 30, 0, CAL_DST_EARLIER, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 10, oct, 0, 30, 0));
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 2, 30, 0, CAL_DST_LATER, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 10, oct, 1, 30, 0));
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 1, 59, 59, CAL_DST_REJECT, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 10, oct - 1, 23, 59, 59));
		CHECK_EQ_INT(cal_from_local(y, 10, oct, 3, 0, 0, CAL_DST_REJECT, &t), VARSKO_OK);
		CHECK_EQ_INT(t, utc(y, 10, oct, 2, 0, 0));

		/* Nowhere else in the year does the offset change. */
		prev = cal_utc_offset(utc(y, 1, 1, 0, 0, 0));
		CHECK_EQ_INT(prev, 3600);
		for (t = utc(y, 1, 1, 0, 0, 0); t < utc(y, 12, 31, 12, 0, 0); t += 900) {
			int off = cal_utc_offset(t);
			if (off != prev) {
				changes++;
				CHECK(t == start || t == end);
				prev = off;
			}
		}
		CHECK_EQ_INT(changes, 2);
	}

	/* Plain days, both offsets, and the local date differing from the UTC date. */
	CHECK(local_is(utc(2026, 11, 23, 9, 0, 0), 2026, 11, 23, 10, 0, 0, 3600));
	CHECK(local_is(utc(2026, 7, 1, 12, 0, 0), 2026, 7, 1, 14, 0, 0, 7200));
	CHECK(local_is(utc(2026, 11, 23, 23, 0, 0), 2026, 11, 24, 0, 0, 0, 3600));
	CHECK(local_is(utc(2026, 6, 30, 22, 0, 0), 2026, 7, 1, 0, 0, 0, 7200));
	CHECK(local_is(utc(2026, 12, 31, 23, 30, 0), 2027, 1, 1, 0, 30, 0, 3600));
	{
		struct cal_local l;
		CHECK_EQ_INT(cal_to_local(utc(2026, 11, 23, 9, 0, 0), &l), VARSKO_OK);
		CHECK_EQ_INT(l.weekday, CAL_MONDAY);
		CHECK_EQ_INT(cal_to_local(utc(2026, 11, 28, 23, 30, 0), &l), VARSKO_OK);
		CHECK_EQ_INT(l.weekday, CAL_SUNDAY);
	}
	CHECK_EQ_INT(cal_from_local(2026, 11, 23, 10, 0, 0, CAL_DST_REJECT, &t), VARSKO_OK);
	CHECK_EQ_INT(t, utc(2026, 11, 23, 9, 0, 0));
	CHECK_EQ_INT(cal_local_day_end(2026, 12, 1, &t), VARSKO_OK);
	CHECK_EQ_INT(t, utc(2026, 12, 1, 22, 59, 59));
	CHECK_EQ_INT(cal_local_day_end(2026, 7, 1, &t), VARSKO_OK);
	CHECK_EQ_INT(t, utc(2026, 7, 1, 21, 59, 59));
	CHECK_EQ_INT(cal_local_day_end(2026, 3, 29, &t), VARSKO_OK); /* the short day */
	CHECK_EQ_INT(t, utc(2026, 3, 29, 21, 59, 59));
	CHECK_EQ_INT(cal_local_day_end(2026, 10, 25, &t), VARSKO_OK); /* the long day */
	CHECK_EQ_INT(t, utc(2026, 10, 25, 22, 59, 59));

	/* Range: the local year decides. */
	CHECK_EQ_INT(cal_utc_offset(utc(1995, 6, 1, 12, 0, 0)), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_utc_offset(utc(2100, 1, 1, 12, 0, 0)), VARSKO_ERR_BAD_INPUT);
	CHECK(local_is(utc(1995, 12, 31, 23, 30, 0), 1996, 1, 1, 0, 30, 0, 3600));
	CHECK_EQ_INT(cal_utc_offset(utc(2099, 12, 31, 23, 30, 0)), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_utc_offset(INT64_MAX), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_utc_offset(INT64_MIN), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_from_local(1995, 12, 31, 12, 0, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_from_local(2026, 11, 23, 24, 0, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_from_local(2026, 11, 23, 12, 0, 60, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_from_local(2026, 11, 31, 12, 0, 0, CAL_DST_REJECT, &t), VARSKO_ERR_BAD_INPUT);
}

/* ---- office hours ---- */

static void test_office_hours(void)
{
	struct cal_office_hours h;

	cal_office_hours_default(&h);
	/* Monday 23 November 2026, CET. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 6, 59, 59), &h), 0);  /* 07:59:59 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 7, 0, 0), &h), 1);    /* 08:00:00 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 14, 29, 59), &h), 1); /* 15:29:59 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 14, 30, 0), &h), 0);  /* 15:30:00 */
	/* Thursday 26 November. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 26, 14, 0, 0), &h), 1); /* 15:00 */
	/* Friday 27 November: closes at 13:00. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 27, 11, 59, 59), &h), 1); /* 12:59:59 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 27, 12, 0, 0), &h), 0);   /* 13:00:00 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 27, 14, 0, 0), &h), 0);   /* 15:00 */
	/* Weekend. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 28, 9, 0, 0), &h), 0);
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 29, 9, 0, 0), &h), 0);
	/* Summer time: Wednesday 13 May 2026 08:00 CEST is 06:00Z; Kristi himmelfartsdag the day after. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 5, 13, 5, 59, 59), &h), 0);
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 5, 13, 6, 0, 0), &h), 1);
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 5, 14, 8, 0, 0), &h), 0);
	/* Juleaftensdag is a Thursday in 2026 but closed. */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 12, 24, 9, 0, 0), &h), 0);

	/* Hours are parameters: open round the clock on Saturdays, still not on holidays. */
	h.open[5] = 0;
	h.close[5] = 24 * 60;
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 28, 9, 0, 0), &h), 0); /* a Saturday is no hverdag */
	h.open[0] = 0;
	h.close[0] = 24 * 60;
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 22, 23, 0, 0), &h), 1); /* Monday 00:00 */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 22, 59, 59), &h), 1);
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 4, 6, 10, 0, 0), &h), 0); /* 2. påskedag */
	h.open[2] = h.close[2] = 600;                                        /* Wednesday closed */
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 25, 9, 0, 0), &h), 0);

	h.open[1] = 16 * 60;
	h.close[1] = 8 * 60;
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 9, 0, 0), &h), VARSKO_ERR_BAD_INPUT);
	cal_office_hours_default(&h);
	h.close[3] = 24 * 60 + 1;
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 9, 0, 0), &h), VARSKO_ERR_BAD_INPUT);
	cal_office_hours_default(&h);
	CHECK_EQ_INT(cal_in_office_hours(utc(2100, 1, 4, 9, 0, 0), &h), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_in_office_hours(utc(2026, 11, 23, 9, 0, 0), NULL), VARSKO_ERR_BAD_INPUT);
}

/* ---- RFC 3339 ---- */

static void test_rfc3339(void)
{
	char buf[CAL_TIME_LEN + 1];
	int64_t t;

	/* Well-known Unix times. */
	CHECK_EQ_INT(cal_format_utc(0, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "1970-01-01T00:00:00Z");
	CHECK_EQ_INT(cal_format_utc(-1, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "1969-12-31T23:59:59Z");
	CHECK_EQ_INT(cal_format_utc(1000000000, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2001-09-09T01:46:40Z");
	CHECK_EQ_INT(cal_format_utc(1234567890, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2009-02-13T23:31:30Z");
	CHECK_EQ_INT(cal_format_utc(2147483647, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2038-01-19T03:14:07Z");
	CHECK_EQ_INT(cal_format_utc(253402300799LL, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "9999-12-31T23:59:59Z");
	CHECK_EQ_INT(cal_format_utc(-62135596800LL, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "0001-01-01T00:00:00Z");
	CHECK_EQ_INT(cal_format_utc(253402300800LL, buf), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(cal_format_utc(INT64_MIN, buf), VARSKO_ERR_BAD_INPUT);

	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13T23:31:30Z", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-14T00:31:30+01:00", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13T18:01:30-05:30", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13T23:31:30-00:00", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13t23:31:30z", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13T23:31:30.999999999Z", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("2009-02-13T23:31:30.5+00:00", &t), VARSKO_OK);
	CHECK_EQ_INT(t, 1234567890);
	CHECK_EQ_INT(cal_parse_rfc3339("1969-12-31T23:59:59.9Z", &t), VARSKO_OK);
	CHECK_EQ_INT(t, -1);
	CHECK_EQ_INT(cal_parse_rfc3339("2026-11-23T10:00:00+01:00", &t), VARSKO_OK);
	CHECK_EQ_INT(cal_format_utc(t, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2026-11-23T09:00:00Z");
	CHECK_EQ_INT(cal_parse_rfc3339("2024-02-29T00:30:00+02:00", &t), VARSKO_OK);
	CHECK_EQ_INT(cal_format_utc(t, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2024-02-28T22:30:00Z");
	CHECK_EQ_INT(cal_parse_rfc3339("2026-12-31T23:30:00-01:00", &t), VARSKO_OK);
	CHECK_EQ_INT(cal_format_utc(t, buf), VARSKO_OK);
	CHECK_EQ_STR(buf, "2027-01-01T00:30:00Z");

	/* clang-format off */
	static const char *const bad[] = {
		"2026-11-23T10:00:00",         /* no offset */
		"2026-11-23T10:00:00.5",       /* no offset */
		"2026-11-23 10:00:00Z",        /* space */
		"2026-11-23T10:00Z",           /* no seconds */
		"2026-11-23",                  /* date only */
		"2026-02-29T10:00:00Z",        /* not a leap year */
		"2026-11-31T10:00:00Z",        /* no 31 November */
		"2026-13-01T10:00:00Z",        /* month */
		"2026-11-23T24:00:00Z",        /* hour */
		"2026-11-23T10:60:00Z",        /* minute */
		"2026-11-23T10:00:60Z",        /* leap second */
		"2026-11-23T10:00:00+24:00",   /* offset hour */
		"2026-11-23T10:00:00+01:60",   /* offset minute */
		"2026-11-23T10:00:00+0100",    /* offset without colon */
		"2026-11-23T10:00:00+01",      /* short offset */
		"2026-11-23T10:00:00.Z",       /* empty fraction */
		"2026-11-23T10:00:00.1234567890Z", /* ten fraction digits */
		"2026-11-23T10:00:00Zjunk",    /* trailing */
		"2026-11-23T10:00:00Z ",       /* trailing space */
		" 2026-11-23T10:00:00Z",       /* leading space */
		"26-11-23T10:00:00Z",          /* short year */
		"+2026-11-23T10:00:00Z",       /* sign */
		"0000-01-01T00:00:00Z",        /* year 0 */
		"2026-1-23T10:00:00Z",         /* one-digit month */
		"",                            /* empty */
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cal_parse_rfc3339(bad[i], &t);
		if (r != VARSKO_ERR_BAD_TIME)
			fprintf(stderr, "accepted or misjudged: \"%s\" -> %d\n", bad[i], r);
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_TIME);
	}
	CHECK_EQ_INT(cal_parse_rfc3339(NULL, &t), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_parse_rfc3339("2026-11-23T10:00:00Z", NULL), VARSKO_ERR_BAD_INPUT);
}

static void test_parse_date(void)
{
	static const char *const bad[] = {
	        "2026-02-29", "2026-11-31", "2026-13-01", "2026-00-10", "0000-01-01", "2026-1-05",
	        "2026/11/05", "+026-11-05", "2026-11-0a", "2026-11-5 ", " 2026-11-5", "",
	};
	struct cal_date d = {7, 7, 7};

	CHECK_EQ_INT(cal_parse_date("2024-02-29", 10, &d), VARSKO_OK);
	CHECK(d.year == 2024 && d.month == 2 && d.day == 29);
	CHECK_EQ_INT(cal_parse_date("0001-01-01", 10, &d), VARSKO_OK);
	CHECK(d.year == 1 && d.month == 1 && d.day == 1);
	/* Only len bytes are read: a date followed by more text is a date when len says so, and not otherwise. */
	CHECK_EQ_INT(cal_parse_date("9999-12-31T00:00:00Z", 10, &d), VARSKO_OK);
	CHECK(d.year == 9999 && d.month == 12 && d.day == 31);
	CHECK_EQ_INT(cal_parse_date("9999-12-31T00:00:00Z", 20, &d), VARSKO_ERR_BAD_TIME);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cal_parse_date(bad[i], strlen(bad[i]), &d);
		if (r != VARSKO_ERR_BAD_TIME)
			fprintf(stderr, "accepted or misjudged: \"%s\" -> %d\n", bad[i], r);
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_TIME);
	}
	/* Untouched on failure. */
	CHECK(d.year == 9999 && d.month == 12 && d.day == 31);
	CHECK_EQ_INT(cal_parse_date(NULL, 10, &d), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(cal_parse_date("2026-11-23", 10, NULL), VARSKO_ERR_BAD_INPUT);
}

int main(void)
{
	test_civil();
	test_easter();
	test_holidays();
	test_add_hverdage();
	test_dst();
	test_office_hours();
	test_rfc3339();
	test_parse_date();
	return check_result();
}
