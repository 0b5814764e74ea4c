/*
 * fuzz-keybox.c: keybox_set_from_json(), keybox_recovery_from_json() and
 * keybox_code_parse() on arbitrary bytes; keybox_key_id_split() and
 * keybox_team_fit() on every parsed set's recipients.
 *
 * Invariants: a refused object leaves its struct zeroed and answers with a
 * documented code; an accepted one writes JSON that parses to the same
 * struct and writes the same text again; verify and open answer only with
 * their documented codes. A recovery box is opened only when its limits are
 * the minimum ones (the code is the one of proto/vectors/keybox.json, so the
 * seed corpus reaches the success path); with limits outside the accepted
 * range the opener must refuse before any Argon2id work, and with other
 * limits in range nothing is opened, so the fuzzer never runs Argon2id with
 * big limits. A code that parses formats back to a text that parses to the
 * same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keybox.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t vector_code[KEYBOX_CODE_LEN] = {
        0xdc, 0x5c, 0xba, 0x05, 0x6a, 0xdb, 0x95, 0x0c, 0x01, 0x23, 0x8f, 0xd7, 0x12, 0x99, 0x0c, 0xdc,
};

static int parse_error(int rc)
{
	return rc == VARSKO_ERR_TOO_LARGE || rc == VARSKO_ERR_BAD_JSON || rc == VARSKO_ERR_DUPLICATE_KEY ||
	       rc == VARSKO_ERR_BAD_FRAME;
}

static void check_set(const uint8_t *data, size_t size)
{
	struct keybox_set *s = malloc(sizeof(*s)), *s2 = malloc(sizeof(*s2));
	struct keybox_gen *g = NULL;
	uint8_t pk[32], sk[32];
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	if (s == NULL || s2 == NULL)
		abort();
	rc = keybox_set_from_json((const char *)data, size, s);
	if (rc != VARSKO_OK) {
		if (!parse_error(rc) || !fuzz_all_zero(s, sizeof(*s)))
			abort();
		goto out;
	}
	if (keybox_set_to_json(s, &text, &len) != VARSKO_OK || strlen(text) != len ||
	    keybox_set_from_json(text, len, s2) != VARSKO_OK || memcmp(s, s2, sizeof(*s)) != 0 ||
	    keybox_set_to_json(s2, &text2, &len2) != VARSKO_OK || len2 != len || memcmp(text, text2, len) != 0)
		abort();
	if (s->n < 1 || s->n > KEYBOX_RECIPIENTS_MAX || s->has_prev != (s->generation > 1) ||
	    keybox_owner_kind(s->owner) == KEYBOX_NONE || !keybox_keyid_valid(s->boxes[0].recipient))
		abort();
	rc = keybox_set_verify(s, NULL);
	if (rc != VARSKO_OK && rc != VARSKO_ERR_BAD_SIGNATURE)
		abort();
	if (keybox_set_check_newer(s, s->generation) != VARSKO_ERR_STALE_KEY ||
	    keybox_set_check_newer(s, s->generation - 1) != VARSKO_OK)
		abort();
	/* A key pair from the set's own bytes: the box almost never opens, but the opener must say so properly. */
	crypto_generichash(sk, sizeof(sk), s->boxes[0].sealed, sizeof(s->boxes[0].sealed), NULL, 0);
	crypto_scalarmult_base(pk, sk);
	rc = keybox_set_open(s, s->boxes[0].recipient, pk, sk, &g);
	if ((rc == VARSKO_OK) != (g != NULL) || (rc != VARSKO_OK && rc != VARSKO_ERR_CRYPTO))
		abort();
	keybox_gen_free(g);
	g = (struct keybox_gen *)1;
	if (keybox_set_open(s, "device:not-in-any-set", pk, sk, &g) != VARSKO_ERR_NOT_FOUND || g != NULL)
		abort();
	/* Every recipient splits into an owner and generation, or is a device; the fit with its own owners is ok. */
	{
		const char *users[KEYBOX_RECIPIENTS_MAX];
		uint64_t gens[KEYBOX_RECIPIENTS_MAX];
		char owners[KEYBOX_RECIPIENTS_MAX][KEYBOX_OWNER_MAX + 1];
		size_t nu = 0;
		int all_users = 1;

		for (size_t i = 0; i < s->n; i++) {
			uint64_t gen = 0;

			rc = keybox_key_id_split(s->boxes[i].recipient, owners[i], &gen);
			if ((rc == VARSKO_OK) != (strncmp(s->boxes[i].recipient, "device:", 7) != 0))
				abort();
			if (rc != VARSKO_OK || keybox_owner_kind(owners[i]) != KEYBOX_USER) {
				all_users = 0;
				continue;
			}
			users[nu] = owners[i] + 5;
			gens[nu++] = gen;
		}
		if (all_users && nu == s->n) {
			enum keybox_fit fit = keybox_team_fit(s, users, gens, nu);

			/* The same user twice (two generations) makes one of them stale; else every member has its box. */
			if (fit != KEYBOX_FIT_OK && fit != KEYBOX_FIT_STALE)
				abort();
		}
	}
