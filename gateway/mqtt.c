/*
 * mqtt.c: varskod's MQTT side (mqtt.h): the outbox publisher and the
 * subscriber for the agents' acknowledgements, on libmosquitto.
 *
 * Three threads meet here:
 *   - the lws thread calls mqtt_start/mqtt_stop, the tick and the kick, and
 *     every job's done(); it is the only one that publishes;
 *   - our network thread runs mosquitto_loop() and the reconnects, and with
 *     them libmosquitto's callbacks, which only hand work to the worker;
 *   - the store worker runs every job's run(): all database work.
 * A job holds a reference on the struct mqtt (refs), never on the server or
 * the configuration, so a job that finishes after mqtt_stop() finds its
 * mqtt object alive, sees `stopping` and only frees itself.
 *
 * The network loop is ours, not mosquitto_loop_start(): libmosquitto 2.0's
 * own loop reconnects with a blocking connect() and sleeps between attempts
 * without noticing a disconnect request, so stopping varskod while the
 * broker is unreachable could hang for minutes. Ours reconnects with
 * mosquitto_reconnect_async() and waits on a condition variable that
 * mqtt_stop() signals.
 *
 * MQTT 3.1.1 with clean_session false: the broker keeps our subscription
 * and the acknowledgements queued for us while varskod is away (an MQTT 5
 * persistent session needs a session-expiry property, which libmosquitto
 * 2.0 only sends from its blocking connect).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <mosquitto.h>

#include "audit_agg.h"
#include "config.h"
#include "flow.h"
#include "flow_event.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "server.h"
#include "store.h"
#include "varsko/err.h"
#include "worker.h"

#define MQTT_TAKE_BATCH      64    /* outbox rows per take job */
#define MQTT_KEEPALIVE       30    /* seconds */
#define MQTT_RECONNECT_FIRST 1     /* seconds; doubles up to ... (our loop, not mosquitto_reconnect_delay_set) */
#define MQTT_RECONNECT_MAX   30    /* ... this */
#define MQTT_LOOP_MS         1000  /* one mosquitto_loop() wait at most */
#define MQTT_STOP_MS         2000  /* time mqtt_stop() gives the DISCONNECT to go out */
#define MQTT_CONNECT_MS      20000 /* a connect attempt without CONNACK by then has failed */
#define MQTT_MIDS            65536 /* MQTT message ids are 16 bits */
#define MQTT_ACK_JOBS_MAX    1024  /* ack messages waiting for the worker at once */
#define MQTT_ACK_BYTES_MAX   (64u * 1024u * 1024u)
#define MQTT_ACK_WAIT_MS     100   /* a full ack queue is looked at again this often */
#define MQTT_ACK_SUBMIT_TRIES 600  /* a store queue that refuses an ack for a minute has stopped */

struct mqtt {
	/* Set in mqtt_start, read-only afterwards. */
	struct server *srv;     /* borrowed; used on the lws thread only */
	struct worker *worker;  /* borrowed; valid until server_destroy() */
	struct audit_agg *audit; /* borrowed (the server's); refused acks are counted there */
	struct mosquitto *mosq; /* destroyed by mqtt_stop() */
	struct metrics *metrics; /* borrowed (the server's); thread-safe: the link's state for /healthz */
	char tenant[PROTO_ID_MAX + 1];
	char client_id[PROTO_ID_MAX + 16];
	char ack_topic[PROTO_ID_MAX + 16];
	char *gateway_cert_json; /* owned; NULL when it could not be read */
	int backoff_first, backoff_max;
	pthread_t thread;
	int thread_started;

	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t cond;  /* wakes the network thread (stopping) */
	int refs;             /* mqtt_start's own + one per job in flight */
	int stopping;
	int connected;       /* CONNACK 0 seen, no disconnect since */
	int reconnect_delay; /* seconds before the next reconnect attempt */
	int take_busy;       /* a take job is in flight */
	int take_again;      /* take once more when it is done */
	int ack_jobs;        /* ack jobs in flight and their payload bytes */
	size_t ack_bytes;
	uint64_t refused; /* ack messages refused so far (bad ones; never for a full queue) */
	int64_t *mid_row; /* MQTT_MIDS entries: outbox row id per message id, 0 = none */
};

/* ---- references -------------------------------------------------------- */

static void mqtt_free(struct mqtt *m)
{
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->mid_row);
	free(m->gateway_cert_json);
	free(m);
}

