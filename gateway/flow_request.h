/*
 * flow_request.h: what the request handlers of the flow share (daemon
 * library; worker thread). server_flow.c turns a request frame into a
 * flow_job, checks the session's device and asks policy.c whether the role
 * may make the request; then a handler runs:
 *   flow_submit.c  route, roster, submit (the notifier's side)
 *   flow_read.c    inbox, mine, fetch, status, notifier_devices, overview,
 *                  report_get, directory_get
 *   server_flow.c  event (the checks and effects are flow_event.c's)
 *   flow_keys.c    chain_get, chain_append, keys_get, keys_put, recovery_get,
 *                  recovery_put, approve_* (the key model, PROTOCOL.md 15)
 *   flow_thread.c  thread_create, thread_get, thread_append, thread_send,
 *                  thread_list, thread_sync, thread_mark (PROTOCOL.md 17)
 * A handler answers with flow_answer() (or flow_answer_raw() for an answer
 * that embeds stored texts), queues pushes with flow_add_push*()
 * and refuses with flow_refuse() (a static English text).
 */
#ifndef VARSKO_FLOW_REQUEST_H
#define VARSKO_FLOW_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "flow.h"
#include "flow_text.h"
#include "log.h"
#include "policy.h"
#include "server_flow.h"
#include "store.h"
#include "worker.h"

#define FLOW_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define FLOW_PUSH_MAX   3

struct flow_push {
	char *frame; /* owned */
	size_t len;
	int to_user, to_team;
	char user[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	/* Or to the sessions of several users (flow_add_push_users): */
	char (*users)[PROTO_ID_MAX + 1]; /* owned; n_users of them */
	size_t n_users;
	int not_sender; /* 1: not to the session that made the request */
};

struct flow_job {
	struct worker_job base; /* first: the worker hands back &base */
	struct server *srv;
	enum flow_type type;
	char id[PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1];
	json_t *req; /* the request frame (owned; only read by run()) */
	/* results, written by run() */
	int run_result;      /* what run() returned, to tell it from a failed group commit */
	const char *message; /* static English text of a refusal, or NULL */
	char *answer;        /* owned: the answer frame */
	size_t answer_len;
	int kick; /* outbox rows were added */
	char log_ref[PROTO_ID_MAX + 1];
	char log_team[PROTO_ID_MAX + 1];
	int log_no_reader; /* submit: nobody in log_team can read it now (flow_roster_readers() == 0) */
	char log_thread[LOG_ID_LEN + 1]; /* a thread request that succeeded: log_id() of the thread; log_ref then says what */
	size_t n_push;
	struct flow_push push[FLOW_PUSH_MAX];
};

/* Who sent the request: the session's device certificate and, from it and the user's current record, the actor. */
struct caller {
	struct proto_cert cert;
	struct policy_actor who;
};

/* Refuse with err and the static English message (NULL: the code's text); returns err. */
int flow_refuse(struct flow_job *j, int err, const char *message);

/* Set "type" (the request's answer type) and "id" on o, dump it as the answer and drop o. */
int flow_answer(struct flow_job *j, json_t *o);

/* Queue a push of frame o (dropped) to a user's sessions and/or a team's myndighed and leder sessions. */
int flow_add_push(struct flow_job *j, json_t *o, const char *user, const char *team);

/* The same for a frame that already is JSON text (copied). */
int flow_add_push_text(struct flow_job *j, const char *text, size_t len, const char *user, const char *team);

/*
 * Queue a push of the frame text[0..len) (copied) to every session of
 * users[0..n) (copied), and not to the requesting session when not_sender.
 */
int flow_add_push_users(struct flow_job *j, const char *text, size_t len, const char *const *users, size_t n,
                        int not_sender);

/*
 * The answer from the members of small (dropped here) and the raw texts
 * raw[0..n) (flow_text_merge(): stored envelopes are embedded, not parsed
 * again), with "type" and "id" as flow_answer().
 */
int flow_answer_raw(struct flow_job *j, json_t *small, const struct flow_text_kv *raw, size_t n);

/* A JSON value loaded from stored text (a receipt, certificate or envelope), or NULL. */
json_t *flow_load_text(const char *text, size_t len);

/*
 * The request's "envelope" member parsed: *text its compact text (owned:
 * free()), *env the envelope (owned: env_free(); NULL on failure). A refusal
 * (too_large; bad_frame for a malformed one) or VARSKO_OK.
 */
int flow_envelope_of(struct flow_job *j, char **text, struct env_envelope **env);

/* A certificate as a JSON object, or NULL. */
json_t *flow_cert_json(const struct proto_cert *c);

/* A member of the request as compact text (owned), or NULL. */
char *flow_member_text(const json_t *req, const char *key, size_t *len);

/* flow_submit.c */
struct route_rules;
/*
 * The stored routing rules, loaded once per import and kept on the server
 * (*out borrowed from it, valid while this job runs). A refusal
 * (unavailable when none were imported or they do not load) or VARSKO_OK.
 */
int flow_load_rules(struct flow_job *j, struct store *st, const struct route_rules **out);
int flow_run_route(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_roster(struct flow_job *j, struct store *st, int64_t now);
int flow_run_submit(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);

/* flow_read.c */
int flow_run_items(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_fetch(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_status(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_notifier_devices(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_overview(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_report(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_directory(struct flow_job *j, struct store *st);
/* flow_keys.c */
int flow_run_chain_get(struct flow_job *j, struct store *st);
int flow_run_chain_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_keys_get(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_keys_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_recovery_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_recovery_get(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_approve_request(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_approve_list(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_approve_offer(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_approve_reveal(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_approve_get(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
/* flow_thread.c */
int flow_run_thread_create(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_thread_get(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_thread_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_thread_send(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_thread_list(struct flow_job *j, struct store *st, const struct caller *c);
/* thread_raadgivere: the rådgivere assigned to one of the caller's institutions (PROTOCOL.md 17.3). */
int flow_run_thread_raadgivere(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_thread_sync(struct flow_job *j, struct store *st, const struct caller *c);
int flow_run_thread_mark(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_blob_begin(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_blob_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now);
int flow_run_blob_get(struct flow_job *j, struct store *st, const struct caller *c);

#endif
