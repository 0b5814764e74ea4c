/*
 * threadchain.c: consultation threads' membership, the client side
 * (PROTOCOL.md 13 for the thread chain, 17.3 to 17.6 for the frames and
 * what a client checks; docs/THREADS.md for the reasons).
 *
 * varskod stores every thread chain and checks it, but it could hand out
 * anything, so nothing here believes it: the chain is verified from its
 * root (chain_thread_verify), every key a link pins must be a key that user's
 * own verified user chain had at that generation (userkey_chain_of), and
 * every present member must be admitted by the newest certificate of a
 * device their user chain cross-signed (17.5). What this home last verified
 * of each thread (threads/<id>.seen) must still be in the chain the next
 * time: a server that takes a link back (hiding a removal, say) or forks the
 * chain is refused. Only then does the client seal to the members' current
 * user keys or show a message.
 *
 * A change is a link signed by the own user's current key (userkey_current(),
 * wiped with its keybox_gen), checked against the verified state first, so a
 * change varskod would refuse is refused here with the same code and never
 * leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

/* ---- who may be a member (PROTOCOL.md 17.5) ---------------------------------------------------- */

static int cert_lists(const struct proto_cert *c, const char *institution)
{
	for (size_t i = 0; i < c->n_institutions; i++)
		if (strcmp(c->institutions[i], institution) == 0)
			return 1;
	return 0;
}

int tchain_admits(const char *institution, enum chain_role role, const struct proto_cert *cert,
                  const char *const *raadgiver_teams, size_t n_teams, char *why, size_t wcap)
{
	const char *rn = chain_role_name(role);

	if (cert == NULL) {
		snprintf(why, wcap, "no device of the user has a valid certificate from the organisation");
		return 0;
	}
	if (rn == NULL || !chain_role_of_kind(role, CHAIN_KIND_THREAD) || strcmp(cert->role, rn) != 0) {
		snprintf(why, wcap, "the certificate's role is %s, which cannot be a thread member%s%s",
		         cert->role[0] != '\0' ? cert->role : "none", rn != NULL ? " as " : "", rn != NULL ? rn : "");
		return 0;
	}
	if (role == CHAIN_ROLE_FAGPERSON || role == CHAIN_ROLE_RAADGIVER) {
		if (cert_lists(cert, institution))
			return 1;
		snprintf(why, wcap, "the certificate (%s) does not list the institution %s", cert->role, institution);
		return 0;
	}
	for (size_t i = 0; i < n_teams; i++)
		if (cert->team[0] != '\0' && strcmp(raadgiver_teams[i], cert->team) == 0)
			return 1;
	snprintf(why, wcap, "a leder is a member only with a rådgiver of the leder's team (%s) in the thread",
	         cert->team[0] != '\0' ? cert->team : "none");
	return 0;
}

/* ---- the users of a thread ----------------------------------------------------------------------- */

void tuser_from_chain(const struct userkey_chain *uc, struct tuser *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->user, sizeof(out->user), "%s", uc->st.user);
	out->generation = uc->st.generation;
	memcpy(out->uk_box_pk, uc->st.uk_box_pk, PROTO_PK_LEN);
	out->has_cert = uc->has_cert;
	if (uc->has_cert)
		out->cert = uc->cert;
	out->n_devices = uc->st.n_devices;
	for (size_t j = 0; j < uc->st.n_devices; j++) {
		snprintf(out->dev[j].device, sizeof(out->dev[j].device), "%s", uc->st.devices[j].device);
		memcpy(out->dev[j].sign_pk, uc->st.devices[j].sign_pk, PROTO_PK_LEN);
		out->dev[j].certified = uc->dev[j].certified;
		out->dev[j].revoked = uc->st.devices[j].revoked;
	}
}

const struct tuser_device *tuser_device(const struct tuser *u, const char *device)
{
	for (size_t j = 0; u != NULL && j < u->n_devices; j++)
		if (strcmp(u->dev[j].device, device) == 0)
			return &u->dev[j];
	return NULL;
}

int tchain_user_index(const struct tchain *t, const char *user)
{
	for (size_t i = 0; i < t->st.n_members; i++)
		if (strcmp(t->st.members[i].user, user) == 0)
			return (int)i;
	return -1;
}

