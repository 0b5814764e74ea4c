/*
 * chain.c: the hash-linked signed chains of the key model (chain.h;
 * PROTOCOL.md section 13): one link struct for the org, user, team and
 * thread chains, its signing inputs, hash and JSON form (a table of the
 * schema engine per op), and the verifier states that a chain extends link
 * by link.
 *
 * Every link goes through one well-formedness check (chain_link_well_formed)
 * before it is encoded, signed, hashed or verified, so nothing is signed
 * that would not be written as JSON and read back to the same signing
 * input. The extend functions work on a copy of the state and write it back
 * only when every check passed. Nothing here is secret: signing keys are
 * borrowed and only passed to proto_sign().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "proto-internal.h"
#include "thread.h"

#define CHAIN_TIME_MAX_ 253402300799LL /* 9999-12-31T23:59:59Z, the last time proto_time_parse() accepts */

_Static_assert(sizeof(enum chain_op) == sizeof(int), "PF_ENUM stores an int");
_Static_assert(sizeof(enum chain_role) == sizeof(int), "PF_ENUM stores an int");

/* By enum value, CHAIN_OP_ADMIN_ADD (1) first. */
static const char *const op_names[] = {
        "admin_add",           "admin_remove",  "enroll_key",        "gateway_key",
        "uk_create",           "device_add",    "device_revoke",     "uk_rotate",
        "team_create",         "member_add",    "member_remove",     "leder_add",
        "leder_remove",        "thread_create", "thread_member_add", "thread_member_remove",
        "thread_member_leave",
};
_Static_assert(PF_N(op_names) == CHAIN_OP_COUNT_ - 1, "one name per op");

static const char *const role_names[] = {"myndighed", "leder", "agent", "fagperson", "raadgiver"};
_Static_assert(PF_N(role_names) == CHAIN_ROLE_COUNT_ - 1, "one name per role");

/* The fields each op uses besides seq, prev, op, time and the signatures (chain.h's table). */
enum {
	U_USER = 1 << 0,     /* user */
	U_DEVICE = 1 << 1,   /* device */
	U_DEVKEYS = 1 << 2,  /* device_sign_pk, device_box_pk */
	U_PK = 1 << 3,       /* pk */
	U_GEN = 1 << 4,      /* generation */
	U_NOTAFTER = 1 << 5, /* not_after */
	U_UK = 1 << 6,       /* uk_sign_pk */
	U_UKBOX = 1 << 7,    /* uk_box_pk */
	U_ROLE = 1 << 8,     /* role */
	U_INST = 1 << 9,     /* institution */
	U_ANON = 1 << 10,    /* anonymous */
};

static const struct {
	enum chain_kind kind;
	unsigned uses;
	size_t sigs;
} ops[CHAIN_OP_COUNT_] = {
        [CHAIN_OP_NONE] = {CHAIN_KIND_NONE, 0, 0},
        [CHAIN_OP_ADMIN_ADD] = {CHAIN_KIND_ORG, U_USER | U_PK | U_GEN, 1},
        [CHAIN_OP_ADMIN_REMOVE] = {CHAIN_KIND_ORG, U_USER, 1},
        [CHAIN_OP_ENROLL_KEY] = {CHAIN_KIND_ORG, U_PK | U_NOTAFTER, 1},
        [CHAIN_OP_GATEWAY_KEY] = {CHAIN_KIND_ORG, U_PK, 1},
        [CHAIN_OP_UK_CREATE] = {CHAIN_KIND_USER, U_DEVICE | U_DEVKEYS | U_GEN | U_UK | U_UKBOX, 1},
        [CHAIN_OP_DEVICE_ADD] = {CHAIN_KIND_USER, U_DEVICE | U_DEVKEYS, 1},
        [CHAIN_OP_DEVICE_REVOKE] = {CHAIN_KIND_USER, U_DEVICE, 1},
        [CHAIN_OP_UK_ROTATE] = {CHAIN_KIND_USER, U_GEN | U_UK | U_UKBOX, 2},
        [CHAIN_OP_TEAM_CREATE] = {CHAIN_KIND_TEAM, U_USER | U_ROLE | U_GEN | U_UK, 1},
        [CHAIN_OP_MEMBER_ADD] = {CHAIN_KIND_TEAM, U_USER | U_ROLE | U_GEN | U_UK, 1},
        [CHAIN_OP_MEMBER_REMOVE] = {CHAIN_KIND_TEAM, U_USER, 1},
        [CHAIN_OP_LEDER_ADD] = {CHAIN_KIND_TEAM, U_USER, 1},
        [CHAIN_OP_LEDER_REMOVE] = {CHAIN_KIND_TEAM, U_USER, 1},
        [CHAIN_OP_THREAD_CREATE] = {CHAIN_KIND_THREAD, U_INST | U_ANON | U_USER | U_ROLE | U_GEN | U_UK, 1},
        [CHAIN_OP_THREAD_MEMBER_ADD] = {CHAIN_KIND_THREAD, U_USER | U_ROLE | U_GEN | U_UK, 1},
        [CHAIN_OP_THREAD_MEMBER_REMOVE] = {CHAIN_KIND_THREAD, U_USER, 1},
        [CHAIN_OP_THREAD_MEMBER_LEAVE] = {CHAIN_KIND_THREAD, U_USER, 1},
};

const char *chain_op_name(enum chain_op op)
{
	if ((int)op <= CHAIN_OP_NONE || (int)op >= CHAIN_OP_COUNT_)
		return NULL;
	return op_names[op - 1];
}

enum chain_op chain_op_from_name(const char *s)
{
	if (s == NULL)
		return CHAIN_OP_NONE;
	for (int k = CHAIN_OP_NONE + 1; k < CHAIN_OP_COUNT_; k++)
		if (strcmp(op_names[k - 1], s) == 0)
			return (enum chain_op)k;
	return CHAIN_OP_NONE;
}

const char *chain_role_name(enum chain_role r)
{
	if ((int)r <= CHAIN_ROLE_NONE || (int)r >= CHAIN_ROLE_COUNT_)
		return NULL;
	return role_names[r - 1];
}

