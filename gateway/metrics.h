/*
 * metrics.h: varskod's counters and the two answers of the admin listener
 * (admin.c; docs/OPERATIONS.md "Health and metrics"): GET /metrics in the
 * Prometheus text exposition format 0.0.4, and GET /healthz as JSON.
 *
 * Three threads count here, none under a lock of ours: the lws thread
 * (logins, error frames, accepted submissions), the store worker (group
 * commits, through worker_set_commit_hook) and the MQTT network thread (the
 * link going up and down). Every counter is a C11 atomic updated with
 * relaxed ordering: a scrape may see one counter a moment ahead of another,
 * never a torn value. What needs the database (outbox, deadlines, the audit
 * log's length, the store probe) is not counted here: a worker job reads it
 * into a struct metrics_store, which the lws thread keeps and passes to the
 * two renderers (admin.c).
 *
 * Nothing personal is ever a label value: the labels are login results,
 * error names, team ids and deadline kinds. No reference, user id or
 * device id is counted or named.
 */
#ifndef VARSKO_METRICS_H
#define VARSKO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct metrics;

/* Deadline kinds, in the order of struct metrics_team's arrays (store.h "deadlines"). */
#define METRICS_KINDS 4
extern const char *const metrics_kinds[METRICS_KINDS]; /* vurdering, kvittering, tilbagemelding, undersoegelse */

/* The open deadlines of one team, by kind (metrics_kinds). */
struct metrics_team {
	char team[PROTO_ID_MAX + 1];
	int64_t due[METRICS_KINDS];       /* not met yet */
	int64_t warned[METRICS_KINDS];    /* of those, warned */
	int64_t escalated[METRICS_KINDS]; /* of those, escalated */
	int64_t overdue[METRICS_KINDS];   /* of those, past due_at */
};

/*
 * What one store probe found (filled by a worker job, kept by the lws
 * thread). A zeroed struct is "no probe has finished yet".
 */
struct metrics_store {
	int probed;             /* a probe has finished */
	int result;             /* VARSKO_OK, or the error of the probe's first failed query */
	int writable;           /* store_writable() */
	int64_t probed_mono_us; /* when it finished (metrics_mono_us()) */
	int64_t outbox_depth;   /* outbox rows not done */
	int64_t outbox_oldest;  /* created_at (wall clock) of the oldest of them; 0: none */
	int64_t outbox_dead;    /* dead letters: refused by their agent, waiting for an operator */
	int64_t audit_rows;     /* the audit log's length (sequence number of its head) */
	size_t n_teams;
	struct metrics_team *teams; /* owned: every team, ordered by id; metrics_store_clear() */
	size_t teams_cap;           /* entries allocated (proto_array_grow) */
};

/* Free what s owns and zero it. NULL-safe. */
void metrics_store_clear(struct metrics_store *s);

/* The moment of a scrape and what only the lws thread knows. Everything borrowed. */
struct metrics_view {
	int64_t now;     /* wall clock, Unix seconds */
	int64_t mono_us; /* metrics_mono_us() */
	size_t sessions; /* open varsko.v1 sessions */
	size_t sessions_logged_in;
	size_t connections; /* accepted TCP connections of the varsko.v1 port, TLS finished or not */
	size_t mem_held;    /* frame bytes all sessions hold (receive buffers, jobs, send queues) */
	size_t mem_budget;  /* mem_budget_bytes */
	size_t store_queue;     /* store worker jobs submitted and not yet run (worker_depth) */
	size_t store_queue_max; /* the bound of the requests among them (config store_queue_max) */
	const struct metrics_store *store;
};

/* The limits of /healthz (config.h's health_* keys, and the probe's staleness). */
struct metrics_limits {
	int mqtt_grace_seconds;  /* MQTT may be down this long */
	int64_t outbox_max;      /* the outbox must hold fewer rows than this */
	int store_stale_seconds; /* the last successful probe must be at most this old */
};

/* The monotonic clock of the metrics, in microseconds. Any thread. */
int64_t metrics_mono_us(void);

/* A new set of counters, all zero; MQTT not enabled. *out owned by the caller: metrics_free(). */
int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m); /* NULL-safe */

/* ---- counting: any thread, never blocks; m may be NULL (nothing counted) ---- */

/* A login attempt was answered: ok (a session) or refused. */
void metrics_login(struct metrics *m, int ok);
/* An error frame with code err (varsko/err.h) went to a client. */
void metrics_refused(struct metrics *m, int err);
/* Why a TCP connection was refused at accept, or closed before its first request. */
enum metrics_conn_reason {
	METRICS_CONN_ADDRESS = 0,       /* its address held max_conns_per_address */
	METRICS_CONN_MAX_SESSIONS,      /* max_sessions connections were open */
	METRICS_CONN_ACCEPT_BUDGET,     /* not a refusal: the listener paused, a turn had accepted its budget */
	METRICS_CONN_HANDSHAKE_TIMEOUT, /* no request within handshake_timeout of the accept */
	METRICS_CONN_REASONS
};
void metrics_conn_refused(struct metrics *m, enum metrics_conn_reason why);
/* A session was closed with 1013 for holding the most frame bytes over the byte budget. */
void metrics_evicted(struct metrics *m);
/* A frame refused before login found the unauthenticated token bucket empty: closed with 1013, not answered. */
void metrics_unauth_shed(struct metrics *m);
/* A push was dropped for a session whose queue was full (it gets a "missed" frame later). */
void metrics_push_missed(struct metrics *m);
/* A new underretning was accepted and committed (a resent one is not counted again). */
void metrics_submission(struct metrics *m);
/* A message on the MQTT ack topic was applied (ok) or refused (any thread). */
void metrics_mqtt_ack(struct metrics *m, int ok);
/* An agent refused an underretning for good: it became a dead letter (any thread). */
void metrics_dead_letter(struct metrics *m);
/* A group-commit transaction of `batch` jobs reached COMMIT, which took commit_us and gave result. */
void metrics_commit(struct metrics *m, size_t batch, int64_t commit_us, int result);
/* varskod talks MQTT (mqtt_host is set); from now on the link counts in /healthz. */
void metrics_mqtt_enable(struct metrics *m);
/* The MQTT link is up (1) or down (0) at mono_us (metrics_mono_us()); a repeat of the same state changes nothing. */
void metrics_mqtt_link(struct metrics *m, int up, int64_t mono_us);

/* ---- rendering: lws thread ---- */

/*
 * Append the /metrics text (Prometheus text exposition format 0.0.4) to
 * out. Returns out's error (proto_buf), VARSKO_OK when all went in.
 */
int metrics_text(const struct metrics *m, const struct metrics_view *v, struct proto_buf *out);

/*
 * Judge health and append the /healthz JSON object to out:
 *   {"status":"ok"|"fail","checks":{"store":{..},"mqtt":{..},"outbox":{..}}}
 * with "ok" in every check. *healthy is 1 when every check is ok (HTTP
 * 200), else 0 (503). Returns out's error, VARSKO_OK when all went in.
 */
int metrics_health(const struct metrics *m, const struct metrics_view *v, const struct metrics_limits *lim,
                   struct proto_buf *out, int *healthy);

#endif
