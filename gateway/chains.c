/* chains.c: the stored chains of the key model, verified from their roots (chains.h). */
#include "chains.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "memo.h"
#include "store_keys.h"

/*
 * The verification memo (memo.h). Every request verified its chains from
 * their roots again: each link's Ed25519 signature, for the org, team and
 * user chains a submission needs, about a third of varskod's CPU per
 * submission (issue 13). A chain's verification is a pure function of its
 * inputs (the kind, the chain id, the stored links' bytes, and the org root
 * or the org chain it builds on), so the state of one that succeeded is
 * kept under a digest of exactly those inputs. The links are still read and
 * parsed every time: a row changed in the database changes the digest, and
 * the chain is verified in full again (and refused when it does not verify).
 */

/* The memo key of rows cr of `kind` `chain` verified on top of `base` (a root key or an org digest). */
static void memo_key(struct chain_rows *cr, const uint8_t *base, size_t base_len, uint8_t key[crypto_generichash_BYTES])
{
	crypto_generichash_state hs = cr->hs;

	memo_key_add(&hs, base, base_len);
	memo_key_final(&hs, key);
}

/*
 * One stored link, in seq order: its text kept (parsed by rows_parse() only
 * when the memo does not know the chain: a parse of every link was the
 * largest cost left of a known chain) and as JSON when asked to.
 */
