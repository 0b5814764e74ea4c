/*
 * varsko/varsko.h: libvarsko, the C client library of Varsko.
 *
 * A device's identity lives in a home directory (struct varsko_home): its two
 * secret keys, its certificate, the pinned organisation key, the gateway
 * certificate, the server URL and the CA that signed the server's TLS
 * certificate. varsko_enroll() fills an empty home using a one-time code;
 * varsko_connect() then opens an authenticated session (struct varsko_conn).
 *
 * Conventions, unless a comment says otherwise:
 * - Functions return VARSKO_OK (0) or a negative VARSKO_ERR_* code from
 *   <varsko/err.h>; varsko_strerror() and varsko_strerrname() describe them.
 * - Pointer arguments are borrowed for the duration of the call. Objects a
 *   function hands out are owned by the caller and freed with the matching
 *   *_close() / *_free(), which accept NULL.
 * - A home or a connection is used by one thread at a time. Network calls
 *   block the calling thread (no threads are started) and give up after a
 *   deadline with VARSKO_ERR_TIMEOUT.
 * - The library never logs. When a call fails, varsko_home_detail() or
 *   varsko_conn_detail() give a short English explanation (for an error
 *   answered by the server: the server's message, with control characters
 *   replaced) or "" when there is none.
 * - The library sets the libwebsockets log level of the process to silent.
 */
#ifndef VARSKO_VARSKO_H
#define VARSKO_VARSKO_H

#include <stddef.h>
#include <stdint.h>

#include <varsko/err.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VARSKO_API __attribute__((visibility("default")))
#define VARSKO_WUR __attribute__((warn_unused_result))
#else
#define VARSKO_API
#define VARSKO_WUR
#endif

/* Sizes of the identity strings (bytes, excluding the NUL); equal to the protocol's limits. */
#define VARSKO_ID_MAX   64
#define VARSKO_NAME_MAX 128
#define VARSKO_ROLE_MAX 16
#define VARSKO_INST_MAX 16
#define VARSKO_FPR_LEN  39 /* "hhhh-hhhh-hhhh-hhhh-hhhh-hhhh-hhhh-hhhh" (h: lowercase hex) */

/* Connect and handshake deadline of every network call (seconds). */
#define VARSKO_TIMEOUT_SECONDS 15

struct varsko_home; /* opaque */
struct varsko_conn; /* opaque */

/*
 * Who a device is, as its certificate (signed by the organisation key and
 * checked by the library) says. Plain data owned by whoever declared it;
 * strings are NUL-terminated and "" when unused (team for a fagperson,
 * institutions for a myndighed worker). Times are Unix seconds, UTC.
 */
struct varsko_identity {
	char user[VARSKO_ID_MAX + 1];
	char name[VARSKO_NAME_MAX + 1];
	char role[VARSKO_ROLE_MAX + 1];
	char team[VARSKO_ID_MAX + 1];
	size_t n_institutions;
	char institutions[VARSKO_INST_MAX][VARSKO_ID_MAX + 1];
	char device[VARSKO_ID_MAX + 1];
	uint64_t serial;
	int64_t not_before;
	int64_t not_after;
};

/* What a successful enrollment produced. */
struct varsko_enroll_info {
	struct varsko_identity identity;
	/* Fingerprint of the organisation key now pinned in the home: the user
	 * compares it with the one printed next to the enrollment code. */
	char org_fingerprint[VARSKO_FPR_LEN + 1];
};

/*
 * Open (and create if missing) a home directory: `path` if not NULL, else
 * $VARSKO_HOME, else $HOME/.config/varsko. Only the home itself is created
 * (and ~/.config for the default), with mode 0700; its parent must exist; an existing one must be a directory owned by
 * the current user and not accessible to group or others (else VARSKO_ERR_CONFIG). Opening does not require the home to
 * be enrolled. On VARSKO_OK *out is owned by the caller (varsko_home_close()). On failure *out is NULL and nothing is
 * returned for detail (there is no home): errors are VARSKO_ERR_BAD_INPUT
 * (no path can be determined), VARSKO_ERR_CONFIG, VARSKO_ERR_IO, VARSKO_ERR_NOMEM,
 * VARSKO_ERR_CRYPTO (libsodium cannot start).
 */
VARSKO_API int varsko_home_open(const char *path, struct varsko_home **out) VARSKO_WUR;

/* Close a home. NULL-safe. */
VARSKO_API void varsko_home_close(struct varsko_home *h);

/* The directory path of the home; valid until varsko_home_close(). */
VARSKO_API const char *varsko_home_path(const struct varsko_home *h);

