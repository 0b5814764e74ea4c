/*
 * server.c: the lws context, the HTTPS answers (the web client's files, or
 * a plain page) and the varsko.v1 WebSocket sessions of varskod
 * (docs/WIRE-BEHAVIOUR.md).
 *
 * Everything in this file runs on the lws thread except the job run()
 * functions, which run on the store worker thread and touch only their job,
 * the store, the immutable configuration and the organisation key.
 *
 * A session goes NEW (hello sent, nonce fresh) -> PENDING (its one enroll,
 * enroll_confirm or login attempt is with the worker) -> AUTH (logged in), or
 * after an enroll -> ENROLLED (the device is pending until the client
 * confirms it stored its certificate) -> PENDING (the confirm), and ends in CLOSING
 * (a close code is set; queued frames are flushed first, then the close is
 * sent). Answers leave through a small per-session queue of encoded frames,
 * one lws_write() per WRITEABLE callback.
 *
 * The flow frames of a logged-in session (docs/FLOW.md) are served by
 * server_flow.c; the structs both files use are in server_flow.h. The hooks
 * of server.h (ticks, outbox kick, pushes) are here.
 */
#include "server.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "admin.h"
#include "audit_agg.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "server_flow.h"
#include "store.h"
#include "utf8.h"
#include "webroot.h"
#include "worker.h"

#define SESSION_BUCKETS     SERVER_SESSION_BUCKETS
#define SESSION_OUT_FRAMES  32         /* queued answers before a client that does not read is dropped */
#define SESSION_OUT_BYTES   (1u << 20) /* the same, in bytes */
#define SESSION_BAD_FRAMES  16         /* error answers allowed; one more closes with 1008 */
#define SESSION_JOBS_MAX    SERVER_SESSION_JOBS
#define SESSION_CLOSE_GRACE 5    /* seconds to flush and close before the socket is dropped */
#define SERVER_ACCEPTS_TURN 64   /* connections accepted per turn of the event loop (the accept budget) */
#define CLOSE_TRY_AGAIN     1013 /* RFC 6455 "try again later": the byte budget or unauthenticated work */
/* Pushes may fill the queue only this far, so that answers always find room. */
#define SESSION_PUSH_FRAMES (SESSION_OUT_FRAMES - SESSION_JOBS_MAX - 4)
#define SESSION_PUSH_BYTES  (SESSION_OUT_BYTES / 4 * 3)

/* TLS 1.2 suites: forward secret key exchange and AEAD only. */
#define SERVER_TLS12_CIPHERS                                                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                     \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SERVER_TLS13_CIPHERS "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

#define HTTP_CHUNK   16384 /* body bytes written per WRITEABLE callback */
#define HTTP_HDR_MAX 8192  /* the headers of one answer; the CSP lists up to CONFIG_ORIGINS_MAX origins */
#define HTTP_HV_MAX  512   /* a request header we read (If-None-Match, Accept-Encoding); longer ones are ignored */

static const char server_page[] = "Varsko kører\n";
static const char http_not_found[] = "not found\n";
static const char http_not_allowed[] = "method not allowed\n";
static const char http_nosniff[] = "nosniff", http_hsts[] = "max-age=31536000";

/*
 * The headers of every answer from web_root besides the CSP, the cache
 * policy and the ones that depend on the file (docs/OPERATIONS.md "The web
 * client" says why each is there).
 */
static const char *const web_headers[][2] = {
        {"strict-transport-security:", http_hsts},
        {"x-content-type-options:", http_nosniff},
        {"referrer-policy:", "no-referrer"},
        {"x-frame-options:", "DENY"},
        {"cross-origin-opener-policy:", "same-origin"},
        {"cross-origin-resource-policy:", "same-origin"},
        {"permissions-policy:", "camera=(), microphone=(), geolocation=()"},
};

/* One HTTP transaction's answer body, written HTTP_CHUNK bytes per WRITEABLE callback. */
struct http_req {
	const uint8_t *body; /* borrowed (a file of the web tree, a static text); NULL: nothing (left) to write */
	size_t len;
	size_t off;  /* bytes of body written so far */
	int started; /* a request arrived: the handshake deadline (server_conn_created) no longer applies */
};

/* ---- small helpers ----------------------------------------------------- */

static int64_t server_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* True when origin is one of the configured origins. Any thread (cfg is immutable). */
static int server_origin_allowed(const struct config *cfg, const char *origin)
{
	for (size_t i = 0; i < cfg->n_origins; i++)
		if (strcmp(cfg->origins[i], origin) == 0)
			return 1;
	return 0;
}

/*
 * Whether a WebSocket upgrade with the Origin header value `hdr` may go on.
 * A browser sends the page's origin, https://host[:port] (or "null", or
 * http://): it must name one of the configured origins (wss://host:port)
 * with the host compared case-insensitively and :443 when no port is
 * given, so no other site's page can open a session with the user's
 * browser. libvarsko sends the canonical wss:// origin of its URL, which no
 * browser ever sends; it is not checked here, like an upgrade without an
 * Origin header, since the origin it signs in login and enroll is checked.
 */
static int server_upgrade_origin_ok(const struct config *cfg, const char *hdr)
{
	char url[PROTO_ORIGIN_MAX + 1], canon[PROTO_ORIGIN_MAX + 1];
	int n;

	if (strncasecmp(hdr, "wss://", 6) == 0)
		return 1;
	if (strncasecmp(hdr, "https://", 8) != 0 || strpbrk(hdr + 8, "/?#") != NULL)
		return 0;
	n = snprintf(url, sizeof url, "wss://%s", hdr + 8);
	if (n < 0 || (size_t)n >= sizeof url)
		return 0;
	return proto_origin_from_url(url, canon) == VARSKO_OK && server_origin_allowed(cfg, canon);
}

/* ---- session table (lws thread only) ----------------------------------- */

static void session_table_add(struct server *srv, struct session *s)
{
	struct session **b = &srv->table[s->id % SESSION_BUCKETS];

	s->hnext = *b;
	*b = s;
	srv->n_sessions++;
}

static void session_table_remove(struct server *srv, struct session *s)
{
	for (struct session **p = &srv->table[s->id % SESSION_BUCKETS]; *p; p = &(*p)->hnext) {
		if (*p == s) {
			*p = s->hnext;
			s->hnext = NULL;
			srv->n_sessions--;
			return;
		}
	}
}

static struct session *session_find(struct server *srv, uint64_t id)
{
	for (struct session *s = srv->table[id % SESSION_BUCKETS]; s; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

/* ---- the byte budget (lws thread) -------------------------------------- */

/*
 * Bring s->held and srv->mem_held up to date after the session's receive
 * buffer, output queue or jobs changed.
 */
static void session_held_update(struct session *s)
{
	size_t now = s->rx.cap + s->out_bytes + s->job_bytes;

	s->srv->mem_held = s->srv->mem_held - s->held + now;
	s->held = now;
}

static void session_out_free(struct session *s)
{
	struct outmsg *m, *next;

	for (m = s->out_head; m; m = next) {
		next = m->next;
		proto_wipe_free(m, sizeof *m + LWS_PRE + m->len);
	}
	s->out_head = s->out_tail = NULL;
	s->out_n = s->out_bytes = 0;
}

static void session_close_after(struct session *s, int code);

/*
 * Close s with 1013 (try again later) because it holds the most frame
 * bytes while all sessions together hold more than mem_budget_bytes. What
 * it received and what waits to be sent are freed now; its jobs in flight
 * finish, and their answers find a closing session. The close frame leaves
 * from its next WRITEABLE callback; a peer that does not read is dropped
 * after the grace period.
 */
static void session_evict(struct session *s)
{
	log_msg(LOGL_WARN, "session s%llu holds the most frame bytes (%zu) over the budget; closing with 1013",
	        (unsigned long long)s->id, s->held);
	metrics_evicted(s->srv->metrics);
	proto_buf_free(&s->rx);
	session_out_free(s);
	session_held_update(s);
	session_close_after(s, CLOSE_TRY_AGAIN);
}

/*
 * While all sessions together hold more frame bytes than the budget, close
 * the one that holds the most (not the others). Each session is closed at
 * most once, so this ends.
 */
static void server_budget_enforce(struct server *srv)
{
	while (srv->mem_held > (size_t)srv->cfg->mem_budget_bytes) {
		struct session *greedy = NULL;

		for (size_t b = 0; b < SESSION_BUCKETS; b++)
			for (struct session *s = srv->table[b]; s; s = s->hnext)
				if (s->state != SESS_CLOSING && (greedy == NULL || s->held > greedy->held))
					greedy = s;
		if (greedy == NULL)
			return;
		session_evict(greedy);
	}
}

/* ---- output ------------------------------------------------------------ */

/* Drop the connection without a close frame: for a peer that does not read. */
static void session_kill(struct session *s)
{
	s->state = SESS_CLOSING;
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* A peer that does not read what it is sent. */
static void session_drop_nonreader(struct session *s)
{
	log_msg(LOGL_WARN, "session s%llu does not read its answers; dropped", (unsigned long long)s->id);
	session_kill(s);
}

/*
 * Queue the encoded frame buf[0..len) (borrowed, copied) and ask for a
 * WRITEABLE callback. A peer whose queue is full is dropped. Returns
 * VARSKO_OK or a negative code (the session is then being killed).
 */
static int session_send_raw(struct session *s, const char *buf, size_t len)
{
	struct outmsg *m;

	if (s->out_n >= SESSION_OUT_FRAMES || s->out_bytes + len > SESSION_OUT_BYTES) {
		session_drop_nonreader(s);
		return VARSKO_ERR_RATE_LIMITED;
	}
	if ((m = malloc(sizeof *m + LWS_PRE + len)) == NULL) {
		session_kill(s);
		return VARSKO_ERR_NOMEM;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, buf, len);
	if (s->out_tail)
		s->out_tail->next = m;
	else
		s->out_head = m;
	s->out_tail = m;
	s->out_n++;
	s->out_bytes += len;
	session_held_update(s);
	lws_callback_on_writable(s->wsi);
	server_budget_enforce(s->srv);
	return VARSKO_OK;
}

static int session_send_frame(struct session *s, const struct proto_frame *f)
{
	char *json = NULL;
	size_t len = 0;
	int r;

	if ((r = proto_frame_encode(f, &json, &len)) != VARSKO_OK) {
		log_msg(LOGL_ERROR, "session s%llu: cannot encode a %s frame (%s)", (unsigned long long)s->id,
		        proto_type_name(f->type) ? proto_type_name(f->type) : "?", varsko_err_name(r));
		session_kill(s);
		return r;
	}
	r = session_send_raw(s, json, len);
	free(json);
	return r;
}

/* Every error frame leaves here, so this is where /metrics counts the refusals by code. */
static int session_send_error(struct session *s, const char *id, int err, const char *message)
{
	char *json = NULL;
	size_t len = 0;
	int r;

	metrics_refused(s->srv->metrics, err);
	if ((r = proto_error_encode(id && *id ? id : NULL, err, message, &json, &len)) != VARSKO_OK) {
		session_kill(s);
		return r;
	}
	r = session_send_raw(s, json, len);
	free(json);
	return r;
}

/* Close with `code` once the queued frames are out. */
static void session_close_after(struct session *s, int code)
{
	if (s->state == SESS_CLOSING)
		return;
	s->state = SESS_CLOSING;
	s->close_code = code;
	lws_set_timer_usecs(s->wsi, LWS_SET_TIMER_USEC_CANCEL);
	/* A peer that never lets us flush is dropped after a grace period. */
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, SESSION_CLOSE_GRACE);
	lws_callback_on_writable(s->wsi);
}

/*
 * Tell a session whose queue has drained how many pushes it missed
 * (PROTOCOL.md 12.7, "missed"), so that it fetches again what it shows.
 */
static void session_send_missed(struct session *s)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "{\"count\":%u,\"type\":\"missed\"}", s->missed);

