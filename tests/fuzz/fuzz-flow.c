/*
 * fuzz-flow.c: flow_frame_parse() and flow_mqtt_parse() on arbitrary bytes,
 * then the from_json of every nested object they carry (roster, receipt,
 * event, certificates, envelope, routing header), and the same from_json
 * functions on the input itself when it is a JSON object.
 *
 * Invariants: a refused frame gives no object, FLOW_T_NONE and a detail; an
 * accepted one dumps to a canonical text that parses again to the same type
 * and the same text; a nested object that parses writes back to JSON that
 * parses to the same struct; a refused one leaves its struct zeroed; verify
 * answers only with its documented codes. The organisation key is the one
 * of proto/vectors/flow.json, so the seed corpus reaches the success paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain.h"
#include "flow.h"
#include "keybox.h"
#include "thread.h"
#include "underretning.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t org_pk[32] = {
        0xfc, 0xe1, 0xae, 0x06, 0xa1, 0x67, 0xc7, 0xe0, 0x33, 0x17, 0xa1, 0xd4, 0xb6, 0x4d, 0x96, 0xf2,
        0x1b, 0x2a, 0x11, 0x2e, 0x50, 0x42, 0x30, 0x4d, 0xc3, 0xac, 0x43, 0xa3, 0x28, 0xcd, 0x40, 0x6c,
};
static const int64_t now = 1795424400; /* 2026-11-23T09:00:00Z, the "now" of flow.json */

static void check_roster(const json_t *j)
{
	struct flow_roster *r = malloc(sizeof(*r)), *r2 = malloc(sizeof(*r2));
	json_t *o = NULL;
	const char *detail = NULL;
	int rc;

	if (r == NULL || r2 == NULL)
		abort();
	if (flow_roster_from_json(j, r) != VARSKO_OK) {
		if (!fuzz_all_zero(r, sizeof(*r)))
			abort();
		goto out;
	}
	if (flow_roster_to_json(r, &o) != VARSKO_OK || flow_roster_from_json(o, r2) != VARSKO_OK ||
	    memcmp(r, r2, sizeof(*r)) != 0)
		abort();
	rc = flow_roster_verify(r, org_pk, now, &detail);
	if (detail == NULL || (rc != VARSKO_OK && rc != VARSKO_ERR_BAD_SIGNATURE && rc != VARSKO_ERR_BAD_CERT &&
	                       rc != VARSKO_ERR_DEVICE_EXPIRED))
		abort();
out:
	json_decref(o);
	free(r);
	free(r2);
}

/* A certificate object; *c gets it (zeroed when it does not parse). */
static int check_cert(const json_t *j, struct proto_cert *c)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), *s2 = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		return VARSKO_ERR_NOMEM;
	rc = proto_cert_from_json(s, strlen(s), c);
	if (rc == VARSKO_OK) {
		if (proto_cert_to_json(c, &s2) != VARSKO_OK || strcmp(s, s2) != 0)
			abort();
		rc = proto_cert_verify(c, org_pk, now);
		if (rc != VARSKO_OK && rc != VARSKO_ERR_BAD_CERT && rc != VARSKO_ERR_DEVICE_EXPIRED)
			abort();
		rc = VARSKO_OK;
	}
	free(s);
	free(s2);
	return rc;
}

static void check_receipt(const json_t *j, const json_t *gateway_cert)
{
	struct flow_receipt r, r2;
	struct proto_cert c;
	json_t *o = NULL;
	int rc;

	if (flow_receipt_from_json(j, &r) != VARSKO_OK) {
		if (!fuzz_all_zero(&r, sizeof(r)))
			abort();
		return;
	}
	if (flow_receipt_to_json(&r, &o) != VARSKO_OK || flow_receipt_from_json(o, &r2) != VARSKO_OK ||
	    memcmp(&r, &r2, sizeof(r)) != 0)
		abort();
	json_decref(o);
	if (!flow_reference_valid(r.reference))
		abort();
	if (gateway_cert != NULL && check_cert(gateway_cert, &c) == VARSKO_OK) {
		rc = flow_receipt_verify(&r, &c, org_pk, r.received);
		if (rc != VARSKO_OK && rc != VARSKO_ERR_BAD_CERT && rc != VARSKO_ERR_BAD_SIGNATURE)
			abort();
	}
}

