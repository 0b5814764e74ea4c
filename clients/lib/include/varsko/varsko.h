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
 * - Plaintext the library hands out (a document, a message) is in buffers
 *   the caller frees with the matching function, which wipes them first.
 */
#ifndef VARSKO_VARSKO_H
#define VARSKO_VARSKO_H

#include <stddef.h>
#include <stdint.h>

#include <varsko/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* VARSKO_WUR comes from varsko/err.h. */
#if defined(__GNUC__)
#define VARSKO_API __attribute__((visibility("default")))
#else
#define VARSKO_API
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
	/* Fingerprint of the organisation key now pinned in the home (of the
	 * organisation root key, once the server has an org chain: PROTOCOL.md
	 * 16.2): the user compares it with the one printed next to the
	 * enrollment code. */
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
 * in expected_fpr. Once the organisation has an org chain, the server's
 * hello carries the organisation root key, the fingerprint is the root's,
 * and the root is pinned too (PROTOCOL.md 16.2). label: a short device
 * label or NULL.
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
 * VARSKO_ERR_BAD_CERT). A home that pinned the organisation root refuses
 * a server whose hello does not carry that root, before it sends anything
 * (VARSKO_ERR_BAD_CHAIN); at its first login it fetches the org chain,
 * verifies it from the root and checks that the pinned organisation key is
 * an enrollment key of it that has not expired (else VARSKO_ERR_BAD_CHAIN,
 * every time until it does: nothing else is done, PROTOCOL.md 16.2). On
 * VARSKO_OK *out is owned by the caller (varsko_close()); on failure *out is
 * NULL and varsko_home_detail() explains. Errors: VARSKO_ERR_NOT_FOUND (home
 * not enrolled), the server's error code (unknown_device, device_revoked,
 * device_expired, bad_time, ...), transport errors as for varsko_enroll(),
 * VARSKO_ERR_IO, VARSKO_ERR_BAD_CERT, VARSKO_ERR_BAD_CHAIN.
 */
VARSKO_API int varsko_connect(struct varsko_home *h, const char *ca_override, struct varsko_conn **out) VARSKO_WUR;

/*
 * The wss:// URL of the server an enrolled home talks to (*url: free() it).
 * varsko_home_set_server() moves the home to another address: it logs in
 * there first (the same organisation key and root, this device's
 * certificate; ca_override as for varsko_connect()) and saves the URL only
 * when that succeeded, so a wrong or foreign address changes nothing.
 * Errors as for varsko_connect(); VARSKO_ERR_BAD_INPUT for a URL that is not
 * wss://, VARSKO_ERR_IO when the home cannot be written.
 */
VARSKO_API int varsko_home_server(struct varsko_home *h, char **url) VARSKO_WUR;
VARSKO_API int varsko_home_set_server(struct varsko_home *h, const char *url, const char *ca_override) VARSKO_WUR;

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
 * The fingerprint of the key pinned in an enrolled home that the user was
 * given with the code: the organisation root key's when the home pinned one
 * (PROTOCOL.md 16.2), else the organisation key's; written to out
 * (NUL-terminated). VARSKO_ERR_NOT_FOUND if the home is not enrolled.
 */
VARSKO_API int varsko_fingerprint_of_home(struct varsko_home *h, char out[VARSKO_FPR_LEN + 1]) VARSKO_WUR;

/* ---- the user key (PROTOCOL.md 15, docs/KEYS.md) ----------------------------- */

#define VARSKO_RECOVERY_CODE_LEN 31 /* "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X" */

/*
 * Make sure this device holds its user's key (PROTOCOL.md 15.1); run after
 * enrollment and whenever varsko_user_devices() says "none" or
 * "incomplete". Fetches the user chain and verifies it (every link from the
 * root, and the certificate of every device it relies on against the
 * pinned organisation key).
 *
 * - No chain yet (the user's first device): makes user key generation 1,
 *   appends uk_create signed by this device, stores the key box set for this
 *   device, makes a recovery code and stores the recovery box. *created is 1
 *   and code_out holds the code: show it to the user once, then wipe it
 *   (it is stored nowhere, and it is the only way to a lost user key).
 * - The chain names this device but a step is missing (a setup broke off):
 *   completes it from the seeds kept in the home meanwhile; when that
 *   includes a new recovery box, *created is 1 and code_out is the new code.
 * - Nothing missing: VARSKO_OK, *created 0.
 *
 * Errors: VARSKO_ERR_NOT_CROSS_SIGNED (the user has a chain and this device
 * is not in it: it is not yet the user's; varsko_device_recover() with the
 * recovery code makes it so), VARSKO_ERR_DEVICE_REVOKED, VARSKO_ERR_NOT_FOUND
 * (in the chain, but no user key reaches this device), VARSKO_ERR_BAD_CHAIN,
 * VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_BAD_CERT (a chain that does not
 * verify), the server's code, transport errors. varsko_conn_detail() explains.
 * Blocks for an Argon2id computation (about 64 MiB) when it makes a box.
 */
VARSKO_API int varsko_user_setup(struct varsko_conn *c, char code_out[VARSKO_RECOVERY_CODE_LEN + 1],
                                 int *created) VARSKO_WUR;

/*
 * Make this device one of its user's devices with the recovery code
 * (PROTOCOL.md 15.6): fetch the recovery box (varskod counts this as one of
 * the user's 10 tries), open it with the code, check that its newest seed is
 * the verified chain's current user key, append device_add for this device
 * signed by the user key, and store the current key box set again with this
 * device added. code: as typed (either case, spaces and '-' anywhere).
 * Errors: VARSKO_ERR_BAD_INPUT (not a code; no try is used), VARSKO_ERR_CRYPTO
 * (wrong code), VARSKO_ERR_RECOVERY_LOCKED (too many wrong codes: the
 * operator unlocks), VARSKO_ERR_EXISTS (already a device of the user holding
 * the key: nothing done), VARSKO_ERR_NOT_FOUND (no user key or no recovery
 * box yet), VARSKO_ERR_BAD_CHAIN (the box does not hold the chain's key), the
 * chain's errors, the server's code, transport errors.
 */
VARSKO_API int varsko_device_recover(struct varsko_conn *c, const char *code) VARSKO_WUR;