	log_msg(LOGL_INFO, "session s%llu: told it missed %u pushes", (unsigned long long)s->id, s->missed);
	s->missed = 0;
	session_send_raw(s, buf, (size_t)n);
}

static int session_writeable(struct session *s)
{
	struct outmsg *m = s->out_head;

	if (m != NULL) {
		int n;

		s->out_head = m->next;
		if (s->out_head == NULL)
			s->out_tail = NULL;
		s->out_n--;
		s->out_bytes -= m->len;
		session_held_update(s);
		n = lws_write(s->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
		proto_wipe_free(m, sizeof *m + LWS_PRE + m->len); /* frames carry codes and certificates */
		if (n < 0)
			return -1;
		if (s->out_head == NULL && s->missed > 0 && s->state == SESS_AUTH)
			session_send_missed(s);
		if (s->out_head != NULL || s->state == SESS_CLOSING)
			lws_callback_on_writable(s->wsi);
		return 0;
	}
	if (s->state == SESS_CLOSING && s->close_code != 0) {
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code, NULL, 0);
		return -1;
	}
	return 0;
}

/* ---- jobs -------------------------------------------------------------- */

/*
 * Audit an entry that needs no answer (lws thread): counted, and written
 * with the others of its second by one job (audit_agg.h), so refusals a
 * peer causes in bulk never cost a transaction each.
 */
static void server_audit(struct server *srv, const char *event, const char *actor, const char *detail)
{
	audit_agg_add(srv->audit_agg, time(NULL), event, actor, detail);
}

/*
 * Audit a refusal by session s (event "frame_refused" or "bad_frame_close",
 * detail an error name or a close code, never the frame's bytes). Every
 * refusal's audit entry is queued here and nowhere else, so that one
 * place decides how refusals reach the audit log.
 */
static void session_audit_refusal(struct session *s, const char *event, const char *detail)
{
	server_audit(s->srv, event, s->state == SESS_AUTH ? s->device : "-", detail);
}

/* Hand a session's job to the worker. On failure the job stays the caller's. */
static int session_submit(struct session *s, struct worker_job *job)
{
	int r;

	if (s->jobs >= SESSION_JOBS_MAX)
		return VARSKO_ERR_RATE_LIMITED;
	job->session_id = s->id;
	if ((r = worker_submit(s->srv->worker, job)) != VARSKO_OK)
		return r;
	s->jobs++;
	/* A flow request's job holds its parsed frame until it is done: counted against the byte budget. */
	if (s->srv->dispatch_len > 0) {
		for (size_t i = 0; i < SESSION_JOBS_MAX; i++) {
			if (s->job_ptr[i] == NULL) {
				s->job_ptr[i] = job;
				s->job_len[i] = s->srv->dispatch_len;
				s->job_bytes += s->srv->dispatch_len;
				job->held = s->srv->dispatch_len;
				break;
			}
		}
		s->srv->dispatch_len = 0;
		session_held_update(s);
		server_budget_enforce(s->srv);
	}
	return VARSKO_OK;
}

/*
 * The session a finished job belongs to, or NULL when it has gone (the
 * answer is then dropped).
 */
static struct session *job_session(struct server *srv, const struct worker_job *job)
{
	struct session *s = session_find(srv, job->session_id);

	if (s == NULL) {
		/* Its session closed first: the bytes it held were counted on (session_closed()) until now. */
		if (job->held > 0 && srv->orphan_held >= job->held) {
			srv->orphan_held -= job->held;
			srv->mem_held -= job->held;
		}
		return NULL;
	}
	if (s->jobs > 0)
		s->jobs--;
	for (size_t i = 0; i < SESSION_JOBS_MAX; i++) {
		if (s->job_ptr[i] == job) {
			s->job_bytes -= s->job_len[i];
			s->job_ptr[i] = NULL;
			s->job_len[i] = 0;
			session_held_update(s);
			break;
		}
	}
	return s;
}

/*
 * The answer frame of a finished enroll, enroll_confirm or login, or NULL
 * when there is none to send: the session is gone or closing, the attempt
 * was refused (then logged, with `what` naming it, answered with the error
 * and closed with 1008), or no memory (the session is dropped). The frame
 * has the type and the request's id; the caller fills, sends and frees it.
 */
static struct proto_frame *attempt_answer(struct session *s, const char *id, int result, const char *what,
                                          enum proto_type type)
{
	struct proto_frame *f;

	if (s == NULL || s->state == SESS_CLOSING)
		return NULL;
	if (result != VARSKO_OK) {
		log_msg(LOGL_INFO, "session s%llu: %s refused (%s)", (unsigned long long)s->id, what,
		        varsko_err_name(result));
		session_send_error(s, id, result, NULL);
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return NULL;
	}
	if ((f = calloc(1, sizeof *f)) == NULL) {
		session_kill(s);
		return NULL;
	}
	f->type = type;
	snprintf(f->id, sizeof f->id, "%s", id);
	return f;
}

/* Audit a refusal of an enrollment step the worker decided (the detail form of store_enroll()'s own), counted. */
static void audit_enroll_refused(struct server *srv, int64_t now, int r)
{
	char detail[64];

	snprintf(detail, sizeof detail, "reason=%s", varsko_err_name(r));
	audit_agg_add(srv->audit_agg, now, "enroll_refused", "-", detail);
}

/* -- enroll -- */

