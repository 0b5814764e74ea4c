/*
 * ctl_report.c: `varskoctl report`, the ledelsestilsyn report (report.h;
 * docs/DEVELOPING.md "Deadlines and reports"). Reads the database named by
 * the configuration, computes the figures with report.c and writes JSON, CSV
 * or HTML to stdout. Exit 0, 1 (bad input or failure, message on stderr as
 * "varskoctl: report: <text> (<error name>)") or 2 (usage).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "report.h"
#include "store.h"
#include "store_deadline.h"
#include "varsko/err.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define SHOWN_MAX  40 /* bytes of an argument echoed in a message */

static const char usage_text[] = "usage: varskoctl [-c FILE] report --from DATE --to DATE [--team TEAM]\n"
                                 "                 --format json|csv|html [--now TIME]\n"
                                 "\n"
                                 "The ledelsestilsyn figures of the underretninger received from DATE to DATE\n"
                                 "(YYYY-MM-DD, Copenhagen days, both included), per team and in total: number\n"
                                 "received, median and 90th percentile (nearest rank) time to vurdering and to\n"
                                 "kvittering, share of vurderinger within 24 hours and kvitteringer within 6\n"
                                 "hverdage, share received outside office hours, and the open, overdue\n"
                                 "deadlines. --team TEAM: that team only. The report goes to stdout: json (one\n"
                                 "object), csv (a header row, one row per team, a total row) or html (one\n"
                                 "self-contained page with charts). --now TIME (RFC 3339 with an offset)\n"
                                 "evaluates open deadlines at TIME instead of the current time.\n"
                                 "See docs/DEVELOPING.md, \"Deadlines and reports\".\n";

static int fail(int code, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(int code, int err, const char *fmt, ...)
{
	va_list ap;

	fputs("varskoctl: report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", varsko_err_name(err));
	if (code == EXIT_USAGE)
		fputs(usage_text, stderr);
	return code;
}

/* An untrusted argument made safe to show: printable ASCII only, truncated. */
static const char *shown(const char *s, char out[SHOWN_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < SHOWN_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

int ctl_report(const char *cfgpath, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"from", required_argument, NULL, 'f'},
	        {"to", required_argument, NULL, 't'},
	        {"team", required_argument, NULL, 'T'},
	        {"format", required_argument, NULL, 'F'},
	        {"now", required_argument, NULL, 'n'},
	        {NULL, 0, NULL, 0},
	};
	const char *from_s = NULL, *to_s = NULL, *team = NULL, *format_s = NULL, *now_s = NULL;
	char buf[SHOWN_MAX + 4], cerr[512];
	struct report_input in;
	struct report rep;
	struct config cfg;
	struct store *s = NULL;
	enum report_format fmt;
	int64_t from_at, to_at;
	char *text = NULL;
	size_t len = 0;
	int c, r, code = EXIT_FAIL;

	report_input_init(&in);
	memset(&rep, 0, sizeof(rep));
	memset(&cfg, 0, sizeof(cfg));
	optind = 0; /* full reset of glibc's getopt state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		const char **slot;

		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
		case 'f':
			slot = &from_s;
			break;
		case 't':
			slot = &to_s;
			break;
		case 'T':
			slot = &team;
			break;
		case 'F':
			slot = &format_s;
			break;
		case 'n':
			slot = &now_s;
			break;
		default:
			return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "unknown option or missing value");
		}
		if (*slot != NULL)
			return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "an option is given twice");
		*slot = optarg;
	}
	if (optind != argc)
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "unexpected argument '%s'", shown(argv[optind], buf));
	if (from_s == NULL || to_s == NULL || format_s == NULL)
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "--from, --to and --format are required");
	if (strcmp(format_s, "json") == 0)
		fmt = REPORT_JSON;
	else if (strcmp(format_s, "csv") == 0)
		fmt = REPORT_CSV;
	else if (strcmp(format_s, "html") == 0)
		fmt = REPORT_HTML;
	else
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "--format must be json, csv or html, not '%s'",
		            shown(format_s, buf));

	/* Bad input: exit 1 with a clear message, before anything is opened. */
	if ((r = report_parse_date(from_s, &in.from)) != VARSKO_OK)
		return fail(EXIT_FAIL, r, "--from '%s' is not a date YYYY-MM-DD in the years %d..%d",
		            shown(from_s, buf), CAL_YEAR_MIN, CAL_YEAR_MAX);
	if ((r = report_parse_date(to_s, &in.to)) != VARSKO_OK)
		return fail(EXIT_FAIL, r, "--to '%s' is not a date YYYY-MM-DD in the years %d..%d", shown(to_s, buf),
		            CAL_YEAR_MIN, CAL_YEAR_MAX);
	if (report_period(&in.from, &in.to, &from_at, &to_at) != VARSKO_OK)
		return fail(EXIT_FAIL, VARSKO_ERR_BAD_INPUT, "--from %s is after --to %s", from_s, to_s);
	if (now_s != NULL) {
		if ((r = cal_parse_rfc3339(now_s, &in.now)) != VARSKO_OK)
			return fail(EXIT_FAIL, r,
			            "--now '%s' is not an RFC 3339 time with an offset, e.g. 2026-11-23T10:00:00+01:00",
			            shown(now_s, buf));
	} else {
		in.now = (int64_t)time(NULL);
	}
	if (team != NULL) {
		if (strlen(team) > PROTO_ID_MAX)
			return fail(EXIT_FAIL, VARSKO_ERR_NOT_FOUND, "no team '%s'", shown(team, buf));
		snprintf(in.team, sizeof(in.team), "%s", team);
	}

	if ((r = config_load(cfgpath, &cfg, cerr, sizeof(cerr))) != VARSKO_OK) {
		fail(EXIT_FAIL, r, "%s", cerr);
		goto out;
	}
	if ((r = store_open(&s, cfg.database, 0)) != VARSKO_OK) {
		fail(EXIT_FAIL, r, "cannot open the database");
		goto out;
	}
	if ((r = store_report_read(s, &in)) == VARSKO_ERR_NOT_FOUND) {
		fail(EXIT_FAIL, r, "no team '%s' (the teams are in the municipality document)", shown(team, buf));
		goto out;
	}
	if (r != VARSKO_OK) {
		fail(EXIT_FAIL, r, "cannot read the teams and underretninger");
		goto out;
	}
	if ((r = report_compute(&in, &rep)) != VARSKO_OK || (r = report_format(&rep, fmt, &text, &len)) != VARSKO_OK) {
		fail(EXIT_FAIL, r, "cannot make the report");
		goto out;
	}
	if (fwrite(text, 1, len, stdout) != len || (fmt == REPORT_JSON && putchar('\n') == EOF) ||
	    fflush(stdout) != 0) {
		fail(EXIT_FAIL, VARSKO_ERR_IO, "cannot write the report");
		goto out;
	}
	code = 0;
out:
	free(text);
	report_free(&rep);
	report_input_clear(&in);
	store_close(s);
	config_free(&cfg);
	return code;
}
