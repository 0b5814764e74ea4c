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

#include "backup.h"
#include "config.h"
#include "file.h"
#include "flow.h"
#include "keys.h"
#include "proto.h"
#include "report.h"
#include "retention.h"
#include "store.h"
#include "chains.h"
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
	"  -V, --version       the version\n"
	"\n"
	"Commands (each takes --help):\n"
	"  init                      create database, organisation key, gateway key and certificate\n"
	"  import FILE.json          import a municipality document\n"
	"  invite --user U [--hours H] [--json]   make a one-time enrollment code\n"
	"  devices [--json]          list enrolled devices\n"
	"  revoke DEVICE             revoke a device\n"
	"  recovery unlock USER      let USER try the recovery code again after 10 tries\n"
	"  outbox dead [--json]      list dead letters (underretninger their agent refused)\n"
	"  outbox retry REF          publish a dead letter to its team's agent again\n"
	"  migrate                   upgrade the database to this version's schema\n"
	"  audit verify              check the audit log's hash chain\n"
	"  backup DEST               copy the database, while varskod runs, into the new directory DEST\n"
	"  restore SRC [--force]     check a backup and put it in place of the database (varskod stopped)\n"
	"  org init|show|admin-add|admin-remove|enroll-key   the org chain, signed offline by the root key\n"
	"  release sign|verify DIR   sign a web client release with the root key, or check one\n"
	"  deadline --received T [--investigation-started T2]   legal deadlines (no config)\n"
	"  report --from D --to D [--team T] --format json|csv|html   ledelsestilsyn figures\n"
	"  threads purge [--dry-run] [--older-than DAYS]   purge the content of inactive threads\n";

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
	"Prints the code, its expiry (UTC) and the organisation fingerprint the enrolling device\n"
	"checks: the root key's once `varskoctl org init` ran, else the organisation key's.\n";
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
static const char usage_outbox[] =
	"usage: varskoctl [-c FILE] outbox dead [--json]\n"
	"       varskoctl [-c FILE] outbox retry REFERENCE\n"
	"A dead letter is an underretning its team's agent refused for good (it cannot open\n"
	"it, or it fails a check: PROTOCOL.md 12.9); varskod stops publishing it and tells\n"
	"the team's leders. `dead` lists them: reference, team, reason (cannot_open,\n"
	"bad_document, failed_check), when, and the attempts before (--json: an array of\n"
	"{\"reference\",\"team\",\"reason\",\"device\",\"dead_at\",\"attempts\"}).\n"
	"`retry` makes REFERENCE's dead letter due again (audited as outbox_retry); the\n"
	"running varskod publishes it within a second. Fix the cause first (the agent's\n"
	"keys, its team membership), or it comes back as a dead letter.\n";
static const char usage_audit[] =
	"usage: varskoctl [-c FILE] audit verify\n"
	"Walk the audit log's hash chain; exit 0 if intact, 1 naming the first bad entry.\n";

static const char usage_backup[] =
	"usage: varskoctl [-c FILE] backup DEST\n"
	"Copy the database named in the configuration into the directory DEST while varskod\n"
	"keeps running and writing. DEST is created with mode 0700 (an existing empty\n"
	"directory is used; anything else is refused) and gets two files, both mode 0600:\n"
	"  varsko.db       a consistent snapshot, made with SQLite's online backup API\n"
	"  manifest.json   the time, the copy's schema version, its audit log's head (entries\n"
	"                  and head hash), its number of underretninger and events, and the\n"
	"                  SHA-256 of varsko.db\n"
	"The copy must pass PRAGMA integrity_check and the audit log check of `audit verify`\n"
	"before the manifest is written; on any failure nothing is left in DEST. The keys,\n"
	"certificates and configuration are not in a backup: see docs/OPERATIONS.md.\n";
static const char usage_restore[] =
	"usage: varskoctl [-c FILE] restore SRC [--force]\n"
	"Check the backup directory SRC (made by `varskoctl backup`) and only then put its\n"
	"database in place of the one named in the configuration. The checks: manifest.json\n"
	"present and valid, the SHA-256 of varsko.db as the manifest says, PRAGMA\n"
	"integrity_check, a schema version this varskoctl can use (its own, or an older one\n"
	"that `varskoctl migrate` upgrades), the audit log intact with the manifest's head.\n"
	"The copy is written next to the database, fsync'ed and renamed into place.\n"
	"Refused while varskod (or any other program) has the database open: stop varskod\n"
	"first. An existing database is replaced only with --force, and is kept as\n"
	"DATABASE.before-restore-YYYYMMDDTHHMMSSZ (its -wal and -shm files beside it with the\n"
	"same name). A refused restore changes nothing.\n";

static const char usage_org[] =
	"usage: varskoctl [-c FILE] org init --root-key FILE [--years N]\n"
	"       varskoctl [-c FILE] org show [--json]\n"
	"       varskoctl [-c FILE] org admin-add USER --root-key FILE\n"
	"       varskoctl [-c FILE] org admin-remove USER --root-key FILE\n"
	"       varskoctl [-c FILE] org enroll-key --not-after TIME --root-key FILE\n"
	"The org chain (PROTOCOL.md 16): who the organisation's admins are and which keys\n"
	"varskod may use, each link signed by the organisation root key. The root key file\n"
	"belongs offline (a removable disk): varskod never reads it, only these commands do.\n"
	"  init         make the root key at FILE when FILE does not exist (else use it) and\n"
	"               start the chain: the organisation key as enrollment key for N years\n"
	"               (default 10) and the gateway key. Prints the root key's fingerprint:\n"
	"               from now on enrolling devices check it. Restart varskod afterwards.\n"
	"  show         the verified chain: root fingerprint, admins, enrollment keys, gateway key.\n"
	"  admin-add    make USER (role admin, with a user key: enrolled once) an admin; admins\n"
	"               create team chains. admin-remove undoes it.\n"
	"  enroll-key   set the enrollment key's last valid time (UTC, YYYY-MM-DDTHH:MM:SSZ);\n"
	"               a past time retires it.\n";

static const char usage_release[] =
	"usage: varskoctl release sign --root-key FILE DIR\n"
	"       varskoctl release verify (--root-pk B64 | --root-key FILE) DIR\n"
	"A release of the web client (DIR as clients/web's build makes it) and its\n"
	"signature by the organisation root key (PROTOCOL.md 18). Needs no configuration:\n"
	"run it on the offline machine that holds the root key.\n"
	"  sign    check that every file DIR/release.json lists has its SHA-256, then write\n"
	"          DIR/release.sig (replacing one that is there) and print the manifest's hash.\n"
	"  verify  check DIR/release.sig against the root public key (base64, or the public\n"
	"          half of the root key file) and every listed file's SHA-256.\n";