/* Take a reference for a job; 0 when stopping (then no job may start). */
static int mqtt_ref(struct mqtt *m)
{
	int ok;

	pthread_mutex_lock(&m->lock);
	ok = !m->stopping;
	if (ok)
		m->refs++;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

static void mqtt_unref(struct mqtt *m)
{
	int left;

	pthread_mutex_lock(&m->lock);
	left = --m->refs;
	pthread_mutex_unlock(&m->lock);
	if (left == 0)
		mqtt_free(m);
}

static int mqtt_is_stopping(struct mqtt *m)
{
	int v;

	pthread_mutex_lock(&m->lock);
	v = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return v;
}

/*
 * Hand a job to the worker. The job must already hold a reference
 * (mqtt_ref); on failure the reference is dropped and the job freed here.
 */
static int mqtt_submit(struct mqtt *m, struct worker_job *job, void (*free_job)(struct worker_job *))
{
	int r = worker_submit(m->worker, job);

	if (r != VARSKO_OK) {
		free_job(job);
		mqtt_unref(m);
	}
	return r;
}

/* ---- take and publish (lws thread) ------------------------------------------ */

struct take_job {
	struct worker_job base; /* first */
	struct mqtt *m;
	int64_t now;
	size_t n;
	struct store_outbox_row rows[MQTT_TAKE_BATCH];
};

static void take_job_free(struct worker_job *job)
{
	struct take_job *j = (struct take_job *)job;
	size_t i;

	for (i = 0; i < j->n; i++)
		store_outbox_row_clear(&j->rows[i]);
	free(j);
}

static void take_run(struct worker_job *job, struct store *s)
{
	struct take_job *j = (struct take_job *)job;

	j->n = 0;
	if (s == NULL) {
		job->result = VARSKO_ERR_UNAVAILABLE;
		return;
	}
	job->result =
	        store_outbox_take(s, j->now, j->m->backoff_first, j->m->backoff_max, j->rows, MQTT_TAKE_BATCH, &j->n);
}

static void mqtt_take(struct mqtt *m, int64_t now);

/*
 * Publish the rows at QoS 1 while connected. The lock is held across
 * mosquitto_publish() and the mid_row update so that an on_publish() for
 * the new message id (network thread) cannot look it up before it is there.
 * A row that is not published now is due again at its next_at, or at once
 * after the next connect (store_outbox_rearm).
 */
static size_t publish_rows(struct mqtt *m, struct store_outbox_row *rows, size_t n)
{
	size_t i, sent = 0;
	int mid, rc;

	for (i = 0; i < n; i++) {
		struct store_outbox_row *o = &rows[i];

		if (o->payload_len > (size_t)INT32_MAX) {
			log_msg(LOGL_ERROR, "mqtt: outbox row %lld is too large to publish", (long long)o->id);
			continue;
		}
		pthread_mutex_lock(&m->lock);
		if (!m->connected || m->stopping) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		mid = 0;
		rc = mosquitto_publish(m->mosq, &mid, o->topic, (int)o->payload_len, o->payload, 1, false);
		if (rc == MOSQ_ERR_SUCCESS && mid > 0 && mid < MQTT_MIDS)
			m->mid_row[mid] = o->id;
		pthread_mutex_unlock(&m->lock);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_msg(LOGL_WARN, "mqtt: cannot publish outbox row %lld: %s", (long long)o->id,
			        mosquitto_strerror(rc));
			if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NOMEM)
				break;
			continue;
		}
		sent++;
		log_msg(LOGL_DEBUG, "mqtt: published outbox row %lld (attempt %lld, mid %d) to %s", (long long)o->id,
		        (long long)o->attempts + 1, mid, o->topic);
	}
	return sent;
}

static void take_done(struct worker_job *job)
{
	struct take_job *j = (struct take_job *)job;
	struct mqtt *m = j->m;
	int again = 0;

	if (job->result != VARSKO_OK)
		log_msg(LOGL_WARN, "mqtt: taking due outbox rows failed: %s", varsko_err_name(job->result));
	else if (j->n > 0 && !mqtt_is_stopping(m))
		publish_rows(m, j->rows, j->n);
	pthread_mutex_lock(&m->lock);
	m->take_busy = 0;
	if (!m->stopping && m->connected && (m->take_again || (job->result == VARSKO_OK && j->n == MQTT_TAKE_BATCH)))
		again = 1;
	m->take_again = 0;
	pthread_mutex_unlock(&m->lock);
	take_job_free(job);
	if (again)
		mqtt_take(m, (int64_t)time(NULL));
	mqtt_unref(m);
}

