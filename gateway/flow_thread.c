/*
 * flow_thread.c: consultation threads (PROTOCOL.md 17.3 to 17.5;
 * docs/THREADS.md): thread_create, thread_get, thread_append, thread_send,
 * thread_list, thread_sync and thread_mark, and the pushes thread_message,
 * thread_changed and thread_mark; the attachments of threads: blob_begin,
 * blob_put and blob_get (17.9). Worker thread.
 *
 * varskod can read no message and add no reader: what it does is refuse
 * what does not verify or what the municipality document does not allow,
 * in the order 17.3 gives, so that the database only ever holds thread
 * chains that verify from their root, members that may be members, and
 * messages sealed to exactly the present members' current user keys. Every
 * request reads the stored chain again and verifies it (an edited row is
 * answered bad_chain, never handed on). A thread the caller is not a
 * present member of is not_found, exactly like one that does not exist, so
 * that thread ids cannot be probed. Who may be a member is policy.c's
 * (policy_thread_member), from the users' current records.
 *
 * The logs name a thread only by log_id(); titles and texts are inside the
 * envelopes, which this file never opens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blob.h"
#include "chain.h"
#include "chains.h"
#include "envelope.h"
#include "flow_request.h"
#include "keybox.h"
#include "config.h"
#include "store_blob.h"
#include "store_keys.h"
#include "store_thread.h"
#include "thread.h"
#include "underretning.h"

#define NO_THREAD "no such thread"
#define EDITED    "the stored thread chain does not verify: the database was changed"

/* A sync answer carries envelopes up to about this many bytes (one more message always fits). */
#define SYNC_BYTES ENV_JSON_MAX

/* What the log says of a thread request that succeeded: the thread by log_id() and a short note (no content). */
static void note(struct flow_job *j, const char *thread, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note(struct flow_job *j, const char *thread, const char *fmt, ...)
{
	va_list ap;

	log_id(thread, j->log_thread);
	va_start(ap, fmt);
	vsnprintf(j->log_ref, sizeof(j->log_ref), fmt, ap);
	va_end(ap);
}

/* ---- the stored chain ------------------------------------------------------------- */

/*
 * The stored chain of thread, verified, for a caller who must be a present
 * member: not_found for an unknown thread and for a caller who is not a
 * present member (by the rows kept beside the links, then by the verified
 * chain), bad_chain for a chain that does not verify.
 */
static int member_chain(struct flow_job *j, struct store *st, const char *thread, const char *user, int want_json,
                        struct threadchain *tc)
{
	const struct chain_thread_member *m;
	int present = 0, r = store_thread_member(st, thread, user, &present);

	if (r == VARSKO_ERR_NOT_FOUND || (r == VARSKO_OK && !present))
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, NO_THREAD);
	if (r != VARSKO_OK)
		return r;
	if ((r = threadchain_load(st, thread, want_json, tc)) == VARSKO_ERR_BAD_CHAIN)
		return flow_refuse(j, r, EDITED);
	if (r != VARSKO_OK)
		return r;
	if (tc->state.head.seq == 0 || (m = chain_thread_member(&tc->state, user)) == NULL || m->removed != 0)
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, NO_THREAD);
	return VARSKO_OK;
}

/*
 * For a request that reads or adds content (append, send, sync, mark), after
 * member_chain(): a thread whose content was purged (docs/THREADS.md
 * "Retention") is closed, and the answer is `purged`. Its chain stays
 * readable with thread_get.
 */
static int not_purged(struct flow_job *j, struct store *st, const char *thread)
{
	struct store_thread t;
	int r = store_thread_get(st, thread, &t);

	if (r == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, NO_THREAD);
	if (r != VARSKO_OK)
		return r;
	if (t.purged_at != 0)
		return flow_refuse(j, VARSKO_ERR_PURGED,
		                   "the thread's messages were purged after its retention period");
	return VARSKO_OK;
}

/* The pin of a link is user's current user key by the stored user chain: stale_key, or not_found without one. */
static int pin_check(struct flow_job *j, struct store *st, const char *user, uint64_t generation,
                     const uint8_t uk_sign_pk[PROTO_PK_LEN])
{
	struct userchain *uc = calloc(1, sizeof(*uc));
	int r;

	if (uc == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = userchain_load(st, user, 0, uc)) == VARSKO_ERR_BAD_CHAIN)
		r = flow_refuse(j, r, "a stored user chain does not verify: the database was changed");
	else if (r == VARSKO_OK && uc->state.generation == 0)
		r = flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the user has no user key yet");
	else if (r == VARSKO_OK && (uc->state.generation != generation ||
	                            sodium_memcmp(uc->state.uk_sign_pk, uk_sign_pk, PROTO_PK_LEN) != 0))
		r = flow_refuse(j, VARSKO_ERR_STALE_KEY, "the link does not pin the user's current user key");
	userchain_free(uc);
	free(uc);
	return r;
}

/*
 * PROTOCOL.md 17.5: the user the link l (thread_create or
 * thread_member_add) names may be a member of a thread of institution with
 * the role of the link, the thread standing as `before` (the rådgivere
 * present then give the teams whose leder may join). A refusal (forbidden)
 * or VARSKO_OK.
 */
static int eligible(struct flow_job *j, struct store *st, const struct chain_thread_state *before,
                    const char *institution, const struct chain_link *l)
{
	char teams[CHAIN_MEMBERS_MAX][PROTO_ID_MAX + 1];
	const char *tp[CHAIN_MEMBERS_MAX];
	struct proto_cert rec;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < before->n_members; i++) {
		const struct chain_thread_member *m = &before->members[i];

		if (m->removed != 0 || m->role != CHAIN_ROLE_RAADGIVER)
			continue;
		if ((r = store_user_get(st, m->user, &rec)) == VARSKO_ERR_NOT_FOUND)
			continue; /* no longer in the municipality document: gives no team */
		if (r != VARSKO_OK)
			return r;
		if (strcmp(rec.role, "raadgiver") != 0 || rec.team[0] == '\0')
			continue;
		memcpy(teams[n], rec.team, sizeof(teams[n]));
		tp[n] = teams[n];
		n++;
	}
	if ((r = store_user_get(st, l->user, &rec)) != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		return r;
	if (r == VARSKO_ERR_NOT_FOUND || !policy_thread_member(&rec, chain_role_name(l->role), institution, tp, n))
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN,
		                   "the municipality document does not admit this user to this thread with this role");
	return VARSKO_OK;
}

/* ---- thread_create ------------------------------------------------------------------ */

