/*
 * varsko-agent: a team's case-system agent (docs/FLOW.md, "The agent").
 *
 *   varsko-agent --home DIR --mqtt-host H --mqtt-port P --ca CA.pem
 *                --cert CERT.pem --key KEY.pem --team TEAM --case-dir DIR
 *                [--tenant slagelse] [--command CMD]
 *                [--metrics-file PATH]
 *
 * It subscribes to varsko/<tenant>/team/<team>/underretning with a
 * persistent session (QoS 1), and for each underretning verifies, decrypts
 * and files it (handle.c, casedir.c), then publishes signed `modtaget` and
 * `journaliseret` events on varsko/<tenant>/ack.
 *
 * A simple daemon: one thread drives libmosquitto with mosquitto_loop() and
 * reconnects with backoff (1 s doubling to 30 s). Between two loops it keeps
 * the team's key fit (PROTOCOL.md 16.6) over a WebSocket session with
 * varskod opened from the home: at start and every AGENT_TEAMKEY_TICK s; and
 * with --metrics-file it rewrites its counters for node_exporter's textfile
 * collector every AGENT_METRICS_TICK s. SIGTERM and SIGINT only
 * set a flag; the loop notices it within a second, disconnects and exits 0.
 * Startup errors print "varsko-agent: <text> (<name>)[: <detail>]" and exit
 * 1 (2 for usage errors), like the varsko command.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <sodium.h>

#include "agent.h"

#define EXIT_USAGE     2
#define KEEPALIVE      30 /* seconds */
#define RECONNECT_MAX  30 /* seconds between connection attempts at most */
#define DEFAULT_TENANT "slagelse"
#define OPT_HELP       1000
#define OPT_METRICS    1001
#define OPT_MQTT_HOST  1002

static volatile sig_atomic_t stop_requested;
static const char *log_team = "";

static const char usage_text[] = "usage: varsko-agent --home DIR --mqtt-host HOST --mqtt-port PORT --ca CA.pem\n"
                                 "                    --cert CERT.pem --key KEY.pem --team TEAM --case-dir DIR\n"
                                 "                    [--tenant ID] [--command CMD]\n"
                                 "                    [--metrics-file PATH]\n"
                                 "       varsko-agent --help | --version\n"
                                 "\n"
                                 "Receives the team's underretninger from the MQTT broker, checks them against\n"
                                 "the organisation key pinned in the home, decrypts them, files each as\n"
                                 "CASE-DIR/<reference>.json (mode 0600), and answers with signed 'modtaget' and\n"
                                 "'journaliseret' events. A reference already filed is not filed again.\n"
                                 "\n"
                                 "  --home DIR        Varsko home enrolled for the team's agent user (varsko enroll);\n"
                                 "                    default $VARSKO_HOME\n"
                                 "  --mqtt-host HOST  the broker\n"
                                 "  --mqtt-port PORT  its TLS port\n"
                                 "  --ca FILE         CA certificate (PEM) that signed the broker's certificate\n"
                                 "  --cert FILE       this agent's MQTT client certificate (PEM, CN agent-TEAM)\n"
                                 "  --key FILE        its private key (PEM)\n"
                                 "  --team TEAM       the team; must be the team of the home's certificate\n"
                                 "  --case-dir DIR    where underretninger are filed (created mode 0700 if missing)\n"
                                 "  --tenant ID       municipality id in the MQTT topics (default slagelse)\n"
                                 "  --command CMD     run 'CMD FILE' for each underretning instead of keeping the\n"
                                 "                    file; FILE is removed when CMD exits 0, retried otherwise\n"
                                 "  --metrics-file PATH\n"
                                 "                    every 5 s (and at exit) write the agent's counters to PATH\n"
                                 "                    in the Prometheus text format, for node_exporter's textfile\n"
                                 "                    collector (e.g. /var/lib/prometheus/node-exporter/varsko-agent.prom):\n"
                                 "                    varsko_agent_filed_total, varsko_agent_events_sent_total,\n"
                                 "                    varsko_agent_errors_total, varsko_agent_refused_total,\n"
                                 "                    varsko_agent_syncs_total,\n"
                                 "                    varsko_agent_last_success_timestamp_seconds and\n"
                                 "                    varsko_agent_connected, labelled with the team only. The\n"
                                 "                    file is replaced atomically (temporary file and rename in\n"
                                 "                    the same directory, which must exist), mode 0644\n"
                                 "  --help            show this help\n"
                                 "  --version         show the version\n"
                                 "\n"
                                 "SIGTERM or SIGINT stops it cleanly. The log (stderr) names references and\n"
                                 "error names, never document content.\n";

