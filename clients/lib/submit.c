/*
 * submit.c: sending an underretning (docs/FLOW.md steps 1-3 and the check of
 * step 4's receipt) and the pieces it is made of: the document check, the
 * submission id, and the team roster (verified against the pinned
 * organisation key, never older than the newest seen).
 *
 * The document is plaintext: it is only ever in the caller's buffer, in the
 * parsed struct (wiped by uh_doc_free) and inside the envelope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "calendar.h"
#include "client.h"

#define SUBMISSION_TAG "varsko-submission-v1"

static void problem_fill(const struct uh_error *ue, struct varsko_doc_problem *p)
{
	if (p == NULL)
		return;
	memset(p, 0, sizeof(*p));
	snprintf(p->problem, sizeof(p->problem), "%s", uh_problem_name(ue->problem));
	snprintf(p->path, sizeof(p->path), "%s", ue->path);
	p->line = ue->line;
	p->column = ue->column;
}

int varsko_document_problems(const char *doc, size_t len, struct varsko_doc_problem *list, size_t cap, size_t *n)
{
	struct uh_error ue[UH_PROBLEMS_MAX];
	struct uh_doc *d = NULL;
	size_t found = 0;
	int r;

	if (n != NULL)
		*n = 0;
	if (doc == NULL || (list == NULL && cap > 0))
		return VARSKO_ERR_BAD_INPUT;
	memset(ue, 0, sizeof(ue));
	r = uh_parse_all(doc, len, &d, ue, UH_PROBLEMS_MAX, &found);
	uh_doc_free(d);
	for (size_t i = 0; i < found && i < cap && i < UH_PROBLEMS_MAX; i++)
		problem_fill(&ue[i], &list[i]);
	if (n != NULL)
		*n = found;
	return r;
}

int varsko_document_akut(const char *doc, size_t len)
{
	struct uh_doc *d = NULL;
	struct uh_error ue;
	int akut = -1;

	memset(&ue, 0, sizeof(ue));
	if (doc != NULL && uh_parse(doc, len, &d, &ue) == VARSKO_OK)
		akut = d->akut ? 1 : 0;
	uh_doc_free(d);
	return akut;
}

int varsko_document_check(const char *doc, size_t len, struct varsko_doc_problem *problem)
{
	struct uh_doc *d = NULL;
	struct uh_error ue;
	int r;

	memset(&ue, 0, sizeof(ue));
	if (problem != NULL)
		memset(problem, 0, sizeof(*problem));
	if (doc == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = uh_parse(doc, len, &d, &ue)) != VARSKO_OK) {
		if (r == VARSKO_ERR_TOO_LARGE)
			ue.problem = UH_PROBLEM_TOO_LONG;
		problem_fill(&ue, problem);
	}
	uh_doc_free(d);
	return r;
}

int varsko_submission_id(const char *user, const void *doc, size_t len, char out[VARSKO_SUBMISSION_LEN + 1])
{
	struct proto_buf b;
	uint8_t h[crypto_generichash_BYTES];
	int r;

	out[0] = '\0';
	if (user == NULL || user[0] == '\0' || (doc == NULL && len > 0))
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&b);
	proto_buf_put_str(&b, SUBMISSION_TAG);
	proto_buf_put_str(&b, user);
	proto_buf_put_bytes(&b, doc, len);
	if ((r = b.err) == VARSKO_OK) {
		crypto_generichash(h, sizeof(h), b.p, b.len, NULL, 0);
		memcpy(out, "s-", 2);
		sodium_bin2hex(out + 2, VARSKO_SUBMISSION_LEN - 1, h, 16);
	}
	proto_buf_free(&b);
	return r;
}

/* A team id that is also a safe file name in the home. */
static int team_file_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > PROTO_ID_MAX || t[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

int roster_check(const json_t *roster_obj, const char *team, const uint8_t org_pk[PROTO_PK_LEN], int64_t now,
                 struct flow_roster *out, char *detail, size_t dcap)
{
	int r;
	const char *why = NULL;

	if ((r = flow_roster_from_json(roster_obj, out)) != VARSKO_OK) {
		snprintf(detail, dcap, "the team roster is malformed");
		return r;
	}
	if (strcmp(out->team, team) != 0 || !team_file_ok(out->team)) {
		snprintf(detail, dcap, "the roster is not for the team named");
		return VARSKO_ERR_BAD_CERT;
	}
	if ((r = flow_roster_verify(out, org_pk, now, &why)) != VARSKO_OK) {
		snprintf(detail, dcap, "the roster of team %s does not verify: %s", out->team, why != NULL ? why : "?");
		return r == VARSKO_ERR_DEVICE_EXPIRED ? VARSKO_ERR_BAD_CERT : r;
	}
	return VARSKO_OK;
}

static int same_devices(const struct flow_roster *a, const struct flow_roster *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->certs[i].device, b->certs[i].device) != 0 ||
		    sodium_memcmp(a->certs[i].box_pk, b->certs[i].box_pk, PROTO_PK_LEN) != 0)
			return 0;
	return 1;
}

