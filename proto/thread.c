/*
 * thread.c: thread and message ids, the routing bytes of a thread message
 * and the signed read mark (thread.h; docs/THREADS.md "Messages" and
 * "Delivery and read marks").
 *
 * Every value goes through one validity check before it is encoded or
 * signed, and the decoder runs the same check on what it read, so what is
 * written and what is accepted cannot drift apart. Nothing here is secret:
 * the device key is borrowed and only passed to proto_sign().
 */
#include <stdint.h>
#include <string.h>

#include "proto-internal.h"
#include "thread.h"

#define THREAD_B32_CHARS 26             /* 16 bytes of base32 */
#define THREAD_TIME_MAX_ 253402300799LL /* 9999-12-31T23:59:59Z, as chain.c */
#define THREAD_KIND_MAX_ 16             /* the longest kind name, "underretning_ref" */

static const char *const msg_kind_names[] = {"text", "file", "underretning_ref"};
_Static_assert(PF_N(msg_kind_names) == THREAD_MSG_COUNT_ - 1, "one name per message kind");

static const char *const receipt_kind_names[] = {"leveret", "laest"};
_Static_assert(PF_N(receipt_kind_names) == THREAD_RECEIPT_COUNT_ - 1, "one name per receipt kind");

const char *thread_msg_kind_name(enum thread_msg_kind k)
{
	if ((int)k <= THREAD_MSG_NONE || (int)k >= THREAD_MSG_COUNT_)
		return NULL;
	return msg_kind_names[k - 1];
}

const char *thread_receipt_kind_name(enum thread_receipt_kind k)
{
	if ((int)k <= THREAD_RECEIPT_NONE || (int)k >= THREAD_RECEIPT_COUNT_)
		return NULL;
	return receipt_kind_names[k - 1];
}

/* The value 0..31 of a base32 character (RFC 4648: A-Z, 2-7), or -1. */
static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * prefix ("T-" or "M-") and 26 base32 characters, nothing after them; the
 * last character's two low bits are zero (130 bits carry 128).
 */
static int b32_id_valid(const char *s, const char *prefix)
{
	size_t np = strlen(prefix);
	int v = 0;

	if (s == NULL || strncmp(s, prefix, np) != 0)
		return 0;
	for (size_t i = 0; i < THREAD_B32_CHARS; i++)
		if ((v = b32_value(s[np + i])) < 0)
			return 0;
	return s[np + THREAD_B32_CHARS] == '\0' && (v & 3) == 0;
}

int thread_id_valid(const char *s)
{
	return b32_id_valid(s, "T-");
}

int thread_message_id_valid(const char *s)
{
	return b32_id_valid(s, "M-");
}

int thread_blob_id_valid(const char *s)
{
	return b32_id_valid(s, "B-");
}

/* ---- routing ------------------------------------------------------------------------- */

int thread_routing_encode(const char *thread, uint64_t version, enum thread_msg_kind kind, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!thread_id_valid(thread) || version < 1 || version > (uint64_t)INT64_MAX ||
	    thread_msg_kind_name(kind) == NULL)
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, THREAD_TAG_MSG);
	proto_buf_put_str(b, thread);
	proto_buf_put_u64(b, version);
	proto_buf_put_str(b, thread_msg_kind_name(kind));
	return b->err;
}

int thread_routing_decode(const uint8_t *p, size_t len, struct thread_routing *out)
{
	char tag[sizeof(THREAD_TAG_MSG)], kind[THREAD_KIND_MAX_ + 1];
	size_t pos = 0;
	int k;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (proto_field_str(p, len, &pos, tag, sizeof(tag)) != VARSKO_OK || strcmp(tag, THREAD_TAG_MSG) != 0 ||
	    proto_field_str(p, len, &pos, out->thread, sizeof(out->thread)) != VARSKO_OK ||
	    !thread_id_valid(out->thread) || proto_field_u64(p, len, &pos, &out->version) != VARSKO_OK ||
	    out->version < 1 || out->version > (uint64_t)INT64_MAX ||
	    proto_field_str(p, len, &pos, kind, sizeof(kind)) != VARSKO_OK || pos != len)
		goto bad;
	for (k = THREAD_MSG_NONE + 1; k < THREAD_MSG_COUNT_; k++)
		if (strcmp(kind, msg_kind_names[k - 1]) == 0)
			break;
	if (k == THREAD_MSG_COUNT_)
		goto bad;
	out->kind = (enum thread_msg_kind)k;
	return VARSKO_OK;
bad:
	memset(out, 0, sizeof(*out));
	return VARSKO_ERR_BAD_INPUT;
}

/* ---- read marks ------------------------------------------------------------------------ */

/* 1 when the string in char[cap] ends inside it and is an id of 1..PROTO_ID_MAX visible ASCII. */
static int id_ok(const char *s, size_t cap)
{
	const char *z = memchr(s, '\0', cap);

	return z != NULL && pf_valid_id(s, (size_t)(z - s), 1, PROTO_ID_MAX);
}