void agent_log(const char *fmt, ...)
{
	char when[PROTO_TIME_LEN + 1];
	va_list ap;

	proto_time_format((int64_t)time(NULL), when);
	flockfile(stderr);
	fprintf(stderr, "%s varsko-agent[%s]: ", when, log_team);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

int64_t agent_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "varsko-agent: %s\nTry 'varsko-agent --help'.\n", msg);
	return EXIT_USAGE;
}

static int fail(int err, const char *detail)
{
	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, "varsko-agent: %s (%s): %s\n", varsko_err_text(err), varsko_err_name(err), detail);
	else
		fprintf(stderr, "varsko-agent: %s (%s)\n", varsko_err_text(err), varsko_err_name(err));
	return EXIT_FAILURE;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* An id usable in a topic and as a team id: [a-z0-9][a-z0-9-]{0,63}. */
static int valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_ID_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

/* Cut trailing whitespace of a NUL-terminated buffer of length *len. */
static void rstrip(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		s[--*len] = '\0';
}

static int read_cert(struct varsko_home *h, const char *name, struct proto_cert *out)
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if ((r = home_read(h, name, &text, &len)) != VARSKO_OK)
		return r;
	rstrip(text, &len);
	r = proto_cert_from_json(text, len, out);
	free(text);
	return r == VARSKO_OK ? VARSKO_OK : VARSKO_ERR_BAD_CERT;
}

/*
 * Load the agent's identity from the home and check that it is the agent of
 * `team`: the certificate verifies against the pinned organisation key now,
 * holds this device's keys, has role "agent" and the team. detail (capacity
 * dcap) explains a failure.
 */
