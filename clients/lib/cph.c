/*
 * cph.c: Europe/Copenhagen wall-clock time, computed from the EU summer-time
 * rule rather than looked up (no TZ, no tzdata, no localtime()), exactly as
 * the gateway's calendar does: CET (+01:00), and CEST (+02:00) from the last
 * Sunday of March 01:00 UTC up to the last Sunday of October 01:00 UTC.
 * The library cannot link the gateway, so this is its own small copy of the
 * rule, limited to the same years (1996..2099).
 */
#include <stdio.h>

#include "client.h"

#define CPH_YEAR_MIN 1996
#define CPH_YEAR_MAX 2099

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic, valid for years >= 1). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The day (days since 1970) of the last Sunday of month m (March or October: 31 days) of year y. */
static int64_t last_sunday31(int y, int m)
{
	int64_t last = days_from_civil(y, m, 31);
	int64_t wd = ((last % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */

	return last - wd;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int cph_local(int64_t t, struct cph_time *out)
{
	int y, m, d;
	int64_t days, start, end, secs, lt;

	if (t < 0 || t > days_from_civil(CPH_YEAR_MAX + 1, 1, 1) * 86400)
		return VARSKO_ERR_BAD_INPUT;
	civil_from_days(floor_div(t, 86400), &y, &m, &d);
	/* The change instants lie far from New Year, so the UTC year decides the rule's year. */
	start = last_sunday31(y, 3) * 86400 + 3600;
	end = last_sunday31(y, 10) * 86400 + 3600;
	out->utc_offset = t >= start && t < end ? 7200 : 3600;
	lt = t + out->utc_offset;
	days = floor_div(lt, 86400);
	secs = lt - days * 86400;
	civil_from_days(days, &out->year, &out->month, &out->day);
	if (out->year < CPH_YEAR_MIN || out->year > CPH_YEAR_MAX)
		return VARSKO_ERR_BAD_INPUT;
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
	return VARSKO_OK;
}

int varsko_local_format(int64_t t, char out[VARSKO_LOCAL_LEN + 1])
{
	struct cph_time lt;
	char buf[64];
	int r;

	if ((r = cph_local(t, &lt)) != VARSKO_OK) {
		proto_time_format(t, out);
		return r;
	}
	snprintf(buf, sizeof(buf), "%02d.%02d.%04d kl. %02d.%02d", lt.day, lt.month, lt.year, lt.hour, lt.minute);
	detail_set(out, VARSKO_LOCAL_LEN + 1, buf); /* 19 characters, all printable */
	return VARSKO_OK;
}
