/*
 * request.c: requests and answers over an authenticated session.
 *
 * A request carries a fresh "id" and exactly one is outstanding at a time
 * (every call blocks until its answer). What else arrives meanwhile is
 * sorted here: pushes (flow frames without an id) are queued for
 * varsko_watch(), stray answers are skipped (a few at most), and an error
 * frame is the answer when it echoes our id or carries none (the server
 * could not read ours).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define REQ_MAX_SKIPPED 16 /* unrelated answers tolerated while waiting for ours */

void conn_frame_clear(struct conn_frame *f)
{
	json_decref(f->flow);
	free(f->pf);
	memset(f, 0, sizeof(*f));
}

int conn_send_text(struct varsko_conn *c, const char *text, size_t len, int64_t deadline)
{
	int r = wsc_send(c->w, text, len, deadline);

	if (r != VARSKO_OK)
		detail_set(c->detail, sizeof(c->detail), wsc_detail(c->w));
	c->last_send_ms = wsc_now_ms();
	return r;
}

static int is_push(enum flow_type t)
{
	return t == FLOW_T_PUSHED || t == FLOW_T_NEW_UNDERRETNING || t == FLOW_T_FRIST || t == FLOW_T_THREAD_MESSAGE ||
	       t == FLOW_T_THREAD_CHANGED || t == FLOW_T_THREAD_MARK_PUSH || t == FLOW_T_ALERT || t == FLOW_T_MISSED;
}

/* Queue a push (text transferred); the oldest is dropped when the queue is full. */
static void push_add(struct varsko_conn *c, char *text, size_t len)
{
	struct conn_push *p;

	if (c->push_tail == NULL)
		c->push_tail = &c->push_head;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		proto_wipe_free(text, len + 1);
		return;
	}
	p->text = text;
	p->len = len;
	*c->push_tail = p;
	c->push_tail = &p->next;
	if (++c->n_push > CONN_PUSH_MAX) {
		struct conn_push *old = c->push_head;

		c->push_head = old->next;
		if (c->push_head == NULL)
			c->push_tail = &c->push_head;
		proto_wipe_free(old->text, old->len + 1);
		free(old);
		c->n_push--;
	}
}

static struct conn_push *push_pop(struct varsko_conn *c)
{
	struct conn_push *p = c->push_head;

	if (p == NULL)
		return NULL;
	c->push_head = p->next;
	if (c->push_head == NULL)
		c->push_tail = &c->push_head;
	c->n_push--;
	return p;
}

void conn_push_free_all(struct varsko_conn *c)
{
	struct conn_push *p;

	while ((p = push_pop(c)) != NULL) {
		proto_wipe_free(p->text, p->len + 1);
		free(p);
	}
}

/*
 * Classify one message: a flow frame or a proto.h frame, by one load and one
 * dispatch on its "type" (flow_frame_decode).
 */
static int classify(struct varsko_conn *c, char *text, size_t len, struct conn_frame *out)
{
	const char *why = NULL;

	if ((out->pf = calloc(1, sizeof(*out->pf))) == NULL)
		return VARSKO_ERR_NOMEM;
	if (flow_frame_decode(text, len, &out->flow, &out->ft, out->pf, out->id, &why) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "bad frame from the server: %s", why != NULL ? why : "?");
		return VARSKO_ERR_PROTOCOL;
	}
	if (out->flow != NULL) {
		free(out->pf);
		out->pf = NULL;
	}
	return VARSKO_OK;
}

int conn_next(struct varsko_conn *c, int64_t deadline, int want_push, struct conn_frame *out)
{
	int r;
	char *text = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if ((r = wsc_recv_raw(c->w, &text, &len, deadline)) != VARSKO_OK) {
			detail_set(c->detail, sizeof(c->detail), wsc_detail(c->w));
			return r;
		}
		if ((r = classify(c, text, len, out)) != VARSKO_OK) {
			conn_frame_clear(out);
			proto_wipe_free(text, len + 1);
			return r;
		}
		if (out->flow != NULL && is_push(out->ft) && !want_push) {
			conn_frame_clear(out);
			push_add(c, text, len);
			text = NULL;
			continue;
		}
		proto_wipe_free(text, len + 1);
		return VARSKO_OK;
	}
}

