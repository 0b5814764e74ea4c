/*
 * userchain.h: a user's chain as the store holds it, verified from its root
 * (PROTOCOL.md 15). The one place varskod turns stored links into a
 * verified state: flow_keys.c (the key model's requests) and flow_event.c
 * (the notifier's user key for a kvittering or tilbagemelding) both read
 * chains through it. Store library; worker thread.
 */
#ifndef VARSKO_USERCHAIN_H
#define VARSKO_USERCHAIN_H

#include <stddef.h>

#include <jansson.h>

#include "chain.h"
#include "keybox.h"
#include "store.h"

struct userchain {
	struct chain_link *links; /* n of cap, in seq order */
	size_t n, cap;
	json_t *arr; /* with want_json: the links as JSON objects */
	struct chain_user_state state;
};

/*
 * Load user's chain into *uc (zeroed first; userchain_free() it in every
 * case) and verify it from its root into uc->state (a user without a chain:
 * n 0, state.generation 0). A stored chain that does not parse, skips a seq
 * or does not verify was changed behind varskod's back:
 * VARSKO_ERR_BAD_CHAIN. Else VARSKO_OK or the store's error.
 */
int userchain_load(struct store *st, const char *user, int want_json, struct userchain *uc);
void userchain_free(struct userchain *uc);

/* The device of the chain named id, or NULL. */
const struct chain_device *userchain_device(const struct userchain *uc, const char *id);

/* The key id of the user's current user key ("user:<id>:<generation>"); VARSKO_ERR_NOT_FOUND without one. */
int userchain_key_id(const struct userchain *uc, char out[KEYBOX_KEYID_MAX + 1]);

#endif
