/*
 * flow_submit.c: the notifier's requests (flow_request.h): route (which
 * team, and its signed roster), roster (a team's roster, to re-route) and
 * submit (the envelope checked, stored with its deadlines and signed
 * receipt, published through the outbox). PROTOCOL.md 12.7, docs/FLOW.md
 * steps 2 and 4. Who may: policy.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "calendar.h"
#include "config.h"
#include "deadline_plan.h"
#include "envelope.h"
#include "chains.h"
#include "flow_request.h"
#include "route.h"
#include "underretning.h"

/* flow_request.h */
int flow_load_rules(struct flow_job *j, struct store *st, const struct route_rules **out)
{
	struct server *srv = j->srv;
	struct route_rules *rules = NULL;
	const char *detail = NULL;
	char *doc = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = store_routing_doc(st, &doc, &len)) != VARSKO_OK)
		return flow_refuse(j, r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_UNAVAILABLE : r,
		                   r == VARSKO_ERR_NOT_FOUND ? "no routing rules have been imported" : NULL);
	if (srv->rules != NULL && srv->rules_doc_len == len && memcmp(srv->rules_doc, doc, len) == 0) {
		free(doc);
		*out = srv->rules;
		return VARSKO_OK;
	}
	if ((rules = malloc(sizeof(*rules))) == NULL) {
		free(doc);
		return VARSKO_ERR_NOMEM;
	}
	if ((r = route_load(doc, len, rules, &detail)) != VARSKO_OK) {
		log_msg(LOGL_ERROR, "the stored routing rules do not load (%s)", varsko_err_name(r));
		free(rules);
		free(doc);
		return flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the stored routing rules cannot be used");
	}
	free(srv->rules);
	free(srv->rules_doc);
	srv->rules = rules;
	srv->rules_doc = doc;
	srv->rules_doc_len = len;
	*out = rules;
	return VARSKO_OK;
}

/* Route header h of a fagperson (cert) at now: team and whether it is outside office hours. */
static int decide(struct flow_job *j, struct store *st, const struct caller *c, const struct uh_header *h, int64_t now,
                  char team[PROTO_ID_MAX + 1], int *outside)
{
	const struct route_rules *rules;
	char district[PROTO_NAME_MAX + 1];
	int r;

	/* FLOW.md step 4: the institution exists, and is one of the sender's. */
	if ((r = store_institution_district(st, h->institution, district, sizeof(district))) != VARSKO_OK)
		return flow_refuse(j, r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_BAD_INPUT : r,
		                   r == VARSKO_ERR_NOT_FOUND ? "unknown institution" : NULL);
	if (!policy_institution(&c->who, h->institution))
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the institution is not one of this user's institutions");
	if ((r = flow_load_rules(j, st, &rules)) != VARSKO_OK)
		return r;
	if ((r = route_decide(rules, h, district, now, team)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND)
			return flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "no routing rule matches");
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the routing header cannot be routed");
	}
	*outside = rules->has_office_hours ? cal_in_office_hours(now, &rules->hours) != 1 : 0;
	return VARSKO_OK;
}

#ifdef VARSKO_TEST_GHOST_ROSTER
/*
 * TEST BUILD ONLY (varskod-ghost, built beside varskod and never installed):
 * a modified server that adds a device of its own to every roster it hands
 * out, certified by the organisation key it holds. The device's keys come
 * from a fixed seed, so a test can tell whether anything was sealed to it
 * (tests/integration/test_ghost_roster.py). The ordinary varskod has none
 * of this code.
 */
