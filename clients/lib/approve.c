/*
 * approve.c: approving a new device from an existing one (PROTOCOL.md 15.7),
 * both sides of the exchange.
 *
 * varskod only relays: an approval is its record of a commitment and two
 * nonces, and every check that matters is made here. The new device commits
 * to a secret nonce n_new and its keys before it learns the old device's
 * n_old, and reveals n_new only after; both then derive the six-digit code
 * of PROTOCOL.md 14.6 from both nonces, the old device's signing key and the
 * new device's keys. The user reads the code on the new device and types it
 * on the old one, which compares in constant time and, on a match only,
 * appends device_add for the new device and seals the user key to it, by the
 * same code as a recovery (userkey_add_device() in userkey.c).
 *
 * Neither side can pick its input after seeing the other's: the new device
 * is bound by its commitment, the old device sends n_old before it sees
 * n_new, and varskod (which could play either part) is bound the same way.
 * So a substituted device or key matches the code with probability about
 * 2^-19, and the old device allows one comparison per approval.
 *
 * Waiting is polling (approve_get every APPROVE_POLL_MS); between polls the
 * connection is serviced, so pushes are queued for varsko_watch() as usual.
 * An approval handle lives in sodium_malloc memory: it holds this side's
 * nonce until it is no longer needed and the code, and is wiped when freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

#define APPROVE_POLL_MS 500
#define APPROVE_GRACE_S 30 /* seconds the new device waits past the approval's expiry for its key box */

_Static_assert(VARSKO_APPROVAL_CODE_LEN == KEYBOX_APPROVAL_DIGITS, "the code's length");
_Static_assert(APPROVE_NONCE_LEN == crypto_hash_sha256_BYTES, "nonces and commitments are SHA-256 outputs");

enum approve_side { SIDE_NEW = 1, SIDE_OLD = 2 };

struct varsko_approval {
	enum approve_side side;
	char id[VARSKO_APPROVAL_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1]; /* the new device */
	uint8_t commit[APPROVE_NONCE_LEN];
	int64_t expires;
	uint8_t mine[APPROVE_NONCE_LEN];       /* n_new (new side, wiped once revealed) or n_old (old side) */
	int revealed;                          /* new side: n_new has been sent and wiped */
	struct proto_cert cert;                /* old side: the new device's certificate, checked */
	char code[KEYBOX_APPROVAL_DIGITS + 1]; /* old side: the code, once n_new has come */
	int state;                             /* old side: 0 offered, 1 code ready, 2 approved, -1 failed */
};

/* ---- the code and what is typed ------------------------------------------------------ */

int approve_code_of(char out[KEYBOX_APPROVAL_DIGITS + 1], const uint8_t n_old[APPROVE_NONCE_LEN],
                    const uint8_t n_new[APPROVE_NONCE_LEN], const uint8_t old_sign_pk[PROTO_PK_LEN],
                    const uint8_t new_sign_pk[PROTO_PK_LEN], const uint8_t new_box_pk[PROTO_PK_LEN])
{
	uint8_t nonce[APPROVE_NONCE_LEN];
	int r;

	memset(out, 0, KEYBOX_APPROVAL_DIGITS + 1);
	if ((r = keybox_approval_nonce(nonce, n_old, n_new)) == VARSKO_OK)
		r = keybox_approval_code(out, nonce, old_sign_pk, new_sign_pk, new_box_pk);
	sodium_memzero(nonce, sizeof(nonce));
	return r;
}

int approve_code_typed(const char *typed, char out[KEYBOX_APPROVAL_DIGITS + 1])
{
	size_t n = 0;

	memset(out, 0, KEYBOX_APPROVAL_DIGITS + 1);
	if (typed == NULL)
		return VARSKO_ERR_BAD_INPUT;
	for (size_t i = 0; typed[i] != '\0'; i++) {
		char ch = typed[i];

		if (i >= APPROVE_TYPED_MAX)
			goto bad;
		if (ch == ' ' || ch == '-' || ch == '\t')
			continue;
		if (ch < '0' || ch > '9' || n == KEYBOX_APPROVAL_DIGITS)
			goto bad;
		out[n++] = ch;
	}
	if (n == KEYBOX_APPROVAL_DIGITS)
		return VARSKO_OK;
bad:
	sodium_memzero(out, KEYBOX_APPROVAL_DIGITS + 1);
	return VARSKO_ERR_BAD_INPUT;
}