/*
 * Revoke another device of the own user and rotate the user key (docs/KEYS.md
 * "Revocation"): the user chain gets device_revoke and uk_rotate (a new
 * generation, signed by the previous user key and this device), the new
 * generation is sealed to the devices that remain (it carries the earlier
 * ones), and a new recovery box is made: code_out receives the new recovery
 * code (the old one no longer opens the newest key), to show once and wipe.
 * varskod revokes the device itself too. Nothing sealed to the user key
 * afterwards opens on the revoked device. VARSKO_ERR_FORBIDDEN for this
 * device, VARSKO_ERR_NOT_FOUND for a device the chain does not name,
 * VARSKO_ERR_EXISTS when revoked already; varsko_conn_detail() explains.
 */
VARSKO_API int varsko_device_revoke(struct varsko_conn *c, const char *device,
                                    char code_out[VARSKO_RECOVERY_CODE_LEN + 1]) VARSKO_WUR;

/*
 * Devices added to the user's chain since this home last looked, for a
 * notice on the user's other devices (docs/KEYS.md "Notices"): *json_out
 * (varsko_free()) is a compact JSON array of {"device","added","certified",
 * "revoked"}, "[]" when there are none. The home remembers the chain's
 * newest link (chain.seen); a chain that no longer contains it (taken back
 * or changed) is VARSKO_ERR_BAD_CHAIN. A home's first call only remembers.
 * Links this device made itself are never reported.
 */
VARSKO_API int varsko_device_notices(struct varsko_conn *c, char **json_out) VARSKO_WUR;

/*
 * The user's devices by the verified user chain, as compact JSON:
 * {"user":S,"device":S (this one),"generation":N (0: no user key yet),
 *  "state":"none"|"not_cross_signed"|"revoked"|"incomplete"|"ok",
 *  "holds_user_key":B (this device's box opens to the chain's key),
 *  "setup_pending":B,
 *  "devices":[{"device":S,"added":TIME,"seq":N,"revoked":B,"this":B,
 *              "certified":B,"key_box":B}...]}
 * in the order the chain added them. A device varskod knows but the chain
 * does not name is not listed. *json_out owned by the caller (varsko_free()).
 */
VARSKO_API int varsko_user_devices(struct varsko_conn *c, char **json_out) VARSKO_WUR;

/*
 * The generation of the user key this device holds: its box in the current
 * key box set opens to the verified chain's key (the seed is wiped at
 * once). VARSKO_ERR_NOT_FOUND, VARSKO_ERR_NOT_CROSS_SIGNED, VARSKO_ERR_CRYPTO,
 * the chain's errors; *generation 0 on failure.
 */
VARSKO_API int varsko_user_key_generation(struct varsko_conn *c, uint64_t *generation) VARSKO_WUR;

/* ---- approving a new device from an existing one (PROTOCOL.md 15.7) ---------- */

#define VARSKO_APPROVAL_ID_MAX   18 /* "a-" + 16 lowercase hex digits */
#define VARSKO_APPROVAL_CODE_LEN 6  /* six decimal digits */

/*
 * One approval exchange as one side sees it: the new device's request, or
 * the old device's offer. Opaque; in locked memory that holds this side's
 * secret nonce while it is needed and the code, wiped by
 * varsko_approval_free(). Used with the connection that made it.
 *
 * The new device (not yet in its user's chain):
 *   varsko_approval_request()  step 1: commit to a secret nonce and its keys
 *   varsko_approval_reveal()   wait for an offer, reveal, give the code to show
 *   varsko_approval_wait()     wait until the old device has approved it
 * The old device (one of the user's devices, holding the user key):
 *   varsko_approval_list()     the user's open requests
 *   varsko_approval_offer()    offer, wait for the reveal, check the commitment
 *   varsko_approval_confirm()  compare the typed code; on a match approve
 * Failures of the exchange itself are VARSKO_ERR_APPROVAL_FAILED (a code
 * that differs, a reveal that does not open the commitment, an approval
 * varskod changed); an approval that expired (10 minutes) or was replaced by
 * a newer request of the new device is VARSKO_ERR_NOT_FOUND; waiting longer
 * than a timeout is VARSKO_ERR_TIMEOUT. varsko_conn_detail() explains.
 */
struct varsko_approval;

/*
 * New device, step 1: draw the secret nonce n_new and send approve_request
 * with the commitment to it and to this device's keys. A new request
 * replaces this device's earlier one. *out owned by the caller. Errors:
 * VARSKO_ERR_EXISTS (the device is already in its user's chain),
 * VARSKO_ERR_NOT_FOUND (the user has no user key yet), the server's code,
 * transport errors.
 */
VARSKO_API int varsko_approval_request(struct varsko_conn *c, struct varsko_approval **out) VARSKO_WUR;

/*
 * New device, steps 2 to 4: poll until another device has offered (at most
 * timeout_ms; < 0: until the approval expires), check by the verified user
 * chain that the offering device is one of the user's (else
 * VARSKO_ERR_NOT_CROSS_SIGNED and nothing is revealed), reveal n_new (then
 * wiped) and write the six-digit code to show the user into code.
 */
VARSKO_API int varsko_approval_reveal(struct varsko_conn *c, struct varsko_approval *a, int64_t timeout_ms,
                                      char code[VARSKO_APPROVAL_CODE_LEN + 1]) VARSKO_WUR;

/*
 * New device, after the reveal: poll until the verified user chain names
 * this device and its box in the current key box set opens to the user key
 * (VARSKO_OK), the approval is gone without that (VARSKO_ERR_NOT_FOUND:
 * expired, replaced, or the old device refused; an old device that refuses
 * tells nobody), or timeout_ms passes (VARSKO_ERR_TIMEOUT; < 0: no limit
 * but the approval's life).
 */
VARSKO_API int varsko_approval_wait(struct varsko_conn *c, struct varsko_approval *a, int64_t timeout_ms) VARSKO_WUR;

/*
 * Old device: the user's open approvals as compact JSON,
 * {"items":[{"approval":S,"device":S,"created":TIME,"expires":TIME,
 *  "offered":B,"cert_ok":B (the new device's certificate verifies against
 *  the organisation key for this user),"name":S,"role":S}...]}, oldest
 * first. *json_out owned by the caller (varsko_free()).
 */
VARSKO_API int varsko_approval_list(struct varsko_conn *c, char **json_out) VARSKO_WUR;

