/*
 * server_flow.c: the flow frames of a logged-in session (docs/FLOW.md steps
 * 2, 4, 7 and 8, "Who sees what"; the frames are in proto/flow.h).
 *
 * Every request becomes one worker job: the lws thread only hands over the
 * parsed frame, and answers from the job's done(). run() does everything
 * else on the worker thread: it looks the session's device up again (so a
 * revocation, an expiry or a change of the user's role or team takes
 * effect at once), asks policy.c whether the role may make the request,
 * and hands it to its handler (flow_submit.c, flow_read.c, or the event
 * here, checked and stored by flow_event.c), which reads
 * and writes the store, signs with the organisation key (rosters) or the
 * gateway key (receipts), and builds the answer and the pushes as JSON
 * text. A submission is a group job (group commit): its receipt leaves only
 * from done() after the commit that holds its rows has returned.
 *
 * Refusals are error frames with the stable code and an English message;
 * a reference that is unknown or not the caller's to see is `not_found`
 * either way, so references cannot be probed.
 *
 * Logged-in sessions are also re-checked on the server's tick (below), and
 * the gateway's own leveret events are signed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "flow_event.h"
#include "flow_request.h"
#include "log.h"
#include "memo.h"
#include "metrics.h"

static void job_results_clear(struct flow_job *j)
{
	free(j->answer);
	j->answer = NULL;
	j->answer_len = 0;
	for (size_t i = 0; i < j->n_push; i++) {
		free(j->push[i].frame);
		free(j->push[i].users);
	}
	memset(j->push, 0, sizeof(j->push));
	j->n_push = 0;
	j->message = NULL;
	j->kick = 0;
	j->log_ref[0] = j->log_team[0] = j->log_thread[0] = '\0';
	j->log_no_reader = 0;
}

int flow_refuse(struct flow_job *j, int err, const char *message)
{
	j->message = message;
	return err;
}

/* The answer type of a request type (flow.h). */
static enum flow_type answer_type(enum flow_type t)
{
	switch (t) {
	case FLOW_T_ROUTE:
	case FLOW_T_ROSTER:
		return FLOW_T_ROUTED;
	case FLOW_T_SUBMIT:
		return FLOW_T_RECEIPT;
	case FLOW_T_EVENT:
		return FLOW_T_EVENT_OK;
	case FLOW_T_INBOX:
	case FLOW_T_MINE:
		return FLOW_T_ITEMS;
	case FLOW_T_FETCH:
		return FLOW_T_UNDERRETNING;
	case FLOW_T_STATUS:
		return FLOW_T_TIMELINE;
	case FLOW_T_NOTIFIER_DEVICES:
		return FLOW_T_DEVICES;
	case FLOW_T_OVERVIEW:
		return FLOW_T_DEADLINES;
	case FLOW_T_CHAIN_GET:
		return FLOW_T_CHAIN;
	case FLOW_T_CHAIN_APPEND:
		return FLOW_T_CHAIN_OK;
	case FLOW_T_KEYS_GET:
		return FLOW_T_KEYS;
	case FLOW_T_KEYS_PUT:
		return FLOW_T_KEYS_OK;
	case FLOW_T_RECOVERY_GET:
		return FLOW_T_RECOVERY;
	case FLOW_T_RECOVERY_PUT:
		return FLOW_T_RECOVERY_OK;
	case FLOW_T_APPROVE_REQUEST:
	case FLOW_T_APPROVE_OFFER:
	case FLOW_T_APPROVE_REVEAL:
	case FLOW_T_APPROVE_GET:
		return FLOW_T_APPROVAL;
	case FLOW_T_APPROVE_LIST:
		return FLOW_T_APPROVALS;
	case FLOW_T_THREAD_CREATE:
	case FLOW_T_THREAD_APPEND:
		return FLOW_T_THREAD_OK;
	case FLOW_T_THREAD_GET:
		return FLOW_T_THREAD;
	case FLOW_T_THREAD_SEND:
		return FLOW_T_THREAD_SENT;
	case FLOW_T_THREAD_LIST:
		return FLOW_T_THREADS;
	case FLOW_T_THREAD_SYNC:
		return FLOW_T_MESSAGES;
	case FLOW_T_THREAD_MARK:
		return FLOW_T_MARK_OK;
	case FLOW_T_THREAD_RAADGIVERE:
		return FLOW_T_RAADGIVERE;
	case FLOW_T_BLOB_BEGIN:
	case FLOW_T_BLOB_PUT:
		return FLOW_T_BLOB_OK;
	case FLOW_T_BLOB_GET:
		return FLOW_T_BLOB_DATA;
	case FLOW_T_DIRECTORY_GET:
		return FLOW_T_DIRECTORY;
	case FLOW_T_REPORT_GET:
		return FLOW_T_REPORT;
	default:
		return FLOW_T_NONE;
	}
}

