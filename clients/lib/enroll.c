/*
 * enroll.c: registering a new device with a one-time code.
 *
 * Trust is decided here, once: the organisation key that comes back is
 * pinned only after it matched the fingerprint the user was given (or the
 * caller shows its fingerprint to the user), and after the certificates it
 * signed prove that the server registered exactly the keys we made. Once
 * the organisation has an org chain, the fingerprint is its root key's
 * (PROTOCOL.md 16.2): the root is pinned beside the organisation key, and
 * the first login checks, by the org chain, that the root vouches for it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"

/* Keep only the hex digits of a fingerprint, lowercased; -1 on any other character but '-' and ' '. */
static int fpr_normalise(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == '-' || *in == ' ' || *in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || n + 1 >= cap)
			return -1;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return 0;
}

/* The check of enroll_check_fpr(); `what` names the key in the detail. */
static int check_fpr(const uint8_t pk[PROTO_PK_LEN], const char *what, const char *expected_fpr,
                     char fpr_out[PROTO_FPR_LEN + 1], char *detail, size_t dcap)
{
	char want[PROTO_FPR_LEN + 1], got[PROTO_FPR_LEN + 1];

	proto_fingerprint(pk, fpr_out);
	if (expected_fpr == NULL)
		return VARSKO_OK;
	if (fpr_normalise(expected_fpr, want, sizeof(want)) != 0 || fpr_normalise(fpr_out, got, sizeof(got)) != 0 ||
	    strcmp(want, got) != 0) {
		snprintf(detail, dcap, "the %s fingerprint is %s, not the one expected; nothing was sent or saved",
		         what, fpr_out);
		return VARSKO_ERR_BAD_CERT;
	}
	return VARSKO_OK;
}

int enroll_check_fpr(const uint8_t org_pk[PROTO_PK_LEN], const char *expected_fpr, char fpr_out[PROTO_FPR_LEN + 1],
                     char *detail, size_t dcap)
{
	return check_fpr(org_pk, "organisation key", expected_fpr, fpr_out, detail, dcap);
}

int enroll_check_hello_fpr(const struct proto_frame *hello, const char *expected_fpr, char fpr_out[PROTO_FPR_LEN + 1],
                           char *detail, size_t dcap)
{
	if (hello->u.hello.has_root)
		return check_fpr(hello->u.hello.root_pk, "organisation root key", expected_fpr, fpr_out, detail, dcap);
	return enroll_check_fpr(hello->u.hello.org_pk, expected_fpr, fpr_out, detail, dcap);
}

