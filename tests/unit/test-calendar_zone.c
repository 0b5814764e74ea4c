/*
 * test-calendar_zone.c: proto/calendar.c's Europe/Copenhagen, computed from
 * the EU summer-time rule, against glibc's localtime_r() reading tzdata's
 * Europe/Copenhagen: every hour from 1996-01-01 to 2099-12-31 (UTC), and
 * every minute around each change of the clock. The calendar itself never
 * reads tzdata; this test does, so tzdata is a test package
 * (deploy/install-deps.sh), and a missing zone fails the test rather than
 * skipping it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "check.h"

#define ZONE      "Europe/Copenhagen"
#define ZONE_FILE "/usr/share/zoneinfo/" ZONE

static long mismatches;

/* Compare the calendar with localtime_r at t; print the first few differences. */
static void compare(int64_t t)
{
	struct cal_local c;
	struct tm tm;
	time_t tt = (time_t)t;
	int ok;

	if (cal_to_local(t, &c) != VARSKO_OK || localtime_r(&tt, &tm) == NULL) {
		ok = 0;
		memset(&c, 0, sizeof(c));
	} else {
		ok = c.year == tm.tm_year + 1900 && c.month == tm.tm_mon + 1 && c.day == tm.tm_mday &&
		     c.hour == tm.tm_hour && c.minute == tm.tm_min && c.second == tm.tm_sec &&
		     c.utc_offset == tm.tm_gmtoff && c.weekday == (tm.tm_wday == 0 ? 7 : tm.tm_wday) &&
		     cal_utc_offset(t) == tm.tm_gmtoff;
	}
	if (!ok && mismatches++ < 10)
		fprintf(stderr,
		        "t=%lld: calendar %04d-%02d-%02d %02d:%02d:%02d %+d, localtime_r %04d-%02d-%02d %02d:%02d:%02d "
		        "%+ld\n",
		        (long long)t, c.year, c.month, c.day, c.hour, c.minute, c.second, c.utc_offset,
		        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_gmtoff);
}

int main(void)
{
	int64_t from, to, t, hours = 0, changes = 0;
	struct tm tm;
	time_t july = (time_t)1593561600; /* 2020-07-01T00:00:00Z */

	/* The zone must really be there and in force: a missing tzdata would make localtime_r UTC. */
	if (access(ZONE_FILE, R_OK) != 0) {
		fprintf(stderr, "%s is missing: install tzdata (deploy/install-deps.sh does)\n", ZONE_FILE);
		CHECK(0);
		return check_result();
	}
	if (setenv("TZ", ZONE, 1) != 0)
		return 1;
	tzset();
	CHECK(localtime_r(&july, &tm) != NULL && tm.tm_gmtoff == 7200 && tm.tm_hour == 2);

	/* Every hour, 1996-01-01T00:00:00Z .. 2099-12-31T23:00:00Z (local 2100-01-01 00:00 is outside the range). */
	from = cal_days_from_civil(1996, 1, 1) * 86400;
	to = cal_days_from_civil(2099, 12, 31) * 86400 + 22 * 3600;
	for (t = from; t <= to; t += 3600, hours++)
		compare(t);
	CHECK(hours > 900000);

	/* Every minute of the two hours around each change of the clock (01:00 UTC on a Sunday in March or October). */
	for (int y = 1996; y <= 2099; y++) {
		for (int m = 3; m <= 10; m += 7) {
			for (int d = 31; d > 24; d--) {
				if (cal_weekday(y, m, d) != CAL_SUNDAY)
					continue;
				t = cal_days_from_civil(y, m, d) * 86400 + 3600;
				for (int64_t s = t - 3600; s <= t + 3600; s += 60)
					compare(s);
				/* The second before and the second of the change. */
				compare(t - 1);
				compare(t);
				changes++;
				break;
			}
		}
	}
	CHECK_EQ_INT(changes, 2 * (2099 - 1996 + 1));
	if (mismatches != 0)
		fprintf(stderr, "%ld instants differ from localtime_r under TZ=%s\n", mismatches, ZONE);
	CHECK_EQ_INT(mismatches, 0);
	fflush(stderr);
	printf("%lld hours and %lld clock changes compared with localtime_r (TZ=%s)\n", (long long)hours,
	       (long long)changes, ZONE);
	return check_result();
}