static int load_identity(struct agent *a, const char *home_path, char *detail, size_t dcap)
{
	int r = VARSKO_ERR_INTERNAL;
	struct varsko_home *h = NULL;
	struct proto_cert gw;
	struct stat st;
	char *keytext = NULL, *text = NULL;
	size_t keylen = 0, len = 0;
	const char *p = home_path != NULL ? home_path : getenv("VARSKO_HOME");
	int64_t now = (int64_t)time(NULL);

	detail[0] = '\0';
	a->home_path = p;
	if (p == NULL || p[0] == '\0') {
		snprintf(detail, dcap, "no home: give --home DIR or set VARSKO_HOME");
		return VARSKO_ERR_USAGE;
	}
	/* varsko_home_open() would create a missing home; an agent must find an enrolled one. */
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(detail, dcap, "%s is not a directory (enroll a home with 'varsko enroll')", p);
		return VARSKO_ERR_NOT_FOUND;
	}
	if ((r = varsko_home_open(p, &h)) != VARSKO_OK) {
		snprintf(detail, dcap, "%s: the home must be a directory of yours with mode 0700", p);
		goto out;
	}
	if (!varsko_home_is_enrolled(h)) {
		snprintf(detail, dcap, "%s holds no enrolled device (run 'varsko enroll')", p);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = home_read_secret(h, HOME_F_KEY, &keytext, &keylen)) != VARSKO_OK ||
	    (r = keys_from_text(keytext, keylen, &a->keys)) != VARSKO_OK) {
		snprintf(detail, dcap, "cannot read %s/%s", p, HOME_F_KEY);
		goto out;
	}
	if ((r = home_read(h, HOME_F_ORG, &text, &len)) != VARSKO_OK) {
		snprintf(detail, dcap, "cannot read %s/%s", p, HOME_F_ORG);
		goto out;
	}
	rstrip(text, &len);
	if (proto_b64_decode_exact(text, a->org_pk, PROTO_PK_LEN) != VARSKO_OK) {
		snprintf(detail, dcap, "%s/%s is not an organisation key", p, HOME_F_ORG);
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((r = read_cert(h, HOME_F_CERT, &a->cert)) != VARSKO_OK) {
		snprintf(detail, dcap, "cannot read %s/%s", p, HOME_F_CERT);
		goto out;
	}
	if ((r = proto_cert_verify(&a->cert, a->org_pk, now)) != VARSKO_OK) {
		snprintf(detail, dcap,
		         "the home's device certificate does not verify against its organisation key now");
		goto out;
	}
	if (sodium_memcmp(a->cert.sign_pk, a->keys->sign_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp(a->cert.box_pk, a->keys->box_pk, PROTO_PK_LEN) != 0) {
		snprintf(detail, dcap, "the home's device certificate does not hold its keys");
		r = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	if (strcmp(a->cert.role, "agent") != 0 || strcmp(a->cert.team, a->team) != 0) {
		snprintf(detail, dcap, "the home's certificate is for role '%s' of team '%s', not the agent of '%s'",
		         a->cert.role, a->cert.team[0] != '\0' ? a->cert.team : "-", a->team);
		r = VARSKO_ERR_FORBIDDEN;
		goto out;
	}
	/* The pinned gateway certificate must be the organisation's; expiry is judged per receipt. */
	if ((r = read_cert(h, HOME_F_GATEWAY, &gw)) != VARSKO_OK) {
		snprintf(detail, dcap, "cannot read %s/%s", p, HOME_F_GATEWAY);
		goto out;
	}
	r = proto_cert_verify(&gw, a->org_pk, now);
	if (r == VARSKO_ERR_BAD_CERT || strcmp(gw.role, "gateway") != 0) {
		snprintf(detail, dcap, "%s/%s is not a gateway certificate of the organisation", p, HOME_F_GATEWAY);
		r = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	if ((r = proto_cert_to_json(&a->cert, &a->cert_json)) != VARSKO_OK) {
		snprintf(detail, dcap, "cannot encode the device certificate");
		goto out;
	}
	r = VARSKO_OK;
out:
	if (keytext != NULL)
		sodium_free(keytext); /* wipes */
	free(text);
	varsko_home_close(h);
	return r;
}

/* ---- varskod: the session and the team key ---- */

int agent_conn(struct agent *a)
{
	struct varsko_home *h = NULL;
	int r;

	if (a->conn != NULL)
		return VARSKO_OK;
	if ((r = varsko_home_open(a->home_path, &h)) == VARSKO_OK)
		r = varsko_connect(h, NULL, &a->conn);
	varsko_home_close(h);
	if (r != VARSKO_OK) {
		a->conn = NULL;
		if (r != a->conn_err)
			agent_log("cannot open a session with varskod: %s; retrying every %d s", varsko_err_name(r),
			          AGENT_TEAMKEY_TICK);
		a->conn_err = r;
		return r;
	}
	agent_log("session with varskod opened");
	a->conn_err = 0;
	return VARSKO_OK;
}

int agent_session_error(int r)
{
	switch (r) {
	case VARSKO_ERR_CLOSED:
	case VARSKO_ERR_TIMEOUT:
	case VARSKO_ERR_CONNECT:
	case VARSKO_ERR_TLS:
	case VARSKO_ERR_PROTOCOL:
	case VARSKO_ERR_NOT_AUTHENTICATED:
	case VARSKO_ERR_AUTH_FAILED:
	case VARSKO_ERR_DEVICE_REVOKED:
	case VARSKO_ERR_DEVICE_EXPIRED:
		return 1;
	default:
		return 0;
	}
}

void agent_conn_failed(struct agent *a, int r)
{
	if (!agent_session_error(r))
		return;
	agent_log("session with varskod lost (%s); reopening", varsko_err_name(r));
	varsko_close(a->conn);
	a->conn = NULL;
}

void agent_teamkey_tick(struct agent *a)
{
	int r, changed = 0;
	uint64_t generation = 0;

	if (agent_conn(a) != VARSKO_OK)
		return;
	r = teamkey_maintain_gen(a->conn, a->team, &changed, &generation);
	conn_push_free_all(a->conn); /* pushes on this session are not the agent's business: MQTT carries its work */
	if (r == VARSKO_OK) {
		if (changed == 1)
			agent_log("team key: boxes added");
		else if (changed == 2)
			agent_log("team key: generation %llu made", (unsigned long long)generation);
		if (a->tk_err != 0 || a->tk_not_member)
			agent_log("team key: maintained again");
		a->tk_err = 0;
		a->tk_not_member = 0;
		return;
	}
	/* c->detail names users and teams: only the error name goes to the log. */
	if (r == VARSKO_ERR_NOT_MEMBER || r == VARSKO_ERR_FORBIDDEN) {
		if (!a->tk_not_member)
			agent_log("team key: not a member of the team chain yet");
		a->tk_not_member = 1;
	} else if (r != a->tk_err) {
		agent_log("team key: failed: %s; retrying every %d s", varsko_err_name(r), AGENT_TEAMKEY_TICK);
		a->tk_err = r;
	}
	agent_conn_failed(a, r);
}

/* ---- counters and --metrics-file ---- */

void agent_count_filed(struct agent *a)
{
	a->stats.filed++;
	agent_count_success(a);
}

void agent_count_success(struct agent *a)
{
	a->stats.last_success = (int64_t)time(NULL);
}

/* One counter or gauge with its HELP and TYPE lines; the only label is the team (an id: [a-z0-9-]). */
static void metric(struct proto_buf *b, const struct agent *a, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
	proto_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{team=\"%s\"} %llu\n", name, help, name, type, name, a->team, v);
}

void agent_metrics_write(struct agent *a)
{
	struct proto_buf b;
	int r;

	if (a->metrics_dirfd < 0)
		return;
	proto_buf_init(&b);
	metric(&b, a, "varsko_agent_filed_total", "counter",
	       "Underretninger filed (a case file written, or the filing command succeeded).", a->stats.filed);
	metric(&b, a, "varsko_agent_events_sent_total", "counter",
	       "Signed events (modtaget, journaliseret) the broker acknowledged.", a->stats.events_sent);
	metric(&b, a, "varsko_agent_errors_total", "counter",
	       "Underretninger refused or not filed because of an error (the log names them).", a->stats.errors);
	metric(&b, a, "varsko_agent_refused_total", "counter",
	       "Underretninger refused for good and reported to varskod as dead letters.", a->stats.refused);
	metric(&b, a, "varsko_agent_syncs_total", "counter",
	       "Calls that waited for the disk (fsync, syncfs) to make case files and events durable.", a->stats.syncs);
	metric(&b, a, "varsko_agent_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last underretning filed or acknowledged again (0: none since start).",
	       (unsigned long long)(a->stats.last_success > 0 ? a->stats.last_success : 0));
	metric(&b, a, "varsko_agent_connected", "gauge", "1 while connected to the MQTT broker.",
	       (unsigned long long)(a->connected != 0));
	r = b.err != VARSKO_OK ? b.err : dir_write_atomic(a->metrics_dirfd, a->metrics_name, b.p, b.len, 0644, 0);
	if (r != VARSKO_OK && !a->metrics_err)
		agent_log("cannot write the metrics file: %s; retrying every %d s", varsko_err_name(r),
		          AGENT_METRICS_TICK);
	else if (r == VARSKO_OK && a->metrics_err)
		agent_log("metrics file written again");
	a->metrics_err = r != VARSKO_OK;
	proto_buf_free(&b);
}

/*
 * Split --metrics-file into its directory (opened) and its name. The name
 * leaves room for the temporary ".<name>.tmp-<hex>" next to it, which the
 * textfile collector ignores (it reads only *.prom).
 */
static int metrics_open(struct agent *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	char *dir = NULL;

	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) > NAME_MAX - 20)
		return VARSKO_ERR_USAGE;
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL || (a->metrics_name = strdup(name)) == NULL) {
		free(dir);
		return VARSKO_ERR_NOMEM;
	}
	a->metrics_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return a->metrics_dirfd >= 0 ? VARSKO_OK : VARSKO_ERR_NOT_FOUND;
}

