/*
 * flow.c: the signed objects of the underretning flow (roster, receipt,
 * event), the envelope hash, and the strict top-level parsing of flow frames
 * and MQTT payloads (flow.h; PROTOCOL.md "Underretning flow").
 *
 * Every object has one well-formedness check that the signing input, the
 * signer, the verifier and the JSON encoder all go through, so nothing is
 * signed that would not be written as JSON and parsed back, and a struct
 * that does not satisfy it never verifies. Nothing here is secret: the
 * signing keys are borrowed and only passed to proto_sign().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "flow.h"
#include "proto-internal.h"

#define FLOW_TIME_MAX_ 253402300799LL /* 9999-12-31T23:59:59Z, the last time proto_time_parse() accepts */

/* ---- small validators --------------------------------------------------- */

/* 1 when the string in char[cap] is NUL-terminated inside it and is an id of 1..PROTO_ID_MAX visible ASCII. */
static int id_ok(const char *s, size_t cap)
{
	const char *z;

	if (s == NULL || (z = memchr(s, '\0', cap)) == NULL)
		return 0;
	return pf_valid_id(s, (size_t)(z - s), 1, PROTO_ID_MAX);
}

static int time_ok(int64_t t)
{
	return t >= 0 && t <= FLOW_TIME_MAX_;
}

/* 1 when s[0..len) is "U-" + 4 digits + "-" + 6..9 digits. */
static int ref_valid_n(const char *s, size_t len)
{
	if (s == NULL || len < 2 + 4 + 1 + 6 || len > FLOW_REF_MAX)
		return 0;
	if (s[0] != 'U' || s[1] != '-' || s[6] != '-')
		return 0;
	for (size_t i = 2; i < len; i++)
		if (i != 6 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

int flow_reference_valid(const char *s)
{
	const char *z;

	if (s == NULL || (z = memchr(s, '\0', FLOW_REF_MAX + 1)) == NULL)
		return 0;
	return ref_valid_n(s, (size_t)(z - s));
}

static int ref_ok(const char *s)
{
	return flow_reference_valid(s);
}

/* ---- JSON helpers -------------------------------------------------------- */

/* The bytes of a JSON string without embedded NULs, or NULL. */
static const char *jstr(const json_t *v, size_t *len)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(s) != *len)
		return NULL;
	return s;
}

