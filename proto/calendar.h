/*
 * calendar.h: the Danish working-day calendar, Europe/Copenhagen time and the
 * legal deadlines of an underretning (DOMAIN.md, "The legal deadlines" and
 * "The calendar: hverdage").
 *
 * Pure code: no I/O, no clock, no TZ environment, no tzdata, no localtime() or
 * mktime(). Europe/Copenhagen is implemented here from the EU summer-time rule
 * (CET, UTC+1; CEST, UTC+2 from the last Sunday of March 01:00 UTC to the last
 * Sunday of October 01:00 UTC), which Denmark has followed since 1996. Every
 * function that needs the time zone or the holiday list therefore refuses a
 * local year outside CAL_YEAR_MIN..CAL_YEAR_MAX with VARSKO_ERR_BAD_INPUT
 * rather than give an answer that may be wrong; the rule and the list must be
 * reviewed before 2099 or whenever the law changes (store bededag was
 * abolished from 2024, and the EU has discussed ending clock changes).
 * tests/unit/test-calendar_zone.c holds the rule against tzdata.
 *
 * This is the one calendar of the tree: proto/, the gateway and the clients
 * all use it, and nothing else does date arithmetic.
 *
 * Dates are proleptic Gregorian; months and days count from 1. Instants are
 * Unix seconds (int64_t, UTC, no leap seconds). Every function is safe in any
 * thread and never blocks. Pointers are borrowed for the duration of the call.
 * Functions that return int return VARSKO_OK or a negative VARSKO_ERR_*
 * (varsko/err.h) unless the comment says otherwise; the predicates return 1
 * (yes), 0 (no) or a negative error, so test them with `== 1`.
 */
#ifndef VARSKO_CALENDAR_H
#define VARSKO_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "varsko/err.h"

/* Local years for which the time zone rule and the holiday list are right. */
#define CAL_YEAR_MIN 1996
#define CAL_YEAR_MAX 2099

#define CAL_TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

#define CAL_OFFSET_CET  3600 /* seconds east of UTC in winter */
#define CAL_OFFSET_CEST 7200 /* and in summer */

#define CAL_TILBAGEMELDING_DAYS_DEFAULT 30 /* the demo municipality's target */
#define CAL_TILBAGEMELDING_DAYS_MAX     3650
#define CAL_HVERDAGE_MAX                3650 /* largest |n| cal_add_hverdage() accepts */

/* ISO 8601 weekdays, as cal_weekday() returns them. */
enum cal_weekday {
	CAL_MONDAY = 1,
	CAL_TUESDAY,
	CAL_WEDNESDAY,
	CAL_THURSDAY,
	CAL_FRIDAY,
	CAL_SATURDAY,
	CAL_SUNDAY,
};

struct cal_date {
	int year;
	int month; /* 1..12 */
	int day;   /* 1..31 */
};

/* A wall-clock reading in Copenhagen together with the offset in force. */
struct cal_local {
	int year, month, day;
	int hour, minute, second; /* 0..23, 0..59, 0..59 */
	int weekday;              /* enum cal_weekday */
	int utc_offset;           /* CAL_OFFSET_CET or CAL_OFFSET_CEST */
};

/* ---- civil dates (any year 1..9999) ------------------------------------ */

/* 1 if y-m-d is a real date with year 1..9999, else 0. */
int cal_date_valid(int y, int m, int d);

/* Days in month m of year y (28..31), or VARSKO_ERR_BAD_INPUT. */
int cal_days_in_month(int y, int m);

/* Days since 1970-01-01 of a valid date (negative before 1970); INT64_MIN for an invalid date. */
int64_t cal_days_from_civil(int y, int m, int d);

/* The date `days` after 1970-01-01. VARSKO_ERR_BAD_INPUT outside years 1..9999. */
int cal_civil_from_days(int64_t days, struct cal_date *out);

/* enum cal_weekday of a valid date, or VARSKO_ERR_BAD_INPUT. */
int cal_weekday(int y, int m, int d);

/*
 * Easter Sunday of year y by the Gregorian computus (the anonymous Gregorian
 * algorithm), for years 1583..9999; VARSKO_ERR_BAD_INPUT otherwise.
 */
int cal_easter(int y, struct cal_date *out);