int approve_id_valid(const char *id)
{
	if (id == NULL || strncmp(id, "a-", 2) != 0 || strlen(id) != VARSKO_APPROVAL_ID_MAX)
		return 0;
	for (size_t i = 2; i < VARSKO_APPROVAL_ID_MAX; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- the approval object of an answer ------------------------------------------------ */

/* An approval as an answer carries it (the members of PROTOCOL.md 15.7's table), parsed. */
struct appr_view {
	const char *id, *device, *old_device; /* borrowed from the answer; old_device NULL until offered */
	const json_t *cert;
	uint8_t commit[APPROVE_NONCE_LEN];
	int64_t created, expires;
	int has_old, has_new;
	uint8_t nonce_old[APPROVE_NONCE_LEN], nonce_new[APPROVE_NONCE_LEN];
};

static int b64_member(const json_t *o, const char *k, uint8_t out[APPROVE_NONCE_LEN], int *has)
{
	const json_t *v = json_object_get(o, k);

	if (has != NULL)
		*has = v != NULL;
	if (v == NULL)
		return has != NULL ? VARSKO_OK : VARSKO_ERR_BAD_FRAME;
	if (!json_is_string(v) || proto_b64_decode_exact(json_string_value(v), out, APPROVE_NONCE_LEN) != VARSKO_OK)
		return VARSKO_ERR_BAD_FRAME;
	return VARSKO_OK;
}

/* Parse one approval object (flow.c has checked the members' kinds); c->detail on failure. */
static int view_of(struct varsko_conn *c, const json_t *o, struct appr_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = json_string_value(json_object_get(o, "approval"));
	v->device = json_string_value(json_object_get(o, "device"));
	v->old_device = json_string_value(json_object_get(o, "old_device"));
	v->cert = json_object_get(o, "cert");
	if (!approve_id_valid(v->id) || v->device == NULL || !json_is_object(v->cert) ||
	    b64_member(o, "commit", v->commit, NULL) != VARSKO_OK ||
	    b64_member(o, "nonce_old", v->nonce_old, &v->has_old) != VARSKO_OK ||
	    b64_member(o, "nonce_new", v->nonce_new, &v->has_new) != VARSKO_OK ||
	    proto_time_parse(json_string_value(json_object_get(o, "created")), &v->created) != VARSKO_OK ||
	    proto_time_parse(json_string_value(json_object_get(o, "expires")), &v->expires) != VARSKO_OK ||
	    v->has_old != (v->old_device != NULL) || (v->has_new && !v->has_old)) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with a malformed approval");
		return VARSKO_ERR_PROTOCOL;
	}
	return VARSKO_OK;
}

/*
 * Send an approve_* request (req borrowed; "type" and members set) and parse
 * the answer `approval`, which must be the approval `id` (when not NULL).
 * *ans (owned by the caller) keeps the strings of v alive.
 */
static int approval_request(struct varsko_conn *c, json_t *req, const char *id, json_t **ans, struct appr_view *v)
{
	int r;

	if ((r = conn_request(c, req, FLOW_T_APPROVAL, ans)) != VARSKO_OK)
		return r;
	if ((r = view_of(c, *ans, v)) != VARSKO_OK)
		return r;
	if (id != NULL && strcmp(v->id, id) != 0) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with another approval than %s", id);
		return VARSKO_ERR_PROTOCOL;
	}
	return VARSKO_OK;
}

/* approve_get of a; NOT_FOUND (expired, replaced or gone) with a detail for people. */
static int approval_get(struct varsko_conn *c, const struct varsko_approval *a, json_t **ans, struct appr_view *v)
{
	int r;
	json_t *req = json_pack("{s:s, s:s}", "type", "approve_get", "approval", a->id);

	*ans = NULL;
	if (req == NULL)
		return VARSKO_ERR_NOMEM;
	r = approval_request(c, req, a->id, ans, v);
	json_decref(req);
	if (r == VARSKO_ERR_NOT_FOUND)
		snprintf(c->detail, sizeof(c->detail),
		         "the approval %s is no longer open: it expired (an approval lives 10 minutes) or the new "
		         "device replaced it with a newer request",
		         a->id);
	return r;
}