struct enroll_job {
	struct worker_job base;
	struct server *srv;
	int64_t now;
	char id[PROTO_ID_MAX + 1];
	uint8_t nonce[PROTO_NONCE_LEN];
	char code[PROTO_CODE_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t sign_pk[PROTO_PK_LEN];
	uint8_t box_pk[PROTO_PK_LEN];
	char label[PROTO_ID_MAX + 1];
	uint8_t sig[PROTO_SIG_LEN];
	struct proto_cert cert; /* result */
};

/*
 * Worker thread. Origin and signature are checked here (and their refusals
 * audited here); store_enroll() checks the code and audits both its
 * refusals and the success in its own transaction.
 */
static void enroll_run(struct worker_job *job, struct store *st)
{
	struct enroll_job *j = (struct enroll_job *)job;
	const struct config *cfg = j->srv->cfg;
	struct proto_buf in;
	int r;

	proto_buf_init(&in);
	if (st == NULL) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	if (!server_origin_allowed(cfg, j->origin)) {
		r = VARSKO_ERR_AUTH_FAILED;
		goto refused;
	}
	if ((r = proto_enroll_signing_input(j->nonce, j->origin, j->code, j->sign_pk, j->box_pk, j->label, &in)) !=
	    VARSKO_OK)
		goto out;
	if (proto_verify(j->sig, &in, j->sign_pk) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto refused;
	}
	if (sodium_mprotect_readonly(j->srv->org_sk) != 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	r = store_enroll(st, j->code, j->now, (int64_t)cfg->device_validity_days * 86400, j->sign_pk, j->box_pk,
	                 j->label, j->srv->org_sk, &j->cert);
	/* The enrollment is committed by now, so a key left readable is logged, not refused. */
	server_key_lock(j->srv->org_sk, "organisation");
	goto out;
refused:
	audit_enroll_refused(j->srv, j->now, r);
out:
	sodium_memzero(j->code, sizeof j->code);
	proto_buf_free(&in);
	job->result = r;
}

static void enroll_done(struct worker_job *job)
{
	struct enroll_job *j = (struct enroll_job *)job;
	struct session *s = job_session(j->srv, job);
	struct proto_frame *f = NULL;
	char dev[LOG_ID_LEN + 1];

	if ((f = attempt_answer(s, j->id, job->result, "enrollment", PROTO_T_ENROLLED)) == NULL)
		goto out;
	f->u.enrolled.cert = j->cert;
	memcpy(f->u.enrolled.org_pk, j->srv->org_pk, PROTO_PK_LEN);
	f->u.enrolled.gateway_cert = j->srv->gateway_cert;
	log_id(j->cert.device, dev);
	log_msg(LOGL_INFO, "session s%llu: device %s enrolled, pending its confirmation", (unsigned long long)s->id,
	        dev);
	/* The confirmation is signed over this connection's nonce: keep it for that one use. */
	memcpy(s->nonce, j->nonce, sizeof s->nonce);
	snprintf(s->device, sizeof s->device, "%s", j->cert.device);
	s->state = SESS_ENROLLED;
	if (session_send_frame(s, f) != VARSKO_OK)
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
out:
	free(f);
	sodium_memzero(j, sizeof *j);
	free(j);
}

static int session_enroll(struct session *s, const struct proto_frame *f)
{
	struct enroll_job *j = calloc(1, sizeof *j);
	int r;

	if (j == NULL)
		return VARSKO_ERR_NOMEM;
	j->base.run = enroll_run;
	j->base.done = enroll_done;
	j->srv = s->srv;
	j->now = time(NULL);
	memcpy(j->id, f->id, sizeof j->id);
	memcpy(j->nonce, s->nonce, sizeof j->nonce);
	memcpy(j->code, f->u.enroll.code, sizeof j->code);
	memcpy(j->origin, f->u.enroll.origin, sizeof j->origin);
	memcpy(j->sign_pk, f->u.enroll.sign_pk, sizeof j->sign_pk);
	memcpy(j->box_pk, f->u.enroll.box_pk, sizeof j->box_pk);
	memcpy(j->label, f->u.enroll.label, sizeof j->label);
	memcpy(j->sig, f->u.enroll.sig, sizeof j->sig);
	if ((r = session_submit(s, &j->base)) != VARSKO_OK) {
		sodium_memzero(j, sizeof *j);
		free(j);
		return r;
	}
	return VARSKO_OK;
}

/* -- enroll_confirm -- */

struct confirm_job {
	struct worker_job base;
	struct server *srv;
	int64_t now;
	char id[PROTO_ID_MAX + 1];
	uint8_t nonce[PROTO_NONCE_LEN];
	char device[PROTO_ID_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t sig[PROTO_SIG_LEN];
	struct proto_cert cert; /* result */
};

/*
 * Worker thread: the device must be pending (or already confirmed, when an
 * earlier confirmation's answer was lost), and the signature by its key over
 * this connection's nonce; then store_enroll_confirm() makes it a device.
 */
static void confirm_run(struct worker_job *job, struct store *st)
{
	struct confirm_job *j = (struct confirm_job *)job;
	struct store_device dev;
	struct proto_buf in;
	int r, active = 0;

	memset(&dev, 0, sizeof dev);
	proto_buf_init(&in);
	if (st == NULL) {
		job->result = VARSKO_ERR_INTERNAL;
		return;
	}
	if (!server_origin_allowed(j->srv->cfg, j->origin)) {
		r = VARSKO_ERR_AUTH_FAILED;
		goto refused;
	}
	r = store_enrollment_get(st, j->device, &j->cert);
	if (r == VARSKO_ERR_UNKNOWN_DEVICE && store_device_get(st, j->device, &dev) == VARSKO_OK &&
	    dev.revoked_at == 0) {
		j->cert = dev.cert;
		active = 1;
		r = VARSKO_OK;
	}
	if (r != VARSKO_OK)
		goto refused;
	if ((r = proto_confirm_signing_input(j->nonce, j->origin, j->device, &in)) != VARSKO_OK)
		goto out;
	if (proto_verify(j->sig, &in, j->cert.sign_pk) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto refused;
	}
	/* store_enroll_confirm() audits its own success and refusals. */
	if (!active)
		r = store_enroll_confirm(st, j->device, j->now);
	goto out;
refused:
	audit_enroll_refused(j->srv, j->now, r);
out:
	proto_buf_free(&in);
	job->result = r;
}

static void confirm_done(struct worker_job *job)
{
	struct confirm_job *j = (struct confirm_job *)job;
	struct session *s = job_session(j->srv, job);
	struct proto_frame *f = NULL;
	char dev[LOG_ID_LEN + 1];

	if ((f = attempt_answer(s, j->id, job->result, "enrollment confirmation", PROTO_T_CONFIRMED)) == NULL)
		goto out;
	f->u.session.cert = j->cert;
	log_id(j->device, dev);
	log_msg(LOGL_INFO, "session s%llu: device %s confirmed", (unsigned long long)s->id, dev);
	if (session_send_frame(s, f) == VARSKO_OK)
		session_close_after(s, LWS_CLOSE_STATUS_NORMAL);
out:
	free(f);
	free(j);
}

static int session_confirm(struct session *s, const struct proto_frame *f)
{
	struct confirm_job *j = calloc(1, sizeof *j);
	int r;

	if (j == NULL)
		return VARSKO_ERR_NOMEM;
	j->base.run = confirm_run;
	j->base.done = confirm_done;
	j->srv = s->srv;
	j->now = time(NULL);
	memcpy(j->id, f->id, sizeof j->id);
	memcpy(j->nonce, s->nonce, sizeof j->nonce);
	memcpy(j->device, f->u.confirm.device, sizeof j->device);
	memcpy(j->origin, f->u.confirm.origin, sizeof j->origin);
	memcpy(j->sig, f->u.confirm.sig, sizeof j->sig);
	if ((r = session_submit(s, &j->base)) != VARSKO_OK) {
		free(j);
		return r;
	}
	return VARSKO_OK;
}

/* -- login and whoami -- */

struct device_job {
	struct worker_job base;
	struct server *srv;
	int64_t now;
	char id[PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1];
	/* login only */
	uint8_t nonce[PROTO_NONCE_LEN];
	char origin[PROTO_ORIGIN_MAX + 1];
	int64_t time;
	uint8_t sig[PROTO_SIG_LEN];
	struct proto_cert cert; /* result */
};

/*
 * Worker thread: the device's current record must exist, not be revoked and
 * carry a certificate that verifies now. Used by login and by whoami, so a
 * revocation or expiry takes effect on a live session's next whoami.
 */
static int device_check(struct device_job *j, struct store *st, struct store_device *dev, int *known)
{
	int r;

	*known = 0;
	if ((r = store_device_get(st, j->device, dev)) != VARSKO_OK) {
		struct proto_cert pending;

		/* Enrolled but never confirmed: the client must confirm first (PROTOCOL.md 3). */
		if (r == VARSKO_ERR_UNKNOWN_DEVICE && store_enrollment_get(st, j->device, &pending) == VARSKO_OK)
			r = VARSKO_ERR_DEVICE_PENDING;
		return r;
	}
	*known = 1;
	if (dev->revoked_at != 0)
		return VARSKO_ERR_DEVICE_REVOKED;
	return proto_cert_verify(&dev->cert, j->srv->org_pk, j->now);
}

/* Worker thread: the checks of WIRE-BEHAVIOUR.md in their order, audited either way. */
static void login_run(struct worker_job *job, struct store *st)
{
	struct device_job *j = (struct device_job *)job;
	struct store_device dev;
	struct proto_buf in;
	char detail[64];
	int r, ar, known = 0;

	memset(&dev, 0, sizeof dev);
	proto_buf_init(&in);
	if (st == NULL) {
		job->result = VARSKO_ERR_INTERNAL;
		return;
	}
	if (!server_origin_allowed(j->srv->cfg, j->origin)) {
		r = VARSKO_ERR_AUTH_FAILED;
		goto out;
	}
	if (j->time > j->now + PROTO_LOGIN_SKEW || j->time < j->now - PROTO_LOGIN_SKEW) {
		r = VARSKO_ERR_BAD_TIME;
		goto out;
	}
	if ((r = device_check(j, st, &dev, &known)) != VARSKO_OK)
		goto out;
	if ((r = proto_login_signing_input(j->nonce, j->origin, j->device, j->time, &in)) != VARSKO_OK)
		goto out;
	if (proto_verify(j->sig, &in, dev.cert.sign_pk) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	j->cert = dev.cert;
	r = VARSKO_OK;
out:
	/* Only a device id the store knows is written as the actor. */
	snprintf(detail, sizeof detail, "reason=%s", varsko_err_name(r));
	if (r != VARSKO_OK) /* counted: a peer can cause refusals in bulk (audit_agg.h) */
		audit_agg_add(j->srv->audit_agg, j->now, "login_refused", known ? j->device : "-", detail);
	else if ((ar = store_audit(st, j->now, "login_ok", j->device, "-")) != VARSKO_OK)
		r = ar; /* no login that could not be audited */
	proto_buf_free(&in);
	job->result = r;
}

static void whoami_run(struct worker_job *job, struct store *st)
{
	struct device_job *j = (struct device_job *)job;
	struct store_device dev;
	int r, known = 0;

	memset(&dev, 0, sizeof dev);
	if (st == NULL) {
		job->result = VARSKO_ERR_INTERNAL;
		return;
	}
	if ((r = device_check(j, st, &dev, &known)) == VARSKO_OK)
		j->cert = dev.cert;
	job->result = r;
}

/* Refusals that end a logged-in session: the device is no longer acceptable. */
static int device_refusal_closes(int r)
{
	return r == VARSKO_ERR_DEVICE_REVOKED || r == VARSKO_ERR_DEVICE_EXPIRED || r == VARSKO_ERR_UNKNOWN_DEVICE ||
	       r == VARSKO_ERR_BAD_CERT;
}

static void device_answer(struct session *s, struct device_job *j)
{
	struct proto_frame *f = calloc(1, sizeof *f);

	if (f == NULL) {
		session_kill(s);
		return;
	}
	f->type = PROTO_T_SESSION;
	memcpy(f->id, j->id, sizeof f->id);
	f->u.session.cert = j->cert;
	session_send_frame(s, f);
	free(f);
}

/* The login bucket key of a device id (logins_per_device_per_minute, server_limits.h). */
static void login_key(const char *device, uint8_t key[LIMITS_KEY_LEN])
{
	limits_key(LIMITS_DEVICE, device, strlen(device), key);
}

/* The keys a logged-in session is counted under (struct limits): its device and its user. */
static void session_keys(const char *device, const char *user, uint8_t dk[LIMITS_KEY_LEN], uint8_t uk[LIMITS_KEY_LEN])
{
	limits_key(LIMITS_DEVICE, device, strlen(device), dk);
	limits_key(LIMITS_USER, user, strlen(user), uk);
}

/*
 * Whether a login that the worker accepted would give its device or its
 * user more logged-in sessions than max_sessions_per_device or
 * max_sessions_per_user allow; then *why says which, for the error frame.
 * An agent (role "agent", a machine peer that reconnects after network
 * trouble while its old session may not have timed out yet) may hold as
 * many sessions per device as a user may hold.
 */
static int session_over_cap(struct server *srv, const struct device_job *j, const char **why)
{
	uint8_t dk[LIMITS_KEY_LEN], uk[LIMITS_KEY_LEN];
	int dev_cap = strcmp(j->cert.role, "agent") == 0 ? srv->cfg->max_sessions_per_user
	                                                 : srv->cfg->max_sessions_per_device;

	session_keys(j->device, j->cert.user, dk, uk);
	if (limits_count(&srv->limits, dk) >= (unsigned)dev_cap) {
		*why = "this device has as many sessions as it may hold; close one and log in again";
		return 1;
	}
	if (limits_count(&srv->limits, uk) >= (unsigned)srv->cfg->max_sessions_per_user) {
		*why = "this user has as many sessions as one user may hold; close one and log in again";
		return 1;
	}
	return 0;
}

/* Count a session that logged in under its device and user; 0, or -1 when out of memory. */
static int session_count(struct session *s)
{
	uint8_t dk[LIMITS_KEY_LEN], uk[LIMITS_KEY_LEN];

	session_keys(s->device, s->user, dk, uk);
	if (limits_inc(&s->srv->limits, dk) != 0)
		return -1;
	if (limits_inc(&s->srv->limits, uk) != 0) {
		limits_dec(&s->srv->limits, dk);
		return -1;
	}
	s->counted = 1;
	return 0;
}

static void login_done(struct worker_job *job)
{
	struct device_job *j = (struct device_job *)job;
	struct session *s = job_session(j->srv, job);
	struct proto_frame *f;
	const char *why = NULL;

	if (job->result == VARSKO_OK) { /* audited as login_ok (a commit): counted against the device's logins */
		uint8_t key[LIMITS_KEY_LEN];

		login_key(j->device, key);
		limits_login_taken(&j->srv->limits, key, j->srv->cfg->logins_per_device_per_minute, server_mono_us());
	}
	if (job->result == VARSKO_OK && s != NULL && s->state != SESS_CLOSING && session_over_cap(j->srv, j, &why)) {
		/* Accepted and audited as login_ok by the worker; refused here, and audited as such. */
		metrics_login(j->srv->metrics, 0);
		log_msg(LOGL_INFO, "session s%llu: login refused (%s): session cap", (unsigned long long)s->id,
		        varsko_err_name(VARSKO_ERR_RATE_LIMITED));
		session_send_error(s, j->id, VARSKO_ERR_RATE_LIMITED, why);
		session_audit_refusal(s, "login_refused", "reason=rate_limited");
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		goto out;
	}
	/* Decided and audited by login_run(), whether or not the connection is still there. */
	metrics_login(j->srv->metrics, job->result == VARSKO_OK);
	if ((f = attempt_answer(s, j->id, job->result, "login", PROTO_T_SESSION)) == NULL)
		goto out;
	s->state = SESS_AUTH;
	memcpy(s->device, j->device, sizeof s->device);
	memcpy(s->user, j->cert.user, sizeof s->user);
	memcpy(s->role, j->cert.role, sizeof s->role);
	memcpy(s->team, j->cert.team, sizeof s->team);
	if (session_count(s) != 0) {
		free(f);
		session_kill(s);
		goto out;
	}
	log_id(s->device, s->dev_log);
	log_msg(LOGL_INFO, "session s%llu: device %s logged in", (unsigned long long)s->id, s->dev_log);
	/* From now on the idle timer runs instead of the handshake timer. */
	s->last_rx_us = server_mono_us();
	lws_set_timer_usecs(s->wsi, (lws_usec_t)s->srv->cfg->idle_timeout * LWS_USEC_PER_SEC);
	f->u.session.cert = j->cert;
	session_send_frame(s, f);
	free(f);
out:
	sodium_memzero(j, sizeof *j);
	free(j);
}

static void whoami_done(struct worker_job *job)
{
	struct device_job *j = (struct device_job *)job;
	struct session *s = job_session(j->srv, job);

	if (s == NULL || s->state == SESS_CLOSING)
		goto out;
	if (job->result == VARSKO_OK) {
		device_answer(s, j);
		goto out;
	}
	session_send_error(s, j->id, job->result, NULL);
	if (device_refusal_closes(job->result)) {
		log_msg(LOGL_INFO, "session s%llu: device %s no longer accepted (%s)", (unsigned long long)s->id,
		        s->dev_log, varsko_err_name(job->result));
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	}
out:
	free(j);
}

static int session_device_job(struct session *s, const struct proto_frame *f)
{
	struct device_job *j = calloc(1, sizeof *j);
	int r;

	if (j == NULL)
		return VARSKO_ERR_NOMEM;
	j->srv = s->srv;
	j->now = time(NULL);
	memcpy(j->id, f->id, sizeof j->id);
	if (f->type == PROTO_T_LOGIN) {
		j->base.run = login_run;
		j->base.done = login_done;
		j->base.group = 1; /* group commit: logins arriving together share the fdatasync of their audit rows */
		memcpy(j->device, f->u.login.device, sizeof j->device);
		memcpy(j->nonce, s->nonce, sizeof j->nonce);
		memcpy(j->origin, f->u.login.origin, sizeof j->origin);
		j->time = f->u.login.time;
		memcpy(j->sig, f->u.login.sig, sizeof j->sig);
	} else {
		j->base.run = whoami_run;
		j->base.done = whoami_done;
		memcpy(j->device, s->device, sizeof j->device);
	}
	if ((r = session_submit(s, &j->base)) != VARSKO_OK) {
		free(j);
		return r;
	}
	return VARSKO_OK;
}

/* ---- incoming frames ---------------------------------------------------- */

/*
 * Answer a frame that could not be served with an error frame; the
 * connection stays unless this was one error too many.
 */
static void session_bad(struct session *s, const char *id, int err, const char *detail)
{
	/*
	 * Refusals before login share one token bucket across all
	 * connections (unauth_frames_per_second): when it is empty, the
	 * connection is closed with 1013 without an answer or an audit entry,
	 * so junk from many sockets cannot make unbounded work. It is counted
	 * in /metrics (varsko_unauth_shed_total).
	 */
	if (s->state != SESS_AUTH &&
	    !limits_take(&s->srv->limits, s->srv->cfg->unauth_frames_per_second, server_mono_us())) {
		metrics_unauth_shed(s->srv->metrics);
		session_close_after(s, CLOSE_TRY_AGAIN);
		return;
	}
	session_send_error(s, id, err, detail);
	/*
	 * Every refused frame is audited by its error name only (never its
	 * bytes); the bad-frame limit below bounds the entries per connection.
	 */
	if (s->bad_frames <= SESSION_BAD_FRAMES)
		session_audit_refusal(s, "frame_refused", varsko_err_name(err));
	if (++s->bad_frames > SESSION_BAD_FRAMES && s->state != SESS_CLOSING) {
		log_msg(LOGL_INFO, "session s%llu: too many bad frames, closing", (unsigned long long)s->id);
		session_audit_refusal(s, "bad_frame_close", "more than 16 errors");
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	}
}

/* Failures on the server's side are not held against the client. */
static int server_side_error(int err)
{
	return err == VARSKO_ERR_UNAVAILABLE || err == VARSKO_ERR_DB || err == VARSKO_ERR_IO ||
	       err == VARSKO_ERR_INTERNAL || err == VARSKO_ERR_NOMEM;
}

void server_session_refuse(struct session *s, const char *id, int err, const char *message)
{
	if (s->state == SESS_CLOSING)
		return;
	if (!server_side_error(err)) {
		session_bad(s, id, err, message);
		return;
	}
	session_send_error(s, id, err, message);
	session_audit_refusal(s, "frame_refused", varsko_err_name(err));
}

int server_session_send(struct session *s, const char *json, size_t len)
{
	return session_send_raw(s, json, len);
}

void server_session_close(struct session *s, int code)
{
	session_close_after(s, code);
}

int server_session_submit(struct session *s, struct worker_job *job)
{
	return session_submit(s, job);
}

void server_key_lock(uint8_t *sk, const char *name)
{
	if (sodium_mprotect_noaccess(sk) != 0)
		log_msg(LOGL_ERROR, "cannot make the %s key unreachable again", name);
}

struct session *server_session_find(struct server *srv, uint64_t id)
{
	return session_find(srv, id);
}

struct session *server_job_session(struct server *srv, const struct worker_job *job)
{
	return job_session(srv, job);
}

/* Whether device may log in once more now; decided on the lws thread before any work is queued. */
static int login_allowed(struct session *s, const char *device)
{
	uint8_t key[LIMITS_KEY_LEN];

	login_key(device, key);
	return limits_login_allowed(&s->srv->limits, key, s->srv->cfg->logins_per_device_per_minute,
	                            server_mono_us());
}

/*
 * Start the one enroll, enroll_confirm or login attempt of this connection,
 * or the enroll_confirm that follows a successful enroll on it.
 */
static void session_attempt(struct session *s, const struct proto_frame *f)
{
	int r, follows = s->state == SESS_ENROLLED && f->type == PROTO_T_ENROLL_CONFIRM;

	if (!follows && (s->state != SESS_NEW || s->attempted)) {
		session_bad(s, f->id, VARSKO_ERR_PROTOCOL, NULL);
		return;
	}
	if (follows && strcmp(f->u.confirm.device, s->device) != 0) {
		session_bad(s, f->id, VARSKO_ERR_PROTOCOL, "confirm the device enrolled on this connection");
		return;
	}
	s->attempted = 1;
	if (f->type == PROTO_T_LOGIN && !login_allowed(s, f->u.login.device)) {
		sodium_memzero(s->nonce, sizeof s->nonce);
		metrics_login(s->srv->metrics, 0);
		session_send_error(s, f->id, VARSKO_ERR_RATE_LIMITED, "this device has logged in too often; wait a minute");
		session_audit_refusal(s, "login_refused", "reason=rate_limited");
		session_close_after(s, CLOSE_TRY_AGAIN);
		return;
	}
	if (f->type == PROTO_T_ENROLL)
		r = session_enroll(s, f);
	else if (f->type == PROTO_T_ENROLL_CONFIRM)
		r = session_confirm(s, f);
	else
		r = session_device_job(s, f);
	/* The nonce is single-use whatever happens next (a successful enroll keeps it for its confirmation). */
	sodium_memzero(s->nonce, sizeof s->nonce);
	if (r != VARSKO_OK) {
		session_send_error(s, f->id, VARSKO_ERR_UNAVAILABLE, NULL);
		session_close_after(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return;
	}
	s->state = SESS_PENDING;
}

/*
 * A flow frame (flow.h): only for a logged-in session, and only the
 * requests; the server's own answers and pushes sent back are `protocol`.
 * Takes ownership of frame.
 */
static void session_flow_frame(struct session *s, json_t *frame, enum flow_type type, const char *id)
{
	if (s->state != SESS_AUTH) {
		json_decref(frame);
		session_bad(s, id, VARSKO_ERR_NOT_AUTHENTICATED, NULL);
		return;
	}
	if (type < FLOW_T_FIRST_REQUEST || type > FLOW_T_LAST_REQUEST) {
		json_decref(frame);
		session_bad(s, id, VARSKO_ERR_PROTOCOL, "this frame type is only sent by the server");
		return;
	}
	server_flow_request(s, frame, type, id);
}

/*
 * The requests that may be larger than max_frame, up to max_submit: submit,
 * event, the thread frames (17.3) and an attachment's part (blob_put, 17.9).
 */
static int large_frame(enum flow_type t)
{
	return t == FLOW_T_SUBMIT || t == FLOW_T_EVENT || (t >= FLOW_T_THREAD_CREATE && t <= FLOW_T_THREAD_MARK) ||
	       t == FLOW_T_BLOB_PUT;
}

/*
 * Serve one complete message. Returns 1 when it is larger than max_frame
 * and not a submit, event or thread frame (the only ones max_submit is
 * for): the caller then closes with 1009, as for any message over the
 * limit.
 */
static int session_frame(struct session *s, const char *buf, size_t len)
{
	struct proto_frame f;
	const char *detail = NULL;
	char id[PROTO_ID_MAX + 1];
	enum flow_type ftype = FLOW_T_NONE;
	json_t *frame = NULL;
	int r;

	/* One load and one dispatch on "type": a flow frame (frame), or one of proto.h's (f). */
	r = flow_frame_decode(buf, len, &frame, &ftype, &f, id, &detail);
	if (len > (size_t)s->srv->cfg->max_frame && (r != VARSKO_OK || !large_frame(ftype))) {
		json_decref(frame);
		sodium_memzero(&f, sizeof f);
		return 1;
	}
	if (r != VARSKO_OK) {
		session_bad(s, id, r, detail && *detail ? detail : NULL);
		goto out;
	}
	if (frame != NULL) {
		s->srv->dispatch_len = len;
		session_flow_frame(s, frame, ftype, id);
		s->srv->dispatch_len = 0;
		goto out;
	}
	switch (f.type) {
	case PROTO_T_PING: {
		struct proto_frame pong;

		memset(&pong, 0, sizeof pong);
		pong.type = PROTO_T_PONG;
		memcpy(pong.id, f.id, sizeof pong.id);
		session_send_frame(s, &pong);
		break;
	}
	case PROTO_T_ENROLL:
	case PROTO_T_ENROLL_CONFIRM:
	case PROTO_T_LOGIN:
		session_attempt(s, &f);
		break;
	case PROTO_T_WHOAMI:
		if (s->state != SESS_AUTH)
			session_bad(s, f.id, VARSKO_ERR_NOT_AUTHENTICATED, NULL);
		else if ((r = session_device_job(s, &f)) != VARSKO_OK)
			session_bad(s, f.id, r == VARSKO_ERR_RATE_LIMITED ? r : VARSKO_ERR_UNAVAILABLE, NULL);
		break;
	default:
		/* A known type that only the server sends. */
		session_bad(s, f.id, s->state == SESS_AUTH ? VARSKO_ERR_PROTOCOL : VARSKO_ERR_NOT_AUTHENTICATED, NULL);
		break;
	}
out:
	sodium_memzero(&f, sizeof f);
	return 0;
}

/* Close right now from inside a callback: the caller returns -1. */
static int session_close_now(struct session *s, enum lws_close_status code, const char *why)
{
	log_msg(LOGL_INFO, "session s%llu: closing (%s)", (unsigned long long)s->id, why);
	s->state = SESS_CLOSING;
	lws_close_reason(s->wsi, code, NULL, 0);
	return -1;
}

static int session_receive(struct session *s, const void *in, size_t len)
{
	/* A logged-in session may send the large flow frames (submit, event, the thread frames). */
	size_t max = (size_t)(s->state == SESS_AUTH ? s->srv->cfg->max_submit : s->srv->cfg->max_frame);
	size_t remaining;
	int large;

	if (s->state == SESS_CLOSING)
		return 0;
	if (lws_frame_is_binary(s->wsi)) {
		session_audit_refusal(s, "frame_refused", "close_1003");
		metrics_refused(s->srv->metrics, VARSKO_ERR_BAD_FRAME);
		return session_close_now(s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary message");
	}
	remaining = lws_remaining_packet_payload(s->wsi);
	if (len > max || s->rx.len > max - len || remaining > max - len - s->rx.len) {
		session_audit_refusal(s, "frame_refused", "close_1009");
		metrics_refused(s->srv->metrics, VARSKO_ERR_TOO_LARGE);
		return session_close_now(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
	}
	/*
	 * The buffer grows with what has arrived (proto_buf doubles), not with
	 * what the frame header announces: a peer that announces 16 MiB and
	 * sends a byte holds a byte. What it holds counts against the budget.
	 */
	if (proto_buf_reserve(&s->rx, len) != VARSKO_OK) {
		proto_buf_free(&s->rx);
		session_held_update(s);
		return session_close_now(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
	}
	proto_buf_add(&s->rx, in, len);
	session_held_update(s);
	server_budget_enforce(s->srv);
	if (s->state == SESS_CLOSING)
		return 0; /* this session held the most: it is closing with 1013 */
	if (!lws_is_final_fragment(s->wsi))
		return 0;

	s->last_rx_us = server_mono_us();
	if (!proto_utf8_valid(s->rx.p, s->rx.len, 0)) {
		session_audit_refusal(s, "frame_refused", "close_1007");
		metrics_refused(s->srv->metrics, VARSKO_ERR_BAD_JSON);
		return session_close_now(s, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "invalid UTF-8");
	}
	large = session_frame(s, (const char *)s->rx.p, s->rx.len);
	proto_buf_reset(&s->rx);
	/* Do not keep a large buffer around for a connection that sent one large frame. */
	if (s->rx.cap > 16384)
		proto_buf_free(&s->rx);
	session_held_update(s);
	if (large) {
		session_audit_refusal(s, "frame_refused", "close_1009");
		metrics_refused(s->srv->metrics, VARSKO_ERR_TOO_LARGE);
		return session_close_now(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
	}
	return 0;
}

/* ---- session life ------------------------------------------------------- */

static int session_open(struct server *srv, struct session *s, struct lws *wsi)
{
	struct proto_frame hello;
	int64_t accepted, left;

	memset(s, 0, sizeof *s);
	s->wsi = wsi;
	if (srv->n_sessions >= (size_t)srv->cfg->max_sessions) {
		log_msg(LOGL_WARN, "max_sessions reached; connection refused");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
		return -1;
	}
	s->srv = srv;
	s->id = ++srv->next_id;
	s->opened_us = s->last_rx_us = server_mono_us();
	/* handshake_timeout runs from the TCP accept (server_conn_created), through TLS and the upgrade, to login. */
	if ((accepted = limits_conn_accepted(&srv->limits, wsi)) != 0)
		s->opened_us = accepted;
	session_table_add(srv, s);
	randombytes_buf(s->nonce, sizeof s->nonce);

	memset(&hello, 0, sizeof hello);
	hello.type = PROTO_T_HELLO;
	hello.u.hello.version = PROTO_VERSION;
	memcpy(hello.u.hello.nonce, s->nonce, sizeof s->nonce);
	hello.u.hello.time = time(NULL);
	memcpy(hello.u.hello.org_pk, srv->org_pk, PROTO_PK_LEN);
	hello.u.hello.has_root = srv->has_root;
	memcpy(hello.u.hello.root_pk, srv->root_pk, PROTO_PK_LEN);
	session_send_frame(s, &hello);
	left = (int64_t)srv->cfg->handshake_timeout * LWS_USEC_PER_SEC - (server_mono_us() - s->opened_us);
	lws_set_timer_usecs(wsi, (lws_usec_t)(left > 0 ? left : 1));
	log_msg(LOGL_DEBUG, "session s%llu: opened (%zu open)", (unsigned long long)s->id, srv->n_sessions);
	return 0;
}

static int session_timer(struct session *s)
{
	const struct config *cfg = s->srv->cfg;
	int64_t now = server_mono_us(), limit, since;

	if (s->state == SESS_CLOSING)
		return 0;
	if (s->state == SESS_AUTH) {
		limit = (int64_t)cfg->idle_timeout * LWS_USEC_PER_SEC;
		since = now - s->last_rx_us;
		if (since >= limit && (s->out_head != NULL || lws_partial_buffered(s->wsi))) {
			/*
			 * Silent and not reading what we sent: lws stops reading
			 * from a peer it cannot write to, so this is where such a
			 * peer ends. A close frame could never reach it: drop it.
			 */
			session_drop_nonreader(s);
			return 0;
		}
		if (since >= limit)
			return session_close_now(s, LWS_CLOSE_STATUS_GOINGAWAY, "idle timeout");
	} else {
		limit = (int64_t)cfg->handshake_timeout * LWS_USEC_PER_SEC;
		since = now - s->opened_us;
		if (since >= limit)
			return session_close_now(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "handshake timeout");
	}
	lws_set_timer_usecs(s->wsi, (lws_usec_t)(limit - since));
	return 0;
}

static void session_closed(struct session *s)
{
	size_t orphans;

	if (s->srv == NULL)
		return;
	session_table_remove(s->srv, s);
	log_msg(LOGL_DEBUG, "session s%llu: closed (%zu open)", (unsigned long long)s->id, s->srv->n_sessions);
	if (s->counted) {
		uint8_t dk[LIMITS_KEY_LEN], uk[LIMITS_KEY_LEN];

		session_keys(s->device, s->user, dk, uk);
		limits_dec(&s->srv->limits, dk);
		limits_dec(&s->srv->limits, uk);
		s->counted = 0;
	}
	session_out_free(s);
	proto_buf_free(&s->rx);
	/*
	 * Jobs still in flight finish without their session, and hold their frames until then: their bytes
	 * stay counted against the budget, as the server's (job_session() takes them off), so that a peer
	 * cannot send big requests and close at once to hold more than mem_budget_bytes.
	 */
	orphans = s->job_bytes;
	s->job_bytes = 0;
	session_held_update(s);
	s->srv->orphan_held += orphans;
	s->srv->mem_held += orphans;
	sodium_memzero(s->nonce, sizeof s->nonce);
	s->srv = NULL;
}

/*
 * Only "/" carries the WebSocket, and only from an allowed Origin
 * (server_upgrade_origin_ok). Nonzero refuses the upgrade.
 */
static int session_filter(struct server *srv, struct lws *wsi)
{
	char uri[8], origin[PROTO_ORIGIN_MAX + 1];
	int n;

	if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/") != 0)
		return 1;
	if ((n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN)) <= 0)
		return 0;
	if (srv == NULL || n >= (int)sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) != n ||
	    !server_upgrade_origin_ok(srv->cfg, origin)) {
		/* Not the header's value: it is the caller's to choose and could be anything. */
		log_msg(LOGL_WARN, "WebSocket upgrade refused: its Origin header is not a configured origin");
		return 1;
	}
	return 0;
}

static int server_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv != NULL)
			worker_drain(srv->worker);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return session_filter(srv, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return session_open(srv, s, wsi);
	case LWS_CALLBACK_RECEIVE:
		return s->srv ? session_receive(s, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return s->srv ? session_writeable(s) : -1;
	case LWS_CALLBACK_TIMER:
		return s->srv ? session_timer(s) : -1;
	case LWS_CALLBACK_CLOSED:
		session_closed(s);
		return 0;
	default:
		return 0;
	}
}

/* ---- HTTP --------------------------------------------------------------- */

static int http_finish(struct lws *wsi)
{
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Add the header `name` ("name:") with the NUL-terminated value. Nonzero when it does not fit. */
static int http_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
	                                   (int)strlen(value), p, end);
}

/* Copy request header t into buf; 1 when it is there and fits in cap bytes with its NUL. */
static int http_request_header(struct lws *wsi, enum lws_token_indexes t, char *buf, int cap)
{
	int n = lws_hdr_total_length(wsi, t);

	return n > 0 && n < cap && lws_hdr_copy(wsi, buf, cap, t) == n;
}

/*
 * Send the headers at start..*p, then the body (borrowed, len bytes; NULL
 * for none) from WRITEABLE callbacks, or end the transaction now.
 */
static int http_send(struct lws *wsi, struct http_req *req, unsigned char *start, unsigned char **p, unsigned char *end,
                     const void *body, size_t len)
{
	if (lws_finalize_write_http_header(wsi, start, p, end))
		return -1;
	req->body = body;
	req->len = len;
	req->off = 0;
	if (body == NULL || len == 0) {
		req->body = NULL;
		return http_finish(wsi);
	}
	lws_callback_on_writable(wsi);
	return 0;
}

/* The plain page at / when there is no web_root. */
static int http_page(struct lws *wsi, struct http_req *req, const char *path)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
		lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
		return http_finish(wsi);
	}
	if (path == NULL || strcmp(path, "/") != 0) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return http_finish(wsi);
	}
	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain; charset=utf-8", sizeof server_page - 1, &p,
	                                end) ||
	    http_header(wsi, "x-content-type-options:", http_nosniff, &p, end) ||
	    http_header(wsi, "strict-transport-security:", http_hsts, &p, end) ||
	    http_header(wsi, "cache-control:", "no-store", &p, end))
		return -1;
	return http_send(wsi, req, start, &p, end, server_page, sizeof server_page - 1);
}

