/*
 * ctl.c: varskoctl, the administration command of varskod (docs/DEVELOPING.md,
 * "Command lines"). Each command is one function cmd_NAME(cfg, argc, argv)
 * that returns the process exit code: 0 success, 1 failure (message on
 * stderr as "varskoctl: <text> (<error name>)"), 2 usage error.
 *
 * Output is for the administrator at the terminal; it may show user ids and
 * codes (that is its purpose), but error messages never show key material.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "file.h"
#include "keys.h"
#include "proto.h"
#include "report.h"
#include "store.h"
#include "store_keys.h"

#if defined(__has_include)
#if __has_include("ctl_deadline.h")
#include "ctl_deadline.h"
#include "wipe.h"
#define HAVE_CTL_DEADLINE 1
#endif
#endif

#define EXIT_USAGE 2
#define GATEWAY_CERT_DAYS 3653 /* ten years */
#define IMPORT_FILE_MAX (4 * 1024 * 1024)

static const char usage_main[] =
	"usage: varskoctl [-c FILE] COMMAND [ARGS]\n"
	"\n"
	"Administration of varskod. Options:\n"
	"  -c, --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	"  -h, --help          this text\n"
	"\n"
	"Commands (each takes --help):\n"
	"  init                      create database, organisation key, gateway key and certificate\n"
	"  import FILE.json          import a municipality document\n"
	"  invite --user U [--hours H] [--json]   make a one-time enrollment code\n"
	"  devices [--json]          list enrolled devices\n"
	"  revoke DEVICE             revoke a device\n"
	"  recovery unlock USER      let USER try the recovery code again after 10 tries\n"
	"  migrate                   upgrade the database to this version's schema\n"
	"  audit verify              check the audit log's hash chain\n"
	"  deadline --received T [--investigation-started T2]   legal deadlines (no config)\n"
	"  report --from D --to D [--team T] --format json|csv|html   ledelsestilsyn figures\n";

static const char usage_init[] =
	"usage: varskoctl [-c FILE] init\n"
	"Create the database, the organisation key, the gateway key and the gateway\n"
	"certificate at the paths in the configuration. Refuses to overwrite any of them.\n";
static const char usage_import[] =
	"usage: varskoctl [-c FILE] import FILE.json\n"
	"Import institutions, teams, users, fremskudte raadgivere and routing rules in one\n"
	"transaction (upsert by id). See docs/DEVELOPING.md, \"Municipality document\".\n";
static const char usage_invite[] =
	"usage: varskoctl [-c FILE] invite --user USER [--hours H] [--json]\n"
	"Make a one-time enrollment code for USER, valid H hours (default: invite_validity_hours).\n"
	"Prints the code, its expiry (UTC) and the organisation key fingerprint.\n";
static const char usage_devices[] =
	"usage: varskoctl [-c FILE] devices [--json]\n"
	"List enrolled devices: id, user, role, serial, created, expires, revoked. Enrollments\n"
	"whose client never confirmed that it stored its certificate follow, marked \"pending\"\n"
	"(they are not devices: they cannot log in and are on no roster).\n"
	"--json: an array of {\"device\",\"user\",\"role\",\"serial\",\"label\",\"created\",\"expires\",\"revoked\"}\n"
	"(times in UTC, revoked null when not revoked).\n";
static const char usage_revoke[] =
	"usage: varskoctl [-c FILE] revoke DEVICE\n"
	"Revoke the device with id DEVICE (d-...). Revoking twice is not an error.\n";
static const char usage_migrate[] =
	"usage: varskoctl [-c FILE] migrate\n"
	"Upgrade the database named in the configuration to this version's schema and say\n"
	"from which version. Each step runs in its own transaction (an interrupted upgrade\n"
	"leaves the last completed version); varskod and every varskoctl command do the\n"
	"same when they open an older database, so this is for doing it deliberately,\n"
	"after a backup and before starting the new varskod. Nothing is re-encrypted (the\n"
	"server cannot); existing devices keep their certificates.\n";
