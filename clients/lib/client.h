/*
 * client.h: internal surface shared by the libvarsko modules. Nothing here is
 * exported from the shared library (-fvisibility=hidden and the version
 * script); the unit test links the static core to reach it.
 *
 *   home.c    the home directory: files, modes, atomic writes
 *   keys.c    the device's secret keys (sodium_malloc) and their file format
 *   wsc.c     a synchronous WebSocket client over libwebsockets
 *   enroll.c  varsko_enroll() and the check of an `enrolled` answer
 *   conn.c    varsko_connect(), varsko_whoami(), varsko_close()
 *   misc.c    errors, version, identity helpers
 */
#ifndef VARSKO_CLIENT_H
#define VARSKO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "varsko/varsko.h"

#define HOME_DETAIL_MAX PROTO_MSG_MAX
#define HOME_FILE_MAX   (1024 * 1024) /* largest file the library reads */

/* File names inside a home. */
#define HOME_F_KEY     "device.key"
#define HOME_F_CERT    "device.cert"
#define HOME_F_ORG     "org.pub"
#define HOME_F_GATEWAY "gateway.cert"
#define HOME_F_SERVER  "server"
#define HOME_F_CA      "ca.pem"

struct varsko_home {
	char *path; /* owned */
	int dirfd;  /* O_DIRECTORY descriptor of path */
	char detail[HOME_DETAIL_MAX + 1];
};

/* ---- misc.c ---- */

/* Copy a message into dst (capacity cap), replacing bytes outside printable ASCII by '?'. NULL src gives "". */
void detail_set(char *dst, size_t cap, const char *src);
/* Fill an identity from a certificate that has already been verified. */
void identity_from_cert(const struct proto_cert *c, struct varsko_identity *out);

/* ---- home.c ---- */

/*
 * Read file `name` of the home into a NUL-terminated buffer owned by the
 * caller (free(); for secrets use home_read_secret). Refuses files larger
 * than HOME_FILE_MAX (VARSKO_ERR_TOO_LARGE). VARSKO_ERR_NOT_FOUND if absent.
 */
int home_read(struct varsko_home *h, const char *name, char **out, size_t *len);
/* As home_read, but the buffer is sodium_malloc memory (free with sodium_free, which wipes). */
int home_read_secret(struct varsko_home *h, const char *name, char **out, size_t *len);
/*
 * Write `name` atomically: a temporary file in the home created with
 * O_CREAT|O_EXCL and `mode`, written, fsync'ed, then renamed over `name`
 * (or, with noreplace, renamed only if `name` does not exist:
 * VARSKO_ERR_EXISTS otherwise), and the directory fsync'ed. The temporary is
 * removed on failure.
 */
int home_write(struct varsko_home *h, const char *name, const void *buf, size_t len, unsigned mode, int noreplace);
/* 1 if `name` exists in the home, else 0. */
int home_has(const struct varsko_home *h, const char *name);
/* Read a whole regular file outside the home (e.g. a CA file) into a malloc'ed NUL-terminated buffer. */
int file_read_all(const char *path, char **out, size_t *len);

/* ---- keys.c ---- */

/* A device's secret keys; always lives in sodium_malloc memory. */
struct keys {
	uint8_t sign_sk[64]; /* libsodium Ed25519 secret key: seed || public key */
	uint8_t box_sk[32];  /* X25519 secret key */
	uint8_t sign_pk[PROTO_PK_LEN];
	uint8_t box_pk[PROTO_PK_LEN];
};

/* Make both key pairs. *out is owned by the caller (keys_free()). */
int keys_generate(struct keys **out);
/* Free and wipe; NULL-safe. */
void keys_free(struct keys *k);
/*
 * The key file text: {"sign_sk":B64(64),"box_sk":B64(32)} and a newline, in
 * sodium_malloc memory owned by the caller (sodium_free()), NUL-terminated.
 */