/* The status line and the headers every answer from web_root carries, with its cache policy. */
static int web_headers_add(struct lws *wsi, const struct server *srv, unsigned int status, int immutable,
                           unsigned char **p, unsigned char *end)
{
	if (lws_add_http_header_status(wsi, status, p, end) ||
	    http_header(wsi, "content-security-policy:", srv->web_csp, p, end))
		return 1;
	for (size_t i = 0; i < sizeof web_headers / sizeof web_headers[0]; i++)
		if (http_header(wsi, web_headers[i][0], web_headers[i][1], p, end))
			return 1;
	/* Assets have content-hashed names: a new release has new names, so they never change. */
	return http_header(wsi, "cache-control:", immutable ? "public, max-age=31536000, immutable" : "no-cache", p,
	                   end);
}

/*
 * Content-Length of a body of len bytes. With `sent`, lws counts the body
 * down as it is written; a HEAD answer names the length of a body it never
 * sends.
 */
static int web_content_length(struct lws *wsi, size_t len, int sent, unsigned char **p, unsigned char *end)
{
	char num[24];

	if (sent)
		return lws_add_http_header_content_length(wsi, (lws_filepos_t)len, p, end);
	snprintf(num, sizeof num, "%zu", len);
	return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (const unsigned char *)num,
	                                    (int)strlen(num), p, end);
}

