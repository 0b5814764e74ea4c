/*
 * report.c: the ledelsestilsyn figures and their three output formats
 * (report.h, where the figures are defined; docs/DEVELOPING.md "Deadlines
 * and reports"). Pure: no I/O, no clock.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "varsko/err.h"

#define REPORT_TEAMS_MAX 10000
#define REPORT_ITEMS_MAX 10000000

static const char *const deadline_names[REPORT_DL_COUNT] = {"vurdering", "kvittering", "tilbagemelding",
                                                            "undersoegelse"};

/* Danish names of the deadlines, for the HTML page. */
static const char *const deadline_names_da[REPORT_DL_COUNT] = {"Vurdering (24 timer)", "Kvittering (6 hverdage)",
                                                               "Tilbagemelding (egen frist)",
                                                               "Børnefaglig undersøgelse (4 måneder)"};

static const char *const month_names_da[12] = {"januar", "februar", "marts",     "april",   "maj",      "juni",
                                               "juli",   "august",  "september", "oktober", "november", "december"};

const char *report_deadline_name(enum report_deadline_kind k)
{
	if ((int)k < 0 || k >= REPORT_DL_COUNT)
		return NULL;
	return deadline_names[k];
}

/* ---- input ------------------------------------------------------------- */

void report_input_init(struct report_input *in)
{
	memset(in, 0, sizeof(*in));
}

void report_input_clear(struct report_input *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->n_teams; i++)
		free(in->teams[i].name);
	proto_wipe_free(in->teams, in->cap_teams * sizeof(*in->teams));
	proto_wipe_free(in->items, in->cap_items * sizeof(*in->items));
	memset(in, 0, sizeof(*in));
}

int report_input_add_team(struct report_input *in, const char *id, const char *name)
{
	struct report_team *t;
	int r;

	if (id == NULL || name == NULL || strlen(id) > PROTO_ID_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = proto_array_grow((void **)&in->teams, in->n_teams, &in->cap_teams, sizeof(*in->teams),
	                          REPORT_TEAMS_MAX)) != VARSKO_OK)
		return r;
	t = &in->teams[in->n_teams];
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	if ((t->name = strdup(name)) == NULL)
		return VARSKO_ERR_NOMEM;
	in->n_teams++;
	return VARSKO_OK;
}

int report_input_add_item(struct report_input *in, const struct report_item *item)
{
	int r;

	if ((r = proto_array_grow((void **)&in->items, in->n_items, &in->cap_items, sizeof(*in->items),
	                          REPORT_ITEMS_MAX)) != VARSKO_OK)
		return r;
	in->items[in->n_items++] = *item;
	return VARSKO_OK;
}

/* ---- dates and the period ------------------------------------------------ */

int report_parse_date(const char *s, struct cal_date *out)
{
	struct cal_date d;

	if (s == NULL || cal_parse_date(s, strlen(s), &d) != VARSKO_OK || d.year < CAL_YEAR_MIN ||
	    d.year > CAL_YEAR_MAX)
		return VARSKO_ERR_BAD_TIME;
	*out = d;
	return VARSKO_OK;
}

int report_period(const struct cal_date *from, const struct cal_date *to, int64_t *from_at, int64_t *to_at)
{
	int r;

	if ((r = cal_from_local(from->year, from->month, from->day, 0, 0, 0, CAL_DST_EARLIER, from_at)) != VARSKO_OK ||
	    (r = cal_local_day_end(to->year, to->month, to->day, to_at)) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	if (*from_at > *to_at)
		return VARSKO_ERR_BAD_INPUT;
	return VARSKO_OK;
}

int report_period_choose(const char *from, const char *to, int64_t now, struct cal_date *from_out,
                         struct cal_date *to_out, const char **why)
{
	struct cal_date f, t;
	struct cal_local l;
	int64_t from_at, to_at, days;

	*why = NULL;
	if (to != NULL) {
		if (report_parse_date(to, &t) != VARSKO_OK) {
			*why = "to is not a date YYYY-MM-DD";
			return VARSKO_ERR_BAD_INPUT;
		}
	} else {
		if (cal_to_local(now, &l) != VARSKO_OK) {
			*why = "today is outside the calendar";
			return VARSKO_ERR_BAD_INPUT;
		}
		t.year = l.year;
		t.month = l.month;
		t.day = l.day;
	}
	if (from != NULL) {
		if (report_parse_date(from, &f) != VARSKO_OK) {
			*why = "from is not a date YYYY-MM-DD";
			return VARSKO_ERR_BAD_INPUT;
		}
	} else if (cal_add_days(t.year, t.month, t.day, -(REPORT_DAYS_DEFAULT - 1), &f) != VARSKO_OK ||
	           f.year < CAL_YEAR_MIN) {
		*why = "the default period starts outside the calendar";
		return VARSKO_ERR_BAD_INPUT;
	}
	if (report_period(&f, &t, &from_at, &to_at) != VARSKO_OK) {
		*why = "to is before from";
		return VARSKO_ERR_BAD_INPUT;
	}
	days = cal_days_from_civil(t.year, t.month, t.day) - cal_days_from_civil(f.year, f.month, f.day) + 1;
	if (days > REPORT_DAYS_MAX) {
		*why = "the period is longer than 366 days";
		return VARSKO_ERR_BAD_INPUT;
	}
	*from_out = f;
	*to_out = t;
	return VARSKO_OK;
}

/* ---- figures --------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int report_percentile(int64_t *v, size_t n, int p, int64_t *out)
{
	size_t rank;

	if (n == 0)
		return VARSKO_ERR_NOT_FOUND;
	if (p <= 0 || p > 100)
		return VARSKO_ERR_BAD_INPUT;
	qsort(v, n, sizeof(*v), cmp_i64);
	rank = ((size_t)p * n + 99) / 100; /* ceil(p * n / 100), >= 1 since p, n >= 1 */
	*out = v[rank - 1];
	return VARSKO_OK;
}