int keys_to_text(const struct keys *k, char **out, size_t *len);
/*
 * Parse key file text (borrowed). Strict: one JSON object with exactly the
 * members sign_sk and box_sk holding standard base64 strings of the right
 * length; the Ed25519 public half must match the seed. Public keys are
 * derived. Returns VARSKO_OK or VARSKO_ERR_BAD_INPUT.
 */
int keys_from_text(const char *text, size_t len, struct keys **out);

/* ---- wsc.c ---- */

struct wsc;

/*
 * Connect to a wss:// URL with TLS verified against the PEM CA file ca_file
 * (and only it), ALPN http/1.1, subprotocol varsko.v1, and wait until the
 * WebSocket is open or the deadline (Unix ms, monotonic clock as returned by
 * wsc_now_ms()) passes. On failure, detail (capacity dcap) explains. *out is
 * owned by the caller (wsc_close()). Errors: VARSKO_ERR_BAD_INPUT (URL),
 * VARSKO_ERR_CONNECT, VARSKO_ERR_TLS, VARSKO_ERR_TIMEOUT, VARSKO_ERR_NOMEM.
 */
int wsc_open(const char *url, const char *ca_file, int64_t deadline_ms, struct wsc **out, char *detail, size_t dcap);
/* Send one text message (borrowed) and wait until it has been written. */
int wsc_send(struct wsc *w, const char *buf, size_t len, int64_t deadline_ms);
/*
 * Wait for the next complete text message and decode it as a frame.
 * VARSKO_ERR_CLOSED if the server closed first, VARSKO_ERR_TIMEOUT,
 * VARSKO_ERR_PROTOCOL for a binary message, or the decoder's error.
 */
int wsc_recv(struct wsc *w, struct proto_frame *out, int64_t deadline_ms);
/* Detail of the last failure on w (never NULL). */
const char *wsc_detail(const struct wsc *w);
/* Close normally (waiting at most a moment) and free; NULL-safe. */
void wsc_close(struct wsc *w);
/* Milliseconds on the monotonic clock. */
int64_t wsc_now_ms(void);

/* ---- enroll.c ---- */

/*
 * Check an `enrolled` answer against the keys we registered: the
 * organisation key's fingerprint equals expected_fpr (if not NULL; dashes,
 * spaces and case ignored), the device certificate verifies against org_pk at
 * `now` and carries exactly sign_pk and box_pk (and the matching device id),
 * and the gateway certificate verifies too and has role "gateway". fpr_out
 * receives the organisation key's fingerprint. On failure detail (capacity
 * dcap) says which check failed. Returns VARSKO_OK, VARSKO_ERR_BAD_CERT or
 * VARSKO_ERR_DEVICE_EXPIRED.
 */
int enroll_check_reply(const struct proto_frame *f, const uint8_t sign_pk[PROTO_PK_LEN],
                       const uint8_t box_pk[PROTO_PK_LEN], const char *expected_fpr, int64_t now,
                       char fpr_out[PROTO_FPR_LEN + 1], char *detail, size_t dcap);

/*
 * The code of a server error frame (varsko_err_from_name of its name;
 * VARSKO_ERR_PROTOCOL for a name that is not an error), its message copied
 * into detail with control characters replaced.
 */
int client_server_error(char *detail, size_t dcap, const struct proto_frame *f);

/*
 * Wait for the server's hello on w and check its version; f receives it.
 * On failure h->detail explains. VARSKO_ERR_PROTOCOL for any other frame,
 * a server error frame's code, or wsc_recv's error.
 */
int client_wait_hello(struct varsko_home *h, struct wsc *w, struct proto_frame *f, int64_t deadline);

/*
 * Check a certificate returned by login or whoami: it verifies against
 * org_pk at `now`, and its keys are the device's own. VARSKO_OK or
 * VARSKO_ERR_BAD_CERT / VARSKO_ERR_DEVICE_EXPIRED.
 */
int session_check_cert(const struct proto_cert *c, const uint8_t org_pk[PROTO_PK_LEN], const struct keys *k,
                       int64_t now);

#endif
