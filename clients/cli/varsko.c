/*
 * varsko: the command line for staff and intake workers (docs/FLOW.md,
 * "Command line").
 *
 *   varsko enroll --server URL --code CODE [--fingerprint FPR] [--label L]
 *   varsko whoami
 *   varsko device recover [--code CODE] | list | revoke DEVICE | request [--timeout S]
 *                | approve [--approval ID] [--code KODE] [--timeout S]
 *   varsko underret send FILE.json [--submission ID] | list | status REF
 *   varsko receipt verify FILE
 *   varsko myndighed inbox | show REF | vurder REF --akut ja|nej
 *                  | kvitter REF --besked TEKST
 *                  | tilbagemeld REF --iværksat ja|nej [--besked TEKST]
 *                  | omdiriger REF --team TEAM | afslut REF
 *   varsko leder overview | rapport [--fra DATO] [--til DATO]
 *   varsko team show TEAM | key TEAM | create TEAM LEDER | add TEAM USER | remove TEAM USER
 *               | leder-add TEAM USER | leder-remove TEAM USER
 *   varsko thread new --institution ID --title T [--anonym] [--member USER]... [--besked TEKST]
 *               | list | send ID TEKST | read ID [--before SEQ] | members ID
 *               | add ID USER | remove ID USER | leave ID
 *   varsko watch [--count N] [--timeout S]
 *
 * Every command takes --home DIR (default $VARSKO_HOME, then
 * ~/.config/varsko), --ca FILE (default $VARSKO_CA, then the copy in the
 * home), --json (one JSON object on stdout, for programs) and --help.
 * Texts for people are Danish. An error goes to stderr as two lines: the
 * Danish text of its code with what to do next (clients/catalogue/da.json,
 * varsko_text()), then "varsko: detaljer: <detail> (kode: <error name>)" for
 * support. Exit status: 0 done, 1 refused or failed, 2 usage, 3 the server
 * could not be reached (connect, timeout, closed, unavailable: worth trying
 * again), so that scripts can tell a retryable failure from a refusal.
 *
 * Everything that touches keys, plaintext or the network is libvarsko; this
 * file parses arguments and prints. Plaintext it gets (a document, a
 * message) is printed from the library's buffers and wiped with them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <varsko/varsko.h>

#include "calendar.h"
#include "file.h"

#define EXIT_USAGE       2
#define EXIT_UNREACHABLE 3 /* the server could not be reached: try again later */
#define DOC_PROBLEMS_SHOWN 20 /* problems of a document listed at most */
#define DOC_FILE_MAX (1024 * 1024) /* read at most this much of a document file (the library's limit is lower) */

/* ---- options --------------------------------------------------------------------- */

enum opt_bit {
	O_SERVER = 1 << 0,
	O_CODE = 1 << 1,
	O_FPR = 1 << 2,
	O_LABEL = 1 << 3,
	O_SUBMISSION = 1 << 4,
	O_AKUT = 1 << 5,
	O_BESKED = 1 << 6,
	O_IVAERKSAT = 1 << 7,
	O_TEAM = 1 << 8,
	O_COUNT = 1 << 9,
	O_TIMEOUT = 1 << 10,
	O_APPROVAL = 1 << 11,
	O_INSTITUTION = 1 << 12,
	O_TITLE = 1 << 13,
	O_ANONYM = 1 << 14,
	O_MEMBER = 1 << 15,
	O_BEFORE = 1 << 16,
	O_FILE = 1 << 17,
	O_OUT = 1 << 18,
	O_TRAAD = 1 << 19,
	O_MEDTAG = 1 << 20,
	O_BILAG = 1 << 21,
	O_FRA = 1 << 22,
	O_TIL = 1 << 23,
	O_ONE_MORE = 1 << 30, /* no option: the command takes one optional positional argument after its npos */
};

#define MEMBERS_MAX 63 /* --member users of one new thread (a thread has at most 64) */
#define MEDTAG_MAX  32 /* --medtag messages carried over into one template */
#define BILAG_MAX   16 /* --bilag files of one underretning (PROTOCOL.md 11.3) */

struct opts {
	const char *home, *ca;
	int json;
	const char *server, *code, *fpr, *label, *submission, *besked, *team, *approval;
	const char *institution, *title;
	int anonym;
	const char *members[MEMBERS_MAX];
	size_t n_members;
	long long before; /* --before SEQ, 0 when not given */
	const char *file, *out; /* --file PATH, --out PATH */
	const char *traad;      /* --traad ID: the thread an underretning is made from */
	long long medtag[MEDTAG_MAX]; /* --medtag SEQ: the messages carried over into the template */
	size_t n_medtag;
	const char *bilag[BILAG_MAX]; /* --bilag FILE: the underretning's attachments */
	size_t n_bilag;
	int doc_akut;        /* underret send: 1 when the document is marked akut (for the advice when unreachable) */
	int akut, ivaerksat; /* -1 when not given */
	long count;          /* -1 when not given */
	long timeout;        /* seconds, -1 when not given */
	const char *pos[2];
	int npos;
	const char *fra, *til; /* --fra DATO, --til DATO: a report's period (YYYY-MM-DD) */
};

struct command {
	const char *group; /* "underret", "myndighed", ... or NULL for a one-word command */
	const char *name;
	unsigned allowed; /* enum opt_bit */
	int npos;         /* positional arguments required */
	const char *usage;
	int (*run)(const struct command *cmd, struct opts *o);
};

static const char common_help[] = "\n"
                                  "  --home DIR   this device's home (default $VARSKO_HOME, then ~/.config/varsko)\n"
                                  "  --ca FILE    CA certificate (PEM) of the server (default $VARSKO_CA, then the\n"
                                  "               copy kept in the home at enrollment)\n"
                                  "  --json       print one JSON object on stdout (for programs)\n"
                                  "  --help       show this help\n";

static void cmd_name(const struct command *cmd, char *out, size_t cap)
{
	if (cmd->group != NULL)
		snprintf(out, cap, "%s %s", cmd->group, cmd->name);
	else
		snprintf(out, cap, "%s", cmd->name);
}

static int usage_error(const struct command *cmd, const char *msg)
{
	char name[64];

	/* The catalogue's text, what was wrong, then where the right form is and the code. */
	fprintf(stderr, "varsko: %s Det drejer sig om: %s\n", varsko_text(VARSKO_ERR_USAGE), msg);
	if (cmd != NULL)
		cmd_name(cmd, name, sizeof(name));
	else
		name[0] = '\0';
	fprintf(stderr, "varsko: %s Prøv: varsko %s%s--help (kode: %s)\n", varsko_next_step(VARSKO_ERR_USAGE), name,
	        name[0] != '\0' ? " " : "", varsko_strerrname(VARSKO_ERR_USAGE));
	return EXIT_USAGE;
}

/* The exit status of a failure with code err (see the top of this file). */
static int exit_status_of(int err)
{
	switch (err) {
	case VARSKO_ERR_CONNECT:
	case VARSKO_ERR_TIMEOUT:
	case VARSKO_ERR_CLOSED:
	case VARSKO_ERR_UNAVAILABLE:
		return EXIT_UNREACHABLE;
	default:
		return EXIT_FAILURE;
	}
}

/* An error for people on stderr: the Danish text and next step, then the detail and code for support. */
static void report(int err, const char *detail)
{
	const char *next = varsko_next_step(err);

	fprintf(stderr, "varsko: %s%s%s\n", varsko_text(err), next[0] != '\0' ? " " : "", next);
	fprintf(stderr, "varsko: detaljer: %s (kode: %s)\n",
	        detail != NULL && detail[0] != '\0' ? detail : varsko_strerror(err), varsko_strerrname(err));
}

/*
 * Every problem of a document that is not sent, one per line in Danish with
 * the field and its right form, then the code for support. Never a value.
 */
static void print_document_problems(int err, const struct varsko_doc_problem *p, size_t n)
{
	char line[600];

	fprintf(stderr, "varsko: Underretningen er ikke sendt: dokumentet er ikke gyldigt (%zu %s). Ret og send igen:\n",
	        n, n == 1 ? "fejl" : "fejl");
	for (size_t i = 0; i < n && i < DOC_PROBLEMS_SHOWN; i++)
		fprintf(stderr, "  - %s (%s)\n", varsko_document_problem_text(&p[i], line, sizeof(line)), p[i].problem);
	if (n > DOC_PROBLEMS_SHOWN)
		fprintf(stderr, "  ... og %zu mere.\n", n - DOC_PROBLEMS_SHOWN);
	fprintf(stderr, "varsko: 'varsko underret skabelon' viser et dokument med alle felter. (kode: %s)\n",
	        varsko_strerrname(err));
}

static int fail(int err, const char *detail)
{
	report(err, detail);
	return exit_status_of(err);
}

/* "ja"/"nej" (and the English and boolean spellings a script may use). */
static int parse_yes_no(const char *s)
{
	if (strcmp(s, "ja") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "nej") == 0 || strcmp(s, "no") == 0 || strcmp(s, "false") == 0)
		return 0;
	return -1;
}

static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(const struct command *cmd, int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
	        {"home", required_argument, NULL, 'H'},
	        {"ca", required_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {"server", required_argument, NULL, 's'},
	        {"code", required_argument, NULL, 'c'},
	        {"fingerprint", required_argument, NULL, 'f'},
	        {"label", required_argument, NULL, 'l'},
	        {"submission", required_argument, NULL, 'S'},
	        {"akut", required_argument, NULL, 'k'},
	        {"besked", required_argument, NULL, 'b'},
	        {"iværksat", required_argument, NULL, 'i'},
	        {"ivaerksat", required_argument, NULL, 'i'},
	        {"team", required_argument, NULL, 't'},
	        {"count", required_argument, NULL, 'n'},
	        {"timeout", required_argument, NULL, 'T'},
	        {"approval", required_argument, NULL, 'A'},
	        {"institution", required_argument, NULL, 'I'},
	        {"title", required_argument, NULL, 'W'},
	        {"anonym", no_argument, NULL, 'Y'},
	        {"member", required_argument, NULL, 'M'},
	        {"before", required_argument, NULL, 'B'},
	        {"file", required_argument, NULL, 'F'},
	        {"out", required_argument, NULL, 'O'},
	        {"traad", required_argument, NULL, 'R'},
	        {"medtag", required_argument, NULL, 'G'},
	        {"bilag", required_argument, NULL, 'L'},
	        {"fra", required_argument, NULL, 'D'},
	        {"til", required_argument, NULL, 'E'},
	        {NULL, 0, NULL, 0},
	};
	static const struct {
		int ch;
		unsigned bit;
	} bits[] = {
	        {'s', O_SERVER},     {'c', O_CODE},  {'f', O_FPR},     {'l', O_LABEL},
	        {'S', O_SUBMISSION}, {'k', O_AKUT},  {'b', O_BESKED},  {'i', O_IVAERKSAT},
	        {'t', O_TEAM},       {'n', O_COUNT}, {'T', O_TIMEOUT}, {'A', O_APPROVAL},
	        {'I', O_INSTITUTION}, {'W', O_TITLE}, {'Y', O_ANONYM}, {'M', O_MEMBER},
	        {'B', O_BEFORE},     {'F', O_FILE},  {'O', O_OUT},     {'R', O_TRAAD},
	        {'G', O_MEDTAG},     {'L', O_BILAG},
	        {'D', O_FRA},        {'E', O_TIL},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->akut = o->ivaerksat = -1;
	o->count = o->timeout = -1;
	o->home = getenv("VARSKO_HOME");
	o->ca = getenv("VARSKO_CA");
	opterr = 0;
	optind = 0; /* glibc: start afresh (main() parsed with "+"); options and arguments may mix */
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (bits[i].ch == c && (cmd->allowed & bits[i].bit) == 0)
				return usage_error(cmd, "kommandoen tager ikke det tilvalg");
		switch (c) {
		case 'H':
			o->home = optarg;
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			fputs(common_help, stdout);
			return -1;
		case 's':
			o->server = optarg;
			break;
		case 'c':
			o->code = optarg;
			break;
		case 'f':
			o->fpr = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'S':
			o->submission = optarg;
			break;
		case 'k':
			if ((o->akut = parse_yes_no(optarg)) < 0)
				return usage_error(cmd, "--akut tager ja eller nej");
			break;
		case 'b':
			o->besked = optarg;
			break;
		case 'i':
			if ((o->ivaerksat = parse_yes_no(optarg)) < 0)
				return usage_error(cmd, "--iværksat tager ja eller nej");
			break;
		case 't':
			o->team = optarg;
			break;
		case 'A':
			o->approval = optarg;
			break;
		case 'I':
			o->institution = optarg;
			break;
		case 'W':
			o->title = optarg;
			break;
		case 'Y':
			o->anonym = 1;
			break;
		case 'M':
			if (o->n_members == MEMBERS_MAX)
				return usage_error(cmd, "for mange --member (en tråd har højst 64 medlemmer)");
			o->members[o->n_members++] = optarg;
			break;
		case 'B': {
			long v;

			if (parse_count(optarg, 9223372036854775807L, &v) != 0 || v == 0)
				return usage_error(cmd, "--before tager et beskednummer fra 1");
			o->before = v;
			break;
		}
		case 'F':
			o->file = optarg;
			break;
		case 'O':
			o->out = optarg;
			break;
		case 'R':
			o->traad = optarg;
			break;
		case 'L':
			if (o->n_bilag == BILAG_MAX)
				return usage_error(cmd, "højst 16 --bilag");
			o->bilag[o->n_bilag++] = optarg;
			break;
		case 'G': {
			long v;

			if (o->n_medtag == MEDTAG_MAX)
				return usage_error(cmd, "højst 32 --medtag");
			if (parse_count(optarg, 9223372036854775807L, &v) != 0 || v == 0)
				return usage_error(cmd, "--medtag tager et beskednummer fra 1");
			o->medtag[o->n_medtag++] = v;
			break;
		}
		case 'D':
		case 'E': {
			struct cal_date d;

			if (cal_parse_date(optarg, strlen(optarg), &d) != VARSKO_OK)
				return usage_error(cmd, c == 'D' ? "--fra tager en dato ÅÅÅÅ-MM-DD, fx 2026-10-01"
				                                 : "--til tager en dato ÅÅÅÅ-MM-DD, fx 2026-10-31");
			*(c == 'D' ? &o->fra : &o->til) = optarg;
			break;
		}
		case 'n':
			if (parse_count(optarg, 1000000, &o->count) != 0 || o->count == 0)
				return usage_error(cmd, "--count tager et tal fra 1");
			break;
		case 'T':
			if (parse_count(optarg, 86400 * 365, &o->timeout) != 0)
				return usage_error(cmd, "--timeout tager sekunder (0 eller flere)");
			break;
		case ':':
			return usage_error(cmd, "et tilvalg mangler sin værdi");
		default:
			return usage_error(cmd, "ukendt tilvalg");
		}
	}
	if (argc - optind < cmd->npos || argc - optind > cmd->npos + ((cmd->allowed & O_ONE_MORE) != 0))
		return usage_error(cmd, cmd->npos == 0 && (cmd->allowed & O_ONE_MORE) == 0
		                                ? "kommandoen tager ingen argumenter ud over sine tilvalg"
		                                : "forkert antal argumenter");
	for (int i = 0; i < argc - optind; i++)
		o->pos[o->npos++] = argv[optind + i];
	if (o->home != NULL && o->home[0] == '\0')
		o->home = NULL;
	if (o->ca != NULL && o->ca[0] == '\0')
		o->ca = NULL;
	return 0;
}

/* The number of characters of UTF-8 text s (å and ø are one). */
static int text_width(const char *s)
{
	int n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * A table whose columns are as wide as their widest cell (header included)
 * plus two spaces, so that no long name or id runs into the next column;
 * the last column is not padded. Cells are copied.
 */
#define TABLE_COLS 8
struct table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row by row */
	int width[TABLE_COLS];
};

static int table_row(struct table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (c == NULL)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t k = 0; k < t->ncols; k++) {
		char *v = strdup(row[k] != NULL ? row[k] : "?");

		if (v == NULL) {
			for (size_t j = 0; j < k; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			return -1;
		}
		t->cells[t->nrows * t->ncols + k] = v;
		if (text_width(v) > t->width[k])
			t->width[k] = text_width(v);
	}
	t->nrows++;
	return 0;
}

/* A table of ncols columns whose first row is head (NULL: no header row). */
static int table_init(struct table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TABLE_COLS ? ncols : TABLE_COLS;
	return head != NULL ? table_row(t, head) : 0;
}

