/*
 * flow.c: the signed objects of the underretning flow (roster, receipt,
 * event), the envelope hash, and the tables of the flow frames and MQTT
 * payloads (flow.h; PROTOCOL.md "Underretning flow"). The schema engine
 * (schema.c) parses and writes all of them; flow_frame_decode() is the one
 * dispatch on a frame's "type", flow.h's types and proto.h's.
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
#include "thread.h"
#include "blob.h"

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

int flow_reference_valid(const char *s)
{
	const char *z;

	if (s == NULL || (z = memchr(s, '\0', FLOW_REF_MAX + 1)) == NULL)
		return 0;
	return pf_valid_ref(s, (size_t)(z - s), FLOW_REF_MAX);
}

/*
 * The tables of the signed objects for the schema engine (schema.c). Their
 * encoders and decoders walk these; the well-formedness checks below add
 * what a table cannot say (a roster's order, an event's fields by kind).
 */
_Static_assert(FLOW_VERSION == PROTO_VERSION, "PF_VERSION1 checks FLOW_VERSION");
_Static_assert(sizeof(enum flow_event_kind) == sizeof(int), "PF_ENUM stores an int");

#define RO(m) offsetof(struct flow_roster, m)
static const struct pf_field roster_fields[] = {
        {"devices", PF_OBJLIST, 1, 1, FLOW_ROSTER_MAX, RO(certs), RO(n), &proto_cert_table, NULL},
        {"issued", PF_TIME, 1, 0, 0, RO(issued), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, RO(sig), 0, NULL, NULL},
        {"team", PF_ID, 1, 1, PROTO_ID_MAX, RO(team), 0, NULL, NULL},
        {"version", PF_U64, 1, 1, 0, RO(version), 0, NULL, NULL}, /* the roster's version */
};

#define RC(m) offsetof(struct flow_receipt, m)
static const struct pf_field receipt_fields[] = {
        {"envelope_hash", PF_B64, 1, 0, 32, RC(envelope_hash), 0, NULL, NULL},
        {"gateway", PF_ID, 1, 1, PROTO_ID_MAX, RC(gateway), 0, NULL, NULL},
        {"institution", PF_ID, 1, 1, PROTO_ID_MAX, RC(institution), 0, NULL, NULL},
        {"kvittering_due", PF_TIME, 1, 0, 0, RC(kvittering_due), 0, NULL, NULL},
        {"received", PF_TIME, 1, 0, 0, RC(received), 0, NULL, NULL},
        {"reference", PF_REF, 1, 0, FLOW_REF_MAX, RC(reference), 0, NULL, NULL},
        {"sender", PF_ID, 1, 1, PROTO_ID_MAX, RC(sender), 0, NULL, NULL},
        {"sender_user", PF_ID, 1, 1, PROTO_ID_MAX, RC(sender_user), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, RC(sig), 0, NULL, NULL},
        {"submission", PF_ID, 1, 1, PROTO_ID_MAX, RC(submission), 0, NULL, NULL},
        {"team", PF_ID, 1, 1, PROTO_ID_MAX, RC(team), 0, NULL, NULL},
        {"tilbagemelding_due", PF_TIME, 1, 0, 0, RC(tilbagemelding_due), 0, NULL, NULL},
        {"version", PF_VERSION1, 1, 0, 0, RC(version), 0, NULL, NULL},
        {"vurdering_due", PF_TIME, 1, 0, 0, RC(vurdering_due), 0, NULL, NULL},
};

/*
 * The event kinds by enum value (FLOW_EV_LEVERET is 1, the first), then the
 * one extra state of an ITEM: kind names are the first FLOW_EV_COUNT_ - 1.
 */
static const char *const state_names[] = {
        "leveret",   "modtaget",       "journaliseret", "aabnet",    "vurderet",
        "kvitteret", "tilbagemelding", "omdirigeret",   "afsluttet", "modtaget_gateway",
};
_Static_assert(PF_N(state_names) == FLOW_EV_COUNT_, "one name per event kind, plus modtaget_gateway");

/* Optional here; event_well_formed() says which of them each kind has. */
#define EO(m) offsetof(struct flow_event, m)
static const struct pf_field event_fields[] = {
        {"akut", PF_BOOL, 0, 0, 0, EO(akut), 0, NULL, NULL},
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, EO(device), 0, NULL, NULL},
        {"envelope_hash", PF_B64, 0, 0, 32, EO(envelope_hash), EO(has_envelope), NULL, NULL},
        {"kind", PF_ENUM, 1, 0, FLOW_EV_COUNT_ - 1, EO(kind), 0, state_names, NULL},
        {"reference", PF_REF, 1, 0, FLOW_REF_MAX, EO(reference), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, EO(sig), 0, NULL, NULL},
        {"started", PF_BOOL, 0, 0, 0, EO(started), 0, NULL, NULL},
        {"team", PF_ID, 0, 0, PROTO_ID_MAX, EO(team), 0, NULL, NULL},
        {"time", PF_TIME, 1, 0, 0, EO(time), 0, NULL, NULL},
        {"version", PF_VERSION1, 1, 0, 0, EO(version), 0, NULL, NULL},
};

/* ---- envelope hash --------------------------------------------------------- */

int flow_envelope_hash(uint8_t out[32], const struct env_envelope *e)
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
	rc = proto_sign(r->sig, &b, org_sk);
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
	if (flow_roster_signing_input(r, &b) != VARSKO_OK || proto_verify(r->sig, &b, org_pk) != VARSKO_OK) {
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

static json_t *team_alert(const char *kind, const char *reference, const char *team, int akut)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "alert", "kind", kind, "reference", reference, "team",
	                 team, "akut", akut != 0);
}