enum chain_kind chain_op_kind(enum chain_op op)
{
	if ((int)op <= CHAIN_OP_NONE || (int)op >= CHAIN_OP_COUNT_)
		return CHAIN_KIND_NONE;
	return ops[op].kind;
}

int chain_role_of_kind(enum chain_role r, enum chain_kind k)
{
	switch (r) {
	case CHAIN_ROLE_LEDER:
		return k == CHAIN_KIND_TEAM || k == CHAIN_KIND_THREAD;
	case CHAIN_ROLE_MYNDIGHED:
	case CHAIN_ROLE_AGENT:
		return k == CHAIN_KIND_TEAM;
	case CHAIN_ROLE_FAGPERSON:
	case CHAIN_ROLE_RAADGIVER:
		return k == CHAIN_KIND_THREAD;
	default:
		return 0;
	}
}

/* ---- JSON tables -------------------------------------------------------------- */

#define SO(m) offsetof(struct chain_sig, m)
static const struct pf_field sig_fields[] = {
        {"pk", PF_B64, 1, 0, PROTO_PK_LEN, SO(pk), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, SO(sig), 0, NULL, NULL},
};
static const struct pf_table sig_table = {sig_fields, PF_N(sig_fields), sizeof(struct chain_sig)};

/*
 * One table per op: the members every link has, then the op's own. The
 * chain id is "user" in a user link and "team" in a team link; "user" in
 * an org or team link is the admin or member. team_create has no "role"
 * member: its role is always leder. The thread chain's id is "thread";
 * "anonymous" is a JSON boolean (an integer 0 or 1 in the signing input).
 */
#define L(m) offsetof(struct chain_link, m)
#define F_OP                                                                                                           \
	{                                                                                                              \
		"op", PF_ENUM, 1, 0, CHAIN_OP_COUNT_ - 1, L(op), 0, op_names, NULL                                     \
	}
#define F_SEQ                                                                                                          \
	{                                                                                                              \
		"seq", PF_U64, 1, 1, 0, L(seq), 0, NULL, NULL                                                          \
	}
#define F_PREV                                                                                                         \
	{                                                                                                              \
		"prev", PF_B64, 1, 0, CHAIN_HASH_LEN, L(prev), 0, NULL, NULL                                           \
	}
#define F_TIME                                                                                                         \
	{                                                                                                              \
		"time", PF_TIME, 1, 0, 0, L(time), 0, NULL, NULL                                                       \
	}
#define F_SIGS(nsigs)                                                                                                  \
	{                                                                                                              \
		"sigs", PF_OBJLIST, 1, nsigs, nsigs, L(sigs), L(n_sigs), &sig_table, NULL                              \
	}
#define F_COMMON(nsigs) F_OP, F_SEQ, F_PREV, F_TIME, F_SIGS(nsigs)
#define F_ID(name, m)                                                                                                  \
	{                                                                                                              \
		name, PF_ID, 1, 1, PROTO_ID_MAX, L(m), 0, NULL, NULL                                                   \
	}
#define F_KEY(name, m)                                                                                                 \
	{                                                                                                              \
		name, PF_B64, 1, 0, PROTO_PK_LEN, L(m), 0, NULL, NULL                                                  \
	}
#define F_GEN(name)                                                                                                    \
	{                                                                                                              \
		name, PF_U64, 1, 1, 0, L(generation), 0, NULL, NULL                                                    \
	}
#define F_ROLE                                                                                                         \
	{                                                                                                              \
		"role", PF_ENUM, 1, 0, CHAIN_ROLE_COUNT_ - 1, L(role), 0, role_names, NULL                             \
	}

static const struct pf_field t_admin_add[] = {F_COMMON(1), F_ID("user", user), F_KEY("uk_sign_pk", pk),
                                              F_GEN("uk_generation")};
static const struct pf_field t_admin_remove[] = {F_COMMON(1), F_ID("user", user)};
static const struct pf_field t_enroll_key[] = {
        F_COMMON(1), F_KEY("pk", pk), {"not_after", PF_TIME, 1, 0, 0, L(not_after), 0, NULL, NULL}};
static const struct pf_field t_gateway_key[] = {F_COMMON(1), F_KEY("pk", pk)};
static const struct pf_field t_uk_create[] = {F_COMMON(1),
                                              F_ID("user", chain),
                                              F_ID("device", device),
                                              F_KEY("device_sign_pk", device_sign_pk),
                                              F_KEY("device_box_pk", device_box_pk),
                                              F_GEN("generation"),
                                              F_KEY("uk_sign_pk", uk_sign_pk),
                                              F_KEY("uk_box_pk", uk_box_pk)};
static const struct pf_field t_device_add[] = {F_COMMON(1), F_ID("user", chain), F_ID("device", device),
                                               F_KEY("device_sign_pk", device_sign_pk),
                                               F_KEY("device_box_pk", device_box_pk)};
static const struct pf_field t_device_revoke[] = {F_COMMON(1), F_ID("user", chain), F_ID("device", device)};
static const struct pf_field t_uk_rotate[] = {F_COMMON(2), F_ID("user", chain), F_GEN("generation"),
                                              F_KEY("uk_sign_pk", uk_sign_pk), F_KEY("uk_box_pk", uk_box_pk)};
static const struct pf_field t_team_create[] = {F_COMMON(1), F_ID("team", chain), F_ID("user", user),
                                                F_GEN("uk_generation"), F_KEY("uk_sign_pk", uk_sign_pk)};
static const struct pf_field t_member_add[] = {F_COMMON(1), F_ID("team", chain),    F_ID("user", user),
                                               F_ROLE,      F_GEN("uk_generation"), F_KEY("uk_sign_pk", uk_sign_pk)};
static const struct pf_field t_team_user[] = {F_COMMON(1), F_ID("team", chain), F_ID("user", user)};
static const struct pf_field t_thread_create[] = {F_COMMON(1),
                                                  F_ID("thread", chain),
                                                  F_ID("institution", institution),
                                                  {"anonymous", PF_BOOL, 1, 0, 0, L(anonymous), 0, NULL, NULL},
                                                  F_ID("user", user),
                                                  F_ROLE,
                                                  F_GEN("uk_generation"),
                                                  F_KEY("uk_sign_pk", uk_sign_pk)};
