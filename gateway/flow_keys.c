/*
 * flow_keys.c: the key model's requests (PROTOCOL.md 15): user chains, the
 * key box sets of user keys, recovery boxes. Worker thread.
 *
 * varskod holds no key that opens any of these; what it can do is refuse
 * what does not verify, so that the database only ever holds chains that
 * verify from their root, sets signed by the user key the chain names and
 * sealed only to devices the chain added, and boxes of the user who sent
 * them. Every read verifies the stored chain again: a row edited behind
 * varskod's back is answered bad_chain, never handed on as if it were good.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chain.h"
#include "flow_request.h"
#include "keybox.h"
#include "log.h"
#include "store_keys.h"
#include "chains.h"

#define DEVICE_PREFIX "device:"

/* ---- the stored user chain ------------------------------------------------------ */

/* userchain_load(), a chain that does not verify refused with its own message. */
static int user_chain(struct flow_job *j, struct store *st, const char *user, int want_json, struct userchain *uc)
{
	int r = userchain_load(st, user, want_json, uc);

	if (r == VARSKO_ERR_BAD_CHAIN)
		return flow_refuse(j, r, "the stored user chain does not verify: the database was changed");
	return r;
}

/* ---- chain_get ------------------------------------------------------------------- */

/* The answer `chain` of PROTOCOL.md 16.3 for an org or team chain: links, and no certs or revoked devices. */
static int chain_answer(struct flow_job *j, const char *kind, const char *chain, json_t *links)
{
	return flow_answer(j, json_pack("{s:s, s:s, s:O, s:[], s:[]}", "kind", kind, "chain", chain, "links", links,
	                                "certs", "revoked"));
}

static int org_chain_get(struct flow_job *j, struct store *st, const char *chain)
{
	struct orgchain *oc;
	int r;

	if (strcmp(chain, STORE_ORG_CHAIN) != 0)
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "the org chain's id is \"org\"");
	if ((oc = calloc(1, sizeof(*oc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = orgchain_load(st, 1, oc)) == VARSKO_ERR_BAD_CHAIN)
		r = flow_refuse(j, r, "the stored org chain does not verify: the database was changed");
	else if (r == VARSKO_OK)
		r = chain_answer(j, "org", chain, oc->rows.arr);
	orgchain_free(oc);
	free(oc);
	return r;
}

/* teamchain_load() with the refusals of PROTOCOL.md 16.3: an unknown team, a chain that does not verify. */
static int team_chain(struct flow_job *j, struct store *st, const char *team, int want_json, struct teamchain *tc)
{
	int r = store_team_exists(st, team);

	if (r == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, "the municipality has no such team");
	if (r != VARSKO_OK)
		return r;
	if ((r = teamchain_load(st, team, want_json, tc)) == VARSKO_ERR_BAD_CHAIN)
		return flow_refuse(j, r, "the stored team or org chain does not verify: the database was changed");
	return r;
}

static int team_chain_get(struct flow_job *j, struct store *st, const char *team)
{
	struct teamchain *tc;
	int r;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = team_chain(j, st, team, 1, tc)) == VARSKO_OK)
		r = chain_answer(j, "team", team, tc->rows.arr);
	teamchain_free(tc);
	free(tc);
	return r;
}

