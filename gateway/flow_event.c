/*
 * flow_event.c: check and store one signed event (flow_event.h).
 *
 * The order of the checks is PROTOCOL.md 12.5's "Acceptance by varskod":
 * the objects, the underretning, the same event seen before, the signer
 * (device and its user's current record), its signature, policy.c's
 * "who may sign which kind", the time, the case's state, the envelope.
 * Then the effects, all in the caller's transaction or one of our own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "envelope.h"
#include "flow.h"
#include "flow_event.h"
#include "flow_text.h"
#include "policy.h"
#include "chains.h"

void event_result_clear(struct event_result *r)
{
	if (r == NULL)
		return;
	free(r->push_frame);
	memset(r, 0, sizeof(*r));
}

/* Refusals are audited; other failures (db, nomem) are the caller's to report. */
static int is_refusal(int r)
{
	return r == VARSKO_ERR_BAD_FRAME || r == VARSKO_ERR_NOT_FOUND || r == VARSKO_ERR_UNKNOWN_DEVICE ||
	       r == VARSKO_ERR_DEVICE_REVOKED || r == VARSKO_ERR_DEVICE_EXPIRED || r == VARSKO_ERR_BAD_SIGNATURE ||
	       r == VARSKO_ERR_FORBIDDEN || r == VARSKO_ERR_BAD_INPUT || r == VARSKO_ERR_BAD_TIME ||
	       r == VARSKO_ERR_EXISTS || r == VARSKO_ERR_TOO_LARGE || r == VARSKO_ERR_CASE_STATE ||
	       r == VARSKO_ERR_BAD_CHAIN;
}

/* 1 when the envelope's recipients (its wraps, sorted) are exactly certs[0..n) (sorted by device id). */
static int recipients_equal(const struct env_envelope *e, const struct proto_cert *certs, size_t n)
{
	if (e->n_wraps != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e->wraps[i].device, certs[i].device) != 0)
			return 0;
	return 1;
}

/* Everything event_apply() holds, so that one exit frees it all. */
struct apply {
	struct flow_event ev;
	struct env_envelope *env, *current;
	struct store_underretning u;
	struct store_device signer;
	struct proto_cert gw, record;
	struct policy_actor actor;
	struct flow_roster *roster;
	int team_keyed; /* a re-routing to a team with a team key (PROTOCOL.md 16.7) */
	struct proto_cert *devs;
	struct userchain *uc;
	char *ev_text, *env_text, *cert_text, *payload;
	json_t *j;
};