static const struct pf_field t_thread_member_add[] = {
        F_COMMON(1), F_ID("thread", chain),  F_ID("user", user),
        F_ROLE,      F_GEN("uk_generation"), F_KEY("uk_sign_pk", uk_sign_pk)};
static const struct pf_field t_thread_user[] = {F_COMMON(1), F_ID("thread", chain), F_ID("user", user)};

static const struct {
	const struct pf_field *fields;
	size_t n;
} tables[CHAIN_OP_COUNT_] = {
        [CHAIN_OP_NONE] = {NULL, 0},
        [CHAIN_OP_ADMIN_ADD] = {t_admin_add, PF_N(t_admin_add)},
        [CHAIN_OP_ADMIN_REMOVE] = {t_admin_remove, PF_N(t_admin_remove)},
        [CHAIN_OP_ENROLL_KEY] = {t_enroll_key, PF_N(t_enroll_key)},
        [CHAIN_OP_GATEWAY_KEY] = {t_gateway_key, PF_N(t_gateway_key)},
        [CHAIN_OP_UK_CREATE] = {t_uk_create, PF_N(t_uk_create)},
        [CHAIN_OP_DEVICE_ADD] = {t_device_add, PF_N(t_device_add)},
        [CHAIN_OP_DEVICE_REVOKE] = {t_device_revoke, PF_N(t_device_revoke)},
        [CHAIN_OP_UK_ROTATE] = {t_uk_rotate, PF_N(t_uk_rotate)},
        [CHAIN_OP_TEAM_CREATE] = {t_team_create, PF_N(t_team_create)},
        [CHAIN_OP_MEMBER_ADD] = {t_member_add, PF_N(t_member_add)},
        [CHAIN_OP_MEMBER_REMOVE] = {t_team_user, PF_N(t_team_user)},
        [CHAIN_OP_LEDER_ADD] = {t_team_user, PF_N(t_team_user)},
        [CHAIN_OP_LEDER_REMOVE] = {t_team_user, PF_N(t_team_user)},
        [CHAIN_OP_THREAD_CREATE] = {t_thread_create, PF_N(t_thread_create)},
        [CHAIN_OP_THREAD_MEMBER_ADD] = {t_thread_member_add, PF_N(t_thread_member_add)},
        [CHAIN_OP_THREAD_MEMBER_REMOVE] = {t_thread_user, PF_N(t_thread_user)},
        [CHAIN_OP_THREAD_MEMBER_LEAVE] = {t_thread_user, PF_N(t_thread_user)},
};

/* ---- well-formedness ------------------------------------------------------------ */

/* 1 when the string in char[cap] is NUL-terminated inside it and is an id of 1..PROTO_ID_MAX visible ASCII. */
static int id_ok(const char *s, size_t cap)
{
	const char *z = memchr(s, '\0', cap);

	return z != NULL && pf_valid_id(s, (size_t)(z - s), 1, PROTO_ID_MAX);
}

static int time_ok(int64_t t)
{
	return t >= 0 && t <= CHAIN_TIME_MAX_;
}

static int zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n);
}

/* An id when used, else "" (the bytes after a used id's NUL are not looked at). */
static int str_field_ok(const char *s, size_t cap, int used)
{
	return used ? id_ok(s, cap) : s[0] == '\0';
}

/*
 * Everything chain.h's table says about l. exact: the signatures are all
 * there (n_sigs is the op's count); otherwise fewer are allowed (a link
 * being signed). Signatures are counted, not checked.
 */
static int well_formed(const struct chain_link *l, int exact)
{
	unsigned u;

	if (l == NULL || (int)l->op <= CHAIN_OP_NONE || (int)l->op >= CHAIN_OP_COUNT_ || l->kind != ops[l->op].kind)
		return 0;
	u = ops[l->op].uses;
	if (exact ? l->n_sigs != ops[l->op].sigs : l->n_sigs > ops[l->op].sigs)
		return 0;
	if (!str_field_ok(l->chain, sizeof(l->chain), l->kind != CHAIN_KIND_ORG))
		return 0;
	if (l->kind == CHAIN_KIND_THREAD && !thread_id_valid(l->chain))
		return 0;
	if (l->seq < 1 || l->seq > (uint64_t)INT64_MAX || !time_ok(l->time))
		return 0;
	if (!str_field_ok(l->user, sizeof(l->user), u & U_USER) ||
	    !str_field_ok(l->device, sizeof(l->device), u & U_DEVICE) ||
	    !str_field_ok(l->institution, sizeof(l->institution), u & U_INST))
		return 0;
	if ((u & U_ANON) ? (l->anonymous != 0 && l->anonymous != 1) : l->anonymous != 0)
		return 0;
	if (!(u & U_DEVKEYS) && (!zero(l->device_sign_pk, PROTO_PK_LEN) || !zero(l->device_box_pk, PROTO_PK_LEN)))
		return 0;
	if (!(u & U_PK) && !zero(l->pk, PROTO_PK_LEN))
		return 0;
	if ((u & U_GEN) ? (l->generation < 1 || l->generation > (uint64_t)INT64_MAX) : l->generation != 0)
		return 0;
	if ((u & U_NOTAFTER) ? !time_ok(l->not_after) : l->not_after != 0)
		return 0;
	if (!(u & U_UK) && !zero(l->uk_sign_pk, PROTO_PK_LEN))
		return 0;
	if (!(u & U_UKBOX) && !zero(l->uk_box_pk, PROTO_PK_LEN))
		return 0;
	/* A team's first member is its leder; a thread's creator is a fagperson or a rådgiver, never a leder. */
	if (l->op == CHAIN_OP_TEAM_CREATE) {
		if (l->role != CHAIN_ROLE_LEDER)
			return 0;
	} else if (l->op == CHAIN_OP_THREAD_CREATE) {
		if (l->role != CHAIN_ROLE_FAGPERSON && l->role != CHAIN_ROLE_RAADGIVER)
			return 0;
	} else if ((u & U_ROLE) ? !chain_role_of_kind(l->role, l->kind) : l->role != CHAIN_ROLE_NONE) {
		return 0;
	}
	return 1;
}