/*
 * Old device, steps 2 to 4: check that this device holds the user key and
 * that the new device's certificate verifies against the organisation key,
 * names this user and the approval's device; draw n_old and send
 * approve_offer; poll until the new device reveals (at most timeout_ms; < 0:
 * until the approval expires); check that n_new opens its commitment (else
 * VARSKO_ERR_APPROVAL_FAILED) and compute the code, kept in *out (owned by
 * the caller) for varsko_approval_confirm(). Errors besides those above:
 * VARSKO_ERR_BAD_INPUT (not an approval id), VARSKO_ERR_FORBIDDEN (this
 * device's own request), VARSKO_ERR_EXISTS (already offered),
 * VARSKO_ERR_BAD_CERT, VARSKO_ERR_NOT_CROSS_SIGNED, the server's code.
 */
VARSKO_API int varsko_approval_offer(struct varsko_conn *c, const char *approval_id, int64_t timeout_ms,
                                     struct varsko_approval **out) VARSKO_WUR;

/*
 * Old device, steps 4 and 5: compare the code the user typed (six digits;
 * spaces and '-' are ignored) with this exchange's in constant time. Not six
 * digits: VARSKO_ERR_BAD_INPUT, nothing compared, the user may type again.
 * A different code: VARSKO_ERR_APPROVAL_FAILED, nothing is changed on the
 * server, and the approval is spent (one comparison per approval). A match:
 * append device_add for the new device signed by the user key and put the
 * current key box set with the new device added (as a recovery does);
 * VARSKO_OK, or the error of that step.
 */
VARSKO_API int varsko_approval_confirm(struct varsko_conn *c, struct varsko_approval *a,
                                       const char *typed_code) VARSKO_WUR;

/* The approval's id, its new device's id ("" for NULL), and when it expires (Unix seconds). */
VARSKO_API const char *varsko_approval_id(const struct varsko_approval *a);
VARSKO_API const char *varsko_approval_device(const struct varsko_approval *a);
VARSKO_API int64_t varsko_approval_expires(const struct varsko_approval *a);

/* Wipe and free. NULL-safe. */
VARSKO_API void varsko_approval_free(struct varsko_approval *a);

/* ---- teams (PROTOCOL.md 16, docs/KEYS.md "The team chain") ------------------- */

/*
 * A team's members by its verified team chain (PROTOCOL.md 16.4): the org
 * chain verified from the organisation root pinned at enrollment, the team
 * chain against it, and each member's user chain checked to contain the
 * user key the team chain pinned; a chain shorter than, or not extending,
 * the one this home verified last (teams/<team>.seen) is refused. As
 * compact JSON:
 * {"team":S,"seq":N (0: the team has no chain yet),"admin":B (the session's
 *  user is an admin by the org chain),"leder":B (... a leder of the team),
 *  "members":[{"user":S,"role":"myndighed"|"leder"|"agent","leder":B,
 *              "uk_generation":N (pinned),"current_generation":N (the
 *              member's user chain now),"this":B}...],
 *  "key_generation":N (the team key's newest generation; 0: none),
 *  "key_state":"none"|"ok"|"missing" (a member has no box yet)|"stale" (it
 *              is being renewed: a member was removed or rotated a key)}
 * with members in the order the chain added them. *json_out owned by the caller
 * (varsko_free()). Errors: VARSKO_ERR_NOT_FOUND (no such team, or this home
 * holds no root: it was enrolled before the org chain existed),
 * VARSKO_ERR_BAD_INPUT (not a team id), VARSKO_ERR_BAD_CHAIN (a chain that
 * does not verify, went backwards, or a member whose user chain lacks the
 * pinned key), VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_BAD_CERT, the server's
 * code, transport errors. varsko_conn_detail() explains.
 */
VARSKO_API int varsko_team_show(struct varsko_conn *c, const char *team, char **json_out) VARSKO_WUR;

/*
 * Changes to a team chain, each a link signed with the own user's current
 * key after the chain was checked as varsko_team_show() does, verified
 * locally first (a change the server would refuse is refused here with the
 * same code and never sent), then appended (chain_append).
 *
 * varsko_team_create: the chain's first link, by an admin of the org chain
 *   (else VARSKO_ERR_NOT_MEMBER), naming `leder` (whose certificate's role
 *   must be leder, else VARSKO_ERR_BAD_INPUT) as the first member and leder
 *   with the current key of its user chain. VARSKO_ERR_EXISTS when the team
 *   has a chain.
 * varsko_team_add: member_add of `user` with the role of its certificate and
 *   the current key of its user chain (VARSKO_ERR_NOT_FOUND: the user has no
 *   user key or no certified device, or the team no chain; VARSKO_ERR_EXISTS:
 *   a member already).
 * varsko_team_remove: member_remove (VARSKO_ERR_NOT_FOUND: not a member).
 * varsko_team_leder: leder_add (leder 1) or leder_remove (leder 0) of a member.
 * Signed by a member who is not a leder: VARSKO_ERR_FORBIDDEN; by neither a
 * member nor an admin: VARSKO_ERR_NOT_MEMBER; removing the last leder:
 * VARSKO_ERR_BAD_CHAIN. Also the errors of varsko_team_show() and of the own
 * user key (VARSKO_ERR_NOT_CROSS_SIGNED, ...).
 */
VARSKO_API int varsko_team_create(struct varsko_conn *c, const char *team, const char *leder) VARSKO_WUR;
VARSKO_API int varsko_team_add(struct varsko_conn *c, const char *team, const char *user) VARSKO_WUR;
VARSKO_API int varsko_team_remove(struct varsko_conn *c, const char *team, const char *user) VARSKO_WUR;
VARSKO_API int varsko_team_leder(struct varsko_conn *c, const char *team, const char *user, int leder) VARSKO_WUR;

/*
 * Keep the team's key fit, as a member of the team (PROTOCOL.md 16.6; the
 * team's agent does it on its own): make generation 1 when there is none; a
 * new generation when the newest is stale (a member was removed, a member's
 * user key rotated); else put the newest again with boxes for the members
 * that lack one. Boxes go to each member's current user key by the verified
 * chains; the set is signed with the own user key. *changed: 0 nothing to do,
 * 1 boxes added, 2 a new generation. Errors: VARSKO_ERR_NOT_MEMBER (not a
 * member, or the team has no chain), VARSKO_ERR_NOT_FOUND (no box for this
 * user in the newest generation: another member must do it), the errors of
 * varsko_team_show() and of the own user key, the server's code, transport
 * errors. varsko_conn_detail() explains.
 */
