/*
 * conn.c: an authenticated session with varskod.
 *
 * Login answers the server's hello with a signature by the device key over
 * (nonce, origin, device, time). Every certificate the server returns is
 * checked against the organisation key pinned at enrollment and against this
 * device's own keys, so a server that is not the organisation's cannot
 * pretend to be it, nor hand us someone else's identity. A home that pinned
 * the organisation root talks only to a server presenting it, and at its
 * first login checks that the root's org chain vouches for the pinned key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"

#define CONN_MAX_SKIPPED 16 /* unrelated frames tolerated while waiting for an answer */

/* Cut trailing whitespace of a NUL-terminated buffer of length *len. */
static void rstrip(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		s[--*len] = '\0';
}

/* Read the pinned organisation key of the home. */
static int load_org_pk(struct varsko_home *h, uint8_t org_pk[PROTO_PK_LEN])
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if ((r = home_read(h, HOME_F_ORG, &text, &len)) != VARSKO_OK)
		goto out;
	rstrip(text, &len);
	if (proto_b64_decode_exact(text, org_pk, PROTO_PK_LEN) != VARSKO_OK)
		r = VARSKO_ERR_BAD_INPUT;
out:
	if (r != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_ORG);
	free(text);
	return r;
}

int home_load_root(struct varsko_home *h, uint8_t root_pk[PROTO_PK_LEN])
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if (!home_has(h, HOME_F_ROOT))
		return VARSKO_ERR_NOT_FOUND;
	if ((r = home_read(h, HOME_F_ROOT, &text, &len)) != VARSKO_OK)
		goto out;
	rstrip(text, &len);
	if (proto_b64_decode_exact(text, root_pk, PROTO_PK_LEN) != VARSKO_OK)
		r = VARSKO_ERR_BAD_INPUT;
out:
	if (r != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_ROOT);
	free(text);
	return r;
}

int varsko_fingerprint_of_home(struct varsko_home *h, char out[VARSKO_FPR_LEN + 1])
{
	int r;
	uint8_t org_pk[PROTO_PK_LEN];

	h->detail[0] = '\0';
	if (!varsko_home_is_enrolled(h)) {
		snprintf(h->detail, sizeof(h->detail), "%s holds no enrolled device", h->path);
		return VARSKO_ERR_NOT_FOUND;
	}
	/* The fingerprint the user was given: the root's once the home pinned one (PROTOCOL.md 16.2). */
	r = home_load_root(h, org_pk);
	if (r == VARSKO_ERR_NOT_FOUND)
		r = load_org_pk(h, org_pk);
	if (r != VARSKO_OK)
		return r;
	proto_fingerprint(org_pk, out);
	return VARSKO_OK;
}

/*
 * A home talks only to a server that presents the organisation key it
 * pinned at enrollment (PROTOCOL.md 3) and, holding a root, that root
 * (16.2): checked on every hello, before anything is sent.
 */
static int check_hello(struct varsko_home *h, const struct varsko_conn *c, const struct proto_frame *f)
{
	/* A server of another organisation (or a moved one that lost its keys) gets no login at all. */
	if (sodium_memcmp(f->u.hello.org_pk, c->org_pk, PROTO_PK_LEN) != 0) {
		snprintf(h->detail, sizeof(h->detail),
		         "the server presents another organisation key than the one this device pinned at "
		         "enrollment; nothing was sent");
		return VARSKO_ERR_BAD_CERT;
	}
	if (!c->has_root)
		return VARSKO_OK;
	if (!f->u.hello.has_root || sodium_memcmp(f->u.hello.root_pk, c->root_pk, PROTO_PK_LEN) != 0) {
		snprintf(h->detail, sizeof(h->detail),
		         f->u.hello.has_root ? "the server presents another organisation root than the one this "
		                               "device pinned at enrollment; nothing was sent"
		                             : "the server presents no organisation root, but this device pinned "
		                               "one at enrollment; nothing was sent");
		return VARSKO_ERR_BAD_CHAIN;
	}
	return VARSKO_OK;
}