static void check_event(const json_t *j, const json_t *cert)
{
	struct flow_event e, e2;
	struct proto_cert c;
	json_t *o = NULL;
	int rc;

	if (flow_event_from_json(j, &e) != VARSKO_OK) {
		if (!fuzz_all_zero(&e, sizeof(e)))
			abort();
		return;
	}
	if (flow_event_to_json(&e, &o) != VARSKO_OK || flow_event_from_json(o, &e2) != VARSKO_OK ||
	    memcmp(&e, &e2, sizeof(e)) != 0)
		abort();
	json_decref(o);
	if (flow_event_kind_name(e.kind) == NULL || e.has_envelope != flow_event_needs_envelope(e.kind))
		abort();
	if (cert != NULL && check_cert(cert, &c) == VARSKO_OK) {
		rc = flow_event_verify(&e, c.sign_pk);
		if (rc != VARSKO_OK && rc != VARSKO_ERR_BAD_SIGNATURE)
			abort();
	}
}

static void check_envelope(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	struct env_envelope *e = NULL;
	uint8_t h[32];

	if (s == NULL)
		return;
	if (env_from_json(s, strlen(s), &e) == VARSKO_OK) {
		if (flow_envelope_hash(h, e) != VARSKO_OK)
			abort();
	} else if (e != NULL) {
		abort();
	}
	env_free(e);
	free(s);
}

static void check_header(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	struct uh_header h;

	if (s == NULL)
		return;
	/* A refused header leaves its struct zeroed. */
	if (uh_header_from_json(s, strlen(s), &h) != VARSKO_OK && !fuzz_all_zero(&h, sizeof(h)))
		abort();
	free(s);
}

/* A chain link (chain_append, chain): parsed as varskod parses it; a parsed one writes back and parses the same. */
static void check_link(const json_t *j)
{
	struct chain_link *l = malloc(sizeof(*l)), *l2 = malloc(sizeof(*l2));
	json_t *o = NULL;

	if (l == NULL || l2 == NULL)
		abort();
	if (chain_link_from_json(j, l) == VARSKO_OK &&
	    (chain_link_to_json(l, &o) != VARSKO_OK || chain_link_from_json(o, l2) != VARSKO_OK ||
	     memcmp(l, l2, sizeof(*l)) != 0))
		abort();
	json_decref(o);
	free(l);
	free(l2);
}

/* A key box set or a recovery box (keys_put, keys, recovery_put, recovery), as varskod reads them: from text. */
static void check_box(const json_t *j, int set)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), *s2 = NULL;
	size_t n = 0;

	if (s == NULL)
		return;
	if (set) {
		struct keybox_set *k = malloc(sizeof(*k));

		if (k == NULL)
			abort();
		if (keybox_set_from_json(s, strlen(s), k) == VARSKO_OK &&
		    (keybox_set_to_json(k, &s2, &n) != VARSKO_OK || strcmp(s, s2) != 0))
			abort();
		free(k);
	} else {
		struct keybox_recovery r;

		if (keybox_recovery_from_json(s, strlen(s), &r) == VARSKO_OK &&
		    (keybox_recovery_to_json(&r, &s2, &n) != VARSKO_OK || strcmp(s, s2) != 0))
			abort();
		keybox_recovery_clear(&r);
	}
	free(s2);
	free(s);
}

/* A read mark (thread_mark, messages): a parsed one writes back and parses the same; a refused one is zeroed. */
static void check_mark(const json_t *j)
{
	struct thread_mark m, m2;
	json_t *o = NULL;

	if (thread_mark_from_json(j, &m) != VARSKO_OK) {
		if (!fuzz_all_zero(&m, sizeof(m)))
			abort();
		return;
	}
	if (thread_mark_to_json(&m, &o) != VARSKO_OK || thread_mark_from_json(o, &m2) != VARSKO_OK ||
	    memcmp(&m, &m2, sizeof(m)) != 0)
		abort();
	json_decref(o);
}