VARSKO_API int varsko_team_key(struct varsko_conn *c, const char *team, int *changed) VARSKO_WUR;

/* ---- consultation threads (docs/THREADS.md, PROTOCOL.md 17) ----------------- */

#define VARSKO_THREAD_ID_LEN    28    /* "T-" + 26 base32 characters */
#define VARSKO_THREAD_TEXT_MAX  65536 /* bytes of a message's text */
#define VARSKO_THREAD_TITLE_MAX 200   /* bytes of a thread's title */
#define VARSKO_FILE_NAME_MAX    255   /* bytes of an attachment's file name */
#define VARSKO_MEDIA_TYPE_MAX   127   /* bytes of an attachment's media type */

/*
 * Every thread call verifies the thread's membership first (PROTOCOL.md
 * 17.6): the chain from its first link, each key it pins against that
 * user's verified user chain, each present member against the newest valid
 * certificate of a device their chain cross-signed (a fagperson or rådgiver
 * of the thread's institution, a leder of a rådgiver member's team), and
 * that it contains what this home saw last (threads/<id>.seen): a chain
 * taken back or changed is VARSKO_ERR_BAD_CHAIN. A thread that does not
 * exist, or whose member this user is not, is VARSKO_ERR_NOT_FOUND (varskod
 * does not tell them apart). varsko_conn_detail() explains every failure.
 */

/* What a new thread is. */
struct varsko_thread_new {
	const char *institution; /* the thread's institution: one of the creator's */
	const char *title;       /* 1..VARSKO_THREAD_TITLE_MAX bytes of UTF-8 on one line */
	const char *text;        /* the first message, or NULL: the title is the first message's text */
	int anonymous;           /* 1: anonym sparring (the child is not to be named) */
	const char *const *members; /* users to add: the rådgivere assigned to the institution must be among
	                               them (varskod refuses a thread without them, VARSKO_ERR_BAD_INPUT), and
	                               anyone else who may be a member */
	size_t n_members;
};

/*
 * Open a thread (a fagperson or rådgiver of the institution): a random
 * thread id, thread_create signed with the own user key, a
 * thread_member_add for every member (each checked against the member's
 * certificate and pinning the member's current user key), then the first
 * message, sealed to every member's user key, carrying the title (the
 * title is never sent in clear). thread (NUL-terminated) gets the id, also
 * when only the first message failed (the error says so). Errors:
 * VARSKO_ERR_BAD_INPUT, VARSKO_ERR_FORBIDDEN (the creator, or a member the
 * certificates do not admit), VARSKO_ERR_NOT_FOUND (a member without a
 * user key), the own user key's errors, the server's code.
 */
VARSKO_API int varsko_thread_create(struct varsko_conn *c, const struct varsko_thread_new *a,
                                    char thread[VARSKO_THREAD_ID_LEN + 1]) VARSKO_WUR;

/*
 * The threads the user is a member of, as varskod lists them (no content):
 * {"threads":[{"thread","institution","anonymous","version","last_seq",
 * "last_time"?}...]}, newest activity first. *json_out: varsko_free().
 */
VARSKO_API int varsko_thread_list(struct varsko_conn *c, char **json_out) VARSKO_WUR;

/*
 * The verified membership: {"thread","institution","anonymous","version",
 * "creator","members":[{"user","name"?,"role","present","added","removed"?,
 * "admitted"? (present members: whether the certificate admits them now),
 * "uk_generation","current_generation","this","creator"}...]}, every user
 * the thread ever had, in the order first added. *json_out: varsko_free().
 * A present member the certificates no longer admit (a leder whose
 * rådgiver left, a fagperson who moved) is listed with "admitted": false;
 * until that member is removed, varsko_thread_send() and
 * varsko_thread_read() refuse the thread (VARSKO_ERR_BAD_CHAIN), while
 * add, remove and leave still work.
 */
VARSKO_API int varsko_thread_members(struct varsko_conn *c, const char *thread, char **json_out) VARSKO_WUR;

/*
 * Change the membership with a link signed by the own user key (the creator
 * while a member, or a rådgiver member: add and remove; any member: leave).
 * add: the user's current user key and certificate's role, admitted by
 * certificate (VARSKO_ERR_FORBIDDEN), VARSKO_ERR_EXISTS for a present member.
 * remove: VARSKO_ERR_NOT_FOUND for one who is not. Without the right:
 * VARSKO_ERR_FORBIDDEN; not a member: VARSKO_ERR_NOT_MEMBER. Nothing sent
 * after a removal or a leave is sealed to that user.
 */
VARSKO_API int varsko_thread_add(struct varsko_conn *c, const char *thread, const char *user) VARSKO_WUR;
VARSKO_API int varsko_thread_remove(struct varsko_conn *c, const char *thread, const char *user) VARSKO_WUR;
VARSKO_API int varsko_thread_leave(struct varsko_conn *c, const char *thread) VARSKO_WUR;

/*
 * Send a text message (1..VARSKO_THREAD_TEXT_MAX bytes of UTF-8, no control
 * characters but line feed and tab): sealed to the current user key of
 * every present member by the verified chains (the own one included) and
 * signed by this device; when the membership changed meanwhile it is sealed
 * once more against the new one. *seq (may be NULL): its number in the
 * thread; *anonymous (may be NULL): 1 for anonym sparring, so that the
 * caller can remind the writer not to name the child (set whenever the
 * chain verified, also when the send then failed).
 * VARSKO_ERR_NOT_MEMBER when the user is no (longer a) member.
 */
VARSKO_API int varsko_thread_send(struct varsko_conn *c, const char *thread, const char *text, uint64_t *seq,
                                  int *anonymous) VARSKO_WUR;

