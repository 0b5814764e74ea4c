/*
 * admin.c: the admin listener of varskod (admin.h): /healthz and /metrics
 * on a plain-HTTP vhost of the server's lws context, and the store probe
 * that feeds them.
 *
 * A request never waits for the database: it renders the counters
 * (metrics.h) and the last probe's snapshot, which the lws thread keeps in
 * struct admin. The probe is one worker job at a time, queued from the
 * server's one-second tick every ADMIN_PROBE_SECONDS; it only reads (no
 * write lock is taken, nothing is written), so probing never competes with
 * the submissions for the store.
 *
 * An answer leaves in pieces of ADMIN_CHUNK bytes, one lws_write() per
 * WRITEABLE callback, from a buffer with LWS_PRE headroom.
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "server_flow.h"
#include "store.h"
#include "store_deadline.h"
#include "worker.h"

#define ADMIN_CHUNK     4096 /* bytes per lws_write() */
#define ADMIN_TEAMS_MAX 4096 /* teams in a probe; a municipality has a handful */
#define ADMIN_BODY_MAX  (4u * 1024u * 1024u)

struct admin {
	struct server *srv;    /* borrowed: it owns us */
	struct lws_vhost *vh;  /* destroyed with the lws context */
	struct metrics_store snap; /* the last probe's results (lws thread) */
	int busy;              /* a probe job is queued or running */
	int64_t last_probe_us; /* when the last one was queued (metrics_mono_us) */
	int failing;           /* the last probe failed (logged once per run of failures) */
};

/* Per connection; lws allocates it zeroed. One answer at a time (HTTP/1.1 keep-alive reuses it). */
struct admin_req {
	struct proto_buf body; /* the answer's body while it is being written */
	size_t off;            /* bytes of body written */
};

/* ---- the store probe ------------------------------------------------------ */

struct probe_job {
	struct worker_job base; /* first: the worker hands back &base */
	struct admin *a;
	int64_t now;
	struct metrics_store res;
};

/* Worker thread: the team with id, added (zero counts) when it is not there yet. */
static struct metrics_team *probe_team(struct probe_job *j, const char *id)
{
	struct metrics_team *t;
	void *arr = j->res.teams;

	for (size_t i = 0; i < j->res.n_teams; i++)
		if (strcmp(j->res.teams[i].team, id) == 0)
			return &j->res.teams[i];
	if (strlen(id) > PROTO_ID_MAX ||
	    proto_array_grow(&arr, j->res.n_teams, &j->res.teams_cap, sizeof(*t), ADMIN_TEAMS_MAX) != VARSKO_OK)
		return NULL;
	j->res.teams = arr;
	t = &j->res.teams[j->res.n_teams++];
	snprintf(t->team, sizeof(t->team), "%s", id);
	return t;
}