/* One deadline's contribution to a share (report.h: decided, within). */
static void count_deadline(const struct report_deadline *d, int64_t now, struct report_stat *st)
{
	if (!d->present)
		return;
	if (d->met_at != 0) {
		st->decided++;
		if (d->met_at <= d->due_at)
			st->within++;
	} else if (d->due_at < now) {
		st->decided++;
	}
}

static int overdue_now(const struct report_deadline *d, int64_t now)
{
	return d->present && d->met_at == 0 && d->due_at < now;
}

/* Median and p90 of the durations in v[0..n) into st. */
static void stat_times(int64_t *v, size_t n, struct report_stat *st)
{
	st->count = n;
	if (n == 0)
		return;
	report_percentile(v, n, 50, &st->median);
	report_percentile(v, n, 90, &st->p90);
}

/* The figures of the items of `team` (NULL: all items). */
static int figures_for(const struct report_input *in, const char *team, struct report_figures *fig)
{
	int64_t *tv = NULL, *tk = NULL;
	size_t i, nv = 0, nk = 0;
	int k, r = VARSKO_ERR_NOMEM;

	memset(fig, 0, sizeof(*fig));
	if (in->n_items > 0 &&
	    ((tv = malloc(in->n_items * sizeof(*tv))) == NULL || (tk = malloc(in->n_items * sizeof(*tk))) == NULL))
		goto out;
	for (i = 0; i < in->n_items; i++) {
		const struct report_item *it = &in->items[i];

		if (team != NULL && strcmp(it->team, team) != 0)
			continue;
		fig->received++;
		if (it->outside_office)
			fig->outside_office++;
		if (it->vurderet_at != 0)
			tv[nv++] = it->vurderet_at > it->received_at ? it->vurderet_at - it->received_at : 0;
		if (it->kvitteret_at != 0)
			tk[nk++] = it->kvitteret_at > it->received_at ? it->kvitteret_at - it->received_at : 0;
		count_deadline(&it->dl[REPORT_DL_VURDERING], in->now, &fig->vurdering);
		count_deadline(&it->dl[REPORT_DL_KVITTERING], in->now, &fig->kvittering);
		for (k = 0; k < REPORT_DL_COUNT; k++)
			fig->overdue += (size_t)overdue_now(&it->dl[k], in->now);
	}
	stat_times(tv, nv, &fig->vurdering);
	stat_times(tk, nk, &fig->kvittering);
	r = VARSKO_OK;
out:
	free(tv);
	free(tk);
	return r;
}

static int cmp_overdue(const void *a, const void *b)
{
	const struct report_overdue *x = a, *y = b;
	int c;

	if (x->due_at != y->due_at)
		return (x->due_at > y->due_at) - (x->due_at < y->due_at);
	if ((c = strcmp(x->reference, y->reference)) != 0)
		return c;
	return (int)x->kind - (int)y->kind;
}

/* The Monday (days since 1970-01-01) of the week holding y-m-d. */
static int64_t monday_of(int y, int m, int d)
{
	return cal_days_from_civil(y, m, d) - (cal_weekday(y, m, d) - 1);
}