/* 1 if the home holds a device key (it has been enrolled), else 0. */
VARSKO_API int varsko_home_is_enrolled(const struct varsko_home *h);

/*
 * Detail of the last failed call made with this home (varsko_enroll,
 * varsko_connect, varsko_fingerprint_of_home), or "". Valid until the next
 * call on the home. Never NULL.
 */
VARSKO_API const char *varsko_home_detail(const struct varsko_home *h);

/*
 * Enroll a new device into the empty home `h`.
 *
 * url: "wss://HOST:PORT/" of varskod. code: the one-time enrollment code.
 * ca_file: PEM file with the CA that signed the server's TLS certificate
 * (required; the server certificate and host name are always verified).
 * expected_fpr: the organisation key fingerprint printed with the code, or
 * NULL to accept the server's key and report its fingerprint in info (the
 * caller must then show it to the user). Dashes, spaces and case are ignored
 * in expected_fpr. label: a short device label or NULL.
 *
 * Makes an Ed25519 and an X25519 key pair, registers them with the code and
 * checks the answer before it trusts it: the organisation key has the
 * expected fingerprint, the device certificate and the gateway certificate
 * verify against it and are valid now, and the device certificate carries
 * exactly the new keys. Only then are the files written (secret key file
 * last, mode 0600); the home is left unchanged on any failure.
 *
 * Returns VARSKO_OK (info filled, if not NULL), VARSKO_ERR_EXISTS (the home
 * already has a device key; nothing is sent), VARSKO_ERR_BAD_INPUT,
 * VARSKO_ERR_BAD_CERT (including a fingerprint mismatch), the server's error
 * code (code_unknown, code_expired, code_used, auth_failed, ...), or a
 * transport error (VARSKO_ERR_CONNECT, VARSKO_ERR_TLS, VARSKO_ERR_TIMEOUT,
 * VARSKO_ERR_CLOSED, VARSKO_ERR_PROTOCOL), VARSKO_ERR_IO.
 */
VARSKO_API int varsko_enroll(struct varsko_home *h, const char *url, const char *code, const char *ca_file,
                             const char *expected_fpr, const char *label, struct varsko_enroll_info *info) VARSKO_WUR;

/*
 * Connect to the server the home was enrolled with and log in with the
 * device key. ca_override: a PEM CA file to use instead of the copy kept in
 * the home, or NULL. The certificate the server returns must verify against
 * the pinned organisation key and carry this device's keys (else
 * VARSKO_ERR_BAD_CERT). On VARSKO_OK *out is owned by the caller
 * (varsko_close()); on failure *out is NULL and varsko_home_detail() explains.
 * Errors: VARSKO_ERR_NOT_FOUND (home not enrolled), the server's error code
 * (unknown_device, device_revoked, device_expired, bad_time, ...), transport
 * errors as for varsko_enroll(), VARSKO_ERR_IO, VARSKO_ERR_BAD_CERT.
 */
VARSKO_API int varsko_connect(struct varsko_home *h, const char *ca_override, struct varsko_conn **out) VARSKO_WUR;

/* The identity established at login (no network). Never fails for a live conn. */
VARSKO_API int varsko_conn_identity(const struct varsko_conn *c, struct varsko_identity *out);

/*
 * Ask the server who this session is (whoami) and check the certificate it
 * returns as varsko_connect() does. On VARSKO_OK *out is filled. On failure
 * varsko_conn_detail() explains; after a transport error the connection is
 * dead and only varsko_close() is useful.
 */
VARSKO_API int varsko_whoami(struct varsko_conn *c, struct varsko_identity *out) VARSKO_WUR;

/* Detail of the last failed call on this connection, or "". Never NULL. */
VARSKO_API const char *varsko_conn_detail(const struct varsko_conn *c);

/* Close the connection (a normal WebSocket close) and free it. NULL-safe. */
VARSKO_API void varsko_close(struct varsko_conn *c);

/*
 * The fingerprint of the organisation key pinned in an enrolled home, written
 * to out (NUL-terminated). VARSKO_ERR_NOT_FOUND if the home is not enrolled.
 */
VARSKO_API int varsko_fingerprint_of_home(struct varsko_home *h, char out[VARSKO_FPR_LEN + 1]) VARSKO_WUR;

/* English one-line text of an error code (varsko_err_text()); never NULL. */
VARSKO_API const char *varsko_strerror(int err);

/* Stable wire name of an error code (varsko_err_name()); never NULL. */
VARSKO_API const char *varsko_strerrname(int err);

/* The library version, "MAJOR.MINOR.PATCH". */
VARSKO_API const char *varsko_version(void);

#ifdef __cplusplus
}
#endif
#endif