/* Set "type" (and "id" when the request had one) on o, dump it as the answer and drop o. */
int flow_answer(struct flow_job *j, json_t *o)
{
	const char *type = flow_type_name(answer_type(j->type));
	int r = VARSKO_ERR_NOMEM;

	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	if (type == NULL) {
		json_decref(o);
		return VARSKO_ERR_INTERNAL;
	}
	if (json_object_set_new(o, "type", json_string(type)) != 0)
		goto out;
	if (j->id[0] != '\0' && json_object_set_new(o, "id", json_string(j->id)) != 0)
		goto out;
	r = flow_frame_dump(o, &j->answer, &j->answer_len);
out:
	json_decref(o);
	return r;
}

int flow_answer_raw(struct flow_job *j, json_t *small, const struct flow_text_kv *raw, size_t n)
{
	const char *type = flow_type_name(answer_type(j->type));
	int r = VARSKO_ERR_NOMEM;

	if (small == NULL)
		return VARSKO_ERR_NOMEM;
	if (type == NULL) {
		json_decref(small);
		return VARSKO_ERR_INTERNAL;
	}
	if (json_object_set_new(small, "type", json_string(type)) != 0)
		goto out;
	if (j->id[0] != '\0' && json_object_set_new(small, "id", json_string(j->id)) != 0)
		goto out;
	r = flow_text_merge(small, raw, n, &j->answer, &j->answer_len);
out:
	json_decref(small);
	return r;
}

/* The next push slot, addressed to a user's sessions and/or a team's myndighed and leder sessions; NULL when full. */
static struct flow_push *push_slot(struct flow_job *j, const char *user, const char *team)
{
	struct flow_push *p;

	if (j->n_push == FLOW_PUSH_MAX)
		return NULL;
	p = &j->push[j->n_push];
	memset(p, 0, sizeof(*p));
	if (user != NULL) {
		p->to_user = 1;
		snprintf(p->user, sizeof(p->user), "%s", user);
	}
	if (team != NULL) {
		p->to_team = 1;
		snprintf(p->team, sizeof(p->team), "%s", team);
	}
	return p;
}

/* Queue a push of frame o (dropped here). */
int flow_add_push(struct flow_job *j, json_t *o, const char *user, const char *team)
{
	struct flow_push *p = push_slot(j, user, team);
	int r;

	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	r = p == NULL ? VARSKO_ERR_INTERNAL : flow_frame_dump(o, &p->frame, &p->len);
	json_decref(o);
	if (r == VARSKO_OK)
		j->n_push++;
	return r;
}