/* Compares the stored links of a thread with the texts of a create sent again. */
struct same_links {
	char **texts;
	size_t n, seen;
	int differ;
};

static int same_row(int64_t seq, const char *json, size_t len, void *arg)
{
	struct same_links *x = arg;

	(void)seq;
	if (x->seen < x->n && (strlen(x->texts[x->seen]) != len || memcmp(x->texts[x->seen], json, len) != 0))
		x->differ = 1;
	x->seen++;
	return VARSKO_OK;
}

/* Every rådgiver assigned to the institution must be a present member. */
struct assigned {
	const struct chain_thread_state *s;
	int missing;
};

static int assigned_row(const char *user, void *arg)
{
	struct assigned *a = arg;
	const struct chain_thread_member *m = chain_thread_member(a->s, user);

	if (m == NULL || m->removed != 0)
		a->missing = 1;
	return VARSKO_OK;
}

/* Everything flow_run_thread_create() holds, so that one exit frees it all. */
struct create_state {
	struct chain_link *links;
	char **texts;
	size_t n;
	struct chain_thread_state *s, *walk;
	struct store_thread_link *rows;
};

static void create_free(struct create_state *x)
{
	for (size_t i = 0; x->texts != NULL && i < x->n; i++)
		free(x->texts[i]);
	free(x->texts);
	free(x->links);
	free(x->s);
	free(x->walk);
	free(x->rows);
}

/* thread_changed {thread, version} to users[0..n): every member present after a change, and whom it removed. */
static int push_changed(struct flow_job *j, const char *thread, uint64_t version, const char *const *users, size_t n)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "type", "thread_changed", "thread", thread, "version",
	                      (json_int_t)version);
	char *text = NULL;
	size_t len = 0;
	int r;

	if (o == NULL)
		return VARSKO_ERR_NOMEM;
	r = flow_frame_dump(o, &text, &len);
	json_decref(o);
	if (r == VARSKO_OK)
		r = flow_add_push_users(j, text, len, users, n, 0);
	free(text);
	return r;
}

/* The users a change concerns: the present members of s, and `also` (one who left or was removed; may be NULL). */
static size_t concerned(const struct chain_thread_state *s, const char *also, const char *out[CHAIN_MEMBERS_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_members; i++)
		if (s->members[i].removed == 0 || (also != NULL && strcmp(s->members[i].user, also) == 0))
			out[n++] = s->members[i].user;
	return n;
}

int flow_run_thread_create(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const json_t *arr = json_object_get(j->req, "links");
	const char *users[CHAIN_MEMBERS_MAX];
	struct create_state x;
	struct store_thread t, have;
	const struct chain_link *l1;
	char district[PROTO_NAME_MAX + 1];
	size_t len, bad = 0, n_users;
	int r;

	memset(&x, 0, sizeof(x));
	x.n = json_array_size(arr);
	if (x.n == 0 || x.n > FLOW_THREAD_LINKS_MAX)
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "a new thread has 1 to 64 links");
	if ((x.links = calloc(x.n, sizeof(*x.links))) == NULL || (x.texts = calloc(x.n, sizeof(*x.texts))) == NULL ||
	    (x.s = calloc(1, sizeof(*x.s))) == NULL || (x.walk = calloc(1, sizeof(*x.walk))) == NULL ||
	    (x.rows = calloc(x.n, sizeof(*x.rows))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < x.n; i++) {
		if ((r = chain_link_from_json(json_array_get(arr, i), &x.links[i])) != VARSKO_OK) {
			r = flow_refuse(j, r, "a link is not a valid chain link");
			goto out;
		}
		if ((r = chain_link_to_text(&x.links[i], &x.texts[i], &len)) != VARSKO_OK)
			goto out;
	}
	l1 = &x.links[0];
	if (l1->op != CHAIN_OP_THREAD_CREATE) {
		r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "link 1 of a thread is thread_create");
		goto out;
	}
	/* 17.3: the caller is the creator, with the caller's role and current user key. */
	if (strcmp(l1->user, c->who.user) != 0 || strcmp(chain_role_name(l1->role), c->cert.role) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN,
		                "link 1 names the caller, with the caller's role, as the creator");
		goto out;
	}
	if ((r = pin_check(j, st, l1->user, l1->generation, l1->uk_sign_pk)) != VARSKO_OK)
		goto out;
	/* The institution exists and the caller's record lists it. */
	if ((r = store_institution_district(st, l1->institution, district, sizeof(district))) != VARSKO_OK &&
	    r != VARSKO_ERR_NOT_FOUND)
		goto out;
	if (r == VARSKO_ERR_NOT_FOUND || !policy_institution(&c->who, l1->institution)) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the institution is not one of this user's institutions");
		goto out;
	}
	/* The thread id is unused, or holds exactly these links already (a create sent again). */
	if ((r = store_thread_get(st, l1->chain, &have)) == VARSKO_OK) {
		struct same_links same = {x.texts, x.n, 0, 0};

		if ((r = store_chain_foreach(st, "thread", l1->chain, same_row, &same)) != VARSKO_OK)
			goto out;
		if (same.differ || same.seen < x.n) {
			r = flow_refuse(j, VARSKO_ERR_EXISTS, "the thread id is taken");
			goto out;
		}
		note(j, l1->chain, " created again (duplicate)");
		r = flow_answer(j, json_pack("{s:s, s:I}", "thread", l1->chain, "version", (json_int_t)have.version));
		goto out;
	}
	if (r != VARSKO_ERR_NOT_FOUND)
		goto out;
	/* The links verify as a chain: thread_create, then the creator's thread_member_add links. */
	for (size_t i = 1; i < x.n; i++)
		if (x.links[i].op != CHAIN_OP_THREAD_MEMBER_ADD) {
			r = flow_refuse(j, VARSKO_ERR_BAD_INPUT,
			                "a new thread carries thread_create and thread_member_add links only");
			goto out;
		}
	if ((r = chain_thread_verify(x.links, x.n, l1->chain, x.s, &bad)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the links do not verify as a thread chain");
		goto out;
	}
	for (size_t i = 1; i < x.n; i++)
		if (sodium_memcmp(x.links[i].sigs[0].pk, l1->uk_sign_pk, PROTO_PK_LEN) != 0) {
			r = flow_refuse(j, VARSKO_ERR_FORBIDDEN, "the creator signs every link of a new thread");
			goto out;
		}
	/* Every added user may be a member, with the current user key pinned. */
	for (size_t i = 0; i < x.n; i++) {
		if (i > 0 && ((r = eligible(j, st, x.walk, l1->institution, &x.links[i])) != VARSKO_OK ||
		              (r = pin_check(j, st, x.links[i].user, x.links[i].generation, x.links[i].uk_sign_pk)) !=
		                      VARSKO_OK))
			goto out;
		if ((r = chain_thread_extend(x.walk, &x.links[i])) != VARSKO_OK)
			goto out; /* verified above: cannot happen */
	}
	/* The rådgivere assigned to the institution are members from the start. */
	{
		struct assigned a = {x.s, 0};

		if ((r = store_institution_raadgivere(st, l1->institution, assigned_row, &a)) != VARSKO_OK)
			goto out;
		if (a.missing) {
			r = flow_refuse(j, VARSKO_ERR_BAD_INPUT,
			                "the assigned raadgivere must be members from the start");
			goto out;
		}
	}
	memset(&t, 0, sizeof(t));
	memcpy(t.id, l1->chain, sizeof(t.id));
	memcpy(t.institution, l1->institution, sizeof(t.institution));
	memcpy(t.creator, l1->user, sizeof(t.creator));
	t.anonymous = l1->anonymous;
	for (size_t i = 0; i < x.n; i++)
		x.rows[i] = (struct store_thread_link){(int64_t)x.links[i].seq, chain_op_name(x.links[i].op),
		                                       x.texts[i], x.links[i].user, 1};
	if ((r = store_thread_create(st, &t, x.rows, x.n, now, j->device)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			r = flow_refuse(j, r, "the thread id is taken");
		goto out;
	}
	note(j, t.id, " created, version %zu", x.n);
	if ((r = flow_answer(j, json_pack("{s:s, s:I}", "thread", t.id, "version", (json_int_t)x.n))) != VARSKO_OK)
		goto out;
	n_users = concerned(x.s, NULL, users);
	r = push_changed(j, t.id, x.n, users, n_users);
out:
	create_free(&x);
	return r;
}

/* ---- thread_get ------------------------------------------------------------------------ */

#ifdef VARSKO_TEST_GHOST_ROSTER
/*
 * TEST BUILD ONLY (varskod-ghost, never installed; see flow_submit.c): a
 * modified server that adds a member of its own to every thread chain it
 * hands out: a thread_member_add of user "ghost", pinning and signed by a
 * key made from a fixed seed (no member's key: the server has none). The
 * clients must refuse the chain and seal nothing to the ghost
 * (tests/integration/test_threads.py). The ordinary varskod has none of this.
 */
#define GHOST_THREAD_SEED_TEXT "varsko-test-ghost-thread-member"
static int ghost_member_add(json_t *links, const char *thread, const struct chain_thread_state *state, int64_t now)
{
	uint8_t seed[32], pk[32], sk[64];
	struct chain_link *l = calloc(1, sizeof(*l));
	json_t *o = NULL;
	int r = VARSKO_ERR_NOMEM;

	if (l == NULL)
		return r;
	crypto_generichash(seed, sizeof seed, (const uint8_t *)GHOST_THREAD_SEED_TEXT, strlen(GHOST_THREAD_SEED_TEXT),
	                   NULL, 0);
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		r = VARSKO_ERR_CRYPTO;
		goto out;
	}
	l->kind = CHAIN_KIND_THREAD;
	snprintf(l->chain, sizeof l->chain, "%s", thread);
	chain_link_follow(l, &state->head);
	l->op = CHAIN_OP_THREAD_MEMBER_ADD;
	snprintf(l->user, sizeof l->user, "ghost");
	l->role = CHAIN_ROLE_FAGPERSON;
	l->generation = 1;
	memcpy(l->uk_sign_pk, pk, sizeof pk);
	l->time = now;
	if ((r = chain_link_sign(l, sk)) == VARSKO_OK && (r = chain_link_to_json(l, &o)) == VARSKO_OK)
		r = json_array_append_new(links, o) == 0 ? VARSKO_OK : VARSKO_ERR_NOMEM;
out:
	sodium_memzero(sk, sizeof sk);
	free(l);
	return r;
}
#endif

