/*
 * teamkey.c: team key sets, the client side (PROTOCOL.md 16.5, 16.6).
 *
 * A team's key exists in generations; the key box set of each (owner
 * "team:<team>") holds its X25519 public key, the previous generation's seed
 * under this one's prev_key, and one box per member, sealed to the member's
 * current user key ("user:<member>:<g>"). varskod stores the sets and checks
 * them against the chains, but it could hand out anything, so a set is
 * believed only as far as the chains verified here back it: a sender seals
 * only to a newest set signed by a member's current user key that is not
 * stale (team_chain_of() verified the members and their keys); a reader
 * takes a seed only when it derives the set's public key, and earlier
 * generations only through the prev_box walk (keybox_walk_back()).
 *
 * Seeds live only in keybox_gen (sodium_malloc, wiped by keybox_gen_free());
 * the own user keys come from userkey_all() and are freed the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"

/* ---- the team's sets -------------------------------------------------------------------------- */

/* The team's sets, parsed: s[i] is the set of generation i + 1; n is the newest generation (0: none). */
struct tsets {
	size_t n;
	struct keybox_set **s;
};

static void tsets_clear(struct tsets *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->s[i]);
	free(ts->s);
	memset(ts, 0, sizeof(*ts));
}

/*
 * keys_get of "team:<team>", every set parsed (not verified). They must be
 * generations 1..n of that owner in order (varskod keeps every generation,
 * and the walk back needs each); else VARSKO_ERR_PROTOCOL.
 */