/*
 * A 404 or 405 from web_root: a short plain text (not for HEAD). A 405 goes
 * out with its headers in one write, as lws_return_http_status() does: lws
 * reads a POST's body before it calls WRITEABLE, and that body is not read.
 */
static int web_status(struct lws *wsi, const struct server *srv, struct http_req *req, unsigned int status,
                      const char *text, int head)
{
	unsigned char buf[LWS_PRE + HTTP_HDR_MAX], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	size_t len = strlen(text);
	int now = status == HTTP_STATUS_METHOD_NOT_ALLOWED;

	if (web_headers_add(wsi, srv, status, 0, &p, end) ||
	    (now && http_header(wsi, "allow:", "GET, HEAD", &p, end)) ||
	    http_header(wsi, "content-type:", "text/plain; charset=utf-8", &p, end) ||
	    web_content_length(wsi, len, !head && !now, &p, end))
		return -1;
	if (!now)
		return http_send(wsi, req, start, &p, end, head ? NULL : text, len);
	if (lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < len)
		return -1;
	memcpy(p, text, len);
	p += len;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP) < 0)
		return -1;
	return http_finish(wsi);
}

/*
 * GET or HEAD of a file of web_root: 200 with the file, or with its gzip
 * variant when the client accepts gzip; 304 when If-None-Match names the
 * ETag of what would be sent. Anything else is 404 or 405.
 */