/* Ask the worker for due rows unless a take is in flight (then take once more after it). */
static void mqtt_take(struct mqtt *m, int64_t now)
{
	struct take_job *j;

	pthread_mutex_lock(&m->lock);
	if (m->stopping || !m->connected) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	if (m->take_busy) {
		m->take_again = 1;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->take_busy = 1;
	m->refs++;
	pthread_mutex_unlock(&m->lock);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		pthread_mutex_lock(&m->lock);
		m->take_busy = 0;
		pthread_mutex_unlock(&m->lock);
		mqtt_unref(m);
		return;
	}
	j->base.run = take_run;
	j->base.done = take_done;
	j->base.group = 1; /* group commit: the attempt marks share the fdatasync of the jobs queued with them */
	j->m = m;
	j->now = now;
	if (worker_submit(m->worker, &j->base) != VARSKO_OK) {
		take_job_free(&j->base);
		pthread_mutex_lock(&m->lock);
		m->take_busy = 0;
		pthread_mutex_unlock(&m->lock);
		mqtt_unref(m);
	}
}

static void mqtt_tick(void *arg, int64_t now)
{
	mqtt_take(arg, now);
}

static void mqtt_kick(void *arg)
{
	mqtt_take(arg, (int64_t)time(NULL));
}

/* ---- rearm after a connect ------------------------------------------------- */

struct rearm_job {
	struct worker_job base;
	struct mqtt *m;
	int64_t now;
};

static void rearm_job_free(struct worker_job *job)
{
	free(job);
}

static void rearm_run(struct worker_job *job, struct store *s)
{
	struct rearm_job *j = (struct rearm_job *)job;

	job->result = s ? store_outbox_rearm(s, j->now) : VARSKO_ERR_UNAVAILABLE;
}

static void rearm_done(struct worker_job *job)
{
	struct rearm_job *j = (struct rearm_job *)job;
	struct mqtt *m = j->m;

	if (job->result != VARSKO_OK)
		log_msg(LOGL_WARN, "mqtt: rearming the outbox failed: %s", varsko_err_name(job->result));
	else
		mqtt_take(m, j->now);
	free(j);
	mqtt_unref(m);
}

/* ---- PUBACK -------------------------------------------------------------------- */

struct puback_job {
	struct worker_job base;
	struct mqtt *m;
	int64_t row;
	int64_t now;
	int first;
	int leveret; /* 1: the gateway event was stored */
	struct event_result res;
};

static void puback_job_free(struct worker_job *job)
{
	struct puback_job *j = (struct puback_job *)job;

	event_result_clear(&j->res);
	free(j);
}

/* A failure that may pass (retry later) rather than a refusal that will repeat. */
static int transient(int r)
{
	return r == VARSKO_ERR_UNAVAILABLE || r == VARSKO_ERR_IO || r == VARSKO_ERR_DB || r == VARSKO_ERR_NOMEM ||
	       r == VARSKO_ERR_INTERNAL;
}

/*
 * Mark the row and, at the first PUBACK of an underretning row, store the
 * gateway's `leveret` event in the same transaction. A transient failure of
 * the event rolls both back, so the PUBACK of a later republication tries
 * again; a refusal keeps the PUBACK (it would be refused every time). After
 * mqtt_stop() the server may be going away: a PUBACK that would need the
 * event is then not recorded at all, and the row is published again after
 * the restart.
 */
static void puback_run(struct worker_job *job, struct store *s)
{
	struct puback_job *j = (struct puback_job *)job;
	struct store_outbox_row info;
	int r, first = 0;

	memset(&info, 0, sizeof(info));
	event_result_clear(&j->res);
	j->first = j->leveret = 0;
	if (s == NULL) {
		job->result = VARSKO_ERR_UNAVAILABLE;
		return;
	}
	/* A group job (worker.h): inside the worker's transaction, undone alone when it fails. */
	if ((r = store_outbox_puback_info(s, j->row, j->now, &first, &info)) != VARSKO_OK)
		goto out;
	if (first && info.needs_ack && info.reference[0] != '\0') {
		if (mqtt_is_stopping(j->m)) {
			r = VARSKO_ERR_UNAVAILABLE;
			goto out;
		}
		r = server_gateway_event(j->m->srv, s, info.reference, "leveret", j->now, &j->res);
		if (r == VARSKO_OK) {
			j->leveret = 1;
		} else {
			event_result_clear(&j->res);
			if (transient(r))
				goto out;
			log_msg(LOGL_WARN, "mqtt: leveret for outbox row %lld refused: %s", (long long)j->row,
			        varsko_err_name(r));
		}
	}
	j->first = first;
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		j->leveret = 0;
		event_result_clear(&j->res);
	}
	job->result = r;
}