int chain_link_well_formed(const struct chain_link *l)
{
	return well_formed(l, 1);
}

/* ---- signing input and hash ------------------------------------------------------ */

int chain_link_signing_input(const struct chain_link *l, struct proto_buf *b)
{
	int devkeys;

	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!well_formed(l, 0))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	switch (l->kind) {
	case CHAIN_KIND_ORG:
		proto_buf_put_str(b, CHAIN_TAG_ORG);
		proto_buf_put_u64(b, l->seq);
		proto_buf_put_bytes(b, l->prev, CHAIN_HASH_LEN);
		proto_buf_put_str(b, chain_op_name(l->op));
		proto_buf_put_str(b, l->user);
		proto_buf_put_bytes(b, l->pk, PROTO_PK_LEN);
		proto_buf_put_u64(b, l->generation);
		proto_buf_put_i64(b, l->not_after);
		proto_buf_put_i64(b, l->time);
		break;
	case CHAIN_KIND_USER:
		/* The device keys are 32 bytes where the op names a device's keys, an empty field elsewhere. */
		devkeys = (ops[l->op].uses & U_DEVKEYS) != 0;
		proto_buf_put_str(b, CHAIN_TAG_USER);
		proto_buf_put_str(b, l->chain);
		proto_buf_put_u64(b, l->seq);
		proto_buf_put_bytes(b, l->prev, CHAIN_HASH_LEN);
		proto_buf_put_str(b, chain_op_name(l->op));
		proto_buf_put_str(b, l->device);
		proto_buf_put_bytes(b, l->device_sign_pk, devkeys ? PROTO_PK_LEN : 0);
		proto_buf_put_bytes(b, l->device_box_pk, devkeys ? PROTO_PK_LEN : 0);
		proto_buf_put_u64(b, l->generation);
		proto_buf_put_bytes(b, l->uk_sign_pk, PROTO_PK_LEN);
		proto_buf_put_bytes(b, l->uk_box_pk, PROTO_PK_LEN);
		proto_buf_put_i64(b, l->time);
		break;
	case CHAIN_KIND_TEAM:
		proto_buf_put_str(b, CHAIN_TAG_TEAM);
		proto_buf_put_str(b, l->chain);
		proto_buf_put_u64(b, l->seq);
		proto_buf_put_bytes(b, l->prev, CHAIN_HASH_LEN);
		proto_buf_put_str(b, chain_op_name(l->op));
		proto_buf_put_str(b, l->user);
		proto_buf_put_str(b, l->role == CHAIN_ROLE_NONE ? "" : chain_role_name(l->role));
		proto_buf_put_u64(b, l->generation);
		proto_buf_put_bytes(b, l->uk_sign_pk, PROTO_PK_LEN);
		proto_buf_put_i64(b, l->time);
		break;
	case CHAIN_KIND_THREAD:
		proto_buf_put_str(b, CHAIN_TAG_THREAD);
		proto_buf_put_str(b, l->chain);
		proto_buf_put_u64(b, l->seq);
		proto_buf_put_bytes(b, l->prev, CHAIN_HASH_LEN);
		proto_buf_put_str(b, chain_op_name(l->op));
		proto_buf_put_str(b, l->institution);
		proto_buf_put_u64(b, (uint64_t)l->anonymous);
		proto_buf_put_str(b, l->user);
		proto_buf_put_str(b, l->role == CHAIN_ROLE_NONE ? "" : chain_role_name(l->role));
		proto_buf_put_u64(b, l->generation);
		proto_buf_put_bytes(b, l->uk_sign_pk, PROTO_PK_LEN);
		proto_buf_put_i64(b, l->time);
		break;
	default:
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	}
	return b->err;
}

int chain_link_hash(const struct chain_link *l, uint8_t out[CHAIN_HASH_LEN])
{
	struct proto_buf b;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, CHAIN_HASH_LEN);
	proto_buf_init(&b);
	if ((r = chain_link_signing_input(l, &b)) == VARSKO_OK)
		crypto_hash_sha256(out, b.p, b.len);
	proto_buf_free(&b);
	return r;
}

/* ---- JSON ------------------------------------------------------------------------ */

int chain_link_to_json(const struct chain_link *l, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (!chain_link_well_formed(l))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(tables[l->op].fields, tables[l->op].n, l, out);
}

/* The op named by o's "op" member, or CHAIN_OP_NONE; the table of that op then checks everything. */
static enum chain_op peek_op(const json_t *o)
{
	const json_t *v = json_object_get(o, "op");
	const char *s;

	if (!json_is_string(v))
		return CHAIN_OP_NONE;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return CHAIN_OP_NONE;
	return chain_op_from_name(s);
}

int chain_link_from_json(const json_t *j, struct chain_link *out)
{
	const char *detail;
	enum chain_op op;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) || (op = peek_op(j)) == CHAIN_OP_NONE)
		return VARSKO_ERR_BAD_FRAME;
	if (pf_decode(j, tables[op].fields, tables[op].n, NULL, out, &detail) != VARSKO_OK)
		goto bad;
	out->kind = ops[op].kind;
	if (op == CHAIN_OP_TEAM_CREATE)
		out->role = CHAIN_ROLE_LEDER;
	if (!chain_link_well_formed(out))
		goto bad;
	return VARSKO_OK;
bad:
	memset(out, 0, sizeof(*out));
	return VARSKO_ERR_BAD_FRAME;
}

int chain_link_to_text(const struct chain_link *l, char **out, size_t *len)
{
	json_t *o = NULL;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = chain_link_to_json(l, &o)) != VARSKO_OK)
		return r;
	r = pf_dump(o, out, len);
	json_decref(o);
	return r;
}

int chain_link_from_text(const char *buf, size_t len, struct chain_link *out)
{
	const char *detail;
	json_t *o = NULL;
	int r;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if ((r = pf_load(buf, len, CHAIN_LINK_JSON_MAX, JSON_ALLOW_NUL, &o, &detail)) != VARSKO_OK)
		return r;
	r = chain_link_from_json(o, out);
	json_decref(o);
	return r;
}

/* ---- verification: the steps every kind shares ------------------------------------ */