static const char usage_recovery[] =
	"usage: varskoctl [-c FILE] recovery unlock USER\n"
	"After 10 fetches of a user's recovery box (each a try at the recovery code) varskod\n"
	"refuses more with recovery_locked. This sets the user's tries to 0 again (audited as\n"
	"recovery_unlock). Check first, with the user, that the tries were theirs.\n";
static const char usage_audit[] =
	"usage: varskoctl [-c FILE] audit verify\n"
	"Walk the audit log's hash chain; exit 0 if intact, 1 naming the first bad entry.\n";

static void fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "varskoctl: <text> (<name>)" to stderr. */
static void fail(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("varskoctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", varsko_err_name(err));
}

static int usage_error(const char *usage, const char *what)
{
	fprintf(stderr, "varskoctl: %s (%s)\n%s", what, varsko_err_name(VARSKO_ERR_USAGE), usage);
	return EXIT_USAGE;
}

/* Options --help and --json shared by the commands; returns -1 to continue, else an exit code. */
static int common_opts(int argc, char **argv, const char *usage, int *json, const char **user, long *hours)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "user", required_argument, NULL, 'u' },
		{ "hours", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 0; /* full reset of glibc's getopt state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'j':
			if (json == NULL)
				return usage_error(usage, "--json is not an option of this command");
			*json = 1;
			break;
		case 'u':
			if (user == NULL)
				return usage_error(usage, "--user is not an option of this command");
			*user = optarg;
			break;
		case 'H':
			if (hours == NULL)
				return usage_error(usage, "--hours is not an option of this command");
			errno = 0;
			*hours = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || *hours < 1 || *hours > 720)
				return usage_error(usage, "--hours must be a number from 1 to 720");
			break;
		default:
			return usage_error(usage, "unknown option or missing value");
		}
	}
	return -1;
}

static int load_config(const char *path, struct config *cfg)
{
	char err[512];
	int r;

	if ((r = config_load(path, cfg, err, sizeof(err))) != VARSKO_OK)
		fail(r, "%s", err);
	return r;
}

static int open_store(const struct config *cfg, struct store **s, int create)
{
	int r;

	if ((r = store_open(s, cfg->database, create)) != VARSKO_OK)
		fail(r, "cannot open the database");
	return r;
}

/* The organisation key's fingerprint, from its secret key file. */
static int org_fingerprint(const struct config *cfg, char fpr[PROTO_FPR_LEN + 1])
{
	uint8_t pk[PROTO_PK_LEN];
	uint8_t *sk = NULL;
	int r;

	if ((r = keys_secret_read(cfg->org_key, &sk)) != VARSKO_OK) {
		fail(r, "cannot read the organisation key (org_key)");
		return r;
	}
	keys_public_of(sk, pk);
	proto_fingerprint(pk, fpr);
	keys_secret_free(sk);
	return VARSKO_OK;
}

static int cmd_init(const char *cfgpath, int argc, char **argv)
{
	const struct {
		const char *key;
		size_t off;
	} files[] = {
		{ "database", offsetof(struct config, database) },
		{ "org_key", offsetof(struct config, org_key) },
		{ "gateway_key", offsetof(struct config, gateway_key) },
		{ "gateway_cert", offsetof(struct config, gateway_cert) },
	};
	struct config cfg;
	struct store *s = NULL;
	struct proto_cert gc;
	uint8_t *org_sk = NULL, *gw_sk = NULL;
	uint8_t org_pk[PROTO_PK_LEN], box_sk[crypto_box_SECRETKEYBYTES];
	char fpr[PROTO_FPR_LEN + 1], detail[128];
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&gc, 0, sizeof(gc));
	if ((r = common_opts(argc, argv, usage_init, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind != argc)
		return usage_error(usage_init, "init takes no arguments");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path = *(char *const *)(const void *)((const char *)&cfg + files[i].off);

		if (keys_file_exists(path)) {
			fail(VARSKO_ERR_EXISTS, "%s already exists; init never overwrites", files[i].key);
			goto out;
		}
	}
	if ((r = keys_secret_generate(&org_sk, org_pk)) != VARSKO_OK ||
	    (r = keys_secret_generate(&gw_sk, gc.sign_pk)) != VARSKO_OK) {
		fail(r, "cannot generate keys");
		goto out;
	}
	if ((r = keys_secret_write(cfg.org_key, org_sk)) != VARSKO_OK) {
		fail(r, "cannot write org_key");
		goto out;
	}
	if ((r = keys_secret_write(cfg.gateway_key, gw_sk)) != VARSKO_OK) {
		fail(r, "cannot write gateway_key");
		goto out;
	}
	if ((r = store_open(&s, cfg.database, 1)) != VARSKO_OK) {
		fail(r, "cannot create the database");
		goto out;
	}
	/* The gateway's encryption key is not used yet: its secret half is discarded. */
	r = crypto_box_keypair(gc.box_pk, box_sk) == 0 ? VARSKO_OK : VARSKO_ERR_CRYPTO;
	sodium_memzero(box_sk, sizeof(box_sk));
	if (r != VARSKO_OK) {
		fail(r, "cannot generate keys");
		goto out;
	}
	gc.version = PROTO_VERSION;
	snprintf(gc.user, sizeof(gc.user), "gateway");
	snprintf(gc.name, sizeof(gc.name), "varskod");
	snprintf(gc.role, sizeof(gc.role), "gateway");
	gc.not_before = now;
	gc.not_after = now + (int64_t)GATEWAY_CERT_DAYS * 86400;
	if ((r = store_begin(s)) != VARSKO_OK) {
		fail(r, "cannot write the database");
		goto out;
	}
	if ((r = store_serial_take(s, &gc.serial)) != VARSKO_OK || (r = proto_cert_sign(&gc, org_sk)) != VARSKO_OK) {
		store_rollback(s);
		fail(r, "cannot make the gateway certificate");
		goto out;
	}
	proto_fingerprint(org_pk, fpr);
	snprintf(detail, sizeof(detail), "gateway_serial=%llu org_fingerprint=%s", (unsigned long long)gc.serial, fpr);
	if ((r = store_audit(s, now, "init", "-", detail)) != VARSKO_OK || (r = store_commit(s)) != VARSKO_OK) {
		store_rollback(s);
		fail(r, "cannot write the database");
		goto out;
	}
	if ((r = keys_cert_write(cfg.gateway_cert, &gc)) != VARSKO_OK) {
		fail(r, "cannot write gateway_cert");
		goto out;
	}
	printf("initialised: database, org_key, gateway_key, gateway_cert (serial %llu)\n"
	       "organisation key fingerprint: %s\n",
	       (unsigned long long)gc.serial, fpr);
	code = 0;
out:
	keys_secret_free(org_sk);
	keys_secret_free(gw_sk);
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_import(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	char *doc = NULL, err[256];
	size_t len = 0;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_import, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind + 1 != argc)
		return usage_error(usage_import, "import takes one file");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if ((r = file_read(argv[optind], IMPORT_FILE_MAX, FILE_STREAM, &doc, &len)) != VARSKO_OK) {
		fail(r, "cannot read the document");
		goto out;
	}
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if ((r = store_import(s, doc, len, (int64_t)time(NULL), err, sizeof(err))) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_INPUT)
			fail(r, "%s: %s; nothing imported", argv[optind], err);
		else
			fail(r, "import failed; nothing imported");
		goto out;
	}
	printf("imported %s\n", argv[optind]);
	code = 0;
out:
	file_free(doc, len, FILE_STREAM);
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_invite(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	const char *user = NULL;
	char code_str[PROTO_CODE_MAX + 1] = "", fpr[PROTO_FPR_LEN + 1], exp[PROTO_TIME_LEN + 1];
	long hours = 0;
	int64_t now = (int64_t)time(NULL);
	int json = 0, r, code = 1;
	json_t *o = NULL;
	char *text = NULL;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_invite, &json, &user, &hours)) >= 0)
		return r;
	if (optind != argc)
		return usage_error(usage_invite, "unexpected argument");
	if (user == NULL)
		return usage_error(usage_invite, "--user is required");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (hours == 0)
		hours = cfg.invite_validity_hours;
	if (org_fingerprint(&cfg, fpr) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if ((r = store_invite_create(s, user, now, now + hours * 3600, code_str)) != VARSKO_OK) {
		fail(r, r == VARSKO_ERR_NOT_FOUND ? "no such user" : "cannot create the invite");
		goto out;
	}
	proto_time_format(now + hours * 3600, exp);
	if (json) {
		o = json_pack("{s:s, s:s, s:s, s:s}", "user", user, "code", code_str, "expires", exp, "org_fingerprint",
		              fpr);
		if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			fail(VARSKO_ERR_NOMEM, "cannot format the answer");
			goto out;
		}
		printf("%s\n", text);
	} else {
		printf("user: %s\ncode: %s\nexpires: %s\norganisation key fingerprint: %s\n", user, code_str, exp, fpr);
	}
	code = 0;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(o);
	sodium_memzero(code_str, sizeof(code_str));
	store_close(s);
	config_free(&cfg);
	return code;
}