static int make_weeks(const struct report_input *in, struct report *rep)
{
	int64_t first = monday_of(in->from.year, in->from.month, in->from.day);
	int64_t last = monday_of(in->to.year, in->to.month, in->to.day);
	struct cal_date thu;
	struct cal_local l;
	size_t i, n;
	int64_t idx;

	if (last < first)
		return VARSKO_ERR_BAD_INPUT;
	n = (size_t)((last - first) / 7 + 1);
	if ((rep->weeks = calloc(n, sizeof(*rep->weeks))) == NULL)
		return VARSKO_ERR_NOMEM;
	rep->n_weeks = n;
	for (i = 0; i < n; i++) {
		struct report_week *w = &rep->weeks[i];
		int64_t monday = first + 7 * (int64_t)i;

		/* ISO 8601: the week belongs to the year of its Thursday. */
		if (cal_civil_from_days(monday, &w->monday) != VARSKO_OK ||
		    cal_civil_from_days(monday + 3, &thu) != VARSKO_OK)
			return VARSKO_ERR_BAD_INPUT;
		w->iso_year = thu.year;
		w->iso_week = (int)((monday + 3 - cal_days_from_civil(thu.year, 1, 1)) / 7 + 1);
	}
	for (i = 0; i < in->n_items; i++) {
		if (cal_to_local(in->items[i].received_at, &l) != VARSKO_OK)
			continue;
		idx = (monday_of(l.year, l.month, l.day) - first) / 7;
		if (idx >= 0 && (size_t)idx < n)
			rep->weeks[idx].received++;
	}
	return VARSKO_OK;
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	free(r->teams);
	free(r->weeks);
	free(r->overdue);
	memset(r, 0, sizeof(*r));
}

int report_compute(const struct report_input *in, struct report *out)
{
	struct report rep;
	int64_t from_at, to_at;
	size_t i, n_over = 0;
	int k, r;

	memset(out, 0, sizeof(*out));
	memset(&rep, 0, sizeof(rep));
	rep.in = in;
	if ((r = report_period(&in->from, &in->to, &from_at, &to_at)) != VARSKO_OK)
		goto out;
	if (in->n_teams > 0 && (rep.teams = calloc(in->n_teams, sizeof(*rep.teams))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < in->n_teams; i++) {
		if ((r = figures_for(in, in->teams[i].id, &rep.teams[i])) != VARSKO_OK)
			goto out;
	}
	if ((r = figures_for(in, NULL, &rep.total)) != VARSKO_OK)
		goto out;
	if ((r = make_weeks(in, &rep)) != VARSKO_OK)
		goto out;
	if (rep.total.overdue > 0) {
		if ((rep.overdue = calloc(rep.total.overdue, sizeof(*rep.overdue))) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < in->n_items; i++) {
			const struct report_item *it = &in->items[i];

			for (k = 0; k < REPORT_DL_COUNT; k++) {
				struct report_overdue *o;

				if (!overdue_now(&it->dl[k], in->now) || n_over >= rep.total.overdue)
					continue;
				o = &rep.overdue[n_over++];
				memcpy(o->reference, it->reference, sizeof(o->reference));
				memcpy(o->team, it->team, sizeof(o->team));
				o->kind = (enum report_deadline_kind)k;
				o->due_at = it->dl[k].due_at;
			}
		}
		rep.n_overdue = n_over;
		qsort(rep.overdue, n_over, sizeof(*rep.overdue), cmp_overdue);
	}
	*out = rep;
	memset(&rep, 0, sizeof(rep));
	r = VARSKO_OK;
out:
	report_free(&rep);
	return r;
}

/* ---- text (struct proto_buf, proto/buf.h) ----------------------------- */

/* Text for HTML (element content, attribute values, SVG text): & < > " ' as references, C0 controls as spaces. */
static void sb_html(struct proto_buf *b, const char *s)
{
	const char *start = s, *rep;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = ((unsigned char)*s < 0x20 || *s == 0x7f) ? " " : NULL;
			break;
		}
		if (rep == NULL)
			continue;
		proto_buf_add(b, start, (size_t)(s - start));
		proto_buf_add_str(b, rep);
		start = s + 1;
	}
	proto_buf_add(b, start, (size_t)(s - start));
}

/*
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF or
 * starts or ends with a space; quotes doubled. A text that a spreadsheet
 * would take for a formula (first character = + - @ TAB CR) gets a leading
 * apostrophe, and is then quoted as well.
 */