static const char usage_threads[] =
	"usage: varskoctl [-c FILE] threads purge [--dry-run] [--older-than DAYS]\n"
	"Purge the content of every consultation thread without activity (no message\n"
	"and no membership change) for more than DAYS days (default: thread_retention_days\n"
	"of the configuration, 180 unless set; 0: everything inactive before now): its\n"
	"message envelopes and read marks are deleted, the thread row and its membership\n"
	"chain stay, and each purged thread gets one audit row (thread_purge) with its\n"
	"counts and bytes. Members then get the error purged for its messages. varskod\n"
	"does the same by itself every hour; this runs it now, also while varskod runs\n"
	"(one transaction per thread; a thread active again meanwhile is left alone).\n"
	"One line per thread: its id, last activity (UTC), messages, bytes of their\n"
	"envelopes and read marks; then a total.\n"
	"  --dry-run          print what would be purged and change nothing\n"
	"  --older-than DAYS  the period without activity, 0..3650\n";

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
	uint8_t root_pk[PROTO_PK_LEN];
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
	/* Once the org chain exists, enrolling devices check the root's fingerprint (PROTOCOL.md 16.2). */
	if ((r = store_org_root_get(s, root_pk)) == VARSKO_OK)
		proto_fingerprint(root_pk, fpr);
	else if (r != VARSKO_ERR_NOT_FOUND) {
		fail(r, "cannot read the organisation root");
		goto out;
	}
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

struct dead_ctx {
	int json;
	json_t *arr;
	size_t n;
};