/* 1 when o has exactly the keys names[0..n) (no more, none missing). */
static int exact_keys(const json_t *o, const char *const *names, size_t n)
{
	const char *k;
	size_t kl;
	json_t *v;

	if (!json_is_object(o) || json_object_size(o) != n)
		return 0;
	json_object_keylen_foreach((json_t *)o, k, kl, v)
	{
		size_t i;

		(void)v;
		if (strlen(k) != kl)
			return 0;
		for (i = 0; i < n && strcmp(k, names[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

/* Copy o[key], an id of 1..PROTO_ID_MAX visible ASCII, into out[PROTO_ID_MAX + 1]. */
static int get_id(const json_t *o, const char *key, char *out)
{
	size_t n;
	const char *s = jstr(json_object_get(o, key), &n);

	if (s == NULL || !pf_valid_id(s, n, 1, PROTO_ID_MAX))
		return 0;
	memcpy(out, s, n + 1);
	return 1;
}

static int get_ref(const json_t *o, const char *key, char out[FLOW_REF_MAX + 1])
{
	size_t n;
	const char *s = jstr(json_object_get(o, key), &n);

	if (s == NULL || !ref_valid_n(s, n))
		return 0;
	memcpy(out, s, n + 1);
	return 1;
}

static int get_time(const json_t *o, const char *key, int64_t *out)
{
	size_t n;
	const char *s = jstr(json_object_get(o, key), &n);

	return s != NULL && proto_time_parse(s, out) == VARSKO_OK;
}

/*
 * Exactly n bytes of canonical padded base64 in o[key]. The alphabet is
 * checked here first: libsodium's decoder takes some bytes above 0x7f for
 * base64 digits, which would give one value two accepted encodings.
 */
static int get_b64(const json_t *o, const char *key, uint8_t *out, size_t n)
{
	size_t sl;
	const char *s = jstr(json_object_get(o, key), &sl);

	if (s == NULL || sl != 4 * ((n + 2) / 3))
		return 0;
	for (size_t i = 0; i < sl; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '+' || s[i] == '/' || s[i] == '='))
			return 0;
	return proto_b64_decode_exact(s, out, n) == VARSKO_OK;
}

/* JSON string of the base64 of p[0..n), n <= 64; NULL on allocation failure. */
static json_t *b64_json(const uint8_t *p, size_t n)
{
	char s[4 * ((PROTO_SIG_LEN + 2) / 3) + 1];

	if (n > PROTO_SIG_LEN || proto_b64_encode(p, n, s, sizeof(s)) != VARSKO_OK)
		return NULL;
	return json_string(s);
}

static json_t *time_json(int64_t t)
{
	char s[PROTO_TIME_LEN + 1];

	proto_time_format(t, s);
	return json_string(s);
}

/* Set o[k] = v (reference stolen); 0 when v is NULL or the set fails. */
static int set_new(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0;
}

/* ---- envelope hash --------------------------------------------------------- */

int flow_envelope_hash(const struct env_envelope *e, uint8_t out[32])
{
	struct proto_buf si, b;
	int r = VARSKO_ERR_BAD_INPUT;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, 32);
	proto_buf_init(&si);
	proto_buf_init(&b);
	if (e == NULL || env_signing_input(e, &si) != VARSKO_OK)
		goto out;
	proto_buf_put_str(&b, FLOW_TAG_ENVHASH);
	proto_buf_put_bytes(&b, si.p, si.len);
	if ((r = b.err) != VARSKO_OK)
		goto out;
	crypto_hash_sha256(out, b.p, b.len);
	r = VARSKO_OK;
out:
	proto_buf_free(&si);
	proto_buf_free(&b);
	return r;
}

/* ---- roster ------------------------------------------------------------------ */

/* The checks every roster meets before it is encoded, signed or verified (not the order of the devices). */
static int roster_well_formed(const struct flow_roster *r)
{
	if (r == NULL || r->n < 1 || r->n > FLOW_ROSTER_MAX || !id_ok(r->team, sizeof(r->team)))
		return 0;
	if (r->version < 1 || r->version > (uint64_t)INT64_MAX || !time_ok(r->issued))
		return 0;
	for (size_t i = 0; i < r->n; i++)
		if (!id_ok(r->certs[i].device, sizeof(r->certs[i].device)))
			return 0;
	return 1;
}

static int roster_sorted(const struct flow_roster *r)
{
	for (size_t i = 1; i < r->n; i++)
		if (strcmp(r->certs[i - 1].device, r->certs[i].device) >= 0)
			return 0;
	return 1;
}

int flow_roster_signing_input(const struct flow_roster *r, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!roster_well_formed(r))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, FLOW_TAG_ROSTER);
	proto_buf_put_u64(b, FLOW_VERSION);
	proto_buf_put_str(b, r->team);
	proto_buf_put_u64(b, r->version);
	proto_buf_put_i64(b, r->issued);
	proto_buf_put_u64(b, r->n);
	for (size_t i = 0; i < r->n; i++) {
		proto_buf_put_str(b, r->certs[i].device);
		proto_buf_put_bytes(b, r->certs[i].sign_pk, PROTO_PK_LEN);
		proto_buf_put_bytes(b, r->certs[i].box_pk, PROTO_PK_LEN);
		proto_buf_put_u64(b, r->certs[i].serial);
	}
	return b->err;
}

/*
 * See flow.h. The certificates are sorted in place (insertion sort, n is at
 * most FLOW_ROSTER_MAX), and the roster must encode as JSON before it is
 * signed, so a signed roster always parses back.
 */
int flow_roster_sign(struct flow_roster *r, const uint8_t org_sk[64])
{
	struct proto_buf b;
	struct proto_cert tmp;
	json_t *j = NULL;
	int rc = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&b);
	if (r == NULL || org_sk == NULL || !roster_well_formed(r))
		goto out;
	for (size_t i = 1; i < r->n; i++) {
		size_t k = i;

		memcpy(&tmp, &r->certs[i], sizeof(tmp));
		while (k > 0 && strcmp(r->certs[k - 1].device, tmp.device) > 0) {
			memcpy(&r->certs[k], &r->certs[k - 1], sizeof(tmp));
			k--;
		}
		memcpy(&r->certs[k], &tmp, sizeof(tmp));
	}
	if (!roster_sorted(r))
		goto out; /* a device twice */
	if ((rc = flow_roster_to_json(r, &j)) != VARSKO_OK) {
		rc = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((rc = flow_roster_signing_input(r, &b)) != VARSKO_OK)
		goto out;
	rc = proto_sign(&b, org_sk, r->sig);
out:
	json_decref(j);
	proto_buf_free(&b);
	return rc;
}

int flow_roster_verify(const struct flow_roster *r, const uint8_t org_pk[PROTO_PK_LEN], int64_t now,
                       const char **detail)
{
	const char *dummy;
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_SIGNATURE;

	if (detail == NULL)
		detail = &dummy;
	proto_buf_init(&b);
	if (r == NULL || org_pk == NULL || !roster_well_formed(r)) {
		*detail = "roster malformed or with no devices";
		goto out;
	}
	if (!roster_sorted(r)) {
		*detail = "roster devices not strictly sorted";
		goto out;
	}
	if (flow_roster_signing_input(r, &b) != VARSKO_OK || proto_verify(&b, org_pk, r->sig) != VARSKO_OK) {
		*detail = "roster signature does not verify";
		goto out;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct proto_cert *c = &r->certs[i];

		if ((rc = proto_cert_verify(c, org_pk, now)) != VARSKO_OK) {
			*detail = rc == VARSKO_ERR_DEVICE_EXPIRED ? "roster certificate expired or not yet valid"
			                                          : "roster certificate does not verify";
			goto out;
		}
		rc = VARSKO_ERR_BAD_CERT;
		if (strcmp(c->team, r->team) != 0) {
			*detail = "roster certificate of another team";
			goto out;
		}
		if (strcmp(c->role, "myndighed") != 0 && strcmp(c->role, "leder") != 0 &&
		    strcmp(c->role, "agent") != 0) {
			*detail = "roster certificate with a role that may not read";
			goto out;
		}
	}
	*detail = "";
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_roster_to_json(const struct flow_roster *r, json_t **out)
{
	const char *detail;
	json_t *o = NULL, *arr = NULL, *c;
	int rc = VARSKO_ERR_NOMEM;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!roster_well_formed(r))
		return VARSKO_ERR_BAD_INPUT;
	if ((o = json_object()) == NULL || (arr = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		if ((rc = proto_cert_encode_json(&r->certs[i], &c, &detail)) != VARSKO_OK) {
			if (rc == VARSKO_ERR_BAD_FRAME)
				rc = VARSKO_ERR_BAD_INPUT;
			goto out;
		}
		if (json_array_append_new(arr, c) != 0) {
			rc = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	rc = VARSKO_ERR_NOMEM;
	if (json_object_set_new(o, "devices", arr) != 0) {
		arr = NULL;
		goto out;
	}
	arr = NULL;
	if (!set_new(o, "issued", time_json(r->issued)) || !set_new(o, "sig", b64_json(r->sig, PROTO_SIG_LEN)) ||
	    !set_new(o, "team", json_string(r->team)) || !set_new(o, "version", json_integer((json_int_t)r->version)))
		goto out;
	*out = o;
	o = NULL;
	rc = VARSKO_OK;
out:
	json_decref(arr);
	json_decref(o);
	return rc;
}

int flow_roster_from_json(const json_t *j, struct flow_roster *out)
{
	static const char *const keys[] = {"devices", "issued", "sig", "team", "version"};
	const char *detail;
	const json_t *arr, *v;
	int rc = VARSKO_ERR_BAD_FRAME;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (!exact_keys(j, keys, 5))
		goto out;
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		goto out;
	out->version = (uint64_t)json_integer_value(v);
	if (!get_id(j, "team", out->team) || !get_time(j, "issued", &out->issued) ||
	    !get_b64(j, "sig", out->sig, PROTO_SIG_LEN))
		goto out;
	arr = json_object_get(j, "devices");
	if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > FLOW_ROSTER_MAX)
		goto out;
	out->n = json_array_size(arr);
	for (size_t i = 0; i < out->n; i++) {
		v = json_array_get(arr, i);
		if (!json_is_object(v) || proto_cert_decode_json(v, &out->certs[i], &detail) != VARSKO_OK)
			goto out;
	}
	if (!roster_well_formed(out))
		goto out;
	rc = VARSKO_OK;
out:
	if (rc != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- receipt -------------------------------------------------------------------- */

static int receipt_well_formed(const struct flow_receipt *r)
{
	return r != NULL && r->version == FLOW_VERSION && ref_ok(r->reference) &&
	       id_ok(r->submission, sizeof(r->submission)) && id_ok(r->sender, sizeof(r->sender)) &&
	       id_ok(r->sender_user, sizeof(r->sender_user)) && id_ok(r->institution, sizeof(r->institution)) &&
	       id_ok(r->team, sizeof(r->team)) && id_ok(r->gateway, sizeof(r->gateway)) && time_ok(r->received) &&
	       time_ok(r->vurdering_due) && time_ok(r->kvittering_due) && time_ok(r->tilbagemelding_due);
}

int flow_receipt_signing_input(const struct flow_receipt *r, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!receipt_well_formed(r))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, FLOW_TAG_RECEIPT);
	proto_buf_put_u64(b, r->version);
	proto_buf_put_str(b, r->reference);
	proto_buf_put_str(b, r->submission);
	proto_buf_put_bytes(b, r->envelope_hash, 32);
	proto_buf_put_str(b, r->sender);
	proto_buf_put_str(b, r->sender_user);
	proto_buf_put_str(b, r->institution);
	proto_buf_put_str(b, r->team);
	proto_buf_put_i64(b, r->received);
	proto_buf_put_i64(b, r->vurdering_due);
	proto_buf_put_i64(b, r->kvittering_due);
	proto_buf_put_i64(b, r->tilbagemelding_due);
	proto_buf_put_str(b, r->gateway);
	return b->err;
}

int flow_receipt_sign(struct flow_receipt *r, const uint8_t gateway_sk[64])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&b);
	if (r == NULL || gateway_sk == NULL || !receipt_well_formed(r))
		goto out;
	if ((rc = flow_receipt_signing_input(r, &b)) != VARSKO_OK)
		goto out;
	rc = proto_sign(&b, gateway_sk, r->sig);
out:
	proto_buf_free(&b);
	return rc;
}

int flow_receipt_verify(const struct flow_receipt *r, const struct proto_cert *gateway_cert,
                        const uint8_t org_pk[PROTO_PK_LEN], int64_t now)
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_CERT;

	proto_buf_init(&b);
	if (gateway_cert == NULL || org_pk == NULL || proto_cert_verify(gateway_cert, org_pk, now) != VARSKO_OK)
		goto out;
	if (strcmp(gateway_cert->role, "gateway") != 0)
		goto out;
	rc = VARSKO_ERR_BAD_SIGNATURE;
	if (!receipt_well_formed(r))
		goto out;
	if (strcmp(gateway_cert->device, r->gateway) != 0) {
		rc = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	if (flow_receipt_signing_input(r, &b) != VARSKO_OK ||
	    proto_verify(&b, gateway_cert->sign_pk, r->sig) != VARSKO_OK)
		goto out;
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_receipt_to_json(const struct flow_receipt *r, json_t **out)
{
	json_t *o = NULL;
	int rc = VARSKO_ERR_NOMEM;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!receipt_well_formed(r))
		return VARSKO_ERR_BAD_INPUT;
	if ((o = json_object()) == NULL)
		goto out;
	if (!set_new(o, "envelope_hash", b64_json(r->envelope_hash, 32)) ||
	    !set_new(o, "gateway", json_string(r->gateway)) ||
	    !set_new(o, "institution", json_string(r->institution)) ||
	    !set_new(o, "kvittering_due", time_json(r->kvittering_due)) ||
	    !set_new(o, "received", time_json(r->received)) || !set_new(o, "reference", json_string(r->reference)) ||
	    !set_new(o, "sender", json_string(r->sender)) || !set_new(o, "sender_user", json_string(r->sender_user)) ||
	    !set_new(o, "sig", b64_json(r->sig, PROTO_SIG_LEN)) ||
	    !set_new(o, "submission", json_string(r->submission)) || !set_new(o, "team", json_string(r->team)) ||
	    !set_new(o, "tilbagemelding_due", time_json(r->tilbagemelding_due)) ||
	    !set_new(o, "version", json_integer(r->version)) ||
	    !set_new(o, "vurdering_due", time_json(r->vurdering_due)))
		goto out;
	*out = o;
	o = NULL;
	rc = VARSKO_OK;
out:
	json_decref(o);
	return rc;
}

int flow_receipt_from_json(const json_t *j, struct flow_receipt *out)
{
	static const char *const keys[] = {"envelope_hash", "gateway",      "institution", "kvittering_due",
	                                   "received",      "reference",    "sender",      "sender_user",
	                                   "sig",           "submission",   "team",        "tilbagemelding_due",
	                                   "version",       "vurdering_due"};
	const json_t *v;
	int rc = VARSKO_ERR_BAD_FRAME;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (!exact_keys(j, keys, sizeof(keys) / sizeof(keys[0])))
		goto out;
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) != FLOW_VERSION)
		goto out;
	out->version = FLOW_VERSION;
	if (!get_ref(j, "reference", out->reference) || !get_id(j, "submission", out->submission) ||
	    !get_b64(j, "envelope_hash", out->envelope_hash, 32) || !get_id(j, "sender", out->sender) ||
	    !get_id(j, "sender_user", out->sender_user) || !get_id(j, "institution", out->institution) ||
	    !get_id(j, "team", out->team) || !get_time(j, "received", &out->received) ||
	    !get_time(j, "vurdering_due", &out->vurdering_due) ||
	    !get_time(j, "kvittering_due", &out->kvittering_due) ||
	    !get_time(j, "tilbagemelding_due", &out->tilbagemelding_due) || !get_id(j, "gateway", out->gateway) ||
	    !get_b64(j, "sig", out->sig, PROTO_SIG_LEN))
		goto out;
	rc = VARSKO_OK;