/*
 * Steps 1 and 2 of chain.h: l is well-formed, of the state's kind, of the
 * state's chain (id "" for the org chain, which has none, or an empty state
 * not pinned), and follows head; the create op is link 1 and only link 1.
 */
static int check_follows(const struct chain_head *h, const char *id, const struct chain_link *l, enum chain_kind kind,
                         enum chain_op create)
{
	if (!chain_link_well_formed(l) || l->kind != kind)
		return VARSKO_ERR_BAD_CHAIN;
	if (id[0] != '\0' && strcmp(id, l->chain) != 0)
		return VARSKO_ERR_BAD_CHAIN;
	if (h->seq >= (uint64_t)INT64_MAX || l->seq != h->seq + 1)
		return VARSKO_ERR_BAD_CHAIN;
	if (h->seq == 0 ? !zero(l->prev, CHAIN_HASH_LEN) : sodium_memcmp(l->prev, h->hash, CHAIN_HASH_LEN) != 0)
		return VARSKO_ERR_BAD_CHAIN;
	if (create != CHAIN_OP_NONE && (l->seq == 1) != (l->op == create))
		return VARSKO_ERR_BAD_CHAIN;
	return VARSKO_OK;
}

/* Step 3: every signature verifies with the key it names; *hash gets the link's hash. */
static int check_sigs(const struct chain_link *l, uint8_t hash[CHAIN_HASH_LEN])
{
	struct proto_buf b;
	int r = VARSKO_ERR_BAD_SIGNATURE;

	proto_buf_init(&b);
	if (chain_link_signing_input(l, &b) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < l->n_sigs; i++)
		if (proto_verify(l->sigs[i].sig, &b, l->sigs[i].pk) != VARSKO_OK)
			goto out;
	crypto_hash_sha256(hash, b.p, b.len);
	r = VARSKO_OK;
out:
	proto_buf_free(&b);
	return r;
}

static int same_key(const uint8_t a[PROTO_PK_LEN], const uint8_t b[PROTO_PK_LEN])
{
	return sodium_memcmp(a, b, PROTO_PK_LEN) == 0;
}

/* The admin of org whose user key is pk, or NULL (org NULL has none). */
static const struct chain_admin *admin_by_key(const struct chain_org_state *org, const uint8_t pk[PROTO_PK_LEN])
{
	if (org == NULL)
		return NULL;
	for (size_t i = 0; i < org->n_admins && i < CHAIN_ADMINS_MAX; i++)
		if (same_key(org->admins[i].uk_sign_pk, pk))
			return &org->admins[i];
	return NULL;
}

static void advance(struct chain_head *h, const struct chain_link *l, const uint8_t hash[CHAIN_HASH_LEN])
{
	h->seq = l->seq;
	memcpy(h->hash, hash, CHAIN_HASH_LEN);
}

/* ---- org chain ------------------------------------------------------------------------ */

int chain_org_extend(struct chain_org_state *s, const struct chain_link *l, const uint8_t root_pk[PROTO_PK_LEN])
{
	struct chain_org_state t;
	uint8_t hash[CHAIN_HASH_LEN];
	size_t i;
	int r;

	if (s == NULL || l == NULL || root_pk == NULL || s->n_admins > CHAIN_ADMINS_MAX ||
	    s->n_enroll > CHAIN_ENROLL_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = check_follows(&s->head, "", l, CHAIN_KIND_ORG, CHAIN_OP_NONE)) != VARSKO_OK)
		return r;
	if ((r = check_sigs(l, hash)) != VARSKO_OK)
		return r;
	if (!same_key(l->sigs[0].pk, root_pk))
		return VARSKO_ERR_BAD_SIGNATURE;
	memcpy(&t, s, sizeof(t));
	switch (l->op) {
	case CHAIN_OP_ADMIN_ADD:
		for (i = 0; i < t.n_admins; i++)
			if (strcmp(t.admins[i].user, l->user) == 0 || same_key(t.admins[i].uk_sign_pk, l->pk))
				return VARSKO_ERR_BAD_CHAIN;
		if (t.n_admins >= CHAIN_ADMINS_MAX)
			return VARSKO_ERR_TOO_LARGE;
		memset(&t.admins[t.n_admins], 0, sizeof(t.admins[0]));
		memcpy(t.admins[t.n_admins].user, l->user, sizeof(l->user));
		memcpy(t.admins[t.n_admins].uk_sign_pk, l->pk, PROTO_PK_LEN);
		t.admins[t.n_admins].uk_generation = l->generation;
		t.n_admins++;
		break;
	case CHAIN_OP_ADMIN_REMOVE:
		for (i = 0; i < t.n_admins && strcmp(t.admins[i].user, l->user) != 0; i++)
			;
		if (i == t.n_admins)
			return VARSKO_ERR_BAD_CHAIN;
		memmove(&t.admins[i], &t.admins[i + 1], (t.n_admins - i - 1) * sizeof(t.admins[0]));
		t.n_admins--;
		memset(&t.admins[t.n_admins], 0, sizeof(t.admins[0]));
		break;
	case CHAIN_OP_ENROLL_KEY:
		for (i = 0; i < t.n_enroll && !same_key(t.enroll[i].pk, l->pk); i++)
			;
		if (i == t.n_enroll) {
			if (t.n_enroll >= CHAIN_ENROLL_MAX)
				return VARSKO_ERR_TOO_LARGE;
			memcpy(t.enroll[i].pk, l->pk, PROTO_PK_LEN);
			t.n_enroll++;
		}
		t.enroll[i].not_after = l->not_after;
		break;
	case CHAIN_OP_GATEWAY_KEY:
		memcpy(t.gateway_pk, l->pk, PROTO_PK_LEN);
		t.has_gateway = 1;
		break;
	default:
		return VARSKO_ERR_BAD_CHAIN;
	}
	advance(&t.head, l, hash);
	memcpy(s, &t, sizeof(t));
	return VARSKO_OK;
}

/* ---- user chain ------------------------------------------------------------------------- */

