/*
 * flow_read.c: the requests that read (flow_request.h): inbox and mine
 * (the item lists), fetch (the envelope for the team), status (the
 * timeline), notifier_devices, overview, report_get (the leder's
 * ledelsestilsyn figures) and directory_get (the names of the
 * municipality document). An underretning the caller may
 * not see is not_found, like an unknown one (policy_sees()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "calendar.h"
#include "config.h"
#include "deadline_plan.h"
#include "envelope.h"
#include "flow_request.h"
#include "report.h"
#include "route.h"
#include "store_deadline.h"
#include "underretning.h"

static int visible(struct flow_job *j, struct store *st, const struct caller *c, const char *reference,
                   int with_envelope, struct store_underretning *u)
{
	int r;

	if ((r = store_underretning_get(st, reference, with_envelope, u)) != VARSKO_OK)
		return flow_refuse(j, r, r == VARSKO_ERR_NOT_FOUND ? "no such underretning" : NULL);
	if (policy_sees(j->type, policy_relation(&c->who, u->team, u->sender_user)))
		return VARSKO_OK;
	store_underretning_clear(u);
	return flow_refuse(j, VARSKO_ERR_NOT_FOUND, "no such underretning");
}

/* The certificate of an enrolled device (revoked or not: it signed something earlier) as JSON. */
static int device_cert(struct store *st, const char *device, json_t **out)
{
	struct store_device d;
	int r;

	*out = NULL;
	if ((r = store_device_get(st, device, &d)) != VARSKO_OK)
		return r == VARSKO_ERR_UNKNOWN_DEVICE ? VARSKO_ERR_DB : r;
	return (*out = flow_cert_json(&d.cert)) ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

/*
 * What a client verifies an underretning with, set on o: its receipt, the
 * gateway's certificate, and as "sender_cert" that of device (revoked or
 * not: it signed something earlier).
 */
static int set_signed(struct flow_job *j, struct store *st, json_t *o, const struct store_underretning *u,
                      const char *device)
{
	json_t *v;
	int r;

	if ((v = flow_load_text(u->receipt, u->receipt_len)) == NULL || json_object_set_new(o, "receipt", v) != 0)
		return VARSKO_ERR_NOMEM;
	if ((v = flow_load_text(j->srv->gateway_cert_json, strlen(j->srv->gateway_cert_json))) == NULL ||
	    json_object_set_new(o, "gateway_cert", v) != 0)
		return VARSKO_ERR_NOMEM;
	if ((r = device_cert(st, device, &v)) != VARSKO_OK)
		return r;
	return json_object_set_new(o, "sender_cert", v) != 0 ? VARSKO_ERR_NOMEM : VARSKO_OK;
}

int flow_run_items(struct flow_job *j, struct store *st, const struct caller *c)
{
	json_t *items = NULL;
	int r;

	if (j->type == FLOW_T_INBOX)
		r = store_flow_items_team(st, c->who.team, FLOW_ITEMS_MAX, &items);
	else
		r = store_flow_items_user(st, c->who.user, FLOW_ITEMS_MAX, &items);
	if (r != VARSKO_OK)
		return r;
	return flow_answer(j, json_pack("{s:o}", "items", items));
}

int flow_run_fetch(struct flow_job *j, struct store *st, const struct caller *c)
{
	struct store_underretning u;
	json_t *o = NULL, *v;
	int r;

	const char *ref = json_string_value(json_object_get(j->req, "reference"));
	unsigned rel;

	if ((r = visible(j, st, c, ref, STORE_ENV_NONE, &u)) != VARSKO_OK)
		return r;
	/*
	 * The team gets the envelope as it is now (after an omdirigering, sealed
	 * to the new team's key); the notifier the one it submitted, whose own
	 * copy is sealed to its user key (PROTOCOL.md 12.8, 16.7).
	 */
	rel = policy_relation(&c->who, u.team, u.sender_user);
	store_underretning_clear(&u);
	if ((r = store_underretning_get(st, ref, (rel & POL_REL_TEAM) ? STORE_ENV_CURRENT : STORE_ENV_ORIGINAL, &u)) !=
	    VARSKO_OK)
		return flow_refuse(j, r, r == VARSKO_ERR_NOT_FOUND ? "no such underretning" : NULL);
	r = VARSKO_ERR_NOMEM;
	if ((o = json_object()) == NULL || json_object_set_new(o, "reference", json_string(u.reference)) != 0)
		goto out;
	if ((v = flow_load_text(u.envelope, u.envelope_len)) == NULL || json_object_set_new(o, "envelope", v) != 0)
		goto out;
	/* The certificate that verifies the envelope as it is now (after an omdirigering: the re-router's). */
	if ((r = set_signed(j, st, o, &u, u.envelope_sender)) != VARSKO_OK)
		goto out;
	r = flow_answer(j, o);
	o = NULL;
out:
	json_decref(o);
	store_underretning_clear(&u);
	return r;
}

int flow_run_status(struct flow_job *j, struct store *st, const struct caller *c)
{
	struct store_underretning u;
	json_t *o = NULL, *v;
	int r;

	if ((r = visible(j, st, c, json_string_value(json_object_get(j->req, "reference")), 0, &u)) != VARSKO_OK)
		return r;
	r = VARSKO_ERR_NOMEM;
	if ((o = json_object()) == NULL)
		goto out;
	if ((r = set_signed(j, st, o, &u, u.sender_device)) != VARSKO_OK)
		goto out;
	if ((r = store_flow_events(st, u.reference, j->srv->gateway_cert_json, &v)) != VARSKO_OK)
		goto out;
	if (json_object_set_new(o, "events", v) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = flow_answer(j, o);
	o = NULL;
out:
	json_decref(o);
	store_underretning_clear(&u);
	return r;
}

int flow_run_notifier_devices(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct store_underretning u;
	struct proto_cert *certs = NULL;
	json_t *arr = NULL, *v;
	size_t n = 0;
	int r;

	if ((r = visible(j, st, c, json_string_value(json_object_get(j->req, "reference")), 0, &u)) != VARSKO_OK)
		return r;
	r = VARSKO_ERR_NOMEM;
	if ((certs = calloc(ENV_RECIPIENTS_MAX, sizeof(*certs))) == NULL || (arr = json_array()) == NULL)
		goto out;
	if ((r = store_user_devices(st, u.sender_user, now, certs, ENV_RECIPIENTS_MAX, &n)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		if ((v = flow_cert_json(&certs[i])) == NULL || json_array_append_new(arr, v) != 0)
			goto out;
	r = flow_answer(j, json_pack("{s:o}", "certs", arr));
	arr = NULL;
out:
	json_decref(arr);
	free(certs);
	store_underretning_clear(&u);
	return r;
}

struct overview_ctx {
	json_t *items;
	int64_t now;
};

static int overview_add(const struct store_deadline *d, void *arg)
{
	struct overview_ctx *c = arg;
	char due[PROTO_TIME_LEN + 1];
	const char *state;
	json_t *o;

	/* The deadlines a leder follows in the overview (flow.h); undersoegelse has its own report. */
	if (strcmp(d->kind, "vurdering") != 0 && strcmp(d->kind, "kvittering") != 0 &&
	    strcmp(d->kind, "tilbagemelding") != 0)
		return VARSKO_OK;
	if (json_array_size(c->items) >= FLOW_ITEMS_MAX)
		return VARSKO_OK;
	state = d->due_at < c->now || d->escalated_at != 0 ? "overdue" : d->warned_at != 0 ? "warned" : "open";
	proto_time_format(d->due_at, due);
	o = json_pack("{s:s, s:s, s:s, s:s}", "reference", d->reference, "kind", d->kind, "due", due, "state", state);
	if (o == NULL || json_array_append_new(c->items, o) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

int flow_run_overview(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct overview_ctx ov;
	int r;

	ov.now = now;
	if ((ov.items = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_deadline_foreach_open(st, c->who.team, overview_add, &ov)) != VARSKO_OK) {
		json_decref(ov.items);
		return r;
	}
	return flow_answer(j, json_pack("{s:o}", "items", ov.items));
}

/* ---- report_get ------------------------------------------------------------------- */

/*
 * The ledelsestilsyn figures of the caller's own team (the certificate's,
 * policy.c: only a leder with a team gets here) for the period asked for
 * (PROTOCOL.md 12.7): report.c's JSON entry of that one team, embedded as
 * written, so that it is the same text as `varskoctl report --format json`
 * gives for the team.
 */
int flow_run_report(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *from = json_string_value(json_object_get(j->req, "from"));
	const char *to = json_string_value(json_object_get(j->req, "to"));
	struct flow_text_kv kv = {"figures", NULL};
	struct report_input in;
	struct report rep;
	const char *why;
	char *text = NULL;
	size_t len;
	int r;

	report_input_init(&in);
	memset(&rep, 0, sizeof(rep));
	if ((r = report_period_choose(from, to, now, &in.from, &in.to, &why)) != VARSKO_OK) {
		r = flow_refuse(j, r, why);
		goto out;
	}
	in.now = now;
	snprintf(in.team, sizeof(in.team), "%s", c->who.team);
	if ((r = store_report_read(st, &in)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND)
			r = flow_refuse(j, r, "the team is not in the municipality document");
		goto out;
	}
	if ((r = report_compute(&in, &rep)) != VARSKO_OK || (r = report_format_team(&rep, 0, &text, &len)) != VARSKO_OK)
		goto out;
	kv.value = text;
	r = flow_answer_raw(j, json_object(), &kv, 1);
out:
	free(text);
	report_free(&rep);
	report_input_clear(&in);
	return r;
}

/* ---- directory_get ---------------------------------------------------------------- */

struct directory_ctx {
	json_t *insts, *teams;
};

static int directory_inst(const char *id, const char *name, const char *kind, void *arg)
{
	struct directory_ctx *d = arg;

	if (json_array_size(d->insts) >= FLOW_DIRECTORY_MAX)
		return VARSKO_OK;
	if (json_array_append_new(d->insts, json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "kind", kind)) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

static int directory_team(const char *id, const char *name, const char *phone, void *arg)
{
	struct directory_ctx *d = arg;
	json_t *o;

	if (json_array_size(d->teams) >= FLOW_DIRECTORY_MAX)
		return VARSKO_OK;
	if ((o = json_pack("{s:s, s:s}", "id", id, "name", name)) == NULL ||
	    (phone != NULL && phone[0] != '\0' && json_object_set_new(o, "phone", json_string(phone)) != 0) ||
	    json_array_append_new(d->teams, o) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

/*
 * The institutions and teams of the imported municipality document with
 * their names (PROTOCOL.md 12.7), and the team an akut underretning goes to
 * when the office is closed: the team of the first routing rule that
 * requires akut. Without rules (or with rules that do not load) the answer
 * has no akut_team rather than failing: the names are still worth having.
 */
int flow_run_directory(struct flow_job *j, struct store *st)
{
	const struct route_rules *rules = NULL;
	struct directory_ctx d;
	json_t *o;
	int r;

	d.insts = json_array();
	d.teams = json_array();
	if (d.insts == NULL || d.teams == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto fail;
	}
	if ((r = store_directory(st, directory_inst, directory_team, &d)) != VARSKO_OK)
		goto fail;
	if ((o = json_pack("{s:o, s:o}", "institutions", d.insts, "teams", d.teams)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (flow_load_rules(j, st, &rules) != VARSKO_OK) {
		j->message = NULL; /* not a refusal here: the answer goes without akut_team */
		rules = NULL;
	}
	for (size_t i = 0; rules != NULL && i < rules->n; i++)
		if (rules->rules[i].akut == 1) {
			if (json_object_set_new(o, "akut_team", json_string(rules->rules[i].team)) != 0) {
				json_decref(o);
				return VARSKO_ERR_NOMEM;
			}
			break;
		}
	return flow_answer(j, o);
fail:
	json_decref(d.insts);
	json_decref(d.teams);
	return r;
}

/* English texts for the refusals of event_apply() that carry no reason of their own. */