static int tsets_fetch(struct varsko_conn *c, const char *team, struct tsets *ts)
{
	int r = VARSKO_ERR_INTERNAL;
	char owner[KEYBOX_OWNER_MAX + 1];
	json_t *sets = NULL;
	const json_t *v;
	size_t n, i;

	memset(ts, 0, sizeof(*ts));
	if (team == NULL || keybox_team_owner(owner, team) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "a team id is 1 to %d visible characters", PROTO_ID_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((r = userkey_keys_get(c, owner, &sets)) != VARSKO_OK) {
		if (r == VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail), "the municipality has no team %s", team);
		goto out;
	}
	if ((n = json_array_size(sets)) > TEAMKEY_GENS_MAX) {
		snprintf(c->detail, sizeof(c->detail), "team %s's key has more generations than a client walks (%d)",
		         team, TEAMKEY_GENS_MAX);
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	if (n > 0 && (ts->s = calloc(n, sizeof(*ts->s))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	ts->n = n;
	json_array_foreach(sets, i, v)
	{
		if ((ts->s[i] = malloc(sizeof(*ts->s[i]))) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if ((r = userkey_set_from_obj(v, ts->s[i])) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "key set %zu of team %s does not parse: refused", i + 1,
			         team);
			goto out;
		}
		if (strcmp(ts->s[i]->owner, owner) != 0 || ts->s[i]->generation != i + 1) {
			snprintf(c->detail, sizeof(c->detail),
			         "varskod answered with key sets of team %s that are not its generations 1..%zu in "
			         "order",
			         team, n);
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
	}
	r = VARSKO_OK;
out:
	if (r != VARSKO_OK)
		tsets_clear(ts);
	json_decref(sets);
	return r;
}

/* The index of the member whose current user key signed s (and the signature verifies), or -1. */
static int set_signer_member(const struct team_chain *tc, const struct keybox_set *s)
{
	if (keybox_set_verify(s, NULL) != VARSKO_OK)
		return -1;
	for (size_t i = 0; i < tc->st.n_members; i++)
		if (sodium_memcmp(s->signer, tc->cur[i].uk_sign_pk, PROTO_PK_LEN) == 0)
			return (int)i;
	return -1;
}

/* keybox_team_fit() of s against the members' current user-key generations; an untrusted signer is stale. */
static enum keybox_fit set_fit(const struct team_chain *tc, const struct keybox_set *s)
{
	const char *users[CHAIN_MEMBERS_MAX];
	uint64_t gens[CHAIN_MEMBERS_MAX];

	if (set_signer_member(tc, s) < 0)
		return KEYBOX_FIT_STALE;
	for (size_t i = 0; i < tc->st.n_members; i++) {
		users[i] = tc->st.members[i].user;
		gens[i] = tc->cur[i].generation;
	}
	return keybox_team_fit(s, users, gens, tc->st.n_members);
}

/* ---- a sender ------------------------------------------------------------------------------------ */

int teamkey_for_sender(struct varsko_conn *c, const char *team, int *has_key, char key_id[KEYBOX_KEYID_MAX + 1],
                       uint8_t pub[PROTO_PK_LEN])
{
	int r = VARSKO_ERR_INTERNAL;
	struct team_chain *tc = NULL;
	struct tsets ts = {0, NULL};
	const struct keybox_set *top;
	enum keybox_fit fit;

	*has_key = 0;
	key_id[0] = '\0';
	c->detail[0] = '\0';
	if ((tc = malloc(sizeof(*tc))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = team_chain_of(c, team, tc)) != VARSKO_OK)
		goto out;
	if (tc->st.head.seq == 0) /* no chain: the team has no key, the caller seals to its devices */
		goto out;
	if ((r = tsets_fetch(c, team, &ts)) != VARSKO_OK || ts.n == 0)
		goto out;
	top = ts.s[ts.n - 1];
	if (set_signer_member(tc, top) < 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "the newest key set of team %s (generation %llu) is not signed by the current user key of a "
		         "member by the team chain: refused",
		         team, (unsigned long long)top->generation);
		r = VARSKO_ERR_NOT_MEMBER;
		goto out;
	}
	fit = set_fit(tc, top);
	if (fit == KEYBOX_FIT_STALE) {
		snprintf(c->detail, sizeof(c->detail),
		         "the key of team %s is being renewed (generation %llu no longer fits the members): try again "
		         "shortly",
		         team, (unsigned long long)top->generation);
		r = VARSKO_ERR_STALE_KEY;
		goto out;
	}
	if ((r = keybox_key_id(key_id, top->owner, top->generation)) != VARSKO_OK)
		goto out;
	memcpy(pub, top->pub, PROTO_PK_LEN);
	*has_key = 1;
out:
	if (r != VARSKO_OK)
		key_id[0] = '\0';
	tsets_clear(&ts);
	free(tc);
	return r;
}

/* ---- a reader -------------------------------------------------------------------------------------- */

/* The own user key's generations 1..n (userkey_all()). */
struct ukeys {
	size_t n;
	struct keybox_gen *g[KEYBOX_RECOVERY_GEN_MAX];
};

static void ukeys_clear(struct ukeys *uk)
{
	for (size_t i = 0; i < uk->n; i++)
		keybox_gen_free(uk->g[i]);
	memset(uk, 0, sizeof(*uk));
}

/* The own box in s: the user-key generation it is sealed to (0: none), and its index in *idx. */
static uint64_t own_box(const struct varsko_conn *c, const struct keybox_set *s, size_t *idx)
{
	char own[KEYBOX_OWNER_MAX + 1], owner[KEYBOX_OWNER_MAX + 1];
	uint64_t g;

	if (keybox_user_owner(own, c->id.user) != VARSKO_OK)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (keybox_key_id_split(s->boxes[i].recipient, owner, &g) == VARSKO_OK && strcmp(owner, own) == 0) {
			*idx = i;
			return g;
		}
	return 0;
}

/*
 * Generation `generation` of the team key from the fetched sets: the own box
 * of the newest set that has one, down to `generation`, opened with the own
 * user key it was sealed to, then the walk back. *out owned by the caller.
 */
static int open_from(struct varsko_conn *c, const char *team, const struct tsets *ts, const struct ukeys *uk,
                     uint64_t generation, struct keybox_gen **out)
{
	int r = VARSKO_ERR_INTERNAL;
	struct keybox_gen *top = NULL, **earlier = NULL;
	const struct keybox_set *s;
	uint64_t t, ug = 0;
	size_t idx = 0;

	*out = NULL;
	if (generation == 0 || generation > ts->n) {
		snprintf(c->detail, sizeof(c->detail), "team %s has no key generation %llu", team,
		         (unsigned long long)generation);
		return VARSKO_ERR_NOT_FOUND;
	}
	for (t = ts->n; t >= generation; t--)
		if ((ug = own_box(c, ts->s[t - 1], &idx)) != 0)
			break;
	if (ug == 0) {
		snprintf(c->detail, sizeof(c->detail),
		         "team %s's key (generation %llu) has no box for %s: not a member, or not sealed to yet (a "
		         "member's device or the team's agent adds it)",
		         team, (unsigned long long)generation, c->id.user);
		return VARSKO_ERR_NOT_FOUND;
	}
	s = ts->s[t - 1];
	if (keybox_set_verify(s, NULL) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "key set %llu of team %s is not signed by its signer: refused",
		         (unsigned long long)t, team);
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	if (ug > uk->n) {
		snprintf(c->detail, sizeof(c->detail),
		         "key set %llu of team %s is sealed to a user key generation (%llu) this device does not hold",
		         (unsigned long long)t, team, (unsigned long long)ug);
		return VARSKO_ERR_CRYPTO;
	}
	if ((r = keybox_set_open(s, s->boxes[idx].recipient, uk->g[ug - 1]->box_pk, uk->g[ug - 1]->box_sk, &top)) !=
	    VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "%s's box in key set %llu of team %s does not open", c->id.user,
		         (unsigned long long)t, team);
		return r == VARSKO_ERR_NOT_FOUND ? VARSKO_ERR_CRYPTO : r;
	}
	if (t == generation) {
		*out = top;
		return VARSKO_OK;
	}
	if ((earlier = calloc(t - 1, sizeof(*earlier))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = keybox_walk_back(top, (const struct keybox_set *const *)ts->s, t, earlier)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the earlier generations of team %s's key do not open", team);
		goto out;
	}
	*out = earlier[generation - 1];
	earlier[generation - 1] = NULL;
	r = VARSKO_OK;
out:
	for (uint64_t i = 0; earlier != NULL && i < t - 1; i++)
		keybox_gen_free(earlier[i]);
	free(earlier);
	keybox_gen_free(top);
	return r;
}

int teamkey_open(struct varsko_conn *c, const char *team, uint64_t generation, struct keybox_gen **out)
{
	int r;
	struct tsets ts = {0, NULL};
	struct ukeys *uk = NULL;

	*out = NULL;
	c->detail[0] = '\0';
	if ((uk = calloc(1, sizeof(*uk))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = tsets_fetch(c, team, &ts)) != VARSKO_OK)
		goto out;
	if (ts.n == 0) {
		snprintf(c->detail, sizeof(c->detail), "team %s has no key yet", team);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = userkey_all(c, uk->g, KEYBOX_RECOVERY_GEN_MAX, &uk->n)) != VARSKO_OK)
		goto out;
	r = open_from(c, team, &ts, uk, generation, out);
out:
	ukeys_clear(uk);
	free(uk);
	tsets_clear(&ts);
	return r;
}

/* ---- keeping the key fit ------------------------------------------------------------------------------ */

/* Every member's current user key as a recipient, sorted by key id. */
struct trcpts {
	size_t n;
	struct keybox_recipient rc[CHAIN_MEMBERS_MAX];
	char ids[CHAIN_MEMBERS_MAX][KEYBOX_KEYID_MAX + 1];
};

static int rcpt_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keybox_recipient *)a)->id, ((const struct keybox_recipient *)b)->id);
}

