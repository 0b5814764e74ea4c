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

#define UPLOAD_NAME_MAX (sizeof(HOME_D_UPLOADS) + THREAD_ID_LEN + 40)

struct upload {
	struct tmsg_file f; /* the message's "file": blob id, key, name, type, size, SHA-256 */
	char message[THREAD_MSG_ID_LEN + 1];
	uint8_t *ct; /* the ciphertext */
	size_t ct_len;
	uint8_t ct_sha256[32];
};

static void upload_names(const char *thread, const uint8_t sha[32], char json[UPLOAD_NAME_MAX],
                         char bin[UPLOAD_NAME_MAX])
{
	char hex[33];

	sodium_bin2hex(hex, sizeof(hex), sha, 16);
	snprintf(json, UPLOAD_NAME_MAX, "%s/%s-%s.json", HOME_D_UPLOADS, thread, hex);
	snprintf(bin, UPLOAD_NAME_MAX, "%s/%s-%s.bin", HOME_D_UPLOADS, thread, hex);
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
static int upload_send(struct varsko_conn *c, const char *thread, const struct upload *u, uint64_t *resumed_from)
{
	char h64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char *part = NULL;
	uint64_t received = 0;
	int complete = 0, r;
	json_t *req;

	sodium_bin2base64(h64, sizeof(h64), u->ct_sha256, 32, sodium_base64_VARIANT_ORIGINAL);
	req = json_pack("{s:s, s:s, s:s, s:I, s:s}", "type", "blob_begin", "blob", u->f.blob, "thread", thread, "size",
	                (json_int_t)u->ct_len, "sha256", h64);
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

int varsko_thread_send_file(struct varsko_conn *c, const char *thread, const char *name, const char *media_type,
                            const uint8_t *data, size_t len, const char *text, uint64_t *seq, int *anonymous,
                            uint64_t *resumed_from)
{
	char jname[UPLOAD_NAME_MAX], bname[UPLOAD_NAME_MAX];
	struct tmsg_file want;
	struct upload *u = NULL;
	struct proto_buf pt;
	uint64_t from = 0, s = 0;
	int r, anon = 0;

	c->detail[0] = '\0';
	proto_buf_init(&pt);
	memset(&want, 0, sizeof(want));
	if (thread == NULL || !thread_id_valid(thread)) {
		snprintf(c->detail, sizeof(c->detail), "not a thread id");
		return VARSKO_ERR_BAD_INPUT;
	}
	if (name == NULL || !tmsg_file_name_valid(name, strlen(name)) || media_type == NULL ||
	    !tmsg_media_type_valid(media_type, strlen(media_type)) || (data == NULL && len > 0) ||
	    (text != NULL && !tmsg_text_valid(text, strlen(text)))) {
		snprintf(c->detail, sizeof(c->detail),
		         "a file's name is 1 to %d bytes without '/', its type \"type/subtype\", and a text 1 to %d bytes",
		         TMSG_FILE_NAME_MAX, TMSG_TEXT_MAX);
		return VARSKO_ERR_BAD_INPUT;
	}
	if ((uint64_t)len > BLOB_PLAIN_MAX) {
		snprintf(c->detail, sizeof(c->detail), "the file is larger than any server takes");
		return VARSKO_ERR_TOO_LARGE;
	}
	snprintf(want.name, sizeof(want.name), "%s", name);
	snprintf(want.media_type, sizeof(want.media_type), "%s", media_type);
	want.size = len;
	crypto_hash_sha256(want.sha256, data != NULL ? data : (const uint8_t *)"", len);
	upload_names(thread, want.sha256, jname, bname);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return VARSKO_ERR_NOMEM;
	if (!upload_load(c->home, jname, bname, &want, u) &&
	    (r = upload_new(c, jname, bname, &want, data, len, u)) != VARSKO_OK)
		goto out;
	if ((r = upload_send(c, thread, u, &from)) != VARSKO_OK) {
		/* Kept for a retry only when the connection failed; a refusal (too large, not a member) will not change. */
		if (r != VARSKO_ERR_CONNECT && r != VARSKO_ERR_TIMEOUT && r != VARSKO_ERR_CLOSED && r != VARSKO_ERR_TLS &&
		    r != VARSKO_ERR_UNAVAILABLE && r != VARSKO_ERR_NOMEM) {
			(void)home_remove(c->home, jname);
			(void)home_remove(c->home, bname);
		}
		goto out;
	}
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