/* ---- MQTT callbacks (run inside mosquitto_loop on the main thread) ---- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct agent *a = obj;
	int sr;

	if (rc != 0) {
		agent_log("the broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	a->connected = 1;
	/* Publications of an earlier connection are re-sent below and tracked anew. */
	memset(a->inflight, 0, AGENT_INFLIGHT_MAX * sizeof(*a->inflight));
	agent_log("connected to the broker");
	/* Subscribe every time: the broker may have lost the persistent session. */
	if ((sr = mosquitto_subscribe(mosq, NULL, a->sub_topic, 1)) != MOSQ_ERR_SUCCESS)
		agent_log("cannot subscribe to %s: %s", a->sub_topic, mosquitto_strerror(sr));
	casedir_publish_pending(a);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
	struct agent *a = obj;

	(void)mosq;
	(void)mid;
	if (qos_count < 1 || granted[0] < 0 || granted[0] > 2)
		agent_log("the broker refused the subscription to %s", a->sub_topic);
	else
		agent_log("subscribed to %s (QoS %d)", a->sub_topic, granted[0]);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct agent *a = obj;

	(void)mosq;
	if (msg->topic == NULL || strcmp(msg->topic, a->sub_topic) != 0)
		return; /* another topic of the team (frist): not the agent's business */
	if (msg->payloadlen <= 0 || msg->payload == NULL) {
		agent_log("-: refused:%s (empty message)", varsko_err_name(VARSKO_ERR_BAD_JSON));
		a->stats.errors++;
		return;
	}
	if (casedir_batch_full(a)) { /* a burst: make this much durable, then go on in a new batch */
		casedir_batch_commit(a);
		casedir_batch_begin(a);
	}
	agent_handle(a, msg->payload, (size_t)msg->payloadlen);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	(void)mosq;
	casedir_on_puback(obj, mid);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct agent *a = obj;

	(void)mosq;
	a->connected = 0;
	if (!stop_requested && rc != 0)
		agent_log("disconnected from the broker: %s", mosquitto_strerror(rc));
}

