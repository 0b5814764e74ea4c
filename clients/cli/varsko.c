/*
 * varsko: the command line for staff, rådgivere and intake workers.
 *
 *   varsko enroll --server URL --code CODE [--ca FILE] [--fingerprint FPR] [--label L]
 *   varsko whoami [--json] [--ca FILE]
 *
 * Everything that touches keys or the network is libvarsko; this file only
 * parses arguments and prints. Errors go to stderr as
 * "varsko: <text> (<name>)[: <detail>]" with exit status 1; usage errors
 * exit 2. The output is English (the web client is the Danish one).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <varsko/varsko.h>

#define EXIT_USAGE 2

static const char usage_main[] = "usage: varsko [--help] [--version] COMMAND [OPTIONS]\n"
                                 "\n"
                                 "Commands:\n"
                                 "  enroll   register this device with a one-time enrollment code\n"
                                 "  whoami   log in and show who this device belongs to\n"
                                 "\n"
                                 "Run 'varsko COMMAND --help' for the options of a command.\n"
                                 "\n"
                                 "Environment:\n"
                                 "  VARSKO_HOME  directory with this device's keys (default ~/.config/varsko)\n"
                                 "  VARSKO_CA    CA file that signed the server's certificate (like --ca)\n";

static const char usage_enroll[] =
        "usage: varsko enroll --server URL --code CODE [--ca FILE] [--fingerprint FPR] [--label LABEL]\n"
        "\n"
        "Make this device's keys and register them with the server using a one-time\n"
        "code from your administrator. The organisation key is pinned for later use.\n"
        "\n"
        "  --server URL        the server, wss://HOST:PORT/\n"
        "  --code CODE         the enrollment code\n"
        "  --ca FILE           CA certificate (PEM) that signed the server's certificate;\n"
        "                      default $VARSKO_CA; required one way or the other\n"
        "  --fingerprint FPR   organisation key fingerprint printed with the code;\n"
        "                      enrollment fails if the server's key differs\n"
        "  --label LABEL       a short name for this device\n"
        "  --help              show this help\n";

static const char usage_whoami[] = "usage: varsko whoami [--json] [--ca FILE]\n"
                                   "\n"
                                   "Log in to the server this device was enrolled with and show the identity\n"
                                   "its certificate holds.\n"
                                   "\n"
                                   "  --json      print one JSON object (user, name, role, team, institutions,\n"
                                   "              device, not_after)\n"
                                   "  --ca FILE   use this CA file instead of the one kept at enrollment\n"
                                   "              (default $VARSKO_CA if set)\n"
                                   "  --help      show this help\n";

static int usage_error(const char *msg, const char *cmd)
{
	fprintf(stderr, "varsko: %s\n", msg);
	fprintf(stderr, "Try 'varsko%s%s --help'.\n", cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
	return EXIT_USAGE;
}

static int fail(int err, const char *detail)
{
	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, "varsko: %s (%s): %s\n", varsko_strerror(err), varsko_strerrname(err), detail);
	else
		fprintf(stderr, "varsko: %s (%s)\n", varsko_strerror(err), varsko_strerrname(err));
	return EXIT_FAILURE;
}

static void format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

static void print_institutions(const struct varsko_identity *id)
{
	for (size_t i = 0; i < id->n_institutions; i++)
		printf("%s%s", i > 0 ? ", " : "", id->institutions[i]);
	printf("\n");
}

static int open_home(struct varsko_home **h)
{
	int r = varsko_home_open(NULL, h);

	if (r != VARSKO_OK) {
		const char *env = getenv("VARSKO_HOME");

		return fail(r, r == VARSKO_ERR_CONFIG ? "the home directory must be a directory of yours with mode 0700"
		               : env != NULL          ? env
		                                      : "cannot open ~/.config/varsko");
	}
	return EXIT_SUCCESS;
}

static int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"server", required_argument, NULL, 's'},
	        {"code", required_argument, NULL, 'c'},
	        {"ca", required_argument, NULL, 'a'},
	        {"fingerprint", required_argument, NULL, 'f'},
	        {"label", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *server = NULL, *code = NULL, *ca = getenv("VARSKO_CA"), *fpr = NULL, *label = NULL;
	struct varsko_home *h = NULL;
	struct varsko_enroll_info info;
	int c, r, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'c':
			code = optarg;
			break;
		case 'a':
			ca = optarg;
			break;
		case 'f':
			fpr = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'h':
			fputs(usage_enroll, stdout);
			return EXIT_SUCCESS;
		case ':':
			return usage_error("an option is missing its value", "enroll");
		default:
			return usage_error("unknown option", "enroll");
		}
	}
	if (optind != argc)
		return usage_error("enroll takes no arguments besides its options", "enroll");
	if (server == NULL || code == NULL)
		return usage_error("enroll needs --server and --code", "enroll");
	if (ca == NULL || ca[0] == '\0')
		return usage_error("enroll needs the server's CA: --ca FILE or VARSKO_CA", "enroll");

	if ((rc = open_home(&h)) != EXIT_SUCCESS)
		return rc;
	r = varsko_enroll(h, server, code, ca, fpr, label, &info);
	if (r != VARSKO_OK) {
		rc = fail(r, varsko_home_detail(h));
		goto out;
	}
	printf("Enrolled device %s\n", info.identity.device);
	printf("user:         %s (%s)\n", info.identity.user, info.identity.name);
	printf("role:         %s\n", info.identity.role);
	if (info.identity.team[0] != '\0')
		printf("team:         %s\n", info.identity.team);
	if (info.identity.n_institutions > 0) {
		printf("institutions: ");
		print_institutions(&info.identity);
	}
	printf("home:         %s\n", varsko_home_path(h));
	printf("Organisation key fingerprint: %s\n", info.org_fingerprint);
	if (fpr != NULL)
		printf("It matches the fingerprint given with --fingerprint.\n");
	else
		printf("Compare this fingerprint with the one printed with your code.\n");
	rc = EXIT_SUCCESS;
out:
	varsko_home_close(h);
	return rc;
}

static int print_json(const struct varsko_identity *id, const char *expires)
{
	int rc = EXIT_FAILURE;
	json_t *o = json_object(), *inst = json_array();
	char *text = NULL;

	if (o == NULL || inst == NULL)
		goto out;
	for (size_t i = 0; i < id->n_institutions; i++)
		if (json_array_append_new(inst, json_string(id->institutions[i])) != 0)
			goto out;
	if (json_object_set_new(o, "user", json_string(id->user)) != 0 ||
	    json_object_set_new(o, "name", json_string(id->name)) != 0 ||
	    json_object_set_new(o, "role", json_string(id->role)) != 0 ||
	    json_object_set_new(o, "team", json_string(id->team)) != 0 ||
	    json_object_set_new(o, "institutions", inst) != 0 ||
	    json_object_set_new(o, "device", json_string(id->device)) != 0 ||
	    json_object_set_new(o, "not_after", json_string(expires)) != 0) {
		inst = NULL; /* json_object_set_new consumed it even on failure */
		goto out;
	}
	inst = NULL;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	printf("%s\n", text);
	rc = EXIT_SUCCESS;