static int dead_one(const struct store_outbox_dead_row *d, void *arg)
{
	struct dead_ctx *dc = arg;
	char at[PROTO_TIME_LEN + 1];
	json_t *o;

	proto_time_format(d->dead_at, at);
	dc->n++;
	if (!dc->json) {
		printf("%-16s  %-24s  %-13s  %s  %lld\n", d->reference, d->team, d->reason, at, (long long)d->attempts);
		return VARSKO_OK;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "reference", d->reference, "team", d->team, "reason",
	              d->reason, "device", d->device, "dead_at", at, "attempts", (json_int_t)d->attempts);
	if (o == NULL || json_array_append_new(dc->arr, o) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

/* outbox retry REF: in one transaction, the dead rows alive again and the audit entry. */
static int outbox_retry(struct store *s, const char *ref)
{
	char detail[PROTO_ID_MAX + 16];
	int64_t now = (int64_t)time(NULL);
	int r, changed = 0;

	if ((r = store_begin(s)) != VARSKO_OK)
		return r;
	if ((r = store_outbox_retry(s, ref, now, &changed)) == VARSKO_OK && changed == 0)
		r = VARSKO_ERR_NOT_FOUND;
	snprintf(detail, sizeof(detail), "ref=%s", ref);
	if (r == VARSKO_OK)
		r = store_audit(s, now, "outbox_retry", "varskoctl", detail);
	if (r == VARSKO_OK)
		r = store_commit(s);
	if (r != VARSKO_OK)
		store_rollback(s);
	return r;
}

static int cmd_outbox(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	struct dead_ctx dc;
	char *text = NULL;
	const char *sub;
	int r, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&dc, 0, sizeof(dc));
	if ((r = common_opts(argc, argv, usage_outbox, &dc.json, NULL, NULL)) >= 0)
		return r;
	if (optind >= argc)
		return usage_error(usage_outbox, "outbox takes: dead, or retry REFERENCE");
	sub = argv[optind];
	/* The options may follow the word: argv from the word on, as getopt wants it. */
	argc -= optind;
	argv += optind;
	if ((r = common_opts(argc, argv, usage_outbox, &dc.json, NULL, NULL)) >= 0)
		return r;
	if (strcmp(sub, "dead") == 0) {
		if (optind != argc)
			return usage_error(usage_outbox, "outbox dead takes no argument");
	} else if (strcmp(sub, "retry") == 0) {
		if (optind + 1 != argc || dc.json)
			return usage_error(usage_outbox, "outbox retry takes one reference (and no --json)");
		if (!flow_reference_valid(argv[optind]))
			return usage_error(usage_outbox, "not a reference (U-YYYY-NNNNNN)");
	} else {
		return usage_error(usage_outbox, "outbox takes: dead, or retry REFERENCE");
	}
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if (strcmp(sub, "retry") == 0) {
		if ((r = outbox_retry(s, argv[optind])) != VARSKO_OK) {
			fail(r, r == VARSKO_ERR_NOT_FOUND ? "no dead letter with that reference"
			                                  : "cannot publish the dead letter again");
			goto out;
		}
		printf("%s: published again to its team's agent\n", argv[optind]);
		code = 0;
		goto out;
	}
	if (dc.json && (dc.arr = json_array()) == NULL) {
		fail(VARSKO_ERR_NOMEM, "cannot list dead letters");
		goto out;
	}
	if (!dc.json)
		printf("%-16s  %-24s  %-13s  %-20s  %s\n", "REFERENCE", "TEAM", "REASON", "DEAD SINCE", "ATTEMPTS");
	if ((r = store_outbox_dead_foreach(s, dead_one, &dc)) != VARSKO_OK) {
		fail(r, "cannot list dead letters");
		goto out;
	}
	if (dc.json) {
		if ((text = json_dumps(dc.arr, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			fail(VARSKO_ERR_NOMEM, "cannot list dead letters");
			goto out;
		}
		printf("%s\n", text);
	}
	code = 0;
out:
	free(text);
	json_decref(dc.arr);
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

/*
 * The audit log check of `varskoctl audit verify`, on the live database or a
 * backup's copy: the chain (store_audit_verify) and then its head. Says on
 * stderr what is wrong, naming the log as `what`. On VARSKO_OK *count is the
 * number of entries and head_seq, head the newest one's seq and hash.
 */
static int audit_check(struct store *s, const char *what, uint64_t *count, uint64_t *head_seq, uint8_t head[32])
{
	uint64_t bad = 0;
	int r;

	r = store_audit_verify(s, count, &bad);
	if (r == VARSKO_ERR_BAD_SIGNATURE) {
		fail(r, "%s broken at entry %llu (%llu entries before it are intact)", what, (unsigned long long)bad,
		     (unsigned long long)*count);
		return r;
	}
	if (r == VARSKO_OK)
		r = store_audit_head(s, head_seq, head);
	if (r != VARSKO_OK)
		fail(r, "cannot read %s", what);
	return r;
}

static int cmd_audit(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store *s = NULL;
	uint64_t count = 0, head_seq = 0;
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
	if (audit_check(s, "the audit log", &count, &head_seq, head) != VARSKO_OK)
		goto out;
	sodium_bin2hex(hex, sizeof(hex), head, sizeof(head));
	printf("audit log intact: %llu entries\nhead: %llu %s\n", (unsigned long long)count,
	       (unsigned long long)head_seq, hex);
	code = 0;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

/* ---- backup and restore (docs/OPERATIONS.md "Backup and restore") --------------------- */

/*
 * What backup and restore both check on a database copy (opened with
 * store_open_copy), and the part of its manifest they learn from it: PRAGMA
 * integrity_check, a schema version this varskoctl can use, the audit log
 * as `audit verify` checks it (its entries and head hash), and the
 * number of underretninger and events (-1 when the schema has none). whose:
 * "the copy" or "the backup", for the messages.
 */
static int copy_check(struct store *s, const char *whose, struct backup_manifest *m)
{
	char what[64];
	uint64_t head_seq = 0;
	int64_t und = -1, ev = -1;
	int v = store_opened_at_version(s), r;

	if ((r = store_integrity_check(s)) != VARSKO_OK) {
		fail(r, "%s does not pass PRAGMA integrity_check: it is damaged", whose);
		return r;
	}
	if (v < 1) {
		fail(VARSKO_ERR_DB, "%s is not a Varsko database (schema version %d)", whose, v);
		return VARSKO_ERR_DB;
	}
	if ((r = store_schema_check(v)) != VARSKO_OK) {
		fail(r, "%s has schema %d, newer than this varskoctl's %d: use the varskoctl that made it", whose, v,
		     STORE_SCHEMA_VERSION);
		return r;
	}
	m->schema_version = v;
	snprintf(what, sizeof(what), "%s's audit log", whose);
	if ((r = audit_check(s, what, &m->audit_entries, &head_seq, m->audit_head)) != VARSKO_OK)
		return r;
	/* Schema 1 has no underretninger table: no counts, not an error. */
	if ((r = store_backup_counts(s, &und, &ev)) != VARSKO_OK && v >= 2) {
		fail(r, "cannot count the underretninger of %s", whose);
		return r;
	}
	m->underretninger = r == VARSKO_OK ? und : -1;
	m->events = r == VARSKO_OK ? ev : -1;
	return VARSKO_OK;
}

static const char *schema_words(int v)
{
	return v == STORE_SCHEMA_VERSION ? "the current schema"
	                                 : "older than this varskoctl's: varskoctl migrate upgrades it";
}

static int cmd_backup(const char *cfgpath, int argc, char **argv)
{
	struct backup_manifest m;
	struct config cfg;
	struct store *s = NULL;
	char copy[BACKUP_PATH_MAX], err[128], sha[65], head[65];
	const char *dest;
	int r, code = 1, created = 0, prepared = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&m, 0, sizeof(m));
	if ((r = common_opts(argc, argv, usage_backup, NULL, NULL, NULL)) >= 0)
		return r;
	if (optind + 1 != argc)
		return usage_error(usage_backup, "backup takes one directory, DEST");
	dest = argv[optind];
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if ((r = backup_path(copy, sizeof(copy), dest, BACKUP_DB_NAME)) != VARSKO_OK) {
		fail(r, "%s: the name is too long", dest);
		goto out;
	}
	if ((r = backup_dir_prepare(dest, &created, err, sizeof(err))) != VARSKO_OK) {
		fail(r, "%s: %s; no backup made", dest, err);
		goto out;
	}
	prepared = 1;
	m.created = (int64_t)time(NULL);
	if ((r = store_backup(cfg.database, copy)) != VARSKO_OK) {
		fail(r, "cannot %s the database %s", r == VARSKO_ERR_NOT_FOUND ? "open" : "copy", cfg.database);
		goto out;
	}
	if ((r = store_open_copy(&s, copy)) != VARSKO_OK) {
		fail(r, "cannot open the copy");
		goto out;
	}
	if (copy_check(s, "the copy", &m) != VARSKO_OK)
		goto out;
	store_close(s);
	s = NULL;
	if ((r = backup_file_hash(copy, m.sha256, &m.bytes)) != VARSKO_OK) {
		fail(r, "cannot read the copy");
		goto out;
	}
	snprintf(m.made_by, sizeof(m.made_by), "varskoctl %s", VARSKO_VERSION);
	if (proto_str_copy(m.source, sizeof(m.source), cfg.database) != VARSKO_OK)
		m.source[0] = '\0'; /* information only */
	if ((r = backup_manifest_write(dest, &m)) != VARSKO_OK) {
		fail(r, "cannot write %s/%s", dest, BACKUP_MANIFEST_NAME);
		goto out;
	}
	sodium_bin2hex(sha, sizeof(sha), m.sha256, sizeof(m.sha256));
	sodium_bin2hex(head, sizeof(head), m.audit_head, sizeof(m.audit_head));
	printf("backup of %s in %s\n", cfg.database, dest);
	printf("schema %d (%s), %lld underretninger, %lld events\n", m.schema_version, schema_words(m.schema_version),
	       (long long)m.underretninger, (long long)m.events);
	printf("audit log intact: %llu entries\nhead: %llu %s\n", (unsigned long long)m.audit_entries,
	       (unsigned long long)m.audit_entries, head);
	printf("sha256 %s  %s\n", sha, BACKUP_DB_NAME);
	code = 0;
out:
	store_close(s);
	if (code != 0 && prepared)
		backup_dir_clear(dest, created);
	config_free(&cfg);
	return code;
}

/*
 * The backup at src, checked before anything is touched: the manifest, the
 * database file's size and SHA-256 against it, then copy_check() on the
 * file, whose schema version, audit head and counts must be the manifest's.
 */
static int restore_check(const char *src, struct backup_manifest *m)
{
	struct backup_manifest got;
	struct store *s = NULL;
	char copy[BACKUP_PATH_MAX], err[160], a[65], b[65];
	uint8_t sha[BACKUP_HASH_LEN];
	uint64_t bytes = 0;
	int r;

	memset(&got, 0, sizeof(got));
	if ((r = backup_manifest_read(src, m, err, sizeof(err))) != VARSKO_OK) {
		fail(r, "%s: %s; nothing restored", src, err);
		return r;
	}
	if ((r = backup_path(copy, sizeof(copy), src, BACKUP_DB_NAME)) != VARSKO_OK) {
		fail(r, "%s: the name is too long", src);
		return r;
	}
	if ((r = backup_file_hash(copy, sha, &bytes)) != VARSKO_OK) {
		fail(r, "%s: %s", src, r == VARSKO_ERR_NOT_FOUND ? "no varsko.db" : "cannot read varsko.db");
		return r;
	}
	if (bytes != m->bytes || sodium_memcmp(sha, m->sha256, sizeof(sha)) != 0) {
		sodium_bin2hex(a, sizeof(a), sha, sizeof(sha));
		sodium_bin2hex(b, sizeof(b), m->sha256, sizeof(m->sha256));
		fail(VARSKO_ERR_BAD_SIGNATURE,
		     "%s: varsko.db does not match the manifest (SHA-256 %s, %llu bytes; the manifest says %s, %llu "
		     "bytes): the backup is damaged or was changed; nothing restored",
		     src, a, (unsigned long long)bytes, b, (unsigned long long)m->bytes);
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	if ((r = store_open_copy(&s, copy)) != VARSKO_OK) {
		fail(r, "%s: varsko.db does not open as a database; nothing restored", src);
		return r;
	}
	r = copy_check(s, "the backup", &got);
	store_close(s);
	if (r != VARSKO_OK)
		return r;
	r = VARSKO_ERR_BAD_SIGNATURE;
	if (got.schema_version != m->schema_version)
		fail(r, "%s: the database has schema %d, the manifest says %d; nothing restored", src,
		     got.schema_version, m->schema_version);
	else if (got.audit_entries != m->audit_entries ||
	         sodium_memcmp(got.audit_head, m->audit_head, sizeof(got.audit_head)) != 0) {
		sodium_bin2hex(a, sizeof(a), got.audit_head, sizeof(got.audit_head));
		sodium_bin2hex(b, sizeof(b), m->audit_head, sizeof(m->audit_head));
		fail(r, "%s: the audit log's head (%llu %s) is not the manifest's (%llu %s); nothing restored", src,
		     (unsigned long long)got.audit_entries, a, (unsigned long long)m->audit_entries, b);
	} else if (got.underretninger != m->underretninger || got.events != m->events)
		fail(r,
		     "%s: the database holds %lld underretninger and %lld events, the manifest says %lld and %lld; "
		     "nothing restored",
		     src, (long long)got.underretninger, (long long)got.events, (long long)m->underretninger,
		     (long long)m->events);
	else
		r = VARSKO_OK;
	return r;
}

/*
 * Nobody may have the database open while it is replaced: varskod holds
 * its connection, and so a shared lock on the file, for as long as it runs
 * (store_take_offline). Refused when in use; when it cannot be told (the
 * file does not open as a database) the restore goes on, since --force was
 * given for an existing database, with a warning (once: *warned).
 */
static int restore_offline(const char *db, int *warned)
{
	int r = store_take_offline(db);

	if (r == VARSKO_OK || r == VARSKO_ERR_NOT_FOUND)
		return VARSKO_OK;
	if (r == VARSKO_ERR_UNAVAILABLE) {
		fail(r, "the database %s is in use (is varskod running?): stop varskod first; nothing restored", db);
		return r;
	}
	if (!*warned)
		fprintf(stderr,
		        "varskoctl: warning: cannot tell whether the database %s is in use: it does not open as a "
		        "database (%s); replacing it as --force says. Make sure varskod is stopped.\n",
		        db, varsko_err_name(r));
	*warned = 1;
	return VARSKO_OK;
}

static int cmd_restore(const char *cfgpath, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force", no_argument, NULL, 'f'},
	        {NULL, 0, NULL, 0},
	};
	struct backup_manifest m;
	struct config cfg;
	struct stat st;
	char copy[BACKUP_PATH_MAX], tmp[BACKUP_PATH_MAX + 32] = "", aside[BACKUP_PATH_MAX + 64] = "", head[65];
	char made[PROTO_TIME_LEN + 1];
	const char *src;
	int c, r, code = 1, force = 0, exists, warned = 0;

	memset(&cfg, 0, sizeof(cfg));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_restore, stdout);
			return 0;
		case 'f':
			force = 1;
			break;
		default:
			return usage_error(usage_restore, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return usage_error(usage_restore, "restore takes one backup directory, SRC");
	src = argv[optind];
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;

	/* 1. The backup, before anything is touched. */
	if (restore_check(src, &m) != VARSKO_OK)
		goto out;
	proto_time_format(m.created, made);
	sodium_bin2hex(head, sizeof(head), m.audit_head, sizeof(m.audit_head));
	printf("backup %s: intact (made %s by %s)\nschema %d (%s)\naudit log intact: %llu entries, head %s\n", src,
	       made, m.made_by[0] ? m.made_by : "?", m.schema_version, schema_words(m.schema_version),
	       (unsigned long long)m.audit_entries, head);

	/* 2. The database it replaces: only with --force, and never while in use. */
	exists = lstat(cfg.database, &st) == 0;
	if (exists && !force) {
		fail(VARSKO_ERR_EXISTS,
		     "the database %s exists: restore --force replaces it (and keeps it as %s.before-restore-TIME); "
		     "nothing restored",
		     cfg.database, cfg.database);
		goto out;
	}
	if (exists && restore_offline(cfg.database, &warned) != VARSKO_OK)
		goto out;

	/* 3. Copied next to it (the hash checked once more on the way), synced, then renamed into place. */
	if ((r = backup_path(copy, sizeof(copy), src, BACKUP_DB_NAME)) != VARSKO_OK ||
	    (r = backup_stage(copy, &m, cfg.database, tmp, sizeof(tmp))) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_SIGNATURE)
			fail(r, "%s: varsko.db changed while it was restored; nothing restored", src);
		else
			fail(r, "cannot copy the backup next to the database %s; nothing restored", cfg.database);
		goto out;
	}
	/* Once more: the copy took time, in which varskod could have been started. */
	if (exists && restore_offline(cfg.database, &warned) != VARSKO_OK)
		goto out;
	if ((r = backup_swap(tmp, cfg.database, (int64_t)time(NULL), aside, sizeof(aside))) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			fail(r, "the name the old database would be kept under is taken; try again; nothing restored");
		else
			fail(r, "cannot put the backup in place of %s; nothing restored", cfg.database);
		goto out;
	}
	tmp[0] = '\0'; /* in place */
	printf("restored %s from %s\n", cfg.database, src);
	if (aside[0] != '\0')
		printf("the previous database is kept as %s\n", aside);
	if (m.schema_version != STORE_SCHEMA_VERSION)
		printf("its schema %d is older than this varskoctl's %d: run `varskoctl migrate`\n"
		       "(varskod also upgrades it when it starts)\n",
		       m.schema_version, STORE_SCHEMA_VERSION);
	code = 0;
out:
	backup_unstage(tmp);
	config_free(&cfg);
	return code;
}

/* ---- org (PROTOCOL.md 16.1) -------------------------------------------------------- */

#define ORG_YEARS_DEFAULT 10
#define ORG_YEARS_MAX     50

struct org_args {
	const char *root_key; /* --root-key */
	const char *not_after; /* --not-after */
	long years;            /* --years */
	int json;
};

static int org_opts(int argc, char **argv, struct org_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "root-key", required_argument, NULL, 'k' },
		{ "not-after", required_argument, NULL, 'n' },
		{ "years", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	a->years = ORG_YEARS_DEFAULT;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_org, stdout);
			return 0;
		case 'j':
			a->json = 1;
			break;
		case 'k':
			a->root_key = optarg;
			break;
		case 'n':
			a->not_after = optarg;
			break;
		case 'y':
			errno = 0;
			a->years = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || a->years < 1 || a->years > ORG_YEARS_MAX)
				return usage_error(usage_org, "--years must be a number from 1 to 50");
			break;
		default:
			return usage_error(usage_org, "unknown option or missing value");
		}
	}
	return -1;
}