out:
	if (rc != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- events ----------------------------------------------------------------------- */

static const char *const kind_names[FLOW_EV_COUNT_] = {
        [FLOW_EV_NONE] = NULL,
        [FLOW_EV_LEVERET] = "leveret",
        [FLOW_EV_MODTAGET] = "modtaget",
        [FLOW_EV_JOURNALISERET] = "journaliseret",
        [FLOW_EV_AABNET] = "aabnet",
        [FLOW_EV_VURDERET] = "vurderet",
        [FLOW_EV_KVITTERET] = "kvitteret",
        [FLOW_EV_TILBAGEMELDING] = "tilbagemelding",
        [FLOW_EV_OMDIRIGERET] = "omdirigeret",
        [FLOW_EV_AFSLUTTET] = "afsluttet",
};

const char *flow_event_kind_name(enum flow_event_kind k)
{
	if ((int)k <= FLOW_EV_NONE || (int)k >= FLOW_EV_COUNT_)
		return NULL;
	return kind_names[k];
}

enum flow_event_kind flow_event_kind_from_name(const char *s)
{
	if (s == NULL)
		return FLOW_EV_NONE;
	for (int k = FLOW_EV_NONE + 1; k < FLOW_EV_COUNT_; k++)
		if (strcmp(kind_names[k], s) == 0)
			return (enum flow_event_kind)k;
	return FLOW_EV_NONE;
}

int flow_event_needs_envelope(enum flow_event_kind k)
{
	return k == FLOW_EV_KVITTERET || k == FLOW_EV_TILBAGEMELDING || k == FLOW_EV_OMDIRIGERET;
}

/* The fields of its kind and none other: akut only for vurderet, started only for tilbagemelding, ... */
static int event_well_formed(const struct flow_event *e)
{
	const char *z;

	if (e == NULL || e->version != FLOW_VERSION || flow_event_kind_name(e->kind) == NULL || !ref_ok(e->reference) ||
	    !id_ok(e->device, sizeof(e->device)) || !time_ok(e->time))
		return 0;
	if (e->kind == FLOW_EV_VURDERET ? (e->akut != 0 && e->akut != 1) : e->akut != -1)
		return 0;
	if (e->kind == FLOW_EV_TILBAGEMELDING ? (e->started != 0 && e->started != 1) : e->started != -1)
		return 0;
	if (e->kind == FLOW_EV_OMDIRIGERET) {
		if (!id_ok(e->team, sizeof(e->team)))
			return 0;
	} else if ((z = memchr(e->team, '\0', sizeof(e->team))) == NULL || z != e->team) {
		return 0;
	}
	if ((e->has_envelope != 0 && e->has_envelope != 1) || e->has_envelope != flow_event_needs_envelope(e->kind))
		return 0;
	return 1;
}

int flow_event_signing_input(const struct flow_event *e, struct proto_buf *b)
{
	static const uint8_t zero[32];

	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!event_well_formed(e))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, FLOW_TAG_EVENT);
	proto_buf_put_u64(b, e->version);
	proto_buf_put_str(b, e->reference);
	proto_buf_put_str(b, flow_event_kind_name(e->kind));
	proto_buf_put_str(b, e->device);
	proto_buf_put_i64(b, e->time);
	proto_buf_put_i64(b, e->akut);
	proto_buf_put_i64(b, e->started);
	proto_buf_put_str(b, e->team);
	proto_buf_put_u64(b, (uint64_t)e->has_envelope);
	proto_buf_put_bytes(b, e->has_envelope ? e->envelope_hash : zero, 32);
	return b->err;
}