/*
 * Read a thread: before 0 gives the newest messages (up to 100), or every
 * message after the last one this home showed when more than that came
 * meanwhile; before N the 100 before message N. Each message is verified
 * (PROTOCOL.md 17.6; one that does not verify or open refuses the whole
 * read) and opened with the own user key. With mark, signed read marks are
 * sent: "leveret" and "laest" for every message of others shown.
 * *json (plaintext: varsko_free_secret(*json, *len)):
 * {"thread","institution","anonymous","version","title"? (from the thread's
 *  first message, when it is sealed to this user),"members":[as
 *  varsko_thread_members()],"messages":[{"seq","message","user","name",
 *  "device","received","version","kind":"text","text","title"?,"own","new",
 *  "marks" (own messages only: [{"user","name","leveret":TIME|null,
 *  "laest":TIME|null}] per other recipient, verified)}...],"older" (older
 *  messages exist),"more" (newer ones were left for the next read),
 *  "marks_sent","marks_refused" (marks that did not verify: not shown)}
 */
/*
 * Attach a file to a thread (PROTOCOL.md 17.9): data[0..len) (the file's
 * bytes, borrowed; at most the server's max_attachment) is encrypted here
 * under a fresh key (secretstream, blob.h), uploaded in parts, and then a
 * message of kind "file" carrying the key, name (1..VARSKO_FILE_NAME_MAX
 * bytes, no '/'), media type ("type/subtype"), size and SHA-256, and the
 * optional text, is sealed to the members like varsko_thread_send(). The
 * upload is kept in the home (uploads/) until the message is sent: the
 * same call again, after a dropped connection, goes on where the server's
 * stored bytes end (*resumed_from, may be NULL: 0 for a fresh upload) and
 * sends the same message, never a second one. *seq and *anonymous as
 * varsko_thread_send().
 */
/*
 * 1 when a varsko_thread_send_file() or varsko_underret_send_files() that
 * failed with err kept its uploads in the home (the connection failed:
 * sending the same again goes on where varskod's stored bytes end), 0 when
 * it dropped them (a refusal that a retry would not change).
 */
VARSKO_API int varsko_upload_kept(int err);

VARSKO_API int varsko_thread_send_file(struct varsko_conn *c, const char *thread, const char *name,
                                       const char *media_type, const uint8_t *data, size_t len, const char *text,
                                       uint64_t *seq, int *anonymous, uint64_t *resumed_from) VARSKO_WUR;

/*
 * Fetch and open the attachment of message seq of a thread: the message is
 * verified as varsko_thread_read() does, its ciphertext fetched in parts
 * and decrypted, and its size and SHA-256 checked against the message.
 * *data (varsko_free_secret(*data, *len)) holds the file; name and
 * media_type get the message's (NUL-terminated). VARSKO_ERR_NOT_FOUND for
 * a message that is not a file or not sealed to this user, VARSKO_ERR_CRYPTO
 * for bytes that do not open or do not match.
 */
VARSKO_API int varsko_thread_fetch(struct varsko_conn *c, const char *thread, uint64_t seq, uint8_t **data,
                                   size_t *len, char name[VARSKO_FILE_NAME_MAX + 1],
                                   char media_type[VARSKO_MEDIA_TYPE_MAX + 1]) VARSKO_WUR;

/*
 * Tell thread that the underretning `reference` was made from it (PROTOCOL.md
 * 17.10): a message of kind "underretning_ref" whose plaintext is only
 * {"reference":R}, sealed and signed like any message; the underretning's
 * content stays in its own envelope, sealed to the team. The message id
 * follows from the thread, the reference and the user, so telling it twice
 * stores one message (*seq is then the first one's). *seq and *anonymous as
 * varsko_thread_send().
 */
VARSKO_API int varsko_thread_send_reference(struct varsko_conn *c, const char *thread, const char *reference,
                                            uint64_t *seq, int *anonymous) VARSKO_WUR;

VARSKO_API int varsko_thread_read(struct varsko_conn *c, const char *thread, uint64_t before, int mark, char **json,
                                  size_t *len) VARSKO_WUR;

/* ---- the underretning flow (docs/FLOW.md) ------------------------------------ */

#define VARSKO_REF_MAX        16 /* "U-2026-000123" */
#define VARSKO_SUBMISSION_LEN 34 /* "s-" + 32 lowercase hex */
#define VARSKO_KIND_MAX       16 /* an event kind or step name */
#define VARSKO_PATH_MAX       63 /* JSON path of a document problem */
#define VARSKO_PROBLEM_MAX    31
#define VARSKO_LOCAL_LEN      20    /* "23.11.2026 kl. 10.00" (Copenhagen time), or a UTC time */
#define VARSKO_MESSAGE_MAX    16000 /* bytes of a kvittering or tilbagemelding text */

/* Where a document is wrong: never the value, which may be personal data. */
struct varsko_doc_problem {
	char problem[VARSKO_PROBLEM_MAX + 1]; /* "missing", "wrong_type", "too_long", "bad_value", "unknown_field",
	                                          "not_allowed", "bad_json" */
	char path[VARSKO_PATH_MAX + 1];       /* "child.cpr", "parents[1].phone"; "" for the whole document;
	                                         for unknown_field the unknown key ("child.foedselsdato") */
	size_t line, column;                  /* bad_json: where the JSON stopped being valid (1-based), else 0 */
};

/*
 * Validate an underretning document (JSON text doc[0..len), borrowed) as
 * varsko_underret_send() will: strict, every field checked. VARSKO_OK, or
 * VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY, VARSKO_ERR_BAD_FRAME,
 * VARSKO_ERR_TOO_LARGE with *problem (if not NULL) filled. No network, no
 * home.
 */
VARSKO_API int varsko_document_check(const char *doc, size_t len, struct varsko_doc_problem *problem) VARSKO_WUR;

/*
 * As varsko_document_check(), but every problem, not only the first:
 * list[0..cap) in the order of the document's fields, *n how many there are
 * (also beyond cap).
 */
VARSKO_API int varsko_document_problems(const char *doc, size_t len, struct varsko_doc_problem *list, size_t cap,
                                        size_t *n) VARSKO_WUR;

/*
 * One line for people (Danish, from clients/catalogue/da.json) about a
 * document problem: the field, what is wrong, and the right form with an
 * example or what to add ("child.cpr mangler. Tilføj child.birth_date
 * (ÅÅÅÅ-MM-DD, ...) eller child.cpr (DDMMÅÅ-XXXX)."). Never the value. out is
 * always NUL-terminated (cap > 0); returns out.
 */
VARSKO_API const char *varsko_document_problem_text(const struct varsko_doc_problem *p, char *out, size_t cap);

/*
 * Whether the underretning document doc[0..len) is marked akut: 1 or 0, or
 * -1 when it is not a valid document (varsko_document_problems() says why).
 * The parsed document is wiped before this returns.
 */