int roster_accept(struct varsko_home *h, const struct flow_roster *r, char *detail, size_t dcap)
{
	int rc;
	char name[sizeof(HOME_D_ROSTERS) + PROTO_ID_MAX + 2];
	char *text = NULL, *line = NULL;
	size_t len = 0;
	json_t *o = NULL;
	struct flow_roster *old = NULL;

	if (!team_file_ok(r->team)) {
		snprintf(detail, dcap, "the roster's team cannot be kept in the home");
		return VARSKO_ERR_BAD_INPUT;
	}
	snprintf(name, sizeof(name), "%s/%s", HOME_D_ROSTERS, r->team);
	rc = home_read(h, name, &text, &len);
	if (rc == VARSKO_OK) {
		if ((old = calloc(1, sizeof(*old))) == NULL) {
			rc = VARSKO_ERR_NOMEM;
			goto out;
		}
		if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		    flow_roster_from_json(o, old) != VARSKO_OK || strcmp(old->team, r->team) != 0) {
			snprintf(detail, dcap, "the roster kept for team %s in %s/%s cannot be read", r->team, h->path,
			         HOME_D_ROSTERS);
			rc = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
		if (r->version < old->version) {
			snprintf(
			        detail, dcap,
			        "the server sent version %llu of team %s's roster, older than version %llu seen before",
			        (unsigned long long)r->version, r->team, (unsigned long long)old->version);
			rc = VARSKO_ERR_BAD_CERT;
			goto out;
		}
		if (r->version == old->version) {
			if (!same_devices(r, old)) {
				snprintf(detail, dcap,
				         "version %llu of team %s's roster lists other devices than before",
				         (unsigned long long)r->version, r->team);
				rc = VARSKO_ERR_BAD_CERT;
			}
			goto out; /* nothing new to keep */
		}
		json_decref(o);
		o = NULL;
	} else if (rc != VARSKO_ERR_NOT_FOUND) {
		snprintf(detail, dcap, "cannot read %s/%s", h->path, name);
		goto out;
	}
	if ((rc = flow_roster_to_json(r, &o)) != VARSKO_OK)
		goto out;
	free(text);
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		rc = VARSKO_ERR_NOMEM;
		goto out;
	}
	len = strlen(text);
	if ((line = malloc(len + 2)) == NULL) {
		rc = VARSKO_ERR_NOMEM;
		goto out;
	}
	memcpy(line, text, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	if ((rc = home_write(h, name, line, len + 1, 0600, 0)) != VARSKO_OK)
		snprintf(detail, dcap, "cannot write %s/%s", h->path, name);
out:
	json_decref(o);
	free(old);
	free(text);
	free(line);
	return rc;
}

/* Is inst one of the certificate's institutions? */
static int cert_has_institution(const struct proto_cert *c, const char *inst)
{
	for (size_t i = 0; i < c->n_institutions; i++)
		if (strcmp(c->institutions[i], inst) == 0)
			return 1;
	return 0;
}