json_t *flow_no_reader_alert(const char *reference, const char *team, int akut)
{
	return team_alert("no_reader", reference, team, akut);
}

json_t *flow_dead_letter_alert(const char *reference, const char *team, int akut)
{
	return team_alert("dead_letter", reference, team, akut);
}

size_t flow_roster_readers(const struct flow_roster *r)
{
	size_t n = 0;

	for (size_t i = 0; r != NULL && i < r->n && i < FLOW_ROSTER_MAX; i++) {
		size_t k;

		if (strcmp(r->certs[i].role, "myndighed") != 0)
			continue;
		for (k = 0; k < i; k++)
			if (strcmp(r->certs[k].role, "myndighed") == 0 && strcmp(r->certs[k].user, r->certs[i].user) == 0)
				break;
		n += k == i;
	}
	return n;
}

int flow_roster_to_json(const struct flow_roster *r, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!roster_well_formed(r))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(roster_fields, PF_N(roster_fields), r, out);
}

int flow_roster_from_json(const json_t *j, struct flow_roster *out)
{
	const char *detail;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (pf_decode(j, roster_fields, PF_N(roster_fields), NULL, out, &detail) != VARSKO_OK ||
	    !roster_well_formed(out)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_FRAME;
	}
	return VARSKO_OK;
}

/* ---- receipt -------------------------------------------------------------------- */

static int receipt_well_formed(const struct flow_receipt *r)
{
	return r != NULL && r->version == FLOW_VERSION && flow_reference_valid(r->reference) &&
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
	rc = proto_sign(r->sig, &b, gateway_sk);
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
	    proto_verify(r->sig, &b, gateway_cert->sign_pk) != VARSKO_OK)
		goto out;
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_receipt_to_json(const struct flow_receipt *r, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!receipt_well_formed(r))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(receipt_fields, PF_N(receipt_fields), r, out);
}

int flow_receipt_from_json(const json_t *j, struct flow_receipt *out)
{
	const char *detail;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (pf_decode(j, receipt_fields, PF_N(receipt_fields), NULL, out, &detail) != VARSKO_OK ||
	    !receipt_well_formed(out)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_FRAME;
	}
	return VARSKO_OK;
}

/* ---- events ----------------------------------------------------------------------- */

const char *flow_event_kind_name(enum flow_event_kind k)
{
	if ((int)k <= FLOW_EV_NONE || (int)k >= FLOW_EV_COUNT_)
		return NULL;
	return state_names[k - 1];
}

enum flow_event_kind flow_event_kind_from_name(const char *s)
{
	if (s == NULL)
		return FLOW_EV_NONE;
	for (int k = FLOW_EV_NONE + 1; k < FLOW_EV_COUNT_; k++)
		if (strcmp(state_names[k - 1], s) == 0)
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

	if (e == NULL || e->version != FLOW_VERSION || flow_event_kind_name(e->kind) == NULL ||
	    !flow_reference_valid(e->reference) || !id_ok(e->device, sizeof(e->device)) || !time_ok(e->time))
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
	rc = proto_sign(e->sig, &b, sk);
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
	if (flow_event_signing_input(e, &b) != VARSKO_OK || proto_verify(e->sig, &b, sign_pk) != VARSKO_OK)
		goto out;
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_event_to_json(const struct flow_event *e, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!event_well_formed(e))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(event_fields, PF_N(event_fields), e, out);
}

int flow_event_from_json(const json_t *j, struct flow_event *out)
{
	const char *detail;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	out->akut = -1;
	out->started = -1;
	if (pf_decode(j, event_fields, PF_N(event_fields), NULL, out, &detail) != VARSKO_OK ||
	    !event_well_formed(out)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_FRAME;
	}
	return VARSKO_OK;
}

/* ---- refusal ------------------------------------------------------------------------- */

static const char *const refusal_reasons[] = {"cannot_open", "bad_document", "failed_check"};
_Static_assert(sizeof(refusal_reasons) / sizeof(refusal_reasons[0]) == FLOW_RF_COUNT_ - 1, "refusal reasons");

#define RFO(m) offsetof(struct flow_refusal, m)
static const struct pf_field refusal_fields[] = {
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, RFO(device), 0, NULL, NULL},
        {"reason", PF_ENUM, 1, 0, FLOW_RF_COUNT_ - 1, RFO(reason), 0, refusal_reasons, NULL},
        {"reference", PF_REF, 1, 0, FLOW_REF_MAX, RFO(reference), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, RFO(sig), 0, NULL, NULL},
        {"time", PF_TIME, 1, 0, 0, RFO(time), 0, NULL, NULL},
        {"version", PF_VERSION1, 1, 0, 0, RFO(version), 0, NULL, NULL},
};

const char *flow_refusal_reason_name(enum flow_refusal_reason r)
{
	if ((int)r <= FLOW_RF_NONE || (int)r >= FLOW_RF_COUNT_)
		return NULL;
	return refusal_reasons[r - 1];
}

enum flow_refusal_reason flow_refusal_reason_from_name(const char *s)
{
	for (int i = FLOW_RF_NONE + 1; s != NULL && i < FLOW_RF_COUNT_; i++)
		if (strcmp(s, refusal_reasons[i - 1]) == 0)
			return (enum flow_refusal_reason)i;
	return FLOW_RF_NONE;
}

static int refusal_well_formed(const struct flow_refusal *f)
{
	return f != NULL && f->version == FLOW_VERSION && flow_reference_valid(f->reference) &&
	       id_ok(f->device, sizeof(f->device)) && time_ok(f->time) && flow_refusal_reason_name(f->reason) != NULL;
}

