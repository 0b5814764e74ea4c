/*
 * test-calendar_zone.c: the calendar's Europe/Copenhagen (the EU summer-time
 * rule, computed in proto/calendar.c without tzdata) against the system's
 * tzdata through glibc's localtime_r(), at every hour from 1996-01-01 to
 * 2099-12-31 and at every minute of the hours around each clock change.
 *
 * tzdata is a test dependency (deploy/install-deps.sh). Without it glibc
 * silently falls back to UTC, which would make this test compare against
 * nothing, so a missing or unapplied zone is a failure, not a skip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "check.h"

#define ZONE "Europe/Copenhagen"

#define FIRST 820454400LL  /* 1996-01-01T00:00:00Z, 01:00 in Copenhagen */
#define LAST  4102437600LL /* 2099-12-31T22:00:00Z; 23:00Z is already 2100 in Copenhagen */

static int mismatches;

/* Compare one instant; report the first few differences in full. Returns tzdata's offset at t. */
static long compare(int64_t t)
{
	struct cal_local c = {0};
	struct tm g;
	time_t tt = (time_t)t;
	int r;

	check_count_++;
	r = cal_to_local(t, &c);
	if (localtime_r(&tt, &g) == NULL) {
		check_failures_++;
		fprintf(stderr, "localtime_r(%lld) failed\n", (long long)t);
		return -1;
	}
	if (r == VARSKO_OK && c.year == g.tm_year + 1900 && c.month == g.tm_mon + 1 && c.day == g.tm_mday &&
	    c.hour == g.tm_hour && c.minute == g.tm_min && c.second == g.tm_sec && c.weekday % 7 == g.tm_wday &&
	    c.utc_offset == g.tm_gmtoff)
		return g.tm_gmtoff;
	check_failures_++;
	if (mismatches++ < 10)
		fprintf(stderr,
		        "%lld: calendar (%d) %04d-%02d-%02d %02d:%02d:%02d wd %d %+d, "
		        "tzdata %04d-%02d-%02d %02d:%02d:%02d wd %d %+ld\n",
		        (long long)t, r, c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday, c.utc_offset,
		        g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, g.tm_wday,
		        (long)g.tm_gmtoff);
	return g.tm_gmtoff;
}

static long gmtoff(int64_t t)
{
	struct tm g;
	time_t tt = (time_t)t;

	return localtime_r(&tt, &g) != NULL ? g.tm_gmtoff : -1;
}

/*
 * Select the zone and prove that glibc really uses it: a zone file it cannot
 * read leaves UTC in force without any error.
 */
static int zone_applied(void)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo", ZONE);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "%s is missing: install tzdata (deploy/install-deps.sh)\n", path);
		return 0;
	}
	if (setenv("TZ", ZONE, 1) != 0)
		return 0;
	tzset();
	/* 2020-07-01T12:00:00Z and 2020-01-15T12:00:00Z. */
	if (gmtoff(1593604800) != 7200 || gmtoff(1579089600) != 3600) {
		fprintf(stderr, "TZ=%s did not take effect (offsets %ld and %ld, expected 7200 and 3600)\n", ZONE,
		        gmtoff(1593604800), gmtoff(1579089600));
		return 0;
	}
	return 1;
}

int main(void)
{
	int changes[CAL_YEAR_MAX + 1] = {0};
	long prev;
	int64_t t;

	if (!zone_applied()) {
		CHECK(0);
		return check_result();
	}
	prev = gmtoff(FIRST);
	for (t = FIRST; t <= LAST; t += 3600) {
		long off = compare(t);

		if (off != prev) {
			struct tm g;
			time_t tt = (time_t)t;

			/*
			 * tzdata changes the clock between t - 3600 and t: every minute of
			 * the hour before and after, and the second on each side of the
			 * change itself, which must be 01:00:00Z on a Sunday.
			 */
			for (int64_t m = t - 3600; m < t + 3600; m += 60)
				compare(m);
			compare(t - 1);
			CHECK(gmtoff(t - 1) == prev);
			CHECK(gmtoff(t) == off);
			CHECK(gmtime_r(&tt, &g) != NULL && g.tm_hour == 1 && g.tm_min == 0 && g.tm_wday == 0);
			CHECK(g.tm_mon == (off == 7200 ? 2 : 9) && g.tm_mday >= 25);
			if (g.tm_year + 1900 >= CAL_YEAR_MIN && g.tm_year + 1900 <= CAL_YEAR_MAX)
				changes[g.tm_year + 1900]++;
			prev = off;
		}
	}
	/* Exactly two changes a year, so no change of either side went unnoticed. */
	for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++) {
		if (changes[y] != 2)
			fprintf(stderr, "%d: %d clock changes in tzdata, expected 2\n", y, changes[y]);
		CHECK_EQ_INT(changes[y], 2);
	}
	if (mismatches > 10)
		fprintf(stderr, "%d differences in all\n", mismatches);
	return check_result();
}