/*
 * The fixed parts of the approval must not change between answers: the new
 * device, its commitment, and (old side) its certificate's keys; once
 * offered, the offer.
 */
static int view_same(struct varsko_conn *c, const struct varsko_approval *a, const struct appr_view *v)
{
	if (strcmp(v->device, a->device) != 0 || sodium_memcmp(v->commit, a->commit, APPROVE_NONCE_LEN) != 0) {
		snprintf(c->detail, sizeof(c->detail), "varskod changed the device or commitment of approval %s",
		         a->id);
		return VARSKO_ERR_APPROVAL_FAILED;
	}
	if (a->side == SIDE_OLD) {
		struct proto_cert ce;

		if (cert_from_obj(v->cert, &ce) != VARSKO_OK ||
		    sodium_memcmp(ce.sign_pk, a->cert.sign_pk, PROTO_PK_LEN) != 0 ||
		    sodium_memcmp(ce.box_pk, a->cert.box_pk, PROTO_PK_LEN) != 0 || !v->has_old ||
		    strcmp(v->old_device, c->id.device) != 0 ||
		    sodium_memcmp(v->nonce_old, a->mine, APPROVE_NONCE_LEN) != 0) {
			snprintf(c->detail, sizeof(c->detail),
			         "varskod changed the certificate or the offer of approval %s", a->id);
			return VARSKO_ERR_APPROVAL_FAILED;
		}
	}
	return VARSKO_OK;
}

/* ---- waiting ------------------------------------------------------------------------ */

/* Monotonic deadline for a timeout in ms (< 0: none). */
static int64_t deadline_of(int64_t timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX : wsc_now_ms() + timeout_ms;
}

/*
 * Wait up to ms (not past deadline), servicing the connection: pushes are
 * queued, stray frames dropped. VARSKO_ERR_TIMEOUT when the deadline has
 * passed, else VARSKO_OK or a transport error.
 */
static int pause_until(struct varsko_conn *c, int64_t ms, int64_t deadline)
{
	int64_t now = wsc_now_ms(), until = now + ms;
	struct conn_frame f;
	int r;

	if (now >= deadline) {
		snprintf(c->detail, sizeof(c->detail), "timed out waiting for the other device");
		return VARSKO_ERR_TIMEOUT;
	}
	if (until > deadline)
		until = deadline;
	for (;;) {
		r = conn_next(c, until, 0, &f);
		conn_frame_clear(&f);
		if (r == VARSKO_ERR_TIMEOUT)
			return VARSKO_OK;
		if (r != VARSKO_OK)
			return r;
	}
}

/* ---- the new device ------------------------------------------------------------------ */

static int approval_new(struct varsko_approval **out, enum approve_side side)
{
	if ((*out = sodium_malloc(sizeof(**out))) == NULL)
		return VARSKO_ERR_NOMEM;
	memset(*out, 0, sizeof(**out));
	(*out)->side = side;
	return VARSKO_OK;
}

void varsko_approval_free(struct varsko_approval *a)
{
	if (a != NULL)
		sodium_free(a); /* wipes */
}

const char *varsko_approval_id(const struct varsko_approval *a)
{
	return a != NULL ? a->id : "";
}

const char *varsko_approval_device(const struct varsko_approval *a)
{
	return a != NULL ? a->device : "";
}

int64_t varsko_approval_expires(const struct varsko_approval *a)
{
	return a != NULL ? a->expires : 0;
}