static int chain_row(int64_t seq, const char *json, size_t len, void *arg)
{
	struct chain_rows *cr = arg;

	if (cr->n == FLOW_CHAIN_LINKS_MAX || seq != (int64_t)cr->n + 1)
		return VARSKO_ERR_BAD_CHAIN;
	memo_key_add(&cr->hs, json, len);
	if (cr->n == cr->cap) {
		size_t cap = cr->cap ? cr->cap * 2 : 8;
		char **texts = realloc(cr->texts, cap * sizeof(*texts));
		size_t *lens;

		if (texts == NULL)
			return VARSKO_ERR_NOMEM;
		cr->texts = texts;
		if ((lens = realloc(cr->lens, cap * sizeof(*lens))) == NULL)
			return VARSKO_ERR_NOMEM;
		cr->lens = lens;
		cr->cap = cap;
	}
	if ((cr->texts[cr->n] = malloc(len + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(cr->texts[cr->n], json, len);
	cr->texts[cr->n][len] = '\0';
	cr->lens[cr->n] = len;
	cr->n++;
	if (cr->arr != NULL) {
		json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);

		if (o == NULL)
			return VARSKO_ERR_BAD_CHAIN;
		if (json_array_append_new(cr->arr, o) != 0)
			return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

/* cr's links parsed from their texts into cr->links for a verification; VARSKO_ERR_BAD_CHAIN if one does not parse. */
static int rows_parse(struct chain_rows *cr)
{
	if (cr->n == 0 || cr->links != NULL)
		return VARSKO_OK;
	if ((cr->links = calloc(cr->n, sizeof(*cr->links))) == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < cr->n; i++)
		if (chain_link_from_text(cr->texts[i], cr->lens[i], &cr->links[i]) != VARSKO_OK)
			return VARSKO_ERR_BAD_CHAIN;
	return VARSKO_OK;
}

/* The stored links of (kind, chain) into *cr (zeroed first; rows_free() it in every case). */
static int rows_load(struct store *st, const char *kind, const char *chain, int want_json, struct chain_rows *cr)
{
	memset(cr, 0, sizeof(*cr));
	memo_key_init(&cr->hs, "chain");
	memo_key_add(&cr->hs, kind, strlen(kind));
	memo_key_add(&cr->hs, chain, strlen(chain));
	if (want_json && (cr->arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	return store_chain_foreach(st, kind, chain, chain_row, cr);
}

static void rows_free(struct chain_rows *cr)
{
	for (size_t i = 0; i < cr->n; i++)
		free(cr->texts[i]);
	free(cr->texts);
	free(cr->lens);
	free(cr->links);
	json_decref(cr->arr);
	memset(cr, 0, sizeof(*cr));
}

int userchain_load(struct store *st, const char *user, int want_json, struct userchain *uc)
{
	uint8_t key[crypto_generichash_BYTES];
	size_t bad = 0;
	int r;

	memset(uc, 0, sizeof(*uc));
	if ((r = rows_load(st, "user", user, want_json, &uc->rows)) != VARSKO_OK)
		return r;
	memo_key(&uc->rows, NULL, 0, key);
	if (memo_get(key, &uc->state, sizeof(uc->state)))
		return VARSKO_OK;
	if ((r = rows_parse(&uc->rows)) != VARSKO_OK)
		return r;
	if (chain_user_verify(uc->rows.links, uc->rows.n, user, NULL, &uc->state, &bad) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	memo_put(key, &uc->state, sizeof(uc->state));
	return VARSKO_OK;
}

void userchain_free(struct userchain *uc)
{
	if (uc == NULL)
		return;
	rows_free(&uc->rows);
	memset(uc, 0, sizeof(*uc));
}

const struct chain_device *userchain_device(const struct userchain *uc, const char *id)
{
	for (size_t i = 0; i < uc->state.n_devices; i++) {
		if (strcmp(uc->state.devices[i].device, id) == 0)
			return &uc->state.devices[i];
	}
	return NULL;
}

int userchain_key_id(const struct userchain *uc, char out[KEYBOX_KEYID_MAX + 1])
{
	out[0] = '\0';
	if (uc->state.generation == 0)
		return VARSKO_ERR_NOT_FOUND;
	return keybox_user_key_id(out, uc->state.user, uc->state.generation);
}

int orgchain_load(struct store *st, int want_json, struct orgchain *oc)
{
	size_t bad = 0;
	int r;

	memset(oc, 0, sizeof(*oc));
	if ((r = rows_load(st, "org", STORE_ORG_CHAIN, want_json, &oc->rows)) != VARSKO_OK)
		return r;
	r = store_org_root_get(st, oc->root_pk);
	if (r == VARSKO_ERR_NOT_FOUND)
		return oc->rows.n == 0 ? VARSKO_OK : VARSKO_ERR_BAD_CHAIN; /* links without a root: an edit */
	if (r != VARSKO_OK)
		return r == VARSKO_ERR_DB ? VARSKO_ERR_BAD_CHAIN : r;
	oc->has_root = 1;
	memo_key(&oc->rows, oc->root_pk, PROTO_PK_LEN, oc->memo_key);
	if (memo_get(oc->memo_key, &oc->state, sizeof(oc->state)))
		return VARSKO_OK;
	if ((r = rows_parse(&oc->rows)) != VARSKO_OK)
		return r;
	if (chain_org_verify(oc->rows.links, oc->rows.n, oc->root_pk, &oc->state, &bad) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	memo_put(oc->memo_key, &oc->state, sizeof(oc->state));
	return VARSKO_OK;
}

void orgchain_free(struct orgchain *oc)
{
	if (oc == NULL)
		return;
	rows_free(&oc->rows);
	memset(oc, 0, sizeof(*oc));
}

int teamchain_load(struct store *st, const char *team, int want_json, struct teamchain *tc)
{
	uint8_t key[crypto_generichash_BYTES];
	size_t bad = 0;
	int r;

	memset(tc, 0, sizeof(*tc));
	if ((r = orgchain_load(st, 0, &tc->org)) != VARSKO_OK)
		return r;
	if ((r = rows_load(st, "team", team, want_json, &tc->rows)) != VARSKO_OK)
		return r;
	if (tc->rows.n > 0 && !tc->org.has_root)
		return VARSKO_ERR_BAD_CHAIN; /* a team chain needs an admin of the org chain */
	/* On top of the org chain as verified: its memo key (zero without a root) stands for its state. */
	memo_key(&tc->rows, tc->org.memo_key, sizeof(tc->org.memo_key), key);
	if (memo_get(key, &tc->state, sizeof(tc->state)))
		return VARSKO_OK;
	if ((r = rows_parse(&tc->rows)) != VARSKO_OK)
		return r;
	if (chain_team_verify(tc->rows.links, tc->rows.n, team, &tc->org.state, &tc->state, &bad) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	memo_put(key, &tc->state, sizeof(tc->state));
	return VARSKO_OK;
}

void teamchain_free(struct teamchain *tc)
{
	if (tc == NULL)
		return;
	rows_free(&tc->rows);
	orgchain_free(&tc->org);
	memset(tc, 0, sizeof(*tc));
}

int threadchain_load(struct store *st, const char *thread, int want_json, struct threadchain *tc)
{
	uint8_t key[crypto_generichash_BYTES];
	size_t bad = 0;
	int r;

	memset(tc, 0, sizeof(*tc));
	if ((r = rows_load(st, "thread", thread, want_json, &tc->rows)) != VARSKO_OK)
		return r;
	memo_key(&tc->rows, NULL, 0, key);
	if (memo_get(key, &tc->state, sizeof(tc->state)))
		return VARSKO_OK;
	if ((r = rows_parse(&tc->rows)) != VARSKO_OK)
		return r;
	if (chain_thread_verify(tc->rows.links, tc->rows.n, thread, &tc->state, &bad) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	memo_put(key, &tc->state, sizeof(tc->state));
	return VARSKO_OK;
}

void threadchain_free(struct threadchain *tc)
{
	if (tc == NULL)
		return;
	rows_free(&tc->rows);
	memset(tc, 0, sizeof(*tc));
}

int teamchain_member_gens(struct store *st, const struct teamchain *tc, const char *users[CHAIN_MEMBERS_MAX],
                          uint64_t gens[CHAIN_MEMBERS_MAX])
{
	struct userchain *uc;
	int r = VARSKO_OK;

	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return VARSKO_ERR_NOMEM;
	for (size_t i = 0; i < tc->state.n_members && r == VARSKO_OK; i++) {
		users[i] = tc->state.members[i].user;
		if ((r = userchain_load(st, users[i], 0, uc)) == VARSKO_OK)
			gens[i] = uc->state.generation;
		userchain_free(uc);
	}
	free(uc);
	return r;
}

static int newest_row(int64_t generation, const char *json, size_t len, void *arg)
{
	struct keyset_newest *n = arg;
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(copy, json, len);
	copy[len] = '\0';
	free(n->json);
	n->json = copy;
	n->len = len;
	n->generation = generation;
	return VARSKO_OK;
}

int keyset_newest_load(struct store *st, const char *owner, struct keyset_newest *n)
{
	memset(n, 0, sizeof(*n));
	return store_keyset_foreach(st, owner, newest_row, n);
}

int teamkey_expected(struct store *st, const char *team, int *has, char key_id[KEYBOX_KEYID_MAX + 1])
{
	const char *users[CHAIN_MEMBERS_MAX];
	uint64_t gens[CHAIN_MEMBERS_MAX];
	char owner[KEYBOX_OWNER_MAX + 1];
	struct keyset_newest n = {0, NULL, 0};
	struct teamchain *tc = NULL;
	struct keybox_set *set = NULL;
	int r;

	*has = 0;
	key_id[0] = '\0';
	if ((r = keybox_team_owner(owner, team)) != VARSKO_OK)
		return r;
	if ((tc = calloc(1, sizeof(*tc))) == NULL || (set = malloc(sizeof(*set))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = teamchain_load(st, team, 0, tc)) != VARSKO_OK || tc->state.head.seq == 0)
		goto out;
	if ((r = keyset_newest_load(st, owner, &n)) != VARSKO_OK || n.generation == 0)
		goto out;
	if (keybox_set_from_json(n.json, n.len, set) != VARSKO_OK || set->generation != (uint64_t)n.generation) {
		r = VARSKO_ERR_BAD_CHAIN;
		goto out;
	}
	if ((r = teamchain_member_gens(st, tc, users, gens)) != VARSKO_OK ||
	    (r = keybox_key_id(key_id, owner, set->generation)) != VARSKO_OK)
		goto out;
	*has = 1;
	if (keybox_team_fit(set, users, gens, tc->state.n_members) == KEYBOX_FIT_STALE)
		r = VARSKO_ERR_STALE_KEY;
out:
	free(n.json);
	free(set);
	teamchain_free(tc);
	free(tc);
	return r;
}