out:
	free(text);
	free(text2);
	free(s);
	free(s2);
}

static void check_recovery(const uint8_t *data, size_t size)
{
	struct keybox_recovery r, r2;
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX];
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0, n = 1;
	int rc, in_range;

	rc = keybox_recovery_from_json((const char *)data, size, &r);
	if (rc != VARSKO_OK) {
		if (!parse_error(rc) || !fuzz_all_zero(&r, sizeof(r)))
			abort();
		return;
	}
	if (keybox_recovery_to_json(&r, &text, &len) != VARSKO_OK || strlen(text) != len ||
	    keybox_recovery_from_json(text, len, &r2) != VARSKO_OK || r2.box_len != r.box_len ||
	    memcmp(r2.box, r.box, r.box_len) != 0 || strcmp(r.user, r2.user) != 0 ||
	    memcmp(r.salt, r2.salt, sizeof(r.salt)) != 0 || memcmp(r.nonce, r2.nonce, sizeof(r.nonce)) != 0 ||
	    r.opslimit != r2.opslimit || r.memlimit != r2.memlimit ||
	    keybox_recovery_to_json(&r2, &text2, &len2) != VARSKO_OK || len2 != len || memcmp(text, text2, len) != 0)
		abort();
	in_range = r.opslimit >= crypto_pwhash_OPSLIMIT_MIN && r.opslimit <= crypto_pwhash_OPSLIMIT_MODERATE &&
	           r.memlimit >= crypto_pwhash_MEMLIMIT_MIN && r.memlimit <= crypto_pwhash_MEMLIMIT_MODERATE;
	if (!in_range) {
		if (keybox_recovery_open(&r, vector_code, gens, KEYBOX_RECOVERY_GEN_MAX, &n) != VARSKO_ERR_BAD_INPUT ||
		    n != 0)
			abort();
	} else if (r.opslimit == crypto_pwhash_OPSLIMIT_MIN && r.memlimit == crypto_pwhash_MEMLIMIT_MIN) {
		rc = keybox_recovery_open(&r, vector_code, gens, KEYBOX_RECOVERY_GEN_MAX, &n);
		if (rc == VARSKO_OK) {
			if (n < 1 || n > KEYBOX_RECOVERY_GEN_MAX)
				abort();
			for (size_t i = 0; i < n; i++) {
				if (gens[i] == NULL || gens[i]->generation != i + 1 || gens[i]->kind != KEYBOX_USER)
					abort();
				keybox_gen_free(gens[i]);
			}
		} else if ((rc != VARSKO_ERR_CRYPTO && rc != VARSKO_ERR_NOMEM) || n != 0) {
			abort();
		}
	}
	free(text);
	free(text2);
	keybox_recovery_clear(&r);
	keybox_recovery_clear(&r2);
}

static void check_code(const uint8_t *data, size_t size)
{
	uint8_t code[KEYBOX_CODE_LEN], back[KEYBOX_CODE_LEN];
	char text[KEYBOX_CODE_TEXT_LEN + 1];
	int rc = keybox_code_parse((const char *)data, size, code);

	if (rc != VARSKO_OK) {
		if (rc != VARSKO_ERR_BAD_INPUT || !fuzz_all_zero(code, sizeof(code)))
			abort();
		return;
	}
	keybox_code_format(code, text);
	if (strlen(text) != KEYBOX_CODE_TEXT_LEN || keybox_code_parse(text, strlen(text), back) != VARSKO_OK ||
	    memcmp(code, back, sizeof(code)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sodium_init() < 0)
		abort();
	check_set(data, size);
	check_recovery(data, size);
	check_code(data, size);
	if (size >= 4 * 32) {
		char code[KEYBOX_APPROVAL_DIGITS + 1];

		if (keybox_approval_code(code, data, data + 32, data + 64, data + 96) != VARSKO_OK ||
		    strlen(code) != KEYBOX_APPROVAL_DIGITS || keybox_approval_equal(code, code) != VARSKO_OK)
			abort();
	}
	return 0;
}