/* The nested objects of an accepted frame or payload, by their key. */
static void check_nested(const json_t *o)
{
	const json_t *v, *arr;
	struct proto_cert c;

	if ((v = json_object_get(o, "roster")) != NULL)
		check_roster(v);
	if ((v = json_object_get(o, "receipt")) != NULL)
		check_receipt(v, json_object_get(o, "gateway_cert"));
	if ((v = json_object_get(o, "event")) != NULL)
		check_event(v, json_object_get(o, "cert"));
	if ((v = json_object_get(o, "envelope")) != NULL)
		check_envelope(v);
	if ((v = json_object_get(o, "header")) != NULL)
		check_header(v);
	if ((v = json_object_get(o, "sender_cert")) != NULL)
		(void)check_cert(v, &c);
	if ((arr = json_object_get(o, "certs")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			(void)check_cert(json_array_get(arr, i), &c);
	if ((arr = json_object_get(o, "events")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			check_nested(json_array_get(arr, i));
	if ((v = json_object_get(o, "link")) != NULL)
		check_link(v);
	if ((arr = json_object_get(o, "links")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			check_link(json_array_get(arr, i));
	if ((v = json_object_get(o, "set")) != NULL)
		check_box(v, 1);
	if ((arr = json_object_get(o, "sets")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			check_box(json_array_get(arr, i), 1);
	if ((v = json_object_get(o, "box")) != NULL)
		check_box(v, 0);
	if ((v = json_object_get(o, "cert")) != NULL && json_object_get(o, "approval") != NULL)
		(void)check_cert(v, &c);
	if ((v = json_object_get(o, "mark")) != NULL)
		check_mark(v);
	if ((arr = json_object_get(o, "marks")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			check_mark(json_array_get(arr, i));
	if ((arr = json_object_get(o, "messages")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			check_nested(json_array_get(arr, i));
	if ((v = json_object_get(o, "cert")) != NULL && json_object_get(o, "mark") != NULL)
		(void)check_cert(v, &c);
	if ((arr = json_object_get(o, "items")) != NULL)
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (json_object_get(json_array_get(arr, i), "approval") != NULL)
				check_nested(json_array_get(arr, i));
}

static void check_dump(json_t *o, enum flow_type t, int mqtt)
{
	char *s = NULL, *s2 = NULL;
	size_t n, n2;
	json_t *o2 = NULL;
	enum flow_type t2;

	if (flow_frame_dump(o, &s, &n) != VARSKO_OK || s == NULL || strlen(s) != n)
		abort();
	if ((mqtt ? flow_mqtt_parse(s, n, &o2, &t2, NULL) : flow_frame_parse(s, n, &o2, &t2, NULL, NULL)) !=
	            VARSKO_OK ||
	    t2 != t)
		abort();
	if (flow_frame_dump(o2, &s2, &n2) != VARSKO_OK || n2 != n || memcmp(s, s2, n) != 0)
		abort();
	json_decref(o2);
	free(s);
	free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[PROTO_ID_MAX + 1];
	const char *detail = NULL;
	json_t *o = (json_t *)1, *raw;
	enum flow_type t = FLOW_T_ROUTE;
	int r;

	r = flow_frame_parse((const char *)data, size, &o, &t, id, &detail);
	if (memchr(id, '\0', sizeof(id)) == NULL || detail == NULL)
		abort();
	if (r == VARSKO_OK) {
		if (o == NULL || t <= FLOW_T_NONE || t >= FLOW_T_COUNT_ || detail[0] != '\0')
			abort();
		check_dump(o, t, 0);
		check_nested(o);
		json_decref(o);
	} else if (o != NULL || t != FLOW_T_NONE || detail[0] == '\0') {
		abort();
	}

	o = (json_t *)1;
	t = FLOW_T_ROUTE;
	r = flow_mqtt_parse((const char *)data, size, &o, &t, &detail);
	if (r == VARSKO_OK) {
		if (o == NULL || (t != FLOW_T_UNDERRETNING && t != FLOW_T_EVENT && t != FLOW_T_FRIST && t != FLOW_T_ALERT))
			abort();
		check_dump(o, t, 1);
		check_nested(o);
		json_decref(o);
	} else if (o != NULL || t != FLOW_T_NONE) {
		abort();
	}

	/* The input itself as a roster, a receipt or an event. */
	if (size <= FLOW_FRAME_MAX &&
	    (raw = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		if (json_is_object(raw)) {
			check_roster(raw);
			check_receipt(raw, NULL);
			check_event(raw, NULL);
		}
		json_decref(raw);
	}
	return 0;
}