static void puback_done(struct worker_job *job)
{
	struct puback_job *j = (struct puback_job *)job;
	struct mqtt *m = j->m;

	if (job->result != VARSKO_OK) {
		log_msg(LOGL_WARN, "mqtt: recording the PUBACK of outbox row %lld failed: %s", (long long)j->row,
		        varsko_err_name(job->result));
	} else {
		log_msg(LOGL_DEBUG, "mqtt: PUBACK for outbox row %lld%s", (long long)j->row,
		        j->first ? " (first)" : "");
		if (j->leveret) {
			log_msg(LOGL_INFO, "mqtt: outbox row %lld delivered to the broker: event leveret stored",
			        (long long)j->row);
			if (j->res.push_frame != NULL && !mqtt_is_stopping(m))
				server_push(m->srv, j->res.notifier_user[0] ? j->res.notifier_user : NULL,
				            j->res.team[0] ? j->res.team : NULL, NULL, j->res.push_frame,
				            j->res.push_len);
		}
	}
	puback_job_free(job);
	mqtt_unref(m);
}

/* ---- acknowledgements from the agents ----------------------------------------- */

struct ack_job {
	struct worker_job base;
	struct mqtt *m;
	char *buf; /* the payload, NUL-terminated; NULL when refused before copying */
	size_t len;
	int pre_err; /* refused on the network thread (too large) */
	int64_t now;
	int refusal; /* a refusal (dead letter), not an event */
	struct event_result res;
	char kind[2 * FLOW_KIND_MAX + 1]; /* the event's kind (a refusal's reason), escaped for the log */
};

static void ack_job_free(struct worker_job *job)
{
	struct ack_job *j = (struct ack_job *)job;

	event_result_clear(&j->res);
	free(j->buf);
	free(j);
}

