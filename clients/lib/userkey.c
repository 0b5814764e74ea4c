/*
 * userkey.c: the user's key on the wire (PROTOCOL.md 15), the client side.
 *
 * A user's devices share one user key. Its generations are seeds
 * (proto/keybox.h) that varskod stores only sealed: in key box sets, one box
 * per device of the user, and in the recovery box, under a code only the
 * user has. Which devices belong to the user is said by the user chain
 * (proto/chain.h), whose root is the user's first device and whose later
 * devices the user key signed. varskod could hand out any chain, so every
 * chain is verified from its root here, and every device it relies on must
 * also have a certificate from the pinned organisation key that names the
 * user and carries the device's keys.
 *
 * Between the steps of a setup or a recovery the seeds wait in the home
 * (userkey.pending, mode 0600): written before the chain names the device,
 * removed when the key box set and (for a first device) the recovery box are
 * stored. A setup that breaks off is completed from it the next time; its
 * presence is also how the client knows, without asking varskod for the
 * recovery box (which counts a try), that the recovery box may be missing.
 *
 * Seeds live in sodium_malloc memory (struct keybox_gen) and are wiped when
 * freed; jansson wipes every block it frees (text.c), proto_buf too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"

#define UK_PENDING_MAX KEYBOX_RECOVERY_GEN_MAX

/* ---- the chain and its certificates (no network) ---------------------------------- */

int userkey_chain_check(const json_t *links, const json_t *certs, const char *user, const uint8_t org_pk[PROTO_PK_LEN],
                        int64_t now, struct userkey_chain *out, char *detail, size_t dcap)
{
	int r = VARSKO_ERR_INTERNAL;
	struct chain_link *ls = NULL;
	struct proto_cert *cs = NULL;
	size_t nl, nc, bad = 0, i, j;
	const json_t *v;

	memset(out, 0, sizeof(*out));
	detail_set(detail, dcap, "");
	if (!json_is_array(links) || !json_is_array(certs)) {
		snprintf(detail, dcap, "the chain answer has no links or certificates");
		return VARSKO_ERR_BAD_FRAME;
	}
	nl = json_array_size(links);
	nc = json_array_size(certs);
	if (nl > FLOW_CHAIN_LINKS_MAX || nc > FLOW_CHAIN_LINKS_MAX) {
		snprintf(detail, dcap, "the chain answer is too large");
		return VARSKO_ERR_TOO_LARGE;
	}
	if ((nl > 0 && (ls = calloc(nl, sizeof(*ls))) == NULL) || (nc > 0 && (cs = calloc(nc, sizeof(*cs))) == NULL)) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(links, i, v)
	{
		if (chain_link_from_json(v, &ls[i]) != VARSKO_OK) {
			snprintf(detail, dcap, "link %zu of the user chain of %s does not parse", i + 1, user);
			r = VARSKO_ERR_BAD_CHAIN;
			goto out;
		}
	}
	if ((r = chain_user_verify(ls, nl, user, NULL, &out->st, &bad)) != VARSKO_OK) {
		snprintf(detail, dcap, "the user chain of %s does not verify at link %zu (%s): refused", user, bad + 1,
		         varsko_err_name(r));
		goto out;
	}
	for (i = 0; i < nl; i++)
		if ((r = chain_link_hash(&ls[i], out->link_hash[i])) != VARSKO_OK)
			goto out;
	out->n_links = nl;
	/* Each generation's signing key: what a team chain pinned must be one of them (PROTOCOL.md 16.4). */
	for (i = 0; i < nl; i++)
		if (ls[i].op == CHAIN_OP_UK_CREATE || ls[i].op == CHAIN_OP_UK_ROTATE)
			memcpy(out->gen_sign_pk[ls[i].generation - 1], ls[i].uk_sign_pk, PROTO_PK_LEN);
	/* When each device was added (and revoked): for the lists, not for trust. */
	for (i = 0; i < nl; i++) {
		for (j = 0; j < out->st.n_devices; j++)
			if (strcmp(out->st.devices[j].device, ls[i].device) == 0)
				break;
		if (j == out->st.n_devices)
			continue;
		if (ls[i].op == CHAIN_OP_UK_CREATE || ls[i].op == CHAIN_OP_DEVICE_ADD) {
			out->dev[j].added_seq = ls[i].seq;
			out->dev[j].added_time = ls[i].time;
		} else if (ls[i].op == CHAIN_OP_DEVICE_REVOKE) {
			out->dev[j].revoked_seq = ls[i].seq;
		}
	}
	json_array_foreach(certs, i, v)
	{
		if (cert_from_obj(v, &cs[i]) != VARSKO_OK) {
			snprintf(detail, dcap, "certificate %zu of the chain answer does not parse", i + 1);
			r = VARSKO_ERR_BAD_CERT;
			goto out;
		}
	}
	/*
	 * A device counts for its user only with a certificate from the
	 * organisation, valid now, for this user and exactly the keys the
	 * chain names. The first device is the root of the chain: without a
	 * certificate that verifies (at least when it was issued) nothing
	 * in the chain can be trusted.
	 */
	for (j = 0; j < out->st.n_devices; j++) {
		const struct chain_device *d = &out->st.devices[j];
		int matched = 0, root_ok = 0;

		for (i = 0; i < nc; i++) {
			const struct proto_cert *ce = &cs[i];

			if (strcmp(ce->device, d->device) != 0 || strcmp(ce->user, user) != 0 ||
			    sodium_memcmp(ce->sign_pk, d->sign_pk, PROTO_PK_LEN) != 0 ||
			    sodium_memcmp(ce->box_pk, d->box_pk, PROTO_PK_LEN) != 0)
				continue;
			if (proto_cert_verify(ce, org_pk, now) == VARSKO_OK) {
				/* The newest such certificate says the user's role (a team member's, 16.3). */
				if (!matched || ce->not_before >= out->dev[j].cert_not_before) {
					snprintf(out->dev[j].role, sizeof(out->dev[j].role), "%s", ce->role);
					out->dev[j].cert_not_before = ce->not_before;
				}
				matched = 1;
				if (!d->revoked && (!out->has_cert || ce->not_before >= out->cert.not_before)) {
					out->cert = *ce;
					out->has_cert = 1;
				}
			}
			if (proto_cert_verify(ce, org_pk, ce->not_before) == VARSKO_OK)
				root_ok = 1;
		}
		out->dev[j].certified = matched;
		if (j == 0 && !root_ok) {
			snprintf(detail, dcap,
			         "the first device of the user chain of %s (%s) has no certificate from the "
			         "organisation for this user and its keys: refused",
			         user, d->device);
			r = VARSKO_ERR_BAD_CERT;
			goto out;
		}
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		sodium_memzero(out, sizeof(*out));
		if (detail[0] == '\0')
			snprintf(detail, dcap, "the user chain of %s cannot be checked", user);
	}
	free(ls);
	free(cs);
	return r;
}

int userkey_had_key(const struct userkey_chain *uc, uint64_t generation, const uint8_t uk_sign_pk[PROTO_PK_LEN])
{
	if (generation == 0 || generation > uc->st.generation || generation > FLOW_CHAIN_LINKS_MAX)
		return 0;
	return sodium_memcmp(uc->gen_sign_pk[generation - 1], uk_sign_pk, PROTO_PK_LEN) == 0;
}

