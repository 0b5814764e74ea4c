/*
 * calendar.c: Danish hverdage, Europe/Copenhagen time and the legal deadlines.
 * The contract is in calendar.h; this file only explains how.
 *
 * Dates are counted as "ordinals": days since 0001-01-01 in the proleptic
 * Gregorian calendar, which keeps every division in this file on non-negative
 * numbers. Instants are checked against the year 1..9999 window before any
 * arithmetic, so nothing here can overflow.
 */
#include "calendar.h"

#include <stddef.h>
#include <string.h>

#define SECS_PER_DAY 86400
#define YEAR_LO      1
#define YEAR_HI      9999

/* Days before the first of each month in a common year. */
static const int days_before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_length(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

int cal_date_valid(int y, int m, int d)
{
	return y >= YEAR_LO && y <= YEAR_HI && m >= 1 && m <= 12 && d >= 1 && d <= month_length(y, m);
}

int cal_days_in_month(int y, int m)
{
	if (y < YEAR_LO || y > YEAR_HI || m < 1 || m > 12)
		return VARSKO_ERR_BAD_INPUT;
	return month_length(y, m);
}

/* Days from 0001-01-01 to y-m-d (y >= 1, so all terms are non-negative). */
static int64_t ordinal(int y, int m, int d)
{
	int64_t py = (int64_t)y - 1; /* whole years before y */
	int64_t n = 365 * py + py / 4 - py / 100 + py / 400;
	n += days_before_month[m - 1] + (m > 2 && is_leap(y));
	return n + d - 1;
}

static int64_t epoch_ordinal(void)
{
	return ordinal(1970, 1, 1);
}

int64_t cal_days_from_civil(int y, int m, int d)
{
	if (!cal_date_valid(y, m, d))
		return INT64_MIN;
	return ordinal(y, m, d) - epoch_ordinal();
}

int cal_civil_from_days(int64_t days, struct cal_date *out)
{
	int64_t n, lo = ordinal(YEAR_LO, 1, 1) - epoch_ordinal(), hi = ordinal(YEAR_HI, 12, 31) - epoch_ordinal();
	int y, m;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (days < lo || days > hi)
		return VARSKO_ERR_BAD_INPUT;
	n = days + epoch_ordinal();
	/* 146097 days make 400 years: a first guess within a year, then settle. */
	y = (int)(n * 400 / 146097) + 1;
	if (y > YEAR_HI)
		y = YEAR_HI;
	while (y > YEAR_LO && ordinal(y, 1, 1) > n)
		y--;
	while (y < YEAR_HI && ordinal(y + 1, 1, 1) <= n)
		y++;
	n -= ordinal(y, 1, 1); /* day of the year, from 0 */
	for (m = 1; m < 12 && n >= month_length(y, m); m++)
		n -= month_length(y, m);
	out->year = y;
	out->month = m;
	out->day = (int)n + 1;
	return VARSKO_OK;
}

/* ISO weekday of a day number counted from 1970-01-01, which was a Thursday. */
static int weekday_of_days(int64_t days)
{
	int64_t r = (days + 3) % 7; /* 0 = Monday */
	if (r < 0)
		r += 7;
	return (int)r + 1;
}

int cal_weekday(int y, int m, int d)
{
	if (!cal_date_valid(y, m, d))
		return VARSKO_ERR_BAD_INPUT;
	return weekday_of_days(cal_days_from_civil(y, m, d));
}

int cal_easter(int y, struct cal_date *out)
{
	int a, b, c, d, e, f, g, h, i, k, l, mm, n;

	if (out == NULL || y < 1583 || y > YEAR_HI)
		return VARSKO_ERR_BAD_INPUT;
	/*
	 * The anonymous Gregorian algorithm: a is the year's place in the 19-year
	 * Metonic cycle, h the epact-derived distance from 21 March to the paschal
	 * full moon (with the century's solar and lunar corrections b..g), l the
	 * days from that full moon to the following Sunday, and mm the rare
	 * correction that keeps the date on or before 25 April.
	 */
	a = y % 19;
	b = y / 100;
	c = y % 100;
	d = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - d - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	mm = (a + 11 * h + 22 * l) / 451;
	n = h + l - 7 * mm + 114;
	out->year = y;
	out->month = n / 31;
	out->day = n % 31 + 1;
	return VARSKO_OK;
}

int cal_add_days(int y, int m, int d, int64_t n, struct cal_date *out)
{
	int64_t span = ordinal(YEAR_HI, 12, 31);

	if (out == NULL || !cal_date_valid(y, m, d))
		return VARSKO_ERR_BAD_INPUT;
	if (n > span || n < -span) /* keeps the sum far from overflow */
		return VARSKO_ERR_BAD_INPUT;
	return cal_civil_from_days(cal_days_from_civil(y, m, d) + n, out);
}

int cal_add_months(int y, int m, int d, int n, struct cal_date *out)
{
	int64_t index; /* months since January of year 0 */
	int ny, nm, len;

	if (out == NULL || !cal_date_valid(y, m, d))
		return VARSKO_ERR_BAD_INPUT;
	if (n > 12 * YEAR_HI || n < -12 * YEAR_HI)
		return VARSKO_ERR_BAD_INPUT;
	index = (int64_t)y * 12 + (m - 1) + n;
	if (index < (int64_t)YEAR_LO * 12 || index > (int64_t)YEAR_HI * 12 + 11)
		return VARSKO_ERR_BAD_INPUT;
	ny = (int)(index / 12);
	nm = (int)(index % 12) + 1;
	len = month_length(ny, nm);
	out->year = ny;
	out->month = nm;
	out->day = d < len ? d : len;
	return VARSKO_OK;
}

/* ---- holidays ---- */

static int year_in_range(int y)
{
	return y >= CAL_YEAR_MIN && y <= CAL_YEAR_MAX;
}

/* Name of the holiday on a valid, in-range date, or NULL. */
static const char *holiday_name(int y, int m, int d)
{
	struct cal_date easter = {0};
	int64_t delta = INT64_MAX; /* no movable feast before the Gregorian Easter exists (1583) */

	if (cal_easter(y, &easter) == VARSKO_OK)
		delta = cal_days_from_civil(y, m, d) - cal_days_from_civil(easter.year, easter.month, easter.day);
	/* Movable feasts first, so 5 June 2028 is named 2. pinsedag. */
	switch (delta) {
	case -3:
		return "skærtorsdag";
	case -2:
		return "langfredag";
	case 1:
		return "2. påskedag";
	case 26:
		/* Abolished by law from 2024 (DOMAIN.md). */
		if (y <= 2023)
			return "store bededag";
		break;
	case 39:
		return "Kristi himmelfartsdag";
	case 50:
		return "2. pinsedag";
	default:
		break;
	}
	if (m == 1 && d == 1)
		return "nytårsdag";
	if (m == 6 && d == 5)
		return "grundlovsdag";
	if (m == 12) {
		switch (d) {
		case 24:
			return "juleaftensdag";
		case 25:
			return "juledag";
		case 26:
			return "2. juledag";
		case 31:
			return "nytårsaftensdag";
		default:
			break;
		}
	}
	return NULL;
}

const char *cal_holiday_name(int y, int m, int d)
{
	if (!cal_date_valid(y, m, d) || !year_in_range(y))
		return NULL;
	return holiday_name(y, m, d);
}

int cal_is_holiday(int y, int m, int d)
{
	if (!cal_date_valid(y, m, d) || !year_in_range(y))
		return VARSKO_ERR_BAD_INPUT;
	return holiday_name(y, m, d) != NULL;
}

int cal_is_hverdag(int y, int m, int d)
{
	int wd;

	if (!cal_date_valid(y, m, d) || !year_in_range(y))
		return VARSKO_ERR_BAD_INPUT;
	wd = cal_weekday(y, m, d);
	if (wd == CAL_SATURDAY || wd == CAL_SUNDAY)
		return 0;
	return holiday_name(y, m, d) == NULL;
}

int cal_add_hverdage(int y, int m, int d, int n, struct cal_date *out)
{
	struct cal_date cur;
	int step = n < 0 ? -1 : 1, left = n < 0 ? -n : n, r;

	if (out == NULL || !cal_date_valid(y, m, d) || !year_in_range(y))
		return VARSKO_ERR_BAD_INPUT;
	if (n > CAL_HVERDAGE_MAX || n < -CAL_HVERDAGE_MAX)
		return VARSKO_ERR_BAD_INPUT;
	cur.year = y;
	cur.month = m;
	cur.day = d;
	while (left > 0) {
		if ((r = cal_add_days(cur.year, cur.month, cur.day, step, &cur)) != VARSKO_OK)
			return r;
		if ((r = cal_is_hverdag(cur.year, cur.month, cur.day)) < 0)
			return r; /* walked out of the supported years */
		left -= r;
	}
	*out = cur;
	return VARSKO_OK;
}

/* ---- Europe/Copenhagen ---- */

/* The instants this file accepts at all: years 1..9999 in UTC. */
static int instant_ok(int64_t t)
{
	int64_t lo = (ordinal(YEAR_LO, 1, 1) - epoch_ordinal()) * SECS_PER_DAY;
	int64_t hi = (ordinal(YEAR_HI, 12, 31) - epoch_ordinal() + 1) * SECS_PER_DAY - 1;
	return t >= lo && t <= hi;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Day number of the last Sunday of month m of year y. */
static int64_t last_sunday(int y, int m)
{
	int64_t last = cal_days_from_civil(y, m, month_length(y, m));
	return last - weekday_of_days(last) % 7;
}

/*
 * The EU rule for the UTC year of t, which is the only year whose transitions
 * can matter for t: summer time from the last Sunday of March 01:00 UTC up to
 * (not including) the last Sunday of October 01:00 UTC. t must satisfy
 * instant_ok(); the year range is checked by the callers on the local date.
 */
static int offset_at(int64_t t)
{
	struct cal_date utc;
	int64_t start, end;

	(void)cal_civil_from_days(floor_div(t, SECS_PER_DAY), &utc);
	start = last_sunday(utc.year, 3) * SECS_PER_DAY + 3600;
	end = last_sunday(utc.year, 10) * SECS_PER_DAY + 3600;
	return t >= start && t < end ? CAL_OFFSET_CEST : CAL_OFFSET_CET;
}

int cal_to_local(int64_t t, struct cal_local *out)
{
	struct cal_date date;
	int64_t local, days, sod;
	int off;

	if (out == NULL || !instant_ok(t))
		return VARSKO_ERR_BAD_INPUT;
	off = offset_at(t);
	local = t + off;
	days = floor_div(local, SECS_PER_DAY);
	if (cal_civil_from_days(days, &date) != VARSKO_OK || !year_in_range(date.year))
		return VARSKO_ERR_BAD_INPUT;
	sod = local - days * SECS_PER_DAY;
	out->year = date.year;
	out->month = date.month;
	out->day = date.day;
	out->hour = (int)(sod / 3600);
	out->minute = (int)(sod / 60 % 60);
	out->second = (int)(sod % 60);
	out->weekday = weekday_of_days(days);
	out->utc_offset = off;
	return VARSKO_OK;
}

int cal_utc_offset(int64_t t)
{
	struct cal_local l;
	int r;

	if ((r = cal_to_local(t, &l)) != VARSKO_OK)
		return r;
	return l.utc_offset;
}

int cal_from_local(int y, int m, int d, int hh, int mi, int ss, enum cal_dst dst, int64_t *out)
{
	int64_t wall, as_cet, as_cest;
	int cet_ok, cest_ok;

	if (out == NULL || !cal_date_valid(y, m, d) || !year_in_range(y))
		return VARSKO_ERR_BAD_INPUT;
	if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
		return VARSKO_ERR_BAD_INPUT;
	if (dst != CAL_DST_REJECT && dst != CAL_DST_EARLIER && dst != CAL_DST_LATER)
		return VARSKO_ERR_BAD_INPUT;
	/*
	 * The clock reading as if it were UTC, then the two instants it could
	 * name; each is genuine only if that offset is really in force then.
	 * Both genuine: a fold. Neither: a gap.
	 */
	wall = cal_days_from_civil(y, m, d) * SECS_PER_DAY + hh * 3600 + mi * 60 + ss;
	as_cet = wall - CAL_OFFSET_CET;
	as_cest = wall - CAL_OFFSET_CEST;
	cet_ok = offset_at(as_cet) == CAL_OFFSET_CET;
	cest_ok = offset_at(as_cest) == CAL_OFFSET_CEST;
	if (cet_ok != cest_ok) {
		*out = cet_ok ? as_cet : as_cest;
		return VARSKO_OK;
	}
	switch (dst) {
	case CAL_DST_EARLIER:
		*out = as_cest; /* fold: first occurrence; gap: before the jump */
		return VARSKO_OK;
	case CAL_DST_LATER:
		*out = as_cet; /* fold: second occurrence; gap: after the jump */
		return VARSKO_OK;
	default:
		return VARSKO_ERR_BAD_TIME;
	}
}

int cal_local_day_end(int y, int m, int d, int64_t *out)
{
	return cal_from_local(y, m, d, 23, 59, 59, CAL_DST_LATER, out);
}

/* ---- RFC 3339 ---- */

/* Read exactly n decimal digits from *p, advancing it; -1 if any is not a digit. */
static int read_digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static int expect(const char **p, char a, char b)
{
	if (**p != a && **p != b)
		return 0;
	(*p)++;
	return 1;
}

int cal_parse_date(const char *s, size_t len, struct cal_date *out)
{
	const char *p = s;
	int y, m, d;

	if (s == NULL || out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	/* With len == 10 checked first, every read below stays inside s[0..9]. */
	if (len != 10 || (y = read_digits(&p, 4)) < 0 || !expect(&p, '-', '-') || (m = read_digits(&p, 2)) < 0 ||
	    !expect(&p, '-', '-') || (d = read_digits(&p, 2)) < 0)
		return VARSKO_ERR_BAD_TIME;
	if (!cal_date_valid(y, m, d))
		return VARSKO_ERR_BAD_TIME;
	out->year = y;
	out->month = m;
	out->day = d;
	return VARSKO_OK;
}

int cal_parse_rfc3339(const char *s, int64_t *out)
{
	const char *p;
	struct cal_date date;
	int hh, mi, ss, oh, om, sign, nfrac = 0;

	if (s == NULL || out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (strnlen(s, 10) != 10 || cal_parse_date(s, 10, &date) != VARSKO_OK)
		return VARSKO_ERR_BAD_TIME;
	p = s + 10;
	if (!expect(&p, 'T', 't') || (hh = read_digits(&p, 2)) < 0 || !expect(&p, ':', ':') ||
	    (mi = read_digits(&p, 2)) < 0 || !expect(&p, ':', ':') || (ss = read_digits(&p, 2)) < 0)
		return VARSKO_ERR_BAD_TIME;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			nfrac++;
		if (nfrac < 1 || nfrac > 9)
			return VARSKO_ERR_BAD_TIME;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
		sign = 1;
		oh = om = 0;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if ((oh = read_digits(&p, 2)) < 0 || !expect(&p, ':', ':') || (om = read_digits(&p, 2)) < 0)
			return VARSKO_ERR_BAD_TIME;
		if (oh > 23 || om > 59)
			return VARSKO_ERR_BAD_TIME;
	} else {
		return VARSKO_ERR_BAD_TIME; /* no offset: the instant would be a guess */
	}
	if (*p != '\0')
		return VARSKO_ERR_BAD_TIME;
	if (hh > 23 || mi > 59 || ss > 59)
		return VARSKO_ERR_BAD_TIME;
	/* The local reading minus its offset; the fraction is dropped, which truncates toward the earlier second. */
	*out = cal_days_from_civil(date.year, date.month, date.day) * SECS_PER_DAY + hh * 3600 + mi * 60 + ss -
	       sign * (oh * 3600 + om * 60);
	return VARSKO_OK;
}

static char *put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

int cal_format_utc(int64_t t, char out[CAL_TIME_LEN + 1])
{
	struct cal_date date;
	int64_t days, sod;
	char *p = out;

	out[0] = '\0';
	if (!instant_ok(t))
		return VARSKO_ERR_BAD_INPUT;
	days = floor_div(t, SECS_PER_DAY);
	sod = t - days * SECS_PER_DAY;
	if (cal_civil_from_days(days, &date) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	p = put_digits(p, date.year, 4);
	*p++ = '-';
	p = put_digits(p, date.month, 2);
	*p++ = '-';
	p = put_digits(p, date.day, 2);
	*p++ = 'T';
	p = put_digits(p, (int)(sod / 3600), 2);
	*p++ = ':';
	p = put_digits(p, (int)(sod / 60 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (int)(sod % 60), 2);
	*p++ = 'Z';
	*p = '\0';
	return VARSKO_OK;
}

/* ---- deadlines ---- */

int cal_vurdering_due(int64_t received, int64_t *out)
{
	struct cal_local l;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = cal_to_local(received, &l)) != VARSKO_OK)
		return r;
	if ((r = cal_to_local(received + SECS_PER_DAY, &l)) != VARSKO_OK)
		return r;
	*out = received + SECS_PER_DAY;
	return VARSKO_OK;
}

/* How a deadline counts from the Copenhagen date it starts on. */
enum due_count {
	DUE_DAYS,
	DUE_MONTHS,
	DUE_HVERDAGE,
};

/*
 * The end of the Copenhagen day that lies n days, months or hverdage (by
 * `count`) after the Copenhagen date of instant t: the one shape of every
 * deadline but vurdering.
 */
static int due_day_end(int64_t t, enum due_count count, int n, int64_t *out)
{
	struct cal_local l;
	struct cal_date due;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = cal_to_local(t, &l)) != VARSKO_OK)
		return r;
	switch (count) {
	case DUE_DAYS:
		r = cal_add_days(l.year, l.month, l.day, n, &due);
		break;
	case DUE_MONTHS:
		r = cal_add_months(l.year, l.month, l.day, n, &due);
		break;
	case DUE_HVERDAGE:
		r = cal_add_hverdage(l.year, l.month, l.day, n, &due);
		break;
	default:
		r = VARSKO_ERR_INTERNAL;
		break;
	}
	if (r != VARSKO_OK)
		return r;
	return cal_local_day_end(due.year, due.month, due.day, out);
}

int cal_kvittering_due(int64_t received, int64_t *out)
{
	return due_day_end(received, DUE_HVERDAGE, 6, out);
}

int cal_undersoegelse_due(int64_t started, int64_t *out)
{
	return due_day_end(started, DUE_MONTHS, 4, out);
}

int cal_tilbagemelding_due(int64_t received, int days, int64_t *out)
{
	if (days < 0 || days > CAL_TILBAGEMELDING_DAYS_MAX)
		return VARSKO_ERR_BAD_INPUT;
	return due_day_end(received, DUE_DAYS, days, out);
}

/* ---- office hours ---- */

void cal_office_hours_default(struct cal_office_hours *h)
{
	memset(h, 0, sizeof(*h)); /* Saturday and Sunday closed */
	for (int i = 0; i < 4; i++) {
		h->open[i] = 8 * 60;
		h->close[i] = 15 * 60 + 30;
	}
	h->open[4] = 8 * 60;
	h->close[4] = 13 * 60;
}

int cal_in_office_hours(int64_t t, const struct cal_office_hours *h)
{
	struct cal_local l;
	int r, sod, i;

	if (h == NULL)
		return VARSKO_ERR_BAD_INPUT;
	for (i = 0; i < 7; i++)
		if (h->open[i] < 0 || h->open[i] > h->close[i] || h->close[i] > 24 * 60)
			return VARSKO_ERR_BAD_INPUT;
	if ((r = cal_to_local(t, &l)) != VARSKO_OK)
		return r;
	if ((r = cal_is_hverdag(l.year, l.month, l.day)) != 1)
		return r;
	i = l.weekday - 1;
	sod = l.hour * 3600 + l.minute * 60 + l.second;
	return sod >= h->open[i] * 60 && sod < h->close[i] * 60;
}