int flow_run_thread_get(struct flow_job *j, struct store *st, const struct caller *c)
{
	const char *thread = json_string_value(json_object_get(j->req, "thread"));
	struct threadchain *tc = calloc(1, sizeof(*tc));
	int r;

	if (tc == NULL)
		return VARSKO_ERR_NOMEM;
	r = member_chain(j, st, thread, c->who.user, 1, tc);
#ifdef VARSKO_TEST_GHOST_ROSTER
	if (r == VARSKO_OK)
		r = ghost_member_add(tc->rows.arr, thread, &tc->state, (int64_t)time(NULL));
#endif
	if (r == VARSKO_OK)
		r = flow_answer(j, json_pack("{s:s, s:O}", "thread", thread, "links", tc->rows.arr));
	threadchain_free(tc);
	free(tc);
	return r;
}

/* ---- thread_append ---------------------------------------------------------------------- */

int flow_run_thread_append(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *thread = json_string_value(json_object_get(j->req, "thread"));
	const char *users[CHAIN_MEMBERS_MAX];
	const struct chain_thread_member *me;
	struct threadchain *tc = NULL;
	struct chain_thread_state *before = NULL;
	struct chain_link *l = NULL;
	struct store_thread_link row;
	char *text = NULL;
	size_t len = 0, n_users;
	int r, may;

	if ((tc = calloc(1, sizeof(*tc))) == NULL || (before = malloc(sizeof(*before))) == NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = member_chain(j, st, thread, c->who.user, 0, tc)) != VARSKO_OK)
		goto out;
	if ((r = not_purged(j, st, thread)) != VARSKO_OK)
		goto out;
	if ((r = chain_link_from_json(json_object_get(j->req, "link"), l)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link is not a valid chain link");
		goto out;
	}
	if (l->kind != CHAIN_KIND_THREAD || strcmp(l->chain, thread) != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN, "the link is not a link of this thread's chain");
		goto out;
	}
	/* The caller's user is the one whose pinned key must sign it (13.5), and has the right to. */
	me = chain_thread_member(&tc->state, c->who.user);
	if (sodium_memcmp(l->sigs[0].pk, me->uk_sign_pk, PROTO_PK_LEN) != 0) {
		r = flow_refuse(j, VARSKO_ERR_FORBIDDEN,
		                "a device signs thread changes with its own user's pinned key");
		goto out;
	}
	may = l->op == CHAIN_OP_THREAD_MEMBER_LEAVE
	              ? strcmp(l->user, c->who.user) == 0
	              : strcmp(tc->state.creator, c->who.user) == 0 || me->role == CHAIN_ROLE_RAADGIVER;
	if (!may) {
		r = flow_refuse(
		        j, VARSKO_ERR_FORBIDDEN,
		        "only the creator or a raadgiver adds and removes members; a member leaves only themself");
		goto out;
	}
	memcpy(before, &tc->state, sizeof(*before));
	if ((r = chain_thread_extend(&tc->state, l)) != VARSKO_OK) {
		r = flow_refuse(j, r, "the link does not extend the thread's chain");
		goto out;
	}
	if (l->op == CHAIN_OP_THREAD_MEMBER_ADD &&
	    ((r = eligible(j, st, before, tc->state.institution, l)) != VARSKO_OK ||
	     (r = pin_check(j, st, l->user, l->generation, l->uk_sign_pk)) != VARSKO_OK))
		goto out;
	if ((r = chain_link_to_text(l, &text, &len)) != VARSKO_OK)
		goto out;
	row = (struct store_thread_link){(int64_t)l->seq, chain_op_name(l->op), text, l->user,
	                                 l->op == CHAIN_OP_THREAD_MEMBER_ADD};
	if ((r = store_thread_append(st, thread, &row, now, j->device)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			r = flow_refuse(j, VARSKO_ERR_BAD_CHAIN,
			                "another link took this place first: fetch the chain again");
		goto out;
	}
	note(j, thread, " %s, version %llu", chain_op_name(l->op), (unsigned long long)l->seq);
	if ((r = flow_answer(j, json_pack("{s:s, s:I}", "thread", thread, "version", (json_int_t)l->seq))) != VARSKO_OK)
		goto out;
	n_users = concerned(&tc->state, l->op == CHAIN_OP_THREAD_MEMBER_ADD ? NULL : l->user, users);
	r = push_changed(j, thread, l->seq, users, n_users);
out:
	free(text);
	free(l);
	free(before);
	threadchain_free(tc);
	free(tc);
	return r;
}