#define GHOST_SEED_TEXT "varsko-test-ghost-device"
static int ghost_add(struct flow_roster *ro, const uint8_t *org_sk, int64_t now)
{
	uint8_t seed[32], sk[64], box_sk[32];
	struct proto_cert *g;
	int r;

	if (ro->n >= FLOW_ROSTER_MAX)
		return VARSKO_OK;
	g = &ro->certs[ro->n];
	memset(g, 0, sizeof(*g));
	crypto_generichash(seed, sizeof seed, (const uint8_t *)GHOST_SEED_TEXT, strlen(GHOST_SEED_TEXT), NULL, 0);
	if (crypto_sign_seed_keypair(g->sign_pk, sk, seed) != 0 || crypto_box_seed_keypair(g->box_pk, box_sk, seed) != 0)
		return VARSKO_ERR_CRYPTO;
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(box_sk, sizeof box_sk);
	g->version = PROTO_VERSION;
	g->serial = 4000000000u;
	snprintf(g->user, sizeof g->user, "ghost");
	snprintf(g->name, sizeof g->name, "Ghost");
	snprintf(g->role, sizeof g->role, "myndighed");
	memcpy(g->team, ro->team, sizeof g->team);
	g->not_before = now - 60;
	g->not_after = now + 86400;
	if ((r = proto_cert_sign(g, org_sk)) == VARSKO_OK)
		ro->n++;
	return r;
}
#endif

/* The signed roster of team at now (ro on the heap: it is large). */
static int signed_roster(struct flow_job *j, struct store *st, const char *team, int64_t now, struct flow_roster *ro)
{
	int r;

	if ((r = store_team_roster(st, team, now, ro)) != VARSKO_OK)
		return flow_refuse(j, r,
		                   r == VARSKO_ERR_NOT_FOUND   ? "unknown team"
		                   : r == VARSKO_ERR_TOO_LARGE ? "the team has more devices than a roster holds"
		                                               : NULL);
	if (ro->n == 0)
		return flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the team has no enrolled devices yet");
	if (sodium_mprotect_readonly(j->srv->org_sk) != 0)
		return VARSKO_ERR_CRYPTO;
#ifdef VARSKO_TEST_GHOST_ROSTER
	if ((r = ghost_add(ro, j->srv->org_sk, now)) != VARSKO_OK) {
		server_key_lock(j->srv->org_sk, "organisation");
		return r;
	}
#endif
	r = flow_roster_sign(ro, j->srv->org_sk);
	server_key_lock(j->srv->org_sk, "organisation");
	return r;
}

static int answer_routed(struct flow_job *j, const struct flow_roster *ro)
{
	json_t *o = json_object(), *rj = NULL;
	int r;

	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = flow_roster_to_json(ro, &rj)) != VARSKO_OK) {
		json_decref(o);
		return r;
	}
	if (json_object_set_new(o, "team", json_string(ro->team)) != 0 || json_object_set_new(o, "roster", rj) != 0) {
		json_decref(o);
		return VARSKO_ERR_NOMEM;
	}
	return flow_answer(j, o);
}

/*
 * An underretning the caller may see in this request (policy_sees(): the
 * current team's myndighed and leder; for status also the notifier).
 * Everything else is not_found, exactly like an unknown reference.
 */
/* ---- the requests (worker thread) ------------------------------------------------ */

int flow_run_route(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct flow_roster *ro = NULL;
	struct uh_header h;
	char team[PROTO_ID_MAX + 1];
	char *text;
	size_t len;
	int r, outside;

	if ((text = flow_member_text(j->req, "header", &len)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = uh_header_from_json(text, len, &h);
	free(text);
	if (r != VARSKO_OK)
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "the routing header is malformed");
	if ((r = decide(j, st, c, &h, now, team, &outside)) != VARSKO_OK)
		return r;
	if ((ro = malloc(sizeof(*ro))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = signed_roster(j, st, team, now, ro)) == VARSKO_OK)
		r = answer_routed(j, ro);
	free(ro);
	return r;
}

int flow_run_roster(struct flow_job *j, struct store *st, int64_t now)
{
	struct flow_roster *ro;
	int r;

	if ((ro = malloc(sizeof(*ro))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = signed_roster(j, st, json_string_value(json_object_get(j->req, "team")), now, ro)) == VARSKO_OK)
		r = answer_routed(j, ro);
	free(ro);
	return r;
}

/* The answer to a submission: {"type":"receipt","receipt":..,"duplicate":..}. */
static int answer_receipt(struct flow_job *j, json_t *receipt, int duplicate)
{
	json_t *o = json_object();

	if (o == NULL || receipt == NULL || json_object_set_new(o, "receipt", receipt) != 0) {
		if (o == NULL || receipt == NULL)
			json_decref(receipt);
		json_decref(o);
		return VARSKO_ERR_NOMEM;
	}
	if (json_object_set_new(o, "duplicate", json_boolean(duplicate)) != 0) {
		json_decref(o);
		return VARSKO_ERR_NOMEM;
	}
	return flow_answer(j, o);
}

/* The receipt's deadline of kind `kind` from the plan (0 when the plan has none). */
static int64_t plan_due(const struct deadline_plan_row *rows, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].kind, kind) == 0)
			return rows[i].due_at;
	return 0;
}