VARSKO_API int varsko_document_akut(const char *doc, size_t len);

/* What varsko_unreachable_text() found. */
#define VARSKO_REACH_NONE        0 /* err is not a failure to reach the server */
#define VARSKO_REACH_NETWORK     1 /* nothing listens, no route, the name does not resolve, no answer in time */
#define VARSKO_REACH_CERTIFICATE 2 /* the server's TLS certificate did not verify */
#define VARSKO_REACH_SERVER      3 /* the server answered but closed, refused or is unavailable */

/*
 * Why the server at `url` could not be reached, for people (Danish, from
 * clients/catalogue/da.json): the address, then whether it is the network
 * (and which part: refused, no route, DNS, timeout), the certificate or the
 * server, with what to do. err and detail are those of the failed call
 * (varsko_home_detail() or varsko_conn_detail()); url may be NULL. Returns
 * one of VARSKO_REACH_*; for VARSKO_REACH_NONE out is "". out is always
 * NUL-terminated (cap > 0).
 */
VARSKO_API int varsko_unreachable_text(int err, const char *detail, const char *url, char *out, size_t cap);

/*
 * What to do about an akut case while the server cannot be reached (Danish):
 * with `sending` 1, for an akut underretning that could not be sent: it is
 * not sent, phone `team` first and send it when the server can be reached;
 * with 0, the general reminder: if a case is akut, phone `team`. `team` is a
 * name for people (NULL: "Døgnvagten"), `phone` its number or NULL. out is
 * always NUL-terminated (cap > 0); returns out.
 */
VARSKO_API const char *varsko_akut_advice(int sending, const char *team, const char *phone, char *out, size_t cap);

/*
 * The submission id of a document sent by user `user`: "s-" + the first 16
 * bytes, hex, of BLAKE2b-256 over the fields ("varsko-submission-v1", user,
 * document bytes) in the protocol's field encoding. Sending the same file
 * again gives the same id, so the server recognises it. VARSKO_ERR_BAD_INPUT
 * for an empty user.
 */
VARSKO_API int varsko_submission_id(const char *user, const void *doc, size_t len,
                                    char out[VARSKO_SUBMISSION_LEN + 1]) VARSKO_WUR;

/* A verified receipt, summarised. Times are Unix seconds, UTC. */
struct varsko_receipt_info {
	char reference[VARSKO_REF_MAX + 1];
	char submission[VARSKO_ID_MAX + 1];
	char sender[VARSKO_ID_MAX + 1]; /* device */
	char sender_user[VARSKO_ID_MAX + 1];
	char institution[VARSKO_ID_MAX + 1];
	char team[VARSKO_ID_MAX + 1]; /* the team it was routed to at receipt */
	char gateway[VARSKO_ID_MAX + 1];
	int64_t received;
	int64_t vurdering_due;
	int64_t kvittering_due;
	int64_t tilbagemelding_due;
	int duplicate; /* the server had this submission already; this is its first receipt */
	/*
	 * 1 when it was sealed to the team's devices by the roster the server
	 * gave, although this device could have verified a team key: the team
	 * has no team key yet (PROTOCOL.md 16.7), so the server could have
	 * added a reader. 0 when sealed to the team key, or for a duplicate.
	 */
	int roster_only;
	int team_key; /* 1 when sealed to the team's key (and the own user key), 0 to devices or for a duplicate */
	/*
	 * 1 when the verified roster of the route answer holds no caseworker
	 * (myndighed) with an active device: only the team's agent (and its
	 * leders) can take it now (PROTOCOL.md 12.3; varskod alerts the team
	 * for a new underretning). 0 otherwise.
	 */
	int no_reader;
};

/*
 * Send an underretning (fagperson). doc[0..len) is the document (borrowed;
 * the library never keeps or logs it); submission overrides the derived
 * submission id (NULL: varsko_submission_id() of the user and doc).
 *
 * Steps: validate the document (its institution must be one of this
 * device's); derive the routing header (age group from the Copenhagen date
 * of today); ask the route; verify the roster against the pinned
 * organisation key and refuse one older than the newest seen for the team
 * (kept in the home under rosters/); seal the document for exactly the
 * roster's devices; submit; verify the receipt with the home's gateway
 * certificate (reference, signature, envelope hash of what was sent, our
 * submission id, device, user, institution and team; for a duplicate, which
 * carries the first submission's receipt: submission id and user); save it
 * as receipts/<REF>.json in the home (directory 0700, file 0600).
 *
 * On VARSKO_OK, *info is filled and, if receipt_json is not NULL, *receipt_json
 * holds the receipt object as compact JSON (varsko_free()). Errors: as
 * varsko_document_check() for the document (nothing is sent), VARSKO_ERR_FORBIDDEN,
 * VARSKO_ERR_BAD_CERT (roster or gateway certificate, roster rollback),
 * VARSKO_ERR_BAD_SIGNATURE, the server's error code, transport errors,
 * VARSKO_ERR_IO (receipt not saved; the underretning was accepted:
 * sending again gives the same receipt). varsko_conn_detail() explains.
 */
VARSKO_API int varsko_underret_send(struct varsko_conn *c, const char *doc, size_t len, const char *submission,
                                    struct varsko_receipt_info *info, char **receipt_json) VARSKO_WUR;

/* A file to attach: its name (no '/'), media type ("type/subtype") and bytes (borrowed). */
struct varsko_file {
	const char *name;
	const char *media_type;
	const uint8_t *data;
	size_t len;
};

/*
 * varsko_underret_send() with files attached (PROTOCOL.md 17.9, 11.3): each
 * file (at most 16) is encrypted under a fresh key and uploaded bound to
 * the submission id (by default derived from the user, the document and
 * the files' SHA-256, so the same send again is the same underretning), and
 * the document gets its "attachments" (id, name, media type, size, key,
 * SHA-256) before it is sealed to the team; only those who may open the
 * underretning may fetch them. A document that lists attachments itself is
 * VARSKO_ERR_BAD_INPUT. The uploads are kept in the home until the
 * underretning is receipted: after a dropped connection the same call goes
 * on where varskod's stored bytes end.
 */
VARSKO_API int varsko_underret_send_files(struct varsko_conn *c, const char *doc, size_t len, const char *submission,
                                          const struct varsko_file *files, size_t n,
                                          struct varsko_receipt_info *info, char **receipt_json) VARSKO_WUR;