int varsko_approval_request(struct varsko_conn *c, struct varsko_approval **out)
{
	int r;
	struct varsko_approval *a = NULL;
	struct appr_view v;
	json_t *req = NULL, *ans = NULL;
	char commit64[64];

	*out = NULL;
	c->detail[0] = '\0';
	if ((r = approval_new(&a, SIDE_NEW)) != VARSKO_OK)
		return r;
	randombytes_buf(a->mine, sizeof(a->mine));
	snprintf(a->device, sizeof(a->device), "%s", c->id.device);
	if ((r = keybox_approval_commit(a->commit, a->mine, c->k->sign_pk, c->k->box_pk)) != VARSKO_OK ||
	    (r = proto_b64_encode(a->commit, sizeof(a->commit), commit64, sizeof(commit64))) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s}", "type", "approve_request", "commit", commit64)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = approval_request(c, req, NULL, &ans, &v)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			snprintf(c->detail, sizeof(c->detail),
			         "this device is already one of %s's devices by the user chain: there is nothing to "
			         "approve",
			         c->id.user);
		else if (r == VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail),
			         "%s has no user key yet, so no device can approve this one", c->id.user);
		goto out;
	}
	snprintf(a->id, sizeof(a->id), "%s", v.id);
	a->expires = v.expires;
	if ((r = view_same(c, a, &v)) != VARSKO_OK)
		goto out;
	if (v.has_old) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered a new request with an offered approval");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	*out = a;
	a = NULL;
out:
	varsko_approval_free(a);
	json_decref(req);
	json_decref(ans);
	return r;
}

/*
 * The old device's signing key by the verified chain: a device the chain
 * added and did not revoke, with a certificate valid now.
 */