/* Everything flow_run_submit() holds, so that one exit frees it all. */
struct submit_state {
	struct env_envelope *env;
	struct flow_roster *ro;
	int no_reader; /* nobody_reads() */
	struct store_underretning dup;
	char *text, *env_text, *sender_cert;
	json_t *rj;
};

/*
 * PROTOCOL.md 16.7: an underretning for a team with a team key is sealed to
 * its newest generation, and may also be sealed to the sender's current
 * user key (the notifier's own copy), to nothing else; for a team without a
 * team key yet, to exactly its roster (12.3). A refusal or VARSKO_OK.
 */
static int recipients_check(struct flow_job *j, struct store *st, const struct caller *c, const char *team, int64_t now,
                            struct submit_state *x)
{
	char kid[KEYBOX_KEYID_MAX + 1], own[KEYBOX_KEYID_MAX + 1] = "";
	struct userchain *uc;
	int has = 0, seen = 0, r = teamkey_expected(st, team, &has, kid);

	if (r == VARSKO_ERR_STALE_KEY)
		return flow_refuse(j, r, "the team's key is being renewed: seal again in a moment");
	if (r == VARSKO_ERR_BAD_CHAIN)
		return flow_refuse(j, r, "the stored team chain or team key does not verify: the database was changed");
	if (r != VARSKO_OK)
		return r;
	if (has) {
		if ((uc = calloc(1, sizeof(*uc))) == NULL)
			return VARSKO_ERR_NOMEM;
		if ((r = userchain_load(st, c->cert.user, 0, uc)) == VARSKO_OK &&
		    userchain_key_id(uc, own) != VARSKO_OK)
			own[0] = '\0';
		userchain_free(uc);
		free(uc);
		if (r != VARSKO_OK)
			return r == VARSKO_ERR_BAD_CHAIN ? flow_refuse(j, r, "the sender's user chain does not verify")
			                                 : r;
		for (size_t i = 0; i < x->env->n_wraps; i++) {
			if (strcmp(x->env->wraps[i].device, kid) == 0)
				seen = 1;
			else if (own[0] == '\0' || strcmp(x->env->wraps[i].device, own) != 0)
				return flow_refuse(
				        j, VARSKO_ERR_BAD_INPUT,
				        "recipients differ from the team key (and the sender's own user key)");
		}
		return seen ? VARSKO_OK
		            : flow_refuse(j, VARSKO_ERR_BAD_INPUT,
		                          "the envelope is not sealed to the team's newest key");
	}
	if ((x->ro = malloc(sizeof(*x->ro))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_team_roster(st, team, now, x->ro)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND || r == VARSKO_ERR_TOO_LARGE)
			r = flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the routed team cannot take underretninger");
		return r;
	}
	if (x->env->n_wraps != x->ro->n)
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "recipients differ from the roster");
	for (size_t i = 0; i < x->ro->n; i++) {
		if (strcmp(x->env->wraps[i].device, x->ro->certs[i].device) != 0)
			return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "recipients differ from the roster");
	}
	return VARSKO_OK;
}

