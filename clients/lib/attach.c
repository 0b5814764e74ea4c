/*
 * attach.c: attaching a file to a thread (PROTOCOL.md 17.9;
 * varsko_thread_send_file() in varsko.h).
 *
 * The file is encrypted here (blob.h: secretstream under a fresh key) and
 * its ciphertext uploaded in parts of BLOB_PART_MAX bytes (blob_begin, then
 * blob_put from where varskod's stored bytes end); then a message of kind
 * "file" carrying the key, name, media type, size and SHA-256 is sealed to
 * the members like any message (threadmsg.c). varskod never sees the key.
 *
 * So that a dropped connection costs only the part in flight, the upload
 * is kept in the home until its message is sent: uploads/<thread>-<hash>.bin
 * (the ciphertext; a fresh encryption would differ, as secretstream's
 * header is random) and uploads/<thread>-<hash>.json (blob id, message id,
 * key and the file's facts; written last, so a half-written upload is
 * started again), <hash> from the file's SHA-256. The same file sent again
 * to the same thread resumes it, under the same blob and message ids, so
 * varskod stores one blob and one message. Both files go when the message
 * is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"

#define UPLOAD_NAME_MAX (sizeof(HOME_D_UPLOADS) + 48)

struct upload {
	struct tmsg_file f; /* the message's "file": blob id, key, name, type, size, SHA-256 */
	char message[THREAD_MSG_ID_LEN + 1];
	uint8_t *ct; /* the ciphertext */
	size_t ct_len;
	uint8_t ct_sha256[32];
};

/* What a blob is bound to at blob_begin: "thread" or "submission", and its id. */
struct upload_bind {
	const char *key, *value;
};

/* uploads/<hash>.json and .bin, <hash> of the binding and the file's SHA-256 (a submission id may hold '/'). */
static void upload_names(const struct upload_bind *to, const uint8_t sha[32], char json[UPLOAD_NAME_MAX],
                         char bin[UPLOAD_NAME_MAX])
{
	crypto_generichash_state st;
	uint8_t h[16];
	char hex[33];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)to->key, strlen(to->key) + 1);
	crypto_generichash_update(&st, (const uint8_t *)to->value, strlen(to->value) + 1);
	crypto_generichash_update(&st, sha, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(json, UPLOAD_NAME_MAX, "%s/%s.json", HOME_D_UPLOADS, hex);
	snprintf(bin, UPLOAD_NAME_MAX, "%s/%s.bin", HOME_D_UPLOADS, hex);
}

static void upload_clear(struct upload *u)
{
	free(u->ct);
	sodium_memzero(u, sizeof(*u));
}

/*
 * The kept upload of this file to this thread, when there is one and it
 * holds together (the same file, a ciphertext of the right length): 1, else 0.
 */
static int upload_load(struct varsko_home *h, const char *jname, const char *bname, const struct tmsg_file *want,
                       struct upload *u)
{
	char *text = NULL, *bin = NULL;
	size_t tlen = 0, blen = 0;
	json_t *o = NULL;
	const char *msg;
	int ok = 0;