/* The same for a frame that already is JSON text (copied). */
int flow_add_push_text(struct flow_job *j, const char *text, size_t len, const char *user, const char *team)
{
	struct flow_push *p = push_slot(j, user, team);

	if (p == NULL)
		return VARSKO_ERR_INTERNAL;
	if ((p->frame = malloc(len + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(p->frame, text, len);
	p->frame[len] = '\0';
	p->len = len;
	j->n_push++;
	return VARSKO_OK;
}

int flow_add_push_users(struct flow_job *j, const char *text, size_t len, const char *const *users, size_t n,
                        int not_sender)
{
	struct flow_push *p = push_slot(j, NULL, NULL);

	if (p == NULL)
		return VARSKO_ERR_INTERNAL;
	if ((p->frame = malloc(len + 1)) == NULL || (n > 0 && (p->users = calloc(n, sizeof(*p->users))) == NULL)) {
		free(p->frame);
		p->frame = NULL;
		return VARSKO_ERR_NOMEM;
	}
	memcpy(p->frame, text, len);
	p->frame[len] = '\0';
	p->len = len;
	for (size_t i = 0; i < n; i++)
		snprintf(p->users[i], sizeof(p->users[i]), "%s", users[i]);
	p->n_users = n;
	p->not_sender = not_sender;
	j->n_push++;
	return VARSKO_OK;
}

/* A JSON value loaded from text (a stored receipt, certificate or envelope), or NULL. */
json_t *flow_load_text(const char *text, size_t len)
{
	return text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

json_t *flow_cert_json(const struct proto_cert *c)
{
	char *text = NULL;
	json_t *v = NULL;

	if (proto_cert_to_json(c, &text) == VARSKO_OK)
		v = flow_load_text(text, strlen(text));
	free(text);
	return v;
}

/* A member of the request that flow_frame_parse() checked to be an object, as compact text (owned). */
char *flow_member_text(const json_t *req, const char *key, size_t *len)
{
	const json_t *v = json_object_get(req, key);
	char *t;

	*len = 0;
	if (v == NULL || (t = json_dumps(v, FLOW_JSON_FLAGS)) == NULL)
		return NULL;
	*len = strlen(t);
	return t;
}

int flow_envelope_of(struct flow_job *j, char **text, struct env_envelope **env)
{
	size_t len = 0;
	int r;

	*env = NULL;
	if ((*text = flow_member_text(j->req, "envelope", &len)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = env_from_json(*text, len, env)) == VARSKO_OK || r == VARSKO_ERR_NOMEM)
		return r;
	if (r == VARSKO_ERR_TOO_LARGE)
		return flow_refuse(j, r, "the envelope is too large");
	return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "the envelope is malformed");
}

/* ---- checks shared by the requests (worker thread) ------------------------------ */

/*
 * proto_cert_verify() of a stored device certificate under the org key, its
 * signature checked once per stored text and org key (memo.h): every
 * request checks its device. The validity period is checked every time.
 */
static int cert_verified(const struct store_device *d, const uint8_t org_pk[PROTO_PK_LEN], int64_t now)
{
	crypto_generichash_state hs;
	uint8_t key[MEMO_KEY_LEN], ok = 1;
	int r;

	memo_key_init(&hs, "device-cert-verified");
	memo_key_add(&hs, d->cert_digest, sizeof(d->cert_digest));
	memo_key_add(&hs, org_pk, PROTO_PK_LEN);
	memo_key_final(&hs, key);
	if (!memo_get(key, &ok, sizeof(ok))) {
		if ((r = proto_cert_verify(&d->cert, org_pk, now)) != VARSKO_OK)
			return r;
		memo_put(key, &ok, sizeof(ok));
	}
	return now < d->cert.not_before || now > d->cert.not_after ? VARSKO_ERR_DEVICE_EXPIRED : VARSKO_OK;
}

/*
 * A logged-in device as it is now: enrolled, not revoked, its certificate
 * valid, and its user still has the certificate's role and team (access
 * follows the user's current record, policy.h). Every request and the
 * sessions' re-check on the tick ask this. *why: the English refusal.
 */
static int device_now(struct server *srv, struct store *st, const char *device, int64_t now, struct caller *c,
                      const char **why)
{
	struct store_device d;
	struct proto_cert record;
	int r;

	*why = NULL;
	if ((r = store_device_get(st, device, &d)) != VARSKO_OK) {
		if (r == VARSKO_ERR_UNKNOWN_DEVICE)
			*why = "this device is not enrolled";
		return r;
	}
	if (d.revoked_at != 0) {
		*why = "this device has been revoked";
		return VARSKO_ERR_DEVICE_REVOKED;
	}
	if ((r = cert_verified(&d, srv->org_pk, now)) != VARSKO_OK) {
		*why = r == VARSKO_ERR_DEVICE_EXPIRED ? "this device's certificate has expired"
		                                      : "this device's certificate does not verify";
		return r;
	}
	if ((r = store_user_get(st, d.cert.user, &record)) != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		return r;
	if (r != VARSKO_OK || policy_actor(&d.cert, &record, &c->who) != VARSKO_OK) {
		*why = "this device's certificate no longer matches its user's role or team; enroll it again";
		return VARSKO_ERR_DEVICE_REVOKED;
	}
	c->cert = d.cert;
	return VARSKO_OK;
}

static int check_device(struct flow_job *j, struct store *st, int64_t now, struct caller *c)
{
	const char *why;
	int r = device_now(j->srv, st, j->device, now, c, &why);

	return r == VARSKO_OK ? r : flow_refuse(j, r, why);
}

/*
 * The routing rules as stored now. The stored text is read every time
 * (a few small rows) and compared with the text the cached rules came
 * from, so an import takes effect with the next request.
 */
static const char *event_refusal(int r)
{
	switch (r) {
	case VARSKO_ERR_BAD_FRAME:
		return "the event or its envelope is malformed";
	case VARSKO_ERR_NOT_FOUND:
		return "no such underretning";
	case VARSKO_ERR_UNKNOWN_DEVICE:
		return "the event's signer is not enrolled";
	case VARSKO_ERR_DEVICE_REVOKED:
		return "the event's signer has been revoked";
	case VARSKO_ERR_DEVICE_EXPIRED:
		return "the event's signer's certificate has expired";
	case VARSKO_ERR_BAD_SIGNATURE:
		return "the event's or the envelope's signature does not verify";
	case VARSKO_ERR_FORBIDDEN:
		return "this device may not sign this kind of event for this underretning";
	case VARSKO_ERR_BAD_INPUT:
		return "the envelope is missing, superfluous, not for this event, or its recipients are wrong";
	case VARSKO_ERR_BAD_TIME:
		return "the event's time is in the future or before the underretning was received";
	case VARSKO_ERR_EXISTS:
		return "another event with the same kind, device and time is stored";
	case VARSKO_ERR_CASE_STATE:
		return "the underretning's state does not allow this event";
	default:
		return NULL;
	}
}

static int run_event(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct event_result res;
	struct store_underretning u;
	struct flow_event ev;
	char *ev_text = NULL, *env_text = NULL;
	size_t ev_len = 0, env_len = 0;
	int r;

	memset(&res, 0, sizeof(res));
	memset(&u, 0, sizeof(u));
	if (flow_event_from_json(json_object_get(j->req, "event"), &ev) != VARSKO_OK)
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "the event is malformed");
	if (strcmp(ev.device, j->device) != 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the event is not signed by this device");
	/* Only the current team's underretninger are this session's to change. */
	if ((r = store_underretning_get(st, ev.reference, 0, &u)) != VARSKO_OK)
		return flow_refuse(j, r, r == VARSKO_ERR_NOT_FOUND ? "no such underretning" : NULL);
	if (!policy_sees(FLOW_T_EVENT, policy_relation(&c->who, u.team, u.sender_user))) {
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "no such underretning");
		goto out;
	}
	if ((ev_text = flow_member_text(j->req, "event", &ev_len)) == NULL ||
	    (json_object_get(j->req, "envelope") != NULL &&
	     (env_text = flow_member_text(j->req, "envelope", &env_len)) == NULL)) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = event_apply(st, ev_text, ev_len, env_text, env_len, now, j->srv->cfg->tenant, j->srv->gateway_cert_json,
	                &res);
	if (r != VARSKO_OK) {
		r = flow_refuse(j, r, res.why != NULL ? res.why : event_refusal(r));
		goto out;
	}
	snprintf(j->log_ref, sizeof(j->log_ref), "%s", res.reference);
	if ((r = flow_answer(j, json_pack("{s:I}", "seq", (json_int_t)res.seq))) != VARSKO_OK)
		goto out;
	if (!res.duplicate && res.push_frame != NULL) {
		/* The notifier and the team that has it now; after an omdirigering also the team it left. */
		if ((r = flow_add_push_text(j, res.push_frame, res.push_len, res.notifier_user, res.team)) != VARSKO_OK)
			goto out;
		if (strcmp(res.team, u.team) != 0) {
			json_t *item = NULL;

			if ((r = flow_add_push_text(j, res.push_frame, res.push_len, NULL, u.team)) != VARSKO_OK)
				goto out;
			if ((r = store_flow_item(st, res.reference, &item)) != VARSKO_OK)
				goto out;
			if ((r = flow_add_push(j, json_pack("{s:s, s:o}", "type", "new_underretning", "item", item),
			                       NULL, res.team)) != VARSKO_OK)
				goto out;
		}
	}
	j->kick = res.outbox_added;
out:
	event_result_clear(&res);
	store_underretning_clear(&u);
	free(ev_text);
	free(env_text);
	return r;
}

static void flow_run(struct worker_job *job, struct store *st)
{
	struct flow_job *j = (struct flow_job *)job;
	struct caller c;
	const char *why;
	int64_t now = time(NULL);
	int r;

	/* A group job may run a second time (alone, after a failed group): start from scratch. */
	job_results_clear(j);
	if (st == NULL) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if ((r = check_device(j, st, now, &c)) != VARSKO_OK)
		goto out;
	/* The role (and team) the request needs: policy.c's table. */
	if ((r = policy_request(j->type, &c.who, &why)) != VARSKO_OK) {
		r = flow_refuse(j, r, why);
		goto out;
	}
	switch (j->type) {
	case FLOW_T_ROUTE:
		r = flow_run_route(j, st, &c, now);
		break;
	case FLOW_T_SUBMIT:
		r = flow_run_submit(j, st, &c, now);
		break;
	case FLOW_T_EVENT:
		r = run_event(j, st, &c, now);
		break;
	case FLOW_T_INBOX:
	case FLOW_T_MINE:
		r = flow_run_items(j, st, &c);
		break;
	case FLOW_T_FETCH:
		r = flow_run_fetch(j, st, &c);
		break;
	case FLOW_T_STATUS:
		r = flow_run_status(j, st, &c);
		break;
	case FLOW_T_NOTIFIER_DEVICES:
		r = flow_run_notifier_devices(j, st, &c, now);
		break;
	case FLOW_T_ROSTER:
		r = flow_run_roster(j, st, now);
		break;
	case FLOW_T_OVERVIEW:
		r = flow_run_overview(j, st, &c, now);
		break;
	case FLOW_T_CHAIN_GET:
		r = flow_run_chain_get(j, st);
		break;
	case FLOW_T_CHAIN_APPEND:
		r = flow_run_chain_append(j, st, &c, now);
		break;
	case FLOW_T_KEYS_GET:
		r = flow_run_keys_get(j, st, &c);
		break;
	case FLOW_T_KEYS_PUT:
		r = flow_run_keys_put(j, st, &c, now);
		break;
	case FLOW_T_RECOVERY_GET:
		r = flow_run_recovery_get(j, st, &c, now);
		break;
	case FLOW_T_RECOVERY_PUT:
		r = flow_run_recovery_put(j, st, &c, now);
		break;
	case FLOW_T_APPROVE_REQUEST:
		r = flow_run_approve_request(j, st, &c, now);
		break;
	case FLOW_T_APPROVE_LIST:
		r = flow_run_approve_list(j, st, &c, now);
		break;
	case FLOW_T_APPROVE_OFFER:
		r = flow_run_approve_offer(j, st, &c, now);
		break;
	case FLOW_T_APPROVE_REVEAL:
		r = flow_run_approve_reveal(j, st, &c, now);
		break;
	case FLOW_T_APPROVE_GET:
		r = flow_run_approve_get(j, st, &c, now);
		break;
	case FLOW_T_THREAD_CREATE:
		r = flow_run_thread_create(j, st, &c, now);
		break;
	case FLOW_T_THREAD_GET:
		r = flow_run_thread_get(j, st, &c);
		break;
	case FLOW_T_THREAD_APPEND:
		r = flow_run_thread_append(j, st, &c, now);
		break;
	case FLOW_T_THREAD_SEND:
		r = flow_run_thread_send(j, st, &c, now);
		break;
	case FLOW_T_THREAD_LIST:
		r = flow_run_thread_list(j, st, &c);
		break;
	case FLOW_T_THREAD_SYNC:
		r = flow_run_thread_sync(j, st, &c);
		break;
	case FLOW_T_THREAD_MARK:
		r = flow_run_thread_mark(j, st, &c, now);
		break;
	case FLOW_T_THREAD_RAADGIVERE:
		r = flow_run_thread_raadgivere(j, st, &c);
		break;
	case FLOW_T_BLOB_BEGIN:
		r = flow_run_blob_begin(j, st, &c, now);
		break;
	case FLOW_T_BLOB_PUT:
		r = flow_run_blob_put(j, st, &c, now);
		break;
	case FLOW_T_BLOB_GET:
		r = flow_run_blob_get(j, st, &c);
		break;
	case FLOW_T_DIRECTORY_GET:
		r = flow_run_directory(j, st);
		break;
	case FLOW_T_REPORT_GET:
		r = flow_run_report(j, st, &c, now);
		break;
	default: /* policy_request() refused every other type */
		r = VARSKO_ERR_INTERNAL;
		break;
	}
out:
	if (r != VARSKO_OK) {
		/* Nothing of a refused request leaves. */
		const char *message = j->message;

		job_results_clear(j);
		j->message = message;
	}
	j->run_result = r;
	job->result = r;
}

/* Refusals that end a logged-in session: the device is no longer acceptable. */
static int closes_session(int r)
{
	return r == VARSKO_ERR_DEVICE_REVOKED || r == VARSKO_ERR_DEVICE_EXPIRED || r == VARSKO_ERR_UNKNOWN_DEVICE ||
	       r == VARSKO_ERR_BAD_CERT;
}

static void flow_done(struct worker_job *job)
{
	struct flow_job *j = (struct flow_job *)job;
	struct server *srv = j->srv;
	struct session *s = server_job_session(srv, job);
	int r = job->result;

	if (r == VARSKO_OK) {
		if (s != NULL && s->state != SESS_CLOSING)
			server_session_send(s, j->answer, j->answer_len);
		if (j->type == FLOW_T_SUBMIT && j->log_ref[0] != '\0')
			log_msg(LOGL_INFO, "session s%llu: %s %s", s ? (unsigned long long)s->id : 0ULL, j->log_ref,
			        j->log_team[0] ? "accepted" : "sent again (duplicate)");
		/* Committed by now (group commit): a new underretning, not a resent one. */
		if (j->type == FLOW_T_SUBMIT && j->log_team[0] != '\0')
			metrics_submission(srv->metrics);
		/* For the operator: a reference and a team id are no personal data (docs/FLOW.md). */
		if (j->type == FLOW_T_SUBMIT && j->log_no_reader)
			log_msg(LOGL_WARN,
			        "%s went to team %s, where no myndighed has an active device: only its agent can file it; "
			        "the team's leders are warned",
			        j->log_ref, j->log_team);
		if (j->log_thread[0] != '\0')
			log_msg(LOGL_INFO, "session s%llu: %s thread %s%s", s ? (unsigned long long)s->id : 0ULL,
			        flow_type_name(j->type), j->log_thread, j->log_ref);
		for (size_t i = 0; i < j->n_push; i++) {
			const struct flow_push *p = &j->push[i];

			if (p->users != NULL)
				server_push_users(srv, (const char(*)[PROTO_ID_MAX + 1])p->users, p->n_users,
				                  p->not_sender && s != NULL ? s->id : 0, p->frame, p->len);
			else
				server_push(srv, p->to_user ? p->user : NULL, p->to_team ? p->team : NULL, NULL,
				            p->frame, p->len);
		}
		if (j->kick)
			server_outbox_kick(srv);
	} else if (s != NULL && s->state != SESS_CLOSING) {
		log_msg(LOGL_INFO, "session s%llu: %s refused (%s)", (unsigned long long)s->id, flow_type_name(j->type),
		        varsko_err_name(r));
		/* A failed group commit is the job's result too: it has no message of its own. */
		server_session_refuse(s, j->id, r, r == j->run_result ? j->message : NULL);
		if (closes_session(r)) {
			log_msg(LOGL_INFO, "session s%llu: device %s no longer accepted (%s)",
			        (unsigned long long)s->id, s->dev_log, varsko_err_name(r));
			server_session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		}
	}
	job_results_clear(j);
	json_decref(j->req);
	free(j);
}

void server_flow_request(struct session *s, json_t *frame, enum flow_type type, const char *id)
{
	struct flow_job *j = calloc(1, sizeof(*j));
	int r;

	if (j == NULL) {
		json_decref(frame);
		server_session_refuse(s, id, VARSKO_ERR_NOMEM, NULL);
		return;
	}
	j->base.run = flow_run;
	j->base.done = flow_done;
	/* Submissions and thread messages that arrive together share one transaction (group commit). */
	j->base.group = type == FLOW_T_SUBMIT || type == FLOW_T_THREAD_SEND;
	j->srv = s->srv;
	j->type = type;
	j->req = frame;
	snprintf(j->id, sizeof(j->id), "%s", id ? id : "");
	memcpy(j->device, s->device, sizeof(j->device));
	if ((r = server_session_submit(s, &j->base)) != VARSKO_OK) {
		json_decref(j->req);
		free(j);
		server_session_refuse(s, id, r == VARSKO_ERR_RATE_LIMITED ? r : VARSKO_ERR_UNAVAILABLE,
		                      r == VARSKO_ERR_RATE_LIMITED ? "too many requests in flight on this connection"
		                                                   : NULL);
	}
}

void server_flow_free(struct server *srv)
{
	if (srv == NULL)
		return;
	free(srv->rules);
	free(srv->rules_doc);
	srv->rules = NULL;
	srv->rules_doc = NULL;
	srv->rules_doc_len = 0;
}

/* ---- logged-in sessions re-checked on a tick ----------------------------------------- */

/*
 * A session is checked with each request it makes; one that only pings
 * (or only listens for pushes) is checked here, every recheck_interval
 * seconds: one worker job asks device_now() for every logged-in session's
 * device, and done() closes with 1008 those whose device was revoked, has
 * expired or no longer matches its user's record.
 */
struct recheck_item {
	uint64_t session;
	char device[PROTO_ID_MAX + 1];
	int result;
};

struct recheck_job {
	struct worker_job base;
	struct server *srv;
	int64_t now;
	size_t n;
	struct recheck_item items[]; /* n */
};

static void recheck_run(struct worker_job *job, struct store *st)
{
	struct recheck_job *j = (struct recheck_job *)job;
	struct caller c;
	const char *why;

	for (size_t i = 0; i < j->n; i++)
		j->items[i].result =
		        st != NULL ? device_now(j->srv, st, j->items[i].device, j->now, &c, &why) : VARSKO_ERR_INTERNAL;
	sodium_memzero(&c, sizeof(c));
	job->result = VARSKO_OK;
}

static void recheck_done(struct worker_job *job)
{
	struct recheck_job *j = (struct recheck_job *)job;
	struct server *srv = j->srv;

	for (size_t i = 0; i < j->n; i++) {
		struct session *s = server_session_find(srv, j->items[i].session);

		if (s == NULL || s->state != SESS_AUTH || !closes_session(j->items[i].result))
			continue;
		log_msg(LOGL_INFO, "session s%llu: device %s no longer accepted (%s); closed on re-check",
		        (unsigned long long)s->id, s->dev_log, varsko_err_name(j->items[i].result));
		server_session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	}
	srv->recheck_busy = 0;
	free(j);
}

/* lws thread, about once a second: every recheck_interval seconds, one job for all logged-in sessions. */
static void recheck_tick(void *arg, int64_t now)
{
	struct server *srv = arg;
	struct recheck_job *j;
	size_t n = 0, k = 0;

	if (srv->recheck_busy || now - srv->recheck_last < srv->cfg->recheck_interval)
		return;
	srv->recheck_last = now;
	for (size_t b = 0; b < SERVER_SESSION_BUCKETS; b++)
		for (struct session *s = srv->table[b]; s; s = s->hnext)
			n += s->state == SESS_AUTH;
	if (n == 0 || (j = calloc(1, sizeof(*j) + n * sizeof(j->items[0]))) == NULL)
		return; /* none logged in, or tried again at the next interval */
	for (size_t b = 0; b < SERVER_SESSION_BUCKETS; b++)
		for (struct session *s = srv->table[b]; s && k < n; s = s->hnext)
			if (s->state == SESS_AUTH) {
				j->items[k].session = s->id;
				memcpy(j->items[k].device, s->device, sizeof(j->items[k].device));
				k++;
			}
	j->base.run = recheck_run;
	j->base.done = recheck_done;
	j->srv = srv;
	j->now = now;
	j->n = k;
	if (worker_submit(srv->worker, &j->base) != VARSKO_OK) {
		free(j);
		return;
	}
	srv->recheck_busy = 1;
}

int server_flow_start(struct server *srv)
{
	return server_add_tick(srv, recheck_tick, srv);
}

/* ---- the gateway's own events ------------------------------------------------------ */

int server_gateway_event(struct server *srv, struct store *st, const char *reference, const char *kind, int64_t now,
                         struct event_result *out)
{
	struct flow_event ev;
	json_t *o = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	if (srv == NULL || st == NULL || reference == NULL || kind == NULL)
		return VARSKO_ERR_BAD_INPUT;
	ev.version = FLOW_VERSION;
	ev.kind = flow_event_kind_from_name(kind);
	if (ev.kind != FLOW_EV_LEVERET || strlen(reference) > FLOW_REF_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if (srv->gw_sk == NULL)
		return VARSKO_ERR_UNAVAILABLE;
	snprintf(ev.reference, sizeof(ev.reference), "%s", reference);
	snprintf(ev.device, sizeof(ev.device), "%s", srv->gateway_cert.device);
	ev.time = now;
	ev.akut = ev.started = -1;
	if (sodium_mprotect_readonly(srv->gw_sk) != 0)
		return VARSKO_ERR_CRYPTO;
	r = flow_event_sign(&ev, srv->gw_sk);
	server_key_lock(srv->gw_sk, "gateway");
	if (r != VARSKO_OK)
		return r;
	if ((r = flow_event_to_json(&ev, &o)) != VARSKO_OK)
		return r;
	if ((r = flow_frame_dump(o, &text, &len)) == VARSKO_OK)
		r = event_apply(st, text, len, NULL, 0, now, srv->cfg->tenant, srv->gateway_cert_json, out);
	json_decref(o);
	free(text);
	return r;
}
