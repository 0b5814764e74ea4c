/*
 * caseworker.c: the authority's side of the flow (docs/FLOW.md step 7) and the
 * lists: inbox and own underretninger, opening an underretning, the signed
 * events (with the messages to the notifier sealed for exactly the
 * notifier's certified devices), re-routing by re-sealing for another
 * team's roster, and the leder's overview and ledelsestilsyn figures.
 *
 * The document is plaintext from env_open() on: it lives in the opened
 * plaintext buffer, the parsed struct and proto_buf buffers, all wiped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

static int ref_ok(struct varsko_conn *c, const char *ref)
{
	if (ref != NULL && flow_reference_valid(ref))
		return 1;
	snprintf(c->detail, sizeof(c->detail), "a reference looks like U-2026-000123");
	return 0;
}

/* ---- lists ------------------------------------------------------------------------ */

/*
 * Send req (dropped here; NULL: out of memory) and hand back member `member`
 * of the answer of type expect, or with member NULL the whole answer
 * without "type" and "id", as compact JSON with sorted keys (*json_out
 * owned by the caller).
 */
static int ask_json(struct varsko_conn *c, json_t *req, enum flow_type expect, const char *member, char **json_out)
{
	int r;
	json_t *ans = NULL, *v;

	*json_out = NULL;
	c->detail[0] = '\0';
	if (req == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, expect, &ans)) != VARSKO_OK)
		goto out;
	json_object_del(ans, "type");
	json_object_del(ans, "id");
	v = member != NULL ? json_object_get(ans, member) : ans;
	if ((*json_out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = VARSKO_ERR_NOMEM;
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

static int simple_list(struct varsko_conn *c, const char *type, enum flow_type expect, char **json_out)
{
	return ask_json(c, json_pack("{s:s}", "type", type), expect, NULL, json_out);
}

int varsko_list(struct varsko_conn *c, int which, char **json_out)
{
	if (which == VARSKO_LIST_MINE)
		return simple_list(c, "mine", FLOW_T_ITEMS, json_out);
	if (which == VARSKO_LIST_INBOX)
		return simple_list(c, "inbox", FLOW_T_ITEMS, json_out);
	*json_out = NULL;
	return VARSKO_ERR_BAD_INPUT;
}

int varsko_overview(struct varsko_conn *c, char **json_out)
{
	return simple_list(c, "overview", FLOW_T_DEADLINES, json_out);
}

int varsko_report(struct varsko_conn *c, const char *from, const char *to, char **json_out)
{
	json_t *req = json_pack("{s:s}", "type", "report_get");

	if (req != NULL && ((from != NULL && json_object_set_new(req, "from", json_string(from)) != 0) ||
	                    (to != NULL && json_object_set_new(req, "to", json_string(to)) != 0))) {
		json_decref(req);
		req = NULL;
	}
	return ask_json(c, req, FLOW_T_REPORT, "figures", json_out);
}

/* ---- fetching and opening -------------------------------------------------------- */

/* An underretning as fetched and checked. */
struct fetched {
	struct flow_receipt rc;
	struct proto_cert notifier; /* the sender's certificate (fagperson) */
	struct proto_cert signer;   /* who sealed the current envelope: the notifier, or who re-routed it */
	struct env_envelope *env;
	struct uh_header hdr; /* decoded routing bytes */
	uint8_t *pt;          /* the document (plaintext), when opened */
	size_t pt_len;
	struct uh_doc *doc;
};

static void fetched_clear(struct fetched *f)
{
	env_free(f->env);
	env_plaintext_free(f->pt, f->pt_len);
	uh_doc_free(f->doc);
	memset(f, 0, sizeof(*f));
}

static int cert_has_institution(const struct proto_cert *c, const char *inst)
{
	for (size_t i = 0; i < c->n_institutions; i++)
		if (strcmp(c->institutions[i], inst) == 0)
			return 1;
	return 0;
}

static int timeline_request(struct varsko_conn *c, const char *ref, json_t **tl)
{
	int r;
	json_t *req = json_pack("{s:s, s:s}", "type", "status", "reference", ref);

	*tl = NULL;
	if (req == NULL)
		return VARSKO_ERR_NOMEM;
	r = conn_request(c, req, FLOW_T_TIMELINE, tl);
	json_decref(req);
	return r;
}

/*
 * The envelope was re-sealed by someone who re-routed the underretning:
 * find the verified omdirigeret event that names it (its hash) and take its
 * signer's certificate. The whole timeline is verified first.
 */
static int rerouted_signer(struct varsko_conn *c, const char *ref, const uint8_t hash[32], struct fetched *f)
{
	int r;
	json_t *tl = NULL, *entry;
	struct varsko_status *st = NULL;
	struct flow_event ev;
	struct proto_cert cert;
	size_t i;
	int found = 0;

	if ((r = timeline_request(c, ref, &tl)) != VARSKO_OK)
		goto out;
	if ((r = status_verify(tl, ref, c->org_pk, NULL, NULL, NULL, 0, &st, c->detail, sizeof(c->detail))) !=
	    VARSKO_OK)
		goto out;
	json_array_foreach(json_object_get(tl, "events"), i, entry)
	{
		if (flow_event_from_json(json_object_get(entry, "event"), &ev) != VARSKO_OK ||
		    cert_from_obj(json_object_get(entry, "cert"), &cert) != VARSKO_OK)
			continue; /* cannot happen: status_verify() parsed them all */
		if (ev.kind != FLOW_EV_OMDIRIGERET)
			continue;
		/* The last re-routing decides which envelope is current. */
		found = ev.has_envelope && sodium_memcmp(ev.envelope_hash, hash, 32) == 0 &&
		        strcmp(ev.device, f->env->sender) == 0 && event_check(&ev, &cert, c->org_pk) == VARSKO_OK;
		if (found)
			f->signer = cert;
	}
	if (!found) {
		snprintf(c->detail, sizeof(c->detail),
		         "the envelope is neither the one the receipt names nor the one of the last re-routing");
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((r = cert_from_obj(json_object_get(tl, "sender_cert"), &f->notifier)) != VARSKO_OK)
		goto out;
	r = VARSKO_OK;
out:
	varsko_status_free(st);
	json_decref(tl);
	return r;
}

/*
 * The notifier's own copy (PROTOCOL.md 16.7): f->env's box for this user's
 * user key, opened with the generation it names (every generation this
 * device holds, from its user-key box set). VARSKO_ERR_NOT_FOUND without
 * such a box.
 */
static int open_own_copy(struct varsko_conn *c, struct fetched *f, const char *expect_object)
{
	char id[KEYBOX_KEYID_MAX + 1];
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX];
	size_t n = 0;
	int r = VARSKO_ERR_NOT_FOUND;

	for (size_t i = 0; i < f->env->n_wraps && r == VARSKO_ERR_NOT_FOUND; i++) {
		char owner[KEYBOX_OWNER_MAX + 1];
		uint64_t gen = 0;

		if (keybox_key_id_split(f->env->wraps[i].device, owner, &gen) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_USER || strcmp(owner + 5, c->id.user) != 0)
			continue;
		if ((r = userkey_all(c, gens, KEYBOX_RECOVERY_GEN_MAX, &n)) != VARSKO_OK)
			/* The detail says why: no user key (yet), this device not cross-signed, ... */
			return r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_CRYPTO : r;
		r = VARSKO_ERR_CRYPTO;
		snprintf(c->detail, sizeof(c->detail), "this device does not hold generation %llu of your user key",
		         (unsigned long long)gen);
		for (size_t k = 0; k < n; k++) {
			if (gens[k]->generation != gen || keybox_user_key_id(id, c->id.user, gen) != VARSKO_OK)
				continue;
			if ((r = env_open(f->env, f->signer.sign_pk, id, gens[k]->box_sk, "underretning", expect_object,
			                  &f->pt, &f->pt_len)) != VARSKO_OK)
				snprintf(c->detail, sizeof(c->detail), "your copy does not open with your user key");
		}
	}
	for (size_t k = 0; k < n; k++)
		keybox_gen_free(gens[k]);
	return r;
}

/*
 * Open f->env: the notifier's own copy with the user key; else through the
 * team key it is sealed to (PROTOCOL.md 16.7: this user's box of the team's
 * key, walked back to the envelope's generation), else as this device (an
 * envelope sealed to a roster, 12.3).
 */
static int open_envelope(struct varsko_conn *c, struct fetched *f, const char *expect_object)
{
	char owner[KEYBOX_OWNER_MAX + 1];
	struct keybox_gen *g = NULL;
	uint64_t gen = 0;
	int r;

	if ((r = open_own_copy(c, f, expect_object)) != VARSKO_ERR_NOT_FOUND)
		return r;
	for (size_t i = 0; i < f->env->n_wraps; i++) {
		if (keybox_key_id_split(f->env->wraps[i].device, owner, &gen) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_TEAM)
			continue;
		if ((r = teamkey_open(c, owner + 5, gen, &g)) != VARSKO_OK)
			return r; /* the detail says why: not a member (yet), no box (yet), ... */
		r = env_open(f->env, f->signer.sign_pk, f->env->wraps[i].device, g->box_sk, "underretning",
		             expect_object, &f->pt, &f->pt_len);
		keybox_gen_free(g);
		if (r != VARSKO_OK)
			snprintf(c->detail, sizeof(c->detail), "the underretning does not open with team %s's key",
			         owner + 5);
		return r;
	}
	if ((r = env_open(f->env, f->signer.sign_pk, c->id.device, c->k->box_sk, "underretning", expect_object, &f->pt,
	                  &f->pt_len)) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "the underretning does not open for this device");
	return r;
}

/* Fetch ref, check everything, and with `open` decrypt and parse the document. */
static int fetch_open(struct varsko_conn *c, const char *ref, int open, struct fetched *f)
{
	int r = VARSKO_ERR_INTERNAL;
	json_t *req = NULL, *ans = NULL;
	struct proto_cert gw;
	struct uh_error ue;
	uint8_t hash[32];
	const char *expect_object;

	memset(f, 0, sizeof(*f));
	if ((req = json_pack("{s:s, s:s}", "type", "fetch", "reference", ref)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_UNDERRETNING, &ans)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_FRAME;
	if (strcmp(json_string_value(json_object_get(ans, "reference")), ref) != 0 ||
	    flow_receipt_from_json(json_object_get(ans, "receipt"), &f->rc) != VARSKO_OK ||
	    cert_from_obj(json_object_get(ans, "gateway_cert"), &gw) != VARSKO_OK ||
	    cert_from_obj(json_object_get(ans, "sender_cert"), &f->signer) != VARSKO_OK ||
	    env_from_obj(json_object_get(ans, "envelope"), &f->env) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the server's answer for %s is malformed", ref);
		goto out;
	}
	if ((r = receipt_check(&f->rc, &gw, c->org_pk, c->detail, sizeof(c->detail))) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_SIGNATURE;
	if (strcmp(f->rc.reference, ref) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the receipt is for another underretning");
		goto out;
	}
	if (flow_envelope_hash(hash, f->env) != VARSKO_OK || strcmp(f->env->kind, "underretning") != 0) {
		snprintf(c->detail, sizeof(c->detail), "the envelope is not an underretning");
		goto out;
	}
	if (strcmp(f->env->sender, f->rc.sender) == 0 && strcmp(f->env->object_id, f->rc.submission) == 0 &&
	    sodium_memcmp(hash, f->rc.envelope_hash, sizeof(hash)) == 0) {
		/* The notifier's own envelope, as received. */
		expect_object = f->rc.submission;
		if (proto_cert_verify(&f->signer, c->org_pk, f->rc.received) != VARSKO_OK ||
		    strcmp(f->signer.role, "fagperson") != 0 || strcmp(f->signer.device, f->rc.sender) != 0 ||
		    strcmp(f->signer.user, f->rc.sender_user) != 0 ||
		    !cert_has_institution(&f->signer, f->rc.institution)) {
			snprintf(c->detail, sizeof(c->detail),
			         "the sender's certificate does not verify against the organisation key or is not the "
			         "receipt's sender");
			r = VARSKO_ERR_BAD_CERT;
			goto out;
		}
		f->notifier = f->signer;
	} else if (strcmp(f->env->object_id, ref) == 0) {
		/* Re-sealed by a re-routing: the omdirigeret event vouches for it. */
		expect_object = ref;
		if ((r = rerouted_signer(c, ref, hash, f)) != VARSKO_OK)
			goto out;
	} else {
		snprintf(c->detail, sizeof(c->detail), "the envelope is not the one the receipt names");
		goto out;
	}
	if (env_verify(f->env, f->signer.sign_pk) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the envelope's signature does not verify");
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if (uh_header_decode(f->env->routing, f->env->routing_len, &f->hdr) != VARSKO_OK ||
	    strcmp(f->hdr.institution, f->rc.institution) != 0 || strcmp(f->hdr.submission, f->rc.submission) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the routing header does not agree with the receipt");
		r = VARSKO_ERR_BAD_SIGNATURE;
		goto out;
	}
	if (open) {
		if ((r = open_envelope(c, f, expect_object)) != VARSKO_OK)
			goto out;
		memset(&ue, 0, sizeof(ue));
		if ((r = uh_parse((const char *)f->pt, f->pt_len, &f->doc, &ue)) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "the decrypted document is not valid: %s at %s",
			         uh_problem_name(ue.problem), ue.path[0] != '\0' ? ue.path : "the document");
			goto out;
		}
		if (strcmp(f->doc->institution, f->rc.institution) != 0 || f->doc->akut != f->hdr.akut ||
		    f->doc->handicap != f->hdr.handicap) {
			snprintf(c->detail, sizeof(c->detail), "the document does not agree with its routing header");
			r = VARSKO_ERR_BAD_SIGNATURE;
			goto out;
		}
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		fetched_clear(f);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* ---- the document for people (Danish) ------------------------------------------- */

static const char *ja_nej(int v)
{
	return v ? "ja" : "nej";
}

/* A long text, indented, one line of the text per line of output. */
static void text_block(struct proto_buf *b, const char *label, const char *text)
{
	const char *p = text, *nl;

	proto_buf_printf(b, "\n%s:\n", label);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		proto_buf_add_str(b, "  ");
		if (nl == NULL) {
			proto_buf_add_str(b, p);
			proto_buf_add_str(b, "\n");
			break;
		}
		proto_buf_add(b, p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
}

static void render(struct proto_buf *b, const struct fetched *f, const char *ref, struct varsko_home *h)
{
	const struct uh_doc *d = f->doc;
	char t[VARSKO_LOCAL_LEN + 1], inst[PROTO_NAME_MAX + PROTO_ID_MAX + 4];

	varsko_local_format(f->rc.received, t);
	proto_buf_printf(b, "Underretning %s\n", ref);
	proto_buf_printf(b, "Modtaget:          %s\n", t);
	proto_buf_printf(b, "Institution:       %s\n",
	                 directory_name_of(h, "institutions", d->institution, inst, sizeof(inst)));
	proto_buf_printf(b, "Akut:              %s\n", ja_nej(d->akut));
	proto_buf_printf(b, "Handicap:          %s\n", ja_nej(d->handicap));
	proto_buf_printf(b, "Aldersgruppe:      %s år\n", f->hdr.age_group);
	proto_buf_add_str(b, "\nBarnet\n");
	proto_buf_printf(b, "  Navn:            %s\n", d->child.name);
	if (d->child.cpr[0] != '\0')
		proto_buf_printf(b, "  CPR-nummer:      %s\n", d->child.cpr);
	else
		proto_buf_printf(b, "  Fødselsdato:     %02d.%02d.%04d\n", d->child.birth.day, d->child.birth.month,
		                 d->child.birth.year);
	proto_buf_printf(b, "  Adresse:         %s\n", d->child.address);
	if (d->n_parents > 0)
		proto_buf_add_str(b, "\nForældre\n");
	for (size_t i = 0; i < d->n_parents; i++) {
		const struct uh_parent *p = &d->parents[i];

		proto_buf_printf(b, "  %zu. %s\n", i + 1, p->name);
		if (p->address[0] != '\0')
			proto_buf_printf(b, "     Adresse:      %s\n", p->address);
		if (p->phone[0] != '\0')
			proto_buf_printf(b, "     Telefon:      %s\n", p->phone);
		proto_buf_printf(b, "     Forældremyndighed: %s\n", ja_nej(p->custody));
	}
	if (d->interpreter.needed)
		proto_buf_printf(b, "\nTolk:              ja (%s)\n", d->interpreter.language);
	else
		proto_buf_add_str(b, "\nTolk:              nej\n");
	proto_buf_add_str(b, "\nUnderretter\n");
	proto_buf_printf(b, "  Navn:            %s\n", d->notifier.name);
	proto_buf_printf(b, "  Rolle:           %s\n", d->notifier.role);
	proto_buf_printf(b, "  Relation:        %s\n", d->notifier.relation);
	text_block(b, "Bekymring", d->concern);
	text_block(b, "Observationer", d->observations);
	text_block(b, "Trivsel og udvikling", d->wellbeing);
	text_block(b, "Hjælp der er forsøgt", d->help_tried);
	if (d->parents_contacted.contacted)
		text_block(b, "Forældrene er kontaktet; deres reaktion", d->parents_contacted.reaction);
	else
		text_block(b, "Forældrene er ikke kontaktet; begrundelse", d->parents_contacted.reason);
	if (d->n_attachments > 0)
		proto_buf_add_str(b, "\nBilag\n");
	for (size_t i = 0; i < d->n_attachments; i++)
		proto_buf_printf(b, "  %s (%s, %llu bytes)\n", d->attachments[i].name, d->attachments[i].media_type,
		                 (unsigned long long)d->attachments[i].size);
}

int varsko_underretning_open(struct varsko_conn *c, const char *ref, struct varsko_opened **out)
{
	int r;
	struct fetched f;
	struct varsko_opened *o = NULL;
	struct proto_buf doc = {0}, text = {0};

	*out = NULL;
	c->detail[0] = '\0';
	memset(&f, 0, sizeof(f));
	if (!ref_ok(c, ref))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = fetch_open(c, ref, 1, &f)) != VARSKO_OK)
		goto out;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	snprintf(o->reference, sizeof(o->reference), "%s", ref);
	receipt_info(&f.rc, 0, &o->receipt);
	snprintf(o->sender_name, sizeof(o->sender_name), "%s", f.notifier.name);
	snprintf(o->signer, sizeof(o->signer), "%s", f.signer.device);
	if ((r = receipt_json_text(&f.rc, &o->receipt_json)) != VARSKO_OK)
		goto out;
	if ((r = json_compact((const char *)f.pt, f.pt_len, &doc)) != VARSKO_OK ||
	    (r = proto_buf_take(&doc, &o->document, &o->document_len)) != VARSKO_OK)
		goto out;
	render(&text, &f, ref, c->home);
	if ((r = proto_buf_take(&text, &o->text, &o->text_len)) != VARSKO_OK)
		goto out;
	*out = o;
	o = NULL;
	r = VARSKO_OK;
out:
	varsko_opened_free(o);
	proto_buf_free(&doc);
	proto_buf_free(&text);
	fetched_clear(&f);
	return r;
}

void varsko_opened_free(struct varsko_opened *o)
{
	if (o == NULL)
		return;
	free(o->receipt_json);
	varsko_free_secret(o->document, o->document_len);
	varsko_free_secret(o->text, o->text_len);
	sodium_memzero(o, sizeof(*o));
	free(o);
}

/* ---- events ---------------------------------------------------------------------- */

/* The notifier's devices, each certified for the receipt's user as a fagperson. */
static int notifier_recipients(struct varsko_conn *c, const char *ref, const struct varsko_receipt_info *rc,
                               struct proto_cert *certs, size_t *n)
{
	int r;
	json_t *req = NULL, *ans = NULL, *v;
	size_t i;
	int64_t now = (int64_t)time(NULL);

	*n = 0;
	if ((req = json_pack("{s:s, s:s}", "type", "notifier_devices", "reference", ref)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_DEVICES, &ans)) != VARSKO_OK)
		goto out;
	json_array_foreach(json_object_get(ans, "certs"), i, v)
	{
		if (i >= ENV_RECIPIENTS_MAX || cert_from_obj(v, &certs[i]) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "the notifier's device list is malformed");
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		if (proto_cert_verify(&certs[i], c->org_pk, now) != VARSKO_OK ||
		    strcmp(certs[i].role, "fagperson") != 0 || strcmp(certs[i].user, rc->sender_user) != 0) {
			snprintf(c->detail, sizeof(c->detail),
			         "a device in the notifier's list is not certified for the notifier; nothing was sent");
			r = VARSKO_ERR_BAD_CERT;
			goto out;
		}
		*n = i + 1;
	}
	if (*n == 0) {
		snprintf(c->detail, sizeof(c->detail), "the notifier has no active device to receive the message");
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	r = VARSKO_OK;
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

/* Seal a message for the notifier of ref (kind "kvittering" or "tilbagemelding"). */
static int seal_message(struct varsko_conn *c, const char *ref, const char *kind, const char *message,
                        struct env_envelope **env)
{
	int r;
	json_t *tl = NULL;
	struct varsko_status *st = NULL;
	struct proto_cert *certs = NULL;
	struct env_recipient rcpt[ENV_RECIPIENTS_MAX];
	struct env_params ep;
	struct proto_buf pt = {0};
	struct userkey_chain *uc = NULL;
	char uk_id[KEYBOX_KEYID_MAX + 1];
	size_t n = 0;

	*env = NULL;
	if ((r = msg_encode(message != NULL ? message : "", &pt)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "the message must be UTF-8 text of at most %d bytes without control characters",
		         VARSKO_MESSAGE_MAX);
		goto out;
	}
	/* Who the notifier is comes from the verified receipt, not from the server's say-so. */
	if ((r = timeline_request(c, ref, &tl)) != VARSKO_OK)
		goto out;
	if ((r = status_verify(tl, ref, c->org_pk, NULL, NULL, NULL, 0, &st, c->detail, sizeof(c->detail))) !=
	    VARSKO_OK)
		goto out;
	if ((certs = calloc(ENV_RECIPIENTS_MAX, sizeof(*certs))) == NULL || (uc = malloc(sizeof(*uc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/*
	 * To the notifier's current user key when the notifier has one, by the
	 * verified user chain (every device of the notifier reads it); else to
	 * the notifier's certified devices (PROTOCOL.md 12.5).
	 */
	if ((r = userkey_chain_of(c, st->receipt.sender_user, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation > 0) {
		if ((r = keybox_user_key_id(uk_id, st->receipt.sender_user, uc->st.generation)) != VARSKO_OK)
			goto out;
		rcpt[0].device = uk_id;
		memcpy(rcpt[0].box_pk, uc->st.uk_box_pk, PROTO_PK_LEN);
		n = 1;
	} else {
		if ((r = notifier_recipients(c, ref, &st->receipt, certs, &n)) != VARSKO_OK)
			goto out;
		for (size_t i = 0; i < n; i++) {
			rcpt[i].device = certs[i].device;
			memcpy(rcpt[i].box_pk, certs[i].box_pk, PROTO_PK_LEN);
		}
	}
	memset(&ep, 0, sizeof(ep));
	ep.kind = kind;
	ep.object_id = ref;
	ep.sender = c->id.device;
	if ((r = env_seal(&ep, rcpt, n, (const uint8_t *)pt.p, pt.len, c->k->sign_sk, env)) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "cannot seal the message for the notifier");
out:
	proto_buf_free(&pt);
	free(uc);
	free(certs);
	varsko_status_free(st);
	json_decref(tl);
	return r;
}

/* Open ref and seal the same document, with the same routing bytes, for team's key or verified roster (16.7). */
static int reseal(struct varsko_conn *c, const char *ref, const char *team, struct env_envelope **env)
{
	int r;
	struct fetched f;
	struct seal_targets *to = NULL;
	struct env_params ep;

	*env = NULL;
	memset(&f, 0, sizeof(f));
	if ((r = fetch_open(c, ref, 1, &f)) != VARSKO_OK)
		goto out;
	if ((to = malloc(sizeof(*to))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = seal_targets_for(c, team, NULL, 0, to)) != VARSKO_OK)
		goto out;
	memset(&ep, 0, sizeof(ep));
	ep.kind = "underretning";
	ep.object_id = ref;
	ep.sender = c->id.device;
	ep.routing = f.env->routing;
	ep.routing_len = f.env->routing_len;
	if ((r = env_seal(&ep, to->rcpt, to->n, f.pt, f.pt_len, c->k->sign_sk, env)) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "cannot seal the underretning for team %s", team);
out:
	fetched_clear(&f);
	free(to);
	return r;
}

static int id_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > PROTO_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int varsko_event(struct varsko_conn *c, const char *ref, const struct varsko_event_args *a, uint64_t *seq)
{
	int r = VARSKO_ERR_BAD_INPUT;
	struct flow_event ev;
	struct env_envelope *env = NULL;
	json_t *req = NULL, *ans = NULL, *eo = NULL, *envo = NULL, *sv;

	c->detail[0] = '\0';
	if (seq != NULL)
		*seq = 0;
	memset(&ev, 0, sizeof(ev));
	if (!ref_ok(c, ref))
		goto out;
	if (a == NULL || a->kind == NULL)
		goto out;
	ev.version = FLOW_VERSION;
	snprintf(ev.reference, sizeof(ev.reference), "%s", ref);
	ev.kind = flow_event_kind_from_name(a->kind);
	snprintf(ev.device, sizeof(ev.device), "%s", c->id.device);
	ev.time = (int64_t)time(NULL);
	ev.akut = -1;
	ev.started = -1;
	switch (ev.kind) {
	case FLOW_EV_AABNET:
	case FLOW_EV_AFSLUTTET:
		break;
	case FLOW_EV_VURDERET:
		if (a->akut != 0 && a->akut != 1) {
			snprintf(c->detail, sizeof(c->detail), "vurderet needs akut: yes or no");
			goto out;
		}
		ev.akut = a->akut;
		break;
	case FLOW_EV_KVITTERET:
		if (a->message == NULL || a->message[0] == '\0') {
			snprintf(c->detail, sizeof(c->detail), "a kvittering needs a message for the notifier");
			goto out;
		}
		if ((r = seal_message(c, ref, "kvittering", a->message, &env)) != VARSKO_OK)
			goto out;
		break;
	case FLOW_EV_TILBAGEMELDING:
		if (a->started != 0 && a->started != 1) {
			snprintf(c->detail, sizeof(c->detail),
			         "a tilbagemelding says whether anything was started: yes or no");
			goto out;
		}
		ev.started = a->started;
		if ((r = seal_message(c, ref, "tilbagemelding", a->message, &env)) != VARSKO_OK)
			goto out;
		break;
	case FLOW_EV_OMDIRIGERET:
		if (!id_valid(a->team)) {
			snprintf(c->detail, sizeof(c->detail), "omdirigeret needs the new team's id");
			goto out;
		}
		snprintf(ev.team, sizeof(ev.team), "%s", a->team);
		if ((r = reseal(c, ref, a->team, &env)) != VARSKO_OK)
			goto out;
		break;
	default:
		snprintf(c->detail, sizeof(c->detail), "this device cannot send a %s event", a->kind);
		goto out;
	}
	if (env != NULL) {
		ev.has_envelope = 1;
		if ((r = flow_envelope_hash(ev.envelope_hash, env)) != VARSKO_OK)
			goto out;
		if ((r = env_to_obj(env, &envo)) != VARSKO_OK)
			goto out;
	}
	if ((r = flow_event_sign(&ev, c->k->sign_sk)) != VARSKO_OK)
		goto out;
	if ((r = flow_event_to_json(&ev, &eo)) != VARSKO_OK)
		goto out;
	if ((req = json_object()) == NULL || json_object_set_new(req, "type", json_string("event")) != 0 ||
	    json_object_set(req, "event", eo) != 0 || (envo != NULL && json_object_set(req, "envelope", envo) != 0)) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_EVENT_OK, &ans)) != VARSKO_OK)
		goto out;
	if (seq != NULL && json_is_integer(sv = json_object_get(ans, "seq")))
		*seq = (uint64_t)json_integer_value(sv);
	r = VARSKO_OK;
out:
	env_free(env);
	json_decref(req);
	json_decref(ans);
	json_decref(eo);
	json_decref(envo);
	return r;
}
