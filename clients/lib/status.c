/*
 * status.c: the verified timeline of an underretning (docs/FLOW.md step 8).
 *
 * The server hands over the receipt, the certificates and every event with
 * its signer's certificate; nothing of it is believed until it verifies
 * against the organisation key pinned at enrollment. One step that does not
 * verify refuses the whole timeline: a timeline with a gap the user cannot
 * see is worse than an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

int event_check(const struct flow_event *ev, const struct proto_cert *cert, const uint8_t org_pk[PROTO_PK_LEN])
{
	/* As of the event's time: an event stays valid after its device expires or is revoked. */
	if (proto_cert_verify(cert, org_pk, ev->time) != VARSKO_OK || strcmp(cert->device, ev->device) != 0)
		return VARSKO_ERR_BAD_CERT;
	return flow_event_verify(ev, cert->sign_pk) == VARSKO_OK ? VARSKO_OK : VARSKO_ERR_BAD_SIGNATURE;
}

/*
 * May a device with certificate c sign kind k while the underretning is
 * with team `team`? (proto/flow.h lists who signs what.)
 */
static int may_sign(enum flow_event_kind k, const struct proto_cert *c, const char *team)
{
	const char *role = c->role;

	if (k == FLOW_EV_LEVERET)
		return strcmp(role, "gateway") == 0;
	if (strcmp(c->team, team) != 0)
		return 0;
	switch (k) {
	case FLOW_EV_MODTAGET:
	case FLOW_EV_JOURNALISERET:
		return strcmp(role, "agent") == 0;
	case FLOW_EV_AABNET:
		return strcmp(role, "myndighed") == 0 || strcmp(role, "leder") == 0;
	case FLOW_EV_VURDERET:
	case FLOW_EV_KVITTERET:
	case FLOW_EV_TILBAGEMELDING:
	case FLOW_EV_OMDIRIGERET:
	case FLOW_EV_AFSLUTTET:
		return strcmp(role, "myndighed") == 0;
	default:
		return 0;
	}
}

/* The envelope kind of a message for the notifier, or NULL when the event kind carries none in a timeline. */
static const char *message_kind(enum flow_event_kind k)
{
	if (k == FLOW_EV_KVITTERET)
		return "kvittering";
	if (k == FLOW_EV_TILBAGEMELDING)
		return "tilbagemelding";
	return NULL;
}

static int envelope_has(const struct env_envelope *e, const char *device)
{
	for (size_t i = 0; i < e->n_wraps; i++)
		if (strcmp(e->wraps[i].device, device) == 0)
			return 1;
	return 0;
}

/* Check (and, when it is for us, open) the message envelope of event ev; step->message gets the text. */
static int check_message(const json_t *eo, const struct flow_event *ev, const struct proto_cert *cert, const char *ref,
                         const struct keys *me, const char *my_device, const struct status_key *uks, size_t n_uks,
                         struct varsko_step *step, char *detail, size_t dcap)
{
	const char *as = NULL;
	const uint8_t *box_sk = NULL;
	int r;
	struct env_envelope *env = NULL;
	uint8_t hash[32], *pt = NULL;
	size_t pt_len = 0;
	const char *kind = message_kind(ev->kind);