static int user_chain_get(struct flow_job *j, struct store *st, const char *user)
{
	struct userchain *uc = NULL;
	struct store_device d;
	json_t *certs = NULL, *revoked = NULL;
	int r;

	if ((uc = calloc(1, sizeof(*uc))) == NULL || (certs = json_array()) == NULL ||
	    (revoked = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = user_chain(j, st, user, 1, uc)) != VARSKO_OK)
		goto out;
	/* The certificate of every device the chain names, revoked ones too: they signed links. */
	for (size_t i = 0; i < uc->state.n_devices; i++) {
		if (store_device_get(st, uc->state.devices[i].device, &d) != VARSKO_OK)
			continue; /* the client then finds no certificate for it and refuses the device */
		if (json_array_append_new(certs, flow_cert_json(&d.cert)) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		/* Revoked here but not by the chain (an operator's varskoctl revoke): the user's devices rotate. */
		if (d.revoked_at != 0 && !uc->state.devices[i].revoked &&
		    json_array_append_new(revoked, json_string(d.cert.device)) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	r = flow_answer(j, json_pack("{s:s, s:s, s:O, s:O, s:O}", "kind", "user", "chain", user, "links", uc->rows.arr,
	                             "certs", certs, "revoked", revoked));
out:
	json_decref(revoked);
	json_decref(certs);
	userchain_free(uc);
	free(uc);
	return r;
}

int flow_run_chain_get(struct flow_job *j, struct store *st)
{
	const char *kind = json_string_value(json_object_get(j->req, "kind"));
	const char *chain = json_string_value(json_object_get(j->req, "chain"));

	if (strcmp(kind, "org") == 0)
		return org_chain_get(j, st, chain);
	if (strcmp(kind, "team") == 0)
		return team_chain_get(j, st, chain);
	return user_chain_get(j, st, chain);
}

/* ---- chain_append ----------------------------------------------------------------- */

static int user_chain_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *user = json_string_value(json_object_get(j->req, "chain"));
	struct userchain *uc = NULL;
	struct chain_link *l = NULL;
	struct store_device d;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (strcmp(user, c->cert.user) != 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device appends only to its own user's chain");
	if ((uc = calloc(1, sizeof(*uc))) == NULL || (l = calloc(1, sizeof(*l))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_link_from_json(json_object_get(j->req, "link"), l)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link is not a valid chain link");
		goto out;
	}
	/* The device a link adds: an active device of this user, with exactly these keys. */
	if ((l->op == CHAIN_OP_UK_CREATE || l->op == CHAIN_OP_DEVICE_ADD) &&
	    (store_device_get(st, l->device, &d) != VARSKO_OK || d.revoked_at != 0 || strcmp(d.cert.user, user) != 0 ||
	     sodium_memcmp(d.cert.sign_pk, l->device_sign_pk, PROTO_PK_LEN) != 0 ||
	     sodium_memcmp(d.cert.box_pk, l->device_box_pk, PROTO_PK_LEN) != 0)) {
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND,
		                "the link names no active device of this user with these keys");
		goto out;
	}
	if (l->op == CHAIN_OP_UK_CREATE && strcmp(l->device, j->device) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "uk_create names the device that sends it");
		goto out;
	}
	if ((r = user_chain(j, st, user, 0, uc)) != VARSKO_OK)
		goto out;
	if ((r = chain_user_extend(&uc->state, l, NULL)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link does not extend the user's chain");
		goto out;
	}
	if ((r = chain_link_to_text(l, &text, &len)) != VARSKO_OK)
		goto out;
	r = store_chain_add(st, "user", user, (int64_t)l->seq, chain_op_name(l->op), text, now, j->device);
	if (r == VARSKO_ERR_EXISTS) {
		r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "another link took this place first: fetch the chain again");
		goto out;
	}
	if (r != VARSKO_OK)
		goto out;
	/* A device the user's key revoked is revoked here too: it logs in no more (audited "revoke"). */
	if (l->op == CHAIN_OP_DEVICE_REVOKE && (r = store_device_revoke(st, l->device, now, j->device)) != VARSKO_OK &&
	    r != VARSKO_ERR_NOT_FOUND)
		goto out;
	/* An approval of that device is done: it leaves the open list (a failure only lets it expire). */
	if (l->op == CHAIN_OP_DEVICE_ADD && store_approval_done(st, l->device) != VARSKO_OK)
		log_msg(LOGL_WARN, "cannot remove a completed approval; it expires on its own");
	r = flow_answer(j, json_pack("{s:s, s:s, s:I}", "kind", "user", "chain", user, "seq", (json_int_t)l->seq));
out:
	free(text);
	free(l);
	userchain_free(uc);
	free(uc);
	return r;
}

/* PROTOCOL.md 16.3 step 5: the user a team_create or member_add names, as the municipality and its chain have it. */
static int member_check(struct flow_job *j, struct store *st, const char *team, const struct chain_link *l)
{
	struct proto_cert who;
	struct userchain *uc;
	int r;

	if ((r = store_user_get(st, l->user, &who)) != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		return r;
	if (r == VARSKO_ERR_NOT_FOUND || strcmp(who.team, team) != 0 || strcmp(who.role, chain_role_name(l->role)) != 0)
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT,
		                   "the municipality document does not place this user in this team with this role");
	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = user_chain(j, st, l->user, 0, uc)) != VARSKO_OK)
		goto out;
	if (uc->state.generation == 0)
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the user has no user key yet");
	else if (uc->state.generation != l->generation ||
	         sodium_memcmp(uc->state.uk_sign_pk, l->uk_sign_pk, PROTO_PK_LEN) != 0)
		r = flow_refuse(j, VARSKO_ERR_STALE_KEY, "the link does not pin the user's current user key");
out:
	userchain_free(uc);
	free(uc);
	return r;
}