static int web_request(struct lws *wsi, const struct server *srv, struct http_req *req, const char *path)
{
	unsigned char buf[LWS_PRE + HTTP_HDR_MAX], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	char hv[HTTP_HV_MAX];
	const struct webroot_file *f;
	const struct webroot_body *b;
	int head, fresh;

	head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	if (!head && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return web_status(wsi, srv, req, HTTP_STATUS_METHOD_NOT_ALLOWED, http_not_allowed, 0);
	if ((f = webroot_lookup(srv->web, path)) == NULL)
		return web_status(wsi, srv, req, HTTP_STATUS_NOT_FOUND, http_not_found, head);
	b = &f->body;
	if (f->gz.bytes != NULL && http_request_header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, hv, sizeof hv) &&
	    webroot_accepts_gzip(hv))
		b = &f->gz;
	fresh = http_request_header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, hv, sizeof hv) &&
	        webroot_etag_match(hv, b->etag);
	if (web_headers_add(wsi, srv, fresh ? HTTP_STATUS_NOT_MODIFIED : HTTP_STATUS_OK, f->immutable, &p, end) ||
	    http_header(wsi, "etag:", b->etag, &p, end) ||
	    (f->gz.bytes != NULL && http_header(wsi, "vary:", "Accept-Encoding", &p, end)) ||
	    (b == &f->gz && http_header(wsi, "content-encoding:", "gzip", &p, end)))
		return -1;
	if (fresh)
		return http_send(wsi, req, start, &p, end, NULL, 0);
	if (http_header(wsi, "content-type:", f->type, &p, end) || web_content_length(wsi, b->len, !head, &p, end))
		return -1;
	return http_send(wsi, req, start, &p, end, head ? NULL : b->bytes, b->len);
}