int flow_refusal_signing_input(const struct flow_refusal *f, struct proto_buf *b)
{
	proto_buf_put_str(b, FLOW_TAG_REFUSAL);
	proto_buf_put_u64(b, f->version);
	proto_buf_put_str(b, f->reference);
	proto_buf_put_str(b, f->device);
	proto_buf_put_i64(b, f->time);
	proto_buf_put_str(b, flow_refusal_reason_name(f->reason));
	return b->err;
}

int flow_refusal_sign(struct flow_refusal *f, const uint8_t sk[64])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&b);
	if (sk == NULL || !refusal_well_formed(f))
		goto out;
	if ((rc = flow_refusal_signing_input(f, &b)) != VARSKO_OK)
		goto out;
	rc = proto_sign(f->sig, &b, sk);
out:
	proto_buf_free(&b);
	return rc;
}

int flow_refusal_verify(const struct flow_refusal *f, const uint8_t sign_pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_SIGNATURE;

	proto_buf_init(&b);
	if (sign_pk == NULL || !refusal_well_formed(f))
		goto out;
	if (flow_refusal_signing_input(f, &b) != VARSKO_OK || proto_verify(f->sig, &b, sign_pk) != VARSKO_OK)
		goto out;
	rc = VARSKO_OK;
out:
	proto_buf_free(&b);
	return rc;
}

int flow_refusal_to_json(const struct flow_refusal *f, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!refusal_well_formed(f))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(refusal_fields, PF_N(refusal_fields), f, out);
}

int flow_refusal_from_json(const json_t *j, struct flow_refusal *out)
{
	const char *detail;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (pf_decode(j, refusal_fields, PF_N(refusal_fields), NULL, out, &detail) != VARSKO_OK ||
	    !refusal_well_formed(out)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_FRAME;
	}
	return VARSKO_OK;
}

/* ---- frames ------------------------------------------------------------------------- */

/*
 * The frames are only checked here (nothing is stored: the offsets are 0)
 * and handed on as JSON; a member that is an object of its own (envelope,
 * event, certificate, ...) is checked by its own from_json in the caller.
 */
#define ID_BAD "id must be 1 to 64 visible ASCII characters"
#define C_OBJ(k, req)                                                                                                  \
	{                                                                                                              \
		k, PF_OBJ, req, 0, 0, 0, 0, NULL, NULL                                                                 \
	}
#define C_REF(k)                                                                                                       \
	{                                                                                                              \
		k, PF_REF, 1, 0, FLOW_REF_MAX, 0, 0, NULL, NULL                                                        \
	}
#define C_ID(k)                                                                                                        \
	{                                                                                                              \
		k, PF_ID, 1, 1, PROTO_ID_MAX, 0, 0, NULL, ID_BAD                                                       \
	}
#define C_BOOL(k)                                                                                                      \
	{                                                                                                              \
		k, PF_BOOL, 1, 0, 0, 0, 0, NULL, NULL                                                                  \
	}
#define C_TIME(k)                                                                                                      \
	{                                                                                                              \
		k, PF_TIME, 1, 0, 0, 0, 0, NULL, NULL                                                                  \
	}
#define C_ENUM(k, names, bad)                                                                                          \
	{                                                                                                              \
		k, PF_ENUM, 1, 0, PF_N(names), 0, 0, names, bad                                                        \
	}
#define C_LIST(k, max, tab)                                                                                            \
	{                                                                                                              \
		k, PF_OBJLIST, 1, 0, max, 0, 0, tab, NULL                                                              \
	}

static const char *const frist_kinds[] = {"warning", "escalation"};
static const char *const deadline_kinds[] = {"vurdering", "kvittering", "tilbagemelding", "undersoegelse"};
static const char *const deadline_states[] = {"open", "warned", "overdue"};

/* Inside list answers. */
static const struct pf_field k_item[] = {
        C_REF("reference"),       C_ID("team"),
        C_ID("institution"),      C_ID("age_group"),
        C_BOOL("akut"),           C_BOOL("handicap"),
        C_TIME("received"),       C_TIME("vurdering_due"),
        C_TIME("kvittering_due"), C_ENUM("state", state_names, "unknown state"),
};
static const struct pf_field k_dlitem[] = {
        C_REF("reference"),
        C_ENUM("kind", deadline_kinds, "unknown deadline"),
        C_TIME("due"),
        C_ENUM("state", deadline_states, "unknown deadline state"),
};
static const struct pf_field k_tlentry[] = {C_OBJ("event", 1), C_OBJ("cert", 1), C_OBJ("envelope", 0)};
static const struct pf_table t_item = {k_item, PF_N(k_item), 0};
static const struct pf_table t_dlitem = {k_dlitem, PF_N(k_dlitem), 0};
static const struct pf_table t_tlentry = {k_tlentry, PF_N(k_tlentry), 0};

static const struct pf_field k_route[] = {C_OBJ("header", 1)};
static const struct pf_field k_submit[] = {C_OBJ("envelope", 1)};
static const struct pf_field k_event[] = {C_OBJ("event", 1), C_OBJ("envelope", 0)};
static const struct pf_field k_ref[] = {C_REF("reference")};
static const struct pf_field k_team[] = {C_ID("team")};
static const struct pf_field k_routed[] = {C_ID("team"), C_OBJ("roster", 1)};
static const struct pf_field k_receipt[] = {C_OBJ("receipt", 1), C_BOOL("duplicate")};
static const struct pf_field k_event_ok[] = {
        {"seq", PF_U64, 1, 0, 0, 0, 0, NULL, "field must be a non-negative integer"}};
static const struct pf_field k_items[] = {C_LIST("items", FLOW_ITEMS_MAX, &t_item)};
static const struct pf_field k_underretning[] = {C_REF("reference"), C_OBJ("envelope", 1), C_OBJ("receipt", 1),
                                                 C_OBJ("sender_cert", 1), C_OBJ("gateway_cert", 1)};
