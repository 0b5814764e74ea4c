/*
 * handle.c: one underretning from MQTT, from payload to filed case.
 *
 * Trust comes only from the organisation key pinned in the home: the sender
 * certificate and the gateway certificate must verify against it (at the
 * time the gateway received the underretning), the receipt must be signed
 * by that gateway for exactly this envelope (envelope_hash) and reference,
 * and the envelope must be signed by the sender's device; or, for an
 * underretning re-routed to this team, the envelope is re-sealed and signed
 * by a myndighed worker (see verify()). Only then is it decrypted with the
 * agent's box key (or, for an envelope sealed to the team's key
 * "team:<team>:<g>" instead of this device, with generation g of the team
 * key, opened through the agent's own user key: teamkey_open(), cached) and
 * the document checked with uh_parse(). Anything that
 * fails is logged by its error name and the reference, never acknowledged
 * and never filed. A failure that will not pass (it does not verify, no key
 * of ours opens it, the document is bad) is reported to varskod with a
 * signed refusal, which makes it a dead letter there (PROTOCOL.md 12.9);
 * one that may pass (no session for the team key) is not, and the gateway
 * sends it again until it gets `modtaget`.
 *
 * The plaintext never passes through jansson (whose copies we could not
 * wipe): the filed record is the other fields dumped by jansson with the
 * validated document text spliced in, all in sodium_malloc memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "agent.h"
#include "underretning.h"

/* The log name of a receipt whose envelope is not the one in the message (for instance re-routed). */
static const char envelope_mismatch[] = "envelope_mismatch";

/* What a checked message holds. */
struct msg {
	char reference[FLOW_REF_MAX + 1];
	struct proto_cert sender;
	struct proto_cert gateway;
	struct flow_receipt receipt;
	struct env_envelope *env;
	struct proto_cert notifier; /* the record's sender: the sender certificate, or from the receipt */
	int rerouted;               /* the envelope was re-sealed by sender (a myndighed worker) */
	const char *expect_object;  /* the envelope's object id: submission id, or the reference */
};

/* Parse a nested certificate object (borrowed) strictly. */
static int cert_from(const json_t *j, struct proto_cert *out)
{
	int r;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		return VARSKO_ERR_NOMEM;
	r = proto_cert_from_json(s, strlen(s), out);
	free(s);
	return r;
}

/* Parse the nested envelope object (borrowed) strictly. *out owned by the caller (env_free()). */
static int env_from(const json_t *j, struct env_envelope **out)
{
	int r;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	*out = NULL;
	if (s == NULL)
		return VARSKO_ERR_NOMEM;
	r = env_from_json(s, strlen(s), out);
	free(s);
	return r;
}

/* The receipt's notifier as the record's sender, when the message carries a re-routing worker's certificate. */
static void notifier_from_receipt(struct msg *m)
{
	memset(&m->notifier, 0, sizeof(m->notifier));
	snprintf(m->notifier.user, sizeof(m->notifier.user), "%s", m->receipt.sender_user);
	snprintf(m->notifier.role, sizeof(m->notifier.role), "%s", "fagperson");
	snprintf(m->notifier.device, sizeof(m->notifier.device), "%s", m->receipt.sender);
	m->notifier.n_institutions = 1;
	snprintf(m->notifier.institutions[0], sizeof(m->notifier.institutions[0]), "%s", m->receipt.institution);
}

/*
 * Parse and check everything but the ciphertext. On failure *why is a
 * static English reason safe to log (or envelope_mismatch).
 *
 * Two envelopes are accepted. The notifier's own: its hash is the
 * receipt's envelope_hash, its sender the receipt's sender, whose
 * certificate (role fagperson) verifies at the receipt's time; its object id
 * is the submission id. Or one re-sealed by a myndighed worker who re-routed
 * the underretning to this team (docs/FLOW.md, step 7): object id = the
 * reference, signed by the device of the message's certificate, which must
 * be a myndighed certificate of the organisation valid now. The MQTT message
 * does not carry the omdirigeret event itself, so the agent cannot tell
 * which worker re-routed it; varskod only publishes it after it has checked
 * that event, and the document must still pass uh_parse and name the
 * receipt's institution.
 */