/* The objects, strictly, and their canonical texts. */
static int parse(struct apply *a, const char *event_json, size_t event_len, const char *envelope_json,
                 size_t envelope_len, const char *gateway_cert_json)
{
	size_t n = 0;
	int r;

	if ((a->j = json_loadb(event_json, event_len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    flow_event_from_json(a->j, &a->ev) != VARSKO_OK)
		return VARSKO_ERR_BAD_FRAME;
	json_decref(a->j);
	a->j = NULL;
	if ((r = flow_event_to_json(&a->ev, &a->j)) != VARSKO_OK)
		return r;
	if ((r = flow_frame_dump(a->j, &a->ev_text, &n)) != VARSKO_OK)
		return r;
	if (envelope_json != NULL) {
		if ((r = env_from_json(envelope_json, envelope_len, &a->env)) != VARSKO_OK)
			return r == VARSKO_ERR_NOMEM ? r : VARSKO_ERR_BAD_FRAME;
		if ((r = env_to_json(a->env, &a->env_text, &n)) != VARSKO_OK)
			return r;
	}
	if (gateway_cert_json != NULL &&
	    proto_cert_from_json(gateway_cert_json, strlen(gateway_cert_json), &a->gw) != VARSKO_OK)
		return VARSKO_ERR_INTERNAL;
	return VARSKO_OK;
}

/*
 * The signer: the gateway itself, or an enrolled device, not revoked,
 * valid now, whose user still has the certificate's role and team.
 */
static int check_signer(struct store *s, struct apply *a, int64_t now, int *is_gw, int *known)
{
	int r;

	if (a->gw.device[0] != '\0' && strcmp(a->ev.device, a->gw.device) == 0) {
		*is_gw = 1;
		a->signer.cert = a->gw;
		return VARSKO_OK;
	}
	if ((r = store_device_get(s, a->ev.device, &a->signer)) != VARSKO_OK)
		return r;
	*known = 1;
	if (a->signer.revoked_at != 0)
		return VARSKO_ERR_DEVICE_REVOKED;
	if (now < a->signer.cert.not_before || now > a->signer.cert.not_after)
		return VARSKO_ERR_DEVICE_EXPIRED;
	if ((r = store_user_get(s, a->signer.cert.user, &a->record)) != VARSKO_OK)
		return r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_DEVICE_REVOKED : r;
	return policy_actor(&a->signer.cert, &a->record, &a->actor);
}

/*
 * The envelope: there exactly when the kind carries one, signed by the
 * signer, for this reference and kind, with the hash the event signs, and
 * to exactly the recipients the kind names. A re-routed underretning keeps
 * its routing bytes: the new team's agent checks them against the receipt.
 */
static int check_envelope(struct store *s, struct apply *a, const struct policy_event *rule, int64_t now, uint8_t h[32])
{
	char key_id[KEYBOX_KEYID_MAX + 1];
	size_t n = 0;
	int r, has_key = 0;

	if ((a->env != NULL) != (rule->envelope != NULL))
		return VARSKO_ERR_BAD_INPUT;
	if (a->env == NULL)
		return VARSKO_OK;
	if (strcmp(a->env->sender, a->ev.device) != 0 || strcmp(a->env->object_id, a->ev.reference) != 0 ||
	    strcmp(a->env->kind, rule->envelope) != 0)
		return VARSKO_ERR_BAD_INPUT;
	if (env_verify(a->env, a->signer.cert.sign_pk) != VARSKO_OK)
		return VARSKO_ERR_BAD_SIGNATURE;
	if (flow_envelope_hash(h, a->env) != VARSKO_OK || sodium_memcmp(h, a->ev.envelope_hash, 32) != 0)
		return VARSKO_ERR_BAD_INPUT;
	if (rule->to == POL_ENV_NEW_TEAM) {
		if (strcmp(a->ev.team, a->u.team) == 0)
			return VARSKO_ERR_BAD_INPUT;
		if (a->u.envelope == NULL || env_from_json(a->u.envelope, a->u.envelope_len, &a->current) != VARSKO_OK)
			return VARSKO_ERR_DB;
		if (a->env->routing_len != a->current->routing_len ||
		    (a->env->routing_len != 0 &&
		     memcmp(a->env->routing, a->current->routing, a->env->routing_len) != 0))
			return VARSKO_ERR_BAD_INPUT;
		/* The new team's newest team key (PROTOCOL.md 16.7), or without one its roster. */
		if ((r = teamkey_expected(s, a->ev.team, &has_key, key_id)) != VARSKO_OK)
			return r; /* stale_key: the re-routing client seals again in a moment */
		a->team_keyed = has_key;
		if (has_key)
			return a->env->n_wraps == 1 && strcmp(a->env->wraps[0].device, key_id) == 0
			               ? VARSKO_OK
			               : VARSKO_ERR_BAD_INPUT;
		if ((a->roster = malloc(sizeof(*a->roster))) == NULL)
			return VARSKO_ERR_NOMEM;
		if ((r = store_team_roster(s, a->ev.team, now, a->roster)) != VARSKO_OK)
			return r == VARSKO_ERR_NOT_FOUND || r == VARSKO_ERR_TOO_LARGE ? VARSKO_ERR_BAD_INPUT : r;
		return a->roster->n != 0 && recipients_equal(a->env, a->roster->certs, a->roster->n)
		               ? VARSKO_OK
		               : VARSKO_ERR_BAD_INPUT;
	}
	/*
	 * To the notifier: to the notifier's current user key when the
	 * notifier has one (readable on every present and future device),
	 * else to the notifier's active devices (PROTOCOL.md 12.5).
	 */
	if ((a->uc = calloc(1, sizeof(*a->uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = userchain_load(s, a->u.sender_user, 0, a->uc)) != VARSKO_OK)
		return r;
	if (userchain_key_id(a->uc, key_id) == VARSKO_OK)
		return a->env->n_wraps == 1 && strcmp(a->env->wraps[0].device, key_id) == 0 ? VARSKO_OK
		                                                                          : VARSKO_ERR_BAD_INPUT;
	if ((a->devs = calloc(ENV_RECIPIENTS_MAX, sizeof(*a->devs))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_user_devices(s, a->u.sender_user, now, a->devs, ENV_RECIPIENTS_MAX, &n)) != VARSKO_OK)
		return r == VARSKO_ERR_TOO_LARGE ? VARSKO_ERR_BAD_INPUT : r;
	return n != 0 && recipients_equal(a->env, a->devs, n) ? VARSKO_OK : VARSKO_ERR_BAD_INPUT;
}

/* The effects of a stored omdirigeret: the new team and envelope, its agent asked, the old one no longer. */
static int reroute(struct store *s, struct apply *a, const uint8_t h[32], int64_t now, const char *tenant,
                   const char *gateway_cert_json)
{
	char topic[256];
	size_t envelope_at = 0;
	int r;

	if ((r = flow_text_topic_underretning(topic, sizeof(topic), tenant, a->ev.team)) != VARSKO_OK)
		return r;
	if ((r = flow_text_underretning(a->ev.reference, NULL, a->u.receipt, a->cert_text,
	                                gateway_cert_json ? gateway_cert_json : "null", &a->payload, &envelope_at)) !=
	    VARSKO_OK)
		return r;
	if ((r = store_underretning_reroute(s, a->ev.reference, a->ev.team, a->env_text, h)) != VARSKO_OK ||
	    (r = store_deadline_set_team(s, a->ev.reference, a->ev.team)) != VARSKO_OK ||
	    (r = store_outbox_ack(s, a->ev.reference, a->u.team, now)) != VARSKO_OK)
		return r;
	return store_outbox_add_underretning(s, a->ev.reference, a->ev.team, topic, a->payload, envelope_at, now);
}

int refusal_apply(struct store *s, const char *refusal_json, size_t len, int64_t now, const char *tenant,
                  struct event_result *out)
{
	struct flow_refusal f;
	struct apply a;
	json_t *j = NULL, *alert = NULL;
	json_error_t jerr;
	char topic[256], detail[2 * PROTO_ID_MAX + 48], *text = NULL;
	const char *reason;
	int own = 0, known = 0, is_gw = 0, changed = 0, r;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	if (refusal_json == NULL || tenant == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	r = VARSKO_ERR_BAD_FRAME;
	if ((j = json_loadb(refusal_json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    flow_refusal_from_json(j, &f) != VARSKO_OK)
		goto out;
	reason = flow_refusal_reason_name(f.reason);
	if ((r = store_underretning_get(s, f.reference, 0, &a.u)) != VARSKO_OK)
		goto out;
	/* The signer, as for an event: an enrolled device whose user still has its role and team. */
	memcpy(a.ev.device, f.device, sizeof(a.ev.device));
	if ((r = check_signer(s, &a, now, &is_gw, &known)) != VARSKO_OK)
		goto out;
	if (flow_refusal_verify(&f, a.signer.cert.sign_pk) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	r = VARSKO_ERR_FORBIDDEN;
	if (a.actor.role != POL_AGENT || a.actor.team[0] == '\0')
		goto out;
	r = VARSKO_ERR_BAD_TIME;
	if (f.time > now + PROTO_LOGIN_SKEW || f.time < a.u.received_at - PROTO_LOGIN_SKEW)
		goto out;
	if ((r = store_outbox_dead(s, f.reference, a.actor.team, reason, f.device, now, &changed)) != VARSKO_OK)
		goto out;
	out->duplicate = changed == 0;
	snprintf(out->reference, sizeof(out->reference), "%s", f.reference);
	snprintf(out->team, sizeof(out->team), "%s", a.actor.team);
	snprintf(out->kind, sizeof(out->kind), "%s", reason);
	if (changed == 0) {
		r = VARSKO_OK;
		goto out;
	}
	snprintf(detail, sizeof(detail), "ref=%s team=%s reason=%s", f.reference, a.actor.team, reason);
	if ((r = store_audit(s, now, "dead_letter", f.device, detail)) != VARSKO_OK)
		goto out;
	/* The team's leders are told as of a deadline warning: a push now, and the alert topic for the case system. */
	if ((r = flow_text_topic_team(topic, sizeof(topic), tenant, a.actor.team, "alert")) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	if ((alert = flow_dead_letter_alert(f.reference, a.actor.team, a.u.akut)) == NULL ||
	    (text = json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	if ((r = store_outbox_add(s, f.reference, a.actor.team, topic, text, 0, now, NULL)) != VARSKO_OK)
		goto out;
	out->outbox_added = 1;
	out->push_frame = text;
	out->push_len = strlen(text);
	text = NULL;
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		event_result_clear(out);
	free(text);
	json_decref(alert);
	json_decref(j);
	store_underretning_clear(&a.u);
	return r;
}

int event_apply(struct store *s, const char *event_json, size_t event_len, const char *envelope_json,
                size_t envelope_len, int64_t now, const char *tenant, const char *gateway_cert_json,
                struct event_result *out)
{
	const struct policy_event *rule;
	const char *kind, *why = NULL;
	struct apply a;
	char detail[PROTO_ID_MAX + 40], new_team[PROTO_ID_MAX + 1];
	uint8_t h[32];
	unsigned seen = 0;
	int own = 0, known = 0, is_gw = 0, done = 0, r;
	int64_t seq = 0;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	new_team[0] = '\0';
	if (event_json == NULL || tenant == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((r = parse(&a, event_json, event_len, envelope_json, envelope_len, gateway_cert_json)) != VARSKO_OK)
		goto out;
	kind = flow_event_kind_name(a.ev.kind);
	if ((rule = policy_event_rule(a.ev.kind)) == NULL) {
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}

	/* The underretning (its current envelope only when a re-routing must match it), and the same event. */
	if ((r = store_underretning_get(s, a.ev.reference, rule->to == POL_ENV_NEW_TEAM, &a.u)) != VARSKO_OK)
		goto out;
	if ((r = store_event_same(s, a.ev.reference, kind, a.ev.device, a.ev.time, a.ev_text, &seq)) != VARSKO_OK)
		goto out;
	if (seq != 0) {
		out->duplicate = 1;
		goto done;
	}

	if ((r = check_signer(s, &a, now, &is_gw, &known)) != VARSKO_OK) {
		if (r == VARSKO_ERR_DEVICE_REVOKED && known && a.signer.revoked_at == 0)
			why = "the event's signer's user no longer has the certificate's role or team";
		goto out;
	}
	if (flow_event_verify(&a.ev, a.signer.cert.sign_pk) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((r = policy_may_sign(a.ev.kind, is_gw ? NULL : &a.actor, is_gw,
	                         is_gw ? 0 : policy_relation(&a.actor, a.u.team, a.u.sender_user))) != VARSKO_OK)
		goto out;
	/* A signed time in the future, or before the underretning came, would misstate a deadline. */
	if (a.ev.time > now + PROTO_LOGIN_SKEW || a.ev.time < a.u.received_at - PROTO_LOGIN_SKEW) {
		r = VARSKO_ERR_BAD_TIME;
		goto out;
	}
	if ((r = store_event_kinds(s, a.ev.reference, &seen)) != VARSKO_OK)
		goto out;
	if ((r = policy_case_allows(a.ev.kind, seen, &why)) != VARSKO_OK)
		goto out;
	if ((r = check_envelope(s, &a, rule, now, h)) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_INPUT && a.team_keyed)
			why = "a re-routed envelope must be sealed to the new team's newest key, and only to it";
		else if (r == VARSKO_ERR_BAD_INPUT && a.current != NULL && a.roster == NULL)
			why = "a re-routed envelope must carry the underretning's routing bytes unchanged";
		goto out;
	}

	/* Opening is recorded once per device: a later aabnet answers with the first. */
	if (rule->once_per_device) {
		if ((r = store_event_first_by(s, a.ev.reference, kind, a.ev.device, &seq)) != VARSKO_OK)
			goto out;
		if (seq != 0) {
			out->duplicate = 1;
			goto done;
		}
	}

	/* Store it and its effects. */
	if ((r = store_event_insert(s,
	                            &(struct store_event_row){a.ev.reference, kind, a.ev.device, a.signer.cert.role,
	                                                      a.u.team, a.ev.time, now, a.ev_text, a.env_text},
	                            &seq)) != VARSKO_OK)
		goto out;
	if (rule->meets != NULL &&
	    (r = store_deadline_met(s, a.ev.reference, rule->meets, a.ev.time, seq)) != VARSKO_OK)
		goto out;
	/* The outbox republishes until the team's agent has both received and filed it (store_outbox.c). */
	if ((a.ev.kind == FLOW_EV_MODTAGET || a.ev.kind == FLOW_EV_JOURNALISERET) &&
	    ((r = store_agent_done(s, a.ev.reference, a.u.team, &done)) != VARSKO_OK ||
	     (done && (r = store_outbox_ack(s, a.ev.reference, a.u.team, now)) != VARSKO_OK)))
		goto out;
	if ((r = proto_cert_to_json(&a.signer.cert, &a.cert_text)) != VARSKO_OK)
		goto out;
	if (rule->to == POL_ENV_NEW_TEAM) {
		if ((r = reroute(s, &a, h, now, tenant, gateway_cert_json)) != VARSKO_OK)
			goto out;
		out->outbox_added = 1;
		memcpy(new_team, a.ev.team, sizeof(new_team));
	}
	snprintf(detail, sizeof(detail), "ref=%s kind=%s", a.ev.reference, kind);
	if ((r = store_audit(s, now, "event_stored", a.ev.device, detail)) != VARSKO_OK)
		goto out;
	if ((r = flow_text_pushed(a.ev.reference, a.ev_text, a.cert_text,
	                          rule->to == POL_ENV_NOTIFIER ? a.env_text : NULL, &out->push_frame,
	                          &out->push_len)) != VARSKO_OK)
		goto out;
done:
	out->seq = seq;
	snprintf(out->reference, sizeof(out->reference), "%s", a.ev.reference);
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	snprintf(out->notifier_user, sizeof(out->notifier_user), "%s", a.u.sender_user);
	snprintf(out->team, sizeof(out->team), "%s", new_team[0] ? new_team : a.u.team);
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK) {
		event_result_clear(out);
		out->why = why;
		if (own && is_refusal(r)) {
			/* Only a device id the store knows is written as the actor. */
			snprintf(detail, sizeof(detail), "reason=%s", varsko_err_name(r));
			/* The refusal stands even if it cannot be audited. */
			(void)store_audit(s, now, "event_refused", known ? a.ev.device : "-", detail);
		}
	}
	json_decref(a.j);
	env_free(a.env);
	env_free(a.current);
	store_underretning_clear(&a.u);
	free(a.roster);
	userchain_free(a.uc);
	free(a.uc);
	free(a.devs);
	free(a.ev_text);
	free(a.env_text);
	free(a.cert_text);
	free(a.payload);
	sodium_memzero(&a.actor, sizeof(a.actor));
	return r;
}