static int old_device_key(struct varsko_conn *c, const char *device, uint8_t sign_pk[PROTO_PK_LEN])
{
	int r, j;
	struct userkey_chain *uc = NULL;

	if ((uc = malloc(sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = userkey_chain_of(c, c->id.user, uc)) != VARSKO_OK)
		goto out;
	j = userkey_find_device(uc, device);
	if (j < 0 || uc->st.devices[j].revoked || !uc->dev[j].certified) {
		snprintf(c->detail, sizeof(c->detail),
		         "the device that offered to approve this one (%s) is not one of %s's devices by the verified "
		         "user chain: nothing was revealed",
		         device, c->id.user);
		r = VARSKO_ERR_NOT_CROSS_SIGNED;
		goto out;
	}
	memcpy(sign_pk, uc->st.devices[j].sign_pk, PROTO_PK_LEN);
out:
	free(uc);
	return r;
}

int varsko_approval_reveal(struct varsko_conn *c, struct varsko_approval *a, int64_t timeout_ms,
                           char code[VARSKO_APPROVAL_CODE_LEN + 1])
{
	int r;
	int64_t deadline = deadline_of(timeout_ms);
	struct appr_view v;
	json_t *ans = NULL, *req = NULL;
	uint8_t old_pk[PROTO_PK_LEN], n_old[APPROVE_NONCE_LEN];
	char old_device[PROTO_ID_MAX + 1], n64[64];

	memset(code, 0, VARSKO_APPROVAL_CODE_LEN + 1);
	c->detail[0] = '\0';
	if (a == NULL || a->side != SIDE_NEW || a->revealed) {
		snprintf(c->detail, sizeof(c->detail),
		         "not an approval request of this device that waits for an offer");
		return VARSKO_ERR_BAD_INPUT;
	}
	/* Step 2 is the old device's: wait for its n_old. */
	for (;;) {
		json_decref(ans);
		if ((r = approval_get(c, a, &ans, &v)) != VARSKO_OK)
			goto out;
		if ((r = view_same(c, a, &v)) != VARSKO_OK)
			goto out;
		if (v.has_old)
			break;
		if ((r = pause_until(c, APPROVE_POLL_MS, deadline)) != VARSKO_OK)
			goto out;
	}
	memcpy(n_old, v.nonce_old, sizeof(n_old));
	snprintf(old_device, sizeof(old_device), "%s", v.old_device);
	if (strcmp(old_device, c->id.device) == 0) {
		snprintf(c->detail, sizeof(c->detail), "varskod says this device offered its own approval");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	if ((r = old_device_key(c, old_device, old_pk)) != VARSKO_OK)
		goto out;
	/* Step 3: reveal n_new, which nobody could know when n_old was chosen. */
	if ((r = proto_b64_encode(a->mine, sizeof(a->mine), n64, sizeof(n64))) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:s}", "type", "approve_reveal", "approval", a->id, "nonce", n64)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	json_decref(ans);
	ans = NULL;
	if ((r = approval_request(c, req, a->id, &ans, &v)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail), "the approval %s expired before the reveal", a->id);
		goto out;
	}
	if ((r = view_same(c, a, &v)) != VARSKO_OK)
		goto out;
	if (!v.has_new || sodium_memcmp(v.nonce_new, a->mine, APPROVE_NONCE_LEN) != 0 || !v.has_old ||
	    sodium_memcmp(v.nonce_old, n_old, APPROVE_NONCE_LEN) != 0) {
		snprintf(c->detail, sizeof(c->detail), "varskod did not keep the nonces of approval %s", a->id);
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	/* Step 4: the code, from both nonces, the old device's key and this device's keys. */
	r = approve_code_of(code, n_old, a->mine, old_pk, c->k->sign_pk, c->k->box_pk);
	sodium_memzero(a->mine, sizeof(a->mine));
	a->revealed = 1;
out:
	if (r != VARSKO_OK)
		memset(code, 0, VARSKO_APPROVAL_CODE_LEN + 1);
	sodium_memzero(n64, sizeof(n64));
	json_decref(req);
	json_decref(ans);
	return r;
}

int varsko_approval_wait(struct varsko_conn *c, struct varsko_approval *a, int64_t timeout_ms)
{
	int r, named;
	int64_t deadline = deadline_of(timeout_ms), life;
	struct keybox_gen *g = NULL;
	struct appr_view v;
	json_t *ans = NULL;

	c->detail[0] = '\0';
	if (a == NULL || a->side != SIDE_NEW || !a->revealed) {
		snprintf(c->detail, sizeof(c->detail), "not an approval request of this device that has been revealed");
		return VARSKO_ERR_BAD_INPUT;
	}
	/* Never past the approval's life (and a little): a chain that names us but no key box ends too. */
	life = wsc_now_ms() + (a->expires - (int64_t)time(NULL) + APPROVE_GRACE_S) * 1000;
	if (life < deadline)
		deadline = life;
	for (;;) {
		/* Approved: the verified chain names this device and its box opens to the chain's key. */
		r = userkey_current(c, &g);
		keybox_gen_free(g);
		g = NULL;
		if (r == VARSKO_OK || (r != VARSKO_ERR_NOT_CROSS_SIGNED && r != VARSKO_ERR_NOT_FOUND))
			break;                     /* approved, or a failure */
		named = r == VARSKO_ERR_NOT_FOUND; /* in the chain, the key box not yet there */
		json_decref(ans);
		ans = NULL;
		r = approval_get(c, a, &ans, &v);
		if (r == VARSKO_ERR_NOT_FOUND && !named) {
			/* Gone while the chain does not name us: once more, in case the link came just now. */
			r = userkey_current(c, &g);
			keybox_gen_free(g);
			g = NULL;
			if (r == VARSKO_OK)
				break;
			snprintf(c->detail, sizeof(c->detail),
			         "the approval %s is no longer open and this device was not approved: it expired, "
			         "was replaced by a newer request, or the code typed on the other device was wrong",
			         a->id);
			r = VARSKO_ERR_NOT_FOUND;
			break;
		}
		if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
			break;
		if (r == VARSKO_OK && (r = view_same(c, a, &v)) != VARSKO_OK)
			break;
		if ((r = pause_until(c, APPROVE_POLL_MS, deadline)) != VARSKO_OK) {
			if (r == VARSKO_ERR_TIMEOUT)
				snprintf(c->detail, sizeof(c->detail),
				         "timed out waiting for the other device to approve this one (were the codes "
				         "typed right?)");
			break;
		}
	}
	json_decref(ans);
	return r;
}

/* ---- the old device ------------------------------------------------------------------- */

/* The new device's certificate must be the organisation's, valid now, for this user, and the approval's device. */
static int cert_check(struct varsko_conn *c, const struct appr_view *v, struct proto_cert *out)
{
	int r;

	if ((r = cert_from_obj(v->cert, out)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the certificate of the new device does not parse");
		return VARSKO_ERR_BAD_CERT;
	}
	if ((r = proto_cert_verify(out, c->org_pk, (int64_t)time(NULL))) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "the certificate of the new device %s does not verify against the organisation key (%s)",
		         v->device, varsko_err_name(r));
		return r;
	}
	if (strcmp(out->user, c->id.user) != 0 || strcmp(out->device, v->device) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the new device's certificate is not for %s's device %s",
		         c->id.user, v->device);
		return VARSKO_ERR_BAD_CERT;
	}
	return VARSKO_OK;
}

int varsko_approval_list(struct varsko_conn *c, char **json_out)
{
	int r;
	json_t *req = NULL, *ans = NULL, *items = NULL, *o = NULL;
	const json_t *e;
	size_t i;

	*json_out = NULL;
	c->detail[0] = '\0';
	if ((req = json_pack("{s:s}", "type", "approve_list")) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_APPROVALS, &ans)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_NOMEM;
	if ((items = json_array()) == NULL)
		goto out;
	json_array_foreach(json_object_get(ans, "items"), i, e)
	{
		struct appr_view v;
		struct proto_cert ce;
		char created[PROTO_TIME_LEN + 1], expires[PROTO_TIME_LEN + 1];
		int ok;
		json_t *it;

		if ((r = view_of(c, e, &v)) != VARSKO_OK)
			goto out;
		ok = cert_check(c, &v, &ce) == VARSKO_OK;
		c->detail[0] = '\0';
		proto_time_format(v.created, created);
		proto_time_format(v.expires, expires);
		it = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s}", "approval", v.id, "device", v.device,
		               "created", created, "expires", expires, "offered", v.has_old, "cert_ok", ok, "name",
		               ok ? ce.name : "", "role", ok ? ce.role : "");
		if (it == NULL || json_array_append_new(items, it) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	r = VARSKO_ERR_NOMEM;
	if ((o = json_pack("{s:O}", "items", items)) == NULL ||
	    (*json_out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = VARSKO_OK;
out:
	json_decref(o);
	json_decref(items);
	json_decref(req);
	json_decref(ans);
	return r;
}

int varsko_approval_offer(struct varsko_conn *c, const char *approval_id, int64_t timeout_ms,
                          struct varsko_approval **out)
{
	int r;
	int64_t deadline = deadline_of(timeout_ms);
	struct varsko_approval *a = NULL;
	struct keybox_gen *g = NULL;
	struct appr_view v;
	json_t *req = NULL, *ans = NULL;
	uint8_t commit[APPROVE_NONCE_LEN];
	char n64[64];

	*out = NULL;
	c->detail[0] = '\0';
	if (!approve_id_valid(approval_id)) {
		snprintf(c->detail, sizeof(c->detail), "an approval id is a- and 16 lowercase hex digits");
		return VARSKO_ERR_BAD_INPUT;
	}
	/* Only a device that holds the user key can finish an approval: find out before offering. */
	if ((r = userkey_current(c, &g)) != VARSKO_OK)
		return r;
	keybox_gen_free(g);
	if ((r = approval_new(&a, SIDE_OLD)) != VARSKO_OK)
		return r;
	snprintf(a->id, sizeof(a->id), "%s", approval_id);
	if ((r = approval_get(c, a, &ans, &v)) != VARSKO_OK)
		goto out;
	if (strcmp(v.device, c->id.device) == 0) {
		snprintf(c->detail, sizeof(c->detail), "a device cannot approve itself");
		r = VARSKO_ERR_FORBIDDEN;
		goto out;
	}
	if (v.has_old) {
		snprintf(c->detail, sizeof(c->detail),
		         "approval %s has already been offered by %s: the new device must ask again (varsko device "
		         "request)",
		         approval_id, v.old_device);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if ((r = cert_check(c, &v, &a->cert)) != VARSKO_OK)
		goto out;
	snprintf(a->device, sizeof(a->device), "%s", v.device);
	memcpy(a->commit, v.commit, sizeof(a->commit));
	a->expires = v.expires;
	/* Step 2: n_old, chosen before anything of n_new is known. */
	randombytes_buf(a->mine, sizeof(a->mine));
	if ((r = proto_b64_encode(a->mine, sizeof(a->mine), n64, sizeof(n64))) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:s}", "type", "approve_offer", "approval", a->id, "nonce", n64)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	json_decref(ans);
	ans = NULL;
	if ((r = approval_request(c, req, a->id, &ans, &v)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			snprintf(c->detail, sizeof(c->detail), "approval %s has already been offered by another device",
			         a->id);
		goto out;
	}
	/* Step 3 is the new device's: wait for n_new. */
	for (;;) {
		if ((r = view_same(c, a, &v)) != VARSKO_OK)
			goto out;
		if (v.has_new)
			break;
		if ((r = pause_until(c, APPROVE_POLL_MS, deadline)) != VARSKO_OK) {
			if (r == VARSKO_ERR_TIMEOUT)
				snprintf(c->detail, sizeof(c->detail),
				         "timed out waiting for the new device to answer the offer");
			goto out;
		}
		json_decref(ans);
		if ((r = approval_get(c, a, &ans, &v)) != VARSKO_OK)
			goto out;
	}
	/* Step 4: n_new must open the commitment made before n_old was sent. */
	if ((r = keybox_approval_commit(commit, v.nonce_new, a->cert.sign_pk, a->cert.box_pk)) != VARSKO_OK)
		goto out;
	if (sodium_memcmp(commit, a->commit, sizeof(commit)) != 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "the new device's revealed nonce does not open its commitment: the exchange was tampered "
		         "with, nothing was approved");
		r = VARSKO_ERR_APPROVAL_FAILED;
		goto out;
	}
	if ((r = approve_code_of(a->code, a->mine, v.nonce_new, c->k->sign_pk, a->cert.sign_pk, a->cert.box_pk)) !=
	    VARSKO_OK)
		goto out;
	sodium_memzero(a->mine, sizeof(a->mine));
	a->state = 1;
	*out = a;
	a = NULL;
out:
	sodium_memzero(n64, sizeof(n64));
	varsko_approval_free(a);
	json_decref(req);
	json_decref(ans);
	return r;
}

int varsko_approval_confirm(struct varsko_conn *c, struct varsko_approval *a, const char *typed_code)
{
	int r;
	char typed[KEYBOX_APPROVAL_DIGITS + 1];

	c->detail[0] = '\0';
	if (a == NULL || a->side != SIDE_OLD || a->state == 0) {
		snprintf(c->detail, sizeof(c->detail), "not an approval this device has offered and seen revealed");
		return VARSKO_ERR_BAD_INPUT;
	}
	if (a->state < 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "approval %s has failed once: start again with a new request on the new device", a->id);
		return VARSKO_ERR_APPROVAL_FAILED;
	}
	if (a->state == 2)
		return VARSKO_OK;
	if (approve_code_typed(typed_code, typed) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "an approval code is six digits, as the new device shows it");
		return VARSKO_ERR_BAD_INPUT; /* no comparison was made: the user may type it again */
	}
	r = keybox_approval_equal(typed, a->code);
	sodium_memzero(typed, sizeof(typed));
	if (r != VARSKO_OK) {
		/* One comparison per approval: a guess matches with probability 2^-19, not more. */
		a->state = -1;
		sodium_memzero(a->code, sizeof(a->code));
		snprintf(c->detail, sizeof(c->detail),
		         "the code typed is not the code of this exchange: the device being approved may not be the "
		         "one in front of you; nothing was approved");
		return VARSKO_ERR_APPROVAL_FAILED;
	}
	/* Step 5, as a recovery's steps 3 and 4, for the new device. */
	if ((r = userkey_add_device(c, a->cert.device, a->cert.sign_pk, a->cert.box_pk)) != VARSKO_OK)
		return r;
	a->state = 2;
	sodium_memzero(a->code, sizeof(a->code));
	return VARSKO_OK;
}
