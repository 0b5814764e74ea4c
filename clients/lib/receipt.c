/*
 * receipt.c: the gateway's signed receipts on the client side: checking one
 * (against the pinned organisation key and the gateway certificate), saving
 * it in the home, and verifying a saved file offline. Also the small
 * conversions of nested objects (certificates, envelopes) that the flow
 * modules share.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int cert_from_obj(const json_t *o, struct proto_cert *out)
{
	char *text;
	int r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return VARSKO_ERR_BAD_FRAME;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = proto_cert_from_json(text, strlen(text), out);
	free(text);
	return r;
}

int env_from_obj(const json_t *o, struct env_envelope **out)
{
	char *text;
	int r;

	*out = NULL;
	if (!json_is_object(o))
		return VARSKO_ERR_BAD_FRAME;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = env_from_json(text, strlen(text), out);
	free(text);
	return r;
}

int env_to_obj(const struct env_envelope *e, json_t **out)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = env_to_json(e, &text, &len)) != VARSKO_OK)
		return r;
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	return *out != NULL ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

static void rstrip(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		s[--*len] = '\0';
}

int home_load_org(struct varsko_home *h, uint8_t org_pk[PROTO_PK_LEN])
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if (!varsko_home_is_enrolled(h)) {
		snprintf(h->detail, sizeof(h->detail), "%s holds no enrolled device; run enroll first", h->path);
		return VARSKO_ERR_NOT_FOUND;
	}
	if ((r = home_read(h, HOME_F_ORG, &text, &len)) == VARSKO_OK) {
		rstrip(text, &len);
		if (proto_b64_decode_exact(text, org_pk, PROTO_PK_LEN) != VARSKO_OK)
			r = VARSKO_ERR_BAD_INPUT;
	}
	if (r != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_ORG);
	free(text);
	return r;
}

int home_load_gateway(struct varsko_home *h, struct proto_cert *gw)
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if ((r = home_read(h, HOME_F_GATEWAY, &text, &len)) == VARSKO_OK)
		r = proto_cert_from_json(text, len, gw) == VARSKO_OK ? VARSKO_OK : VARSKO_ERR_BAD_INPUT;
	if (r != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_GATEWAY);
	free(text);
	return r;
}

int receipt_check(const struct flow_receipt *r, const struct proto_cert *gw, const uint8_t org_pk[PROTO_PK_LEN],
                  char *detail, size_t dcap)
{
	int rc;

	if (!flow_reference_valid(r->reference)) {
		snprintf(detail, dcap, "the receipt's reference is malformed");
		return VARSKO_ERR_BAD_FRAME;
	}
	/* As of the receipt's own time: a receipt stays valid after the gateway certificate is renewed. */
	rc = flow_receipt_verify(r, gw, org_pk, r->received);
	if (rc == VARSKO_ERR_BAD_CERT)
		snprintf(detail, dcap,
		         "the gateway certificate does not verify against the organisation key, or is not the "
		         "receipt's");
	else if (rc != VARSKO_OK)
		snprintf(detail, dcap, "the receipt's signature does not verify");
	return rc;
}

int receipt_verify_text(const char *text, size_t len, const struct proto_cert *gw, const uint8_t org_pk[PROTO_PK_LEN],
                        struct flow_receipt *out, char *detail, size_t dcap)
{
	int r;
	json_t *o = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		r = json_error_code(&jerr) == json_error_duplicate_key ? VARSKO_ERR_DUPLICATE_KEY : VARSKO_ERR_BAD_JSON;
		snprintf(detail, dcap, "the receipt file is not one JSON object");
		goto out;
	}
	if ((r = flow_receipt_from_json(o, out)) != VARSKO_OK) {
		snprintf(detail, dcap, "the receipt file does not hold a well-formed receipt");
		goto out;
	}
	r = receipt_check(out, gw, org_pk, detail, dcap);
out:
	json_decref(o);
	return r;
}

int receipt_save(struct varsko_home *h, const struct flow_receipt *r)
{
	int rc;
	json_t *o = NULL;
	char *text = NULL, name[sizeof(HOME_D_RECEIPTS) + FLOW_REF_MAX + 8];

	if (!flow_reference_valid(r->reference))
		return VARSKO_ERR_BAD_INPUT;
	snprintf(name, sizeof(name), "%s/%s.json", HOME_D_RECEIPTS, r->reference);
	if ((rc = flow_receipt_to_json(r, &o)) != VARSKO_OK)
		goto out;
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		rc = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* One line, like the other files of a home. */
	{
		size_t n = strlen(text);
		char *line = malloc(n + 2);

		if (line == NULL) {
			rc = VARSKO_ERR_NOMEM;
			goto out;
		}
		memcpy(line, text, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		rc = home_write(h, name, line, n + 1, 0600, 0);
		free(line);
	}
out:
	if (rc != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot save the receipt in %s/%s", h->path, HOME_D_RECEIPTS);
	free(text);
	json_decref(o);
	return rc;
}

void receipt_info(const struct flow_receipt *r, int duplicate, struct varsko_receipt_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->reference, r->reference, sizeof(out->reference));
	memcpy(out->submission, r->submission, sizeof(out->submission));
	memcpy(out->sender, r->sender, sizeof(out->sender));
	memcpy(out->sender_user, r->sender_user, sizeof(out->sender_user));
	memcpy(out->institution, r->institution, sizeof(out->institution));
	memcpy(out->team, r->team, sizeof(out->team));
	memcpy(out->gateway, r->gateway, sizeof(out->gateway));
	out->received = r->received;
	out->vurdering_due = r->vurdering_due;
	out->kvittering_due = r->kvittering_due;
	out->tilbagemelding_due = r->tilbagemelding_due;
	out->duplicate = duplicate;
}

int receipt_json_text(const struct flow_receipt *r, char **out)
{
	json_t *o = NULL;
	int rc;

	*out = NULL;
	if ((rc = flow_receipt_to_json(r, &o)) != VARSKO_OK)
		return rc;
	*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *out != NULL ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

int varsko_receipt_verify_file(struct varsko_home *h, const char *path, struct varsko_receipt_info *info,
                               char **receipt_json)
{
	int r;
	char *text = NULL;
	size_t len = 0;
	uint8_t org_pk[PROTO_PK_LEN];
	struct proto_cert gw;
	struct flow_receipt rc;

	h->detail[0] = '\0';
	if (receipt_json != NULL)
		*receipt_json = NULL;
	if ((r = home_load_org(h, org_pk)) != VARSKO_OK || (r = home_load_gateway(h, &gw)) != VARSKO_OK)
		goto out;
	if ((r = file_read(path, HOME_FILE_MAX, 0, &text, &len)) != VARSKO_OK) {
		snprintf(h->detail, sizeof(h->detail), "cannot read the receipt file");
		goto out;
	}
	if ((r = receipt_verify_text(text, len, &gw, org_pk, &rc, h->detail, sizeof(h->detail))) != VARSKO_OK)
		goto out;
	if (info != NULL)
		receipt_info(&rc, 0, info);
	if (receipt_json != NULL && (r = receipt_json_text(&rc, receipt_json)) != VARSKO_OK)
		goto out;
	r = VARSKO_OK;
out:
	file_free(text, len, 0);
	return r;
}