int flow_event_sign(struct flow_event *e, const uint8_t sk[64])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&b);
	if (e == NULL || sk == NULL || !event_well_formed(e))
		goto out;
	if ((rc = flow_event_signing_input(e, &b)) != VARSKO_OK)
		goto out;
	rc = proto_sign(&b, sk, e->sig);
out:
	proto_buf_free(&b);
	return rc;
}

int flow_event_verify(const struct flow_event *e, const uint8_t sign_pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_SIGNATURE;

	proto_buf_init(&b);
	if (sign_pk == NULL || !event_well_formed(e))
		goto out;
	if (flow_event_signing_input(e, &b) != VARSKO_OK || proto_verify(&b, sign_pk, e->sig) != VARSKO_OK)
		goto out;
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_event_to_json(const struct flow_event *e, json_t **out)
{
	json_t *o = NULL;
	int rc = VARSKO_ERR_NOMEM;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!event_well_formed(e))
		return VARSKO_ERR_BAD_INPUT;
	if ((o = json_object()) == NULL)
		goto out;
	if (!set_new(o, "device", json_string(e->device)) ||
	    !set_new(o, "kind", json_string(flow_event_kind_name(e->kind))) ||
	    !set_new(o, "reference", json_string(e->reference)) ||
	    !set_new(o, "sig", b64_json(e->sig, PROTO_SIG_LEN)) || !set_new(o, "time", time_json(e->time)) ||
	    !set_new(o, "version", json_integer(e->version)))
		goto out;
	if (e->kind == FLOW_EV_VURDERET && !set_new(o, "akut", json_boolean(e->akut)))
		goto out;
	if (e->kind == FLOW_EV_TILBAGEMELDING && !set_new(o, "started", json_boolean(e->started)))
		goto out;
	if (e->kind == FLOW_EV_OMDIRIGERET && !set_new(o, "team", json_string(e->team)))
		goto out;
	if (e->has_envelope && !set_new(o, "envelope_hash", b64_json(e->envelope_hash, 32)))
		goto out;
	*out = o;
	o = NULL;
	rc = VARSKO_OK;
out:
	json_decref(o);
	return rc;
}