/* Parse the ack payload and apply its event or refusal. Returns VARSKO_OK or why it was refused. */
static int ack_apply(struct ack_job *j, struct store *s)
{
	json_t *o = NULL, *ev;
	const char *member;
	enum flow_type type = FLOW_T_NONE;
	const char *detail = NULL;
	char *text = NULL;
	int r;

	if (j->pre_err != VARSKO_OK)
		return j->pre_err;
	if ((r = flow_mqtt_parse(j->buf, j->len, &o, &type, &detail)) != VARSKO_OK)
		goto out;
	if (type != FLOW_T_EVENT && type != FLOW_T_REFUSAL) {
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	j->refusal = type == FLOW_T_REFUSAL;
	member = j->refusal ? "refusal" : "event";
	if ((ev = json_object_get(o, member)) == NULL || !json_is_object(ev)) {
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if ((text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (j->refusal)
		r = refusal_apply(s, text, strlen(text), j->now, j->m->tenant, &j->res);
	else
		r = event_apply(s, text, strlen(text), NULL, 0, j->now, j->m->tenant, j->m->gateway_cert_json,
		                &j->res);
	if (r == VARSKO_OK)
		log_escape(j->res.kind, strnlen(j->res.kind, sizeof(j->res.kind)), j->kind, sizeof(j->kind));
out:
	free(text);
	json_decref(o);
	return r;
}

static void ack_run(struct worker_job *job, struct store *s)
{
	struct ack_job *j = (struct ack_job *)job;
	char detail[64];
	int r;

	event_result_clear(&j->res);
	j->kind[0] = '\0';
	if (s == NULL) {
		job->result = VARSKO_ERR_UNAVAILABLE;
		return;
	}
	r = ack_apply(j, s);
	if (r != VARSKO_OK) {
		/* The group rolls this job back; its audit entry is counted (audit_agg.h), not lost with it. */
		event_result_clear(&j->res);
		snprintf(detail, sizeof(detail), "reason=%s", varsko_err_name(r));
		audit_agg_add(j->m->audit, j->now, "mqtt_refused", "-", detail);
	}
	job->result = r;
}

static void ack_done(struct worker_job *job)
{
	struct ack_job *j = (struct ack_job *)job;
	struct mqtt *m = j->m;

	pthread_mutex_lock(&m->lock);
	m->ack_jobs--;
	m->ack_bytes -= j->len;
	if (job->result != VARSKO_OK)
		m->refused++;
	pthread_cond_broadcast(&m->cond); /* on_message() may be waiting for room */
	pthread_mutex_unlock(&m->lock);
	metrics_mqtt_ack(m->metrics, job->result == VARSKO_OK);
	if (job->result != VARSKO_OK) {
		log_msg(LOGL_WARN, "mqtt: refused a message on %s: %s", m->ack_topic, varsko_err_name(job->result));
	} else if (j->refusal) {
		/* A reference, a team id and a reason name are no personal data (docs/FLOW.md). */
		if (j->res.duplicate) {
			log_msg(LOGL_DEBUG, "mqtt: refusal of %s by %s's agent: already a dead letter or done",
			        j->res.reference, j->res.team);
		} else {
			metrics_dead_letter(m->metrics);
			log_msg(LOGL_WARN, "mqtt: %s is a dead letter: %s's agent refused it (%s); not published again "
			        "until varskoctl outbox retry", j->res.reference, j->res.team, j->kind);
			if (j->res.push_frame != NULL && !mqtt_is_stopping(m))
				server_push(m->srv, NULL, j->res.team, "leder", j->res.push_frame, j->res.push_len);
			if (j->res.outbox_added)
				mqtt_take(m, (int64_t)time(NULL));
		}
	} else if (j->res.duplicate) {
		log_msg(LOGL_DEBUG, "mqtt: event %s from %s was already stored", j->kind, m->ack_topic);
	} else {
		log_msg(LOGL_INFO, "mqtt: event %s from %s stored (seq %lld)", j->kind, m->ack_topic,
		        (long long)j->res.seq);
		if (j->res.push_frame != NULL && !mqtt_is_stopping(m))
			server_push(m->srv, j->res.notifier_user[0] ? j->res.notifier_user : NULL,
			            j->res.team[0] ? j->res.team : NULL, NULL, j->res.push_frame, j->res.push_len);
		/* An omdirigering queued the underretning for the new team. */
		if (j->res.outbox_added)
			mqtt_take(m, (int64_t)time(NULL));
	}
	ack_job_free(job);
	mqtt_unref(m);
}

/* ---- libmosquitto callbacks (network thread) ------------------------------------ */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags)
{
	struct mqtt *m = obj;
	struct rearm_job *j;
	int src;

	if (rc != 0) {
		log_msg(LOGL_WARN, "mqtt: broker refused the connection: %s", mosquitto_connack_string(rc));
		return;
	}
	pthread_mutex_lock(&m->lock);
	m->connected = 1;
	m->reconnect_delay = MQTT_RECONNECT_FIRST;
	pthread_mutex_unlock(&m->lock);
	metrics_mqtt_link(m->metrics, 1, metrics_mono_us());
	log_msg(LOGL_INFO, "mqtt: connected as %s (%s session)", m->client_id, (flags & 1) ? "resumed" : "new");
	if ((src = mosquitto_subscribe(mosq, NULL, m->ack_topic, 1)) != MOSQ_ERR_SUCCESS)
		log_msg(LOGL_WARN, "mqtt: cannot subscribe to %s: %s", m->ack_topic, mosquitto_strerror(src));
	/* Everything not done is due now; the take follows in rearm_done(). */
	if (!mqtt_ref(m))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		mqtt_unref(m);
		return;
	}
	j->base.run = rearm_run;
	j->base.done = rearm_done;
	j->m = m;
	j->now = (int64_t)time(NULL);
	(void)mqtt_submit(m, &j->base, rearm_job_free);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	int was;

	(void)mosq;
	pthread_mutex_lock(&m->lock);
	was = m->connected;
	m->connected = 0;
	pthread_mutex_unlock(&m->lock);
	metrics_mqtt_link(m->metrics, 0, metrics_mono_us());
	if (was)
		log_msg(rc == 0 ? LOGL_INFO : LOGL_WARN, "mqtt: disconnected%s%s", rc == 0 ? "" : ": ",
		        rc == 0 ? "" : mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
	struct mqtt *m = obj;

	(void)mosq;
	(void)mid;
	if (qos_count < 1 || granted == NULL || granted[0] > 2)
		log_msg(LOGL_ERROR, "mqtt: broker refused the subscription to %s", m->ack_topic);
	else
		log_msg(LOGL_DEBUG, "mqtt: subscribed to %s (QoS %d)", m->ack_topic, granted[0]);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;
	struct puback_job *j;
	int64_t row = 0;

	(void)mosq;
	pthread_mutex_lock(&m->lock);
	if (mid > 0 && mid < MQTT_MIDS) {
		row = m->mid_row[mid];
		m->mid_row[mid] = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (row == 0 || !mqtt_ref(m))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		mqtt_unref(m);
		return;
	}
	j->base.run = puback_run;
	j->base.done = puback_done;
	j->base.group = 1; /* group commit: the PUBACK marks of a burst share one fdatasync */
	j->m = m;
	j->row = row;
	j->now = (int64_t)time(NULL);
	(void)mqtt_submit(m, &j->base, puback_job_free);
}

static int wait_or_stop_ms(struct mqtt *m, long ms);

/* *t = CLOCK_MONOTONIC now plus ms milliseconds (m->cond waits on that clock). */
static void mono_after_ms(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/*
 * Wait (network thread) until `len` more payload bytes fit in the ack
 * budget, or until mqtt_stop(). Returns 0 when stopping. While we wait,
 * libmosquitto reads nothing more from the broker, which holds the rest of
 * our queue (max_inflight_messages): an agent's acknowledgement waits for
 * room and is never refused for being one too many.
 */
static int ack_room_wait(struct mqtt *m, size_t len)
{
	struct timespec until;
	int ok, waited = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping && (m->ack_jobs >= MQTT_ACK_JOBS_MAX || m->ack_bytes + len > MQTT_ACK_BYTES_MAX) &&
	       !(m->ack_jobs == 0 && len > MQTT_ACK_BYTES_MAX)) {
		if (!waited)
			log_msg(LOGL_DEBUG, "mqtt: %d acknowledgements waiting for the store; reading paused",
			        m->ack_jobs);
		waited = 1;
		mono_after_ms(&until, MQTT_ACK_WAIT_MS);
		(void)pthread_cond_timedwait(&m->cond, &m->lock, &until);
	}
	ok = !m->stopping;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	struct ack_job *j = NULL;
	size_t len;

	(void)mosq;
	if (msg == NULL || msg->topic == NULL || strcmp(msg->topic, m->ack_topic) != 0) {
		log_msg(LOGL_DEBUG, "mqtt: ignored a message on a topic we did not subscribe to");
		return;
	}
	len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	if (!mqtt_ref(m))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto fail;
	j->base.run = ack_run;
	j->base.done = ack_done;
	j->base.group = 1; /* group commit: an agent's acks of a burst share one fdatasync */
	j->m = m;
	j->now = (int64_t)time(NULL);
	if (len > FLOW_FRAME_MAX) {
		j->pre_err = VARSKO_ERR_TOO_LARGE;
		len = 0;
	} else {
		if ((j->buf = malloc(len + 1)) == NULL)
			goto fail;
		if (len > 0)
			memcpy(j->buf, msg->payload, len);
		j->buf[len] = '\0';
	}
	j->len = len;
	/*
	 * libmosquitto has already sent the PUBACK, so an acknowledgement dropped
	 * here would be lost until the underretning's next republication: wait
	 * for room in our budget, and for the worker's queue, instead.
	 */
	for (int tries = 0;; tries++) {
		if (!ack_room_wait(m, len))
			goto fail; /* stopping: republication after the restart brings the events again */
		pthread_mutex_lock(&m->lock);
		m->ack_jobs++;
		m->ack_bytes += len;
		pthread_mutex_unlock(&m->lock);
		if (worker_submit(m->worker, &j->base) == VARSKO_OK)
			return;
		pthread_mutex_lock(&m->lock);
		m->ack_jobs--;
		m->ack_bytes -= len;
		pthread_mutex_unlock(&m->lock);
		if (tries == MQTT_ACK_SUBMIT_TRIES) {
			/* The store is gone for good; the underretning's republication brings the event again. */
			log_msg(LOGL_ERROR, "mqtt: cannot hand an acknowledgement to the store: %s",
			        varsko_err_name(VARSKO_ERR_UNAVAILABLE));
			goto fail;
		}
		if (wait_or_stop_ms(m, MQTT_ACK_WAIT_MS))
			goto fail;
	}
fail:
	if (j != NULL)
		ack_job_free(&j->base);
	mqtt_unref(m);
}

/* ---- the network thread ------------------------------------------------------------ */

/* Wait up to `ms` milliseconds unless mqtt_stop() comes first. Returns stopping. */
static int wait_or_stop_ms(struct mqtt *m, long ms)
{
	struct timespec until;
	int stopping;

	mono_after_ms(&until, ms);
	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
			break;
	}
	stopping = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stopping;
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * While a connect is in progress (no CONNACK yet): has it failed? With TLS,
 * libmosquitto 2.0 keeps retrying the handshake on a socket whose TCP
 * connect was refused or reset, and mosquitto_loop() returns success at
 * once every time (a busy loop until the keepalive runs out). A hung-up
 * socket, or no CONNACK after MQTT_CONNECT_MS, counts as a failed attempt.
 */
static int connect_check(struct mqtt *m, int64_t attempt_ms)
{
	struct pollfd p;
	int fd = mosquitto_socket(m->mosq);

	if (fd < 0)
		return MOSQ_ERR_NO_CONN;
	memset(&p, 0, sizeof(p));
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0)
		return MOSQ_ERR_CONN_REFUSED;
	if (mono_ms() - attempt_ms > MQTT_CONNECT_MS)
		return MOSQ_ERR_TIMEOUT;
	return MOSQ_ERR_SUCCESS;
}

/*
 * Run the connection until mqtt_stop(): mosquitto_loop() while there is a
 * connection (or a connect in progress), else wait with backoff and start
 * a non-blocking reconnect. After stopping is set, the loop keeps running
 * for at most MQTT_STOP_MS so that the DISCONNECT queued by mqtt_stop() is
 * sent and the broker keeps our session.
 */
static void *mqtt_thread(void *arg)
{
	struct mqtt *m = arg;
	int64_t stop_at = 0, attempt_ms = mono_ms();
	int rc = MOSQ_ERR_SUCCESS, last_rc = MOSQ_ERR_SUCCESS, delay, stopping, connected;

	for (;;) {
		pthread_mutex_lock(&m->lock);
		stopping = m->stopping;
		pthread_mutex_unlock(&m->lock);
		if (stopping) {
			if (stop_at == 0)
				stop_at = mono_ms() + MQTT_STOP_MS;
			pthread_mutex_lock(&m->lock);
			connected = m->connected;
			pthread_mutex_unlock(&m->lock);
			if (rc != MOSQ_ERR_SUCCESS || !connected || mono_ms() >= stop_at)
				break;
		}
		if (rc == MOSQ_ERR_SUCCESS) {
			rc = mosquitto_loop(m->mosq, stopping ? 100 : MQTT_LOOP_MS, 1);
			pthread_mutex_lock(&m->lock);
			connected = m->connected;
			pthread_mutex_unlock(&m->lock);
			if (rc == MOSQ_ERR_SUCCESS && !connected && !stopping)
				rc = connect_check(m, attempt_ms);
			continue;
		}
		metrics_mqtt_link(m->metrics, 0, metrics_mono_us());
		pthread_mutex_lock(&m->lock);
		m->connected = 0;
		delay = m->reconnect_delay;
		m->reconnect_delay = delay * 2 > MQTT_RECONNECT_MAX ? MQTT_RECONNECT_MAX : delay * 2;
		pthread_mutex_unlock(&m->lock);
		/* A new kind of failure is worth a warning; the same again is not. */
		log_msg(rc != last_rc ? LOGL_WARN : LOGL_DEBUG, "mqtt: not connected (%s); next attempt in %d s",
		        rc == MOSQ_ERR_TIMEOUT ? "no answer from the broker" : mosquitto_strerror(rc), delay);
		last_rc = rc;
		if (wait_or_stop_ms(m, delay * 1000L))
			break;
		attempt_ms = mono_ms();
		rc = mosquitto_reconnect_async(m->mosq);
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

static char *read_gateway_cert(const struct config *cfg)
{
	struct proto_cert c;
	char *json = NULL;

	if (cfg->gateway_cert == NULL)
		return NULL;
	memset(&c, 0, sizeof(c));
	if (keys_cert_read(cfg->gateway_cert, &c) != VARSKO_OK || proto_cert_to_json(&c, &json) != VARSKO_OK)
		json = NULL;
	return json;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc = MOSQ_ERR_UNKNOWN;

/*
 * libmosquitto is initialised once per process and never cleaned up: its
 * cleanup unloads OpenSSL configuration modules that libwebsockets may
 * still be using.
 */
static void lib_init(void)
{
	lib_rc = mosquitto_lib_init();
}

int mqtt_start(struct mqtt **out, const struct config *cfg, struct server *srv)
{
	struct mqtt *m = NULL;
	sigset_t all, old;
	int r = VARSKO_ERR_INTERNAL, rc;

	*out = NULL;
	if (cfg == NULL || srv == NULL)
		return VARSKO_ERR_INTERNAL;
	if (cfg->mqtt_host == NULL || cfg->mqtt_host[0] == '\0') {
		log_msg(LOGL_INFO, "mqtt: no mqtt_host configured; outbox rows wait");
		return VARSKO_OK;
	}
	if (cfg->mqtt_port <= 0 || cfg->mqtt_ca == NULL || cfg->mqtt_cert == NULL || cfg->mqtt_key == NULL ||
	    cfg->tenant == NULL || strlen(cfg->tenant) > PROTO_ID_MAX) {
		log_msg(LOGL_ERROR, "mqtt: mqtt_host needs mqtt_port, mqtt_ca, mqtt_cert and mqtt_key");
		return VARSKO_ERR_CONFIG;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_rc != MOSQ_ERR_SUCCESS) {
		log_msg(LOGL_ERROR, "mqtt: cannot initialise libmosquitto");
		return VARSKO_ERR_INTERNAL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return VARSKO_ERR_NOMEM;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return VARSKO_ERR_NOMEM;
	}
	{
		pthread_condattr_t ca;

		if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
		    pthread_cond_init(&m->cond, &ca) != 0) {
			pthread_mutex_destroy(&m->lock);
			free(m);
			return VARSKO_ERR_NOMEM;
		}
		pthread_condattr_destroy(&ca);
	}
	m->refs = 1;
	m->srv = srv;
	m->worker = server_worker(srv);
	m->audit = server_audit_agg(srv);
	m->metrics = server_metrics(srv);
	m->backoff_first = cfg->outbox_backoff_first;
	m->backoff_max = cfg->outbox_backoff_max;
	m->reconnect_delay = MQTT_RECONNECT_FIRST;
	snprintf(m->tenant, sizeof(m->tenant), "%s", cfg->tenant);
	/*
	 * The broker names the session after the certificate's CN
	 * (use_username_as_clientid in deploy/mosquitto/mkconf.sh), whatever id
	 * we ask for, so no other client can take this session over; we ask for
	 * the CN the ACL expects so that a broker without that setting keeps the
	 * same session. MQTT 3.1.1 refuses an empty id with a persistent session.
	 */
	snprintf(m->client_id, sizeof(m->client_id), "%s", "varskod");
	snprintf(m->ack_topic, sizeof(m->ack_topic), "varsko/%s/ack", cfg->tenant);
	if (m->worker == NULL) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if ((m->mid_row = calloc(MQTT_MIDS, sizeof(*m->mid_row))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((m->gateway_cert_json = read_gateway_cert(cfg)) == NULL)
		log_msg(LOGL_WARN, "mqtt: cannot read gateway_cert; re-routing by MQTT events is refused");
	if ((m->mosq = mosquitto_new(m->client_id, false, m)) == NULL) {
		r = errno == ENOMEM ? VARSKO_ERR_NOMEM : VARSKO_ERR_CONFIG;
		goto out;
	}
	/*
	 * Publishing happens on the lws thread while our thread runs the loop:
	 * threaded mode makes libmosquitto queue packets and wake the loop
	 * rather than write from the caller's thread.
	 */
	if (mosquitto_threaded_set(m->mosq, true) != MOSQ_ERR_SUCCESS ||
	    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311) != MOSQ_ERR_SUCCESS) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if ((rc = mosquitto_tls_set(m->mosq, cfg->mqtt_ca, NULL, cfg->mqtt_cert, cfg->mqtt_key, NULL)) !=
	    MOSQ_ERR_SUCCESS) {
		log_msg(LOGL_ERROR, "mqtt: cannot use mqtt_ca, mqtt_cert or mqtt_key: %s", mosquitto_strerror(rc));
		r = VARSKO_ERR_TLS;
		goto out;
	}
	/* Verify the broker's certificate and host name; TLS 1.2 or 1.3 only. */
	if ((rc = mosquitto_tls_opts_set(m->mosq, 1, "tlsv1.2", NULL)) != MOSQ_ERR_SUCCESS ||
	    (rc = mosquitto_tls_insecure_set(m->mosq, false)) != MOSQ_ERR_SUCCESS) {
		log_msg(LOGL_ERROR, "mqtt: cannot set the TLS options: %s", mosquitto_strerror(rc));
		r = VARSKO_ERR_TLS;
		goto out;
	}
	mosquitto_connect_with_flags_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_message_callback_set(m->mosq, on_message);
	mosquitto_subscribe_callback_set(m->mosq, on_subscribe);

	/*
	 * A broker that is down is not an error: the thread retries. The host
	 * and port are kept by this call even when the connect fails at once.
	 * No callback runs before the thread starts.
	 */
	rc = mosquitto_connect_async(m->mosq, cfg->mqtt_host, cfg->mqtt_port, MQTT_KEEPALIVE);
	if (rc == MOSQ_ERR_INVAL) {
		log_msg(LOGL_ERROR, "mqtt: bad mqtt_host or mqtt_port");
		r = VARSKO_ERR_CONFIG;
		goto out;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		log_msg(LOGL_WARN, "mqtt: broker not reachable yet (%s); retrying", mosquitto_strerror(rc));
	log_msg(LOGL_INFO, "mqtt: connecting as %s", m->client_id);

	/* Signals go to the other threads (varskod's handler stops the server). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->thread_started = pthread_create(&m->thread, NULL, mqtt_thread, m) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->thread_started) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if ((r = server_add_tick(srv, mqtt_tick, m)) != VARSKO_OK) {
		mqtt_stop(m);
		return r;
	}
	server_set_outbox_kick(srv, mqtt_kick, m);
	/* Down since varskod started, until the first CONNACK. */
	metrics_mqtt_enable(m->metrics);
	*out = m;
	m = NULL;
	r = VARSKO_OK;
out:
	if (m != NULL) {
		/* Nothing else holds a reference yet: no thread and no job. */
		if (m->mosq != NULL)
			mosquitto_destroy(m->mosq);
		mqtt_free(m);
	}
	return r;
}

void mqtt_stop(struct mqtt *m)
{
	uint64_t refused;

	if (m == NULL)
		return;
	server_set_outbox_kick(m->srv, NULL, NULL);
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	refused = m->refused;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	/* Queue the DISCONNECT; the thread sends it and leaves. */
	(void)mosquitto_disconnect(m->mosq);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	log_msg(LOGL_INFO, "mqtt: stopped (%llu messages refused)", (unsigned long long)refused);
	mqtt_unref(m);
}
