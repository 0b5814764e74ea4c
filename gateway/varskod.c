/*
 * varskod.c: the Varsko gateway daemon.
 *
 * Reads the configuration, the organisation and gateway keys and the gateway
 * certificate, opens the store (created beforehand by `varskoctl init`),
 * starts the store worker and the TLS WebSocket server, the deadline engine
 * and (with mqtt_host) the MQTT publisher, and serves in the
 * foreground until SIGTERM or SIGINT. Logs go to stderr. Exit status: 0
 * after a clean stop, 1 on a startup failure (with a message saying what),
 * 2 on a usage error.
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "deadline.h"
#include "retention_tick.h"
#include "keys.h"
#include "log.h"
#include "mqtt.h"
#include "proto.h"
#include "sdnotify.h"
#include "server.h"
#include "store.h"
#include "store_keys.h"
#include "webroot.h"
#include "wipe.h"

static struct server *varskod_server; /* for the signal handler */
static volatile sig_atomic_t varskod_stop;

static void varskod_usage(FILE *f)
{
	fprintf(f, "usage: varskod [-c FILE] [--check-config]\n"
	           "       varskod --help | --version\n"
	           "\n"
	           "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	           "      --check-config  parse the configuration, check the secret files, and exit\n"
	           "  -h, --help          this text\n"
	           "  -V, --version       print the version\n");
}

static void varskod_signal(int sig)
{
	(void)sig;
	varskod_stop = 1;
	/* Sets a flag and writes to the event loop's wake-up pipe. */
	server_stop(varskod_server);
}

/* Keep secrets out of core files and out of other processes' reach (ptrace by the same user). */
static int varskod_harden(void)
{
	struct rlimit rl = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &rl) != 0)
		return VARSKO_ERR_INTERNAL;
	return VARSKO_OK;
}

static int varskod_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = varskod_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return VARSKO_ERR_INTERNAL;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return VARSKO_ERR_INTERNAL;
	return VARSKO_OK;
}

/*
 * The open-file limit bounds the sessions (one socket each, plus the
 * database, the broker link and the listener): raise the soft limit to the
 * hard one and say what that allows.
 */
#define VARSKOD_FDS_RESERVED 64 /* database, WAL, logs, listener, MQTT, worker pipes */
static void varskod_raise_nofile(int max_sessions)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_msg(LOGL_WARN, "cannot read the open-file limit");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		want = rl.rlim_max;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)max_sessions + VARSKOD_FDS_RESERVED)
		log_msg(LOGL_INFO, "open-file limit %llu: room for max_sessions = %d",
		        (unsigned long long)rl.rlim_cur, max_sessions);
	else
		log_msg(LOGL_WARN, "open-file limit %llu allows about %llu sessions, fewer than max_sessions = %d "
		        "(raise LimitNOFILE= or ulimit -n)", (unsigned long long)rl.rlim_cur,
		        (unsigned long long)(rl.rlim_cur > VARSKOD_FDS_RESERVED ? rl.rlim_cur - VARSKOD_FDS_RESERVED : 0),
		        max_sessions);
}

/* A keep-alive to systemd's watchdog at half its interval, from the event loop's one-second tick. */
static void varskod_watchdog_tick(void *arg, int64_t now)
{
	static int64_t last;
	uint64_t half = *(const uint64_t *)arg / 2 / 1000000;

	if (now - last >= (int64_t)(half > 0 ? half : 1)) {
		(void)sdnotify("WATCHDOG=1");
		last = now;
	}
}

static void varskod_fail(const char *what, int r)
{
	log_msg(LOGL_ERROR, "varskod: %s: %s (%s)", what, varsko_err_text(r), varsko_err_name(r));
}

/*
 * Load the keys and the gateway certificate and check that they belong
 * together: the certificate verifies against the organisation key now and
 * names the gateway key. On VARSKO_OK *org_sk and *gw_sk are owned by the
 * caller (keys_secret_free).
 */