int flow_event_from_json(const json_t *j, struct flow_event *out)
{
	const char *keys[10] = {"device", "kind", "reference", "sig", "time", "version"};
	size_t nk = 6, sl;
	const char *s;
	const json_t *v;
	int rc = VARSKO_ERR_BAD_FRAME;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	out->akut = -1;
	out->started = -1;
	if (!json_is_object(j))
		goto out;
	if ((s = jstr(json_object_get(j, "kind"), &sl)) == NULL || sl > FLOW_KIND_MAX ||
	    (out->kind = flow_event_kind_from_name(s)) == FLOW_EV_NONE)
		goto out;
	if (out->kind == FLOW_EV_VURDERET)
		keys[nk++] = "akut";
	if (out->kind == FLOW_EV_TILBAGEMELDING)
		keys[nk++] = "started";
	if (out->kind == FLOW_EV_OMDIRIGERET)
		keys[nk++] = "team";
	if (flow_event_needs_envelope(out->kind))
		keys[nk++] = "envelope_hash";
	if (!exact_keys(j, keys, nk))
		goto out;
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) != FLOW_VERSION)
		goto out;
	out->version = FLOW_VERSION;
	if (!get_ref(j, "reference", out->reference) || !get_id(j, "device", out->device) ||
	    !get_time(j, "time", &out->time) || !get_b64(j, "sig", out->sig, PROTO_SIG_LEN))
		goto out;
	if (out->kind == FLOW_EV_VURDERET) {
		if (!json_is_boolean(v = json_object_get(j, "akut")))
			goto out;
		out->akut = json_is_true(v) ? 1 : 0;
	}
	if (out->kind == FLOW_EV_TILBAGEMELDING) {
		if (!json_is_boolean(v = json_object_get(j, "started")))
			goto out;
		out->started = json_is_true(v) ? 1 : 0;
	}
	if (out->kind == FLOW_EV_OMDIRIGERET && !get_id(j, "team", out->team))
		goto out;
	if (flow_event_needs_envelope(out->kind)) {
		out->has_envelope = 1;
		if (!get_b64(j, "envelope_hash", out->envelope_hash, 32))
			goto out;
	}
	if (!event_well_formed(out))
		goto out;
	rc = VARSKO_OK;