/* ---- thread_send ------------------------------------------------------------------------- */

/*
 * PROTOCOL.md 17.4: the envelope's recipients are exactly user:<m>:<g> for
 * every present member m at the chain's version, g the generation of m's
 * current user key by m's stored user chain. users[0..*n) gets the members.
 */
static int recipients_check(struct flow_job *j, struct store *st, const struct chain_thread_state *s,
                            const struct env_envelope *env, const char *users[CHAIN_MEMBERS_MAX], size_t *n)
{
	char kid[KEYBOX_KEYID_MAX + 1];
	struct userchain *uc;
	size_t k;
	int r = VARSKO_OK;

	*n = 0;
	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < s->n_members && r == VARSKO_OK; i++) {
		if (s->members[i].removed != 0)
			continue;
		users[(*n)++] = s->members[i].user;
		if ((r = userchain_load(st, s->members[i].user, 0, uc)) == VARSKO_ERR_BAD_CHAIN)
			r = flow_refuse(j, r, "a member's stored user chain does not verify: the database was changed");
		else if (r == VARSKO_OK &&
		         (uc->state.generation == 0 ||
		          keybox_user_key_id(kid, s->members[i].user, uc->state.generation) != VARSKO_OK))
			r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER, "a member has no user key");
		userchain_free(uc);
		if (r != VARSKO_OK)
			break;
		for (k = 0; k < env->n_wraps && strcmp(env->wraps[k].device, kid) != 0; k++)
			;
		if (k == env->n_wraps)
			r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER,
			                "the recipients are not exactly the present members' current user keys");
	}
	free(uc);
	/* Wraps are distinct (env_from_json): as many as members, each one a member's, is exactly them. */
	if (r == VARSKO_OK && env->n_wraps != *n)
		r = flow_refuse(j, VARSKO_ERR_NOT_MEMBER,
		                "the recipients are not exactly the present members' current user keys");
	return r;
}

/* Everything flow_run_thread_send() holds. */
struct send_state {
	struct threadchain *tc;
	struct env_envelope *env;
	char *text, *env_text, *cert, *push;
};

/* The answer thread_sent. */
static int answer_sent(struct flow_job *j, const char *thread, const char *message, int64_t seq, int64_t received,
                       int duplicate)
{
	char when[PROTO_TIME_LEN + 1];

	proto_time_format(received, when);
	return flow_answer(j, json_pack("{s:s, s:s, s:I, s:s, s:b}", "thread", thread, "message", message, "seq",
	                                (json_int_t)seq, "received", when, "duplicate", duplicate));
}