static const struct pf_field k_timeline[] = {C_OBJ("receipt", 1), C_OBJ("gateway_cert", 1), C_OBJ("sender_cert", 1),
                                             C_LIST("events", FLOW_EVENTS_MAX, &t_tlentry)};
static const struct pf_field k_devices[] = {C_LIST("certs", ENV_RECIPIENTS_MAX, NULL)};
static const struct pf_field k_deadlines[] = {C_LIST("items", FLOW_ITEMS_MAX, &t_dlitem)};
static const struct pf_field k_pushed[] = {C_REF("reference"), C_OBJ("event", 1), C_OBJ("cert", 1),
                                           C_OBJ("envelope", 0)};
static const struct pf_field k_new[] = {{"item", PF_OBJ, 1, 0, 0, 0, 0, &t_item, NULL}};
static const struct pf_field k_frist[] = {
        C_REF("reference"),
        C_ENUM("kind", frist_kinds, "kind must be warning or escalation"),
        C_ENUM("deadline", deadline_kinds, "unknown deadline"),
        C_TIME("due"),
};

static const char *const alert_kinds[] = {"no_reader", "dead_letter"};
static const struct pf_field k_alert[] = {
        C_ENUM("kind", alert_kinds, "kind must be no_reader or dead_letter"),
        C_REF("reference"),
        C_ID("team"),
        C_BOOL("akut"),
};

/* The key model (PROTOCOL.md 15, 16): the three chain kinds. chain is "org" for the org chain (flow_keys.c). */
static const char *const chain_kinds[] = {"user", "team", "org"};
#define C_KIND C_ENUM("kind", chain_kinds, "kind must be user, team or org")
#define C_U64(k)                                                                                                       \
	{                                                                                                              \
		k, PF_U64, 1, 0, 0, 0, 0, NULL, "field must be a non-negative integer"                                 \
	}
#define C_OWNER                                                                                                        \
	{                                                                                                              \
		"owner", PF_ID, 1, 1, PROTO_ID_MAX + 5, 0, 0, NULL, "owner must be user:<id>"                          \
	}
static const struct pf_field k_chain_get[] = {C_KIND, C_ID("chain")};
static const struct pf_field k_chain_append[] = {C_KIND, C_ID("chain"), C_OBJ("link", 1)};
static const struct pf_field k_chain[] = {
        C_KIND,
        C_ID("chain"),
        C_LIST("links", FLOW_CHAIN_LINKS_MAX, NULL),
        C_LIST("certs", FLOW_CHAIN_LINKS_MAX, NULL),
        {"revoked", PF_IDLIST, 1, 0, FLOW_CHAIN_LINKS_MAX, 0, 0, NULL, NULL},
};
static const struct pf_field k_chain_ok[] = {C_KIND, C_ID("chain"), C_U64("seq")};
static const struct pf_field k_keys_get[] = {C_OWNER};
static const struct pf_field k_keys[] = {C_OWNER, C_LIST("sets", FLOW_KEY_SETS_MAX, NULL)};
static const struct pf_field k_keys_put[] = {C_OBJ("set", 1)};
static const struct pf_field k_keys_ok[] = {C_OWNER, C_U64("generation")};
static const struct pf_field k_recovery_put[] = {C_OBJ("box", 1)};
static const struct pf_field k_recovery[] = {C_OBJ("box", 1), C_U64("tries")};
#define C_B64(k, n, req)                                                                                               \
	{                                                                                                              \
		k, PF_B64, req, 0, n, 0, 0, NULL, NULL                                                                 \
	}
static const struct pf_field k_approve_request[] = {C_B64("commit", 32, 1)};
static const struct pf_field k_approve_step[] = {C_ID("approval"), C_B64("nonce", 32, 1)};
static const struct pf_field k_approve_get[] = {C_ID("approval")};
static const struct pf_field k_approval[] = {
        C_ID("approval"),
        C_ID("device"),
        C_OBJ("cert", 1),
        C_B64("commit", 32, 1),
        C_TIME("created"),
        C_TIME("expires"),
        {"old_device", PF_ID, 0, 1, PROTO_ID_MAX, 0, 0, NULL, ID_BAD},
        C_B64("nonce_old", 32, 0),
        C_B64("nonce_new", 32, 0),
};
static const struct pf_table t_approval = {k_approval, PF_N(k_approval), 0};
static const struct pf_field k_approvals[] = {C_LIST("items", FLOW_APPROVALS_MAX, &t_approval)};

/*
 * Consultation threads (PROTOCOL.md 17.3). A "thread" is 28 visible ASCII
 * characters here and a thread id by thread_frame_check() below; MARK is
 * thread.c's table.
 */
#define C_THREAD                                                                                                       \
	{                                                                                                              \
		"thread", PF_ID, 1, THREAD_ID_LEN, THREAD_ID_LEN, 0, 0, NULL, "thread must be a thread id"             \
	}
#define C_POS(k)                                                                                                       \
	{                                                                                                              \
		k, PF_U64, 1, 1, 0, 0, 0, NULL, "field must be a positive integer"                                     \
	}
#define C_MARK                                                                                                         \
	{                                                                                                              \
		"mark", PF_OBJ, 1, 0, 0, 0, 0, &thread_mark_table, NULL                                                \
	}
static const struct pf_field k_missed[] = {C_POS("count")};
static const struct pf_field k_thread_create[] = {
        {"links", PF_OBJLIST, 1, 1, FLOW_THREAD_LINKS_MAX, 0, 0, NULL, NULL}};