static struct chain_device *device_by_key(struct chain_user_state *s, const uint8_t pk[PROTO_PK_LEN])
{
	for (size_t i = 0; i < s->n_devices; i++)
		if (same_key(s->devices[i].sign_pk, pk))
			return &s->devices[i];
	return NULL;
}

static struct chain_device *device_by_id(struct chain_user_state *s, const char *id)
{
	for (size_t i = 0; i < s->n_devices; i++)
		if (strcmp(s->devices[i].device, id) == 0)
			return &s->devices[i];
	return NULL;
}

/* Step 4 of a user link: the signers its op needs. */
static int user_signers(struct chain_user_state *t, const struct chain_link *l, const struct chain_org_state *org)
{
	const struct chain_device *d;

	switch (l->op) {
	case CHAIN_OP_UK_CREATE:
		return same_key(l->sigs[0].pk, l->device_sign_pk) ? VARSKO_OK : VARSKO_ERR_BAD_SIGNATURE;
	case CHAIN_OP_DEVICE_ADD:
		return same_key(l->sigs[0].pk, t->uk_sign_pk) ? VARSKO_OK : VARSKO_ERR_BAD_SIGNATURE;
	case CHAIN_OP_DEVICE_REVOKE:
		if (same_key(l->sigs[0].pk, t->uk_sign_pk) || admin_by_key(org, l->sigs[0].pk) != NULL)
			return VARSKO_OK;
		return VARSKO_ERR_BAD_SIGNATURE;
	case CHAIN_OP_UK_ROTATE:
		if (!same_key(l->sigs[0].pk, t->uk_sign_pk) || (d = device_by_key(t, l->sigs[1].pk)) == NULL)
			return VARSKO_ERR_BAD_SIGNATURE;
		return d->revoked ? VARSKO_ERR_DEVICE_REVOKED : VARSKO_OK;
	default:
		return VARSKO_ERR_BAD_CHAIN;
	}
}

/* Step 5 of uk_create and device_add: a new device, its id derived from its key, never seen before. */
static int add_device(struct chain_user_state *t, const struct chain_link *l)
{
	char id[PROTO_DEVICE_ID_LEN + 1];
	struct chain_device *d;

	proto_device_id(l->device_sign_pk, id);
	if (strcmp(id, l->device) != 0)
		return VARSKO_ERR_BAD_CHAIN;
	if (device_by_id(t, l->device) != NULL || device_by_key(t, l->device_sign_pk) != NULL)
		return VARSKO_ERR_BAD_CHAIN;
	if (t->n_devices >= CHAIN_DEVICES_MAX)
		return VARSKO_ERR_TOO_LARGE;
	d = &t->devices[t->n_devices++];
	memset(d, 0, sizeof(*d));
	memcpy(d->device, l->device, sizeof(l->device));
	memcpy(d->sign_pk, l->device_sign_pk, PROTO_PK_LEN);
	memcpy(d->box_pk, l->device_box_pk, PROTO_PK_LEN);
	return VARSKO_OK;
}

int chain_user_extend(struct chain_user_state *s, const struct chain_link *l, const struct chain_org_state *org)
{
	struct chain_user_state t;
	struct chain_device *d;
	uint8_t hash[CHAIN_HASH_LEN];
	int r;

	if (s == NULL || l == NULL || s->n_devices > CHAIN_DEVICES_MAX ||
	    memchr(s->user, '\0', sizeof(s->user)) == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = check_follows(&s->head, s->user, l, CHAIN_KIND_USER, CHAIN_OP_UK_CREATE)) != VARSKO_OK)
		return r;
	if ((r = check_sigs(l, hash)) != VARSKO_OK)
		return r;
	memcpy(&t, s, sizeof(t));
	if ((r = user_signers(&t, l, org)) != VARSKO_OK)
		return r;
	switch (l->op) {
	case CHAIN_OP_UK_CREATE:
		if (l->generation != 1)
			return VARSKO_ERR_BAD_CHAIN;
		if ((r = add_device(&t, l)) != VARSKO_OK)
			return r;
		memcpy(t.user, l->chain, sizeof(l->chain));
		break;
	case CHAIN_OP_DEVICE_ADD:
		if ((r = add_device(&t, l)) != VARSKO_OK)
			return r;
		break;
	case CHAIN_OP_DEVICE_REVOKE:
		if ((d = device_by_id(&t, l->device)) == NULL || d->revoked)
			return VARSKO_ERR_BAD_CHAIN;
		d->revoked = 1;
		break;
	case CHAIN_OP_UK_ROTATE:
		if (l->generation != t.generation + 1)
			return VARSKO_ERR_BAD_CHAIN;
		break;
	default:
		return VARSKO_ERR_BAD_CHAIN;
	}
	if (l->op == CHAIN_OP_UK_CREATE || l->op == CHAIN_OP_UK_ROTATE) {
		t.generation = l->generation;
		memcpy(t.uk_sign_pk, l->uk_sign_pk, PROTO_PK_LEN);
		memcpy(t.uk_box_pk, l->uk_box_pk, PROTO_PK_LEN);
	}
	advance(&t.head, l, hash);
	memcpy(s, &t, sizeof(t));
	return VARSKO_OK;
}

/* ---- team chain ---------------------------------------------------------------------------- */

static struct chain_member *member_by_user(struct chain_team_state *s, const char *user)
{
	for (size_t i = 0; i < s->n_members; i++)
		if (strcmp(s->members[i].user, user) == 0)
			return &s->members[i];
	return NULL;
}

static struct chain_member *member_by_key(struct chain_team_state *s, const uint8_t pk[PROTO_PK_LEN])
{
	for (size_t i = 0; i < s->n_members; i++)
		if (same_key(s->members[i].uk_sign_pk, pk))
			return &s->members[i];
	return NULL;
}

static size_t leders(const struct chain_team_state *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_members; i++)
		n += s->members[i].leder != 0;
	return n;
}

/* Step 4 of a team link: an admin, or (after team_create) a leder of the team. */
static int team_signer(struct chain_team_state *t, const struct chain_link *l, const struct chain_org_state *org)
{
	const struct chain_member *m;

	if (admin_by_key(org, l->sigs[0].pk) != NULL)
		return VARSKO_OK;
	if (l->op == CHAIN_OP_TEAM_CREATE || (m = member_by_key(t, l->sigs[0].pk)) == NULL)
		return VARSKO_ERR_NOT_MEMBER;
	return m->leder ? VARSKO_OK : VARSKO_ERR_FORBIDDEN;
}

