/*
 * ctl_deadline.c: `varskoctl deadline`. Parses its own options by hand (no
 * getopt, whose global state belongs to ctl.c), computes the deadlines with
 * calendar.c and prints them as one JSON object (jansson).
 */
#include "ctl_deadline.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "varsko/err.h"

#define EXIT_BAD_INPUT 1
#define EXIT_USAGE     2
#define SHOWN_MAX      40 /* bytes of an unknown option echoed in a message */

static const char usage_text[] = "usage: varskoctl deadline --received TIME [--investigation-started TIME]\n"
                                 "                          [--tilbagemelding-days N]\n"
                                 "\n"
                                 "Print the legal deadlines of an underretning received at TIME as one JSON\n"
                                 "object: received, vurdering_due (24 hours), kvittering_due (end of the 6th\n"
                                 "hverdag after the Copenhagen date of receipt), tilbagemelding_due (end of the\n"
                                 "day N calendar days after it, default 30) and, with --investigation-started,\n"
                                 "undersoegelse_due (end of the day 4 months after the start). TIME is RFC 3339\n"
                                 "with an offset, e.g. 2026-11-23T10:00:00+01:00 or 2026-11-23T09:00:00Z;\n"
                                 "output times are UTC. Years 1996..2099.\n";

static int fail(int exit_code, int err, const char *what, const char *message)
{
	fprintf(stderr, "varskoctl: %s%s%s (%s)\n", what ? what : "", what ? ": " : "", message, varsko_err_name(err));
	return exit_code;
}

/* An untrusted argument made safe to show: printable ASCII only, truncated. */
static void shown(const char *s, char out[SHOWN_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < SHOWN_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static int unknown_option(const char *arg)
{
	char buf[SHOWN_MAX + 4], msg[SHOWN_MAX + 64];

	shown(arg, buf);
	snprintf(msg, sizeof(msg), "unknown option or argument '%s'", buf);
	return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "deadline", msg);
}

/* A time option: RFC 3339 with an offset, in the calendar's years. */
static int parse_time(const char *opt, const char *value, int64_t *out)
{
	struct cal_local l;
	int r;

	if ((r = cal_parse_rfc3339(value, out)) != VARSKO_OK)
		return fail(EXIT_BAD_INPUT, r, opt,
		            "not an RFC 3339 time with an offset, e.g. 2026-11-23T10:00:00+01:00");
	if ((r = cal_to_local(*out, &l)) != VARSKO_OK)
		return fail(EXIT_BAD_INPUT, r, opt, "outside the calendar's years 1996..2099");
	return 0;
}

static int parse_days(const char *opt, const char *value, int *out)
{
	char *end;
	long v;

	errno = 0;
	if (value[0] < '0' || value[0] > '9')
		return fail(EXIT_BAD_INPUT, VARSKO_ERR_BAD_INPUT, opt, "not a whole number of days");
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > CAL_TILBAGEMELDING_DAYS_MAX)
		return fail(EXIT_BAD_INPUT, VARSKO_ERR_BAD_INPUT, opt, "not a number of days from 0 to 3650");
	*out = (int)v;
	return 0;
}

static int put_time(json_t *obj, const char *key, int64_t t)
{
	char buf[CAL_TIME_LEN + 1];

	if (cal_format_utc(t, buf) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	if (json_object_set_new(obj, key, json_string(buf)) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

/*
 * If argv[*i] is option `name`, store its value (from "--name=V" or the next
 * argument) in *value and return 1; return 0 if it is another option, or a
 * negative exit code (as -exit) after printing the error.
 */
static int take_option(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
		return 0;
	if (*value != NULL) {
		fail(EXIT_USAGE, VARSKO_ERR_USAGE, name, "given twice");
		return -EXIT_USAGE;
	}
	if (arg[n] == '=') {
		*value = arg + n + 1;
	} else if (*i + 1 < argc) {
		*value = argv[++*i];
	} else {
		fail(EXIT_USAGE, VARSKO_ERR_USAGE, name, "needs a value");
		return -EXIT_USAGE;
	}
	return 1;
}

int ctl_deadline(int argc, char **argv)
{
	const char *received_s = NULL, *started_s = NULL, *days_s = NULL;
	int64_t received, started = 0, due;
	int days = CAL_TILBAGEMELDING_DAYS_DEFAULT, i, r, rc;
	json_t *obj = NULL;
	char *text = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : fail(EXIT_BAD_INPUT, VARSKO_ERR_IO, NULL, "cannot write");
		}
		if ((r = take_option(argc, argv, &i, "--received", &received_s)) != 0 ||
		    (r = take_option(argc, argv, &i, "--investigation-started", &started_s)) != 0 ||
		    (r = take_option(argc, argv, &i, "--tilbagemelding-days", &days_s)) != 0) {
			if (r < 0)
				return -r;
			continue;
		}
		return unknown_option(argv[i]);
	}
	if (received_s == NULL)
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "deadline", "--received TIME is required");
	if ((rc = parse_time("--received", received_s, &received)) != 0)
		return rc;
	if (started_s != NULL && (rc = parse_time("--investigation-started", started_s, &started)) != 0)
		return rc;
	if (days_s != NULL && (rc = parse_days("--tilbagemelding-days", days_s, &days)) != 0)
		return rc;

	rc = EXIT_BAD_INPUT;
	if ((obj = json_object()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = put_time(obj, "received", received)) != VARSKO_OK)
		goto out;
	if ((r = cal_vurdering_due(received, &due)) != VARSKO_OK ||
	    (r = put_time(obj, "vurdering_due", due)) != VARSKO_OK)
		goto out;
	if ((r = cal_kvittering_due(received, &due)) != VARSKO_OK ||
	    (r = put_time(obj, "kvittering_due", due)) != VARSKO_OK)
		goto out;
	if ((r = cal_tilbagemelding_due(received, days, &due)) != VARSKO_OK ||
	    (r = put_time(obj, "tilbagemelding_due", due)) != VARSKO_OK)
		goto out;
	if (started_s != NULL && ((r = cal_undersoegelse_due(started, &due)) != VARSKO_OK ||
	                          (r = put_time(obj, "undersoegelse_due", due)) != VARSKO_OK))
		goto out;
	if ((text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (puts(text) == EOF || fflush(stdout) != 0) {
		r = VARSKO_ERR_IO;
		goto out;
	}
	rc = 0;
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		/* Only a deadline whose day falls after 2099 gets here with bad_input. */
		fail(rc, r, "deadline",
		     r == VARSKO_ERR_BAD_INPUT ? "a deadline falls outside the calendar's years 1996..2099"
		                               : varsko_err_text(r));
	}
	free(text);
	json_decref(obj);
	return rc;
}