int userkey_find_device(const struct userkey_chain *uc, const char *device)
{
	for (size_t j = 0; j < uc->st.n_devices; j++)
		if (strcmp(uc->st.devices[j].device, device) == 0)
			return (int)j;
	return -1;
}

/* ---- requests ------------------------------------------------------------------------------- */

static void own_owner(const struct varsko_conn *c, char owner[KEYBOX_OWNER_MAX + 1])
{
	if (keybox_user_owner(owner, c->id.user) != VARSKO_OK)
		owner[0] = '\0'; /* the certificate's user id is always valid; an empty owner is refused downstream */
}

/* The key id a user-key set seals to a device under: "device:<id>" (PROTOCOL.md 14.2). */
static void device_keyid(char id[KEYBOX_KEYID_MAX + 1], const char *device)
{
	snprintf(id, KEYBOX_KEYID_MAX + 1, "device:%s", device);
}

static void own_keyid(const struct varsko_conn *c, char id[KEYBOX_KEYID_MAX + 1])
{
	device_keyid(id, c->id.device);
}

/* 1 when set s has a box for device. */
static int set_has_device(const struct keybox_set *s, const char *device)
{
	char kid[KEYBOX_KEYID_MAX + 1];

	device_keyid(kid, device);
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->boxes[i].recipient, kid) == 0)
			return 1;
	return 0;
}

/* The devices a new key box set is sealed to, gathered one by one (rcpts_add), sorted when sealed. */
struct rcpts {
	size_t n;
	struct keybox_recipient rc[KEYBOX_RECIPIENTS_MAX];
	char ids[KEYBOX_RECIPIENTS_MAX][KEYBOX_KEYID_MAX + 1];
};

static void rcpts_add(struct rcpts *r, const struct chain_device *d)
{
	if (r->n == KEYBOX_RECIPIENTS_MAX)
		return;
	device_keyid(r->ids[r->n], d->device);
	r->rc[r->n].id = r->ids[r->n];
	memcpy(r->rc[r->n].box_pk, d->box_pk, PROTO_PK_LEN);
	r->n++;
}

int userkey_chain_of(struct varsko_conn *c, const char *user, struct userkey_chain *uc)
{
	int r;
	json_t *req = NULL, *ans = NULL;
	const char *kind, *chain;

	memset(uc, 0, sizeof(*uc));
	if ((req = json_pack("{s:s, s:s, s:s}", "type", "chain_get", "kind", "user", "chain", user)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_CHAIN, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_CHAIN)
			snprintf(c->detail, sizeof(c->detail),
			         "varskod says the stored user chain of %s does not verify (bad_chain): it has been "
			         "tampered with; ask the operator",
			         user);
		goto out;
	}
	kind = json_string_value(json_object_get(ans, "kind"));
	chain = json_string_value(json_object_get(ans, "chain"));
	if (kind == NULL || chain == NULL || strcmp(kind, "user") != 0 || strcmp(chain, user) != 0) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with another chain than %s's", user);
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	r = userkey_chain_check(json_object_get(ans, "links"), json_object_get(ans, "certs"), user, c->org_pk,
	                        (int64_t)time(NULL), uc, c->detail, sizeof(c->detail));
	if (r == VARSKO_OK) {
		const json_t *v;
		size_t i;
		int j;

		/* What varskod says it revoked only starts a rotation by the user's own device, never trust. */
		json_array_foreach(json_object_get(ans, "revoked"), i, v)
		{
			if (json_is_string(v) && (j = userkey_find_device(uc, json_string_value(v))) >= 0)
				uc->dev[j].server_revoked = 1;
		}
	}
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

/* ---- the own chain as this device saw it (rollback and fork detection) ---- */

/*
 * Compare the own chain with the one this home saw last: it must contain
 * that link unchanged (the server may add links, never take one back or
 * change one). Sets uc->pinned_seq. VARSKO_ERR_BAD_CHAIN otherwise; a home
 * without the file (its first look) passes.
 */
static int pin_check(struct varsko_conn *c, struct userkey_chain *uc)
{
	int r = home_seen_check(c->home, HOME_F_CHAIN_SEEN, (const uint8_t(*)[CHAIN_HASH_LEN])uc->link_hash,
	                        uc->n_links, &uc->pinned_seq);

	if (r == VARSKO_ERR_BAD_INPUT)
		snprintf(c->detail, sizeof(c->detail), "%s/%s is damaged: remove it to trust the chain as it is now",
		         varsko_home_path(c->home), HOME_F_CHAIN_SEEN);
	else if (r == VARSKO_ERR_BAD_CHAIN)
		snprintf(c->detail, sizeof(c->detail),
		         "the server shows a user chain of %s that does not contain the one this device saw (link "
		         "%llu): "
		         "it went backwards or was changed; refused",
		         c->id.user, (unsigned long long)uc->pinned_seq);
	if (r != VARSKO_OK)
		uc->pinned_seq = 0;
	return r;
}

/* Remember the own chain's newest link (after a check or an own append). */
static int pin_update(struct varsko_conn *c, const struct userkey_chain *uc)
{
	return home_seen_write(c->home, HOME_F_CHAIN_SEEN, &uc->st.head);
}

/* chain_get of the session's own user, verified. */
static int chain_fetch(struct varsko_conn *c, struct userkey_chain *uc)
{
	int r = userkey_chain_of(c, c->id.user, uc);

	return r == VARSKO_OK ? pin_check(c, uc) : r;
}

static int chain_append(struct varsko_conn *c, const struct chain_link *l)
{
	int r;
	json_t *lo = NULL, *req = NULL, *ans = NULL;
	json_int_t seq;

	if ((r = chain_link_to_json(l, &lo)) != VARSKO_OK)
		return r;
	if ((req = json_pack("{s:s, s:s, s:s, s:o}", "type", "chain_append", "kind", "user", "chain", c->id.user,
	                     "link", lo)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_CHAIN_OK, &ans)) != VARSKO_OK) {
		if (c->detail[0] == '\0')
			snprintf(c->detail, sizeof(c->detail), "varskod refused the %s link", chain_op_name(l->op));
		goto out;
	}
	seq = json_integer_value(json_object_get(ans, "seq"));
	if (seq < 0 || (uint64_t)seq != l->seq) {
		snprintf(c->detail, sizeof(c->detail), "varskod stored the link as another seq than it has");
		r = VARSKO_ERR_PROTOCOL;
	}
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

int userkey_keys_get(struct varsko_conn *c, const char *owner, json_t **sets)
{
	int r;
	json_t *req = NULL, *ans = NULL;
	const char *o;

	*sets = NULL;
	if ((req = json_pack("{s:s, s:s}", "type", "keys_get", "owner", owner)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_KEYS, &ans)) != VARSKO_OK)
		goto out;
	o = json_string_value(json_object_get(ans, "owner"));
	if (o == NULL || strcmp(o, owner) != 0 || !json_is_array(json_object_get(ans, "sets"))) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with the key box sets of another owner");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	*sets = json_incref(json_object_get(ans, "sets"));
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

/* keys_get of the own user. */
static int keys_fetch(struct varsko_conn *c, json_t **sets)
{
	char owner[KEYBOX_OWNER_MAX + 1];

	own_owner(c, owner);
	return userkey_keys_get(c, owner, sets);
}

int userkey_set_from_obj(const json_t *o, struct keybox_set *out)
{
	char *text;
	int r;

	if (!json_is_object(o))
		return VARSKO_ERR_BAD_FRAME;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = keybox_set_from_json(text, strlen(text), out);
	free(text);
	return r;
}

/*
 * The set of generation `gen` among sets, checked against the verified
 * chain: owner, pub the chain's uk_box_pk of that generation (for the
 * current one), signed by the chain's current uk_sign_pk. VARSKO_ERR_NOT_FOUND
 * when there is none; VARSKO_ERR_BAD_SIGNATURE / VARSKO_ERR_BAD_CHAIN for a
 * set the chain does not back (c->detail says).
 */
static int set_find(struct varsko_conn *c, const json_t *sets, const struct userkey_chain *uc, uint64_t gen,
                    struct keybox_set *out)
{
	size_t i;
	const json_t *v;
	char owner[KEYBOX_OWNER_MAX + 1];
	int r;

	own_owner(c, owner);
	json_array_foreach(sets, i, v)
	{
		json_int_t g = json_integer_value(json_object_get(v, "generation"));

		if (g <= 0 || (uint64_t)g != gen)
			continue;
		if ((r = userkey_set_from_obj(v, out)) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "the key box set of generation %llu does not parse",
			         (unsigned long long)gen);
			return r;
		}
		if (strcmp(out->owner, owner) != 0) {
			snprintf(c->detail, sizeof(c->detail), "varskod answered with a key box set of another owner");
			return VARSKO_ERR_PROTOCOL;
		}
		if (gen == uc->st.generation) {
			if (sodium_memcmp(out->pub, uc->st.uk_box_pk, PROTO_PK_LEN) != 0) {
				snprintf(c->detail, sizeof(c->detail),
				         "the key box set of generation %llu is not for the user chain's key",
				         (unsigned long long)gen);
				return VARSKO_ERR_BAD_CHAIN;
			}
			if (keybox_set_verify(out, uc->st.uk_sign_pk) != VARSKO_OK) {
				snprintf(c->detail, sizeof(c->detail),
				         "the key box set of generation %llu is not signed by the user key",
				         (unsigned long long)gen);
				return VARSKO_ERR_BAD_SIGNATURE;
			}
		}
		return VARSKO_OK;
	}
	snprintf(c->detail, sizeof(c->detail), "varskod has no key box set of generation %llu for %s",
	         (unsigned long long)gen, c->id.user);
	return VARSKO_ERR_NOT_FOUND;
}