static int id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* The roster path of seal_targets_for(): the verified roster's devices. */
static int targets_roster(struct varsko_conn *c, const char *team, const json_t *roster_obj, struct seal_targets *t)
{
	struct flow_roster *roster = calloc(1, sizeof(*roster));
	json_t *req = NULL, *ans = NULL;
	int r;

	if (roster == NULL)
		return VARSKO_ERR_NOMEM;
	if (roster_obj == NULL) {
		if ((req = json_pack("{s:s, s:s}", "type", "roster", "team", team)) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if ((r = conn_request(c, req, FLOW_T_ROUTED, &ans)) != VARSKO_OK)
			goto out;
		roster_obj = json_object_get(ans, "roster");
	}
	if ((r = roster_check(roster_obj, team, c->org_pk, (int64_t)time(NULL), roster, c->detail,
	                      sizeof(c->detail))) != VARSKO_OK ||
	    (r = roster_accept(c->home, roster, c->detail, sizeof(c->detail))) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < roster->n; i++) {
		snprintf(t->ids[i], sizeof(t->ids[i]), "%s", roster->certs[i].device);
		t->rcpt[i].device = t->ids[i];
		memcpy(t->rcpt[i].box_pk, roster->certs[i].box_pk, PROTO_PK_LEN);
	}
	t->n = roster->n;
out:
	free(roster);
	json_decref(req);
	json_decref(ans);
	return r;
}

int seal_targets_for(struct varsko_conn *c, const char *team, const json_t *roster_obj, int own_copy,
                     struct seal_targets *out)
{
	struct keybox_gen *own = NULL;
	int r, has = 0;

	memset(out, 0, sizeof(*out));
	/*
	 * A home enrolled before the org chain existed holds no root: it cannot
	 * verify a team chain and seals to the roster, which varskod refuses
	 * for a team with a team key (the device is then enrolled again).
	 */
	if (!home_has(c->home, HOME_F_ROOT))
		return targets_roster(c, team, roster_obj, out);
	for (int waited = 0;; waited++) {
		r = teamkey_for_sender(c, team, &has, out->ids[0], out->rcpt[0].box_pk);
		if (r != VARSKO_ERR_STALE_KEY || waited >= SEAL_STALE_WAIT)
			break;
		sleep(1); /* the team's agent renews a stale key within seconds (PROTOCOL.md 16.6) */
	}
	if (r != VARSKO_OK)
		return r;
	if (!has)
		return targets_roster(c, team, roster_obj, out);
	out->keyed = 1;
	out->rcpt[0].device = out->ids[0];
	out->n = 1;
	if (!own_copy)
		return VARSKO_OK;
	/* The notifier's own copy: the current user key, when the user has one. */
	if ((r = userkey_current(c, &own)) == VARSKO_ERR_NOT_FOUND || r == VARSKO_ERR_NOT_CROSS_SIGNED) {
		c->detail[0] = '\0';
		return VARSKO_OK;
	}
	if (r != VARSKO_OK)
		return r;
	if ((r = keybox_user_key_id(out->ids[1], c->id.user, own->generation)) == VARSKO_OK) {
		out->rcpt[1].device = out->ids[1];
		memcpy(out->rcpt[1].box_pk, own->box_pk, PROTO_PK_LEN);
		out->n = 2;
	}
	keybox_gen_free(own);
	return r;
}

/*
 * Nobody to read it: the route answer's roster, verified, names no
 * caseworker (flow_roster_readers()). An unverifiable roster says nothing
 * here (the sealing path checks what it uses).
 */
static int roster_no_reader(struct varsko_conn *c, const char *team, const json_t *roster_obj, int64_t now)
{
	struct flow_roster *ro = malloc(sizeof(*ro));
	char detail[256];
	int none = 0;

	if (ro == NULL || roster_obj == NULL)
		goto out;
	if (roster_check(roster_obj, team, c->org_pk, now, ro, detail, sizeof(detail)) == VARSKO_OK)
		none = flow_roster_readers(ro) == 0;
out:
	free(ro);
	return none;
}

int varsko_underret_send(struct varsko_conn *c, const char *doc, size_t len, const char *submission,
                         struct varsko_receipt_info *info, char **receipt_json)
{
	int r = VARSKO_ERR_INTERNAL, dup, no_reader = 0;
	struct uh_doc *d = NULL;
	struct uh_error ue;
	struct uh_header hdr;
	struct uh_date today;
	struct cal_local lt;
	struct proto_buf routing;
	struct seal_targets *to = NULL;
	struct env_params ep;
	struct env_envelope *env = NULL;
	struct flow_receipt rc;
	struct proto_cert gw;
	json_t *req = NULL, *ans = NULL, *obj = NULL;
	char team[PROTO_ID_MAX + 1] = "", sub[PROTO_ID_MAX + 1], *text = NULL;
	size_t tlen = 0;
	uint8_t hash[32];
	int64_t now = (int64_t)time(NULL);

	c->detail[0] = '\0';
	proto_buf_init(&routing);
	memset(&ue, 0, sizeof(ue));
	if (receipt_json != NULL)
		*receipt_json = NULL;
	if (doc == NULL) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((r = uh_parse(doc, len, &d, &ue)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the document is not valid: %s at %s",
		         r == VARSKO_ERR_TOO_LARGE ? "too_long" : uh_problem_name(ue.problem),
		         ue.path[0] != '\0' ? ue.path : "the document");
		goto out;
	}
	if (strcmp(c->cert.role, "fagperson") != 0 || !cert_has_institution(&c->cert, d->institution)) {
		snprintf(c->detail, sizeof(c->detail),
		         "this device may not send underretninger for the document's institution");
		r = VARSKO_ERR_FORBIDDEN;
		goto out;
	}
	if (submission != NULL) {
		if (!id_valid(submission)) {
			snprintf(c->detail, sizeof(c->detail), "a submission id is 1 to 64 visible ASCII characters");
			r = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
		snprintf(sub, sizeof(sub), "%s", submission);
	} else if ((r = varsko_submission_id(c->id.user, doc, len, sub)) != VARSKO_OK) {
		goto out;
	}

	/* 1. The routing header, aged by the Copenhagen date of today. */
	if ((r = cal_to_local(now, &lt)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the clock of this computer is outside 1996..2099");
		goto out;
	}
	today.year = lt.year;
	today.month = lt.month;
	today.day = lt.day;
	if ((r = uh_header_derive(d, &today, sub, now, &hdr)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "no routing header: the child is older than 22 or born after today");
		goto out;
	}

	/* 2. The route and the team's roster. */
	if ((r = uh_header_to_json(&hdr, &text, &tlen)) != VARSKO_OK)
		goto out;
	if ((obj = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, NULL)) == NULL || (req = json_object()) == NULL ||
	    json_object_set_new(req, "type", json_string("route")) != 0 || json_object_set(req, "header", obj) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_ROUTED, &ans)) != VARSKO_OK)
		goto out;
	snprintf(team, sizeof(team), "%s", json_string_value(json_object_get(ans, "team")));
	if ((to = malloc(sizeof(*to))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	no_reader = roster_no_reader(c, team, json_object_get(ans, "roster"), now);
	/* 3. Seal for the team's key and the own user key, or a team without a key's roster, and submit. */
	if ((r = seal_targets_for(c, team, json_object_get(ans, "roster"), 1, to)) != VARSKO_OK)
		goto out;
	if ((r = uh_header_encode(&hdr, &routing)) != VARSKO_OK)
		goto out;
	memset(&ep, 0, sizeof(ep));
	ep.kind = "underretning";
	ep.object_id = sub;
	ep.sender = c->id.device;
	ep.routing = routing.p;
	ep.routing_len = routing.len;
	if ((r = env_seal(&ep, to->rcpt, to->n, (const uint8_t *)doc, len, c->k->sign_sk, &env)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot seal the document for team %s", team);
		goto out;
	}
	if ((r = flow_envelope_hash(hash, env)) != VARSKO_OK)
		goto out;
	json_decref(req);
	json_decref(obj);
	json_decref(ans);
	req = ans = obj = NULL;
	if ((r = env_to_obj(env, &obj)) != VARSKO_OK)
		goto out;
	if ((req = json_object()) == NULL || json_object_set_new(req, "type", json_string("submit")) != 0 ||
	    json_object_set(req, "envelope", obj) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_RECEIPT, &ans)) != VARSKO_OK)
		goto out;

	/* 4. The receipt: signed by the gateway, and for what we sent. */
	dup = json_is_true(json_object_get(ans, "duplicate"));
	if ((r = flow_receipt_from_json(json_object_get(ans, "receipt"), &rc)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the receipt is malformed");
		goto out;
	}
	if ((r = home_load_gateway(c->home, &gw)) != VARSKO_OK) {
		detail_set(c->detail, sizeof(c->detail), c->home->detail);
		goto out;
	}
	if ((r = receipt_check(&rc, &gw, c->org_pk, c->detail, sizeof(c->detail))) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_SIGNATURE;
	if (strcmp(rc.submission, sub) != 0 || strcmp(rc.sender_user, c->id.user) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the receipt is for another submission or user");
		goto out;
	}
	if (!dup && (sodium_memcmp(rc.envelope_hash, hash, sizeof(hash)) != 0 || strcmp(rc.sender, c->id.device) != 0 ||
	             strcmp(rc.institution, d->institution) != 0 || strcmp(rc.team, team) != 0)) {
		snprintf(c->detail, sizeof(c->detail),
		         "the receipt does not name the envelope, device, institution or team that was sent");
		goto out;
	}
	if ((r = receipt_save(c->home, &rc)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "underretning %s was received, but its receipt could not be saved in the home; send again to "
		         "get it once more",
		         rc.reference);
		goto out;
	}
	if (info != NULL) {
		receipt_info(&rc, dup, info);
		info->roster_only = !dup && !to->keyed && home_has(c->home, HOME_F_ROOT);
		info->team_key = !dup && to->keyed;
		info->no_reader = no_reader;
	}
	if (receipt_json != NULL && (r = receipt_json_text(&rc, receipt_json)) != VARSKO_OK)
		goto out;
	r = VARSKO_OK;
out:
	uh_doc_free(d);
	env_free(env);
	proto_buf_free(&routing);
	free(to);
	free(text);
	json_decref(req);
	json_decref(obj);
	json_decref(ans);
	sodium_memzero(&hdr, sizeof(hdr));
	return r;
}
