/*
 * threadmsg.c: messages and read marks of consultation threads, the client
 * side (PROTOCOL.md 17.2 to 17.6; threadchain.c does the membership).
 *
 * A message is sealed (envelope kind thread_message, object id a fresh
 * message id, routing bytes naming the thread, the membership version and
 * the kind) to the current user key of every present member by the verified
 * chains, this user's own included, so every device of every member, a
 * replacement device too, opens it with its user key. A message is shown
 * only when it verifies: its sender certificate against the organisation
 * key, the sender's device cross-signed by the sender's user chain, the
 * sender a present member at the version it was sealed against, the
 * envelope's signature, and its routing and object id for this thread. A
 * read mark is signed by the reading device and shown only when it verifies
 * against a device of the marking user's verified chain.
 *
 * Plaintext (the text, the title) lives in proto_buf buffers and jansson
 * blocks, which are wiped when freed (text.c), and in the opened envelope's
 * plaintext buffer (env_plaintext_free()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"
#include "utf8.h"

#define TMSG_ENV_KIND  "thread_message"
#define TMSG_PAGES_MAX 10 /* pages of unread messages fetched by one read (then "more") */

/* ---- the plaintext ------------------------------------------------------------------------- */

int tmsg_text_valid(const char *s, size_t len)
{
	return len >= 1 && len <= TMSG_TEXT_MAX && proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL | PROTO_UTF8_LF_TAB);
}

int tmsg_title_valid(const char *s, size_t len)
{
	return len >= 1 && len <= TMSG_TITLE_MAX && proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL);
}

int tmsg_plain_encode(const char *text, const char *title, struct proto_buf *out)
{
	if (text == NULL || !tmsg_text_valid(text, strlen(text)) ||
	    (title != NULL && !tmsg_title_valid(title, strlen(title))))
		return VARSKO_ERR_BAD_INPUT;
	/* Compact with sorted keys: "text" sorts before "title". */
	proto_buf_add_str(out, "{\"text\":");
	text_json_str(out, text);
	if (title != NULL) {
		proto_buf_add_str(out, ",\"title\":");
		text_json_str(out, title);
	}
	proto_buf_add_str(out, "}");
	return out->err;
}

int tmsg_plain_decode(const uint8_t *pt, size_t len, json_t **out)
{
	json_t *o, *t;
	size_t n;

	*out = NULL;
	/* jansson refuses bad UTF-8, lone surrogates, raw controls, \u0000 and anything after the object. */
	if ((o = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return VARSKO_ERR_BAD_FRAME;
	n = json_object_size(o);
	if (!json_is_object(o) || !json_is_string(t = json_object_get(o, "text")) ||
	    json_string_length(t) < 1 || json_string_length(t) > TMSG_TEXT_MAX ||
	    !proto_utf8_valid(json_string_value(t), json_string_length(t), 0))
		goto bad;
	if ((t = json_object_get(o, "title")) != NULL &&
	    (!json_is_string(t) || json_string_length(t) < 1 || json_string_length(t) > TMSG_TITLE_MAX))
		goto bad;
	if (n != (t != NULL ? 2u : 1u))
		goto bad;
	*out = o;
	return VARSKO_OK;
bad:
	json_decref(o); /* wiped: text.c */
	return VARSKO_ERR_BAD_FRAME;
}

/* ---- the plaintext of a file message (PROTOCOL.md 17.9) --------------------------------------- */

int tmsg_file_name_valid(const char *s, size_t len)
{
	if (s == NULL || len < 1 || len > TMSG_FILE_NAME_MAX || !proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL))
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	return memchr(s, '/', len) == NULL && memchr(s, '\\', len) == NULL;
}

int tmsg_media_type_valid(const char *s, size_t len)
{
	size_t slash = 0;

	if (s == NULL || len < 3 || len > TMSG_MEDIA_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
		slash += s[i] == '/';
	}
	return slash == 1 && s[0] != '/' && s[len - 1] != '/';
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char b[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];

	if (n > 64)
		return NULL;
	sodium_bin2base64(b, sizeof(b), p, n, sodium_base64_VARIANT_ORIGINAL);
	return json_string(b);
}

int tmsg_file_encode(const struct tmsg_file *f, const char *text, struct proto_buf *out)
{
	json_t *o = NULL;
	char *s = NULL;
	int r = VARSKO_ERR_NOMEM;

	if (!thread_blob_id_valid(f->blob) || !tmsg_file_name_valid(f->name, strlen(f->name)) ||
	    !tmsg_media_type_valid(f->media_type, strlen(f->media_type)) || f->size > BLOB_PLAIN_MAX ||
	    (text != NULL && !tmsg_text_valid(text, strlen(text))))
		return VARSKO_ERR_BAD_INPUT;
	o = json_pack("{s:{s:s, s:o, s:s, s:s, s:o, s:I}}", "file", "blob", f->blob, "key",
	              b64_json(f->key, sizeof(f->key)), "media_type", f->media_type, "name", f->name, "sha256",
	              b64_json(f->sha256, sizeof(f->sha256)), "size", (json_int_t)f->size);
	if (o == NULL || (text != NULL && json_object_set_new(o, "text", json_string(text)) != 0))
		goto out;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	proto_buf_add_str(out, s);
	r = out->err;
out:
	if (s != NULL)
		varsko_free_secret(s, strlen(s)); /* holds the key */
	json_decref(o);                       /* wiped: text.c */
	return r;
}

/*
 * Exactly 32 bytes of standard base64 in the string v, in the one
 * canonical encoding (proto_b64_decode_exact: libsodium alone also takes
 * some bytes above 0x7f as digits, a second text for the same key).
 */
static int b64_32(const json_t *v, uint8_t out[32])
{
	const char *s = json_string_value(v);

	return s != NULL && json_string_length(v) == 44 && proto_b64_decode_exact(s, out, 32) == VARSKO_OK;
}

int tmsg_file_from_json(const json_t *o, struct tmsg_file *out)
{
	const json_t *v;
	const char *s;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o) || json_object_size(o) != 6)
		goto bad;
	if ((s = json_string_value(json_object_get(o, "blob"))) == NULL || !thread_blob_id_valid(s))
		goto bad;
	memcpy(out->blob, s, THREAD_BLOB_ID_LEN);
	if (!b64_32(json_object_get(o, "key"), out->key) || !b64_32(json_object_get(o, "sha256"), out->sha256))
		goto bad;
	v = json_object_get(o, "name");
	if (!json_is_string(v) || !tmsg_file_name_valid(json_string_value(v), json_string_length(v)))
		goto bad;
	memcpy(out->name, json_string_value(v), json_string_length(v));
	v = json_object_get(o, "media_type");
	if (!json_is_string(v) || !tmsg_media_type_valid(json_string_value(v), json_string_length(v)))
		goto bad;
	memcpy(out->media_type, json_string_value(v), json_string_length(v));
	v = json_object_get(o, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > BLOB_PLAIN_MAX)
		goto bad;
	out->size = (uint64_t)json_integer_value(v);
	return VARSKO_OK;