static int load_keys(struct varsko_home *h, struct keys **out)
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if ((r = home_read_secret(h, HOME_F_KEY, &text, &len)) != VARSKO_OK)
		goto out;
	r = keys_from_text(text, len, out);
out:
	if (r != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_KEY);
	if (text != NULL)
		sodium_free(text);
	return r;
}

int client_send_frame(struct wsc *w, const struct proto_frame *f, int64_t deadline)
{
	int r;
	char *text = NULL;
	size_t len = 0;

	if ((r = proto_frame_encode(f, &text, &len)) != VARSKO_OK)
		return r;
	r = wsc_send(w, text, len, deadline);
	sodium_memzero(text, len); /* an enroll frame carries the one-time code */
	free(text);
	return r;
}

/*
 * Wait for the answer to request `id`: a session frame (checked and copied
 * into c->cert and c->id) or an error frame (its code). Frames that answer
 * something else are skipped, a few at most; pushes are queued.
 */
static int wait_session(struct varsko_conn *c, const char *id, int64_t deadline)
{
	int r = VARSKO_ERR_INTERNAL;
	struct conn_frame f = {0};
	const char *tn;

	for (int skipped = 0;; skipped++) {
		if (skipped > CONN_MAX_SKIPPED) {
			snprintf(c->detail, sizeof(c->detail), "no answer to %s among the server's frames", id);
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
		conn_frame_clear(&f);
		if ((r = conn_next(c, deadline, 0, &f)) != VARSKO_OK)
			goto out;
		if (f.id[0] != '\0' && strcmp(f.id, id) != 0)
			continue;
		if (f.pf != NULL && f.pf->type == PROTO_T_ERROR) {
			r = client_server_error(c->detail, sizeof(c->detail), f.pf);
			goto out;
		}
		if (f.pf != NULL && f.pf->type == PROTO_T_SESSION)
			break;
		if (f.id[0] != '\0') {
			tn = f.pf != NULL ? proto_type_name(f.pf->type) : flow_type_name(f.ft);
			snprintf(c->detail, sizeof(c->detail), "unexpected %s frame in answer to %s",
			         tn != NULL ? tn : "unknown", id);
			r = VARSKO_ERR_PROTOCOL;
			goto out;
		}
	}
	if ((r = session_check_cert(&f.pf->u.session.cert, c->org_pk, c->k, (int64_t)time(NULL))) != VARSKO_OK) {
		snprintf(
		        c->detail, sizeof(c->detail),
		        "the server's certificate for this device does not verify against the pinned organisation key");
		goto out;
	}
	c->cert = f.pf->u.session.cert;
	identity_from_cert(&f.pf->u.session.cert, &c->id);
	r = VARSKO_OK;
out:
	conn_frame_clear(&f);
	return r;
}

/* Send the login frame for c's device over c->w, whose hello carried nonce; f is scratch. */
static int send_login(struct varsko_conn *c, struct proto_frame *f, const uint8_t nonce[PROTO_NONCE_LEN],
                      const char *origin, int64_t deadline)
{
	struct proto_buf in;
	int r;

	proto_buf_init(&in);
	memset(f, 0, sizeof(*f));
	f->type = PROTO_T_LOGIN;
	snprintf(f->id, sizeof(f->id), "login-1");
	proto_device_id(c->k->sign_pk, f->u.login.device);
	snprintf(f->u.login.origin, sizeof(f->u.login.origin), "%s", origin);
	f->u.login.time = (int64_t)time(NULL);
	if ((r = proto_login_signing_input(nonce, origin, f->u.login.device, f->u.login.time, &in)) == VARSKO_OK &&
	    (r = proto_sign(f->u.login.sig, &in, c->k->sign_sk)) == VARSKO_OK)
		r = client_send_frame(c->w, f, deadline);
	proto_buf_free(&in);
	return r;
}

/* Log in to the server at url (a wss:// URL) as h's device; varsko_connect() with the URL given. */
static int connect_url(struct varsko_home *h, const char *url, const char *ca_override, struct varsko_conn **out)
{
	int r = VARSKO_ERR_INTERNAL;
	struct varsko_conn *c = NULL;
	struct proto_frame *f = NULL;
	char *ca = NULL;
	char origin[PROTO_ORIGIN_MAX + 1];
	uint8_t nonce[PROTO_NONCE_LEN];
	int64_t deadline = wsc_now_ms() + VARSKO_TIMEOUT_SECONDS * 1000, skew = 0;

	*out = NULL;
	h->detail[0] = '\0';
	if (!varsko_home_is_enrolled(h)) {
		snprintf(h->detail, sizeof(h->detail), "%s holds no enrolled device; run enroll first", h->path);
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (f = calloc(1, sizeof(*f))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	c->push_tail = &c->push_head;
	if ((r = load_keys(h, &c->k)) != VARSKO_OK || (r = load_org_pk(h, c->org_pk)) != VARSKO_OK)
		goto out;
	r = home_load_root(h, c->root_pk);
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		goto out;
	c->has_root = r == VARSKO_OK;
	if ((r = home_dup(h, &c->home)) != VARSKO_OK)
		goto out;
	if (proto_origin_from_url(url, origin) != VARSKO_OK) {
		snprintf(h->detail, sizeof(h->detail), "%s is not a wss:// URL", url);
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if (ca_override == NULL) {
		if (asprintf(&ca, "%s/%s", h->path, HOME_F_CA) < 0) {
			ca = NULL;
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		ca_override = ca;
	}
	for (int confirmed = 0;; confirmed = 1) {
		if ((r = wsc_open(url, ca_override, deadline, &c->w, h->detail, sizeof(h->detail))) != VARSKO_OK)
			goto out;
		if ((r = client_wait_hello(h, c->w, f, deadline)) != VARSKO_OK ||
		    (r = check_hello(h, c, f)) != VARSKO_OK)
			goto out;
		memcpy(nonce, f->u.hello.nonce, sizeof(nonce));
		skew = (int64_t)time(NULL) - f->u.hello.time; /* f is the login frame next */
		if ((r = send_login(c, f, nonce, origin, deadline)) != VARSKO_OK) {
			detail_set(h->detail, sizeof(h->detail), wsc_detail(c->w));
			goto out;
		}
		c->last_send_ms = wsc_now_ms();
		r = wait_session(c, "login-1", deadline);
		if (r != VARSKO_ERR_DEVICE_PENDING || confirmed) {
			if (r != VARSKO_OK) {
				detail_set(h->detail, sizeof(h->detail), c->detail);
				/* A clock refused: by how much, from the server's hello (section 3). */
				if (r == VARSKO_ERR_BAD_TIME)
					snprintf(h->detail + strlen(h->detail), sizeof(h->detail) - strlen(h->detail),
					         "; this computer's clock is %lld s %s the server's", (long long)llabs(skew),
					         skew >= 0 ? "ahead of" : "behind");
				goto out;
			}
			break;
		}
		/*
		 * The enrollment stored this device but its confirmation never
		 * reached the server: confirm on a fresh connection, then log in.
		 */
		wsc_close(c->w);
		c->w = NULL;
		if ((r = wsc_open(url, ca_override, deadline, &c->w, h->detail, sizeof(h->detail))) != VARSKO_OK)
			goto out;
		if ((r = client_wait_hello(h, c->w, f, deadline)) != VARSKO_OK ||
		    (r = check_hello(h, c, f)) != VARSKO_OK)
			goto out;
		if ((r = client_confirm(c->w, f->u.hello.nonce, origin, c->k, deadline, h->detail,
		                        sizeof(h->detail))) != VARSKO_OK)
			goto out;
		wsc_close(c->w);
		c->w = NULL;
	}
	/* Logged in: flow answers (an underretning, a timeline) may be larger than a handshake frame. */
	wsc_set_max(c->w, FLOW_FRAME_MAX);
	c->next_id = 1;
	/* The first login with a root: the org chain must vouch for the enrollment key before anything else. */
	if ((r = team_org_first_check(c)) != VARSKO_OK) {
		detail_set(h->detail, sizeof(h->detail), c->detail);
		goto out;
	}
	*out = c;
	c = NULL;
	r = VARSKO_OK;
out:
	varsko_close(c);
	free(f);
	free(ca);
	return r;
}

/* The server URL of an enrolled home (trailing white space removed); free() it. */
static int home_server_url(struct varsko_home *h, char **url)
{
	size_t len = 0;
	int r;

	*url = NULL;
	if (!varsko_home_is_enrolled(h)) {
		snprintf(h->detail, sizeof(h->detail), "%s holds no enrolled device; run enroll first", h->path);
		return VARSKO_ERR_NOT_FOUND;
	}
	if ((r = home_read(h, HOME_F_SERVER, url, &len)) != VARSKO_OK) {
		snprintf(h->detail, sizeof(h->detail), "cannot read %s/%s", h->path, HOME_F_SERVER);
		return r;
	}
	rstrip(*url, &len);
	return VARSKO_OK;
}

int varsko_connect(struct varsko_home *h, const char *ca_override, struct varsko_conn **out)
{
	char *url = NULL;
	int r;

	*out = NULL;
	h->detail[0] = '\0';
	if ((r = home_server_url(h, &url)) == VARSKO_OK)
		r = connect_url(h, url, ca_override, out);
	free(url);
	return r;
}

int varsko_home_server(struct varsko_home *h, char **url)
{
	h->detail[0] = '\0';
	return home_server_url(h, url);
}

int varsko_home_set_server(struct varsko_home *h, const char *url, const char *ca_override)
{
	struct varsko_conn *c = NULL;
	char *line = NULL;
	int r;

	h->detail[0] = '\0';
	if (url == NULL || strncmp(url, "wss://", 6) != 0) {
		snprintf(h->detail, sizeof(h->detail), "the server address must be a wss:// URL");
		return VARSKO_ERR_BAD_INPUT;
	}
	/* Saved only once this device has logged in there: the same organisation, the same device. */
	if ((r = connect_url(h, url, ca_override, &c)) != VARSKO_OK)
		return r;
	varsko_close(c);
	if (asprintf(&line, "%s\n", url) < 0)
		return VARSKO_ERR_NOMEM;
	if ((r = home_write(h, HOME_F_SERVER, line, strlen(line), 0600, 0)) != VARSKO_OK)
		snprintf(h->detail, sizeof(h->detail), "cannot write %s/%s", h->path, HOME_F_SERVER);
	free(line);
	return r;
}

int varsko_conn_identity(const struct varsko_conn *c, struct varsko_identity *out)
{
	*out = c->id;
	return VARSKO_OK;
}

int varsko_whoami(struct varsko_conn *c, struct varsko_identity *out)
{
	int r;
	struct proto_frame *f = NULL;
	int64_t deadline = wsc_now_ms() + VARSKO_TIMEOUT_SECONDS * 1000;
	char id[PROTO_ID_MAX + 1];

	c->detail[0] = '\0';
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return VARSKO_ERR_NOMEM;
	f->type = PROTO_T_WHOAMI;
	snprintf(id, sizeof(id), "whoami-%u", c->next_id++);
	memcpy(f->id, id, sizeof(f->id));
	if ((r = client_send_frame(c->w, f, deadline)) != VARSKO_OK) {
		detail_set(c->detail, sizeof(c->detail), wsc_detail(c->w));
		goto out;
	}
	c->last_send_ms = wsc_now_ms();
	if ((r = wait_session(c, id, deadline)) != VARSKO_OK)
		goto out;
	*out = c->id;
	r = VARSKO_OK;
out:
	free(f);
	return r;
}

const char *varsko_conn_detail(const struct varsko_conn *c)
{
	return c->detail;
}

void varsko_close(struct varsko_conn *c)
{
	if (c == NULL)
		return;
	wsc_close(c->w);
	keys_free(c->k);
	conn_push_free_all(c);
	varsko_home_close(c->home);
	sodium_memzero(c, sizeof(*c));
	free(c);
}