static int verify(const struct agent *a, const json_t *o, struct msg *m, const char **why)
{
	int r = VARSKO_ERR_INTERNAL;
	uint8_t hash[32];
	struct uh_header hdr;

	*why = "sender certificate malformed";
	if ((r = cert_from(json_object_get(o, "sender_cert"), &m->sender)) != VARSKO_OK)
		goto out;
	*why = "gateway certificate malformed";
	if ((r = cert_from(json_object_get(o, "gateway_cert"), &m->gateway)) != VARSKO_OK)
		goto out;
	*why = "receipt malformed";
	if ((r = flow_receipt_from_json(json_object_get(o, "receipt"), &m->receipt)) != VARSKO_OK)
		goto out;
	*why = "envelope malformed";
	if ((r = env_from(json_object_get(o, "envelope"), &m->env)) != VARSKO_OK)
		goto out;

	r = VARSKO_ERR_BAD_INPUT;
	*why = "the receipt is for another reference";
	if (strcmp(m->receipt.reference, m->reference) != 0)
		goto out;
	*why = "receipt";
	if ((r = flow_receipt_verify(&m->receipt, &m->gateway, a->org_pk, m->receipt.received)) != VARSKO_OK)
		goto out;
	*why = "envelope hash";
	if ((r = flow_envelope_hash(hash, m->env)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_INPUT;
	*why = "the envelope is not an underretning";
	if (strcmp(m->env->kind, "underretning") != 0)
		goto out;

	if (sodium_memcmp(hash, m->receipt.envelope_hash, sizeof(hash)) == 0) {
		*why = "the envelope's sender or object is not the receipt's";
		if (strcmp(m->env->sender, m->receipt.sender) != 0 ||
		    strcmp(m->env->object_id, m->receipt.submission) != 0)
			goto out;
		*why = "sender certificate";
		if ((r = proto_cert_verify(&m->sender, a->org_pk, m->receipt.received)) != VARSKO_OK)
			goto out;
		r = VARSKO_ERR_BAD_CERT;
		*why = "the sender is not a fagperson";
		if (strcmp(m->sender.role, "fagperson") != 0)
			goto out;
		*why = "the sender certificate is not the receipt's sender";
		if (strcmp(m->sender.device, m->receipt.sender) != 0 ||
		    strcmp(m->sender.user, m->receipt.sender_user) != 0)
			goto out;
		m->notifier = m->sender;
		m->expect_object = m->receipt.submission;
	} else if (strcmp(m->env->object_id, m->reference) == 0) {
		*why = "re-routing worker's certificate";
		if ((r = proto_cert_verify(&m->sender, a->org_pk, (int64_t)time(NULL))) != VARSKO_OK)
			goto out;
		r = VARSKO_ERR_BAD_CERT;
		*why = "the re-sealed envelope is not from a myndighed worker";
		if (strcmp(m->sender.role, "myndighed") != 0 || strcmp(m->env->sender, m->sender.device) != 0)
			goto out;
		notifier_from_receipt(m);
		m->rerouted = 1;
		m->expect_object = m->reference;
	} else {
		r = VARSKO_ERR_BAD_INPUT;
		*why = envelope_mismatch;
		goto out;
	}
	r = VARSKO_ERR_BAD_INPUT;
	*why = "the routing header does not agree with the receipt";
	if (uh_header_decode(m->env->routing, m->env->routing_len, &hdr) != VARSKO_OK ||
	    strcmp(hdr.institution, m->receipt.institution) != 0 || strcmp(hdr.submission, m->receipt.submission) != 0)
		goto out;
	*why = "envelope signature";
	if ((r = env_verify(m->env, m->sender.sign_pk)) != VARSKO_OK)
		goto out;
	*why = "";
	r = VARSKO_OK;
out:
	return r;
}

/*
 * The filed record: {"document":DOC,"filed_at":T,"receipt":R,"reference":S,
 * "sender":{"device","institutions","role","user"}} plus, for a re-routed
 * underretning, "rerouted_by":{"device","role","team","user"} (keys sorted),
 * and a newline, with the document text doc[0..doc_len) (already validated)
 * spliced in. *out is sodium_malloc memory owned by the caller (sodium_free
 * wipes it).
 */
static int build_record(const struct msg *m, const uint8_t *doc, size_t doc_len, char **out, size_t *out_len)
{
	static const char head[] = "{\"document\":";
	int r = VARSKO_ERR_NOMEM;
	json_t *o = NULL, *sender = NULL, *inst = NULL, *rc = NULL, *by = NULL;
	char filed_at[PROTO_TIME_LEN + 1];
	char *rest = NULL, *buf = NULL;
	size_t rest_len, n, pos = 0;

	*out = NULL;
	proto_time_format((int64_t)time(NULL), filed_at);
	if ((r = flow_receipt_to_json(&m->receipt, &rc)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	if ((o = json_object()) == NULL || (sender = json_object()) == NULL || (inst = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < m->notifier.n_institutions; i++)
		if (json_array_append_new(inst, json_string(m->notifier.institutions[i])) != 0)
			goto out;
	if (json_object_set_new(sender, "user", json_string(m->notifier.user)) != 0 ||
	    json_object_set_new(sender, "role", json_string(m->notifier.role)) != 0 ||
	    json_object_set_new(sender, "device", json_string(m->notifier.device)) != 0)
		goto out;
	if (m->rerouted) {
		if ((by = json_object()) == NULL || json_object_set_new(by, "user", json_string(m->sender.user)) != 0 ||
		    json_object_set_new(by, "role", json_string(m->sender.role)) != 0 ||
		    json_object_set_new(by, "team", json_string(m->sender.team)) != 0 ||
		    json_object_set_new(by, "device", json_string(m->sender.device)) != 0)
			goto out;
		r = json_object_set_new(o, "rerouted_by", by);
		by = NULL;
		if (r != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	r = json_object_set_new(sender, "institutions", inst);
	inst = NULL;
	if (r != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (json_object_set_new(o, "reference", json_string(m->reference)) != 0 ||
	    json_object_set_new(o, "filed_at", json_string(filed_at)) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = json_object_set_new(o, "receipt", rc);
	rc = NULL;
	if (r != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = json_object_set_new(o, "sender", sender);
	sender = NULL;
	if (r != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = VARSKO_ERR_NOMEM;
	if ((rest = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	rest_len = strlen(rest);
	if (rest_len < 2 || rest[0] != '{') {
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}
	/* "document" sorts before every other key, so the record stays sorted. */
	n = sizeof(head) - 1 + doc_len + 1 + (rest_len - 1) + 1;
	if ((buf = sodium_malloc(n + 1)) == NULL)
		goto out;
	memcpy(buf + pos, head, sizeof(head) - 1);
	pos += sizeof(head) - 1;
	memcpy(buf + pos, doc, doc_len);
	pos += doc_len;
	buf[pos++] = ',';
	memcpy(buf + pos, rest + 1, rest_len - 1);
	pos += rest_len - 1;
	buf[pos++] = '\n';
	buf[pos] = '\0';
	*out = buf;
	*out_len = pos;
	buf = NULL;
	r = VARSKO_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	free(rest);
	json_decref(by);
	json_decref(rc);
	json_decref(inst);
	json_decref(sender);
	json_decref(o);
	return r;
}

/* A log text for a document problem (uh_parse); static, never input bytes. */
static const char *doc_problem(enum uh_problem p)
{
	switch (p) {
	case UH_PROBLEM_JSON:
		return "document: not one JSON object";
	case UH_PROBLEM_MISSING:
		return "document: a field is missing";
	case UH_PROBLEM_WRONG_TYPE:
		return "document: a field has the wrong type";
	case UH_PROBLEM_TOO_LONG:
		return "document: a field is too long";
	case UH_PROBLEM_BAD_VALUE:
		return "document: a field has a bad value";
	case UH_PROBLEM_UNKNOWN_FIELD:
		return "document: an unknown field";
	case UH_PROBLEM_NOT_ALLOWED:
		return "document: a field that is not allowed there";
	default:
		return "document: not valid";
	}
}

/* Decrypt and validate. On VARSKO_OK *pt (env_plaintext_free) holds the document text. */
void agent_teamkeys_wipe(struct agent *a)
{
	for (size_t i = 0; i < AGENT_TEAMKEY_CACHE; i++) {
		keybox_gen_free(a->tk_gens[i]);
		a->tk_gens[i] = NULL;
	}
	a->tk_next = 0;
}

/*
 * Generation g of the team key (borrowed from the cache, valid until the
 * next call): from the cache, else teamkey_open() over the session with
 * varskod. A generation's key never changes, so a cached one stays good.
 */
static int team_key(struct agent *a, uint64_t g, const struct keybox_gen **out)
{
	struct keybox_gen *gen = NULL;
	size_t i;
	int r;

	*out = NULL;
	for (i = 0; i < AGENT_TEAMKEY_CACHE; i++)
		if (a->tk_gens[i] != NULL && a->tk_gens[i]->generation == g) {
			*out = a->tk_gens[i];
			return VARSKO_OK;
		}
	if ((r = agent_conn(a)) != VARSKO_OK)
		return r;
	r = teamkey_open(a->conn, a->team, g, &gen);
	conn_push_free_all(a->conn);
	if (r != VARSKO_OK) {
		agent_conn_failed(a, r);
		return r;
	}
	for (i = 0; i < AGENT_TEAMKEY_CACHE && a->tk_gens[i] != NULL; i++)
		;
	if (i == AGENT_TEAMKEY_CACHE) {
		i = a->tk_next;
		a->tk_next = (a->tk_next + 1) % AGENT_TEAMKEY_CACHE;
		keybox_gen_free(a->tk_gens[i]);
	}
	a->tk_gens[i] = gen;
	*out = gen;
	return VARSKO_OK;
}

/*
 * The recipient id and box key the envelope is opened with: this device's,
 * when the envelope has a wrap for it; else the team key of the first wrap
 * for "team:<team>:<g>" (kid receives that key id). VARSKO_ERR_CRYPTO when
 * neither is there (env_open() would say the same).
 */
static int open_key(struct agent *a, const struct env_envelope *e, char kid[KEYBOX_KEYID_MAX + 1], const char **rid,
                    const uint8_t **box_sk, const char **why)
{
	char own[KEYBOX_OWNER_MAX + 1], owner[KEYBOX_OWNER_MAX + 1];
	const struct keybox_gen *gen;
	uint64_t g = 0;
	size_t i;
	int r;

	*rid = a->cert.device;
	*box_sk = a->keys->box_sk;
	for (i = 0; i < e->n_wraps; i++)
		if (strcmp(e->wraps[i].device, a->cert.device) == 0)
			return VARSKO_OK;
	if (keybox_team_owner(own, a->team) != VARSKO_OK)
		return VARSKO_ERR_CRYPTO;
	for (i = 0; i < e->n_wraps; i++)
		if (keybox_key_id_split(e->wraps[i].device, owner, &g) == VARSKO_OK && strcmp(owner, own) == 0)
			break;
	if (i == e->n_wraps)
		return VARSKO_ERR_CRYPTO; /* for neither this device nor the team's key */
	*why = "cannot open the team key generation it is sealed to";
	if ((r = team_key(a, g, &gen)) != VARSKO_OK)
		return r;
	snprintf(kid, KEYBOX_KEYID_MAX + 1, "%s", e->wraps[i].device);
	*rid = kid;
	*box_sk = gen->box_sk;
	return VARSKO_OK;
}

/* *opened: 1 once the envelope opened (a failure after that is the document's, not the key's). */
static int open_document(struct agent *a, const struct msg *m, uint8_t **pt, size_t *pt_len, const char **why,
                         int *opened)
{
	int r;
	struct uh_doc *doc = NULL;
	struct uh_error uerr;
	char kid[KEYBOX_KEYID_MAX + 1];
	const char *rid;
	const uint8_t *box_sk;

	*why = "cannot decrypt";
	if ((r = open_key(a, m->env, kid, &rid, &box_sk, why)) != VARSKO_OK)
		goto out;
	*why = "cannot decrypt";
	if ((r = env_open(m->env, m->sender.sign_pk, rid, box_sk, "underretning", m->expect_object, pt, pt_len)) !=
	    VARSKO_OK)
		goto out;
	*opened = 1;
	/* A raw NUL is not JSON anyway; refusing it here keeps the record a plain C string. */
	r = VARSKO_ERR_BAD_INPUT;
	*why = "document holds a NUL byte";
	if (memchr(*pt, 0, *pt_len) != NULL)
		goto out;
	memset(&uerr, 0, sizeof(uerr));
	if ((r = uh_parse((const char *)*pt, *pt_len, &doc, &uerr)) != VARSKO_OK) {
		*why = doc_problem(uerr.problem);
		goto out;
	}
	r = VARSKO_ERR_BAD_INPUT;
	*why = "the document's institution is not the receipt's";
	if (strcmp(doc->institution, m->receipt.institution) != 0)
		goto out;
	*why = "";
	r = VARSKO_OK;
out:
	uh_doc_free(doc);
	if (r != VARSKO_OK) {
		env_plaintext_free(*pt, *pt_len);
		*pt = NULL;
		*pt_len = 0;
	}
	return r;
}

/* A file name of an attachment for the case directory: only A-Z a-z 0-9 . _ - (others '_'), no leading '.'. */
static void attachment_name(char out[NAME_MAX + 1], size_t index, const char *name)
{
	int n = snprintf(out, NAME_MAX + 1, "%zu-", index);
	size_t k = n > 0 ? (size_t)n : 0;

	for (const char *p = name; *p != '\0' && k < 120; p++) {
		char ch = *p;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			ch = '_';
		out[k++] = ch;
	}
	out[k] = '\0';
}

/*
 * The underretning's attachments (PROTOCOL.md 17.9), fetched over the
 * session with varskod, decrypted and checked against the document, each
 * written to <REF>.bilag/<n>-<name> before the record is filed, so a case
 * system that sees <REF>.json finds its files beside it. One already there
 * (an earlier attempt) is kept. A session that fails is VARSKO_OK's
 * opposite: not filed yet, the message comes again. An attachment that
 * cannot be had (not found, does not open) is logged and counted, and the
 * record is filed all the same: the underretning must not wait for it.
 */
static int file_attachments(struct agent *a, const char *ref, const uint8_t *pt, size_t pt_len, const char **why)
{
	struct uh_doc *doc = NULL;
	struct uh_error e;
	char dir[NAME_MAX + 1], name[NAME_MAX + 1], fname[VARSKO_FILE_NAME_MAX + 1], type[VARSKO_MEDIA_TYPE_MAX + 1];
	uint8_t *data = NULL;
	size_t len = 0, n;
	int r, dfd = -1;

	memset(&e, 0, sizeof(e));
	if (uh_parse((const char *)pt, pt_len, &doc, &e) != VARSKO_OK) {
		uh_doc_free(doc);
		return VARSKO_OK; /* open_document() checked it */
	}
	/* Only attachments that were sent (their id a blob id); one only described has no file to fetch. */
	n = 0;
	for (size_t i = 0; i < doc->n_attachments; i++)
		n += thread_blob_id_valid(doc->attachments[i].id) != 0;
	if (n == 0) {
		uh_doc_free(doc);
		return VARSKO_OK;
	}
	n = doc->n_attachments;
	*why = "cannot store the attachments";
	snprintf(dir, sizeof(dir), "%s.bilag", ref);
	if ((mkdirat(a->case_fd, dir, 0700) != 0 && errno != EEXIST) ||
	    (dfd = openat(a->case_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = VARSKO_ERR_IO;
		goto out;
	}
	for (size_t i = 1; i <= n; i++) {
		if (!thread_blob_id_valid(doc->attachments[i - 1].id))
			continue;
		attachment_name(name, i, doc->attachments[i - 1].name);
		if (casedir_has(dfd, name))
			continue;
		*why = "no session with varskod for the attachments";
		if ((r = agent_conn(a)) != VARSKO_OK)
			goto out;
		r = attach_of_document(a->conn, (const char *)pt, pt_len, i, &data, &len, fname, type);
		conn_push_free_all(a->conn);
		if (agent_session_error(r) || r == VARSKO_ERR_UNAVAILABLE) {
			agent_conn_failed(a, r);
			goto out;
		}
		if (r != VARSKO_OK) {
			/* Never the file's name or bytes in the log: its number and why. */
			agent_log("%s: attachment %zu not filed: %s", ref, i, varsko_err_name(r));
			a->stats.errors++;
			continue;
		}
		r = casedir_write(a, dfd, name, data, len, 1);
		varsko_free_secret(data, len);
		data = NULL;
		if (r != VARSKO_OK && r != VARSKO_ERR_EXISTS) {
			*why = "cannot write an attachment";
			goto out;
		}
	}
	r = VARSKO_OK;
out:
	if (dfd >= 0)
		close(dfd);
	uh_doc_free(doc);
	return r;
}

/*
 * File the record: <REF>.json in the case directory (casedir_file_record(),
 * in the open batch when there is one), or through the spool and the command.
 */
static int file_record(struct agent *a, const struct msg *m, const char *rec, size_t rec_len, int *duplicate,
                       int *deferred)
{
	char name[NAME_MAX + 1];
	int r;

	*duplicate = *deferred = 0;
	if (a->command == NULL)
		return casedir_file_record(a, m->reference, rec, rec_len, m->rerouted, duplicate, deferred);
	if (snprintf(name, sizeof(name), "%s.json", m->reference) >= (int)sizeof(name))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = casedir_write(a, a->spool_fd, name, rec, rec_len, 0)) != VARSKO_OK)
		return r;
	return casedir_run_command(a, m->reference);
}

/* Log the refusal of ref and report it to varskod as a dead letter with `reason`. */
static void refuse(struct agent *a, const char *ref, enum flow_refusal_reason reason)
{
	int r = casedir_refuse(a, ref, reason);

	if (r == VARSKO_OK)
		agent_log("%s: reported to varskod as refused (%s)", ref, flow_refusal_reason_name(reason));
	else
		agent_log("%s: cannot report the refusal (%s); it is refused again when it comes again", ref,
		          varsko_err_name(r));
}

void agent_handle(struct agent *a, const char *payload, size_t len)
{
	json_t *o = NULL;
	enum flow_type type = FLOW_T_NONE;
	struct msg *m = NULL;
	const char *detail = "", *why = "";
	uint8_t *pt = NULL;
	size_t pt_len = 0, rec_len = 0;
	char *rec = NULL;
	char spool[NAME_MAX + 1];
	int r, dup = 0, deferred = 0, opened = 0;

	if ((r = flow_mqtt_parse(payload, len, &o, &type, &detail)) != VARSKO_OK) {
		agent_log("-: refused:%s (%s)", varsko_err_name(r), detail);
		a->stats.errors++;
		goto out;
	}
	if (type != FLOW_T_UNDERRETNING) {
		agent_log("-: refused:%s (a %s message on the underretning topic)",
		          varsko_err_name(VARSKO_ERR_UNKNOWN_TYPE),
		          flow_type_name(type) != NULL ? flow_type_name(type) : "?");
		a->stats.errors++;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		agent_log("-: failed:%s", varsko_err_name(VARSKO_ERR_NOMEM));
		a->stats.errors++;
		goto out;
	}
	/* flow_mqtt_parse checked it is a well-formed reference, so it is safe in a log and a file name. */
	snprintf(m->reference, sizeof(m->reference), "%s", json_string_value(json_object_get(o, "reference")));

	if ((r = verify(a, o, m, &why)) != VARSKO_OK) {
		if (why == envelope_mismatch)
			agent_log("%s: refused:%s", m->reference, envelope_mismatch);
		else
			agent_log("%s: refused:%s (%s)", m->reference, varsko_err_name(r), why);
		a->stats.errors++;
		if (r != VARSKO_ERR_NOMEM && r != VARSKO_ERR_INTERNAL)
			refuse(a, m->reference, FLOW_RF_FAILED_CHECK);
		goto out;
	}

	if (casedir_is_filed(a, m->reference)) {
		/* Filed before: send the events stored then again (a lost ack is repaired, nothing re-signed). */
		if (casedir_ack(a, m->reference, FLOW_EV_MODTAGET) != VARSKO_OK ||
		    casedir_ack(a, m->reference, FLOW_EV_JOURNALISERET) != VARSKO_OK) {
			agent_log("%s: duplicate; failed:%s (cannot store the event)", m->reference,
			          varsko_err_name(VARSKO_ERR_IO));
			a->stats.errors++;
			goto out;
		}
		agent_log("%s: duplicate", m->reference);
		agent_count_success(a);
		goto out;
	}
	snprintf(spool, sizeof(spool), "%s.json", m->reference);
	if (a->command != NULL && casedir_has(a->spool_fd, spool)) {
		/* Decrypted and acknowledged before; only the command has not succeeded yet. */
		(void)casedir_ack(a, m->reference, FLOW_EV_MODTAGET);
		if (casedir_run_command(a, m->reference) == VARSKO_OK) {
			agent_log("%s: filed", m->reference);
			agent_count_filed(a);
		} else
			agent_log("%s: not filed yet (the command failed; retrying)", m->reference);
		goto out;
	}

	if ((r = open_document(a, m, &pt, &pt_len, &why, &opened)) != VARSKO_OK) {
		/* No session for the team key now is not a fault of the underretning: unacknowledged, it comes again. */
		if (agent_session_error(r) || r == VARSKO_ERR_UNAVAILABLE)
			agent_log("%s: not filed yet (%s: %s; it is delivered again)", m->reference, why, varsko_err_name(r));
		else {
			agent_log("%s: refused:%s (%s)", m->reference, varsko_err_name(r), why);
			a->stats.errors++;
			if (r != VARSKO_ERR_NOMEM && r != VARSKO_ERR_INTERNAL)
				refuse(a, m->reference, opened ? FLOW_RF_BAD_DOCUMENT : FLOW_RF_CANNOT_OPEN);
		}
		goto out;
	}
	if ((r = file_attachments(a, m->reference, pt, pt_len, &why)) != VARSKO_OK) {
		/* Unacknowledged: the underretning comes again, and the files already written stay. */
		agent_log("%s: not filed yet (%s: %s; it is delivered again)", m->reference, why, varsko_err_name(r));
		goto out;
	}
	if ((r = casedir_ack(a, m->reference, FLOW_EV_MODTAGET)) != VARSKO_OK) {
		agent_log("%s: failed:%s (cannot store the modtaget event)", m->reference, varsko_err_name(r));
		a->stats.errors++;
		goto out;
	}
	if ((r = build_record(m, pt, pt_len, &rec, &rec_len)) != VARSKO_OK) {
		agent_log("%s: failed:%s (cannot build the record)", m->reference, varsko_err_name(r));
		a->stats.errors++;
		goto out;
	}
	env_plaintext_free(pt, pt_len);
	pt = NULL;
	pt_len = 0;
	r = file_record(a, m, rec, rec_len, &dup, &deferred);
	if (r == VARSKO_OK && deferred) {
		/* Logged and counted when the batch is committed. */
	} else if (r == VARSKO_OK) {
		agent_log("%s: %s", m->reference, dup ? "duplicate" : m->rerouted ? "filed (re-routed)" : "filed");
		if (dup)
			agent_count_success(a);
		else
			agent_count_filed(a);
	} else if (a->command != NULL) {
		agent_log("%s: not filed yet (the command failed; retrying)", m->reference);
	} else {
		agent_log("%s: failed:%s (cannot write the case file)", m->reference, varsko_err_name(r));
		a->stats.errors++;
	}
out:
	if (rec != NULL)
		sodium_free(rec);
	env_plaintext_free(pt, pt_len);
	if (m != NULL) {
		env_free(m->env);
		sodium_memzero(m, sizeof(*m));
		free(m);
	}
	json_decref(o);
}