	if ((r = env_from_obj(eo, &env)) != VARSKO_OK) {
		snprintf(detail, dcap, "the message of the %s event is malformed", flow_event_kind_name(ev->kind));
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	r = VARSKO_ERR_BAD_SIGNATURE;
	if (flow_envelope_hash(hash, env) != VARSKO_OK || !ev->has_envelope ||
	    sodium_memcmp(hash, ev->envelope_hash, sizeof(hash)) != 0 || strcmp(env->sender, ev->device) != 0 ||
	    strcmp(env->kind, kind) != 0 || strcmp(env->object_id, ref) != 0 ||
	    env_verify(env, cert->sign_pk) != VARSKO_OK) {
		snprintf(detail, dcap, "the message of the %s event is not the one its signer signed",
		         flow_event_kind_name(ev->kind));
		goto out;
	}
	/* For this device, or for the user's key (PROTOCOL.md 12.5): every device of the notifier reads it. */
	if (me != NULL && my_device != NULL && envelope_has(env, my_device)) {
		as = my_device;
		box_sk = me->box_sk;
	} else {
		for (size_t i = 0; i < n_uks && as == NULL; i++)
			if (envelope_has(env, uks[i].id)) {
				as = uks[i].id;
				box_sk = uks[i].box_sk;
			}
	}
	if (as != NULL) {
		if ((r = env_open(env, cert->sign_pk, as, box_sk, kind, ref, &pt, &pt_len)) != VARSKO_OK) {
			snprintf(detail, dcap, "the message of the %s event does not open",
			         flow_event_kind_name(ev->kind));
			r = VARSKO_ERR_CRYPTO;
			goto out;
		}
		if ((r = msg_decode(pt, pt_len, &step->message, &step->message_len)) != VARSKO_OK) {
			snprintf(detail, dcap, "the message of the %s event is not a text",
			         flow_event_kind_name(ev->kind));
			goto out;
		}
		if (step->message_len == 0) {
			varsko_free_secret(step->message, step->message_len);
			step->message = NULL;
		}
	}
	r = VARSKO_OK;
out:
	env_plaintext_free(pt, pt_len);
	env_free(env);
	return r;
}

static void step_set(struct varsko_step *s, const char *step, int64_t t, const char *role, const char *team,
                     const char *device)
{
	snprintf(s->step, sizeof(s->step), "%s", step);
	s->time = t;
	snprintf(s->role, sizeof(s->role), "%s", role);
	snprintf(s->team, sizeof(s->team), "%s", team);
	snprintf(s->device, sizeof(s->device), "%s", device);
	s->verified = 1;
	s->akut = -1;
	s->started = -1;
}

static int cert_has_institution(const struct proto_cert *c, const char *inst)
{
	for (size_t i = 0; i < c->n_institutions; i++)
		if (strcmp(c->institutions[i], inst) == 0)
			return 1;
	return 0;
}

int status_verify(const json_t *tl, const char *ref, const uint8_t org_pk[PROTO_PK_LEN], const struct keys *me,
                  const char *my_device, const struct status_key *uks, size_t n_uks, struct varsko_status **out,
                  char *detail, size_t dcap)
{
	int r = VARSKO_ERR_INTERNAL;
	struct varsko_status *st = NULL;
	struct flow_receipt rc;
	struct proto_cert gw, sender, cert;
	struct flow_event ev;
	const json_t *events = json_object_get(tl, "events"), *entry, *eo;
	char team[PROTO_ID_MAX + 1];
	size_t n, i;

	*out = NULL;
	if (flow_receipt_from_json(json_object_get(tl, "receipt"), &rc) != VARSKO_OK ||
	    cert_from_obj(json_object_get(tl, "gateway_cert"), &gw) != VARSKO_OK ||
	    cert_from_obj(json_object_get(tl, "sender_cert"), &sender) != VARSKO_OK || !json_is_array(events)) {
		snprintf(detail, dcap, "the timeline is malformed");
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if ((r = receipt_check(&rc, &gw, org_pk, detail, dcap)) != VARSKO_OK)
		goto out;
	if (strcmp(rc.reference, ref) != 0) {
		snprintf(detail, dcap, "the timeline's receipt is for another underretning");
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if (proto_cert_verify(&sender, org_pk, rc.received) != VARSKO_OK || strcmp(sender.role, "fagperson") != 0 ||
	    strcmp(sender.device, rc.sender) != 0 || strcmp(sender.user, rc.sender_user) != 0 ||
	    !cert_has_institution(&sender, rc.institution)) {
		snprintf(detail, dcap, "the sender's certificate does not verify or is not the receipt's sender");
		r = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	n = json_array_size(events);
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->steps = calloc(n + 2, sizeof(*st->steps))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	snprintf(st->reference, sizeof(st->reference), "%s", ref);
	receipt_info(&rc, 0, &st->receipt);
	/* The receipt proves both: the notifier's device sent it, and the gateway took it at `received`. */
	step_set(&st->steps[st->n_steps++], "sendt", rc.received, sender.role, "", rc.sender);
	step_set(&st->steps[st->n_steps++], "modtaget_gateway", rc.received, gw.role, rc.team, rc.gateway);

	snprintf(team, sizeof(team), "%s", rc.team);
	json_array_foreach(events, i, entry)
	{
		struct varsko_step *s = &st->steps[st->n_steps];
		const char *kname;

		if (flow_event_from_json(json_object_get(entry, "event"), &ev) != VARSKO_OK ||
		    cert_from_obj(json_object_get(entry, "cert"), &cert) != VARSKO_OK) {
			snprintf(detail, dcap, "event %zu of the timeline is malformed", i + 1);
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		kname = flow_event_kind_name(ev.kind);
		if (strcmp(ev.reference, ref) != 0) {
			snprintf(detail, dcap, "event %zu (%s) is for another underretning", i + 1, kname);
			r = VARSKO_ERR_BAD_SIGNATURE;
			goto out;
		}
		if ((r = event_check(&ev, &cert, org_pk)) != VARSKO_OK) {
			snprintf(detail, dcap,
			         r == VARSKO_ERR_BAD_CERT ? "event %zu (%s): its signer's certificate does not verify "
			                                    "against the organisation key"
			                                  : "event %zu (%s): its signature does not verify",
			         i + 1, kname);
			goto out;
		}
		if (!may_sign(ev.kind, &cert, team)) {
			snprintf(detail, dcap, "event %zu (%s) is signed by a device that may not sign it", i + 1,
			         kname);
			r = VARSKO_ERR_BAD_CERT;
			goto out;
		}
		step_set(s, kname, ev.time, cert.role, ev.kind == FLOW_EV_LEVERET ? team : cert.team, ev.device);
		st->n_steps++;
		s->akut = ev.kind == FLOW_EV_VURDERET ? ev.akut : -1;
		s->started = ev.kind == FLOW_EV_TILBAGEMELDING ? ev.started : -1;
		eo = json_object_get(entry, "envelope");
		if ((eo != NULL) != (message_kind(ev.kind) != NULL)) {
			snprintf(detail, dcap, "event %zu (%s) %s a message", i + 1, kname,
			         eo != NULL ? "carries an unexpected" : "lacks its");
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		if (eo != NULL &&
		    (r = check_message(eo, &ev, &cert, ref, me, my_device, uks, n_uks, s, detail, dcap)) != VARSKO_OK)
			goto out;
		if (ev.kind == FLOW_EV_OMDIRIGERET) {
			snprintf(s->new_team, sizeof(s->new_team), "%s", ev.team);
			snprintf(team, sizeof(team), "%s", ev.team);
		}
	}
	*out = st;
	st = NULL;
	r = VARSKO_OK;
out:
	varsko_status_free(st);
	return r;
}

void varsko_status_free(struct varsko_status *s)
{
	if (s == NULL)
		return;
	if (s->steps != NULL) {
		for (size_t i = 0; i < s->n_steps; i++)
			varsko_free_secret(s->steps[i].message, s->steps[i].message_len);
		free(s->steps);
	}
	free(s);
}

int varsko_status(struct varsko_conn *c, const char *ref, struct varsko_status **out)
{
	int r;
	json_t *req = NULL, *ans = NULL;
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX];
	struct status_key *uks = NULL;
	size_t n = 0, k = 0;

	*out = NULL;
	c->detail[0] = '\0';
	if (ref == NULL || !flow_reference_valid(ref)) {
		snprintf(c->detail, sizeof(c->detail), "a reference looks like U-2026-000123");
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((req = json_pack("{s:s, s:s}", "type", "status", "reference", ref)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_TIMELINE, &ans)) != VARSKO_OK)
		goto out;
	/*
	 * A notifier's messages are sealed to the user key (PROTOCOL.md 12.5),
	 * each to the generation that was current then: open them with every
	 * generation this device holds. Without the key the timeline still
	 * verifies; the messages then stay closed.
	 */
	if (strcmp(c->id.role, "fagperson") == 0 && userkey_all(c, gens, KEYBOX_RECOVERY_GEN_MAX, &n) == VARSKO_OK &&
	    n > 0 && (uks = calloc(n, sizeof(*uks))) != NULL) {
		for (size_t i = 0; i < n; i++)
			if (keybox_user_key_id(uks[k].id, c->id.user, gens[i]->generation) == VARSKO_OK)
				uks[k++].box_sk = gens[i]->box_sk;
	}
	c->detail[0] = '\0';
	r = status_verify(ans, ref, c->org_pk, c->k, c->id.device, uks, k, out, c->detail, sizeof(c->detail));
out:
	for (size_t i = 0; i < n; i++)
		keybox_gen_free(gens[i]);
	free(uks);
	json_decref(req);
	json_decref(ans);
	return r;
}

int varsko_status_json(const struct varsko_status *s, char **json, size_t *len)
{
	struct proto_buf b = {0};
	char t[PROTO_TIME_LEN + 1];

	/* Keys in byte order, like every other JSON the project writes. */
	proto_buf_add_str(&b, "{\"reference\":");
	text_json_str(&b, s->reference);
	proto_buf_add_str(&b, ",\"steps\":[");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct varsko_step *st = &s->steps[i];

		proto_buf_add_str(&b, i > 0 ? ",{" : "{");
		if (st->akut >= 0)
			proto_buf_printf(&b, "\"akut\":%s,", st->akut ? "true" : "false");
		proto_buf_add_str(&b, "\"device\":");
		text_json_str(&b, st->device);
		if (st->message != NULL) {
			proto_buf_add_str(&b, ",\"message\":");
			text_json_str(&b, st->message);
		}
		if (st->new_team[0] != '\0') {
			proto_buf_add_str(&b, ",\"new_team\":");
			text_json_str(&b, st->new_team);
		}
		proto_buf_add_str(&b, ",\"role\":");
		text_json_str(&b, st->role);
		if (st->started >= 0)
			proto_buf_printf(&b, ",\"started\":%s", st->started ? "true" : "false");
		proto_buf_add_str(&b, ",\"step\":");
		text_json_str(&b, st->step);
		proto_buf_add_str(&b, ",\"team\":");
		text_json_str(&b, st->team);
		proto_time_format(st->time, t);
		proto_buf_printf(&b, ",\"time\":\"%s\",\"verified\":%s}", t, st->verified ? "true" : "false");
	}
	proto_buf_add_str(&b, "]}");
	return proto_buf_take(&b, json, len);
}