static void sb_csv(struct proto_buf *b, const char *s)
{
	size_t n = strlen(s);
	int formula = n > 0 && strchr("=+-@\t\r", s[0]) != NULL;
	int quote = formula || strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
	const char *q;

	if (!quote) {
		proto_buf_add(b, s, n);
		return;
	}
	proto_buf_add_str(b, formula ? "\"'" : "\"");
	while ((q = strchr(s, '"')) != NULL) {
		proto_buf_add(b, s, (size_t)(q - s) + 1);
		proto_buf_add_str(b, "\"");
		s = q + 1;
	}
	proto_buf_add_str(b, s);
	proto_buf_add_str(b, "\"");
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON string; bytes that are not valid UTF-8 become '?' rather than fail the whole report. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;
	size_t i;

	if (j != NULL || (copy = strdup(s)) == NULL)
		return j;
	for (i = 0; copy[i] != '\0'; i++) {
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	}
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *jtime(int64_t t)
{
	char buf[CAL_TIME_LEN + 1];

	if (cal_format_utc(t, buf) != VARSKO_OK)
		return NULL;
	return json_string(buf);
}

static json_t *jdate(const struct cal_date *d)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d->year, d->month, d->day);
	return json_string(buf);
}

static json_t *jshare(size_t num, size_t den)
{
	return den ? json_real((double)num / (double)den) : json_null();
}

static json_t *json_stat(const struct report_stat *st)
{
	return json_pack("{s:I, s:o, s:o, s:I, s:I, s:o}", "count", (json_int_t)st->count, "median_seconds",
	                 st->count ? json_integer(st->median) : json_null(), "p90_seconds",
	                 st->count ? json_integer(st->p90) : json_null(), "within", (json_int_t)st->within, "decided",
	                 (json_int_t)st->decided, "share", jshare(st->within, st->decided));
}

static json_t *json_figures(const struct report_figures *f)
{
	return json_pack("{s:I, s:{s:I, s:o}, s:o, s:o, s:I}", "received", (json_int_t)f->received, "outside_office",
	                 "count", (json_int_t)f->outside_office, "share", jshare(f->outside_office, f->received),
	                 "vurdering", json_stat(&f->vurdering), "kvittering", json_stat(&f->kvittering), "overdue",
	                 (json_int_t)f->overdue);
}