/* Sleep up to ms milliseconds; a signal ends it early. */
static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Connect, serve, reconnect with backoff, until a stop is requested. */
static void serve(struct agent *a, const char *host, int port)
{
	int64_t backoff = 1, next_try = 0, now;
	int up = 0, rc, failures = 0;

	while (!stop_requested) {
		now = agent_now_mono();
		if (a->command != NULL && a->spool_due != 0 && now >= a->spool_due)
			casedir_retry_spool(a);
		if (now >= a->tk_due) {
			agent_teamkey_tick(a);
			a->tk_due = agent_now_mono() + AGENT_TEAMKEY_TICK;
		}
		if (a->metrics_dirfd >= 0 && now >= a->metrics_due) {
			agent_metrics_write(a);
			a->metrics_due = agent_now_mono() + AGENT_METRICS_TICK;
		}
		if (!up) {
			if (now < next_try) {
				nap(200);
				continue;
			}
			rc = mosquitto_connect(a->mosq, host, port, KEEPALIVE);
			if (rc != MOSQ_ERR_SUCCESS) {
				/* Say it the first times and then now and then, not every 30 s for a day. */
				if (failures < 3 || failures % 20 == 0)
					agent_log("cannot connect to the broker at %s:%d: %s; retrying in %lld s", host,
					          port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
					          (long long)backoff);
				failures++;
				next_try = now + backoff;
				backoff = backoff * 2 > RECONNECT_MAX ? RECONNECT_MAX : backoff * 2;
				continue;
			}
			up = 1;
		}
		/* The messages of one turn are filed as one batch: durable together, acknowledged after (casedir.c). */
		casedir_batch_begin(a);
		rc = mosquitto_loop(a->mosq, 1000, 1);
		casedir_batch_commit(a);
		if (a->connected) {
			backoff = 1;
			failures = 0;
		}
		if (rc != MOSQ_ERR_SUCCESS && !stop_requested) {
			agent_log("connection to the broker lost: %s; reconnecting in %lld s",
			          rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), (long long)backoff);
			a->connected = 0;
			up = 0;
			next_try = agent_now_mono() + backoff;
			backoff = backoff * 2 > RECONNECT_MAX ? RECONNECT_MAX : backoff * 2;
		}
	}
	if (up) {
		a->connected = 0;
		mosquitto_disconnect(a->mosq);
		for (int i = 0; i < 20; i++)
			if (mosquitto_loop(a->mosq, 100, 1) != MOSQ_ERR_SUCCESS)
				break;
	}
}