/* Print every row (indented by `indent` spaces; indent < 0: print nothing) and free the table. */
static void table_print_free(struct table *t, int indent)
{
	for (size_t i = 0; i < t->nrows; i++) {
		if (indent >= 0)
			printf("%*s", indent, "");
		for (size_t k = 0; k < t->ncols; k++) {
			const char *v = t->cells[i * t->ncols + k];

			if (indent >= 0) {
				fputs(v, stdout);
				if (k + 1 < t->ncols)
					printf("%*s", t->width[k] - text_width(v) + 2, "");
			}
			free(t->cells[i * t->ncols + k]);
		}
		if (indent >= 0)
			putchar('\n');
	}
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- names (the municipality's directory kept in the home, PROTOCOL.md 12.7) ---------- */

static json_t *directory; /* {"institutions":[..],"teams":[..],"akut_team"?}, or NULL when the home has none */

/* Read the directory kept in the home, once. Without one, ids are shown as they are. */
static void directory_load(struct varsko_home *h)
{
	char *json = NULL;

	if (directory != NULL || h == NULL)
		return;
	if (varsko_directory_cached(h, &json) == VARSKO_OK)
		directory = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	varsko_free(json);
}

/* The entry of `list` ("institutions" or "teams") with this id, or NULL. */
static json_t *directory_entry(const char *list, const char *id)
{
	size_t i;
	json_t *e;

	if (id == NULL)
		return NULL;
	json_array_foreach(json_object_get(directory, list), i, e)
	{
		const char *eid = json_string_value(json_object_get(e, "id"));

		if (eid != NULL && strcmp(eid, id) == 0)
			return e;
	}
	return NULL;
}

/* The name of an institution or team for people; its id when the directory does not know it. */
static const char *directory_name(const char *list, const char *id)
{
	const char *name = json_string_value(json_object_get(directory_entry(list, id), "name"));

	return name != NULL ? name : id != NULL ? id : "?";
}

static const char *team_name(const char *id)
{
	return directory_name("teams", id);
}

static const char *inst_name(const char *id)
{
	return directory_name("institutions", id);
}

/* ---- small helpers ------------------------------------------------------------------ */

static int open_home(const struct opts *o, struct varsko_home **h)
{
	int r = varsko_home_open(o->home, h);

	if (r != VARSKO_OK)
		return fail(r, r == VARSKO_ERR_CONFIG ? "the home must be a directory of yours with mode 0700"
		                                      : "cannot open the home directory");
	return EXIT_SUCCESS;
}

/*
 * A failure to reach the server, for people: the Danish text of the code,
 * the address and whether it is the network, the certificate or the server
 * with what to do (instead of the code's general next step); then whom to
 * phone about an akut case, with the akut team's number from the
 * municipality document kept in the home at the last login (for an akut
 * underretning that could not be sent, o->doc_akut: that it is not sent and
 * to phone first); then the detail and the code for support. Any other
 * failure is report()ed as it is.
 */
static int fail_unreachable(int err, const char *detail, struct varsko_home *h, const struct opts *o)
{
	const char *akut_team, *phone;
	char why[1024], advice[512], saved[512], *url = NULL;
	json_t *team;

	/* detail may be the home's own buffer, which the calls below overwrite. */
	snprintf(saved, sizeof(saved), "%s", detail != NULL ? detail : "");
	detail = saved;
	if (h == NULL || varsko_home_server(h, &url) != VARSKO_OK)
		url = NULL;
	if (varsko_unreachable_text(err, detail, url, why, sizeof(why)) == VARSKO_REACH_NONE) {
		free(url);
		return fail(err, detail);
	}
	free(url);
	fprintf(stderr, "varsko: %s %s\n", varsko_text(err), why);
	directory_load(h);
	akut_team = json_string_value(json_object_get(directory, "akut_team"));
	team = directory_entry("teams", akut_team);
	phone = json_string_value(json_object_get(team, "phone"));
	fprintf(stderr, "varsko: %s\n",
	        varsko_akut_advice(o != NULL && o->doc_akut == 1, team != NULL ? team_name(akut_team) : NULL, phone,
	                           advice, sizeof(advice)));
	fprintf(stderr, "varsko: detaljer: %s (kode: %s)\n",
	        detail != NULL && detail[0] != '\0' ? detail : varsko_strerror(err), varsko_strerrname(err));
	return exit_status_of(err);
}

/* Open the home and log in. */
/*
 * Tell the user, on stderr, about devices added to their user since this
 * device last looked (a new device shows on the others, as messengers show
 * a changed safety number). A user chain the server shows shortened or
 * changed is refused: nothing else is done on this connection.
 */
static void print_recovery_code(FILE *f, const char *code);
static void show_time(const char *utc, char out[VARSKO_LOCAL_LEN + 1]);

static int device_notices(struct varsko_conn *conn)
{
	char *json = NULL;
	json_t *arr, *v;
	size_t i;
	int r;

	if ((r = varsko_device_notices(conn, &json)) != VARSKO_OK)
		return fail(r, varsko_conn_detail(conn));
	arr = json_loads(json, 0, NULL);
	json_array_foreach(arr, i, v)
	{
		const char *dev = json_string_value(json_object_get(v, "device"));
		const char *added = json_string_value(json_object_get(v, "added"));
		const char *code = json_string_value(json_object_get(v, "recovery_code"));
		char when[VARSKO_LOCAL_LEN + 1];

		if (json_is_true(json_object_get(v, "rotated")) && code != NULL) {
			fprintf(stderr,
			        "Bemærk: enheden %s er tilbagekaldt af din it-afdeling. Din brugernøgle er derfor\n"
			        "skiftet fra denne enhed, så intet nyt til dig kan læses på den tilbagekaldte.\n",
			        dev ? dev : "?");
			print_recovery_code(stderr, code);
			continue;
		}
		show_time(added, when);
		fprintf(stderr,
		        "Bemærk: en ny enhed er føjet til din bruger: %s (tilføjet %s)%s.\n"
		        "Var det ikke dig, så kontakt straks din it-afdeling. 'varsko device list' viser dine "
		        "enheder.\n",
		        dev ? dev : "?", when,
		        json_is_true(json_object_get(v, "certified")) ? "" : ", uden gyldigt certifikat");
	}
	json_decref(arr);
	varsko_free(json);
	return EXIT_SUCCESS;
}

static int connect_home(const struct opts *o, struct varsko_home **h, struct varsko_conn **conn)
{
	int rc, r;

	*conn = NULL;
	if ((rc = open_home(o, h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_connect(*h, o->ca, conn)) != VARSKO_OK)
		return fail_unreachable(r, varsko_home_detail(*h), *h, o);
	if ((rc = device_notices(*conn)) != EXIT_SUCCESS)
		return rc;
	/*
	 * The names of the municipality document, fresh at every login. When the
	 * server does not answer it (an older varskod) the copy kept before stays;
	 * a broken connection shows in the command itself.
	 */
	if (varsko_directory_refresh(*conn, NULL) != VARSKO_OK) {
		/* keep the copy of an earlier login */
	}
	directory_load(*h);
	return EXIT_SUCCESS;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void local_time(int64_t t, char out[VARSKO_LOCAL_LEN + 1])
{
	(void)varsko_local_format(t, out);
}

static void utc_time(int64_t t, char out[32])
{
	_Static_assert(32 > CAL_TIME_LEN, "room for a UTC time");
	if (cal_format_utc(t, out) != VARSKO_OK)
		snprintf(out, 32, "%lld", (long long)t);
}

/* Print s left-aligned in a column of `width` characters (UTF-8 aware: å and ø are one character). */
static void col(const char *s, int width)
{
	int n = text_width(s);

	fputs(s, stdout);
	for (; n < width; n++)
		putchar(' ');
}

/* Parse an RFC 3339 time the server wrote ("YYYY-MM-DDTHH:MM:SSZ") into local Danish text. */
static void show_time(const char *utc, char out[VARSKO_LOCAL_LEN + 1])
{
	int64_t t;

	if (utc == NULL || cal_parse_rfc3339(utc, &t) != VARSKO_OK) {
		snprintf(out, VARSKO_LOCAL_LEN + 1, "%s", utc != NULL ? utc : "?");
		return;
	}
	local_time(t, out);
}

/* The step's Danish name, from the catalogue (shared with the web client). */
static const char *step_label(const char *step)
{
	return varsko_step_label(step);
}

static const char *role_label(const char *role)
{
	if (strcmp(role, "gateway") == 0)
		return "varskod";
	if (strcmp(role, "agent") == 0)
		return "fagsystem";
	return role;
}

static int print_json_obj(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (text == NULL)
		return fail(VARSKO_ERR_NOMEM, NULL);
	printf("%s\n", text);
	free(text);
	return EXIT_SUCCESS;
}

/* ---- enroll, whoami ------------------------------------------------------------- */

/* "Name (id)" of an institution or team the directory knows, else the id (whoami: names and ids both). */
static void print_named(const char *sep, const char *list, const char *id)
{
	const char *name = directory_name(list, id);

	if (strcmp(name, id) != 0)
		printf("%s%s (%s)", sep, name, id);
	else
		printf("%s%s", sep, id);
}

static void print_institutions(const struct varsko_identity *id)
{
	if (id->n_institutions == 0)
		printf("-");
	for (size_t i = 0; i < id->n_institutions; i++)
		print_named(i > 0 ? ", " : "", "institutions", id->institutions[i]);
	printf("\n");
}

static json_t *identity_obj(const struct varsko_identity *id, const char *fpr)
{
	json_t *o, *inst = json_array();
	char expires[32];

	utc_time(id->not_after, expires);
	for (size_t i = 0; inst != NULL && i < id->n_institutions; i++)
		json_array_append_new(inst, json_string(id->institutions[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:o*, s:s, s:s}", "user", id->user, "name", id->name, "role", id->role,
	              "team", id->team, "institutions", inst, "device", id->device, "not_after", expires);
	if (o != NULL && fpr != NULL)
		json_object_set_new(o, "org_fingerprint", json_string(fpr));
	return o;
}

/* ---- the user key ------------------------------------------------------------------------- */

/*
 * The outcome of varsko_user_setup() for people and programs: a new
 * recovery code is shown once (and put in the JSON as "recovery_code").
 */
struct setup_result {
	int r;       /* varsko_user_setup()'s result */
	int created; /* a new recovery code in code */
	char code[VARSKO_RECOVERY_CODE_LEN + 1];
	char detail[512];
};

static void run_setup(struct varsko_conn *conn, struct setup_result *s)
{
	memset(s, 0, sizeof(*s));
	s->r = varsko_user_setup(conn, s->code, &s->created);
	snprintf(s->detail, sizeof(s->detail), "%s", varsko_conn_detail(conn));
}

/* Zero n bytes in a way the compiler keeps (a recovery code after it was shown). */
static void wipe_bytes(void *v, size_t n)
{
	volatile char *p = (volatile char *)v;

	for (size_t i = 0; i < n; i++)
		p[i] = 0;
}

static void setup_wipe(struct setup_result *s)
{
	wipe_bytes(s->code, sizeof(s->code));
}

static void print_recovery_code(FILE *f, const char *code)
{
	fprintf(f, "\nDin gendannelseskode (vises kun denne ene gang – skriv den ned og gem den et sikkert sted):\n");
	fprintf(f, "\n    %s\n\n", code);
	fprintf(f, "Med koden kan du give en ny enhed din brugernøgle, hvis du mister dine enheder\n");
	fprintf(f, "(varsko device recover). Koden gemmes ingen steder, heller ikke på serveren.\n");
}

static void print_not_cross_signed(const char *user)
{
	printf("Enheden er tilmeldt, men endnu ikke godkendt som enhed for brugeren %s: den har\n", user);
	printf("ikke brugernøglen endnu. Godkend den med din gendannelseskode:\n");
	printf("    varsko device recover\n");
	printf("eller fra en anden af dine enheder: kør 'varsko device request' her og\n");
	printf("'varsko device approve' på den anden enhed.\n");
}

/* For the JSON of enroll and whoami: "user_key_state", and "recovery_code" when one was made. */
static void setup_to_json(json_t *o, const struct setup_result *s)
{
	const char *state = s->r == VARSKO_OK                     ? "ok"
	                    : s->r == VARSKO_ERR_NOT_CROSS_SIGNED ? "not_cross_signed"
	                                                          : "failed";

	json_object_set_new(o, "user_key_state", json_string(state));
	if (s->r != VARSKO_OK && s->r != VARSKO_ERR_NOT_CROSS_SIGNED) {
		json_object_set_new(o, "user_key_error", json_string(varsko_strerrname(s->r)));
		json_object_set_new(o, "user_key_detail", json_string(s->detail));
	}
	if (s->created)
		json_object_set_new(o, "recovery_code", json_string(s->code));
}

/* Print a JSON object and wipe it: it may hold a recovery code. */
static int print_json_secret(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n;

	if (text == NULL)
		return fail(VARSKO_ERR_NOMEM, NULL);
	printf("%s\n", text);
	fflush(stdout);
	n = strlen(text);
	for (volatile char *p = text; n > 0; n--)
		*p++ = 0;
	free(text);
	return EXIT_SUCCESS;
}

static int run_enroll(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_enroll_info info;
	struct setup_result su;
	json_t *jo = NULL;
	int r, rc, org_refused = 0;

	memset(&su, 0, sizeof(su));
	if (o->server == NULL || o->code == NULL)
		return usage_error(cmd, "enroll kræver --server og --code");
	if (o->ca == NULL)
		return usage_error(cmd, "enroll kræver serverens CA: --ca FIL eller VARSKO_CA");
	if ((rc = open_home(o, &h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_enroll(h, o->server, o->code, o->ca, o->fpr, o->label, &info)) != VARSKO_OK) {
		rc = fail(r, varsko_home_detail(h));
		goto out;
	}
	/* The device is enrolled and stays so; now its user key (PROTOCOL.md 15.1). */
	if ((r = varsko_connect(h, o->ca, &conn)) != VARSKO_OK) {
		su.r = r;
		/* The first login verifies the org chain (PROTOCOL.md 16.2): bad_chain there is the root's no. */
		org_refused = r == VARSKO_ERR_BAD_CHAIN;
		snprintf(su.detail, sizeof(su.detail), "%s", varsko_home_detail(h));
	} else {
		run_setup(conn, &su);
		/* The first login keeps the municipality's names too (as every login does: connect_home). */
		if (varsko_directory_refresh(conn, NULL) == VARSKO_OK)
			directory_load(h);
	}
	if (o->json) {
		if ((jo = identity_obj(&info.identity, info.org_fingerprint)) == NULL) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		setup_to_json(jo, &su);
		/* The enrollment stands whatever the setup did: "user_key_state" says how that went. */
		rc = print_json_secret(jo);
		/* ... except when the organisation root does not vouch for the key it was made with. */
		if (org_refused)
			rc = EXIT_FAILURE;
		goto out;
	}
	printf("Enheden er tilmeldt: %s\n", info.identity.device);
	printf("bruger:        %s (%s)\n", info.identity.user, info.identity.name);
	printf("rolle:         %s\n", info.identity.role);
	if (info.identity.team[0] != '\0') {
		printf("team:          ");
		print_named("", "teams", info.identity.team);
		printf("\n");
	}
	if (info.identity.n_institutions > 0) {
		printf("institutioner: ");
		print_institutions(&info.identity);
	}
	printf("hjemmemappe:   %s\n", varsko_home_path(h));
	printf("Kommunens nøgle har fingeraftrykket %s\n", info.org_fingerprint);
	if (o->fpr != NULL)
		printf("Det passer med det fingeraftryk, der blev givet med --fingerprint.\n");
	else
		printf("Sammenlign det med fingeraftrykket, der stod sammen med din kode.\n");
	rc = EXIT_SUCCESS;
	if (su.r == VARSKO_OK && su.created) {
		printf("Din brugernøgle er lavet (generation 1), og enheden har den.\n");
		print_recovery_code(stdout, su.code);
	} else if (su.r == VARSKO_OK) {
		printf("Enheden har din brugernøgle.\n");
	} else if (su.r == VARSKO_ERR_NOT_CROSS_SIGNED) {
		print_not_cross_signed(info.identity.user);
	} else if (org_refused) {
		fflush(stdout);
		report(su.r, su.detail);
		fprintf(stderr, "Kommunens organisationskæde, verificeret fra rodnøglen, godkender ikke den nøgle,\n"
		                "serveren tilmeldte enheden med. Enheden bruges ikke, og intet mere er sendt.\n"
		                "Kontakt administratoren.\n");
		rc = EXIT_FAILURE;
	} else {
		fflush(stdout);
		report(su.r, su.detail);
		fprintf(stderr, "Tilmeldingen står ved magt, men din brugernøgle kunne ikke sættes op.\n"
		                "Kør 'varsko whoami' for at gøre det færdigt.\n");
	}
out:
	fflush(stdout);
	setup_wipe(&su);
	json_decref(jo);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* The user's devices as varsko_user_devices() gives them (parsed), or NULL with the failure printed. */
static json_t *user_devices(struct varsko_conn *conn, int *rc)
{
	char *text = NULL;
	json_t *d;
	int r;

	if ((r = varsko_user_devices(conn, &text)) != VARSKO_OK) {
		*rc = fail(r, varsko_conn_detail(conn));
		return NULL;
	}
	d = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	varsko_free(text);
	if (d == NULL)
		*rc = fail(VARSKO_ERR_NOMEM, NULL);
	return d;
}

static const char *devices_state(const json_t *d)
{
	const char *s = json_string_value(json_object_get(d, "state"));

	return s != NULL ? s : "";
}

static void print_devices(const json_t *d)
{
	size_t i;
	const json_t *e;
	const json_t *arr = json_object_get(d, "devices");

	if (json_array_size(arr) == 0) {
		printf("  (ingen: brugeren har ingen brugernøgle endnu)\n");
		return;
	}
	json_array_foreach(arr, i, e)
	{
		const char *dev = json_string_value(json_object_get(e, "device"));
		const char *added = json_string_value(json_object_get(e, "added"));
		char when[VARSKO_LOCAL_LEN + 1];

		show_time(added, when);
		printf("  %s  tilføjet %s", dev != NULL ? dev : "?", when);
		if (json_is_true(json_object_get(e, "this")))
			printf("  (denne enhed)");
		if (json_is_true(json_object_get(e, "revoked")))
			printf("  tilbagekaldt");
		else if (!json_is_true(json_object_get(e, "certified")))
			printf("  uden gyldigt certifikat");
		else if (!json_is_true(json_object_get(e, "key_box")))
			printf("  har ikke brugernøglen");
		printf("\n");
	}
}

static void print_user_key_state(const json_t *d, uint64_t gen)
{
	const char *st = devices_state(d);
	const char *user = json_string_value(json_object_get(d, "user"));

	if (gen > 0)
		printf("brugernøgle:   generation %llu (enheden har den)\n", (unsigned long long)gen);
	else if (strcmp(st, "none") == 0)
		printf("brugernøgle:   ingen endnu\n");
	else if (strcmp(st, "not_cross_signed") == 0)
		printf("brugernøgle:   enheden er ikke godkendt for brugeren %s endnu (varsko device recover)\n",
		       user != NULL ? user : "brugerens");
	else if (strcmp(st, "revoked") == 0)
		printf("brugernøgle:   enheden er tilbagekaldt\n");
	else
		printf("brugernøgle:   enheden har ikke brugernøglen\n");
}

/*
 * "underret skabelon": a document with every field, its values saying in
 * Danish what to write. Its placeholders (the date, the institution) do not
 * validate, so an unfilled template is never sent.
 */
static const char underretning_template[] =
        "{\n"
        "  \"institution\": \"inst-... (din institutions id, fx inst-nordskovskolen)\",\n"
        "  \"child\": {\n"
        "    \"name\": \"Barnets fulde navn\",\n"
        "    \"birth_date\": \"ÅÅÅÅ-MM-DD (eller i stedet \\\"cpr\\\": \\\"DDMMÅÅ-XXXX\\\")\",\n"
        "    \"address\": \"Barnets adresse\"\n"
        "  },\n"
        "  \"parents\": [\n"
        "    {\n"
        "      \"name\": \"Forælderens navn\",\n"
        "      \"address\": \"Adresse (kan udelades)\",\n"
        "      \"phone\": \"Telefon, fx +45 12 34 56 78 (kan udelades)\",\n"
        "      \"custody\": true\n"
        "    }\n"
        "  ],\n"
        "  \"interpreter\": { \"needed\": false },\n"
        "  \"notifier\": {\n"
        "    \"name\": \"Dit navn\",\n"
        "    \"role\": \"Din rolle, fx lærer eller pædagog\",\n"
        "    \"relation\": \"Din relation til barnet, fx klasselærer\"\n"
        "  },\n"
        "  \"concern\": \"Hvad er du bekymret for? Beskriv det konkret.\",\n"
        "  \"observations\": \"Hvad har du set og hørt, hvornår? Skriv det, du har observeret, ikke fortolkninger.\",\n"
        "  \"wellbeing\": \"Barnets trivsel og udvikling: skole, venner, fravær.\",\n"
        "  \"help_tried\": \"Hvilken hjælp er forsøgt, og hvad kom der ud af den?\",\n"
        "  \"parents_contacted\": {\n"
        "    \"contacted\": true,\n"
        "    \"reaction\": \"Forældrenes reaktion (når contacted er true; ellers \\\"contacted\\\": false og \\\"reason\\\": begrundelsen)\"\n"
        "  },\n"
        "  \"akut\": false,\n"
        "  \"handicap\": false\n"
        "}\n";

static void thread_hint(int r); /* threads, below */
static const char *media_type_of(const char *name);

/*
 * The template pre-filled from a thread (issue 10, item 6): the thread's
 * institution, the writer's own name, and in "observations" the messages
 * the writer chose with --medtag (each with its number, sender and time),
 * nothing else. The child's identity is never in a thread's messages of an
 * anonymous consultation: the writer adds it here, on this computer.
 */
static int template_from_thread(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL, *text = NULL;
	size_t len = 0;
	json_t *t = NULL, *doc = NULL, *notifier;
	const json_t *m, *mem;
	struct {
		char *p; /* the chosen messages' texts: plaintext, wiped when freed */
		size_t n;
	} obs = {NULL, 0};
	size_t i, k;
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_thread_read(conn, o->traad, 0, 0, &json, &len)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	if ((t = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (doc = json_loads(underretning_template, 0, NULL)) == NULL || (notifier = json_object_get(doc, "notifier")) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	json_object_set_new(doc, "institution", json_string(json_string_value(json_object_get(t, "institution"))));
	json_array_foreach(json_object_get(t, "members"), i, mem)
	{
		if (json_is_true(json_object_get(mem, "this")) && json_string_value(json_object_get(mem, "name")) != NULL)
			json_object_set(notifier, "name", json_object_get(mem, "name"));
	}
	for (k = 0; k < o->n_medtag; k++) {
		const json_t *hit = NULL;
		char when[VARSKO_LOCAL_LEN + 1], *line = NULL;
		int n;

		json_array_foreach(json_object_get(t, "messages"), i, m)
		{
			if (json_integer_value(json_object_get(m, "seq")) == o->medtag[k])
				hit = m;
		}
		if (hit == NULL || json_string_value(json_object_get(hit, "text")) == NULL) {
			rc = usage_error(cmd, "en --medtag-besked findes ikke blandt trådens seneste beskeder eller har ingen tekst");
			goto out;
		}
		show_time(json_string_value(json_object_get(hit, "received")), when);
		n = asprintf(&line, "%sFra tråden, besked %lld (%s, %s):\n%s", obs.n > 0 ? "\n\n" : "", o->medtag[k],
		             json_string_value(json_object_get(hit, "name")), when,
		             json_string_value(json_object_get(hit, "text")));
		if (n < 0 || (obs.p = realloc(obs.p, obs.n + (size_t)n + 1)) == NULL) {
			free(line);
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		memcpy(obs.p + obs.n, line, (size_t)n + 1);
		obs.n += (size_t)n;
		varsko_free_secret(line, (size_t)n);
	}
	if (obs.p != NULL)
		json_object_set_new(doc, "observations", json_string(obs.p));
	if (json_is_true(json_object_get(t, "anonymous")))
		fprintf(stderr, "varsko: Tråden er anonym sparring: barnets navn og CPR-nummer skriver du kun i\n"
		                "varsko: underretningen her, aldrig i tråden. Tråden får kun underretningens reference.\n");
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	printf("%s\n", text);
	fprintf(stderr, "varsko: Udfyld resten (barnet, forældrene, bekymringen) og send med:\n"
	                "varsko: varsko underret send FIL --traad %s\n",
	        o->traad);
	rc = EXIT_SUCCESS;
out:
	if (text != NULL)
		varsko_free_secret(text, strlen(text));
	if (obs.p != NULL)
		varsko_free_secret(obs.p, obs.n);
	json_decref(t);   /* plaintext: wiped by libvarsko's allocator */
	json_decref(doc);
	if (json != NULL)
		varsko_free_secret(json, len);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_template(const struct command *cmd, struct opts *o)
{
	if (o->traad != NULL)
		return template_from_thread(cmd, o);
	if (o->n_medtag > 0)
		return usage_error(cmd, "--medtag hører til --traad");
	fputs(underretning_template, stdout);
	return EXIT_SUCCESS;
}

/* "config show": the home's settings (no network). */
static int run_config_show(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	char *url = NULL;
	int r, rc;

	(void)cmd;
	if ((rc = open_home(o, &h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_home_server(h, &url)) != VARSKO_OK) {
		rc = fail(r, varsko_home_detail(h));
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s}", "server", url);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
	} else {
		printf("server  %s\n", url);
		rc = EXIT_SUCCESS;
	}
out:
	free(url);
	varsko_home_close(h);
	return rc;
}

/* "config set server URL": move the home to another address, checked by logging in there first. */
static int run_config_set(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	int r, rc;

	if (strcmp(o->pos[0], "server") != 0)
		return usage_error(cmd, "den eneste indstilling er server");
	if ((rc = open_home(o, &h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_home_set_server(h, o->pos[1], o->ca)) != VARSKO_OK) {
		fprintf(stderr, "varsko: serveradressen er ikke ændret.\n");
		rc = fail(r, varsko_home_detail(h));
	} else {
		printf("Serveradressen er nu %s (enheden loggede ind der med det samme).\n", o->pos[1]);
		rc = EXIT_SUCCESS;
	}
	varsko_home_close(h);
	return rc;
}

static int run_whoami(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_identity id;
	struct setup_result su;
	json_t *devs = NULL, *jo = NULL;
	char expires[32];
	uint64_t gen = 0;
	int r, rc, did_setup = 0;

	(void)cmd;
	memset(&su, 0, sizeof(su));
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_whoami(conn, &id)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	if ((devs = user_devices(conn, &rc)) == NULL)
		goto out;
	/* An enrollment whose user-key setup broke off (or never ran) is completed here. */
	if (strcmp(devices_state(devs), "none") == 0 || strcmp(devices_state(devs), "incomplete") == 0) {
		did_setup = 1;
		run_setup(conn, &su);
		json_decref(devs);
		if ((devs = user_devices(conn, &rc)) == NULL)
			goto out;
	}
	if (varsko_user_key_generation(conn, &gen) != VARSKO_OK)
		gen = 0;
	if (o->json) {
		if ((jo = identity_obj(&id, NULL)) == NULL) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		json_object_set(jo, "user_key", devs);
		json_object_set_new(jo, "user_key_generation", json_integer((json_int_t)gen));
		if (did_setup)
			setup_to_json(jo, &su);
		rc = print_json_secret(jo);
		if (did_setup && su.r != VARSKO_OK && su.r != VARSKO_ERR_NOT_CROSS_SIGNED)
			rc = EXIT_FAILURE;
		goto out;
	}
	utc_time(id.not_after, expires);
	printf("bruger:        %s\n", id.user);
	printf("navn:          %s\n", id.name);
	printf("rolle:         %s\n", id.role);
	printf("team:          ");
	if (id.team[0] != '\0')
		print_named("", "teams", id.team);
	else
		printf("-");
	printf("\n");
	printf("institutioner: ");
	print_institutions(&id);
	printf("enhed:         %s\n", id.device);
	printf("udløber:       %s\n", expires);
	print_user_key_state(devs, gen);
	printf("brugerens enheder (efter den verificerede brugerkæde):\n");
	print_devices(devs);
	rc = EXIT_SUCCESS;
	if (did_setup && su.r == VARSKO_OK && su.created) {
		printf("Din brugernøgle er nu sat op.\n");
		print_recovery_code(stdout, su.code);
	} else if (did_setup && su.r != VARSKO_OK && su.r != VARSKO_ERR_NOT_CROSS_SIGNED) {
		fflush(stdout);
		report(su.r, su.detail);
		fprintf(stderr, "Din brugernøgle kunne ikke sættes op; prøv igen senere.\n");
		rc = EXIT_FAILURE;
	}
out:
	fflush(stdout);
	setup_wipe(&su);
	json_decref(jo);
	json_decref(devs);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* ---- device ------------------------------------------------------------------------------- */

/*
 * Read the recovery code from stdin (one line), without echo when stdin is a
 * terminal. 0 on success; the caller wipes buf.
 */
static int read_code(char *buf, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restored = 1;
	size_t n;

	if (tty) {
		fprintf(stderr, "Gendannelseskode: ");
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			quiet.c_lflag |= ECHONL;
			restored = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0;
		}
	}
	if (fgets(buf, (int)cap, stdin) == NULL)
		buf[0] = '\0';
	if (tty && !restored)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n > 0 ? 0 : -1;
}

static int run_device_revoke(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char code[VARSKO_RECOVERY_CODE_LEN + 1];
	int r, rc;

	(void)cmd;
	memset(code, 0, sizeof(code));
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_device_revoke(conn, o->pos[0], code)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		if (r == VARSKO_ERR_FORBIDDEN)
			fprintf(stderr,
			        "Denne enhed kan ikke fjerne sig selv; brug en anden af dine enheder, eller bed "
			        "din it-afdeling om at tilbagekalde den.\n");
		else if (r == VARSKO_ERR_NOT_FOUND)
			fprintf(stderr, "Enheden findes ikke blandt dine enheder ('varsko device list' viser dem).\n");
		else if (r == VARSKO_ERR_EXISTS)
			fprintf(stderr, "Enheden er allerede fjernet.\n");
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:s}", "revoked", o->pos[0], "recovery_code", code);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	printf("Enheden %s er fjernet: den kan ikke længere logge ind, og din brugernøgle er\n", o->pos[0]);
	printf("skiftet, så intet, der sendes til dig fremover, kan læses på den.\n");
	print_recovery_code(stdout, code);
	printf("Den gamle gendannelseskode giver ikke længere den nye nøgle.\n");
	rc = EXIT_SUCCESS;
out:
	wipe_bytes(code, sizeof(code));
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_recover(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_identity id;
	char code[300];
	const char *typed = o->code;
	uint64_t gen = 0;
	int r, rc;

	memset(code, 0, sizeof(code));
	if (typed == NULL) {
		if (read_code(code, sizeof(code)) != 0) {
			rc = usage_error(cmd, "ingen gendannelseskode (--code KODE eller én linje på stdin)");
			goto out;
		}
		typed = code;
	}
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	(void)varsko_conn_identity(conn, &id);
	r = varsko_device_recover(conn, typed);
	if (r == VARSKO_ERR_EXISTS) {
		printf("Enheden er allerede godkendt for brugeren %s og har brugernøglen; intet er ændret.\n", id.user);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		if (r == VARSKO_ERR_CRYPTO)
			fprintf(stderr, "Gendannelseskoden passer ikke. Kontrollér den og prøv igen; efter 10 "
			                "forkerte forsøg spærres gendannelsen.\n");
		else if (r == VARSKO_ERR_BAD_INPUT)
			fprintf(stderr, "Det er ikke en gendannelseskode (26 tegn A-Z og 2-7, fx "
			                "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X). Intet forsøg er brugt.\n");
		else if (r == VARSKO_ERR_RECOVERY_LOCKED)
			fprintf(stderr, "For mange forkerte gendannelseskoder: gendannelsen er spærret, til en "
			                "administrator låser den op.\n");
		else if (r == VARSKO_ERR_BAD_CHAIN || r == VARSKO_ERR_BAD_SIGNATURE || r == VARSKO_ERR_BAD_CERT)
			fprintf(stderr, "Brugerkæden eller gendannelsesboksen kan ikke verificeres; intet er ændret. "
			                "Kontakt administratoren.\n");
		else if (r == VARSKO_ERR_NOT_FOUND)
			fprintf(stderr, "Der er intet at gendanne endnu.\n");
		goto out;
	}
	if (varsko_user_key_generation(conn, &gen) != VARSKO_OK)
		gen = 0;
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:s, s:s, s:I}", "user", id.user, "device", id.device, "user_key_state",
		                       gen > 0 ? "ok" : "incomplete", "user_key_generation", (json_int_t)gen);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	printf("Enheden er nu godkendt som enhed for brugeren %s", id.user);
	if (gen > 0)
		printf(" og har brugernøglen (generation %llu).\n", (unsigned long long)gen);
	else
		printf(", men brugernøglen åbner ikke endnu; kør 'varsko whoami'.\n");
	rc = EXIT_SUCCESS;
out : {
	volatile char *p = code;

	for (size_t i = 0; i < sizeof(code); i++)
		p[i] = 0;
}
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_device_list(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	json_t *devs = NULL;
	int rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((devs = user_devices(conn, &rc)) == NULL)
		goto out;
	if (o->json) {
		rc = print_json_obj(devs);
		goto out;
	}
	printf("Enheder for brugeren %s (efter den verificerede brugerkæde):\n",
	       json_string_value(json_object_get(devs, "user")) != NULL
	               ? json_string_value(json_object_get(devs, "user"))
	               : "brugerens");
	print_devices(devs);
	if (strcmp(devices_state(devs), "not_cross_signed") == 0)
		print_not_cross_signed(json_string_value(json_object_get(devs, "user")));
	rc = EXIT_SUCCESS;
out:
	json_decref(devs);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/*
 * One JSON line on stdout, flushed at once (a program waits for each), and
 * the object released. For the --json output of device request / approve.
 */
static void json_line(json_t *o)
{
	if (o != NULL) {
		(void)print_json_obj(o);
		fflush(stdout);
	}
	json_decref(o);
}

/* The milliseconds left of --timeout (started at t0), or -1 for none. */
static int64_t left_ms(const struct opts *o, int64_t t0)
{
	int64_t left;

	if (o->timeout < 0)
		return -1;
	left = t0 + o->timeout * 1000 - now_ms();
	return left > 0 ? left : 0;
}

/* An approval failure for people (after the "varsko: name: detail" line) and, with --json, as a line. */
static int approval_fail(const struct opts *o, int r, const char *detail, const char *approval)
{
	int rc = fail(r, detail);

	if (r == VARSKO_ERR_TIMEOUT)
		fprintf(stderr, "Tiden løb ud: intet blev godkendt.\n");
	else if (r == VARSKO_ERR_APPROVAL_FAILED)
		fprintf(stderr, "Godkendelsen mislykkedes (approval_failed): intet er godkendt og intet ændret.\n");
	else if (r == VARSKO_ERR_NOT_FOUND)
		fprintf(stderr, "Anmodningen findes ikke (længere): den er udløbet (efter 10 minutter) eller\n"
		                "erstattet af en nyere. Intet blev godkendt.\n");
	else if (r == VARSKO_ERR_NOT_CROSS_SIGNED)
		fprintf(stderr, "Den anden enhed er ikke en af dine godkendte enheder efter brugerkæden.\n");
	else if (r == VARSKO_ERR_BAD_CERT)
		fprintf(stderr, "Den nye enheds certifikat kan ikke verificeres mod kommunens nøgle; intet er "
		                "godkendt.\n");
	if (o->json)
		json_line(json_pack("{s:s, s:s, s:s, s:s}", "event", "failed", "approval",
		                    approval != NULL ? approval : "", "error", varsko_strerrname(r), "detail",
		                    detail != NULL ? detail : ""));
	return rc;
}

/* "123456" as "123 456", easier to read and to type. */
static void code_grouped(const char *code, char out[VARSKO_APPROVAL_CODE_LEN + 2])
{
	snprintf(out, VARSKO_APPROVAL_CODE_LEN + 2, "%.3s %.3s", code, code + 3);
}

static int run_request(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_approval *a = NULL;
	struct varsko_identity id;
	char code[VARSKO_APPROVAL_CODE_LEN + 1], shown[VARSKO_APPROVAL_CODE_LEN + 2], when[VARSKO_LOCAL_LEN + 1];
	char expires[32];
	uint64_t gen = 0;
	int64_t t0 = now_ms();
	int r, rc;

	(void)cmd;
	memset(code, 0, sizeof(code));
	memset(shown, 0, sizeof(shown));
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	(void)varsko_conn_identity(conn, &id);
	if ((r = varsko_approval_request(conn, &a)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS) {
			rc = fail(r, varsko_conn_detail(conn));
			fprintf(stderr,
			        "Enheden er allerede godkendt for brugeren %s; der er intet at godkende "
			        "(se 'varsko device list').\n",
			        id.user);
		} else if (r == VARSKO_ERR_NOT_FOUND) {
			rc = fail(r, varsko_conn_detail(conn));
			fprintf(stderr,
			        "Brugeren %s har ingen brugernøgle endnu, så ingen anden enhed kan godkende "
			        "denne.\n",
			        id.user);
		} else {
			rc = approval_fail(o, r, varsko_conn_detail(conn), NULL);
			goto out;
		}
		if (o->json)
			json_line(json_pack("{s:s, s:s, s:s, s:s}", "event", "failed", "approval", "", "error",
			                    varsko_strerrname(r), "detail", varsko_conn_detail(conn)));
		goto out;
	}
	local_time(varsko_approval_expires(a), when);
	utc_time(varsko_approval_expires(a), expires);
	if (o->json) {
		json_line(json_pack("{s:s, s:s, s:s, s:s}", "event", "requested", "approval", varsko_approval_id(a),
		                    "device", id.device, "expires", expires));
	} else {
		printf("Anmodning om godkendelse sendt (%s); den gælder til %s.\n", varsko_approval_id(a), when);
		printf("Kør nu 'varsko device approve' på en anden af dine enheder, som har din brugernøgle.\n");
		printf("Venter på den anden enhed ...\n");
		fflush(stdout);
	}
	if ((r = varsko_approval_reveal(conn, a, left_ms(o, t0), code)) != VARSKO_OK) {
		rc = approval_fail(o, r, varsko_conn_detail(conn), varsko_approval_id(a));
		goto out;
	}
	code_grouped(code, shown);
	if (o->json) {
		json_line(
		        json_pack("{s:s, s:s, s:s}", "event", "code", "approval", varsko_approval_id(a), "code", code));
	} else {
		printf("\nGodkendelseskode: %s\n\n", shown);
		printf("Indtast koden på den anden enhed, når den beder om den. Venter på godkendelsen ...\n");
		fflush(stdout);
	}
	if ((r = varsko_approval_wait(conn, a, left_ms(o, t0))) != VARSKO_OK) {
		rc = approval_fail(o, r, varsko_conn_detail(conn), varsko_approval_id(a));
		goto out;
	}
	if (varsko_user_key_generation(conn, &gen) != VARSKO_OK)
		gen = 0;
	if (o->json) {
		json_line(json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", "approved", "approval", varsko_approval_id(a),
		                    "user", id.user, "device", id.device, "user_key_generation", (json_int_t)gen));
	} else {
		printf("Enheden er nu godkendt som enhed for brugeren %s og har brugernøglen (generation %llu).\n",
		       id.user, (unsigned long long)gen);
	}
	rc = EXIT_SUCCESS;
out:
	fflush(stdout);
	{
		volatile char *p = code;

		for (size_t i = 0; i < sizeof(code); i++)
			p[i] = 0;
		p = shown;
		for (size_t i = 0; i < sizeof(shown); i++)
			p[i] = 0;
	}
	varsko_approval_free(a);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/*
 * Which open request to approve: --approval, or the one open request of
 * another device with a good certificate. 0 with the id in out, else the
 * exit status (the failure printed).
 */
static int pick_approval(const struct command *cmd, const struct opts *o, struct varsko_conn *conn, const char *self,
                         char out[VARSKO_APPROVAL_ID_MAX + 1])
{
	char *text = NULL;
	json_t *l = NULL;
	const json_t *e;
	size_t i, n = 0;
	int r, rc = EXIT_FAILURE;

	if (o->approval != NULL) {
		snprintf(out, VARSKO_APPROVAL_ID_MAX + 1, "%s", o->approval);
		return 0;
	}
	if ((r = varsko_approval_list(conn, &text)) != VARSKO_OK)
		return fail(r, varsko_conn_detail(conn));
	if ((l = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	json_array_foreach(json_object_get(l, "items"), i, e)
	{
		const char *dev = json_string_value(json_object_get(e, "device"));

		if (json_is_true(json_object_get(e, "offered")) || !json_is_true(json_object_get(e, "cert_ok")) ||
		    dev == NULL || strcmp(dev, self) == 0)
			continue;
		if (n++ == 0)
			snprintf(out, VARSKO_APPROVAL_ID_MAX + 1, "%s",
			         json_string_value(json_object_get(e, "approval")));
	}
	if (n == 1) {
		rc = 0;
		goto out;
	}
	if (n == 0) {
		rc = fail(VARSKO_ERR_NOT_FOUND, "no open approval request of another device of this user");
		fprintf(stderr, "Der er ingen åben anmodning om godkendelse. Kør først 'varsko device request' på "
		                "den nye enhed.\n");
		goto out;
	}
	fprintf(stderr, "Der er %zu åbne anmodninger om godkendelse; vælg en med --approval ID:\n", n);
	json_array_foreach(json_object_get(l, "items"), i, e)
	{
		const char *dev = json_string_value(json_object_get(e, "device"));
		char when[VARSKO_LOCAL_LEN + 1];

		if (json_is_true(json_object_get(e, "offered")) || !json_is_true(json_object_get(e, "cert_ok")) ||
		    dev == NULL || strcmp(dev, self) == 0)
			continue;
		show_time(json_string_value(json_object_get(e, "created")), when);
		fprintf(stderr, "  %s  enhed %s  oprettet %s\n", json_string_value(json_object_get(e, "approval")), dev,
		        when);
	}
	rc = usage_error(cmd, "der er flere åbne anmodninger om godkendelse: vælg én med --approval ID");
out:
	json_decref(l);
	varsko_free(text);
	return rc;
}

/* One line from stdin into buf (newline removed); -1 at end of input. */
static int read_line(char *buf, size_t cap)
{
	size_t n;

	if (fgets(buf, (int)cap, stdin) == NULL) {
		buf[0] = '\0';
		return -1;
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int run_approve(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_approval *a = NULL;
	struct varsko_identity id;
	char which[VARSKO_APPROVAL_ID_MAX + 1], typed[128];
	int64_t t0 = now_ms();
	int r, rc;

	memset(typed, 0, sizeof(typed));
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	(void)varsko_conn_identity(conn, &id);
	if ((rc = pick_approval(cmd, o, conn, id.device, which)) != 0)
		goto out;
	if (!o->json) {
		printf("Godkender anmodning %s fra en ny enhed. Venter på, at den nye enhed viser koden ...\n", which);
		fflush(stdout);
	}
	if ((r = varsko_approval_offer(conn, which, left_ms(o, t0), &a)) != VARSKO_OK) {
		rc = approval_fail(o, r, varsko_conn_detail(conn), which);
		if (r == VARSKO_ERR_EXISTS)
			fprintf(stderr, "Anmodningen er allerede i gang med en anden enhed; start forfra med 'varsko "
			                "device request' på den nye enhed.\n");
		goto out;
	}
	if (o->json)
		json_line(json_pack("{s:s, s:s, s:s}", "event", "revealed", "approval", which, "device",
		                    varsko_approval_device(a)));
	else
		printf("Den nye enhed %s viser nu en godkendelseskode.\n", varsko_approval_device(a));
	for (int tries = 0;; tries++) {
		const char *code = o->code;

		if (code == NULL) {
			FILE *prompt = o->json ? stderr : stdout;

			fprintf(prompt, "Indtast koden, som den nye enhed viser: ");
			fflush(prompt);
			if (read_line(typed, sizeof(typed)) != 0) {
				fprintf(prompt, "\n");
				rc = approval_fail(o, VARSKO_ERR_BAD_INPUT, "no code was typed", which);
				goto out;
			}
			code = typed;
		}
		r = varsko_approval_confirm(conn, a, code);
		if (r == VARSKO_ERR_BAD_INPUT && o->code == NULL && tries < 2) {
			fprintf(stderr, "Koden er seks cifre, fx 123 456. Prøv igen.\n");
			continue;
		}
		break;
	}
	if (r == VARSKO_ERR_APPROVAL_FAILED) {
		rc = fail(r, varsko_conn_detail(conn));
		fprintf(stderr, "Koderne er forskellige: den nye enhed er IKKE godkendt, og intet er ændret.\n"
		                "Kontrollér, at det er din egen enhed, og start forfra med 'varsko device request' "
		                "på den nye enhed.\n");
		if (o->json)
			json_line(json_pack("{s:s, s:s, s:s, s:s}", "event", "failed", "approval", which, "error",
			                    varsko_strerrname(r), "detail", varsko_conn_detail(conn)));
		goto out;
	}
	if (r != VARSKO_OK) {
		rc = approval_fail(o, r, varsko_conn_detail(conn), which);
		if (r == VARSKO_ERR_BAD_INPUT)
			fprintf(stderr, "Det er ikke en godkendelseskode (seks cifre); intet er godkendt.\n");
		goto out;
	}
	if (o->json)
		json_line(json_pack("{s:s, s:s, s:s, s:s}", "event", "approved", "approval", which, "user", id.user,
		                    "device", varsko_approval_device(a)));
	else
		printf("Koderne stemmer: enheden %s er nu godkendt som enhed for brugeren %s og har fået "
		       "brugernøglen.\n",
		       varsko_approval_device(a), id.user);
	rc = EXIT_SUCCESS;
out:
	fflush(stdout);
	{
		volatile char *p = typed;

		for (size_t i = 0; i < sizeof(typed); i++)
			p[i] = 0;
	}
	varsko_approval_free(a);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* ---- underret ---------------------------------------------------------------------- */

/* The underretning is sent, but the thread it was made from could not be told: say both. */
static int thread_ref_failed(int r, const char *detail, const char *reference)
{
	fprintf(stderr, "varsko: Underretningen ER sendt (%s), men referencen kunne ikke lægges i tråden. Send den\n"
	                "varsko: samme fil igen med --traad: underretningen sendes ikke to gange.\n",
	        reference);
	return fail(r, detail);
}

static int run_send(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_doc_problem probs[DOC_PROBLEMS_SHOWN];
	size_t nprob = 0;
	struct varsko_receipt_info info;
	char *doc = NULL, *rjson = NULL, t1[VARSKO_LOCAL_LEN + 1], t2[VARSKO_LOCAL_LEN + 1];
	size_t len = 0;
	json_t *ro = NULL;
	int r, rc, r2 = VARSKO_OK, anon = 0;
	uint64_t tseq = 0;
	char r2_detail[512] = "";
	struct varsko_file files[BILAG_MAX];
	struct {
		char *p;
		size_t len;
	} bil[BILAG_MAX];

	memset(bil, 0, sizeof(bil));

	(void)cmd;
	if ((r = file_read(o->pos[0], DOC_FILE_MAX, FILE_STREAM, &doc, &len)) != VARSKO_OK) {
		rc = fail(r, r == VARSKO_ERR_TOO_LARGE ? "the document file is too large; nothing was sent"
		                                       : "cannot read the document file; nothing was sent");
		goto out;
	}
	/* Check the document before anything else: a bad one never leaves this computer. */
	if ((r = varsko_document_problems(doc, len, probs, DOC_PROBLEMS_SHOWN, &nprob)) != VARSKO_OK) {
		print_document_problems(r, probs, nprob);
		rc = EXIT_FAILURE;
		goto out;
	}
	o->doc_akut = varsko_document_akut(doc, len);
	for (size_t i = 0; i < o->n_bilag; i++) {
		const char *base = strrchr(o->bilag[i], '/') != NULL ? strrchr(o->bilag[i], '/') + 1 : o->bilag[i];

		if ((r = file_read(o->bilag[i], (size_t)1 << 30, 0, &bil[i].p, &bil[i].len)) != VARSKO_OK) {
			rc = fail(r, r == VARSKO_ERR_NOT_FOUND ? "a file given with --bilag does not exist; nothing was sent"
			                                       : "a file given with --bilag cannot be read; nothing was sent");
			goto out;
		}
		files[i].name = base;
		files[i].media_type = media_type_of(base);
		files[i].data = (const uint8_t *)bil[i].p;
		files[i].len = bil[i].len;
	}
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_underret_send_files(conn, doc, len, o->submission, files, o->n_bilag, &info, &rjson)) !=
	    VARSKO_OK) {
		rc = fail_unreachable(r, varsko_conn_detail(conn), h, o);
		if (o->n_bilag > 0 && varsko_upload_kept(r))
			fprintf(stderr, "varsko: Bilag, der nåede frem, er gemt. Send igen med de samme filer, så fortsætter\n"
			                "varsko: overførslen, hvor den slap.\n");
		goto out;
	}
	/* Made from a thread: the thread is told the reference (never the content), signed by this device. */
	if (o->traad != NULL) {
		r2 = varsko_thread_send_reference(conn, o->traad, info.reference, &tseq, &anon);
		if (r2 != VARSKO_OK)
			snprintf(r2_detail, sizeof(r2_detail), "%s", varsko_conn_detail(conn));
	}
	if (info.roster_only)
		fprintf(stderr, "Bemærk: teamet %s har endnu ingen teamnøgle. Underretningen er krypteret til de enheder,\n"
		                "serveren oplyser for teamet. Bed kommunens administrator give teamet sin teamkæde og nøgle.\n",
		        team_name(info.team));
	if (o->json) {
		if ((ro = json_loads(rjson, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		    json_object_set_new(ro, "duplicate", json_boolean(info.duplicate)) != 0 ||
		    json_object_set_new(ro, "no_reader", json_boolean(info.no_reader)) != 0 ||
		    (o->traad != NULL && r2 == VARSKO_OK &&
		     (json_object_set_new(ro, "thread", json_string(o->traad)) != 0 ||
		      json_object_set_new(ro, "thread_seq", json_integer((json_int_t)tseq)) != 0))) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		rc = print_json_obj(ro);
		if (r2 != VARSKO_OK)
			rc = thread_ref_failed(r2, r2_detail, info.reference);
		goto out;
	}
	if (info.duplicate)
		printf("Underretningen var allerede modtaget; dette er dens kvittering. Reference: %s\n",
		       info.reference);
	else
		printf("Underretning sendt. Reference: %s\n", info.reference);
	local_time(info.received, t1);
	printf("Modtaget af varskod %s og sendt til %s.\n", t1, team_name(info.team));
	local_time(info.vurdering_due, t1);
	local_time(info.kvittering_due, t2);
	printf("Frister: vurdering senest %s, kvittering til dig senest %s.\n", t1, t2);
	printf("Kvittering gemt i %s/receipts/%s.json\n", varsko_home_path(h), info.reference);
	if (info.no_reader) {
		char notice[512];

		printf("%s\n", varsko_notice("no_reader", team_name(info.team), notice, sizeof(notice)));
	}
	rc = EXIT_SUCCESS;
	if (o->traad != NULL && r2 == VARSKO_OK)
		printf("Tråden %s har fået referencen som besked %llu (kun referencen: indholdet er kun hos myndigheden).\n",
		       o->traad, (unsigned long long)tseq);
	else if (o->traad != NULL)
		rc = thread_ref_failed(r2, r2_detail, info.reference);
out:
	json_decref(ro);
	varsko_free(rjson);
	file_free(doc, len, FILE_STREAM);
	for (size_t i = 0; i < o->n_bilag; i++)
		file_free(bil[i].p, bil[i].len, 0);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static const char *state_label(const char *state)
{
	return state != NULL ? step_label(state) : "?";
}

static int print_items(const char *json, int inbox)
{
	static const char *const head_inbox[] = {"Vurderes senest", "Reference",   "Akut",
	                                         "Alder",           "Institution", "Status"};
	static const char *const head_mine[] = {"Reference", "Modtaget", "Team", "Status"};
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL), *items, *it;
	char t[VARSKO_LOCAL_LEN + 1];
	struct table tb;
	size_t i;

	if (o == NULL || !json_is_array(items = json_object_get(o, "items"))) {
		json_decref(o);
		return fail(VARSKO_ERR_PROTOCOL, "the list is malformed");
	}
	if (json_array_size(items) == 0) {
		printf(inbox ? "Ingen underretninger til teamet.\n" : "Du har ingen underretninger.\n");
		json_decref(o);
		return EXIT_SUCCESS;
	}
	if (table_init(&tb, inbox ? 6 : 4, inbox ? head_inbox : head_mine) != 0)
		goto nomem;
	json_array_foreach(items, i, it)
	{
		const char *ref = json_string_value(json_object_get(it, "reference"));
		const char *state = state_label(json_string_value(json_object_get(it, "state")));
		int r;

		if (inbox) {
			const char *row[6];

			show_time(json_string_value(json_object_get(it, "vurdering_due")), t);
			row[0] = t;
			row[1] = ref;
			row[2] = json_is_true(json_object_get(it, "akut")) ? "ja" : "nej";
			row[3] = json_string_value(json_object_get(it, "age_group"));
			row[4] = inst_name(json_string_value(json_object_get(it, "institution")));
			row[5] = state;
			r = table_row(&tb, row);
		} else {
			const char *row[4];

			show_time(json_string_value(json_object_get(it, "received")), t);
			row[0] = ref;
			row[1] = t;
			row[2] = team_name(json_string_value(json_object_get(it, "team")));
			row[3] = state;
			r = table_row(&tb, row);
		}
		if (r != 0) {
			table_print_free(&tb, -1);
			goto nomem;
		}
	}
	table_print_free(&tb, 0);
	json_decref(o);
	return EXIT_SUCCESS;
nomem:
	json_decref(o);
	return fail(VARSKO_ERR_NOMEM, NULL);
}

/*
 * A command that asks the server for one JSON answer: log in, ask(conn, o,
 * which, &json), then print the answer as it is with --json, or show(json,
 * o, which) for people (`which`: what the command asks for, e.g. a
 * VARSKO_LIST_*, or 0). Returns the exit status.
 */
static int run_asked(struct opts *o, int which,
                     int (*ask)(struct varsko_conn *c, const struct opts *o, int which, char **json),
                     int (*show)(const char *json, const struct opts *o, int which))
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL;
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = ask(conn, o, which, &json)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	if (o->json) {
		printf("%s\n", json);
		rc = EXIT_SUCCESS;
	} else {
		rc = show(json, o, which);
	}
out:
	varsko_free(json);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int ask_list(struct varsko_conn *c, const struct opts *o, int which, char **json)
{
	(void)o;
	return varsko_list(c, which, json);
}

static int show_list(const char *json, const struct opts *o, int which)
{
	(void)o;
	return print_items(json, which == VARSKO_LIST_INBOX);
}

static int run_list(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_asked(o, VARSKO_LIST_MINE, ask_list, show_list);
}

/* A message text for a terminal: every line indented under its step. */
static void print_message(const char *m)
{
	printf("%24sBesked: ", "");
	for (; *m != '\0'; m++) {
		putchar(*m);
		if (*m == '\n')
			printf("%32s", "");
	}
	putchar('\n');
}

static int run_status(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_status *st = NULL;
	char *json = NULL, t[VARSKO_LOCAL_LEN + 1], who[200];
	size_t jlen = 0;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_status(conn, o->pos[0], &st)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	if (o->json) {
		if ((r = varsko_status_json(st, &json, &jlen)) != VARSKO_OK) {
			rc = fail(r, NULL);
			goto out;
		}
		printf("%s\n", json);
		rc = EXIT_SUCCESS;
		goto out;
	}
	printf("Underretning %s, institution %s\n", st->reference, inst_name(st->receipt.institution));
	for (size_t i = 0; i < st->n_steps; i++) {
		const struct varsko_step *s = &st->steps[i];

		local_time(s->time, t);
		printf("  ");
		col(t, 22);
		col(step_label(s->step), 26);
		if (s->team[0] != '\0')
			snprintf(who, sizeof(who), "%s, %s", role_label(s->role), team_name(s->team));
		else
			snprintf(who, sizeof(who), "%s", role_label(s->role));
		printf("%s", who);
		if (s->akut >= 0)
			printf("; akut: %s", s->akut ? "ja" : "nej");
		if (s->started >= 0)
			printf("; undersøgelse eller foranstaltning iværksat: %s", s->started ? "ja" : "nej");
		if (s->new_team[0] != '\0')
			printf("; til %s", team_name(s->new_team));
		printf("\n");
		if (s->message != NULL)
			print_message(s->message);
	}
	printf("Alle trin er verificeret mod kommunens nøgle.\n");
	rc = EXIT_SUCCESS;
out:
	varsko_free_secret(json, jlen);
	varsko_status_free(st);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* ---- receipt verify ------------------------------------------------------------------- */

static int run_receipt_verify(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_receipt_info info;
	char *json = NULL;
	json_t *out = NULL;
	int r, rc;

	(void)cmd;
	if ((rc = open_home(o, &h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_receipt_verify_file(h, o->pos[0], &info, &json)) != VARSKO_OK) {
		rc = fail(r, varsko_home_detail(h));
		goto out;
	}
	if (o->json) {
		out = json_pack("{s:b, s:s, s:o*}", "ok", 1, "reference", info.reference, "receipt",
		                json_loads(json, JSON_REJECT_DUPLICATES, NULL));
		rc = out != NULL ? print_json_obj(out) : fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	{
		char t1[VARSKO_LOCAL_LEN + 1], t2[VARSKO_LOCAL_LEN + 1];

		printf("Kvitteringen for %s er ægte: varskod har underskrevet den, og underskriften er kontrolleret\n"
		       "mod kommunens nøgle på denne computer.\n",
		       info.reference);
		local_time(info.received, t1);
		printf("Modtaget %s og sendt til %s.\n", t1, team_name(info.team));
		local_time(info.vurdering_due, t1);
		local_time(info.kvittering_due, t2);
		printf("Frister: vurdering senest %s, kvittering senest %s.\n", t1, t2);
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(out);
	varsko_free(json);
	varsko_home_close(h);
	return rc;
}

/* ---- myndighed ---------------------------------------------------------------------------- */

static int run_inbox(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_asked(o, VARSKO_LIST_INBOX, ask_list, show_list);
}

static int run_show(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_opened *op = NULL;
	struct varsko_event_args ea;
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_underretning_open(conn, o->pos[0], &op)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	/* Straight from the library's buffers: the document is never copied into this program's memory. */
	if (o->json) {
		printf("{\"document\":");
		fwrite(op->document, 1, op->document_len, stdout);
		printf(",\"receipt\":%s,\"reference\":\"%s\"}\n", op->receipt_json, op->reference);
	} else {
		fwrite(op->text, 1, op->text_len, stdout);
		printf("\nAfsender: %s (enhed %s). Underretningen er verificeret mod kommunens nøgle.\n",
		       op->sender_name, op->receipt.sender);
	}
	fflush(stdout);
	/* The notifier reads its own copy ("underret show"); only the team marks an underretning opened. */
	if (strcmp(cmd->group, "underret") == 0) {
		rc = EXIT_SUCCESS;
		goto out;
	}
	memset(&ea, 0, sizeof(ea));
	ea.kind = "aabnet";
	if ((r = varsko_event(conn, op->reference, &ea, NULL)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	rc = EXIT_SUCCESS;
out:
	varsko_opened_free(op);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int send_event(struct opts *o, const struct varsko_event_args *ea, const char *done)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	json_t *out = NULL;
	uint64_t seq = 0;
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_event(conn, o->pos[0], ea, &seq)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	if (o->json) {
		out = json_pack("{s:s, s:s, s:I}", "kind", ea->kind, "reference", o->pos[0], "seq", (json_int_t)seq);
		rc = out != NULL ? print_json_obj(out) : fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	printf("%s: %s\n", o->pos[0], done);
	rc = EXIT_SUCCESS;
out:
	json_decref(out);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_vurder(const struct command *cmd, struct opts *o)
{
	struct varsko_event_args ea = {0};

	if (o->akut < 0)
		return usage_error(cmd, "vurder kræver --akut ja|nej");
	ea.kind = "vurderet";
	ea.akut = o->akut;
	return send_event(o, &ea, o->akut ? "vurderet som akut." : "vurderet som ikke akut.");
}

static int run_kvitter(const struct command *cmd, struct opts *o)
{
	struct varsko_event_args ea = {0};

	if (o->besked == NULL || o->besked[0] == '\0')
		return usage_error(cmd, "kvitter kræver --besked TEKST");
	ea.kind = "kvitteret";
	ea.message = o->besked;
	return send_event(o, &ea, "kvittering sendt krypteret til underretteren.");
}

static int run_tilbagemeld(const struct command *cmd, struct opts *o)
{
	struct varsko_event_args ea = {0};

	if (o->ivaerksat < 0)
		return usage_error(cmd, "tilbagemeld kræver --iværksat ja|nej");
	ea.kind = "tilbagemelding";
	ea.started = o->ivaerksat;
	ea.message = o->besked;
	return send_event(o, &ea, "tilbagemelding sendt krypteret til underretteren.");
}

static int run_omdiriger(const struct command *cmd, struct opts *o)
{
	struct varsko_event_args ea = {0};
	char done[200];

	if (o->team == NULL || o->team[0] == '\0')
		return usage_error(cmd, "omdiriger kræver --team TEAM");
	ea.kind = "omdirigeret";
	ea.team = o->team;
	snprintf(done, sizeof(done), "omdirigeret til %s og krypteret til teamets enheder.", team_name(o->team));
	return send_event(o, &ea, done);
}

static int run_afslut(const struct command *cmd, struct opts *o)
{
	struct varsko_event_args ea = {0};

	(void)cmd;
	ea.kind = "afsluttet";
	return send_event(o, &ea, "afsluttet.");
}

/* ---- leder, watch ---------------------------------------------------------------------------- */

static const char *deadline_label(const char *k)
{
	if (k == NULL)
		return "?";
	if (strcmp(k, "vurdering") == 0)
		return "vurdering";
	if (strcmp(k, "kvittering") == 0)
		return "kvittering";
	if (strcmp(k, "tilbagemelding") == 0)
		return "tilbagemelding";
	return k;
}

static const char *dlstate_label(const char *s)
{
	if (s == NULL)
		return "?";
	if (strcmp(s, "open") == 0)
		return "åben";
	if (strcmp(s, "warned") == 0)
		return "varslet";
	if (strcmp(s, "overdue") == 0)
		return "overskredet";
	return s;
}

static int ask_overview(struct varsko_conn *c, const struct opts *o, int which, char **json)
{
	(void)o;
	(void)which;
	return varsko_overview(c, json);
}

static int show_overview(const char *json, const struct opts *o, int which)
{
	char t[VARSKO_LOCAL_LEN + 1];
	json_t *obj = NULL, *items, *it;
	size_t i;
	int rc;

	(void)o;
	(void)which;
	if ((obj = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(items = json_object_get(obj, "items"))) {
		rc = fail(VARSKO_ERR_PROTOCOL, "the overview is malformed");
		goto out;
	}
	if (json_array_size(items) == 0) {
		printf("Ingen åbne frister for teamet.\n");
		rc = EXIT_SUCCESS;
		goto out;
	}
	{
		static const char *const head[] = {"Frist", "Type", "Reference", "Tilstand"};
		struct table tb;

		if (table_init(&tb, 4, head) != 0) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		json_array_foreach(items, i, it)
		{
			const char *row[4];

			show_time(json_string_value(json_object_get(it, "due")), t);
			row[0] = t;
			row[1] = deadline_label(json_string_value(json_object_get(it, "kind")));
			row[2] = json_string_value(json_object_get(it, "reference"));
			row[3] = dlstate_label(json_string_value(json_object_get(it, "state")));
			if (table_row(&tb, row) != 0) {
				table_print_free(&tb, -1);
				rc = fail(VARSKO_ERR_NOMEM, NULL);
				goto out;
			}
		}
		table_print_free(&tb, 0);
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(obj);
	return rc;
}

static int run_overview(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_asked(o, 0, ask_overview, show_overview);
}

/* A date "YYYY-MM-DD" as the CLI shows dates ("01.10.2026"); as it is when it is no date. */
static void show_date(const char *ymd, char out[16])
{
	struct cal_date d;

	if (ymd == NULL || cal_parse_date(ymd, strlen(ymd), &d) != VARSKO_OK)
		snprintf(out, 16, "%s", ymd != NULL ? ymd : "?");
	else
		snprintf(out, 16, "%02d.%02d.%04d", d.day, d.month, d.year);
}

/* A duration in seconds for people: "3 t 20 min", or "6 døgn 4 t" from 48 hours on. */
static void show_duration(json_int_t s, char *out, size_t cap)
{
	if (s < 0)
		s = 0;
	if (s < 48 * 3600)
		snprintf(out, cap, "%lld t %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(out, cap, "%lld døgn %lld t", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* "80 % (8 af 10)" from an object's count (num_key) of den_key; "–" when there is nothing to divide. */
static void show_share(const json_t *o, const char *num_key, json_int_t den, char *out, size_t cap)
{
	json_int_t num = json_integer_value(json_object_get(o, num_key));

	if (den <= 0)
		snprintf(out, cap, "–");
	else
		snprintf(out, cap, "%lld %% (%lld af %lld)", (long long)((num * 200 / den + 1) / 2), (long long)num,
		         (long long)den);
}

/* "median 3 t 20 min, 90 %-percentil 20 t 5 min (n=10)" of a STAT object; "ingen målinger" when count is 0. */
static void show_times(const json_t *st, char *out, size_t cap)
{
	char med[48], p90[48];
	json_int_t n = json_integer_value(json_object_get(st, "count"));

	if (n <= 0 || !json_is_integer(json_object_get(st, "median_seconds"))) {
		snprintf(out, cap, "ingen målinger");
		return;
	}
	show_duration(json_integer_value(json_object_get(st, "median_seconds")), med, sizeof(med));
	show_duration(json_integer_value(json_object_get(st, "p90_seconds")), p90, sizeof(p90));
	snprintf(out, cap, "median %s, 90. percentil %s (n=%lld)", med, p90, (long long)n);
}

static int ask_report(struct varsko_conn *c, const struct opts *o, int which, char **json)
{
	(void)which;
	return varsko_report(c, o->fra, o->til, json);
}

/* The figures (varsko_report()) as a table of Danish labels, with the period asked for. */
static int show_report(const char *json, const struct opts *o, int which)
{
	char from[16], to[16], cells[7][160];
	json_t *fig = NULL, *v, *k;
	struct table tb;
	int rc;

	(void)which;
	if ((fig = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(fig) ||
	    !json_is_object(v = json_object_get(fig, "vurdering")) ||
	    !json_is_object(k = json_object_get(fig, "kvittering")) ||
	    !json_is_integer(json_object_get(fig, "received"))) {
		rc = fail(VARSKO_ERR_PROTOCOL, "the report is malformed");
		goto out;
	}
	{
		const char *name = json_string_value(json_object_get(fig, "name"));
		const char *team = json_string_value(json_object_get(fig, "team"));

		printf("Ledelsestilsyn for %s (%s)\n", name != NULL ? name : "?", team != NULL ? team : "?");
	}
	show_date(o->fra, from);
	show_date(o->til, to);
	if (o->fra == NULL && o->til == NULL)
		printf("Modtaget de seneste 30 dage til og med i dag (dansk tid).\n\n");
	else if (o->fra == NULL)
		printf("Modtaget de 30 dage til og med %s (dansk tid).\n\n", to);
	else if (o->til == NULL)
		printf("Modtaget fra %s til og med i dag (dansk tid).\n\n", from);
	else
		printf("Modtaget fra %s til og med %s (dansk tid).\n\n", from, to);
	snprintf(cells[0], sizeof(cells[0]), "%lld", (long long)json_integer_value(json_object_get(fig, "received")));
	show_share(json_object_get(fig, "outside_office"), "count",
	           json_integer_value(json_object_get(fig, "received")), cells[1], sizeof(cells[1]));
	show_times(v, cells[2], sizeof(cells[2]));
	show_share(v, "within", json_integer_value(json_object_get(v, "decided")), cells[3], sizeof(cells[3]));
	show_times(k, cells[4], sizeof(cells[4]));
	show_share(k, "within", json_integer_value(json_object_get(k, "decided")), cells[5], sizeof(cells[5]));
	snprintf(cells[6], sizeof(cells[6]), "%lld", (long long)json_integer_value(json_object_get(fig, "overdue")));
	{
		static const char *const label[7] = {"Modtaget",
		                                     "Uden for åbningstid",
		                                     "Tid til vurdering",
		                                     "Vurderet inden for 24 timer",
		                                     "Tid til kvittering",
		                                     "Kvitteret inden for 6 hverdage",
		                                     "Åbne, overskredne frister"};

		if (table_init(&tb, 2, NULL) != 0) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		for (size_t i = 0; i < 7; i++) {
			const char *row[2] = {label[i], cells[i]};

			if (table_row(&tb, row) != 0) {
				table_print_free(&tb, -1);
				rc = fail(VARSKO_ERR_NOMEM, NULL);
				goto out;
			}
		}
		table_print_free(&tb, 0);
	}
	printf("\nAndel inden for fristen: af de afgjorte frister (opfyldt eller overskredet);\n"
	       "åbne frister, der ikke er udløbet, tæller ikke med. Tider regnes fra\n"
	       "modtagelsen til den første hændelse.\n");
	rc = EXIT_SUCCESS;
out:
	json_decref(fig);
	return rc;
}

static int run_report(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_asked(o, 0, ask_report, show_report);
}

static int run_watch(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *frame = NULL;
	long got = 0;
	int64_t end = o->timeout >= 0 ? now_ms() + o->timeout * 1000 : -1, left;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	/* On stderr, so that stdout holds only frames: a script may wait for this line. */
	fprintf(stderr, "varsko: forbundet; venter på beskeder\n");
	for (;;) {
		if (o->count > 0 && got >= o->count) {
			rc = EXIT_SUCCESS;
			break;
		}
		left = end < 0 ? -1 : end - now_ms();
		if (end >= 0 && left < 0)
			left = 0;
		r = varsko_watch(conn, left, &frame);
		if (r == VARSKO_ERR_TIMEOUT && o->count < 0) {
			rc = EXIT_SUCCESS; /* no count asked: the time is simply up */
			break;
		}
		if (r != VARSKO_OK) {
			rc = fail(r, varsko_conn_detail(conn));
			break;
		}
		printf("%s\n", frame);
		fflush(stdout);
		varsko_free(frame);
		frame = NULL;
		got++;
	}
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* ---- team ------------------------------------------------------------------------------------ */

/* Hints in Danish after the "varsko: name: detail" line of a failed team command. */
static void team_hint(int r)
{
	if (r == VARSKO_ERR_NOT_MEMBER)
		fprintf(stderr,
		        "Kun en administrator (efter kommunens organisationskæde) eller en leder af teamet kan\n"
		        "ændre teamet, og kun en administrator kan oprette det.\n");
	else if (r == VARSKO_ERR_FORBIDDEN)
		fprintf(stderr, "Du er medlem af teamet, men ikke leder; kun en leder kan ændre det.\n");
	else if (r == VARSKO_ERR_BAD_CHAIN || r == VARSKO_ERR_BAD_SIGNATURE || r == VARSKO_ERR_BAD_CERT)
		fprintf(stderr, "Teamkæden, organisationskæden eller et medlems brugerkæde kan ikke verificeres;\n"
		                "intet er ændret. Kontakt administratoren.\n");
	else if (r == VARSKO_ERR_STALE_KEY)
		fprintf(stderr, "Brugerens nøgle er skiftet imens; kør kommandoen igen.\n");
}

static const char *team_role_label(const char *role)
{
	if (role != NULL && strcmp(role, "agent") == 0)
		return "fagsystem";
	return role != NULL ? role : "?";
}

/* The members of a team as varsko_team_show() gives them, for people. */
static int print_team(const char *json)
{
	json_t *t = json_loads(json, JSON_REJECT_DUPLICATES, NULL), *e;
	const json_t *members = json_object_get(t, "members");
	const char *team = json_string_value(json_object_get(t, "team")), *key_state;
	struct table tb;
	long long kg;
	size_t i;

	if (t == NULL || team == NULL || !json_is_array(members)) {
		json_decref(t);
		return fail(VARSKO_ERR_PROTOCOL, "the team is malformed");
	}
	if (json_integer_value(json_object_get(t, "seq")) == 0) {
		printf("Teamet %s har ingen teamkæde endnu. En administrator opretter den med\n", team_name(team));
		printf("    varsko team create %s LEDER\n", team);
		json_decref(t);
		return EXIT_SUCCESS;
	}
	printf("Teamet %s efter den verificerede teamkæde (%lld led):\n", team_name(team),
	       (long long)json_integer_value(json_object_get(t, "seq")));
	if (table_init(&tb, 4, NULL) != 0) {
		json_decref(t);
		return fail(VARSKO_ERR_NOMEM, NULL);
	}
	json_array_foreach(members, i, e)
	{
		json_int_t pinned = json_integer_value(json_object_get(e, "uk_generation"));
		json_int_t now = json_integer_value(json_object_get(e, "current_generation"));
		const char *row[4], *user = json_string_value(json_object_get(e, "user"));
		const char *name = json_string_value(json_object_get(e, "name"));
		char note[160], who[VARSKO_NAME_MAX + VARSKO_ID_MAX + 4];

		/* The member by name, the id beside it (the name from a certificate of the member's verified chain). */
		if (name != NULL && name[0] != '\0')
			snprintf(who, sizeof(who), "%s (%s)", name, user != NULL ? user : "?");
		else
			snprintf(who, sizeof(who), "%s", user != NULL ? user : "?");
		snprintf(note, sizeof(note), "%s%s", json_is_true(json_object_get(e, "this")) ? "(dig)  " : "",
		         now != pinned ? "brugernøgle skiftet siden" : "");
		if (now != pinned)
			snprintf(note + strlen(note), sizeof(note) - strlen(note), " (generation %lld, nu %lld)",
			         (long long)pinned, (long long)now);
		row[0] = who;
		row[1] = team_role_label(json_string_value(json_object_get(e, "role")));
		row[2] = json_is_true(json_object_get(e, "leder")) ? "leder" : "";
		row[3] = note;
		if (table_row(&tb, row) != 0) {
			table_print_free(&tb, -1);
			json_decref(t);
			return fail(VARSKO_ERR_NOMEM, NULL);
		}
	}
	table_print_free(&tb, 2);
	key_state = json_string_value(json_object_get(t, "key_state"));
	kg = (long long)json_integer_value(json_object_get(t, "key_generation"));
	if (key_state == NULL || strcmp(key_state, "none") == 0)
		printf("ingen teamnøgle endnu ('varsko team key %s' laver den)\n", team);
	else if (strcmp(key_state, "stale") == 0)
		printf("teamnøgle: generation %lld; teamnøglen skal fornyes (et medlem er fjernet eller har fået\n"
		       "ny brugernøgle; teamets fagsystem gør det selv, eller kør 'varsko team key %s')\n",
		       kg, team);
	else if (strcmp(key_state, "missing") == 0)
		printf("teamnøgle: generation %lld (et eller flere medlemmer mangler endnu deres kopi)\n", kg);
	else
		printf("teamnøgle: generation %lld\n", kg);
	if (json_is_true(json_object_get(t, "leder")))
		printf("Du er leder af teamet og kan ændre det.\n");
	else if (json_is_true(json_object_get(t, "admin")))
		printf("Du er administrator efter organisationskæden og kan ændre teamet.\n");
	json_decref(t);
	return EXIT_SUCCESS;
}

static int run_team_show(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_team_show(conn, o->pos[0], &json)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		team_hint(r);
		goto out;
	}
	if (o->json) {
		printf("%s\n", json);
		rc = EXIT_SUCCESS;
		goto out;
	}
	rc = print_team(json);
out:
	varsko_free(json);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

enum team_op { TEAM_CREATE, TEAM_ADD, TEAM_REMOVE, TEAM_LEDER_ADD, TEAM_LEDER_REMOVE };

static int run_team_change(struct opts *o, enum team_op op)
{
	static const char *const op_name[] = {"team_create", "member_add", "member_remove", "leder_add",
	                                      "leder_remove"};
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	const char *team = o->pos[0], *user = o->pos[1];
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	switch (op) {
	case TEAM_CREATE:
		r = varsko_team_create(conn, team, user);
		break;
	case TEAM_ADD:
		r = varsko_team_add(conn, team, user);
		break;
	case TEAM_REMOVE:
		r = varsko_team_remove(conn, team, user);
		break;
	default:
		r = varsko_team_leder(conn, team, user, op == TEAM_LEDER_ADD);
		break;
	}
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		team_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:s, s:s}", "op", op_name[op], "team", team, "user", user);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	switch (op) {
	case TEAM_CREATE:
		printf("Teamet %s er oprettet i teamkæden med %s som første leder.\n", team, user);
		break;
	case TEAM_ADD:
		printf("%s er tilføjet teamet %s ('varsko team show %s' viser rollen).\n", user, team, team);
		break;
	case TEAM_REMOVE:
		printf("%s er fjernet fra teamet %s.\n", user, team);
		break;
	case TEAM_LEDER_ADD:
		printf("%s er nu leder af teamet %s.\n", user, team);
		break;
	case TEAM_LEDER_REMOVE:
		printf("%s er ikke længere leder af teamet %s.\n", user, team);
		break;
	}
	rc = EXIT_SUCCESS;
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* varsko team key TEAM: teamkey_maintain() as a member (varsko_team_key). */
static int run_team_key(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	const char *team = o->pos[0];
	int r, rc, changed = 0;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_team_key(conn, team, &changed)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		if (r == VARSKO_ERR_NOT_MEMBER)
			fprintf(stderr, "Kun et medlem af teamet (efter teamkæden) kan lave teamets nøgle.\n");
		else if (r == VARSKO_ERR_NOT_FOUND)
			fprintf(stderr, "Du har endnu ingen kopi af teamets nøgle; teamets fagsystem eller et andet\n"
			                "medlem tilføjer den.\n");
		else if (r == VARSKO_ERR_STALE_KEY)
			fprintf(stderr, "Teamet eller en brugernøgle er ændret imens; kør kommandoen igen.\n");
		else
			team_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:i}", "team", team, "changed", changed);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	if (changed == 2)
		printf("Teamet %s har fået en ny teamnøgle, krypteret til alle medlemmers brugernøgler.\n", team);
	else if (changed == 1)
		printf("Teamnøglen for %s er krypteret til de medlemmer, der manglede den.\n", team);
	else
		printf("Teamnøglen for %s er i orden; intet at gøre.\n", team);
	rc = EXIT_SUCCESS;
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_team_create(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_team_change(o, TEAM_CREATE);
}

static int run_team_add(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_team_change(o, TEAM_ADD);
}

static int run_team_remove(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_team_change(o, TEAM_REMOVE);
}

static int run_team_leder_add(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_team_change(o, TEAM_LEDER_ADD);
}

static int run_team_leder_remove(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_team_change(o, TEAM_LEDER_REMOVE);
}

/* ---- thread ---------------------------------------------------------------------------------- */

#define THREAD_TEXT_FILE_MAX (VARSKO_THREAD_TEXT_MAX + 1) /* a message read from standard input ("-") */

/* Said with every new thread, message and read of an anonymous thread (anonym sparring). */
static void anonym_reminder(FILE *f)
{
	fprintf(f, "Husk: dette er anonym sparring. Skriv ikke barnets navn, CPR-nummer, adresse eller andet,\n"
	           "der kan identificere barnet eller familien.\n");
}

/* Hints in Danish after the two error lines of a failed thread command. */
static void thread_hint(int r)
{
	if (r == VARSKO_ERR_NOT_FOUND)
		fprintf(stderr, "Tråden findes ikke, eller du er ikke (længere) medlem af den ('varsko thread list'\n"
		                "viser dine tråde).\n");
	else if (r == VARSKO_ERR_NOT_MEMBER)
		fprintf(stderr, "Du er ikke medlem af tråden efter dens underskrevne medlemsliste.\n");
	else if (r == VARSKO_ERR_FORBIDDEN)
		fprintf(stderr, "Kun trådens opretter og rådgiverne i tråden kan tilføje og fjerne medlemmer; et\n"
		                "medlem skal være fagperson eller rådgiver på institutionen eller leder for en\n"
		                "rådgiver i tråden.\n");
	else if (r == VARSKO_ERR_BAD_CHAIN || r == VARSKO_ERR_BAD_SIGNATURE || r == VARSKO_ERR_BAD_CERT ||
	         r == VARSKO_ERR_NOT_CROSS_SIGNED)
		fprintf(stderr, "Trådens medlemsliste, en besked eller et medlems brugerkæde kan ikke verificeres;\n"
		                "intet er vist eller sendt. Kontakt it-supporten.\n");
	else if (r == VARSKO_ERR_STALE_KEY)
		fprintf(stderr, "Medlemmerne eller deres nøgler er ændret imens; kør kommandoen igen.\n");
}

/*
 * Print text (from people, decrypted) for a terminal: every line indented by
 * `indent` spaces, control characters (C0 but line feed and tab, DEL, C1)
 * shown as '?', so that no text can move the cursor or change the terminal.
 */
static void print_people_text(const char *s, int indent)
{
	const unsigned char *p = (const unsigned char *)s;

	printf("%*s", indent, "");
	for (; *p != '\0'; p++) {
		if (*p == '\n') {
			printf("\n%*s", indent, "");
		} else if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			putchar('?');
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putchar('?');
			p++;
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
}

static int run_thread_new(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_thread_new a;
	char thread[VARSKO_THREAD_ID_LEN + 1] = "";
	int r, rc;

	if (o->institution == NULL || o->title == NULL)
		return usage_error(cmd, "thread new kræver --institution og --title");
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if (o->anonym)
		anonym_reminder(stderr);
	memset(&a, 0, sizeof(a));
	a.institution = o->institution;
	a.title = o->title;
	a.text = o->besked;
	a.anonymous = o->anonym;
	a.members = o->members;
	a.n_members = o->n_members;
	if ((r = varsko_thread_create(conn, &a, thread)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		if (r == VARSKO_ERR_BAD_INPUT && thread[0] == '\0')
			fprintf(stderr, "Kontrollér titlen og beskeden. De rådgivere, der er tilknyttet institutionen,\n"
			                "skal være med fra starten; en server, der ikke oplyser dem, kræver dem\n"
			                "nævnt med --member BRUGER.\n");
		else if (thread[0] != '\0')
			fprintf(stderr, "Tråden %s er oprettet, men den første besked (med titlen) blev ikke sendt.\n",
			        thread);
		else
			thread_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:s, s:b}", "thread", thread, "institution", o->institution, "anonymous",
		                       o->anonym != 0);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	printf("Tråden er oprettet: %s\n", thread);
	printf("Titlen og den første besked er sendt krypteret til trådens medlemmer ('varsko thread\n"
	       "members %s' viser dem).\n",
	       thread);
	rc = EXIT_SUCCESS;
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_thread_list(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL, t[VARSKO_LOCAL_LEN + 1];
	json_t *obj = NULL, *arr, *it;
	size_t i;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_thread_list(conn, &json)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	if (o->json) {
		printf("%s\n", json);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if ((obj = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(arr = json_object_get(obj, "threads"))) {
		rc = fail(VARSKO_ERR_PROTOCOL, "the list is malformed");
		goto out;
	}
	if (json_array_size(arr) == 0) {
		printf("Du er ikke medlem af nogen tråde.\n");
		rc = EXIT_SUCCESS;
		goto out;
	}
	{
		static const char *const head[] = {"Tråd", "Institution", "Anonym", "Beskeder", "Seneste"};
		struct table tb;

		if (table_init(&tb, 5, head) != 0) {
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
		json_array_foreach(arr, i, it)
		{
			const char *last = json_string_value(json_object_get(it, "last_time"));
			const char *row[5];
			char n[24], seen[VARSKO_LOCAL_LEN + 16];

			snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(it, "last_seq")));
			if (last != NULL)
				show_time(last, t);
			row[0] = json_string_value(json_object_get(it, "thread"));
			row[1] = inst_name(json_string_value(json_object_get(it, "institution")));
			row[2] = json_is_true(json_object_get(it, "anonymous")) ? "ja" : "nej";
			row[3] = n;
			/* A purged thread (its messages deleted after the retention period) says so. */
			snprintf(seen, sizeof(seen), "%s%s", last != NULL ? t : "-",
			         json_object_get(it, "purged") != NULL ? " (slettet)" : "");
			row[4] = seen;
			if (table_row(&tb, row) != 0) {
				table_print_free(&tb, -1);
				rc = fail(VARSKO_ERR_NOMEM, NULL);
				goto out;
			}
		}
		table_print_free(&tb, 0);
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(obj);
	varsko_free(json);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* "-": the message from standard input (at most VARSKO_THREAD_TEXT_MAX bytes; one final newline dropped). */
static int read_stdin_text(char **out, size_t *len)
{
	int r = file_read("/dev/stdin", THREAD_TEXT_FILE_MAX, FILE_STREAM, out, len);

	if (r == VARSKO_OK && *len > 0 && (*out)[*len - 1] == '\n')
		(*out)[--*len] = '\0';
	return r;
}

/* The media type of a file by its name's ending (what people attach), else application/octet-stream. */
static const char *media_type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	        {".pdf", "application/pdf"},
	        {".txt", "text/plain"},
	        {".csv", "text/csv"},
	        {".png", "image/png"},
	        {".jpg", "image/jpeg"},
	        {".jpeg", "image/jpeg"},
	        {".heic", "image/heic"},
	        {".doc", "application/msword"},
	        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	        {".odt", "application/vnd.oasis.opendocument.text"},
	        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	        {".json", "application/json"},
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t k = strlen(types[i].ext);

		if (n > k && strcasecmp(name + n - k, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* varsko thread send ID [TEKST] --file PATH: the file as an attachment, TEKST (optional) beside it. */
static int thread_send_file(struct varsko_conn *conn, struct opts *o, const char *text)
{
	const char *base = strrchr(o->file, '/') != NULL ? strrchr(o->file, '/') + 1 : o->file;
	char *data = NULL;
	size_t len = 0;
	uint64_t seq = 0, from = 0;
	int r, rc, anon = 0;

	if ((r = file_read(o->file, (size_t)1 << 30, 0, &data, &len)) != VARSKO_OK)
		return fail(r, r == VARSKO_ERR_NOT_FOUND ? "the file given with --file does not exist"
		                                         : "the file given with --file cannot be read");
	r = varsko_thread_send_file(conn, o->pos[0], base, media_type_of(base), (const uint8_t *)data, len, text, &seq,
	                            &anon, &from);
	file_free(data, len, 0);
	if (anon)
		anonym_reminder(stderr);
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		if (varsko_upload_kept(r))
			fprintf(stderr, "varsko: Det, der nåede frem, er gemt. Send samme fil igen, så fortsætter "
			                "overførslen, hvor den slap.\n");
		return rc;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:I, s:b, s:s, s:I, s:I}", "thread", o->pos[0], "seq", (json_int_t)seq,
		                       "anonymous", anon != 0, "name", base, "size", (json_int_t)len, "resumed_from",
		                       (json_int_t)from);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		return rc;
	}
	if (from > 0)
		printf("Overførslen fortsatte fra byte %llu, hvor den slap.\n", (unsigned long long)from);
	printf("Bilaget %s (%zu bytes) er krypteret på denne enhed og sendt som besked %llu til trådens medlemmer.\n",
	       base, len, (unsigned long long)seq);
	return EXIT_SUCCESS;
}

static int run_thread_send(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	const char *text = o->npos > 1 ? o->pos[1] : NULL;
	char *in = NULL;
	size_t in_len = 0;
	uint64_t seq = 0;
	int r, rc, anon = 0;

	if (text == NULL && o->file == NULL)
		return usage_error(cmd, "skriv en TEKST, eller giv en fil med --file");
	if (text != NULL && strcmp(text, "-") == 0) {
		if ((r = read_stdin_text(&in, &in_len)) != VARSKO_OK)
			return fail(r, r == VARSKO_ERR_TOO_LARGE ? "the message is too long; nothing was sent"
			                                         : "cannot read the message from standard input");
		text = in;
	}
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if (o->file != NULL) {
		rc = thread_send_file(conn, o, text);
		goto out;
	}
	r = varsko_thread_send(conn, o->pos[0], text, &seq, &anon);
	if (anon)
		anonym_reminder(stderr);
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:I, s:b}", "thread", o->pos[0], "seq", (json_int_t)seq, "anonymous",
		                       anon != 0);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	printf("Besked %llu er sendt krypteret til trådens medlemmer.\n", (unsigned long long)seq);
	rc = EXIT_SUCCESS;
out:
	file_free(in, in_len, FILE_STREAM);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static const char *thread_role_label(const char *role)
{
	if (role == NULL)
		return "?";
	if (strcmp(role, "raadgiver") == 0)
		return "rådgiver";
	return role;
}

/* Who has an own message and who read it, per member (the "marks" of varsko_thread_read()). */
static void print_marks(const json_t *marks)
{
	const json_t *m;
	size_t i;

	json_array_foreach(marks, i, m)
	{
		const char *user = json_string_value(json_object_get(m, "user"));
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *lev = json_string_value(json_object_get(m, "leveret"));
		const char *laest = json_string_value(json_object_get(m, "laest"));
		char t1[VARSKO_LOCAL_LEN + 1], t2[VARSKO_LOCAL_LEN + 1];

		printf("        %s%s%s%s: ", name != NULL && name[0] != '\0' ? name : "", name != NULL && name[0] ? " (" : "",
		       user != NULL ? user : "?", name != NULL && name[0] ? ")" : "");
		if (laest != NULL) {
			show_time(lev != NULL ? lev : laest, t1);
			show_time(laest, t2);
			printf("leveret %s, læst %s\n", t1, t2);
		} else if (lev != NULL) {
			show_time(lev, t1);
			printf("leveret %s, ikke læst endnu\n", t1);
		} else {
			printf("ikke leveret endnu\n");
		}
	}
}

static int print_thread_read(const char *json)
{
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	const json_t *msgs = json_object_get(o, "messages"), *m, *file;
	const char *title = json_string_value(json_object_get(o, "title"));
	char t[VARSKO_LOCAL_LEN + 1];
	size_t i;

	if (o == NULL || !json_is_array(msgs)) {
		json_decref(o);
		return fail(VARSKO_ERR_PROTOCOL, "the thread is malformed");
	}
	printf("Tråd %s, institution %s\n", json_string_value(json_object_get(o, "thread")),
	       inst_name(json_string_value(json_object_get(o, "institution"))));
	if (title != NULL) {
		printf("Titel: ");
		print_people_text(title, 0);
	}
	if (json_is_true(json_object_get(o, "anonymous")))
		anonym_reminder(stdout);
	if (json_array_size(msgs) == 0)
		printf("Ingen beskeder.\n");
	if (json_is_true(json_object_get(o, "older")) && json_array_size(msgs) > 0)
		printf("(ældre beskeder: varsko thread read %s --before %lld)\n",
		       json_string_value(json_object_get(o, "thread")),
		       (long long)json_integer_value(json_object_get(json_array_get(msgs, 0), "seq")));
	json_array_foreach(msgs, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *user = json_string_value(json_object_get(m, "user"));

		show_time(json_string_value(json_object_get(m, "received")), t);
		printf("\n#%lld  %s  %s (%s)%s%s\n", (long long)json_integer_value(json_object_get(m, "seq")), t,
		       name != NULL ? name : "?", user != NULL ? user : "?",
		       json_is_true(json_object_get(m, "own")) ? "  (dig)" : "",
		       json_is_true(json_object_get(m, "new")) ? "  ny" : "");
		if (json_object_get(m, "text") != NULL)
			print_people_text(json_string_value(json_object_get(m, "text")), 4);
		if (json_object_get(m, "reference") != NULL)
			printf("    Underretning %s er sendt fra denne tråd (kun referencen står her; indholdet er hos\n"
			       "    myndigheden).\n",
			       json_string_value(json_object_get(m, "reference")));
		if ((file = json_object_get(m, "file")) != NULL) {
			printf("    Bilag: ");
			print_people_text(json_string_value(json_object_get(file, "name")), 0);
			printf("           %s, %lld bytes. Hent det med: varsko thread fetch %s %lld --out FIL\n",
			       json_string_value(json_object_get(file, "media_type")),
			       (long long)json_integer_value(json_object_get(file, "size")),
			       json_string_value(json_object_get(o, "thread")),
			       (long long)json_integer_value(json_object_get(m, "seq")));
		}
		if (json_is_true(json_object_get(m, "own")))
			print_marks(json_object_get(m, "marks"));
	}
	if (json_is_true(json_object_get(o, "more")))
		printf("\nDer er flere nye beskeder: kør 'varsko thread read %s' igen.\n",
		       json_string_value(json_object_get(o, "thread")));
	printf("\nAlle beskeder er verificeret mod kommunens nøgle og afsendernes brugerkæder.\n");
	json_decref(o); /* plaintext: wiped by libvarsko's allocator */
	return EXIT_SUCCESS;
}

static int run_thread_read(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL;
	size_t len = 0;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_thread_read(conn, o->pos[0], (uint64_t)o->before, 1, &json, &len)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_loads(json, JSON_REJECT_DUPLICATES, NULL);

		if (json_is_true(json_object_get(jo, "anonymous")))
			anonym_reminder(stderr);
		json_decref(jo); /* plaintext: wiped by libvarsko's allocator */
		fwrite(json, 1, len, stdout);
		putchar('\n');
		rc = EXIT_SUCCESS;
		goto out;
	}
	rc = print_thread_read(json);
out:
	fflush(stdout);
	varsko_free_secret(json, len);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/*
 * A fetched attachment into the new file --out (private, never over an
 * existing one: the bytes may be about a child), then said in Danish or
 * as JSON {idkey: pos[0], numkey: n, "name", "media_type", "size", "out"}.
 */
static int save_attachment(struct opts *o, const char *idkey, const char *numkey, unsigned long long n,
                           const char *name, const char *type, const uint8_t *data, size_t len, const char *whose)
{
	int r, rc;

	if ((r = file_write_new(o->out, data, len, 0600)) != VARSKO_OK)
		return fail(r, r == VARSKO_ERR_EXISTS ? "the file given with --out exists already; nothing was overwritten"
		                                      : "the file given with --out cannot be written");
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}", idkey, o->pos[0], numkey, (json_int_t)n, "name",
		                       name, "media_type", type, "size", (json_int_t)len, "out", o->out);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		return rc;
	}
	printf("Bilaget ");
	print_people_text(name, 0);
	printf("(%s, %zu bytes) er hentet, dekrypteret og kontrolleret mod %s SHA-256 og gemt i %s.\n", type, len,
	       whose, o->out);
	return EXIT_SUCCESS;
}

static int run_thread_fetch(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char name[VARSKO_FILE_NAME_MAX + 1] = "", type[VARSKO_MEDIA_TYPE_MAX + 1] = "", *end;
	uint8_t *data = NULL;
	size_t len = 0;
	unsigned long long seq;
	int r, rc;

	errno = 0;
	seq = strtoull(o->pos[1], &end, 10);
	if (errno != 0 || end == o->pos[1] || *end != '\0' || seq == 0)
		return usage_error(cmd, "BESKED er beskedens nummer (fra 1), som 'varsko thread read' viser det");
	if (o->out == NULL)
		return usage_error(cmd, "giv filen, bilaget skal gemmes i, med --out FIL");
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_thread_fetch(conn, o->pos[0], (uint64_t)seq, &data, &len, name, type)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	rc = save_attachment(o, "thread", "seq", seq, name, type, data, len, "beskedens");
out:
	if (data != NULL)
		varsko_free_secret(data, len);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

/* varsko myndighed bilag REF N --out FIL: an underretning's attachment, opened on this device. */
static int run_bilag(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char name[VARSKO_FILE_NAME_MAX + 1] = "", type[VARSKO_MEDIA_TYPE_MAX + 1] = "", *end;
	uint8_t *data = NULL;
	size_t len = 0;
	unsigned long long n;
	int r, rc;

	errno = 0;
	n = strtoull(o->pos[1], &end, 10);
	if (errno != 0 || end == o->pos[1] || *end != '\0' || n == 0 || n > 16)
		return usage_error(cmd, "N er bilagets nummer (1 til 16), som 'varsko myndighed show' viser det");
	if (o->out == NULL)
		return usage_error(cmd, "giv filen, bilaget skal gemmes i, med --out FIL");
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_underretning_attachment(conn, o->pos[0], (size_t)n, &data, &len, name, type)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	rc = save_attachment(o, "reference", "number", n, name, type, data, len, "underretningens");
out:
	if (data != NULL)
		varsko_free_secret(data, len);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_thread_members(const struct command *cmd, struct opts *o)
{
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	char *json = NULL;
	json_t *t = NULL;
	struct table tb;
	const json_t *e;
	size_t i;
	int r, rc;

	(void)cmd;
	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	if ((r = varsko_thread_members(conn, o->pos[0], &json)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	if (o->json) {
		printf("%s\n", json);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if ((t = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	printf("Tråd %s, institution %s, efter den verificerede medlemsliste (version %lld):\n",
	       json_string_value(json_object_get(t, "thread")),
	       inst_name(json_string_value(json_object_get(t, "institution"))),
	       (long long)json_integer_value(json_object_get(t, "version")));
	if (json_is_true(json_object_get(t, "anonymous")))
		anonym_reminder(stdout);
	if (table_init(&tb, 4, NULL) != 0) {
		rc = fail(VARSKO_ERR_NOMEM, NULL);
		goto out;
	}
	json_array_foreach(json_object_get(t, "members"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *row[4];
		char note[200] = "";

		if (!json_is_true(json_object_get(e, "present")))
			snprintf(note, sizeof(note), "ikke længere medlem (fra version %lld)",
			         (long long)json_integer_value(json_object_get(e, "removed")));
		else if (!json_is_true(json_object_get(e, "admitted")))
			snprintf(note, sizeof(note), "må ikke være medlem efter sit certifikat nu: fjern medlemmet");
		if (json_is_true(json_object_get(e, "creator")))
			snprintf(note + strlen(note), sizeof(note) - strlen(note), "%sopretter", note[0] ? "  " : "");
		if (json_is_true(json_object_get(e, "this")))
			snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s(dig)", note[0] ? "  " : "");
		row[0] = json_string_value(json_object_get(e, "user"));
		row[1] = thread_role_label(json_string_value(json_object_get(e, "role")));
		row[2] = name != NULL ? name : "";
		row[3] = note;
		if (table_row(&tb, row) != 0) {
			table_print_free(&tb, -1);
			rc = fail(VARSKO_ERR_NOMEM, NULL);
			goto out;
		}
	}
	table_print_free(&tb, 2);
	rc = EXIT_SUCCESS;
out:
	json_decref(t);
	varsko_free(json);
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

enum thread_op { THREAD_ADD, THREAD_REMOVE, THREAD_LEAVE };

static int run_thread_change(struct opts *o, enum thread_op op)
{
	static const char *const op_name[] = {"thread_member_add", "thread_member_remove", "thread_member_leave"};
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_identity id;
	const char *thread = o->pos[0], *user;
	int r, rc;

	if ((rc = connect_home(o, &h, &conn)) != EXIT_SUCCESS)
		goto out;
	(void)varsko_conn_identity(conn, &id);
	user = op == THREAD_LEAVE ? id.user : o->pos[1];
	if (op == THREAD_ADD)
		r = varsko_thread_add(conn, thread, user);
	else if (op == THREAD_REMOVE)
		r = varsko_thread_remove(conn, thread, user);
	else
		r = varsko_thread_leave(conn, thread);
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		thread_hint(r);
		goto out;
	}
	if (o->json) {
		json_t *jo = json_pack("{s:s, s:s, s:s}", "op", op_name[op], "thread", thread, "user", user);

		rc = jo != NULL ? print_json_obj(jo) : fail(VARSKO_ERR_NOMEM, NULL);
		json_decref(jo);
		goto out;
	}
	if (op == THREAD_ADD)
		printf("%s er tilføjet tråden %s; nye beskeder krypteres også til %s.\n", user, thread, user);
	else if (op == THREAD_REMOVE)
		printf("%s er fjernet fra tråden %s; intet, der sendes herefter, kan læses af %s.\n", user, thread,
		       user);
	else
		printf("Du har forladt tråden %s; intet, der sendes herefter, krypteres til dig.\n", thread);
	rc = EXIT_SUCCESS;
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

static int run_thread_add(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_thread_change(o, THREAD_ADD);
}

static int run_thread_remove(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_thread_change(o, THREAD_REMOVE);
}

static int run_thread_leave(const struct command *cmd, struct opts *o)
{
	(void)cmd;
	return run_thread_change(o, THREAD_LEAVE);
}

/* ---- the command table ------------------------------------------------------------------------ */

static const struct command commands[] = {
        {NULL, "enroll", O_SERVER | O_CODE | O_FPR | O_LABEL, 0,
         "usage: varsko enroll --server URL --code CODE [--fingerprint FPR] [--label LABEL]\n"
         "\n"
         "Lav enhedens nøgler og tilmeld dem serveren med en engangskode fra\n"
         "administratoren. Kommunens nøgle gemmes (pinnes) til senere brug.\n"
         "\n"
         "  --server URL        serveren, wss://HOST:PORT/\n"
         "  --code CODE         tilmeldingskoden\n"
         "  --fingerprint FPR   kommunens nøglefingeraftryk, som stod sammen med koden;\n"
         "                      tilmeldingen afvises, hvis serverens nøgle er en anden\n"
         "  --label LABEL       et kort navn på enheden\n"
         "  (--ca FILE er påkrævet her, eller VARSKO_CA)\n"
         "\n"
         "Derefter sættes din brugernøgle op. Er det din første enhed, laves nøglen, og\n"
         "din gendannelseskode vises én gang (--json: \"recovery_code\"): skriv den ned.\n"
         "Har du allerede en enhed, er den nye ikke godkendt, før du kører\n"
         "'varsko device recover' med gendannelseskoden. Går opsætningen galt, står\n"
         "tilmeldingen stadig (exit 0, besked på stderr; --json: \"user_key_state\":\"failed\"),\n"
         "og 'varsko whoami' gør den færdig.\n"
         "\n"
         "Har kommunen en organisationskæde, er fingeraftrykket kommunens rodnøgles; den\n"
         "gemmes også, og ved første login skal kæden, verificeret fra rodnøglen, godkende\n"
         "den nøgle, serveren tilmeldte enheden med. Ellers bruges enheden ikke\n"
         "(bad_chain, exit 1).\n",
         run_enroll},
        {"config", "show", 0, 0,
         "usage: varsko config show\n"
         "\n"
         "Vis hjemmemappens indstillinger: serverens adresse (uden netværk;\n"
         "--json: {\"server\"}).\n",
         run_config_show},
        {"config", "set", 0, 2,
         "usage: varsko config set server wss://VÆRT:PORT\n"
         "\n"
         "Flyt enheden til en ny serveradresse, når serveren er flyttet eller har fået\n"
         "nyt navn. Enheden logger ind på den nye adresse først (samme kommune, samme\n"
         "enhed); kun når det lykkes, gemmes adressen. Ellers ændres intet.\n",
         run_config_set},
        {NULL, "whoami", 0, 0,
         "usage: varsko whoami\n"
         "\n"
         "Log ind og vis, hvem enheden tilhører, som dens certifikat siger, brugerens\n"
         "enheder efter den verificerede brugerkæde, og om enheden har brugernøglen.\n"
         "En opsætning af brugernøglen, der blev afbrudt, gøres færdig her.\n"
         "(--json: user, name, role, team, institutions, device, not_after, user_key,\n"
         "user_key_generation, og recovery_code, hvis en ny kode blev lavet).\n",
         run_whoami},
        {"device", "recover", O_CODE, 0,
         "usage: varsko device recover [--code CODE]\n"
         "\n"
         "Godkend denne enhed som din med din gendannelseskode: enheden får din\n"
         "brugernøgle og skrives i din brugerkæde. Uden --code læses koden fra\n"
         "standard input (uden at blive vist). Hvert forsøg tælles; efter 10 forkerte\n"
         "koder er gendannelsen spærret, til en administrator låser den op.\n"
         "\n"
         "  --code CODE   gendannelseskoden, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X\n",
         run_recover},
        {"device", "revoke", 0, 1,
         "usage: varsko device revoke DEVICE [--json]\n"
         "\n"
         "Fjern en anden af dine enheder (en mistet eller udskiftet), d-<16 hex> fra\n"
         "'varsko device list'. Enheden skrives ud af din brugerkæde og kan ikke længere\n"
         "logge ind, og din brugernøgle skiftes: den nye nøgle får kun dine andre\n"
         "enheder, så intet, der sendes til dig fremover, kan læses på den fjernede. Da\n"
         "den gamle gendannelseskode ikke giver den nye nøgle, vises en ny gendannelses-\n"
         "kode én gang. Denne enhed kan ikke fjerne sig selv.\n"
         "(--json: {\"revoked\", \"recovery_code\"}).\n",
         run_device_revoke},
        {"device", "list", 0, 0,
         "usage: varsko device list\n"
         "\n"
         "Dine enheder efter den verificerede brugerkæde: hvornår de blev tilføjet, om\n"
         "de er tilbagekaldt, og om de har brugernøglen. En enhed, som serveren kender,\n"
         "men som kæden ikke nævner, er ikke din (--json: varsko_user_devices()).\n",
         run_device_list},
        {"device", "request", O_TIMEOUT, 0,
         "usage: varsko device request [--timeout SEKUNDER]\n"
         "\n"
         "Bed om at få denne nye enhed godkendt fra en af dine andre enheder i stedet\n"
         "for med gendannelseskoden. Kør derefter 'varsko device approve' på den anden\n"
         "enhed. Når den har svaret, vises en linje\n"
         "\n"
         "    Godkendelseskode: 123 456\n"
         "\n"
         "Indtast koden på den anden enhed; stemmer den, får denne enhed din\n"
         "brugernøgle, og kommandoen slutter med exit 0. En anmodning gælder i 10\n"
         "minutter, og en ny anmodning erstatter den forrige.\n"
         "\n"
         "  --timeout SEKUNDER   giv op efter så mange sekunder (standard: når\n"
         "                       anmodningen udløber)\n"
         "  --json               én JSON-linje pr. trin: {\"event\":\"requested\"|\"code\"|\n"
         "                       \"approved\"|\"failed\",\"approval\",...}; \"code\" har\n"
         "                       koden som seks cifre, \"failed\" har \"error\" og \"detail\"\n",
         run_request},
        {"device", "approve", O_APPROVAL | O_CODE | O_TIMEOUT, 0,
         "usage: varsko device approve [--approval ID] [--code KODE] [--timeout SEKUNDER]\n"
         "\n"
         "Godkend en ny enhed, der har kørt 'varsko device request', fra denne enhed,\n"
         "som har din brugernøgle. Er der én åben anmodning, tages den; er der flere,\n"
         "vises de, og du vælger med --approval. Når den nye enhed viser sin\n"
         "godkendelseskode, spørges der om koden:\n"
         "\n"
         "    Indtast koden, som den nye enhed viser:\n"
         "\n"
         "Stemmer koden, skrives den nye enhed i din brugerkæde og får brugernøglen.\n"
         "Er koderne forskellige, godkendes intet (approval_failed, exit 1), og den nye\n"
         "enhed må starte forfra.\n"
         "\n"
         "  --approval ID        anmodningen, a-<16 hex>\n"
         "  --code KODE          koden, som den nye enhed viser (ellers læses den fra\n"
         "                       standard input)\n"
         "  --timeout SEKUNDER   giv op efter så mange sekunder\n"
         "  --json               én JSON-linje pr. trin: {\"event\":\"revealed\"|\"approved\"|\n"
         "                       \"failed\",\"approval\",...}\n",
         run_approve},
        {"underret", "send", O_SUBMISSION | O_TRAAD | O_BILAG, 1,
         "usage: varsko underret send FILE.json [--bilag FIL]... [--submission ID] [--traad ID]\n"
         "\n"
         "Kontrollér underretningen i FILE.json, find modtagerteamet, kryptér den til\n"
         "præcis teamets enheder, send den, kontrollér varskods kvittering og gem den\n"
         "som $VARSKO_HOME/receipts/<REF>.json. Et ugyldigt dokument sendes ikke: fejlen\n"
         "nævner feltet (JSON-sti) og problemet, aldrig værdien.\n"
         "\n"
         "  --submission ID   indsendelses-id (standard: afledt af bruger og fil, så samme\n"
         "                    fil sendt igen genkendes og giver samme kvittering)\n"
         "  --bilag FIL       vedhæft FIL (højst 16, hver højst max_attachment, som standard\n"
         "                    25 MiB): krypteres her med en ny nøgle, som kun står i\n"
         "                    underretningen; afbrydes forbindelsen, så send igen med de samme\n"
         "                    filer, og overførslen fortsætter, hvor den slap\n"
         "  --traad ID        underretningen er lavet fra tråden ID (se 'underret skabelon\n"
         "                    --traad'): tråden får referencen som en underskrevet besked, aldrig\n"
         "                    indholdet; trådens medlemmer får ikke underretningen\n"
         "  --json            kvitteringsobjektet plus \"duplicate\", \"no_reader\" (og med\n"
         "                    --traad \"thread\", \"thread_seq\")\n",
         run_send},
        {"underret", "skabelon", O_TRAAD | O_MEDTAG, 0,
         "usage: varsko underret skabelon [--traad ID [--medtag BESKED]...]\n"
         "\n"
         "Skriv en skabelon til en underretning på stdout, med alle felter og en kort\n"
         "forklaring i hvert: gem den i en fil, udfyld den, og send den med\n"
         "'varsko underret send FIL'. Skabelonen kan ikke sendes, før dato, institution\n"
         "og tekster er udfyldt. Felter: se PROTOCOL.md 11.3 eller deploy/demo/\n"
         "underretning-example.json.\n"
         "\n"
         "  --traad ID        lav underretningen fra en tråd: skabelonen får trådens\n"
         "                    institution og dit navn; intet andet tages med, med mindre\n"
         "                    du vælger det\n"
         "  --medtag BESKED   tag tekst fra trådens besked nummer BESKED med under\n"
         "                    \"observations\" (kan gentages); beskederne dekrypteres her\n"
         "                    og forlader ikke denne computer før du sender\n",
         run_template},
        {"underret", "list", 0, 0,
         "usage: varsko underret list\n"
         "\n"
         "Dine egne underretninger og deres status (--json: {\"items\":[...]}).\n",
         run_list},
        {"underret", "status", 0, 1,
         "usage: varsko underret status REF\n"
         "\n"
         "Underretningens forløb, hvert trin verificeret mod kommunens nøgle; beskeder\n"
         "til dig (kvittering, tilbagemelding) dekrypteres. --json: {\"reference\",\n"
         "\"steps\":[{\"step\",\"time\",\"role\",\"team\",\"device\",\"verified\",\"message\"?}]}.\n",
         run_status},
        {"underret", "show", 0, 1,
         "usage: varsko underret show REF\n"
         "\n"
         "Vis din egen kopi af en underretning, du har sendt: hentet, verificeret og\n"
         "dekrypteret med din brugernøgle, så den kan læses på alle dine enheder, også\n"
         "en ny. --json: {\"reference\",\"receipt\",\"document\"}.\n",
         run_show},
        {"receipt", "verify", 0, 1,
         "usage: varsko receipt verify FILE\n"
         "\n"
         "Kontrollér en gemt kvittering uden netværk mod kommunens nøgle og varskods\n"
         "certifikat i hjemmemappen. Skriver \"ok\" og referencen (exit 0) eller fejlen (exit 1).\n",
         run_receipt_verify},
        {"myndighed", "inbox", 0, 0,
         "usage: varsko myndighed inbox\n"
         "\n"
         "Teamets underretninger, den nærmeste frist først (--json: {\"items\":[...]}).\n",
         run_inbox},
        {"myndighed", "show", 0, 1,
         "usage: varsko myndighed show REF\n"
         "\n"
         "Hent, verificér og dekryptér underretningen, vis den, og send \"aabnet\".\n"
         "--json: {\"reference\",\"receipt\",\"document\"}.\n",
         run_show},
        {"myndighed", "bilag", O_OUT, 2,
         "usage: varsko myndighed bilag REF N --out FIL\n"
         "\n"
         "Hent underretningens bilag nummer N (1, 2, ... i dokumentets rækkefølge): det\n"
         "dekrypteres på denne enhed og kontrolleres mod den størrelse og SHA-256, som\n"
         "underretningen selv angiver, og gemmes i den nye fil FIL (kun læsbar for dig; en\n"
         "fil, der findes, overskrives aldrig). --json: {\"reference\",\"number\",\"name\",\n"
         "\"media_type\",\"size\",\"out\"}.\n",
         run_bilag},
        {"myndighed", "vurder", O_AKUT, 1,
         "usage: varsko myndighed vurder REF --akut ja|nej\n"
         "\n"
         "Registrér 24-timersvurderingen (hændelsen \"vurderet\").\n",
         run_vurder},
        {"myndighed", "kvitter", O_BESKED, 1,
         "usage: varsko myndighed kvitter REF --besked TEKST\n"
         "\n"
         "Send kvitteringen til underretteren (\"kvitteret\"); beskeden krypteres til\n"
         "underretterens enheder.\n",
         run_kvitter},
        {"myndighed", "tilbagemeld", O_IVAERKSAT | O_BESKED, 1,
         "usage: varsko myndighed tilbagemeld REF --iværksat ja|nej [--besked TEKST]\n"
         "\n"
         "Send tilbagemeldingen til underretteren: om der er iværksat en undersøgelse\n"
         "eller foranstaltning, og eventuelt hvilken (--ivaerksat virker også).\n",
         run_tilbagemeld},
        {"myndighed", "omdiriger", O_TEAM, 1,
         "usage: varsko myndighed omdiriger REF --team TEAM\n"
         "\n"
         "Send underretningen videre til et andet team: den krypteres igen til det nye\n"
         "teams verificerede enheder (\"omdirigeret\").\n",
         run_omdiriger},
        {"myndighed", "afslut", 0, 1,
         "usage: varsko myndighed afslut REF\n"
         "\n"
         "Afslut underretningen (\"afsluttet\").\n",
         run_afslut},
        {"leder", "overview", 0, 0,
         "usage: varsko leder overview\n"
         "\n"
         "Teamets åbne frister, den nærmeste først (--json: {\"items\":[...]}).\n",
         run_overview},
        {"leder", "rapport", O_FRA | O_TIL, 0,
         "usage: varsko leder rapport [--fra DATO] [--til DATO]\n"
         "\n"
         "Ledelsestilsynets nøgletal for dit team: de underretninger, teamet har\n"
         "modtaget fra DATO til DATO (dansk tid, begge dage med): antal, andel uden for\n"
         "åbningstid, tid til vurdering og kvittering (median og 90. percentil), andel\n"
         "vurderet inden for 24 timer og kvitteret inden for 6 hverdage, og de åbne\n"
         "frister, der er overskredet. Tallene er de samme, som kommunens drift får med\n"
         "'varskoctl report'. Kun for ledere, og kun for eget team.\n"
         "\n"
         "  --fra DATO   første dag, ÅÅÅÅ-MM-DD (standard: så perioden er 30 dage)\n"
         "  --til DATO   sidste dag, ÅÅÅÅ-MM-DD (standard: i dag); højst 366 dage i alt\n"
         "  --json       tallene som varskod sender dem: {\"team\",\"name\",\"received\",\n"
         "               \"outside_office\",\"vurdering\",\"kvittering\",\"overdue\"}\n",
         run_report},
        {"team", "show", 0, 1,
         "usage: varsko team show TEAM\n"
         "\n"
         "Teamets medlemmer efter den verificerede teamkæde: rolle, og om de er leder.\n"
         "Organisationskæden verificeres fra kommunens rodnøgle (gemt ved tilmeldingen),\n"
         "teamkæden mod den, og hvert medlems brugerkæde skal indeholde den nøgle,\n"
         "teamkæden har fastlagt. En kæde, der er kortere end eller ikke forlænger den,\n"
         "enheden så sidst, afvises (bad_chain).\n"
         "Viser også teamnøglens nyeste generation, og om den skal fornyes.\n"
         "(--json: {\"team\",\"seq\",\"admin\",\"leder\",\"members\":[{\"user\",\"role\",\"leder\",\n"
         "\"uk_generation\",\"current_generation\",\"this\"}],\"key_generation\",\n"
         "\"key_state\":\"ok|missing|stale|none\"}).\n",
         run_team_show},
        {"team", "key", 0, 1,
         "usage: varsko team key TEAM\n"
         "\n"
         "Hold teamets nøgle i orden (for et medlem af teamet): lav den første generation,\n"
         "lav en ny generation, når et medlem er fjernet eller har fået ny brugernøgle,\n"
         "ellers krypter den nyeste til de medlemmer, der mangler den. Nøglen krypteres\n"
         "til hvert medlems nuværende brugernøgle efter de verificerede kæder og signeres\n"
         "med din brugernøgle. Teamets fagsystem gør det samme af sig selv.\n"
         "(--json: {\"team\",\"changed\": 0 intet, 1 kopier tilføjet, 2 ny generation}).\n",
         run_team_key},
        {"team", "create", 0, 2,
         "usage: varsko team create TEAM LEDER\n"
         "\n"
         "Opret teamets kæde med brugeren LEDER som første medlem og leder. Kun en\n"
         "administrator efter organisationskæden kan det; ændringen signeres med din\n"
         "brugernøgle. LEDER skal have rollen leder og en brugernøgle.\n"
         "(--json: {\"op\":\"team_create\",\"team\",\"user\"}).\n",
         run_team_create},
        {"team", "add", 0, 2,
         "usage: varsko team add TEAM USER\n"
         "\n"
         "Tilføj brugeren USER til teamet med rollen fra brugerens certifikat og den\n"
         "nøgle, brugerens verificerede brugerkæde har nu. Kun en leder af teamet eller\n"
         "en administrator kan det; ændringen signeres med din brugernøgle.\n"
         "(--json: {\"op\":\"member_add\",\"team\",\"user\"}).\n",
         run_team_add},
        {"team", "remove", 0, 2,
         "usage: varsko team remove TEAM USER\n"
         "\n"
         "Fjern brugeren USER fra teamet. Kun en leder af teamet eller en administrator\n"
         "kan det, og teamets sidste leder kan ikke fjernes.\n"
         "(--json: {\"op\":\"member_remove\",\"team\",\"user\"}).\n",
         run_team_remove},
        {"team", "leder-add", 0, 2,
         "usage: varsko team leder-add TEAM USER\n"
         "\n"
         "Gør medlemmet USER til leder af teamet (må ændre teamkæden), uanset rollen.\n"
         "(--json: {\"op\":\"leder_add\",\"team\",\"user\"}).\n",
         run_team_leder_add},
        {"team", "leder-remove", 0, 2,
         "usage: varsko team leder-remove TEAM USER\n"
         "\n"
         "Medlemmet USER er ikke længere leder af teamet; det bliver medlem. Teamets\n"
         "sidste leder kan ikke fjernes.\n"
         "(--json: {\"op\":\"leder_remove\",\"team\",\"user\"}).\n",
         run_team_leder_remove},
        {"thread", "new", O_INSTITUTION | O_TITLE | O_ANONYM | O_MEMBER | O_BESKED, 0,
         "usage: varsko thread new --institution ID --title TITEL [--anonym] [--member BRUGER]...\n"
         "                         [--besked TEKST]\n"
         "\n"
         "Opret en sparringstråd på institutionen ID med de fremskudte rådgivere og\n"
         "andre kolleger, og skriv trådens id (T-...). Tråden oprettes med en kæde af\n"
         "underskrevne medlemsændringer (signeret med din brugernøgle); hvert medlem\n"
         "kontrolleres mod sit certifikat: fagpersoner og rådgivere på institutionen og\n"
         "ledere for en rådgiver i tråden. Titlen sendes kun krypteret, i den første\n"
         "besked.\n"
         "\n"
         "  --institution ID   institutionen (en af dine)\n"
         "  --title TITEL      trådens titel (højst 200 bytes, én linje)\n"
         "  --anonym           anonym sparring: barnet må ikke nævnes (en påmindelse vises\n"
         "                     ved hver ny besked og læsning); kan ikke ændres senere\n"
         "  --member BRUGER    et medlem mere (kan gentages). De rådgivere, der er\n"
         "                     tilknyttet institutionen, kommer med af sig selv fra starten\n"
         "                     (varskod oplyser dem; hver kontrolleres mod sit certifikat)\n"
         "  --besked TEKST     den første besked (standard: titlen)\n"
         "  --json             {\"thread\",\"institution\",\"anonymous\"}\n",
         run_thread_new},
        {"thread", "list", 0, 0,
         "usage: varsko thread list\n"
         "\n"
         "De tråde, du er medlem af, den seneste aktivitet først; varskod kender hverken\n"
         "titler eller beskeder. En tråd uden aktivitet i thread_retention_days dage (standard\n"
         "180) får sine beskeder slettet; den vises så med \"slettet\". --json:\n"
         "{\"threads\":[{\"thread\",\"institution\",\"anonymous\",\"version\",\"last_seq\",\n"
         "\"last_time\"?,\"purged\"?}]}.\n",
         run_thread_list},
        {"thread", "send", O_FILE | O_ONE_MORE, 1,
         "usage: varsko thread send ID TEKST\n"
         "       varsko thread send ID [TEKST] --file FIL\n"
         "\n"
         "Send en besked i tråden ID: den krypteres til den nuværende brugernøgle hos hvert\n"
         "medlem efter den verificerede medlemsliste (også din egen, så alle dine enheder\n"
         "kan læse den) og signeres af denne enhed. TEKST \"-\" læser beskeden fra\n"
         "standard input. --json: {\"thread\",\"seq\",\"anonymous\"}.\n"
         "\n"
         "  --file FIL   vedhæft filen FIL (højst max_attachment, som standard 25 MiB): den\n"
         "               krypteres på denne enhed med en ny nøgle og overføres i dele;\n"
         "               serveren ser kun krypterede bytes. Afbrydes forbindelsen, så send\n"
         "               samme fil igen: overførslen fortsætter, hvor den slap. --json:\n"
         "               {\"thread\",\"seq\",\"anonymous\",\"name\",\"size\",\"resumed_from\"}.\n",
         run_thread_send},
        {"thread", "fetch", O_OUT, 2,
         "usage: varsko thread fetch ID BESKED --out FIL\n"
         "\n"
         "Hent bilaget i besked BESKED (nummeret, som 'varsko thread read' viser) i tråden\n"
         "ID: beskeden verificeres som ved read, bilaget hentes og dekrypteres på denne\n"
         "enhed, og dets størrelse og SHA-256 kontrolleres mod beskeden. Det gemmes i den\n"
         "nye fil FIL (kun læsbar for dig); en fil, der findes, overskrives aldrig.\n"
         "--json: {\"thread\",\"seq\",\"name\",\"media_type\",\"size\",\"out\"}.\n",
         run_thread_fetch},
        {"thread", "read", O_BEFORE, 1,
         "usage: varsko thread read ID [--before SEQ]\n"
         "\n"
         "Vis trådens beskeder: de nyeste (op til 100), eller alle nye siden sidst, hvis\n"
         "der er kommet flere. Hver besked verificeres (afsenderens certifikat og\n"
         "brugerkæde, medlemskab, signatur) og dekrypteres med din brugernøgle. De viste\n"
         "beskeder markeres som leveret og læst (underskrevet af denne enhed), og ved\n"
         "dine egne beskeder står for hvert medlem, om det har fået den (leveret), og om\n"
         "det har læst den (læst).\n"
         "\n"
         "  --before SEQ   de 100 beskeder før besked SEQ (ældre historik)\n"
         "  --json         varsko_thread_read(): {\"thread\",\"title\"?,\"messages\":[{\"seq\",\n"
         "                 \"user\",\"text\",\"own\",\"marks\"?:[{\"user\",\"leveret\",\"laest\"}]}],...}\n",
         run_thread_read},
        {"thread", "members", 0, 1,
         "usage: varsko thread members ID\n"
         "\n"
         "Trådens medlemmer efter den verificerede medlemsliste, også dem, der er fjernet\n"
         "eller har forladt den. En liste, der er kortere end eller ikke forlænger den,\n"
         "enheden så sidst, afvises (bad_chain). --json: {\"thread\",\"institution\",\n"
         "\"anonymous\",\"version\",\"creator\",\"members\":[{\"user\",\"role\",\"present\",...}]}.\n",
         run_thread_members},
        {"thread", "add", 0, 2,
         "usage: varsko thread add ID BRUGER\n"
         "\n"
         "Tilføj BRUGER til tråden med rollen fra brugerens certifikat og den nøgle,\n"
         "brugerens verificerede brugerkæde har nu. Kun trådens opretter og rådgiverne i\n"
         "tråden kan. BRUGER får de beskeder, der sendes herefter.\n"
         "(--json: {\"op\":\"thread_member_add\",\"thread\",\"user\"}).\n",
         run_thread_add},
        {"thread", "remove", 0, 2,
         "usage: varsko thread remove ID BRUGER\n"
         "\n"
         "Fjern BRUGER fra tråden. Kun trådens opretter og rådgiverne i tråden kan.\n"
         "Intet, der sendes herefter, krypteres til BRUGER.\n"
         "(--json: {\"op\":\"thread_member_remove\",\"thread\",\"user\"}).\n",
         run_thread_remove},
        {"thread", "leave", 0, 1,
         "usage: varsko thread leave ID\n"
         "\n"
         "Forlad tråden. Intet, der sendes herefter, krypteres til dig.\n"
         "(--json: {\"op\":\"thread_member_leave\",\"thread\",\"user\"}).\n",
         run_thread_leave},
        {NULL, "watch", O_COUNT | O_TIMEOUT, 0,
         "usage: varsko watch [--count N] [--timeout S]\n"
         "\n"
         "Skriv hver besked, serveren sender (pushed, new_underretning, frist, alert og fra\n"
         "tråde thread_message, thread_changed, thread_mark), som én JSON-linje.\n"
         "Hændelser kontrolleres mod kommunens nøgle først; en tråds beskeder er\n"
         "krypterede og vises med 'varsko thread read', som verificerer dem.\n"
         "\n"
         "  --count N     stop efter N beskeder (exit 1 med timeout, hvis tiden løber ud før)\n"
         "  --timeout S   stop efter S sekunder\n",
         run_watch},
};

static const char usage_main[] = "usage: varsko [--help] [--version] COMMAND [OPTIONS]\n"
                                 "\n"
                                 "Kommandoer:\n"
                                 "  enroll                    tilmeld denne enhed med en engangskode\n"
                                 "  whoami                    log ind og vis, hvem enheden tilhører\n"
                                 "  config show               hjemmemappens indstillinger (serveradressen)\n"
                                 "  config set server URL     flyt enheden til en ny serveradresse\n"
                                 "  device recover            godkend enheden med din gendannelseskode\n"
                                 "  device list               dine enheder efter brugerkæden\n"
                                 "  device revoke DEVICE      fjern en anden af dine enheder (ny nøgle og kode)\n"
                                 "  device request            bed en anden af dine enheder om at godkende denne\n"
                                 "  device approve            godkend en ny enhed fra denne (med koden)\n"
                                 "  underret skabelon         en skabelon til en underretning (udfyld og send)\n"
                                 "  underret send FILE.json   send en underretning (--bilag FIL, --traad ID)\n"
                                 "  underret list             dine underretninger\n"
                                 "  underret status REF       en underretnings verificerede forløb\n"
                                 "  underret show REF         din egen kopi af en underretning\n"
                                 "  receipt verify FILE       kontrollér en gemt kvittering (uden netværk)\n"
                                 "  myndighed inbox           teamets underretninger\n"
                                 "  myndighed show REF        læs en underretning (sender \"aabnet\")\n"
                                 "  myndighed bilag REF N     hent underretningens bilag N (--out FIL)\n"
                                 "  myndighed vurder REF      --akut ja|nej\n"
                                 "  myndighed kvitter REF     --besked TEKST\n"
                                 "  myndighed tilbagemeld REF --iværksat ja|nej [--besked TEKST]\n"
                                 "  myndighed omdiriger REF   --team TEAM\n"
                                 "  myndighed afslut REF\n"
                                 "  leder overview            teamets åbne frister\n"
                                 "  leder rapport             teamets nøgletal (--fra DATO, --til DATO)\n"
                                 "  team show TEAM            teamets medlemmer efter teamkæden\n"
                                 "  team key TEAM             hold teamets nøgle i orden (medlem)\n"
                                 "  team create TEAM LEDER    opret teamets kæde (administrator)\n"
                                 "  team add TEAM USER        tilføj et medlem (leder)\n"
                                 "  team remove TEAM USER     fjern et medlem (leder)\n"
                                 "  team leder-add TEAM USER  gør et medlem til leder\n"
                                 "  team leder-remove TEAM USER\n"
                                 "  thread new                opret en sparringstråd (--institution, --title)\n"
                                 "  thread list               dine tråde\n"
                                 "  thread send ID TEKST      send en besked i en tråd (--file FIL: et bilag)\n"
                                 "  thread fetch ID BESKED    hent bilaget i en besked (--out FIL)\n"
                                 "  thread read ID            læs en tråd (markerer beskederne som læst)\n"
                                 "  thread members ID         trådens medlemmer efter medlemslisten\n"
                                 "  thread add ID BRUGER      tilføj et medlem (opretter, rådgiver)\n"
                                 "  thread remove ID BRUGER   fjern et medlem (opretter, rådgiver)\n"
                                 "  thread leave ID           forlad en tråd\n"
                                 "  watch                     skriv serverens beskeder som JSON-linjer\n"
                                 "\n"
                                 "Alle kommandoer tager --home DIR, --ca FILE, --json og --help.\n"
                                 "Exit-status: 0 udført, 1 afvist eller fejlet, 2 forkert brug, 3 serveren\n"
                                 "kunne ikke nås (prøv igen senere).\n"
                                 "Kør 'varsko KOMMANDO --help' for en kommandos muligheder.\n"
                                 "\n"
                                 "Miljø:\n"
                                 "  VARSKO_HOME  mappe med enhedens nøgler (standard ~/.config/varsko)\n"
                                 "  VARSKO_CA    CA-fil, der har signeret serverens certifikat (som --ca)\n";

/*
 * "varsko GROUP --help": every subcommand's help (to stdout), or with asked
 * 0 (no subcommand given) the list of subcommands (to stderr). 0 when
 * `group` is no group.
 */
static int group_help(const char *group, int asked)
{
	int found = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].group == NULL || strcmp(commands[i].group, group) != 0)
			continue;
		if (!found && !asked)
			fprintf(stderr, "varsko: %s Det drejer sig om: underkommandoen mangler; 'varsko %s' tager (kode: %s):\n",
			        varsko_text(VARSKO_ERR_USAGE), group, varsko_strerrname(VARSKO_ERR_USAGE));
		if (asked)
			printf("%s%s", found ? "\n" : "", commands[i].usage);
		else
			fprintf(stderr, "  varsko %s %s\n", group, commands[i].name);
		found = 1;
	}
	if (found && asked)
		fputs(common_help, stdout);
	return found;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	const struct command *cmd = NULL;
	struct opts o;
	int c, skip, rc;

	opterr = 0;
	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_main, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("varsko %s\n", varsko_version());
			return EXIT_SUCCESS;
		default:
			return usage_error(NULL, "ukendt tilvalg");
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "ingen kommando angivet");
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0) {
		fputs(usage_main, stdout);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && cmd == NULL; i++) {
		if (commands[i].group == NULL && strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
		else if (commands[i].group != NULL && argc >= 2 && strcmp(argv[0], commands[i].group) == 0 &&
		         strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	}
	if (cmd == NULL && (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) &&
	    group_help(argv[0], argc >= 2))
		return argc >= 2 ? EXIT_SUCCESS : EXIT_USAGE;
	if (cmd == NULL) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (commands[i].group != NULL && strcmp(argv[0], commands[i].group) == 0)
				return usage_error(NULL,
				                   argc >= 2 ? "ukendt underkommando" : "underkommandoen mangler");
		return usage_error(NULL, "ukendt kommando");
	}
	/* getopt_long takes argv[0] as the program name: hand it the last word of the command. */
	skip = cmd->group != NULL ? 1 : 0;
	rc = parse_opts(cmd, argc - skip, argv + skip, &o);
	if (rc < 0)
		return EXIT_SUCCESS; /* --help */
	if (rc != 0)
		return rc;
	return cmd->run(cmd, &o);
}