static int http_request(struct lws *wsi, const struct server *srv, struct http_req *req, const char *path)
{
	if (srv == NULL || req == NULL)
		return -1;
	req->body = NULL;
	if (srv->web != NULL)
		return web_request(wsi, srv, req, path);
	return http_page(wsi, req, path);
}

/* The next piece of the body; the last one ends the transaction. One lws_write() per call. */
static int http_writeable(struct lws *wsi, struct http_req *req)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n;
	int last;

	if (req == NULL || req->body == NULL)
		return 0;
	n = req->len - req->off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	last = req->off + n == req->len;
	memcpy(buf + LWS_PRE, req->body + req->off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
		return -1;
	req->off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	req->body = NULL;
	return http_finish(wsi);
}

/* ---- connections (lws thread) -------------------------------------------- */

/*
 * A TCP connection was just accepted, before any byte of TLS: refuse it
 * (nonzero; lws closes it) when max_sessions connections are open (every
 * connection counts, logged in or not, TLS finished or not), or when its
 * source address holds max_conns_per_address. Otherwise its address is
 * counted until its wsi is destroyed (server_conn_destroyed).
 *
 * The accept budget: once this turn of the event loop has accepted
 * SERVER_ACCEPTS_TURN connections, the listener's POLLIN is switched off
 * until the next turn (server_run), which ends lws's accept loop after this
 * connection. The rest wait in the kernel's listen queue, unharmed, while
 * the established connections are served; nobody is refused for arriving
 * in a crowd.
 */
static int server_conn_filter(struct server *srv, struct lws *listener, const struct lws_filter_network_conn_args *a)
{
	struct limits *l = &srv->limits;
	uint8_t key[LIMITS_KEY_LEN];

	if (l->pending) {
		/* The previous accept never became a wsi (lws failed to adopt it). */
		limits_dec(l, l->pending_key);
		l->pending = 0;
	}
	if (++srv->accepts_turn >= SERVER_ACCEPTS_TURN && srv->listen_paused == NULL &&
	    lws_rx_flow_control(listener, 0) == 0) { /* the listener: POLLIN off (lws 4.1 applies it at once) */
		srv->listen_paused = listener;
		metrics_conn_refused(srv->metrics, METRICS_CONN_ACCEPT_BUDGET);
		lws_cancel_service(srv->ctx); /* the next turn starts at once and listens again */
	}
	if (l->n_conns >= (size_t)srv->cfg->max_sessions) {
		metrics_conn_refused(srv->metrics, METRICS_CONN_MAX_SESSIONS);
		log_msg(LOGL_WARN, "max_sessions connections open; connection refused");
		return 1;
	}
	if (a == NULL || limits_address_key((const struct sockaddr *)&a->cli_addr, a->clilen, key) != 0)
		return 0;
	if (limits_count(l, key) >= (unsigned)srv->cfg->max_conns_per_address) {
		metrics_conn_refused(srv->metrics, METRICS_CONN_ADDRESS);
		return 1;
	}
	if (limits_inc(l, key) != 0)
		return 1;
	memcpy(l->pending_key, key, sizeof key);
	l->pending = 1;
	return 0;
}

/*
 * The wsi of the connection server_conn_filter() just let in (lws creates
 * it right after the filter): it is remembered with its address, and its
 * deadline starts: handshake_timeout to finish TLS and send its first HTTP
 * request or WebSocket upgrade (session_open() carries the same deadline
 * on to the login). A connection that never starts TLS ends there too.
 */
static void server_conn_created(struct server *srv, struct lws *wsi)
{
	struct limits *l = &srv->limits;

	if (!l->pending)
		return; /* not an accepted connection of this vhost (the listener itself) */
	l->pending = 0;
	if (limits_conn_add(l, wsi, l->pending_key, server_mono_us()) != 0) {
		limits_dec(l, l->pending_key);
		return;
	}
	lws_set_timer_usecs(wsi, (lws_usec_t)srv->cfg->handshake_timeout * LWS_USEC_PER_SEC);
}