static void no_core_dumps(void)
{
	struct rlimit rl = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"home", required_argument, NULL, 'H'},      {"mqtt-host", required_argument, NULL, OPT_MQTT_HOST},
	        {"mqtt-port", required_argument, NULL, 'p'}, {"ca", required_argument, NULL, 'a'},
	        {"cert", required_argument, NULL, 'c'},      {"key", required_argument, NULL, 'k'},
	        {"team", required_argument, NULL, 't'},      {"case-dir", required_argument, NULL, 'd'},
	        {"tenant", required_argument, NULL, 'T'},    {"command", required_argument, NULL, 'x'},
	        {"client-id", required_argument, NULL, 'i'}, {"help", no_argument, NULL, OPT_HELP},
	        {"version", no_argument, NULL, 'V'},         {"metrics-file", required_argument, NULL, OPT_METRICS},
	        {NULL, 0, NULL, 0},
	};
	struct agent a;
	const char *home = NULL, *host = NULL, *port_s = NULL, *ca = NULL, *cert = NULL, *key = NULL, *case_dir = NULL;
	const char *cdetail = "", *metrics_path = NULL;
	char detail[PROTO_MSG_MAX + 1], default_id[PROTO_ID_MAX + 16];
	struct sigaction sa;
	long port = 0;
	char *end = NULL;
	int c, r, rc = EXIT_FAILURE, lib = 0;

	/* Before any JSON: every document and text jansson frees is wiped (text.c's constructor does the same). */
	text_json_wipe_install();
	memset(&a, 0, sizeof(a));
	a.case_fd = a.acks_fd = a.spool_fd = a.metrics_dirfd = -1;
	a.tenant = DEFAULT_TENANT;
	opterr = 0;
	/* -h and -V as everywhere; every other option is long only. */
	while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home = optarg;
			break;
		case OPT_MQTT_HOST:
			host = optarg;
			break;
		case 'p':
			port_s = optarg;
			break;
		case 'a':
			ca = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 't':
			a.team = optarg;
			break;
		case 'd':
			case_dir = optarg;
			break;
		case 'T':
			a.tenant = optarg;
			break;
		case 'x':
			a.command = optarg;
			break;
		case 'i':
			/* Gone with the broker's use_username_as_clientid: say so rather than "unknown option". */
			return usage_error("--client-id is no longer an option: the broker names the session after the "
			                   "certificate's CN");
		case OPT_METRICS:
			metrics_path = optarg;
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("varsko-agent %s\n", varsko_version());
			return EXIT_SUCCESS;
		case ':':
			return usage_error("an option is missing its value");
		default:
			return usage_error("unknown option");
		}
	}
	if (optind != argc)
		return usage_error("varsko-agent takes no arguments besides its options");
	if (host == NULL || port_s == NULL || ca == NULL || cert == NULL || key == NULL || a.team == NULL ||
	    case_dir == NULL)
		return usage_error("--mqtt-host, --mqtt-port, --ca, --cert, --key, --team and --case-dir are required");
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno != 0 || end == port_s || *end != '\0' || port < 1 || port > 65535)
		return usage_error("--mqtt-port must be a port number");
	if (!valid_id(a.team) || !valid_id(a.tenant))
		return usage_error("--team and --tenant are ids: lowercase letters, digits and '-'");
	if (a.command != NULL && a.command[0] == '\0')
		return usage_error("--command needs a program");
	if (metrics_path != NULL && (r = metrics_open(&a, metrics_path)) != VARSKO_OK) {
		rc = r == VARSKO_ERR_USAGE ? usage_error("--metrics-file must name a file")
		                           : fail(r, "--metrics-file: its directory cannot be opened");
		goto out;
	}
	log_team = a.team;

	no_core_dumps();
	if ((r = load_identity(&a, home, detail, sizeof(detail))) != VARSKO_OK) {
		rc = r == VARSKO_ERR_USAGE ? usage_error(detail) : fail(r, detail);
		goto out;
	}
	snprintf(a.sub_topic, sizeof(a.sub_topic), "varsko/%s/team/%s/underretning", a.tenant, a.team);
	snprintf(a.ack_topic, sizeof(a.ack_topic), "varsko/%s/ack", a.tenant);
	/*
	 * The broker replaces the client id by the certificate's CN
	 * (use_username_as_clientid, deploy/mosquitto/mkconf.sh), so the session
	 * is the certificate's whatever we ask for; we ask for that same name so a
	 * broker without the setting keeps the same session. It must not be empty:
	 * MQTT 3.1.1 refuses an empty id with a persistent session.
	 */
	snprintf(default_id, sizeof(default_id), "agent-%s", a.team);

	mosquitto_lib_init();
	lib = 1;
	/* clean_session false: the broker keeps our subscription and queues QoS 1 messages while we are away. */
	if ((a.mosq = mosquitto_new(default_id, false, &a)) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, "cannot make the MQTT client");
		goto out;
	}
	(void)mosquitto_int_option(a.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if (mosquitto_tls_set(a.mosq, ca, NULL, cert, key, NULL) != MOSQ_ERR_SUCCESS) {
		rc = fail(VARSKO_ERR_CONFIG, "cannot use --ca, --cert or --key (missing or unreadable file?)");
		goto out;
	}
	/* Verify the broker's certificate and its name; TLS 1.2 or later (the library's default floor). */
	if (mosquitto_tls_opts_set(a.mosq, 1, NULL, NULL) != MOSQ_ERR_SUCCESS ||
	    mosquitto_tls_insecure_set(a.mosq, false) != MOSQ_ERR_SUCCESS) {
		rc = fail(VARSKO_ERR_TLS, "cannot set the TLS options");
		goto out;
	}
	if ((a.inflight = calloc(AGENT_INFLIGHT_MAX, sizeof(*a.inflight))) == NULL ||
	    (a.batch = calloc(1, sizeof(*a.batch))) == NULL) {
		rc = fail(VARSKO_ERR_NOMEM, "cannot allocate the table of publications in flight");
		goto out;
	}
	/* Last: nothing is created on disk before every other check has passed. */
	if ((r = casedir_open(&a, case_dir, &cdetail)) != VARSKO_OK) {
		snprintf(detail, sizeof(detail), "%s: %s", case_dir, cdetail);
		rc = fail(r, detail);
		goto out;
	}
	mosquitto_connect_callback_set(a.mosq, on_connect);
	mosquitto_disconnect_callback_set(a.mosq, on_disconnect);
	mosquitto_subscribe_callback_set(a.mosq, on_subscribe);
	mosquitto_message_callback_set(a.mosq, on_message);
	mosquitto_publish_callback_set(a.mosq, on_publish);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a sleep or a select ends at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	agent_log("started: device %s, case directory %s%s", a.cert.device, a.case_path,
	          a.command != NULL ? ", filing with a command" : "");
	if (a.command != NULL)
		casedir_retry_spool(&a);
	serve(&a, host, (int)port);
	agent_metrics_write(&a); /* the final counts, connected 0 */
	agent_log("stopped");
	rc = EXIT_SUCCESS;
out:
	agent_teamkeys_wipe(&a);
	varsko_close(a.conn);
	if (a.mosq != NULL)
		mosquitto_destroy(a.mosq);
	if (lib)
		mosquitto_lib_cleanup();
	casedir_close(&a);
	if (a.metrics_dirfd >= 0)
		close(a.metrics_dirfd);
	free(a.metrics_name);
	keys_free(a.keys);
	free(a.cert_json);
	free(a.inflight);
	free(a.batch);
	sodium_memzero(&a, sizeof(a));
	return rc;
}
