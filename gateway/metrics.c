/*
 * metrics.c: the counters of varskod and the /metrics and /healthz texts
 * (metrics.h; docs/OPERATIONS.md "Health and metrics" lists every metric).
 *
 * A histogram keeps one counter per bucket (not cumulative) plus its sum;
 * the text adds the buckets up as it goes, so the +Inf bucket and _count
 * are the same number even when a commit is counted during a scrape.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "varsko/err.h"

const char *const metrics_kinds[METRICS_KINDS] = {"vurdering", "kvittering", "tilbagemelding", "undersoegelse"};

/* Every error code of err.h, in its order (0, "ok", is not a refusal). */
#define METRICS_ERR_CODE_(name, num, wire, text) num,
static const int err_codes[] = {VARSKO_ERRORS(METRICS_ERR_CODE_)};
#undef METRICS_ERR_CODE_
#define N_ERR_CODES (sizeof(err_codes) / sizeof(err_codes[0]))
/* Slots by -code; a code err.h does not know is counted as "internal" (varsko_err_name's answer). */
#define ERR_SLOTS 64

/* Jobs per group-commit transaction: the worker groups at most 64 (worker.c). */
static const int64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64};
#define N_BATCH (sizeof(batch_bounds) / sizeof(batch_bounds[0]))
/* COMMIT time in microseconds: an fsync takes from well under a millisecond to seconds. */
static const int64_t commit_bounds[] = {250,    500,    1000,   2500,    5000,    10000,  25000,
                                        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};
#define N_COMMIT (sizeof(commit_bounds) / sizeof(commit_bounds[0]))

struct histogram {
	atomic_uint_least64_t bucket[16]; /* bucket[i]: observations in (bound[i-1], bound[i]]; [n]: above the last */
	atomic_uint_least64_t sum;
};

struct metrics {
	atomic_uint_least64_t logins_ok, logins_failed;
	atomic_uint_least64_t refused[ERR_SLOTS];
	atomic_uint_least64_t submissions;
	atomic_uint_least64_t dead_letters;
	atomic_uint_least64_t acks_ok, acks_refused;
	atomic_uint_least64_t conn_refused[METRICS_CONN_REASONS];
	atomic_uint_least64_t evicted, unauth_shed, push_missed;
	atomic_uint_least64_t commit_failures;
	atomic_int last_commit_ok; /* 1 until a COMMIT fails; 1 again after the next one that succeeds */
	struct histogram batch, commit;
	atomic_int mqtt_enabled;
	atomic_int mqtt_up;
	atomic_int_least64_t mqtt_since_us; /* when mqtt_up last changed (or metrics_new) */
};

_Static_assert(N_BATCH < 16 && N_COMMIT < 16, "histogram buckets");

int64_t metrics_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return VARSKO_ERR_NOMEM;
	/* calloc's zeros are valid initial values of these lock-free atomics; set the ones that are not zero. */
	atomic_store(&m->last_commit_ok, 1);
	atomic_store(&m->mqtt_since_us, metrics_mono_us());
	*out = m;
	return VARSKO_OK;
}

void metrics_free(struct metrics *m)
{
	free(m);
}

void metrics_store_clear(struct metrics_store *s)
{
	if (s == NULL)
		return;
	proto_wipe_free(s->teams, s->teams_cap * sizeof(*s->teams));
	memset(s, 0, sizeof(*s));
}

/* ---- counting ----------------------------------------------------------- */