int flow_run_thread_send(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *thread = json_string_value(json_object_get(j->req, "thread"));
	const char *users[CHAIN_MEMBERS_MAX];
	struct store_thread_message m;
	struct thread_routing rt;
	struct send_state x;
	uint8_t hash[32], stored[32];
	char when[PROTO_TIME_LEN + 1];
	int64_t seq = 0, received = 0;
	size_t len = 0, n_users = 0, plen = 0;
	int r;

	memset(&x, 0, sizeof(x));
	if ((x.tc = calloc(1, sizeof(*x.tc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = member_chain(j, st, thread, c->who.user, 0, x.tc)) != VARSKO_OK)
		goto out;
	if ((r = not_purged(j, st, thread)) != VARSKO_OK)
		goto out;
	/* The envelope: a thread message from this device, signed by it. */
	if ((r = flow_envelope_of(j, &x.text, &x.env)) != VARSKO_OK)
		goto out;
	if (strcmp(x.env->kind, "thread_message") != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope is not a thread message");
		goto out;
	}
	if (strcmp(x.env->sender, j->device) != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope's sender is not this device");
		goto out;
	}
	if (env_verify(x.env, c->cert.sign_pk) != VARSKO_OK) {
		r = flow_refuse(j, VARSKO_ERR_BAD_SIGNATURE, "the envelope's signature does not verify");
		goto out;
	}
	if (thread_routing_decode(x.env->routing, x.env->routing_len, &rt) != VARSKO_OK) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope's routing bytes do not decode");
		goto out;
	}
	if (strcmp(rt.thread, thread) != 0) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope is for another thread");
		goto out;
	}
	if (!thread_message_id_valid(x.env->object_id)) {
		r = flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the envelope's object id is not a message id");
		goto out;
	}
	if ((r = flow_envelope_hash(hash, x.env)) != VARSKO_OK)
		goto out;
	/*
	 * The same message again: its stored seq, nothing new. Before the version
	 * and recipient checks, so that a resend after a membership change still
	 * finds the message it stored (PROTOCOL.md 17.3).
	 */
	r = store_thread_message_find(st, thread, x.env->object_id, &seq, stored, &received);
	if (r == VARSKO_OK) {
		if (sodium_memcmp(stored, hash, sizeof(hash)) != 0) {
			r = flow_refuse(j, VARSKO_ERR_EXISTS, "another message of this thread has this id");
			goto out;
		}
		note(j, thread, " message %lld sent again (duplicate)", (long long)seq);
		r = answer_sent(j, thread, x.env->object_id, seq, received, 1);
		goto out;
	}
	if (r != VARSKO_ERR_NOT_FOUND)
		goto out;
	if (rt.version != x.tc->state.head.seq) {
		r = flow_refuse(j, VARSKO_ERR_STALE_KEY,
		                "the membership changed: fetch the thread's chain, check it and seal again");
		goto out;
	}
	if ((r = recipients_check(j, st, &x.tc->state, x.env, users, &n_users)) != VARSKO_OK)
		goto out;
	/* Stored in the group's transaction; answered and pushed only after its commit. */
	if ((r = env_to_json(x.env, &x.env_text, &len)) != VARSKO_OK ||
	    (r = proto_cert_to_json(&c->cert, &x.cert)) != VARSKO_OK)
		goto out;
	memset(&m, 0, sizeof(m));
	m.thread = thread;
	m.message = x.env->object_id;
	m.sender_user = c->who.user;
	m.sender_device = j->device;
	m.version = (int64_t)rt.version;
	m.envelope_json = x.env_text;
	m.envelope_hash = hash;
	m.recipients = users;
	m.n_recipients = n_users;
	if ((r = store_thread_message_add(st, &m, now, &seq)) != VARSKO_OK) {
		if (r == VARSKO_ERR_EXISTS)
			r = flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the message collided with another; send it again");
		goto out;
	}
	note(j, thread, " message %lld", (long long)seq);
	if ((r = answer_sent(j, thread, x.env->object_id, seq, now, 0)) != VARSKO_OK)
		goto out;
	{
		json_t *small = json_pack("{s:s, s:s, s:I, s:s}", "type", "thread_message", "thread", thread, "seq",
		                          (json_int_t)seq, "received", (proto_time_format(now, when), when));
		struct flow_text_kv raw[2] = {{"envelope", x.env_text}, {"sender_cert", x.cert}};

		if (small == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		r = flow_text_merge(small, raw, 2, &x.push, &plen);
		json_decref(small);
		if (r != VARSKO_OK)
			goto out;
	}
	r = flow_add_push_users(j, x.push, plen, users, n_users, 1);
out:
	env_free(x.env);
	threadchain_free(x.tc);
	free(x.tc);
	free(x.text);
	free(x.env_text);
	free(x.cert);
	free(x.push);
	return r;
}

/* ---- thread_raadgivere ----------------------------------------------------------------------- */

static int raadgiver_row(const char *user, void *arg)
{
	json_t *users = arg;

	return json_array_size(users) >= FLOW_RAADGIVERE_MAX || json_array_append_new(users, json_string(user)) != 0
	               ? VARSKO_ERR_NOMEM
	               : VARSKO_OK;
}

int flow_run_thread_raadgivere(struct flow_job *j, struct store *st, const struct caller *c)
{
	const char *inst = json_string_value(json_object_get(j->req, "institution"));
	char district[PROTO_ID_MAX + 1];
	json_t *users;
	int r;

	/* Like thread_create: an institution that does not exist reads as one that is not the caller's. */
	if ((r = store_institution_district(st, inst, district, sizeof(district))) != VARSKO_OK &&
	    r != VARSKO_ERR_NOT_FOUND)
		return r;
	if (r == VARSKO_ERR_NOT_FOUND || !policy_institution(&c->who, inst))
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, "not one of this user's institutions");
	if ((users = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	/* The list thread_create checks (sorted by user id in the query). */
	if ((r = store_institution_raadgivere(st, inst, raadgiver_row, users)) != VARSKO_OK) {
		json_decref(users);
		return r;
	}
	return flow_answer(j, json_pack("{s:s, s:o}", "institution", inst, "users", users));
}

/* ---- thread_list ---------------------------------------------------------------------------- */

struct list_ctx {
	struct flow_job *j;
	struct store *st;
	const char *user;
	json_t *items;
	struct threadchain *tc;
};

/* One thread of the caller's: its chain verified again, the caller present in it. */
static int list_row(const struct store_thread *t, void *arg)
{
	struct list_ctx *x = arg;
	const struct chain_thread_member *m;
	char when[PROTO_TIME_LEN + 1];
	json_t *o;
	int r;

	r = threadchain_load(x->st, t->id, 0, x->tc);
	if (r == VARSKO_ERR_BAD_CHAIN)
		r = flow_refuse(x->j, r, EDITED);
	if (r == VARSKO_OK && ((m = chain_thread_member(&x->tc->state, x->user)) != NULL && m->removed == 0)) {
		o = json_pack("{s:s, s:s, s:b, s:I, s:I}", "thread", t->id, "institution", x->tc->state.institution,
		              "anonymous", x->tc->state.anonymous, "version", (json_int_t)x->tc->state.head.seq,
		              "last_seq", (json_int_t)t->last_seq);
		if (o != NULL && t->last_seq > 0) {
			proto_time_format(t->last_time, when);
			if (json_object_set_new(o, "last_time", json_string(when)) != 0) {
				json_decref(o);
				o = NULL;
			}
		}
		if (o != NULL && t->purged_at != 0) {
			proto_time_format(t->purged_at, when);
			if (json_object_set_new(o, "purged", json_string(when)) != 0) {
				json_decref(o);
				o = NULL;
			}
		}
		if (o == NULL || json_array_append_new(x->items, o) != 0)
			r = VARSKO_ERR_NOMEM;
	}
	threadchain_free(x->tc);
	return r;
}

int flow_run_thread_list(struct flow_job *j, struct store *st, const struct caller *c)
{
	struct list_ctx x = {j, st, c->who.user, json_array(), calloc(1, sizeof(struct threadchain))};
	int r;

	if (x.items == NULL || x.tc == NULL)
		r = VARSKO_ERR_NOMEM;
	else if ((r = store_thread_list(st, c->who.user, FLOW_ITEMS_MAX, list_row, &x)) == VARSKO_OK)
		r = flow_answer(j, json_pack("{s:O}", "threads", x.items));
	json_decref(x.items);
	free(x.tc);
	return r;
}

/* ---- thread_sync ------------------------------------------------------------------------------ */

struct sync_msg {
	int64_t seq, received;
	char *envelope, *cert;
};

struct sync_ctx {
	struct sync_msg *msgs;
	size_t n, cap;
	size_t bytes;
	int full; /* stopped at the byte budget */
};

static int sync_row(const struct store_thread_row *row, void *arg)
{
	struct sync_ctx *x = arg;
	struct sync_msg *m;
	size_t el = strlen(row->envelope);

	if (row->sender_cert == NULL)
		return VARSKO_ERR_DB;
	if (x->n > 0 && x->bytes + el > SYNC_BYTES) {
		x->full = 1;
		return VARSKO_ERR_TOO_LARGE; /* stops the query; not an error of the request */
	}
	if (x->n == x->cap)
		return VARSKO_ERR_INTERNAL;
	m = &x->msgs[x->n];
	m->seq = row->seq;
	m->received = row->received;
	if ((m->envelope = strdup(row->envelope)) == NULL || (m->cert = strdup(row->sender_cert)) == NULL) {
		free(m->envelope);
		m->envelope = NULL;
		return VARSKO_ERR_NOMEM;
	}
	x->bytes += el;
	x->n++;
	return VARSKO_OK;
}

static int mark_text(const char *json, size_t len, void *arg)
{
	struct proto_buf *b = arg;

	if (b->len > 1)
		proto_buf_add(b, ",", 1);
	proto_buf_add(b, json, len);
	return b->err;
}

/* One entry of the messages answer, appended to b: {envelope, marks, received, sender_cert, seq}. */
static int sync_entry(struct store *st, const char *thread, const struct sync_msg *m, struct proto_buf *b)
{
	struct proto_buf marks;
	char when[PROTO_TIME_LEN + 1], *text = NULL, *mk = NULL;
	json_t *small;
	size_t len = 0;
	int r;

	proto_buf_init(&marks);
	proto_buf_add(&marks, "[", 1);
	if ((r = store_thread_marks(st, thread, m->seq, mark_text, &marks)) != VARSKO_OK)
		goto out;
	proto_buf_add(&marks, "]", 1);
	if ((r = proto_buf_take(&marks, &mk, &len)) != VARSKO_OK)
		goto out;
	proto_time_format(m->received, when);
	if ((small = json_pack("{s:I, s:s}", "seq", (json_int_t)m->seq, "received", when)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	{
		struct flow_text_kv raw[3] = {{"envelope", m->envelope}, {"sender_cert", m->cert}, {"marks", mk}};

		r = flow_text_merge(small, raw, 3, &text, &len);
	}
	json_decref(small);
	if (r != VARSKO_OK)
		goto out;
	proto_buf_add(b, text, len);
	r = b->err;
out:
	proto_buf_free(&marks);
	free(mk);
	free(text);
	return r;
}

int flow_run_thread_sync(struct flow_job *j, struct store *st, const struct caller *c)
{
	const char *thread = json_string_value(json_object_get(j->req, "thread"));
	const json_t *after_v = json_object_get(j->req, "after"), *before_v = json_object_get(j->req, "before");
	const json_t *limit_v = json_object_get(j->req, "limit");
	int64_t after = after_v ? json_integer_value(after_v) : 0, before = before_v ? json_integer_value(before_v) : 0;
	int64_t limit = limit_v ? json_integer_value(limit_v) : FLOW_THREAD_SYNC_MAX;
	struct threadchain *tc = NULL;
	struct sync_ctx x;
	struct proto_buf b;
	char *arr = NULL;
	size_t len = 0;
	int r, more;

	memset(&x, 0, sizeof(x));
	proto_buf_init(&b);
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = member_chain(j, st, thread, c->who.user, 0, tc)) != VARSKO_OK)
		goto out;
	if ((r = not_purged(j, st, thread)) != VARSKO_OK)
		goto out;
	/* One more than asked for tells whether there are more. */
	x.cap = (size_t)limit + 1;
	if ((x.msgs = calloc(x.cap, sizeof(*x.msgs))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = store_thread_messages(st, thread, c->who.user, after, before, limit + 1, sync_row, &x);
	if (r != VARSKO_OK && !(r == VARSKO_ERR_TOO_LARGE && x.full))
		goto out;
	more = x.full || x.n > (size_t)limit;
	if (x.n > (size_t)limit) {
		x.n--;
		free(x.msgs[x.n].envelope);
		free(x.msgs[x.n].cert);
		x.msgs[x.n].envelope = x.msgs[x.n].cert = NULL;
	}
	/* With before the rows came newest first: the answer is in seq order. */
	for (size_t i = 0; before > 0 && i < x.n / 2; i++) {
		struct sync_msg t = x.msgs[i];

		x.msgs[i] = x.msgs[x.n - 1 - i];
		x.msgs[x.n - 1 - i] = t;
	}
	proto_buf_add(&b, "[", 1);
	for (size_t i = 0; i < x.n; i++) {
		if (i > 0)
			proto_buf_add(&b, ",", 1);
		if ((r = sync_entry(st, thread, &x.msgs[i], &b)) != VARSKO_OK)
			goto out;
	}
	proto_buf_add(&b, "]", 1);
	if ((r = proto_buf_take(&b, &arr, &len)) != VARSKO_OK)
		goto out;
	{
		struct flow_text_kv raw[1] = {{"messages", arr}};

		r = flow_answer_raw(j, json_pack("{s:s, s:b}", "thread", thread, "more", more), raw, 1);
	}
out:
	for (size_t i = 0; x.msgs != NULL && i < x.cap; i++) {
		free(x.msgs[i].envelope);
		free(x.msgs[i].cert);
	}
	free(x.msgs);
	free(arr);
	proto_buf_free(&b);
	threadchain_free(tc);
	free(tc);
	return r;
}

/* ---- thread_mark --------------------------------------------------------------------------------- */

int flow_run_thread_mark(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	struct thread_mark m;
	char message[PROTO_ID_MAX + 1], sender[PROTO_ID_MAX + 1], *text = NULL;
	uint8_t hash[STORE_THREAD_HASH_LEN];
	json_t *o = NULL, *cert = NULL;
	size_t len = 0;
	int r;

	if (thread_mark_from_json(json_object_get(j->req, "mark"), &m) != VARSKO_OK)
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "the mark is malformed");
	if (strcmp(m.r.user, c->who.user) != 0 || strcmp(m.r.device, j->device) != 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "a device marks for itself and its own user only");
	if (thread_receipt_verify(&m.r, m.sig, c->cert.sign_pk) != VARSKO_OK)
		return flow_refuse(j, VARSKO_ERR_BAD_SIGNATURE, "the mark's signature does not verify");
	r = store_thread_mark_target(st, m.r.thread, (int64_t)m.r.seq, m.r.user, message, hash, sender);
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		return r;
	if (r == VARSKO_ERR_NOT_FOUND || strcmp(message, m.r.message) != 0 ||
	    sodium_memcmp(hash, m.r.envelope_hash, sizeof(hash)) != 0) {
		int present = 0;

		/* A present member learns that the message went with its thread's content; nobody else learns more. */
		if (r == VARSKO_ERR_NOT_FOUND &&
		    store_thread_member(st, m.r.thread, c->who.user, &present) == VARSKO_OK && present &&
		    not_purged(j, st, m.r.thread) == VARSKO_ERR_PURGED)
			return VARSKO_ERR_PURGED;
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, "no such message for this user");
	}
	if ((r = thread_mark_to_json(&m, &o)) != VARSKO_OK || (r = flow_frame_dump(o, &text, &len)) != VARSKO_OK)
		goto out;
	r = store_thread_mark_add(st, m.r.thread, (int64_t)m.r.seq, m.r.user, thread_receipt_kind_name(m.r.kind),
	                          j->device, text, now);
	if (r != VARSKO_OK && r != VARSKO_ERR_EXISTS)
		goto out;
	note(j, m.r.thread, " mark %s of message %llu%s", thread_receipt_kind_name(m.r.kind),
	     (unsigned long long)m.r.seq, r == VARSKO_ERR_EXISTS ? " (had it)" : "");
	/* The first of each (message, user, kind) is stored and pushed to the sender; a repeated one only answered. */
	if (r == VARSKO_OK) {
		if ((cert = flow_cert_json(&c->cert)) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if ((r = flow_add_push(j, json_pack("{s:s, s:O, s:O}", "type", "thread_mark", "mark", o, "cert", cert),
		                       sender, NULL)) != VARSKO_OK)
			goto out;
	}
	r = flow_answer(j, json_pack("{s:s, s:I}", "thread", m.r.thread, "seq", (json_int_t)m.r.seq));
out:
	json_decref(o);
	json_decref(cert);
	free(text);
	return r;
}

/* ---- attachments: blob_begin, blob_put, blob_get (PROTOCOL.md 17.9) ------------------------------ */

#define NO_BLOB "no such attachment"

/* The caller is a present member of thread, which is not purged: VARSKO_OK or the refusal member_chain() gives. */
static int blob_member(struct flow_job *j, struct store *st, const char *thread, const char *user)
{
	struct threadchain *tc = calloc(1, sizeof(*tc));
	int r;

	if (tc == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = member_chain(j, st, thread, user, 0, tc)) == VARSKO_OK)
		r = not_purged(j, st, thread);
	threadchain_free(tc);
	free(tc);
	return r;
}

/*
 * An underretning's attachment (bound to its submission id): only who may
 * fetch the underretning itself may fetch it, the notifier and the current
 * team's myndighed, leder and agent (12.8); not before the submit that
 * names it. Else not_found, as for an unknown blob.
 */
static int blob_sees_underretning(struct flow_job *j, struct store *st, const struct caller *c,
                                  const struct store_blob *b)
{
	struct store_underretning u;
	unsigned rel;
	int r = store_underretning_find(st, b->owner, b->submission, STORE_ENV_NONE, &u);

	if (r == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, NO_BLOB);
	if (r != VARSKO_OK)
		return r;
	rel = policy_relation(&c->who, u.team, u.sender_user);
	store_underretning_clear(&u);
	if ((rel & POL_REL_NOTIFIER) != 0 || ((rel & POL_REL_TEAM) != 0 && (c->who.role & POL_TEAM_ROLES) != 0))
		return VARSKO_OK;
	return flow_refuse(j, VARSKO_ERR_NOT_FOUND, NO_BLOB);
}

static int answer_blob_ok(struct flow_job *j, const struct store_blob *b)
{
	return flow_answer(j, json_pack("{s:s, s:I, s:I, s:b}", "blob", b->id, "size", (json_int_t)b->size, "received",
	                                (json_int_t)b->received, "complete", b->complete));
}

/* The bytes of a base64 member of the request (checked by the frame table): a new buffer, or NULL. */
static uint8_t *req_bytes(const json_t *req, const char *key, size_t *n)
{
	const char *s = json_string_value(json_object_get(req, key));
	uint8_t *p = NULL;
	size_t len = 0;

	*n = 0;
	if (proto_b64_decoded_len(s, &len) != VARSKO_OK || len == 0 || (p = malloc(len)) == NULL ||
	    proto_b64_decode_exact(s, p, len) != VARSKO_OK) {
		free(p);
		return NULL;
	}
	*n = len;
	return p;
}

int flow_run_blob_begin(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *blob = json_string_value(json_object_get(j->req, "blob"));
	const char *thread = json_string_value(json_object_get(j->req, "thread"));
	const char *submission = json_string_value(json_object_get(j->req, "submission"));
	json_int_t size = json_integer_value(json_object_get(j->req, "size"));
	uint64_t max = blob_cipher_len((uint64_t)j->srv->cfg->max_attachment);
	struct store_blob b, want;
	uint8_t *h;
	size_t hn = 0;
	int64_t n = 0;
	int r;

	if (size < 1 || (uint64_t)size > max)
		return flow_refuse(j, VARSKO_ERR_TOO_LARGE, "the attachment is larger than max_attachment allows");
	if (thread != NULL && (r = blob_member(j, st, thread, c->who.user)) != VARSKO_OK)
		return r;
	/* An underretning's attachment: the notifier's own, before the submit that names it (its submission id). */
	if (submission != NULL && (c->who.role & POL_FAGPERSON) == 0)
		return flow_refuse(j, VARSKO_ERR_FORBIDDEN, "only a fagperson attaches files to an underretning");
	if (submission != NULL) {
		/* Received already: its attachments are stored, and a second set would belong to nothing. */
		struct store_underretning u;

		if ((r = store_underretning_find(st, c->who.user, submission, STORE_ENV_NONE, &u)) == VARSKO_OK) {
			store_underretning_clear(&u);
			return flow_refuse(j, VARSKO_ERR_EXISTS, "the underretning of this submission id was received already");
		}
		if (r != VARSKO_ERR_NOT_FOUND)
			return r;
	}
	memset(&want, 0, sizeof(want));
	if ((h = req_bytes(j->req, "sha256", &hn)) == NULL || hn != sizeof(want.sha256)) {
		free(h);
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "sha256 must be 32 bytes of base64");
	}
	memcpy(want.sha256, h, sizeof(want.sha256));
	free(h);
	snprintf(want.id, sizeof(want.id), "%s", blob);
	snprintf(want.thread, sizeof(want.thread), "%s", thread != NULL ? thread : "");
	snprintf(want.submission, sizeof(want.submission), "%s", submission != NULL ? submission : "");
	snprintf(want.owner, sizeof(want.owner), "%s", c->who.user);
	want.size = size;
	if ((r = store_blob_get(st, blob, &b)) == VARSKO_ERR_NOT_FOUND) {
		if (submission != NULL && ((r = store_blob_count_submission(st, c->who.user, submission, &n)) != VARSKO_OK ||
		                           n >= UH_ATTACH_MAX))
			return r != VARSKO_OK ? r
			                      : flow_refuse(j, VARSKO_ERR_TOO_LARGE, "an underretning has at most 16 attachments");
		if ((r = store_blob_create(st, &want, now)) == VARSKO_ERR_EXISTS)
			return flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "the upload collided with another; begin again");
		if (r != VARSKO_OK)
			return r;
		b = want;
	} else if (r != VARSKO_OK) {
		return r;
	} else if (strcmp(b.thread, want.thread) != 0 || strcmp(b.submission, want.submission) != 0 ||
	           strcmp(b.owner, c->who.user) != 0 || b.size != size ||
	           sodium_memcmp(b.sha256, want.sha256, sizeof(b.sha256)) != 0) {
		return flow_refuse(j, VARSKO_ERR_EXISTS, "the blob id is taken by another upload");
	}
	/* Begun, or begun before: the answer says where to go on (resuming after a dropped connection). */
	note(j, thread != NULL ? thread : blob, " blob_begin (%lld of %lld bytes stored)", (long long)b.received,
	     (long long)b.size);
	return answer_blob_ok(j, &b);
}