	if (home_read_secret(h, jname, &text, &tlen) != VARSKO_OK)
		return 0;
	if ((o = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    tmsg_file_from_json(json_object_get(o, "file"), &u->f) != VARSKO_OK ||
	    (msg = json_string_value(json_object_get(o, "message"))) == NULL || !thread_message_id_valid(msg) ||
	    u->f.size != want->size || sodium_memcmp(u->f.sha256, want->sha256, 32) != 0 ||
	    strcmp(u->f.name, want->name) != 0 || strcmp(u->f.media_type, want->media_type) != 0)
		goto out;
	memcpy(u->message, msg, THREAD_MSG_ID_LEN);
	if (home_read_large(h, bname, (size_t)blob_cipher_len(want->size) + 1, &bin, &blen) != VARSKO_OK ||
	    blen != blob_cipher_len(want->size))
		goto out;
	if ((u->ct = malloc(blen)) == NULL)
		goto out;
	memcpy(u->ct, bin, blen);
	u->ct_len = blen;
	crypto_hash_sha256(u->ct_sha256, u->ct, blen);
	ok = 1;
out:
	json_decref(o);
	file_free(bin, blen, 0);
	if (text != NULL)
		sodium_free(text);
	if (!ok)
		upload_clear(u);
	return ok;
}

/* A fresh upload of data: key, encryption, ids; kept in the home (ciphertext first, then the record). */
static int upload_new(struct varsko_conn *c, const char *jname, const char *bname, const struct tmsg_file *want,
                      const uint8_t *data, size_t len, struct upload *u)
{
	json_t *o = NULL;
	char *text = NULL;
	struct proto_buf fj;
	int r;

	proto_buf_init(&fj);
	u->f = *want;
	crypto_secretstream_xchacha20poly1305_keygen(u->f.key);
	tchain_new_id("B-", u->f.blob);
	tchain_new_id("M-", u->message);
	if ((r = blob_encrypt(u->f.key, data, len, &u->ct, &u->ct_len)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the file cannot be encrypted");
		goto out;
	}
	crypto_hash_sha256(u->ct_sha256, u->ct, u->ct_len);
	/* The record holds the key: the same "file" object the message will carry. */
	if ((r = tmsg_file_encode(&u->f, NULL, &fj)) != VARSKO_OK)
		goto out;
	if ((o = json_loadb((const char *)fj.p, fj.len, 0, NULL)) == NULL ||
	    json_object_set_new(o, "message", json_string(u->message)) != 0 ||
	    (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(c->home, bname, u->ct, u->ct_len, 0600, 0)) != VARSKO_OK ||
	    (r = home_write(c->home, jname, text, strlen(text), 0600, 0)) != VARSKO_OK)
		detail_set(c->detail, sizeof(c->detail), "cannot keep the upload in the home");
out:
	if (text != NULL)
		varsko_free_secret(text, strlen(text));
	json_decref(o);
	proto_buf_free(&fj);
	return r;
}

/* blob_begin or blob_put: the answer's received (and complete). */
static int blob_step(struct varsko_conn *c, json_t *req, const struct upload *u, uint64_t *received, int *complete)
{
	json_t *ans = NULL;
	const char *b;
	int r = conn_request(c, req, FLOW_T_BLOB_OK, &ans);

	json_decref(req);
	if (r != VARSKO_OK)
		return r;
	b = json_string_value(json_object_get(ans, "blob"));
	*received = (uint64_t)json_integer_value(json_object_get(ans, "received"));
	*complete = json_is_true(json_object_get(ans, "complete"));
	if (b == NULL || strcmp(b, u->f.blob) != 0 || (uint64_t)json_integer_value(json_object_get(ans, "size")) !=
	                                                      u->ct_len ||
	    *received > u->ct_len) {
		snprintf(c->detail, sizeof(c->detail), "varskod's answer names another upload than this one");
		r = VARSKO_ERR_PROTOCOL;
	}
	json_decref(ans);
	return r;
}

/* Upload what varskod does not have yet. *resumed_from: what it had at the start. */
static int upload_send(struct varsko_conn *c, const struct upload_bind *to, const struct upload *u,
                       uint64_t *resumed_from)
{
	char h64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char *part = NULL;
	uint64_t received = 0;
	int complete = 0, r;
	json_t *req;

	sodium_bin2base64(h64, sizeof(h64), u->ct_sha256, 32, sodium_base64_VARIANT_ORIGINAL);
	req = json_pack("{s:s, s:s, s:s, s:I, s:s}", "type", "blob_begin", "blob", u->f.blob, to->key, to->value,
	                "size", (json_int_t)u->ct_len, "sha256", h64);
	if (req == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = blob_step(c, req, u, &received, &complete)) != VARSKO_OK)
		return r;
	*resumed_from = received;
	if ((part = malloc(sodium_base64_ENCODED_LEN(BLOB_PART_MAX, sodium_base64_VARIANT_ORIGINAL))) == NULL)
		return VARSKO_ERR_NOMEM;
	while (!complete) {
		size_t n = u->ct_len - received < BLOB_PART_MAX ? u->ct_len - received : BLOB_PART_MAX;
		uint64_t was = received;

		if (n == 0) {
			snprintf(c->detail, sizeof(c->detail), "varskod has every byte but does not call the upload complete");
			r = VARSKO_ERR_PROTOCOL;
			break;
		}
		sodium_bin2base64(part, sodium_base64_ENCODED_LEN(BLOB_PART_MAX, sodium_base64_VARIANT_ORIGINAL),
		                  u->ct + received, n, sodium_base64_VARIANT_ORIGINAL);
		if ((req = json_pack("{s:s, s:s, s:I, s:s}", "type", "blob_put", "blob", u->f.blob, "offset",
		                     (json_int_t)received, "data", part)) == NULL) {
			r = VARSKO_ERR_NOMEM;
			break;
		}
		if ((r = blob_step(c, req, u, &received, &complete)) != VARSKO_OK)
			break;
		if (!complete && received <= was) {
			snprintf(c->detail, sizeof(c->detail), "varskod stored nothing of a part");
			r = VARSKO_ERR_PROTOCOL;
			break;
		}
	}
	free(part);
	return r;
}

/* Kept for a retry only when the connection failed; a refusal (too large, not a member) will not change. */
int varsko_upload_kept(int r)
{
	return r == VARSKO_ERR_CONNECT || r == VARSKO_ERR_TIMEOUT || r == VARSKO_ERR_CLOSED || r == VARSKO_ERR_TLS ||
	       r == VARSKO_ERR_UNAVAILABLE || r == VARSKO_ERR_NOMEM;
}

/*
 * One file uploaded for `to`: the kept upload of it when there is one, else
 * a new one (kept in the home). u gets the upload (its "file" and message
 * id); jname/bname the names of what is kept (removed by the caller once the
 * message or underretning naming it is stored).
 */
static int upload_file(struct varsko_conn *c, const struct upload_bind *to, const struct tmsg_file *want,
                       const uint8_t *data, size_t len, struct upload *u, char jname[UPLOAD_NAME_MAX],
                       char bname[UPLOAD_NAME_MAX], uint64_t *from)
{
	int r;

	upload_names(to, want->sha256, jname, bname);
	if (!upload_load(c->home, jname, bname, want, u) &&
	    (r = upload_new(c, jname, bname, want, data, len, u)) != VARSKO_OK)
		return r;
	if ((r = upload_send(c, to, u, from)) != VARSKO_OK && !varsko_upload_kept(r)) {
		(void)home_remove(c->home, jname);
		(void)home_remove(c->home, bname);
	}
	return r;
}

/* The facts of a file for its "file" object; VARSKO_ERR_BAD_INPUT with c->detail for a name or type not allowed. */
static int file_want(struct varsko_conn *c, const char *name, const char *media_type, const uint8_t *data, size_t len,
                     struct tmsg_file *want)
{
	memset(want, 0, sizeof(*want));
	if (name == NULL || !tmsg_file_name_valid(name, strlen(name)) || media_type == NULL ||
	    !tmsg_media_type_valid(media_type, strlen(media_type)) || (data == NULL && len > 0)) {
		snprintf(c->detail, sizeof(c->detail), "a file's name is 1 to %d bytes without '/', its type \"type/subtype\"",
		         TMSG_FILE_NAME_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((uint64_t)len > BLOB_PLAIN_MAX) {
		snprintf(c->detail, sizeof(c->detail), "the file is larger than any server takes");
		return VARSKO_ERR_TOO_LARGE;
	}
	snprintf(want->name, sizeof(want->name), "%s", name);
	snprintf(want->media_type, sizeof(want->media_type), "%s", media_type);
	want->size = len;
	crypto_hash_sha256(want->sha256, data != NULL ? data : (const uint8_t *)"", len);
	return VARSKO_OK;
}

int varsko_thread_send_file(struct varsko_conn *c, const char *thread, const char *name, const char *media_type,
                            const uint8_t *data, size_t len, const char *text, uint64_t *seq, int *anonymous,
                            uint64_t *resumed_from)
{
	char jname[UPLOAD_NAME_MAX], bname[UPLOAD_NAME_MAX];
	struct upload_bind to = {"thread", thread};
	struct tmsg_file want;
	struct upload *u = NULL;
	struct proto_buf pt;
	uint64_t from = 0, s = 0;
	int r, anon = 0;

	c->detail[0] = '\0';
	proto_buf_init(&pt);
	if (thread == NULL || !thread_id_valid(thread)) {
		snprintf(c->detail, sizeof(c->detail), "not a thread id");
		return VARSKO_ERR_BAD_INPUT;
	}
	if (text != NULL && !tmsg_text_valid(text, strlen(text))) {
		snprintf(c->detail, sizeof(c->detail), "a text is 1 to %d bytes of UTF-8", TMSG_TEXT_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((r = file_want(c, name, media_type, data, len, &want)) != VARSKO_OK)
		return r;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = upload_file(c, &to, &want, data, len, u, jname, bname, &from)) != VARSKO_OK)
		goto out;
	/* Uploaded: the message that carries the key, under the id kept with the upload. */
	if ((r = tmsg_file_encode(&u->f, text, &pt)) != VARSKO_OK ||
	    (r = tmsg_send_plain(c, thread, THREAD_MSG_FILE, &pt, u->message, &s, &anon)) != VARSKO_OK)
		goto out;
	(void)home_remove(c->home, jname);
	(void)home_remove(c->home, bname);
out:
	if (seq != NULL)
		*seq = s;
	if (anonymous != NULL)
		*anonymous = anon;
	if (resumed_from != NULL)
		*resumed_from = from;
	proto_buf_free(&pt);
	if (u != NULL)
		upload_clear(u);
	free(u);
	sodium_memzero(&want, sizeof(want));
	return r;
}

/* An underretning's attachments entry for u's file: {"id","key","media_type","name","sha256","size"} (11.3). */
static json_t *doc_attachment(const struct upload *u)
{
	char k[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char h[sizeof(k)];

	sodium_bin2base64(k, sizeof(k), u->f.key, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(h, sizeof(h), u->f.sha256, 32, sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", u->f.blob, "key", k, "media_type", u->f.media_type,
	                      "name", u->f.name, "sha256", h, "size", (json_int_t)u->f.size);
	sodium_memzero(k, sizeof(k));
	return o;
}

int varsko_underret_send_files(struct varsko_conn *c, const char *doc, size_t len, const char *submission,
                               const struct varsko_file *files, size_t n, struct varsko_receipt_info *info,
                               char **receipt_json)
{
	char sub[VARSKO_ID_MAX + 1], (*names)[2][UPLOAD_NAME_MAX] = NULL, *text = NULL;
	struct proto_buf basis;
	struct upload *u = NULL;
	json_t *o = NULL, *arr = NULL;
	uint64_t from = 0;
	size_t i;
	int r;

	if (n == 0)
		return varsko_underret_send(c, doc, len, submission, info, receipt_json);
	c->detail[0] = '\0';
	proto_buf_init(&basis);
	if (doc == NULL || n > UH_ATTACH_MAX || files == NULL) {
		snprintf(c->detail, sizeof(c->detail), "an underretning has at most %d attachments", UH_ATTACH_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((o = json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(o)) {
		snprintf(c->detail, sizeof(c->detail), "the document is not a JSON object");
		r = VARSKO_ERR_BAD_JSON;
		goto out;
	}
	if (json_object_get(o, "attachments") != NULL) {
		snprintf(c->detail, sizeof(c->detail),
		         "the document lists attachments itself; give the files to attach instead (varsko: --bilag)");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((u = calloc(n, sizeof(*u))) == NULL || (names = calloc(n, sizeof(*names))) == NULL ||
	    (arr = json_array()) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	/* The submission id: the document and the files' hashes, so the same send again is the same underretning. */
	proto_buf_add(&basis, doc, len);
	for (i = 0; i < n; i++) {
		struct tmsg_file want;

		if ((r = file_want(c, files[i].name, files[i].media_type, files[i].data, files[i].len, &want)) != VARSKO_OK)
			goto out;
		proto_buf_add(&basis, want.sha256, 32);
		u[i].f = want;
	}
	if (submission != NULL)
		snprintf(sub, sizeof(sub), "%s", submission);
	else if ((r = varsko_submission_id(c->id.user, basis.p, basis.len, sub)) != VARSKO_OK)
		goto out;
	for (i = 0; i < n; i++) {
		struct upload_bind to = {"submission", sub};
		struct tmsg_file want = u[i].f;

		memset(&u[i], 0, sizeof(u[i]));
		r = upload_file(c, &to, &want, files[i].data, files[i].len, &u[i], names[i][0], names[i][1], &from);
		if (r == VARSKO_ERR_EXISTS) {
			/* Received already (sent again): varskod answers the submission with its receipt, a duplicate. */
			c->detail[0] = '\0';
			r = varsko_underret_send(c, doc, len, sub, info, receipt_json);
			goto out;
		}
		if (r != VARSKO_OK)
			goto out;
		if (json_array_append_new(arr, doc_attachment(&u[i])) != 0) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
	}
	/* Every file is stored: the document names them, with their keys, inside its own envelope. */
	if (json_object_set(o, "attachments", arr) != 0 || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = varsko_underret_send(c, text, strlen(text), sub, info, receipt_json)) != VARSKO_OK)
		goto out;
	for (i = 0; i < n; i++) {
		(void)home_remove(c->home, names[i][0]);
		(void)home_remove(c->home, names[i][1]);
	}
out:
	if (text != NULL)
		varsko_free_secret(text, strlen(text));
	json_decref(arr);
	json_decref(o); /* wiped: text.c */
	proto_buf_free(&basis);
	for (i = 0; u != NULL && i < n; i++)
		upload_clear(&u[i]);
	free(u);
	free(names);
	return r;
}
/* ---- fetching an attachment ---------------------------------------------------------------------- */

/* The ciphertext of blob f->blob (cipher bytes), fetched in parts: a new buffer in *ct. */
static int blob_fetch(struct varsko_conn *c, const struct tmsg_file *f, uint64_t cipher, uint8_t **ct)
{
	uint8_t *buf = malloc(cipher > 0 ? (size_t)cipher : 1);
	uint64_t at = 0;
	int r = VARSKO_OK;

	*ct = NULL;
	if (buf == NULL)
		return VARSKO_ERR_NOMEM;
	while (at < cipher) {
		json_t *req = json_pack("{s:s, s:s, s:I}", "type", "blob_get", "blob", f->blob, "offset", (json_int_t)at);
		json_t *ans = NULL;
		const char *s, *b;
		size_t n = 0;

		if (req == NULL) {
			r = VARSKO_ERR_NOMEM;
			break;
		}
		r = conn_request(c, req, FLOW_T_BLOB_DATA, &ans);
		json_decref(req);
		if (r != VARSKO_OK)
			break;
		s = json_string_value(json_object_get(ans, "data"));
		/* The blob the message names, the size its file needs, the part asked for, and no more than is left. */
		b = json_string_value(json_object_get(ans, "blob"));
		if (s == NULL || b == NULL || strcmp(b, f->blob) != 0 ||
		    (uint64_t)json_integer_value(json_object_get(ans, "size")) != cipher ||
		    (uint64_t)json_integer_value(json_object_get(ans, "offset")) != at ||
		    proto_b64_decoded_len(s, &n) != VARSKO_OK || n == 0 || n > cipher - at ||
		    proto_b64_decode_exact(s, buf + at, n) != VARSKO_OK) {
			snprintf(c->detail, sizeof(c->detail),
			         "varskod's answer for the attachment does not fit the message that names it");
			json_decref(ans);
			r = VARSKO_ERR_CRYPTO;
			break;
		}
		json_decref(ans);
		at += n;
	}
	if (r != VARSKO_OK) {
		free(buf);
		return r;
	}
	*ct = buf;
	return VARSKO_OK;
}

int attach_fetch_open(struct varsko_conn *c, const struct tmsg_file *f, uint8_t **data, size_t *len)
{
	uint64_t cipher = blob_cipher_len(f->size);
	uint8_t *ct = NULL, *pt = NULL, h[32];
	size_t pt_len = 0;
	int r;

	*data = NULL;
	*len = 0;
	if (cipher == 0 || cipher > SIZE_MAX)
		return VARSKO_ERR_TOO_LARGE;
	if ((r = blob_fetch(c, f, cipher, &ct)) != VARSKO_OK)
		return r;
	/* Cut, reordered or another file's bytes do not open; a file of another size or hash is not this one. */
	r = blob_decrypt(f->key, ct, (size_t)cipher, &pt, &pt_len);
	free(ct);
	if (r != VARSKO_OK || pt_len != f->size || crypto_hash_sha256(h, pt != NULL ? pt : (const uint8_t *)"", pt_len) != 0 ||
	    sodium_memcmp(h, f->sha256, sizeof(h)) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the attachment %s does not open, or is not the file that names it",
		         f->blob);
		if (pt != NULL)
			varsko_free_secret(pt, pt_len);
		return VARSKO_ERR_CRYPTO;
	}
	*data = pt;
	*len = pt_len;
	return VARSKO_OK;
}

/* The tmsg_file of an underretning's attachment (11.3): its id is the blob's when the file was uploaded. */
static int doc_file(const struct uh_attachment *a, struct tmsg_file *f)
{
	memset(f, 0, sizeof(*f));
	if (!thread_blob_id_valid(a->id) || strlen(a->name) > TMSG_FILE_NAME_MAX ||
	    strlen(a->media_type) > TMSG_MEDIA_TYPE_MAX)
		return VARSKO_ERR_NOT_FOUND;
	memcpy(f->blob, a->id, THREAD_BLOB_ID_LEN);
	memcpy(f->key, a->key, sizeof(f->key));
	snprintf(f->name, sizeof(f->name), "%s", a->name);
	snprintf(f->media_type, sizeof(f->media_type), "%s", a->media_type);
	f->size = a->size;
	memcpy(f->sha256, a->sha256, sizeof(f->sha256));
	return VARSKO_OK;
}

int attach_of_document(struct varsko_conn *c, const char *doc, size_t len, size_t index, uint8_t **data,
                       size_t *dlen, char name[VARSKO_FILE_NAME_MAX + 1], char media_type[VARSKO_MEDIA_TYPE_MAX + 1])
{
	struct uh_doc *d = NULL;
	struct uh_error e;
	struct tmsg_file f;
	int r;

	*data = NULL;
	*dlen = 0;
	memset(&e, 0, sizeof(e));
	if ((r = uh_parse(doc, len, &d, &e)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "the underretning's document does not parse");
		return r;
	}
	if (index < 1 || index > d->n_attachments) {
		snprintf(c->detail, sizeof(c->detail), "the underretning has %zu attachment(s); there is no number %zu",
		         d->n_attachments, index);
		r = VARSKO_ERR_NOT_FOUND;
	} else if ((r = doc_file(&d->attachments[index - 1], &f)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "attachment %zu is only described in the document: no file was sent",
		         index);
	} else if ((r = attach_fetch_open(c, &f, data, dlen)) == VARSKO_OK) {
		snprintf(name, VARSKO_FILE_NAME_MAX + 1, "%s", f.name);
		snprintf(media_type, VARSKO_MEDIA_TYPE_MAX + 1, "%s", f.media_type);
	}
	sodium_memzero(&f, sizeof(f));
	uh_doc_free(d);
	return r;
}

int varsko_underretning_attachment(struct varsko_conn *c, const char *ref, size_t index, uint8_t **data, size_t *len,
                                   char name[VARSKO_FILE_NAME_MAX + 1], char media_type[VARSKO_MEDIA_TYPE_MAX + 1])
{
	struct varsko_opened *op = NULL;
	int r;

	*data = NULL;
	*len = 0;
	if ((r = varsko_underretning_open(c, ref, &op)) != VARSKO_OK)
		return r;
	r = attach_of_document(c, op->document, op->document_len, index, data, len, name, media_type);
	varsko_opened_free(op);
	return r;
}