out:
	if (rc != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- frames ------------------------------------------------------------------------- */

/* What a top-level (or list item) member must be. */
enum fk {
	FK_OBJ,      /* a JSON object, checked by its own from_json in the caller */
	FK_REF,      /* a reference (flow_reference_valid) */
	FK_ID,       /* an id, 1..PROTO_ID_MAX visible ASCII */
	FK_BOOL,     /* true or false */
	FK_SEQ,      /* integer 0..INT64_MAX */
	FK_TIME,     /* "YYYY-MM-DDTHH:MM:SSZ" */
	FK_STATE,    /* an event kind name or "modtaget_gateway" */
	FK_FKIND,    /* "warning" or "escalation" */
	FK_DEADLINE, /* a deadline kind: "vurdering", "kvittering", "tilbagemelding", "undersoegelse" */
	FK_DLSTATE,  /* "open", "warned" or "overdue" */
	FK_ITEM,     /* an ITEM object (checked here: it has no from_json) */
	FK_ITEMS,    /* array of 0..FLOW_ITEMS_MAX ITEMs */
	FK_DLITEMS,  /* array of 0..FLOW_ITEMS_MAX deadline items */
	FK_EVENTS,   /* array of 0..FLOW_EVENTS_MAX timeline entries */
	FK_CERTS,    /* array of 0..ENV_RECIPIENTS_MAX objects */
};

struct fkey {
	const char *name;
	enum fk kind;
	int required;
};

struct fspec {
	const char *name;
	int with_id; /* requests and answers may carry "id"; pushes and MQTT payloads may not */
	const struct fkey *keys;
	size_t n;
};

static const struct fkey k_route[] = {{"header", FK_OBJ, 1}};
static const struct fkey k_submit[] = {{"envelope", FK_OBJ, 1}};
static const struct fkey k_event[] = {{"event", FK_OBJ, 1}, {"envelope", FK_OBJ, 0}};
static const struct fkey k_ref[] = {{"reference", FK_REF, 1}};
static const struct fkey k_team[] = {{"team", FK_ID, 1}};
static const struct fkey k_routed[] = {{"team", FK_ID, 1}, {"roster", FK_OBJ, 1}};
static const struct fkey k_receipt[] = {{"receipt", FK_OBJ, 1}, {"duplicate", FK_BOOL, 1}};
static const struct fkey k_event_ok[] = {{"seq", FK_SEQ, 1}};
static const struct fkey k_items[] = {{"items", FK_ITEMS, 1}};
static const struct fkey k_underretning[] = {{"reference", FK_REF, 1},
                                             {"envelope", FK_OBJ, 1},
                                             {"receipt", FK_OBJ, 1},
                                             {"sender_cert", FK_OBJ, 1},
                                             {"gateway_cert", FK_OBJ, 1}};
static const struct fkey k_timeline[] = {
        {"receipt", FK_OBJ, 1}, {"gateway_cert", FK_OBJ, 1}, {"sender_cert", FK_OBJ, 1}, {"events", FK_EVENTS, 1}};
static const struct fkey k_devices[] = {{"certs", FK_CERTS, 1}};
static const struct fkey k_deadlines[] = {{"items", FK_DLITEMS, 1}};
static const struct fkey k_pushed[] = {
        {"reference", FK_REF, 1}, {"event", FK_OBJ, 1}, {"cert", FK_OBJ, 1}, {"envelope", FK_OBJ, 0}};
static const struct fkey k_new[] = {{"item", FK_ITEM, 1}};
static const struct fkey k_frist[] = {
        {"reference", FK_REF, 1}, {"kind", FK_FKIND, 1}, {"deadline", FK_DEADLINE, 1}, {"due", FK_TIME, 1}};

/* Inside list answers. */
static const struct fkey k_item[] = {{"reference", FK_REF, 1},       {"team", FK_ID, 1},
                                     {"institution", FK_ID, 1},      {"age_group", FK_ID, 1},
                                     {"akut", FK_BOOL, 1},           {"handicap", FK_BOOL, 1},
                                     {"received", FK_TIME, 1},       {"vurdering_due", FK_TIME, 1},
                                     {"kvittering_due", FK_TIME, 1}, {"state", FK_STATE, 1}};
static const struct fkey k_dlitem[] = {
        {"reference", FK_REF, 1}, {"kind", FK_DEADLINE, 1}, {"due", FK_TIME, 1}, {"state", FK_DLSTATE, 1}};
static const struct fkey k_tlentry[] = {{"event", FK_OBJ, 1}, {"cert", FK_OBJ, 1}, {"envelope", FK_OBJ, 0}};

/* MQTT event payload (agents on varsko/<tenant>/ack). */
static const struct fkey k_mqtt_event[] = {{"event", FK_OBJ, 1}, {"cert", FK_OBJ, 1}};

#define NK(a) (sizeof(a) / sizeof(a[0]))
#define FS(name, id, tab)                                                                                              \
	{                                                                                                              \
		name, id, tab, NK(tab)                                                                                 \
	}

static const struct fspec specs[FLOW_T_COUNT_] = {
        [FLOW_T_NONE] = {NULL, 0, NULL, 0},
        [FLOW_T_ROUTE] = FS("route", 1, k_route),
        [FLOW_T_SUBMIT] = FS("submit", 1, k_submit),
        [FLOW_T_EVENT] = FS("event", 1, k_event),
        [FLOW_T_INBOX] = {"inbox", 1, NULL, 0},
        [FLOW_T_MINE] = {"mine", 1, NULL, 0},
        [FLOW_T_FETCH] = FS("fetch", 1, k_ref),
        [FLOW_T_STATUS] = FS("status", 1, k_ref),
        [FLOW_T_NOTIFIER_DEVICES] = FS("notifier_devices", 1, k_ref),
        [FLOW_T_ROSTER] = FS("roster", 1, k_team),
        [FLOW_T_OVERVIEW] = {"overview", 1, NULL, 0},
        [FLOW_T_ROUTED] = FS("routed", 1, k_routed),
        [FLOW_T_RECEIPT] = FS("receipt", 1, k_receipt),
        [FLOW_T_EVENT_OK] = FS("event_ok", 1, k_event_ok),
        [FLOW_T_ITEMS] = FS("items", 1, k_items),
        [FLOW_T_UNDERRETNING] = FS("underretning", 1, k_underretning),
        [FLOW_T_TIMELINE] = FS("timeline", 1, k_timeline),
        [FLOW_T_DEVICES] = FS("devices", 1, k_devices),
        [FLOW_T_DEADLINES] = FS("deadlines", 1, k_deadlines),
        [FLOW_T_PUSHED] = FS("pushed", 0, k_pushed),
        [FLOW_T_NEW_UNDERRETNING] = FS("new_underretning", 0, k_new),
        [FLOW_T_FRIST] = FS("frist", 0, k_frist),
};

/* The MQTT payloads: same names as the frames, no "id". */
static const struct fspec mqtt_underretning = FS("underretning", 0, k_underretning);
static const struct fspec mqtt_event = FS("event", 0, k_mqtt_event);
static const struct fspec mqtt_frist = FS("frist", 0, k_frist);

const char *flow_type_name(enum flow_type t)
{
	if ((int)t <= FLOW_T_NONE || (int)t >= FLOW_T_COUNT_)
		return NULL;
	return specs[t].name;
}

static int one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

static int check_keys(const json_t *o, const struct fkey *keys, size_t n, int with_type, int with_id,
                      const char **detail);

/* Every element of array v is an object with exactly the keys of tab (or any object when tab is NULL). */
static int check_array(const json_t *v, size_t max, const struct fkey *tab, size_t n, const char **detail)
{
	if (!json_is_array(v)) {
		*detail = "field must be an array";
		return 0;
	}
	if (json_array_size(v) > max) {
		*detail = "array too long";
		return 0;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_object(e)) {
			*detail = "array item must be an object";
			return 0;
		}
		if (tab != NULL && !check_keys(e, tab, n, 0, 0, detail))
			return 0;
	}
	return 1;
}

