/*
 * fuzz-chain.c: chain links (proto/chain.c) from arbitrary bytes. The input
 * is split at newlines into up to CHAIN_FUZZ_LINES link texts; each is
 * decoded, and one that decodes is encoded again and compared, hashed, and
 * offered to an org, a user, a team and a thread state that grow as the
 * lines extend them (the team and user states with the org state built so
 * far, so a seed made of the vectors' org chain followed by a team chain
 * reaches the success paths of every op; a thread chain needs no org).
 *
 * Invariants: a refused text leaves the link zeroed; an accepted one
 * encodes to a text that decodes to the same struct and encodes to the
 * same text; extend answers only with its documented codes, leaves the
 * state byte for byte unchanged when it refuses, and on success moves the
 * head to the link's seq and hash. The root key is the one of
 * proto/vectors/chain.json.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "fuzz.h"

#define CHAIN_FUZZ_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t root_pk[32] = {
        0x7e, 0x05, 0xec, 0x43, 0xee, 0x6c, 0x8a, 0x83, 0xf3, 0xaf, 0x7b, 0x78, 0x6a, 0x17, 0x9a, 0x8f,
        0x5a, 0x8d, 0xea, 0x72, 0x67, 0xe5, 0x2f, 0x3c, 0xb4, 0xd7, 0x02, 0xa9, 0x15, 0xd7, 0x3c, 0xc0,
};

static int documented(int r)
{
	return r == VARSKO_OK || r == VARSKO_ERR_BAD_CHAIN || r == VARSKO_ERR_BAD_SIGNATURE ||
	       r == VARSKO_ERR_FORBIDDEN || r == VARSKO_ERR_NOT_MEMBER || r == VARSKO_ERR_DEVICE_REVOKED ||
	       r == VARSKO_ERR_TOO_LARGE;
}

/* After an extend of a state of `size` bytes at s (a copy of it before at old) with head h. */
static void check_extend(int r, const void *s, const void *old, size_t size, const struct chain_head *h,
                         const struct chain_link *l, const uint8_t hash[32])
{
	if (!documented(r))
		abort();
	if (r != VARSKO_OK) {
		if (memcmp(s, old, size) != 0)
			abort();
		return;
	}
	if (h->seq != l->seq || memcmp(h->hash, hash, 32) != 0)
		abort();
}

static void one_link(const uint8_t *p, size_t n, struct chain_org_state *org, struct chain_user_state *user,
                     struct chain_team_state *team, struct chain_thread_state *thread, void *old)
{
	struct chain_link l, l2;
	uint8_t hash[32];
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	int r;

	if (chain_link_from_text((const char *)p, n, &l) != VARSKO_OK) {
		if (!fuzz_all_zero(&l, sizeof(l)))
			abort();
		return;
	}
	if (!chain_link_well_formed(&l) || chain_op_kind(l.op) != l.kind)
		abort();
	if (chain_link_to_text(&l, &text, &len) != VARSKO_OK || chain_link_from_text(text, len, &l2) != VARSKO_OK ||
	    memcmp(&l, &l2, sizeof(l)) != 0 || chain_link_to_text(&l2, &text2, &len2) != VARSKO_OK || len != len2 ||
	    memcmp(text, text2, len) != 0)
		abort();
	free(text);
	free(text2);
	if (chain_link_hash(&l, hash) != VARSKO_OK)
		abort();

	memcpy(old, org, sizeof(*org));
	r = chain_org_extend(org, &l, root_pk);
	check_extend(r, org, old, sizeof(*org), &org->head, &l, hash);
	if (r == VARSKO_OK && l.kind != CHAIN_KIND_ORG)
		abort();

	memcpy(old, user, sizeof(*user));
	r = chain_user_extend(user, &l, org);
	check_extend(r, user, old, sizeof(*user), &user->head, &l, hash);
	if (r == VARSKO_OK && (l.kind != CHAIN_KIND_USER || user->generation < 1 || user->n_devices < 1))
		abort();

	memcpy(old, team, sizeof(*team));
	r = chain_team_extend(team, &l, org);
	check_extend(r, team, old, sizeof(*team), &team->head, &l, hash);
	if (r == VARSKO_OK && (l.kind != CHAIN_KIND_TEAM || team->n_members < 1))
		abort();

	memcpy(old, thread, sizeof(*thread));
	r = chain_thread_extend(thread, &l);
	check_extend(r, thread, old, sizeof(*thread), &thread->head, &l, hash);
	if (r == VARSKO_OK && (l.kind != CHAIN_KIND_THREAD || thread->n_members < 1 || thread->creator[0] == '\0' ||
	                       chain_thread_member(thread, l.user) == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chain_org_state *org = calloc(1, sizeof(*org));
	struct chain_user_state *user = calloc(1, sizeof(*user));
	struct chain_team_state *team = calloc(1, sizeof(*team));
	struct chain_thread_state *thread = calloc(1, sizeof(*thread));
	size_t big = sizeof(*org) > sizeof(*user) ? sizeof(*org) : sizeof(*user);
	void *old;
	size_t start = 0;

	big = big > sizeof(*team) ? big : sizeof(*team);
	big = big > sizeof(*thread) ? big : sizeof(*thread);
	old = malloc(big);
	if (org == NULL || user == NULL || team == NULL || thread == NULL || old == NULL)
		abort();
	for (int lines = 0; start <= size && lines < CHAIN_FUZZ_LINES; lines++) {
		const uint8_t *nl = size > start ? memchr(data + start, '\n', size - start) : NULL;
		size_t end = nl != NULL ? (size_t)(nl - data) : size;

		one_link(data + start, end - start, org, user, team, thread, old);
		start = end + 1;
	}
	free(org);
	free(user);
	free(team);
	free(thread);
	free(old);
	return 0;
}