/* The date n days after (n < 0: before) y-m-d. VARSKO_ERR_BAD_INPUT if y-m-d is invalid or the result leaves 1..9999.
 */
int cal_add_days(int y, int m, int d, int64_t n, struct cal_date *out);

/*
 * The date n calendar months after (n < 0: before) y-m-d, with the day
 * clamped to the last day of the target month (31 October + 4 months is 28 or
 * 29 February). VARSKO_ERR_BAD_INPUT for an invalid date or a result outside
 * years 1..9999.
 */
int cal_add_months(int y, int m, int d, int n, struct cal_date *out);

/* ---- Danish holidays and hverdage (years CAL_YEAR_MIN..CAL_YEAR_MAX) ---- */

/*
 * 1 if y-m-d is one of DOMAIN.md's non-working days (nytårsdag, skærtorsdag,
 * langfredag, 2. påskedag, store bededag up to and including 2023, Kristi
 * himmelfartsdag, 2. pinsedag, grundlovsdag, juleaftensdag, juledag,
 * 2. juledag, nytårsaftensdag), 0 if not (Saturdays and Sundays are not
 * holidays by themselves; Easter Sunday and pinsedag are Sundays and are not
 * listed), VARSKO_ERR_BAD_INPUT for an invalid date or a year out of range.
 */
int cal_is_holiday(int y, int m, int d);

/*
 * The Danish name of the holiday on y-m-d ("2. påskedag", UTF-8, static), or
 * NULL if it is none or the input is invalid. When two fall on the same day
 * (2. pinsedag and grundlovsdag on 5 June 2028) the movable feast is named.
 */
const char *cal_holiday_name(int y, int m, int d);

/* 1 if y-m-d is a hverdag (Monday to Friday and no holiday), 0 if not, or VARSKO_ERR_BAD_INPUT. */
int cal_is_hverdag(int y, int m, int d);

/*
 * The n-th hverdag after y-m-d (n > 0) or before it (n < 0), not counting
 * y-m-d itself whether or not it is a hverdag; n == 0 gives y-m-d unchanged.
 * |n| <= CAL_HVERDAGE_MAX. VARSKO_ERR_BAD_INPUT for an invalid date, a year
 * out of range on the way, or n too large.
 */
int cal_add_hverdage(int y, int m, int d, int n, struct cal_date *out);

/* ---- Europe/Copenhagen ------------------------------------------------- */

/* Offset in force at instant t: CAL_OFFSET_CET or CAL_OFFSET_CEST, or VARSKO_ERR_BAD_INPUT. */
int cal_utc_offset(int64_t t);

/* Copenhagen wall clock at instant t. VARSKO_ERR_BAD_INPUT if its local year is out of range. */
int cal_to_local(int64_t t, struct cal_local *out);

/*
 * How cal_from_local() resolves a wall-clock reading that does not name
 * exactly one instant. On the last Sunday of March the clock jumps from 02:00
 * CET to 03:00 CEST, so 02:00:00..02:59:59 does not exist (a gap); on the last
 * Sunday of October it goes back from 03:00 CEST to 02:00 CET, so
 * 02:00:00..02:59:59 happens twice (a fold).
 *   CAL_DST_REJECT  gap and fold both give VARSKO_ERR_BAD_TIME.
 *   CAL_DST_EARLIER fold: the first occurrence (CEST). Gap: the reading taken
 *                   with the summer offset, an instant before the jump
 *                   (02:30 -> 00:30Z, which the clock shows as 01:30 CET).
 *   CAL_DST_LATER   fold: the second occurrence (CET). Gap: the reading taken
 *                   with the winter offset, an instant after the jump
 *                   (02:30 -> 01:30Z, shown as 03:30 CEST).
 * So EARLIER never gives a later instant than LATER, and for a reading that
 * exists exactly once all three agree. Deadlines use CAL_DST_LATER: a deadline
 * "at local time X" is not missed before the clock has shown X for the last time.
 */
enum cal_dst {
	CAL_DST_REJECT = 0,
	CAL_DST_EARLIER,
	CAL_DST_LATER,
};

/*
 * The instant at which the Copenhagen clock shows y-m-d hh:mi:ss, resolved by
 * `dst` as above. VARSKO_ERR_BAD_INPUT for an invalid date or time (second 60
 * included) or a year out of range; VARSKO_ERR_BAD_TIME for a gap or fold with
 * CAL_DST_REJECT.
 */