/*
 * Verify a saved receipt file offline against the organisation key and the
 * gateway certificate pinned in the enrolled home h. On VARSKO_OK *info (if
 * not NULL) is filled and *receipt_json (if not NULL) holds the receipt as
 * compact JSON (varsko_free()). Errors: VARSKO_ERR_NOT_FOUND / VARSKO_ERR_IO
 * (file), VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY, VARSKO_ERR_BAD_FRAME,
 * VARSKO_ERR_BAD_CERT, VARSKO_ERR_BAD_SIGNATURE; varsko_home_detail() explains.
 */
VARSKO_API int varsko_receipt_verify_file(struct varsko_home *h, const char *path, struct varsko_receipt_info *info,
                                          char **receipt_json) VARSKO_WUR;

#define VARSKO_LIST_MINE  1 /* own underretninger (fagperson) */
#define VARSKO_LIST_INBOX 2 /* the team's underretninger (myndighed, leder) */

/*
 * A list of underretninger as compact JSON {"items":[ITEM...]} in the
 * server's order (ITEM as in proto/flow.h: reference, team, institution,
 * age_group, akut, handicap, received, vurdering_due, kvittering_due,
 * state). *json_out owned by the caller (varsko_free()).
 */
VARSKO_API int varsko_list(struct varsko_conn *c, int which, char **json_out) VARSKO_WUR;

/* The open deadlines of the leder's team: {"items":[{"reference","kind","due","state"}...]}, soonest first. */
VARSKO_API int varsko_overview(struct varsko_conn *c, char **json_out) VARSKO_WUR;

/*
 * The ledelsestilsyn figures of the leder's own team (PROTOCOL.md 12.7,
 * report_get) for the underretninger received from `from` to `to`
 * ("YYYY-MM-DD", Copenhagen days, both included; NULL: to is today, from
 * the 30 days that end on to), as compact JSON: the team's entry of
 * `varskoctl report --format json`, {"team","name","received",
 * "outside_office":{"count","share"},"vurdering":{"count","median_seconds",
 * "p90_seconds","within","decided","share"},"kvittering":{...},"overdue"}
 * (durations in seconds; a share from 0 to 1; null where there is nothing
 * to count). *json_out owned by the caller (varsko_free()). Errors:
 * VARSKO_ERR_FORBIDDEN (not a leder), VARSKO_ERR_BAD_INPUT (not a date, to
 * before from, more than 366 days), VARSKO_ERR_BAD_FRAME (a date of the
 * wrong shape), and those of every request; varsko_conn_detail() explains.
 */
VARSKO_API int varsko_report(struct varsko_conn *c, const char *from, const char *to, char **json_out) VARSKO_WUR;

/*
 * The names of the municipality document (PROTOCOL.md 12.7, directory) as
 * compact JSON {"institutions":[{"id","kind","name"}...],"teams":[{"id",
 * "name","phone"?}...],"akut_team"?}: institutions and teams with their
 * names, a team's phone number when the document gives one, and the team an
 * akut underretning goes to when the office is closed.
 * varsko_directory_refresh() asks the server and keeps the answer in the
 * home (replacing the copy kept before; json_out may be NULL);
 * varsko_directory_cached() reads the kept copy without the network
 * (VARSKO_ERR_NOT_FOUND when the home has none, VARSKO_ERR_BAD_INPUT when
 * it is damaged). *json_out owned by the caller (varsko_free()). Errors of
 * the refresh: the server's code, transport errors, VARSKO_ERR_IO;
 * varsko_conn_detail() / varsko_home_detail() explain.
 */
VARSKO_API int varsko_directory_refresh(struct varsko_conn *c, char **json_out) VARSKO_WUR;
VARSKO_API int varsko_directory_cached(struct varsko_home *h, char **json_out) VARSKO_WUR;

/* One verified step of an underretning's timeline. */
struct varsko_step {
	char step[VARSKO_KIND_MAX + 1]; /* "sendt", "modtaget_gateway", then event kinds */
	int64_t time;
	char role[VARSKO_ROLE_MAX + 1]; /* of the signer: fagperson, gateway, agent, myndighed, leder */
	char team[VARSKO_ID_MAX + 1];   /* the signer's team; the routed team for the gateway's steps; "" for sendt */
	char device[VARSKO_ID_MAX + 1];
	int verified;                     /* always 1: a step that does not verify fails the whole status */
	int akut;                         /* vurderet: 0/1, else -1 */
	int started;                      /* tilbagemelding: 0/1, else -1 */
	char new_team[VARSKO_ID_MAX + 1]; /* omdirigeret: the team it went to, else "" */
	char *message;                    /* kvitteret / tilbagemelding text opened for this device, else NULL */
	size_t message_len;
};

struct varsko_status {
	char reference[VARSKO_REF_MAX + 1];
	struct varsko_receipt_info receipt;
	size_t n_steps;
	struct varsko_step *steps;
};

/*
 * The verified timeline of an underretning (the notifier, or myndighed /
 * leder of its current team). Every certificate is checked against the
 * pinned organisation key and every signature (receipt, events, message
 * envelopes) verified; messages meant for this device, or for the user's
 * key when this device holds it (a fagperson's kvittering and
 * tilbagemelding, PROTOCOL.md 12.5), are decrypted. Any
 * failure refuses the whole timeline (VARSKO_ERR_BAD_CERT,
 * VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_CRYPTO, VARSKO_ERR_BAD_FRAME).
 * *out owned by the caller (varsko_status_free()).
 */
VARSKO_API int varsko_status(struct varsko_conn *c, const char *ref, struct varsko_status **out) VARSKO_WUR;
/*
 * The status as compact JSON: {"reference":S,"steps":[{"step","time","role",
 * "team","device","verified":true, "message"? (a decrypted text), "akut"?
 * (vurderet), "started"? (tilbagemelding), "new_team"? (omdirigeret)}...]}.
 * *json (plaintext: free with varsko_free_secret(*json, *len)).
 */
VARSKO_API int varsko_status_json(const struct varsko_status *s, char **json, size_t *len) VARSKO_WUR;
/* Wipes the messages and frees. NULL-safe. */
VARSKO_API void varsko_status_free(struct varsko_status *s);