int conn_request(struct varsko_conn *c, json_t *req, enum flow_type expect, json_t **ans)
{
	int r = VARSKO_ERR_INTERNAL;
	struct conn_frame f = {0};
	char id[PROTO_ID_MAX + 1], *text = NULL;
	size_t len = 0;
	const char *type = flow_type_name(expect);
	int64_t deadline = wsc_now_ms() + CONN_TIMEOUT_MS;

	*ans = NULL;
	c->detail[0] = '\0';
	snprintf(id, sizeof(id), "r%u", c->next_id++);
	if (json_object_set_new(req, "id", json_string(id)) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = flow_frame_dump(req, &text, &len)) != VARSKO_OK)
		goto out;
	if ((r = conn_send_text(c, text, len, deadline)) != VARSKO_OK)
		goto out;
	for (int skipped = 0;; skipped++) {
		if (skipped > REQ_MAX_SKIPPED) {
			snprintf(c->detail, sizeof(c->detail), "no answer among the server's frames");
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
		conn_frame_clear(&f);
		if ((r = conn_next(c, deadline, 0, &f)) != VARSKO_OK)
			goto out;
		if (f.pf != NULL && f.pf->type == PROTO_T_ERROR && (f.id[0] == '\0' || strcmp(f.id, id) == 0)) {
			r = client_server_error(c->detail, sizeof(c->detail), f.pf);
			goto out;
		}
		if (strcmp(f.id, id) != 0)
			continue;
		if (f.flow == NULL || f.ft != expect) {
			snprintf(c->detail, sizeof(c->detail), "the server answered with another frame than %s",
			         type != NULL ? type : "expected");
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
		break;
	}
	*ans = f.flow;
	f.flow = NULL;
	r = VARSKO_OK;
out:
	conn_frame_clear(&f);
	proto_wipe_free(text, len + 1);
	return r;
}

/* A pushed event must verify before anyone is told about it. */
static int check_pushed(struct varsko_conn *c, const json_t *o)
{
	struct flow_event ev;
	struct proto_cert cert;
	int r;

	if (flow_event_from_json(json_object_get(o, "event"), &ev) != VARSKO_OK ||
	    cert_from_obj(json_object_get(o, "cert"), &cert) != VARSKO_OK ||
	    strcmp(ev.reference, json_string_value(json_object_get(o, "reference"))) != 0) {
		snprintf(c->detail, sizeof(c->detail), "a pushed event is malformed");
		return VARSKO_ERR_BAD_FRAME;
	}
	if ((r = event_check(&ev, &cert, c->org_pk)) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "a pushed %s event for %s does not verify",
		         flow_event_kind_name(ev.kind), ev.reference);
	return r;
}

static int ping(struct varsko_conn *c, int64_t deadline)
{
	struct proto_frame f;
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(&f, 0, sizeof(f));
	f.type = PROTO_T_PING;
	snprintf(f.id, sizeof(f.id), "p%u", c->next_id++);
	if ((r = proto_frame_encode(&f, &text, &len)) != VARSKO_OK)
		return r;
	r = conn_send_text(c, text, len, deadline);
	proto_wipe_free(text, len + 1);
	return r;
}

int varsko_watch(struct varsko_conn *c, int64_t timeout_ms, char **frame_json)
{
	int r = VARSKO_ERR_INTERNAL;
	struct conn_push *p = NULL;
	struct conn_frame f = {0};
	int64_t now, deadline, until;
	size_t len = 0;

	*frame_json = NULL;
	c->detail[0] = '\0';
	now = wsc_now_ms();
	deadline = timeout_ms < 0 ? INT64_MAX : now + timeout_ms;
	if ((p = push_pop(c)) != NULL) {
		r = classify(c, p->text, p->len, &f);
		if (r == VARSKO_OK && f.flow == NULL)
			r = VARSKO_ERR_INTERNAL;
		if (r != VARSKO_OK)
			goto out;
	} else {
		for (;;) {
			now = wsc_now_ms();
			if (now >= deadline) {
				snprintf(c->detail, sizeof(c->detail), "nothing was pushed in time");
				r = VARSKO_ERR_TIMEOUT;
				goto out;
			}
			/* Wake up in time to ping: the server closes idle sessions. */
			until = c->last_send_ms + CONN_PING_MS;
			if (until <= now) {
				if ((r = ping(c, now + VARSKO_TIMEOUT_SECONDS * 1000)) != VARSKO_OK)
					goto out;
				continue;
			}
			conn_frame_clear(&f);
			r = conn_next(c, until < deadline ? until : deadline, 1, &f);
			if (r == VARSKO_ERR_TIMEOUT)
				continue;
			if (r != VARSKO_OK)
				goto out;
			if (f.pf != NULL && f.pf->type == PROTO_T_ERROR) {
				r = client_server_error(c->detail, sizeof(c->detail), f.pf);
				goto out;
			}
			if (f.flow != NULL && is_push(f.ft))
				break;
			/* pongs and stray answers */
		}
	}
	if (f.ft == FLOW_T_PUSHED && (r = check_pushed(c, f.flow)) != VARSKO_OK)
		goto out;
	r = flow_frame_dump(f.flow, frame_json, &len);
out:
	if (p != NULL) {
		proto_wipe_free(p->text, p->len + 1);
		free(p);
	}
	conn_frame_clear(&f);
	return r;
}