/* Open set (checked by set_find) with this device's box key; the seed must derive the chain's current user key. */
static int set_open_own(struct varsko_conn *c, const struct keybox_set *s, const struct userkey_chain *uc,
                        struct keybox_gen **out)
{
	char kid[KEYBOX_KEYID_MAX + 1];
	int r;

	*out = NULL;
	own_keyid(c, kid);
	if ((r = keybox_set_open(s, kid, c->k->box_pk, c->k->box_sk, out)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         r == VARSKO_ERR_NOT_FOUND ? "the key box set of the user key has no box for this device"
		                                   : "this device's box in the key box set does not open");
		return r;
	}
	if (sodium_memcmp((*out)->sign_pk, uc->st.uk_sign_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp((*out)->box_pk, uc->st.uk_box_pk, PROTO_PK_LEN) != 0) {
		keybox_gen_free(*out);
		*out = NULL;
		snprintf(c->detail, sizeof(c->detail), "the user key in this device's box is not the chain's");
		return VARSKO_ERR_CRYPTO;
	}
	return VARSKO_OK;
}

int userkey_keys_put(struct varsko_conn *c, const struct keybox_set *s)
{
	int r;
	char *text = NULL;
	size_t len = 0;
	json_t *so = NULL, *req = NULL, *ans = NULL;
	json_int_t g;

	if ((r = keybox_set_to_json(s, &text, &len)) != VARSKO_OK)
		return r;
	if ((so = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (req = json_pack("{s:s, s:O}", "type", "keys_put", "set", so)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_KEYS_OK, &ans)) != VARSKO_OK)
		goto out;
	g = json_integer_value(json_object_get(ans, "generation"));
	if (g <= 0 || (uint64_t)g != s->generation) {
		snprintf(c->detail, sizeof(c->detail), "varskod stored the key box set as another generation");
		r = VARSKO_ERR_PROTOCOL;
	}
out:
	free(text);
	json_decref(so);
	json_decref(req);
	json_decref(ans);
	return r;
}

static int recovery_put(struct varsko_conn *c, const struct keybox_recovery *rb)
{
	int r;
	char *text = NULL;
	size_t len = 0;
	json_t *bo = NULL, *req = NULL, *ans = NULL;

	if ((r = keybox_recovery_to_json(rb, &text, &len)) != VARSKO_OK)
		return r;
	if ((bo = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (req = json_pack("{s:s, s:O}", "type", "recovery_put", "box", bo)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = conn_request(c, req, FLOW_T_RECOVERY_OK, &ans);
out:
	free(text);
	json_decref(bo);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* recovery_get (one try on the server): the box, parsed; *tries the server's count. */
static int recovery_fetch(struct varsko_conn *c, struct keybox_recovery *rb, uint64_t *tries)
{
	int r;
	json_t *req = NULL, *ans = NULL;
	char *text = NULL;
	json_int_t t;

	*tries = 0;
	if ((req = json_pack("{s:s}", "type", "recovery_get")) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_RECOVERY, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_RECOVERY_LOCKED)
			snprintf(c->detail, sizeof(c->detail),
			         "too many wrong recovery codes: recovery is locked until the operator unlocks it "
			         "(varskoctl recovery unlock %s)",
			         c->id.user);
		else if (r == VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail), "varskod holds no recovery box for %s", c->id.user);
		goto out;
	}
	t = json_integer_value(json_object_get(ans, "tries"));
	*tries = t > 0 ? (uint64_t)t : 0;
	if ((text = json_dumps(json_object_get(ans, "box"), JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = keybox_recovery_from_json(text, strlen(text), rb)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the recovery box does not parse");
		goto out;
	}
	if (strcmp(rb->user, c->id.user) != 0) {
		keybox_recovery_clear(rb);
		snprintf(c->detail, sizeof(c->detail), "varskod answered with another user's recovery box");
		r = VARSKO_ERR_PROTOCOL;
	}
out:
	free(text);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* ---- generations in memory and in the home --------------------------------------------- */

struct gens {
	size_t n; /* generations 1..n */
	struct keybox_gen *g[UK_PENDING_MAX];
};

static void gens_clear(struct gens *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		keybox_gen_free(gs->g[i]);
	memset(gs, 0, sizeof(*gs));
}

/* 1 when the newest generation is the chain's current user key. */
static int gens_match(const struct gens *gs, const struct userkey_chain *uc)
{
	const struct keybox_gen *top;

	if (gs->n == 0 || gs->n != uc->st.generation)
		return 0;
	top = gs->g[gs->n - 1];
	return sodium_memcmp(top->sign_pk, uc->st.uk_sign_pk, PROTO_PK_LEN) == 0 &&
	       sodium_memcmp(top->box_pk, uc->st.uk_box_pk, PROTO_PK_LEN) == 0;
}

/*
 * The pending file: {"recovery":B,"seeds":[B64...],"user":S}, the seeds of
 * generations 1..n, and whether a recovery box still has to be made.
 */
static int pending_save(struct varsko_conn *c, const struct gens *gs, int need_recovery)
{
	struct proto_buf b;
	char s64[64];
	int r;

	proto_buf_init(&b);
	proto_buf_add(&b, "{\"recovery\":", 12);
	proto_buf_add(&b, need_recovery ? "true" : "false", need_recovery ? 4 : 5);
	proto_buf_add(&b, ",\"seeds\":[", 10);
	for (size_t i = 0; i < gs->n; i++) {
		if (proto_b64_encode(gs->g[i]->seed, KEYBOX_SEED_LEN, s64, sizeof(s64)) != VARSKO_OK) {
			r = VARSKO_ERR_INTERNAL;
			goto out;
		}
		proto_buf_add(&b, i > 0 ? ",\"" : "\"", i > 0 ? 2 : 1);
		proto_buf_add(&b, s64, strlen(s64));
		proto_buf_add(&b, "\"", 1);
	}
	proto_buf_add(&b, "],\"user\":", 9);
	text_json_str(&b, c->id.user);
	proto_buf_add(&b, "}\n", 2);
	if ((r = b.err) != VARSKO_OK)
		goto out;
	if ((r = home_write(c->home, HOME_F_PENDING, b.p, b.len, 0600, 0)) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "cannot write %s/%s", c->home->path, HOME_F_PENDING);
out:
	sodium_memzero(s64, sizeof(s64));
	proto_buf_free(&b);
	return r;
}

/* Read the pending file of the own user; VARSKO_ERR_NOT_FOUND when there is none (or it is another user's). */
static int pending_load(struct varsko_conn *c, struct gens *gs, int *need_recovery)
{
	int r;
	char *text = NULL;
	size_t len = 0, i;
	json_t *o = NULL, *seeds, *v;
	const char *u;
	uint8_t seed[KEYBOX_SEED_LEN];

	memset(gs, 0, sizeof(*gs));
	*need_recovery = 0;
	if ((r = home_read_secret(c->home, HOME_F_PENDING, &text, &len)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_INPUT;
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	seeds = json_object_get(o, "seeds");
	u = json_string_value(json_object_get(o, "user"));
	if (!json_is_boolean(json_object_get(o, "recovery")) || !json_is_array(seeds) || u == NULL ||
	    json_array_size(seeds) == 0 || json_array_size(seeds) > UK_PENDING_MAX)
		goto out;
	if (strcmp(u, c->id.user) != 0) {
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	*need_recovery = json_is_true(json_object_get(o, "recovery"));
	json_array_foreach(seeds, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || proto_b64_decode_exact(s, seed, sizeof(seed)) != VARSKO_OK)
			goto out;
		if ((r = keybox_gen_derive(&gs->g[i], KEYBOX_USER, i + 1, seed)) != VARSKO_OK)
			goto out;
		gs->n = i + 1;
		r = VARSKO_ERR_BAD_INPUT;
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK) {
		gens_clear(gs);
		*need_recovery = 0;
		if (r != VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail), "%s/%s is damaged", c->home->path, HOME_F_PENDING);
	}
	sodium_memzero(seed, sizeof(seed));
	json_decref(o);
	if (text != NULL)
		sodium_free(text);
	return r;
}

static void pending_remove(struct varsko_conn *c)
{
	if (unlinkat(c->home->dirfd, HOME_F_PENDING, 0) == 0)
		(void)fsync(c->home->dirfd);
}

/*
 * The seeds of every generation from the sets: the current one opened with
 * this device's key, the earlier ones by walking back (PROTOCOL.md 14.3).
 */
static int gens_from_sets(struct varsko_conn *c, const json_t *sets, const struct userkey_chain *uc, struct gens *gs)
{
	int r = VARSKO_ERR_INTERNAL;
	uint64_t n = uc->st.generation;
	struct keybox_set **ss = NULL;
	struct keybox_gen *top = NULL;

	memset(gs, 0, sizeof(*gs));
	if (n == 0 || n > UK_PENDING_MAX) {
		snprintf(c->detail, sizeof(c->detail), "the user key has too many generations");
		return VARSKO_ERR_TOO_LARGE;
	}
	if ((ss = calloc(n, sizeof(*ss))) == NULL)
		return VARSKO_ERR_NOMEM;
	for (uint64_t g = 1; g <= n; g++) {
		if ((ss[g - 1] = malloc(sizeof(*ss[g - 1]))) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if ((r = set_find(c, sets, uc, g, ss[g - 1])) != VARSKO_OK)
			goto out;
	}
	if ((r = set_open_own(c, ss[n - 1], uc, &top)) != VARSKO_OK)
		goto out;
	if (n > 1 && (r = keybox_walk_back(top, (const struct keybox_set *const *)ss, n, gs->g)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the earlier generations of the user key do not open");
		goto out;
	}
	gs->g[n - 1] = top;
	top = NULL;
	gs->n = n;
	r = VARSKO_OK;
out:
	keybox_gen_free(top);
	for (uint64_t g = 0; g < n; g++)
		free(ss[g]);
	free(ss);
	return r;
}

/* ---- the steps -------------------------------------------------------------------------- */

/* A user-chain link naming a device of the own user, with its keys, made now (op and keys are the caller's). */
static void link_device(struct varsko_conn *c, struct chain_link *l, enum chain_op op, const char *device,
                        const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN])
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_USER;
	l->op = op;
	snprintf(l->chain, sizeof(l->chain), "%s", c->id.user);
	snprintf(l->device, sizeof(l->device), "%s", device);
	memcpy(l->device_sign_pk, sign_pk, PROTO_PK_LEN);
	memcpy(l->device_box_pk, box_pk, PROTO_PK_LEN);
	l->time = (int64_t)time(NULL);
}

/* The same for this device. */
static void link_own_device(struct varsko_conn *c, struct chain_link *l, enum chain_op op)
{
	link_device(c, l, op, c->id.device, c->k->sign_pk, c->k->box_pk);
}

/*
 * Sign l with sk (and then sk2 when not NULL: uk_rotate is signed by the
 * previous user key and a device), check it extends uc locally (so a wrong
 * link never leaves), append it, and extend uc. The device the link names counts as certified:
 * its certificate was checked, at login (this device) or by the approval
 * (another one).
 */
static int append_signed(struct varsko_conn *c, struct userkey_chain *uc, struct chain_link *l, const uint8_t sk[64],
                         const uint8_t *sk2)
{
	int r;
	struct chain_user_state *next = NULL;

	chain_link_follow(l, &uc->st.head);
	if ((r = chain_link_sign(l, sk)) != VARSKO_OK || (sk2 != NULL && (r = chain_link_sign(l, sk2)) != VARSKO_OK))
		return r;
	if ((next = malloc(sizeof(*next))) == NULL)
		return VARSKO_ERR_NOMEM;
	*next = uc->st;
	if ((r = chain_user_extend(next, l, NULL)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the %s link made here does not extend the chain (%s)",
		         chain_op_name(l->op), varsko_err_name(r));
		goto out;
	}
	if ((r = chain_append(c, l)) != VARSKO_OK)
		goto out;
	uc->st = *next;
	if (uc->n_links < FLOW_CHAIN_LINKS_MAX && chain_link_hash(l, uc->link_hash[uc->n_links]) == VARSKO_OK)
		uc->n_links++;
	if ((l->op == CHAIN_OP_UK_CREATE || l->op == CHAIN_OP_UK_ROTATE) && l->generation <= FLOW_CHAIN_LINKS_MAX)
		memcpy(uc->gen_sign_pk[l->generation - 1], l->uk_sign_pk, PROTO_PK_LEN);
	for (size_t j = 0; j < uc->st.n_devices; j++)
		if (strcmp(uc->st.devices[j].device, l->device) == 0) {
			uc->dev[j].added_seq = l->seq;
			uc->dev[j].added_time = l->time;
			uc->dev[j].certified = 1;
		}
	/* This device made the link: nothing to tell the user about it later. */
	(void)pin_update(c, uc);
	r = VARSKO_OK;
out:
	free(next);
	return r;
}

static int append_own(struct varsko_conn *c, struct userkey_chain *uc, struct chain_link *l, const uint8_t sk[64])
{
	return append_signed(c, uc, l, sk, NULL);
}

/*
 * Seal the newest generation of gs (with the one before in its prev_box) to
 * the gathered devices, sign it with the user key, and put it (PROTOCOL.md
 * 15.4).
 */
static int seal_put(struct varsko_conn *c, const struct gens *gs, struct rcpts *to)
{
	int r;
	struct keybox_set *made = NULL;
	char owner[KEYBOX_OWNER_MAX + 1];

	if ((made = malloc(sizeof(*made))) == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 1; i < to->n; i++)
		for (size_t k = i; k > 0 && strcmp(to->rc[k - 1].id, to->rc[k].id) > 0; k--) {
			struct keybox_recipient t = to->rc[k];

			to->rc[k] = to->rc[k - 1];
			to->rc[k - 1] = t;
		}
	own_owner(c, owner);
	r = keybox_set_make(made, owner, gs->g[gs->n - 1], gs->n > 1 ? gs->g[gs->n - 2] : NULL, to->rc, to->n,
	                    gs->g[gs->n - 1]->sign_sk, NULL);
	if (r != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "cannot make the key box set of the user key");
	else if ((r = userkey_keys_put(c, made)) != VARSKO_OK && c->detail[0] == '\0')
		snprintf(c->detail, sizeof(c->detail), "varskod refused the key box set");
	free(made);
	return r;
}

/*
 * Put the current generation's set again (or for the first time) with
 * device `target` (which the chain names) among its recipients: the
 * recipients of the stored set that the chain still names (not revoked,
 * certified), plus the target. Nothing is sent when the target's box is
 * already there: for this device, when its box opens; for another device
 * (an approval), when the stored set, signed by the user key, has one.
 */
static int set_complete(struct varsko_conn *c, const struct userkey_chain *uc, const struct gens *gs,
                        const char *target)
{
	int r = VARSKO_ERR_INTERNAL;
	json_t *sets = NULL;
	struct keybox_set *cur = NULL;
	struct keybox_gen *mine = NULL;
	struct rcpts *to = NULL;
	int have_cur = 0, self = strcmp(target, c->id.device) == 0;

	if ((cur = malloc(sizeof(*cur))) == NULL || (to = calloc(1, sizeof(*to))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = keys_fetch(c, &sets)) != VARSKO_OK)
		goto out;
	r = set_find(c, sets, uc, uc->st.generation, cur);
	if (r == VARSKO_OK) {
		have_cur = 1;
		if (self && set_open_own(c, cur, uc, &mine) == VARSKO_OK)
			goto out; /* r == VARSKO_OK: nothing to do */
		if (!self && set_has_device(cur, target))
			goto out; /* r == VARSKO_OK: already there */
	} else if (r != VARSKO_ERR_NOT_FOUND) {
		goto out;
	}
	c->detail[0] = '\0';
	/* The recipients: the chain's devices that the stored set already had, and the target. */
	for (size_t j = 0; j < uc->st.n_devices; j++) {
		const struct chain_device *d = &uc->st.devices[j];

		if (!d->revoked && (strcmp(d->device, target) == 0 ||
		                    (have_cur && uc->dev[j].certified && set_has_device(cur, d->device))))
			rcpts_add(to, d);
	}
	r = seal_put(c, gs, to);
out:
	keybox_gen_free(mine);
	free(cur);
	free(to);
	json_decref(sets);
	return r;
}

/* A new recovery code and box of every generation; the code is formatted into code_out. */
static int recovery_make_put(struct varsko_conn *c, const struct gens *gs, char code_out[KEYBOX_CODE_TEXT_LEN + 1])
{
	int r;
	uint8_t code[KEYBOX_CODE_LEN];
	struct keybox_recovery rb;

	memset(&rb, 0, sizeof(rb));
	keybox_code_new(code);
	if ((r = keybox_recovery_make(&rb, c->id.user, code, (const struct keybox_gen *const *)gs->g, gs->n,
	                              crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE, NULL,
	                              NULL)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot make the recovery box");
		goto out;
	}
	if ((r = recovery_put(c, &rb)) != VARSKO_OK) {
		if (c->detail[0] == '\0')
			snprintf(c->detail, sizeof(c->detail), "varskod refused the recovery box");
		goto out;
	}
	keybox_code_format(code, code_out);
out:
	sodium_memzero(code, sizeof(code));
	keybox_recovery_clear(&rb);
	return r;
}

/*
 * What is left of a setup or recovery once the chain names this device:
 * the key box set, then (need_recovery) the recovery box; then the pending
 * file goes.
 */
static int complete(struct varsko_conn *c, const struct userkey_chain *uc, const struct gens *gs, int need_recovery,
                    char code_out[KEYBOX_CODE_TEXT_LEN + 1], int *created)
{
	int r;

	if ((r = set_complete(c, uc, gs, c->id.device)) != VARSKO_OK)
		return r;
	if (need_recovery) {
		if ((r = recovery_make_put(c, gs, code_out)) != VARSKO_OK)
			return r;
		*created = 1;
	}
	pending_remove(c);
	return VARSKO_OK;
}

static int not_cross_signed(struct varsko_conn *c)
{
	snprintf(c->detail, sizeof(c->detail),
	         "this device is not one of %s's devices by the user chain (not cross-signed): recover it with "
	         "the recovery code, varsko device recover",
	         c->id.user);
	return VARSKO_ERR_NOT_CROSS_SIGNED;
}

/* This device's index in the chain when the chain names it with its keys, else -1. */
static int self_index(const struct varsko_conn *c, const struct userkey_chain *uc)
{
	int j = userkey_find_device(uc, c->id.device);

	if (j < 0 || sodium_memcmp(uc->st.devices[j].sign_pk, c->k->sign_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp(uc->st.devices[j].box_pk, c->k->box_pk, PROTO_PK_LEN) != 0)
		return -1;
	return j;
}

int varsko_user_setup(struct varsko_conn *c, char code_out[VARSKO_RECOVERY_CODE_LEN + 1], int *created)
{
	int r = VARSKO_ERR_INTERNAL, need_recovery = 0, j;
	struct userkey_chain *uc = NULL;
	struct gens gs;
	struct chain_link l;
	json_t *sets = NULL;

	_Static_assert(VARSKO_RECOVERY_CODE_LEN == KEYBOX_CODE_TEXT_LEN, "the code's length");
	memset(&gs, 0, sizeof(gs));
	memset(code_out, 0, VARSKO_RECOVERY_CODE_LEN + 1);
	*created = 0;
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		/* The user's first device: generation 1, kept in the home before the chain names it. */
		if ((r = keybox_gen_new(&gs.g[0], KEYBOX_USER, 1)) != VARSKO_OK)
			goto out;
		gs.n = 1;
		if ((r = pending_save(c, &gs, 1)) != VARSKO_OK)
			goto out;
		link_own_device(c, &l, CHAIN_OP_UK_CREATE);
		l.generation = 1;
		memcpy(l.uk_sign_pk, gs.g[0]->sign_pk, PROTO_PK_LEN);
		memcpy(l.uk_box_pk, gs.g[0]->box_pk, PROTO_PK_LEN);
		if ((r = append_own(c, uc, &l, c->k->sign_sk)) != VARSKO_OK)
			goto out;
		r = complete(c, uc, &gs, 1, code_out, created);
		goto out;
	}
	if ((j = self_index(c, uc)) < 0) {
		/* Seeds of an attempt that lost (another device made the chain first) are of no use: drop them. */
		if (pending_load(c, &gs, &need_recovery) == VARSKO_OK && !gens_match(&gs, uc))
			pending_remove(c);
		r = not_cross_signed(c);
		goto out;
	}
	if (uc->st.devices[j].revoked) {
		snprintf(c->detail, sizeof(c->detail), "this device has been revoked from %s's user chain", c->id.user);
		r = VARSKO_ERR_DEVICE_REVOKED;
		goto out;
	}
	/* Named by the chain: complete from the home's pending seeds, or from this device's own box. */
	r = pending_load(c, &gs, &need_recovery);
	if ((r == VARSKO_OK && !gens_match(&gs, uc)) || r == VARSKO_ERR_BAD_INPUT) {
		gens_clear(&gs); /* an older attempt's, or damaged: of no use now */
		need_recovery = 0;
		pending_remove(c);
		r = VARSKO_ERR_NOT_FOUND;
	}
	if (r == VARSKO_ERR_NOT_FOUND) {
		if ((r = keys_fetch(c, &sets)) != VARSKO_OK)
			goto out;
		if ((r = gens_from_sets(c, sets, uc, &gs)) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail),
			         "this device is in %s's user chain but holds no user key, and none waits in the "
			         "home: recover it with the recovery code (varsko device recover)",
			         c->id.user);
			r = VARSKO_ERR_NOT_FOUND;
			goto out;
		}
		r = VARSKO_OK; /* complete: its own box opens, and nothing is pending */
		goto out;
	}
	if (r != VARSKO_OK)
		goto out;
	r = complete(c, uc, &gs, need_recovery, code_out, created);
out:
	if (r != VARSKO_OK)
		sodium_memzero(code_out, VARSKO_RECOVERY_CODE_LEN + 1);
	gens_clear(&gs);
	json_decref(sets);
	free(uc);
	return r;
}

int varsko_device_recover(struct varsko_conn *c, const char *code_text)
{
	int r = VARSKO_ERR_INTERNAL, j;
	uint8_t code[KEYBOX_CODE_LEN];
	struct userkey_chain *uc = NULL;
	struct keybox_recovery rb;
	struct gens gs;
	struct chain_link l;
	json_t *sets = NULL;
	uint64_t tries = 0;
	size_t n = 0;
	char unused[KEYBOX_CODE_TEXT_LEN + 1];
	int created = 0;

	memset(&rb, 0, sizeof(rb));
	memset(&gs, 0, sizeof(gs));
	c->detail[0] = '\0';
	/* A mistyped code is refused here, before it costs one of the user's tries. */
	if (code_text == NULL || keybox_code_parse(code_text, strlen(code_text), code) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "a recovery code is 26 letters A-Z and digits 2-7, in groups like "
		         "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((uc = malloc(sizeof(*uc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "%s has no user key yet, so there is nothing to recover: varsko whoami creates it",
		         c->id.user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	j = self_index(c, uc);
	if (j >= 0 && uc->st.devices[j].revoked) {
		snprintf(c->detail, sizeof(c->detail), "this device has been revoked from %s's user chain", c->id.user);
		r = VARSKO_ERR_DEVICE_REVOKED;
		goto out;
	}
	if (j >= 0) {
		/* Already the user's: done if its box opens (then nothing is sent). */
		struct gens own;

		if ((r = keys_fetch(c, &sets)) != VARSKO_OK)
			goto out;
		if (gens_from_sets(c, sets, uc, &own) == VARSKO_OK) {
			gens_clear(&own);
			snprintf(c->detail, sizeof(c->detail),
			         "this device is already one of %s's devices and holds "
			         "the user key",
			         c->id.user);
			r = VARSKO_ERR_EXISTS;
			goto out;
		}
		c->detail[0] = '\0';
	}
	if ((r = recovery_fetch(c, &rb, &tries)) != VARSKO_OK)
		goto out;
	if ((r = keybox_recovery_open(&rb, code, gs.g, UK_PENDING_MAX, &n)) != VARSKO_OK) {
		if (r == VARSKO_ERR_CRYPTO)
			snprintf(c->detail, sizeof(c->detail),
			         "the recovery code does not open the recovery box (try %llu of 10 since the last "
			         "reset)",
			         (unsigned long long)tries);
		else
			snprintf(c->detail, sizeof(c->detail), "the recovery box cannot be opened (%s)",
			         varsko_err_name(r));
		goto out;
	}
	gs.n = n;
	if (!gens_match(&gs, uc)) {
		snprintf(c->detail, sizeof(c->detail),
		         "the recovery box does not hold the user chain's current user key (generation %llu): it is "
		         "stale or forged",
		         (unsigned long long)uc->st.generation);
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if ((r = pending_save(c, &gs, 0)) != VARSKO_OK)
		goto out;
	if (j < 0) {
		link_own_device(c, &l, CHAIN_OP_DEVICE_ADD);
		if ((r = append_own(c, uc, &l, gs.g[gs.n - 1]->sign_sk)) != VARSKO_OK)
			goto out;
	}
	r = complete(c, uc, &gs, 0, unused, &created);
out:
	sodium_memzero(code, sizeof(code));
	sodium_memzero(unused, sizeof(unused));
	keybox_recovery_clear(&rb);
	gens_clear(&gs);
	json_decref(sets);
	free(uc);
	return r;
}

int userkey_add_device(struct varsko_conn *c, const char *device, const uint8_t sign_pk[PROTO_PK_LEN],
                       const uint8_t box_pk[PROTO_PK_LEN])
{
	int r = VARSKO_ERR_INTERNAL, j;
	struct userkey_chain *uc = NULL;
	struct gens gs;
	struct chain_link l;
	json_t *sets = NULL;

	memset(&gs, 0, sizeof(gs));
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		snprintf(c->detail, sizeof(c->detail), "%s has no user key yet", c->id.user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if ((j = self_index(c, uc)) < 0) {
		r = not_cross_signed(c);
		goto out;
	}
	if (uc->st.devices[j].revoked) {
		snprintf(c->detail, sizeof(c->detail), "this device has been revoked from %s's user chain", c->id.user);
		r = VARSKO_ERR_DEVICE_REVOKED;
		goto out;
	}
	/* Every generation (a set of generation g > 1 carries g - 1 in prev_box), from this device's own box. */
	if ((r = keys_fetch(c, &sets)) != VARSKO_OK || (r = gens_from_sets(c, sets, uc, &gs)) != VARSKO_OK)
		goto out;
	j = userkey_find_device(uc, device);
	if (j >= 0 && (sodium_memcmp(uc->st.devices[j].sign_pk, sign_pk, PROTO_PK_LEN) != 0 ||
	               sodium_memcmp(uc->st.devices[j].box_pk, box_pk, PROTO_PK_LEN) != 0)) {
		snprintf(c->detail, sizeof(c->detail), "the user chain names %s with other keys", device);
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if (j >= 0 && uc->st.devices[j].revoked) {
		snprintf(c->detail, sizeof(c->detail), "%s has been revoked from %s's user chain", device, c->id.user);
		r = VARSKO_ERR_DEVICE_REVOKED;
		goto out;
	}
	if (j < 0) {
		/* As a recovery's step 3 (PROTOCOL.md 15.6), for the other device. */
		link_device(c, &l, CHAIN_OP_DEVICE_ADD, device, sign_pk, box_pk);
		if ((r = append_own(c, uc, &l, gs.g[gs.n - 1]->sign_sk)) != VARSKO_OK)
			goto out;
	}
	/* ... and step 4: an earlier approval that stopped after the link is completed here. */
	r = set_complete(c, uc, &gs, device);
out:
	gens_clear(&gs);
	json_decref(sets);
	free(uc);
	return r;
}

int userkey_all(struct varsko_conn *c, struct keybox_gen **out, size_t cap, size_t *n)
{
	int r;
	struct userkey_chain *uc = NULL;
	struct gens gs;
	json_t *sets = NULL;

	*n = 0;
	memset(&gs, 0, sizeof(gs));
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		snprintf(c->detail, sizeof(c->detail), "%s has no user key yet", c->id.user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (self_index(c, uc) < 0) {
		r = not_cross_signed(c);
		goto out;
	}
	if ((r = keys_fetch(c, &sets)) != VARSKO_OK || (r = gens_from_sets(c, sets, uc, &gs)) != VARSKO_OK)
		goto out;
	if (gs.n > cap) {
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	for (size_t i = 0; i < gs.n; i++) {
		out[i] = gs.g[i];
		gs.g[i] = NULL;
	}
	*n = gs.n;
	gs.n = 0;
out:
	gens_clear(&gs);
	json_decref(sets);
	free(uc);
	return r;
}

int userkey_current(struct varsko_conn *c, struct keybox_gen **out)
{
	int r;
	struct userkey_chain *uc = NULL;
	struct keybox_set *s = NULL;
	json_t *sets = NULL;

	*out = NULL;
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL || (s = malloc(sizeof(*s))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		snprintf(c->detail, sizeof(c->detail), "%s has no user key yet", c->id.user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (self_index(c, uc) < 0) {
		r = not_cross_signed(c);
		goto out;
	}
	if ((r = keys_fetch(c, &sets)) != VARSKO_OK || (r = set_find(c, sets, uc, uc->st.generation, s)) != VARSKO_OK)
		goto out;
	r = set_open_own(c, s, uc, out);
out:
	json_decref(sets);
	free(s);
	free(uc);
	return r;
}

int varsko_user_key_generation(struct varsko_conn *c, uint64_t *generation)
{
	struct keybox_gen *g = NULL;
	int r = userkey_current(c, &g);

	*generation = r == VARSKO_OK ? g->generation : 0;
	keybox_gen_free(g);
	return r;
}

int userkey_devices_json(const struct userkey_chain *uc, const char *user, const char *self,
                         const struct keybox_set *cur, int holds, int pending, char **out)
{
	int r = VARSKO_ERR_NOMEM;
	json_t *o = NULL, *arr = NULL;
	char t[PROTO_TIME_LEN + 1];
	const char *state;
	int self_j = userkey_find_device(uc, self);

	*out = NULL;
	if (uc->st.generation == 0)
		state = "none";
	else if (self_j < 0)
		state = "not_cross_signed";
	else if (uc->st.devices[self_j].revoked)
		state = "revoked";
	else if (holds && !pending)
		state = "ok";
	else
		state = "incomplete";
	if ((arr = json_array()) == NULL)
		goto out;
	for (size_t j = 0; j < uc->st.n_devices; j++) {
		const struct chain_device *d = &uc->st.devices[j];
		int boxed = set_has_device(cur, d->device);
		json_t *e;

		proto_time_format(uc->dev[j].added_time, t);
		e = json_pack("{s:s, s:s, s:I, s:b, s:b, s:b, s:b}", "device", d->device, "added", t, "seq",
		              (json_int_t)uc->dev[j].added_seq, "revoked", d->revoked, "this",
		              strcmp(d->device, self) == 0, "certified", uc->dev[j].certified, "key_box", boxed);
		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto out;
	}
	o = json_pack("{s:s, s:s, s:I, s:s, s:b, s:b, s:O}", "user", user, "device", self, "generation",
	              (json_int_t)uc->st.generation, "state", state, "holds_user_key", holds, "setup_pending", pending,
	              "devices", arr);
	if (o == NULL)
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = VARSKO_OK;
out:
	json_decref(o);
	json_decref(arr);
	return r;
}

int varsko_user_devices(struct varsko_conn *c, char **json_out)
{
	int r, holds = 0;
	struct userkey_chain *uc = NULL;
	struct keybox_set *s = NULL;
	struct keybox_gen *g = NULL;
	json_t *sets = NULL;
	int have_set = 0;

	*json_out = NULL;
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL || (s = malloc(sizeof(*s))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation > 0) {
		/* keys_get is for the own user only; a set the chain does not back is refused like the chain. */
		if ((r = keys_fetch(c, &sets)) != VARSKO_OK)
			goto out;
		r = set_find(c, sets, uc, uc->st.generation, s);
		if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
			goto out;
		have_set = r == VARSKO_OK;
		if (have_set && self_index(c, uc) >= 0)
			holds = set_open_own(c, s, uc, &g) == VARSKO_OK;
		c->detail[0] = '\0';
	}
	r = userkey_devices_json(uc, c->id.user, c->id.device, have_set ? s : NULL, holds,
	                         home_has(c->home, HOME_F_PENDING), json_out);
out:
	keybox_gen_free(g);
	json_decref(sets);
	free(s);
	free(uc);
	return r;
}

int varsko_device_notices(struct varsko_conn *c, char **json_out)
{
	int r;
	struct userkey_chain *uc = NULL;
	json_t *arr = NULL;
	char t[PROTO_TIME_LEN + 1];

	*json_out = NULL;
	c->detail[0] = '\0';
	if ((uc = malloc(sizeof(*uc))) == NULL || (arr = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	/* On a home's first look there is nothing to compare with: it only remembers. */
	for (size_t j = 0; uc->pinned_seq > 0 && j < uc->st.n_devices; j++) {
		const struct chain_device *d = &uc->st.devices[j];
		json_t *e;

		if (uc->dev[j].added_seq <= uc->pinned_seq || strcmp(d->device, c->id.device) == 0)
			continue;
		proto_time_format(uc->dev[j].added_time, t);
		e = json_pack("{s:s, s:s, s:b, s:b}", "device", d->device, "added", t, "certified",
		              uc->dev[j].certified, "revoked", d->revoked);
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if ((r = pin_update(c, uc)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot write %s/%s", varsko_home_path(c->home),
		         HOME_F_CHAIN_SEEN);
		goto out;
	}
	/*
	 * Lazy rotation: a device an operator revoked (varskoctl revoke) is
	 * still in the chain; this device, holding the user key, revokes it
	 * there and rotates (PROTOCOL.md 15.8). A failure (another device of
	 * the user doing the same right now) is left for the next command.
	 */
	for (size_t j = 0; j < uc->st.n_devices; j++) {
		const struct chain_device *d = &uc->st.devices[j];
		char code[VARSKO_RECOVERY_CODE_LEN + 1];
		json_t *e;

		if (!uc->dev[j].server_revoked || d->revoked || strcmp(d->device, c->id.device) == 0)
			continue;
		if (varsko_device_revoke(c, d->device, code) != VARSKO_OK) {
			c->detail[0] = '\0';
			continue;
		}
		e = json_pack("{s:s, s:b, s:s}", "device", d->device, "rotated", 1, "recovery_code", code);
		sodium_memzero(code, sizeof(code));
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if ((*json_out = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = VARSKO_ERR_NOMEM;
out:
	json_decref(arr);
	free(uc);
	return r;
}

/*
 * The key box set of the current generation (gs's newest, the chain's
 * current) sealed to every device the chain has added, not revoked and
 * certified: after a rotation no earlier set can be extended.
 */
static int set_for_all(struct varsko_conn *c, const struct userkey_chain *uc, const struct gens *gs)
{
	struct rcpts *to = calloc(1, sizeof(*to));
	int r;

	if (to == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t j = 0; j < uc->st.n_devices; j++)
		if (!uc->st.devices[j].revoked && uc->dev[j].certified)
			rcpts_add(to, &uc->st.devices[j]);
	r = seal_put(c, gs, to);
	free(to);
	return r;
}

int varsko_device_revoke(struct varsko_conn *c, const char *device, char code_out[VARSKO_RECOVERY_CODE_LEN + 1])
{
	int r = VARSKO_ERR_INTERNAL, j, self, pending;
	struct userkey_chain *uc = NULL;
	struct gens gs;
	struct chain_link l;
	struct keybox_gen *next = NULL;
	json_t *sets = NULL;

	memset(&gs, 0, sizeof(gs));
	memset(code_out, 0, VARSKO_RECOVERY_CODE_LEN + 1);
	c->detail[0] = '\0';
	if (device == NULL || strcmp(device, c->id.device) == 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "a device revokes another device of its user; this one is revoked by the operator");
		return VARSKO_ERR_FORBIDDEN;
	}
	if ((uc = malloc(sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = chain_fetch(c, uc)) != VARSKO_OK)
		goto out;
	if ((self = self_index(c, uc)) < 0) {
		r = not_cross_signed(c);
		goto out;
	}
	if ((j = userkey_find_device(uc, device)) < 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is not a device of %s's user chain", device, c->id.user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	/* Revoked already: done, unless the rotation after it never happened (an interrupted revoke). */
	pending = uc->st.devices[j].revoked && uc->dev[j].revoked_seq == uc->st.head.seq;
	if (uc->st.devices[j].revoked && !pending) {
		snprintf(c->detail, sizeof(c->detail), "%s is revoked already", device);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	/* Every generation, from this device's own box: the new one carries them all. */
	if ((r = keys_fetch(c, &sets)) != VARSKO_OK || (r = gens_from_sets(c, sets, uc, &gs)) != VARSKO_OK)
		goto out;
	if (gs.n >= UK_PENDING_MAX) {
		snprintf(c->detail, sizeof(c->detail), "the user key has too many generations");
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	/* 1. The revocation, signed by the user key (varskod then revokes the device too). */
	if (pending)
		goto rotate;
	memset(&l, 0, sizeof(l));
	l.kind = CHAIN_KIND_USER;
	l.op = CHAIN_OP_DEVICE_REVOKE;
	snprintf(l.chain, sizeof(l.chain), "%s", c->id.user);
	snprintf(l.device, sizeof(l.device), "%s", device);
	l.time = (int64_t)time(NULL);
	if ((r = append_own(c, uc, &l, gs.g[gs.n - 1]->sign_sk)) != VARSKO_OK)
		goto out;
rotate:
	/* 2. A new generation, signed by the previous user key and this device (PROTOCOL.md 13). */
	if ((r = keybox_gen_new(&next, KEYBOX_USER, gs.n + 1)) != VARSKO_OK)
		goto out;
	memset(&l, 0, sizeof(l));
	l.kind = CHAIN_KIND_USER;
	l.op = CHAIN_OP_UK_ROTATE;
	snprintf(l.chain, sizeof(l.chain), "%s", c->id.user);
	l.generation = gs.n + 1;
	memcpy(l.uk_sign_pk, next->sign_pk, PROTO_PK_LEN);
	memcpy(l.uk_box_pk, next->box_pk, PROTO_PK_LEN);
	l.time = (int64_t)time(NULL);
	if ((r = append_signed(c, uc, &l, gs.g[gs.n - 1]->sign_sk, c->k->sign_sk)) != VARSKO_OK)
		goto out;
	gs.g[gs.n++] = next;
	next = NULL;
	/* 3. Sealed to the devices that remain; 4. a new recovery code for every generation. */
	if ((r = set_for_all(c, uc, &gs)) != VARSKO_OK)
		goto out;
	r = recovery_make_put(c, &gs, code_out);
out:
	if (r != VARSKO_OK)
		sodium_memzero(code_out, VARSKO_RECOVERY_CODE_LEN + 1);
	keybox_gen_free(next);
	gens_clear(&gs);
	json_decref(sets);
	free(uc);
	return r;
}
