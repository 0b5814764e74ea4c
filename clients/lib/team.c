/*
 * team.c: the organisation root and the team chains, the client side
 * (PROTOCOL.md 16).
 *
 * varskod stores the org chain and every team chain and checks them, but it
 * could hand out anything, so nothing here believes it: the org chain is
 * verified from the root this home pinned at enrollment (root.pub), a team
 * chain against that verified org chain (its admins), and every member's
 * pinned user key against the member's own user chain (userkey.c), whose
 * root device must carry a certificate from the organisation key that the
 * org chain lists as an enrollment key. What the home last verified of each
 * chain (org.seen, teams/<team>.seen) must still be in the chain the next
 * time: a server that takes a link back or forks the chain is refused.
 *
 * A change to a team chain is a link signed by the own user's current key
 * (userkey_current(): the seed is opened from this device's key box and
 * wiped with the keybox_gen); it is verified against the local state first,
 * so a change the server would refuse is refused here with the same code
 * and never leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

/* ---- fetching and parsing ------------------------------------------------------------------- */

/*
 * chain_get of kind/chain (PROTOCOL.md 16.3), the answer's links parsed:
 * *out (an array of *n links, NULL when empty) is owned by the caller
 * (free()). A link that does not parse is VARSKO_ERR_BAD_CHAIN.
 */
static int links_get(struct varsko_conn *c, const char *kind, const char *chain, struct chain_link **out, size_t *n)
{
	int r = VARSKO_ERR_INTERNAL;
	json_t *req = NULL, *ans = NULL;
	const json_t *links;
	const char *k, *ch;
	size_t nl;

	*out = NULL;
	*n = 0;
	if ((req = json_pack("{s:s, s:s, s:s}", "type", "chain_get", "kind", kind, "chain", chain)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_CHAIN, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_CHAIN)
			snprintf(c->detail, sizeof(c->detail),
			         "varskod says its stored %s chain %s does not verify (bad_chain): it has been "
			         "tampered with; ask the operator",
			         kind, chain);
		else if (r == VARSKO_ERR_NOT_FOUND && strcmp(kind, "team") == 0)
			snprintf(c->detail, sizeof(c->detail), "the municipality has no team %s", chain);
		goto out;
	}
	k = json_string_value(json_object_get(ans, "kind"));
	ch = json_string_value(json_object_get(ans, "chain"));
	links = json_object_get(ans, "links");
	if (k == NULL || ch == NULL || strcmp(k, kind) != 0 || strcmp(ch, chain) != 0 || !json_is_array(links)) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with another chain than the %s chain %s", kind,
		         chain);
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	if ((nl = json_array_size(links)) > FLOW_CHAIN_LINKS_MAX) {
		snprintf(c->detail, sizeof(c->detail), "the %s chain %s is too long", kind, chain);
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	{
		char what[96];

		snprintf(what, sizeof(what), "the %s chain %s", kind, chain);
		r = chain_links_parse(c, links, what, out, n);
	}
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

int chain_links_parse(struct varsko_conn *c, const json_t *links, const char *what, struct chain_link **out,
                      size_t *n)
{
	struct chain_link *ls = NULL;
	const json_t *v;
	size_t i, nl = json_array_size(links);

	*out = NULL;
	*n = 0;
	if (nl > 0 && (ls = calloc(nl, sizeof(*ls))) == NULL)
		return VARSKO_ERR_NOMEM;
	json_array_foreach(links, i, v)
	{
		if (chain_link_from_json(v, &ls[i]) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "link %zu of %s does not parse: refused", i + 1, what);
			free(ls);
			return VARSKO_ERR_BAD_CHAIN;
		}
	}
	*out = ls;
	*n = nl;
	return VARSKO_OK;
}

int chain_seen_refuse(struct varsko_conn *c, const char *name, const uint8_t (*hashes)[CHAIN_HASH_LEN], size_t n,
                      const char *what, uint64_t *seen_seq)
{
	int r = home_seen_check(c->home, name, hashes, n, seen_seq);

	if (r == VARSKO_ERR_BAD_INPUT) {
		snprintf(c->detail, sizeof(c->detail), "%s/%s is damaged", varsko_home_path(c->home), name);
	} else if (r != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "the server shows %s that does not contain the one this device verified (link %llu): it went "
		         "backwards or was changed; refused",
		         what, (unsigned long long)*seen_seq);
		r = VARSKO_ERR_BAD_CHAIN;
	}
	return r;
}

