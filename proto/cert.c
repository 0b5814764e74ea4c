/*
 * cert.c: device certificates: signing, verification and the JSON object.
 *
 * The JSON object is parsed by the same schema engine as frames (schema.c),
 * from one table, so a certificate inside a frame and a certificate file are
 * held to the same rules. The signature is never over JSON: it is over
 * proto_cert_signing_input() (sign.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "proto-internal.h"
#include "proto.h"

#define CO(member) offsetof(struct proto_cert, member)

static const struct pf_field cert_fields[] = {
        {"version", PF_U32POS, 1, 0, 0, CO(version), 0, NULL, NULL},
        {"serial", PF_U64, 1, 1, 0, CO(serial), 0, NULL, NULL},
        {"user", PF_ID, 1, 1, PROTO_ID_MAX, CO(user), 0, NULL, NULL},
        {"name", PF_TEXT, 1, 1, PROTO_NAME_MAX, CO(name), 0, NULL, NULL},
        {"role", PF_ID, 1, 1, PROTO_ROLE_MAX, CO(role), 0, NULL, NULL},
        {"team", PF_ID, 1, 0, PROTO_ID_MAX, CO(team), 0, NULL, NULL},
        {"institutions", PF_IDLIST, 1, 0, PROTO_INST_MAX, CO(institutions), CO(n_institutions), NULL, NULL},
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, CO(device), 0, NULL, NULL},
        {"sign_pk", PF_B64, 1, 0, PROTO_PK_LEN, CO(sign_pk), 0, NULL, NULL},
        {"box_pk", PF_B64, 1, 0, PROTO_PK_LEN, CO(box_pk), 0, NULL, NULL},
        {"not_before", PF_TIME, 1, 0, 0, CO(not_before), 0, NULL, NULL},
        {"not_after", PF_TIME, 1, 0, 0, CO(not_after), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, CO(sig), 0, NULL, NULL},
};
const struct pf_table proto_cert_table = {cert_fields, PF_N(cert_fields), sizeof(struct proto_cert)};

/*
 * See proto.h. Sets c->device from c->sign_pk, then c->sig over the signing
 * input with org_sk (borrowed, not kept). Refuses with VARSKO_ERR_BAD_INPUT a
 * certificate that could not be written as JSON (bad strings, times out of
 * range, version other than 1), so nothing unencodable is ever signed.
 */
int proto_cert_sign(struct proto_cert *c, const uint8_t org_sk[64])
{
	struct proto_buf b;
	json_t *o = NULL;
	int r;

	if (c == NULL || org_sk == NULL)
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_init(&b);
	proto_device_id(c->sign_pk, c->device);
	if (c->version != PROTO_VERSION || pf_encode_object(cert_fields, PF_N(cert_fields), c, &o) != VARSKO_OK) {
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((r = proto_cert_signing_input(c, &b)) != VARSKO_OK)
		goto out;
	r = proto_sign(c->sig, &b, org_sk);
out:
	json_decref(o);
	proto_buf_free(&b);
	return r;
}

/*
 * See proto.h. The signature is checked before the validity window, so a
 * forged certificate is always VARSKO_ERR_BAD_CERT, never "expired".
 */
int proto_cert_verify(const struct proto_cert *c, const uint8_t org_pk[PROTO_PK_LEN], int64_t now)
{
	struct proto_buf b;
	char dev[PROTO_DEVICE_ID_LEN + 1];
	int r = VARSKO_ERR_BAD_CERT;

	if (c == NULL || org_pk == NULL)
		return VARSKO_ERR_BAD_CERT;
	proto_buf_init(&b);
	if (c->version != PROTO_VERSION || c->n_institutions > PROTO_INST_MAX)
		goto out;
	/* Every string must be terminated inside its array before strlen() touches it. */
	if (memchr(c->user, '\0', sizeof(c->user)) == NULL || memchr(c->name, '\0', sizeof(c->name)) == NULL ||
	    memchr(c->role, '\0', sizeof(c->role)) == NULL || memchr(c->team, '\0', sizeof(c->team)) == NULL ||
	    memchr(c->device, '\0', sizeof(c->device)) == NULL)
		goto out;
	for (size_t i = 0; i < c->n_institutions; i++)
		if (memchr(c->institutions[i], '\0', sizeof(c->institutions[i])) == NULL)
			goto out;
	proto_device_id(c->sign_pk, dev);
	if (strcmp(dev, c->device) != 0)
		goto out;
	if (proto_cert_signing_input(c, &b) != VARSKO_OK)
		goto out;
	if (proto_verify(c->sig, &b, org_pk) != VARSKO_OK)
		goto out;
	if (now < c->not_before || now > c->not_after) {
		r = VARSKO_ERR_DEVICE_EXPIRED;
		goto out;
	}
	r = VARSKO_OK;
out:
	proto_buf_free(&b);
	return r;
}

/* See proto.h. Returns VARSKO_ERR_BAD_INPUT for a certificate that would not parse back. */
int proto_cert_to_json(const struct proto_cert *c, char **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (c == NULL)
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_text(cert_fields, PF_N(cert_fields), c, out, NULL);
}

/*
 * See proto.h. Returns VARSKO_OK, VARSKO_ERR_TOO_LARGE, VARSKO_ERR_BAD_JSON,
 * VARSKO_ERR_DUPLICATE_KEY or VARSKO_ERR_BAD_FRAME; *out is zeroed on failure.
 */
int proto_cert_from_json(const char *buf, size_t len, struct proto_cert *out)
{
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	r = pf_decode_text(buf, len, PROTO_FRAME_MAX, JSON_ALLOW_NUL, cert_fields, PF_N(cert_fields), out);
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return r;
}