/* Team i's entry of the JSON report: its figures with its id and name. */
static json_t *json_team(const struct report *rep, size_t i)
{
	json_t *o = json_figures(&rep->teams[i]);

	if (o == NULL || json_object_set_new(o, "team", jstr(rep->in->teams[i].id)) != 0 ||
	    json_object_set_new(o, "name", jstr(rep->in->teams[i].name)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* o (dropped) as compact JSON with sorted keys into *out (owned), *len. */
static int json_take(json_t *o, char **out, size_t *len)
{
	char *text;

	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return VARSKO_ERR_NOMEM;
	*len = strlen(text);
	*out = text;
	return VARSKO_OK;
}

int report_format_team(const struct report *r, size_t i, char **out, size_t *len)
{
	if (r == NULL || r->in == NULL || out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (i >= r->in->n_teams)
		return VARSKO_ERR_BAD_INPUT;
	return json_take(json_team(r, i), out, len);
}

static int format_json(const struct report *rep, char **out, size_t *len)
{
	const struct report_input *in = rep->in;
	json_t *root = NULL, *teams, *weeks, *over, *o;
	char wk[16];
	int64_t from_at, to_at;
	size_t i;
	int r = VARSKO_ERR_NOMEM;

	if (report_period(&in->from, &in->to, &from_at, &to_at) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	root = json_pack("{s:{s:o, s:o, s:o, s:o}, s:o, s:o, s:s, s:o, s:[], s:[], s:[]}", "period", "from",
	                 jdate(&in->from), "to", jdate(&in->to), "from_at", jtime(from_at), "to_at", jtime(to_at),
	                 "now", jtime(in->now), "team", in->team[0] ? jstr(in->team) : json_null(), "method",
	                 "nearest-rank", "total", json_figures(&rep->total), "teams", "weeks", "overdue");
	if (root == NULL)
		goto out;
	teams = json_object_get(root, "teams");
	weeks = json_object_get(root, "weeks");
	over = json_object_get(root, "overdue");
	for (i = 0; i < in->n_teams; i++) {
		if ((o = json_team(rep, i)) == NULL || json_array_append_new(teams, o) != 0)
			goto out;
	}
	for (i = 0; i < rep->n_weeks; i++) {
		const struct report_week *w = &rep->weeks[i];

		snprintf(wk, sizeof(wk), "%04d-W%02d", w->iso_year, w->iso_week);
		if ((o = json_pack("{s:s, s:o, s:I}", "week", wk, "monday", jdate(&w->monday), "received",
		                   (json_int_t)w->received)) == NULL ||
		    json_array_append_new(weeks, o) != 0)
			goto out;
	}
	for (i = 0; i < rep->n_overdue; i++) {
		const struct report_overdue *d = &rep->overdue[i];

		if ((o = json_pack("{s:o, s:o, s:s, s:o}", "reference", jstr(d->reference), "team", jstr(d->team),
		                   "deadline", deadline_names[d->kind], "due", jtime(d->due_at))) == NULL ||
		    json_array_append_new(over, o) != 0)
			goto out;
	}
	r = json_take(root, out, len);
	root = NULL;
out:
	json_decref(root);
	return r;
}

/* ---- CSV ------------------------------------------------------------------ */

static const char csv_header[] =
        "row,team,name,received,outside_office,outside_office_share,"
        "vurdering_count,vurdering_median_seconds,vurdering_p90_seconds,vurdering_within_24h,vurdering_decided,"
        "vurdering_share,kvittering_count,kvittering_median_seconds,kvittering_p90_seconds,"
        "kvittering_within_6_hverdage,kvittering_decided,kvittering_share,overdue\r\n";

static void csv_share(struct proto_buf *b, size_t num, size_t den)
{
	if (den)
		proto_buf_printf(b, ",%.4f", (double)num / (double)den);
	else
		proto_buf_add_str(b, ",");
}

static void csv_stat(struct proto_buf *b, const struct report_stat *st)
{
	proto_buf_printf(b, ",%zu", st->count);
	if (st->count)
		proto_buf_printf(b, ",%lld,%lld", (long long)st->median, (long long)st->p90);
	else
		proto_buf_add_str(b, ",,");
	proto_buf_printf(b, ",%zu,%zu", st->within, st->decided);
	csv_share(b, st->within, st->decided);
}

static void csv_row(struct proto_buf *b, const char *row, const char *team, const char *name,
                    const struct report_figures *f)
{
	sb_csv(b, row);
	proto_buf_add_str(b, ",");
	sb_csv(b, team);
	proto_buf_add_str(b, ",");
	sb_csv(b, name);
	proto_buf_printf(b, ",%zu,%zu", f->received, f->outside_office);
	csv_share(b, f->outside_office, f->received);
	csv_stat(b, &f->vurdering);
	csv_stat(b, &f->kvittering);
	proto_buf_printf(b, ",%zu\r\n", f->overdue);
}

static int format_csv(const struct report *rep, char **out, size_t *len)
{
	struct proto_buf b = {0};
	size_t i;

	proto_buf_add_str(&b, csv_header);
	for (i = 0; i < rep->in->n_teams; i++)
		csv_row(&b, "team", rep->in->teams[i].id, rep->in->teams[i].name, &rep->teams[i]);
	csv_row(&b, "total", "", "I alt", &rep->total);
	return proto_buf_take(&b, out, len);
}

/* ---- HTML ------------------------------------------------------------------ */

static const char html_style[] =
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2rem;color:#1b1b1b;"
        "max-width:72rem}"
        "h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}"
        ".meta{color:#555;margin-top:0}"
        "table{border-collapse:collapse;margin:.5rem 0 1rem 0;font-size:.92rem}"
        "th,td{border:1px solid #ccc;padding:.3rem .55rem;text-align:right;vertical-align:top}"
        "th{background:#f1f3f5}td.l,th.l{text-align:left}.nw{white-space:nowrap}tr.total "
        "td{font-weight:bold;background:#fafafa}"
        "svg{display:block;max-width:100%;height:auto;margin:.5rem 0}"
        "svg text{font-family:inherit;font-size:12px;fill:#333}"
        ".note{color:#444;font-size:.88rem;max-width:60rem}"
        ".bad{color:#a40000;font-weight:bold}"
        "@media print{body{margin:1cm}}";

/* Copenhagen local time of t as "1. december 2026 kl. 23:59" (or the UTC text when out of the calendar). */
static void html_time(struct proto_buf *b, int64_t t)
{
	struct cal_local l;
	char buf[CAL_TIME_LEN + 1];

	if (cal_to_local(t, &l) != VARSKO_OK) {
		cal_format_utc(t, buf);
		proto_buf_add_str(b, buf);
		return;
	}
	proto_buf_printf(b, "%d. %s %d kl. %02d:%02d", l.day, month_names_da[l.month - 1], l.year, l.hour, l.minute);
}

static void html_date(struct proto_buf *b, const struct cal_date *d)
{
	proto_buf_printf(b, "%d. %s %d", d->day, month_names_da[d->month - 1], d->year);
}

/* A duration in seconds for a reader: "20 t 5 min", or "6 døgn 4 t" from 48 hours on. */
static void html_duration(struct proto_buf *b, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 48 * 3600)
		proto_buf_printf(b, "%lld t %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		proto_buf_printf(b, "%lld døgn %lld t", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* A share as "83 % (5 af 6)", rounded to whole percent; "–" when there is nothing to divide. */
static void html_share(struct proto_buf *b, size_t num, size_t den)
{
	if (den == 0) {
		proto_buf_add_str(b, "–");
		return;
	}
	proto_buf_printf(b, "%zu %% (%zu af %zu)", (num * 200 / den + 1) / 2, num, den);
}

static void html_stat_cells(struct proto_buf *b, const struct report_stat *st)
{
	proto_buf_add_str(b, "<td>");
	if (st->count) {
		proto_buf_add_str(b, "<span class=\"nw\">");
		html_duration(b, st->median);
		proto_buf_add_str(b, "</span> / <span class=\"nw\">");
		html_duration(b, st->p90);
		proto_buf_printf(b, "</span> <small class=\"nw\">(n=%zu)</small>", st->count);
	} else {
		proto_buf_add_str(b, "–");
	}
	proto_buf_add_str(b, "</td><td class=\"nw\">");
	html_share(b, st->within, st->decided);
	proto_buf_add_str(b, "</td>");
}

static void html_figures_row(struct proto_buf *b, const char *name, const struct report_figures *f, int total)
{
	proto_buf_add_str(b, total ? "<tr class=\"total\"><td class=\"l\">" : "<tr><td class=\"l\">");
	sb_html(b, name);
	proto_buf_printf(b, "</td><td>%zu</td><td class=\"nw\">", f->received);
	html_share(b, f->outside_office, f->received);
	proto_buf_add_str(b, "</td>");
	html_stat_cells(b, &f->vurdering);
	html_stat_cells(b, &f->kvittering);
	proto_buf_printf(b, "<td%s>%zu</td></tr>\n", f->overdue ? " class=\"bad\"" : "", f->overdue);
}

/* A "nice" step (1, 2 or 5 times a power of ten) so that max / step is at most 5. */
static size_t nice_step(size_t max)
{
	size_t p = 1;

	for (;;) {
		if (max <= 5 * p)
			return p;
		if (max <= 10 * p)
			return 2 * p;
		if (max <= 25 * p)
			return 5 * p;
		p *= 10;
	}
}

/* SVG bar chart: received per ISO week. */
static void html_week_chart(struct proto_buf *b, const struct report *rep)
{
	const int top = 24, left = 44, plot_h = 180, bottom = 46, right = 16;
	size_t i, max = 0, step, ymax, t;
	int slot, width, height, every;

	for (i = 0; i < rep->n_weeks; i++)
		if (rep->weeks[i].received > max)
			max = rep->weeks[i].received;
	step = nice_step(max ? max : 1);
	ymax = ((max ? max : 1) + step - 1) / step * step;
	slot = rep->n_weeks <= 30 ? 34 : (rep->n_weeks <= 120 ? 12 : 6);
	every = slot >= 34 ? 1 : (slot >= 12 ? 4 : 13);
	width = left + slot * (int)rep->n_weeks + right;
	if (width < 320)
		width = 320;
	height = top + plot_h + bottom;
	proto_buf_printf(b,
	                 "<svg id=\"chart-weeks\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
	                 " viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart-weeks-title\">\n"
	                 "<title id=\"chart-weeks-title\">Modtagne underretninger pr. uge</title>\n"
	                 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	                 width, height, width, height, width, height);
	for (t = 0; t <= ymax; t += step) {
		int y = top + plot_h - (int)((double)t / (double)ymax * plot_h);

		proto_buf_printf(b,
		                 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#dddddd\"/>"
		                 "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu</text>\n",
		                 left, y, width - right, y, left - 6, y + 4, t);
	}
	for (i = 0; i < rep->n_weeks; i++) {
		const struct report_week *w = &rep->weeks[i];
		int h = (int)((double)w->received / (double)ymax * plot_h);
		int x = left + slot * (int)i;

		proto_buf_printf(b,
		                 "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3b6ea8\">"
		                 "<title>Uge %d, %d: %zu modtaget</title></rect>\n",
		                 x + slot / 8, top + plot_h - h, slot - slot / 4, h, w->iso_week, w->iso_year,
		                 w->received);
		if (slot >= 34 && w->received > 0)
			proto_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%zu</text>\n", x + slot / 2,
			                 top + plot_h - h - 4, w->received);
		if (i % (size_t)every == 0)
			proto_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">u%d</text>\n", x + slot / 2,
			                 top + plot_h + 16, w->iso_week);
	}
	proto_buf_printf(b,
	                 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n"
	                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Uge (ISO 8601, dansk tid)</text>\n"
	                 "<text x=\"12\" y=\"14\">Antal</text>\n</svg>\n",
	                 left, top + plot_h, width - right, top + plot_h, left + (width - left - right) / 2,
	                 top + plot_h + 38);
}

/* One horizontal bar of the compliance chart. */
static void html_bar(struct proto_buf *b, int x0, int y, int plot_w, const struct report_stat *st, const char *color,
                     const char *what, const char *team)
{
	int w;

	if (st->decided == 0) {
		proto_buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"#777777\">%s: ingen afgjorte</text>\n", x0 + 4,
		                 y + 12, what);
		return;
	}
	w = (int)((double)st->within / (double)st->decided * plot_w);
	proto_buf_printf(b, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"><title>", x0,
	                 y, w, color);
	sb_html(b, team);
	proto_buf_printf(b, ", %s: %zu af %zu inden for fristen</title></rect>\n<text x=\"%d\" y=\"%d\">", what,
	                 st->within, st->decided, x0 + w + 6, y + 12);
	html_share(b, st->within, st->decided);
	proto_buf_add_str(b, "</text>\n");
}

/* SVG: per team (and in total) the share of vurderinger and kvitteringer within their deadline. */
static void html_compliance_chart(struct proto_buf *b, const struct report *rep)
{
	const int left = 210, plot_w = 420, right = 150, top = 40, row_h = 50;
	const char *cv = "#1f6f8b", *ck = "#d9822b";
	size_t i, rows = rep->in->n_teams + 1;
	int width = left + plot_w + right, height = top + row_h * (int)rows + 20;

	proto_buf_printf(b,
	                 "<svg id=\"chart-compliance\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
	                 " viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart-compliance-title\">\n"
	                 "<title id=\"chart-compliance-title\">Andel inden for fristen pr. team</title>\n"
	                 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	                 "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"12\" fill=\"%s\"/>"
	                 "<text x=\"%d\" y=\"18\">Vurderet inden for 24 timer</text>\n"
	                 "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"12\" fill=\"%s\"/>"
	                 "<text x=\"%d\" y=\"18\">Kvitteret inden for 6 hverdage</text>\n",
	                 width, height, width, height, width, height, left, cv, left + 16, left + 220, ck, left + 236);
	for (i = 0; i <= 10; i += 5) {
		int x = left + (int)(plot_w * i / 10);

		proto_buf_printf(b,
		                 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#dddddd\"/>"
		                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%zu %%</text>\n",
		                 x, top - 6, x, top + row_h * (int)rows, x, top + row_h * (int)rows + 14, i * 10);
	}
	for (i = 0; i < rows; i++) {
		int total = i == rep->in->n_teams;
		const char *name = total ? "I alt" : rep->in->teams[i].name;
		const struct report_figures *f = total ? &rep->total : &rep->teams[i];
		int y = top + row_h * (int)i + 6;

		proto_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>", left - 8, y + 22,
		                 total ? " font-weight=\"bold\"" : "");
		sb_html(b, name);
		proto_buf_add_str(b, "</text>\n");
		html_bar(b, left, y, plot_w, &f->vurdering, cv, "vurdering", name);
		html_bar(b, left, y + 18, plot_w, &f->kvittering, ck, "kvittering", name);
	}
	proto_buf_add_str(b, "</svg>\n");
}

static const char *team_name(const struct report_input *in, const char *id)
{
	size_t i;

	for (i = 0; i < in->n_teams; i++)
		if (strcmp(in->teams[i].id, id) == 0)
			return in->teams[i].name;
	return id;
}

static int format_html(const struct report *rep, char **out, size_t *len)
{
	const struct report_input *in = rep->in;
	struct proto_buf b = {0};
	size_t i;

	proto_buf_add_str(&b, "<!DOCTYPE html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n"
	                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	                      "<title>Ledelsestilsyn: underretninger ");
	html_date(&b, &in->from);
	proto_buf_add_str(&b, " – ");
	html_date(&b, &in->to);
	proto_buf_add_str(&b, "</title>\n<style>");
	proto_buf_add_str(&b, html_style);
	proto_buf_add_str(
	        &b,
	        "</style>\n</head>\n<body>\n<h1>Ledelsestilsyn: underretninger og frister</h1>\n<p class=\"meta\">");
	proto_buf_add_str(&b, "Modtaget ");
	html_date(&b, &in->from);
	proto_buf_add_str(&b, " – ");
	html_date(&b, &in->to);
	proto_buf_add_str(&b, " (begge dage med, dansk tid). ");
	if (in->team[0]) {
		proto_buf_add_str(&b, "Team: ");
		sb_html(&b, team_name(in, in->team));
		proto_buf_add_str(&b, ". ");
	} else {
		proto_buf_add_str(&b, "Alle teams. ");
	}
	proto_buf_add_str(&b, "Opgjort ");
	html_time(&b, in->now);
	proto_buf_add_str(&b, ".</p>\n");

	proto_buf_add_str(&b,
	                  "<h2>Nøgletal pr. team</h2>\n<table id=\"figures\">\n<thead><tr><th class=\"l\">Team</th>"
	                  "<th>Modtaget</th><th>Uden for åbningstid</th>"
	                  "<th>Tid til vurdering<br>median / 90. percentil</th><th>Vurderet inden for 24 timer</th>"
	                  "<th>Tid til kvittering<br>median / 90. percentil</th><th>Kvitteret inden for 6 hverdage</th>"
	                  "<th>Åbne overskredne frister</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < in->n_teams; i++)
		html_figures_row(&b, in->teams[i].name, &rep->teams[i], 0);
	html_figures_row(&b, "I alt", &rep->total, 1);
	proto_buf_add_str(&b, "</tbody>\n</table>\n");

	proto_buf_add_str(&b, "<h2>Modtaget pr. uge</h2>\n");
	html_week_chart(&b, rep);
	proto_buf_add_str(&b, "<table id=\"weeks\">\n<thead><tr><th class=\"l\">Uge</th><th class=\"l\">Mandag</th>"
	                      "<th>Modtaget</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < rep->n_weeks; i++) {
		const struct report_week *w = &rep->weeks[i];

		proto_buf_printf(&b, "<tr><td class=\"l\">%d-U%02d</td><td class=\"l\">", w->iso_year, w->iso_week);
		html_date(&b, &w->monday);
		proto_buf_printf(&b, "</td><td>%zu</td></tr>\n", w->received);
	}
	proto_buf_add_str(&b, "</tbody>\n</table>\n");

	proto_buf_add_str(&b, "<h2>Overholdelse af frister pr. team</h2>\n");
	html_compliance_chart(&b, rep);

	proto_buf_add_str(&b, "<h2>Åbne, overskredne frister</h2>\n");
	if (rep->n_overdue == 0) {
		proto_buf_add_str(&b, "<p id=\"overdue-none\">Ingen.</p>\n");
	} else {
		proto_buf_add_str(
		        &b, "<table id=\"overdue\">\n<thead><tr><th class=\"l\">Reference</th><th class=\"l\">Team</th>"
		            "<th class=\"l\">Frist</th><th class=\"l\">Forfaldt (dansk tid)</th></tr></thead>\n"
		            "<tbody>\n");
		for (i = 0; i < rep->n_overdue; i++) {
			const struct report_overdue *d = &rep->overdue[i];

			proto_buf_add_str(&b, "<tr><td class=\"l\">");
			sb_html(&b, d->reference);
			proto_buf_add_str(&b, "</td><td class=\"l\">");
			sb_html(&b, team_name(in, d->team));
			proto_buf_add_str(&b, "</td><td class=\"l\">");
			sb_html(&b, deadline_names_da[d->kind]);
			proto_buf_add_str(&b, "</td><td class=\"l\">");
			html_time(&b, d->due_at);
			proto_buf_add_str(&b, "</td></tr>\n");
		}
		proto_buf_add_str(&b, "</tbody>\n</table>\n");
	}

	proto_buf_add_str(
	        &b,
	        "<h2>Sådan er tallene opgjort</h2>\n<ul class=\"note\">\n"
	        "<li>Med er de underretninger, der er modtaget i perioden; de tælles hos det team, der har dem "
	        "nu.</li>\n"
	        "<li>Tid til vurdering og kvittering regnes fra modtagelsen til den første signerede hændelse "
	        "(vurderet, kvitteret). Median og 90. percentil efter nærmeste rang: af n målinger sorteret stigende "
	        "er P-percentilen målingen nr. ⌈P·n/100⌉; ved et lige antal er medianen den mindste af de to "
	        "midterste.</li>\n"
	        "<li>Andel inden for fristen: opfyldte frister, hvor hændelsen ligger senest ved fristen, ud af alle "
	        "afgjorte frister (opfyldt eller overskredet). Frister, der stadig er åbne og ikke udløbet, er ikke "
	        "med.</li>\n"
	        "<li>Uden for åbningstid: modtaget uden for kommunens åbningstid på hverdage.</li>\n"
	        "<li>Åbne, overskredne frister: ikke opfyldt og udløbet ved opgørelsen; også kommunens egen frist for "
	        "tilbagemelding.</li>\n"
	        "</ul>\n</body>\n</html>\n");
	return proto_buf_take(&b, out, len);
}

int report_format(const struct report *r, enum report_format f, char **out, size_t *len)
{
	if (r == NULL || r->in == NULL || out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	switch (f) {
	case REPORT_JSON:
		return format_json(r, out, len);
	case REPORT_CSV:
		return format_csv(r, out, len);
	case REPORT_HTML:
		return format_html(r, out, len);
	}
	return VARSKO_ERR_BAD_INPUT;
}
