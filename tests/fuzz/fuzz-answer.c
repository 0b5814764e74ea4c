/*
 * fuzz-answer.c: what libvarsko checks in varskod's answers before it
 * relies on them (clients/lib; a server may lie): receipt_verify_text() on
 * the bytes as a receipt (receipt.c), and, when the bytes are a JSON
 * object, roster_check() on it (or on its "roster") for the team its
 * "team" names (submit.c), and userkey_chain_check() on its "links" and
 * "certs" for its "user" (userkey.c). The organisation key, the gateway
 * certificate and "now" are those of proto/vectors/flow.json, so a seed
 * made of its receipt or roster verifies.
 *
 * Invariants: each answers only with its documented codes and, when it
 * refuses, a detail; an accepted receipt writes back (receipt_json_text)
 * to a text that verifies to the same struct; an accepted roster is for
 * the team asked about; a refused user chain leaves the struct zeroed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t org_pk[PROTO_PK_LEN] = {
        0xfc, 0xe1, 0xae, 0x06, 0xa1, 0x67, 0xc7, 0xe0, 0x33, 0x17, 0xa1, 0xd4, 0xb6, 0x4d, 0x96, 0xf2,
        0x1b, 0x2a, 0x11, 0x2e, 0x50, 0x42, 0x30, 0x4d, 0xc3, 0xac, 0x43, 0xa3, 0x28, 0xcd, 0x40, 0x6c,
};
static const int64_t now = 1795424400; /* 2026-11-23T09:00:00Z */
static const char gateway_cert[] =
        "{\"box_pk\":\"PV2GJjz/zvJpQ1IA2rhwhscmVJP2+ZIY4NvZmJLNnTU=\",\"device\":\"d-a4d4ae1f62157631\","
        "\"institutions\":[],\"name\":\"Varsko gateway\",\"not_after\":\"2027-01-01T00:00:00Z\","
        "\"not_before\":\"2026-01-01T00:00:00Z\",\"role\":\"gateway\",\"serial\":1,"
        "\"sig\":\"eto5WMUy1p5De+KpWjV0SHPkAeS1aTqSGuriJbgKIDIQPGtH9/hOUTLhFaaTv9IDufTnjfehSUFneVnBbompAw==\","
        "\"sign_pk\":\"FkNzxcmc3VK/JA15WeWVcm1tzsEgyCO+jgr+0uuXyLY=\",\"team\":\"\",\"user\":\"varskod\",\"version\":1}";

static void check_receipt(const uint8_t *data, size_t size, const struct proto_cert *gw)
{
	struct flow_receipt *rc = malloc(sizeof(*rc)), *rc2 = malloc(sizeof(*rc2));
	char detail[256] = "", *text = NULL;
	int r;

	if (rc == NULL || rc2 == NULL)
		abort();
	r = receipt_verify_text((const char *)data, size, gw, org_pk, rc, detail, sizeof detail);
	if (r == VARSKO_OK) {
		if (receipt_json_text(rc, &text) != VARSKO_OK ||
		    receipt_verify_text(text, strlen(text), gw, org_pk, rc2, detail, sizeof detail) != VARSKO_OK ||
		    memcmp(rc, rc2, sizeof(*rc)) != 0)
			abort();
		free(text);
	} else if ((r != VARSKO_ERR_BAD_JSON && r != VARSKO_ERR_DUPLICATE_KEY && r != VARSKO_ERR_BAD_FRAME &&
	            r != VARSKO_ERR_BAD_CERT && r != VARSKO_ERR_BAD_SIGNATURE) ||
	           detail[0] == '\0') {
		abort();
	}
	free(rc);
	free(rc2);
}

static void check_roster(const json_t *o)
{
	const json_t *ro = json_object_get(o, "roster") != NULL ? json_object_get(o, "roster") : o;
	const char *team = json_string_value(json_object_get(ro, "team"));
	struct flow_roster *out = malloc(sizeof(*out));
	char detail[256] = "";
	int r;

	if (out == NULL)
		abort();
	r = roster_check(ro, team != NULL ? team : "team-vest", org_pk, now, out, detail, sizeof detail);
	if (r == VARSKO_OK) {
		if (team == NULL || strcmp(out->team, team) != 0)
			abort();
	} else if ((r != VARSKO_ERR_BAD_FRAME && r != VARSKO_ERR_BAD_CERT && r != VARSKO_ERR_BAD_SIGNATURE &&
	            r != VARSKO_ERR_TOO_LARGE) ||
	           detail[0] == '\0') {
		abort();
	}
	free(out);
}

static void check_user_chain(const json_t *o)
{
	const char *user = json_string_value(json_object_get(o, "user"));
	struct userkey_chain *uc = malloc(sizeof(*uc));
	char detail[256] = "";
	int r;

	if (uc == NULL)
		abort();
	r = userkey_chain_check(json_object_get(o, "links"), json_object_get(o, "certs"), user != NULL ? user : "u-1001",
	                        org_pk, now, uc, detail, sizeof detail);
	if (r != VARSKO_OK && (detail[0] == '\0' || !fuzz_all_zero(uc, sizeof(*uc))))
		abort();
	if (r == VARSKO_OK && uc->n_links > FLOW_CHAIN_LINKS_MAX)
		abort();
	free(uc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_cert gw;
	static int have_gw;
	json_t *o;

	if (!have_gw) {
		if (proto_cert_from_json(gateway_cert, strlen(gateway_cert), &gw) != VARSKO_OK)
			abort();
		have_gw = 1;
	}
	check_receipt(data, size, &gw);
	if ((o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	if (json_is_object(o)) {
		check_roster(o);
		check_user_chain(o);
	}
	json_decref(o);
	return 0;
}