static int varskod_load_keys(const struct config *cfg, uint8_t **org_sk, uint8_t **gw_sk, struct proto_cert *gw_cert)
{
	uint8_t org_pk[PROTO_PK_LEN], gw_pk[PROTO_PK_LEN];
	int r;

	*org_sk = *gw_sk = NULL;
	if ((r = keys_secret_read(cfg->org_key, org_sk)) != VARSKO_OK) {
		varskod_fail("org_key", r);
		goto out;
	}
	if ((r = keys_secret_read(cfg->gateway_key, gw_sk)) != VARSKO_OK) {
		varskod_fail("gateway_key", r);
		goto out;
	}
	if ((r = keys_cert_read(cfg->gateway_cert, gw_cert)) != VARSKO_OK) {
		varskod_fail("gateway_cert", r);
		goto out;
	}
	keys_public_of(*org_sk, org_pk);
	keys_public_of(*gw_sk, gw_pk);
	if ((r = proto_cert_verify(gw_cert, org_pk, time(NULL))) != VARSKO_OK) {
		varskod_fail("gateway_cert does not verify against org_key", r);
		goto out;
	}
	if (sodium_memcmp(gw_cert->sign_pk, gw_pk, PROTO_PK_LEN) != 0) {
		r = VARSKO_ERR_BAD_CERT;
		varskod_fail("gateway_cert is not for gateway_key", r);
		goto out;
	}
	/* Out of reach until the server's worker signs a receipt or a gateway event with it. */
	if (sodium_mprotect_noaccess(*gw_sk) != 0) {
		r = VARSKO_ERR_CRYPTO;
		varskod_fail("gateway_key cannot be protected", r);
		goto out;
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		keys_secret_free(*org_sk);
		keys_secret_free(*gw_sk);
		*org_sk = *gw_sk = NULL;
	}
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", no_argument, NULL, 'C'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	int check_only = 0, opt, r, status = 1;
	struct config cfg;
	struct store *store = NULL;
	struct server *srv = NULL;
	struct deadline_engine *deadlines = NULL;
	struct retention_engine *retention = NULL;
	struct mqtt *mqtt = NULL;
	struct webroot *web = NULL;
	uint8_t *org_sk = NULL, *gw_sk = NULL;
	uint8_t root_pk[PROTO_PK_LEN];
	int has_root;
	uint64_t watchdog_usec = 0;
	struct proto_cert gw_cert;
	char err[512];

	/* Frames carry enrollment codes and names: every block jansson frees is zeroed (common/wipe.c). */
	json_wipe_install();
	/*
	 * Freed memory is kept for the next request instead of being handed back to the kernel after each
	 * one: the worker's arena shrank and grew again per request, and the madvise and TLB shootdowns of
	 * that were about 8 % of varskod's CPU under load (issue 13, perf). RSS falls back below this much
	 * free memory only.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
	memset(&cfg, 0, sizeof cfg);
	memset(&gw_cert, 0, sizeof gw_cert);
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check_only = 1;
			break;
		case 'h':
			varskod_usage(stdout);
			return 0;
		case 'V':
			printf("varskod %s\n", VARSKO_VERSION);
			return 0;
		default:
			varskod_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		varskod_usage(stderr);
		return 2;
	}
	if (varskod_harden() != VARSKO_OK) {
		fprintf(stderr, "varskod: cannot disable core dumps\n");
		return 1;
	}
	if (sodium_init() < 0 || log_init() != VARSKO_OK) {
		fprintf(stderr, "varskod: cannot initialise libsodium\n");
		return 1;
	}
	if ((r = config_load(path, &cfg, err, sizeof err)) != VARSKO_OK) {
		fprintf(stderr, "%s\n", r == VARSKO_ERR_CONFIG ? err : varsko_err_text(r));
		return 1;
	}
	if ((r = config_check_secrets(&cfg, err, sizeof err)) != VARSKO_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		goto out;
	}
	/* The whole tree, now: nothing is read from the disk while requests are served. */
	if (cfg.web_root != NULL && (r = webroot_load(&web, cfg.web_root, err, sizeof err)) != VARSKO_OK) {
		fprintf(stderr, "%s:%lu: %s\n", path, config_key_line(&cfg, "web_root"), err);
		goto out;
	}
	if (check_only) {
		printf("%s: ok\n", path);
		status = 0;
		goto out;
	}

	log_set_level((enum log_level)cfg.log_level);
	log_set_format((enum log_format)cfg.log_format);
	varskod_raise_nofile(cfg.max_sessions);
	log_route_lws();
	/* Early, so a stop request during startup still ends in a clean exit. */
	if (varskod_signals() != VARSKO_OK) {
		log_msg(LOGL_ERROR, "varskod: cannot install signal handlers");
		goto out;
	}
	if (varskod_load_keys(&cfg, &org_sk, &gw_sk, &gw_cert) != VARSKO_OK)
		goto out;
	if ((r = store_open(&store, cfg.database, 0)) != VARSKO_OK) {
		varskod_fail("cannot open the database (run `varskoctl init` first)", r);
		goto out;
	}
	if ((r = store_org_root_get(store, root_pk)) != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND) {
		varskod_fail("cannot read the organisation root key", r);
		goto out;
	}
	has_root = r == VARSKO_OK;
	if ((r = server_create(&srv, &cfg, store, org_sk, gw_sk, &gw_cert)) != VARSKO_OK) {
		varskod_fail("cannot start the server", r);
		goto out;
	}
	if (web != NULL) {
		if ((r = server_set_web(srv, web)) != VARSKO_OK) {
			varskod_fail("cannot serve the web client", r);
			goto out;
		}
		log_msg(LOGL_INFO, "serving the web client: %zu files from web_root", webroot_count(web));
	}
	/* Read once: `varskoctl org init` on a running varskod takes effect at the next start. */
	if (has_root)
		server_set_root(srv, root_pk);
	if ((r = mqtt_start(&mqtt, &cfg, srv)) != VARSKO_OK) {
		varskod_fail("cannot start the MQTT publisher", r);
		goto out;
	}
	if ((r = deadline_start(&deadlines, &cfg, srv)) != VARSKO_OK) {
		varskod_fail("cannot start the deadline engine", r);
		goto out;
	}
	if ((r = retention_start(&retention, &cfg, srv)) != VARSKO_OK) {
		varskod_fail("cannot start the purge of thread content", r);
		goto out;
	}
	varskod_server = srv;
	if (varskod_stop) /* a signal came before the handler could reach the server */
		server_stop(srv);
	if ((watchdog_usec = sdnotify_watchdog_usec()) > 0 &&
	    server_add_tick(srv, varskod_watchdog_tick, &watchdog_usec) != VARSKO_OK) {
		varskod_fail("cannot start the watchdog keep-alive", VARSKO_ERR_NOMEM);
		goto out;
	}
	log_msg(LOGL_INFO, "varskod listening on port %d", server_port(srv));
	/* The store is open and the listener bound: ready for systemd (Type=notify). */
	(void)sdnotify("READY=1");
	if ((r = server_run(srv)) != VARSKO_OK) {
		varskod_fail("event loop failed", r);
		goto out;
	}
	log_msg(LOGL_INFO, "varskod stopping");
	(void)sdnotify("STOPPING=1");
	status = 0;
out : {
	/* Block the signals while the server goes away under the handler. */
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	varskod_server = NULL;
}
	/* Before the server: they hold hooks and jobs of its worker. */
	deadline_stop(deadlines);
	retention_stop(retention);
	mqtt_stop(mqtt);
	server_destroy(srv);
	webroot_free(web); /* after the server, which borrowed it */
	store_close(store);
	/* sodium_free() unprotects by itself: the key is wiped whatever its protection. */
	keys_secret_free(gw_sk);
	keys_secret_free(org_sk);
	config_free(&cfg);
	if (status == 0 && !check_only)
		log_msg(LOGL_INFO, "varskod stopped");
	return status;
}