static int rcpts_of(const struct team_chain *tc, struct trcpts *to)
{
	int r;

	to->n = 0;
	for (size_t i = 0; i < tc->st.n_members; i++) {
		if ((r = keybox_user_key_id(to->ids[i], tc->st.members[i].user, tc->cur[i].generation)) != VARSKO_OK)
			return r;
		to->rc[i].id = to->ids[i];
		memcpy(to->rc[i].box_pk, tc->cur[i].uk_box_pk, PROTO_PK_LEN);
		to->n = i + 1;
	}
	qsort(to->rc, to->n, sizeof(to->rc[0]), rcpt_cmp);
	return VARSKO_OK;
}

/*
 * One round of teamkey_maintain(). *put_refused is 1 when the error is
 * varskod's answer to the keys_put (the state changed after the fetch).
 */
static int maintain_once(struct varsko_conn *c, const char *team, int *changed, uint64_t *generation, int *put_refused)
{
	int r = VARSKO_ERR_INTERNAL, self;
	struct team_chain *tc = NULL;
	struct tsets ts = {0, NULL};
	struct ukeys *uk = NULL;
	struct trcpts *to = NULL;
	struct keybox_set *made = NULL;
	struct keybox_gen *newg = NULL, *cur = NULL, *prev = NULL;
	const struct keybox_gen *signer;
	char owner[KEYBOX_OWNER_MAX + 1];
	enum keybox_fit fit = KEYBOX_FIT_STALE;
	uint64_t l;
	int what;

	*changed = 0;
	*generation = 0;
	*put_refused = 0;
	c->detail[0] = '\0';
	if ((tc = malloc(sizeof(*tc))) == NULL || (uk = calloc(1, sizeof(*uk))) == NULL ||
	    (to = malloc(sizeof(*to))) == NULL || (made = malloc(sizeof(*made))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = team_chain_of(c, team, tc)) != VARSKO_OK)
		goto out;
	if (tc->st.head.seq == 0) {
		snprintf(c->detail, sizeof(c->detail), "team %s has no team chain yet, so it has no members", team);
		r = VARSKO_ERR_NOT_MEMBER;
		goto out;
	}
	if ((self = team_member_index(&tc->st, c->id.user)) < 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is not a member of team %s by its chain", c->id.user, team);
		r = VARSKO_ERR_NOT_MEMBER;
		goto out;
	}
	if ((r = tsets_fetch(c, team, &ts)) != VARSKO_OK)
		goto out;
	l = ts.n;
	*generation = l;
	if (l > 0 && (fit = set_fit(tc, ts.s[l - 1])) == KEYBOX_FIT_OK) {
		r = VARSKO_OK;
		goto out;
	}
	if (l + 1 > TEAMKEY_GENS_MAX) {
		snprintf(c->detail, sizeof(c->detail), "team %s's key has as many generations as a client walks (%d)",
		         team, TEAMKEY_GENS_MAX);
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	/* The own user key signs; it must be the one the team chain's view of this member has now. */
	if ((r = userkey_all(c, uk->g, KEYBOX_RECOVERY_GEN_MAX, &uk->n)) != VARSKO_OK)
		goto out;
	signer = uk->g[uk->n - 1];
	if (signer->generation != tc->cur[self].generation ||
	    sodium_memcmp(signer->sign_pk, tc->cur[self].uk_sign_pk, PROTO_PK_LEN) != 0) {
		snprintf(c->detail, sizeof(c->detail), "%s's user key changed meanwhile", c->id.user);
		r = VARSKO_ERR_STALE_KEY;
		goto out;
	}
	if ((r = rcpts_of(tc, to)) != VARSKO_OK || (r = keybox_team_owner(owner, team)) != VARSKO_OK)
		goto out;
	if (l > 0) {
		/* Both a new generation and the same one again need L's seed (prev_box, or the boxes added). */
		if ((r = open_from(c, team, &ts, uk, l, &cur)) != VARSKO_OK) {
			if (r == VARSKO_ERR_NOT_FOUND)
				snprintf(c->detail, sizeof(c->detail),
				         "%s has no box in team %s's newest key generation (%llu), so it cannot %s it: "
				         "another member (the team's agent) does",
				         c->id.user, team, (unsigned long long)l,
				         fit == KEYBOX_FIT_STALE ? "renew" : "add boxes to");
			goto out;
		}
	}
	if (l > 0 && fit == KEYBOX_FIT_MISSING) {
		/* The same generation again: prev_box must come out as stored, so the generation before is needed. */
		if (l > 1 && (r = open_from(c, team, &ts, uk, l - 1, &prev)) != VARSKO_OK)
			goto out;
		r = keybox_set_make(made, owner, cur, prev, to->rc, to->n, signer->sign_sk, NULL);
		what = 1;
	} else {
		if ((r = keybox_gen_new(&newg, KEYBOX_TEAM, l + 1)) != VARSKO_OK)
			goto out;
		r = keybox_set_make(made, owner, newg, cur, to->rc, to->n, signer->sign_sk, NULL);
		what = 2;
	}
	if (r != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot make the key set of team %s", team);
		goto out;
	}
	if ((r = userkey_keys_put(c, made)) != VARSKO_OK) {
		*put_refused = 1;
		if (c->detail[0] == '\0')
			snprintf(c->detail, sizeof(c->detail), "varskod refused the key set of team %s", team);
		goto out;
	}
	*changed = what;
	*generation = made->generation;
	r = VARSKO_OK;
out:
	keybox_gen_free(newg);
	keybox_gen_free(cur);
	keybox_gen_free(prev);
	if (uk != NULL)
		ukeys_clear(uk);
	free(uk);
	tsets_clear(&ts);
	free(made);
	free(to);
	free(tc);
	return r;
}

int teamkey_maintain_gen(struct varsko_conn *c, const char *team, int *changed, uint64_t *generation)
{
	int r, refused = 0;

	*changed = 0;
	r = maintain_once(c, team, changed, generation, &refused);
	/*
	 * Someone else was faster: a newer generation (stale_key), a member's
	 * user key rotated (stale_key), or the same new generation made by
	 * another member first (bad_input: a generation keeps its key). Once
	 * more from a fresh fetch, which usually finds nothing left to do.
	 */
	if (r == VARSKO_ERR_STALE_KEY || (refused && r == VARSKO_ERR_BAD_INPUT))
		r = maintain_once(c, team, changed, generation, &refused);
	return r;
}

int teamkey_maintain(struct varsko_conn *c, const char *team, int *changed)
{
	uint64_t generation;

	return teamkey_maintain_gen(c, team, changed, &generation);
}

int varsko_team_key(struct varsko_conn *c, const char *team, int *changed)
{
	return teamkey_maintain(c, team, changed);
}

/* ---- showing it ------------------------------------------------------------------------------------------ */

int teamkey_state(struct varsko_conn *c, const struct team_chain *tc, const char *team, struct teamkey_info *out)
{
	int r;
	struct tsets ts = {0, NULL};

	memset(out, 0, sizeof(*out));
	if (tc->st.head.seq == 0)
		return VARSKO_OK;
	if ((r = tsets_fetch(c, team, &ts)) != VARSKO_OK || ts.n == 0)
		goto out;
	out->generation = ts.n;
	switch (set_fit(tc, ts.s[ts.n - 1])) {
	case KEYBOX_FIT_OK:
		out->state = TEAMKEY_OK;
		break;
	case KEYBOX_FIT_MISSING:
		out->state = TEAMKEY_MISSING;
		break;
	default:
		out->state = TEAMKEY_STALE;
		break;
	}
out:
	tsets_clear(&ts);
	return r;
}