/* PROTOCOL.md 16.3: a team link, checked in the order given there. */
static int team_chain_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *team = json_string_value(json_object_get(j->req, "chain"));
	struct teamchain *tc = NULL;
	struct userchain *own = NULL;
	struct chain_link *l = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	if ((tc = calloc(1, sizeof(*tc))) == NULL || (own = calloc(1, sizeof(*own))) == NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = store_team_exists(st, team)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND)
			r = flow_refuse(j, r, "the municipality has no such team");
		goto out;
	}
	if ((r = chain_link_from_json(json_object_get(j->req, "link"), l)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link is not a valid chain link");
		goto out;
	}
	if (l->kind != CHAIN_KIND_TEAM || strcmp(l->chain, team) != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "the link is not a link of this team's chain");
		goto out;
	}
	if ((r = team_chain(j, st, team, 0, tc)) != VARSKO_OK)
		goto out;
	if (!tc->org.has_root) {
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the organisation has no org chain yet (varskoctl org init)");
		goto out;
	}
	/* A device signs team changes with its own user's key only: who changed a team is who sent it. */
	if ((r = user_chain(j, st, c->cert.user, 0, own)) != VARSKO_OK)
		goto out;
	if (own->state.generation == 0 || sodium_memcmp(l->sigs[0].pk, own->state.uk_sign_pk, PROTO_PK_LEN) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device signs team changes with its own user's current key");
		goto out;
	}
	if ((l->op == CHAIN_OP_TEAM_CREATE || l->op == CHAIN_OP_MEMBER_ADD) &&
	    (r = member_check(j, st, team, l)) != VARSKO_OK)
		goto out;
	if ((r = chain_team_extend(&tc->state, l, &tc->org.state)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link does not extend the team's chain");
		goto out;
	}
	if ((r = chain_link_to_text(l, &text, &len)) != VARSKO_OK)
		goto out;
	r = store_chain_add(st, "team", team, (int64_t)l->seq, chain_op_name(l->op), text, now, j->device);
	if (r == VARSKO_ERR_EXISTS) {
		r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "another link took this place first: fetch the chain again");
		goto out;
	}
	if (r == VARSKO_OK)
		r = flow_answer(j,
		                json_pack("{s:s, s:s, s:I}", "kind", "team", "chain", team, "seq", (json_int_t)l->seq));
out:
	free(text);
	free(l);
	userchain_free(own);
	free(own);
	teamchain_free(tc);
	free(tc);
	return r;
}

int flow_run_chain_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *kind = json_string_value(json_object_get(j->req, "kind"));

	if (strcmp(kind, "org") == 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the org chain is written offline, by varskoctl org");
	if (strcmp(kind, "team") == 0)
		return team_chain_append(j, st, c, now);
	return user_chain_append(j, st, c, now);
}

/* ---- keys_get, keys_put -------------------------------------------------------------- */

