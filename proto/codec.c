/*
 * codec.c: JSON frames <-> struct proto_frame: the tables of proto.h's frame
 * types for the schema engine (schema.c, proto-internal.h).
 *
 * Everything here takes untrusted input: the engine caps the size, refuses
 * duplicate keys and checks every member against the frame type's table.
 * Encoding walks the same tables, so the encoder never produces a frame the
 * decoder would refuse, and encode(decode(x)) is a fixed point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "proto-internal.h"
#include "proto.h"

/* ---- frame tables ---------------------------------------------------------- */

#define FO(member) offsetof(struct proto_frame, member)

static const struct pf_field hello_fields[] = {
        {"version", PF_VERSION1, 1, 0, 0, FO(u.hello.version), 0, NULL, NULL},
        {"nonce", PF_B64, 1, 0, PROTO_NONCE_LEN, FO(u.hello.nonce), 0, NULL, NULL},
        {"time", PF_TIME, 1, 0, 0, FO(u.hello.time), 0, NULL, NULL},
        {"org_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.hello.org_pk), 0, NULL, NULL},
        {"root_pk", PF_B64, 0, 0, PROTO_PK_LEN, FO(u.hello.root_pk), FO(u.hello.has_root), NULL, NULL},
};
static const struct pf_field enroll_fields[] = {
        {"code", PF_TEXT, 1, 1, PROTO_CODE_MAX, FO(u.enroll.code), 0, NULL, NULL},
        {"origin", PF_ID, 1, 1, PROTO_ORIGIN_MAX, FO(u.enroll.origin), 0, NULL, NULL},
        {"sign_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enroll.sign_pk), 0, NULL, NULL},
        {"box_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enroll.box_pk), 0, NULL, NULL},
        {"label", PF_TEXT, 0, 0, PROTO_ID_MAX, FO(u.enroll.label), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, FO(u.enroll.sig), 0, NULL, NULL},
};
static const struct pf_field enrolled_fields[] = {
        {"cert", PF_OBJ, 1, 0, 0, FO(u.enrolled.cert), 0, &proto_cert_table, "certificate must be an object"},
        {"org_pk", PF_B64, 1, 0, PROTO_PK_LEN, FO(u.enrolled.org_pk), 0, NULL, NULL},
        {"gateway_cert", PF_OBJ, 1, 0, 0, FO(u.enrolled.gateway_cert), 0, &proto_cert_table,
         "certificate must be an object"},
};
static const struct pf_field login_fields[] = {
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, FO(u.login.device), 0, NULL, NULL},
        {"origin", PF_ID, 1, 1, PROTO_ORIGIN_MAX, FO(u.login.origin), 0, NULL, NULL},
        {"time", PF_TIME, 1, 0, 0, FO(u.login.time), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, FO(u.login.sig), 0, NULL, NULL},
};
static const struct pf_field session_fields[] = {
        {"cert", PF_OBJ, 1, 0, 0, FO(u.session.cert), 0, &proto_cert_table, "certificate must be an object"},
};
static const struct pf_field confirm_fields[] = {
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, FO(u.confirm.device), 0, NULL, NULL},
        {"origin", PF_ID, 1, 1, PROTO_ORIGIN_MAX, FO(u.confirm.origin), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, FO(u.confirm.sig), 0, NULL, NULL},
};
static const struct pf_field error_fields[] = {
        {"code", PF_ID, 1, 1, PROTO_ID_MAX, FO(u.error.code), 0, NULL, NULL},
        {"message", PF_TEXT, 1, 0, PROTO_MSG_MAX, FO(u.error.message), 0, NULL, NULL},
};

#define TYPE(n, tab, id)                                                                                               \
	{                                                                                                              \
		n, tab, PF_N(tab), id                                                                                  \
	}
static const struct pf_type specs[PROTO_T_COUNT_] = {
        [PROTO_T_NONE] = {NULL, NULL, 0, 0},
        [PROTO_T_HELLO] = TYPE("hello", hello_fields, 0),
        [PROTO_T_ENROLL] = TYPE("enroll", enroll_fields, 1),
        [PROTO_T_ENROLLED] = TYPE("enrolled", enrolled_fields, 1),
        [PROTO_T_LOGIN] = TYPE("login", login_fields, 1),
        [PROTO_T_SESSION] = TYPE("session", session_fields, 1),
        [PROTO_T_WHOAMI] = {"whoami", NULL, 0, 1},
        [PROTO_T_PING] = {"ping", NULL, 0, 1},
        [PROTO_T_PONG] = {"pong", NULL, 0, 1},
        [PROTO_T_ERROR] = TYPE("error", error_fields, 1),
        [PROTO_T_ENROLL_CONFIRM] = TYPE("enroll_confirm", confirm_fields, 1),
        [PROTO_T_CONFIRMED] = TYPE("confirmed", session_fields, 1),
};

/* The wire name of t, or NULL for PROTO_T_NONE and values out of range. */
const char *proto_type_name(enum proto_type t)
{
	if ((int)t <= PROTO_T_NONE || (int)t >= PROTO_T_COUNT_)
		return NULL;
	return specs[t].name;
}

/* ---- frames -------------------------------------------------------------- */

/*
 * See proto-internal.h. Order of checks: request id (copied out first so an
 * error answer can echo it), type, then the fields of the type. A frame may
 * hold enrollment codes, so the scratch copy is wiped.
 */
int proto_frame_from_json(const json_t *o, struct proto_frame *out, const char **detail)
{
	const char *s;
	struct proto_frame *f = NULL;
	size_t slen;
	int r, id_bad, t;

	memset(out, 0, sizeof(*out));
	pf_frame_head(o, out->id, &id_bad, &s, &slen, detail);
	if (s == NULL) {
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	if ((t = pf_type_find(specs, PROTO_T_COUNT_, s, slen)) < 0) {
		*detail = "unknown type";
		r = VARSKO_ERR_UNKNOWN_TYPE;
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	f->type = (enum proto_type)t;
	memcpy(f->id, out->id, sizeof(f->id));
	if ((r = pf_frame_check(o, &specs[t], id_bad, f, detail)) != VARSKO_OK)
		goto out;
	memcpy(out, f, sizeof(*out));
	*detail = "";
	r = VARSKO_OK;
out:
	if (f != NULL) {
		sodium_memzero(f, sizeof(*f));
		free(f);
	}
	if (r != VARSKO_OK) {
		char id[PROTO_ID_MAX + 1];

		memcpy(id, out->id, sizeof(id));
		sodium_memzero(out, sizeof(*out));
		memcpy(out->id, id, sizeof(id));
	}
	return r;
}

/* See proto.h: the size cap and the load, then proto_frame_from_json(). */
int proto_frame_decode(const char *buf, size_t len, struct proto_frame *out, const char **detail)
{
	const char *dummy;
	json_t *o = NULL;
	int r;

	if (detail == NULL)
		detail = &dummy;
	*detail = "";
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if ((r = pf_load(buf, len, PROTO_FRAME_MAX, JSON_ALLOW_NUL, &o, detail)) != VARSKO_OK)
		return r;
	r = proto_frame_from_json(o, out, detail);
	json_decref(o);
	return r;
}

/*
 * See proto.h. Refuses with VARSKO_ERR_BAD_FRAME (and no output) a frame
 * that proto_frame_decode() would refuse: unknown type, bad id, a string
 * too long or with bad characters, a time out of range, and so on.
 */
int proto_frame_encode(const struct proto_frame *f, char **out, size_t *len)
{
	const char *detail = "", *z;
	json_t *o = NULL, *v;
	size_t idlen;
	int r = VARSKO_ERR_INTERNAL;

	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if (f == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (proto_type_name(f->type) == NULL)
		return VARSKO_ERR_BAD_FRAME;
	if ((o = json_object()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((v = json_string(specs[f->type].name)) == NULL || json_object_set_new(o, "type", v) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((z = memchr(f->id, '\0', sizeof(f->id))) == NULL) {
		r = VARSKO_ERR_BAD_FRAME;
		goto out;
	}
	idlen = (size_t)(z - f->id);
	if (idlen > 0) {
		if (!specs[f->type].has_id || !pf_valid_id(f->id, idlen, 1, PROTO_ID_MAX)) {
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		if ((v = json_stringn(f->id, idlen)) == NULL || json_object_set_new(o, "id", v) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	if ((r = pf_encode(o, specs[f->type].fields, specs[f->type].n, f, &detail)) != VARSKO_OK)
		goto out;
	r = pf_dump(o, out, len);
out:
	json_decref(o);
	return r;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/*
 * See proto.h. message NULL means varsko_err_text(err). A message that is
 * too long is cut at a character boundary; one with control characters or
 * bad UTF-8 is replaced by varsko_err_text(err), so this only fails for a bad
 * id, out of memory or NULL out/len.
 */
int proto_error_encode(const char *id, int err, const char *message, char **out, size_t *len)
{
	struct proto_frame *f;
	size_t n;
	int r;

	if (out == NULL || len == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	*len = 0;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return VARSKO_ERR_NOMEM;
	f->type = PROTO_T_ERROR;
	if (id != NULL) {
		n = strlen(id);
		if (n > PROTO_ID_MAX) {
			r = VARSKO_ERR_BAD_FRAME;
			goto out;
		}
		memcpy(f->id, id, n + 1);
	}
	snprintf(f->u.error.code, sizeof(f->u.error.code), "%s", varsko_err_name(err));
	if (message == NULL)
		message = varsko_err_text(err);
	n = utf8_cut(message, strlen(message), PROTO_MSG_MAX);
	if (!pf_valid_text(message, n, 0, PROTO_MSG_MAX)) {
		message = varsko_err_text(err);
		n = strlen(message);
	}
	memcpy(f->u.error.message, message, n);
	f->u.error.message[n] = '\0';
	r = proto_frame_encode(f, out, len);
out:
	free(f);
	return r;
}