int enroll_check_reply(const struct proto_frame *f, const uint8_t sign_pk[PROTO_PK_LEN],
                       const uint8_t box_pk[PROTO_PK_LEN], const char *expected_fpr, int64_t now,
                       char fpr_out[PROTO_FPR_LEN + 1], char *detail, size_t dcap)
{
	int r = VARSKO_ERR_BAD_CERT;
	const struct proto_cert *c = &f->u.enrolled.cert;
	const struct proto_cert *g = &f->u.enrolled.gateway_cert;
	const uint8_t *org_pk = f->u.enrolled.org_pk;
	char dev[PROTO_DEVICE_ID_LEN + 1];

	detail_set(detail, dcap, "");
	if (f->type != PROTO_T_ENROLLED) {
		snprintf(detail, dcap, "not an enrolled frame");
		return VARSKO_ERR_PROTOCOL;
	}
	if ((r = enroll_check_fpr(org_pk, expected_fpr, fpr_out, detail, dcap)) != VARSKO_OK)
		goto out;
	if ((r = proto_cert_verify(c, org_pk, now)) != VARSKO_OK) {
		snprintf(detail, dcap, "the device certificate does not verify against the organisation key");
		goto out;
	}
	r = VARSKO_ERR_BAD_CERT;
	proto_device_id(sign_pk, dev);
	if (sodium_memcmp(c->sign_pk, sign_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp(c->box_pk, box_pk, PROTO_PK_LEN) != 0 || strcmp(c->device, dev) != 0) {
		snprintf(detail, dcap, "the device certificate is not for this device's keys");
		goto out;
	}
	if ((r = proto_cert_verify(g, org_pk, now)) != VARSKO_OK || strcmp(g->role, "gateway") != 0) {
		r = VARSKO_ERR_BAD_CERT;
		snprintf(detail, dcap, "the gateway certificate does not verify against the organisation key");
		goto out;
	}
	r = VARSKO_OK;
out:
	return r;
}

int session_check_cert(const struct proto_cert *c, const uint8_t org_pk[PROTO_PK_LEN], const struct keys *k,
                       int64_t now)
{
	int r;
	char dev[PROTO_DEVICE_ID_LEN + 1];

	if ((r = proto_cert_verify(c, org_pk, now)) != VARSKO_OK)
		return r;
	proto_device_id(k->sign_pk, dev);
	if (sodium_memcmp(c->sign_pk, k->sign_pk, PROTO_PK_LEN) != 0 ||
	    sodium_memcmp(c->box_pk, k->box_pk, PROTO_PK_LEN) != 0 || strcmp(c->device, dev) != 0)
		return VARSKO_ERR_BAD_CERT;
	return VARSKO_OK;
}

/* Send the enroll frame for keys k over an open connection whose hello carried nonce. */
static int send_enroll(struct wsc *w, const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const char *code,
                       const char *label, const struct keys *k, int64_t deadline)
{
	int r = VARSKO_ERR_INTERNAL;
	struct proto_frame *f = NULL;
	struct proto_buf in;

	proto_buf_init(&in);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	f->type = PROTO_T_ENROLL;
	snprintf(f->id, sizeof(f->id), "enroll-1");
	snprintf(f->u.enroll.code, sizeof(f->u.enroll.code), "%s", code);
	snprintf(f->u.enroll.origin, sizeof(f->u.enroll.origin), "%s", origin);
	snprintf(f->u.enroll.label, sizeof(f->u.enroll.label), "%s", label);
	memcpy(f->u.enroll.sign_pk, k->sign_pk, PROTO_PK_LEN);
	memcpy(f->u.enroll.box_pk, k->box_pk, PROTO_PK_LEN);
	if ((r = proto_enroll_signing_input(nonce, origin, code, k->sign_pk, k->box_pk, label, &in)) != VARSKO_OK)
		goto out;
	if ((r = proto_sign(f->u.enroll.sig, &in, k->sign_sk)) != VARSKO_OK)
		goto out;
	r = client_send_frame(w, f, deadline);
out:
	proto_buf_free(&in);
	free(f);
	return r;
}

int client_confirm(struct wsc *w, const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const struct keys *k,
                   int64_t deadline, char *detail, size_t dcap)
{
	int r = VARSKO_ERR_INTERNAL;
	struct proto_frame *f = NULL;
	struct proto_buf in;

	proto_buf_init(&in);
	detail_set(detail, dcap, "");
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	f->type = PROTO_T_ENROLL_CONFIRM;
	snprintf(f->id, sizeof(f->id), "confirm-1");
	proto_device_id(k->sign_pk, f->u.confirm.device);
	snprintf(f->u.confirm.origin, sizeof(f->u.confirm.origin), "%s", origin);
	if ((r = proto_confirm_signing_input(nonce, origin, f->u.confirm.device, &in)) != VARSKO_OK)
		goto out;
	if ((r = proto_sign(f->u.confirm.sig, &in, k->sign_sk)) != VARSKO_OK)
		goto out;
	if ((r = client_send_frame(w, f, deadline)) != VARSKO_OK || (r = wsc_recv(w, f, deadline)) != VARSKO_OK) {
		detail_set(detail, dcap, wsc_detail(w));
		goto out;
	}
	if (f->type == PROTO_T_ERROR) {
		r = client_server_error(detail, dcap, f);
		goto out;
	}
	if (f->type != PROTO_T_CONFIRMED) {
		snprintf(detail, dcap, "unexpected %s frame in answer to enroll_confirm",
		         proto_type_name(f->type) != NULL ? proto_type_name(f->type) : "unknown");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	r = VARSKO_OK;
out:
	proto_buf_free(&in);
	free(f);
	return r;
}

/* A refusal of enroll_confirm after which the stored device will never become active. */
static int confirm_void(int r)
{
	return r == VARSKO_ERR_UNKNOWN_DEVICE || r == VARSKO_ERR_CODE_EXPIRED || r == VARSKO_ERR_CODE_USED ||
	       r == VARSKO_ERR_BAD_SIGNATURE;
}

int client_server_error(char *detail, size_t dcap, const struct proto_frame *f)
{
	int r = varsko_err_from_name(f->u.error.code);

	detail_set(detail, dcap, f->u.error.message);
	/* An unknown name or "ok" in an error frame is itself a protocol fault. */
	return r == VARSKO_OK ? VARSKO_ERR_PROTOCOL : r;
}

int client_wait_hello(struct varsko_home *h, struct wsc *w, struct proto_frame *f, int64_t deadline)
{
	int r = wsc_recv(w, f, deadline);

	if (r != VARSKO_OK) {
		detail_set(h->detail, sizeof(h->detail), wsc_detail(w));
		return r;
	}
	if (f->type == PROTO_T_ERROR)
		return client_server_error(h->detail, sizeof(h->detail), f);
	if (f->type != PROTO_T_HELLO || f->u.hello.version != PROTO_VERSION) {
		snprintf(h->detail, sizeof(h->detail), "the server did not greet with hello version %d", PROTO_VERSION);
		return VARSKO_ERR_PROTOCOL;
	}
	return VARSKO_OK;
}

/*
 * Pin the organisation root key of the hello (root_pk NULL: the server has
 * no org chain yet, and a root a former enrollment of this home left is
 * removed). What this home verified of the org chain belongs to the former
 * root: it goes either way, so the first login checks the chain again
 * (PROTOCOL.md 16.2).
 */
static int write_root(struct varsko_home *h, const uint8_t *root_pk)
{
	char line[64];
	int r;

	(void)unlinkat(h->dirfd, HOME_F_ORG_SEEN, 0);
	if (root_pk == NULL) {
		(void)unlinkat(h->dirfd, HOME_F_ROOT, 0);
		(void)fsync(h->dirfd);
		return VARSKO_OK;
	}
	if ((r = proto_b64_encode(root_pk, PROTO_PK_LEN, line, sizeof(line) - 1)) != VARSKO_OK)
		return r;
	strcat(line, "\n");
	return home_write(h, HOME_F_ROOT, line, strlen(line), 0600, 0);
}

/*
 * Write every file of a checked enrollment; the secret key last, and never
 * over an existing one. root_pk: the root of the hello, or NULL.
 */
static int write_home(struct varsko_home *h, const char *url, const char *ca_pem, size_t ca_len,
                      const struct proto_frame *f, const uint8_t *root_pk, const struct keys *k)
{
	int r = VARSKO_ERR_INTERNAL;
	char *cert = NULL, *gw = NULL, *keytext = NULL, *line = NULL;
	char org[64];
	size_t keylen = 0;

	if ((r = proto_b64_encode(f->u.enrolled.org_pk, PROTO_PK_LEN, org, sizeof(org))) != VARSKO_OK)
		goto out;
	if ((r = proto_cert_to_json(&f->u.enrolled.cert, &cert)) != VARSKO_OK)
		goto out;
	if ((r = proto_cert_to_json(&f->u.enrolled.gateway_cert, &gw)) != VARSKO_OK)
		goto out;
	if ((r = keys_to_text(k, &keytext, &keylen)) != VARSKO_OK)
		goto out;
	if ((r = home_write(h, HOME_F_CA, ca_pem, ca_len, 0600, 0)) != VARSKO_OK)
		goto out;
	if (asprintf(&line, "%s\n", url) < 0) {
		line = NULL;
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(h, HOME_F_SERVER, line, strlen(line), 0600, 0)) != VARSKO_OK)
		goto out;
	free(line);
	if (asprintf(&line, "%s\n", org) < 0) {
		line = NULL;
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(h, HOME_F_ORG, line, strlen(line), 0600, 0)) != VARSKO_OK)
		goto out;
	if ((r = write_root(h, root_pk)) != VARSKO_OK)
		goto out;
	free(line);
	line = NULL;
	if (asprintf(&line, "%s\n", gw) < 0) {
		line = NULL;
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(h, HOME_F_GATEWAY, line, strlen(line), 0600, 0)) != VARSKO_OK)
		goto out;
	free(line);
	line = NULL;
	if (asprintf(&line, "%s\n", cert) < 0) {
		line = NULL;
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(h, HOME_F_CERT, line, strlen(line), 0600, 0)) != VARSKO_OK)
		goto out;
	r = home_write(h, HOME_F_KEY, keytext, keylen, 0600, 1);
