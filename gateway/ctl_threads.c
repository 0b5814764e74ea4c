/*
 * ctl_threads.c: `varskoctl threads purge`, the on-demand purge of thread
 * content (retention.h; docs/THREADS.md "Retention"). It opens the database
 * named by the configuration like every varskoctl command, also while
 * varskod runs: each thread is purged in its own BEGIN IMMEDIATE
 * transaction (WAL; a writer waits up to the store's busy timeout), and a
 * thread that became active meanwhile is left alone. Exit 0, 1 (failure,
 * message on stderr as "varskoctl: threads: <text> (<error name>)") or 2
 * (usage).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "proto.h"
#include "retention.h"
#include "store.h"
#include "varsko/err.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define BATCH      100    /* threads listed, then purged, per round */
#define DRY_MAX    100000 /* threads a dry run lists at most */

static const char usage_text[] =
	"usage: varskoctl [-c FILE] threads purge [--dry-run] [--older-than DAYS]\n"
	"\n"
	"Purge the content of every consultation thread without activity (no message\n"
	"and no membership change) for more than DAYS days (default: thread_retention_days\n"
	"of the configuration, 180 unless set; 0: everything inactive before now): its\n"
	"message envelopes and read marks are deleted, the thread row and its membership\n"
	"chain stay, and each purged thread gets one audit row (thread_purge) with its\n"
	"counts and bytes. Members then get the error purged for its messages. varskod\n"
	"does the same by itself every hour; this runs it now, also while varskod runs.\n"
	"One line per thread: its id, last activity (UTC), messages, bytes of their\n"
	"envelopes and read marks; then a total.\n"
	"  --dry-run          print what would be purged and change nothing\n"
	"  --older-than DAYS  the period without activity, 0..3650\n";

static int fail(int code, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(int code, int err, const char *fmt, ...)
{
	va_list ap;

	fputs("varskoctl: threads: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", varsko_err_name(err));
	if (code == EXIT_USAGE)
		fputs(usage_text, stderr);
	return code;
}

struct totals {
	const char *verb; /* "would purge" or "purged" */
	int64_t messages, bytes, marks;
};

static int print_row(const struct store_thread_purge *p, void *arg)
{
	struct totals *t = arg;
	char when[PROTO_TIME_LEN + 1];

	proto_time_format(p->last_activity, when);
	if (printf("%s %s last_activity=%s messages=%lld bytes=%lld marks=%lld\n", t->verb, p->thread, when,
	           (long long)p->messages, (long long)p->bytes, (long long)p->marks) < 0)
		return VARSKO_ERR_IO;
	t->messages += p->messages;
	t->bytes += p->bytes;
	t->marks += p->marks;
	return VARSKO_OK;
}

int ctl_threads(const char *cfgpath, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"older-than", required_argument, NULL, 'o'},
	        {NULL, 0, NULL, 0},
	};
	const char *older_s = NULL;
	char cerr[512], cutoff_s[PROTO_TIME_LEN + 1];
	struct totals tot = {"purged", 0, 0, 0};
	struct config cfg;
	struct store *s = NULL;
	int64_t now;
	size_t n = 0, all = 0;
	int c, r, dry = 0, days, code = EXIT_FAIL;

	memset(&cfg, 0, sizeof(cfg));
	/* argv[0] is "threads"; the subcommand comes first, its options after it. */
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
	}
	if (argc < 2 || strcmp(argv[1], "purge") != 0)
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "the threads command is: threads purge");
	argc--;
	argv++;
	optind = 0; /* full reset of glibc's getopt state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
		case 'n':
			dry = 1;
			break;
		case 'o':
			if (older_s != NULL)
				return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "--older-than is given twice");
			older_s = optarg;
			break;
		default:
			return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "unknown option or missing value");
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "purge takes no arguments, only options");
	if (older_s != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(older_s, &end, 10);
		if (older_s[0] < '0' || older_s[0] > '9' || errno != 0 || *end != '\0' || v > 3650)
			return fail(EXIT_USAGE, VARSKO_ERR_USAGE, "--older-than must be a number of days from 0 to 3650");
		days = (int)v;
	}
	if ((r = config_load(cfgpath, &cfg, cerr, sizeof(cerr))) != VARSKO_OK) {
		fail(EXIT_FAIL, r, "%s", cerr);
		goto out;
	}
	if (older_s == NULL)
		days = cfg.thread_retention_days;
	if ((r = store_open(&s, cfg.database, 0)) != VARSKO_OK) {
		fail(EXIT_FAIL, r, "cannot open the database");
		goto out;
	}
	now = (int64_t)time(NULL);
	proto_time_format(retention_cutoff(now, days), cutoff_s);
	if (dry) {
		tot.verb = "would purge";
		r = retention_purge(s, now, days, 1, DRY_MAX, "varskoctl", print_row, &tot, &all);
	} else {
		/* Round after round: a thread left alone (active again) is not listed again, so this ends. */
		do {
			r = retention_purge(s, now, days, 0, BATCH, "varskoctl", print_row, &tot, &n);
			all += n;
		} while (r == VARSKO_OK && n == BATCH);
	}
	if (r != VARSKO_OK) {
		fail(EXIT_FAIL, r, "%s after %zu thread(s)", dry ? "cannot list the threads" : "the purge failed", all);
		goto out;
	}
	if (printf("%s %zu thread(s) without activity since %s (%d days): %lld message(s), %lld bytes, %lld mark(s)%s\n",
	           tot.verb, all, cutoff_s, days, (long long)tot.messages, (long long)tot.bytes, (long long)tot.marks,
	           dry ? "; nothing was changed" : "") < 0 ||
	    fflush(stdout) != 0) {
		fail(EXIT_FAIL, VARSKO_ERR_IO, "cannot write");
		goto out;
	}
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}