static const struct pf_field k_thread_get[] = {C_THREAD};
static const struct pf_field k_thread_append[] = {C_THREAD, C_OBJ("link", 1)};
static const struct pf_field k_thread_send[] = {C_THREAD, C_OBJ("envelope", 1)};
static const struct pf_field k_thread_sync[] = {
        C_THREAD,
        {"after", PF_U64, 0, 0, 0, 0, 0, NULL, "after must be a non-negative integer"},
        {"before", PF_U64, 0, 1, 0, 0, 0, NULL, "before must be a positive integer"},
        {"limit", PF_U64, 0, 1, 0, 0, 0, NULL, "limit must be 1 to 100"},
};
static const struct pf_field k_thread_mark[] = {C_MARK};
static const struct pf_field k_thread_ok[] = {C_THREAD, C_POS("version")};
static const struct pf_field k_thread_raadgivere[] = {C_ID("institution")};
/* Attachments (PROTOCOL.md 17.9): "blob" is a blob id by thread_frame_check(). */
#define C_BLOB                                                                                                         \
	{                                                                                                              \
		"blob", PF_ID, 1, THREAD_BLOB_ID_LEN, THREAD_BLOB_ID_LEN, 0, 0, NULL, "blob must be a blob id"         \
	}
#define C_OFFSET                                                                                                       \
	{                                                                                                              \
		"offset", PF_U64, 1, 0, 0, 0, 0, NULL, "offset must be a non-negative integer"                         \
	}
/* Bound to exactly one of a thread and the caller's underretning by its submission id (thread_frame_check()). */
static const struct pf_field k_blob_begin[] = {
        C_BLOB,
        {"thread", PF_ID, 0, THREAD_ID_LEN, THREAD_ID_LEN, 0, 0, NULL, "thread must be a thread id"},
        {"submission", PF_ID, 0, 1, PROTO_ID_MAX, 0, 0, NULL, ID_BAD},
        C_POS("size"),
        C_B64("sha256", 32, 1)};
static const struct pf_field k_blob_put[] = {C_BLOB, C_OFFSET,
                                             {"data", PF_BYTES, 1, 1, BLOB_PART_MAX, 0, 0, NULL, NULL}};
static const struct pf_field k_blob_get[] = {C_BLOB, C_OFFSET};
static const struct pf_field k_blob_ok[] = {C_BLOB, C_POS("size"), C_U64("received"), C_BOOL("complete")};
static const struct pf_field k_blob_data[] = {C_BLOB, C_POS("size"), C_OFFSET,
                                              {"data", PF_BYTES, 1, 1, BLOB_PART_MAX, 0, 0, NULL, NULL}};
static const struct pf_field k_raadgivere[] = {C_ID("institution"),
                                               {"users", PF_IDLIST, 1, 0, FLOW_RAADGIVERE_MAX, 0, 0, NULL, NULL}};
static const struct pf_field k_thread[] = {C_THREAD,
                                           {"links", PF_OBJLIST, 1, 1, FLOW_CHAIN_LINKS_MAX, 0, 0, NULL, NULL}};
static const struct pf_field k_thread_sent[] = {
        C_THREAD,
        {"message", PF_ID, 1, THREAD_MSG_ID_LEN, THREAD_MSG_ID_LEN, 0, 0, NULL, "message must be a message id"},
        C_POS("seq"),
        C_TIME("received"),
        C_BOOL("duplicate"),
};
static const struct pf_field k_thread_item[] = {
        C_THREAD,          C_ID("institution"), C_BOOL("anonymous"),
        C_POS("version"),  C_U64("last_seq"),   {"last_time", PF_TIME, 0, 0, 0, 0, 0, NULL, NULL},
        {"purged", PF_TIME, 0, 0, 0, 0, 0, NULL, NULL},
};
static const struct pf_table t_thread_item = {k_thread_item, PF_N(k_thread_item), 0};
static const struct pf_field k_threads[] = {C_LIST("threads", FLOW_ITEMS_MAX, &t_thread_item)};
static const struct pf_field k_message[] = {
        C_POS("seq"),
        C_OBJ("envelope", 1),
        C_TIME("received"),
        C_OBJ("sender_cert", 1),
        C_LIST("marks", FLOW_THREAD_MARKS_MAX, &thread_mark_table),
};
static const struct pf_table t_message = {k_message, PF_N(k_message), 0};
static const struct pf_field k_messages[] = {C_THREAD, C_LIST("messages", FLOW_THREAD_SYNC_MAX, &t_message),
                                             C_BOOL("more")};
static const struct pf_field k_mark_ok[] = {C_THREAD, C_POS("seq")};
static const struct pf_field k_thread_message[] = {C_THREAD, C_POS("seq"), C_OBJ("envelope", 1), C_TIME("received"),
                                                   C_OBJ("sender_cert", 1)};
static const struct pf_field k_thread_changed[] = {C_THREAD, C_POS("version")};
static const struct pf_field k_thread_mark_push[] = {C_MARK, C_OBJ("cert", 1)};

/*
 * The municipality's names (PROTOCOL.md 12.7, directory): an institution's
 * kind is one of the import's kinds, but is checked here only as an id so
 * that a new kind does not break older clients.
 */
#define C_NAME                                                                                                         \
	{                                                                                                              \
		"name", PF_TEXT, 1, 1, PROTO_NAME_MAX, 0, 0, NULL, "name must be 1 to 128 bytes of text"               \
	}
static const struct pf_field k_dir_inst[] = {C_ID("id"), C_NAME, C_ID("kind")};
static const struct pf_field k_dir_team[] = {
        C_ID("id"),
        C_NAME,
        {"phone", PF_TEXT, 0, 1, FLOW_PHONE_MAX, 0, 0, NULL, "phone must be 1 to 32 bytes of text"}};