static int set_row(int64_t generation, const char *json, size_t len, void *arg)
{
	(void)generation;
	return json_array_append_new(arg, flow_load_text(json, len)) == 0 ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

int flow_run_keys_get(struct flow_job *j, struct store *st, const struct caller *c)
{
	const char *owner = json_string_value(json_object_get(j->req, "owner"));
	char mine[KEYBOX_OWNER_MAX + 1];
	json_t *sets;
	int r;

	if (keybox_user_owner(mine, c->cert.user) != VARSKO_OK)
		return VARSKO_ERR_INTERNAL; /* the certificate's user id is always valid */
	if (keybox_owner_kind(owner) == KEYBOX_TEAM) {
		/* Any device may read a team's sets (PROTOCOL.md 16.5): a sender needs the public key. */
		if ((r = store_team_exists(st, owner + 5)) == VARSKO_ERR_NOT_FOUND)
			return flow_refuse(j, r, "the municipality has no such team");
		if (r != VARSKO_OK)
			return r;
	} else if (strcmp(owner, mine) != 0) {
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device asks only for its own user's keys");
	}
	if ((sets = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_keyset_foreach(st, owner, set_row, sets)) == VARSKO_OK)
		r = flow_answer(j, json_pack("{s:s, s:O}", "owner", owner, "sets", sets));
	json_decref(sets);
	return r;
}

/* The checks of PROTOCOL.md 15.4 on a decoded set against the verified chain; a refusal or VARSKO_OK. */
static int set_check(struct flow_job *j, const struct keybox_set *set, const struct userchain *uc)
{
	const struct chain_user_state *state = &uc->state;
	const struct chain_device *dev;

	if (state->generation == 0)
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the user has no user key yet");
	if (set->generation < state->generation)
		return flow_refuse(j, VARSKO_ERR_STALE_KEY, "a newer user key generation exists");
	if (set->generation > state->generation)
		return flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "the user chain has no such generation");
	if (sodium_memcmp(set->pub, state->uk_box_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp(set->signer, state->uk_sign_pk, PROTO_PK_LEN) != 0)
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the set is not of the user key the chain names");
	if (keybox_set_verify(set, state->uk_sign_pk) != VARSKO_OK)
		return flow_refuse(j, VARSKO_ERR_BAD_SIGNATURE, "the set's signature does not verify");
	for (size_t i = 0; i < set->n; i++) {
		const char *id = set->boxes[i].recipient;

		if (strncmp(id, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) != 0 ||
		    (dev = userchain_device(uc, id + strlen(DEVICE_PREFIX))) == NULL || dev->revoked)
			return flow_refuse(j, VARSKO_ERR_NOT_CROSS_SIGNED,
			                   "a recipient is not a device the user's chain added");
	}
	return VARSKO_OK;
}

/* Checks 3 of PROTOCOL.md 16.5: the generation against the newest stored one; a refusal or VARSKO_OK. */
static int team_generation_check(struct flow_job *j, struct store *st, const struct keybox_set *set)
{
	struct keyset_newest n = {0, NULL, 0};
	struct keybox_set *old = NULL;
	int r;

	if ((r = keyset_newest_load(st, set->owner, &n)) != VARSKO_OK)
		goto out;
	if (set->generation < (uint64_t)n.generation) {
		r = flow_refuse(j, VARSKO_ERR_STALE_KEY, "a newer team key generation exists");
	} else if (set->generation > (uint64_t)n.generation + 1) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "a team key generation follows the newest one by one");
	} else if (set->generation == (uint64_t)n.generation) {
		if ((old = malloc(sizeof(*old))) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if (keybox_set_from_json(n.json, n.len, old) != VARSKO_OK) {
			r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN,
			                "the stored team key set does not parse: the database was changed");
		} else if (sodium_memcmp(old->pub, set->pub, PROTO_PK_LEN) != 0 || old->has_prev != set->has_prev ||
		           (set->has_prev && sodium_memcmp(old->prev_box, set->prev_box, KEYBOX_PREV_BOX_LEN) != 0)) {
			r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "a team key generation keeps its key");
		}
	}
out:
	free(old);
	free(n.json);
	return r;
}