static int probe_team_row(const char *id, const char *name, void *arg)
{
	(void)name;
	return probe_team(arg, id) != NULL ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

static int probe_count_row(const struct store_deadline_count *c, void *arg)
{
	struct metrics_team *t = probe_team(arg, c->team);

	if (t == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t k = 0; k < METRICS_KINDS; k++) {
		if (strcmp(c->kind, metrics_kinds[k]) == 0) {
			t->due[k] = c->due;
			t->warned[k] = c->warned;
			t->escalated[k] = c->escalated;
			t->overdue[k] = c->overdue;
		}
	}
	return VARSKO_OK;
}

/*
 * Worker thread: read everything /healthz and /metrics need. Every step is
 * a prepared read; the first that fails is the result (an unreadable or
 * damaged database, an I/O error), and so is a store that no longer takes
 * writes.
 */
static void probe_run(struct worker_job *job, struct store *st)
{
	struct probe_job *j = (struct probe_job *)job;
	uint8_t head[32];
	uint64_t seq = 0;
	int r;

	if (st == NULL) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	j->res.writable = store_writable(st);
	if ((r = store_outbox_stats(st, &j->res.outbox_depth, &j->res.outbox_oldest, &j->res.outbox_dead)) != VARSKO_OK ||
	    (r = store_audit_head(st, &seq, head)) != VARSKO_OK ||
	    (r = store_team_foreach(st, probe_team_row, j)) != VARSKO_OK ||
	    (r = store_deadline_counts(st, j->now, probe_count_row, j)) != VARSKO_OK)
		goto out;
	j->res.audit_rows = seq > INT64_MAX ? INT64_MAX : (int64_t)seq;
out:
	j->res.probed = 1;
	j->res.result = r;
	j->res.probed_mono_us = metrics_mono_us();
	job->result = r;
}

/* lws thread: keep what the probe found. A failed probe keeps the last good numbers and says it failed. */
static void probe_done(struct worker_job *job)
{
	struct probe_job *j = (struct probe_job *)job;
	struct admin *a = j->a;

	a->busy = 0;
	if (j->res.result == VARSKO_OK) {
		metrics_store_clear(&a->snap);
		a->snap = j->res;
		memset(&j->res, 0, sizeof(j->res)); /* transferred */
		if (a->failing)
			log_msg(LOGL_INFO, "admin: the store answers again");
		a->failing = 0;
	} else {
		a->snap.probed = 1;
		a->snap.result = j->res.result;
		a->snap.writable = j->res.writable;
		a->snap.probed_mono_us = j->res.probed_mono_us;
		if (!a->failing)
			log_msg(LOGL_WARN, "admin: the store probe failed (%s); /healthz fails",
			        varsko_err_name(j->res.result));
		a->failing = 1;
	}
	metrics_store_clear(&j->res);
	free(j);
}

static void probe_submit(struct admin *a)
{
	struct probe_job *j;

	if (a->busy || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->base.run = probe_run;
	j->base.done = probe_done;
	j->a = a;
	j->now = time(NULL);
	a->last_probe_us = metrics_mono_us();
	if (worker_submit(a->srv->worker, &j->base) != VARSKO_OK) {
		free(j);
		return;
	}
	a->busy = 1;
}

/* lws thread, about once a second. A probe still out means a busy worker: /healthz sees its age grow. */
static void admin_tick(void *arg, int64_t now)
{
	struct admin *a = arg;

	(void)now;
	if (!a->busy && metrics_mono_us() - a->last_probe_us >= (int64_t)ADMIN_PROBE_SECONDS * 1000000)
		probe_submit(a);
}

/* ---- HTTP ------------------------------------------------------------------ */

static void admin_view(const struct admin *a, struct metrics_view *v)
{
	const struct server *srv = a->srv;

	memset(v, 0, sizeof(*v));
	v->now = time(NULL);
	v->mono_us = metrics_mono_us();
	v->sessions = srv->n_sessions;
	v->connections = srv->limits.n_conns;
	v->mem_held = srv->mem_held;
	v->mem_budget = (size_t)srv->cfg->mem_budget_bytes;
	for (size_t b = 0; b < SERVER_SESSION_BUCKETS; b++)
		for (const struct session *s = srv->table[b]; s; s = s->hnext)
			v->sessions_logged_in += s->state == SESS_AUTH;
	v->store = &a->snap;
	v->store_queue = worker_depth(srv->worker);
	v->store_queue_max = (size_t)srv->cfg->store_queue_max;
}

static int admin_finish(struct lws *wsi)
{
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A bare status answer (404, 405, 500). */
static int admin_status(struct lws *wsi, unsigned int code)
{
	lws_return_http_status(wsi, code, NULL);
	return admin_finish(wsi);
}

/* Send the headers of a `code` answer whose body is in req->body, and ask to write the body. */
static int admin_answer(struct lws *wsi, struct admin_req *req, unsigned int code, const char *ctype)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	static const char nosniff[] = "nosniff", nocache[] = "no-store";

	if (lws_add_http_common_headers(wsi, code, ctype, req->body.len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
	                                (const unsigned char *)nosniff, (int)sizeof(nosniff) - 1, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)nocache,
	                                (int)sizeof(nocache) - 1, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	req->off = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int admin_request(struct lws *wsi, struct server *srv, struct admin_req *req, const char *path)
{
	struct admin *a = srv != NULL ? srv->admin : NULL;
	struct metrics_view v;
	int healthy = 0;

	if (req == NULL || a == NULL)
		return -1;
	proto_buf_free(&req->body);
	proto_buf_init_max(&req->body, ADMIN_BODY_MAX);
	/* Only GET: lws keeps the request line's path in the token named for its method. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return admin_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
	if (path == NULL || (strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0))
		return admin_status(wsi, HTTP_STATUS_NOT_FOUND);
	admin_view(a, &v);
	if (strcmp(path, "/metrics") == 0) {
		if (metrics_text(srv->metrics, &v, &req->body) != VARSKO_OK) {
			proto_buf_free(&req->body);
			return admin_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
		}
		return admin_answer(wsi, req, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
	}
	{
		const struct config *cfg = srv->cfg;
		struct metrics_limits lim = {cfg->health_mqtt_grace_seconds, cfg->health_outbox_max,
		                             ADMIN_STALE_SECONDS};

		if (metrics_health(srv->metrics, &v, &lim, &req->body, &healthy) != VARSKO_OK) {
			proto_buf_free(&req->body);
			return admin_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
		}
	}
	return admin_answer(wsi, req, healthy ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json");
}

static int admin_writeable(struct lws *wsi, struct admin_req *req)
{
	unsigned char buf[LWS_PRE + ADMIN_CHUNK];
	size_t n;
	int last;

	if (req == NULL || req->body.p == NULL)
		return 0;
	n = req->body.len - req->off;
	if (n > ADMIN_CHUNK)
		n = ADMIN_CHUNK;
	last = req->off + n == req->body.len;
	memcpy(buf + LWS_PRE, req->body.p + req->off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	req->off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	proto_buf_free(&req->body);
	return admin_finish(wsi);
}

static int admin_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	struct admin_req *req = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return 1; /* no WebSocket here */
	case LWS_CALLBACK_HTTP:
		return admin_request(wsi, srv, req, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return admin_writeable(wsi, req);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (req != NULL)
			proto_buf_free(&req->body);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols admin_protocols[] = {
        {.name = "http", .callback = admin_http_cb, .per_session_data_size = sizeof(struct admin_req)},
        {.name = NULL, .callback = NULL},
};

/* ---- start and stop ------------------------------------------------------- */

int admin_start(struct admin **out, struct server *srv)
{
	const struct config *cfg = srv->cfg;
	struct lws_context_creation_info info;
	struct admin *a;
	int r;

	*out = NULL;
	if (cfg->admin_port == 0) {
		log_msg(LOGL_INFO, "admin: no admin listener (admin_port = 0)");
		return VARSKO_OK;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VARSKO_ERR_NOMEM;
	a->srv = srv;
	memset(&info, 0, sizeof(info));
	info.vhost_name = "varsko-admin";
	info.port = cfg->admin_port;
	info.iface = cfg->admin_listen;
	info.protocols = admin_protocols;
	/* Plain HTTP: no certificate and no DO_SSL_GLOBAL_INIT on this vhost, so lws sets up no TLS for it. */
	if (strchr(cfg->admin_listen, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 5;
	info.keepalive_timeout = 5;
	if ((a->vh = lws_create_vhost(srv->ctx, &info)) == NULL) {
		log_msg(LOGL_ERROR, "cannot listen on admin_port %d (port in use, or admin_listen not an address here)",
		        cfg->admin_port);
		free(a);
		return VARSKO_ERR_IO;
	}
	if ((r = server_add_tick(srv, admin_tick, a)) != VARSKO_OK) {
		free(a); /* the vhost goes with the context */
		return r;
	}
	probe_submit(a);
	log_msg(LOGL_INFO, "admin: /healthz and /metrics on port %d (plain HTTP)", admin_port(a));
	*out = a;
	return VARSKO_OK;
}

int admin_port(const struct admin *a)
{
	return a != NULL ? lws_get_vhost_listen_port(a->vh) : 0;
}

void admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	metrics_store_clear(&a->snap);
	free(a);
}