int tchain_present_at(const struct chain_link *ls, size_t n, const char *user, uint64_t version)
{
	int present = 0;

	for (size_t i = 0; i < n && ls[i].seq <= version; i++) {
		if (strcmp(ls[i].user, user) != 0)
			continue;
		present = ls[i].op == CHAIN_OP_THREAD_CREATE || ls[i].op == CHAIN_OP_THREAD_MEMBER_ADD;
	}
	return present;
}

void tchain_free(struct tchain *t)
{
	if (t == NULL)
		return;
	free(t->links);
	free(t->users);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

/* The teams of the rådgivere among the present members (for a leder's place, 17.5). */
static size_t raadgiver_teams(const struct chain_thread_state *st, const struct tuser *users,
                              const char *teams[CHAIN_MEMBERS_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_members; i++)
		if (st->members[i].removed == 0 && st->members[i].role == CHAIN_ROLE_RAADGIVER && users[i].has_cert &&
		    users[i].cert.team[0] != '\0')
			teams[n++] = users[i].cert.team;
	return n;
}

static int seen_name(char name[THREAD_NAME_MAX], const char *thread)
{
	if (!thread_id_valid(thread) || !home_part_ok(thread))
		return VARSKO_ERR_BAD_INPUT;
	snprintf(name, THREAD_NAME_MAX, "%s/%s.seen", HOME_D_THREADS, thread);
	return VARSKO_OK;
}

/*
 * thread_get (PROTOCOL.md 17.3), the answer's links parsed: *out (an array
 * of *n links) owned by the caller (free()). A link that does not parse is
 * VARSKO_ERR_BAD_CHAIN; varskod's not_found (an outsider, or no such thread)
 * passes through.
 */
static int links_get(struct varsko_conn *c, const char *thread, struct chain_link **out, size_t *n)
{
	int r = VARSKO_ERR_INTERNAL;
	json_t *req = NULL, *ans = NULL;
	const json_t *links;
	const char *th;
	size_t nl;

	*out = NULL;
	*n = 0;
	if ((req = json_pack("{s:s, s:s}", "type", "thread_get", "thread", thread)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_THREAD, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_BAD_CHAIN)
			snprintf(c->detail, sizeof(c->detail),
			         "varskod says its stored chain of thread %s does not verify (bad_chain): it has been "
			         "tampered with; ask the operator",
			         thread);
		else if (r == VARSKO_ERR_NOT_FOUND)
			snprintf(c->detail, sizeof(c->detail),
			         "thread %s does not exist, or you are not a member of it", thread);
		goto out;
	}
	th = json_string_value(json_object_get(ans, "thread"));
	links = json_object_get(ans, "links");
	if (th == NULL || strcmp(th, thread) != 0 || !json_is_array(links)) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with another thread than %s", thread);
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	nl = json_array_size(links);
	if (nl == 0 || nl > FLOW_CHAIN_LINKS_MAX) {
		snprintf(c->detail, sizeof(c->detail), "varskod shows thread %s with %zu links: refused", thread, nl);
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	{
		char what[64];

		snprintf(what, sizeof(what), "thread %s", thread);
		r = chain_links_parse(c, links, what, out, n);
	}
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

/*
 * Every user the chain ever added: their user chain verified (userkey_chain_of)
 * into t->users (by the index of t->st.members), and every key a link pinned
 * for them a key of that chain at that generation (16.4 step 3, 17.6).
 */
static int users_check(struct varsko_conn *c, struct tchain *t)
{
	int r = VARSKO_OK;
	struct userkey_chain *uc = malloc(sizeof(*uc));

	if (uc == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < t->st.n_members && r == VARSKO_OK; i++) {
		const char *user = t->st.members[i].user;

		if ((r = userkey_chain_of(c, user, uc)) != VARSKO_OK)
			break;
		for (size_t k = 0; k < t->n_links; k++) {
			const struct chain_link *l = &t->links[k];

			if ((l->op != CHAIN_OP_THREAD_CREATE && l->op != CHAIN_OP_THREAD_MEMBER_ADD) ||
			    strcmp(l->user, user) != 0)
				continue;
			if (!userkey_had_key(uc, l->generation, l->uk_sign_pk)) {
				snprintf(c->detail, sizeof(c->detail),
				         "link %llu of thread %s pins a user key of %s (generation %llu) that %s's user "
				         "chain never had: refused",
				         (unsigned long long)l->seq, t->st.thread, user,
				         (unsigned long long)l->generation, user);
				r = VARSKO_ERR_BAD_CHAIN;
				break;
			}
		}
		if (r == VARSKO_OK)
			tuser_from_chain(uc, &t->users[i]);
	}
	free(uc);
	return r;
}

/*
 * Whether each present member is admitted by their certificate (17.5), into
 * t->users[i].admitted; the first who is not is described in t->refused.
 */
static void members_admitted(struct tchain *t)
{
	const char *teams[CHAIN_MEMBERS_MAX];
	size_t nt = raadgiver_teams(&t->st, t->users, teams);
	char why[200];

	t->refused[0] = '\0';
	for (size_t i = 0; i < t->st.n_members; i++) {
		const struct chain_thread_member *m = &t->st.members[i];

		t->users[i].admitted = m->removed == 0 &&
		                       tchain_admits(t->st.institution, m->role,
		                                     t->users[i].has_cert ? &t->users[i].cert : NULL, teams, nt, why,
		                                     sizeof(why));
		if (m->removed == 0 && !t->users[i].admitted && t->refused[0] == '\0')
			snprintf(t->refused, sizeof(t->refused),
			         "%s (%s) is a member whom the certificates do not admit now: %.120s", m->user,
			         chain_role_name(m->role), why);
	}
}

int tchain_usable(struct varsko_conn *c, const struct tchain *t)
{
	if (t->refused[0] == '\0')
		return VARSKO_OK;
	snprintf(c->detail, sizeof(c->detail), "%.190s; nothing is sealed or shown until the member is removed",
	         t->refused);
	return VARSKO_ERR_BAD_CHAIN;
}

int tchain_of(struct varsko_conn *c, const char *thread, struct tchain **out)
{
	int r = VARSKO_ERR_INTERNAL;
	struct tchain *t = NULL;
	uint8_t(*hashes)[CHAIN_HASH_LEN] = NULL;
	size_t bad = 0;
	char name[THREAD_NAME_MAX];

	*out = NULL;
	c->detail[0] = '\0';
	if (thread == NULL || seen_name(name, thread) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "a thread id looks like T- and 26 letters A-Z and digits 2-7");
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = links_get(c, thread, &t->links, &t->n_links)) != VARSKO_OK)
		goto out;
	/* 1. The chain from its root, with the thread id pinned. */
	if ((r = chain_thread_verify(t->links, t->n_links, thread, &t->st, &bad)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the chain of thread %s does not verify at link %zu (%s): refused",
		         thread, bad + 1, varsko_err_name(r));
		if (r != VARSKO_ERR_NOMEM)
			r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	/* 2. Not shorter than, and extending, what this home verified last. */
	if ((hashes = malloc(t->n_links * sizeof(*hashes))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = chain_links_hash(t->links, t->n_links, hashes)) != VARSKO_OK)
		goto out;
	{
		char what[THREAD_ID_LEN + 24];

		snprintf(what, sizeof(what), "a chain of thread %s", thread);
		if ((r = chain_seen_refuse(c, name, (const uint8_t(*)[CHAIN_HASH_LEN])hashes, t->n_links, what,
		                           &t->seen_seq)) != VARSKO_OK)
			goto out;
	}
	/* 3. Every pin against that user's own chain; 4. every present member admitted by certificates. */
	if ((t->users = calloc(t->st.n_members, sizeof(*t->users))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = users_check(c, t)) != VARSKO_OK)
		goto out;
	members_admitted(t);
	if ((r = home_seen_write(c->home, name, &t->st.head)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot write %s/%s", varsko_home_path(c->home), name);
		goto out;
	}
	*out = t;
	t = NULL;
	r = VARSKO_OK;
out:
	free(hashes);
	tchain_free(t);
	return r;
}

/* ---- changes ------------------------------------------------------------------------------------- */

/* The detail of a link the verified state refuses, by chain_thread_extend()'s code. */
static void change_refused(struct varsko_conn *c, const struct chain_thread_state *st, const struct chain_link *l,
                           int r)
{
	const struct chain_thread_member *me = chain_thread_member(st, c->id.user);

	if (r == VARSKO_ERR_NOT_MEMBER && me != NULL && me->removed == 0)
		snprintf(c->detail, sizeof(c->detail),
		         "the change is not signed with the user key thread %s pins for %s (generation %llu): refused "
		         "(not_member)",
		         st->thread, c->id.user, (unsigned long long)me->uk_generation);
	else if (r == VARSKO_ERR_NOT_MEMBER)
		snprintf(c->detail, sizeof(c->detail), "%s is not a member of thread %s", c->id.user, st->thread);
	else if (r == VARSKO_ERR_FORBIDDEN)
		snprintf(c->detail, sizeof(c->detail),
		         "only the thread's creator or a rådgiver member adds and removes members");
	else if (r == VARSKO_ERR_TOO_LARGE)
		snprintf(c->detail, sizeof(c->detail), "thread %s has had as many members as a thread holds (%d)",
		         st->thread, CHAIN_MEMBERS_MAX);
	else if (l->op == CHAIN_OP_THREAD_MEMBER_ADD && r == VARSKO_ERR_BAD_CHAIN)
		snprintf(c->detail, sizeof(c->detail), "%s is a member of thread %s already", l->user, st->thread);
	else if (l->op == CHAIN_OP_THREAD_MEMBER_REMOVE && r == VARSKO_ERR_BAD_CHAIN)
		snprintf(c->detail, sizeof(c->detail),
		         strcmp(l->user, c->id.user) == 0 ? "you leave a thread with 'leave', not 'remove'"
		                                          : "%s is not a member of thread %s",
		         l->user, st->thread);
	else
		snprintf(c->detail, sizeof(c->detail), "the %s link for %s does not fit thread %s (%s)",
		         chain_op_name(l->op), l->user, st->thread, varsko_err_name(r));
}

/*
 * What a user who is to be added pins and is: their verified user chain's
 * newest key into l (user, role, generation, uk_sign_pk), the role that of
 * their newest valid certificate, and u (may be NULL) what the chain says.
 * Whether the certificates admit them is member_admit()'s question.
 */
static int member_fetch(struct varsko_conn *c, const char *user, struct chain_link *l, struct tuser *u)
{
	int r;
	struct userkey_chain *uc = malloc(sizeof(*uc));

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
	snprintf(l->user, sizeof(l->user), "%s", user);
	l->role = CHAIN_ROLE_NONE;
	for (int k = CHAIN_ROLE_NONE + 1; uc->has_cert && k < CHAIN_ROLE_COUNT_; k++)
		if (strcmp(chain_role_name((enum chain_role)k), uc->cert.role) == 0)
			l->role = (enum chain_role)k;
	l->generation = uc->st.generation;
	memcpy(l->uk_sign_pk, uc->st.uk_sign_pk, PROTO_PK_LEN);
	if (u != NULL)
		tuser_from_chain(uc, u);
	r = VARSKO_OK;
out:
	free(uc);
	return r;
}

/* member_fetch()'s user admitted to a thread at institution (17.5), else VARSKO_ERR_FORBIDDEN with the detail. */
static int member_admit(struct varsko_conn *c, const char *institution, const struct chain_link *l,
                        const struct tuser *u, const char *const *teams, size_t n_teams)
{
	char why[200];

	if (tchain_admits(institution, l->role, u->has_cert ? &u->cert : NULL, teams, n_teams, why, sizeof(why)))
		return VARSKO_OK;
	snprintf(c->detail, sizeof(c->detail), "%s may not be a member of this thread: %.150s", l->user, why);
	return VARSKO_ERR_FORBIDDEN;
}

static void link_init(struct chain_link *l, enum chain_op op, const char *thread, const char *user)
{
	memset(l, 0, sizeof(*l));
	l->kind = CHAIN_KIND_THREAD;
	l->op = op;
	snprintf(l->chain, sizeof(l->chain), "%s", thread);
	if (user != NULL)
		snprintf(l->user, sizeof(l->user), "%s", user);
}

/*
 * Make l follow st, sign it with the own user key g, and extend st by it
 * (the same checks varskod makes; the detail says why not).
 */
static int link_make(struct varsko_conn *c, struct chain_thread_state *st, struct chain_link *l,
                     const struct keybox_gen *g)
{
	int r;

	chain_link_follow(l, &st->head);
	l->time = (int64_t)time(NULL);
	if ((r = chain_link_sign(l, g->sign_sk)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot sign the %s link", chain_op_name(l->op));
		return r;
	}
	if ((r = chain_thread_extend(st, l)) != VARSKO_OK)
		change_refused(c, st, l, r);
	return r;
}

/* thread_ok for thread at version: the answer names them. */
static int thread_ok_check(struct varsko_conn *c, const json_t *ans, const char *thread, uint64_t version)
{
	const char *th = json_string_value(json_object_get(ans, "thread"));
	json_int_t v = json_integer_value(json_object_get(ans, "version"));

	if (th == NULL || strcmp(th, thread) != 0 || v < 0 || (uint64_t)v != version) {
		snprintf(c->detail, sizeof(c->detail), "varskod stored thread %s as another version than it has", thread);
		return VARSKO_ERR_PROTOCOL;
	}
	return VARSKO_OK;
}

/*
 * The own user key a change of t is signed with: the generation the chain
 * pins for this user (PROTOCOL.md 13.5: a member who rotated signs with the
 * pinned key until the chain pins a new one, and every device of the user
 * holds the earlier generations), or the current one for a user the chain
 * does not have as a present member (the verifier then says not_member).
 * *out owned by the caller (keybox_gen_free()).
 */
static int own_signing_key(struct varsko_conn *c, const struct tchain *t, struct keybox_gen **out)
{
	const struct chain_thread_member *me = chain_thread_member(&t->st, c->id.user);
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX];
	size_t n = 0;
	int r;

	*out = NULL;
	if (me == NULL || me->removed != 0)
		return userkey_current(c, out);
	if ((r = userkey_all(c, gens, KEYBOX_RECOVERY_GEN_MAX, &n)) != VARSKO_OK)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (*out == NULL && gens[i]->generation == me->uk_generation &&
		    sodium_memcmp(gens[i]->sign_pk, me->uk_sign_pk, PROTO_PK_LEN) == 0)
			*out = gens[i];
		else
			keybox_gen_free(gens[i]);
	}
	if (*out != NULL)
		return VARSKO_OK;
	snprintf(c->detail, sizeof(c->detail),
	         "this device does not hold generation %llu of your user key, which thread %s pins for you",
	         (unsigned long long)me->uk_generation, t->st.thread);
	return VARSKO_ERR_NOT_FOUND;
}

/* One change of a verified thread: link (op and user filled) signed, checked, appended, remembered. */
static int thread_change(struct varsko_conn *c, struct tchain *t, struct chain_link *l)
{
	int r;
	struct keybox_gen *g = NULL;
	struct chain_thread_state *next = NULL;
	json_t *lo = NULL, *req = NULL, *ans = NULL;
	char name[THREAD_NAME_MAX];

	if ((r = seen_name(name, t->st.thread)) != VARSKO_OK)
		return r;
	if ((r = own_signing_key(c, t, &g)) != VARSKO_OK)
		goto out;
	if ((next = malloc(sizeof(*next))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	*next = t->st;
	if ((r = link_make(c, next, l, g)) != VARSKO_OK)
		goto out;
	if ((r = chain_link_to_json(l, &lo)) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:o}", "type", "thread_append", "thread", t->st.thread, "link", lo)) == NULL)
		r = VARSKO_ERR_NOMEM;
	lo = NULL; /* json_pack's "o" took it, also when it failed */
	if (r != VARSKO_OK)
		goto out;
	if ((r = conn_request(c, req, FLOW_T_THREAD_OK, &ans)) != VARSKO_OK) {
		if (r == VARSKO_ERR_STALE_KEY)
			snprintf(c->detail, sizeof(c->detail),
			         "%s's user key changed meanwhile (stale_key): run the command again", l->user);
		else if (c->detail[0] == '\0')
			snprintf(c->detail, sizeof(c->detail), "varskod refused the %s link", chain_op_name(l->op));
		goto out;
	}
	if ((r = thread_ok_check(c, ans, t->st.thread, l->seq)) != VARSKO_OK)
		goto out;
	t->st = *next;
	/* This device made the link; a later look must find it. */
	if (home_seen_write(c->home, name, &t->st.head) != VARSKO_OK)
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

/* The verified chain of thread, and the user id given checked for shape. */
static int change_start(struct varsko_conn *c, const char *thread, const char *user, struct tchain **t)
{
	*t = NULL;
	c->detail[0] = '\0';
	if (user != NULL && (user[0] == '\0' || strlen(user) > PROTO_ID_MAX)) {
		snprintf(c->detail, sizeof(c->detail), "a user id is 1 to %d characters", PROTO_ID_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	return tchain_of(c, thread, t);
}

int varsko_thread_add(struct varsko_conn *c, const char *thread, const char *user)
{
	int r;
	struct tchain *t = NULL;
	struct tuser *u = NULL;
	struct chain_link l;
	const char *teams[CHAIN_MEMBERS_MAX];
	size_t nt;
	int j;

	if ((r = change_start(c, thread, user, &t)) != VARSKO_OK)
		return r;
	if ((j = tchain_user_index(t, user)) >= 0 && t->st.members[j].removed == 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is a member of thread %s already", user, thread);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	nt = raadgiver_teams(&t->st, t->users, teams);
	link_init(&l, CHAIN_OP_THREAD_MEMBER_ADD, thread, NULL);
	if ((u = malloc(sizeof(*u))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = member_fetch(c, user, &l, u)) != VARSKO_OK ||
	    (r = member_admit(c, t->st.institution, &l, u, teams, nt)) != VARSKO_OK)
		goto out;
	r = thread_change(c, t, &l);
out:
	free(u);
	tchain_free(t);
	return r;
}

int varsko_thread_remove(struct varsko_conn *c, const char *thread, const char *user)
{
	int r, j;
	struct tchain *t = NULL;
	struct chain_link l;

	if ((r = change_start(c, thread, user, &t)) != VARSKO_OK)
		return r;
	if ((j = tchain_user_index(t, user)) < 0 || t->st.members[j].removed != 0) {
		snprintf(c->detail, sizeof(c->detail), "%s is not a member of thread %s", user, thread);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	link_init(&l, CHAIN_OP_THREAD_MEMBER_REMOVE, thread, user);
	r = thread_change(c, t, &l);
out:
	tchain_free(t);
	return r;
}

int varsko_thread_leave(struct varsko_conn *c, const char *thread)
{
	int r;
	struct tchain *t = NULL;
	struct chain_link l;

	if ((r = change_start(c, thread, NULL, &t)) != VARSKO_OK)
		return r;
	link_init(&l, CHAIN_OP_THREAD_MEMBER_LEAVE, thread, c->id.user);
	r = thread_change(c, t, &l);
	tchain_free(t);
	return r;
}

/* ---- creating a thread --------------------------------------------------------------------------- */

/* A fresh thread or message id: prefix ("T-", "M-") and the base32 of 16 random bytes, canonical. */
void tchain_id_of(const char *prefix, const uint8_t b[KEYBOX_CODE_LEN], char out[THREAD_ID_LEN + 1])
{
	char text[KEYBOX_CODE_TEXT_LEN + 1];
	size_t k = 0;

	keybox_code_format(b, text); /* the recovery code's base32 is RFC 4648's, grouped by '-' */
	memcpy(out, prefix, 2);
	for (size_t i = 0; text[i] != '\0' && k < THREAD_ID_LEN - 2; i++)
		if (text[i] != '-')
			out[2 + k++] = text[i];
	out[2 + k] = '\0';
	sodium_memzero(text, sizeof(text));
}

void tchain_new_id(const char *prefix, char out[THREAD_ID_LEN + 1])
{
	uint8_t b[KEYBOX_CODE_LEN];

	keybox_code_new(b); /* 16 random bytes */
	tchain_id_of(prefix, b, out);
	sodium_memzero(b, sizeof(b));
}

static int in_list(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0)
			return 1;
	return 0;
}

int tchain_create(struct varsko_conn *c, const char *institution, int anonymous, const char *const *members,
                  size_t n_members, char thread_out[THREAD_ID_LEN + 1])
{
	int r = VARSKO_ERR_INTERNAL;
	struct keybox_gen *g = NULL;
	struct chain_thread_state *st = NULL;
	struct chain_link *ls = NULL, *add = NULL;
	struct tuser *us = NULL;
	json_t *arr = NULL, *req = NULL, *ans = NULL, *lo;
	const char *want[CHAIN_MEMBERS_MAX], *teams[CHAIN_MEMBERS_MAX];
	size_t n_want = 0, nl = 0, nt = 0, i;
	char thread[THREAD_ID_LEN + 1], name[THREAD_NAME_MAX];
	enum chain_role my_role;

	thread_out[0] = '\0';
	c->detail[0] = '\0';
	if (institution == NULL || institution[0] == '\0' || strlen(institution) > PROTO_ID_MAX) {
		snprintf(c->detail, sizeof(c->detail), "an institution id is 1 to %d characters", PROTO_ID_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	/* Who opens a thread: a fagperson or rådgiver whose certificate lists the institution. */
	my_role = strcmp(c->cert.role, "fagperson") == 0   ? CHAIN_ROLE_FAGPERSON
	          : strcmp(c->cert.role, "raadgiver") == 0 ? CHAIN_ROLE_RAADGIVER
	                                                   : CHAIN_ROLE_NONE;
	if (my_role == CHAIN_ROLE_NONE || !cert_lists(&c->cert, institution)) {
		snprintf(c->detail, sizeof(c->detail),
		         "only a fagperson or rådgiver of institution %s opens a thread there", institution);
		return VARSKO_ERR_FORBIDDEN;
	}
	for (i = 0; i < n_members; i++) {
		if (members[i] == NULL || members[i][0] == '\0' || strlen(members[i]) > PROTO_ID_MAX) {
			snprintf(c->detail, sizeof(c->detail), "a user id is 1 to %d characters", PROTO_ID_MAX);
			return VARSKO_ERR_BAD_INPUT;
		}
		if (strcmp(members[i], c->id.user) == 0 || in_list(want, n_want, members[i]))
			continue;
		if (n_want == CHAIN_MEMBERS_MAX - 1) {
			snprintf(c->detail, sizeof(c->detail), "a thread has at most %d members", CHAIN_MEMBERS_MAX);
			return VARSKO_ERR_TOO_LARGE;
		}
		want[n_want++] = members[i];
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (ls = calloc(n_want + 1, sizeof(*ls))) == NULL ||
	    (add = calloc(n_want + 1, sizeof(*add))) == NULL || (us = calloc(n_want + 1, sizeof(*us))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* Every member's key and certificate, before anything is signed. */
	for (i = 0; i < n_want; i++) {
		link_init(&add[i], CHAIN_OP_THREAD_MEMBER_ADD, "", NULL);
		if ((r = member_fetch(c, want[i], &add[i], &us[i])) != VARSKO_OK)
			goto out;
	}
	/* The rådgivere's teams admit a leder of theirs (17.5), so they go in first, then the others. */
	if (my_role == CHAIN_ROLE_RAADGIVER && c->cert.team[0] != '\0')
		teams[nt++] = c->cert.team;
	for (i = 0; i < n_want; i++)
		if (add[i].role == CHAIN_ROLE_RAADGIVER && us[i].has_cert && us[i].cert.team[0] != '\0')
			teams[nt++] = us[i].cert.team;
	for (i = 0; i < n_want; i++)
		if ((r = member_admit(c, institution, &add[i], &us[i], teams, nt)) != VARSKO_OK)
			goto out;
	if ((r = userkey_current(c, &g)) != VARSKO_OK)
		goto out;
	tchain_new_id("T-", thread);
	/* Link 1: the creator, pinning the own current user key. */
	link_init(&ls[0], CHAIN_OP_THREAD_CREATE, thread, c->id.user);
	snprintf(ls[0].institution, sizeof(ls[0].institution), "%s", institution);
	ls[0].anonymous = anonymous ? 1 : 0;
	ls[0].role = my_role;
	ls[0].generation = g->generation;
	memcpy(ls[0].uk_sign_pk, g->sign_pk, PROTO_PK_LEN);
	if ((r = link_make(c, st, &ls[0], g)) != VARSKO_OK)
		goto out;
	nl = 1;
	for (int raad = 1; raad >= 0; raad--) {
		for (i = 0; i < n_want; i++) {
			if ((add[i].role == CHAIN_ROLE_RAADGIVER) != raad)
				continue;
			ls[nl] = add[i];
			snprintf(ls[nl].chain, sizeof(ls[nl].chain), "%s", thread);
			if ((r = link_make(c, st, &ls[nl], g)) != VARSKO_OK)
				goto out;
			nl++;
		}
	}
	if ((arr = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nl; i++) {
		if ((r = chain_link_to_json(&ls[i], &lo)) != VARSKO_OK)
			goto out;
		if (json_array_append_new(arr, lo) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if ((req = json_pack("{s:s, s:O}", "type", "thread_create", "links", arr)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_THREAD_OK, &ans)) != VARSKO_OK)
		goto out;
	if ((r = thread_ok_check(c, ans, thread, st->head.seq)) != VARSKO_OK)
		goto out;
	if (seen_name(name, thread) != VARSKO_OK || home_seen_write(c->home, name, &st->head) != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "created, but cannot write %s/%s", varsko_home_path(c->home),
		         name);
	memcpy(thread_out, thread, sizeof(thread));
	r = VARSKO_OK;
out:
	keybox_gen_free(g);
	free(st);
	free(ls);
	free(add);
	free(us);
	json_decref(arr);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* ---- lists ----------------------------------------------------------------------------------------- */

int varsko_thread_list(struct varsko_conn *c, char **json_out)
{
	int r;
	json_t *req = NULL, *ans = NULL;

	*json_out = NULL;
	c->detail[0] = '\0';
	if ((req = json_pack("{s:s}", "type", "thread_list")) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = conn_request(c, req, FLOW_T_THREADS, &ans)) != VARSKO_OK)
		goto out;
	json_object_del(ans, "type");
	json_object_del(ans, "id");
	if ((*json_out = json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = VARSKO_ERR_NOMEM;
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

int tchain_json(const struct tchain *t, const char *self, json_t **out)
{
	json_t *o = NULL, *arr = json_array();

	*out = NULL;
	if (arr == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < t->st.n_members; i++) {
		const struct chain_thread_member *m = &t->st.members[i];
		json_t *e = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:b, s:b}", "user", m->user, "role",
		                      chain_role_name(m->role), "present", m->removed == 0, "added", (json_int_t)m->added,
		                      "uk_generation", (json_int_t)m->uk_generation, "current_generation",
		                      (json_int_t)t->users[i].generation, "this", strcmp(m->user, self) == 0,
		                      "creator", strcmp(m->user, t->st.creator) == 0);

		if (e == NULL || (m->removed != 0 && json_object_set_new(e, "removed", json_integer((json_int_t)m->removed))) ||
		    (m->removed == 0 && json_object_set_new(e, "admitted", json_boolean(t->users[i].admitted))) ||
		    (t->users[i].has_cert && json_object_set_new(e, "name", json_string(t->users[i].cert.name))) ||
		    json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			return VARSKO_ERR_NOMEM;
		}
	}
	o = json_pack("{s:s, s:s, s:b, s:I, s:s, s:o}", "thread", t->st.thread, "institution", t->st.institution,
	              "anonymous", t->st.anonymous != 0, "version", (json_int_t)t->st.head.seq, "creator",
	              t->st.creator, "members", arr);
	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	*out = o;
	return VARSKO_OK;
}

int varsko_thread_members(struct varsko_conn *c, const char *thread, char **json_out)
{
	int r;
	struct tchain *t = NULL;
	json_t *o = NULL;

	*json_out = NULL;
	if ((r = tchain_of(c, thread, &t)) != VARSKO_OK)
		return r;
	if ((r = tchain_json(t, c->id.user, &o)) == VARSKO_OK &&
	    (*json_out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = VARSKO_ERR_NOMEM;
	json_decref(o);
	tchain_free(t);
	return r;
}