struct list_ctx {
	int json;
	int pending; /* listing pending enrollments (enrolled, never confirmed: not devices) */
	json_t *arr;
	size_t n;
};

static int list_one(const struct store_device *d, void *arg)
{
	struct list_ctx *lc = arg;
	char created[PROTO_TIME_LEN + 1], expires[PROTO_TIME_LEN + 1], revoked[PROTO_TIME_LEN + 1] = "-";
	json_t *o;

	proto_time_format(d->created_at, created);
	proto_time_format(d->cert.not_after, expires);
	if (d->revoked_at)
		proto_time_format(d->revoked_at, revoked);
	else if (lc->pending)
		snprintf(revoked, sizeof revoked, "pending");
	lc->n++;
	if (!lc->json) {
		printf("%-18s  %-20s  %-9s  %6llu  %s  %s  %s\n", d->cert.device, d->cert.user, d->cert.role,
		       (unsigned long long)d->cert.serial, created, expires, revoked);
		return VARSKO_OK;
	}
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:b}", "device", d->cert.device, "user", d->cert.user,
	              "role", d->cert.role, "serial", (json_int_t)d->cert.serial, "label", d->label, "created", created,
	              "expires", expires, "revoked", d->revoked_at ? json_string(revoked) : json_null(), "pending",
	              lc->pending);
	if (o == NULL || json_array_append_new(lc->arr, o) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

static int cmd_devices(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	struct list_ctx lc;
	char *text = NULL;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&lc, 0, sizeof(lc));
	if ((r = common_opts(argc, argv, usage_devices, &lc.json, NULL, NULL)) >= 0)
		return r;
	if (optind != argc)
		return usage_error(usage_devices, "unexpected argument");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if (lc.json && (lc.arr = json_array()) == NULL) {
		fail(VARSKO_ERR_NOMEM, "cannot list devices");
		goto out;
	}
	if (!lc.json)
		printf("%-18s  %-20s  %-9s  %6s  %-20s  %-20s  %s\n", "DEVICE", "USER", "ROLE", "SERIAL", "CREATED",
		       "EXPIRES", "REVOKED");
	if ((r = store_device_foreach(s, list_one, &lc)) != VARSKO_OK) {
		fail(r, "cannot list devices");
		goto out;
	}
	lc.pending = 1;
	if ((r = store_enrollment_foreach(s, list_one, &lc)) != VARSKO_OK) {
		fail(r, "cannot list pending enrollments");
		goto out;
	}
	if (lc.json) {
		if ((text = json_dumps(lc.arr, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			fail(VARSKO_ERR_NOMEM, "cannot list devices");
			goto out;
		}
		printf("%s\n", text);
	}
	code = 0;
out:
	free(text);
	json_decref(lc.arr);
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_migrate(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	int r, code = 1, from;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_migrate, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind != argc)
		return usage_error(usage_migrate, "migrate takes no argument");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	from = store_opened_at_version(s);
	if (from == STORE_SCHEMA_VERSION)
		printf("%s: already at schema %d\n", cfg.database, STORE_SCHEMA_VERSION);
	else
		printf("%s: migrated from schema %d to %d\n", cfg.database, from, STORE_SCHEMA_VERSION);
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_recovery(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_recovery, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind + 2 != argc || strcmp(argv[optind], "unlock") != 0)
		return usage_error(usage_recovery, "recovery takes: unlock USER");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if ((r = store_recovery_unlock(s, argv[optind + 1], (int64_t)time(NULL), "varskoctl")) != VARSKO_OK) {
		fail(r, r == VARSKO_ERR_NOT_FOUND ? "the user has no recovery box" : "cannot unlock recovery");
		goto out;
	}
	printf("recovery unlocked for %s\n", argv[optind + 1]);
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_revoke(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_revoke, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind + 1 != argc)
		return usage_error(usage_revoke, "revoke takes one device id");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if ((r = store_device_revoke(s, argv[optind], (int64_t)time(NULL), "varskoctl")) != VARSKO_OK) {
		fail(r, r == VARSKO_ERR_NOT_FOUND ? "no such device" : "cannot revoke");
		goto out;
	}
	printf("revoked %s\n", argv[optind]);
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

static int cmd_audit(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	uint64_t count = 0, bad = 0, head_seq = 0;
	uint8_t head[32];
	char hex[65];
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = common_opts(argc, argv, usage_audit, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind + 1 != argc || strcmp(argv[optind], "verify") != 0)
		return usage_error(usage_audit, "the audit command is: audit verify");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	r = store_audit_verify(s, &count, &bad);
	if (r == VARSKO_ERR_BAD_SIGNATURE) {
		fail(r, "audit log broken at entry %llu (%llu entries before it are intact)", (unsigned long long)bad,
		     (unsigned long long)count);
		goto out;
	}
	if (r != VARSKO_OK) {
		fail(r, "cannot read the audit log");
		goto out;
	}
	if ((r = store_audit_head(s, &head_seq, head)) != VARSKO_OK) {
		fail(r, "cannot read the audit log");
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), head, sizeof(head));
	printf("audit log intact: %llu entries\nhead: %llu %s\n", (unsigned long long)count,
	       (unsigned long long)head_seq, hex);
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = CONFIG_DEFAULT_PATH, *cmd;
	int c;

	/* Files varskoctl creates (database, WAL, keys) are private unless said otherwise. */
	umask(077);
	/* The municipality document holds names: every block jansson frees is zeroed (common/wipe.c). */
	json_wipe_install();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_main, stdout);
			return 0;
		default:
			return usage_error(usage_main, "unknown option or missing value");
		}
	}
	if (optind >= argc)
		return usage_error(usage_main, "no command");
	if (sodium_init() < 0) {
		fail(VARSKO_ERR_CRYPTO, "libsodium cannot be initialised");
		return 1;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(cfgpath, argc, argv);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(cfgpath, argc, argv);
	if (strcmp(cmd, "invite") == 0)
		return cmd_invite(cfgpath, argc, argv);
	if (strcmp(cmd, "devices") == 0)
		return cmd_devices(cfgpath, argc, argv);
	if (strcmp(cmd, "revoke") == 0)
		return cmd_revoke(cfgpath, argc, argv);
	if (strcmp(cmd, "recovery") == 0)
		return cmd_recovery(cfgpath, argc, argv);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(cfgpath, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(cfgpath, argc, argv);
	if (strcmp(cmd, "deadline") == 0) {
#ifdef HAVE_CTL_DEADLINE
		optind = 1;
		return ctl_deadline(argc, argv);
#else
		fail(VARSKO_ERR_UNAVAILABLE, "deadline is not built into this varskoctl");
		return 1;
#endif
	}
	if (strcmp(cmd, "report") == 0)
		return ctl_report(cfgpath, argc, argv);
	return usage_error(usage_main, "unknown command");
}