/* Read the root key file; its public half must be the organisation's root when the store has one. */
static int org_root_read(struct store *s, const char *path, uint8_t **sk, uint8_t pk[PROTO_PK_LEN])
{
	uint8_t have[PROTO_PK_LEN];
	int r;

	if ((r = keys_secret_read(path, sk)) != VARSKO_OK) {
		fail(r, "cannot read the root key file");
		return r;
	}
	keys_public_of(*sk, pk);
	if ((r = store_org_root_get(s, have)) == VARSKO_OK && sodium_memcmp(have, pk, PROTO_PK_LEN) != 0) {
		fail(VARSKO_ERR_BAD_SIGNATURE, "this root key is not the organisation's root");
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	if (r == VARSKO_ERR_NOT_FOUND) {
		fail(r, "the organisation has no org chain yet: run varskoctl org init first");
		return r;
	}
	if (r != VARSKO_OK)
		fail(r, "cannot read the organisation root");
	return r;
}

/* Sign l with the root key after the org chain's head, check it extends the chain, and give its text. */
static int org_link_make(struct chain_org_state *state, struct chain_link *l, const uint8_t *root_sk,
                         const uint8_t root_pk[PROTO_PK_LEN], char **text)
{
	size_t len = 0;
	int r;

	l->kind = CHAIN_KIND_ORG;
	l->time = (int64_t)time(NULL);
	chain_link_follow(l, &state->head);
	if ((r = chain_link_sign(l, root_sk)) != VARSKO_OK || (r = chain_org_extend(state, l, root_pk)) != VARSKO_OK ||
	    (r = chain_link_to_text(l, text, &len)) != VARSKO_OK)
		return r;
	return VARSKO_OK;
}

static int org_init(const struct config *cfg, struct store *s, const struct org_args *a)
{
	struct chain_org_state state;
	struct chain_link links[2];
	struct proto_cert gc;
	uint8_t *root_sk = NULL, *org_sk = NULL;
	uint8_t root_pk[PROTO_PK_LEN], have[PROTO_PK_LEN];
	char *texts[2] = { NULL, NULL }, fpr[PROTO_FPR_LEN + 1];
	int64_t now = (int64_t)time(NULL);
	int r, made = 0;

	if ((r = store_org_root_get(s, have)) != VARSKO_ERR_NOT_FOUND) {
		if (r == VARSKO_OK)
			fail(VARSKO_ERR_EXISTS, "the org chain exists already (varskoctl org show)");
		else
			fail(r, "cannot read the organisation root");
		return r == VARSKO_OK ? VARSKO_ERR_EXISTS : r;
	}
	if ((r = keys_cert_read(cfg->gateway_cert, &gc)) != VARSKO_OK) {
		fail(r, "cannot read the gateway certificate (gateway_cert)");
		goto out;
	}
	if ((r = keys_secret_read(cfg->org_key, &org_sk)) != VARSKO_OK) {
		fail(r, "cannot read the organisation key (org_key)");
		goto out;
	}
	if (keys_file_exists(a->root_key)) {
		r = keys_secret_read(a->root_key, &root_sk);
		if (r == VARSKO_OK)
			keys_public_of(root_sk, root_pk);
	} else if ((r = keys_secret_generate(&root_sk, root_pk)) == VARSKO_OK &&
	           (r = keys_secret_write(a->root_key, root_sk)) == VARSKO_OK) {
		made = 1;
	}
	if (r != VARSKO_OK) {
		fail(r, "cannot read or write the root key file");
		goto out;
	}
	memset(&state, 0, sizeof(state));
	memset(links, 0, sizeof(links));
	links[0].op = CHAIN_OP_ENROLL_KEY;
	keys_public_of(org_sk, links[0].pk);
	links[0].not_after = now + a->years * 365 * 86400LL;
	links[1].op = CHAIN_OP_GATEWAY_KEY;
	memcpy(links[1].pk, gc.sign_pk, PROTO_PK_LEN);
	for (size_t i = 0; i < 2; i++) {
		if ((r = org_link_make(&state, &links[i], root_sk, root_pk, &texts[i])) != VARSKO_OK) {
			fail(r, "cannot make the org chain's links");
			goto out;
		}
	}
	if ((r = store_org_init(s, root_pk, (const char *const *)texts, 2, now, "varskoctl")) != VARSKO_OK) {
		fail(r, "cannot write the org chain");
		goto out;
	}
	proto_fingerprint(root_pk, fpr);
	printf("org chain started: enrollment key and gateway key, signed by the root key%s\n"
	       "root key fingerprint: %s\n"
	       "keep the root key file offline; restart varskod so that hello carries the root\n",
	       made ? " (new file)" : "", fpr);
out:
	free(texts[0]);
	free(texts[1]);
	keys_secret_free(root_sk);
	keys_secret_free(org_sk);
	return r;
}

/* admin-add, admin-remove, enroll-key: one link signed by the root key. */
static int org_append(struct store *s, const char *what, const char *user, const struct org_args *a)
{
	struct orgchain *oc = NULL;
	struct userchain *uc = NULL;
	struct chain_link l;
	struct proto_cert who;
	uint8_t *root_sk = NULL, root_pk[PROTO_PK_LEN];
	char *text = NULL;
	int r;

	memset(&l, 0, sizeof(l));
	if ((r = org_root_read(s, a->root_key, &root_sk, root_pk)) != VARSKO_OK)
		goto out;
	if ((oc = calloc(1, sizeof(*oc))) == NULL || (uc = calloc(1, sizeof(*uc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		fail(r, "out of memory");
		goto out;
	}
	if ((r = orgchain_load(s, 0, oc)) != VARSKO_OK) {
		fail(r, "the stored org chain does not verify: the database was changed");
		goto out;
	}
	if (strcmp(what, "enroll-key") == 0) {
		l.op = CHAIN_OP_ENROLL_KEY;
		if (oc->state.n_enroll == 0) {
			r = VARSKO_ERR_NOT_FOUND;
			fail(r, "the org chain has no enrollment key");
			goto out;
		}
		memcpy(l.pk, oc->state.enroll[oc->state.n_enroll - 1].pk, PROTO_PK_LEN);
		if (a->not_after == NULL || proto_time_parse(a->not_after, &l.not_after) != VARSKO_OK) {
			r = VARSKO_ERR_BAD_INPUT;
			fail(r, "--not-after needs a time as YYYY-MM-DDTHH:MM:SSZ");
			goto out;
		}
	} else {
		l.op = strcmp(what, "admin-add") == 0 ? CHAIN_OP_ADMIN_ADD : CHAIN_OP_ADMIN_REMOVE;
		snprintf(l.user, sizeof(l.user), "%s", user);
	}
	if (l.op == CHAIN_OP_ADMIN_ADD) {
		if ((r = store_user_get(s, user, &who)) != VARSKO_OK || strcmp(who.role, "admin") != 0) {
			r = r == VARSKO_OK || r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_BAD_INPUT : r;
			fail(r, "%s is not a user with role admin in the municipality document", user);
			goto out;
		}
		if ((r = userchain_load(s, user, 0, uc)) != VARSKO_OK || uc->state.generation == 0) {
			r = r == VARSKO_OK ? VARSKO_ERR_NOT_FOUND : r;
			fail(r, "%s has no user key yet: enroll a device of theirs first", user);
			goto out;
		}
		memcpy(l.pk, uc->state.uk_sign_pk, PROTO_PK_LEN);
		l.generation = uc->state.generation;
	}
	if ((r = org_link_make(&oc->state, &l, root_sk, root_pk, &text)) != VARSKO_OK) {
		fail(r, "the change does not fit the org chain (an admin twice, or one who is not)");
		goto out;
	}
	if ((r = store_chain_add(s, "org", STORE_ORG_CHAIN, (int64_t)l.seq, chain_op_name(l.op), text, l.time,
	                         "varskoctl")) != VARSKO_OK) {
		fail(r, "cannot write the org chain");
		goto out;
	}
	printf("org chain: %s appended as link %llu\n", chain_op_name(l.op), (unsigned long long)l.seq);
out:
	free(text);
	keys_secret_free(root_sk);
	userchain_free(uc);
	free(uc);
	orgchain_free(oc);
	free(oc);
	return r;
}

static int org_show(struct store *s, int json)
{
	struct orgchain *oc;
	char fpr[PROTO_FPR_LEN + 1], t[PROTO_TIME_LEN + 1], b64[64];
	json_t *o = NULL, *admins = NULL, *enroll = NULL;
	int r;

	if ((oc = calloc(1, sizeof(*oc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = orgchain_load(s, 0, oc)) != VARSKO_OK) {
		fail(r, "the stored org chain does not verify: the database was changed");
		goto out;
	}
	if (!oc->has_root) {
		r = VARSKO_ERR_NOT_FOUND;
		fail(r, "the organisation has no org chain yet (varskoctl org init)");
		goto out;
	}
	proto_fingerprint(oc->root_pk, fpr);
	if ((o = json_object()) == NULL || (admins = json_array()) == NULL || (enroll = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < oc->state.n_admins; i++)
		json_array_append_new(admins, json_pack("{s:s, s:I}", "user", oc->state.admins[i].user, "uk_generation",
		                                        (json_int_t)oc->state.admins[i].uk_generation));
	for (size_t i = 0; i < oc->state.n_enroll; i++) {
		proto_fingerprint(oc->state.enroll[i].pk, b64);
		proto_time_format(oc->state.enroll[i].not_after, t);
		json_array_append_new(enroll, json_pack("{s:s, s:s}", "fingerprint", b64, "not_after", t));
	}
	json_object_set_new(o, "root_fingerprint", json_string(fpr));
	json_object_set_new(o, "links", json_integer((json_int_t)oc->rows.n));
	json_object_set(o, "admins", admins);
	json_object_set(o, "enrollment_keys", enroll);
	if (oc->state.has_gateway) {
		proto_fingerprint(oc->state.gateway_pk, b64);
		json_object_set_new(o, "gateway_fingerprint", json_string(b64));
	}
	if (json) {
		char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

		if (txt == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		puts(txt);
		free(txt);
	} else {
		printf("root key fingerprint: %s\nlinks: %zu\n", fpr, oc->rows.n);
		for (size_t i = 0; i < json_array_size(enroll); i++)
			printf("enrollment key: %s until %s\n",
			       json_string_value(json_object_get(json_array_get(enroll, i), "fingerprint")),
			       json_string_value(json_object_get(json_array_get(enroll, i), "not_after")));
		if (oc->state.has_gateway)
			printf("gateway key: %s\n", json_string_value(json_object_get(o, "gateway_fingerprint")));
		for (size_t i = 0; i < oc->state.n_admins; i++)
			printf("admin: %s (user key generation %llu)\n", oc->state.admins[i].user,
			       (unsigned long long)oc->state.admins[i].uk_generation);
		if (oc->state.n_admins == 0)
			printf("admins: none yet (varskoctl org admin-add USER --root-key FILE)\n");
	}
out:
	json_decref(admins);
	json_decref(enroll);
	json_decref(o);
	orgchain_free(oc);
	free(oc);
	return r;
}

static int cmd_org(const char *cfgpath, int argc, char **argv)
{
	struct org_args a;
	struct config cfg;
	struct store *s = NULL;
	const char *what, *user = NULL;
	int r, code = 1;

	memset(&a, 0, sizeof(a));
	memset(&cfg, 0, sizeof(cfg));
	if ((r = org_opts(argc, argv, &a)) >= 0)
		return r;
	if (optind >= argc)
		return usage_error(usage_org, "org takes: init, show, admin-add, admin-remove or enroll-key");
	what = argv[optind++];
	if ((strcmp(what, "admin-add") == 0 || strcmp(what, "admin-remove") == 0) && optind < argc)
		user = argv[optind++];
	/* The options may follow the words: argv from the last word on, as getopt wants it. */
	argc -= optind - 1;
	argv += optind - 1;
	if ((r = org_opts(argc, argv, &a)) >= 0)
		return r;
	if (optind != argc)
		return usage_error(usage_org, "too many arguments");
	if ((strcmp(what, "admin-add") == 0 || strcmp(what, "admin-remove") == 0) && user == NULL)
		return usage_error(usage_org, "which user?");
	if (strcmp(what, "show") != 0 && strcmp(what, "init") != 0 && user == NULL && strcmp(what, "enroll-key") != 0)
		return usage_error(usage_org, "unknown org command");
	if (strcmp(what, "show") != 0 && a.root_key == NULL)
		return usage_error(usage_org, "--root-key FILE is needed: the root key signs every link");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	if (strcmp(what, "show") == 0)
		r = org_show(s, a.json);
	else if (strcmp(what, "init") == 0)
		r = org_init(&cfg, s, &a);
	else
		r = org_append(s, what, user, &a);
	code = r == VARSKO_OK ? 0 : 1;
out:
	store_close(s);
	config_free(&cfg);
	return code;
}

/* ---- the web client's release (PROTOCOL.md 18) --------------------------------------- */

#define RELEASE_TAG        "varsko-release-v1"
#define RELEASE_JSON_MAX   (1024 * 1024)
#define RELEASE_SIG_MAX    4096
#define RELEASE_FILE_MAX   (64 * 1024 * 1024)
#define RELEASE_FILES_MAX  1024

/* A path as varskod serves it: segments of A-Z a-z 0-9 . _ -, none empty, "." or "..", none starting with ".". */
static int release_path_ok(const char *p)
{
	const char *seg = p;

	if (*p == '\0' || strlen(p) > 1024)
		return 0;
	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || *seg == '.')
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		             *p == '.' || *p == '_' || *p == '-')) {
			return 0;
		}
	}
}

/* The signing input: fields(RELEASE_TAG, the 32-byte SHA-256 of release.json). */
static int release_signing_input(const uint8_t hash[crypto_hash_sha256_BYTES], struct proto_buf *b)
{
	proto_buf_put_str(b, RELEASE_TAG);
	proto_buf_put_bytes(b, hash, crypto_hash_sha256_BYTES);
	return b->err;
}

/*
 * Read DIR/release.json, hash it into hash, and check every file it lists
 * against its SHA-256. Prints what is wrong; returns VARSKO_OK or an error.
 */
static int release_check_files(const char *dir, uint8_t hash[crypto_hash_sha256_BYTES], size_t *nfiles)
{
	char path[4096], fpath[4096], *text = NULL, *data = NULL;
	size_t len = 0, dlen = 0, bad = 0;
	json_t *m = NULL, *files, *v;
	json_error_t jerr;
	const char *name;
	int r;

	*nfiles = 0;
	if (snprintf(path, sizeof(path), "%s/release.json", dir) >= (int)sizeof(path)) {
		fail(VARSKO_ERR_USAGE, "the directory name is too long");
		return VARSKO_ERR_USAGE;
	}
	if ((r = file_read(path, RELEASE_JSON_MAX, 0, &text, &len)) != VARSKO_OK) {
		fail(r, "cannot read %s", path);
		return r;
	}
	crypto_hash_sha256(hash, (const uint8_t *)text, len);
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (m == NULL || !json_is_object(m) || json_integer_value(json_object_get(m, "version")) != 1 ||
	    !json_is_integer(json_object_get(m, "version")) || !json_is_object(files = json_object_get(m, "files")) ||
	    json_object_size(files) == 0 || json_object_size(files) > RELEASE_FILES_MAX) {
		r = VARSKO_ERR_BAD_INPUT;
		fail(r, "%s is not a release manifest ({\"version\":1,\"files\":{PATH:SHA256HEX}})", path);
		goto out;
	}
	json_object_foreach(files, name, v) {
		uint8_t want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
		const char *hex = json_string_value(v);
		size_t wl = 0;
		int fr;

		if (!release_path_ok(name) || strcmp(name, "release.json") == 0 || strcmp(name, "release.sig") == 0 ||
		    hex == NULL || strlen(hex) != 64 ||
		    sodium_hex2bin(want, sizeof(want), hex, 64, NULL, &wl, NULL) != 0 || wl != sizeof(want)) {
			r = VARSKO_ERR_BAD_INPUT;
			fail(r, "%s: the entry \"%s\" is not a file name and a SHA-256 in hex", path, name);
			goto out;
		}
		if (snprintf(fpath, sizeof(fpath), "%s/%s", dir, name) >= (int)sizeof(fpath)) {
			r = VARSKO_ERR_TOO_LARGE;
			fail(r, "%s/%s: the path is too long", dir, name);
			goto out;
		}
		if ((fr = file_read(fpath, RELEASE_FILE_MAX, FILE_NOFOLLOW, &data, &dlen)) != VARSKO_OK) {
			fail(fr, "%s: listed in release.json, cannot be read", fpath);
			bad++;
			continue;
		}
		crypto_hash_sha256(got, (const uint8_t *)data, dlen);
		file_free(data, dlen, FILE_NOFOLLOW);
		data = NULL;
		if (sodium_memcmp(got, want, sizeof(got)) != 0) {
			fail(VARSKO_ERR_BAD_SIGNATURE, "%s: its SHA-256 is not the one release.json lists", fpath);
			bad++;
		}
		(*nfiles)++;
	}
	r = bad ? VARSKO_ERR_BAD_SIGNATURE : VARSKO_OK;
out:
	json_decref(m);
	file_free(text, len, 0);
	return r;
}

static int release_sign(const char *dir, const char *root_key)
{
	uint8_t hash[crypto_hash_sha256_BYTES], sig[PROTO_SIG_LEN], *sk = NULL;
	char hb64[64], sb64[128], path[4096], hex[2 * crypto_hash_sha256_BYTES + 1], *text = NULL;
	struct proto_buf in;
	size_t n = 0;
	json_t *o = NULL;
	int r;

	proto_buf_init(&in);
	if ((r = release_check_files(dir, hash, &n)) != VARSKO_OK) {
		fail(r, "not signed: the release does not match its manifest");
		goto out;
	}
	if ((r = keys_secret_read(root_key, &sk)) != VARSKO_OK) {
		fail(r, "cannot read the root key file");
		goto out;
	}
	if ((r = release_signing_input(hash, &in)) != VARSKO_OK || (r = proto_sign(sig, &in, sk)) != VARSKO_OK ||
	    (r = proto_b64_encode(hash, sizeof(hash), hb64, sizeof(hb64))) != VARSKO_OK ||
	    (r = proto_b64_encode(sig, sizeof(sig), sb64, sizeof(sb64))) != VARSKO_OK) {
		fail(r, "cannot sign");
		goto out;
	}
	o = json_pack("{s:s, s:s, s:i}", "manifest", hb64, "sig", sb64, "version", 1);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		fail(r, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/release.sig", dir);
	if (unlink(path) != 0 && errno != ENOENT) {
		r = VARSKO_ERR_IO;
		fail(r, "cannot replace %s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = file_write_new(path, text, strlen(text), 0644)) != VARSKO_OK) {
		fail(r, "cannot write %s", path);
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	printf("signed: %s (%zu files), release %.12s\n", path, n, hex);
out:
	free(text);
	json_decref(o);
	proto_buf_free(&in);
	keys_secret_free(sk);
	return r;
}

static int release_verify(const char *dir, const uint8_t root_pk[PROTO_PK_LEN])
{
	uint8_t hash[crypto_hash_sha256_BYTES], have[crypto_hash_sha256_BYTES], sig[PROTO_SIG_LEN];
	char path[4096], hex[2 * crypto_hash_sha256_BYTES + 1], *text = NULL;
	struct proto_buf in;
	size_t len = 0, n = 0;
	json_t *o = NULL;
	json_error_t jerr;
	int r, files;

	proto_buf_init(&in);
	files = release_check_files(dir, hash, &n);
	snprintf(path, sizeof(path), "%s/release.sig", dir);
	if ((r = file_read(path, RELEASE_SIG_MAX, 0, &text, &len)) != VARSKO_OK) {
		fail(r, "cannot read %s", path);
		goto out;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o) || json_object_size(o) != 3 ||
	    !json_is_integer(json_object_get(o, "version")) || json_integer_value(json_object_get(o, "version")) != 1 ||
	    !json_is_string(json_object_get(o, "manifest")) || !json_is_string(json_object_get(o, "sig")) ||
	    proto_b64_decode_exact(json_string_value(json_object_get(o, "manifest")), have, sizeof(have)) != VARSKO_OK ||
	    proto_b64_decode_exact(json_string_value(json_object_get(o, "sig")), sig, sizeof(sig)) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_INPUT;
		fail(r, "%s is not a release signature ({\"manifest\":B64,\"sig\":B64,\"version\":1})", path);
		goto out;
	}
	if (sodium_memcmp(have, hash, sizeof(hash)) != 0) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		fail(r, "%s signs another release.json than the one in %s", path, dir);
		goto out;
	}
	if ((r = release_signing_input(hash, &in)) != VARSKO_OK || (r = proto_verify(sig, &in, root_pk)) != VARSKO_OK) {
		fail(VARSKO_ERR_BAD_SIGNATURE, "%s: the signature is not the root key's", path);
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((r = files) != VARSKO_OK) {
		fail(r, "the manifest is signed, but the files do not match it");
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	printf("verified: %s (%zu files) signed by the root key, release %.12s\n", dir, n, hex);
out:
	json_decref(o);
	file_free(text, len, 0);
	proto_buf_free(&in);
	return r;
}

static int cmd_release(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "root-key", required_argument, NULL, 'k' },
		{ "root-pk", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what, *dir, *root_key = NULL, *root_b64 = NULL;
	uint8_t pk[PROTO_PK_LEN], *sk = NULL;
	int c, r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc >= 2) {
			fputs(usage_release, stdout);
			return 0;
		}
		return usage_error(usage_release, "release takes: sign or verify");
	}
	what = argv[1];
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_release, stdout);
			return 0;
		case 'k':
			root_key = optarg;
			break;
		case 'p':
			root_b64 = optarg;
			break;
		default:
			return usage_error(usage_release, "unknown option or missing value");
		}
	}
	if (optind + 1 != argc)
		return usage_error(usage_release, "one directory: the release");
	dir = argv[optind];
	if (strcmp(what, "sign") == 0) {
		if (root_key == NULL || root_b64 != NULL)
			return usage_error(usage_release, "sign needs --root-key FILE");
		return release_sign(dir, root_key) == VARSKO_OK ? 0 : 1;
	}
	if (strcmp(what, "verify") != 0)
		return usage_error(usage_release, "release takes: sign or verify");
	if ((root_key == NULL) == (root_b64 == NULL))
		return usage_error(usage_release, "verify needs --root-pk B64 or --root-key FILE");
	if (root_b64 != NULL) {
		if (proto_b64_decode_exact(root_b64, pk, sizeof(pk)) != VARSKO_OK)
			return usage_error(usage_release, "--root-pk is not the base64 of 32 bytes");
	} else {
		if ((r = keys_secret_read(root_key, &sk)) != VARSKO_OK) {
			fail(r, "cannot read the root key file");
			return 1;
		}
		keys_public_of(sk, pk);
		keys_secret_free(sk);
	}
	return release_verify(dir, pk) == VARSKO_OK ? 0 : 1;
}

/* ---- thread retention (docs/THREADS.md "Retention") ----------------------------------- */

#define THREADS_BATCH   100    /* threads listed, then purged, per round */
#define THREADS_DRY_MAX 100000 /* threads a dry run lists at most */

struct purge_totals {
	const char *verb; /* "would purge" or "purged" */
	int64_t messages, bytes, marks;
};

static int purge_print(const struct store_thread_purge *p, void *arg)
{
	struct purge_totals *t = arg;
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

static int cmd_threads(const char *cfgpath, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "older-than", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct purge_totals tot = { "purged", 0, 0, 0 };
	char cutoff[PROTO_TIME_LEN + 1], *end;
	struct config cfg;
	struct store *s = NULL;
	int64_t now;
	size_t n = 0, all = 0;
	long older = -1;
	int c, r, dry = 0, days, code = 1;

	memset(&cfg, 0, sizeof(cfg));
	optind = 0; /* full reset of glibc's getopt state */
	opterr = 0;
	/* No "+": options may come after the word purge. */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_threads, stdout);
			return 0;
		case 'n':
			dry = 1;
			break;
		case 'o':
			errno = 0;
			older = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || errno || *end || older > 3650)
				return usage_error(usage_threads, "--older-than must be a number of days from 0 to 3650");
			break;
		default:
			return usage_error(usage_threads, "unknown option or missing value");
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "purge") != 0)
		return usage_error(usage_threads, "the threads command is: threads purge [options]");
	if (load_config(cfgpath, &cfg) != VARSKO_OK)
		goto out;
	days = older >= 0 ? (int)older : cfg.thread_retention_days;
	if (open_store(&cfg, &s, 0) != VARSKO_OK)
		goto out;
	now = (int64_t)time(NULL);
	proto_time_format(retention_cutoff(now, days), cutoff);
	if (dry) {
		tot.verb = "would purge";
		r = retention_purge(s, now, days, 1, THREADS_DRY_MAX, "varskoctl", purge_print, &tot, &all);
	} else {
		/* Round after round: a thread left alone (active again) is not listed again, so this ends. */
		do {
			r = retention_purge(s, now, days, 0, THREADS_BATCH, "varskoctl", purge_print, &tot, &n);
			all += n;
		} while (r == VARSKO_OK && n == THREADS_BATCH);
	}
	if (r != VARSKO_OK) {
		fail(r, "%s after %zu thread(s)", dry ? "cannot list the threads" : "the purge failed", all);
		goto out;
	}
	printf("%s %zu thread(s) without activity since %s (%d days): %lld message(s), %lld bytes, %lld mark(s)%s\n",
	       tot.verb, all, cutoff, days, (long long)tot.messages, (long long)tot.bytes, (long long)tot.marks,
	       dry ? "; nothing was changed" : "");
	if (fflush(stdout) != 0) {
		fail(VARSKO_ERR_IO, "cannot write");
		goto out;
	}
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
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = CONFIG_DEFAULT_PATH, *cmd;
	int c;

	/* Files varskoctl creates (database, WAL, keys) are private unless said otherwise. */
	umask(077);
	/* The municipality document holds names: every block jansson frees is zeroed (common/wipe.c). */
	json_wipe_install();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_main, stdout);
			return 0;
		case 'V':
			printf("varskoctl %s\n", VARSKO_VERSION);
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
	if (strcmp(cmd, "outbox") == 0)
		return cmd_outbox(cfgpath, argc, argv);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(cfgpath, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(cfgpath, argc, argv);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(cfgpath, argc, argv);
	if (strcmp(cmd, "restore") == 0)
		return cmd_restore(cfgpath, argc, argv);
	if (strcmp(cmd, "org") == 0)
		return cmd_org(cfgpath, argc, argv);
	if (strcmp(cmd, "release") == 0)
		return cmd_release(argc, argv);
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
	if (strcmp(cmd, "threads") == 0)
		return cmd_threads(cfgpath, argc, argv);
	return usage_error(usage_main, "unknown command");
}