bad:
	sodium_memzero(out, sizeof(*out));
	return VARSKO_ERR_BAD_FRAME;
}

int tmsg_plain_decode_kind(const uint8_t *pt, size_t len, enum thread_msg_kind kind, json_t **out)
{
	struct tmsg_file f;
	json_t *o, *t;

	if (kind == THREAD_MSG_TEXT)
		return tmsg_plain_decode(pt, len, out);
	*out = NULL;
	if (kind == THREAD_MSG_UNDERRETNING_REF) {
		/* Exactly {"reference":R}: that an underretning was made from the thread, never its content. */
		if ((o = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
			return VARSKO_ERR_BAD_FRAME;
		t = json_object_get(o, "reference");
		if (!json_is_object(o) || json_object_size(o) != 1 || !json_is_string(t) ||
		    !flow_reference_valid(json_string_value(t))) {
			json_decref(o);
			return VARSKO_ERR_BAD_FRAME;
		}
		*out = o;
		return VARSKO_OK;
	}
	if (kind != THREAD_MSG_FILE || (o = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return VARSKO_ERR_BAD_FRAME;
	t = json_object_get(o, "text");
	if (!json_is_object(o) || tmsg_file_from_json(json_object_get(o, "file"), &f) != VARSKO_OK ||
	    json_object_size(o) != (t != NULL ? 2u : 1u) ||
	    (t != NULL && (!json_is_string(t) || !tmsg_text_valid(json_string_value(t), json_string_length(t))))) {
		sodium_memzero(&f, sizeof(f));
		json_decref(o);
		return VARSKO_ERR_BAD_FRAME;
	}
	sodium_memzero(&f, sizeof(f));
	*out = o;
	return VARSKO_OK;
}

/* ---- the last message this home has shown, per thread (threads/<id>.last) ---------------------- */

static void last_name(char name[THREAD_NAME_MAX], const char *thread)
{
	snprintf(name, THREAD_NAME_MAX, "%s/%s.last", HOME_D_THREADS, thread);
}

static uint64_t last_read(struct varsko_home *h, const char *thread)
{
	char name[THREAD_NAME_MAX], *text = NULL, *end;
	size_t len = 0;
	unsigned long long v = 0;

	last_name(name, thread);
	if (home_read(h, name, &text, &len) == VARSKO_OK) {
		v = strtoull(text, &end, 10);
		if (end == text || (*end != '\n' && *end != '\0'))
			v = 0; /* damaged: everything counts as new, nothing worse */
	}
	free(text);
	return (uint64_t)v;
}

static void last_write(struct varsko_home *h, const char *thread, uint64_t seq)
{
	char name[THREAD_NAME_MAX], text[32];

	last_name(name, thread);
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)seq);
	(void)home_write(h, name, text, strlen(text), 0600, 0); /* a hint for "new": losing it costs nothing */
}

/* ---- sending ---------------------------------------------------------------------------------- */

/* Whom a message for the verified thread t is sealed to (17.4): every present member's current user key. */
struct tmsg_targets {
	size_t n;
	struct env_recipient rcpt[ENV_RECIPIENTS_MAX];
	char ids[ENV_RECIPIENTS_MAX][KEYBOX_KEYID_MAX + 1];
};

static int targets_of(struct varsko_conn *c, const struct tchain *t, struct tmsg_targets *to)
{
	int r;

	memset(to, 0, sizeof(*to));
	for (size_t i = 0; i < t->st.n_members; i++) {
		if (t->st.members[i].removed != 0)
			continue;
		if (to->n == ENV_RECIPIENTS_MAX)
			return VARSKO_ERR_TOO_LARGE;
		if (t->users[i].generation == 0 ||
		    (r = keybox_user_key_id(to->ids[to->n], t->users[i].user, t->users[i].generation)) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail), "member %s has no user key", t->st.members[i].user);
			return VARSKO_ERR_BAD_CHAIN;
		}
		to->rcpt[to->n].device = to->ids[to->n];
		memcpy(to->rcpt[to->n].box_pk, t->users[i].uk_box_pk, PROTO_PK_LEN);
		to->n++;
	}
	return VARSKO_OK;
}

/* The own user a present member of t, else VARSKO_ERR_NOT_MEMBER with the detail. */
static int self_present(struct varsko_conn *c, const struct tchain *t)
{
	int j = tchain_user_index(t, c->id.user);

	if (j >= 0 && t->st.members[j].removed == 0)
		return VARSKO_OK;
	snprintf(c->detail, sizeof(c->detail), "you are not a member of thread %s%s", t->st.thread,
	         j >= 0 ? " any more" : "");
	return VARSKO_ERR_NOT_MEMBER;
}

/*
 * Seal pt for t's present members, against t's version, as message id and
 * send it (thread_send). *env_out (may be NULL) keeps the envelope sent.
 */