int cal_from_local(int y, int m, int d, int hh, int mi, int ss, enum cal_dst dst, int64_t *out);

/* The last second (23:59:59 Copenhagen time) of local day y-m-d; errors as cal_from_local(). */
int cal_local_day_end(int y, int m, int d, int64_t *out);

/* ---- RFC 3339 ------------------------------------------------------------ */

/*
 * Parse an RFC 3339 date-time with a mandatory offset:
 * "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)". 't' and 'z' are accepted
 * as RFC 3339 allows, "-00:00" means UTC, fractional seconds (1 to 9 digits)
 * are truncated toward the earlier second. Years 0001..9999. A missing
 * offset, a space for 'T', second 60, an impossible date or time, or anything
 * after the offset is VARSKO_ERR_BAD_TIME; a NULL argument is
 * VARSKO_ERR_BAD_INPUT. Nothing here depends on the Copenhagen year range.
 */
int cal_parse_rfc3339(const char *s, int64_t *out);

/*
 * Parse exactly "YYYY-MM-DD" (len bytes of s, no NUL needed, nothing before or
 * after) as a real date of years 0001..9999. VARSKO_ERR_BAD_TIME for anything
 * else, VARSKO_ERR_BAD_INPUT for a NULL argument; *out is untouched on failure.
 * Callers narrow the years to what they accept.
 */
int cal_parse_date(const char *s, size_t len, struct cal_date *out);

/*
 * Format t in UTC as "YYYY-MM-DDTHH:MM:SSZ" into out (always NUL-terminated).
 * VARSKO_ERR_BAD_INPUT (out set to "") outside years 0001..9999.
 */
int cal_format_utc(int64_t t, char out[CAL_TIME_LEN + 1]);

/* ---- the legal deadlines (DOMAIN.md) ------------------------------------ */

/*
 * Each takes the instant of receipt (or of the start of the investigation) and
 * writes the deadline instant to *out. All refuse an instant whose local year,
 * or whose deadline's local year, is outside CAL_YEAR_MIN..CAL_YEAR_MAX with
 * VARSKO_ERR_BAD_INPUT. "End of day" is 23:59:59 Copenhagen time: a deadline
 * is met by an event at or before it.
 */

/* vurdering: received + 24 hours exactly (calendar hours, whatever the clock does). */
int cal_vurdering_due(int64_t received, int64_t *out);

/*
 * kvittering: the end of the 6th hverdag after the Copenhagen date of
 * receipt; that date itself never counts (received Monday 23 November 2026,
 * any time of the day: due 2026-12-01T22:59:59Z).
 */
int cal_kvittering_due(int64_t received, int64_t *out);

/*
 * børnefaglig undersøgelse: the end of the day 4 calendar months after the
 * Copenhagen date on which it started, clamped to the month's last day.
 */
int cal_undersoegelse_due(int64_t started, int64_t *out);

/*
 * tilbagemelding (the municipality's own target): the end of the day `days`
 * calendar days after the Copenhagen date of receipt;
 * 0 <= days <= CAL_TILBAGEMELDING_DAYS_MAX (default CAL_TILBAGEMELDING_DAYS_DEFAULT).
 */
int cal_tilbagemelding_due(int64_t received, int days, int64_t *out);

/* ---- office hours --------------------------------------------------------- */

/*
 * Opening hours per weekday in minutes after local midnight, index 0 = Monday
 * .. 6 = Sunday; a day is open in [open, close), so the office is closed at
 * the closing minute itself; open == close means closed all day. Holidays are
 * always closed. 0 <= open <= close <= 1440.
 */
struct cal_office_hours {
	int open[7];
	int close[7];
};

/* The demo municipality's hours (DOMAIN.md): Monday to Thursday 08:00-15:30, Friday 08:00-13:00. */
void cal_office_hours_default(struct cal_office_hours *h);

/*
 * 1 if instant t falls inside the office hours `h` in Copenhagen on a
 * hverdag, 0 if not, VARSKO_ERR_BAD_INPUT for bad hours or a year out of range.
 */
int cal_in_office_hours(int64_t t, const struct cal_office_hours *h);

#endif
