/* userchain.c: a stored user chain, verified from its root (userchain.h). */
#include "userchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "store_keys.h"

/* One stored link: parsed, in seq order, and kept as JSON when asked to. */
static int chain_row(int64_t seq, const char *json, size_t len, void *arg)
{
	struct userchain *uc = arg;
	struct chain_link *grown;

	if (uc->n == FLOW_CHAIN_LINKS_MAX || seq != (int64_t)uc->n + 1)
		return VARSKO_ERR_BAD_CHAIN;
	if (uc->n == uc->cap) {
		size_t cap = uc->cap ? uc->cap * 2 : 8;

		if ((grown = realloc(uc->links, cap * sizeof(*grown))) == NULL)
			return VARSKO_ERR_NOMEM;
		uc->links = grown;
		uc->cap = cap;
	}
	if (chain_link_from_text(json, len, &uc->links[uc->n]) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	if (uc->arr != NULL) {
		json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);

		if (o == NULL)
			return VARSKO_ERR_BAD_CHAIN;
		if (json_array_append_new(uc->arr, o) != 0)
			return VARSKO_ERR_NOMEM;
	}
	uc->n++;
	return VARSKO_OK;
}

int userchain_load(struct store *st, const char *user, int want_json, struct userchain *uc)
{
	size_t bad = 0;
	int r;

	memset(uc, 0, sizeof(*uc));
	if (want_json && (uc->arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_chain_foreach(st, "user", user, chain_row, uc)) != VARSKO_OK)
		return r;
	if (chain_user_verify(uc->links, uc->n, user, NULL, &uc->state, &bad) != VARSKO_OK)
		return VARSKO_ERR_BAD_CHAIN;
	return VARSKO_OK;
}

void userchain_free(struct userchain *uc)
{
	if (uc == NULL)
		return;
	free(uc->links);
	json_decref(uc->arr);
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