static void inc(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void observe(struct histogram *h, const int64_t *bounds, size_t n, int64_t v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	inc(&h->bucket[i], 1);
	inc(&h->sum, v > 0 ? (uint64_t)v : 0);
}

void metrics_login(struct metrics *m, int ok)
{
	if (m != NULL)
		inc(ok ? &m->logins_ok : &m->logins_failed, 1);
}

static size_t err_slot(int err)
{
	return err < 0 && -err < ERR_SLOTS ? (size_t)-err : (size_t)-VARSKO_ERR_INTERNAL;
}

void metrics_refused(struct metrics *m, int err)
{
	if (m != NULL && err != VARSKO_OK)
		inc(&m->refused[err_slot(err)], 1);
}

void metrics_submission(struct metrics *m)
{
	if (m != NULL)
		inc(&m->submissions, 1);
}

void metrics_mqtt_ack(struct metrics *m, int ok)
{
	if (m != NULL)
		inc(ok ? &m->acks_ok : &m->acks_refused, 1);
}

void metrics_dead_letter(struct metrics *m)
{
	if (m != NULL)
		inc(&m->dead_letters, 1);
}

void metrics_commit(struct metrics *m, size_t batch, int64_t commit_us, int result)
{
	if (m == NULL)
		return;
	observe(&m->batch, batch_bounds, N_BATCH, (int64_t)batch);
	observe(&m->commit, commit_bounds, N_COMMIT, commit_us);
	if (result != VARSKO_OK)
		inc(&m->commit_failures, 1);
	atomic_store_explicit(&m->last_commit_ok, result == VARSKO_OK, memory_order_relaxed);
}

void metrics_mqtt_enable(struct metrics *m)
{
	if (m != NULL)
		atomic_store(&m->mqtt_enabled, 1);
}

void metrics_mqtt_link(struct metrics *m, int up, int64_t mono_us)
{
	if (m == NULL)
		return;
	/* Only a change moves the instant: "down for N seconds" counts from the moment it went down. */
	if (atomic_exchange(&m->mqtt_up, up ? 1 : 0) != (up ? 1 : 0))
		atomic_store(&m->mqtt_since_us, mono_us);
}

/* ---- /metrics ------------------------------------------------------------- */

static void family(struct proto_buf *b, const char *name, const char *type, const char *help)
{
	proto_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A label value as the exposition format wants it: backslash, double quote
 * and line feed escaped. The values are team ids and fixed words; this is
 * for safety, not expected to change anything.
 */
static void label_value(struct proto_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			proto_buf_add_str(b, "\\\\");
		else if (*v == '"')
			proto_buf_add_str(b, "\\\"");
		else if (*v == '\n')
			proto_buf_add_str(b, "\\n");
		else
			proto_buf_add(b, v, 1);
	}
}

static void sample_u(struct proto_buf *b, const char *name, uint64_t v)
{
	proto_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void histogram_text(struct proto_buf *b, const char *name, const struct histogram *h, const int64_t *bounds,
                           size_t n, int seconds)
{
	uint64_t cum = 0;

	for (size_t i = 0; i <= n; i++) {
		cum += get(&h->bucket[i]);
		if (i == n)
			proto_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
		else if (seconds)
			proto_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds[i] / 1e6,
			                 (unsigned long long)cum);
		else
			proto_buf_printf(b, "%s_bucket{le=\"%lld\"} %llu\n", name, (long long)bounds[i],
			                 (unsigned long long)cum);
	}
	if (seconds)
		proto_buf_printf(b, "%s_sum %.6f\n", name, (double)get(&h->sum) / 1e6);
	else
		proto_buf_printf(b, "%s_sum %llu\n", name, (unsigned long long)get(&h->sum));
	proto_buf_printf(b, "%s_count %llu\n", name, (unsigned long long)cum);
}

/* One deadline gauge family: a sample per team and kind, every team listed (zeros included). */
static void deadline_family(struct proto_buf *b, const struct metrics_store *st, const char *name, const char *help,
                            size_t field)
{
	family(b, name, "gauge", help);
	for (size_t t = 0; t < st->n_teams; t++) {
		const struct metrics_team *tm = &st->teams[t];
		const int64_t *vals = field == 0 ? tm->due : field == 1 ? tm->warned : field == 2 ? tm->escalated
		                                                                                   : tm->overdue;

		for (size_t k = 0; k < METRICS_KINDS; k++) {
			proto_buf_printf(b, "%s{team=\"", name);
			label_value(b, tm->team);
			proto_buf_printf(b, "\",deadline=\"%s\"} %lld\n", metrics_kinds[k], (long long)vals[k]);
		}
	}
}

void metrics_conn_refused(struct metrics *m, enum metrics_conn_reason why)
{
	if (m != NULL && (unsigned)why < METRICS_CONN_REASONS)
		inc(&m->conn_refused[why], 1);
}

void metrics_evicted(struct metrics *m)
{
	if (m != NULL)
		inc(&m->evicted, 1);
}

void metrics_push_missed(struct metrics *m)
{
	if (m != NULL)
		inc(&m->push_missed, 1);
}

void metrics_unauth_shed(struct metrics *m)
{
	if (m != NULL)
		inc(&m->unauth_shed, 1);
}

/* The connection gauges and the counters of the limits (docs/WIRE-BEHAVIOUR.md "Limits"). */
static void limits_text(const struct metrics *m, const struct metrics_view *v, struct proto_buf *b)
{
	static const char *const reasons[METRICS_CONN_REASONS] = {"address", "max_sessions", "accept_budget",
	                                                           "handshake_timeout"};

	family(b, "varsko_connections", "gauge", "Open TCP connections of the WebSocket port, TLS finished or not.");
	sample_u(b, "varsko_connections", v->connections);
	family(b, "varsko_connections_refused_total", "counter",
	       "Connections refused at accept or closed before their first request, by reason.");
	for (size_t i = 0; i < METRICS_CONN_REASONS; i++)
		proto_buf_printf(b, "varsko_connections_refused_total{reason=\"%s\"} %llu\n", reasons[i],
		                 (unsigned long long)get(&m->conn_refused[i]));
	family(b, "varsko_frame_bytes_held", "gauge",
	       "Frame bytes all sessions hold: receive buffers, jobs in flight and send queues.");
	sample_u(b, "varsko_frame_bytes_held", v->mem_held);
	family(b, "varsko_frame_bytes_budget", "gauge", "mem_budget_bytes: the most frame bytes all sessions may hold.");
	sample_u(b, "varsko_frame_bytes_budget", v->mem_budget);
	family(b, "varsko_sessions_evicted_total", "counter",
	       "Sessions closed with 1013 for holding the most frame bytes while over the budget.");
	sample_u(b, "varsko_sessions_evicted_total", get(&m->evicted));
	family(b, "varsko_unauth_shed_total", "counter",
	       "Frames refused before login beyond unauth_frames_per_second: closed with 1013, not answered.");
	sample_u(b, "varsko_unauth_shed_total", get(&m->unauth_shed));
	family(b, "varsko_pushes_missed_total", "counter",
	       "Pushes dropped for a session reading slower than they came (told later in a \"missed\" frame).");
	sample_u(b, "varsko_pushes_missed_total", get(&m->push_missed));
}

int metrics_text(const struct metrics *m, const struct metrics_view *v, struct proto_buf *b)
{
	static const struct metrics_store none;
	const struct metrics_store *st = v->store != NULL ? v->store : &none;
	int store_up = st->probed && st->result == VARSKO_OK;
	int64_t age = 0;

	family(b, "varsko_sessions", "gauge", "Open varsko.v1 WebSocket sessions.");
	sample_u(b, "varsko_sessions", v->sessions);
	family(b, "varsko_sessions_logged_in", "gauge", "Open sessions that have logged in.");
	sample_u(b, "varsko_sessions_logged_in", v->sessions_logged_in);
	limits_text(m, v, b);

	family(b, "varsko_logins_total", "counter", "Login attempts answered, by result (ok: a session; failed: refused).");
	proto_buf_printf(b, "varsko_logins_total{result=\"ok\"} %llu\n", (unsigned long long)get(&m->logins_ok));
	proto_buf_printf(b, "varsko_logins_total{result=\"failed\"} %llu\n",
	                 (unsigned long long)get(&m->logins_failed));

	family(b, "varsko_frames_refused_total", "counter",
	       "Client frames refused: error frames sent and connections closed for a frame, by error name.");
	for (size_t i = 0; i < N_ERR_CODES; i++) {
		if (err_codes[i] == VARSKO_OK)
			continue;
		proto_buf_printf(b, "varsko_frames_refused_total{code=\"%s\"} %llu\n", varsko_err_name(err_codes[i]),
		                 (unsigned long long)get(&m->refused[err_slot(err_codes[i])]));
	}

	family(b, "varsko_submissions_accepted_total", "counter",
	       "Underretninger accepted and committed (a resent submission is not counted again).");
	sample_u(b, "varsko_submissions_accepted_total", get(&m->submissions));

	family(b, "varsko_mqtt_acks_total", "counter",
	       "Messages from the agents on the MQTT ack topic: applied (ok, a duplicate included) or refused.");
	proto_buf_printf(b, "varsko_mqtt_acks_total{result=\"ok\"} %llu\n", (unsigned long long)get(&m->acks_ok));
	proto_buf_printf(b, "varsko_mqtt_acks_total{result=\"refused\"} %llu\n",
	                 (unsigned long long)get(&m->acks_refused));

	family(b, "varsko_dead_letters_total", "counter",
	       "Underretninger their agent refused for good (dead letters), since varskod started.");
	sample_u(b, "varsko_dead_letters_total", get(&m->dead_letters));

	family(b, "varsko_store_commit_batch_size", "histogram", "Jobs (submissions, thread messages, PUBACK marks, agents' acks) per group-commit transaction.");
	histogram_text(b, "varsko_store_commit_batch_size", &m->batch, batch_bounds, N_BATCH, 0);
	family(b, "varsko_store_commit_seconds", "histogram", "Time the COMMIT of a group-commit transaction took.");
	histogram_text(b, "varsko_store_commit_seconds", &m->commit, commit_bounds, N_COMMIT, 1);
	family(b, "varsko_store_commit_failures_total", "counter", "Group-commit transactions whose COMMIT failed.");
	sample_u(b, "varsko_store_commit_failures_total", get(&m->commit_failures));
	family(b, "varsko_store_queue_depth", "gauge",
	       "Store worker jobs submitted and not yet run; requests are answered unavailable at the max.");
	sample_u(b, "varsko_store_queue_depth", v->store_queue);
	family(b, "varsko_store_queue_max", "gauge", "The store queue's bound for requests (store_queue_max).");
	sample_u(b, "varsko_store_queue_max", v->store_queue_max);
	family(b, "varsko_store_up", "gauge", "1 when the last store probe answered (the check of /healthz).");
	sample_u(b, "varsko_store_up", (uint64_t)store_up);

	if (st->outbox_oldest > 0 && v->now > st->outbox_oldest)
		age = v->now - st->outbox_oldest;
	family(b, "varsko_outbox_depth", "gauge", "Outbox rows not done (publications not yet acknowledged).");
	proto_buf_printf(b, "varsko_outbox_depth %lld\n", (long long)st->outbox_depth);
	family(b, "varsko_outbox_oldest_age_seconds", "gauge", "Age of the oldest outbox row not done (0: none).");
	proto_buf_printf(b, "varsko_outbox_oldest_age_seconds %lld\n", (long long)age);
	family(b, "varsko_outbox_dead_letters", "gauge",
	       "Underretninger their agent refused (dead letters), not published again until varskoctl outbox retry.");
	proto_buf_printf(b, "varsko_outbox_dead_letters %lld\n", (long long)st->outbox_dead);

	family(b, "varsko_mqtt_connected", "gauge", "1 while the MQTT link to the broker is up.");
	sample_u(b, "varsko_mqtt_connected", (uint64_t)atomic_load(&m->mqtt_up));

	deadline_family(b, st, "varsko_deadlines_due", "Deadlines not met yet, by team and kind.", 0);
	deadline_family(b, st, "varsko_deadlines_warned", "Deadlines not met yet that were warned, by team and kind.",
	                1);
	deadline_family(b, st, "varsko_deadlines_escalated",
	                "Deadlines not met yet that were escalated, by team and kind.", 2);
	deadline_family(b, st, "varsko_deadlines_overdue", "Deadlines not met yet whose time has passed, by team and kind.",
	                3);

	family(b, "varsko_audit_rows", "gauge", "Entries in the audit log (the sequence number of its head).");
	proto_buf_printf(b, "varsko_audit_rows %lld\n", (long long)st->audit_rows);
	return b->err;
}

/* ---- /healthz ------------------------------------------------------------- */

int metrics_health(const struct metrics *m, const struct metrics_view *v, const struct metrics_limits *lim,
                   struct proto_buf *b, int *healthy)
{
	static const struct metrics_store none;
	const struct metrics_store *st = v->store != NULL ? v->store : &none;
	json_t *root = NULL, *store = NULL, *mqtt = NULL, *outbox = NULL;
	int64_t probe_age = -1, down = 0, oldest_age = 0, since;
	int store_ok, mqtt_ok, outbox_ok, commit_ok, enabled, up, r = VARSKO_ERR_NOMEM;
	char *text = NULL;

	*healthy = 0;
	if (st->probed)
		probe_age = (v->mono_us - st->probed_mono_us) / 1000000;
	commit_ok = atomic_load_explicit(&m->last_commit_ok, memory_order_relaxed);
	/*
	 * The store answers: the last probe succeeded and is recent (a worker
	 * stuck on one job does not probe), the store still takes writes, and
	 * the last group COMMIT did not fail (a full disk shows there first).
	 */
	store_ok = st->probed && st->result == VARSKO_OK && st->writable && probe_age <= lim->store_stale_seconds &&
	           commit_ok;
	store = json_pack("{s:b, s:b, s:b, s:I}", "ok", store_ok, "writable", st->probed && st->writable,
	                  "last_commit_ok", commit_ok, "probe_age_seconds", (json_int_t)probe_age);
	if (store != NULL && st->probed && st->result != VARSKO_OK &&
	    json_object_set_new(store, "error", json_string(varsko_err_name(st->result))) != 0)
		goto out;

	enabled = atomic_load(&m->mqtt_enabled);
	up = atomic_load(&m->mqtt_up);
	since = atomic_load(&m->mqtt_since_us);
	if (enabled && !up && v->mono_us > since)
		down = (v->mono_us - since) / 1000000;
	/* MQTT off (no mqtt_host) is the operator's choice, not a failure. */
	mqtt_ok = !enabled || up || down < lim->mqtt_grace_seconds;
	mqtt = json_pack("{s:b, s:b, s:b, s:I}", "ok", mqtt_ok, "enabled", enabled, "connected", enabled && up,
	                 "down_seconds", (json_int_t)down);

	if (st->outbox_oldest > 0 && v->now > st->outbox_oldest)
		oldest_age = v->now - st->outbox_oldest;
	/* Without a successful probe the depth is unknown: not ok. */
	outbox_ok = st->probed && st->result == VARSKO_OK && st->outbox_depth < lim->outbox_max;
	outbox = json_pack("{s:b, s:I, s:I, s:I}", "ok", outbox_ok, "depth", (json_int_t)st->outbox_depth,
	                   "oldest_age_seconds", (json_int_t)oldest_age, "max", (json_int_t)lim->outbox_max);
	if (store == NULL || mqtt == NULL || outbox == NULL)
		goto out;
	*healthy = store_ok && mqtt_ok && outbox_ok;
	/* json_pack's "o" takes the references over, also when it fails. */
	root = json_pack("{s:s, s:{s:o, s:o, s:o}}", "status", *healthy ? "ok" : "fail", "checks", "store", store,
	                 "mqtt", mqtt, "outbox", outbox);
	store = mqtt = outbox = NULL;
	if (root == NULL || (text = json_dumps(root, JSON_COMPACT)) == NULL)
		goto out;
	proto_buf_add_str(b, text);
	proto_buf_add(b, "\n", 1);
	r = b->err;
out:
	if (r != VARSKO_OK)
		*healthy = 0;
	free(text);
	json_decref(root);
	json_decref(store);
	json_decref(mqtt);
	json_decref(outbox);
	return r;
}