out:
	if (rc != EXIT_SUCCESS)
		fail(VARSKO_ERR_NOMEM, NULL);
	free(text);
	json_decref(inst);
	json_decref(o);
	return rc;
}

static int cmd_whoami(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"ca", required_argument, NULL, 'a'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *ca = getenv("VARSKO_CA");
	struct varsko_home *h = NULL;
	struct varsko_conn *conn = NULL;
	struct varsko_identity id;
	char expires[32];
	int c, r, rc, json = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'a':
			ca = optarg;
			break;
		case 'h':
			fputs(usage_whoami, stdout);
			return EXIT_SUCCESS;
		case ':':
			return usage_error("an option is missing its value", "whoami");
		default:
			return usage_error("unknown option", "whoami");
		}
	}
	if (optind != argc)
		return usage_error("whoami takes no arguments", "whoami");
	if (ca != NULL && ca[0] == '\0')
		ca = NULL;

	if ((rc = open_home(&h)) != EXIT_SUCCESS)
		return rc;
	if ((r = varsko_connect(h, ca, &conn)) != VARSKO_OK) {
		rc = fail(r, varsko_home_detail(h));
		goto out;
	}
	if ((r = varsko_whoami(conn, &id)) != VARSKO_OK) {
		rc = fail(r, varsko_conn_detail(conn));
		goto out;
	}
	format_time(id.not_after, expires);
	if (json) {
		rc = print_json(&id, expires);
		goto out;
	}
	printf("user:         %s\n", id.user);
	printf("name:         %s\n", id.name);
	printf("role:         %s\n", id.role);
	printf("team:         %s\n", id.team[0] != '\0' ? id.team : "-");
	printf("institutions: ");
	if (id.n_institutions == 0)
		printf("-\n");
	else
		print_institutions(&id);
	printf("device:       %s\n", id.device);
	printf("expires:      %s\n", expires);
	rc = EXIT_SUCCESS;
out:
	varsko_close(conn);
	varsko_home_close(h);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_main, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("varsko %s\n", varsko_version());
			return EXIT_SUCCESS;
		default:
			return usage_error("unknown option", NULL);
		}
	}
	if (optind >= argc)
		return usage_error("no command given", NULL);
	argc -= optind;
	argv += optind;
	optind = 1; /* parse the command's own options from argv[1] on */
	if (strcmp(argv[0], "enroll") == 0)
		return cmd_enroll(argc, argv);
	if (strcmp(argv[0], "whoami") == 0)
		return cmd_whoami(argc, argv);
	if (strcmp(argv[0], "help") == 0) {
		fputs(usage_main, stdout);
		return EXIT_SUCCESS;
	}
	fprintf(stderr, "varsko: unknown command '%s'\n", argv[0]);
	return usage_error("the commands are enroll and whoami", NULL);
}