/* An underretning fetched, verified and decrypted by a team member. */
struct varsko_opened {
	char reference[VARSKO_REF_MAX + 1];
	struct varsko_receipt_info receipt;
	char *receipt_json; /* the signed receipt, compact JSON */
	char *document;     /* the document, compact JSON text (plaintext) */
	size_t document_len;
	char *text; /* the document for people, in Danish (plaintext) */
	size_t text_len;
	char sender_name[VARSKO_NAME_MAX + 1]; /* the notifier, from the sender certificate */
	char signer[VARSKO_ID_MAX + 1];        /* device that sealed this copy (the notifier, or who re-routed it) */
};

/*
 * Fetch and open an underretning (myndighed, leder of its current team):
 * the receipt and the gateway certificate verify against the pinned
 * organisation key; the envelope is the one the receipt names (sender
 * certificate of role fagperson, the receipt's user and device, the
 * envelope hash) or, after a re-routing, the one the verified omdirigeret
 * event names; its signature verifies; it opens for this device; the
 * document parses strictly and agrees with the receipt and the routing
 * header. Sends nothing else (the caller sends "aabnet" with
 * varsko_event()). *out owned by the caller (varsko_opened_free(), which
 * wipes).
 */
VARSKO_API int varsko_underretning_open(struct varsko_conn *c, const char *ref, struct varsko_opened **out) VARSKO_WUR;
VARSKO_API void varsko_opened_free(struct varsko_opened *o);

/*
 * Attachment number index (from 1, in the document's order) of underretning
 * ref, for those who may open it: the underretning is opened as
 * varsko_underretning_open() does, the file fetched, decrypted and checked
 * against the size and SHA-256 its document gives. *data
 * (varsko_free_secret(*data, *len)); name and media_type from the document.
 */
VARSKO_API int varsko_underretning_attachment(struct varsko_conn *c, const char *ref, size_t index, uint8_t **data,
                                              size_t *len, char name[VARSKO_FILE_NAME_MAX + 1],
                                              char media_type[VARSKO_MEDIA_TYPE_MAX + 1]) VARSKO_WUR;

/* What an event says (varsko_event()). */
struct varsko_event_args {
	const char *kind;    /* "aabnet", "vurderet", "kvitteret", "tilbagemelding", "omdirigeret", "afsluttet" */
	int akut;            /* vurderet: 0 or 1 */
	int started;         /* tilbagemelding: 0 or 1 (investigation or measures started) */
	const char *message; /* kvitteret (required), tilbagemelding (optional): text for the notifier,
	                        UTF-8, up to VARSKO_MESSAGE_MAX bytes, no control characters but line feed and tab */
	const char *team;    /* omdirigeret: the new team */
};

/*
 * Sign and send an event for underretning ref as this device. kvitteret
 * and tilbagemelding seal {"text":...} for exactly the notifier's devices
 * (each certificate checked: organisation key, role fagperson, the
 * receipt's user); omdirigeret opens the underretning (as
 * varsko_underretning_open()), verifies the new team's roster (and its
 * version, as for sending) and seals the same document for it. *seq (if
 * not NULL) receives the server's event number. Errors:
 * VARSKO_ERR_BAD_INPUT (arguments), the checks' errors, the server's code,
 * transport errors.
 */
VARSKO_API int varsko_event(struct varsko_conn *c, const char *ref, const struct varsko_event_args *a,
                            uint64_t *seq) VARSKO_WUR;

/*
 * Wait up to timeout_ms (< 0: forever) for the next push from the server
 * (pushed, new_underretning, frist, and of threads thread_message,
 * thread_changed, thread_mark; pushes that arrived during other calls come
 * first) and hand it out as compact JSON (*frame_json, varsko_free()).
 * A pushed event is checked first (its certificate against the
 * organisation key, its signature): one that does not verify is
 * VARSKO_ERR_BAD_CERT / VARSKO_ERR_BAD_SIGNATURE and is not handed out.
 * Thread pushes are handed out as varskod sent them, a notice that
 * something happened (a thread_message carries only ciphertext):
 * varsko_thread_read() verifies what it then fetches.
 * Pings the server while waiting so the session stays open. VARSKO_ERR_TIMEOUT
 * when nothing came.
 */
VARSKO_API int varsko_watch(struct varsko_conn *c, int64_t timeout_ms, char **frame_json) VARSKO_WUR;

/*
 * Instant t (Unix seconds) as Copenhagen wall-clock time "DD.MM.YYYY kl.
 * HH.MM" (the EU summer-time rule, no tzdata). Outside 1996..2099 it writes
 * the UTC time "YYYY-MM-DDTHH:MM:SSZ" and returns VARSKO_ERR_BAD_INPUT.
 */
VARSKO_API int varsko_local_format(int64_t t, char out[VARSKO_LOCAL_LEN + 1]);

/* Free a string the library handed out; the whole block is wiped first. NULL-safe. */
VARSKO_API void varsko_free(void *p);
/* Wipe len bytes of p and free it (plaintext the library handed out). NULL-safe. */
VARSKO_API void varsko_free_secret(void *p, size_t len);

/* English one-line text of an error code (varsko_err_text()); never NULL. */
VARSKO_API const char *varsko_strerror(int err);

/* Stable wire name of an error code (varsko_err_name()); never NULL. */
VARSKO_API const char *varsko_strerrname(int err);

/*
 * For people (Danish, from clients/catalogue/da.json): what happened, and
 * what to do next ("" when there is nothing to do). An unknown code gets
 * the texts of `internal`. Never NULL; static strings.
 */
VARSKO_API const char *varsko_text(int err);
VARSKO_API const char *varsko_next_step(int err);

/*
 * A status for people that is no error (the catalogue's "notices", Danish),
 * with its one {placeholder} replaced by arg, into out[cap] (truncated,
 * always terminated). Returns out; for an unknown name out holds the name.
 */
VARSKO_API const char *varsko_notice(const char *name, const char *arg, char *out, size_t cap);

/* The Danish name of a timeline step (an event kind of PROTOCOL.md 12.5, "sendt" or "modtaget_gateway"), from
 * the catalogue's "steps"; an unknown step is returned as it is. */
VARSKO_API const char *varsko_step_label(const char *step);

/* The library version, "MAJOR.MINOR.PATCH". */
VARSKO_API const char *varsko_version(void);

#ifdef __cplusplus
}
#endif
#endif