/*
 * Is there nobody in the team who can read it now (no myndighed with an
 * active device, flow_roster_readers())? The roster of the recipients
 * check when there was one, else the team's current one. A team whose
 * roster cannot be had counts as read: the alert is for the case where
 * the roster says so.
 */
static int nobody_reads(struct store *st, const char *team, int64_t now, struct submit_state *x)
{
	int r;

	x->no_reader = 0;
	if (x->ro == NULL) {
		if ((x->ro = malloc(sizeof(*x->ro))) == NULL)
			return VARSKO_ERR_NOMEM;
		if ((r = store_team_roster(st, team, now, x->ro)) != VARSKO_OK)
			return r == VARSKO_ERR_NOT_FOUND || r == VARSKO_ERR_TOO_LARGE ? VARSKO_OK : r;
	}
	x->no_reader = flow_roster_readers(x->ro) == 0;
	return VARSKO_OK;
}

int flow_run_submit(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct submit_state x;
	struct deadline_plan_row plan[DEADLINE_PLAN_MAX];
	struct store_underretning_new nu;
	struct flow_receipt rc;
	struct uh_header h;
	struct cal_local loc;
	char team[PROTO_ID_MAX + 1], ref[PROTO_ID_MAX + 1];
	uint8_t hash[32];
	size_t len = 0, n_plan = 0, i;
	int r, outside = 0;

	memset(&x, 0, sizeof(x));
	memset(&rc, 0, sizeof(rc));
	memset(&nu, 0, sizeof(nu));
	/* The envelope: well-formed, from this device, signed by it, an underretning. */
	if ((r = flow_envelope_of(j, &x.text, &x.env)) != VARSKO_OK)
		goto out;
	if (strcmp(x.env->sender, j->device) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the envelope's sender is not this device");
		goto out;
	}
	if (env_verify(x.env, c->cert.sign_pk) != VARSKO_OK) {
		r = flow_refuse(j, VARSKO_ERR_BAD_SIGNATURE, "the envelope's signature does not verify");
		goto out;
	}
	if (strcmp(x.env->kind, "underretning") != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope is not an underretning");
		goto out;
	}
	if (uh_header_decode(x.env->routing, x.env->routing_len, &h) != VARSKO_OK) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope's routing header does not decode");
		goto out;
	}
	if (strcmp(h.submission, x.env->object_id) != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the submission id differs from the envelope's object id");
		goto out;
	}

	/* The same submission again: the stored receipt, nothing new. */
	r = store_underretning_find(st, c->who.user, h.submission, 0, &x.dup);
	if (r == VARSKO_OK) {
		snprintf(j->log_ref, sizeof(j->log_ref), "%s", x.dup.reference);
		r = answer_receipt(j, flow_load_text(x.dup.receipt, x.dup.receipt_len), 1);
		goto out;
	}
	if (r != VARSKO_ERR_NOT_FOUND)
		goto out;

	/* The route now, and the roster the envelope must be sealed for. */
	if ((r = decide(j, st, c, &h, now, team, &outside)) != VARSKO_OK)
		goto out;
	if ((r = recipients_check(j, st, c, team, now, &x)) != VARSKO_OK)
		goto out;
	if ((r = nobody_reads(st, team, now, &x)) != VARSKO_OK)
		goto out;

	/* The reference, the deadlines and the signed receipt. */
	if (j->srv->gw_sk == NULL) {
		r = flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the gateway key is not loaded");
		goto out;
	}
	if ((r = flow_envelope_hash(hash, x.env)) != VARSKO_OK)
		goto out;
	if ((r = cal_to_local(now, &loc)) != VARSKO_OK || (r = store_reference_next(st, loc.year, ref)) != VARSKO_OK)
		goto out;
	if (strlen(ref) > FLOW_REF_MAX) {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	memcpy(rc.reference, ref, strlen(ref) + 1);
	if ((r = deadline_plan(j->srv->cfg, now, plan, &n_plan)) != VARSKO_OK)
		goto out;
	rc.version = FLOW_VERSION;
	snprintf(rc.submission, sizeof(rc.submission), "%s", h.submission);
	memcpy(rc.envelope_hash, hash, sizeof(hash));
	snprintf(rc.sender, sizeof(rc.sender), "%s", j->device);
	snprintf(rc.sender_user, sizeof(rc.sender_user), "%s", c->who.user);
	snprintf(rc.institution, sizeof(rc.institution), "%s", h.institution);
	snprintf(rc.team, sizeof(rc.team), "%s", team);
	rc.received = now;
	rc.vurdering_due = plan_due(plan, n_plan, "vurdering");
	rc.kvittering_due = plan_due(plan, n_plan, "kvittering");
	rc.tilbagemelding_due = plan_due(plan, n_plan, "tilbagemelding");
	snprintf(rc.gateway, sizeof(rc.gateway), "%s", j->srv->gateway_cert.device);
	if (sodium_mprotect_readonly(j->srv->gw_sk) != 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	r = flow_receipt_sign(&rc, j->srv->gw_sk);
	server_key_lock(j->srv->gw_sk, "gateway");
	if (r != VARSKO_OK)
		goto out;

	/* Stored in the group's transaction; answered only after its commit. */
	if ((r = env_to_json(x.env, &x.env_text, &len)) != VARSKO_OK ||
	    (r = proto_cert_to_json(&c->cert, &x.sender_cert)) != VARSKO_OK)
		goto out;
	nu.receipt = &rc;
	nu.envelope_json = x.env_text;
	nu.envelope_hash = hash;
	nu.age_group = h.age_group;
	nu.akut = h.akut;
	nu.handicap = h.handicap;
	nu.outside_office = outside;
	nu.no_reader = x.no_reader;
	nu.created = h.created;
	nu.sender_cert_json = x.sender_cert;
	nu.gateway_cert_json = j->srv->gateway_cert_json;
	nu.tenant = j->srv->cfg->tenant;
	for (i = 0; i < n_plan && i < STORE_DEADLINES_MAX; i++) {
		nu.deadlines[i].kind = plan[i].kind;
		nu.deadlines[i].due_at = plan[i].due_at;
		nu.deadlines[i].warn_at = plan[i].warn_at;
	}
	nu.n_deadlines = i;
	if ((r = store_underretning_add(st, &nu, now)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			r = flow_refuse(j, VARSKO_ERR_UNAVAILABLE,
			                "the submission collided with another; send it again");
		goto out;
	}
	j->kick = 1;
	snprintf(j->log_ref, sizeof(j->log_ref), "%s", rc.reference);
	snprintf(j->log_team, sizeof(j->log_team), "%s", team);
	{
		json_t *item = NULL, *push;

		if ((r = store_flow_item(st, rc.reference, &item)) != VARSKO_OK)
			goto out;
		push = json_pack("{s:s, s:o}", "type", "new_underretning", "item", item);
		if ((r = flow_add_push(j, push, NULL, team)) != VARSKO_OK)
			goto out;
	}
	/* Nobody to read it: the team's sessions (its leders) are warned; the alert is in the outbox too. */
	if (x.no_reader && (r = flow_add_push(j, flow_no_reader_alert(rc.reference, team, h.akut), NULL, team)) != VARSKO_OK)
		goto out;
	j->log_no_reader = x.no_reader;
	if ((r = flow_receipt_to_json(&rc, &x.rj)) != VARSKO_OK)
		goto out;
	r = answer_receipt(j, x.rj, 0);
	x.rj = NULL;
out:
	env_free(x.env);
	free(x.ro);
	store_underretning_clear(&x.dup);
	free(x.text);
	free(x.env_text);
	free(x.sender_cert);
	json_decref(x.rj);
	sodium_memzero(&rc, sizeof(rc));
	return r;
}