static int seal_send(struct varsko_conn *c, const struct tchain *t, enum thread_msg_kind kind, const char *id,
                     const struct proto_buf *pt, uint64_t *seq, int *duplicate)
{
	int r;
	struct tmsg_targets *to = malloc(sizeof(*to));
	struct proto_buf routing;
	struct env_params ep;
	struct env_envelope *env = NULL;
	json_t *eo = NULL, *req = NULL, *ans = NULL;
	const char *th, *msg;
	json_int_t s;

	proto_buf_init(&routing);
	if (to == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = targets_of(c, t, to)) != VARSKO_OK)
		goto out;
	if ((r = thread_routing_encode(t->st.thread, t->st.head.seq, kind, &routing)) != VARSKO_OK)
		goto out;
	memset(&ep, 0, sizeof(ep));
	ep.kind = TMSG_ENV_KIND;
	ep.object_id = id;
	ep.sender = c->id.device;
	ep.routing = routing.p;
	ep.routing_len = routing.len;
	if ((r = env_seal(&ep, to->rcpt, to->n, pt->p, pt->len, c->k->sign_sk, &env)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot seal the message for thread %s", t->st.thread);
		goto out;
	}
	if ((r = env_to_obj(env, &eo)) != VARSKO_OK)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:O}", "type", "thread_send", "thread", t->st.thread, "envelope", eo)) ==
	    NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_THREAD_SENT, &ans)) != VARSKO_OK)
		goto out;
	th = json_string_value(json_object_get(ans, "thread"));
	msg = json_string_value(json_object_get(ans, "message"));
	s = json_integer_value(json_object_get(ans, "seq"));
	if (th == NULL || msg == NULL || strcmp(th, t->st.thread) != 0 || strcmp(msg, id) != 0 || s < 1) {
		snprintf(c->detail, sizeof(c->detail), "varskod's answer names another message than the one sent");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	*seq = (uint64_t)s;
	*duplicate = json_is_true(json_object_get(ans, "duplicate"));
	r = VARSKO_OK;
out:
	env_free(env);
	proto_buf_free(&routing);
	json_decref(eo);
	json_decref(req);
	json_decref(ans);
	free(to);
	return r;
}

int tmsg_send_plain(struct varsko_conn *c, const char *thread, enum thread_msg_kind kind, const struct proto_buf *pt,
                    const char *id, uint64_t *seq, int *anonymous)
{
	int r, dup = 0;
	struct tchain *t = NULL;
	char fresh[THREAD_MSG_ID_LEN + 1];

	*seq = 0;
	if (id == NULL) {
		tchain_new_id("M-", fresh);
		id = fresh;
	}
	/*
	 * The membership may change between the check and the send: varskod then
	 * answers stale_key (another version) or not_member (a member's key
	 * rotated), and the message is sealed once more against the new chain,
	 * verified afresh. The same message id: nothing was stored.
	 */
	for (int attempt = 0;; attempt++) {
		if ((r = tchain_of(c, thread, &t)) != VARSKO_OK)
			goto out;
		if (anonymous != NULL)
			*anonymous = t->st.anonymous;
		if ((r = self_present(c, t)) != VARSKO_OK || (r = tchain_usable(c, t)) != VARSKO_OK)
			goto out;
		r = seal_send(c, t, kind, id, pt, seq, &dup);
		if ((r != VARSKO_ERR_STALE_KEY && r != VARSKO_ERR_NOT_MEMBER) || attempt == 1)
			break;
		tchain_free(t);
		t = NULL;
	}
	if (r == VARSKO_ERR_STALE_KEY || r == VARSKO_ERR_NOT_MEMBER)
		snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
		         "%sthe membership changed twice while sending; nothing was stored: send again",
		         c->detail[0] != '\0' ? "; " : "");
out:
	tchain_free(t);
	return r;
}

int tmsg_send(struct varsko_conn *c, const char *thread, const char *text, const char *title, uint64_t *seq,
              int *anonymous)
{
	int r;
	struct proto_buf pt;

	*seq = 0;
	c->detail[0] = '\0';
	proto_buf_init(&pt);
	if ((r = tmsg_plain_encode(text, title, &pt)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail),
		         text == NULL || !tmsg_text_valid(text, strlen(text))
		                 ? "a message is 1 to %d bytes of UTF-8 text without control characters (line feed "
		                   "and tab are fine)"
		                 : "a title is 1 to 200 bytes of UTF-8 text on one line",
		         TMSG_TEXT_MAX);
		goto out;
	}
	r = tmsg_send_plain(c, thread, THREAD_MSG_TEXT, &pt, NULL, seq, anonymous);
out:
	proto_buf_free(&pt);
	return r;
}

int varsko_thread_send(struct varsko_conn *c, const char *thread, const char *text, uint64_t *seq, int *anonymous)
{
	uint64_t s = 0;
	int anon = 0, r = tmsg_send(c, thread, text, NULL, &s, &anon);

	if (seq != NULL)
		*seq = s;
	if (anonymous != NULL)
		*anonymous = anon;
	return r;
}

/*
 * The members to add: every rådgiver varskod says the institution has
 * (thread_raadgivere, PROTOCOL.md 17.3), then those asked for, each once and
 * never the creator. The list is not trusted: tchain_create() checks every member
 * against the member's own chain and certificates. A varskod without the
 * request (unknown_type) leaves the members as asked. *list points into a
 * and into *ans (json_decref() it after use, free() *list).
 */
static int members_with_raadgivere(struct varsko_conn *c, const struct varsko_thread_new *a, const char ***list,
                                   size_t *n, json_t **ans)
{
	json_t *req, *users, *u;
	size_t i, k = 0;
	int r;

	*list = NULL;
	*n = 0;
	*ans = NULL;
	if (a->institution == NULL || (req = json_pack("{s:s, s:s}", "type", "thread_raadgivere", "institution",
	                                               a->institution)) == NULL)
		return a->institution == NULL ? VARSKO_ERR_BAD_INPUT : VARSKO_ERR_NOMEM;
	r = conn_request(c, req, FLOW_T_RAADGIVERE, ans);
	json_decref(req);
	if (r == VARSKO_ERR_UNKNOWN_TYPE) {
		c->detail[0] = '\0';
		r = VARSKO_OK;
	} else if (r != VARSKO_OK) {
		return r;
	}
	users = *ans != NULL ? json_object_get(*ans, "users") : NULL;
	if ((*list = calloc(a->n_members + json_array_size(users) + 1, sizeof(**list))) == NULL)
		return VARSKO_ERR_NOMEM;
	/* The rådgivere first: a leder is admitted through a rådgiver of his team already in the thread. */
	json_array_foreach(users, i, u)
	{
		const char *id = json_string_value(u);

		if (id != NULL && strcmp(id, c->id.user) != 0)
			(*list)[k++] = id;
	}
	for (i = 0; i < a->n_members; i++) {
		size_t m;

		for (m = 0; m < k && strcmp((*list)[m], a->members[i]) != 0; m++)
			;
		if (m == k && strcmp(a->members[i], c->id.user) != 0)
			(*list)[k++] = a->members[i];
	}
	*n = k;
	return VARSKO_OK;
}