static const struct pf_table t_dir_inst = {k_dir_inst, PF_N(k_dir_inst), 0};
static const struct pf_table t_dir_team = {k_dir_team, PF_N(k_dir_team), 0};
static const struct pf_field k_directory[] = {
        C_LIST("institutions", FLOW_DIRECTORY_MAX, &t_dir_inst),
        C_LIST("teams", FLOW_DIRECTORY_MAX, &t_dir_team),
        {"akut_team", PF_ID, 0, 1, PROTO_ID_MAX, 0, 0, NULL, ID_BAD},
};

/*
 * The leder's ledelsestilsyn figures (PROTOCOL.md 12.7, report_get): the
 * dates are checked for their shape here and as calendar dates by the
 * gateway (bad_input), which also decides the default period. The figures
 * are report.c's JSON for one team, an object the client reads as it is.
 */
#define C_DATE(k)                                                                                                      \
	{                                                                                                              \
		k, PF_ID, 0, FLOW_DATE_LEN, FLOW_DATE_LEN, 0, 0, NULL, k " must be a date YYYY-MM-DD"                  \
	}
static const struct pf_field k_report_get[] = {C_DATE("from"), C_DATE("to")};
static const struct pf_field k_report[] = {C_OBJ("figures", 1)};

/* MQTT event payload (agents on varsko/<tenant>/ack). */
static const struct pf_field k_mqtt_event[] = {C_OBJ("event", 1), C_OBJ("cert", 1)};
static const struct pf_field k_mqtt_refusal[] = {C_OBJ("refusal", 1), C_OBJ("cert", 1)};

/* Requests and answers may carry "id"; pushes and MQTT payloads may not. */
#define TYPE(name, id, tab)                                                                                            \
	{                                                                                                              \
		name, tab, PF_N(tab), id                                                                               \
	}
static const struct pf_type specs[FLOW_T_COUNT_] = {
        [FLOW_T_NONE] = {NULL, NULL, 0, 0},
        [FLOW_T_ROUTE] = TYPE("route", 1, k_route),
        [FLOW_T_SUBMIT] = TYPE("submit", 1, k_submit),
        [FLOW_T_EVENT] = TYPE("event", 1, k_event),
        [FLOW_T_INBOX] = {"inbox", NULL, 0, 1},
        [FLOW_T_MINE] = {"mine", NULL, 0, 1},
        [FLOW_T_FETCH] = TYPE("fetch", 1, k_ref),
        [FLOW_T_STATUS] = TYPE("status", 1, k_ref),
        [FLOW_T_NOTIFIER_DEVICES] = TYPE("notifier_devices", 1, k_ref),
        [FLOW_T_ROSTER] = TYPE("roster", 1, k_team),
        [FLOW_T_OVERVIEW] = {"overview", NULL, 0, 1},
        [FLOW_T_CHAIN_GET] = TYPE("chain_get", 1, k_chain_get),
        [FLOW_T_CHAIN_APPEND] = TYPE("chain_append", 1, k_chain_append),
        [FLOW_T_KEYS_GET] = TYPE("keys_get", 1, k_keys_get),
        [FLOW_T_KEYS_PUT] = TYPE("keys_put", 1, k_keys_put),
        [FLOW_T_RECOVERY_GET] = {"recovery_get", NULL, 0, 1},
        [FLOW_T_RECOVERY_PUT] = TYPE("recovery_put", 1, k_recovery_put),
        [FLOW_T_APPROVE_REQUEST] = TYPE("approve_request", 1, k_approve_request),
        [FLOW_T_APPROVE_LIST] = {"approve_list", NULL, 0, 1},
        [FLOW_T_APPROVE_OFFER] = TYPE("approve_offer", 1, k_approve_step),
        [FLOW_T_APPROVE_REVEAL] = TYPE("approve_reveal", 1, k_approve_step),
        [FLOW_T_APPROVE_GET] = TYPE("approve_get", 1, k_approve_get),
        [FLOW_T_THREAD_CREATE] = TYPE("thread_create", 1, k_thread_create),
        [FLOW_T_THREAD_GET] = TYPE("thread_get", 1, k_thread_get),
        [FLOW_T_THREAD_APPEND] = TYPE("thread_append", 1, k_thread_append),
        [FLOW_T_THREAD_SEND] = TYPE("thread_send", 1, k_thread_send),
        [FLOW_T_THREAD_LIST] = {"thread_list", NULL, 0, 1},
        [FLOW_T_THREAD_SYNC] = TYPE("thread_sync", 1, k_thread_sync),
        [FLOW_T_THREAD_MARK] = TYPE("thread_mark", 1, k_thread_mark),
        [FLOW_T_THREAD_RAADGIVERE] = TYPE("thread_raadgivere", 1, k_thread_raadgivere),
        [FLOW_T_BLOB_BEGIN] = TYPE("blob_begin", 1, k_blob_begin),
        [FLOW_T_BLOB_PUT] = TYPE("blob_put", 1, k_blob_put),
        [FLOW_T_BLOB_GET] = TYPE("blob_get", 1, k_blob_get),
        [FLOW_T_DIRECTORY_GET] = {"directory_get", NULL, 0, 1},
        [FLOW_T_REPORT_GET] = TYPE("report_get", 1, k_report_get),
        [FLOW_T_ROUTED] = TYPE("routed", 1, k_routed),
        [FLOW_T_RECEIPT] = TYPE("receipt", 1, k_receipt),
        [FLOW_T_EVENT_OK] = TYPE("event_ok", 1, k_event_ok),
        [FLOW_T_ITEMS] = TYPE("items", 1, k_items),
        [FLOW_T_UNDERRETNING] = TYPE("underretning", 1, k_underretning),
        [FLOW_T_TIMELINE] = TYPE("timeline", 1, k_timeline),
        [FLOW_T_DEVICES] = TYPE("devices", 1, k_devices),
        [FLOW_T_DEADLINES] = TYPE("deadlines", 1, k_deadlines),
        [FLOW_T_CHAIN] = TYPE("chain", 1, k_chain),
        [FLOW_T_CHAIN_OK] = TYPE("chain_ok", 1, k_chain_ok),
        [FLOW_T_KEYS] = TYPE("keys", 1, k_keys),
        [FLOW_T_KEYS_OK] = TYPE("keys_ok", 1, k_keys_ok),
        [FLOW_T_RECOVERY] = TYPE("recovery", 1, k_recovery),
        [FLOW_T_RECOVERY_OK] = {"recovery_ok", NULL, 0, 1},
        [FLOW_T_APPROVAL] = TYPE("approval", 1, k_approval),
        [FLOW_T_APPROVALS] = TYPE("approvals", 1, k_approvals),
        [FLOW_T_THREAD_OK] = TYPE("thread_ok", 1, k_thread_ok),
        [FLOW_T_THREAD] = TYPE("thread", 1, k_thread),
        [FLOW_T_THREAD_SENT] = TYPE("thread_sent", 1, k_thread_sent),
        [FLOW_T_THREADS] = TYPE("threads", 1, k_threads),
        [FLOW_T_MESSAGES] = TYPE("messages", 1, k_messages),
        [FLOW_T_MARK_OK] = TYPE("mark_ok", 1, k_mark_ok),
        [FLOW_T_RAADGIVERE] = TYPE("raadgivere", 1, k_raadgivere),
        [FLOW_T_BLOB_OK] = TYPE("blob_ok", 1, k_blob_ok),
        [FLOW_T_BLOB_DATA] = TYPE("blob_data", 1, k_blob_data),
        [FLOW_T_DIRECTORY] = TYPE("directory", 1, k_directory),
        [FLOW_T_REPORT] = TYPE("report", 1, k_report),
        [FLOW_T_PUSHED] = TYPE("pushed", 0, k_pushed),
        [FLOW_T_NEW_UNDERRETNING] = TYPE("new_underretning", 0, k_new),
        [FLOW_T_FRIST] = TYPE("frist", 0, k_frist),
        [FLOW_T_THREAD_MESSAGE] = TYPE("thread_message", 0, k_thread_message),
        [FLOW_T_THREAD_CHANGED] = TYPE("thread_changed", 0, k_thread_changed),
        [FLOW_T_THREAD_MARK_PUSH] = TYPE("thread_mark", 0, k_thread_mark_push),
        [FLOW_T_ALERT] = TYPE("alert", 0, k_alert),
        [FLOW_T_MISSED] = TYPE("missed", 0, k_missed),
};