/* Add l's user as a member (team_create: also the leder). */
static int add_member(struct chain_team_state *t, const struct chain_link *l)
{
	struct chain_member *m;

	if (member_by_user(t, l->user) != NULL || member_by_key(t, l->uk_sign_pk) != NULL)
		return VARSKO_ERR_BAD_CHAIN;
	if (t->n_members >= CHAIN_MEMBERS_MAX)
		return VARSKO_ERR_TOO_LARGE;
	m = &t->members[t->n_members++];
	memset(m, 0, sizeof(*m));
	memcpy(m->user, l->user, sizeof(l->user));
	m->role = l->role;
	memcpy(m->uk_sign_pk, l->uk_sign_pk, PROTO_PK_LEN);
	m->uk_generation = l->generation;
	m->leder = l->op == CHAIN_OP_TEAM_CREATE;
	return VARSKO_OK;
}

int chain_team_extend(struct chain_team_state *s, const struct chain_link *l, const struct chain_org_state *org)
{
	struct chain_team_state t;
	struct chain_member *m;
	uint8_t hash[CHAIN_HASH_LEN];
	size_t i;
	int r;

	if (s == NULL || l == NULL || s->n_members > CHAIN_MEMBERS_MAX ||
	    memchr(s->team, '\0', sizeof(s->team)) == NULL || (org != NULL && org->n_admins > CHAIN_ADMINS_MAX))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = check_follows(&s->head, s->team, l, CHAIN_KIND_TEAM, CHAIN_OP_TEAM_CREATE)) != VARSKO_OK)
		return r;
	if ((r = check_sigs(l, hash)) != VARSKO_OK)
		return r;
	memcpy(&t, s, sizeof(t));
	if ((r = team_signer(&t, l, org)) != VARSKO_OK)
		return r;
	m = member_by_user(&t, l->user);
	switch (l->op) {
	case CHAIN_OP_TEAM_CREATE:
		memcpy(t.team, l->chain, sizeof(l->chain));
		/* fall through */
	case CHAIN_OP_MEMBER_ADD:
		if ((r = add_member(&t, l)) != VARSKO_OK)
			return r;
		break;
	case CHAIN_OP_MEMBER_REMOVE:
		if (m == NULL || (m->leder && leders(&t) == 1))
			return VARSKO_ERR_BAD_CHAIN;
		i = (size_t)(m - t.members);
		memmove(&t.members[i], &t.members[i + 1], (t.n_members - i - 1) * sizeof(t.members[0]));
		t.n_members--;
		memset(&t.members[t.n_members], 0, sizeof(t.members[0]));
		break;
	case CHAIN_OP_LEDER_ADD:
		if (m == NULL || m->leder)
			return VARSKO_ERR_BAD_CHAIN;
		m->leder = 1;
		break;
	case CHAIN_OP_LEDER_REMOVE:
		if (m == NULL || !m->leder || leders(&t) == 1)
			return VARSKO_ERR_BAD_CHAIN;
		m->leder = 0;
		break;
	default:
		return VARSKO_ERR_BAD_CHAIN;
	}
	advance(&t.head, l, hash);
	memcpy(s, &t, sizeof(t));
	return VARSKO_OK;
}

/* ---- thread chain ------------------------------------------------------------------------------ */

static struct chain_thread_member *thread_entry(struct chain_thread_state *s, const char *user)
{
	for (size_t i = 0; i < s->n_members; i++)
		if (strcmp(s->members[i].user, user) == 0)
			return &s->members[i];
	return NULL;
}

const struct chain_thread_member *chain_thread_member(const struct chain_thread_state *s, const char *user)
{
	if (s == NULL || user == NULL || s->n_members > CHAIN_MEMBERS_MAX)
		return NULL;
	return thread_entry((struct chain_thread_state *)s, user);
}

/* The present member whose pinned user key is pk, or NULL. Pins are unique among all entries. */
static struct chain_thread_member *thread_member_by_key(struct chain_thread_state *s, const uint8_t pk[PROTO_PK_LEN])
{
	for (size_t i = 0; i < s->n_members; i++)
		if (s->members[i].removed == 0 && same_key(s->members[i].uk_sign_pk, pk))
			return &s->members[i];
	return NULL;
}

/* Step 4 of a thread link; *signer gets the signing member (NULL for thread_create). */
static int thread_signer(struct chain_thread_state *t, const struct chain_link *l, struct chain_thread_member **signer)
{
	struct chain_thread_member *m;

	*signer = NULL;
	if (l->op == CHAIN_OP_THREAD_CREATE)
		return same_key(l->sigs[0].pk, l->uk_sign_pk) ? VARSKO_OK : VARSKO_ERR_BAD_SIGNATURE;
	if ((m = thread_member_by_key(t, l->sigs[0].pk)) == NULL)
		return VARSKO_ERR_NOT_MEMBER;
	*signer = m;
	if (l->op == CHAIN_OP_THREAD_MEMBER_LEAVE)
		return strcmp(m->user, l->user) == 0 ? VARSKO_OK : VARSKO_ERR_FORBIDDEN;
	return strcmp(m->user, t->creator) == 0 || m->role == CHAIN_ROLE_RAADGIVER ? VARSKO_OK : VARSKO_ERR_FORBIDDEN;
}

/* thread_create and thread_member_add: l's user becomes a member, in its old entry when it had one. */
static int thread_add(struct chain_thread_state *t, const struct chain_link *l)
{
	struct chain_thread_member *m = thread_entry(t, l->user);

	if (m != NULL && m->removed == 0)
		return VARSKO_ERR_BAD_CHAIN;
	for (size_t i = 0; i < t->n_members; i++)
		if (&t->members[i] != m && same_key(t->members[i].uk_sign_pk, l->uk_sign_pk))
			return VARSKO_ERR_BAD_CHAIN;
	if (m == NULL) {
		if (t->n_members >= CHAIN_MEMBERS_MAX)
			return VARSKO_ERR_TOO_LARGE;
		m = &t->members[t->n_members++];
		memset(m, 0, sizeof(*m));
		memcpy(m->user, l->user, sizeof(l->user));
	}
	m->role = l->role;
	memcpy(m->uk_sign_pk, l->uk_sign_pk, PROTO_PK_LEN);
	m->uk_generation = l->generation;
	m->added = l->seq;
	m->removed = 0;
	return VARSKO_OK;
}

