/*
 * store_keys.h: the key model's objects in the store (PROTOCOL.md 15): the
 * links of user chains, the key box sets of user keys and the recovery
 * boxes. The store keeps their JSON texts as they were accepted; it checks
 * nothing about them (flow_keys.c verifies before it writes, and again on
 * every read, so an edited row is found). Same rules as store.h: one
 * connection, prepared statements, BEGIN IMMEDIATE for writes (joining the
 * caller's transaction when one is open), VARSKO_OK or a negative
 * VARSKO_ERR_*. Every write is audited with the actor (a device id or
 * "varskoctl").
 */
#ifndef VARSKO_STORE_KEYS_H
#define VARSKO_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_RECOVERY_TRIES 10 /* fetches of a recovery box before it locks (PROTOCOL.md 15.5) */

/* A stored text: its row's number (seq or generation) and its JSON. */
typedef int (*store_text_fn)(int64_t num, const char *json, size_t len, void *arg);

/* Every link of chain (kind "user") in seq order through fn; stops at fn's first error. */
int store_chain_foreach(struct store *s, const char *kind, const char *chain, store_text_fn fn, void *arg);

/*
 * Append link seq (its JSON text) to the chain; audited "chain_append" with
 * the op's name. VARSKO_ERR_EXISTS when that seq is taken (two appends
 * raced: the caller re-reads and refuses). A device_add also resets the
 * user's recovery tries.
 */
int store_chain_add(struct store *s, const char *kind, const char *chain, int64_t seq, const char *op, const char *json,
                    int64_t now, const char *actor);

#define STORE_ORG_CHAIN    "org"          /* the chain id of the org chain (PROTOCOL.md 16.3) */
#define STORE_META_ORG_ROOT "org_root_pk" /* meta key: the organisation root key, base64 */

/* VARSKO_OK when the municipality has team, VARSKO_ERR_NOT_FOUND when not. */
int store_team_exists(struct store *s, const char *team);

/* The organisation root key (PROTOCOL.md 16.1); VARSKO_ERR_NOT_FOUND before `varskoctl org init`. */
int store_org_root_get(struct store *s, uint8_t pk[PROTO_PK_LEN]);

/*
 * Start the org chain, in one transaction: the root key and links[0..n)
 * (JSON texts, seq 1..n, verified by the caller); audited "org_init".
 * VARSKO_ERR_EXISTS when the organisation has a root already.
 */
int store_org_init(struct store *s, const uint8_t root_pk[PROTO_PK_LEN], const char *const *links, size_t n,
                   int64_t now, const char *actor);

/* Every key box set of owner ("user:<id>") in generation order through fn. */
int store_keyset_foreach(struct store *s, const char *owner, store_text_fn fn, void *arg);

/* Store (or replace) the set of owner's generation; audited "keys_put". */
int store_keyset_put(struct store *s, const char *owner, int64_t generation, const char *json, int64_t now,
                     const char *actor);

/* Store (or replace) user's recovery box and set its tries to 0; audited "recovery_put". */
int store_recovery_put(struct store *s, const char *user, const char *json, int64_t now, const char *actor);

/*
 * One try at user's recovery box: VARSKO_ERR_NOT_FOUND when there is none,
 * VARSKO_ERR_RECOVERY_LOCKED (audited "recovery_locked", committed) after
 * STORE_RECOVERY_TRIES tries since the last reset; else the tries grow by
 * one (audited "recovery_get"), *json (owned, free()) is the box and *tries
 * the count with this one.
 */
int store_recovery_take(struct store *s, const char *user, int64_t now, const char *actor, char **json, size_t *len,
                        int64_t *tries);

/* Set user's tries to 0 (audited "recovery_unlock"); VARSKO_ERR_NOT_FOUND when the user has no box. */
int store_recovery_unlock(struct store *s, const char *user, int64_t now, const char *actor);

/* ---- approvals (PROTOCOL.md 15.7) ---- */

#define STORE_APPROVAL_ID_LEN 18  /* "a-" + 16 hex digits */
#define STORE_APPROVAL_TTL    600 /* seconds an approval lives */

struct store_approval {
	char id[STORE_APPROVAL_ID_LEN + 1];
	char user[PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1]; /* the new device */
	uint8_t commit[32];
	int64_t created_at, expires_at;
	char old_device[PROTO_ID_MAX + 1]; /* "" before the offer */
	int has_nonce_old, has_nonce_new;
	uint8_t nonce_old[32], nonce_new[32];
};

/*
 * Store a new approval (a fresh id in a->id; created and expires set from
 * now), dropping the device's earlier one and every expired approval;
 * audited "approve_request".
 */
int store_approval_new(struct store *s, struct store_approval *a, int64_t now, const char *actor);
/* An open (not expired) approval by id: VARSKO_ERR_NOT_FOUND when none. */
int store_approval_get(struct store *s, const char *id, int64_t now, struct store_approval *out);
/* Every open approval of user, oldest first. */
int store_approval_foreach(struct store *s, const char *user, int64_t now,
                           int (*fn)(const struct store_approval *a, void *arg), void *arg);
/* Record the offer (old device and its nonce); VARSKO_ERR_EXISTS when offered already. Audited "approve_offer". */
int store_approval_offer(struct store *s, const char *id, const char *old_device, const uint8_t nonce[32], int64_t now);
/* The device was added to its user's chain: its approval is done (gone). VARSKO_OK whether or not it had one. */
int store_approval_done(struct store *s, const char *device);
/* Record the reveal; VARSKO_ERR_EXISTS when revealed already. Audited "approve_reveal". */
int store_approval_reveal(struct store *s, const char *id, const uint8_t nonce[32], int64_t now, const char *actor);

#endif
