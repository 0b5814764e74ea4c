/*
 * chains.h: the chains of the key model as the store holds them, verified
 * from their roots (PROTOCOL.md 15, 16). The one place varskod turns stored
 * links into a verified state: flow_keys.c (the key model's requests),
 * flow_event.c (the notifier's user key for a kvittering or tilbagemelding)
 * flow_thread.c (consultation threads) and varskoctl's org commands all
 * read chains through it. Store library;
 * worker thread (or varskoctl).
 *
 * A stored chain that does not parse, skips a seq or does not verify was
 * changed behind varskod's back (varskod verifies every link before it
 * stores it): VARSKO_ERR_BAD_CHAIN.
 */
#ifndef VARSKO_CHAINS_H
#define VARSKO_CHAINS_H

#include <stddef.h>

#include <jansson.h>

#include <sodium.h>

#include "chain.h"
#include "keybox.h"
#include "store.h"

/* The stored links of one chain, in seq order: their texts, parsed only for a verification (chains.c). */
struct chain_rows {
	char **texts;             /* n of cap, each NUL-terminated */
	size_t *lens;             /* n of cap */
	struct chain_link *links; /* n, parsed: NULL until a verification needs them */
	size_t n, cap;
	json_t *arr; /* with want_json: the links as JSON objects */
	crypto_generichash_state hs; /* over every stored link's bytes: the verification memo's key (chains.c) */
};

struct userchain {
	struct chain_rows rows;
	struct chain_user_state state;
};

/* The org chain and its root; has_root 0 (and n 0) before `varskoctl org init`. */
struct orgchain {
	struct chain_rows rows;
	int has_root;
	uint8_t root_pk[PROTO_PK_LEN];
	struct chain_org_state state;
	uint8_t memo_key[crypto_generichash_BYTES]; /* of rows and root (chains.c's memo); zero without a root */
};

/* A team chain, verified against the org chain (org.state gives the admins). */
struct teamchain {
	struct chain_rows rows;
	struct orgchain org;
	struct chain_team_state state;
};

/*
 * Load user's chain into *uc (zeroed first; userchain_free() it in every
 * case) and verify it from its root into uc->state (a user without a chain:
 * n 0, state.generation 0). Else VARSKO_OK or the store's error.
 */
int userchain_load(struct store *st, const char *user, int want_json, struct userchain *uc);
void userchain_free(struct userchain *uc);

/* The device of the chain named id, or NULL. */
const struct chain_device *userchain_device(const struct userchain *uc, const char *id);

/* The key id of the user's current user key ("user:<id>:<generation>"); VARSKO_ERR_NOT_FOUND without one. */
int userchain_key_id(const struct userchain *uc, char out[KEYBOX_KEYID_MAX + 1]);

/* The org chain and its root, verified from the root (*oc zeroed first; orgchain_free() it in every case). */
int orgchain_load(struct store *st, int want_json, struct orgchain *oc);
void orgchain_free(struct orgchain *oc);

/* team's chain (none: n 0), verified against the org chain (loaded into tc->org). */
int teamchain_load(struct store *st, const char *team, int want_json, struct teamchain *tc);
void teamchain_free(struct teamchain *tc);

/* A thread chain (PROTOCOL.md 13, 17), verified from its root. */
struct threadchain {
	struct chain_rows rows;
	struct chain_thread_state state;
};

/*
 * Load thread's chain into *tc (zeroed first; threadchain_free() it in every
 * case) and verify it from its root, its id pinned (a thread without links:
 * n 0, state.head.seq 0). VARSKO_ERR_BAD_CHAIN when it does not verify.
 */
int threadchain_load(struct store *st, const char *thread, int want_json, struct threadchain *tc);
void threadchain_free(struct threadchain *tc);

/*
 * The members of a loaded team chain with the generation of each one's
 * current user key (by each member's verified user chain; 0 for none):
 * users[i] points into tc, i < tc->state.n_members.
 */
int teamchain_member_gens(struct store *st, const struct teamchain *tc, const char *users[CHAIN_MEMBERS_MAX],
                          uint64_t gens[CHAIN_MEMBERS_MAX]);

/* The newest stored key box set of an owner: generation 0 (json NULL) when there is none. */
struct keyset_newest {
	int64_t generation;
	char *json; /* owned (free()), NUL-terminated */
	size_t len;
};
int keyset_newest_load(struct store *st, const char *owner, struct keyset_newest *n);

/*
 * The team key an underretning for team is sealed to (PROTOCOL.md 16.7):
 * *has 0 when the team has no chain or no key set yet (it is then sealed to
 * the team's roster, 12.3); else 1 and key_id names the newest generation.
 * VARSKO_ERR_STALE_KEY when that generation is stale (16.6): nothing may be
 * sealed to it until a member makes the next; VARSKO_ERR_BAD_CHAIN for a
 * stored chain or set that does not verify or parse.
 */
int teamkey_expected(struct store *st, const char *team, int *has, char key_id[KEYBOX_KEYID_MAX + 1]);

#endif