int thread_receipt_valid(const struct thread_receipt *r)
{
	if (r == NULL)
		return 0;
	return thread_id_valid(r->thread) && r->seq >= 1 && r->seq <= (uint64_t)INT64_MAX &&
	       thread_message_id_valid(r->message) && thread_receipt_kind_name(r->kind) != NULL &&
	       id_ok(r->user, sizeof(r->user)) && id_ok(r->device, sizeof(r->device)) && r->time >= 0 &&
	       r->time <= THREAD_TIME_MAX_;
}

int thread_receipt_signing_input(const struct thread_receipt *r, struct proto_buf *b)
{
	if (b == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (!thread_receipt_valid(r))
		return proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
	proto_buf_put_str(b, THREAD_TAG_RECEIPT);
	proto_buf_put_str(b, r->thread);
	proto_buf_put_u64(b, r->seq);
	proto_buf_put_str(b, r->message);
	proto_buf_put_bytes(b, r->envelope_hash, THREAD_HASH_LEN);
	proto_buf_put_str(b, thread_receipt_kind_name(r->kind));
	proto_buf_put_str(b, r->user);
	proto_buf_put_str(b, r->device);
	proto_buf_put_i64(b, r->time);
	return b->err;
}

/* 1 when r->device is the device id of the signing key pk (PROTOCOL.md 8). */
static int device_is_key(const struct thread_receipt *r, const uint8_t pk[PROTO_PK_LEN])
{
	char id[PROTO_DEVICE_ID_LEN + 1];

	proto_device_id(pk, id);
	return strcmp(id, r->device) == 0;
}

int thread_receipt_sign(const struct thread_receipt *r, const uint8_t sk[64], uint8_t sig[PROTO_SIG_LEN])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_INPUT;

	if (sig == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(sig, 0, PROTO_SIG_LEN);
	proto_buf_init(&b);
	if (sk == NULL || !thread_receipt_valid(r) || !device_is_key(r, sk + 32))
		goto out;
	if ((rc = thread_receipt_signing_input(r, &b)) != VARSKO_OK)
		goto out;
	rc = proto_sign(sig, &b, sk); /* sig zeroed on failure */
out:
	proto_buf_free(&b);
	return rc;
}

int thread_receipt_verify(const struct thread_receipt *r, const uint8_t sig[PROTO_SIG_LEN],
                          const uint8_t pk[PROTO_PK_LEN])
{
	struct proto_buf b;
	int rc = VARSKO_ERR_BAD_SIGNATURE;

	proto_buf_init(&b);
	if (sig == NULL || pk == NULL || !thread_receipt_valid(r) || !device_is_key(r, pk))
		goto out;
	if (thread_receipt_signing_input(r, &b) != VARSKO_OK)
		goto out;
	rc = proto_verify(sig, &b, pk);
out:
	proto_buf_free(&b);
	return rc;
}

/* ---- the read mark as JSON (MARK, PROTOCOL.md 17.2) ------------------------------------ */

_Static_assert(sizeof(enum thread_receipt_kind) == sizeof(int), "PF_ENUM stores an int");

#define MO(m) offsetof(struct thread_mark, m)
static const struct pf_field mark_fields[] = {
        {"device", PF_ID, 1, 1, PROTO_ID_MAX, MO(r.device), 0, NULL, NULL},
        {"envelope_hash", PF_B64, 1, 0, THREAD_HASH_LEN, MO(r.envelope_hash), 0, NULL, NULL},
        {"kind", PF_ENUM, 1, 0, PF_N(receipt_kind_names), MO(r.kind), 0, receipt_kind_names,
         "kind must be leveret or laest"},
        {"message", PF_ID, 1, THREAD_MSG_ID_LEN, THREAD_MSG_ID_LEN, MO(r.message), 0, NULL, NULL},
        {"seq", PF_U64, 1, 1, 0, MO(r.seq), 0, NULL, NULL},
        {"sig", PF_B64, 1, 0, PROTO_SIG_LEN, MO(sig), 0, NULL, NULL},
        {"thread", PF_ID, 1, THREAD_ID_LEN, THREAD_ID_LEN, MO(r.thread), 0, NULL, NULL},
        {"time", PF_TIME, 1, 0, 0, MO(r.time), 0, NULL, NULL},
        {"user", PF_ID, 1, 1, PROTO_ID_MAX, MO(r.user), 0, NULL, NULL},
};

/* proto-internal.h: the MARK table, for the frames that carry marks (flow.c). */
const struct pf_table thread_mark_table = {mark_fields, PF_N(mark_fields), sizeof(struct thread_mark)};

int thread_mark_to_json(const struct thread_mark *m, json_t **out)
{
	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	*out = NULL;
	if (m == NULL || !thread_receipt_valid(&m->r))
		return VARSKO_ERR_BAD_INPUT;
	return pf_encode_object(mark_fields, PF_N(mark_fields), m, out);
}

int thread_mark_from_json(const json_t *j, struct thread_mark *out)
{
	const char *detail;

	if (out == NULL)
		return VARSKO_ERR_BAD_INPUT;
	memset(out, 0, sizeof(*out));
	if (pf_decode(j, mark_fields, PF_N(mark_fields), NULL, out, &detail) != VARSKO_OK ||
	    !thread_receipt_valid(&out->r)) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_FRAME;
	}
	return VARSKO_OK;
}