int varsko_thread_create(struct varsko_conn *c, const struct varsko_thread_new *a, char thread[VARSKO_THREAD_ID_LEN + 1])
{
	int r;
	uint64_t seq = 0;
	const char *text, **members = NULL;
	size_t n_members = 0;
	json_t *ans = NULL;

	thread[0] = '\0';
	c->detail[0] = '\0';
	if (a == NULL || a->title == NULL || !tmsg_title_valid(a->title, strlen(a->title))) {
		snprintf(c->detail, sizeof(c->detail), "a title is 1 to %d bytes of UTF-8 text on one line",
		         TMSG_TITLE_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	text = a->text != NULL ? a->text : a->title;
	if (!tmsg_text_valid(text, strlen(text))) {
		snprintf(c->detail, sizeof(c->detail),
		         "a message is 1 to %d bytes of UTF-8 text without control characters (line feed and tab "
		         "are fine)",
		         TMSG_TEXT_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((r = members_with_raadgivere(c, a, &members, &n_members, &ans)) != VARSKO_OK)
		return r;
	r = tchain_create(c, a->institution, a->anonymous, members, n_members, thread);
	free(members);
	json_decref(ans);
	if (r != VARSKO_OK)
		return r;
	/* The title travels only inside the first message, never in clear (PROTOCOL.md 17.2). */
	if ((r = tmsg_send(c, thread, text, a->title, &seq, NULL)) != VARSKO_OK)
		snprintf(c->detail + strlen(c->detail), sizeof(c->detail) - strlen(c->detail),
		         "%sthread %s was created, but its first message (with the title) was not sent",
		         c->detail[0] != '\0' ? "; " : "", thread);
	return r;
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* One message of a messages answer, verified and opened. */
struct tmsg {
	uint64_t seq;
	int64_t received;
	struct env_envelope *env;
	struct proto_cert cert; /* the sender's device */
	struct thread_routing rt;
	uint8_t hash[THREAD_HASH_LEN];
	json_t *plain; /* {"text","title"?}: plaintext */
	json_t *marks; /* the answer's array of MARK (a reference), or NULL */
};

static void tmsg_clear(struct tmsg *m)
{
	env_free(m->env);
	json_decref(m->plain);
	json_decref(m->marks);
	memset(m, 0, sizeof(*m));
}

/* The user-key generations this device holds, fetched once per read (userkey_all). */
struct tmsg_keys {
	int fetched;
	size_t n;
	struct keybox_gen *gens[KEYBOX_RECOVERY_GEN_MAX];
};

static void keys_clear(struct tmsg_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		keybox_gen_free(k->gens[i]);
	memset(k, 0, sizeof(*k));
}

/* Open m->env with the own user key generation its wrap names. */
static int open_own(struct varsko_conn *c, struct tmsg_keys *k, struct tmsg *m, uint8_t **pt, size_t *pt_len)
{
	char id[KEYBOX_KEYID_MAX + 1];
	int r;

	for (size_t i = 0; i < m->env->n_wraps; i++) {
		char owner[KEYBOX_OWNER_MAX + 1];
		uint64_t gen = 0;

		if (keybox_key_id_split(m->env->wraps[i].device, owner, &gen) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_USER || strcmp(owner + 5, c->id.user) != 0)
			continue;
		if (!k->fetched) {
			if ((r = userkey_all(c, k->gens, KEYBOX_RECOVERY_GEN_MAX, &k->n)) != VARSKO_OK)
				return r; /* the detail says why: no user key on this device (yet), ... */
			k->fetched = 1;
		}
		for (size_t g = 0; g < k->n; g++) {
			if (k->gens[g]->generation != gen || keybox_user_key_id(id, c->id.user, gen) != VARSKO_OK)
				continue;
			if (env_open(m->env, m->cert.sign_pk, id, k->gens[g]->box_sk, TMSG_ENV_KIND, m->env->object_id,
			             pt, pt_len) == VARSKO_OK)
				return VARSKO_OK;
			snprintf(c->detail, sizeof(c->detail), "message %llu does not open with your user key",
			         (unsigned long long)m->seq);
			return VARSKO_ERR_CRYPTO;
		}
		snprintf(c->detail, sizeof(c->detail),
		         "message %llu is sealed to generation %llu of your user key, which this device does not hold",
		         (unsigned long long)m->seq, (unsigned long long)gen);
		return VARSKO_ERR_CRYPTO;
	}
	snprintf(c->detail, sizeof(c->detail), "message %llu is not sealed to you", (unsigned long long)m->seq);
	return VARSKO_ERR_CRYPTO;
}

int tmsg_verify(const struct tchain *t, const uint8_t org_pk[PROTO_PK_LEN], struct tmsg_in *in, char *detail,
                size_t dcap)
{
	const struct tuser_device *d;
	int j;

	/* The envelope is a message of this thread, named by a message id, sealed against a version it had. */
	if (strcmp(in->env->kind, TMSG_ENV_KIND) != 0 || !thread_message_id_valid(in->env->object_id) ||
	    thread_routing_decode(in->env->routing, in->env->routing_len, &in->rt) != VARSKO_OK ||
	    strcmp(in->rt.thread, t->st.thread) != 0 || in->rt.version > t->st.head.seq) {
		snprintf(detail, dcap, "message %llu is not a message of thread %s: refused",
		         (unsigned long long)in->seq, t->st.thread);
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	/* The sender's device: certified by the organisation when it sent, and cross-signed by the sender's chain. */
	if (strcmp(in->cert->device, in->env->sender) != 0 ||
	    proto_cert_verify(in->cert, org_pk, in->received) != VARSKO_OK) {
		snprintf(detail, dcap, "the certificate of message %llu's sender does not verify: refused",
		         (unsigned long long)in->seq);
		return VARSKO_ERR_BAD_CERT;
	}
	if ((j = tchain_user_index(t, in->cert->user)) < 0 ||
	    (d = tuser_device(&t->users[j], in->cert->device)) == NULL ||
	    sodium_memcmp(d->sign_pk, in->cert->sign_pk, PROTO_PK_LEN) != 0) {
		snprintf(detail, dcap, "message %llu's sender device is not one of %s's devices by the user chain: refused",
		         (unsigned long long)in->seq, in->cert->user);
		return VARSKO_ERR_NOT_CROSS_SIGNED;
	}
	if (!tchain_present_at(t->links, t->n_links, in->cert->user, in->rt.version)) {
		snprintf(detail, dcap, "message %llu's sender %s was not a member at version %llu: refused",
		         (unsigned long long)in->seq, in->cert->user, (unsigned long long)in->rt.version);
		return VARSKO_ERR_NOT_MEMBER;
	}
	if (env_verify(in->env, in->cert->sign_pk) != VARSKO_OK) {
		snprintf(detail, dcap, "message %llu's signature does not verify: refused", (unsigned long long)in->seq);
		return VARSKO_ERR_BAD_SIGNATURE;
	}
	return VARSKO_OK;
}

int tmsg_mark_check(const struct tchain *t, const json_t *mo, uint64_t seq, const char *message,
                    const uint8_t hash[THREAD_HASH_LEN], struct thread_mark *out)
{
	const struct tuser_device *d;
	int j;

	if (thread_mark_from_json(mo, out) != VARSKO_OK)
		return VARSKO_ERR_BAD_FRAME;
	if (strcmp(out->r.thread, t->st.thread) != 0 || out->r.seq != seq || strcmp(out->r.message, message) != 0 ||
	    sodium_memcmp(out->r.envelope_hash, hash, THREAD_HASH_LEN) != 0)
		return VARSKO_ERR_BAD_SIGNATURE;
	/* By a device of the marking user's verified chain, with a certificate (or revoked there since). */
	if ((j = tchain_user_index(t, out->r.user)) < 0 || (d = tuser_device(&t->users[j], out->r.device)) == NULL ||
	    (!d->certified && !d->revoked))
		return VARSKO_ERR_NOT_CROSS_SIGNED;
	return thread_receipt_verify(&out->r, out->sig, d->sign_pk);
}

/* Parse, verify and open one entry of a messages answer into m. */
static int message_take(struct varsko_conn *c, const struct tchain *t, struct tmsg_keys *k, const json_t *e,
                        struct tmsg *m)
{
	struct tmsg_in in;
	json_int_t seq = json_integer_value(json_object_get(e, "seq"));
	const char *recv = json_string_value(json_object_get(e, "received"));
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int r;

	memset(m, 0, sizeof(*m));
	m->seq = seq > 0 ? (uint64_t)seq : 0;
	m->marks = json_incref(json_object_get(e, "marks"));
	if (seq < 1 || recv == NULL || proto_time_parse(recv, &m->received) != VARSKO_OK ||
	    env_from_obj(json_object_get(e, "envelope"), &m->env) != VARSKO_OK ||
	    cert_from_obj(json_object_get(e, "sender_cert"), &m->cert) != VARSKO_OK ||
	    (m->marks != NULL && !json_is_array(m->marks))) {
		snprintf(c->detail, sizeof(c->detail), "message %lld of thread %s is malformed: refused", (long long)seq,
		         t->st.thread);
		return VARSKO_ERR_BAD_FRAME;
	}
	memset(&in, 0, sizeof(in));
	in.seq = m->seq;
	in.received = m->received;
	in.env = m->env;
	in.cert = &m->cert;
	if ((r = tmsg_verify(t, c->org_pk, &in, c->detail, sizeof(c->detail))) != VARSKO_OK)
		return r;
	m->rt = in.rt;
	if ((r = flow_envelope_hash(m->hash, m->env)) != VARSKO_OK)
		return r;
	if ((r = open_own(c, k, m, &pt, &pt_len)) != VARSKO_OK)
		return r;
	r = tmsg_plain_decode_kind(pt, pt_len, m->rt.kind, &m->plain);
	env_plaintext_free(pt, pt_len);
	if (r != VARSKO_OK)
		snprintf(c->detail, sizeof(c->detail), "message %llu opens, but its content is not a thread message",
		         (unsigned long long)m->seq);
	return r;
}

/*
 * One thread_sync: after (after_mode) or before `at`, every message verified
 * and opened into ms[*n..] (capacity cap). *more as the answer says.
 */
static int sync_page(struct varsko_conn *c, const struct tchain *t, struct tmsg_keys *k, int after_mode, uint64_t at,
                     int limit, struct tmsg *ms, size_t cap, size_t *n, int *more)
{
	int r;
	json_t *req, *ans = NULL;
	const json_t *arr, *e;
	const char *th;
	size_t i;
	uint64_t prev = 0;

	*more = 0;
	req = json_pack("{s:s, s:s, s:I, s:i}", "type", "thread_sync", "thread", t->st.thread,
	                after_mode ? "after" : "before", (json_int_t)at, "limit", limit);
	if (req == NULL)
		return VARSKO_ERR_NOMEM;
	r = conn_request(c, req, FLOW_T_MESSAGES, &ans);
	json_decref(req);
	if (r != VARSKO_OK)
		return r;
	th = json_string_value(json_object_get(ans, "thread"));
	arr = json_object_get(ans, "messages");
	if (th == NULL || strcmp(th, t->st.thread) != 0 || !json_is_array(arr) || json_array_size(arr) > (size_t)limit) {
		snprintf(c->detail, sizeof(c->detail), "varskod answered with the messages of another thread");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	*more = json_is_true(json_object_get(ans, "more"));
	json_array_foreach(arr, i, e)
	{
		if (*n == cap) {
			*more = 1;
			break;
		}
		if ((r = message_take(c, t, k, e, &ms[*n])) != VARSKO_OK) {
			tmsg_clear(&ms[*n]);
			goto out;
		}
		/* In sequence order, each once, on the side of `at` asked for. */
		if (ms[*n].seq <= prev || (after_mode ? ms[*n].seq <= at : ms[*n].seq >= at)) {
			snprintf(c->detail, sizeof(c->detail), "varskod sent the messages of thread %s out of order",
			         t->st.thread);
			tmsg_clear(&ms[*n]);
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
		prev = ms[*n].seq;
		(*n)++;
	}
	r = VARSKO_OK;
out:
	json_decref(ans);
	return r;
}

/* Sign and send one read mark of kind for message m (thread_mark). */
static int mark_send(struct varsko_conn *c, const struct tchain *t, const struct tmsg *m,
                     enum thread_receipt_kind kind)
{
	struct thread_mark mk;
	json_t *mo = NULL, *req = NULL, *ans = NULL;
	int r;

	memset(&mk, 0, sizeof(mk));
	snprintf(mk.r.thread, sizeof(mk.r.thread), "%.*s", THREAD_ID_LEN, t->st.thread);
	mk.r.seq = m->seq;
	snprintf(mk.r.message, sizeof(mk.r.message), "%.*s", THREAD_MSG_ID_LEN, m->env->object_id);
	memcpy(mk.r.envelope_hash, m->hash, THREAD_HASH_LEN);
	mk.r.kind = kind;
	snprintf(mk.r.user, sizeof(mk.r.user), "%s", c->id.user);
	snprintf(mk.r.device, sizeof(mk.r.device), "%s", c->id.device);
	mk.r.time = (int64_t)time(NULL);
	if ((r = thread_receipt_sign(&mk.r, c->k->sign_sk, mk.sig)) != VARSKO_OK ||
	    (r = thread_mark_to_json(&mk, &mo)) != VARSKO_OK)
		return r;
	if ((req = json_pack("{s:s, s:o}", "type", "thread_mark", "mark", mo)) == NULL)
		return VARSKO_ERR_NOMEM;
	r = conn_request(c, req, FLOW_T_MARK_OK, &ans);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* A transport failure: the connection is gone, nothing more can be sent. */
static int transport_error(int r)
{
	return r == VARSKO_ERR_CONNECT || r == VARSKO_ERR_TIMEOUT || r == VARSKO_ERR_CLOSED || r == VARSKO_ERR_TLS ||
	       r == VARSKO_ERR_NOMEM;
}

static const char *user_name(const struct tchain *t, const char *user)
{
	int j = tchain_user_index(t, user);

	return j >= 0 && t->users[j].has_cert ? t->users[j].cert.name : "";
}

/*
 * The per-member marks of an own message (17.6): for every recipient but
 * oneself, the earliest verified leveret and laest. *refused counts marks
 * that did not verify (not shown).
 */
static json_t *own_marks(const struct tchain *t, const char *self, const struct tmsg *m, size_t *refused)
{
	json_t *arr = json_array(), *e;
	const json_t *mo;
	size_t i;

	if (arr == NULL)
		return NULL;
	json_array_foreach(m->marks, i, mo)
	{
		struct thread_mark mk;

		if (tmsg_mark_check(t, mo, m->seq, m->env->object_id, m->hash, &mk) != VARSKO_OK)
			(*refused)++;
	}
	for (size_t w = 0; w < m->env->n_wraps; w++) {
		char owner[KEYBOX_OWNER_MAX + 1], tm[PROTO_TIME_LEN + 1];
		uint64_t gen = 0;
		int64_t at[THREAD_RECEIPT_COUNT_] = {0};
		struct thread_mark mk;

		if (keybox_key_id_split(m->env->wraps[w].device, owner, &gen) != VARSKO_OK ||
		    keybox_owner_kind(owner) != KEYBOX_USER || strcmp(owner + 5, self) == 0)
			continue;
		json_array_foreach(m->marks, i, mo)
		{
			if (tmsg_mark_check(t, mo, m->seq, m->env->object_id, m->hash, &mk) != VARSKO_OK)
				continue;
			if (strcmp(mk.r.user, owner + 5) == 0 && (at[mk.r.kind] == 0 || mk.r.time < at[mk.r.kind]))
				at[mk.r.kind] = mk.r.time;
		}
		/* A member who read it has it, whatever marks arrived. */
		if (at[THREAD_RECEIPT_LEVERET] == 0)
			at[THREAD_RECEIPT_LEVERET] = at[THREAD_RECEIPT_LAEST];
		if ((e = json_pack("{s:s, s:s}", "user", owner + 5, "name", user_name(t, owner + 5))) == NULL ||
		    json_array_append_new(arr, e) != 0)
			goto fail;
		for (int kk = THREAD_RECEIPT_LEVERET; kk < THREAD_RECEIPT_COUNT_; kk++) {
			proto_time_format(at[kk], tm);
			if (json_object_set_new(e, thread_receipt_kind_name((enum thread_receipt_kind)kk),
			                        at[kk] != 0 ? json_string(tm) : json_null()) != 0)
				goto fail;
		}
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

/* Whether the own user has a verified mark of kind on m. */
static int has_own_mark(const struct tchain *t, const char *self, const struct tmsg *m, enum thread_receipt_kind kind)
{
	struct thread_mark mk;
	const json_t *mo;
	size_t i;

	json_array_foreach(m->marks, i, mo)
	{
		if (tmsg_mark_check(t, mo, m->seq, m->env->object_id, m->hash, &mk) == VARSKO_OK &&
		    strcmp(mk.r.user, self) == 0 && mk.r.kind == kind)
			return 1;
	}
	return 0;
}

/* One message for the read's JSON. */
static json_t *message_json(const struct tchain *t, const char *self, const struct tmsg *m, uint64_t last,
                            size_t *refused)
{
	char tm[PROTO_TIME_LEN + 1];
	const json_t *title = json_object_get(m->plain, "title");
	int own = strcmp(m->cert.user, self) == 0;
	json_t *o, *marks;

	const json_t *text = json_object_get(m->plain, "text");
	struct tmsg_file f;

	proto_time_format(m->received, tm);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:b}", "seq", (json_int_t)m->seq, "message",
	              m->env->object_id, "user", m->cert.user, "name", m->cert.name, "device", m->cert.device,
	              "received", tm, "version", (json_int_t)m->rt.version, "kind", thread_msg_kind_name(m->rt.kind),
	              "own", own, "new", !own && m->seq > last);
	if (o == NULL)
		return NULL;
	if ((text != NULL && json_object_set(o, "text", (json_t *)text) != 0) ||
	    (title != NULL && json_object_set(o, "title", (json_t *)title) != 0))
		goto fail;
	if (m->rt.kind == THREAD_MSG_UNDERRETNING_REF &&
	    json_object_set(o, "reference", json_object_get(m->plain, "reference")) != 0)
		goto fail;
	/* An attachment: what it is, never its key (varsko_thread_fetch() opens it). */
	if (m->rt.kind == THREAD_MSG_FILE) {
		char hex[2 * sizeof(f.sha256) + 1];
		int bad = tmsg_file_from_json(json_object_get(m->plain, "file"), &f) != VARSKO_OK;

		if (!bad)
			sodium_bin2hex(hex, sizeof(hex), f.sha256, sizeof(f.sha256));
		bad = bad || json_object_set_new(o, "file",
		                                 json_pack("{s:s, s:s, s:s, s:I, s:s}", "blob", f.blob, "name", f.name,
		                                           "media_type", f.media_type, "size", (json_int_t)f.size,
		                                           "sha256", hex)) != 0;
		sodium_memzero(&f, sizeof(f));
		if (bad)
			goto fail;
	}
	if (own) {
		if ((marks = own_marks(t, self, m, refused)) == NULL || json_object_set_new(o, "marks", marks) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/*
 * The start of a read or a fetch: n a message number (0 allowed with
 * zero_ok), then the thread's verified, usable chain in *t (tchain_free()).
 */
static int read_start(struct varsko_conn *c, const char *thread, uint64_t n, int zero_ok, struct tchain **t)
{
	int r;

	*t = NULL;
	c->detail[0] = '\0';
	if ((n == 0 && !zero_ok) || n > (uint64_t)INT64_MAX) {
		snprintf(c->detail, sizeof(c->detail), "no message has that number");
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((r = tchain_of(c, thread, t)) != VARSKO_OK)
		return r;
	if ((r = tchain_usable(c, *t)) != VARSKO_OK) {
		tchain_free(*t);
		*t = NULL;
	}
	return r;
}

int varsko_thread_read(struct varsko_conn *c, const char *thread, uint64_t before, int mark, char **json, size_t *len)
{
	int r, more = 0, older = 0;
	struct tchain *t = NULL;
	struct tmsg_keys *k = NULL;
	struct tmsg *ms = NULL, *first = NULL;
	size_t n = 0, refused = 0, sent = 0, nf = 0;
	uint64_t last, top = 0;
	json_t *o = NULL, *arr = NULL, *e, *tj = NULL;
	const json_t *title = NULL;
	const size_t cap = TMSG_PAGES_MAX * FLOW_THREAD_SYNC_MAX;

	*json = NULL;
	*len = 0;
	if ((r = read_start(c, thread, before, 1, &t)) != VARSKO_OK)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL || (ms = calloc(cap, sizeof(*ms))) == NULL ||
	    (first = calloc(1, sizeof(*first))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	last = last_read(c->home, thread);
	if (before > 0) {
		/* History: the page before `before`. */
		if ((r = sync_page(c, t, k, 0, before, FLOW_THREAD_SYNC_MAX, ms, cap, &n, &older)) != VARSKO_OK)
			goto out;
	} else {
		/* The newest page; when more went unread since the last look, everything after it instead. */
		if ((r = sync_page(c, t, k, 0, (uint64_t)INT64_MAX, FLOW_THREAD_SYNC_MAX, ms, cap, &n, &older)) !=
		    VARSKO_OK)
			goto out;
		if (last > 0 && older && n > 0 && ms[0].seq > last + 1) {
			for (size_t i = 0; i < n; i++)
				tmsg_clear(&ms[i]);
			n = 0;
			older = 1;
			for (int page = 0; page < TMSG_PAGES_MAX; page++) {
				uint64_t at = n > 0 ? ms[n - 1].seq : last;

				if ((r = sync_page(c, t, k, 1, at, FLOW_THREAD_SYNC_MAX, ms, cap, &n, &more)) != VARSKO_OK)
					goto out;
				if (!more)
					break;
			}
		}
	}
	/* The title is in the thread's first message: fetched when this page does not hold it. */
	for (size_t i = 0; i < n && title == NULL; i++)
		title = json_object_get(ms[i].plain, "title");
	if (title == NULL && older) {
		int dummy;

		if ((r = sync_page(c, t, k, 1, 0, 1, first, 1, &nf, &dummy)) != VARSKO_OK)
			goto out;
		if (nf == 1)
			title = json_object_get(first->plain, "title");
	}
	/* Read marks: leveret for what this device fetched, laest for what is shown. */
	for (size_t i = 0; mark && i < n; i++) {
		if (strcmp(ms[i].cert.user, c->id.user) == 0)
			continue;
		for (int kk = THREAD_RECEIPT_LEVERET; kk < THREAD_RECEIPT_COUNT_; kk++) {
			if (has_own_mark(t, c->id.user, &ms[i], (enum thread_receipt_kind)kk))
				continue;
			r = mark_send(c, t, &ms[i], (enum thread_receipt_kind)kk);
			if (transport_error(r))
				goto out;
			sent += r == VARSKO_OK;
		}
	}
	if ((arr = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((e = message_json(t, c->id.user, &ms[i], last, &refused)) == NULL || json_array_append_new(arr, e) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		if (ms[i].seq > top)
			top = ms[i].seq;
	}
	if ((r = tchain_json(t, c->id.user, &tj)) != VARSKO_OK)
		goto out;
	o = json_pack("{s:s, s:s, s:b, s:I, s:O, s:O, s:b, s:b, s:I, s:I}", "thread", t->st.thread, "institution",
	              t->st.institution, "anonymous", t->st.anonymous != 0, "version", (json_int_t)t->st.head.seq,
	              "members", json_object_get(tj, "members"), "messages", arr, "more", more, "older", older,
	              "marks_sent", (json_int_t)sent, "marks_refused", (json_int_t)refused);
	if (o == NULL || (title != NULL && json_object_set(o, "title", (json_t *)title) != 0)) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((*json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	*len = strlen(*json);
	if (before == 0 && top > last)
		last_write(c->home, thread, top);
	r = VARSKO_OK;
out:
	for (size_t i = 0; ms != NULL && i < n; i++)
		tmsg_clear(&ms[i]);
	if (first != NULL)
		tmsg_clear(first);
	free(ms);
	free(first);
	if (k != NULL)
		keys_clear(k);
	free(k);
	json_decref(o);
	json_decref(arr);
	json_decref(tj);
	tchain_free(t);
	return r;
}

/* ---- an attachment's bytes (PROTOCOL.md 17.9) ------------------------------------------------- */

int varsko_thread_fetch(struct varsko_conn *c, const char *thread, uint64_t seq, uint8_t **data, size_t *len,
                        char name[VARSKO_FILE_NAME_MAX + 1], char media_type[VARSKO_MEDIA_TYPE_MAX + 1])
{
	struct tchain *t = NULL;
	struct tmsg_keys *k = NULL;
	struct tmsg *m = NULL;
	struct tmsg_file f;
	uint8_t *pt = NULL;
	size_t n = 0, pt_len = 0;
	int r, more = 0;

	*data = NULL;
	*len = 0;
	memset(&f, 0, sizeof(f));
	if ((r = read_start(c, thread, seq, 0, &t)) != VARSKO_OK)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL || (m = calloc(1, sizeof(*m))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* The message, verified and opened as every message is (17.6). */
	if ((r = sync_page(c, t, k, 1, seq - 1, 1, m, 1, &n, &more)) != VARSKO_OK)
		goto out;
	if (n != 1 || m->seq != seq) {
		snprintf(c->detail, sizeof(c->detail), "thread %s has no message %llu that is sealed to you", thread,
		         (unsigned long long)seq);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if (m->rt.kind != THREAD_MSG_FILE || tmsg_file_from_json(json_object_get(m->plain, "file"), &f) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "message %llu has no attachment", (unsigned long long)seq);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = attach_fetch_open(c, &f, &pt, &pt_len)) != VARSKO_OK)
		goto out;
	snprintf(name, VARSKO_FILE_NAME_MAX + 1, "%s", f.name);
	snprintf(media_type, VARSKO_MEDIA_TYPE_MAX + 1, "%s", f.media_type);
	*data = pt;
	*len = pt_len;
	r = VARSKO_OK;
out:
	sodium_memzero(&f, sizeof(f));
	if (m != NULL)
		tmsg_clear(m);
	free(m);
	if (k != NULL)
		keys_clear(k);
	free(k);
	tchain_free(t);
	return r;
}

/* ---- from consultation to underretning (PROTOCOL.md 17.10) ------------------------------------- */

/* The seq of message id in the verified thread when it is this user's reference message for reference. */
static int reference_told(struct varsko_conn *c, const char *thread, const char *id, const char *reference,
                          uint64_t *seq)
{
	char *json = NULL;
	size_t len = 0, i;
	json_t *o;
	const json_t *m;
	int r = varsko_thread_read(c, thread, 0, 0, &json, &len);

	if (r != VARSKO_OK)
		return r;
	r = VARSKO_ERR_EXISTS;
	if ((o = json_loadb(json, len, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(o, "messages"), i, m)
		{
			const char *mid = json_string_value(json_object_get(m, "message"));
			const char *ref = json_string_value(json_object_get(m, "reference"));

			if (mid != NULL && strcmp(mid, id) == 0 && ref != NULL && strcmp(ref, reference) == 0 &&
			    json_is_true(json_object_get(m, "own"))) {
				*seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
				r = VARSKO_OK;
			}
		}
		json_decref(o);
	}
	varsko_free_secret(json, len);
	return r;
}

int varsko_thread_send_reference(struct varsko_conn *c, const char *thread, const char *reference, uint64_t *seq,
                                 int *anonymous)
{
	uint8_t h[KEYBOX_CODE_LEN];
	char id[THREAD_MSG_ID_LEN + 1];
	struct proto_buf pt;
	uint64_t s = 0;
	int r, anon = 0;
	crypto_generichash_state st;

	c->detail[0] = '\0';
	if (thread == NULL || !thread_id_valid(thread) || reference == NULL || !flow_reference_valid(reference)) {
		snprintf(c->detail, sizeof(c->detail), "a thread id and an underretning's reference (U-YYYY-NNNNNN) are needed");
		return VARSKO_ERR_BAD_INPUT;
	}
	/*
	 * The message id follows from the thread, the reference and the user, so
	 * that telling it again (after a dropped connection, or the same send run
	 * twice) finds the message stored the first time (thread_send: duplicate).
	 */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)"varsko-threadref-v1", 19);
	crypto_generichash_update(&st, (const uint8_t *)thread, strlen(thread) + 1);
	crypto_generichash_update(&st, (const uint8_t *)reference, strlen(reference) + 1);
	crypto_generichash_update(&st, (const uint8_t *)c->id.user, strlen(c->id.user) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	tchain_id_of("M-", h, id);
	proto_buf_init(&pt);
	proto_buf_add_str(&pt, "{\"reference\":\"");
	proto_buf_add_str(&pt, reference);
	proto_buf_add_str(&pt, "\"}");
	r = pt.err != VARSKO_OK ? pt.err : tmsg_send_plain(c, thread, THREAD_MSG_UNDERRETNING_REF, &pt, id, &s, &anon);
	proto_buf_free(&pt);
	/*
	 * Told before: varskod has a message with this id, sealed another time
	 * (another envelope), and answers exists. It is ours if the verified
	 * thread shows it from this user with this reference.
	 */
	if (r == VARSKO_ERR_EXISTS && (r = reference_told(c, thread, id, reference, &s)) == VARSKO_OK)
		c->detail[0] = '\0';
	if (seq != NULL)
		*seq = s;
	if (anonymous != NULL)
		*anonymous = anon;
	return r;
}