static int check_value(const struct fkey *k, const json_t *v, const char **detail)
{
	static const char *const fkinds[] = {"warning", "escalation", NULL};
	static const char *const deadlines[] = {"vurdering", "kvittering", "tilbagemelding", "undersoegelse", NULL};
	static const char *const dlstates[] = {"open", "warned", "overdue", NULL};
	const char *s = NULL;
	size_t sl = 0;
	int64_t t;

	switch (k->kind) {
	case FK_OBJ:
		if (!json_is_object(v)) {
			*detail = "field must be an object";
			return 0;
		}
		return 1;
	case FK_BOOL:
		if (!json_is_boolean(v)) {
			*detail = "field must be a boolean";
			return 0;
		}
		return 1;
	case FK_SEQ:
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			*detail = "field must be a non-negative integer";
			return 0;
		}
		return 1;
	case FK_ITEM:
		if (!json_is_object(v)) {
			*detail = "field must be an object";
			return 0;
		}
		return check_keys(v, k_item, NK(k_item), 0, 0, detail);
	case FK_ITEMS:
		return check_array(v, FLOW_ITEMS_MAX, k_item, NK(k_item), detail);
	case FK_DLITEMS:
		return check_array(v, FLOW_ITEMS_MAX, k_dlitem, NK(k_dlitem), detail);
	case FK_EVENTS:
		return check_array(v, FLOW_EVENTS_MAX, k_tlentry, NK(k_tlentry), detail);
	case FK_CERTS:
		return check_array(v, ENV_RECIPIENTS_MAX, NULL, 0, detail);
	case FK_REF:
	case FK_ID:
	case FK_TIME:
	case FK_STATE:
	case FK_FKIND:
	case FK_DEADLINE:
	case FK_DLSTATE:
		if ((s = jstr(v, &sl)) == NULL) {
			*detail = "field must be a string";
			return 0;
		}
		break;
	}
	switch (k->kind) {
	case FK_REF:
		if (!ref_valid_n(s, sl)) {
			*detail = "reference malformed";
			return 0;
		}
		return 1;
	case FK_ID:
		if (!pf_valid_id(s, sl, 1, PROTO_ID_MAX)) {
			*detail = "id must be 1 to 64 visible ASCII characters";
			return 0;
		}
		return 1;
	case FK_TIME:
		if (proto_time_parse(s, &t) != VARSKO_OK) {
			*detail = "time must be YYYY-MM-DDTHH:MM:SSZ";
			return 0;
		}
		return 1;
	case FK_STATE:
		if (strcmp(s, "modtaget_gateway") != 0 && flow_event_kind_from_name(s) == FLOW_EV_NONE) {
			*detail = "unknown state";
			return 0;
		}
		return 1;
	case FK_FKIND:
		if (!one_of(s, fkinds)) {
			*detail = "kind must be warning or escalation";
			return 0;
		}
		return 1;
	case FK_DEADLINE:
		if (!one_of(s, deadlines)) {
			*detail = "unknown deadline";
			return 0;
		}
		return 1;
	case FK_DLSTATE:
		if (!one_of(s, dlstates)) {
			*detail = "unknown deadline state";
			return 0;
		}
		return 1;
	default:
		break;
	}
	*detail = "internal: unknown field kind";
	return 0;
}

/*
 * Exactly the keys of tab (the optional ones may be absent), plus "type" when
 * with_type and an optional "id" when with_id (both checked by the caller),
 * each of the right kind.
 */