/* PROTOCOL.md 16.5: a team's key box set, checked in the order given there. */
static int team_set_check(struct flow_job *j, struct store *st, const struct caller *c, const struct keybox_set *set)
{
	const char *users[CHAIN_MEMBERS_MAX];
	uint64_t gens[CHAIN_MEMBERS_MAX];
	struct teamchain *tc = NULL;
	struct userchain *own = NULL;
	char owner[KEYBOX_OWNER_MAX + 1];
	uint64_t g;
	size_t k;
	int r;

	if ((tc = calloc(1, sizeof(*tc))) == NULL || (own = calloc(1, sizeof(*own))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = team_chain(j, st, set->owner + 5, 0, tc)) != VARSKO_OK)
		goto out;
	if (tc->state.head.seq == 0) {
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the team has no chain yet");
		goto out;
	}
	if ((r = user_chain(j, st, c->cert.user, 0, own)) != VARSKO_OK)
		goto out;
	if (own->state.generation == 0 || sodium_memcmp(set->signer, own->state.uk_sign_pk, PROTO_PK_LEN) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN,
		                "a device signs a team key set with its own user's current key");
		goto out;
	}
	for (k = 0; k < tc->state.n_members && strcmp(tc->state.members[k].user, c->cert.user) != 0; k++)
		;
	if (k == tc->state.n_members) {
		r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER, "only a member of the team makes its keys");
		goto out;
	}
	if ((r = team_generation_check(j, st, set)) != VARSKO_OK)
		goto out;
	if (keybox_set_verify(set, set->signer) != VARSKO_OK) {
		r = flow_refuse(j, VARSKO_ERR_BAD_SIGNATURE, "the set's signature does not verify");
		goto out;
	}
	if ((r = teamchain_member_gens(st, tc, users, gens)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < set->n; i++) {
		if (keybox_key_id_split(set->boxes[i].recipient, owner, &g) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_USER) {
			r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER, "a team key is sealed to members' user keys only");
			goto out;
		}
		for (k = 0; k < tc->state.n_members && strcmp(users[k], owner + 5) != 0; k++)
			;
		if (k == tc->state.n_members) {
			r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER, "a recipient is not a member of the team");
			goto out;
		}
		if (g != gens[k]) {
			r = flow_refuse(j, VARSKO_ERR_STALE_KEY,
			                "a recipient's user key is not the member's current one");
			goto out;
		}
	}
out:
	userchain_free(own);
	free(own);
	teamchain_free(tc);
	free(tc);
	return r;
}

