/*
 * server_flow.h: what server.c, server_flow.c and admin.c share. Internal
 * to the server module: nothing else includes it.
 *
 * server.c owns the lws context, the sessions and their output queues, the
 * login and enrollment; server_flow.c serves the flow frames of a logged-in
 * session (docs/FLOW.md) as worker jobs. Everything here runs on the lws
 * thread unless a comment says "worker thread".
 */
#ifndef VARSKO_SERVER_FLOW_H
#define VARSKO_SERVER_FLOW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "flow.h"
#include "log.h"
#include "server.h"
#include "server_limits.h"

struct admin;
struct config;
struct metrics;
struct route_rules;
struct worker_job;

struct outmsg {
	struct outmsg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes */
};

enum session_state {
	SESS_NEW = 0,
	SESS_PENDING,  /* its enroll, enroll_confirm or login is with the worker */
	SESS_ENROLLED, /* enrolled: waits for the client's enroll_confirm */
	SESS_AUTH,
	SESS_CLOSING,
};

#define SERVER_SESSION_BUCKETS 1024
#define SERVER_SESSION_JOBS    8 /* jobs in flight per session */

/* Per-connection data of varsko.v1; lws allocates it zeroed, server.c fills it in ESTABLISHED. */
struct session {
	struct server *srv; /* NULL until ESTABLISHED succeeded */
	struct lws *wsi;
	uint64_t id;
	struct session *hnext; /* bucket chain of srv->table */
	enum session_state state;
	int attempted; /* the one enroll or login of this connection was made */
	uint8_t nonce[PROTO_NONCE_LEN];
	char device[PROTO_ID_MAX + 1]; /* after login */
	char dev_log[LOG_ID_LEN + 1];  /* log_id(device) */
	/* From the certificate at login: who gets which pushes. */
	char user[PROTO_ID_MAX + 1];
	char role[PROTO_ROLE_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	unsigned bad_frames;
	unsigned jobs;
	int64_t opened_us, last_rx_us; /* monotonic */
	struct proto_buf rx;           /* the frame being received; wiped when reset or freed */
	struct outmsg *out_head, *out_tail;
	size_t out_n, out_bytes;
	int close_code; /* sent after the queue is flushed, when state is SESS_CLOSING */
	int counted;    /* logged in and counted under its device and user (struct limits) */
	/* Frame bytes held by the session's jobs in flight: the job (compared only) and its frame's length. */
	const struct worker_job *job_ptr[SERVER_SESSION_JOBS];
	size_t job_len[SERVER_SESSION_JOBS];
	size_t job_bytes; /* the sum of job_len */
	size_t held;      /* rx.cap + out_bytes + job_bytes, as counted in srv->mem_held */
	unsigned missed;  /* pushes dropped because the queue was full; told in a "missed" frame when it drains */
};

struct server_tick {
	void (*fn)(void *arg, int64_t now);
	void *arg;
};

struct server {
	const struct config *cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct worker *worker;
	struct audit_agg *audit_agg; /* audit entries counted per second (audit_agg.h); any thread */
	uint8_t *org_sk; /* borrowed; no-access except while the worker signs with it */
	uint8_t *gw_sk;  /* borrowed; the same */
	uint8_t org_pk[PROTO_PK_LEN];
	int has_root;                  /* the org chain exists: hello carries root_pk (PROTOCOL.md 16.2) */
	uint8_t root_pk[PROTO_PK_LEN]; /* the organisation root key, read at start */
	struct proto_cert gateway_cert;
	char *gateway_cert_json; /* owned; the certificate as compact JSON */
	volatile sig_atomic_t stop;
	uint64_t next_id;
	size_t n_sessions;
	struct session *table[SERVER_SESSION_BUCKETS];
	/* hooks (lws thread) */
	lws_sorted_usec_list_t tick_sul;
	int tick_scheduled;
	size_t n_ticks;
	struct server_tick ticks[SERVER_TICKS_MAX];
	void (*kick_fn)(void *arg);
	void *kick_arg;
	/* /healthz and /metrics: the counters (any thread, metrics.h) and the admin listener (admin.h) */
	struct metrics *metrics;
	struct admin *admin;
	/* lws thread: the sessions' re-check (server_flow.c) */
	int recheck_busy;
	int64_t recheck_last;
	/* lws thread: the connection limits (server_limits.h) and the frame bytes all sessions hold */
	struct limits limits;
	size_t mem_held;
	size_t orphan_held;    /* of mem_held: held by jobs whose session closed before they were done */
	size_t dispatch_len;   /* the length of the frame being served, for session_submit() */
	unsigned accepts_turn; /* connections accepted since the last lws_service() began */
	struct lws *listen_paused; /* the listener whose POLLIN the accept budget switched off this turn */
	/* lws thread: the web client's files (borrowed, NULL without web_root) and their CSP (owned) */
	const struct webroot *web;
	char *web_csp;
	/* worker thread only: the routing rules as last loaded, and the text they came from */
	struct route_rules *rules;
	char *rules_doc;
	size_t rules_doc_len;
};

/* ---- server.c, for server_flow.c ---- */

/* Queue json[0..len) (copied) for the session. A peer whose queue is full is dropped. */
int server_session_send(struct session *s, const char *json, size_t len);

/*
 * Answer a refused request with an error frame (code, English message or
 * NULL for the code's text), audit it ("frame_refused", the error name) and
 * count it against the bad-frame limit, except for failures on the
 * server's side (unavailable, db, io, internal, nomem).
 */
void server_session_refuse(struct session *s, const char *id, int err, const char *message);

/* Close with `code` once the queued frames are out. */
void server_session_close(struct session *s, int code);

/*
 * Make a secret key (org_sk, gw_sk) unreachable again after signing with
 * it. What was signed stands; a key that stays readable is logged (name
 * says which) so the operator learns of it.
 */
void server_key_lock(uint8_t *sk, const char *name);

/* The session with id, or NULL when it is gone (lws thread). */
struct session *server_session_find(struct server *srv, uint64_t id);

/* Hand a session's job to the worker (per-session limit); on failure the job stays the caller's. */
int server_session_submit(struct session *s, struct worker_job *job);

/* The session a finished job belongs to (its job count is decremented), or NULL when it has gone. */
struct session *server_job_session(struct server *srv, const struct worker_job *job);

/*
 * Send the frame json[0..len) (borrowed; copied per session) to every
 * logged-in session of the users users[0..n), except the session with id
 * `except` (0: none). Otherwise as server_push(). Returns the number of
 * sessions it was queued for.
 */
int server_push_users(struct server *srv, const char (*users)[PROTO_ID_MAX + 1], size_t n, uint64_t except,
                      const char *json, size_t len);

/* ---- server_flow.c, for server.c ---- */

/*
 * Serve one flow request of a logged-in session: `frame` (owned, from
 * flow_frame_parse) of type `type` with request id `id` ("" for none).
 * Answers (or refusals) come later from the job's done().
 */
void server_flow_request(struct session *s, json_t *frame, enum flow_type type, const char *id);

/* Start re-checking the logged-in sessions' devices on the server's tick (after the worker started). */
int server_flow_start(struct server *srv);

/* Free what server_flow.c keeps in srv (the routing rules). NULL-safe; after the worker stopped. */
void server_flow_free(struct server *srv);

#endif