int flow_run_blob_put(struct flow_job *j, struct store *st, const struct caller *c, int64_t now)
{
	const char *blob = json_string_value(json_object_get(j->req, "blob"));
	json_int_t offset = json_integer_value(json_object_get(j->req, "offset"));
	struct store_blob b;
	uint8_t *data = NULL, h[32];
	size_t n = 0;
	int r;

	if ((r = store_blob_get(st, blob, &b)) == VARSKO_ERR_NOT_FOUND || (r == VARSKO_OK && strcmp(b.owner, c->who.user) != 0))
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, NO_BLOB);
	if (r != VARSKO_OK)
		return r;
	if (b.thread[0] != '\0' && (r = blob_member(j, st, b.thread, c->who.user)) != VARSKO_OK)
		return r;
	if ((data = req_bytes(j->req, "data", &n)) == NULL || n == 0) {
		free(data);
		return flow_refuse(j, VARSKO_ERR_BAD_FRAME, "data must be 1 or more bytes of base64");
	}
	/* A part sent again after a dropped connection: already stored, answered as it stands. */
	if (b.complete || (offset >= 0 && offset + (json_int_t)n <= b.received)) {
		free(data);
		return answer_blob_ok(j, &b);
	}
	if (offset != b.received) {
		free(data);
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT,
		                   "a part must begin where the stored bytes end (blob_begin says where)");
	}
	if (offset + (json_int_t)n > b.size) {
		free(data);
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the part runs past the size given at blob_begin");
	}
	r = store_blob_append(st, blob, offset, data, n, now, &b.received);
	free(data);
	if (r == VARSKO_ERR_BAD_INPUT)
		return flow_refuse(j, VARSKO_ERR_UNAVAILABLE, "another part was stored meanwhile; ask blob_begin");
	if (r != VARSKO_OK)
		return r;
	if (b.received == b.size) {
		if ((r = store_blob_hash(st, blob, h)) != VARSKO_OK)
			return r;
		b.complete = sodium_memcmp(h, b.sha256, sizeof(h)) == 0;
		if ((r = store_blob_finish(st, blob, b.complete, now)) != VARSKO_OK)
			return r;
		if (!b.complete)
			return flow_refuse(j, VARSKO_ERR_BAD_INPUT,
			                   "the bytes do not have the SHA-256 given at blob_begin; they were dropped: "
			                   "upload again from offset 0");
		{
			char detail[160];

			snprintf(detail, sizeof(detail), "blob=%s %s=%s size=%lld", blob, b.thread[0] ? "thread" : "submission",
			         b.thread[0] ? b.thread : b.submission, (long long)b.size);
			if ((r = store_audit(st, now, "blob_stored", j->device, detail)) != VARSKO_OK)
				return r;
		}
	}
	note(j, b.thread[0] ? b.thread : blob, " blob_put (%lld of %lld bytes stored)", (long long)b.received,
	     (long long)b.size);
	return answer_blob_ok(j, &b);
}