int chain_thread_extend(struct chain_thread_state *s, const struct chain_link *l)
{
	struct chain_thread_state t;
	struct chain_thread_member *signer, *m;
	uint8_t hash[CHAIN_HASH_LEN];
	int r;

	if (s == NULL || l == NULL || s->n_members > CHAIN_MEMBERS_MAX ||
	    memchr(s->thread, '\0', sizeof(s->thread)) == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = check_follows(&s->head, s->thread, l, CHAIN_KIND_THREAD, CHAIN_OP_THREAD_CREATE)) != VARSKO_OK)
		return r;
	if ((r = check_sigs(l, hash)) != VARSKO_OK)
		return r;
	memcpy(&t, s, sizeof(t));
	if ((r = thread_signer(&t, l, &signer)) != VARSKO_OK)
		return r;
	switch (l->op) {
	case CHAIN_OP_THREAD_CREATE:
		memcpy(t.thread, l->chain, sizeof(l->chain));
		memcpy(t.institution, l->institution, sizeof(l->institution));
		t.anonymous = l->anonymous;
		memcpy(t.creator, l->user, sizeof(l->user));
		/* fall through */
	case CHAIN_OP_THREAD_MEMBER_ADD:
		if ((r = thread_add(&t, l)) != VARSKO_OK)
			return r;
		break;
	case CHAIN_OP_THREAD_MEMBER_REMOVE:
		/* A member who wants to go leaves; a remove of oneself would read as someone else's decision. */
		if ((m = thread_entry(&t, l->user)) == NULL || m->removed != 0 || m == signer)
			return VARSKO_ERR_BAD_CHAIN;
		m->removed = l->seq;
		break;
	case CHAIN_OP_THREAD_MEMBER_LEAVE:
		signer->removed = l->seq; /* thread_signer() made sure the signer is the member the link names */
		break;
	default:
		return VARSKO_ERR_BAD_CHAIN;
	}
	advance(&t.head, l, hash);
	memcpy(s, &t, sizeof(t));
	return VARSKO_OK;
}

/* ---- whole chains ---------------------------------------------------------------------------- */

int chain_org_verify(const struct chain_link *links, size_t n, const uint8_t root_pk[PROTO_PK_LEN],
                     struct chain_org_state *out, size_t *bad)
{
	size_t i;
	int r = VARSKO_OK;

	if (bad != NULL)
		*bad = 0;
	if (out == NULL || (links == NULL && n > 0) || root_pk == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && r == VARSKO_OK; i++)
		r = chain_org_extend(out, &links[i], root_pk);
	if (bad != NULL)
		*bad = r == VARSKO_OK ? n : i - 1;
	return r;
}

int chain_user_verify(const struct chain_link *links, size_t n, const char *user, const struct chain_org_state *org,
                      struct chain_user_state *out, size_t *bad)
{
	size_t i;
	int r = VARSKO_OK;

	if (bad != NULL)
		*bad = 0;
	if (out == NULL || (links == NULL && n > 0))
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (user != NULL && proto_str_copy(out->user, sizeof(out->user), user) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	for (i = 0; i < n && r == VARSKO_OK; i++)
		r = chain_user_extend(out, &links[i], org);
	if (bad != NULL)
		*bad = r == VARSKO_OK ? n : i - 1;
	return r;
}

int chain_team_verify(const struct chain_link *links, size_t n, const char *team, const struct chain_org_state *org,
                      struct chain_team_state *out, size_t *bad)
{
	size_t i;
	int r = VARSKO_OK;

	if (bad != NULL)
		*bad = 0;
	if (out == NULL || (links == NULL && n > 0))
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (team != NULL && proto_str_copy(out->team, sizeof(out->team), team) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	for (i = 0; i < n && r == VARSKO_OK; i++)
		r = chain_team_extend(out, &links[i], org);
	if (bad != NULL)
		*bad = r == VARSKO_OK ? n : i - 1;
	return r;
}

int chain_thread_verify(const struct chain_link *links, size_t n, const char *thread, struct chain_thread_state *out,
                        size_t *bad)
{
	size_t i;
	int r = VARSKO_OK;

	if (bad != NULL)
		*bad = 0;
	if (out == NULL || (links == NULL && n > 0))
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (thread != NULL && proto_str_copy(out->thread, sizeof(out->thread), thread) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	for (i = 0; i < n && r == VARSKO_OK; i++)
		r = chain_thread_extend(out, &links[i]);
	if (bad != NULL)
		*bad = r == VARSKO_OK ? n : i - 1;
	return r;
}

/* ---- making links ------------------------------------------------------------------------------ */

void chain_link_follow(struct chain_link *l, const struct chain_head *head)
{
	if (l == NULL || head == NULL)
		return;
	l->seq = head->seq + 1;
	memcpy(l->prev, head->hash, CHAIN_HASH_LEN);
	l->n_sigs = 0;
	memset(l->sigs, 0, sizeof(l->sigs));
}

int chain_link_sign(struct chain_link *l, const uint8_t sk[64])
{
	struct proto_buf b;
	int r = VARSKO_ERR_BAD_INPUT;

	proto_buf_init(&b);
	if (l == NULL || sk == NULL || !well_formed(l, 0) || l->n_sigs >= ops[l->op].sigs)
		goto out;
	if ((r = chain_link_signing_input(l, &b)) != VARSKO_OK)
		goto out;
	if ((r = proto_sign(l->sigs[l->n_sigs].sig, &b, sk)) != VARSKO_OK)
		goto out;
	memcpy(l->sigs[l->n_sigs].pk, sk + 32, PROTO_PK_LEN);
	l->n_sigs++;
out:
	proto_buf_free(&b);
	return r;
}