int flow_run_keys_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct userchain *uc = NULL;
	struct keybox_set *set = NULL;
	char mine[KEYBOX_OWNER_MAX + 1];
	char *text = NULL;
	size_t len = 0;
	int r;

	if ((uc = calloc(1, sizeof(*uc))) == NULL || (set = malloc(sizeof(*set))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((text = flow_member_text(j->req, "set", &len)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = keybox_set_from_json(text, len, set)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the set is not a valid key box set");
		goto out;
	}
	if (keybox_user_owner(mine, c->cert.user) != VARSKO_OK) {
		r = VARSKO_ERR_INTERNAL; /* the certificate's user id is always valid */
		goto out;
	}
	if (keybox_owner_kind(set->owner) == KEYBOX_TEAM) {
		if ((r = team_set_check(j, st, c, set)) != VARSKO_OK)
			goto out;
		snprintf(mine, sizeof(mine), "%s", set->owner);
	} else if (strcmp(set->owner, mine) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device puts only its own user's keys");
		goto out;
	} else if ((r = user_chain(j, st, c->cert.user, 0, uc)) != VARSKO_OK ||
	           (r = set_check(j, set, uc)) != VARSKO_OK) {
		goto out;
	}
	free(text);
	text = NULL;
	if ((r = keybox_set_to_json(set, &text, &len)) != VARSKO_OK)
		goto out;
	if ((r = store_keyset_put(st, mine, (int64_t)set->generation, text, now, j->device)) != VARSKO_OK)
		goto out;
	r = flow_answer(j, json_pack("{s:s, s:I}", "owner", mine, "generation", (json_int_t)set->generation));
out:
	free(text);
	free(set);
	userchain_free(uc);
	free(uc);
	return r;
}

/* ---- recovery_put, recovery_get ------------------------------------------------------- */

int flow_run_recovery_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct keybox_recovery box;
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(&box, 0, sizeof(box));
	if ((text = flow_member_text(j->req, "box", &len)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = keybox_recovery_from_json(text, len, &box)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the box is not a valid recovery box");
		goto out;
	}
	if (strcmp(box.user, c->cert.user) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device puts only its own user's recovery box");
		goto out;
	}
	/* The bounds every opener enforces (PROTOCOL.md 14.5): a box outside them would never open. */
	if (box.opslimit < crypto_pwhash_OPSLIMIT_MIN || box.opslimit > crypto_pwhash_OPSLIMIT_MODERATE ||
	    box.memlimit < crypto_pwhash_MEMLIMIT_MIN || box.memlimit > crypto_pwhash_MEMLIMIT_MODERATE) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the box's Argon2id limits are outside the allowed range");
		goto out;
	}
	free(text);
	text = NULL;
	if ((r = keybox_recovery_to_json(&box, &text, &len)) != VARSKO_OK)
		goto out;
	if ((r = store_recovery_put(st, c->cert.user, text, now, j->device)) != VARSKO_OK)
		goto out;
	r = flow_answer(j, json_object());
out:
	keybox_recovery_clear(&box);
	free(text);
	return r;
}

int flow_run_recovery_get(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	char *text = NULL;
	size_t len = 0;
	int64_t tries = 0;
	json_t *box;
	int r;

	r = store_recovery_take(st, c->cert.user, now, j->device, &text, &len, &tries);
	if (r == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, "the user has no recovery box");
	if (r == VARSKO_ERR_RECOVERY_LOCKED)
		return flow_refuse(j, r, "too many recovery attempts: an administrator must unlock recovery");
	if (r != VARSKO_OK)
		return r;
	if ((box = flow_load_text(text, len)) == NULL)
		r = VARSKO_ERR_DB;
	else
		r = flow_answer(j, json_pack("{s:o, s:I}", "box", box, "tries", (json_int_t)tries));
	free(text);
	return r;
}

/* ---- device approval (PROTOCOL.md 15.7) ------------------------------------------------ */

/* The approval object of the answers: a new reference, or NULL. */
static json_t *approval_json(struct store *st, const struct store_approval *a)
{
	char created[PROTO_TIME_LEN + 1], expires[PROTO_TIME_LEN + 1], b64[64];
	struct store_device d;
	json_t *o;

	if (store_device_get(st, a->device, &d) != VARSKO_OK)
		return NULL;
	proto_time_format(a->created_at, created);
	proto_time_format(a->expires_at, expires);
	if (proto_b64_encode(a->commit, 32, b64, sizeof b64) != VARSKO_OK)
		return NULL;
	o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "approval", a->id, "device", a->device, "cert",
	              flow_cert_json(&d.cert), "commit", b64, "created", created, "expires", expires);
	if (o == NULL)
		return NULL;
	if (a->old_device[0] != '\0' && json_object_set_new(o, "old_device", json_string(a->old_device)) != 0)
		goto fail;
	if (a->has_nonce_old && (proto_b64_encode(a->nonce_old, 32, b64, sizeof b64) != VARSKO_OK ||
	                         json_object_set_new(o, "nonce_old", json_string(b64)) != 0))
		goto fail;
	if (a->has_nonce_new && (proto_b64_encode(a->nonce_new, 32, b64, sizeof b64) != VARSKO_OK ||
	                         json_object_set_new(o, "nonce_new", json_string(b64)) != 0))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* A 32-byte b64 member of the request (the frame's schema checked it). */
static int member32(const json_t *req, const char *key, uint8_t out[32])
{
	const char *t = json_string_value(json_object_get(req, key));

	return t != NULL ? proto_b64_decode_exact(t, out, 32) : VARSKO_ERR_BAD_FRAME;
}

/* The open approval the request names, of the caller's own user; refused not_found otherwise. */
static int approval_of_caller(struct flow_job *j, struct store *st, const struct caller *c, int64_t now,
                              struct store_approval *a)
{
	const char *id = json_string_value(json_object_get(j->req, "approval"));
	int r = id != NULL ? store_approval_get(st, id, now, a) : VARSKO_ERR_NOT_FOUND;

	if (r == VARSKO_OK && strcmp(a->user, c->cert.user) != 0)
		r = VARSKO_ERR_NOT_FOUND; /* another user's approval is not told apart from none */
	if (r == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, "no such open approval of this user");
	return r;
}

static int approval_answer(struct flow_job *j, struct store *st, const struct store_approval *a)
{
	json_t *o = approval_json(st, a);

	return o != NULL ? flow_answer(j, o) : VARSKO_ERR_DB;
}

int flow_run_approve_request(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct userchain *uc = NULL;
	struct store_approval a;
	int r;

	memset(&a, 0, sizeof a);
	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = member32(j->req, "commit", a.commit)) != VARSKO_OK)
		goto out;
	if ((r = user_chain(j, st, c->cert.user, 0, uc)) != VARSKO_OK)
		goto out;
	if (userchain_device(uc, j->device) != NULL) {
		r = flow_refuse(j, VARSKO_ERR_EXISTS, "this device is already in its user's chain");
		goto out;
	}
	if (uc->state.generation == 0) {
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the user has no user key yet: this is the first device");
		goto out;
	}
	snprintf(a.user, sizeof a.user, "%s", c->cert.user);
	snprintf(a.device, sizeof a.device, "%s", j->device);
	if ((r = store_approval_new(st, &a, now, j->device)) != VARSKO_OK)
		goto out;
	r = approval_answer(j, st, &a);
out:
	userchain_free(uc);
	free(uc);
	return r;
}