int flow_run_blob_get(struct flow_job *j, struct store *st, const struct caller *c)
{
	const char *blob = json_string_value(json_object_get(j->req, "blob"));
	json_int_t offset = json_integer_value(json_object_get(j->req, "offset"));
	struct store_blob b;
	uint8_t *buf = NULL;
	char *text = NULL;
	size_t n = 0, cap;
	int r;

	if ((r = store_blob_get(st, blob, &b)) == VARSKO_ERR_NOT_FOUND)
		return flow_refuse(j, r, NO_BLOB);
	if (r != VARSKO_OK)
		return r;
	/* Only a present member of the blob's thread, or who may see its underretning, learns that it exists. */
	if (b.thread[0] != '\0' && (r = blob_member(j, st, b.thread, c->who.user)) != VARSKO_OK)
		return r == VARSKO_ERR_NOT_FOUND ? flow_refuse(j, r, NO_BLOB) : r;
	if (b.thread[0] == '\0' && (r = blob_sees_underretning(j, st, c, &b)) != VARSKO_OK)
		return r;
	if (!b.complete)
		return flow_refuse(j, VARSKO_ERR_NOT_FOUND, "the attachment is not completely uploaded yet");
	if (offset < 0 || offset >= b.size)
		return flow_refuse(j, VARSKO_ERR_BAD_INPUT, "the offset is past the attachment's end");
	if ((buf = malloc(BLOB_PART_MAX)) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_blob_read(st, blob, offset, buf, BLOB_PART_MAX, &n)) != VARSKO_OK)
		goto out;
	cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((text = malloc(cap)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	sodium_bin2base64(text, cap, buf, n, sodium_base64_VARIANT_ORIGINAL);
	note(j, b.thread[0] ? b.thread : blob, " blob_get (%zu bytes from %lld)", n, (long long)offset);
	r = flow_answer(j, json_pack("{s:s, s:I, s:I, s:s}", "blob", blob, "size", (json_int_t)b.size, "offset",
	                             (json_int_t)offset, "data", text));
out:
	free(buf);
	free(text);
	return r;
}