static int check_keys(const json_t *o, const struct fkey *keys, size_t n, int with_type, int with_id,
                      const char **detail)
{
	const char *k;
	size_t kl;
	json_t *v;

	json_object_keylen_foreach((json_t *)o, k, kl, v)
	{
		size_t i;

		(void)v;
		if (strlen(k) != kl) {
			*detail = "unknown field";
			return 0;
		}
		if ((with_type && strcmp(k, "type") == 0) || (with_id && strcmp(k, "id") == 0))
			continue;
		for (i = 0; i < n && strcmp(keys[i].name, k) != 0; i++)
			;
		if (i == n) {
			*detail = "unknown field";
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *fv = json_object_get(o, keys[i].name);

		if (fv == NULL) {
			if (keys[i].required) {
				*detail = "missing field";
				return 0;
			}
			continue;
		}
		if (!check_value(&keys[i], fv, detail))
			return 0;
	}
	return 1;
}

/* Size cap, strict load (duplicate keys refused; NULs inside strings loaded so they are refused as field errors). */
static int flow_load(const char *buf, size_t len, json_t **out, const char **detail)
{
	json_error_t jerr;
	json_t *o;

	*out = NULL;
	if (buf == NULL && len > 0) {
		*detail = "no input";
		return VARSKO_ERR_BAD_JSON;
	}
	if (len > FLOW_FRAME_MAX) {
		*detail = "input too large";
		return VARSKO_ERR_TOO_LARGE;
	}
	o = json_loadb(len ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (o == NULL) {
		if (json_error_code(&jerr) == json_error_duplicate_key) {
			*detail = "duplicate key";
			return VARSKO_ERR_DUPLICATE_KEY;
		}
		*detail = "malformed JSON";
		return VARSKO_ERR_BAD_JSON;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		*detail = "not a JSON object";
		return VARSKO_ERR_BAD_JSON;
	}
	*out = o;
	return VARSKO_OK;
}

/* The "type" string of o, or NULL (with *detail) when missing or not a string. */
static const char *frame_type(const json_t *o, size_t *len, const char **detail)
{
	const char *s = jstr(json_object_get(o, "type"), len);

	if (s == NULL)
		*detail = "missing or non-string type";
	return s;
}

int flow_frame_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, char *id_out, const char **detail)
{
	const char *dummy, *s;
	json_t *o = NULL, *v;
	size_t sl;
	int r, id_bad = 0, t;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (id_out != NULL)
		id_out[0] = '\0';
	if (out == NULL || type == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*type = FLOW_T_NONE;
	if ((r = flow_load(buf, len, &o, detail)) != VARSKO_OK)
		goto out;
	if ((v = json_object_get(o, "id")) != NULL) {
		if ((s = jstr(v, &sl)) != NULL && pf_valid_id(s, sl, 1, PROTO_ID_MAX)) {
			if (id_out != NULL)
				memcpy(id_out, s, sl + 1);
		} else {
			id_bad = 1;
		}
	}
	r = VARSKO_ERR_BAD_FRAME;
	if ((s = frame_type(o, &sl, detail)) == NULL)
		goto out;
	for (t = FLOW_T_NONE + 1; t < FLOW_T_COUNT_; t++)
		if (strcmp(specs[t].name, s) == 0)
			break;
	if (t == FLOW_T_COUNT_) {
		*detail = "unknown type";
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	if (id_bad) {
		*detail = "id must be 1 to 64 visible ASCII characters";
		goto out;
	}
	if (!specs[t].with_id && v != NULL) {
		*detail = "a push carries no id";
		goto out;
	}
	if (!check_keys(o, specs[t].keys, specs[t].n, 1, specs[t].with_id, detail))
		goto out;
	*out = o;
	o = NULL;
	*type = (enum flow_type)t;
	*detail = "";
	r = VARSKO_OK;
out:
	json_decref(o);
	return r;
}

int flow_frame_dump(const json_t *frame, char **out, size_t *len)
{
	char *s;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (!json_is_object(frame))
		return VARSKO_ERR_BAD_INPUT;
	if ((s = json_dumps(frame, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return VARSKO_ERR_NOMEM;
	*out = s;
	if (len != NULL)
		*len = strlen(s);
	return VARSKO_OK;
}

int flow_mqtt_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, const char **detail)
{
	const struct fspec *sp;
	const char *dummy, *s;
	json_t *o = NULL;
	size_t sl;
	enum flow_type t;
	int r;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (out == NULL || type == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*type = FLOW_T_NONE;
	if ((r = flow_load(buf, len, &o, detail)) != VARSKO_OK)
		goto out;
	r = VARSKO_ERR_BAD_FRAME;
	if ((s = frame_type(o, &sl, detail)) == NULL)
		goto out;
	if (strcmp(s, mqtt_underretning.name) == 0) {
		sp = &mqtt_underretning;
		t = FLOW_T_UNDERRETNING;
	} else if (strcmp(s, mqtt_event.name) == 0) {
		sp = &mqtt_event;
		t = FLOW_T_EVENT;
	} else if (strcmp(s, mqtt_frist.name) == 0) {
		sp = &mqtt_frist;
		t = FLOW_T_FRIST;
	} else {
		*detail = "unknown type";
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	if (!check_keys(o, sp->keys, sp->n, 1, 0, detail))
		goto out;
	*out = o;
	o = NULL;
	*type = t;
	*detail = "";
	r = VARSKO_OK;
out:
	json_decref(o);
	return r;
}