/* The MQTT payloads: same names as the frames, no "id". */
static const struct pf_type mqtt_specs[FLOW_T_COUNT_] = {
        [FLOW_T_UNDERRETNING] = TYPE("underretning", 0, k_underretning),
        [FLOW_T_EVENT] = TYPE("event", 0, k_mqtt_event),
        [FLOW_T_FRIST] = TYPE("frist", 0, k_frist),
        [FLOW_T_ALERT] = TYPE("alert", 0, k_alert),
        [FLOW_T_REFUSAL] = TYPE("refusal", 0, k_mqtt_refusal),
};

const char *flow_type_name(enum flow_type t)
{
	if ((int)t <= FLOW_T_NONE || (int)t >= FLOW_T_COUNT_)
		return NULL;
	return specs[t].name != NULL ? specs[t].name : mqtt_specs[t].name; /* refusal: MQTT only */
}

/* 1 when t is one of the frames of consultation threads (PROTOCOL.md 17.3). */
static int thread_type(enum flow_type t)
{
	return (t >= FLOW_T_THREAD_CREATE && t <= FLOW_T_BLOB_GET) || (t >= FLOW_T_THREAD_OK && t <= FLOW_T_BLOB_DATA) ||
	       (t >= FLOW_T_THREAD_MESSAGE && t <= FLOW_T_THREAD_MARK_PUSH);
}

/* A MARK that is valid as a whole (thread_mark_from_json), not only in its shape. */
static int mark_ok(const json_t *m)
{
	struct thread_mark tm;

	return thread_mark_from_json(m, &tm) == VARSKO_OK;
}

/*
 * What the tables cannot say about a thread frame that passed its table:
 * every "thread" is a thread id and a thread_sent's "message" a message id
 * (thread.h: canonical, so one thread has one spelling); thread_sync has
 * exactly one of "after" and "before" and a limit of at most
 * FLOW_THREAD_SYNC_MAX; every MARK is valid. VARSKO_OK or
 * VARSKO_ERR_BAD_FRAME with *detail.
 */