/* The hash of each of links[0..n) into hashes (by seq - 1, as home_seen_check() wants them). */
int chain_links_hash(const struct chain_link *ls, size_t n, uint8_t (*hashes)[CHAIN_HASH_LEN])
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = chain_link_hash(&ls[i], hashes[i])) != VARSKO_OK)
			return r;
	return VARSKO_OK;
}

/* ---- the org chain ---------------------------------------------------------------------------- */

static const struct chain_admin *org_admin(const struct chain_org_state *org, const char *user)
{
	for (size_t i = 0; i < org->n_admins; i++)
		if (strcmp(org->admins[i].user, user) == 0)
			return &org->admins[i];
	return NULL;
}

int team_org_fetch(struct varsko_conn *c, struct chain_org_state *out)
{
	int r = VARSKO_ERR_INTERNAL;
	struct chain_link *ls = NULL;
	uint8_t(*hashes)[CHAIN_HASH_LEN] = NULL;
	size_t n = 0, bad = 0, i;
	uint64_t seen = 0;
	int64_t now = (int64_t)time(NULL);
	char t[PROTO_TIME_LEN + 1];

	memset(out, 0, sizeof(*out));
	c->detail[0] = '\0';
	if (!c->has_root) {
		snprintf(c->detail, sizeof(c->detail),
		         "this device holds no organisation root key (it was enrolled before the org chain "
		         "existed), so it cannot verify the org chain or any team chain: enroll it again");
		return VARSKO_ERR_NOT_FOUND;
	}
	if ((r = links_get(c, "org", "org", &ls, &n)) != VARSKO_OK)
		goto out;
	if (n == 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "the server presents an organisation root but no org chain: refused");
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	/* Only the root signs the org chain: whatever fails, the chain is not the organisation's. */
	if ((r = chain_org_verify(ls, n, c->root_pk, out, &bad)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "the org chain does not verify from the pinned organisation root at link %zu (%s): refused",
		         bad + 1, varsko_err_name(r));
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if ((hashes = malloc(n * sizeof(*hashes))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_links_hash(ls, n, hashes)) != VARSKO_OK)
		goto out;
	if ((r = chain_seen_refuse(c, HOME_F_ORG_SEEN, (const uint8_t(*)[CHAIN_HASH_LEN])hashes, n, "an org chain",
	                           &seen)) != VARSKO_OK)
		goto out;
	/* The key that certified every device this home trusts must be the root's enrollment key, still valid. */
	for (i = 0; i < out->n_enroll; i++)
		if (sodium_memcmp(out->enroll[i].pk, c->org_pk, PROTO_PK_LEN) == 0)
			break;
	if (i == out->n_enroll) {
		snprintf(c->detail, sizeof(c->detail),
		         "the organisation key this device pinned is not an enrollment key of the org chain: it is "
		         "not the organisation's; refused");
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if (out->enroll[i].not_after < now) {
		proto_time_format(out->enroll[i].not_after, t);
		snprintf(c->detail, sizeof(c->detail),
		         "the org chain retired the organisation key this device pinned (valid until %s): refused; "
		         "enroll the device again",
		         t);
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if ((r = home_seen_write(c->home, HOME_F_ORG_SEEN, &out->head)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot write %s/%s", varsko_home_path(c->home),
		         HOME_F_ORG_SEEN);
		goto out;
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	free(hashes);
	free(ls);
	return r;
}

int team_org_first_check(struct varsko_conn *c)
{
	struct chain_org_state *org;
	int r;

	if (!c->has_root || home_has(c->home, HOME_F_ORG_SEEN))
		return VARSKO_OK;
	if ((org = malloc(sizeof(*org))) == NULL)
		return VARSKO_ERR_NOMEM;
	r = team_org_fetch(c, org);
	free(org);
	return r;
}

/* ---- team chains ----------------------------------------------------------------------------- */

static int team_seen_name(char name[sizeof(HOME_D_TEAMS) + PROTO_ID_MAX + 8], const char *team)
{
	if (!home_part_ok(team))
		return VARSKO_ERR_BAD_INPUT;
	snprintf(name, sizeof(HOME_D_TEAMS) + PROTO_ID_MAX + 8, "%s/%s.seen", HOME_D_TEAMS, team);
	return VARSKO_OK;
}

int team_member_index(const struct chain_team_state *st, const char *user)
{
	for (size_t i = 0; i < st->n_members; i++)
		if (strcmp(st->members[i].user, user) == 0)
			return (int)i;
	return -1;
}

int team_pin_check(const struct chain_member *m, const struct userkey_chain *uc, char *detail, size_t dcap)
{
	if (strcmp(uc->st.user, m->user) != 0 || !userkey_had_key(uc, m->uk_generation, m->uk_sign_pk)) {
		snprintf(detail, dcap,
		         "the user chain the server shows for %s does not contain the user key the team chain pinned "
		         "(generation %llu): refused",
		         m->user, (unsigned long long)m->uk_generation);
		return VARSKO_ERR_BAD_CHAIN;
	}
	return VARSKO_OK;
}

int team_chain_of(struct varsko_conn *c, const char *team, struct team_chain *tc)
{
	int r = VARSKO_ERR_INTERNAL;
	struct chain_link *ls = NULL;
	struct userkey_chain *uc = NULL;
	size_t n = 0, bad = 0;
	char name[sizeof(HOME_D_TEAMS) + PROTO_ID_MAX + 8];

	memset(tc, 0, sizeof(*tc));
	c->detail[0] = '\0';
	if (team == NULL || team_seen_name(name, team) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         "a team id is 1 to 64 of the letters A-Z a-z, digits, '-', '_' and '.'");
		return VARSKO_ERR_BAD_INPUT;
	}
	/* 1. The org chain from the pinned root: the admins. */
	if ((r = team_org_fetch(c, &tc->org)) != VARSKO_OK)
		goto out;
	/* 2. The team chain, verified from its root against those admins. */
	if ((r = links_get(c, "team", team, &ls, &n)) != VARSKO_OK)
		goto out;
	if ((r = chain_team_verify(ls, n, team, &tc->org, &tc->st, &bad)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the team chain of %s does not verify at link %zu (%s): refused",
		         team, bad + 1, varsko_err_name(r));
		goto out;
	}
	if ((r = chain_links_hash(ls, n, tc->link_hash)) != VARSKO_OK)
		goto out;
	tc->n_links = n;
	/* 4. Not shorter than, and extending, what this home verified last. */
	{
		char what[PROTO_ID_MAX + 24];

		snprintf(what, sizeof(what), "a team chain of %s", team);
		if ((r = chain_seen_refuse(c, name, (const uint8_t(*)[CHAIN_HASH_LEN])tc->link_hash, n, what,
		                           &tc->seen_seq)) != VARSKO_OK)
			goto out;
	}
	/* 3. Each member's user chain starts from the key the team chain pinned; its newest key is the current one. */
	if ((uc = malloc(sizeof(*uc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < tc->st.n_members; i++) {
		const struct chain_member *m = &tc->st.members[i];

		if ((r = userkey_chain_of(c, m->user, uc)) != VARSKO_OK)
			goto out;
		if ((r = team_pin_check(m, uc, c->detail, sizeof(c->detail))) != VARSKO_OK)
			goto out;
		snprintf(tc->cur[i].name, sizeof(tc->cur[i].name), "%s", uc->has_cert ? uc->cert.name : "");
		tc->cur[i].generation = uc->st.generation;
		memcpy(tc->cur[i].uk_sign_pk, uc->st.uk_sign_pk, PROTO_PK_LEN);
		memcpy(tc->cur[i].uk_box_pk, uc->st.uk_box_pk, PROTO_PK_LEN);
	}
	if ((r = home_seen_write(c->home, name, &tc->st.head)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot write %s/%s", varsko_home_path(c->home), name);
		goto out;
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		memset(tc, 0, sizeof(*tc)); /* a refused chain's state is not to be used */
	free(uc);
	free(ls);
	return r;
}

/* ---- changes ---------------------------------------------------------------------------------- */

/* The detail of a change the local state refuses, by chain_team_extend()'s code. */
static void change_refused(struct varsko_conn *c, const struct team_chain *tc, const struct chain_link *l, int r)
{
	const struct chain_admin *a = org_admin(&tc->org, c->id.user);
	int j = team_member_index(&tc->st, c->id.user);

	if (r == VARSKO_ERR_NOT_MEMBER && (a != NULL || j >= 0))
		snprintf(c->detail, sizeof(c->detail),
		         "the %s chain pins an older user key of %s (generation %llu) than the one this device "
		         "signs with: the change is refused (not_member) until the key is pinned again",
		         a != NULL ? "org" : "team", c->id.user,
		         (unsigned long long)(a != NULL ? a->uk_generation : tc->st.members[j].uk_generation));
	else if (r == VARSKO_ERR_NOT_MEMBER)
		snprintf(c->detail, sizeof(c->detail),
		         l->op == CHAIN_OP_TEAM_CREATE
		                 ? "%s is not an admin by the org chain: only an admin creates a team chain"
		                 : "%s is neither a leder of the team nor an admin by the org chain",
		         c->id.user);
	else if (r == VARSKO_ERR_FORBIDDEN)
		snprintf(c->detail, sizeof(c->detail),
		         "%s is a member of team %s but not a leder: only a leder changes it", c->id.user, tc->st.team);
	else if (r == VARSKO_ERR_TOO_LARGE)
		snprintf(c->detail, sizeof(c->detail), "team %s has as many members as a team chain holds (%d)",
		         l->chain, CHAIN_MEMBERS_MAX);
	else
		snprintf(c->detail, sizeof(c->detail), "the %s link for %s does not fit team %s's chain (%s)",
		         chain_op_name(l->op), l->user, l->chain, varsko_err_name(r));
}

/*
 * Sign l (its op and fields filled by the caller) with the own user's
 * current key, check that it extends tc (else the same code varskod would
 * give, and nothing is sent), append it (chain_append, kind team) and
 * extend tc and the home's teams/<team>.seen with it.
 */
static int team_change(struct varsko_conn *c, struct team_chain *tc, struct chain_link *l)
{
	int r = VARSKO_ERR_INTERNAL;
	struct keybox_gen *g = NULL;
	struct chain_team_state *next = NULL;
	json_t *lo = NULL, *req = NULL, *ans = NULL;
	json_int_t seq;
	char name[sizeof(HOME_D_TEAMS) + PROTO_ID_MAX + 8];

	if ((r = team_seen_name(name, tc->st.team[0] != '\0' ? tc->st.team : l->chain)) != VARSKO_OK)
		return r;
	if ((r = userkey_current(c, &g)) != VARSKO_OK)
		goto out;
	chain_link_follow(l, &tc->st.head);
	l->time = (int64_t)time(NULL);
	if ((r = chain_link_sign(l, g->sign_sk)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot sign the %s link", chain_op_name(l->op));
		goto out;
	}
	if ((next = malloc(sizeof(*next))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	*next = tc->st;
	if ((r = chain_team_extend(next, l, &tc->org)) != VARSKO_OK) {
		change_refused(c, tc, l, r);
		goto out;
	}
	if ((r = chain_link_to_json(l, &lo)) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:s, s:o}", "type", "chain_append", "kind", "team", "chain", l->chain, "link",
	                     lo)) == NULL)
		r = VARSKO_ERR_NOMEM;
	lo = NULL; /* json_pack's "o" took it, also when it failed */
	if (r != VARSKO_OK)
		goto out;
	if ((r = conn_request(c, req, FLOW_T_CHAIN_OK, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_STALE_KEY)
			snprintf(c->detail, sizeof(c->detail),
			         "%s's user key changed meanwhile (stale_key): run the command again", l->user);
		else if (c->detail[0] == '\0')
			snprintf(c->detail, sizeof(c->detail), "varskod refused the %s link", chain_op_name(l->op));
		goto out;
	}
	seq = json_integer_value(json_object_get(ans, "seq"));
	if (seq < 0 || (uint64_t)seq != l->seq) {
		snprintf(c->detail, sizeof(c->detail), "varskod stored the link as another seq than it has");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	tc->st = *next;
	if (tc->n_links < FLOW_CHAIN_LINKS_MAX && chain_link_hash(l, tc->link_hash[tc->n_links]) == VARSKO_OK)
		tc->n_links++;
	/* This device made the link; a later look must find it. */
	if (home_seen_write(c->home, name, &tc->st.head) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "stored, but cannot write %s/%s", varsko_home_path(c->home),
		         name);
	r = VARSKO_OK;
out:
	keybox_gen_free(g);
	free(next);
	json_decref(lo);
	json_decref(req);
	json_decref(ans);
	return r;
}

static enum chain_role role_from_name(const char *s)
{
	for (int r = CHAIN_ROLE_NONE + 1; r < CHAIN_ROLE_COUNT_; r++)
		if (strcmp(chain_role_name((enum chain_role)r), s) == 0)
			return (enum chain_role)r;
	return CHAIN_ROLE_NONE;
}

/*
 * The user key a new member's link pins and the member's role: the newest
 * key of the user's verified user chain, and the role of the newest valid
 * certificate of a device of the user that the chain has not revoked.
 */
static int member_key(struct varsko_conn *c, const char *user, struct chain_link *l)
{
	int r;
	struct userkey_chain *uc = malloc(sizeof(*uc));
	const char *role = NULL;
	int64_t nb = 0;

	if (uc == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = userkey_chain_of(c, user, uc)) != VARSKO_OK)
		goto out;
	if (uc->st.generation == 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "%s has no user key yet: the user enrolls a device first (varsko enroll)", user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	for (size_t j = 0; j < uc->st.n_devices; j++)
		if (uc->dev[j].certified && !uc->st.devices[j].revoked &&
		    (role == NULL || uc->dev[j].cert_not_before >= nb)) {
			role = uc->dev[j].role;
			nb = uc->dev[j].cert_not_before;
		}
	if (role == NULL) {
		snprintf(c->detail, sizeof(c->detail), "no device of %s has a valid certificate from the organisation",
		         user);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	l->role = role_from_name(role);
	if (!chain_role_of_kind(l->role, CHAIN_KIND_TEAM) ||
	    (l->op == CHAIN_OP_TEAM_CREATE && l->role != CHAIN_ROLE_LEDER)) {
		snprintf(c->detail, sizeof(c->detail), "%s has the role %s, which cannot be %s of a team", user, role,
		         l->op == CHAIN_OP_TEAM_CREATE ? "the first leder" : "a member");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	snprintf(l->user, sizeof(l->user), "%s", user);
	l->generation = uc->st.generation;
	memcpy(l->uk_sign_pk, uc->st.uk_sign_pk, PROTO_PK_LEN);
	r = VARSKO_OK;
out:
	free(uc);
	return r;
}

/* A team link of op for team and user, other fields empty. */
static void link_init(struct chain_link *l, enum chain_op op, const char *team, const char *user)
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_TEAM;
	l->op = op;
	snprintf(l->chain, sizeof(l->chain), "%s", team);
	snprintf(l->user, sizeof(l->user), "%s", user);
}

/* The team chain of team, verified, or a clear refusal: the user id must be one too. */
static int change_start(struct varsko_conn *c, const char *team, const char *user, struct team_chain **out)
{
	int r;

	*out = NULL;
	c->detail[0] = '\0';
	if (user == NULL || user[0] == '\0' || strlen(user) > PROTO_ID_MAX) {
		snprintf(c->detail, sizeof(c->detail), "a user id is 1 to %d characters", PROTO_ID_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((*out = malloc(sizeof(**out))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = team_chain_of(c, team, *out)) != VARSKO_OK) {
		free(*out);
		*out = NULL;
	}
	return r;
}

int varsko_team_create(struct varsko_conn *c, const char *team, const char *leder)
{
	int r;
	struct team_chain *tc = NULL;
	struct chain_link l;

	if ((r = change_start(c, team, leder, &tc)) != VARSKO_OK)
		return r;
	if (tc->st.head.seq > 0) {
		snprintf(c->detail, sizeof(c->detail), "team %s has a team chain already", team);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if (org_admin(&tc->org, c->id.user) == NULL) {
		snprintf(c->detail, sizeof(c->detail),
		         "%s is not an admin by the org chain: only an admin creates a team chain", c->id.user);
		r = VARSKO_ERR_NOT_MEMBER;
		goto out;
	}
	link_init(&l, CHAIN_OP_TEAM_CREATE, team, leder);
	if ((r = member_key(c, leder, &l)) != VARSKO_OK)
		goto out;
	r = team_change(c, tc, &l);
out:
	free(tc);
	return r;
}

int varsko_team_add(struct varsko_conn *c, const char *team, const char *user)
{
	int r;
	struct team_chain *tc = NULL;
	struct chain_link l;

	if ((r = change_start(c, team, user, &tc)) != VARSKO_OK)
		return r;
	if (tc->st.head.seq == 0) {
		snprintf(c->detail, sizeof(c->detail), "team %s has no team chain yet: an admin creates it first",
		         team);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (team_member_index(&tc->st, user) >= 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is a member of team %s already", user, team);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	link_init(&l, CHAIN_OP_MEMBER_ADD, team, user);
	if ((r = member_key(c, user, &l)) != VARSKO_OK)
		goto out;
	r = team_change(c, tc, &l);
out:
	free(tc);
	return r;
}

/* member_remove, leder_add or leder_remove of a user the chain must name. */
static int change_member(struct varsko_conn *c, const char *team, const char *user, enum chain_op op)
{
	int r, j;
	struct team_chain *tc = NULL;
	struct chain_link l;

	if ((r = change_start(c, team, user, &tc)) != VARSKO_OK)
		return r;
	if ((j = team_member_index(&tc->st, user)) < 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is not a member of team %s", user, team);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (op == CHAIN_OP_LEDER_ADD && tc->st.members[j].leder) {
		snprintf(c->detail, sizeof(c->detail), "%s is a leder of team %s already", user, team);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if (op == CHAIN_OP_LEDER_REMOVE && !tc->st.members[j].leder) {
		snprintf(c->detail, sizeof(c->detail), "%s is not a leder of team %s", user, team);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	link_init(&l, op, team, user);
	r = team_change(c, tc, &l);
out:
	free(tc);
	return r;
}

int varsko_team_remove(struct varsko_conn *c, const char *team, const char *user)
{
	return change_member(c, team, user, CHAIN_OP_MEMBER_REMOVE);
}

int varsko_team_leder(struct varsko_conn *c, const char *team, const char *user, int leder)
{
	return change_member(c, team, user, leder ? CHAIN_OP_LEDER_ADD : CHAIN_OP_LEDER_REMOVE);
}

/* ---- showing a team ----------------------------------------------------------------------------- */

static const char *const key_state_name[] = {"none", "ok", "missing", "stale"};

int team_json(const struct team_chain *tc, const char *team, const char *self, const struct teamkey_info *key,
              char **out)
{
	int r = VARSKO_ERR_NOMEM, j;
	json_t *o = NULL, *arr = NULL;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < tc->st.n_members; i++) {
		const struct chain_member *m = &tc->st.members[i];
		json_t *e = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:b}", "user", m->user, "name", tc->cur[i].name,
		                      "role", chain_role_name(m->role), "leder", m->leder, "uk_generation",
		                      (json_int_t)m->uk_generation, "current_generation",
		                      (json_int_t)tc->cur[i].generation, "this", strcmp(m->user, self) == 0);

		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto out;
	}
	j = team_member_index(&tc->st, self);
	o = json_pack("{s:s, s:I, s:b, s:b, s:O}", "team", team, "seq", (json_int_t)tc->st.head.seq, "admin",
	              org_admin(&tc->org, self) != NULL, "leder", j >= 0 && tc->st.members[j].leder, "members", arr);
	if (o == NULL)
		goto out;
	if (key != NULL && (json_object_set_new(o, "key_generation", json_integer((json_int_t)key->generation)) != 0 ||
	                    json_object_set_new(o, "key_state", json_string(key_state_name[key->state])) != 0))
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = VARSKO_OK;
out:
	json_decref(o);
	json_decref(arr);
	return r;
}

int varsko_team_show(struct varsko_conn *c, const char *team, char **json_out)
{
	int r;
	struct team_chain *tc = malloc(sizeof(*tc));
	struct teamkey_info key;

	*json_out = NULL;
	if (tc == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = team_chain_of(c, team, tc)) == VARSKO_OK && (r = teamkey_state(c, tc, team, &key)) == VARSKO_OK)
		r = team_json(tc, team, c->id.user, &key, json_out);
	free(tc);
	return r;
}