static int server_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return srv != NULL ? server_conn_filter(srv, wsi, user) : 0;
	case LWS_CALLBACK_WSI_CREATE:
		if (srv != NULL)
			server_conn_created(srv, wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Every wsi of the vhost ends here, whatever role it reached. */
		if (srv != NULL)
			limits_conn_remove(&srv->limits, wsi);
		return 0;
	case LWS_CALLBACK_TIMER:
		/*
		 * The handshake deadline of server_conn_created(), unless a
		 * request came first (lws 4.1 cannot cancel a wsi timer: its
		 * LWS_SET_TIMER_USEC_CANCEL fires the timer at once instead).
		 */
		if (user != NULL && ((struct http_req *)user)->started)
			return 0;
		if (srv != NULL)
			metrics_conn_refused(srv->metrics, METRICS_CONN_HANDSHAKE_TIMEOUT);
		return -1;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A WebSocket upgrade that did not ask for varsko.v1. */
		return 1;
	case LWS_CALLBACK_HTTP:
		/* A request arrived in time: from now on lws's keep-alive timeout applies. */
		if (user != NULL)
			((struct http_req *)user)->started = 1;
		return http_request(wsi, srv, user, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(wsi, user);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols server_protocols[] = {
        {.name = "http", .callback = server_http_cb, .per_session_data_size = sizeof(struct http_req)},
        {.name = PROTO_SUBPROTOCOL, .callback = server_ws_cb, .per_session_data_size = sizeof(struct session)},
        {.name = NULL, .callback = NULL},
};

static void server_wake(void *arg)
{
	struct server *srv = arg;

	lws_cancel_service(srv->ctx);
}

/* ---- hooks (lws thread) ------------------------------------------------------ */

struct worker *server_worker(struct server *srv)
{
	return srv ? srv->worker : NULL;
}

struct audit_agg *server_audit_agg(struct server *srv)
{
	return srv ? srv->audit_agg : NULL;
}

struct metrics *server_metrics(struct server *srv)
{
	return srv ? srv->metrics : NULL;
}

int server_admin_port(const struct server *srv)
{
	return srv ? admin_port(srv->admin) : 0;
}

/* Worker thread: every group COMMIT into the metrics (worker_set_commit_hook). */
static void server_commit_seen(void *arg, size_t batch, int64_t commit_us, int result)
{
	metrics_commit(arg, batch, commit_us, result);
}

static void server_tick_cb(lws_sorted_usec_list_t *sul)
{
	struct server *srv = lws_container_of(sul, struct server, tick_sul);
	int64_t now = time(NULL);

	for (size_t i = 0; i < srv->n_ticks; i++)
		srv->ticks[i].fn(srv->ticks[i].arg, now);
	if (!srv->stop)
		lws_sul_schedule(srv->ctx, 0, &srv->tick_sul, server_tick_cb, LWS_US_PER_SEC);
}

int server_add_tick(struct server *srv, void (*fn)(void *arg, int64_t now), void *arg)
{
	if (srv == NULL || fn == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (srv->n_ticks == SERVER_TICKS_MAX)
		return VARSKO_ERR_NOMEM;
	srv->ticks[srv->n_ticks].fn = fn;
	srv->ticks[srv->n_ticks].arg = arg;
	srv->n_ticks++;
	if (!srv->tick_scheduled) {
		srv->tick_scheduled = 1;
		lws_sul_schedule(srv->ctx, 0, &srv->tick_sul, server_tick_cb, LWS_US_PER_SEC);
	}
	return VARSKO_OK;
}

void server_set_outbox_kick(struct server *srv, void (*fn)(void *arg), void *arg)
{
	if (srv == NULL)
		return;
	srv->kick_fn = fn;
	srv->kick_arg = arg;
}

void server_outbox_kick(struct server *srv)
{
	if (srv != NULL && srv->kick_fn != NULL)
		srv->kick_fn(srv->kick_arg);
}

/* 1 when role is one of the comma-separated names in list. */
static int server_role_in(const char *role, const char *list)
{
	size_t n = strlen(role);

	if (n == 0)
		return 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t k = e ? (size_t)(e - p) : strlen(p);

		if (k == n && memcmp(p, role, n) == 0)
			return 1;
		p += k;
		if (*p == ',')
			p++;
	}
	return 0;
}

/*
 * Queue one push for a logged-in session; 1 when queued. When pushes fill
 * its queue as far as they may (a slow reader, or a burst), the push is
 * dropped and counted instead: the session is told how many it missed once
 * its queue drains (session_send_missed), and fetches again. A session that
 * reads nothing at all ends at its idle timeout (session_timer).
 */
static int push_one(struct session *s, const char *json, size_t len)
{
	if (s->out_n >= SESSION_PUSH_FRAMES || s->out_bytes + len > SESSION_PUSH_BYTES) {
		if (s->missed++ == 0)
			log_msg(LOGL_INFO, "session s%llu reads its pushes slower than they come; dropping them",
			        (unsigned long long)s->id);
		metrics_push_missed(s->srv->metrics);
		if (s->missed == UINT_MAX)
			s->missed--;
		return 0;
	}
	return session_send_raw(s, json, len) == VARSKO_OK;
}

int server_push(struct server *srv, const char *user, const char *team, const char *roles, const char *json, size_t len)
{
	int count = 0;

	if (srv == NULL || json == NULL)
		return 0;
	if (roles == NULL)
		roles = "myndighed,leder";
	for (size_t b = 0; b < SESSION_BUCKETS; b++) {
		for (struct session *s = srv->table[b]; s; s = s->hnext) {
			int match;

			if (s->state != SESS_AUTH)
				continue;
			match = (user != NULL && strcmp(s->user, user) == 0) ||
			        (team != NULL && team[0] != '\0' && strcmp(s->team, team) == 0 &&
			         server_role_in(s->role, roles));
			if (match)
				count += push_one(s, json, len);
		}
	}
	return count;
}

int server_push_users(struct server *srv, const char (*users)[PROTO_ID_MAX + 1], size_t n, uint64_t except,
                      const char *json, size_t len)
{
	int count = 0;

	if (srv == NULL || json == NULL || users == NULL)
		return 0;
	for (size_t b = 0; b < SESSION_BUCKETS; b++) {
		for (struct session *s = srv->table[b]; s; s = s->hnext) {
			size_t k;

			if (s->state != SESS_AUTH || (except != 0 && s->id == except))
				continue;
			for (k = 0; k < n && strcmp(s->user, users[k]) != 0; k++)
				;
			if (k < n)
				count += push_one(s, json, len);
		}
	}
	return count;
}

/* ---- the server ---------------------------------------------------------- */

int server_set_web(struct server *srv, const struct webroot *web)
{
	char *csp = NULL;
	int r;

	if ((r = webroot_csp((const char *const *)srv->cfg->origins, srv->cfg->n_origins, &csp)) != VARSKO_OK)
		return r;
	free(srv->web_csp);
	srv->web_csp = csp;
	srv->web = web;
	return VARSKO_OK;
}

void server_set_root(struct server *srv, const uint8_t root_pk[PROTO_PK_LEN])
{
	memcpy(srv->root_pk, root_pk, PROTO_PK_LEN);
	srv->has_root = 1;
}

int server_create(struct server **out, const struct config *cfg, struct store *store, uint8_t *org_sk, uint8_t *gw_sk,
                  const struct proto_cert *gateway_cert)
{
	struct lws_context_creation_info info;
	struct server *srv;
	int r = VARSKO_ERR_INTERNAL;

	*out = NULL;
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		return VARSKO_ERR_NOMEM;
	srv->cfg = cfg;
	srv->org_sk = org_sk;
	srv->gateway_cert = *gateway_cert;
	if (proto_cert_to_json(gateway_cert, &srv->gateway_cert_json) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	/* libsodium's Ed25519 secret key is seed || public key. */
	memcpy(srv->org_pk, org_sk + 32, PROTO_PK_LEN);
	if (sodium_mprotect_noaccess(org_sk) != 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	if (gw_sk != NULL) {
		srv->gw_sk = gw_sk;
		if (sodium_mprotect_noaccess(gw_sk) != 0) {
			r = VARSKO_ERR_CRYPTO;
			goto out;
		}
	}

	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = srv;
	info.server_string = "varskod";
	info.timeout_secs = (unsigned int)cfg->handshake_timeout;
	if ((srv->ctx = lws_create_context(&info)) == NULL) {
		log_msg(LOGL_ERROR, "cannot create the libwebsockets context");
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}

	memset(&info, 0, sizeof info);
	info.vhost_name = "varsko";
	info.port = cfg->port;
	info.iface = cfg->listen;
	info.protocols = server_protocols;
	info.user = srv;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (strchr(cfg->listen, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.ssl_cert_filepath = cfg->tls_cert;
	info.ssl_private_key_filepath = cfg->tls_key;
	info.ssl_cipher_list = SERVER_TLS12_CIPHERS;
	info.tls1_3_plus_cipher_list = SERVER_TLS13_CIPHERS;
	/* Nothing older than TLS 1.2, no compression, no renegotiation. */
	info.ssl_options_set =
	        (long)(SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
	               SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Never HTTP/2: the WebSocket runs over HTTP/1.1 only. */
	info.alpn = "http/1.1";
	info.timeout_secs = (unsigned int)cfg->handshake_timeout;
	if ((srv->vh = lws_create_vhost(srv->ctx, &info)) == NULL) {
		log_msg(LOGL_ERROR, "cannot listen on port %d (port in use, or bad tls_cert / tls_key)", cfg->port);
		r = VARSKO_ERR_TLS;
		goto out;
	}
	if ((r = metrics_new(&srv->metrics)) != VARSKO_OK)
		goto out;
	if ((r = worker_start(&srv->worker, store, server_wake, srv)) != VARSKO_OK)
		goto out;
	worker_set_commit_hook(srv->worker, server_commit_seen, srv->metrics);
	worker_set_queue_max(srv->worker, (size_t)cfg->store_queue_max);
	if ((r = audit_agg_new(&srv->audit_agg, srv->worker, store)) != VARSKO_OK ||
	    (r = server_add_tick(srv, audit_agg_tick, srv->audit_agg)) != VARSKO_OK)
		goto out;
	if ((r = server_flow_start(srv)) != VARSKO_OK)
		goto out;
	if ((r = admin_start(&srv->admin, srv)) != VARSKO_OK)
		goto out;
	*out = srv;
	srv = NULL;
	r = VARSKO_OK;
out:
	server_destroy(srv);
	return r;
}

int server_port(const struct server *srv)
{
	return lws_get_vhost_listen_port(srv->vh);
}

int server_run(struct server *srv)
{
	while (!srv->stop) {
		srv->accepts_turn = 0;
		if (srv->listen_paused != NULL) {
			(void)lws_rx_flow_control(srv->listen_paused, 1);
			srv->listen_paused = NULL;
		}
		if (lws_service(srv->ctx, 0) < 0)
			return VARSKO_ERR_INTERNAL;
	}
	return VARSKO_OK;
}

void server_stop(struct server *srv)
{
	if (srv == NULL)
		return;
	srv->stop = 1;
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
}

void server_destroy(struct server *srv)
{
	if (srv == NULL)
		return;
	/* Queued jobs still run, the counted audit entries too; their answers find live sessions or none. */
	audit_agg_tick(srv->audit_agg, 0);
	worker_stop(srv->worker);
	srv->worker = NULL;
	audit_agg_free(srv->audit_agg); /* what the last jobs counted, on this thread: the worker is gone */
	srv->audit_agg = NULL;
	if (srv->tick_scheduled)
		lws_sul_cancel(&srv->tick_sul);
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	srv->ctx = NULL;
	/* Back to the caller as it was given; keys_secret_free() wipes a key in any state anyway. */
	if (srv->org_sk && sodium_mprotect_readwrite(srv->org_sk) != 0)
		log_msg(LOGL_ERROR, "cannot make the organisation key writable again");
	if (srv->gw_sk && sodium_mprotect_readwrite(srv->gw_sk) != 0)
		log_msg(LOGL_ERROR, "cannot make the gateway key writable again");
	server_flow_free(srv);
	limits_clear(&srv->limits);
	/* After the worker (a probe's done() uses it) and the context (its vhost's connections are gone). */
	admin_free(srv->admin);
	metrics_free(srv->metrics);
	free(srv->gateway_cert_json);
	free(srv->web_csp);
	sodium_memzero(srv, sizeof *srv);
	free(srv);
}