static int thread_frame_check(const json_t *o, enum flow_type t, const char **detail)
{
	const json_t *v, *arr;
	size_t i, k;

	if ((v = json_object_get(o, "thread")) != NULL && !thread_id_valid(json_string_value(v))) {
		*detail = "thread must be a thread id";
		return VARSKO_ERR_BAD_FRAME;
	}
	if ((v = json_object_get(o, "blob")) != NULL && !thread_blob_id_valid(json_string_value(v))) {
		*detail = "blob must be a blob id";
		return VARSKO_ERR_BAD_FRAME;
	}
	if (t == FLOW_T_BLOB_BEGIN && (json_object_get(o, "thread") != NULL) == (json_object_get(o, "submission") != NULL)) {
		*detail = "blob_begin has exactly one of thread and submission";
		return VARSKO_ERR_BAD_FRAME;
	}
	if (t == FLOW_T_THREAD_SENT && !thread_message_id_valid(json_string_value(json_object_get(o, "message")))) {
		*detail = "message must be a message id";
		return VARSKO_ERR_BAD_FRAME;
	}
	if (t == FLOW_T_THREAD_SYNC) {
		if ((json_object_get(o, "after") != NULL) == (json_object_get(o, "before") != NULL)) {
			*detail = "thread_sync has exactly one of after and before";
			return VARSKO_ERR_BAD_FRAME;
		}
		if ((v = json_object_get(o, "limit")) != NULL && json_integer_value(v) > FLOW_THREAD_SYNC_MAX) {
			*detail = "limit must be 1 to 100";
			return VARSKO_ERR_BAD_FRAME;
		}
	}
	arr = json_object_get(o, "threads");
	for (i = 0; t == FLOW_T_THREADS && i < json_array_size(arr); i++)
		if (!thread_id_valid(json_string_value(json_object_get(json_array_get(arr, i), "thread")))) {
			*detail = "thread must be a thread id";
			return VARSKO_ERR_BAD_FRAME;
		}
	if ((v = json_object_get(o, "mark")) != NULL && !mark_ok(v)) {
		*detail = "the mark is not valid";
		return VARSKO_ERR_BAD_FRAME;
	}
	arr = json_object_get(o, "messages");
	for (i = 0; t == FLOW_T_MESSAGES && i < json_array_size(arr); i++) {
		const json_t *marks = json_object_get(json_array_get(arr, i), "marks");

		for (k = 0; k < json_array_size(marks); k++)
			if (!mark_ok(json_array_get(marks, k))) {
				*detail = "the mark is not valid";
				return VARSKO_ERR_BAD_FRAME;
			}
	}
	return VARSKO_OK;
}

/*
 * See flow.h. Loaded once with the flow frames' limit; the "type" is looked
 * up once. A type that is not a flow type is proto.h's business (pf not
 * NULL), held to proto.h's smaller limit, or VARSKO_ERR_UNKNOWN_TYPE.
 */
int flow_frame_decode(const char *buf, size_t len, json_t **out, enum flow_type *type, struct proto_frame *pf,
                      char *id_out, const char **detail)
{
	const char *dummy, *s;
	char id[PROTO_ID_MAX + 1];
	json_t *o = NULL;
	size_t sl;
	int r, id_bad, t;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (id_out != NULL)
		id_out[0] = '\0';
	if (out == NULL || type == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*type = FLOW_T_NONE;
	if (pf != NULL)
		memset(pf, 0, sizeof(*pf));
	if ((r = pf_load(buf, len, FLOW_FRAME_MAX, JSON_ALLOW_NUL, &o, detail)) != VARSKO_OK)
		goto out;
	pf_frame_head(o, id, &id_bad, &s, &sl, detail);
	if (id_out != NULL)
		memcpy(id_out, id, sizeof(id));
	if (pf != NULL)
		memcpy(pf->id, id, sizeof(id)); /* as proto_frame_decode() keeps it on failure */
	r = VARSKO_ERR_BAD_FRAME;
	if (s == NULL)
		goto out;
	if ((t = pf_type_find(specs, FLOW_T_COUNT_, s, sl)) < 0) {
		if (pf == NULL) {
			*detail = "unknown type";
			r = VARSKO_ERR_UNKNOWN_TYPE;
		} else if (len > PROTO_FRAME_MAX) {
			*detail = "input too large";
			r = VARSKO_ERR_TOO_LARGE;
			pf->id[0] = '\0';
			if (id_out != NULL)
				id_out[0] = '\0';
		} else {
			r = proto_frame_from_json(o, pf, detail);
		}
		goto out;
	}
	/* The request thread_mark and the push of the same name: the push is the one with a certificate. */
	if (t == FLOW_T_THREAD_MARK && json_object_get(o, "cert") != NULL)
		t = FLOW_T_THREAD_MARK_PUSH;
	if (!id_bad && !specs[t].has_id && json_object_get(o, "id") != NULL) {
		*detail = "a push carries no id";
		goto out;
	}
	if ((r = pf_frame_check(o, &specs[t], id_bad, NULL, detail)) != VARSKO_OK)
		goto out;
	if (thread_type((enum flow_type)t) && (r = thread_frame_check(o, (enum flow_type)t, detail)) != VARSKO_OK)
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

int flow_frame_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, char *id_out, const char **detail)
{
	return flow_frame_decode(buf, len, out, type, NULL, id_out, detail);
}

int flow_frame_dump(const json_t *frame, char **out, size_t *len)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (!json_is_object(frame))
		return VARSKO_ERR_BAD_INPUT;
	return pf_dump(frame, out, len);
}

int flow_mqtt_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, const char **detail)
{
	const char *dummy, *s;
	char id[PROTO_ID_MAX + 1];
	json_t *o = NULL;
	size_t sl;
	int r, id_bad, t;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (out == NULL || type == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*type = FLOW_T_NONE;
	if ((r = pf_load(buf, len, FLOW_FRAME_MAX, JSON_ALLOW_NUL, &o, detail)) != VARSKO_OK)
		goto out;
	pf_frame_head(o, id, &id_bad, &s, &sl, detail);
	r = VARSKO_ERR_BAD_FRAME;
	if (s == NULL)
		goto out;
	if ((t = pf_type_find(mqtt_specs, FLOW_T_COUNT_, s, sl)) < 0) {
		*detail = "unknown type";
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	/* No "id" in an MQTT payload: the table's keys and "type" only. */
	if ((r = pf_frame_check(o, &mqtt_specs[t], 0, NULL, detail)) != VARSKO_OK)
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