struct approvals_ctx {
	struct store *st;
	json_t *items;
};

static int approvals_row(const struct store_approval *a, void *arg)
{
	struct approvals_ctx *x = arg;
	json_t *o = approval_json(x->st, a);

	if (o == NULL)
		return VARSKO_OK; /* a new device revoked meanwhile: nothing to approve */
	if (json_array_size(x->items) >= FLOW_APPROVALS_MAX) {
		json_decref(o);
		return VARSKO_OK;
	}
	return json_array_append_new(x->items, o) == 0 ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

int flow_run_approve_list(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct approvals_ctx x = {st, json_array()};
	int r;

	if (x.items == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_approval_foreach(st, c->cert.user, now, approvals_row, &x)) == VARSKO_OK)
		r = flow_answer(j, json_pack("{s:O}", "items", x.items));
	json_decref(x.items);
	return r;
}

int flow_run_approve_offer(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct userchain *uc = NULL;
	struct store_approval a;
	const struct chain_device *dev;
	uint8_t nonce[32];
	int r;

	if ((r = member32(j->req, "nonce", nonce)) != VARSKO_OK)
		return r;
	if ((r = approval_of_caller(j, st, c, now, &a)) != VARSKO_OK)
		return r;
	if (strcmp(a.device, j->device) == 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device does not approve itself");
	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = user_chain(j, st, c->cert.user, 0, uc)) != VARSKO_OK)
		goto out;
	if ((dev = userchain_device(uc, j->device)) == NULL || dev->revoked) {
		r = flow_refuse(j, VARSKO_ERR_NOT_CROSS_SIGNED, "only a device the user's chain added may approve");
		goto out;
	}
	if ((r = store_approval_offer(st, a.id, j->device, nonce, now)) == VARSKO_ERR_EXISTS) {
		r = flow_refuse(j, r, "another device has offered already");
		goto out;
	}
	if (r != VARSKO_OK || (r = store_approval_get(st, a.id, now, &a)) != VARSKO_OK)
		goto out;
	r = approval_answer(j, st, &a);
out:
	userchain_free(uc);
	free(uc);
	return r;
}

int flow_run_approve_reveal(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct store_approval a;
	uint8_t nonce[32], commit[32];
	int r;

	if ((r = member32(j->req, "nonce", nonce)) != VARSKO_OK)
		return r;
	if ((r = approval_of_caller(j, st, c, now, &a)) != VARSKO_OK)
		return r;
	if (strcmp(a.device, j->device) != 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "only the new device reveals its nonce");
	if (!a.has_nonce_old)
		return flow_refuse(j, VARSKO_ERR_PROTOCOL, "no device has offered yet");
	if (a.has_nonce_new)
		return flow_refuse(j, VARSKO_ERR_EXISTS, "the nonce was revealed already");
	if ((r = keybox_approval_commit(commit, nonce, c->cert.sign_pk, c->cert.box_pk)) != VARSKO_OK)
		return r;
	if (sodium_memcmp(commit, a.commit, sizeof commit) != 0)
		return flow_refuse(j, VARSKO_ERR_APPROVAL_FAILED, "the nonce does not open the commitment");
	if ((r = store_approval_reveal(st, a.id, nonce, now, j->device)) == VARSKO_ERR_EXISTS)
		return flow_refuse(j, r, "the nonce was revealed already");
	if (r != VARSKO_OK || (r = store_approval_get(st, a.id, now, &a)) != VARSKO_OK)
		return r;
	return approval_answer(j, st, &a);
}

int flow_run_approve_get(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct store_approval a;
	int r;

	if ((r = approval_of_caller(j, st, c, now, &a)) != VARSKO_OK)
		return r;
	return approval_answer(j, st, &a);
}