out:
	if (r != VARSKO_OK && r != VARSKO_ERR_EXISTS)
		snprintf(h->detail, sizeof(h->detail), "cannot write the home directory %s", h->path);
	if (keytext != NULL)
		sodium_free(keytext);
	free(line);
	free(cert);
	free(gw);
	return r;
}

int varsko_enroll(struct varsko_home *h, const char *url, const char *code, const char *ca_file,
                  const char *expected_fpr, const char *label, struct varsko_enroll_info *info)
{
	int r = VARSKO_ERR_INTERNAL;
	struct keys *k = NULL;
	struct wsc *w = NULL;
	struct proto_frame *f = NULL;
	char origin[PROTO_ORIGIN_MAX + 1], fpr[PROTO_FPR_LEN + 1], ofpr[PROTO_FPR_LEN + 1];
	uint8_t org_pk[PROTO_PK_LEN], root_pk[PROTO_PK_LEN];
	int has_root = 0;
	char *ca_pem = NULL;
	size_t ca_len = 0;
	uint8_t nonce[PROTO_NONCE_LEN];
	int64_t deadline = wsc_now_ms() + VARSKO_TIMEOUT_SECONDS * 1000;

	h->detail[0] = '\0';
	if (label == NULL)
		label = "";
	if (url == NULL || code == NULL || ca_file == NULL || proto_origin_from_url(url, origin) != VARSKO_OK) {
		snprintf(h->detail, sizeof(h->detail), "the server URL must look like wss://HOST:PORT/");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if (code[0] == '\0' || strlen(code) > PROTO_CODE_MAX || strlen(label) > PROTO_ID_MAX) {
		snprintf(h->detail, sizeof(h->detail), "the code or the label is empty or too long");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	/* Refuse before the code is spent: a home holds one device. */
	if (varsko_home_is_enrolled(h)) {
		snprintf(h->detail, sizeof(h->detail), "%s already holds an enrolled device", h->path);
		r = VARSKO_ERR_EXISTS;
		goto out;
	}
	if ((r = file_read(ca_file, HOME_FILE_MAX, 0, &ca_pem, &ca_len)) != VARSKO_OK) {
		snprintf(h->detail, sizeof(h->detail), "cannot read the CA file %s", ca_file);
		r = VARSKO_ERR_IO;
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = keys_generate(&k)) != VARSKO_OK)
		goto out;
	if ((r = wsc_open(url, ca_file, deadline, &w, h->detail, sizeof(h->detail))) != VARSKO_OK)
		goto out;
	if ((r = client_wait_hello(h, w, f, deadline)) != VARSKO_OK)
		goto out;
	memcpy(nonce, f->u.hello.nonce, sizeof(nonce));
	/*
	 * The organisation key, or its root once the org chain exists, is
	 * checked before anything is registered (PROTOCOL.md 3, 16.2). A
	 * server that leaves root_pk out fails here too: the fingerprint the
	 * user holds is then the root's.
	 */
	memcpy(org_pk, f->u.hello.org_pk, sizeof(org_pk));
	has_root = f->u.hello.has_root;
	memcpy(root_pk, f->u.hello.root_pk, sizeof(root_pk));
	if ((r = enroll_check_hello_fpr(f, expected_fpr, fpr, h->detail, sizeof(h->detail))) != VARSKO_OK)
		goto out;
	if ((r = send_enroll(w, nonce, origin, code, label, k, deadline)) != VARSKO_OK) {
		detail_set(h->detail, sizeof(h->detail), wsc_detail(w));
		goto out;
	}
	if ((r = wsc_recv(w, f, deadline)) != VARSKO_OK) {
		detail_set(h->detail, sizeof(h->detail), wsc_detail(w));
		goto out;
	}
	if (f->type == PROTO_T_ERROR) {
		r = client_server_error(h->detail, sizeof(h->detail), f);
		goto out;
	}
	if (f->type != PROTO_T_ENROLLED) {
		snprintf(h->detail, sizeof(h->detail), "unexpected %s frame in answer to enroll",
		         proto_type_name(f->type) != NULL ? proto_type_name(f->type) : "unknown");
		r = VARSKO_ERR_PROTOCOL;
		goto out;
	}
	/* With a root the fingerprint was the root's, checked above; the org chain vouches for org_pk at login. */
	r = enroll_check_reply(f, k->sign_pk, k->box_pk, has_root ? NULL : expected_fpr, (int64_t)time(NULL),
	                       has_root ? ofpr : fpr, h->detail, sizeof(h->detail));
	if (r != VARSKO_OK)
		goto out;
	if (sodium_memcmp(f->u.enrolled.org_pk, org_pk, PROTO_PK_LEN) != 0) {
		snprintf(h->detail, sizeof(h->detail),
		         "the server answered with another organisation key than its hello");
		r = VARSKO_ERR_BAD_CERT;
		goto out;
	}
	if ((r = write_home(h, url, ca_pem, ca_len, f, has_root ? root_pk : NULL, k)) != VARSKO_OK)
		goto out;
	/* Stored: only now may the server make the device active. */
	r = client_confirm(w, nonce, origin, k, deadline, h->detail, sizeof(h->detail));
	if (r != VARSKO_OK && confirm_void(r)) {
		/* It will never be active: the home is freed for the next try (with a new code if needed). */
		home_forget_device(h);
		goto out;
	}
	if (r != VARSKO_OK) {
		/* Stored but unconfirmed: the next login confirms it (client_login_confirm). */
		snprintf(h->detail, sizeof(h->detail),
		         "the device is stored, but the server did not confirm it; the next command confirms it");
		goto out;
	}
	if (info != NULL) {
		identity_from_cert(&f->u.enrolled.cert, &info->identity);
		memcpy(info->org_fingerprint, fpr, sizeof(info->org_fingerprint));
	}
	r = VARSKO_OK;
out:
	wsc_close(w);
	keys_free(k);
	file_free(ca_pem, ca_len, 0);
	free(f);
	return r;
}
